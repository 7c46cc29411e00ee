//! The node-level simulator: whole nodes — [`NodeCore`] + [`MemStore`] + a small application —
//! executed exactly as the tokio shell executes them ([`crate::node::persist`]), under kills at
//! every step boundary of a [`Ready`], restarts from the store, from a **stale copy** of it and
//! from a wiped one, a member partitioned until it lags far behind and catches up, and a
//! Byzantine member attacking the runtime ([`super::adversary::node`]).
//!
//! Checked at every step:
//! * **no equivocation**: every consensus frame a correct node accepts is recorded under its
//!   sender and protocol slot ((epoch, instance, message kind, round) — and the recipient for a
//!   `Val`, which differs per recipient); a second frame for a slot with other bytes, whatever
//!   incarnation sent it, is an equivocation;
//! * **one log**: every correct node's application applies the same batch for each epoch;
//! * **exactly once**: each application applies epoch `k` as its `k`-th batch, restarts
//!   included (it is restored from its snapshot and gets every later batch once);
//! * **nothing invented**: every committed transaction was submitted;
//! * a correct core never fails.
//!
//! At the end every correct node must have applied the target epochs (**liveness**) — with the
//! load stopped as soon as one of them has: the committee goes idle, and a node still behind
//! (one that lost frames of its last epoch included) must catch up from peers that send
//! nothing new.
//!
//! Stated assumption: a node is restarted from a stale or wiped store only while every other
//! correct node is up and connected (the rejoin fence asks the peers what they hold; see the
//! residual case in [`crate::node::core`]).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use super::adversary::node::{NodeAdversary, NodeAdversaryKind, NodeCtx};
use crate::beat::client::Client;
use crate::beat::{self, Batch, Content, Message, Variant};
use crate::codec;
use crate::crypto::hash::{tagged_hash, Digest};
use crate::node::audit::slot;
use crate::node::persist;
use crate::node::router::{self, Route};
use crate::node::{CoreConfig, DropReason, NodeCore, Ready, RejoinStatus};
use crate::proto::acs::AcsContent;
use crate::proto::avid::AvidMessage;
use crate::proto::avid_fp::AvidFpMessage;
use crate::proto::broadcast::BroadcastMessage;
use crate::proto::rbc::RbcMessage;
use crate::state::{MemStore, Store};
use crate::{NodeId, Params, SessionId};

/// The scripted canary: a node restarted without its WAL (wiped store, new seed) right after
/// it proposed, while its peers still hold the proposal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Canary {
    /// With the rejoin fence switched off it proposes again, differently: the equivocation
    /// check must catch it, every time.
    SkipFence,
    /// The same schedule with the fence: it must stay clean.
    WithFence,
    /// The laggard: a correct member is cut off until the others are past its window (it drops
    /// their frames of the epochs ahead, the one they will wait in too), and as its links
    /// come back `f` others die for good. It catches up to that epoch from committed batches,
    /// and the committee must go 5 epochs further with it. With the resend switched off
    /// (`CoreConfig::unsafe_skip_resend`) it stalls: the frames the laggard dropped are never
    /// sent again. Not in every schedule — in some the epoch still completes from what the
    /// others send in answer to the laggard's own messages (2 of the first 30 rounds) — so the
    /// campaign asks that at least half of these rounds stall, which shows the script reaches
    /// the gap the resend closes.
    LaggardNoResend,
    /// The laggard with the resend: it must stay live.
    Laggard,
    /// Overflow: `f` members die for good, and in the next epoch every frame between two of
    /// the others is lost at the sender, with the link up — as a full per-peer link queue
    /// drops what does not fit its byte budget (`net::queue::LinkQueue::push`). The receiver
    /// drops nothing it could remember and no link reconnects, so only the sender brings them
    /// back: told which frames were queued nowhere (`NodeCore::unsent`, as the driver tells
    /// it), it sends them again once stalled in their epoch. In this canary the sim does not
    /// tell the core (as the driver before the fix did not), everything else on: the committee
    /// waits in that epoch for good; the campaign asks that at least half of these rounds
    /// stall.
    OverflowNoResend,
    /// Overflow with the report: the committee must commit the lossy epoch and 3 more.
    Overflow,
    /// Group commit broken: node 0's shell is `persist::append` without the sends — a step
    /// that commits, checkpoints or truncates appends durably, one that only sends defers its
    /// records (frames leave before their inputs are on disk). With the committee idle it gets
    /// a client transaction, proposes it in that step, and loses power right after (the
    /// deferred records are gone, [`MemStore::crash`]); it comes back from its store at once —
    /// with the rejoin fence off, so that only the log stands between it and a second message
    /// — and gets new transactions: it proposes again, differently. The equivocation check
    /// must catch it, every time.
    EarlySend,
    /// The same script with the real group commit (`node::persist::append`): it must stay
    /// clean and live, its proposal sent again unchanged.
    GroupCommit,
}

impl Canary {
    /// Its name (`beat-sim node --canary`).
    pub fn name(self) -> &'static str {
        match self {
            Canary::SkipFence => "skip-fence",
            Canary::WithFence => "with-fence",
            Canary::LaggardNoResend => "laggard-no-resend",
            Canary::Laggard => "laggard",
            Canary::OverflowNoResend => "overflow-no-resend",
            Canary::Overflow => "overflow",
            Canary::EarlySend => "early-send",
            Canary::GroupCommit => "group-commit",
        }
    }

    /// Every canary, each right before its control (the campaign's order).
    pub const ALL: [Canary; 8] = [
        Canary::SkipFence,
        Canary::WithFence,
        Canary::LaggardNoResend,
        Canary::Laggard,
        Canary::OverflowNoResend,
        Canary::Overflow,
        Canary::EarlySend,
        Canary::GroupCommit,
    ];

    /// By name.
    pub fn from_name(name: &str) -> Option<Self> {
        Canary::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// One node-level run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeCase {
    /// Seed of everything random in the run.
    pub seed: u64,
    /// Committee size.
    pub n: usize,
    /// The variant.
    pub variant: Variant,
    /// The Byzantine member's behaviour (node `n − 1`), if any.
    pub adversary: NodeAdversaryKind,
    /// Epochs every correct node must apply.
    pub epochs: u64,
    /// The scripted canary, if this is one.
    pub canary: Option<Canary>,
}

/// Committee sizes the campaign cycles through.
pub const NODE_SIZES: [usize; 3] = [4, 5, 7];

impl NodeCase {
    /// The campaign's case for `seed`: every variant, adversary and size in turn.
    pub fn from_seed(seed: u64) -> Self {
        let variant = Variant::ALL[(seed % 5) as usize];
        let a = seed / 5;
        let adversary = NodeAdversaryKind::ALL[(a % 4) as usize];
        let n = NODE_SIZES[((a / 4 + a) % 3) as usize];
        NodeCase { seed, n, variant, adversary, epochs: 12, canary: None }
    }

    /// The canary case of `round` (sizes and variants in turn).
    pub fn canary(round: u64, canary: Canary) -> Self {
        let variant =
            [Variant::Beat0, Variant::Beat1, Variant::Beat2, Variant::Beat3, Variant::Beat4][(round % 5) as usize];
        let n = NODE_SIZES[((round / 5) % 3) as usize];
        NodeCase {
            seed: 1_000_000 + round,
            n,
            variant,
            adversary: NodeAdversaryKind::None,
            epochs: 8,
            canary: Some(canary),
        }
    }

    /// The command that replays this case.
    pub fn replay_command(&self) -> String {
        let canary = self.canary.map(|c| format!(" --canary {}", c.name())).unwrap_or_default();
        format!(
            "beat-sim node --seed {} --n {} --variant {} --adversary {}{canary}",
            self.seed,
            self.n,
            self.variant,
            self.adversary.name()
        )
    }
}

/// What a run did and found.
#[derive(Clone, Debug, Default)]
pub struct NodeReport {
    /// The case (`None` only in `Default`).
    pub case: Option<NodeCase>,
    /// Epochs the slowest correct node applied.
    pub epochs: u64,
    /// Restarts (all kinds).
    pub restarts: u64,
    /// Restarts from a stale copy of the store or a wiped one.
    pub stale_restarts: u64,
    /// Of those, from a wiped store.
    pub wipes: u64,
    /// Deferred WAL records (group commit) that kills lost, as a power cut does.
    pub deferred_lost: u64,
    /// Epochs correct nodes took by catch-up.
    pub catchups: u64,
    /// BEAT3/4: fragments correct nodes repaired (in their current incarnation).
    pub repairs: u64,
    /// BEAT0–2: decryption-share frames of correct nodes checked against their common sets.
    pub shares_checked: u64,
    /// Consensus frames correct nodes sent, checked against what they sent before for the
    /// same slot (across restarts from their own store).
    pub sends_checked: u64,
    /// Kills right after a checkpoint that recorded a proposal, with a client transaction as
    /// the first record after it (the resumed node must make the same proposal).
    pub checkpoint_kills: u64,
    /// Of those, restarts whose re-sent proposal was compared with the one sent before.
    pub proposals_rechecked: u64,
    /// Nodes rebuilt from a copy of their store and compared with the live node.
    pub rebuilds_checked: u64,
    /// Lag episodes (a member partitioned until far behind, then healed).
    pub lags: u64,
    /// Frames to or from a lagging member lost beyond its links' queue budget.
    pub link_frames_lost: u64,
    /// Frames the overflow canary lost at their senders, links up.
    pub overflow_lost: u64,
    /// Frames correct nodes sent again because they were reported unsent (live cores at the
    /// end).
    pub unsent_resent: u64,
    /// Equivocations seen (with the evidence).
    pub equivocations: Vec<String>,
    /// Other safety violations.
    pub violations: Vec<String>,
    /// Why the run was not live, if it was not.
    pub liveness: Option<String>,
    /// Frames the Byzantine member made up or rewrote.
    pub injected: u64,
    /// Frames correct cores dropped before their WAL.
    pub dropped: u64,
    /// Frames correct nodes sent again to peers stuck in an epoch (live cores at the end).
    pub resent: u64,
    /// Faults correct cores recorded against peers.
    pub faults: u64,
    /// Frames delivered.
    pub deliveries: u64,
    /// Trace digest (determinism).
    pub trace: Digest,
}

