//! Transports between nodes and the multi-network switch (feature `node`).
//!
//! A committee is only censored if clearnet, Tor **and** I2P are blocked at once: every frame
//! a node sends goes out on every configured network, and the receiver keeps the first copy.
//!
//! * [`Transport`] — one network: dial a peer's address, accept inbound streams. Implemented by
//!   [`clearnet::Clearnet`] (TCP), [`tor::SocksTransport`] (Tor through a tor daemon's SOCKS port,
//!   inbound through its onion service), [`i2p::I2pSam`] (I2P streams through a router's SAMv3
//!   bridge) or a SOCKS proxy; [`censor::Censored`] wraps any of them for tests.
//! * [`handshake`] — on every connection of every transport, a Noise `XX` handshake bound to
//!   the nodes' ed25519 identities; frames are encrypted and authenticated.
//! * [`switch::Switch`] — fan-out of each frame to every peer on every transport through
//!   bounded per-(peer, transport) queues, and de-duplication of inbound copies by
//!   (sender, message id) in a bounded cache.
//! * [`reconnect`] — one dialler per (peer, transport): exponential backoff with jitter,
//!   health-check pings, and the link status `BeatNode::status()` and the metrics report.
//! * [`router`] — the node's wire messages and their demultiplexing.
//!
//! The transports only move bytes; authentication, encryption, framing, de-duplication and
//! health are the same code on every network.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};

#[cfg(feature = "tor")]
pub mod arti;
pub mod censor;
pub mod clearnet;
pub mod handshake;
pub mod i2p;
pub(crate) mod queue;
pub mod reconnect;
pub mod resilient;
pub use crate::node::router;
pub mod sam;
pub mod socks;
pub mod switch;
pub mod tor;

/// A byte stream of some transport.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Stream for T {}

/// A boxed byte stream.
pub type BoxStream = Box<dyn Stream>;

/// An inbound stream and its (unauthenticated) source.
pub type Accepted = (BoxStream, String);

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Which network a transport uses (the label in metrics and status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TransportKind {
    /// Plain TCP/IP.
    Clearnet,
    /// Tor onion services.
    Tor,
    /// I2P destinations.
    I2p,
}

impl TransportKind {
    /// `clearnet`, `tor` or `i2p`.
    pub fn name(self) -> &'static str {
        match self {
            TransportKind::Clearnet => "clearnet",
            TransportKind::Tor => "tor",
            TransportKind::I2p => "i2p",
        }
    }
}

impl std::fmt::Display for TransportKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One network: it opens byte streams to peers' addresses and accepts peers' streams. It knows
/// nothing about frames, keys or nodes; the [`switch`] runs the channel on top.
pub trait Transport: Send + Sync + 'static {
    /// Which network this is.
    fn kind(&self) -> TransportKind;

    /// Open a stream to `addr` (this transport's address form: `host:port`, `….onion:port`,
    /// an I2P destination or `….b32.i2p`).
    fn dial<'a>(&'a self, addr: &'a str) -> BoxFuture<'a, io::Result<BoxStream>>;

    /// Wait for the next inbound stream, with its source as far as the network tells (an IP
    /// address for TCP, the remote destination's `.b32.i2p` name through SAM, `onion` for an
    /// embedded onion service). The source is unauthenticated: the switch only uses it to share
    /// out handshake slots. An error is about one connection attempt; the switch keeps
    /// accepting (after a short pause).
    fn accept(&self) -> BoxFuture<'_, io::Result<Accepted>>;
}

impl std::fmt::Debug for dyn Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Transport({})", self.kind())
    }
}

/// A transport a node should open, and every node's address on it (by id; ours is ignored,
/// an empty string means that peer is not on this network). `Debug` leaves out the I2P
/// private destination.
#[derive(Clone)]
pub enum TransportConfig {
    /// TCP: listen on `listen`, dial `host:port`.
    Clearnet {
        /// Where to listen.
        listen: SocketAddr,
        /// Every node's `host:port`.
        peers: Vec<String>,
    },
    /// Tor through a tor daemon: dial through its SOCKS5 port `socks`; its onion service
    /// (`HiddenServicePort`) forwards to `listen`.
    TorSocks {
        /// The daemon's SocksPort, `ip:port`.
        socks: String,
        /// The target of our `HiddenServicePort`.
        listen: SocketAddr,
        /// Every node's `….onion:port`.
        peers: Vec<String>,
    },
    /// I2P through a router's SAMv3 bridge.
    I2pSam {
        /// The bridge, `ip:port`.
        sam: String,
        /// Our private destination (base64), i.e. our I2P address.
        destination: String,
        /// Every node's destination (base64) or `….b32.i2p`.
        peers: Vec<String>,
    },
    /// I2P through a router's SOCKS5 proxy (outbound) and a server tunnel to `listen`.
    I2pSocks {
        /// The router's SOCKS5 proxy, `ip:port`.
        socks: String,
        /// The target of our server tunnel.
        listen: SocketAddr,
        /// Every node's `….b32.i2p:port`.
        peers: Vec<String>,
    },
    /// Tor in-process (arti, feature `tor`): the node hosts its own onion service (key in
    /// `config.onion_secret`, e.g. `keystore::OnionKey::seed`) and dials peers' onions.
    #[cfg(feature = "tor")]
    Arti {
        /// The embedded client's settings.
        config: arti::ArtiConfig,
        /// Every node's `….onion:port`.
        peers: Vec<String>,
    },
    /// Plain TCP reported as network `kind` (tests; networks reached through local tunnels).
    Tcp {
        /// The network it stands for.
        kind: TransportKind,
        /// Where to listen.
        listen: SocketAddr,
        /// Every node's `host:port`.
        peers: Vec<String>,
    },
}

