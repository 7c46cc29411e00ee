//! Ristretto255 threshold ElGamal with labels, Feldman VSS and DLEQ-proved decryption shares.
//!
//! The scheme is Shoup–Gennaro's TDH2 (*Securing threshold cryptosystems against chosen
//! ciphertext attack*, J. Cryptology 2002) made hybrid, over the Ristretto255 group `⟨g⟩` of
//! prime order `q`, with `ḡ` a second generator hashed to the group (nobody knows `log_g ḡ`).
//!
//! **Dealing (Feldman VSS).** `p(X) = a_0 + a_1 X + … + a_f X^f` random; node `i` gets
//! `x_i = p(i + 1)`; the public commitments are `C_j = g^{a_j}`. Anyone derives the public key
//! `h = C_0` and the verification keys `h_i = g^{x_i} = Π_j C_j^{(i+1)^j}`, and a node checks
//! its share with [`PublicKey::verify_key_share`].
//!
//! **Encryption** of `M` under label `L`: pick `r, s`;
//! `u = g^r`, `ū = ḡ^r`, `K = h^r`;
//! `(k_enc, κ) = KDF(K, u, L)`; `c = ChaCha20-Poly1305(k_enc, M)` with `κ` a key commitment;
//! `w = g^s`, `w̄ = ḡ^s`, `e = H(H_c(c), κ, L, u, w, ū, w̄)`, `φ = s + r·e`, where
//! `H_c(c)` is the payload's SHA-256 (tagged): the payload is hashed once, and that digest
//! serves both the proof and the checked ciphertext's digest (a checker hashed it twice before).
//! Ciphertext `(c, κ, L, u, ū, e, φ)`.
//!
//! **Check** (before any share is released): recompute `w = g^φ·u^{−e}`, `w̄ = ḡ^φ·ū^{−e}` and
//! accept iff `e = H(H_c(c), κ, L, u, w, ū, w̄)` (a NIZK that `log_g u = log_ḡ ū`, binding `c`
//! — through a collision-resistant digest — `κ` and `L`). A checked ciphertext is a [`VerifiedCiphertext`]; only those can be decrypted.
//!
//! **Decryption shares** of node `i` for a list of checked ciphertexts `c_1..c_m` (one for a
//! BEAT0/1 proposal, one per client transaction of a BEAT2 proposal): `u_{i,t} = u_t^{x_i}`,
//! with **one** batched Chaum–Pedersen proof that `log_{u_t} u_{i,t} = log_g h_i` for every
//! `t`. The statement is hashed first,
//! `σ = H(context, i, h_i, (digest(c_t), u_{i,t}) for t = 1..m)`, with `context` the caller's
//! (protocol, session, epoch, instance) domain; the weights are `e_1 = 1`,
//! `e_t = H(σ, t)` for `t ≥ 2`; `U = Σ e_t·u_t`, `U_i = Σ e_t·u_{i,t}` (`= x_i·U` for honest
//! shares), and the proof `(c, z)` is a DLEQ proof of `log_g h_i = log_U U_i` with
//! `c = H(σ, U, U_i, g^s, U^s)`, `z = s + c·x_i`. If some `u_{i,t} ≠ u_t^{x_i}`, then
//! `U_i ≠ x_i·U` except with probability `1/q` over the weights, which are fixed only after
//! every share is (standard batched DLEQ, e.g. RFC 9497 §2.2.1). Verification costs two
//! multi-scalar multiplications over `m` points and one DLEQ check, instead of `m` checks.
//!
//! The nonce is deterministic, `s = H(x_i, σ)` (as in Ed25519): the same key never proves two
//! different statements with one nonce (which would reveal `x_i`), and a node that restarts and
//! rebuilds its state sends byte-identical shares.
//!
//! **Combination** of `f + 1` *verified* shares of one ciphertext: `K = Σ λ_i·u_{i,t}`
//! (Lagrange at 0), then the key commitment `κ` and the AEAD. Only [`VerifiedShares`] — what
//! [`PublicKey::verify_shares`] returns, or, for a node's own shares, what
//! [`SecretKeyShare::decrypt_own_shares`] computes from its own `x_i` once `g^{x_i}` is the
//! public `h_i` — can be combined: **no plaintext is ever computed from a peer's share whose
//! proof was not checked.** (An earlier version combined unverified shares and
//! trusted `κ` to catch a bad combination. `κ` is chosen by the encryptor, who knows `r`, can
//! compute an honest node's share `h_j^r`, and can make `κ` open for `{h_j^r, T}` with a made-up
//! `T`: that node alone would open a forged plaintext. The simulator's `crafted-kappa` adversary
//! runs this attack; [`adversarial::crafted_key_commitment`] builds such a ciphertext.) With
//! `f + 1` verified shares, `K = h^r` whichever shares were used, so every correct node opens the
//! same plaintext, or every one fails.

use std::sync::{Arc, OnceLock};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoBasepointTable, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::hash::{tagged_hash, tagged_sha512, update_part};
use super::{lagrange_at_zero, CryptoError};
use crate::NodeId;

/// Hash-to-group tag of the second generator `ḡ`.
const SECOND_GENERATOR_TAG: &str = "BEAT/elgamal/second-generator";
/// Challenge of the ciphertext's well-formedness proof.
const TDH2_PROOF_TAG: &str = "BEAT/elgamal/tdh2-proof";
/// Challenge of a decryption share's DLEQ proof.
const DLEQ_TAG: &str = "BEAT/elgamal/dleq";
/// KDF output: the DEM key.
const DEM_KEY_TAG: &str = "BEAT/elgamal/dem-key";
/// KDF output: the key commitment.
const KEY_COMMITMENT_TAG: &str = "BEAT/elgamal/key-commitment";

/// Public key: Feldman commitments, group key, per-node verification keys.
#[derive(Clone)]
pub struct PublicKey {
    /// `C_0 .. C_f`.
    commitments: Vec<RistrettoPoint>,
    /// `h_i = g^{x_i}` for every node.
    verification_keys: Vec<RistrettoPoint>,
    // Implementation may add precomputed tables for h and ḡ.
    /// The `h_i`, compressed (they enter every DLEQ challenge).
    verification_keys_compressed: Vec<CompressedRistretto>,
    /// Fixed-base table for the group key `h = C_0` (~30 KB, shared between clones).
    h_table: Arc<RistrettoBasepointTable>,
}

/// One node's secret share `x_i`. Zeroized on drop; `Debug` shows the index only.
#[derive(Clone, ZeroizeOnDrop)]
pub struct SecretKeyShare {
    #[zeroize(skip)]
    index: NodeId,
    secret: Scalar,
    /// `h_i = g^{x_i}`, compressed (public; cached for the DLEQ challenge). Always `g^{x_i}` for
    /// this `x_i`: [`SecretKeyShare::from_bytes`] computes it from `x_i`, and [`deal`] takes
    /// `Π_j C_j^{(i+1)^j}`, which is `g^{p(i+1)} = g^{x_i}` (a debug assertion checks it there).
    /// [`SecretKeyShare::decrypt_own_shares`] relies on it.
    #[zeroize(skip)]
    verification_key: CompressedRistretto,
}

/// A hybrid TDH2 ciphertext.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ciphertext {
    /// `u = g^r`.
    #[serde(with = "wire::point")]
    pub u: CompressedRistretto,
    /// `ū = ḡ^r`.
    #[serde(with = "wire::point")]
    pub u_bar: CompressedRistretto,
    /// Proof challenge `e`.
    #[serde(with = "wire::scalar")]
    pub e: Scalar,
    /// Proof response `φ`.
    #[serde(with = "wire::scalar")]
    pub phi: Scalar,
    /// The label the ciphertext is bound to.
    #[serde(with = "serde_bytes")]
    pub label: Vec<u8>,
    /// Key commitment `κ`.
    #[serde(with = "serde_bytes")]
    pub key_commitment: [u8; 32],
    /// AEAD ciphertext and tag.
    #[serde(with = "serde_bytes")]
    pub payload: Vec<u8>,
}

/// A ciphertext whose well-formedness proof has been checked, with its points decompressed.
#[derive(Clone, Debug)]
pub struct VerifiedCiphertext {
    ct: Ciphertext,
    u: RistrettoPoint,
    /// A digest of every field: what shares and proofs are bound to.
    digest: [u8; 32],
}

/// A batched DLEQ proof `(c, z)` (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DleqProof {
    /// Challenge.
    #[serde(with = "wire::scalar")]
    pub c: Scalar,
    /// Response.
    #[serde(with = "wire::scalar")]
    pub z: Scalar,
}

/// One node's decryption shares `u_{i,t} = u_t^{x_i}` for a list of ciphertexts, with one
/// batched DLEQ proof. What goes on the wire; check it with [`PublicKey::verify_shares`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecryptionShares {
    /// `u_{i,t}`, one per ciphertext, in the list's order (on the wire: one byte string of
    /// 32-byte encodings).
    #[serde(with = "wire::points")]
    pub shares: Vec<CompressedRistretto>,
    /// The proof that every share is the sender's.
    pub proof: DleqProof,
}

/// Wire forms: points and scalars as CBOR byte strings (not arrays of 32 integers); a scalar
/// must be canonical (`< ℓ`); a point is only checked when used (`verify_*` decompress it).
pub(crate) mod wire {
    use serde::{Deserialize, Deserializer};

