//! Node-level runs: `n` [`BeatNode`]s in one process on loopback TCP (Noise channels, a redb
//! store each, the WAL fsynced), under a fixed offered load for a few seconds. What a user of
//! the library sees, as opposed to the protocol alone (`beat_run`).

use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use beat_core::app::KvApp;
use beat_core::beat::{self, client::Client, Variant};
use beat_core::driver::{BeatNode, CommitListener, NodeConfig};
use beat_core::{Params, SessionId};
use rand::SeedableRng;

/// What one node-level run measured.
#[derive(Clone, Debug)]
pub struct NodeRun {
    /// Transactions (BEAT3/4: stored transactions) committed per second at node 0.
    pub tx_s: f64,
    /// Epochs committed per second at node 0.
    pub epochs_s: f64,
    /// Payload bytes committed: transactions' bytes before any encryption (BEAT3/4: the
    /// committed values' bytes, `k` fragments each, padding included).
    pub payload_bytes: u64,
    /// Bytes all nodes sent on the wire (Noise frames' payloads).
    pub wire_bytes: u64,
    /// Bytes of all nodes' stores on disk at the end.
    pub disk_bytes: u64,
}

struct Count {
    txs: AtomicU64,
    bytes: AtomicU64,
    epochs: AtomicU64,
}

impl CommitListener for Count {
    fn on_commit(&self, epoch: u64, transactions: &[Vec<u8>]) {
        self.txs.fetch_add(transactions.len() as u64, Ordering::Relaxed);
        self.bytes.fetch_add(transactions.iter().map(|t| t.len() as u64).sum(), Ordering::Relaxed);
        self.epochs.store(epoch + 1, Ordering::Relaxed);
    }
}

/// The sum of every sample of metric `name` in a text exposition.
pub(crate) fn metric_sum(text: &str, name: &str) -> u64 {
    text.lines().filter(|l| l.starts_with(name)).filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok()).sum::<f64>()
        as u64
}

fn dir_bytes(path: &Path) -> u64 {
    std::fs::read_dir(path).map_or(0, |rd| {
        rd.filter_map(Result::ok)
            .map(|e| match e.metadata() {
                Ok(m) if m.is_dir() => dir_bytes(&e.path()),
                Ok(m) => m.len(),
                Err(_) => 0,
            })
            .sum()
    })
}

/// Run `variant` with `n` nodes for `seconds`, offering about `tps` transactions of `tx_size`
/// bytes per second, spread over the nodes (BEAT2: encrypted by clients first).
pub fn run_node_variant(variant: Variant, n: usize, tx_size: usize, tps: u64, seconds: u64, seed: u64) -> NodeRun {
    let dir = std::env::temp_dir().join(format!("beat-bench-node-{}-{seed}-{}", std::process::id(), variant.name()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    let settings = beat::Settings::for_service(variant);
    let keys = beat::deal(Params::new(n).expect("n ≥ 4"), SessionId::from_name("beat-bench-node"), settings, &mut rng);
    let ls: Vec<TcpListener> = (0..n).map(|_| TcpListener::bind("127.0.0.1:0").expect("a free port")).collect();
    let ports: Vec<u16> = ls.iter().map(|l| l.local_addr().expect("bound").port()).collect();
    drop(ls);
    let ids: Vec<_> = (0..n).map(|i| beat_core::keystore::IdentityKey::from_bytes(&[i as u8 + 1; 32])).collect();
    let count = Arc::new(Count { txs: AtomicU64::new(0), bytes: AtomicU64::new(0), epochs: AtomicU64::new(0) });
    let nodes: Vec<BeatNode<KvApp>> = keys
        .iter()
        .map(|k| {
            let mut config = NodeConfig::loopback(k.clone(), &ids, &ports, dir.join(format!("node-{}", k.id)));
            config.submit_queue = 100_000;
            let app = if variant.dispersed() { KvApp::storage() } else { KvApp::default() };
            let listener = (k.id == 0).then(|| count.clone() as Arc<dyn CommitListener>);
            BeatNode::start(config, app, listener).expect("node starts")
        })
        .collect();
    let mut clients: Vec<Client> = if variant.client_encrypted() {
        (0..16).map(|c| Client::new(keys[0].public.clone(), c)).collect()
    } else {
        Vec::new()
    };
    // BEAT3/4 commit values, not transactions: count what the app was told was stored instead.
    let stored_txs = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut sent = 0u64;
    while start.elapsed() < Duration::from_secs(seconds) {
        let due = (start.elapsed().as_secs_f64() * tps as f64) as u64;
        while sent < due {
            sent += 1;
            let mut plain = format!("set k{sent} ").into_bytes();
            plain.resize(tx_size.max(plain.len()), b'x');
            let tx = match clients.len() {
                0 => plain.clone(),
                c => clients[(sent % c as u64) as usize].encrypt(&plain, &mut rand::rngs::OsRng),
            };
            let _ = nodes[(sent % n as u64) as usize].submit(tx);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let elapsed = start.elapsed().as_secs_f64();
    if variant.dispersed() {
        // Every submitted transaction that a value committed left every buffer.
        let left: usize = nodes.iter().map(|nd| nd.status().buffered + nd.status().submit_queue).sum();
        stored_txs.store(sent.saturating_sub(left as u64), Ordering::Relaxed);
    }
    // BEAT3/4: the bytes of the values committed (fragment size × k, padding included).
    let k = (n - 2 * Params::new(n).expect("n ≥ 4").f) as u64;
    let value_bytes = nodes[0].with_app(|a| a.values.values().sum::<u64>() * k).unwrap_or(0);
    let wire_bytes: u64 = nodes.iter().map(|nd| metric_sum(&nd.metrics_text(), "beat_net_sent_bytes_total")).sum();
    let epochs = nodes[0].status().epoch;
    for node in nodes {
        node.shutdown();
    }
    let disk_bytes = dir_bytes(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    let (txs, payload_bytes) = if variant.dispersed() {
        (stored_txs.load(Ordering::Relaxed), value_bytes)
    } else {
        let t = count.txs.load(Ordering::Relaxed);
        let plain_bytes =
            if variant.client_encrypted() { t * tx_size as u64 } else { count.bytes.load(Ordering::Relaxed) };
        (t, plain_bytes)
    };
    NodeRun { tx_s: txs as f64 / elapsed, epochs_s: epochs as f64 / elapsed, payload_bytes, wire_bytes, disk_bytes }
}
