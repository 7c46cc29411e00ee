//! Clearnet TCP transport: length-prefixed frames with a maximum size.
//!
//! Each connection starts with a `Hello { session, from }` frame; after it, every frame is
//! `u32 big-endian length ‖ payload`, at most [`MAX_FRAME`] bytes. One outbound connection per
//! peer, redialled with exponential backoff and jitter; each peer has a bounded queue, and a
//! full queue drops (and counts) instead of blocking the node.
//!
//! **Not yet authenticated.** The `Hello` names its sender but proves nothing: until the
//! Noise channels of the network issue land, run clusters only on networks you trust
//! (loopback, a private network). The node refuses a `Hello` for another session or an
//! out-of-range id.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::{NodeId, SessionId};

/// Largest frame accepted or sent.
pub const MAX_FRAME: usize = crate::codec::MAX_FRAME_BYTES;
/// Default frames queued per peer before new ones are dropped.
pub const PEER_QUEUE: usize = 65_536;

#[derive(Serialize, Deserialize)]
struct Hello {
    session: SessionId,
    from: u32,
}

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
    /// Inbound connections refused (bad hello, oversized frame).
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

async fn read_frame(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let len = s.read_u32().await? as usize;
    if len > MAX_FRAME {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("frame of {len} bytes")));
    }
    let mut buf = vec![0; len];
    s.read_exact(&mut buf).await?;
    Ok(buf)
}

async fn write_frame(s: &mut TcpStream, payload: &[u8]) -> std::io::Result<()> {
    s.write_u32(payload.len() as u32).await?;
    s.write_all(payload).await
}

impl Clearnet {
    /// Start listening on `listener` and dialling `peers[j]` (`None` for ourselves). Inbound
    /// frames go to `inbound` as `(sender, payload)`; at most `peer_queue` frames wait for each
    /// peer while it is unreachable. Every (re)established outbound connection is reported on
    /// `connected_events`: frames written into a connection that then broke may be lost, so
    /// the node resends its messages of open epochs to that peer.
    pub fn start(
        me: NodeId,
        session: SessionId,
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
        let (c, tx) = (counters.clone(), inbound);
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else { continue };
                let (c, tx) = (c.clone(), tx.clone());
                tokio::spawn(async move {
                    let _ = stream.set_nodelay(true);
                    let hello = match read_frame(&mut stream).await {
                        Ok(b) => crate::codec::decode::<Hello>(&b, 1024).ok(),
                        Err(_) => None,
                    };
                    let from = match hello {
                        Some(h) if h.session == session && (h.from as usize) < n && h.from as usize != me => {
                            h.from as usize
                        }
                        _ => {
                            c.refused.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                    };
                    loop {
                        match read_frame(&mut stream).await {
                            Ok(frame) => {
                                c.frames_received.fetch_add(1, Ordering::Relaxed);
                                c.bytes_received.fetch_add(frame.len() as u64, Ordering::Relaxed);
                                if tx.send((from, frame)).await.is_err() {
                                    return;
                                }
                            }
                            Err(e) => {
                                if e.kind() == std::io::ErrorKind::InvalidData {
                                    c.refused.fetch_add(1, Ordering::Relaxed);
                                }
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
            let (c, conn, events) = (counters.clone(), connected.clone(), connected_events.clone());
            tokio::spawn(async move {
                let hello = crate::codec::encode(&Hello { session, from: me as u32 });
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
                    if write_frame(&mut stream, &hello).await.is_err() {
                        continue;
                    }
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
                        if write_frame(&mut stream, &frame).await.is_err() {
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
