//! Node identities: ed25519 key pairs (RFC 8032, `ed25519-dalek` 2).
//!
//! Every node has one long-lived identity key. The cluster file lists every node's
//! [`IdentityPublic`]; the node's sealed key file holds its [`IdentityKey`]. The network layer
//! binds its authenticated channels (a Noise handshake) to these keys and refuses peers whose
//! key is not in the cluster file.
//!
//! * [`IdentityKey`] is secret: zeroized on drop (dalek's `zeroize` feature), its `Debug`
//!   prints only the public key, and its bytes leave it only as [`Zeroizing`] for sealing.
//! * [`IdentityPublic`] is 32 bytes. Decoding refuses encodings that are not a point on the
//!   curve and *weak* keys (points of small order, for which signatures prove nothing).
//!   Serde writes it as a lowercase hex string in human-readable formats (TOML, JSON) and as a
//!   byte string otherwise (CBOR).
//! * Verification uses `verify_strict` (no small-order components, canonical `S`), so one
//!   message has one valid signature per key as far as a verifier is concerned.

use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use zeroize::Zeroizing;

use crate::crypto::CryptoError;

/// A node's secret identity key. Zeroized on drop; `Debug` prints only the public key.
#[derive(Clone)]
pub struct IdentityKey(SigningKey);

/// A node's public identity key (a validated, non-weak ed25519 public key).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdentityPublic(VerifyingKey);

/// An ed25519 signature (64 bytes).
pub type IdentitySignature = [u8; 64];

impl IdentityKey {
    /// A fresh random identity.
    pub fn generate(rng: &mut impl rand_core::CryptoRngCore) -> Self {
        IdentityKey(SigningKey::generate(rng))
    }

    /// Rebuild from the 32-byte secret seed (keystore loading). Every 32-byte string is a valid seed.
    pub fn from_bytes(seed: &[u8; 32]) -> Self {
        IdentityKey(SigningKey::from_bytes(seed))
    }

    /// The 32-byte secret seed (for the sealed keystore only).
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The public half.
    pub fn public(&self) -> IdentityPublic {
        IdentityPublic(self.0.verifying_key())
    }

    /// Sign `message` (deterministic, RFC 8032).
    pub fn sign(&self, message: &[u8]) -> IdentitySignature {
        self.0.sign(message).to_bytes()
    }

    /// The underlying dalek key, for the channel handshake.
    pub fn signing_key(&self) -> &SigningKey {
        &self.0
    }
}

impl std::fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityKey").field("public", &self.public()).finish_non_exhaustive()
    }
}

impl IdentityPublic {
    /// Decode and validate 32 bytes: the point must decompress and must not be of small order.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, CryptoError> {
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| CryptoError::InvalidEncoding("identity public key"))?;
        if key.is_weak() {
            return Err(CryptoError::InvalidEncoding("identity public key (small order)"));
        }
        Ok(IdentityPublic(key))
    }

    /// The 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Lowercase hex of the 32 bytes.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.as_bytes())
    }

    /// Parse 64 hex digits and validate.
    pub fn from_hex(s: &str) -> Result<Self, CryptoError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(s, &mut bytes).map_err(|_| CryptoError::InvalidEncoding("identity public key (hex)"))?;
        Self::from_bytes(&bytes)
    }

    /// Check `signature` on `message` (strict: refuses non-canonical and small-order forms).
    pub fn verify(&self, message: &[u8], signature: &IdentitySignature) -> bool {
        let signature = ed25519_dalek::Signature::from_bytes(signature);
        self.0.verify_strict(message, &signature).is_ok()
    }

    /// The underlying dalek key, for the channel handshake.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.0
    }
}

impl std::fmt::Debug for IdentityPublic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdentityPublic({})", self.to_hex())
    }
}

impl std::fmt::Display for IdentityPublic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl std::str::FromStr for IdentityPublic {
    type Err = CryptoError;
    fn from_str(s: &str) -> Result<Self, CryptoError> {
        Self::from_hex(s)
    }
}

