//! The family's directory: a [`ConsensusApp`] on the directory committee (BEAT1).
//!
//! Every phone folds the same committed operations in the same order, so every phone holds the
//! same directory. File *contents* never pass through it: a version names the dispersed values
//! (on the storage committee) that hold its encrypted chunks, and the per-file key wrapped under
//! the family key.
//!
//! What an operation relies on, and who controls it:
//! - **Conflicts.** A `Put` names the version its writer last saw (`base`). If the path has moved
//!   on since, the write is kept as a *conflicted copy* next to it — never dropped, never
//!   overwriting the other edit. The decision uses only committed state, so every phone makes it
//!   alike.
//! - **Time.** Operations carry their writer's clock (`at_ms`); the directory's clock is the
//!   largest committed so far, and the trash is emptied by it. A member with a clock far ahead
//!   can empty the trash early: members are the family, and the retention period is a
//!   convenience, not a security boundary. An `at_ms` more than a day ahead of the directory's
//!   clock is clamped.
//! - **Owners.** A member names itself as an operation's `member`; the directory does not
//!   authenticate it (every member holds the family key and could read and write every file
//!   anyway). Quotas are therefore a budget, not a defence.
//! - **Bad operations** (undecodable, invalid paths, unknown members, over quota, a `base` that
//!   does not match for a remove or a move) change nothing and are counted in `refused`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use beat_core::app::ConsensusApp;
use serde::{Deserialize, Serialize};

/// Longest path, in bytes.
pub const MAX_PATH: usize = 1024;
/// Older versions kept per file (beyond the current one).
pub const MAX_VERSIONS: usize = 16;
/// Chunks per file (a directory transaction of 64 KiB names about 1,100, so with 4 MiB chunks a
/// file is at most about 4.5 GiB).
pub const MAX_CHUNKS: usize = 1 << 14;
/// Chunk references the whole directory holds at most (every version and the trash counted):
/// about 160 MB of snapshot.
pub const MAX_CHUNK_REFS: u64 = 4_000_000;
/// Smallest chunk of a file of more than one chunk.
pub const MIN_CHUNK_SIZE: u32 = 64 << 10;
/// Largest encoded operation.
pub const MAX_OP_BYTES: usize = 512 << 10;
/// Operation ids remembered (a resubmitted operation is applied once).
pub const OP_IDS_KEPT: usize = 20_000;
/// Files (with their versions and the trash) a directory holds at most.
pub const MAX_FILES: usize = 200_000;
/// Folders a directory holds at most.
pub const MAX_FOLDERS: usize = 50_000;
/// Folder depth at most.
pub const MAX_DEPTH: usize = 32;
/// Largest plaintext chunk a version may declare.
pub const MAX_CHUNK_SIZE: u32 = 8 << 20;
/// Bytes of a sealed file key: nonce, key, tag.
pub const WRAPPED_KEY_LEN: usize = 24 + 32 + 16;
/// How far ahead of the directory's clock an operation's time is believed.
const MAX_CLOCK_SKEW_MS: u64 = 24 * 3600 * 1000;
/// Members of a family committee.
pub const MAX_MEMBERS: usize = 16;

/// Where one encrypted chunk lies: bytes `start..end` of a value the storage committee committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkRef {
    /// The epoch that committed the value.
    pub epoch: u64,
    /// The phone that dispersed it.
    pub proposer: u16,
    /// First byte of the chunk in the value.
    pub start: u64,
    /// One past its last byte.
    pub end: u64,
}

/// The content of one version of a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Content {
    /// Plaintext bytes.
    pub size: u64,
    /// SHA-256 of the plaintext (checked after every download).
    pub sha256: [u8; 32],
    /// The encrypted chunks, in order.
    pub chunks: Vec<ChunkRef>,
    /// Plaintext bytes per chunk (the last may be shorter).
    pub chunk_size: u32,
    /// The file key, sealed under the family key.
    #[serde(with = "serde_bytes")]
    pub wrapped_key: Vec<u8>,
}

