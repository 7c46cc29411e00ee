//! `equivocating-proposer` and `canary`: Byzantine proposers send value A to half of the correct
//! nodes and value B to the rest, and echo and ready per recipient accordingly. With `f + 1`
//! colluding nodes (the canary) this breaks broadcast agreement, which the checker must catch.

use crate::sim::adversary::common::*;
use crate::sim::adversary::{Adversary, Ctx};

/// Equivocating proposers (and, with `f + 1` nodes, the canary coalition): every faulty
/// proposer's broadcast carries value A to the first half of the correct nodes and value B to
/// the others; all faulty nodes echo and ready per recipient accordingly.
pub(crate) struct Equivocator {
    pub(crate) faulty: Vec<NodeId>,
    pub(crate) n: usize,
    pub(crate) canary: bool,
    pub(crate) alt: HashMap<(u64, NodeId), (Vec<u8>, Vec<u8>)>,
    pub(crate) carrier: Carrier,
}

impl Equivocator {
    pub(crate) fn group_b(&self, to: NodeId) -> bool {
        let correct: Vec<NodeId> = (0..self.n).filter(|i| !self.faulty.contains(i)).collect();
        correct.iter().position(|c| *c == to).is_some_and(|pos| pos >= correct.len() / 2)
    }
}

impl Adversary for Equivocator {
    fn name(&self) -> &'static str {
        if self.canary {
            "canary"
        } else {
            "equivocating-proposer"
        }
    }
    fn faulty(&self) -> Vec<NodeId> {
        self.faulty.clone()
    }
    fn canary(&self) -> bool {
        self.canary
    }
    fn tamper(&mut self, ctx: &mut Ctx<'_>, from: NodeId, to: NodeId, msg: Message) -> Vec<Message> {
        let Some((p, m)) = bc_of(&msg) else { return vec![msg] };
        if !self.faulty.contains(&p) {
            return vec![msg];
        }
        let e = msg.epoch;
        let in_b = self.group_b(to);
        let (a, b) = self.alt.entry((e, p)).or_insert_with(|| (forged_proposal(ctx, e, p), forged_proposal(ctx, e, p)));
        let v = if in_b { b } else { a };
        *ctx.injected += 1;
        vec![with_bc(e, p, self.carrier.carry(ctx, e, p, m, from, to, v))]
    }
}
