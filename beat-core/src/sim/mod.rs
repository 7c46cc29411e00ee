//! The deterministic simulator.
//!
//! `n` sans-IO [`Beat`] nodes (any [`Variant`]) run in one thread. One `u64` seed decides everything: the
//! committee's keys, each node's randomness, the transactions, every message's delay, and the
//! adversary's choices. The same seed gives the same run; [`Report::trace_hash`] digests the
//! whole schedule and every output so two runs can be compared.
//!
//! After **every** delivered message the [`Checker`] checks RBC agreement, validity and
//! integrity, ABA agreement and validity, coin agreement, ACS agreement and size, that correct
//! logs are prefixes of one another, that no transaction is committed twice or made up, and
//! that no correct node releases a decryption share before its ACS output (or for a proposal
//! outside it). Liveness: once the adversary's network interference stops, every correct node
//! must commit [`Case::extra_epochs`] more epochs within the step budget.
//!
//! A run is named by its seed alone ([`Case::from_seed`] picks `n` and the adversary), so a
//! failure is replayed with `BEAT_SEED=<seed> cargo test --release -p beat-core --test sim replay`.

pub mod adversary;
pub mod checker;
pub mod node;

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sha2::{Digest as _, Sha256};

pub use adversary::{Adversary, AdversaryKind};
pub use checker::{Checker, Violation};

use crate::beat::client::Client;
use crate::beat::{self, Beat, Config, Output, ValueId, Variant};
use crate::beat::{Content, Input, Message};
use crate::proto::avid_fp::fpc_context;
use crate::proto::rbc::value_digest;
use crate::proto::Event;
use crate::proto::{Protocol, Step};
use crate::{NodeId, Params, SessionId};

/// One simulated run's parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    /// The seed.
    pub seed: u64,
    /// Committee size.
    pub n: usize,
    /// The BEAT variant.
    pub variant: Variant,
    /// The adversary.
    pub adversary: AdversaryKind,
    /// Epochs every correct node must commit in total.
    pub epochs: u64,
    /// Epochs every correct node must commit after the adversary's interference stops.
    pub extra_epochs: u64,
    /// Transactions per epoch (`b`).
    pub batch_size: usize,
    /// Message deliveries before the run counts as a liveness failure.
    pub max_deliveries: u64,
}

/// Committee sizes the campaign cycles through (`n = 3f + 1` and the sizes in between, up to
/// `f = 3`).
pub const SIZES: [usize; 5] = [4, 5, 6, 7, 10];

/// Epochs of a long run: far past the de-duplication window (64), the future-epoch window and
/// the read retention a short run never leaves.
pub const LONG_RUN_EPOCHS: u64 = 150;

impl Case {
    /// The campaign's case for `seed`: the variant cycles through [`Variant::ALL`]
    /// (`seed mod 5`); with `a = seed / 5`, the adversary through those that apply to the
    /// variant (`a mod L`, so any `5L` consecutive seeds run every adversary of every variant)
    /// and the size through [`SIZES`] (`(a mod L + a / L) mod 5`: consecutive adversaries run at
    /// consecutive sizes, and each round of adversaries shifts them by one, so every
    /// (variant, adversary, size) occurs within `25L` seeds). One seed in 23 (`seed mod 23 = 22`,
    /// spread over all of them) is a long run of [`LONG_RUN_EPOCHS`] epochs. The seed alone
    /// names the run.
    pub fn from_seed(seed: u64) -> Self {
        let variant = Variant::ALL[(seed % Variant::ALL.len() as u64) as usize];
        let adversaries = AdversaryKind::for_variant(variant);
        let (a, l) = (seed / Variant::ALL.len() as u64, adversaries.len() as u64);
        let adversary = adversaries[(a % l) as usize];
        let n = SIZES[((a % l + a / l) % SIZES.len() as u64) as usize];
        let case = Case::new(seed, n, variant, adversary);
        if seed % 23 == 22 {
            case.long()
        } else {
            case
        }
    }

    /// A case with default sizes (adversaries that need many epochs get them).
    pub fn new(seed: u64, n: usize, variant: Variant, adversary: AdversaryKind) -> Self {
        let case =
            Case { seed, n, variant, adversary, epochs: 3, extra_epochs: 2, batch_size: 12, max_deliveries: 3_000_000 };
        match adversary.min_epochs() {
            Some(e) => Case { epochs: e, batch_size: 4, max_deliveries: 200_000 * e.max(15), ..case },
            None => case,
        }
    }

    /// This case as a long run ([`LONG_RUN_EPOCHS`] epochs, small batches).
    pub fn long(self) -> Self {
        let epochs = LONG_RUN_EPOCHS.max(self.epochs);
        Case { epochs, batch_size: 4, max_deliveries: 200_000 * epochs, ..self }
    }