impl NodeReport {
    /// Safe and live.
    pub fn ok(&self) -> bool {
        self.equivocations.is_empty() && self.violations.is_empty() && self.liveness.is_none()
    }
}

/// Where in the execution of a [`Ready`] a node dies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KillPoint {
    AfterAppend,
    AfterSend,
    AfterCommit,
    MidCheckpoint,
    BeforeTruncate,
    /// At the first checkpoint that records a proposal for its epoch: the checkpoint is
    /// completed, a client transaction becomes the first record after it, and the node dies
    /// and is back (from its store) while that epoch is still open. The WAL it replays starts
    /// after the record that made the proposal, so only the checkpoint can make it the same.
    SubmitAfterCheckpoint,
}

const KILL_POINTS: [KillPoint; 6] = [
    KillPoint::AfterAppend,
    KillPoint::AfterSend,
    KillPoint::AfterCommit,
    KillPoint::MidCheckpoint,
    KillPoint::BeforeTruncate,
    KillPoint::SubmitAfterCheckpoint,
];

/// What a killed node restarts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Restart {
    Store,
    Stale,
    Wiped,
}

/// The application: the digests of the batches it applied, in order.
#[derive(Debug, Default, Clone)]
struct App {
    applied: Vec<Digest>,
}

impl App {
    fn snapshot(&self) -> Vec<u8> {
        codec::encode(&self.applied.iter().map(|d| serde_bytes::ByteBuf::from(d.to_vec())).collect::<Vec<_>>())
    }

    fn restore(bytes: &[u8]) -> Self {
        let list: Vec<serde_bytes::ByteBuf> = codec::decode(bytes, codec::MAX_FRAME_BYTES).unwrap_or_default();
        App {
            applied: list
                .into_iter()
                .map(|b| {
                    let mut d = [0u8; 32];
                    d.copy_from_slice(&b[..32]);
                    d
                })
                .collect(),
        }
    }
}

struct SimNode {
    core: Option<NodeCore>,
    store: Arc<MemStore>,
    app: App,
    /// Message ids seen per sender (the switch's de-duplication; lost on restart).
    seen: HashSet<(NodeId, u64)>,
    backup: Option<MemStore>,
    down_until: Option<u64>,
    restart: Restart,
    kill: Option<KillPoint>,
    caught_base: u64,
    /// Epochs whose common set this node's core output (in any incarnation): only then may it
    /// release decryption shares for them (BEAT0–2).
    common_set: std::collections::BTreeSet<u64>,
    /// What this node sent per protocol slot since its store last lost anything (a stale or
    /// wiped restart starts it afresh: the rejoin fence, not the log, covers those).
    sent: BTreeMap<String, Digest>,
    /// Armed for [`KillPoint::SubmitAfterCheckpoint`]: its load is a trickle that keeps its
    /// buffer under one proposal's worth, so that one more transaction changes what it would
    /// propose (with a full window a later transaction changes nothing).
    trickle: bool,
    /// After a [`KillPoint::SubmitAfterCheckpoint`]: the epoch whose recorded proposal the
    /// node must send again unchanged (counted once it did: `proposals_rechecked`).
    recheck: Option<u64>,
    /// The group-commit script: lose power right after the step that sends its own proposal
    /// (before that step's commits), and say that it did.
    crash_after_val: bool,
    crashed_at_val: bool,
}

/// Bytes a link's queue keeps for a peer that is cut off (the sim's frames are small; the
/// switch's default is `net::switch::PEER_QUEUE_BYTES`).
const LINK_QUEUE_BYTES: usize = 24 << 10;

#[derive(Clone, Debug)]
struct Frame {
    from: NodeId,
    to: NodeId,
    id: u64,
    bytes: Arc<Vec<u8>>,
}

/// The simulation.
pub struct NodeSim {
    case: NodeCase,
    params: Params,
    session: SessionId,
    keys: Vec<beat::NodeKeys>,
    config: CoreConfig,
    nodes: Vec<SimNode>,
    byzantine: Option<(NodeId, Box<dyn NodeAdversary>)>,
    rng: ChaCha20Rng,
    adv_rng: ChaCha20Rng,
    net: Vec<Frame>,
    /// Frames for a down node (its peers' link queues keep them).
    held: Vec<Vec<Frame>>,
    /// Frames to or from the partitioned node.
    parked: Vec<Frame>,
    partitioned: Option<(NodeId, u64)>,
    partitioned_at: u64,
    /// The overflow canary: every frame of this epoch between these two nodes is lost as it
    /// is sent (a full link queue), while the links stay up.
    loss: Option<(NodeId, NodeId, u64)>,
    now: u64,
    next_byz_id: u64,
    canonical: Vec<Digest>,
    allowed: HashSet<Digest>,
    /// The last transactions submitted (as sent), for clients that send one again.
    past: std::collections::VecDeque<Vec<u8>>,
    slots: BTreeMap<(NodeId, String), (Digest, NodeId)>,
    clients: Option<Vec<Client>>,
    tx_counter: u64,
    report: NodeReport,
    trace: sha2::Sha256,
    kills_left: u32,
    lag_left: u32,
}

impl std::fmt::Debug for NodeSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeSim").field("case", &self.case).field("now", &self.now).finish_non_exhaustive()
    }
}

fn digest(tag: &str, bytes: &[u8]) -> Digest {
    tagged_hash(tag, &[bytes])
}

impl NodeSim {
    /// Set up a run.
    pub fn new(case: NodeCase) -> Self {
        let params = Params::new(case.n).expect("simulated committees have n ≥ 4");
        let mut master = ChaCha20Rng::seed_from_u64(case.seed ^ 0x4E0D_E51D);
        let base = SessionId::from_name(&format!("node-sim-{}", case.seed));
        let settings = beat::Settings {
            variant: case.variant,
            batch_size: 2 * case.n,
            max_tx_size: 2048,
            max_proposal_bytes: 64 << 10,
            dedup_epochs: 8,
        };
        let keys = beat::deal(params, base, settings.clone(), &mut master);
        let session = keys[0].public.session;
        let mut config = CoreConfig::for_settings(&settings, case.n);
        config.snapshot_every = 3;
        config.retain_committed_epochs = 48;
        config.catch_up_lag = 3;
        config.stall_ms = 300;
        config.fetch_interval_ms = 100;
        // Fragment repair on the simulator's clock (1 ms a step).
        config.upkeep.repair_retry_ms = 100;
        config.upkeep.repair_timeout_ms = 4_000;
        config.upkeep.repair_backoff_ms = 500;
        config.upkeep.repair_delay_ms = 200;
        config.rejoin_timeout_ms = 400;
        config.rejoin_retry_ms = 150;
        // Room for four of the largest answers, so an adversary that pads its answers for
        // later epochs to the limit (catch-up-liar) could take all of it from a shared budget.
        config.catch_up_bytes = 4 * config.limits.max_committed_bytes;
        config.unsafe_skip_resend = case.canary == Some(Canary::LaggardNoResend);
        let byzantine = case.adversary.build().map(|a| (case.n - 1, a));
        let clients =
            case.variant.client_encrypted().then(|| (0..4).map(|c| Client::new(keys[0].public.clone(), c)).collect());
        let rng = ChaCha20Rng::from_rng(&mut master).expect("infallible");
        let adv_rng = ChaCha20Rng::from_rng(&mut master).expect("infallible");
        let nodes = (0..case.n)
            .map(|_| SimNode {
                core: None,
                store: Arc::new(MemStore::new()),
                app: App::default(),
                seen: HashSet::new(),
                backup: None,
                down_until: None,
                restart: Restart::Store,
                kill: None,
                caught_base: 0,
                common_set: Default::default(),
                sent: BTreeMap::new(),
                trickle: false,
                recheck: None,
                crash_after_val: false,
                crashed_at_val: false,
            })
            .collect();
        let (kills_left, lag_left) = if case.canary.is_some() { (0, 0) } else { (3, 1) };
        let mut sim = NodeSim {
            params,
            session,
            keys,
            config,
            nodes,
            byzantine,
            rng,
            adv_rng,
            net: Vec::new(),
            held: vec![Vec::new(); case.n],
            parked: Vec::new(),
            partitioned: None,
            loss: None,
            partitioned_at: 0,
            now: 0,
            next_byz_id: 1 << 62,
            canonical: Vec::new(),
            allowed: HashSet::new(),
            past: Default::default(),
            slots: BTreeMap::new(),
            clients,
            tx_counter: 0,
            report: NodeReport { case: Some(case.clone()), ..NodeReport::default() },
            trace: <sha2::Sha256 as sha2::Digest>::new(),
            kills_left,
            lag_left,
            case,
        };
        for i in 0..sim.case.n {
            sim.start_node(i, false);
        }
        sim
    }

    fn is_correct(&self, i: NodeId) -> bool {
        self.byzantine.as_ref().is_none_or(|(b, _)| *b != i)
    }

    fn violate(&mut self, what: &str, detail: String) {
        if self.report.violations.len() < 20 {
            self.report.violations.push(format!("{what}: {detail}"));
        }
    }

