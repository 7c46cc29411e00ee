//! A full disk: node 0 of a four-node committee keeps its store on a small tmpfs that fills up
//! under load. It must stop cleanly — `status().failed` names the store, nothing more is sent —
//! while the other three keep committing; once space is freed (the tmpfs grown), a restart from
//! the same directory replays, catches up and agrees with the others.
//!
//! Needs root (it mounts a tmpfs); the test command runs it on its own.
#![cfg(feature = "node")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failure here is a test failure

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use beat_core::app::KvApp;
use beat_core::beat::{self, NodeKeys};
use beat_core::driver::{wait_until, BeatNode, NodeConfig};
use beat_core::net::TransportConfig;
use beat_core::{Params, SessionId};
use rand::SeedableRng;

/// A tmpfs mounted for the test's lifetime.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "mounting a tmpfs needs root (the test command runs this test as root)");
        Tmpfs(dir.to_path_buf())
    }

    fn resize(&self, size: &str) {
        let ok = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "remounting the tmpfs failed");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn ports(n: usize) -> Vec<u16> {
    let ls: Vec<TcpListener> = (0..n).map(|_| TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    ls.iter().map(|l| l.local_addr().unwrap().port()).collect()
}

fn config(keys: &NodeKeys, ports: &[u16], data_dir: PathBuf, in_memory: bool) -> NodeConfig {
    let ids: Vec<_> =
        (0..ports.len()).map(|i| beat_core::keystore::IdentityKey::from_bytes(&[i as u8 + 9; 32])).collect();
    NodeConfig {
        keys: keys.clone(),
        identity: ids[keys.id].clone(),
        peer_identities: ids.iter().map(|i| i.public()).collect(),
        transports: vec![TransportConfig::Clearnet {
            listen: SocketAddr::from(([127, 0, 0, 1], ports[keys.id])),
            peers: ports.iter().map(|p| format!("127.0.0.1:{p}")).collect(),
        }],
        beat: beat::Config::default(),
        data_dir,
        snapshot_every: 4,
        submit_queue: 10_000,
        metrics_listen: None,
        peer_queue_bytes: 16 << 20,
        store: in_memory.then(|| Arc::new(beat_core::state::MemStore::default()) as Arc<dyn beat_core::state::Store>),
        registry: None,
        censors: None,
        limits: None,
        audit_log: None,
        upkeep: Default::default(),
    }
}

fn applied(node: &BeatNode<KvApp>) -> u64 {
    node.with_app(|a| a.applied_epochs).unwrap_or(0)
}

#[test]
fn a_full_disk_stops_the_node_and_a_restart_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = Tmpfs::mount(&tmp.path().join("disk"), "6m");
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(31);
    let settings = beat::Settings { batch_size: 16, max_tx_size: 16 << 10, ..beat::Settings::default() };
    let keys = beat::deal(Params::new(4).unwrap(), SessionId::from_name("full-disk"), settings, &mut rng);
    let ports = ports(4);
    let dir0 = disk.0.join("node-0");
    let mut nodes: Vec<Option<BeatNode<KvApp>>> = keys
        .iter()
        .map(|k| {
            let dir = if k.id == 0 { dir0.clone() } else { tmp.path().join(format!("node-{}", k.id)) };
            Some(BeatNode::start(config(k, &ports, dir, k.id != 0), KvApp::default(), None).unwrap())
        })
        .collect();
    // Load with 12 KiB transactions until node 0's store runs out of room.
    let value = "x".repeat(12 << 10);
    let mut k = 0u64;
    let full = wait_until(Duration::from_secs(180), || {
        for _ in 0..8 {
            k += 1;
            let _ = nodes[1 + (k as usize % 3)].as_ref().unwrap().submit(format!("set k{k} {value}").into_bytes());
        }
        std::thread::sleep(Duration::from_millis(20));
        nodes[0].as_ref().unwrap().status().failed.is_some()
    });
    let status = nodes[0].as_ref().unwrap().status();
    assert!(full, "node 0 never filled its disk: {status:?}");
    let why = status.failed.unwrap();
    assert!(why.contains("store"), "node 0 stopped, but not because of its store: {why}");
    eprintln!("node 0 stopped: {why}");
    // The others keep committing without it.
    let before = applied(nodes[1].as_ref().unwrap());
    assert!(
        wait_until(Duration::from_secs(60), || {
            k += 1;
            let _ = nodes[1].as_ref().unwrap().submit(format!("set after{k} 1").into_bytes());
            std::thread::sleep(Duration::from_millis(20));
            applied(nodes[1].as_ref().unwrap()) >= before + 3
        }),
        "the other three stopped committing"
    );
    // Free space; restart node 0 from the same directory.
    nodes[0].take().unwrap().shutdown();
    disk.resize("256m");
    let node0 = BeatNode::start(config(&keys[0], &ports, dir0, false), KvApp::default(), None)
        .unwrap_or_else(|e| panic!("node 0 does not restart after its disk was freed: {e}"));
    let caught = wait_until(Duration::from_secs(120), || {
        k += 1;
        let _ = nodes[2].as_ref().unwrap().submit(format!("set again{k} 1").into_bytes());
        std::thread::sleep(Duration::from_millis(20));
        node0.status().failed.is_none() && applied(&node0) >= applied(nodes[1].as_ref().unwrap()).saturating_sub(1)
    });
    assert!(caught, "node 0 did not catch up after the restart: {:?}", node0.status());
    eprintln!("node 0 back at epoch {}", applied(&node0));
    node0.shutdown();
    for n in nodes.into_iter().flatten() {
        n.shutdown();
    }
}
