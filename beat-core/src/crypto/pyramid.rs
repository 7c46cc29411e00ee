//! Pyramid codes: Reed–Solomon with local parities, for partial reads and cheap repair (BEAT4).
//!
//! Reference: C. Huang, M. Chen, J. Li, "Pyramid Codes: Flexible Schemes to Trade Space for
//! Access Efficiency in Reliable Data Storage Systems", NCA 2007 (basic pyramid codes, §2).
//!
//! **Construction.** Start from the systematic MDS code `RS(k, k + m0)` of
//! [`erasure::Code`](super::erasure::Code), with parities `p_1..p_m0`,
//! `p_r = Σ_j c_rj · d_j` over [`gf16`]. Split the `k` data fragments into `L` groups
//! (contiguous and balanced: group `g` is `⌊gk/L⌋ .. ⌊(g+1)k/L⌋`). Replace `p_1` by `L` local
//! parities `p_{1,g} = Σ_{j∈g} c_1j · d_j` and keep `p_2..p_m0` as global parities:
//!
//! ```text
//! n = k + L + (m0 − 1)        fragment order: d_0..d_{k−1}, p_{1,0}..p_{1,L−1}, p_2..p_m0
//! ```
//!
//! **Guarantees.** `Σ_g p_{1,g} = p_1`, so any `m0` erasures are recoverable: a set missing
//! at most `m0` fragments either has all local parities (hence `p_1`) and at most `m0` missing
//! among data and `p_1..p_m0`, or has lost some local parity and at most `m0 − 1` other
//! fragments, whose data the globals plus the intact groups' local parities recover. So
//! [`reconstruct_from`](PyramidCode::reconstruct_from) `= n − m0 = k + L − 1` fragments
//! always suffice; some sets of `k` fragments do too (data plus globals). A lost data
//! fragment or local parity is rebuilt from its group alone (`|g|` fragments instead of `k`).
//! The code is linear per 16-bit symbol position, so all of this works on any 64-byte-aligned
//! byte range of the fragments ([`repair_range`](PyramidCode::repair_range)), which is what
//! BEAT4's partial reads need.
//!
//! **Implementation.** The base code is used as a black box for `p_2..p_m0` (through
//! `reed-solomon-simd`); the local parities are combined from the data with the generator
//! coefficients `c_1j` read off the base code ([`Code::generator`](super::erasure::Code::generator)).
//! Decoding and repair are Gaussian elimination on the generator rows of the available
//! fragments ([`gf16`]), then `O(k)` scalar-multiply-adds per recovered fragment on the SIMD
//! engine; they succeed exactly when the available rows span what is asked for.
//! Framing (length prefix, padding, 64-byte fragment alignment) is [`erasure`](super::erasure)'s.
//!
//! **Deviations.** Only basic pyramid codes (one level of grouping, `p_1` split); the paper's
//! generalized pyramid codes (several split parities, non-uniform groups) are not built.

use std::ops::Range;

use super::erasure::{
    check_fragments, check_range, frame, framed_fragment_size, unframe, Code, ErasureError, FRAGMENT_ALIGN,
};
use super::fpc::LinearCode;
use super::gf16;

/// A basic pyramid code over [`gf16`] built on `RS(k, k + m0)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PyramidCode {
    k: usize,
    groups: usize,
    n: usize,
    m0: usize,
    base: Code,
    generator: Vec<Vec<u16>>,
}

impl PyramidCode {
    /// `k` data fragments in `groups` local groups, `n` fragments in all (so
    /// `m0 = n − k − groups + 1 ≥ 1` for the base code).
    pub fn new(k: usize, groups: usize, n: usize) -> Result<Self, ErasureError> {
        if groups == 0 || groups > k || n < k + groups {
            return Err(ErasureError::InvalidGroups { k, groups, n });
        }
        let m0 = n - k - groups + 1;
        let base = Code::new(k, k + m0)?;
        let base_rows = base.generator();
        let mut generator: Vec<Vec<u16>> = base_rows[..k].to_vec();
        let p1 = &base_rows[k];
        for g in 0..groups {
            let range = group_range(k, groups, g);
            generator.push(p1.iter().enumerate().map(|(j, c)| if range.contains(&j) { *c } else { 0 }).collect());
        }
        generator.extend(base_rows[k + 1..].iter().cloned());
        Ok(PyramidCode { k, groups, n, m0, base, generator })
    }

