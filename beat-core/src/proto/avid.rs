//! AVID: erasure-coded reliable broadcast with a Merkle tree (BEAT1 and BEAT2's broadcast).
//!
//! Reference: C. Cachin, S. Tessaro, *Asynchronous verifiable information dispersal*, SRDS
//! 2005, in the reliable-broadcast form HoneyBadgerBFT uses (Miller et al., CCS 2016, Fig. 2)
//! and BEAT builds on (Duan, Reiter, Zhang, CCS 2018, §3).
//!
//! The value is encoded with a `(k, n)` Reed–Solomon code, `k = n − 2f`
//! ([`crate::crypto::erasure`]), and a Merkle tree over the `n` fragments
//! ([`crate::crypto::merkle`]) names it by its root `h`. Node `j`'s fragment is `b_j`, with
//! branch `s_j`.
//!
//! ```text
//! upon input v (proposer):               send Val(h, b_j, s_j) to each node j
//! upon Val(h, b_i, s_i) from proposer
//!   (first, s_i valid at i):             send Echo(h, b_i, s_i) to all
//! upon Echo(h, b_j, s_j) from j:         keep it if s_j is valid at position j
//! upon n−f Echo for h:                   decode v from k fragments, re-encode, rebuild the
//!                                        tree; if its root is h: send Ready(h)
//!                                        else: fault(proposer) — never Ready for h
//! upon f+1 Ready(h):                     send Ready(h)               (if not sent)
//! upon 2f+1 Ready(h) and k Echo for h:   decode v (re-encode check as above); deliver v
//! ```
//!
//! Each node sends `n` fragments of `≈ |v|/k` bytes instead of Bracha's `n` full copies, so
//! the bytes per broadcast drop from `≈ n²·|v|` to `≈ n²·|v|/k`.
//!
//! Properties (at most `f` Byzantine): agreement, totality, validity as for RBC. A proposer
//! whose fragments are each valid against `h` but do not form one codeword is caught by the
//! re-encode check: no correct node sends `Ready(h)` for it, so none delivers it.
//!
//! Deviations from the papers:
//! * The re-encode check is repeated (cached per root) before delivery, so a node never
//!   delivers a value whose dispersal it has not checked itself.
//! * Each sender's first `Echo` and `Ready` count; a different second one is an
//!   [`FaultKind::Equivocation`] fault. Fragments larger than the largest allowed value needs
//!   are [`FaultKind::OversizedValue`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::step::{Event, Fault, FaultKind, Protocol, Step, Target};
use super::votes::{Recorded, Votes};
use crate::crypto::erasure::{Code, ErasureError};
use crate::crypto::hash::Digest;
use crate::crypto::merkle::{MerkleTree, Proof};
use crate::proto::rbc::value_digest;
use crate::{NodeId, Params};

/// An AVID message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AvidMessage {
    /// The proposer's fragment for the recipient.
    Val(Fragment),
    /// The sender's own fragment, echoed to all.
    Echo(Fragment),
    /// Readiness to deliver the value with this root.
    Ready(#[serde(with = "serde_bytes")] Digest),
}

/// A fragment with its Merkle root and branch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fragment {
    /// Merkle root naming the value.
    #[serde(with = "serde_bytes")]
    pub root: Digest,
    /// The fragment bytes.
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
    /// Its branch.
    pub proof: Proof,
}

/// Local misuse of an AVID instance.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AvidError {
    /// Only the proposer has an input.
    #[error("node {0} is not the proposer of this broadcast")]
    NotProposer(NodeId),
    /// The proposer gave an input twice.
    #[error("this broadcast already has its input")]
    AlreadyProposed,
    /// The value exceeds the configured maximum size.
    #[error("value of {size} bytes exceeds the maximum of {max}")]
    TooLarge { size: usize, max: usize },
    /// The committee is too small for an erasure code.
    #[error("erasure code: {0}")]
    Code(#[from] ErasureError),
}

/// One AVID instance, as seen by one node.
#[derive(Debug)]
pub struct Avid {
    params: Params,
    our_id: NodeId,
    proposer: NodeId,
    epoch: u64,
    code: Code,
    max_value_size: usize,
    proposed: bool,
    echo_sent: bool,
    ready_sent: bool,
    delivered: bool,
    /// First valid echo of each node: (root, fragment).
    echoes: Vec<Option<(Digest, Vec<u8>)>>,
    readies: Votes<Digest>,
    /// Re-encode check results per root: the decoded value when consistent.
    checked: BTreeMap<Digest, Option<Vec<u8>>>,
}

