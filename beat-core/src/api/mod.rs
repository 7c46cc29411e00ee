//! The daemon's client API over HTTP/JSON (axum), with an OpenAPI 3 document generated from
//! the handlers ([`ApiDoc`], served at `/v1/openapi.json`, checked in as `docs/openapi.json`).
//!
//! | Method and path | What it does |
//! |---|---|
//! | `GET /healthz` | `200 ok` while the node runs (no authentication) |
//! | `GET /readyz` | `200` once the node rejoined and is caught up with the committee, else `503` (no authentication) |
//! | `GET /v1/status` | the node's status as JSON |
//! | `GET /v1/encryption-key` | the committee's public keys (what a BEAT2 client encrypts under; compare across `f + 1` members) |
//! | `POST /v1/transactions` | submit one or many transactions; an id per transaction |
//! | `GET /v1/transactions/{id}` | `pending`, `committed` (epoch, position) or `unknown` |
//! | `GET /v1/epochs/{epoch}` | a committed epoch |
//! | `GET /v1/commits?from=E` | the committed log as Server-Sent Events from epoch `E`, resumable with `Last-Event-ID` |
//! | `GET /v1/kv/{key}` | the key-value app's value of `key` |
//! | `PUT /v1/blobs` | store the body (BEAT3/4); `201` once it committed, with its id |
//! | `GET /v1/blobs/{id}` | a blob, read from the committee's fragments; `Range: bytes=…` is a range read (`206`) |
//! | `GET /v1/openapi.json` | this API's OpenAPI 3 document |
//!
//! **Access control.** With a token file ([`Tokens`]) every request but `/healthz` and
//! `/readyz` needs `Authorization: Bearer <token>` (`401` otherwise); each token has a request
//! budget per second (`429` with `Retry-After` beyond). The file holds only hashes of tokens;
//! tokens never reach a log. Without a token file the daemon serves the API on loopback only.
//!
//! **Ids.** A transaction's id is the hex SHA-256-based digest BEAT de-duplicates it by
//! ([`crate::beat::transaction_digest`]; BEAT2: of its `(client, seq)` identity). A blob id,
//! `<epoch>-<proposer>-<start>-<length>`, names where the blob lies: bytes `start..start +
//! length` of the value node `proposer` dispersed in `epoch`; a read returns exactly those
//! committed bytes or an error. Each blob is stored with 16 random bytes before it, so storing
//! the same bytes twice stores two blobs (identical transactions would be de-duplicated).
//!
//! Errors are JSON `{"error": "…"}` with the status code that says what to do: `400` malformed
//! input, `401` no or a wrong token, `404` unknown, `409` wrong kind of committee, `413` too
//! large, `416` range outside the blob, `422` refused by the application, `429` busy (with
//! `Retry-After`), `503` not enough holders answered or the node stopped, `504` no commit or
//! answer in time.

pub mod client;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{OpenApi, ToSchema};

use crate::app::ConsensusApp;
use crate::beat::{Batch, ReadError, ValueId};
use crate::crypto::hash::tagged_hash;
use crate::driver::{BeatNode, CommitListener, PutFailure, ReadFailure, Status, SubmitError};

/// Random bytes stored before each blob (see the module doc).
pub const BLOB_NONCE: usize = 16;

/// Blob requests (puts and reads) served at once.
pub const MAX_BLOB_REQUESTS: usize = 32;

/// Transactions per `POST /v1/transactions`.
pub const MAX_BATCH: usize = 1000;

/// `POST /v1/transactions` requests served at once.
pub const MAX_SUBMIT_REQUESTS: usize = 64;

/// Commit streams (`GET /v1/commits`) open at once.
pub const MAX_STREAMS: usize = 64;

/// The token a request authenticated with (a request extension).
#[derive(Clone, Debug)]
struct TokenName(String);

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

/// How the API runs.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// Largest request body (a blob, or a batch of transactions in JSON).
    pub max_body: usize,
    /// Waits for commits and reads.
    pub timeouts: ApiTimeouts,
    /// Bearer tokens; `None`: no authentication (loopback only).
    pub tokens: Option<Arc<Tokens>>,
    /// Requests per second per token (a burst of twice that).
    pub requests_per_second: u32,
    /// Epochs behind the committee a node may be and still answer `/readyz` with `200`.
    pub ready_lag: u64,
}

impl ApiConfig {
    /// Defaults: no tokens, 200 requests per second per token, ready within 5 epochs.
    pub fn new(max_body: usize) -> Self {
        ApiConfig { max_body, timeouts: ApiTimeouts::default(), tokens: None, requests_per_second: 200, ready_lag: 5 }
    }
}

/// A file of API tokens, stored as hashes: one `name:hex` per line (`#` starts a comment),
/// `hex` being [`Tokens::hash`] of the token. `beat client token NAME` makes a token and its
/// line. The names label rate limits and logs; the tokens themselves are never stored.
pub struct Tokens {
    entries: Vec<(String, [u8; 32])>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.entries.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Tokens").field("names", &names).finish_non_exhaustive()
    }
}

impl Tokens {
    /// The hash a token file stores for `token`.
    pub fn hash(token: &str) -> [u8; 32] {
        tagged_hash("BEAT/api-token", &[token.as_bytes()])
    }

