//! A transport that is opened in the background and opened again when it breaks.
//!
//! A node runs on every network it is configured for at once; one of them being down must not
//! keep it off the others. The I2P router or Tor daemon may be down when the node starts, or
//! restart while it runs (and forget the node's SAM session). [`Resilient`] wraps a
//! [`TransportConfig`]: until the transport opens, dials fail with the reason (visible in the
//! link's `last_error`) and `accept` waits; it retries with backoff. Once open, a run of
//! [`BROKEN_AFTER`] failed accepts with no success between — a router that went away — closes
//! it and opens a new one (a new SAM session on the restarted router).

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{watch, Notify};

use super::reconnect::Backoff;
use super::{Accepted, BoxFuture, BoxStream, Transport, TransportConfig, TransportKind};

/// Consecutive failed accepts after which an open transport is taken as broken and reopened.
pub const BROKEN_AFTER: u32 = 3;
/// Longest wait between two attempts to open a transport.
pub const REOPEN_MAX: Duration = Duration::from_secs(30);

/// See the module doc.
pub struct Resilient {
    kind: TransportKind,
    current: watch::Receiver<Option<Arc<dyn Transport>>>,
    failures: AtomicU32,
    broken: Arc<Notify>,
    last_error: Arc<Mutex<Option<String>>>,
    opener: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Resilient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resilient")
            .field("kind", &self.kind)
            .field("open", &self.current.borrow().is_some())
            .finish_non_exhaustive()
    }
}

impl Drop for Resilient {
    fn drop(&mut self) {
        self.opener.abort();
    }
}

impl Resilient {
    /// Start with `first` (already open) or, if `None`, open `config` in the background.
    /// Must be called inside a tokio runtime. `first_error` says why the first attempt failed.
    pub fn new(
        config: TransportConfig,
        name: String,
        first: Option<Arc<dyn Transport>>,
        first_error: Option<String>,
    ) -> Self {
        let kind = config.kind();
        let opened = first.is_some();
        let (tx, rx) = watch::channel(first);
        let broken = Arc::new(Notify::new());
        let last_error = Arc::new(Mutex::new(first_error));
        let (broken2, last_error2) = (broken.clone(), last_error.clone());
        let opener = tokio::spawn(async move {
            let mut backoff = Backoff::new(Duration::from_millis(500), REOPEN_MAX);
            if opened {
                broken2.notified().await;
                tx.send_replace(None);
            }
            loop {
                tokio::time::sleep(backoff.next_delay()).await;
                match config.open(&name).await {
                    Ok(t) => {
                        backoff.reset();
                        if let Ok(mut e) = last_error2.lock() {
                            *e = None;
                        }
                        tx.send_replace(Some(t));
                        broken2.notified().await;
                        // Drop ours; dials in flight keep theirs until they finish.
                        tx.send_replace(None);
                        if let Ok(mut e) = last_error2.lock() {
                            *e = Some(format!("{kind} broke (accepts kept failing); reopening"));
                        }
                    }
                    Err(e) => {
                        if let Ok(mut last) = last_error2.lock() {
                            *last = Some(e);
                        }
                    }
                }
            }
        });
        Resilient { kind, current: rx, failures: AtomicU32::new(0), broken, last_error, opener }
    }

    /// Whether the transport is open now.
    pub fn is_open(&self) -> bool {
        self.current.borrow().is_some()
    }

    fn not_open(&self) -> io::Error {
        let why = self.last_error.lock().ok().and_then(|e| e.clone()).unwrap_or_else(|| "opening".into());
        io::Error::new(io::ErrorKind::NotConnected, format!("{} is not open: {why}", self.kind))
    }
}

impl Transport for Resilient {
    fn kind(&self) -> TransportKind {
        self.kind
    }

    fn dial<'a>(&'a self, addr: &'a str) -> BoxFuture<'a, io::Result<BoxStream>> {
        Box::pin(async move {
            let current = self.current.borrow().clone();
            match current {
                Some(t) => t.dial(addr).await,
                None => Err(self.not_open()),
            }
        })
    }

    fn accept(&self) -> BoxFuture<'_, io::Result<Accepted>> {
        Box::pin(async move {
            let mut rx = self.current.clone();
            let t = match rx.wait_for(Option::is_some).await {
                Ok(t) => t.clone(),
                Err(_) => None,
            };
            let Some(t) = t else { return Err(self.not_open()) };
            match t.accept().await {
                Ok(a) => {
                    self.failures.store(0, Ordering::Relaxed);
                    Ok(a)
                }
                Err(e) => {
                    if self.failures.fetch_add(1, Ordering::Relaxed) + 1 >= BROKEN_AFTER {
                        self.failures.store(0, Ordering::Relaxed);
                        self.broken.notify_one();
                    }
                    Err(e)
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    #[tokio::test]
    async fn a_transport_that_cannot_open_yet_is_retried() {
        // Take a port, so the first attempt to listen on it fails.
        let blocker = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr: SocketAddr = blocker.local_addr().unwrap();
        let config = TransportConfig::Tcp { kind: TransportKind::I2p, listen: addr, peers: vec![] };
        let first = config.open("t").await;
        let Err(err) = first else { panic!("the port is taken, yet the transport opened") };
        let r = Resilient::new(config, "t".into(), None, Some(err.clone()));
        assert!(!r.is_open());
        let dial = r.dial(&addr.to_string()).await.err().expect("not open");
        assert!(dial.to_string().contains("is not open") && dial.to_string().contains(&err), "{dial}");
        // The port is freed: the transport opens and accepts.
        drop(blocker);
        let accepted = tokio::spawn(async move {
            let a = r.accept().await.map(|(_, source)| source);
            (r, a)
        });
        let mut client = None;
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if let Ok(c) = tokio::net::TcpStream::connect(addr).await {
                client = Some(c);
                break;
            }
        }
        assert!(client.is_some(), "the transport never opened");
        let (r, source) = accepted.await.unwrap();
        assert_eq!(source.unwrap(), "127.0.0.1");
        assert!(r.is_open());
    }
}
