//! `bad-coin-share`: invalid threshold-coin shares (random points, shares of another round), under
//! a schedule that pushes ABA into threshold-coin rounds.

use crate::sim::adversary::common::*;
use crate::sim::adversary::{Adversary, Ctx};

pub(crate) struct BadCoin {
    pub(crate) faulty: Vec<NodeId>,
    pub(crate) split: Split,
}

impl Adversary for BadCoin {
    fn name(&self) -> &'static str {
        "bad-coin-share"
    }
    fn faulty(&self) -> Vec<NodeId> {
        self.faulty.clone()
    }
    fn delay(&mut self, ctx: &mut Ctx<'_>, _from: NodeId, to: NodeId, msg: &Message, base: u64) -> u64 {
        self.split.delay(ctx, to, msg, base)
    }
    fn quiet_after(&self) -> u64 {
        self.split.quiet
    }
    fn tamper(&mut self, ctx: &mut Ctx<'_>, from: NodeId, _to: NodeId, msg: Message) -> Vec<Message> {
        let Content::Acs(AcsMessage {
            proposer,
            content: AcsContent::Aba(AbaMessage { round, content: AbaContent::Coin(_) }),
        }) = &msg.content
        else {
            return vec![msg];
        };
        *ctx.injected += 1;
        let share = if ctx.rng.gen_bool(0.5) {
            // A random point.
            CoinShare(G2Affine::from(G2Projective::generator() * bls12_381::Scalar::from(ctx.rng.gen::<u64>())))
        } else {
            // A genuine share for the wrong round.
            let keys = &ctx.keys[from];
            let domain = Domain {
                protocol: COIN_PROTOCOL,
                session: &keys.public.session,
                epoch: msg.epoch,
                instance: *proposer as u64,
            };
            keys.coin_secret.sign(&CoinName { domain, round: round + 1 })
        };
        let content = AbaContent::Coin(share);
        vec![Message {
            epoch: msg.epoch,
            content: Content::Acs(AcsMessage {
                proposer: *proposer,
                content: AcsContent::Aba(AbaMessage { round: *round, content }),
            }),
        }]
    }
}
