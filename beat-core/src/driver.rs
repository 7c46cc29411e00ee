//! [`BeatNode`]: the tokio shell around the node core.
//!
//! Everything a node *decides* lives in the sans-IO [`crate::node::NodeCore`] (WAL records,
//! replay, checkpoints, truncation, catch-up, resends, the rejoin fence, every budget); this
//! module only executes what it returns, in the order its [`Ready`] prescribes:
//!
//! 1. append the WAL records, durably before anything is sent or stored on top of them (group
//!    commit, [`persist::append`], for every `Ready`; a failed write stops the node: it must
//!    not send what it could not log);
//! 2. send the frames through the [`Switch`] (every network, first copy wins; resends keep
//!    their message ids);
//! 3. store committed batches in the committed log, apply them to the application, tell the
//!    [`CommitListener`];
//! 4. store a checkpoint, then the application snapshot; drop the WAL prefix behind it;
//! 5. answer catch-up requests from the committed log, on a separate task.
//!
//! **Exactly once.** The application is restored from the latest snapshot and then gets every
//! later committed batch, in order, once (replayed batches from the snapshot's epoch on).
//!
//! **Failure.** A store that cannot write (a full disk), an undecodable WAL record, a protocol
//! error, a poisoned application lock or a panic in the driver stop the node: `status().failed`
//! says why, the daemon exits non-zero, and nothing more is sent. A restart (after freeing
//! space, say) replays the log and goes on.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::app::ConsensusApp;
use crate::beat::{self, Input, NodeKeys, ValueId};
use crate::crypto::hash::tagged_hash;
use crate::metrics::{DropLabel, FaultLabel, LinkLabel, NodeMetrics, TransportLabel};
use crate::net::censor::{Censored, Censors};
use crate::net::reconnect::LinkStatus;
use crate::net::resilient::Resilient;
use crate::net::switch::{Inbound, Switch, SwitchLimits, TransportSetup};
use crate::net::TransportConfig;
use crate::node::core::NO_EPOCH;
use crate::node::persist;
use crate::node::router::{self, Wire};
use crate::node::{CheckpointWrite, CoreConfig, Limits, NodeCore, Ready, RejoinStatus, StoreFragments};
use crate::proto::Event;
use crate::state::{FragmentKey, RedbStore, Store, StoreError};
use crate::NodeId;

/// How a node is set up.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// This node's keys (its id is `keys.id`; the committee's settings are `keys.public.settings`).
    pub keys: NodeKeys,
    /// This node's ed25519 identity (authenticates its channels).
    pub identity: crate::keystore::IdentityKey,
    /// Every node's identity, by id (from the cluster file).
    pub peer_identities: Vec<crate::keystore::IdentityPublic>,
    /// The networks to use (at least one), each with every node's address on it. Every frame
    /// goes out on all of them.
    pub transports: Vec<TransportConfig>,
    /// Protocol tunables (local: the window, buffers, read retention).
    pub beat: beat::Config,
    /// Directory of the node's store.
    pub data_dir: PathBuf,
    /// Snapshot the application every this many epochs.
    pub snapshot_every: u64,
    /// Client transactions waiting for the protocol; `submit` fails beyond it.
    pub submit_queue: usize,
    /// Where to serve `GET /metrics`, if anywhere.
    pub metrics_listen: Option<SocketAddr>,
    /// Payload bytes queued per (peer, network) link while the peer is slow or down (beyond
    /// them, frames of closed epochs go first, then new frames are dropped: it catches up
    /// instead). Default [`crate::net::switch::PEER_QUEUE_BYTES`].
    pub peer_queue_bytes: usize,
    /// A store to use instead of the redb store in `data_dir` (e.g. `state::MemStore`, or
    /// `state::SledStore` with the `sled` feature).
    pub store: Option<Arc<dyn Store>>,
    /// A registry of the embedding host to put the node's metrics in (else the node's own).
    pub registry: Option<Arc<Mutex<prometheus_client::registry::Registry>>>,
    /// Put every transport behind these censors (tests and chaos drills; `None` in production).
    pub censors: Option<Censors>,
    /// Budgets other than the committee's defaults ([`Limits::for_settings`]).
    pub limits: Option<Limits>,
    /// Append the audit trail ([`crate::node::audit`]: every accepted consensus frame's sender,
    /// slot and digest) to this file.
    pub audit_log: Option<PathBuf>,
    /// BEAT3/4: how the node repairs and scrubs its fragments.
    pub upkeep: crate::node::UpkeepConfig,
}

impl NodeConfig {
    /// A member with these keys, identities and networks, its store in `data_dir`, and every
    /// other setting at its default (snapshots every 64 epochs, a queue of 20,000 submits, no
    /// metrics listener, the default per-peer backlog and budgets).
    pub fn new(
        keys: NodeKeys,
        identity: crate::keystore::IdentityKey,
        peer_identities: Vec<crate::keystore::IdentityPublic>,
        transports: Vec<TransportConfig>,
        data_dir: PathBuf,
    ) -> Self {
        NodeConfig {
            keys,
            identity,
            peer_identities,
            transports,
            beat: beat::Config::default(),
            data_dir,
            snapshot_every: 64,
            submit_queue: 20_000,
            metrics_listen: None,
            peer_queue_bytes: crate::net::switch::PEER_QUEUE_BYTES,
            store: None,
            registry: None,
            censors: None,
            limits: None,
            audit_log: None,
            upkeep: crate::node::UpkeepConfig::default(),
        }
    }

    /// A member of a committee on one machine (demos, benchmarks, tests): clearnet only, node
    /// `i` listening on `127.0.0.1:ports[i]`, identities `identities[i]`, its store in
    /// `data_dir`; every other setting at its default (snapshots every 64 epochs, a queue of
    /// 20,000 submits, no metrics listener).
    pub fn loopback(
        keys: NodeKeys,
        identities: &[crate::keystore::IdentityKey],
        ports: &[u16],
        data_dir: PathBuf,
    ) -> Self {
        let me = keys.id;
        let transports = vec![TransportConfig::Clearnet {
            listen: SocketAddr::from(([127, 0, 0, 1], ports[me])),
            peers: ports.iter().map(|p| format!("127.0.0.1:{p}")).collect(),
        }];
        let peers = identities.iter().map(crate::keystore::IdentityKey::public).collect();
        NodeConfig::new(keys, identities[me].clone(), peers, transports, data_dir)
    }
}

/// Receives committed batches (after the application applied them).
pub trait CommitListener: Send + Sync {
    /// Epoch `epoch` committed these transactions. After a crash, epochs after the latest
    /// snapshot are delivered again; use `epoch` to recognise them.
    fn on_commit(&self, epoch: u64, transactions: &[Vec<u8>]);
    /// The whole committed batch (its BEAT2 client identities, BEAT3/4 stored values, …).
    /// Default: [`CommitListener::on_commit`] with its transactions.
    fn on_batch(&self, batch: &beat::Batch) {
        self.on_commit(batch.epoch, &batch.transactions);
    }
}

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The store could not be opened or read.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The listen address is taken or invalid.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A transport could not be opened (the message names it and says why).
    #[error("transport {0}")]
    Transport(String),
    /// No transport is configured.
    #[error("no transport configured: a node needs at least one of clearnet, Tor and I2P")]
    NoTransport,
    /// The peer list does not match the committee.
    #[error("the peer list has {got} entries but the committee has {n} nodes")]
    Peers {
        /// Entries given.
        got: usize,
        /// Committee size.
        n: usize,
    },
    /// Our identity is not the one the cluster lists for our id.
    #[error("this node's identity key is not the one the cluster file lists for its id")]
    Identity,
    /// The tokio runtime could not be built.
    #[error("runtime: {0}")]
    Runtime(std::io::Error),
    /// The application refused its own snapshot.
    #[error("application snapshot: {0}")]
    Snapshot(String),
    /// The WAL or a checkpoint holds something this build cannot read.
    #[error("{0}")]
    Wal(String),
}

