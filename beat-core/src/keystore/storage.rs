//! Sealing secret blobs at rest: ChaCha20-Poly1305 under a key from a passphrase (Argon2id)
//! or a raw 32-byte key.
//!
//! ## File format (version 1)
//!
//! ```text
//! offset size  field
//!      0    8  magic "BEATKEY1"
//!      8    1  format version = 1
//!      9    1  kdf id: 0 = raw key, 1 = Argon2id (v0x13)
//!     10    4  Argon2 m_cost in KiB, u32 big-endian   (0 for a raw key)
//!     14    4  Argon2 t_cost (passes), u32 big-endian (0 for a raw key)
//!     18    4  Argon2 p_cost (lanes), u32 big-endian  (0 for a raw key)
//!     22   16  salt (random)
//!     38   12  nonce (random)
//!     50    …  ChaCha20-Poly1305 ciphertext of the blob, then its 16-byte tag
//! ```
//!
//! The whole 50-byte header is the AEAD's associated data, so changing any byte of the file
//! (the KDF parameters included) makes opening fail.
//!
//! ## Keys
//!
//! * `Passphrase`: `key = Argon2id(passphrase, salt, m, t, p)`, 32 bytes. [`KdfParams::OWASP`]
//!   (m = 19 MiB, t = 2, p = 1) is the default for sealing. When *opening*, the parameters come
//!   from the file, which may be hostile: they must lie within [`KdfParams::new`]'s bounds
//!   (m ≤ 256 MiB, t ≤ 16, p ≤ 16) or the file is refused before any work is done.
//! * `Raw`: a 32-byte key from a secret manager (hex in an environment variable or a mounted
//!   file). The file key is `tagged_hash("BEAT/keystore/raw-key", raw, salt)`, so every file
//!   gets its own key and the random nonce is never reused under one key.
//!
//! A file sealed with one kind of key cannot be opened with the other; the error says which
//! kind the file needs. Every failure of the AEAD — wrong passphrase, wrong key, any change to
//! the file — is the same error, [`KeystoreError::WrongKeyOrTampered`]: the format cannot
//! tell them apart, and does not try.
//!
//! Derived keys and decrypted blobs live in [`Zeroizing`] buffers.

use std::io::{Read as _, Write as _};
use std::path::Path;

use argon2::{Algorithm, Argon2, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use zeroize::Zeroizing;

use super::KeystoreError;

/// First eight bytes of every sealed file.
pub const MAGIC: &[u8; 8] = b"BEATKEY1";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u8 = 1;
/// KDF id of a raw 32-byte key.
const KDF_RAW: u8 = 0;
/// KDF id of Argon2id.
const KDF_ARGON2ID: u8 = 1;
/// Salt length.
const SALT_LEN: usize = 16;
/// ChaCha20-Poly1305 nonce length.
const NONCE_LEN: usize = 12;
/// Header length: magic, version, kdf id, three u32 parameters, salt, nonce.
pub const HEADER_LEN: usize = 8 + 1 + 1 + 12 + SALT_LEN + NONCE_LEN;
/// Poly1305 tag length.
const TAG_LEN: usize = 16;
/// Largest sealed file this module reads (key files are a few hundred bytes).
pub const MAX_SEALED_FILE_BYTES: usize = 1 << 20;
/// Largest raw-key file read by [`KeySource::raw_from_file`].
const MAX_RAW_KEY_FILE_BYTES: usize = 1024;
/// Tag of the per-file key derived from a raw key.
const RAW_KEY_TAG: &str = "BEAT/keystore/raw-key";

/// Where the sealing key comes from.
pub enum KeySource {
    /// A passphrase, stretched with Argon2id.
    Passphrase(Zeroizing<String>),
    /// A raw 32-byte key (from a secret manager, an environment variable, a mounted file).
    Raw(Zeroizing<[u8; 32]>),
}

impl KeySource {
    /// A passphrase key source.
    pub fn passphrase(passphrase: impl Into<String>) -> Self {
        KeySource::Passphrase(Zeroizing::new(passphrase.into()))
    }

    /// A raw key from 64 hex digits (surrounding whitespace ignored).
    pub fn raw_from_hex(hex_key: &str) -> Result<Self, KeystoreError> {
        let mut key = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(hex_key.trim(), key.as_mut_slice()).map_err(|_| KeystoreError::BadRawKey)?;
        Ok(KeySource::Raw(key))
    }

    /// A raw key read from a file holding 64 hex digits (a mounted secret).
    pub fn raw_from_file(path: &Path) -> Result<Self, KeystoreError> {
        let contents = Zeroizing::new(read_capped(path, MAX_RAW_KEY_FILE_BYTES)?);
        let text = std::str::from_utf8(&contents).map_err(|_| KeystoreError::BadRawKey)?;
        Self::raw_from_hex(text)
    }

    fn kind(&self) -> &'static str {
        match self {
            KeySource::Passphrase(_) => "a passphrase",
            KeySource::Raw(_) => "a raw key",
        }
    }
}

