//! One outbound link per (peer, transport): dial, handshake, send, health-check, and redial.
//!
//! * **Backoff.** A failed dial, handshake or link waits `50 ms · 2^k` (capped at
//!   [`BACKOFF_MAX`]) plus up to half of it in random jitter before the next attempt, so a
//!   committee whose network comes back does not redial in lock-step. A link that stays up
//!   resets it.
//! * **Health.** Every [`PING_EVERY`] the link sends a ping on the channel; the peer answers on
//!   the same connection. A link without an answer for [`DEAD_AFTER`] on clearnet, or
//!   [`DEAD_AFTER_ANONYMOUS`] on Tor and I2P — a blackholed route, a stalled proxy, a circuit
//!   that died — is closed and redialled. An answer counts only if it echoes a ping this
//!   connection sent and has not had answered (a peer cannot keep a dead link "up" or fake its
//!   round trip with made-up pongs; those are counted and ignored). The round-trip time of the
//!   last answer is in the link's status.
//! * **No loss on redial.** The frame being written when a link died is kept for the next
//!   connection, and every (re)connection is reported to the node, which resends its frames of
//!   open epochs on that link (with their original message ids, so a peer that already has a
//!   copy drops it).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use super::queue::LinkQueue;

use super::handshake::{self, ChannelKeys};
use super::{Transport, TransportKind};
use crate::NodeId;

/// Interval between health-check pings on a link.
pub const PING_EVERY: Duration = Duration::from_secs(2);
/// A clearnet link whose peer has not answered for this long is closed and redialled.
pub const DEAD_AFTER: Duration = Duration::from_secs(7);
/// The same for Tor and I2P, whose circuits and tunnels have round trips of seconds and
/// whose streams take long to set up again.
pub const DEAD_AFTER_ANONYMOUS: Duration = Duration::from_secs(30);

/// How long a link on `kind` may stay silent before it is redialled.
pub fn dead_after(kind: TransportKind) -> Duration {
    match kind {
        TransportKind::Clearnet => DEAD_AFTER,
        TransportKind::Tor | TransportKind::I2p => DEAD_AFTER_ANONYMOUS,
    }
}
/// Longest wait between attempts.
pub const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How long a dial may take (Tor and I2P build circuits/tunnels: generous).
pub const DIAL_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a handshake may take before the connection is dropped (slow or half-open peers).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(20);

/// Link-layer frame kinds inside a channel.
pub(crate) const KIND_DATA: u8 = 0;
pub(crate) const KIND_PING: u8 = 1;
pub(crate) const KIND_PONG: u8 = 2;

/// Exponential backoff with jitter.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    min: Duration,
    max: Duration,
}

impl Backoff {
    /// Start at `min`, double up to `max`.
    pub fn new(min: Duration, max: Duration) -> Self {
        Backoff { next: min, min, max }
    }

    /// The wait before the next attempt: the current step plus up to half of it at random.
    pub fn next_delay(&mut self) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(self.max);
        let half = u64::try_from(base.as_micros() / 2).unwrap_or(u64::MAX).max(1);
        base + Duration::from_micros(rand::random::<u64>() % half)
    }

    /// After a success: start again from the minimum.
    pub fn reset(&mut self) {
        self.next = self.min;
    }
}

/// Live health of one (peer, transport) link, shared with `status()` and metrics.
#[derive(Debug, Default)]
pub struct LinkHealth {
    up: AtomicBool,
    connects: AtomicU64,
    failures: AtomicU64,
    rtt_us: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl LinkHealth {
    fn failed(&self, why: String) {
        self.up.store(false, Ordering::Relaxed);
        self.failures.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut e) = self.last_error.lock() {
            *e = Some(why);
        }
    }

    /// Whether the link is connected and answering.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// Connections established so far.
    pub fn connects(&self) -> u64 {
        self.connects.load(Ordering::Relaxed)
    }
}

/// What `status()` reports about one (peer, transport) link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkStatus {
    /// The peer.
    pub peer: NodeId,
    /// The transport.
    pub transport: TransportKind,
    /// Connected, and the last health-check answer is recent.
    pub up: bool,
    /// Connections established so far (the first plus reconnections).
    pub connects: u64,
    /// Dials, handshakes and links that failed.
    pub failures: u64,
    /// Round trip of the last health-check ping, in milliseconds.
    pub rtt_ms: Option<u64>,
    /// Why the link last failed.
    pub last_error: Option<String>,
}

