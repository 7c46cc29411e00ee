//! A phone's vault home: what `vault init` deals and `vault join` installs.
//!
//! ```text
//! <home>/vault.toml                 member, names, addresses, what the phone gives
//! <home>/member.secret              the member's secret (opens its two key files)   0600
//! <home>/family.key                 the family key (opens every file key)             0600
//! <home>/directory/cluster.toml     the directory committee (BEAT1)
//! <home>/directory/node.key         this member's keys in it, sealed under member.secret
//! <home>/storage/cluster.toml       the storage committee (BEAT3 or BEAT4)
//! <home>/storage/node.key
//! <home>/data/                      stores and the outbox (what a wipe loses; repair refills it)
//! ```
//!
//! A member's bundle (everything but `data/`) is also the family's backup of that member: a
//! replacement phone joins with it and takes the lost phone's place. Until membership change
//! exists, that is the only way to replace a phone, and whoever holds a bundle *is* that member.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use beat_core::beat::{Settings, Variant};
use beat_core::keystore::storage::{create_private_dir, write_new_file};
use beat_core::keystore::{deal_sealed, load_cluster, DealSpec};
use beat_core::keystore::{Addresses, ClusterConfig, IdentityKey, KdfParams, KeySource};
use beat_core::SessionId;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::crypt::Key;

/// `vault.toml`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HomeConfig {
    /// The family's name.
    pub family: String,
    /// This phone's member id.
    pub member: u8,
    /// Every member's name, by id.
    pub members: Vec<String>,
    /// Where this phone's web UI and API listen (loopback).
    pub web: SocketAddr,
    /// Bytes this phone gives the family.
    pub capacity: u64,
    /// Milliseconds between this phone's health reports.
    pub heartbeat_ms: u64,
    /// Milliseconds the trash keeps files.
    pub retention_ms: u64,
    /// Milliseconds between scrub passes (each re-verifies every piece this phone holds).
    #[serde(default = "default_scrub_ms")]
    pub scrub_interval_ms: u64,
    /// What every phone's directory starts from (the family's name, the members, the trash
    /// retention, the directory committee), as a SHA-256 fixed at `vault init`: a phone whose
    /// `vault.toml` was edited would fold the same operations into a different directory, so
    /// it refuses to start instead.
    pub genesis: String,
}

/// The genesis digest of a family (see [`HomeConfig::genesis`]).
pub fn genesis(family: &str, members: &[String], retention_ms: u64, directory_cluster_toml: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"beat-vault/v1/genesis");
    for part in std::iter::once(family).chain(members.iter().map(String::as_str)).chain([directory_cluster_toml]) {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    h.update(retention_ms.to_be_bytes());
    hex::encode(h.finalize())
}

fn default_scrub_ms() -> u64 {
    6 * 3600 * 1000
}

/// Everything a phone needs to run, loaded and checked.
#[derive(Debug)]
pub struct Home {
    /// Its directory.
    pub path: PathBuf,
    /// `vault.toml`.
    pub config: HomeConfig,
    /// The family key.
    pub family_key: Key,
    /// The directory committee.
    pub directory: ClusterConfig,
    /// The storage committee.
    pub storage: ClusterConfig,
    /// The member secret.
    pub secret: KeySource,
}

/// What `vault init` sets up.
#[derive(Clone, Debug)]
pub struct InitSpec {
    /// The family's name.
    pub family: String,
    /// Member names (4 to 7 phones: one may be lost).
    pub members: Vec<String>,
    /// The host every phone is reached at (one machine: `127.0.0.1`).
    pub hosts: Vec<String>,
    /// First port: directory nodes take `base..base+n`, storage nodes the next `n`, web UIs the
    /// next `n`.
    pub base_port: u16,
    /// BEAT3 (whole-file reads) or BEAT4 (range reads from one or two phones).
    pub variant: Variant,
    /// Bytes each phone gives.
    pub capacity: u64,
    /// Health report interval.
    pub heartbeat_ms: u64,
    /// Trash retention.
    pub retention_ms: u64,
    /// Scrub interval.
    pub scrub_interval_ms: u64,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> String + '_ {
    move |e| format!("{}: {e}", path.display())
}

