//! The store side of a node, shared by the tokio shell and the simulator: what to read at
//! start, and how each store step of a [`Ready`] is carried out. Keeping one copy means the
//! simulator's kills and restarts exercise exactly the code the daemon runs.
//!
//! Order within a [`Ready`] (the shell interleaves sending and applying):
//! [`append`] → send → [`commit`] (then apply) → [`checkpoint`] (checkpoint, then the
//! application snapshot, then older checkpoints and the committed log behind retention) →
//! [`truncate`]. A crash between any two steps is recovered by [`recover`] and
//! [`replay_all`]: the checkpoint is always written before the snapshot that names it, and the
//! WAL is only dropped behind a checkpoint already stored.

use super::core::{checkpoint_key, CheckpointWrite, NodeCore, Recovery};
use super::Ready;
use crate::beat::{Batch, Checkpoint};
use crate::codec;
use crate::state::{Store, StoreError};

/// The metadata key of the node's persistent randomness seed.
pub const NODE_SEED_KEY: &[u8] = b"node/seed";
/// WAL records read per page at start (a restart never loads the whole log).
pub const REPLAY_PAGE: usize = 4096;

/// What a store holds for a starting node.
#[derive(Debug)]
pub struct Recovered {
    /// For [`NodeCore::new`].
    pub recovery: Recovery,
    /// The node's randomness seed (created and stored on first start).
    pub seed: [u8; 32],
    /// The latest application snapshot and its epoch, to restore the application from.
    pub snapshot: Option<(u64, Vec<u8>)>,
}

/// Why a store cannot start a node.
#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// It holds something this build cannot read.
    #[error("{0}")]
    Corrupt(String),
}

/// Read what a node needs to start from `store`; `fresh_seed` makes the seed of a new store.
pub fn recover(store: &dyn Store, fresh_seed: impl FnOnce() -> [u8; 32]) -> Result<Recovered, RecoverError> {
    let seed: [u8; 32] = match store.get_meta(NODE_SEED_KEY)? {
        Some(s) => {
            s.try_into().map_err(|_| RecoverError::Corrupt("the node's seed in the store is not 32 bytes".into()))?
        }
        None => {
            let s = fresh_seed();
            store.put_meta(NODE_SEED_KEY, &s)?;
            s
        }
    };
    let snapshot = store.latest_snapshot()?;
    let applied_next = snapshot.as_ref().map_or(0, |(e, _)| e + 1);
    // The protocol checkpoint stored just before that snapshot.
    let checkpoint: Option<Checkpoint> =
        match store.get_meta(&checkpoint_key(applied_next))? {
            // Bounded by its own length (a buffer of queued transactions can exceed a frame).
            Some(bytes) if applied_next > 0 => Some(codec::decode(&bytes, bytes.len()).map_err(|e| {
                RecoverError::Corrupt(format!("checkpoint of epoch {applied_next} does not decode: {e}"))
            })?),
            _ => None,
        };
    let first_seq = store.wal_iter_page(0, 1)?.first().map(|(s, _)| *s);
    let recovery = Recovery { checkpoint, applied_next, last_seq: store.wal_last_seq()?, first_seq };
    Ok(Recovered { recovery, seed, snapshot })
}

/// Replay one page of the WAL, from record `*next` on, into `core`; `None` when the log is
/// done. The result's `commit` holds the batches the application must apply again (from its
/// snapshot on), to apply before the next page.
pub fn replay_page(core: &mut NodeCore, store: &dyn Store, next: &mut u64) -> Result<Option<Ready>, RecoverError> {
    if *next == u64::MAX {
        return Ok(None);
    }
    let page = store.wal_iter_page(*next, REPLAY_PAGE)?;
    let Some((last, _)) = page.last() else { return Ok(None) };
    *next = if page.len() < REPLAY_PAGE { u64::MAX } else { last.saturating_add(1) };
    core.replay(&page).map(Some).map_err(RecoverError::Corrupt)
}

/// Replay the whole WAL into `core`, a page at a time; `on_commit` gets every batch the
/// application must apply again (from its snapshot on), in order.
pub fn replay_all(
    core: &mut NodeCore,
    store: &dyn Store,
    mut on_commit: impl FnMut(&Batch, &[u8]) -> Result<(), String>,
) -> Result<(), RecoverError> {
    let mut next = 0;
    while let Some(ready) = replay_page(core, store, &mut next)? {
        for (batch, bytes) in &ready.commit {
            on_commit(batch, bytes).map_err(RecoverError::Corrupt)?;
        }
    }
    Ok(())
}

/// Step 1: log the records — durable before anything leaves the node or is stored on top of
/// them (group commit). Call it for every `Ready`, with records or without.
///
/// A step that sends frames, or stores a committed batch, a checkpoint or a truncation,
/// appends durably (one fsync), which also makes every record deferred before it durable; a
/// step that does none of that defers its records ([`Store::wal_append_deferred`]: no fsync),
/// and one that does it without records of its own first makes the deferred ones durable
/// ([`Store::flush`], a no-op when there are none). So no peer ever sees a message, and no
/// later write rests on records, that a crash could take back. What it relies on: the store
/// loses at most the deferred suffix of the log; everything a node sends (its proposal,
/// votes, shares, resends, a finished rejoin's held frames) comes out of [`Ready::send`]
/// (catch-up answers come from the committed log, durable already). A crash that loses the
/// deferred records is a crash before those inputs arrived: the frames come again when the
/// links do (the peers' resends), and the submitted transactions were never acknowledged as
/// committed.
pub fn append(store: &dyn Store, ready: &Ready) -> Result<(), String> {
    let fail = |e| format!("store: cannot append to the write-ahead log: {e}");
    append_if(store, ready, !ready.send.is_empty() || stores_on_log(ready)).map_err(fail)
}

