//! Tor: onion services.
//!
//! [`SocksTransport`] (with [`TransportKind::Tor`]) uses a tor daemon the operator runs (C tor on a server or laptop, Orbot on a
//! phone): outbound streams go through the daemon's `SocksPort` to the peers' `….onion:port`
//! addresses (the name is resolved by tor, never locally), and the node's own onion service is
//! the daemon's `HiddenServicePort <port> <listen>` pointing at the node's local listener.
//! The channel on top is the same Noise channel as on clearnet, so the onion address only
//! routes: it does not authenticate (a wrong or hijacked address fails the handshake).
//!
//! Tor ends a stream with `END` (arti reports reason MISC as an I/O error after all data
//! arrived); BEAT's framing never depends on a clean close.

use std::io;
use std::net::SocketAddr;

use tokio::net::TcpListener;

use super::clearnet::accept_tcp;
use super::{BoxFuture, BoxStream, Transport, TransportKind};

/// A network reached through a SOCKS5 proxy (Tor's SocksPort, an I2P router's SOCKS proxy),
/// with inbound streams on a local listener that the daemon's tunnel feeds (Tor's
/// `HiddenServicePort`, an I2P server tunnel).
#[derive(Debug)]
pub struct SocksTransport {
    kind: TransportKind,
    proxy: String,
    listener: TcpListener,
}

impl SocksTransport {
    /// Network `kind`: dial through the SOCKS5 proxy `socks` (`ip:port`), accept on `listen`.
    pub async fn bind(kind: TransportKind, socks: String, listen: SocketAddr) -> io::Result<Self> {
        Ok(SocksTransport { kind, proxy: socks, listener: TcpListener::bind(listen).await? })
    }
}

impl Transport for SocksTransport {
    fn kind(&self) -> TransportKind {
        self.kind
    }

    fn dial<'a>(&'a self, addr: &'a str) -> BoxFuture<'a, io::Result<BoxStream>> {
        Box::pin(async move {
            let s = super::socks::connect(&self.proxy, addr).await.map_err(io::Error::other)?;
            let _ = s.set_nodelay(true);
            Ok(Box::new(s) as BoxStream)
        })
    }

    fn accept(&self) -> BoxFuture<'_, io::Result<super::Accepted>> {
        Box::pin(accept_tcp(&self.listener))
    }
}
