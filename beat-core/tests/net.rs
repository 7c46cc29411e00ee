//! The three-network switch in-process: four nodes, each with three transports (TCP standing
//! in for clearnet, Tor and I2P) behind censors, and hostile clients on every listener.
//!
//! The real-network version (processes in a network namespace, nftables, a private Tor
//! network and a private I2P network) is `tests/netns.rs`.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use beat_core::app::KvApp;
use beat_core::beat::{self, NodeKeys};
use beat_core::driver::{wait_until, BeatNode, NodeConfig};
use beat_core::net::censor::{CensorMode, Censors};
use beat_core::net::{TransportConfig, TransportKind};
use beat_core::{Params, SessionId};
use rand::SeedableRng;

const KINDS: [TransportKind; 3] = [TransportKind::Clearnet, TransportKind::Tor, TransportKind::I2p];

fn ports(n: usize) -> Vec<u16> {
    let ls: Vec<TcpListener> = (0..n).map(|_| TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    ls.iter().map(|l| l.local_addr().unwrap().port()).collect()
}

struct Cluster {
    nodes: Vec<BeatNode<KvApp>>,
    /// `[transport][node]` listen ports.
    ports: Vec<Vec<u16>>,
    censors: Censors,
    /// The committee's session (its base name bound to its settings).
    session: SessionId,
}

fn cluster(n: usize, name: &str) -> Cluster {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
    let settings = beat::Settings { batch_size: 16, ..beat::Settings::default() };
    let keys: Vec<NodeKeys> = beat::deal(Params::new(n).unwrap(), SessionId::from_name(name), settings, &mut rng);
    let session = keys[0].public.session;
    let ids: Vec<_> = (0..n).map(|i| beat_core::keystore::IdentityKey::from_bytes(&[i as u8 + 40; 32])).collect();
    let all = ports(3 * n);
    let ports: Vec<Vec<u16>> = all.chunks(n).map(|c| c.to_vec()).collect();
    let censors = Censors::default();
    let nodes = keys
        .into_iter()
        .map(|k| {
            let me = k.id;
            let transports = KINDS
                .iter()
                .zip(&ports)
                .map(|(kind, ports)| TransportConfig::Tcp {
                    kind: *kind,
                    listen: SocketAddr::from(([127, 0, 0, 1], ports[me])),
                    peers: ports.iter().map(|p| format!("127.0.0.1:{p}")).collect(),
                })
                .collect();
            let config = NodeConfig {
                keys: k,
                identity: ids[me].clone(),
                peer_identities: ids.iter().map(|i| i.public()).collect(),
                transports,
                beat: beat::Config::default(),
                data_dir: std::env::temp_dir(),
                snapshot_every: 16,
                submit_queue: 1000,
                metrics_listen: None,
                peer_queue_bytes: 4 << 20,
                store: Some(Arc::new(beat_core::state::MemStore::default())),
                registry: None,
                censors: Some(censors.clone()),
                limits: None,
                audit_log: None,
                upkeep: Default::default(),
            };
            BeatNode::start(config, KvApp::default(), None).unwrap()
        })
        .collect();
    Cluster { nodes, ports, censors, session }
}

impl Cluster {
    fn set(&self, blocked: &[TransportKind], mode: CensorMode) {
        for k in KINDS {
            self.censors.of(k).set(if blocked.contains(&k) { mode } else { CensorMode::Open });
        }
    }

    fn committed_everywhere(&self, key: &str) -> bool {
        self.nodes.iter().all(|n| n.with_app(|a| a.map.contains_key(key)).unwrap_or(false))
    }

    /// Submit `key` at every node and wait for every node to commit it; the time it took.
    fn commit(&self, key: &str, within: Duration) -> Option<Duration> {
        let t = Instant::now();
        for node in &self.nodes {
            node.submit(format!("set {key} 1").into_bytes()).unwrap();
        }
        wait_until(within, || self.committed_everywhere(key)).then(|| t.elapsed())
    }
}

/// Every single network and every pair blocked (as a blackhole, a stall or resets): the
/// committee keeps committing over what is left. All three blocked: it stalls. One reopened:
/// it resumes.
#[test]
fn committee_commits_while_any_one_network_is_open() {
    let c = cluster(4, "net-censor");
    assert!(c.commit("warmup", Duration::from_secs(30)).is_some(), "no commit with every network open");
    let cases: Vec<Vec<TransportKind>> = vec![
        vec![TransportKind::Clearnet],
        vec![TransportKind::Tor],
        vec![TransportKind::I2p],
        vec![TransportKind::Clearnet, TransportKind::Tor],
        vec![TransportKind::Clearnet, TransportKind::I2p],
        vec![TransportKind::Tor, TransportKind::I2p],
    ];
    let modes = [CensorMode::Drop, CensorMode::Stall, CensorMode::Reset];
    for (i, blocked) in cases.iter().enumerate() {
        let mode = modes[i % modes.len()];
        c.set(blocked, mode);
        let names: Vec<&str> = blocked.iter().map(|k| k.name()).collect();
        let latency = c.commit(&format!("case{i}"), Duration::from_secs(40));
        println!(
            "censor case blocked={} mode={mode:?} commit_ms={:?}",
            names.join("+"),
            latency.map(|d| d.as_millis())
        );
        assert!(latency.is_some(), "no commit with {} blocked ({mode:?})", names.join("+"));
    }
    // All three: nothing moves (after what was in flight settles).
    c.set(&KINDS, CensorMode::Drop);
    std::thread::sleep(Duration::from_secs(1));
    let epochs: Vec<u64> = c.nodes.iter().map(|n| n.status().epoch).collect();
    for node in &c.nodes {
        node.submit(b"set blocked 1".to_vec()).unwrap();
    }
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(c.nodes.iter().map(|n| n.status().epoch).collect::<Vec<_>>(), epochs, "progress with all blocked");
    assert!(!c.nodes.iter().any(|n| n.with_app(|a| a.map.contains_key("blocked")).unwrap()));
    // Every link is seen down (Tor and I2P links are declared dead after 30 s of silence).
    let dead = beat_core::net::reconnect::DEAD_AFTER_ANONYMOUS + Duration::from_secs(10);
    assert!(
        wait_until(dead, || c.nodes.iter().all(|n| n.status().links.iter().all(|l| !l.up))),
        "links still reported up with every network blocked: {:?}",
        c.nodes[0].status().links
    );
    // Reopen I2P only: the stalled transaction commits.
    let t = Instant::now();
    c.set(&[TransportKind::Clearnet, TransportKind::Tor], CensorMode::Drop);
    assert!(wait_until(Duration::from_secs(60), || c.committed_everywhere("blocked")), "no resume after reopening i2p");
    println!("censor resumed_after_ms={}", t.elapsed().as_millis());
    let i2p_back =
        || c.nodes[0].status().links.iter().any(|l| l.transport == TransportKind::I2p && l.up && l.connects >= 2);
    assert!(wait_until(Duration::from_secs(5), i2p_back), "{:?}", c.nodes[0].status().links);
    // Copies that arrived on two networks were delivered once.
    c.set(&[], CensorMode::Open);
    assert!(c.commit("after", Duration::from_secs(40)).is_some());
    assert!(wait_until(Duration::from_secs(20), || c.nodes[1].status().duplicates_dropped > 0));
}

fn write_all_ignoring(s: &mut TcpStream, bytes: &[u8]) {
    let _ = s.write_all(bytes);
}

/// Garbage, oversized handshake messages, unknown keys, floods of idle connections and slow
/// writers on every listener: refused or closed and counted; the committee keeps committing.
#[test]
fn listeners_refuse_bad_peers_and_keep_committing() {
    let c = cluster(4, "net-bad-input");
    assert!(c.commit("warmup", Duration::from_secs(30)).is_some());
    let before = c.nodes[0].status().connections_refused;
    let stranger = beat_core::keystore::IdentityKey::from_bytes(&[250; 32]);
    let mut idle = Vec::new();
    for (t, ports) in c.ports.iter().enumerate() {
        let addr = SocketAddr::from(([127, 0, 0, 1], ports[0]));
        // Garbage: too short for a Noise message. Closed by the node: reads end.
        let mut s = TcpStream::connect(addr).unwrap();
        write_all_ignoring(&mut s, &[0x00, 0x05, 1, 2, 3, 4, 5]);
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut buf = [0u8; 256];
        assert!(matches!(s.read(&mut buf), Ok(0) | Err(_)), "garbage was answered on transport {t}");
        // 32 random bytes pass for an ephemeral key (any 32 bytes do); the garbage that
        // follows instead of the third handshake message closes the connection.
        let mut s = TcpStream::connect(addr).unwrap();
        write_all_ignoring(&mut s, &[0x00, 0x20]);
        write_all_ignoring(&mut s, &[0xAB; 32]);
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let _ = s.read(&mut buf);
        write_all_ignoring(&mut s, &[0x00, 0x30]);
        write_all_ignoring(&mut s, &[0xCD; 48]);
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
        assert!(rest.len() < 256, "the node kept talking to garbage on transport {t}");
        // An oversized handshake message (length claims 65535, sends a few bytes, then stops).
        let mut s = TcpStream::connect(addr).unwrap();
        write_all_ignoring(&mut s, &[0xFF, 0xFF, 1, 2, 3]);
        drop(s);
        // A well-formed Noise handshake with a key outside the cluster.
        // The committee's own session: the handshake itself succeeds; only the key is foreign.
        let session = c.session;
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let refused = rt.block_on(async {
            let mut publics: Vec<_> =
                (0..4).map(|i| beat_core::keystore::IdentityKey::from_bytes(&[i as u8 + 40; 32]).public()).collect();
            publics[3] = stranger.public();
            let keys = beat_core::net::handshake::ChannelKeys::new(3, &stranger, &publics, &session);
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            // The dialler's side completes (it learns node 0's key) but node 0 refuses it:
            // a frame sent afterwards is never answered and the connection is closed.
            let _ = beat_core::net::handshake::initiate(&mut s, &keys, 0).await;
            let mut b = [0u8; 8];
            matches!(
                tokio::time::timeout(Duration::from_secs(10), tokio::io::AsyncReadExt::read(&mut s, &mut b)).await,
                Ok(Ok(0)) | Ok(Err(_))
            )
        });
        assert!(refused, "a stranger's handshake was kept open on transport {t}");
        // Slow writer: one byte, then silence (half-open), held until the end of the test.
        let mut s = TcpStream::connect(addr).unwrap();
        write_all_ignoring(&mut s, &[0x00]);
        idle.push(s);
        // A flood of idle connections beyond the handshake limit.
        for _ in 0..beat_core::net::switch::MAX_HANDSHAKES + 8 {
            if let Ok(s) = TcpStream::connect(addr) {
                idle.push(s);
            }
        }
    }
    // The node keeps committing while they hang around.
    assert!(c.commit("under-attack", Duration::from_secs(40)).is_some(), "no commit under bad input");
    // Status and metrics follow the network on the node's 200 ms timer.
    let counted = || c.nodes[0].status().connections_refused - before;
    wait_until(Duration::from_secs(5), || counted() >= 3 * (4 + 8));
    let refused = counted();
    // Per transport: two kinds of garbage, oversized, stranger, and at least the flood's excess.
    assert!(refused >= 3 * (4 + 8), "only {refused} refusals counted");
    let metrics = c.nodes[0].metrics_text();
    for k in KINDS {
        assert!(
            metrics.contains(&format!("beat_net_connections_refused_total{{transport=\"{}\"}}", k.name())),
            "no refusal metric for {k}"
        );
    }
    println!("BEAT-NET-INPROC refused_bad_peers={refused}");
    drop(idle);
}