    /// (Re)start node `i` from its store, exactly as the shell does.
    fn start_node(&mut self, i: NodeId, skip_fence: bool) {
        let mut config = self.config.clone();
        config.unsafe_skip_rejoin_fence = skip_fence;
        let store = self.nodes[i].store.clone();
        let mut seed_rng = ChaCha20Rng::from_rng(&mut self.rng).expect("infallible");
        let recovered = match persist::recover(&*store, || {
            let mut s = [0u8; 32];
            seed_rng.fill(&mut s);
            s
        }) {
            Ok(r) => r,
            Err(e) => return self.violate("recovery", format!("node {i}: {e}")),
        };
        let app = recovered.snapshot.as_ref().map(|(_, b)| App::restore(b)).unwrap_or_default();
        let incarnation = self.rng.gen();
        let mut core = NodeCore::new(self.keys[i].clone(), config, recovered.seed, incarnation, &recovered.recovery);
        if self.case.variant.dispersed() {
            // As the real node: fragments in the node's store, kept across restarts.
            core.set_fragment_store(Box::new(crate::node::StoreFragments::new(store.clone(), i)));
        }
        self.nodes[i].app = app;
        let mut next = 0;
        loop {
            match persist::replay_page(&mut core, &*store, &mut next) {
                Ok(Some(ready)) => {
                    for (b, bytes) in &ready.commit {
                        let _ = persist::commit(&*store, b, bytes);
                        self.apply(i, b);
                    }
                }
                Ok(None) => break,
                Err(e) => return self.violate("recovery", format!("node {i}: replay: {e}")),
            }
        }
        self.nodes[i].caught_base = core.caught_up_epochs();
        let ready = core.start(self.now);
        self.nodes[i].core = Some(core);
        self.nodes[i].seen.clear();
        self.nodes[i].down_until = None;
        self.execute(i, ready);
        // Links to and from it come back: peers resend their frames of open epochs; what the
        // peers' link queues kept for it arrives.
        for p in 0..self.case.n {
            if p != i {
                if let Some(core) = self.nodes[p].core.as_mut() {
                    let r = core.link_up(i, 0);
                    self.execute(p, r);
                }
            }
        }
        let kept = std::mem::take(&mut self.held[i]);
        self.net.extend(kept);
    }

    fn kill(&mut self, i: NodeId) {
        let node = &mut self.nodes[i];
        // Every kill is a power cut: the records the node deferred are gone.
        self.report.deferred_lost += node.store.deferred_records() as u64;
        let _ = node.store.crash();
        if let Some(core) = node.core.take() {
            self.report.catchups += core.caught_up_epochs() - node.caught_base;
            self.report.repairs += core.upkeep().repaired;
        }
        node.kill = None;
        node.trickle = false;
        node.down_until = Some(self.now + self.rng.gen_range(20..600));
    }

    /// Correct nodes that cannot send for their current epoch (rejoining, or behind their
    /// fence): until the committee passes the fence, an amnesic node counts against `f`.
    fn fenced(&self, except: NodeId) -> usize {
        (0..self.case.n)
            .filter(|j| *j != except && self.is_correct(*j))
            .filter(|j| {
                self.nodes[*j].core.as_ref().is_some_and(|c| match c.rejoin_status() {
                    RejoinStatus::Asking { .. } => true,
                    RejoinStatus::Done { fence } => fence > c.epoch(),
                })
            })
            .count()
    }

    fn restart(&mut self, i: NodeId) {
        // A stale or wiped restart only while every other correct node is up and connected,
        // and while the Byzantine member and the fenced nodes leave room in `f` for this one.
        let others_ok = (0..self.case.n)
            .all(|j| j == i || !self.is_correct(j) || (self.nodes[j].core.is_some() && self.partitioned.is_none()));
        let faulty = usize::from(self.byzantine.is_some()) + self.fenced(i);
        let kind = if others_ok && faulty < self.params.f { self.nodes[i].restart } else { Restart::Store };
        match kind {
            Restart::Store => {}
            Restart::Stale => {
                if let Some(b) = self.nodes[i].backup.take() {
                    self.nodes[i].store = Arc::new(b);
                    self.nodes[i].sent.clear();
                    self.report.stale_restarts += 1;
                }
            }
            Restart::Wiped => {
                self.nodes[i].store = Arc::new(MemStore::new());
                self.nodes[i].sent.clear();
                self.report.stale_restarts += 1;
                self.report.wipes += 1;
            }
        }
        self.report.restarts += 1;
        self.start_node(i, false);
    }

    /// Carry out `ready` for node `i`, dying at its kill point if one is armed.
    fn execute(&mut self, i: NodeId, ready: Ready) {
        let correct = self.is_correct(i);
        if let Some(why) = &ready.failed {
            self.violate("core-failed", format!("node {i}: {why}"));
            return self.kill(i);
        }
        let kill = if ready.append.is_empty() { None } else { self.nodes[i].kill.take() };
        // The checkpoint kill waits for a checkpoint that records a proposal.
        let kill = match kill {
            Some(KillPoint::SubmitAfterCheckpoint) if !checkpoint_with_proposal(&ready) => {
                self.nodes[i].kill = kill;
                None
            }
            k => k,
        };
        let store = self.nodes[i].store.clone();
        let early_send = i == 0 && self.case.canary == Some(Canary::EarlySend);
        let appended = if early_send {
            // The canary's broken shell: `persist::append` that forgot the sends — a step that
            // commits, checkpoints or truncates still appends durably, one that only sends
            // defers its records.
            persist::append_if(&*store, &ready, persist::stores_on_log(&ready)).map_err(|e| e.to_string())
        } else {
            persist::append(&*store, &ready)
        };
        if let Err(e) = appended {
            self.violate("store", format!("node {i}: {e}"));
        }
        // Group commit: nothing leaves a correct node, and nothing is stored on top of its log,
        // while the log holds records a crash could take back (stated here on its own, not
        // with `persist`'s predicate, so a mistake there shows).
        let on_top = !ready.commit.is_empty() || ready.checkpoint.is_some() || ready.truncate_before.is_some();
        if correct && !early_send && (!ready.send.is_empty() || on_top) && store.deferred_records() > 0 {
            self.violate(
                "group-commit",
                format!("node {i} sends or stores with {} WAL record(s) not yet durable", store.deferred_records()),
            );
        }
        if kill == Some(KillPoint::AfterAppend) {
            return self.kill(i);
        }
        if correct && self.case.variant.encrypted() {
            self.check_share_release(i, &ready);
        }
        let mut unsent = Vec::new();
        for o in &ready.send {
            if self.loss.is_some_and(|(a, b, e)| o.epoch == e && ((i, o.to) == (a, b) || (i, o.to) == (b, a))) {
                // As the driver does when `Switch::send_with_id` queued it nowhere.
                self.report.overflow_lost += 1;
                if self.case.canary != Some(Canary::OverflowNoResend) {
                    unsent.push((o.to, o.epoch));
                }
                continue;
            }
            self.emit(i, o.to, o.id, o.frame.clone());
        }
        if let (false, Some(core)) = (unsent.is_empty(), self.nodes[i].core.as_mut()) {
            core.unsent(unsent);
        }
        if self.nodes[i].crash_after_val {
            let epoch = self.nodes[i].core.as_ref().map_or(0, |c| c.epoch());
            let session = self.session;
            let own_val = ready.send.iter().any(|o| {
                let f = Frame { from: i, to: o.to, id: o.id, bytes: o.frame.clone() };
                is_own_val(&session, &f, i, epoch)
            });
            if own_val {
                self.nodes[i].crash_after_val = false;
                self.nodes[i].crashed_at_val = true;
                self.kill(i);
                self.nodes[i].down_until = None;
                return;
            }
        }
        if kill == Some(KillPoint::AfterSend) {
            return self.kill(i);
        }
        let split = ready.checkpoint.as_ref().map_or(ready.commit.len(), |cp| cp.at_commit.min(ready.commit.len()));
        for (b, bytes) in &ready.commit[..split] {
            let _ = persist::commit(&*store, b, bytes);
            self.apply(i, b);
        }
        if kill == Some(KillPoint::AfterCommit) {
            return self.kill(i);
        }
        if let Some(cp) = &ready.checkpoint {
            if kill == Some(KillPoint::MidCheckpoint) {
                let _ = store.put_meta(&cp.key, &cp.bytes);
                return self.kill(i);
            }
            let snap = self.nodes[i].app.snapshot();
            if let Err(e) = persist::checkpoint(&*store, cp, &snap) {
                self.violate("store", format!("node {i}: {e}"));
            }
        }
        for (b, bytes) in &ready.commit[split..] {
            let _ = persist::commit(&*store, b, bytes);
            self.apply(i, b);
        }
        if kill == Some(KillPoint::BeforeTruncate) {
            return self.kill(i);
        }
        if let Some(seq) = ready.truncate_before {
            let _ = persist::truncate(&*store, seq);
        }
        for req in &ready.serve {
            self.serve(i, req.to, req.from, req.count);
        }
        if correct {
            self.report.faults += ready.faults.len() as u64;
            self.report.dropped += ready.drops.len() as u64;
        }
        if kill == Some(KillPoint::SubmitAfterCheckpoint) {
            self.report.checkpoint_kills += 1;
            let epoch = ready.checkpoint.as_ref().map(|cp| cp.epoch);
            self.submit_to(i);
            // The transaction's record durable (as the next step that sends would make it):
            // the point is a replayed record after the checkpoint, not a lost one.
            let _ = store.flush();
            self.kill(i);
            self.nodes[i].recheck = epoch;
            // Back soon, while the epoch of the recorded proposal is still open.
            self.nodes[i].down_until = Some(self.now + self.rng.gen_range(1..30));
        }
    }

