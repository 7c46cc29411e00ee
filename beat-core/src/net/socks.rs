//! A minimal asynchronous SOCKS5 client (RFC 1928, tokio) for Tor and I2P proxies.
//!
//! [`connect`] opens a TCP connection to a local SOCKS5 proxy, offers only the "no
//! authentication" method (`0x00`), sends one `CONNECT` request for the target and parses the
//! proxy's reply. The proxies BEAT uses this for:
//!
//! * **Tor**: a tor daemon's `SocksPort` (9050 by convention). Targets are `<56 chars>.onion:port`
//!   addresses of the other nodes' onion services; tor builds the 3-hop rendezvous circuit
//!   before it answers, which on a cold client can take from seconds to minutes, so callers
//!   should use a generous deadline ([`connect_timeout`]).
//! * **I2P**: an I2P router's SOCKS tunnel / outproxy (i2pd's `socksproxy`, 4447 by
//!   convention), with `<52 chars>.b32.i2p:port` targets.
//!
//! Host names (DNS names, `.onion`, `.i2p`) are always sent as `ATYP 0x03` and resolved by the
//! proxy, never locally: resolving them here would leak the lookup outside the anonymity network
//! (and `.onion`/`.i2p` names cannot be resolved by DNS anyway). IPv4 and bracketed IPv6
//! literals are sent as `ATYP 0x01` / `0x04`.
//!
//! After a successful reply the returned [`TcpStream`] is a **plain, reliable, ordered byte
//! stream** to the target: the data phase is ordinary TCP with no framing. BEAT runs its Noise
//! channel ([`super::handshake`]) on top of it exactly as on a clearnet connection; the proxy and
//! the network behind it are not trusted for authentication or confidentiality.
//!
//! # Robustness
//!
//! * The reply is parsed completely, including `BND.ADDR` for every address type, with exact
//!   reads into fixed buffers (a domain `BND.ADDR` is at most 255 bytes by construction): nothing
//!   is allocated from a length the proxy chose, and no byte after the reply is consumed, so
//!   data the target sends at once stays in the stream for the caller.
//! * Every failure is a [`SocksError`] naming the problem: proxy unreachable, authentication
//!   method refused, not a SOCKS5 server, reply code (with Tor's extended codes `0xF0`–`0xF7`
//!   for onion services spelled out), truncated or malformed reply, bad target.
//! * [`connect`] has no deadline of its own (tor keeps the request open while it builds
//!   circuits); [`connect_timeout`] bounds the whole dial and handshake.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// SOCKS protocol version 5.
const VERSION: u8 = 0x05;
/// Authentication method "no authentication required".
const METHOD_NO_AUTH: u8 = 0x00;
/// The server's "no acceptable methods" answer.
const METHOD_NONE_ACCEPTABLE: u8 = 0xFF;
/// The `CONNECT` command.
const CMD_CONNECT: u8 = 0x01;
/// Address types.
const ATYP_IPV4: u8 = 0x01;
const ATYP_DOMAIN: u8 = 0x03;
const ATYP_IPV6: u8 = 0x04;

/// The longest host name SOCKS5 can carry (its length is one byte).
pub const MAX_NAME_LEN: usize = 255;