/// One version of a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    /// Its number (unique in the directory, increasing).
    pub version: u64,
    /// What it holds.
    pub content: Content,
    /// The member that wrote it.
    pub owner: u8,
    /// When (the writer's clock, clamped).
    pub modified_ms: u64,
}

/// A file in the directory.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The current version (`None` while it is in the trash).
    pub current: Option<Version>,
    /// Older versions, newest last.
    pub history: Vec<Version>,
    /// In the trash since (directory clock) and by whom.
    pub trashed: Option<(u64, u8)>,
}

impl Entry {
    /// Make `v` the current version (out of the trash), the old one history, keeping at most
    /// [`MAX_VERSIONS`] old ones.
    /// Returns the versions that fell out of the history.
    fn make_current(&mut self, v: Version) -> Vec<Version> {
        if let Some(old) = self.current.replace(v) {
            self.history.push(old);
        }
        let extra = self.history.len().saturating_sub(MAX_VERSIONS);
        self.trashed = None;
        self.history.drain(..extra).collect()
    }
}

/// What a phone last said about itself.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MemberHealth {
    /// When it last said it (its clock).
    pub last_seen_ms: u64,
    /// Verified fragments it holds (as its last scrub counted them).
    pub held: u64,
    /// Committed values it holds no verified fragment of yet.
    pub missing: u64,
    /// Fragments it rebuilt since it started.
    pub repaired: u64,
    /// Bytes of its store.
    pub store_bytes: u64,
    /// Bytes it gives the family.
    pub capacity: u64,
    /// Epochs of the storage committee it has yet to catch up.
    pub behind_epochs: u64,
    /// Storage committee epochs it has applied (it has seen every value committed before).
    pub storage_epoch: u64,
    /// Scrub passes it completed since it started.
    pub scrub_passes: u64,
    /// Bytes of verified fragments it holds, as its last scrub pass counted them.
    pub held_bytes: u64,
}

/// A directory operation (one transaction on the directory committee).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// Write `path`: a new file (`base: None`) or a new version of version `base`.
    Put { path: String, base: Option<u64>, content: Content },
    /// Create a folder (and its parents).
    Mkdir { path: String },
    /// Move version `base` of `path` to the trash.
    Remove { path: String, base: u64 },
    /// Rename `from` (at version `base`) to `to`, which must not exist.
    Move { from: String, to: String, base: u64 },
    /// Make old version `version` of `path` current again (also out of the trash).
    Restore { path: String, version: u64 },
    /// Set `member`'s quota (bytes of plaintext it may keep, all versions and trash counted).
    SetQuota { member: u8, bytes: u64 },
    /// Set how long the trash keeps files.
    SetRetention { ms: u64 },
    /// A phone's health report.
    Heartbeat { health: MemberHealth },
}

/// An operation as submitted: who, when, and an id that makes a resubmission harmless.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signed {
    /// Random, chosen by the writer.
    pub id: [u8; 16],
    /// The writing member.
    pub member: u8,
    /// The writer's clock.
    pub at_ms: u64,
    /// What to do.
    pub op: Op,
}

impl Signed {
    /// The transaction bytes.
    pub fn encode(&self) -> Vec<u8> {
        beat_core::codec::encode(self)
    }

    /// Decode a transaction.
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        beat_core::codec::decode(bytes, MAX_OP_BYTES).map_err(|e| format!("not a vault operation: {e}"))
    }
}

/// What became of an operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// Done; for a write, the version and the path it landed at (another path when it was
    /// kept as a conflicted copy).
    Done { path: String, version: Option<u64>, conflict: bool },
    /// Refused, and why.
    Refused(String),
}

