//! `beat`: the BEAT node daemon.
//!
//! ```text
//! beat local [--nodes N] [--seconds S] [--variant V]   a whole cluster on loopback with load
//! beat [--config FILE] [ID [PORT [METRICS_PORT]]]      one node (config from CLI, env and FILE)
//! beat --version                                       version, git revision, features
//! beat keygen --nodes N --out DIR [--host H] [--base-port P] [--tor-port P] [--passphrases FILE]
//!             [--variant V] [--batch-size B] [--max-tx-size S] [--max-proposal-bytes P] [--dedup-epochs E]
//! beat onion-key --out DIR                             this node's onion key, as a tor HiddenServiceDir
//! ```
//!
//! Node settings (CLI positionals win over the environment, which wins over `--config FILE`, a
//! TOML file of the same keys; the start line lists the settings in effect and where each came
//! from, secrets redacted):
//!
//! | env | meaning | default |
//! |---|---|---|
//! | `BEAT_NODE_ID` | this node's id | — (required) |
//! | `BEAT_PORT` | listen port | `7000 + id` |
//! | `BEAT_BIND` | address the consensus listener binds | `0.0.0.0`; with dev keys: this node's own (loopback) host in `BEAT_PEERS` |
//! | `BEAT_METRICS_PORT` | Prometheus `GET /metrics` port | `9090 + id` |
//! | `BEAT_METRICS_LISTEN` | `ip:port` to serve metrics on, or `off` (bind `0.0.0.0:…` for a scraper on another host) | `127.0.0.1:<metrics port>` |
//! | `BEAT_PEERS` | `host:port` of every node, comma-separated, by id | the cluster file's, else `127.0.0.1:7000..7003` |
//! | `BEAT_DATA_DIR` | the node's store | `./beat-data/node-<id>` |
//! | `BEAT_VARIANT` | dev keys: `BEAT0` … `BEAT4` (BEAT0–2: the key-value app, BEAT2 takes client-encrypted transactions only; BEAT3/4: the key-value app in storage mode, blobs through the client API); with a cluster file it may only repeat the file's `[consensus]` variant | `BEAT0` / the cluster file's |
//! | `BEAT_API_LISTEN` | `ip:port` of the client API (HTTP/JSON, see `beat_core::api`; other hosts than loopback need `BEAT_API_TOKENS`), or `off` | `127.0.0.1:<8080 + id>` |
//! | `BEAT_API_TOKENS` | file of API token hashes (`name:hex` lines from `beat client token NAME`); then every API request but `/healthz` and `/readyz` needs `Authorization: Bearer <token>` | none (loopback only) |
//! | `BEAT_API_RATE` | API requests per second per token (bursts of twice that) | 200 |
//! | `BEAT_SCRUB_SECONDS` | BEAT3/4: seconds between scrub passes (re-verify every stored fragment, repair what fails); `0`: only the pass at start | 86400 |
//! | `BEAT_CLUSTER` / `BEAT_KEY_FILE` | cluster file and sealed key file from `beat keygen` | insecure dev keys |
//! | `BEAT_PASSPHRASE` / `BEAT_KEY_HEX` / `BEAT_KEY_HEX_FILE` | the key file's passphrase, raw 32-byte key (hex), or a file holding it (`node-<id>.secret` from keygen) | — |
//! | `BEAT_SNAPSHOT_EVERY` | checkpoint + snapshot every this many epochs (WAL truncated behind) | 64 |
//! | `BEAT_PEER_QUEUE_BYTES` | bytes queued per peer and network while the peer is down (beyond: it catches up); `64MiB`, `512KiB`, … | 64MiB |
//! | `BEAT_LOAD_TPS` | submit this many synthetic `set` transactions per second (demo, tests) | 0 |
//! | `BEAT_AUDIT_LOG` | append every accepted peer frame's sender, protocol slot and digest to this file (equivocation evidence) | off |
//! | `BEAT_LOG_COMMITS` | `1`: print `commit epoch=<e> digest=<hex> txs=<k>` per committed epoch | off |
//! | `RUST_LOG` | log filter (`beat=info`: links, rejoins, catch-ups, repairs; `beat=debug`: every committed epoch, refused handshakes) | `warn` |
//! | `BEAT_LOG_FORMAT` | `text` or `json` (one JSON object per line, for log pipelines) | `text` |
//! | `BEAT_TRANSPORTS` | networks to use: `clearnet,tor,i2p` (any non-empty subset) | clearnet, plus Tor / I2P when configured |
//! | `BEAT_TOR_SOCKS` | a tor daemon's SocksPort (`ip:port`) | — |
//! | `BEAT_TOR_LISTEN` | where the node listens for its onion service (`HiddenServicePort` target) | `127.0.0.1:<port + 1000>` |
//! | `BEAT_TOR_PEERS` | every node's `….onion:port`, by id | the cluster file's `tor` addresses |
//! | `BEAT_I2P_SAM` | an I2P router's SAMv3 bridge (`ip:port`) | — |
//! | `BEAT_I2P_KEY` | file with the node's I2P private destination (created through SAM if missing) | `<data dir>/i2p-destination.key` |
//! | `BEAT_I2P_SOCKS` / `BEAT_I2P_LISTEN` | instead of SAM: a router's SOCKS proxy, and the target of its server tunnel | — |
//! | `BEAT_I2P_PEERS` | every node's I2P destination or `….b32.i2p`, by id | the cluster file's `i2p` addresses |
//!
//! Without key files the node uses **insecure deterministic dev keys** (anyone can derive
//! them), with a loud warning, only when every peer is on loopback, and then every listener —
//! consensus and metrics — binds loopback only.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use beat_core::app::KvApp;
use beat_core::beat::{self, Variant};
use beat_core::driver::{BeatNode, CommitListener, NodeConfig};
use beat_core::keystore::{self, Addresses, KdfParams, KeySource};
use beat_core::net::switch::PEER_QUEUE_BYTES;
use beat_core::net::TransportConfig;
use beat_core::node::UpkeepConfig;
use beat_core::{Params, SessionId};
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

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
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