impl KeySource {
    /// Whether two sources are the same secret (constant time in the secret's bytes).
    pub fn same_secret(&self, other: &KeySource) -> bool {
        use subtle::ConstantTimeEq;
        match (self, other) {
            (KeySource::Passphrase(a), KeySource::Passphrase(b)) => bool::from(a.as_bytes().ct_eq(b.as_bytes())),
            (KeySource::Raw(a), KeySource::Raw(b)) => bool::from(a[..].ct_eq(&b[..])),
            _ => false,
        }
    }
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Passphrase(_) => f.write_str("KeySource::Passphrase(..)"),
            KeySource::Raw(_) => f.write_str("KeySource::Raw(..)"),
        }
    }
}

/// Argon2id cost parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_cost_kib: u32,
    /// Number of passes.
    pub t_cost: u32,
    /// Degree of parallelism (lanes).
    pub p_cost: u32,
}

impl KdfParams {
    /// OWASP's recommendation for Argon2id: 19 MiB, 2 passes, 1 lane.
    pub const OWASP: KdfParams = KdfParams { m_cost_kib: 19 * 1024, t_cost: 2, p_cost: 1 };
    /// Most memory a file may ask for (256 MiB): a hostile file must not exhaust memory.
    pub const MAX_M_COST_KIB: u32 = 256 * 1024;
    /// Most passes a file may ask for.
    pub const MAX_T_COST: u32 = 16;
    /// Most lanes a file may ask for.
    pub const MAX_P_COST: u32 = 16;

    /// Checked parameters: `1 ≤ t ≤ 16`, `1 ≤ p ≤ 16`, `8·p ≤ m ≤ 256 MiB` (Argon2 needs 8 KiB per lane).
    pub fn new(m_cost_kib: u32, t_cost: u32, p_cost: u32) -> Result<Self, KeystoreError> {
        let ok = (1..=Self::MAX_T_COST).contains(&t_cost)
            && (1..=Self::MAX_P_COST).contains(&p_cost)
            && (8 * p_cost..=Self::MAX_M_COST_KIB).contains(&m_cost_kib);
        if !ok {
            return Err(KeystoreError::KdfParamsOutOfBounds { m_cost_kib, t_cost, p_cost });
        }
        Ok(KdfParams { m_cost_kib, t_cost, p_cost })
    }

