//! Persistent state of a node: write-ahead log, snapshots, committed log, fragments, metadata.
//!
//! [`Store`] is bytes-level: the node driver owns every encoding, a store only keeps bytes
//! under keys and makes them durable. It is object-safe (`Box<dyn Store>`) and `Send + Sync`
//! (methods take `&self`; a store serialises its own writers).
//!
//! ## Contract (every backend; checked by the shared conformance suite in `conformance.rs`)
//!
//! * **Durability.** Every mutating method but one is durable when it returns `Ok`: after a
//!   crash or a power cut the change is there, or the method had not returned. A batch given
//!   to [`Store::wal_append`] is one atomic, durable commit: all of its records survive or none.
//!   The exception is [`Store::wal_append_deferred`] (group commit): its records are durable
//!   once a later [`Store::wal_append`] or [`Store::flush`] returns, and a crash before that
//!   may lose them, never anything older — a restart finds a prefix of the log.
//! * **WAL.** Records carry sequence numbers that strictly increase across all appends, also
//!   within a batch. An append whose first sequence number is not above
//!   [`Store::wal_last_seq`] is refused with [`StoreError::OutOfOrder`] and stores nothing.
//!   `wal_last_seq` is the highest sequence number ever appended: truncation does not lower
//!   it, so sequence numbers are never reused, even after `wal_truncate_before(u64::MAX)` and a
//!   restart. Concurrent appenders are serialised; the check and the append are atomic.
//! * **Snapshots.** [`Store::put_snapshot`] stores the application state at an epoch and keeps
//!   only the two highest epochs (the latest and one fallback); storing an epoch again
//!   replaces it.
//! * **Committed log.** Epoch → encoded committed batch, served to peers catching up. Committed
//!   epochs are immutable: putting the same bytes again is a no-op (replay after a crash),
//!   different bytes are refused with [`StoreError::CommittedConflict`].
//!   [`Store::committed_range`] is the lowest and highest stored epoch (gaps are allowed).
//! * **Fragments** (BEAT3/BEAT4): each node's own fragment of each dispersed value, keyed by
//!   [`FragmentKey`]; last write wins; pruned by epoch.
//! * **Metadata:** small key/value pairs (e.g. what this node sent for an (epoch, instance,
//!   kind), so a restarted node never equivocates); last write wins.
//! * **Integrity.** A value read back is the value written, or the read fails with
//!   [`StoreError::Corrupt`]: the persistent backends append an 8-byte tag bound to table, key
//!   and value (see `protect`), because neither checksums every data page. Damage that a
//!   backend itself detects may instead make it refuse to open ([`StoreError::Open`]); sled
//!   recovers a damaged log by dropping everything after the damage, so with sled damaged
//!   records can also *disappear* (a limitation of sled's recovery, not detectable here).
//!   Opening files of random bytes is an error, not a panic (tested for every backend).
//!
//! ## Backends
//!
//! | backend | feature | durability | notes |
//! |---|---|---|---|
//! | [`MemStore`] | always | none (memory) | simulator and tests |
//! | `RedbStore` | `redb` (default) | `Durability::Immediate` commit per write (deferred appends: `Durability::None`) | one file `beat.redb`; stable file format |
//! | `SledStore` | `sled` | `Db::flush` (fsync) after each write (deferred appends: none) | sled's on-disk format is not yet stable upstream |
//!
//! Disk footprint of 10,000 WAL records of 1 KiB (9.77 MiB live), measured with
//! `cargo run --release -p beat-core --example store_size --features sled`: redb 32.6 MiB
//! (3.3×; unchanged by `RedbStore::compact`, so it is page fill, not free space), sled 19.5 MiB
//! (2.0×) with one record per commit and 18.0 MiB (1.8×) with 100 per commit.

pub mod mem;
#[cfg(feature = "redb")]
pub mod redb_store;
#[cfg(feature = "sled")]
pub mod sled_store;

#[cfg(test)]
pub(crate) mod conformance;

use std::path::PathBuf;

pub use mem::MemStore;
#[cfg(feature = "redb")]
pub use redb_store::RedbStore;
#[cfg(feature = "sled")]
pub use sled_store::SledStore;

/// Where a node's fragment of a dispersed value belongs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FragmentKey {
    /// The epoch.
    pub epoch: u64,
    /// The proposer whose value was dispersed (a `NodeId`).
    pub proposer: u32,
    /// The fragment's index (this node's, for the fragments it keeps).
    pub index: u32,
}

