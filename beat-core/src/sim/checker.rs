//! The safety checker: every property is checked after every simulation step.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::beat::{Batch, ClientTxId, ReadOutcome, Variant};
use crate::crypto::hash::{tagged_hash, Digest};
use crate::proto::rbc::value_digest;
use crate::proto::Event;
use crate::NodeId;

/// A safety property that failed, with the evidence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Which property.
    pub property: &'static str,
    /// What was seen.
    pub detail: String,
}

/// A range read waiting for its value's full read: (reader, range, bytes).
type RangeRead = (NodeId, (u64, u64), Vec<u8>);

/// A read: (epoch, proposer, byte range or the whole value).
type ReadKey = (u64, NodeId, Option<(u64, u64)>);

/// Watches the correct nodes' events, outputs and messages.
#[derive(Debug, Default)]
pub struct Checker {
    /// BEAT3/4: digests of values correct nodes dispersed.
    dispersed: HashMap<(u64, NodeId), Digest>,
    /// BEAT3/4: the first successful read of each (epoch, proposer, range).
    reads: HashMap<ReadKey, Digest>,
    /// Reads checked.
    pub reads_checked: u64,
    /// Repairs whose kept fragment was verified.
    pub repairs_checked: u64,
    /// BEAT3/4: where correct proposers said their transactions lie, by (epoch, proposer, range).
    layouts: HashMap<(u64, NodeId, u64, u64), [u8; 32]>,
    /// Range reads compared with a full read of the same value.
    pub ranges_checked: u64,
    /// BEAT3/4: the first full read of each value.
    full_reads: HashMap<(u64, NodeId), Vec<u8>>,
    /// Range reads waiting for a full read of their value: (reader, range, bytes).
    range_reads: HashMap<(u64, NodeId), Vec<RangeRead>>,
    n: usize,
    f: usize,
    correct: Vec<bool>,
    variant: Variant,
    dedup_epochs: u64,
    /// BEAT0/1: the last epoch each transaction (by digest) committed in.
    last_commit: HashMap<Digest, u64>,
    /// BEAT2: every `(client, seq)` committed.
    client_ids: HashSet<ClientTxId>,
    delivered: HashMap<(u64, NodeId), Digest>,
    delivered_by: HashSet<(u64, NodeId, NodeId)>,
    honest_val: HashMap<(u64, NodeId), Digest>,
    decided: HashMap<(u64, NodeId), bool>,
    aba_inputs: HashMap<(u64, NodeId), [bool; 2]>,
    coins: HashMap<(u64, NodeId, u32), bool>,
    acs: HashMap<u64, u64>,
    acs_seen: HashSet<(NodeId, u64)>,
    /// The canonical log: the first correct node to commit epoch k sets entry k.
    log: Vec<Batch>,
    logs_len: Vec<usize>,
    allowed: HashSet<Digest>,
    /// Violations found so far.
    pub violations: Vec<Violation>,
    /// Highest ABA round any correct node decided in.
    pub max_aba_round: u32,
    /// Rounds that used the threshold coin, counted once per (epoch, instance, round).
    pub threshold_coins: u64,
    /// Most epochs a correct node's log was behind the longest correct log.
    pub max_lag: u64,
}

impl Checker {
    /// A checker for `n` nodes of which those with `correct[i]` are correct, running `variant`
    /// with the de-duplication window `dedup_epochs`.
    pub fn new(n: usize, f: usize, correct: Vec<bool>, variant: Variant, dedup_epochs: u64) -> Self {
        Checker { n, f, correct, variant, dedup_epochs, logs_len: vec![0; n], ..Checker::default() }
    }

    /// A node stopped being correct (crashed): its later behaviour is not checked.
    pub fn mark_faulty(&mut self, node: NodeId) {
        self.correct[node] = false;
    }

    /// Whether `node` is checked.
    pub fn is_correct(&self, node: NodeId) -> bool {
        self.correct[node]
    }

    /// A correct proposer's [`crate::beat::OwnValue`]: bytes `range` of value `id` are the
    /// transaction with this digest.
    pub fn expect_range(&mut self, id: crate::beat::ValueId, range: std::ops::Range<u64>, digest: [u8; 32]) {
        self.layouts.insert((id.epoch, id.proposer, range.start, range.end), digest);
    }

