//! [`NodeCore`]: the deterministic core of a node (see the [module doc](super)).
//!
//! ## The write-ahead input log
//!
//! Every input that can change consensus state — an accepted peer frame, a client transaction,
//! a catch-up batch, a peer's rejoin — becomes a WAL record with the next sequence number and is
//! handed to the shell in [`Ready::append`] *before* anything derived from it is sent. Record
//! `seq` is processed with randomness `ChaCha20(H(node seed ‖ seq))`, and the protocol is
//! deterministic given its inputs and that randomness, so replaying the log rebuilds exactly the
//! state the node had: every frame a restarted node sends for a slot it had already sent is
//! byte-identical to the original. Read traffic (BEAT3/4) never moves consensus and is not
//! logged. The shell makes records durable no later than the first frame it sends after them
//! (group commit, [`super::persist::append`]): a step that sends nothing costs no fsync, and a
//! crash can only lose records nothing sent yet depends on.
//!
//! ## Checkpoints and truncation
//!
//! Every `snapshot_every` epochs (once the application has every batch up to the epoch before),
//! [`Ready::checkpoint`] carries the protocol's [`Checkpoint`] (next epoch, buffer,
//! de-duplication state); the shell stores it, then the application snapshot, then drops the WAL
//! before [`Ready::truncate_before`]: the first record holding a message of an epoch from the
//! checkpoint on. Frames beyond the window are never logged, so that point is close behind.
//!
//! ## Budgets (before the WAL)
//!
//! A frame is dropped and counted ([`Ready::drops`], per peer and [`DropReason`]), never
//! logged, when it is oversized for the committee's settings, undecodable, from a peer's
//! previous incarnation, for an epoch this node has closed, beyond the window plus
//! [`Limits::future_epochs`], a duplicate of a message already logged (by content, whatever
//! message id it came under), or over its peer's byte budget for its epoch or for the future
//! buffer. So a member's traffic can grow the WAL by at most [`Limits::wal_bytes_per_peer`]
//! without commits, and its memory footprint here likewise.
//!
//! ## Catch-up
//!
//! A node that sees `f + 1` peers `catch_up_lag` epochs ahead (or, once it has not moved for
//! `stall_ms`: `f + 1` peers ahead, its rejoin fence ahead, or `f + 1` peers seen in the epoch it
//! is stuck in — the others may have committed it and gone idle, with nothing later to show)
//! asks every peer for committed batches from its current epoch, at most once per
//! `fetch_interval_ms`. An answer counts only from a peer it asked, only for an epoch
//! it asked that peer for, one vote per peer and epoch; the batch of the current epoch is taken
//! once `f + 1` peers sent the same bytes (one of them is correct), logged like any input, and
//! applied with [`Beat::fast_forward`]. Requests from peers are rate-limited per peer and handed
//! to the shell ([`Ready::serve`]) to answer from the store off the main loop.
//!
//! ## Resend
//!
//! Catch-up brings only committed epochs. A node that caught up into the epoch the others are
//! stuck in dropped their frames of it while it was behind (beyond its window, or over the
//! future budget), and nothing else sends them again while the links stay up; with `f` members
//! down, that epoch cannot finish. So a node remembers, per peer, the epochs ahead it dropped
//! frames of, and stalled in one of them asks that peer ([`Wire::Resend`]) to send its frames
//! of it again; a peer stalled in that epoch or the next answers, [`RESENDS_PER_EPOCH`] times
//! per (asker, epoch) at most once per `stall_ms`, then once per
//! [`RESEND_REFILL_STALLS`]` × stall_ms`. A frame can also be lost at its sender: every link
//! queue to the peer was full (its byte budget), with the links up. The shell reports those
//! ([`NodeCore::unsent`]), and a node stalled in such an epoch sends the peer its frames of it
//! again on its own, within the same budget.
//!
//! ## Rejoin fence
//!
//! A node cannot tell a complete log from a stale copy of one (a restored backup, a rolled-back
//! disk, a wiped store). So every start is a rejoin: the node picks a fresh random incarnation,
//! replays its log, and asks every peer ([`Wire::Rejoin`]) which epochs it had frames for from
//! an *earlier* incarnation that came from records *after* the end of this log. Until `n − 1`
//! peers have answered (or `n − 1 − f` and `rejoin_timeout_ms` passed), it sends nothing; then
//! it fences every epoch up to the highest such epoch: it never sends a consensus frame for them
//! (it catches up past them instead), so it never contradicts a frame it sent and no longer
//! remembers. With a complete log nothing is reported and nothing is fenced.
//!
//! The fence must not be a lever for a Byzantine peer (reporting epoch 2^60 would silence the
//! node for good). Every consensus frame carries a [`Stamp`]: (incarnation, record, epoch) and a
//! tag that is a MAC under a key derived from the sender's secret key share — a key that survives
//! a wiped store. A peer's answer names the stamp of the frame it reports; the node checks the
//! tag and that the record lies beyond its log, and ignores (and records as a fault) anything
//! else. So the fence is at most the highest epoch the node really sent frames for, which the
//! committee really reached. A peer that has
//! seen a node's rejoin drops frames of that node's earlier incarnations (in flight from before
//! the restart), so they cannot arrive after the answer. Frames re-derived from the log
//! (identical to the originals) are sent again after the rejoin, with the new incarnation.
//! Residual case, stated plainly: a correct peer that is down during the rejoin and had
//! processed frames from the lost records is not asked; if the committee then needs this node
//! in those epochs, this node's new frames could contradict what that peer holds. A log that
//! is never rolled back (the normal case: the store is durable) never reaches it.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};

use super::limits::Limits;
use super::router::{self, Route, Stamp, Wire};
use crate::beat::{self, Batch, Beat, Checkpoint, Input, Message, NodeKeys, Output, ReadOutcome};
use crate::codec;
use crate::crypto::hash::{tagged_hash, Digest};
use crate::proto::{Event, Fault, FaultKind, Protocol, Step};
use crate::{NodeId, Params, SessionId};

/// How a node core runs (beyond the protocol's own [`beat::Config`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoreConfig {
    /// The protocol's local tunables.
    pub beat: beat::Config,
    /// Checkpoint and snapshot every this many epochs (0: never).
    pub snapshot_every: u64,
    /// Committed batches kept behind the latest checkpoint, in epochs, to answer lagging
    /// peers' catch-up (a peer further behind than this needs a state transfer).
    pub retain_committed_epochs: u64,
    /// What a peer can make the node spend (defaults: [`Limits::for_settings`]).
    pub limits: Limits,
    /// Epochs `f + 1` peers must be ahead before this node fetches committed batches.
    pub catch_up_lag: u64,
    /// Milliseconds without progress, with `f + 1` peers ahead (or in its epoch, or its rejoin
    /// fence ahead), before it fetches anyway.
    pub stall_ms: u64,
    /// Milliseconds between two fetch rounds.
    pub fetch_interval_ms: u64,
    /// Epochs asked for per fetch round (and the most a peer may answer per request).
    pub fetch_epochs: u32,
    /// Milliseconds to wait for every peer's rejoin answer before settling for `n − 1 − f`.
    pub rejoin_timeout_ms: u64,
    /// Milliseconds between two rejoin questions to the peers that have not answered (a
    /// question can be lost: a peer's link queue to us was full of frames from before the
    /// restart, or the peer was down).
    pub rejoin_retry_ms: u64,
    /// Bytes of candidate catch-up batches kept at once for epochs after the next one to
    /// commit, shared out equally among the peers (a peer's answers beyond its share are
    /// dropped and asked for again in a later round). Answers for the next epoch to commit are
    /// always kept: one per peer, each within `Limits::max_committed_bytes`, so no peer's
    /// answers can crowd out the ones catch-up needs now.
    pub catch_up_bytes: usize,
    /// Report every accepted consensus frame in [`Ready::accepted`] (the audit trail).
    pub audit: bool,
    /// BEAT3/4: repair and scrub of this node's fragments.
    pub upkeep: super::UpkeepConfig,
    /// **Test hook (canaries only):** skip the rejoin fence. A node restarted from a stale
    /// log then contradicts what it sent before; the simulator must catch it.
    pub unsafe_skip_rejoin_fence: bool,
    /// **Test hook (canaries only):** never send frames again to a peer stuck in an epoch
    /// (the answer to [`Wire::Resend`], and frames reported unsent). A laggard that
    /// lost the others' frames of the epoch they all wait in then stalls the committee; the
    /// simulator's laggard canary must see it.
    pub unsafe_skip_resend: bool,
}

impl CoreConfig {
    /// Defaults for a committee with these settings.
    pub fn for_settings(settings: &beat::Settings, n: usize) -> Self {
        CoreConfig {
            beat: beat::Config::default(),
            snapshot_every: 64,
            retain_committed_epochs: 4096,
            limits: Limits::for_settings(settings, n),
            catch_up_lag: 5,
            stall_ms: 800,
            fetch_interval_ms: 400,
            fetch_epochs: 64,
            rejoin_timeout_ms: 2000,
            rejoin_retry_ms: 500,
            catch_up_bytes: 64 << 20,
            audit: false,
            upkeep: super::UpkeepConfig::default(),
            unsafe_skip_rejoin_fence: false,
            unsafe_skip_resend: false,
        }
    }
}

/// Why a frame was dropped before the WAL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DropReason {
    /// Larger than the committee's settings allow.
    Oversized,
    /// Did not decode (another session or version, trailing bytes, garbage).
    Malformed,
    /// From an incarnation of the peer older than the one it rejoined with.
    StaleIncarnation,
    /// For an epoch this node has closed.
    ClosedEpoch,
    /// For an epoch beyond the window and the future buffer.
    BeyondWindow,
    /// The same message (by content) was logged already.
    Duplicate,
    /// Over the peer's byte budget for that epoch.
    EpochBudget,
    /// Over the peer's byte budget for epochs beyond the window.
    FutureBudget,
    /// A catch-up answer nobody asked this peer for, or a second one for an epoch.
    Unsolicited,
    /// Over the memory budget for candidate catch-up batches.
    CatchUpBudget,
    /// A catch-up request beyond the peer's rate.
    RateLimited,
    /// A consensus frame of an epoch this node is fenced out of (never sent).
    Fenced,
}

impl DropReason {
    /// Every reason, for metrics.
    pub const ALL: [DropReason; 12] = [
        DropReason::Oversized,
        DropReason::Malformed,
        DropReason::StaleIncarnation,
        DropReason::ClosedEpoch,
        DropReason::BeyondWindow,
        DropReason::Duplicate,
        DropReason::EpochBudget,
        DropReason::FutureBudget,
        DropReason::Unsolicited,
        DropReason::CatchUpBudget,
        DropReason::RateLimited,
        DropReason::Fenced,
    ];

    /// Its name in metrics and logs.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::Oversized => "oversized",
            DropReason::Malformed => "malformed",
            DropReason::StaleIncarnation => "stale_incarnation",
            DropReason::ClosedEpoch => "closed_epoch",
            DropReason::BeyondWindow => "beyond_window",
            DropReason::Duplicate => "duplicate",
            DropReason::EpochBudget => "epoch_budget",
            DropReason::FutureBudget => "future_budget",
            DropReason::Unsolicited => "unsolicited",
            DropReason::CatchUpBudget => "catch_up_budget",
            DropReason::RateLimited => "rate_limited",
            DropReason::Fenced => "fenced",
        }
    }
}

