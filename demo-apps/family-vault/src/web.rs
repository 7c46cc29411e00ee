//! The phone's web UI and its JSON API, served on loopback only.
//!
//! Only this phone's own user reaches it:
//! - it listens on 127.0.0.1 and answers only requests whose `Host` is that address (so a web
//!   page cannot reach it by DNS rebinding);
//! - every request carries the phone's **access token** — a random secret `vault serve` writes
//!   to `<home>/data/web.token` (mode 0600) at each start, so another app or user on the same
//!   device cannot use the API: the CLI sends it as `X-Vault-Token`, the browser gets it once
//!   in the address `vault serve` prints (`/?token=…`), which sets it as an `HttpOnly`,
//!   `SameSite=Strict` cookie;
//! - every request that changes something must also carry `X-Vault: 1`, which a cross-site
//!   form cannot send.
//!
//! | route | what |
//! |---|---|
//! | `GET /` | the UI |
//! | `GET /api/info` | this phone: member, names, variant |
//! | `GET /api/ls` | files (live), folders, trash |
//! | `PUT /api/files?path=…[&base=v][&wait=s]` | upload the body as a new version of `path` |
//! | `GET /api/files?path=…[&version=v]` | download (`Range: bytes=a-b` reads only those chunks) |
//! | `GET /api/versions?path=…` | a file's versions |
//! | `POST /api/op` | `{"op":"mkdir"|"rm"|"mv"|"restore"|"quota"|"retention", …}` |
//! | `GET /api/pending` | this phone's outbox, and its recent results |
//! | `GET /api/outcome?id=…` | what became of an operation |
//! | `GET /api/health` | the health report |

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::dir::{Op, Outcome};
use crate::vault::{Vault, VaultError};

/// Largest upload through the web UI (the staged copy is kept in memory once).
pub const MAX_UPLOAD: usize = 256 << 20;

type Shared = Arc<Vault>;

fn status_of(e: &VaultError) -> StatusCode {
    match e {
        VaultError::NotFound(_) => StatusCode::NOT_FOUND,
        VaultError::Invalid(_) => StatusCode::BAD_REQUEST,
        VaultError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        VaultError::Corrupt(_) | VaultError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

struct ApiError(StatusCode, String);

impl From<VaultError> for ApiError {
    fn from(e: VaultError) -> Self {
        ApiError(status_of(&e), e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, msg.into())
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, ApiError> + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
}

/// The router for `vault`, answering only to `Host: <listen>` (and `localhost:<port>`) and
/// to requests that carry `token`.
pub fn router(vault: Shared, listen: SocketAddr, token: String) -> Router {
    let hosts: Arc<Vec<String>> = Arc::new(vec![listen.to_string(), format!("localhost:{}", listen.port())]);
    let token = Arc::new(token);
    Router::new()
        .route("/", get(index))
        .route("/api/info", get(info))
        .route("/api/ls", get(ls))
        .route("/api/files", get(download).put(upload))
        .route("/api/versions", get(versions))
        .route("/api/op", post(op))
        .route("/api/pending", get(pending))
        .route("/api/outcome", get(outcome))
        .route("/api/health", get(health))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            let (hosts, token) = (hosts.clone(), token.clone());
            async move { guard(&hosts, &token, req, next).await }
        }))
        .with_state(vault)
}

