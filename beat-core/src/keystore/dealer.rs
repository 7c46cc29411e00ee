//! Trusted-dealer setup of a committee, the cluster file, and the node key files.
//!
//! ## The cluster file (`cluster.toml`, public)
//!
//! ```toml
//! version = 2
//! session = "<64 hex digits>"                                       # the dealer's base session
//! n = 4
//! f = 1
//! coin_group_key = "<96 hex digits: BLS12-381 G1, compressed>"      # pk = g1^p(0)
//! encryption_commitments = ["<64 hex: Ristretto255>", ...]          # Feldman C_0 .. C_f
//!
//! [consensus]                     # fixed at keygen: decides validity (beat::Settings)
//! variant = "BEAT0"
//! batch_size = 1000
//! max_tx_size = 65536
//! max_proposal_bytes = 4194304
//! dedup_epochs = 64
//!
//! [[nodes]]
//! id = 0
//! identity = "<64 hex: ed25519 public key>"
//! coin_key = "<96 hex: pk_0 = g1^p(1)>"
//! encryption_key = "<64 hex: h_0 = g^x_0>"                          # implied by the commitments
//!
//! [nodes.addresses]
//! clearnet = "127.0.0.1:7000"
//! tor = "xxxx.onion:7000"                                           # optional
//! i2p = "xxxx.b32.i2p:7000"                                         # optional
//! ```
//!
//! Operators may edit the addresses; everything else is key material or consensus settings,
//! checked on load ([`ClusterConfig::from_file`] lists the checks). Unknown fields are refused,
//! so a misspelt key is an error rather than silently ignored. The committee's session id is
//! the base `session` bound to `n`, `f` and `[consensus]`
//! ([`Settings::bind_session`](crate::beat::Settings::bind_session)); each key file records
//! it, so a node whose cluster file has other consensus settings refuses to start.
//!
//! ## The node key file (`node-<id>.key`, secret)
//!
//! The plaintext is a fixed 141-byte layout, sealed by [`storage`]:
//!
//! ```text
//! offset size  field
//!      0    1  format = 1
//!      1   32  session id
//!     33    4  node id, u32 big-endian
//!     37    4  n, u32 big-endian
//!     41    4  f, u32 big-endian
//!     45   32  coin secret share (BLS12-381 scalar, canonical little-endian)
//!     77   32  decryption secret share (Ristretto255 scalar, canonical little-endian)
//!    109   32  ed25519 identity seed
//! ```

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::identity::{IdentityKey, IdentityPublic};
use super::storage::{self, KdfParams, KeySource};
use super::KeystoreError;
use crate::beat::keys::{NodeKeys, PublicKeys};
use crate::beat::Settings;
use crate::crypto::coin::{CoinPublicKey, CoinSecretShare, G1_COMPRESSED_LEN};
use crate::crypto::elgamal;
use crate::{NodeId, Params, SessionId};

/// Name of the cluster file the dealer writes.
pub const CLUSTER_FILE_NAME: &str = "cluster.toml";
/// The cluster file version this build writes and reads (2: with `[consensus]`).
pub const CLUSTER_FILE_VERSION: u32 = 2;
/// Largest cluster file read (a 64-node cluster file is about 30 KB).
const MAX_CLUSTER_FILE_BYTES: usize = 1 << 20;
/// Format byte of the node key file plaintext.
const NODE_KEY_FORMAT: u8 = 1;
/// Length of the node key file plaintext.
const NODE_KEY_LEN: usize = 1 + 32 + 3 * 4 + 3 * 32;
/// Longest address accepted.
const MAX_ADDRESS_LEN: usize = 255;

/// The name of node `id`'s key file: `node-<id>.key`.
pub fn node_key_file_name(id: NodeId) -> String {
    format!("node-{id}.key")
}

/// Where a node can be reached, per transport. At least one must be set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Addresses {
    /// TCP `host:port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clearnet: Option<String>,
    /// Tor onion service `xxxx.onion:port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tor: Option<String>,
    /// I2P destination (`xxxx.b32.i2p:port`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub i2p: Option<String>,
}

impl Addresses {
    /// Only a clearnet address.
    pub fn clearnet(address: impl Into<String>) -> Self {
        Addresses { clearnet: Some(address.into()), ..Addresses::default() }
    }

    /// At least one address; each non-empty, at most 255 characters, no whitespace or control characters.
    fn check(&self, id: NodeId) -> Result<(), KeystoreError> {
        let all = [("clearnet", &self.clearnet), ("tor", &self.tor), ("i2p", &self.i2p)];
        if all.iter().all(|(_, a)| a.is_none()) {
            return Err(KeystoreError::InvalidCluster(format!("node {id}: no address (set clearnet, tor or i2p)")));
        }
        for (kind, address) in all {
            if let Some(a) = address {
                if a.is_empty() || a.len() > MAX_ADDRESS_LEN || a.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    return Err(KeystoreError::InvalidCluster(format!("node {id}: invalid {kind} address {a:?}")));
                }
            }
        }
        Ok(())
    }
}

/// The cluster file as written on disk (TOML, hex strings). Validate it with
/// [`ClusterConfig::from_file`] before use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterFile {
    /// [`CLUSTER_FILE_VERSION`].
    pub version: u32,
    /// The dealer's base session id, 64 hex digits (the committee's session binds it to `n`,
    /// `f` and `consensus`).
    pub session: String,
    /// Committee size.
    pub n: usize,
    /// Faults tolerated.
    pub f: usize,
    /// The settings that decide validity, fixed at keygen.
    pub consensus: Settings,
    /// Coin group key `g1^p(0)`, compressed G1, 96 hex digits.
    pub coin_group_key: String,
    /// Feldman commitments `C_0 .. C_f` of the encryption key, compressed Ristretto255, 64 hex digits each.
    pub encryption_commitments: Vec<String>,
    /// One entry per node.
    pub nodes: Vec<NodeFileEntry>,
}

/// One node in the cluster file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeFileEntry {
    /// Node id, `0..n`.
    pub id: NodeId,
    /// ed25519 identity public key, 64 hex digits.
    pub identity: String,
    /// Coin public key share `g1^p(id + 1)`, 96 hex digits.
    pub coin_key: String,
    /// Encryption verification key `h_id`, 64 hex digits (implied by the commitments; checked).
    pub encryption_key: String,
    /// Where the node listens.
    pub addresses: Addresses,
}

