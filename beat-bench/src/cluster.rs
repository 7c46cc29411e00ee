//! The cluster benchmark: what a user sees. `n` [`BeatNode`]s in this process (one tokio
//! runtime each), on loopback TCP with Noise channels and a redb store each (the WAL fsynced
//! before anything is sent), clients submitting at a fixed offered load; per case the
//! committed transactions per second, submit-to-commit latency, CPU per committed MB, bytes on
//! the wire per transaction and durable store commits per epoch.
//!
//! Latency is measured at the node a transaction was submitted to, from `submit` to the
//! commit listener (BEAT0–2) or to `put_async` returning (BEAT3/4: the value holding it
//! committed). The first second is warm-up and is not measured. CPU is the whole process's
//! (`/proc/self/stat`: the nodes and the load generator; BEAT2's client encryption is done
//! before the clock starts).

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use beat_core::app::{ConsensusApp, KvApp};
use beat_core::beat::{self, client::Client, Variant};
use beat_core::driver::{BeatNode, CommitListener, NodeConfig};
use beat_core::state::RedbStore;
use beat_core::{Params, SessionId};

use crate::node_run::metric_sum;
use rand::SeedableRng;

/// One case.
#[derive(Clone, Debug)]
pub struct ClusterCase {
    /// Variant.
    pub variant: Variant,
    /// Committee size.
    pub n: usize,
    /// Batch size `b` (the committee's `batch_size`).
    pub b: usize,
    /// Offered load, transactions per second over all nodes.
    pub tps: u64,
    /// Seconds of load (the first is warm-up).
    pub seconds: u64,
    /// Transaction size in bytes (at least 8).
    pub tx_size: usize,
    /// Seed of the keys.
    pub seed: u64,
}

/// What one case measured (over the measured window).
#[derive(Clone, Debug, Default)]
pub struct ClusterResult {
    /// Transactions committed per second (at node 0: every committed transaction).
    pub tx_s: f64,
    /// Median submit-to-commit latency, ms.
    pub p50_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Process CPU seconds per committed MB of payload (10⁶ bytes of transactions).
    pub cpu_s_per_mb: f64,
    /// Bytes all nodes sent (Noise payloads) per committed transaction.
    pub wire_bytes_per_tx: f64,
    /// Durable store commits (fsynced write transactions) per epoch, per node.
    pub fsyncs_per_epoch: f64,
    /// Epochs committed in the window.
    pub epochs: u64,
    /// Latency samples.
    pub samples: usize,
    /// Submits the nodes refused (a full queue).
    pub refused: u64,
}

impl ClusterResult {
    /// The `cluster …` line.
    pub fn line(&self, c: &ClusterCase) -> String {
        format!(
            "cluster variant={} n={} b={} tx_s={:.0} p50_ms={:.1} p99_ms={:.1} cpu_s_per_mb={:.2} \
             wire_bytes_per_tx={:.0} fsyncs_per_epoch={:.1}",
            c.variant.name(),
            c.n,
            c.b,
            self.tx_s,
            self.p50_ms,
            self.p99_ms,
            self.cpu_s_per_mb,
            self.wire_bytes_per_tx,
            self.fsyncs_per_epoch
        )
    }
}

/// Process CPU time (user + system), from `/proc/self/stat` (Linux; 100 ticks a second).
pub fn process_cpu_s() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return f64::NAN };
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { return f64::NAN };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(f64::NAN);
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the ')'.
    (ticks(11) + ticks(12)) / 100.0
}

/// The benchmark's application: takes any transaction (the key-value app would refuse the
/// benchmark's binary ones) and counts what it applies; BEAT3/4 keep every stored value, as
/// the key-value app's storage mode does.
#[derive(Debug, Default)]
struct BenchApp {
    applied: u64,
    storage: KvApp,
}

impl ConsensusApp for BenchApp {
    fn apply(&mut self, _epoch: u64, transactions: &[Vec<u8>]) {
        self.applied += transactions.len() as u64;
    }

