//! The multi-network switch: every frame to every peer on every transport; the first copy in
//! wins.
//!
//! * **Fan-out.** [`Switch::send`] gives the frame a message id (a per-node counter that
//!   starts at a random value, so ids do not repeat across restarts) and puts it in the bounded
//!   queue of each (peer, transport) link. A full queue drops the frame *for that link only*
//!   and counts it: a slow, dead or censored network never blocks the others.
//! * **Inbound.** Each transport's listener runs the Noise handshake ([`super::handshake`]) on
//!   every accepted stream: a key that is not in the cluster, garbage, an oversized, tampered or
//!   replayed frame, or a handshake slower than [`HANDSHAKE_TIMEOUT`] closes the connection and
//!   is counted in [`NetCounters::refused`]. At most [`MAX_HANDSHAKES`] handshakes run at once
//!   per transport, and each peer has one live inbound connection per transport (a new one
//!   replaces the old), so a flood of connections cannot exhaust the node.
//! * **De-duplication.** The same frame arrives up to once per transport; the switch keeps the
//!   last [`DEDUP_PER_PEER`] message ids of each sender and passes on only the first copy
//!   (senders are authenticated by the channel, so one peer cannot suppress another's frames).

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;

use super::clearnet::MAX_FRAME;
use super::handshake::{self, ChannelError, ChannelKeys};
use super::reconnect::{self, Link, LinkHealth, LinkStatus, QueuedFrame, HANDSHAKE_TIMEOUT};
use super::{BoxStream, Transport, TransportKind};
use crate::NodeId;

/// Default frames queued per (peer, transport) link while it is slow or down.
pub const PEER_QUEUE: usize = 65_536;
/// Message ids remembered per sender for de-duplication.
pub const DEDUP_PER_PEER: usize = 1 << 16;
/// Handshakes in progress at once, per transport; more connections are closed at once.
pub const MAX_HANDSHAKES: usize = 64;
/// An inbound connection that carries nothing (not even pings) for this long is closed.
pub const INBOUND_IDLE: Duration = Duration::from_secs(30);

/// Counters of one transport (read by metrics and `status()`).
#[derive(Debug, Default)]
pub struct NetCounters {
    /// Frames sent.
    pub frames_sent: AtomicU64,
    /// Payload bytes sent.
    pub bytes_sent: AtomicU64,
    /// Frames received (before de-duplication).
    pub frames_received: AtomicU64,
    /// Payload bytes received.
    pub bytes_received: AtomicU64,
    /// Frames dropped because a link's queue was full.
    pub dropped: AtomicU64,
    /// Inbound connections refused or closed: failed or slow handshake, unknown key, garbage,
    /// oversized, tampered or replayed frame, too many handshakes at once.
    pub refused: AtomicU64,
    /// Frames received that another transport (or an earlier copy) had already delivered.
    pub duplicates: AtomicU64,
    /// Queued frames skipped because their epoch closed before the link could send them.
    pub expired: AtomicU64,
}

impl NetCounters {
    /// The counter values `[sent, bytes sent, received, bytes received, dropped, refused,
    /// duplicates, expired]`.
    pub fn snapshot(&self) -> [u64; 8] {
        let l = |c: &AtomicU64| c.load(Ordering::Relaxed);
        [
            l(&self.frames_sent),
            l(&self.bytes_sent),
            l(&self.frames_received),
            l(&self.bytes_received),
            l(&self.dropped),
            l(&self.refused),
            l(&self.duplicates),
            l(&self.expired),
        ]
    }
}

/// One transport and the peers' addresses on it (`None`: the peer is not on this network, and
/// ours is ignored).
#[derive(Debug)]
pub struct TransportSetup {
    /// The transport.
    pub transport: Arc<dyn Transport>,
    /// Every node's address on it, by id.
    pub peers: Vec<Option<String>>,
}

/// The last message ids seen from one sender.
#[derive(Debug, Default)]
struct Seen {
    ids: HashSet<u64>,
    order: VecDeque<u64>,
}

impl Seen {
    /// True the first time `id` is seen (within the window).
    fn first(&mut self, id: u64) -> bool {
        if !self.ids.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > DEDUP_PER_PEER {
            if let Some(old) = self.order.pop_front() {
                self.ids.remove(&old);
            }
        }
        true
    }
}

struct Shared {
    keys: Arc<ChannelKeys>,
    n: usize,
    seen: Vec<Mutex<Seen>>,
    inbound: mpsc::Sender<(NodeId, Vec<u8>)>,
    /// The live inbound connection of each (transport, peer).
    current: Mutex<Vec<Vec<Option<JoinHandle<()>>>>>,
}