    fn array32<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let bytes = serde_bytes::ByteBuf::deserialize(d)?;
        bytes.as_slice().try_into().map_err(|_| serde::de::Error::custom("expected 32 bytes"))
    }

    /// One compressed Ristretto point.
    pub mod point {
        use curve25519_dalek::ristretto::CompressedRistretto;
        use serde::{Deserializer, Serializer};

        pub fn serialize<S: Serializer>(p: &CompressedRistretto, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(p.as_bytes())
        }
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<CompressedRistretto, D::Error> {
            super::array32(d).map(CompressedRistretto)
        }
    }

    /// One canonical scalar.
    pub mod scalar {
        use curve25519_dalek::scalar::Scalar;
        use serde::{Deserializer, Serializer};

        pub fn serialize<S: Serializer>(x: &Scalar, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(x.as_bytes())
        }
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
            let bytes = super::array32(d)?;
            Option::from(Scalar::from_canonical_bytes(bytes))
                .ok_or_else(|| serde::de::Error::custom("non-canonical scalar"))
        }
    }

    /// A list of compressed points, as one byte string of 32-byte encodings.
    pub mod points {
        use curve25519_dalek::ristretto::CompressedRistretto;
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(points: &[CompressedRistretto], s: S) -> Result<S::Ok, S::Error> {
            let bytes: Vec<u8> = points.iter().flat_map(|p| p.0).collect();
            s.serialize_bytes(&bytes)
        }
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<CompressedRistretto>, D::Error> {
            let bytes = serde_bytes::ByteBuf::deserialize(d)?;
            if bytes.len() % 32 != 0 {
                return Err(serde::de::Error::custom("point list length is not a multiple of 32"));
            }
            Ok(bytes.chunks_exact(32).map(|c| CompressedRistretto(c.try_into().unwrap_or([0; 32]))).collect())
        }
    }
}

/// Decryption shares whose proof has been checked against the sender's verification key, the
/// ciphertexts and the context: the only thing [`PublicKey::combine`] accepts.
#[derive(Clone, Debug)]
pub struct VerifiedShares {
    index: NodeId,
    /// Per ciphertext: its digest and the share.
    shares: Vec<([u8; 32], RistrettoPoint)>,
}

/// One verified share of one ciphertext (from [`VerifiedShares::share`]).
#[derive(Clone, Copy, Debug)]
pub struct VerifiedShare<'a> {
    index: NodeId,
    ct: &'a [u8; 32],
    point: &'a RistrettoPoint,
}

impl VerifiedShares {
    /// The sender.
    pub fn index(&self) -> NodeId {
        self.index
    }
    /// Number of ciphertexts covered.
    pub fn len(&self) -> usize {
        self.shares.len()
    }
    /// Whether it covers no ciphertext.
    pub fn is_empty(&self) -> bool {
        self.shares.is_empty()
    }
    /// The share of the `t`-th ciphertext.
    pub fn share(&self, t: usize) -> Option<VerifiedShare<'_>> {
        self.shares.get(t).map(|(ct, point)| VerifiedShare { index: self.index, ct, point })
    }
}

/// The second generator `ḡ`, hashed to the group (nobody knows `log_g ḡ`).
fn second_generator() -> &'static RistrettoPoint {
    static GBAR: OnceLock<RistrettoPoint> = OnceLock::new();
    GBAR.get_or_init(|| RistrettoPoint::from_hash(tagged_sha512(SECOND_GENERATOR_TAG)))
}

/// Fixed-base table for `ḡ`.
fn second_generator_table() -> &'static RistrettoBasepointTable {
    static GBAR_TABLE: OnceLock<RistrettoBasepointTable> = OnceLock::new();
    GBAR_TABLE.get_or_init(|| RistrettoBasepointTable::create(second_generator()))
}

/// `e = H(H_c(c), κ, L, u, w, ū, w̄)`.
fn tdh2_challenge(
    payload_digest: &[u8; 32],
    key_commitment: &[u8; 32],
    label: &[u8],
    u: &CompressedRistretto,
    w: &CompressedRistretto,
    u_bar: &CompressedRistretto,
    w_bar: &CompressedRistretto,
) -> Scalar {
    let mut h = tagged_sha512(TDH2_PROOF_TAG);
    update_part(&mut h, payload_digest);
    update_part(&mut h, key_commitment);
    update_part(&mut h, label);
    update_part(&mut h, u.as_bytes());
    update_part(&mut h, w.as_bytes());
    update_part(&mut h, u_bar.as_bytes());
    update_part(&mut h, w_bar.as_bytes());
    Scalar::from_hash(h)
}

/// Tag of the batched share statement `σ`.
const SHARES_STATEMENT_TAG: &str = "BEAT/elgamal/shares-statement";
/// Tag of the per-ciphertext weights.
const SHARES_WEIGHT_TAG: &str = "BEAT/elgamal/shares-weight";
/// Tag of the deterministic DLEQ nonce.
const DLEQ_NONCE_TAG: &str = "BEAT/elgamal/dleq-nonce";
/// Tag of the payload's digest `H_c(c)`.
const PAYLOAD_DIGEST_TAG: &str = "BEAT/elgamal/payload";
/// `H_c(c)`: what the proof and the checked ciphertext's digest bind of the payload.
fn payload_digest(payload: &[u8]) -> [u8; 32] {
    tagged_hash(PAYLOAD_DIGEST_TAG, &[payload])
}
/// Tag of a checked ciphertext's digest.
const CIPHERTEXT_DIGEST_TAG: &str = "BEAT/elgamal/ciphertext";

/// `σ = H(context, i, h_i, (digest(c_t), u_{i,t})_t)`.
fn shares_statement(
    context: &[u8],
    index: NodeId,
    h_i: &CompressedRistretto,
    cts: &[&VerifiedCiphertext],
    shares: &[CompressedRistretto],
) -> [u8; 32] {
    let mut h = tagged_sha512(SHARES_STATEMENT_TAG);
    update_part(&mut h, context);
    update_part(&mut h, &(index as u64).to_be_bytes());
    update_part(&mut h, h_i.as_bytes());
    update_part(&mut h, &(cts.len() as u64).to_be_bytes());
    for (ct, share) in cts.iter().zip(shares) {
        update_part(&mut h, &ct.digest);
        update_part(&mut h, share.as_bytes());
    }
    let wide = sha2::Digest::finalize(h);
    let mut out = [0u8; 32];
    out.copy_from_slice(&wide[..32]);
    out
}

/// The weights `e_1 = 1`, `e_t = H(σ, t)` (`t ≥ 2`).
fn share_weights(statement: &[u8; 32], m: usize) -> Vec<Scalar> {
    (0..m)
        .map(|t| {
            if t == 0 {
                return Scalar::ONE;
            }
            let mut h = tagged_sha512(SHARES_WEIGHT_TAG);
            update_part(&mut h, statement);
            update_part(&mut h, &(t as u64).to_be_bytes());
            Scalar::from_hash(h)
        })
        .collect()
}

/// `U = Σ_t w_t·u_t` and `U_i = Σ_t w_t·u_{i,t}` (the second only when `points` are given),
/// with the weights of `statement`. One ciphertext (BEAT0/1: a proposal is one) has the weight
/// 1, so `U = u` and `U_i = u_{i,0}` without a multiplication (the same values: the proof does
/// not change).
fn combine_weighted(
    statement: &[u8; 32],
    cts: &[&VerifiedCiphertext],
    points: &[RistrettoPoint],
) -> (RistrettoPoint, RistrettoPoint) {
    debug_assert!(points.is_empty() || points.len() == cts.len(), "one share per ciphertext, or none");
    if let ([ct], [_] | []) = (cts, points) {
        return (ct.u, points.first().copied().unwrap_or_default());
    }
    let weights = share_weights(statement, cts.len());
    let big_u = RistrettoPoint::vartime_multiscalar_mul(&weights, cts.iter().map(|ct| ct.u));
    let big_u_i = match points {
        [] => RistrettoPoint::default(),
        _ => RistrettoPoint::vartime_multiscalar_mul(&weights, points),
    };
    (big_u, big_u_i)
}

/// The encodings of `U` and `U_i` for the challenge. For one ciphertext they are at hand: `U = u`
/// is the ciphertext's own `u`, and `U_i` the share as sent (both canonical: a Ristretto point
/// decodes from one encoding only, and re-encodes to it), so nothing is compressed; the bytes
/// are the same either way.
fn weighted_encodings(
    cts: &[&VerifiedCiphertext],
    shares: &[CompressedRistretto],
    big_u: RistrettoPoint,
    big_u_i: RistrettoPoint,
) -> (CompressedRistretto, CompressedRistretto) {
    match (cts, shares) {
        ([ct], [share]) => (ct.ct.u, *share),
        _ => (big_u.compress(), big_u_i.compress()),
    }
}

/// `c = H(σ, U, U_i, a1, a2)`.
fn dleq_challenge(
    statement: &[u8; 32],
    big_u: &CompressedRistretto,
    big_u_i: &CompressedRistretto,
    a1: &CompressedRistretto,
    a2: &CompressedRistretto,
) -> Scalar {
    let mut h = tagged_sha512(DLEQ_TAG);
    update_part(&mut h, statement);
    update_part(&mut h, big_u.as_bytes());
    update_part(&mut h, big_u_i.as_bytes());
    update_part(&mut h, a1.as_bytes());
    update_part(&mut h, a2.as_bytes());
    Scalar::from_hash(h)
}

/// `(k_enc, κ) = KDF(K, u, L)`. The encoding of `K` is wiped before returning.
fn derive_keys(k: &RistrettoPoint, u: &CompressedRistretto, label: &[u8]) -> (Zeroizing<[u8; 32]>, [u8; 32]) {
    let mut k_bytes = k.compress();
    let k_enc = Zeroizing::new(tagged_hash(DEM_KEY_TAG, &[k_bytes.as_bytes(), u.as_bytes(), label]));
    let key_commitment = tagged_hash(KEY_COMMITMENT_TAG, &[k_bytes.as_bytes(), u.as_bytes(), label]);
    k_bytes.zeroize();
    (k_enc, key_commitment)
}

/// ChaCha20-Poly1305 under `k_enc` with the all-zero nonce (every key encrypts exactly one
/// message: it is derived from a fresh `r`) and the label as associated data.
fn seal(k_enc: &[u8; 32], label: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let cipher = ChaCha20Poly1305::new(Key::from_slice(k_enc));
    // The only failure is a plaintext longer than ChaCha20-Poly1305's 256 GiB limit, far
    // beyond anything that fits in a BEAT batch; the plaintext is the caller's own data.
    cipher
        .encrypt(&Nonce::default(), Payload { msg: plaintext, aad: label })
        .expect("ChaCha20-Poly1305 plaintext length limit exceeded")
}