    /// Whether this is a long run (more epochs than the de-duplication window).
    pub fn is_long(&self) -> bool {
        self.epochs > crate::beat::Settings::default().dedup_epochs
    }

    /// The command that replays this run.
    pub fn replay_command(&self) -> String {
        if *self == Case::from_seed(self.seed) || *self == Case::from_seed(self.seed).long() && self.is_long() {
            format!("BEAT_SEED={} cargo test --release -p beat-core --test sim replay -- --nocapture", self.seed)
        } else {
            let long = if self.is_long() && self.adversary.min_epochs().is_none() { " --long" } else { "" };
            format!(
                "cargo run --release -p beat-core --bin beat-sim -- run --seed {} --n {} --variant {} --adversary {}{long}",
                self.seed,
                self.n,
                self.variant.name(),
                self.adversary.name()
            )
        }
    }
}

/// What a run produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The case.
    pub case: Case,
    /// Safety violations found (empty for a correct protocol unless the adversary is a canary).
    pub violations: Vec<Violation>,
    /// Whether liveness failed (the step budget ran out first).
    pub liveness_failure: bool,
    /// Epochs in the canonical log.
    pub epochs: u64,
    /// Transactions committed.
    pub transactions: u64,
    /// Messages delivered.
    pub deliveries: u64,
    /// Messages the adversary tampered with, dropped, delayed or injected.
    pub faults_injected: u64,
    /// Faults the correct nodes recorded against peers.
    pub faults_detected: u64,
    /// Highest ABA round a correct node decided in.
    pub max_aba_round: u32,
    /// ABA rounds that used the threshold coin.
    pub threshold_coins: u64,
    /// Reads of committed values (BEAT3/4) whose results the checker verified.
    pub reads_checked: u64,
    /// Most epochs any correct node was behind another (a laggard's lag).
    pub max_lag: u64,
    /// BEAT4 range reads compared with a full read of the same value.
    pub ranges_checked: u64,
    /// BEAT3/4: fragments correct nodes rebuilt from their peers' (`Input::Repair`) and the
    /// checker verified.
    pub repairs_checked: u64,
    /// Virtual time at the end.
    pub end_time: u64,
    /// Digest of the schedule and the outputs.
    pub trace_hash: [u8; 32],
    /// Latency in message delays, one entry per (correct node, committed epoch): the causal
    /// depth at which the node committed the epoch minus the depth at which the epoch's first
    /// correct proposal was made. A message's depth is one more than its sender's when sent
    /// (a Byzantine node's injections count as answers to what it observed), a node's the
    /// deepest message it has received — whatever its epoch or use, so this is an upper bound
    /// on the chain the commit itself waited on, and never below it. What no machine's or
    /// network's speed changes.
    pub message_delays: Vec<u64>,
}

impl Report {
    /// Whether the run met every property.
    pub fn ok(&self) -> bool {
        self.violations.is_empty() && !self.liveness_failure
    }
}

struct Envelope {
    from: NodeId,
    to: NodeId,
    msg: Message,
    /// Its causal depth: one more than its sender's when sent ([`Report::message_delays`]).
    depth: u64,
}

/// One simulated committee.
pub struct Simulation {
    case: Case,
    params: Params,
    nodes: Vec<Beat>,
    node_rngs: Vec<ChaCha20Rng>,
    net_rng: ChaCha20Rng,
    adv_rng: ChaCha20Rng,
    keys: Vec<beat::NodeKeys>,
    /// Each node's session (a misconfigured member's differs: the others drop its envelopes).
    sessions: Vec<SessionId>,
    adversary: Box<dyn Adversary>,
    byzantine: Vec<bool>,
    crashed: Vec<bool>,
    queue: BinaryHeap<Reverse<(u64, u64, usize)>>,
    slots: Vec<Option<Envelope>>,
    free: Vec<usize>,
    seq: u64,
    now: u64,
    checker: Checker,
    trace: Sha256,
    deliveries: u64,
    injected: u64,
    faults_detected: u64,
    invented: Vec<Vec<u8>>,
    /// Every transaction clients submitted, as submitted (ciphertexts for BEAT2).
    submitted: Vec<Vec<u8>>,
    /// Proposals the adversary reports having decrypted (checked for confidentiality).
    learned: Vec<(u64, NodeId)>,
    committed_at_quiet: Vec<Option<usize>>,
    /// Each node's causal depth (the deepest message delivered to it).
    depth: Vec<u64>,
    /// Per epoch, the smallest depth at which a correct node proposed for it.
    first_proposal: std::collections::BTreeMap<u64, u64>,
    /// Each commit at a correct node: (epoch, the node's depth then).
    commits: Vec<(u64, u64)>,
    tx_counter: u64,
    clients: Option<Vec<Client>>,
    next_retry: u64,
}

/// Virtual time after which a node's pending reads ask every remaining holder.
const READ_TIMEOUT: u64 = 300;

