//! The keystore: a trusted dealer's output on disk, and loading it back with every check.
//!
//! A committee of `n` nodes is set up by a trusted dealer ([`dealer::write_cluster`]) that
//! writes one public *cluster file* and one sealed *key file* per node:
//!
//! ```text
//! <dir>/cluster.toml     public, mode 0644: session, n, f, threshold public keys, and per node
//!                        its id, ed25519 identity, coin and encryption verification keys, addresses
//! <dir>/node-<id>.key    secret, mode 0600: the node's coin share, decryption share and identity
//!                        seed, sealed with ChaCha20-Poly1305 (see [`storage`])
//! ```
//!
//! * [`identity`]: ed25519 node identities (channel authentication).
//! * [`storage`]: the sealed file format (`BEATKEY1`), Argon2id or raw keys, [`KeySource`].
//! * [`dealer`]: [`ClusterFile`] (the TOML an operator reads and edits: addresses), the
//!   validated [`ClusterConfig`], [`NodeKeyFile`], [`write_cluster`], [`load_cluster`],
//!   [`load_node_keys`].
//!
//! ## What loading checks
//!
//! [`load_cluster`] refuses a cluster file unless: its version is 1; `n`, `f` satisfy
//! [`Params::with_f`](crate::Params::with_f); the nodes are exactly the ids `0..n`, each with a
//! distinct valid identity key and at least one address; every point is a canonical encoding in
//! the right group (BLS12-381 G1 subgroup, Ristretto255, non-weak ed25519); the coin key shares
//! lie on one polynomial of degree `f` through the coin group key; there are `f + 1` Feldman
//! commitments and every node's encryption key is the one they imply.
//!
//! [`load_node_keys`] opens the node's key file and refuses it unless its session, `n`, `f`
//! are the cluster file's, its coin and decryption shares match that node's verification keys
//! in the cluster file, and its identity seed gives that node's public identity. A key file
//! can therefore never be used with the wrong cluster file, nor a cluster file edited to
//! substitute keys go unnoticed by the node whose keys changed.
//!
//! ## What the keystore does not protect against
//!
//! The cluster file is not signed: whoever can write it can change *other* nodes' public keys
//! or addresses for this node. Protect it like any configuration (file permissions, config
//! management). The dealer sees every secret; it is trusted by definition and should run on
//! an offline machine whose copies are wiped afterwards.

pub mod dealer;
pub mod identity;
pub mod onion;
pub mod storage;

use std::path::PathBuf;

pub use dealer::{
    deal_cluster, deal_sealed, load_cluster, load_node_keys, node_key_file_name, open_node_keys, write_cluster,
    Addresses, ClusterConfig, ClusterFile, CommitteeKeys, DealSpec, NodeFileEntry, NodeInfo, NodeKeyFile,
    CLUSTER_FILE_NAME, CLUSTER_FILE_VERSION,
};
pub use identity::{IdentityKey, IdentityPublic};
pub use onion::OnionKey;
pub use storage::{KdfParams, KeySource};

use crate::crypto::CryptoError;
use crate::ParamsError;

/// What the keystore can fail with.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    /// Reading, writing or creating a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The dealer does not overwrite existing key or cluster files.
    #[error("{0} already exists; the dealer does not overwrite key files")]
    Exists(PathBuf),
    /// A file is larger than any valid one.
    #[error("{path} is larger than {max} bytes")]
    FileTooLarge {
        /// The file.
        path: PathBuf,
        /// The limit.
        max: usize,
    },
    /// A blob is too large to seal.
    #[error("a blob of {len} bytes is too large to seal (max {max})")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The sealed file is shorter than its header and tag.
    #[error("truncated key file: {len} bytes, a sealed file has at least {min}")]
    Truncated {
        /// Length found.
        len: usize,
        /// Minimum length.
        min: usize,
    },
    /// Not a BEAT sealed file.
    #[error("not a BEAT key file (bad magic)")]
    BadMagic,
    /// A sealed-file format version this build does not read.
    #[error("unsupported key file version {0} (this build reads version {v})", v = storage::FORMAT_VERSION)]
    UnsupportedVersion(u8),
    /// An unknown key-derivation id.
    #[error("unsupported key derivation id {0}")]
    UnsupportedKdf(u8),
    /// Argon2 parameters outside the accepted bounds (a hostile file could exhaust memory or time).
    #[error(
        "Argon2 parameters out of bounds: m = {m_cost_kib} KiB, t = {t_cost}, p = {p_cost} \
         (allowed: 1 <= t <= 16, 1 <= p <= 16, 8p <= m <= 262144 KiB)"
    )]
    KdfParamsOutOfBounds {
        /// Memory in KiB.
        m_cost_kib: u32,
        /// Passes.
        t_cost: u32,
        /// Lanes.
        p_cost: u32,
    },
    /// The file needs the other kind of key.
    #[error("the file is sealed with {file}, but {given} was given")]
    KeySourceMismatch {
        /// What the file needs.
        file: &'static str,
        /// What was given.
        given: &'static str,
    },
    /// The AEAD did not open: wrong passphrase or key, or a changed file.
    #[error("wrong passphrase or key, or the file was tampered with")]
    WrongKeyOrTampered,
    /// Sealing with an empty passphrase is refused.
    #[error("refusing to seal with an empty passphrase")]
    EmptyPassphrase,
    /// A raw key that is not 64 hex digits.
    #[error("a raw key must be 64 hex digits (32 bytes)")]
    BadRawKey,
    /// The decrypted key file is not a valid node key file.
    #[error("malformed node key file: {0}")]
    MalformedKeyFile(&'static str),
    /// The cluster file does not parse or fails a check.
    #[error("invalid cluster file: {0}")]
    InvalidCluster(String),
    /// The dealer was given the wrong number of key secrets, or the same secret twice.
    #[error("key secrets: {0}")]
    KeySources(String),
    /// The key file belongs to another cluster, node or key set.
    #[error("the key file does not match the cluster file: {0} differs")]
    KeyFileMismatch(&'static str),
    /// Bad committee parameters.
    #[error(transparent)]
    Params(#[from] ParamsError),
    /// Key material that does not decode or check.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}
