//! [`BeatNode`]: the driver where the sans-IO protocol meets tokio, the network and the disk.
//!
//! **Write-ahead input log.** Every input the protocol state machine consumes — a decoded
//! peer message, a client transaction — is appended to the store's WAL (durably, in batches)
//! *before* it is processed, and the randomness for processing record `seq` is
//! `ChaCha20(H(node seed ‖ seq))` with a per-node seed kept in the store. The state machine is
//! deterministic given its inputs and randomness, so replaying the WAL after a crash rebuilds
//! exactly the state it had, and every message it sends after a restart is one it sent (or
//! would have sent) before: a restarted node never equivocates, and it resends its messages
//! for the epochs still open.
//!
//! **Exactly once.** The application gets committed batches in epoch order; its state is
//! snapshotted every `snapshot_every` epochs together with the epoch it reached. On restart it
//! is restored from the latest snapshot and only later batches are applied again.
//!
//! **Checkpoints and WAL truncation.** With each snapshot the driver stores the protocol's
//! [`beat::Checkpoint`] (next epoch, buffer, de-duplication window), then drops the WAL prefix
//! before the first record holding a message of an epoch from the checkpoint on. A restart
//! resumes from the checkpoint and replays the rest; proposals and decryption shares use
//! randomness derived from the node's secret and the epoch, so the rebuilt state sends
//! exactly the messages sent before.
//!
//! **Catch-up.** A node that sees `f + 1` peers at least `CATCH_UP_LAG` epochs ahead asks all
//! peers for their committed batches from its current epoch on, and takes the batch of its
//! current epoch once `f + 1` peers sent the same bytes (at least one of them is correct, and
//! correct nodes commit the same batch); `Beat::fast_forward` then closes the epoch without
//! running it. The accepted batch is a WAL record like any input, so replay repeats it.
//!
//! **Networks.** Frames go out through the [`crate::net::switch::Switch`] on every configured
//! transport (clearnet, Tor, I2P) over Noise channels bound to the nodes' identities; the first
//! copy in wins. A link that reconnects gets the node's frames of open epochs again, with
//! their original message ids.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::app::ConsensusApp;
use crate::beat::{self, Beat, Input, Message, NodeKeys, Output};
use crate::codec;
use crate::crypto::hash::tagged_hash;
use crate::metrics::{FaultLabel, LinkLabel, NodeMetrics, TransportLabel};
use crate::net::censor::{Censored, Censors};
use crate::net::reconnect::LinkStatus;
use crate::net::router::{self, Route, Wire};
use crate::net::switch::{Switch, TransportSetup};
use crate::net::TransportConfig;
use crate::proto::{Protocol, Step};
use crate::state::{RedbStore, Store, StoreError};
use crate::NodeId;

/// How a node is set up.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// This node's keys (its id is `keys.id`).
    pub keys: NodeKeys,
    /// This node's ed25519 identity (authenticates its channels).
    pub identity: crate::keystore::IdentityKey,
    /// Every node's identity, by id (from the cluster file).
    pub peer_identities: Vec<crate::keystore::IdentityPublic>,
    /// The networks to use (at least one), each with every node's address on it. Every frame
    /// goes out on all of them.
    pub transports: Vec<TransportConfig>,
    /// Protocol tunables (variant, batch size, …).
    pub beat: beat::Config,
    /// Directory of the node's store.
    pub data_dir: PathBuf,
    /// Snapshot the application every this many epochs.
    pub snapshot_every: u64,
    /// Client transactions waiting for the protocol; `submit` fails beyond it.
    pub submit_queue: usize,
    /// Where to serve `GET /metrics`, if anywhere.
    pub metrics_listen: Option<SocketAddr>,
    /// Frames kept per peer while it is slow or down (beyond them, it catches up instead).
    pub peer_queue: usize,
    /// A store to use instead of the redb store in `data_dir` (e.g. `state::MemStore`, or
    /// `state::SledStore` with the `sled` feature).
    pub store: Option<Arc<dyn Store>>,
    /// A registry of the embedding host to put the node's metrics in (else the node's own).
    pub registry: Option<Arc<Mutex<prometheus_client::registry::Registry>>>,
    /// Put every transport behind these censors (tests and chaos drills; `None` in production).
    pub censors: Option<Censors>,
}

