//! Asynchronous common subset (ACS), the Ben-Or–Kelmer–Rabin composition.
//!
//! Reference: M. Ben-Or, B. Kelmer, T. Rabin, *Asynchronous secure computations with optimal
//! resilience*, PODC 1994; as used by HoneyBadgerBFT (Miller et al., CCS 2016, Fig. 4) and BEAT.
//!
//! `n` broadcast instances `BC_j` (one per proposer: RBC for BEAT0, AVID for BEAT1/2,
//! AVID-FP for BEAT3/4) and `n` binary agreements `ABA_j`:
//!
//! ```text
//! upon input v:                         BC_self.input(v)
//! upon BC_j delivering:                 if ABA_j has no input: ABA_j.input(1)
//! upon n−f ABAs having decided 1:       every ABA_j without input: ABA_j.input(0)
//! upon all ABAs decided, and BC_j delivered for every j with ABA_j = 1:
//!                                       output { j ↦ value_j : ABA_j decided 1 }
//! ```
//!
//! Properties: every honest node outputs the same set, of at least `n − f` values, at least
//! `n − 2f` of which come from honest proposers. An `ABA_j` that decides 1 had an honest
//! input 1, so some honest node delivered `BC_j` and, by totality, every honest node will.
//!
//! Deviations: none in the logic. Messages name their instance (the proposer index); an index
//! `≥ n` is a [`FaultKind::OutOfRange`] fault.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::aba::{Aba, AbaMessage};
use super::step::{Event, FaultKind, Protocol, Step};
use crate::{NodeId, Params};

/// An ACS message: instance (proposer) and content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcsMessage<BM> {
    /// The proposer whose broadcast / agreement this belongs to.
    pub proposer: NodeId,
    /// The sub-protocol message.
    pub content: AcsContent<BM>,
}

/// A message of one of ACS's sub-protocols.
// An ABA coin share (a G2 point) makes `Aba` a few hundred bytes; messages are moved, not
// stored in bulk, so boxing would only add an allocation per message.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AcsContent<BM> {
    /// For broadcast instance `proposer`.
    Broadcast(BM),
    /// For agreement instance `proposer`.
    Aba(AbaMessage),
}

/// ACS output: the accepted proposers and their values, in proposer order.
pub type AcsOutput = BTreeMap<NodeId, Vec<u8>>;