/// Why a transaction was not accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SubmitError {
    /// The application's `validate` refused it.
    #[error("invalid transaction: {0}")]
    Invalid(String),
    /// Larger than the committee's `max_tx_size`.
    #[error("transaction of {size} bytes exceeds the committee's limit of {max}")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// BEAT2: not a client ciphertext for this committee (the node orders only what a client
    /// encrypted with [`crate::beat::client::Client::encrypt`] under the committee's key).
    #[error(
        "not a client-encrypted transaction for this committee ({0}); a BEAT2 committee takes only what \
         beat::client::Client::encrypt produces under its public keys"
    )]
    NotClientEncrypted(String),
    /// The submit queue is full; try again later.
    #[error("submit queue full ({0} transactions waiting)")]
    QueueFull(usize),
    /// The node has shut down.
    #[error("node is shut down")]
    Stopped,
}

/// A snapshot of what a node is doing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// The lowest epoch not yet committed.
    pub epoch: u64,
    /// Transactions committed since start (including replayed ones).
    pub committed_txs: u64,
    /// Transactions in the protocol's buffer.
    pub buffered: usize,
    /// Client transactions queued for the protocol (`submit` fails at `submit_queue`).
    pub submit_queue: usize,
    /// Peers reachable (an answering link) on at least one transport.
    pub peers_connected: usize,
    /// Every (peer, transport) link: up or not, reconnections, failures, round trip.
    pub links: Vec<LinkStatus>,
    /// Inbound connections refused or closed on all transports (bad handshakes, unknown keys,
    /// garbage, oversized or tampered frames, handshake floods).
    pub connections_refused: u64,
    /// Inbound frames dropped as copies already delivered by another transport.
    pub duplicates_dropped: u64,
    /// Outbound frames a full per-peer link queue (its byte budget) dropped, all transports
    /// counted (a frame dropped on one may still go on another). A frame queued on no live
    /// link is sent again by this node once its epoch stalls (`NodeCore::unsent`); a count
    /// that keeps growing means a peer or a network is slower than the load.
    pub queue_frames_dropped: u64,
    /// Peer frames dropped by the node core before its WAL (over budget, closed or far-future
    /// epochs, duplicates by content, stale incarnations, unsolicited catch-up answers, …).
    pub frames_dropped: u64,
    /// Client transactions refused before the WAL.
    pub submits_refused: u64,
    /// WAL records written since the node was created.
    pub wal_records: u64,
    /// WAL records kept (the rest was truncated behind checkpoints).
    pub wal_retained: u64,
    /// Faults recorded against peers.
    pub faults: u64,
    /// Epochs taken from peers by catch-up (since start, replays included).
    pub caught_up_epochs: u64,
    /// Frames sent again to peers stuck in an epoch this node was stalled in (since start).
    pub frames_resent: u64,
    /// `None` while the node asks its peers where to rejoin; then `Some(fence)`: it sends
    /// nothing for epochs below `fence` (0 after a clean restart).
    pub rejoin_fence: Option<u64>,
    /// BEAT3/4: fragment repair and scrub (all zero for BEAT0–2).
    pub fragments: crate::node::UpkeepStatus,
    /// The highest epoch `f + 1` peers have shown they reached (heard in their traffic): the
    /// committee's epoch as far as this node can tell.
    pub committee_epoch: u64,
    /// Bytes of the store on disk (measured at start and at each checkpoint).
    pub store_bytes: u64,
    /// Why the node stopped on its own, if it did.
    pub failed: Option<String>,
}

type ReadReply = oneshot::Sender<Result<ReadReport, ReadFailure>>;

/// Who waits for a read's outcome: its caller, or a part of a range read split at fragment
/// boundaries.
enum ReadWaiter {
    Whole(ReadReply),
    Part { join: Arc<Mutex<Join>>, index: usize },
}

impl ReadWaiter {
    /// Its caller gave up (or a sibling part already failed the read).
    fn abandoned(&self) -> bool {
        match self {
            ReadWaiter::Whole(r) => r.is_closed(),
            ReadWaiter::Part { join, .. } => {
                join.lock().map(|j| j.reply.as_ref().is_none_or(oneshot::Sender::is_closed)).unwrap_or(true)
            }
        }
    }
}

/// The parts of a split range read.
struct Join {
    parts: Vec<Option<ReadReport>>,
    reply: Option<ReadReply>,
}

enum Cmd {
    Submit(Vec<u8>),
    Put(Vec<u8>, oneshot::Sender<StoredTx>),
    Read { id: ValueId, range: Option<std::ops::Range<u64>>, reply: ReadReply },
    Shutdown(oneshot::Sender<()>),
}

/// A finished read ([`BeatNode::read_report`]): the bytes and what getting them cost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadReport {
    /// The bytes read.
    pub bytes: Vec<u8>,
    /// Holders read from or asked (this node included when its own fragment served).
    pub nodes_contacted: usize,
    /// Bytes of fragments, chunks and proofs used or received.
    pub bytes_fetched: u64,
}

/// BEAT3/4: where a transaction given to [`BeatNode::put`] was committed: this node's value
/// of an epoch, and the transaction's bytes in it (read them back with
/// `read(stored.id, Some(stored.range))`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredTx {
    /// The committed value holding it.
    pub id: ValueId,
    /// Its bytes' range in the value.
    pub range: std::ops::Range<u64>,
}

/// Why [`BeatNode::put`] gave no location.
#[derive(Debug, thiserror::Error)]
pub enum PutFailure {
    /// The committee runs BEAT0–BEAT2: nothing is stored.
    #[error("put needs a storage committee (BEAT3 or BEAT4); this one runs {0}")]
    NotStored(crate::beat::Variant),
    /// Refused at submission.
    #[error("{0}")]
    Submit(#[from] SubmitError),
    /// Not committed within the time given (the transaction may still commit later; bytes
    /// identical to a transaction committed in the last `dedup_epochs` epochs never do).
    #[error("not committed within {0:?}")]
    TimedOut(Duration),
}

/// Why [`BeatNode::read`] gave no bytes.
#[derive(Debug, thiserror::Error)]
pub enum ReadFailure {
    /// The committee runs BEAT0–BEAT2: nothing is dispersed, there is nothing to read.
    #[error("reads need a storage committee (BEAT3 or BEAT4); this one runs {0}")]
    NotStored(crate::beat::Variant),
    /// The protocol's answer: no such value, not enough valid fragments, a bad range, ….
    #[error("{0}")]
    Read(#[from] crate::beat::ReadError),
    /// No answer within the time given (holders down or slow; the read goes on in the
    /// background and its answer is dropped).
    #[error("no answer within {0:?} (fewer than the needed holders of the value answered)")]
    TimedOut(Duration),
    /// The node has shut down.
    #[error("node is shut down")]
    Stopped,
}

/// How often unanswered reads ask the holders they have not asked yet ([`Input::RetryReads`]).
const READ_RETRY: Duration = Duration::from_secs(1);

fn recover_error(e: persist::RecoverError) -> NodeError {
    match e {
        persist::RecoverError::Store(e) => NodeError::Store(e),
        persist::RecoverError::Corrupt(e) => NodeError::Wal(e),
    }
}
/// Room for the router's envelope around the largest message the core accepts.
const ENVELOPE_ROOM: usize = 4096;

/// A running BEAT node driving application `A`.
pub struct BeatNode<A: ConsensusApp> {
    /// The node's own runtime ([`BeatNode::start`]); `None` when it runs on the embedder's
    /// ([`BeatNode::spawn`]).
    runtime: Option<tokio::runtime::Runtime>,
    cmds: mpsc::Sender<Cmd>,
    app: Arc<Mutex<A>>,
    status: Arc<Mutex<Status>>,
    queue_cap: usize,
    max_tx: usize,
    /// BEAT2: the committee's keys, to check client ciphertexts at submit.
    client_keys: Option<crate::beat::PublicKeys>,
    /// The committee's variant.
    variant: crate::beat::Variant,
    registry: Arc<Mutex<prometheus_client::registry::Registry>>,
    store: Arc<dyn Store>,
    public: crate::beat::PublicKeys,
}

impl<A: ConsensusApp> std::fmt::Debug for BeatNode<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BeatNode").field("status", &self.status()).finish_non_exhaustive()
    }
}