impl Avid {
    /// A new instance for `proposer`'s value in `epoch`.
    pub fn new(
        params: Params,
        our_id: NodeId,
        proposer: NodeId,
        epoch: u64,
        max_value_size: usize,
    ) -> Result<Self, AvidError> {
        let code = Code::new(params.n - 2 * params.f, params.n)?;
        Ok(Avid {
            params,
            our_id,
            proposer,
            epoch,
            code,
            max_value_size,
            proposed: false,
            echo_sent: false,
            ready_sent: false,
            delivered: false,
            echoes: vec![None; params.n],
            readies: Votes::new(params.n),
            checked: BTreeMap::new(),
        })
    }

    /// Whether this node has delivered.
    pub fn delivered(&self) -> bool {
        self.delivered
    }

    fn max_fragment(&self) -> usize {
        self.code.fragment_size(self.max_value_size)
    }

    fn valid(&self, at: NodeId, frag: &Fragment) -> bool {
        frag.proof.verify(&frag.root, self.params.n, at, &frag.data)
    }

    fn echo_count(&self, root: &Digest) -> usize {
        self.echoes.iter().filter(|e| e.as_ref().is_some_and(|(r, _)| r == root)).count()
    }

    /// Decode from `k` echoed fragments for `root`, re-encode, and compare roots (cached).
    fn check(&mut self, root: Digest, step: &mut Step<AvidMessage, Vec<u8>>) -> Option<Vec<u8>> {
        if let Some(result) = self.checked.get(&root) {
            return result.clone();
        }
        let frags: Vec<(usize, &[u8])> = self
            .echoes
            .iter()
            .enumerate()
            .filter_map(|(j, e)| e.as_ref().filter(|(r, _)| *r == root).map(|(_, d)| (j, d.as_slice())))
            .take(self.code.k())
            .collect();
        if frags.len() < self.code.k() {
            return None; // not enough yet: not a verdict
        }
        let value = self.code.decode(&frags).ok().filter(|v| v.len() <= self.max_value_size);
        let consistent = value.filter(|v| MerkleTree::new(&self.code.encode(v)).root() == root);
        if consistent.is_none() {
            step.faults.push(Fault { node: self.proposer, kind: FaultKind::InconsistentDispersal });
        }
        self.checked.insert(root, consistent.clone());
        consistent
    }

    fn handle_val(&mut self, from: NodeId, frag: Fragment) -> Step<AvidMessage, Vec<u8>> {
        if from != self.proposer {
            return Step::fault(from, FaultKind::UnexpectedVal);
        }
        if frag.data.len() > self.max_fragment() {
            return Step::fault(from, FaultKind::OversizedValue);
        }
        if !self.valid(self.our_id, &frag) {
            return Step::fault(from, FaultKind::BadFragment);
        }
        if self.echo_sent {
            return match &self.echoes[self.our_id] {
                Some((r, _)) if *r != frag.root => Step::fault(from, FaultKind::Equivocation),
                _ => Step::new(),
            };
        }
        self.echo_sent = true;
        let mut step = Step::new();
        step.send(Target::All, AvidMessage::Echo(frag.clone()));
        step.extend(self.handle_echo(self.our_id, frag));
        step
    }

    fn handle_echo(&mut self, from: NodeId, frag: Fragment) -> Step<AvidMessage, Vec<u8>> {
        if frag.data.len() > self.max_fragment() {
            return Step::fault(from, FaultKind::OversizedValue);
        }
        if !self.valid(from, &frag) {
            return Step::fault(from, FaultKind::BadFragment);
        }
        match &self.echoes[from] {
            Some((r, _)) if *r == frag.root => return Step::new(),
            Some(_) => return Step::fault(from, FaultKind::Equivocation),
            None => self.echoes[from] = Some((frag.root, frag.data)),
        }
        let root = frag.root;
        let mut step = Step::new();
        if !self.ready_sent && self.echo_count(&root) >= self.params.quorum() && self.check(root, &mut step).is_some() {
            step.extend(self.send_ready(root));
        }
        step.extend(self.try_deliver(root));
        step
    }

    fn handle_ready(&mut self, from: NodeId, root: Digest) -> Step<AvidMessage, Vec<u8>> {
        match self.readies.record(from, root) {
            Recorded::New => {}
            Recorded::Repeat => return Step::new(),
            Recorded::Conflict => return Step::fault(from, FaultKind::Equivocation),
        }
        let mut step = Step::new();
        if !self.ready_sent && self.readies.count(&root) >= self.params.weak_quorum() {
            step.extend(self.send_ready(root));
        }
        step.extend(self.try_deliver(root));
        step
    }

    fn send_ready(&mut self, root: Digest) -> Step<AvidMessage, Vec<u8>> {
        self.ready_sent = true;
        let mut step = Step::new();
        step.send(Target::All, AvidMessage::Ready(root));
        step.extend(self.handle_ready(self.our_id, root));
        step
    }