/// A failure to open a connection through a SOCKS5 proxy.
#[derive(Debug, thiserror::Error)]
pub enum SocksError {
    /// No TCP connection to the proxy itself (daemon down, wrong port, firewall).
    #[error("SOCKS5 proxy at {proxy} unreachable: {source}")]
    ProxyUnreachable {
        /// The proxy address that was dialled.
        proxy: String,
        /// The connect error.
        source: io::Error,
    },
    /// The target is not `host:port` with a non-empty host and a port in 1..=65535.
    #[error("bad target address {target:?}: {reason}")]
    BadTarget {
        /// The target as given.
        target: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The target host name does not fit SOCKS5's one-byte length.
    #[error("target host name is {len} bytes long; SOCKS5 allows at most {MAX_NAME_LEN}")]
    NameTooLong {
        /// The host name's length in bytes.
        len: usize,
    },
    /// The proxy answered the method negotiation with `0xFF`: it requires authentication,
    /// which this client does not offer.
    #[error("SOCKS5 proxy refused the offered authentication method (\"no authentication\"); it requires credentials")]
    AuthMethodRefused,
    /// The proxy selected an authentication method that was not offered.
    #[error("SOCKS5 proxy selected authentication method {0:#04x}, which was not offered")]
    UnexpectedAuthMethod(u8),
    /// The proxy answered with a version other than 5 (not a SOCKS5 server: an HTTP port, a
    /// SOCKS4-only proxy, another service).
    #[error("not a SOCKS5 proxy: version byte {version:#04x} in the {stage} reply")]
    BadVersion {
        /// Which reply carried it ("method selection" or "connect").
        stage: &'static str,
        /// The version byte received.
        version: u8,
    },
    /// The proxy could not (or would not) connect to the target: `REP` was not `0x00`.
    #[error("SOCKS5 proxy could not connect to {target}: {} (reply code {code:#04x})", reply_text(*.code))]
    Reply {
        /// The target as given.
        target: String,
        /// The `REP` field; see [`reply_text`].
        code: u8,
    },
    /// The proxy closed the connection in the middle of a reply.
    #[error("malformed SOCKS5 reply: connection closed by the proxy during the {0} (truncated reply)")]
    Truncated(&'static str),
    /// A reply that does not follow RFC 1928 (for example an unknown address type).
    #[error("malformed SOCKS5 reply: {0}")]
    Malformed(String),
    /// An I/O error on the established connection to the proxy.
    #[error("I/O error during the SOCKS5 {stage}: {source}")]
    Io {
        /// The handshake step.
        stage: &'static str,
        /// The error.
        source: io::Error,
    },
    /// [`connect_timeout`]'s deadline expired before the proxy answered.
    #[error("SOCKS5 connection to {target} through {proxy} timed out after {after:?}")]
    TimedOut {
        /// The proxy address.
        proxy: String,
        /// The target as given.
        target: String,
        /// The deadline.
        after: Duration,
    },
}

/// The meaning of a SOCKS5 `REP` code: RFC 1928's `0x00`–`0x08`, and the extended codes a tor
/// `SocksPort` with the `ExtendedErrors` flag returns for onion services (`0xF0`–`0xF7`).
pub fn reply_text(code: u8) -> &'static str {
    match code {
        0x00 => "succeeded",
        0x01 => "general SOCKS server failure",
        0x02 => "connection not allowed by ruleset",
        0x03 => "network unreachable",
        0x04 => "host unreachable",
        0x05 => "connection refused",
        0x06 => "TTL expired",
        0x07 => "command not supported",
        0x08 => "address type not supported",
        0xF0 => "onion service descriptor not found",
        0xF1 => "onion service descriptor is invalid",
        0xF2 => "onion service introduction failed",
        0xF3 => "onion service rendezvous failed",
        0xF4 => "onion service client authorization missing",
        0xF5 => "onion service client authorization wrong",
        0xF6 => "invalid onion service address",
        0xF7 => "onion service introduction timed out",
        _ => "unassigned reply code",
    }
}

/// A parsed target: what goes into `ATYP`/`DST.ADDR`/`DST.PORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Host<'a> {
    V4(Ipv4Addr),
    V6(Ipv6Addr),
    Name(&'a str),
}

/// Splits `host:port` (`[v6]:port` for IPv6) and validates both halves.
fn parse_target(target: &str) -> Result<(Host<'_>, u16), SocksError> {
    let bad = |reason| SocksError::BadTarget { target: target.to_owned(), reason };
    let (host, port) = target.rsplit_once(':').ok_or_else(|| bad("no \":port\""))?;
    let port: u16 = port.parse().map_err(|_| bad("port is not a number in 1..=65535"))?;
    if port == 0 {
        return Err(bad("port 0"));
    }
    if let Some(inner) = host.strip_prefix('[') {
        let inner = inner.strip_suffix(']').ok_or_else(|| bad("unbalanced '[' in IPv6 address"))?;
        let ip: Ipv6Addr = inner.parse().map_err(|_| bad("invalid IPv6 address in brackets"))?;
        return Ok((Host::V6(ip), port));
    }
    if host.is_empty() {
        return Err(bad("empty host"));
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok((Host::V4(ip), port));
    }
    if host.contains(':') {
        return Err(bad("IPv6 addresses must be written in brackets, [addr]:port"));
    }
    if host.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control() || b == b'[' || b == b']') {
        return Err(bad("host name contains whitespace, control characters or brackets"));
    }
    if host.len() > MAX_NAME_LEN {
        return Err(SocksError::NameTooLong { len: host.len() });
    }
    Ok((Host::Name(host), port))
}

