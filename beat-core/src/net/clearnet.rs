//! Clearnet: plain TCP. Peers' addresses are `host:port`.
//!
//! The stream carries the switch's Noise channel (length-prefixed, encrypted frames of at most
//! [`MAX_FRAME`] bytes); TCP itself adds nothing but reachability.

use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};

use super::{Accepted, BoxFuture, BoxStream, Transport, TransportKind};

/// Largest frame accepted or sent, on every transport.
pub const MAX_FRAME: usize = crate::codec::MAX_FRAME_BYTES;

/// TCP: a listener, and dialling `host:port`.
#[derive(Debug)]
pub struct Clearnet {
    listener: TcpListener,
    kind: TransportKind,
}

impl Clearnet {
    /// Listen on `addr` (must run inside a tokio runtime).
    pub async fn bind(addr: SocketAddr) -> io::Result<Self> {
        Ok(Clearnet { listener: TcpListener::bind(addr).await?, kind: TransportKind::Clearnet })
    }

    /// Plain TCP reported as network `kind`: for tests that stand in for Tor or I2P, and for
    /// a network reached through local TCP tunnels (an I2P client tunnel per peer, a VPN).
    pub async fn bind_as(addr: SocketAddr, kind: TransportKind) -> io::Result<Self> {
        Ok(Clearnet { listener: TcpListener::bind(addr).await?, kind })
    }

    /// The address listened on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

/// Accept one TCP connection from `listener` (shared by the transports that take inbound
/// connections through a local listener: clearnet, and Tor/I2P behind a daemon's tunnel).
pub(crate) async fn accept_tcp(listener: &TcpListener) -> io::Result<Accepted> {
    let (stream, addr) = listener.accept().await?;
    let _ = stream.set_nodelay(true);
    Ok((Box::new(stream), source_of(addr.ip())))
}

/// The handshake source an address counts as: an IPv4 address, or an IPv6 address's /64 (one
/// host's usual allocation: a stranger with a /64 is one source, not 2^64).
pub(crate) fn source_of(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

impl Transport for Clearnet {
    fn kind(&self) -> TransportKind {
        self.kind
    }

    fn dial<'a>(&'a self, addr: &'a str) -> BoxFuture<'a, io::Result<BoxStream>> {
        Box::pin(async move {
            let stream = TcpStream::connect(addr).await?;
            let _ = stream.set_nodelay(true);
            Ok(Box::new(stream) as BoxStream)
        })
    }

    fn accept(&self) -> BoxFuture<'_, io::Result<Accepted>> {
        Box::pin(accept_tcp(&self.listener))
    }
}