    fn try_deliver(&mut self, root: Digest) -> Step<AvidMessage, Vec<u8>> {
        let mut step = Step::new();
        if self.delivered || self.readies.count(&root) < self.params.strong() || self.echo_count(&root) < self.code.k()
        {
            return step;
        }
        if let Some(value) = self.check(root, &mut step) {
            self.delivered = true;
            self.echoes.clear();
            self.checked.clear();
            step.events.push(Event::Delivered {
                epoch: self.epoch,
                proposer: self.proposer,
                digest: value_digest(&value),
            });
            step.output.push(value);
        }
        step
    }
}

impl Protocol for Avid {
    type Input = Vec<u8>;
    type Message = AvidMessage;
    type Output = Vec<u8>;
    type Error = AvidError;

    fn handle_input(
        &mut self,
        value: Vec<u8>,
        _rng: &mut dyn rand_core::CryptoRngCore,
    ) -> Result<Step<AvidMessage, Vec<u8>>, AvidError> {
        if self.our_id != self.proposer {
            return Err(AvidError::NotProposer(self.our_id));
        }
        if self.proposed {
            return Err(AvidError::AlreadyProposed);
        }
        if value.len() > self.max_value_size {
            return Err(AvidError::TooLarge { size: value.len(), max: self.max_value_size });
        }
        // Already delivered: the committee has this instance's value — a proposal of ours from
        // before a restart from a stale log. A new one would be a second, different proposal.
        if self.delivered {
            self.proposed = true;
            return Ok(Step::new());
        }
        self.proposed = true;
        let digest = value_digest(&value);
        let fragments = self.code.encode(&value);
        let tree = MerkleTree::new(&fragments);
        let root = tree.root();
        let mut step = Step::new();
        step.events.push(Event::Proposed { epoch: self.epoch, proposer: self.proposer, digest });
        let mut own = None;
        for (j, data) in fragments.into_iter().enumerate() {
            let frag = Fragment { root, data, proof: tree.proof(j) };
            if j == self.our_id {
                own = Some(frag);
            } else {
                step.send(Target::Node(j), AvidMessage::Val(frag));
            }
        }
        if let Some(frag) = own {
            step.extend(self.handle_val(self.our_id, frag));
        }
        Ok(step)
    }

    fn handle_message(
        &mut self,
        from: NodeId,
        msg: AvidMessage,
        _rng: &mut dyn rand_core::CryptoRngCore,
    ) -> Result<Step<AvidMessage, Vec<u8>>, AvidError> {
        if from >= self.params.n {
            return Ok(Step::fault(from, FaultKind::OutOfRange));
        }
        if self.delivered {
            return Ok(Step::new());
        }
        Ok(match msg {
            AvidMessage::Val(f) => self.handle_val(from, f),
            AvidMessage::Echo(f) => self.handle_echo(from, f),
            AvidMessage::Ready(r) => self.handle_ready(from, r),
        })
    }

