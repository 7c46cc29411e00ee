//! A censor around any transport, for tests and chaos drills.
//!
//! [`Censored`] wraps a [`Transport`]; a shared [`Censor`] handle switches it, at run time,
//! between:
//!
//! * [`CensorMode::Open`] — nothing happens;
//! * [`CensorMode::Drop`] — a blackhole (a firewall that drops packets): dials hang and then
//!   time out, bytes on open streams stop moving in both directions (and move again when the
//!   censor opens, as TCP retransmits after a temporary drop);
//! * [`CensorMode::Stall`] — dials succeed but no byte ever moves (a middlebox that accepts
//!   and holds connections);
//! * [`CensorMode::Reset`] — dials are refused and open streams fail (TCP resets).
//!
//! Inbound streams are censored too: the censor sits at the node's network border.

use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::{BoxFuture, BoxStream, Transport, TransportKind};

/// What the censor does to a transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CensorMode {
    /// Traffic passes.
    Open,
    /// Blackhole: dials time out, open streams freeze.
    Drop,
    /// Dials succeed, no byte moves.
    Stall,
    /// Dials refused, open streams reset.
    Reset,
}

/// A shared switch for one or more [`Censored`] transports.
#[derive(Debug, Clone)]
pub struct Censor(Arc<AtomicU8>);

impl Default for Censor {
    fn default() -> Self {
        Censor(Arc::new(AtomicU8::new(0)))
    }
}

impl Censor {
    /// An open censor.
    pub fn new() -> Self {
        Self::default()
    }

    /// Switch the mode.
    pub fn set(&self, mode: CensorMode) {
        let v = match mode {
            CensorMode::Open => 0,
            CensorMode::Drop => 1,
            CensorMode::Stall => 2,
            CensorMode::Reset => 3,
        };
        self.0.store(v, Ordering::Relaxed);
    }

    /// The current mode.
    pub fn mode(&self) -> CensorMode {
        match self.0.load(Ordering::Relaxed) {
            0 => CensorMode::Open,
            1 => CensorMode::Drop,
            2 => CensorMode::Stall,
            _ => CensorMode::Reset,
        }
    }
}

/// One censor per network: what a test hands to every node it censors.
#[derive(Debug, Clone, Default)]
pub struct Censors {
    /// Censor of clearnet.
    pub clearnet: Censor,
    /// Censor of Tor.
    pub tor: Censor,
    /// Censor of I2P.
    pub i2p: Censor,
}

impl Censors {
    /// The censor of `kind`.
    pub fn of(&self, kind: TransportKind) -> &Censor {
        match kind {
            TransportKind::Clearnet => &self.clearnet,
            TransportKind::Tor => &self.tor,
            TransportKind::I2p => &self.i2p,
        }
    }
}

/// How long a blackholed dial hangs before it times out.
const DROPPED_DIAL: Duration = Duration::from_secs(3);
/// How often a frozen stream looks whether the censor opened.
const RECHECK: Duration = Duration::from_millis(50);

/// A transport behind a censor.
#[derive(Debug)]
pub struct Censored {
    inner: Arc<dyn Transport>,
    censor: Censor,
}

impl Censored {
    /// Put `inner` behind `censor`.
    pub fn new(inner: Arc<dyn Transport>, censor: Censor) -> Self {
        Censored { inner, censor }
    }
}

impl Transport for Censored {
    fn kind(&self) -> TransportKind {
        self.inner.kind()
    }

    fn dial<'a>(&'a self, addr: &'a str) -> BoxFuture<'a, io::Result<BoxStream>> {
        Box::pin(async move {
            match self.censor.mode() {
                CensorMode::Reset => Err(io::ErrorKind::ConnectionRefused.into()),
                CensorMode::Drop => {
                    tokio::time::sleep(DROPPED_DIAL).await;
                    Err(io::ErrorKind::TimedOut.into())
                }
                CensorMode::Open | CensorMode::Stall => {
                    let s = self.inner.dial(addr).await?;
                    Ok(Box::new(CensoredStream::new(s, self.censor.clone())) as BoxStream)
                }
            }
        })
    }