    /// Data fragments.
    pub fn k(&self) -> usize {
        self.k
    }

    /// All fragments.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Local groups `L`.
    pub fn groups(&self) -> usize {
        self.groups
    }

    /// Erasures that are always recoverable: `m0`.
    pub fn max_erasures(&self) -> usize {
        self.m0
    }

    /// Fragments that always suffice for a full decode: `n − m0 = k + L − 1`.
    pub fn reconstruct_from(&self) -> usize {
        self.n - self.m0
    }

    /// The group of a data fragment or a local parity (fragment index); `None` for globals
    /// and out-of-range indices.
    pub fn group_of(&self, index: usize) -> Option<usize> {
        if index < self.k {
            (0..self.groups).find(|g| group_range(self.k, self.groups, *g).contains(&index))
        } else {
            (index < self.k + self.groups).then(|| index - self.k)
        }
    }

    /// The fragment indices of group `g`: its data fragments, then its local parity (empty for
    /// `g ≥ L`).
    pub fn group_members(&self, g: usize) -> Vec<usize> {
        if g >= self.groups {
            return Vec::new();
        }
        group_range(self.k, self.groups, g).chain([self.k + g]).collect()
    }

    /// The fragment size for a value of `len` bytes (as [`Code`]'s).
    pub fn fragment_size(&self, len: usize) -> usize {
        framed_fragment_size(self.k, len)
    }

    /// Encode `value` into `n` fragments of equal size.
    pub fn encode(&self, value: &[u8]) -> Vec<Vec<u8>> {
        if self.m0 == 1 {
            // No globals: only the data and the local parities.
            let (data, s) = frame(self.k, value);
            let mut out: Vec<Vec<u8>> = data.chunks(s).map(<[u8]>::to_vec).collect();
            let locals = self.local_parities(&out, s);
            out.extend(locals);
            return out;
        }
        let mut out = self.base.encode(value);
        let s = out.first().map_or(0, Vec::len);
        // Base order: data, p_1, p_2..p_m0. Drop p_1, insert the local parities.
        let globals = out.split_off(self.k + 1);
        out.truncate(self.k);
        let locals = self.local_parities(&out, s);
        out.extend(locals);
        out.extend(globals);
        out
    }

    fn local_parities(&self, data: &[Vec<u8>], s: usize) -> Vec<Vec<u8>> {
        (0..self.groups)
            .map(|g| {
                let row = &self.generator[self.k + g];
                let mut p = vec![0; s];
                for j in group_range(self.k, self.groups, g) {
                    gf16::mul_add_slice(&mut p, &data[j], row[j]);
                }
                p
            })
            .collect()
    }

    /// Reconstruct the value from fragments `(index, bytes)` whose generator rows span the
    /// data (any [`reconstruct_from`](Self::reconstruct_from) of them always do).
    pub fn decode<F: AsRef<[u8]>>(&self, fragments: &[(usize, F)]) -> Result<Vec<u8>, ErasureError> {
        let (avail, size) = check_fragments(self.n, fragments)?;
        if avail.len() < self.k {
            return Err(ErasureError::NotEnoughFragments { needed: self.k, have: avail.len() });
        }
        let s = size.unwrap_or(FRAGMENT_ALIGN);
        let mut data = Vec::with_capacity(self.k * s);
        for j in 0..self.k {
            match avail.iter().find(|(i, _)| *i == j) {
                Some((_, f)) => data.extend_from_slice(f),
                None => data.extend(self.solve(&avail, &unit(self.k, j), s)?),
            }
        }
        unframe(self.k, s, data)
    }

