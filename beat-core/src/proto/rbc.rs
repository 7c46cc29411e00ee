//! Bracha's reliable broadcast (RBC).
//!
//! Reference: G. Bracha, *Asynchronous Byzantine agreement protocols*, Information and
//! Computation 75(2), 1987 — the "reliable broadcast" primitive, with the thresholds of
//! Cachin, Kursawe, Petzold, Shoup (CRYPTO 2001) for `n ≥ 3f + 1`.
//!
//! One instance per proposer `p`. Messages: `Val(v)`, `Echo(v)`, `Ready(h)`.
//!
//! ```text
//! upon input v (only at p):            send Val(v) to all
//! upon Val(v) from p (first only):     send Echo(v) to all
//! upon Echo(v) from ⌈(n+f+1)/2⌉ nodes
//!   (counted by digest h = H(v)):      send Ready(h) to all        (if not sent yet)
//! upon Ready(h) from f+1 nodes:        send Ready(h) to all        (if not sent yet)
//! upon Ready(h) from 2f+1 nodes and a
//!   value v with H(v) = h known:       deliver v; terminate
//! ```
//!
//! Properties (for at most `f` Byzantine nodes): *agreement* — no two honest nodes deliver
//! different values; *totality* — if one honest node delivers, all do; *validity* — if `p`
//! is honest, all honest nodes deliver its value.
//!
//! Deviations from the paper:
//! * `Ready` carries the SHA-256 digest of the value, not the value: delivery needs 2f+1
//!   Readies for `h` *and* a value hashing to `h`, which the honest echoers behind the
//!   Ready quorum guarantee eventually arrives (≥ f+1 honest nodes echoed it to everyone).
//! * Each sender's first `Echo` and first `Ready` count; a different second one is an
//!   [`FaultKind::Equivocation`] fault, an identical one is ignored (network duplicate).
//! * Values larger than the configured maximum are refused with [`FaultKind::OversizedValue`].
//! * At most one value per echoing node is stored, so memory is bounded by `n` values.

use serde::{Deserialize, Serialize};

use super::step::{Event, FaultKind, Protocol, Step, Target};
use super::votes::{Recorded, Votes};
use crate::crypto::hash::{tagged_hash, Digest};
use crate::{NodeId, Params};

/// An RBC message.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RbcMessage {
    /// The proposer's value.
    Val(#[serde(with = "serde_bytes")] Vec<u8>),
    /// An echo of the value received from the proposer.
    Echo(#[serde(with = "serde_bytes")] Vec<u8>),
    /// Readiness to deliver the value with this digest.
    Ready(#[serde(with = "serde_bytes")] Digest),
}

impl std::fmt::Debug for RbcMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RbcMessage::Val(v) => write!(f, "Val({} bytes, {})", v.len(), short(&value_digest(v))),
            RbcMessage::Echo(v) => write!(f, "Echo({} bytes, {})", v.len(), short(&value_digest(v))),
            RbcMessage::Ready(h) => write!(f, "Ready({})", short(h)),
        }
    }
}

fn short(d: &Digest) -> String {
    hex::encode(&d[..4])
}

/// The digest RBC agrees on.
pub fn value_digest(value: &[u8]) -> Digest {
    tagged_hash("BEAT/rbc/value", &[value])
}

/// Local misuse of an RBC instance.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RbcError {
    /// Only the proposer has an input.
    #[error("node {0} is not the proposer of this broadcast")]
    NotProposer(NodeId),
    /// The proposer gave an input twice.
    #[error("this broadcast already has its input")]
    AlreadyProposed,
    /// The value exceeds the configured maximum size.
    #[error("value of {size} bytes exceeds the maximum of {max}")]
    TooLarge { size: usize, max: usize },
}

/// One reliable-broadcast instance, as seen by one node.
#[derive(Debug)]
pub struct Rbc {
    params: Params,
    our_id: NodeId,
    proposer: NodeId,
    epoch: u64,
    max_value_size: usize,
    proposed: bool,
    echo_sent: bool,
    ready_sent: bool,
    delivered: bool,
    /// First echo digest of each node.
    echoes: Votes<Digest>,
    /// First ready digest of each node.
    readies: Votes<Digest>,
    /// Values seen in echoes, by digest (at most one new value per echoing node).
    values: Vec<(Digest, Vec<u8>)>,
}