/// Deal a family: one bundle per member under `out/<id>-<name>/`. Refuses to overwrite.
pub fn init(out: &Path, spec: &InitSpec) -> Result<Vec<PathBuf>, String> {
    let n = spec.members.len();
    if !(4..=7).contains(&n) {
        return Err(format!("a family vault has 4 to 7 phones (one may be lost); got {n}"));
    }
    if spec.hosts.len() != 1 && spec.hosts.len() != n {
        return Err(format!("give one host for every phone or one for all; got {} for {n}", spec.hosts.len()));
    }
    if !spec.variant.dispersed() {
        return Err(format!("files are stored with BEAT3 or BEAT4, not {}", spec.variant.name()));
    }
    for name in &spec.members {
        if name.is_empty() || name.len() > 40 || name.chars().any(|c| c.is_control() || c == '/') {
            return Err(format!("member name {name:?}: 1 to 40 characters, no / or control characters"));
        }
    }
    if usize::from(spec.base_port) + 3 * n > usize::from(u16::MAX) {
        return Err(format!("--base-port {} leaves no room for {} ports", spec.base_port, 3 * n));
    }
    let host = |i: usize| spec.hosts.get(i).unwrap_or(&spec.hosts[0]).clone();
    let port = |block: usize, i: usize| spec.base_port + (block * n + i) as u16;
    let bundles: Vec<PathBuf> = (0..n).map(|i| out.join(format!("{i}-{}", spec.members[i]))).collect();
    if let Some(b) = bundles.iter().find(|b| b.exists()) {
        return Err(format!("{} exists: refusing to overwrite a family", b.display()));
    }
    let secrets: Vec<Zeroizing<String>> = (0..n).map(|_| Key::generate().to_hex()).collect();
    let sources: Vec<KeySource> =
        secrets.iter().map(|s| KeySource::raw_from_hex(s)).collect::<Result<_, _>>().map_err(|e| e.to_string())?;
    let family_key = Key::generate();
    let session = |name: &str| {
        let mut b = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
        SessionId::from_name(&format!("beat-vault/{name}/{}", hex::encode(b)))
    };
    let deal = |block: usize, settings: Settings, name: &str| -> Result<(String, Vec<Vec<u8>>), String> {
        let spec = DealSpec {
            session: session(name),
            settings,
            addresses: (0..n).map(|i| Addresses::clearnet(format!("{}:{}", host(i), port(block, i)))).collect(),
            onion_port: None,
        };
        deal_sealed(&spec, &sources, &KdfParams::OWASP, &mut rand::rngs::OsRng).map_err(|e| e.to_string())
    };
    let (dir_toml, dir_keys) = deal(0, Settings::for_service(Variant::Beat1), "directory")?;
    let (store_toml, store_keys) = deal(1, Settings::for_service(spec.variant), "storage")?;
    for (i, b) in bundles.iter().enumerate() {
        create_private_dir(b).map_err(io(b))?;
        let config = HomeConfig {
            family: spec.family.clone(),
            member: i as u8,
            members: spec.members.clone(),
            web: format!("127.0.0.1:{}", port(2, i)).parse().map_err(|e| format!("web address: {e}"))?,
            capacity: spec.capacity,
            heartbeat_ms: spec.heartbeat_ms,
            retention_ms: spec.retention_ms,
            scrub_interval_ms: spec.scrub_interval_ms,
            genesis: genesis(&spec.family, &spec.members, spec.retention_ms, &dir_toml),
        };
        let text = toml::to_string(&config).map_err(|e| e.to_string())?;
        let w = |p: &Path, bytes: &[u8], secret: bool| write_new_file(p, bytes, secret).map_err(|e| e.to_string());
        w(&b.join("vault.toml"), text.as_bytes(), false)?;
        w(&b.join("member.secret"), secrets[i].as_bytes(), true)?;
        w(&b.join("family.key"), family_key.to_hex().as_bytes(), true)?;
        for (sub, toml, keys) in [("directory", &dir_toml, &dir_keys), ("storage", &store_toml, &store_keys)] {
            let d = b.join(sub);
            create_private_dir(&d).map_err(io(&d))?;
            w(&d.join("cluster.toml"), toml.as_bytes(), false)?;
            w(&d.join("node.key"), &keys[i], true)?;
        }
    }
    Ok(bundles)
}