/// A frame dropped before the WAL (inbound from `peer`, or, for [`DropReason::Fenced`], one
/// of ours that was never sent to `peer`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Drop {
    /// The peer.
    pub peer: NodeId,
    /// Why.
    pub reason: DropReason,
    /// The frame's size.
    pub bytes: usize,
}

/// A frame to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// The recipient.
    pub to: NodeId,
    /// Its message id (for the switch's de-duplication across networks; a resend keeps it).
    pub id: u64,
    /// Its epoch ([`u64::MAX`] for traffic of no epoch), so slow links can skip closed epochs.
    pub epoch: u64,
    /// The encoded frame.
    pub frame: Arc<Vec<u8>>,
    /// `Some(t)`: resend on transport `t` only (a link that reconnected); `None`: every network.
    pub transport: Option<usize>,
}

/// A catch-up request to answer from the committed log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServeRequest {
    /// Who asked.
    pub to: NodeId,
    /// First epoch.
    pub from: u64,
    /// How many epochs (capped).
    pub count: u32,
}

/// The protocol checkpoint to store with the application snapshot of `epoch − 1`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointWrite {
    /// The checkpoint's epoch (the next epoch to run).
    pub epoch: u64,
    /// Its metadata key.
    pub key: Vec<u8>,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Delete older checkpoints: metadata keys from `checkpoint_key(0)` up to this one.
    pub delete_below: Option<Vec<u8>>,
    /// Drop committed batches of epochs below this one (beyond the retention).
    pub prune_committed_before: Option<u64>,
    /// The application's snapshot must be taken after the first `at_commit` batches of
    /// [`Ready::commit`] and before the rest (which belong to later epochs than the
    /// checkpoint's).
    pub at_commit: usize,
}

/// What the shell must do, in this order: persist [`Ready::append`] durably; send
/// [`Ready::send`]; store [`Ready::commit`] in the committed log and apply it to the
/// application — storing [`Ready::checkpoint`] and then the application snapshot after its
/// first [`CheckpointWrite::at_commit`] batches; drop the WAL before
/// [`Ready::truncate_before`]; answer [`Ready::serve`].
#[must_use = "a Ready carries records that must be persisted and frames that must be sent"]
#[derive(Debug, Default)]
pub struct Ready {
    /// WAL records (sequence number, bytes).
    pub append: Vec<(u64, Vec<u8>)>,
    /// Frames to send, after `append` is durable.
    pub send: Vec<Outgoing>,
    /// Committed batches, in epoch order, with their encoding (for the committed log), each
    /// from the application's next epoch on.
    pub commit: Vec<(Batch, Vec<u8>)>,
    /// A checkpoint to store.
    pub checkpoint: Option<CheckpointWrite>,
    /// Drop WAL records below this sequence number.
    pub truncate_before: Option<u64>,
    /// Catch-up requests to answer.
    pub serve: Vec<ServeRequest>,
    /// Finished reads (BEAT3/4).
    pub reads: Vec<ReadOutcome>,
    /// Finished fragment repairs (BEAT3/4; see [`NodeCore::upkeep`]).
    pub repairs: Vec<crate::beat::RepairOutcome>,
    /// BEAT3/4: this node's own values that committed, with where its transactions lie.
    pub stored: Vec<crate::beat::OwnValue>,
    /// Faults observed against peers.
    pub faults: Vec<Fault>,
    /// Protocol milestones (metrics).
    pub events: Vec<Event>,
    /// Frames dropped before the WAL.
    pub drops: Vec<Drop>,
    /// Client transactions refused before the WAL.
    pub refused: Vec<SubmitRefused>,
    /// The node cannot go on (an internal error); the shell stops it and reports this.
    pub failed: Option<String>,
    /// With [`CoreConfig::audit`]: the consensus frames accepted (logged) in this step.
    pub accepted: Vec<super::audit::Accepted>,
}

impl Ready {
    pub fn extend(&mut self, other: Ready) {
        self.append.extend(other.append);
        self.send.extend(other.send);
        let before = self.commit.len();
        self.commit.extend(other.commit);
        if let Some(mut cp) = other.checkpoint {
            cp.at_commit += before;
            self.checkpoint = Some(cp);
        }
        if other.truncate_before.is_some() {
            self.truncate_before = other.truncate_before;
        }
        self.serve.extend(other.serve);
        self.reads.extend(other.reads);
        self.repairs.extend(other.repairs);
        self.stored.extend(other.stored);
        self.faults.extend(other.faults);
        self.events.extend(other.events);
        self.drops.extend(other.drops);
        self.refused.extend(other.refused);
        self.accepted.extend(other.accepted);
        self.failed = self.failed.take().or(other.failed);
    }

    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.append.is_empty()
            && self.send.is_empty()
            && self.commit.is_empty()
            && self.checkpoint.is_none()
            && self.truncate_before.is_none()
            && self.serve.is_empty()
            && self.reads.is_empty()
            && self.repairs.is_empty()
            && self.stored.is_empty()
            && self.failed.is_none()
    }
}

/// A client transaction refused before the WAL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SubmitRefused(pub String);

/// What the shell reads from the store before starting a core.
#[derive(Clone, Debug, Default)]
pub struct Recovery {
    /// The protocol checkpoint stored with the latest application snapshot, and its epoch.
    pub checkpoint: Option<Checkpoint>,
    /// The epoch the application state starts from (the latest snapshot's epoch + 1, or 0).
    pub applied_next: u64,
    /// The highest WAL sequence number ever written (not lowered by truncation).
    pub last_seq: Option<u64>,
    /// The first WAL record kept.
    pub first_seq: Option<u64>,
}

/// Where a restarted node stands in its rejoin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RejoinStatus {
    /// Waiting for peers' answers; nothing is sent yet.
    Asking {
        /// Answers so far.
        answers: usize,
    },
    /// Rejoined; epochs below `fence` are never sent for (0: none fenced).
    Done {
        /// The first epoch this node may send consensus frames for.
        fence: u64,
    },
}

/// A WAL record.
#[derive(Serialize, Deserialize)]
enum WalEntry {
    /// A peer's accepted consensus frame, as received.
    Message { from: u32, frame: serde_bytes::ByteBuf },
    /// A client transaction.
    Submit(serde_bytes::ByteBuf),
    /// A committed batch of the current epoch, confirmed by `f + 1` peers.
    CatchUp(serde_bytes::ByteBuf),
    /// A peer (re)started with a new incarnation.
    Rejoin {
        from: u32,
        incarnation: u64,
        /// The last record the peer's log held (its question, answered once this is processed).
        #[serde(default)]
        last_seq: Option<u64>,
    },
}

/// A decoded consensus frame: the sender's stamp and the message.
type Decoded = (Stamp, Message);

/// A record being appended, with its already-decoded frame (the live path decodes once).
type Pending = (WalEntry, Option<Decoded>);

/// Rejoin announcements of new incarnations logged per peer per second (an honest member
/// announces one per restart).
const REJOINS_PER_SECOND: u32 = 1;
/// Rejoin announcements logged at once (a few quick restarts in a row are not delayed).
const REJOIN_BURST: u32 = 4;

/// The epoch of frames of no epoch (catch-up and rejoin traffic): never stale.
pub const NO_EPOCH: u64 = u64::MAX;

/// Times a node sends its frames of one epoch again to one peer that asks
/// ([`Wire::Resend`]), at most `stall_ms` apart; after that, once per
/// [`RESEND_REFILL_STALLS`]` × stall_ms` (answers can be lost, or dropped by an asker that
/// does not know our incarnation yet).
pub const RESENDS_PER_EPOCH: u32 = 3;

/// See [`RESENDS_PER_EPOCH`].
pub const RESEND_REFILL_STALLS: u64 = 8;

/// The metadata key of the checkpoint of `epoch`.
pub fn checkpoint_key(epoch: u64) -> Vec<u8> {
    format!("checkpoint/{epoch:020}").into_bytes()
}

fn record_rng(seed: &[u8; 32], seq: u64) -> ChaCha20Rng {
    ChaCha20Rng::from_seed(tagged_hash("BEAT/node/record-rng", &[seed, &seq.to_be_bytes()]))
}

/// Catch-up answers for one epoch: each voter's digest, and the candidate batches by digest.
#[derive(Debug, Default)]
struct Votes {
    by: BTreeMap<NodeId, Digest>,
    /// Each candidate's bytes and the peer they are charged to (the first to send them).
    batches: HashMap<Digest, (Vec<u8>, NodeId)>,
}

/// A token bucket: `rate` tokens a second, at most `burst` (at least one) at once; full at
/// the first take.
#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    last_ms: Option<u64>,
    tokens: u32,
}

impl Bucket {
    fn take(&mut self, now_ms: u64, rate: u32, burst: u32) -> bool {
        let (rate, burst) = (rate.max(1), burst.max(1));
        match self.last_ms {
            None => {
                self.tokens = burst;
                self.last_ms = Some(now_ms);
            }
            Some(last) => {
                let refill = now_ms.saturating_sub(last).saturating_mul(u64::from(rate)) / 1000;
                if refill > 0 {
                    self.tokens = refill.saturating_add(u64::from(self.tokens)).min(u64::from(burst)) as u32;
                    self.last_ms = Some(now_ms);
                }
            }
        }
        if self.tokens == 0 {
            return false;
        }
        self.tokens -= 1;
        true
    }
}

/// A frame we sent for an open epoch (resent when a link comes back).
#[derive(Debug, Clone)]
struct Sent {
    to: NodeId,
    id: u64,
    frame: Arc<Vec<u8>>,
}

/// A frame held back during the rejoin, and whether it was re-derived from the log (identical
/// to one sent before, so it is sent whatever the fence).
#[derive(Debug, Clone)]
struct Held {
    to: NodeId,
    epoch: u64,
    frame: Arc<Vec<u8>>,
    replayed: bool,
}

/// The rejoin in progress.
#[derive(Debug)]
struct Rejoin {
    started_ms: Option<u64>,
    asked_ms: u64,
    answers: BTreeMap<NodeId, Option<u64>>,
    done: Option<u64>,
    held: Vec<Held>,
}

/// The key of this node's frame tags (see the module doc). `Debug` shows nothing.
struct TagKey([u8; 32]);

impl std::fmt::Debug for TagKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TagKey(<redacted>)")
    }
}