    fn derive(&self, passphrase: &[u8], salt: &[u8]) -> Result<Zeroizing<[u8; 32]>, KeystoreError> {
        let out_of_bounds = || KeystoreError::KdfParamsOutOfBounds {
            m_cost_kib: self.m_cost_kib,
            t_cost: self.t_cost,
            p_cost: self.p_cost,
        };
        let params =
            argon2::Params::new(self.m_cost_kib, self.t_cost, self.p_cost, Some(32)).map_err(|_| out_of_bounds())?;
        let mut key = Zeroizing::new([0u8; 32]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(passphrase, salt, key.as_mut_slice())
            .map_err(|_| out_of_bounds())?;
        Ok(key)
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        Self::OWASP
    }
}

/// The parsed header of a sealed file.
struct Header {
    kdf: u8,
    params: KdfParams,
    salt: [u8; SALT_LEN],
    nonce: [u8; NONCE_LEN],
}

impl Header {
    fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..8].copy_from_slice(MAGIC);
        out[8] = FORMAT_VERSION;
        out[9] = self.kdf;
        out[10..14].copy_from_slice(&self.params.m_cost_kib.to_be_bytes());
        out[14..18].copy_from_slice(&self.params.t_cost.to_be_bytes());
        out[18..22].copy_from_slice(&self.params.p_cost.to_be_bytes());
        out[22..38].copy_from_slice(&self.salt);
        out[38..50].copy_from_slice(&self.nonce);
        out
    }

    /// Parse and check the header of `file` (magic, length, version, kdf, bounds).
    fn decode(file: &[u8]) -> Result<Header, KeystoreError> {
        if file.len() >= MAGIC.len() && &file[..MAGIC.len()] != MAGIC {
            return Err(KeystoreError::BadMagic);
        }
        if file.len() < HEADER_LEN + TAG_LEN {
            return Err(KeystoreError::Truncated { len: file.len(), min: HEADER_LEN + TAG_LEN });
        }
        if file[8] != FORMAT_VERSION {
            return Err(KeystoreError::UnsupportedVersion(file[8]));
        }
        let u32_at = |at: usize| u32::from_be_bytes([file[at], file[at + 1], file[at + 2], file[at + 3]]);
        let (m, t, p) = (u32_at(10), u32_at(14), u32_at(18));
        let kdf = file[9];
        let params = match kdf {
            KDF_RAW if (m, t, p) == (0, 0, 0) => KdfParams { m_cost_kib: 0, t_cost: 0, p_cost: 0 },
            KDF_RAW => return Err(KeystoreError::KdfParamsOutOfBounds { m_cost_kib: m, t_cost: t, p_cost: p }),
            KDF_ARGON2ID => KdfParams::new(m, t, p)?,
            other => return Err(KeystoreError::UnsupportedKdf(other)),
        };
        let mut salt = [0u8; SALT_LEN];
        salt.copy_from_slice(&file[22..38]);
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&file[38..50]);
        Ok(Header { kdf, params, salt, nonce })
    }

    fn file_key(&self, key: &KeySource) -> Result<Zeroizing<[u8; 32]>, KeystoreError> {
        match (self.kdf, key) {
            (KDF_ARGON2ID, KeySource::Passphrase(p)) => self.params.derive(p.as_bytes(), &self.salt),
            (KDF_RAW, KeySource::Raw(raw)) => {
                Ok(Zeroizing::new(crate::crypto::hash::tagged_hash(RAW_KEY_TAG, &[raw.as_slice(), &self.salt])))
            }
            (kdf, given) => Err(KeystoreError::KeySourceMismatch {
                file: if kdf == KDF_RAW { "a raw key" } else { "a passphrase" },
                given: given.kind(),
            }),
        }
    }
}

/// Seal `plaintext` under `key` (`kdf` is used for a passphrase and ignored for a raw key).
pub fn seal(
    plaintext: &[u8],
    key: &KeySource,
    kdf: &KdfParams,
    rng: &mut impl rand_core::CryptoRngCore,
) -> Result<Vec<u8>, KeystoreError> {
    let (kdf_id, params) = match key {
        KeySource::Passphrase(p) if p.is_empty() => return Err(KeystoreError::EmptyPassphrase),
        KeySource::Passphrase(_) => (KDF_ARGON2ID, KdfParams::new(kdf.m_cost_kib, kdf.t_cost, kdf.p_cost)?),
        KeySource::Raw(_) => (KDF_RAW, KdfParams { m_cost_kib: 0, t_cost: 0, p_cost: 0 }),
    };
    let mut header = Header { kdf: kdf_id, params, salt: [0; SALT_LEN], nonce: [0; NONCE_LEN] };
    rng.fill_bytes(&mut header.salt);
    rng.fill_bytes(&mut header.nonce);
    let file_key = header.file_key(key)?;
    let aad = header.encode();
    let cipher = ChaCha20Poly1305::new(Key::from_slice(file_key.as_slice()));
    let ciphertext = cipher
        .encrypt(Nonce::from_slice(&header.nonce), Payload { msg: plaintext, aad: &aad })
        .map_err(|_| KeystoreError::TooLarge { len: plaintext.len(), max: MAX_SEALED_FILE_BYTES })?;
    let mut out = Vec::with_capacity(HEADER_LEN + ciphertext.len());
    out.extend_from_slice(&aad);
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

/// Open a sealed blob. Never panics on any input.
pub fn open(sealed: &[u8], key: &KeySource) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
    let header = Header::decode(sealed)?;
    let file_key = header.file_key(key)?;
    let cipher = ChaCha20Poly1305::new(Key::from_slice(file_key.as_slice()));
    let (aad, ciphertext) = sealed.split_at(HEADER_LEN);
    cipher
        .decrypt(Nonce::from_slice(&header.nonce), Payload { msg: ciphertext, aad })
        .map(Zeroizing::new)
        .map_err(|_| KeystoreError::WrongKeyOrTampered)
}