impl LinkStatus {
    pub(crate) fn of(peer: NodeId, transport: TransportKind, h: &LinkHealth) -> Self {
        let rtt = h.rtt_us.load(Ordering::Relaxed);
        LinkStatus {
            peer,
            transport,
            up: h.is_up(),
            connects: h.connects(),
            failures: h.failures.load(Ordering::Relaxed),
            rtt_ms: (rtt > 0).then_some(rtt / 1000),
            last_error: h.last_error.lock().ok().and_then(|e| e.clone()),
        }
    }
}

/// A frame queued on a link.
#[derive(Debug, Clone)]
pub(crate) struct QueuedFrame {
    /// The switch's message id.
    pub id: u64,
    /// The epoch the frame belongs to (`u64::MAX`: never stale).
    pub epoch: u64,
    /// The payload.
    pub bytes: Arc<Vec<u8>>,
}

/// Everything one link needs.
pub(crate) struct Link {
    pub peer: NodeId,
    pub addr: String,
    pub transport: Arc<dyn Transport>,
    /// Index of the transport in the switch.
    pub index: usize,
    pub keys: Arc<ChannelKeys>,
    pub health: Arc<LinkHealth>,
    pub counters: Arc<super::switch::NetCounters>,
    /// `(peer, transport index)` on every established connection.
    pub events: mpsc::UnboundedSender<(NodeId, usize)>,
    /// Frames of epochs below this are stale and skipped (see [`super::switch::Switch::set_watermark`]).
    pub watermark: Arc<AtomicU64>,
}