    /// `Σ x_i · f_i` over `avail` with `Σ x_i · row_i = target`.
    fn solve(&self, avail: &[(usize, &[u8])], target: &[u16], len: usize) -> Result<Vec<u8>, ErasureError> {
        let rows: Vec<&[u16]> = avail.iter().map(|(i, _)| self.generator[*i].as_slice()).collect();
        let x = gf16::express(&rows, target).ok_or(ErasureError::Unrecoverable)?;
        let frags: Vec<&[u8]> = avail.iter().map(|(_, f)| *f).collect();
        Ok(gf16::combine(&x, &frags, len))
    }

    /// Recover bytes `range` (64-byte aligned) of fragment `target` from the same byte range
    /// of other fragments: from the target's local group alone when all of its other members
    /// are given (other slices are then not read), else from any set whose rows span it.
    pub fn repair_range(
        &self,
        target: usize,
        range: Range<usize>,
        available: &[(usize, &[u8])],
    ) -> Result<Vec<u8>, ErasureError> {
        let avail = check_range(self.n, target, &range, available)?;
        if let Some((_, f)) = avail.iter().find(|(i, _)| *i == target) {
            return Ok(f.to_vec());
        }
        let row = &self.generator[target];
        if let Some(g) = self.group_of(target) {
            let local: Vec<(usize, &[u8])> = self
                .group_members(g)
                .into_iter()
                .filter(|m| *m != target)
                .map(|m| avail.iter().find(|(i, _)| *i == m).copied())
                .collect::<Option<_>>()
                .unwrap_or_default();
            if !local.is_empty() {
                if let Ok(out) = self.solve(&local, row, range.len()) {
                    return Ok(out);
                }
            }
        }
        self.solve(&avail, row, range.len())
    }
}

fn unit(k: usize, j: usize) -> Vec<u16> {
    let mut e = vec![0; k];
    e[j] = gf16::one();
    e
}

fn group_range(k: usize, groups: usize, g: usize) -> Range<usize> {
    g * k / groups..(g + 1) * k / groups
}

