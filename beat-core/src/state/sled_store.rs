//! [`SledStore`]: a persistent [`Store`] on `sled` 0.34 (feature `sled`, off by default).
//!
//! One sled database in `<dir>`, one tree per kind of data (`wal`, `snapshots`, `committed`,
//! `fragments`, `meta`, `internal`; integer keys big-endian so byte order is numeric order).
//! Multi-record writes go through one `sled::Batch` (atomic per tree), and every mutating call
//! ends with `Db::flush`, which fsyncs sled's log: that is what makes the store's durability
//! contract hold. A mutex serialises writers, so the WAL's order check and append are atomic.
//!
//! The WAL's high-water mark lives in `internal`. Truncation first raises it durably, then
//! deletes the records, so a crash between the two steps loses nothing and never lowers it.
//!
//! sled's on-disk format is not yet stable upstream and sled 0.34 can panic while recovering
//! a damaged database; [`SledStore::open`] catches such a panic and reports it as
//! [`StoreError::Open`]. Prefer [`RedbStore`](super::RedbStore), the default.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use super::{
    check_wal_order, protect, unprotect, FragmentKey, Store, StoreError, WalRecord, SNAPSHOTS_KEPT, STORE_FORMAT,
};

const BACKEND: &str = "sled";
const FORMAT_KEY: &[u8] = b"format";
const WAL_HIGH_KEY: &[u8] = b"wal_high";
// Tree names; values in these trees are stored with their integrity tag (`state::protect`).
const WAL: &str = "wal";
const SNAPSHOTS: &str = "snapshots";
const COMMITTED: &str = "committed";
const FRAGMENTS: &str = "fragments";
const META: &str = "meta";

/// A [`Store`] in a sled database directory.
pub struct SledStore {
    db: sled::Db,
    wal: sled::Tree,
    snapshots: sled::Tree,
    committed: sled::Tree,
    fragments: sled::Tree,
    meta: sled::Tree,
    internal: sled::Tree,
    path: PathBuf,
    /// Serialises writers (sled itself is lock-free; the WAL check-and-append must not be).
    write_lock: Mutex<()>,
    /// Whether a deferred append may not be durable yet (`flush` has something to do). True
    /// at open: a process that died after deferred appends may have left them in the file,
    /// readable but not yet synced, and a node that goes on from them must sync them first.
    pending: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore").field("path", &self.path).finish_non_exhaustive()
    }
}

fn backend<E: std::fmt::Display>(op: &'static str) -> impl FnOnce(E) -> StoreError {
    move |e| StoreError::Backend { backend: BACKEND, op, message: e.to_string() }
}

/// A big-endian `u64` key from stored bytes.
fn u64_key(bytes: &[u8]) -> Result<u64, StoreError> {
    let arr: [u8; 8] =
        bytes.try_into().map_err(|_| StoreError::Corrupt(format!("sled key of {} bytes, expected 8", bytes.len())))?;
    Ok(u64::from_be_bytes(arr))
}

