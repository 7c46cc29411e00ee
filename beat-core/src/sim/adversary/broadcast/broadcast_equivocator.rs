//! `broadcast-equivocator`: `f` Byzantine members equivocate in every broadcast instance, per
//! recipient: as proposers their `Val` carries one of three values depending on the recipient,
//! and in every instance (correct proposers' included) their `Echo` and `Ready` name one of
//! three values per recipient — for RBC the value itself, for AVID a fragment of another valid
//! dispersal (it verifies against its own root), for AVID-FP another cross-checksum. Now and then
//! a recipient gets two conflicting versions of the same message. Agreement must hold: a correct
//! node delivers only what `n − f` (or `2f + 1`) members stand behind, and `f` liars cannot
//! make two such sets.

use crate::sim::adversary::common::*;
use crate::sim::adversary::{Adversary, Ctx};

pub(crate) struct BroadcastEquivocator {
    pub(crate) faulty: Vec<NodeId>,
    /// Two made-up values per (epoch, proposer).
    pub(crate) alt: HashMap<(u64, NodeId), [Vec<u8>; 2]>,
    /// Per (epoch, proposer, sender, recipient): which version it gets (0 honest, 1–2 made up).
    pub(crate) choice: HashMap<(u64, NodeId, NodeId, NodeId), usize>,
    pub(crate) carrier: Carrier,
}

impl Adversary for BroadcastEquivocator {
    fn name(&self) -> &'static str {
        "broadcast-equivocator"
    }
    fn faulty(&self) -> Vec<NodeId> {
        self.faulty.clone()
    }
    fn tamper(&mut self, ctx: &mut Ctx<'_>, from: NodeId, to: NodeId, msg: Message) -> Vec<Message> {
        let Some((p, m)) = bc_of(&msg) else { return vec![msg] };
        let (e, m) = (msg.epoch, m.clone());
        if let std::collections::hash_map::Entry::Vacant(slot) = self.alt.entry((e, p)) {
            slot.insert([forged_proposal(ctx, e, p), forged_proposal(ctx, e, p)]);
        }
        let version = *self.choice.entry((e, p, from, to)).or_insert_with(|| ctx.rng.gen_range(0..3));
        let mut versions = vec![version];
        if ctx.rng.gen_ratio(1, 10) {
            versions.push((version + 1) % 3); // a conflicting second version to the same node
        }
        let mut out = Vec::new();
        for v in versions {
            if v == 0 {
                out.push(msg.clone());
                continue;
            }
            *ctx.injected += 1;
            let value = self.alt[&(e, p)][v - 1].clone();
            // Only the proposer has a `Val` to send; others equivocate in Echo and Ready.
            let carried = self.carrier.carry(ctx, e, p, &m, from, to, &value);
            out.push(with_bc(e, p, carried));
        }
        out
    }
}
