//! `coin-steering`: the HoneyBadgerBFT issue-59 attack on the ABA coin.

use crate::sim::adversary::common::*;
use crate::sim::adversary::{Adversary, Ctx, Injected};

/// The scripted coin attack; see [`AdversaryKind::CoinSteering`].
pub(crate) struct CoinSteering {
    pub(crate) faulty: Vec<NodeId>,
    pub(crate) split: Split,
    /// Coins learned: (epoch, instance, round) → value.
    pub(crate) learned: HashMap<(u64, NodeId, u32), bool>,
}

impl CoinSteering {
    pub(crate) fn aba_of(msg: &Message) -> Option<(NodeId, &AbaMessage)> {
        match &msg.content {
            Content::Acs(AcsMessage { proposer, content: AcsContent::Aba(m) }) => Some((*proposer, m)),
            _ => None,
        }
    }
}

impl Adversary for CoinSteering {
    fn name(&self) -> &'static str {
        "coin-steering"
    }
    fn faulty(&self) -> Vec<NodeId> {
        self.faulty.clone()
    }
    fn quiet_after(&self) -> u64 {
        self.split.quiet
    }
    fn tamper(&mut self, ctx: &mut Ctx<'_>, _from: NodeId, _to: NodeId, msg: Message) -> Vec<Message> {
        let Some((j, m)) = Self::aba_of(&msg) else { return vec![msg] };
        let wrap = |content| Message {
            epoch: msg.epoch,
            content: Content::Acs(AcsMessage {
                proposer: j,
                content: AcsContent::Aba(AbaMessage { round: m.round, content }),
            }),
        };
        match m.content {
            // Vote for both values, so correct nodes' bin_values fill with {0, 1}.
            AbaContent::BVal(_) => {
                *ctx.injected += 1;
                vec![wrap(AbaContent::BVal(false)), wrap(AbaContent::BVal(true))]
            }
            // Hold Aux/Conf until the coin is known (then `observe` injects the steering votes).
            AbaContent::Aux(_) | AbaContent::Conf(_) if m.round >= FIXED_COIN_ROUNDS => {
                *ctx.injected += 1;
                match self.learned.get(&(msg.epoch, j, m.round)) {
                    Some(&s) => vec![wrap(AbaContent::Aux(!s)), wrap(AbaContent::Conf(BoolSet::single(!s)))],
                    None => Vec::new(),
                }
            }
            _ => vec![msg],
        }
    }
    fn observe(&mut self, ctx: &mut Ctx<'_>, from: NodeId, msg: &Message) -> Vec<Injected> {
        let Some((j, m)) = Self::aba_of(msg) else { return Vec::new() };
        let AbaContent::Coin(share) = &m.content else { return Vec::new() };
        let key = (msg.epoch, j, m.round);
        if self.learned.contains_key(&key) {
            return Vec::new();
        }
        // f Byzantine shares plus this correct one: the adversary can compute the coin.
        let keys = &ctx.keys[from];
        let domain =
            Domain { protocol: COIN_PROTOCOL, session: &keys.public.session, epoch: msg.epoch, instance: j as u64 };
        let name = CoinName { domain, round: m.round };
        let mut shares: Vec<(NodeId, CoinShare)> =
            self.faulty.iter().map(|&b| (b, ctx.keys[b].coin_secret.sign(&name))).collect();
        shares.push((from, *share));
        let Ok(sig) = keys.public.coin.combine(&shares) else { return Vec::new() };
        let s = sig.bit();
        self.learned.insert(key, s);
        // Every Byzantine node now votes against the coin to everyone.
        let mut out = Vec::new();
        for &b in &self.faulty {
            for content in [AbaContent::Aux(!s), AbaContent::Conf(BoolSet::single(!s))] {
                let aba = AbaMessage { round: m.round, content };
                out.push((
                    b,
                    Target::All,
                    Message {
                        epoch: msg.epoch,
                        content: Content::Acs(AcsMessage { proposer: j, content: AcsContent::Aba(aba) }),
                    },
                ));
            }
        }
        *ctx.injected += out.len() as u64;
        out
    }
    fn delay(&mut self, ctx: &mut Ctx<'_>, from: NodeId, to: NodeId, msg: &Message, base: u64) -> u64 {
        // Slow correct nodes' Aux and Conf so the coin could come out before they are counted.
        if ctx.now < self.split.quiet && !self.faulty.contains(&from) {
            if let Some((_, m)) = Self::aba_of(msg) {
                if matches!(m.content, AbaContent::Aux(_) | AbaContent::Conf(_)) {
                    return base * ctx.rng.gen_range(10..=100);
                }
            }
        }
        self.split.delay(ctx, to, msg, base)
    }
}