/// [`seal`] and write to a new file (mode 0600 on unix; refuses to overwrite), synced to disk.
pub fn seal_to_file(
    path: &Path,
    plaintext: &[u8],
    key: &KeySource,
    kdf: &KdfParams,
    rng: &mut impl rand_core::CryptoRngCore,
) -> Result<(), KeystoreError> {
    let sealed = seal(plaintext, key, kdf, rng)?;
    write_new_file(path, &sealed, true)
}

/// Read a sealed file (at most [`MAX_SEALED_FILE_BYTES`]) and [`open`] it.
pub fn open_file(path: &Path, key: &KeySource) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
    let sealed = read_capped(path, MAX_SEALED_FILE_BYTES)?;
    open(&sealed, key)
}

/// Read a whole file, refusing one larger than `max` bytes. The buffer is allocated once, so
/// a secret read through it leaves no stray copies behind reallocations.
pub(crate) fn read_capped(path: &Path, max: usize) -> Result<Vec<u8>, KeystoreError> {
    let io = |source| KeystoreError::Io { path: path.to_path_buf(), source };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut buf = Vec::with_capacity(max + 1);
    file.take(max as u64 + 1).read_to_end(&mut buf).map_err(io)?;
    if buf.len() > max {
        return Err(KeystoreError::FileTooLarge { path: path.to_path_buf(), max });
    }
    Ok(buf)
}

/// Create directory `path` (and its parents) readable by its owner only (mode 0700 on unix).
/// An existing directory is kept, and narrowed to 0700 if it was readable by others: it holds
/// a node's store, whose committed log and key-dependent state are nobody else's business.
pub fn create_private_dir(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(path)?;
        let meta = std::fs::metadata(path)?;
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(())
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(path)
}

