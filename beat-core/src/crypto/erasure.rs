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
//!
//! **Linearity.** The codec is linear over its own GF(2^16) ([`gf16`]), per 16-bit symbol
//! position. [`Code::generator`] reads the generator matrix off the codec (for AVID-FP's
//! homomorphic fingerprints and the pyramid code's local parities), and
//! [`Code::repair_range`] rebuilds any 64-byte-aligned byte range of one fragment from the
//! same range of `k` others. The framing helpers here are shared with
//! [`pyramid`](super::pyramid).

use std::ops::Range;
use std::sync::OnceLock;

use super::gf16;

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
    /// A range that is empty or not aligned to [`FRAGMENT_ALIGN`].
    #[error("byte range {start}..{end} is empty or not aligned to 64 bytes")]
    BadRange { start: usize, end: usize },
    /// The pyramid grouping does not fit the code.
    #[error("invalid pyramid grouping: {groups} groups of k = {k} data fragments into n = {n}")]
    InvalidGroups { k: usize, groups: usize, n: usize },
    /// The given fragments do not determine what was asked for (their generator rows do not
    /// span it).
    #[error("the given fragments do not determine the requested data")]
    Unrecoverable,
    /// The underlying codec refused the input.
    #[error("codec: {0}")]
    Codec(String),
}

/// Fragment sizes are multiples of this many bytes.
pub const FRAGMENT_ALIGN: usize = 64;
const LEN_PREFIX: usize = 8;

/// The fragment size of a `k`-fragment code for a value of `len` bytes: the smallest multiple
/// of [`FRAGMENT_ALIGN`] such that `k` fragments hold the length prefix and the value.
pub(crate) fn framed_fragment_size(k: usize, len: usize) -> usize {
    let total = len.saturating_add(LEN_PREFIX);
    let per = total.div_ceil(k.max(1));
    per.div_ceil(FRAGMENT_ALIGN).max(1) * FRAGMENT_ALIGN
}

/// `len(value) as u64 LE ‖ value ‖ 0…0`, padded to `k` fragments; returns the buffer and the
/// fragment size. Data fragment `j` is `buffer[j·s..(j+1)·s]`.
pub(crate) fn frame(k: usize, value: &[u8]) -> (Vec<u8>, usize) {
    let s = framed_fragment_size(k, value.len());
    let mut data = Vec::with_capacity(k * s);
    data.extend_from_slice(&(value.len() as u64).to_le_bytes());
    data.extend_from_slice(value);
    data.resize(k * s, 0);
    (data, s)
}

/// The inverse of [`frame`]: the value inside the concatenated data fragments of size `s`.
/// Refuses a length prefix that does not fit, a length whose fragment size is not `s`, and
/// non-zero padding.
pub(crate) fn unframe(k: usize, s: usize, mut data: Vec<u8>) -> Result<Vec<u8>, ErasureError> {
    let prefix = data.get(..LEN_PREFIX).ok_or(ErasureError::BadFraming)?;
    let len = u64::from_le_bytes(prefix.try_into().map_err(|_| ErasureError::BadFraming)?);
    let end = usize::try_from(len).ok().and_then(|l| l.checked_add(LEN_PREFIX)).filter(|e| *e <= data.len());
    let end = end.ok_or(ErasureError::BadFraming)?;
    // A value of this length must have exactly this fragment size, with zero padding.
    if data.len() != k * s || framed_fragment_size(k, end - LEN_PREFIX) != s || data[end..].iter().any(|b| *b != 0) {
        return Err(ErasureError::BadFraming);
    }
    data.truncate(end);
    data.drain(..LEN_PREFIX);
    Ok(data)
}

/// A fragment (or a range of one) with its index.
pub(crate) type Indexed<'a> = (usize, &'a [u8]);

/// Validate `(index, fragment)` pairs of an `n`-fragment code: indices `< n` and distinct,
/// sizes equal, positive and multiples of [`FRAGMENT_ALIGN`]. Returns the pairs as slices and
/// the common size (`None` when there are none).
pub(crate) fn check_fragments<F: AsRef<[u8]>>(
    n: usize,
    fragments: &[(usize, F)],
) -> Result<(Vec<Indexed<'_>>, Option<usize>), ErasureError> {
    let mut seen = vec![false; n];
    let mut out = Vec::with_capacity(fragments.len());
    let mut size = None;
    for (i, f) in fragments {
        let f = f.as_ref();
        if *i >= n || seen[*i] {
            return Err(ErasureError::BadIndex(*i));
        }
        seen[*i] = true;
        if f.is_empty() || f.len() % FRAGMENT_ALIGN != 0 || size.is_some_and(|s| s != f.len()) {
            return Err(ErasureError::BadFragmentSize(f.len()));
        }
        size = Some(f.len());
        out.push((*i, f));
    }
    Ok((out, size))
}

