//! Prometheus metrics of a node (feature `node`).
//!
//! No global registry: [`NodeMetrics::register`] adds the node's metrics to a registry the
//! embedding host owns (or [`NodeMetrics::new`] makes one), and [`serve`] exposes it as
//! `GET /metrics` in the text format. Names follow `beat_<subsystem>_<name>_<unit>`, counters
//! end in `_total`, latencies are histograms in seconds. No metric carries key material.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Label: the transport.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TransportLabel {
    /// `clearnet`, `tor` or `i2p`.
    pub transport: String,
}

/// Label: one (peer, transport) link.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LinkLabel {
    /// The peer's id.
    pub peer: u32,
    /// `clearnet`, `tor` or `i2p`.
    pub transport: String,
}

/// Label: a fault kind and the peer it is recorded against.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FaultLabel {
    /// The peer's id.
    pub peer: u32,
    /// The `FaultKind`, as its Debug name.
    pub kind: String,
}

/// Label: a frame the node core dropped before its WAL.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DropLabel {
    /// The peer that sent it.
    pub peer: u32,
    /// Why (`oversized`, `malformed`, `epoch_budget`, …: `node::DropReason::name`).
    pub reason: String,
}

/// Label: build information.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BuildLabel {
    /// Crate version.
    pub version: String,
}

/// Every metric a node updates.
#[derive(Debug, Clone)]
pub struct NodeMetrics {
    /// The lowest epoch not yet committed.
    pub epoch: Gauge,
    /// Epochs committed.
    pub epochs_committed: Counter,
    /// Transactions committed.
    pub transactions_committed: Counter,
    /// From `submit` at this node to its commit here.
    pub commit_latency: Histogram,
    /// The round at which ABA instances decided.
    pub aba_decision_round: Histogram,
    /// Frames sent, per transport.
    pub messages_sent: Family<TransportLabel, Counter<u64, AtomicU64>>,
    /// Payload bytes sent, per transport.
    pub bytes_sent: Family<TransportLabel, Counter<u64, AtomicU64>>,
    /// Frames received, per transport.
    pub messages_received: Family<TransportLabel, Counter<u64, AtomicU64>>,
    /// Payload bytes received, per transport.
    pub bytes_received: Family<TransportLabel, Counter<u64, AtomicU64>>,
    /// Frames dropped on full peer queues, per transport.
    pub messages_dropped: Family<TransportLabel, Counter<u64, AtomicU64>>,
    /// Peers with an answering link, per transport.
    pub peers_connected: Family<TransportLabel, Gauge>,
    /// Inbound connections refused or closed (bad handshake, unknown key, garbage, oversized
    /// or tampered frames, floods), per transport.
    pub connections_refused: Family<TransportLabel, Counter<u64, AtomicU64>>,
    /// Inbound frames that another transport had already delivered, per transport.
    pub duplicates_dropped: Family<TransportLabel, Counter<u64, AtomicU64>>,
    /// Queued frames skipped because their epoch closed first, per transport.
    pub messages_expired: Family<TransportLabel, Counter<u64, AtomicU64>>,
    /// Inbound handshakes cut short to give their slot to a newer connection, per transport.
    pub handshakes_evicted: Family<TransportLabel, Counter<u64, AtomicU64>>,
    /// Health-check answers that matched no ping, per transport.
    pub unmatched_pongs: Family<TransportLabel, Counter<u64, AtomicU64>>,
    /// Queued frames not sent on a transport because the peer had confirmed a copy on another,
    /// per transport.
    pub delivered_elsewhere: Family<TransportLabel, Counter<u64, AtomicU64>>,
    /// 1 while the (peer, transport) link is connected and answering health checks, else 0.
    pub link_up: Family<LinkLabel, Gauge>,
    /// Connections established on the (peer, transport) link (1 + reconnections).
    pub link_connects: Family<LinkLabel, Gauge>,
    /// Round trip of the (peer, transport) link's last health-check answer, in seconds (it
    /// includes the time the bytes written before the ping took to arrive).
    pub link_rtt: Family<LinkLabel, Gauge<f64, AtomicU64>>,
    /// Bytes the (peer, transport) link wrote that the peer has not confirmed yet.
    pub link_in_flight: Family<LinkLabel, Gauge>,
    /// Faults recorded against peers, per peer and kind.
    pub faults: Family<FaultLabel, Counter>,
    /// Epochs taken from `f + 1` peers' committed batches (catch-up) instead of run.
    pub caught_up_epochs: Counter,
    /// Frames sent again to peers stuck in the epoch this node was stalled in.
    pub frames_resent: Counter,
    /// Peer frames the node core dropped before its WAL, per peer and reason.
    pub frames_dropped: Family<DropLabel, Counter>,
    /// Client transactions refused before the WAL (over the committee's limits or budgets).
    pub submits_refused: Counter,
    /// Client transactions queued for the protocol.
    pub submit_queue_length: Gauge,
    /// Transactions in the protocol's buffer.
    pub buffered_transactions: Gauge,
    /// WAL records written.
    pub wal_records: Gauge,
    /// Bytes of the store on disk.
    pub store_size_bytes: Gauge,
    /// Bytes of the latest application snapshot.
    pub snapshot_size_bytes: Gauge,
    /// Bytes free for the node on the file system of its data directory.
    pub disk_available_bytes: Gauge,
    /// Size in bytes of the file system of its data directory.
    pub disk_capacity_bytes: Gauge,
    /// BEAT3/4: committed values whose fragment this node lacks or holds damaged (known so far).
    pub fragments_missing: Gauge,
    /// BEAT3/4: fragments rebuilt from peers and kept.
    pub fragments_repaired: Counter,
    /// BEAT3/4: bytes fetched from peers for repairs.
    pub repair_fetched_bytes: Counter,
    /// BEAT3/4: repairs that failed or timed out (each is retried).
    pub repair_failures: Counter,
    /// BEAT3/4: stored fragments the scrub verified.
    pub scrub_checked: Counter,
    /// BEAT3/4: stored fragments the scrub found missing or failing verification.
    pub scrub_failed: Counter,
    /// Build information (value 1).
    pub build_info: Family<BuildLabel, Gauge>,
}