/// Inverse of [`seal`]; fails if the tag does not authenticate.
fn open(k_enc: &[u8; 32], label: &[u8], payload: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let cipher = ChaCha20Poly1305::new(Key::from_slice(k_enc));
    cipher.decrypt(&Nonce::default(), Payload { msg: payload, aad: label }).map_err(|_| CryptoError::DecryptionFailed)
}

/// The TDH2 proof `(e, φ)` that `log_g u = log_ḡ ū` (`= r`), binding payload, `κ` and label.
fn tdh2_prove(
    r: &Scalar,
    s: &Scalar,
    u: &CompressedRistretto,
    u_bar: &CompressedRistretto,
    label: &[u8],
    key_commitment: &[u8; 32],
    payload: &[u8],
) -> (Scalar, Scalar) {
    let w = (RISTRETTO_BASEPOINT_TABLE * s).compress();
    let w_bar = (second_generator_table() * s).compress();
    let e = tdh2_challenge(&payload_digest(payload), key_commitment, label, u, &w, u_bar, &w_bar);
    let phi = s + r * e;
    (e, phi)
}

/// Trusted-dealer Feldman VSS dealing for `n` nodes, any `threshold + 1` of which decrypt.
pub fn deal(n: usize, threshold: usize, rng: &mut impl rand_core::CryptoRngCore) -> (PublicKey, Vec<SecretKeyShare>) {
    // Dealer-side programming errors, not input from the network.
    assert!(threshold < n, "elgamal::deal: threshold {threshold} must be below n = {n}");
    let coefficients: Zeroizing<Vec<Scalar>> = Zeroizing::new((0..=threshold).map(|_| Scalar::random(rng)).collect());
    let commitments: Vec<RistrettoPoint> = coefficients.iter().map(|a| RISTRETTO_BASEPOINT_TABLE * a).collect();
    let public = PublicKey::from_commitments(commitments, n);
    let shares = (0..n)
        .map(|index| {
            let x = Scalar::from(index as u64 + 1);
            // Horner: p(x) = a_0 + x (a_1 + x (a_2 + …)).
            let mut secret = Scalar::ZERO;
            for a in coefficients.iter().rev() {
                secret = secret * x + a;
            }
            let share = SecretKeyShare { index, secret, verification_key: public.verification_keys_compressed[index] };
            debug_assert_eq!((RISTRETTO_BASEPOINT_TABLE * &secret).compress(), share.verification_key);
            secret.zeroize();
            share
        })
        .collect();
    (public, shares)
}

impl PublicKey {
    /// Rebuild from the dealer's commitments `C_0..C_f` for `n` nodes (derives `h_i`).
    pub fn from_commitments(commitments: Vec<RistrettoPoint>, n: usize) -> Self {
        // An empty commitment list has no group key; this is a configuration error.
        let Some(group_key) = commitments.first() else {
            panic!("elgamal::PublicKey::from_commitments: no commitments");
        };
        let h_table = Arc::new(RistrettoBasepointTable::create(group_key));
        let verification_keys: Vec<RistrettoPoint> = (0..n)
            .map(|index| {
                let x = Scalar::from(index as u64 + 1);
                // dalek's multiscalar multiplication wants iterators of exact size.
                let powers: Vec<Scalar> =
                    std::iter::successors(Some(Scalar::ONE), |p| Some(p * x)).take(commitments.len()).collect();
                RistrettoPoint::vartime_multiscalar_mul(powers, &commitments)
            })
            .collect();
        let verification_keys_compressed = verification_keys.iter().map(RistrettoPoint::compress).collect();
        PublicKey { commitments, verification_keys, verification_keys_compressed, h_table }
    }
    /// [`PublicKey::from_commitments`] for commitments that came from outside (keystore
    /// loading): refuses an empty list, `threshold ≥ n` and an identity group key `C_0`.
    pub fn try_from_commitments(commitments: Vec<RistrettoPoint>, n: usize) -> Result<Self, CryptoError> {
        let Some(group_key) = commitments.first() else {
            return Err(CryptoError::InvalidEncoding("elgamal commitments (none)"));
        };
        if group_key.is_identity() {
            return Err(CryptoError::InvalidEncoding("elgamal group key (identity)"));
        }
        if commitments.len() > n {
            return Err(CryptoError::NotEnoughShares { needed: commitments.len(), have: n });
        }
        Ok(Self::from_commitments(commitments, n))
    }
    /// [`PublicKey::try_from_commitments`] from compressed Ristretto points.
    pub fn from_compressed_commitments(commitments: &[[u8; 32]], n: usize) -> Result<Self, CryptoError> {
        let points = commitments
            .iter()
            .map(|c| CompressedRistretto(*c).decompress().ok_or(CryptoError::InvalidEncoding("elgamal commitment")))
            .collect::<Result<Vec<_>, _>>()?;
        Self::try_from_commitments(points, n)
    }
    /// Node `index`'s verification key `h_i = g^{x_i}`, compressed.
    pub fn verification_key(&self, index: NodeId) -> Option<&CompressedRistretto> {
        self.verification_keys_compressed.get(index)
    }
    /// The Feldman commitments.
    pub fn commitments(&self) -> &[RistrettoPoint] {
        &self.commitments
    }
    /// `f` (the polynomial degree): `threshold() + 1` shares decrypt.
    pub fn threshold(&self) -> usize {
        self.commitments.len() - 1
    }
    /// Number of nodes.
    pub fn n(&self) -> usize {
        self.verification_keys.len()
    }
    /// Feldman check of a node's secret share against the commitments.
    pub fn verify_key_share(&self, share: &SecretKeyShare) -> bool {
        let Some(expected) = self.verification_keys_compressed.get(share.index) else {
            return false;
        };
        let actual = (RISTRETTO_BASEPOINT_TABLE * &share.secret).compress();
        bool::from(actual.as_bytes().ct_eq(expected.as_bytes()))
    }
    /// Encrypt `plaintext` under `label`.
    pub fn encrypt(&self, label: &[u8], plaintext: &[u8], rng: &mut impl rand_core::CryptoRngCore) -> Ciphertext {
        let r = Zeroizing::new(Scalar::random(rng));
        let s = Zeroizing::new(Scalar::random(rng));
        let u = (RISTRETTO_BASEPOINT_TABLE * &*r).compress();
        let u_bar = (second_generator_table() * &*r).compress();
        let mut k = &*self.h_table * &*r;
        let (k_enc, key_commitment) = derive_keys(&k, &u, label);
        k.zeroize();
        let payload = seal(&k_enc, label, plaintext);
        let (e, phi) = tdh2_prove(&r, &s, &u, &u_bar, label, &key_commitment, &payload);
        Ciphertext { u, u_bar, e, phi, label: label.to_vec(), key_commitment, payload }
    }
    /// Check a ciphertext's well-formedness proof (and that its points decode).
    pub fn verify_ciphertext(&self, ct: Ciphertext) -> Result<VerifiedCiphertext, CryptoError> {
        let u = ct.u.decompress().ok_or(CryptoError::MalformedCiphertext("point encoding"))?;
        let u_bar = ct.u_bar.decompress().ok_or(CryptoError::MalformedCiphertext("point encoding"))?;
        if u.is_identity() {
            return Err(CryptoError::MalformedCiphertext("identity point"));
        }
        let minus_e = -ct.e;
        // w = g^φ·u^{−e}, w̄ = ḡ^φ·ū^{−e}.
        let w = RistrettoPoint::vartime_double_scalar_mul_basepoint(&minus_e, &u, &ct.phi).compress();
        let w_bar = RistrettoPoint::vartime_multiscalar_mul([ct.phi, minus_e], [*second_generator(), u_bar]).compress();
        let payload = payload_digest(&ct.payload);
        let e = tdh2_challenge(&payload, &ct.key_commitment, &ct.label, &ct.u, &w, &ct.u_bar, &w_bar);
        if e != ct.e {
            return Err(CryptoError::MalformedCiphertext("proof"));
        }
        let digest = tagged_hash(
            CIPHERTEXT_DIGEST_TAG,
            &[
                ct.u.as_bytes(),
                ct.u_bar.as_bytes(),
                ct.e.as_bytes(),
                ct.phi.as_bytes(),
                &ct.label,
                &ct.key_commitment,
                &payload,
            ],
        );
        Ok(VerifiedCiphertext { ct, u, digest })
    }
    /// Check node `index`'s decryption shares for `cts` under `context` (the batched DLEQ proof
    /// of the module doc). The result is the only input [`PublicKey::combine`] takes.
    pub fn verify_shares(
        &self,
        index: NodeId,
        context: &[u8],
        cts: &[&VerifiedCiphertext],
        shares: &DecryptionShares,
    ) -> Result<VerifiedShares, CryptoError> {
        let (Some(h_i), Some(h_i_compressed)) =
            (self.verification_keys.get(index), self.verification_keys_compressed.get(index))
        else {
            return Err(CryptoError::BadShareIndex(index));
        };
        if cts.is_empty() || shares.shares.len() != cts.len() {
            return Err(CryptoError::InvalidShare(index));
        }
        let points = shares
            .shares
            .iter()
            .map(CompressedRistretto::decompress)
            .collect::<Option<Vec<RistrettoPoint>>>()
            .ok_or(CryptoError::InvalidShare(index))?;
        let statement = shares_statement(context, index, h_i_compressed, cts, &shares.shares);
        // Public scalars and points: variable time is fine.
        let (big_u, big_u_i) = combine_weighted(&statement, cts, &points);
        let (big_u_bytes, big_u_i_bytes) = weighted_encodings(cts, &shares.shares, big_u, big_u_i);
        let DleqProof { c, z } = shares.proof;
        let minus_c = -c;
        // a1 = g^z·h_i^{−c}, a2 = U^z·U_i^{−c}.
        let a1 = RistrettoPoint::vartime_double_scalar_mul_basepoint(&minus_c, h_i, &z).compress();
        let a2 = RistrettoPoint::vartime_multiscalar_mul([z, minus_c], [big_u, big_u_i]).compress();
        if dleq_challenge(&statement, &big_u_bytes, &big_u_i_bytes, &a1, &a2) != c {
            return Err(CryptoError::InvalidShare(index));
        }
        Ok(VerifiedShares { index, shares: cts.iter().map(|ct| ct.digest).zip(points).collect() })
    }