/// A validated cluster file.
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// The dealer's base session (what the cluster file records).
    pub base_session: SessionId,
    /// Session (bound to parameters and settings), parameters, settings and threshold public keys.
    pub public: PublicKeys,
    /// Every node, indexed by id.
    pub nodes: Vec<NodeInfo>,
}

/// A node's public identity and addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeInfo {
    /// Its id.
    pub id: NodeId,
    /// Its ed25519 identity.
    pub identity: IdentityPublic,
    /// Where it listens.
    pub addresses: Addresses,
}

fn hex_array<const N: usize>(s: &str, what: &dyn std::fmt::Display) -> Result<[u8; N], KeystoreError> {
    let mut out = [0u8; N];
    hex::decode_to_slice(s, &mut out)
        .map_err(|_| KeystoreError::InvalidCluster(format!("{what}: expected {} hex digits", 2 * N)))?;
    Ok(out)
}

/// The threshold public keys from their hex forms, checked: the coin key shares (named for
/// errors) lie on one degree-`f` polynomial through the group key; `f + 1` encryption
/// commitments that decode.
fn threshold_keys(
    params: Params,
    coin_group_key: &str,
    coin_keys: &[(String, &str)],
    encryption_commitments: &[String],
) -> Result<(CoinPublicKey, elgamal::PublicKey), KeystoreError> {
    let invalid = KeystoreError::InvalidCluster;
    let group_key: [u8; G1_COMPRESSED_LEN] = hex_array(coin_group_key, &"coin_group_key")?;
    let shares =
        coin_keys.iter().map(|(what, k)| hex_array::<G1_COMPRESSED_LEN>(k, what)).collect::<Result<Vec<_>, _>>()?;
    let coin = CoinPublicKey::from_compressed(&group_key, &shares, params.f)
        .map_err(|e| invalid(format!("coin keys: {e}")))?;
    if encryption_commitments.len() != params.f + 1 {
        return Err(invalid(format!(
            "{} encryption_commitments, but f + 1 = {}",
            encryption_commitments.len(),
            params.f + 1
        )));
    }
    let commitments = encryption_commitments
        .iter()
        .enumerate()
        .map(|(j, c)| hex_array::<32>(c, &format_args!("encryption_commitments[{j}]")))
        .collect::<Result<Vec<_>, _>>()?;
    let encryption = elgamal::PublicKey::from_compressed_commitments(&commitments, params.n)
        .map_err(|e| invalid(format!("encryption_commitments: {e}")))?;
    Ok((coin, encryption))
}

impl ClusterConfig {
    /// Committee parameters.
    pub fn params(&self) -> Params {
        self.public.params
    }

    /// Session id.
    pub fn session(&self) -> SessionId {
        self.public.session
    }

    /// Validate a parsed cluster file: version; `n`, `f` ([`Params::with_f`]); nodes are
    /// exactly `0..n`, each with a distinct valid identity and at least one valid address;
    /// the coin keys decode to G1 subgroup points lying on one degree-`f` polynomial through
    /// the group key; there are `f + 1` encryption commitments, they decode, and each node's
    /// `encryption_key` is the verification key they imply.
    pub fn from_file(file: &ClusterFile) -> Result<Self, KeystoreError> {
        let invalid = KeystoreError::InvalidCluster;
        if file.version != CLUSTER_FILE_VERSION {
            return Err(invalid(format!(
                "version {} (this build reads version {CLUSTER_FILE_VERSION}, which adds the [consensus] settings; \
                 deal the committee again with `beat keygen`)",
                file.version
            )));
        }
        let base_session = SessionId(hex_array(&file.session, &"session")?);
        let params = Params::with_f(file.n, file.f)?;
        file.consensus.validate().map_err(|e| invalid(format!("[consensus]: {e}")))?;
        let session = file.consensus.bind_session(&base_session, params);
        if file.nodes.len() != params.n {
            return Err(invalid(format!("{} nodes listed, but n = {}", file.nodes.len(), params.n)));
        }
        let mut by_id: Vec<Option<&NodeFileEntry>> = vec![None; params.n];
        for entry in &file.nodes {
            match by_id.get_mut(entry.id) {
                None => return Err(invalid(format!("node id {} is not below n = {}", entry.id, params.n))),
                Some(Some(_)) => return Err(invalid(format!("node {} is listed twice", entry.id))),
                Some(slot) => *slot = Some(entry),
            }
        }
        // n entries with distinct ids < n: every slot is filled.
        let entries: Vec<&NodeFileEntry> = by_id.into_iter().flatten().collect();

        let coin_keys: Vec<(String, &str)> =
            entries.iter().map(|e| (format!("node {}: coin_key", e.id), e.coin_key.as_str())).collect();
        let (coin, encryption) =
            threshold_keys(params, &file.coin_group_key, &coin_keys, &file.encryption_commitments)?;

        let mut identities = HashSet::new();
        let mut nodes = Vec::with_capacity(params.n);
        for e in entries {
            let key: [u8; 32] = hex_array(&e.encryption_key, &format_args!("node {}: encryption_key", e.id))?;
            if encryption.verification_key(e.id).map(|h| h.to_bytes()) != Some(key) {
                return Err(invalid(format!(
                    "node {}: encryption_key does not match the encryption_commitments",
                    e.id
                )));
            }
            let identity = IdentityPublic::from_hex(&e.identity)
                .map_err(|err| invalid(format!("node {}: identity: {err}", e.id)))?;
            if !identities.insert(identity) {
                return Err(invalid(format!("node {}: identity is also another node's", e.id)));
            }
            e.addresses.check(e.id)?;
            nodes.push(NodeInfo { id: e.id, identity, addresses: e.addresses.clone() });
        }
        let public = PublicKeys {
            params,
            settings: file.consensus.clone(),
            session,
            coin: Arc::new(coin),
            encryption: Arc::new(encryption),
        };
        Ok(ClusterConfig { base_session, public, nodes })
    }