    fn accept(&self) -> BoxFuture<'_, io::Result<super::Accepted>> {
        Box::pin(async move {
            let (s, source) = self.inner.accept().await?;
            match self.censor.mode() {
                // The connection never got through the border.
                CensorMode::Reset | CensorMode::Drop => Err(io::ErrorKind::ConnectionAborted.into()),
                _ => Ok((Box::new(CensoredStream::new(s, self.censor.clone())) as BoxStream, source)),
            }
        })
    }
}

/// A stream behind a censor.
struct CensoredStream {
    inner: BoxStream,
    censor: Censor,
    recheck: Pin<Box<tokio::time::Sleep>>,
}

impl CensoredStream {
    fn new(inner: BoxStream, censor: Censor) -> Self {
        CensoredStream { inner, censor, recheck: Box::pin(tokio::time::sleep(RECHECK)) }
    }

    /// `Ready(None)`: pass through; `Ready(Some(err))`: fail; `Pending`: frozen (woken to look
    /// again shortly).
    fn gate(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Error>> {
        match self.censor.mode() {
            CensorMode::Open => Poll::Ready(None),
            CensorMode::Reset => Poll::Ready(Some(io::ErrorKind::ConnectionReset.into())),
            CensorMode::Drop | CensorMode::Stall => {
                let deadline = tokio::time::Instant::now() + RECHECK;
                self.recheck.as_mut().reset(deadline);
                let _ = self.recheck.as_mut().poll(cx);
                Poll::Pending
            }
        }
    }
}

impl AsyncRead for CensoredStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.gate(cx) {
            Poll::Ready(None) => Pin::new(&mut self.inner).poll_read(cx, buf),
            Poll::Ready(Some(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for CensoredStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        match self.gate(cx) {
            Poll::Ready(None) => Pin::new(&mut self.inner).poll_write(cx, data),
            Poll::Ready(Some(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.gate(cx) {
            Poll::Ready(None) => Pin::new(&mut self.inner).poll_flush(cx),
            Poll::Ready(Some(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::net::clearnet::Clearnet;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn modes_block_and_release_traffic() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let tcp = Clearnet::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
            let addr = tcp.local_addr().unwrap().to_string();
            let censor = Censor::new();
            let t: Arc<dyn Transport> = Arc::new(Censored::new(Arc::new(tcp), censor.clone()));
            // Reset: refused at once.
            censor.set(CensorMode::Reset);
            assert_eq!(t.dial(&addr).await.err().unwrap().kind(), io::ErrorKind::ConnectionRefused);
            // Open: bytes flow.
            censor.set(CensorMode::Open);
            let (a, b) = tokio::join!(t.dial(&addr), t.accept());
            let (mut a, mut b) = (a.unwrap(), b.unwrap().0);
            a.write_all(b"hi").await.unwrap();
            let mut buf = [0u8; 2];
            b.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"hi");
            // Stall: a read does not complete while stalled, and completes once opened.
            censor.set(CensorMode::Stall);
            let held = tokio::time::timeout(Duration::from_millis(300), a.write_all(b"yo")).await;
            assert!(held.is_err(), "a write went through a stalled censor");
            let frozen = tokio::time::timeout(Duration::from_millis(300), b.read_exact(&mut buf)).await;
            assert!(frozen.is_err(), "bytes moved through a stalled censor");
            censor.set(CensorMode::Open);
            a.write_all(b"yo").await.unwrap();
            tokio::time::timeout(Duration::from_secs(2), b.read_exact(&mut buf)).await.unwrap().unwrap();
            assert_eq!(&buf, b"yo");
            // Reset: open streams fail.
            censor.set(CensorMode::Reset);
            assert!(a.write_all(b"x").await.is_err());
            // Drop: a dial hangs, then times out.
            censor.set(CensorMode::Drop);
            let started = tokio::time::Instant::now();
            assert!(t.dial(&addr).await.is_err());
            assert!(started.elapsed() >= DROPPED_DIAL);
        });
    }
}
