//! One phone's vault: its two nodes (directory on BEAT1, storage on BEAT3/4), the outbox that
//! makes writes offline-first and resumable, reads, and the health report.
//!
//! **Writes** go to the outbox on this phone's disk first (`data/outbox/`): the file's bytes and
//! a record of what is done. A worker takes them in order: it seals each chunk under the file's
//! key and stores it on the storage committee (`BeatNode::put`), recording each stored chunk's
//! place as it goes; then it submits the directory operation. A phone that sleeps, loses the
//! quorum or restarts mid-upload resumes at the first chunk not recorded — and because the
//! directory only ever names a version once every chunk is stored, nobody ever sees a half file.
//! A resubmitted operation carries the same id, and the directory applies an id once.
//!
//! **Reads** find the version in the directory, read just the chunks a byte range needs (each
//! from the fragments of any `k` phones, verified against the committed cross-checksums), open
//! them with the file key, and check the whole file's SHA-256 when it is read whole.

use std::collections::VecDeque;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use beat_core::app::KvApp;
use beat_core::beat::ValueId;
use beat_core::driver::{BeatNode, PutFailure, SubmitError};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::crypt::{Key, OVERHEAD};
use crate::dir::{check_path, ChunkRef, Content, Directory, DirectoryApp, MemberHealth, Op, Outcome, Signed, Version};
use crate::home::Home;

/// Plaintext bytes per chunk (a sealed chunk is one transaction on the storage committee).
pub const CHUNK_SIZE: u32 = 4 << 20;
/// How long one chunk's store may take before the worker tries again later.
const PUT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the worker waits for a directory operation to commit before it tries again later.
const COMMIT_WAIT: Duration = Duration::from_secs(20);
/// How long a read may take.
pub const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Completed writes remembered for the UI.
const RECENT: usize = 200;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// A vault error, for the CLI and the web UI.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// No such file or version.
    #[error("{0}")]
    NotFound(String),
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// The committee did not answer in time (too few phones reachable).
    #[error("{0}")]
    Unavailable(String),
    /// Stored data that does not decrypt or hash as committed.
    #[error("{0}")]
    Corrupt(String),
    /// Local disk or node failure.
    #[error("{0}")]
    Internal(String),
}

/// One write waiting in the outbox.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pending {
    /// Its order.
    pub seq: u64,
    /// The operation (for an upload: its chunks so far).
    pub signed: Signed,
    /// Whether the file's bytes are staged next to it.
    pub staged: bool,
    /// Why the last attempt did not finish.
    pub last_error: Option<String>,
    /// Attempts so far.
    pub attempts: u64,
}

impl Pending {
    /// Chunks stored / needed (0/0 for an operation without data).
    pub fn progress(&self) -> (u64, u64) {
        match &self.signed.op {
            Op::Put { content, .. } => {
                (content.chunks.len() as u64, content.size.div_ceil(u64::from(content.chunk_size)))
            }
            _ => (0, 0),
        }
    }
}

/// A staged file that is gone can never be stored; any other disk error may pass.
fn staged(e: std::io::Error) -> Stall {
    match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::UnexpectedEof => Stall::Fail(format!("staged data: {e}")),
        _ => Stall::Retry(format!("staged data: {e}")),
    }
}

/// Why an outbox entry did not complete.
enum Stall {
    /// Not now (too few phones, a timeout): try again later.
    Retry(String),
    /// Never (refused by the family's directory, its staged data gone): set it aside.
    Fail(String),
}

/// A completed write, for the UI.
#[derive(Clone, Debug, Serialize)]
pub struct Completed {
    /// The operation's id (hex).
    pub id: String,
    /// What it asked for.
    pub path: String,
    /// What became of it.
    pub outcome: Outcome,
}

