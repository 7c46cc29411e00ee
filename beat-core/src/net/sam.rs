//! A minimal asynchronous SAMv3 client (tokio) for I2P routers.
//!
//! **SAM** (the Simple Anonymous Messaging bridge, version 3) is the text protocol an I2P router
//! exposes on a local TCP port (7656 by convention) so that applications can use the I2P network
//! without linking a router: the client opens a TCP connection, says `HELLO VERSION`, and sends
//! one command per line; the router answers one line of `KEY=VALUE` pairs per command.
//!
//! This module speaks the subset BEAT needs, streams only:
//!
//! * [`SamSession::create`] — a *control connection* that says `SESSION CREATE STYLE=STREAM`
//!   with either a persistent private key or `TRANSIENT`. The router builds the session's
//!   tunnels and publishes its lease set; the session lives exactly as long as the control
//!   connection, i.e. as long as the [`SamSession`] value (dropping it closes the connection
//!   and the router tears the destination down).
//! * [`SamSession::connect`] — a fresh TCP connection to the bridge: `HELLO`, then
//!   `STREAM CONNECT ID=<session> DESTINATION=<peer> SILENT=false`; after
//!   `STREAM STATUS RESULT=OK` the same TCP connection carries the I2P stream.
//! * [`SamSession::accept`] — a fresh TCP connection: `HELLO`, `STREAM ACCEPT ID=<session>
//!   SILENT=false`, `STREAM STATUS RESULT=OK`, then (when a peer connects) one line holding the
//!   peer's base64 destination, after which the connection carries the I2P stream.
//! * [`generate_destination`] — `DEST GENERATE SIGNATURE_TYPE=7` (Ed25519) for a persistent
//!   identity.
//!
//! After the handshake lines the connection is a **plain, reliable, ordered byte stream**: no
//! framing and no encryption beyond I2P's own. BEAT runs its Noise channel
//! ([`super::handshake`]) on top of it exactly as on a clearnet TCP connection; the I2P
//! destination is not trusted for authentication.
//!
//! # Robustness
//!
//! * Reply lines are read with `peek` + exact `read`, so not a single byte after a handshake
//!   line's `\n` is consumed: data the peer sends right after the destination line stays in the
//!   socket for the caller.
//! * A reply line longer than [`MAX_LINE`] (64 KiB) is an error; nothing grows without bound.
//! * Replies are parsed as `KEY=VALUE` pairs with optional `"quoted values"` (with `\"` and `\\`
//!   escapes); `RESULT` codes become [`SamError`] variants with the router's `MESSAGE`.
//! * Every step has a client-side deadline ([`SamTimeouts`]); a bridge that never answers
//!   gives [`SamError::TimedOut`], not a hang. `accept` has no deadline for the *peer* (that is
//!   what accepting means), only for the bridge's `RESULT=OK`.
//! * Commands are never pipelined: each one is written as one buffer and its reply read before
//!   the next is sent (emissary's SAM server drops bytes following the first `\n` of a read).
//!
//! # Routers tested
//!
//! Tested end to end against the SAM server embedded in **emissary-core 0.4.0** (an I2P router
//! in Rust), on a private loopback network of emissary routers (`tools/beat-testnet`,
//! binary `beat-i2pnet`, whose readiness check is a real `STREAM ACCEPT`/`STREAM CONNECT`
//! exchange through this client). The unit tests below run against an in-process fake bridge.
//! Quirks of emissary 0.4.0 that this client handles:
//!
//! * it answers `MAX=3.3` with `VERSION=3.2` (accepted: anything `3.1`–`3.3` is fine);
//! * it replies `DUPLICATE_ID` / `DUPLICATE_DEST` where the specification says
//!   `DUPLICATED_ID` / `DUPLICATED_DEST` (both spellings map to the same error), and sends these
//!   and some `CANT_REACH_PEER` replies **without the trailing newline** before closing the
//!   socket (a partial last line before EOF is treated as a complete line);
//! * it silently ignores a command it cannot parse (e.g. an undecodable private key) and closes
//!   the connection ten seconds later, which surfaces as [`SamError::Closed`];
//! * `STREAM CONNECT`/`STREAM ACCEPT` naming an unknown session ID closes the connection without
//!   a reply (again [`SamError::Closed`]);
//! * `DEST GENERATE` accepts only `SIGNATURE_TYPE=7` (Ed25519), which is what this client sends;
//!   `SIGNATURE_TYPE` in `SESSION CREATE` is ignored (transient destinations are always
//!   Ed25519);
//! * `.b32.i2p` names are accepted directly by `STREAM CONNECT` (the router looks the lease set
//!   up in its netDb); `NAMING LOOKUP` of a `.b32.i2p` name works only on a *session's* control
//!   connection ([`SamSession::lookup`]), not on a bare one;
//! * the peer-destination line after `STREAM ACCEPT` carries no `FROM_PORT`/`TO_PORT` (handled
//!   either way: only the first token is the destination);
//! * without `i2cp.leaseSetEncType` it publishes `6,4` (ML-KEM-768 hybrid + X25519); pass the
//!   option to choose otherwise (`4,0` is the usual choice for Java I2P / i2pd);
//! * `inbound.length`, `outbound.length`, `inbound.quantity`, `outbound.quantity` are honoured.
//!
//! Java I2P and i2pd follow the same protocol; their spellings of the result codes are the
//! specification's, which are handled too.

use std::fmt;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// The longest reply line accepted from a SAM bridge (64 KiB, newline included).
pub const MAX_LINE: usize = 64 * 1024;

/// Length of a destination without its certificate payload: 256-byte public key area, 128-byte
/// signing key area, certificate type (1) and length (2).
const DEST_FIXED_LEN: usize = 387;

