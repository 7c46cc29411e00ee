//! Censorship with real networks: four `beat` daemons, each on clearnet, Tor and I2P at once,
//! inside a network namespace with nftables as the censor.
//!
//! * Tor is a private Tor network on the namespace's loopback (`scripts/tor-testnet.sh`: 3
//!   authorities, 6 relays, one tor client per node with its onion service); the nodes use
//!   their client's SOCKS port and onion service.
//! * I2P is a private I2P network of emissary routers (`beat-i2pnet`, from `tools/beat-testnet`);
//!   the nodes use their router's SAMv3 bridge.
//! * The censor drops packets (nftables, in the namespace) on the nodes' clearnet ports, on the
//!   Tor relays' ports, on the I2P routers' ports, or any combination. The namespace caps TCP's
//!   retransmission backoff ([`TCP_RTO_MAX_MS`]), so the tor clients' connections that outlive
//!   a block do not wait up to 2 minutes to retransmit when it lifts.
//!
//! Cases: all open; each network blocked alone; each pair blocked (so Tor alone, I2P alone and
//! clearnet alone carry the committee); all three blocked (the committee must stall); one
//! reopened (it must resume). Then bad input on every listener. Commit latency is measured per
//! case, and the `BEAT-NET …` summary line is printed.
//!
//! Built with the `tor` feature (as the test command runs it), one more case: the daemons
//! restart with `BEAT_TOR=arti` (Tor in-process, on the same private Tor network, which then
//! votes every 20 s for the whole run, for arti's sake), their tor clients stopped, clearnet
//! and I2P blocked;
//! Tor in-process alone must carry at least 30 commits a minute after the first
//! (`arti_only_commits_per_min`), and, after every network was blocked for 10 s (the censor
//! tells arti's packets apart by the group the daemons then run as), resume within 10 s of
//! Tor reopening. `BEAT_NETNS_CASES` runs it only if it names `arti`.
//!
//! Needs root (network namespaces, nftables), `ip`, `nft`, `tor` and `python3`; the test
//! command installs them. The test re-runs itself inside a fresh namespace.
#![cfg(feature = "node")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failure here is a test failure

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const N: usize = 4;
const INSIDE: &str = "BEAT_NETNS_INSIDE";
const CLEARNET_BASE: u16 = 7000;
const METRICS_BASE: u16 = 9090;
const TOR_BASE: u16 = 15000;
const I2P_NET_BASE: u16 = 16000;
const I2P_SAM_BASE: u16 = 17000;
/// Where the private Tor network's relays listen, and the node clients' source address (on a
/// non-loopback address: tor ignores `OutboundBindAddress` for destinations in 127.0.0.0/8).
const TOR_RELAY: &str = "10.77.0.1";
const TOR_CLIENT: &str = "10.77.0.2";
/// The group the daemons run as with Tor in-process: the censor drops that group's packets
/// to the Tor relays (arti connects from the relays' own address).
const ARTI_GID: u32 = 47_474;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Net {
    Clearnet,
    Tor,
    I2p,
}

impl Net {
    fn name(self) -> &'static str {
        match self {
            Net::Clearnet => "clearnet",
            Net::Tor => "tor",
            Net::I2p => "i2p",
        }
    }
}

const ALL: [Net; 3] = [Net::Clearnet, Net::Tor, Net::I2p];

fn sh(cmd: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(cmd).args(args).output().map_err(|e| format!("{cmd}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd} {}: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

struct Namespace(String);

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

#[test]
fn censorship_with_real_tor_and_i2p() {
    if std::env::var(INSIDE).is_ok() {
        return inside();
    }
    for tool in ["ip", "nft", "tor", "python3"] {
        assert!(
            Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().unwrap().status.success(),
            "{tool} is missing (the test command installs iproute2, nftables, tor and python3)"
        );
    }
    let ns = Namespace(format!("beatnet{}", std::process::id()));
    sh("ip", &["netns", "add", &ns.0]).expect("creating a network namespace needs root");
    sh("ip", &["netns", "exec", &ns.0, "ip", "link", "set", "lo", "up"]).unwrap();
    // Two non-loopback addresses (on `lo`; this kernel may lack dummy interfaces).
    for addr in [TOR_RELAY, TOR_CLIENT] {
        sh("ip", &["netns", "exec", &ns.0, "ip", "addr", "add", &format!("{addr}/32"), "dev", "lo"]).unwrap();
    }
    let exe = std::env::current_exe().unwrap();
    let status = Command::new("ip")
        .args(["netns", "exec", &ns.0])
        .arg(&exe)
        .args(["--exact", "censorship_with_real_tor_and_i2p", "--nocapture", "--test-threads=1"])
        .env(INSIDE, &ns.0)
        .status()
        .unwrap();
    assert!(status.success(), "the censorship run inside namespace {} failed", ns.0);
}

/// `KEY=value` lines of a shell env file (values may be double-quoted).
fn read_env(path: &Path) -> HashMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').trim_matches('\'').to_string()))
        .collect()
}

fn ports_list(v: &str) -> Vec<u16> {
    v.split([',', ' ']).filter(|s| !s.is_empty()).map(|p| p.parse().unwrap()).collect()
}