    /// The on-disk form.
    pub fn to_file(&self) -> ClusterFile {
        let coin = &self.public.coin;
        let enc = &self.public.encryption;
        ClusterFile {
            version: CLUSTER_FILE_VERSION,
            session: hex::encode(self.base_session.0),
            n: self.public.params.n,
            f: self.public.params.f,
            consensus: self.public.settings.clone(),
            coin_group_key: hex::encode(coin.group_key.to_compressed()),
            encryption_commitments: enc.commitments().iter().map(|c| hex::encode(c.compress().as_bytes())).collect(),
            nodes: self
                .nodes
                .iter()
                .map(|node| NodeFileEntry {
                    id: node.id,
                    identity: node.identity.to_hex(),
                    coin_key: coin.key_shares.get(node.id).map(|k| hex::encode(k.to_compressed())).unwrap_or_default(),
                    encryption_key: enc
                        .verification_key(node.id)
                        .map(|h| hex::encode(h.as_bytes()))
                        .unwrap_or_default(),
                    addresses: node.addresses.clone(),
                })
                .collect(),
        }
    }

    /// The cluster file's TOML text (with an explanatory comment on top).
    pub fn to_toml(&self) -> Result<String, KeystoreError> {
        let body = toml::to_string_pretty(&self.to_file()).map_err(|e| KeystoreError::InvalidCluster(e.to_string()))?;
        Ok(format!(
            "# BEAT cluster file (public). Operators may edit the [nodes.addresses] tables;\n\
             # every other value is key material or a [consensus] setting fixed at keygen (bound\n\
             # into the session), and is checked when a node loads this file.\n\n{body}"
        ))
    }

    /// Parse and validate a cluster file's TOML text.
    pub fn from_toml(text: &str) -> Result<Self, KeystoreError> {
        let file: ClusterFile = toml::from_str(text).map_err(|e| KeystoreError::InvalidCluster(e.to_string()))?;
        Self::from_file(&file)
    }
}

/// One node's secrets, as sealed in its key file. Zeroized on drop (each part is);
/// `Debug` prints the id, the session and the public identity only.
pub struct NodeKeyFile {
    /// The node.
    pub id: NodeId,
    /// The session the keys belong to.
    pub session: SessionId,
    /// The committee's `n` and `f`.
    pub params: Params,
    /// Coin secret share.
    pub coin_secret: CoinSecretShare,
    /// Decryption secret share.
    pub decryption_secret: elgamal::SecretKeyShare,
    /// ed25519 identity.
    pub identity: IdentityKey,
}

impl std::fmt::Debug for NodeKeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeKeyFile")
            .field("id", &self.id)
            .field("session", &self.session)
            .field("params", &self.params)
            .field("identity", &self.identity.public())
            .finish_non_exhaustive()
    }
}

impl NodeKeyFile {
    /// The fixed 141-byte plaintext layout (see the module docs), in a zeroized buffer.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(NODE_KEY_LEN));
        out.push(NODE_KEY_FORMAT);
        out.extend_from_slice(&self.session.0);
        // id < n ≤ Params::MAX_N, so these fit in a u32.
        for v in [self.id, self.params.n, self.params.f] {
            out.extend_from_slice(&(v as u32).to_be_bytes());
        }
        out.extend_from_slice(self.coin_secret.to_bytes().as_slice());
        out.extend_from_slice(self.decryption_secret.to_bytes().as_slice());
        out.extend_from_slice(self.identity.to_bytes().as_slice());
        out
    }

    /// Parse the plaintext layout; refuses a wrong length or format byte, bad `n`/`f`,
    /// `id ≥ n` and non-canonical scalars.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeystoreError> {
        if bytes.len() != NODE_KEY_LEN {
            return Err(KeystoreError::MalformedKeyFile("wrong length"));
        }
        if bytes[0] != NODE_KEY_FORMAT {
            return Err(KeystoreError::MalformedKeyFile("unknown format"));
        }
        let array32 = |at: usize| -> Zeroizing<[u8; 32]> {
            let mut a = Zeroizing::new([0u8; 32]);
            a.copy_from_slice(&bytes[at..at + 32]);
            a
        };
        let u32_at = |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
        let session = SessionId(*array32(1));
        let (id, n, f) = (u32_at(33), u32_at(37), u32_at(41));
        let params = Params::with_f(n, f)?;
        if id >= n {
            return Err(KeystoreError::MalformedKeyFile("node id not below n"));
        }
        let coin_secret = CoinSecretShare::from_bytes(id, &array32(45))?;
        let decryption_secret = elgamal::SecretKeyShare::from_bytes(id, &array32(77))?;
        let identity = IdentityKey::from_bytes(&array32(109));
        Ok(NodeKeyFile { id, session, params, coin_secret, decryption_secret, identity })
    }
}

/// What the dealer deals: a committee of `addresses.len()` nodes (`f = ⌊(n−1)/3⌋`) under a base
/// session, with fixed consensus settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DealSpec {
    /// The base session (a fresh random one for a new committee).
    pub session: SessionId,
    /// The settings that decide validity, bound into the session.
    pub settings: Settings,
    /// Each node's addresses, by id.
    pub addresses: Vec<Addresses>,
    /// With a Tor port, each node without a Tor address gets its identity-derived onion on
    /// that port.
    pub onion_port: Option<u16>,
}

/// Deal a committee: threshold keys from [`crate::beat::keys::deal`] and a fresh ed25519
/// identity per node.
pub fn deal_cluster(
    spec: &DealSpec,
    rng: &mut impl rand_core::CryptoRngCore,
) -> Result<(ClusterConfig, Vec<NodeKeyFile>), KeystoreError> {
    let params = Params::new(spec.addresses.len())?;
    for (id, a) in spec.addresses.iter().enumerate() {
        a.check(id)?;
    }
    spec.settings.validate().map_err(|e| KeystoreError::InvalidCluster(format!("[consensus]: {e}")))?;
    let keys = crate::beat::keys::deal(params, spec.session, spec.settings.clone(), rng);
    let public = match keys.first() {
        Some(k) => k.public.clone(),
        None => return Err(KeystoreError::Params(crate::ParamsError::TooFewNodes(0))),
    };
    let mut nodes = Vec::with_capacity(params.n);
    let mut secrets = Vec::with_capacity(params.n);
    for (k, a) in keys.into_iter().zip(&spec.addresses) {
        let identity = IdentityKey::generate(rng);
        let mut addresses = a.clone();
        // The onion service key is derived from the identity: its address is known now.
        if let (Some(port), None) = (spec.onion_port, &addresses.tor) {
            addresses.tor = Some(format!("{}:{port}", super::OnionKey::derive(&identity).hostname()));
        }
        nodes.push(NodeInfo { id: k.id, identity: identity.public(), addresses });
        secrets.push(NodeKeyFile {
            id: k.id,
            session: public.session,
            params,
            coin_secret: (*k.coin_secret).clone(),
            decryption_secret: (*k.decryption_secret).clone(),
            identity,
        });
    }
    Ok((ClusterConfig { base_session: spec.session, public, nodes }, secrets))
}