/// The shell's state: the core and everything it executes against.
struct Shell<A: ConsensusApp> {
    core: NodeCore,
    store: Arc<dyn Store>,
    /// The data directory, when the node's store is its own (for the disk gauges).
    data_dir: Option<PathBuf>,
    /// Per (peer, fault kind): when it was last logged, and the faults since.
    fault_log: HashMap<(NodeId, String), (Option<Instant>, u64)>,
    app: Arc<Mutex<A>>,
    listener: Option<Arc<dyn CommitListener>>,
    status: Arc<Mutex<Status>>,
    metrics: NodeMetrics,
    net: Option<Arc<Switch>>,
    session: crate::SessionId,
    started: Instant,
    /// The core's budgets (the switch's frame limit follows them).
    core_limits: Limits,
    /// The audit trail, if kept.
    audit: Option<std::io::BufWriter<std::fs::File>>,
    /// Local submit times by transaction digest (bounded), for the commit-latency histogram.
    submitted: std::collections::HashMap<crate::crypto::hash::Digest, Instant>,
    /// Transport counters already added to the metrics, per transport.
    net_seen: Vec<[u64; 11]>,
    committed_txs: u64,
    refused: u64,
    /// Reads waiting for their outcome, by read number.
    reads: std::collections::HashMap<u64, ReadWaiter>,
    /// BEAT3/4 puts waiting for their transaction's value to commit, by transaction digest.
    puts: std::collections::HashMap<[u8; 32], Vec<oneshot::Sender<StoredTx>>>,
    last_read_retry: Instant,
    /// BEAT3/4: where a fragment store error lands ([`StoreFragments::failure`]).
    fragment_failure: Option<Arc<Mutex<Option<String>>>>,
    /// BEAT3/4: epochs of fragments kept behind a checkpoint (`beat::Config::retain_epochs`).
    fragment_retain: Option<u64>,
}

impl<A: ConsensusApp> Shell<A> {
    /// A fragment store error, if one happened (a poisoned slot still tells).
    fn fragment_failure(&self) -> Option<String> {
        self.fragment_failure.as_ref().and_then(|f| f.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone())
    }

    /// Start a read; its outcome goes to `reply` when the core reports it.
    fn read(&mut self, id: ValueId, range: Option<std::ops::Range<u64>>, reply: ReadReply) -> Ready {
        let pieces = range.as_ref().map(|r| self.range_pieces(id, r)).unwrap_or_default();
        if pieces.len() < 2 {
            let number = self.core.next_read();
            self.reads.insert(number, ReadWaiter::Whole(reply));
            return self.core.read(Input::Read { id, range });
        }
        // BEAT4: a range over several data fragments is one range read per fragment (each
        // fetches only its chunks), joined in order.
        let join = Arc::new(Mutex::new(Join { parts: vec![None; pieces.len()], reply: Some(reply) }));
        let mut ready = Ready::default();
        for (index, piece) in pieces.into_iter().enumerate() {
            let number = self.core.next_read();
            self.reads.insert(number, ReadWaiter::Part { join: join.clone(), index });
            ready.extend(self.core.read(Input::Read { id, range: Some(piece) }));
        }
        ready
    }

    /// BEAT4: `range` of value `id` cut at its data fragments' boundaries (values are framed
    /// with an 8-byte length before them), when it spans from 2 to `k` of them; else empty.
    fn range_pieces(&self, id: ValueId, range: &std::ops::Range<u64>) -> Vec<std::ops::Range<u64>> {
        let beat = self.core.beat();
        let (Some(code), Some(cc)) = (beat.dispersal_code(), beat.committed_checksum(id)) else { return Vec::new() };
        let (size, k) = (cc.fragment_size(), code.linear().k() as u64);
        if !matches!(code, crate::proto::avid_fp::DispersalCode::Pyramid(_))
            || size == 0
            || range.start >= range.end
            || range.end.checked_add(8).is_none_or(|e| e > k.saturating_mul(size))
        {
            return Vec::new();
        }
        let mut pieces = Vec::new();
        let mut a = range.start;
        while a < range.end {
            let end_of_fragment = ((a + 8) / size + 1) * size - 8;
            let b = range.end.min(end_of_fragment);
            pieces.push(a..b);
            a = b;
        }
        pieces
    }

    /// A put's transaction, once its waiter is registered (puts whose caller gave up are
    /// forgotten here too).
    fn wait_put(&mut self, tx: Vec<u8>, reply: oneshot::Sender<StoredTx>) -> Vec<u8> {
        if self.puts.len() >= 4096 {
            self.puts.retain(|_, ws| {
                ws.retain(|w| !w.is_closed());
                !ws.is_empty()
            });
        }
        self.puts.entry(crate::beat::transaction_digest(&tx)).or_default().push(reply);
        tx
    }

