//! The node runtime: a 4-node cluster over TCP on loopback, restart from the store, and the
//! daemon's refusal of bad configuration.
#![cfg(feature = "node")]
#![allow(clippy::unwrap_used)] // test helpers: a failure is a test failure

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use beat_core::app::KvApp;
use beat_core::beat::{self, NodeKeys};
use beat_core::driver::{wait_until, BeatNode, NodeConfig, SubmitError};
use beat_core::net::TransportConfig;
use beat_core::{Params, SessionId};
use rand::SeedableRng;

fn ports(n: usize) -> Vec<u16> {
    // Hold all listeners at once so the ports are distinct, then release them.
    let ls: Vec<TcpListener> = (0..n).map(|_| TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    ls.iter().map(|l| l.local_addr().unwrap().port()).collect()
}

fn identities(n: usize) -> Vec<beat_core::keystore::IdentityKey> {
    (0..n).map(|i| beat_core::keystore::IdentityKey::from_bytes(&[i as u8 + 1; 32])).collect()
}

fn config(keys: &NodeKeys, ports: &[u16], dir: &Path) -> NodeConfig {
    let ids = identities(ports.len());
    NodeConfig {
        keys: keys.clone(),
        identity: ids[keys.id].clone(),
        peer_identities: ids.iter().map(|i| i.public()).collect(),
        transports: vec![TransportConfig::Clearnet {
            listen: SocketAddr::from(([127, 0, 0, 1], ports[keys.id])),
            peers: ports.iter().map(|p| format!("127.0.0.1:{p}")).collect(),
        }],
        beat: beat::Config::default(),
        data_dir: dir.join(format!("node-{}", keys.id)),
        snapshot_every: 4,
        submit_queue: 1000,
        metrics_listen: None,
        peer_queue_bytes: beat_core::net::switch::PEER_QUEUE_BYTES,
        store: None,
        registry: None,
        censors: None,
        limits: None,
        audit_log: None,
        upkeep: Default::default(),
    }
}

fn cluster_keys(n: usize, seed: u64) -> Vec<NodeKeys> {
    cluster_keys_with(n, seed, 64)
}

fn cluster_keys_with(n: usize, seed: u64, batch_size: usize) -> Vec<NodeKeys> {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    let settings = beat::Settings { batch_size, ..beat::Settings::default() };
    beat::deal(Params::new(n).unwrap(), SessionId::from_name(&format!("node-test-{seed}")), settings, &mut rng)
}

fn applied(node: &BeatNode<KvApp>) -> (u64, u64) {
    node.with_app(|a| (a.applied_epochs, a.applied_txs)).unwrap()
}

#[test]
fn cluster_commits_restarts_and_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let keys = cluster_keys(4, 1);
    let ports = ports(4);
    let mut nodes: Vec<Option<BeatNode<KvApp>>> = keys
        .iter()
        .map(|k| Some(BeatNode::start(config(k, &ports, dir.path()), KvApp::default(), None).unwrap()))
        .collect();
    let submit = |nodes: &[Option<BeatNode<KvApp>>], from: usize, to: usize| {
        for i in from..to {
            let node = nodes[i % 4].as_ref().or(nodes[(i + 1) % 4].as_ref()).unwrap();
            node.submit(format!("set k{i} v{i}").into_bytes()).unwrap();
        }
    };
    // The application refuses what it cannot apply, with a clear error.
    assert!(matches!(nodes[0].as_ref().unwrap().submit(b"get k1".to_vec()), Err(SubmitError::Invalid(_))));
    submit(&nodes, 0, 200);
    let all_have = |nodes: &[Option<BeatNode<KvApp>>], txs: u64| {
        nodes.iter().flatten().all(|n| n.with_app(|a| a.map.len() as u64 >= txs).unwrap_or(false))
    };
    assert!(wait_until(Duration::from_secs(60), || all_have(&nodes, 200)), "cluster did not commit 200 transactions");

    // Stop node 3 (graceful), keep committing with the other three, then restart it from its
    // store: it replays its log, gets the backlog its peers kept for it, and converges.
    let before = applied(nodes[3].as_ref().unwrap());
    nodes[3].take().unwrap().shutdown();
    submit(&nodes, 200, 300);
    assert!(wait_until(Duration::from_secs(60), || all_have(&nodes, 300)), "three nodes did not go on committing");
    nodes[3] = Some(BeatNode::start(config(&keys[3], &ports, dir.path()), KvApp::default(), None).unwrap());
    let restarted = applied(nodes[3].as_ref().unwrap());
    assert!(restarted.0 >= before.0, "restart lost committed epochs: {restarted:?} < {before:?}");
    submit(&nodes, 300, 400);
    assert!(wait_until(Duration::from_secs(60), || all_have(&nodes, 400)), "restarted node did not converge");
    // Same committed state everywhere once all reached the same epoch (no lost, no duplicate
    // batch: `applied_txs` counts every applied transaction, replays included).
    assert!(wait_until(Duration::from_secs(30), || {
        let s: Vec<(u64, u64)> = nodes.iter().flatten().map(applied).collect();
        s.windows(2).all(|w| w[0] == w[1])
    }));
    let maps: Vec<_> = nodes.iter().flatten().map(|n| n.with_app(|a| a.clone()).unwrap()).collect();
    assert!(maps.windows(2).all(|w| w[0] == w[1]), "nodes disagree");
    assert_eq!(maps[0].map.len(), 400);
    // Checkpoints every 4 epochs truncated the WAL behind them.
    let st = nodes[0].as_ref().unwrap().status();
    assert!(st.epoch >= 8 && st.wal_retained < st.wal_records, "WAL not truncated: {st:?}");
    // Metrics move: epochs and transactions committed, frames on the clearnet transport.
    let text = nodes[0].as_ref().unwrap().metrics_text();
    let value = |name: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing from:\n{text}"))
    };
    assert!(value("beat_consensus_epochs_committed_total") >= 1.0);
    assert!(value("beat_consensus_transactions_committed_total") >= 400.0);
    assert!(value("beat_net_messages_sent_total{transport=\"clearnet\"}") > 0.0);
    assert!(value("beat_consensus_commit_latency_seconds_count") > 0.0);
    assert!(text.contains("beat_build_info{version="));
}

