//! [`MemStore`]: the [`Store`] contract in memory, for the simulator and tests. Nothing survives
//! the process; everything else (ordering, immutability of committed epochs, pruning) behaves
//! as in the persistent backends, and [`MemStore::crash`] does to deferred WAL records the
//! worst a power cut may do on disk: they are gone (all since the last durable append or
//! flush, even where a disk backend's other writes would have carried them), and nothing
//! else is.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use super::{check_wal_order, FragmentKey, Store, StoreError, WalRecord, SNAPSHOTS_KEPT};

/// An in-memory [`Store`].
#[derive(Debug, Default)]
pub struct MemStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default, Clone)]
struct Inner {
    wal: BTreeMap<u64, Vec<u8>>,
    wal_high: Option<u64>,
    snapshots: BTreeMap<u64, Vec<u8>>,
    committed: BTreeMap<u64, Vec<u8>>,
    fragments: BTreeMap<FragmentKey, Vec<u8>>,
    meta: BTreeMap<Vec<u8>, Vec<u8>>,
    /// Records appended with [`Store::wal_append_deferred`] since the last durable append or
    /// flush.
    deferred: Vec<u64>,
    /// `wal_high` before the first of them.
    durable_high: Option<u64>,
}

impl Inner {
    /// A durable append or a flush: every deferred record before it is durable too.
    fn settle(&mut self) {
        self.deferred.clear();
    }
}

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// An independent copy of everything stored now, deferred records included (the
    /// simulator rebuilds a node from it to compare with the live one).
    pub fn copy(&self) -> Result<MemStore, StoreError> {
        Ok(MemStore { inner: Mutex::new(self.lock()?.clone()) })
    }

    /// A copy of what is durable now, as a backup of the disk would hold (the simulator
    /// restarts nodes from stale copies: a restored backup, a rolled-back disk).
    pub fn copy_durable(&self) -> Result<MemStore, StoreError> {
        let copy = self.copy()?;
        copy.crash()?;
        Ok(copy)
    }

    /// A power cut: the WAL records appended deferred since the last durable write are lost
    /// (with the high-water mark they raised); everything else stays. A node restarted from
    /// the store after this sees exactly what a disk would have kept.
    pub fn crash(&self) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        if inner.deferred.is_empty() {
            return Ok(());
        }
        for seq in std::mem::take(&mut inner.deferred) {
            inner.wal.remove(&seq);
        }
        inner.wal_high = inner.durable_high;
        Ok(())
    }

    /// WAL records a [`MemStore::crash`] now would lose.
    pub fn deferred_records(&self) -> usize {
        self.lock().map_or(0, |i| i.deferred.len())
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>, StoreError> {
        self.inner.lock().map_err(|_| StoreError::Poisoned)
    }
}

impl Store for MemStore {
    fn wal_append(&self, records: &[(u64, &[u8])]) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        check_wal_order(inner.wal_high, records)?;
        inner.settle();
        for &(seq, bytes) in records {
            inner.wal.insert(seq, bytes.to_vec());
            inner.wal_high = Some(seq);
        }
        Ok(())
    }

    fn wal_append_deferred(&self, records: &[(u64, &[u8])]) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        check_wal_order(inner.wal_high, records)?;
        if inner.deferred.is_empty() {
            inner.durable_high = inner.wal_high;
        }
        for &(seq, bytes) in records {
            inner.wal.insert(seq, bytes.to_vec());
            inner.wal_high = Some(seq);
            inner.deferred.push(seq);
        }
        Ok(())
    }

    fn wal_iter_page(&self, from_seq: u64, max: usize) -> Result<Vec<WalRecord>, StoreError> {
        Ok(self.lock()?.wal.range(from_seq..).take(max).map(|(s, b)| (*s, b.clone())).collect())
    }

    fn wal_truncate_before(&self, seq: u64) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        let kept = inner.wal.split_off(&seq);
        inner.wal = kept;
        Ok(())
    }

    fn wal_last_seq(&self) -> Result<Option<u64>, StoreError> {
        Ok(self.lock()?.wal_high)
    }

    fn put_snapshot(&self, epoch: u64, bytes: &[u8]) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        inner.snapshots.insert(epoch, bytes.to_vec());
        while inner.snapshots.len() > SNAPSHOTS_KEPT {
            inner.snapshots.pop_first();
        }
        Ok(())
    }

    fn latest_snapshot(&self) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        Ok(self.lock()?.snapshots.last_key_value().map(|(e, b)| (*e, b.clone())))
    }

    fn get_snapshot(&self, epoch: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock()?.snapshots.get(&epoch).cloned())
    }

    fn put_committed(&self, epoch: u64, bytes: &[u8]) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        match inner.committed.get(&epoch) {
            Some(existing) if existing == bytes => Ok(()),
            Some(_) => Err(StoreError::CommittedConflict(epoch)),
            None => {
                inner.committed.insert(epoch, bytes.to_vec());
                Ok(())
            }
        }
    }

    fn get_committed(&self, epoch: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock()?.committed.get(&epoch).cloned())
    }

    fn committed_range(&self) -> Result<Option<(u64, u64)>, StoreError> {
        let inner = self.lock()?;
        Ok(inner.committed.first_key_value().zip(inner.committed.last_key_value()).map(|((lo, _), (hi, _))| (*lo, *hi)))
    }

    fn prune_committed_before(&self, epoch: u64) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        inner.committed = inner.committed.split_off(&epoch);
        Ok(())
    }

    fn put_fragment(&self, key: &FragmentKey, bytes: &[u8]) -> Result<(), StoreError> {
        self.lock()?.fragments.insert(*key, bytes.to_vec());
        Ok(())
    }

    fn get_fragment(&self, key: &FragmentKey) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock()?.fragments.get(key).cloned())
    }

    fn prune_fragments_before(&self, epoch: u64) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        inner.fragments = inner.fragments.split_off(&FragmentKey { epoch, proposer: 0, index: 0 });
        Ok(())
    }

    fn delete_fragments(&self, keys: &[FragmentKey]) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        for key in keys {
            inner.fragments.remove(key);
        }
        Ok(())
    }

    fn put_meta(&self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.lock()?.meta.insert(key.to_vec(), value.to_vec());
        Ok(())
    }

    fn get_meta(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock()?.meta.get(key).cloned())
    }

    fn delete_meta(&self, key: &[u8]) -> Result<(), StoreError> {
        self.lock()?.meta.remove(key);
        Ok(())
    }

    fn delete_meta_range(&self, from: &[u8], to: &[u8]) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        if from >= to {
            return Ok(());
        }
        let mut tail = inner.meta.split_off(from);
        let mut rest = tail.split_off(to);
        inner.meta.append(&mut rest);
        Ok(())
    }

    fn size_on_disk(&self) -> Result<u64, StoreError> {
        let inner = self.lock()?;
        let values = |m: &BTreeMap<u64, Vec<u8>>| m.values().map(|v| 8 + v.len() as u64).sum::<u64>();
        let fragments: u64 = inner.fragments.values().map(|v| 16 + v.len() as u64).sum();
        let meta: u64 = inner.meta.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum();
        Ok(values(&inner.wal) + values(&inner.snapshots) + values(&inner.committed) + fragments + meta)
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.lock()?.settle();
        Ok(())
    }
}