/// Deal a committee and write `dir/cluster.toml` (mode 0644) and `dir/node-<id>.key` (mode
/// 0600), node `i`'s file sealed under `keys[i]` (`kdf` applies to passphrases). Every node gets
/// its own secret, so one node's secret opens only its own file: `keys` must have one entry per
/// node, no two alike. Creates `dir` if needed and refuses to overwrite any existing file
/// (checked before anything is written).
pub fn write_cluster(
    dir: &Path,
    spec: &DealSpec,
    keys: &[KeySource],
    kdf: &KdfParams,
    rng: &mut impl rand_core::CryptoRngCore,
) -> Result<ClusterConfig, KeystoreError> {
    let n = spec.addresses.len();
    check_key_sources(n, keys)?;
    std::fs::create_dir_all(dir).map_err(|source| KeystoreError::Io { path: dir.to_path_buf(), source })?;
    let cluster_path = dir.join(CLUSTER_FILE_NAME);
    let key_paths: Vec<PathBuf> = (0..n).map(|id| dir.join(node_key_file_name(id))).collect();
    if let Some(existing) = std::iter::once(&cluster_path).chain(&key_paths).find(|p| p.exists()) {
        return Err(KeystoreError::Exists(existing.clone()));
    }
    // Seal everything before writing anything, so a bad key source leaves no partial cluster.
    let (config, sealed) = deal_and_seal(spec, keys, kdf, rng)?;
    storage::write_new_file(&cluster_path, config.to_toml()?.as_bytes(), false)?;
    for (path, bytes) in key_paths.iter().zip(&sealed) {
        storage::write_new_file(path, bytes, true)?;
    }
    Ok(config)
}

/// Read and validate a cluster file.
pub fn load_cluster(path: &Path) -> Result<ClusterConfig, KeystoreError> {
    let bytes = storage::read_capped(path, MAX_CLUSTER_FILE_BYTES)?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| KeystoreError::InvalidCluster(format!("{} is not UTF-8 text", path.display())))?;
    ClusterConfig::from_toml(text)
}

/// Open a node's key file and check it against the cluster: same session and `n`, `f`; coin
/// and decryption shares matching that node's verification keys; identity matching its
/// public identity. Returns the node's keys and its identity.
pub fn load_node_keys(
    path: &Path,
    key: &KeySource,
    cluster: &ClusterConfig,
) -> Result<(NodeKeys, IdentityKey), KeystoreError> {
    let plaintext = storage::open_file(path, key)?;
    node_keys_from_plaintext(&plaintext, cluster)
}

/// [`load_node_keys`] of a key file held in memory (an app that moved it by QR code or file
/// share): at most [`storage::MAX_SEALED_FILE_BYTES`], opened with `key`, checked against
/// the cluster the same way.
pub fn open_node_keys(
    sealed: &[u8],
    key: &KeySource,
    cluster: &ClusterConfig,
) -> Result<(NodeKeys, IdentityKey), KeystoreError> {
    if sealed.len() > storage::MAX_SEALED_FILE_BYTES {
        return Err(KeystoreError::TooLarge { len: sealed.len(), max: storage::MAX_SEALED_FILE_BYTES });
    }
    let plaintext = storage::open(sealed, key)?;
    node_keys_from_plaintext(&plaintext, cluster)
}

/// Deal a committee in memory: its cluster file (TOML) and each node's key file sealed under
/// `keys[i]`, for an app that moves them itself. The same checks as [`write_cluster`] (one
/// distinct secret per node).
pub fn deal_sealed(
    spec: &DealSpec,
    keys: &[KeySource],
    kdf: &KdfParams,
    rng: &mut impl rand_core::CryptoRngCore,
) -> Result<(String, Vec<Vec<u8>>), KeystoreError> {
    check_key_sources(spec.addresses.len(), keys)?;
    let (config, sealed) = deal_and_seal(spec, keys, kdf, rng)?;
    Ok((config.to_toml()?, sealed))
}

/// Deal, then seal node `i`'s key file under `keys[i]`.
fn deal_and_seal(
    spec: &DealSpec,
    keys: &[KeySource],
    kdf: &KdfParams,
    rng: &mut impl rand_core::CryptoRngCore,
) -> Result<(ClusterConfig, Vec<Vec<u8>>), KeystoreError> {
    let (config, secrets) = deal_cluster(spec, rng)?;
    let sealed = secrets
        .iter()
        .zip(keys)
        .map(|(s, key)| storage::seal(&s.to_bytes(), key, kdf, rng))
        .collect::<Result<Vec<Vec<u8>>, _>>()?;
    Ok((config, sealed))
}

/// One secret per node, no two alike.
fn check_key_sources(n: usize, keys: &[KeySource]) -> Result<(), KeystoreError> {
    if keys.len() != n {
        return Err(KeystoreError::KeySources(format!("{} key secrets for {n} nodes (one per node)", keys.len())));
    }
    for (i, a) in keys.iter().enumerate() {
        if let Some(j) = keys[..i].iter().position(|b| a.same_secret(b)) {
            return Err(KeystoreError::KeySources(format!(
                "node {i}'s key secret is node {j}'s too; each node's secret must open only its own key file"
            )));
        }
    }
    Ok(())
}

