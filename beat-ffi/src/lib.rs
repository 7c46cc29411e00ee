//! BEAT for Kotlin, Swift and Python: the API a phone app needs, over `beat_core`'s
//! [`beat_core::driver::BeatNode`], exported with uniffi (proc-macros; the generated bindings
//! are checked in under `bindings/`).
//!
//! * **Committee setup**: [`generate_committee`] deals a committee on one device (the cluster
//!   file and one sealed key file per member, as bytes the app moves by QR code or file
//!   share); [`cluster_info`] reads a cluster file.
//! * **[`BeatNode`]**: start from a [`NodeSettings`] record with an [`App`] (the host's
//!   state machine, a foreign trait) or the built-in [`KvApp`]; `submit`, `status`, `stop`;
//!   mobile life cycle `pause` / `resume` / `network_changed`; a [`CommitListener`] called
//!   on a thread of its own, never on the consensus path.
//! * **Family vault** ([`vault`]): the four-phone storage app (`demo-apps/family-vault`) —
//!   [`vault_init`], [`vault_join`], [`FamilyVault`] (`put`, `get`, `list`, `versions`,
//!   `remove`, `rename`, `restore`, `set_quota`, `health`).
//! * **Errors**: one enum, [`BeatError`], whose messages say what to fix.
//!
//! Threading: every method may be called from any thread; the node runs on its own tokio
//! runtime (two threads) and never calls the host while holding a lock the host could need.
//! [`App`] methods are called on the node's consensus thread, one at a time, in epoch order.
//! A Rust panic becomes an exception in the host (`panic = "unwind"`), never an abort.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use beat_core::beat::{self, Variant};
use beat_core::driver::{self, NodeConfig, SubmitError};
use beat_core::keystore::{self, Addresses, ClusterConfig, KdfParams, KeySource};
use beat_core::net::TransportConfig;
use beat_core::SessionId;
use zeroize::Zeroizing;

uniffi::setup_scaffolding!();

pub mod vault;
pub use vault::{vault_init, vault_join, FamilyVault};

/// Everything that can go wrong, each message saying what to fix (the exception's message in
/// Kotlin, Swift and Python is the whole sentence).
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum BeatError {
    /// A setting is missing or malformed (the message names it).
    #[error("invalid configuration: {message}")]
    Config {
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The cluster file is not one `generate_committee` (or `beat keygen`) wrote.
    #[error("bad cluster file: {message}")]
    ClusterFile {
        /// What is wrong.
        message: String,
    },
    /// The key file does not open with this secret (wrong passphrase or key), or it is
    /// damaged, or it belongs to another committee.
    #[error("key file: {message}")]
    KeyFile {
        /// What is wrong.
        message: String,
    },
    /// The node could not start (store, listen address, network).
    #[error("node did not start: {message}")]
    Start {
        /// Why.
        message: String,
    },
    /// The transaction was refused (too large, the app's `validate`, the queue is full).
    #[error("transaction refused: {message}")]
    Refused {
        /// Why.
        message: String,
    },
    /// Too few members are reachable to answer now: try again later (the family vault's reads).
    #[error("unavailable: {message}")]
    Unavailable {
        /// Who is missing.
        message: String,
    },
    /// Stored data that does not verify (it does not decrypt, or its hash is not the
    /// committed one): the family vault's reads.
    #[error("corrupt data: {message}")]
    Corrupt {
        /// What did not verify.
        message: String,
    },
    /// The node was stopped (`stop`, or it stopped on its own: the message says why).
    #[error("node stopped: {message}")]
    Stopped {
        /// Why.
        message: String,
    },
}

/// What an [`App`] reports when it refuses a transaction or a snapshot.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum AppError {
    /// Refused, with the reason.
    #[error("{reason}")]
    Refused {
        /// Why.
        reason: String,
    },
    /// The host's implementation failed unexpectedly (an exception uniffi could not map).
    #[error("the app's callback failed: {reason}")]
    Callback {
        /// What the host raised.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for AppError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        AppError::Callback { reason: e.reason }
    }
}

/// The secret a member's key file is sealed under: a passphrase or a raw key. An opaque object,
/// so a host's `toString()` / `print()` / `repr()` never shows it; its bytes are zeroed when it
/// is freed.
#[derive(uniffi::Object)]
pub struct KeySecret {
    source: KeySource,
}

#[uniffi::export]
impl KeySecret {
    /// A passphrase (stretched with Argon2id, OWASP parameters: about 19 MiB and a fraction of
    /// a second on a phone). Not empty.
    #[uniffi::constructor]
    pub fn passphrase(passphrase: String) -> Result<Arc<Self>, BeatError> {
        let passphrase = Zeroizing::new(passphrase);
        if passphrase.is_empty() {
            return Err(BeatError::Config { message: "the passphrase is empty".into() });
        }
        Ok(Arc::new(KeySecret { source: KeySource::passphrase(passphrase.as_str()) }))
    }

