//! Asynchronous binary agreement (ABA) with a threshold common coin.
//!
//! **Variant.** Mostéfaoui, Moumen, Raynal, *Signature-free asynchronous Byzantine consensus
//! with t < n/3 and O(n²) messages* (PODC 2014; "MMR") with the **`Conf` phase** of
//! E. MacBrough, *Cobalt: BFT governance in open networks* (2018, §4.4), as adopted by
//! HoneyBadgerBFT's maintainers after their issue 59. Plain MMR releases coin shares as soon as
//! a node has `n − f` `Aux` messages; an adversary that controls scheduling and `f` nodes then
//! learns the coin while it can still choose which `Aux` values the remaining honest nodes see,
//! and keeps their estimates split forever (the liveness attack of HoneyBadgerBFT issue 59,
//! first described by Tyler Crain). The `Conf` phase fixes every honest node's candidate set
//! *before* any honest coin share exists, so the coin is independent of the values it decides
//! between. The simulator's `CoinSteering` adversary runs that attack against this module.
//!
//! Round `r` of one node (`est` is the node's estimate):
//!
//! ```text
//! broadcast BVal_r(est)
//! upon BVal_r(b) from f+1 nodes:        broadcast BVal_r(b)                 (if not sent)
//! upon BVal_r(b) from 2f+1 nodes:       bin_values_r ∪= {b}
//! upon bin_values_r ≠ ∅ (first time):   broadcast Aux_r(b) for the first b added
//! wait for n−f Aux_r(v) with v ∈ bin_values_r
//! broadcast Conf_r(bin_values_r)
//! wait for n−f Conf_r(S) with S ⊆ bin_values_r;   vals := ∪ S
//! s := Coin_r                        (r = 0: fixed 1; r ≥ 1: threshold coin: broadcast our
//!                                     share, combine f+1 shares)
//! if vals = {b}: est := b; if b = s: decide b
//! else:          est := s
//! ```
//!
//! **Termination** (no instance runs forever after deciding): a node that decides `b`
//! broadcasts `Term(b)` and stops. `Term(b)` from node `j` stands for `BVal(b)`, `Aux(b)` and
//! `Conf({b})` from `j` in the current and every later round, so the remaining honest nodes
//! still see `n − f` participants. A node that receives `Term(b)` from `f + 1` nodes decides
//! `b` (one of them is honest) and terminates.
//!
//! **Coin.** Round 0 uses the fixed coin 1 ([`FIXED_COIN_ROUNDS`]); rounds ≥ 1 use the
//! BLS12-381 threshold coin ([`crate::crypto::coin`]) on `session ‖ epoch ‖ instance ‖ round`.
//! MMR's agreement and validity do not depend on the coin at all (they follow from the quorum
//! thresholds: MMR14 §3, Lemmas 1–5), only termination does, and termination needs an
//! unpredictable coin in all but finitely many rounds, which rounds ≥ 1 give. The fixed first
//! coin means that an agreement where every correct node votes 1 — every ACS instance whose
//! broadcast arrived everywhere in time, the common case — decides in round 0 with no pairing
//! at all. (HoneyBadgerBFT's implementation also fixes round 1 to 0; this one does not, so an
//! instance deciding 0 always goes through the threshold coin, which the simulator's coin
//! adversaries then attack.)
//!
//! **Coin cost.** Shares are combined *unverified*: `f + 1` shares are interpolated and the
//! combined signature is checked (two pairings). Only if that fails is each share checked,
//! and the bad ones become [`FaultKind::InvalidCoinShare`] faults.
//!
//! Deviations from the papers:
//! * Messages for at most [`MAX_FUTURE_ROUNDS`] rounds ahead are buffered; later ones are a
//!   [`FaultKind::OutOfRange`] fault (an honest node is never that far ahead in practice:
//!   each round ends with probability ≥ 1/2 once the coin is random).
//! * A second `Aux`/`Conf`/coin share from a node in the same round with a different content
//!   is an [`FaultKind::AbaDuplicate`] fault; identical ones are ignored.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::step::{Event, FaultKind, Protocol, Step, Target};
use super::votes::{Recorded, Votes};
use crate::crypto::coin::{CoinName, CoinPublicKey, CoinSecretShare, CoinShare};
use crate::crypto::hash::Domain;
use crate::{NodeId, Params, SessionId};