    /// Combine exactly `threshold + 1` verified shares of `ct` from distinct nodes and open the
    /// payload. `Err(DecryptionFailed)` when the key commitment or the AEAD tag does not check:
    /// with verified shares that means the ciphertext's payload is bad, and every node that
    /// combines any `threshold + 1` verified shares gets the same error.
    pub fn combine(&self, ct: &VerifiedCiphertext, shares: &[VerifiedShare<'_>]) -> Result<Vec<u8>, CryptoError> {
        let needed = self.threshold() + 1;
        if shares.len() != needed {
            return Err(CryptoError::NotEnoughShares { needed, have: shares.len() });
        }
        let mut seen = vec![false; self.n()];
        for share in shares {
            match seen.get_mut(share.index) {
                Some(s) if !*s => *s = true,
                _ => return Err(CryptoError::BadShareIndex(share.index)),
            }
            if *share.ct != ct.digest {
                return Err(CryptoError::InvalidShare(share.index));
            }
        }
        let indices: Vec<usize> = shares.iter().map(|s| s.index).collect();
        let lambdas =
            lagrange_at_zero(
                &indices,
                Scalar::from,
                |d: &Scalar| {
                    if *d == Scalar::ZERO {
                        None
                    } else {
                        Some(d.invert())
                    }
                },
            )
            .ok_or(CryptoError::DecryptionFailed)?;
        // Public scalars and public points: variable time is fine.
        let mut k = RistrettoPoint::vartime_multiscalar_mul(&lambdas, shares.iter().map(|s| *s.point));
        let (k_enc, key_commitment) = derive_keys(&k, &ct.ct.u, &ct.ct.label);
        k.zeroize();
        if !bool::from(key_commitment[..].ct_eq(&ct.ct.key_commitment[..])) {
            return Err(CryptoError::DecryptionFailed);
        }
        open(&k_enc, &ct.ct.label, &ct.ct.payload)
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let commitments: Vec<String> = self.commitments.iter().map(|c| hex::encode(c.compress().as_bytes())).collect();
        let verification_keys: Vec<String> =
            self.verification_keys_compressed.iter().map(|h| hex::encode(h.as_bytes())).collect();
        f.debug_struct("PublicKey")
            .field("commitments", &commitments)
            .field("verification_keys", &verification_keys)
            .finish_non_exhaustive()
    }
}

impl VerifiedCiphertext {
    /// The checked ciphertext.
    pub fn ciphertext(&self) -> &Ciphertext {
        &self.ct
    }
    /// Its label.
    pub fn label(&self) -> &[u8] {
        &self.ct.label
    }
}

impl SecretKeyShare {
    /// Rebuild from index and canonical 32-byte scalar encoding (keystore loading).
    pub fn from_bytes(index: NodeId, bytes: &[u8; 32]) -> Result<Self, CryptoError> {
        let secret: Option<Scalar> = Scalar::from_canonical_bytes(*bytes).into();
        let secret = secret.ok_or(CryptoError::InvalidEncoding("elgamal secret share"))?;
        let verification_key = (RISTRETTO_BASEPOINT_TABLE * &secret).compress();
        Ok(SecretKeyShare { index, secret, verification_key })
    }
    /// The canonical scalar bytes (for the sealed keystore only).
    pub fn to_bytes(&self) -> zeroize::Zeroizing<[u8; 32]> {
        Zeroizing::new(self.secret.to_bytes())
    }
    /// This share's node index.
    pub fn index(&self) -> NodeId {
        self.index
    }
    /// This node's decryption shares of `cts` with one batched DLEQ proof bound to `context`
    /// (the caller's protocol, session, epoch and instance). Only verified ciphertexts can be
    /// decrypted: the type system enforces "check before release". Deterministic: the nonce is
    /// derived from the secret and the whole statement.
    pub fn decrypt_shares(&self, context: &[u8], cts: &[&VerifiedCiphertext]) -> DecryptionShares {
        self.decrypt(context, cts).0
    }

    /// [`Self::decrypt_shares`], and the same shares as [`VerifiedShares`] for this node's own
    /// combination, without checking their proof — if `public`'s verification key for this
    /// index is this share's `h_i = g^{x_i}` (else `InvalidShare`, and the caller waits for
    /// `threshold + 1` other senders, as it would for a bad list; also for an empty `cts`, as
    /// [`PublicKey::verify_shares`]). The result carries this share's index: a caller that
    /// stores it as some member's list checks that the index is that member's.
    ///
    /// Why that is as strong as [`PublicKey::verify_shares`]: the proof shows that every
    /// `u_{i,t} = x·u_t` for the `x` with `g^x = h_i`. Here each `u_{i,t}` is computed as
    /// `x_i·u_t` from this share's own `x_i`, and `g^{x_i} = h_i` holds exactly when the cached
    /// `g^{x_i}` (computed from `x_i` by [`SecretKeyShare::from_bytes`], or, in [`deal`], taken
    /// from the commitments of the polynomial `x_i` is evaluated from) equals the public key's
    /// `h_i`. Nothing here comes from a peer. It saves one DLEQ check per proposal per epoch,
    /// about a sixth of an epoch's work in `beat-bench beat0 --n 4 --b 1000`.
    pub fn decrypt_own_shares(
        &self,
        public: &PublicKey,
        context: &[u8],
        cts: &[&VerifiedCiphertext],
    ) -> (DecryptionShares, Result<VerifiedShares, CryptoError>) {
        let (shares, points) = self.decrypt(context, cts);
        let matches = public.verification_keys_compressed.get(self.index) == Some(&self.verification_key);
        let own = if matches && !cts.is_empty() {
            Ok(VerifiedShares { index: self.index, shares: cts.iter().map(|ct| ct.digest).zip(points).collect() })
        } else {
            Err(CryptoError::InvalidShare(self.index))
        };
        (shares, own)
    }

    /// The shares (as sent, and as points) with their proof.
    fn decrypt(&self, context: &[u8], cts: &[&VerifiedCiphertext]) -> (DecryptionShares, Vec<RistrettoPoint>) {
        // Constant-time variable-base multiplications: x_i and s are secret.
        let points: Vec<RistrettoPoint> = cts.iter().map(|ct| ct.u * self.secret).collect();
        let shares: Vec<CompressedRistretto> = points.iter().map(RistrettoPoint::compress).collect();
        let statement = shares_statement(context, self.index, &self.verification_key, cts, &shares);
        let big_u = combine_weighted(&statement, cts, &[]).0;
        // One ciphertext: U = u, so U_i = x_i·u is the share itself.
        let big_u_i = match points.as_slice() {
            [share] => *share,
            _ => big_u * self.secret,
        };
        let (big_u_bytes, big_u_i_bytes) = weighted_encodings(cts, &shares, big_u, big_u_i);
        let mut secret_bytes = self.secret.to_bytes();
        let mut h = tagged_sha512(DLEQ_NONCE_TAG);
        update_part(&mut h, &secret_bytes);
        update_part(&mut h, &statement);
        secret_bytes.zeroize();
        let s = Zeroizing::new(Scalar::from_hash(h));
        let a1 = (RISTRETTO_BASEPOINT_TABLE * &*s).compress();
        let a2 = (big_u * *s).compress();
        let c = dleq_challenge(&statement, &big_u_bytes, &big_u_i_bytes, &a1, &a2);
        let z = *s + c * self.secret;
        (DecryptionShares { shares, proof: DleqProof { c, z } }, points)
    }
}

/// What a Byzantine encryptor can build (the simulator's adversaries use it; never a node).
#[cfg(feature = "sim")]
pub mod adversarial {
    use super::*;

    /// A well-formed ciphertext (its TDH2 proof verifies) whose key commitment and DEM key come
    /// from `λ_v·h_v^r + Σ_a λ_a·T_a`: the combination of the honest `victim`'s decryption share
    /// (which an encryptor knowing `r` computes from public keys) and made-up shares `T_a` of the
    /// `attackers` (`f` of them, so the set has `f + 1` members). It would open only for a node
    /// that combines exactly those shares without checking the `T_a`. Returns the ciphertext
    /// and the `T_a`, in `attackers` order.
    pub fn crafted_key_commitment(
        pk: &PublicKey,
        label: &[u8],
        plaintext: &[u8],
        victim: NodeId,
        attackers: &[NodeId],
        rng: &mut impl rand_core::CryptoRngCore,
    ) -> (Ciphertext, Vec<CompressedRistretto>) {
        let r = Scalar::random(rng);
        let s = Scalar::random(rng);
        let u = (RISTRETTO_BASEPOINT_TABLE * &r).compress();
        let u_bar = (second_generator_table() * &r).compress();
        let forged: Vec<RistrettoPoint> = attackers.iter().map(|_| RistrettoPoint::random(rng)).collect();
        let indices: Vec<NodeId> = std::iter::once(victim).chain(attackers.iter().copied()).collect();
        let lambdas =
            lagrange_at_zero(&indices, Scalar::from, |d: &Scalar| Some(d.invert())).expect("distinct indices");
        let points: Vec<RistrettoPoint> =
            std::iter::once(pk.verification_keys[victim] * r).chain(forged.iter().copied()).collect();
        let k = RistrettoPoint::vartime_multiscalar_mul(&lambdas, &points);
        let (k_enc, key_commitment) = derive_keys(&k, &u, label);
        let payload = seal(&k_enc, label, plaintext);
        let (e, phi) = tdh2_prove(&r, &s, &u, &u_bar, label, &key_commitment, &payload);
        let ct = Ciphertext { u, u_bar, e, phi, label: label.to_vec(), key_commitment, payload };
        (ct, forged.iter().map(RistrettoPoint::compress).collect())
    }
}

impl std::fmt::Debug for SecretKeyShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKeyShare {{ index: {}, .. }}", self.index)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use rand_chacha::ChaCha20Rng;
    use rand_core::{RngCore, SeedableRng};

    use super::*;