    /// Parse a token file's text; the error names the line.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut entries = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let bad = || format!("line {}: expected `name:<64 hex digits>` (from `beat client token NAME`)", i + 1);
            let (name, hex) = line.rsplit_once(':').ok_or_else(bad)?;
            let bytes = hex::decode(hex.trim()).map_err(|_| bad())?;
            let hash: [u8; 32] = bytes.try_into().map_err(|_| bad())?;
            let name = name.trim();
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c)) {
                return Err(format!("line {}: a token name is letters, digits and - _ . @", i + 1));
            }
            entries.push((name.to_string(), hash));
        }
        if entries.is_empty() {
            return Err("no tokens in the file".into());
        }
        Ok(Tokens { entries })
    }

    /// Load a token file.
    pub fn load(path: &std::path::Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The name of the token `presented` is, if any (compared in constant time per entry).
    pub fn check(&self, presented: &str) -> Option<&str> {
        use subtle::ConstantTimeEq;
        let h = Self::hash(presented);
        let mut found = None;
        for (name, hash) in &self.entries {
            if bool::from(hash.ct_eq(&h)) {
                found = Some(name.as_str());
            }
        }
        found
    }
}

/// What the API knows of the committed log: an index of recent transactions (id → epoch,
/// position), the transactions submitted through it and not yet committed, and the next epoch
/// to commit (for the commit stream). Pass it to the node as its [`CommitListener`].
#[derive(Debug)]
pub struct CommitFeed {
    inner: Mutex<FeedIndex>,
    next_epoch: tokio::sync::watch::Sender<u64>,
}

#[derive(Debug, Default)]
struct FeedIndex {
    committed: HashMap<[u8; 32], (u64, u32)>,
    order: VecDeque<(u64, Vec<[u8; 32]>)>,
    /// Ids in `order` (running total).
    indexed: usize,
    pending: HashMap<[u8; 32], Instant>,
    /// `pending`'s ids, oldest first (evicted first when full; committed ones are skipped).
    pending_order: VecDeque<[u8; 32]>,
}

/// Committed transactions the index remembers (older ones read as `unknown`; their epochs
/// are still in `GET /v1/epochs/{epoch}` while the node keeps them).
const INDEX_TXS: usize = 1_000_000;
/// Submitted, uncommitted transactions remembered as `pending`.
const PENDING_TXS: usize = 100_000;

impl CommitFeed {
    /// A feed whose stream starts at `next_epoch` (the node's next epoch to apply).
    pub fn new(next_epoch: u64) -> Arc<Self> {
        Arc::new(CommitFeed {
            inner: Mutex::new(FeedIndex::default()),
            next_epoch: tokio::sync::watch::channel(next_epoch).0,
        })
    }

    /// The stream's next epoch is at least `epoch` (the node's next epoch after its start:
    /// epochs before its last snapshot are not delivered again).
    pub fn advance_to(&self, epoch: u64) {
        self.next_epoch.send_if_modified(|next| {
            let moved = epoch > *next;
            *next = (*next).max(epoch);
            moved
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FeedIndex> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn submitted(&self, id: [u8; 32]) {
        let mut idx = self.lock();
        // Forget the oldest when full (they read as `unknown` until they commit).
        while idx.pending.len() >= PENDING_TXS || idx.pending_order.len() >= 2 * PENDING_TXS {
            let Some(old) = idx.pending_order.pop_front() else { break };
            idx.pending.remove(&old);
        }
        if idx.pending.insert(id, Instant::now()).is_none() {
            idx.pending_order.push_back(id);
        }
    }

    fn lookup(&self, id: &[u8; 32]) -> TxState {
        let idx = self.lock();
        match (idx.committed.get(id), idx.pending.contains_key(id)) {
            (Some((epoch, position)), _) => TxState::Committed { epoch: *epoch, position: *position },
            (None, true) => TxState::Pending,
            (None, false) => TxState::Unknown,
        }
    }
}

/// The ids of a committed batch's transactions, in order (BEAT2: of their client identities).
pub fn batch_tx_ids(batch: &Batch) -> Vec<[u8; 32]> {
    if batch.client_ids.len() == batch.transactions.len() && !batch.client_ids.is_empty() {
        batch.client_ids.iter().map(|c| c.digest()).collect()
    } else {
        batch.transactions.iter().map(|t| crate::beat::transaction_digest(t)).collect()
    }
}

impl CommitListener for CommitFeed {
    fn on_commit(&self, _epoch: u64, _transactions: &[Vec<u8>]) {}

    fn on_batch(&self, batch: &Batch) {
        let ids = batch_tx_ids(batch);
        {
            let mut idx = self.lock();
            // Replayed epochs (after a restart) are indexed again with the same positions.
            for (pos, id) in ids.iter().enumerate() {
                idx.pending.remove(id);
                idx.committed.insert(*id, (batch.epoch, pos as u32));
            }
            idx.indexed += ids.len();
            idx.order.push_back((batch.epoch, ids));
            while idx.indexed > INDEX_TXS {
                let Some((e, old)) = idx.order.pop_front() else { break };
                idx.indexed -= old.len();
                for id in old {
                    if idx.committed.get(&id).is_some_and(|(at, _)| *at == e) {
                        idx.committed.remove(&id);
                    }
                }
            }
        }
        self.advance_to(batch.epoch + 1);
    }
}

/// Several commit listeners as one (the daemon's commit log and the API's feed).
pub struct Fanout(pub Vec<Arc<dyn CommitListener>>);

impl std::fmt::Debug for Fanout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Fanout({} listeners)", self.0.len())
    }
}

impl CommitListener for Fanout {
    fn on_commit(&self, epoch: u64, transactions: &[Vec<u8>]) {
        for l in &self.0 {
            l.on_commit(epoch, transactions);
        }
    }