impl Rbc {
    /// A new instance for `proposer`'s value in `epoch`; values over `max_value_size` bytes are refused.
    pub fn new(params: Params, our_id: NodeId, proposer: NodeId, epoch: u64, max_value_size: usize) -> Self {
        Rbc {
            params,
            our_id,
            proposer,
            epoch,
            max_value_size,
            proposed: false,
            echo_sent: false,
            ready_sent: false,
            delivered: false,
            echoes: Votes::new(params.n),
            readies: Votes::new(params.n),
            values: Vec::new(),
        }
    }

    /// The instance's proposer.
    pub fn proposer(&self) -> NodeId {
        self.proposer
    }

    /// Whether this node has delivered.
    pub fn delivered(&self) -> bool {
        self.delivered
    }

    /// The digest of `value`, reusing the digest of an identical stored value (a memory
    /// comparison is far cheaper than hashing a large value again).
    fn digest_of(&self, value: &[u8]) -> Digest {
        match self.values.iter().find(|(_, v)| v.as_slice() == value) {
            Some((d, _)) => *d,
            None => value_digest(value),
        }
    }

    fn handle_val(&mut self, from: NodeId, value: Vec<u8>) -> Step<RbcMessage, Vec<u8>> {
        if from != self.proposer {
            return Step::fault(from, FaultKind::UnexpectedVal);
        }
        if value.len() > self.max_value_size {
            return Step::fault(from, FaultKind::OversizedValue);
        }
        if self.echo_sent {
            // A second Val: identical ones are network duplicates; a different one is proof
            // of an equivocating proposer only if it differs from what we echoed.
            let ours = self.echoes.get(self.our_id).copied();
            return match ours {
                Some(d) if d != self.digest_of(&value) => Step::fault(from, FaultKind::Equivocation),
                _ => Step::new(),
            };
        }
        self.echo_sent = true;
        let mut step = Step::new();
        step.send(Target::All, RbcMessage::Echo(value.clone()));
        step.extend(self.handle_echo(self.our_id, value));
        step
    }

    fn handle_echo(&mut self, from: NodeId, value: Vec<u8>) -> Step<RbcMessage, Vec<u8>> {
        if value.len() > self.max_value_size {
            return Step::fault(from, FaultKind::OversizedValue);
        }
        let digest = self.digest_of(&value);
        match self.echoes.record(from, digest) {
            Recorded::New => {}
            Recorded::Repeat => return Step::new(),
            Recorded::Conflict => return Step::fault(from, FaultKind::Equivocation),
        }
        if !self.values.iter().any(|(d, _)| *d == digest) {
            self.values.push((digest, value));
        }
        let mut step = Step::new();
        if !self.ready_sent && self.echoes.count(&digest) >= self.params.echo_quorum() {
            step.extend(self.send_ready(digest));
        }
        step.extend(self.try_deliver(digest));
        step
    }

    fn handle_ready(&mut self, from: NodeId, digest: Digest) -> Step<RbcMessage, Vec<u8>> {
        match self.readies.record(from, digest) {
            Recorded::New => {}
            Recorded::Repeat => return Step::new(),
            Recorded::Conflict => return Step::fault(from, FaultKind::Equivocation),
        }
        let mut step = Step::new();
        if !self.ready_sent && self.readies.count(&digest) >= self.params.weak_quorum() {
            step.extend(self.send_ready(digest));
        }
        step.extend(self.try_deliver(digest));
        step
    }

    fn send_ready(&mut self, digest: Digest) -> Step<RbcMessage, Vec<u8>> {
        self.ready_sent = true;
        let mut step = Step::new();
        step.send(Target::All, RbcMessage::Ready(digest));
        step.extend(self.handle_ready(self.our_id, digest));
        step
    }