/// Whether `a` and `b` are equal, in time independent of where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn guard(hosts: &[String], token: &str, req: Request, next: Next) -> Response {
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    if !hosts.iter().any(|h| h == host) {
        return ApiError(StatusCode::MISDIRECTED_REQUEST, format!("this vault answers only to {}", hosts[0]))
            .into_response();
    }
    let given = |v: &str| same(v.as_bytes(), token.as_bytes());
    // Cookies ignore ports: one name per phone, so phones on one machine keep their own.
    let cookie = format!("vault_token_{}", hosts[0].rsplit(':').next().unwrap_or("0"));
    let header_ok = req.headers().get("x-vault-token").and_then(|h| h.to_str().ok()).is_some_and(given);
    let cookie_ok = req
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|c| c.split(';'))
        .filter_map(|kv| kv.trim().strip_prefix(cookie.as_str()).and_then(|v| v.strip_prefix('=')))
        .any(given);
    if !header_ok && !cookie_ok {
        // The address `vault serve` printed: trade the token in the query for a cookie.
        let query_token = req.uri().query().and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("token=")));
        if req.uri().path() == "/" && query_token.is_some_and(given) {
            return (
                StatusCode::SEE_OTHER,
                [
                    (header::LOCATION, "/".to_string()),
                    (header::SET_COOKIE, format!("{cookie}={token}; HttpOnly; SameSite=Strict; Path=/")),
                ],
            )
                .into_response();
        }
        return ApiError(
            StatusCode::UNAUTHORIZED,
            "open the address `vault serve` printed (it carries this phone's access token), or send \
             X-Vault-Token from <home>/data/web.token"
                .into(),
        )
        .into_response();
    }
    let changes = !matches!(*req.method(), Method::GET | Method::HEAD);
    if changes && req.headers().get("x-vault").is_none_or(|v| v != "1") {
        return ApiError(StatusCode::FORBIDDEN, "requests that change the vault must carry X-Vault: 1".into())
            .into_response();
    }
    let mut r = next.run(req).await;
    r.headers_mut().insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    r.headers_mut().insert("x-frame-options", HeaderValue::from_static("DENY"));
    r.headers_mut().insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'"),
    );
    r
}

async fn index() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")],
        include_str!("web/index.html"),
    )
}

async fn info(State(v): State<Shared>) -> Json<serde_json::Value> {
    let c = &v.home().config;
    Json(json!({
        "family": c.family,
        "member": c.member,
        "name": c.members.get(usize::from(c.member)),
        "members": c.members,
        "variant": v.home().storage.public.settings.variant.name(),
        "heartbeat_ms": c.heartbeat_ms,
    }))
}

async fn ls(State(v): State<Shared>) -> Result<Json<serde_json::Value>, ApiError> {
    let out = v.with_dir(|d| {
        let mut files = Vec::new();
        let mut trash = Vec::new();
        for (path, e) in &d.files {
            let Some(cur) = &e.current else { continue };
            let item = json!({
                "path": path,
                "version": cur.version,
                "size": cur.content.size,
                "owner": d.members.get(usize::from(cur.owner)),
                "modified_ms": cur.modified_ms,
                "sha256": hex::encode(cur.content.sha256),
                "chunks": cur.content.chunks.len(),
                "versions": e.history.len() + 1,
            });
            match e.trashed {
                None => files.push(item),
                Some((at, by)) => {
                    let mut t = item;
                    t["trashed_ms"] = json!(at);
                    t["trashed_by"] = json!(d.members.get(usize::from(by)));
                    t["purge_ms"] = json!(at.saturating_add(d.retention_ms));
                    trash.push(t);
                }
            }
        }
        json!({ "files": files, "folders": d.folders, "trash": trash, "conflicts": d.conflicts, "epoch": d.applied_epochs })
    })?;
    Ok(Json(out))
}

#[derive(Deserialize)]
struct PutQuery {
    path: String,
    base: Option<u64>,
    /// Seconds to wait for the write to commit (0: return at once with the operation id).
    #[serde(default)]
    wait: u64,
}

async fn upload(State(v): State<Shared>, Query(q): Query<PutQuery>, body: Bytes) -> Result<Response, ApiError> {
    let wait = Duration::from_secs(q.wait.min(600));
    blocking(move || {
        let id = v.put(&q.path, q.base, &body)?;
        Ok(answer(&v, id, wait))
    })
    .await
}

