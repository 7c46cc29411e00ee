//! `share-equivocator`: `f` Byzantine members send different decryption-share lists to
//! different recipients (BEAT0–2): their real shares to some, lists with another valid point in
//! place of a share or with the real shares under another member's proof to others, now and then
//! two different lists to the same node, and share lists for proposers outside the common set.
//! Correct nodes must decrypt the same plaintexts whatever subset of lists they see first, and
//! attribute every bad list.

use crate::sim::adversary::common::*;
use crate::sim::adversary::{Adversary, Ctx};

pub(crate) struct ShareEquivocator {
    pub(crate) faulty: Vec<NodeId>,
    pub(crate) n: usize,
}

fn variant_list(ctx: &mut Ctx<'_>, honest: &DecryptionShares, kind: usize) -> DecryptionShares {
    let mut bad = honest.clone();
    match kind {
        0 => {}
        1 => {
            if let Some(t) = (!bad.shares.is_empty()).then(|| ctx.rng.gen_range(0..bad.shares.len())) {
                bad.shares[t] = curve25519_dalek::RistrettoPoint::random(ctx.rng).compress();
            }
        }
        _ => bad.proof.c += curve25519_dalek::Scalar::ONE,
    }
    bad
}

impl Adversary for ShareEquivocator {
    fn name(&self) -> &'static str {
        "share-equivocator"
    }
    fn faulty(&self) -> Vec<NodeId> {
        self.faulty.clone()
    }
    fn tamper(&mut self, ctx: &mut Ctx<'_>, _from: NodeId, to: NodeId, msg: Message) -> Vec<Message> {
        let Content::DecShares { proposer, shares } = &msg.content else { return vec![msg] };
        let (e, j) = (msg.epoch, *proposer);
        let wrap = |proposer: NodeId, shares: DecryptionShares| Message {
            epoch: e,
            content: Content::DecShares { proposer, shares },
        };
        *ctx.injected += 1;
        // Per recipient: the real list, or one of two bad ones.
        let kind = (to + e as usize + j) % 3;
        let mut out = vec![wrap(j, variant_list(ctx, shares, kind))];
        if ctx.rng.gen_ratio(1, 8) {
            out.push(wrap(j, variant_list(ctx, shares, (kind + 1) % 3)));
        }
        if ctx.rng.gen_ratio(1, 8) {
            // Shares for a proposer that may be outside the common set.
            out.push(wrap(ctx.rng.gen_range(0..self.n), shares.clone()));
        }
        out
    }
}