    fn try_deliver(&mut self, digest: Digest) -> Step<RbcMessage, Vec<u8>> {
        let mut step = Step::new();
        if self.delivered || self.readies.count(&digest) < self.params.strong() {
            return step;
        }
        if let Some(pos) = self.values.iter().position(|(d, _)| *d == digest) {
            self.delivered = true;
            let (_, value) = self.values.swap_remove(pos);
            self.values.clear();
            step.events.push(Event::Delivered { epoch: self.epoch, proposer: self.proposer, digest });
            step.output.push(value);
        }
        step
    }
}

impl Protocol for Rbc {
    type Input = Vec<u8>;
    type Message = RbcMessage;
    type Output = Vec<u8>;
    type Error = RbcError;

    fn handle_input(
        &mut self,
        value: Vec<u8>,
        _rng: &mut dyn rand_core::CryptoRngCore,
    ) -> Result<Step<RbcMessage, Vec<u8>>, RbcError> {
        if self.our_id != self.proposer {
            return Err(RbcError::NotProposer(self.our_id));
        }
        if self.proposed {
            return Err(RbcError::AlreadyProposed);
        }
        if value.len() > self.max_value_size {
            return Err(RbcError::TooLarge { size: value.len(), max: self.max_value_size });
        }
        // Already delivered: the committee has this instance's value — a proposal of ours from
        // before a restart from a stale log. A new one would be a second, different proposal.
        if self.delivered {
            self.proposed = true;
            return Ok(Step::new());
        }
        self.proposed = true;
        let mut step = Step::new();
        step.events.push(Event::Proposed { epoch: self.epoch, proposer: self.proposer, digest: value_digest(&value) });
        step.send(Target::All, RbcMessage::Val(value.clone()));
        step.extend(self.handle_val(self.our_id, value));
        Ok(step)
    }

    fn handle_message(
        &mut self,
        from: NodeId,
        msg: RbcMessage,
        _rng: &mut dyn rand_core::CryptoRngCore,
    ) -> Result<Step<RbcMessage, Vec<u8>>, RbcError> {
        if from >= self.params.n {
            return Ok(Step::fault(from, FaultKind::OutOfRange));
        }
        if self.delivered {
            return Ok(Step::new());
        }
        Ok(match msg {
            RbcMessage::Val(v) => self.handle_val(from, v),
            RbcMessage::Echo(v) => self.handle_echo(from, v),
            RbcMessage::Ready(d) => self.handle_ready(from, d),
        })
    }

