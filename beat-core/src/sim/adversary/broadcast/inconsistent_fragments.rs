//! `inconsistent-fragments`: fragments that each verify against the root or the commitments but are
//! not one codeword.

use crate::sim::adversary::common::*;
use crate::sim::adversary::{Adversary, Ctx};

/// AVID / AVID-FP: faulty proposers disperse fragments that are each valid against the Merkle
/// root (AVID) or the cross-checksum's commitments (AVID-FP) but are not one codeword (one
/// parity fragment altered before committing); faulty nodes echo accordingly.
pub(crate) struct InconsistentFragments {
    pub(crate) faulty: Vec<NodeId>,
    pub(crate) n: usize,
    pub(crate) chosen: HashMap<(u64, NodeId), Dispersal>,
}

impl Adversary for InconsistentFragments {
    fn name(&self) -> &'static str {
        "inconsistent-fragments"
    }
    fn faulty(&self) -> Vec<NodeId> {
        self.faulty.clone()
    }
    fn tamper(&mut self, ctx: &mut Ctx<'_>, from: NodeId, to: NodeId, msg: Message) -> Vec<Message> {
        let Some((p, m)) = bc_of(&msg) else { return vec![msg] };
        if !self.faulty.contains(&p) || matches!(m, BroadcastMessage::Rbc(_)) {
            return vec![msg];
        }
        let (e, n) = (msg.epoch, self.n);
        let d = self.chosen.entry((e, p)).or_insert_with(|| {
            let v = forged_proposal(ctx, e, p);
            let mut fragments = Carrier::fragments(ctx.variant, n, &v);
            let k = if ctx.variant.dispersed() { fp_code(ctx.variant, n).linear().k() } else { Carrier::code(n).k() };
            let victim = ctx.rng.gen_range(k..n);
            let len = fragments[victim].len();
            fragments[victim][ctx.rng.gen_range(0..len)] ^= 0x5a;
            Dispersal::new(fragments)
        });
        let out = dispersal_traffic(ctx, e, p, m, from, to, d);
        *ctx.injected += 1;
        vec![with_bc(e, p, out)]
    }
}
