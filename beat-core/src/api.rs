//! The daemon's client API over HTTP/JSON (axum): blobs on a storage committee (BEAT3/4),
//! status and health.
//!
//! | Method and path | What it does |
//! |---|---|
//! | `GET /healthz` | `200 ok` while the node runs, `503` with the reason once it stopped |
//! | `GET /v1/status` | the node's [`Status`] as JSON (epoch, peers, queue, WAL, faults, fragment repair and scrub) |
//! | `PUT /v1/blobs` | store the body (BEAT3/4); answers `201` once it committed, with its id |
//! | `GET /v1/blobs/{id}` | the blob's bytes, read from the committee's fragments; a `Range: bytes=…` header is served as a range read (`206`) |
//!
//! A blob id, `<epoch>-<proposer>-<start>-<length>`, names where the blob lies: bytes
//! `start..start + length` of the value node `proposer` dispersed in `epoch`. A read of it
//! returns exactly those committed bytes or an error, whoever asks and whatever the id says
//! (a made-up id reads other committed bytes or nothing). Each blob is stored with 16 random
//! bytes before it, so storing the same bytes twice stores two blobs (identical transactions
//! would be de-duplicated).
//!
//! Errors are JSON `{"error": "…"}` with the status code that says what to do: `400` a bad
//! id or range header, `404` unknown value, `409` not a storage committee, `413` too large,
//! `416` range outside the blob, `429` queue full (with `Retry-After`), `503` not enough
//! holders answered or the node stopped, `504` no commit or answer in time.
//!
//! Not yet here (the client-API issue): authentication, rate limits per client, transaction
//! submission and the commit stream, and the OpenAPI document. Bind it to loopback.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde_json::json;

use crate::app::ConsensusApp;
use crate::beat::{ReadError, ValueId};
use crate::driver::{BeatNode, PutFailure, ReadFailure, Status, SubmitError};

/// Random bytes stored before each blob (see the module doc).
pub const BLOB_NONCE: usize = 16;

/// How long a request waits for a commit or a read before `504`.
#[derive(Clone, Copy, Debug)]
pub struct ApiTimeouts {
    /// A put, until its blob committed.
    pub put: Duration,
    /// A read.
    pub read: Duration,
}

impl Default for ApiTimeouts {
    fn default() -> Self {
        ApiTimeouts { put: Duration::from_secs(120), read: Duration::from_secs(60) }
    }
}

struct Api<A: ConsensusApp> {
    node: Arc<BeatNode<A>>,
    timeouts: ApiTimeouts,
    /// Blob requests in flight (each may hold a blob's bytes): more get `429`.
    busy: tokio::sync::Semaphore,
}

/// Blob requests (puts and reads) served at once.
pub const MAX_BLOB_REQUESTS: usize = 32;

fn too_busy() -> Response {
    let mut r = error(
        StatusCode::TOO_MANY_REQUESTS,
        format!("{MAX_BLOB_REQUESTS} blob requests are in flight; try again shortly"),
    );
    r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

/// Where a blob lies (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlobId {
    /// The committed value.
    pub value: ValueId,
    /// First byte in the value.
    pub start: u64,
    /// Its length.
    pub len: u64,
}

impl std::fmt::Display for BlobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}-{}-{}", self.value.epoch, self.value.proposer, self.start, self.len)
    }
}

impl std::str::FromStr for BlobId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("blob id {s:?} is not <epoch>-<proposer>-<start>-<length>");
        let parts: Vec<u64> = s.split('-').map(str::parse).collect::<Result<_, _>>().map_err(|_| bad())?;
        let [epoch, proposer, start, len] = parts[..] else { return Err(bad()) };
        if start.checked_add(len).is_none() || proposer > u64::from(u16::MAX) {
            return Err(bad());
        }
        Ok(BlobId { value: ValueId { epoch, proposer: proposer as usize }, start, len })
    }
}

/// The API's routes over `node`.
pub fn router<A: ConsensusApp>(node: Arc<BeatNode<A>>, max_body: usize, timeouts: ApiTimeouts) -> Router {
    let state = Arc::new(Api { node, timeouts, busy: tokio::sync::Semaphore::new(MAX_BLOB_REQUESTS) });
    Router::new()
        .route("/healthz", get(healthz::<A>))
        .route("/v1/status", get(status::<A>))
        .route("/v1/blobs", put(put_blob::<A>).post(put_blob::<A>))
        .route("/v1/blobs/{id}", get(get_blob::<A>))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}

/// Serve `router` on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, router: Router) -> std::io::Result<()> {
    axum::serve(listener, router).await
}

/// The API served on a thread of its own (a small runtime apart from the node's), for a
/// process that runs a [`BeatNode`] with its own runtime (the `beat` daemon).
#[derive(Debug)]
pub struct ApiServer {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Where it listens.
    pub addr: std::net::SocketAddr,
}