    fn on_batch(&self, batch: &Batch) {
        for l in &self.0 {
            l.on_batch(batch);
        }
    }
}

/// A transaction's state ([`TxStatus`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TxState {
    Pending,
    Committed { epoch: u64, position: u32 },
    Unknown,
}

struct Api<A: ConsensusApp> {
    node: Arc<BeatNode<A>>,
    config: ApiConfig,
    feed: Arc<CommitFeed>,
    kv: Option<KvLookup<A>>,
    /// Blob requests in flight (each may hold a blob's bytes): more get `429`.
    busy: tokio::sync::Semaphore,
    /// Transaction submissions in flight (each holds its body).
    submits: tokio::sync::Semaphore,
    /// Commit streams open.
    streams: Arc<tokio::sync::Semaphore>,
    /// Per token name: (tokens left, last refill).
    budgets: Mutex<HashMap<String, (f64, Instant)>>,
}

/// How `GET /v1/kv/{key}` reads the application's state.
pub type KvLookup<A> = fn(&A, &str) -> Option<String>;

impl<A: ConsensusApp> Api<A> {
    /// The token name of an authenticated request within its budget (`None` without tokens);
    /// else the response.
    #[allow(clippy::result_large_err)]
    fn authorize(&self, headers: &HeaderMap) -> Result<Option<String>, Response> {
        let Some(tokens) = &self.config.tokens else { return Ok(None) };
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.get(..7).filter(|p| p.eq_ignore_ascii_case("bearer ")).and_then(|_| v.get(7..)))
            .map(str::trim);
        let Some(name) = presented.and_then(|t| tokens.check(t)) else {
            let mut r =
                error(StatusCode::UNAUTHORIZED, "missing or unknown bearer token (Authorization: Bearer <token>)");
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"beat\""));
            return Err(r);
        };
        self.charge(name, 1)?;
        Ok(Some(name.to_string()))
    }

    /// Take `units` from token `name`'s budget (a request is one unit, and each transaction
    /// of a submission one more).
    #[allow(clippy::result_large_err)]
    fn charge(&self, name: &str, units: usize) -> Result<(), Response> {
        let rate = f64::from(self.config.requests_per_second.max(1));
        let mut budgets = self.budgets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        let (left, last) = budgets.entry(name.to_string()).or_insert((2.0 * rate, now));
        *left = (*left + now.duration_since(*last).as_secs_f64() * rate).min(2.0 * rate);
        *last = now;
        if *left < units as f64 {
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                format!("token {name:?} is over its {rate} requests and transactions per second"),
            );
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return Err(r);
        }
        *left -= units as f64;
        Ok(())
    }
}

/// A body that could not be read: over the limit (`413`), or cut short (`400`).
/// A body that could not be read: over the limit (`413`), or cut short (`400`).
fn body_error(e: &axum::Error, max: usize) -> Response {
    if e.to_string().contains("length limit") {
        error(StatusCode::PAYLOAD_TOO_LARGE, format!("the body exceeds the limit of {max} bytes"))
    } else {
        error(StatusCode::BAD_REQUEST, format!("the body could not be read: {e}"))
    }
}

fn too_busy(what: &str, max: usize) -> Response {
    let mut r = error(StatusCode::TOO_MANY_REQUESTS, format!("{max} {what} are in flight; try again shortly"));
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

/// The API's routes over `node`, fed by `feed` (which must be the node's commit listener;
/// see [`CommitFeed`]); `kv` reads the key-value app's state for `GET /v1/kv/{key}`.
pub fn router<A: ConsensusApp>(
    node: Arc<BeatNode<A>>,
    config: ApiConfig,
    feed: Arc<CommitFeed>,
    kv: Option<KvLookup<A>>,
) -> Router {
    let max_body = config.max_body;
    let state = Arc::new(Api {
        node,
        config,
        feed,
        kv,
        busy: tokio::sync::Semaphore::new(MAX_BLOB_REQUESTS),
        submits: tokio::sync::Semaphore::new(MAX_SUBMIT_REQUESTS),
        streams: Arc::new(tokio::sync::Semaphore::new(MAX_STREAMS)),
        budgets: Mutex::new(HashMap::new()),
    });
    Router::new()
        .route("/healthz", get(healthz::<A>))
        .route("/readyz", get(readyz::<A>))
        .route("/v1/openapi.json", get(openapi::<A>))
        .route("/v1/status", get(status::<A>))
        .route("/v1/encryption-key", get(encryption_key::<A>))
        .route("/v1/transactions", post(submit::<A>))
        .route("/v1/transactions/{id}", get(transaction::<A>))
        .route("/v1/epochs/{epoch}", get(epoch::<A>))
        .route("/v1/commits", get(commits::<A>))
        .route("/v1/kv/{key}", get(kv_get::<A>))
        .route("/v1/blobs", put(put_blob::<A>))
        .route("/v1/blobs/{id}", get(get_blob::<A>))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn_with_state(state.clone(), access::<A>))
        .with_state(state)
}

/// Every route but the probes needs a valid token within its budget (when tokens are set).
async fn access<A: ConsensusApp>(
    State(api): State<Arc<Api<A>>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut request = request;
    if !matches!(request.uri().path(), "/healthz" | "/readyz") {
        match api.authorize(request.headers()) {
            Ok(Some(name)) => {
                request.extensions_mut().insert(TokenName(name));
            }
            Ok(None) => {}
            Err(r) => return r,
        }
    }
    next.run(request).await
}

