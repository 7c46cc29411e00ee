//! Arithmetic in the GF(2^16) that `reed-solomon-simd` codes over, and its symbol layout.
//!
//! **What.** `reed-solomon-simd` (Leopard-RS) is a linear code over GF(2^16) in Leopard's own
//! representation: field elements are 16-bit words in a Cantor basis of the field
//! `GF(2)[x]/(x^16 + x^5 + x^3 + x^2 + 1)` (`GF_POLYNOMIAL = 0x1002D`), with multiplication
//! through the crate's public `exp`/`log` tables (`engine::tables::get_exp_log`): for non-zero
//! `a, b`, `a · b = exp[(log a + log b) mod 65535]`. Addition is XOR. The multiplicative one
//! is `exp[0]` (the element whose log is 0); [`one`] returns it rather than assuming `1`.
//!
//! **Symbol layout** (read from the engines, e.g. `engine_naive.rs` `mul`, and
//! `engine/shards.rs` `insert`): a shard whose length is a multiple of 64 is copied into the
//! codec unchanged and processed in 64-byte chunks; chunk `c` holds symbols `32c .. 32c + 32`,
//! symbol `32c + i` being `chunk[i] | chunk[32 + i] << 8` (bytes `0..32` are the low bytes,
//! `32..64` the high bytes). Shards that are not a multiple of 64 get a different layout in
//! their last chunk; BEAT never produces them ([`FRAGMENT_ALIGN`](super::erasure::FRAGMENT_ALIGN)).
//!
//! **Why.** Every encoder and decoder operation is a butterfly `b ^= a · m` applied to whole
//! shards, i.e. the same GF(2^16)-linear map at every symbol position. So fragment `i` is
//! `Σ_j c_ij · data_j` symbol by symbol in *this* field, which is what makes the fingerprints
//! of [`fpc`](super::fpc) homomorphic and lets [`pyramid`](super::pyramid) combine fragments.
//! Fingerprints computed in another representation of GF(2^16) would not commute with the code.
//!
//! Besides the scalar operations this module has the bulk operation `dst ^= c · src` over
//! whole fragments (on the crate's SIMD engine) and a small Gaussian elimination used to
//! express one generator row through others (erasure decoding and repair for any linear code).

use std::sync::OnceLock;

use reed_solomon_simd::engine::{tables, DefaultEngine, Engine, GF_MODULUS};

/// Bytes per chunk of the codec's symbol layout.
pub const CHUNK_BYTES: usize = 64;
/// 16-bit symbols per chunk.
pub const SYMBOLS_PER_CHUNK: usize = 32;

/// The codec's `exp` and `log` tables (built once by the crate, 128 KiB each).
pub(crate) fn tables() -> (&'static [u16; 65536], &'static [u16; 65536]) {
    let t = tables::get_exp_log();
    (&t.exp, &t.log)
}

/// `(a + b) mod 65535` on logs, with 65535 standing for 0 (as the codec's `exp` table allows).
#[inline(always)]
pub(crate) fn add_mod(a: u16, b: u16) -> u16 {
    let sum = u32::from(a) + u32::from(b);
    (sum + (sum >> 16)) as u16
}

/// The multiplicative identity (`exp[0]`).
pub fn one() -> u16 {
    tables().0[0]
}

/// Field addition (and subtraction): XOR.
#[inline]
pub fn add(a: u16, b: u16) -> u16 {
    a ^ b
}

/// The discrete log of `a` to the codec's generator, in `0..65535`; `None` for zero.
pub fn log(a: u16) -> Option<u16> {
    (a != 0).then(|| tables().1[usize::from(a)])
}

/// Field multiplication.
#[inline]
pub fn mul(a: u16, b: u16) -> u16 {
    if a == 0 || b == 0 {
        return 0;
    }
    let (exp, log) = tables();
    exp[usize::from(add_mod(log[usize::from(a)], log[usize::from(b)]))]
}

/// The multiplicative inverse; `None` for zero.
pub fn inv(a: u16) -> Option<u16> {
    let l = log(a)?;
    Some(tables().0[usize::from(GF_MODULUS - l)])
}

/// The symbols of `fragment` in the codec's layout. Only whole 64-byte chunks are read: a
/// fragment whose length is not a multiple of 64 is not in this layout, and callers check
/// lengths first.
pub fn symbols(fragment: &[u8]) -> impl Iterator<Item = u16> + '_ {
    fragment.chunks_exact(CHUNK_BYTES).flat_map(|c| (0..SYMBOLS_PER_CHUNK).map(move |i| chunk_symbol(c, i)))
}

#[inline(always)]
pub(crate) fn chunk_symbol(chunk: &[u8], i: usize) -> u16 {
    u16::from(chunk[i]) | (u16::from(chunk[i + SYMBOLS_PER_CHUNK]) << 8)
}