impl ApiServer {
    /// Serve `router` on `listener` (already bound: a port in use is the caller's clear
    /// error, before anything starts).
    pub fn spawn(listener: std::net::TcpListener, router: Router) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new().name("beat-api".into()).spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
                tokio::select! {
                    r = serve(listener, router) => {
                        if let Err(e) = r {
                            eprintln!("beat: the client API stopped: {e}");
                        }
                    }
                    _ = stopped => {}
                }
            });
            // Dropping the runtime here cancels requests in flight (and their node handles).
        })?;
        Ok(ApiServer { stop: Some(stop), thread: Some(thread), addr })
    }

    /// Stop serving: requests in flight are cancelled. Returns once the thread ended.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.halt();
    }
}

fn error(code: StatusCode, message: impl std::fmt::Display) -> Response {
    (code, Json(json!({ "error": message.to_string() }))).into_response()
}

async fn healthz<A: ConsensusApp>(State(api): State<Arc<Api<A>>>) -> Response {
    match api.node.status().failed {
        None => (StatusCode::OK, "ok\n").into_response(),
        Some(why) => error(StatusCode::SERVICE_UNAVAILABLE, format!("node stopped: {why}")),
    }
}

/// The status as JSON (also what `beat` prints).
pub fn status_json(s: &Status) -> serde_json::Value {
    let f = &s.fragments;
    json!({
        "epoch": s.epoch,
        "committed_txs": s.committed_txs,
        "buffered": s.buffered,
        "submit_queue": s.submit_queue,
        "peers_connected": s.peers_connected,
        "links": s.links.iter().map(|l| json!({
            "peer": l.peer, "transport": l.transport.name(), "up": l.up, "connects": l.connects,
            "failures": l.failures, "rtt_ms": l.rtt_ms,
        })).collect::<Vec<_>>(),
        "connections_refused": s.connections_refused,
        "duplicates_dropped": s.duplicates_dropped,
        "frames_dropped": s.frames_dropped,
        "submits_refused": s.submits_refused,
        "wal_records": s.wal_records,
        "wal_retained": s.wal_retained,
        "faults": s.faults,
        "caught_up_epochs": s.caught_up_epochs,
        "rejoin_fence": s.rejoin_fence,
        "failed": s.failed,
        "fragments": {
            "missing": f.missing, "repairing": f.repairing, "repaired": f.repaired,
            "repaired_bytes": f.repaired_bytes, "fetched_bytes": f.fetched_bytes,
            "repair_failures": f.repair_failures, "unrepairable": f.unrepairable,
            "scrubbed": f.scrubbed, "scrub_bad": f.scrub_bad, "scrub_repaired": f.scrub_repaired,
            "scrub_passes": f.scrub_passes, "scrubbing": f.scrubbing,
            "held": f.held, "held_bytes": f.held_bytes,
        },
    })
}

async fn status<A: ConsensusApp>(State(api): State<Arc<Api<A>>>) -> Response {
    Json(status_json(&api.node.status())).into_response()
}

async fn put_blob<A: ConsensusApp>(State(api): State<Arc<Api<A>>>, body: Bytes) -> Response {
    let Ok(_permit) = api.busy.try_acquire() else { return too_busy() };
    let mut tx = Vec::with_capacity(BLOB_NONCE + body.len());
    tx.extend_from_slice(&rand::random::<[u8; BLOB_NONCE]>());
    tx.extend_from_slice(&body);
    let put = tokio::time::timeout(api.timeouts.put, api.node.put_async(tx)).await;
    let stored = match put {
        Err(_) => return error(StatusCode::GATEWAY_TIMEOUT, PutFailure::TimedOut(api.timeouts.put)),
        Ok(Err(e)) => return put_error(e),
        Ok(Ok(s)) => s,
    };
    let id = BlobId { value: stored.id, start: stored.range.start + BLOB_NONCE as u64, len: body.len() as u64 };
    let body = json!({
        "id": id.to_string(), "epoch": id.value.epoch, "proposer": id.value.proposer, "size": id.len,
    });
    (StatusCode::CREATED, Json(body)).into_response()
}

fn put_error(e: PutFailure) -> Response {
    match e {
        PutFailure::NotStored(_) => error(StatusCode::CONFLICT, e),
        PutFailure::TimedOut(_) => error(StatusCode::GATEWAY_TIMEOUT, e),
        PutFailure::Submit(SubmitError::TooLarge { .. }) => error(StatusCode::PAYLOAD_TOO_LARGE, e),
        PutFailure::Submit(SubmitError::QueueFull(_)) => {
            let mut r = error(StatusCode::TOO_MANY_REQUESTS, e);
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            r
        }
        PutFailure::Submit(SubmitError::Stopped) => error(StatusCode::SERVICE_UNAVAILABLE, e),
        PutFailure::Submit(_) => error(StatusCode::UNPROCESSABLE_ENTITY, e),
    }
}