/// The running switch.
pub struct Switch {
    me: NodeId,
    kinds: Vec<TransportKind>,
    /// `[transport][peer]` link queues.
    queues: Vec<Vec<Option<mpsc::Sender<QueuedFrame>>>>,
    health: Vec<Vec<Option<Arc<LinkHealth>>>>,
    counters: Vec<Arc<NetCounters>>,
    next_id: AtomicU64,
    watermark: Arc<AtomicU64>,
    tasks: Vec<JoinHandle<()>>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Switch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Switch").field("me", &self.me).field("transports", &self.kinds).finish_non_exhaustive()
    }
}

impl Drop for Switch {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        if let Ok(current) = self.shared.current.lock() {
            for h in current.iter().flatten().flatten() {
                h.abort();
            }
        }
    }
}

impl Switch {
    /// Start every transport's listener and one link per (peer, transport). Inbound frames
    /// (first copies only) go to `inbound` as `(sender, payload)`; each link queues at most
    /// `peer_queue` frames. Every established outbound connection is reported on `events` as
    /// `(peer, transport index)`: frames written into a connection that then broke may be
    /// lost, so the node resends its frames of open epochs on that link ([`Switch::resend`]).
    /// Must be called inside a tokio runtime.
    pub fn start(
        me: NodeId,
        keys: Arc<ChannelKeys>,
        transports: Vec<TransportSetup>,
        inbound: mpsc::Sender<(NodeId, Vec<u8>)>,
        peer_queue: usize,
        events: mpsc::UnboundedSender<(NodeId, usize)>,
    ) -> Self {
        let n = transports.iter().map(|t| t.peers.len()).max().unwrap_or(0);
        let shared = Arc::new(Shared {
            keys: keys.clone(),
            n,
            seen: (0..n).map(|_| Mutex::new(Seen::default())).collect(),
            inbound,
            current: Mutex::new(transports.iter().map(|_| (0..n).map(|_| None).collect()).collect()),
        });
        let mut switch = Switch {
            me,
            kinds: transports.iter().map(|t| t.transport.kind()).collect(),
            queues: Vec::new(),
            health: Vec::new(),
            counters: Vec::new(),
            next_id: AtomicU64::new(rand::random::<u64>() >> 1),
            watermark: Arc::new(AtomicU64::new(0)),
            tasks: Vec::new(),
            shared: shared.clone(),
        };
        for (index, setup) in transports.into_iter().enumerate() {
            let counters = Arc::new(NetCounters::default());
            let transport = setup.transport;
            switch.tasks.push(tokio::spawn(accept_loop(index, transport.clone(), shared.clone(), counters.clone())));
            let (mut queues, mut health) = (Vec::with_capacity(n), Vec::with_capacity(n));
            for (peer, addr) in setup.peers.into_iter().enumerate() {
                let Some(addr) = addr.filter(|a| peer != me && !a.is_empty()) else {
                    queues.push(None);
                    health.push(None);
                    continue;
                };
                let (qtx, qrx) = mpsc::channel(peer_queue.max(1));
                let h = Arc::new(LinkHealth::default());
                let link = Link {
                    peer,
                    addr,
                    transport: transport.clone(),
                    index,
                    keys: keys.clone(),
                    health: h.clone(),
                    counters: counters.clone(),
                    events: events.clone(),
                    watermark: switch.watermark.clone(),
                };
                switch.tasks.push(tokio::spawn(link.run(qrx)));
                queues.push(Some(qtx));
                health.push(Some(h));
            }
            switch.queues.push(queues);
            switch.health.push(health);
            switch.counters.push(counters);
        }
        switch
    }