/// Maps an I/O error during a handshake step: EOF is a truncated reply, anything else is I/O.
fn io_err(stage: &'static str) -> impl FnOnce(io::Error) -> SocksError {
    move |e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            SocksError::Truncated(stage)
        } else {
            SocksError::Io { stage, source: e }
        }
    }
}

/// Opens a TCP stream to `target` (`"host:port"`; the host may be a DNS name, a `.onion` or
/// `.i2p` name, an IPv4 address or a bracketed IPv6 address) through the SOCKS5 proxy at
/// `proxy` (`"ip:port"`), with no authentication (method `0x00`). Host names are sent as
/// `ATYP 0x03` and never resolved locally.
///
/// There is no deadline: see [`connect_timeout`].
pub async fn connect(proxy: &str, target: &str) -> Result<TcpStream, SocksError> {
    let (host, port) = parse_target(target)?;
    let mut stream = TcpStream::connect(proxy)
        .await
        .map_err(|source| SocksError::ProxyUnreachable { proxy: proxy.to_owned(), source })?;
    let _ = stream.set_nodelay(true);
    handshake(&mut stream, &host, port, target).await?;
    Ok(stream)
}

/// [`connect`] with a deadline on the whole operation (TCP connect to the proxy, negotiation,
/// and the proxy's connection to the target); expiry is [`SocksError::TimedOut`].
pub async fn connect_timeout(proxy: &str, target: &str, after: Duration) -> Result<TcpStream, SocksError> {
    match tokio::time::timeout(after, connect(proxy, target)).await {
        Ok(result) => result,
        Err(_) => Err(SocksError::TimedOut { proxy: proxy.to_owned(), target: target.to_owned(), after }),
    }
}

