//! What a node reads back from a damaged (or hostile) data directory: checkpoints, committed
//! batches, WAL records, application snapshots, and the redb file itself.
//!
//! The first byte picks a mode:
//!
//! | mode | bytes are | what runs | asserts |
//! |---|---|---|---|
//! | 0 | a `beat::Checkpoint` (next byte: the variant) | `codec::decode`, `Beat::resume`, then a `Propose` | round trip; resume never panics; the resumed node is at the checkpoint's epoch; `Propose` fails only by refusing |
//! | 1 | a `beat::Batch` (next byte: the variant) | `codec::decode`, `Beat::fast_forward` at epoch 0 | round trip; no panic; errors are `NotCurrentEpoch` / `MalformedCatchUp` only |
//! | 2 | a WAL record (`driver::WalEntry`'s serde shape) | decode as `BeatNode::start` does, route a `Message` frame, decode a `CatchUp` batch | round trip; no panic |
//! | 3 | a `KvApp` snapshot | `ConsensusApp::restore` | restore∘snapshot is the identity |
//! | 4 | the whole `beat.redb` file | `RedbStore::open`, every read of the `Store` trait, one write of each kind, reopen | never panics (redb's own panics on open are caught by `RedbStore::open` and must become `StoreError::Open`); a write that returned `Ok` is there after reopening |
//!
//! Decoding `N` bytes (modes 0–3) raises the heap by at most `64·N + 8 MiB`.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use beat_core::app::{ConsensusApp, KvApp};
use beat_core::beat::{Batch, Beat, BeatError, Checkpoint, Config, Input, Variant};
use beat_core::codec::{self, MAX_FRAME_BYTES};
use beat_core::net::router;
use beat_core::proto::Protocol;
use beat_core::state::{redb_store::FILE_NAME, FragmentKey, RedbStore, Store, StoreError};
use beat_fuzz::alloc::{assert_bounded, measure};
use beat_fuzz::{assert_local_refusal, committee, WalEntry, WIRE_SESSION};
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

fn wal_record(bytes: &[u8]) {
    let (entry, peak) = measure(|| codec::decode::<WalEntry>(bytes, MAX_FRAME_BYTES + 1024));
    assert_bounded("decode WalEntry", bytes.len(), peak, ALLOC_PER_BYTE, ALLOC_FIXED);
    let Ok(entry) = entry else { return };
    let again: WalEntry = codec::decode(&codec::encode(&entry), MAX_FRAME_BYTES + 1024).expect("re-encoded record");
    assert_eq!(again, entry);
    match entry {
        WalEntry::Message { frame, .. } => {
            let _ = router::route(&frame, &WIRE_SESSION);
        }
        WalEntry::CatchUp(b) => {
            let _ = codec::decode::<Batch>(&b, MAX_FRAME_BYTES);
        }
        WalEntry::Submit(_) => {}
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

/// `RedbStore::open` with libFuzzer's abort-on-panic hook lifted: `open` catches redb's panics
/// on damaged files itself (its contract: `StoreError::Open`, not a crash). A panic that
/// escapes `open` is still a finding: it is re-raised after the hook is restored.
fn open(dir: &std::path::Path) -> Result<RedbStore, StoreError> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(|| RedbStore::open(dir));
    std::panic::set_hook(hook);
    match r {
        Ok(r) => r,
        Err(p) => std::panic::resume_unwind(p),
    }
}

fn redb_file(bytes: &[u8]) {
    let dir = scratch();
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("scratch dir");
    std::fs::write(dir.join(FILE_NAME), bytes).expect("write the store file");
    let Ok(store) = open(dir) else { return };
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
    let store = open(dir).expect("a store that accepted writes reopens");
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
    match mode % 5 {
        0 => checkpoint(input),
        1 => batch(input),
        2 => wal_record(input),
        3 => snapshot(input),
        _ => redb_file(input),
    }
});
