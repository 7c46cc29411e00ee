//! The [`Store`] contract as a test suite every backend runs (compiled under `cfg(test)`).
//!
//! `make(dir)` opens (or creates) a store in the directory `dir`; called twice with the same
//! directory it must reopen the same store. [`run_all`] runs every check; [`run_volatile`]
//! leaves out the two that need a store to outlive its handle (reopen, corruption).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

use super::{FragmentKey, Store, StoreError};

/// Opens a store in a directory.
pub(crate) type Make<'a> = &'a mut dyn FnMut(&Path) -> Result<Box<dyn Store>, StoreError>;

/// Every check, for a persistent backend.
pub(crate) fn run_all(make: Make<'_>) {
    run_volatile(make);
    reopen_keeps_everything(make);
    deferred_appends_are_kept_after_a_flush_and_reopen(make);
    garbage_files_are_an_error_not_a_panic(make);
    bit_flips_never_return_altered_data(make);
}

/// Every check that does not reopen a store.
pub(crate) fn run_volatile(make: Make<'_>) {
    wal_append_and_iterate_in_order(make);
    wal_refuses_non_increasing_sequences_atomically(make);
    wal_truncation_keeps_the_high_water_mark(make);
    snapshots_keep_the_two_latest(make);
    committed_log_range_prune_and_immutability(make);
    fragments_put_get_prune(make);
    meta_put_get_delete(make);
    size_on_disk_counts_the_data(make);
    concurrent_appends_are_serialised(make);
    deferred_appends_read_and_order_like_durable_ones(make);
}

fn fresh(make: Make<'_>) -> (tempfile::TempDir, Box<dyn Store>) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = make(dir.path()).expect("open a fresh store");
    (dir, store)
}

fn seqs(records: &[(u64, Vec<u8>)]) -> Vec<u64> {
    records.iter().map(|(s, _)| *s).collect()
}

fn wal_append_and_iterate_in_order(make: Make<'_>) {
    let (_dir, store) = fresh(make);
    assert_eq!(store.wal_last_seq().unwrap(), None);
    assert!(store.wal_iter(0).unwrap().is_empty());
    store.wal_append(&[]).unwrap();
    assert_eq!(store.wal_last_seq().unwrap(), None);

    let big = vec![0xa5u8; 1 << 20];
    store.wal_append(&[(1, b"one"), (2, b""), (3, &big)]).unwrap();
    store.wal_append(&[(7, b"seven")]).unwrap();
    // 255 < 256 although 256's low byte is smaller: order must be numeric, not byte-wise LE.
    store.wal_append(&[(255, b"a"), (256, b"b")]).unwrap();
    store.wal_append(&[(300, b"three hundred")]).unwrap();
    let all = store.wal_iter(0).unwrap();
    assert_eq!(seqs(&all), vec![1, 2, 3, 7, 255, 256, 300]);
    assert_eq!(all[0].1, b"one");
    assert_eq!(all[1].1, b"");
    assert_eq!(all[2].1, big);
    assert_eq!(all[6].1, b"three hundred");
    assert_eq!(seqs(&store.wal_iter(2).unwrap()), vec![2, 3, 7, 255, 256, 300]);
    assert_eq!(seqs(&store.wal_iter_page(2, 3).unwrap()), vec![2, 3, 7]);
    assert_eq!(seqs(&store.wal_iter_page(8, 2).unwrap()), vec![255, 256]);
    assert!(store.wal_iter_page(0, 0).unwrap().is_empty());
    assert_eq!(seqs(&store.wal_iter(4).unwrap()), vec![7, 255, 256, 300]);
    assert_eq!(seqs(&store.wal_iter(256).unwrap()), vec![256, 300]);
    assert_eq!(seqs(&store.wal_iter(257).unwrap()), vec![300]);
    assert!(store.wal_iter(301).unwrap().is_empty());
    assert!(store.wal_iter(u64::MAX).unwrap().is_empty());
    assert_eq!(store.wal_last_seq().unwrap(), Some(300));
    store.wal_append(&[(u64::MAX, b"last")]).unwrap();
    assert_eq!(store.wal_iter(u64::MAX).unwrap(), vec![(u64::MAX, b"last".to_vec())]);
    assert_eq!(store.wal_last_seq().unwrap(), Some(u64::MAX));
    store.flush().unwrap();
}