/// The directory state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Directory {
    /// Member names, by id (fixed at `vault init`).
    pub members: Vec<String>,
    /// Files, by path.
    pub files: BTreeMap<String, Entry>,
    /// Folders (every parent of a file is one too, implicitly).
    pub folders: BTreeSet<String>,
    /// Quotas by member (absent: none).
    pub quotas: BTreeMap<u8, u64>,
    /// How long the trash keeps a file.
    pub retention_ms: u64,
    /// The largest committed clock.
    pub clock_ms: u64,
    /// The next version number.
    pub next_version: u64,
    /// Health reports by member.
    pub health: BTreeMap<u8, MemberHealth>,
    /// Writes kept as conflicted copies.
    pub conflicts: u64,
    /// Operations refused.
    pub refused: u64,
    /// Epochs applied.
    pub applied_epochs: u64,
    /// What became of recent operations, by id (at most [`OP_IDS_KEPT`]).
    pub outcomes: BTreeMap<[u8; 16], Outcome>,
    /// Their order, oldest first.
    pub outcome_order: VecDeque<[u8; 16]>,
    /// Plaintext bytes each member keeps (every version and the trash), kept as operations apply.
    pub usage_by: BTreeMap<u8, u64>,
    /// Chunk references in the directory (every version and the trash).
    pub chunk_refs: u64,
}

/// Check a path: `/`-separated, starting with `/`, no empty, `.` or `..` component, no control
/// characters, at most [`MAX_PATH`] bytes.
pub fn check_path(path: &str) -> Result<(), String> {
    if path.len() > MAX_PATH {
        return Err(format!("path is {} bytes; at most {MAX_PATH}", path.len()));
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Err(format!("path {path:?} does not start with /"));
    };
    if rest.is_empty() {
        return Err("path is the root folder".into());
    }
    for c in rest.split('/') {
        if c.is_empty() || c == "." || c == ".." {
            return Err(format!("path {path:?} has an empty, . or .. component"));
        }
    }
    if rest.split('/').count() > MAX_DEPTH {
        return Err(format!("path {path:?} is more than {MAX_DEPTH} folders deep"));
    }
    if path.chars().any(char::is_control) {
        return Err(format!("path {path:?} has a control character"));
    }
    Ok(())
}

/// The conflicted-copy name of `path` for a write by `member` that became version `version`:
/// `report (conflicted copy, Dad, v7).pdf`.
pub fn conflicted_name(path: &str, member: &str, version: u64) -> String {
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() && e.len() <= 16 => (s, format!(".{e}")),
        _ => (name, String::new()),
    };
    let tail = format!(" (conflicted copy, {member}, v{version}){ext}");
    // Shorten the stem (at a character boundary) so the name stays within MAX_PATH.
    let room = MAX_PATH.saturating_sub(dir.len() + 1 + tail.len()).max(1);
    let mut cut = stem.len().min(room);
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{dir}/{}{tail}", &stem[..cut])
}

impl Directory {
    /// A new family's directory.
    pub fn new(members: Vec<String>, retention_ms: u64) -> Self {
        Directory { members, retention_ms, next_version: 1, ..Directory::default() }
    }

    /// Bytes of plaintext `member` keeps: every version, the trash included.
    pub fn usage(&self, member: u8) -> u64 {
        self.usage_by.get(&member).copied().unwrap_or(0)
    }

    /// Count `v` in (`add`) or out of the member's usage and the chunk references.
    fn account(&mut self, v: &Version, add: bool) {
        let u = self.usage_by.entry(v.owner).or_default();
        let refs = v.content.chunks.len() as u64;
        if add {
            *u = u.saturating_add(v.content.size);
            self.chunk_refs = self.chunk_refs.saturating_add(refs);
        } else {
            *u = u.saturating_sub(v.content.size);
            self.chunk_refs = self.chunk_refs.saturating_sub(refs);
        }
    }

    /// Whether a new version of `content` by `member` fits its quota and the directory.
    fn room_for(&self, member: u8, content: &Content) -> Result<(), String> {
        if let Some(q) = self.quotas.get(&member) {
            let after = self.usage(member).saturating_add(content.size);
            if after > *q {
                return Err(format!(
                    "{} would keep {after} bytes; the family gave them a quota of {q}",
                    self.member_name(member)
                ));
            }
        }
        if self.chunk_refs.saturating_add(content.chunks.len() as u64) > MAX_CHUNK_REFS {
            return Err(format!("the vault names {MAX_CHUNK_REFS} chunks, its limit: empty the trash"));
        }
        Ok(())
    }