    fn snapshot(&self) -> Vec<u8> {
        let mut out = self.applied.to_le_bytes().to_vec();
        out.extend(self.storage.snapshot());
        out
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<(), String> {
        let (n, rest) = snapshot.split_first_chunk::<8>().ok_or("short snapshot")?;
        self.applied = u64::from_le_bytes(*n);
        self.storage.restore(rest)
    }

    fn stored(&mut self, epoch: u64, values: &[beat::StoredValue]) {
        self.storage.stored(epoch, values);
    }

    fn keep_value(&self, id: beat::ValueId) -> bool {
        self.storage.keep_value(id)
    }
}

/// Latency bookkeeping shared by the load generator and the listeners.
struct Clock {
    /// Submission time by transaction id (`node << 40 | seq`), for the measured window only.
    sent: Mutex<HashMap<u64, Instant>>,
    samples: Mutex<Vec<f64>>,
    /// Transactions committed (node 0 sees them all).
    committed: AtomicU64,
    epochs: AtomicU64,
}

struct Listener {
    node: u64,
    clock: Arc<Clock>,
}

impl CommitListener for Listener {
    fn on_commit(&self, epoch: u64, transactions: &[Vec<u8>]) {
        let now = Instant::now();
        if self.node == 0 {
            self.clock.committed.fetch_add(transactions.len() as u64, Ordering::Relaxed);
            self.clock.epochs.store(epoch + 1, Ordering::Relaxed);
        }
        let mut sent = self.clock.sent.lock().expect("lock");
        let mut lat = Vec::new();
        for tx in transactions {
            let Some(id) = tx.get(..8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes"))) else { continue };
            if id >> 40 == self.node {
                if let Some(t) = sent.remove(&id) {
                    lat.push((now - t).as_secs_f64() * 1000.0);
                }
            }
        }
        drop(sent);
        self.clock.samples.lock().expect("lock").extend(lat);
    }

    fn on_batch(&self, batch: &beat::Batch) {
        if batch.stored.is_empty() {
            self.on_commit(batch.epoch, &batch.transactions);
        } else if self.node == 0 {
            self.clock.epochs.store(batch.epoch + 1, Ordering::Relaxed);
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Run one case.
pub fn run_cluster(c: &ClusterCase) -> ClusterResult {
    let dir = std::env::temp_dir().join(format!("beat-cluster-{}-{}-{}", std::process::id(), c.variant.name(), c.b));
    let _ = std::fs::remove_dir_all(&dir);
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(c.seed);
    let settings = beat::Settings { batch_size: c.b, ..beat::Settings::for_service(c.variant) };
    let keys = beat::deal(Params::new(c.n).expect("n >= 4"), SessionId::from_name("beat-cluster"), settings, &mut rng);
    let ls: Vec<TcpListener> = (0..c.n).map(|_| TcpListener::bind("127.0.0.1:0").expect("a free port")).collect();
    let ports: Vec<u16> = ls.iter().map(|l| l.local_addr().expect("bound").port()).collect();
    drop(ls);
    let ids: Vec<_> = (0..c.n).map(|i| beat_core::keystore::IdentityKey::from_bytes(&[i as u8 + 1; 32])).collect();
    let clock = Arc::new(Clock {
        sent: Mutex::new(HashMap::new()),
        samples: Mutex::new(Vec::new()),
        committed: AtomicU64::new(0),
        epochs: AtomicU64::new(0),
    });
    let mut stores = Vec::new();
    let nodes: Vec<Arc<BeatNode<BenchApp>>> = keys
        .iter()
        .map(|k| {
            let node_dir = dir.join(format!("node-{}", k.id));
            let store = Arc::new(RedbStore::open(&node_dir).expect("store"));
            stores.push(store.clone());
            let mut config = NodeConfig::loopback(k.clone(), &ids, &ports, node_dir);
            config.store = Some(store);
            config.submit_queue = 200_000;
            let storage = if c.variant.dispersed() { KvApp::storage() } else { KvApp::default() };
            let app = BenchApp { applied: 0, storage };
            let listener = Arc::new(Listener { node: k.id as u64, clock: clock.clone() });
            Arc::new(BeatNode::start(config, app, Some(listener)).expect("node starts"))
        })
        .collect();

    // Every transaction made before the clock starts: `id (8 bytes LE) | padding`; BEAT2
    // encrypts it as one of 16 clients.
    let total = (c.tps * c.seconds) as usize;
    let mut clients: Vec<Client> = if c.variant.client_encrypted() {
        (0..16).map(|i| Client::new(keys[0].public.clone(), i)).collect()
    } else {
        Vec::new()
    };
    let txs: Vec<(u64, usize, Vec<u8>)> = (0..total)
        .map(|k| {
            let node = k % c.n;
            let id = (node as u64) << 40 | k as u64;
            let mut tx = id.to_le_bytes().to_vec();
            tx.resize(c.tx_size.max(8), b'x');
            let tx = match clients.len() {
                0 => tx,
                m => clients[k % m].encrypt(&tx, &mut rng),
            };
            (id, node, tx)
        })
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");

    let start = Instant::now();
    let warm = start + Duration::from_secs(1).min(Duration::from_secs(c.seconds) / 2);
    let mut window: Option<(Instant, f64, u64, u64, u64, u64)> = None;
    let (mut refused, mut next) = (0u64, 0usize);
    let stored_done = Arc::new(AtomicU64::new(0));
    let mut txs = txs.into_iter();
    while start.elapsed() < Duration::from_secs(c.seconds) {
        let now = Instant::now();
        if window.is_none() && now >= warm {
            let wire: u64 = nodes.iter().map(|nd| metric_sum(&nd.metrics_text(), "beat_net_sent_bytes_total")).sum();
            let fsyncs = stores.iter().map(|s| s.durable_commits()).sum();
            let committed = clock.committed.load(Ordering::Relaxed) + stored_done.load(Ordering::Relaxed);
            window = Some((now, process_cpu_s(), wire, fsyncs, committed, clock.epochs.load(Ordering::Relaxed)));
        }
        let due = ((now - start).as_secs_f64() * c.tps as f64) as usize;
        while next < due.min(total) {
            let Some((id, node, tx)) = txs.next() else { break };
            next += 1;
            let measured = window.is_some();
            if c.variant.dispersed() {
                let node = nodes[node].clone();
                let done = stored_done.clone();
                let clock = clock.clone();
                let t = Instant::now();
                rt.spawn(async move {
                    if node.put_async(tx).await.is_ok() {
                        done.fetch_add(1, Ordering::Relaxed);
                        if measured {
                            clock.samples.lock().expect("lock").push(t.elapsed().as_secs_f64() * 1000.0);
                        }
                    }
                });
            } else {
                if measured {
                    clock.sent.lock().expect("lock").insert(id, Instant::now());
                }
                if nodes[node].submit(tx).is_err() {
                    refused += 1;
                    clock.sent.lock().expect("lock").remove(&id);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let end = Instant::now();
    let (w0, cpu0, wire0, fs0, c0, e0) = window.expect("the window opened");
    let cpu = process_cpu_s() - cpu0;
    let wire = nodes.iter().map(|nd| metric_sum(&nd.metrics_text(), "beat_net_sent_bytes_total")).sum::<u64>() - wire0;
    let fsyncs = stores.iter().map(|s| s.durable_commits()).sum::<u64>() - fs0;
    let committed = clock.committed.load(Ordering::Relaxed) + stored_done.load(Ordering::Relaxed) - c0;
    let epochs = clock.epochs.load(Ordering::Relaxed) - e0;
    let secs = (end - w0).as_secs_f64();
    drop(rt);
    for node in nodes {
        if let Ok(node) = Arc::try_unwrap(node) {
            node.shutdown();
        }
    }
    drop(stores);
    let _ = std::fs::remove_dir_all(&dir);
    let mut samples = std::mem::take(&mut *clock.samples.lock().expect("lock"));
    samples.sort_by(f64::total_cmp);
    let mb = committed as f64 * c.tx_size as f64 / 1e6;
    ClusterResult {
        tx_s: committed as f64 / secs,
        p50_ms: percentile(&samples, 0.5),
        p99_ms: percentile(&samples, 0.99),
        cpu_s_per_mb: if mb > 0.0 { cpu / mb } else { f64::NAN },
        wire_bytes_per_tx: if committed > 0 { wire as f64 / committed as f64 } else { f64::NAN },
        fsyncs_per_epoch: if epochs > 0 { fsyncs as f64 / epochs as f64 / c.n as f64 } else { f64::NAN },
        epochs,
        samples: samples.len(),
        refused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A short low-load case measures what it claims: everything offered is committed, each
    /// committed transaction cost wire bytes beyond its own size and at least one fsync per
    /// epoch at every node, and latencies were sampled.
    #[test]
    fn a_short_case_measures_every_figure() {
        for variant in [Variant::Beat1, Variant::Beat3] {
            let case = ClusterCase { variant, n: 4, b: 100, tps: 200, seconds: 3, tx_size: 250, seed: 3 };
            let r = run_cluster(&case);
            let line = r.line(&case);
            assert!(line.starts_with(&format!("cluster variant={} n=4 b=100 tx_s=", variant.name())), "{line}");
            assert!(r.tx_s > 100.0 && r.samples > 100 && r.epochs > 5, "{line} {r:?}");
            assert!(r.p50_ms > 0.0 && r.p99_ms >= r.p50_ms, "{line}");
            assert!(r.wire_bytes_per_tx > 250.0 && r.fsyncs_per_epoch >= 1.0 && r.cpu_s_per_mb > 0.0, "{line}");
            assert_eq!(r.refused, 0);
        }
    }
}