/// The censor: an nftables table in the namespace dropping the packets of the blocked networks.
struct Censor {
    rules: HashMap<Net, Vec<String>>,
}

fn port_set(ports: &[u16]) -> String {
    ports.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", ")
}

impl Censor {
    fn block(&self, nets: &[Net]) {
        let _ = sh("nft", &["delete", "table", "inet", "beatcensor"]);
        if nets.is_empty() {
            return;
        }
        let mut rules = String::from("table inet beatcensor {\n chain out {\n  type filter hook output priority 0;\n");
        for net in nets {
            for r in &self.rules[net] {
                rules += &format!("  {r}\n");
            }
        }
        rules += " }\n}\n";
        let file = std::env::temp_dir().join(format!("beat-censor-{}.nft", std::process::id()));
        std::fs::write(&file, rules).unwrap();
        sh("nft", &["-f", file.to_str().unwrap()]).unwrap();
    }
}

/// What the daemons printed: each node's highest committed epoch.
#[derive(Default)]
struct Commits {
    epoch: Vec<u64>,
}

struct Node {
    child: Child,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn scrape(id: usize) -> String {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", METRICS_BASE + id as u16)) else { return String::new() };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// `(labels, value)` of every sample of `name` in a scrape.
fn samples<'a>(text: &'a str, name: &str) -> Vec<(&'a str, f64)> {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with('{'))
        .filter_map(|l| {
            let (labels, value) = l[name.len()..].rsplit_once(' ')?;
            Some((labels, value.parse().ok()?))
        })
        .collect()
}

/// Every node has an answering link to every peer on each of `nets`.
fn links_up(nets: &[Net]) -> bool {
    (0..N).all(|id| {
        let text = scrape(id);
        let up = samples(&text, "beat_net_link_up");
        nets.iter().all(|net| {
            let tag = format!("transport=\"{}\"", net.name());
            up.iter().filter(|(l, v)| l.contains(&tag) && *v == 1.0).count() == N - 1
        })
    })
}

fn wait_for(timeout: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let t = Instant::now();
    while t.elapsed() < timeout {
        if f() {
            return Some(t.elapsed());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    None
}

/// The namespace's TCP retransmission ceiling, in ms (`net.ipv4.tcp_rto_max_ms`, Linux ≥ 6.15;
/// the kernel's default is 120 000). The censor drops packets, so the tor clients' and the I2P
/// routers' TCP connections that outlive a block sit in exponential retransmission backoff: after
/// the ~40 s blocks below, their next retransmission (or zero-window probe) was measured 35–53 s
/// away when the network reopened, and the committee resumed only when one of them fired (a Tor
/// resume of 19.5 s in CI, I2P's 13–32 s). Those connections belong to the tor daemon and the
/// routers, not to BEAT (whose own links notice a dead peer and dial afresh), so the namespace
/// caps the backoff as an operator of a tor or I2P host can (docs/guide.md, "Networks"), and
/// keeps the time a connection survives an outage near the kernel's default by allowing more
/// retransmissions. `BEAT_NETNS_TCP_RTO_MAX_MS=0` leaves the kernel's defaults, to measure them.
const TCP_RTO_MAX_MS: u32 = 1_000;
/// With [`TCP_RTO_MAX_MS`]: about 4 minutes of retransmissions before a connection is dropped
/// (255 is the kernel's largest; its default of 15 allows about 15 minutes at the default
/// ceiling, but only about 15 s at this one), longer than any block here.
const TCP_RETRIES2: u32 = 255;

/// Caps TCP's retransmission backoff in this namespace (see [`TCP_RTO_MAX_MS`]); returns the
/// ceiling set, or `None` when the kernel's defaults stay (asked for, or an older kernel).
fn cap_tcp_backoff() -> Option<u32> {
    let ms = std::env::var("BEAT_NETNS_TCP_RTO_MAX_MS")
        .ok()
        .map(|v| v.parse::<u32>().expect("BEAT_NETNS_TCP_RTO_MAX_MS: a number of milliseconds"))
        .unwrap_or(TCP_RTO_MAX_MS);
    let max = Path::new("/proc/sys/net/ipv4/tcp_rto_max_ms");
    if ms == 0 || !max.exists() {
        return None;
    }
    std::fs::write(max, ms.to_string()).unwrap();
    std::fs::write("/proc/sys/net/ipv4/tcp_retries2", TCP_RETRIES2.to_string()).unwrap();
    Some(ms)
}

fn inside() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    // Before any daemon starts: the kernel reads the ceiling when a socket is created.
    let rto_max = cap_tcp_backoff();
    println!(
        "netns: tcp_rto_max_ms={} (this namespace; the kernel's default is 120000)",
        rto_max.map_or_else(|| "default".to_string(), |ms| format!("{ms} tcp_retries2={TCP_RETRIES2}"))
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let started = Instant::now();
    let beat = env!("CARGO_BIN_EXE_beat");

    // Keys, I2P destinations, onion addresses.
    let keygen = Command::new(beat)
        .args(["keygen", "--nodes", &N.to_string(), "--out", d.join("keys").to_str().unwrap()])
        .args(["--host", "127.0.0.1", "--base-port", &CLEARNET_BASE.to_string(), "--tor-port", "80"])
        .output()
        .unwrap();
    assert!(keygen.status.success(), "keygen: {}", String::from_utf8_lossy(&keygen.stderr));
    // Each node's onion service key is derived from its identity: hand it to its tor client.
    let tor_dir = d.join("tor");
    let cluster = beat_core::keystore::load_cluster(&d.join("keys/cluster.toml")).unwrap();
    for i in 0..N {
        let out = Command::new(beat)
            .args(["onion-key", "--out", tor_dir.join(format!("node-{i}/hs")).to_str().unwrap()])
            .env("BEAT_CLUSTER", d.join("keys/cluster.toml"))
            .env("BEAT_KEY_FILE", d.join(format!("keys/node-{i}.key")))
            .env("BEAT_KEY_HEX_FILE", d.join(format!("keys/node-{i}.secret")))
            .output()
            .unwrap();
        assert!(out.status.success(), "onion-key: {}", String::from_utf8_lossy(&out.stderr));
        let host = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert_eq!(cluster.nodes[i].addresses.tor.as_deref(), Some(format!("{host}:80").as_str()));
    }

    // The private networks, started side by side.
    let script = root.join("scripts/tor-testnet.sh");
    let tor_script = script.to_str().unwrap().to_string();
    let (td, ts) = (tor_dir.to_str().unwrap().to_string(), tor_script.clone());
    let tor = std::thread::spawn(move || {
        let start = Command::new("bash")
            .args([&ts, "start", &td, &N.to_string()])
            .env("TOR_BASE_PORT", TOR_BASE.to_string())
            .env("TOR_RELAY_IP", TOR_RELAY)
            .env("TOR_CLIENT_OUTBOUND", TOR_CLIENT)
            // arti (the `tor` feature's phase) needs an onion time period of at least 5
            // minutes: 24 voting intervals.
            .env("TOR_VOTING_INTERVAL", if cfg!(feature = "tor") { "20" } else { "10" })
            .status()
            .unwrap();
        assert!(start.success(), "private Tor network did not start");
        let t = Instant::now();
        let wait = Command::new("bash").args([&ts, "wait", &td, "900"]).status().unwrap();
        assert!(wait.success(), "private Tor network: onion services not reachable");
        t.elapsed()
    });
    struct StopTor(String, String);
    impl Drop for StopTor {
        fn drop(&mut self) {
            let _ = Command::new("bash").args([&self.0, "stop", &self.1]).status();
        }
    }
    let _stop_tor = StopTor(tor_script, tor_dir.to_str().unwrap().to_string());

    let i2p_dir = d.join("i2p");
    std::fs::create_dir_all(&i2p_dir).unwrap();
    let i2pnet_bin = std::env::var("BEAT_I2PNET").map(PathBuf::from).unwrap_or_else(|_| {
        // target/<profile>/deps/netns-… → target/<profile>/beat-i2pnet
        std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().join("beat-i2pnet")
    });
    assert!(i2pnet_bin.exists(), "{} not built (cargo build --release -p beat-testnet)", i2pnet_bin.display());
    let mut i2pnet = Command::new(&i2pnet_bin)
        // Every node and the stranger on a router of its own that is not a floodfill
        // (`beat-i2pnet` numbers the floodfills last): 5 client routers, 2 floodfills.
        .args(["--routers", &(N + 3).to_string(), "--floodfills", "2", "--dir", i2p_dir.to_str().unwrap()])
        .args(["--sam-base-port", &I2P_SAM_BASE.to_string(), "--net-base-port", &I2P_NET_BASE.to_string()])
        .args(["--ready-timeout", "600"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let i2p_ready = {
        let out = i2pnet.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if line.trim() == "ready" {
                    let _ = tx.send(());
                }
            }
        });
        let t = Instant::now();
        rx.recv_timeout(Duration::from_secs(660)).expect("private I2P network not ready");
        t.elapsed()
    };
    struct StopI2p(Child);
    impl Drop for StopI2p {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _stop_i2p = StopI2p(i2pnet);
    let tor_ready = tor.join().unwrap();
    println!(
        "netns: i2p ready in {} s, tor onion services reachable in {} s",
        i2p_ready.as_secs(),
        tor_ready.as_secs()
    );

    let tor_env = read_env(&tor_dir.join("env"));
    let i2p_env = read_env(&i2p_dir.join("env"));
    // Clearnet: the nodes' ports. Tor: the node clients' traffic to the relays (they send from
    // TOR_CLIENT; the relays keep talking to each other). I2P: the routers' ports.
    let clearnet = port_set(&(0..N as u16).map(|i| CLEARNET_BASE + i).collect::<Vec<_>>());
    let tor_net = port_set(&ports_list(&tor_env["TOR_NET_PORTS"]));
    let i2p_tcp = port_set(&ports_list(&i2p_env["I2P_NET_PORTS"]));
    let mut i2p_rules = vec![format!("tcp dport {{ {i2p_tcp} }} drop"), format!("tcp sport {{ {i2p_tcp} }} drop")];
    if let Some(udp) = i2p_env.get("I2P_NET_UDP_PORTS").map(|p| ports_list(p)).filter(|p| !p.is_empty()) {
        let udp = port_set(&udp);
        i2p_rules.push(format!("udp dport {{ {udp} }} drop"));
        i2p_rules.push(format!("udp sport {{ {udp} }} drop"));
    }
    let censor = Censor {
        rules: HashMap::from([
            (
                Net::Clearnet,
                vec![format!("tcp dport {{ {clearnet} }} drop"), format!("tcp sport {{ {clearnet} }} drop")],
            ),
            (
                Net::Tor,
                vec![
                    format!("ip saddr {TOR_CLIENT} tcp dport {{ {tor_net} }} drop"),
                    format!("ip daddr {TOR_CLIENT} tcp sport {{ {tor_net} }} drop"),
                    // The daemons' own Tor (arti) connects from the relays' address: it is
                    // told apart by the group its processes run as.
                    format!("meta skgid {ARTI_GID} tcp dport {{ {tor_net} }} drop"),
                ],
            ),
            (Net::I2p, i2p_rules),
        ]),
    };

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut b32 = Vec::new();
    for i in 0..N {
        let sam = &i2p_env[&format!("I2P_SAM_{}", i + 1)];
        let (public, private) = rt.block_on(beat_core::net::sam::generate_destination(sam)).unwrap();
        std::fs::create_dir_all(d.join(format!("node-{i}"))).unwrap();
        std::fs::write(d.join(format!("node-{i}/i2p-destination.key")), private).unwrap();
        b32.push(beat_core::net::sam::b32_address(&public).unwrap());
    }
    let onions: Vec<String> = (0..N).map(|i| tor_env[&format!("TOR_ONION_{i}")].clone()).collect();
    // Tor serves each node's onion at the address the cluster file lists (the key we derived).
    for (i, onion) in onions.iter().enumerate() {
        let host = onion.split(':').next().unwrap();
        assert!(cluster.nodes[i].addresses.tor.as_deref().unwrap().starts_with(host), "node {i}: tor serves {onion}");
    }

    // The daemons.
    let commits = Arc::new(Mutex::new(Commits { epoch: vec![0; N] }));
    let mut nodes = Vec::new();
    for i in 0..N {
        let socks = [
            ("BEAT_TOR_SOCKS", tor_env[&format!("TOR_SOCKS_{i}")].clone()),
            ("BEAT_TOR_LISTEN", tor_env[&format!("TOR_HS_TARGET_{i}")].clone()),
            ("BEAT_TOR_PEERS", onions.join(",")),
            ("BEAT_I2P_SAM", i2p_env[&format!("I2P_SAM_{}", i + 1)].clone()),
            ("BEAT_I2P_PEERS", b32.join(",")),
        ];
        nodes.push(start_node(d, i, &socks, &commits));
    }
    let epochs = || commits.lock().unwrap().epoch.clone();
    match wait_for(Duration::from_secs(300), || links_up(&ALL)) {
        Some(t) => println!("netns: every (peer, network) link up after {} s", t.as_secs()),
        None => println!("netns: not every link up after 300 s: [{}]", links_summary()),
    }

    // Bad input first, while every network is fresh: a stranger on I2P, garbage elsewhere.
    let stranger =
        rt.block_on(beat_core::net::sam::SamSession::create(&i2p_env["I2P_SAM_0"], "beat-bad-peer", None, &[]));
    let stranger = stranger.expect("a SAM session for the bad peer");

    // Bad input on every listener: clearnet, the onion service's local target, and over I2P.
    let refused_before = refused_total();
    for i in 0..N {
        for port in [
            CLEARNET_BASE + i as u16,
            tor_env[&format!("TOR_HS_TARGET_{i}")].rsplit(':').next().unwrap().parse().unwrap(),
        ] {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
                let _ = s.write_all(&[0, 5, 1, 2, 3, 4, 5]);
                let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
                let _ = s.read(&mut [0u8; 64]);
            }
        }
    }
    // Over I2P: a stranger's destination sends garbage to every node (within 2 minutes).
    let i2p_bad = rt.block_on(async {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        let mut sent = 0;
        for dest in &b32 {
            while tokio::time::Instant::now() < deadline {
                let attempt = tokio::time::timeout(Duration::from_secs(20), stranger.connect(dest)).await;
                if let Ok(Ok(mut s)) = attempt {
                    use tokio::io::AsyncWriteExt as _;
                    let _ = s.write_all(&[0, 5, 1, 2, 3, 4, 5]).await;
                    let _ = tokio::time::timeout(
                        Duration::from_secs(20),
                        tokio::io::AsyncReadExt::read(&mut s, &mut [0u8; 64]),
                    )
                    .await;
                    sent += 1;
                    break;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        sent
    });
    println!("netns bad input over i2p reached {i2p_bad}/{N} nodes");
    let expected = 2 * N as u64 + i2p_bad;
    let refused = wait_for(Duration::from_secs(30), || refused_total() >= refused_before + expected)
        .map(|_| refused_total() - refused_before);
    let refused = refused.unwrap_or_else(|| refused_total() - refused_before);
    let before = epochs();
    let still = wait_for(Duration::from_secs(60), || epochs().iter().zip(&before).all(|(n, b)| n > b)).is_some();
    println!("netns bad input refused={refused} still_committing={still}");

    // The cases.
    struct Case {
        blocked: Vec<Net>,
        latency: Option<Duration>,
        commits: u64,
        /// Commits per minute after the first (the slowest node's).
        per_min: f64,
    }
    let mut cases: Vec<Case> = Vec::new();
    let window = Duration::from_secs(30);
    let mut singles_and_pairs: Vec<Vec<Net>> = vec![
        vec![],
        vec![Net::Clearnet],
        vec![Net::Tor],
        vec![Net::I2p],
        vec![Net::Clearnet, Net::Tor],
        vec![Net::Clearnet, Net::I2p],
        vec![Net::Tor, Net::I2p],
    ];
    // `BEAT_NETNS_CASES=clearnet+tor,…` runs only those cases (by what is blocked; `none`;
    // `arti` for the in-process Tor case), for working on one network; the full test runs
    // them all.
    let only_cases = std::env::var("BEAT_NETNS_CASES").ok();
    if let Some(only) = &only_cases {
        let wanted: Vec<&str> = only.split(',').map(str::trim).collect();
        singles_and_pairs.retain(|b| wanted.contains(&case_name(b).as_str()));
        assert!(!singles_and_pairs.is_empty() || wanted.contains(&"arti"), "BEAT_NETNS_CASES={only}: no such case");
        assert!(cfg!(feature = "tor") || !wanted.contains(&"arti"), "BEAT_NETNS_CASES=arti needs --features tor");
    }
    for blocked in singles_and_pairs {
        let open: Vec<Net> = ALL.iter().copied().filter(|n| !blocked.contains(n)).collect();
        // Let the networks left open carry every link before the others close (I2P links come
        // and go; the case's commits are what is asserted).
        censor.block(&[]);
        if wait_for(Duration::from_secs(90), || links_up(&open)).is_none() {
            println!("netns: not every link up on {open:?} after 90 s: [{}]", links_summary());
        }
        censor.block(&blocked);
        // The first commit at every node after the censor closed, then the commits over the
        // next window (what the open networks sustain).
        let before = epochs();
        let traffic_before = traffic();
        let t = Instant::now();
        let latency = wait_for(Duration::from_secs(120), || {
            let now = epochs();
            now.iter().zip(&before).all(|(n, b)| n > b)
        });
        let first = epochs();
        let t_first = Instant::now();
        if std::env::var("BEAT_NETNS_TRACE").is_ok() {
            while t_first.elapsed() < window {
                std::thread::sleep(Duration::from_secs(5));
                println!("netns trace {:?} epochs={:?} {}", t_first.elapsed(), epochs(), link_table(Net::I2p));
            }
        }
        std::thread::sleep(window.saturating_sub(t_first.elapsed()));
        let (commits, per_min) = window_rate(&before, &first, &epochs(), latency.is_some(), t_first.elapsed());
        let span = t.elapsed().as_secs();
        let sent = traffic_since(&traffic_before);
        println!(
            "netns case blocked={} first_commit_ms={:?} commits={commits} per_min={per_min:.1} in_s={span} links_up=[{}] rtt_ms=[{}] sent/skipped=[{}]",
            case_name(&blocked),
            latency.map(|l| l.as_millis()),
            links_summary(),
            rtt_summary(),
            sent
        );
        cases.push(Case { blocked, latency, commits, per_min });
    }
    // All three blocked: after what was in flight settles, nothing commits.
    censor.block(&ALL);
    std::thread::sleep(Duration::from_secs(5));
    let before = epochs();
    std::thread::sleep(Duration::from_secs(15));
    let stalled = epochs() == before;
    println!("netns case blocked=clearnet+tor+i2p stalled={stalled} epochs={before:?} links_up=[{}]", links_summary());
    cases.push(Case { blocked: ALL.to_vec(), latency: None, commits: 0, per_min: 0.0 });
    // Each network reopens alone after everything was blocked: the committee resumes on it.
    let mut resumed: Vec<(Net, Option<Duration>)> = Vec::new();
    for reopen in [Net::Clearnet, Net::Tor, Net::I2p] {
        censor.block(&ALL);
        std::thread::sleep(Duration::from_secs(10));
        let before = epochs();
        let rest: Vec<Net> = ALL.iter().copied().filter(|n| *n != reopen).collect();
        censor.block(&rest);
        let resumed_in = wait_for(Duration::from_secs(120), || epochs().iter().zip(&before).all(|(n, b)| n > b));
        println!(
            "netns resume after reopening {}: {:?} ms links_up=[{}]",
            reopen.name(),
            resumed_in.map(|d| d.as_millis()),
            links_summary()
        );
        resumed.push((reopen, resumed_in));
    }
    censor.block(&[]);
    let resume_limit = Duration::from_secs(10);

    // Tor in-process (feature `tor`): the same daemons restarted with `BEAT_TOR=arti` on the
    // same private Tor network, with clearnet and I2P blocked. Their tor clients stop first:
    // arti serves the same onion addresses (both derive from the node's identity).
    // `BEAT_NETNS_CASES` without `arti` skips it.
    #[cfg(feature = "tor")]
    let arti: Option<ArtiCase> = only_cases.as_deref().is_none_or(|c| c.split(',').any(|c| c.trim() == "arti")).then(|| {
        drop(std::mem::take(&mut nodes));
        stop_tor_clients(&tor_dir);
        censor.block(&[Net::Clearnet, Net::I2p]);
        let before = epochs();
        for i in 0..N {
            let arti = [
                ("BEAT_TOR", "arti".to_string()),
                ("BEAT_TOR_TESTNET", tor_dir.to_str().unwrap().to_string()),
                ("BEAT_I2P_SAM", i2p_env[&format!("I2P_SAM_{}", i + 1)].clone()),
                ("BEAT_I2P_PEERS", b32.join(",")),
            ];
            nodes.push(start_node(d, i, &arti, &commits));
        }
        // Bootstrap, publish the onion services, dial: minutes at most on this network. A
        // daemon that exits (a bad setting) fails the test at once.
        let t = Instant::now();
        let traffic_before = traffic();
        let latency = wait_for(Duration::from_secs(600), || {
            for (i, n) in nodes.iter_mut().enumerate() {
                assert!(n.child.try_wait().unwrap().is_none(), "arti node {i} exited");
            }
            epochs().iter().zip(&before).all(|(n, b)| n > b)
        });
        // Every Tor link up before the window, as in the other cases.
        if latency.is_some() && wait_for(Duration::from_secs(120), || links_up(&[Net::Tor])).is_none() {
            println!("netns: not every arti link up after 120 s: [{}]", links_summary());
        }
        let first = epochs();
        let t_first = Instant::now();
        std::thread::sleep(window);
        let (commits, per_min) = window_rate(&before, &first, &epochs(), latency.is_some(), t_first.elapsed());
        let sent = traffic_since(&traffic_before);
        println!(
            "netns case arti blocked=clearnet+i2p first_commit_ms={:?} commits={commits} per_min={per_min:.1} in_s={} links_up=[{}] rtt_ms=[{}] sent/skipped=[{}]",
            latency.map(|l| l.as_millis()),
            t.elapsed().as_secs(),
            links_summary(),
            rtt_summary(),
            sent
        );
        // Every network blocked for 10 s (arti's circuits time out): once what was in flight
        // settles, nothing commits (so the censor does cut arti off); then Tor reopens alone.
        censor.block(&ALL);
        std::thread::sleep(Duration::from_secs(4));
        let before = epochs();
        std::thread::sleep(Duration::from_secs(6));
        let arti_stalled = epochs() == before;
        println!("netns case arti blocked=clearnet+tor+i2p stalled={arti_stalled} epochs={before:?}");
        assert!(arti_stalled, "the arti nodes committed with every network blocked: {before:?} -> {:?}", epochs());
        censor.block(&[Net::Clearnet, Net::I2p]);
        let resume = wait_for(Duration::from_secs(120), || epochs().iter().zip(&before).all(|(n, b)| n > b));
        println!(
            "netns resume after reopening tor (arti): {:?} ms links_up=[{}]",
            resume.map(|d| d.as_millis()),
            links_summary()
        );
        censor.block(&[]);
        (latency.map(|_| (commits, per_min)), resume)
    });
    #[cfg(not(feature = "tor"))]
    let arti: Option<ArtiCase> = None;
    // Every network's resume time, and arti's when its case ran.
    let all_resumed: Vec<(&str, Option<Duration>)> =
        resumed.iter().map(|(net, r)| (net.name(), *r)).chain(arti.map(|(_, r)| ("arti", r))).collect();
    let resumed_ok = all_resumed.iter().all(|(_, r)| r.is_some_and(|r| r <= resume_limit));
    let resume_ms: Vec<String> = all_resumed
        .iter()
        .map(|(name, r)| format!("{name}:{}", r.map_or("none".into(), |r| r.as_millis().to_string())))
        .collect();
    let arti_commits = arti.map_or("n/a".to_string(), |(a, _)| a.map_or(0, |(c, _)| c).to_string());
    let arti_per_min = arti.map_or("n/a".to_string(), |(a, _)| format!("{:.1}", a.map_or(0.0, |(_, p)| p)));

    let open_cases: Vec<&Case> = cases.iter().filter(|c| c.blocked.len() < 3).collect();
    let commits_with_one_open = open_cases.iter().all(|c| c.latency.is_some());
    let only_case = |open: Net| cases.iter().find(|c| c.blocked.len() == 2 && !c.blocked.contains(&open));
    let only = |open: Net| only_case(open).map_or(0, |c| c.commits);
    let only_per_min = |open: Net| only_case(open).map_or(0.0, |c| c.per_min);
    let yes = |b: bool| if b { "yes" } else { "no" };
    println!(
        "BEAT-NET cases={} commits_with_one_open={} stalled_when_all_blocked={} resumed={} tor_only_commits={} i2p_only_commits={} i2p_only_commits_per_min={:.1} tor_only_commits_per_min={:.1} arti_only_commits={arti_commits} arti_only_commits_per_min={arti_per_min} refused_bad_peers={refused} resume_ms={}",
        cases.len() + usize::from(arti.is_some()),
        yes(commits_with_one_open),
        yes(stalled),
        yes(resumed_ok),
        only(Net::Tor),
        only(Net::I2p),
        only_per_min(Net::I2p),
        only_per_min(Net::Tor),
        resume_ms.join(","),
    );
    println!("netns total {} s", started.elapsed().as_secs());
    // Every network alone carries the committee (I2P included); Tor alone at least one commit
    // per 2 s on average after the first; the committee resumes on every network that reopens,
    // within 10 s on clearnet and Tor. I2P alone is measured, not held to a rate: over the
    // private emissary network its streams still stall for seconds at a time (docs/guide.md,
    // "Networks by the numbers"): 4–6 commits a minute and a resume in 13–18 s with the
    // vendored lease patches (two stream timeout patches, which did better outside CI, failed
    // this resume limit in CI and were reverted: vendor/emissary-core/BEAT-PATCHES.md).
    for c in &cases {
        if c.blocked.len() < 3 {
            assert!(c.latency.is_some(), "no commit with {:?} blocked", c.blocked);
        }
    }
    if let Some(c) = only_case(Net::Tor) {
        assert!(c.per_min >= 30.0, "Tor alone: {:.1} commits per minute after the first (want >= 30)", c.per_min);
    }
    if let Some((arti, resume)) = arti {
        let (_, per_min) = arti.expect("no commit over Tor in-process (arti) with clearnet and I2P blocked");
        assert!(
            resume.is_some_and(|r| r <= resume_limit),
            "Tor in-process: no resume within 10 s of reopening Tor: {resume:?}"
        );
        assert!(per_min >= 30.0, "Tor in-process alone: {per_min:.1} commits per minute after the first (want >= 30)");
    }
    assert!(stalled, "the committee committed with every network blocked");
    for (net, r) in &resumed {
        let limit = if *net == Net::I2p { Duration::from_secs(120) } else { resume_limit };
        assert!(
            r.is_some_and(|r| r <= limit),
            "no resume within {} s of reopening {}: {r:?}",
            limit.as_secs(),
            net.name()
        );
    }
    assert!(refused >= expected && i2p_bad > 0, "bad peers not all refused: {refused} of {expected}");
    assert!(still, "stopped committing after bad input");
    drop(nodes);
}

/// Start daemon `i` on every network, with `env` saying how it reaches Tor and I2P; its
/// committed epochs go to `commits`.
fn start_node(d: &Path, i: usize, env: &[(&str, String)], commits: &Arc<Mutex<Commits>>) -> Node {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_beat"));
    if env.iter().any(|(k, v)| *k == "BEAT_TOR" && v == "arti") {
        std::os::unix::process::CommandExt::gid(&mut cmd, ARTI_GID);
    }
    let mut child = cmd
        .args([i.to_string(), (CLEARNET_BASE + i as u16).to_string(), (METRICS_BASE + i as u16).to_string()])
        .env("BEAT_CLUSTER", d.join("keys/cluster.toml"))
        .env("BEAT_KEY_FILE", d.join(format!("keys/node-{i}.key")))
        .env("BEAT_KEY_HEX_FILE", d.join(format!("keys/node-{i}.secret")))
        .env("BEAT_DATA_DIR", d.join(format!("node-{i}")))
        .env("BEAT_TRANSPORTS", "clearnet,tor,i2p")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("BEAT_LOAD_TPS", "20")
        .env("BEAT_LOG_COMMITS", "1")
        .env("RUST_LOG", std::env::var("BEAT_NETNS_NODE_LOG").unwrap_or_else(|_| "warn".into()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (out, err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let c = commits.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Some(e) = line.split("epoch=").nth(1).and_then(|v| v.split_whitespace().next()) {
                if let Ok(e) = e.parse::<u64>() {
                    let mut c = c.lock().unwrap();
                    c.epoch[i] = c.epoch[i].max(e + 1);
                }
            }
        }
    });
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if !line.contains("committed_txs=") {
                eprintln!("[node {i}] {line}");
            }
        }
    });
    Node { child }
}

/// The in-process Tor case, when it ran: (commits, commits per minute after the first) if it
/// committed, and how long it took to resume after Tor reopened.
type ArtiCase = (Option<(u64, f64)>, Option<Duration>);

/// Stop the node tor clients of `scripts/tor-testnet.sh` under `dir` (`node-*/data/pid`),
/// leaving its authorities and relays running.
#[cfg(feature = "tor")]
fn stop_tor_clients(dir: &Path) {
    let pids: Vec<String> = (0..N)
        .filter_map(|i| std::fs::read_to_string(dir.join(format!("node-{i}/data/pid"))).ok())
        .map(|p| p.trim().to_string())
        .collect();
    assert_eq!(pids.len(), N, "not every node tor client has a pid file under {}", dir.display());
    for pid in &pids {
        let _ = Command::new("kill").args(["-TERM", pid]).status();
    }
    // Gone, or a zombie nobody reaps (state `Z`): either way it serves nothing.
    let dead = |p: &String| {
        std::fs::read_to_string(format!("/proc/{p}/stat"))
            .map_or(true, |s| s.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('Z')))
    };
    let gone = wait_for(Duration::from_secs(30), || pids.iter().all(dead));
    assert!(gone.is_some(), "the node tor clients {pids:?} did not stop");
}

/// A case's name: what it blocks, e.g. `clearnet+tor`, or `none`.
fn case_name(blocked: &[Net]) -> String {
    let names: Vec<&str> = blocked.iter().map(|n| n.name()).collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join("+")
    }
}

/// Median link round trip per network over all nodes' links that are up, in ms (`-`: none).
fn rtt_summary() -> String {
    let texts: Vec<String> = (0..N).map(scrape).collect();
    ALL.iter()
        .map(|net| {
            let tag = format!("transport=\"{}\"", net.name());
            let mut rtts: Vec<f64> = texts
                .iter()
                .flat_map(|t| samples(t, "beat_net_link_rtt_seconds"))
                .filter(|(l, _)| l.contains(&tag))
                .map(|(_, v)| v * 1000.0)
                .collect();
            rtts.sort_by(f64::total_cmp);
            match rtts.get(rtts.len() / 2) {
                Some(m) => format!("{}:{m:.0}", net.name()),
                None => format!("{}:-", net.name()),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every node's links on `net`: `node>peer:rtt_ms/in_flight_bytes` (`down` when not up).
fn link_table(net: Net) -> String {
    let tag = format!("transport=\"{}\"", net.name());
    let mut out = Vec::new();
    for i in 0..N {
        let text = scrape(i);
        for peer in (0..N).filter(|p| *p != i) {
            let label = |l: &str| l.contains(&tag) && l.contains(&format!("peer=\"{peer}\""));
            let get = |name: &str| samples(&text, name).into_iter().find(|(l, _)| label(l)).map(|(_, v)| v);
            let up = get("beat_net_link_up") == Some(1.0);
            let rtt = get("beat_net_link_rtt_seconds").map_or(-1.0, |v| v * 1000.0);
            let inflight = get("beat_net_link_in_flight_bytes").unwrap_or(0.0);
            out.push(format!("{i}>{peer}:{}{rtt:.0}/{inflight:.0}", if up { "" } else { "down:" }));
        }
    }
    out.join(" ")
}

/// A case's commits since `before` (the slowest node's), and its commits per minute after
/// the first (`first`, `since_first` ago), if it committed at all.
fn window_rate(before: &[u64], first: &[u64], end: &[u64], committed: bool, since_first: Duration) -> (u64, f64) {
    let commits = end.iter().zip(before).map(|(a, b)| a - b).min().unwrap_or(0);
    let after_first = end.iter().zip(first).map(|(a, b)| a - b).min().unwrap_or(0);
    let per_min = if committed { after_first as f64 * 60.0 / since_first.as_secs_f64() } else { 0.0 };
    (commits, per_min)
}

/// `traffic()` since `before`, per network: `clearnet:<sent>/<skipped> tor:… i2p:…`.
fn traffic_since(before: &[(u64, u64)]) -> String {
    traffic()
        .iter()
        .zip(before)
        .zip(ALL)
        .map(|(((s, k), (s0, k0)), net)| format!("{}:{}/{}", net.name(), s - s0, k - k0))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Per network, over all nodes: frames sent, and frames skipped because the peer had
/// confirmed a copy on another network.
fn traffic() -> Vec<(u64, u64)> {
    let texts: Vec<String> = (0..N).map(scrape).collect();
    let total = |name: &str, net: Net| -> u64 {
        let tag = format!("transport=\"{}\"", net.name());
        texts.iter().flat_map(|t| samples(t, name)).filter(|(l, _)| l.contains(&tag)).map(|(_, v)| v as u64).sum()
    };
    ALL.iter()
        .map(|net| {
            (total("beat_net_messages_sent_total", *net), total("beat_net_messages_delivered_elsewhere_total", *net))
        })
        .collect()
}

fn refused_total() -> u64 {
    (0..N)
        .map(|i| samples(&scrape(i), "beat_net_connections_refused_total").iter().map(|(_, v)| *v as u64).sum::<u64>())
        .sum()
}

/// Links up per network over all nodes, e.g. `clearnet:0/12 tor:12/12 i2p:0/12`.
fn links_summary() -> String {
    let texts: Vec<String> = (0..N).map(scrape).collect();
    ALL.iter()
        .map(|net| {
            let tag = format!("transport=\"{}\"", net.name());
            let up: usize = texts
                .iter()
                .map(|t| samples(t, "beat_net_link_up").iter().filter(|(l, v)| l.contains(&tag) && *v == 1.0).count())
                .sum();
            format!("{}:{up}/{}", net.name(), N * (N - 1))
        })
        .collect::<Vec<_>>()
        .join(" ")
}
