//! `beat`: the BEAT node daemon.
//!
//! ```text
//! beat [--config FILE] [ID [PORT [METRICS_PORT]]] [--peers …]   one node
//! beat local [--nodes N] [--seconds S] [--variant V]             a whole cluster on loopback with load
//! beat keygen --nodes N --out DIR [--host H] [--base-port P] …   deal a committee's key files
//! beat onion-key --out DIR                                       this node's onion key (tor HiddenServiceDir)
//! beat client [--node URL] <submit|get|watch|status|health|kv|put-blob|get-blob|bench|token>
//! beat openapi                                                   the client API's OpenAPI document
//! beat --version | --help | <command> --help
//! ```
//!
//! Every setting is a flag and a `BEAT_*` variable, declared once in `cli.rs` (clap):
//! `beat --help` lists them with their defaults. A flag wins over the environment, which wins
//! over `--config FILE` (a TOML file of the variables' names), which wins over the default; the
//! start line lists the settings in effect and where each came from, secrets redacted.
//!
//! Without key files the node uses **insecure deterministic dev keys** (anyone can derive
//! them), with a loud warning, only when every peer is on loopback, and then every listener —
//! consensus and metrics — binds loopback only.

mod cli;

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use beat_core::app::KvApp;
use beat_core::beat::{self, Variant};
use beat_core::driver::{BeatNode, CommitListener, NodeConfig};
use beat_core::keystore::{self, Addresses, IdentityKey, KdfParams, KeySource};
use beat_core::net::switch::PEER_QUEUE_BYTES;
use beat_core::net::TransportConfig;
use beat_core::node::UpkeepConfig;
use beat_core::{Params, SessionId};
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory as _, FromArgMatches as _};
use cli::{ClientArgs, ClientCommand, KeyArgs, KeygenArgs, LocalArgs, LogArgs, NodeArgs};
use rand::SeedableRng;
use sha2::Digest as _;

fn fail(msg: &str) -> ExitCode {
    if JSON_LOGS.load(Ordering::Relaxed) {
        tracing::error!(target: "daemon", "beat: error: {msg}");
    } else {
        eprintln!("beat: error: {msg}");
    }
    ExitCode::from(2)
}

/// `BEAT_LOG_FORMAT=json`: every line the daemon prints on stderr is a JSON object.
static JSON_LOGS: AtomicBool = AtomicBool::new(false);

/// A line the daemon always prints (start, progress, stop): as it is, or with
/// `BEAT_LOG_FORMAT=json` as a log event of target `daemon` (always shown).
fn say(msg: String) {
    if JSON_LOGS.load(Ordering::Relaxed) {
        tracing::info!(target: "daemon", "{msg}");
    } else {
        eprintln!("{msg}");
    }
}

/// Insecure keys anyone can derive: for a local development cluster only. The settings are
/// part of the session, so dev nodes started with different settings do not talk to each other.
fn dev_keys(n: usize, settings: beat::Settings) -> Result<Vec<beat::NodeKeys>, String> {
    let params = Params::new(n).map_err(|e| format!("committee of {n}: {e}"))?;
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(0x0BEA_7DE7);
    Ok(beat::deal(params, SessionId::from_name("beat-dev-cluster"), settings, &mut rng))
}

/// Insecure channel identities anyone can derive: for a local development cluster only.
fn dev_identities(n: usize) -> Vec<keystore::IdentityKey> {
    (0..n)
        .map(|i| {
            let seed = beat_core::crypto::hash::tagged_hash("BEAT/dev-identity", &[&(i as u64).to_le_bytes()]);
            keystore::IdentityKey::from_bytes(&seed)
        })
        .collect()
}

fn is_loopback(peer: &str) -> bool {
    let host = peer.rsplit_once(':').map_or(peer, |(h, _)| h);
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// A setting's value; an empty one (`BEAT_BIND=`) counts as unset.
fn opt(v: &Option<String>) -> Option<String> {
    v.clone().filter(|v| !v.trim().is_empty())
}

/// A size in bytes: a number with an optional `KiB`, `MiB` or `GiB` suffix (`B` also allowed).
fn parse_bytes(var: &str, v: &str) -> Result<usize, String> {
    let t = v.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let shift = match unit.trim() {
        "" | "B" => 0,
        "KiB" | "K" | "k" => 10,
        "MiB" | "M" => 20,
        "GiB" | "G" => 30,
        _ => return Err(format!("{var} {v:?}: expected a number of bytes, optionally with KiB, MiB or GiB")),
    };
    let n: u64 = digits.parse().map_err(|_| format!("{var} {v:?}: expected a number of bytes"))?;
    n.checked_shl(shift)
        .filter(|b| b >> shift == n && *b > 0)
        .and_then(|b| usize::try_from(b).ok())
        .ok_or_else(|| format!("{var} {v:?} is zero or too large"))
}

fn parse_port(what: &str, v: &str) -> Result<u16, String> {
    v.trim()
        .parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("{what} {v:?} is not a port number (1-65535)"))
}

/// Set `flag` on SIGINT or SIGTERM. The handlers are registered before this returns, so a
/// signal that arrives during start-up (a long WAL replay) is not lost.
fn install_ctrlc(flag: Arc<AtomicBool>) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let signals = rt.block_on(async { (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) });
        let (Ok(mut int), Ok(mut term)) = signals else { return };
        std::thread::spawn(move || {
            rt.block_on(async {
                tokio::select! { _ = int.recv() => {}, _ = term.recv() => {} }
            });
            flag.store(true, Ordering::SeqCst);
        });
    }
    #[cfg(not(unix))]
    std::thread::spawn(move || {
        let _ = rt.block_on(tokio::signal::ctrl_c());
        flag.store(true, Ordering::SeqCst);
    });
}

/// Prints one line per committed epoch (`BEAT_LOG_COMMITS=1`).
struct CommitLog;

impl CommitListener for CommitLog {
    fn on_commit(&self, epoch: u64, transactions: &[Vec<u8>]) {
        let mut h = sha2::Sha256::new();
        for tx in transactions {
            sha2::Digest::update(&mut h, (tx.len() as u64).to_le_bytes());
            sha2::Digest::update(&mut h, tx);
        }
        let digest = hex::encode(&sha2::Digest::finalize(h)[..8]);
        println!("commit epoch={epoch} digest={digest} txs={}", transactions.len());
    }
}

/// Commit latencies seen at node 0 of the local cluster.
struct Latency {
    submitted: Mutex<std::collections::HashMap<Vec<u8>, Instant>>,
    samples: Mutex<Vec<Duration>>,
    committed: std::sync::atomic::AtomicU64,
    epochs: std::sync::atomic::AtomicU64,
}

impl CommitListener for Latency {
    fn on_commit(&self, epoch: u64, transactions: &[Vec<u8>]) {
        self.epochs.store(epoch + 1, Ordering::Relaxed);
        self.committed.fetch_add(transactions.len() as u64, Ordering::Relaxed);
        let now = Instant::now();
        if let (Ok(mut sub), Ok(mut samples)) = (self.submitted.lock(), self.samples.lock()) {
            for tx in transactions {
                if let Some(t) = sub.remove(tx) {
                    samples.push(now - t);
                }
            }
        }
    }
}

fn percentile(samples: &mut [Duration], p: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    samples.sort_unstable();
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[i].as_secs_f64() * 1000.0
}

/// BEAT2: the synthetic load's clients (none for other variants). Several, round-robin: a
/// client's sequence numbers more than its replay window (256) below its highest committed one
/// are refused, and the load keeps hundreds in flight.
fn load_clients(variant: Variant, public: &beat::PublicKeys) -> Vec<beat::client::Client> {
    if !variant.client_encrypted() {
        return Vec::new();
    }
    (0..16).map(|_| beat::client::Client::new(public.clone(), rand::random())).collect()
}

/// `tx` as submitted: encrypted by the next load client for BEAT2, as is otherwise.
fn encrypt_load(clients: &mut [beat::client::Client], k: u64, tx: &[u8]) -> Vec<u8> {
    if clients.is_empty() {
        return tx.to_vec();
    }
    let i = (k % clients.len() as u64) as usize;
    clients[i].encrypt(tx, &mut rand::rngs::OsRng)
}

