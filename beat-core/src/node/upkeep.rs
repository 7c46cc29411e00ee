//! BEAT3/4 fragment upkeep: repair of fragments a node does not hold, and a scrub that
//! re-verifies the ones it does.
//!
//! A node can commit a value without holding a verified fragment of it: it was down or slow
//! during the dispersal, it took the epoch by catch-up (`fast_forward`: it never saw the
//! dispersal), its disk was replaced, or the disperser was faulty. And a stored fragment can
//! stop verifying (a damaged disk, a store without integrity checks). Either way the value
//! loses one of its `n` copies' worth of redundancy. The upkeep state is the part of the node core
//! that notices and mends it, as plain state driven by the core's inputs and clock:
//!
//! - **missing**: the protocol reports every committed value it holds no fragment of
//!   ([`Beat::take_missing`]); each is queued for repair.
//! - **scrub**: a pass walks every kept value in order and checks the stored fragment against
//!   the committed cross-checksum ([`Beat::check_own`]); a missing or failing one is queued.
//!   The first pass starts when the node starts (so a restarted node finds what it lost), the
//!   next [`UpkeepConfig::scrub_interval_ms`] after a pass ends. It reads at most
//!   [`UpkeepConfig::scrub_bytes_per_second`].
//! - **repair**: at most [`UpkeepConfig::repairs_in_flight`] at once, fetching at most
//!   [`UpkeepConfig::repair_bytes_per_second`] (each repair fetches about `k` fragments): an
//!   [`Input::Repair`] to the protocol, which asks peers for their fragments, verifies each
//!   against the committed cross-checksum (a bad one is a fault against its sender), rebuilds
//!   this node's fragment, verifies it too, and keeps it. A repair that fails or takes longer
//!   than [`UpkeepConfig::repair_timeout_ms`] is retried after
//!   [`UpkeepConfig::repair_backoff_ms`]; one the cross-checksum itself rules out
//!   ([`crate::beat::ReadError::Unrepairable`]: a faulty disperser committed to no fragment at
//!   this index) is given up.
//!
//! None of it is logged: repairs do not move consensus. What is lost in a crash is found again
//! by the scrub pass at the next start.

use std::collections::BTreeMap;

use crate::beat::{Beat, Input, OwnFragment, ReadError, RepairOutcome, ValueId};

/// How a node repairs and scrubs its BEAT3/4 fragments (see the module doc).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpkeepConfig {
    /// Repairs running at once.
    pub repairs_in_flight: usize,
    /// Bytes of peers' fragments a node fetches for repairs per second.
    pub repair_bytes_per_second: u64,
    /// Milliseconds a repair may take before it is cancelled and retried later.
    pub repair_timeout_ms: u64,
    /// Milliseconds before a failed repair is tried again.
    pub repair_backoff_ms: u64,
    /// Milliseconds between asks to peers that have not answered a repair.
    pub repair_retry_ms: u64,
    /// Milliseconds a value must have been committed before its repair starts (peers that
    /// commit it a little later can answer at once instead of keeping the request).
    pub repair_delay_ms: u64,
    /// Milliseconds between the end of one scrub pass and the start of the next (0: only the
    /// pass at start).
    pub scrub_interval_ms: u64,
    /// Bytes of stored fragments a scrub reads and verifies per second.
    pub scrub_bytes_per_second: u64,
}

impl Default for UpkeepConfig {
    fn default() -> Self {
        UpkeepConfig {
            repairs_in_flight: 2,
            repair_bytes_per_second: 16 << 20,
            repair_timeout_ms: 60_000,
            repair_backoff_ms: 10_000,
            repair_retry_ms: 1_000,
            repair_delay_ms: 2_000,
            scrub_interval_ms: 24 * 3600 * 1000,
            scrub_bytes_per_second: 32 << 20,
        }
    }
}

/// What fragment upkeep has done and has left to do (see [`crate::node::NodeCore::upkeep`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UpkeepStatus {
    /// Committed values whose fragment this node does not hold (or holds damaged), known so
    /// far: queued, waiting to retry, or being repaired.
    pub missing: u64,
    /// Repairs running now.
    pub repairing: u64,
    /// Fragments rebuilt and kept.
    pub repaired: u64,
    /// Bytes of rebuilt fragments kept.
    pub repaired_bytes: u64,
    /// Bytes fetched from peers for repairs.
    pub fetched_bytes: u64,
    /// Repairs that failed or timed out (each is retried).
    pub repair_failures: u64,
    /// Values whose committed cross-checksum admits no fragment at this index (given up).
    pub unrepairable: u64,
    /// Stored fragments the scrub checked and found good.
    pub scrubbed: u64,
    /// Stored fragments the scrub found missing or failing verification.
    pub scrub_bad: u64,
    /// Of those, repaired since.
    pub scrub_repaired: u64,
    /// Scrub passes completed.
    pub scrub_passes: u64,
    /// Whether a scrub pass is under way.
    pub scrubbing: bool,
    /// Verified fragments held, as the last complete scrub pass counted them.
    pub held: u64,
    /// Their bytes (BEAT4's row tables included).
    pub held_bytes: u64,
}