    /// Replay is exact: a node rebuilt from its store now (checkpoint + WAL, as a restart does)
    /// holds the live node's protocol state (buffer and its order, dedup windows, client
    /// windows, cross-checksums, its proposal). Catches a replay that judges a logged record
    /// differently than the live node did before it can show as a second, different message.
    fn check_rebuild(&mut self, i: NodeId) {
        let Some(live) = self.nodes[i].core.as_ref() else { return };
        if !self.is_correct(i) {
            return;
        }
        let Ok(copy) = self.nodes[i].store.copy() else { return };
        let store: Arc<MemStore> = Arc::new(copy);
        let rebuilt = persist::recover(&*store, || [0; 32]).map(|r| {
            let mut core = NodeCore::new(self.keys[i].clone(), self.config.clone(), r.seed, 0, &r.recovery);
            if self.case.variant.dispersed() {
                core.set_fragment_store(Box::new(crate::node::StoreFragments::new(store.clone(), i)));
            }
            core
        });
        let mut core = match rebuilt {
            Ok(core) => core,
            Err(e) => return self.violate("rebuild", format!("node {i}: {e}")),
        };
        if let Err(e) = persist::replay_all(&mut core, &*store, |_, _| Ok(())) {
            return self.violate("rebuild", format!("node {i}: replay: {e}"));
        }
        self.report.rebuilds_checked += 1;
        let (a, b) = (live.beat().checkpoint(), core.beat().checkpoint());
        if a != b {
            let what = [
                (a.epoch != b.epoch, "epoch"),
                (a.buffer != b.buffer, "buffer"),
                (a.recent != b.recent, "dedup window"),
                (a.clients != b.clients, "client windows"),
                (a.checksums != b.checksums, "cross-checksums"),
                (a.proposed != b.proposed, "proposal"),
            ];
            let differ: Vec<&str> = what.iter().filter(|(d, _)| *d).map(|(_, w)| *w).collect();
            self.violate(
                "replay",
                format!("node {i} rebuilt from its store differs from the live node at epoch {}: {differ:?}", a.epoch),
            );
        }
    }

    /// A correct node sends a consensus frame: never two messages for one slot, across its
    /// restarts from its own store included.
    fn check_sent(&mut self, i: NodeId, to: NodeId, bytes: &[u8]) {
        let Ok(Route::Consensus { message, .. }) = router::route(bytes, &self.session) else { return };
        let Some(s) = slot(&message, to) else { return };
        let d = crate::node::audit::message_digest(&message);
        self.report.sends_checked += 1;
        // The broadcast of its own proposal (`Val`/`Echo`/…, not the agreement on it).
        let own = Some(message.epoch) == self.nodes[i].recheck
            && s.starts_with(&format!("{}/{i}/", message.epoch))
            && !s.contains("/aba/")
            && !s.ends_with("/dec");
        if own && self.nodes[i].sent.contains_key(&s) {
            self.nodes[i].recheck = None;
            self.report.proposals_rechecked += 1;
        }
        match self.nodes[i].sent.get(&s) {
            Some(prev) if *prev != d => {
                if self.report.equivocations.len() < 20 {
                    self.report.equivocations.push(format!("node {i} sent two different messages for slot {s}"));
                }
            }
            Some(_) => {}
            None => {
                self.nodes[i].sent.insert(s, d);
            }
        }
    }

    /// Confidentiality through the node: a correct node sends a decryption share for an epoch
    /// only once its own common set for that epoch is fixed (its core output the ACS), whatever
    /// restarts, replays and catch-ups came before. Events of a `Ready` come from the same steps
    /// as its frames, an ACS output before the shares it releases.
    fn check_share_release(&mut self, i: NodeId, ready: &Ready) {
        for ev in &ready.events {
            if let crate::proto::Event::AcsOutput { epoch, .. } = ev {
                self.nodes[i].common_set.insert(*epoch);
            }
        }
        let mut early = Vec::new();
        for o in &ready.send {
            if let Ok(Route::Consensus { message, .. }) = router::route(&o.frame, &self.session) {
                if matches!(message.content, Content::DecShares { .. }) {
                    self.report.shares_checked += 1;
                    if !self.nodes[i].common_set.contains(&message.epoch) {
                        early.push(message.epoch);
                    }
                }
            }
        }
        for e in early {
            self.violate("share-before-common-set", format!("node {i} sent a decryption share for epoch {e} first"));
        }
    }

    fn serve(&mut self, i: NodeId, to: NodeId, from: u64, count: u32) {
        let store = self.nodes[i].store.clone();
        let committed = |e: u64| store.get_committed(e).ok().flatten();
        let frames: Vec<(NodeId, Vec<u8>)> = match self.byzantine.as_mut() {
            Some((b, adv)) if *b == i => {
                let epoch = self.nodes[i].core.as_ref().map_or(0, |c| c.epoch());
                let mut ctx = NodeCtx {
                    session: self.session,
                    me: i,
                    n: self.case.n,
                    epoch,
                    max_frame: self.config.limits.max_frame_bytes,
                    max_committed: self.config.limits.max_committed_bytes,
                    rng: &mut self.adv_rng,
                    injected: &mut self.report.injected,
                };
                adv.serve(&mut ctx, to, from, count, &committed)
            }
            _ => (from..from + u64::from(count))
                .map_while(|e| {
                    committed(e).map(|b| {
                        let w = router::Wire::Committed { epoch: e, batch: b.into() };
                        (to, router::encode(self.session, w))
                    })
                })
                .collect(),
        };
        for (to, bytes) in frames {
            let id = self.next_byz_id;
            self.next_byz_id += 1;
            self.push(Frame { from: i, to, id, bytes: Arc::new(bytes) });
        }
    }

    /// A frame leaves node `i` (through the adversary if `i` is Byzantine).
    fn emit(&mut self, i: NodeId, to: NodeId, id: u64, bytes: Arc<Vec<u8>>) {
        if self.is_correct(i) {
            self.check_sent(i, to, &bytes);
        }
        match self.byzantine.as_mut() {
            Some((b, adv)) if *b == i => {
                let epoch = self.nodes[i].core.as_ref().map_or(0, |c| c.epoch());
                let mut ctx = NodeCtx {
                    session: self.session,
                    me: i,
                    n: self.case.n,
                    epoch,
                    max_frame: self.config.limits.max_frame_bytes,
                    max_committed: self.config.limits.max_committed_bytes,
                    rng: &mut self.adv_rng,
                    injected: &mut self.report.injected,
                };
                let out = adv.outgoing(&mut ctx, to, bytes.to_vec());
                for (to, bytes) in out {
                    let id = self.next_byz_id;
                    self.next_byz_id += 1;
                    self.push(Frame { from: i, to, id, bytes: Arc::new(bytes) });
                }
            }
            _ => self.push(Frame { from: i, to, id, bytes }),
        }
    }

    fn push(&mut self, f: Frame) {
        if f.to < self.case.n && f.to != f.from {
            self.net.push(f);
        }
    }

    /// A correct node's application applies a batch.
    fn apply(&mut self, i: NodeId, b: &Batch) {
        let d = digest("sim/node/batch", &codec::encode(b));
        let position = self.nodes[i].app.applied.len() as u64;
        self.nodes[i].app.applied.push(d);
        if !self.is_correct(i) {
            return;
        }
        if b.epoch != position {
            self.violate("exactly-once", format!("node {i} applied epoch {} as its batch {position}", b.epoch));
        }
        match self.canonical.get(b.epoch as usize) {
            Some(c) if *c != d => {
                self.violate("one-log", format!("node {i} applied another batch for epoch {}", b.epoch))
            }
            Some(_) => {}
            None if b.epoch as usize == self.canonical.len() => {
                for tx in &b.transactions {
                    if !self.allowed.contains(&digest("sim/node/tx", tx)) {
                        self.violate(
                            "no-invented-tx",
                            format!("node {i} epoch {}: a transaction nobody submitted", b.epoch),
                        );
                    }
                }
                self.canonical.push(d);
            }
            None => self.violate("one-log", format!("node {i} applied epoch {} ahead of the log", b.epoch)),
        }
    }

    /// Deliver one frame.
    fn deliver(&mut self, f: Frame) {
        let j = f.to;
        if self.nodes[j].core.is_none() {
            return self.held[j].push(f);
        }
        if let Some((p, _)) = self.partitioned {
            if f.from == p || f.to == p {
                return self.parked.push(f);
            }
        }
        if !self.nodes[j].seen.insert((f.from, f.id)) {
            return;
        }
        self.report.deliveries += 1;
        sha2::Digest::update(&mut self.trace, [f.from as u8, j as u8]);
        sha2::Digest::update(&mut self.trace, &f.bytes[..f.bytes.len().min(64)]);
        let consensus = match router::route(&f.bytes, &self.session) {
            Ok(Route::Consensus { message, .. }) => Some(message),
            _ => None,
        };
        let Some(core) = self.nodes[j].core.as_mut() else { return };
        let ready = core.frames(vec![(f.from, f.bytes.to_vec())], Vec::new());
        let accepted = !ready.drops.iter().any(|d| d.peer == f.from && d.reason != DropReason::Fenced);
        if let (true, Some(m)) = (accepted, consensus) {
            if self.is_correct(j) && self.is_correct(f.from) {
                self.record(f.from, j, &m);
            }
        }
        self.execute(j, ready);
    }