/// Connections served at once (more are closed at once).
pub const MAX_CONNECTIONS: usize = 256;
/// A request's headers must arrive within this (a slow-header client loses its connection).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Serve `router` on `listener` until the process ends: HTTP/1.1, at most
/// [`MAX_CONNECTIONS`] connections, each request's headers within [`HEADER_READ_TIMEOUT`]
/// (also while a kept-alive connection idles).
pub async fn serve(listener: tokio::net::TcpListener, router: Router) -> std::io::Result<()> {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Out of descriptors or a reset before accept: try again shortly.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let _slot = slot;
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT);
            let _ = http.serve_connection(hyper_util::rt::TokioIo::new(stream), service).await;
        });
    }
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
                            tracing::error!(error = %e, "the client API stopped");
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

/// An error: what went wrong, in words that say what to fix.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// The problem.
    pub error: String,
}

/// `GET /healthz`.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "The node runs", body = String),
              (status = 503, description = "The node stopped", body = ErrorBody)))]
async fn healthz<A: ConsensusApp>(State(api): State<Arc<Api<A>>>) -> Response {
    match api.node.status().failed {
        None => (StatusCode::OK, "ok\n").into_response(),
        Some(why) => error(StatusCode::SERVICE_UNAVAILABLE, format!("node stopped: {why}")),
    }
}

/// Whether a node with this status serves the committee's current state: it rejoined (its
/// fence is known) and is within `lag` epochs of what `f + 1` peers reached.
pub fn is_ready(s: &Status, lag: u64) -> Result<(), String> {
    if let Some(why) = &s.failed {
        return Err(format!("node stopped: {why}"));
    }
    let Some(fence) = s.rejoin_fence else { return Err("rejoining: asking the peers where to resume".into()) };
    if s.epoch < fence {
        return Err(format!("catching up to the rejoin fence: epoch {} of {fence}", s.epoch));
    }
    if s.epoch.saturating_add(lag) < s.committee_epoch {
        return Err(format!("catching up: epoch {} of the committee's {}", s.epoch, s.committee_epoch));
    }
    Ok(())
}

/// `GET /readyz`.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, description = "Rejoined and caught up with the committee", body = String),
              (status = 503, description = "Not ready, and why", body = ErrorBody)))]
async fn readyz<A: ConsensusApp>(State(api): State<Arc<Api<A>>>) -> Response {
    match is_ready(&api.node.status(), api.config.ready_lag) {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(why) => error(StatusCode::SERVICE_UNAVAILABLE, why),
    }
}

/// `GET /v1/openapi.json`.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "meta", security(("bearer" = [])),
    responses((status = 200, description = "This document", body = Object),
              (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn openapi<A: ConsensusApp>(State(_api): State<Arc<Api<A>>>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], openapi_json()).into_response()
}

/// The OpenAPI document as served (pretty JSON, a final newline).
pub fn openapi_json() -> String {
    let mut doc = ApiDoc::openapi().to_pretty_json().unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    doc.push('\n');
    doc
}

