//! AVID-FP: asynchronous verifiable information dispersal with fingerprinted cross-checksums
//! (BEAT3, and BEAT4 with a pyramid code).
//!
//! Reference: J. Hendricks, G. R. Ganger, M. K. Reiter, *Verifying distributed erasure-coded
//! data*, PODC 2007 (AVID-FP, §5); used by BEAT (Duan, Reiter, Zhang, CCS 2018, §6) so that
//! consensus runs on a small commitment while each node stores one fragment.
//!
//! The value is encoded with a linear code ([`DispersalCode`]: Reed–Solomon `(n−2f, n)` for
//! BEAT3, a pyramid code for BEAT4) into fragments `f_0..f_{n−1}`; the cross-checksum `cc`
//! ([`crate::crypto::fpc`]) commits to all of them and fingerprints the data fragments.
//! Node `i` stores `f_i` only.
//!
//! ```text
//! upon input v (disperser):        F := encode(v); (cc, T) := cross_checksum(F)
//!                                  send Val(cc, f_j, T) to each node j
//! upon Val(cc, f_i, T) from the disperser (first):
//!     if cc.verify_fragment(i, f_i, T): keep (f_i, T); send Echo(cc) to all
//!     else:                            fault(disperser)  — no Echo
//! upon n−f Echo(cc) with one digest d:     send Ready(d)           (if not sent)
//! upon f+1 Ready(d):                       send Ready(d)           (if not sent)
//! upon 2f+1 Ready(d) and cc with digest d known (from a Val or an Echo):
//!                                          deliver cc  (the commitment, not the value)
//! ```
//!
//! A node echoes only a cross-checksum its own fragment verified against, so `n − f` echoes
//! for `d` include at least `n − 2f` correct nodes that hold a verified fragment: enough for
//! any reader to reconstruct (`k ≤ n − 2f`, and for the pyramid code `k + L − 1 ≤ n − 2f`).
//! All fragments that verify against one `cc` decode to the same value (the fingerprint
//! bound in [`crate::crypto::fpc`]), so two readers never read different values.
//!
//! `T` is BEAT4's row-fingerprint table (chunked commitments; see [`crate::crypto::fpc`]): it
//! lets a reader check a single chunk against the code, not only against the committed
//! fragment. BEAT3 has none. Messages carry only `cc` (`n` digests and `k` fingerprints, or the
//! table's root) after the `Val`, so each node sends `O(n · |cc|)` bytes plus its share of
//! fragments: the disperser sends `≈ n|v|/k` (plus `24k` bytes per KiB of fragment of `T` per
//! node for BEAT4).
//!
//! Deviations from the paper: each sender's first `Echo` and `Ready` count; a second,
//! different one is an [`FaultKind::Equivocation`]. A cross-checksum of the wrong shape, or
//! fragments larger than the largest allowed value needs, are faults against the sender.

use serde::{Deserialize, Serialize};

use super::step::{Event, FaultKind, Protocol, Step, Target};
use super::votes::{Recorded, Votes};
use crate::crypto::erasure::{Code, ErasureError};
use crate::crypto::fpc::{CrossChecksum, FpcError, FragmentCommitment, LinearCode};
use crate::crypto::hash::{Digest, Domain};
use crate::crypto::pyramid::PyramidCode;
use crate::{NodeId, Params, SessionId};

/// Protocol tag binding cross-checksums to their instance.
pub const AVID_FP_PROTOCOL: &str = "BEAT/avid-fp";

/// Chunk size of BEAT4's fragment commitments (a reader fetches and checks one chunk).
pub const PYRAMID_CHUNK: usize = 1024;

/// The code a committee disperses with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DispersalCode {
    /// BEAT3: Reed–Solomon with `k = n − 2f`.
    ReedSolomon(Code),
    /// BEAT4: a pyramid code with `k + L − 1 = n − 2f`.
    Pyramid(PyramidCode),
}

impl DispersalCode {
    /// BEAT3's code for a committee.
    pub fn reed_solomon(params: Params) -> Result<Self, ErasureError> {
        Ok(DispersalCode::ReedSolomon(Code::new(params.n - 2 * params.f, params.n)?))
    }

