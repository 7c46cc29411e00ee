//! `client-replay`: Byzantine proposers propose transactions that already committed, some
//! within the de-duplication window and some long after it (BEAT0–2).
//!
//! For BEAT2 they re-propose the clients' original ciphertexts (every member sees them), which
//! still carry valid labels and proofs: only the per-client replay windows stop a second commit
//! of the same `(client, seq)`, however late. For BEAT0/1 they re-encrypt committed plaintexts
//! under their own label: a repeat within `dedup_epochs` must be dropped; after the window the
//! protocol promises nothing, and the checker's `no-duplicate-tx` says exactly that.

use crate::beat::batch::ClientTxId;
use crate::sim::adversary::common::*;
use crate::sim::adversary::{Adversary, Ctx};

pub(crate) struct ClientReplay {
    pub(crate) faulty: Vec<NodeId>,
    /// The committee's de-duplication window.
    pub(crate) dedup_epochs: u64,
    /// The replayed proposal per (epoch, proposer), once chosen.
    pub(crate) chosen: HashMap<(u64, NodeId), Option<Vec<u8>>>,
    /// BEAT2: each submitted client transaction by identity (built from `ctx.submitted`).
    pub(crate) ciphertexts: HashMap<ClientTxId, Vec<u8>>,
    pub(crate) indexed: usize,
    pub(crate) carrier: Carrier,
}

impl ClientReplay {
    /// Up to two transactions committed before the window and one inside it, if any.
    fn replayed(&mut self, ctx: &mut Ctx<'_>, epoch: u64, proposer: NodeId) -> Option<Vec<u8>> {
        let mut old = Vec::new();
        let mut recent = Vec::new();
        for b in ctx.log {
            let pool = if b.epoch + self.dedup_epochs < epoch { &mut old } else { &mut recent };
            if ctx.variant.client_encrypted() {
                pool.extend(b.client_ids.iter().map(|id| Err(*id)));
            } else {
                pool.extend(b.transactions.iter().map(|tx| Ok(tx.clone())));
            }
        }
        let mut pick = |pool: &[Result<Vec<u8>, ClientTxId>], k: usize| -> Vec<Result<Vec<u8>, ClientTxId>> {
            (0..k.min(pool.len())).map(|_| pool[ctx.rng.gen_range(0..pool.len())].clone()).collect()
        };
        let mut txs = pick(&old, 2);
        txs.extend(pick(&recent, 1));
        if txs.is_empty() {
            return None;
        }
        if ctx.variant.client_encrypted() {
            for tx in &ctx.submitted[self.indexed..] {
                if let Ok(c) = ClientTransaction::decode(tx, usize::MAX) {
                    self.ciphertexts.insert(c.id(), tx.clone());
                }
            }
            self.indexed = ctx.submitted.len();
            let cts: Vec<Vec<u8>> = txs
                .iter()
                .filter_map(|t| t.as_ref().err())
                .filter_map(|id| self.ciphertexts.get(id).cloned())
                .collect();
            return Some(Contribution::encode(&cts));
        }
        let plain: Vec<Vec<u8>> = txs.into_iter().filter_map(Result::ok).collect();
        let keys = &ctx.keys[proposer];
        let label = proposal_label(&keys.public.session, epoch, proposer);
        let ct = keys.public.encryption.encrypt(&label, &Contribution::encode(&plain), ctx.rng);
        Some(codec::encode(&ct))
    }
}

impl Adversary for ClientReplay {
    fn name(&self) -> &'static str {
        "client-replay"
    }
    fn faulty(&self) -> Vec<NodeId> {
        self.faulty.clone()
    }
    fn tamper(&mut self, ctx: &mut Ctx<'_>, from: NodeId, to: NodeId, msg: Message) -> Vec<Message> {
        let Some((p, m)) = bc_of(&msg) else { return vec![msg] };
        if !self.faulty.contains(&p) {
            return vec![msg];
        }
        let e = msg.epoch;
        if !self.chosen.contains_key(&(e, p)) {
            let v = self.replayed(ctx, e, p);
            self.chosen.insert((e, p), v);
        }
        let Some(Some(v)) = self.chosen.get(&(e, p)).cloned() else { return vec![msg] };
        *ctx.injected += 1;
        let m = m.clone();
        vec![with_bc(e, p, self.carrier.carry(ctx, e, p, &m, from, to, &v))]
    }
}