/// The status as JSON (also what `beat client status` prints).
pub fn status_json(s: &Status) -> serde_json::Value {
    let f = &s.fragments;
    json!({
        "epoch": s.epoch,
        "committee_epoch": s.committee_epoch,
        "committed_txs": s.committed_txs,
        "buffered": s.buffered,
        "submit_queue": s.submit_queue,
        "peers_connected": s.peers_connected,
        "links": s.links.iter().map(|l| json!({
            "peer": l.peer, "transport": l.transport.name(), "up": l.up, "connects": l.connects,
            "failures": l.failures, "rtt_ms": l.rtt_ms, "in_flight_bytes": l.in_flight_bytes,
        })).collect::<Vec<_>>(),
        "connections_refused": s.connections_refused,
        "duplicates_dropped": s.duplicates_dropped,
        "queue_frames_dropped": s.queue_frames_dropped,
        "frames_dropped": s.frames_dropped,
        "submits_refused": s.submits_refused,
        "wal_records": s.wal_records,
        "wal_retained": s.wal_retained,
        "faults": s.faults,
        "caught_up_epochs": s.caught_up_epochs,
        "frames_resent": s.frames_resent,
        "rejoin_fence": s.rejoin_fence,
        "failed": s.failed,
        "store_bytes": s.store_bytes,
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

/// `GET /v1/status`.
#[utoipa::path(get, path = "/v1/status", tag = "node", security(("bearer" = [])),
    responses((status = 200, description = "Epoch, peers and links, queue, WAL, faults, fragment upkeep", body = Object),
              (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn status<A: ConsensusApp>(State(api): State<Arc<Api<A>>>) -> Response {
    Json(status_json(&api.node.status())).into_response()
}

/// The committee's public keys, what a BEAT2 client encrypts under
/// ([`crate::keystore::CommitteeKeys`]), with their digest.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EncryptionKeyBody {
    /// The committee's variant.
    pub variant: String,
    /// Compare it across `f + 1` members before trusting the keys.
    pub digest: String,
    /// `CommitteeKeys` (session, n, f, consensus settings, coin and encryption public keys).
    #[schema(value_type = Object)]
    pub keys: serde_json::Value,
}

/// `GET /v1/encryption-key`.
#[utoipa::path(get, path = "/v1/encryption-key", tag = "transactions", security(("bearer" = [])),
    responses((status = 200, description = "The committee's public keys (a BEAT2 client: Client::new(keys.to_public()?, id)); \
        fetch them from f + 1 members and compare the digests", body = EncryptionKeyBody),
              (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn encryption_key<A: ConsensusApp>(State(api): State<Arc<Api<A>>>) -> Response {
    let public = api.node.public_keys();
    let keys = crate::keystore::CommitteeKeys::from_public(public);
    let body = EncryptionKeyBody {
        variant: public.settings.variant.name().to_string(),
        digest: keys.digest(),
        keys: serde_json::to_value(&keys).unwrap_or_default(),
    };
    Json(body).into_response()
}

/// `POST /v1/transactions`: one or many transactions.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SubmitRequest {
    /// The transactions (at most 1000): UTF-8 text, or base64 with `"encoding": "base64"`
    /// (BEAT2: the client ciphertexts).
    pub transactions: Vec<String>,
    /// `utf8` (default) or `base64`.
    #[serde(default)]
    pub encoding: Option<Encoding>,
}

/// How the transactions of a [`SubmitRequest`] are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// UTF-8 text, as is.
    Utf8,
    /// Base64 (standard alphabet, padded).
    Base64,
}

/// One transaction's fate at submission.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SubmitResult {
    /// Its id (hex), for `GET /v1/transactions/{id}`.
    pub id: Option<String>,
    /// Whether it was queued for the protocol.
    pub accepted: bool,
    /// Why not.
    pub error: Option<String>,
}

/// The answer to `POST /v1/transactions`, in request order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SubmitResponse {
    /// One per transaction.
    pub results: Vec<SubmitResult>,
}

fn submit_error_code(e: &SubmitError) -> StatusCode {
    match e {
        SubmitError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        SubmitError::QueueFull(_) => StatusCode::TOO_MANY_REQUESTS,
        SubmitError::Stopped => StatusCode::SERVICE_UNAVAILABLE,
        SubmitError::Invalid(_) | SubmitError::NotClientEncrypted(_) => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// The id BEAT gives a submitted transaction (BEAT2: of the ciphertext's client identity).
fn submitted_id(tx: &[u8], client_encrypted: bool) -> [u8; 32] {
    if client_encrypted {
        if let Ok(c) = crate::beat::client::ClientTransaction::decode(tx, tx.len()) {
            return c.id().digest();
        }
    }
    crate::beat::transaction_digest(tx)
}

/// `POST /v1/transactions`.
#[utoipa::path(post, path = "/v1/transactions", tag = "transactions", security(("bearer" = [])),
    request_body = SubmitRequest,
    responses((status = 202, description = "At least one was queued; a result per transaction", body = SubmitResponse),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 413, description = "Over the committee's max_tx_size or the body limit", body = ErrorBody),
              (status = 422, description = "Refused by the application's validate (BEAT2: not a client ciphertext)", body = ErrorBody),
              (status = 429, description = "The submit queue is full (Retry-After)", body = ErrorBody),
              (status = 503, body = ErrorBody)))]
async fn submit<A: ConsensusApp>(State(api): State<Arc<Api<A>>>, request: axum::extract::Request) -> Response {
    // The permit first: at most MAX_SUBMIT_REQUESTS bodies are held at once.
    let Ok(_permit) = api.submits.try_acquire() else {
        return too_busy("transaction submissions", MAX_SUBMIT_REQUESTS);
    };
    let token = request.extensions().get::<TokenName>().cloned();
    let body = match axum::body::to_bytes(request.into_body(), api.config.max_body).await {
        Ok(b) => b,
        Err(e) => return body_error(&e, api.config.max_body),
    };
    let req: SubmitRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("body: expected {{\"transactions\": [\"…\"]}}: {e}")),
    };
    if req.transactions.is_empty() || req.transactions.len() > MAX_BATCH {
        return error(StatusCode::BAD_REQUEST, format!("transactions: give 1 to {MAX_BATCH}"));
    }
    if let Some(TokenName(name)) = &token {
        if let Err(r) = api.charge(name, req.transactions.len()) {
            return r;
        }
    }
    // The checks (BEAT2: a proof per ciphertext) run off the async threads.
    let worker = api.clone();
    match tokio::task::spawn_blocking(move || submit_all(&worker, &req)).await {
        Ok(r) => r,
        Err(_) => error(StatusCode::SERVICE_UNAVAILABLE, "the submission was cancelled"),
    }
}

