//! End to end over embedded Tor: a private Tor network on loopback (`scripts/tor-testnet.sh`:
//! 3 directory authorities and 6 relays of Debian's C tor), two [`ArtiTor`] transports on it,
//! each hosting its own onion service in-process; one dials the other's onion and bytes go both
//! ways (a greeting, 100 kB echoed), a stream to another virtual port is refused, and a node
//! that restarts under the same key is reached again by a dialler that still holds its old
//! descriptor.
//!
//! The first onion connection on a fresh network takes a while (descriptors are published
//! once the client has a consensus and introduction points; seen from under a minute to
//! several minutes), so the dialler retries until [`DEADLINE`], never sleeping blindly.
//! `cargo test --release -p beat-core --features tor --test arti -- --nocapture`.
//! Needs `tor` and `tor-gencert` (the script installs Debian's `tor` if missing).
//! `BEAT_TOR_TESTNET_KEEP=1` keeps the network's directory (its logs) after the test;
//! `BEAT_ARTI_LOG=<filter>` (e.g. `info` or `tor_hsservice=debug,info`) prints arti's logs.

#![cfg(feature = "tor")]
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use beat_core::net::arti::{onion_address_for_seed, ArtiConfig, ArtiTor, TestAuthority, TestNetwork, TestRelay};
use beat_core::net::{BoxStream, Transport, TransportKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Give up on the first onion connection after this long (from the arti clients' start).
const DEADLINE: Duration = Duration::from_secs(600);
/// One dial attempt (descriptor fetch, introduction, rendezvous, BEGIN).
const DIAL_TIMEOUT: Duration = Duration::from_secs(120);
/// A peer that restarted under the same key must be reachable again within this (it
/// publishes within seconds to a minute; a stale descriptor would last 15 minutes).
const RESTART_DEADLINE: Duration = Duration::from_secs(240);
/// How long that peer stays down while the other dials it.
const A_DOWN: Duration = Duration::from_secs(30);
/// C tor's voting interval on the test network: 24 of them make the onion time period, which
/// must be at least 5 minutes for arti (20 s -> 8 min).
const VOTING_INTERVAL: Duration = Duration::from_secs(20);

const GREETING: &[u8] = b"beat-arti-ok\n";
const PAYLOAD: usize = 100_000;

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/tor-testnet.sh")
}

/// The private network; stopped (every tor process killed) when dropped, even on a panic.
struct Testnet {
    dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
}

impl Testnet {
    fn start(base_port: u16) -> Testnet {
        let tmp = tempfile::Builder::new().prefix("beat-arti-").tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let keep = std::env::var("BEAT_TOR_TESTNET_KEEP").is_ok_and(|v| v == "1");
        let (dir, tmp) = if keep { (tmp.keep(), None) } else { (dir, Some(tmp)) };
        let net = Testnet { dir, _tmp: tmp };
        let out = Command::new("bash")
            .arg(script())
            .args(["start", net.dir.to_str().unwrap(), "1"])
            .env("TOR_BASE_PORT", base_port.to_string())
            .env("TOR_VOTING_INTERVAL", VOTING_INTERVAL.as_secs().to_string())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tor-testnet.sh start failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("testnet: started in {} (base port {base_port})", net.dir.display());
        net
    }

    /// Wait until the network's own C tor client has bootstrapped (a consensus exists and
    /// its relays are reachable): arti clients started before that only back off.
    async fn wait_consensus(&self, timeout: Duration) {
        let log = self.dir.join("node-0/data/notice.log");
        let t0 = Instant::now();
        loop {
            if std::fs::read_to_string(&log).is_ok_and(|s| s.contains("Bootstrapped 100%")) {
                eprintln!("testnet: C tor client bootstrapped after {:.0?}", t0.elapsed());
                return;
            }
            assert!(t0.elapsed() < timeout, "the test network has no usable consensus after {timeout:?}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// The network as arti needs it ([`TestNetwork::from_testnet_dir`]), once every relay has
    /// written its fingerprints.
    async fn network(&self) -> TestNetwork {
        let t0 = Instant::now();
        loop {
            match TestNetwork::from_testnet_dir(&self.dir) {
                Ok(net) => {
                    assert_eq!(net.authorities.len(), 3);
                    assert_eq!(net.time_period, TestNetwork::time_period_for_voting_interval(VOTING_INTERVAL));
                    return net;
                }
                Err(e) => assert!(t0.elapsed() < Duration::from_secs(60), "the test network: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Testnet {
    fn drop(&mut self) {
        let _ = Command::new("bash").arg(script()).args(["stop", self.dir.to_str().unwrap()]).status();
    }
}

fn arti_config(dir: &Path, name: &str, port: u16, secret: Option<[u8; 32]>, net: &TestNetwork) -> ArtiConfig {
    ArtiConfig {
        state_dir: dir.join(format!("arti-{name}/state")),
        cache_dir: dir.join(format!("arti-{name}/cache")),
        nickname: "beat".to_owned(),
        onion_port: port,
        onion_secret: secret,
        testnet: Some(net.clone()),
    }
}

fn payload() -> Vec<u8> {
    (0..PAYLOAD).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// The service side of one stream: greet, then echo the payload back.
async fn serve_one(mut s: BoxStream) -> std::io::Result<()> {
    s.write_all(GREETING).await?;
    let mut buf = vec![0u8; PAYLOAD];
    s.read_exact(&mut buf).await?;
    s.write_all(&buf).await?;
    // Keep the stream until the dialler has read everything and hung up (it closes first);
    // a Tor END (an I/O error in arti) after that is fine.
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest).await;
    assert!(rest.is_empty(), "unexpected {} bytes after the payload", rest.len());
    Ok(())
}

/// The dialler's side: read the greeting, send the payload, read it back.
async fn talk(s: &mut BoxStream) -> std::io::Result<()> {
    let mut g = vec![0u8; GREETING.len()];
    s.read_exact(&mut g).await?;
    assert_eq!(g, GREETING, "greeting");
    let p = payload();
    s.write_all(&p).await?;
    let mut back = vec![0u8; PAYLOAD];
    s.read_exact(&mut back).await?;
    assert!(back == p, "the echoed payload differs");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_arti_nodes_talk_over_onion_services() {
    if let Ok(filter) = std::env::var("BEAT_ARTI_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .try_init();
    }
    // A port range of our own (other tests may run a test network at the default 15000).
    let base = 20_000 + (std::process::id() % 80) as u16 * 500;
    let net = Testnet::start(base);
    net.wait_consensus(Duration::from_secs(300)).await;
    let network = net.network().await;

    // A: onion key from a seed (address known in advance); B: arti generates and keeps one.
    let seed_a = [0x42u8; 32];
    let (port_a, port_b) = (base + 450, base + 451);
    let t0 = Instant::now();
    let a = ArtiTor::new(arti_config(&net.dir, "a", port_a, Some(seed_a), &network)).await.unwrap();
    let b = ArtiTor::new(arti_config(&net.dir, "b", port_b, None, &network)).await.unwrap();
    assert_eq!(a.kind(), TransportKind::Tor);
    assert_eq!(a.onion_address(), onion_address_for_seed(&seed_a));
    assert_eq!(a.address(), format!("{}:{port_a}", onion_address_for_seed(&seed_a)));
    assert_ne!(a.onion_address(), b.onion_address());
    eprintln!("arti: A = {}, B = {}", a.address(), b.address());

    let a = Arc::new(a);
    let server = spawn_server(a.clone());
    b.bootstrap().await.unwrap();
    eprintln!("arti: B bootstrapped after {:.1?}", t0.elapsed());

    // Dial A's onion until it works.
    let (first, attempts) = connect_until(&b, &a, t0 + DEADLINE).await;
    eprintln!("arti: first onion connection B -> A after {:.1?} ({attempts} attempts)", first - t0);

    // A second stream now that everything is warm (circuits and descriptor cached). The cached
    // rendezvous circuit can die under the dialler ("begin stream: Stream not connected" was
    // seen once in CI); a node's link redials, so the test allows that too, but only a couple of
    // times: a warm onion that needs more is a regression.
    let t1 = Instant::now();
    let (_, attempts) = connect_until(&b, &a, t1 + DIAL_TIMEOUT).await;
    assert!(attempts <= 3, "the warm onion needed {attempts} dials");
    eprintln!("arti: second connection and exchange took {:.1?} ({attempts} attempts)", t1.elapsed());

    // Another virtual port of A's onion is refused.
    let other = format!("{}:{}", a.onion_address(), port_a + 1);
    let r = tokio::time::timeout(DIAL_TIMEOUT, b.dial(&other)).await.unwrap();
    assert!(r.is_err(), "a stream to {other} was accepted");
    eprintln!("arti: {other} refused: {}", r.err().unwrap());

    // Restarts keep the addresses: B's key was generated by arti and kept in its state_dir,
    // A's comes from its seed.
    let (addr_a, addr_b) = (a.address(), b.address());
    server.abort();
    drop(a);
    drop(b);
    let b = reopen(arti_config(&net.dir, "b", port_b, None, &network)).await;
    assert_eq!(b.address(), addr_b, "B's generated onion key did not survive a restart");
    let a = reopen(arti_config(&net.dir, "a", port_a, Some(seed_a), &network)).await;
    assert_eq!(a.address(), addr_a);
    a.bootstrap().await.unwrap();
    drop(a);

    // A restarted with another seed takes that key, and is reachable at once under it (in the
    // same time period, so no key derived from the old identity may linger).
    let seed_c = [0x43u8; 32];
    let a = Arc::new(reopen(arti_config(&net.dir, "a", port_a, Some(seed_c), &network)).await);
    assert_eq!(a.onion_address(), onion_address_for_seed(&seed_c));
    let server = spawn_server(a.clone());
    let t2 = Instant::now();
    let (done, attempts) = connect_until(&b, &a, t2 + DIAL_TIMEOUT * 2).await;
    eprintln!("arti: A under its new key reachable after {:.1?} ({attempts} attempts)", done - t2);

    // A goes down for a while and comes back under the same key but with its arti state lost
    // (a wiped disk, or C tor before): new introduction points (kept state would bring back
    // the old ones). B runs on with A's old descriptor, whose introduction points died with
    // the old A, and dials A every 2 s while it is down, so it asks every directory for A's
    // descriptor and gets the old one. B must reach the new A soon after A publishes: arti
    // alone would keep the stale descriptor, and not ask those directories again, for 15
    // minutes (`net::arti`, "Stale descriptors").
    let addr_a = a.address();
    server.abort();
    drop(a);
    let before = b.dial_isolation(&addr_a).unwrap();
    let down = Instant::now();
    let mut dials = 0;
    while down.elapsed() < A_DOWN || dials < 10 {
        dials += 1;
        let r = tokio::time::timeout(DIAL_TIMEOUT, b.dial(&addr_a)).await;
        if !matches!(r, Ok(Err(_))) {
            eprintln!("arti: dial {dials} to A while it is down did not fail: {:?}", r.map(|r| r.map(|_| ())));
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    eprintln!("arti: A down for {:.0?}, {dials} dials to it meanwhile", down.elapsed());
    // The failed dials renewed B's isolation for A (the fix itself, checked directly: the
    // reconnection below may also succeed through arti's own refetch after a refusal).
    assert_ne!(b.dial_isolation(&addr_a), Some(before), "{dials} failed dials kept the isolation");
    let a = Arc::new(reopen(arti_config(&net.dir, "a-wiped", port_a, Some(seed_c), &network)).await);
    let server = spawn_server(a.clone());
    let t = Instant::now();
    let (done, attempts) = connect_until(&b, &a, t + RESTART_DEADLINE).await;
    eprintln!("arti: A restarted (same key, state lost) reachable again after {:.1?} ({attempts} attempts)", done - t);
    server.abort();
}

/// Serve every stream `a` accepts ([`serve_one`]).
fn spawn_server(a: Arc<ArtiTor>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut served = 0usize;
        loop {
            match a.accept().await {
                Ok((s, _)) => {
                    tokio::spawn(async move {
                        if let Err(e) = serve_one(s).await {
                            eprintln!("arti: serving a stream: {e}");
                        }
                    });
                    served += 1;
                    eprintln!("arti: {} accepted stream {served}", a.onion_address());
                }
                Err(e) => {
                    eprintln!("arti: accept: {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    })
}

/// Dial `a` from `b` and talk, again and again until it works; panics at `deadline`. Returns
/// when it worked and after how many attempts.
async fn connect_until(b: &ArtiTor, a: &ArtiTor, deadline: Instant) -> (Instant, u32) {
    let t0 = Instant::now();
    let mut attempt = 0;
    let (mut last, mut last_print) = (String::new(), Instant::now());
    loop {
        attempt += 1;
        let started = Instant::now();
        let budget = DIAL_TIMEOUT.min(deadline.saturating_duration_since(started)).max(Duration::from_secs(1));
        let err = match tokio::time::timeout(budget, b.dial(&a.address())).await {
            Ok(Ok(mut s)) => match tokio::time::timeout(budget, talk(&mut s)).await {
                Ok(Ok(())) => return (Instant::now(), attempt),
                Ok(Err(e)) => format!("exchange failed: {e}"),
                Err(_) => "exchange timed out".to_owned(),
            },
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("dial timed out after {budget:?}"),
        };
        let what = format!("{err}; service: {}", a.service_status());
        if what != last || last_print.elapsed() >= Duration::from_secs(30) {
            eprintln!("arti: [{:5.0?}] attempt {attempt} failed after {:.1?}: {what}", t0.elapsed(), started.elapsed());
            last_print = Instant::now();
            last = what;
        }
        assert!(
            Instant::now() < deadline,
            "no onion connection to {} within {:.0?} ({attempt} attempts); last: {err}",
            a.address(),
            t0.elapsed()
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// `ArtiTor::new`, retried while a dropped instance on the same state_dir still holds its
/// locks (arti's onion service tasks wind down asynchronously; a new process would not wait).
async fn reopen(cfg: ArtiConfig) -> ArtiTor {
    let t0 = Instant::now();
    loop {
        match ArtiTor::new(cfg.clone()).await {
            Ok(t) => {
                eprintln!("arti: reopened {} after {:.1?}", cfg.state_dir.display(), t0.elapsed());
                return t;
            }
            Err(e) if e.to_string().contains("locked") && t0.elapsed() < Duration::from_secs(60) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("reopen {}: {e}", cfg.state_dir.display()),
        }
    }
}

/// A network nobody answers for (one authority at 127.0.0.1:9): arti starts, its bootstrap
/// fails in the background, and nothing leaves the machine.
fn unreachable_network() -> TestNetwork {
    let relay = TestRelay {
        rsa_identity: "AA".repeat(20),
        ed_identity: "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE".to_owned(),
        orport: "127.0.0.1:9".parse().unwrap(),
    };
    TestNetwork {
        authorities: vec![TestAuthority { v3ident: "BB".repeat(20), relay }],
        fallbacks: Vec::new(),
        time_period: Duration::from_secs(8 * 60),
    }
}

/// The onion key without any Tor network: a configured seed is the service's key, else arti
/// generates one. (Restarts are checked on the live network above: a service that never saw
/// a directory does not let go of its state until the process ends.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onion_key_from_seed_or_generated() {
    let tmp = tempfile::tempdir().unwrap();
    let net = unreachable_network();
    let seeded = ArtiTor::new(arti_config(tmp.path(), "seed", 1000, Some([1; 32]), &net)).await.unwrap();
    assert_eq!(seeded.onion_address(), onion_address_for_seed(&[1; 32]));
    assert_eq!(seeded.address(), format!("{}:1000", onion_address_for_seed(&[1; 32])));
    let generated = ArtiTor::new(arti_config(tmp.path(), "gen", 1000, None, &net)).await.unwrap();
    let g = generated.onion_address();
    assert!(g.len() == 62 && g.ends_with(".onion") && g != seeded.onion_address(), "{g}");
    // The nickname names files: one that is not a valid name is refused.
    let mut bad = arti_config(tmp.path(), "bad", 1000, None, &net);
    bad.nickname = "../x".to_owned();
    assert!(ArtiTor::new(bad).await.is_err());
}
