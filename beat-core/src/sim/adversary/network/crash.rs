//! `crash`: `f` nodes stop at random times (and never come back).

use crate::sim::adversary::common::*;
use crate::sim::adversary::Adversary;

pub(crate) struct Crash {
    pub(crate) times: Vec<(NodeId, u64)>,
}

impl Adversary for Crash {
    fn name(&self) -> &'static str {
        "crash"
    }
    fn faulty(&self) -> Vec<NodeId> {
        self.times.iter().map(|t| t.0).collect()
    }
    fn crash_time(&self, node: NodeId) -> Option<u64> {
        self.times.iter().find(|t| t.0 == node).map(|t| t.1)
    }
    fn quiet_after(&self) -> u64 {
        self.times.iter().map(|t| t.1).max().unwrap_or(0)
    }
}