impl SledStore {
    /// Open (or create) the store in directory `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let open_err = |message: String| StoreError::Open { backend: BACKEND, path: dir.to_path_buf(), message };
        let config = sled::Config::new().path(dir);
        // sled 0.34 may panic on a damaged database instead of returning an error.
        let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| config.open()))
            .map_err(|_| open_err("sled panicked while recovering the database (damaged files?)".into()))?;
        let db = opened.map_err(|e| open_err(e.to_string()))?;
        let tree = |name: &str| db.open_tree(name).map_err(|e| open_err(e.to_string()));
        let store = SledStore {
            wal: tree(WAL)?,
            snapshots: tree(SNAPSHOTS)?,
            committed: tree(COMMITTED)?,
            fragments: tree(FRAGMENTS)?,
            meta: tree(META)?,
            internal: tree("internal")?,
            db: db.clone(),
            path: dir.to_path_buf(),
            write_lock: Mutex::new(()),
            pending: std::sync::atomic::AtomicBool::new(true),
        };
        match store.internal.get(FORMAT_KEY).map_err(|e| open_err(e.to_string()))? {
            None => {
                store
                    .internal
                    .insert(FORMAT_KEY, &STORE_FORMAT.to_be_bytes()[..])
                    .map_err(|e| open_err(e.to_string()))?;
                store.db.flush().map_err(|e| open_err(e.to_string()))?;
            }
            Some(v) => {
                let found = u64_key(&v)?;
                if found != STORE_FORMAT {
                    return Err(StoreError::UnsupportedFormat { found, supported: STORE_FORMAT });
                }
            }
        }
        Ok(store)
    }

    fn lock(&self) -> Result<MutexGuard<'_, ()>, StoreError> {
        self.write_lock.lock().map_err(|_| StoreError::Poisoned)
    }

    fn durable(&self, op: &'static str) -> Result<(), StoreError> {
        self.db.flush().map(|_| ()).map_err(backend(op))
    }

    /// The stored high-water mark.
    fn wal_mark(&self, op: &'static str) -> Result<Option<u64>, StoreError> {
        self.internal.get(WAL_HIGH_KEY).map_err(backend(op))?.map(|v| u64_key(&v)).transpose()
    }

    /// The last record's sequence number.
    fn wal_last_record(&self, op: &'static str) -> Result<Option<u64>, StoreError> {
        self.wal.last().map_err(backend(op))?.map(|(k, _)| u64_key(&k)).transpose()
    }

    /// The highest sequence number ever appended: the larger of the mark and the last record
    /// (the mark can lag the records if sled persisted a batch but not the mark's update).
    fn wal_high(&self, op: &'static str) -> Result<Option<u64>, StoreError> {
        Ok(self.wal_mark(op)?.max(self.wal_last_record(op)?))
    }

    /// Append WAL records in one batch, flushed (durable) or not (deferred).
    fn append(&self, records: &[(u64, &[u8])], durable: bool) -> Result<(), StoreError> {
        const OP: &str = "wal_append";
        let Some(&(last, _)) = records.last() else {
            return Ok(());
        };
        let _guard = self.lock()?;
        check_wal_order(self.wal_high(OP)?, records)?;
        let mut batch = sled::Batch::default();
        for &(seq, bytes) in records {
            let key = seq.to_be_bytes();
            batch.insert(&key[..], protect(WAL, &key, bytes));
        }
        self.wal.apply_batch(batch).map_err(backend(OP))?;
        // A crash before this insert leaves the records with a lower mark; `wal_high` takes
        // the maximum with the last record, so nothing is lost.
        self.internal.insert(WAL_HIGH_KEY, &last.to_be_bytes()[..]).map_err(backend(OP))?;
        // Under the write lock, as `flush` reads it.
        if durable {
            self.durable(OP)?;
            self.pending.store(false, std::sync::atomic::Ordering::Relaxed);
        } else {
            self.pending.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(())
    }

    /// Remove every key of `tree` below `bound` in one batch.
    fn remove_below(tree: &sled::Tree, bound: &[u8], op: &'static str) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for key in tree.range(..bound).keys() {
            batch.remove(key.map_err(backend(op))?);
        }
        tree.apply_batch(batch).map_err(backend(op))
    }

    /// Read a value and check its integrity tag.
    fn get(tree: &sled::Tree, name: &str, key: &[u8], op: &'static str) -> Result<Option<Vec<u8>>, StoreError> {
        tree.get(key).map_err(backend(op))?.map(|v| unprotect(name, key, &v).map(<[u8]>::to_vec)).transpose()
    }

    /// Insert `value` with its integrity tag.
    fn put(tree: &sled::Tree, name: &str, key: &[u8], value: &[u8], op: &'static str) -> Result<(), StoreError> {
        tree.insert(key, protect(name, key, value)).map(|_| ()).map_err(backend(op))
    }
}

