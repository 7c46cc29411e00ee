//! Cryptography: the BLS12-381 threshold coin, Ristretto255 threshold ElGamal, hashing, and
//! the coding layer of the broadcasts: Reed–Solomon and pyramid codes over the codec's
//! GF(2^16), Merkle trees, fingerprinted cross-checksums.
//!
//! Secrets are zeroized on drop and never printed (`Debug` of a secret type prints only its
//! index); comparisons that involve secrets are constant-time.

pub mod coin;
pub mod elgamal;
pub mod erasure;
pub mod fpc;
pub mod gf16;
pub mod hash;
pub mod merkle;
pub mod pyramid;

/// What a cryptographic check or operation can fail with.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    /// Bytes that do not decode to a valid group element or scalar.
    #[error("invalid encoding of {0}")]
    InvalidEncoding(&'static str),
    /// A ciphertext whose well-formedness proof does not verify or whose label is not the expected one.
    #[error("malformed ciphertext: {0}")]
    MalformedCiphertext(&'static str),
    /// Fewer shares than the threshold needs.
    #[error("need {needed} shares, have {have}")]
    NotEnoughShares { needed: usize, have: usize },
    /// A share index is out of range or repeated.
    #[error("share index {0} out of range or repeated")]
    BadShareIndex(usize),
    /// The combined key does not match the ciphertext's key commitment, or the payload does
    /// not authenticate.
    #[error("decryption failed")]
    DecryptionFailed,
    /// Decryption shares whose proof does not verify, of the wrong count, or that do not
    /// decode (the sender is named).
    #[error("decryption shares of node {0} do not verify")]
    InvalidShare(usize),
    /// Key material that is inconsistent with its public commitments.
    #[error("key share {0} does not match the dealer's commitments")]
    InconsistentKeyShare(usize),
}

/// Lagrange coefficients at zero for the evaluation points `x_i = i + 1` of `indices`, in any
/// prime field implementing `ff::Field`-like arithmetic through the closures given.
///
/// Both the BLS coin and threshold ElGamal interpolate in the exponent; they share this
/// routine through [`lagrange_at_zero`].
pub(crate) fn lagrange_at_zero<S>(
    indices: &[usize],
    from_u64: impl Fn(u64) -> S,
    invert: impl Fn(&S) -> Option<S>,
) -> Option<Vec<S>>
where
    S: Clone + std::ops::Mul<Output = S> + std::ops::Sub<Output = S>,
{
    let mut out = Vec::with_capacity(indices.len());
    for (a, &i) in indices.iter().enumerate() {
        let xi = from_u64(i as u64 + 1);
        let mut num = from_u64(1);
        let mut den = from_u64(1);
        for (b, &j) in indices.iter().enumerate() {
            if a == b {
                continue;
            }
            if i == j {
                return None;
            }
            let xj = from_u64(j as u64 + 1);
            num = num * xj.clone();
            den = den * (xj - xi.clone());
        }
        out.push(num * invert(&den)?);
    }
    Some(out)
}

/// Helpers shared by the crypto tests.
#[cfg(test)]
pub(crate) mod test_util {
    /// Every `k`-element subset of `0..n`, in lexicographic order.
    pub(crate) fn subsets(n: usize, k: usize) -> Vec<Vec<usize>> {
        fn go(start: usize, n: usize, k: usize, cur: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
            if cur.len() == k {
                out.push(cur.clone());
                return;
            }
            for i in start..n {
                cur.push(i);
                go(i + 1, n, k, cur, out);
                cur.pop();
            }
        }
        let mut out = Vec::new();
        go(0, n, k, &mut Vec::new(), &mut out);
        out
    }
}