impl std::fmt::Debug for Simulation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulation")
            .field("case", &self.case)
            .field("adversary", &self.adversary.name())
            .field("now", &self.now)
            .field("deliveries", &self.deliveries)
            .finish_non_exhaustive()
    }
}

impl Simulation {
    /// Set up a run.
    pub fn new(case: Case) -> Self {
        let params = Params::new(case.n).expect("simulated committees have n ≥ 4");
        let mut master = ChaCha20Rng::seed_from_u64(case.seed);
        let session = SessionId::from_name(&format!("sim-{}", case.seed));
        let settings =
            beat::Settings { variant: case.variant, batch_size: case.batch_size, ..beat::Settings::default() };
        let keys = beat::deal(params, session, settings.clone(), &mut master);
        let node_rngs = (0..case.n)
            .map(|_| ChaCha20Rng::from_rng(&mut master).expect("seeding from a ChaCha20 rng cannot fail"))
            .collect();
        let net_rng = ChaCha20Rng::from_rng(&mut master).expect("infallible");
        let mut adv_rng = ChaCha20Rng::from_rng(&mut master).expect("infallible");
        let adversary = case.adversary.build(case.n, params.f, &mut adv_rng);
        // A misconfigured member runs with its own settings, hence its own session.
        let mut node_keys = keys.clone();
        for (i, k) in node_keys.iter_mut().enumerate() {
            if let Some(own) = adversary.settings(i, &settings) {
                k.public.session = own.bind_session(&session, params);
                k.public.settings = own;
            }
        }
        let sessions = node_keys.iter().map(|k| k.public.session).collect();
        let nodes = node_keys.into_iter().map(|k| Beat::new(k, Config::default())).collect();
        let faulty = adversary.faulty();
        let byzantine: Vec<bool> =
            (0..case.n).map(|i| faulty.contains(&i) && adversary.crash_time(i).is_none()).collect();
        let correct = (0..case.n).map(|i| !faulty.contains(&i)).collect();
        let checker = Checker::new(case.n, params.f, correct, case.variant, settings.dedup_epochs);
        let clients = case.variant.client_encrypted().then(|| {
            let count = (case.batch_size / 8).max(1) as u64;
            (0..count).map(|c| Client::new(keys[0].public.clone(), c)).collect()
        });
        Simulation {
            params,
            nodes,
            node_rngs,
            net_rng,
            adv_rng,
            keys,
            sessions,
            adversary,
            byzantine,
            crashed: vec![false; case.n],
            queue: BinaryHeap::new(),
            slots: Vec::new(),
            free: Vec::new(),
            seq: 0,
            now: 0,
            checker,
            trace: Sha256::new(),
            deliveries: 0,
            injected: 0,
            faults_detected: 0,
            invented: Vec::new(),
            submitted: Vec::new(),
            learned: Vec::new(),
            committed_at_quiet: vec![None; case.n],
            depth: vec![0; case.n],
            first_proposal: std::collections::BTreeMap::new(),
            commits: Vec::new(),
            tx_counter: 0,
            clients,
            next_retry: READ_TIMEOUT,
            case,
        }
    }

    fn ctx_parts(&mut self) -> (adversary::Ctx<'_>, &mut Box<dyn Adversary>) {
        (
            adversary::Ctx {
                variant: self.case.variant,
                keys: &self.keys,
                rng: &mut self.adv_rng,
                now: self.now,
                invented: &mut self.invented,
                injected: &mut self.injected,
                submitted: &self.submitted,
                log: self.checker.log(),
                learned: &mut self.learned,
            },
            &mut self.adversary,
        )
    }

    fn schedule(&mut self, from: NodeId, to: NodeId, msg: Message) {
        let depth = self.depth[from] + 1;
        // The network's own delay: uniform 1..=20 ticks (median ~10).
        let base = self.net_rng.gen_range(1..=20);
        let (mut ctx, adv) = self.ctx_parts();
        let delay = adv.delay(&mut ctx, from, to, &msg, base);
        let slot = match self.free.pop() {
            Some(i) => {
                self.slots[i] = Some(Envelope { from, to, msg, depth });
                i
            }
            None => {
                self.slots.push(Some(Envelope { from, to, msg, depth }));
                self.slots.len() - 1
            }
        };
        self.seq += 1;
        self.queue.push(Reverse((self.now + delay, self.seq, slot)));
    }