    /// BEAT4's code: two local groups when `n − 2f ≥ 3` (each of `k/2` data fragments and a
    /// local parity), else one; `k = n − 2f − L + 1`, so any `n − 2f` fragments reconstruct.
    pub fn pyramid(params: Params) -> Result<Self, ErasureError> {
        let need = params.n - 2 * params.f;
        let groups = if need >= 3 { 2 } else { 1 };
        Ok(DispersalCode::Pyramid(PyramidCode::new(need - groups + 1, groups, params.n)?))
    }

    /// The code as a [`LinearCode`].
    pub fn linear(&self) -> &dyn LinearCode {
        match self {
            DispersalCode::ReedSolomon(c) => c,
            DispersalCode::Pyramid(c) => c,
        }
    }

    /// How fragments are committed: whole fragments for BEAT3, Merkle-chunked for BEAT4 (so a
    /// reader can check a single chunk).
    pub fn commitment(&self) -> FragmentCommitment {
        match self {
            DispersalCode::ReedSolomon(_) => FragmentCommitment::Flat,
            DispersalCode::Pyramid(_) => FragmentCommitment::Chunked { chunk: PYRAMID_CHUNK },
        }
    }

    /// Fragments any reader needs for a full reconstruction.
    pub fn reconstruct_from(&self) -> usize {
        match self {
            DispersalCode::ReedSolomon(c) => c.k(),
            DispersalCode::Pyramid(c) => c.reconstruct_from(),
        }
    }
}

/// The context bytes that bind a cross-checksum to `(session, epoch, disperser)`.
pub fn fpc_context(session: &SessionId, epoch: u64, proposer: NodeId) -> Vec<u8> {
    Domain { protocol: AVID_FP_PROTOCOL, session, epoch, instance: proposer as u64 }.encode(&[])
}

/// An AVID-FP message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AvidFpMessage {
    /// The disperser's cross-checksum and the recipient's fragment.
    Val {
        /// The cross-checksum.
        cc: CrossChecksum,
        /// The recipient's fragment.
        #[serde(with = "serde_bytes")]
        fragment: Vec<u8>,
        /// BEAT4: the row-fingerprint table ([`crate::crypto::fpc::RowTable`] bytes).
        #[serde(default)]
        rows: Option<serde_bytes::ByteBuf>,
    },
    /// The sender verified its fragment against this cross-checksum.
    Echo(CrossChecksum),
    /// Readiness to deliver the cross-checksum with this digest.
    Ready(#[serde(with = "serde_bytes")] Digest),
}

/// Local misuse of an AVID-FP instance.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AvidFpError {
    /// Only the disperser has an input.
    #[error("node {0} is not the disperser of this instance")]
    NotProposer(NodeId),
    /// The disperser gave an input twice.
    #[error("this dispersal already has its input")]
    AlreadyProposed,
    /// The value exceeds the configured maximum size.
    #[error("value of {size} bytes exceeds the maximum of {max}")]
    TooLarge { size: usize, max: usize },
    /// The cross-checksum could not be built (a bug: the code produced unusable fragments).
    #[error("cross-checksum: {0}")]
    Fpc(#[from] FpcError),
}

/// A fragment a node keeps, with what proves it (BEAT4: the row table, which readers of this
/// fragment's chunks need).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldFragment {
    /// The fragment.
    pub fragment: Vec<u8>,
    /// BEAT4: the row-fingerprint table's bytes.
    pub rows: Option<Vec<u8>>,
}

/// One AVID-FP instance, as seen by one node.
#[derive(Debug)]
pub struct AvidFp {
    params: Params,
    our_id: NodeId,
    proposer: NodeId,
    epoch: u64,
    code: std::sync::Arc<DispersalCode>,
    context: Vec<u8>,
    max_value_size: usize,
    proposed: bool,
    /// Our verified fragment and the digest of the cross-checksum it verified against.
    fragment: Option<(Digest, HeldFragment)>,
    ready_sent: bool,
    delivered: Option<Digest>,
    /// The delivered cross-checksum (kept for catch-up and late fragments).
    delivered_cc: Option<CrossChecksum>,
    echoes: Votes<Digest>,
    readies: Votes<Digest>,
    /// Cross-checksums seen in a Val or a counted Echo (at most `n + 1`).
    known: Vec<(Digest, CrossChecksum)>,
}