/// Validate a range-repair request: `target < n`, `range` non-empty and aligned to
/// [`FRAGMENT_ALIGN`] at both ends, and every available slice exactly `range.len()` bytes
/// (indices `< n`, distinct). Returns the slices.
pub(crate) fn check_range<'a>(
    n: usize,
    target: usize,
    range: &Range<usize>,
    available: &'a [(usize, &'a [u8])],
) -> Result<Vec<(usize, &'a [u8])>, ErasureError> {
    if target >= n {
        return Err(ErasureError::BadIndex(target));
    }
    if range.is_empty() || range.start % FRAGMENT_ALIGN != 0 || range.end % FRAGMENT_ALIGN != 0 {
        return Err(ErasureError::BadRange { start: range.start, end: range.end });
    }
    let (out, _) = check_fragments(n, available)?;
    if let Some((_, f)) = out.iter().find(|(_, f)| f.len() != range.len()) {
        return Err(ErasureError::BadFragmentSize(f.len()));
    }
    Ok(out)
}

/// An `(k, n)` systematic Reed–Solomon code.
///
/// Its generator matrix over [`gf16`] (see [`Code::generator`]) is computed on
/// first use and cached; it takes `n · k` symbols, which is meant for committee-sized codes.
#[derive(Clone, Debug)]
pub struct Code {
    k: usize,
    n: usize,
    generator: OnceLock<Vec<Vec<u16>>>,
}

impl PartialEq for Code {
    fn eq(&self, other: &Self) -> bool {
        (self.k, self.n) == (other.k, other.n)
    }
}

impl Eq for Code {}

impl Code {
    /// A code with `k` data fragments out of `n`.
    pub fn new(k: usize, n: usize) -> Result<Self, ErasureError> {
        if k == 0 || k >= n || n > 65535 || !reed_solomon_simd::ReedSolomonEncoder::supports(k, n - k) {
            return Err(ErasureError::InvalidParameters { k, n });
        }
        Ok(Code { k, n, generator: OnceLock::new() })
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
        framed_fragment_size(self.k, len)
    }

    /// Encode `value` into `n` fragments of equal size.
    pub fn encode(&self, value: &[u8]) -> Vec<Vec<u8>> {
        let (data, s) = frame(self.k, value);
        let originals: Vec<&[u8]> = data.chunks(s).collect();
        let mut out: Vec<Vec<u8>> = originals.iter().map(|o| o.to_vec()).collect();
        out.extend(self.parity(&originals));
        out
    }

    /// The `n − k` parity shards of `k` equal, aligned data shards.
    fn parity(&self, originals: &[&[u8]]) -> Vec<Vec<u8>> {
        // Parameters were validated in `new` and shard sizes are positive multiples of 64: the
        // codec only fails on those.
        reed_solomon_simd::encode(self.k, self.n - self.k, originals)
            .expect("reed-solomon encode with validated parameters and aligned shards")
    }

    /// Reconstruct the value from at least `k` fragments `(index, bytes)`; extra ones are
    /// ignored (the first `k` distinct indices are used).
    pub fn decode<F: AsRef<[u8]>>(&self, fragments: &[(usize, F)]) -> Result<Vec<u8>, ErasureError> {
        let (mut chosen, size) = check_fragments(self.n, fragments)?;
        chosen.truncate(self.k);
        if chosen.len() < self.k {
            return Err(ErasureError::NotEnoughFragments { needed: self.k, have: chosen.len() });
        }
        let s = size.unwrap_or(FRAGMENT_ALIGN);
        let data = self.restore_data(&chosen)?.concat();
        unframe(self.k, s, data)
    }

