//! The node's onion service key and address, derived from its identity key.
//!
//! A node's Tor address is part of its key material: the onion service's ed25519 seed is
//! `H("BEAT/onion-key/v1", identity seed)`, so the dealer (`beat keygen --tor-port P`) can
//! write every node's `….onion:P` into the cluster file, and the node can hand the key to a
//! tor daemon ([`OnionKey::write_tor_service_dir`], the files of a `HiddenServiceDir`) or to
//! the embedded arti client. The address routes only; the Noise handshake authenticates.
//!
//! Onion v3 address (Tor rend-spec-v3 §6): `base32(pubkey ‖ checksum ‖ 0x03)` in lower case,
//! with `checksum = SHA3-256(".onion checksum" ‖ pubkey ‖ 0x03)[..2]`.

use std::io::Write as _;
use std::path::Path;

use curve25519_dalek::edwards::EdwardsPoint;
use sha2::{Digest as _, Sha512};
use sha3::Sha3_256;
use zeroize::Zeroizing;

use crate::keystore::IdentityKey;

/// An onion service key (an ed25519 seed).
pub struct OnionKey {
    seed: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for OnionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnionKey").field("hostname", &self.hostname()).finish_non_exhaustive()
    }
}

impl OnionKey {
    /// The onion key of the node with `identity`.
    pub fn derive(identity: &IdentityKey) -> Self {
        let seed = crate::crypto::hash::tagged_hash("BEAT/onion-key/v1", &[&identity.to_bytes()[..]]);
        OnionKey { seed: Zeroizing::new(seed) }
    }

    /// The ed25519 seed (what arti's keystore takes).
    pub fn seed(&self) -> &[u8; 32] {
        &self.seed
    }

    /// Tor's expanded secret key: the clamped scalar and the signing prefix of SHA-512(seed).
    fn expanded(&self) -> Zeroizing<[u8; 64]> {
        let mut h = Zeroizing::new([0u8; 64]);
        h.copy_from_slice(&Sha512::digest(&self.seed[..]));
        h[0] &= 248;
        h[31] &= 127;
        h[31] |= 64;
        h
    }

    /// The service's public key.
    pub fn public(&self) -> [u8; 32] {
        let e = self.expanded();
        let mut scalar = [0u8; 32];
        scalar.copy_from_slice(&e[..32]);
        EdwardsPoint::mul_base_clamped(scalar).compress().to_bytes()
    }

    /// `<56 characters>.onion`.
    pub fn hostname(&self) -> String {
        onion_hostname(&self.public())
    }

    /// Write `hs_ed25519_secret_key`, `hs_ed25519_public_key` and `hostname` into `dir` in C
    /// tor's formats (the directory is created with mode 0700, the secret with 0600), for a
    /// tor daemon's `HiddenServiceDir`.
    pub fn write_tor_service_dir(&self, dir: &Path) -> std::io::Result<()> {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        std::fs::create_dir_all(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        let mut secret = Zeroizing::new(Vec::with_capacity(96));
        secret.extend_from_slice(b"== ed25519v1-secret: type0 ==\0\0\0");
        secret.extend_from_slice(&self.expanded()[..]);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(dir.join("hs_ed25519_secret_key"))?;
        f.write_all(&secret)?;
        f.sync_all()?;
        let mut public = b"== ed25519v1-public: type0 ==\0\0\0".to_vec();
        public.extend_from_slice(&self.public());
        std::fs::write(dir.join("hs_ed25519_public_key"), public)?;
        std::fs::write(dir.join("hostname"), format!("{}\n", self.hostname()))
    }
}

/// The onion v3 hostname of an ed25519 public key.
pub fn onion_hostname(public: &[u8; 32]) -> String {
    let mut h = Sha3_256::new();
    h.update(b".onion checksum");
    h.update(public);
    h.update([3u8]);
    let checksum = h.finalize();
    let mut raw = Vec::with_capacity(35);
    raw.extend_from_slice(public);
    raw.extend_from_slice(&checksum[..2]);
    raw.push(3);
    format!("{}.onion", base32(&raw))
}

/// Lower-case, unpadded RFC 4648 base32 (onion and `.b32.i2p` names).
pub fn base32(data: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in data {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((acc >> bits) & 31) as usize]));
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((acc << (5 - bits)) & 31) as usize]));
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn address_matches_the_ed25519_key_and_the_spec_form() {
        let id = IdentityKey::from_bytes(&[5; 32]);
        let key = OnionKey::derive(&id);
        // The public key is the standard ed25519 key of the seed (what arti derives).
        let dalek = ed25519_dalek::SigningKey::from_bytes(key.seed()).verifying_key().to_bytes();
        assert_eq!(key.public(), dalek);
        let host = key.hostname();
        assert_eq!(host.len(), 56 + ".onion".len());
        assert!(host.ends_with("d.onion"), "version byte 3 ends the address in 'd': {host}");
        // Different identities, different onions; the same identity, the same onion.
        assert_ne!(OnionKey::derive(&IdentityKey::from_bytes(&[6; 32])).hostname(), host);
        assert_eq!(OnionKey::derive(&id).hostname(), host);
        // The onion key is not the identity key.
        assert_ne!(key.public(), id.public().to_bytes());
    }

    /// C tor 0.4.9 (Debian 12), given the secret key file of seed `0, 1, …, 31`, wrote this
    /// `hostname`.
    #[test]
    fn address_matches_c_tor() {
        let key = OnionKey { seed: Zeroizing::new(std::array::from_fn(|i| i as u8)) };
        assert_eq!(key.hostname(), "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion");
    }

    #[test]
    fn tor_service_dir_files() {
        let dir = tempfile::tempdir().unwrap();
        let key = OnionKey::derive(&IdentityKey::from_bytes(&[9; 32]));
        key.write_tor_service_dir(dir.path()).unwrap();
        let secret = std::fs::read(dir.path().join("hs_ed25519_secret_key")).unwrap();
        assert_eq!(secret.len(), 96);
        assert_eq!(&secret[..32], b"== ed25519v1-secret: type0 ==\0\0\0");
        let public = std::fs::read(dir.path().join("hs_ed25519_public_key")).unwrap();
        assert_eq!(&public[32..], &key.public());
        assert_eq!(std::fs::read_to_string(dir.path().join("hostname")).unwrap().trim(), key.hostname());
    }
}