    /// Every `READ_RETRY` while reads wait: ask the holders not asked yet, or the silent ones
    /// again. Reads whose caller gave up (timed out, dropped) are cancelled in the core.
    fn retry_reads(&mut self) -> Option<Ready> {
        let abandoned: Vec<u64> = self.reads.iter().filter(|(_, r)| r.abandoned()).map(|(n, _)| *n).collect();
        for n in abandoned {
            self.reads.remove(&n);
            self.core.cancel_read(n);
        }
        if self.reads.is_empty() || self.last_read_retry.elapsed() < READ_RETRY {
            return None;
        }
        self.last_read_retry = Instant::now();
        Some(self.core.read(Input::RetryReads))
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Execute `ready` (see the module doc for the order). `Err`: the node must stop.
    fn execute(&mut self, ready: Ready) -> Result<(), String> {
        if let Some(reason) = &ready.failed {
            return Err(reason.clone());
        }
        if let Some(reason) = self.fragment_failure() {
            return Err(reason);
        }
        // Unconditionally: a step that sends without records of its own (a rejoin finished by
        // a tick, a resend) must still make the deferred records before it durable first.
        persist::append(&*self.store, &ready)?;
        if !ready.append.is_empty() {
            self.metrics.wal_records.set(self.core.next_seq() as i64);
        }
        if let (Some(audit), false) = (&mut self.audit, ready.accepted.is_empty()) {
            use std::io::Write as _;
            let mut text = String::new();
            for a in &ready.accepted {
                text.push_str(&a.line());
                text.push('\n');
            }
            audit.write_all(text.as_bytes()).and_then(|()| audit.flush()).map_err(|e| format!("audit log: {e}"))?;
        }
        if let Some(net) = &self.net {
            let mut unsent = Vec::new();
            for o in &ready.send {
                let queued = match o.transport {
                    None => net.send_with_id(o.to, o.id, o.epoch, o.frame.clone()),
                    // After a reconnection: a peer that restarted needs these on that link.
                    Some(t) => net.resend(o.to, t, o.id, o.epoch, o.frame.clone()),
                };
                if !queued && o.epoch != NO_EPOCH {
                    unsent.push((o.to, o.epoch));
                }
            }
            net.set_watermark(self.core.epoch().saturating_sub(1));
            // Queued on no live link: the core sends these again if their epoch stalls.
            if !unsent.is_empty() {
                self.core.unsent(unsent);
            }
        }
        // The snapshot goes with the checkpoint: exactly the batches before its epoch applied.
        let split = ready.checkpoint.as_ref().map_or(ready.commit.len(), |cp| cp.at_commit.min(ready.commit.len()));
        for (batch, bytes) in &ready.commit[..split] {
            self.commit(batch, bytes)?;
        }
        if let Some(cp) = &ready.checkpoint {
            let app = self.app.lock().map_err(|_| "the application's lock is poisoned".to_string())?;
            let snap = app.snapshot();
            // BEAT3/4 retention: values older than `retain` epochs go — cross-checksums and
            // fragments — unless the application still needs them. Asked with the state the
            // snapshot is of, so every correct node keeps the same values; the checkpoint
            // stored goes without them, so a restart does not bring them back.
            let gone = match self.fragment_retain {
                Some(retain) => self.core.prune_values(cp.epoch.saturating_sub(retain), &mut |id| app.keep_value(id)),
                None => Vec::new(),
            };
            drop(app);
            if gone.is_empty() {
                persist::checkpoint(&*self.store, cp, &snap)?;
            } else {
                let pruned = CheckpointWrite { bytes: self.core.checkpoint_without(&cp.bytes, &gone), ..cp.clone() };
                persist::checkpoint(&*self.store, &pruned, &snap)?;
                let index = self.core.beat().our_id() as u32;
                let keys: Vec<FragmentKey> = gone
                    .iter()
                    .map(|id| FragmentKey { epoch: id.epoch, proposer: id.proposer as u32, index })
                    .collect();
                self.store.delete_fragments(&keys).map_err(|e| format!("store: cannot prune fragments: {e}"))?;
            }
            self.metrics.snapshot_size_bytes.set(snap.len() as i64);
            if let Ok(size) = self.store.size_on_disk() {
                self.metrics.store_size_bytes.set(size as i64);
                if let Ok(mut st) = self.status.lock() {
                    st.store_bytes = size;
                }
            }
        }
        for (batch, bytes) in &ready.commit[split..] {
            self.commit(batch, bytes)?;
        }
        if let Some(seq) = ready.truncate_before {
            persist::truncate(&*self.store, seq)?;
        }
        for req in &ready.serve {
            self.serve(req.to, req.from, req.count);
        }
        for f in &ready.faults {
            let kind = format!("{:?}", f.kind);
            // One line per (peer, kind) per 10 s at most, with the count: a Byzantine member
            // must not flood the log.
            let (last, count) = self.fault_log.entry((f.node, kind.clone())).or_insert((None, 0));
            *count += 1;
            if last.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                tracing::warn!(peer = f.node, kind = %kind, count = *count, "faults recorded against a peer");
                (*last, *count) = (Some(Instant::now()), 0);
            }
            self.metrics.faults.get_or_create(&FaultLabel { peer: f.node as u32, kind }).inc();
        }
        for r in &ready.repairs {
            match &r.result {
                Ok(_) => tracing::info!(
                    epoch = r.id.epoch,
                    proposer = r.id.proposer,
                    bytes = r.bytes_fetched,
                    "fragment repaired from peers"
                ),
                Err(e) => {
                    tracing::warn!(epoch = r.id.epoch, proposer = r.id.proposer, reason = %e, "fragment repair failed")
                }
            }
        }
        for d in &ready.drops {
            let label = DropLabel { peer: d.peer as u32, reason: d.reason.name().into() };
            self.metrics.frames_dropped.get_or_create(&label).inc();
        }
        for ev in &ready.events {
            if let Event::Decided { round, .. } = ev {
                self.metrics.aba_decision_round.observe(f64::from(*round));
            }
        }
        for r in ready.reads {
            let report = r.result.map(|bytes| ReadReport {
                bytes,
                nodes_contacted: r.nodes_contacted,
                bytes_fetched: r.bytes_fetched,
            });
            match self.reads.remove(&r.read) {
                Some(ReadWaiter::Whole(reply)) => {
                    let _ = reply.send(report.map_err(ReadFailure::Read));
                }
                Some(ReadWaiter::Part { join, index }) => {
                    let mut j = join.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    match report {
                        Err(e) => {
                            if let Some(reply) = j.reply.take() {
                                let _ = reply.send(Err(ReadFailure::Read(e)));
                            }
                        }
                        Ok(part) => {
                            if let Some(slot) = j.parts.get_mut(index) {
                                *slot = Some(part);
                            }
                            if j.parts.iter().all(Option::is_some) {
                                let parts: Vec<ReadReport> = j.parts.iter_mut().filter_map(Option::take).collect();
                                let whole = ReadReport {
                                    nodes_contacted: parts.iter().map(|p| p.nodes_contacted).max().unwrap_or(0),
                                    bytes_fetched: parts.iter().map(|p| p.bytes_fetched).sum(),
                                    bytes: parts.into_iter().flat_map(|p| p.bytes).collect(),
                                };
                                if let Some(reply) = j.reply.take() {
                                    let _ = reply.send(Ok(whole));
                                }
                            }
                        }
                    }
                }
                None => {}
            }
        }
        for own in &ready.stored {
            for (digest, range) in &own.transactions {
                for w in self.puts.remove(digest).unwrap_or_default() {
                    let _ = w.send(StoredTx { id: own.id, range: range.clone() });
                }
            }
        }
        self.refused += ready.refused.len() as u64;
        self.metrics.submits_refused.inc_by(ready.refused.len() as u64);
        self.update_status();
        Ok(())
    }

    fn commit(&mut self, b: &beat::Batch, bytes: &[u8]) -> Result<(), String> {
        // Peers catch up from this log: a node that cannot keep it stops.
        persist::commit(&*self.store, b, bytes)?;
        tracing::debug!(epoch = b.epoch, txs = b.transactions.len(), "epoch committed");
        let mut app = self.app.lock().map_err(|_| "the application's lock is poisoned".to_string())?;
        if !b.stored.is_empty() {
            app.stored(b.epoch, &b.stored);
        }
        app.apply(b.epoch, &b.transactions);
        drop(app);
        self.metrics.epoch.set((b.epoch + 1) as i64);
        self.metrics.epochs_committed.inc();
        self.metrics.transactions_committed.inc_by(b.transactions.len() as u64);
        if !self.submitted.is_empty() {
            let now = Instant::now();
            for tx in &b.transactions {
                if let Some(t) = self.submitted.remove(&tagged_hash("BEAT/node/tx", &[tx])) {
                    self.metrics.commit_latency.observe((now - t).as_secs_f64());
                }
            }
        }
        self.committed_txs += b.transactions.len() as u64;
        if let Some(l) = &self.listener {
            l.on_batch(b);
        }
        Ok(())
    }

    /// Answer a catch-up request from the committed log, off the main loop.
    fn serve(&self, to: NodeId, from: u64, count: u32) {
        let (Some(net), store, session) = (self.net.clone(), self.store.clone(), self.session) else { return };
        tokio::task::spawn_blocking(move || {
            for e in from..from.saturating_add(u64::from(count)) {
                match store.get_committed(e) {
                    Ok(Some(batch)) => {
                        let frame = router::encode(session, Wire::Committed { epoch: e, batch: batch.into() });
                        // A peer that does not read its answers gets no more store reads: stop
                        // at the first answer none of its links has room for.
                        if !net.send_queued(to, NO_EPOCH, Arc::new(frame)).1 {
                            break;
                        }
                    }
                    _ => break,
                }
            }
        });
    }

