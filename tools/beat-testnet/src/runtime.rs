//! emissary-core's [`Runtime`] for tokio.
//!
//! The same contract as `emissary_util::runtime::tokio::Runtime` (emissary-util 0.4.0), written
//! here so the tool does not pull emissary-util's reseeder, UPnP/NAT-PMP and TLS stack
//! (reqwest + OpenSSL). Metrics are not collected. Differences from emissary-util: UDP sockets
//! assume a 1500-byte MTU instead of asking the default interface, a join set skips a task
//! that panicked instead of ending its stream, and a listener or UDP socket asked for the
//! unspecified address (emissary 0.4.0 binds NTCP2 to `0.0.0.0` whatever the configured host)
//! is bound to the address given to [`set_bind_address`] instead, so the test network stays on
//! loopback.

use std::future::Future;
use std::io::Write;
use std::net::IpAddr;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime};

use emissary_core::runtime::{
    AsyncRead, AsyncWrite, Counter, Gauge, Histogram, Instant as InstantT, JoinSet, MetricType, MetricsHandle,
    Runtime as RuntimeT, TcpListener, TcpStream, UdpSocket,
};
use flate2::write::{GzDecoder, GzEncoder};
use flate2::Compression;
use tokio::io::ReadBuf;
use tokio::net;

/// The MTU assumed for UDP sockets (SSU2 is not used by `beat-i2pnet`; the SAM server binds
/// one UDP socket for datagrams).
const UDP_MTU: usize = 1500;

static BIND: OnceLock<IpAddr> = OnceLock::new();

/// Sets the address that replaces an unspecified (`0.0.0.0`/`::`) bind address of the same
/// family; call before starting routers (later calls are ignored).
pub fn set_bind_address(ip: IpAddr) {
    let _ = BIND.set(ip);
}

fn bind_address(address: SocketAddr) -> SocketAddr {
    match BIND.get() {
        Some(ip) if address.ip().is_unspecified() && ip.is_ipv4() == address.is_ipv4() => {
            SocketAddr::new(*ip, address.port())
        }
        _ => address,
    }
}

fn io_err(error: std::io::Error) -> emissary_core::Error {
    emissary_core::Error::Custom(error.to_string())
}

/// tokio as emissary's runtime.
#[derive(Debug, Default, Clone)]
pub struct Runtime;

/// A tokio TCP stream.
#[derive(Debug)]
pub struct Tcp(net::TcpStream);

impl AsyncRead for Tcp {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<emissary_core::Result<usize>> {
        let mut buf = ReadBuf::new(buf);
        match tokio::io::AsyncRead::poll_read(Pin::new(&mut self.get_mut().0), cx, &mut buf) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(())) => Poll::Ready(Ok(buf.filled().len())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(io_err(e))),
        }
    }
}

impl AsyncWrite for Tcp {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<emissary_core::Result<usize>> {
        tokio::io::AsyncWrite::poll_write(Pin::new(&mut self.get_mut().0), cx, buf).map_err(io_err)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<emissary_core::Result<()>> {
        tokio::io::AsyncWrite::poll_flush(Pin::new(&mut self.get_mut().0), cx).map_err(io_err)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<emissary_core::Result<()>> {
        tokio::io::AsyncWrite::poll_shutdown(Pin::new(&mut self.get_mut().0), cx).map_err(io_err)
    }
}

impl TcpStream for Tcp {
    async fn connect(address: SocketAddr) -> Option<Self> {
        match tokio::time::timeout(Duration::from_secs(10), net::TcpStream::connect(address)).await {
            Ok(Ok(stream)) => {
                stream.set_nodelay(true).ok()?;
                Some(Tcp(stream))
            }
            Ok(Err(error)) => {
                tracing::debug!(target: "beat_i2pnet::runtime", ?address, ?error, "dial failed");
                None
            }
            Err(_) => {
                tracing::debug!(target: "beat_i2pnet::runtime", ?address, "dial timed out");
                None
            }
        }
    }
}

/// A tokio TCP listener.
#[derive(Debug)]
pub struct Listener(net::TcpListener);

impl TcpListener<Tcp> for Listener {
    async fn bind(address: SocketAddr) -> Option<Self> {
        let address = bind_address(address);
        let socket = match address {
            SocketAddr::V4(_) => net::TcpSocket::new_v4().ok()?,
            SocketAddr::V6(_) => net::TcpSocket::new_v6().ok()?,
        };
        socket.set_reuseaddr(true).ok()?;
        if let Err(error) = socket.bind(address) {
            tracing::warn!(target: "beat_i2pnet::runtime", ?address, ?error, "cannot bind TCP listener");
            return None;
        }
        socket.listen(128).ok().map(Listener)
    }

    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<Option<(Tcp, SocketAddr)>> {
        loop {
            match self.0.poll_accept(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(_)) => return Poll::Ready(None),
                Poll::Ready(Ok((stream, address))) => {
                    if stream.set_nodelay(true).is_ok() {
                        return Poll::Ready(Some((Tcp(stream), address)));
                    }
                }
            }
        }
    }

    fn local_address(&self) -> Option<SocketAddr> {
        self.0.local_addr().ok()
    }
}

/// A tokio UDP socket.
#[derive(Debug, Clone)]
pub struct Udp {
    socket: Arc<net::UdpSocket>,
    mtu: usize,
}

impl UdpSocket for Udp {
    fn bind(address: SocketAddr) -> impl Future<Output = Option<Self>> {
        Self::bind_with_mtu(address, UDP_MTU)
    }

    fn bind_with_mtu(address: SocketAddr, mtu: usize) -> impl Future<Output = Option<Self>> {
        let address = bind_address(address);
        async move { Some(Udp { socket: Arc::new(net::UdpSocket::bind(address).await.ok()?), mtu }) }
    }