    /// Send a node's step out through the adversary and the network, and check it.
    fn process_step(&mut self, node: NodeId, step: Step<Message, Output>) {
        for ev in &step.events {
            self.checker.event(node, ev);
            if let (Event::Proposed { epoch, .. }, true) = (ev, self.checker.is_correct(node)) {
                let first = self.first_proposal.entry(*epoch).or_insert(self.depth[node]);
                *first = (*first).min(self.depth[node]);
            }
        }
        self.faults_detected += step.faults.len() as u64;
        let mut reads = Vec::new();
        for out in &step.output {
            let batch = match out {
                Output::Batch(b) => b,
                Output::Read(r) => {
                    self.trace.update(b"read");
                    self.trace.update(node.to_le_bytes());
                    if let Ok(bytes) = &r.result {
                        self.trace.update(value_digest(bytes));
                    }
                    self.checker.read(node, r);
                    continue;
                }
                Output::Stored(o) => {
                    // Where a correct proposer says its transaction lies, a range read finds it.
                    if let (Some((digest, range)), true) = (o.transactions.first(), self.checker.is_correct(node)) {
                        self.checker.expect_range(o.id, range.clone(), *digest);
                        reads.push(Input::Read { id: o.id, range: Some(range.clone()) });
                    }
                    continue;
                }
                Output::Repaired(r) => {
                    self.trace.update(b"repair");
                    self.trace.update(node.to_le_bytes());
                    let kept = self.nodes[node].check_own(r.id);
                    self.checker.repaired(node, r, matches!(kept, crate::beat::node::OwnFragment::Good(_)));
                    continue;
                }
            };
            if self.checker.is_correct(node) {
                // Against the epoch's earliest correct proposal once the run is over (a laggard
                // may propose for an epoch after others committed it).
                self.commits.push((batch.epoch, self.depth[node]));
            }
            self.trace.update(b"commit");
            self.trace.update(node.to_le_bytes());
            self.trace.update(batch.epoch.to_le_bytes());
            for tx in &batch.transactions {
                self.trace.update(value_digest(tx));
            }
            for v in &batch.stored {
                self.trace.update(v.digest);
            }
            for tx in std::mem::take(&mut self.invented) {
                self.checker.allow_tx(&tx);
            }
            self.checker.commit(node, batch);
            if self.case.variant.dispersed() && self.checker.is_correct(node) {
                self.check_fragments(node, batch);
                reads.extend(self.plan_reads(batch));
                // A correct node rebuilds every fragment it missed (a dispersal it did not
                // see through, a Byzantine disperser's bad fragment, an epoch taken by catch-up).
                reads.extend(self.nodes[node].take_missing().into_iter().map(|id| Input::Repair { id }));
            }
        }
        let correct = self.checker.is_correct(node);
        for (target, msg) in step.messages {
            if correct {
                if let Content::DecShares { proposer, .. } = &msg.content {
                    self.checker.decryption_share_sent(node, msg.epoch, *proposer)
                }
                let (mut ctx, adv) = self.ctx_parts();
                let injected = adv.observe(&mut ctx, node, &msg);
                for (e, j) in std::mem::take(&mut self.learned) {
                    self.checker.adversary_decrypted(e, j);
                }
                // The adversary saw `msg` (depth `depth[node] + 1`) before it injected: what it
                // sends is at least one delay deeper.
                for (b, _, _) in &injected {
                    self.depth[*b] = self.depth[*b].max(self.depth[node] + 1);
                }
                for (b, t, m) in injected {
                    for to in self.params.nodes().filter(|to| t.includes(b, *to)) {
                        self.schedule(b, to, m.clone());
                    }
                }
            }
            for to in self.params.nodes().filter(|to| target.includes(node, *to)) {
                if self.byzantine[node] {
                    let (mut ctx, adv) = self.ctx_parts();
                    let out = adv.tamper(&mut ctx, node, to, msg.clone());
                    for m in out {
                        self.schedule(node, to, m);
                    }
                } else {
                    self.schedule(node, to, msg.clone());
                }
            }
        }
        // Transactions a Byzantine proposer made up while tampering are allowed in the log.
        for tx in std::mem::take(&mut self.invented) {
            self.checker.allow_tx(&tx);
        }
        for input in reads {
            match self.nodes[node].handle_input(input, &mut self.node_rngs[node]) {
                Ok(step) => self.process_step(node, step),
                Err(e) => self
                    .checker
                    .violations
                    .push(Violation { property: "no-local-error", detail: format!("node {node} refused a read: {e}") }),
            }
        }
    }

    /// BEAT3/4: every fragment a correct node stored for this batch verifies against the
    /// agreed cross-checksum.
    fn check_fragments(&mut self, node: NodeId, batch: &beat::Batch) {
        let beat = &self.nodes[node];
        let Some(code) = beat.dispersal_code() else { return };
        for v in &batch.stored {
            let id = ValueId { epoch: batch.epoch, proposer: v.proposer };
            let (Some(fragment), Some(cc)) = (beat.fragment_store().get(id), beat.committed_checksum(id)) else {
                continue;
            };
            let context = fpc_context(&self.keys[0].public.session, id.epoch, id.proposer);
            let table = fragment.rows.as_deref().and_then(|t| cc.row_table(code.linear(), t).ok());
            let ok = cc
                .verify_fragment(code.linear(), code.commitment(), &context, node, &fragment.fragment, table.as_ref())
                .is_ok();
            self.checker.fragment_stored(node, id.epoch, id.proposer, ok);
        }
    }