/// A failure talking to a SAM bridge, or a `RESULT` other than `OK`.
#[derive(Debug, thiserror::Error)]
pub enum SamError {
    /// No TCP connection to the SAM bridge (router down, wrong port, SAM disabled).
    #[error("SAM bridge at {addr} unreachable: {source}")]
    Unreachable {
        /// The bridge address that was dialled.
        addr: String,
        /// The connect error.
        source: std::io::Error,
    },
    /// An I/O error on an established connection to the bridge.
    #[error("I/O error talking to the SAM bridge: {0}")]
    Io(#[from] std::io::Error),
    /// The bridge closed the connection before answering.
    #[error("SAM bridge closed the connection while waiting for {0} (unknown session ID, rejected command or router shutting down)")]
    Closed(&'static str),
    /// A reply line exceeded [`MAX_LINE`].
    #[error("SAM reply line longer than {MAX_LINE} bytes")]
    LineTooLong,
    /// A reply that does not follow the protocol.
    #[error("malformed SAM reply: {0}")]
    Protocol(String),
    /// One incoming stream failed after the session accepted it (the dialler went away, or
    /// the peer line was bad): that stream is lost, the session is fine.
    #[error("an incoming stream failed: {0}")]
    Incoming(Box<SamError>),
    /// The client-side deadline expired.
    #[error("timed out after {after:?} waiting for {what}")]
    TimedOut {
        /// What the client was waiting for.
        what: &'static str,
        /// The deadline.
        after: Duration,
    },
    /// A caller-supplied argument that cannot be sent (whitespace in an ID, bad base64, …).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// `RESULT=NOVERSION`: the bridge speaks none of SAM 3.1–3.3.
    #[error("SAM bridge supports none of versions 3.1-3.3{}", fmt_msg(.0))]
    NoVersion(Option<String>),
    /// `RESULT=CANT_REACH_PEER`: the peer's lease set was not found or it did not answer.
    #[error("I2P peer unreachable (CANT_REACH_PEER){}", fmt_msg(.0))]
    CantReachPeer(Option<String>),
    /// `RESULT=PEER_NOT_FOUND`.
    #[error("I2P peer not found (PEER_NOT_FOUND){}", fmt_msg(.0))]
    PeerNotFound(Option<String>),
    /// `RESULT=INVALID_KEY`: a destination or private key the router rejects.
    #[error("invalid I2P key or destination (INVALID_KEY){}", fmt_msg(.0))]
    InvalidKey(Option<String>),
    /// `RESULT=INVALID_ID`: no session with that ID.
    #[error("invalid SAM session ID (INVALID_ID){}", fmt_msg(.0))]
    InvalidId(Option<String>),
    /// `RESULT=DUPLICATED_ID` (emissary: `DUPLICATE_ID`): the session ID is taken.
    #[error("SAM session ID already in use (DUPLICATED_ID){}", fmt_msg(.0))]
    DuplicatedId(Option<String>),
    /// `RESULT=DUPLICATED_DEST` (emissary: `DUPLICATE_DEST`): the destination is already in use.
    #[error("I2P destination already in use by another session (DUPLICATED_DEST){}", fmt_msg(.0))]
    DuplicatedDest(Option<String>),
    /// `RESULT=KEY_NOT_FOUND` from `NAMING LOOKUP`.
    #[error("I2P name not found (KEY_NOT_FOUND){}", fmt_msg(.0))]
    KeyNotFound(Option<String>),
    /// `RESULT=TIMEOUT` reported by the router.
    #[error("I2P router reported a timeout (TIMEOUT){}", fmt_msg(.0))]
    RouterTimeout(Option<String>),
    /// `RESULT=I2P_ERROR`, with the router's `MESSAGE` if it gave one.
    #[error("I2P router error (I2P_ERROR){}", fmt_msg(.0))]
    I2pError(Option<String>),
    /// Any other `RESULT` code.
    #[error("SAM bridge answered RESULT={result}{}", fmt_msg(.message))]
    Other {
        /// The `RESULT` value.
        result: String,
        /// The `MESSAGE` value, if any.
        message: Option<String>,
    },
}

fn fmt_msg(message: &Option<String>) -> String {
    match message {
        Some(m) if !m.is_empty() => format!(": {m}"),
        _ => String::new(),
    }
}

impl SamError {
    /// Whether retrying the same operation later may succeed (the network or the peer's lease
    /// set may not be ready yet), as opposed to a caller or configuration error.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            SamError::Unreachable { .. }
                | SamError::Io(_)
                | SamError::Closed(_)
                | SamError::TimedOut { .. }
                | SamError::CantReachPeer(_)
                | SamError::PeerNotFound(_)
                | SamError::RouterTimeout(_)
                | SamError::I2pError(_)
                | SamError::KeyNotFound(_)
        )
    }
}

/// Client-side deadlines for the steps of the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SamTimeouts {
    /// TCP connect to the bridge, `HELLO`, `DEST GENERATE`, `NAMING LOOKUP`, and the
    /// `RESULT=OK` of `STREAM ACCEPT`.
    pub bridge: Duration,
    /// `SESSION CREATE` (the router builds the session's tunnels first; on a cold router this
    /// takes tens of seconds).
    pub session: Duration,
    /// `STREAM CONNECT` until `RESULT=OK` (lease-set lookup plus the streaming handshake).
    pub stream: Duration,
}

impl Default for SamTimeouts {
    fn default() -> Self {
        SamTimeouts {
            bridge: Duration::from_secs(30),
            session: Duration::from_secs(180),
            stream: Duration::from_secs(120),
        }
    }
}

/// A SAMv3 `STYLE=STREAM` session: the open control connection and the session's identity.
///
/// The router keeps the destination (and its tunnels) alive as long as this value exists.
pub struct SamSession {
    sam: String,
    id: String,
    destination: String,
    destination_bytes: Vec<u8>,
    private_key: String,
    timeouts: SamTimeouts,
    control: tokio::sync::Mutex<TcpStream>,
}

impl fmt::Debug for SamSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The private key stays out of logs.
        f.debug_struct("SamSession")
            .field("sam", &self.sam)
            .field("id", &self.id)
            .field("b32", &self.b32_address())
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

impl SamSession {
    /// Opens a control connection to the bridge at `sam` (`host:port`), says
    /// `HELLO VERSION MIN=3.1 MAX=3.3`, then `SESSION CREATE STYLE=STREAM ID=<id>
    /// DESTINATION=<private key or TRANSIENT> SIGNATURE_TYPE=7` followed by `options` (for
    /// example `inbound.length=1`), and waits for `RESULT=OK` with the default
    /// [`SamTimeouts`].
    pub async fn create(
        sam: &str,
        id: &str,
        destination: Option<&str>,
        options: &[(&str, &str)],
    ) -> Result<SamSession, SamError> {
        Self::create_with_timeouts(sam, id, destination, options, SamTimeouts::default()).await
    }

    /// [`SamSession::create`] with explicit deadlines (also used by the session's later
    /// `connect`/`accept`/`lookup` calls).
    pub async fn create_with_timeouts(
        sam: &str,
        id: &str,
        destination: Option<&str>,
        options: &[(&str, &str)],
        timeouts: SamTimeouts,
    ) -> Result<SamSession, SamError> {
        check_token("session ID", id)?;
        if let Some(key) = destination {
            check_token("private key", key)?;
            // Fail early on a key that is not even base64 of a destination.
            public_destination_of(key)?;
        }
        let mut cmd = format!(
            "SESSION CREATE STYLE=STREAM ID={id} DESTINATION={} SIGNATURE_TYPE=7",
            destination.unwrap_or("TRANSIENT")
        );
        for (key, value) in options {
            check_token("option key", key)?;
            if key.contains('=') || key.is_empty() {
                return Err(SamError::InvalidArgument(format!("option key {key:?}")));
            }
            cmd.push(' ');
            cmd.push_str(key);
            cmd.push('=');
            cmd.push_str(&quote_value(value)?);
        }
        cmd.push('\n');

        let mut control = hello(sam, &timeouts).await?;
        let reply = deadline(timeouts.session, "SESSION STATUS", async {
            control.write_all(cmd.as_bytes()).await?;
            read_reply(&mut control, "SESSION STATUS").await
        })
        .await?;
        reply.expect_ok("SESSION", "STATUS")?;
        let private_key = match (reply.get("DESTINATION"), destination) {
            (Some(d), _) if !d.is_empty() => d.to_string(),
            (_, Some(d)) => d.to_string(),
            (_, None) => {
                return Err(SamError::Protocol("SESSION STATUS RESULT=OK without the transient DESTINATION".into()))
            }
        };
        let destination_bytes = public_destination_of(&private_key)?;
        Ok(SamSession {
            sam: sam.to_string(),
            id: id.to_string(),
            destination: i2p_base64_encode(&destination_bytes),
            destination_bytes,
            private_key,
            timeouts,
            control: tokio::sync::Mutex::new(control),
        })
    }