/// A phone's health report, as the UI shows it.
#[derive(Clone, Debug, Serialize)]
pub struct Health {
    /// One line a family member understands.
    pub status: String,
    /// Whether every file survives the loss of any one phone right now.
    pub all_safe: bool,
    /// Per phone.
    pub members: Vec<MemberView>,
    /// Live files.
    pub files: u64,
    /// Files not held by every phone right now.
    pub files_at_risk: u64,
    /// Phones that hold a verified piece of every file (each file is readable from any `k`).
    pub redundancy: u64,
    /// Phones needed to read a file.
    pub k: u64,
    /// Bytes the family can store (the smallest contribution × k).
    pub usable_bytes: u64,
    /// Plaintext bytes stored (every version and the trash).
    pub used_bytes: u64,
    /// Writes of this phone waiting in its outbox.
    pub pending: u64,
}

/// One phone in the health report.
#[derive(Clone, Debug, Serialize)]
pub struct MemberView {
    /// Name.
    pub name: String,
    /// Seconds since it last reported (`None`: never).
    pub last_seen_s: Option<u64>,
    /// Whether it reported recently.
    pub online: bool,
    /// Committed values it has no verified piece of (known to it).
    pub missing: u64,
    /// Pieces it rebuilt since it started.
    pub repaired: u64,
    /// Epochs of the storage committee it has yet to catch up.
    pub behind_epochs: u64,
    /// 0–100: how much of what it should hold it holds.
    pub progress: u64,
    /// Bytes of verified pieces it holds (as its last scrub pass counted them).
    pub held_bytes: u64,
    /// Bytes it gives.
    pub capacity: u64,
    /// Plaintext bytes it owns.
    pub used_bytes: u64,
    /// Its quota, if any.
    pub quota: Option<u64>,
}

struct Inner {
    home: Home,
    dir: BeatNode<DirectoryApp>,
    store: BeatNode<KvApp>,
    outbox: PathBuf,
    /// Serialises outbox writes (staging vs the worker's updates).
    lock: Mutex<()>,
    recent: Mutex<VecDeque<Completed>>,
    stop: AtomicBool,
    /// Whether the worker is waiting for the committee.
    waiting: AtomicBool,
}

/// A running phone.
pub struct Vault {
    inner: Arc<Inner>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Drop for Vault {
    fn drop(&mut self) {
        self.request_stop();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        // The nodes stop when `inner` goes with this last reference (BeatNode's own Drop).
    }
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault").field("home", &self.inner.home.path).finish_non_exhaustive()
    }
}

fn internal(e: impl std::fmt::Display) -> VaultError {
    VaultError::Internal(e.to_string())
}