/// Receives committed batches (after the application applied them).
pub trait CommitListener: Send + Sync {
    /// Epoch `epoch` committed these transactions. After a crash, epochs after the latest
    /// snapshot are delivered again; use `epoch` to recognise them.
    fn on_commit(&self, epoch: u64, transactions: &[Vec<u8>]);
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
    /// The WAL holds a record this build cannot read.
    #[error("write-ahead log record {0} is corrupt")]
    Wal(u64),
}

/// Why a transaction was not accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SubmitError {
    /// The application's `validate` refused it.
    #[error("invalid transaction: {0}")]
    Invalid(String),
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
    /// WAL records written since the node was created.
    pub wal_records: u64,
    /// WAL records kept (the rest was truncated behind checkpoints).
    pub wal_retained: u64,
    /// Faults recorded against peers.
    pub faults: u64,
    /// Epochs taken from peers by catch-up (since start, replays included).
    pub caught_up_epochs: u64,
    /// Why the node stopped on its own (its store failed), if it did.
    pub failed: Option<String>,
}

#[derive(Serialize, Deserialize)]
enum WalEntry {
    /// A peer's frame (an `Envelope<Wire::Consensus>`), as received.
    Message { from: u32, frame: serde_bytes::ByteBuf },
    /// A client transaction.
    Submit(serde_bytes::ByteBuf),
    /// A committed batch of our current epoch, confirmed by `f + 1` peers (catch-up).
    CatchUp(serde_bytes::ByteBuf),
}

/// A WAL entry about to be logged, with its already-decoded consensus message (if any).
type Pending = (WalEntry, Option<Message>);

/// A frame we sent: to whom, its message id, the frame.
type SentFrame = (NodeId, u64, Arc<Vec<u8>>);

/// The epoch of frames that do not belong to one (catch-up traffic): never stale.
const NO_EPOCH: u64 = u64::MAX;

/// Epochs after a checkpoint whose messages the WAL keeps for the rebuild (messages for
/// later epochs, which only a far-ahead or faulty peer sends, are dropped with the prefix).
const CHECKPOINT_SPAN: u64 = 8;

fn checkpoint_key(epoch: u64) -> Vec<u8> {
    format!("checkpoint/{epoch:020}").into_bytes()
}

/// Catch-up answers for one epoch: batch digest → (senders, batch bytes).
type CatchUpVotes = std::collections::HashMap<crate::crypto::hash::Digest, (Vec<NodeId>, Vec<u8>)>;

/// Epochs a node may lag behind `f + 1` peers before it fetches committed batches.
const CATCH_UP_LAG: u64 = 5;
/// Committed batches asked for (and answered) per request.
const CATCH_UP_BATCH: u32 = 64;

enum Cmd {
    Submit(Vec<u8>),
    Shutdown(oneshot::Sender<()>),
}

/// A running BEAT node driving application `A`.
pub struct BeatNode<A: ConsensusApp> {
    runtime: Option<tokio::runtime::Runtime>,
    cmds: mpsc::Sender<Cmd>,
    app: Arc<Mutex<A>>,
    status: Arc<Mutex<Status>>,
    queue_cap: usize,
    registry: Arc<Mutex<prometheus_client::registry::Registry>>,
}

impl<A: ConsensusApp> std::fmt::Debug for BeatNode<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BeatNode").field("status", &self.status()).finish_non_exhaustive()
    }
}

const NODE_SEED_KEY: &[u8] = b"node/seed";

fn record_rng(seed: &[u8; 32], seq: u64) -> ChaCha20Rng {
    ChaCha20Rng::from_seed(tagged_hash("BEAT/node/record-rng", &[seed, &seq.to_be_bytes()]))
}