impl std::ops::Drop for TagKey {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// The deterministic core of a node.
#[derive(Debug)]
pub struct NodeCore {
    me: NodeId,
    params: Params,
    session: SessionId,
    config: CoreConfig,
    beat: Beat,
    seed: TagKey,
    tag_key: TagKey,
    incarnation: u64,
    next_seq: u64,
    /// The last record the log held at start (the rejoin question).
    recovered_last: Option<u64>,
    /// The record the checkpoint we resumed from was taken after: client transactions up to
    /// it are in the checkpoint, and are not submitted again in replay.
    checkpoint_record: Option<u64>,
    wal_first: u64,
    replaying: bool,
    now_ms: u64,
    /// Lowest record holding a message of each epoch (for truncation).
    epoch_first_seq: BTreeMap<u64, u64>,
    last_checkpoint: u64,
    applied_next: u64,
    next_id: u64,
    /// Frames we sent for epochs still open, by epoch.
    sent: BTreeMap<u64, Vec<Sent>>,
    rejoin: Rejoin,
    /// Peers' announced incarnations (frames of others are dropped).
    peer_incarnation: Vec<Option<u64>>,
    /// Per (peer, incarnation, epoch): the stamp of the highest-record frame we processed.
    heard: BTreeMap<(NodeId, u64, u64), Stamp>,
    /// Logged frame bytes per (epoch, peer), for epochs not yet closed.
    epoch_bytes: BTreeMap<(u64, NodeId), usize>,
    /// Digests of logged messages per epoch: (peer, digest).
    seen: BTreeMap<u64, HashSet<(NodeId, Digest)>>,
    /// Highest epoch seen in each peer's accepted traffic.
    peer_epoch: Vec<u64>,
    /// Highest epoch each peer sent a consensus frame of (logged, or dropped as beyond the
    /// window): one it was in, not merely about to start (a rejoin answer's epoch).
    peer_active: Vec<Option<u64>>,
    /// Fetch rounds made only because `f + 1` peers were in the current epoch, since it began
    /// (each doubles the wait before the next: a slow epoch is not polled at full rate).
    level_rounds: u32,
    catch_up: BTreeMap<u64, Votes>,
    catch_up_held: usize,
    /// Candidate catch-up bytes charged to each peer (see [`NodeCore::count_answer`]).
    catch_up_held_by: Vec<usize>,
    /// Per peer: rejoin announcements logged.
    rejoin_tokens: Vec<Bucket>,
    /// Per peer: read requests answered.
    read_tokens: Vec<Bucket>,
    /// Per peer: the epochs we asked it for (`lo..hi`).
    requested: Vec<Option<(u64, u64)>>,
    last_fetch_ms: Option<u64>,
    last_progress_ms: u64,
    progress_epoch: u64,
    /// Per peer: catch-up requests served.
    serve_tokens: Vec<Bucket>,
    /// Per (peer, epoch) of the last two: how often and when we last sent it our frames of the
    /// epoch again ([`NodeCore::resend_to`]).
    resends: BTreeMap<(NodeId, u64), (u32, u64)>,
    /// Per peer: when we last asked it to ([`NodeCore::ask_resend`]).
    resend_asked_at: Vec<Option<u64>>,
    /// (peer, epoch) of our frames the shell could not queue on any live link
    /// ([`NodeCore::unsent`]), until sent again or the epoch closes.
    lost_sends: std::collections::BTreeSet<(NodeId, u64)>,
    /// Frames sent again because the shell reported them unsent.
    unsent_resent: u64,
    /// Per peer: the lowest and highest epoch (ours or ahead) it sent a frame of that we
    /// dropped unlogged (beyond the window, over the future budget, of an incarnation we do not
    /// know), until we pass the highest.
    dropped_ahead: Vec<Option<(u64, u64)>>,
    /// Frames sent again to stuck peers.
    resent: u64,
    caught_up: u64,
    faults: u64,
    drops: BTreeMap<(NodeId, DropReason), u64>,
    /// BEAT3/4: repair and scrub.
    upkeep: super::upkeep::Upkeep,
}

impl NodeCore {
    /// A core for `keys` with `config`, the node's persistent `seed` (kept in its store), a
    /// fresh random `incarnation`, and what the store holds (`recovery`). Replay the WAL with
    /// [`NodeCore::replay`], then call [`NodeCore::start`].
    pub fn new(keys: NodeKeys, config: CoreConfig, seed: [u8; 32], incarnation: u64, recovery: &Recovery) -> Self {
        let params = keys.public.params;
        let (me, session) = (keys.id, keys.public.session);
        // The protocol must never drop a frame the core logged for a far epoch (a replay from a
        // checkpoint, further ahead, would take it): its own budget covers the core's.
        let mut config = config;
        config.beat.max_future_bytes = config.beat.max_future_bytes.max(config.limits.future_bytes_per_peer);
        let secret = keys.decryption_secret.to_bytes();
        let tag_key = TagKey(tagged_hash("BEAT/node/frame-tag-key", &[&session.0, &secret[..]]));
        let beat = match &recovery.checkpoint {
            Some(cp) => Beat::resume(keys, config.beat.clone(), cp),
            None => Beat::new(keys, config.beat.clone()),
        };
        let next_seq = recovery.last_seq.map_or(0, |s| s + 1);
        let id_seed = tagged_hash("BEAT/node/message-ids", &[&incarnation.to_le_bytes()]);
        let mut id_bytes = [0u8; 8];
        id_bytes.copy_from_slice(&id_seed[..8]);
        let epoch = beat.epoch();
        NodeCore {
            me,
            params,
            session,
            beat,
            seed: TagKey(seed),
            tag_key,
            incarnation,
            next_seq,
            recovered_last: recovery.last_seq,
            checkpoint_record: recovery.checkpoint.as_ref().and_then(|c| c.record),
            wal_first: recovery.first_seq.unwrap_or(next_seq),
            replaying: true,
            now_ms: 0,
            epoch_first_seq: BTreeMap::new(),
            last_checkpoint: recovery.checkpoint.as_ref().map_or(0, |c| c.epoch),
            applied_next: recovery.applied_next,
            // The top bit keeps the core's ids apart from the switch's own (which start below 2^63).
            next_id: u64::from_le_bytes(id_bytes) | (1 << 63),
            sent: BTreeMap::new(),
            rejoin: Rejoin { started_ms: None, asked_ms: 0, answers: BTreeMap::new(), done: None, held: Vec::new() },
            peer_incarnation: vec![None; params.n],
            heard: BTreeMap::new(),
            epoch_bytes: BTreeMap::new(),
            seen: BTreeMap::new(),
            peer_epoch: vec![0; params.n],
            peer_active: vec![None; params.n],
            level_rounds: 0,
            catch_up: BTreeMap::new(),
            catch_up_held: 0,
            catch_up_held_by: vec![0; params.n],
            rejoin_tokens: vec![Bucket::default(); params.n],
            read_tokens: vec![Bucket::default(); params.n],
            requested: vec![None; params.n],
            last_fetch_ms: None,
            last_progress_ms: 0,
            progress_epoch: epoch,
            serve_tokens: vec![Bucket::default(); params.n],
            resends: BTreeMap::new(),
            resend_asked_at: vec![None; params.n],
            dropped_ahead: vec![None; params.n],
            lost_sends: Default::default(),
            unsent_resent: 0,
            resent: 0,
            caught_up: 0,
            faults: 0,
            drops: BTreeMap::new(),
            upkeep: super::upkeep::Upkeep::new(config.upkeep.clone()),
            config,
        }
    }

    // ---- recovery ----------------------------------------------------------------------------

    /// Replay WAL records (in order; call once per page). The result holds the batches that
    /// committed from the application's next epoch on (to apply again) and nothing to send
    /// (re-derived frames are held for the rejoin). An undecodable record is an error.
    pub fn replay(&mut self, records: &[(u64, Vec<u8>)]) -> Result<Ready, String> {
        let mut ready = Ready::default();
        for (seq, bytes) in records {
            let entry: WalEntry = codec::decode(bytes, self.config.limits.max_committed_bytes + 4096)
                .map_err(|e| format!("write-ahead log record {seq} does not decode: {e}"))?;
            if self.epoch_first_seq.is_empty() && *seq < self.wal_first {
                self.wal_first = *seq;
            }
            self.next_seq = self.next_seq.max(seq + 1);
            self.process(*seq, entry, None, &mut ready);
            if let Some(e) = ready.failed.take() {
                return Err(e);
            }
        }
        Ok(ready)
    }

    /// The end of recovery: ask every peer for the rejoin fence. Sends only the requests; the
    /// frames re-derived from the log go out once the rejoin is done.
    pub fn start(&mut self, now_ms: u64) -> Ready {
        let mut ready = Ready::default();
        // A proposal the checkpoint recorded and no replayed record made again (the log ended
        // at the checkpoint): made now, still as replayed (held for the rejoin, then re-sent),
        // stamped with the last record the store holds (it is not evidence of a lost log).
        let seq = self.recovered_last.unwrap_or(0);
        let mut rng = record_rng(&self.seed.0, seq);
        match self.beat.resume_proposal(&mut rng) {
            Ok(step) => self.absorb(seq, step, &mut ready),
            Err(e) => ready.failed = Some(format!("resumed proposal: {e}")),
        }
        self.replaying = false;
        self.now_ms = now_ms;
        self.last_progress_ms = now_ms;
        self.rejoin.started_ms = Some(now_ms);
        self.ask_rejoin(&mut ready);
        if self.config.unsafe_skip_rejoin_fence {
            self.finish_rejoin(0, &mut ready);
        }
        ready
    }

    // ---- inputs -------------------------------------------------------------------------------

    /// A frame from authenticated peer `from`.
    pub fn frame(&mut self, from: NodeId, frame: Vec<u8>) -> Ready {
        self.frames(vec![(from, frame)], Vec::new())
    }

    /// Frames from peers and client transactions, logged in one append, then processed in order.
    pub fn frames(&mut self, frames: Vec<(NodeId, Vec<u8>)>, submits: Vec<Vec<u8>>) -> Ready {
        let mut ready = Ready::default();
        let mut pending: Vec<Pending> = Vec::new();
        for (from, frame) in frames {
            if from >= self.params.n || from == self.me {
                continue;
            }
            if let Some(p) = self.admit(from, frame, &mut ready) {
                pending.push(p);
            }
        }
        for tx in submits {
            match self.beat.check_submit(&tx) {
                Ok(()) => pending.push((WalEntry::Submit(tx.into()), None)),
                Err(e) => ready.refused.push(SubmitRefused(e.to_string())),
            }
        }
        self.log_and_process(pending, &mut ready);
        self.after(&mut ready);
        ready
    }

    /// Client transactions.
    pub fn submit(&mut self, txs: Vec<Vec<u8>>) -> Ready {
        self.frames(Vec::new(), txs)
    }

    /// BEAT3/4: keep fragments in `store` (durable: [`super::StoreFragments`]). Call right
    /// after [`NodeCore::new`], before [`NodeCore::replay`].
    pub fn set_fragment_store(&mut self, store: Box<dyn crate::beat::FragmentStore>) {
        self.beat.set_fragment_store(store);
    }

    /// Forget read `read` (its caller gave up).
    pub fn cancel_read(&mut self, read: u64) {
        self.beat.cancel_read(read);
    }

    /// The number the next [`NodeCore::read`] gets ([`crate::beat::ReadOutcome::read`]).
    pub fn next_read(&self) -> u64 {
        self.beat.next_read()
    }

    /// A read of a committed value (BEAT3/4); the outcome comes in a later [`Ready::reads`].
    pub fn read(&mut self, input: Input) -> Ready {
        let mut ready = Ready::default();
        let mut rng = record_rng(&self.seed.0, u64::MAX - self.now_ms);
        match self.beat.handle_input(input, &mut rng) {
            Ok(step) => self.absorb(u64::MAX, step, &mut ready),
            Err(e) => ready.failed = Some(format!("read: {e}")),
        }
        ready
    }

    /// Time passes (monotonic milliseconds): rejoin timeout, catch-up, rate limits, fragment
    /// repair and scrub.
    pub fn tick(&mut self, now_ms: u64) -> Ready {
        self.now_ms = self.now_ms.max(now_ms);
        let mut ready = Ready::default();
        self.after(&mut ready);
        self.run_upkeep(&mut ready);
        ready
    }

    /// BEAT3/4: start the repairs and scrub steps [`super::upkeep`] asks for (never while
    /// replaying or rejoining: the node does not know yet what it holds).
    fn run_upkeep(&mut self, ready: &mut Ready) {
        if self.replaying || self.rejoin.done.is_none() {
            return;
        }
        let inputs = self.upkeep.poll(&mut self.beat, self.now_ms);
        for (i, (read, input)) in inputs.into_iter().enumerate() {
            // The read number upkeep registered is the one the protocol gives this repair.
            debug_assert!(read.is_none_or(|r| r == self.beat.next_read()), "repair read numbers out of step");
            let mut rng = record_rng(&self.seed.0, u64::MAX - (self.now_ms << 8) - i as u64);
            match self.beat.handle_input(input, &mut rng) {
                Ok(step) => self.absorb(u64::MAX, step, ready),
                Err(e) => ready.failed = Some(format!("repair: {e}")),
            }
        }
    }