/// Messages for rounds beyond `round + MAX_FUTURE_ROUNDS` are refused.
pub const MAX_FUTURE_ROUNDS: u32 = 64;

/// Rounds `0 .. FIXED_COIN_ROUNDS` use the fixed coin 1 instead of the threshold coin.
pub const FIXED_COIN_ROUNDS: u32 = 1;

/// Protocol tag of the ABA coin in domain separation.
pub const COIN_PROTOCOL: &str = "BEAT/aba-coin";

/// A subset of `{false, true}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BoolSet(u8);

impl BoolSet {
    /// `∅`.
    pub const NONE: BoolSet = BoolSet(0);
    /// `{false, true}`.
    pub const BOTH: BoolSet = BoolSet(3);

    /// `{b}`.
    pub fn single(b: bool) -> Self {
        BoolSet(1 << (b as u8))
    }
    /// Whether `b ∈ self`.
    pub fn contains(self, b: bool) -> bool {
        self.0 & (1 << (b as u8)) != 0
    }
    /// Add `b`.
    pub fn insert(&mut self, b: bool) {
        self.0 |= 1 << (b as u8);
    }
    /// `self ⊆ other`.
    pub fn is_subset(self, other: BoolSet) -> bool {
        self.0 & !other.0 == 0
    }
    /// `self ∪ other`.
    pub fn union(self, other: BoolSet) -> BoolSet {
        BoolSet(self.0 | other.0)
    }
    /// The only element, if `self` has exactly one.
    pub fn definite(self) -> Option<bool> {
        match self.0 {
            1 => Some(false),
            2 => Some(true),
            _ => None,
        }
    }
    /// Whether `∅`.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl Serialize for BoolSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.0)
    }
}

impl<'de> Deserialize<'de> for BoolSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match u8::deserialize(d)? {
            v @ 1..=3 => Ok(BoolSet(v)),
            v => Err(serde::de::Error::custom(format_args!("invalid BoolSet {v}"))),
        }
    }
}

/// An ABA message: a round and its content (`Term` ignores the round).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbaMessage {
    /// The round.
    pub round: u32,
    /// What is said in it.
    pub content: AbaContent,
}

/// The content of an [`AbaMessage`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AbaContent {
    /// Binary value broadcast.
    BVal(bool),
    /// Auxiliary vote: a value from the sender's `bin_values`.
    Aux(bool),
    /// The sender's `bin_values` when its `Aux` wait ended.
    Conf(BoolSet),
    /// A threshold-coin signature share for the round.
    Coin(CoinShare),
    /// The sender decided and terminated.
    Term(bool),
}

/// The coin keys an ABA instance needs.
#[derive(Clone, Debug)]
pub struct CoinKeys {
    /// Everybody's public key shares.
    pub public: Arc<CoinPublicKey>,
    /// This node's secret share.
    pub secret: Arc<CoinSecretShare>,
}

/// Local misuse of an ABA instance.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AbaError {
    /// The instance already has an input.
    #[error("this agreement instance already has an input")]
    AlreadyHasInput,
}

/// What one round has received and sent.
#[derive(Debug)]
struct Round {
    bval: [Vec<bool>; 2],
    bval_sent: [bool; 2],
    bin_values: BoolSet,
    aux: Votes<bool>,
    aux_sent: bool,
    conf: Votes<BoolSet>,
    conf_sent: bool,
    /// `vals` once the Conf wait ended.
    vals: Option<BoolSet>,
    coin_shares: BTreeMap<NodeId, CoinShare>,
    /// Shares that passed an individual check.
    verified: Vec<bool>,
    coin: Option<bool>,
}