    /// BEAT3/4: a correct node finished a read of a committed value. Every read must succeed
    /// (at least `n − 2f` correct nodes hold verified fragments), all reads of the same
    /// value and range must return the same bytes, a full read of a correct node's value
    /// must return what it dispersed, and every range read must return exactly the bytes of
    /// the same range of a full read of the value (its zero padding included), never others.
    /// A range a correct proposer reported ([`Checker::expect_range`]) holds that transaction.
    pub fn read(&mut self, node: NodeId, outcome: &ReadOutcome) {
        if let (Some(r), Ok(bytes)) = (&outcome.range, &outcome.result) {
            let key = (outcome.id.epoch, outcome.id.proposer, r.start, r.end);
            if let Some(want) = self.layouts.get(&key) {
                if crate::beat::transaction_digest(bytes) != *want {
                    self.violate(
                        "stored-layout",
                        format!(
                            "node {node}: bytes {r:?} of {:?} are not the transaction its proposer put there",
                            outcome.id
                        ),
                    );
                }
            }
        }
        self.check_range(node, outcome);
        if !self.correct[node] {
            return;
        }
        self.reads_checked += 1;
        let (epoch, proposer) = (outcome.id.epoch, outcome.id.proposer);
        let bytes = match &outcome.result {
            Ok(b) => b,
            Err(e) => {
                return self
                    .violate("read-availability", format!("node {node} could not read ({epoch},{proposer}): {e}"))
            }
        };
        let d = tagged_hash("sim/read", &[bytes]);
        let key = (epoch, proposer, outcome.range.as_ref().map(|r| (r.start, r.end)));
        match self.reads.get(&key) {
            Some(prev) if *prev != d => self
                .violate("read-agreement", format!("node {node} read other bytes for {key:?} than an earlier reader")),
            Some(_) => {}
            None => {
                self.reads.insert(key, d);
            }
        }
        if outcome.range.is_none() {
            if let Some(v) = self.dispersed.get(&(epoch, proposer)) {
                if *v != value_digest(bytes) {
                    self.violate(
                        "read-validity",
                        format!("node {node} read ({epoch},{proposer}) but not what it dispersed"),
                    );
                }
            }
        }
    }

    /// The `read-range` rule: compare range reads with full reads of the same value, whichever
    /// finished first.
    fn check_range(&mut self, node: NodeId, outcome: &ReadOutcome) {
        if !self.correct[node] {
            return;
        }
        let Ok(bytes) = &outcome.result else { return };
        let key = (outcome.id.epoch, outcome.id.proposer);
        match &outcome.range {
            None => {
                self.full_reads.entry(key).or_insert_with(|| bytes.clone());
                let pending = self.range_reads.remove(&key).unwrap_or_default();
                for (node, range, got) in pending {
                    self.compare_range(node, key, range, &got);
                }
            }
            Some(r) => {
                if self.full_reads.contains_key(&key) {
                    self.compare_range(node, key, (r.start, r.end), bytes);
                } else {
                    self.range_reads.entry(key).or_default().push((node, (r.start, r.end), bytes.clone()));
                }
            }
        }
    }

    fn compare_range(&mut self, node: NodeId, key: (u64, NodeId), range: (u64, u64), got: &[u8]) {
        let Some(full) = self.full_reads.get(&key) else { return };
        let (a, b) = (range.0 as usize, range.1 as usize);
        // Past the value's end a range reads the fragments' zero padding.
        let expected: Vec<u8> = (a..b).map(|i| full.get(i).copied().unwrap_or(0)).collect();
        if expected != got {
            self.violate(
                "read-range",
                format!(
                    "node {node} read bytes {a}..{b} of ({},{}) that differ from the same range of a full read",
                    key.0, key.1
                ),
            );
        }
        self.ranges_checked += 1;
    }

    /// BEAT3/4: a correct node finished repairing its fragment of a committed value. With a
    /// correct disperser every index has a real fragment and at most `f` holders are faulty,
    /// so the repair must succeed; whatever it keeps must verify (`kept_ok`).
    pub fn repaired(&mut self, node: NodeId, outcome: &crate::beat::node::RepairOutcome, kept_ok: bool) {
        if !self.correct[node] {
            return;
        }
        let (epoch, proposer) = (outcome.id.epoch, outcome.id.proposer);
        match &outcome.result {
            Ok(_) => {
                self.repairs_checked += 1;
                if !kept_ok {
                    self.violate(
                        "repair-check",
                        format!("node {node} kept a repaired fragment of ({epoch},{proposer}) that does not verify"),
                    );
                }
            }
            Err(e) if self.correct[proposer] => self.violate(
                "repair-availability",
                format!(
                    "node {node} could not repair its fragment of ({epoch},{proposer}), a correct node's value: {e}"
                ),
            ),
            Err(_) => {}
        }
    }

    /// BEAT3/4: a correct node stored a fragment; `ok` says whether it verifies against the
    /// agreed cross-checksum.
    pub fn fragment_stored(&mut self, node: NodeId, epoch: u64, proposer: NodeId, ok: bool) {
        if self.correct[node] && !ok {
            self.violate("fragment-check", format!("node {node} stored a bad fragment of ({epoch},{proposer})"));
        }
    }