    /// A raw 32-byte key, e.g. from the Android Keystore or the iOS Keychain.
    #[uniffi::constructor]
    pub fn raw_key(key: Vec<u8>) -> Result<Arc<Self>, BeatError> {
        let key = Zeroizing::new(key);
        let raw: [u8; 32] = key
            .as_slice()
            .try_into()
            .map_err(|_| BeatError::Config { message: format!("a raw key is 32 bytes, not {}", key.len()) })?;
        Ok(Arc::new(KeySecret { source: KeySource::Raw(Zeroizing::new(raw)) }))
    }
}

impl std::fmt::Debug for KeySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // KeySource's Debug names the kind only.
        write!(f, "KeySecret({:?})", self.source)
    }
}

impl KeySecret {
    fn source(&self) -> KeySource {
        match &self.source {
            KeySource::Passphrase(p) => KeySource::Passphrase(p.clone()),
            KeySource::Raw(k) => KeySource::Raw(k.clone()),
        }
    }
}

/// What [`generate_committee`] deals.
#[derive(Debug, uniffi::Record)]
pub struct CommitteeSpec {
    /// `BEAT0` or `BEAT1` (both keep transactions encrypted until the committee ordered them).
    pub variant: String,
    /// Each member's clearnet `host:port`, by id; 4 to 7 members (f = 1 or 2).
    pub addresses: Vec<String>,
    /// Each member's Tor `….onion:port`, by id, or empty.
    #[uniffi(default = [])]
    pub tor_addresses: Vec<String>,
    /// Each member's I2P `….b32.i2p` or destination, by id, or empty.
    #[uniffi(default = [])]
    pub i2p_addresses: Vec<String>,
}

/// A dealt committee: the public cluster file (every member gets it) and each member's key
/// file, sealed under that member's own secret (give member `i` only `key_files[i]`).
#[derive(Debug, uniffi::Record)]
pub struct Committee {
    /// The cluster file (TOML, public).
    pub cluster_file: Vec<u8>,
    /// Member `i`'s sealed key file.
    pub key_files: Vec<Vec<u8>>,
}

/// Deal a new committee. `secrets[i]` seals member `i`'s key file; every member needs its own
/// secret (no two alike), so one member's secret opens only its own file.
#[uniffi::export]
pub fn generate_committee(spec: CommitteeSpec, secrets: Vec<Arc<KeySecret>>) -> Result<Committee, BeatError> {
    let variant = sdk_variant(&spec.variant)?;
    let n = spec.addresses.len();
    let optional = |list: &[String], what: &str| -> Result<Vec<Option<String>>, BeatError> {
        match list.len() {
            0 => Ok(vec![None; n]),
            l if l == n => Ok(list.iter().cloned().map(Some).collect()),
            l => Err(BeatError::Config { message: format!("{l} {what} addresses for {n} members (give all or none)") }),
        }
    };
    let (tor, i2p) = (optional(&spec.tor_addresses, "Tor")?, optional(&spec.i2p_addresses, "I2P")?);
    let addresses = spec
        .addresses
        .iter()
        .zip(tor)
        .zip(i2p)
        .map(|((c, tor), i2p)| Addresses { clearnet: Some(c.clone()), tor, i2p })
        .collect();
    let deal = keystore::DealSpec {
        session: SessionId(rand::random()),
        settings: beat::Settings::for_service(variant),
        addresses,
        onion_port: None,
    };
    let sources: Vec<KeySource> = secrets.iter().map(|s| s.source()).collect();
    let (cluster, key_files) = keystore::deal_sealed(&deal, &sources, &KdfParams::OWASP, &mut rand::rngs::OsRng)
        .map_err(|e| BeatError::Config { message: e.to_string() })?;
    Ok(Committee { cluster_file: cluster.into_bytes(), key_files })
}

/// What a cluster file says (for an app's setup screen).
#[derive(Debug, uniffi::Record)]
pub struct ClusterInfo {
    /// Members.
    pub n: u32,
    /// Faults tolerated.
    pub f: u32,
    /// `BEAT0` … `BEAT4`.
    pub variant: String,
    /// Each member's clearnet address, by id (empty if it has none).
    pub addresses: Vec<String>,
}

/// Read a cluster file.
#[uniffi::export]
pub fn cluster_info(cluster_file: Vec<u8>) -> Result<ClusterInfo, BeatError> {
    let c = parse_cluster(&cluster_file)?;
    Ok(ClusterInfo {
        n: c.public.params.n as u32,
        f: c.public.params.f as u32,
        variant: c.public.settings.variant.to_string(),
        addresses: c.nodes.iter().map(|n| n.addresses.clearnet.clone().unwrap_or_default()).collect(),
    })
}

/// The variants the SDK runs: BEAT0 and BEAT1 (transactions in the batch, threshold-encrypted
/// until ordered). BEAT2 needs client-side encryption and BEAT3/4 blob reads, which the SDK
/// does not export yet.
fn sdk_variant(name: &str) -> Result<Variant, BeatError> {
    match Variant::from_name(name) {
        Some(v @ (Variant::Beat0 | Variant::Beat1)) => Ok(v),
        Some(v) => Err(BeatError::Config {
            message: format!("variant {v}: the SDK runs BEAT0 and BEAT1 (BEAT2's client encryption and BEAT3/4's blob reads are not exported yet)"),
        }),
        None => Err(BeatError::Config { message: format!("variant {name:?}: expected BEAT0 or BEAT1") }),
    }
}

