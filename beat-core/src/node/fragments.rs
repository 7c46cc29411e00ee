//! BEAT3/4 fragments kept in the node's [`Store`], so reads survive restarts, checkpoints and
//! WAL truncation.
//!
//! The protocol hands a fragment to its [`FragmentStore`] when the epoch that committed the value
//! commits — while the core processes a WAL record, before the shell persists that record and
//! long before the checkpoint that lets the WAL behind it go. So a fragment is durable before
//! anything that would make it impossible to re-derive: a crash before the write replays the
//! record and writes it again (a write is idempotent: same key, same bytes). A store error is
//! kept in a shared slot the shell checks after every step, and stops the node: a node that
//! cannot keep its fragments must not pretend it holds them.

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::beat::{FragmentStore, ValueId};
use crate::codec;
use crate::proto::avid_fp::HeldFragment;
use crate::state::{FragmentKey, Store};
use crate::NodeId;

/// The stored form of a [`HeldFragment`].
#[derive(Serialize, Deserialize)]
struct Stored {
    fragment: serde_bytes::ByteBuf,
    rows: Option<serde_bytes::ByteBuf>,
}

/// A [`FragmentStore`] over a node's [`Store`] (see the module doc).
#[derive(Debug, Clone)]
pub struct StoreFragments {
    store: Arc<dyn Store>,
    me: NodeId,
    /// Bytes written since this handle was made.
    written: u64,
    failure: Arc<Mutex<Option<String>>>,
}

impl StoreFragments {
    /// Node `me`'s fragments in `store`.
    pub fn new(store: Arc<dyn Store>, me: NodeId) -> Self {
        StoreFragments { store, me, written: 0, failure: Arc::new(Mutex::new(None)) }
    }

    /// The slot a store error lands in (checked by the shell after every step).
    pub fn failure(&self) -> Arc<Mutex<Option<String>>> {
        self.failure.clone()
    }

    fn key(&self, id: ValueId) -> FragmentKey {
        FragmentKey { epoch: id.epoch, proposer: id.proposer as u32, index: self.me as u32 }
    }

    fn fail(&self, what: String) {
        let mut f = self.failure.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f.get_or_insert(what);
    }
}

impl FragmentStore for StoreFragments {
    fn put(&mut self, id: ValueId, fragment: HeldFragment) {
        let bytes = codec::encode(&Stored {
            fragment: serde_bytes::ByteBuf::from(fragment.fragment),
            rows: fragment.rows.map(serde_bytes::ByteBuf::from),
        });
        match self.store.put_fragment(&self.key(id), &bytes) {
            Ok(()) => self.written += bytes.len() as u64,
            Err(e) => self.fail(format!("store: cannot keep the fragment of value {}/{}: {e}", id.epoch, id.proposer)),
        }
    }

    fn get(&self, id: ValueId) -> Option<HeldFragment> {
        match self.store.get_fragment(&self.key(id)) {
            Ok(Some(bytes)) => match codec::decode::<Stored>(&bytes, codec::MAX_FRAME_BYTES) {
                Ok(s) => Some(HeldFragment { fragment: s.fragment.into_vec(), rows: s.rows.map(|r| r.into_vec()) }),
                // A damaged record is a fragment this node does not hold (reads ask others).
                Err(_) => None,
            },
            Ok(None) => None,
            // A damaged record (the store's integrity check failed) is a fragment not held: a
            // peer asking for it must not be able to stop the node.
            Err(crate::state::StoreError::Corrupt(_)) => None,
            Err(e) => {
                self.fail(format!("store: cannot read the fragment of value {}/{}: {e}", id.epoch, id.proposer));
                None
            }
        }
    }

    fn stored_bytes(&self) -> u64 {
        self.written
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::state::MemStore;

    #[test]
    fn fragments_round_trip_and_survive_a_new_handle() {
        let store: Arc<dyn Store> = Arc::new(MemStore::new());
        let mut a = StoreFragments::new(store.clone(), 2);
        let id = ValueId { epoch: 7, proposer: 1 };
        a.put(id, HeldFragment { fragment: vec![1, 2, 3], rows: Some(vec![9; 40]) });
        a.put(ValueId { epoch: 7, proposer: 3 }, HeldFragment { fragment: vec![4], rows: None });
        let b = StoreFragments::new(store.clone(), 2);
        assert_eq!(b.get(id), Some(HeldFragment { fragment: vec![1, 2, 3], rows: Some(vec![9; 40]) }));
        assert_eq!(b.get(ValueId { epoch: 7, proposer: 3 }).unwrap().fragment, vec![4]);
        assert_eq!(b.get(ValueId { epoch: 8, proposer: 1 }), None);
        // Another node's index is another key.
        assert_eq!(StoreFragments::new(store.clone(), 1).get(id), None);
        // A damaged record reads as missing, not as other bytes.
        store.put_fragment(&FragmentKey { epoch: 7, proposer: 1, index: 2 }, b"\xff\x00junk").unwrap();
        assert_eq!(b.get(id), None);
        assert!(b.failure().lock().unwrap().is_none());
    }
}