fn beat_bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_beat"))
}

fn refused(cmd: &mut Command, needle: &str) {
    let out = cmd.env_remove("BEAT_NODE_ID").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "expected exit 2, stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one error line, got: {err}");
    assert!(err.contains(needle), "error {err:?} does not mention {needle:?}");
}

/// `--config FILE` fills in what the environment does not set (the environment wins), refuses
/// unknown keys with one line; `--version` and `<command> --help` answer and exit 0.
#[test]
fn daemon_config_file_version_and_help() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("beat.toml");
    std::fs::write(&file, "BEAT_NODE_ID = 9\nBEAT_API_LISTEN = \"off\"\n").unwrap();
    // From the file: node 9 is refused as the environment's would be.
    refused(beat_bin().arg("--config").arg(&file), "node id 9 is not in a committee of 4");
    // An empty variable counts as unset: the file's value applies.
    let out = beat_bin().arg("--config").arg(&file).env("BEAT_NODE_ID", "").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("node id 9 is not in a committee"), "{out:?}");
    // The environment wins over the file.
    let out = beat_bin().arg("--config").arg(&file).env("BEAT_NODE_ID", "8").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("node id 8 is not in a committee"), "{err}");
    std::fs::write(&file, "BEAT_NODE_ID = 0\nBEAT_NOPE = 1\n").unwrap();
    refused(beat_bin().arg("--config").arg(&file), "unknown setting \"BEAT_NOPE\"");
    refused(beat_bin().arg("--config").arg(dir.path().join("missing.toml")), "missing.toml");
    let v = beat_bin().arg("--version").output().unwrap();
    let v = String::from_utf8_lossy(&v.stdout);
    assert!(v.starts_with("beat ") && v.contains("(git ") && v.contains("features: node"), "{v}");
    for cmd in ["keygen", "local", "onion-key", "client"] {
        let out = beat_bin().args([cmd, "--help"]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "beat {cmd} --help");
        assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("Usage: beat {cmd}")), "beat {cmd} --help");
    }
    // A flag wins over the environment (which wins over the file, above).
    refused(
        beat_bin().args(["0", "--peers", "127.0.0.1:1,127.0.0.1:2,127.0.0.1:3"]).env("BEAT_PEERS", "127.0.0.1:7000"),
        "names 3 nodes",
    );
    // --help lists every setting with its variable, and never a secret's value.
    let help = beat_bin()
        .arg("--help")
        .env("BEAT_PASSPHRASE", "hunter2-passphrase")
        .env("BEAT_KEY_HEX", "00ff00ff")
        .env("BEAT_PEERS", "127.0.0.9:7000")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for needle in
        ["BEAT_PEERS=127.0.0.9:7000", "--peers", "BEAT_DATA_DIR", "BEAT_I2P_SAM", "--api-listen", "BEAT_PASSPHRASE"]
    {
        assert!(help.contains(needle), "--help lacks {needle}:\n{help}");
    }
    assert!(!help.contains("hunter2") && !help.contains("00ff00ff"), "--help shows a secret:\n{help}");
    // Command-line mistakes: one line, exit 2, naming the problem and the command's help.
    refused(beat_bin().arg("--bogus"), "unexpected argument '--bogus'");
    refused(beat_bin().args(["0", "7000", "9090", "extra"]), "'extra'");
    refused(beat_bin().args(["keygen", "--nodes", "4"]), "--out <DIR>");
    refused(beat_bin().arg("client"), "beat client needs a command");
    refused(beat_bin().args(["client", "bench", "--clients", "1,x"]), "--clients");
    refused(beat_bin().args(["0", "keygen", "--out", "x"]), "before the command");
    // Key material is never taken from the command line (every process can read it), and an
    // error never echoes it.
    for flag in ["--passphrase", "--key-hex"] {
        let out = beat_bin().args([flag, "-correct horse", "0"]).env_remove("BEAT_NODE_ID").output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("visible to every process") && !err.contains("horse"), "{err}");
    }
    std::fs::write(&file, "BEAT_PASSPHRASE = \"hunter2 unterminated\n").unwrap();
    refused(beat_bin().arg("--config").arg(&file), "line 1");
    let out = beat_bin().arg("--config").arg(&file).output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("hunter2"), "a config error echoes a secret");
    // --config before a command, and `beat version`.
    std::fs::write(&file, "BEAT_API_LISTEN = \"off\"\n").unwrap();
    let out = beat_bin().arg("--config").arg(&file).arg("openapi").output().unwrap();
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("\"openapi\""), "{out:?}");
    let out = beat_bin().arg("version").output().unwrap();
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).starts_with("beat "), "{out:?}");
}