    /// A correct node accepted `m` from correct `from`: one message per slot.
    fn record(&mut self, from: NodeId, to: NodeId, m: &Message) {
        let Some(s) = slot(m, to) else { return };
        let d = crate::node::audit::message_digest(m);
        match self.slots.get(&(from, s.clone())) {
            Some((prev, first)) if *prev != d => {
                if self.report.equivocations.len() < 20 {
                    self.report.equivocations.push(format!(
                        "node {from} sent two messages for slot {s}: one accepted by node {first}, another by node {to}"
                    ));
                }
            }
            Some(_) => {}
            None => {
                self.slots.insert((from, s), (d, to));
            }
        }
    }

    fn submit(&mut self, count: usize) {
        for _ in 0..count {
            let live: Vec<NodeId> =
                (0..self.case.n).filter(|i| self.nodes[*i].core.is_some() && !self.nodes[*i].trickle).collect();
            if live.is_empty() {
                break;
            }
            let to = live[self.rng.gen_range(0..live.len())];
            // A client sends an earlier transaction again now and then (a retry, or a replay):
            // de-duplicated, refused, or — behind the dedup window — ordered again.
            if !self.past.is_empty() && self.rng.gen_ratio(1, 5) {
                let tx = self.past[self.rng.gen_range(0..self.past.len())].clone();
                if let Some(core) = self.nodes[to].core.as_mut() {
                    let ready = core.submit(vec![tx]);
                    self.execute(to, ready);
                }
                continue;
            }
            self.submit_to(to);
        }
        for i in 0..self.case.n {
            let short = self.nodes[i].core.as_ref().is_some_and(|c| c.beat().buffered() < 3);
            if self.nodes[i].trickle && short {
                self.submit_to(i);
            }
        }
    }

    fn submit_to(&mut self, to: NodeId) {
        self.tx_counter += 1;
        let plain = format!("tx-{}-{}", self.case.seed, self.tx_counter).into_bytes();
        self.allowed.insert(digest("sim/node/tx", &plain));
        let tx = match &mut self.clients {
            Some(clients) => {
                let c = (self.tx_counter % clients.len() as u64) as usize;
                clients[c].encrypt(&plain, &mut self.rng)
            }
            None => plain,
        };
        if self.past.len() >= 256 {
            self.past.pop_front();
        }
        self.past.push_back(tx.clone());
        if let Some(core) = self.nodes[to].core.as_mut() {
            let ready = core.submit(vec![tx]);
            self.execute(to, ready);
        }
    }

    fn tick(&mut self) {
        for i in 0..self.case.n {
            let Some(core) = self.nodes[i].core.as_mut() else { continue };
            let ready = core.tick(self.now);
            self.execute(i, ready);
            let epoch = self.nodes[i].core.as_ref().map(|c| c.epoch());
            if let (Some((b, adv)), Some(epoch)) = (self.byzantine.as_mut(), epoch) {
                if *b == i {
                    let mut ctx = NodeCtx {
                        session: self.session,
                        me: i,
                        n: self.case.n,
                        epoch,
                        max_frame: self.config.limits.max_frame_bytes,
                        max_committed: self.config.limits.max_committed_bytes,
                        rng: &mut self.adv_rng,
                        injected: &mut self.report.injected,
                    };
                    for (to, bytes) in adv.tick(&mut ctx) {
                        let id = self.next_byz_id;
                        self.next_byz_id += 1;
                        self.push(Frame { from: i, to, id, bytes: Arc::new(bytes) });
                    }
                }
            }
        }
    }

    /// Faults: arm kills, take stale copies, start and end a lag.
    fn faults(&mut self) {
        let n = self.case.n;
        let progress = self.min_applied();
        if progress >= self.case.epochs.saturating_sub(3) {
            return; // quiet at the end: liveness is judged on a settled committee
        }
        // A stale copy of a random correct node's store.
        if self.rng.gen_ratio(1, 400) {
            let i = self.rng.gen_range(0..n);
            if self.is_correct(i) {
                if let Ok(copy) = self.nodes[i].store.copy_durable() {
                    self.nodes[i].backup = Some(copy);
                }
            }
        }
        // Liveness is promised with at most `f` faulty members: the Byzantine one, and any
        // correct node that is down, cut off, or fenced out of its epoch counts.
        let down = (0..n).filter(|i| self.nodes[*i].core.is_none()).count();
        let faulty = usize::from(self.byzantine.is_some())
            + down
            + usize::from(self.partitioned.is_some())
            + self.fenced(usize::MAX);
        let room = faulty < self.params.f;
        // A crash with a restart from the store is brief (the node comes back with its log and
        // nothing fenced): one at a time, even with no room left in `f` (liveness resumes on
        // restart); a stale restart needs room ([`NodeSim::restart`] checks).
        if self.kills_left > 0 && down == 0 && self.rng.gen_ratio(1, 600) {
            let i = self.rng.gen_range(0..n);
            if self.is_correct(i) && self.nodes[i].kill.is_none() {
                self.kills_left -= 1;
                let point = KILL_POINTS[self.rng.gen_range(0..KILL_POINTS.len())];
                self.nodes[i].kill = Some(point);
                self.nodes[i].restart = match self.rng.gen_range(0..10) {
                    _ if point == KillPoint::SubmitAfterCheckpoint => Restart::Store,
                    0..=3 => Restart::Store,
                    4..=7 => Restart::Stale,
                    _ => Restart::Wiped,
                };
                self.nodes[i].trickle = point == KillPoint::SubmitAfterCheckpoint;
            }
        }
        if self.lag_left > 0 && room && self.rng.gen_ratio(1, 2000) {
            let i = self.rng.gen_range(0..n);
            if self.is_correct(i) && self.nodes[i].kill.is_none() {
                self.lag_left -= 1;
                self.report.lags += 1;
                let now = self.nodes.iter().filter_map(|x| x.core.as_ref().map(|c| c.epoch())).max().unwrap_or(0);
                self.partitioned = Some((i, now));
                self.partitioned_at = self.now;
            }
        }
        // Heal the lag once the others are well ahead (beyond the window: catch-up needed).
        if let Some((p, at)) = self.partitioned {
            let others = (0..n)
                .filter(|j| *j != p && self.is_correct(*j))
                .filter_map(|j| self.nodes[j].core.as_ref().map(|c| c.epoch()))
                .min()
                .unwrap_or(0);
            let window = self.config.beat.max_future_epochs + self.config.limits.future_epochs;
            if others > at + window.min(6) + 2
                || others + 4 >= self.case.epochs
                || self.now > self.partitioned_at + 6000
            {
                self.partitioned = None;
                self.heal(p);
            }
        }
    }

    /// The lag of `p` ends. As the switch does: each link's queue kept the newest frames that
    /// fit its budget ([`LINK_QUEUE_BYTES`]: older ones were evicted, the sender's closed epochs
    /// first) and those arrive; the rest is lost, and the links coming back make both sides
    /// resend their frames of open epochs. A laggard so learns where the others are, but the
    /// frames of the epochs in between — and maybe of the one it ends in — are gone: it must
    /// catch up.
    fn heal(&mut self, p: NodeId) {
        let parked = std::mem::take(&mut self.parked);
        let mut used: BTreeMap<(NodeId, NodeId), usize> = BTreeMap::new();
        let mut kept = Vec::new();
        for f in parked.into_iter().rev() {
            let u = used.entry((f.from, f.to)).or_default();
            if *u + f.bytes.len() <= LINK_QUEUE_BYTES {
                *u += f.bytes.len();
                kept.push(f);
            } else {
                self.report.link_frames_lost += 1;
            }
        }
        kept.reverse();
        self.net.extend(kept);
        for (a, b) in (0..self.case.n).filter(|q| *q != p).flat_map(|q| [(q, p), (p, q)]) {
            if let Some(core) = self.nodes[a].core.as_mut() {
                let r = core.link_up(b, 0);
                self.execute(a, r);
            }
        }
    }