fn parse_cluster(bytes: &[u8]) -> Result<ClusterConfig, BeatError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| BeatError::ClusterFile { message: "not UTF-8 text (is this a key file?)".into() })?;
    ClusterConfig::from_toml(text).map_err(|e| BeatError::ClusterFile { message: e.to_string() })
}

/// The host's replicated state machine. Every member runs the same code on the same committed
/// transactions, so every member's state is the same.
///
/// The contract: pass `BeatNode.start` an app in its **initial (empty) state**. The node
/// rebuilds it from its store at every start, `resume` and `network_changed`: `restore` with
/// the store's latest snapshot (or the initial state, as `snapshot` returned it at `start`),
/// then `apply` of every later epoch, in order. Methods are called on the node's consensus
/// thread, one at a time: keep them quick, hand UI work to the main thread, and do not call the
/// node from inside them (such calls are refused, as they would deadlock). An error from
/// `apply`, `snapshot` or `restore` stops the node, with the error as the reason
/// (`status().state`, `Stopped`); `resume` starts it again from its store.
#[uniffi::export(with_foreign)]
pub trait App: Send + Sync {
    /// Apply epoch `epoch`'s committed transactions, in order (epochs without gaps).
    fn apply(&self, epoch: u64, transactions: Vec<Vec<u8>>) -> Result<(), AppError>;
    /// The whole state, for the node's snapshot.
    fn snapshot(&self) -> Result<Vec<u8>, AppError>;
    /// Replace the whole state with one `snapshot` returned.
    fn restore(&self, snapshot: Vec<u8>) -> Result<(), AppError>;
    /// Whether a transaction may be submitted (checked at `submit`, on the submitting thread).
    fn validate(&self, transaction: Vec<u8>) -> Result<(), AppError>;
}

/// The built-in key-value app (`set <key> <value>`, `del <key>`), for apps that do not want
/// to write an [`App`]; read it with [`KvApp::get`].
#[derive(Debug, Default, uniffi::Object)]
pub struct KvApp {
    inner: Mutex<beat_core::app::KvApp>,
}

#[uniffi::export]
impl KvApp {
    /// An empty store.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: String) -> Option<String> {
        self.lock().map.get(&key).cloned()
    }

    /// Keys set.
    pub fn len(&self) -> u64 {
        self.lock().map.len() as u64
    }

    /// Whether no key is set.
    pub fn is_empty(&self) -> bool {
        self.lock().map.is_empty()
    }
}

impl KvApp {
    fn lock(&self) -> std::sync::MutexGuard<'_, beat_core::app::KvApp> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[uniffi::export]
impl App for KvApp {
    fn apply(&self, epoch: u64, transactions: Vec<Vec<u8>>) -> Result<(), AppError> {
        use beat_core::app::ConsensusApp as _;
        self.lock().apply(epoch, &transactions);
        Ok(())
    }

    fn snapshot(&self) -> Result<Vec<u8>, AppError> {
        use beat_core::app::ConsensusApp as _;
        Ok(self.lock().snapshot())
    }

    fn restore(&self, snapshot: Vec<u8>) -> Result<(), AppError> {
        use beat_core::app::ConsensusApp as _;
        self.lock().restore(&snapshot).map_err(|reason| AppError::Refused { reason })
    }

