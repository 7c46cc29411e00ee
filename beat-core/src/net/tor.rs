//! Tor: onion services.
//!
//! [`TorSocks`] uses a tor daemon the operator runs (C tor on a server or laptop, Orbot on a
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

/// Dial through a SOCKS5 proxy, accept on a local listener that a daemon's tunnel feeds.
#[derive(Debug)]
pub(crate) struct Proxied {
    pub kind: TransportKind,
    pub proxy: String,
    pub listener: TcpListener,
}

impl Proxied {
    pub(crate) fn dial<'a>(&'a self, addr: &'a str) -> BoxFuture<'a, io::Result<BoxStream>> {
        Box::pin(async move {
            let s = super::socks::connect(&self.proxy, addr).await.map_err(io::Error::other)?;
            let _ = s.set_nodelay(true);
            Ok(Box::new(s) as BoxStream)
        })
    }
}

/// Tor through a tor daemon's SOCKS port and onion service.
#[derive(Debug)]
pub struct TorSocks(Proxied);

impl TorSocks {
    /// Dial through the SOCKS5 proxy `socks` (`ip:port`), accept on `listen` (the target of the
    /// daemon's `HiddenServicePort`).
    pub async fn new(socks: String, listen: SocketAddr) -> io::Result<Self> {
        Ok(TorSocks(Proxied { kind: TransportKind::Tor, proxy: socks, listener: TcpListener::bind(listen).await? }))
    }
}

impl Transport for TorSocks {
    fn kind(&self) -> TransportKind {
        self.0.kind
    }

    fn dial<'a>(&'a self, addr: &'a str) -> BoxFuture<'a, io::Result<BoxStream>> {
        self.0.dial(addr)
    }

    fn accept(&self) -> BoxFuture<'_, io::Result<BoxStream>> {
        Box::pin(accept_tcp(&self.0.listener))
    }
}