fn wal_refuses_non_increasing_sequences_atomically(make: Make<'_>) {
    let (_dir, store) = fresh(make);
    store.wal_append(&[(0, b"zero"), (5, b"five")]).unwrap();
    let batches: [&[(u64, &str)]; 4] =
        [&[(5, "again")], &[(4, "back")], &[(9, "ok"), (8, "back")], &[(9, "dup"), (9, "dup")]];
    for batch in batches {
        let bad: Vec<(u64, &[u8])> = batch.iter().map(|(s, p)| (*s, p.as_bytes())).collect();
        let err = store.wal_append(&bad).expect_err("non-increasing sequence numbers");
        assert!(matches!(err, StoreError::OutOfOrder { .. }), "{err}");
    }
    // Nothing of a refused batch was stored.
    assert_eq!(seqs(&store.wal_iter(0).unwrap()), vec![0, 5]);
    assert_eq!(store.wal_last_seq().unwrap(), Some(5));
    store.wal_append(&[(6, b"six")]).unwrap();
    assert_eq!(store.wal_iter(6).unwrap(), vec![(6, b"six".to_vec())]);
}

fn wal_truncation_keeps_the_high_water_mark(make: Make<'_>) {
    let (_dir, store) = fresh(make);
    let payloads: Vec<Vec<u8>> = (1..=10u64).map(|s| s.to_be_bytes().to_vec()).collect();
    let records: Vec<(u64, &[u8])> = (1..=10u64).zip(&payloads).map(|(s, p)| (s, p.as_slice())).collect();
    store.wal_append(&records).unwrap();
    store.wal_truncate_before(0).unwrap();
    assert_eq!(store.wal_iter(0).unwrap().len(), 10);
    store.wal_truncate_before(4).unwrap();
    let left = store.wal_iter(0).unwrap();
    assert_eq!(seqs(&left), (4..=10).collect::<Vec<_>>());
    assert_eq!(left[0].1, 4u64.to_be_bytes());
    store.wal_truncate_before(4).unwrap();
    assert_eq!(store.wal_iter(0).unwrap().len(), 7);
    store.wal_truncate_before(u64::MAX).unwrap();
    assert!(store.wal_iter(0).unwrap().is_empty());
    // The high-water mark survives: old sequence numbers cannot be reused.
    assert_eq!(store.wal_last_seq().unwrap(), Some(10));
    assert!(matches!(store.wal_append(&[(10, b"reuse")]), Err(StoreError::OutOfOrder { last: 10, got: 10 })));
    assert!(matches!(store.wal_append(&[(1, b"reuse")]), Err(StoreError::OutOfOrder { .. })));
    store.wal_append(&[(11, b"eleven")]).unwrap();
    assert_eq!(store.wal_iter(0).unwrap(), vec![(11, b"eleven".to_vec())]);
}

fn snapshots_keep_the_two_latest(make: Make<'_>) {
    let (_dir, store) = fresh(make);
    assert_eq!(store.latest_snapshot().unwrap(), None);
    store.put_snapshot(5, b"s5").unwrap();
    assert_eq!(store.latest_snapshot().unwrap(), Some((5, b"s5".to_vec())));
    store.put_snapshot(7, b"s7").unwrap();
    assert_eq!(store.latest_snapshot().unwrap(), Some((7, b"s7".to_vec())));
    assert_eq!(store.get_snapshot(5).unwrap().as_deref(), Some(&b"s5"[..]));
    store.put_snapshot(9, b"s9").unwrap();
    assert_eq!(store.get_snapshot(5).unwrap(), None, "only the two latest are kept");
    assert_eq!(store.get_snapshot(7).unwrap().as_deref(), Some(&b"s7"[..]));
    // Same epoch again: replaced.
    store.put_snapshot(9, b"s9'").unwrap();
    assert_eq!(store.latest_snapshot().unwrap(), Some((9, b"s9'".to_vec())));
    assert_eq!(store.get_snapshot(7).unwrap().as_deref(), Some(&b"s7"[..]));
    // An older epoch than both kept ones does not displace them.
    store.put_snapshot(3, b"s3").unwrap();
    assert_eq!(store.latest_snapshot().unwrap(), Some((9, b"s9'".to_vec())));
    assert_eq!(store.get_snapshot(7).unwrap().as_deref(), Some(&b"s7"[..]));
    assert_eq!(store.get_snapshot(3).unwrap(), None);
    // Epoch order is numeric (256 > 255 although its low byte is smaller).
    store.put_snapshot(255, b"a").unwrap();
    store.put_snapshot(256, b"b").unwrap();
    assert_eq!(store.latest_snapshot().unwrap(), Some((256, b"b".to_vec())));
}

