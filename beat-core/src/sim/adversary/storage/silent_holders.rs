//! `silent-holders`: holders take part in consensus but never answer reads.

use crate::sim::adversary::common::*;
use crate::sim::adversary::{Adversary, Ctx};

/// BEAT3/4: `f` holders take part in consensus but never answer reads.
pub(crate) struct SilentHolders {
    pub(crate) faulty: Vec<NodeId>,
}

impl Adversary for SilentHolders {
    fn name(&self) -> &'static str {
        "silent-holders"
    }
    fn faulty(&self) -> Vec<NodeId> {
        self.faulty.clone()
    }
    fn tamper(&mut self, ctx: &mut Ctx<'_>, _from: NodeId, _to: NodeId, msg: Message) -> Vec<Message> {
        if matches!(msg.content, Content::ReadResponse { .. }) {
            *ctx.injected += 1;
            return Vec::new();
        }
        vec![msg]
    }
}