/// Install a member's bundle as this phone's home (a new phone, or the replacement of a lost
/// one). Refuses to overwrite an existing home.
pub fn join(bundle: &Path, home: &Path) -> Result<(), String> {
    // Load first: a damaged bundle is refused before anything is copied.
    let loaded = load(bundle)?;
    if home.join("vault.toml").exists() {
        return Err(format!("{} already holds a vault home", home.display()));
    }
    create_private_dir(home).map_err(io(home))?;
    for sub in ["directory", "storage"] {
        create_private_dir(&home.join(sub)).map_err(io(home))?;
    }
    for f in [
        "vault.toml",
        "member.secret",
        "family.key",
        "directory/cluster.toml",
        "directory/node.key",
        "storage/cluster.toml",
        "storage/node.key",
    ] {
        let bytes = std::fs::read(bundle.join(f)).map_err(io(&bundle.join(f)))?;
        let secret = f.ends_with(".key") || f.ends_with(".secret");
        write_new_file(&home.join(f), &bytes, secret).map_err(|e| e.to_string())?;
    }
    drop(loaded);
    Ok(())
}

/// Load and check a home.
pub fn load(home: &Path) -> Result<Home, String> {
    let read = |f: &str| std::fs::read_to_string(home.join(f)).map(Zeroizing::new).map_err(io(&home.join(f)));
    let config: HomeConfig =
        toml::from_str(&read("vault.toml")?).map_err(|e| format!("{}: {e}", home.join("vault.toml").display()))?;
    let family_key = Key::from_hex(&read("family.key")?).map_err(|e| format!("family.key: {e}"))?;
    let secret = KeySource::raw_from_hex(read("member.secret")?.trim()).map_err(|e| format!("member.secret: {e}"))?;
    let cluster = |sub: &str| load_cluster(&home.join(sub).join("cluster.toml")).map_err(|e| format!("{sub}: {e}"));
    let (directory, storage) = (cluster("directory")?, cluster("storage")?);
    let n = config.members.len();
    if directory.nodes.len() != n || storage.nodes.len() != n || usize::from(config.member) >= n {
        return Err(format!(
            "vault.toml names {n} members (this one {}), the committees have {} and {}",
            config.member,
            directory.nodes.len(),
            storage.nodes.len()
        ));
    }
    let want = genesis(&config.family, &config.members, config.retention_ms, &read("directory/cluster.toml")?);
    if config.genesis != want {
        return Err(format!(
            "{}: the family's name, members or retention differ from what `vault init` set (or the \
             directory committee changed): every phone must start from the same directory",
            home.join("vault.toml").display()
        ));
    }
    if !storage.public.settings.variant.dispersed() {
        return Err("the storage committee does not run BEAT3 or BEAT4".into());
    }
    Ok(Home { path: home.to_path_buf(), config, family_key, directory, storage, secret })
}

impl Home {
    /// The node configuration of this member in committee `sub` (`directory` or `storage`).
    pub fn node_config(&self, sub: &str) -> Result<beat_core::driver::NodeConfig, String> {
        let cluster = if sub == "directory" { &self.directory } else { &self.storage };
        let (keys, identity): (_, IdentityKey) =
            beat_core::keystore::load_node_keys(&self.path.join(sub).join("node.key"), &self.secret, cluster)
                .map_err(|e| format!("{sub}/node.key: {e}"))?;
        let me = usize::from(self.config.member);
        let addr = |i: usize| cluster.nodes[i].addresses.clearnet.clone().unwrap_or_default();
        let listen: SocketAddr = addr(me)
            .parse()
            .or_else(|_| format!("0.0.0.0:{}", addr(me).rsplit(':').next().unwrap_or("0")).parse())
            .map_err(|e| format!("{sub}: my address {:?}: {e}", addr(me)))?;
        let transports = vec![beat_core::net::TransportConfig::Clearnet {
            listen,
            peers: (0..cluster.nodes.len()).map(addr).collect(),
        }];
        let peers = cluster.nodes.iter().map(|n| n.identity).collect();
        let mut c =
            beat_core::driver::NodeConfig::new(keys, identity, peers, transports, self.path.join("data").join(sub));
        c.snapshot_every = 16;
        c.upkeep.repair_bytes_per_second = 64 << 20;
        c.upkeep.repairs_in_flight = 4;
        c.upkeep.repair_delay_ms = 500;
        c.upkeep.repair_backoff_ms = 2_000;
        c.upkeep.scrub_interval_ms = self.config.scrub_interval_ms;
        Ok(c)
    }
}