fn committed_log_range_prune_and_immutability(make: Make<'_>) {
    let (_dir, store) = fresh(make);
    assert_eq!(store.committed_range().unwrap(), None);
    for e in [3u64, 4, 5, 9] {
        store.put_committed(e, format!("batch {e}").as_bytes()).unwrap();
    }
    assert_eq!(store.committed_range().unwrap(), Some((3, 9)));
    assert_eq!(store.get_committed(4).unwrap().as_deref(), Some(&b"batch 4"[..]));
    assert_eq!(store.get_committed(6).unwrap(), None);
    // Replaying the same batch is fine; a different one for a committed epoch is refused.
    store.put_committed(4, b"batch 4").unwrap();
    assert!(matches!(store.put_committed(4, b"forged"), Err(StoreError::CommittedConflict(4))));
    assert!(matches!(store.put_committed(4, b""), Err(StoreError::CommittedConflict(4))));
    assert_eq!(store.get_committed(4).unwrap().as_deref(), Some(&b"batch 4"[..]));
    store.prune_committed_before(5).unwrap();
    assert_eq!(store.committed_range().unwrap(), Some((5, 9)));
    assert_eq!(store.get_committed(4).unwrap(), None);
    assert_eq!(store.get_committed(3).unwrap(), None);
    store.prune_committed_before(0).unwrap();
    assert_eq!(store.committed_range().unwrap(), Some((5, 9)));
    store.prune_committed_before(100).unwrap();
    assert_eq!(store.committed_range().unwrap(), None);
    store.put_committed(0, b"genesis").unwrap();
    assert_eq!(store.committed_range().unwrap(), Some((0, 0)));
}

fn fragments_put_get_prune(make: Make<'_>) {
    let (_dir, store) = fresh(make);
    let k = |epoch, proposer, index| FragmentKey { epoch, proposer, index };
    let keys = [k(1, 0, 2), k(1, 3, 2), k(2, 0, 2), k(2, u32::MAX, 0), k(3, 1, u32::MAX), k(u64::MAX, 0, 0)];
    for (i, key) in keys.iter().enumerate() {
        store.put_fragment(key, format!("fragment {i}").as_bytes()).unwrap();
    }
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(store.get_fragment(key).unwrap(), Some(format!("fragment {i}").into_bytes()), "{key:?}");
    }
    assert_eq!(store.get_fragment(&k(1, 0, 3)).unwrap(), None);
    assert_eq!(store.get_fragment(&k(1, 1, 2)).unwrap(), None);
    assert_eq!(store.get_fragment(&k(4, 0, 2)).unwrap(), None);
    store.put_fragment(&k(1, 3, 2), b"replaced").unwrap();
    assert_eq!(store.get_fragment(&k(1, 3, 2)).unwrap().as_deref(), Some(&b"replaced"[..]));
    store.prune_fragments_before(2).unwrap();
    assert_eq!(store.get_fragment(&k(1, 0, 2)).unwrap(), None);
    assert_eq!(store.get_fragment(&k(1, 3, 2)).unwrap(), None);
    for key in &keys[2..] {
        assert!(store.get_fragment(key).unwrap().is_some(), "{key:?} must survive pruning below epoch 2");
    }
    store.prune_fragments_before(3).unwrap();
    store.delete_fragments(&[k(3, 1, u32::MAX), k(3, 1, u32::MAX), k(7, 7, 7)]).unwrap();
    assert_eq!(store.get_fragment(&k(3, 1, u32::MAX)).unwrap(), None, "delete_fragments deletes the key it names");
    store.put_fragment(&k(3, 1, u32::MAX), b"back").unwrap();
    assert_eq!(store.get_fragment(&k(2, u32::MAX, 0)).unwrap(), None);
    assert!(store.get_fragment(&k(3, 1, u32::MAX)).unwrap().is_some());
    assert!(store.get_fragment(&k(u64::MAX, 0, 0)).unwrap().is_some());
}