    /// BEAT3/4: after committing, a correct node reads back one value of the epoch in full
    /// and, for BEAT4, a byte range of it (chosen by the seed).
    fn plan_reads(&mut self, batch: &beat::Batch) -> Vec<Input> {
        if batch.stored.is_empty() {
            return Vec::new();
        }
        let v = &batch.stored[self.net_rng.gen_range(0..batch.stored.len())];
        let id = ValueId { epoch: batch.epoch, proposer: v.proposer };
        let mut reads = vec![Input::Read { id, range: None }];
        if self.case.variant == Variant::Beat4 {
            // 24 bytes inside one data fragment (so the read is served by its holder, or by its
            // pyramid group): the proposer's own fragment when it holds one, else a random one.
            // Offsets are into the value; the fragments hold an 8-byte length, then the value.
            let k = self.nodes[0].dispersal_code().map_or(1, |c| c.linear().k()) as u64;
            let target = if (v.proposer as u64) < k { v.proposer as u64 } else { self.net_rng.gen_range(0..k) };
            let size = v.fragment_size;
            let x = self.net_rng.gen_range(0..size.saturating_sub(24).max(1));
            let start = (target * size + x).saturating_sub(8);
            reads.push(Input::Read { id, range: Some(start..start + 24) });
        }
        reads
    }

    fn submit_transactions(&mut self) {
        // Each client transaction goes to one random node, and to a second one a quarter of
        // the time (exercising de-duplication).
        let total = (self.case.epochs + self.case.extra_epochs + 2) * self.case.batch_size as u64;
        for _ in 0..total {
            self.tx_counter += 1;
            let plain = format!("tx-{}-{}", self.case.seed, self.tx_counter).into_bytes();
            self.checker.allow_tx(&plain);
            // BEAT2: the client encrypts; one client per 8 transactions.
            let tx = match &mut self.clients {
                Some(clients) => {
                    let c = (self.tx_counter % clients.len() as u64) as usize;
                    clients[c].encrypt(&plain, &mut self.net_rng)
                }
                None => plain,
            };
            self.submitted.push(tx.clone());
            let first = self.net_rng.gen_range(0..self.case.n);
            let mut targets = vec![first];
            if self.net_rng.gen_ratio(1, 4) {
                targets.push((first + 1) % self.case.n);
            }
            for node in targets {
                let step = self.nodes[node].handle_input(Input::Submit(tx.clone()), &mut self.node_rngs[node]);
                match step {
                    Ok(step) => self.process_step(node, step),
                    // A misconfigured member refuses the committee's client transactions.
                    Err(_) if !self.checker.is_correct(node) => {}
                    Err(e) => panic!("submit refused in simulation: {e}"),
                }
            }
        }
    }

    /// The driver's read timer: every live node with reads waiting asks the holders it has not
    /// asked yet. Returns whether anything was sent.
    fn retry_reads(&mut self) -> bool {
        let mut any = false;
        for i in 0..self.case.n {
            if self.alive(i) && self.nodes[i].pending_reads() > 0 {
                let step = self.nodes[i].handle_input(Input::RetryReads, &mut self.node_rngs[i]).expect("retry");
                any |= !step.messages.is_empty();
                self.process_step(i, step);
            }
        }
        any
    }

    fn alive(&self, node: NodeId) -> bool {
        !self.crashed[node]
    }

    fn update_crashes(&mut self) {
        for i in 0..self.case.n {
            if !self.crashed[i] && self.adversary.crash_time(i).is_some_and(|t| t <= self.now) {
                self.crashed[i] = true;
            }
        }
    }

    fn done(&mut self) -> bool {
        let quiet = self.adversary.quiet_after();
        let mut all = true;
        for i in 0..self.case.n {
            if !self.checker.is_correct(i) {
                continue;
            }
            if self.nodes[i].pending_reads() > 0 && self.alive(i) {
                all = false;
            }
            let c = self.checker.committed_by(i);
            if self.now >= quiet && self.committed_at_quiet[i].is_none() {
                self.committed_at_quiet[i] = Some(c);
            }
            let base = self.committed_at_quiet[i].unwrap_or(usize::MAX / 2);
            if (c as u64) < self.case.epochs || (c as u64) < base as u64 + self.case.extra_epochs {
                all = false;
            }
        }
        all
    }