    /// Batches applied by each correct node.
    fn applied(&self) -> impl Iterator<Item = u64> + '_ {
        (0..self.case.n).filter(|i| self.is_correct(*i)).map(|i| self.nodes[i].app.applied.len() as u64)
    }

    fn max_applied(&self) -> u64 {
        self.applied().max().unwrap_or(0)
    }

    fn min_applied(&self) -> u64 {
        self.applied().min().unwrap_or(0)
    }

    fn step_network(&mut self) {
        if self.net.is_empty() {
            return;
        }
        let k = self.rng.gen_range(0..self.net.len());
        let f = self.net.swap_remove(k);
        self.deliver(f);
    }

    fn restarts_due(&mut self) {
        for i in 0..self.case.n {
            if self.nodes[i].down_until.is_some_and(|t| t <= self.now) {
                self.restart(i);
            }
        }
    }

    fn finish(&mut self) {
        for i in 0..self.case.n {
            if let Some(core) = &self.nodes[i].core {
                if self.is_correct(i) {
                    self.report.catchups += core.caught_up_epochs() - self.nodes[i].caught_base;
                    self.report.resent += core.resent_frames();
                    self.report.unsent_resent += core.unsent_resent_frames();
                }
            }
        }
        self.report.epochs = self.min_applied();
        self.report.trace = sha2::Digest::finalize(self.trace.clone()).into();
    }

    /// Run to the end.
    pub fn run(mut self) -> NodeReport {
        match self.case.canary {
            Some(c @ (Canary::SkipFence | Canary::WithFence)) => self.run_canary(c),
            Some(Canary::EarlySend | Canary::GroupCommit) => self.run_early_send(),
            Some(Canary::Laggard | Canary::LaggardNoResend) => {
                self.run_laggard();
                if self.report.liveness.is_some() {
                    self.finish();
                    return self.report;
                }
            }
            Some(Canary::Overflow | Canary::OverflowNoResend) => {
                self.run_overflow();
                if self.report.liveness.is_some() {
                    self.finish();
                    return self.report;
                }
            }
            None => {}
        }
        let limit = 400_000u64;
        let mut steps = 0u64;
        while steps < limit {
            steps += 1;
            self.now += 1;
            if self.now % 20 == 0 {
                self.tick();
            }
            // The load stops once a correct node applied every target epoch: the committee goes
            // idle (as a family's phones are most of the time), and a node still behind must
            // catch up from peers that send nothing new.
            if self.now % 15 == 0 && self.max_applied() < self.case.epochs {
                self.submit(1);
            }
            if self.now % 250 == 0 {
                self.check_rebuild(((self.now / 250) % self.case.n as u64) as usize);
            }
            self.restarts_due();
            self.faults();
            for _ in 0..4 {
                self.step_network();
            }
            let all_up = self.nodes.iter().all(|x| x.core.is_some()) && self.partitioned.is_none();
            if all_up && self.min_applied() >= self.case.epochs {
                break;
            }
        }
        if self.min_applied() < self.case.epochs {
            let per: Vec<String> = (0..self.case.n)
                .map(|i| {
                    let c = self.nodes[i].core.as_ref();
                    format!(
                        "node {i}: applied {} epoch {:?} rejoin {:?}",
                        self.nodes[i].app.applied.len(),
                        c.map(|c| c.epoch()),
                        c.map(|c| c.rejoin_status())
                    )
                })
                .collect();
            self.report.liveness = Some(format!(
                "after {steps} steps the slowest correct node applied {} of {} epochs ({})",
                self.min_applied(),
                self.case.epochs,
                per.join("; ")
            ));
        }
        if self.report.liveness.is_none() && self.case.variant.dispersed() {
            self.settle_repairs();
        }
        self.finish();
        self.report
    }

    /// BEAT3/4: with the committee settled (everyone up, nothing new submitted), every correct
    /// node must come to hold a verified fragment of every value it committed — those it missed
    /// while down, lagging or restarted from a wiped store included (repair liveness).
    fn settle_repairs(&mut self) {
        // Per correct node: values of correct proposers it holds no good fragment of.
        let missing = |sim: &Self| -> Vec<(NodeId, usize)> {
            (0..sim.case.n)
                .filter(|i| sim.is_correct(*i))
                .filter_map(|i| sim.nodes[i].core.as_ref().map(|c| (i, c.beat())))
                .map(|(i, beat)| {
                    let lacking = beat
                        .kept_values(None, usize::MAX)
                        .into_iter()
                        .filter(|id| sim.is_correct(id.proposer))
                        .filter(|id| !matches!(beat.check_own(*id), crate::beat::OwnFragment::Good(_)))
                        .count();
                    (i, lacking)
                })
                .filter(|(_, lacking)| *lacking > 0)
                .collect()
        };
        for step in 0..200_000u64 {
            if step % 100 == 0 && missing(self).is_empty() {
                break;
            }
            self.now += 1;
            if self.now % 20 == 0 {
                self.tick();
            }
            for _ in 0..4 {
                self.step_network();
            }
        }
        let left = missing(self);
        if !left.is_empty() {
            self.report.liveness = Some(format!("repair: correct nodes still lack fragments (node, values): {left:?}"));
        }
        let mut bad = Vec::new();
        for i in 0..self.case.n {
            let Some(core) = self.nodes[i].core.as_ref().filter(|_| self.is_correct(i)) else { continue };
            self.report.repairs += core.upkeep().repaired;
            // Whatever a correct node holds now verifies against the committed checksum.
            let beat = core.beat();
            for id in beat.kept_values(None, usize::MAX) {
                if beat.check_own(id) == crate::beat::OwnFragment::Bad {
                    bad.push(format!("node {i} holds a bad fragment of {id:?}"));
                }
            }
        }
        for b in bad {
            self.violate("fragment-check", b);
        }
    }

    /// One millisecond of the main loop's schedule: ticks, a trickle of load, four deliveries.
    fn advance(&mut self) {
        self.now += 1;
        if self.now % 20 == 0 {
            self.tick();
        }
        if self.now % 15 == 0 {
            self.submit(1);
        }
        for _ in 0..4 {
            self.step_network();
        }
    }

    /// Advance (200,000 steps at most) until every node of `of` applied `target` batches; if
    /// they do not, where each stands.
    fn advance_until_applied(&mut self, of: std::ops::Range<NodeId>, target: u64) -> Result<(), String> {
        let reached = |sim: &Self| of.clone().all(|i| sim.nodes[i].app.applied.len() as u64 >= target);
        for _ in 0..200_000 {
            if reached(self) {
                return Ok(());
            }
            self.advance();
        }
        if reached(self) {
            return Ok(());
        }
        let per: Vec<String> = of
            .map(|i| {
                let c = self.nodes[i].core.as_ref();
                format!("node {i}: applied {} epoch {:?}", self.nodes[i].app.applied.len(), c.map(|c| c.epoch()))
            })
            .collect();
        Err(per.join("; "))
    }

    /// The laggard script: each of `dead` that entered epoch `stuck` dies, and what it sent for
    /// `stuck` or later and is still in flight (or parked for the cut-off laggard) is lost.
    fn die_entering(&mut self, dead: std::ops::Range<NodeId>, stuck: u64) {
        for d in dead {
            if self.nodes[d].core.as_ref().is_none_or(|c| c.epoch() < stuck) {
                continue;
            }
            if let Some(core) = self.nodes[d].core.take() {
                self.report.catchups += core.caught_up_epochs() - self.nodes[d].caught_base;
            }
            let session = self.session;
            let late = |f: &Frame| {
                f.from == d
                    && matches!(router::route(&f.bytes, &session), Ok(Route::Consensus { message, .. }) if message.epoch >= stuck)
            };
            self.net.retain(|f| !late(f));
            self.parked.retain(|f| !late(f));
        }
    }

    /// Epochs of the live nodes in `of`: (lowest, highest).
    fn epochs_of(&self, of: impl Iterator<Item = NodeId>) -> (u64, u64) {
        let e: Vec<u64> = of.filter_map(|i| self.nodes[i].core.as_ref().map(|c| c.epoch())).collect();
        (e.iter().copied().min().unwrap_or(0), e.iter().copied().max().unwrap_or(0))
    }

    /// The laggard's script (see [`Canary::LaggardNoResend`]): member `n − f − 1` lags, the
    /// last `f` die for good as it heals, and the `n − f` left must commit 5 more epochs; then
    /// the dead come back from their stores and the run goes on as usual.
    fn run_laggard(&mut self) {
        let (n, f) = (self.case.n, self.params.f);
        let lag = n - f - 1;
        let window = self.config.beat.max_future_epochs + self.config.limits.future_epochs;
        for _ in 0..200_000 {
            self.advance();
            if self.min_applied() >= 2 {
                break;
            }
        }
        let at = self.epochs_of(0..n).1;
        self.partitioned = Some((lag, at));
        self.partitioned_at = self.now;
        self.report.lags += 1;
        // The others go on to epoch `stuck`, beyond the laggard's window. The `f` to die do so
        // as each enters it, before it sent anything for it (its frames of it in flight are
        // lost with it): `stuck` then needs the laggard.
        let stuck = at + window + 3;
        let dead = n - f..n;
        let mut ready = false;
        for _ in 0..400_000 {
            // The main loop's millisecond, with the check after every event.
            self.now += 1;
            if self.now % 20 == 0 {
                self.tick();
                self.die_entering(dead.clone(), stuck);
            }
            if self.now % 15 == 0 {
                self.submit(1);
                self.die_entering(dead.clone(), stuck);
            }
            for _ in 0..4 {
                self.step_network();
                self.die_entering(dead.clone(), stuck);
            }
            let others_in = (0..n - f)
                .filter(|j| *j != lag)
                .all(|j| self.nodes[j].core.as_ref().is_some_and(|c| c.epoch() >= stuck));
            if others_in && dead.clone().all(|d| self.nodes[d].core.is_none()) {
                ready = true;
                break;
            }
        }
        if !ready {
            return self.violate("laggard-script", format!("the others never all reached epoch {stuck} with {f} dead"));
        }
        self.partitioned = None;
        self.heal(lag);
        // What the links kept for it arrives first, as a reconnected link flushes its queue
        // (before the laggard's first fetch is answered): all of it beyond its window.
        let (flush, rest): (Vec<Frame>, Vec<Frame>) =
            std::mem::take(&mut self.net).into_iter().partition(|f| f.to == lag);
        self.net = rest;
        for f in flush {
            self.deliver(f);
        }
        let alive = 0..n - f;
        let target = self.epochs_of(alive.clone()).1 + 5;
        if let Err(per) = self.advance_until_applied(alive, target) {
            self.report.liveness = Some(format!(
                "laggard: with node {lag} back from beyond its window and {f} member(s) down, the others did not reach epoch {target} ({per})"
            ));
            return;
        }
        for d in dead {
            self.report.restarts += 1;
            self.start_node(d, false);
        }
        self.case.epochs = self.case.epochs.max(target + 3);
    }

    /// The overflow script (see [`Canary::OverflowNoResend`]): the last `f` members die for
    /// good, so every epoch needs all the others; in the next epoch every frame between nodes
    /// 0 and 1 is lost as it is sent (and reported to the sender's core as unsent), until every
    /// live node has been in that epoch for half a stall (before anything is sent again); then
    /// the live nodes must commit 3 epochs past it.
    fn run_overflow(&mut self) {
        let (n, f) = (self.case.n, self.params.f);
        for _ in 0..200_000 {
            self.advance();
            if self.min_applied() >= 2 {
                break;
            }
        }
        let dead = n - f..n;
        for d in dead.clone() {
            if let Some(core) = self.nodes[d].core.take() {
                self.report.catchups += core.caught_up_epochs() - self.nodes[d].caught_base;
            }
        }
        let alive = 0..n - f;
        let lossy = self.epochs_of(alive.clone()).1 + 1;
        self.loss = Some((0, 1, lossy));
        let mut entered = None;
        for _ in 0..200_000 {
            self.advance();
            if self.epochs_of(alive.clone()).0 >= lossy {
                let at = *entered.get_or_insert(self.now);
                if self.now - at >= self.config.stall_ms / 2 {
                    break;
                }
            }
        }
        self.loss = None;
        if entered.is_none() {
            return self.violate("overflow-script", format!("the live nodes never all reached epoch {lossy}"));
        }
        let target = lossy + 4;
        if let Err(per) = self.advance_until_applied(alive, target) {
            self.report.liveness = Some(format!(
                "overflow: with {f} member(s) down and {} frame(s) of epoch {lossy} lost between nodes 0 and 1 at \
                 their senders, the others did not reach epoch {target} ({per})",
                self.report.overflow_lost
            ));
            return;
        }
        for d in dead {
            self.report.restarts += 1;
            self.start_node(d, false);
        }
        self.case.epochs = self.case.epochs.max(target + 3);
    }

    /// Load until every correct node applied two epochs.
    fn warm_up(&mut self) {
        for _ in 0..200_000 {
            self.now += 1;
            if self.now % 20 == 0 {
                self.tick();
            }
            if self.now % 15 == 0 {
                self.submit(1);
            }
            self.step_network();
            self.step_network();
            if self.min_applied() >= 2 {
                break;
            }
        }
    }

    /// The group-commit script (see [`Canary::EarlySend`]): once the committee is idle, node 0
    /// gets a transaction — which it proposes in the same step — and loses power right after
    /// that step; it is back from its store at once, gets new transactions, and the run goes
    /// on to its epochs.
    fn run_early_send(&mut self) {
        let x = 0;
        self.warm_up();
        // No load until nothing is in flight and node 0 holds no transaction: its next
        // proposal is then exactly what it gets next, made in the step that submits it.
        let mut idle = false;
        for _ in 0..200_000 {
            self.now += 1;
            if self.now % 20 == 0 {
                self.tick();
            }
            self.step_network();
            let empty = self.nodes[x].core.as_ref().is_some_and(|c| c.beat().buffered() == 0);
            if self.net.is_empty() && empty {
                idle = true;
                break;
            }
        }
        if !idle {
            self.violate("early-send-script", "the committee never went idle".into());
            return;
        }
        self.nodes[x].crash_after_val = true;
        self.submit_to(x);
        for _ in 0..100_000 {
            self.now += 1;
            if self.now % 20 == 0 {
                self.tick();
            }
            self.step_network();
            if self.nodes[x].crashed_at_val {
                break;
            }
        }
        if !self.nodes[x].crashed_at_val {
            self.violate("early-send-script", "node 0 never proposed".into());
            return;
        }
        // With the rejoin fence off: a restart from the store must rest on the log alone (the
        // fence would keep it from sending for the epochs the others already run, and hide
        // what the log lost).
        self.report.restarts += 1;
        self.start_node(x, true);
        for _ in 0..4 {
            self.submit_to(x);
        }
    }

    /// The canary's script (see [`Canary`]).
    fn run_canary(&mut self, canary: Canary) {
        let x = 0;
        self.warm_up();
        // Give x transactions, then run until it proposes.
        for _ in 0..4 {
            self.submit_to(x);
        }
        let mut proposed = None;
        for _ in 0..100_000 {
            self.now += 1;
            if self.now % 20 == 0 {
                self.tick();
            }
            let before = self.net.len();
            self.step_network();
            let epoch = self.nodes[x].core.as_ref().map_or(0, |c| c.epoch());
            if self.net[before.min(self.net.len())..]
                .iter()
                .any(|f| f.from == x && is_own_val(&self.session, f, x, epoch))
            {
                proposed = Some(epoch);
                break;
            }
        }
        let Some(epoch) = proposed else {
            self.report.liveness = Some("canary: node 0 never proposed".into());
            return;
        };
        // Its Val frames reach the peers; then it dies and comes back without its store.
        let (vals, rest): (Vec<Frame>, Vec<Frame>) = std::mem::take(&mut self.net)
            .into_iter()
            .partition(|f| f.from == x && is_own_val(&self.session, f, x, epoch));
        self.net = rest;
        for f in vals {
            self.deliver(f);
        }
        self.nodes[x].core = None;
        self.nodes[x].store = Arc::new(MemStore::new());
        self.nodes[x].sent.clear();
        self.report.restarts += 1;
        self.report.stale_restarts += 1;
        self.report.wipes += 1;
        self.start_node(x, canary == Canary::SkipFence);
        for _ in 0..4 {
            self.submit_to(x);
        }
        // Only x's traffic moves until it re-proposed (or settled behind its fence).
        let mut settled_at = None;
        for _ in 0..400_000 {
            self.now += 1;
            if self.now % 20 == 0 {
                self.tick();
            }
            let mine: Vec<usize> =
                (0..self.net.len()).filter(|k| self.net[*k].from == x || self.net[*k].to == x).collect();
            if mine.is_empty() && settled_at.is_some() {
                break;
            }
            if !mine.is_empty() {
                let k = mine[self.rng.gen_range(0..mine.len())];
                let f = self.net.swap_remove(k);
                self.deliver(f);
            }
            let core = self.nodes[x].core.as_ref();
            let reached =
                core.is_some_and(|c| c.epoch() >= epoch && matches!(c.rejoin_status(), RejoinStatus::Done { .. }));
            if reached && settled_at.is_none() {
                settled_at = Some(self.now);
            }
            if settled_at.is_some_and(|t| self.now > t + 3000) || !self.report.equivocations.is_empty() {
                break;
            }
        }
    }
}