impl Vault {
    /// Start this phone's nodes and its outbox worker and health reports.
    pub fn start(home: Home) -> Result<Self, String> {
        let dir_cfg = home.node_config("directory")?;
        let store_cfg = home.node_config("storage")?;
        let members = home.config.members.clone();
        let dir =
            BeatNode::start(dir_cfg, DirectoryApp { dir: Directory::new(members, home.config.retention_ms) }, None)
                .map_err(|e| format!("directory node: {e}"))?;
        let store = BeatNode::start(store_cfg, KvApp::storage(), None).map_err(|e| format!("storage node: {e}"))?;
        let outbox = home.path.join("data").join("outbox");
        std::fs::create_dir_all(&outbox).map_err(|e| format!("{}: {e}", outbox.display()))?;
        // Entries half made (`.new-…`) or half removed (`.done-…`) when the phone stopped.
        for e in std::fs::read_dir(&outbox).map_err(|e| format!("{}: {e}", outbox.display()))?.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with(".new-") || name.starts_with(".done-") {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
        let inner = Arc::new(Inner {
            home,
            dir,
            store,
            outbox,
            lock: Mutex::new(()),
            recent: Mutex::new(VecDeque::new()),
            stop: AtomicBool::new(false),
            waiting: AtomicBool::new(false),
        });
        let w = inner.clone();
        let worker = std::thread::Builder::new()
            .name("vault-outbox".into())
            .spawn(move || w.work())
            .map_err(|e| e.to_string())?;
        let h = inner.clone();
        let beat = std::thread::Builder::new()
            .name("vault-health".into())
            .spawn(move || h.heartbeats())
            .map_err(|e| e.to_string())?;
        Ok(Vault { inner, threads: vec![worker, beat] })
    }

    /// Stop the worker and both nodes.
    ///
    /// Dropping a `Vault` does the same: its threads end and its nodes stop (flushing their
    /// stores) once the last reference to them is gone.
    pub fn shutdown(self) {
        drop(self);
    }

    /// Ask the worker and the health reports to stop, without waiting (see [`Vault::shutdown`]).
    pub fn request_stop(&self) {
        self.inner.stop.store(true, Ordering::SeqCst);
    }

    /// This phone's member id.
    pub fn member(&self) -> u8 {
        self.inner.home.config.member
    }

    /// The home.
    pub fn home(&self) -> &Home {
        &self.inner.home
    }

    /// Read the directory.
    pub fn with_dir<R>(&self, f: impl FnOnce(&Directory) -> R) -> Result<R, VaultError> {
        self.inner.dir.with_app(|a| f(&a.dir)).ok_or_else(|| internal("the directory node has stopped"))
    }

    /// Queue a write of `bytes` to `path` (`base`: the version the writer saw, `None` for a new
    /// file). Returns the operation id; the outbox worker does the rest.
    pub fn put(&self, path: &str, base: Option<u64>, bytes: &[u8]) -> Result<[u8; 16], VaultError> {
        check_path(path).map_err(VaultError::Invalid)?;
        let i = &self.inner;
        let file_key = Key::generate();
        let content = Content {
            size: bytes.len() as u64,
            sha256: Sha256::digest(bytes).into(),
            chunks: Vec::new(),
            chunk_size: CHUNK_SIZE,
            wrapped_key: i.home.family_key.wrap(&file_key),
        };
        let op = Op::Put { path: path.to_string(), base, content };
        // Refuse now what the directory would refuse (quota, bad path), with its reason.
        let mut check = self.signed(op.clone());
        if let Op::Put { content, .. } = &mut check.op {
            content.chunks = vec![
                ChunkRef { epoch: 0, proposer: 0, start: 0, end: 1 };
                content.size.div_ceil(u64::from(CHUNK_SIZE)) as usize
            ];
        }
        self.with_dir(|d| d.check(&check))?.map_err(VaultError::Invalid)?;
        // The operation must fit one directory transaction, with every chunk's place at its
        // largest encoding.
        if let Op::Put { content, .. } = &mut check.op {
            content.chunks.fill(ChunkRef { epoch: u64::MAX, proposer: u16::MAX, start: u64::MAX, end: u64::MAX });
        }
        let max = i.home.directory.public.settings.max_tx_size;
        if check.encode().len() > max {
            return Err(VaultError::Invalid(format!(
                "{path}: {} bytes is more than one directory entry can name (about {} GiB)",
                bytes.len(),
                ((max as u64 / 48) * u64::from(CHUNK_SIZE)) >> 30
            )));
        }
        self.enqueue(self.signed(op), Some(bytes))
    }

    /// Queue a directory operation without data (mkdir, rm, mv, restore, quota, retention).
    pub fn submit(&self, op: Op) -> Result<[u8; 16], VaultError> {
        let s = self.signed(op);
        self.with_dir(|d| d.check(&s))?.map_err(VaultError::Invalid)?;
        self.enqueue(s, None)
    }

    fn signed(&self, op: Op) -> Signed {
        let mut id = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut id);
        Signed { id, member: self.member(), at_ms: now_ms(), op }
    }

