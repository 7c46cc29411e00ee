//! The family vault (`demo-apps/family-vault`) for phone apps: a family's shared, encrypted
//! folder kept by BEAT, every file surviving the loss of any one phone.
//!
//! * [`vault_init`] deals a family (one bundle directory per phone); [`vault_join`] installs a
//!   member's bundle as a phone's vault home (a new phone, or the replacement of a lost one).
//! * [`FamilyVault`] runs a phone: its two nodes (the directory on BEAT1, the files on
//!   BEAT3/BEAT4) and its outbox. `put` returns at once with an operation id (the write waits in
//!   the outbox while too few phones are reachable, and resumes after a restart); `wait` tells
//!   what became of it. Every other call reads the phone's copy of the directory or its files.
//!
//! All calls block (reads fetch pieces from the other phones): call them off the UI thread.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use beat_core::beat::Variant;
use beat_vault::dir::{Op, Outcome};
use beat_vault::home::{self, InitSpec};
use beat_vault::vault::{Vault, VaultError};

use crate::BeatError;

/// A family to set up with [`vault_init`].
#[derive(Debug, Clone, uniffi::Record)]
pub struct VaultFamilySpec {
    /// The family's name.
    pub family: String,
    /// Member names, 4 to 7 (each phone is one member).
    pub members: Vec<String>,
    /// Each phone's address (LAN or VPN), or one for all (every phone on one machine).
    pub hosts: Vec<String>,
    /// First of the 3n ports the phones use.
    pub base_port: u16,
    /// `"beat3"` (whole-file reads) or `"beat4"` (range reads from one or two phones).
    pub storage_variant: String,
    /// Bytes each phone gives the family.
    pub capacity_bytes: u64,
    /// Milliseconds between each phone's health reports (60,000 is a good default).
    pub heartbeat_ms: u64,
}

/// A file in the family's folder.
#[derive(Debug, Clone, uniffi::Record)]
pub struct VaultFile {
    /// Its path (`/Photos/holiday.jpg`).
    pub path: String,
    /// Its current version (pass it as `base_version` to overwrite, remove or rename it).
    pub version: u64,
    /// Bytes.
    pub size: u64,
    /// Who wrote this version.
    pub owner: String,
    /// When (ms since the Unix epoch, the writer's clock).
    pub modified_ms: u64,
    /// SHA-256 of its contents (hex), checked after every read.
    pub sha256_hex: String,
}

/// One version of a file.
#[derive(Debug, Clone, uniffi::Record)]
pub struct VaultVersion {
    /// Its number.
    pub version: u64,
    /// Bytes.
    pub size: u64,
    /// Who wrote it.
    pub owner: String,
    /// When.
    pub modified_ms: u64,
    /// Whether it is the file's current version.
    pub current: bool,
}

/// What became of a write or an operation.
#[derive(Debug, Clone, uniffi::Record)]
pub struct VaultOutcome {
    /// Where it landed (a conflicted copy's own path when someone else saved first).
    pub path: String,
    /// The version it made, if it made one.
    pub version: Option<u64>,
    /// Whether it was kept as a conflicted copy next to another phone's newer version.
    pub conflict: bool,
    /// Why the family's directory refused it, if it did.
    pub refused: Option<String>,
}

/// One phone in the health report.
#[derive(Debug, Clone, uniffi::Record)]
pub struct VaultPhone {
    /// The member's name.
    pub name: String,
    /// Whether it reported recently.
    pub online: bool,
    /// Seconds since its last report (`None`: never).
    pub last_seen_s: Option<u64>,
    /// Pieces it knows it lacks (being repaired).
    pub missing: u64,
    /// 0–100: how much of what it should hold it holds.
    pub progress: u64,
    /// Bytes of verified pieces it holds.
    pub held_bytes: u64,
}

/// The family's health, as one phone sees it.
#[derive(Debug, Clone, uniffi::Record)]
pub struct VaultHealth {
    /// One line for the family ("All files safe", "Grandma's phone has been offline 9 days: …").
    pub status: String,
    /// Whether every file survives the loss of any one phone right now.
    pub all_safe: bool,
    /// Files in the folder.
    pub files: u64,
    /// Files not confirmed on every phone.
    pub files_at_risk: u64,
    /// This phone's writes waiting in its outbox.
    pub pending: u64,
    /// Per phone.
    pub phones: Vec<VaultPhone>,
}

fn err(e: VaultError) -> BeatError {
    match e {
        VaultError::Invalid(m) | VaultError::NotFound(m) => BeatError::Refused { message: m },
        VaultError::Unavailable(m) => BeatError::Unavailable { message: m },
        VaultError::Corrupt(m) => BeatError::Corrupt { message: m },
        VaultError::Internal(m) => BeatError::Stopped { message: m },
    }
}

