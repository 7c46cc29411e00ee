//! Multi-process hostile-member test: three honest `beat` daemons and, in this process, the
//! fourth member's keys used against them — frames at the size limit for far epochs, frames
//! beyond the window and for closed epochs, the same frames again under new message ids,
//! oversized frames, catch-up answers nobody asked for, made-up health-check answers, and a
//! link it never reads — while a stranger holds handshake slots on every listener. Meanwhile
//! one honest node is wiped and must catch up. Prints
//! `BEAT-HOSTILE commits_during_attack=… max_rss_mib=… wal_growth_mib=… catchup_ok=yes refused_frames=…`
//! and asserts memory and store growth stay within the configured budgets.
#![cfg(feature = "node")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failure here is a test failure

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use beat_core::beat::{Content, Message};
use beat_core::keystore::{self, KeySource};
use beat_core::net::handshake::{self, ChannelKeys};
use beat_core::node::router::{self, Stamp, Wire};
use beat_core::node::Limits;
use beat_core::proto::aba::{AbaContent, AbaMessage};
use beat_core::proto::acs::{AcsContent, AcsMessage};
use beat_core::proto::broadcast::BroadcastMessage;
use beat_core::proto::rbc::RbcMessage;
use beat_core::SessionId;

const N: usize = 4;
const HOSTILE: usize = 3;
/// The committee's proposal limit: frames of up to about this size are legitimate.
const MAX_PROPOSAL: usize = 256 << 10;
/// The honest daemons' link queue per peer.
const PEER_QUEUE: usize = 8 << 20;

fn free_base() -> u16 {
    // Four consecutive free ports for the cluster file (keygen numbers them from a base).
    for _ in 0..200 {
        let base = 20_000 + (rand::random::<u16>() % 30_000);
        let held: Vec<_> =
            (0..N as u16).filter_map(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).ok()).collect();
        if held.len() == N {
            return base;
        }
    }
    panic!("no four consecutive free ports");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Honest {
    child: Option<Child>,
}

impl Drop for Honest {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn start(dir: &Path, id: usize, port: u16, metrics: u16, epoch: Arc<AtomicU64>) -> Honest {
    let keys = dir.join("keys");
    let mut child = Command::new(env!("CARGO_BIN_EXE_beat"))
        .args([id.to_string(), port.to_string(), metrics.to_string()])
        .env("BEAT_CLUSTER", keys.join("cluster.toml"))
        .env("BEAT_KEY_FILE", keys.join(format!("node-{id}.key")))
        .env("BEAT_KEY_HEX_FILE", keys.join(format!("node-{id}.secret")))
        .env("BEAT_DATA_DIR", dir.join(format!("node-{id}")))
        .env("BEAT_LOAD_TPS", "30")
        .env("BEAT_LOG_COMMITS", "1")
        .env("BEAT_SNAPSHOT_EVERY", "8")
        .env("BEAT_PEER_QUEUE_BYTES", PEER_QUEUE.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn beat");
    let out = child.stdout.take().unwrap();
    let e = epoch.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Some(v) = line.strip_prefix("commit epoch=") {
                if let Some(n) = v.split_whitespace().next().and_then(|x| x.parse::<u64>().ok()) {
                    e.fetch_max(n + 1, Ordering::Relaxed);
                }
            }
        }
    });
    Honest { child: Some(child) }
}

