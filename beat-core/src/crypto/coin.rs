//! The BLS12-381 threshold coin used by ABA (Cachin, Kursawe, Shoup, *Random oracles in
//! Constantinople*, J. Cryptology 2005, the "coin-tossing" scheme from threshold BLS).
//!
//! * The dealer picks a secret polynomial `p` of degree `f`; node `i` holds `sk_i = p(i + 1)`,
//!   everybody knows `pk = g1^p(0)` and every `pk_i = g1^sk_i` (minimal-signature-size BLS:
//!   public keys in G1, signatures in G2).
//! * The coin for a [`Domain`] and round `r` is named by the message
//!   `m = domain ‖ r` (session, epoch, ABA instance, round; see [`CoinName`]) hashed to G2 with
//!   the RFC 9380 hash-to-curve (`BLS12381G2_XMD:SHA-256_SSWU_RO_` with BEAT's DST).
//! * A coin share is `σ_i = H(m)^sk_i`; it verifies iff `e(g1, σ_i) = e(pk_i, H(m))`.
//! * Any `f + 1` shares combine by Lagrange interpolation in the exponent into
//!   `σ = H(m)^p(0)`, which verifies iff `e(g1, σ) = e(pk, H(m))`. The signature is unique, so
//!   every honest node obtains the same `σ` whichever shares it used.
//! * The coin value is the low bit of `SHA-256(tag ‖ σ)`.
//!
//! Cost (a pairing is ~1 ms): the caller combines `f + 1` unverified shares and verifies the
//! *combined* signature (two pairings). Only when that fails does it verify shares one by one
//! ([`CoinPublicKey::verify_share`]) and attribute the bad ones.

use bls12_381::{G1Affine, G2Affine, Scalar};
use serde::{Deserialize, Serialize};
use zeroize::ZeroizeOnDrop;

use super::hash::Domain;
use super::CryptoError;
use crate::NodeId;

/// What a coin is tossed for: a domain (session, epoch, instance) and an ABA round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoinName<'a> {
    /// Session, epoch and instance.
    pub domain: Domain<'a>,
    /// ABA round.
    pub round: u32,
}

/// Public key of the coin: the group key and every node's public key share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoinPublicKey {
    /// `pk = g1^p(0)`.
    pub group_key: G1Affine,
    /// `pk_i = g1^p(i + 1)` for every node `i`.
    pub key_shares: Vec<G1Affine>,
    /// Degree of the polynomial: `f + 1` shares are needed.
    pub threshold: usize,
}

/// One node's secret key share. Zeroized on drop; `Debug` shows the index only.
#[derive(Clone, ZeroizeOnDrop)]
pub struct CoinSecretShare {
    #[zeroize(skip)]
    index: NodeId,
    secret: Scalar,
}

/// A signature share `H(m)^sk_i` on a coin name (96-byte compressed G2 point on the wire).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoinShare(pub G2Affine);

/// The combined threshold signature `H(m)^p(0)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoinSignature(pub G2Affine);

/// Trusted-dealer key generation: `n` shares, any `threshold + 1` of which combine.
pub fn deal(n: usize, threshold: usize, rng: &mut impl rand_core::CryptoRngCore) -> (CoinPublicKey, Vec<CoinSecretShare>) {
    todo!()
}

impl CoinSecretShare {
    /// Rebuild a share from its index and 32-byte little-endian scalar (keystore loading).
    pub fn from_bytes(index: NodeId, bytes: &[u8; 32]) -> Result<Self, CryptoError> {
        todo!()
    }
    /// The 32-byte encoding of the secret (for the sealed keystore only).
    pub fn to_bytes(&self) -> zeroize::Zeroizing<[u8; 32]> {
        todo!()
    }
    /// This share's node index.
    pub fn index(&self) -> NodeId {
        self.index
    }
    /// Sign the coin `name`: `H(m)^sk_i`.
    pub fn sign(&self, name: &CoinName<'_>) -> CoinShare {
        todo!()
    }
}

impl std::fmt::Debug for CoinSecretShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CoinSecretShare {{ index: {}, .. }}", self.index)
    }
}

impl CoinPublicKey {
    /// Check node `index`'s share for `name` (two pairings).
    pub fn verify_share(&self, index: NodeId, name: &CoinName<'_>, share: &CoinShare) -> bool {
        todo!()
    }
    /// Lagrange-combine exactly `threshold + 1` shares given as `(node index, share)`.
    /// Does not verify anything; fails only on a repeated or out-of-range index or a wrong count.
    pub fn combine(&self, shares: &[(NodeId, CoinShare)]) -> Result<CoinSignature, CryptoError> {
        todo!()
    }
    /// Check a combined signature against the group key (two pairings).
    pub fn verify(&self, name: &CoinName<'_>, signature: &CoinSignature) -> bool {
        todo!()
    }
}

impl CoinSignature {
    /// The coin's value.
    pub fn bit(&self) -> bool {
        todo!()
    }
}

// Serde: CoinShare as a 96-byte compressed G2 point (serde_bytes); deserialisation rejects
// bytes that are not a valid point in the prime-order subgroup.
// TEMPORARY (replaced by the coin implementation branch).
impl Serialize for CoinShare {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0.to_compressed())
    }
}
impl<'de> Deserialize<'de> for CoinShare {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v: serde_bytes::ByteBuf = Deserialize::deserialize(d)?;
        let arr: [u8; 96] = v.as_slice().try_into().map_err(serde::de::Error::custom)?;
        Option::from(G2Affine::from_compressed(&arr)).map(CoinShare).ok_or_else(|| serde::de::Error::custom("bad point"))
    }
}
