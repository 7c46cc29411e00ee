//! `silent` and `omission`: `f` nodes drop every outgoing message, or each with probability 1/2.

use crate::sim::adversary::common::*;
use crate::sim::adversary::{Adversary, Ctx};

pub(crate) struct Dropper {
    pub(crate) name: &'static str,
    pub(crate) faulty: Vec<NodeId>,
    pub(crate) prob: f64,
}

impl Adversary for Dropper {
    fn name(&self) -> &'static str {
        self.name
    }
    fn faulty(&self) -> Vec<NodeId> {
        self.faulty.clone()
    }
    fn tamper(&mut self, ctx: &mut Ctx<'_>, _from: NodeId, _to: NodeId, msg: Message) -> Vec<Message> {
        if ctx.rng.gen_bool(self.prob) {
            *ctx.injected += 1;
            Vec::new()
        } else {
            vec![msg]
        }
    }
}