fn node_keys_from_plaintext(
    plaintext: &[u8],
    cluster: &ClusterConfig,
) -> Result<(NodeKeys, IdentityKey), KeystoreError> {
    let file = NodeKeyFile::from_bytes(plaintext)?;
    if file.params != cluster.public.params {
        return Err(KeystoreError::KeyFileMismatch("committee size (n, f)"));
    }
    if file.session != cluster.public.session {
        return Err(KeystoreError::KeyFileMismatch(
            "session (the key file was dealt for another committee, or for other [consensus] settings: \
             a committee's variant, batch size, size limits and de-duplication window are fixed at keygen)",
        ));
    }
    let node = cluster.nodes.get(file.id).ok_or(KeystoreError::KeyFileMismatch("node id"))?;
    if !cluster.public.coin.verify_key_share(&file.coin_secret) {
        return Err(KeystoreError::KeyFileMismatch("coin key share"));
    }
    if !cluster.public.encryption.verify_key_share(&file.decryption_secret) {
        return Err(KeystoreError::KeyFileMismatch("decryption key share"));
    }
    if file.identity.public() != node.identity {
        return Err(KeystoreError::KeyFileMismatch("identity key"));
    }
    let NodeKeyFile { id, coin_secret, decryption_secret, identity, .. } = file;
    let keys = NodeKeys {
        id,
        public: cluster.public.clone(),
        coin_secret: Arc::new(coin_secret),
        decryption_secret: Arc::new(decryption_secret),
    };
    Ok((keys, identity))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::coin::CoinName;
    use crate::crypto::hash::Domain;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    fn fast() -> KdfParams {
        KdfParams::new(64, 1, 1).unwrap()
    }

    fn addresses(n: usize) -> Vec<Addresses> {
        (0..n).map(|i| Addresses::clearnet(format!("127.0.0.1:{}", 7000 + i))).collect()
    }

    /// Node `i`'s passphrase.
    fn pass(i: usize) -> KeySource {
        KeySource::passphrase(format!("dealer passphrase of node {i}"))
    }

    fn passes(n: usize) -> Vec<KeySource> {
        (0..n).map(pass).collect()
    }

    fn spec(session: SessionId, n: usize, onion_port: Option<u16>) -> DealSpec {
        DealSpec { session, settings: Settings::default(), addresses: addresses(n), onion_port }
    }

    /// Write a 4-node cluster into a fresh directory.
    fn written(seed: u64) -> (tempfile::TempDir, ClusterConfig) {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let session = SessionId::from_name("dealer-test");
        let config = write_cluster(dir.path(), &spec(session, 4, None), &passes(4), &fast(), &mut rng).unwrap();
        (dir, config)
    }

    #[test]
    fn written_cluster_loads_and_the_keys_work_together() {
        let (dir, written) = written(1);
        let cluster = load_cluster(&dir.path().join(CLUSTER_FILE_NAME)).unwrap();
        assert_eq!(cluster.params(), Params::new(4).unwrap());
        assert_eq!(cluster.base_session, SessionId::from_name("dealer-test"));
        // The session binds the base session to the committee size and its settings.
        let bound = Settings::default().bind_session(&SessionId::from_name("dealer-test"), cluster.params());
        assert_eq!(cluster.session(), bound);
        assert_eq!(cluster.public.settings, Settings::default());
        assert_eq!(cluster.nodes, written.nodes);
        assert_eq!(*cluster.public.coin, *written.public.coin);
        assert_eq!(cluster.nodes[2].addresses.clearnet.as_deref(), Some("127.0.0.1:7002"));

        let loaded: Vec<(NodeKeys, IdentityKey)> = (0..4)
            .map(|id| load_node_keys(&dir.path().join(node_key_file_name(id)), &pass(id), &cluster).unwrap())
            .collect();
        let session = cluster.session();
        let name = CoinName { domain: Domain { protocol: "t", session: &session, epoch: 1, instance: 0 }, round: 0 };
        let shares: Vec<_> = loaded.iter().map(|(k, _)| (k.id, k.coin_secret.sign(&name))).collect();
        for (i, s) in &shares {
            assert!(cluster.public.coin.verify_share(*i, &name, s));
        }
        let sig = cluster.public.coin.combine(&shares[1..3]).unwrap();
        assert!(cluster.public.coin.verify(&name, &sig));

        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let ct = cluster.public.encryption.encrypt(b"label", b"secret batch", &mut rng);
        let vct = cluster.public.encryption.verify_ciphertext(ct).unwrap();
        let pk = &cluster.public.encryption;
        let dec: Vec<_> = loaded
            .iter()
            .take(2)
            .map(|(k, _)| {
                pk.verify_shares(k.id, b"t", &[&vct], &k.decryption_secret.decrypt_shares(b"t", &[&vct])).unwrap()
            })
            .collect();
        let chosen: Vec<_> = dec.iter().map(|v| v.share(0).unwrap()).collect();
        assert_eq!(pk.combine(&vct, &chosen).unwrap(), b"secret batch");

        for (keys, identity) in &loaded {
            assert_eq!(identity.public(), cluster.nodes[keys.id].identity);
            assert!(cluster.nodes[keys.id].identity.verify(b"hello", &identity.sign(b"hello")));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir.path().join("node-3.key")), 0o600);
            assert_eq!(mode(&dir.path().join(CLUSTER_FILE_NAME)), 0o644);
        }
    }

    #[test]
    fn cluster_file_is_readable_toml_and_addresses_can_be_edited() {
        let (dir, _) = written(3);
        let path = dir.path().join(CLUSTER_FILE_NAME);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# BEAT cluster file"), "{text}");
        assert!(text.contains("[[nodes]]"), "{text}");
        assert!(text.contains("clearnet = \"127.0.0.1:7001\""), "{text}");
        assert!(!text.contains("tor ="), "unset addresses are omitted: {text}");
        // An operator moves node 1 and gives it an onion address.
        let edited = text.replace(
            "clearnet = \"127.0.0.1:7001\"",
            "clearnet = \"10.0.0.2:7001\"\ntor = \"abcdefghijklmnop.onion:7001\"",
        );
        let cluster = ClusterConfig::from_toml(&edited).unwrap();
        assert_eq!(cluster.nodes[1].addresses.clearnet.as_deref(), Some("10.0.0.2:7001"));
        assert_eq!(cluster.nodes[1].addresses.tor.as_deref(), Some("abcdefghijklmnop.onion:7001"));
        // Node 1's keys still load against the edited file.
        std::fs::write(&path, &edited).unwrap();
        let cluster = load_cluster(&path).unwrap();
        assert!(load_node_keys(&dir.path().join("node-1.key"), &pass(1), &cluster).is_ok());
        // A misspelt field is an error, not ignored.
        let typo = text.replacen("clearnet = ", "clearnt = ", 1);
        assert!(matches!(ClusterConfig::from_toml(&typo), Err(KeystoreError::InvalidCluster(_))));
    }

    /// Each mutation of a valid cluster file must be refused, with the given text in the error.
    #[test]
    fn invalid_cluster_files_are_refused() {
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let (config, _) = deal_cluster(&spec(SessionId::from_name("v"), 4, None), &mut rng).unwrap();
        let (other, _) = deal_cluster(&spec(SessionId::from_name("v"), 4, None), &mut rng).unwrap();
        let good = config.to_file();
        assert!(ClusterConfig::from_file(&good).is_ok());
        let other = other.to_file();
        type Mutation = Box<dyn Fn(&mut ClusterFile)>;
        let cases: Vec<(&str, Mutation)> = vec![
            ("version 1", Box::new(|f| f.version = 1)),
            ("[consensus]: consensus setting dedup_epochs", Box::new(|f| f.consensus.dedup_epochs = 0)),
            ("session", Box::new(|f| f.session = "00".repeat(31))),
            ("session", Box::new(|f| f.session = "xy".repeat(32))),
            ("at least 4 nodes", Box::new(|f| f.n = 3)),
            ("cannot tolerate", Box::new(|f| f.f = 2)),
            // f = 0 is valid for n = 4, but the coin shares are on a degree-1 polynomial.
            ("coin keys", Box::new(|f| f.f = 0)),
            ("3 encryption_commitments, but f + 1 = 2", Box::new(|f| f.encryption_commitments.push("00".repeat(32)))),
            (
                "1 encryption_commitments, but f + 1 = 2",
                Box::new(|f| {
                    f.encryption_commitments.pop();
                }),
            ),
            (
                "3 nodes listed",
                Box::new(|f| {
                    f.nodes.pop();
                }),
            ),
            ("listed twice", Box::new(|f| f.nodes[3].id = 0)),
            ("not below n", Box::new(|f| f.nodes[3].id = 4)),
            ("coin_group_key", Box::new(|f| f.coin_group_key.truncate(94))),
            ("coin keys", Box::new(move |f| f.coin_group_key = other.coin_group_key.clone())),
            (
                "coin keys",
                Box::new(|f| {
                    let k0 = std::mem::take(&mut f.nodes[0].coin_key);
                    f.nodes[0].coin_key = std::mem::replace(&mut f.nodes[1].coin_key, k0);
                }),
            ),
            ("node 2: coin_key", Box::new(|f| f.nodes[2].coin_key = "zz".into())),
            ("coin keys", Box::new(|f| f.nodes[2].coin_key = f.nodes[1].coin_key.clone())),
            ("encryption_commitments[1]", Box::new(|f| f.encryption_commitments[1] = "00".into())),
            ("encryption_commitments: invalid encoding", Box::new(|f| f.encryption_commitments[1] = "ff".repeat(32))),
            ("does not match the encryption_commitments", Box::new(|f| f.encryption_commitments.swap(0, 1))),
            ("node 1: encryption_key does not match", Box::new(|f| f.nodes[1].encryption_key = "00".repeat(32))),
            ("node 3: identity", Box::new(|f| f.nodes[3].identity = format!("01{}", "00".repeat(31)))),
            ("also another node's", Box::new(|f| f.nodes[3].identity = f.nodes[0].identity.clone())),
            ("node 0: no address", Box::new(|f| f.nodes[0].addresses = Addresses::default())),
            ("invalid tor address", Box::new(|f| f.nodes[0].addresses.tor = Some("a b.onion".into()))),
            ("invalid clearnet address", Box::new(|f| f.nodes[0].addresses.clearnet = Some(String::new()))),
        ];
        for (expected, mutate) in cases {
            let mut file = good.clone();
            mutate(&mut file);
            let err = ClusterConfig::from_file(&file).expect_err(expected).to_string();
            assert!(err.contains(expected), "expected {expected:?} in {err:?}");
            // The same through TOML text.
            let text = toml::to_string(&file).unwrap();
            assert!(ClusterConfig::from_toml(&text).is_err(), "{expected}");
        }
        // The order of the [[nodes]] entries does not matter.
        let mut shuffled = good.clone();
        shuffled.nodes.reverse();
        assert_eq!(ClusterConfig::from_file(&shuffled).unwrap().nodes, config.nodes);
        // Not TOML, or not UTF-8.
        assert!(ClusterConfig::from_toml("n = [").is_err());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CLUSTER_FILE_NAME);
        std::fs::write(&path, [0xff, 0xfe, 0x00]).unwrap();
        assert!(matches!(load_cluster(&path), Err(KeystoreError::InvalidCluster(_))));
    }

    #[test]
    fn key_files_must_match_the_cluster_file() {
        let (dir_a, a) = written(5);
        let (dir_b, b) = written(6); // same session name, different keys
        let key_a1 = dir_a.path().join("node-1.key");
        assert!(load_node_keys(&key_a1, &pass(1), &a).is_ok());
        assert!(matches!(load_node_keys(&key_a1, &pass(1), &b), Err(KeystoreError::KeyFileMismatch("coin key share"))));
        // A cluster file for another session.
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let other_dir = tempfile::tempdir().unwrap();
        let c = write_cluster(
            other_dir.path(),
            &spec(SessionId::from_name("other"), 4, None),
            &passes(4),
            &fast(),
            &mut rng,
        )
        .unwrap();
        assert!(
            matches!(load_node_keys(&key_a1, &pass(1), &c), Err(KeystoreError::KeyFileMismatch(m)) if m.starts_with("session"))
        );
        // The same committee dealt with other consensus settings: node 1's file of `a`, with a's
        // cluster file edited to another batch size, is refused (the session binds the settings).
        let mut edited = a.to_file();
        edited.consensus.batch_size += 1;
        let edited = ClusterConfig::from_file(&edited).unwrap();
        let err = load_node_keys(&key_a1, &pass(1), &edited).unwrap_err().to_string();
        assert!(err.contains("[consensus] settings"), "{err}");
        // One node's secret opens only its own key file.
        assert!(matches!(
            load_node_keys(&dir_a.path().join("node-2.key"), &pass(1), &a),
            Err(KeystoreError::WrongKeyOrTampered)
        ));
        // A cluster of another size.
        let d = write_cluster(&other_dir.path().join("n5"), &spec(a.session(), 5, None), &passes(5), &fast(), &mut rng)
            .unwrap();
        assert!(matches!(
            load_node_keys(&key_a1, &pass(1), &d),
            Err(KeystoreError::KeyFileMismatch("committee size (n, f)"))
        ));
        // The cluster file with node 1's identity replaced by a fresh one.
        let mut file = a.to_file();
        file.nodes[1].identity = IdentityKey::generate(&mut rng).public().to_hex();
        let swapped = ClusterConfig::from_file(&file).unwrap();
        assert!(matches!(
            load_node_keys(&key_a1, &pass(1), &swapped),
            Err(KeystoreError::KeyFileMismatch("identity key"))
        ));
        assert!(load_node_keys(&dir_a.path().join("node-2.key"), &pass(2), &swapped).is_ok());
        // The decryption share is checked independently of the coin share: a key file with
        // a's coin share and b's decryption share.
        let mut plain = storage::open_file(&key_a1, &pass(1)).unwrap();
        let b_plain = storage::open_file(&dir_b.path().join("node-1.key"), &pass(1)).unwrap();
        plain[77..109].copy_from_slice(&b_plain[77..109]);
        let mixed = other_dir.path().join("mixed.key");
        storage::seal_to_file(&mixed, &plain, &pass(1), &fast(), &mut rng).unwrap();
        assert!(matches!(
            load_node_keys(&mixed, &pass(1), &a),
            Err(KeystoreError::KeyFileMismatch("decryption key share"))
        ));
        // Wrong passphrase.
        assert!(matches!(
            load_node_keys(&key_a1, &KeySource::passphrase("nope"), &a),
            Err(KeystoreError::WrongKeyOrTampered)
        ));
    }

    #[test]
    fn node_key_file_layout_round_trips_and_rejects_garbage() {
        let mut rng = ChaCha20Rng::seed_from_u64(8);
        let (_, secrets) = deal_cluster(&spec(SessionId::from_name("k"), 7, None), &mut rng).unwrap();
        let bytes = secrets[5].to_bytes();
        assert_eq!(bytes.len(), NODE_KEY_LEN);
        assert_eq!(bytes.len(), 141);
        let back = NodeKeyFile::from_bytes(&bytes).unwrap();
        assert_eq!((back.id, back.session, back.params), (5, secrets[5].session, Params::new(7).unwrap()));
        assert_eq!(*back.to_bytes(), *bytes);

        let refused = |mutate: &dyn Fn(&mut Vec<u8>)| {
            let mut b = bytes.to_vec();
            mutate(&mut b);
            NodeKeyFile::from_bytes(&b).is_err()
        };
        assert!(refused(&|b| b.truncate(140)));
        assert!(refused(&|b| b.push(0)));
        assert!(refused(&|b| b[0] = 2));
        assert!(refused(&|b| b[36] = 7)); // id = n
        assert!(refused(&|b| b[40] = 3)); // n = 3
        assert!(refused(&|b| b[44] = 3)); // f = 3 > (7 - 1) / 3
        assert!(refused(&|b| b[45..77].fill(0xff))); // non-canonical coin scalar
        assert!(refused(&|b| b[77..109].fill(0xff))); // non-canonical decryption scalar
        assert!(NodeKeyFile::from_bytes(&[]).is_err());
    }

    #[test]
    fn dealer_refuses_to_overwrite_or_deal_bad_sizes() {
        let (dir, _) = written(9);
        let before = std::fs::read(dir.path().join("node-0.key")).unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(10);
        let err = write_cluster(dir.path(), &spec(SessionId::from_name("x"), 4, None), &passes(4), &fast(), &mut rng)
            .unwrap_err();
        assert!(matches!(err, KeystoreError::Exists(_)), "{err}");
        assert_eq!(std::fs::read(dir.path().join("node-0.key")).unwrap(), before);

        let fresh = tempfile::tempdir().unwrap();
        assert!(matches!(
            write_cluster(fresh.path(), &spec(SessionId::from_name("x"), 3, None), &passes(3), &fast(), &mut rng),
            Err(KeystoreError::Params(_))
        ));
        // An empty passphrase fails before anything is written.
        let mut empty = passes(4);
        empty[2] = KeySource::passphrase("");
        assert!(matches!(
            write_cluster(fresh.path(), &spec(SessionId::from_name("x"), 4, None), &empty, &fast(), &mut rng),
            Err(KeystoreError::EmptyPassphrase)
        ));
        // One secret per node, no two alike.
        let x = spec(SessionId::from_name("x"), 4, None);
        let err = write_cluster(fresh.path(), &x, &passes(3), &fast(), &mut rng).unwrap_err().to_string();
        assert!(err.contains("3 key secrets for 4 nodes"), "{err}");
        let mut twice = passes(4);
        twice[3] = pass(1);
        let err = write_cluster(fresh.path(), &x, &twice, &fast(), &mut rng).unwrap_err().to_string();
        assert!(err.contains("node 3's key secret is node 1's too"), "{err}");
        // Settings out of range are refused by name.
        let bad = DealSpec { settings: Settings { batch_size: 0, ..Settings::default() }, ..x.clone() };
        let err = write_cluster(fresh.path(), &bad, &passes(4), &fast(), &mut rng).unwrap_err().to_string();
        assert!(err.contains("batch_size"), "{err}");
        assert_eq!(std::fs::read_dir(fresh.path()).unwrap().count(), 0);
        // Raw-key sealing works end to end.
        let raw: Vec<KeySource> = (0..4).map(|i| KeySource::Raw(Zeroizing::new([3 + i as u8; 32]))).collect();
        // With an onion port, every node's Tor address is its identity-derived onion.
        let cluster =
            write_cluster(fresh.path(), &spec(SessionId::from_name("x"), 4, Some(7500)), &raw, &fast(), &mut rng)
                .unwrap();
        for (id, node) in cluster.nodes.iter().enumerate() {
            let (_, identity) = load_node_keys(&fresh.path().join(node_key_file_name(id)), &raw[id], &cluster).unwrap();
            let onion = format!("{}:7500", crate::keystore::OnionKey::derive(&identity).hostname());
            assert_eq!(node.addresses.tor.as_deref(), Some(onion.as_str()));
        }
        assert!(matches!(
            load_node_keys(&fresh.path().join("node-0.key"), &pass(0), &cluster),
            Err(KeystoreError::KeySourceMismatch { .. })
        ));
    }

    #[test]
    fn debug_output_never_contains_secrets() {
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        let (cluster, secrets) = deal_cluster(&spec(SessionId::from_name("d"), 4, None), &mut rng).unwrap();
        let file = &secrets[1];
        let secret_hex = [
            hex::encode(*file.coin_secret.to_bytes()),
            hex::encode(*file.decryption_secret.to_bytes()),
            hex::encode(*file.identity.to_bytes()),
        ];
        let keys = NodeKeys {
            id: 1,
            public: cluster.public.clone(),
            coin_secret: Arc::new(file.coin_secret.clone()),
            decryption_secret: Arc::new(file.decryption_secret.clone()),
        };
        for dbg in [format!("{file:?}"), format!("{file:#?}"), format!("{keys:?}"), format!("{cluster:?}")] {
            for s in &secret_hex {
                assert!(!dbg.contains(s.as_str()), "secret {s} in {dbg}");
            }
        }
        // The public identity is shown (so the Debug output is useful).
        assert!(format!("{file:?}").contains(&file.identity.public().to_hex()));
    }
}