impl serde::Serialize for IdentityPublic {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&self.to_hex())
        } else {
            serializer.serialize_bytes(self.0.as_bytes())
        }
    }
}

impl<'de> serde::Deserialize<'de> for IdentityPublic {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        if deserializer.is_human_readable() {
            let s = String::deserialize(deserializer)?;
            Self::from_hex(&s).map_err(D::Error::custom)
        } else {
            let bytes = serde_bytes::ByteBuf::deserialize(deserializer)?;
            let arr: &[u8; 32] =
                bytes.as_slice().try_into().map_err(|_| D::Error::invalid_length(bytes.len(), &"32"))?;
            Self::from_bytes(arr).map_err(D::Error::custom)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn sign_verify_and_bytes_round_trip() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let key = IdentityKey::generate(&mut rng);
        let other = IdentityKey::generate(&mut rng);
        let sig = key.sign(b"hello");
        assert!(key.public().verify(b"hello", &sig));
        assert!(!key.public().verify(b"hellp", &sig));
        assert!(!other.public().verify(b"hello", &sig));
        let mut bad = sig;
        bad[10] ^= 1;
        assert!(!key.public().verify(b"hello", &bad));

        let restored = IdentityKey::from_bytes(&key.to_bytes());
        assert_eq!(restored.public(), key.public());
        assert_eq!(restored.sign(b"x"), key.sign(b"x"));
        let public = IdentityPublic::from_bytes(&key.public().to_bytes()).unwrap();
        assert_eq!(public, key.public());
        assert_eq!(public.to_string().parse::<IdentityPublic>().unwrap(), public);
    }

    #[test]
    fn invalid_and_weak_public_keys_are_refused() {
        // The identity point (small order) and a point of order 2 (y = -1).
        let identity = {
            let mut b = [0u8; 32];
            b[0] = 1;
            b
        };
        assert!(IdentityPublic::from_bytes(&identity).is_err());
        let mut minus_one = [0xffu8; 32];
        minus_one[0] = 0xec;
        minus_one[31] = 0x7f;
        assert!(IdentityPublic::from_bytes(&minus_one).is_err());
        // y = 2 is not the y-coordinate of any curve point.
        let mut two = [0u8; 32];
        two[0] = 2;
        assert!(IdentityPublic::from_bytes(&two).is_err());
        assert!(IdentityPublic::from_hex("zz").is_err());
        assert!(IdentityPublic::from_hex(&"00".repeat(31)).is_err());
        assert!(IdentityPublic::from_hex(&"00".repeat(33)).is_err());
    }

    #[test]
    fn serde_is_hex_for_humans_and_bytes_for_cbor() {
        let key = IdentityKey::generate(&mut ChaCha20Rng::seed_from_u64(2));
        let public = key.public();
        #[derive(serde::Serialize, serde::Deserialize)]
        struct Wrap {
            identity: IdentityPublic,
        }
        let text = toml::to_string(&Wrap { identity: public }).unwrap();
        assert_eq!(text.trim(), format!("identity = \"{}\"", public.to_hex()));
        assert_eq!(toml::from_str::<Wrap>(&text).unwrap().identity, public);
        let cbor = crate::codec::encode(&public);
        assert_eq!(cbor.len(), 34);
        assert_eq!(&cbor[2..], &public.to_bytes());
        assert_eq!(crate::codec::decode::<IdentityPublic>(&cbor, 100).unwrap(), public);
        // A small-order key is refused by serde too.
        let weak = format!("identity = \"01{}\"", "00".repeat(31));
        assert!(toml::from_str::<Wrap>(&weak).is_err());
    }

    #[test]
    fn debug_prints_only_the_public_key() {
        let key = IdentityKey::generate(&mut ChaCha20Rng::seed_from_u64(3));
        let dbg = format!("{key:?}");
        assert!(dbg.contains(&key.public().to_hex()), "{dbg}");
        assert!(!dbg.contains(&hex::encode(*key.to_bytes())), "{dbg}");
        assert!(!format!("{key:#?}").contains(&hex::encode(*key.to_bytes())));
    }
}
