//! Encryption on the writing phone: XChaCha20-Poly1305 under a fresh key per file, that key
//! sealed under the family key (which only members hold). The phones that store a file see
//! only ciphertext fragments; the directory sees sizes, hashes and names.
//!
//! Every seal binds its purpose in the associated data: a file key can only be opened as a file
//! key, and chunk `i` of `n` only as chunk `i` of a file of `n` chunks under that key — a
//! storage phone that swaps, drops or reorders chunks is caught at decryption.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use zeroize::Zeroizing;

/// Bytes of a key.
pub const KEY_LEN: usize = 32;
/// Bytes of a nonce.
const NONCE_LEN: usize = 24;
/// Bytes a seal adds: nonce and tag.
pub const OVERHEAD: usize = NONCE_LEN + 16;

/// A 256-bit secret key (zeroed when dropped; never printed).
#[derive(Clone)]
pub struct Key(Zeroizing<[u8; KEY_LEN]>);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

/// Why a seal did not open.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OpenError {
    /// Too short to hold a nonce and a tag.
    #[error("sealed data of {0} bytes is too short")]
    TooShort(usize),
    /// Wrong key, or the bytes or their place were changed.
    #[error("does not decrypt: wrong family key, or the data was altered")]
    Forged,
}

impl Key {
    /// A fresh random key.
    pub fn generate() -> Self {
        let mut k = Zeroizing::new([0u8; KEY_LEN]);
        rand::rngs::OsRng.fill_bytes(&mut *k);
        Key(k)
    }

    /// From bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Key(Zeroizing::new(bytes))
    }

    /// From 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, String> {
        let mut k = Zeroizing::new([0u8; KEY_LEN]);
        hex::decode_to_slice(text.trim(), &mut *k).map_err(|e| format!("a key is 64 hex digits: {e}"))?;
        Ok(Key(k))
    }

    /// As 64 hex digits (for the member's key file).
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(*self.0))
    }

    fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let cipher = XChaCha20Poly1305::new((&*self.0).into());
        let ct = cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad })
            .expect("XChaCha20-Poly1305 encrypts any length a Vec holds");
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
        if sealed.len() < OVERHEAD {
            return Err(OpenError::TooShort(sealed.len()));
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        XChaCha20Poly1305::new((&*self.0).into())
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad })
            .map_err(|_| OpenError::Forged)
    }

    /// Seal a file key under this (family) key.
    pub fn wrap(&self, file_key: &Key) -> Vec<u8> {
        self.seal(b"beat-vault/v1/file-key", &file_key.0[..])
    }

    /// Open a file key sealed by [`Key::wrap`].
    pub fn unwrap_key(&self, wrapped: &[u8]) -> Result<Key, OpenError> {
        let k = Zeroizing::new(self.open(b"beat-vault/v1/file-key", wrapped)?);
        let bytes: [u8; KEY_LEN] = k.as_slice().try_into().map_err(|_| OpenError::Forged)?;
        Ok(Key::from_bytes(bytes))
    }

    /// Seal chunk `index` of a file of `count` chunks under this (file) key.
    pub fn seal_chunk(&self, index: u32, count: u32, plaintext: &[u8]) -> Vec<u8> {
        self.seal(&chunk_aad(index, count), plaintext)
    }

    /// Open chunk `index` of `count`.
    pub fn open_chunk(&self, index: u32, count: u32, sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
        self.open(&chunk_aad(index, count), sealed)
    }
}

fn chunk_aad(index: u32, count: u32) -> Vec<u8> {
    let mut aad = b"beat-vault/v1/chunk".to_vec();
    aad.extend_from_slice(&index.to_be_bytes());
    aad.extend_from_slice(&count.to_be_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_open_only_in_their_place_under_their_key() {
        let family = Key::generate();
        let file = Key::generate();
        let wrapped = family.wrap(&file);
        let file2 = family.unwrap_key(&wrapped).unwrap();
        let c = file.seal_chunk(1, 3, b"hello");
        assert_eq!(file2.open_chunk(1, 3, &c).unwrap(), b"hello");
        assert_eq!(file.open_chunk(0, 3, &c), Err(OpenError::Forged), "moved");
        assert_eq!(file.open_chunk(1, 2, &c), Err(OpenError::Forged), "file truncated");
        assert_eq!(Key::generate().open_chunk(1, 3, &c), Err(OpenError::Forged), "other key");
        assert_eq!(Key::generate().unwrap_key(&wrapped).unwrap_err(), OpenError::Forged, "other family");
        // A file key does not open as a chunk, nor a chunk as a file key.
        assert!(family.open_chunk(0, 1, &wrapped).is_err());
        let mut flipped = c.clone();
        flipped[30] ^= 1;
        assert_eq!(file.open_chunk(1, 3, &flipped), Err(OpenError::Forged));
        assert_eq!(file.open_chunk(1, 3, &c[..10]), Err(OpenError::TooShort(10)));
        assert_eq!(format!("{family:?}"), "Key(..)");
        assert_eq!(Key::from_hex(&family.to_hex()).unwrap().0, family.0);
    }
}