    fn setup(n: usize, f: usize, seed: u64) -> (PublicKey, Vec<SecretKeyShare>, ChaCha20Rng) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let (pk, sks) = deal(n, f, &mut rng);
        (pk, sks, rng)
    }

    use crate::crypto::test_util::subsets;

    /// The context shares are bound to in these tests.
    const CTX: &[u8] = b"BEAT/test/shares";

    fn all_shares(sks: &[SecretKeyShare], ct: &VerifiedCiphertext) -> Vec<DecryptionShares> {
        sks.iter().map(|sk| sk.decrypt_shares(CTX, &[ct])).collect()
    }

    /// Every node's shares of `ct`, checked (each must verify).
    fn verified_shares(pk: &PublicKey, sks: &[SecretKeyShare], ct: &VerifiedCiphertext) -> Vec<VerifiedShares> {
        all_shares(sks, ct)
            .iter()
            .enumerate()
            .map(|(i, s)| pk.verify_shares(i, CTX, &[ct], s).unwrap_or_else(|e| panic!("share {i}: {e}")))
            .collect()
    }

    fn pick<'a>(shares: &'a [VerifiedShares], subset: &[usize]) -> Vec<VerifiedShare<'a>> {
        subset.iter().map(|&i| shares[i].share(0).unwrap()).collect()
    }

    fn random_bytes(rng: &mut ChaCha20Rng, len: usize) -> Vec<u8> {
        let mut v = vec![0u8; len];
        rng.fill_bytes(&mut v);
        v
    }

    /// The group order ℓ, little-endian: the smallest non-canonical scalar encoding.
    fn ell_bytes() -> [u8; 32] {
        let mut b = (-Scalar::ONE).to_bytes();
        assert_eq!(b[0], 0xec);
        b[0] += 1;
        b
    }

    fn round_trip(n: usize, f: usize, seed: u64, exhaustive_len: usize) {
        let (pk, sks, mut rng) = setup(n, f, seed);
        assert_eq!(pk.n(), n);
        assert_eq!(pk.threshold(), f);
        let all = subsets(n, f + 1);
        for len in [0usize, 1, 1000, 100 * 1024] {
            let msg = random_bytes(&mut rng, len);
            let label = format!("epoch 7 / proposer {len}").into_bytes();
            let ct = pk.encrypt(&label, &msg, &mut rng);
            assert_eq!(ct.payload.len(), len + 16);
            let vct = pk.verify_ciphertext(ct).unwrap();
            assert_eq!(vct.label(), &label[..]);
            let shares = verified_shares(&pk, &sks, &vct);
            // Every subset for small messages, a spread of subsets (first, last, and some in
            // between, in both orders) for the big one.
            let chosen: Vec<&Vec<usize>> = if len <= exhaustive_len {
                all.iter().collect()
            } else {
                all.iter().step_by(all.len().div_ceil(5)).chain(all.last()).collect()
            };
            for subset in chosen {
                assert_eq!(pk.combine(&vct, &pick(&shares, subset)).unwrap(), msg, "subset {subset:?}");
                let mut reversed = subset.clone();
                reversed.reverse();
                assert_eq!(pk.combine(&vct, &pick(&shares, &reversed)).unwrap(), msg);
            }
        }
    }

    #[test]
    fn round_trip_n4_f1_every_subset() {
        round_trip(4, 1, 1, usize::MAX);
    }

    #[test]
    fn round_trip_n7_f2() {
        round_trip(7, 2, 2, 1000);
    }

    #[test]
    fn round_trip_degenerate_sizes() {
        // n = 1, f = 0 and n = 3f + 1 with f = 3.
        round_trip(1, 0, 3, usize::MAX);
        round_trip(10, 3, 4, 0);
    }

    #[test]
    fn second_generator_is_independent_of_g() {
        let gbar = *second_generator();
        assert!(!gbar.is_identity());
        assert_ne!(gbar, curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT);
        assert_eq!(second_generator_table().basepoint(), gbar);
    }

    #[test]
    fn every_field_is_bound_by_the_proof() {
        let (pk, _, mut rng) = setup(4, 1, 10);
        let ct = pk.encrypt(b"label", b"attack at dawn", &mut rng);
        let other = pk.encrypt(b"label", b"attack at dusk", &mut rng);
        assert!(pk.verify_ciphertext(ct.clone()).is_ok());
        let proof_err = Err(CryptoError::MalformedCiphertext("proof"));

        let mut m = ct.clone();
        m.label = b"labem".to_vec();
        assert_eq!(pk.verify_ciphertext(m).map(|_| ()), proof_err);
        let mut m = ct.clone();
        m.label.push(0);
        assert_eq!(pk.verify_ciphertext(m).map(|_| ()), proof_err);
        let mut m = ct.clone();
        m.label.clear();
        assert_eq!(pk.verify_ciphertext(m).map(|_| ()), proof_err);
        let mut m = ct.clone();
        m.u = other.u;
        assert_eq!(pk.verify_ciphertext(m).map(|_| ()), proof_err);
        let mut m = ct.clone();
        m.u_bar = other.u_bar;
        assert_eq!(pk.verify_ciphertext(m).map(|_| ()), proof_err);
        let mut m = ct.clone();
        m.u = other.u;
        m.u_bar = other.u_bar;
        assert_eq!(pk.verify_ciphertext(m).map(|_| ()), proof_err);
        let mut m = ct.clone();
        m.e += Scalar::ONE;
        assert_eq!(pk.verify_ciphertext(m).map(|_| ()), proof_err);
        let mut m = ct.clone();
        m.phi += Scalar::ONE;
        assert_eq!(pk.verify_ciphertext(m).map(|_| ()), proof_err);
        let mut m = ct.clone();
        m.payload[3] ^= 1;
        assert_eq!(pk.verify_ciphertext(m).map(|_| ()), proof_err);
        let mut m = ct.clone();
        m.payload.pop();
        assert_eq!(pk.verify_ciphertext(m).map(|_| ()), proof_err);
        let mut m = ct.clone();
        m.payload = other.payload.clone();
        assert_eq!(pk.verify_ciphertext(m).map(|_| ()), proof_err);
        let mut m = ct.clone();
        m.key_commitment[31] ^= 0x80;
        assert_eq!(pk.verify_ciphertext(m).map(|_| ()), proof_err);
        let mut m = ct.clone();
        m.key_commitment = other.key_commitment;
        assert_eq!(pk.verify_ciphertext(m).map(|_| ()), proof_err);
        // Swapping the proofs of two ciphertexts does not work either.
        let mut m = ct.clone();
        m.e = other.e;
        m.phi = other.phi;
        assert_eq!(pk.verify_ciphertext(m).map(|_| ()), proof_err);
    }

    #[test]
    fn bad_point_encodings_and_identity_are_rejected() {
        let (pk, _, mut rng) = setup(4, 1, 11);
        let ct = pk.encrypt(b"label", b"msg", &mut rng);
        let encoding_err = Err(CryptoError::MalformedCiphertext("point encoding"));
        let mut m = ct.clone();
        m.u = CompressedRistretto([0xff; 32]);
        assert_eq!(pk.verify_ciphertext(m).map(|_| ()), encoding_err);
        let mut m = ct.clone();
        m.u_bar = CompressedRistretto([0xff; 32]);
        assert_eq!(pk.verify_ciphertext(m).map(|_| ()), encoding_err);
        // A non-canonical field element (p = 2^255 - 19 itself) is not a valid encoding.
        let mut p_bytes = [0xff; 32];
        p_bytes[0] = 0xed;
        p_bytes[31] = 0x7f;
        let mut m = ct.clone();
        m.u = CompressedRistretto(p_bytes);
        assert_eq!(pk.verify_ciphertext(m).map(|_| ()), encoding_err);

        // u = identity with a "valid" proof for r = 0 (built with the private helpers).
        let s = Scalar::random(&mut rng);
        let u = RistrettoPoint::default().compress();
        assert_eq!(u, CompressedRistretto([0; 32]));
        let (e, phi) = tdh2_prove(&Scalar::ZERO, &s, &u, &u, b"label", &ct.key_commitment, &ct.payload);
        let m = Ciphertext { u, u_bar: u, e, phi, ..ct.clone() };
        assert_eq!(pk.verify_ciphertext(m).map(|_| ()), Err(CryptoError::MalformedCiphertext("identity point")));
    }

    #[test]
    fn relabelled_ciphertext_is_rejected() {
        let (pk, _, mut rng) = setup(4, 1, 12);
        let ct = pk.encrypt(b"epoch 1 / proposer 2", b"secret batch", &mut rng);
        // The attacker copies everything it cannot recompute under its own label.
        let relabelled = Ciphertext { label: b"epoch 1 / proposer 3".to_vec(), ..ct.clone() };
        assert_eq!(pk.verify_ciphertext(relabelled).map(|_| ()), Err(CryptoError::MalformedCiphertext("proof")));
        // Re-proving needs r (log_g u); a fresh proof with some other exponent fails.
        let r_guess = Scalar::random(&mut rng);
        let s = Scalar::random(&mut rng);
        let (e, phi) =
            tdh2_prove(&r_guess, &s, &ct.u, &ct.u_bar, b"epoch 1 / proposer 3", &ct.key_commitment, &ct.payload);
        let reproved = Ciphertext { label: b"epoch 1 / proposer 3".to_vec(), e, phi, ..ct };
        assert!(pk.verify_ciphertext(reproved).is_err());
    }

    #[test]
    fn label_is_authenticated_data_of_the_dem() {
        // Even with a consistent proof, opening under another label fails: the label is
        // both in the KDF and in the AEAD's associated data.
        let (pk, sks, mut rng) = setup(4, 1, 13);
        let r = Scalar::random(&mut rng);
        let s = Scalar::random(&mut rng);
        let u = (RISTRETTO_BASEPOINT_TABLE * &r).compress();
        let u_bar = (second_generator_table() * &r).compress();
        let k = &*pk.h_table * &r;
        // Keys and κ derived for label A; the DEM and proof use label B.
        let (k_enc, kappa) = derive_keys(&k, &u, b"A");
        let payload = seal(&k_enc, b"A", b"hello");
        let (e, phi) = tdh2_prove(&r, &s, &u, &u_bar, b"B", &kappa, &payload);
        let ct = Ciphertext { u, u_bar, e, phi, label: b"B".to_vec(), key_commitment: kappa, payload };
        let vct = pk.verify_ciphertext(ct).unwrap();
        let shares = verified_shares(&pk, &sks, &vct);
        assert_eq!(pk.combine(&vct, &pick(&shares, &[0, 1])), Err(CryptoError::DecryptionFailed));
    }

    #[test]
    fn corrupted_shares_fail_verification() {
        let (pk, sks, mut rng) = setup(4, 1, 20);
        let cts: Vec<VerifiedCiphertext> =
            (0..3).map(|i| pk.verify_ciphertext(pk.encrypt(b"label", &[i], &mut rng)).unwrap()).collect();
        let refs: Vec<&VerifiedCiphertext> = cts.iter().collect();
        let good = sks[1].decrypt_shares(CTX, &refs);
        let other = sks[2].decrypt_shares(CTX, &refs);
        assert!(pk.verify_shares(1, CTX, &refs, &good).is_ok());
        let refused = |bad: &DecryptionShares| pk.verify_shares(1, CTX, &refs, bad).map(|_| ());
        let err = Err(CryptoError::InvalidShare(1));
        for t in 0..3 {
            // Wrong u_i (a different valid point).
            let mut bad = good.clone();
            bad.shares[t] = (bad.shares[t].decompress().unwrap() + RISTRETTO_BASEPOINT_TABLE.basepoint()).compress();
            assert_eq!(refused(&bad), err, "t={t}");
            // Another node's share, another ciphertext's share, undecodable, identity.
            for replacement in [
                other.shares[t],
                good.shares[(t + 1) % 3],
                CompressedRistretto([0xff; 32]),
                CompressedRistretto([0; 32]),
            ] {
                let mut bad = good.clone();
                bad.shares[t] = replacement;
                assert_eq!(refused(&bad), err, "t={t}");
            }
        }
        // Two shares swapped (each a correct share of the other ciphertext).
        let mut bad = good.clone();
        bad.shares.swap(0, 2);
        assert_eq!(refused(&bad), err);
        // Bad proof with correct shares; another node's proof.
        let mut bad = good.clone();
        bad.proof.z += Scalar::ONE;
        assert_eq!(refused(&bad), err);
        let mut bad = good.clone();
        bad.proof.c += Scalar::ONE;
        assert_eq!(refused(&bad), err);
        let mut bad = good.clone();
        bad.proof = other.proof;
        assert_eq!(refused(&bad), err);
        // Too few or too many shares, or none at all.
        let mut bad = good.clone();
        bad.shares.pop();
        assert_eq!(refused(&bad), err);
        let mut bad = good.clone();
        bad.shares.push(good.shares[0]);
        assert_eq!(refused(&bad), err);
        let empty = DecryptionShares { shares: vec![], proof: good.proof };
        assert_eq!(pk.verify_shares(1, CTX, &[], &empty).map(|_| ()), err);
        // The good ones still verify.
        assert!(pk.verify_shares(1, CTX, &refs, &good).is_ok());
    }

    /// The module doc's prover, written out with every point compressed: the shortcuts of
    /// `decrypt` (for one ciphertext, `U_i` is the share and the encodings are the ones at
    /// hand) must give byte-identical shares and proofs, for one ciphertext and for several.
    fn reference_shares(sk: &SecretKeyShare, cts: &[&VerifiedCiphertext]) -> DecryptionShares {
        let shares: Vec<CompressedRistretto> = cts.iter().map(|ct| (ct.u * sk.secret).compress()).collect();
        let h_i = (RISTRETTO_BASEPOINT_TABLE * &sk.secret).compress();
        let statement = shares_statement(CTX, sk.index, &h_i, cts, &shares);
        let weights = share_weights(&statement, cts.len());
        let big_u: RistrettoPoint = weights.iter().zip(cts).map(|(w, ct)| ct.u * w).sum();
        let big_u_i = big_u * sk.secret;
        let mut h = tagged_sha512(DLEQ_NONCE_TAG);
        update_part(&mut h, &sk.secret.to_bytes());
        update_part(&mut h, &statement);
        let s = Scalar::from_hash(h);
        let a1 = (RISTRETTO_BASEPOINT_TABLE * &s).compress();
        let a2 = (big_u * s).compress();
        let c = dleq_challenge(&statement, &big_u.compress(), &big_u_i.compress(), &a1, &a2);
        DecryptionShares { shares, proof: DleqProof { c, z: s + c * sk.secret } }
    }

    #[test]
    fn shares_match_the_reference_prover_and_own_shares_need_no_check() {
        let (pk, sks, mut rng) = setup(4, 1, 29);
        let cts: Vec<VerifiedCiphertext> =
            (0..3u32).map(|i| pk.verify_ciphertext(pk.encrypt(b"l", &i.to_le_bytes(), &mut rng)).unwrap()).collect();
        let (other_pk, _) = deal(4, 1, &mut rng);
        for m in [1, 3] {
            let refs: Vec<&VerifiedCiphertext> = cts.iter().take(m).collect();
            for sk in &sks {
                let sent = sk.decrypt_shares(CTX, &refs);
                assert_eq!(sent, reference_shares(sk, &refs), "m={m} node {}", sk.index);
                // Own shares: the same bytes, and what a check of them would give.
                let (own_sent, own) = sk.decrypt_own_shares(&pk, CTX, &refs);
                assert_eq!(own_sent, sent);
                let own = own.unwrap();
                let checked = pk.verify_shares(sk.index, CTX, &refs, &sent).unwrap();
                assert_eq!(own.index(), checked.index());
                for t in 0..m {
                    let (a, b) = (own.share(t).unwrap(), checked.share(t).unwrap());
                    assert_eq!((a.ct, a.point), (b.ct, b.point), "m={m} node {} t={t}", sk.index);
                }
                // Against a public key this share is not part of: not usable unchecked.
                let (_, foreign) = sk.decrypt_own_shares(&other_pk, CTX, &refs);
                assert_eq!(foreign.map(|_| ()), Err(CryptoError::InvalidShare(sk.index)));
            }
        }
        // A share rebuilt from its bytes caches the same g^x_i, so it is still accepted.
        let rebuilt = SecretKeyShare::from_bytes(2, &sks[2].to_bytes()).unwrap();
        assert!(rebuilt.decrypt_own_shares(&pk, CTX, &[&cts[0]]).1.is_ok());
        // The right x_i under the wrong index is refused.
        let misplaced = SecretKeyShare::from_bytes(1, &sks[2].to_bytes()).unwrap();
        assert!(misplaced.decrypt_own_shares(&pk, CTX, &[&cts[0]]).1.is_err());
        // No ciphertext, nothing to combine: refused, as verify_shares refuses it.
        assert!(sks[0].decrypt_own_shares(&pk, CTX, &[]).1.is_err());
    }

    /// One bad share among many is caught by the batched proof, wherever it is.
    #[test]
    fn batched_proof_catches_one_bad_share_among_many() {
        let (pk, sks, mut rng) = setup(7, 2, 23);
        let cts: Vec<VerifiedCiphertext> =
            (0..40u32).map(|i| pk.verify_ciphertext(pk.encrypt(b"l", &i.to_le_bytes(), &mut rng)).unwrap()).collect();
        let refs: Vec<&VerifiedCiphertext> = cts.iter().collect();
        let good = sks[4].decrypt_shares(CTX, &refs);
        let verified = pk.verify_shares(4, CTX, &refs, &good).unwrap();
        assert_eq!(verified.len(), 40);
        for t in [0, 1, 17, 39] {
            let mut bad = good.clone();
            bad.shares[t] = (bad.shares[t].decompress().unwrap() * Scalar::from(2u8)).compress();
            assert_eq!(pk.verify_shares(4, CTX, &refs, &bad).map(|_| ()), Err(CryptoError::InvalidShare(4)), "t={t}");
        }
        // Each verified share opens its own ciphertext with two others.
        let others: Vec<VerifiedShares> = [0, 6]
            .iter()
            .map(|&i| pk.verify_shares(i, CTX, &refs, &sks[i].decrypt_shares(CTX, &refs)).unwrap())
            .collect();
        for (t, ct) in cts.iter().enumerate() {
            let chosen = [verified.share(t).unwrap(), others[0].share(t).unwrap(), others[1].share(t).unwrap()];
            assert_eq!(pk.combine(ct, &chosen).unwrap(), (t as u32).to_le_bytes());
        }
    }

    /// The attack on the old fast path (design.md §5a): a ciphertext whose key commitment opens
    /// with one honest node's share and forged shares. It passes `verify_ciphertext`; the forged
    /// shares would have opened it for the victim; the API cannot be made to use them, and every
    /// set of verified shares fails alike.
    #[cfg(feature = "sim")]
    #[test]
    fn crafted_key_commitment_opens_for_nobody() {
        for (n, f, victim, attackers) in [(4, 1, 0, vec![3]), (7, 2, 5, vec![0, 2])] {
            let (pk, sks, mut rng) = setup(n, f, 24);
            let (ct, forged) =
                adversarial::crafted_key_commitment(&pk, b"label", b"forged batch", victim, &attackers, &mut rng);
            let vct = pk.verify_ciphertext(ct).expect("the crafted ciphertext is well formed");
            // The attack is real: combining the victim's honest share with the forged ones
            // (unchecked) gives the key the ciphertext commits to, and the forged plaintext.
            let victim_share = sks[victim].decrypt_shares(CTX, &[&vct]);
            let indices: Vec<NodeId> = std::iter::once(victim).chain(attackers.iter().copied()).collect();
            let points: Vec<RistrettoPoint> = std::iter::once(victim_share.shares[0])
                .chain(forged.iter().copied())
                .map(|p| p.decompress().unwrap())
                .collect();
            let lambdas = lagrange_at_zero(&indices, Scalar::from, |d: &Scalar| Some(d.invert())).unwrap();
            let k = RistrettoPoint::vartime_multiscalar_mul(&lambdas, &points);
            let (k_enc, kappa) = derive_keys(&k, &vct.ciphertext().u, b"label");
            assert_eq!(kappa, vct.ciphertext().key_commitment);
            assert_eq!(open(&k_enc, b"label", &vct.ciphertext().payload).unwrap(), b"forged batch");
            // The forged shares never verify, whatever proof they carry.
            for (a, t) in attackers.iter().zip(&forged) {
                let mut claimed = sks[*a].decrypt_shares(CTX, &[&vct]);
                claimed.shares[0] = *t;
                assert_eq!(
                    pk.verify_shares(*a, CTX, &[&vct], &claimed).map(|_| ()),
                    Err(CryptoError::InvalidShare(*a))
                );
            }
            // Every f + 1 verified shares fail the same way: no node opens anything.
            let shares = verified_shares(&pk, &sks, &vct);
            for subset in subsets(n, f + 1) {
                assert_eq!(pk.combine(&vct, &pick(&shares, &subset)), Err(CryptoError::DecryptionFailed), "{subset:?}");
            }
        }
    }

    /// Shares are deterministic (a rebuilt node resends the same bytes) and the DLEQ nonce is
    /// bound to the whole statement: the same key share never answers two statements with one
    /// nonce (which would reveal it as (z₁ − z₂)/(c₁ − c₂)).
    #[test]
    fn nonces_are_deterministic_and_bound_to_the_statement() {
        let (pk, sks, mut rng) = setup(4, 1, 25);
        let a = pk.verify_ciphertext(pk.encrypt(b"epoch 3 / proposer 1", b"one", &mut rng)).unwrap();
        let b = pk.verify_ciphertext(pk.encrypt(b"epoch 3 / proposer 1", b"two", &mut rng)).unwrap();
        let sk = &sks[2];
        assert_eq!(sk.decrypt_shares(CTX, &[&a]), sk.decrypt_shares(CTX, &[&a]));
        let h = pk.verification_keys[2];
        // The commitment a1 = g^z·h^{−c} a proof used.
        let a1 =
            |s: &DecryptionShares| RistrettoPoint::vartime_double_scalar_mul_basepoint(&-s.proof.c, &h, &s.proof.z);
        let x = sk.secret;
        let statements = [
            sk.decrypt_shares(CTX, &[&a]),
            sk.decrypt_shares(CTX, &[&b]),
            sk.decrypt_shares(b"another context", &[&a]),
            sk.decrypt_shares(CTX, &[&a, &b]),
            sk.decrypt_shares(CTX, &[&b, &a]),
        ];
        for (i, s) in statements.iter().enumerate() {
            for t in &statements[i + 1..] {
                assert_ne!(a1(s), a1(t), "two statements share a nonce");
                let extracted = (s.proof.z - t.proof.z) * (s.proof.c - t.proof.c).invert();
                assert_ne!(extracted, x);
            }
        }
    }

    #[test]
    fn shares_are_bound_to_node_ciphertext_and_context() {
        let (pk, sks, mut rng) = setup(4, 1, 21);
        let vct = pk.verify_ciphertext(pk.encrypt(b"label", b"one", &mut rng)).unwrap();
        let vct2 = pk.verify_ciphertext(pk.encrypt(b"label", b"two", &mut rng)).unwrap();
        let shares = all_shares(&sks, &vct);
        for (i, share) in shares.iter().enumerate() {
            for j in 0..4 {
                assert_eq!(pk.verify_shares(j, CTX, &[&vct], share).is_ok(), i == j, "share of {i} as {j}");
            }
            assert!(pk.verify_shares(i, CTX, &[&vct2], share).is_err());
            assert!(pk.verify_shares(i, b"another context", &[&vct], share).is_err());
            assert_eq!(pk.verify_shares(4, CTX, &[&vct], share).map(|_| ()), Err(CryptoError::BadShareIndex(4)));
            assert!(pk.verify_shares(usize::MAX, CTX, &[&vct], share).is_err());
        }
        // Verified shares of one ciphertext cannot be combined for another.
        let v2 = verified_shares(&pk, &sks, &vct2);
        assert_eq!(pk.combine(&vct, &pick(&v2, &[0, 1])), Err(CryptoError::InvalidShare(0)));
        assert_eq!(pk.combine(&vct2, &pick(&v2, &[0, 1])).unwrap(), b"two");
    }

    #[test]
    fn combine_checks_count_and_indices() {
        let (pk, sks, mut rng) = setup(7, 2, 22);
        let vct = pk.verify_ciphertext(pk.encrypt(b"label", b"msg", &mut rng)).unwrap();
        let shares = verified_shares(&pk, &sks, &vct);
        assert_eq!(pk.combine(&vct, &[]), Err(CryptoError::NotEnoughShares { needed: 3, have: 0 }));
        assert_eq!(pk.combine(&vct, &pick(&shares, &[0, 1])), Err(CryptoError::NotEnoughShares { needed: 3, have: 2 }));
        assert_eq!(
            pk.combine(&vct, &pick(&shares, &[0, 1, 2, 3])),
            Err(CryptoError::NotEnoughShares { needed: 3, have: 4 })
        );
        assert_eq!(pk.combine(&vct, &pick(&shares, &[0, 1, 1])), Err(CryptoError::BadShareIndex(1)));
        assert_eq!(pk.combine(&vct, &pick(&shares, &[6, 3, 0])).unwrap(), b"msg");
        // A share verified for node 9 of a larger committee does not fit this one.
        let (pk10, sks10, _) = setup(10, 2, 26);
        let vct10 = pk10.verify_ciphertext(vct.ciphertext().clone()).unwrap();
        let v9 = pk10.verify_shares(9, CTX, &[&vct10], &sks10[9].decrypt_shares(CTX, &[&vct10])).unwrap();
        let mut chosen = pick(&shares, &[0, 1]);
        chosen.push(v9.share(0).unwrap());
        assert_eq!(pk.combine(&vct, &chosen), Err(CryptoError::BadShareIndex(9)));
    }

    #[test]
    fn wrong_key_commitment_or_tampered_payload_fails_with_valid_shares() {
        let (pk, sks, mut rng) = setup(4, 1, 30);
        let label = b"label".as_slice();
        // An encryptor that knows r can build a well-formed ciphertext whose κ or payload is
        // inconsistent with K: the proof verifies, every share verifies, combination fails.
        let build = |rng: &mut ChaCha20Rng, tamper: &dyn Fn(&mut [u8; 32], &mut Vec<u8>)| {
            let r = Scalar::random(rng);
            let s = Scalar::random(rng);
            let u = (RISTRETTO_BASEPOINT_TABLE * &r).compress();
            let u_bar = (second_generator_table() * &r).compress();
            let k = &*pk.h_table * &r;
            let (k_enc, mut kappa) = derive_keys(&k, &u, label);
            let mut payload = seal(&k_enc, label, b"the real plaintext");
            tamper(&mut kappa, &mut payload);
            let (e, phi) = tdh2_prove(&r, &s, &u, &u_bar, label, &kappa, &payload);
            Ciphertext { u, u_bar, e, phi, label: label.to_vec(), key_commitment: kappa, payload }
        };
        let check = |rng: &mut ChaCha20Rng, ct: Ciphertext| {
            let vct = pk.verify_ciphertext(ct).unwrap();
            let _ = rng;
            let shares = verified_shares(&pk, &sks, &vct);
            subsets(4, 2).iter().map(|subset| pk.combine(&vct, &pick(&shares, subset))).collect::<Vec<_>>()
        };

        // Sanity: the helpers build a ciphertext that decrypts.
        let honest = build(&mut rng, &|_, _| {});
        assert!(check(&mut rng, honest).iter().all(|r| r.as_deref() == Ok(b"the real plaintext".as_slice())));

        let wrong_kappa = build(&mut rng, &|kappa, _| kappa[0] ^= 1);
        assert!(check(&mut rng, wrong_kappa).iter().all(|r| *r == Err(CryptoError::DecryptionFailed)));

        let flipped_payload = build(&mut rng, &|_, payload| payload[5] ^= 0x40);
        assert!(check(&mut rng, flipped_payload).iter().all(|r| *r == Err(CryptoError::DecryptionFailed)));

        let flipped_tag = build(&mut rng, &|_, payload| {
            let last = payload.len() - 1;
            payload[last] ^= 1;
        });
        assert!(check(&mut rng, flipped_tag).iter().all(|r| *r == Err(CryptoError::DecryptionFailed)));

        let truncated = build(&mut rng, &|_, payload| payload.truncate(10));
        assert!(check(&mut rng, truncated).iter().all(|r| *r == Err(CryptoError::DecryptionFailed)));

        // Payload sealed under an unrelated key, κ consistent with K.
        let foreign = build(&mut rng, &|_, payload| *payload = seal(&[7; 32], label, b"the real plaintext"));
        assert!(check(&mut rng, foreign).iter().all(|r| *r == Err(CryptoError::DecryptionFailed)));
    }

    #[test]
    fn key_shares_check_against_commitments() {
        let (pk, sks, _) = setup(7, 2, 40);
        assert_eq!(pk.commitments().len(), 3);
        for sk in &sks {
            assert!(pk.verify_key_share(sk));
        }
        // Modified secret.
        let mut bad = sks[3].clone();
        bad.secret += Scalar::ONE;
        assert!(!pk.verify_key_share(&bad));
        // Right secret, wrong index; out-of-range index.
        let moved = SecretKeyShare::from_bytes(4, &sks[3].to_bytes()).unwrap();
        assert!(!pk.verify_key_share(&moved));
        let out = SecretKeyShare::from_bytes(7, &sks[3].to_bytes()).unwrap();
        assert!(!pk.verify_key_share(&out));
        // Shares from another dealing.
        let (_, other, _) = setup(7, 2, 41);
        assert!(other.iter().all(|sk| !pk.verify_key_share(sk)));
        // Rebuilding the public key from the commitments gives the same verification keys.
        let rebuilt = PublicKey::from_commitments(pk.commitments().to_vec(), 7);
        assert_eq!(rebuilt.verification_keys, pk.verification_keys);
        assert_eq!(rebuilt.threshold(), 2);
        assert!(sks.iter().all(|sk| rebuilt.verify_key_share(sk)));
        // The group key is g^{p(0)}: interpolating the h_i of any f + 1 nodes gives C_0.
        let lambdas = lagrange_at_zero(&[1, 4, 6], Scalar::from, |d: &Scalar| Some(d.invert())).unwrap();
        let c0 = RistrettoPoint::vartime_multiscalar_mul(
            &lambdas,
            [pk.verification_keys[1], pk.verification_keys[4], pk.verification_keys[6]],
        );
        assert_eq!(c0, pk.commitments()[0]);
    }

    #[test]
    fn public_key_from_compressed_commitments() {
        let (pk, sks, mut rng) = setup(7, 2, 42);
        let compressed: Vec<[u8; 32]> = pk.commitments().iter().map(|c| c.compress().to_bytes()).collect();
        let back = PublicKey::from_compressed_commitments(&compressed, 7).unwrap();
        assert_eq!(back.verification_keys, pk.verification_keys);
        assert!(sks.iter().all(|sk| back.verify_key_share(sk)));
        for i in 0..7 {
            assert_eq!(back.verification_key(i), Some(&pk.verification_keys_compressed[i]));
        }
        assert_eq!(back.verification_key(7), None);
        let vct = back.verify_ciphertext(back.encrypt(b"l", b"m", &mut rng)).unwrap();
        let shares = verified_shares(&back, &sks, &vct);
        assert_eq!(pk.combine(&vct, &pick(&shares, &[0, 4, 6])).unwrap(), b"m");

        assert_eq!(
            PublicKey::from_compressed_commitments(&[], 7).map(|_| ()),
            Err(CryptoError::InvalidEncoding("elgamal commitments (none)"))
        );
        let mut identity = compressed.clone();
        identity[0] = [0; 32];
        assert_eq!(
            PublicKey::from_compressed_commitments(&identity, 7).map(|_| ()),
            Err(CryptoError::InvalidEncoding("elgamal group key (identity)"))
        );
        let mut garbage = compressed.clone();
        garbage[1] = [0xff; 32];
        assert_eq!(
            PublicKey::from_compressed_commitments(&garbage, 7).map(|_| ()),
            Err(CryptoError::InvalidEncoding("elgamal commitment"))
        );
        // f + 1 commitments for fewer than f + 1 nodes.
        assert!(PublicKey::from_compressed_commitments(&compressed, 2).is_err());
        assert!(PublicKey::from_compressed_commitments(&compressed, 3).is_ok());
    }

    #[test]
    fn secret_share_bytes_round_trip_and_reject_non_canonical() {
        let (pk, sks, mut rng) = setup(4, 1, 50);
        for sk in &sks {
            let restored = SecretKeyShare::from_bytes(sk.index(), &sk.to_bytes()).unwrap();
            assert_eq!(restored.index(), sk.index());
            assert_eq!(restored.secret, sk.secret);
            assert_eq!(restored.verification_key, sk.verification_key);
            assert!(pk.verify_key_share(&restored));
        }
        // Restored shares decrypt.
        let vct = pk.verify_ciphertext(pk.encrypt(b"l", b"m", &mut rng)).unwrap();
        let restored: Vec<SecretKeyShare> =
            sks.iter().map(|sk| SecretKeyShare::from_bytes(sk.index(), &sk.to_bytes()).unwrap()).collect();
        let shares = verified_shares(&pk, &restored, &vct);
        assert_eq!(pk.combine(&vct, &pick(&shares, &[3, 2])).unwrap(), b"m");
        // A restored key share makes byte-identical shares (deterministic nonces).
        assert_eq!(all_shares(&restored, &vct), all_shares(&sks, &vct));

        let err = Err(CryptoError::InvalidEncoding("elgamal secret share"));
        assert_eq!(SecretKeyShare::from_bytes(0, &ell_bytes()).map(|_| ()), err);
        assert_eq!(SecretKeyShare::from_bytes(0, &[0xff; 32]).map(|_| ()), err);
        let mut high_bit = Scalar::ONE.to_bytes();
        high_bit[31] |= 0x80;
        assert_eq!(SecretKeyShare::from_bytes(0, &high_bit).map(|_| ()), err);
    }

    #[test]
    fn debug_does_not_print_secrets_or_tables() {
        let (pk, sks, _) = setup(4, 1, 51);
        let dbg = format!("{:?}", sks[2]);
        assert_eq!(dbg, "SecretKeyShare { index: 2, .. }");
        let dbg = format!("{pk:?}");
        assert!(dbg.starts_with("PublicKey {"));
        assert!(dbg.len() < 2000, "{dbg}");
    }

    fn to_cbor<T: Serialize>(value: &T) -> Vec<u8> {
        let mut out = Vec::new();
        ciborium::into_writer(value, &mut out).unwrap();
        out
    }

    #[test]
    fn serde_round_trip() {
        let (pk, sks, mut rng) = setup(4, 1, 60);
        let msg = random_bytes(&mut rng, 3000);
        let ct = pk.encrypt(b"epoch 9", &msg, &mut rng);
        let bytes = to_cbor(&ct);
        // Label and payload go as byte strings, not arrays of integers.
        assert!(bytes.len() < msg.len() + 400, "{}", bytes.len());
        let back: Ciphertext = ciborium::from_reader(bytes.as_slice()).unwrap();
        assert_eq!(back, ct);
        let vct = pk.verify_ciphertext(back).unwrap();
        let shares = all_shares(&sks, &vct);
        let received: Vec<VerifiedShares> = [0usize, 3]
            .iter()
            .map(|&i| {
                let bytes = to_cbor(&shares[i]);
                // One point and a proof: 3 × 32 bytes as byte strings, plus field names.
                assert!(bytes.len() <= 125, "{}", bytes.len());
                let back: DecryptionShares = ciborium::from_reader(bytes.as_slice()).unwrap();
                assert_eq!(back, shares[i]);
                pk.verify_shares(i, CTX, &[&vct], &back).unwrap()
            })
            .collect();
        let chosen: Vec<VerifiedShare<'_>> = received.iter().map(|v| v.share(0).unwrap()).collect();
        assert_eq!(pk.combine(&vct, &chosen).unwrap(), msg);
    }

    /// Same serde shape as `DleqProof`, with raw scalar bytes.
    #[derive(Serialize)]
    struct RawProof {
        #[serde(with = "serde_bytes")]
        c: [u8; 32],
        #[serde(with = "serde_bytes")]
        z: [u8; 32],
    }

    /// Same serde shape as `DecryptionShares`.
    #[derive(Serialize)]
    struct RawShares {
        #[serde(with = "wire::points")]
        shares: Vec<CompressedRistretto>,
        proof: RawProof,
    }

    /// Same serde shape as `Ciphertext`, with raw scalar bytes.
    #[derive(Serialize)]
    struct RawCiphertext {
        #[serde(with = "wire::point")]
        u: CompressedRistretto,
        #[serde(with = "wire::point")]
        u_bar: CompressedRistretto,
        #[serde(with = "serde_bytes")]
        e: [u8; 32],
        #[serde(with = "serde_bytes")]
        phi: [u8; 32],
        #[serde(with = "serde_bytes")]
        label: Vec<u8>,
        #[serde(with = "serde_bytes")]
        key_commitment: [u8; 32],
        #[serde(with = "serde_bytes")]
        payload: Vec<u8>,
    }

    #[test]
    fn non_canonical_scalars_are_rejected_on_deserialisation() {
        let (pk, sks, mut rng) = setup(4, 1, 61);
        let ct = pk.encrypt(b"label", b"msg", &mut rng);
        let vct = pk.verify_ciphertext(ct.clone()).unwrap();
        let share = sks[0].decrypt_shares(CTX, &[&vct]);

        let raw_share = |c: [u8; 32], z: [u8; 32]| RawShares { shares: share.shares.clone(), proof: RawProof { c, z } };
        let raw_ct = |e: [u8; 32], phi: [u8; 32]| RawCiphertext {
            u: ct.u,
            u_bar: ct.u_bar,
            e,
            phi,
            label: ct.label.clone(),
            key_commitment: ct.key_commitment,
            payload: ct.payload.clone(),
        };
        // The mirrors encode exactly like the real types (so the rejections below are real).
        assert_eq!(to_cbor(&raw_share(share.proof.c.to_bytes(), share.proof.z.to_bytes())), to_cbor(&share));
        assert_eq!(to_cbor(&raw_ct(ct.e.to_bytes(), ct.phi.to_bytes())), to_cbor(&ct));

        let mut high_bit = Scalar::ONE.to_bytes();
        high_bit[31] |= 0x80;
        // ℓ + 1: reduces to 1, but is not canonical.
        let mut ell_plus_one = ell_bytes();
        ell_plus_one[0] += 1;
        for bad in [ell_bytes(), ell_plus_one, high_bit, [0xff; 32]] {
            let bytes = to_cbor(&raw_share(bad, share.proof.z.to_bytes()));
            assert!(ciborium::from_reader::<DecryptionShares, _>(bytes.as_slice()).is_err());
            let bytes = to_cbor(&raw_share(share.proof.c.to_bytes(), bad));
            assert!(ciborium::from_reader::<DecryptionShares, _>(bytes.as_slice()).is_err());
            let bytes = to_cbor(&raw_ct(bad, ct.phi.to_bytes()));
            assert!(ciborium::from_reader::<Ciphertext, _>(bytes.as_slice()).is_err());
            let bytes = to_cbor(&raw_ct(ct.e.to_bytes(), bad));
            assert!(ciborium::from_reader::<Ciphertext, _>(bytes.as_slice()).is_err());
        }
        // Points are not checked by serde; verify_ciphertext / verify_shares do it.
        let bad_point =
            RawCiphertext { u: CompressedRistretto([0xff; 32]), ..raw_ct(ct.e.to_bytes(), ct.phi.to_bytes()) };
        let decoded: Ciphertext = ciborium::from_reader(to_cbor(&bad_point).as_slice()).unwrap();
        assert_eq!(pk.verify_ciphertext(decoded).map(|_| ()), Err(CryptoError::MalformedCiphertext("point encoding")));
        // Truncated input fails cleanly.
        let bytes = to_cbor(&share);
        assert!(ciborium::from_reader::<DecryptionShares, _>(&bytes[..bytes.len() - 1]).is_err());
    }
}
