//! `crafted-kappa`: the attack on the decryption fast path (design.md §5a).
//!
//! The key commitment `κ` of a ciphertext is chosen by whoever encrypts. A Byzantine proposer
//! (BEAT0/1) or client (BEAT2) that knows `r` can compute an honest node's decryption share
//! `h_v^r` from public keys, make up a share `T` for itself, and set `κ` and the DEM key from
//! `λ_v·h_v^r + λ_a·T`. Its proposal passes `verify_ciphertext`. It then sends `T` (with a
//! proof that does not verify) to the victim only, and the scheduler holds back the other
//! shares for that proposal at the victim, so the victim's first `f + 1` shares are its own and
//! `T`. A node that combines shares it has not verified opens the forged plaintext there, while
//! every other node commits an empty contribution: the logs diverge. A node that verifies
//! every share it combines never uses `T`, and every node fails to open the ciphertext alike.

use crate::beat::client::client_label;
use crate::crypto::elgamal::adversarial::crafted_key_commitment;
use crate::sim::adversary::common::*;
use crate::sim::adversary::{Adversary, Ctx};

pub(crate) struct CraftedKappa {
    /// The Byzantine proposer (the first faulty node) and the rest of the faulty set.
    pub(crate) faulty: Vec<NodeId>,
    /// The correct node the forged plaintext is aimed at.
    pub(crate) victim: NodeId,
    /// Per epoch: the proposal carrying the crafted ciphertext, and the forged share `T`.
    pub(crate) chosen: HashMap<u64, (Vec<u8>, Vec<curve25519_dalek::ristretto::CompressedRistretto>)>,
    pub(crate) carrier: Carrier,
}

impl CraftedKappa {
    fn attacker(&self) -> NodeId {
        self.faulty[0]
    }

    fn proposal(&mut self, ctx: &mut Ctx<'_>, epoch: u64) -> Vec<u8> {
        let (attacker, victim, faulty) = (self.attacker(), self.victim, self.faulty.clone());
        let entry = self.chosen.entry(epoch).or_insert_with(|| {
            let keys = &ctx.keys[attacker];
            let tx = format!("crafted-kappa-{epoch}-{}", ctx.rng.gen::<u32>()).into_bytes();
            ctx.invented.push(tx.clone());
            let pk = &keys.public.encryption;
            if ctx.variant.client_encrypted() {
                let client = (1 << 41) + epoch;
                let label = client_label(&keys.public.session, client, 0);
                let (ct, t) = crafted_key_commitment(pk, &label, &tx, victim, &faulty, ctx.rng);
                let ctx_tx = ClientTransaction { client, seq: 0, ciphertext: ct };
                (Contribution::encode(&[codec::encode(&ctx_tx)]), t)
            } else {
                let label = proposal_label(&keys.public.session, epoch, attacker);
                let (ct, t) =
                    crafted_key_commitment(pk, &label, &Contribution::encode(&[tx]), victim, &faulty, ctx.rng);
                (codec::encode(&ct), t)
            }
        });
        entry.0.clone()
    }
}

impl Adversary for CraftedKappa {
    fn name(&self) -> &'static str {
        "crafted-kappa"
    }
    fn faulty(&self) -> Vec<NodeId> {
        self.faulty.clone()
    }
    fn tamper(&mut self, ctx: &mut Ctx<'_>, from: NodeId, to: NodeId, msg: Message) -> Vec<Message> {
        let e = msg.epoch;
        let attacker = self.attacker();
        match &msg.content {
            Content::DecShares { proposer, shares } if *proposer == attacker && to == self.victim => {
                let Some((_, forged)) = self.chosen.get(&e) else { return vec![msg] };
                let Some(t) = self.faulty.iter().position(|b| *b == from).map(|i| forged[i]) else { return vec![msg] };
                *ctx.injected += 1;
                let mut forged: DecryptionShares = shares.clone();
                if let Some(first) = forged.shares.first_mut() {
                    *first = t;
                }
                vec![Message { epoch: e, content: Content::DecShares { proposer: attacker, shares: forged } }]
            }
            _ => match bc_of(&msg) {
                Some((p, m)) if p == attacker => {
                    let v = self.proposal(ctx, e);
                    *ctx.injected += 1;
                    let m = m.clone();
                    vec![with_bc(e, p, self.carrier.carry(ctx, e, p, &m, from, to, &v))]
                }
                _ => vec![msg],
            },
        }
    }
    fn delay(&mut self, ctx: &mut Ctx<'_>, from: NodeId, to: NodeId, msg: &Message, base: u64) -> u64 {
        // Hold back the other nodes' shares for the attacker's proposal at the victim, so the
        // forged share is among the first f + 1 it has.
        match &msg.content {
            Content::DecShares { proposer, .. }
                if *proposer == self.attacker() && to == self.victim && !self.faulty.contains(&from) =>
            {
                *ctx.injected += 1;
                base + 400
            }
            _ => base,
        }
    }
}
