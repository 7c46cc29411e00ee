//! Clearnet TCP transport: length-prefixed frames with a maximum size.
//!
//! Every connection starts with the Noise `XX` handshake of [`super::handshake`]: mutual
//! authentication with the nodes' ed25519 identities, bound to the session. A dialler whose
//! key is not in the cluster is refused; after the handshake every frame is encrypted and
//! authenticated (at most [`MAX_FRAME`] bytes), and a tampered or replayed frame closes the
//! connection. Both are counted in [`NetCounters::refused`]. One outbound connection per peer,
//! redialled with exponential backoff and jitter; each peer has a bounded queue, and a full
//! queue drops (and counts) instead of blocking the node.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::handshake::{self, ChannelKeys};
use crate::NodeId;

/// Largest frame accepted or sent.
pub const MAX_FRAME: usize = crate::codec::MAX_FRAME_BYTES;
/// Default frames queued per peer before new ones are dropped.
pub const PEER_QUEUE: usize = 65_536;

/// Transport counters (read by metrics and `status()`).
#[derive(Debug, Default)]
pub struct NetCounters {
    /// Frames sent.
    pub frames_sent: AtomicU64,
    /// Bytes sent (payloads).
    pub bytes_sent: AtomicU64,
    /// Frames received.
    pub frames_received: AtomicU64,
    /// Bytes received.
    pub bytes_received: AtomicU64,
    /// Frames dropped because a peer's queue was full.
    pub dropped: AtomicU64,
    /// Inbound connections refused or closed: failed handshake, unknown key, oversized,
    /// tampered or replayed frame.
    pub refused: AtomicU64,
}

/// A running clearnet transport.
#[derive(Debug)]
pub struct Clearnet {
    queues: Vec<Option<mpsc::Sender<Arc<Vec<u8>>>>>,
    connected: Arc<Vec<std::sync::atomic::AtomicBool>>,
    /// Counters.
    pub counters: Arc<NetCounters>,
}

/// How long a handshake may take before the connection is dropped (slow or half-open peers).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

impl Clearnet {
    /// Start listening on `listener` and dialling `peers[j]` (`None` for ourselves). Inbound
    /// frames go to `inbound` as `(sender, payload)`; at most `peer_queue` frames wait for each
    /// peer while it is unreachable. Every (re)established outbound connection is reported on
    /// `connected_events`: frames written into a connection that then broke may be lost, so
    /// the node resends its messages of open epochs to that peer.
    pub fn start(
        me: NodeId,
        keys: Arc<ChannelKeys>,
        listener: TcpListener,
        peers: Vec<Option<String>>,
        inbound: mpsc::Sender<(NodeId, Vec<u8>)>,
        peer_queue: usize,
        connected_events: mpsc::UnboundedSender<NodeId>,
    ) -> Self {
        let n = peers.len();
        let counters = Arc::new(NetCounters::default());
        let connected = Arc::new((0..n).map(|_| std::sync::atomic::AtomicBool::new(false)).collect::<Vec<_>>());
        // Inbound.
        let (c, tx, inbound_keys) = (counters.clone(), inbound, keys.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else { continue };
                let (c, tx) = (c.clone(), tx.clone());
                let keys = inbound_keys.clone();
                tokio::spawn(async move {
                    let _ = stream.set_nodelay(true);
                    let hs = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake::respond(&mut stream, &keys)).await;
                    let Ok(Ok((from, mut channel))) = hs else {
                        c.refused.fetch_add(1, Ordering::Relaxed);
                        return;
                    };
                    if from >= n {
                        c.refused.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    loop {
                        match channel.recv(&mut stream, MAX_FRAME).await {
                            Ok(frame) => {
                                c.frames_received.fetch_add(1, Ordering::Relaxed);
                                c.bytes_received.fetch_add(frame.len() as u64, Ordering::Relaxed);
                                if tx.send((from, frame)).await.is_err() {
                                    return;
                                }
                            }
                            Err(handshake::ChannelError::Io(_)) => return, // closed
                            Err(_) => {
                                c.refused.fetch_add(1, Ordering::Relaxed);
                                return;
                            }
                        }
                    }
                });
            }
        });
        // Outbound, one task per peer.
        let mut queues = Vec::with_capacity(n);
        for (j, addr) in peers.into_iter().enumerate() {
            let Some(addr) = addr.filter(|_| j != me) else {
                queues.push(None);
                continue;
            };
            let (qtx, mut qrx) = mpsc::channel::<Arc<Vec<u8>>>(peer_queue.max(1));
            queues.push(Some(qtx));
            let (c, conn, events, keys) = (counters.clone(), connected.clone(), connected_events.clone(), keys.clone());
            tokio::spawn(async move {
                let mut backoff = Duration::from_millis(50);
                let mut pending: Option<Arc<Vec<u8>>> = None;
                loop {
                    let mut stream = match TcpStream::connect(&addr).await {
                        Ok(s) => s,
                        Err(_) => {
                            let jitter = Duration::from_millis(u64::from(rand::random::<u8>()) % 50);
                            tokio::time::sleep(backoff + jitter).await;
                            backoff = (backoff * 2).min(Duration::from_secs(2));
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    let hs = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake::initiate(&mut stream, &keys, j)).await;
                    let Ok(Ok(mut channel)) = hs else {
                        // Not the node we expected, or no answer: back off and try again.
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(2));
                        continue;
                    };
                    backoff = Duration::from_millis(50);
                    conn[j].store(true, Ordering::Relaxed);
                    // The node resends what the peer may have lost with the old connection.
                    let _ = events.send(j);
                    loop {
                        let frame = match pending.take() {
                            Some(f) => f,
                            None => match qrx.recv().await {
                                Some(f) => f,
                                None => return, // node shut down
                            },
                        };
                        if channel.send(&mut stream, &frame).await.is_err() {
                            // Keep the frame for the next connection.
                            pending = Some(frame);
                            conn[j].store(false, Ordering::Relaxed);
                            break;
                        }
                        c.frames_sent.fetch_add(1, Ordering::Relaxed);
                        c.bytes_sent.fetch_add(frame.len() as u64, Ordering::Relaxed);
                    }
                }
            });
        }
        Clearnet { queues, connected, counters }
    }

    /// Queue `frame` for `to`; drops (and counts) when the peer's queue is full.
    pub fn send(&self, to: NodeId, frame: Arc<Vec<u8>>) {
        if let Some(Some(q)) = self.queues.get(to) {
            if q.try_send(frame).is_err() {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Peers with an open outbound connection.
    pub fn peers_connected(&self) -> usize {
        self.connected.iter().filter(|c| c.load(Ordering::Relaxed)).count()
    }
}