    /// Whether `path` names a live file.
    pub fn live(&self, path: &str) -> Option<&Version> {
        self.files.get(path).and_then(|e| e.current.as_ref().filter(|_| e.trashed.is_none()))
    }

    /// The newest storage epoch any chunk of `v` was committed in.
    pub fn last_epoch(v: &Version) -> u64 {
        v.content.chunks.iter().map(|c| c.epoch).max().unwrap_or(0)
    }

    /// Every value a version in the directory references (what the storage committee must keep).
    pub fn referenced_values(&self) -> BTreeSet<(u64, u16)> {
        self.files
            .values()
            .flat_map(|e| e.current.iter().chain(&e.history))
            .flat_map(|v| v.content.chunks.iter().map(|c| (c.epoch, c.proposer)))
            .collect()
    }

    /// What became of operation `id`, if it was committed (and is still remembered).
    pub fn outcome(&self, id: &[u8; 16]) -> Option<&Outcome> {
        self.outcomes.get(id)
    }

    fn member_name(&self, m: u8) -> String {
        self.members.get(usize::from(m)).cloned().unwrap_or_else(|| format!("member {m}"))
    }

    fn check_content(c: &Content) -> Result<(), String> {
        if c.chunks.len() > MAX_CHUNKS {
            return Err(format!("{} chunks; at most {MAX_CHUNKS}", c.chunks.len()));
        }
        if c.chunk_size == 0 || c.chunk_size > MAX_CHUNK_SIZE {
            return Err(format!("chunk size {}; 1 ..= {MAX_CHUNK_SIZE}", c.chunk_size));
        }
        if c.chunks.len() > 1 && c.chunk_size < MIN_CHUNK_SIZE {
            return Err(format!(
                "chunks of {} bytes; a file of several chunks uses at least {MIN_CHUNK_SIZE}",
                c.chunk_size
            ));
        }
        if c.wrapped_key.len() != WRAPPED_KEY_LEN {
            return Err(format!("a sealed file key is {WRAPPED_KEY_LEN} bytes, not {}", c.wrapped_key.len()));
        }
        let want = c.size.div_ceil(u64::from(c.chunk_size));
        if c.chunks.len() as u64 != want {
            return Err(format!("{} chunks for {} bytes in chunks of {}", c.chunks.len(), c.size, c.chunk_size));
        }
        if c.chunks.iter().any(|r| r.end <= r.start) {
            return Err("an empty chunk range".into());
        }
        Ok(())
    }

    /// Check an operation as far as it can be without applying it (the submit-time check).
    pub fn check(&self, s: &Signed) -> Result<(), String> {
        if usize::from(s.member) >= self.members.len() {
            return Err(format!("member {} is not in this family of {}", s.member, self.members.len()));
        }
        match &s.op {
            Op::Put { path, content, .. } => {
                check_path(path)?;
                Self::check_content(content)?;
                if let Some(r) = content.chunks.iter().find(|r| usize::from(r.proposer) >= self.members.len()) {
                    return Err(format!("a chunk names phone {} of a family of {}", r.proposer, self.members.len()));
                }
                self.room_for(s.member, content)
            }
            Op::Mkdir { path } | Op::Remove { path, .. } | Op::Restore { path, .. } => check_path(path),
            Op::Move { from, to, .. } => check_path(from).and_then(|()| check_path(to)),
            Op::SetQuota { member, .. } if usize::from(*member) >= self.members.len() => {
                Err(format!("member {member} is not in this family"))
            }
            Op::SetQuota { .. } | Op::SetRetention { .. } | Op::Heartbeat { .. } => Ok(()),
        }
    }

