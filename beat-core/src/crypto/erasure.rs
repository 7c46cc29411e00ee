//! Systematic Reed–Solomon erasure coding: `k` data fragments, `n − k` parity fragments, any
//! `k` of the `n` reconstruct.
//!
//! Built on `reed-solomon-simd` (Leopard-RS over GF(2^16), `O(n log n)`, SIMD picked at run
//! time, pure Rust). `reed-solomon-erasure`, the crate the original design named, is
//! unmaintained upstream.
//!
//! **Framing.** A value `v` becomes `len(v) as u64 LE ‖ v ‖ 0…0`, padded to `k · s` bytes where
//! the fragment size `s` is the smallest multiple of 64 that fits (the codec's shard size
//! unit). Fragment `i < k` is the `i`-th slice (systematic), fragments `k..n` are parity.
//! [`Code::decode`] reconstructs from any `k` fragments and refuses inconsistent input: unequal
//! or malformed sizes, out-of-range or repeated indices, a length prefix that does not fit, or
//! non-zero padding. It does **not** detect a fragment that is well-formed but wrong — the
//! broadcast protocols check fragments against a Merkle root (AVID) or a cross-checksum
//! (AVID-FP) and re-encode to compare.

/// Why a code could not be built or a value could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ErasureError {
    /// `k` and `n` do not describe a usable code.
    #[error("invalid code parameters k = {k}, n = {n} (need 1 ≤ k < n ≤ 65535)")]
    InvalidParameters { k: usize, n: usize },
    /// Fewer than `k` distinct fragments.
    #[error("need {needed} fragments, have {have}")]
    NotEnoughFragments { needed: usize, have: usize },
    /// A fragment index `≥ n` or given twice.
    #[error("fragment index {0} out of range or repeated")]
    BadIndex(usize),
    /// Fragments of different or invalid sizes.
    #[error("fragment size {0} is not a positive multiple of 64 or differs between fragments")]
    BadFragmentSize(usize),
    /// The reconstructed data does not carry a valid length prefix and zero padding.
    #[error("reconstructed data is not a framed value")]
    BadFraming,
    /// The underlying codec refused the input.
    #[error("codec: {0}")]
    Codec(String),
}

/// Fragment sizes are multiples of this many bytes.
pub const FRAGMENT_ALIGN: usize = 64;
const LEN_PREFIX: usize = 8;

/// An `(k, n)` systematic Reed–Solomon code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Code {
    k: usize,
    n: usize,
}

impl Code {
    /// A code with `k` data fragments out of `n`.
    pub fn new(k: usize, n: usize) -> Result<Self, ErasureError> {
        if k == 0 || k >= n || n > 65535 {
            return Err(ErasureError::InvalidParameters { k, n });
        }
        Ok(Code { k, n })
    }

    /// Data fragments.
    pub fn k(&self) -> usize {
        self.k
    }

    /// All fragments.
    pub fn n(&self) -> usize {
        self.n
    }

    /// The fragment size for a value of `len` bytes.
    pub fn fragment_size(&self, len: usize) -> usize {
        let total = len + LEN_PREFIX;
        let per = total.div_ceil(self.k);
        per.div_ceil(FRAGMENT_ALIGN).max(1) * FRAGMENT_ALIGN
    }

    /// Encode `value` into `n` fragments of equal size.
    pub fn encode(&self, value: &[u8]) -> Vec<Vec<u8>> {
        let s = self.fragment_size(value.len());
        let mut data = Vec::with_capacity(self.k * s);
        data.extend_from_slice(&(value.len() as u64).to_le_bytes());
        data.extend_from_slice(value);
        data.resize(self.k * s, 0);
        let originals: Vec<&[u8]> = data.chunks(s).collect();
        // Parameters and sizes were validated above; the codec only fails on those.
        let parity = reed_solomon_simd::encode(self.k, self.n - self.k, &originals)
            .expect("reed-solomon encode with validated parameters and aligned shards");
        let mut out: Vec<Vec<u8>> = originals.into_iter().map(<[u8]>::to_vec).collect();
        out.extend(parity);
        out
    }