fn meta_put_get_delete(make: Make<'_>) {
    let (_dir, store) = fresh(make);
    assert_eq!(store.get_meta(b"sent").unwrap(), None);
    store.put_meta(b"sent", b"v1").unwrap();
    store.put_meta(b"", b"empty key").unwrap();
    store.put_meta(b"sent", b"v2").unwrap();
    assert_eq!(store.get_meta(b"sent").unwrap().as_deref(), Some(&b"v2"[..]));
    assert_eq!(store.get_meta(b"").unwrap().as_deref(), Some(&b"empty key"[..]));
    store.delete_meta(b"sent").unwrap();
    store.delete_meta(b"never there").unwrap();
    assert_eq!(store.get_meta(b"sent").unwrap(), None);

    // Keys led by a big-endian epoch: delete the epochs below 3.
    let key = |epoch: u64, rest: &[u8]| [&epoch.to_be_bytes()[..], rest].concat();
    for epoch in 1..=4u64 {
        store.put_meta(&key(epoch, b"/echo"), b"x").unwrap();
        store.put_meta(&key(epoch, b"/ready"), b"y").unwrap();
    }
    store.delete_meta_range(&key(1, b""), &key(3, b"")).unwrap();
    for epoch in 1..=4u64 {
        let present = store.get_meta(&key(epoch, b"/echo")).unwrap().is_some();
        assert_eq!(present, epoch >= 3, "epoch {epoch}");
        assert_eq!(store.get_meta(&key(epoch, b"/ready")).unwrap().is_some(), epoch >= 3);
    }
    // An empty or reversed range deletes nothing.
    store.delete_meta_range(&key(4, b""), &key(3, b"")).unwrap();
    store.delete_meta_range(&key(3, b""), &key(3, b"")).unwrap();
    assert!(store.get_meta(&key(3, b"/echo")).unwrap().is_some());
    assert_eq!(store.get_meta(b"").unwrap().as_deref(), Some(&b"empty key"[..]));
}

fn size_on_disk_counts_the_data(make: Make<'_>) {
    let (_dir, store) = fresh(make);
    let payload = vec![0x5au8; 1024];
    let records: Vec<(u64, &[u8])> = (0..200u64).map(|s| (s, payload.as_slice())).collect();
    store.wal_append(&records).unwrap();
    store.flush().unwrap();
    let size = store.size_on_disk().unwrap();
    assert!(size >= 200 * 1024, "{size} bytes for 200 KiB of records");
}

fn concurrent_appends_are_serialised(make: Make<'_>) {
    let (_dir, store) = fresh(make);
    let next = AtomicU64::new(0);
    let store_ref: &dyn Store = store.as_ref();
    let appended: Vec<Vec<(u64, Vec<u8>)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2u8)
            .map(|thread| {
                let next = &next;
                scope.spawn(move || {
                    let mut ok = Vec::new();
                    for _ in 0..60 {
                        let seq = next.fetch_add(1, Ordering::SeqCst);
                        let payload = [thread, (seq % 251) as u8].repeat(16);
                        match store_ref.wal_append(&[(seq, &payload)]) {
                            Ok(()) => ok.push((seq, payload)),
                            // The other thread appended a higher number first.
                            Err(StoreError::OutOfOrder { last, got }) => assert!(last > got && got == seq),
                            Err(e) => panic!("append failed: {e}"),
                        }
                    }
                    ok
                })
            })
            .collect();
        // A reader sees a sorted log at every moment.
        let reader = scope.spawn(|| {
            for _ in 0..20 {
                let s = seqs(&store_ref.wal_iter(0).unwrap());
                assert!(s.windows(2).all(|w| w[0] < w[1]), "{s:?}");
            }
        });
        reader.join().expect("reader");
        workers.into_iter().map(|w| w.join().expect("writer")).collect()
    });
    let mut expected: Vec<(u64, Vec<u8>)> = appended.concat();
    expected.sort();
    assert!(!appended[0].is_empty() && !appended[1].is_empty());
    assert_eq!(store.wal_iter(0).unwrap(), expected, "exactly the acknowledged appends, in order");
    assert_eq!(store.wal_last_seq().unwrap(), expected.last().map(|(s, _)| *s));
}

