//! `aba-equivocator`: `f` Byzantine members equivocate in every binary agreement, per
//! recipient and round: `BVal`, `Aux`, `Conf` and `Term` tell each correct node what it already
//! believes (the value of its own latest `BVal` in that round, read off the network: the split
//! that keeps nodes apart), or a random value when it has said nothing yet; sometimes two
//! conflicting versions go to the same node, coin shares go out for the wrong round to some
//! recipients, and some messages name a round far beyond the `MAX_FUTURE_ROUNDS` window.
//! ABA agreement and validity must hold (their thresholds count distinct senders), conflicting
//! duplicates are faults, and far-future rounds are refused without buffering.

use crate::proto::aba::MAX_FUTURE_ROUNDS;
use crate::sim::adversary::common::*;
use crate::sim::adversary::{Adversary, Ctx};

/// A correct node's latest `BVal` per (epoch, instance, round, node).
type Beliefs = HashMap<(u64, NodeId, u32, NodeId), bool>;

pub(crate) struct AbaEquivocator {
    pub(crate) faulty: Vec<NodeId>,
    pub(crate) split: Split,
    pub(crate) beliefs: Beliefs,
}

fn content(ctx: &mut Ctx<'_>, like: &AbaContent, belief: Option<bool>) -> AbaContent {
    let b = belief.unwrap_or_else(|| ctx.rng.gen_bool(0.5));
    match like {
        AbaContent::BVal(_) => AbaContent::BVal(b),
        AbaContent::Aux(_) => AbaContent::Aux(b),
        AbaContent::Conf(_) if belief.is_some() => AbaContent::Conf(BoolSet::single(b)),
        AbaContent::Conf(_) => {
            AbaContent::Conf([BoolSet::single(false), BoolSet::single(true), BoolSet::BOTH][ctx.rng.gen_range(0..3)])
        }
        AbaContent::Term(_) => AbaContent::Term(b),
        AbaContent::Coin(s) => AbaContent::Coin(*s),
    }
}

impl Adversary for AbaEquivocator {
    fn name(&self) -> &'static str {
        "aba-equivocator"
    }
    fn faulty(&self) -> Vec<NodeId> {
        self.faulty.clone()
    }
    fn delay(&mut self, ctx: &mut Ctx<'_>, from: NodeId, to: NodeId, msg: &Message, base: u64) -> u64 {
        // Until the quiet time, correct nodes' votes travel slowly, so that each node hears the
        // Byzantine mirror of its own vote before the others'; and the correct nodes' inputs
        // are split, so rounds past the fixed coin happen.
        let vote = matches!(
            &msg.content,
            Content::Acs(AcsMessage {
                content: AcsContent::Aba(AbaMessage {
                    content: AbaContent::BVal(_) | AbaContent::Aux(_) | AbaContent::Conf(_),
                    ..
                }),
                ..
            })
        );
        if ctx.now < self.split.quiet && vote && !self.faulty.contains(&from) {
            *ctx.injected += 1;
            return self.split.delay(ctx, to, msg, base) + base * ctx.rng.gen_range(2..=6);
        }
        self.split.delay(ctx, to, msg, base)
    }
    fn quiet_after(&self) -> u64 {
        self.split.quiet
    }
    fn observe(&mut self, _ctx: &mut Ctx<'_>, from: NodeId, msg: &Message) -> Vec<crate::sim::adversary::Injected> {
        if let Content::Acs(AcsMessage { proposer, content: AcsContent::Aba(aba) }) = &msg.content {
            if let AbaContent::BVal(b) = aba.content {
                self.beliefs.insert((msg.epoch, *proposer, aba.round, from), b);
            }
        }
        Vec::new()
    }
    fn tamper(&mut self, ctx: &mut Ctx<'_>, _from: NodeId, to: NodeId, msg: Message) -> Vec<Message> {
        let Content::Acs(AcsMessage { proposer, content: AcsContent::Aba(aba) }) = &msg.content else {
            return vec![msg];
        };
        let (e, j) = (msg.epoch, *proposer);
        let wrap = |round: u32, content: AbaContent| Message {
            epoch: e,
            content: Content::Acs(AcsMessage { proposer: j, content: AcsContent::Aba(AbaMessage { round, content }) }),
        };
        *ctx.injected += 1;
        let mut out = Vec::new();
        let round = match &aba.content {
            // A coin share for another round (valid as a signature, wrong for this round).
            AbaContent::Coin(_) if ctx.rng.gen_bool(0.3) => aba.round + 1,
            _ => aba.round,
        };
        let belief = self.beliefs.get(&(e, j, aba.round, to)).copied();
        out.push(wrap(round, content(ctx, &aba.content, belief)));
        if ctx.rng.gen_ratio(1, 8) {
            out.push(wrap(aba.round, content(ctx, &aba.content, None)));
        }
        if ctx.rng.gen_ratio(1, 20) {
            let far = aba.round + MAX_FUTURE_ROUNDS + 1 + ctx.rng.gen_range(0..100);
            out.push(wrap(far, content(ctx, &aba.content, None)));
        }
        out
    }
}