#[test]
fn daemon_refuses_bad_config_with_one_clear_line() {
    refused(beat_bin().arg("9"), "not in a committee of 4");
    refused(beat_bin().arg("x"), "is not a number");
    refused(beat_bin().arg("0").env("BEAT_PEERS", "127.0.0.1:7000,nonsense"), "is not host:port");
    refused(beat_bin().arg("0").env("BEAT_PEERS", "127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002"), "names 3 nodes");
    refused(beat_bin().args(["0", "99999"]), "not a port number");
    refused(
        beat_bin().arg("0").env("BEAT_PEERS", "10.0.0.1:7000,10.0.0.2:7000,10.0.0.3:7000,10.0.0.4:7000"),
        "insecure dev keys are only for loopback",
    );
    refused(beat_bin().arg("0").env("BEAT_CLUSTER", "/nonexistent/cluster.toml"), "BEAT_CLUSTER /nonexistent");
    // Real keys: each key file sealed under its own secret; a wrong secret, another node's
    // secret or key file, or settings that differ from the cluster file's are one clear error.
    let keys = tempfile::tempdir().unwrap();
    refused(
        beat_bin().args(["keygen", "--nodes", "4", "--out"]).arg(keys.path()).env("BEAT_PASSPHRASE", "one for all"),
        "each key file under its own secret",
    );
    refused(beat_bin().args(["keygen", "--nodes", "4", "--batch-size", "0", "--out"]).arg(keys.path()), "--batch-size");
    let out =
        beat_bin().args(["keygen", "--nodes", "4", "--variant", "BEAT1", "--out"]).arg(keys.path()).output().unwrap();
    assert!(out.status.success(), "keygen: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("BEAT1") && stdout.contains("node-<id>.secret"), "{stdout}");
    let cluster = keys.path().join("cluster.toml");
    let secret = |i: usize| keys.path().join(format!("node-{i}.secret"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for i in 0..4 {
            assert_eq!(std::fs::metadata(secret(i)).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
    refused(
        beat_bin()
            .arg("1")
            .env("BEAT_CLUSTER", &cluster)
            .env("BEAT_KEY_FILE", keys.path().join("node-1.key"))
            .env("BEAT_PASSPHRASE", "wrong"),
        "BEAT_KEY_FILE",
    );
    // Node 2's secret does not open node 1's key file.
    refused(
        beat_bin()
            .arg("1")
            .env("BEAT_CLUSTER", &cluster)
            .env("BEAT_KEY_FILE", keys.path().join("node-1.key"))
            .env("BEAT_KEY_HEX_FILE", secret(2)),
        "BEAT_KEY_FILE",
    );
    refused(
        beat_bin()
            .arg("1")
            .env("BEAT_CLUSTER", &cluster)
            .env("BEAT_KEY_FILE", keys.path().join("node-2.key"))
            .env("BEAT_KEY_HEX_FILE", secret(2)),
        "not node 1's",
    );
    refused(
        beat_bin()
            .arg("1")
            .env("BEAT_CLUSTER", &cluster)
            .env("BEAT_KEY_FILE", keys.path().join("node-1.key"))
            .env("BEAT_KEY_HEX_FILE", secret(1))
            .env("BEAT_VARIANT", "BEAT0"),
        "differs from the cluster file's [consensus] variant BEAT1",
    );
    // A cluster file edited to other consensus settings no longer matches the key files.
    let edited = keys.path().join("edited.toml");
    let text = std::fs::read_to_string(&cluster).unwrap();
    std::fs::write(&edited, text.replace("batch_size = 1000", "batch_size = 999")).unwrap();
    refused(
        beat_bin()
            .arg("1")
            .env("BEAT_CLUSTER", &edited)
            .env("BEAT_KEY_FILE", keys.path().join("node-1.key"))
            .env("BEAT_KEY_HEX_FILE", secret(1)),
        "[consensus] settings",
    );
    // Tor settings: an unknown mode, arti settings without arti, a tor daemon's settings with
    // arti, and (arti) an onion that is not the one this node's identity gives.
    let node1 = || {
        let mut c = beat_bin();
        c.arg("1")
            .env("BEAT_CLUSTER", &cluster)
            .env("BEAT_KEY_FILE", keys.path().join("node-1.key"))
            .env("BEAT_KEY_HEX_FILE", secret(1))
            .env("BEAT_TRANSPORTS", "tor");
        c
    };
    let onion = |c: char| format!("{}.onion:80", c.to_string().repeat(56));
    let onions = ['a', 'b', 'c', 'd'].map(onion).join(",");
    refused(node1().env("BEAT_TOR", "tor-daemon"), "BEAT_TOR \"tor-daemon\" is neither `socks`");
    refused(node1().env("BEAT_TOR_TESTNET", "/tmp"), "BEAT_TOR_TESTNET is for BEAT_TOR=arti");
    refused(node1().env("BEAT_TOR", "arti").env("BEAT_TRANSPORTS", "clearnet"), "BEAT_TRANSPORTS does not name tor");
    refused(node1().env("BEAT_TOR", "socks").env_remove("BEAT_TRANSPORTS"), "BEAT_TOR=socks needs BEAT_TOR_SOCKS");
    if cfg!(feature = "tor") {
        refused(node1().env("BEAT_TOR", "arti").env("BEAT_TOR_PEERS", "x.onion:80"), "BEAT_TOR_PEERS names 1 nodes");
        let mut peers = node1();
        peers.env("BEAT_TOR", "arti").env("BEAT_TOR_PEERS", &onions).env("BEAT_TOR_SOCKS", "127.0.0.1:9");
        refused(&mut peers, "BEAT_TOR_SOCKS is for a tor daemon");
        refused(node1().env("BEAT_TOR", "arti").env("BEAT_TOR_PEERS", &onions), "the onion its identity gives");
    } else {
        refused(node1().env("BEAT_TOR", "arti").env("BEAT_TOR_PEERS", &onions), "built without Tor in-process");
    }
    refused(beat_bin().args(["keygen", "--nodes", "4", "--out"]).arg(keys.path()), "exists");
    refused(beat_bin().arg("1").env("BEAT_CLUSTER", &cluster), "set both BEAT_CLUSTER and BEAT_KEY_FILE");
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let peers = format!("127.0.0.1:{port},127.0.0.1:1,127.0.0.1:2,127.0.0.1:3");
    // Port in use: the node listens on 0.0.0.0:<port>, which the loopback listener blocks on Linux.
    let out = beat_bin()
        .args(["0", &port.to_string()])
        .env("BEAT_PEERS", &peers)
        .env("BEAT_DATA_DIR", dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(err.contains("cannot listen"), "{err}");
    drop(busy);
}

/// A node that lost its disk while the others ran 100+ epochs comes back empty, fetches the
/// committed epochs from its peers (f + 1 matching answers), applies them, and rejoins.
#[test]
fn wiped_node_catches_up_over_100_epochs() {
    let dir = tempfile::tempdir().unwrap();
    let keys = cluster_keys_with(4, 2, 4);
    let ports = ports(4);
    let mut cfgs: Vec<NodeConfig> = keys.iter().map(|k| config(k, &ports, dir.path())).collect();
    for c in &mut cfgs {
        // Keep little backlog for an absent peer, so node 3 must fetch committed epochs.
        c.peer_queue_bytes = 64 << 10;
    }
    let mut nodes: Vec<Option<BeatNode<KvApp>>> =
        cfgs.iter().take(3).map(|c| Some(BeatNode::start(c.clone(), KvApp::default(), None).unwrap())).collect();
    nodes.push(None);
    let mut i = 0u64;
    // Offer load only while the submitter's queue is short: a backlog of hundreds of queued
    // transactions would keep the cluster running epochs long after the test stops submitting,
    // and the final comparison needs it to go quiet.
    let offer = |nodes: &[Option<BeatNode<KvApp>>], i: u64| {
        let n = nodes[(i % 3) as usize].as_ref().unwrap();
        if n.status().submit_queue < 8 {
            let _ = n.submit(format!("set c{i} {i}").into_bytes());
        }
    };
    let ok = wait_until(Duration::from_secs(120), || {
        for _ in 0..4 {
            i += 1;
            offer(&nodes, i);
        }
        nodes[0].as_ref().unwrap().status().epoch >= 110
    });
    assert!(ok, "three nodes did not reach epoch 110");
    // Node 3 starts with an empty store.
    let mut c3 = cfgs[3].clone();
    c3.data_dir = dir.path().join("node-3-fresh");
    nodes[3] = Some(BeatNode::start(c3, KvApp::default(), None).unwrap());
    let target = nodes[0].as_ref().unwrap().status().epoch;
    let caught = wait_until(Duration::from_secs(120), || {
        offer(&nodes, i);
        i += 1;
        nodes[3].as_ref().unwrap().status().epoch >= target + 2
    });
    let s3 = nodes[3].as_ref().unwrap().status();
    assert!(caught, "node 3 did not catch up: {s3:?}, others at {target}");
    assert!(s3.caught_up_epochs >= 100, "only {} epochs by catch-up", s3.caught_up_epochs);
    // Load stops; once the queues drain the cluster goes quiet, and node 3's state equals the
    // others' at the same epoch (node 3 may still be catching up the epochs the others ran
    // meanwhile: on a loaded machine, many).
    let quiet = wait_until(Duration::from_secs(120), || {
        let idle = nodes.iter().flatten().all(|n| {
            let s = n.status();
            s.submit_queue == 0 && s.buffered == 0
        });
        let s: Vec<(u64, u64)> = nodes.iter().flatten().map(applied).collect();
        idle && s.windows(2).all(|w| w[0] == w[1])
    });
    let s: Vec<(u64, u64)> = nodes.iter().flatten().map(applied).collect();
    let st: Vec<_> = nodes.iter().flatten().map(|n| n.status()).collect();
    assert!(quiet, "nodes did not settle on one state: (epochs, txs) applied = {s:?}; status: {st:#?}");
    let maps: Vec<_> = nodes.iter().flatten().map(|n| n.with_app(|a| a.map.clone()).unwrap()).collect();
    assert!(maps.windows(2).all(|w| w[0] == w[1]), "caught-up node disagrees");
}

/// Torn or truncated store tails (a write cut short by a crash or a full disk): reopening
/// either gives back every committed epoch and WAL record exactly, or refuses with an error —
/// it never panics and never returns altered data.
#[test]
fn torn_store_tails_are_harmless_or_refused() {
    use beat_core::state::{RedbStore, Store};
    let dir = tempfile::tempdir().unwrap();
    let records: Vec<Vec<u8>> =
        (0..200u32).map(|i| format!("record {i} {}", "x".repeat(i as usize)).into_bytes()).collect();
    {
        let store = RedbStore::open(dir.path()).unwrap();
        for (i, r) in records.iter().enumerate() {
            store.wal_append(&[(i as u64, r)]).unwrap();
            store.put_committed(i as u64, r).unwrap();
        }
    }
    let file = dir.path().join(beat_core::state::redb_store::FILE_NAME);
    let original = std::fs::read(&file).unwrap();
    for cut in [1usize, 7, 100, 4096, original.len() / 3, original.len() / 2] {
        for extend in [false, true] {
            let mut damaged = original.clone();
            if extend {
                damaged.extend((0..cut).map(|i| (i * 131 % 251) as u8));
            } else {
                damaged.truncate(original.len().saturating_sub(cut));
            }
            std::fs::write(&file, &damaged).unwrap();
            match RedbStore::open(dir.path()) {
                Ok(store) => {
                    let wal = store.wal_iter(0);
                    let intact = wal.as_ref().is_ok_and(|w| {
                        w.len() == records.len() && w.iter().zip(&records).all(|((s, b), r)| b == r && *s < 200)
                    });
                    let committed_ok = (0..200u64).all(|e| match store.get_committed(e) {
                        Ok(Some(b)) => b == records[e as usize],
                        Ok(None) => false,
                        Err(_) => true, // refused: acceptable
                    });
                    assert!(wal.is_err() || intact, "cut={cut} extend={extend}: WAL came back altered");
                    assert!(committed_ok, "cut={cut} extend={extend}: a committed epoch came back altered or lost");
                }
                Err(e) => assert!(!e.to_string().is_empty()),
            }
        }
    }
    std::fs::write(&file, &original).unwrap();
    assert!(RedbStore::open(dir.path()).is_ok(), "the undamaged file must open again");
}

/// An embedder passes its own store (here in memory) and its own metrics registry.
#[test]
fn embedder_store_and_registry() {
    use prometheus_client::metrics::counter::Counter;
    use std::sync::{Arc, Mutex};
    let dir = tempfile::tempdir().unwrap();
    let keys = cluster_keys(4, 3);
    let ports = ports(4);
    let mut host = prometheus_client::registry::Registry::default();
    let host_counter: Counter = Counter::default();
    host.register("host_requests", "the host's own metric", host_counter.clone());
    host_counter.inc();
    let host = Arc::new(Mutex::new(host));
    let nodes: Vec<BeatNode<KvApp>> = keys
        .iter()
        .map(|k| {
            let mut c = config(k, &ports, dir.path());
            c.store = Some(Arc::new(beat_core::state::MemStore::default()));
            if k.id == 0 {
                c.registry = Some(host.clone());
            }
            BeatNode::start(c, KvApp::default(), None).unwrap()
        })
        .collect();
    for i in 0..20 {
        nodes[i % 4].submit(format!("set m{i} {i}").into_bytes()).unwrap();
    }
    assert!(wait_until(Duration::from_secs(60), || nodes.iter().all(|n| applied(n).1 >= 20)));
    assert!(!dir.path().join("node-0").exists(), "a node with its own store must not create a redb store");
    let text = beat_core::metrics::render(&host);
    assert!(text.contains("host_requests_total 1"), "{text}");
    assert!(text.contains("beat_consensus_epochs_committed_total"), "{text}");
}

/// An async embedder: two nodes with `spawn` on the caller's (single-threaded) runtime, two
/// with `start` called from inside it; they commit together and stop cleanly from async code.
#[test]
fn nodes_run_inside_an_embedders_runtime() {
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let keys = cluster_keys(4, 11);
    let ports = ports(4);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut nodes = Vec::new();
        for k in &keys {
            let mut c = config(k, &ports, dir.path());
            c.store = Some(Arc::new(beat_core::state::MemStore::default()));
            let node = if k.id < 2 {
                BeatNode::spawn(c, KvApp::default(), None).await.unwrap()
            } else {
                BeatNode::start(c, KvApp::default(), None).unwrap()
            };
            nodes.push(node);
        }
        for i in 0..12 {
            nodes[i % 4].submit(format!("set e{i} {i}").into_bytes()).unwrap();
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while !nodes.iter().all(|n| applied(n).1 >= 12) {
            assert!(tokio::time::Instant::now() < deadline, "no commits: {:?}", nodes[0].status());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut nodes = nodes.into_iter();
        for n in nodes.by_ref().take(2) {
            n.shutdown_async().await;
        }
        // Nodes with their own runtime stop from async code too (no panic).
        for n in nodes {
            n.shutdown();
        }
    });
}

/// BEAT2 through `BeatNode`: a plaintext (or a ciphertext for another committee) is refused at
/// submit with a clear error; clients' ciphertexts are ordered and every node's application
/// gets the same plaintexts, each once, whichever node it was submitted to.
#[test]
fn beat2_orders_client_ciphertexts_and_apps_see_plaintexts() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(22);
    let settings = beat::Settings { variant: beat::Variant::Beat2, batch_size: 16, ..beat::Settings::default() };
    let keys = beat::deal(Params::new(4).unwrap(), SessionId::from_name("node-test-beat2"), settings.clone(), &mut rng);
    let other = beat::deal(Params::new(4).unwrap(), SessionId::from_name("another committee"), settings, &mut rng);
    let ports = ports(4);
    let nodes: Vec<BeatNode<KvApp>> =
        keys.iter().map(|k| BeatNode::start(config(k, &ports, dir.path()), KvApp::default(), None).unwrap()).collect();

    let plain = nodes[0].submit(b"set a 1".to_vec());
    assert!(matches!(plain, Err(SubmitError::NotClientEncrypted(_))), "{plain:?}");
    let msg = plain.unwrap_err().to_string();
    assert!(msg.contains("client-encrypted") && msg.contains("Client::encrypt"), "{msg}");
    let mut stranger = beat::client::Client::new(other[0].public.clone(), 1);
    let foreign = nodes[0].submit(stranger.encrypt(b"set x 1", &mut rng));
    assert!(matches!(foreign, Err(SubmitError::NotClientEncrypted(_))), "{foreign:?}");

    let mut clients: Vec<beat::client::Client> =
        (0..3).map(|c| beat::client::Client::new(keys[0].public.clone(), 100 + c)).collect();
    let total = 60u64;
    for i in 0..total {
        let c = &mut clients[(i % 3) as usize];
        let tx = c.encrypt(format!("set k{i} {i}").as_bytes(), &mut rng);
        assert!(nodes[(i % 4) as usize].submit(tx).is_ok());
    }
    let done = wait_until(Duration::from_secs(60), || {
        nodes.iter().all(|n| n.with_app(|a| a.map.len() as u64).unwrap() == total)
    });
    let sizes: Vec<u64> = nodes.iter().map(|n| n.with_app(|a| a.map.len() as u64).unwrap()).collect();
    assert!(done, "not every node applied {total} plaintexts: {sizes:?}");
    let maps: Vec<_> = nodes.iter().map(|n| n.with_app(|a| a.map.clone()).unwrap()).collect();
    assert!(maps.windows(2).all(|w| w[0] == w[1]), "nodes' applications disagree");
    assert_eq!(maps[0].get("k7").map(String::as_str), Some("7"));
    assert!(nodes.iter().all(|n| n.with_app(|a| a.applied_txs).unwrap() == total), "a plaintext applied twice");
}

/// Records the values a storage committee committed (the `stored` hook).
#[derive(Default)]
struct StoredApp {
    values: Vec<beat::ValueId>,
}

impl beat_core::app::ConsensusApp for StoredApp {
    fn apply(&mut self, _epoch: u64, _transactions: &[Vec<u8>]) {}
    fn snapshot(&self) -> Vec<u8> {
        self.values.iter().flat_map(|v| [v.epoch.to_be_bytes(), (v.proposer as u64).to_be_bytes()].concat()).collect()
    }
    fn restore(&mut self, snapshot: &[u8]) -> Result<(), String> {
        let n = |c: &[u8]| u64::from_be_bytes(c.try_into().unwrap());
        self.values = snapshot
            .chunks_exact(16)
            .map(|c| beat::ValueId { epoch: n(&c[..8]), proposer: n(&c[8..]) as usize })
            .collect();
        Ok(())
    }
    fn stored(&mut self, epoch: u64, values: &[beat::StoredValue]) {
        self.values.extend(values.iter().map(|v| beat::ValueId { epoch, proposer: v.proposer }));
    }
}

fn at(nodes: &[Option<BeatNode<StoredApp>>], i: usize) -> &BeatNode<StoredApp> {
    nodes[i].as_ref().unwrap()
}

/// Every value `node` learned of, read through `reader`: (id, bytes).
fn read_all(node: &BeatNode<StoredApp>, reader: &BeatNode<StoredApp>) -> Vec<(beat::ValueId, Vec<u8>)> {
    read_ids(node.with_app(|a| a.values.clone()).unwrap(), reader)
}

/// Read each of `ids` through `reader`.
fn read_ids(ids: Vec<beat::ValueId>, reader: &BeatNode<StoredApp>) -> Vec<(beat::ValueId, Vec<u8>)> {
    ids.into_iter()
        .map(|id| {
            let bytes = reader.read(id, None, Duration::from_secs(20));
            (id, bytes.unwrap_or_else(|e| panic!("read of {id:?}: {e}")))
        })
        .collect()
}

/// BEAT3 and BEAT4 through `BeatNode`: values are committed as dispersed fragments, read back
/// from the committee (whole, and BEAT4 byte ranges), with one node down; a node restarted
/// after its WAL was truncated behind checkpoints still serves its fragments from its store.
fn storage_committee(variant: beat::Variant) {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(33);
    let settings = beat::Settings {
        variant,
        batch_size: 8,
        max_tx_size: 256 << 10,
        max_proposal_bytes: 1 << 20,
        ..beat::Settings::default()
    };
    let name = format!("node-test-{variant}");
    let keys = beat::deal(Params::new(4).unwrap(), SessionId::from_name(&name), settings.clone(), &mut rng);
    let ports = ports(4);
    let cfgs: Vec<NodeConfig> = keys.iter().map(|k| config(k, &ports, dir.path())).collect();
    let mut nodes: Vec<Option<BeatNode<StoredApp>>> =
        cfgs.iter().map(|c| Some(BeatNode::start(c.clone(), StoredApp::default(), None).unwrap())).collect();

    let sizes = [1usize << 10, 3 << 10, 10 << 10, 40 << 10, 100 << 10, 200 << 10, 7, 64 << 10];
    let txs: Vec<Vec<u8>> = sizes
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut v = format!("value {i}:").into_bytes();
            v.extend((0..*s).map(|k| (k * 31 + i) as u8));
            v
        })
        .collect();
    for (i, tx) in txs.iter().enumerate() {
        at(&nodes, i % 4).submit(tx.clone()).unwrap();
    }
    let committed = |nodes: &[Option<BeatNode<StoredApp>>]| {
        nodes.iter().flatten().all(|n| {
            let s = n.status();
            s.submit_queue == 0 && s.buffered == 0
        })
    };
    assert!(wait_until(Duration::from_secs(60), || committed(&nodes)), "values not committed");
    let values_epoch = at(&nodes, 0).status().epoch;

    // Read everything back through node 1: exactly the submitted transactions.
    let full = read_all(at(&nodes, 0), at(&nodes, 1));
    let mut got: Vec<Vec<u8>> =
        full.iter().flat_map(|(_, b)| beat::decode_stored_value(b, &settings).unwrap()).collect();
    got.sort();
    let mut want = txs.clone();
    want.sort();
    assert_eq!(got, want, "the values read back are not the values written");

    // BEAT4: byte ranges equal the same slice of the whole value.
    if variant == beat::Variant::Beat4 {
        let (id, bytes) = full.iter().max_by_key(|(_, b)| b.len()).unwrap();
        let len = bytes.len() as u64;
        for r in [0..1, 5..200, len / 3..len / 2, len - 10..len] {
            let part = at(&nodes, 2).read(*id, Some(r.clone()), Duration::from_secs(20)).unwrap();
            assert_eq!(part, bytes[r.start as usize..r.end as usize], "range {r:?} of {id:?}");
        }
    }

    // One node down: everything still reads.
    nodes[3].take().unwrap().shutdown();
    assert_eq!(read_all(at(&nodes, 0), at(&nodes, 2)), full);

    // More epochs, so checkpoints pass the values' epochs and the WALs are truncated behind them.
    let mut k = 0u64;
    assert!(wait_until(Duration::from_secs(60), || {
        k += 1;
        let _ = at(&nodes, (k % 3) as usize).submit(format!("filler {k}").into_bytes());
        at(&nodes, 0).status().epoch >= values_epoch + 12
    }));
    // Node 3 comes back: it replays, catches up, and keeps its fragments in its store.
    nodes[3] = Some(BeatNode::start(cfgs[3].clone(), StoredApp::default(), None).unwrap());
    assert!(wait_until(Duration::from_secs(60), || {
        let s = at(&nodes, 3).status();
        s.rejoin_fence.is_some() && s.epoch >= values_epoch + 12
    }));
    // Stop it again and restart it once more: now its log starts after the values' epochs.
    nodes[3].take().unwrap().shutdown();
    nodes[3] = Some(BeatNode::start(cfgs[3].clone(), StoredApp::default(), None).unwrap());
    assert!(wait_until(Duration::from_secs(60), || at(&nodes, 3).status().rejoin_fence.is_some()));
    let s3 = at(&nodes, 3).status();
    assert!(s3.wal_retained < s3.wal_records, "node 3's WAL was never truncated: {s3:?}");
    // With nodes 1 and 2 down, a read needs node 3's fragment (n − 2f = 2 of 4): from its store.
    nodes[1].take().unwrap().shutdown();
    nodes[2].take().unwrap().shutdown();
    let again: Vec<_> =
        full.iter().map(|(id, _)| (*id, at(&nodes, 0).read(*id, None, Duration::from_secs(30)).unwrap())).collect();
    assert_eq!(again, full, "reads after the restart differ");
    // And node 3 reads them too: it verifies against the cross-checksums its checkpoint kept.
    let by_3: Vec<_> =
        full.iter().map(|(id, _)| (*id, at(&nodes, 3).read(*id, None, Duration::from_secs(30)).unwrap())).collect();
    assert_eq!(by_3, full, "the restarted node reads other bytes");
}

#[test]
fn beat3_stores_reads_and_survives_restarts() {
    storage_committee(beat::Variant::Beat3);
}

#[test]
fn beat4_stores_reads_ranges_and_survives_restarts() {
    storage_committee(beat::Variant::Beat4);
}

/// Reads need a storage committee: a BEAT0 node says so.
#[test]
fn reads_on_a_committee_that_stores_nothing_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let keys = cluster_keys(4, 9);
    let ports = ports(4);
    let node = BeatNode::start(config(&keys[0], &ports, dir.path()), KvApp::default(), None).unwrap();
    let e = node.read(beat::ValueId { epoch: 0, proposer: 1 }, None, Duration::from_secs(1)).unwrap_err();
    assert!(matches!(e, beat_core::driver::ReadFailure::NotStored(beat::Variant::Beat0)), "{e}");
    assert!(e.to_string().contains("BEAT3 or BEAT4"), "{e}");
}

/// A node whose stored fragments went bad (a store without integrity checks, a damaged disk)
/// neither serves them — it is not blamed — nor returns other bytes to its own caller.
#[test]
fn damaged_stored_fragments_are_neither_served_nor_used() {
    use beat_core::state::{FragmentKey, MemStore, Store};
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(44);
    let settings = beat::Settings { variant: beat::Variant::Beat3, batch_size: 8, ..beat::Settings::default() };
    let keys = beat::deal(Params::new(4).unwrap(), SessionId::from_name("node-test-damaged"), settings, &mut rng);
    let ports = ports(4);
    let store1 = Arc::new(MemStore::new());
    let nodes: Vec<BeatNode<StoredApp>> = keys
        .iter()
        .map(|k| {
            let mut c = config(k, &ports, dir.path());
            if k.id == 1 {
                c.store = Some(store1.clone() as Arc<dyn Store>);
            }
            BeatNode::start(c, StoredApp::default(), None).unwrap()
        })
        .collect();
    for i in 0..4u8 {
        nodes[i as usize].submit(vec![i; 20_000]).unwrap();
    }
    assert!(wait_until(Duration::from_secs(60), || nodes.iter().all(|n| {
        let s = n.status();
        s.submit_queue == 0 && s.buffered == 0 && n.with_app(|a| !a.values.is_empty()).unwrap()
    })));
    let ids = nodes[0].with_app(|a| a.values.clone()).unwrap();
    assert!(!ids.is_empty());
    // Flip a byte inside each of node 1's fragments (the record still decodes). Node 1 holds a
    // data fragment: node 0's reads ask it first, so a served bad fragment would be seen.
    for id in &ids {
        let key = FragmentKey { epoch: id.epoch, proposer: id.proposer as u32, index: 1 };
        let mut bytes = store1.get_fragment(&key).unwrap().expect("node 1 holds a fragment");
        let at = bytes.len() - 16;
        bytes[at] ^= 0x55;
        store1.put_fragment(&key, &bytes).unwrap();
    }
    let faults_before = nodes[0].status().faults;
    let mut good = Vec::new();
    for _ in 0..5 {
        for id in &ids {
            good.push((*id, nodes[0].read(*id, None, Duration::from_secs(20)).unwrap()));
        }
    }
    assert_eq!(nodes[0].status().faults, faults_before, "node 0 blamed a node for its damaged store");
    for (id, bytes) in good.iter().take(ids.len()) {
        assert_eq!(
            &nodes[1].read(*id, None, Duration::from_secs(20)).unwrap(),
            bytes,
            "node 1 used a damaged fragment"
        );
    }
}

/// A storage node that lost its disk comes back by catch-up (it never saw those dispersals):
/// the committed batches carry the agreed cross-checksums, so it can still read every value.
#[test]
fn a_node_caught_up_from_batches_reads_values_it_never_saw_dispersed() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(55);
    let settings = beat::Settings { variant: beat::Variant::Beat3, batch_size: 8, ..beat::Settings::default() };
    let keys = beat::deal(Params::new(4).unwrap(), SessionId::from_name("node-test-caught-up"), settings, &mut rng);
    let ports = ports(4);
    let mut cfgs: Vec<NodeConfig> = keys.iter().map(|k| config(k, &ports, dir.path())).collect();
    for c in &mut cfgs {
        c.peer_queue_bytes = 64 << 10; // little backlog for the absent node: it must catch up
    }
    let mut nodes: Vec<Option<BeatNode<StoredApp>>> =
        cfgs.iter().take(3).map(|c| Some(BeatNode::start(c.clone(), StoredApp::default(), None).unwrap())).collect();
    nodes.push(None);
    for i in 0..3u8 {
        at(&nodes, i as usize).submit(vec![i + 1; 30_000]).unwrap();
    }
    let mut k = 0u64;
    assert!(wait_until(Duration::from_secs(90), || {
        k += 1;
        if at(&nodes, 0).status().submit_queue < 4 {
            let _ = at(&nodes, (k % 3) as usize).submit(format!("filler {k}").into_bytes());
        }
        at(&nodes, 0).status().epoch >= 30
    }));
    let target = at(&nodes, 0).status().epoch;
    nodes[3] = Some(BeatNode::start(cfgs[3].clone(), StoredApp::default(), None).unwrap());
    assert!(wait_until(Duration::from_secs(90), || at(&nodes, 3).status().epoch >= target));
    let s3 = at(&nodes, 3).status();
    assert!(s3.caught_up_epochs > 0, "node 3 did not catch up by batches: {s3:?}");
    // Node 3 learned the values from the batches; it reads them all, as node 0 does. (The list
    // is taken once: node 3 may still apply later epochs meanwhile — that once failed here.)
    let ids = at(&nodes, 3).with_app(|a| a.values.clone()).unwrap();
    let mine = read_ids(ids.clone(), at(&nodes, 3));
    let theirs = read_ids(ids, at(&nodes, 0));
    assert!(!mine.is_empty());
    assert_eq!(mine, theirs);
    let big: Vec<_> = mine.iter().filter(|(_, b)| b.len() > 20_000).collect();
    assert!(big.len() >= 3, "the three large values were not read back");
}