/// Local misuse of ACS.
#[derive(Debug, thiserror::Error)]
pub enum AcsError<E: std::error::Error + 'static> {
    /// The broadcast instance refused the input.
    #[error("broadcast: {0}")]
    Broadcast(#[source] E),
    /// An agreement instance refused an input (a bug).
    #[error("agreement: {0}")]
    Aba(#[from] super::aba::AbaError),
}

/// One ACS instance, generic over the broadcast protocol.
#[derive(Debug)]
pub struct Acs<B: Protocol<Input = Vec<u8>, Output = Vec<u8>>> {
    params: Params,
    our_id: NodeId,
    epoch: u64,
    broadcasts: Vec<B>,
    abas: Vec<Aba>,
    delivered: Vec<Option<Vec<u8>>>,
    decided: Vec<Option<bool>>,
    output_done: bool,
}

type AcsStep<BM> = Step<AcsMessage<BM>, AcsOutput>;

impl<B> Acs<B>
where
    B: Protocol<Input = Vec<u8>, Output = Vec<u8>>,
    B::Error: 'static,
{
    /// A new instance from one broadcast and one agreement per proposer (index = proposer).
    pub fn new(params: Params, our_id: NodeId, epoch: u64, broadcasts: Vec<B>, abas: Vec<Aba>) -> Self {
        assert_eq!(broadcasts.len(), params.n, "one broadcast per node");
        assert_eq!(abas.len(), params.n, "one agreement per node");
        Acs {
            params,
            our_id,
            epoch,
            broadcasts,
            abas,
            delivered: vec![None; params.n],
            decided: vec![None; params.n],
            output_done: false,
        }
    }

    /// Whether ACS has output.
    pub fn has_output(&self) -> bool {
        self.output_done
    }

    /// Whether the broadcast of `proposer` has delivered here.
    pub fn delivered(&self, proposer: NodeId) -> bool {
        self.delivered.get(proposer).is_some_and(|d| d.is_some())
    }

    /// The broadcast instance of `proposer` (AVID-FP hands its fragment to the node's store).
    pub fn broadcast_mut(&mut self, proposer: NodeId) -> Option<&mut B> {
        self.broadcasts.get_mut(proposer)
    }

    /// The agreement instances (for inspection).
    pub fn abas(&self) -> &[Aba] {
        &self.abas
    }

    fn handle_broadcast_step(
        &mut self,
        j: NodeId,
        child: Step<B::Message, Vec<u8>>,
        step: &mut AcsStep<B::Message>,
        rng: &mut dyn rand_core::CryptoRngCore,
    ) -> Result<(), AcsError<B::Error>> {
        let outs = step.lift(child, |m| AcsMessage { proposer: j, content: AcsContent::Broadcast(m) });
        if self.output_done {
            return Ok(()); // the set is fixed; the instance only completes its own state
        }
        for value in outs {
            if self.delivered[j].is_none() {
                self.delivered[j] = Some(value);
                if !self.abas[j].has_input() {
                    let child = self.abas[j].handle_input(true, rng)?;
                    self.handle_aba_step(j, child, step, rng)?;
                }
            }
        }
        Ok(())
    }

    fn handle_aba_step(
        &mut self,
        j: NodeId,
        child: Step<AbaMessage, bool>,
        step: &mut AcsStep<B::Message>,
        rng: &mut dyn rand_core::CryptoRngCore,
    ) -> Result<(), AcsError<B::Error>> {
        let outs = step.lift(child, |m| AcsMessage { proposer: j, content: AcsContent::Aba(m) });
        for b in outs {
            if self.decided[j].is_some() {
                continue;
            }
            self.decided[j] = Some(b);
            let ones = self.decided.iter().filter(|d| **d == Some(true)).count();
            if b && ones == self.params.quorum() {
                for k in 0..self.params.n {
                    if !self.abas[k].has_input() {
                        let child = self.abas[k].handle_input(false, rng)?;
                        self.handle_aba_step(k, child, step, rng)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn try_output(&mut self, step: &mut AcsStep<B::Message>) {
        if self.output_done || self.decided.iter().any(|d| d.is_none()) {
            return;
        }
        let accepted: Vec<NodeId> = (0..self.params.n).filter(|j| self.decided[*j] == Some(true)).collect();
        if accepted.iter().any(|j| self.delivered[*j].is_none()) {
            return;
        }
        self.output_done = true;
        let mut out = AcsOutput::new();
        let mut mask = 0u64;
        for j in accepted {
            mask |= 1 << j;
            out.insert(j, self.delivered[j].take().unwrap_or_default());
        }
        self.delivered.clear();
        step.events.push(Event::AcsOutput { epoch: self.epoch, accepted: mask });
        step.output.push(out);
    }
}

impl<B> Protocol for Acs<B>
where
    B: Protocol<Input = Vec<u8>, Output = Vec<u8>>,
    B::Error: 'static,
{
    type Input = Vec<u8>;
    type Message = AcsMessage<B::Message>;
    type Output = AcsOutput;
    type Error = AcsError<B::Error>;

    fn handle_input(
        &mut self,
        value: Vec<u8>,
        rng: &mut dyn rand_core::CryptoRngCore,
    ) -> Result<AcsStep<B::Message>, Self::Error> {
        let me = self.our_id;
        let child = self.broadcasts[me].handle_input(value, rng).map_err(AcsError::Broadcast)?;
        let mut step = Step::new();
        self.handle_broadcast_step(me, child, &mut step, rng)?;
        self.try_output(&mut step);
        Ok(step)
    }

    fn handle_message(
        &mut self,
        from: NodeId,
        msg: Self::Message,
        rng: &mut dyn rand_core::CryptoRngCore,
    ) -> Result<AcsStep<B::Message>, Self::Error> {
        let j = msg.proposer;
        if j >= self.params.n || from >= self.params.n {
            return Ok(Step::fault(from, FaultKind::OutOfRange));
        }
        let mut step = Step::new();
        match msg.content {
            // Broadcast traffic goes to its instance until the instance terminates, even after
            // it delivered or ACS output: AVID-FP still takes a late `Val` (the fragment the node
            // stores). A delivered RBC/AVID instance has terminated.
            AcsContent::Broadcast(m) => {
                let rejected = self.output_done && self.decided[j] != Some(true);
                if self.broadcasts[j].terminated() || rejected {
                    return Ok(step);
                }
                let child = self.broadcasts[j].handle_message(from, m, rng).map_err(AcsError::Broadcast)?;
                self.handle_broadcast_step(j, child, &mut step, rng)?;
            }
            AcsContent::Aba(_) if self.output_done => return Ok(step),
            AcsContent::Aba(m) => {
                let child = self.abas[j].handle_message(from, m, rng)?;
                self.handle_aba_step(j, child, &mut step, rng)?;
            }
        }
        if !self.output_done {
            self.try_output(&mut step);
        }
        Ok(step)
    }

    fn terminated(&self) -> bool {
        self.output_done
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use rand::SeedableRng;

    use super::*;
    use crate::crypto::fpc::CrossChecksum;
    use crate::proto::avid_fp::{fpc_context, AvidFp, AvidFpMessage, DispersalCode};
    use crate::proto::broadcast::{Broadcast, BroadcastMessage};
    use crate::SessionId;

    /// A node that delivered an AVID-FP dispersal from others' `Echo`/`Ready` before the
    /// disperser's `Val` reached it still takes its fragment when the `Val` arrives: ACS keeps
    /// forwarding broadcast traffic to an instance that has not terminated (it used to drop
    /// everything for a delivered instance, so the late-`Val` path never ran).
    #[test]
    fn late_val_reaches_a_delivered_avid_fp_instance() {
        let params = Params::new(4).unwrap();
        let session = SessionId::from_name("acs-late-val");
        let code = Arc::new(DispersalCode::reed_solomon(params).unwrap());
        let coin = {
            let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
            let keys = crate::beat::deal(params, session, crate::beat::Settings::default(), &mut rng);
            keys[2].coin_keys()
        };
        let me = 2;
        let bcs =
            (0..4).map(|j| Broadcast::AvidFp(AvidFp::new(params, me, j, 0, &session, code.clone(), 1 << 20))).collect();
        let abas = (0..4).map(|j| Aba::new(params, me, session, 0, j, coin.clone())).collect();
        let mut acs: Acs<Broadcast> = Acs::new(params, me, 0, bcs, abas);
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2);
        // Disperser 0's value, fragments and cross-checksum.
        let fragments = code.linear().encode(&[7u8; 3000]);
        let (cc, _) =
            CrossChecksum::build(code.linear(), code.commitment(), &fpc_context(&session, 0, 0), &fragments).unwrap();
        let msg =
            |m: AvidFpMessage| AcsMessage { proposer: 0, content: AcsContent::Broadcast(BroadcastMessage::AvidFp(m)) };
        for from in [0, 1, 3] {
            let _ = acs.handle_message(from, msg(AvidFpMessage::Echo(cc.clone())), &mut rng).unwrap();
        }
        for from in [0, 1, 3] {
            let _ = acs.handle_message(from, msg(AvidFpMessage::Ready(cc.digest())), &mut rng).unwrap();
        }
        assert!(acs.delivered(0), "delivered from echoes and readies alone");
        let Some(Broadcast::AvidFp(bc)) = acs.broadcast_mut(0) else { panic!() };
        assert!(bc.take_fragment().is_none(), "no fragment yet");
        let val = AvidFpMessage::Val { cc: cc.clone(), fragment: fragments[me].clone(), rows: None };
        let step = acs.handle_message(0, msg(val), &mut rng).unwrap();
        assert!(step.faults.is_empty());
        let Some(Broadcast::AvidFp(bc)) = acs.broadcast_mut(0) else { panic!() };
        assert_eq!(bc.take_fragment().map(|h| h.fragment), Some(fragments[me].clone()));
        // A bad late fragment is a fault against the disperser, not a fragment.
        let mut acs2_val = fragments[me].clone();
        acs2_val[0] ^= 1;
        let step =
            acs.handle_message(0, msg(AvidFpMessage::Val { cc, fragment: acs2_val, rows: None }), &mut rng).unwrap();
        assert_eq!(step.faults.len(), 1);
    }
}
