//! Where a BEAT3/BEAT4 node keeps its fragments.
//!
//! AVID-FP leaves each node with one fragment of every committed value. The node hands them
//! to a [`FragmentStore`] when the epoch commits and reads them back to answer reads. The
//! protocol stays free of I/O: the store is a trait object the embedding passes in (the
//! simulator uses [`MemFragmentStore`]; the durable node persists through its `Store`).

use std::collections::BTreeMap;

pub use crate::proto::avid_fp::HeldFragment;
use crate::NodeId;

/// Which dispersed value: the epoch and its proposer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ValueId {
    /// The epoch that committed it.
    pub epoch: u64,
    /// The node that dispersed it.
    pub proposer: NodeId,
}

/// This node's fragments of committed values (with BEAT4's row tables).
pub trait FragmentStore: std::fmt::Debug + Send {
    /// Keep `fragment` for `id` (called once per committed value this node holds a verified
    /// fragment of).
    fn put(&mut self, id: ValueId, fragment: HeldFragment);
    /// The fragment kept for `id`.
    fn get(&self, id: ValueId) -> Option<HeldFragment>;
    /// Bytes stored.
    fn stored_bytes(&self) -> u64;
}

/// An in-memory [`FragmentStore`].
#[derive(Debug, Default, Clone)]
pub struct MemFragmentStore {
    fragments: BTreeMap<ValueId, HeldFragment>,
    bytes: u64,
}

impl FragmentStore for MemFragmentStore {
    fn put(&mut self, id: ValueId, fragment: HeldFragment) {
        let size = |h: &HeldFragment| (h.fragment.len() + h.rows.as_ref().map_or(0, Vec::len)) as u64;
        self.bytes += size(&fragment);
        if let Some(old) = self.fragments.insert(id, fragment) {
            self.bytes -= size(&old);
        }
    }

    fn get(&self, id: ValueId) -> Option<HeldFragment> {
        self.fragments.get(&id).cloned()
    }

    fn stored_bytes(&self) -> u64 {
        self.bytes
    }
}