    /// A transaction a client submitted, or that a Byzantine proposer made up (allowed: a
    /// faulty proposer may propose anything).
    pub fn allow_tx(&mut self, tx: &[u8]) {
        self.allowed.insert(tagged_hash("sim/tx", &[tx]));
    }

    fn violate(&mut self, property: &'static str, detail: String) {
        self.violations.push(Violation { property, detail });
    }

    /// A correct proposer broadcast a value with this digest (RBC validity).
    pub fn honest_proposal(&mut self, epoch: u64, proposer: NodeId, digest: Digest) {
        if let Some(prev) = self.honest_val.insert((epoch, proposer), digest) {
            if prev != digest {
                self.violate("rbc-integrity", format!("correct node {proposer} proposed twice in epoch {epoch}"));
            }
        }
    }

    /// Check one event of a correct node.
    pub fn event(&mut self, node: NodeId, ev: &Event) {
        if !self.correct[node] {
            return;
        }
        match *ev {
            Event::Proposed { epoch, proposer, digest } => self.honest_proposal(epoch, proposer, digest),
            Event::Dispersed { epoch, proposer, value_digest } => {
                self.dispersed.insert((epoch, proposer), value_digest);
            }
            Event::Delivered { epoch, proposer, digest } => {
                if !self.delivered_by.insert((epoch, proposer, node)) {
                    self.violate("rbc-integrity", format!("node {node} delivered RBC({epoch},{proposer}) twice"));
                }
                match self.delivered.get(&(epoch, proposer)) {
                    Some(d) if *d != digest => self.violate(
                        "rbc-agreement",
                        format!(
                            "epoch {epoch} proposer {proposer}: node {node} delivered {} but another correct node {}",
                            hex::encode(&digest[..4]),
                            hex::encode(&d[..4])
                        ),
                    ),
                    Some(_) => {}
                    None => {
                        self.delivered.insert((epoch, proposer), digest);
                    }
                }
                if let Some(v) = self.honest_val.get(&(epoch, proposer)) {
                    if *v != digest {
                        self.violate(
                            "rbc-validity",
                            format!(
                                "epoch {epoch}: node {node} delivered a value correct proposer {proposer} never sent"
                            ),
                        );
                    }
                }
            }
            Event::AbaInput { epoch, instance, value } => {
                self.aba_inputs.entry((epoch, instance)).or_default()[value as usize] = true;
            }
            Event::Decided { epoch, instance, value, round } => {
                self.max_aba_round = self.max_aba_round.max(round);
                match self.decided.get(&(epoch, instance)) {
                    Some(v) if *v != value => self.violate(
                        "aba-agreement",
                        format!("ABA({epoch},{instance}): node {node} decided {value}, another correct node {v}"),
                    ),
                    Some(_) => {}
                    None => {
                        self.decided.insert((epoch, instance), value);
                    }
                }
                let inputs = self.aba_inputs.get(&(epoch, instance)).copied().unwrap_or_default();
                if !inputs[value as usize] {
                    self.violate(
                        "aba-validity",
                        format!("ABA({epoch},{instance}): {value} decided at node {node} but no correct node input it"),
                    );
                }
            }
            Event::Coin { epoch, instance, round, value } => match self.coins.get(&(epoch, instance, round)) {
                Some(v) if *v != value => {
                    self.violate("coin-agreement", format!("coin({epoch},{instance},{round}) differs at node {node}"))
                }
                Some(_) => {}
                None => {
                    self.coins.insert((epoch, instance, round), value);
                    if round >= crate::proto::aba::FIXED_COIN_ROUNDS {
                        self.threshold_coins += 1;
                    }
                }
            },
            Event::AcsOutput { epoch, accepted } => {
                self.acs_seen.insert((node, epoch));
                if (accepted.count_ones() as usize) < self.n - self.f {
                    self.violate(
                        "acs-size",
                        format!("epoch {epoch}: node {node} output only {} values", accepted.count_ones()),
                    );
                }
                match self.acs.get(&epoch) {
                    Some(a) if *a != accepted => self.violate(
                        "acs-agreement",
                        format!("epoch {epoch}: node {node} output set {accepted:#b}, another correct node {a:#b}"),
                    ),
                    Some(_) => {}
                    None => {
                        self.acs.insert(epoch, accepted);
                    }
                }
            }
        }
    }