    /// Send `frame` (of `epoch`; `u64::MAX` if it has none) to `to` on every transport that
    /// reaches it; returns the message id.
    pub fn send(&self, to: NodeId, epoch: u64, frame: Arc<Vec<u8>>) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        for t in 0..self.queues.len() {
            self.enqueue(t, to, QueuedFrame { id, epoch, bytes: frame.clone() });
        }
        id
    }

    /// Send `frame` again, with its original id, on transport `transport` only (after that
    /// link reconnected).
    pub fn resend(&self, to: NodeId, transport: usize, id: u64, epoch: u64, frame: Arc<Vec<u8>>) {
        self.enqueue(transport, to, QueuedFrame { id, epoch, bytes: frame });
    }

    /// Frames of epochs below `epoch` are stale: links skip them instead of sending (a slow
    /// network would otherwise work through a backlog of closed epochs before reaching the
    /// current one; a peer that lacks a closed epoch catches up from committed batches).
    pub fn set_watermark(&self, epoch: u64) {
        self.watermark.fetch_max(epoch, Ordering::Relaxed);
    }

    fn enqueue(&self, t: usize, to: NodeId, frame: QueuedFrame) {
        if let Some(Some(q)) = self.queues[t].get(to) {
            if q.try_send(frame).is_err() {
                self.counters[t].dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The transports, in the order they were given.
    pub fn kinds(&self) -> &[TransportKind] {
        &self.kinds
    }

    /// Each transport's counters.
    pub fn counters(&self) -> impl Iterator<Item = (TransportKind, &NetCounters)> {
        self.kinds.iter().copied().zip(self.counters.iter().map(|c| &**c))
    }

    /// Every (peer, transport) link's status.
    pub fn links(&self) -> Vec<LinkStatus> {
        let mut out = Vec::new();
        for (t, health) in self.health.iter().enumerate() {
            for (peer, h) in health.iter().enumerate() {
                if let Some(h) = h {
                    out.push(LinkStatus::of(peer, self.kinds[t], h));
                }
            }
        }
        out.sort_by_key(|l| (l.peer, l.transport));
        out
    }

    /// Peers reachable on at least one transport.
    pub fn peers_reachable(&self) -> usize {
        (0..self.shared.n)
            .filter(|p| self.health.iter().any(|h| h.get(*p).and_then(|h| h.as_ref()).is_some_and(|h| h.is_up())))
            .count()
    }

    /// Peers with an up link on transport index `t`.
    pub fn peers_up_on(&self, t: usize) -> usize {
        self.health.get(t).map_or(0, |h| h.iter().flatten().filter(|h| h.is_up()).count())
    }
}

async fn accept_loop(index: usize, transport: Arc<dyn Transport>, shared: Arc<Shared>, counters: Arc<NetCounters>) {
    let permits = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    loop {
        let stream = match transport.accept().await {
            Ok(s) => s,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            counters.refused.fetch_add(1, Ordering::Relaxed);
            continue; // dropping the stream closes it
        };
        let (shared2, counters2) = (shared.clone(), counters.clone());
        tokio::spawn(async move {
            let hs = tokio::time::timeout(HANDSHAKE_TIMEOUT, async {
                let mut stream = stream;
                handshake::respond(&mut stream, &shared2.keys).await.map(|(from, ch)| (from, ch, stream))
            })
            .await;
            drop(permit);
            let Ok(Ok((from, channel, stream))) = hs else {
                counters2.refused.fetch_add(1, Ordering::Relaxed);
                return;
            };
            if from >= shared2.n {
                counters2.refused.fetch_add(1, Ordering::Relaxed);
                return;
            }
            // One live inbound connection per (transport, peer): the new one replaces the old.
            let shared3 = shared2.clone();
            let task = tokio::spawn(serve_inbound(from, channel, stream, shared3, counters2));
            if let Ok(mut current) = shared2.current.lock() {
                if let Some(old) = current[index][from].replace(task) {
                    old.abort();
                }
            }
        });
    }
}

/// Read a peer's frames: first copies of data go to the node, pings are answered.
async fn serve_inbound(
    from: NodeId,
    channel: handshake::Channel,
    stream: BoxStream,
    shared: Arc<Shared>,
    counters: Arc<NetCounters>,
) {
    let (mut tx, mut rx) = channel.split();
    let (mut rd, mut wr) = tokio::io::split(stream);
    loop {
        let frame = match tokio::time::timeout(INBOUND_IDLE, rx.recv(&mut rd, MAX_FRAME + 9)).await {
            Ok(Ok(f)) => f,
            // Closed by the peer, or silent for too long.
            Ok(Err(ChannelError::Io(_))) | Err(_) => return,
            Ok(Err(_)) => {
                // Tampered, replayed or oversized.
                counters.refused.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        match frame.first() {
            Some(&reconnect::KIND_DATA) if frame.len() >= 9 => {
                let id = u64::from_be_bytes(frame[1..9].try_into().unwrap_or_default());
                counters.frames_received.fetch_add(1, Ordering::Relaxed);
                counters.bytes_received.fetch_add(frame.len() as u64 - 9, Ordering::Relaxed);
                let first = shared.seen[from].lock().map(|mut s| s.first(id)).unwrap_or(true);
                if !first {
                    counters.duplicates.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                if shared.inbound.send((from, frame[9..].to_vec())).await.is_err() {
                    return; // node stopped
                }
            }
            Some(&reconnect::KIND_PING) if frame.len() == 9 => {
                let echo = u64::from_be_bytes(frame[1..9].try_into().unwrap_or_default());
                if tx.send(&mut wr, &reconnect::control_frame(reconnect::KIND_PONG, echo)).await.is_err() {
                    return;
                }
            }
            _ => {
                counters.refused.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_window_is_bounded_and_first_copy_wins() {
        let mut s = Seen::default();
        assert!(s.first(7));
        assert!(!s.first(7));
        for id in 100..100 + DEDUP_PER_PEER as u64 {
            assert!(s.first(id));
        }
        assert!(s.ids.len() <= DEDUP_PER_PEER && s.order.len() <= DEDUP_PER_PEER);
        // 7 fell out of the window: a very late copy is passed on again (the protocols
        // tolerate duplicates; the window only saves work).
        assert!(s.first(7));
        assert!(!s.first(100 + DEDUP_PER_PEER as u64 - 1));
    }
}