/// Submit each transaction of `req` to the node, answering per transaction.
fn submit_all<A: ConsensusApp>(api: &Api<A>, req: &SubmitRequest) -> Response {
    let base64 = req.encoding == Some(Encoding::Base64);
    let client_encrypted = api.node.public_keys().settings.variant.client_encrypted();
    let mut results = Vec::with_capacity(req.transactions.len());
    let mut first_error: Option<(StatusCode, String)> = None;
    for (i, t) in req.transactions.iter().enumerate() {
        let tx = if base64 {
            match base64::engine::general_purpose::STANDARD.decode(t) {
                Ok(b) => b,
                Err(e) => {
                    let msg = format!("transactions[{i}]: not base64: {e}");
                    first_error.get_or_insert((StatusCode::BAD_REQUEST, msg.clone()));
                    results.push(SubmitResult { id: None, accepted: false, error: Some(msg) });
                    continue;
                }
            }
        } else {
            t.as_bytes().to_vec()
        };
        let id = submitted_id(&tx, client_encrypted);
        match api.node.submit(tx) {
            Ok(()) => {
                api.feed.submitted(id);
                results.push(SubmitResult { id: Some(hex::encode(id)), accepted: true, error: None });
            }
            Err(e) => {
                first_error.get_or_insert((submit_error_code(&e), format!("transactions[{i}]: {e}")));
                results.push(SubmitResult { id: Some(hex::encode(id)), accepted: false, error: Some(e.to_string()) });
            }
        }
    }
    if results.iter().any(|r| r.accepted) {
        return (StatusCode::ACCEPTED, Json(SubmitResponse { results })).into_response();
    }
    let (code, msg) = first_error.unwrap_or((StatusCode::BAD_REQUEST, "nothing submitted".into()));
    // A full queue wins over other refusals: the client should retry.
    let queue_full = results.iter().any(|r| r.error.as_deref().is_some_and(|e| e.starts_with("submit queue full")));
    let code = if queue_full { StatusCode::TOO_MANY_REQUESTS } else { code };
    let mut r = error(code, msg);
    if code == StatusCode::TOO_MANY_REQUESTS {
        r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    r
}

/// A transaction's state.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TxStatus {
    /// Its id.
    pub id: String,
    /// `pending` (submitted here, not committed yet), `committed` or `unknown`.
    pub state: String,
    /// Committed: the epoch.
    pub epoch: Option<u64>,
    /// Committed: its position in the epoch's transactions.
    pub position: Option<u32>,
}

#[allow(clippy::result_large_err)] // a response, returned at once
fn parse_id(id: &str) -> Result<[u8; 32], Response> {
    hex::decode(id)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| error(StatusCode::BAD_REQUEST, format!("transaction id {id:?} is not 64 hex digits")))
}

/// `GET /v1/transactions/{id}`.
#[utoipa::path(get, path = "/v1/transactions/{id}", tag = "transactions", security(("bearer" = [])),
    params(("id" = String, Path, description = "The id POST /v1/transactions returned (64 hex digits)", pattern = "^[0-9a-fA-F]{64}$")),
    responses((status = 200, body = TxStatus), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 429, body = ErrorBody)))]
async fn transaction<A: ConsensusApp>(State(api): State<Arc<Api<A>>>, Path(id): Path<String>) -> Response {
    let digest = match parse_id(&id) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let body = match api.feed.lookup(&digest) {
        TxState::Pending => TxStatus { id, state: "pending".into(), epoch: None, position: None },
        TxState::Committed { epoch, position } => {
            TxStatus { id, state: "committed".into(), epoch: Some(epoch), position: Some(position) }
        }
        TxState::Unknown => TxStatus { id, state: "unknown".into(), epoch: None, position: None },
    };
    Json(body).into_response()
}

/// A committed transaction.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TxBody {
    /// Its id.
    pub id: String,
    /// Its bytes as text, when they are UTF-8.
    pub text: Option<String>,
    /// Its bytes, base64.
    pub base64: String,
}

/// BEAT3/4: a value committed in the epoch.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StoredBody {
    /// Who dispersed it.
    pub proposer: u64,
    /// Bytes of each fragment.
    pub fragment_size: u64,
}

/// A committed epoch.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EpochBody {
    /// The epoch.
    pub epoch: u64,
    /// Proposers whose contributions were accepted.
    pub proposers: Vec<u64>,
    /// Its transactions, in order.
    pub transactions: Vec<TxBody>,
    /// BEAT3/4: its stored values.
    pub stored: Vec<StoredBody>,
}

/// The JSON of a committed batch.
pub fn epoch_body(b: &Batch) -> EpochBody {
    let ids = batch_tx_ids(b);
    EpochBody {
        epoch: b.epoch,
        proposers: b.proposers.iter().map(|p| *p as u64).collect(),
        transactions: b
            .transactions
            .iter()
            .zip(ids)
            .map(|(t, id)| TxBody {
                id: hex::encode(id),
                text: std::str::from_utf8(t).ok().map(str::to_string),
                base64: base64::engine::general_purpose::STANDARD.encode(t),
            })
            .collect(),
        stored: b
            .stored
            .iter()
            .map(|v| StoredBody { proposer: v.proposer as u64, fragment_size: v.fragment_size })
            .collect(),
    }
}

/// `GET /v1/epochs/{epoch}`.
#[utoipa::path(get, path = "/v1/epochs/{epoch}", tag = "commits", security(("bearer" = [])),
    params(("epoch" = u64, Path, description = "A committed epoch", maximum = 9_223_372_036_854_775_807_u64)),
    responses((status = 200, body = EpochBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, description = "Not committed here (yet), or pruned", body = ErrorBody),
              (status = 429, body = ErrorBody), (status = 503, description = "The store could not be read", body = ErrorBody)))]
async fn epoch<A: ConsensusApp>(State(api): State<Arc<Api<A>>>, Path(epoch): Path<String>) -> Response {
    let Some(e) = epoch.parse::<u64>().ok().filter(|e| i64::try_from(*e).is_ok()) else {
        return error(StatusCode::BAD_REQUEST, format!("epoch {epoch:?} is not a number from 0 to 2^63 - 1"));
    };
    match api.node.committed(e) {
        Ok(Some(b)) => Json(epoch_body(&b)).into_response(),
        Ok(None) => {
            error(StatusCode::NOT_FOUND, format!("epoch {e} is not in this node's log (not committed yet, or pruned)"))
        }
        Err(why) => error(StatusCode::SERVICE_UNAVAILABLE, why),
    }
}