/// `beat local --variant BEAT3|BEAT4`: writers put synthetic blobs (4 KiB … 256 KiB) through
/// every node and readers read stored ones back from random nodes (a quarter of them as byte
/// ranges), with a line per second: values stored, reads/s, read p50, repair backlog.
fn storage_load(nodes: &[BeatNode<KvApp>], variant: Variant, seconds: u64, stop: &AtomicBool) -> ExitCode {
    use std::sync::atomic::AtomicU64;
    let stored: Mutex<Vec<beat_core::driver::StoredTx>> = Mutex::new(Vec::new());
    let (bytes, reads, read_fails) = (AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0));
    let read_ms: Mutex<Vec<Duration>> = Mutex::new(Vec::new());
    let start = Instant::now();
    let running = || !stop.load(Ordering::SeqCst) && (seconds == 0 || start.elapsed() < Duration::from_secs(seconds));
    let n = nodes.len();
    println!("epoch  values  stored_MiB  reads/s  read_p50_ms  repair_backlog   (Ctrl-C to stop)");
    let mut all_reads = Vec::new();
    std::thread::scope(|s| {
        for (w, node) in nodes.iter().enumerate() {
            let (stored, bytes) = (&stored, &bytes);
            s.spawn(move || {
                let mut rng = rand::rngs::StdRng::seed_from_u64(w as u64);
                while running() {
                    let size = 4096 << rand::Rng::gen_range(&mut rng, 0..7);
                    let mut blob = vec![0u8; size];
                    rand::Rng::fill(&mut rng, &mut blob[..]);
                    if let Ok(at) = node.put(blob, Duration::from_secs(30)) {
                        bytes.fetch_add(size as u64, Ordering::Relaxed);
                        if let Ok(mut st) = stored.lock() {
                            st.push(at);
                        }
                    }
                }
            });
        }
        for r in 0..n {
            let (stored, reads, read_fails, read_ms) = (&stored, &reads, &read_fails, &read_ms);
            s.spawn(move || {
                let mut rng = rand::rngs::StdRng::seed_from_u64(100 + r as u64);
                while running() {
                    let pick = stored.lock().ok().and_then(|st| {
                        (!st.is_empty()).then(|| st[rand::Rng::gen_range(&mut rng, 0..st.len())].clone())
                    });
                    let Some(at) = pick else {
                        std::thread::sleep(Duration::from_millis(20));
                        continue;
                    };
                    let range = if rand::Rng::gen_ratio(&mut rng, 1, 4) {
                        at.range.start..at.range.start + (at.range.end - at.range.start).min(1024)
                    } else {
                        at.range.clone()
                    };
                    let node = &nodes[rand::Rng::gen_range(&mut rng, 0..n)];
                    let t = Instant::now();
                    match node.read(at.id, Some(range), Duration::from_secs(10)) {
                        Ok(_) => {
                            reads.fetch_add(1, Ordering::Relaxed);
                            if let Ok(mut m) = read_ms.lock() {
                                m.push(t.elapsed());
                            }
                        }
                        Err(_) => {
                            read_fails.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            });
        }
        let mut last_reads = 0;
        while running() {
            std::thread::sleep(Duration::from_secs(1));
            let statuses: Vec<_> = nodes.iter().map(BeatNode::status).collect();
            let backlog: u64 = statuses.iter().map(|st| st.fragments.missing).sum();
            let values = stored.lock().map(|st| st.len()).unwrap_or(0);
            let done = reads.load(Ordering::Relaxed);
            let mut samples = read_ms.lock().map(|mut m| std::mem::take(&mut *m)).unwrap_or_default();
            all_reads.extend(samples.iter().copied());
            println!(
                "{:>5}  {:>6}  {:>10.1}  {:>7}  {:>11.1}  {:>14}",
                statuses[0].epoch,
                values,
                bytes.load(Ordering::Relaxed) as f64 / (1 << 20) as f64,
                done - last_reads,
                percentile(&mut samples, 0.5),
                backlog
            );
            last_reads = done;
        }
    });
    let secs = start.elapsed().as_secs_f64();
    let values = stored.lock().map(|st| st.len()).unwrap_or(0);
    let (done, failed) = (reads.load(Ordering::Relaxed), read_fails.load(Ordering::Relaxed));
    println!(
        "BEAT-LOCAL nodes={n} variant={variant} seconds={secs:.1} values={values} stored_mib={:.1} reads={done} \
         reads_failed={failed} reads_s={:.0} read_p50_ms={:.1}",
        bytes.load(Ordering::Relaxed) as f64 / (1 << 20) as f64,
        done as f64 / secs,
        percentile(&mut all_reads, 0.5)
    );
    if failed > 0 {
        return fail(&format!("{failed} reads failed"));
    }
    ExitCode::SUCCESS
}

fn local(a: &LocalArgs) -> ExitCode {
    let (n, seconds) = (a.nodes, a.seconds);
    let Some(variant) = Variant::from_name(&a.variant) else {
        return fail(&format!("--variant {:?}: expected BEAT0 … BEAT4", a.variant));
    };
    let settings = if variant.dispersed() {
        beat::Settings::for_service(variant)
    } else {
        beat::Settings { variant, batch_size: 500, ..beat::Settings::default() }
    };
    let keys = match dev_keys(n, settings) {
        Ok(k) => k,
        Err(e) => return fail(&e),
    };
    let ports: Result<Vec<u16>, String> = (0..n).map(|_| free_port()).collect();
    let ports = match ports {
        Ok(p) => p,
        Err(e) => return fail(&e),
    };
    let peers: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let dir = std::env::temp_dir().join(format!("beat-local-{}", std::process::id()));
    eprintln!("beat local: {n} nodes ({variant}) on {}, data in {}, insecure dev keys", peers.join(","), dir.display());
    let latency = Arc::new(Latency {
        submitted: Mutex::new(Default::default()),
        samples: Mutex::new(Vec::new()),
        committed: Default::default(),
        epochs: Default::default(),
    });
    // BEAT2: transactions are encrypted by clients (here, this process) before submission.
    let mut clients = load_clients(variant, &keys[0].public);
    let mut nodes = Vec::new();
    let ids = dev_identities(n);
    for (i, k) in keys.into_iter().enumerate() {
        let mut config = NodeConfig::loopback(k, &ids, &ports, dir.join(format!("node-{i}")));
        config.snapshot_every = 16;
        let listener: Option<Arc<dyn CommitListener>> = (i == 0).then(|| latency.clone() as Arc<dyn CommitListener>);
        let app = if variant.dispersed() { KvApp::storage() } else { KvApp::default() };
        match BeatNode::start(config, app, listener) {
            Ok(node) => nodes.push(node),
            Err(e) => return fail(&format!("node {i}: {e}")),
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    install_ctrlc(stop.clone());
    if variant.dispersed() {
        let code = storage_load(&nodes, variant, seconds, &stop);
        for node in nodes {
            node.shutdown();
        }
        let _ = std::fs::remove_dir_all(&dir);
        return code;
    }
    let start = Instant::now();
    let mut next_report = start + Duration::from_secs(1);
    let (mut counter, mut last_committed) = (0u64, 0u64);
    println!("epoch  committed  tx/s   p50_ms  p99_ms   (Ctrl-C to stop)");
    while !stop.load(Ordering::SeqCst) && (seconds == 0 || start.elapsed() < Duration::from_secs(seconds)) {
        // Synthetic load: keep a few hundred transactions in flight, spread over the nodes.
        let in_flight = latency.submitted.lock().map(|s| s.len()).unwrap_or(0);
        for _ in 0..(800usize.saturating_sub(in_flight)).min(200) {
            counter += 1;
            let tx = format!("set key{} value{}", counter % 1000, counter).into_bytes();
            let submitted = encrypt_load(&mut clients, counter, &tx);
            if nodes[(counter as usize) % n].submit(submitted).is_ok() {
                if let Ok(mut s) = latency.submitted.lock() {
                    s.insert(tx, Instant::now());
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
        if Instant::now() >= next_report {
            next_report += Duration::from_secs(1);
            let committed = latency.committed.load(Ordering::Relaxed);
            let mut samples = latency.samples.lock().map(|mut s| std::mem::take(&mut *s)).unwrap_or_default();
            println!(
                "{:>5}  {:>9}  {:>5}  {:>6.0}  {:>6.0}",
                latency.epochs.load(Ordering::Relaxed),
                committed,
                committed - last_committed,
                percentile(&mut samples, 0.5),
                percentile(&mut samples, 0.99)
            );
            last_committed = committed;
        }
    }
    let epochs = latency.epochs.load(Ordering::Relaxed);
    let committed = latency.committed.load(Ordering::Relaxed);
    let states: Vec<Option<(u64, u64)>> =
        nodes.iter().map(|nd| nd.with_app(|a| (a.applied_epochs, a.applied_txs))).collect();
    for node in nodes {
        node.shutdown();
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "BEAT-LOCAL nodes={n} variant={variant} seconds={:.1} epochs={epochs} committed_txs={committed} tx_s={:.0}",
        start.elapsed().as_secs_f64(),
        committed as f64 / start.elapsed().as_secs_f64()
    );
    eprintln!("per-node (epochs applied, txs applied): {states:?}");
    ExitCode::SUCCESS
}

/// `--name value`: a positive integer no larger than `max`, or an error naming the flag.
fn parse_count(flag: &str, v: &str, max: u64) -> Result<u64, String> {
    match v.trim().parse::<u64>() {
        Ok(x) if (1..=max).contains(&x) => Ok(x),
        _ => Err(format!("{flag} {v:?} is not a number from 1 to {max}")),
    }
}

fn keygen(a: &KeygenArgs, k: &KeyArgs) -> ExitCode {
    let parsed = (|| -> Result<_, String> {
        let n = parse_count("--nodes", &a.nodes, Params::MAX_N as u64)? as usize;
        let base = parse_port("--base-port", &a.base_port)?;
        let tor_port = a.tor_port.as_deref().map(|p| parse_port("--tor-port", p)).transpose()?;
        let variant = Variant::from_name(&a.variant)
            .ok_or_else(|| format!("--variant {:?}: expected BEAT0 … BEAT4", a.variant))?;
        // Explicit settings over the variant's service defaults (`Settings::for_service`).
        let count =
            |flag: &str, v: &Option<String>, max: u64| v.as_deref().map(|v| parse_count(flag, v, max)).transpose();
        let batch = count("--batch-size", &a.batch_size, beat::settings::MAX_BATCH_SIZE as u64)?.map(|x| x as usize);
        let max_tx = count("--max-tx-size", &a.max_tx_size, u32::MAX as u64)?.map(|x| x as usize);
        let max_proposal = count("--max-proposal-bytes", &a.max_proposal_bytes, u32::MAX as u64)?.map(|x| x as usize);
        let dedup = count("--dedup-epochs", &a.dedup_epochs, beat::settings::MAX_DEDUP_EPOCHS)?;
        Ok((n, base, tor_port, variant, batch, max_tx, max_proposal, dedup))
    })();
    let (n, base, tor_port, variant, batch, max_tx, max_proposal, dedup) = match parsed {
        Ok(p) => p,
        Err(e) => return fail(&e),
    };
    let (out, host, passphrases) = (a.out.clone(), a.host.clone(), a.passphrases.clone());
    let mut settings = beat::Settings::for_service(variant);
    settings.batch_size = batch.unwrap_or(settings.batch_size);
    settings.max_tx_size = max_tx.unwrap_or(settings.max_tx_size);
    settings.max_proposal_bytes = max_proposal.unwrap_or(settings.max_proposal_bytes);
    settings.dedup_epochs = dedup.unwrap_or(settings.dedup_epochs);
    if let Err(e) = Params::new(n) {
        return fail(&format!("--nodes {n}: {e}"));
    }
    if let Err(e) = settings.validate() {
        return fail(&e.to_string());
    }
    if opt(&k.passphrase).is_some() || opt(&k.key_hex).is_some() {
        return fail(
            "keygen seals each key file under its own secret, so one node's secret opens only its own file: \
             unset BEAT_PASSPHRASE / BEAT_KEY_HEX, and give --passphrases FILE (one per line, one per node) or let \
             keygen make a random key per node (written to DIR/node-<id>.secret)",
        );
    }
    // One secret per node: passphrases from a file, or fresh random raw keys.
    let (secrets, raw_hex): (Vec<KeySource>, Option<Vec<zeroize::Zeroizing<String>>>) = match &passphrases {
        Some(path) => {
            let text = match std::fs::read_to_string(path) {
                Ok(t) => zeroize::Zeroizing::new(t),
                Err(e) => return fail(&format!("--passphrases {}: {e}", path.display())),
            };
            let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
            if lines.len() != n || lines.iter().any(|l| l.is_empty()) {
                return fail(&format!(
                    "--passphrases {}: expected {n} non-empty lines (one passphrase per node, by id), found {}",
                    path.display(),
                    lines.iter().filter(|l| !l.is_empty()).count()
                ));
            }
            (lines.iter().map(|l| KeySource::passphrase(*l)).collect(), None)
        }
        None => {
            let keys: Vec<zeroize::Zeroizing<String>> =
                (0..n).map(|_| zeroize::Zeroizing::new(hex::encode(rand::random::<[u8; 32]>()))).collect();
            let sources = keys.iter().map(|h| KeySource::raw_from_hex(h)).collect::<Result<Vec<_>, _>>();
            match sources {
                Ok(s) => (s, Some(keys)),
                Err(e) => return fail(&e.to_string()),
            }
        }
    };
    let addresses: Vec<Addresses> =
        (0..n).map(|i| Addresses::clearnet(format!("{host}:{}", base as usize + i))).collect();
    let spec = keystore::DealSpec { session: SessionId(rand::random()), settings, addresses, onion_port: tor_port };
    if let Err(e) = keystore::write_cluster(&out, &spec, &secrets, &KdfParams::OWASP, &mut rand::rngs::OsRng) {
        return fail(&e.to_string());
    }
    if let Some(keys) = raw_hex {
        for (id, key) in keys.iter().enumerate() {
            let path = out.join(format!("node-{id}.secret"));
            if let Err(e) = keystore::storage::write_new_file(&path, format!("{}\n", key.as_str()).as_bytes(), true) {
                return fail(&e.to_string());
            }
        }
    }
    println!(
        "wrote {dir}/cluster.toml ({variant}, batch size {b}) and {n} key files, each sealed under its own secret",
        dir = out.display(),
        variant = spec.settings.variant,
        b = spec.settings.batch_size
    );
    if passphrases.is_none() {
        println!(
            "hand node <id> three things: cluster.toml (public), node-<id>.key (sealed) and, over a separate channel, \
             node-<id>.secret (its key: the daemon reads BEAT_KEY_HEX_FILE=<path> or BEAT_KEY_HEX=<hex>); then delete \
             {}/node-*.secret",
            out.display()
        );
    } else {
        println!("node <id> opens node-<id>.key with line <id + 1> of the passphrase file (BEAT_PASSPHRASE)");
    }
    ExitCode::SUCCESS
}

/// A comma-separated list of `n` addresses from `var`, else the cluster file's.
fn addresses_for(
    var: &str,
    value: Option<String>,
    n: usize,
    cluster: Option<&[Addresses]>,
    pick: fn(&Addresses) -> Option<String>,
    check: fn(&str) -> bool,
    form: &str,
) -> Result<Vec<String>, String> {
    let list: Vec<String> = match (value, cluster) {
        (Some(v), _) => v.split(',').map(|s| s.trim().to_string()).collect(),
        (None, Some(c)) => c
            .iter()
            .map(pick)
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| format!("the cluster file lacks this network's address for some node; set {var}"))?,
        (None, None) => return Err(format!("set {var} ({form} of every node, comma-separated, by id)")),
    };
    if list.len() != n {
        return Err(format!("{var} names {} nodes but the committee has {n}", list.len()));
    }
    if let Some(bad) = list.iter().find(|a| !check(a)) {
        return Err(format!("{var} entry {bad:?} is not {form}"));
    }
    Ok(list)
}

fn socket_addr(var: &str, v: &str) -> Result<SocketAddr, String> {
    v.trim().parse().map_err(|_| format!("{var} {v:?} is not ip:port"))
}

/// The transports of `BEAT_TRANSPORTS` (default: clearnet, plus Tor and I2P when their
/// settings are present), each with every node's address.
#[allow(clippy::too_many_arguments)] // the daemon's settings and what the node's keys give
fn transports(
    s: &NodeArgs,
    id: usize,
    listen: SocketAddr,
    clearnet_peers: Vec<String>,
    cluster: Option<&[Addresses]>,
    data_dir: &std::path::Path,
    dev: bool,
    identity: &IdentityKey,
) -> Result<Vec<TransportConfig>, String> {
    let (n, port) = (clearnet_peers.len(), listen.port());
    let arti = match opt(&s.tor_mode) {
        None => false,
        Some(m) if m.trim().eq_ignore_ascii_case("socks") => false,
        Some(m) if m.trim().eq_ignore_ascii_case("arti") => true,
        Some(other) => {
            return Err(format!("BEAT_TOR {other:?} is neither `socks` (a tor daemon) nor `arti` (in-process)"))
        }
    };
    let daemon = [("BEAT_TOR_SOCKS", &s.tor_socks), ("BEAT_TOR_LISTEN", &s.tor_listen)];
    let in_process = [("BEAT_ARTI_DIR", &s.arti_dir), ("BEAT_TOR_TESTNET", &s.tor_testnet)];
    if arti {
        if let Some((var, _)) = daemon.iter().find(|(_, v)| opt(v).is_some()) {
            return Err(format!("{var} is for a tor daemon (BEAT_TOR=socks); BEAT_TOR=arti runs Tor in-process"));
        }
    } else if let Some((var, _)) = in_process.iter().find(|(_, v)| opt(v).is_some()) {
        return Err(format!("{var} is for BEAT_TOR=arti (Tor in-process), and BEAT_TOR is not arti"));
    }
    if opt(&s.tor_mode).is_some() && !arti && opt(&s.tor_socks).is_none() && opt(&s.transports).is_none() {
        return Err("BEAT_TOR=socks needs BEAT_TOR_SOCKS (a tor daemon's SocksPort, ip:port)".into());
    }
    let wanted: Vec<String> = match opt(&s.transports) {
        Some(list) => list.split(',').map(|s| s.trim().to_ascii_lowercase()).collect(),
        None => {
            let mut w = vec!["clearnet".to_string()];
            if opt(&s.tor_socks).is_some() || arti {
                w.push("tor".into());
            }
            if opt(&s.i2p_sam).is_some() || opt(&s.i2p_socks).is_some() {
                w.push("i2p".into());
            }
            w
        }
    };
    if wanted.is_empty() {
        return Err("BEAT_TRANSPORTS is empty: name at least one of clearnet, tor, i2p".into());
    }
    if arti && !wanted.iter().any(|w| w == "tor") {
        return Err("BEAT_TOR=arti, but BEAT_TRANSPORTS does not name tor".into());
    }
    if dev && wanted.iter().any(|w| w != "clearnet") {
        return Err("insecure dev keys are only for loopback clearnet clusters; create keys with `beat keygen` \
                    and set BEAT_CLUSTER and BEAT_KEY_FILE to use Tor or I2P"
            .into());
    }
    let is_onion = |a: &str| {
        a.rsplit_once(':').is_some_and(|(h, p)| {
            h.strip_suffix(".onion").is_some_and(|b| b.len() == 56 && b.bytes().all(|c| c.is_ascii_alphanumeric()))
                && p.parse::<u16>().is_ok()
        })
    };
    let is_i2p = |a: &str| {
        let host = a.rsplit_once(':').map_or(a, |(h, _)| h);
        host.ends_with(".b32.i2p") || beat_core::net::sam::b32_address(host).is_ok()
    };
    let mut out = Vec::new();
    for w in &wanted {
        match w.as_str() {
            "clearnet" => out.push(TransportConfig::Clearnet { listen, peers: clearnet_peers.clone() }),
            "tor" => {
                if arti && !cfg!(feature = "tor") {
                    return Err(NO_ARTI.into());
                }
                let peers = addresses_for(
                    "BEAT_TOR_PEERS",
                    opt(&s.tor_peers),
                    n,
                    cluster,
                    |a| a.tor.clone(),
                    is_onion,
                    "<56 characters>.onion:port",
                )?;
                if arti {
                    out.push(arti_transport(s, identity, &peers[id], peers.clone(), data_dir)?);
                    continue;
                }
                let socks =
                    opt(&s.tor_socks).ok_or("tor needs BEAT_TOR_SOCKS (the tor daemon's SocksPort, ip:port)")?;
                socket_addr("BEAT_TOR_SOCKS", &socks)?;
                let listen = match opt(&s.tor_listen) {
                    Some(l) => socket_addr("BEAT_TOR_LISTEN", &l)?,
                    None => SocketAddr::from((
                        [127, 0, 0, 1],
                        port.checked_add(1000).ok_or("BEAT_PORT too large for the default BEAT_TOR_LISTEN")?,
                    )),
                };
                out.push(TransportConfig::TorSocks { socks, listen, peers });
            }
            "i2p" => {
                let peers = addresses_for(
                    "BEAT_I2P_PEERS",
                    opt(&s.i2p_peers),
                    n,
                    cluster,
                    |a| a.i2p.clone(),
                    is_i2p,
                    "an I2P destination or <name>.b32.i2p",
                )?;
                if let Some(socks) = opt(&s.i2p_socks) {
                    socket_addr("BEAT_I2P_SOCKS", &socks)?;
                    let listen = opt(&s.i2p_listen)
                        .ok_or("BEAT_I2P_SOCKS needs BEAT_I2P_LISTEN (the target of the router's server tunnel)")?;
                    let listen = socket_addr("BEAT_I2P_LISTEN", &listen)?;
                    out.push(TransportConfig::I2pSocks { socks, listen, peers });
                    continue;
                }
                let sam = opt(&s.i2p_sam)
                    .ok_or("i2p needs BEAT_I2P_SAM (the router's SAM bridge, ip:port) or BEAT_I2P_SOCKS")?;
                socket_addr("BEAT_I2P_SAM", &sam)?;
                let destination = i2p_destination(&sam, data_dir, opt(&s.i2p_key))?;
                say(format!(
                    "beat: node {id} i2p address {}",
                    beat_core::net::sam::public_destination(&destination)
                        .and_then(|d| beat_core::net::sam::b32_address(&d))
                        .unwrap_or_default()
                ));
                out.push(TransportConfig::I2pSam { sam, destination, peers });
            }
            other => return Err(format!("BEAT_TRANSPORTS: unknown transport {other:?} (clearnet, tor, i2p)")),
        }
    }
    Ok(out)
}

/// `BEAT_TOR=arti`: Tor in-process, hosting the onion service whose key derives from this
/// node's identity (the address the cluster file lists) on the port of our own entry in `peers`.
#[cfg(feature = "tor")]
fn arti_transport(
    s: &NodeArgs,
    identity: &IdentityKey,
    own: &str,
    peers: Vec<String>,
    data_dir: &Path,
) -> Result<TransportConfig, String> {
    use beat_core::net::arti::{ArtiConfig, TestNetwork};
    let key = keystore::OnionKey::derive(identity);
    let (host, port) = own.rsplit_once(':').unwrap_or((own, ""));
    if !host.eq_ignore_ascii_case(&key.hostname()) {
        return Err(format!(
            "BEAT_TOR_PEERS: this node's entry is {own:?}, but with BEAT_TOR=arti the node serves the onion its \
             identity gives, {}; list that address (as `beat keygen --tor-port` writes it)",
            key.hostname()
        ));
    }
    let onion_port = port
        .parse::<u16>()
        .ok()
        .filter(|p| *p > 0 && port.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| format!("BEAT_TOR_PEERS: this node's entry {own:?} has no port from 1 to 65535"))?;
    let dir = opt(&s.arti_dir).map_or_else(|| data_dir.join("arti"), PathBuf::from);
    // arti refuses a state directory other users may write to (it holds the onion key): a
    // missing one is created private (0700), and one that others may write to is an error here
    // rather than arti retrying in the background. (arti also checks the directories above it.)
    let mut create = std::fs::DirBuilder::new();
    create.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut create, 0o700);
    create.create(&dir).map_err(|e| format!("BEAT_ARTI_DIR {}: {e}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let meta = std::fs::metadata(&dir).map_err(|e| format!("BEAT_ARTI_DIR {}: {e}", dir.display()))?;
        if meta.permissions().mode() & 0o022 != 0 {
            return Err(format!(
                "BEAT_ARTI_DIR {}: other users may write to it (mode {:o}); arti keeps the onion key there \
                 and refuses it: `chmod go-w` it, or point BEAT_ARTI_DIR at a directory of its own",
                dir.display(),
                meta.permissions().mode() & 0o7777
            ));
        }
    }
    let testnet = match opt(&s.tor_testnet) {
        Some(t) => Some(TestNetwork::from_testnet_dir(Path::new(&t)).map_err(|e| format!("BEAT_TOR_TESTNET: {e}"))?),
        None => None,
    };
    let config = ArtiConfig {
        state_dir: dir.join("state"),
        cache_dir: dir.join("cache"),
        nickname: "beat".to_owned(),
        onion_port,
        onion_secret: Some(*key.seed()),
        testnet,
    };
    Ok(TransportConfig::Arti { config, peers })
}

#[cfg(not(feature = "tor"))]
fn arti_transport(_: &NodeArgs, _: &IdentityKey, _: &str, _: Vec<String>, _: &Path) -> Result<TransportConfig, String> {
    Err(NO_ARTI.into())
}

/// `BEAT_TOR=arti` on a `beat` built without the `tor` feature.
const NO_ARTI: &str = "BEAT_TOR=arti: this beat was built without Tor in-process; build it with `cargo build \
                       --release -p beat-core --features tor`, or run a tor daemon and use BEAT_TOR=socks with \
                       BEAT_TOR_SOCKS";

/// The node's I2P private destination: `BEAT_I2P_KEY` (default `<data dir>/i2p-destination.key`),
/// created through the SAM bridge on first start.
fn i2p_destination(sam: &str, data_dir: &std::path::Path, key: Option<String>) -> Result<String, String> {
    let path = key.map_or_else(|| data_dir.join("i2p-destination.key"), PathBuf::from);
    beat_core::net::sam::load_or_create_destination(sam, &path).map_err(|e| format!("BEAT_I2P_KEY / BEAT_I2P_SAM: {e}"))
}

/// `beat onion-key --out DIR`: write this node's onion service key (derived from its identity)
/// as a tor daemon's `HiddenServiceDir`, and print the onion address.
fn onion_key(out: &Path, k: &KeyArgs) -> ExitCode {
    let (Some(cluster), Some(key_file)) = (opt(&k.cluster), opt(&k.key_file)) else {
        return fail("onion-key needs BEAT_CLUSTER and BEAT_KEY_FILE (or --cluster and --key-file)");
    };
    let cluster = match keystore::load_cluster(std::path::Path::new(&cluster)) {
        Ok(c) => c,
        Err(e) => return fail(&format!("BEAT_CLUSTER {cluster}: {e}")),
    };
    let secret = match key_source(k) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let identity = match keystore::load_node_keys(std::path::Path::new(&key_file), &secret, &cluster) {
        Ok((_, identity)) => identity,
        Err(e) => return fail(&format!("BEAT_KEY_FILE {key_file}: {e}")),
    };
    let key = keystore::OnionKey::derive(&identity);
    if let Err(e) = key.write_tor_service_dir(out) {
        return fail(&format!("{}: {e}", out.display()));
    }
    println!("{}", key.hostname());
    ExitCode::SUCCESS
}

/// The key file's secret from `BEAT_PASSPHRASE`, `BEAT_KEY_HEX` or `BEAT_KEY_HEX_FILE` (exactly one).
fn key_source(k: &KeyArgs) -> Result<KeySource, String> {
    match (opt(&k.passphrase), opt(&k.key_hex), opt(&k.key_hex_file)) {
        (Some(p), None, None) => Ok(KeySource::passphrase(p)),
        (None, Some(h), None) => KeySource::raw_from_hex(&h).map_err(|e| format!("BEAT_KEY_HEX: {e}")),
        (None, None, Some(f)) => {
            KeySource::raw_from_file(std::path::Path::new(&f)).map_err(|e| format!("BEAT_KEY_HEX_FILE {f}: {e}"))
        }
        (None, None, None) => {
            Err("BEAT_KEY_FILE needs its secret: BEAT_PASSPHRASE, BEAT_KEY_HEX or BEAT_KEY_HEX_FILE".into())
        }
        _ => Err("set only one of BEAT_PASSPHRASE, BEAT_KEY_HEX and BEAT_KEY_HEX_FILE".into()),
    }
}

fn run_node(s: &NodeArgs, k: &KeyArgs, settings: &str) -> ExitCode {
    let id_s = opt(&s.node_id);
    let Some(id_s) = id_s else { return fail("no node id (give it as the first argument or BEAT_NODE_ID)") };
    let Ok(id) = id_s.trim().parse::<usize>() else {
        return fail(&format!(
            "node id (BEAT_NODE_ID or first argument) {id_s:?} is not a number from 0 to {}",
            Params::MAX_N - 1
        ));
    };
    let port = match opt(&s.port) {
        Some(p) => match parse_port("port", &p) {
            Ok(p) => p,
            Err(e) => return fail(&e),
        },
        None => match u16::try_from(7000 + id) {
            Ok(p) => p,
            Err(_) => return fail(&format!("node id {id} is too large for the default port 7000 + id")),
        },
    };
    let metrics_port = match opt(&s.metrics_port) {
        Some(m) => match parse_port("metrics port", &m) {
            Ok(p) => p,
            Err(e) => return fail(&e),
        },
        None => match u16::try_from(9090 + id) {
            Ok(p) => p,
            Err(_) => return fail(&format!("node id {id} is too large for the default metrics port 9090 + id")),
        },
    };
    let cluster = match opt(&k.cluster) {
        Some(path) => match keystore::load_cluster(std::path::Path::new(&path)) {
            Ok(c) => Some(c),
            Err(e) => return fail(&format!("BEAT_CLUSTER {path}: {e}")),
        },
        None => None,
    };
    let peers: Vec<String> = match (opt(&s.peers), &cluster) {
        (Some(p), _) => p.split(',').map(|s| s.trim().to_string()).collect(),
        // The cluster file's clearnet addresses.
        (None, Some(c)) => match c.nodes.iter().map(|n| n.addresses.clearnet.clone()).collect::<Option<Vec<_>>>() {
            Some(p) => p,
            None => return fail("the cluster file lacks a clearnet address for some node; set BEAT_PEERS"),
        },
        (None, None) => (0..4).map(|i| format!("127.0.0.1:{}", 7000 + i)).collect(),
    };
    if let Some(bad) =
        peers.iter().find(|p| p.rsplit_once(':').is_none_or(|(h, port)| h.is_empty() || parse_port("", port).is_err()))
    {
        return fail(&format!("BEAT_PEERS entry {bad:?} is not host:port"));
    }
    if let Err(e) = Params::new(peers.len()) {
        return fail(&format!("BEAT_PEERS names {} nodes: {e}", peers.len()));
    }
    if id >= peers.len() {
        return fail(&format!("node id {id} is not in a committee of {} (ids 0..{})", peers.len(), peers.len() - 1));
    }
    let env_variant = match opt(&s.variant) {
        Some(v) => match Variant::from_name(&v) {
            Some(v) => Some(v),
            None => return fail(&format!("BEAT_VARIANT {v:?}: expected BEAT0 … BEAT4")),
        },
        None => None,
    };
    // With a cluster file the variant is the committee's (fixed at keygen); BEAT_VARIANT may
    // only repeat it.
    let variant = match (&cluster, env_variant) {
        (Some(c), Some(v)) if v != c.public.settings.variant => {
            return fail(&format!(
                "BEAT_VARIANT {v} differs from the cluster file's [consensus] variant {}; a committee's consensus \
                 settings are fixed at keygen",
                c.public.settings.variant
            ))
        }
        (Some(c), _) => c.public.settings.variant,
        (None, v) => v.unwrap_or(Variant::Beat0),
    };
    let cluster_addresses: Option<Vec<Addresses>> =
        cluster.as_ref().map(|c| c.nodes.iter().map(|n| n.addresses.clone()).collect());
    let dev = cluster.is_none();
    let (keys, identity, peer_identities) = match (cluster, opt(&k.key_file)) {
        (Some(cluster), Some(key_file)) => {
            let secret = match key_source(k) {
                Ok(s) => s,
                Err(e) => return fail(&e),
            };
            if cluster.nodes.len() != peers.len() {
                return fail(&format!(
                    "BEAT_PEERS names {} nodes but the cluster file {}",
                    peers.len(),
                    cluster.nodes.len()
                ));
            }
            match keystore::load_node_keys(std::path::Path::new(&key_file), &secret, &cluster) {
                Ok((k, identity)) if k.id == id => (k, identity, cluster.nodes.iter().map(|n| n.identity).collect()),
                Ok((k, _)) => return fail(&format!("key file {key_file} is node {}'s, not node {id}'s", k.id)),
                Err(e) => return fail(&format!("BEAT_KEY_FILE {key_file}: {e}")),
            }
        }
        (None, None) => {
            if let Some(remote) = peers.iter().find(|p| !is_loopback(p)) {
                return fail(&format!(
                    "insecure dev keys are only for loopback clusters, but BEAT_PEERS names {remote}; \
                     create keys with `beat keygen` and set BEAT_CLUSTER and BEAT_KEY_FILE"
                ));
            }
            say("beat: WARNING: INSECURE DEVELOPMENT KEYS (anyone can derive them); for a real cluster use `beat keygen`".into());
            match dev_keys(peers.len(), beat::Settings::for_service(variant)) {
                Ok(mut k) => {
                    let ids = dev_identities(peers.len());
                    (k.swap_remove(id), ids[id].clone(), ids.iter().map(|i| i.public()).collect())
                }
                Err(e) => return fail(&e),
            }
        }
        _ => return fail("set both BEAT_CLUSTER and BEAT_KEY_FILE, or neither (dev keys)"),
    };
    let data_dir = opt(&s.data_dir).map_or_else(|| PathBuf::from(format!("beat-data/node-{id}")), PathBuf::from);
    // Dev keys: every listener on loopback (this node's own host in BEAT_PEERS, e.g. 127.0.0.2).
    let own_host = peers[id].rsplit_once(':').map_or("127.0.0.1", |(h, _)| h).trim_matches(['[', ']']);
    let default_bind = match (dev, own_host.parse::<std::net::IpAddr>()) {
        (true, Ok(ip)) => ip,
        (true, Err(_)) => std::net::IpAddr::from([127, 0, 0, 1]), // "localhost"
        (false, _) => std::net::IpAddr::from([0, 0, 0, 0]),
    };
    let bind = match opt(&s.bind) {
        Some(b) => match b.trim().parse::<std::net::IpAddr>() {
            Ok(ip) => ip,
            Err(_) => return fail(&format!("BEAT_BIND {b:?} is not an IP address")),
        },
        None => default_bind,
    };
    if dev && !bind.is_loopback() {
        return fail(&format!(
            "BEAT_BIND {bind}: insecure dev keys listen on loopback only; create keys with `beat keygen` \
             and set BEAT_CLUSTER and BEAT_KEY_FILE to listen on other addresses"
        ));
    }
    let metrics_listen = match opt(&s.metrics_listen) {
        Some(v) if v.trim().eq_ignore_ascii_case("off") => None,
        Some(v) => match socket_addr("BEAT_METRICS_LISTEN", &v) {
            Ok(a) => Some(a),
            Err(e) => return fail(&format!("{e} (or `off`)")),
        },
        None => Some(SocketAddr::from(([127, 0, 0, 1], metrics_port))),
    };
    if let Some(m) = metrics_listen.filter(|m| dev && !m.ip().is_loopback()) {
        return fail(&format!("BEAT_METRICS_LISTEN {m}: insecure dev keys serve metrics on loopback only"));
    }
    let api_listen = match opt(&s.api_listen) {
        Some(v) if v.trim().eq_ignore_ascii_case("off") => None,
        Some(v) => match socket_addr("BEAT_API_LISTEN", &v) {
            Ok(a) => Some(a),
            Err(e) => return fail(&format!("{e} (or `off`)")),
        },
        None => match 8080u16.checked_add(id as u16) {
            Some(p) => Some(SocketAddr::from(([127, 0, 0, 1], p))),
            None => return fail("node id too large for the default BEAT_API_LISTEN port; set BEAT_API_LISTEN"),
        },
    };
    let api_tokens = match opt(&s.api_tokens) {
        Some(path) => match beat_core::api::Tokens::load(std::path::Path::new(&path)) {
            Ok(t) => Some(Arc::new(t)),
            Err(e) => return fail(&format!("BEAT_API_TOKENS {e}")),
        },
        None => None,
    };
    if let Some(a) = api_listen.filter(|a| !a.ip().is_loopback() && api_tokens.is_none()) {
        return fail(&format!(
            "BEAT_API_LISTEN {a}: a client API on other hosts needs authentication; set BEAT_API_TOKENS to a token \
             file (`beat client token NAME` makes a token and its line), or serve it on loopback"
        ));
    }
    let api_rate = match opt(&s.api_rate) {
        Some(v) => match v.trim().parse::<u32>() {
            Ok(r) if r > 0 => r,
            _ => return fail(&format!("BEAT_API_RATE {v:?} is not a number of requests per second from 1")),
        },
        None => 200,
    };
    let scrub_interval_ms = match opt(&s.scrub_seconds) {
        Some(v) => match v.trim().parse::<u64>() {
            Ok(s) => s.saturating_mul(1000),
            Err(_) => return fail(&format!("BEAT_SCRUB_SECONDS {v:?} is not a number of seconds (0: only at start)")),
        },
        None => 24 * 3600 * 1000,
    };
    let transports = match transports(
        s,
        id,
        SocketAddr::new(bind, port),
        peers,
        cluster_addresses.as_deref(),
        &data_dir,
        dev,
        &identity,
    ) {
        Ok(t) => t,
        Err(e) => return fail(&e),
    };
    if std::env::var("BEAT_PEER_QUEUE").is_ok_and(|v| !v.trim().is_empty()) {
        return fail("BEAT_PEER_QUEUE (frames) was replaced by BEAT_PEER_QUEUE_BYTES (bytes, e.g. 64MiB)");
    }
    let peer_queue_bytes = match opt(&s.peer_queue_bytes) {
        Some(q) => match parse_bytes("BEAT_PEER_QUEUE_BYTES", &q) {
            Ok(q) => q,
            Err(e) => return fail(&e),
        },
        None => PEER_QUEUE_BYTES,
    };
    let snapshot_every = match opt(&s.snapshot_every) {
        Some(v) => match v.trim().parse::<u64>() {
            Ok(v) if v > 0 => v,
            _ => return fail(&format!("BEAT_SNAPSHOT_EVERY {v:?} is not a number from 1 to {}", u64::MAX)),
        },
        None => 64,
    };
    let load_tps = match opt(&s.load_tps) {
        Some(t) => match t.trim().parse::<u64>() {
            Ok(t) => t,
            Err(_) => return fail(&format!("BEAT_LOAD_TPS {t:?} is not a number from 0 to {}", u64::MAX)),
        },
        None => 0,
    };
    let log_commits: Option<Arc<dyn CommitListener>> =
        (opt(&s.log_commits).as_deref() == Some("1")).then(|| Arc::new(CommitLog) as Arc<dyn CommitListener>);
    // The API's index of commits and its stream follow the node's commits too.
    let feed = beat_core::api::CommitFeed::new(0);
    let listeners: Vec<Arc<dyn CommitListener>> =
        log_commits.into_iter().chain(api_listen.map(|_| feed.clone() as Arc<dyn CommitListener>)).collect();
    let listener: Option<Arc<dyn CommitListener>> = match listeners.len() {
        0 => None,
        1 => listeners.into_iter().next(),
        _ => Some(Arc::new(beat_core::api::Fanout(listeners))),
    };
    let config = NodeConfig {
        snapshot_every,
        metrics_listen,
        peer_queue_bytes,
        audit_log: opt(&s.audit_log).map(PathBuf::from),
        upkeep: UpkeepConfig { scrub_interval_ms, ..UpkeepConfig::default() },
        ..NodeConfig::new(keys, identity, peer_identities, transports, data_dir)
    };
    // Before the node starts: a port in use is a clear error, not a half-started node.
    let api_socket = match api_listen.map(std::net::TcpListener::bind).transpose() {
        Ok(l) => l,
        Err(e) => {
            return fail(&format!("BEAT_API_LISTEN {}: {e}", api_listen.map_or(String::new(), |a| a.to_string())))
        }
    };
    // Room for a blob (its transaction is the blob and a nonce) or a JSON batch of transactions.
    let max_body = (config.keys.public.settings.max_tx_size + (64 << 10)).max(16 << 20);
    let stop = Arc::new(AtomicBool::new(false));
    install_ctrlc(stop.clone());
    let mut load_clients = if load_tps > 0 { load_clients(variant, &config.keys.public) } else { Vec::new() };
    // BEAT3/4: the key-value app in storage mode (blobs; every stored value kept).
    let app = if variant.dispersed() { KvApp::storage() } else { KvApp::default() };
    let node = match BeatNode::start(config, app, listener) {
        Ok(n) => Arc::new(n),
        Err(e) => return fail(&e.to_string()),
    };
    let api = match api_socket {
        Some(socket) => {
            // The index covers what the node's log holds (epochs before its last snapshot are
            // not delivered to listeners again at start).
            if let Ok(Some((lo, hi))) = node.committed_range() {
                for e in lo..=hi {
                    if let Ok(Some(b)) = node.committed(e) {
                        beat_core::driver::CommitListener::on_batch(&*feed, &b);
                    }
                }
            }
            feed.advance_to(node.status().epoch);
            let mut api_config = beat_core::api::ApiConfig::new(max_body);
            api_config.tokens = api_tokens.clone();
            api_config.requests_per_second = api_rate;
            let kv: beat_core::api::KvLookup<KvApp> = |a, k| a.map.get(k).cloned();
            let router = beat_core::api::router(node.clone(), api_config, feed.clone(), Some(kv));
            match beat_core::api::ApiServer::spawn(socket, router) {
                Ok(a) => Some(a),
                Err(e) => return fail(&format!("client API: {e}")),
            }
        }
        None => None,
    };
    let metrics_where = metrics_listen.map_or_else(|| "metrics off".to_string(), |m| format!("metrics on {m}/metrics"));
    let api_where =
        api.as_ref().map_or_else(|| "client API off".to_string(), |a| format!("client API on http://{}", a.addr));
    say(format!("beat: {}; settings: {settings}", version()));
    say(format!("beat: node {id} ({variant}) listening on {bind}:{port}, {metrics_where}, {api_where}; Ctrl-C or SIGTERM to stop"));
    tracing::info!(node = id, %variant, listen = %format!("{bind}:{port}"), metrics = %metrics_where, api = %api_where, "node started");
    if let (Some(a), true) = (&api, dev && !variant.client_encrypted()) {
        let target = if a.addr.port() == 8080 { String::new() } else { format!(" --node http://{}", a.addr) };
        say(format!("beat: try `beat client submit{target} 'set hello world'` and `beat client watch{target}`"));
    }
    let mut last = Instant::now();
    let (run, mut k, started) = (rand::random::<u32>(), 0u64, Instant::now());
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(if load_tps > 0 { 10 } else { 100 }));
        // Synthetic load: catch up to `load_tps` per second since start.
        let due = (started.elapsed().as_secs_f64() * load_tps as f64) as u64;
        while k < due {
            k += 1;
            let tx = format!("set n{id}-{run:08x}-{k} {k}").into_bytes();
            // BEAT2: the synthetic load comes from clients of its own (fresh ids per run).
            let tx = encrypt_load(&mut load_clients, k, &tx);
            if node.submit(tx).is_err() {
                break;
            }
        }
        if last.elapsed() >= Duration::from_secs(5) {
            last = Instant::now();
            let s = node.status();
            if let Some(why) = &s.failed {
                return fail(&format!("node {id} stopped: {why}"));
            }
            say(format!(
                "beat: node {id} epoch={} committed_txs={} peers_connected={}",
                s.epoch, s.committed_txs, s.peers_connected
            ));
        }
    }
    let s = node.status();
    // The API's requests hold the node: stop them first, then the node (flushing the store).
    if let Some(api) = api {
        api.stop();
    }
    match Arc::try_unwrap(node) {
        Ok(node) => node.shutdown(),
        Err(node) => drop(node),
    }
    say(format!(
        "beat: node {id} stopped at epoch {} caught_up_epochs={} (store flushed)",
        s.epoch, s.caught_up_epochs
    ));
    ExitCode::SUCCESS
}

/// `beat client bench`: `k` clients, each submitting a transaction and waiting until the
/// commit stream shows it, for `seconds` per `k`; one line per `k`.
fn client_bench(c: &beat_core::api::client::Client, clients: &[usize], seconds: u64) -> Result<(), String> {
    use std::collections::HashMap;
    if clients.contains(&0) {
        return Err("--clients: every number of clients must be at least 1".into());
    }
    let status = c.request("GET", "/v1/status", &[], b"").map_err(|e| e.to_string())?;
    let next: u64 = serde_json::from_slice::<serde_json::Value>(&status.body)
        .ok()
        .and_then(|v| v["epoch"].as_u64())
        .ok_or(format!("status: {} {}", status.status, status.text()))?;
    // One stream for all: commit times by transaction id.
    let committed: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let watcher = {
        let (c, committed) = (c.clone(), committed.clone());
        std::thread::spawn(move || {
            let _ = c.events(&format!("/v1/commits?from={next}"), &[], |_, _, data| {
                let v: serde_json::Value = serde_json::from_str(data).unwrap_or_default();
                let now = Instant::now();
                if let Ok(mut m) = committed.lock() {
                    for t in v["transactions"].as_array().into_iter().flatten() {
                        if let Some(id) = t["id"].as_str() {
                            m.insert(id.to_string(), now);
                        }
                    }
                }
                true
            });
        })
    };
    let run = rand::random::<u32>();
    for &k in clients {
        let start = Instant::now();
        let results: Vec<(u64, Vec<Duration>)> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..k)
                .map(|w| {
                    let committed = committed.clone();
                    s.spawn(move || {
                        let (mut accepted, mut lat) = (0u64, Vec::new());
                        let mut n = 0u64;
                        while start.elapsed() < Duration::from_secs(seconds) {
                            n += 1;
                            let tx = format!("set bench-{run:08x}-{k}-{w}-{n} {n}");
                            let body = serde_json::json!({ "transactions": [tx] }).to_string();
                            let t0 = Instant::now();
                            let Ok(r) = c.request("POST", "/v1/transactions", &[], body.as_bytes()) else { continue };
                            if r.status != 202 {
                                std::thread::sleep(Duration::from_millis(20));
                                continue;
                            }
                            accepted += 1;
                            let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
                            let id = v["results"][0]["id"].as_str().unwrap_or_default().to_string();
                            let deadline = t0 + Duration::from_secs(30);
                            while Instant::now() < deadline {
                                if let Some(t) = committed.lock().ok().and_then(|m| m.get(&id).copied()) {
                                    lat.push(t.saturating_duration_since(t0));
                                    break;
                                }
                                std::thread::sleep(Duration::from_micros(500));
                            }
                        }
                        (accepted, lat)
                    })
                })
                .collect();
            workers.into_iter().filter_map(|w| w.join().ok()).collect()
        });
        let secs = start.elapsed().as_secs_f64();
        let accepted: u64 = results.iter().map(|(a, _)| a).sum();
        let mut lat: Vec<Duration> = results.into_iter().flat_map(|(_, l)| l).collect();
        println!(
            "api-bench clients={k} seconds={secs:.1} accepted_tx_s={:.0} committed_tx_s={:.0} p50_ms={:.1} p99_ms={:.1}",
            accepted as f64 / secs,
            lat.len() as f64 / secs,
            percentile(&mut lat, 0.5),
            percentile(&mut lat, 0.99)
        );
    }
    drop(watcher); // the stream thread ends with the process
    Ok(())
}

/// `beat client …`: the daemon's API from the command line.
fn client(a: &ClientArgs) -> ExitCode {
    use beat_core::api::client::Client;
    if let ClientCommand::Token { name } = &a.command {
        let t = hex::encode(rand::random::<[u8; 32]>());
        let line = format!("{name}:{}", hex::encode(beat_core::api::Tokens::hash(&t)));
        if let Err(e) = beat_core::api::Tokens::parse(&line) {
            return fail(&e);
        }
        println!("token (give it to the client; it is not stored anywhere): {t}");
        println!("line for the BEAT_API_TOKENS file: {line}");
        return ExitCode::SUCCESS;
    }
    let url = &opt(&a.url).unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let health = match a.command {
        ClientCommand::Health { ready } => Some(ready),
        _ => None,
    };
    let mut c = match Client::new(url, opt(&a.token)) {
        Ok(c) => c,
        Err(e) if health.is_some() => {
            eprintln!("beat: unhealthy: {e}");
            return ExitCode::from(1);
        }
        Err(e) => return fail(&e),
    };
    if let Some(ready) = health {
        c.timeout = Duration::from_secs(4);
        // For container health checks and probes: exit 0 when healthy, 1 when not (Docker
        // reserves 2), with the node's reason on stderr.
        let path = if ready { "/readyz" } else { "/healthz" };
        return match c.request("GET", path, &[], b"") {
            Ok(r) if r.status == 200 => {
                print!("{}", r.text());
                ExitCode::SUCCESS
            }
            Ok(r) => {
                eprintln!("beat: unhealthy: {} {}", r.status, r.text().trim());
                ExitCode::from(1)
            }
            Err(e) => {
                eprintln!("beat: unhealthy: {url}: {e}");
                ExitCode::from(1)
            }
        };
    }
    let show = |r: std::io::Result<beat_core::api::client::Reply>, ok: &[u16]| -> Result<Vec<u8>, String> {
        let r = r.map_err(|e| format!("{url}: {e} (is a node's API listening there? BEAT_API_LISTEN)"))?;
        if ok.contains(&r.status) {
            Ok(r.body)
        } else {
            Err(format!("{} {}", r.status, r.text().trim()))
        }
    };
    let result: Result<(), String> = (|| match &a.command {
        ClientCommand::Submit { base64, txs } => {
            let base64 = *base64;
            let body = serde_json::json!({ "transactions": txs, "encoding": if base64 { "base64" } else { "utf8" } });
            let out = show(
                c.request(
                    "POST",
                    "/v1/transactions",
                    &[("Content-Type", "application/json".into())],
                    body.to_string().as_bytes(),
                ),
                &[202],
            )?;
            let v: serde_json::Value = serde_json::from_slice(&out).map_err(|e| e.to_string())?;
            for r in v["results"].as_array().into_iter().flatten() {
                match (r["accepted"].as_bool(), r["id"].as_str(), r["error"].as_str()) {
                    (Some(true), Some(id), _) => println!("accepted {id}"),
                    (_, id, e) => println!("refused {} {}", id.unwrap_or("-"), e.unwrap_or("")),
                }
            }
            Ok(())
        }
        ClientCommand::Get { id } => {
            let id = beat_core::api::client::path_segment(id);
            let out = show(c.request("GET", &format!("/v1/transactions/{id}"), &[], b""), &[200])?;
            println!("{}", String::from_utf8_lossy(&out));
            Ok(())
        }
        ClientCommand::Status => {
            let out = show(c.request("GET", "/v1/status", &[], b""), &[200])?;
            let v: serde_json::Value = serde_json::from_slice(&out).map_err(|e| e.to_string())?;
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            Ok(())
        }
        ClientCommand::Kv { key } => {
            let key = beat_core::api::client::path_segment(key);
            let out = show(c.request("GET", &format!("/v1/kv/{key}"), &[], b""), &[200])?;
            let v: serde_json::Value = serde_json::from_slice(&out).map_err(|e| e.to_string())?;
            println!("{}", v["value"].as_str().unwrap_or(""));
            Ok(())
        }
        ClientCommand::Watch { from } => {
            let from = from.map_or_else(String::new, |e| format!("?from={e}"));
            let r = c.events(&format!("/v1/commits{from}"), &[], |id, event, data| {
                if event == "gap" {
                    println!("gap {data}");
                    return true;
                }
                let v: serde_json::Value = serde_json::from_str(data).unwrap_or_default();
                let txs = v["transactions"].as_array().cloned().unwrap_or_default();
                println!("epoch={} txs={}", id.unwrap_or("?"), txs.len());
                for t in txs {
                    println!("  {} {}", t["id"].as_str().unwrap_or(""), t["text"].as_str().unwrap_or("(binary)"));
                }
                true
            });
            match r {
                Ok(None) => Ok(()),
                Ok(Some(reply)) => Err(format!("{} {}", reply.status, reply.text().trim())),
                Err(e) => Err(format!("{url}: {e}")),
            }
        }
        ClientCommand::Bench { clients, seconds } => client_bench(&c, clients, *seconds),
        ClientCommand::PutBlob { file } => {
            let data = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
            let out = show(c.request("PUT", "/v1/blobs", &[], &data), &[201])?;
            let v: serde_json::Value = serde_json::from_slice(&out).map_err(|e| e.to_string())?;
            println!("{}", v["id"].as_str().unwrap_or(""));
            Ok(())
        }
        ClientCommand::GetBlob { id, range, out } => {
            let headers: Vec<(&str, String)> = range.iter().map(|r| ("Range", format!("bytes={r}"))).collect();
            let id = beat_core::api::client::path_segment(id);
            let body = show(c.request("GET", &format!("/v1/blobs/{id}"), &headers, b""), &[200, 206])?;
            match out {
                Some(f) => std::fs::write(f, &body).map_err(|e| format!("{}: {e}", f.display())),
                None => std::io::Write::write_all(&mut std::io::stdout(), &body).map_err(|e| e.to_string()),
            }
        }
        // Answered above.
        ClientCommand::Token { .. } | ClientCommand::Health { .. } => Ok(()),
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// Log output on stderr: `RUST_LOG` filters (default `warn`; `beat=info` shows links coming
/// up and down, rejoins, catch-ups and repairs, `beat=debug` every committed epoch and refused
/// handshake), `BEAT_LOG_FORMAT` is `text` (default) or `json` (one object per line). No event
/// carries key material or a transaction's contents.
fn init_logs(l: &LogArgs) -> Result<(), String> {
    use tracing_subscriber::EnvFilter;
    let filter = match opt(&l.rust_log) {
        Some(v) => EnvFilter::try_new(&v).map_err(|e| format!("RUST_LOG {v:?}: {e}"))?,
        None => EnvFilter::new("warn"),
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let done = match opt(&l.log_format).as_deref() {
        None | Some("text") => builder.with_ansi(false).try_init(),
        Some("json") => {
            JSON_LOGS.store(true, Ordering::Relaxed);
            // A panic's report as one more JSON line.
            std::panic::set_hook(Box::new(|info| tracing::error!(target: "daemon", "panic: {info}")));
            let filter = EnvFilter::try_new(opt(&l.rust_log).as_deref().unwrap_or("warn"))
                .map_err(|e| format!("RUST_LOG: {e}"))?
                .add_directive("daemon=info".parse().map_err(|e| format!("log filter: {e}"))?);
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(std::io::stderr)
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .try_init()
        }
        Some(other) => return Err(format!("BEAT_LOG_FORMAT {other:?}: expected text or json")),
    };
    done.map_err(|e| format!("logging: {e}"))
}

/// Every setting's variable (the keys `--config FILE` accepts), and whether it is a secret:
/// read from the command line's declarations, so a new flag with `env` is a key at once.
fn settings() -> Vec<(String, bool)> {
    fn walk(cmd: &clap::Command, out: &mut Vec<(String, bool)>) {
        for arg in cmd.get_arguments() {
            if let Some(name) = arg.get_env().and_then(|e| e.to_str()) {
                if !out.iter().any(|(n, _)| n == name) {
                    out.push((name.to_string(), arg.is_hide_env_values_set()));
                }
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, out);
        }
    }
    let mut out = Vec::new();
    walk(&cli::Cli::command(), &mut out);
    out
}

/// `--config FILE`: a TOML file of the variables' names (`BEAT_PEERS = "…"`, `BEAT_PORT =
/// 7000`). It fills in only what the environment does not set, before the command line is
/// parsed, so the precedence is flag > environment > file > default. Returns the keys it supplied.
fn load_config(path: &Path) -> Result<Vec<String>, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("--config {shown}: {e}"))?;
    // Only the parser's message and line: its full report quotes the line, which may hold a secret.
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let line = e.span().map_or(0, |s| text[..s.start.min(text.len())].lines().count().max(1));
        format!("--config {shown}: line {line}: {}", e.message().trim())
    })?;
    let known = settings();
    let mut supplied = Vec::new();
    for (key, value) in table {
        if !known.iter().any(|(n, _)| *n == key) {
            return Err(format!(
                "--config {shown}: unknown setting {key:?} (the keys are the BEAT_* variables: beat --help)"
            ));
        }
        let value = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => if b { "1" } else { "0" }.to_string(),
            other => {
                return Err(format!(
                    "--config {shown}: {key} must be a string, an integer or a boolean, not {}",
                    other.type_str()
                ))
            }
        };
        // An empty variable counts as unset, as everywhere else.
        if std::env::var(&key).map_or(true, |v| v.trim().is_empty()) {
            // Before any thread exists (main's first step), so no reader races the write.
            std::env::set_var(&key, value);
            supplied.push(key);
        }
    }
    Ok(supplied)
}