struct Driver<A: ConsensusApp> {
    metrics: NodeMetrics,
    /// Local submit times by transaction digest (bounded), for the commit-latency histogram.
    submitted: std::collections::HashMap<crate::crypto::hash::Digest, Instant>,
    /// Transport counters already added to the metrics, per transport.
    net_seen: Vec<[u64; 8]>,
    replaying: bool,
    /// Highest epoch seen in each peer's consensus traffic.
    peer_epoch: Vec<u64>,
    /// Catch-up answers: epoch → batch digest → (senders, batch bytes).
    catch_up: std::collections::BTreeMap<u64, CatchUpVotes>,
    last_fetch: Option<Instant>,
    /// A failed write of the committed log, reported after the current record.
    store_error: Option<StoreError>,
    /// Lowest WAL record number holding a message of each epoch (for truncation).
    epoch_first_seq: std::collections::BTreeMap<u64, u64>,
    /// Epoch of the latest checkpoint.
    last_checkpoint: u64,
    /// First WAL record kept.
    wal_first: u64,
    /// When our epoch last advanced (a stall with peers ahead triggers catch-up).
    last_progress: Instant,
    progress_epoch: u64,
    /// Frames we sent for epochs still open here, by epoch: resent to a peer on reconnection.
    sent: std::collections::BTreeMap<u64, Vec<SentFrame>>,
    me: NodeId,
    n: usize,
    session: crate::SessionId,
    beat: Beat,
    store: Arc<dyn Store>,
    app: Arc<Mutex<A>>,
    listener: Option<Arc<dyn CommitListener>>,
    status: Arc<Mutex<Status>>,
    seed: [u8; 32],
    next_seq: u64,
    applied_next: u64,
    snapshot_every: u64,
    net: Option<Switch>,
}

impl<A: ConsensusApp> Driver<A> {
    /// Process WAL record `seq`; `decoded` is the record's message when the live path has
    /// already decoded it (replay decodes the frame again).
    fn process(&mut self, seq: u64, entry: WalEntry, decoded: Option<Message>) -> Vec<(crate::proto::Target, Message)> {
        let mut rng = record_rng(&self.seed, seq);
        let step = match entry {
            WalEntry::Message { from, frame } => {
                let message = decoded.or_else(|| match router::route(&frame, &self.session) {
                    Ok(Route::Consensus(m)) => Some(m),
                    _ => None,
                });
                match message {
                    Some(m) => {
                        self.epoch_first_seq.entry(m.epoch).or_insert(seq);
                        self.beat.handle_message(from as usize, m, &mut rng)
                    }
                    None => Ok(Step::fault(from as usize, crate::proto::FaultKind::Malformed)),
                }
            }
            WalEntry::CatchUp(bytes) => match codec::decode::<beat::Batch>(&bytes, codec::MAX_FRAME_BYTES) {
                Ok(batch) if batch.epoch == self.beat.epoch() => {
                    if let Ok(mut st) = self.status.lock() {
                        st.caught_up_epochs += 1;
                    }
                    Ok(self.beat.fast_forward(batch, &mut rng).unwrap_or_default())
                }
                // A batch for an epoch we committed meanwhile is simply stale.
                _ => Ok(Step::new()),
            },
            WalEntry::Submit(tx) => {
                if !self.replaying && self.submitted.len() < 100_000 {
                    self.submitted.insert(tagged_hash("BEAT/node/tx", &[&tx]), Instant::now());
                }
                self.beat.handle_input(Input::Submit(tx.into_vec()), &mut rng)
            }
        };
        let step = match step {
            Ok(s) => s,
            // A refused submit (buffer full, oversized) is the client's problem, not a crash.
            Err(_) => return Vec::new(),
        };
        if let Ok(mut st) = self.status.lock() {
            st.faults += step.faults.len() as u64;
        }
        for f in &step.faults {
            self.metrics.faults.get_or_create(&FaultLabel { kind: format!("{:?}", f.kind) }).inc();
        }
        for ev in &step.events {
            if let crate::proto::Event::Decided { round, .. } = ev {
                self.metrics.aba_decision_round.observe(f64::from(*round));
            }
        }
        for out in step.output {
            if let Output::Batch(b) = out {
                self.commit(b);
            }
        }
        step.messages
    }

