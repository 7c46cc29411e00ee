//! `none`: every node correct; only the network's own random delays.

use crate::sim::adversary::common::*;
use crate::sim::adversary::Adversary;

pub(crate) struct Honest {
    pub(crate) quiet: u64,
}

impl Adversary for Honest {
    fn name(&self) -> &'static str {
        "none"
    }
    fn faulty(&self) -> Vec<NodeId> {
        Vec::new()
    }
    fn quiet_after(&self) -> u64 {
        self.quiet
    }
}