type FpStep = Step<AvidFpMessage, Vec<u8>>;

impl AvidFp {
    /// A new instance for `proposer`'s dispersal in `epoch`.
    pub fn new(
        params: Params,
        our_id: NodeId,
        proposer: NodeId,
        epoch: u64,
        session: &SessionId,
        code: std::sync::Arc<DispersalCode>,
        max_value_size: usize,
    ) -> Self {
        AvidFp {
            params,
            our_id,
            proposer,
            epoch,
            code,
            context: fpc_context(session, epoch, proposer),
            max_value_size,
            proposed: false,
            fragment: None,
            ready_sent: false,
            delivered: None,
            delivered_cc: None,
            echoes: Votes::new(params.n),
            readies: Votes::new(params.n),
            known: Vec::new(),
        }
    }

    /// The digest of the delivered cross-checksum, once delivered.
    pub fn delivered(&self) -> Option<Digest> {
        self.delivered
    }

    /// Our fragment, if we hold one that verified against the delivered cross-checksum (what
    /// the node stores after the epoch commits).
    pub fn take_fragment(&mut self) -> Option<HeldFragment> {
        let delivered = self.delivered?;
        self.take_fragment_of(&delivered)
    }

    /// Our fragment, if it verified against the cross-checksum with digest `d` (catch-up: the
    /// batch names the committed digest; this instance may not have delivered yet).
    pub fn take_fragment_of(&mut self, d: &Digest) -> Option<HeldFragment> {
        match &self.fragment {
            Some((have, _)) if have == d => self.fragment.take().map(|(_, f)| f),
            _ => None,
        }
    }

    /// A cross-checksum with digest `d` this instance has seen (in a `Val`, a counted `Echo`,
    /// or delivered).
    pub fn cross_checksum(&self, d: &Digest) -> Option<&CrossChecksum> {
        self.known
            .iter()
            .find(|(k, _)| k == d)
            .map(|(_, cc)| cc)
            .or(self.delivered_cc.as_ref().filter(|cc| cc.digest() == *d))
    }

    fn holds_delivered_fragment(&self) -> bool {
        matches!((&self.fragment, self.delivered), (Some((d, _)), Some(delivered)) if *d == delivered)
    }

    fn max_fragment(&self) -> usize {
        self.code.linear().fragment_size(self.max_value_size)
    }

    /// Shape check of a peer's cross-checksum (`n` commitments; `k` fingerprints or a row
    /// table root) and a size no larger than the largest value needs.
    fn well_formed(&self, cc: &CrossChecksum) -> bool {
        cc.check_shape(self.code.linear(), self.code.commitment()).is_ok_and(|s| s <= self.max_fragment())
    }

    /// Verify our fragment (and, for BEAT4, the row table) against `cc`.
    fn verify(&self, cc: &CrossChecksum, fragment: &[u8], rows: Option<&[u8]>) -> bool {
        let code = self.code.linear();
        let table = match rows {
            Some(bytes) => match cc.row_table(code, bytes) {
                Ok(t) => Some(t),
                Err(_) => return false,
            },
            None => None,
        };
        cc.verify_fragment(code, self.code.commitment(), &self.context, self.our_id, fragment, table.as_ref()).is_ok()
    }

    fn remember(&mut self, d: Digest, cc: CrossChecksum) {
        if !self.known.iter().any(|(k, _)| *k == d) {
            self.known.push((d, cc));
        }
    }

    fn handle_val(&mut self, from: NodeId, cc: CrossChecksum, fragment: Vec<u8>, rows: Option<Vec<u8>>) -> FpStep {
        if from != self.proposer {
            return Step::fault(from, FaultKind::UnexpectedVal);
        }
        if !self.well_formed(&cc) || fragment.len() > self.max_fragment() {
            return Step::fault(from, FaultKind::OversizedValue);
        }
        let d = cc.digest();
        if let Some((have, _)) = &self.fragment {
            return if *have == d { Step::new() } else { Step::fault(from, FaultKind::Equivocation) };
        }
        if !self.verify(&cc, &fragment, rows.as_deref()) {
            return Step::fault(from, FaultKind::BadFragment);
        }
        self.fragment = Some((d, HeldFragment { fragment, rows }));
        let mut step = Step::new();
        step.send(Target::All, AvidFpMessage::Echo(cc.clone()));
        step.extend(self.handle_echo(self.our_id, cc));
        step
    }