impl Round {
    fn new(n: usize) -> Self {
        Round {
            bval: [vec![false; n], vec![false; n]],
            bval_sent: [false; 2],
            bin_values: BoolSet::NONE,
            aux: Votes::new(n),
            aux_sent: false,
            conf: Votes::new(n),
            conf_sent: false,
            vals: None,
            coin_shares: BTreeMap::new(),
            verified: vec![false; n],
            coin: None,
        }
    }
}

/// One binary agreement instance, as seen by one node.
#[derive(Debug)]
pub struct Aba {
    params: Params,
    our_id: NodeId,
    session: SessionId,
    epoch: u64,
    instance: NodeId,
    keys: CoinKeys,
    round: u32,
    estimate: Option<bool>,
    decision: Option<bool>,
    /// `Term(b)` senders.
    term: [Vec<bool>; 2],
    /// The current round and buffered future rounds (at most `MAX_FUTURE_ROUNDS` ahead).
    rounds: BTreeMap<u32, Round>,
}

impl Aba {
    /// A new instance: agreement number `instance` of `epoch` in `session`.
    pub fn new(
        params: Params,
        our_id: NodeId,
        session: SessionId,
        epoch: u64,
        instance: NodeId,
        keys: CoinKeys,
    ) -> Self {
        let mut rounds = BTreeMap::new();
        rounds.insert(0, Round::new(params.n));
        Aba {
            params,
            our_id,
            session,
            epoch,
            instance,
            keys,
            round: 0,
            estimate: None,
            decision: None,
            term: [vec![false; params.n], vec![false; params.n]],
            rounds,
        }
    }

    /// The decided value, once decided.
    pub fn decision(&self) -> Option<bool> {
        self.decision
    }

    /// Whether this node has given its input.
    pub fn has_input(&self) -> bool {
        self.estimate.is_some() || self.decision.is_some()
    }

    /// The current round.
    pub fn round(&self) -> u32 {
        self.round
    }

    fn coin_name(&self, round: u32) -> (SessionId, u64, u64, u32) {
        (self.session, self.epoch, self.instance as u64, round)
    }

    fn round_mut(&mut self, r: u32) -> &mut Round {
        let n = self.params.n;
        self.rounds.entry(r).or_insert_with(|| Round::new(n))
    }

    fn cur(&mut self) -> &mut Round {
        let r = self.round;
        self.round_mut(r)
    }

    /// Broadcast a message and apply it to ourselves.
    fn broadcast(&mut self, content: AbaContent, step: &mut Step<AbaMessage, bool>) {
        let msg = AbaMessage { round: self.round, content: content.clone() };
        step.send(Target::All, msg);
        let our_id = self.our_id;
        let round = self.round;
        step.extend(self.apply(our_id, round, content));
    }

    /// Record a message (from the network, ourselves, or implied by a `Term`) and progress.
    fn apply(&mut self, from: NodeId, round: u32, content: AbaContent) -> Step<AbaMessage, bool> {
        let mut step = Step::new();
        let current = round == self.round;
        let rs = self.round_mut(round);
        match content {
            AbaContent::BVal(b) => rs.bval[b as usize][from] = true,
            AbaContent::Aux(b) => match rs.aux.record(from, b) {
                Recorded::New => {}
                Recorded::Repeat => return step,
                Recorded::Conflict => return Step::fault(from, FaultKind::AbaDuplicate),
            },
            AbaContent::Conf(set) => match rs.conf.record(from, set) {
                Recorded::New => {}
                Recorded::Repeat => return step,
                Recorded::Conflict => return Step::fault(from, FaultKind::AbaDuplicate),
            },
            AbaContent::Coin(share) => match rs.coin_shares.get(&from) {
                None => {
                    rs.coin_shares.insert(from, share);
                }
                Some(prev) if *prev == share => return step,
                Some(_) => return Step::fault(from, FaultKind::AbaDuplicate),
            },
            AbaContent::Term(_) => unreachable!("Term is handled by handle_term"),
        }
        if current {
            step.extend(self.progress());
        }
        step
    }

