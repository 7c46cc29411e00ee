//! One outbound link per (peer, transport): dial, handshake, send, health-check, and redial.
//!
//! * **Backoff.** A failed dial, handshake or link waits `50 ms · 2^k` (capped at
//!   [`BACKOFF_MAX_CLEARNET`] on clearnet, [`BACKOFF_MAX`] on Tor and I2P) plus up to half of
//!   it in random jitter before the next attempt, so a committee whose network comes back
//!   does not redial in lock-step. A link that stays up
//!   resets it.
//! * **Health.** Every [`PING_EVERY`] the link sends a ping on the channel; the peer answers on
//!   the same connection. A link without an answer for [`DEAD_AFTER`] on clearnet, or
//!   [`DEAD_AFTER_ANONYMOUS`] on Tor and I2P — a blackholed route, a stalled proxy, a circuit
//!   that died — is closed and redialled. An answer counts only if it echoes a ping this
//!   connection sent and has not had answered (a peer cannot keep a dead link "up" or fake its
//!   round trip with made-up pongs; those are counted and ignored). The round-trip time of the
//!   last answer is in the link's status.
//! * **Bytes in flight.** A link writes at most a window of bytes
//!   ([`super::switch::SwitchLimits::window_bytes`], smaller on Tor and I2P) that the peer has
//!   not yet confirmed; the rest waits in the link's queue, where frames of epochs the node
//!   has closed are skipped. Confirmation rides on the health check: each ping records how many
//!   bytes the connection had written, and its answer (the peer reads the stream in order)
//!   confirms them. An extra ping goes out after every quarter window, whenever the window
//!   is full, and — when the peer is also reached on another network — when the queue runs
//!   empty after a burst (so a fast link confirms at once).
//! * **Left to the faster network.** Before writing a frame, a link waits until the frame is
//!   twice the round trip of the fastest other link to the same peer old (when that link is up
//!   and faster; at most [`HOLD_MAX`]), and skips it if the peer has confirmed a copy
//!   meanwhile (see [`super::switch`], "First confirmed copy wins"). Without the window a slow network would hold megabytes of stale frames in socket
//!   and router buffers (the SAM bridge, the tor client) while the node's current frames wait
//!   behind them: the I2P-only committee committed a few times a minute.
//! * **No loss on redial.** The frame being written when a link died is kept for the next
//!   connection, and every (re)connection is reported to the node, which resends its frames of
//!   open epochs on that link (with their original message ids, so a peer that already has a
//!   copy drops it).

use std::collections::VecDeque;
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

/// Default window of unconfirmed bytes on a clearnet link.
pub const WINDOW_BYTES: usize = 4 << 20;
/// Default window on Tor links: about a second of what a circuit carries, so that little is
/// stuck in the tor client's buffers when the node moves on.
pub const TOR_WINDOW_BYTES: usize = 256 << 10;
/// Default window on I2P links. I2P streams carry tens of KB/s (emissary's streaming, measured
/// on the private test network), so a larger window is seconds of frames the node may no
/// longer need.
pub const I2P_WINDOW_BYTES: usize = 64 << 10;

/// How long a link on `kind` may stay silent before it is redialled.
pub fn dead_after(kind: TransportKind) -> Duration {
    match kind {
        TransportKind::Clearnet => DEAD_AFTER,
        TransportKind::Tor | TransportKind::I2p => DEAD_AFTER_ANONYMOUS,
    }
}

/// Longest wait between attempts.
pub const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// The same on clearnet, where an attempt costs a TCP handshake: a committee whose network
/// reopens is back within seconds.
pub const BACKOFF_MAX_CLEARNET: Duration = Duration::from_secs(2);
/// How long a dial may take (Tor and I2P build circuits/tunnels: generous).
pub const DIAL_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a clearnet dial may take. A dial whose SYNs a censor or a dead route drops would
/// otherwise wait for the kernel's SYN retries (1, 3, 7, 15 s…) long after the route is back.
pub const DIAL_TIMEOUT_CLEARNET: Duration = Duration::from_secs(5);