    /// The `k` data shards from `k` distinct validated shards of equal size.
    fn restore_data(&self, chosen: &[(usize, &[u8])]) -> Result<Vec<Vec<u8>>, ErasureError> {
        let mut data_frags: Vec<Option<&[u8]>> = vec![None; self.k];
        for (i, f) in chosen {
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
        data_frags
            .iter()
            .enumerate()
            .map(|(i, frag)| match frag {
                Some(f) => Ok(f.to_vec()),
                None => restored.get(&i).cloned().ok_or(ErasureError::BadFraming),
            })
            .collect()
    }

    /// All `n` fragments of the value that `have` decodes to (decode, then re-encode).
    pub fn decode_fragments(&self, have: &[(usize, &[u8])]) -> Result<Vec<Vec<u8>>, ErasureError> {
        Ok(self.encode(&self.decode(have)?))
    }

    /// Recover bytes `range` of fragment `target` from the same byte range of any `k` other
    /// fragments (`available[i].1` is that range of fragment `available[i].0`).
    ///
    /// The code acts on each 16-bit symbol position separately, so any range aligned to
    /// [`FRAGMENT_ALIGN`] of a set of fragments is itself a codeword. The result is only as
    /// good as the input: a wrong available slice yields wrong bytes (check them against a
    /// cross-checksum chunk proof first).
    pub fn repair_range(
        &self,
        target: usize,
        range: Range<usize>,
        available: &[(usize, &[u8])],
    ) -> Result<Vec<u8>, ErasureError> {
        let mut chosen = check_range(self.n, target, &range, available)?;
        if let Some((_, f)) = chosen.iter().find(|(i, _)| *i == target) {
            return Ok(f.to_vec());
        }
        chosen.truncate(self.k);
        if chosen.len() < self.k {
            return Err(ErasureError::NotEnoughFragments { needed: self.k, have: chosen.len() });
        }
        let mut data = self.restore_data(&chosen)?;
        if target < self.k {
            return Ok(data.swap_remove(target));
        }
        let originals: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
        let mut parity = self.parity(&originals);
        Ok(parity.swap_remove(target - self.k))
    }

    /// The generator matrix: row `i` holds the `k` coefficients `c_ij` in
    /// [`gf16`] with `fragment_i = Σ_j c_ij · data_j`, symbol by symbol.
    ///
    /// Computed once by encoding unit vectors through the codec itself: data shard `j` holds
    /// the field's one at symbol `j` and zeros elsewhere, so symbol `j` of parity shard `i`
    /// is `c_ij`. This reads the code off the implementation rather than re-deriving
    /// Leopard's construction.
    pub fn generator(&self) -> &[Vec<u16>] {
        self.generator.get_or_init(|| {
            let one = gf16::one();
            let mut rows: Vec<Vec<u16>> = (0..self.k)
                .map(|j| {
                    let mut row = vec![0; self.k];
                    row[j] = one;
                    row
                })
                .collect();
            let units: Vec<Vec<u8>> = rows.iter().map(|row| gf16::from_symbols(row)).collect();
            let originals: Vec<&[u8]> = units.iter().map(Vec::as_slice).collect();
            rows.extend(self.parity(&originals).iter().map(|p| gf16::symbols(p).take(self.k).collect()));
            rows
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    use crate::crypto::gf16;
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

    #[test]
    fn generator_matches_the_encoding() {
        let mut rng = ChaCha20Rng::seed_from_u64(43);
        for (k, n) in [(1, 4), (2, 4), (3, 7), (7, 10), (33, 40)] {
            let code = Code::new(k, n).unwrap();
            let frags = code.encode(&(0..64 * k * 3).map(|_| rng.gen()).collect::<Vec<u8>>());
            let g = code.generator();
            assert_eq!(g.len(), n);
            let data: Vec<Vec<u16>> = frags[..k].iter().map(|f| gf16::symbols(f).collect()).collect();
            for (i, row) in g.iter().enumerate() {
                let got: Vec<u16> = gf16::symbols(&frags[i]).collect();
                let expect: Vec<u16> = (0..got.len())
                    .map(|t| row.iter().zip(&data).fold(0, |a, (c, d)| gf16::add(a, gf16::mul(*c, d[t]))))
                    .collect();
                assert_eq!(got, expect, "k={k} n={n} row {i}");
            }
            // MDS: no parity coefficient is zero.
            assert!(g[k..].iter().flatten().all(|c| *c != 0));
        }
    }

    #[test]
    fn rs_range_repair_matches() {
        let mut rng = ChaCha20Rng::seed_from_u64(54);
        let code = Code::new(3, 7).unwrap();
        let frags = code.encode(&(0..10_000).map(|_| rng.gen()).collect::<Vec<u8>>());
        let s = frags[0].len();
        for target in 0..7 {
            for set in subsets(7, 3).into_iter().filter(|set| !set.contains(&target)) {
                let (a, b) = (64, s - 128);
                let avail: Vec<(usize, &[u8])> = set.iter().map(|&i| (i, &frags[i][a..b])).collect();
                assert_eq!(code.repair_range(target, a..b, &avail), Ok(frags[target][a..b].to_vec()));
            }
        }
        let two = [(0, &frags[0][..64]), (1, &frags[1][..64])];
        assert_eq!(code.repair_range(5, 0..64, &two), Err(ErasureError::NotEnoughFragments { needed: 3, have: 2 }));
    }

    #[test]
    fn decode_fragments_and_code_identity() {
        let code = Code::new(3, 7).unwrap();
        let frags = code.encode(b"re-encode me");
        let have: Vec<(usize, &[u8])> = [6, 1, 4].iter().map(|&i| (i, frags[i].as_slice())).collect();
        assert_eq!(code.decode_fragments(&have), Ok(frags.clone()));
        // The cached generator is not part of a code's identity.
        let fresh = Code::new(3, 7).unwrap();
        assert_eq!(code.generator().len(), 7);
        assert_eq!(code, fresh);
        // Shapes the codec does not support are refused up front, not at encode time.
        assert_eq!(Code::new(40_000, 65_535), Err(ErasureError::InvalidParameters { k: 40_000, n: 65_535 }));
    }
}