/// The settings in effect and where each came from (secrets redacted), for the start line.
fn effective_settings(matches: &ArgMatches, from_file: &[String]) -> String {
    let mut out = Vec::new();
    for arg in cli::Cli::command().get_arguments() {
        let Some(name) = arg.get_env().and_then(|e| e.to_str()) else { continue };
        let id = arg.get_id().as_str();
        let Some(values) = matches.get_raw(id) else { continue };
        let value: Vec<_> = values.map(|v| v.to_string_lossy()).collect();
        let value = if arg.is_hide_env_values_set() { "<redacted>".to_string() } else { value.join(",") };
        let source = match matches.value_source(id) {
            Some(ValueSource::CommandLine) => "command line",
            Some(ValueSource::EnvVariable) if from_file.iter().any(|k| k == name) => "file",
            Some(ValueSource::EnvVariable) => "env",
            _ => continue,
        };
        if !value.trim().is_empty() {
            out.push(format!("{name}={value} ({source})"));
        }
    }
    out.join(", ")
}

fn version() -> String {
    let mut features = vec!["node"];
    if cfg!(feature = "api") {
        features.push("api");
    }
    if cfg!(feature = "redb") {
        features.push("redb");
    }
    if cfg!(feature = "sled") {
        features.push("sled");
    }
    if cfg!(feature = "tor") {
        features.push("tor");
    }
    format!("beat {} (git {}, features: {})", env!("CARGO_PKG_VERSION"), env!("BEAT_GIT_REV"), features.join(" "))
}

