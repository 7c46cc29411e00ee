//! `mismatched-settings`: `f` members run with consensus settings that differ from the
//! committee's (a larger batch, a smaller transaction limit, another de-duplication window).
//!
//! Such settings decide validity, so they are bound into the session id
//! ([`crate::beat::Settings::bind_session`]): a misconfigured member has another session. A
//! real node refuses to start (its key file records the committee's session; see
//! `keystore::load_node_keys`); here the member is built by hand and runs, and the simulator's
//! network drops every envelope whose session is not the recipient's, as the router does. The
//! committee must go on committing the same log with the misconfigured members counted among
//! the `f`, and they must never commit a batch that differs from it.

use crate::beat::Settings;
use crate::sim::adversary::common::*;
use crate::sim::adversary::Adversary;

pub(crate) struct MismatchedSettings {
    pub(crate) faulty: Vec<NodeId>,
    /// Which setting each faulty member gets wrong (by index into the list below).
    pub(crate) kind: usize,
}

impl Adversary for MismatchedSettings {
    fn name(&self) -> &'static str {
        "mismatched-settings"
    }
    fn faulty(&self) -> Vec<NodeId> {
        self.faulty.clone()
    }
    fn settings(&self, node: NodeId, committee: &Settings) -> Option<Settings> {
        let i = self.faulty.iter().position(|f| *f == node)?;
        let mut s = committee.clone();
        match (self.kind + i) % 4 {
            0 => s.batch_size *= 2,
            1 => s.max_tx_size /= 2,
            2 => s.dedup_epochs += 1,
            _ => s.max_proposal_bytes -= 1,
        }
        Some(s)
    }
}
