//! The multi-network switch: every frame to every peer on every transport; the first copy in
//! wins.
//!
//! * **Fan-out.** [`Switch::send`] gives the frame a message id (a per-node counter that
//!   starts at a random value, so ids do not repeat across restarts) and puts it in the queue
//!   of each (peer, transport) link, bounded in bytes ([`SwitchLimits::link_queue_bytes`]).
//!   A full queue first evicts frames of closed epochs, then drops the new frame *for that
//!   link only* and counts it: a slow, dead or censored network never blocks the others.
//! * **First confirmed copy wins.** The copies of a frame share a flag, set when the peer
//!   confirms any copy (the answer to a health-check ping written after it; see
//!   [`super::reconnect`]). A link skips a flagged frame instead of sending it
//!   ([`NetCounters::delivered_elsewhere`]), and a full queue evicts flagged frames along
//!   with those of closed epochs. A frame sent again on a link that reconnected gets a flag
//!   of its own (the peer may have restarted and lost what it confirmed). So
//!   while clearnet works, Tor and I2P carry only what clearnet has not confirmed yet, and
//!   when clearnet closes they are not behind on frames the peer already has.
//! * **Inbound.** Each transport's listener runs the Noise handshake ([`super::handshake`]) on
//!   every accepted stream: a key that is not in the cluster, garbage, an oversized
//!   ([`SwitchLimits::max_frame`]), tampered or replayed frame, or a handshake slower than
//!   [`HANDSHAKE_TIMEOUT`] closes the connection and is counted in [`NetCounters::refused`].
//!   Each peer has one live inbound connection per transport (a new one replaces the old).
//! * **Handshake slots.** At most [`SwitchLimits::handshakes`] handshakes run at once per
//!   transport, and at most [`SwitchLimits::handshakes_per_source`] from one source address.
//!   A new connection never waits for a slot: it takes the oldest handshake of its own source
//!   when that source is at its share, else the oldest handshake of the source holding the most
//!   slots ([`NetCounters::handshakes_evicted`]). So a stranger holding every slot cannot keep
//!   a reconnecting member out: the member's handshake (a round trip) is evicted only by a
//!   stranger with more sources than there are slots. Over Tor and I2P-through-SOCKS every
//!   inbound stream comes from the local daemon — one source, with its share of slots — and
//!   an embedded onion service sees no source at all (one source with every slot); there the
//!   bound is the stranger's rate: it must open a share's worth of streams (each an
//!   onion-service rendezvous or an I2P tunnel, seconds apiece, behind the network's own DoS
//!   defences) within one handshake of the member's. Through SAM the source is the remote I2P
//!   destination.
//! * **Inbound bytes.** Frames wait for the node in one queue; each peer may have at most
//!   [`SwitchLimits::inbound_bytes_per_peer`] bytes in it. A peer over its share is not read
//!   from until the node has taken its frames (TCP pushes back on that peer alone).
//! * **De-duplication.** The same frame arrives up to once per transport; the switch keeps the
//!   last [`DEDUP_PER_PEER`] message ids of each sender and passes on only the first copy
//!   (senders are authenticated by the channel, so one peer cannot suppress another's frames).

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use super::clearnet::MAX_FRAME;
use super::handshake::{self, ChannelError, ChannelKeys};
use super::queue::LinkQueue;
use super::reconnect::{self, Link, LinkHealth, LinkStatus, QueuedFrame, HANDSHAKE_TIMEOUT};
use super::{BoxStream, Transport, TransportKind};
use crate::NodeId;

/// Default payload bytes queued per (peer, transport) link while it is slow or down.
pub const PEER_QUEUE_BYTES: usize = 64 << 20;
/// Message ids remembered per sender for de-duplication.
pub const DEDUP_PER_PEER: usize = 1 << 16;
/// Handshakes in progress at once, per transport.
pub const MAX_HANDSHAKES: usize = 64;
/// Handshakes in progress at once from one source address, per transport.
pub const HANDSHAKES_PER_SOURCE: usize = 8;
/// How often members' DNS names are looked up again for the handshake slots.
const MEMBER_LOOKUP_EVERY: Duration = Duration::from_secs(60);
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
    /// Handshakes cut short to give their slot to a newer connection.
    pub handshakes_evicted: AtomicU64,
    /// Health-check answers that matched no ping the link sent (ignored).
    pub unmatched_pongs: AtomicU64,
    /// Queued frames skipped because the peer had confirmed a copy on another transport.
    pub delivered_elsewhere: AtomicU64,
}

