//! `reorder`: a fifth of all messages are delayed 10–100× the median delay until the quiet time.

use crate::sim::adversary::common::*;
use crate::sim::adversary::{Adversary, Ctx};

pub(crate) struct Reorder {
    pub(crate) quiet: u64,
}

impl Adversary for Reorder {
    fn name(&self) -> &'static str {
        "reorder"
    }
    fn faulty(&self) -> Vec<NodeId> {
        Vec::new()
    }
    fn delay(&mut self, ctx: &mut Ctx<'_>, _: NodeId, _: NodeId, _: &Message, base: u64) -> u64 {
        if ctx.now < self.quiet && ctx.rng.gen_ratio(1, 5) {
            *ctx.injected += 1;
            base * ctx.rng.gen_range(10..=100)
        } else {
            base
        }
    }
    fn quiet_after(&self) -> u64 {
        self.quiet
    }
}