/// Whether `ready` stores something that rests on the log: a committed batch, a checkpoint,
/// a truncation.
pub(crate) fn stores_on_log(ready: &Ready) -> bool {
    !ready.commit.is_empty() || ready.checkpoint.is_some() || ready.truncate_before.is_some()
}

/// Append `ready`'s records durably (with every deferred one before them; a flush when it has
/// none) if `durable`, else deferred. The simulator's early-send canary calls it with the
/// sends left out of `durable`.
pub(crate) fn append_if(store: &dyn Store, ready: &Ready, durable: bool) -> Result<(), crate::state::StoreError> {
    let records: Vec<(u64, &[u8])> = ready.append.iter().map(|(s, b)| (*s, b.as_slice())).collect();
    match (records.is_empty(), durable) {
        (true, true) => store.flush(),
        (true, false) => Ok(()),
        (false, true) => store.wal_append(&records),
        (false, false) => store.wal_append_deferred(&records),
    }
}

/// Step 3: keep a committed batch (peers catch up from it), before the application applies it.
pub fn commit(store: &dyn Store, batch: &Batch, bytes: &[u8]) -> Result<(), String> {
    store.put_committed(batch.epoch, bytes).map_err(|e| format!("store: committed log: {e}"))
}

/// Step 4: the checkpoint, then the application's `snapshot` of every epoch before it, then
/// the older checkpoints and the committed log behind retention.
pub fn checkpoint(store: &dyn Store, cp: &CheckpointWrite, snapshot: &[u8]) -> Result<(), String> {
    store.put_meta(&cp.key, &cp.bytes).map_err(|e| format!("store: checkpoint: {e}"))?;
    store.put_snapshot(cp.epoch - 1, snapshot).map_err(|e| format!("store: snapshot: {e}"))?;
    if let Some(below) = &cp.delete_below {
        store.delete_meta_range(&checkpoint_key(0), below).map_err(|e| format!("store: old checkpoints: {e}"))?;
    }
    if let Some(epoch) = cp.prune_committed_before {
        store.prune_committed_before(epoch).map_err(|e| format!("store: committed log pruning: {e}"))?;
    }
    Ok(())
}

/// Step 5: drop the WAL behind the checkpoint.
pub fn truncate(store: &dyn Store, before: u64) -> Result<(), String> {
    store.wal_truncate_before(before).map_err(|e| format!("store: WAL truncation: {e}"))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::node::core::Outgoing;
    use crate::state::MemStore;

    fn ready(seqs: &[u64], sends: bool) -> Ready {
        let mut r = Ready { append: seqs.iter().map(|s| (*s, vec![*s as u8])).collect(), ..Ready::default() };
        if sends {
            r.send.push(Outgoing { to: 1, id: 0, epoch: 0, frame: Arc::new(vec![1]), transport: None });
        }
        r
    }

    /// Group commit: a step that sends nothing defers its records; one that sends makes them
    /// and every deferred one durable first, with records of its own or without.
    #[test]
    fn records_are_durable_before_anything_is_sent() {
        let store = MemStore::new();
        append(&store, &ready(&[1, 2], false)).unwrap();
        append(&store, &ready(&[3], false)).unwrap();
        assert_eq!(store.deferred_records(), 3);
        append(&store, &ready(&[4], true)).unwrap();
        assert_eq!(store.deferred_records(), 0);
        append(&store, &ready(&[5], false)).unwrap();
        append(&store, &ready(&[], false)).unwrap();
        assert_eq!(store.deferred_records(), 1);
        append(&store, &ready(&[], true)).unwrap();
        assert_eq!(store.deferred_records(), 0);
        // A step that stores something on top of the log (here a truncation) settles it too.
        append(&store, &ready(&[6], false)).unwrap();
        append(&store, &Ready { truncate_before: Some(0), ..ready(&[7], false) }).unwrap();
        assert_eq!(store.deferred_records(), 0);
        // A crash now loses nothing that was sent on.
        store.crash().unwrap();
        assert_eq!(store.wal_last_seq().unwrap(), Some(7));
        append(&store, &ready(&[8], false)).unwrap();
        store.crash().unwrap();
        assert_eq!(store.wal_last_seq().unwrap(), Some(7));
    }

    /// The same on disk: steps that send nothing cost no fsync.
    #[cfg(feature = "redb")]
    #[test]
    fn redb_defers_steps_that_send_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::state::RedbStore::open(dir.path()).unwrap();
        let base = store.durable_commits();
        append(&store, &ready(&[1], false)).unwrap();
        append(&store, &ready(&[2], false)).unwrap();
        assert_eq!((store.durable_commits() - base, store.deferred_commits()), (0, 2));
        append(&store, &ready(&[], true)).unwrap();
        append(&store, &ready(&[], true)).unwrap();
        assert_eq!(store.durable_commits() - base, 1, "one flush for the deferred records, none without");
        append(&store, &ready(&[3], true)).unwrap();
        assert_eq!(store.durable_commits() - base, 2);
        drop(store);
        let store = crate::state::RedbStore::open(dir.path()).unwrap();
        assert_eq!(store.wal_last_seq().unwrap(), Some(3));
    }
}