    fn validate(&self, transaction: Vec<u8>) -> Result<(), AppError> {
        use beat_core::app::ConsensusApp as _;
        self.lock().validate(&transaction).map_err(|reason| AppError::Refused { reason })
    }
}

thread_local! {
    /// Set while this thread runs a host callback (App, CommitListener): a call into the node
    /// from there would wait for the very thread it runs on.
    static IN_CALLBACK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Run a host callback with [`IN_CALLBACK`] set.
fn callback<T>(f: impl FnOnce() -> T) -> T {
    let was = IN_CALLBACK.with(|c| c.replace(true));
    let out = f();
    IN_CALLBACK.with(|c| c.set(was));
    out
}

/// Refuse a call made from inside a host callback.
fn not_in_callback(what: &str) -> Result<(), BeatError> {
    if IN_CALLBACK.with(std::cell::Cell::get) {
        return Err(BeatError::Refused {
            message: format!(
                "{what} was called from inside an App or CommitListener callback, where it would wait for the thread \
                 it runs on; hand it to another thread"
            ),
        });
    }
    Ok(())
}

/// The bridge from beat-core's [`beat_core::app::ConsensusApp`] to the host's [`App`], one per
/// launch of the node. The node restores the app from its store's latest snapshot; when the
/// store has none, the app is first reset to its initial state (`genesis`, its snapshot at
/// `BeatNode.start`) before the first epoch is applied, so a host object that lives across
/// `pause`/`resume` is rebuilt rather than left ahead of, or apart from, the store.
struct HostApp {
    app: Arc<dyn App>,
    genesis: Arc<Vec<u8>>,
    /// Nothing restored or applied yet in this launch.
    fresh: bool,
}

impl HostApp {
    /// An error of the host on the consensus thread: the node stops with it as the reason
    /// (beat-core turns the panic into the node's failure; nothing after it is applied).
    fn fail(what: String) -> ! {
        std::panic::panic_any(what)
    }
}

impl beat_core::app::ConsensusApp for HostApp {
    fn apply(&mut self, epoch: u64, transactions: &[Vec<u8>]) {
        if self.fresh {
            self.fresh = false;
            if let Err(e) = callback(|| self.app.restore(self.genesis.to_vec())) {
                Self::fail(format!("the app's restore of its initial state failed: {e}"));
            }
        }
        if let Err(e) = callback(|| self.app.apply(epoch, transactions.to_vec())) {
            Self::fail(format!("the app's apply of epoch {epoch} failed: {e}"));
        }
    }

    fn snapshot(&self) -> Vec<u8> {
        callback(|| self.app.snapshot()).unwrap_or_else(|e| Self::fail(format!("the app's snapshot failed: {e}")))
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<(), String> {
        self.fresh = false;
        callback(|| self.app.restore(snapshot.to_vec())).map_err(|e| e.to_string())
    }

    fn validate(&self, transaction: &[u8]) -> Result<(), String> {
        callback(|| self.app.validate(transaction.to_vec())).map_err(|e| e.to_string())
    }
}

/// Told about every committed epoch, on a thread of its own (never the consensus thread).
/// After a restart, epochs after the node's latest snapshot are told again; use `epoch` to
/// recognise them. A listener more than 4,096 epochs behind misses notifications (counted in
/// `status().notifications_dropped`); the app's own state is never behind.
#[uniffi::export(with_foreign)]
pub trait CommitListener: Send + Sync {
    /// Epoch `epoch` committed these transactions (after the app applied them).
    fn on_commit(&self, epoch: u64, transactions: Vec<Vec<u8>>);
}

/// Notifications queued for the listener's thread at most.
const NOTIFY_QUEUE: usize = 4096;

/// One notification: an epoch and its transactions.
type Notification = (u64, Vec<Vec<u8>>);

/// Forwards commits to the host's listener through a bounded queue and a thread of its own;
/// the thread ends when the node stops.
struct Dispatch {
    tx: Mutex<Option<mpsc::SyncSender<Notification>>>,
    dropped: std::sync::atomic::AtomicU64,
}

impl Dispatch {
    fn spawn(listener: Arc<dyn CommitListener>) -> Result<Arc<Self>, BeatError> {
        let (tx, rx) = mpsc::sync_channel::<Notification>(NOTIFY_QUEUE);
        std::thread::Builder::new()
            .name("beat-commits".into())
            .spawn(move || {
                for (epoch, txs) in rx {
                    let l = listener.clone();
                    // A host exception in the listener must not end the notifications.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
                        callback(|| l.on_commit(epoch, txs))
                    }));
                }
            })
            .map_err(|e| BeatError::Start { message: format!("the commit listener's thread: {e}") })?;
        Ok(Arc::new(Dispatch { tx: Mutex::new(Some(tx)), dropped: Default::default() }))
    }