/// A data frame on the channel: kind, message id, payload.
pub(crate) fn data_frame(id: u64, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(9 + payload.len());
    f.push(KIND_DATA);
    f.extend_from_slice(&id.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

pub(crate) fn control_frame(kind: u8, value: u64) -> Vec<u8> {
    let mut f = vec![kind];
    f.extend_from_slice(&value.to_be_bytes());
    f
}

impl Link {
    /// Run until the queue closes (the node stopped).
    pub async fn run(self, queue: Arc<LinkQueue>) {
        let mut backoff = Backoff::new(Duration::from_millis(50), BACKOFF_MAX);
        let mut pending: Option<QueuedFrame> = None;
        loop {
            match self.connect_once(&queue, &mut pending, &mut backoff).await {
                Ok(()) => return, // queue closed
                Err(why) => {
                    let kind = self.transport.kind();
                    if self.health.is_up() {
                        tracing::info!(peer = self.peer, transport = %kind, reason = %why, "link down");
                    } else {
                        tracing::debug!(peer = self.peer, transport = %kind, reason = %why, "link not established");
                    }
                    self.health.failed(why);
                    tokio::time::sleep(backoff.next_delay()).await;
                }
            }
        }
    }

    async fn connect_once(
        &self,
        queue: &LinkQueue,
        pending: &mut Option<QueuedFrame>,
        backoff: &mut Backoff,
    ) -> Result<(), String> {
        let kind = self.transport.kind();
        let mut stream = match tokio::time::timeout(DIAL_TIMEOUT, self.transport.dial(&self.addr)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(format!("{kind} dial {}: {e}", self.addr)),
            Err(_) => return Err(format!("{kind} dial {}: timed out", self.addr)),
        };
        let channel = match tokio::time::timeout(
            HANDSHAKE_TIMEOUT,
            handshake::initiate(&mut stream, &self.keys, self.peer),
        )
        .await
        {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => return Err(format!("{kind} handshake: {e}")),
            Err(_) => return Err(format!("{kind} handshake: timed out")),
        };
        let (mut tx, mut rx) = channel.split();
        let (mut rd, mut wr) = tokio::io::split(stream);
        let start = Instant::now();
        let last_answer = AtomicU64::new(0); // µs since `start`
        let connects = self.health.connects.fetch_add(1, Ordering::Relaxed) + 1;
        self.health.up.store(true, Ordering::Relaxed);
        tracing::info!(peer = self.peer, transport = %kind, connects, "link up");
        let _ = self.events.send((self.peer, self.index));
        let mut inflight: Option<QueuedFrame> = pending.take();
        let mut confirmed = false;
        // Pings sent on this connection and not answered yet (their send times, µs since `start`).
        let outstanding: Mutex<std::collections::VecDeque<u64>> = Mutex::new(Default::default());
        let result = {
            let reader = async {
                loop {
                    let f = rx.recv(&mut rd, 64).await.map_err(|e| format!("{kind} link: {e}"))?;
                    if f.len() != 9 || f[0] != KIND_PONG {
                        return Err::<(), String>(format!("{kind} link: unexpected frame from the peer"));
                    }
                    let sent = u64::from_be_bytes(f[1..9].try_into().unwrap_or_default());
                    let matched = outstanding.lock().is_ok_and(|mut o| match o.iter().position(|p| *p == sent) {
                        Some(i) => {
                            // Answers come in order: older pings are lost for good.
                            o.drain(..=i);
                            true
                        }
                        None => false,
                    });
                    if !matched {
                        self.counters.unmatched_pongs.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let now = start.elapsed().as_micros() as u64;
                    self.health.rtt_us.store(now.saturating_sub(sent).max(1), Ordering::Relaxed);
                    last_answer.store(now, Ordering::Relaxed);
                }
            };
            let watchdog = async {
                loop {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    let silent =
                        start.elapsed().saturating_sub(Duration::from_micros(last_answer.load(Ordering::Relaxed)));
                    if silent >= dead_after(kind) {
                        return Err::<(), String>(format!("{kind} link: no answer for {} s", silent.as_secs()));
                    }
                }
            };
            let writer = async {
                let mut ping = tokio::time::interval(PING_EVERY);
                loop {
                    let frame = match inflight.take() {
                        Some(f) => f,
                        None => tokio::select! {
                            f = queue.pop() => match f {
                                Some(f) => f,
                                None => return Ok(()),
                            },
                            _ = ping.tick() => {
                                // Distinct even within one microsecond.
                                let now = (start.elapsed().as_micros() as u64).max(
                                    outstanding.lock().ok().and_then(|o| o.back().map(|b| b + 1)).unwrap_or(0));
                                if let Ok(mut o) = outstanding.lock() {
                                    if o.len() >= 64 {
                                        o.pop_front();
                                    }
                                    o.push_back(now);
                                }
                                tx.send(&mut wr, &control_frame(KIND_PING, now)).await.map_err(|e| format!("{kind} link: {e}"))?;
                                // A link counts as healthy only once the peer answered.
                                if !confirmed && last_answer.load(Ordering::Relaxed) > 0 {
                                    confirmed = true;
                                    backoff.reset();
                                }
                                continue;
                            }
                        },
                    };
                    // A slow network must not spend itself on epochs the node has closed.
                    if frame.epoch < self.watermark.load(Ordering::Relaxed) {
                        self.counters.expired.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    inflight = Some(frame.clone());
                    tx.send(&mut wr, &data_frame(frame.id, &frame.bytes))
                        .await
                        .map_err(|e| format!("{kind} link: {e}"))?;
                    inflight = None;
                    self.counters.frames_sent.fetch_add(1, Ordering::Relaxed);
                    self.counters.bytes_sent.fetch_add(frame.bytes.len() as u64, Ordering::Relaxed);
                }
            };
            tokio::select! {
                r = reader => r,
                r = watchdog => r,
                r = writer => r,
            }
        };
        let _ = wr.shutdown().await;
        // What was being written when the link died goes first on the next one.
        *pending = inflight;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(50), Duration::from_secs(5));
        let first = b.next_delay();
        assert!(first >= Duration::from_millis(50) && first < Duration::from_millis(75));
        let mut last = Duration::ZERO;
        for _ in 0..10 {
            last = b.next_delay();
        }
        assert!(last >= Duration::from_secs(5) && last < Duration::from_millis(7500), "{last:?}");
        b.reset();
        assert!(b.next_delay() < Duration::from_millis(75));
        // Jitter: not every delay of the same step is equal.
        let delays: std::collections::HashSet<Duration> =
            (0..20).map(|_| Backoff::new(Duration::from_millis(50), BACKOFF_MAX).next_delay()).collect();
        assert!(delays.len() > 1);
    }
}
