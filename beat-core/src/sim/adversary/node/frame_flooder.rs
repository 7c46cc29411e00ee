//! `frame-flooder`: a member that tries to spend the others' memory and disk.
//!
//! Attacks the budgets before the WAL, which rely on a frame being dropped — never logged, never
//! buffered — when it is oversized for the committee's settings, undecodable, for a closed
//! epoch or beyond the window, a copy of one already logged (whatever its message id), or over
//! its sender's bytes for its epoch. It sends all of those on every tick: frames just over the
//! limit, far-future copies of its own messages, closed-epoch copies, garbage, and its recent
//! frames again (the switch would give them new ids). It also floods read requests, which skip
//! the WAL and cost a store read and a fragment-sized answer each: they rely on the per-peer
//! read rate limit. Copies under a made-up incarnation are dropped as stale (and make the peer
//! ask it for a resend, in vain). And it asks every peer on every tick to send its frames of the current
//! epoch again, as a member stuck there would: that relies on a peer resending only while it is
//! stalled in that epoch itself, and at most once per `2 × stall_ms` per asker. The simulator
//! checks that every correct node's WAL stays within the budgets
//! and that the committee stays live.

use rand::Rng;

use super::{NodeAdversary, NodeCtx};
use crate::beat::{Content, Message};
use crate::node::router::{self, Route, Wire};
use crate::NodeId;

/// See the module doc.
#[derive(Debug, Default)]
pub struct FrameFlooder {
    recent: Vec<(NodeId, Vec<u8>)>,
}

impl NodeAdversary for FrameFlooder {
    fn name(&self) -> &'static str {
        "frame-flooder"
    }

    fn outgoing(&mut self, _ctx: &mut NodeCtx<'_>, to: NodeId, frame: Vec<u8>) -> Vec<(NodeId, Vec<u8>)> {
        if self.recent.len() >= 64 {
            self.recent.remove(0);
        }
        self.recent.push((to, frame.clone()));
        vec![(to, frame)]
    }

    fn tick(&mut self, ctx: &mut NodeCtx<'_>) -> Vec<(NodeId, Vec<u8>)> {
        let mut out = Vec::new();
        let to = (ctx.me + ctx.rng.gen_range(1..ctx.n)) % ctx.n;
        // Just over the frame limit.
        out.push((to, vec![0xa5; ctx.max_frame + 1]));
        // Garbage.
        out.push((to, (0..64).map(|_| ctx.rng.gen()).collect()));
        // Its recent frames again, and copies moved to far-future and closed epochs.
        for _ in 0..4 {
            if self.recent.is_empty() {
                break;
            }
            let (to, frame) = self.recent[ctx.rng.gen_range(0..self.recent.len())].clone();
            if let Ok(Route::Consensus { mut stamp, mut message }) = router::route(&frame, &ctx.session) {
                // A copy under a made-up incarnation (dropped as stale: it makes the peer ask
                // it for a resend, in vain).
                let other = crate::node::router::Stamp { incarnation: ctx.rng.gen(), ..stamp };
                out.push((to, ctx.encode(Wire::Consensus { stamp: other, message: message.clone() })));
                for epoch in [ctx.epoch + 5 + ctx.rng.gen_range(0..40), 0] {
                    stamp.epoch = epoch;
                    message.epoch = epoch;
                    out.push((to, ctx.encode(Wire::Consensus { stamp, message: message.clone() })));
                }
            }
            out.push((to, frame));
        }
        // A burst of read requests for committed values (beyond the per-peer read rate).
        if let Some((_, frame)) = self.recent.first() {
            if let Ok(Route::Consensus { mut stamp, .. }) = router::route(frame, &ctx.session) {
                for read in 0..32u64 {
                    let epoch = ctx.epoch.saturating_sub(1 + ctx.rng.gen_range(0..4));
                    stamp.epoch = epoch;
                    let content = Content::ReadRequest { read, proposer: ctx.rng.gen_range(0..ctx.n), chunks: None };
                    out.push((to, ctx.encode(Wire::Consensus { stamp, message: Message { epoch, content } })));
                }
            }
        }
        // "I am stuck in this epoch: send me your frames of it again", to every peer, every tick.
        for peer in (0..ctx.n).filter(|p| *p != ctx.me) {
            out.push((peer, ctx.encode(Wire::Resend { epoch: ctx.epoch })));
        }
        *ctx.injected += out.len() as u64;
        out
    }
}
