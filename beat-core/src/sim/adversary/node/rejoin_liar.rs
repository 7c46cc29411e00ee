//! `rejoin-liar`: a member that tries to fence restarted nodes out.
//!
//! Attacks the rejoin fence, which relies on peers reporting only frames the restarted node
//! really sent: a fence raised from a made-up report silences a correct node until the
//! committee reaches that epoch — with one more node down, for good. It answers every rejoin
//! (before its honest core's answer, which it suppresses) with a stamp for an epoch a thousand
//! ahead and a tag it cannot compute. The node must check the tag, count a fault and ignore it;
//! the simulator's liveness check fails otherwise.

use rand::RngCore;

use super::{NodeAdversary, NodeCtx};
use crate::node::router::{self, Route, Stamp, Wire};
use crate::NodeId;

/// See the module doc.
#[derive(Debug)]
pub struct RejoinLiar;

impl NodeAdversary for RejoinLiar {
    fn name(&self) -> &'static str {
        "rejoin-liar"
    }

    fn outgoing(&mut self, ctx: &mut NodeCtx<'_>, to: NodeId, frame: Vec<u8>) -> Vec<(NodeId, Vec<u8>)> {
        let Ok(Route::RejoinAnswer { incarnation, stale, epoch }) = router::route(&frame, &ctx.session) else {
            return vec![(to, frame)];
        };
        let mut tag = [0u8; 16];
        ctx.rng.fill_bytes(&mut tag);
        let base = stale.map_or(0, |s| s.seq);
        let forged = Stamp { incarnation: incarnation ^ 1, seq: base + 1_000_000, epoch: epoch + 1000, tag };
        *ctx.injected += 1;
        vec![(to, ctx.encode(Wire::RejoinAnswer { incarnation, stale: Some(forged), epoch: epoch + 1000 }))]
    }
}
