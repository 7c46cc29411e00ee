//! `partition`: the network splits into two groups until a heal time.

use crate::sim::adversary::common::*;
use crate::sim::adversary::{Adversary, Ctx};

pub(crate) struct Partition {
    pub(crate) side: Vec<bool>,
    pub(crate) heal: u64,
}

impl Adversary for Partition {
    fn name(&self) -> &'static str {
        "partition"
    }
    fn faulty(&self) -> Vec<NodeId> {
        Vec::new()
    }
    fn delay(&mut self, ctx: &mut Ctx<'_>, from: NodeId, to: NodeId, _: &Message, base: u64) -> u64 {
        if ctx.now < self.heal && self.side[from] != self.side[to] {
            *ctx.injected += 1;
            self.heal - ctx.now + base
        } else {
            base
        }
    }
    fn quiet_after(&self) -> u64 {
        self.heal
    }
}