/// A `Range: bytes=a-b` (or `a-`, or `-n`) header over a blob of `len` bytes: the byte range,
/// `Ok(None)` without one, `Err(true)` when unsatisfiable (416), `Err(false)` when malformed.
fn parse_range(headers: &HeaderMap, len: u64) -> Result<Option<std::ops::Range<u64>>, bool> {
    let Some(v) = headers.get(header::RANGE) else { return Ok(None) };
    let v = v.to_str().map_err(|_| false)?.trim();
    let spec = v.strip_prefix("bytes=").ok_or(false)?;
    if spec.contains(',') {
        return Err(false); // one range per request
    }
    let (a, b) = spec.split_once('-').ok_or(false)?;
    let num = |s: &str| s.trim().parse::<u64>().map_err(|_| false);
    let range = match (a.trim().is_empty(), b.trim().is_empty()) {
        (true, false) => {
            let n = num(b)?.min(len);
            len - n..len
        }
        (false, true) => num(a)?..len,
        (false, false) => {
            let (a, b) = (num(a)?, num(b)?);
            if b < a {
                return Err(false);
            }
            a..b.saturating_add(1).min(len)
        }
        (true, true) => return Err(false),
    };
    if range.start >= len || range.is_empty() {
        return Err(true);
    }
    Ok(Some(range))
}

async fn get_blob<A: ConsensusApp>(
    State(api): State<Arc<Api<A>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let id: BlobId = match id.parse() {
        Ok(id) => id,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let range = match parse_range(&headers, id.len) {
        Ok(r) => r,
        Err(true) => {
            let mut r = error(StatusCode::RANGE_NOT_SATISFIABLE, format!("the blob has {} bytes", id.len));
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{}", id.len)) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return r;
        }
        Err(false) => return error(StatusCode::BAD_REQUEST, "Range must be one `bytes=a-b`, `bytes=a-` or `bytes=-n`"),
    };
    let want = range.clone().unwrap_or(0..id.len);
    if want.is_empty() {
        return (StatusCode::OK, Vec::new()).into_response();
    }
    let Ok(_permit) = api.busy.try_acquire() else { return too_busy() };
    let in_value = id.start + want.start..id.start + want.end;
    let read = tokio::time::timeout(api.timeouts.read, api.node.read_report_async(id.value, Some(in_value))).await;
    let report = match read {
        Err(_) => return error(StatusCode::GATEWAY_TIMEOUT, ReadFailure::TimedOut(api.timeouts.read)),
        Ok(Err(e)) => {
            let code = match &e {
                ReadFailure::NotStored(_) => StatusCode::CONFLICT,
                ReadFailure::Read(ReadError::Unknown(_)) => StatusCode::NOT_FOUND,
                ReadFailure::Read(ReadError::OutOfBounds) => StatusCode::RANGE_NOT_SATISFIABLE,
                ReadFailure::TimedOut(_) => StatusCode::GATEWAY_TIMEOUT,
                _ => StatusCode::SERVICE_UNAVAILABLE,
            };
            return error(code, e);
        }
        Ok(Ok(r)) => r,
    };
    let mut response = if range.is_some() {
        let mut r = (StatusCode::PARTIAL_CONTENT, report.bytes).into_response();
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {}-{}/{}", want.start, want.end - 1, id.len)) {
            r.headers_mut().insert(header::CONTENT_RANGE, v);
        }
        r
    } else {
        (StatusCode::OK, report.bytes).into_response()
    };
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert("beat-bytes-fetched", HeaderValue::from(report.bytes_fetched));
    h.insert("beat-nodes-contacted", HeaderValue::from(report.nodes_contacted as u64));
    response
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn blob_ids_round_trip_and_refuse_junk() {
        let id = BlobId { value: ValueId { epoch: 7, proposer: 3 }, start: 40, len: 1000 };
        assert_eq!(id.to_string().parse::<BlobId>(), Ok(id));
        for bad in ["", "1-2-3", "1-2-3-4-5", "a-2-3-4", "1-2-18446744073709551615-1", "1-70000-0-1"] {
            assert!(bad.parse::<BlobId>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn range_headers() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::RANGE, HeaderValue::from_str(v).unwrap());
            m
        };
        assert_eq!(parse_range(&HeaderMap::new(), 10), Ok(None));
        assert_eq!(parse_range(&h("bytes=0-0"), 10), Ok(Some(0..1)));
        assert_eq!(parse_range(&h("bytes=2-"), 10), Ok(Some(2..10)));
        assert_eq!(parse_range(&h("bytes=-3"), 10), Ok(Some(7..10)));
        assert_eq!(parse_range(&h("bytes=5-99"), 10), Ok(Some(5..10)));
        assert_eq!(parse_range(&h("bytes=10-"), 10), Err(true));
        for bad in ["bytes=3-1", "bytes=a-b", "items=0-1", "bytes=0-1,3-4", "bytes=-"] {
            assert_eq!(parse_range(&h(bad), 10), Err(false), "{bad}");
        }
    }
}