    async fn send_to(&mut self, buf: &[u8], target: SocketAddr) -> Option<usize> {
        self.socket.send_to(buf, target).await.ok()
    }

    async fn recv_from(&mut self, buf: &mut [u8]) -> Option<(usize, SocketAddr)> {
        self.socket.recv_from(buf).await.ok()
    }

    fn poll_send_to(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8], target: SocketAddr) -> Poll<Option<usize>> {
        self.socket.poll_send_to(cx, buf, target).map(Result::ok)
    }

    fn poll_recv_from(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<Option<(usize, SocketAddr)>> {
        let mut buf = ReadBuf::new(buf);
        match self.socket.poll_recv_from(cx, &mut buf) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(_)) => Poll::Ready(None),
            Poll::Ready(Ok(from)) => Poll::Ready(Some((buf.filled().len(), from))),
        }
    }

    fn local_address(&self) -> Option<SocketAddr> {
        self.socket.local_addr().ok()
    }

    fn mtu(&self) -> usize {
        self.mtu
    }
}

/// A tokio join set as a stream of task outputs.
#[derive(Debug)]
pub struct Tasks<T>(tokio::task::JoinSet<T>, Option<Waker>);

impl<T: Send + 'static> JoinSet<T> for Tasks<T> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn push<F>(&mut self, future: F)
    where
        F: Future<Output = T> + Send + 'static,
        F::Output: Send,
    {
        let _ = self.0.spawn(future);
        if let Some(waker) = self.1.take() {
            waker.wake_by_ref();
        }
    }
}

impl<T: Send + 'static> futures_core::Stream for Tasks<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        loop {
            match self.0.poll_join_next(cx) {
                Poll::Pending | Poll::Ready(None) => {
                    // Empty (or all running): wake again when a future is pushed.
                    self.1 = Some(cx.waker().clone());
                    return Poll::Pending;
                }
                // A task that panicked or was cancelled: its output is lost, the set goes on.
                Poll::Ready(Some(Err(_))) => continue,
                Poll::Ready(Some(Ok(value))) => return Poll::Ready(Some(value)),
            }
        }
    }
}

/// A tokio instant.
#[derive(Debug, Copy, Clone)]
pub struct Now(tokio::time::Instant);

impl InstantT for Now {
    fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}

/// Metrics that are not collected.
#[derive(Debug, Clone, Copy)]
pub struct NoMetrics;

impl Counter for NoMetrics {
    fn increment(&mut self, _: usize) {}
    fn increment_with_label(&mut self, _: usize, _: &'static str, _: &'static str) {}
}

impl Gauge for NoMetrics {
    fn increment(&mut self, _: usize) {}
    fn decrement(&mut self, _: usize) {}
}

impl Histogram for NoMetrics {
    fn record(&mut self, _: f64) {}
}

impl MetricsHandle for NoMetrics {
    fn counter(&self, _: &'static str) -> impl Counter {
        NoMetrics
    }

    fn gauge(&self, _: &'static str) -> impl Gauge {
        NoMetrics
    }

    fn histogram(&self, _: &'static str) -> impl Histogram {
        NoMetrics
    }
}

impl RuntimeT for Runtime {
    type TcpStream = Tcp;
    type UdpSocket = Udp;
    type TcpListener = Listener;
    type JoinSet<T: Send + 'static> = Tasks<T>;
    type MetricsHandle = NoMetrics;
    type Instant = Now;
    type Timer = Pin<Box<tokio::time::Sleep>>;

    fn spawn<F>(future: F)
    where
        F: Future + Send + 'static,
        F::Output: Send,
    {
        tokio::spawn(future);
    }

    fn time_since_epoch() -> Duration {
        // A clock before 1970 reads as the epoch rather than aborting the router.
        SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default()
    }

    fn now() -> Self::Instant {
        Now(tokio::time::Instant::now())
    }

    fn rng() -> impl rand010::CryptoRng + rand010::RngExt {
        rand010::rng()
    }

    fn join_set<T: Send + 'static>() -> Self::JoinSet<T> {
        Tasks(tokio::task::JoinSet::new(), None)
    }

    fn register_metrics(_: Vec<MetricType>, _: Option<u16>) -> Self::MetricsHandle {
        NoMetrics
    }

    fn timer(duration: Duration) -> Self::Timer {
        Box::pin(tokio::time::sleep(duration))
    }

    async fn delay(duration: Duration) {
        tokio::time::sleep(duration).await
    }

    fn gzip_compress(bytes: impl AsRef<[u8]>) -> Option<Vec<u8>> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(bytes.as_ref()).ok()?;
        e.finish().ok()
    }

    fn gzip_decompress(bytes: impl AsRef<[u8]>) -> Option<Vec<u8>> {
        let mut d = GzDecoder::new(Vec::new());
        d.write_all(bytes.as_ref()).ok()?;
        d.finish().ok()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_bind_address_is_replaced() {
        set_bind_address("127.0.0.1".parse().unwrap());
        assert_eq!(bind_address("0.0.0.0:9000".parse().unwrap()), "127.0.0.1:9000".parse().unwrap());
        assert_eq!(bind_address("10.1.2.3:9000".parse().unwrap()), "10.1.2.3:9000".parse().unwrap());
        assert_eq!(bind_address("[::]:9000".parse().unwrap()), "[::]:9000".parse().unwrap());
    }

    #[test]
    fn gzip_round_trip() {
        let data = b"i2cp payload i2cp payload i2cp payload".repeat(10);
        let packed = Runtime::gzip_compress(&data).unwrap();
        assert!(packed.len() < data.len());
        assert_eq!(Runtime::gzip_decompress(&packed).unwrap(), data);
        assert!(Runtime::gzip_decompress(b"not gzip").is_none());
    }
}