    fn handle_echo(&mut self, from: NodeId, cc: CrossChecksum) -> FpStep {
        if !self.well_formed(&cc) {
            return Step::fault(from, FaultKind::OversizedValue);
        }
        let d = cc.digest();
        match self.echoes.record(from, d) {
            Recorded::New => {}
            Recorded::Repeat => return Step::new(),
            Recorded::Conflict => return Step::fault(from, FaultKind::Equivocation),
        }
        self.remember(d, cc);
        let mut step = Step::new();
        if !self.ready_sent && self.echoes.count(&d) >= self.params.quorum() {
            step.extend(self.send_ready(d));
        }
        step.extend(self.try_deliver(d));
        step
    }

    fn handle_ready(&mut self, from: NodeId, d: Digest) -> FpStep {
        match self.readies.record(from, d) {
            Recorded::New => {}
            Recorded::Repeat => return Step::new(),
            Recorded::Conflict => return Step::fault(from, FaultKind::Equivocation),
        }
        let mut step = Step::new();
        if !self.ready_sent && self.readies.count(&d) >= self.params.weak_quorum() {
            step.extend(self.send_ready(d));
        }
        step.extend(self.try_deliver(d));
        step
    }

    fn send_ready(&mut self, d: Digest) -> FpStep {
        self.ready_sent = true;
        let mut step = Step::new();
        step.send(Target::All, AvidFpMessage::Ready(d));
        step.extend(self.handle_ready(self.our_id, d));
        step
    }

    fn try_deliver(&mut self, d: Digest) -> FpStep {
        let mut step = Step::new();
        if self.delivered.is_some() || self.readies.count(&d) < self.params.strong() {
            return step;
        }
        let Some((_, cc)) = self.known.iter().find(|(k, _)| *k == d) else { return step };
        let out = crate::codec::encode(cc);
        self.delivered = Some(d);
        self.delivered_cc = Some(cc.clone());
        self.known.clear();
        step.events.push(Event::Delivered { epoch: self.epoch, proposer: self.proposer, digest: d });
        step.output.push(out);
        step
    }
}

impl Protocol for AvidFp {
    type Input = Vec<u8>;
    type Message = AvidFpMessage;
    type Output = Vec<u8>;
    type Error = AvidFpError;

    fn handle_input(&mut self, value: Vec<u8>, _rng: &mut dyn rand_core::CryptoRngCore) -> Result<FpStep, AvidFpError> {
        if self.our_id != self.proposer {
            return Err(AvidFpError::NotProposer(self.our_id));
        }
        if self.proposed {
            return Err(AvidFpError::AlreadyProposed);
        }
        if value.len() > self.max_value_size {
            return Err(AvidFpError::TooLarge { size: value.len(), max: self.max_value_size });
        }
        // Already delivered: the committee has this instance's value — a proposal of ours from
        // before a restart from a stale log. A new one would be a second, different proposal.
        if self.delivered.is_some() {
            self.proposed = true;
            return Ok(Step::new());
        }
        self.proposed = true;
        let code = self.code.linear();
        let fragments = code.encode(&value);
        let (cc, table) = CrossChecksum::build(code, self.code.commitment(), &self.context, &fragments)?;
        let rows = table.map(|t| t.to_bytes());
        let mut step = Step::new();
        let value_digest = crate::proto::rbc::value_digest(&value);
        step.events.push(Event::Dispersed { epoch: self.epoch, proposer: self.proposer, value_digest });
        step.events.push(Event::Proposed { epoch: self.epoch, proposer: self.proposer, digest: cc.digest() });
        let mut own = None;
        for (j, fragment) in fragments.into_iter().enumerate() {
            if j == self.our_id {
                own = Some(fragment);
            } else {
                let rows = rows.clone().map(serde_bytes::ByteBuf::from);
                step.send(Target::Node(j), AvidFpMessage::Val { cc: cc.clone(), fragment, rows });
            }
        }
        if let Some(fragment) = own {
            step.extend(self.handle_val(self.our_id, cc, fragment, rows));
        }
        Ok(step)
    }