/// Deal a family: writes one bundle per member under `out_dir` and returns their paths. Give
/// each phone its bundle and keep a copy of every bundle somewhere safe (it is how a lost phone
/// is replaced).
#[uniffi::export]
pub fn vault_init(out_dir: String, spec: VaultFamilySpec) -> Result<Vec<String>, BeatError> {
    let variant = match spec.storage_variant.to_ascii_lowercase().as_str() {
        "beat3" => Variant::Beat3,
        "beat4" => Variant::Beat4,
        v => return Err(BeatError::Config { message: format!("storage_variant {v:?}: use \"beat3\" or \"beat4\"") }),
    };
    let init = InitSpec {
        family: spec.family,
        members: spec.members,
        hosts: spec.hosts,
        base_port: spec.base_port,
        variant,
        capacity: spec.capacity_bytes,
        heartbeat_ms: spec.heartbeat_ms.max(200),
        retention_ms: 30 * 86_400_000,
        scrub_interval_ms: 6 * 3600 * 1000,
    };
    let bundles = home::init(Path::new(&out_dir), &init).map_err(|message| BeatError::Config { message })?;
    Ok(bundles.into_iter().map(|b| b.display().to_string()).collect())
}

/// Install a member's bundle as this phone's vault home.
#[uniffi::export]
pub fn vault_join(bundle_dir: String, home_dir: String) -> Result<(), BeatError> {
    home::join(Path::new(&bundle_dir), Path::new(&home_dir)).map_err(|message| BeatError::Config { message })
}

/// A running phone of a family vault.
#[derive(uniffi::Object)]
pub struct FamilyVault {
    vault: Mutex<Option<Arc<Vault>>>,
}

impl std::fmt::Debug for FamilyVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FamilyVault").finish_non_exhaustive()
    }
}

impl FamilyVault {
    fn running(&self) -> Result<Arc<Vault>, BeatError> {
        self.vault
            .lock()
            .map_err(|_| BeatError::Stopped { message: "the vault's lock is poisoned".into() })?
            .clone()
            .ok_or_else(|| BeatError::Stopped { message: "the vault was stopped".into() })
    }

    fn op(&self, op: Op) -> Result<String, BeatError> {
        Ok(hex::encode(self.running()?.submit(op).map_err(err)?))
    }
}

fn operation_id(id: &str) -> Result<[u8; 16], BeatError> {
    let mut out = [0u8; 16];
    hex::decode_to_slice(id, &mut out)
        .map_err(|e| BeatError::Config { message: format!("operation id {id:?}: 32 hex digits ({e})") })?;
    Ok(out)
}

#[uniffi::export]
impl FamilyVault {
    /// Start the phone whose vault home is `home_dir` (written by [`vault_join`]).
    #[uniffi::constructor]
    pub fn start(home_dir: String) -> Result<Arc<Self>, BeatError> {
        let home = home::load(Path::new(&home_dir)).map_err(|message| BeatError::Config { message })?;
        let vault = Vault::start(home).map_err(|message| BeatError::Start { message })?;
        Ok(Arc::new(FamilyVault { vault: Mutex::new(Some(Arc::new(vault))) }))
    }

    /// Queue a write of `data` to `path`; `base_version` is the version you saw (`None` for a
    /// new file). Returns the operation id for [`FamilyVault::await_outcome`].
    pub fn put(&self, path: String, data: Vec<u8>, base_version: Option<u64>) -> Result<String, BeatError> {
        Ok(hex::encode(self.running()?.put(&path, base_version, &data).map_err(err)?))
    }

    /// Wait up to `timeout_ms` for operation `operation` to commit (`None`: not yet — it stays
    /// queued and commits when enough phones are reachable).
    pub fn await_outcome(&self, operation: String, timeout_ms: u64) -> Result<Option<VaultOutcome>, BeatError> {
        let id = operation_id(&operation)?;
        Ok(self.running()?.wait(&id, Duration::from_millis(timeout_ms)).map(|o| match o {
            Outcome::Done { path, version, conflict } => VaultOutcome { path, version, conflict, refused: None },
            Outcome::Refused(why) => {
                VaultOutcome { path: String::new(), version: None, conflict: false, refused: Some(why) }
            }
        }))
    }

    /// Read a file (its current version, or `version`), checked against its SHA-256.
    pub fn get(&self, path: String, version: Option<u64>) -> Result<Vec<u8>, BeatError> {
        let v = self.running()?;
        let ver = v.version(&path, version).map_err(err)?;
        v.read(&ver, None).map_err(err)
    }