/// Write `symbols` into `out` in the codec's layout, from symbol 0; stops at whichever ends
/// first (symbols, or whole chunks of `out`).
pub fn write_symbols(out: &mut [u8], symbols: &[u16]) {
    for (chunk, syms) in out.chunks_exact_mut(CHUNK_BYTES).zip(symbols.chunks(SYMBOLS_PER_CHUNK)) {
        for (i, s) in syms.iter().enumerate() {
            chunk[i] = *s as u8;
            chunk[i + SYMBOLS_PER_CHUNK] = (*s >> 8) as u8;
        }
    }
}

/// The bytes holding `symbols` in the codec's layout, zero-padded to whole chunks.
pub fn from_symbols(symbols: &[u16]) -> Vec<u8> {
    let mut out = vec![0; symbols.len().div_ceil(SYMBOLS_PER_CHUNK) * CHUNK_BYTES];
    write_symbols(&mut out, symbols);
    out
}

fn engine() -> &'static DefaultEngine {
    static ENGINE: OnceLock<DefaultEngine> = OnceLock::new();
    ENGINE.get_or_init(DefaultEngine::new)
}

/// `dst ^= c · src`, symbol by symbol, on the codec's SIMD engine. Both are in the codec's
/// layout; only the whole 64-byte chunks they have in common are touched.
pub fn mul_add_slice(dst: &mut [u8], src: &[u8], c: u16) {
    /// Chunks multiplied per engine call (1 KiB, on the stack).
    const BLOCK: usize = 16;
    let Some(log_c) = log(c) else { return };
    let len = dst.len().min(src.len()) / CHUNK_BYTES * CHUNK_BYTES;
    let (dst, src) = (&mut dst[..len], &src[..len]);
    if log_c == 0 {
        dst.iter_mut().zip(src).for_each(|(d, s)| *d ^= s);
        return;
    }
    let mut tmp = [[0u8; CHUNK_BYTES]; BLOCK];
    for (d, s) in dst.chunks_mut(BLOCK * CHUNK_BYTES).zip(src.chunks(BLOCK * CHUNK_BYTES)) {
        let used = s.len() / CHUNK_BYTES;
        for (t, c) in tmp.iter_mut().zip(s.chunks_exact(CHUNK_BYTES)) {
            t.copy_from_slice(c);
        }
        engine().mul(&mut tmp[..used], log_c);
        for (d, t) in d.chunks_exact_mut(CHUNK_BYTES).zip(&tmp) {
            d.iter_mut().zip(t).for_each(|(d, t)| *d ^= t);
        }
    }
}

/// `Σ_i coeffs[i] · frags[i]` over fragments (or ranges) of `len` bytes (a multiple of 64).
pub fn combine(coeffs: &[u16], frags: &[&[u8]], len: usize) -> Vec<u8> {
    let mut out = vec![0; len];
    for (c, f) in coeffs.iter().zip(frags) {
        mul_add_slice(&mut out, f, *c);
    }
    out
}

/// Coefficients `x` with `Σ_i x_i · rows[i] = target` (all rows as long as `target`), or
/// `None` when `target` is not in the span of `rows`. Gaussian elimination over GF(2^16),
/// `O(rows² · len)` field operations.
pub fn express(rows: &[&[u16]], target: &[u16]) -> Option<Vec<u16>> {
    let width = target.len();
    let r = rows.len();
    // Each basis vector is kept with its pivot (normalised to one) and the combination of the
    // input rows it equals; later vectors are reduced against all earlier pivots.
    let mut basis: Vec<(usize, Vec<u16>, Vec<u16>)> = Vec::with_capacity(r.min(width));
    for (i, row) in rows.iter().enumerate() {
        if row.len() != width {
            return None;
        }
        let mut v = row.to_vec();
        let mut combo = vec![0; r];
        combo[i] = one();
        reduce(&basis, &mut v, &mut combo);
        if let Some(p) = v.iter().position(|x| *x != 0) {
            let f = inv(v[p])?;
            v.iter_mut().for_each(|x| *x = mul(*x, f));
            combo.iter_mut().for_each(|x| *x = mul(*x, f));
            basis.push((p, v, combo));
        }
    }
    let mut t = target.to_vec();
    let mut x = vec![0; r];
    reduce(&basis, &mut t, &mut x);
    // `t` is now target − Σ x_i rows_i (char 2: minus is plus); `x` is the combination.
    t.iter().all(|v| *v == 0).then_some(x)
}