    /// End the listener's thread (after it told what is queued).
    fn close(&self) {
        self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}

impl driver::CommitListener for Dispatch {
    fn on_commit(&self, epoch: u64, transactions: &[Vec<u8>]) {
        let tx = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = tx.as_ref() {
            if tx.try_send((epoch, transactions.to_vec())).is_err() {
                self.dropped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }
}

/// How a member runs.
#[derive(uniffi::Record)]
pub struct NodeSettings {
    /// Where the node keeps its store (an app-private directory: Android `filesDir`, iOS
    /// Application Support). Created if missing.
    pub data_dir: String,
    /// The committee's cluster file.
    pub cluster_file: Vec<u8>,
    /// This member's sealed key file.
    pub key_file: Vec<u8>,
    /// Its secret.
    pub secret: Arc<KeySecret>,
    /// Where to listen for the committee (`ip:port`). Empty: `0.0.0.0` and the port of this
    /// member's clearnet address in the cluster file.
    #[uniffi(default = "")]
    pub listen: String,
    /// Every member's clearnet `host:port`, by id, overriding the cluster file's (e.g. after
    /// a phone's address changed). Empty: the cluster file's.
    #[uniffi(default = [])]
    pub peers: Vec<String>,
    /// Tor through a SOCKS port (Orbot: `127.0.0.1:9050`); empty: no Tor. The onion service
    /// itself is Orbot's, forwarding to `tor_listen`.
    #[uniffi(default = "")]
    pub tor_socks: String,
    /// Where Orbot's onion service forwards (`ip:port`); empty: `127.0.0.1:<port + 1000>`.
    #[uniffi(default = "")]
    pub tor_listen: String,
    /// I2P through a router's SAM bridge (`ip:port`); empty: no I2P. The node's I2P
    /// destination is kept in `<data_dir>/i2p-destination.key`.
    #[uniffi(default = "")]
    pub i2p_sam: String,
    /// Checkpoint and snapshot every this many epochs (0: 64).
    #[uniffi(default = 0)]
    pub snapshot_every: u64,
}

impl std::fmt::Debug for NodeSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeSettings")
            .field("data_dir", &self.data_dir)
            .field("listen", &self.listen)
            .field("peers", &self.peers)
            .field("tor_socks", &self.tor_socks)
            .field("i2p_sam", &self.i2p_sam)
            .finish_non_exhaustive()
    }
}

fn config_err(message: impl Into<String>) -> BeatError {
    BeatError::Config { message: message.into() }
}

/// Turn the settings into beat-core's node configuration (keys opened and checked).
fn node_config(s: &NodeSettings) -> Result<NodeConfig, BeatError> {
    if s.data_dir.trim().is_empty() {
        return Err(config_err("data_dir is empty: give the node an app-private directory"));
    }
    let cluster = parse_cluster(&s.cluster_file)?;
    sdk_variant(&cluster.public.settings.variant.to_string())?;
    let secret = s.secret.source();
    let (keys, identity) = keystore::open_node_keys(&s.key_file, &secret, &cluster)
        .map_err(|e| BeatError::KeyFile { message: e.to_string() })?;
    let id = keys.id;
    let n = cluster.nodes.len();
    let peers: Vec<String> = if s.peers.is_empty() {
        cluster
            .nodes
            .iter()
            .map(|node| node.addresses.clearnet.clone())
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| config_err("the cluster file lacks a clearnet address for some member; give peers"))?
    } else {
        s.peers.clone()
    };
    if peers.len() != n {
        return Err(config_err(format!("peers names {} members but the committee has {n}", peers.len())));
    }
    let listen: SocketAddr = if s.listen.trim().is_empty() {
        let port = peers[id]
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse::<u16>().ok())
            .ok_or_else(|| config_err(format!("member {id}'s address {:?} has no port; give listen", peers[id])))?;
        SocketAddr::from(([0, 0, 0, 0], port))
    } else {
        s.listen.trim().parse().map_err(|_| config_err(format!("listen {:?} is not ip:port", s.listen)))?
    };
    let data_dir = PathBuf::from(&s.data_dir);
    let mut transports = vec![TransportConfig::Clearnet { listen, peers }];
    if !s.tor_socks.trim().is_empty() {
        let tor_peers =
            cluster.nodes.iter().map(|node| node.addresses.tor.clone()).collect::<Option<Vec<_>>>().ok_or_else(
                || config_err("tor_socks is set but the cluster file lacks a Tor address for some member"),
            )?;
        let tor_listen = if s.tor_listen.trim().is_empty() {
            let port = listen.port().checked_add(1000).ok_or_else(|| config_err("port too large for tor_listen"))?;
            SocketAddr::from(([127, 0, 0, 1], port))
        } else {
            s.tor_listen
                .trim()
                .parse()
                .map_err(|_| config_err(format!("tor_listen {:?} is not ip:port", s.tor_listen)))?
        };
        transports.push(TransportConfig::TorSocks {
            socks: s.tor_socks.trim().into(),
            listen: tor_listen,
            peers: tor_peers,
        });
    }
    if !s.i2p_sam.trim().is_empty() {
        let i2p_peers =
            cluster.nodes.iter().map(|node| node.addresses.i2p.clone()).collect::<Option<Vec<_>>>().ok_or_else(
                || config_err("i2p_sam is set but the cluster file lacks an I2P address for some member"),
            )?;
        let sam = s.i2p_sam.trim().to_string();
        let destination = beat_core::net::sam::load_or_create_destination(&sam, &data_dir.join("i2p-destination.key"))
            .map_err(|e| BeatError::Start { message: format!("I2P: {e}") })?;
        transports.push(TransportConfig::I2pSam { sam, destination, peers: i2p_peers });
    }
    let peer_identities = cluster.nodes.iter().map(|node| node.identity).collect();
    Ok(NodeConfig {
        snapshot_every: if s.snapshot_every == 0 { 64 } else { s.snapshot_every },
        ..NodeConfig::new(keys, identity, peer_identities, transports, data_dir)
    })
}

/// Why the node is not committing, if it is not.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum NodeState {
    /// Running with a quorum reachable, caught up.
    Running,
    /// Fewer than `n − f − 1` other members have been reachable for a while: writes wait.
    NoQuorum,
    /// Starting, connecting, or behind the committee and fetching the epochs it missed.
    CatchingUp,
    /// Paused by the app (`pause`); `resume` starts it again.
    Paused,
    /// Stopped (`stop`), or stopped on its own: `reason` says why (`resume` restarts a node
    /// that stopped on its own).
    Stopped {
        /// Why.
        reason: String,
    },
}