    /// A correct node is about to send a decryption share for `proposer` in `epoch`.
    pub fn decryption_share_sent(&mut self, node: NodeId, epoch: u64, proposer: NodeId) {
        if !self.correct[node] {
            return;
        }
        if !self.acs_seen.contains(&(node, epoch)) {
            self.violate(
                "confidentiality",
                format!("node {node} sent a decryption share for epoch {epoch} before its ACS output"),
            );
            return;
        }
        if self.acs.get(&epoch).is_some_and(|mask| mask & (1 << proposer) == 0) {
            self.violate("confidentiality", format!("node {node} sent a decryption share for proposer {proposer}, not in the common set of epoch {epoch}"));
        }
    }

    /// The adversary decrypted proposer `proposer`'s proposal of `epoch`. Input confidentiality
    /// is broken if no correct node had fixed that epoch's common set yet (only a canary, with
    /// `f + 1` key shares, can do this).
    pub fn adversary_decrypted(&mut self, epoch: u64, proposer: NodeId) {
        if !self.acs.contains_key(&epoch) {
            self.violate(
                "confidentiality",
                format!(
                    "the adversary read proposer {proposer}'s proposal of epoch {epoch} before its order was fixed"
                ),
            );
        }
    }

    /// A correct node committed a batch.
    pub fn commit(&mut self, node: NodeId, batch: &Batch) {
        if !self.correct[node] {
            return;
        }
        let k = self.logs_len[node];
        self.logs_len[node] += 1;
        let correct_lens = self.logs_len.iter().zip(&self.correct).filter(|(_, c)| **c).map(|(l, _)| *l);
        let (lo, hi) = correct_lens.fold((usize::MAX, 0), |(lo, hi), l| (lo.min(l), hi.max(l)));
        self.max_lag = self.max_lag.max(hi.saturating_sub(lo) as u64);
        if batch.epoch != k as u64 {
            self.violate("total-order", format!("node {node} committed epoch {} as its block {k}", batch.epoch));
        }
        if let Some(canonical) = self.log.get(k) {
            if canonical != batch {
                self.violate("log-prefix", format!("node {node} block {k} differs from another correct node's"));
            }
            return;
        }
        for tx in &batch.transactions {
            if !self.allowed.contains(&tagged_hash("sim/tx", &[tx])) {
                self.violate(
                    "no-invented-tx",
                    format!("epoch {}: committed a transaction nobody submitted", batch.epoch),
                );
            }
        }
        self.check_duplicates(batch);
        if batch.proposers.len() < self.n - self.f {
            self.violate("acs-size", format!("epoch {} has {} proposers", batch.epoch, batch.proposers.len()));
        }
        self.log.push(batch.clone());
    }

    /// What the protocol promises about duplicates, exactly:
    /// * BEAT2: every committed transaction carries its `(client, seq)`, and a `(client, seq)`
    ///   commits at most once, ever (clients are never evicted from the replay table in a
    ///   simulated run: it holds 100,000);
    /// * BEAT0/1: the same bytes never commit twice in one block, nor in two blocks fewer than
    ///   `dedup_epochs + 1` epochs apart; later they may (the promise is the window);
    /// * BEAT3/4 commit stored values, not transactions: nothing to check here.
    fn check_duplicates(&mut self, batch: &Batch) {
        let e = batch.epoch;
        if self.variant.client_encrypted() {
            if batch.client_ids.len() != batch.transactions.len() {
                return self.violate("no-duplicate-tx", format!("epoch {e}: client ids do not match the transactions"));
            }
            for id in &batch.client_ids {
                if !self.client_ids.insert(*id) {
                    self.violate(
                        "no-duplicate-tx",
                        format!("epoch {e}: client {} sequence {} committed a second time", id.client, id.seq),
                    );
                }
            }
            return;
        }
        for tx in &batch.transactions {
            let d = tagged_hash("sim/tx", &[tx]);
            if let Some(prev) = self.last_commit.insert(d, e) {
                if prev == e || e - prev <= self.dedup_epochs {
                    self.violate(
                        "no-duplicate-tx",
                        format!(
                            "a transaction committed in epoch {prev} committed again in epoch {e} (window {})",
                            self.dedup_epochs
                        ),
                    );
                }
            }
        }
    }

    /// Blocks committed by correct node `node`.
    pub fn committed_by(&self, node: NodeId) -> usize {
        self.logs_len[node]
    }

    /// The canonical log.
    pub fn log(&self) -> &[Batch] {
        &self.log
    }

    /// Epochs per ACS size (for reporting).
    pub fn acs_sizes(&self) -> BTreeMap<u32, usize> {
        let mut m = BTreeMap::new();
        for a in self.acs.values() {
            *m.entry(a.count_ones()).or_default() += 1;
        }
        m
    }
}