    /// Our public destination, I2P base64 (what a peer passes to `STREAM CONNECT`).
    pub fn destination(&self) -> &str {
        &self.destination
    }

    /// Our private key, I2P base64 (destination, encryption key, signing key): pass it to
    /// [`SamSession::create`] to keep the same destination across restarts. Secret.
    pub fn private_key(&self) -> &str {
        &self.private_key
    }

    /// The session ID given to the bridge.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Our `.b32.i2p` address: base32 (lowercase, unpadded) of SHA-256 of the destination.
    pub fn b32_address(&self) -> String {
        b32_address_of(&self.destination_bytes)
    }

    /// The deadlines this session uses.
    pub fn timeouts(&self) -> SamTimeouts {
        self.timeouts
    }

    /// Opens an I2P stream to `peer` (a base64 destination or a `.b32.i2p` name): a new TCP
    /// connection to the bridge with `HELLO` and `STREAM CONNECT ... SILENT=false`. On
    /// `RESULT=OK` the returned socket carries the stream's bytes.
    pub async fn connect(&self, peer: &str) -> Result<TcpStream, SamError> {
        check_peer(peer)?;
        let cmd = format!("STREAM CONNECT ID={} DESTINATION={peer} SILENT=false\n", self.id);
        let mut stream = hello(&self.sam, &self.timeouts).await?;
        let reply = deadline(self.timeouts.stream, "STREAM STATUS (connect)", async {
            stream.write_all(cmd.as_bytes()).await?;
            read_reply(&mut stream, "STREAM STATUS").await
        })
        .await?;
        reply.expect_ok("STREAM", "STATUS")?;
        Ok(stream)
    }

    /// Waits for one inbound I2P stream: a new TCP connection to the bridge with `HELLO` and
    /// `STREAM ACCEPT ... SILENT=false`; after `RESULT=OK`, waits (without deadline) for the
    /// peer's destination line and returns the socket positioned at the stream's first byte.
    pub async fn accept(&self) -> Result<TcpStream, SamError> {
        self.accept_with_peer().await.map(|(stream, _)| stream)
    }

    /// [`SamSession::accept`], also returning the peer's base64 destination (unauthenticated:
    /// BEAT authenticates peers with its Noise handshake, not with this).
    pub async fn accept_with_peer(&self) -> Result<(TcpStream, String), SamError> {
        let cmd = format!("STREAM ACCEPT ID={} SILENT=false\n", self.id);
        let mut stream = hello(&self.sam, &self.timeouts).await?;
        let reply = deadline(self.timeouts.bridge, "STREAM STATUS (accept)", async {
            stream.write_all(cmd.as_bytes()).await?;
            read_reply(&mut stream, "STREAM STATUS").await
        })
        .await?;
        reply.expect_ok("STREAM", "STATUS")?;
        let line =
            read_line(&mut stream, "the peer's destination").await.map_err(|e| SamError::Incoming(Box::new(e)))?;
        let peer = line.split_whitespace().next().unwrap_or("").to_string();
        if peer.starts_with("STREAM") {
            // A late error instead of a peer (e.g. the session was torn down).
            return Err(Reply::parse(&line)?
                .expect_ok("STREAM", "STATUS")
                .err()
                .unwrap_or_else(|| SamError::Protocol(format!("unexpected line after STREAM ACCEPT: {line:?}"))));
        }
        match i2p_base64_decode(&peer) {
            Some(bytes) if bytes.len() >= DEST_FIXED_LEN => Ok((stream, peer)),
            _ => Err(SamError::Incoming(Box::new(SamError::Protocol(format!(
                "bad peer destination line after STREAM ACCEPT: {:?}",
                truncate(&line)
            ))))),
        }
    }

    /// `NAMING LOOKUP NAME=<name>` on the session's control connection: resolves a `.b32.i2p`
    /// name (through the router's netDb) or `ME` to a base64 destination.
    pub async fn lookup(&self, name: &str) -> Result<String, SamError> {
        check_token("name", name)?;
        let cmd = format!("NAMING LOOKUP NAME={name}\n");
        let mut control = self.control.lock().await;
        let control = &mut *control;
        let reply = deadline(self.timeouts.stream, "NAMING REPLY", async {
            control.write_all(cmd.as_bytes()).await?;
            loop {
                let line = read_line(control, "NAMING REPLY").await?;
                // SAM 3.2 keep-alive: answer a PING, keep waiting for our reply.
                if let Some(rest) = line.strip_prefix("PING") {
                    control.write_all(format!("PONG{rest}\n").as_bytes()).await?;
                    continue;
                }
                break Reply::parse(&line);
            }
        })
        .await?;
        reply.expect_ok("NAMING", "REPLY")?;
        reply
            .get("VALUE")
            .map(str::to_string)
            .ok_or_else(|| SamError::Protocol("NAMING REPLY RESULT=OK without VALUE".into()))
    }
}