/// What the node is doing.
#[derive(Debug, Clone, uniffi::Record)]
pub struct NodeStatus {
    /// Why it is not committing, if it is not.
    pub state: NodeState,
    /// This member's id.
    pub id: u32,
    /// The lowest epoch not yet committed (while paused or stopped: when it paused).
    pub epoch: u64,
    /// The committee's epoch as far as this node can tell.
    pub committee_epoch: u64,
    /// Transactions committed since the node (re)started (replays included).
    pub committed_txs: u64,
    /// Other members reachable on at least one network.
    pub peers_connected: u32,
    /// Transactions submitted here and not yet proposed.
    pub submit_queue: u64,
    /// Bytes of the store on disk.
    pub store_bytes: u64,
    /// Commit notifications the listener missed (it fell more than 4,096 epochs behind).
    pub notifications_dropped: u64,
}

/// A node launched from the store: the driver's node and when it started.
type Launched = (Arc<driver::BeatNode<HostApp>>, std::time::Instant);

enum Run {
    Running(Launched),
    /// Between `pause` and `resume`, or while (re)starting; the last status seen.
    Paused(Option<NodeStatus>),
    Starting,
    Stopped(String, Option<NodeStatus>),
}

/// How long a fresh node may take to reach its peers before `NoQuorum` is reported.
const CONNECT_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// A committee member running on this device.
#[derive(uniffi::Object)]
pub struct BeatNode {
    config: NodeConfig,
    app: Arc<dyn App>,
    genesis: Arc<Vec<u8>>,
    listener: Option<Arc<Dispatch>>,
    run: Mutex<Run>,
}

impl std::fmt::Debug for BeatNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BeatNode").field("id", &self.config.keys.id).finish_non_exhaustive()
    }
}

#[uniffi::export]
impl BeatNode {
    /// Open the keys, the store (rebuilding `app`, which must be in its initial state, from
    /// it) and the networks, and run. `listener` is told about every commit, off the consensus
    /// thread. Blocks while the store replays: call it off the UI thread.
    #[uniffi::constructor]
    pub fn start(
        settings: NodeSettings,
        app: Arc<dyn App>,
        listener: Option<Arc<dyn CommitListener>>,
    ) -> Result<Arc<Self>, BeatError> {
        not_in_callback("BeatNode.start")?;
        let config = node_config(&settings)?;
        let genesis = callback(|| app.snapshot()).map_err(|e| BeatError::Start {
            message: format!("the app's snapshot of its initial state failed: {e}"),
        })?;
        let node = BeatNode {
            config,
            app,
            genesis: Arc::new(genesis),
            listener: listener.map(Dispatch::spawn).transpose()?,
            run: Mutex::new(Run::Starting),
        };
        let launched = node.launch()?;
        *node.lock() = Run::Running(launched);
        Ok(Arc::new(node))
    }

    /// Submit a transaction; it commits once the committee orders it (see `CommitListener`).
    pub fn submit(&self, transaction: Vec<u8>) -> Result<(), BeatError> {
        not_in_callback("submit")?;
        let node = self.running()?;
        node.submit(transaction).map_err(|e| match e {
            SubmitError::Stopped => {
                BeatError::Stopped { message: node.status().failed.unwrap_or_else(|| "the node stopped".into()) }
            }
            other => BeatError::Refused { message: other.to_string() },
        })
    }

    /// What the node is doing, and why it is not committing if it is not. Never blocks on
    /// the node (also not while it starts or stops).
    pub fn status(&self) -> NodeStatus {
        let run = self.lock();
        let (node, launched) = match &*run {
            Run::Running((node, at)) => (node.clone(), *at),
            Run::Starting => return self.idle(NodeState::CatchingUp, None),
            Run::Paused(last) => return self.idle(NodeState::Paused, last.as_ref()),
            Run::Stopped(why, last) => return self.idle(NodeState::Stopped { reason: why.clone() }, last.as_ref()),
        };
        drop(run);
        let s = node.status();
        let params = self.config.keys.public.params;
        let state = if let Some(why) = &s.failed {
            NodeState::Stopped { reason: why.clone() }
        } else if s.peers_connected + 1 < params.n - params.f {
            if launched.elapsed() < CONNECT_GRACE {
                NodeState::CatchingUp
            } else {
                NodeState::NoQuorum
            }
        } else if s.rejoin_fence.is_none() || s.committee_epoch > s.epoch + 1 {
            NodeState::CatchingUp
        } else {
            NodeState::Running
        };
        NodeStatus {
            state,
            id: self.config.keys.id as u32,
            epoch: s.epoch,
            committee_epoch: s.committee_epoch,
            committed_txs: s.committed_txs,
            peers_connected: s.peers_connected as u32,
            submit_queue: s.submit_queue as u64,
            store_bytes: s.store_bytes,
            notifications_dropped: self.dropped(),
        }
    }