impl Store for SledStore {
    fn wal_append(&self, records: &[(u64, &[u8])]) -> Result<(), StoreError> {
        self.append(records, true)
    }

    fn wal_append_deferred(&self, records: &[(u64, &[u8])]) -> Result<(), StoreError> {
        // Without the flush. sled may write its buffers out of order, but its recovery keeps
        // only the consecutive run of its log from the start (a torn or missing segment ends
        // it), so a crash keeps a prefix of the writes; its flusher also makes them durable
        // within about 500 ms. (sled 0.34's recovery is the least proven part of it: another
        // reason redb is the default.)
        self.append(records, false)
    }

    fn wal_iter_page(&self, from_seq: u64, max: usize) -> Result<Vec<WalRecord>, StoreError> {
        const OP: &str = "wal_iter";
        let mut out = Vec::new();
        for entry in self.wal.range(from_seq.to_be_bytes()..).take(max) {
            let (k, v) = entry.map_err(backend(OP))?;
            out.push((u64_key(&k)?, unprotect(WAL, &k, &v)?.to_vec()));
        }
        Ok(out)
    }

    fn wal_truncate_before(&self, seq: u64) -> Result<(), StoreError> {
        const OP: &str = "wal_truncate_before";
        let _guard = self.lock()?;
        // Raise the high-water mark to the last record durably before deleting records.
        if let Some(last) = self.wal_last_record(OP)? {
            if self.wal_mark(OP)?.is_none_or(|mark| mark < last) {
                self.internal.insert(WAL_HIGH_KEY, &last.to_be_bytes()[..]).map_err(backend(OP))?;
                self.durable(OP)?;
            }
        }
        Self::remove_below(&self.wal, &seq.to_be_bytes(), OP)?;
        self.durable(OP)
    }

    fn wal_last_seq(&self) -> Result<Option<u64>, StoreError> {
        self.wal_high("wal_last_seq")
    }

    fn put_snapshot(&self, epoch: u64, bytes: &[u8]) -> Result<(), StoreError> {
        const OP: &str = "put_snapshot";
        let _guard = self.lock()?;
        Self::put(&self.snapshots, SNAPSHOTS, &epoch.to_be_bytes(), bytes, OP)?;
        // Durable before older snapshots go, so a crash never leaves fewer than before.
        self.durable(OP)?;
        let keys = self.snapshots.iter().keys().collect::<Result<Vec<_>, _>>().map_err(backend(OP))?;
        let excess = keys.len().saturating_sub(SNAPSHOTS_KEPT);
        if excess > 0 {
            let mut batch = sled::Batch::default();
            for key in keys.into_iter().take(excess) {
                batch.remove(key);
            }
            self.snapshots.apply_batch(batch).map_err(backend(OP))?;
            self.durable(OP)?;
        }
        Ok(())
    }