/// A node's private I2P destination, kept in the file at `path`: read it (checked), or, on
/// first start, create one through the SAM bridge at `sam` and write it there (mode 0600,
/// never overwritten). Blocking (runs its own small runtime; call it outside a tokio runtime).
/// The error names the file or the bridge.
pub fn load_or_create_destination(sam: &str, path: &std::path::Path) -> Result<String, String> {
    if let Ok(text) = std::fs::read_to_string(path) {
        let key = text.trim().to_string();
        public_destination(&key).map_err(|e| format!("{}: {e}", path.display()))?;
        return Ok(key);
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let (_, private) = rt
        .block_on(generate_destination(sam))
        .map_err(|e| format!("creating an I2P destination through the SAM bridge {sam}: {e}"))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    crate::keystore::storage::write_new_file(path, private.as_bytes(), true)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(private)
}

/// `DEST GENERATE SIGNATURE_TYPE=7` on a fresh connection to the bridge at `sam`: a new
/// Ed25519 destination. Returns `(public destination, private key)`, both I2P base64.
pub async fn generate_destination(sam: &str) -> Result<(String, String), SamError> {
    let timeouts = SamTimeouts::default();
    let mut stream = hello(sam, &timeouts).await?;
    let reply = deadline(timeouts.bridge, "DEST REPLY", async {
        stream.write_all(b"DEST GENERATE SIGNATURE_TYPE=7\n").await?;
        read_reply(&mut stream, "DEST REPLY").await
    })
    .await?;
    reply.expect_ok("DEST", "REPLY")?;
    let (Some(public), Some(private)) = (reply.get("PUB"), reply.get("PRIV")) else {
        return Err(SamError::Protocol("DEST REPLY without PUB and PRIV".into()));
    };
    // The private key must start with the public destination.
    let derived = public_destination_of(private)?;
    if i2p_base64_decode(public).as_deref() != Some(derived.as_slice()) {
        return Err(SamError::Protocol("DEST REPLY: PUB does not match PRIV".into()));
    }
    Ok((public.to_string(), private.to_string()))
}

/// The public destination (base64) contained in a SAM private key (base64).
pub fn public_destination(private_key: &str) -> Result<String, SamError> {
    public_destination_of(private_key).map(|d| i2p_base64_encode(&d))
}

/// The `.b32.i2p` address of a base64 destination.
pub fn b32_address(destination: &str) -> Result<String, SamError> {
    let bytes = i2p_base64_decode(destination)
        .ok_or_else(|| SamError::InvalidArgument("destination is not I2P base64".into()))?;
    Ok(b32_address_of(&bytes))
}

fn b32_address_of(destination: &[u8]) -> String {
    let hash = Sha256::digest(destination);
    format!("{}.b32.i2p", base32_encode(&hash))
}

/// Decodes a private key and returns the destination bytes at its start (387 bytes plus the
/// certificate payload).
fn public_destination_of(private_key: &str) -> Result<Vec<u8>, SamError> {
    let bytes = i2p_base64_decode(private_key)
        .ok_or_else(|| SamError::InvalidArgument("private key/destination is not I2P base64".into()))?;
    if bytes.len() < DEST_FIXED_LEN {
        return Err(SamError::InvalidArgument(format!("private key/destination too short ({} bytes)", bytes.len())));
    }
    let cert_len = usize::from(u16::from_be_bytes([bytes[385], bytes[386]]));
    let len = DEST_FIXED_LEN + cert_len;
    if bytes.len() < len {
        return Err(SamError::InvalidArgument(format!(
            "private key/destination truncated ({} bytes, destination needs {len})",
            bytes.len()
        )));
    }
    Ok(bytes[..len].to_vec())
}

// ---------------------------------------------------------------------------------------------
// Wire helpers.

async fn deadline<T>(
    after: Duration,
    what: &'static str,
    fut: impl std::future::Future<Output = Result<T, SamError>>,
) -> Result<T, SamError> {
    match tokio::time::timeout(after, fut).await {
        Ok(r) => r,
        Err(_) => Err(SamError::TimedOut { what, after }),
    }
}

/// Connects to the bridge and negotiates the version.
async fn hello(sam: &str, timeouts: &SamTimeouts) -> Result<TcpStream, SamError> {
    let mut stream = match tokio::time::timeout(timeouts.bridge, TcpStream::connect(sam)).await {
        Ok(Ok(s)) => s,
        Ok(Err(source)) => return Err(SamError::Unreachable { addr: sam.to_string(), source }),
        Err(_) => return Err(SamError::TimedOut { what: "TCP connect to the SAM bridge", after: timeouts.bridge }),
    };
    stream.set_nodelay(true)?;
    let reply = deadline(timeouts.bridge, "HELLO REPLY", async {
        stream.write_all(b"HELLO VERSION MIN=3.1 MAX=3.3\n").await?;
        read_reply(&mut stream, "HELLO REPLY").await
    })
    .await?;
    reply.expect_ok("HELLO", "REPLY")?;
    match reply.get("VERSION") {
        Some("3.1" | "3.2" | "3.3") => Ok(stream),
        other => Err(SamError::Protocol(format!("HELLO REPLY with unsupported VERSION {other:?}"))),
    }
}

async fn read_reply(stream: &mut TcpStream, what: &'static str) -> Result<Reply, SamError> {
    let line = read_line(stream, what).await?;
    Reply::parse(&line)
}

/// Reads one line (without its `\n`, and without a trailing `\r`) and not one byte more.
///
/// `peek` shows what has arrived; only the bytes up to and including the newline are then
/// `read`, so whatever follows stays in the socket. A non-empty partial line followed by EOF
/// counts as a line (emissary sends some final replies without the newline).
async fn read_line(stream: &mut TcpStream, what: &'static str) -> Result<String, SamError> {
    use tokio::io::AsyncReadExt;
    let mut line: Vec<u8> = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.peek(&mut buf).await?;
        if n == 0 {
            if line.is_empty() {
                return Err(SamError::Closed(what));
            }
            break;
        }
        let (take, done) = match buf[..n].iter().position(|&b| b == b'\n') {
            Some(pos) => (pos + 1, true),
            None => (n, false),
        };
        if line.len() + take > MAX_LINE {
            return Err(SamError::LineTooLong);
        }
        let start = line.len();
        line.resize(start + take, 0);
        stream.read_exact(&mut line[start..]).await?;
        if done {
            line.pop();
            break;
        }
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    String::from_utf8(line).map_err(|_| SamError::Protocol(format!("non-UTF-8 reply while waiting for {what}")))
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(120) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// One parsed reply line: leading words (`SESSION STATUS`) and `KEY=VALUE` pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reply {
    words: Vec<String>,
    pairs: Vec<(String, String)>,
}

impl Reply {
    fn parse(line: &str) -> Result<Reply, SamError> {
        let bad = || SamError::Protocol(format!("cannot parse reply {:?}", truncate(line)));
        let mut words = Vec::new();
        let mut pairs = Vec::new();
        let mut chars = line.chars().peekable();
        loop {
            while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
                chars.next();
            }
            if chars.peek().is_none() {
                break;
            }
            // A key, a bare word, or (after '=') a value.
            let mut token = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_ascii_whitespace() || c == '=' {
                    break;
                }
                if c == '"' {
                    return Err(bad());
                }
                token.push(c);
                chars.next();
            }
            if chars.peek() != Some(&'=') {
                if !pairs.is_empty() {
                    // A bare word after the pairs (e.g. "FLAG"): keep it as a key without value.
                    pairs.push((token, String::new()));
                } else {
                    words.push(token);
                }
                continue;
            }
            chars.next(); // '='
            if token.is_empty() {
                return Err(bad());
            }
            let mut value = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                let mut closed = false;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\\' => match chars.next() {
                            Some(e) => value.push(e),
                            None => return Err(bad()),
                        },
                        c => value.push(c),
                    }
                }
                if !closed || chars.peek().is_some_and(|c| !c.is_ascii_whitespace()) {
                    return Err(bad());
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c.is_ascii_whitespace() {
                        break;
                    }
                    value.push(c);
                    chars.next();
                }
            }
            pairs.push((token, value));
        }
        Ok(Reply { words, pairs })
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Checks the reply is `<cmd> <sub> ... RESULT=OK` and maps any other result to an error.
    fn expect_ok(&self, cmd: &str, sub: &str) -> Result<(), SamError> {
        let head: Vec<&str> = self.words.iter().map(String::as_str).collect();
        if head.len() < 2 || head[0] != cmd || head[1] != sub {
            return Err(SamError::Protocol(format!("expected {cmd} {sub}, got {:?}", head.join(" "))));
        }
        let message = self.get("MESSAGE").map(str::to_string);
        match self.get("RESULT") {
            Some("OK") => Ok(()),
            // DEST REPLY has no RESULT on success.
            None if cmd == "DEST" => Ok(()),
            None => Err(SamError::Protocol(format!("{cmd} {sub} without RESULT"))),
            Some("CANT_REACH_PEER") => Err(SamError::CantReachPeer(message)),
            Some("PEER_NOT_FOUND") => Err(SamError::PeerNotFound(message)),
            Some("DUPLICATED_ID" | "DUPLICATE_ID") => Err(SamError::DuplicatedId(message)),
            Some("DUPLICATED_DEST" | "DUPLICATE_DEST") => Err(SamError::DuplicatedDest(message)),
            Some("I2P_ERROR") => Err(SamError::I2pError(message)),
            Some("INVALID_KEY") => Err(SamError::InvalidKey(message)),
            Some("INVALID_ID") => Err(SamError::InvalidId(message)),
            Some("KEY_NOT_FOUND") => Err(SamError::KeyNotFound(message)),
            Some("TIMEOUT") => Err(SamError::RouterTimeout(message)),
            Some("NOVERSION") => Err(SamError::NoVersion(message)),
            Some(other) => Err(SamError::Other { result: other.to_string(), message }),
        }
    }
}

