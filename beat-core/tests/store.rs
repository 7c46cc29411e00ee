//! BEAT-STORE: the storage variants as a running service. Four `beat` daemons (BEAT3, then
//! BEAT4) on loopback, driven through their client API (`PUT`/`GET /v1/blobs`, `/v1/status`):
//!
//! 1. write 200 blobs of 1 KiB … 4 MiB (log-uniform sizes) through all four nodes;
//! 2. kill one node (`kill -9`) and read every blob back from the other three, whole and
//!    (blobs of 1 MiB and more) a 1 % byte range of each;
//! 3. wipe that node's store, restart it, and wait until repair has rebuilt a fragment of every
//!    value it lost (it catches the epochs up from its peers, then rebuilds each fragment);
//! 4. stop another node, corrupt ten of its stored fragments on disk, restart it, and wait
//!    until its scrub has found and repaired them;
//! 5. restart all four and read everything again.
//!
//! Prints `BEAT-STORE variant=… values=200 reads_ok=… reads_failed=0 repaired=… scrub_repaired=…
//! storage_overhead=… range_read_bytes_ratio=…` per variant and asserts no read failed, the
//! fragments held on the four nodes are at most `n/(n − 2f) × 1.1` times the bytes stored, and
//! (BEAT4) a range read of 1 % of a blob fetches at most 5 % of the blob's bytes.
#![cfg(feature = "api")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failure here is a test failure

use std::path::Path;
use std::time::{Duration, Instant};

use beat_core::api::client::{Client, Reply};
use beat_core::state::{FragmentKey, RedbStore, Store};
use rand::{Rng, SeedableRng};

mod common;

const N: usize = 4;
const VALUES: usize = 200;

/// One request to the API on `port`.
fn http(port: u16, method: &str, path: &str, headers: &[(&str, String)], body: &[u8]) -> std::io::Result<Reply> {
    Client::new(&format!("http://127.0.0.1:{port}"), None)
        .map_err(std::io::Error::other)?
        .request(method, path, headers, body)
}

struct Cluster {
    variant: &'static str,
    d: common::Daemons,
}

impl Cluster {
    fn new(variant: &'static str, dir: &Path) -> Self {
        let env = [
            ("BEAT_VARIANT", variant.to_string()),
            ("BEAT_SCRUB_SECONDS", "2".to_string()),
            ("BEAT_SNAPSHOT_EVERY", "8".to_string()),
        ];
        Cluster { variant, d: common::Daemons::new(dir, N, &env) }
    }

    fn status(&self, id: usize) -> serde_json::Value {
        let r = http(self.d.api[id], "GET", "/v1/status", &[], b"").expect("status");
        assert_eq!(r.status, 200);
        serde_json::from_slice(&r.body).expect("status JSON")
    }

    fn fragments(&self, id: usize, field: &str) -> u64 {
        self.status(id)["fragments"][field].as_u64().unwrap_or(0)
    }