impl LinearCode for PyramidCode {
    fn k(&self) -> usize {
        self.k
    }
    fn n(&self) -> usize {
        self.n
    }
    fn fragment_size(&self, len: usize) -> usize {
        PyramidCode::fragment_size(self, len)
    }
    fn encode(&self, value: &[u8]) -> Vec<Vec<u8>> {
        PyramidCode::encode(self, value)
    }
    fn decode(&self, fragments: &[(usize, &[u8])]) -> Result<Vec<u8>, ErasureError> {
        PyramidCode::decode(self, fragments)
    }
    fn generator(&self) -> &[Vec<u16>] {
        &self.generator
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    use crate::crypto::fpc::{CrossChecksum, FragmentCommitment};
    use crate::crypto::test_util::subsets;

    const SHAPES: [(usize, usize, usize); 5] = [(2, 2, 7), (4, 2, 8), (6, 3, 10), (3, 1, 6), (4, 2, 6)];

    fn value(rng: &mut ChaCha20Rng, len: usize) -> Vec<u8> {
        (0..len).map(|_| rng.gen()).collect()
    }

    #[test]
    fn shape_and_groups() {
        let p = PyramidCode::new(5, 2, 9).unwrap();
        assert_eq!((p.k(), p.n(), p.groups(), p.max_erasures(), p.reconstruct_from()), (5, 9, 2, 3, 6));
        assert_eq!(p.group_members(0), vec![0, 1, 5]);
        assert_eq!(p.group_members(1), vec![2, 3, 4, 6]);
        assert_eq!(p.group_members(2), Vec::<usize>::new());
        let groups: Vec<Option<usize>> = (0..10).map(|i| p.group_of(i)).collect();
        assert_eq!(groups, [Some(0), Some(0), Some(1), Some(1), Some(1), Some(0), Some(1), None, None, None]);
        for (k, l, n) in [(2, 3, 7), (2, 0, 7), (3, 2, 4), (0, 0, 4)] {
            assert_eq!(PyramidCode::new(k, l, n), Err(ErasureError::InvalidGroups { k, groups: l, n }));
        }
    }

    #[test]
    fn every_set_of_n_minus_m0_fragments_decodes() {
        let mut rng = ChaCha20Rng::seed_from_u64(50);
        for (k, l, n) in SHAPES {
            let code = PyramidCode::new(k, l, n).unwrap();
            for len in [0, 5, 1000, 4099] {
                let v = value(&mut rng, len);
                let frags = code.encode(&v);
                assert_eq!(frags.len(), n);
                assert!(frags.iter().all(|f| f.len() == code.fragment_size(len)));
                assert_eq!(frags[..k].concat()[8..8 + len], v[..], "systematic");
                for set in subsets(n, code.reconstruct_from()) {
                    let chosen: Vec<(usize, &Vec<u8>)> = set.iter().map(|&i| (i, &frags[i])).collect();
                    assert_eq!(code.decode(&chosen), Ok(v.clone()), "({k},{l},{n}) len={len} set={set:?}");
                }
            }
        }
    }

    #[test]
    fn some_k_sets_decode_and_dependent_ones_are_refused() {
        let mut rng = ChaCha20Rng::seed_from_u64(51);
        let code = PyramidCode::new(4, 2, 8).unwrap(); // groups {0,1}+4, {2,3}+5, globals 6, 7
        let v = value(&mut rng, 3000);
        let frags = code.encode(&v);
        let pick = |set: &[usize]| set.iter().map(|&i| (i, frags[i].as_slice())).collect::<Vec<_>>();
        assert_eq!(code.decode(&pick(&[0, 2, 6, 7])), Ok(v.clone()));
        assert_eq!(code.decode(&pick(&[1, 4, 3, 5])), Ok(v.clone()));
        // d0, d1 and their local parity are dependent: rank 3 < k.
        assert_eq!(code.decode(&pick(&[0, 1, 4, 2])), Err(ErasureError::Unrecoverable));
        assert_eq!(code.decode(&pick(&[0, 1, 2])), Err(ErasureError::NotEnoughFragments { needed: 4, have: 3 }));
        assert_eq!(code.decode(&pick(&[0, 0, 1, 2])), Err(ErasureError::BadIndex(0)));
    }

    #[test]
    fn lost_fragments_repair_from_their_group_alone() {
        let mut rng = ChaCha20Rng::seed_from_u64(52);
        for (k, l, n) in SHAPES {
            let code = PyramidCode::new(k, l, n).unwrap();
            let frags = code.encode(&value(&mut rng, 5000));
            let s = frags[0].len();
            for target in 0..k + l {
                let g = code.group_of(target).unwrap();
                let others: Vec<usize> = code.group_members(g).into_iter().filter(|m| *m != target).collect();
                let avail: Vec<(usize, &[u8])> = others.iter().map(|&i| (i, frags[i].as_slice())).collect();
                assert_eq!(code.repair_range(target, 0..s, &avail), Ok(frags[target].clone()));
                // Given more, the group is still what is read: a corrupted outsider is ignored.
                let junk: Vec<u8> = frags[n - 1].iter().map(|b| !b).collect();
                let mut with_junk = avail.clone();
                if n > k + l {
                    with_junk.push((n - 1, junk.as_slice()));
                }
                assert_eq!(code.repair_range(target, 0..s, &with_junk), Ok(frags[target].clone()));
                // Without the whole group it needs a global decode.
                if avail.len() > 1 {
                    let partial = &avail[1..];
                    assert_eq!(code.repair_range(target, 0..s, partial), Err(ErasureError::Unrecoverable));
                }
            }
        }
    }

    #[test]
    fn range_repair_equals_the_original_bytes() {
        let mut rng = ChaCha20Rng::seed_from_u64(53);
        for (k, l, n) in SHAPES {
            let code = PyramidCode::new(k, l, n).unwrap();
            let frags = code.encode(&value(&mut rng, 20_000));
            let s = frags[0].len();
            for _ in 0..10 {
                let a = rng.gen_range(0..s / 64) * 64;
                let b = rng.gen_range(a / 64 + 1..=s / 64) * 64;
                let target = rng.gen_range(0..n);
                // Any reconstruct_from() fragments other than the target: a global repair.
                let mut idx: Vec<usize> = (0..n).filter(|i| *i != target).collect();
                while idx.len() > code.reconstruct_from() {
                    idx.remove(rng.gen_range(0..idx.len()));
                }
                let avail: Vec<(usize, &[u8])> = idx.iter().map(|&i| (i, &frags[i][a..b])).collect();
                assert_eq!(code.repair_range(target, a..b, &avail), Ok(frags[target][a..b].to_vec()), "({k},{l},{n})");
            }
        }
        let code = PyramidCode::new(2, 2, 7).unwrap();
        let frags = code.encode(b"x");
        // d1 from d0 and a global (d0's local parity alone would not do).
        let avail = [(0, &frags[0][..]), (4, &frags[4][..])];
        assert_eq!(
            code.repair_range(1, 0..64, &[(0, &frags[0][..]), (2, &frags[2][..])]),
            Err(ErasureError::Unrecoverable)
        );
        assert_eq!(code.repair_range(1, 0..64, &avail), Ok(frags[1].clone()));
        assert_eq!(code.repair_range(1, 0..32, &avail), Err(ErasureError::BadRange { start: 0, end: 32 }));
        assert_eq!(code.repair_range(1, 64..64, &avail), Err(ErasureError::BadRange { start: 64, end: 64 }));
        assert_eq!(code.repair_range(1, 0..128, &avail), Err(ErasureError::BadFragmentSize(64)));
        assert_eq!(code.repair_range(7, 0..64, &avail), Err(ErasureError::BadIndex(7)));
    }

    #[test]
    fn generator_matches_and_fingerprints_verify() {
        let mut rng = ChaCha20Rng::seed_from_u64(55);
        for (k, l, n) in SHAPES {
            let code = PyramidCode::new(k, l, n).unwrap();
            let frags = code.encode(&value(&mut rng, 3000));
            let data: Vec<Vec<u16>> = frags[..k].iter().map(|f| gf16::symbols(f).collect()).collect();
            for (i, row) in LinearCode::generator(&code).iter().enumerate() {
                let got: Vec<u16> = gf16::symbols(&frags[i]).collect();
                let expect: Vec<u16> = (0..got.len())
                    .map(|t| row.iter().zip(&data).fold(0, |a, (c, d)| gf16::add(a, gf16::mul(*c, d[t]))))
                    .collect();
                assert_eq!(got, expect, "({k},{l},{n}) row {i}");
            }
            for commitment in [FragmentCommitment::Flat, FragmentCommitment::Chunked { chunk: 1024 }] {
                let (cc, rows) = CrossChecksum::build(&code, commitment, b"ctx", &frags).unwrap();
                for (i, f) in frags.iter().enumerate() {
                    assert_eq!(cc.verify_fragment(&code, commitment, b"ctx", i, f, rows.as_ref()), Ok(()));
                }
                // A garbage local parity is caught.
                let mut bad = frags.clone();
                bad[k] = value(&mut rng, bad[k].len());
                let (cc, rows) = CrossChecksum::build(&code, commitment, b"ctx", &bad).unwrap();
                assert!(cc.verify_fragment(&code, commitment, b"ctx", k, &bad[k], rows.as_ref()).is_err());
            }
        }
    }
}