/// `GET /v1/commits` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CommitsQuery {
    /// The first epoch to send (default: the next one to commit). `Last-Event-ID: E` resumes
    /// at `E + 1` and wins over `from`.
    #[param(required = false, nullable = false, maximum = 9_223_372_036_854_775_807_u64)]
    pub from: Option<u64>,
}

/// `GET /v1/commits`: Server-Sent Events, one per committed epoch (`id:` the epoch, `data:` an
/// `EpochBody`), from `from` on, for as long as the client listens.
#[utoipa::path(get, path = "/v1/commits", tag = "commits", security(("bearer" = [])),
    params(CommitsQuery, ("Last-Event-ID" = Option<u64>, Header, description = "The last epoch received: resume after it")),
    responses((status = 200, description = "text/event-stream of EpochBody, event id = epoch", content_type = "text/event-stream", body = String),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn commits<A: ConsensusApp>(
    State(api): State<Arc<Api<A>>>,
    headers: HeaderMap,
    query: Result<Query<CommitsQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Some(Query(query)) = query.ok().filter(|Query(q)| q.from.is_none_or(|f| i64::try_from(f).is_ok())) else {
        return error(StatusCode::BAD_REQUEST, "from: expected an epoch number from 0 to 2^63 - 1");
    };
    let resume = match headers.get("last-event-id").map(|v| v.to_str().map(|s| s.trim().parse::<u64>())) {
        None => None,
        Some(Ok(Ok(e))) => Some(e.saturating_add(1)),
        Some(_) => return error(StatusCode::BAD_REQUEST, "Last-Event-ID: expected an epoch number"),
    };
    let Ok(slot) = api.streams.clone().try_acquire_owned() else {
        return too_busy("commit streams", MAX_STREAMS);
    };
    let next = *api.feed.next_epoch.borrow();
    let from = resume.or(query.from).unwrap_or(next);
    let watch = api.feed.next_epoch.subscribe();
    let node = api.node.clone();
    // The slot goes with the stream: freed when the client goes away.
    let stream = futures::stream::unfold((from, watch, node, slot), |(at, mut watch, node, slot)| async move {
        loop {
            if at < *watch.borrow() {
                // Store reads and encoding off the async threads.
                let reader = node.clone();
                let read = tokio::task::spawn_blocking(move || reader.committed(at).map(|b| b.map(|b| epoch_body(&b))))
                    .await
                    .unwrap_or_else(|_| Err("cancelled".into()));
                let ev = match read {
                    Ok(Some(body)) => {
                        let data = serde_json::to_string(&body).unwrap_or_default();
                        SseEvent::default().id(at.to_string()).event("commit").data(data)
                    }
                    Ok(None) => {
                        // Pruned from this node's log: say so and go on from what it holds (the
                        // id lets a client resume after the gap).
                        let first = node.committed_range().ok().flatten().map_or(at + 1, |(lo, _)| lo.max(at + 1));
                        let ev = SseEvent::default()
                            .id((first - 1).to_string())
                            .event("gap")
                            .data(format!("{{\"missing_from\":{at},\"resumes_at\":{first}}}"));
                        return Some((Ok::<_, std::convert::Infallible>(ev), (first, watch, node, slot)));
                    }
                    Err(why) => {
                        // Say why before closing (a client resumes with Last-Event-ID).
                        let ev = SseEvent::default().event("error").data(json!({ "error": why }).to_string());
                        return Some((Ok(ev), (u64::MAX, watch, node, slot)));
                    }
                };
                return Some((Ok(ev), (at + 1, watch, node, slot)));
            }
            if at == u64::MAX || watch.changed().await.is_err() {
                return None;
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}

/// A key's value.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KvBody {
    /// The key.
    pub key: String,
    /// Its value.
    pub value: String,
}

/// `GET /v1/kv/{key}`.
#[utoipa::path(get, path = "/v1/kv/{key}", tag = "kv", security(("bearer" = [])),
    params(("key" = String, Path, description = "A key of the key-value app")),
    responses((status = 200, body = KvBody), (status = 401, body = ErrorBody),
              (status = 404, description = "No such key (or the node runs no key-value app)", body = ErrorBody),
              (status = 429, body = ErrorBody)))]
async fn kv_get<A: ConsensusApp>(State(api): State<Arc<Api<A>>>, Path(key): Path<String>) -> Response {
    let Some(lookup) = api.kv else { return error(StatusCode::NOT_FOUND, "this node runs no key-value app") };
    match api.node.with_app(|a| lookup(a, &key)).flatten() {
        Some(value) => Json(KvBody { key, value }).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("no key {key:?}")),
    }
}

/// `201` to `PUT /v1/blobs`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BlobCreated {
    /// The blob's id, for `GET /v1/blobs/{id}`.
    pub id: String,
    /// The epoch that committed it.
    pub epoch: u64,
    /// The node whose value holds it.
    pub proposer: u64,
    /// Its bytes.
    pub size: u64,
}

/// `PUT /v1/blobs`.
#[utoipa::path(put, path = "/v1/blobs", tag = "blobs", security(("bearer" = [])),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, description = "Committed", body = BlobCreated), (status = 401, body = ErrorBody),
              (status = 400, body = ErrorBody), (status = 409, description = "Not a storage committee (BEAT3/4)", body = ErrorBody),
              (status = 413, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody), (status = 503, body = ErrorBody),
              (status = 504, description = "Not committed in time", body = ErrorBody)))]
