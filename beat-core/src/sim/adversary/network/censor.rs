//! `censor`: the three-network switch (clearnet, Tor, I2P) under a censor that blocks networks at
//! some nodes or everywhere, at times all three; the first copy on an open network wins.

use crate::sim::adversary::common::*;
use crate::sim::adversary::{Adversary, Ctx};

/// Networks of the switch (clearnet, Tor, I2P).
pub(crate) const NETWORKS: usize = 3;
/// Ticks a link takes to come back after its network reopens (redial with backoff).
pub(crate) const RECONNECT: u64 = 15;

/// One censorship phase: from `start`, network `k` is blocked at the nodes in `blocked[k]`.
pub(crate) struct Phase {
    pub(crate) start: u64,
    pub(crate) blocked: [Vec<bool>; NETWORKS],
}

pub(crate) struct Censor {
    pub(crate) phases: Vec<Phase>,
    pub(crate) heal: u64,
}

impl Censor {
    pub(crate) fn new(n: usize, heal: u64, rng: &mut ChaCha20Rng) -> Self {
        let mut phases = Vec::new();
        let mut t = 0;
        while t < heal {
            let all_blocked = rng.gen_bool(0.2);
            let blocked = std::array::from_fn(|_| {
                if all_blocked {
                    return vec![true; n];
                }
                match rng.gen_range(0..3) {
                    0 => vec![false; n],
                    1 => vec![true; n],
                    _ => (0..n).map(|_| rng.gen_bool(0.5)).collect(),
                }
            });
            phases.push(Phase { start: t, blocked });
            t += rng.gen_range(30..150);
        }
        Censor { phases, heal }
    }

    /// Whether network `k` is blocked between `a` and `b` at time `t`.
    pub(crate) fn blocked(&self, k: usize, a: NodeId, b: NodeId, t: u64) -> bool {
        if t >= self.heal {
            return false;
        }
        let phase = self.phases.iter().rev().find(|p| p.start <= t);
        phase.is_some_and(|p| p.blocked[k][a] || p.blocked[k][b])
    }

    /// When network `k` next carries traffic between `a` and `b`, from `t` on.
    pub(crate) fn open_at(&self, k: usize, a: NodeId, b: NodeId, t: u64) -> u64 {
        if !self.blocked(k, a, b, t) {
            return t;
        }
        let next = self.phases.iter().map(|p| p.start).filter(|s| *s > t).chain([self.heal]);
        next.into_iter().find(|s| !self.blocked(k, a, b, *s)).unwrap_or(self.heal) + RECONNECT
    }
}

impl Adversary for Censor {
    fn name(&self) -> &'static str {
        "censor"
    }
    fn faulty(&self) -> Vec<NodeId> {
        Vec::new()
    }
    fn delay(&mut self, ctx: &mut Ctx<'_>, from: NodeId, to: NodeId, _: &Message, base: u64) -> u64 {
        let now = ctx.now;
        // Each network has its own latency (Tor and I2P are slower than clearnet).
        let arrivals = (0..NETWORKS).map(|k| {
            let own = if k == 0 { base } else { base + ctx.rng.gen_range(0..=20 * k as u64) };
            self.open_at(k, from, to, now) + own
        });
        let first = arrivals.min().unwrap_or(now + base);
        if first > now + base {
            *ctx.injected += 1;
        }
        first - now
    }
    fn quiet_after(&self) -> u64 {
        self.heal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(crate) fn censor_delivers_on_the_first_open_network_and_holds_when_all_are_blocked() {
        let n = 4;
        let open = vec![false; n];
        let all = vec![true; n];
        let censor = Censor {
            phases: vec![
                // 0..100: clearnet and Tor blocked everywhere, I2P open.
                Phase { start: 0, blocked: [all.clone(), all.clone(), open.clone()] },
                // 100..200: everything blocked.
                Phase { start: 100, blocked: [all.clone(), all.clone(), all.clone()] },
                // 200..300: only Tor open.
                Phase { start: 200, blocked: [all.clone(), open.clone(), all.clone()] },
                // 300..: clearnet blocked at node 2 only.
                Phase { start: 300, blocked: [vec![false, false, true, false], open.clone(), open.clone()] },
            ],
            heal: 400,
        };
        assert_eq!(censor.open_at(2, 0, 1, 50), 50, "I2P carries it at once");
        assert_eq!(censor.open_at(0, 0, 1, 50), 300 + RECONNECT, "clearnet reopens at 300");
        assert_eq!(censor.open_at(1, 0, 1, 150), 200 + RECONNECT, "Tor reopens at 200");
        assert_eq!(censor.open_at(2, 0, 1, 150), 300 + RECONNECT);
        assert!(censor.blocked(0, 2, 3, 350) && !censor.blocked(0, 0, 1, 350), "per-node block");
        assert_eq!(censor.open_at(0, 2, 3, 350), 400 + RECONNECT, "healed at 400");
        assert!(!censor.blocked(0, 2, 3, 400));
    }
}