/// `--config FILE` (or `--config=FILE`) on the command line, found before clap parses it: the
/// file's keys must be in the environment when clap reads it.
fn config_path(args: &[std::ffi::OsString]) -> Option<PathBuf> {
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        if a == "--" {
            return None;
        }
        if a == "--config" {
            return it.next().map(PathBuf::from);
        }
        if let Some(p) = a.to_str().and_then(|a| a.strip_prefix("--config=")) {
            return Some(PathBuf::from(p));
        }
    }
    None
}

/// A command-line error from clap: help and version are answers (exit 0); anything else is
/// one line naming the problem and where to read more, exit 2, as every other error of the
/// daemon.
fn clap_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    // The command line did not parse, so the log settings come from the environment (a
    // BEAT_LOG_FORMAT=json pipeline gets its error as JSON too).
    let env = |k: &str| std::env::var(k).ok();
    let _ = init_logs(&LogArgs { rust_log: env("RUST_LOG"), log_format: env("BEAT_LOG_FORMAT") });
    let text = e.render().to_string();
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        print!("{text}");
        return ExitCode::SUCCESS;
    }
    // The command the error is about, from its usage line (`Usage: beat keygen --out <DIR> …`).
    let command: Vec<&str> = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Usage: "))
        .map(|u| u.split_whitespace().take_while(|w| !w.starts_with(['[', '<', '-'])).collect())
        .unwrap_or_default();
    let command = if command.is_empty() { "beat".to_string() } else { command.join(" ") };
    let problem = if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        format!("{command} needs a command")
    } else {
        // clap's message up to its first blank line, on one line; then its tip, if any.
        let head: Vec<&str> =
            text.lines().take_while(|l| !l.trim().is_empty()).map(|l| l.trim().trim_start_matches("error: ")).collect();
        let tip =
            text.lines().find_map(|l| l.trim().strip_prefix("tip: ")).map(|t| format!("; {t}")).unwrap_or_default();
        format!("{}{tip}", head.join(" "))
    };
    fail(&format!("{problem} (see {command} --help)"))
}

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let from_file = match config_path(&args).map(|p| load_config(&p)).transpose() {
        Ok(keys) => keys.unwrap_or_default(),
        Err(e) => return fail(&e),
    };
    let matches = match cli::Cli::command().try_get_matches_from(&args) {
        Ok(m) => m,
        Err(e) => return clap_error(e),
    };
    let cli = match cli::Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => return clap_error(e),
    };
    if cli.version || matches!(cli.command, Some(cli::Command::Version)) {
        println!("{}", version());
        return ExitCode::SUCCESS;
    }
    if let Err(e) = init_logs(&cli.logs) {
        return fail(&e);
    }
    // Key material on the command line is in every process's view (`ps`, /proc): refused.
    for (id, var) in [("passphrase", "BEAT_PASSPHRASE"), ("key_hex", "BEAT_KEY_HEX")] {
        if matches.value_source(id) == Some(ValueSource::CommandLine) {
            return fail(&format!(
                "--{} on the command line is visible to every process on this machine: set {var} in the \
                 environment or the --config file, or use --key-hex-file",
                id.replace('_', "-")
            ));
        }
    }
    // ID, PORT and METRICS_PORT belong to running a node, not to a command.
    if cli.command.is_some() {
        if let Some(id) = ["node_id", "port", "metrics_port"]
            .into_iter()
            .find(|id| matches.value_source(id) == Some(ValueSource::CommandLine))
        {
            let value = matches.get_raw(id).into_iter().flatten().next().map(|v| v.to_string_lossy().into_owned());
            return fail(&format!(
                "unexpected argument {:?} before the command (ID, PORT and METRICS_PORT run a node; see beat --help)",
                value.unwrap_or_default()
            ));
        }
    }
    match &cli.command {
        Some(cli::Command::Local(a)) => local(a),
        Some(cli::Command::Keygen(a)) => keygen(a, &cli.keys),
        Some(cli::Command::OnionKey { out }) => onion_key(out, &cli.keys),
        Some(cli::Command::Client(a)) => client(a),
        Some(cli::Command::Version) => ExitCode::SUCCESS,
        Some(cli::Command::Openapi) => {
            // The client API's OpenAPI document (what `/v1/openapi.json` serves; docs/openapi.json).
            print!("{}", beat_core::api::openapi_json());
            ExitCode::SUCCESS
        }
        None => run_node(&cli.node, &cli.keys, &effective_settings(&matches, &from_file)),
    }
}