/// 200 with the outcome if the operation committed within `wait`, else 202 with its id.
fn answer(v: &Vault, id: [u8; 16], wait: Duration) -> Response {
    let outcome = if wait.is_zero() { v.outcome(&id) } else { v.wait(&id, wait) };
    match outcome {
        Some(Outcome::Refused(e)) => {
            (StatusCode::CONFLICT, Json(json!({ "id": hex::encode(id), "error": e }))).into_response()
        }
        Some(o) => (StatusCode::OK, Json(json!({ "id": hex::encode(id), "outcome": o }))).into_response(),
        None => (
            StatusCode::ACCEPTED,
            Json(json!({ "id": hex::encode(id), "queued": true, "waiting_for_phones": v.waiting_for_quorum() })),
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
struct GetQuery {
    path: String,
    version: Option<u64>,
}

/// `bytes=a-b`, `bytes=a-` or `bytes=-n` of a file of `size` bytes.
fn parse_range(h: &str, size: u64) -> Option<std::ops::Range<u64>> {
    let spec = h.strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let r = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().ok()?;
            size.saturating_sub(n)..size
        }
        (a, "") => a.parse().ok()?..size,
        (a, b) => a.parse().ok()?..b.parse::<u64>().ok()?.saturating_add(1).min(size),
    };
    (r.start < r.end && r.end <= size).then_some(r)
}

async fn download(
    State(v): State<Shared>,
    Query(q): Query<GetQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let range = headers.get(header::RANGE).and_then(|h| h.to_str().ok()).map(str::to_string);
    blocking(move || {
        let ver = v.version(&q.path, q.version)?;
        let size = ver.content.size;
        let name = q.path.rsplit('/').next().unwrap_or("file");
        // An ASCII fallback and the exact name (RFC 6266 / 5987).
        let ascii: String = name
            .chars()
            .map(|c| if (c.is_ascii_graphic() && c != '"' && c != '\\') || c == ' ' { c } else { '_' })
            .collect();
        let exact: String = name
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b".-_~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        let disposition = format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{exact}");
        let etag = format!("\"v{}\"", ver.version);
        let (status, r) = match range.as_deref() {
            None => (StatusCode::OK, None),
            Some(h) => match parse_range(h, size) {
                Some(r) => (StatusCode::PARTIAL_CONTENT, Some(r)),
                None => {
                    return Ok((
                        StatusCode::RANGE_NOT_SATISFIABLE,
                        [(header::CONTENT_RANGE, format!("bytes */{size}"))],
                    )
                        .into_response())
                }
            },
        };
        let bytes = v.read(&ver, r.clone())?;
        let mut resp = (
            status,
            [
                (header::CONTENT_TYPE, "application/octet-stream".to_string()),
                (header::CONTENT_DISPOSITION, disposition),
                (header::ETAG, etag),
                (header::ACCEPT_RANGES, "bytes".to_string()),
                (header::HeaderName::from_static("x-vault-sha256"), hex::encode(ver.content.sha256)),
            ],
            bytes,
        )
            .into_response();
        if let Some(r) = r {
            if let Ok(h) = HeaderValue::from_str(&format!("bytes {}-{}/{size}", r.start, r.end - 1)) {
                resp.headers_mut().insert(header::CONTENT_RANGE, h);
            }
        }
        Ok(resp)
    })
    .await
}

#[derive(Deserialize)]
struct PathQuery {
    path: String,
}

async fn versions(State(v): State<Shared>, Query(q): Query<PathQuery>) -> Result<Json<serde_json::Value>, ApiError> {
    let out = v.with_dir(|d| {
        d.files.get(&q.path).map(|e| {
            let list: Vec<_> = e
                .history
                .iter()
                .chain(&e.current)
                .rev()
                .map(|x| {
                    json!({
                        "version": x.version,
                        "size": x.content.size,
                        "owner": d.members.get(usize::from(x.owner)),
                        "modified_ms": x.modified_ms,
                        "sha256": hex::encode(x.content.sha256),
                        "current": e.current.as_ref().is_some_and(|c| c.version == x.version) && e.trashed.is_none(),
                    })
                })
                .collect();
            json!({ "path": q.path, "in_trash": e.trashed.is_some(), "versions": list })
        })
    })?;
    out.map(Json).ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("{}: no such file", q.path)))
}

