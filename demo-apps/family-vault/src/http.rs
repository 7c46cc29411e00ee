//! A minimal HTTP/1.1 client for the CLI, which only ever talks to its own phone's vault on
//! loopback (so no TLS, no redirects, no keep-alive).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A response.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Response {
    /// The body as JSON.
    pub fn json(&self) -> Result<serde_json::Value, String> {
        serde_json::from_slice(&self.body)
            .map_err(|e| format!("the vault answered {} with a non-JSON body: {e}", self.status))
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The JSON body of a 2xx, or the error the vault gave.
    pub fn ok_json(&self) -> Result<serde_json::Value, String> {
        if self.status == 413 {
            return Err("the file is larger than the web API takes (256 MiB)".into());
        }
        let v = self.json()?;
        if self.status >= 300 {
            return Err(v["error"].as_str().map_or_else(|| format!("HTTP {}", self.status), str::to_string));
        }
        Ok(v)
    }
}

/// Percent-encode a query value.
pub fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Send one request.
pub fn request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    body: &[u8],
    token: &str,
    timeout: Duration,
) -> Result<Response, String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("cannot reach the vault at {addr} ({e}): is `vault serve` running?"))?;
    s.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    let head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nX-Vault: 1\r\nX-Vault-Token: {token}\r\nConnection: close\r\nContent-Length: {}\r\nContent-Type: application/json\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).and_then(|()| s.write_all(body)).map_err(|e| format!("sending to {addr}: {e}"))?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| format!("reading from {addr}: {e}"))?;
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or("the vault sent no complete HTTP header")?;
    let head = String::from_utf8_lossy(&raw[..end]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or("the vault sent a bad status line")?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':').map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string())))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    if headers.iter().any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked")) {
        body = dechunk(&body)?;
    }
    Ok(Response { status, headers, body })
}

fn dechunk(mut b: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let nl = b.windows(2).position(|w| w == b"\r\n").ok_or("bad chunked body")?;
        let len = usize::from_str_radix(String::from_utf8_lossy(&b[..nl]).split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| "bad chunk size")?;
        b = &b[nl + 2..];
        if len == 0 {
            return Ok(out);
        }
        if b.len() < len.saturating_add(2) {
            return Err("truncated chunked body".into());
        }
        out.extend_from_slice(&b[..len]);
        b = &b[len + 2..];
    }
}