/// A committee's public keys on their own (no identities, no addresses): what a BEAT2 client
/// needs to encrypt ([`crate::beat::client::Client::new`]), as the client API serves it
/// (`GET /v1/encryption-key`). A client must not trust one node for it — a member that hands
/// out keys of its own choosing could read what the client encrypts — so it fetches it from
/// `f + 1` members (or reads the cluster file) and checks they agree ([`CommitteeKeys::digest`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitteeKeys {
    /// The committee's session (bound to `n`, `f` and the settings), 64 hex digits.
    pub session: String,
    /// Committee size.
    pub n: usize,
    /// Faults tolerated.
    pub f: usize,
    /// The consensus settings.
    pub consensus: Settings,
    /// Coin group key, compressed G1, hex.
    pub coin_group_key: String,
    /// Coin public key shares by node, compressed G1, hex.
    pub coin_keys: Vec<String>,
    /// Feldman commitments of the encryption key, compressed Ristretto255, hex.
    pub encryption_commitments: Vec<String>,
}

impl CommitteeKeys {
    /// The public form of `keys`.
    pub fn from_public(keys: &PublicKeys) -> Self {
        CommitteeKeys {
            session: hex::encode(keys.session.0),
            n: keys.params.n,
            f: keys.params.f,
            consensus: keys.settings.clone(),
            coin_group_key: hex::encode(keys.coin.group_key.to_compressed()),
            coin_keys: keys.coin.key_shares.iter().map(|k| hex::encode(k.to_compressed())).collect(),
            encryption_commitments: keys
                .encryption
                .commitments()
                .iter()
                .map(|c| hex::encode(c.compress().as_bytes()))
                .collect(),
        }
    }