    /// `checkpoint` (the bytes of a [`CheckpointWrite`]) without the cross-checksums of `gone`
    /// (values [`NodeCore::prune_values`] forgot after the checkpoint was taken), so that a
    /// restart from it does not bring them back. Undecodable bytes are returned as they are.
    pub fn checkpoint_without(&self, checkpoint: &[u8], gone: &[crate::beat::ValueId]) -> Vec<u8> {
        let Ok(mut cp) = codec::decode::<Checkpoint>(checkpoint, usize::MAX) else { return checkpoint.to_vec() };
        let gone: HashSet<(u64, NodeId)> = gone.iter().map(|id| (id.epoch, id.proposer)).collect();
        cp.checksums.retain(|(e, p, _)| !gone.contains(&(*e, *p)));
        codec::encode(&cp)
    }

    /// BEAT3/4: what fragment repair and scrub have done and have left.
    pub fn upkeep(&self) -> super::UpkeepStatus {
        self.upkeep.status()
    }

    /// BEAT3/4: forget the committed values older than epoch `horizon` that `keep` does not
    /// keep (the application's retention policy); returns them, so the shell deletes their
    /// fragments.
    pub fn prune_values(
        &mut self,
        horizon: u64,
        keep: &mut dyn FnMut(crate::beat::ValueId) -> bool,
    ) -> Vec<crate::beat::ValueId> {
        self.beat.prune_values(horizon, keep)
    }

    /// The shell could not queue these frames of ours — `(peer, epoch)` — on any live link:
    /// every link to the peer that is up was full (its byte budget), so no reconnection sends
    /// them again. Stalled in such an epoch (or the next), the node sends that peer its frames
    /// of it again once per report, as if the peer had asked (`resend_to`: the same budget per
    /// peer and epoch; a resend the links drop again is reported again). Without this a
    /// committee under load can lose a frame this way at every correct node in the same
    /// epoch, and then all of it waits in that epoch for good (seen once in the 100-epoch
    /// catch-up test; the node simulation's `overflow` canary).
    ///
    /// What it relies on: only what this node's own shell reports about its own queues; a peer
    /// cannot make it resend more than the resend budget allows anyway. Kept for the epochs
    /// from the one before ours to the end of the window, so at most a few per peer.
    pub fn unsent(&mut self, frames: impl IntoIterator<Item = (NodeId, u64)>) {
        let (lo, hi) = (self.beat.epoch().saturating_sub(1), self.window().1);
        for (peer, epoch) in frames {
            if peer < self.params.n && peer != self.me && (lo..=hi).contains(&epoch) {
                self.lost_sends.insert((peer, epoch));
            }
        }
    }

    /// A link to `peer` on transport `transport` came (back) up: send it our frames of open
    /// epochs again, with their ids, on that transport.
    pub fn link_up(&mut self, peer: NodeId, transport: usize) -> Ready {
        let mut ready = Ready::default();
        if self.rejoin.done.is_none() {
            return ready;
        }
        for (epoch, frames) in &self.sent {
            for s in frames.iter().filter(|s| s.to == peer) {
                ready.send.push(Outgoing {
                    to: peer,
                    id: s.id,
                    epoch: *epoch,
                    frame: s.frame.clone(),
                    transport: Some(transport),
                });
            }
        }
        ready
    }

    /// `peer` is stuck in `epoch`, which it dropped frames of ours for (see
    /// [`NodeCore::ask_resend`]): send them again if we are stuck too (no progress for
    /// `stall_ms`) in that epoch or the next — the same bytes, under fresh ids (the switch would
    /// drop the old ones as copies). A copy the peer holds is dropped as a duplicate before any
    /// budget (unless it restarted since it logged it: then it is logged again, as after a
    /// reconnection). False if the request is refused as too frequent.
    ///
    /// Relies on nothing the peer says being true: a peer that asks when it is not stuck gets
    /// our frames to it of the epoch we are stalled in or the one before again, only while we
    /// are stalled, [`RESENDS_PER_EPOCH`] times per epoch at most `stall_ms` apart and then
    /// once per [`RESEND_REFILL_STALLS`]` × stall_ms` — 3 times the traffic it gets anyway,
    /// and then a trickle for as long as the stall lasts (`frame-flooder` asks on every
    /// tick). Nothing below the rejoin fence is sent again (see [`NodeCore::raise_fence`]).
    fn resend_to(&mut self, peer: NodeId, epoch: u64, ready: &mut Ready) -> bool {
        let current = self.beat.epoch();
        let stalled = self.stalled();
        let fenced = self.rejoin.done.is_none_or(|fence| epoch < fence);
        if self.config.unsafe_skip_resend || fenced || epoch > current || epoch + 1 < current || !stalled {
            return true;
        }
        let (count, at) = self.resends.get(&(peer, epoch)).copied().unwrap_or((0, 0));
        let wait = match count {
            0 => 0,
            c if c < RESENDS_PER_EPOCH => self.config.stall_ms,
            _ => self.config.stall_ms.saturating_mul(RESEND_REFILL_STALLS),
        };
        if self.now_ms.saturating_sub(at) < wait {
            return false;
        }
        self.resends.insert((peer, epoch), (count.saturating_add(1), self.now_ms));
        let frames: Vec<Arc<Vec<u8>>> = self
            .sent
            .get(&epoch)
            .map(|v| v.iter().filter(|s| s.to == peer).map(|s| s.frame.clone()).collect())
            .unwrap_or_default();
        self.resent += frames.len() as u64;
        for frame in frames {
            let out = self.outgoing(peer, epoch, frame);
            ready.send.push(out);
        }
        true
    }

    /// Stuck in the current epoch (no progress for `stall_ms`), ask each peer whose frames of
    /// it we dropped — beyond the window or over the future budget, while we were behind, or as
    /// of an incarnation whose rejoin we had not logged yet — to
    /// send them again, at most once per `2 × stall_ms` each. Those frames are gone, and
    /// nothing else brings them back while the links stay up: once the rest of the committee
    /// waits in this epoch too, with `f` members down, it cannot finish without us, nor we
    /// without them (catch-up needs a committed batch). A peer that only claimed such an epoch
    /// (far-future copies, `frame-flooder`) is asked in vain: it costs one small frame.
    fn ask_resend(&mut self, ready: &mut Ready) {
        let current = self.beat.epoch();
        let stalled = self.stalled();
        if !stalled || self.rejoin.done.is_none() {
            return;
        }
        let interval = self.config.stall_ms.saturating_mul(2);
        let mut frame = None;
        for p in self.peers().collect::<Vec<_>>() {
            let dropped = self.dropped_ahead[p].is_some_and(|(lo, hi)| lo <= current && current <= hi);
            let due = self.resend_asked_at[p].is_none_or(|t| self.now_ms.saturating_sub(t) >= interval);
            if dropped && due {
                self.resend_asked_at[p] = Some(self.now_ms);
                let frame = frame
                    .get_or_insert_with(|| Arc::new(router::encode(self.session, Wire::Resend { epoch: current })))
                    .clone();
                ready.send.push(self.outgoing(p, NO_EPOCH, frame));
            }
        }
    }

    /// Stuck in the current epoch, send each peer whose frames of it (or of the one before) the
    /// shell could not queue ([`NodeCore::unsent`]) our frames of it again, once per report,
    /// within the resend budget.
    fn resend_unsent(&mut self, ready: &mut Ready) {
        if self.lost_sends.is_empty() || !self.stalled() || self.rejoin.done.is_none() {
            return;
        }
        let current = self.beat.epoch();
        let due: Vec<(NodeId, u64)> =
            self.lost_sends.iter().copied().filter(|(_, e)| *e + 1 >= current && *e <= current).collect();
        for (peer, epoch) in due {
            let before = self.resent;
            if self.resend_to(peer, epoch, ready) {
                self.lost_sends.remove(&(peer, epoch));
                self.unsent_resent += self.resent - before;
            }
        }
    }

    /// No progress for `stall_ms` in the current epoch (as of the last [`NodeCore::after`]).
    fn stalled(&self) -> bool {
        self.progress_epoch == self.beat.epoch()
            && self.now_ms.saturating_sub(self.last_progress_ms) >= self.config.stall_ms
    }

    /// A frame of `peer`'s for `epoch` (the current one or later) was dropped unlogged.
    fn dropped_ahead(&mut self, peer: NodeId, epoch: u64) {
        self.dropped_ahead[peer] =
            Some(self.dropped_ahead[peer].map_or((epoch, epoch), |(lo, hi)| (lo.min(epoch), hi.max(epoch))));
    }

    // ---- admission (before the WAL) ------------------------------------------------------------

    fn drop(&mut self, peer: NodeId, reason: DropReason, bytes: usize, ready: &mut Ready) {
        *self.drops.entry((peer, reason)).or_default() += 1;
        ready.drops.push(Drop { peer, reason, bytes });
    }

