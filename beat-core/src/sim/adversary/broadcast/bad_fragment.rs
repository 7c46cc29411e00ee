//! `bad-fragment`: AVID/AVID-FP fragments whose proofs fail, echoed and sent as the proposer's `Val`.

use crate::sim::adversary::common::*;
use crate::sim::adversary::{Adversary, Ctx};

/// AVID: faulty nodes echo corrupted fragments (their Merkle branches fail), and as proposers
/// send one node a corrupted fragment.
pub(crate) struct BadFragment {
    pub(crate) faulty: Vec<NodeId>,
}

impl Adversary for BadFragment {
    fn name(&self) -> &'static str {
        "bad-fragment"
    }
    fn faulty(&self) -> Vec<NodeId> {
        self.faulty.clone()
    }
    fn tamper(&mut self, ctx: &mut Ctx<'_>, _from: NodeId, to: NodeId, msg: Message) -> Vec<Message> {
        let Some((p, m)) = bc_of(&msg) else { return vec![msg] };
        let victim = to == (p + 1) % ctx.keys.len();
        let out = match m {
            BroadcastMessage::Avid(AvidMessage::Echo(f)) => {
                let mut f = f.clone();
                flip(&mut f.data, ctx.rng);
                BroadcastMessage::Avid(AvidMessage::Echo(f))
            }
            BroadcastMessage::Avid(AvidMessage::Val(f)) if victim => {
                let mut f = f.clone();
                flip(&mut f.data, ctx.rng);
                BroadcastMessage::Avid(AvidMessage::Val(f))
            }
            BroadcastMessage::AvidFp(AvidFpMessage::Val { cc, fragment, rows }) if victim => {
                let (mut fragment, mut rows) = (fragment.clone(), rows.clone());
                // The fragment, or (BEAT4) the row table that proves it.
                match rows.as_mut() {
                    Some(t) if ctx.rng.gen_bool(0.5) => {
                        let mut bytes = std::mem::take(t).into_vec();
                        flip(&mut bytes, ctx.rng);
                        *t = serde_bytes::ByteBuf::from(bytes);
                    }
                    _ => flip(&mut fragment, ctx.rng),
                }
                BroadcastMessage::AvidFp(AvidFpMessage::Val { cc: cc.clone(), fragment, rows })
            }
            _ => return vec![msg],
        };
        *ctx.injected += 1;
        vec![with_bc(msg.epoch, p, out)]
    }
}
