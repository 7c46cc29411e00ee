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
            BroadcastMessage::AvidFp(AvidFpMessage::Val { cc, fragment }) if victim => {
                let mut fragment = fragment.clone();
                flip(&mut fragment, ctx.rng);
                BroadcastMessage::AvidFp(AvidFpMessage::Val { cc: cc.clone(), fragment })
            }
            _ => return vec![msg],
        };
        *ctx.injected += 1;
        vec![with_bc(msg.epoch, p, out)]
    }
}