    /// Sort a frame; a consensus frame that passes every budget is returned to be logged.
    fn admit(&mut self, from: NodeId, frame: Vec<u8>, ready: &mut Ready) -> Option<Pending> {
        let len = frame.len();
        let limits = &self.config.limits;
        let max = limits.max_frame_bytes.max(limits.max_committed_bytes);
        if len > max {
            self.drop(from, DropReason::Oversized, len, ready);
            return None;
        }
        let route = match router::route_bounded(&frame, &self.session, max) {
            Ok(r) => r,
            Err(_) => {
                self.drop(from, DropReason::Malformed, len, ready);
                ready.faults.push(Fault { node: from, kind: FaultKind::Malformed });
                return None;
            }
        };
        match route {
            Route::Consensus { stamp, message } => {
                if len > self.config.limits.max_frame_bytes {
                    self.drop(from, DropReason::Oversized, len, ready);
                    return None;
                }
                if self.peer_incarnation[from].is_some_and(|i| i != stamp.incarnation) || stamp.epoch != message.epoch {
                    // Maybe of a newer incarnation whose rejoin we have not logged yet (dropped
                    // as too frequent): lost like a frame beyond the window.
                    if stamp.epoch >= self.beat.epoch() {
                        self.dropped_ahead(from, stamp.epoch);
                    }
                    self.drop(from, DropReason::StaleIncarnation, len, ready);
                    return None;
                }
                if message.is_read() {
                    // A request costs a store read and a fragment-sized answer: rate-limited.
                    let request = matches!(message.content, crate::beat::Content::ReadRequest { .. });
                    let rate = self.config.limits.reads_served_per_second;
                    if request && !self.read_tokens[from].take(self.now_ms, rate, rate) {
                        self.drop(from, DropReason::RateLimited, len, ready);
                        return None;
                    }
                    // Read traffic does not move consensus: served without the WAL.
                    let mut rng = record_rng(&self.seed.0, u64::MAX);
                    match self.beat.handle_message(from, message, &mut rng) {
                        Ok(step) => self.absorb(u64::MAX, step, ready),
                        Err(e) => ready.failed = Some(format!("read message: {e}")),
                    }
                    return None;
                }
                self.admit_consensus(from, frame, (stamp, message), ready)
            }
            Route::Fetch { from: first, count } => {
                if self.take_serve_token(from) {
                    let count = count.min(self.config.limits.serve_batch);
                    ready.serve.push(ServeRequest { to: from, from: first, count });
                } else {
                    self.drop(from, DropReason::RateLimited, len, ready);
                }
                None
            }
            Route::Committed { epoch, batch } => {
                self.count_answer(from, epoch, batch, ready);
                None
            }
            Route::Resend { epoch } => {
                if !self.resend_to(from, epoch, ready) {
                    self.drop(from, DropReason::RateLimited, len, ready);
                }
                None
            }
            Route::Rejoin { incarnation, last_seq } => {
                if self.peer_incarnation[from] == Some(incarnation) {
                    // Asked again (a retry, or a copy): answer from what is processed, log nothing.
                    self.answer_rejoin(from, incarnation, last_seq, ready);
                    return None;
                }
                // A new incarnation is a WAL record: rate-limited, and charged to the peer's
                // budget of the current epoch like its frames.
                let e = self.beat.epoch();
                let used = self.epoch_bytes.get(&(e, from)).copied().unwrap_or(0);
                if used + len > self.config.limits.epoch_bytes_per_peer {
                    self.drop(from, DropReason::EpochBudget, len, ready);
                    return None;
                }
                if !self.rejoin_tokens[from].take(self.now_ms, REJOINS_PER_SECOND, REJOIN_BURST) {
                    self.drop(from, DropReason::RateLimited, len, ready);
                    return None;
                }
                *self.epoch_bytes.entry((e, from)).or_default() += len;
                // From here on, frames of the peer's old incarnation (later in this batch too)
                // are dropped; the answer is sent once the record is processed, so it covers
                // every earlier record of this batch.
                self.peer_incarnation[from] = Some(incarnation);
                Some((WalEntry::Rejoin { from: from as u32, incarnation, last_seq }, None))
            }
            Route::RejoinAnswer { incarnation, stale, epoch } => {
                if incarnation == self.incarnation && from != self.me && !self.rejoin.answers.contains_key(&from) {
                    let stale_epoch = match stale {
                        Some(s) if self.own_stale_stamp(&s) => Some(s.epoch),
                        Some(_) => {
                            ready.faults.push(Fault { node: from, kind: FaultKind::ForgedStamp });
                            self.faults += 1;
                            None
                        }
                        None => None,
                    };
                    self.rejoin.answers.entry(from).or_insert(stale_epoch);
                    // The epoch it would run next, not one it is in: `peer_epoch` only.
                    self.peer_epoch[from] = self.peer_epoch[from].max(epoch);
                    if let (Some(fence), Some(stale)) = (self.rejoin.done, stale_epoch) {
                        if stale >= fence && !self.config.unsafe_skip_rejoin_fence {
                            self.raise_fence(stale + 1);
                        }
                    }
                }
                None
            }
        }
    }

    fn admit_consensus(
        &mut self,
        from: NodeId,
        frame: Vec<u8>,
        decoded: Decoded,
        ready: &mut Ready,
    ) -> Option<Pending> {
        let len = frame.len();
        let message = &decoded.1;
        let e = message.epoch;
        let current = self.beat.epoch();
        let window = current + self.config.beat.max_future_epochs;
        if e < current {
            self.drop(from, DropReason::ClosedEpoch, len, ready);
            return None;
        }
        if e > window + self.config.limits.future_epochs {
            // Not logged, but a sign of where the peer is (catch-up needs `f + 1` such signs).
            self.saw_peer_at(from, e);
            self.dropped_ahead(from, e);
            self.drop(from, DropReason::BeyondWindow, len, ready);
            return None;
        }
        let digest = tagged_hash("BEAT/node/message", &[&codec::encode(message)]);
        if self.seen.get(&e).is_some_and(|s| s.contains(&(from, digest))) {
            self.drop(from, DropReason::Duplicate, len, ready);
            return None;
        }
        let used = self.epoch_bytes.get(&(e, from)).copied().unwrap_or(0);
        if used + len > self.config.limits.epoch_bytes_per_peer {
            self.drop(from, DropReason::EpochBudget, len, ready);
            return None;
        }
        if e > window {
            let future: usize =
                self.epoch_bytes.iter().filter(|((ep, p), _)| *ep > window && *p == from).map(|(_, b)| *b).sum();
            if future + len > self.config.limits.future_bytes_per_peer {
                self.dropped_ahead(from, e);
                self.drop(from, DropReason::FutureBudget, len, ready);
                return None;
            }
        }
        if self.config.audit {
            if let Some(slot) = super::audit::slot(message, self.me) {
                let digest = super::audit::message_digest(message);
                ready.accepted.push(super::audit::Accepted { from, epoch: e, slot, digest });
            }
        }
        *self.epoch_bytes.entry((e, from)).or_default() += len;
        self.seen.entry(e).or_default().insert((from, digest));
        self.saw_peer_at(from, e);
        Some((WalEntry::Message { from: from as u32, frame: frame.into() }, Some(decoded)))
    }

    /// Peer `from` sent a consensus frame of epoch `e`: it is (or was) in `e` at least.
    fn saw_peer_at(&mut self, from: NodeId, e: u64) {
        self.peer_epoch[from] = self.peer_epoch[from].max(e);
        self.peer_active[from] = Some(self.peer_active[from].map_or(e, |a| a.max(e)));
    }

    fn take_serve_token(&mut self, peer: NodeId) -> bool {
        let rate = self.config.limits.serve_per_second;
        self.serve_tokens[peer].take(self.now_ms, rate, rate)
    }

    /// A catch-up answer: only from a peer we asked, for an epoch we asked it for and have not
    /// committed, one per peer and epoch, within the memory budget.
    fn count_answer(&mut self, from: NodeId, epoch: u64, batch: Vec<u8>, ready: &mut Ready) {
        let len = batch.len();
        let asked = self.requested[from].is_some_and(|(lo, hi)| (lo..hi).contains(&epoch));
        if !asked || epoch < self.beat.epoch() || self.catch_up.get(&epoch).is_some_and(|v| v.by.contains_key(&from)) {
            self.drop(from, DropReason::Unsolicited, len, ready);
            return;
        }
        let d = tagged_hash("BEAT/node/catch-up", &[&batch]);
        let known = self.catch_up.get(&epoch).is_some_and(|v| v.batches.contains_key(&d));
        // New bytes are charged to the peer that sent them. For the next epoch to commit they
        // are always kept (one answer per peer, each bounded by the router); for later epochs
        // only within the peer's share, so a liar's garbage for future epochs costs it its own
        // share and nobody else's.
        let share = self.config.catch_up_bytes / self.params.n.saturating_sub(1).max(1);
        if !known && epoch > self.beat.epoch() && self.catch_up_held_by[from] + len > share {
            self.drop(from, DropReason::CatchUpBudget, len, ready);
            return;
        }
        let votes = self.catch_up.entry(epoch).or_default();
        if !known {
            self.catch_up_held += len;
            self.catch_up_held_by[from] += len;
            votes.batches.insert(d, (batch, from));
        }
        votes.by.insert(from, d);
    }

    /// Answer a peer's rejoin question from every record processed so far.
    fn answer_rejoin(&mut self, from: NodeId, incarnation: u64, last_seq: Option<u64>, ready: &mut Ready) {
        let answer = Wire::RejoinAnswer {
            incarnation,
            stale: self.stale_stamp(from, incarnation, last_seq),
            epoch: self.beat.epoch(),
        };
        let frame = Arc::new(router::encode(self.session, answer));
        ready.send.push(self.outgoing(from, NO_EPOCH, frame));
    }

    /// The stamp of the highest-epoch frame from an incarnation of `peer` other than
    /// `incarnation` that came from a record after `last_seq`.
    fn stale_stamp(&self, peer: NodeId, incarnation: u64, last_seq: Option<u64>) -> Option<Stamp> {
        self.heard
            .range((peer, 0, 0)..=(peer, u64::MAX, u64::MAX))
            .filter(|((_, inc, _), s)| *inc != incarnation && last_seq.is_none_or(|l| s.seq > l))
            .map(|(_, s)| *s)
            .max_by_key(|s| s.epoch)
    }

    /// Our tag over (incarnation, record, epoch).
    fn tag(&self, incarnation: u64, seq: u64, epoch: u64) -> [u8; 16] {
        let h = tagged_hash(
            "BEAT/node/frame-tag",
            &[&self.tag_key.0, &incarnation.to_be_bytes(), &seq.to_be_bytes(), &epoch.to_be_bytes()],
        );
        let mut tag = [0u8; 16];
        tag.copy_from_slice(&h[..16]);
        tag
    }

    /// Whether a reported stamp is of a frame we really sent, from an earlier incarnation and
    /// a record beyond the log we started from.
    fn own_stale_stamp(&self, s: &Stamp) -> bool {
        let genuine: bool =
            subtle::ConstantTimeEq::ct_eq(&self.tag(s.incarnation, s.seq, s.epoch)[..], &s.tag[..]).into();
        // Read traffic is stamped with `seq = u64::MAX` (it has no record): never evidence of a
        // lost log.
        genuine
            && s.seq != u64::MAX
            && s.incarnation != self.incarnation
            && self.recovered_last.is_none_or(|l| s.seq > l)
    }

    // ---- logging and processing ---------------------------------------------------------------

    fn log_and_process(&mut self, pending: Vec<Pending>, ready: &mut Ready) {
        if pending.is_empty() {
            return;
        }
        let first = self.next_seq;
        for (i, (entry, _)) in pending.iter().enumerate() {
            ready.append.push((first + i as u64, codec::encode(entry)));
        }
        self.next_seq += pending.len() as u64;
        for (i, (entry, decoded)) in pending.into_iter().enumerate() {
            let seq = first + i as u64;
            self.process(seq, entry, decoded, ready);
            if ready.failed.is_some() {
                return;
            }
            self.maybe_checkpoint(seq, ready);
        }
    }

    /// Process record `seq` (live, or in replay).
    fn process(&mut self, seq: u64, entry: WalEntry, decoded: Option<Decoded>, ready: &mut Ready) {
        let mut rng = record_rng(&self.seed.0, seq);
        let step = match entry {
            WalEntry::Message { from, frame } => {
                let from = from as usize;
                let decoded =
                    decoded.or_else(|| match router::route_bounded(&frame, &self.session, codec::MAX_FRAME_BYTES) {
                        Ok(Route::Consensus { stamp, message }) => Some((stamp, message)),
                        _ => None,
                    });
                let Some((stamp, message)) = decoded.filter(|_| from < self.params.n) else {
                    ready.failed = Some(format!("write-ahead log record {seq} holds no consensus frame"));
                    return;
                };
                let heard = self.heard.entry((from, stamp.incarnation, message.epoch)).or_insert(stamp);
                if stamp.seq > heard.seq {
                    *heard = stamp;
                }
                self.epoch_first_seq.entry(message.epoch).or_insert(seq);
                self.beat.handle_message(from, message, &mut rng)
            }
            WalEntry::Submit(_) if self.replaying && self.checkpoint_record.is_some_and(|c| seq <= c) => {
                // In the checkpoint already (buffered, committed or refused at the time).
                Ok(Step::new())
            }
            WalEntry::Submit(tx) => {
                // Checked before logging; a refusal now (the buffer filled meanwhile) is not a crash.
                match self.beat.handle_input(Input::Submit(tx.into_vec()), &mut rng) {
                    Ok(step) => Ok(step),
                    Err(_) => Ok(Step::new()),
                }
            }
            WalEntry::CatchUp(bytes) => match codec::decode::<Batch>(&bytes, self.config.limits.max_committed_bytes) {
                Ok(batch) if batch.epoch == self.beat.epoch() => {
                    self.caught_up += 1;
                    self.beat.fast_forward(batch, &mut rng)
                }
                _ => Ok(Step::new()),
            },
            WalEntry::Rejoin { from, incarnation, last_seq } => {
                let from = from as usize;
                if let Some(slot) = self.peer_incarnation.get_mut(from) {
                    *slot = Some(incarnation);
                    if !self.replaying {
                        self.answer_rejoin(from, incarnation, last_seq, ready);
                    }
                }
                Ok(Step::new())
            }
        };
        match step {
            Ok(step) => self.absorb(seq, step, ready),
            Err(e) => ready.failed = Some(format!("protocol error at record {seq}: {e}")),
        }
    }