fn reopen_keeps_everything(make: Make<'_>) {
    let dir = tempfile::tempdir().expect("temporary directory");
    {
        let store = make(dir.path()).unwrap();
        store.wal_append(&[(1, b"a"), (2, b"b")]).unwrap();
        store.wal_append(&[(3, b"c")]).unwrap();
        store.wal_truncate_before(2).unwrap();
        store.put_snapshot(4, b"snap4").unwrap();
        store.put_snapshot(8, b"snap8").unwrap();
        store.put_committed(7, b"seven").unwrap();
        store.put_committed(8, b"eight").unwrap();
        store.put_fragment(&FragmentKey { epoch: 8, proposer: 1, index: 2 }, b"frag").unwrap();
        store.put_meta(b"sent/8/1", b"echo").unwrap();
    }
    {
        let store = make(dir.path()).unwrap();
        assert_eq!(store.wal_iter(0).unwrap(), vec![(2, b"b".to_vec()), (3, b"c".to_vec())]);
        assert_eq!(store.wal_last_seq().unwrap(), Some(3));
        assert_eq!(store.latest_snapshot().unwrap(), Some((8, b"snap8".to_vec())));
        assert_eq!(store.get_snapshot(4).unwrap().as_deref(), Some(&b"snap4"[..]));
        assert_eq!(store.committed_range().unwrap(), Some((7, 8)));
        assert!(matches!(store.put_committed(8, b"other"), Err(StoreError::CommittedConflict(8))));
        assert_eq!(
            store.get_fragment(&FragmentKey { epoch: 8, proposer: 1, index: 2 }).unwrap().as_deref(),
            Some(&b"frag"[..])
        );
        assert_eq!(store.get_meta(b"sent/8/1").unwrap().as_deref(), Some(&b"echo"[..]));
        // Truncate everything, reopen: the high-water mark is still there.
        store.wal_truncate_before(u64::MAX).unwrap();
    }
    let store = make(dir.path()).unwrap();
    assert!(store.wal_iter(0).unwrap().is_empty());
    assert_eq!(store.wal_last_seq().unwrap(), Some(3));
    assert!(matches!(store.wal_append(&[(3, b"again")]), Err(StoreError::OutOfOrder { last: 3, got: 3 })));
    store.wal_append(&[(4, b"d")]).unwrap();
}

/// Group commit: deferred records are readable at once, in order with durable ones, under the
/// same sequence rules.
fn deferred_appends_read_and_order_like_durable_ones(make: Make<'_>) {
    let (_dir, store) = fresh(make);
    store.wal_append_deferred(&[]).unwrap();
    store.wal_append(&[(1, b"one")]).unwrap();
    store.wal_append_deferred(&[(2, b"two"), (3, b"three")]).unwrap();
    assert_eq!(store.wal_last_seq().unwrap(), Some(3));
    assert!(matches!(store.wal_append_deferred(&[(3, b"again")]), Err(StoreError::OutOfOrder { last: 3, got: 3 })));
    assert!(matches!(store.wal_append(&[(2, b"again")]), Err(StoreError::OutOfOrder { last: 3, got: 2 })));
    store.wal_append(&[(4, b"four")]).unwrap();
    store.wal_append_deferred(&[(5, b"five")]).unwrap();
    assert_eq!(seqs(&store.wal_iter(0).unwrap()), vec![1, 2, 3, 4, 5]);
    assert_eq!(store.wal_iter_page(2, 2).unwrap(), vec![(2, b"two".to_vec()), (3, b"three".to_vec())]);
    store.flush().unwrap();
    store.flush().unwrap();
    store.wal_truncate_before(3).unwrap();
    assert_eq!(seqs(&store.wal_iter(0).unwrap()), vec![3, 4, 5]);
}

