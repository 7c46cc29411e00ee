//! Multi-process test: four `beat` daemons on 127.0.0.1–127.0.0.4, synthetic load, 20+
//! kill -9 / restart cycles at random points, one node stopped for 100+ epochs (catch-up), a
//! whole-cluster restart, a `/metrics` scrape, and at the end every node's store checked:
//! one agreed log without gaps, nothing a node reported committed lost, no transaction twice,
//! and no equivocation in what the nodes accepted from each other (their audit trails,
//! `BEAT_AUDIT_LOG`, kept across every restart). Prints the `BEAT-NODE …` summary line.
#![cfg(feature = "node")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failure here is a test failure

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use beat_core::beat::Batch;
use beat_core::state::{RedbStore, Store};
use rand::{Rng, SeedableRng};

mod common;

const N: usize = 4;

/// What the daemons printed: per node, epoch → digest of each `commit` line, and the
/// `caught_up_epochs=` of their last shutdown.
#[derive(Default)]
struct Seen {
    commits: Vec<BTreeMap<u64, String>>,
    caught_up: Vec<u64>,
}

struct Cluster {
    dir: PathBuf,
    ports: Vec<u16>,
    metrics: Vec<u16>,
    children: Vec<Option<Child>>,
    seen: Arc<Mutex<Seen>>,
}

impl Cluster {
    fn new(dir: &Path) -> Self {
        let ports = common::free_ports(2 * N);
        let seen = Seen { commits: vec![BTreeMap::new(); N], caught_up: vec![0; N] };
        Cluster {
            dir: dir.to_path_buf(),
            ports: ports[..N].to_vec(),
            metrics: ports[N..].to_vec(),
            children: (0..N).map(|_| None).collect(),
            seen: Arc::new(Mutex::new(seen)),
        }
    }

    fn peers(&self) -> String {
        (0..N).map(|i| format!("127.0.0.{}:{}", i + 1, self.ports[i])).collect::<Vec<_>>().join(",")
    }

    fn start(&mut self, id: usize) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_beat"))
            .args([id.to_string(), self.ports[id].to_string(), self.metrics[id].to_string()])
            .env("BEAT_PEERS", self.peers())
            .env("BEAT_DATA_DIR", self.dir.join(format!("node-{id}")))
            .env("BEAT_LOAD_TPS", "40")
            // Without the client API (its fixed default ports may be held by a developer's dev
            // cluster; tests/api.rs runs daemons with it). This test once failed now and then
            // (`equivocations>0`, about 1 run in 7): a node killed right after a checkpoint
            // re-made its proposal differently. Fixed by `Checkpoint::proposed`; the simulator's
            // `SubmitAfterCheckpoint` kill and `tests/sim.rs` regression seeds cover it.
            .env("BEAT_API_LISTEN", "off")
            .env("BEAT_LOG_COMMITS", "1")
            .env("BEAT_PEER_QUEUE_BYTES", "256KiB")
            .env("BEAT_SNAPSHOT_EVERY", "8")
            .env("BEAT_AUDIT_LOG", self.dir.join(format!("audit-{id}.log")))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn beat");
        let (out, err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
        let seen = self.seen.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let mut epoch = None;
                let mut digest = None;
                for kv in line.split_whitespace() {
                    match kv.split_once('=') {
                        Some(("epoch", v)) => epoch = v.parse::<u64>().ok(),
                        Some(("digest", v)) => digest = Some(v.to_string()),
                        _ => {}
                    }
                }
                if let (Some(e), Some(d)) = (epoch, digest) {
                    let mut s = seen.lock().unwrap();
                    if let Some(prev) = s.commits[id].insert(e, d.clone()) {
                        assert_eq!(prev, d, "node {id} reported two different batches for epoch {e}");
                    }
                }
            }
        });
        let seen = self.seen.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if !line.contains("committed_txs=") {
                    eprintln!("[node {id}] {line}");
                }
                if let Some(v) = line.split("caught_up_epochs=").nth(1) {
                    if let Some(k) = v.split_whitespace().next().and_then(|k| k.parse::<u64>().ok()) {
                        seen.lock().unwrap().caught_up[id] += k;
                    }
                }
            }
        });
        self.children[id] = Some(child);
    }

    fn kill9(&mut self, id: usize) {
        if let Some(mut c) = self.children[id].take() {
            c.kill().unwrap(); // SIGKILL
            c.wait().unwrap();
        }
    }

    fn term(&mut self, id: usize) {
        if let Some(mut c) = self.children[id].take() {
            common::terminate(&mut c, &format!("node {id}"), Duration::from_secs(20));
        }
    }

    fn max_epoch(&self, id: usize) -> Option<u64> {
        self.seen.lock().unwrap().commits[id].keys().next_back().copied()
    }

    fn wait(&self, what: &str, timeout: Duration, f: impl Fn(&Self) -> bool) {
        let end = Instant::now() + timeout;
        while !f(self) {
            if Instant::now() >= end {
                let maxes: Vec<Option<u64>> = (0..N).map(|i| self.max_epoch(i)).collect();
                // What each running node says about itself, so a stall can be read from the log.
                for id in (0..N).filter(|i| self.children[*i].is_some()) {
                    let text = self.try_scrape(id).unwrap_or_else(|e| format!("(no metrics: {e})"));
                    for l in text.lines().filter(|l| {
                        !l.starts_with('#')
                            && ["epoch", "rejoin", "fence", "peer", "drop", "catch", "link", "fault", "queue"]
                                .iter()
                                .any(|k| l.contains(k))
                    }) {
                        eprintln!("[node {id} metrics] {l}");
                    }
                }
                panic!("timed out waiting for {what}; epochs reported: {maxes:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn try_scrape(&self, id: usize) -> std::io::Result<String> {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.metrics[id]))?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
        let mut out = String::new();
        s.read_to_string(&mut out)?;
        Ok(out)
    }

    fn scrape(&self, id: usize) -> String {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.metrics[id])).unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }
}