    /// Turn a protocol step into frames (held during the rejoin, fenced below the fence),
    /// commits and reads.
    fn absorb(&mut self, seq: u64, step: Step<Message, Output>, ready: &mut Ready) {
        self.faults += step.faults.len() as u64;
        ready.faults.extend(step.faults);
        ready.events.extend(step.events);
        for out in step.output {
            match out {
                Output::Batch(b) => {
                    if b.epoch >= self.applied_next {
                        self.applied_next = b.epoch + 1;
                        let bytes = codec::encode(&b);
                        ready.commit.push((b, bytes));
                    }
                }
                Output::Read(r) => ready.reads.push(r),
                Output::Repaired(r) => {
                    self.upkeep.finished(&r, self.now_ms);
                    ready.repairs.push(r);
                }
                Output::Stored(o) => ready.stored.push(o),
            }
        }
        let missing = self.beat.take_missing();
        if !missing.is_empty() {
            self.upkeep.missing(missing, self.now_ms);
        }
        let open = self.beat.epoch().saturating_sub(1);
        for (target, message) in step.messages {
            let epoch = message.epoch;
            let read = message.is_read();
            let stamp =
                Stamp { incarnation: self.incarnation, seq, epoch, tag: self.tag(self.incarnation, seq, epoch) };
            let wire = Wire::Consensus { stamp, message };
            let frame = Arc::new(router::encode(self.session, wire));
            for to in self.peers().filter(|to| target.includes(self.me, *to)).collect::<Vec<_>>() {
                if read {
                    // Reads are of values committed in closed epochs: sent as traffic of no
                    // epoch, so links never skip them as stale.
                    ready.send.push(self.outgoing(to, NO_EPOCH, frame.clone()));
                    continue;
                }
                match self.rejoin.done {
                    None => self.rejoin.held.push(Held { to, epoch, frame: frame.clone(), replayed: self.replaying }),
                    Some(fence) if epoch < fence => self.drop(to, DropReason::Fenced, frame.len(), ready),
                    Some(_) => {
                        let out = self.outgoing(to, epoch, frame.clone());
                        if epoch >= open {
                            self.sent.entry(epoch).or_default().push(Sent { to, id: out.id, frame: frame.clone() });
                        }
                        ready.send.push(out);
                    }
                }
            }
        }
    }

    fn outgoing(&mut self, to: NodeId, epoch: u64, frame: Arc<Vec<u8>>) -> Outgoing {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        Outgoing { to, id, epoch, frame, transport: None }
    }

    fn peers(&self) -> impl Iterator<Item = NodeId> {
        let me = self.me;
        (0..self.params.n).filter(move |j| *j != me)
    }

    /// Checkpoint every `snapshot_every` epochs, once the application has everything up to the
    /// epoch before; then the WAL before the first record of an epoch from the checkpoint on
    /// can go.
    fn maybe_checkpoint(&mut self, seq: u64, ready: &mut Ready) {
        let epoch = self.beat.epoch();
        let every = self.config.snapshot_every;
        if every == 0 || epoch < self.last_checkpoint + every || self.applied_next != epoch || self.replaying {
            return;
        }
        let mut cp = self.beat.checkpoint();
        cp.record = Some(seq);
        let delete_below = (self.last_checkpoint > 0).then(|| checkpoint_key(self.last_checkpoint));
        let prune_committed_before = epoch.checked_sub(self.config.retain_committed_epochs).filter(|e| *e > 0);
        ready.checkpoint = Some(CheckpointWrite {
            epoch,
            key: checkpoint_key(epoch),
            bytes: codec::encode(&cp),
            delete_below,
            prune_committed_before,
            at_commit: ready.commit.len(),
        });
        self.last_checkpoint = epoch;
        self.epoch_first_seq = self.epoch_first_seq.split_off(&epoch);
        let needed = self.epoch_first_seq.values().copied().min();
        let keep_from = needed.unwrap_or(seq + 1).min(seq + 1);
        if keep_from > self.wal_first {
            ready.truncate_before = Some(keep_from);
            self.wal_first = keep_from;
        }
    }

    // ---- after every input: rejoin, catch-up, pruning ------------------------------------------

    fn after(&mut self, ready: &mut Ready) {
        self.check_rejoin(ready);
        self.take_catch_up(ready);
        self.fetch_if_behind(ready);
        self.ask_resend(ready);
        self.resend_unsent(ready);
        self.prune();
    }

    /// Ask every peer that has not answered where we stand.
    fn ask_rejoin(&mut self, ready: &mut Ready) {
        self.rejoin.asked_ms = self.now_ms;
        let wire = Wire::Rejoin { incarnation: self.incarnation, last_seq: self.recovered_last };
        let frame = Arc::new(router::encode(self.session, wire));
        for to in self.peers().filter(|p| !self.rejoin.answers.contains_key(p)).collect::<Vec<_>>() {
            ready.send.push(self.outgoing(to, NO_EPOCH, frame.clone()));
        }
    }

    fn check_rejoin(&mut self, ready: &mut Ready) {
        let Some(started) = self.rejoin.started_ms else { return };
        let all = self.params.n - 1;
        // Keep asking the peers that have not answered, after the rejoin too (more slowly): a
        // peer that was down, or dropped the question (rate limit), must still learn the new
        // incarnation — it drops frames of any other — and its answer may raise the fence.
        let retry =
            if self.rejoin.done.is_some() { 4 * self.config.rejoin_retry_ms } else { self.config.rejoin_retry_ms };
        if self.rejoin.answers.len() < all && self.now_ms.saturating_sub(self.rejoin.asked_ms) >= retry {
            self.ask_rejoin(ready);
        }
        if self.rejoin.done.is_some() {
            return;
        }
        let answers = self.rejoin.answers.len();
        let enough = all - self.params.f;
        let timed_out = self.now_ms.saturating_sub(started) >= self.config.rejoin_timeout_ms;
        if answers >= all || (answers >= enough && timed_out) {
            let fence = self.rejoin.answers.values().flatten().max().map_or(0, |e| e + 1);
            self.finish_rejoin(fence, ready);
        }
    }

    /// A late rejoin answer reports more: fence further from now on, and forget what we sent
    /// below the new fence, so that nothing sends it again (a reconnection, a resend).
    fn raise_fence(&mut self, fence: u64) {
        self.rejoin.done = Some(fence);
        self.sent.retain(|e, _| *e >= fence);
    }

    fn finish_rejoin(&mut self, fence: u64, ready: &mut Ready) {
        let fence = if self.config.unsafe_skip_rejoin_fence { 0 } else { fence };
        self.rejoin.done = Some(fence);
        let open = self.beat.epoch().saturating_sub(1);
        for h in std::mem::take(&mut self.rejoin.held) {
            if h.epoch < open {
                continue; // closed meanwhile
            }
            if !h.replayed && h.epoch < fence {
                self.drop(h.to, DropReason::Fenced, h.frame.len(), ready);
                continue;
            }
            let out = self.outgoing(h.to, h.epoch, h.frame.clone());
            self.sent.entry(h.epoch).or_default().push(Sent { to: h.to, id: out.id, frame: h.frame });
            ready.send.push(out);
        }
    }

    /// Take every batch of the current epoch that `f + 1` peers confirmed.
    fn take_catch_up(&mut self, ready: &mut Ready) {
        loop {
            let current = self.beat.epoch();
            while let Some((e, _)) = self.catch_up.first_key_value() {
                if *e >= current {
                    break;
                }
                if let Some((_, v)) = self.catch_up.pop_first() {
                    for (bytes, owner) in v.batches.values() {
                        self.catch_up_held -= bytes.len();
                        self.catch_up_held_by[*owner] -= bytes.len();
                    }
                }
            }
            let confirmed = self.catch_up.get(&current).and_then(|v| {
                let mut counts: HashMap<Digest, usize> = HashMap::new();
                for d in v.by.values() {
                    *counts.entry(*d).or_default() += 1;
                }
                let (d, _) = counts.into_iter().find(|(_, c)| *c > self.params.f)?;
                // `f + 1` peers agree, so one correct peer does: whoever sent other bytes lied.
                let liars: Vec<NodeId> = v.by.iter().filter(|(_, x)| **x != d).map(|(p, _)| *p).collect();
                v.batches.get(&d).map(|(b, _)| (b.clone(), liars))
            });
            let Some((bytes, liars)) = confirmed else { break };
            for node in liars {
                self.faults += 1;
                ready.faults.push(Fault { node, kind: FaultKind::ForgedCommitted });
            }
            self.log_and_process(vec![(WalEntry::CatchUp(bytes.into()), None)], ready);
            if self.beat.epoch() == current || ready.failed.is_some() {
                break;
            }
        }
    }

    /// Ask for committed batches when `f + 1` peers are far ahead, or ahead while we are stuck,
    /// or while we are stuck in an epoch `f + 1` peers sent frames of (at a rate halving with
    /// each fruitless round, so a merely slow epoch is not polled at full rate). Peers whose
    /// answer for the current epoch is here already are not asked again. The last: a node that
    /// lost frames of its current epoch (dropped as beyond its window while it caught up, or
    /// by a full peer queue, which drops frames for a slow peer so it catches up instead)
    /// cannot finish it, and once the others committed it and went idle — no load, so no frame
    /// of a later epoch — nothing shows that anyone is ahead: without this the node would wait
    /// for the next client transaction somewhere in the committee.
    fn fetch_if_behind(&mut self, ready: &mut Ready) {
        let current = self.beat.epoch();
        if current != self.progress_epoch {
            self.progress_epoch = current;
            self.last_progress_ms = self.now_ms;
            self.level_rounds = 0;
        }
        if self.rejoin.done.is_none() {
            return;
        }
        let f = self.params.f;
        let far = self.peer_epoch.iter().filter(|e| **e >= current + self.config.catch_up_lag).count();
        let near = self.peer_epoch.iter().filter(|e| **e > current).count();
        let stalled = self.now_ms.saturating_sub(self.last_progress_ms) >= self.config.stall_ms;
        let fenced = self.rejoin.done.is_some_and(|fence| current < fence);
        // `f + 1` peers have been in this epoch at least (their frames of it may have been
        // dropped here, as beyond the window while this node caught up: they still count).
        let level = self.peer_active.iter().filter(|a| a.is_some_and(|e| e >= current)).count();
        let behind = far > f || ((near > f || fenced) && stalled);
        let only_level = !behind && level > f && stalled;
        let interval = match only_level {
            true => self.config.fetch_interval_ms << self.level_rounds.min(4),
            false => self.config.fetch_interval_ms,
        };
        let due = self.last_fetch_ms.is_none_or(|t| self.now_ms.saturating_sub(t) >= interval);
        if (behind || only_level) && due {
            self.last_fetch_ms = Some(self.now_ms);
            self.level_rounds += u32::from(only_level);
            let count = self.config.fetch_epochs;
            let wire = Wire::FetchCommitted { from: current, count };
            let frame = Arc::new(router::encode(self.session, wire));
            for to in self.peers().collect::<Vec<_>>() {
                // A peer whose answer for this epoch is here already would only send it again.
                if self.catch_up.get(&current).is_some_and(|v| v.by.contains_key(&to)) {
                    continue;
                }
                self.requested[to] = Some((current, current + u64::from(count)));
                ready.send.push(self.outgoing(to, NO_EPOCH, frame.clone()));
            }
        }
    }