    /// Run to completion (or a violation, or the step budget).
    pub fn run(mut self) -> Report {
        self.submit_transactions();
        let mut liveness_failure = false;
        loop {
            if !self.checker.violations.is_empty() || self.done() {
                break;
            }
            if self.deliveries >= self.case.max_deliveries {
                liveness_failure = true;
                break;
            }
            let Some(Reverse((time, _, slot))) = self.queue.pop() else {
                // Nothing in flight: fire the read timers of nodes with reads waiting (a silent
                // holder never answers), and nudge every live node to propose (an idle
                // committee with empty buffers would otherwise wait for a client).
                let mut any = self.retry_reads();
                for i in 0..self.case.n {
                    if self.alive(i) {
                        let step = self.nodes[i].handle_input(Input::Propose, &mut self.node_rngs[i]).expect("propose");
                        any |= !step.messages.is_empty();
                        self.process_step(i, step);
                    }
                }
                if !any {
                    liveness_failure = true;
                    break;
                }
                continue;
            };
            self.now = self.now.max(time);
            if self.now >= self.next_retry {
                self.next_retry = self.now + READ_TIMEOUT;
                self.retry_reads();
            }
            self.update_crashes();
            let Some(env) = self.slots[slot].take() else { continue };
            self.free.push(slot);
            if !self.alive(env.to) || self.sessions[env.from] != self.sessions[env.to] {
                // Lost to a crashed node, or refused by the router as another session's.
                self.injected += 1;
                continue;
            }
            self.deliveries += 1;
            self.trace.update(time.to_le_bytes());
            self.trace.update([env.from as u8, env.to as u8]);
            self.trace.update(env.msg.epoch.to_le_bytes());
            self.depth[env.to] = self.depth[env.to].max(env.depth);
            let step = self.nodes[env.to].handle_message(env.from, env.msg, &mut self.node_rngs[env.to]);
            match step {
                Ok(step) => self.process_step(env.to, step),
                Err(e) => {
                    self.checker.violations.push(Violation {
                        property: "no-local-error",
                        detail: format!("node {} returned an error: {e}", env.to),
                    });
                }
            }
        }
        let log = self.checker.log();
        Report {
            epochs: log.len() as u64,
            transactions: log.iter().map(|b| b.transactions.len() as u64).sum(),
            violations: self.checker.violations.clone(),
            liveness_failure,
            deliveries: self.deliveries,
            faults_injected: self.injected,
            faults_detected: self.faults_detected,
            max_aba_round: self.checker.max_aba_round,
            threshold_coins: self.checker.threshold_coins,
            reads_checked: self.checker.reads_checked,
            repairs_checked: self.checker.repairs_checked,
            max_lag: self.checker.max_lag,
            ranges_checked: self.checker.ranges_checked,
            end_time: self.now,
            trace_hash: self.trace.finalize().into(),
            message_delays: self
                .commits
                .iter()
                .filter_map(|(e, d)| self.first_proposal.get(e).map(|first| d - first.min(d)))
                .collect(),
            case: self.case,
        }
    }
}

/// Aggregate of a campaign.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Runs (canaries not included).
    pub seeds: u64,
    /// Runs with real cryptography (all of them: the simulator has no mock crypto).
    pub real_crypto: u64,
    /// Epochs committed (canonical logs, summed).
    pub epochs: u64,
    /// Messages the adversaries tampered with, dropped, delayed or injected.
    pub faults_injected: u64,
    /// Runs with a safety violation.
    pub safety_violations: u64,
    /// Runs whose liveness failed.
    pub liveness_failures: u64,
    /// Re-runs whose trace differed from the first run.
    pub determinism_mismatches: u64,
    /// Canary runs.
    pub canaries: u64,
    /// Canary runs the checker caught.
    pub canaries_caught: u64,
    /// Runs of more than the de-duplication window's epochs.
    pub long_runs: u64,
    /// Committee sizes run.
    pub sizes: std::collections::BTreeSet<usize>,
    /// Adversaries run (canaries not included).
    pub adversaries: std::collections::BTreeSet<AdversaryKind>,
    /// Runs per variant (index = position in [`Variant::ALL`]).
    pub per_variant: [u64; Variant::ALL.len()],
    /// Most epochs a correct node lagged behind another, over all runs.
    pub max_lag: u64,
    /// BEAT3/4: reads, range reads and fragment repairs the checker verified.
    pub reads_checked: u64,
    /// See `reads_checked`.
    pub ranges_checked: u64,
    /// See `reads_checked`.
    pub repairs_checked: u64,
    /// Commands replaying every failed run.
    pub failures: Vec<String>,
    /// Latency in message delays ([`Report::message_delays`]) per variant and adversary.
    pub delays: std::collections::BTreeMap<(Variant, AdversaryKind), DelayStats>,
}

/// Latency in message delays over many runs: a histogram.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DelayStats {
    /// Runs.
    pub runs: u64,
    /// Samples (committed epochs at correct nodes) per delay count.
    pub histogram: std::collections::BTreeMap<u64, u64>,
}