/// Eliminate the pivots of `basis` from `v`, tracking the row combination in `combo`.
fn reduce(basis: &[(usize, Vec<u16>, Vec<u16>)], v: &mut [u16], combo: &mut [u16]) {
    for (p, bv, bc) in basis {
        let f = v[*p];
        if f != 0 {
            v.iter_mut().zip(bv).for_each(|(x, y)| *x ^= mul(f, *y));
            combo.iter_mut().zip(bc).for_each(|(x, y)| *x ^= mul(f, *y));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn field_axioms_on_random_elements() {
        let mut rng = ChaCha20Rng::seed_from_u64(16);
        let e = one();
        assert_eq!(log(e), Some(0));
        assert_eq!(mul(e, e), e);
        for _ in 0..20_000 {
            let (a, b, c): (u16, u16, u16) = rng.gen();
            assert_eq!(mul(a, e), a);
            assert_eq!(mul(a, 0), 0);
            assert_eq!(mul(a, b), mul(b, a));
            assert_eq!(mul(mul(a, b), c), mul(a, mul(b, c)));
            assert_eq!(mul(a, add(b, c)), add(mul(a, b), mul(a, c)));
            match inv(a) {
                Some(ia) => assert_eq!(mul(a, ia), e),
                None => assert_eq!(a, 0),
            }
        }
        // Every non-zero element has an inverse, and zero none.
        assert_eq!(inv(0), None);
        assert!((1..=u16::MAX).all(|a| inv(a).is_some_and(|i| mul(a, i) == e)));
    }

    #[test]
    fn layout_round_trips_and_matches_the_engine() {
        let mut rng = ChaCha20Rng::seed_from_u64(17);
        let syms: Vec<u16> = (0..96).map(|_| rng.gen()).collect();
        let bytes = from_symbols(&syms);
        assert_eq!(bytes.len(), 192);
        assert_eq!(symbols(&bytes).collect::<Vec<_>>(), syms);
        // Symbol 33 = chunk 1, position 1: low byte at 64 + 1, high byte at 64 + 33.
        assert_eq!(bytes[65], syms[33] as u8);
        assert_eq!(bytes[97], (syms[33] >> 8) as u8);
        // The SIMD engine's scalar multiplication agrees with `mul` symbol by symbol.
        let c: u16 = rng.gen_range(2..=u16::MAX);
        let mut out = vec![0; bytes.len()];
        mul_add_slice(&mut out, &bytes, c);
        let expect: Vec<u16> = syms.iter().map(|s| mul(c, *s)).collect();
        assert_eq!(symbols(&out).collect::<Vec<_>>(), expect);
        // And accumulates: adding the same product again cancels it.
        mul_add_slice(&mut out, &bytes, c);
        assert!(out.iter().all(|b| *b == 0));
    }

    #[test]
    fn the_codec_is_linear_over_this_field() {
        // Parity of (a · x + y) == a · parity(x) + parity(y), per symbol.
        let mut rng = ChaCha20Rng::seed_from_u64(18);
        let (k, m) = (3, 4);
        let x: Vec<Vec<u8>> = (0..k).map(|_| (0..128).map(|_| rng.gen()).collect()).collect();
        let y: Vec<Vec<u8>> = (0..k).map(|_| (0..128).map(|_| rng.gen()).collect()).collect();
        let a: u16 = rng.gen();
        let z: Vec<Vec<u8>> = x
            .iter()
            .zip(&y)
            .map(|(x, y)| {
                let mut z = y.clone();
                mul_add_slice(&mut z, x, a);
                z
            })
            .collect();
        let px = reed_solomon_simd::encode(k, m, &x).unwrap();
        let py = reed_solomon_simd::encode(k, m, &y).unwrap();
        let pz = reed_solomon_simd::encode(k, m, &z).unwrap();
        for i in 0..m {
            let expect: Vec<u16> = symbols(&px[i]).zip(symbols(&py[i])).map(|(sx, sy)| add(mul(a, sx), sy)).collect();
            assert_eq!(symbols(&pz[i]).collect::<Vec<_>>(), expect);
        }
    }

    #[test]
    fn express_finds_combinations_or_refuses() {
        let mut rng = ChaCha20Rng::seed_from_u64(19);
        let rows: Vec<Vec<u16>> = (0..3).map(|_| (0..4).map(|_| rng.gen()).collect()).collect();
        let refs: Vec<&[u16]> = rows.iter().map(Vec::as_slice).collect();
        let coeffs: Vec<u16> = (0..3).map(|_| rng.gen()).collect();
        let target: Vec<u16> = (0..4).map(|t| (0..3).fold(0, |acc, i| add(acc, mul(coeffs[i], rows[i][t])))).collect();
        let x = express(&refs, &target).unwrap();
        let back: Vec<u16> = (0..4).map(|t| (0..3).fold(0, |acc, i| add(acc, mul(x[i], rows[i][t])))).collect();
        assert_eq!(back, target);
        // A vector outside the span is refused, and so are rows of the wrong width.
        assert_eq!(express(&[&[one(), 0, 0, 0]], &[0, one(), 0, 0]), None);
        // Dependent rows are tolerated: row 0 twice, then row 1, still express c0·r0 + c1·r1.
        let t01: Vec<u16> = (0..4).map(|t| add(mul(coeffs[0], rows[0][t]), mul(coeffs[1], rows[1][t]))).collect();
        let x = express(&[refs[0], refs[0], refs[1]], &t01).unwrap();
        let back: Vec<u16> = (0..4).map(|t| add(mul(add(x[0], x[1]), rows[0][t]), mul(x[2], rows[1][t]))).collect();
        assert_eq!(back, t01);
        assert_eq!(express(&[&[one(), 0]], &[0, 0, 0]), None);
    }
}