/// Create `path` (which must not exist), write `bytes`, sync the file and its directory.
/// `secret` files get mode 0600 on unix, others 0644.
pub fn write_new_file(path: &Path, bytes: &[u8], secret: bool) -> Result<(), KeystoreError> {
    let io = |source| KeystoreError::Io { path: path.to_path_buf(), source };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file = options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => KeystoreError::Exists(path.to_path_buf()),
        _ => io(e),
    })?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    #[cfg(unix)]
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|source| KeystoreError::Io { path: dir.to_path_buf(), source })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    /// Cheap Argon2 parameters so the exhaustive tests stay fast.
    fn fast() -> KdfParams {
        KdfParams::new(64, 1, 1).unwrap()
    }

    fn rng() -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(7)
    }

    const SECRET: &[u8] = b"the coin share, the decryption share and the identity seed";

    #[test]
    fn round_trip_with_passphrase_and_raw_key() {
        let pass = KeySource::passphrase("correct horse battery staple");
        let sealed = seal(SECRET, &pass, &fast(), &mut rng()).unwrap();
        assert_eq!(sealed.len(), HEADER_LEN + SECRET.len() + TAG_LEN);
        assert_eq!(&sealed[..8], MAGIC);
        assert_eq!(sealed[9], KDF_ARGON2ID);
        assert_eq!(&sealed[10..22], &[0, 0, 0, 64, 0, 0, 0, 1, 0, 0, 0, 1]);
        // The plaintext does not appear in the file.
        assert!(!sealed.windows(8).any(|w| w == &SECRET[..8]));
        assert_eq!(open(&sealed, &pass).unwrap().as_slice(), SECRET);

        let raw = KeySource::raw_from_hex(&"ab".repeat(32)).unwrap();
        let sealed_raw = seal(SECRET, &raw, &KdfParams::OWASP, &mut rng()).unwrap();
        assert_eq!(sealed_raw[9], KDF_RAW);
        assert_eq!(&sealed_raw[10..22], &[0; 12]);
        assert_eq!(open(&sealed_raw, &raw).unwrap().as_slice(), SECRET);
        // Two seals of the same blob differ (fresh salt and nonce).
        let mut other_rng = ChaCha20Rng::seed_from_u64(8);
        assert_ne!(seal(SECRET, &raw, &fast(), &mut other_rng).unwrap(), sealed_raw);
        // Empty blobs seal too.
        assert!(open(&seal(b"", &raw, &fast(), &mut rng()).unwrap(), &raw).unwrap().is_empty());
    }

    #[test]
    fn wrong_passphrase_or_key_is_refused() {
        let sealed = seal(SECRET, &KeySource::passphrase("right"), &fast(), &mut rng()).unwrap();
        let err = open(&sealed, &KeySource::passphrase("wrong")).unwrap_err();
        assert!(matches!(err, KeystoreError::WrongKeyOrTampered));
        assert_eq!(err.to_string(), "wrong passphrase or key, or the file was tampered with");
        assert!(matches!(open(&sealed, &KeySource::passphrase("Right")), Err(KeystoreError::WrongKeyOrTampered)));

        let raw = KeySource::Raw(Zeroizing::new([1; 32]));
        let sealed_raw = seal(SECRET, &raw, &fast(), &mut rng()).unwrap();
        let mut other = [1u8; 32];
        other[31] = 2;
        assert!(matches!(
            open(&sealed_raw, &KeySource::Raw(Zeroizing::new(other))),
            Err(KeystoreError::WrongKeyOrTampered)
        ));
        // The kinds of key do not mix, and the error says what the file needs.
        let err = open(&sealed_raw, &KeySource::passphrase("right")).unwrap_err();
        assert!(matches!(err, KeystoreError::KeySourceMismatch { file: "a raw key", given: "a passphrase" }), "{err}");
        let err = open(&sealed, &raw).unwrap_err();
        assert!(matches!(err, KeystoreError::KeySourceMismatch { file: "a passphrase", given: "a raw key" }), "{err}");
        assert!(matches!(
            seal(SECRET, &KeySource::passphrase(""), &fast(), &mut rng()),
            Err(KeystoreError::EmptyPassphrase)
        ));
    }

    /// Every single-byte change and every truncation of a sealed file fails cleanly.
    fn check_every_corruption(sealed: &[u8], key: &KeySource) {
        for at in 0..sealed.len() {
            for mask in [0x01u8, 0x80, 0xff] {
                let mut bad = sealed.to_vec();
                bad[at] ^= mask;
                let err = open(&bad, key).expect_err("a changed byte must not open");
                // The header's own checks name the field; every other change is an AEAD failure.
                let expected = match at {
                    0..=7 => matches!(err, KeystoreError::BadMagic),
                    8 => matches!(err, KeystoreError::UnsupportedVersion(_)),
                    // Another kdf id: unknown, the other kind of key, or the other kind's
                    // parameters (a raw-key file carries zeros, an Argon2 file does not).
                    9 => matches!(
                        err,
                        KeystoreError::UnsupportedKdf(_)
                            | KeystoreError::KeySourceMismatch { .. }
                            | KeystoreError::KdfParamsOutOfBounds { .. }
                    ),
                    10..=21 => {
                        matches!(err, KeystoreError::KdfParamsOutOfBounds { .. } | KeystoreError::WrongKeyOrTampered)
                    }
                    _ => matches!(err, KeystoreError::WrongKeyOrTampered),
                };
                assert!(expected, "byte {at} ^ {mask:#x}: {err:?}");
            }
        }
        for len in 0..sealed.len() {
            let err = open(&sealed[..len], key).expect_err("a truncated file must not open");
            let expected = if len < HEADER_LEN + TAG_LEN {
                matches!(err, KeystoreError::Truncated { .. })
            } else {
                matches!(err, KeystoreError::WrongKeyOrTampered)
            };
            assert!(expected, "truncated to {len}: {err:?}");
        }
        // Appended bytes are a change too.
        let mut longer = sealed.to_vec();
        longer.push(0);
        assert!(matches!(open(&longer, key), Err(KeystoreError::WrongKeyOrTampered)));
        assert_eq!(open(sealed, key).unwrap().as_slice(), SECRET);
    }

    #[test]
    fn every_byte_flip_and_truncation_is_an_error() {
        let pass = KeySource::passphrase("pw");
        check_every_corruption(&seal(SECRET, &pass, &fast(), &mut rng()).unwrap(), &pass);
        let raw = KeySource::Raw(Zeroizing::new([9; 32]));
        check_every_corruption(&seal(SECRET, &raw, &fast(), &mut rng()).unwrap(), &raw);
    }

    #[test]
    fn hostile_kdf_parameters_are_refused_before_any_work() {
        let pass = KeySource::passphrase("pw");
        let sealed = seal(SECRET, &pass, &fast(), &mut rng()).unwrap();
        // 4 GiB of memory, 2^32 − 1 passes, 0 lanes, 255 lanes: refused by the bounds, not run.
        for (at, value) in [(10, u32::MAX), (10, KdfParams::MAX_M_COST_KIB + 1), (14, u32::MAX), (18, 0), (18, 255)] {
            let mut bad = sealed.clone();
            bad[at..at + 4].copy_from_slice(&value.to_be_bytes());
            assert!(matches!(open(&bad, &pass), Err(KeystoreError::KdfParamsOutOfBounds { .. })), "{at}={value}");
        }
        // Raw-key files must carry zero parameters.
        let raw = KeySource::Raw(Zeroizing::new([9; 32]));
        let mut bad = seal(SECRET, &raw, &fast(), &mut rng()).unwrap();
        bad[13] = 1;
        assert!(matches!(open(&bad, &raw), Err(KeystoreError::KdfParamsOutOfBounds { .. })));
        // Sealing refuses out-of-bounds parameters too.
        let huge = KdfParams { m_cost_kib: u32::MAX, t_cost: 1, p_cost: 1 };
        assert!(matches!(seal(SECRET, &pass, &huge, &mut rng()), Err(KeystoreError::KdfParamsOutOfBounds { .. })));
        assert!(KdfParams::new(7, 1, 1).is_err());
        assert!(KdfParams::new(8, 1, 1).is_ok());
        assert_eq!(KdfParams::new(KdfParams::OWASP.m_cost_kib, 2, 1).ok(), Some(KdfParams::OWASP));
    }

    #[cfg(unix)]
    #[test]
    fn private_dirs_are_owner_only() {
        use std::os::unix::fs::PermissionsExt as _;
        let tmp = tempfile::tempdir().unwrap();
        let fresh = tmp.path().join("a/b");
        create_private_dir(&fresh).unwrap();
        assert_eq!(std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777, 0o700);
        let open = tmp.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        create_private_dir(&open).unwrap();
        assert_eq!(std::fs::metadata(&open).unwrap().permissions().mode() & 0o777, 0o700);
    }

    #[test]
    fn files_round_trip_with_private_mode_and_no_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node-0.key");
        let pass = KeySource::passphrase("pw");
        seal_to_file(&path, SECRET, &pass, &fast(), &mut rng()).unwrap();
        assert_eq!(open_file(&path, &pass).unwrap().as_slice(), SECRET);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert!(matches!(
            seal_to_file(&path, b"other", &pass, &fast(), &mut rng()),
            Err(KeystoreError::Exists(p)) if p == path
        ));
        assert_eq!(open_file(&path, &pass).unwrap().as_slice(), SECRET);

        let missing = dir.path().join("missing.key");
        let err = open_file(&missing, &pass).unwrap_err();
        assert!(matches!(err, KeystoreError::Io { .. }));
        assert!(err.to_string().contains("missing.key"), "{err}");

        let big = dir.path().join("big.key");
        std::fs::write(&big, vec![0u8; MAX_SEALED_FILE_BYTES + 1]).unwrap();
        assert!(matches!(open_file(&big, &pass), Err(KeystoreError::FileTooLarge { .. })));
    }

    #[test]
    fn raw_keys_from_hex_and_files() {
        let hex_key = "0f".repeat(32);
        let KeySource::Raw(k) = KeySource::raw_from_hex(&format!("  {hex_key}\n")).unwrap() else {
            panic!("expected a raw key");
        };
        assert_eq!(*k, [0x0f; 32]);
        for bad in ["", "0f", &"0f".repeat(31), &"0f".repeat(33), &"zz".repeat(32)] {
            assert!(matches!(KeySource::raw_from_hex(bad), Err(KeystoreError::BadRawKey)), "{bad}");
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.hex");
        std::fs::write(&path, format!("{hex_key}\n")).unwrap();
        let from_file = KeySource::raw_from_file(&path).unwrap();
        let sealed = seal(SECRET, &from_file, &fast(), &mut rng()).unwrap();
        assert_eq!(open(&sealed, &KeySource::raw_from_hex(&hex_key).unwrap()).unwrap().as_slice(), SECRET);
        std::fs::write(&path, [0xffu8, 0xfe]).unwrap();
        assert!(matches!(KeySource::raw_from_file(&path), Err(KeystoreError::BadRawKey)));
        std::fs::write(&path, vec![b'0'; 4096]).unwrap();
        assert!(matches!(KeySource::raw_from_file(&path), Err(KeystoreError::FileTooLarge { .. })));
    }

    #[test]
    fn key_sources_do_not_print_secrets() {
        let pass = KeySource::passphrase("hunter2-very-secret");
        assert_eq!(format!("{pass:?}"), "KeySource::Passphrase(..)");
        let raw = KeySource::Raw(Zeroizing::new([0xab; 32]));
        let dbg = format!("{raw:?}");
        assert_eq!(dbg, "KeySource::Raw(..)");
        assert!(!dbg.contains("abab"));
    }
}
