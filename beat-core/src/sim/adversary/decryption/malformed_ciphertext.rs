//! `malformed-ciphertext`: proposals that are garbage, fail their proof, or replay a correct
//! node's ciphertext under the wrong label.

use crate::sim::adversary::common::*;
use crate::sim::adversary::{Adversary, Ctx, Injected};

pub(crate) struct Malformed {
    pub(crate) faulty: Vec<NodeId>,
    pub(crate) n: usize,
    pub(crate) snoop: Snoop,
    pub(crate) chosen: HashMap<(u64, NodeId), Vec<u8>>,
    pub(crate) carrier: Carrier,
}

impl Malformed {
    /// A malformed proposal: garbage, a ciphertext whose proof fails, or a replay of a correct
    /// node's proposal (whose ciphertext carries that node's label). For BEAT2, a batch mixing
    /// one valid client transaction with garbage, a broken proof and a relabelled ciphertext.
    pub(crate) fn proposal(&self, ctx: &mut Ctx<'_>, e: u64, p: NodeId) -> Vec<u8> {
        let broken = |ct: &mut Ciphertext| {
            if let Some(b) = ct.payload.first_mut() {
                *b ^= 1;
            }
        };
        if ctx.variant.client_encrypted() {
            let valid = forged_proposal(ctx, e, p);
            let Ok(batch) = Contribution::decode(&valid, usize::MAX, 16, usize::MAX) else { return valid };
            let mut txs = batch.clone();
            txs.push((0..ctx.rng.gen_range(0..100)).map(|_| ctx.rng.gen()).collect());
            if let Ok(mut ctx_tx) = ClientTransaction::decode(&batch[0], usize::MAX) {
                ctx_tx.client += 1; // relabelled: the label no longer matches
                txs.push(codec::encode(&ctx_tx));
                ctx_tx.client -= 1;
                ctx_tx.seq += 1;
                broken(&mut ctx_tx.ciphertext);
                txs.push(codec::encode(&ctx_tx));
            }
            return Contribution::encode(&txs);
        }
        match ctx.rng.gen_range(0..3) {
            0 => (0..ctx.rng.gen_range(0..200)).map(|_| ctx.rng.gen()).collect(),
            1 => {
                let v = forged_proposal(ctx, e, p);
                match codec::decode::<Ciphertext>(&v, usize::MAX) {
                    Ok(mut ct) => {
                        broken(&mut ct);
                        codec::encode(&ct)
                    }
                    Err(_) => v,
                }
            }
            _ => self.snoop.last.clone().unwrap_or_else(|| vec![0xff; 3]),
        }
    }
}

impl Adversary for Malformed {
    fn name(&self) -> &'static str {
        "malformed-ciphertext"
    }
    fn faulty(&self) -> Vec<NodeId> {
        self.faulty.clone()
    }
    fn observe(&mut self, _ctx: &mut Ctx<'_>, from: NodeId, msg: &Message) -> Vec<Injected> {
        self.snoop.observe(self.n, from, msg);
        Vec::new()
    }
    fn tamper(&mut self, ctx: &mut Ctx<'_>, from: NodeId, to: NodeId, msg: Message) -> Vec<Message> {
        let Some((p, m)) = bc_of(&msg) else { return vec![msg] };
        if !self.faulty.contains(&p) {
            return vec![msg];
        }
        let e = msg.epoch;
        if !self.chosen.contains_key(&(e, p)) {
            let bad = self.proposal(ctx, e, p);
            self.chosen.insert((e, p), bad);
        }
        *ctx.injected += 1;
        let v = self.chosen[&(e, p)].clone();
        vec![with_bc(e, p, self.carrier.carry(ctx, e, p, m, from, to, &v))]
    }
}