#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
enum OpRequest {
    Mkdir {
        path: String,
        #[serde(default)]
        wait: u64,
    },
    Rm {
        path: String,
        base: u64,
        #[serde(default)]
        wait: u64,
    },
    Mv {
        from: String,
        to: String,
        base: u64,
        #[serde(default)]
        wait: u64,
    },
    Restore {
        path: String,
        version: u64,
        #[serde(default)]
        wait: u64,
    },
    Quota {
        member: u8,
        bytes: u64,
        #[serde(default)]
        wait: u64,
    },
    Retention {
        days: u64,
        #[serde(default)]
        wait: u64,
    },
}

async fn op(State(v): State<Shared>, body: Bytes) -> Result<Response, ApiError> {
    let req: OpRequest = serde_json::from_slice(&body).map_err(|e| bad(format!("bad operation: {e}")))?;
    let (op, wait) = match req {
        OpRequest::Mkdir { path, wait } => (Op::Mkdir { path }, wait),
        OpRequest::Rm { path, base, wait } => (Op::Remove { path, base }, wait),
        OpRequest::Mv { from, to, base, wait } => (Op::Move { from, to, base }, wait),
        OpRequest::Restore { path, version, wait } => (Op::Restore { path, version }, wait),
        OpRequest::Quota { member, bytes, wait } => (Op::SetQuota { member, bytes }, wait),
        OpRequest::Retention { days, wait } => {
            (Op::SetRetention { ms: days.checked_mul(86_400_000).ok_or_else(|| bad("too many days"))? }, wait)
        }
    };
    let wait = Duration::from_secs(wait.min(600));
    blocking(move || {
        let id = v.submit(op)?;
        Ok(answer(&v, id, wait))
    })
    .await
}

async fn pending(State(v): State<Shared>) -> Json<serde_json::Value> {
    let list: Vec<_> = v
        .pending()
        .into_iter()
        .map(|p| {
            let (done, total) = p.progress();
            let (kind, path) = match &p.signed.op {
                Op::Put { path, content, .. } => ("upload", format!("{path} ({} bytes)", content.size)),
                Op::Mkdir { path } => ("mkdir", path.clone()),
                Op::Remove { path, .. } => ("rm", path.clone()),
                Op::Move { from, to, .. } => ("mv", format!("{from} → {to}")),
                Op::Restore { path, version } => ("restore", format!("{path} v{version}")),
                Op::SetQuota { member, bytes } => ("quota", format!("member {member}: {bytes} bytes")),
                Op::SetRetention { ms } => ("retention", format!("{} days", ms / 86_400_000)),
                Op::Heartbeat { .. } => ("heartbeat", String::new()),
            };
            json!({ "id": hex::encode(p.signed.id), "kind": kind, "what": path, "chunks_done": done,
                    "chunks": total, "last_error": p.last_error, "attempts": p.attempts })
        })
        .collect();
    Json(json!({ "pending": list, "waiting_for_phones": v.waiting_for_quorum(), "recent": v.recent() }))
}

#[derive(Deserialize)]
struct IdQuery {
    id: String,
}

async fn outcome(State(v): State<Shared>, Query(q): Query<IdQuery>) -> Result<Json<serde_json::Value>, ApiError> {
    let mut id = [0u8; 16];
    hex::decode_to_slice(&q.id, &mut id).map_err(|e| bad(format!("id: 32 hex digits: {e}")))?;
    let pending = v.pending().iter().any(|p| p.signed.id == id);
    Ok(Json(json!({ "id": q.id, "outcome": v.outcome(&id), "pending": pending })))
}

async fn health(State(v): State<Shared>) -> Result<Json<crate::vault::Health>, ApiError> {
    Ok(Json(blocking(move || v.health().map_err(ApiError::from)).await?))
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Some(0..10));
        assert_eq!(parse_range("bytes=90-", 100), Some(90..100));
        assert_eq!(parse_range("bytes=-5", 100), Some(95..100));
        assert_eq!(parse_range("bytes=50-500", 100), Some(50..100));
        for bad in ["bytes=100-", "bytes=5-1", "items=0-1", "bytes=0-1,3-4", "bytes=x-1", "bytes=-0"] {
            assert_eq!(parse_range(bad, 100), None, "{bad}");
        }
    }
}