impl DelayStats {
    /// Samples.
    pub fn samples(&self) -> u64 {
        self.histogram.values().sum()
    }

    /// The `q`-quantile (0 ≤ q ≤ 1), or 0 without samples.
    pub fn quantile(&self, q: f64) -> u64 {
        let rank = ((self.samples().saturating_sub(1)) as f64 * q).round() as u64;
        let mut seen = 0;
        for (d, c) in &self.histogram {
            seen += c;
            if seen > rank {
                return *d;
            }
        }
        0
    }

    /// The mean.
    pub fn mean(&self) -> f64 {
        let sum: u64 = self.histogram.iter().map(|(d, c)| d * c).sum();
        sum as f64 / self.samples().max(1) as f64
    }
}

impl Summary {
    /// One `BEAT-SIM-DELAYS …` line per variant and adversary: the latency from an epoch's
    /// first correct proposal to its commit at each correct node, in message delays
    /// ([`Report::message_delays`]).
    pub fn delay_lines(&self) -> Vec<String> {
        self.delays
            .iter()
            .map(|((v, a), d)| {
                format!(
                    "BEAT-SIM-DELAYS variant={} adversary={} runs={} samples={} p50={} mean={:.1} p99={} max={}",
                    v.name(),
                    a.name(),
                    d.runs,
                    d.samples(),
                    d.quantile(0.5),
                    d.mean(),
                    d.quantile(0.99),
                    d.histogram.keys().next_back().copied().unwrap_or(0)
                )
            })
            .collect()
    }

    /// The `BEAT-SIM …` summary line.
    pub fn line(&self) -> String {
        let sizes: Vec<String> = self.sizes.iter().map(usize::to_string).collect();
        format!(
            "BEAT-SIM seeds={} real_crypto={} epochs={} faults_injected={} safety_violations={} liveness_failures={} determinism_mismatches={} canary_caught={}/{} long_runs={} sizes={} adversaries={}",
            self.seeds,
            self.real_crypto,
            self.epochs,
            self.faults_injected,
            self.safety_violations,
            self.liveness_failures,
            self.determinism_mismatches,
            self.canaries_caught,
            self.canaries,
            self.long_runs,
            sizes.join(","),
            self.adversaries.len(),
        )
    }

    /// Runs per variant and the largest lag, for the log (`variants BEAT0:…`).
    pub fn detail(&self) -> String {
        let variants: Vec<String> =
            Variant::ALL.iter().zip(self.per_variant).map(|(v, c)| format!("{}:{c}", v.name())).collect();
        format!(
            "variants {} max_lag={} reads_checked={} ranges_checked={} repairs_checked={}",
            variants.join(","),
            self.max_lag,
            self.reads_checked,
            self.ranges_checked,
            self.repairs_checked
        )
    }

    /// Whether the campaign passed.
    pub fn passed(&self) -> bool {
        self.safety_violations == 0
            && self.liveness_failures == 0
            && self.determinism_mismatches == 0
            && self.canaries_caught == self.canaries
    }

    /// Add one ordinary run.
    pub fn add(&mut self, r: &Report) {
        self.seeds += 1;
        if let Some(i) = Variant::ALL.iter().position(|v| *v == r.case.variant) {
            self.per_variant[i] += 1;
        }
        self.real_crypto += 1;
        self.epochs += r.epochs;
        self.faults_injected += r.faults_injected;
        self.long_runs += u64::from(r.case.is_long());
        self.sizes.insert(r.case.n);
        self.adversaries.insert(r.case.adversary);
        self.max_lag = self.max_lag.max(r.max_lag);
        self.reads_checked += r.reads_checked;
        self.ranges_checked += r.ranges_checked;
        self.repairs_checked += r.repairs_checked;
        let delays = self.delays.entry((r.case.variant, r.case.adversary)).or_default();
        delays.runs += 1;
        for d in &r.message_delays {
            *delays.histogram.entry(*d).or_default() += 1;
        }
        if !r.violations.is_empty() {
            self.safety_violations += 1;
        }
        if r.liveness_failure {
            self.liveness_failures += 1;
        }
        if !r.ok() {
            self.failures.push(r.case.replay_command());
        }
    }

    /// Add one canary run.
    pub fn add_canary(&mut self, r: &Report) {
        self.canaries += 1;
        if !r.violations.is_empty() {
            self.canaries_caught += 1;
        } else {
            self.failures.push(format!("canary not caught: {}", r.case.replay_command()));
        }
    }
}

/// Whether `f + 1` colluding members can split `variant`'s broadcast at `n` (the `canary`):
/// the correct nodes are split in two halves, and each half plus the colluders must reach the
/// broadcast's echo threshold (Bracha: `⌈(n + f + 1) / 2⌉`; AVID and AVID-FP: `n − f`). Where
/// they cannot, two echo quorums overlap in more than `f + 1` members, so one of them is
/// correct and the split is impossible: no canary of this kind exists there.
pub fn split_canary_applies(n: usize, variant: Variant) -> bool {
    let Ok(p) = Params::new(n) else { return false };
    let correct = n - (p.f + 1);
    let threshold = if variant == Variant::Beat0 { p.echo_quorum() } else { p.quorum() };
    correct / 2 + p.f + 1 >= threshold
}