    fn update_status(&self) {
        let core = &self.core;
        let buffered = core.beat().buffered();
        self.metrics.buffered_transactions.set(buffered as i64);
        if let Ok(mut st) = self.status.lock() {
            st.epoch = core.epoch();
            st.committed_txs = self.committed_txs;
            st.buffered = buffered;
            st.wal_records = core.next_seq();
            st.wal_retained = core.next_seq().saturating_sub(core.wal_first());
            st.faults = core.faults();
            let caught_up = advance(&self.metrics.caught_up_epochs, &mut st.caught_up_epochs, core.caught_up_epochs());
            if caught_up > 0 {
                tracing::info!(epochs = caught_up, epoch = core.epoch(), "caught up from peers' committed batches");
            }
            let resent = advance(&self.metrics.frames_resent, &mut st.frames_resent, core.resent_frames());
            if resent > 0 {
                tracing::info!(frames = resent, epoch = core.epoch(), "sent frames again to a stuck peer");
            }
            st.frames_dropped = core.dropped();
            st.submits_refused = self.refused;
            let fence = match core.rejoin_status() {
                RejoinStatus::Asking { .. } => None,
                RejoinStatus::Done { fence } => Some(fence),
            };
            if let (None, Some(f)) = (st.rejoin_fence, fence) {
                tracing::info!(fence = f, epoch = core.epoch(), "rejoined the committee");
            }
            st.rejoin_fence = fence;
            let mut peers: Vec<u64> = core.peer_epochs().to_vec();
            peers.sort_unstable_by(|a, b| b.cmp(a));
            st.committee_epoch = peers.get(core.params().f).copied().unwrap_or(0).max(core.epoch());
            let up = core.upkeep();
            let m = &self.metrics;
            let before = st.fragments;
            m.fragments_missing.set(up.missing as i64);
            m.fragments_repaired.inc_by(up.repaired.saturating_sub(before.repaired));
            m.repair_fetched_bytes.inc_by(up.fetched_bytes.saturating_sub(before.fetched_bytes));
            m.repair_failures.inc_by(up.repair_failures.saturating_sub(before.repair_failures));
            m.scrub_checked.inc_by(up.scrubbed.saturating_sub(before.scrubbed));
            m.scrub_failed.inc_by(up.scrub_bad.saturating_sub(before.scrub_bad));
            st.fragments = up;
        }
    }

    /// The network's counters and link states into the metrics and `status()`; on the timer.
    fn sync_net(&mut self) {
        #[cfg(unix)]
        if let Some(Ok(fs)) = self.data_dir.as_deref().map(rustix::fs::statvfs) {
            let bytes = |blocks: u64| i64::try_from(blocks.saturating_mul(fs.f_frsize)).unwrap_or(i64::MAX);
            self.metrics.disk_available_bytes.set(bytes(fs.f_bavail));
            self.metrics.disk_capacity_bytes.set(bytes(fs.f_blocks));
        }
        let Some(net) = self.net.clone() else { return };
        let (mut refused, mut duplicates, mut queue_dropped) = (0, 0, 0);
        let m = &self.metrics;
        let fams = [
            &m.messages_sent,
            &m.bytes_sent,
            &m.messages_received,
            &m.bytes_received,
            &m.messages_dropped,
            &m.connections_refused,
            &m.duplicates_dropped,
            &m.messages_expired,
            &m.handshakes_evicted,
            &m.unmatched_pongs,
            &m.delivered_elsewhere,
        ];
        for (t, (kind, counters)) in net.counters().enumerate() {
            let label = TransportLabel { transport: kind.name().into() };
            let now = counters.snapshot();
            queue_dropped += now[4];
            refused += now[5];
            duplicates += now[6];
            for ((fam, now), seen) in fams.iter().zip(now).zip(self.net_seen[t].iter_mut()) {
                fam.get_or_create(&label).inc_by(now.saturating_sub(*seen));
                *seen = now;
            }
            m.peers_connected.get_or_create(&label).set(net.peers_up_on(t) as i64);
        }
        let links = net.links();
        for link in &links {
            let label = LinkLabel { peer: link.peer as u32, transport: link.transport.name().into() };
            m.link_up.get_or_create(&label).set(i64::from(link.up));
            m.link_connects.get_or_create(&label).set(link.connects as i64);
            if let Some(rtt) = link.rtt_us {
                m.link_rtt.get_or_create(&label).set(rtt as f64 / 1e6);
            }
            m.link_in_flight.get_or_create(&label).set(i64::try_from(link.in_flight_bytes).unwrap_or(i64::MAX));
        }
        if let Ok(mut st) = self.status.lock() {
            st.peers_connected = net.peers_reachable();
            st.links = links;
            st.connections_refused = refused;
            st.duplicates_dropped = duplicates;
            st.queue_frames_dropped = queue_dropped;
        }
    }

    fn fail(&self, reason: String) {
        tracing::error!(node = self.core.beat().our_id(), %reason, "node stopped");
        if let Ok(mut st) = self.status.lock() {
            st.failed.get_or_insert(reason);
        }
    }
}

/// Everything [`BeatNode::start`] and [`BeatNode::spawn`] share up to the running loop.
struct Prepared<A: ConsensusApp> {
    shell: Shell<A>,
    ready: Ready,
    config: NodeConfig,
    registry: Arc<Mutex<prometheus_client::registry::Registry>>,
}

fn check_config(config: &NodeConfig) -> Result<(), NodeError> {
    let n = config.keys.public.params.n;
    if config.transports.is_empty() {
        return Err(NodeError::NoTransport);
    }
    for t in &config.transports {
        if t.peers().len() != n {
            return Err(NodeError::Peers { got: t.peers().len(), n });
        }
    }
    if config.peer_identities.len() != n {
        return Err(NodeError::Peers { got: config.peer_identities.len(), n });
    }
    if config.peer_identities[config.keys.id] != config.identity.public() {
        return Err(NodeError::Identity);
    }
    Ok(())
}