    /// Apply one committed operation.
    pub fn apply_op(&mut self, s: &Signed) -> Outcome {
        if self.outcomes.contains_key(&s.id) {
            return Outcome::Refused("already applied".into());
        }
        // The first operation sets the clock; later ones may move it at most a day ahead.
        let at =
            if self.clock_ms == 0 { s.at_ms } else { s.at_ms.min(self.clock_ms.saturating_add(MAX_CLOCK_SKEW_MS)) };
        self.clock_ms = self.clock_ms.max(at);
        let outcome = match self.check(s) {
            Err(e) => Outcome::Refused(e),
            Ok(()) => self.apply_checked(s, at),
        };
        if matches!(outcome, Outcome::Refused(_)) && !matches!(s.op, Op::Heartbeat { .. }) {
            self.refused += 1;
        }
        if !matches!(s.op, Op::Heartbeat { .. }) {
            self.outcomes.insert(s.id, outcome.clone());
            self.outcome_order.push_back(s.id);
            while self.outcome_order.len() > OP_IDS_KEPT {
                if let Some(old) = self.outcome_order.pop_front() {
                    self.outcomes.remove(&old);
                }
            }
        }
        outcome
    }

    /// A conflicted-copy name for `path` written by `member` that no file or folder has and
    /// that [`check_path`] accepts (the stem is shortened if the name would be too long).
    /// (A bounded search: a folder path too long to hold any copy falls back to the top
    /// folder; `None` only if even that name is taken.)
    fn free_conflicted_name(&self, path: &str, member: u8) -> Option<String> {
        let who = self.member_name(member);
        let free =
            |name: &String| !self.files.contains_key(name) && !self.folders.contains(name) && check_path(name).is_ok();
        let file = path.rsplit('/').next().unwrap_or(path);
        (0..16)
            .map(|n| if n == 0 { who.clone() } else { format!("{who} {n}") })
            .map(|tag| conflicted_name(path, &tag, self.next_version))
            .chain(std::iter::once(conflicted_name(&format!("/{file}"), &who, self.next_version)))
            .find(free)
    }

    fn new_version(&mut self, content: Content, owner: u8, at: u64) -> Version {
        let v = Version { version: self.next_version, content, owner, modified_ms: at };
        self.next_version += 1;
        v
    }