/// The campaign's canaries: for every size and variant, the broadcast split where it applies
/// ([`split_canary_applies`]), and for BEAT0–2 the confidentiality canary (`f + 1` members hold
/// enough key shares to decrypt early, at every size).
pub fn canary_cases(rounds: u64) -> Vec<Case> {
    let mut out = Vec::new();
    for round in 0..rounds {
        for n in SIZES {
            for variant in Variant::ALL {
                let seed = 1_000_000 + round * 1000 + out.len() as u64;
                if split_canary_applies(n, variant) {
                    out.push(Case::new(seed, n, variant, AdversaryKind::Canary));
                }
                if variant.encrypted() {
                    out.push(Case::new(seed + 500, n, variant, AdversaryKind::CanaryDecrypt));
                }
            }
        }
    }
    out
}

/// Which sizes have no canary of each kind, and why (printed with the campaign summary).
pub fn canary_notes() -> String {
    let mut no_split = Vec::new();
    for n in SIZES {
        let missing: Vec<&str> =
            Variant::ALL.iter().filter(|v| !split_canary_applies(n, **v)).map(|v| v.name()).collect();
        if !missing.is_empty() {
            no_split.push(format!("n={n} ({})", missing.join(",")));
        }
    }
    format!(
        "canaries: every size has one (f + 1 key shares decrypt early: confidentiality, BEAT0-2, all n); \
         no broadcast-split canary at {} because two echo quorums there overlap in more than f + 1 members, \
         so f + 1 colluders cannot split a broadcast",
        no_split.join(", ")
    )
}

/// Run the campaign over `seeds` (cases from [`Case::from_seed`]); re-run every
/// `determinism_every`-th case and compare traces; and run `canary_rounds` rounds of
/// [`canary_cases`]. `progress` is called after each run.
pub fn campaign(
    seeds: std::ops::Range<u64>,
    determinism_every: u64,
    canary_rounds: u64,
    progress: impl FnMut(&Report),
) -> Summary {
    campaign_parallel(seeds, determinism_every, canary_rounds, 1, progress)
}

/// One campaign run: the report, and whether its re-run (if due) gave another trace.
fn run_one(case: Case, rerun: bool) -> (Report, bool) {
    let report = Simulation::new(case.clone()).run();
    let mismatch = rerun && Simulation::new(case).run().trace_hash != report.trace_hash;
    (report, mismatch)
}

/// [`campaign`] on `jobs` threads. Every run is still one deterministic simulation; the
/// reports are folded into the summary in seed order, so the summary does not depend on `jobs`
/// (`progress` sees them in that order too, as they complete in order).
pub fn campaign_parallel(
    seeds: std::ops::Range<u64>,
    determinism_every: u64,
    canary_rounds: u64,
    jobs: usize,
    mut progress: impl FnMut(&Report),
) -> Summary {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{mpsc, Arc};
    let mut work: Vec<(Case, bool, bool)> = seeds
        .map(|seed| (Case::from_seed(seed), determinism_every > 0 && seed % determinism_every == 0, false))
        .collect();
    work.extend(canary_cases(canary_rounds).into_iter().map(|c| (c, false, true)));
    let work = Arc::new(work);
    let next = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel::<(usize, Report, bool)>();
    let handles: Vec<_> = (0..jobs.max(1))
        .map(|_| {
            let (work, next, tx) = (work.clone(), next.clone(), tx.clone());
            std::thread::spawn(move || loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some((case, rerun, _)) = work.get(i).cloned() else { return };
                let (report, mismatch) = run_one(case, rerun);
                if tx.send((i, report, mismatch)).is_err() {
                    return;
                }
            })
        })
        .collect();
    drop(tx);
    let mut summary = Summary::default();
    let mut pending = std::collections::BTreeMap::new();
    let mut expect = 0;
    for (i, report, mismatch) in rx {
        pending.insert(i, (report, mismatch));
        while let Some((report, mismatch)) = pending.remove(&expect) {
            if work[expect].2 {
                summary.add_canary(&report);
            } else {
                if mismatch {
                    summary.determinism_mismatches += 1;
                    summary.failures.push(format!("nondeterministic: {}", report.case.replay_command()));
                }
                summary.add(&report);
            }
            progress(&report);
            expect += 1;
        }
    }
    for h in handles {
        // A panicking simulation is a bug in the simulator; surface it.
        if let Err(e) = h.join() {
            std::panic::resume_unwind(e);
        }
    }
    summary
}
