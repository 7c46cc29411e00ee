//! `catch-up-liar`: a member that lies to lagging nodes.
//!
//! Attacks catch-up's shortcut — taking a committed batch from peers instead of running the
//! epoch — which relies on `f + 1` matching answers (one of them from a correct peer), on
//! answers counting only from peers that were asked and only for the epochs asked, and on one
//! vote per peer and epoch. It answers every request with batches whose transactions it
//! rewrote and whose stored values' cross-checksums it swapped (well-formed, so only the vote
//! count can tell), answers twice, and sends batches for
//! epochs nobody asked it for. A node that applies one of them commits a block no correct node
//! committed: the simulator's log check fails.
//!
//! It also attacks the candidate budget: its answers for the later epochs of each request are
//! garbage, four padded to the largest answer a node accepts and then ever smaller ones. Where one budget is shared by all peers
//! (the simulator gives room for four such answers), the garbage — kept until those epochs
//! pass — takes all of it, every correct peer's answer for the epoch the node needs is dropped,
//! and a node that can only come back by catch-up never does: a liveness failure.

use rand::Rng;

use super::{NodeAdversary, NodeCtx};
use crate::beat::Batch;
use crate::codec;
use crate::node::router::Wire;
use crate::NodeId;

/// See the module doc.
#[derive(Debug)]
pub struct CatchUpLiar;

fn forge(bytes: &[u8]) -> Vec<u8> {
    match codec::decode::<Batch>(bytes, codec::MAX_FRAME_BYTES) {
        Ok(mut b) => {
            b.transactions.push(b"forged by catch-up-liar".to_vec());
            // BEAT3/4: a node taking the batch trusts the cross-checksums it carries for reads;
            // swap them (and their digests) between values, so only the vote count can tell.
            if b.stored.len() > 1 {
                let first = b.stored[0].clone();
                let last = b.stored.len() - 1;
                b.stored[0].digest = b.stored[last].digest;
                b.stored[0].checksum = b.stored[last].checksum.clone();
                b.stored[last].digest = first.digest;
                b.stored[last].checksum = first.checksum;
            }
            codec::encode(&b)
        }
        Err(_) => bytes.to_vec(),
    }
}

impl NodeAdversary for CatchUpLiar {
    fn name(&self) -> &'static str {
        "catch-up-liar"
    }

    fn serve(
        &mut self,
        ctx: &mut NodeCtx<'_>,
        to: NodeId,
        from: u64,
        count: u32,
        committed: &dyn Fn(u64) -> Option<Vec<u8>>,
    ) -> Vec<(NodeId, Vec<u8>)> {
        let mut out = Vec::new();
        for (i, e) in (from + 1..from + u64::from(count)).enumerate() {
            // Garbage for the epochs after the one the node needs now: four at the size limit,
            // then ever smaller, to fill whatever room a shared budget has left.
            let size = ctx.max_committed.saturating_sub(256) >> i.saturating_sub(3).min(20);
            let mut garbage = vec![0u8; size.max(16)];
            ctx.rng.fill(&mut garbage[..]);
            *ctx.injected += 1;
            out.push((to, ctx.encode(Wire::Committed { epoch: e, batch: garbage.into() })));
        }
        for e in from..from + u64::from(count) {
            let Some(real) = committed(e) else { break };
            let forged = forge(&real);
            *ctx.injected += 2;
            // Twice: a second vote for the same epoch must not count.
            out.push((to, ctx.encode(Wire::Committed { epoch: e, batch: forged.clone().into() })));
            out.push((to, ctx.encode(Wire::Committed { epoch: e, batch: forged.into() })));
        }
        out
    }

    fn tick(&mut self, ctx: &mut NodeCtx<'_>) -> Vec<(NodeId, Vec<u8>)> {
        if !ctx.rng.gen_ratio(1, 4) {
            return Vec::new();
        }
        // A batch for an epoch nobody asked this member for.
        let to = (ctx.me + ctx.rng.gen_range(1..ctx.n)) % ctx.n;
        let epoch = ctx.epoch.saturating_sub(ctx.rng.gen_range(0..3));
        let batch = Batch {
            epoch,
            proposers: Vec::new(),
            transactions: vec![b"unsolicited".to_vec()],
            stored: Vec::new(),
            client_ids: Vec::new(),
        };
        *ctx.injected += 1;
        vec![(to, ctx.encode(Wire::Committed { epoch, batch: codec::encode(&batch).into() }))]
    }
}