    fn prune(&mut self) {
        let current = self.beat.epoch();
        let open = current.saturating_sub(1);
        while self.sent.first_key_value().is_some_and(|(e, _)| *e < open) {
            self.sent.pop_first();
        }
        while self.seen.first_key_value().is_some_and(|(e, _)| *e < current) {
            self.seen.pop_first();
        }
        self.epoch_bytes.retain(|(e, _), _| *e >= current);
        self.resends.retain(|(_, e), _| *e >= open);
        for d in &mut self.dropped_ahead {
            if d.is_some_and(|(_, hi)| hi < current) {
                *d = None;
            }
        }
        self.lost_sends.retain(|(_, e)| *e >= open);
        // Rejoin answers need frames of epochs a restarted peer might still be in: keep the
        // window behind the current epoch too.
        let keep = current.saturating_sub(self.config.beat.max_future_epochs + self.config.limits.future_epochs + 2);
        self.heard.retain(|(_, _, e), _| *e >= keep);
    }

    // ---- state --------------------------------------------------------------------------------

    /// Frames sent again to peers stuck in an epoch ([`Wire::Resend`]).
    pub fn resent_frames(&self) -> u64 {
        self.resent
    }

    /// Of those, frames sent again because the shell reported them unsent
    /// ([`NodeCore::unsent`]).
    pub fn unsent_resent_frames(&self) -> u64 {
        self.unsent_resent
    }

    /// The protocol.
    pub fn beat(&self) -> &Beat {
        &self.beat
    }

    /// The lowest epoch not yet committed.
    pub fn epoch(&self) -> u64 {
        self.beat.epoch()
    }

    /// The next WAL sequence number.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The first WAL record kept.
    pub fn wal_first(&self) -> u64 {
        self.wal_first
    }

    /// Epochs taken by catch-up (replays included).
    pub fn caught_up_epochs(&self) -> u64 {
        self.caught_up
    }

    /// Faults recorded against peers.
    pub fn faults(&self) -> u64 {
        self.faults
    }

    /// Frames dropped before the WAL, per (peer, reason).
    pub fn drops(&self) -> &BTreeMap<(NodeId, DropReason), u64> {
        &self.drops
    }

    /// Frames dropped before the WAL, in all.
    pub fn dropped(&self) -> u64 {
        self.drops.values().sum()
    }

    /// The rejoin.
    pub fn rejoin_status(&self) -> RejoinStatus {
        match self.rejoin.done {
            None => RejoinStatus::Asking { answers: self.rejoin.answers.len() },
            Some(fence) => RejoinStatus::Done { fence },
        }
    }

    /// This incarnation.
    pub fn incarnation(&self) -> u64 {
        self.incarnation
    }

    /// The next epoch the application gets.
    pub fn applied_next(&self) -> u64 {
        self.applied_next
    }

    /// Candidate catch-up bytes held.
    pub fn catch_up_bytes(&self) -> usize {
        self.catch_up_held
    }

    /// The peers' epochs as seen in their traffic.
    pub fn peer_epochs(&self) -> &[u64] {
        &self.peer_epoch
    }

    /// The protocol's future-window epochs (its own window plus the buffered ones).
    pub fn window(&self) -> (u64, u64) {
        let current = self.beat.epoch();
        (
            current + self.config.beat.max_future_epochs,
            current + self.config.beat.max_future_epochs + self.config.limits.future_epochs,
        )
    }

    /// Whether `epoch`'s frames from `peer` have budget left (for tests and metrics).
    pub fn epoch_bytes(&self, epoch: u64, peer: NodeId) -> usize {
        self.epoch_bytes.get(&(epoch, peer)).copied().unwrap_or(0)
    }

    /// The set of proposers the committee has, for callers.
    pub fn params(&self) -> Params {
        self.params
    }

    /// Keys of every epoch with a held or sent frame (for tests).
    pub fn open_epochs(&self) -> BTreeSet<u64> {
        self.sent.keys().copied().collect()
    }

    /// Queue of nothing: a helper for shells that want to know if the core waits on peers.
    pub fn is_rejoining(&self) -> bool {
        self.rejoin.done.is_none()
    }