fn local(args: &[String]) -> ExitCode {
    let (mut n, mut seconds, mut variant) = (4usize, 0u64, Variant::Beat0);
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let v = it.next();
        let r = match (flag.as_str(), v) {
            ("--nodes", Some(v)) => v.parse().map(|x| n = x).map_err(|_| format!("--nodes {v:?} is not a number")),
            ("--seconds", Some(v)) => {
                v.parse().map(|x| seconds = x).map_err(|_| format!("--seconds {v:?} is not a number"))
            }
            ("--variant", Some(v)) => Variant::from_name(v)
                .map(|x| variant = x)
                .ok_or_else(|| format!("--variant {v:?}: expected BEAT0 … BEAT4")),
            (f, None) => Err(format!("{f} needs a value")),
            (f, _) => Err(format!("unknown flag {f:?}")),
        };
        if let Err(e) = r {
            return fail(&e);
        }
    }
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

fn keygen(args: &[String]) -> ExitCode {
    let (mut n, mut out, mut host, mut base) = (4usize, None::<PathBuf>, "127.0.0.1".to_string(), 7000u16);
    let mut tor_port = None;
    let mut passphrases = None::<PathBuf>;
    // Explicit settings over the variant's service defaults (`Settings::for_service`).
    let mut variant = Variant::Beat0;
    let (mut batch, mut max_tx, mut max_proposal, mut dedup) = (None, None, None, None);
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let Some(v) = it.next() else { return fail(&format!("{flag} needs a value")) };
        let r: Result<(), String> = match flag.as_str() {
            "--nodes" => parse_count("--nodes", v, Params::MAX_N as u64).map(|x| n = x as usize),
            "--out" => {
                out = Some(PathBuf::from(v));
                Ok(())
            }
            "--host" => {
                host = v.clone();
                Ok(())
            }
            "--base-port" => parse_port("--base-port", v).map(|p| base = p),
            "--tor-port" => parse_port("--tor-port", v).map(|p| tor_port = Some(p)),
            "--passphrases" => {
                passphrases = Some(PathBuf::from(v));
                Ok(())
            }
            "--variant" => Variant::from_name(v)
                .map(|x| variant = x)
                .ok_or_else(|| format!("--variant {v:?}: expected BEAT0 … BEAT4")),
            "--batch-size" => {
                parse_count("--batch-size", v, beat::settings::MAX_BATCH_SIZE as u64).map(|x| batch = Some(x as usize))
            }
            "--max-tx-size" => parse_count("--max-tx-size", v, u32::MAX as u64).map(|x| max_tx = Some(x as usize)),
            "--max-proposal-bytes" => {
                parse_count("--max-proposal-bytes", v, u32::MAX as u64).map(|x| max_proposal = Some(x as usize))
            }
            "--dedup-epochs" => {
                parse_count("--dedup-epochs", v, beat::settings::MAX_DEDUP_EPOCHS).map(|x| dedup = Some(x))
            }
            f => Err(format!("unknown flag {f:?}")),
        };
        if let Err(e) = r {
            return fail(&e);
        }
    }
    let mut settings = beat::Settings::for_service(variant);
    settings.batch_size = batch.unwrap_or(settings.batch_size);
    settings.max_tx_size = max_tx.unwrap_or(settings.max_tx_size);
    settings.max_proposal_bytes = max_proposal.unwrap_or(settings.max_proposal_bytes);
    settings.dedup_epochs = dedup.unwrap_or(settings.dedup_epochs);
    let Some(out) = out else { return fail("keygen needs --out DIR") };
    if let Err(e) = Params::new(n) {
        return fail(&format!("--nodes {n}: {e}"));
    }
    if let Err(e) = settings.validate() {
        return fail(&e.to_string());
    }
    if env("BEAT_PASSPHRASE").is_some() || env("BEAT_KEY_HEX").is_some() {
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
    n: usize,
    cluster: Option<&[Addresses]>,
    pick: fn(&Addresses) -> Option<String>,
    check: fn(&str) -> bool,
    form: &str,
) -> Result<Vec<String>, String> {
    let list: Vec<String> = match (env(var), cluster) {
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
fn transports_from_env(
    id: usize,
    bind: std::net::IpAddr,
    port: u16,
    clearnet_peers: Vec<String>,
    cluster: Option<&[Addresses]>,
    data_dir: &std::path::Path,
    dev: bool,
) -> Result<Vec<TransportConfig>, String> {
    let n = clearnet_peers.len();
    let wanted: Vec<String> = match env("BEAT_TRANSPORTS") {
        Some(list) => list.split(',').map(|s| s.trim().to_ascii_lowercase()).collect(),
        None => {
            let mut w = vec!["clearnet".to_string()];
            if env("BEAT_TOR_SOCKS").is_some() {
                w.push("tor".into());
            }
            if env("BEAT_I2P_SAM").is_some() || env("BEAT_I2P_SOCKS").is_some() {
                w.push("i2p".into());
            }
            w
        }
    };
    if wanted.is_empty() {
        return Err("BEAT_TRANSPORTS is empty: name at least one of clearnet, tor, i2p".into());
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
            "clearnet" => out
                .push(TransportConfig::Clearnet { listen: SocketAddr::new(bind, port), peers: clearnet_peers.clone() }),
            "tor" => {
                let socks =
                    env("BEAT_TOR_SOCKS").ok_or("tor needs BEAT_TOR_SOCKS (the tor daemon's SocksPort, ip:port)")?;
                socket_addr("BEAT_TOR_SOCKS", &socks)?;
                let listen = match env("BEAT_TOR_LISTEN") {
                    Some(l) => socket_addr("BEAT_TOR_LISTEN", &l)?,
                    None => SocketAddr::from((
                        [127, 0, 0, 1],
                        port.checked_add(1000).ok_or("BEAT_PORT too large for the default BEAT_TOR_LISTEN")?,
                    )),
                };
                let peers = addresses_for(
                    "BEAT_TOR_PEERS",
                    n,
                    cluster,
                    |a| a.tor.clone(),
                    is_onion,
                    "<56 characters>.onion:port",
                )?;
                out.push(TransportConfig::TorSocks { socks, listen, peers });
            }
            "i2p" => {
                let peers = addresses_for(
                    "BEAT_I2P_PEERS",
                    n,
                    cluster,
                    |a| a.i2p.clone(),
                    is_i2p,
                    "an I2P destination or <name>.b32.i2p",
                )?;
                if let Some(socks) = env("BEAT_I2P_SOCKS") {
                    socket_addr("BEAT_I2P_SOCKS", &socks)?;
                    let listen = env("BEAT_I2P_LISTEN")
                        .ok_or("BEAT_I2P_SOCKS needs BEAT_I2P_LISTEN (the target of the router's server tunnel)")?;
                    let listen = socket_addr("BEAT_I2P_LISTEN", &listen)?;
                    out.push(TransportConfig::I2pSocks { socks, listen, peers });
                    continue;
                }
                let sam = env("BEAT_I2P_SAM")
                    .ok_or("i2p needs BEAT_I2P_SAM (the router's SAM bridge, ip:port) or BEAT_I2P_SOCKS")?;
                socket_addr("BEAT_I2P_SAM", &sam)?;
                let destination = i2p_destination(&sam, data_dir)?;
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

/// The node's I2P private destination: `BEAT_I2P_KEY` (default `<data dir>/i2p-destination.key`),
/// created through the SAM bridge on first start.
fn i2p_destination(sam: &str, data_dir: &std::path::Path) -> Result<String, String> {
    let path = env("BEAT_I2P_KEY").map_or_else(|| data_dir.join("i2p-destination.key"), PathBuf::from);
    if let Ok(text) = std::fs::read_to_string(&path) {
        let key = text.trim().to_string();
        beat_core::net::sam::public_destination(&key).map_err(|e| format!("BEAT_I2P_KEY {}: {e}", path.display()))?;
        return Ok(key);
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let (_, private) = rt
        .block_on(beat_core::net::sam::generate_destination(sam))
        .map_err(|e| format!("creating an I2P destination through BEAT_I2P_SAM {sam}: {e}"))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    keystore::storage::write_new_file(&path, private.as_bytes(), true)
        .map_err(|e| format!("BEAT_I2P_KEY {}: {e}", path.display()))?;
    Ok(private)
}

/// `beat onion-key --out DIR`: write this node's onion service key (derived from its identity)
/// as a tor daemon's `HiddenServiceDir`, and print the onion address.
fn onion_key(args: &[String]) -> ExitCode {
    let out = match args {
        [flag, dir] if flag == "--out" => PathBuf::from(dir),
        _ => return fail(
            "usage: beat onion-key --out DIR (with BEAT_CLUSTER, BEAT_KEY_FILE and BEAT_PASSPHRASE or BEAT_KEY_HEX)",
        ),
    };
    let (Some(cluster), Some(key_file)) = (env("BEAT_CLUSTER"), env("BEAT_KEY_FILE")) else {
        return fail("onion-key needs BEAT_CLUSTER and BEAT_KEY_FILE");
    };
    let cluster = match keystore::load_cluster(std::path::Path::new(&cluster)) {
        Ok(c) => c,
        Err(e) => return fail(&format!("BEAT_CLUSTER {cluster}: {e}")),
    };
    let secret = match key_source() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let identity = match keystore::load_node_keys(std::path::Path::new(&key_file), &secret, &cluster) {
        Ok((_, identity)) => identity,
        Err(e) => return fail(&format!("BEAT_KEY_FILE {key_file}: {e}")),
    };
    let key = keystore::OnionKey::derive(&identity);
    if let Err(e) = key.write_tor_service_dir(&out) {
        return fail(&format!("{}: {e}", out.display()));
    }
    println!("{}", key.hostname());
    ExitCode::SUCCESS
}

/// The key file's secret from `BEAT_PASSPHRASE`, `BEAT_KEY_HEX` or `BEAT_KEY_HEX_FILE` (exactly one).
fn key_source() -> Result<KeySource, String> {
    match (env("BEAT_PASSPHRASE"), env("BEAT_KEY_HEX"), env("BEAT_KEY_HEX_FILE")) {
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

fn run_node(args: &[String], from_file: &[String]) -> ExitCode {
    let id_s = args.first().cloned().or_else(|| env("BEAT_NODE_ID"));
    let Some(id_s) = id_s else { return fail("no node id (give it as the first argument or BEAT_NODE_ID)") };
    let Ok(id) = id_s.trim().parse::<usize>() else {
        return fail(&format!(
            "node id (BEAT_NODE_ID or first argument) {id_s:?} is not a number from 0 to {}",
            Params::MAX_N - 1
        ));
    };
    let port = match args.get(1).cloned().or_else(|| env("BEAT_PORT")) {
        Some(p) => match parse_port("port", &p) {
            Ok(p) => p,
            Err(e) => return fail(&e),
        },
        None => match u16::try_from(7000 + id) {
            Ok(p) => p,
            Err(_) => return fail(&format!("node id {id} is too large for the default port 7000 + id")),
        },
    };
    let metrics_port = match args.get(2).cloned().or_else(|| env("BEAT_METRICS_PORT")) {
        Some(m) => match parse_port("metrics port", &m) {
            Ok(p) => p,
            Err(e) => return fail(&e),
        },
        None => match u16::try_from(9090 + id) {
            Ok(p) => p,
            Err(_) => return fail(&format!("node id {id} is too large for the default metrics port 9090 + id")),
        },
    };
    if args.len() > 3 {
        return fail(&format!("unexpected argument {:?}", args[3]));
    }
    let cluster = match env("BEAT_CLUSTER") {
        Some(path) => match keystore::load_cluster(std::path::Path::new(&path)) {
            Ok(c) => Some(c),
            Err(e) => return fail(&format!("BEAT_CLUSTER {path}: {e}")),
        },
        None => None,
    };
    let peers: Vec<String> = match (env("BEAT_PEERS"), &cluster) {
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
    let env_variant = match env("BEAT_VARIANT") {
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
    let (keys, identity, peer_identities) = match (cluster, env("BEAT_KEY_FILE")) {
        (Some(cluster), Some(key_file)) => {
            let secret = match key_source() {
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
    let data_dir = env("BEAT_DATA_DIR").map_or_else(|| PathBuf::from(format!("beat-data/node-{id}")), PathBuf::from);
    // Dev keys: every listener on loopback (this node's own host in BEAT_PEERS, e.g. 127.0.0.2).
    let own_host = peers[id].rsplit_once(':').map_or("127.0.0.1", |(h, _)| h).trim_matches(['[', ']']);
    let default_bind = match (dev, own_host.parse::<std::net::IpAddr>()) {
        (true, Ok(ip)) => ip,
        (true, Err(_)) => std::net::IpAddr::from([127, 0, 0, 1]), // "localhost"
        (false, _) => std::net::IpAddr::from([0, 0, 0, 0]),
    };
    let bind = match env("BEAT_BIND") {
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
    let metrics_listen = match env("BEAT_METRICS_LISTEN") {
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
    let api_listen = match env("BEAT_API_LISTEN") {
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
    let api_tokens = match env("BEAT_API_TOKENS") {
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
    let api_rate = match env("BEAT_API_RATE") {
        Some(v) => match v.trim().parse::<u32>() {
            Ok(r) if r > 0 => r,
            _ => return fail(&format!("BEAT_API_RATE {v:?} is not a number of requests per second from 1")),
        },
        None => 200,
    };
    let scrub_interval_ms = match env("BEAT_SCRUB_SECONDS") {
        Some(v) => match v.trim().parse::<u64>() {
            Ok(s) => s.saturating_mul(1000),
            Err(_) => return fail(&format!("BEAT_SCRUB_SECONDS {v:?} is not a number of seconds (0: only at start)")),
        },
        None => 24 * 3600 * 1000,
    };
    let transports = match transports_from_env(id, bind, port, peers, cluster_addresses.as_deref(), &data_dir, dev) {
        Ok(t) => t,
        Err(e) => return fail(&e),
    };
    if env("BEAT_PEER_QUEUE").is_some() {
        return fail("BEAT_PEER_QUEUE (frames) was replaced by BEAT_PEER_QUEUE_BYTES (bytes, e.g. 64MiB)");
    }
    let peer_queue_bytes = match env("BEAT_PEER_QUEUE_BYTES") {
        Some(q) => match parse_bytes("BEAT_PEER_QUEUE_BYTES", &q) {
            Ok(q) => q,
            Err(e) => return fail(&e),
        },
        None => PEER_QUEUE_BYTES,
    };
    let snapshot_every = match env("BEAT_SNAPSHOT_EVERY") {
        Some(v) => match v.trim().parse::<u64>() {
            Ok(v) if v > 0 => v,
            _ => return fail(&format!("BEAT_SNAPSHOT_EVERY {v:?} is not a number from 1 to {}", u64::MAX)),
        },
        None => 64,
    };
    let load_tps = match env("BEAT_LOAD_TPS") {
        Some(t) => match t.trim().parse::<u64>() {
            Ok(t) => t,
            Err(_) => return fail(&format!("BEAT_LOAD_TPS {t:?} is not a number from 0 to {}", u64::MAX)),
        },
        None => 0,
    };
    let log_commits: Option<Arc<dyn CommitListener>> =
        (env("BEAT_LOG_COMMITS").as_deref() == Some("1")).then(|| Arc::new(CommitLog) as Arc<dyn CommitListener>);
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
        keys,
        identity,
        peer_identities,
        transports,
        beat: beat::Config::default(),
        data_dir,
        snapshot_every,
        submit_queue: 20_000,
        metrics_listen,
        peer_queue_bytes,
        store: None,
        registry: None,
        censors: None,
        limits: None,
        audit_log: env("BEAT_AUDIT_LOG").map(PathBuf::from),
        upkeep: UpkeepConfig { scrub_interval_ms, ..UpkeepConfig::default() },
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
    let positional = args.iter().take_while(|a| !a.starts_with('-')).count();
    say(format!("beat: {}; settings: {}", version(), effective_settings(from_file, positional)));
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

const CLIENT_USAGE: &str = "usage: beat client [--node URL] [--token TOKEN] <command>
  submit TX...               submit transactions (text; --base64 for base64), print their ids
  get ID                     a transaction's state: pending, committed (epoch, position) or unknown
  watch [--from EPOCH]       follow the committed log (Ctrl-C to stop)
  status                     the node's status (JSON)
  health [--ready]           exit 0 if the node runs (--ready: and has caught up with the
                             committee), else 1 with the reason: container health checks, probes
  kv KEY                     the key-value app's value of KEY
  put-blob FILE              store FILE (BEAT3/4), print its blob id
  get-blob ID [--range A-B] [--out FILE]
  bench [--clients 1,16,64] [--seconds S]   load through the API: accepted and committed tx/s,
                             submit-to-commit p50/p99 (each client submits one, waits for its commit)
  token NAME                 make an API token: prints the token and the line for BEAT_API_TOKENS' file
URL: --node, else BEAT_API_URL, else http://127.0.0.1:8080; TOKEN: --token, else BEAT_API_TOKEN.";

/// `beat client bench`: `k` clients, each submitting a transaction and waiting until the
/// commit stream shows it, for `seconds` per `k`; one line per `k`.
fn client_bench(c: &beat_core::api::client::Client, args: &[String]) -> Result<(), String> {
    use std::collections::HashMap;
    let (mut clients, mut seconds) = (vec![1usize, 16, 64], 10u64);
    let mut it = args.iter();
    while let Some(f) = it.next() {
        match (f.as_str(), it.next()) {
            ("--clients", Some(v)) => {
                clients = v
                    .split(',')
                    .map(|x| x.trim().parse())
                    .collect::<Result<_, _>>()
                    .map_err(|_| format!("--clients {v:?}"))?
            }
            ("--seconds", Some(v)) => seconds = v.parse().map_err(|_| format!("--seconds {v:?}"))?,
            (f, _) => return Err(format!("bench: unknown or incomplete flag {f:?}")),
        }
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
    for k in clients {
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
fn client(args: &[String]) -> ExitCode {
    use beat_core::api::client::Client;
    let mut url = env("BEAT_API_URL").unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let mut token = env("BEAT_API_TOKEN");
    let mut rest = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--node" => match it.next() {
                Some(v) => url = v.clone(),
                None => return fail("--node needs a URL"),
            },
            "--token" => match it.next() {
                Some(v) => token = Some(v.clone()),
                None => return fail("--token needs a value"),
            },
            "-h" | "--help" => {
                println!("{CLIENT_USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => rest.push(a.clone()),
        }
    }
    let Some((cmd, args)) = rest.split_first() else { return fail(CLIENT_USAGE) };
    if cmd == "token" {
        let Some(name) = args.first() else { return fail("token needs a NAME (letters, digits, - _ . @)") };
        let t = hex::encode(rand::random::<[u8; 32]>());
        let line = format!("{name}:{}", hex::encode(beat_core::api::Tokens::hash(&t)));
        if let Err(e) = beat_core::api::Tokens::parse(&line) {
            return fail(&e);
        }
        println!("token (give it to the client; it is not stored anywhere): {t}");
        println!("line for the BEAT_API_TOKENS file: {line}");
        return ExitCode::SUCCESS;
    }
    let mut c = match Client::new(&url, token) {
        Ok(c) => c,
        Err(e) if cmd == "health" => {
            eprintln!("beat: unhealthy: {e}");
            return ExitCode::from(1);
        }
        Err(e) => return fail(&e),
    };
    if cmd == "health" {
        c.timeout = Duration::from_secs(4);
        // For container health checks and probes: exit 0 when healthy, 1 when not (Docker
        // reserves 2), with the node's reason on stderr.
        let path = match args {
            [] => "/healthz",
            [r] if r == "--ready" => "/readyz",
            _ => return fail("health takes only --ready"),
        };
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
    let result: Result<(), String> = (|| match cmd.as_str() {
        "submit" => {
            let base64 = args.iter().any(|a| a == "--base64");
            let txs: Vec<&String> = args.iter().filter(|a| *a != "--base64").collect();
            if txs.is_empty() {
                return Err("submit needs at least one transaction".into());
            }
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
        "get" => {
            let id = args.first().ok_or("get needs a transaction id")?;
            let id = beat_core::api::client::path_segment(id);
            let out = show(c.request("GET", &format!("/v1/transactions/{id}"), &[], b""), &[200])?;
            println!("{}", String::from_utf8_lossy(&out));
            Ok(())
        }
        "status" => {
            let out = show(c.request("GET", "/v1/status", &[], b""), &[200])?;
            let v: serde_json::Value = serde_json::from_slice(&out).map_err(|e| e.to_string())?;
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            Ok(())
        }
        "kv" => {
            let key = args.first().ok_or("kv needs a KEY")?;
            let key = beat_core::api::client::path_segment(key);
            let out = show(c.request("GET", &format!("/v1/kv/{key}"), &[], b""), &[200])?;
            let v: serde_json::Value = serde_json::from_slice(&out).map_err(|e| e.to_string())?;
            println!("{}", v["value"].as_str().unwrap_or(""));
            Ok(())
        }
        "watch" => {
            let from = match (args.first().map(String::as_str), args.get(1)) {
                (Some("--from"), Some(e)) => {
                    format!("?from={}", e.parse::<u64>().map_err(|_| format!("--from {e:?} is not an epoch number"))?)
                }
                (None, _) => String::new(),
                _ => return Err("watch takes [--from EPOCH]".into()),
            };
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
        "bench" => client_bench(&c, args),
        "put-blob" => {
            let file = args.first().ok_or("put-blob needs a FILE")?;
            let data = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
            let out = show(c.request("PUT", "/v1/blobs", &[], &data), &[201])?;
            let v: serde_json::Value = serde_json::from_slice(&out).map_err(|e| e.to_string())?;
            println!("{}", v["id"].as_str().unwrap_or(""));
            Ok(())
        }
        "get-blob" => {
            let id = args.first().ok_or("get-blob needs a blob id")?;
            let (mut range, mut out_file) = (None, None);
            let mut a = args[1..].iter();
            while let Some(f) = a.next() {
                match (f.as_str(), a.next()) {
                    ("--range", Some(r)) => range = Some(format!("bytes={r}")),
                    ("--out", Some(o)) => out_file = Some(o.clone()),
                    (f, _) => return Err(format!("get-blob: unknown or incomplete flag {f:?}")),
                }
            }
            let headers: Vec<(&str, String)> = range.into_iter().map(|r| ("Range", r)).collect();
            let id = beat_core::api::client::path_segment(id);
            let body = show(c.request("GET", &format!("/v1/blobs/{id}"), &headers, b""), &[200, 206])?;
            match out_file {
                Some(f) => std::fs::write(&f, &body).map_err(|e| format!("{f}: {e}")),
                None => std::io::Write::write_all(&mut std::io::stdout(), &body).map_err(|e| e.to_string()),
            }
        }
        other => Err(format!("unknown client command {other:?}\n{CLIENT_USAGE}")),
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
fn init_logs() -> Result<(), String> {
    use tracing_subscriber::EnvFilter;
    let filter = match env("RUST_LOG") {
        Some(v) => EnvFilter::try_new(&v).map_err(|e| format!("RUST_LOG {v:?}: {e}"))?,
        None => EnvFilter::new("warn"),
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let done = match env("BEAT_LOG_FORMAT").as_deref() {
        None | Some("text") => builder.with_ansi(false).try_init(),
        Some("json") => {
            JSON_LOGS.store(true, Ordering::Relaxed);
            // A panic's report as one more JSON line.
            std::panic::set_hook(Box::new(|info| tracing::error!(target: "daemon", "panic: {info}")));
            let filter = EnvFilter::try_new(env("RUST_LOG").as_deref().unwrap_or("warn"))
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

/// Every setting the daemon reads from the environment, and from `--config FILE`.
const SETTINGS: &[&str] = &[
    "BEAT_NODE_ID",
    "BEAT_PORT",
    "BEAT_BIND",
    "BEAT_METRICS_PORT",
    "BEAT_METRICS_LISTEN",
    "BEAT_PEERS",
    "BEAT_DATA_DIR",
    "BEAT_VARIANT",
    "BEAT_API_LISTEN",
    "BEAT_API_TOKENS",
    "BEAT_API_RATE",
    "BEAT_API_URL",
    "BEAT_API_TOKEN",
    "BEAT_SCRUB_SECONDS",
    "BEAT_CLUSTER",
    "BEAT_KEY_FILE",
    "BEAT_PASSPHRASE",
    "BEAT_KEY_HEX",
    "BEAT_KEY_HEX_FILE",
    "BEAT_SNAPSHOT_EVERY",
    "BEAT_PEER_QUEUE_BYTES",
    "BEAT_LOAD_TPS",
    "BEAT_AUDIT_LOG",
    "BEAT_LOG_COMMITS",
    "BEAT_LOG_FORMAT",
    "BEAT_TRANSPORTS",
    "BEAT_TOR_SOCKS",
    "BEAT_TOR_LISTEN",
    "BEAT_TOR_PEERS",
    "BEAT_I2P_SAM",
    "BEAT_I2P_KEY",
    "BEAT_I2P_SOCKS",
    "BEAT_I2P_LISTEN",
    "BEAT_I2P_PEERS",
    "RUST_LOG",
];
/// Settings that are secrets: never printed.
const SECRET_SETTINGS: &[&str] = &["BEAT_PASSPHRASE", "BEAT_KEY_HEX", "BEAT_API_TOKEN"];

/// `--config FILE`: a TOML file of the environment's keys (`BEAT_PEERS = "…"`, `BEAT_PORT =
/// 7000`). What the environment sets wins over the file (and the command line's ID, PORT and
/// METRICS_PORT over both); the file fills in the rest. Returns the keys it supplied.
fn load_config(path: &str) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("--config {path}: {e}"))?;
    let table: toml::Table = text.parse().map_err(|e| format!("--config {path}: {e}"))?;
    let mut supplied = Vec::new();
    for (key, value) in table {
        if !SETTINGS.contains(&key.as_str()) {
            return Err(format!(
                "--config {path}: unknown setting {key:?} (the keys are the BEAT_* variables: beat --help)"
            ));
        }
        let value = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => if b { "1" } else { "0" }.to_string(),
            other => {
                return Err(format!(
                    "--config {path}: {key} must be a string, an integer or a boolean, not {}",
                    other.type_str()
                ))
            }
        };
        if env(&key).is_none() {
            // Before any thread exists (main's first step), so no reader races the write.
            std::env::set_var(&key, value);
            supplied.push(key);
        }
    }
    Ok(supplied)
}

/// The settings in effect and where each came from (secrets redacted), for the start line.
fn effective_settings(from_file: &[String], positional: usize) -> String {
    let by_flag = ["BEAT_NODE_ID", "BEAT_PORT", "BEAT_METRICS_PORT"];
    let mut out = Vec::new();
    for (i, flag) in by_flag.iter().enumerate() {
        if i < positional {
            out.push(format!("{flag} (command line)"));
        }
    }
    for key in SETTINGS {
        if by_flag[..positional.min(3)].contains(key) {
            continue;
        }
        let Some(v) = env(key) else { continue };
        let v = if SECRET_SETTINGS.contains(key) { "<redacted>".to_string() } else { v };
        let source = if from_file.iter().any(|k| k == key) { "file" } else { "env" };
        out.push(format!("{key}={v} ({source})"));
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

const LOCAL_USAGE: &str = "beat local [--nodes N] [--seconds S] [--variant V]";
const NODE_USAGE: &str = "beat [--config FILE] [ID [PORT [METRICS_PORT]]]";
const KEYGEN_USAGE: &str = "beat keygen --nodes N --out DIR [--host H] [--base-port P] [--tor-port P] [--passphrases FILE]\n                   [--variant V] [--batch-size B] [--max-tx-size S] [--max-proposal-bytes P] [--dedup-epochs E]";
const ONION_USAGE: &str = "beat onion-key --out DIR";

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    // `beat <command> --help`.
    if args.iter().skip(1).any(|a| a == "-h" || a == "--help") {
        let usage = match args.first().map(String::as_str) {
            Some("local") => Some(LOCAL_USAGE),
            Some("keygen") => Some(KEYGEN_USAGE),
            Some("onion-key") => Some(ONION_USAGE),
            _ => None,
        };
        if let Some(u) = usage {
            println!("usage: {u}");
            return ExitCode::SUCCESS;
        }
    }
    let mut from_file = Vec::new();
    if let Some(i) = args.iter().position(|a| a == "--config") {
        let Some(path) = args.get(i + 1).cloned() else { return fail("--config needs a FILE") };
        args.drain(i..i + 2);
        match load_config(&path) {
            Ok(keys) => from_file = keys,
            Err(e) => return fail(&e),
        }
    }
    if let Err(e) = init_logs() {
        return fail(&e);
    }
    match args.first().map(String::as_str) {
        Some("-V" | "--version" | "version") => {
            println!("{}", version());
            ExitCode::SUCCESS
        }
        Some("local") => local(&args[1..]),
        Some("keygen") => keygen(&args[1..]),
        Some("onion-key") => onion_key(&args[1..]),
        Some("client") => client(&args[1..]),
        Some("openapi") => {
            // The client API's OpenAPI document (what `/v1/openapi.json` serves; docs/openapi.json).
            print!("{}", beat_core::api::openapi_json());
            ExitCode::SUCCESS
        }
        Some("-h" | "--help" | "help") => {
            println!("usage: {LOCAL_USAGE}\n       beat client … (see beat client --help)\n       {NODE_USAGE}\n       beat --version\n       {KEYGEN_USAGE}\n       {ONION_USAGE}");
            println!("\nsettings (environment, or the same keys in --config FILE; docs/guide.md says what each does):");
            for chunk in SETTINGS.chunks(6) {
                println!("  {}", chunk.join(" "));
            }
            ExitCode::SUCCESS
        }
        _ => run_node(&args, &from_file),
    }
}
