//! What a node reads back from a damaged (or hostile) data directory: checkpoints, committed
//! batches, WAL records, application snapshots, and the redb file itself.
//!
//! The first byte picks a mode:
//!
//! | mode | bytes are | what runs | asserts |
//! |---|---|---|---|
//! | 0 | a `beat::Checkpoint` (next byte: the variant) | `codec::decode`, `Beat::resume`, a `Propose`, a peer's vote for the epoch and the next | round trip; resume never panics; the resumed node is at the checkpoint's epoch; `Propose` fails only by refusing; the votes are handled without `Err` |
//! | 1 | a `beat::Batch` (next byte: the variant) | `codec::decode`, `Beat::fast_forward` at epoch 0 | round trip; no panic; errors are `NotCurrentEpoch` / `MalformedCatchUp` only |
//! | 2 | a WAL record (next byte: the variant) | decode (the private `node::core::WalEntry`'s serde shape), route a `Message` frame, decode a `CatchUp` batch; then `NodeCore::replay` of the record in a fresh core, as a restarting node does | round trip; no panic; a replay sends nothing (frames wait for the rejoin) and accepts only records that decode |
//! | 3 | a `KvApp` snapshot | `ConsensusApp::restore` | restore∘snapshot is the identity |
//! | 4 | the whole `beat.redb` file | `RedbStore::open`, every read of the `Store` trait, one write of each kind, reopen | never panics (redb's own panics on open are caught by `RedbStore::open` and must become `StoreError::Open`); a write that returned `Ok` is there after reopening |
//! | 5 | edits to a real `beat.redb` (3.6 MB, written by `RedbStore` at start-up with WAL records, a snapshot, a committed batch, a fragment and metadata): records `kind u8, offset u24 LE, len u8, bytes`; kind 0 overwrites, 1 truncates the file at the offset, 2 zeroes `256·len` bytes | as mode 4 |
//!
//! Decoding `N` bytes (modes 0–3) raises the heap by at most `64·N + 8 MiB`.
#![no_main]

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use beat_core::app::{ConsensusApp, KvApp};
use beat_core::beat::{Batch, Beat, BeatError, Checkpoint, Config, Content, Input, Message, Variant};
use beat_core::codec::{self, MAX_FRAME_BYTES};
use beat_core::net::router;
use beat_core::node::{CoreConfig, NodeCore, Recovery};
use beat_core::proto::aba::{AbaContent, AbaMessage};
use beat_core::proto::acs::{AcsContent, AcsMessage};
use beat_core::proto::Protocol;
use beat_core::state::{redb_store::FILE_NAME, FragmentKey, RedbStore, Store, StoreError};
use beat_fuzz::alloc::{assert_bounded, measure};
use beat_fuzz::{assert_local_refusal, committee, known, WalEntry};
use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

const ALLOC_PER_BYTE: usize = 64;
const ALLOC_FIXED: usize = 8 << 20;

fn variant(b: Option<&u8>) -> Variant {
    Variant::ALL[usize::from(b.copied().unwrap_or(0)) % 5]
}

fn checkpoint(input: &[u8]) {
    let Some((v, bytes)) = input.split_first() else { return };
    let (cp, peak) = measure(|| codec::decode::<Checkpoint>(bytes, MAX_FRAME_BYTES));
    assert_bounded("decode Checkpoint", bytes.len(), peak, ALLOC_PER_BYTE, ALLOC_FIXED);
    let Ok(cp) = cp else { return };
    let again: Checkpoint = codec::decode(&codec::encode(&cp), MAX_FRAME_BYTES).expect("re-encoded checkpoint");
    assert_eq!(again, cp);
    let keys = committee(variant(Some(v)));
    let mut node = Beat::resume(keys[0].clone(), Config::default(), &cp);
    assert_eq!(node.epoch(), cp.epoch, "resumed at another epoch");
    assert_eq!(node.checkpoint().epoch, cp.epoch);
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    if let Err(e) = node.handle_input(Input::Propose, &mut rng) {
        assert_local_refusal(&e);
    }
    // A peer's vote for the resumed epoch and the next: the node carries on from there.
    for epoch in [cp.epoch, cp.epoch.saturating_add(1)] {
        let aba = AbaMessage { round: 0, content: AbaContent::BVal(true) };
        let content = Content::Acs(AcsMessage { proposer: 1, content: AcsContent::Aba(aba) });
        if let Err(e) = node.handle_message(1, Message { epoch, content }, &mut rng) {
            panic!("handle_message after resume returned Err: {e}");
        }
    }
}

