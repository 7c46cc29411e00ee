//! `laggard`: one correct node hears nothing until a heal time while the others run on, then
//! everything at once. It falls more than `max_future_epochs` behind, so it must buffer
//! messages for epochs beyond its window and work through them in order (the Beat-level part of
//! catching up; the node runtime adds fetching committed epochs, exercised in the node-level
//! simulation).

use crate::sim::adversary::common::*;
use crate::sim::adversary::{Adversary, Ctx};

pub(crate) struct Laggard {
    pub(crate) victim: NodeId,
    pub(crate) heal: u64,
}

impl Adversary for Laggard {
    fn name(&self) -> &'static str {
        "laggard"
    }
    fn faulty(&self) -> Vec<NodeId> {
        Vec::new()
    }
    fn delay(&mut self, ctx: &mut Ctx<'_>, _from: NodeId, to: NodeId, _msg: &Message, base: u64) -> u64 {
        if to == self.victim && ctx.now < self.heal {
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