/// How long a dial on `kind` may take.
pub fn dial_timeout(kind: TransportKind) -> Duration {
    match kind {
        TransportKind::Clearnet => DIAL_TIMEOUT_CLEARNET,
        TransportKind::Tor | TransportKind::I2p => DIAL_TIMEOUT,
    }
}

/// Longest wait between two attempts on `kind`.
pub fn backoff_max(kind: TransportKind) -> Duration {
    match kind {
        TransportKind::Clearnet => BACKOFF_MAX_CLEARNET,
        TransportKind::Tor | TransportKind::I2p => BACKOFF_MAX,
    }
}
/// How long a handshake may take before the connection is dropped (slow or half-open peers).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(20);

/// Pings kept per connection awaiting their answer. A link pings after every quarter window
/// as well as every [`PING_EVERY`], so a link whose answers take seconds may have many out;
/// the oldest is forgotten past this (its late answer then counts as unmatched).
const MAX_OUTSTANDING_PINGS: usize = 1024;

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
    /// The smallest round trip on the current connection: the path's own delay, without the
    /// bytes queued ahead of a ping.
    rtt_min_us: AtomicU64,
    in_flight: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl LinkHealth {
    fn failed(&self, why: String) {
        self.up.store(false, Ordering::Relaxed);
        self.in_flight.store(0, Ordering::Relaxed);
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

    /// Round trip of the last health-check answer, in microseconds (0: none yet).
    pub fn rtt_us(&self) -> u64 {
        self.rtt_us.load(Ordering::Relaxed)
    }

    /// Bytes written on the current connection that the peer has not confirmed yet.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Relaxed)
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
    /// Round trip of the last health-check ping, in milliseconds (it includes the time the
    /// bytes written before the ping took to reach the peer).
    pub rtt_ms: Option<u64>,
    /// The same round trip in microseconds (a clearnet link's is often under a millisecond).
    pub rtt_us: Option<u64>,
    /// Bytes written on the current connection and not yet confirmed by the peer.
    pub in_flight_bytes: u64,
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
            rtt_us: (rtt > 0).then_some(rtt),
            in_flight_bytes: h.in_flight(),
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
    /// Set once the peer confirmed this frame on any transport: shared by the frame's copies
    /// in every transport's queue, so the others skip it.
    pub delivered: Arc<AtomicBool>,
    /// When the node handed it to the switch.
    pub queued_at: Instant,
}

impl QueuedFrame {
    /// A frame not delivered yet.
    pub fn new(id: u64, epoch: u64, bytes: Arc<Vec<u8>>) -> Self {
        QueuedFrame { id, epoch, bytes, delivered: Arc::new(AtomicBool::new(false)), queued_at: Instant::now() }
    }

    /// Whether the peer confirmed a copy of this frame.
    pub fn is_delivered(&self) -> bool {
        self.delivered.load(Ordering::Relaxed)
    }
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
    /// Bytes written and not yet confirmed before the link stops taking frames from its queue.
    pub window: u64,
    /// The health of the links to the same peer on the other transports.
    pub siblings: Vec<Arc<LinkHealth>>,
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

/// Bytes of frames gathered into one write.
const COALESCE_BYTES: usize = 64 << 10;

/// The longest a frame waits for a faster transport's confirmation.
pub const HOLD_MAX: Duration = Duration::from_millis(250);

impl Link {
    /// How long a frame should have waited before this link sends it: while a link to the same
    /// peer on another transport is up and answers faster than this one, twice its round trip
    /// (plus 2 ms, at most [`HOLD_MAX`]; the smallest round trips on the current connections
    /// are compared) — time for it to deliver and confirm the frame, so
    /// that this one need not.
    fn hold(&self) -> Option<Duration> {
        // Each link's smallest round trip on its connection: a busy link is not a slow path.
        let own = self.health.rtt_min_us.load(Ordering::Relaxed);
        let fastest = self
            .siblings
            .iter()
            .filter(|s| s.is_up())
            .map(|s| s.rtt_min_us.load(Ordering::Relaxed))
            .filter(|rtt| *rtt > 0 && (own == 0 || *rtt < own))
            .min()?;
        Some((Duration::from_micros(fastest) * 2 + Duration::from_millis(2)).min(HOLD_MAX))
    }

    /// Run until the queue closes (the node stopped).
    pub async fn run(self, queue: Arc<LinkQueue>) {
        let mut backoff = Backoff::new(Duration::from_millis(50), backoff_max(self.transport.kind()));
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
        let mut stream = match tokio::time::timeout(dial_timeout(kind), self.transport.dial(&self.addr)).await {
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
        let (mut rd, wr) = tokio::io::split(stream);
        // Frames written in a burst leave in one write (fewer, fuller packets on Tor and I2P,
        // fewer system calls everywhere); the buffer is flushed before the writer waits.
        let mut wr = tokio::io::BufWriter::with_capacity(COALESCE_BYTES, wr);
        let start = Instant::now();
        let last_answer = AtomicU64::new(0); // µs since `start`
                                             // Bytes written on this connection (channel frames), and those the peer confirmed
                                             // (every ping answered covers what was written before it).
        let written_bytes = AtomicU64::new(0);
        let confirmed_bytes = AtomicU64::new(0);
        let answered = tokio::sync::Notify::new();
        let connects = self.health.connects.fetch_add(1, Ordering::Relaxed) + 1;
        self.health.up.store(true, Ordering::Relaxed);
        self.health.in_flight.store(0, Ordering::Relaxed);
        self.health.rtt_min_us.store(0, Ordering::Relaxed);
        tracing::info!(peer = self.peer, transport = %kind, connects, "link up");
        let _ = self.events.send((self.peer, self.index));
        let mut inflight: Option<QueuedFrame> = pending.take();
        let mut confirmed = false;
        // Pings sent on this connection and not answered yet: their send times (µs since
        // `start`) and the bytes written before each.
        let outstanding: Mutex<VecDeque<(u64, u64)>> = Mutex::new(VecDeque::new());
        // Frames written and not yet confirmed: where each ends in the stream, and its flag.
        let unconfirmed: Mutex<VecDeque<(u64, Arc<AtomicBool>)>> = Mutex::new(VecDeque::new());
        let result = {
            let reader = async {
                loop {
                    let f = rx.recv(&mut rd, 64).await.map_err(|e| format!("{kind} link: {e}"))?;
                    if f.len() != 9 || f[0] != KIND_PONG {
                        return Err::<(), String>(format!("{kind} link: unexpected frame from the peer"));
                    }
                    let echo = u64::from_be_bytes(f[1..9].try_into().unwrap_or_default());
                    let matched = outstanding.lock().ok().and_then(|mut o| {
                        // Stamps only increase (`send_ping`), so a made-up echo costs a
                        // binary search, not a scan of every outstanding ping.
                        let i = o.binary_search_by_key(&echo, |(at, _)| *at).ok()?;
                        // Answers come in order: older pings are lost for good.
                        o.drain(..=i).next_back()
                    });
                    let Some((sent, written)) = matched else {
                        self.counters.unmatched_pongs.fetch_add(1, Ordering::Relaxed);
                        continue;
                    };
                    let now = start.elapsed().as_micros() as u64;
                    let rtt = now.saturating_sub(sent).max(1);
                    self.health.rtt_us.store(rtt, Ordering::Relaxed);
                    let min = self.health.rtt_min_us.load(Ordering::Relaxed);
                    if min == 0 || rtt < min {
                        self.health.rtt_min_us.store(rtt, Ordering::Relaxed);
                    }
                    last_answer.store(now, Ordering::Relaxed);
                    let confirmed = confirmed_bytes.fetch_max(written, Ordering::Relaxed).max(written);
                    let open = written_bytes.load(Ordering::Relaxed).saturating_sub(confirmed);
                    self.health.in_flight.store(open, Ordering::Relaxed);
                    if let Ok(mut u) = unconfirmed.lock() {
                        while u.front().is_some_and(|(end, _)| *end <= written) {
                            if let Some((_, flag)) = u.pop_front() {
                                flag.store(true, Ordering::Relaxed);
                            }
                        }
                    }
                    answered.notify_one();
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
                // Bytes written on this connection (channel frames), and when the last ping went.
                let mut written = 0u64;
                let mut pinged_at = 0u64;
                let quarter = (self.window / 4).max(1);
                ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    // A link counts as healthy only once the peer answered.
                    if !confirmed && last_answer.load(Ordering::Relaxed) > 0 {
                        confirmed = true;
                        backoff.reset();
                    }
                    let in_flight = written.saturating_sub(confirmed_bytes.load(Ordering::Relaxed));
                    self.health.in_flight.store(in_flight, Ordering::Relaxed);
                    let frame = match inflight.take() {
                        Some(f) => f,
                        None if in_flight >= self.window => {
                            // Window full: make sure a ping covers everything written, then
                            // wait for an answer (the health ticks go on meanwhile).
                            if pinged_at < written {
                                send_ping(&mut tx, &mut wr, &outstanding, start, written, kind).await?;
                                pinged_at = written;
                            }
                            wr.flush().await.map_err(|e| format!("{kind} link: {e}"))?;
                            tokio::select! {
                                _ = answered.notified() => {}
                                _ = ping.tick() => {
                                    send_ping(&mut tx, &mut wr, &outstanding, start, written, kind).await?;
                                    pinged_at = written;
                                }
                            }
                            continue;
                        }
                        None if pinged_at < written && !self.siblings.is_empty() && queue.is_empty() => {
                            // A burst is written: have it confirmed now, so the other
                            // transports' copies can be skipped.
                            send_ping(&mut tx, &mut wr, &outstanding, start, written, kind).await?;
                            pinged_at = written;
                            continue;
                        }
                        None if !wr.buffer().is_empty() && queue.is_empty() => {
                            wr.flush().await.map_err(|e| format!("{kind} link: {e}"))?;
                            continue;
                        }
                        None => tokio::select! {
                            f = queue.pop() => match f {
                                Some(f) => f,
                                None => return Ok(()),
                            },
                            _ = ping.tick() => {
                                send_ping(&mut tx, &mut wr, &outstanding, start, written, kind).await?;
                                pinged_at = written;
                                continue;
                            }
                        },
                    };
                    // A slow network must not spend itself on epochs the node has closed, nor on
                    // frames the peer already confirmed on a faster one.
                    if frame.epoch < self.watermark.load(Ordering::Relaxed) {
                        self.counters.expired.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    if frame.is_delivered() {
                        self.counters.delivered_elsewhere.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    inflight = Some(frame.clone());
                    if let Some(hold) = self.hold() {
                        let waited = frame.queued_at.elapsed();
                        if waited < hold {
                            // What is buffered goes now, not after the wait.
                            wr.flush().await.map_err(|e| format!("{kind} link: {e}"))?;
                            tokio::time::sleep(hold - waited).await;
                            if frame.is_delivered() {
                                inflight = None;
                                self.counters.delivered_elsewhere.fetch_add(1, Ordering::Relaxed);
                                continue;
                            }
                        }
                    }
                    tx.send(&mut wr, &data_frame(frame.id, &frame.bytes))
                        .await
                        .map_err(|e| format!("{kind} link: {e}"))?;
                    inflight = None;
                    written += frame.bytes.len() as u64 + 9;
                    written_bytes.store(written, Ordering::Relaxed);
                    if let Ok(mut u) = unconfirmed.lock() {
                        u.push_back((written, frame.delivered.clone()));
                    }
                    self.counters.frames_sent.fetch_add(1, Ordering::Relaxed);
                    self.counters.bytes_sent.fetch_add(frame.bytes.len() as u64, Ordering::Relaxed);
                    if written - pinged_at >= quarter {
                        send_ping(&mut tx, &mut wr, &outstanding, start, written, kind).await?;
                        pinged_at = written;
                    }
                }
            };
            tokio::select! {
                r = reader => r,
                r = watchdog => r,
                r = writer => r,
            }
        };
        // Not `wr.shutdown()`: it would first flush the buffer into a connection that may be
        // frozen (a blackholed route), and hang there. What the buffer held is resent: the
        // node resends its frames of open epochs on every new connection.
        let _ = tokio::time::timeout(Duration::from_secs(1), wr.get_mut().shutdown()).await;
        // What was being written when the link died goes first on the next one.
        *pending = inflight;
        result
    }
}

/// Send a health-check ping that also stands for the `written` bytes before it.
async fn send_ping<W: AsyncWriteExt + Unpin>(
    tx: &mut handshake::ChannelSender,
    wr: &mut W,
    outstanding: &Mutex<VecDeque<(u64, u64)>>,
    start: Instant,
    written: u64,
    kind: TransportKind,
) -> Result<(), String> {
    let stamp = {
        let Ok(mut o) = outstanding.lock() else { return Err(format!("{kind} link: poisoned")) };
        // Distinct even within one microsecond.
        let stamp = (start.elapsed().as_micros() as u64).max(o.back().map_or(0, |(b, _)| b + 1));
        if o.len() >= MAX_OUTSTANDING_PINGS {
            o.pop_front();
        }
        o.push_back((stamp, written));
        stamp
    };
    tx.send(wr, &control_frame(KIND_PING, stamp)).await.map_err(|e| format!("{kind} link: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keystore::{IdentityKey, IdentityPublic};
    use crate::net::{BoxFuture, BoxStream};
    use crate::types::SessionId;

    /// Dials one TCP address.
    struct Dialer(std::net::SocketAddr);

    impl Transport for Dialer {
        fn kind(&self) -> TransportKind {
            TransportKind::I2p
        }
        fn dial<'a>(&'a self, _: &'a str) -> BoxFuture<'a, std::io::Result<BoxStream>> {
            Box::pin(async move { Ok(Box::new(tokio::net::TcpStream::connect(self.0).await?) as BoxStream) })
        }
        fn accept(&self) -> BoxFuture<'_, std::io::Result<super::super::Accepted>> {
            Box::pin(std::future::pending())
        }
    }

    /// The frames a peer reads until nothing comes for `quiet`: data payload bytes, and the
    /// pings seen (not answered), oldest first.
    async fn read_until_quiet(
        rx: &mut handshake::ChannelReceiver,
        rd: &mut (impl tokio::io::AsyncRead + Unpin),
        quiet: Duration,
    ) -> (u64, u64, Vec<u64>) {
        let (mut frames, mut bytes, mut pings) = (0, 0, Vec::new());
        while let Ok(Ok(f)) = tokio::time::timeout(quiet, rx.recv(rd, 1 << 20)).await {
            match f[0] {
                KIND_DATA => {
                    frames += 1;
                    bytes += f.len() as u64 - 9;
                }
                KIND_PING => pings.push(u64::from_be_bytes(f[1..9].try_into().unwrap())),
                _ => panic!("unexpected frame kind {}", f[0]),
            }
        }
        (frames, bytes, pings)
    }

    #[tokio::test]
    async fn a_link_writes_a_window_then_waits_and_skips_what_closed_meanwhile() {
        let ids: Vec<IdentityKey> = (0..2).map(|i| IdentityKey::from_bytes(&[i as u8 + 7; 32])).collect();
        let publics: Vec<IdentityPublic> = ids.iter().map(|i| i.public()).collect();
        let session = SessionId([5; 32]);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (events, _events_rx) = mpsc::unbounded_channel();
        let health = Arc::new(LinkHealth::default());
        let counters = Arc::new(super::super::switch::NetCounters::default());
        let watermark = Arc::new(AtomicU64::new(0));
        const WINDOW: u64 = 64 << 10;
        const FRAME: usize = 10_000;
        let link = Link {
            peer: 1,
            addr: "peer".into(),
            transport: Arc::new(Dialer(listener.local_addr().unwrap())),
            index: 0,
            keys: Arc::new(ChannelKeys::new(0, &ids[0], &publics, &session)),
            health: health.clone(),
            counters: counters.clone(),
            events,
            watermark: watermark.clone(),
            window: WINDOW,
            siblings: Vec::new(),
        };
        let queue = Arc::new(LinkQueue::new(16 << 20));
        let mut flags = Vec::new();
        for i in 0..40 {
            let frame = QueuedFrame::new(i, 5, Arc::new(vec![i as u8; FRAME]));
            flags.push(frame.delivered.clone());
            assert!(queue.push(frame, 0).queued);
        }
        let task = tokio::spawn(link.run(queue.clone()));
        let (mut stream, _) = listener.accept().await.unwrap();
        let (_, channel) =
            handshake::respond(&mut stream, &ChannelKeys::new(1, &ids[1], &publics, &session)).await.unwrap();
        let (mut tx, mut rx) = channel.split();
        let (mut rd, mut wr) = tokio::io::split(stream);

        // Unanswered, the link stops after a window (plus the frame that crossed it).
        let quiet = Duration::from_millis(300);
        let (frames, bytes, pings) = read_until_quiet(&mut rx, &mut rd, quiet).await;
        let per_frame = FRAME as u64 + 9;
        assert_eq!(frames, WINDOW.div_ceil(per_frame), "{bytes} bytes before any answer");
        assert!(health.in_flight() >= WINDOW, "{}", health.in_flight());
        let ping = *pings.last().expect("a full window is followed by a ping");

        // The node moves on: epoch 5 closes. Answering the ping frees the window, and what is
        // left of epoch 5 is skipped in the queue instead of sent.
        watermark.store(6, Ordering::Relaxed);
        assert!(queue.push(QueuedFrame::new(99, 6, Arc::new(vec![7; 100])), 6).queued);
        tx.send(&mut wr, &control_frame(KIND_PONG, ping)).await.unwrap();
        let (more, more_bytes, _) = read_until_quiet(&mut rx, &mut rd, quiet).await;
        assert_eq!((more, more_bytes), (1, 100), "only the open epoch's frame is sent after the answer");
        assert_eq!(counters.expired.load(Ordering::Relaxed), 40 - frames);
        assert!(health.rtt_us() > 0);
        // The answer confirmed exactly the frames written before the ping.
        let delivered: Vec<bool> = flags.iter().map(|f| f.load(Ordering::Relaxed)).collect();
        assert!(delivered[..frames as usize].iter().all(|d| *d), "{delivered:?}");
        assert!(delivered[frames as usize..].iter().all(|d| !*d), "{delivered:?}");

        // A frame the peer confirmed on another transport is skipped, not sent.
        let elsewhere = QueuedFrame::new(100, 7, Arc::new(vec![1; 50]));
        elsewhere.delivered.store(true, Ordering::Relaxed);
        assert!(queue.push(elsewhere, 6).queued);
        assert!(queue.push(QueuedFrame::new(101, 7, Arc::new(vec![2; 60])), 6).queued);
        let (more, more_bytes, _) = read_until_quiet(&mut rx, &mut rd, quiet).await;
        assert_eq!((more, more_bytes), (1, 60));
        assert_eq!(counters.delivered_elsewhere.load(Ordering::Relaxed), 1);
        task.abort();
    }

    /// The adversary on a link's answers: the peer (authenticated, so a committee member)
    /// floods pongs that answer no ping (made up, replayed, or guessing the next stamp). They
    /// must confirm nothing, cost no window, and leave the link up for the real answer.
    #[tokio::test]
    async fn made_up_and_early_pongs_confirm_nothing() {
        let ids: Vec<IdentityKey> = (0..2).map(|i| IdentityKey::from_bytes(&[i as u8 + 3; 32])).collect();
        let publics: Vec<IdentityPublic> = ids.iter().map(|i| i.public()).collect();
        let session = SessionId([6; 32]);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (events, _events_rx) = mpsc::unbounded_channel();
        let health = Arc::new(LinkHealth::default());
        let counters = Arc::new(super::super::switch::NetCounters::default());
        const WINDOW: u64 = 16 << 10;
        let link = Link {
            peer: 1,
            addr: "peer".into(),
            transport: Arc::new(Dialer(listener.local_addr().unwrap())),
            index: 0,
            keys: Arc::new(ChannelKeys::new(0, &ids[0], &publics, &session)),
            health: health.clone(),
            counters: counters.clone(),
            events,
            watermark: Arc::new(AtomicU64::new(0)),
            window: WINDOW,
            siblings: Vec::new(),
        };
        let queue = Arc::new(LinkQueue::new(16 << 20));
        let mut flags = Vec::new();
        for i in 0..10 {
            let frame = QueuedFrame::new(i, 1, Arc::new(vec![i as u8; 4_000]));
            flags.push(frame.delivered.clone());
            assert!(queue.push(frame, 0).queued);
        }
        let task = tokio::spawn(link.run(queue.clone()));
        let (mut stream, _) = listener.accept().await.unwrap();
        let (_, channel) =
            handshake::respond(&mut stream, &ChannelKeys::new(1, &ids[1], &publics, &session)).await.unwrap();
        let (mut tx, mut rx) = channel.split();
        let (mut rd, mut wr) = tokio::io::split(stream);
        let quiet = Duration::from_millis(300);
        let (frames, _, pings) = read_until_quiet(&mut rx, &mut rd, quiet).await;
        let ping = *pings.last().expect("a full window is followed by a ping");
        assert!(frames < 10, "the window held the rest back");
        let in_flight = health.in_flight();

        // 3,000 pongs that answer nothing: around the real stamp (none of the pings sent),
        // far ahead (an early answer to a ping not sent yet: stamps are microseconds since the
        // link came up, and 10^12 of them is 11 days), zero and the largest stamp.
        let fakes: Vec<u64> = (1..1_000)
            .flat_map(|d| [ping.wrapping_sub(d), ping + d, ping + 1_000_000_000_000 + d])
            .chain([0, u64::MAX])
            .filter(|stamp| !pings.contains(stamp))
            .collect();
        for stamp in &fakes {
            tx.send(&mut wr, &control_frame(KIND_PONG, *stamp)).await.unwrap();
        }
        // Every one of them read and counted (on a loaded machine that takes a while), and only
        // then: nothing more written.
        let unmatched = |want: u64| {
            let counters = counters.clone();
            async move {
                let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
                while counters.unmatched_pongs.load(Ordering::Relaxed) < want && tokio::time::Instant::now() < deadline
                {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                counters.unmatched_pongs.load(Ordering::Relaxed)
            }
        };
        assert_eq!(unmatched(fakes.len() as u64).await, fakes.len() as u64);
        let (more, _, _) = read_until_quiet(&mut rx, &mut rd, quiet).await;
        assert_eq!(more, 0, "made-up answers opened no window");
        assert!(flags.iter().all(|f| !f.load(Ordering::Relaxed)), "nothing confirmed by a made-up answer");
        assert_eq!(health.in_flight(), in_flight);
        assert!(!task.is_finished(), "the link stays up");

        // The real answer still confirms what was written before its ping, and the rest flows.
        tx.send(&mut wr, &control_frame(KIND_PONG, ping)).await.unwrap();
        let (rest, _, _) = read_until_quiet(&mut rx, &mut rd, quiet).await;
        assert_eq!(frames + rest, 10);
        assert!(flags[..frames as usize].iter().all(|f| f.load(Ordering::Relaxed)));
        // Replaying the real answer is one more unmatched pong, nothing else.
        tx.send(&mut wr, &control_frame(KIND_PONG, ping)).await.unwrap();
        assert_eq!(unmatched(fakes.len() as u64 + 1).await, fakes.len() as u64 + 1);
        task.abort();
    }

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