/// Why a value is queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Cause {
    /// The protocol committed it without a fragment here.
    Missing,
    /// The scrub found it missing or failing.
    Scrub,
}

#[derive(Debug)]
struct InFlight {
    id: ValueId,
    cause: Cause,
    started_ms: u64,
}

/// Repair and scrub state (see the module doc).
#[derive(Debug)]
pub(crate) struct Upkeep {
    config: UpkeepConfig,
    /// Values to repair, with why and from when on.
    queue: BTreeMap<ValueId, (Cause, u64)>,
    /// Values whose committed cross-checksum admits no fragment here: never fetched again
    /// (until a restart; the set is bounded by the kept values).
    given_up: std::collections::BTreeSet<ValueId>,
    /// Failed repairs and when to try them again.
    waiting: BTreeMap<ValueId, (u64, Cause)>,
    /// By read number.
    in_flight: BTreeMap<u64, InFlight>,
    repair_tokens: Tokens,
    scrub_tokens: Tokens,
    /// The scrub pass under way: the last value checked (`None` at the start of a pass).
    scrub_at: Option<Option<ValueId>>,
    next_scrub_ms: u64,
    last_retry_ms: u64,
    /// Good fragments and bytes counted by the pass under way.
    pass_held: (u64, u64),
    status: UpkeepStatus,
}

/// A byte budget refilled at a rate, at most one second's worth; it may go into debt by one
/// item (so an item larger than a second's budget still goes, then the next waits).
#[derive(Debug, Default)]
struct Tokens {
    last_ms: Option<u64>,
    tokens: i64,
}

impl Tokens {
    fn refill(&mut self, now_ms: u64, rate: u64) {
        let rate = i64::try_from(rate).unwrap_or(i64::MAX).max(1);
        match self.last_ms {
            None => self.tokens = rate,
            Some(last) => {
                let elapsed = i64::try_from(now_ms.saturating_sub(last)).unwrap_or(i64::MAX);
                let add = elapsed.saturating_mul(rate) / 1000;
                self.tokens = self.tokens.saturating_add(add).min(rate);
            }
        }
        self.last_ms = Some(now_ms);
    }

    fn available(&self) -> bool {
        self.tokens > 0
    }

    fn spend(&mut self, bytes: u64) {
        self.tokens = self.tokens.saturating_sub(i64::try_from(bytes).unwrap_or(i64::MAX));
    }
}

/// What a scrub's look at one value costs of its byte budget at least (a store lookup).
const SCRUB_LOOKUP_BYTES: u64 = 4096;

impl Upkeep {
    pub(crate) fn new(config: UpkeepConfig) -> Self {
        Upkeep {
            config,
            queue: BTreeMap::new(),
            given_up: Default::default(),
            waiting: BTreeMap::new(),
            in_flight: BTreeMap::new(),
            repair_tokens: Tokens::default(),
            scrub_tokens: Tokens::default(),
            scrub_at: None,
            next_scrub_ms: 0,
            last_retry_ms: 0,
            pass_held: (0, 0),
            status: UpkeepStatus::default(),
        }
    }

    pub(crate) fn status(&self) -> UpkeepStatus {
        let mut s = self.status;
        s.missing = (self.queue.len() + self.waiting.len() + self.in_flight.len()) as u64;
        s.repairing = self.in_flight.len() as u64;
        s.scrubbing = self.scrub_at.is_some();
        s
    }

    /// Values the protocol committed without a fragment here (at `now_ms`).
    pub(crate) fn missing(&mut self, ids: Vec<ValueId>, now_ms: u64) {
        let from = now_ms.saturating_add(self.config.repair_delay_ms);
        for id in ids {
            if !self.known(id) {
                self.queue.insert(id, (Cause::Missing, from));
            }
        }
    }

    fn known(&self, id: ValueId) -> bool {
        self.queue.contains_key(&id)
            || self.waiting.contains_key(&id)
            || self.given_up.contains(&id)
            || self.in_flight.values().any(|f| f.id == id)
    }

    /// A repair finished.
    pub(crate) fn finished(&mut self, outcome: &RepairOutcome, now_ms: u64) {
        let Some(f) = self.in_flight.remove(&outcome.read) else { return };
        self.status.fetched_bytes += outcome.bytes_fetched;
        match &outcome.result {
            Ok(bytes) => {
                self.status.repaired += 1;
                self.status.repaired_bytes += bytes;
                if f.cause == Cause::Scrub {
                    self.status.scrub_repaired += 1;
                }
            }
            Err(ReadError::Unrepairable) => {
                self.status.unrepairable += 1;
                self.given_up.insert(f.id);
            }
            // Pruned meanwhile: nothing left to mend.
            Err(ReadError::Unknown(_)) => {}
            Err(_) => {
                self.status.repair_failures += 1;
                self.waiting.insert(f.id, (now_ms.saturating_add(self.config.repair_backoff_ms), f.cause));
            }
        }
    }