    fn latest_snapshot(&self) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        match self.snapshots.last().map_err(backend("latest_snapshot"))? {
            Some((k, v)) => Ok(Some((u64_key(&k)?, unprotect(SNAPSHOTS, &k, &v)?.to_vec()))),
            None => Ok(None),
        }
    }

    fn get_snapshot(&self, epoch: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Self::get(&self.snapshots, SNAPSHOTS, &epoch.to_be_bytes(), "get_snapshot")
    }

    fn put_committed(&self, epoch: u64, bytes: &[u8]) -> Result<(), StoreError> {
        const OP: &str = "put_committed";
        let _guard = self.lock()?;
        let key = epoch.to_be_bytes();
        match Self::get(&self.committed, COMMITTED, &key, OP)? {
            Some(existing) if existing == bytes => Ok(()),
            Some(_) => Err(StoreError::CommittedConflict(epoch)),
            None => {
                Self::put(&self.committed, COMMITTED, &key, bytes, OP)?;
                self.durable(OP)
            }
        }
    }

    fn get_committed(&self, epoch: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Self::get(&self.committed, COMMITTED, &epoch.to_be_bytes(), "get_committed")
    }

    fn committed_range(&self) -> Result<Option<(u64, u64)>, StoreError> {
        const OP: &str = "committed_range";
        let first = self.committed.first().map_err(backend(OP))?.map(|(k, _)| u64_key(&k)).transpose()?;
        let last = self.committed.last().map_err(backend(OP))?.map(|(k, _)| u64_key(&k)).transpose()?;
        Ok(first.zip(last))
    }

    fn prune_committed_before(&self, epoch: u64) -> Result<(), StoreError> {
        const OP: &str = "prune_committed_before";
        let _guard = self.lock()?;
        Self::remove_below(&self.committed, &epoch.to_be_bytes(), OP)?;
        self.durable(OP)
    }

    fn put_fragment(&self, key: &FragmentKey, bytes: &[u8]) -> Result<(), StoreError> {
        const OP: &str = "put_fragment";
        let _guard = self.lock()?;
        Self::put(&self.fragments, FRAGMENTS, &key.to_bytes(), bytes, OP)?;
        self.durable(OP)
    }

    fn get_fragment(&self, key: &FragmentKey) -> Result<Option<Vec<u8>>, StoreError> {
        Self::get(&self.fragments, FRAGMENTS, &key.to_bytes(), "get_fragment")
    }

    fn prune_fragments_before(&self, epoch: u64) -> Result<(), StoreError> {
        const OP: &str = "prune_fragments_before";
        let _guard = self.lock()?;
        Self::remove_below(&self.fragments, &FragmentKey { epoch, proposer: 0, index: 0 }.to_bytes(), OP)?;
        self.durable(OP)
    }

    fn delete_fragments(&self, keys: &[FragmentKey]) -> Result<(), StoreError> {
        const OP: &str = "delete_fragments";
        let _guard = self.lock()?;
        let mut batch = sled::Batch::default();
        for key in keys {
            batch.remove(&key.to_bytes()[..]);
        }
        self.fragments.apply_batch(batch).map_err(backend(OP))?;
        self.durable(OP)
    }

    fn put_meta(&self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        const OP: &str = "put_meta";
        let _guard = self.lock()?;
        Self::put(&self.meta, META, key, value, OP)?;
        self.durable(OP)
    }

    fn get_meta(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Self::get(&self.meta, META, key, "get_meta")
    }

    fn delete_meta(&self, key: &[u8]) -> Result<(), StoreError> {
        const OP: &str = "delete_meta";
        let _guard = self.lock()?;
        self.meta.remove(key).map_err(backend(OP))?;
        self.durable(OP)
    }

    fn delete_meta_range(&self, from: &[u8], to: &[u8]) -> Result<(), StoreError> {
        const OP: &str = "delete_meta_range";
        if from >= to {
            return Ok(());
        }
        let _guard = self.lock()?;
        let mut batch = sled::Batch::default();
        for key in self.meta.range(from..to).keys() {
            batch.remove(key.map_err(backend(OP))?);
        }
        self.meta.apply_batch(batch).map_err(backend(OP))?;
        self.durable(OP)
    }

    fn size_on_disk(&self) -> Result<u64, StoreError> {
        self.db.size_on_disk().map_err(backend("size_on_disk"))
    }

    fn flush(&self) -> Result<(), StoreError> {
        use std::sync::atomic::Ordering::Relaxed;
        let _guard = self.lock()?;
        if !self.pending.swap(false, Relaxed) {
            return Ok(());
        }
        self.durable("flush").inspect_err(|_| self.pending.store(true, Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::conformance;

    #[test]
    fn sled_store_conformance() {
        conformance::run_all(&mut |dir| SledStore::open(dir).map(|s| Box::new(s) as Box<dyn Store>));
    }
}