impl NetCounters {
    /// The counter values `[sent, bytes sent, received, bytes received, dropped, refused,
    /// duplicates, expired, handshakes evicted, unmatched pongs, delivered elsewhere]`.
    pub fn snapshot(&self) -> [u64; 11] {
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
            l(&self.handshakes_evicted),
            l(&self.unmatched_pongs),
            l(&self.delivered_elsewhere),
        ]
    }
}

/// What the switch lets peers and strangers make it hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwitchLimits {
    /// Largest frame payload accepted from a peer (a larger one closes the connection). Take
    /// it from the committee's settings (`node::Limits`), not the codec's absolute maximum.
    pub max_frame: usize,
    /// Payload bytes queued per (peer, transport) link.
    pub link_queue_bytes: usize,
    /// Bytes of one peer's frames waiting for the node (at least one frame always fits).
    pub inbound_bytes_per_peer: usize,
    /// Handshakes in progress at once, per transport.
    pub handshakes: usize,
    /// Handshakes in progress at once from one source address, per transport (an embedded
    /// onion service, which sees no sources, shares all of them).
    pub handshakes_per_source: usize,
    /// Bytes a clearnet link writes before the peer confirms them (see
    /// [`super::reconnect`], "Bytes in flight").
    pub window_bytes: usize,
    /// The same on Tor links.
    pub tor_window_bytes: usize,
    /// The same on I2P links.
    pub i2p_window_bytes: usize,
}

impl Default for SwitchLimits {
    fn default() -> Self {
        SwitchLimits {
            max_frame: MAX_FRAME,
            link_queue_bytes: PEER_QUEUE_BYTES,
            inbound_bytes_per_peer: 2 * MAX_FRAME,
            handshakes: MAX_HANDSHAKES,
            handshakes_per_source: HANDSHAKES_PER_SOURCE,
            window_bytes: reconnect::WINDOW_BYTES,
            tor_window_bytes: reconnect::TOR_WINDOW_BYTES,
            i2p_window_bytes: reconnect::I2P_WINDOW_BYTES,
        }
    }
}

/// A peer's frame handed to the node. Its bytes count against the peer's inbound share until
/// this is dropped: keep it until the node has taken the frame.
#[derive(Debug)]
pub struct Inbound {
    /// The authenticated sender.
    pub from: NodeId,
    /// The payload.
    pub bytes: Vec<u8>,
    /// The sender's share of the inbound queue this frame holds.
    pub permit: InboundPermit,
}