    fn enqueue(&self, signed: Signed, data: Option<&[u8]>) -> Result<[u8; 16], VaultError> {
        let i = &self.inner;
        let id = signed.id;
        let tmp = i.outbox.join(format!(".new-{}", hex::encode(id)));
        std::fs::create_dir_all(&tmp).map_err(internal)?;
        // The (large) data is written before the lock is taken; only the numbering and the
        // rename that makes the entry appear are under it.
        if let Some(bytes) = data {
            write_synced(&tmp.join("data"), bytes).map_err(internal)?;
        }
        let _g = i.lock.lock().map_err(internal)?;
        let seq = i.entries().map_err(internal)?.last().map_or(0, |(s, _)| s + 1);
        let d = i.outbox.join(format!("{seq:012}-{}", hex::encode(id)));
        let p = Pending { seq, signed, staged: data.is_some(), last_error: None, attempts: 0 };
        write_synced(&tmp.join("meta.json"), &serde_json::to_vec(&p).map_err(internal)?).map_err(internal)?;
        // The entry appears whole or not at all, and stays after a power cut.
        std::fs::rename(&tmp, &d).map_err(internal)?;
        std::fs::File::open(&i.outbox).and_then(|f| f.sync_all()).map_err(internal)?;
        Ok(id)
    }

    /// What waits in the outbox, oldest first.
    pub fn pending(&self) -> Vec<Pending> {
        self.inner.entries().unwrap_or_default().into_iter().filter_map(|(_, d)| read_meta(&d).ok()).collect()
    }

    /// Recently completed writes of this phone, newest last.
    pub fn recent(&self) -> Vec<Completed> {
        self.inner.recent.lock().map(|r| r.iter().cloned().collect()).unwrap_or_default()
    }

    /// Whether the worker is waiting for phones.
    pub fn waiting_for_quorum(&self) -> bool {
        self.inner.waiting.load(Ordering::SeqCst)
    }

    /// What became of operation `id`: its committed outcome, or the reason this phone set it
    /// aside without committing it (`None`: not committed yet).
    pub fn outcome(&self, id: &[u8; 16]) -> Option<Outcome> {
        self.with_dir(|d| d.outcome(id).cloned()).ok().flatten().or_else(|| {
            let hex_id = hex::encode(id);
            let recent = self.inner.recent.lock().ok()?;
            recent.iter().rev().find(|c| c.id == hex_id).map(|c| c.outcome.clone())
        })
    }