    /// Reconstruct the value from at least `k` fragments `(index, bytes)`; extra ones are
    /// ignored (the first `k` distinct indices are used).
    pub fn decode<F: AsRef<[u8]>>(&self, fragments: &[(usize, F)]) -> Result<Vec<u8>, ErasureError> {
        let mut seen = vec![false; self.n];
        let mut chosen: Vec<(usize, &[u8])> = Vec::with_capacity(self.k);
        let mut size = None;
        for (i, f) in fragments {
            let f = f.as_ref();
            if *i >= self.n || seen[*i] {
                return Err(ErasureError::BadIndex(*i));
            }
            seen[*i] = true;
            if f.is_empty() || f.len() % FRAGMENT_ALIGN != 0 || size.is_some_and(|s| s != f.len()) {
                return Err(ErasureError::BadFragmentSize(f.len()));
            }
            size = Some(f.len());
            if chosen.len() < self.k {
                chosen.push((*i, f));
            }
        }
        if chosen.len() < self.k {
            return Err(ErasureError::NotEnoughFragments { needed: self.k, have: chosen.len() });
        }
        let s = size.unwrap_or(FRAGMENT_ALIGN);
        let mut data_frags: Vec<Option<&[u8]>> = vec![None; self.k];
        for (i, f) in &chosen {
            if *i < self.k {
                data_frags[*i] = Some(f);
            }
        }
        let restored = if data_frags.iter().all(Option::is_some) {
            Default::default()
        } else {
            let originals = chosen.iter().filter(|(i, _)| *i < self.k).map(|(i, f)| (*i, *f));
            let recovery = chosen.iter().filter(|(i, _)| *i >= self.k).map(|(i, f)| (*i - self.k, *f));
            reed_solomon_simd::decode(self.k, self.n - self.k, originals, recovery)
                .map_err(|e| ErasureError::Codec(e.to_string()))?
        };
        let mut data = Vec::with_capacity(self.k * s);
        for (i, frag) in data_frags.iter().enumerate() {
            match frag {
                Some(f) => data.extend_from_slice(f),
                None => data.extend_from_slice(restored.get(&i).ok_or(ErasureError::BadFraming)?),
            }
        }
        let len = u64::from_le_bytes(data[..LEN_PREFIX].try_into().map_err(|_| ErasureError::BadFraming)?);
        let end = usize::try_from(len).ok().and_then(|l| l.checked_add(LEN_PREFIX)).filter(|e| *e <= data.len());
        let end = end.ok_or(ErasureError::BadFraming)?;
        // A value of this length must have exactly this fragment size, with zero padding.
        if self.fragment_size(end - LEN_PREFIX) != s || data[end..].iter().any(|b| *b != 0) {
            return Err(ErasureError::BadFraming);
        }
        data.truncate(end);
        data.drain(..LEN_PREFIX);
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    use crate::crypto::test_util::subsets;

    #[test]
    fn any_k_fragments_reconstruct_any_value() {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        for (k, n) in [(2, 4), (3, 4), (3, 5), (4, 5), (3, 7), (5, 7), (1, 4)] {
            let code = Code::new(k, n).unwrap();
            for len in [0, 1, 7, 8, 63, 64, 65, 1000, 4096 + 3] {
                let value: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
                let frags = code.encode(&value);
                assert_eq!(frags.len(), n);
                assert!(frags.iter().all(|f| f.len() == code.fragment_size(len)));
                for set in subsets(n, k) {
                    let chosen: Vec<(usize, &Vec<u8>)> = set.iter().map(|&i| (i, &frags[i])).collect();
                    assert_eq!(code.decode(&chosen).unwrap(), value, "k={k} n={n} len={len} set={set:?}");
                }
            }
        }
    }

    #[test]
    fn systematic_and_sized() {
        let code = Code::new(3, 4).unwrap();
        let frags = code.encode(b"hello world");
        assert_eq!(&frags[0][..8], &11u64.to_le_bytes());
        assert_eq!(&frags[0][8..19], b"hello world");
        // 19 bytes over 3 fragments, aligned to 64.
        assert_eq!(code.fragment_size(11), 64);
        // Stored bytes per node ≈ |v| / k for large values.
        let big = vec![7u8; 300_000];
        assert!(code.fragment_size(big.len()) <= big.len() / 3 + FRAGMENT_ALIGN);
    }

    #[test]
    fn refuses_bad_input() {
        assert_eq!(Code::new(4, 4), Err(ErasureError::InvalidParameters { k: 4, n: 4 }));
        assert_eq!(Code::new(0, 4), Err(ErasureError::InvalidParameters { k: 0, n: 4 }));
        let code = Code::new(2, 4).unwrap();
        let frags = code.encode(b"abc");
        assert_eq!(code.decode(&[(0, &frags[0])]), Err(ErasureError::NotEnoughFragments { needed: 2, have: 1 }));
        assert_eq!(code.decode(&[(0, &frags[0]), (0, &frags[0])]), Err(ErasureError::BadIndex(0)));
        assert_eq!(code.decode(&[(0, &frags[0]), (9, &frags[1])]), Err(ErasureError::BadIndex(9)));
        let short = frags[1][..32].to_vec();
        assert!(matches!(code.decode(&[(0, frags[0].clone()), (1, short)]), Err(ErasureError::BadFragmentSize(32))));
        // A corrupted length prefix is detected by the framing check.
        let mut bad = frags[0].clone();
        bad[7] = 0xff;
        assert_eq!(code.decode(&[(0, &bad), (1, &frags[1])]), Err(ErasureError::BadFraming));
        // Non-zero padding.
        let mut bad = frags[1].clone();
        bad[60] = 1;
        assert_eq!(code.decode(&[(0, &frags[0]), (1, &bad)]), Err(ErasureError::BadFraming));
    }
}