/// Whether `ready` stores a checkpoint that records a proposal of its epoch.
fn checkpoint_with_proposal(ready: &Ready) -> bool {
    ready.checkpoint.as_ref().is_some_and(|cp| {
        codec::decode::<beat::Checkpoint>(&cp.bytes, usize::MAX)
            .is_ok_and(|c| c.proposed.is_some_and(|p| !p.is_empty()))
    })
}

fn is_own_val(session: &SessionId, f: &Frame, x: NodeId, epoch: u64) -> bool {
    match router::route(&f.bytes, session) {
        Ok(Route::Consensus { message, .. }) => {
            message.epoch == epoch
                && matches!(&message.content, Content::Acs(a) if a.proposer == x
                    && matches!(&a.content, AcsContent::Broadcast(
                        BroadcastMessage::Rbc(RbcMessage::Val(_))
                        | BroadcastMessage::Avid(AvidMessage::Val(_))
                        | BroadcastMessage::AvidFp(AvidFpMessage::Val { .. }))))
        }
        _ => false,
    }
}

/// The node-level campaign's tally.
#[derive(Clone, Debug, Default)]
pub struct NodeSummary {
    /// Runs.
    pub seeds: u64,
    /// Restarts.
    pub restarts: u64,
    /// Stale and wiped restarts.
    pub stale_restarts: u64,
    /// Of those, wiped.
    pub wipes: u64,
    /// Epochs taken by catch-up.
    pub catchups: u64,
    /// BEAT3/4 fragments repaired.
    pub repairs: u64,
    /// BEAT0–2 decryption-share frames checked (none before the sender's common set).
    pub shares_checked: u64,
    /// Correct nodes' consensus frames checked against their earlier sends for the slot.
    pub sends_checked: u64,
    /// Kills right after a checkpoint that recorded a proposal.
    pub checkpoint_kills: u64,
    /// Of those, re-sent proposals compared with the ones sent before.
    pub proposals_rechecked: u64,
    /// Nodes rebuilt from their store and compared with the live node.
    pub rebuilds_checked: u64,
    /// Lag episodes.
    pub lags: u64,
    /// Frames lost beyond the lagging members' link queues.
    pub link_frames_lost: u64,
    /// Equivocations in campaign runs.
    pub equivocations: u64,
    /// Safety violations in campaign runs.
    pub safety_violations: u64,
    /// Runs that were not live.
    pub liveness_failures: u64,
    /// Re-runs with another trace.
    pub determinism_mismatches: u64,
    /// Canaries (fence off) caught / run.
    pub canary_caught: (u64, u64),
    /// Canary controls (fence on) that stayed clean / run.
    pub controls_clean: (u64, u64),
    /// Laggard canaries (resend off) that stalled / run: at least half must (see
    /// [`Canary::LaggardNoResend`]).
    pub laggard_stalled: (u64, u64),
    /// Laggard controls (resend on) that stayed live and safe, having sent frames again where
    /// the canary of the same round stalled / run.
    pub laggard_live: (u64, u64),
    /// Overflow canaries (resend off) that stalled / run: at least half must (see
    /// [`Canary::OverflowNoResend`]).
    pub overflow_stalled: (u64, u64),
    /// Overflow controls (resend on) that stayed live and safe, having sent frames again
    /// where the canary of the same round stalled / run.
    pub overflow_live: (u64, u64),
    /// Group-commit canaries (records deferred before sends) caught equivocating / run: all
    /// must be (see [`Canary::EarlySend`]).
    pub early_send_caught: (u64, u64),
    /// Group-commit controls that stayed clean and live / run.
    pub group_commit_clean: (u64, u64),
    /// Deferred WAL records kills lost (campaign runs): from 20 seeds on there must be some,
    /// or the power-cut model never met a deferred record.
    pub deferred_lost: u64,
    /// Frames the Byzantine members made up.
    pub injected: u64,
    /// Frames correct cores dropped before their WAL.
    pub dropped: u64,
    /// What failed, with replay commands.
    pub failures: Vec<String>,
    /// Whether the last laggard canary (run just before its control) stalled.
    last_laggard_stalled: Option<bool>,
    /// Whether the last overflow canary (run just before its control) stalled.
    last_overflow_stalled: Option<bool>,
}