    /// Wait up to `timeout` for operation `id` to commit.
    pub fn wait(&self, id: &[u8; 16], timeout: Duration) -> Option<Outcome> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(o) = self.outcome(id) {
                return Some(o);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The version of `path` to read: `version`, or the current one.
    pub fn version(&self, path: &str, version: Option<u64>) -> Result<Version, VaultError> {
        self.with_dir(|d| {
            let e = d.files.get(path).ok_or_else(|| VaultError::NotFound(format!("{path}: no such file")))?;
            match version {
                None => d.live(path).cloned().ok_or_else(|| VaultError::NotFound(format!("{path} is in the trash"))),
                Some(v) => e
                    .current
                    .iter()
                    .chain(&e.history)
                    .find(|x| x.version == v)
                    .cloned()
                    .ok_or_else(|| VaultError::NotFound(format!("{path} has no version {v}"))),
            }
        })?
    }

    /// Read bytes `range` (all of it if `None`) of version `v`.
    pub fn read(&self, v: &Version, range: Option<std::ops::Range<u64>>) -> Result<Vec<u8>, VaultError> {
        let c = &v.content;
        let whole = range.is_none();
        let range = range.unwrap_or(0..c.size);
        if range.start > range.end || range.end > c.size {
            return Err(VaultError::Invalid(format!("range {range:?} of a file of {} bytes", c.size)));
        }
        let key =
            self.inner.home.family_key.unwrap_key(&c.wrapped_key).map_err(|e| VaultError::Corrupt(e.to_string()))?;
        let cs = u64::from(c.chunk_size);
        let count = c.chunks.len() as u32;
        let mut out = Vec::with_capacity((range.end - range.start).min(64 << 20) as usize);
        if range.start < range.end {
            for idx in range.start / cs..range.end.div_ceil(cs) {
                let r = c.chunks[idx as usize];
                let id = ValueId { epoch: r.epoch, proposer: usize::from(r.proposer) };
                let sealed = self.inner.store.read(id, Some(r.start..r.end), READ_TIMEOUT).map_err(|e| match e {
                    beat_core::driver::ReadFailure::TimedOut(_) => {
                        VaultError::Unavailable(format!("chunk {idx}: {e} — too few phones reachable"))
                    }
                    e => VaultError::Corrupt(format!("chunk {idx}: {e}")),
                })?;
                let plain = key
                    .open_chunk(idx as u32, count, &sealed)
                    .map_err(|e| VaultError::Corrupt(format!("chunk {idx}: {e}")))?;
                let base = idx * cs;
                let want = cs.min(c.size - base);
                if plain.len() as u64 != want {
                    return Err(VaultError::Corrupt(format!(
                        "chunk {idx} holds {} bytes, the directory says {want}",
                        plain.len()
                    )));
                }
                let from = range.start.max(base) - base;
                let to = (range.end.min(base + plain.len() as u64) - base).max(from);
                out.extend_from_slice(&plain[from as usize..to as usize]);
            }
        }
        if whole && <[u8; 32]>::from(Sha256::digest(&out)) != c.sha256 {
            return Err(VaultError::Corrupt("the file's SHA-256 is not the committed one".into()));
        }
        Ok(out)
    }

    /// The health report, as of now.
    pub fn health(&self) -> Result<Health, VaultError> {
        let cfg = &self.inner.home.config;
        let k = self.inner.home.storage.public.params.f as u64 + 1;
        let pending = self.pending().len() as u64;
        self.with_dir(|d| health(d, now_ms(), cfg.heartbeat_ms, k, pending))
    }

    /// Storage node status (for tests and the CLI).
    pub fn storage_status(&self) -> beat_core::driver::Status {
        self.inner.store.status()
    }

    /// Directory node status.
    pub fn directory_status(&self) -> beat_core::driver::Status {
        self.inner.dir.status()
    }
}

/// Write `bytes` to `path` and sync it.
fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

fn read_meta(d: &Path) -> Result<Pending, String> {
    let bytes = std::fs::read(d.join("meta.json")).map_err(|e| format!("{}: {e}", d.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", d.display()))
}

impl Inner {
    /// Outbox entries, oldest first.
    fn entries(&self) -> std::io::Result<Vec<(u64, PathBuf)>> {
        let mut v = Vec::new();
        for e in std::fs::read_dir(&self.outbox)? {
            let e = e?;
            let name = e.file_name().to_string_lossy().to_string();
            if let Some(seq) = name.split('-').next().and_then(|s| s.parse::<u64>().ok()) {
                v.push((seq, e.path()));
            }
        }
        v.sort();
        Ok(v)
    }

    fn save(&self, d: &Path, p: &Pending) -> Result<(), String> {
        let _g = self.lock.lock().map_err(|e| e.to_string())?;
        let tmp = d.join("meta.json.tmp");
        write_synced(&tmp, &serde_json::to_vec(p).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, d.join("meta.json")).map_err(|e| e.to_string())
    }

    fn sleep(&self, d: Duration) {
        let until = Instant::now() + d;
        while !self.stop.load(Ordering::SeqCst) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The outbox worker: one entry at a time, in order; an entry that cannot finish now is
    /// tried again after a pause, and nothing behind it overtakes it.
    fn work(&self) {
        let mut backoff = Duration::from_millis(500);
        while !self.stop.load(Ordering::SeqCst) {
            let head = self.entries().ok().and_then(|e| e.into_iter().next());
            let Some((_, d)) = head else {
                self.waiting.store(false, Ordering::SeqCst);
                self.sleep(Duration::from_millis(100));
                continue;
            };
            match self.advance(&d) {
                Ok(()) => {
                    self.waiting.store(false, Ordering::SeqCst);
                    backoff = Duration::from_millis(500);
                }
                Err(Stall::Fail(e)) => {
                    // It may have committed after all (a resubmission refused as a duplicate
                    // of its own commit): then it is done, not failed.
                    let id = read_meta(&d).ok().map(|p| p.signed.id);
                    if id.and_then(|id| self.dir.with_app(|a| a.dir.outcome(&id).cloned()).flatten()).is_some() {
                        continue;
                    }
                    self.give_up(&d, e);
                    self.sleep(Duration::from_millis(100));
                }
                Err(Stall::Retry(e)) => {
                    self.waiting.store(true, Ordering::SeqCst);
                    if let Ok(mut p) = read_meta(&d) {
                        p.last_error = Some(e);
                        p.attempts += 1;
                        let _ = self.save(&d, &p);
                    }
                    self.sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
    }

    /// `Err` naming who is missing if fewer than `n - f` phones (this one included) are connected
    /// in both committees: nothing can commit, so the outbox waits instead of timing out.
    fn quorum(&self) -> Result<(), String> {
        let params = self.home.storage.public.params;
        let need = params.n - params.f;
        let up = 1 + self.store.status().peers_connected.min(self.dir.status().peers_connected);
        if up < need {
            return Err(format!("waiting for phones: {up} of {} reachable, {need} needed to save", params.n));
        }
        Ok(())
    }

    /// Move an entry that can never complete to `outbox/failed/` (its data is kept there) and
    /// report it, so the writes behind it go on.
    fn give_up(&self, d: &Path, why: String) {
        let name = d.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        let id = name.split_once('-').map(|(_, id)| id.to_string()).unwrap_or_default();
        let failed = self.outbox.join("failed");
        let moved = std::fs::create_dir_all(&failed).and_then(|()| std::fs::rename(d, failed.join(&name)));
        if moved.is_err() {
            let _ = std::fs::remove_dir_all(d);
        }
        if let Ok(mut r) = self.recent.lock() {
            r.push_back(Completed { id, path: String::new(), outcome: Outcome::Refused(format!("not saved: {why}")) });
            while r.len() > RECENT {
                r.pop_front();
            }
        }
    }

    fn advance(&self, d: &Path) -> Result<(), Stall> {
        let mut p = read_meta(d).map_err(Stall::Fail)?;
        let outcome = self.dir.with_app(|a| a.dir.outcome(&p.signed.id).cloned()).flatten();
        if outcome.is_none() {
            if let Op::Put { content, .. } = &p.signed.op {
                let (size, cs) = (content.size, u64::from(content.chunk_size));
                let need = size.div_ceil(cs);
                if (content.chunks.len() as u64) < need {
                    let key = self
                        .home
                        .family_key
                        .unwrap_key(&content.wrapped_key)
                        .map_err(|e| Stall::Fail(e.to_string()))?;
                    let mut f = std::fs::File::open(d.join("data")).map_err(staged)?;
                    while let Op::Put { content, .. } = &mut p.signed.op {
                        let i = content.chunks.len() as u64;
                        if i >= need {
                            break;
                        }
                        if self.stop.load(Ordering::SeqCst) {
                            return Err(Stall::Retry("stopping".into()));
                        }
                        self.quorum().map_err(Stall::Retry)?;
                        let len = (size - i * cs).min(cs) as usize;
                        let mut buf = vec![0u8; len];
                        f.seek(SeekFrom::Start(i * cs)).and_then(|_| f.read_exact(&mut buf)).map_err(staged)?;
                        let sealed = key.seal_chunk(i as u32, need as u32, &buf);
                        debug_assert_eq!(sealed.len(), len + OVERHEAD);
                        let at = self.store.put(sealed, PUT_TIMEOUT).map_err(|e| match e {
                            PutFailure::Submit(SubmitError::TooLarge { .. } | SubmitError::Invalid(_)) => {
                                Stall::Fail(format!("storing chunk {i}: {e}"))
                            }
                            e => Stall::Retry(format!("storing chunk {i}: {e}")),
                        })?;
                        content.chunks.push(ChunkRef {
                            epoch: at.id.epoch,
                            proposer: at.id.proposer as u16,
                            start: at.range.start,
                            end: at.range.end,
                        });
                        // Record it before the next: a restart resumes here.
                        self.save(d, &p).map_err(Stall::Retry)?;
                    }
                }
            }
            self.quorum().map_err(Stall::Retry)?;
            self.dir.submit(p.signed.encode()).map_err(|e| match e {
                SubmitError::QueueFull(_) | SubmitError::Stopped => Stall::Retry(format!("directory: {e}")),
                e => Stall::Fail(format!("the family's directory refuses it: {e}")),
            })?;
        }
        let deadline = Instant::now() + COMMIT_WAIT;
        let outcome = loop {
            if let Some(o) = self.dir.with_app(|a| a.dir.outcome(&p.signed.id).cloned()).flatten() {
                break o;
            }
            if Instant::now() >= deadline || self.stop.load(Ordering::SeqCst) {
                return Err(Stall::Retry(format!(
                    "waiting for phones: the directory did not commit within {COMMIT_WAIT:?}"
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let path = match &p.signed.op {
            Op::Put { path, .. } | Op::Mkdir { path } | Op::Remove { path, .. } | Op::Restore { path, .. } => {
                path.clone()
            }
            Op::Move { from, to, .. } => format!("{from} → {to}"),
            _ => String::new(),
        };
        if let Ok(mut r) = self.recent.lock() {
            r.push_back(Completed { id: hex::encode(p.signed.id), path, outcome });
            while r.len() > RECENT {
                r.pop_front();
            }
        }
        // Out of the queue at once (a rename), then removed; a stop in between leaves a
        // `.done-` entry the next start removes.
        let _g = self.lock.lock().map_err(|e| Stall::Retry(e.to_string()))?;
        let gone = self.outbox.join(format!(".done-{}", hex::encode(p.signed.id)));
        std::fs::rename(d, &gone).map_err(|e| Stall::Retry(format!("{}: {e}", d.display())))?;
        let _ = std::fs::remove_dir_all(&gone);
        Ok(())
    }

    /// Report this phone's health to the family every `heartbeat_ms`.
    fn heartbeats(&self) {
        let every = Duration::from_millis(self.home.config.heartbeat_ms.max(200));
        while !self.stop.load(Ordering::SeqCst) {
            let s = self.store.status();
            let health = MemberHealth {
                last_seen_ms: now_ms(),
                held: s.fragments.held,
                missing: s.fragments.missing + s.fragments.unrepairable,
                repaired: s.fragments.repaired,
                store_bytes: s.store_bytes,
                capacity: self.home.config.capacity,
                behind_epochs: s.committee_epoch.saturating_sub(s.epoch),
                storage_epoch: s.epoch,
                scrub_passes: s.fragments.scrub_passes,
                held_bytes: s.fragments.held_bytes,
            };
            let mut id = [0u8; 16];
            rand::rngs::OsRng.fill_bytes(&mut id);
            let op = Signed { id, member: self.home.config.member, at_ms: now_ms(), op: Op::Heartbeat { health } };
            // A heartbeat that does not get through is simply not heard: the family sees the
            // phone as offline, which it is as far as they can tell. None is queued while too
            // few phones are reachable to commit it.
            if self.quorum().is_ok() {
                let _ = self.dir.submit(op.encode());
            }
            self.sleep(every);
        }
    }
}

fn ago(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..=89 => format!("{s} seconds"),
        90..=5399 => format!("{} minutes", s / 60),
        5400..=129_599 => format!("{} hours", s / 3600),
        _ => format!("{} days", s / 86_400),
    }
}

fn number_word(n: u64) -> String {
    ["no", "one", "two", "three", "four", "five", "six", "seven"].get(n as usize).map_or(n.to_string(), |w| (*w).into())
}

/// The health report of directory `d` at `now`.
///
/// A phone counts as holding a file when it reported within the last three report intervals
/// (at least 10 s), has applied the storage epoch of the file's newest chunk (so it knows of
/// every chunk), has finished a scrub pass since it started, and knows of no value it lacks a
/// verified piece of. (Repairs are per value; until a phone reports which values it misses, one
/// missing piece counts against every file.)
pub fn health(d: &Directory, now: u64, heartbeat_ms: u64, k: u64, pending: u64) -> Health {
    let n = d.members.len() as u64;
    let fresh = (heartbeat_ms * 3).max(10_000);
    let live: Vec<&Version> = d.files.keys().filter_map(|p| d.live(p)).collect();
    let values = d.referenced_values();
    // A chunk that names an epoch no phone has reached (a bad reference) does not hold every
    // phone at "catching up": its file just never counts as held.
    let reached = d.health.values().map(|h| h.storage_epoch).max().unwrap_or(0);
    let newest = values.iter().map(|(e, _)| *e).filter(|e| *e < reached.saturating_add(1000)).max();
    let online = |h: &MemberHealth| now.saturating_sub(h.last_seen_ms) <= fresh;
    let whole_up_to = |h: Option<&MemberHealth>, epoch: u64| {
        h.is_some_and(|h| online(h) && h.missing == 0 && h.scrub_passes > 0 && h.storage_epoch > epoch)
    };
    let members: Vec<MemberView> = d
        .members
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let h = d.health.get(&(i as u8));
            let caught_up = h.is_some_and(|h| newest.is_none_or(|e| h.storage_epoch > e));
            let missing = h.map_or(values.len() as u64, |h| h.missing);
            let progress = if !caught_up || h.is_none_or(|h| h.scrub_passes == 0) {
                0
            } else if values.is_empty() {
                100
            } else {
                100 * (values.len() as u64).saturating_sub(missing) / values.len() as u64
            };
            MemberView {
                name: name.clone(),
                last_seen_s: h.map(|h| now.saturating_sub(h.last_seen_ms) / 1000),
                online: h.is_some_and(online),
                missing,
                repaired: h.map_or(0, |h| h.repaired),
                behind_epochs: h.map_or(0, |h| if caught_up { 0 } else { h.behind_epochs.max(1) }),
                progress,
                held_bytes: h.map_or(0, |h| h.held_bytes),
                capacity: h.map_or(0, |h| h.capacity),
                used_bytes: d.usage(i as u8),
                quota: d.quotas.get(&(i as u8)).copied(),
            }
        })
        .collect();
    let holders =
        |v: &Version| (0..n as u8).filter(|m| whole_up_to(d.health.get(m), Directory::last_epoch(v))).count() as u64;
    let per_file: Vec<u64> = live.iter().map(|v| holders(v)).collect();
    let files = live.len() as u64;
    let files_at_risk = per_file.iter().filter(|h| **h < n).count() as u64;
    let redundancy = per_file.iter().copied().min().unwrap_or(members.iter().filter(|m| m.online).count() as u64);
    let all_safe = files_at_risk == 0 && members.iter().all(|m| m.online);
    let status = if all_safe {
        "All files safe".to_string()
    } else if let Some(m) = members.iter().find(|m| !m.online) {
        let since =
            m.last_seen_s.map_or("has not reported yet".to_string(), |s| format!("has been offline {}", ago(s * 1000)));
        let others = members.iter().filter(|x| x.online).count() as u64;
        format!("{}'s phone {since}: {files_at_risk} files depend on the other {}", m.name, number_word(others))
    } else if let Some(m) = members.iter().find(|m| m.behind_epochs > 0) {
        format!("{}'s phone is catching up with the family", m.name)
    } else if let Some(m) = members.iter().find(|m| m.progress < 100) {
        format!("{}'s phone is being refilled: {}% of its pieces restored", m.name, m.progress)
    } else {
        format!("Checking: {files_at_risk} files not yet confirmed on every phone")
    };
    let usable = members.iter().map(|m| m.capacity).min().unwrap_or(0).saturating_mul(k);
    Health {
        status,
        all_safe,
        members,
        files,
        files_at_risk,
        redundancy,
        k,
        usable_bytes: usable,
        used_bytes: (0..n as u8).map(|m| d.usage(m)).sum(),
        pending,
    }
}
