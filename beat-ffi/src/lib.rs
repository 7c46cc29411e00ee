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

/// The secret a member's key file is sealed under.
#[derive(uniffi::Enum)]
pub enum KeySecret {
    /// A passphrase (stretched with Argon2id, OWASP parameters: about 19 MiB and a fraction of
    /// a second on a phone).
    Passphrase {
        /// The passphrase.
        passphrase: String,
    },
    /// A raw 32-byte key, e.g. from the Android Keystore or the iOS Keychain.
    RawKey {
        /// 32 bytes.
        key: Vec<u8>,
    },
}

impl std::fmt::Debug for KeySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KeySecret::Passphrase { .. } => "KeySecret::Passphrase(..)",
            KeySecret::RawKey { .. } => "KeySecret::RawKey(..)",
        })
    }
}

impl KeySecret {
    fn source(&self) -> Result<KeySource, BeatError> {
        match self {
            KeySecret::Passphrase { passphrase } if passphrase.is_empty() => {
                Err(BeatError::Config { message: "the passphrase is empty".into() })
            }
            KeySecret::Passphrase { passphrase } => Ok(KeySource::passphrase(passphrase.clone())),
            KeySecret::RawKey { key } => {
                let raw: [u8; 32] = key
                    .as_slice()
                    .try_into()
                    .map_err(|_| BeatError::Config { message: format!("a raw key is 32 bytes, not {}", key.len()) })?;
                Ok(KeySource::Raw(Zeroizing::new(raw)))
            }
        }
    }
}

/// What [`generate_committee`] deals.
#[derive(Debug, uniffi::Record)]
pub struct CommitteeSpec {
    /// `BEAT0` … `BEAT4` (BEAT0: encrypted transactions; BEAT3/4: storage).
    pub variant: String,
    /// Each member's clearnet `host:port`, by id; 4 to 7 members (f = 1 or 2).
    pub addresses: Vec<String>,
    /// Each member's Tor `….onion:port`, by id, or empty.
    pub tor_addresses: Vec<String>,
    /// Each member's I2P `….b32.i2p` or destination, by id, or empty.
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
pub fn generate_committee(spec: CommitteeSpec, secrets: Vec<KeySecret>) -> Result<Committee, BeatError> {
    let variant = Variant::from_name(&spec.variant).ok_or_else(|| BeatError::Config {
        message: format!("variant {:?}: expected BEAT0 … BEAT4", spec.variant),
    })?;
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
    let sources = secrets.iter().map(KeySecret::source).collect::<Result<Vec<_>, _>>()?;
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

fn parse_cluster(bytes: &[u8]) -> Result<ClusterConfig, BeatError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| BeatError::ClusterFile { message: "not UTF-8 text (is this a key file?)".into() })?;
    ClusterConfig::from_toml(text).map_err(|e| BeatError::ClusterFile { message: e.to_string() })
}

/// The host's replicated state machine. Every member runs the same code on the same committed
/// transactions, so every member's state is the same.
///
/// Called on the node's consensus thread, one call at a time: keep `apply` quick and never
/// block on the UI. The node persists snapshots itself; the app keeps its state in memory.
#[uniffi::export(with_foreign)]
pub trait App: Send + Sync {
    /// Apply epoch `epoch`'s committed transactions, in order (epochs 0, 1, 2, … without gaps).
    fn apply(&self, epoch: u64, transactions: Vec<Vec<u8>>);
    /// The whole state, for the node's snapshot.
    fn snapshot(&self) -> Vec<u8>;
    /// Replace the state with one `snapshot` returned (at start, from the node's store).
    fn restore(&self, snapshot: Vec<u8>) -> Result<(), AppError>;
    /// Whether a transaction may be submitted (checked at `submit`).
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
    fn apply(&self, epoch: u64, transactions: Vec<Vec<u8>>) {
        use beat_core::app::ConsensusApp as _;
        self.lock().apply(epoch, &transactions);
    }