    fn handle_message(
        &mut self,
        from: NodeId,
        msg: AvidFpMessage,
        _rng: &mut dyn rand_core::CryptoRngCore,
    ) -> Result<FpStep, AvidFpError> {
        if from >= self.params.n {
            return Ok(Step::fault(from, FaultKind::OutOfRange));
        }
        if self.delivered.is_some() {
            // Still take our fragment of the delivered cross-checksum from a late Val (it is
            // what we store; ACS forwards broadcast traffic until this instance terminates),
            // nothing else.
            if let AvidFpMessage::Val { cc, fragment, rows } = msg {
                if !self.holds_delivered_fragment() && from == self.proposer && Some(cc.digest()) == self.delivered {
                    let rows = rows.map(serde_bytes::ByteBuf::into_vec);
                    if self.verify(&cc, &fragment, rows.as_deref()) {
                        self.fragment = Some((cc.digest(), HeldFragment { fragment, rows }));
                    } else {
                        return Ok(Step::fault(from, FaultKind::BadFragment));
                    }
                }
            }
            return Ok(Step::new());
        }
        Ok(match msg {
            AvidFpMessage::Val { cc, fragment, rows } => {
                self.handle_val(from, cc, fragment, rows.map(serde_bytes::ByteBuf::into_vec))
            }
            AvidFpMessage::Echo(cc) => self.handle_echo(from, cc),
            AvidFpMessage::Ready(d) => self.handle_ready(from, d),
        })
    }