    /// Inputs for the protocol now: repairs to start, or a retry of the ones running.
    pub(crate) fn poll(&mut self, beat: &mut Beat, now_ms: u64) -> Vec<(Option<u64>, Input)> {
        let mut inputs = Vec::new();
        if beat.dispersal_code().is_none() {
            return inputs;
        }
        // Repairs that took too long: cancel, retry later.
        let late: Vec<u64> = self
            .in_flight
            .iter()
            .filter(|(_, f)| now_ms.saturating_sub(f.started_ms) >= self.config.repair_timeout_ms)
            .map(|(r, _)| *r)
            .collect();
        for read in late {
            if let Some(f) = self.in_flight.remove(&read) {
                beat.cancel_read(read);
                self.status.repair_failures += 1;
                self.waiting.insert(f.id, (now_ms.saturating_add(self.config.repair_backoff_ms), f.cause));
            }
        }
        let due: Vec<ValueId> = self.waiting.iter().filter(|(_, (t, _))| *t <= now_ms).map(|(id, _)| *id).collect();
        for id in due {
            if let Some((_, cause)) = self.waiting.remove(&id) {
                self.queue.entry(id).or_insert((cause, now_ms));
            }
        }
        self.scrub(beat, now_ms);
        // Start repairs within the budget.
        self.repair_tokens.refill(now_ms, self.config.repair_bytes_per_second);
        // A repair may end up asking every peer (the retries): budget for n − 1 fragments.
        let peers = beat.dispersal_code().map_or(1, |c| c.linear().n().saturating_sub(1)) as u64;
        // Each Repair input takes the next read number, in order (see `run_upkeep`).
        let mut read = beat.next_read();
        let due: Vec<ValueId> = self.queue.iter().filter(|(_, (_, from))| *from <= now_ms).map(|(id, _)| *id).collect();
        for id in due {
            if self.in_flight.len() >= self.config.repairs_in_flight || !self.repair_tokens.available() {
                break;
            }
            let Some((cause, _)) = self.queue.remove(&id) else { continue };
            match beat.check_own(id) {
                // Already mended (a repair before a restart, replayed as missing), or pruned.
                OwnFragment::Good(_) | OwnFragment::Unknown => continue,
                OwnFragment::Missing | OwnFragment::Bad => {}
            }
            let size = beat.committed_checksum(id).map_or(0, |cc| cc.fragment_size());
            self.repair_tokens.spend(size.saturating_mul(peers));
            self.in_flight.insert(read, InFlight { id, cause, started_ms: now_ms });
            inputs.push((Some(read), Input::Repair { id }));
            read += 1;
        }
        // Peers that have not answered are asked again, `repair_retry_ms` after a repair
        // started and between asks.
        let oldest = self.in_flight.values().map(|f| f.started_ms).min();
        if oldest.is_some_and(|t| now_ms.saturating_sub(t) >= self.config.repair_retry_ms)
            && now_ms.saturating_sub(self.last_retry_ms) >= self.config.repair_retry_ms
        {
            self.last_retry_ms = now_ms;
            inputs.push((None, Input::RetryReads));
        }
        inputs
    }

    /// Check stored fragments within the scrub budget.
    fn scrub(&mut self, beat: &Beat, now_ms: u64) {
        if self.scrub_at.is_none() {
            if now_ms < self.next_scrub_ms || (self.status.scrub_passes > 0 && self.config.scrub_interval_ms == 0) {
                return;
            }
            self.scrub_at = Some(None);
            self.pass_held = (0, 0);
        }
        self.scrub_tokens.refill(now_ms, self.config.scrub_bytes_per_second);
        while self.scrub_tokens.available() {
            let Some(at) = self.scrub_at else { return };
            let Some(id) = beat.kept_values(at, 1).first().copied() else {
                self.scrub_at = None;
                self.status.scrub_passes += 1;
                (self.status.held, self.status.held_bytes) = self.pass_held;
                self.next_scrub_ms = now_ms.saturating_add(self.config.scrub_interval_ms);
                return;
            };
            // Every look costs at least a store lookup's worth of the budget.
            match beat.check_own(id) {
                OwnFragment::Good(bytes) => {
                    self.scrub_tokens.spend(bytes.max(SCRUB_LOOKUP_BYTES));
                    self.status.scrubbed += 1;
                    self.pass_held.0 += 1;
                    self.pass_held.1 += bytes;
                }
                OwnFragment::Missing | OwnFragment::Bad => {
                    self.scrub_tokens.spend(SCRUB_LOOKUP_BYTES);
                    if !self.known(id) {
                        self.status.scrub_bad += 1;
                        self.queue.insert(id, (Cause::Scrub, now_ms));
                    }
                }
                OwnFragment::Unknown => self.scrub_tokens.spend(SCRUB_LOOKUP_BYTES),
            }
            self.scrub_at = Some(Some(id));
        }
    }
}
