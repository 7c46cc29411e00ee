//! `byzantine-holder`: holders answer reads with altered fragments or chunks.

use crate::sim::adversary::common::*;
use crate::sim::adversary::{Adversary, Ctx};

/// BEAT3/4: `f` Byzantine holders answer reads with altered fragments or chunks.
pub(crate) struct WrongReadData {
    pub(crate) faulty: Vec<NodeId>,
}

impl Adversary for WrongReadData {
    fn name(&self) -> &'static str {
        "byzantine-holder"
    }
    fn faulty(&self) -> Vec<NodeId> {
        self.faulty.clone()
    }
    fn tamper(&mut self, ctx: &mut Ctx<'_>, _from: NodeId, _to: NodeId, mut msg: Message) -> Vec<Message> {
        if let Content::ReadResponse { data, .. } = &mut msg.content {
            let mut bytes = data.take().map(|d| d.into_vec()).unwrap_or_default();
            flip(&mut bytes, ctx.rng);
            *data = Some(serde_bytes::ByteBuf::from(bytes));
            *ctx.injected += 1;
        }
        vec![msg]
    }
}