    /// Bytes `offset..offset+length` of a file's current version (only the chunks needed are
    /// fetched).
    pub fn get_range(&self, path: String, offset: u64, length: u64) -> Result<Vec<u8>, BeatError> {
        let v = self.running()?;
        let ver = v.version(&path, None).map_err(err)?;
        let end = offset.checked_add(length).ok_or_else(|| BeatError::Refused { message: "range overflows".into() })?;
        v.read(&ver, Some(offset..end)).map_err(err)
    }

    /// The files in the folder (not the trash).
    pub fn list(&self) -> Result<Vec<VaultFile>, BeatError> {
        self.running()?
            .with_dir(|d| {
                d.files
                    .keys()
                    .filter_map(|p| d.live(p).map(|v| (p, v)))
                    .map(|(p, v)| VaultFile {
                        path: p.clone(),
                        version: v.version,
                        size: v.content.size,
                        owner: d.members.get(usize::from(v.owner)).cloned().unwrap_or_default(),
                        modified_ms: v.modified_ms,
                        sha256_hex: hex::encode(v.content.sha256),
                    })
                    .collect()
            })
            .map_err(err)
    }

    /// A file's versions, newest first.
    pub fn versions(&self, path: String) -> Result<Vec<VaultVersion>, BeatError> {
        let out = self.running()?.with_dir(|d| {
            d.files.get(&path).map(|e| {
                e.history
                    .iter()
                    .chain(&e.current)
                    .rev()
                    .map(|x| VaultVersion {
                        version: x.version,
                        size: x.content.size,
                        owner: d.members.get(usize::from(x.owner)).cloned().unwrap_or_default(),
                        modified_ms: x.modified_ms,
                        current: e.trashed.is_none() && e.current.as_ref().is_some_and(|c| c.version == x.version),
                    })
                    .collect()
            })
        });
        out.map_err(err)?.ok_or_else(|| BeatError::Refused { message: format!("{path}: no such file") })
    }

    /// Move version `base_version` of `path` to the trash. Returns the operation id.
    pub fn remove(&self, path: String, base_version: u64) -> Result<String, BeatError> {
        self.op(Op::Remove { path, base: base_version })
    }

    /// Rename `from` (at `base_version`) to `to`. Returns the operation id.
    pub fn rename(&self, from: String, to: String, base_version: u64) -> Result<String, BeatError> {
        self.op(Op::Move { from, to, base: base_version })
    }

    /// Make old version `version` of `path` current again (also out of the trash).
    pub fn restore(&self, path: String, version: u64) -> Result<String, BeatError> {
        self.op(Op::Restore { path, version })
    }

    /// Make a folder.
    pub fn make_folder(&self, path: String) -> Result<String, BeatError> {
        self.op(Op::Mkdir { path })
    }

    /// Set member `member`'s quota in bytes (the family agrees on it through consensus).
    pub fn set_quota(&self, member: u8, bytes: u64) -> Result<String, BeatError> {
        self.op(Op::SetQuota { member, bytes })
    }

    /// This phone's writes waiting in its outbox.
    pub fn pending_count(&self) -> Result<u64, BeatError> {
        Ok(self.running()?.pending().len() as u64)
    }

    /// The family's health as this phone sees it.
    pub fn health(&self) -> Result<VaultHealth, BeatError> {
        let h = self.running()?.health().map_err(err)?;
        Ok(VaultHealth {
            status: h.status,
            all_safe: h.all_safe,
            files: h.files,
            files_at_risk: h.files_at_risk,
            pending: h.pending,
            phones: h
                .members
                .into_iter()
                .map(|m| VaultPhone {
                    name: m.name,
                    online: m.online,
                    last_seen_s: m.last_seen_s,
                    missing: m.missing,
                    progress: m.progress,
                    held_bytes: m.held_bytes,
                })
                .collect(),
        })
    }

    /// Stop the phone (its outbox is kept on disk and resumes at the next start). Blocks until
    /// it stopped, or — if a call on another thread still uses it (a read waits at most a
    /// minute per chunk) — until that call returns, for at most a minute; later calls fail
    /// with `Stopped`. Releasing the object without `stop` stops it too.
    pub fn stop(&self) {
        let taken = self.vault.lock().ok().and_then(|mut g| g.take());
        if let Some(mut v) = taken {
            v.request_stop();
            for _ in 0..6000 {
                match Arc::try_unwrap(v) {
                    Ok(vault) => return vault.shutdown(),
                    Err(shared) => v = shared,
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}