    /// The keys, checked as a cluster file's are (shapes, points on their curves, the coin
    /// shares on one degree-`f` polynomial through the group key, `f + 1` commitments).
    pub fn to_public(&self) -> Result<PublicKeys, KeystoreError> {
        let invalid = KeystoreError::InvalidCluster;
        let params = Params::with_f(self.n, self.f)?;
        self.consensus.validate().map_err(|e| invalid(format!("consensus: {e}")))?;
        let session = SessionId(hex_array(&self.session, &"session")?);
        if self.coin_keys.len() != params.n {
            return Err(invalid(format!("{} coin_keys, but n = {}", self.coin_keys.len(), params.n)));
        }
        let coin_keys: Vec<(String, &str)> =
            self.coin_keys.iter().enumerate().map(|(i, k)| (format!("coin_keys[{i}]"), k.as_str())).collect();
        let (coin, encryption) =
            threshold_keys(params, &self.coin_group_key, &coin_keys, &self.encryption_commitments)?;
        Ok(PublicKeys {
            params,
            settings: self.consensus.clone(),
            session,
            coin: Arc::new(coin),
            encryption: Arc::new(encryption),
        })
    }

    /// A digest of these keys (compare it across `f + 1` members).
    pub fn digest(&self) -> String {
        // TOML of the fields, in declaration order: the same keys give the same text.
        let text = toml::to_string(self).unwrap_or_default();
        hex::encode(crate::crypto::hash::tagged_hash("BEAT/committee-keys", &[text.as_bytes()]))
    }
}

