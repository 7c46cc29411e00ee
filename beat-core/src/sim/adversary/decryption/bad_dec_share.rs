//! `bad-dec-share`: decryption shares with broken DLEQ proofs.

use crate::sim::adversary::common::*;
use crate::sim::adversary::{Adversary, Ctx};

pub(crate) struct BadDec {
    pub(crate) faulty: Vec<NodeId>,
}

impl Adversary for BadDec {
    fn name(&self) -> &'static str {
        "bad-dec-share"
    }
    fn faulty(&self) -> Vec<NodeId> {
        self.faulty.clone()
    }
    fn tamper(&mut self, ctx: &mut Ctx<'_>, _from: NodeId, _to: NodeId, msg: Message) -> Vec<Message> {
        let Content::DecShares { proposer, shares } = &msg.content else { return vec![msg] };
        if shares.shares.is_empty() {
            return vec![msg];
        }
        *ctx.injected += 1;
        let mut bad: DecryptionShares = shares.clone();
        let t = ctx.rng.gen_range(0..bad.shares.len());
        match ctx.rng.gen_range(0..3) {
            // Another valid point in place of one share: the batched proof must catch it.
            0 => bad.shares[t] = curve25519_dalek::RistrettoPoint::random(ctx.rng).compress(),
            // The right shares with a broken proof.
            1 => bad.proof.z += curve25519_dalek::Scalar::ONE,
            // One share too few.
            _ => {
                bad.shares.pop();
            }
        }
        vec![Message { epoch: msg.epoch, content: Content::DecShares { proposer: *proposer, shares: bad } }]
    }
}