    /// The app is going to the background: stop the node cleanly (store flushed, sockets
    /// closed). Nothing committed is lost; `resume` picks up where it left off. Blocks until
    /// the node stopped (at most a few seconds): call it off the UI thread.
    pub fn pause(&self) -> Result<(), BeatError> {
        not_in_callback("pause")?;
        let last = Some(self.status());
        let taken = {
            let mut run = self.lock();
            match &*run {
                Run::Running(_) => match std::mem::replace(&mut *run, Run::Paused(last)) {
                    Run::Running((node, _)) => Some(node),
                    _ => None,
                },
                _ => None,
            }
        };
        if let Some(node) = taken {
            stop_node(node);
        }
        Ok(())
    }

    /// Back in the foreground: start the node again from its store (it catches up with what
    /// the committee committed meanwhile). Also restarts a node that stopped on its own. A
    /// no-op while running. Blocks while the store replays: call it off the UI thread.
    pub fn resume(&self) -> Result<(), BeatError> {
        not_in_callback("resume")?;
        {
            let mut run = self.lock();
            let failed = match &*run {
                Run::Running((node, _)) => node.status().failed.is_some(),
                Run::Paused(_) => true,
                Run::Starting | Run::Stopped(..) => false,
            };
            if !failed {
                return match &*run {
                    Run::Stopped(why, _) => Err(BeatError::Stopped { message: why.clone() }),
                    _ => Ok(()),
                };
            }
            if let Run::Running((node, _)) = std::mem::replace(&mut *run, Run::Starting) {
                drop(run);
                stop_node(node);
            }
        }
        match self.launch() {
            Ok(launched) => {
                *self.lock() = Run::Running(launched);
                Ok(())
            }
            Err(e) => {
                *self.lock() = Run::Paused(None);
                Err(e)
            }
        }
    }

    /// The device's network changed (Wi-Fi ↔ cellular): close every connection and dial the
    /// committee again now, instead of waiting for the links' timeouts and back-off. (It
    /// restarts the node from its store: a few hundred milliseconds plus the replay.)
    pub fn network_changed(&self) -> Result<(), BeatError> {
        not_in_callback("network_changed")?;
        if matches!(&*self.lock(), Run::Running(_)) {
            self.pause()?;
            self.resume()?;
        }
        Ok(())
    }

    /// Stop for good (store flushed, the listener's thread ended). Later calls fail with
    /// `Stopped`; `stop` again is a no-op. Blocks until the node stopped.
    pub fn stop(&self) -> Result<(), BeatError> {
        not_in_callback("stop")?;
        self.stop_now();
        Ok(())
    }
}

/// Stop a launched node: wait (briefly) for calls in flight on other threads to let go of it,
/// then shut it down, flushing its store; if one still holds it, it stops when let go.
fn stop_node(node: Arc<driver::BeatNode<HostApp>>) {
    let mut node = node;
    for _ in 0..500 {
        match Arc::try_unwrap(node) {
            Ok(n) => return n.shutdown(),
            Err(shared) => node = shared,
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    drop(node);
}

impl BeatNode {
    fn lock(&self) -> std::sync::MutexGuard<'_, Run> {
        self.run.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The running node (the lock is not held while it is used).
    fn running(&self) -> Result<Arc<driver::BeatNode<HostApp>>, BeatError> {
        match &*self.lock() {
            Run::Running((node, _)) => Ok(node.clone()),
            Run::Paused(_) => Err(BeatError::Stopped { message: "paused: call resume() first".into() }),
            Run::Starting => Err(BeatError::Stopped { message: "starting: try again in a moment".into() }),
            Run::Stopped(why, _) => Err(BeatError::Stopped { message: why.clone() }),
        }
    }

    fn dropped(&self) -> u64 {
        self.listener.as_ref().map_or(0, |d| d.dropped.load(std::sync::atomic::Ordering::Relaxed))
    }

    fn idle(&self, state: NodeState, last: Option<&NodeStatus>) -> NodeStatus {
        NodeStatus {
            state,
            id: self.config.keys.id as u32,
            epoch: last.map_or(0, |s| s.epoch),
            committee_epoch: last.map_or(0, |s| s.committee_epoch),
            committed_txs: last.map_or(0, |s| s.committed_txs),
            peers_connected: 0,
            submit_queue: 0,
            store_bytes: last.map_or(0, |s| s.store_bytes),
            notifications_dropped: self.dropped(),
        }
    }

    fn launch(&self) -> Result<Launched, BeatError> {
        let app = HostApp { app: self.app.clone(), genesis: self.genesis.clone(), fresh: true };
        let listener = self.listener.clone().map(|d| d as Arc<dyn driver::CommitListener>);
        let config = self.config.clone();
        // The replay runs the host's app: an error there (a panic of `HostApp`) is a failed
        // start with its reason, not an unexpected error in the host.
        let started =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| driver::BeatNode::start(config, app, listener)));
        match started {
            Ok(Ok(node)) => Ok((Arc::new(node), std::time::Instant::now())),
            Ok(Err(e)) => Err(BeatError::Start { message: e.to_string() }),
            Err(panic) => Err(BeatError::Start {
                message: panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "the node panicked while starting".into()),
            }),
        }
    }

    fn stop_now(&self) {
        let last = Some(self.status());
        let taken = match std::mem::replace(&mut *self.lock(), Run::Stopped("stopped by the app".into(), last)) {
            Run::Running((node, _)) => Some(node),
            _ => None,
        };
        if let Some(node) = taken {
            stop_node(node);
        }
        if let Some(d) = &self.listener {
            d.close();
        }
    }
}