    fn apply_checked(&mut self, s: &Signed, at: u64) -> Outcome {
        match &s.op {
            Op::Put { path, base, content } => {
                let seen = self.live(path).map(|v| v.version);
                let (path, conflict) = if seen == *base {
                    (path.clone(), false)
                } else {
                    // Someone else changed the path since the writer looked: keep both, under a
                    // name that is free and itself a valid path.
                    match self.free_conflicted_name(path, s.member) {
                        Some(p) => (p, true),
                        None => return Outcome::Refused(format!("no free name for a conflicted copy of {path}")),
                    }
                };
                if !self.files.contains_key(&path) && self.files.len() >= MAX_FILES {
                    return Outcome::Refused(format!("the vault holds {MAX_FILES} files, its limit"));
                }
                let v = self.new_version(content.clone(), s.member, at);
                let version = v.version;
                self.account(&v, true);
                let dropped = self.files.entry(path.clone()).or_default().make_current(v);
                for old in &dropped {
                    self.account(old, false);
                }
                self.conflicts += u64::from(conflict);
                Outcome::Done { path, version: Some(version), conflict }
            }
            Op::Mkdir { path } => {
                if self.live(path).is_some() {
                    return Outcome::Refused(format!("{path} is a file"));
                }
                if self.folders.len() + MAX_DEPTH > MAX_FOLDERS {
                    return Outcome::Refused(format!("the vault holds {MAX_FOLDERS} folders, its limit"));
                }
                let mut p = String::new();
                for c in path[1..].split('/') {
                    p.push('/');
                    p.push_str(c);
                    self.folders.insert(p.clone());
                }
                Outcome::Done { path: path.clone(), version: None, conflict: false }
            }
            Op::Remove { path, base } => match self.live(path).map(|v| v.version) {
                Some(v) if v == *base => {
                    if let Some(e) = self.files.get_mut(path) {
                        // The directory's clock, not the writer's: a delete sent late (or
                        // from a phone whose clock is behind) still gets the whole retention
                        // period in the trash.
                        e.trashed = Some((self.clock_ms, s.member));
                    }
                    Outcome::Done { path: path.clone(), version: Some(v), conflict: false }
                }
                Some(v) => Outcome::Refused(format!("{path} is at version {v}, not {base}: look again")),
                None => Outcome::Refused(format!("{path} does not exist")),
            },
            Op::Move { from, to, base } => {
                match self.live(from).map(|v| v.version) {
                    Some(v) if v == *base => {}
                    Some(v) => return Outcome::Refused(format!("{from} is at version {v}, not {base}: look again")),
                    None => return Outcome::Refused(format!("{from} does not exist")),
                }
                if self.files.contains_key(to) || self.folders.contains(to) {
                    return Outcome::Refused(format!("{to} exists"));
                }
                if let Some(e) = self.files.remove(from) {
                    self.files.insert(to.clone(), e);
                }
                Outcome::Done { path: to.clone(), version: Some(*base), conflict: false }
            }
            Op::Restore { path, version } => {
                let Some(e) = self.files.get(path) else {
                    return Outcome::Refused(format!("{path} does not exist"));
                };
                let Some(old) = e.current.iter().chain(&e.history).find(|v| v.version == *version).cloned() else {
                    return Outcome::Refused(format!("{path} has no version {version}"));
                };
                if let Err(e) = self.room_for(s.member, &old.content) {
                    return Outcome::Refused(e);
                }
                let v = self.new_version(old.content, s.member, at);
                let n = v.version;
                self.account(&v, true);
                let dropped = self.files.get_mut(path).map(|e| e.make_current(v)).unwrap_or_default();
                for old in &dropped {
                    self.account(old, false);
                }
                Outcome::Done { path: path.clone(), version: Some(n), conflict: false }
            }
            Op::SetQuota { member, bytes } => {
                self.quotas.insert(*member, *bytes);
                Outcome::Done { path: String::new(), version: None, conflict: false }
            }
            Op::SetRetention { ms } => {
                self.retention_ms = *ms;
                Outcome::Done { path: String::new(), version: None, conflict: false }
            }
            Op::Heartbeat { health } => {
                // A report's time is its writer's clock, clamped like every operation's (and
                // moving the directory's clock, so a quiet family's clock still runs).
                let mut h = health.clone();
                h.last_seen_ms = at;
                self.health.insert(s.member, h);
                Outcome::Done { path: String::new(), version: None, conflict: false }
            }
        }
    }

    /// Empty the trash of what has been in it longer than the retention period.
    fn purge(&mut self) {
        let (clock, keep) = (self.clock_ms, self.retention_ms);
        let expired: Vec<String> = self
            .files
            .iter()
            .filter(|(_, e)| e.trashed.is_some_and(|(at, _)| clock.saturating_sub(at) > keep))
            .map(|(p, _)| p.clone())
            .collect();
        for p in expired {
            if let Some(e) = self.files.remove(&p) {
                for v in e.current.iter().chain(&e.history) {
                    self.account(v, false);
                }
            }
        }
    }
}

/// The directory committee's app.
#[derive(Debug, Default, Clone)]
pub struct DirectoryApp {
    /// The state.
    pub dir: Directory,
}

impl ConsensusApp for DirectoryApp {
    fn apply(&mut self, epoch: u64, transactions: &[Vec<u8>]) {
        for tx in transactions {
            match Signed::decode(tx) {
                Ok(s) => {
                    let _ = self.dir.apply_op(&s);
                }
                Err(_) => self.dir.refused += 1,
            }
        }
        self.dir.purge();
        self.dir.applied_epochs = epoch + 1;
    }