    fn wait(&self, what: &str, timeout: Duration, f: impl Fn(&Self) -> bool) {
        let end = Instant::now() + timeout;
        while !f(self) {
            assert!(Instant::now() < end, "{}: timed out waiting for {what}\n{}", self.variant, self.d.log_tails());
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

struct Blob {
    id: String,
    data: Vec<u8>,
}

#[derive(Default)]
struct Tally {
    ok: u64,
    failed: u64,
    failures: Vec<String>,
    /// Range reads: (bytes fetched, blob bytes).
    ranges: Vec<(u64, u64)>,
}

impl Tally {
    fn fail(&mut self, what: String) {
        self.failed += 1;
        if self.failures.len() < 10 {
            self.failures.push(what);
        }
    }
}

/// Read every blob from the nodes in `from` (in turn): whole, and a 1 % range of the large ones.
fn read_all(c: &Cluster, blobs: &[Blob], from: &[usize], rng: &mut impl Rng, tally: &mut Tally) {
    for (i, b) in blobs.iter().enumerate() {
        let node = from[i % from.len()];
        match http(c.d.api[node], "GET", &format!("/v1/blobs/{}", b.id), &[], b"") {
            Ok(r) if r.status == 200 && r.body == b.data => tally.ok += 1,
            Ok(r) => tally.fail(format!(
                "node {node} blob {}: {} ({} bytes, want {})",
                b.id,
                r.status,
                r.body.len(),
                b.data.len()
            )),
            Err(e) => tally.fail(format!("node {node} blob {}: {e}", b.id)),
        }
        if b.data.len() >= 1 << 20 {
            let len = b.data.len() / 100;
            let start = rng.gen_range(0..b.data.len() - len);
            let range = format!("bytes={}-{}", start, start + len - 1);
            match http(c.d.api[node], "GET", &format!("/v1/blobs/{}", b.id), &[("Range", range)], b"") {
                Ok(r) if r.status == 206 && r.body == b.data[start..start + len] => {
                    tally.ok += 1;
                    let fetched = r.header("beat-bytes-fetched").and_then(|v| v.parse().ok()).unwrap_or(u64::MAX);
                    tally.ranges.push((fetched, b.data.len() as u64));
                }
                Ok(r) => tally.fail(format!("node {node} range of {}: {} ({} bytes)", b.id, r.status, r.body.len())),
                Err(e) => tally.fail(format!("node {node} range of {}: {e}", b.id)),
            }
        }
    }
}

fn run(variant: &'static str, seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Cluster::new(variant, dir.path());
    for id in 0..N {
        c.d.start(id);
    }
    // 1. Write: four writers, one per node, blobs of 1 KiB … 4 MiB.
    let t = Instant::now();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    let sizes: Vec<usize> = (0..VALUES).map(|_| (1024.0 * 2f64.powf(rng.gen_range(0.0..12.0))) as usize).collect();
    let api = c.d.api.clone();
    let blobs: Vec<Blob> = std::thread::scope(|s| {
        let writers: Vec<_> = (0..N)
            .map(|w| {
                let sizes: Vec<(usize, usize)> =
                    sizes.iter().copied().enumerate().filter(|(i, _)| i % N == w).collect();
                let port = api[w];
                s.spawn(move || {
                    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed * 10 + w as u64);
                    sizes
                        .into_iter()
                        .map(|(i, size)| {
                            let mut data = vec![0u8; size];
                            rng.fill(&mut data[..]);
                            let r = http(port, "PUT", "/v1/blobs", &[], &data).expect("put");
                            assert_eq!(r.status, 201, "put {i}: {}", String::from_utf8_lossy(&r.body));
                            let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
                            (i, Blob { id: v["id"].as_str().unwrap().to_string(), data })
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<(usize, Blob)> = writers.into_iter().flat_map(|w| w.join().unwrap()).collect();
        all.sort_by_key(|(i, _)| *i);
        all.into_iter().map(|(_, b)| b).collect()
    });
    let stored: u64 = blobs.iter().map(|b| b.data.len() as u64).sum();
    eprintln!(
        "{variant}: wrote {VALUES} blobs, {:.1} MiB, in {:.1} s",
        stored as f64 / (1 << 20) as f64,
        t.elapsed().as_secs_f64()
    );

    // 2. One node down: everything reads from the other three.
    let mut tally = Tally::default();
    c.d.kill9(3);
    read_all(&c, &blobs, &[0, 1, 2], &mut rng, &mut tally);
    eprintln!("{variant}: read with node 3 down: ok={} failed={}", tally.ok, tally.failed);

    // 3. Node 3's disk is replaced: it catches up and repairs every fragment it lost.
    std::fs::remove_dir_all(c.d.data(3)).unwrap();
    let t = Instant::now();
    c.d.start(3);
    c.wait("node 3 to repair every fragment", Duration::from_secs(600), |c| {
        let s = c.status(3)["fragments"].clone();
        let held0 = c.fragments(0, "held");
        s["missing"].as_u64() == Some(0) && s["held"].as_u64() == Some(held0) && held0 > 0
    });
    let repaired = c.fragments(3, "repaired");
    eprintln!("{variant}: node 3 repaired {repaired} fragments in {:.1} s", t.elapsed().as_secs_f64());
    assert!(repaired > 0, "{variant}: a wiped node holds fragments only by repair");

    // 4. Damaged fragments on node 2's disk: its scrub finds and repairs them.
    c.d.term(2);
    let mut values: Vec<(u64, u32)> = blobs
        .iter()
        .map(|b| {
            let p: Vec<u64> = b.id.split('-').map(|x| x.parse().unwrap()).collect();
            (p[0], p[1] as u32)
        })
        .collect();
    values.sort_unstable();
    values.dedup();
    {
        let store = RedbStore::open(&c.d.data(2)).unwrap();
        let mut damaged = 0;
        for (epoch, proposer) in values.iter().copied() {
            let key = FragmentKey { epoch, proposer, index: 2 };
            if let Some(mut bytes) = store.get_fragment(&key).unwrap() {
                let at = bytes.len() - 1 - rng.gen_range(0..bytes.len() / 2);
                bytes[at] ^= 0x40;
                store.put_fragment(&key, &bytes).unwrap();
                damaged += 1;
            }
            if damaged == 10 {
                break;
            }
        }
        assert_eq!(damaged, 10, "{variant}: node 2 holds fragments to damage");
    }
    c.d.start(2);
    c.wait("node 2's scrub to repair its damaged fragments", Duration::from_secs(300), |c| {
        c.fragments(2, "scrub_repaired") >= 10 && c.fragments(2, "missing") == 0
    });
    let scrub_repaired = c.fragments(2, "scrub_repaired");

    // 5. Everyone restarts; everything reads again, from every node.
    for id in 0..N {
        c.d.term(id);
    }
    for id in 0..N {
        c.d.start(id);
    }
    read_all(&c, &blobs, &[0, 1, 2, 3], &mut rng, &mut tally);
    // What the four hold, as their scrub passes after the restart count it.
    c.wait("a scrub pass on every node", Duration::from_secs(120), |c| {
        (0..N).all(|i| c.fragments(i, "scrub_passes") >= 2 && c.fragments(i, "missing") == 0)
    });
    let held: u64 = (0..N).map(|i| c.fragments(i, "held_bytes")).sum();
    let overhead = held as f64 / stored as f64;
    let ratio = tally.ranges.iter().map(|(f, l)| *f as f64 / *l as f64).fold(0.0, f64::max);
    println!(
        "BEAT-STORE variant={variant} values={VALUES} reads_ok={} reads_failed={} repaired={repaired} \
         scrub_repaired={scrub_repaired} storage_overhead={overhead:.2} range_read_bytes_ratio={ratio:.3}",
        tally.ok, tally.failed
    );
    assert_eq!(tally.failed, 0, "{variant}: reads failed: {:?}", tally.failures);
    let bound = N as f64 / (N - 2) as f64 * 1.1;
    assert!(overhead <= bound, "{variant}: storage overhead {overhead:.2} > {bound:.2}");
    assert!(overhead >= 1.0, "{variant}: the nodes hold less than was stored ({overhead:.2})");
    assert!(!tally.ranges.is_empty(), "{variant}: no range reads were made");
    if variant == "BEAT4" {
        assert!(ratio <= 0.05, "{variant}: a 1 % range read fetched {:.1} % of the blob", ratio * 100.0);
    }
}

#[test]
fn beat3_store_survives_loss_wipe_and_damage() {
    run("BEAT3", 3);
}

#[test]
fn beat4_store_survives_loss_wipe_and_damage_and_reads_ranges_cheaply() {
    run("BEAT4", 4);
}