    fn commit(&mut self, b: beat::Batch) {
        if b.epoch < self.applied_next {
            return; // applied before the snapshot we restored
        }
        if let Err(e) = self.store.put_committed(b.epoch, &codec::encode(&b)) {
            // Peers catch up from this log; a node that cannot keep it stops (checked after
            // the record) rather than run on with a hole in it.
            self.store_error.get_or_insert(e);
        }
        if let Ok(mut app) = self.app.lock() {
            app.apply(b.epoch, &b.transactions);
        }
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
        self.applied_next = b.epoch + 1;
        if let Ok(mut st) = self.status.lock() {
            st.committed_txs += b.transactions.len() as u64;
            st.epoch = self.applied_next;
        }
        if let Some(l) = &self.listener {
            l.on_commit(b.epoch, &b.transactions);
        }
    }

    fn send(&mut self, messages: Vec<(crate::proto::Target, Message)>) {
        let open = self.beat.epoch().saturating_sub(1);
        while self.sent.first_key_value().is_some_and(|(e, _)| *e < open) {
            self.sent.pop_first();
        }
        if let Some(net) = &self.net {
            net.set_watermark(open);
        }
        for (target, msg) in messages {
            let epoch = msg.epoch;
            let frame = Arc::new(router::encode(self.session, Wire::Consensus(msg)));
            for to in 0..self.n {
                if target.includes(self.me, to) {
                    let Some(net) = &self.net else { continue };
                    let id = net.send(to, epoch, frame.clone());
                    if epoch >= open {
                        self.sent.entry(epoch).or_default().push((to, id, frame.clone()));
                    }
                }
            }
        }
    }

    /// A link to `peer` on transport `t` was (re)established: resend our frames of open
    /// epochs on it, with their ids (a peer that has a copy from another network drops it).
    fn resend(&self, peer: NodeId, t: usize) {
        let Some(net) = &self.net else { return };
        for (epoch, frames) in &self.sent {
            for (to, id, frame) in frames {
                if *to == peer {
                    net.resend(peer, t, *id, *epoch, frame.clone());
                }
            }
        }
    }

    /// Log `entries` durably, then process them in order and send what they produce.
    fn log_and_process(&mut self, entries: Vec<Pending>) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let first = self.next_seq;
        let bytes: Vec<Vec<u8>> = entries.iter().map(|(e, _)| codec::encode(e)).collect();
        let records: Vec<(u64, &[u8])> =
            bytes.iter().enumerate().map(|(i, b)| (first + i as u64, b.as_slice())).collect();
        self.store.wal_append(&records)?;
        self.next_seq += entries.len() as u64;
        for (i, (e, decoded)) in entries.into_iter().enumerate() {
            let seq = first + i as u64;
            let out = self.process(seq, e, decoded);
            if let Some(e) = self.store_error.take() {
                return Err(e);
            }
            self.send(out);
            self.maybe_checkpoint(seq)?;
        }
        let buffered = self.beat.buffered();
        self.sync_metrics();
        if let Ok(mut st) = self.status.lock() {
            st.buffered = buffered;
            st.wal_records = self.next_seq;
            st.wal_retained = self.next_seq - self.wal_first;
        }
        Ok(())
    }
}

impl<A: ConsensusApp> Driver<A> {
    fn send_wire(&self, to: NodeId, wire: Wire) {
        if let Some(net) = &self.net {
            net.send(to, NO_EPOCH, Arc::new(router::encode(self.session, wire)));
        }
    }