impl std::fmt::Debug for TransportConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TransportConfig::Clearnet { listen, peers } => {
                f.debug_struct("Clearnet").field("listen", listen).field("peers", peers).finish()
            }
            TransportConfig::TorSocks { socks, listen, peers } => {
                f.debug_struct("TorSocks").field("socks", socks).field("listen", listen).field("peers", peers).finish()
            }
            TransportConfig::I2pSam { sam, destination, peers } => f
                .debug_struct("I2pSam")
                .field("sam", sam)
                // The private destination is the node's I2P key: only its public address shows.
                .field("address", &sam::public_destination(destination).and_then(|d| sam::b32_address(&d)).ok())
                .field("peers", peers)
                .finish_non_exhaustive(),
            TransportConfig::I2pSocks { socks, listen, peers } => {
                f.debug_struct("I2pSocks").field("socks", socks).field("listen", listen).field("peers", peers).finish()
            }
            #[cfg(feature = "tor")]
            TransportConfig::Arti { config, peers } => {
                f.debug_struct("Arti").field("config", config).field("peers", peers).finish()
            }
            TransportConfig::Tcp { kind, listen, peers } => {
                f.debug_struct("Tcp").field("kind", kind).field("listen", listen).field("peers", peers).finish()
            }
        }
    }
}

impl TransportConfig {
    /// The network.
    pub fn kind(&self) -> TransportKind {
        match self {
            TransportConfig::Clearnet { .. } => TransportKind::Clearnet,
            TransportConfig::TorSocks { .. } => TransportKind::Tor,
            #[cfg(feature = "tor")]
            TransportConfig::Arti { .. } => TransportKind::Tor,
            TransportConfig::I2pSam { .. } | TransportConfig::I2pSocks { .. } => TransportKind::I2p,
            TransportConfig::Tcp { kind, .. } => *kind,
        }
    }

    /// Every node's address on this network.
    pub fn peers(&self) -> &[String] {
        match self {
            TransportConfig::Clearnet { peers, .. }
            | TransportConfig::TorSocks { peers, .. }
            | TransportConfig::I2pSam { peers, .. }
            | TransportConfig::I2pSocks { peers, .. }
            | TransportConfig::Tcp { peers, .. } => peers,
            #[cfg(feature = "tor")]
            TransportConfig::Arti { peers, .. } => peers,
        }
    }

    /// Whether opening it needs a router or daemon that may be down (an I2P router's SAM
    /// bridge, the embedded Tor client's network): then a node starts without it and keeps
    /// trying ([`resilient::Resilient`]). The other transports open a local listener, and
    /// failing to is a configuration error.
    pub fn needs_router(&self) -> bool {
        match self {
            TransportConfig::I2pSam { .. } => true,
            #[cfg(feature = "tor")]
            TransportConfig::Arti { .. } => true,
            _ => false,
        }
    }

    /// Open it (inside a tokio runtime). `name` names the node's I2P session. The error says
    /// which transport failed and why.
    pub async fn open(&self, name: &str) -> Result<Arc<dyn Transport>, String> {
        let kind = self.kind();
        let listen_err = |addr: &SocketAddr, e: io::Error| format!("{kind}: cannot listen on {addr}: {e}");
        Ok(match self {
            TransportConfig::Clearnet { listen, .. } => {
                Arc::new(clearnet::Clearnet::bind(*listen).await.map_err(|e| listen_err(listen, e))?)
            }
            TransportConfig::Tcp { kind, listen, .. } => {
                Arc::new(clearnet::Clearnet::bind_as(*listen, *kind).await.map_err(|e| listen_err(listen, e))?)
            }
            TransportConfig::TorSocks { socks, listen, .. } => Arc::new(
                tor::SocksTransport::bind(kind, socks.clone(), *listen).await.map_err(|e| listen_err(listen, e))?,
            ),
            TransportConfig::I2pSocks { socks, listen, .. } => Arc::new(
                tor::SocksTransport::bind(kind, socks.clone(), *listen).await.map_err(|e| listen_err(listen, e))?,
            ),
            #[cfg(feature = "tor")]
            TransportConfig::Arti { config, .. } => Arc::new(
                arti::ArtiTor::new(config.clone()).await.map_err(|e| format!("tor: embedded arti client: {e}"))?,
            ),
            TransportConfig::I2pSam { sam, destination, .. } => Arc::new(
                i2p::I2pSam::new(sam, name, destination)
                    .await
                    .map_err(|e| format!("i2p: SAM session at {sam}: {e}"))?,
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_leaves_out_the_i2p_private_destination() {
        // A made-up private destination: 387 bytes of public destination and a key block.
        let private = sam::i2p_base64_encode(&[7u8; 387 + 256 + 32]);
        let t = TransportConfig::I2pSam { sam: "127.0.0.1:7656".into(), destination: private.clone(), peers: vec![] };
        let shown = format!("{t:?}");
        assert!(!shown.contains(&private[..40]), "{shown}");
        assert!(!shown.contains(&private[private.len() - 40..]), "{shown}");
        assert!(shown.contains("127.0.0.1:7656"), "{shown}");
    }
}