/// Bytes of a peer's inbound share, returned when dropped.
#[derive(Debug)]
pub struct InboundPermit(#[allow(dead_code)] Option<OwnedSemaphorePermit>);

impl InboundPermit {
    /// A permit that holds nothing (frames made up by tests).
    pub fn none() -> Self {
        InboundPermit(None)
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
    limits: SwitchLimits,
    seen: Vec<Mutex<Seen>>,
    /// Each peer's share of the inbound queue, in bytes.
    shares: Vec<Arc<Semaphore>>,
    inbound: mpsc::Sender<Inbound>,
    /// The live inbound connection of each (transport, peer).
    current: Mutex<Vec<Vec<Option<JoinHandle<()>>>>>,
}

/// The running switch.
pub struct Switch {
    me: NodeId,
    kinds: Vec<TransportKind>,
    /// `[transport][peer]` link queues.
    queues: Vec<Vec<Option<Arc<LinkQueue>>>>,
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
        for q in self.queues.iter().flatten().flatten() {
            q.close();
        }
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
    /// (first copies only) go to `inbound`; `limits` bounds what peers and strangers can make
    /// the switch hold. Every established outbound connection is reported on `events` as
    /// `(peer, transport index)`: frames written into a connection that then broke may be
    /// lost, so the node resends its frames of open epochs on that link ([`Switch::resend`]).
    /// Must be called inside a tokio runtime.
    pub fn start(
        me: NodeId,
        keys: Arc<ChannelKeys>,
        transports: Vec<TransportSetup>,
        inbound: mpsc::Sender<Inbound>,
        limits: SwitchLimits,
        events: mpsc::UnboundedSender<(NodeId, usize)>,
    ) -> Self {
        let n = transports.iter().map(|t| t.peers.len()).max().unwrap_or(0);
        let share = limits.inbound_bytes_per_peer.clamp(1, Semaphore::MAX_PERMITS);
        let shared = Arc::new(Shared {
            keys: keys.clone(),
            n,
            shares: (0..n).map(|_| Arc::new(Semaphore::new(share))).collect(),
            limits: limits.clone(),
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
        // Every link's health up front: each link watches its siblings (same peer, other
        // transports) to leave to a faster one what it would deliver first.
        let all_health: Vec<Vec<Arc<LinkHealth>>> =
            transports.iter().map(|_| (0..n).map(|_| Arc::new(LinkHealth::default())).collect()).collect();
        let has_link: Vec<Vec<bool>> = transports
            .iter()
            .map(|t| {
                (0..n)
                    .map(|p| p != me && t.peers.get(p).is_some_and(|a| a.as_ref().is_some_and(|a| !a.is_empty())))
                    .collect()
            })
            .collect();
        for (index, setup) in transports.into_iter().enumerate() {
            let counters = Arc::new(NetCounters::default());
            let transport = setup.transport;
            switch.tasks.push(tokio::spawn(accept_loop(
                index,
                me,
                transport.clone(),
                setup.peers.clone(),
                shared.clone(),
                counters.clone(),
            )));
            let (mut queues, mut health) = (Vec::with_capacity(n), Vec::with_capacity(n));
            for (peer, addr) in setup.peers.into_iter().enumerate() {
                let Some(addr) = addr.filter(|a| peer != me && !a.is_empty()) else {
                    queues.push(None);
                    health.push(None);
                    continue;
                };
                let queue = Arc::new(LinkQueue::new(limits.link_queue_bytes));
                let h = all_health[index][peer].clone();
                let siblings = all_health
                    .iter()
                    .enumerate()
                    .filter(|(t, _)| *t != index && has_link[*t][peer])
                    .map(|(_, h)| h[peer].clone())
                    .collect();
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
                    window: match transport.kind() {
                        TransportKind::Clearnet => limits.window_bytes,
                        TransportKind::Tor => limits.tor_window_bytes,
                        TransportKind::I2p => limits.i2p_window_bytes,
                    } as u64,
                    siblings,
                };
                switch.tasks.push(tokio::spawn(link.run(queue.clone())));
                queues.push(Some(queue));
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
        self.send_queued(to, epoch, frame).0
    }

    /// [`Switch::send`], and whether the frame was queued on at least one transport (`false`:
    /// every link to `to` is full, or there is none).
    pub fn send_queued(&self, to: NodeId, epoch: u64, frame: Arc<Vec<u8>>) -> (u64, bool) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut queued = false;
        let copy = QueuedFrame::new(id, epoch, frame);
        for t in 0..self.queues.len() {
            queued |= self.enqueue(t, to, copy.clone());
        }
        (id, queued)
    }

    /// Send `frame` under message id `id` (chosen by the node core) to `to` on every transport
    /// that reaches it; whether it was queued on at least one link that is up (`false`: every
    /// live link to `to` is full, or none is up — the node core is told, see
    /// `NodeCore::unsent`). A link that is down keeps taking frames (it evicts closed epochs to
    /// make room) and sends them when it comes back, but may never come back: a frame only it
    /// holds counts as not sent. Reporting too much costs one resend once the epoch stalls.
    pub fn send_with_id(&self, to: NodeId, id: u64, epoch: u64, frame: Arc<Vec<u8>>) -> bool {
        let copy = QueuedFrame::new(id, epoch, frame);
        let mut queued = false;
        for t in 0..self.queues.len() {
            queued |= self.enqueue(t, to, copy.clone()) && self.link_up(t, to);
        }
        queued
    }

    /// Whether the link to `to` on transport `t` is up (its health check answers).
    fn link_up(&self, t: usize, to: NodeId) -> bool {
        self.health.get(t).and_then(|h| h.get(to)).and_then(|h| h.as_ref()).is_some_and(|h| h.is_up())
    }

    /// Send `frame` again, with its original id, on transport `transport` only (after that
    /// link reconnected); whether it was queued (`false`: that link's queue is full).
    pub fn resend(&self, to: NodeId, transport: usize, id: u64, epoch: u64, frame: Arc<Vec<u8>>) -> bool {
        // A flag of its own, not the first copies': a reconnection may mean the peer restarted
        // and lost what it had confirmed.
        self.enqueue(transport, to, QueuedFrame::new(id, epoch, frame))
    }

    /// Frames of epochs below `epoch` are stale: links skip them instead of sending (a slow
    /// network would otherwise work through a backlog of closed epochs before reaching the
    /// current one; a peer that lacks a closed epoch catches up from committed batches).
    pub fn set_watermark(&self, epoch: u64) {
        self.watermark.fetch_max(epoch, Ordering::Relaxed);
    }

    fn enqueue(&self, t: usize, to: NodeId, frame: QueuedFrame) -> bool {
        let Some(Some(q)) = self.queues[t].get(to) else { return false };
        let pushed = q.push(frame, self.watermark.load(Ordering::Relaxed));
        self.counters[t].expired.fetch_add(pushed.evicted, Ordering::Relaxed);
        if !pushed.queued {
            self.counters[t].dropped.fetch_add(1, Ordering::Relaxed);
        }
        pushed.queued
    }

    /// Payload bytes queued on every link, in all.
    pub fn queued_bytes(&self) -> usize {
        self.queues.iter().flatten().flatten().map(|q| q.bytes()).sum()
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

/// The handshakes in progress on one transport, by age, with their sources.
#[derive(Debug, Default)]
pub(crate) struct Slots {
    next: u64,
    /// Slot number → (source, from a member's address, cancel).
    active: std::collections::BTreeMap<u64, (String, bool, Option<oneshot::Sender<()>>)>,
}

impl Slots {
    /// Take a slot for a handshake from `source` (`member`: the source is one of the cluster
    /// file's member addresses), evicting (and cancelling) another when `source` is at its
    /// share or every slot is taken: its own oldest first; else the oldest of the source
    /// holding the most slots among strangers; a member may also evict another member's when
    /// no stranger holds one, a stranger never. Returns the slot number, the cancel signal for
    /// the new handshake, and whether one was evicted; `None` when a stranger finds every slot
    /// held by members' handshakes (it is refused).
    pub(crate) fn take(
        &mut self,
        source: &str,
        member: bool,
        max: usize,
        per_source: usize,
    ) -> Option<(u64, oneshot::Receiver<()>, bool)> {
        let max = max.max(1);
        let share = if is_shared_source(source) { max } else { per_source.clamp(1, max) };
        let mine = self.active.values().filter(|(s, _, _)| s == source).count();
        let victim = if mine >= share {
            self.active.iter().find(|(_, (s, _, _))| s == source).map(|(k, _)| *k)
        } else if self.active.len() >= max {
            let oldest_of_biggest = |members: bool| {
                let mut counts: std::collections::HashMap<&str, usize> = Default::default();
                for (s, m, _) in self.active.values() {
                    if !*m || members {
                        *counts.entry(s.as_str()).or_default() += 1;
                    }
                }
                let most = counts.values().copied().max()?;
                self.active
                    .iter()
                    .find(|(_, (s, m, _))| (!*m || members) && counts.get(s.as_str()) == Some(&most))
                    .map(|(k, _)| *k)
            };
            match oldest_of_biggest(false).or_else(|| oldest_of_biggest(member).filter(|_| member)) {
                Some(v) => Some(v),
                None => return None,
            }
        } else {
            None
        };
        if let Some(v) = victim {
            if let Some((_, _, Some(cancel))) = self.active.remove(&v) {
                let _ = cancel.send(());
            }
        }
        let (tx, rx) = oneshot::channel();
        let slot = self.next;
        self.next += 1;
        self.active.insert(slot, (source.to_string(), member, Some(tx)));
        Some((slot, rx, victim.is_some()))
    }

    /// The handshake in `slot` ended.
    pub(crate) fn release(&mut self, slot: u64) {
        self.active.remove(&slot);
    }

    /// Handshakes in progress.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.active.len()
    }
}

/// The handshake source a member's address on a transport stands for, when it can be told
/// without a lookup: an IP literal (as [`crate::net::clearnet::source_of`] names it) or an
/// I2P `.b32.i2p` name. `Err(host)`: a DNS name, resolved by [`member_sources`].
fn literal_source(addr: &str) -> Option<Result<String, String>> {
    let host = match addr.parse::<std::net::SocketAddr>() {
        Ok(sa) => return Some(Ok(super::clearnet::source_of(sa.ip()))),
        Err(_) => addr.rsplit_once(':').map_or(addr, |(h, _)| h),
    };
    if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>() {
        return Some(Ok(super::clearnet::source_of(ip)));
    }
    let lower = host.to_ascii_lowercase();
    if lower.ends_with(".b32.i2p") {
        return Some(Ok(lower));
    }
    if lower.ends_with(".onion") || lower.ends_with(".i2p") || host.is_empty() {
        return None; // an onion service or named I2P destination learns no source
    }
    Some(Err(addr.to_string()))
}

/// The sources of the members' addresses on one transport, and the DNS names among them.
fn member_sources(peers: &[Option<String>], me: NodeId) -> (HashSet<String>, Vec<String>) {
    let (mut sources, mut names) = (HashSet::new(), Vec::new());
    for (i, addr) in peers.iter().enumerate() {
        let Some(addr) = addr.as_deref().filter(|_| i != me) else { continue };
        match literal_source(addr) {
            Some(Ok(s)) => {
                sources.insert(s);
            }
            Some(Err(name)) => names.push(name),
            None => {}
        }
    }
    (sources, names)
}

/// Keep `members` up to date with what the members' DNS names resolve to (pods move).
async fn look_up_members(literal: HashSet<String>, names: Vec<String>, members: Arc<Mutex<HashSet<String>>>) {
    if names.is_empty() {
        return;
    }
    loop {
        let mut set = literal.clone();
        for name in &names {
            if let Ok(Ok(addrs)) = tokio::time::timeout(Duration::from_secs(5), tokio::net::lookup_host(name)).await {
                set.extend(addrs.map(|a| super::clearnet::source_of(a.ip())));
            }
        }
        if let Ok(mut m) = members.lock() {
            *m = set;
        }
        tokio::time::sleep(MEMBER_LOOKUP_EVERY).await;
    }
}

/// Aborts its task when dropped (a child task of a task that is aborted).
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Whether a source stands for everyone (an embedded onion service learns nothing about who
/// connects): it shares all the slots.
fn is_shared_source(source: &str) -> bool {
    source == "onion"
}

async fn accept_loop(
    index: usize,
    me: NodeId,
    transport: Arc<dyn Transport>,
    peers: Vec<Option<String>>,
    shared: Arc<Shared>,
    counters: Arc<NetCounters>,
) {
    let slots = Arc::new(Mutex::new(Slots::default()));
    let (literal, names) = member_sources(&peers, me);
    let members = Arc::new(Mutex::new(literal.clone()));
    let _lookup = AbortOnDrop(tokio::spawn(look_up_members(literal, names, members.clone())));
    loop {
        let (stream, source) = match transport.accept().await {
            Ok(s) => s,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let member = members.lock().is_ok_and(|m| m.contains(&source));
        let taken = slots
            .lock()
            .map(|mut s| s.take(&source, member, shared.limits.handshakes, shared.limits.handshakes_per_source));
        let Ok(Some((slot, cancelled, evicted))) = taken else {
            // Every slot holds a member's handshake: the stranger waits outside.
            counters.refused.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%source, "inbound connection refused: every handshake slot is taken");
            continue;
        };
        if evicted {
            counters.handshakes_evicted.fetch_add(1, Ordering::Relaxed);
        }
        let (shared2, counters2, slots2) = (shared.clone(), counters.clone(), slots.clone());
        tokio::spawn(async move {
            let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, async {
                let mut stream = stream;
                handshake::respond(&mut stream, &shared2.keys).await.map(|(from, ch)| (from, ch, stream))
            });
            let hs = tokio::select! {
                hs = handshake => Some(hs),
                _ = cancelled => None,
            };
            if let Ok(mut s) = slots2.lock() {
                s.release(slot);
            }
            let (from, channel, stream) = match hs {
                Some(Ok(Ok(accepted))) => accepted,
                other => {
                    let why = match other {
                        None => "cut short for a newer handshake".to_string(),
                        Some(Err(_)) => "timed out".to_string(),
                        Some(Ok(Err(e))) => e.to_string(),
                        Some(Ok(Ok(_))) => String::new(),
                    };
                    counters2.refused.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(%source, reason = %why, "inbound handshake refused");
                    return;
                }
            };
            if from >= shared2.n {
                counters2.refused.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%source, peer = from, "inbound handshake refused: no such member");
                return;
            }
            tracing::debug!(%source, peer = from, "inbound link accepted");
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
        let frame = match tokio::time::timeout(INBOUND_IDLE, rx.recv(&mut rd, shared.limits.max_frame + 9)).await {
            Ok(Ok(f)) => f,
            // Closed by the peer, or silent for too long.
            Ok(Err(ChannelError::Io(_))) | Err(_) => return,
            Ok(Err(e)) => {
                // Tampered, replayed or oversized.
                counters.refused.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(peer = from, reason = %e, "inbound link closed: bad frame");
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
                // Wait for room in this peer's share (others are not held up).
                let want = (frame.len() - 9).clamp(1, shared.limits.inbound_bytes_per_peer.max(1));
                let want = u32::try_from(want).unwrap_or(u32::MAX);
                let Ok(permit) = shared.shares[from].clone().acquire_many_owned(want).await else { return };
                let inbound = Inbound { from, bytes: frame[9..].to_vec(), permit: InboundPermit(Some(permit)) };
                if shared.inbound.send(inbound).await.is_err() {
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
    fn handshake_slots_are_shared_out_by_source() {
        let mut s = Slots::default();
        let take = |s: &mut Slots, source: &str, member: bool| s.take(source, member, 8, 4).unwrap();
        // A stranger from one address fills its share; its own oldest goes first.
        let mut stranger = Vec::new();
        for _ in 0..4 {
            let (slot, rx, evicted) = take(&mut s, "203.0.113.9", false);
            assert!(!evicted);
            stranger.push((slot, rx));
        }
        let (_, _, evicted) = take(&mut s, "203.0.113.9", false);
        assert!(evicted);
        assert!(stranger[0].1.try_recv().is_ok(), "the stranger's oldest handshake is cancelled");
        assert_eq!(s.len(), 4);
        // Strangers on more addresses fill every slot...
        for i in 0..4 {
            take(&mut s, &format!("198.51.100.{i}"), false);
        }
        assert_eq!(s.len(), 8);
        // ...and a member still gets one: the oldest of the biggest source gives way.
        let (member, mut member_rx, evicted) = take(&mut s, "192.0.2.1", true);
        assert!(evicted);
        assert_eq!(s.len(), 8);
        assert!(stranger[1].1.try_recv().is_ok());
        // Strangers from ever new addresses evict strangers, never the member.
        for i in 0..100 {
            take(&mut s, &format!("2001:db8:{i:x}:1::/64"), false);
        }
        assert!(member_rx.try_recv().is_err(), "the member's handshake survives");
        s.release(member);
        assert_eq!(s.len(), 7);
        // An embedded onion service cannot tell sources apart: one source with every slot.
        let mut t = Slots::default();
        for _ in 0..8 {
            assert!(!t.take("onion", false, 8, 2).unwrap().2);
        }
        assert!(t.take("onion", false, 8, 2).unwrap().2);
    }

    #[test]
    fn strangers_cannot_evict_members_handshakes() {
        let mut s = Slots::default();
        let mut members = Vec::new();
        for i in 0..4 {
            for _ in 0..2 {
                members.push(s.take(&format!("192.0.2.{i}"), true, 8, 4).unwrap());
            }
        }
        // Every slot holds a member's handshake: a stranger is refused, evicting nothing.
        assert!(s.take("203.0.113.9", false, 8, 4).is_none());
        assert!(members.iter_mut().all(|(_, rx, _)| rx.try_recv().is_err()));
        // A member still gets in (the biggest member source's oldest gives way).
        assert!(s.take("192.0.2.0", true, 8, 4).unwrap().2);
    }

    #[test]
    fn member_addresses_name_their_sources() {
        assert_eq!(literal_source("10.0.0.7:7000"), Some(Ok("10.0.0.7".to_string())));
        assert_eq!(literal_source("[2001:db8:1:2:3:4:5:6]:7000"), Some(Ok("2001:db8:1:2::/64".to_string())));
        assert_eq!(literal_source("[::ffff:10.0.0.7]:7000"), Some(Ok("10.0.0.7".to_string())));
        let b32 = format!("{}.b32.i2p", "a".repeat(52));
        assert_eq!(literal_source(&b32), Some(Ok(b32.clone())));
        assert_eq!(literal_source("abcdef.onion:7000"), None);
        assert_eq!(
            literal_source("beat-1.beat-headless.ns.svc:7000"),
            Some(Err("beat-1.beat-headless.ns.svc:7000".into()))
        );
        let (sources, names) = member_sources(
            &[Some("10.0.0.1:1".into()), None, Some("node-2:7000".into()), Some("10.0.0.9:1".into())],
            3,
        );
        assert_eq!(sources, HashSet::from(["10.0.0.1".to_string()]));
        assert_eq!(names, vec!["node-2:7000".to_string()]);
    }

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