#[cfg(test)]
mod committee_keys_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn committee_keys_round_trip_and_a_client_encrypts_with_them() {
        let mut rng = rand::thread_rng();
        let settings = Settings::with_variant(crate::beat::Variant::Beat2);
        let keys = crate::beat::deal(Params::new(4).unwrap(), SessionId::from_name("ck"), settings, &mut rng);
        let public = CommitteeKeys::from_public(&keys[0].public);
        let back = public.to_public().unwrap();
        assert_eq!(CommitteeKeys::from_public(&back), public);
        assert_eq!(
            public.digest(),
            CommitteeKeys::from_public(&keys[3].public).digest(),
            "every member serves the same"
        );
        // What a client encrypts under the served keys, the committee accepts.
        let mut client = crate::beat::client::Client::new(back, 7);
        let tx = client.encrypt(b"set a 1", &mut rng);
        let ct = crate::beat::client::ClientTransaction::decode(&tx, 1 << 20).unwrap();
        assert!(ct.verify(&keys[1].public).is_ok());
        // Tampering is refused with the field named.
        let mut bad = public.clone();
        bad.coin_keys[2] = bad.coin_keys[1].clone();
        assert!(bad.to_public().unwrap_err().to_string().contains("coin"));
        let mut bad = public.clone();
        bad.encryption_commitments.pop();
        assert!(bad.to_public().unwrap_err().to_string().contains("encryption_commitments"));
    }
}