impl FragmentKey {
    /// Big-endian `epoch ‖ proposer ‖ index`: byte order is key order, epoch first.
    pub fn to_bytes(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.epoch.to_be_bytes());
        out[8..12].copy_from_slice(&self.proposer.to_be_bytes());
        out[12..].copy_from_slice(&self.index.to_be_bytes());
        out
    }

    /// Inverse of [`FragmentKey::to_bytes`]; `None` unless exactly 16 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let bytes: &[u8; 16] = bytes.try_into().ok()?;
        let mut epoch = [0u8; 8];
        epoch.copy_from_slice(&bytes[..8]);
        let mut proposer = [0u8; 4];
        proposer.copy_from_slice(&bytes[8..12]);
        let mut index = [0u8; 4];
        index.copy_from_slice(&bytes[12..]);
        Some(FragmentKey {
            epoch: u64::from_be_bytes(epoch),
            proposer: u32::from_be_bytes(proposer),
            index: u32::from_be_bytes(index),
        })
    }
}

/// What a store can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file system operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The store could not be opened: corrupt, locked by another process, or not a store.
    #[error("cannot open the {backend} store at {path}: {message}")]
    Open {
        /// Backend name.
        backend: &'static str,
        /// Its location.
        path: PathBuf,
        /// The backend's explanation.
        message: String,
    },
    /// The backend failed during an operation.
    #[error("{backend} store, {op}: {message}")]
    Backend {
        /// Backend name.
        backend: &'static str,
        /// The operation.
        op: &'static str,
        /// The backend's explanation.
        message: String,
    },
    /// A WAL sequence number that does not increase.
    #[error("WAL sequence numbers must increase: {got} does not follow {last}")]
    OutOfOrder {
        /// The highest sequence number before it.
        last: u64,
        /// The refused one.
        got: u64,
    },
    /// A committed epoch stored again with different bytes.
    #[error("committed epoch {0} is already stored with different contents")]
    CommittedConflict(u64),
    /// Stored bytes that are not what this module writes.
    #[error("corrupt store: {0}")]
    Corrupt(String),
    /// The store was written by a newer, incompatible version.
    #[error("store format {found} is not supported (this build reads format {supported})")]
    UnsupportedFormat {
        /// Format found.
        found: u64,
        /// Format this build reads and writes.
        supported: u64,
    },
    /// A thread panicked while holding the store's lock.
    #[error("store lock poisoned by a panicked thread")]
    Poisoned,
}

/// The store format this build writes (kept in each persistent backend's internal table).
pub const STORE_FORMAT: u64 = 1;

/// Number of snapshots a store keeps (the latest and one fallback).
pub const SNAPSHOTS_KEPT: usize = 2;

/// A record of the write-ahead log: sequence number and bytes.
pub type WalRecord = (u64, Vec<u8>);