    /// Apply the `Term`s received so far as BVal/Aux/Conf of the current round.
    fn apply_terms_to_current_round(&mut self) {
        let round = self.round;
        let term = self.term.clone();
        let rs = self.round_mut(round);
        for b in [false, true] {
            for (j, _) in term[b as usize].iter().enumerate().filter(|(_, t)| **t) {
                rs.bval[b as usize][j] = true;
                // A node that already voted keeps its first vote (`record` ignores the rest).
                rs.aux.record(j, b);
                rs.conf.record(j, BoolSet::single(b));
            }
        }
    }

    fn handle_term(&mut self, from: NodeId, b: bool) -> Step<AbaMessage, bool> {
        if self.term[!b as usize][from] {
            return Step::fault(from, FaultKind::AbaDuplicate);
        }
        if self.term[b as usize][from] {
            return Step::new();
        }
        self.term[b as usize][from] = true;
        if self.term[b as usize].iter().filter(|t| **t).count() >= self.params.weak_quorum() {
            let mut step = Step::new();
            self.decide(b, &mut step);
            return step;
        }
        self.apply_terms_to_current_round();
        self.progress()
    }

    fn decide(&mut self, b: bool, step: &mut Step<AbaMessage, bool>) {
        if self.decision.is_some() {
            return;
        }
        self.decision = Some(b);
        step.send(Target::All, AbaMessage { round: self.round, content: AbaContent::Term(b) });
        step.events.push(Event::Decided { epoch: self.epoch, instance: self.instance, value: b, round: self.round });
        step.output.push(b);
        // Terminated: drop all round state.
        self.rounds.clear();
    }

    /// Run the current round as far as the received messages allow.
    fn progress(&mut self) -> Step<AbaMessage, bool> {
        let mut step = Step::new();
        loop {
            if self.decision.is_some() {
                return step;
            }
            let Some(est) = self.estimate else { return step };
            let f = self.params.f;
            let strong = self.params.strong();
            let quorum = self.params.quorum();

            // BVal: our estimate, and f+1 amplification.
            if !self.cur().bval_sent[est as usize] {
                self.cur().bval_sent[est as usize] = true;
                self.broadcast(AbaContent::BVal(est), &mut step);
                continue;
            }
            let mut again = false;
            for b in [false, true] {
                let count = self.cur().bval[b as usize].iter().filter(|x| **x).count();
                if count > f && !self.cur().bval_sent[b as usize] {
                    self.cur().bval_sent[b as usize] = true;
                    self.broadcast(AbaContent::BVal(b), &mut step);
                    again = true;
                    break;
                }
                if count >= strong && !self.cur().bin_values.contains(b) {
                    self.cur().bin_values.insert(b);
                    if !self.cur().aux_sent {
                        self.cur().aux_sent = true;
                        self.broadcast(AbaContent::Aux(b), &mut step);
                    }
                    again = true;
                    break;
                }
            }
            if again {
                continue;
            }

            // Aux wait → Conf.
            let rs = self.cur();
            if !rs.aux_sent {
                return step;
            }
            if !rs.conf_sent {
                let bin = rs.bin_values;
                let count = rs.aux.cast().filter(|v| bin.contains(**v)).count();
                if count < quorum {
                    return step;
                }
                rs.conf_sent = true;
                self.broadcast(AbaContent::Conf(bin), &mut step);
                continue;
            }

            // Conf wait → vals, coin.
            if rs.vals.is_none() {
                let bin = rs.bin_values;
                let mut vals = BoolSet::NONE;
                let mut count = 0;
                for set in rs.conf.cast() {
                    if set.is_subset(bin) {
                        count += 1;
                        vals = vals.union(*set);
                    }
                }
                if count < quorum {
                    return step;
                }
                rs.vals = Some(vals);
                if self.round >= FIXED_COIN_ROUNDS {
                    let (session, epoch, instance, round) = self.coin_name(self.round);
                    let domain = Domain { protocol: COIN_PROTOCOL, session: &session, epoch, instance };
                    let share = self.keys.secret.sign(&CoinName { domain, round });
                    let me = self.our_id;
                    self.cur().verified[me] = true;
                    self.broadcast(AbaContent::Coin(share), &mut step);
                    continue;
                }
            }
            let coin = if self.round < FIXED_COIN_ROUNDS { Some(true) } else { self.try_threshold_coin(&mut step) };
            let Some(coin) = coin else { return step };
            let vals = self.cur().vals.unwrap_or(BoolSet::NONE);
            step.events.push(Event::Coin {
                epoch: self.epoch,
                instance: self.instance,
                round: self.round,
                value: coin,
            });
            match vals.definite() {
                Some(b) => {
                    self.estimate = Some(b);
                    if b == coin {
                        self.decide(b, &mut step);
                        return step;
                    }
                }
                None => self.estimate = Some(coin),
            }
            self.next_round();
        }
    }