impl NodeMetrics {
    /// A node's metrics in a new registry.
    pub fn new() -> (Self, Arc<Mutex<Registry>>) {
        let mut registry = Registry::default();
        let m = Self::register(&mut registry);
        (m, Arc::new(Mutex::new(registry)))
    }

    /// Register a node's metrics in `registry` (an embedding host's own).
    pub fn register(registry: &mut Registry) -> Self {
        let m = NodeMetrics {
            epoch: Gauge::default(),
            epochs_committed: Counter::default(),
            transactions_committed: Counter::default(),
            commit_latency: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
            aba_decision_round: Histogram::new([0.0, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0].into_iter()),
            messages_sent: Family::default(),
            bytes_sent: Family::default(),
            messages_received: Family::default(),
            bytes_received: Family::default(),
            messages_dropped: Family::default(),
            peers_connected: Family::default(),
            connections_refused: Family::default(),
            duplicates_dropped: Family::default(),
            messages_expired: Family::default(),
            handshakes_evicted: Family::default(),
            unmatched_pongs: Family::default(),
            delivered_elsewhere: Family::default(),
            link_up: Family::default(),
            link_rtt: Family::default(),
            link_in_flight: Family::default(),
            link_connects: Family::default(),
            faults: Family::default(),
            caught_up_epochs: Counter::default(),
            frames_resent: Counter::default(),
            frames_dropped: Family::default(),
            submits_refused: Counter::default(),
            submit_queue_length: Gauge::default(),
            buffered_transactions: Gauge::default(),
            wal_records: Gauge::default(),
            store_size_bytes: Gauge::default(),
            disk_available_bytes: Gauge::default(),
            disk_capacity_bytes: Gauge::default(),
            snapshot_size_bytes: Gauge::default(),
            fragments_missing: Gauge::default(),
            fragments_repaired: Counter::default(),
            repair_fetched_bytes: Counter::default(),
            repair_failures: Counter::default(),
            scrub_checked: Counter::default(),
            scrub_failed: Counter::default(),
            build_info: Family::default(),
        };
        let r = registry.sub_registry_with_prefix("beat");
        r.register("consensus_epoch", "Lowest epoch not yet committed", m.epoch.clone());
        r.register("consensus_epochs_committed", "Epochs committed", m.epochs_committed.clone());
        r.register("consensus_transactions_committed", "Transactions committed", m.transactions_committed.clone());
        r.register_with_unit(
            "consensus_commit_latency",
            "Time from submit at this node to commit",
            prometheus_client::registry::Unit::Seconds,
            m.commit_latency.clone(),
        );
        r.register("aba_decision_round", "ABA round at decision", m.aba_decision_round.clone());
        r.register("net_messages_sent", "Frames sent", m.messages_sent.clone());
        r.register_with_unit(
            "net_sent",
            "Payload bytes sent",
            prometheus_client::registry::Unit::Bytes,
            m.bytes_sent.clone(),
        );
        r.register("net_messages_received", "Frames received", m.messages_received.clone());
        r.register_with_unit(
            "net_received",
            "Payload bytes received",
            prometheus_client::registry::Unit::Bytes,
            m.bytes_received.clone(),
        );
        r.register("net_messages_dropped", "Frames dropped on full peer queues", m.messages_dropped.clone());
        r.register("net_peers_connected", "Peers with an answering link", m.peers_connected.clone());
        r.register("net_connections_refused", "Inbound connections refused or closed", m.connections_refused.clone());
        r.register(
            "net_duplicates_dropped",
            "Inbound frames already delivered by another transport",
            m.duplicates_dropped.clone(),
        );
        r.register(
            "net_messages_expired",
            "Queued frames skipped because their epoch closed first",
            m.messages_expired.clone(),
        );
        r.register(
            "net_handshakes_evicted",
            "Inbound handshakes cut short for a newer connection",
            m.handshakes_evicted.clone(),
        );
        r.register("net_unmatched_pongs", "Health-check answers matching no ping", m.unmatched_pongs.clone());
        r.register(
            "net_messages_delivered_elsewhere",
            "Queued frames not sent because the peer confirmed a copy on another transport",
            m.delivered_elsewhere.clone(),
        );
        r.register("net_link_up", "Link connected and answering health checks", m.link_up.clone());
        r.register("net_link_connects", "Connections established on the link", m.link_connects.clone());
        r.register(
            "net_link_rtt_seconds",
            "Round trip of the link's last health-check answer (behind the bytes written before it)",
            m.link_rtt.clone(),
        );
        r.register(
            "net_link_in_flight_bytes",
            "Bytes written on the link and not yet confirmed",
            m.link_in_flight.clone(),
        );
        r.register("faults_detected", "Faults recorded against peers, per peer and kind", m.faults.clone());
        r.register(
            "node_caught_up_epochs",
            "Epochs taken from f + 1 peers' committed batches instead of run",
            m.caught_up_epochs.clone(),
        );
        r.register(
            "node_frames_resent",
            "Frames sent again to peers stuck in the epoch this node was stalled in (they had dropped them)",
            m.frames_resent.clone(),
        );
        r.register(
            "node_frames_dropped",
            "Peer frames dropped before the WAL, per peer and reason",
            m.frames_dropped.clone(),
        );
        r.register("node_submits_refused", "Client transactions refused before the WAL", m.submits_refused.clone());
        r.register("node_submit_queue_length", "Client transactions queued", m.submit_queue_length.clone());
        r.register(
            "node_buffered_transactions",
            "Transactions in the protocol buffer",
            m.buffered_transactions.clone(),
        );
        r.register("store_wal_records", "WAL records written", m.wal_records.clone());
        r.register_with_unit(
            "store_size",
            "Store size on disk",
            prometheus_client::registry::Unit::Bytes,
            m.store_size_bytes.clone(),
        );
        r.register_with_unit(
            "store_disk_available",
            "Bytes free for the node on its data directory's file system",
            prometheus_client::registry::Unit::Bytes,
            m.disk_available_bytes.clone(),
        );
        r.register_with_unit(
            "store_disk_capacity",
            "Size of its data directory's file system",
            prometheus_client::registry::Unit::Bytes,
            m.disk_capacity_bytes.clone(),
        );
        r.register_with_unit(
            "store_snapshot_size",
            "Latest application snapshot",
            prometheus_client::registry::Unit::Bytes,
            m.snapshot_size_bytes.clone(),
        );
        r.register(
            "store_fragments_missing",
            "Committed values whose fragment this node lacks or holds damaged",
            m.fragments_missing.clone(),
        );
        r.register("store_fragments_repaired", "Fragments rebuilt from peers and kept", m.fragments_repaired.clone());
        r.register_with_unit(
            "store_repair_fetched",
            "Bytes fetched from peers for repairs",
            prometheus_client::registry::Unit::Bytes,
            m.repair_fetched_bytes.clone(),
        );
        r.register("store_repair_failures", "Repairs that failed or timed out", m.repair_failures.clone());
        r.register("store_scrub_checked", "Stored fragments the scrub verified", m.scrub_checked.clone());
        r.register("store_scrub_failed", "Stored fragments the scrub found missing or bad", m.scrub_failed.clone());
        r.register("build_info", "Build information", m.build_info.clone());
        m.build_info.get_or_create(&BuildLabel { version: env!("CARGO_PKG_VERSION").to_string() }).set(1);
        m
    }
}