impl NodeSummary {
    /// The summary line.
    pub fn line(&self) -> String {
        format!(
            "BEAT-NODE-SIM seeds={} restarts={} stale_restarts={} catchups={} equivocations={} safety_violations={} \
             liveness_failures={}",
            self.seeds,
            self.restarts,
            self.stale_restarts,
            self.catchups,
            self.equivocations,
            self.safety_violations,
            self.liveness_failures
        )
    }

    /// The detail line.
    pub fn detail(&self) -> String {
        format!(
            "wipes={} lags={} link_frames_lost={} repairs={} shares_checked={} sends_checked={} checkpoint_kills={} proposals_rechecked={} rebuilds_checked={} \
             determinism_mismatches={} \
             canary_caught={}/{} controls_clean={}/{} laggard_stalled_without_resend={}/{} laggard_live={}/{} \
             overflow_stalled_without_resend={}/{} overflow_live={}/{} early_send_caught={}/{} group_commit_clean={}/{} \
             deferred_lost={} byzantine_frames={} frames_dropped={}",
            self.wipes,
            self.lags,
            self.link_frames_lost,
            self.repairs,
            self.shares_checked,
            self.sends_checked,
            self.checkpoint_kills,
            self.proposals_rechecked,
            self.rebuilds_checked,
            self.determinism_mismatches,
            self.canary_caught.0,
            self.canary_caught.1,
            self.controls_clean.0,
            self.controls_clean.1,
            self.laggard_stalled.0,
            self.laggard_stalled.1,
            self.laggard_live.0,
            self.laggard_live.1,
            self.overflow_stalled.0,
            self.overflow_stalled.1,
            self.overflow_live.0,
            self.overflow_live.1,
            self.early_send_caught.0,
            self.early_send_caught.1,
            self.group_commit_clean.0,
            self.group_commit_clean.1,
            self.deferred_lost,
            self.injected,
            self.dropped
        )
    }

    /// Everything held.
    pub fn passed(&self) -> bool {
        self.equivocations == 0
            && self.safety_violations == 0
            && self.liveness_failures == 0
            && self.determinism_mismatches == 0
            && self.canary_caught.0 == self.canary_caught.1
            && self.controls_clean.0 == self.controls_clean.1
            && 2 * self.laggard_stalled.0 >= self.laggard_stalled.1
            && self.laggard_live.0 == self.laggard_live.1
            && 2 * self.overflow_stalled.0 >= self.overflow_stalled.1
            && self.overflow_live.0 == self.overflow_live.1
            && self.early_send_caught.0 == self.early_send_caught.1
            && self.group_commit_clean.0 == self.group_commit_clean.1
            && (self.seeds < 20 || self.deferred_lost > 0)
    }

    /// A canary whose script must reach a stall (`laggard`, `overflow`): whether it stalled
    /// (a liveness failure named after the script), with its failures recorded.
    fn stall_canary(&mut self, r: &NodeReport, script: &str) -> bool {
        let replay = r.case.as_ref().map(NodeCase::replay_command).unwrap_or_default();
        let stalled = r.liveness.as_deref().is_some_and(|l| l.starts_with(&format!("{script}:")));
        if r.violations.iter().any(|v| v.starts_with(&format!("{script}-script"))) {
            // Not set up (the control of the same round fails the same way).
            self.failures.push(format!("{script} script never reached its setup: {replay}"));
            return false;
        }
        if !r.equivocations.is_empty() || !r.violations.is_empty() {
            self.safety_violations += 1;
            self.failures.push(format!("{script} canary broke safety: {replay}"));
            return false;
        }
        stalled
    }

    /// The control of such a canary: whether it stayed live and safe and `did` what the fix
    /// does, with a failure recorded if not.
    fn stall_control(&mut self, r: &NodeReport, script: &str, did: bool) -> bool {
        let ok = r.ok() && did;
        if !ok {
            let replay = r.case.as_ref().map(NodeCase::replay_command).unwrap_or_default();
            self.failures.push(format!("{script} control failed: {replay}"));
        }
        ok
    }

    fn add(&mut self, r: &NodeReport, mismatch: bool) {
        let case = r.case.as_ref().expect("campaign reports carry their case");
        match case.canary {
            Some(c @ (Canary::SkipFence | Canary::EarlySend)) => {
                // Must be caught equivocating, every round.
                let (count, what) = match c {
                    Canary::SkipFence => (&mut self.canary_caught, "canary not caught"),
                    _ => (&mut self.early_send_caught, "early-send canary not caught"),
                };
                count.1 += 1;
                count.0 += u64::from(!r.equivocations.is_empty());
                if r.equivocations.is_empty() {
                    self.failures.push(format!("{what}: {}", case.replay_command()));
                }
                return;
            }
            Some(c @ (Canary::WithFence | Canary::GroupCommit)) => {
                // Must stay clean and live, every round.
                let (count, what) = match c {
                    Canary::WithFence => (&mut self.controls_clean, "fenced canary control failed"),
                    _ => (&mut self.group_commit_clean, "group-commit control failed"),
                };
                count.1 += 1;
                count.0 += u64::from(r.ok());
                if !r.ok() {
                    self.failures.push(format!("{what}: {}", case.replay_command()));
                }
                return;
            }
            Some(Canary::LaggardNoResend) => {
                let stalled = self.stall_canary(r, "laggard");
                self.laggard_stalled.1 += 1;
                self.laggard_stalled.0 += u64::from(stalled);
                self.last_laggard_stalled = Some(stalled);
                return;
            }
            Some(Canary::Laggard) => {
                // The same schedule as the canary just before it: where that stalled, this run
                // must have got past by sending frames again.
                let resent = self.last_laggard_stalled.take() != Some(true) || r.resent > 0;
                self.laggard_live.1 += 1;
                self.laggard_live.0 += u64::from(self.stall_control(r, "laggard", resent));
                return;
            }
            Some(Canary::OverflowNoResend) => {
                let stalled = self.stall_canary(r, "overflow");
                self.overflow_stalled.1 += 1;
                self.overflow_stalled.0 += u64::from(stalled);
                self.last_overflow_stalled = Some(stalled);
                return;
            }
            Some(Canary::Overflow) => {
                let resent = self.last_overflow_stalled.take() != Some(true) || r.unsent_resent > 0;
                self.overflow_live.1 += 1;
                self.overflow_live.0 += u64::from(self.stall_control(r, "overflow", resent && r.overflow_lost > 0));
                return;
            }
            None => {}
        }
        self.seeds += 1;
        self.restarts += r.restarts;
        self.stale_restarts += r.stale_restarts;
        self.wipes += r.wipes;
        self.deferred_lost += r.deferred_lost;
        self.catchups += r.catchups;
        self.repairs += r.repairs;
        self.shares_checked += r.shares_checked;
        self.sends_checked += r.sends_checked;
        self.checkpoint_kills += r.checkpoint_kills;
        self.proposals_rechecked += r.proposals_rechecked;
        self.rebuilds_checked += r.rebuilds_checked;
        self.lags += r.lags;
        self.link_frames_lost += r.link_frames_lost;
        self.injected += r.injected;
        self.dropped += r.dropped;
        self.equivocations += r.equivocations.len() as u64;
        self.safety_violations += r.violations.len() as u64;
        if r.liveness.is_some() {
            self.liveness_failures += 1;
        }
        if mismatch {
            self.determinism_mismatches += 1;
            self.failures.push(format!("nondeterministic: {}", case.replay_command()));
        }
        if !r.ok() {
            self.failures.push(format!("failed: {}", case.replay_command()));
        }
    }
}

/// The node-level campaign: `seeds` cases ([`NodeCase::from_seed`]), every `determinism_every`-th
/// re-run and compared, and `canaries` rounds of the canary and its fenced control, on `jobs`
/// threads. `progress` sees every report in order.
pub fn campaign(
    seeds: std::ops::Range<u64>,
    determinism_every: u64,
    canaries: u64,
    jobs: usize,
    mut progress: impl FnMut(&NodeReport),
) -> NodeSummary {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;
    let mut work: Vec<(NodeCase, bool)> =
        seeds.map(|s| (NodeCase::from_seed(s), determinism_every > 0 && s % determinism_every == 0)).collect();
    for r in 0..canaries {
        for c in Canary::ALL {
            work.push((NodeCase::canary(r, c), false));
        }
    }
    let work = Arc::new(work);
    let next = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel::<(usize, NodeReport, bool)>();
    let handles: Vec<_> = (0..jobs.max(1))
        .map(|_| {
            let (work, next, tx) = (work.clone(), next.clone(), tx.clone());
            std::thread::spawn(move || loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some((case, rerun)) = work.get(i).cloned() else { return };
                let report = NodeSim::new(case.clone()).run();
                let mismatch = rerun && NodeSim::new(case).run().trace != report.trace;
                if tx.send((i, report, mismatch)).is_err() {
                    return;
                }
            })
        })
        .collect();
    drop(tx);
    let mut summary = NodeSummary::default();
    let mut pending = BTreeMap::new();
    let mut expect = 0;
    for (i, report, mismatch) in rx {
        pending.insert(i, (report, mismatch));
        while let Some((report, mismatch)) = pending.remove(&expect) {
            summary.add(&report, mismatch);
            progress(&report);
            expect += 1;
        }
    }
    for h in handles {
        if let Err(e) = h.join() {
            std::panic::resume_unwind(e);
        }
    }
    summary
}