    fn snapshot(&self) -> Vec<u8> {
        use beat_core::app::ConsensusApp as _;
        self.lock().snapshot()
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

/// The bridge from beat-core's [`beat_core::app::ConsensusApp`] to the host's [`App`]. The
/// same host object lives across `pause` / `resume` (a restart of the node from its store,
/// which replays the epochs after its latest snapshot): epochs the object already applied are
/// not applied again, and its state is not rolled back to the snapshot.
struct HostApp {
    app: Arc<dyn App>,
    /// The next epoch the host object expects (0: it has applied nothing).
    next: Arc<Mutex<u64>>,
}

impl beat_core::app::ConsensusApp for HostApp {
    fn apply(&mut self, epoch: u64, transactions: &[Vec<u8>]) {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        if epoch < *next {
            return;
        }
        self.app.apply(epoch, transactions.to_vec());
        *next = epoch + 1;
    }

    fn snapshot(&self) -> Vec<u8> {
        self.app.snapshot()
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<(), String> {
        // A host object that already applied epochs is ahead of (or at) any snapshot of this
        // node's store; restoring would roll it back and the replay would skip what it lost.
        if *self.next.lock().unwrap_or_else(|p| p.into_inner()) > 0 {
            return Ok(());
        }
        self.app.restore(snapshot.to_vec()).map_err(|e| e.to_string())
    }

    fn validate(&self, transaction: &[u8]) -> Result<(), String> {
        self.app.validate(transaction.to_vec()).map_err(|e| e.to_string())
    }
}

/// Told about every committed epoch, on a thread of its own (never the consensus thread): a
/// slow listener delays only later notifications. After a restart, epochs after the node's
/// latest snapshot are told again; use `epoch` to recognise them.
#[uniffi::export(with_foreign)]
pub trait CommitListener: Send + Sync {
    /// Epoch `epoch` committed these transactions (after the app applied them).
    fn on_commit(&self, epoch: u64, transactions: Vec<Vec<u8>>);
}

/// Forwards commits to the host's listener through a channel and a thread of its own.
struct Dispatch {
    tx: Mutex<mpsc::Sender<(u64, Vec<Vec<u8>>)>>,
}

impl Dispatch {
    fn spawn(listener: Arc<dyn CommitListener>) -> Arc<Self> {
        let (tx, rx) = mpsc::channel::<(u64, Vec<Vec<u8>>)>();
        std::thread::Builder::new()
            .name("beat-commits".into())
            .spawn(move || {
                // Ends when the node (the last sender) is gone.
                for (epoch, txs) in rx {
                    let l = listener.clone();
                    // A host exception in the listener must not end the notifications.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || l.on_commit(epoch, txs)));
                }
            })
            .ok();
        Arc::new(Dispatch { tx: Mutex::new(tx) })
    }
}

impl driver::CommitListener for Dispatch {
    fn on_commit(&self, epoch: u64, transactions: &[Vec<u8>]) {
        if let Ok(tx) = self.tx.lock() {
            let _ = tx.send((epoch, transactions.to_vec()));
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
    pub secret: KeySecret,
    /// Where to listen for the committee (`ip:port`). Empty: `0.0.0.0` and the port of this
    /// member's clearnet address in the cluster file.
    pub listen: String,
    /// Every member's clearnet `host:port`, by id, overriding the cluster file's (e.g. after
    /// a phone's address changed). Empty: the cluster file's.
    pub peers: Vec<String>,
    /// Tor through a SOCKS port (Orbot: `127.0.0.1:9050`); empty: no Tor. The onion service
    /// itself is Orbot's, forwarding to `tor_listen`.
    pub tor_socks: String,
    /// Where Orbot's onion service forwards (`ip:port`); empty: `127.0.0.1:<port + 1000>`.
    pub tor_listen: String,
    /// I2P through a router's SAM bridge (`ip:port`); empty: no I2P. The node's I2P
    /// destination is kept in `<data_dir>/i2p-destination.key`.
    pub i2p_sam: String,
    /// Checkpoint and snapshot every this many epochs (0: 64).
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
    let secret = s.secret.source()?;
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
    /// Fewer than `n − f − 1` other members are reachable on any network: writes wait.
    NoQuorum,
    /// Behind the committee, fetching the epochs it missed.
    CatchingUp,
    /// Paused by the app (`pause`); `resume` starts it again.
    Paused,
    /// Stopped (`stop`), or stopped on its own: `reason` says why.
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
    /// The lowest epoch not yet committed.
    pub epoch: u64,
    /// The committee's epoch as far as this node can tell.
    pub committee_epoch: u64,
    /// Transactions committed since start (replays included).
    pub committed_txs: u64,
    /// Other members reachable on at least one network.
    pub peers_connected: u32,
    /// Transactions submitted here and not yet proposed.
    pub submit_queue: u64,
    /// Bytes of the store on disk.
    pub store_bytes: u64,
}

enum Run {
    Running(Box<driver::BeatNode<HostApp>>),
    Paused,
    Stopped(String),
}

/// A committee member running on this device.
#[derive(uniffi::Object)]
pub struct BeatNode {
    config: NodeConfig,
    app: Arc<dyn App>,
    next: Arc<Mutex<u64>>,
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
    /// Open the keys, the store (replaying what it holds into `app`) and the networks, and
    /// run. `listener` is told about every commit, off the consensus thread.
    #[uniffi::constructor]
    pub fn start(
        settings: NodeSettings,
        app: Arc<dyn App>,
        listener: Option<Arc<dyn CommitListener>>,
    ) -> Result<Arc<Self>, BeatError> {
        let config = node_config(&settings)?;
        let node = BeatNode {
            config,
            app,
            next: Arc::new(Mutex::new(0)),
            listener: listener.map(Dispatch::spawn),
            run: Mutex::new(Run::Paused),
        };
        let running = node.launch()?;
        *node.lock() = Run::Running(Box::new(running));
        Ok(Arc::new(node))
    }

    /// Submit a transaction; it commits once the committee orders it (see `CommitListener`).
    pub fn submit(&self, transaction: Vec<u8>) -> Result<(), BeatError> {
        let run = self.lock();
        let node = match &*run {
            Run::Running(node) => node,
            Run::Paused => return Err(BeatError::Stopped { message: "paused: call resume() first".into() }),
            Run::Stopped(why) => return Err(BeatError::Stopped { message: why.clone() }),
        };
        node.submit(transaction).map_err(|e| match e {
            SubmitError::Stopped => BeatError::Stopped { message: "the node stopped".into() },
            other => BeatError::Refused { message: other.to_string() },
        })
    }

    /// What the node is doing, and why it is not committing if it is not.
    pub fn status(&self) -> NodeStatus {
        let id = self.config.keys.id as u32;
        let idle = |state| NodeStatus {
            state,
            id,
            epoch: 0,
            committee_epoch: 0,
            committed_txs: 0,
            peers_connected: 0,
            submit_queue: 0,
            store_bytes: 0,
        };
        let run = self.lock();
        let node = match &*run {
            Run::Running(node) => node,
            Run::Paused => return idle(NodeState::Paused),
            Run::Stopped(why) => return idle(NodeState::Stopped { reason: why.clone() }),
        };
        let s = node.status();
        let params = self.config.keys.public.params;
        let state = if let Some(why) = &s.failed {
            NodeState::Stopped { reason: why.clone() }
        } else if s.peers_connected + 1 < params.n - params.f {
            NodeState::NoQuorum
        } else if s.rejoin_fence.is_none() || s.committee_epoch > s.epoch + 1 {
            NodeState::CatchingUp
        } else {
            NodeState::Running
        };
        NodeStatus {
            state,
            id,
            epoch: s.epoch,
            committee_epoch: s.committee_epoch,
            committed_txs: s.committed_txs,
            peers_connected: s.peers_connected as u32,
            submit_queue: s.submit_queue as u64,
            store_bytes: s.store_bytes,
        }
    }

    /// The app is going to the background: stop the node cleanly (store flushed, sockets
    /// closed). Nothing committed is lost; `resume` picks up where it left off.
    pub fn pause(&self) {
        let mut run = self.lock();
        if let Run::Running(_) = &*run {
            if let Run::Running(node) = std::mem::replace(&mut *run, Run::Paused) {
                node.shutdown();
            }
        }
    }

    /// Back in the foreground: start the node again from its store (it catches up with what
    /// the committee committed meanwhile). A no-op unless paused.
    pub fn resume(&self) -> Result<(), BeatError> {
        let mut run = self.lock();
        if let Run::Paused = &*run {
            *run = Run::Running(Box::new(self.launch()?));
        }
        Ok(())
    }

    /// The device's network changed (Wi-Fi ↔ cellular): drop every connection and dial the
    /// committee again now, instead of waiting for the links' timeouts and back-off.
    pub fn network_changed(&self) -> Result<(), BeatError> {
        let mut run = self.lock();
        if let Run::Running(_) = &*run {
            if let Run::Running(node) = std::mem::replace(&mut *run, Run::Paused) {
                node.shutdown();
            }
            *run = Run::Running(Box::new(self.launch()?));
        }
        Ok(())
    }

    /// Stop for good (store flushed). Later calls fail with `Stopped`; `stop` again is a no-op.
    pub fn stop(&self) {
        let mut run = self.lock();
        if let Run::Running(node) = std::mem::replace(&mut *run, Run::Stopped("stopped by the app".into())) {
            node.shutdown();
        }
    }
}

impl BeatNode {
    fn lock(&self) -> std::sync::MutexGuard<'_, Run> {
        self.run.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn launch(&self) -> Result<driver::BeatNode<HostApp>, BeatError> {
        let app = HostApp { app: self.app.clone(), next: self.next.clone() };
        let listener = self.listener.clone().map(|d| d as Arc<dyn driver::CommitListener>);
        driver::BeatNode::start(self.config.clone(), app, listener)
            .map_err(|e| BeatError::Start { message: e.to_string() })
    }
}

impl Drop for BeatNode {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use beat_core::app::ConsensusApp as _;

    /// Records what the node handed it.
    #[derive(Default)]
    struct Recorder {
        calls: Mutex<Vec<String>>,
    }

    impl App for Recorder {
        fn apply(&self, epoch: u64, transactions: Vec<Vec<u8>>) {
            self.calls.lock().unwrap().push(format!("apply {epoch} {}", transactions.len()));
        }
        fn snapshot(&self) -> Vec<u8> {
            b"snap".to_vec()
        }
        fn restore(&self, snapshot: Vec<u8>) -> Result<(), AppError> {
            self.calls.lock().unwrap().push(format!("restore {}", snapshot.len()));
            Ok(())
        }
        fn validate(&self, transaction: Vec<u8>) -> Result<(), AppError> {
            if transaction.is_empty() {
                return Err(AppError::Refused { reason: "empty".into() });
            }
            Ok(())
        }
    }

    /// The host object lives across `pause`/`resume`: a restarted node replays epochs after its
    /// latest snapshot; the object applied them already and must neither be rolled back to the
    /// snapshot nor apply them twice. A fresh object (a new process) is restored and replayed.
    #[test]
    fn host_app_survives_a_restart_without_applying_twice() {
        let rec = Arc::new(Recorder::default());
        let next = Arc::new(Mutex::new(0));
        let mut first = HostApp { app: rec.clone(), next: next.clone() };
        first.restore(b"s0").unwrap();
        for e in 0..5 {
            first.apply(e, &[vec![1]]);
        }
        // Restart: snapshot at epoch 2, replay 2..=4, then new epochs.
        let mut again = HostApp { app: rec.clone(), next: next.clone() };
        again.restore(b"s2").unwrap();
        for e in 2..7 {
            again.apply(e, &[vec![1]]);
        }
        let calls = rec.calls.lock().unwrap().clone();
        let expected: Vec<String> =
            std::iter::once("restore 2".to_string()).chain((0..7).map(|e| format!("apply {e} 1"))).collect();
        assert_eq!(calls, expected);
        assert_eq!(again.validate(b"").unwrap_err(), "empty");
        assert!(again.validate(b"x").is_ok());
    }

    #[test]
    fn secrets_never_reach_debug() {
        let s = KeySecret::Passphrase { passphrase: "hunter2".into() };
        assert!(!format!("{s:?}").contains("hunter2"));
        let k = KeySecret::RawKey { key: vec![0xab; 32] };
        assert!(!format!("{k:?}").contains("ab"));
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