    #[doc(hidden)]
    pub fn held_frames(&self) -> usize {
        self.rejoin.held.len()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Node 0 of a committee of four, started, with a catch-up budget of four largest answers.
    fn core() -> NodeCore {
        core_with(|_| {})
    }

    /// [`core`] with its configuration adjusted before it starts.
    fn core_with(adjust: impl FnOnce(&mut CoreConfig)) -> NodeCore {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let settings = beat::Settings { max_proposal_bytes: 64 << 10, ..beat::Settings::default() };
        let keys = beat::deal(Params::new(4).unwrap(), SessionId::from_name("core-test"), settings.clone(), &mut rng);
        let mut config = CoreConfig::for_settings(&settings, 4);
        config.catch_up_bytes = 4 * config.limits.max_committed_bytes;
        adjust(&mut config);
        let mut core = NodeCore::new(keys[0].clone(), config, [1; 32], 1, &Recovery::default());
        let _ = core.replay(&[]).unwrap();
        let _ = core.start(1);
        core
    }

    fn batch(epoch: u64) -> Vec<u8> {
        let b = Batch {
            epoch,
            proposers: vec![0, 1, 2],
            transactions: vec![vec![7u8; 4000]],
            stored: Vec::new(),
            client_ids: Vec::new(),
        };
        codec::encode(&b)
    }

    /// A liar's garbage for later epochs, at the size limit, cannot crowd out the correct
    /// peers' answers for the epoch the node needs now, nor theirs for later epochs.
    #[test]
    fn a_liars_garbage_cannot_crowd_out_the_answers_catch_up_needs() {
        let mut core = core();
        let mut ready = Ready::default();
        for p in 1..4 {
            core.requested[p] = Some((0, 16));
        }
        let liar = 3;
        let big = core.config.limits.max_committed_bytes - 256;
        for e in 1..16 {
            core.count_answer(liar, e, vec![0xee; big], &mut ready);
        }
        let share = core.config.catch_up_bytes / 3;
        assert!(core.catch_up_held_by[liar] <= share, "the liar holds more than its share");
        assert!(ready.drops.iter().any(|d| d.peer == liar && d.reason == DropReason::CatchUpBudget));
        for p in [1, 2] {
            core.count_answer(p, 0, batch(0), &mut ready);
            core.count_answer(p, 1, batch(1), &mut ready);
        }
        assert_eq!(core.catch_up[&0].by.len(), 2, "correct answers for the current epoch were dropped");
        assert_eq!(core.catch_up[&1].by.len(), 3, "correct answers for a later epoch were dropped");
        assert!(!ready.drops.iter().any(|d| d.peer != liar && d.reason == DropReason::CatchUpBudget));
        // The liar's answer for the current epoch is kept too (one vote), whatever its size.
        core.count_answer(liar, 0, vec![0xee; big], &mut ready);
        assert_eq!(core.catch_up[&0].by.len(), 3);
    }

    /// The fetch requests (catch-up asks, one per peer) of a tick at `now_ms`.
    fn fetches(core: &mut NodeCore, now_ms: u64) -> usize {
        let ready = core.tick(now_ms);
        ready
            .send
            .iter()
            .filter(|o| matches!(router::route(&o.frame, &core.session), Ok(Route::Fetch { from: 0, .. })))
            .count()
    }

    /// A node stuck in an epoch that `f + 1` peers sent frames of asks for the committed batch
    /// once it has not moved for `stall_ms`, even when no peer has shown a later epoch (the
    /// others committed it and went idle: nothing more will come), at a rate halving with each
    /// fruitless round. A node of an idle committee stays silent — also right after a restart,
    /// when every peer's rejoin answer names the epoch it would run next — and so does one that
    /// only one peer (maybe Byzantine) claims to be in the epoch with.
    #[test]
    fn a_node_stuck_in_an_epoch_of_an_idle_committee_asks_for_it() {
        let build = || core_with(|c| c.unsafe_skip_rejoin_fence = true);
        let stall = build().config.stall_ms;
        let interval = build().config.fetch_interval_ms;
        // Idle: nobody started epoch 0; ticks long after the stall time send nothing.
        let mut idle = build();
        assert_eq!(fetches(&mut idle, 1 + 10 * stall), 0, "an idle node asked for batches");
        // Restarted into an idle committee: every peer answers that it would run epoch 0 next.
        let mut restarted = build();
        let answers: Vec<(NodeId, Vec<u8>)> = (1..4)
            .map(|p| {
                (p, router::encode(restarted.session, Wire::RejoinAnswer { incarnation: 1, stale: None, epoch: 0 }))
            })
            .collect();
        let _ = restarted.frames(answers, Vec::new());
        assert_eq!(restarted.rejoin.answers.len(), 3, "the answers were not taken");
        assert_eq!(fetches(&mut restarted, 1 + 10 * stall), 0, "rejoin answers made an idle node ask");
        // Peers 1 and 2 each sent one frame of epoch 0 and then nothing (the rest was lost).
        let frame = |session, from: NodeId| {
            let aba = crate::proto::aba::AbaMessage { round: 0, content: crate::proto::aba::AbaContent::BVal(true) };
            let message = Message {
                epoch: 0,
                content: beat::Content::Acs(crate::proto::acs::AcsMessage {
                    proposer: from,
                    content: crate::proto::acs::AcsContent::Aba(aba),
                }),
            };
            let stamp = Stamp { incarnation: 9, seq: 0, epoch: 0, tag: [0; 16] };
            (from, router::encode(session, Wire::Consensus { stamp, message }))
        };
        let mut one = build();
        let ready = one.frames(vec![frame(one.session, 1)], Vec::new());
        assert_eq!(ready.append.len(), 1, "the frame was not taken");
        assert_eq!(fetches(&mut one, 1 + 10 * stall), 0, "one peer's word made it ask");
        let mut stuck = build();
        let ready = stuck.frames(vec![frame(stuck.session, 1), frame(stuck.session, 2)], Vec::new());
        assert_eq!(ready.append.len(), 2, "the frames were not taken");
        assert_eq!(fetches(&mut stuck, stall / 2), 0, "asked before the stall time");
        let first = 2 + stall;
        assert_eq!(fetches(&mut stuck, first), 3, "did not ask every peer once stalled");
        assert_eq!(fetches(&mut stuck, first + interval), 0, "no back-off after a fruitless round");
        assert_eq!(fetches(&mut stuck, first + 2 * interval), 3, "stopped asking while still stuck");
        assert_eq!(fetches(&mut stuck, first + 5 * interval), 0, "the wait did not double again");
        assert_eq!(fetches(&mut stuck, first + 6 * interval), 3);
        // A peer whose answer for the epoch is here is not asked for it again.
        let mut r = Ready::default();
        stuck.count_answer(1, 0, vec![0xaa; 64], &mut r);
        assert_eq!(fetches(&mut stuck, first + 14 * interval), 2, "asked a peer that answered already");
    }

    /// A peer stuck in the epoch this node is stalled in gets our frames of it again when it
    /// asks — the same bytes, under fresh ids, only its own, only of that epoch — at most once
    /// per `stall_ms` and `RESENDS_PER_EPOCH` times, then once per `RESEND_REFILL_STALLS ×
    /// stall_ms`; a node not stalled, or asked for an epoch it is not in, sends nothing.
    #[test]
    fn a_peer_stuck_in_our_epoch_gets_our_frames_again() {
        let mut core = core_with(|c| c.unsafe_skip_rejoin_fence = true);
        let stall = core.config.stall_ms;
        let mut sent = core.start(0).send;
        sent.extend(core.submit(vec![b"set a 1".to_vec()]).send);
        let to2: Vec<(u64, Arc<Vec<u8>>)> =
            sent.iter().filter(|o| o.to == 2 && o.epoch == 0).map(|o| (o.id, o.frame.clone())).collect();
        assert!(!to2.is_empty(), "the node sent peer 2 nothing for epoch 0");
        let ask = |core: &NodeCore, epoch: u64| (2, router::encode(core.session, Wire::Resend { epoch }));
        let resent = |ready: &Ready| -> Vec<Outgoing> { ready.send.iter().filter(|o| o.epoch == 0).cloned().collect() };
        // Not stalled yet: nothing.
        let _ = core.tick(stall / 2);
        assert!(resent(&core.frames(vec![ask(&core, 0)], Vec::new())).is_empty(), "resent while not stalled");
        let t = 10 * stall;
        let _ = core.tick(t);
        let first = resent(&core.frames(vec![ask(&core, 0)], Vec::new()));
        assert_eq!(first.len(), to2.len(), "not every frame was sent again");
        assert!(first.iter().all(|o| o.to == 2), "frames went to a peer that did not ask");
        for ((id, frame), o) in to2.iter().zip(&first) {
            assert_eq!(&o.frame, frame, "a resent frame differs from the original");
            assert_ne!(o.id, *id, "a resent frame kept its id (the switch would drop it as a copy)");
        }
        assert_eq!(core.resent_frames(), to2.len() as u64);
        // Asked again within stall_ms: refused and counted, however often.
        let _ = core.tick(t + stall - 1);
        let again = core.frames(vec![ask(&core, 0), ask(&core, 0)], Vec::new());
        assert!(resent(&again).is_empty(), "resent within the interval");
        assert_eq!(core.drops.get(&(2, DropReason::RateLimited)), Some(&2));
        // After it: once more, up to RESENDS_PER_EPOCH times in all.
        for k in 1..RESENDS_PER_EPOCH as u64 {
            let _ = core.tick(t + k * stall);
            let r = core.frames(vec![ask(&core, 0)], Vec::new());
            assert_eq!(resent(&r).len(), to2.len(), "not resent after the interval");
        }
        // Then once per RESEND_REFILL_STALLS × stall_ms.
        let last = t + (u64::from(RESENDS_PER_EPOCH) - 1) * stall;
        let _ = core.tick(last + RESEND_REFILL_STALLS * stall - 1);
        assert!(resent(&core.frames(vec![ask(&core, 0)], Vec::new())).is_empty(), "resent beyond the cap");
        assert_eq!(core.resent_frames(), u64::from(RESENDS_PER_EPOCH) * to2.len() as u64);
        let _ = core.tick(last + RESEND_REFILL_STALLS * stall);
        assert_eq!(resent(&core.frames(vec![ask(&core, 0)], Vec::new())).len(), to2.len(), "no refill");
        // Another epoch than the one we are stalled in: nothing.
        let _ = core.tick(t + 20 * stall);
        assert!(core.frames(vec![ask(&core, 5)], Vec::new()).send.iter().all(|o| o.to != 2 || o.epoch == NO_EPOCH));
        // With the test hook, never.
        let mut off = core_with(|c| {
            c.unsafe_skip_rejoin_fence = true;
            c.unsafe_skip_resend = true;
        });
        let _ = off.start(0);
        let _ = off.submit(vec![b"set a 1".to_vec()]);
        let _ = off.tick(t);
        assert!(resent(&off.frames(vec![ask(&off, 0)], Vec::new())).is_empty());
    }

    /// A node remembers whose frames it dropped as beyond its window, and once stalled in an
    /// epoch among them asks those peers — only those — to send them again, at most once per
    /// `2 × stall_ms`.
    #[test]
    fn a_stalled_node_asks_the_peers_whose_frames_it_dropped() {
        let mut core = core_with(|c| c.unsafe_skip_rejoin_fence = true);
        let stall = core.config.stall_ms;
        let _ = core.start(0);
        let far = core.window().1 + 5;
        let aba = crate::proto::aba::AbaMessage { round: 0, content: crate::proto::aba::AbaContent::BVal(true) };
        let message = Message {
            epoch: far,
            content: beat::Content::Acs(crate::proto::acs::AcsMessage {
                proposer: 1,
                content: crate::proto::acs::AcsContent::Aba(aba),
            }),
        };
        let stamp = Stamp { incarnation: 9, seq: 0, epoch: far, tag: [0; 16] };
        let frame = router::encode(core.session, Wire::Consensus { stamp, message });
        let r = core.frames(vec![(1, frame)], Vec::new());
        assert_eq!(r.drops.len(), 1, "the far frame was not dropped");
        assert_eq!(core.dropped_ahead[1], Some((far, far)));
        let asks = |r: &Ready, core: &NodeCore| -> Vec<NodeId> {
            r.send
                .iter()
                .filter(|o| matches!(router::route(&o.frame, &core.session), Ok(Route::Resend { epoch: 0 })))
                .map(|o| o.to)
                .collect()
        };
        // Stalled in epoch 0, which it dropped nothing of: it asks nobody.
        let r = core.tick(10 * stall);
        assert!(asks(&r, &core).is_empty(), "asked for an epoch it dropped nothing of");
        // Had it dropped peer 1's frames of epochs 0 ..= far: it asks peer 1, once per interval.
        core.dropped_ahead[1] = Some((0, far));
        let r = core.tick(11 * stall);
        assert_eq!(asks(&r, &core), vec![1]);
        assert!(asks(&core.tick(12 * stall), &core).is_empty(), "asked again within the interval");
        assert_eq!(asks(&core.tick(13 * stall), &core), vec![1]);
    }

    /// Frames the shell could not queue on any link (full link queues, links up) are sent
    /// again once the node is stalled in their epoch — the same bytes, to that peer only,
    /// within the resend budget; nothing before the stall, nothing for other peers.
    #[test]
    fn frames_its_links_could_not_queue_go_again_once_stalled() {
        let mut core = core_with(|c| c.unsafe_skip_rejoin_fence = true);
        let stall = core.config.stall_ms;
        let mut sent = core.start(0).send;
        sent.extend(core.submit(vec![b"set a 1".to_vec()]).send);
        let to2: Vec<Arc<Vec<u8>>> =
            sent.iter().filter(|o| o.to == 2 && o.epoch == 0).map(|o| o.frame.clone()).collect();
        assert!(!to2.is_empty(), "the node sent peer 2 nothing for epoch 0");
        core.unsent([(2, 0)]);
        let again = |r: &Ready| -> Vec<(NodeId, Arc<Vec<u8>>)> {
            r.send.iter().filter(|o| o.epoch == 0).map(|o| (o.to, o.frame.clone())).collect()
        };
        assert!(again(&core.tick(stall / 2)).is_empty(), "sent again before the stall");
        let r = again(&core.tick(stall));
        assert!(r.iter().all(|(to, _)| *to == 2), "sent to a peer whose frames were queued: {r:?}");
        let frames: Vec<Arc<Vec<u8>>> = r.into_iter().map(|(_, f)| f).collect();
        assert_eq!(frames, to2, "not the same frames");
        // Once per report: nothing more unless the links drop them again and say so.
        assert!(again(&core.tick(3 * stall)).is_empty(), "sent again without a new report");
        core.unsent([(2, 0)]);
        assert_eq!(again(&core.tick(3 * stall + 1)).len(), to2.len(), "a new report was not served");
        // A report within the resend budget's interval waits for it.
        core.unsent([(2, 0)]);
        assert!(again(&core.tick(3 * stall + 2)).is_empty(), "sent again within the budget's interval");
        assert_eq!(again(&core.tick(4 * stall + 2)).len(), to2.len());
        // Without a report, a stalled node sends nothing of its own accord.
        let mut quiet = core_with(|c| c.unsafe_skip_rejoin_fence = true);
        let _ = quiet.start(0);
        let _ = quiet.submit(vec![b"set a 1".to_vec()]);
        assert!(again(&quiet.tick(4 * stall)).is_empty(), "sent again without a report");
    }

    /// Read requests skip the WAL but not a budget: at most `reads_served_per_second` per peer.
    #[test]
    fn read_requests_are_rate_limited_per_peer() {
        let mut core = core();
        let session = core.session;
        let request = move |read: u64| {
            let message = Message { epoch: 0, content: beat::Content::ReadRequest { read, proposer: 1, chunks: None } };
            let stamp = Stamp { incarnation: 9, seq: u64::MAX, epoch: 0, tag: [0; 16] };
            router::encode(session, Wire::Consensus { stamp, message })
        };
        let rate = core.config.limits.reads_served_per_second as usize;
        let frames: Vec<(NodeId, Vec<u8>)> = (0..rate as u64 + 50).map(|r| (2, request(r))).collect();
        let ready = core.frames(frames, Vec::new());
        let limited = ready.drops.iter().filter(|d| d.peer == 2 && d.reason == DropReason::RateLimited).count();
        assert_eq!(limited, 50);
        assert!(ready.append.is_empty(), "read traffic reached the WAL");
        // Another peer has its own budget.
        let ready = core.frames(vec![(3, request(0))], Vec::new());
        assert!(!ready.drops.iter().any(|d| d.reason == DropReason::RateLimited));
    }

    fn rejoin_frame(core: &NodeCore, incarnation: u64) -> Vec<u8> {
        router::encode(core.session, Wire::Rejoin { incarnation, last_seq: None })
    }

    fn answers(ready: &Ready) -> usize {
        ready.send.iter().filter(|o| o.epoch == NO_EPOCH).count()
    }

    /// A new incarnation is logged once, its repeats are answered without a record, and new
    /// incarnations beyond one per second are dropped before the WAL.
    #[test]
    fn rejoin_announcements_are_logged_once_and_rate_limited() {
        let mut core = core();
        let f = rejoin_frame(&core, 5);
        let ready = core.frames(vec![(2, f.clone()), (2, f.clone())], Vec::new());
        assert_eq!(ready.append.len(), 1, "a repeat in the same batch was logged again");
        assert_eq!(answers(&ready), 2, "every question gets an answer");
        // A few quick restarts in a row are logged; a flood of new incarnations is not.
        for i in 6..9 {
            let ready = core.frames(vec![(2, rejoin_frame(&core, i))], Vec::new());
            assert_eq!(ready.append.len(), 1, "restart {i} was not logged");
        }
        let ready = core.frames(vec![(2, rejoin_frame(&core, 9))], Vec::new());
        assert!(ready.append.is_empty(), "a fifth new incarnation within the second was logged");
        assert!(ready.drops.iter().any(|d| d.peer == 2 && d.reason == DropReason::RateLimited));
        let _ = core.tick(1_500);
        let ready = core.frames(vec![(2, rejoin_frame(&core, 9))], Vec::new());
        assert_eq!(ready.append.len(), 1);
        assert_eq!(core.peer_incarnation[2], Some(9));
    }
}