/// Deferred records, with other writes between them and a flush after, are there after a
/// reopen. (What a crash does to them is backend-specific: `MemStore::crash`, and a crash
/// image of a redb file in `redb_store`'s tests.)
fn deferred_appends_are_kept_after_a_flush_and_reopen(make: Make<'_>) {
    let dir = tempfile::tempdir().expect("temporary directory");
    {
        let store = make(dir.path()).unwrap();
        store.wal_append_deferred(&[(1, b"a"), (2, b"b")]).unwrap();
        store.put_meta(b"k", b"v").unwrap();
        store.wal_append_deferred(&[(3, b"c")]).unwrap();
        store.flush().unwrap();
    }
    let store = make(dir.path()).unwrap();
    assert_eq!(seqs(&store.wal_iter(0).unwrap()), vec![1, 2, 3]);
    assert_eq!(store.wal_last_seq().unwrap(), Some(3));
    assert_eq!(store.get_meta(b"k").unwrap().as_deref(), Some(&b"v"[..]));
}

/// Every regular file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn garbage_files_are_an_error_not_a_panic(make: Make<'_>) {
    let dir = tempfile::tempdir().expect("temporary directory");
    {
        let store = make(dir.path()).unwrap();
        let payload = vec![7u8; 4096];
        let records: Vec<(u64, &[u8])> = (0..32u64).map(|s| (s, payload.as_slice())).collect();
        store.wal_append(&records).unwrap();
        store.put_meta(b"k", b"v").unwrap();
    }
    let files = files_under(dir.path());
    assert!(!files.is_empty());
    let mut rng = ChaCha20Rng::seed_from_u64(99);
    for file in &files {
        let len = std::fs::metadata(file).unwrap().len().max(4096) as usize;
        let mut garbage = vec![0u8; len];
        rng.fill_bytes(&mut garbage);
        std::fs::write(file, &garbage).unwrap();
    }
    // `make` must return (not panic), and with every file replaced by random bytes it must
    // refuse the store: nothing of it can be trusted.
    let reopened = make(dir.path());
    assert!(reopened.is_err(), "a store made of random bytes was opened");
    let err = reopened.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(!err.is_empty());
}

/// Flip bytes inside the store's files (past the first 4 KiB, where the backends keep their
/// headers): opening may fail, reads may fail or (sled) miss records, but no read may return
/// bytes that were never written. 20 fixed seeds, so the check is deterministic.
fn bit_flips_never_return_altered_data(make: Make<'_>) {
    let payload = |seq: u64| vec![(seq % 251) as u8; 4096];
    for seed in 0..20u64 {
        let dir = tempfile::tempdir().expect("temporary directory");
        {
            let store = make(dir.path()).unwrap();
            for seq in 0..32u64 {
                store.wal_append(&[(seq, &payload(seq))]).unwrap();
            }
            store.put_meta(b"k", b"v").unwrap();
            store.put_committed(1, &payload(1)).unwrap();
        }
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        for file in files_under(dir.path()) {
            let mut bytes = std::fs::read(&file).unwrap();
            if bytes.len() <= 8192 {
                continue;
            }
            for _ in 0..16 {
                let at = 4096 + (rng.next_u64() as usize) % (bytes.len() - 4096);
                bytes[at] ^= 1 << (rng.next_u32() % 8);
            }
            std::fs::write(&file, &bytes).unwrap();
        }
        let Ok(store) = make(dir.path()) else { continue };
        if let Ok(records) = store.wal_iter(0) {
            for (seq, bytes) in records {
                assert_eq!(bytes, payload(seq), "seed {seed}: WAL record {seq} came back altered");
            }
        }
        if let Ok(Some(v)) = store.get_meta(b"k") {
            assert_eq!(v, b"v", "seed {seed}");
        }
        if let Ok(Some(v)) = store.get_committed(1) {
            assert_eq!(v, payload(1), "seed {seed}");
        }
    }
}