fn batch(input: &[u8]) {
    let Some((v, bytes)) = input.split_first() else { return };
    let (b, peak) = measure(|| codec::decode::<Batch>(bytes, MAX_FRAME_BYTES));
    assert_bounded("decode Batch", bytes.len(), peak, ALLOC_PER_BYTE, ALLOC_FIXED);
    let Ok(b) = b else { return };
    let again: Batch = codec::decode(&codec::encode(&b), MAX_FRAME_BYTES).expect("re-encoded batch");
    assert_eq!(again, b);
    let keys = committee(variant(Some(v)));
    let mut node = Beat::new(keys[0].clone(), Config::default());
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    match node.fast_forward(b, &mut rng) {
        Ok(_) => assert_eq!(node.epoch(), 1, "fast_forward of epoch 0 did not advance"),
        Err(BeatError::NotCurrentEpoch { .. } | BeatError::MalformedCatchUp(_)) => assert_eq!(node.epoch(), 0),
        Err(e) => panic!("fast_forward failed with {e}"),
    }
}

fn wal_record(input: &[u8]) {
    let Some((v, bytes)) = input.split_first() else { return };
    let keys = committee(variant(Some(v)));
    let (entry, peak) = measure(|| codec::decode::<WalEntry>(bytes, MAX_FRAME_BYTES + 1024));
    assert_bounded("decode WalEntry", bytes.len(), peak, ALLOC_PER_BYTE, ALLOC_FIXED);
    if let Ok(entry) = &entry {
        let again: WalEntry = codec::decode(&codec::encode(entry), MAX_FRAME_BYTES + 1024).expect("re-encoded record");
        assert_eq!(&again, entry);
        match entry {
            WalEntry::Message { frame, .. } => {
                let _ = router::route(frame, &keys[0].public.session);
            }
            WalEntry::CatchUp(b) => {
                let _ = codec::decode::<Batch>(b, MAX_FRAME_BYTES);
            }
            WalEntry::Submit(_) | WalEntry::Rejoin { .. } => {}
        }
    }
    // What a restarting node does with it: replay it into a fresh core.
    let config = CoreConfig::for_settings(&keys[0].public.settings, keys.len());
    let mut core = NodeCore::new(keys[0].clone(), config, [7; 32], 1, &Recovery::default());
    if let Ok(ready) = core.replay(&[(0, bytes.to_vec())]) {
        assert!(ready.send.is_empty(), "replay sent frames (they must wait for the rejoin)");
        assert!(entry.is_ok(), "the core replayed a record that does not decode as a WAL entry");
    }
}

fn snapshot(bytes: &[u8]) {
    let mut app = KvApp::default();
    let (restored, peak) = measure(|| app.restore(bytes));
    assert_bounded("KvApp::restore", bytes.len(), peak, ALLOC_PER_BYTE, ALLOC_FIXED);
    if restored.is_ok() {
        let mut other = KvApp::default();
        other.restore(&app.snapshot()).expect("a snapshot restores");
        assert_eq!(other, app);
    }
}

/// A scratch directory (in /dev/shm when there is one: every redb commit is an fsync).
fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DIR.get_or_init(|| {
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() { tempfile::tempdir_in(shm) } else { tempfile::tempdir() }.expect("temp dir");
        let path = dir.path().join("store");
        (dir, path)
    })
    .1
}

/// Run `f` with libFuzzer's abort-on-panic hook lifted: `RedbStore::open` catches redb's panics
/// on damaged files itself (its contract: `StoreError::Open`, not a crash), which the hook
/// would turn into an abort. A panic that escapes is still a finding, reported with its
/// original message, location and backtrace once the hook is back. (`BEAT_FUZZ_KNOWN=redb-panic`
/// tolerates escaping panics raised inside redb: `None`.)
fn guarded<T>(what: &str, f: impl FnOnce() -> T) -> Option<T> {
    static LAST: Mutex<Option<(String, bool)>> = Mutex::new(None);
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        let in_redb = info.location().is_some_and(|l| l.file().contains("/redb-"));
        let bt = std::backtrace::Backtrace::force_capture();
        if let Ok(mut last) = LAST.lock() {
            *last = Some((format!("{info}\n{bt}"), in_redb));
        }
    }));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    match r {
        Ok(v) => Some(v),
        Err(_) => {
            let (info, in_redb) = LAST.lock().ok().and_then(|mut l| l.take()).unwrap_or_default();
            if in_redb && known("redb-panic") {
                return None;
            }
            panic!("a panic escaped {what}: {info}")
        }
    }
}

fn open(dir: &std::path::Path) -> Option<Result<RedbStore, StoreError>> {
    guarded("RedbStore::open", || RedbStore::open(dir))
}