    fn next_round(&mut self) {
        let old = self.round;
        self.rounds.remove(&old);
        self.round += 1;
        self.round_mut(old + 1);
        self.apply_terms_to_current_round();
    }

    /// Combine f+1 coin shares; verify the combination; on failure check shares one by one.
    fn try_threshold_coin(&mut self, step: &mut Step<AbaMessage, bool>) -> Option<bool> {
        let needed = self.params.f + 1;
        let (session, epoch, instance, round) = self.coin_name(self.round);
        let domain = Domain { protocol: COIN_PROTOCOL, session: &session, epoch, instance };
        let name = CoinName { domain, round };
        let public = self.keys.public.clone();
        let rs = self.cur();
        if let Some(c) = rs.coin {
            return Some(c);
        }
        if rs.coin_shares.len() < needed {
            return None;
        }
        // Prefer verified shares (ours is), then the lowest ids.
        let mut chosen: Vec<(NodeId, CoinShare)> =
            rs.coin_shares.iter().filter(|(j, _)| rs.verified[**j]).map(|(j, s)| (*j, *s)).collect();
        chosen.extend(rs.coin_shares.iter().filter(|(j, _)| !rs.verified[**j]).map(|(j, s)| (*j, *s)));
        chosen.truncate(needed);
        if let Ok(sig) = public.combine(&chosen) {
            if public.verify(&name, &sig) {
                rs.coin = Some(sig.bit());
                return rs.coin;
            }
        }
        // Slow path: check every unverified share, drop the bad ones, and retry once enough
        // verified shares are in.
        let unverified: Vec<NodeId> = rs.coin_shares.keys().copied().filter(|j| !rs.verified[*j]).collect();
        for j in unverified {
            let share = rs.coin_shares[&j];
            if public.verify_share(j, &name, &share) {
                rs.verified[j] = true;
            } else {
                rs.coin_shares.remove(&j);
                step.faults.push(super::step::Fault { node: j, kind: FaultKind::InvalidCoinShare });
            }
        }
        if rs.coin_shares.len() < needed {
            return None;
        }
        let chosen: Vec<(NodeId, CoinShare)> = rs.coin_shares.iter().take(needed).map(|(j, s)| (*j, *s)).collect();
        let sig = public.combine(&chosen).ok()?;
        debug_assert!(public.verify(&name, &sig), "verified shares combine to a valid signature");
        rs.coin = Some(sig.bit());
        rs.coin
    }
}