    fn terminated(&self) -> bool {
        self.delivered
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    /// Runs `n` instances with FIFO delivery; `byz` nodes' outgoing messages go through `tamper`.
    fn run(
        n: usize,
        proposer: NodeId,
        value: Option<Vec<u8>>,
        byz: &[NodeId],
        tamper: impl FnMut(NodeId, NodeId, &RbcMessage) -> Option<RbcMessage>,
    ) -> (Vec<Option<Vec<u8>>>, Vec<Fault>) {
        let params = Params::new(n).unwrap();
        let nodes: Vec<Rbc> = (0..n).map(|i| Rbc::new(params, i, proposer, 0, 1 << 20)).collect();
        let out =
            crate::proto::testkit::run_fifo(nodes, value.map(|v| (proposer, v)).into_iter().collect(), byz, tamper);
        (out.outputs, out.faults)
    }

    use super::super::step::Fault;

    #[test]
    fn a_proposer_that_forgot_its_proposal_does_not_propose_again() {
        let params = Params::new(4).unwrap();
        let nodes: Vec<Rbc> = (0..4).map(|i| Rbc::new(params, i, 1, 0, 1 << 20)).collect();
        let fresh = Rbc::new(params, 1, 1, 0, 1 << 20);
        crate::proto::testkit::forgetful_proposer_sends_nothing(nodes, fresh, 1, b"first".to_vec(), b"second".to_vec());
    }

    #[test]
    fn honest_proposer_everyone_delivers() {
        for n in [4, 5, 7] {
            let (out, faults) = run(n, 1, Some(b"hello".to_vec()), &[], |_, _, m| Some(m.clone()));
            assert!(out.iter().all(|o| o.as_deref() == Some(&b"hello"[..])), "n={n}");
            assert!(faults.is_empty());
        }
    }

    #[test]
    fn silent_node_does_not_block_delivery() {
        let (out, _) = run(4, 0, Some(b"v".to_vec()), &[3], |_, _, _| None);
        assert!(out[..3].iter().all(|o| o.as_deref() == Some(&b"v"[..])));
    }

    #[test]
    fn equivocating_proposer_never_splits_honest_nodes() {
        // Proposer 0 is Byzantine: sends value A to nodes 1 and 2, value B to node 3, and
        // echoes/readies in whatever way it was told to send.
        let (out, _) = run(4, 0, Some(b"A".to_vec()), &[0], |_, to, m| {
            Some(match m {
                RbcMessage::Val(_) if to == 3 => RbcMessage::Val(b"B".to_vec()),
                RbcMessage::Echo(_) if to == 3 => RbcMessage::Echo(b"B".to_vec()),
                other => other.clone(),
            })
        });
        let delivered: Vec<_> = out[1..].iter().flatten().collect();
        assert!(delivered.windows(2).all(|w| w[0] == w[1]), "honest nodes disagree: {delivered:?}");
        // Totality: A reached an echo quorum (1, 2 and the proposer), so all honest deliver it.
        assert_eq!(delivered.len(), 3);
        assert_eq!(delivered[0].as_slice(), b"A");
    }

    #[test]
    fn forged_val_and_double_echo_are_faults() {
        let params = Params::new(4).unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let mut rbc = Rbc::new(params, 0, 1, 0, 16);
        let s = rbc.handle_message(2, RbcMessage::Val(b"x".to_vec()), &mut rng).unwrap();
        assert_eq!(s.faults, vec![Fault { node: 2, kind: FaultKind::UnexpectedVal }]);
        let s = rbc.handle_message(2, RbcMessage::Echo(b"x".to_vec()), &mut rng).unwrap();
        assert!(s.faults.is_empty());
        let s = rbc.handle_message(2, RbcMessage::Echo(b"x".to_vec()), &mut rng).unwrap();
        assert!(s.is_empty(), "identical duplicate is ignored");
        let s = rbc.handle_message(2, RbcMessage::Echo(b"y".to_vec()), &mut rng).unwrap();
        assert_eq!(s.faults, vec![Fault { node: 2, kind: FaultKind::Equivocation }]);
        let s = rbc.handle_message(1, RbcMessage::Val(vec![0; 17]), &mut rng).unwrap();
        assert_eq!(s.faults, vec![Fault { node: 1, kind: FaultKind::OversizedValue }]);
        let s = rbc.handle_message(9, RbcMessage::Ready([0; 32]), &mut rng).unwrap();
        assert_eq!(s.faults, vec![Fault { node: 9, kind: FaultKind::OutOfRange }]);
    }

    #[test]
    fn ready_quorum_without_echo_waits_for_the_value() {
        let params = Params::new(4).unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let mut rbc = Rbc::new(params, 3, 0, 0, 1 << 10);
        let d = value_digest(b"v");
        for from in 0..3 {
            let s = rbc.handle_message(from, RbcMessage::Ready(d), &mut rng).unwrap();
            assert!(s.output.is_empty());
        }
        assert!(!rbc.delivered());
        let s = rbc.handle_message(1, RbcMessage::Echo(b"v".to_vec()), &mut rng).unwrap();
        assert_eq!(s.output, vec![b"v".to_vec()]);
        assert!(rbc.terminated());
    }

    #[test]
    fn misuse_is_an_error() {
        let params = Params::new(4).unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let mut rbc = Rbc::new(params, 1, 0, 0, 4);
        assert_eq!(rbc.handle_input(vec![], &mut rng).unwrap_err(), RbcError::NotProposer(1));
        let mut rbc = Rbc::new(params, 0, 0, 0, 4);
        assert!(matches!(rbc.handle_input(vec![0; 5], &mut rng), Err(RbcError::TooLarge { .. })));
        let _ = rbc.handle_input(vec![1], &mut rng).unwrap();
        assert_eq!(rbc.handle_input(vec![1], &mut rng).unwrap_err(), RbcError::AlreadyProposed);
    }
}