/// A node's persistent state, bytes-level. See the module docs for the contract.
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Append `records` (strictly increasing sequence numbers, all above
    /// [`Store::wal_last_seq`]) in one atomic, durable commit. An empty batch is a no-op.
    fn wal_append(&self, records: &[(u64, &[u8])]) -> Result<(), StoreError>;
    /// Append like [`Store::wal_append`] without waiting for the disk (group commit): the
    /// records are readable at once and durable once a later [`Store::wal_append`] or
    /// [`Store::flush`] returns `Ok` (other writes may make them durable earlier; the node
    /// does not count on it). A crash before that may lose them, and only them: what a
    /// restart finds is always a prefix of what was appended. The node defers the records of
    /// a step that neither sends nor stores anything on top of them (see
    /// `node::persist::append`). By default the append is durable at once, which keeps that
    /// contract trivially.
    fn wal_append_deferred(&self, records: &[(u64, &[u8])]) -> Result<(), StoreError> {
        self.wal_append(records)
    }
    /// Up to `max` records with sequence number `>= from_seq`, in order (a restart replays
    /// the log a page at a time instead of loading all of it).
    fn wal_iter_page(&self, from_seq: u64, max: usize) -> Result<Vec<WalRecord>, StoreError>;
    /// Every record with sequence number `>= from_seq`, in order.
    fn wal_iter(&self, from_seq: u64) -> Result<Vec<WalRecord>, StoreError> {
        self.wal_iter_page(from_seq, usize::MAX)
    }
    /// Delete every record with sequence number `< seq`.
    fn wal_truncate_before(&self, seq: u64) -> Result<(), StoreError>;
    /// The highest sequence number ever appended (not lowered by truncation), `None` if none.
    fn wal_last_seq(&self) -> Result<Option<u64>, StoreError>;

    /// Store the application snapshot at `epoch`, keeping the [`SNAPSHOTS_KEPT`] highest epochs.
    fn put_snapshot(&self, epoch: u64, bytes: &[u8]) -> Result<(), StoreError>;
    /// The snapshot with the highest epoch.
    fn latest_snapshot(&self) -> Result<Option<(u64, Vec<u8>)>, StoreError>;
    /// The snapshot at exactly `epoch`, if kept.
    fn get_snapshot(&self, epoch: u64) -> Result<Option<Vec<u8>>, StoreError>;

    /// Store the committed batch of `epoch`; idempotent, immutable once stored.
    fn put_committed(&self, epoch: u64, bytes: &[u8]) -> Result<(), StoreError>;
    /// The committed batch of `epoch`.
    fn get_committed(&self, epoch: u64) -> Result<Option<Vec<u8>>, StoreError>;
    /// Lowest and highest stored committed epoch (inclusive), `None` if empty.
    fn committed_range(&self) -> Result<Option<(u64, u64)>, StoreError>;
    /// Delete every committed epoch `< epoch`.
    fn prune_committed_before(&self, epoch: u64) -> Result<(), StoreError>;

    /// Store a fragment (last write wins).
    fn put_fragment(&self, key: &FragmentKey, bytes: &[u8]) -> Result<(), StoreError>;
    /// A stored fragment.
    fn get_fragment(&self, key: &FragmentKey) -> Result<Option<Vec<u8>>, StoreError>;
    /// Delete every fragment of an epoch `< epoch`.
    fn prune_fragments_before(&self, epoch: u64) -> Result<(), StoreError>;
    /// Delete these fragments (absent ones are no error), in one durable write.
    fn delete_fragments(&self, keys: &[FragmentKey]) -> Result<(), StoreError>;

    /// Store a metadata value (last write wins).
    fn put_meta(&self, key: &[u8], value: &[u8]) -> Result<(), StoreError>;
    /// A metadata value.
    fn get_meta(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Delete a metadata key (no error if absent).
    fn delete_meta(&self, key: &[u8]) -> Result<(), StoreError>;
    /// Delete every metadata key `k` with `from <= k < to` (byte order), e.g. all keys of
    /// epochs below some `e` when keys start with the big-endian epoch.
    fn delete_meta_range(&self, from: &[u8], to: &[u8]) -> Result<(), StoreError>;

    /// Bytes the store occupies on disk (for [`MemStore`]: bytes held in memory).
    fn size_on_disk(&self) -> Result<u64, StoreError>;
    /// Make every completed write durable: only deferred WAL records can be waiting (every
    /// other write is durable when it returns); a no-op when none are.
    fn flush(&self) -> Result<(), StoreError>;
}

/// Length of the integrity tag the persistent backends append to every stored value.
pub const VALUE_TAG_LEN: usize = 8;

/// Hash tag of the integrity tag.
const VALUE_TAG: &str = "BEAT/store/value";

/// `value ‖ tag` with `tag = tagged_hash("BEAT/store/value", table, key, value)[..8]`.
///
/// The persistent backends store this instead of `value`: neither redb nor sled checksums
/// every data page, and a flipped bit on disk would otherwise come back as a silently
/// different WAL record (measured: redb returned altered records after random byte flips).
/// Binding the table and key also catches a value that ends up under another key. This
/// detects accidental corruption, not tampering: whoever can write the files can recompute it.
pub(crate) fn protect(table: &str, key: &[u8], value: &[u8]) -> Vec<u8> {
    let tag = crate::crypto::hash::tagged_hash(VALUE_TAG, &[table.as_bytes(), key, value]);
    let mut out = Vec::with_capacity(value.len() + VALUE_TAG_LEN);
    out.extend_from_slice(value);
    out.extend_from_slice(&tag[..VALUE_TAG_LEN]);
    out
}

/// Inverse of [`protect`]: the value, or [`StoreError::Corrupt`] if the tag does not match.
pub(crate) fn unprotect<'a>(table: &str, key: &[u8], stored: &'a [u8]) -> Result<&'a [u8], StoreError> {
    let corrupt = || StoreError::Corrupt(format!("{table} entry {}: integrity check failed", hex::encode(key)));
    let split = stored.len().checked_sub(VALUE_TAG_LEN).ok_or_else(corrupt)?;
    let (value, tag) = stored.split_at(split);
    let expected = crate::crypto::hash::tagged_hash(VALUE_TAG, &[table.as_bytes(), key, value]);
    if expected[..VALUE_TAG_LEN] != *tag {
        return Err(corrupt());
    }
    Ok(value)
}

