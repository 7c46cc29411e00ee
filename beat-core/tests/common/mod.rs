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
