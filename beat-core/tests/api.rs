//! BEAT-API: the daemon's client API on a running 4-node cluster (`beat` processes, BEAT0,
//! bearer tokens):
//!
//! - access control: `401` without or with a wrong token, `/healthz` and `/readyz` open;
//! - bad input gets the right 4xx with a JSON error naming the problem;
//! - 10,000 transactions submitted through the API (to three nodes, in batches) while the
//!   fourth node is killed and restarted: every one committed exactly once, checked through the
//!   commit stream of two nodes and `GET /v1/transactions/{id}`;
//! - the commit stream resumes with `Last-Event-ID`;
//! - the Java (`javac`), Node.js and Rust examples in `examples/api` and
//!   `beat-core/examples/api_client.rs` each submit, follow the stream and read back;
//! - schemathesis fuzzes every operation against the served OpenAPI document (no 5xx, every
//!   response matches the schema), when `BEAT_SCHEMATHESIS` names its executable
//!   (`scripts/test.sh` installs it from PyPI and sets it).
//!
//! Prints `BEAT-API schemathesis_cases=… failures=0 examples=java,node,rust,cli` (`cli`: the `beat client` commands).
#![cfg(feature = "api")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failure here is a test failure

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use beat_core::api::client::Client;

mod common;

const N: usize = 4;
const TXS: usize = 10_000;

struct Cluster {
    d: common::Daemons,
    token: String,
}

impl Cluster {
    fn new(dir: &Path) -> Self {
        let token = hex::encode(rand::random::<[u8; 32]>());
        let line = format!("test-client:{}\n", hex::encode(beat_core::api::Tokens::hash(&token)));
        std::fs::write(dir.join("tokens"), line).unwrap();
        let env = [
            ("BEAT_API_TOKENS", dir.join("tokens").display().to_string()),
            ("BEAT_API_RATE", "100000".to_string()),
            ("BEAT_SNAPSHOT_EVERY", "8".to_string()),
        ];
        Cluster { d: common::Daemons::new(dir, N, &env), token }
    }

    fn url(&self, id: usize) -> String {
        self.d.url(id)
    }

    fn client(&self, id: usize) -> Client {
        Client::new(&self.url(id), Some(self.token.clone())).unwrap()
    }
}