/// The registry in Prometheus text format.
pub fn render(registry: &Mutex<Registry>) -> String {
    let mut out = String::new();
    if let Ok(r) = registry.lock() {
        let _ = prometheus_client::encoding::text::encode(&mut out, &r);
    }
    out
}

/// Connections the metrics endpoint serves at once; more are closed at once.
pub const MAX_CONNECTIONS: usize = 8;
/// How long one request may take to arrive and its answer to be read.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Serve `GET /metrics` on `listener` until the runtime stops: at most [`MAX_CONNECTIONS`] at
/// once, each closed after [`REQUEST_TIMEOUT`] whether or not the client reads (a slow or idle
/// client cannot hold the endpoint), request heads read up to 2 KiB.
pub async fn serve(listener: tokio::net::TcpListener, registry: Arc<Mutex<Registry>>) {
    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else { continue };
        let registry = registry.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let _ = tokio::time::timeout(REQUEST_TIMEOUT, async {
                let mut buf = [0u8; 2048];
                let n = stream.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]);
                let path = head.split_whitespace().nth(1).unwrap_or("");
                let (status, body) = if head.starts_with("GET ") && (path == "/metrics" || path == "/") {
                    ("200 OK", render(&registry))
                } else {
                    ("404 Not Found", "not found: GET /metrics\n".to_string())
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/openmetrics-text; version=1.0.0; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                stream.write_all(head.as_bytes()).await?;
                stream.write_all(body.as_bytes()).await
            })
            .await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn get(addr: std::net::SocketAddr, path: &str) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes()).await.unwrap();
        let mut out = String::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_string(&mut out)).await;
        out
    }

    #[tokio::test]
    async fn the_endpoint_serves_a_bounded_number_of_clients() {
        let (_m, registry) = NodeMetrics::new();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(serve(listener, registry));
        assert!(get(addr, "/metrics").await.contains("beat_build_info"));
        assert!(get(addr, "/other").await.starts_with("HTTP/1.1 404"));
        // Idle clients take every slot: the next one is closed without an answer.
        let mut idle = Vec::new();
        for _ in 0..MAX_CONNECTIONS {
            idle.push(tokio::net::TcpStream::connect(addr).await.unwrap());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(get(addr, "/metrics").await, "", "a connection beyond the bound is closed at once");
        // Idle clients let go (here: they hang up) and the endpoint answers again.
        drop(idle);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(get(addr, "/metrics").await.contains("beat_build_info"));
    }
}