    fn snapshot(&self) -> Vec<u8> {
        beat_core::codec::encode(&self.dir)
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<(), String> {
        self.dir = beat_core::codec::decode(snapshot, 1 << 30).map_err(|e| format!("bad directory snapshot: {e}"))?;
        Ok(())
    }

    fn validate(&self, transaction: &[u8]) -> Result<(), String> {
        let s = Signed::decode(transaction)?;
        self.dir.check(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(size: u64) -> Content {
        Content {
            size,
            sha256: [7; 32],
            chunks: (0..size.div_ceil(u64::from(MIN_CHUNK_SIZE)))
                .map(|i| ChunkRef { epoch: i, proposer: 0, start: 0, end: 4 })
                .collect(),
            chunk_size: MIN_CHUNK_SIZE,
            wrapped_key: vec![1; WRAPPED_KEY_LEN],
        }
    }

    fn op(dir: &mut Directory, n: u8, member: u8, at_ms: u64, op: Op) -> Outcome {
        dir.apply_op(&Signed { id: [n; 16], member, at_ms, op })
    }

    fn family() -> Directory {
        Directory::new(vec!["Mom".into(), "Dad".into(), "Kid".into(), "Grandma".into()], 1000)
    }

    #[test]
    fn concurrent_edits_keep_both_versions() {
        let mut d = family();
        let put = |base| Op::Put { path: "/docs/plan.txt".into(), base, content: content(8) };
        assert!(matches!(op(&mut d, 1, 0, 10, put(None)), Outcome::Done { version: Some(1), conflict: false, .. }));
        // Mom and Dad both edit version 1.
        assert!(matches!(op(&mut d, 2, 0, 20, put(Some(1))), Outcome::Done { version: Some(2), conflict: false, .. }));
        let o = op(&mut d, 3, 1, 21, put(Some(1)));
        assert_eq!(
            o,
            Outcome::Done {
                path: "/docs/plan (conflicted copy, Dad, v3).txt".into(),
                version: Some(3),
                conflict: true
            }
        );
        assert_eq!(d.live("/docs/plan.txt").map(|v| v.version), Some(2));
        assert_eq!(d.files["/docs/plan.txt"].history.len(), 1);
        assert_eq!(d.conflicts, 1);
        // A new file both create at once: the second is a conflicted copy too.
        op(&mut d, 4, 2, 30, Op::Put { path: "/a".into(), base: None, content: content(4) });
        let o = op(&mut d, 5, 3, 30, Op::Put { path: "/a".into(), base: None, content: content(4) });
        assert!(
            matches!(o, Outcome::Done { conflict: true, ref path, .. } if path == "/a (conflicted copy, Grandma, v5)")
        );
        // A conflicted copy of a long name is still a valid, free path.
        let long = format!("/{}", "é".repeat(MAX_PATH / 2 - 1));
        op(&mut d, 6, 0, 31, Op::Put { path: long.clone(), base: None, content: content(4) });
        let o = op(&mut d, 7, 1, 31, Op::Put { path: long.clone(), base: None, content: content(4) });
        let Outcome::Done { path, conflict: true, .. } = o else { panic!("{o:?}") };
        assert!(check_path(&path).is_ok() && path.len() <= MAX_PATH && path != long, "{}", path.len());
        // A resubmitted operation is applied once.
        assert_eq!(
            op(&mut d, 5, 3, 30, Op::Put { path: "/a".into(), base: None, content: content(4) }),
            Outcome::Refused("already applied".into())
        );
    }

    #[test]
    fn trash_versions_restore_and_retention() {
        let mut d = family();
        op(&mut d, 1, 0, 10, Op::Put { path: "/x".into(), base: None, content: content(4) });
        op(&mut d, 2, 0, 11, Op::Put { path: "/x".into(), base: Some(1), content: content(8) });
        // A remove of a version that is no longer current is refused (nothing newer is lost).
        assert!(matches!(op(&mut d, 3, 1, 12, Op::Remove { path: "/x".into(), base: 1 }), Outcome::Refused(_)));
        assert!(matches!(op(&mut d, 4, 1, 12, Op::Remove { path: "/x".into(), base: 2 }), Outcome::Done { .. }));
        assert!(d.live("/x").is_none());
        assert!(matches!(
            op(&mut d, 5, 1, 13, Op::Restore { path: "/x".into(), version: 1 }),
            Outcome::Done { version: Some(3), .. }
        ));
        assert_eq!(d.live("/x").map(|v| v.content.size), Some(4));
        op(&mut d, 6, 1, 14, Op::Remove { path: "/x".into(), base: 3 });
        let mut app = DirectoryApp { dir: d };
        app.apply(0, &[]);
        assert!(app.dir.files.contains_key("/x"), "kept within the retention period");
        let late = Signed { id: [9; 16], member: 0, at_ms: 2000, op: Op::Mkdir { path: "/later".into() } };
        app.apply(1, &[late.encode()]);
        assert!(!app.dir.files.contains_key("/x"), "emptied after it");
        assert_eq!((app.dir.chunk_refs, app.dir.usage(0), app.dir.usage(1)), (0, 0, 0), "and its versions uncounted");
        assert!(app.dir.folders.contains("/later"));
    }

    #[test]
    fn quotas_moves_and_bad_operations() {
        let mut d = family();
        op(&mut d, 1, 0, 1, Op::SetQuota { member: 2, bytes: 10 });
        assert!(matches!(
            op(&mut d, 2, 2, 1, Op::Put { path: "/k".into(), base: None, content: content(8) }),
            Outcome::Done { .. }
        ));
        assert!(
            matches!(op(&mut d, 3, 2, 1, Op::Put { path: "/k2".into(), base: None, content: content(8) }), Outcome::Refused(e) if e.contains("quota"))
        );
        assert!(matches!(
            op(&mut d, 4, 0, 1, Op::Move { from: "/k".into(), to: "/m".into(), base: 1 }),
            Outcome::Done { .. }
        ));
        assert!(d.live("/m").is_some() && d.live("/k").is_none());
        for (i, p) in ["", "/", "x", "/a//b", "/a/../b", "/a/./b", "/a\u{7}"].into_iter().enumerate() {
            let o = op(&mut d, 10 + i as u8, 0, 1, Op::Mkdir { path: p.into() });
            assert!(matches!(o, Outcome::Refused(_)), "{p:?}");
        }
        assert!(matches!(op(&mut d, 30, 9, 1, Op::Mkdir { path: "/z".into() }), Outcome::Refused(_)), "unknown member");
        let tiny = Content {
            chunk_size: 1,
            chunks: vec![ChunkRef { epoch: 0, proposer: 0, start: 0, end: 1 }; 8],
            ..content(8)
        };
        assert!(
            matches!(op(&mut d, 32, 0, 1, Op::Put { path: "/tiny".into(), base: None, content: tiny }), Outcome::Refused(e) if e.contains("at least"))
        );
        let mut stranger = content(8);
        stranger.chunks[0].proposer = 9;
        assert!(
            matches!(op(&mut d, 33, 0, 1, Op::Put { path: "/s".into(), base: None, content: stranger }), Outcome::Refused(e) if e.contains("phone 9"))
        );
        let mut bad = content(8);
        bad.chunks.pop();
        assert!(matches!(
            op(&mut d, 31, 0, 1, Op::Put { path: "/b".into(), base: None, content: bad }),
            Outcome::Refused(_)
        ));
        let mut app = DirectoryApp { dir: d.clone() };
        app.apply(0, &[b"junk".to_vec()]);
        assert_eq!(app.dir.refused, d.refused + 1);
        // The running totals match a recount.
        let recount: u64 = d
            .files
            .values()
            .flat_map(|e| e.current.iter().chain(&e.history))
            .filter(|v| v.owner == 2)
            .map(|v| v.content.size)
            .sum();
        assert_eq!(d.usage(2), recount);
        let refs: u64 = d
            .files
            .values()
            .flat_map(|e| e.current.iter().chain(&e.history))
            .map(|v| v.content.chunks.len() as u64)
            .sum();
        assert_eq!(d.chunk_refs, refs);
        // Snapshots round-trip.
        let mut other = DirectoryApp::default();
        other.restore(&app.snapshot()).unwrap();
        assert_eq!(other.dir, app.dir);
    }
}