fn metric(text: &str, prefix: &str) -> f64 {
    text.lines().filter(|l| l.starts_with(prefix)).filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok()).sum()
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // A failed run must not leave daemons behind (they would join the next run's committee:
        // the dev keys are everyone's).
        for c in self.children.iter_mut().flatten() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn crash_restart_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Cluster::new(dir.path());
    for id in 0..N {
        c.start(id);
    }
    c.wait("first commits", Duration::from_secs(60), |c| (0..N).all(|i| c.max_epoch(i).is_some_and(|e| e >= 3)));
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);

    // 1. kill -9 at random points (mid-epoch, mid-write: the load never stops), restart at once.
    let mut crash_restarts = 0;
    for r in 0..24 {
        let victim = r % N;
        std::thread::sleep(Duration::from_millis(rng.gen_range(50..400)));
        c.kill9(victim);
        crash_restarts += 1;
        c.start(victim);
        let others_max = (0..N).filter_map(|i| c.max_epoch(i)).max().unwrap_or(0);
        c.wait("progress after a restart", Duration::from_secs(60), |c| {
            (0..N).filter_map(|i| c.max_epoch(i)).max().unwrap_or(0) > others_max
        });
    }

    // 2. Stop node 3 for 100+ epochs; its peers keep only 256 frames for it, so it must catch up.
    c.term(3);
    let base = c.max_epoch(0).unwrap();
    c.wait("100 epochs without node 3", Duration::from_secs(120), |c| c.max_epoch(0).unwrap() >= base + 100);
    c.start(3);
    let target = c.max_epoch(0).unwrap();
    c.wait("node 3 to catch up", Duration::from_secs(120), |c| c.max_epoch(3).is_some_and(|e| e >= target));

    // 3. Restart the whole cluster.
    for id in 0..N {
        c.term(id);
    }
    let before = (0..N).filter_map(|i| c.max_epoch(i)).max().unwrap();
    for id in 0..N {
        c.start(id);
    }
    c.wait("progress after a cluster restart", Duration::from_secs(60), |c| {
        (0..N).all(|i| c.max_epoch(i).is_some_and(|e| e > before + 2))
    });

    // 4. Metrics move.
    // Counters are synced on the node's timer (every 200 ms): wait for the first sync.
    c.wait("metrics synced after the restart", Duration::from_secs(10), |c| {
        metric(&c.scrape(0), "beat_net_messages_sent_total") > 0.0
    });
    let texts: Vec<String> = (0..N).map(|i| c.scrape(i)).collect();
    assert!(texts[0].starts_with("HTTP/1.1 200 OK"));
    assert!(metric(&texts[0], "beat_consensus_epochs_committed_total") > 0.0);
    assert!(metric(&texts[0], "beat_net_messages_sent_total") > 0.0);

    // 5. Stop, then check every store.
    for id in 0..N {
        c.term(id);
    }
    let logs: Vec<BTreeMap<u64, Vec<u8>>> = (0..N)
        .map(|i| {
            let store = RedbStore::open(&dir.path().join(format!("node-{i}"))).unwrap();
            // Checkpoints truncated the WAL: its first record is not the node's first input.
            let first = store.wal_iter(0).unwrap().first().map(|r| r.0);
            assert!(first.is_none_or(|s| s > 0), "node {i}'s WAL was never truncated");
            let (lo, hi) = store.committed_range().unwrap().expect("committed epochs");
            assert_eq!(lo, 0, "node {i}'s log does not start at epoch 0");
            (lo..=hi)
                .map(|e| (e, store.get_committed(e).unwrap().unwrap_or_else(|| panic!("node {i} lacks epoch {e}"))))
                .collect()
        })
        .collect();
    // Agreement: the same bytes for every epoch two nodes both committed.
    for i in 1..N {
        for (e, b) in &logs[i] {
            if let Some(b0) = logs[0].get(e) {
                assert_eq!(b, b0, "nodes 0 and {i} disagree on epoch {e}");
            }
        }
    }
    // Lost commits: every epoch a node reported committed is in its store.
    let seen = c.seen.lock().unwrap();
    let lost: usize = (0..N).map(|i| seen.commits[i].keys().filter(|e| !logs[i].contains_key(e)).count()).sum();
    // Duplicates: no transaction in two places of the longest log.
    let longest = logs.iter().max_by_key(|l| l.len()).unwrap();
    let mut txs = HashSet::new();
    let mut duplicates = 0;
    for bytes in longest.values() {
        let batch: Batch = beat_core::codec::decode(bytes, 1 << 30).unwrap();
        for tx in batch.transactions {
            if !txs.insert(tx) {
                duplicates += 1;
            }
        }
    }
    let catchups = seen.caught_up.iter().filter(|k| **k > 0).count();
    // Equivocation, from what the nodes accepted from each other across all their restarts
    // (the audit trails are appended to, never rewritten): one message per (sender, slot).
    let mut slots: BTreeMap<(usize, String), [u8; 32]> = BTreeMap::new();
    let (mut audited, mut equivocations) = (0u64, 0u64);
    for i in 0..N {
        let text = std::fs::read_to_string(dir.path().join(format!("audit-{i}.log"))).unwrap();
        for line in text.lines() {
            // A kill -9 can cut the last line short.
            let Some(a) = beat_core::node::audit::Accepted::parse(line) else { continue };
            audited += 1;
            match slots.get(&(a.from, a.slot.clone())) {
                Some(d) if *d != a.digest => {
                    equivocations += 1;
                    eprintln!("equivocation: node {} sent two messages for slot {}", a.from, a.slot);
                }
                Some(_) => {}
                None => {
                    slots.insert((a.from, a.slot), a.digest);
                }
            }
        }
    }
    assert!(audited > 1000, "the audit trails hold only {audited} frames");
    println!(
        "BEAT-NODE crash_restarts={crash_restarts} catchups={catchups} lost_commits={lost} duplicate_commits={duplicates} equivocations={equivocations} epochs={} txs={} audited_frames={audited}",
        longest.len(),
        txs.len()
    );
    assert!(crash_restarts >= 20);
    assert!(catchups >= 1, "node 3 did not use catch-up");
    assert_eq!((lost, duplicates, equivocations), (0, 0, 0));
}