impl Protocol for Aba {
    type Input = bool;
    type Message = AbaMessage;
    type Output = bool;
    type Error = AbaError;

    fn handle_input(
        &mut self,
        input: bool,
        _rng: &mut dyn rand_core::CryptoRngCore,
    ) -> Result<Step<AbaMessage, bool>, AbaError> {
        if self.has_input() {
            return Err(AbaError::AlreadyHasInput);
        }
        self.estimate = Some(input);
        let mut step = Step::new();
        step.events.push(Event::AbaInput { epoch: self.epoch, instance: self.instance, value: input });
        step.extend(self.progress());
        Ok(step)
    }

    fn handle_message(
        &mut self,
        from: NodeId,
        msg: AbaMessage,
        _rng: &mut dyn rand_core::CryptoRngCore,
    ) -> Result<Step<AbaMessage, bool>, AbaError> {
        if from >= self.params.n {
            return Ok(Step::fault(from, FaultKind::OutOfRange));
        }
        if self.decision.is_some() {
            return Ok(Step::new());
        }
        if let AbaContent::Term(b) = msg.content {
            return Ok(self.handle_term(from, b));
        }
        if msg.round < self.round {
            return Ok(Step::new());
        }
        if msg.round > self.round.saturating_add(MAX_FUTURE_ROUNDS) {
            return Ok(Step::fault(from, FaultKind::OutOfRange));
        }
        match msg.content {
            AbaContent::Coin(_) if msg.round < FIXED_COIN_ROUNDS => {
                return Ok(Step::fault(from, FaultKind::OutOfRange))
            }
            AbaContent::Conf(set) if set.is_empty() => return Ok(Step::fault(from, FaultKind::Malformed)),
            _ => {}
        }
        Ok(self.apply(from, msg.round, msg.content))
    }