impl Drop for BeatNode {
    fn drop(&mut self) {
        if IN_CALLBACK.with(std::cell::Cell::get) {
            // Freed from inside a callback (a garbage collector's timing): stopping here would
            // wait for this very thread; stop on another.
            let taken = std::mem::replace(&mut *self.lock(), Run::Stopped("freed".into(), None));
            if let Run::Running((node, _)) = taken {
                std::thread::spawn(move || stop_node(node));
            }
            if let Some(d) = &self.listener {
                d.close();
            }
            return;
        }
        self.stop_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use beat_core::app::ConsensusApp as _;

    /// Records what the node handed it; refuses to apply epoch 99.
    #[derive(Default)]
    struct Recorder {
        calls: Mutex<Vec<String>>,
    }

    impl App for Recorder {
        fn apply(&self, epoch: u64, transactions: Vec<Vec<u8>>) -> Result<(), AppError> {
            if epoch == 99 {
                return Err(AppError::Refused { reason: "disk full".into() });
            }
            self.calls.lock().unwrap().push(format!("apply {epoch} {}", transactions.len()));
            Ok(())
        }
        fn snapshot(&self) -> Result<Vec<u8>, AppError> {
            Ok(b"snap".to_vec())
        }
        fn restore(&self, snapshot: Vec<u8>) -> Result<(), AppError> {
            self.calls.lock().unwrap().push(format!("restore {}", String::from_utf8_lossy(&snapshot)));
            Ok(())
        }
        fn validate(&self, transaction: Vec<u8>) -> Result<(), AppError> {
            if transaction.is_empty() {
                return Err(AppError::Refused { reason: "empty".into() });
            }
            Ok(())
        }
    }

    /// Each launch rebuilds the host object from the store: from the store's snapshot when it
    /// has one, else from the initial state (reset before the first epoch), so a host object
    /// that lives across `pause`/`resume` never keeps epochs the store would replay.
    #[test]
    fn each_launch_rebuilds_the_host_app_from_the_store() {
        let rec = Arc::new(Recorder::default());
        let genesis = Arc::new(b"genesis".to_vec());
        let launch = || HostApp { app: rec.clone(), genesis: genesis.clone(), fresh: true };
        // No snapshot in the store: reset to the initial state, then the epochs.
        let mut first = launch();
        first.apply(0, &[vec![1]]);
        first.apply(1, &[vec![1]]);
        // Relaunch with a snapshot: restore it, then the later epochs; no reset.
        let mut second = launch();
        second.restore(b"s1").unwrap();
        second.apply(2, &[vec![1]]);
        // Relaunch without a snapshot (say, a wiped store): reset again, replay from 0.
        let mut third = launch();
        third.apply(0, &[vec![1]]);
        let calls = rec.calls.lock().unwrap().clone();
        assert_eq!(
            calls,
            ["restore genesis", "apply 0 1", "apply 1 1", "restore s1", "apply 2 1", "restore genesis", "apply 0 1"]
        );
        assert_eq!(third.validate(b"").unwrap_err(), "empty");
        assert!(third.validate(b"x").is_ok());
        // An error of the host's `apply` stops the node with its reason (a panic beat-core's
        // loop turns into the node's failure).
        let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| third.apply(99, &[]))).unwrap_err();
        let why = panic.downcast_ref::<String>().unwrap();
        assert!(why.contains("epoch 99") && why.contains("disk full"), "{why}");
    }

    /// A call into the node from inside a host callback is refused instead of deadlocking.
    #[test]
    fn calls_from_inside_a_callback_are_refused() {
        assert!(not_in_callback("submit").is_ok());
        let refused = callback(|| not_in_callback("submit")).unwrap_err();
        assert!(refused.to_string().contains("inside an App or CommitListener callback"), "{refused}");
        assert!(not_in_callback("submit").is_ok(), "the flag is cleared after the callback");
    }

    #[test]
    fn secrets_never_reach_debug() {
        let s = KeySecret::passphrase("hunter2".into()).unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
        let k = KeySecret::raw_key(vec![0xab; 32]).unwrap();
        assert!(!format!("{k:?}").to_lowercase().contains("ab, "), "{k:?}");
        assert!(KeySecret::raw_key(vec![1; 31]).is_err() && KeySecret::passphrase(String::new()).is_err());
        let settings = NodeSettings {
            data_dir: "/d".into(),
            cluster_file: vec![],
            key_file: vec![7; 9],
            secret: s,
            listen: String::new(),
            peers: vec![],
            tor_socks: String::new(),
            tor_listen: String::new(),
            i2p_sam: String::new(),
            snapshot_every: 0,
        };
        let d = format!("{settings:?}");
        assert!(!d.contains("hunter2") && !d.contains("7, 7"), "{d}");
    }
}