fn scrape(port: u16) -> String {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else { return String::new() };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// The sum of every sample of a metric family.
fn metric_sum(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && !l.starts_with('#'))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn rss_peak_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

fn dir_bytes(p: &Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_bytes(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

fn consensus(session: SessionId, seq: u64, epoch: u64, content: Content) -> Vec<u8> {
    let stamp = Stamp { incarnation: 0xbad, seq, epoch, tag: [0; 16] };
    router::encode(session, Wire::Consensus { stamp, message: Message { epoch, content } })
}

fn bval() -> Content {
    Content::Acs(AcsMessage {
        proposer: HOSTILE,
        content: AcsContent::Aba(AbaMessage { round: 0, content: AbaContent::BVal(true) }),
    })
}

fn data_frame(id: u64, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8];
    f.extend_from_slice(&id.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// The hostile member's attack on honest node `to`, until `stop`.
async fn attack(
    to: usize,
    port: u16,
    keys: Arc<ChannelKeys>,
    session: SessionId,
    epoch: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
) {
    let mut id = 1u64 << 40;
    let mut seq = 0u64;
    let max_frame =
        Limits::for_settings(&beat_core::beat::Settings { max_proposal_bytes: MAX_PROPOSAL, ..Default::default() }, N)
            .max_frame_bytes;
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let Ok(Ok(mut ch)) = tokio::time::timeout(Duration::from_secs(5), handshake::initiate(&mut s, &keys, to)).await
        else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let mut round = 0u64;
        'conn: while !stop.load(Ordering::Relaxed) {
            round += 1;
            let e = epoch.load(Ordering::Relaxed);
            let big = vec![0x5a; max_frame - 4096];
            let huge = consensus(
                session,
                seq,
                e + 8,
                Content::Acs(AcsMessage {
                    proposer: HOSTILE,
                    content: AcsContent::Broadcast(BroadcastMessage::Rbc(RbcMessage::Val(big))),
                }),
            );
            let mut frames = vec![
                huge.clone(),
                huge, // the same frame again, under a new id
                consensus(session, seq + 1, e + 1000, bval()),
                consensus(session, seq + 2, 0, bval()),
                router::encode(session, Wire::Committed { epoch: e, batch: vec![1, 2, 3].into() }),
                router::encode(session, Wire::RejoinAnswer { incarnation: 7, stale: None, epoch: e + 50 }),
                b"not a frame at all".to_vec(),
            ];
            // Now and then a frame over the limit (the connection is closed; we come back).
            if round % 20 == 0 {
                frames.push(vec![0; max_frame + (1 << 20)]);
            }
            seq += 3;
            for f in frames {
                id += 1;
                if ch.send(&mut s, &data_frame(id, &f)).await.is_err() {
                    break 'conn;
                }
                sent.fetch_add(1, Ordering::Relaxed);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The hostile member's listener: honest nodes dial it (their links to node 3); it answers the
/// handshake, never reads what they send, and sends made-up health-check answers.
async fn hostile_listener(listener: tokio::net::TcpListener, keys: Arc<ChannelKeys>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(Ok((mut s, _))) = tokio::time::timeout(Duration::from_millis(500), listener.accept()).await else {
            continue;
        };
        let (keys, stop) = (keys.clone(), stop.clone());
        tokio::spawn(async move {
            let Ok(Ok((_, mut ch))) =
                tokio::time::timeout(Duration::from_secs(5), handshake::respond(&mut s, &keys)).await
            else {
                return;
            };
            let mut k = 0u64;
            while !stop.load(Ordering::Relaxed) {
                k += 1;
                let mut pong = vec![2u8];
                pong.extend_from_slice(&(k * 7919).to_be_bytes());
                if ch.send(&mut s, &pong).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
    }
}

/// A stranger's connection to `port` from 127.0.0.2: opened, left idle until the node closes
/// it (evicted for a newer handshake, or timed out), opened again.
async fn stranger(port: u16, stop: Arc<AtomicBool>, opened: Arc<AtomicU64>) {
    use tokio::io::AsyncReadExt;
    while !stop.load(Ordering::Relaxed) {
        let Ok(socket) = tokio::net::TcpSocket::new_v4() else { return };
        let _ = socket.bind(std::net::SocketAddr::from(([127, 0, 0, 2], 0)));
        let Ok(mut s) = socket.connect(std::net::SocketAddr::from(([127, 0, 0, 1], port))).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        opened.fetch_add(1, Ordering::Relaxed);
        let mut b = [0u8; 64];
        while !stop.load(Ordering::Relaxed) {
            match tokio::time::timeout(Duration::from_millis(500), s.read(&mut b)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                _ => {}
            }
        }
    }
}

#[test]
fn hostile_member_and_stranger() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let base = free_base();
    let status = Command::new(env!("CARGO_BIN_EXE_beat"))
        .args(["keygen", "--nodes", "4", "--out"])
        .arg(dir.join("keys"))
        .args(["--host", "127.0.0.1", "--base-port", &base.to_string(), "--batch-size", "64"])
        .args(["--max-proposal-bytes", &MAX_PROPOSAL.to_string()])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let cluster = keystore::load_cluster(&dir.join("keys/cluster.toml")).unwrap();
    let secret = KeySource::raw_from_file(&dir.join("keys/node-3.secret")).unwrap();
    let (keys3, identity3) = keystore::load_node_keys(&dir.join("keys/node-3.key"), &secret, &cluster).unwrap();
    let session = keys3.public.session;
    let peers: Vec<_> = cluster.nodes.iter().map(|n| n.identity).collect();
    let channel_keys = Arc::new(ChannelKeys::new(HOSTILE, &identity3, &peers, &session));
    let limits = Limits::for_settings(&cluster.public.settings, N);

    let ports: Vec<u16> = (0..N as u16).map(|i| base + i).collect();
    let metrics: Vec<u16> = (0..N).map(|_| free_port()).collect();
    let epochs: Vec<Arc<AtomicU64>> = (0..N).map(|_| Arc::new(AtomicU64::new(0))).collect();
    let mut honest: Vec<Honest> =
        (0..HOSTILE).map(|i| start(&dir, i, ports[i], metrics[i], epochs[i].clone())).collect();
    let wait = |what: &str, secs: u64, f: &dyn Fn() -> bool| {
        let end = Instant::now() + Duration::from_secs(secs);
        while !f() {
            assert!(Instant::now() < end, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait("first commits", 90, &|| epochs[0].load(Ordering::Relaxed) >= 3);
    let store_of = |i: usize| dir_bytes(&dir.join(format!("node-{i}")));
    let baseline: Vec<u64> = (0..2).map(store_of).collect();

    // The attack.
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let opened = Arc::new(AtomicU64::new(0));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let listener = rt.block_on(tokio::net::TcpListener::bind(("127.0.0.1", ports[HOSTILE]))).unwrap();
    rt.spawn(hostile_listener(listener, channel_keys.clone(), stop.clone()));
    for (to, &port) in ports.iter().enumerate().take(HOSTILE) {
        let epoch = epochs[0].clone();
        rt.spawn(attack(to, port, channel_keys.clone(), session, epoch, stop.clone(), sent.clone()));
        for _ in 0..100 {
            rt.spawn(stranger(port, stop.clone(), opened.clone()));
        }
    }
    let attack_start = epochs[0].load(Ordering::Relaxed);
    let t0 = Instant::now();
    let mut growth = 0u64;
    let sample = |growth: &mut u64| {
        for (i, b) in baseline.iter().enumerate() {
            *growth = (*growth).max(store_of(i).saturating_sub(*b));
        }
    };
    while t0.elapsed() < Duration::from_secs(10) {
        sample(&mut growth);
        std::thread::sleep(Duration::from_millis(250));
    }
    // Wipe node 2 under attack: it must reconnect (past the stranger) and catch up.
    drop(honest.remove(2));
    std::fs::remove_dir_all(dir.join("node-2")).unwrap();
    epochs[2].store(0, Ordering::Relaxed);
    honest.push(start(&dir, 2, ports[2], metrics[2], epochs[2].clone()));
    let caught = Instant::now() + Duration::from_secs(120);
    let mut catchup_ok = false;
    while Instant::now() < caught {
        sample(&mut growth);
        let (e0, e2) = (epochs[0].load(Ordering::Relaxed), epochs[2].load(Ordering::Relaxed));
        if e2 > 0 && e2 + 2 >= e0 && t0.elapsed() > Duration::from_secs(25) {
            catchup_ok = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let commits_during_attack = epochs[0].load(Ordering::Relaxed) - attack_start;
    let texts: Vec<String> = (0..HOSTILE).map(|i| scrape(metrics[i])).collect();
    let refused: f64 = texts
        .iter()
        .map(|t| {
            metric_sum(t, "beat_node_frames_dropped_total")
                + metric_sum(t, "beat_net_connections_refused_total")
                + metric_sum(t, "beat_net_handshakes_evicted_total")
                + metric_sum(t, "beat_net_unmatched_pongs_total")
        })
        .sum();
    let faults: f64 = texts.iter().map(|t| metric_sum(t, "beat_faults_detected_total")).sum();
    let max_rss = honest.iter().filter_map(|h| h.child.as_ref()).map(|c| rss_peak_mib(c.id())).fold(0.0, f64::max);
    stop.store(true, Ordering::Relaxed);
    rt.shutdown_timeout(Duration::from_secs(2));

    let wal_growth_mib = growth as f64 / (1 << 20) as f64;
    println!(
        "BEAT-HOSTILE commits_during_attack={commits_during_attack} max_rss_mib={max_rss:.0} wal_growth_mib={wal_growth_mib:.1} catchup_ok={} refused_frames={refused:.0}",
        if catchup_ok { "yes" } else { "no" }
    );
    eprintln!(
        "hostile frames sent={} stranger connections={} faults recorded={faults:.0} dropped per node: {:?}",
        sent.load(Ordering::Relaxed),
        opened.load(Ordering::Relaxed),
        texts.iter().map(|t| metric_sum(t, "beat_node_frames_dropped_total")).collect::<Vec<_>>()
    );
    // The budgets: what one member can make a node log without commits, plus the committed
    // log and checkpoints the load itself writes (generous), and memory: the budgets in
    // flight (inbound share, future buffer, the window's epochs, the link queue to it) over a
    // daemon's own footprint.
    let window = beat_core::beat::Config::default().max_future_epochs;
    let wal_budget_mib = limits.wal_bytes_per_peer(window) as f64 / (1 << 20) as f64 + 64.0;
    let rss_budget_mib = 160.0
        + (PEER_QUEUE as f64 + 2.0 * limits.max_frame_bytes as f64 + limits.wal_bytes_per_peer(window) as f64)
            / (1 << 20) as f64;
    assert!(catchup_ok, "the wiped node did not catch up under attack");
    assert!(commits_during_attack >= 5, "only {commits_during_attack} epochs committed under attack");
    assert!(refused > 1000.0, "the attack was not even noticed ({refused} refusals)");
    assert!(wal_growth_mib <= wal_budget_mib, "store grew {wal_growth_mib:.1} MiB > budget {wal_budget_mib:.1} MiB");
    assert!(max_rss <= rss_budget_mib, "a daemon peaked at {max_rss:.0} MiB > budget {rss_budget_mib:.0} MiB");
}
