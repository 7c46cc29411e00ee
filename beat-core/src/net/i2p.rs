//! I2P: destinations reached through a router.
//!
//! * [`I2pSam`] talks SAMv3 to a router's SAM bridge (an embedded router on a phone, i2pd or
//!   Java I2P on a server): one session with the node's persistent destination, `STREAM
//!   CONNECT` to peers' destinations (`….b32.i2p` or full base64), `STREAM ACCEPT` for
//!   inbound streams.
//! * [`super::tor::SocksTransport`] (with [`TransportKind::I2p`]) dials through a router's SOCKS proxy (outbound only) and accepts on a local
//!   listener fed by a router's server tunnel.
//!
//! The channel on top is the same Noise channel as on clearnet: the destination only routes.

use super::sam::{SamError, SamSession};
use super::{BoxFuture, BoxStream, Transport, TransportKind};
use std::io;

/// I2P through a router's SAMv3 bridge.
#[derive(Debug)]
pub struct I2pSam {
    session: SamSession,
}

impl I2pSam {
    /// Open a stream session on the SAM bridge at `sam` (`ip:port`) named `id`, with the
    /// private destination `destination` (base64, as `generate_destination` returns it; it is
    /// the node's I2P address and should be kept with its data).
    pub async fn new(sam: &str, id: &str, destination: &str) -> Result<Self, SamError> {
        Ok(I2pSam { session: SamSession::create(sam, id, Some(destination), &[]).await? })
    }

    /// Our address, `….b32.i2p`.
    pub fn address(&self) -> String {
        self.session.b32_address()
    }
}

impl Transport for I2pSam {
    fn kind(&self) -> TransportKind {
        TransportKind::I2p
    }

    fn dial<'a>(&'a self, addr: &'a str) -> BoxFuture<'a, io::Result<BoxStream>> {
        Box::pin(async move {
            let s = self.session.connect(addr).await.map_err(io::Error::other)?;
            let _ = s.set_nodelay(true);
            Ok(Box::new(s) as BoxStream)
        })
    }

    fn accept(&self) -> BoxFuture<'_, io::Result<super::Accepted>> {
        Box::pin(async move {
            // A stream that fails on its own (its dialler went away) is no sign of a broken
            // session: wait for the next, so strangers cannot make the transport reopen.
            let (s, peer) = loop {
                match self.session.accept_with_peer().await {
                    Ok(a) => break a,
                    Err(super::sam::SamError::Incoming(_)) => continue,
                    Err(e) => return Err(io::Error::other(e)),
                }
            };
            let _ = s.set_nodelay(true);
            let source = super::sam::b32_address(&peer).unwrap_or(peer);
            Ok((Box::new(s) as BoxStream, source))
        })
    }
}
