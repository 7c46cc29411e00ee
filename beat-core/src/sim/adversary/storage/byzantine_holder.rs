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
            let mut d = data.take().unwrap_or(crate::beat::node::ReadData {
                bytes: Default::default(),
                rows: None,
                proofs: Vec::new(),
                row_proofs: Vec::new(),
            });
            // The bytes, or (BEAT4) the row fingerprints that prove them.
            match (ctx.rng.gen_range(0..3), d.rows.as_mut(), d.row_proofs.first_mut()) {
                (0, Some(t), _) => {
                    let mut bytes = std::mem::take(t).into_vec();
                    flip(&mut bytes, ctx.rng);
                    *t = serde_bytes::ByteBuf::from(bytes);
                }
                (1, _, Some(p)) => flip(&mut p.row, ctx.rng),
                _ => {
                    let mut bytes = std::mem::take(&mut d.bytes).into_vec();
                    flip(&mut bytes, ctx.rng);
                    d.bytes = serde_bytes::ByteBuf::from(bytes);
                }
            }
            *data = Some(d);
            *ctx.injected += 1;
        }
        vec![msg]
    }
}