/// Method negotiation, `CONNECT` request and reply on an open connection to the proxy.
async fn handshake<S>(stream: &mut S, host: &Host<'_>, port: u16, target: &str) -> Result<(), SocksError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // Method selection: VER, NMETHODS, METHODS.
    stream.write_all(&[VERSION, 1, METHOD_NO_AUTH]).await.map_err(io_err("method selection"))?;
    let mut sel = [0u8; 2];
    stream.read_exact(&mut sel).await.map_err(io_err("method selection reply"))?;
    if sel[0] != VERSION {
        return Err(SocksError::BadVersion { stage: "method selection", version: sel[0] });
    }
    match sel[1] {
        METHOD_NO_AUTH => {}
        METHOD_NONE_ACCEPTABLE => return Err(SocksError::AuthMethodRefused),
        other => return Err(SocksError::UnexpectedAuthMethod(other)),
    }

    // Request: VER, CMD, RSV, ATYP, DST.ADDR, DST.PORT — one write of at most 262 bytes.
    let mut req = Vec::with_capacity(4 + 1 + MAX_NAME_LEN + 2);
    req.extend_from_slice(&[VERSION, CMD_CONNECT, 0x00]);
    match host {
        Host::V4(ip) => {
            req.push(ATYP_IPV4);
            req.extend_from_slice(&ip.octets());
        }
        Host::V6(ip) => {
            req.push(ATYP_IPV6);
            req.extend_from_slice(&ip.octets());
        }
        Host::Name(name) => {
            let len = u8::try_from(name.len()).map_err(|_| SocksError::NameTooLong { len: name.len() })?;
            req.push(ATYP_DOMAIN);
            req.push(len);
            req.extend_from_slice(name.as_bytes());
        }
    }
    req.extend_from_slice(&port.to_be_bytes());
    stream.write_all(&req).await.map_err(io_err("connect request"))?;

    // Reply: VER, REP, RSV, ATYP, BND.ADDR, BND.PORT. RSV is ignored, as reserved fields are.
    let mut head = [0u8; 4];
    stream.read_exact(&mut head).await.map_err(io_err("connect reply"))?;
    let [ver, rep, _rsv, atyp] = head;
    if ver != VERSION {
        return Err(SocksError::BadVersion { stage: "connect", version: ver });
    }
    if rep != 0x00 {
        return Err(SocksError::Reply { target: target.to_owned(), code: rep });
    }
    // BND.ADDR + BND.PORT into a fixed buffer: at most 1 + 255 + 2 bytes.
    let mut bnd = [0u8; 1 + MAX_NAME_LEN + 2];
    let rest = match atyp {
        ATYP_IPV4 => 4 + 2,
        ATYP_IPV6 => 16 + 2,
        ATYP_DOMAIN => {
            stream.read_exact(&mut bnd[..1]).await.map_err(io_err("connect reply's bound address"))?;
            usize::from(bnd[0]) + 2
        }
        other => return Err(SocksError::Malformed(format!("unknown address type {other:#04x} in the connect reply"))),
    };
    let at = usize::from(atyp == ATYP_DOMAIN);
    stream.read_exact(&mut bnd[at..at + rest]).await.map_err(io_err("connect reply's bound address"))?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::future::Future;
    use tokio::net::TcpListener;
    use tokio::task::JoinHandle;

    /// An in-process fake SOCKS5 server: accepts one connection and runs `script` on it.
    /// Returns its address and the task (await it so the script's assertions count).
    async fn fake<F, Fut>(script: F) -> (String, JoinHandle<()>)
    where
        F: FnOnce(TcpStream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let task = tokio::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            script(s).await;
        });
        (addr, task)
    }

    /// Reads and checks the client's method selection, answers "no auth".
    async fn accept_greeting(s: &mut TcpStream) {
        let mut g = [0u8; 3];
        s.read_exact(&mut g).await.unwrap();
        assert_eq!(g, [5, 1, 0], "client must offer exactly the no-auth method");
        s.write_all(&[5, 0]).await.unwrap();
    }

    /// Reads a CONNECT request (bounded) and returns it whole.
    async fn read_request(s: &mut TcpStream) -> Vec<u8> {
        let mut head = [0u8; 4];
        s.read_exact(&mut head).await.unwrap();
        assert_eq!(head[..3], [5, 1, 0]);
        let mut req = head.to_vec();
        let n = match head[3] {
            1 => 4,
            4 => 16,
            3 => {
                let mut l = [0u8; 1];
                s.read_exact(&mut l).await.unwrap();
                req.push(l[0]);
                usize::from(l[0])
            }
            t => panic!("bad ATYP {t}"),
        };
        let mut rest = vec![0u8; n + 2];
        s.read_exact(&mut rest).await.unwrap();
        req.extend_from_slice(&rest);
        req
    }

    fn domain_request(name: &str, port: u16) -> Vec<u8> {
        let mut v = vec![5, 1, 0, 3, name.len() as u8];
        v.extend_from_slice(name.as_bytes());
        v.extend_from_slice(&port.to_be_bytes());
        v
    }

    const OK_V4: [u8; 10] = [5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90];

    #[tokio::test]
    async fn domain_target_success_and_data_phase() {
        let onion = "vwf2kc3ahdvd4y6bossecpvvpf3fjcphkxiomrvofpkb4s3fdvgcezad.onion";
        let (proxy, task) = fake(move |mut s| async move {
            accept_greeting(&mut s).await;
            assert_eq!(read_request(&mut s).await, domain_request(onion, 15400));
            // Reply and the target's first bytes in one segment: the client must not eat them.
            let mut out = OK_V4.to_vec();
            out.extend_from_slice(b"hello");
            s.write_all(&out).await.unwrap();
            let mut buf = [0u8; 4];
            s.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"ping");
            s.write_all(b"pong").await.unwrap();
        })
        .await;
        let mut st = connect(&proxy, &format!("{onion}:15400")).await.unwrap();
        let mut buf = [0u8; 5];
        st.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"hello");
        st.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        st.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"pong");
        task.await.unwrap();
    }

    /// Every BND.ADDR type is consumed exactly, including a 255-byte domain.
    #[tokio::test]
    async fn bound_address_of_every_type_is_consumed_exactly() {
        let long = "b".repeat(255);
        let mut dom = vec![5, 0, 0, 3, 255];
        dom.extend_from_slice(long.as_bytes());
        dom.extend_from_slice(&[0, 80]);
        let mut v6 = vec![5, 0, 0, 4];
        v6.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        v6.extend_from_slice(&[0, 80]);
        let empty_dom = vec![5, 0, 0, 3, 0, 0, 80];
        for reply in [OK_V4.to_vec(), v6, dom, empty_dom] {
            let r = reply.clone();
            let (proxy, task) = fake(move |mut s| async move {
                accept_greeting(&mut s).await;
                read_request(&mut s).await;
                let mut out = r;
                out.extend_from_slice(b"DATA");
                s.write_all(&out).await.unwrap();
            })
            .await;
            let mut st = connect(&proxy, "example.com:80").await.unwrap();
            let mut buf = Vec::new();
            st.read_to_end(&mut buf).await.unwrap();
            assert_eq!(buf, b"DATA", "reply {:?}", &reply[..5]);
            task.await.unwrap();
        }
    }

    #[tokio::test]
    async fn ip_targets_use_ip_address_types() {
        let cases: [(&str, Vec<u8>); 2] = [
            ("10.1.2.3:9000", vec![5, 1, 0, 1, 10, 1, 2, 3, 0x23, 0x28]),
            ("[::1]:443", {
                let mut v = vec![5, 1, 0, 4];
                v.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
                v.extend_from_slice(&[1, 0xbb]);
                v
            }),
        ];
        for (target, want) in cases {
            let (proxy, task) = fake(move |mut s| async move {
                accept_greeting(&mut s).await;
                assert_eq!(read_request(&mut s).await, want);
                s.write_all(&OK_V4).await.unwrap();
            })
            .await;
            connect(&proxy, target).await.unwrap();
            task.await.unwrap();
        }
    }

    #[tokio::test]
    async fn max_length_name_is_sent() {
        let name = format!("{}.i2p", "a".repeat(251));
        assert_eq!(name.len(), 255);
        let n2 = name.clone();
        let (proxy, task) = fake(move |mut s| async move {
            accept_greeting(&mut s).await;
            assert_eq!(read_request(&mut s).await, domain_request(&n2, 7656));
            s.write_all(&OK_V4).await.unwrap();
        })
        .await;
        connect(&proxy, &format!("{name}:7656")).await.unwrap();
        task.await.unwrap();
    }

    #[tokio::test]
    async fn refusal_codes_are_named() {
        let cases = [
            (0x01, "general SOCKS server failure"),
            (0x02, "connection not allowed by ruleset"),
            (0x03, "network unreachable"),
            (0x04, "host unreachable"),
            (0x05, "connection refused"),
            (0x06, "TTL expired"),
            (0x07, "command not supported"),
            (0x08, "address type not supported"),
            (0xF0, "onion service descriptor not found"),
            (0xF2, "onion service introduction failed"),
            (0x42, "unassigned reply code"),
        ];
        for (code, text) in cases {
            let (proxy, task) = fake(move |mut s| async move {
                accept_greeting(&mut s).await;
                read_request(&mut s).await;
                s.write_all(&[5, code, 0, 1, 0, 0, 0, 0, 0, 0]).await.unwrap();
            })
            .await;
            let err = connect(&proxy, "peer.onion:1").await.unwrap_err();
            match &err {
                SocksError::Reply { target, code: c } => {
                    assert_eq!(*c, code);
                    assert_eq!(target, "peer.onion:1");
                }
                other => panic!("code {code:#x}: expected Reply, got {other:?}"),
            }
            let msg = err.to_string();
            assert!(msg.contains(text) && msg.contains("peer.onion:1"), "{msg}");
            task.await.unwrap();
        }
    }

    #[tokio::test]
    async fn auth_method_refused_and_unexpected() {
        for (answer, want_refused) in [(0xFF, true), (0x02, false)] {
            let (proxy, task) = fake(move |mut s| async move {
                let mut g = [0u8; 3];
                s.read_exact(&mut g).await.unwrap();
                s.write_all(&[5, answer]).await.unwrap();
            })
            .await;
            let err = connect(&proxy, "example.com:80").await.unwrap_err();
            match err {
                SocksError::AuthMethodRefused => assert!(want_refused),
                SocksError::UnexpectedAuthMethod(m) => {
                    assert!(!want_refused);
                    assert_eq!(m, 0x02);
                }
                other => panic!("got {other:?}"),
            }
            task.await.unwrap();
        }
    }

    #[tokio::test]
    async fn bad_version_in_either_reply() {
        // An HTTP server (or anything not SOCKS5) answering the greeting.
        let (proxy, task) = fake(|mut s| async move {
            let mut g = [0u8; 3];
            s.read_exact(&mut g).await.unwrap();
            s.write_all(b"HTTP/1.0 400 Bad Request\r\n\r\n").await.unwrap();
        })
        .await;
        match connect(&proxy, "example.com:80").await.unwrap_err() {
            SocksError::BadVersion { stage: "method selection", version: b'H' } => {}
            other => panic!("got {other:?}"),
        }
        task.await.unwrap();

        let (proxy, task) = fake(|mut s| async move {
            accept_greeting(&mut s).await;
            read_request(&mut s).await;
            s.write_all(&[4, 0, 0, 1, 0, 0, 0, 0, 0, 0]).await.unwrap();
        })
        .await;
        match connect(&proxy, "example.com:80").await.unwrap_err() {
            SocksError::BadVersion { stage: "connect", version: 4 } => {}
            other => panic!("got {other:?}"),
        }
        task.await.unwrap();
    }

    #[tokio::test]
    async fn truncated_replies() {
        // (bytes the server sends after the request, expected stage); None = cut in the greeting.
        let cases: Vec<(Option<Vec<u8>>, &str)> = vec![
            (None, "method selection reply"),
            (Some(vec![5, 0, 0]), "connect reply"),
            (Some(vec![5, 0, 0, 1, 127, 0, 0]), "connect reply's bound address"),
            (Some(vec![5, 0, 0, 3]), "connect reply's bound address"),
            (Some(vec![5, 0, 0, 3, 10, b'a', b'b', b'c', b'd']), "connect reply's bound address"),
            (
                Some(vec![5, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
                "connect reply's bound address",
            ),
        ];
        for (reply, stage) in cases {
            let (proxy, task) = fake(move |mut s| async move {
                match reply {
                    None => {
                        let mut g = [0u8; 3];
                        s.read_exact(&mut g).await.unwrap();
                        s.write_all(&[5]).await.unwrap();
                    }
                    Some(r) => {
                        accept_greeting(&mut s).await;
                        read_request(&mut s).await;
                        s.write_all(&r).await.unwrap();
                    }
                }
                // Dropping `s` closes the connection mid-reply.
            })
            .await;
            match connect(&proxy, "example.com:80").await.unwrap_err() {
                SocksError::Truncated(got) => assert_eq!(got, stage),
                other => panic!("expected Truncated({stage}), got {other:?}"),
            }
            task.await.unwrap();
        }
    }

    #[tokio::test]
    async fn unknown_address_type_is_malformed() {
        let (proxy, task) = fake(|mut s| async move {
            accept_greeting(&mut s).await;
            read_request(&mut s).await;
            s.write_all(&[5, 0, 0, 5, 1, 2, 3, 4, 0, 0]).await.unwrap();
        })
        .await;
        match connect(&proxy, "example.com:80").await.unwrap_err() {
            SocksError::Malformed(m) => assert!(m.contains("0x05"), "{m}"),
            other => panic!("got {other:?}"),
        }
        task.await.unwrap();
    }

    #[tokio::test]
    async fn proxy_unreachable() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        drop(listener);
        match connect(&addr, "example.com:80").await.unwrap_err() {
            SocksError::ProxyUnreachable { proxy, .. } => assert_eq!(proxy, addr),
            other => panic!("got {other:?}"),
        }
    }

    #[tokio::test]
    async fn bad_targets_fail_before_dialling() {
        // The proxy address is unusable: validation must come first.
        let proxy = "127.0.0.1:0";
        let too_long = format!("{}:80", "a".repeat(256));
        match connect(proxy, &too_long).await.unwrap_err() {
            SocksError::NameTooLong { len: 256 } => {}
            other => panic!("got {other:?}"),
        }
        for t in [
            "example.com",
            "example.com:",
            ":80",
            "example.com:http",
            "example.com:65536",
            "example.com:0",
            "::1:80",
            "[::1:80",
            "[not-v6]:80",
            "exa mple.com:80",
            "exa\nmple.com:80",
        ] {
            match connect(proxy, t).await.unwrap_err() {
                SocksError::BadTarget { target, .. } => assert_eq!(target, t),
                other => panic!("{t:?}: got {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn silent_proxy_times_out() {
        let (proxy, task) = fake(|mut s| async move {
            let mut g = [0u8; 3];
            s.read_exact(&mut g).await.unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
        })
        .await;
        match connect_timeout(&proxy, "example.com:80", Duration::from_millis(200)).await.unwrap_err() {
            SocksError::TimedOut { after, .. } => assert_eq!(after, Duration::from_millis(200)),
            other => panic!("got {other:?}"),
        }
        task.abort();
    }
}