/// Open the store, restore the application, replay the log page by page (the core rebuilds its
/// state; batches after the snapshot are applied again).
fn prepare<A: ConsensusApp>(
    config: NodeConfig,
    app: A,
    listener: Option<Arc<dyn CommitListener>>,
) -> Result<Prepared<A>, NodeError> {
    check_config(&config)?;
    let store: Arc<dyn Store> = match &config.store {
        Some(store) => store.clone(),
        None => {
            crate::keystore::storage::create_private_dir(&config.data_dir)
                .map_err(|e| NodeError::Store(StoreError::Io { path: config.data_dir.clone(), source: e }))?;
            Arc::new(RedbStore::open(&config.data_dir)?)
        }
    };
    let recovered = persist::recover(&*store, rand::random).map_err(recover_error)?;
    let mut app = app;
    if let Some((_, bytes)) = &recovered.snapshot {
        app.restore(bytes).map_err(NodeError::Snapshot)?;
    }
    let applied_next = recovered.recovery.applied_next;
    let settings = config.keys.public.settings.clone();
    let n = config.keys.public.params.n;
    let mut core_config = CoreConfig::for_settings(&settings, n);
    core_config.beat = config.beat.clone();
    // BEAT3/4: the shell prunes old values at checkpoints, asking the application
    // (`ConsensusApp::keep_value`); the protocol must not drop their cross-checksums itself.
    // Without checkpoints the protocol prunes them (and the application keeps nothing).
    let app_retention = settings.variant.dispersed() && config.snapshot_every > 0;
    if app_retention {
        core_config.beat.retain_epochs = u64::MAX;
    }
    core_config.snapshot_every = config.snapshot_every;
    if let Some(limits) = &config.limits {
        core_config.limits = limits.clone();
    }
    core_config.upkeep = config.upkeep.clone();
    let audit = match &config.audit_log {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| NodeError::Wal(format!("audit log {}: {e}", path.display())))?;
            core_config.audit = true;
            Some(std::io::BufWriter::new(file))
        }
        None => None,
    };
    let mut core =
        NodeCore::new(config.keys.clone(), core_config.clone(), recovered.seed, rand::random(), &recovered.recovery);
    // BEAT3/4: fragments in the node's store, so reads survive restarts and WAL truncation.
    let fragment_failure = settings.variant.dispersed().then(|| {
        let fragments = StoreFragments::new(store.clone(), config.keys.id);
        let failure = fragments.failure();
        core.set_fragment_store(Box::new(fragments));
        failure
    });
    let (metrics, registry) = match &config.registry {
        Some(r) => {
            let m = r.lock().map(|mut reg| NodeMetrics::register(&mut reg));
            (m.map_err(|_| NodeError::Snapshot("metrics registry lock poisoned".into()))?, r.clone())
        }
        None => NodeMetrics::new(),
    };
    let mut shell = Shell {
        core,
        store: store.clone(),
        data_dir: config.store.is_none().then(|| config.data_dir.clone()),
        fault_log: HashMap::new(),
        app: Arc::new(Mutex::new(app)),
        listener,
        status: Arc::new(Mutex::new(Status {
            epoch: applied_next,
            store_bytes: store.size_on_disk().unwrap_or(0),
            ..Status::default()
        })),
        metrics,
        net: None,
        session: config.keys.public.session,
        started: Instant::now(),
        core_limits: core_config.limits.clone(),
        audit,
        submitted: Default::default(),
        net_seen: vec![[0; 11]; config.transports.len()],
        committed_txs: 0,
        refused: 0,
        reads: Default::default(),
        puts: Default::default(),
        last_read_retry: Instant::now(),
        fragment_retain: app_retention.then_some(config.beat.retain_epochs),
        fragment_failure,
    };
    // Replay, a page at a time, applying what committed before the next page.
    let mut next = 0;
    while let Some(ready) = persist::replay_page(&mut shell.core, &*store, &mut next).map_err(recover_error)? {
        for (batch, bytes) in &ready.commit {
            shell.commit(batch, bytes).map_err(NodeError::Wal)?;
        }
    }
    if let Some(reason) = shell.fragment_failure() {
        return Err(NodeError::Wal(reason));
    }
    let now = shell.now_ms();
    let ready = shell.core.start(now);
    shell.update_status();
    Ok(Prepared { shell, ready, config, registry })
}

/// Open the transports and the switch, serve metrics (must run inside the runtime).
/// Move a status total and its Prometheus counter to the core's `now`; the increase.
fn advance(counter: &prometheus_client::metrics::counter::Counter, total: &mut u64, now: u64) -> u64 {
    let delta = now.saturating_sub(*total);
    counter.inc_by(delta);
    *total = now;
    delta
}

async fn open_network<A: ConsensusApp>(
    p: &mut Prepared<A>,
    in_tx: mpsc::Sender<Inbound>,
    conn_tx: mpsc::UnboundedSender<(NodeId, usize)>,
) -> Result<(), NodeError> {
    let config = &p.config;
    let (me, session) = (config.keys.id, config.keys.public.session);
    let channel_keys =
        Arc::new(crate::net::handshake::ChannelKeys::new(me, &config.identity, &config.peer_identities, &session));
    let name = format!("beat-{}-{me}", hex::encode(&session.0[..4]));
    let mut setups = Vec::new();
    for t in &config.transports {
        // A router that is down (I2P, embedded Tor) leaves the node on its other networks; it
        // keeps trying, and opens a new session if the router restarts later.
        let transport: Arc<dyn crate::net::Transport> = match t.open(&name).await {
            Ok(open) => Arc::new(Resilient::new(t.clone(), name.clone(), Some(open), None)),
            Err(e) if t.needs_router() => {
                tracing::warn!(node = me, error = %e, "a network's router is down: running without it and retrying");
                Arc::new(Resilient::new(t.clone(), name.clone(), None, Some(e)))
            }
            Err(e) => return Err(NodeError::Transport(e)),
        };
        let mut transport = transport;
        if let Some(censors) = &config.censors {
            transport = Arc::new(Censored::new(transport, censors.of(t.kind()).clone()));
        }
        let peers = t.peers().iter().map(|p| Some(p.clone())).collect();
        setups.push(TransportSetup { transport, peers });
    }
    let limits = &p.shell.core_limits;
    let max_frame = limits.max_frame_bytes.max(limits.max_committed_bytes) + ENVELOPE_ROOM;
    let switch_limits = SwitchLimits {
        max_frame,
        link_queue_bytes: config.peer_queue_bytes,
        inbound_bytes_per_peer: 2 * max_frame,
        ..SwitchLimits::default()
    };
    p.shell.net = Some(Arc::new(Switch::start(me, channel_keys, setups, in_tx, switch_limits, conn_tx)));
    if let Some(addr) = config.metrics_listen {
        let l = tokio::net::TcpListener::bind(addr).await.map_err(|source| NodeError::Listen { addr, source })?;
        tokio::spawn(crate::metrics::serve(l, p.registry.clone()));
    }
    Ok(())
}

/// The running loop: frames, link events, commands and the timer into the core; its `Ready`
/// executed. A panic inside is caught and stops the node with a reason.
async fn run<A: ConsensusApp>(
    mut shell: Shell<A>,
    mut in_rx: mpsc::Receiver<Inbound>,
    mut conn_rx: mpsc::UnboundedReceiver<(NodeId, usize)>,
    mut cmd_rx: mpsc::Receiver<Cmd>,
) {
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        let mut frames = Vec::new();
        // The peers' inbound shares these frames hold, given back once the core took them.
        let mut permits = Vec::new();
        let mut submits = Vec::new();
        let mut stop: Option<oneshot::Sender<()>> = None;
        let mut other: Option<Ready> = None;
        let mut reads = Vec::new();
        let mut ticked = false;
        tokio::select! {
            Some(f) = in_rx.recv() => {
                frames.push((f.from, f.bytes));
                permits.push(f.permit);
            }
            Some((peer, t)) = conn_rx.recv() => other = Some(shell.core.link_up(peer, t)),
            cmd = cmd_rx.recv() => match cmd {
                Some(Cmd::Submit(tx)) => submits.push(tx),
                Some(Cmd::Put(tx, reply)) => submits.push(shell.wait_put(tx, reply)),
                Some(Cmd::Read { id, range, reply }) => reads.push((id, range, reply)),
                Some(Cmd::Shutdown(done)) => stop = Some(done),
                None => return,
            },
            _ = tick.tick() => {
                shell.sync_net();
                let now = shell.now_ms();
                other = Some(shell.core.tick(now));
                ticked = true;
            }
        }
        // Take whatever else is ready, up to a batch, into the same append.
        while frames.len() < 512 {
            match in_rx.try_recv() {
                Ok(f) => {
                    frames.push((f.from, f.bytes));
                    permits.push(f.permit);
                }
                Err(_) => break,
            }
        }
        while submits.len() < 1024 && stop.is_none() {
            match cmd_rx.try_recv() {
                Ok(Cmd::Submit(tx)) => submits.push(tx),
                Ok(Cmd::Put(tx, reply)) => submits.push(shell.wait_put(tx, reply)),
                Ok(Cmd::Read { id, range, reply }) => reads.push((id, range, reply)),
                Ok(Cmd::Shutdown(done)) => stop = Some(done),
                Err(_) => break,
            }
        }
        let step = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if let Some(r) = other.take() {
                shell.execute(r)?;
            }
            for (id, range, reply) in reads.drain(..) {
                let r = shell.read(id, range, reply);
                shell.execute(r)?;
            }
            if ticked {
                if let Some(r) = shell.retry_reads() {
                    shell.execute(r)?;
                }
            }
            if !frames.is_empty() || !submits.is_empty() {
                if shell.submitted.len() < 100_000 {
                    let now = Instant::now();
                    for tx in &submits {
                        shell.submitted.insert(tagged_hash("BEAT/node/tx", &[tx]), now);
                    }
                }
                let ready = shell.core.frames(frames, submits);
                shell.execute(ready)?;
            }
            Ok::<(), String>(())
        }));
        drop(permits);
        let outcome = match step {
            Ok(r) => r,
            Err(panic) => Err(format!(
                "internal error (panic): {}",
                panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("unknown")
            )),
        };
        if let Err(reason) = outcome {
            // Without a durable log (or with a broken core) the node must not go on sending.
            shell.fail(reason);
            let _ = shell.store.flush();
            return;
        }
        if let Some(done) = stop {
            let _ = shell.store.flush();
            let _ = done.send(());
            return;
        }
    }
}