    /// Delivered, and holding our verified fragment (until then a late `Val` is still taken:
    /// ACS keeps forwarding it; see `take_fragment`).
    fn terminated(&self) -> bool {
        self.delivered.is_some() && self.holds_delivered_fragment()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::proto::testkit::run_fifo;
    use crate::proto::Fault;

    fn nodes(n: usize, proposer: NodeId, pyramid: bool) -> Vec<AvidFp> {
        let params = Params::new(n).unwrap();
        let code = Arc::new(if pyramid {
            DispersalCode::pyramid(params).unwrap()
        } else {
            DispersalCode::reed_solomon(params).unwrap()
        });
        let session = SessionId([3; 32]);
        (0..n).map(|i| AvidFp::new(params, i, proposer, 0, &session, code.clone(), 1 << 20)).collect()
    }

    fn value(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 13 + 5) as u8).collect()
    }

    #[test]
    fn honest_disperser_everyone_delivers_the_same_commitment_and_fragments_decode() {
        for pyramid in [false, true] {
            for n in [4, 5, 7] {
                let v = value(5000);
                let mut ns = nodes(n, 1, pyramid);
                let out = run_fifo_keep(&mut ns, 1, v.clone());
                let first = out[0].clone().expect("delivered");
                assert!(out.iter().all(|o| o.as_ref() == Some(&first)), "n={n}");
                // Any reconstruct_from() stored fragments give back the value.
                let code = ns[0].code.clone();
                let frags: Vec<(usize, Vec<u8>)> =
                    ns.iter_mut().enumerate().filter_map(|(i, a)| Some((i, a.take_fragment()?.fragment))).collect();
                assert_eq!(frags.len(), n);
                let need = code.reconstruct_from();
                let chosen: Vec<(usize, &[u8])> =
                    frags.iter().rev().take(need).map(|(i, f)| (*i, f.as_slice())).collect();
                assert_eq!(code.linear().decode(&chosen).unwrap(), v, "pyramid={pyramid} n={n}");
            }
        }
    }

    /// Runs one dispersal FIFO with everyone honest and returns each node's output.
    fn run_fifo_keep(ns: &mut [AvidFp], proposer: NodeId, v: Vec<u8>) -> Vec<Option<Vec<u8>>> {
        let mut rng = <rand_chacha::ChaCha20Rng as rand::SeedableRng>::seed_from_u64(1);
        let mut queue = std::collections::VecDeque::new();
        let mut out = vec![None; ns.len()];
        let step = ns[proposer].handle_input(v, &mut rng).unwrap();
        let mut pending = vec![(proposer, step)];
        loop {
            for (from, step) in pending.drain(..) {
                assert!(step.faults.is_empty(), "{:?}", step.faults);
                if let Some(o) = step.output.into_iter().next() {
                    out[from] = Some(o);
                }
                for (t, m) in step.messages {
                    for to in 0..ns.len() {
                        if t.includes(from, to) {
                            queue.push_back((from, to, m.clone()));
                        }
                    }
                }
            }
            let Some((from, to, m)) = queue.pop_front() else { break };
            let step = ns[to].handle_message(from, m, &mut rng).unwrap();
            pending.push((to, step));
        }
        out
    }

    #[test]
    fn a_proposer_that_forgot_its_proposal_does_not_propose_again() {
        let fresh = nodes(4, 0, false).swap_remove(0);
        crate::proto::testkit::forgetful_proposer_sends_nothing(nodes(4, 0, false), fresh, 0, value(3000), value(3001));
    }

    #[test]
    fn bad_fragment_is_refused_and_attributed() {
        let out = run_fifo(nodes(4, 0, false), vec![(0, value(3000))], &[0], |_, to, m| {
            Some(match m {
                AvidFpMessage::Val { cc, fragment, rows } if to == 2 => {
                    let mut fragment = fragment.clone();
                    fragment[10] ^= 1;
                    AvidFpMessage::Val { cc: cc.clone(), fragment, rows: rows.clone() }
                }
                other => other.clone(),
            })
        });
        assert!(out.faults.contains(&Fault { node: 0, kind: FaultKind::BadFragment }));
        // Three correct echoes (nodes 0, 1, 3) suffice; everyone still delivers one commitment.
        let delivered: Vec<_> = out.outputs.iter().flatten().collect();
        assert_eq!(delivered.len(), 4);
        assert!(delivered.windows(2).all(|w| w[0] == w[1]));
    }

    #[test]
    fn inconsistent_fragments_are_caught_by_the_fingerprints() {
        // The disperser commits to fragments that are not one codeword: node 3's parity
        // fragment is altered before the cross-checksum is built.
        let params = Params::new(4).unwrap();
        let code = DispersalCode::reed_solomon(params).unwrap();
        let ctx = fpc_context(&SessionId([3; 32]), 0, 0);
        let mut frags = code.linear().encode(&value(2000));
        frags[3][7] ^= 0x40;
        let (cc, _) = CrossChecksum::build(code.linear(), code.commitment(), &ctx, &frags).unwrap();
        let mut ns = nodes(4, 0, false);
        let mut rng = <rand_chacha::ChaCha20Rng as rand::SeedableRng>::seed_from_u64(1);
        let val = AvidFpMessage::Val { cc: cc.clone(), fragment: frags[3].clone(), rows: None };
        let s = ns[3].handle_message(0, val, &mut rng);
        let s = s.unwrap();
        assert!(s.faults.contains(&Fault { node: 0, kind: FaultKind::BadFragment }));
        assert!(s.messages.is_empty(), "no Echo for a fragment that fails its check");
        // The consistent fragments still verify and are echoed.
        let val = AvidFpMessage::Val { cc, fragment: frags[1].clone(), rows: None };
        let s = ns[1].handle_message(0, val, &mut rng).unwrap();
        assert!(s.faults.is_empty());
        assert!(matches!(s.messages[0].1, AvidFpMessage::Echo(_)));
    }

    #[test]
    fn misuse_is_an_error() {
        let mut ns = nodes(4, 0, false);
        let mut rng = <rand_chacha::ChaCha20Rng as rand::SeedableRng>::seed_from_u64(1);
        assert_eq!(ns[1].handle_input(vec![], &mut rng).unwrap_err(), AvidFpError::NotProposer(1));
        assert!(matches!(ns[0].handle_input(vec![0; 2 << 20], &mut rng), Err(AvidFpError::TooLarge { .. })));
        let _ = ns[0].handle_input(vec![1], &mut rng).unwrap();
        assert_eq!(ns[0].handle_input(vec![1], &mut rng).unwrap_err(), AvidFpError::AlreadyProposed);
    }
}