/// Check that `records` may follow `last`: strictly increasing, first above `last`.
pub(crate) fn check_wal_order(last: Option<u64>, records: &[(u64, &[u8])]) -> Result<(), StoreError> {
    let mut prev = last;
    for &(seq, _) in records {
        if let Some(p) = prev {
            if seq <= p {
                return Err(StoreError::OutOfOrder { last: p, got: seq });
            }
        }
        prev = Some(seq);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragment_keys_order_like_their_bytes() {
        let keys = [
            FragmentKey { epoch: 0, proposer: 0, index: 0 },
            FragmentKey { epoch: 0, proposer: 0, index: u32::MAX },
            FragmentKey { epoch: 0, proposer: 1, index: 0 },
            FragmentKey { epoch: 1, proposer: 0, index: 0 },
            FragmentKey { epoch: 256, proposer: 0, index: 0 },
            FragmentKey { epoch: u64::MAX, proposer: u32::MAX, index: u32::MAX },
        ];
        for w in keys.windows(2) {
            assert!(w[0] < w[1]);
            assert!(w[0].to_bytes() < w[1].to_bytes());
        }
        for k in keys {
            assert_eq!(FragmentKey::from_bytes(&k.to_bytes()), Some(k));
        }
        assert_eq!(FragmentKey::from_bytes(&[0; 15]), None);
        assert_eq!(FragmentKey::from_bytes(&[0; 17]), None);
    }

    #[test]
    fn wal_order_check() {
        let r = |s: &[u64]| s.iter().map(|&q| (q, &b""[..])).collect::<Vec<_>>();
        assert!(check_wal_order(None, &r(&[0, 1, 5])).is_ok());
        assert!(check_wal_order(Some(4), &r(&[5])).is_ok());
        assert!(check_wal_order(Some(4), &r(&[])).is_ok());
        assert!(matches!(check_wal_order(Some(4), &r(&[4])), Err(StoreError::OutOfOrder { last: 4, got: 4 })));
        assert!(matches!(check_wal_order(None, &r(&[3, 3])), Err(StoreError::OutOfOrder { last: 3, got: 3 })));
        assert!(matches!(check_wal_order(None, &r(&[3, 9, 8])), Err(StoreError::OutOfOrder { last: 9, got: 8 })));
    }

    #[test]
    fn integrity_tags_bind_table_key_and_value() {
        let stored = protect("wal", &7u64.to_be_bytes(), b"record");
        assert_eq!(stored.len(), 6 + VALUE_TAG_LEN);
        assert_eq!(unprotect("wal", &7u64.to_be_bytes(), &stored).unwrap(), b"record");
        for at in 0..stored.len() {
            let mut bad = stored.clone();
            bad[at] ^= 0x10;
            assert!(matches!(unprotect("wal", &7u64.to_be_bytes(), &bad), Err(StoreError::Corrupt(_))), "{at}");
        }
        assert!(unprotect("wal", &8u64.to_be_bytes(), &stored).is_err());
        assert!(unprotect("meta", &7u64.to_be_bytes(), &stored).is_err());
        for len in 0..stored.len() {
            assert!(unprotect("wal", &7u64.to_be_bytes(), &stored[..len]).is_err());
        }
        assert_eq!(unprotect("t", b"", &protect("t", b"", b"")).unwrap(), b"");
    }

    #[test]
    fn mem_store_conformance() {
        conformance::run_volatile(&mut |_| Ok(Box::new(MemStore::new())));
    }

    /// The simulator's power cut: deferred records since the last durable append or flush are
    /// gone (the high-water mark with them; other writes do not settle them: the worst a disk
    /// may do), everything else stays, and the log is a prefix.
    #[test]
    fn mem_store_crash_loses_only_the_deferred_suffix() {
        let store = MemStore::new();
        let wal = |s: &MemStore| s.wal_iter(0).unwrap().iter().map(|(q, _)| *q).collect::<Vec<u64>>();
        store.wal_append(&[(1, b"a")]).unwrap();
        store.wal_append_deferred(&[(2, b"b")]).unwrap();
        store.put_committed(0, b"c0").unwrap();
        store.wal_append_deferred(&[(3, b"c"), (4, b"d")]).unwrap();
        assert_eq!(store.deferred_records(), 3);
        assert_eq!(wal(&store.copy_durable().unwrap()), vec![1]);
        store.crash().unwrap();
        assert_eq!(store.deferred_records(), 0);
        assert_eq!((wal(&store), store.wal_last_seq().unwrap()), (vec![1], Some(1)));
        assert_eq!(store.get_committed(0).unwrap().as_deref(), Some(&b"c0"[..]));
        // The lost numbers are free again; a durable append or a flush settles what is deferred.
        store.wal_append_deferred(&[(2, b"b'")]).unwrap();
        store.wal_append(&[(3, b"c'")]).unwrap();
        store.wal_append_deferred(&[(4, b"d'")]).unwrap();
        store.flush().unwrap();
        store.wal_append_deferred(&[(5, b"e'")]).unwrap();
        store.crash().unwrap();
        assert_eq!((wal(&store), store.wal_last_seq().unwrap()), (vec![1, 2, 3, 4], Some(4)));
        // A crash with nothing deferred changes nothing.
        store.crash().unwrap();
        assert_eq!(wal(&store), vec![1, 2, 3, 4]);
    }
}
