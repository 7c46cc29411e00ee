//! Helpers shared by the multi-process tests.
#![allow(dead_code)] // each test binary uses what it needs

use std::net::TcpListener;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// `k` free loopback ports (bound, then released).
pub fn free_ports(k: usize) -> Vec<u16> {
    let ls: Vec<TcpListener> = (0..k).map(|_| TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    ls.iter().map(|l| l.local_addr().unwrap().port()).collect()
}

/// SIGTERM `child` and wait up to `within` for it to exit successfully (a daemon's graceful stop).
pub fn terminate(child: &mut Child, what: &str, within: Duration) {
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let end = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{what} exited with {status} on SIGTERM");
            return;
        }
        assert!(Instant::now() < end, "{what} did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `beat` daemons of a loopback committee, each with its client API, as separate processes.
#[cfg(feature = "api")]
pub struct Daemons {
    /// Where their stores and logs (`node-<id>.log`) are.
    pub dir: std::path::PathBuf,
    /// Consensus ports, by id.
    pub ports: Vec<u16>,
    /// API ports, by id.
    pub api: Vec<u16>,
    env: Vec<(String, String)>,
    children: Vec<Option<Child>>,
}

#[cfg(feature = "api")]
impl Daemons {
    /// `n` daemons in `dir`, each started with `env` on top of its own settings.
    pub fn new(dir: &std::path::Path, n: usize, env: &[(&str, String)]) -> Self {
        let p = free_ports(2 * n);
        Daemons {
            dir: dir.to_path_buf(),
            ports: p[..n].to_vec(),
            api: p[n..].to_vec(),
            env: env.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
            children: (0..n).map(|_| None).collect(),
        }
    }

    /// Node `id`'s API base URL.
    pub fn url(&self, id: usize) -> String {
        format!("http://127.0.0.1:{}", self.api[id])
    }

    /// Node `id`'s store.
    pub fn data(&self, id: usize) -> std::path::PathBuf {
        self.dir.join(format!("node-{id}"))
    }

    /// Start node `id` and wait until its API answers `/healthz`.
    pub fn start(&mut self, id: usize) {
        let peers = self.ports.iter().map(|p| format!("127.0.0.1:{p}")).collect::<Vec<_>>().join(",");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("node-{id}.log")))
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_beat"))
            .args([id.to_string(), self.ports[id].to_string()])
            .env("BEAT_PEERS", peers)
            .env("BEAT_DATA_DIR", self.data(id))
            .env("BEAT_METRICS_LISTEN", "off")
            .env("BEAT_API_LISTEN", format!("127.0.0.1:{}", self.api[id]))
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn beat");
        self.children[id] = Some(child);
        let c = beat_core::api::client::Client::new(&self.url(id), None).unwrap();
        let end = Instant::now() + Duration::from_secs(60);
        while !c.request("GET", "/healthz", &[], b"").is_ok_and(|r| r.status == 200) {
            assert!(Instant::now() < end, "node {id}'s API did not come up:\n{}", self.log_tails());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Kill node `id` (SIGKILL).
    pub fn kill9(&mut self, id: usize) {
        if let Some(mut c) = self.children[id].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stop node `id` gracefully.
    pub fn term(&mut self, id: usize) {
        if let Some(mut c) = self.children[id].take() {
            terminate(&mut c, &format!("node {id}"), Duration::from_secs(30));
        }
    }

    /// The last lines each node logged.
    pub fn log_tails(&self) -> String {
        (0..self.ports.len())
            .map(|i| {
                let log = std::fs::read_to_string(self.dir.join(format!("node-{i}.log"))).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(5).collect();
                format!("node {i}: {}", tail.join(" | "))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[cfg(feature = "api")]
impl Drop for Daemons {
    fn drop(&mut self) {
        for id in 0..self.children.len() {
            self.kill9(id);
        }
    }
}