    /// Sort an inbound frame: consensus traffic goes to the WAL (returned), catch-up requests
    /// are answered from the store, catch-up answers are counted.
    fn inbound(&mut self, from: NodeId, frame: Vec<u8>) -> Option<Pending> {
        let route = match router::route(&frame, &self.session) {
            Ok(route) => route,
            Err(_) => {
                self.metrics.faults.get_or_create(&FaultLabel { kind: "Malformed".into() }).inc();
                return None;
            }
        };
        match route {
            Route::Consensus(m) => {
                self.peer_epoch[from] = self.peer_epoch[from].max(m.epoch);
                Some((WalEntry::Message { from: from as u32, frame: frame.into() }, Some(m)))
            }
            Route::Fetch { from: first, count } => {
                for e in first..first.saturating_add(u64::from(count.min(CATCH_UP_BATCH))) {
                    match self.store.get_committed(e) {
                        Ok(Some(batch)) => self.send_wire(from, Wire::Committed { epoch: e, batch: batch.into() }),
                        _ => break,
                    }
                }
                None
            }
            Route::Committed { epoch, batch } => {
                let current = self.beat.epoch();
                if epoch >= current && epoch < current + 2 * u64::from(CATCH_UP_BATCH) {
                    let d = tagged_hash("BEAT/node/catch-up", &[&batch]);
                    let votes = self.catch_up.entry(epoch).or_default();
                    if votes.len() < self.n {
                        let entry = votes.entry(d).or_insert_with(|| (Vec::new(), batch));
                        if !entry.0.contains(&from) {
                            entry.0.push(from);
                        }
                    }
                }
                None
            }
        }
    }

    /// Take every catch-up batch for our current epoch that `f + 1` peers confirmed, and ask
    /// for more when `f + 1` peers are `CATCH_UP_LAG` epochs ahead.
    fn catch_up(&mut self) -> Result<(), StoreError> {
        let f = (self.n - 1) / 3;
        loop {
            let current = self.beat.epoch();
            while self.catch_up.first_key_value().is_some_and(|(e, _)| *e < current) {
                self.catch_up.pop_first();
            }
            let confirmed = self
                .catch_up
                .get(&current)
                .and_then(|votes| votes.values().find(|(senders, _)| senders.len() > f))
                .map(|(_, bytes)| bytes.clone());
            let Some(bytes) = confirmed else { break };
            self.log_and_process(vec![(WalEntry::CatchUp(bytes.into()), None)])?;
            if self.beat.epoch() == current {
                break; // not applied (cannot happen for a current-epoch batch); avoid spinning
            }
        }
        let current = self.beat.epoch();
        if current != self.progress_epoch {
            self.progress_epoch = current;
            self.last_progress = Instant::now();
        }
        let far = self.peer_epoch.iter().filter(|e| **e >= current + CATCH_UP_LAG).count();
        // Peers ahead of a node that has not moved for a while: it may have lost messages of
        // epochs they already closed (a crash drops what was in flight), so fetch those.
        let near = self.peer_epoch.iter().filter(|e| **e > current).count();
        let stalled = self.last_progress.elapsed() >= Duration::from_millis(800);
        if (far > f || (near > f && stalled))
            && self.last_fetch.is_none_or(|t| t.elapsed() >= Duration::from_millis(400))
        {
            self.last_fetch = Some(Instant::now());
            for to in (0..self.n).filter(|j| *j != self.me) {
                self.send_wire(to, Wire::FetchCommitted { from: current, count: CATCH_UP_BATCH });
            }
        }
        Ok(())
    }

