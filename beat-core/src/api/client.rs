//! A small blocking client of the API (what `beat client` and the tests use): one HTTP/1.1
//! request per connection, `Connection: close`, no TLS (put a TLS proxy in front for other
//! hosts; the Java, Node and Rust examples in `examples/` show the same calls).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// An answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The headers, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body (chunked transfer decoded).
    pub body: Vec<u8>,
}

impl Reply {
    /// A header's value (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Where the API is and how to authenticate.
#[derive(Clone)]
pub struct Client {
    host: String,
    port: u16,
    token: Option<String>,
    /// Read timeout per request.
    pub timeout: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is a secret: never printed.
        f.debug_struct("Client").field("host", &self.host).field("port", &self.port).finish_non_exhaustive()
    }
}

impl Client {
    /// A client of `url` (`http://host:port`, or `host:port`), with a bearer token if given.
    pub fn new(url: &str, token: Option<String>) -> Result<Self, String> {
        let rest = url.strip_prefix("http://").unwrap_or(url);
        if url.starts_with("https://") {
            return Err(format!("{url}: https is not supported by this client; use a TLS proxy's plain side"));
        }
        let rest = rest.trim_end_matches('/');
        let (host, port) = rest.rsplit_once(':').ok_or_else(|| format!("{url}: expected http://host:port"))?;
        let port = port.parse().map_err(|_| format!("{url}: port {port:?} is not a number"))?;
        Ok(Client { host: host.trim_matches(['[', ']']).to_string(), port, token, timeout: Duration::from_secs(180) })
    }

    fn connect(&self, method: &str, path: &str, headers: &[(&str, String)], body: &[u8]) -> std::io::Result<TcpStream> {
        // Nothing a caller passes may end a header line (header injection).
        let bad = |v: &str| v.contains(['\r', '\n']);
        if bad(method)
            || bad(path)
            || self.token.as_deref().is_some_and(bad)
            || headers.iter().any(|(k, v)| bad(k) || bad(v))
        {
            return Err(std::io::Error::other("a request line or header holds a line break"));
        }
        let mut s = TcpStream::connect((self.host.as_str(), self.port))?;
        s.set_read_timeout(Some(self.timeout))?;
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}:{}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.host,
            self.port,
            body.len()
        );
        if let Some(t) = &self.token {
            req.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes())?;
        s.write_all(body)?;
        Ok(s)
    }

    /// One request; the whole answer.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, String)], body: &[u8]) -> std::io::Result<Reply> {
        let mut s = self.connect(method, path, headers, body)?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw)?;
        let end = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| std::io::Error::other("the answer has no header end"))?;
        let (status, headers) = parse_head(&String::from_utf8_lossy(&raw[..end]));
        let body = raw[end + 4..].to_vec();
        let chunked = headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
        let body = if chunked {
            dechunk(&body).ok_or_else(|| std::io::Error::other("the answer's chunked body was cut short"))?
        } else {
            body
        };
        let declared = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("content-length")).map(|(_, v)| v.trim());
        if let Some(len) = declared.and_then(|v| v.parse::<usize>().ok()) {
            if body.len() != len {
                return Err(std::io::Error::other(format!("the answer was cut short: {} of {len} bytes", body.len())));
            }
        }
        Ok(Reply { status, headers, body })
    }

    /// Follow a Server-Sent Events stream: `on_event(id, event, data)` for each event until it
    /// returns `false` or the stream ends. Returns the status code if it was not `200`.
    pub fn events(
        &self,
        path: &str,
        headers: &[(&str, String)],
        mut on_event: impl FnMut(Option<&str>, &str, &str) -> bool,
    ) -> std::io::Result<Option<Reply>> {
        let s = self.connect("GET", path, headers, b"")?;
        let mut r = BufReader::new(s);
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if r.read_line(&mut line)? == 0 || line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let (status, hs) = parse_head(head.trim_end());
        if status != 200 {
            let mut body = Vec::new();
            r.read_to_end(&mut body)?;
            return Ok(Some(Reply { status, headers: hs, body }));
        }
        let chunked = hs.iter().any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
        let body: Box<dyn BufRead> =
            if chunked { Box::new(BufReader::new(Chunked { inner: r, left: 0 })) } else { Box::new(r) };
        let (mut id, mut event, mut data) = (None::<String>, String::from("message"), String::new());
        for line in body.lines() {
            let line = line?;
            let l = line.trim_end_matches('\r');
            if l.is_empty() {
                if !data.is_empty() && !on_event(id.as_deref(), &event, data.trim_end_matches('\n')) {
                    return Ok(None);
                }
                data.clear();
                event = "message".into();
            } else if let Some(v) = l.strip_prefix("data:") {
                data.push_str(v.strip_prefix(' ').unwrap_or(v));
                data.push('\n');
            } else if let Some(v) = l.strip_prefix("id:") {
                id = Some(v.trim().to_string());
            } else if let Some(v) = l.strip_prefix("event:") {
                event = v.trim().to_string();
            }
        }
        Ok(None)
    }
}

/// A reader of an HTTP/1.1 chunked body.
struct Chunked<R: BufRead> {
    inner: R,
    left: usize,
}

impl<R: BufRead> Read for Chunked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            let mut size = String::new();
            // The CRLF ending the previous chunk, then the size line.
            while size.trim().is_empty() {
                size.clear();
                if self.inner.read_line(&mut size)? == 0 {
                    return Ok(0);
                }
            }
            let hex = size.trim().split(';').next().unwrap_or("");
            self.left = usize::from_str_radix(hex, 16).map_err(|_| std::io::Error::other("bad chunk size"))?;
            if self.left == 0 {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.left);
        let got = self.inner.read(&mut buf[..n])?;
        self.left -= got;
        Ok(got)
    }
}

fn parse_head(head: &str) -> (u16, Vec<(String, String)>) {
    let mut lines = head.split("\r\n");
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|c| c.parse().ok()).unwrap_or(0);
    let headers =
        lines.filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))).collect();
    (status, headers)
}

/// A chunked body, decoded; `None` unless it ends with its last (zero-size) chunk.
fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(i) = b.windows(2).position(|w| w == b"\r\n") {
        let line = String::from_utf8_lossy(&b[..i]);
        let len = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16).ok()?;
        if len == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(i + 2..i + 2 + len)?);
        b = b.get(i + 4 + len..)?;
    }
    None
}

/// `segment` percent-encoded for a URL path (everything but unreserved characters).
pub fn path_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn chunked_bodies_must_be_complete() {
        assert_eq!(dechunk(b"3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n").as_deref(), Some(&b"abcde"[..]));
        assert_eq!(dechunk(b"3\r\nabc\r\n"), None, "no last chunk: cut short");
        assert_eq!(dechunk(b"5\r\nab"), None);
        assert_eq!(dechunk(b"zz\r\n"), None);
    }

    #[test]
    fn path_segments_and_header_injection() {
        assert_eq!(path_segment("a b/c?d#e"), "a%20b%2Fc%3Fd%23e");
        assert_eq!(path_segment("key-1.x_~"), "key-1.x_~");
        let c = Client::new("http://127.0.0.1:1", Some("t\r\nX-Evil: 1".into())).unwrap();
        assert!(c.request("GET", "/", &[], b"").unwrap_err().to_string().contains("line break"));
        assert!(format!("{c:?}").contains("127.0.0.1") && !format!("{c:?}").contains("Evil"), "no token in Debug");
        assert!(Client::new("https://x:1", None).is_err());
        assert!(Client::new("http://x", None).is_err());
    }
}