async fn put_blob<A: ConsensusApp>(State(api): State<Arc<Api<A>>>, request: axum::extract::Request) -> Response {
    // The permit first: at most MAX_BLOB_REQUESTS bodies are held at once.
    let Ok(_permit) = api.busy.try_acquire() else { return too_busy("blob requests", MAX_BLOB_REQUESTS) };
    let body = match axum::body::to_bytes(request.into_body(), api.config.max_body).await {
        Ok(b) => b,
        Err(e) => return body_error(&e, api.config.max_body),
    };
    let mut tx = Vec::with_capacity(BLOB_NONCE + body.len());
    tx.extend_from_slice(&rand::random::<[u8; BLOB_NONCE]>());
    tx.extend_from_slice(&body);
    let put = tokio::time::timeout(api.config.timeouts.put, api.node.put_async(tx)).await;
    let stored = match put {
        Err(_) => return error(StatusCode::GATEWAY_TIMEOUT, PutFailure::TimedOut(api.config.timeouts.put)),
        Ok(Err(e)) => return put_error(e),
        Ok(Ok(s)) => s,
    };
    let id = BlobId { value: stored.id, start: stored.range.start + BLOB_NONCE as u64, len: body.len() as u64 };
    let body =
        BlobCreated { id: id.to_string(), epoch: id.value.epoch, proposer: id.value.proposer as u64, size: id.len };
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

/// `GET /v1/blobs/{id}`.
#[utoipa::path(get, path = "/v1/blobs/{id}", tag = "blobs", security(("bearer" = [])),
    params(("id" = String, Path, description = "<epoch>-<proposer>-<start>-<length>, from PUT /v1/blobs", pattern = "^[0-9]{1,20}-[0-9]{1,20}-[0-9]{1,20}-[0-9]{1,20}$"),
           ("Range" = Option<String>, Header, description = "bytes=a-b, bytes=a- or bytes=-n")),
    responses((status = 200, description = "The blob", content_type = "application/octet-stream", body = Vec<u8>),
              (status = 206, description = "The range", content_type = "application/octet-stream", body = Vec<u8>),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 416, body = ErrorBody), (status = 429, body = ErrorBody),
              (status = 503, body = ErrorBody), (status = 504, body = ErrorBody)))]
async fn get_blob<A: ConsensusApp>(
    State(api): State<Arc<Api<A>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let id: BlobId = match id.parse() {
        Ok(id) => id,
        // Well-formed, but no blob can be there (a proposer id past any committee, bytes past
        // the end of any value).
        Err(e)
            if id.split('-').count() == 4
                && id.split('-').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) =>
        {
            return error(StatusCode::NOT_FOUND, e)
        }
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
    let Ok(_permit) = api.busy.try_acquire() else { return too_busy("blob requests", MAX_BLOB_REQUESTS) };
    let in_value = id.start + want.start..id.start + want.end;
    let read =
        tokio::time::timeout(api.config.timeouts.read, api.node.read_report_async(id.value, Some(in_value))).await;
    let report = match read {
        Err(_) => return error(StatusCode::GATEWAY_TIMEOUT, ReadFailure::TimedOut(api.config.timeouts.read)),
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

/// The OpenAPI 3 document of this API.
#[derive(OpenApi)]
#[openapi(
    info(title = "BEAT node client API", description = "Submit, follow and read what a BEAT committee orders and stores."),
    paths(healthz, readyz, openapi, status, encryption_key, submit, transaction, epoch, commits, kv_get, put_blob, get_blob),
    components(schemas(ErrorBody, EncryptionKeyBody, SubmitRequest, Encoding, SubmitResult, SubmitResponse, TxStatus, TxBody, StoredBody, EpochBody, KvBody, BlobCreated)),
    modifiers(&BearerAuth),
)]
#[derive(Debug)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The checked-in document is what the code serves (regenerate it with
    /// `cargo run --release --bin beat -- openapi > docs/openapi.json`).
    #[test]
    fn checked_in_openapi_document_matches_the_code() {
        let served = openapi_json();
        let checked_in = include_str!("../../../docs/openapi.json");
        assert!(
            served == checked_in,
            "docs/openapi.json is stale: run `cargo run --release --bin beat -- openapi > docs/openapi.json`"
        );
        let doc: serde_json::Value = serde_json::from_str(&served).unwrap();
        for path in ["/v1/transactions", "/v1/transactions/{id}", "/v1/commits", "/v1/blobs/{id}", "/readyz"] {
            assert!(doc["paths"][path].is_object(), "{path} is documented");
        }
        assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    }

    #[test]
    fn token_files_parse_and_check_in_constant_time_per_entry() {
        let a = Tokens::hash("secret-a");
        let text = format!("# ops\nalice:{}\n\nci-bot:{}  # the CI\n", hex::encode(a), hex::encode(Tokens::hash("b")));
        let t = Tokens::parse(&text).unwrap();
        assert_eq!(t.check("secret-a"), Some("alice"));
        assert_eq!(t.check("b"), Some("ci-bot"));
        assert_eq!(t.check("secret-b"), None);
        assert_eq!(t.check(""), None);
        assert!(!format!("{t:?}").contains(&hex::encode(a)), "Debug shows names, not hashes");
        let bad_name = format!("bad name:{}", hex::encode(a));
        for bad in ["", "# only a comment", "alice", "alice:zz", "alice:00", bad_name.as_str()] {
            assert!(Tokens::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Tokens::parse("x:00").unwrap_err().contains("line 1"));
    }

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