impl<A: ConsensusApp> BeatNode<A> {
    /// Open the store, restore and replay, start the transports, and run. The node owns its
    /// tokio runtime (two worker threads). Called inside another tokio runtime it still works
    /// (it sets itself up on a thread of its own, blocking the caller meanwhile); an async
    /// embedder should rather use [`BeatNode::spawn`], which runs on the caller's runtime.
    pub fn start(config: NodeConfig, app: A, listener: Option<Arc<dyn CommitListener>>) -> Result<Self, NodeError> {
        if tokio::runtime::Handle::try_current().is_ok() {
            // A runtime cannot be built or blocked on from inside another one.
            return std::thread::scope(|s| {
                s.spawn(move || Self::start_outside_runtime(config, app, listener))
                    .join()
                    .unwrap_or_else(|_| Err(NodeError::Runtime(std::io::Error::other("node start-up panicked"))))
            });
        }
        Self::start_outside_runtime(config, app, listener)
    }

    fn start_outside_runtime(
        config: NodeConfig,
        app: A,
        listener: Option<Arc<dyn CommitListener>>,
    ) -> Result<Self, NodeError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("beat-node")
            .build()
            .map_err(NodeError::Runtime)?;
        let mut p = prepare(config, app, listener)?;
        let (in_tx, in_rx) = mpsc::channel(8192);
        let (conn_tx, conn_rx) = mpsc::unbounded_channel();
        let (cmd_tx, cmd_rx) = mpsc::channel(p.config.submit_queue.max(1));
        runtime.block_on(open_network(&mut p, in_tx, conn_tx))?;
        let node = Self::assemble(&p, cmd_tx, Some(runtime));
        let Prepared { mut shell, ready, .. } = p;
        let handle = node.runtime.as_ref().map(|r| r.handle().clone());
        if let Some(h) = handle {
            let _guard = h.enter();
            shell.execute(ready).map_err(NodeError::Wal)?;
            h.spawn(run(shell, in_rx, conn_rx, cmd_rx));
        }
        Ok(node)
    }

    /// [`BeatNode::start`] on the caller's tokio runtime (for embedders that already run one).
    /// Stop it with [`BeatNode::shutdown_async`].
    pub async fn spawn(
        config: NodeConfig,
        app: A,
        listener: Option<Arc<dyn CommitListener>>,
    ) -> Result<Self, NodeError> {
        // Replay reads the store: off the async threads (works on any runtime flavour).
        let mut p = tokio::task::spawn_blocking(move || prepare(config, app, listener))
            .await
            .map_err(|e| NodeError::Runtime(std::io::Error::other(format!("node start-up: {e}"))))??;
        let (in_tx, in_rx) = mpsc::channel(8192);
        let (conn_tx, conn_rx) = mpsc::unbounded_channel();
        let (cmd_tx, cmd_rx) = mpsc::channel(p.config.submit_queue.max(1));
        open_network(&mut p, in_tx, conn_tx).await?;
        let node = Self::assemble(&p, cmd_tx, None);
        let Prepared { mut shell, ready, .. } = p;
        shell.execute(ready).map_err(NodeError::Wal)?;
        tokio::spawn(run(shell, in_rx, conn_rx, cmd_rx));
        Ok(node)
    }

    fn assemble(p: &Prepared<A>, cmds: mpsc::Sender<Cmd>, runtime: Option<tokio::runtime::Runtime>) -> Self {
        BeatNode {
            runtime,
            cmds,
            app: p.shell.app.clone(),
            status: p.shell.status.clone(),
            queue_cap: p.config.submit_queue,
            max_tx: p.config.keys.public.settings.max_tx_size,
            client_keys: p.config.keys.public.settings.variant.client_encrypted().then(|| p.config.keys.public.clone()),
            variant: p.config.keys.public.settings.variant,
            registry: p.registry.clone(),
            store: p.shell.store.clone(),
            public: p.config.keys.public.clone(),
        }
    }

    /// The committee's public keys (what a BEAT2 client encrypts under:
    /// `beat::client::Client::new(node.public_keys().clone(), id)`).
    pub fn public_keys(&self) -> &crate::beat::PublicKeys {
        &self.public
    }

    /// The committed batch of `epoch` from this node's log (`None`: not committed here yet,
    /// or pruned beyond `retain_committed_epochs`).
    pub fn committed(&self, epoch: u64) -> Result<Option<beat::Batch>, String> {
        let Some(bytes) = self.store.get_committed(epoch).map_err(|e| format!("store: {e}"))? else { return Ok(None) };
        crate::codec::decode(&bytes, usize::MAX).map(Some).map_err(|e| format!("committed epoch {epoch}: {e}"))
    }

    /// The lowest and highest committed epochs this node's log holds.
    pub fn committed_range(&self) -> Result<Option<(u64, u64)>, String> {
        self.store.committed_range().map_err(|e| format!("store: {e}"))
    }

    /// Queue a client transaction (non-blocking). Refused at once when larger than the
    /// committee's `max_tx_size`, refused by the application's `validate`, or when the queue
    /// is full. In BEAT2 the transaction is a client ciphertext: it is checked to be one for
    /// this committee (its proof verified) instead — the application's `validate` cannot see
    /// inside it; the application gets the plaintext after ordering.
    pub fn submit(&self, tx: Vec<u8>) -> Result<(), SubmitError> {
        self.check_submit(&tx)?;
        self.cmds.try_send(Cmd::Submit(tx)).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => SubmitError::QueueFull(self.queue_cap),
            mpsc::error::TrySendError::Closed(_) => SubmitError::Stopped,
        })
    }

    /// BEAT3/4: submit `tx` and wait (blocking, up to `timeout`) until the value this node
    /// disperses it in commits; returns where it lies. From async code use
    /// [`BeatNode::put_async`].
    pub fn put(&self, tx: Vec<u8>, timeout: Duration) -> Result<StoredTx, PutFailure> {
        let mut rx = self.start_put(tx)?;
        let deadline = Instant::now() + timeout;
        loop {
            match rx.try_recv() {
                Ok(r) => return Ok(r),
                Err(oneshot::error::TryRecvError::Closed) => return Err(PutFailure::Submit(SubmitError::Stopped)),
                Err(oneshot::error::TryRecvError::Empty) if Instant::now() >= deadline => {
                    return Err(PutFailure::TimedOut(timeout))
                }
                Err(oneshot::error::TryRecvError::Empty) => std::thread::sleep(Duration::from_micros(500)),
            }
        }
    }

    /// [`BeatNode::put`] for async callers (no timeout of its own: wrap it in
    /// `tokio::time::timeout`).
    pub async fn put_async(&self, tx: Vec<u8>) -> Result<StoredTx, PutFailure> {
        let rx = self.start_put(tx)?;
        rx.await.map_err(|_| PutFailure::Submit(SubmitError::Stopped))
    }

    fn start_put(&self, tx: Vec<u8>) -> Result<oneshot::Receiver<StoredTx>, PutFailure> {
        if !self.variant.dispersed() {
            return Err(PutFailure::NotStored(self.variant));
        }
        self.check_submit(&tx)?;
        let (reply, rx) = oneshot::channel();
        self.cmds.try_send(Cmd::Put(tx, reply)).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => SubmitError::QueueFull(self.queue_cap),
            mpsc::error::TrySendError::Closed(_) => SubmitError::Stopped,
        })?;
        Ok(rx)
    }

    fn check_submit(&self, tx: &[u8]) -> Result<(), SubmitError> {
        if tx.len() > self.max_tx {
            return Err(SubmitError::TooLarge { size: tx.len(), max: self.max_tx });
        }
        if let Some(public) = &self.client_keys {
            // A full queue refuses before the proof is checked (a flood pays nothing twice).
            if self.cmds.capacity() == 0 {
                return Err(SubmitError::QueueFull(self.queue_cap));
            }
            crate::beat::client::ClientTransaction::decode(tx, self.max_tx)
                .and_then(|c| c.verify(public))
                .map_err(|e| SubmitError::NotClientEncrypted(e.to_string()))?;
        } else {
            match self.app.lock() {
                Ok(app) => app.validate(tx).map_err(SubmitError::Invalid)?,
                Err(_) => return Err(SubmitError::Stopped),
            }
        }
        Ok(())
    }

    /// BEAT3/4: read committed value `id` (or bytes `range` of it) from the committee's
    /// fragments — this node's own and its peers', each verified against the value's committed
    /// cross-checksum (a holder that sends a bad fragment is recorded as a fault). Blocks the
    /// calling thread up to `timeout`; from async code use [`BeatNode::read_async`]. BEAT4 range
    /// reads fetch only the chunks the range needs.
    pub fn read(
        &self,
        id: ValueId,
        range: Option<std::ops::Range<u64>>,
        timeout: Duration,
    ) -> Result<Vec<u8>, ReadFailure> {
        self.read_report(id, range, timeout).map(|r| r.bytes)
    }

    /// [`BeatNode::read`], with what the read cost (holders asked, bytes fetched).
    pub fn read_report(
        &self,
        id: ValueId,
        range: Option<std::ops::Range<u64>>,
        timeout: Duration,
    ) -> Result<ReadReport, ReadFailure> {
        let deadline = Instant::now() + timeout;
        let mut rx = self.start_read(id, range, deadline).map_err(|e| match e {
            ReadFailure::TimedOut(_) => ReadFailure::TimedOut(timeout),
            e => e,
        })?;
        loop {
            match rx.try_recv() {
                Ok(r) => return r,
                Err(oneshot::error::TryRecvError::Closed) => return Err(ReadFailure::Stopped),
                Err(oneshot::error::TryRecvError::Empty) if Instant::now() >= deadline => {
                    return Err(ReadFailure::TimedOut(timeout))
                }
                Err(oneshot::error::TryRecvError::Empty) => std::thread::sleep(Duration::from_micros(500)),
            }
        }
    }

    /// [`BeatNode::read`] for async callers (no timeout of its own: wrap it in
    /// `tokio::time::timeout`).
    pub async fn read_async(&self, id: ValueId, range: Option<std::ops::Range<u64>>) -> Result<Vec<u8>, ReadFailure> {
        self.read_report_async(id, range).await.map(|r| r.bytes)
    }

    /// [`BeatNode::read_report`] for async callers.
    pub async fn read_report_async(
        &self,
        id: ValueId,
        range: Option<std::ops::Range<u64>>,
    ) -> Result<ReadReport, ReadFailure> {
        if !self.variant.dispersed() {
            return Err(ReadFailure::NotStored(self.variant));
        }
        let (reply, rx) = oneshot::channel();
        // Waits (without blocking the runtime) for room when submits fill the queue.
        self.cmds.send(Cmd::Read { id, range, reply }).await.map_err(|_| ReadFailure::Stopped)?;
        rx.await.unwrap_or(Err(ReadFailure::Stopped))
    }

    fn start_read(
        &self,
        id: ValueId,
        range: Option<std::ops::Range<u64>>,
        deadline: Instant,
    ) -> Result<oneshot::Receiver<Result<ReadReport, ReadFailure>>, ReadFailure> {
        if !self.variant.dispersed() {
            return Err(ReadFailure::NotStored(self.variant));
        }
        let (reply, rx) = oneshot::channel();
        // Reads are small commands: wait for room rather than fail when submits fill the queue
        // (the loop drains it; a stopped node closes it).
        let mut cmd = Cmd::Read { id, range, reply };
        loop {
            match self.cmds.try_send(cmd) {
                Ok(()) => return Ok(rx),
                Err(mpsc::error::TrySendError::Closed(_)) => return Err(ReadFailure::Stopped),
                Err(mpsc::error::TrySendError::Full(_)) if Instant::now() >= deadline => {
                    return Err(ReadFailure::TimedOut(Duration::ZERO))
                }
                Err(mpsc::error::TrySendError::Full(c)) => {
                    cmd = c;
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        }
    }

    /// What the node is doing.
    pub fn status(&self) -> Status {
        let mut s = self
            .status
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|_| Status { failed: Some("the status lock is poisoned".into()), ..Status::default() });
        s.submit_queue = self.cmds.max_capacity() - self.cmds.capacity();
        if s.failed.is_none() && self.cmds.is_closed() {
            s.failed = Some("the node's loop has stopped".into());
        }
        s
    }

    /// The node's metrics in Prometheus text format (what `GET /metrics` serves).
    pub fn metrics_text(&self) -> String {
        crate::metrics::render(&self.registry)
    }

    /// Read the application state.
    pub fn with_app<R>(&self, f: impl FnOnce(&A) -> R) -> Option<R> {
        self.app.lock().ok().map(|a| f(&a))
    }

    /// Stop: finish the current batch, flush the store, stop the runtime.
    pub fn shutdown(mut self) {
        self.stop();
    }

    /// Stop a node started with [`BeatNode::spawn`] (waits up to 5 s for the loop to finish).
    pub async fn shutdown_async(self) {
        let (tx, rx) = oneshot::channel();
        if self.cmds.try_send(Cmd::Shutdown(tx)).is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(5), rx).await;
        }
    }

    fn stop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            let (tx, rx) = oneshot::channel();
            let asked = self.cmds.try_send(Cmd::Shutdown(tx)).is_ok();
            let finish = move || {
                if asked {
                    let _ = rt.block_on(async { tokio::time::timeout(Duration::from_secs(5), rx).await });
                }
                rt.shutdown_timeout(Duration::from_secs(1));
            };
            // Inside another runtime a runtime can be neither blocked on nor dropped: do it on a
            // thread of its own.
            match tokio::runtime::Handle::try_current() {
                Ok(_) => {
                    let _ = std::thread::spawn(finish).join();
                }
                Err(_) => finish(),
            }
        }
    }
}

impl<A: ConsensusApp> Drop for BeatNode<A> {
    fn drop(&mut self) {
        match self.runtime.is_some() {
            true => self.stop(),
            // On the embedder's runtime: ask the loop to stop; it flushes on its own.
            false => {
                let (tx, _rx) = oneshot::channel();
                let _ = self.cmds.try_send(Cmd::Shutdown(tx));
            }
        }
    }
}

/// Wait until `f` holds or `timeout` passes (for tests and the local cluster).
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}