    /// Every `snapshot_every` epochs: store the protocol checkpoint and the application
    /// snapshot (in that order), then drop the WAL records no longer needed: those before the
    /// first one holding a message of an epoch from the checkpoint on (and after `seq`, the
    /// record just processed, nothing).
    fn maybe_checkpoint(&mut self, seq: u64) -> Result<(), StoreError> {
        let epoch = self.beat.epoch();
        if self.snapshot_every == 0 || epoch < self.last_checkpoint + self.snapshot_every || self.applied_next != epoch
        {
            return Ok(());
        }
        let cp = self.beat.checkpoint();
        self.store.put_meta(&checkpoint_key(epoch), &codec::encode(&cp))?;
        let snap = self.app.lock().map(|a| a.snapshot()).unwrap_or_default();
        self.store.put_snapshot(epoch - 1, &snap)?;
        self.metrics.snapshot_size_bytes.set(snap.len() as i64);
        if let Ok(size) = self.store.size_on_disk() {
            self.metrics.store_size_bytes.set(size as i64);
        }
        // Keep checkpoints of the two snapshots the store keeps.
        if self.last_checkpoint > 0 {
            self.store.delete_meta_range(&checkpoint_key(0), &checkpoint_key(self.last_checkpoint))?;
        }
        self.last_checkpoint = epoch;
        self.epoch_first_seq = self.epoch_first_seq.split_off(&epoch);
        let needed = self.epoch_first_seq.range(epoch..=epoch + CHECKPOINT_SPAN).map(|(_, s)| *s).min();
        let keep_from = needed.unwrap_or(seq + 1).min(seq + 1);
        if keep_from > self.wal_first {
            self.store.wal_truncate_before(keep_from)?;
            self.wal_first = keep_from;
        }
        Ok(())
    }

    /// Put the network's state in `status()` (also while nothing commits).
    fn refresh_net_status(&self) {
        let Some(net) = &self.net else { return };
        let (mut refused, mut duplicates) = (0, 0);
        for (_, c) in net.counters() {
            let snap = c.snapshot();
            refused += snap[5];
            duplicates += snap[6];
        }
        if let Ok(mut st) = self.status.lock() {
            st.peers_connected = net.peers_reachable();
            st.links = net.links();
            st.connections_refused = refused;
            st.duplicates_dropped = duplicates;
        }
    }

    fn sync_metrics(&mut self) {
        let m = &self.metrics;
        m.buffered_transactions.set(self.beat.buffered() as i64);
        m.wal_records.set(self.next_seq as i64);
    }

    /// The network's counters and link states into the metrics and `status()`; on the timer
    /// only (every 200 ms), not per message batch.
    fn sync_net(&mut self) {
        self.refresh_net_status();
        let m = &self.metrics;
        let Some(net) = &self.net else { return };
        let fams = [
            &m.messages_sent,
            &m.bytes_sent,
            &m.messages_received,
            &m.bytes_received,
            &m.messages_dropped,
            &m.connections_refused,
            &m.duplicates_dropped,
            &m.messages_expired,
        ];
        for (t, (kind, counters)) in net.counters().enumerate() {
            let label = TransportLabel { transport: kind.name().into() };
            let now = counters.snapshot();
            for ((fam, now), seen) in fams.iter().zip(now).zip(self.net_seen[t].iter_mut()) {
                fam.get_or_create(&label).inc_by(now.saturating_sub(*seen));
                *seen = now;
            }
            m.peers_connected.get_or_create(&label).set(net.peers_up_on(t) as i64);
        }
        for link in net.links() {
            let label = LinkLabel { peer: link.peer as u32, transport: link.transport.name().into() };
            m.link_up.get_or_create(&label).set(i64::from(link.up));
            m.link_connects.get_or_create(&label).set(link.connects as i64);
        }
    }
}