/// Rejects empty values and any whitespace, `"` or control characters: a token is sent bare
/// on a command line, so a space or newline would inject another field or command.
fn check_token(what: &str, value: &str) -> Result<(), SamError> {
    if value.is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control() || c == '"') {
        return Err(SamError::InvalidArgument(format!("{what} must be a non-empty token without spaces or quotes")));
    }
    Ok(())
}

/// Option values may contain spaces (quoted); newlines and control characters never.
fn quote_value(value: &str) -> Result<String, SamError> {
    if value.chars().any(|c| c.is_control()) {
        return Err(SamError::InvalidArgument("option value with a control character".into()));
    }
    if !value.is_empty() && !value.chars().any(|c| c.is_whitespace() || c == '"' || c == '\\') {
        return Ok(value.to_string());
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Ok(out)
}

/// A peer is a base64 destination or a `<52+ base32 chars>.b32.i2p` name.
fn check_peer(peer: &str) -> Result<(), SamError> {
    check_token("peer", peer)?;
    if let Some(name) = peer.strip_suffix(".b32.i2p") {
        if name.len() >= 52 && name.bytes().all(|b| matches!(b, b'a'..=b'z' | b'2'..=b'7')) {
            return Ok(());
        }
        return Err(SamError::InvalidArgument(format!("bad .b32.i2p name {peer:?}")));
    }
    public_destination_of(peer).map(|_| ())
}

// ---------------------------------------------------------------------------------------------
// I2P's base64 (RFC 4648 with `-` and `~` for `+` and `/`, `=` padding) and base32 (RFC 4648
// lowercase, no padding), hand-written to avoid a dependency.

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-~";

/// Encodes `data` in I2P base64 (padded).
pub fn i2p_base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes I2P base64 (padding optional); `None` on any character outside the alphabet, a
/// misplaced `=`, or non-zero trailing bits.
pub fn i2p_base64_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let body_len = bytes.iter().position(|&b| b == b'=').unwrap_or(bytes.len());
    let (body, pad) = bytes.split_at(body_len);
    if pad.len() > 2 || pad.iter().any(|&b| b != b'=') || (!pad.is_empty() && (body.len() + pad.len()) % 4 != 0) {
        return None;
    }
    if body.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &c in body {
        let v = B64.iter().position(|&x| x == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if acc != 0 {
        return None;
    }
    Some(out)
}

/// Lower-case, unpadded base32 (the `.b32.i2p` alphabet; shared with onion names).
pub use crate::keystore::onion::base32 as base32_encode;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
    use tokio::net::TcpListener;

    /// A destination-shaped private key: 384 bytes of keys, a key certificate (type 5, length
    /// 4: Ed25519 / X25519), a 256-byte encryption key and a 32-byte signing key.
    fn fake_private_key(seed: u8) -> (Vec<u8>, String) {
        let mut dest: Vec<u8> = (0..384u32).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect();
        dest.extend_from_slice(&[5, 0, 4, 0, 7, 0, 4]);
        let mut private = dest.clone();
        private.extend((0..288u32).map(|i| (i as u8) ^ seed));
        (dest, i2p_base64_encode(&private))
    }

    /// What the fake bridge does after reading one expected command line.
    enum Act {
        /// Write this reply and go on with the script.
        Say(String),
        /// Write this reply (possibly without newline) and close the connection.
        SayClose(String),
        /// Close the connection without a reply.
        Close,
    }

    fn say(s: impl Into<String>) -> Act {
        Act::Say(s.into())
    }

    /// One scripted bridge connection: for each expected command prefix, what to do.
    type Script = Vec<(&'static str, Act)>;

    /// A fake SAM bridge serving one script per accepted connection, in order; after a script
    /// that did not close, `tail` (data-phase bytes) is written and the connection kept open.
    /// Returns the address and a handle yielding every command line received.
    async fn fake_bridge(scripts: Vec<(Script, Option<Vec<u8>>)>) -> (String, tokio::task::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let handle = tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut keep = Vec::new();
            for (script, tail) in scripts {
                let (sock, _) = listener.accept().await.unwrap();
                let mut reader = BufReader::new(sock);
                let mut closed = false;
                for (expect, act) in script {
                    let mut line = String::new();
                    reader.read_line(&mut line).await.unwrap();
                    assert!(line.starts_with(expect), "expected {expect:?}, got {line:?}");
                    seen.push(line.trim_end().to_string());
                    match act {
                        Act::Say(r) => reader.get_mut().write_all(r.as_bytes()).await.unwrap(),
                        Act::SayClose(r) => {
                            reader.get_mut().write_all(r.as_bytes()).await.unwrap();
                            closed = true;
                            break;
                        }
                        Act::Close => {
                            closed = true;
                            break;
                        }
                    }
                }
                if closed {
                    continue;
                }
                if let Some(tail) = tail {
                    reader.get_mut().write_all(&tail).await.unwrap();
                }
                keep.push(reader);
            }
            // Keep the open connections a while so clients can finish reading.
            tokio::time::sleep(Duration::from_millis(300)).await;
            drop(keep);
            seen
        });
        (addr, handle)
    }

    /// Reads exactly `n` bytes or fails the test within five seconds (lost bytes would
    /// otherwise hang it).
    async fn read_n(stream: &mut TcpStream, n: usize) -> Vec<u8> {
        let mut buf = vec![0u8; n];
        tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut buf))
            .await
            .expect("bytes after the handshake line were lost")
            .unwrap();
        buf
    }

    fn hello_ok() -> (&'static str, Act) {
        ("HELLO VERSION MIN=3.1 MAX=3.3", say("HELLO REPLY RESULT=OK VERSION=3.2\n"))
    }

    fn session_script(reply: String) -> Script {
        vec![hello_ok(), ("SESSION CREATE STYLE=STREAM ID=", Act::Say(reply))]
    }

    #[test]
    fn base64_round_trip_and_alphabet() {
        for len in 0..40usize {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 250) as u8).collect();
            let text = i2p_base64_encode(&data);
            assert_eq!(text.len(), len.div_ceil(3) * 4);
            assert!(!text.contains('+') && !text.contains('/'));
            assert_eq!(i2p_base64_decode(&text).unwrap(), data);
            // Unpadded is accepted too.
            assert_eq!(i2p_base64_decode(text.trim_end_matches('=')).unwrap(), data);
        }
        // RFC 4648 vectors with the I2P alphabet substituted.
        assert_eq!(i2p_base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(i2p_base64_encode(b"fo"), "Zm8=");
        assert_eq!(i2p_base64_encode(&[0xfb, 0xff, 0xbf]), "-~-~");
        assert_eq!(i2p_base64_decode("-~-~").unwrap(), vec![0xfb, 0xff, 0xbf]);
        // Standard-alphabet characters, bad padding and non-zero trailing bits are rejected.
        assert!(i2p_base64_decode("+/+/").is_none());
        assert!(i2p_base64_decode("Zm8").is_some());
        assert!(i2p_base64_decode("Zm9=").is_none());
        assert!(i2p_base64_decode("Z===").is_none());
        assert!(i2p_base64_decode("Zm=8").is_none());
        assert!(i2p_base64_decode("Z").is_none());
    }

    #[test]
    fn base32_vectors() {
        // RFC 4648 vectors, lowercased and unpadded.
        assert_eq!(base32_encode(b""), "");
        assert_eq!(base32_encode(b"f"), "my");
        assert_eq!(base32_encode(b"fo"), "mzxq");
        assert_eq!(base32_encode(b"foo"), "mzxw6");
        assert_eq!(base32_encode(b"foob"), "mzxw6yq");
        assert_eq!(base32_encode(b"fooba"), "mzxw6ytb");
        assert_eq!(base32_encode(b"foobar"), "mzxw6ytboi");
        assert_eq!(base32_encode(&[0u8; 32]).len(), 52);
    }

    #[test]
    fn b32_address_is_sha256_of_the_destination() {
        let (dest, private) = fake_private_key(3);
        let expected = format!("{}.b32.i2p", base32_encode(&Sha256::digest(&dest)));
        assert_eq!(b32_address(&i2p_base64_encode(&dest)).unwrap(), expected);
        assert_eq!(public_destination(&private).unwrap(), i2p_base64_encode(&dest));
        assert_eq!(expected.len(), 52 + 8);
        // Truncated keys are rejected, not sliced out of bounds.
        let short = i2p_base64_encode(&dest[..300]);
        assert!(matches!(public_destination(&short), Err(SamError::InvalidArgument(_))));
        let mut lying = dest.clone();
        lying[385] = 0xff; // certificate length beyond the data
        assert!(matches!(public_destination(&i2p_base64_encode(&lying)), Err(SamError::InvalidArgument(_))));
    }

    #[test]
    fn reply_parsing() {
        let r = Reply::parse("SESSION STATUS RESULT=I2P_ERROR MESSAGE=\"bad \\\"thing\\\" here\" X=1").unwrap();
        assert_eq!(r.words, vec!["SESSION", "STATUS"]);
        assert_eq!(r.get("RESULT"), Some("I2P_ERROR"));
        assert_eq!(r.get("MESSAGE"), Some("bad \"thing\" here"));
        assert_eq!(r.get("X"), Some("1"));
        match r.expect_ok("SESSION", "STATUS") {
            Err(SamError::I2pError(Some(m))) => assert_eq!(m, "bad \"thing\" here"),
            other => panic!("{other:?}"),
        }
        // Base64 values keep their '=' padding and '~'/'-'.
        let r = Reply::parse("DEST REPLY PUB=ab~-== PRIV=cd==").unwrap();
        assert_eq!(r.get("PUB"), Some("ab~-=="));
        assert!(r.expect_ok("DEST", "REPLY").is_ok());
        assert!(Reply::parse("X Y MESSAGE=\"unterminated").is_err());
        assert!(Reply::parse("X Y MESSAGE=\"a\"b").is_err());
        assert!(Reply::parse("X Y =v").is_err());
        assert!(matches!(
            Reply::parse("STREAM STATUS RESULT=OK").unwrap().expect_ok("SESSION", "STATUS"),
            Err(SamError::Protocol(_))
        ));
        assert!(matches!(
            Reply::parse("STREAM STATUS").unwrap().expect_ok("STREAM", "STATUS"),
            Err(SamError::Protocol(_))
        ));
        type IsExpected = fn(&SamError) -> bool;
        let codes: &[(&str, IsExpected)] = &[
            ("CANT_REACH_PEER", |e| matches!(e, SamError::CantReachPeer(_))),
            ("PEER_NOT_FOUND", |e| matches!(e, SamError::PeerNotFound(_))),
            ("DUPLICATED_ID", |e| matches!(e, SamError::DuplicatedId(_))),
            ("DUPLICATE_ID", |e| matches!(e, SamError::DuplicatedId(_))),
            ("DUPLICATED_DEST", |e| matches!(e, SamError::DuplicatedDest(_))),
            ("DUPLICATE_DEST", |e| matches!(e, SamError::DuplicatedDest(_))),
            ("INVALID_KEY", |e| matches!(e, SamError::InvalidKey(_))),
            ("INVALID_ID", |e| matches!(e, SamError::InvalidId(_))),
            ("KEY_NOT_FOUND", |e| matches!(e, SamError::KeyNotFound(_))),
            ("TIMEOUT", |e| matches!(e, SamError::RouterTimeout(_))),
            ("NOVERSION", |e| matches!(e, SamError::NoVersion(_))),
            ("WEIRD", |e| matches!(e, SamError::Other { result, .. } if result == "WEIRD")),
        ];
        for (code, check) in codes {
            let err = Reply::parse(&format!("STREAM STATUS RESULT={code}"))
                .unwrap()
                .expect_ok("STREAM", "STATUS")
                .unwrap_err();
            assert!(check(&err), "{code} -> {err:?}");
        }
    }

    #[test]
    fn arguments_are_validated() {
        assert!(check_token("id", "beat-0").is_ok());
        for bad in ["", "a b", "a\nb", "a\"b", "a\tb"] {
            assert!(check_token("id", bad).is_err(), "{bad:?}");
        }
        assert_eq!(quote_value("1").unwrap(), "1");
        assert_eq!(quote_value("a b").unwrap(), "\"a b\"");
        assert_eq!(quote_value("").unwrap(), "\"\"");
        assert_eq!(quote_value("q\"\\").unwrap(), "\"q\\\"\\\\\"");
        assert!(quote_value("x\ny").is_err());
        let good = format!("{}.b32.i2p", base32_encode(&[7u8; 32]));
        assert!(check_peer(&good).is_ok());
        assert!(check_peer("short.b32.i2p").is_err());
        assert!(check_peer(&good.to_uppercase()).is_err());
        assert!(check_peer("not+base64").is_err());
        let (dest, _) = fake_private_key(1);
        assert!(check_peer(&i2p_base64_encode(&dest)).is_ok());
    }

    #[tokio::test]
    async fn create_transient_session() {
        let (dest, private) = fake_private_key(9);
        let (addr, bridge) =
            fake_bridge(vec![(session_script(format!("SESSION STATUS RESULT=OK DESTINATION={private}\n")), None)])
                .await;
        let session =
            SamSession::create(&addr, "beat-1", None, &[("inbound.length", "1"), ("x.name", "a b")]).await.unwrap();
        assert_eq!(session.destination(), i2p_base64_encode(&dest));
        assert_eq!(session.private_key(), private);
        assert_eq!(session.b32_address(), b32_address(&i2p_base64_encode(&dest)).unwrap());
        assert!(!format!("{session:?}").contains(&private));
        let seen = bridge.await.unwrap();
        assert_eq!(
            seen[1],
            "SESSION CREATE STYLE=STREAM ID=beat-1 DESTINATION=TRANSIENT SIGNATURE_TYPE=7 inbound.length=1 x.name=\"a b\""
        );
    }

    #[tokio::test]
    async fn create_persistent_session_without_echoed_destination() {
        let (dest, private) = fake_private_key(4);
        let (addr, bridge) = fake_bridge(vec![(session_script("SESSION STATUS RESULT=OK\n".into()), None)]).await;
        let session = SamSession::create(&addr, "p", Some(&private), &[]).await.unwrap();
        assert_eq!(session.destination(), i2p_base64_encode(&dest));
        let seen = bridge.await.unwrap();
        assert_eq!(seen[1], format!("SESSION CREATE STYLE=STREAM ID=p DESTINATION={private} SIGNATURE_TYPE=7"));
    }

    #[tokio::test]
    async fn create_errors() {
        // emissary's spelling, without the trailing newline, then close.
        let (addr, _b) = fake_bridge(vec![(
            vec![hello_ok(), ("SESSION CREATE", Act::SayClose("SESSION STATUS RESULT=DUPLICATE_ID".into()))],
            None,
        )])
        .await;
        assert!(matches!(SamSession::create(&addr, "dup", None, &[]).await, Err(SamError::DuplicatedId(_))));

        let (addr, _b) = fake_bridge(vec![(
            session_script("SESSION STATUS RESULT=I2P_ERROR MESSAGE=\"no tunnels\"\n".into()),
            None,
        )])
        .await;
        match SamSession::create(&addr, "e", None, &[]).await {
            Err(e @ SamError::I2pError(Some(_))) => assert!(e.to_string().contains("no tunnels"), "{e}"),
            other => panic!("{other:?}"),
        }

        let (addr, _b) = fake_bridge(vec![(session_script("SESSION STATUS RESULT=INVALID_KEY\n".into()), None)]).await;
        let (_, private) = fake_private_key(2);
        assert!(matches!(SamSession::create(&addr, "k", Some(&private), &[]).await, Err(SamError::InvalidKey(_))));

        // The bridge closes without a reply (emissary with an unparseable command).
        let (addr, _b) = fake_bridge(vec![(vec![hello_ok(), ("SESSION CREATE", Act::Close)], None)]).await;
        assert!(matches!(SamSession::create(&addr, "c", None, &[]).await, Err(SamError::Closed(_))));

        // Version refused.
        let (addr, _b) = fake_bridge(vec![(vec![("HELLO", say("HELLO REPLY RESULT=NOVERSION\n"))], None)]).await;
        assert!(matches!(SamSession::create(&addr, "v", None, &[]).await, Err(SamError::NoVersion(_))));

        // OK without a destination for a transient session is a protocol error.
        let (addr, _b) = fake_bridge(vec![(session_script("SESSION STATUS RESULT=OK\n".into()), None)]).await;
        assert!(matches!(SamSession::create(&addr, "t", None, &[]).await, Err(SamError::Protocol(_))));

        // Caller errors never reach the wire.
        assert!(matches!(SamSession::create("127.0.0.1:1", "a b", None, &[]).await, Err(SamError::InvalidArgument(_))));
        assert!(matches!(
            SamSession::create("127.0.0.1:1", "a", Some("not base64!"), &[]).await,
            Err(SamError::InvalidArgument(_))
        ));
        assert!(matches!(
            SamSession::create("127.0.0.1:1", "a", None, &[("k", "v\nSESSION CREATE")]).await,
            Err(SamError::InvalidArgument(_))
        ));
    }

    #[tokio::test]
    async fn unreachable_bridge() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        drop(listener);
        match SamSession::create(&addr, "x", None, &[]).await {
            Err(e @ SamError::Unreachable { .. }) => assert!(e.to_string().contains(&addr)),
            other => panic!("{other:?}"),
        }
        assert!(matches!(generate_destination(&addr).await, Err(SamError::Unreachable { .. })));
    }

    #[tokio::test]
    async fn silent_bridge_times_out() {
        // Accepts the TCP connection, reads HELLO, never answers.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let _server = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 64];
            let _ = sock.read(&mut buf).await;
            tokio::time::sleep(Duration::from_secs(5)).await;
        });
        let timeouts = SamTimeouts { bridge: Duration::from_millis(200), ..SamTimeouts::default() };
        let start = std::time::Instant::now();
        match SamSession::create_with_timeouts(&addr, "x", None, &[], timeouts).await {
            Err(e @ SamError::TimedOut { what: "HELLO REPLY", .. }) => assert!(e.to_string().contains("timed out")),
            other => panic!("{other:?}"),
        }
        assert!(start.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn oversized_reply_line_is_refused() {
        let (addr, _b) = fake_bridge(vec![(
            vec![("HELLO", say(format!("HELLO REPLY RESULT=OK VERSION=3.2 X={}\n", "a".repeat(MAX_LINE))))],
            None,
        )])
        .await;
        assert!(matches!(SamSession::create(&addr, "x", None, &[]).await, Err(SamError::LineTooLong)));
    }

    async fn session_with(
        extra: Vec<(Script, Option<Vec<u8>>)>,
    ) -> (SamSession, tokio::task::JoinHandle<Vec<String>>, Vec<u8>) {
        let (dest, private) = fake_private_key(5);
        let mut scripts = vec![(session_script(format!("SESSION STATUS RESULT=OK DESTINATION={private}\n")), None)];
        scripts.extend(extra);
        let (addr, bridge) = fake_bridge(scripts).await;
        let session = SamSession::create(&addr, "s", None, &[]).await.unwrap();
        (session, bridge, dest)
    }

    #[tokio::test]
    async fn connect_success_keeps_following_bytes() {
        let (peer, _) = fake_private_key(6);
        let peer = i2p_base64_encode(&peer);
        // The reply and the first data bytes arrive in one segment: none may be lost.
        let (session, bridge, _) = session_with(vec![(
            vec![hello_ok(), ("STREAM CONNECT ID=s DESTINATION=", say("STREAM STATUS RESULT=OK\nfirst bytes"))],
            Some(b" and more".to_vec()),
        )])
        .await;
        let mut stream = session.connect(&peer).await.unwrap();
        assert_eq!(read_n(&mut stream, 20).await, b"first bytes and more");
        let seen = bridge.await.unwrap();
        assert_eq!(seen[3], format!("STREAM CONNECT ID=s DESTINATION={peer} SILENT=false"));
    }

    #[tokio::test]
    async fn connect_to_b32_name() {
        let name = format!("{}.b32.i2p", base32_encode(&[1u8; 32]));
        let (session, bridge, _) =
            session_with(vec![(vec![hello_ok(), ("STREAM CONNECT", say("STREAM STATUS RESULT=OK\n"))], None)]).await;
        session.connect(&name).await.unwrap();
        assert!(bridge.await.unwrap()[3].contains(&format!("DESTINATION={name} ")));
    }

    #[tokio::test]
    async fn connect_errors() {
        let (peer, _) = fake_private_key(6);
        let peer = i2p_base64_encode(&peer);
        let (session, _bridge, _) = session_with(vec![
            // emissary: CANT_REACH_PEER without newline, then close.
            (vec![hello_ok(), ("STREAM CONNECT", Act::SayClose("STREAM STATUS RESULT=CANT_REACH_PEER".into()))], None),
            (vec![hello_ok(), ("STREAM CONNECT", say("STREAM STATUS RESULT=INVALID_ID MESSAGE=gone\n"))], None),
            (vec![hello_ok(), ("STREAM CONNECT", say("STREAM STATUS RESULT=TIMEOUT\n"))], None),
            (vec![hello_ok(), ("STREAM CONNECT", Act::Close)], None),
            (vec![hello_ok(), ("STREAM CONNECT", say("SESSION STATUS RESULT=OK\n"))], None),
        ])
        .await;
        let e = session.connect(&peer).await.unwrap_err();
        assert!(matches!(e, SamError::CantReachPeer(None)), "{e:?}");
        assert!(e.is_transient());
        match session.connect(&peer).await {
            Err(e @ SamError::InvalidId(Some(_))) => assert!(e.to_string().contains("gone")),
            other => panic!("{other:?}"),
        }
        assert!(matches!(session.connect(&peer).await, Err(SamError::RouterTimeout(_))));
        assert!(matches!(session.connect(&peer).await, Err(SamError::Closed(_))));
        assert!(matches!(session.connect(&peer).await, Err(SamError::Protocol(_))));
        // A bad peer never reaches the wire.
        let e = session.connect("nope").await.unwrap_err();
        assert!(matches!(e, SamError::InvalidArgument(_)));
        assert!(!e.is_transient());
    }

    #[tokio::test]
    async fn accept_success_returns_stream_at_data() {
        let (peer, _) = fake_private_key(8);
        let peer = i2p_base64_encode(&peer);
        // RESULT=OK, then the peer line and data in one write.
        let (session, bridge, _) = session_with(vec![
            (
                vec![hello_ok(), ("STREAM ACCEPT ID=s SILENT=false", say("STREAM STATUS RESULT=OK\n"))],
                Some(format!("{peer} FROM_PORT=0 TO_PORT=0\nhello beat").into_bytes()),
            ),
            (vec![hello_ok(), ("STREAM ACCEPT", say(format!("STREAM STATUS RESULT=OK\n{peer}\nX")))], None),
        ])
        .await;
        let (mut stream, from) = session.accept_with_peer().await.unwrap();
        assert_eq!(from, peer);
        assert_eq!(read_n(&mut stream, 10).await, b"hello beat");
        let mut stream = session.accept().await.unwrap();
        assert_eq!(read_n(&mut stream, 1).await, b"X");
        let seen = bridge.await.unwrap();
        assert_eq!(seen[3], "STREAM ACCEPT ID=s SILENT=false");
    }

    #[tokio::test]
    async fn accept_errors() {
        let (session, _bridge, _) = session_with(vec![
            (vec![hello_ok(), ("STREAM ACCEPT", say("STREAM STATUS RESULT=I2P_ERROR MESSAGE=\"listener\"\n"))], None),
            // OK, then the router gives up instead of delivering a peer.
            (
                vec![hello_ok(), ("STREAM ACCEPT", say("STREAM STATUS RESULT=OK\nSTREAM STATUS RESULT=I2P_ERROR\n"))],
                None,
            ),
            // OK, then garbage instead of a destination.
            (vec![hello_ok(), ("STREAM ACCEPT", say("STREAM STATUS RESULT=OK\nnot-a-destination\n"))], None),
            // OK, then the socket closes (the dialler went away, or the session was torn down:
            // the next accept tells which).
            (vec![hello_ok(), ("STREAM ACCEPT", Act::SayClose("STREAM STATUS RESULT=OK\n".into()))], None),
            // Unknown session ID: emissary closes without a reply.
            (vec![hello_ok(), ("STREAM ACCEPT", Act::Close)], None),
        ])
        .await;
        assert!(matches!(session.accept().await, Err(SamError::I2pError(Some(m))) if m == "listener"));
        assert!(matches!(session.accept().await, Err(SamError::I2pError(None))));
        // One incoming stream's failure, not the session's.
        assert!(matches!(session.accept().await, Err(SamError::Incoming(e)) if matches!(*e, SamError::Protocol(_))));
        assert!(matches!(session.accept().await,
            Err(SamError::Incoming(e)) if matches!(*e, SamError::Closed("the peer's destination"))));
        assert!(matches!(session.accept().await, Err(SamError::Closed(_))));
    }

    #[tokio::test]
    async fn lookup_on_control_connection() {
        let (dest, private) = fake_private_key(5);
        let dest = i2p_base64_encode(&dest);
        let name = format!("{}.b32.i2p", base32_encode(&[2u8; 32]));
        let (addr, _bridge) = fake_bridge(vec![(
            vec![
                hello_ok(),
                ("SESSION CREATE", say(format!("SESSION STATUS RESULT=OK DESTINATION={private}\n"))),
                ("NAMING LOOKUP NAME=ME", say(format!("PING 1\nNAMING REPLY RESULT=OK NAME=ME VALUE={dest}\n"))),
                ("PONG 1", say(String::new())),
                ("NAMING LOOKUP NAME=", say(format!("NAMING REPLY RESULT=KEY_NOT_FOUND NAME={name}\n"))),
            ],
            None,
        )])
        .await;
        let session = SamSession::create(&addr, "s", None, &[]).await.unwrap();
        assert_eq!(session.lookup("ME").await.unwrap(), dest);
        assert!(matches!(session.lookup(&name).await, Err(SamError::KeyNotFound(_))));
    }

    #[tokio::test]
    async fn generate_destination_checks_the_pair() {
        let (dest, private) = fake_private_key(11);
        let public = i2p_base64_encode(&dest);
        let (addr, bridge) = fake_bridge(vec![(
            vec![
                hello_ok(),
                ("DEST GENERATE SIGNATURE_TYPE=7", say(format!("DEST REPLY PUB={public} PRIV={private}\n"))),
            ],
            None,
        )])
        .await;
        assert_eq!(generate_destination(&addr).await.unwrap(), (public.clone(), private.clone()));
        assert_eq!(bridge.await.unwrap()[1], "DEST GENERATE SIGNATURE_TYPE=7");

        let (other, _) = fake_private_key(12);
        let (addr, _b) = fake_bridge(vec![(
            vec![
                hello_ok(),
                ("DEST GENERATE", say(format!("DEST REPLY PUB={} PRIV={private}\n", i2p_base64_encode(&other)))),
            ],
            None,
        )])
        .await;
        assert!(matches!(generate_destination(&addr).await, Err(SamError::Protocol(_))));

        let (addr, _b) = fake_bridge(vec![(
            vec![hello_ok(), ("DEST GENERATE", say("DEST REPLY RESULT=I2P_ERROR MESSAGE=\"unsupported\"\n"))],
            None,
        )])
        .await;
        assert!(matches!(generate_destination(&addr).await, Err(SamError::I2pError(Some(_)))));
    }
}