/// A real store file: what `RedbStore` writes for a node with a little of everything.
fn pristine() -> &'static [u8] {
    static FILE: OnceLock<Vec<u8>> = OnceLock::new();
    FILE.get_or_init(|| {
        let dir = scratch();
        let _ = std::fs::remove_dir_all(dir);
        let store = RedbStore::open(dir).expect("a fresh store opens");
        for seq in 0..8u64 {
            store.wal_append(&[(seq, &[seq as u8; 100])]).expect("append");
        }
        store.put_snapshot(0, b"snapshot").expect("snapshot");
        store.put_committed(0, b"committed batch").expect("committed");
        store.put_fragment(&FragmentKey { epoch: 0, proposer: 1, index: 0 }, b"fragment").expect("fragment");
        store.put_meta(b"node/seed", &[7; 32]).expect("meta");
        store.wal_truncate_before(2).expect("truncate");
        drop(store);
        std::fs::read(dir.join(FILE_NAME)).expect("read the store file")
    })
}

fn patched(edits: &[u8]) {
    let mut file = pristine().to_vec();
    let mut at = 0;
    while at + 5 <= edits.len() {
        let kind = edits[at];
        let offset = usize::from(edits[at + 1]) | usize::from(edits[at + 2]) << 8 | usize::from(edits[at + 3]) << 16;
        let len = usize::from(edits[at + 4]);
        at += 5;
        match kind % 3 {
            0 => {
                let data = &edits[at..(at + len).min(edits.len())];
                at += data.len();
                let end = (offset + data.len()).min(file.len());
                if offset < end {
                    file[offset..end].copy_from_slice(&data[..end - offset]);
                }
            }
            1 => file.truncate(offset),
            _ => {
                let end = (offset + 256 * len).min(file.len());
                if offset < end {
                    file[offset..end].fill(0);
                }
            }
        }
    }
    redb_file(&file);
}

fn redb_file(bytes: &[u8]) {
    let dir = scratch();
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("scratch dir");
    std::fs::write(dir.join(FILE_NAME), bytes).expect("write the store file");
    let Some(Ok(store)) = open(dir) else { return };
    let _ = guarded("the Store methods of an opened RedbStore", || use_store(dir, store));
}

/// Every read the node makes, one write of each kind, and a reopen.
fn use_store(dir: &std::path::Path, store: RedbStore) {
    // Every read the node makes at start and while running.
    let _ = store.wal_last_seq();
    let _ = store.wal_iter(0);
    let _ = store.latest_snapshot();
    let _ = store.get_snapshot(0);
    if let Ok(Some((lo, hi))) = store.committed_range() {
        assert!(lo <= hi, "committed range {lo}..={hi}");
        let _ = store.get_committed(lo);
        let _ = store.get_committed(hi);
    }
    let _ = store.get_meta(b"node/seed");
    let _ = store.get_meta(b"checkpoint/00000000000000000001");
    let _ = store.get_fragment(&FragmentKey { epoch: 0, proposer: 0, index: 0 });
    let _ = store.size_on_disk();
    // One write of each kind; what returns Ok must be there after reopening.
    let seq = store.wal_last_seq().ok().flatten().map_or(Some(0), |s| s.checked_add(1));
    let wal_ok = seq.is_some_and(|s| store.wal_append(&[(s, b"fuzz")]).is_ok());
    let meta_ok = store.put_meta(b"fuzz/meta", b"value").is_ok();
    let _ = store.put_snapshot(1, b"snap");
    let _ = store.put_committed(u64::MAX, b"batch");
    let _ = store.put_fragment(&FragmentKey { epoch: 1, proposer: 1, index: 1 }, b"frag");
    let _ = store.prune_committed_before(1);
    let _ = store.prune_fragments_before(1);
    let _ = store.wal_truncate_before(1);
    let _ = store.delete_meta_range(b"a", b"b");
    drop(store);
    let Some(reopened) = open(dir) else { return };
    if !(wal_ok || meta_ok) {
        return;
    }
    let store = reopened.expect("a store that accepted writes reopens");
    if meta_ok {
        assert_eq!(store.get_meta(b"fuzz/meta").expect("meta readable").as_deref(), Some(&b"value"[..]));
    }
    if wal_ok {
        let s = seq.expect("appended");
        assert!(store.wal_last_seq().expect("wal readable").is_some_and(|l| l >= s), "durable append lost");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else { return };
    match mode % 6 {
        0 => checkpoint(input),
        1 => batch(input),
        2 => wal_record(input),
        3 => snapshot(input),
        4 => redb_file(input),
        _ => patched(input),
    }
});