fn wait(what: &str, timeout: Duration, f: impl Fn() -> bool) {
    let end = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn json(r: &beat_core::api::client::Reply) -> serde_json::Value {
    serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", r.text()))
}

/// Status and JSON error of a request.
fn expect_error(c: &Client, method: &str, path: &str, body: &[u8], status: u16, mentions: &str) {
    let r = c.request(method, path, &[("Content-Type", "application/json".into())], body).unwrap();
    assert_eq!(r.status, status, "{method} {path}: {}", r.text());
    let e = json(&r)["error"].as_str().unwrap_or_default().to_string();
    assert!(e.contains(mentions), "{method} {path}: the error {e:?} should mention {mentions:?}");
}

/// Every committed transaction id in the stream of node `id`, epochs `0..until`.
fn stream_ids(c: &Client, until: u64) -> Vec<String> {
    let mut ids = Vec::new();
    let r = c
        .events("/v1/commits?from=0", &[], |id, event, data| {
            assert_eq!(event, "commit", "no gaps in a young log: {data}");
            let v: serde_json::Value = serde_json::from_str(data).unwrap();
            for t in v["transactions"].as_array().unwrap() {
                ids.push(t["id"].as_str().unwrap().to_string());
            }
            id.and_then(|e| e.parse::<u64>().ok()).is_some_and(|e| e + 1 < until)
        })
        .unwrap();
    assert!(r.is_none(), "the stream answered {:?}", r.map(|r| r.text()));
    ids
}

#[test]
fn client_api_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Cluster::new(dir.path());
    for id in 0..N {
        c.d.start(id);
    }
    let api = c.client(0);

    // Access control.
    let anon = Client::new(&c.url(0), None).unwrap();
    let wrong = Client::new(&c.url(0), Some("not-a-token".into())).unwrap();
    for (who, client) in [("no token", &anon), ("a wrong token", &wrong)] {
        let r = client.request("GET", "/v1/status", &[], b"").unwrap();
        assert_eq!(r.status, 401, "{who}: {}", r.text());
        assert!(r.header("www-authenticate").is_some_and(|v| v.starts_with("Bearer")));
    }
    assert_eq!(anon.request("GET", "/healthz", &[], b"").unwrap().status, 200);
    assert_eq!(
        anon.request("GET", "/no/such/route", &[], b"").unwrap().status,
        401,
        "routes are not listed to strangers"
    );
    assert_eq!(anon.request("POST", "/v1/status", &[], b"").unwrap().status, 401);
    wait("node 0 ready", Duration::from_secs(60), || {
        anon.request("GET", "/readyz", &[], b"").is_ok_and(|r| r.status == 200)
    });
    assert_eq!(api.request("GET", "/v1/status", &[], b"").unwrap().status, 200);
    let doc = api.request("GET", "/v1/openapi.json", &[], b"").unwrap();
    assert_eq!(
        doc.body,
        include_str!("../../docs/openapi.json").as_bytes(),
        "the served document is docs/openapi.json"
    );

    // The committee's public keys: the same from every member, and usable by a BEAT2 client.
    let served: Vec<serde_json::Value> =
        (0..N).map(|i| json(&c.client(i).request("GET", "/v1/encryption-key", &[], b"").unwrap())).collect();
    assert!(served.iter().all(|v| v["digest"] == served[0]["digest"]), "every member serves the same keys");
    let keys: beat_core::keystore::CommitteeKeys = serde_json::from_value(served[0]["keys"].clone()).unwrap();
    assert_eq!(keys.to_public().unwrap().params.n, N);
    assert_eq!(served[0]["digest"].as_str(), Some(keys.digest().as_str()));

    // Bad input: the right 4xx and a JSON error naming the problem.
    expect_error(&api, "POST", "/v1/transactions", b"junk", 400, "body");
    expect_error(&api, "POST", "/v1/transactions", br#"{"transactions": []}"#, 400, "transactions");
    expect_error(&api, "POST", "/v1/transactions", br#"{"transactions": ["get x"]}"#, 422, "set <key> <value>");
    let big = format!(r#"{{"transactions": ["set big {}"]}}"#, "x".repeat(70_000));
    expect_error(&api, "POST", "/v1/transactions", big.as_bytes(), 413, "exceeds");
    expect_error(&api, "POST", "/v1/transactions", br#"{"transactions": ["%%"], "encoding": "base64"}"#, 400, "base64");
    expect_error(&api, "GET", "/v1/transactions/xyz", b"", 400, "64 hex digits");
    expect_error(&api, "GET", "/v1/epochs/abc", b"", 400, "epoch");
    expect_error(&api, "GET", "/v1/epochs/999999", b"", 404, "not in this node's log");
    expect_error(&api, "GET", "/v1/commits?from=-1", b"", 400, "from");
    expect_error(&api, "GET", "/v1/kv/absent", b"", 404, "absent");
    expect_error(&api, "PUT", "/v1/blobs", b"abc", 409, "storage committee");
    expect_error(&api, "GET", "/v1/blobs/1-2-3", b"", 400, "blob id");

    // 10,000 transactions through nodes 0–2 while node 3 is killed and restarted.
    let t = Instant::now();
    let mut submitted: Vec<String> = Vec::with_capacity(TXS);
    let batches = TXS / 100;
    for b in 0..batches {
        if b == batches / 4 {
            c.d.kill9(3);
        }
        if b == batches / 2 {
            // Node 3 misses epochs: it must catch up and deliver them exactly once too.
            wait("half the transactions committed without node 3", Duration::from_secs(120), || {
                let v = json(&api.request("GET", "/v1/status", &[], b"").unwrap());
                v["committed_txs"].as_u64().unwrap_or(0) >= (TXS / 4) as u64
            });
            c.d.start(3);
        }
        let txs: Vec<String> = (0..100).map(|i| format!("set k{} v{}", b * 100 + i, b * 100 + i)).collect();
        let body = serde_json::json!({ "transactions": txs }).to_string();
        let client = c.client(b % 3);
        loop {
            let r = client.request("POST", "/v1/transactions", &[], body.as_bytes()).unwrap();
            if r.status == 429 {
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
            assert_eq!(r.status, 202, "{}", r.text());
            for res in json(&r)["results"].as_array().unwrap() {
                assert_eq!(res["accepted"], true, "{res}");
                submitted.push(res["id"].as_str().unwrap().to_string());
            }
            break;
        }
    }
    let submit_s = t.elapsed().as_secs_f64();
    // All committed: node 0's index says so for every id.
    wait("all 10,000 committed", Duration::from_secs(300), || {
        let v = json(&api.request("GET", "/v1/status", &[], b"").unwrap());
        v["committed_txs"].as_u64().unwrap_or(0) >= TXS as u64
    });
    let mut at: HashMap<String, (u64, u64)> = HashMap::new();
    for id in &submitted {
        let v = json(&api.request("GET", &format!("/v1/transactions/{id}"), &[], b"").unwrap());
        assert_eq!(v["state"], "committed", "{v}");
        at.insert(id.clone(), (v["epoch"].as_u64().unwrap(), v["position"].as_u64().unwrap()));
    }
    let last_epoch = at.values().map(|(e, _)| *e).max().unwrap();
    // Exactly once, in the same order, on two nodes' commit streams (node 3 was restarted).
    for node in [1, 3] {
        let client = c.client(node);
        // Once (CI, 2026-11-30, under load from other work on the machine) node 3 was not past
        // epoch 15 after 120 s: on a timeout, its status says where it stood.
        let last = std::cell::RefCell::new(String::new());
        let reached = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wait(&format!("node {node} at epoch {last_epoch}"), Duration::from_secs(120), || {
                let v = json(&client.request("GET", "/v1/status", &[], b"").unwrap());
                *last.borrow_mut() = v.to_string();
                v["epoch"].as_u64().unwrap_or(0) > last_epoch
            })
        }));
        assert!(
            reached.is_ok(),
            "node {node} not past epoch {last_epoch} in 120 s; its last status: {}",
            last.borrow()
        );
        let ids = stream_ids(&client, last_epoch + 1);
        let mut count: HashMap<&str, usize> = HashMap::new();
        for id in &ids {
            *count.entry(id.as_str()).or_default() += 1;
        }
        for id in &submitted {
            assert_eq!(
                count.get(id.as_str()),
                Some(&1),
                "node {node}: {id} committed {:?} times",
                count.get(id.as_str())
            );
        }
        assert_eq!(ids.len(), TXS, "node {node}: nothing else committed");
    }
    eprintln!("api: {TXS} transactions submitted in {submit_s:.1} s, committed in epochs 0..={last_epoch}");

    // The stream resumes after the last event the client saw.
    let mut first = None;
    c.client(2)
        .events("/v1/commits", &[("Last-Event-ID", "4".into())], |id, _, _| {
            first = id.map(str::to_string);
            false
        })
        .unwrap();
    assert_eq!(first.as_deref(), Some("5"), "Last-Event-ID: 4 resumes at epoch 5");

    // At most MAX_STREAMS commit streams at once: the next is told to come back later.
    let streams: Vec<std::net::TcpStream> = (0..beat_core::api::MAX_STREAMS)
        .map(|_| {
            use std::io::{Read, Write};
            let mut s = std::net::TcpStream::connect(("127.0.0.1", c.d.api[1])).unwrap();
            write!(s, "GET /v1/commits HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\r\n", c.token).unwrap();
            let mut head = [0u8; 12];
            s.read_exact(&mut head).unwrap();
            assert_eq!(&head, b"HTTP/1.1 200", "a stream within the cap opens");
            s
        })
        .collect();
    let r = c.client(1).request("GET", "/v1/commits", &[], b"").unwrap();
    assert_eq!(r.status, 429, "{}", r.text());
    drop(streams);
    wait("stream slots freed", Duration::from_secs(30), || {
        let mut opened = false;
        let _ = c.client(1).events("/v1/commits?from=0", &[], |_, _, _| {
            opened = true;
            false
        });
        opened
    });

    // The examples: Java, Node.js, Rust.
    let mut examples = Vec::new();
    let examples_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/api");
    let classes = dir.path().join("java");
    let ok = |out: std::io::Result<std::process::Output>, what: &str| {
        let out = out.unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(
            out.status.success(),
            "{what}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    ok(
        Command::new("javac").arg("-d").arg(&classes).arg(examples_dir.join("BeatClient.java")).output(),
        "javac BeatClient.java",
    );
    let out = ok(
        Command::new("java")
            .arg("-cp")
            .arg(&classes)
            .args(["BeatClient", &c.url(0), &c.token, "set java hello"])
            .output(),
        "java BeatClient",
    );
    assert!(out.contains("java: committed"), "{out}");
    examples.push("java");
    let out = ok(
        Command::new("node")
            .arg(examples_dir.join("client.mjs"))
            .args([&c.url(1), &c.token, "set node hello"])
            .output(),
        "node client.mjs",
    );
    assert!(out.contains("node: committed"), "{out}");
    examples.push("node");
    let out = ok(
        Command::new(env!("CARGO"))
            .args(["run", "--release", "-q", "-p", "beat-core", "--example", "api_client", "--"])
            .args([&c.url(2), &c.token, "set rust hello"])
            .output(),
        "cargo run --example api_client",
    );
    assert!(out.contains("rust: committed"), "{out}");
    examples.push("rust");
    // The operator's CLI, `beat client`: URL and token from flags or BEAT_API_URL / BEAT_API_TOKEN.
    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_beat"))
            .arg("client")
            .args(args)
            .env("BEAT_API_URL", c.url(3))
            .env("BEAT_API_TOKEN", &c.token)
            .output()
            .unwrap()
    };
    let out = ok(Ok(cli(&["--node", &c.url(1), "submit", "set cli hello"])), "beat client submit");
    let id = out.strip_prefix("accepted ").map(str::trim).unwrap_or_else(|| panic!("beat client submit: {out}"));
    wait("beat client get: committed", Duration::from_secs(60), || {
        String::from_utf8_lossy(&cli(&["get", id]).stdout).contains("committed")
    });
    examples.push("cli");
    let status: serde_json::Value = serde_json::from_str(&ok(Ok(cli(&["status"])), "beat client status")).unwrap();
    assert!(status["epoch"].as_u64().is_some(), "{status}");
    ok(Ok(cli(&["health", "--ready"])), "beat client health --ready");
    let refused = cli(&["--token", "wrong", "status"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("401"), "{refused:?}");
    let token = ok(Ok(cli(&["token", "ops"])), "beat client token");
    assert!(
        token.lines().any(|l| l.strip_prefix("line for the BEAT_API_TOKENS file: ops:").is_some_and(|h| h.len() == 64)),
        "{token}"
    );
    for (key, value) in [("java", "hello"), ("node", "hello"), ("rust", "hello"), ("cli", "hello")] {
        let v = json(&api.request("GET", &format!("/v1/kv/{key}"), &[], b"").unwrap());
        assert_eq!(v["value"], value, "{v}");
    }

    // schemathesis against the served document.
    let (mut cases, mut failures) = (0u64, 0u64);
    match std::env::var("BEAT_SCHEMATHESIS") {
        Ok(st) => {
            let out = Command::new(&st)
                .args(["run", &format!("{}/v1/openapi.json", c.url(0)), "--checks", "all"])
                // A schema-valid transaction the application's `validate` refuses is a 422 by
                // design (the schema cannot know the application's grammar).
                .args(["--exclude-checks", "positive_data_acceptance"])
                // The commit stream never ends; it is tested above.
                .args(["--exclude-path", "/v1/commits", "--max-examples", "40", "--seed", "1"])
                .args(["-H", &format!("Authorization: Bearer {}", c.token)])
                .output()
                .expect("run schemathesis");
            let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            let num = |re: &str| -> u64 {
                text.lines()
                    .filter_map(|l| l.trim().strip_suffix(re).or_else(|| l.split(re).next().filter(|_| l.contains(re))))
                    .filter_map(|l| l.split_whitespace().last()?.parse().ok())
                    .next()
                    .unwrap_or(0)
            };
            cases = num(" generated,");
            failures = if out.status.success() { 0 } else { num(" unique failure").max(1) };
            assert!(out.status.success() && cases > 0, "schemathesis found problems:\n{text}");
        }
        Err(_) => eprintln!("api: BEAT_SCHEMATHESIS not set: schemathesis skipped (scripts/test.sh runs it)"),
    }
    println!("BEAT-API schemathesis_cases={cases} failures={failures} examples={}", examples.join(","));
}
