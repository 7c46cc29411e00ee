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
//! `w = g^s`, `w̄ = ḡ^s`, `e = H(c, κ, L, u, w, ū, w̄)`, `φ = s + r·e`.
//! Ciphertext `(c, κ, L, u, ū, e, φ)`.
//!
//! **Check** (before any share is released): recompute `w = g^φ·u^{−e}`, `w̄ = ḡ^φ·ū^{−e}` and
//! accept iff `e = H(c, κ, L, u, w, ū, w̄)` (a NIZK that `log_g u = log_ḡ ū`, binding `c`, `κ`
//! and `L`). A checked ciphertext is a [`VerifiedCiphertext`]; only those can be decrypted.
//!
//! **Decryption share** of node `i`: `u_i = u^{x_i}` with a Chaum–Pedersen DLEQ proof that
//! `log_u u_i = log_g h_i`, bound to the ciphertext.
//!
//! **Combination** of `f + 1` shares: `K' = Π u_i^{λ_i}` (Lagrange at 0), then check the key
//! commitment `κ` and open the AEAD. The key commitment makes ChaCha20-Poly1305 key-committing,
//! so a combination that passes the check used the one true `K` and every honest node opens
//! the same plaintext. That allows the fast path: combine `f + 1` shares *without* verifying
//! their proofs; only when the commitment check fails verify shares one by one.

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use serde::{Deserialize, Serialize};
use zeroize::ZeroizeOnDrop;

use super::CryptoError;
use crate::NodeId;

/// Public key: Feldman commitments, group key, per-node verification keys.
#[derive(Clone, Debug)]
pub struct PublicKey {
    /// `C_0 .. C_f`.
    commitments: Vec<RistrettoPoint>,
    /// `h_i = g^{x_i}` for every node.
    verification_keys: Vec<RistrettoPoint>,
    // Implementation may add precomputed tables for h and ḡ.
}

/// One node's secret share `x_i`. Zeroized on drop; `Debug` shows the index only.
#[derive(Clone, ZeroizeOnDrop)]
pub struct SecretKeyShare {
    #[zeroize(skip)]
    index: NodeId,
    secret: Scalar,
}

/// A hybrid TDH2 ciphertext.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ciphertext {
    /// `u = g^r`.
    pub u: CompressedRistretto,
    /// `ū = ḡ^r`.
    pub u_bar: CompressedRistretto,
    /// Proof challenge `e`.
    pub e: Scalar,
    /// Proof response `φ`.
    pub phi: Scalar,
    /// The label the ciphertext is bound to.
    #[serde(with = "serde_bytes")]
    pub label: Vec<u8>,
    /// Key commitment `κ`.
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
}

/// A decryption share `u_i = u^{x_i}` with its DLEQ proof `(c, z)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecryptionShare {
    /// `u_i`.
    pub u_i: CompressedRistretto,
    /// DLEQ challenge.
    pub c: Scalar,
    /// DLEQ response.
    pub z: Scalar,
}

/// Trusted-dealer Feldman VSS dealing for `n` nodes, any `threshold + 1` of which decrypt.
pub fn deal(n: usize, threshold: usize, rng: &mut impl rand_core::CryptoRngCore) -> (PublicKey, Vec<SecretKeyShare>) {
    todo!()
}

impl PublicKey {
    /// Rebuild from the dealer's commitments `C_0..C_f` for `n` nodes (derives `h_i`).
    pub fn from_commitments(commitments: Vec<RistrettoPoint>, n: usize) -> Self {
        todo!()
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
        todo!()
    }
    /// Encrypt `plaintext` under `label`.
    pub fn encrypt(&self, label: &[u8], plaintext: &[u8], rng: &mut impl rand_core::CryptoRngCore) -> Ciphertext {
        todo!()
    }
    /// Check a ciphertext's well-formedness proof (and that its points decode).
    pub fn verify_ciphertext(&self, ct: Ciphertext) -> Result<VerifiedCiphertext, CryptoError> {
        todo!()
    }
    /// Check node `index`'s decryption share for `ct` (DLEQ against `h_index`).
    pub fn verify_share(&self, index: NodeId, ct: &VerifiedCiphertext, share: &DecryptionShare) -> bool {
        todo!()
    }
    /// Combine exactly `threshold + 1` shares (not verified here) and open the payload.
    /// `Err(DecryptionFailed)` when the key commitment or the AEAD tag does not check: then
    /// either a share was bad (verify them) or, if all shares verify, the ciphertext's payload
    /// is bad.
    pub fn combine(&self, ct: &VerifiedCiphertext, shares: &[(NodeId, DecryptionShare)]) -> Result<Vec<u8>, CryptoError> {
        todo!()
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
        todo!()
    }
    /// The canonical scalar bytes (for the sealed keystore only).
    pub fn to_bytes(&self) -> zeroize::Zeroizing<[u8; 32]> {
        todo!()
    }
    /// This share's node index.
    pub fn index(&self) -> NodeId {
        self.index
    }
    /// This node's decryption share with its DLEQ proof. Only a verified ciphertext can be
    /// decrypted: the type system enforces "check before release".
    pub fn decrypt_share(&self, ct: &VerifiedCiphertext, rng: &mut impl rand_core::CryptoRngCore) -> DecryptionShare {
        todo!()
    }
}

impl std::fmt::Debug for SecretKeyShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKeyShare {{ index: {}, .. }}", self.index)
    }
}