    fn terminated(&self) -> bool {
        self.delivered
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::rbc::{Rbc, RbcMessage};
    use crate::proto::testkit::run_fifo;

    fn nodes(n: usize, proposer: NodeId) -> Vec<Avid> {
        let params = Params::new(n).unwrap();
        (0..n).map(|i| Avid::new(params, i, proposer, 0, 1 << 20).unwrap()).collect()
    }

    fn value(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + 3) as u8).collect()
    }

    #[test]
    fn a_proposer_that_forgot_its_proposal_does_not_propose_again() {
        let fresh = nodes(5, 2).swap_remove(2);
        crate::proto::testkit::forgetful_proposer_sends_nothing(nodes(5, 2), fresh, 2, value(300), value(301));
    }

    #[test]
    fn honest_proposer_everyone_delivers() {
        for n in [4, 5, 7] {
            for len in [0, 1, 100, 10_000] {
                let out = run_fifo(nodes(n, 1), vec![(1, value(len))], &[], |_, _, m| Some(m.clone()));
                assert!(out.outputs.iter().all(|o| o.as_deref() == Some(&value(len)[..])), "n={n} len={len}");
                assert!(out.faults.is_empty());
            }
        }
    }

    #[test]
    fn silent_node_does_not_block_delivery() {
        let out = run_fifo(nodes(4, 0), vec![(0, value(500))], &[2], |_, _, _| None);
        for i in [0, 1, 3] {
            assert_eq!(out.outputs[i].as_deref(), Some(&value(500)[..]));
        }
    }

    #[test]
    fn bad_fragments_are_attributed_and_ignored() {
        let out = run_fifo(nodes(4, 0), vec![(0, value(500))], &[3], |_, _, m| {
            Some(match m {
                AvidMessage::Echo(f) => {
                    let mut f = f.clone();
                    f.data[0] ^= 1;
                    AvidMessage::Echo(f)
                }
                other => other.clone(),
            })
        });
        assert!(out.faults.contains(&Fault { node: 3, kind: FaultKind::BadFragment }));
        for i in 0..3 {
            assert_eq!(out.outputs[i].as_deref(), Some(&value(500)[..]));
        }
    }

    #[test]
    fn inconsistent_dispersal_is_caught_and_never_delivered() {
        // The proposer builds a tree over fragments that are not one codeword: every fragment
        // is valid against the root, but re-encoding what any k of them decode to differs.
        let n = 4;
        let code = Code::new(2, n).unwrap();
        let mut frags = code.encode(&value(300));
        frags[3][5] ^= 0x55;
        let tree = MerkleTree::new(&frags);
        let root = tree.root();
        let mut ns = nodes(n, 0);
        let mut rng = <rand_chacha::ChaCha20Rng as rand::SeedableRng>::seed_from_u64(1);
        let mut faults = Vec::new();
        let mut delivered = 0;
        // Deliver the proposer's Vals, then all echoes (everyone correct but the proposer).
        let mut echoes = Vec::new();
        for j in 1..n {
            let f = Fragment { root, data: frags[j].clone(), proof: tree.proof(j) };
            let s = ns[j].handle_message(0, AvidMessage::Val(f), &mut rng).unwrap();
            echoes.extend(s.messages.into_iter().map(|(_, m)| (j, m)));
        }
        let f0 = Fragment { root, data: frags[0].clone(), proof: tree.proof(0) };
        echoes.push((0, AvidMessage::Echo(f0)));
        for (from, m) in echoes {
            for (to, node) in ns.iter_mut().enumerate().skip(1) {
                if to != from {
                    let s = node.handle_message(from, m.clone(), &mut rng).unwrap();
                    faults.extend(s.faults);
                    delivered += s.output.len();
                    assert!(
                        s.messages.iter().all(|(_, m)| !matches!(m, AvidMessage::Ready(_))),
                        "Ready for an inconsistent root"
                    );
                }
            }
        }
        assert_eq!(delivered, 0);
        assert!(faults.contains(&Fault { node: 0, kind: FaultKind::InconsistentDispersal }));
    }

    #[test]
    fn equivocating_proposer_never_splits_honest_nodes() {
        // Proposer 0 disperses value A to nodes 1, 2 and value B to node 3.
        let n = 4;
        let code = Code::new(2, n).unwrap();
        let b = code.encode(&value(77));
        let tb = MerkleTree::new(&b);
        let out = run_fifo(nodes(n, 0), vec![(0, value(200))], &[0], move |_, to, m| {
            Some(match m {
                AvidMessage::Val(_) if to == 3 => {
                    AvidMessage::Val(Fragment { root: tb.root(), data: b[3].clone(), proof: tb.proof(3) })
                }
                other => other.clone(),
            })
        });
        let delivered: Vec<_> = out.outputs[1..].iter().flatten().collect();
        assert!(delivered.windows(2).all(|w| w[0] == w[1]), "honest nodes disagree");
        assert!(out.faults.iter().all(|f| f.node == 0 || f.kind == FaultKind::Equivocation));
    }

    #[test]
    fn sends_fewer_bytes_than_bracha() {
        let n = 7;
        let v = value(100_000);
        let avid = run_fifo(nodes(n, 0), vec![(0, v.clone())], &[], |_, _, m| Some(m.clone()));
        let params = Params::new(n).unwrap();
        let rbcs: Vec<Rbc> = (0..n).map(|i| Rbc::new(params, i, 0, 0, 1 << 20)).collect();
        let rbc = run_fifo(rbcs, vec![(0, v.clone())], &[], |_, _, m: &RbcMessage| Some(m.clone()));
        assert!(avid.outputs.iter().all(|o| o.as_deref() == Some(&v[..])));
        // k = n − 2f = 3: about a third of Bracha's traffic.
        assert!(avid.bytes * 2 < rbc.bytes, "avid {} bytes, bracha {}", avid.bytes, rbc.bytes);
    }

    #[test]
    fn misuse_is_an_error() {
        let params = Params::new(4).unwrap();
        let mut rng = <rand_chacha::ChaCha20Rng as rand::SeedableRng>::seed_from_u64(1);
        let mut a = Avid::new(params, 1, 0, 0, 4).unwrap();
        assert_eq!(a.handle_input(vec![], &mut rng).unwrap_err(), AvidError::NotProposer(1));
        let mut a = Avid::new(params, 0, 0, 0, 4).unwrap();
        assert!(matches!(a.handle_input(vec![0; 5], &mut rng), Err(AvidError::TooLarge { .. })));
        let _ = a.handle_input(vec![1], &mut rng).unwrap();
        assert_eq!(a.handle_input(vec![1], &mut rng).unwrap_err(), AvidError::AlreadyProposed);
    }
}