impl<A: ConsensusApp> BeatNode<A> {
    /// Open the store, restore and replay, start the transport, and run. The node owns its
    /// tokio runtime (two worker threads).
    pub fn start(config: NodeConfig, app: A, listener: Option<Arc<dyn CommitListener>>) -> Result<Self, NodeError> {
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
        let channel_keys = Arc::new(crate::net::handshake::ChannelKeys::new(
            config.keys.id,
            &config.identity,
            &config.peer_identities,
            &config.keys.public.session,
        ));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("beat-node")
            .build()
            .map_err(NodeError::Runtime)?;
        let store: Arc<dyn Store> = match &config.store {
            Some(store) => store.clone(),
            None => {
                std::fs::create_dir_all(&config.data_dir)
                    .map_err(|source| NodeError::Store(StoreError::Io { path: config.data_dir.clone(), source }))?;
                Arc::new(RedbStore::open(&config.data_dir)?)
            }
        };
        let seed: [u8; 32] = match store.get_meta(NODE_SEED_KEY)? {
            Some(s) if s.len() == 32 => s.try_into().unwrap_or([0; 32]),
            _ => {
                let s: [u8; 32] = rand::random();
                store.put_meta(NODE_SEED_KEY, &s)?;
                s
            }
        };
        // The application: latest snapshot, then every later committed batch from the replay.
        let mut app = app;
        let mut applied_next = 0;
        if let Some((epoch, bytes)) = store.latest_snapshot()? {
            app.restore(&bytes).map_err(NodeError::Snapshot)?;
            applied_next = epoch + 1;
        }
        // The protocol checkpoint taken with that snapshot (written before it).
        let checkpoint: Option<beat::Checkpoint> = match store.get_meta(&checkpoint_key(applied_next))? {
            Some(bytes) if applied_next > 0 => {
                Some(codec::decode(&bytes, codec::MAX_FRAME_BYTES).map_err(|_| NodeError::Wal(applied_next))?)
            }
            _ => None,
        };
        let app = Arc::new(Mutex::new(app));
        let status = Arc::new(Mutex::new(Status { epoch: applied_next, ..Status::default() }));
        let me = config.keys.id;
        let session = config.keys.public.session;
        let (metrics, registry) = match &config.registry {
            Some(r) => {
                let m = r.lock().map(|mut reg| NodeMetrics::register(&mut reg));
                (m.map_err(|_| NodeError::Snapshot("metrics registry lock poisoned".into()))?, r.clone())
            }
            None => NodeMetrics::new(),
        };
        let mut driver = Driver {
            metrics,
            submitted: Default::default(),
            net_seen: vec![[0; 8]; config.transports.len()],
            replaying: true,
            peer_epoch: vec![0; n],
            catch_up: Default::default(),
            last_fetch: None,
            store_error: None,
            epoch_first_seq: Default::default(),
            last_checkpoint: checkpoint.as_ref().map_or(0, |c| c.epoch),
            wal_first: 0,
            last_progress: Instant::now(),
            progress_epoch: 0,
            sent: Default::default(),
            me,
            n,
            session,
            beat: match &checkpoint {
                Some(cp) => Beat::resume(config.keys.clone(), config.beat.clone(), cp),
                None => Beat::new(config.keys.clone(), config.beat.clone()),
            },
            store: store.clone(),
            app: app.clone(),
            listener,
            status: status.clone(),
            seed,
            next_seq: 0,
            applied_next,
            snapshot_every: config.snapshot_every,
            net: None,
        };
        // Replay the whole input log.
        let mut resend = Vec::new();
        for (seq, bytes) in store.wal_iter(0)? {
            if driver.next_seq == 0 {
                driver.wal_first = seq;
            }
            let entry: WalEntry =
                codec::decode(&bytes, codec::MAX_FRAME_BYTES + 1024).map_err(|_| NodeError::Wal(seq))?;
            resend.extend(driver.process(seq, entry, None));
            driver.next_seq = seq + 1;
        }
        // Record numbers continue after the highest ever written, even if truncation emptied the log.
        let after_last = store.wal_last_seq()?.map_or(0, |s| s + 1);
        if driver.next_seq < after_last {
            if driver.next_seq == 0 {
                driver.wal_first = after_last;
            }
            driver.next_seq = after_last;
        }
        driver.replaying = false;
        let open_epoch = driver.beat.epoch();
        resend.retain(|(_, m)| m.epoch >= open_epoch);
        let (in_tx, mut in_rx) = mpsc::channel::<(NodeId, Vec<u8>)>(8192);
        let (cmd_tx, mut cmd_rx) = mpsc::channel::<Cmd>(config.submit_queue.max(1));
        let (conn_tx, mut conn_rx) = mpsc::unbounded_channel::<(NodeId, usize)>();
        runtime.block_on(async {
            let name = format!("beat-{}-{me}", hex::encode(&session.0[..4]));
            let mut setups = Vec::new();
            for t in &config.transports {
                let mut transport = t.open(&name).await.map_err(NodeError::Transport)?;
                if let Some(censors) = &config.censors {
                    transport = Arc::new(Censored::new(transport, censors.of(t.kind()).clone()));
                }
                let peers = t.peers().iter().map(|p| Some(p.clone())).collect();
                setups.push(TransportSetup { transport, peers });
            }
            driver.net = Some(Switch::start(me, channel_keys, setups, in_tx, config.peer_queue, conn_tx));
            if let Some(addr) = config.metrics_listen {
                let l =
                    tokio::net::TcpListener::bind(addr).await.map_err(|source| NodeError::Listen { addr, source })?;
                tokio::spawn(crate::metrics::serve(l, registry.clone()));
            }
            Ok::<(), NodeError>(())
        })?;
        driver.send(resend);
        runtime.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(200));
            loop {
                let mut entries = Vec::new();
                let mut stop: Option<oneshot::Sender<()>> = None;
                tokio::select! {
                    Some((from, frame)) = in_rx.recv() => entries.extend(driver.inbound(from, frame)),
                    Some((peer, t)) = conn_rx.recv() => driver.resend(peer, t),
                    cmd = cmd_rx.recv() => match cmd {
                        Some(Cmd::Submit(tx)) => entries.push((WalEntry::Submit(tx.into()), None)),
                        Some(Cmd::Shutdown(done)) => stop = Some(done),
                        None => return,
                    },
                    _ = tick.tick() => driver.sync_net(),
                }
                // Take whatever else is ready, up to a batch, into the same durable append.
                for _ in 0..512 {
                    match in_rx.try_recv() {
                        Ok((from, frame)) => entries.extend(driver.inbound(from, frame)),
                        Err(_) => break,
                    }
                }
                while entries.len() < 1024 && stop.is_none() {
                    match cmd_rx.try_recv() {
                        Ok(Cmd::Submit(tx)) => entries.push((WalEntry::Submit(tx.into()), None)),
                        Ok(Cmd::Shutdown(done)) => stop = Some(done),
                        Err(_) => break,
                    }
                }
                if let Err(e) = driver.log_and_process(entries).and_then(|()| driver.catch_up()) {
                    // Without a durable log the node must not go on sending: it stops, and says why.
                    if let Ok(mut st) = driver.status.lock() {
                        st.failed = Some(format!("store: {e}"));
                    }
                    return;
                }
                if let Some(done) = stop {
                    let _ = driver.store.flush();
                    let _ = done.send(());
                    return;
                }
            }
        });
        Ok(BeatNode { runtime: Some(runtime), cmds: cmd_tx, app, status, queue_cap: config.submit_queue, registry })
    }

    /// Queue a client transaction (non-blocking).
    pub fn submit(&self, tx: Vec<u8>) -> Result<(), SubmitError> {
        if let Ok(app) = self.app.lock() {
            app.validate(&tx).map_err(SubmitError::Invalid)?;
        }
        self.cmds.try_send(Cmd::Submit(tx)).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => SubmitError::QueueFull(self.queue_cap),
            mpsc::error::TrySendError::Closed(_) => SubmitError::Stopped,
        })
    }

    /// What the node is doing.
    pub fn status(&self) -> Status {
        let mut s = self.status.lock().map(|s| s.clone()).unwrap_or_default();
        s.submit_queue = self.cmds.max_capacity() - self.cmds.capacity();
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

    fn stop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            let (tx, rx) = oneshot::channel();
            if self.cmds.try_send(Cmd::Shutdown(tx)).is_ok() {
                let _ = rt.block_on(async { tokio::time::timeout(Duration::from_secs(5), rx).await });
            }
            rt.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

impl<A: ConsensusApp> Drop for BeatNode<A> {
    fn drop(&mut self) {
        self.stop();
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