    fn terminated(&self) -> bool {
        self.decision.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::coin;
    use crate::proto::Fault;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    fn instances(n: usize, seed: u64) -> (Vec<Aba>, ChaCha20Rng) {
        let params = Params::new(n).unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let (pk, sks) = coin::deal(n, params.f, &mut rng);
        let pk = Arc::new(pk);
        let session = SessionId::from_name("aba-test");
        let abas = sks
            .into_iter()
            .enumerate()
            .map(|(i, sk)| Aba::new(params, i, session, 0, 1, CoinKeys { public: pk.clone(), secret: Arc::new(sk) }))
            .collect();
        (abas, rng)
    }

    /// Random-order delivery; `silent` nodes neither send nor receive.
    fn run(n: usize, inputs: &[bool], silent: &[NodeId], seed: u64) -> (Vec<Option<bool>>, u32) {
        let (mut abas, mut rng) = instances(n, seed);
        let mut queue: Vec<(NodeId, NodeId, AbaMessage)> = Vec::new();
        let mut out = vec![None; n];
        let mut max_round = 0;
        let push = |from: NodeId, step: Step<AbaMessage, bool>, queue: &mut Vec<_>, out: &mut Vec<Option<bool>>| {
            assert!(step.faults.is_empty(), "{:?}", step.faults);
            for (t, m) in step.messages {
                for to in 0..n {
                    if t.includes(from, to) && !silent.contains(&to) {
                        queue.push((from, to, m.clone()));
                    }
                }
            }
            for b in step.output {
                assert!(out[from].is_none());
                out[from] = Some(b);
            }
        };
        for i in 0..n {
            if !silent.contains(&i) {
                let s = abas[i].handle_input(inputs[i], &mut rng).unwrap();
                push(i, s, &mut queue, &mut out);
            }
        }
        while !queue.is_empty() {
            let k = rng.gen_range(0..queue.len());
            let (from, to, m) = queue.swap_remove(k);
            max_round = max_round.max(m.round);
            let s = abas[to].handle_message(from, m, &mut rng).unwrap();
            push(to, s, &mut queue, &mut out);
        }
        (out, max_round)
    }

    #[test]
    fn agreement_validity_termination() {
        for seed in 0..40 {
            for n in [4, 5, 7] {
                let mut r = ChaCha20Rng::seed_from_u64(seed * 31 + n as u64);
                let inputs: Vec<bool> = (0..n).map(|_| r.gen()).collect();
                let silent = if seed % 2 == 0 { vec![n - 1] } else { vec![] };
                let (out, _) = run(n, &inputs, &silent, seed);
                let correct: Vec<bool> =
                    (0..n).filter(|i| !silent.contains(i)).map(|i| out[i].expect("terminates")).collect();
                assert!(correct.windows(2).all(|w| w[0] == w[1]), "disagreement {out:?}");
                let d = correct[0];
                assert!((0..n).any(|i| !silent.contains(&i) && inputs[i] == d), "validity: {d} was nobody's input");
            }
        }
    }

    #[test]
    fn unanimous_one_decides_in_round_zero_and_zero_through_the_coin() {
        let (out, max_round) = run(4, &[true; 4], &[], 3);
        assert!(out.iter().all(|o| *o == Some(true)));
        assert_eq!(max_round, 0, "unanimous 1 must decide with the fixed coin");
        for seed in 0..5 {
            let (out, max_round) = run(4, &[false; 4], &[], seed);
            assert!(out.iter().all(|o| *o == Some(false)), "validity");
            assert!(max_round >= 1, "0 can only be decided on a threshold coin of 0");
        }
    }

    #[test]
    fn term_from_f_plus_one_decides() {
        let (mut abas, mut rng) = instances(4, 9);
        let a = &mut abas[0];
        let s = a.handle_message(1, AbaMessage { round: 0, content: AbaContent::Term(false) }, &mut rng).unwrap();
        assert!(s.output.is_empty());
        let s = a.handle_message(2, AbaMessage { round: 0, content: AbaContent::Term(false) }, &mut rng).unwrap();
        assert_eq!(s.output, vec![false]);
        assert!(a.terminated());
        assert!(s.messages.iter().any(|(_, m)| m.content == AbaContent::Term(false)));
    }

    #[test]
    fn byzantine_messages_are_faults() {
        let (mut abas, mut rng) = instances(4, 2);
        let a = &mut abas[0];
        let aux = |b| AbaMessage { round: 0, content: AbaContent::Aux(b) };
        assert!(a.handle_message(1, aux(true), &mut rng).unwrap().faults.is_empty());
        assert_eq!(
            a.handle_message(1, aux(false), &mut rng).unwrap().faults,
            vec![Fault { node: 1, kind: FaultKind::AbaDuplicate }]
        );
        let far = AbaMessage { round: MAX_FUTURE_ROUNDS + 1, content: AbaContent::BVal(true) };
        assert_eq!(
            a.handle_message(2, far, &mut rng).unwrap().faults,
            vec![Fault { node: 2, kind: FaultKind::OutOfRange }]
        );
        let early_coin =
            AbaMessage { round: 0, content: AbaContent::Coin(CoinShare(bls12_381::G2Affine::generator())) };
        assert_eq!(
            a.handle_message(2, early_coin, &mut rng).unwrap().faults,
            vec![Fault { node: 2, kind: FaultKind::OutOfRange }]
        );
        let t = |b| AbaMessage { round: 0, content: AbaContent::Term(b) };
        assert!(a.handle_message(3, t(true), &mut rng).unwrap().faults.is_empty());
        assert_eq!(
            a.handle_message(3, t(false), &mut rng).unwrap().faults,
            vec![Fault { node: 3, kind: FaultKind::AbaDuplicate }]
        );
        assert_eq!(
            a.handle_message(7, t(false), &mut rng).unwrap().faults,
            vec![Fault { node: 7, kind: FaultKind::OutOfRange }]
        );
    }
}
