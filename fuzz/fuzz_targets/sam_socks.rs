//! What an I2P router's SAM bridge or a SOCKS5 proxy (tor, i2pd) can answer a node, and the
//! address codecs (`net::sam`, `net::socks`, `keystore::onion`).
//!
//! The SAM reply parser, the line reader and the SOCKS5 handshake are private and take a real
//! `TcpStream`, so the target plays the bridge / proxy itself: a loopback listener answers each
//! connection with a slice of the input and then closes its side. The first byte picks a mode:
//!
//! | mode | what | asserts |
//! |---|---|---|
//! | 0 | I2P base64 decode/encode, base32, `b32_address`, `public_destination`, `onion_hostname` | decode∘encode and encode∘decode round-trip, output sizes follow input sizes, address forms |
//! | 1 | `SamSession::create` (transient or persistent key), then `lookup`, `accept_with_peer`, `connect`; the input split at NUL bytes answers the control, accept and connect connections | success only with a decodable destination; after `accept`/`connect` the stream holds exactly the bytes after the reply lines (not one consumed too many) |
//! | 2 | `generate_destination` | success only with a PUB that matches PRIV |
//! | 3 | `socks::connect_timeout` to an input-chosen target through a proxy whose reply is the input | success only with version 5, method 0, REP 0 and a known address type; the stream then holds exactly the bytes after `BND.PORT`; bad targets fail before dialling |
#![no_main]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use beat_core::keystore::onion::{base32, onion_hostname};
use beat_core::net::sam::{
    self, b32_address, generate_destination, i2p_base64_decode, i2p_base64_encode, public_destination, SamSession,
    SamTimeouts,
};
use beat_core::net::socks;
use beat_fuzz::alloc::{assert_bounded, measure};
use beat_fuzz::runtime;
use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const STEP: Duration = Duration::from_secs(3);

/// The fake bridge / proxy: each accepted connection gets the next queued answer.
struct Fake {
    addr: SocketAddr,
    answers: Arc<Mutex<VecDeque<Vec<u8>>>>,
}

fn fake() -> &'static Fake {
    static FAKE: OnceLock<Fake> = OnceLock::new();
    FAKE.get_or_init(|| {
        let rt = runtime();
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let answers: Arc<Mutex<VecDeque<Vec<u8>>>> = Arc::default();
        let queue = answers.clone();
        rt.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let answer = queue.lock().expect("queue").pop_front().unwrap_or_default();
                tokio::spawn(serve(stream, answer));
            }
        });
        Fake { addr, answers }
    })
}

/// Say `answer`, close our side, and read (and drop) whatever the client says until it closes.
async fn serve(mut stream: TcpStream, answer: Vec<u8>) {
    let _ = stream.write_all(&answer).await;
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 4096];
    let _ =
        tokio::time::timeout(STEP * 2, async { while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {} }).await;
}

fn answer_with(parts: &[&[u8]]) {
    let mut q = fake().answers.lock().expect("queue");
    q.clear();
    q.extend(parts.iter().map(|p| p.to_vec()));
}

/// The bytes after the `lines`-th newline (empty if there are fewer).
fn after_lines(bytes: &[u8], lines: usize) -> &[u8] {
    let mut at = 0;
    for _ in 0..lines {
        match bytes[at..].iter().position(|&b| b == b'\n') {
            Some(p) => at += p + 1,
            None => return &[],
        }
    }
    &bytes[at..]
}

async fn rest_of(stream: &mut TcpStream) -> Vec<u8> {
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(STEP, stream.read_to_end(&mut rest)).await;
    rest
}

fn timeouts() -> SamTimeouts {
    SamTimeouts { bridge: STEP, session: STEP, stream: STEP }
}

/// A syntactically valid private key: a 387-byte destination (no certificate) and key bytes.
fn private_key() -> String {
    let mut bytes = vec![1u8; 385];
    bytes.extend_from_slice(&[0, 0]);
    bytes.extend_from_slice(&[2u8; 64]);
    i2p_base64_encode(&bytes)
}

fn codecs(input: &[u8]) {
    // Encoding any bytes decodes back; sizes follow.
    let b64 = i2p_base64_encode(input);
    assert_eq!(b64.len(), input.len().div_ceil(3) * 4);
    assert_eq!(i2p_base64_decode(&b64).as_deref(), Some(input), "base64 round trip");
    let b32 = base32(input);
    assert_eq!(b32.len(), (input.len() * 8).div_ceil(5));
    assert!(b32.bytes().all(|c| matches!(c, b'a'..=b'z' | b'2'..=b'7')));
    // Decoding any text: bounded output, and what decodes re-encodes to the same bytes.
    let text = String::from_utf8_lossy(input);
    let (decoded, peak) = measure(|| i2p_base64_decode(&text));
    assert_bounded("i2p_base64_decode", text.len(), peak, 1, 64);
    if let Some(bytes) = decoded {
        assert!(bytes.len() * 4 <= text.len() * 3 + 3);
        assert_eq!(i2p_base64_decode(&i2p_base64_encode(&bytes)).as_deref(), Some(&bytes[..]));
        let addr = b32_address(&text).expect("decodable destination has a b32 address");
        assert_eq!(addr.len(), 52 + ".b32.i2p".len());
        if let Ok(public) = public_destination(&text) {
            let d = i2p_base64_decode(&public).expect("public destination is base64");
            assert!(d.len() >= 387 && bytes.starts_with(&d), "the destination is a prefix of the key");
        }
    } else {
        assert!(b32_address(&text).is_err());
        assert!(public_destination(&text).is_err());
    }
    if let Ok(key) = <[u8; 32]>::try_from(input.get(..32).unwrap_or(&[])) {
        let host = onion_hostname(&key);
        assert_eq!(host.len(), 56 + ".onion".len());
        assert!(host.ends_with("d.onion"), "version 3 onion names end in 'd'");
    }
}

async fn sam_session(input: &[u8], persistent: bool) {
    let addr = fake().addr.to_string();
    let parts: Vec<&[u8]> = input.splitn(3, |&b| b == 0).collect();
    answer_with(&parts);
    let key = private_key();
    let destination = persistent.then_some(key.as_str());
    let created =
        SamSession::create_with_timeouts(&addr, "fuzz", destination, &[("inbound.length", "1")], timeouts()).await;
    let Ok(session) = created else { return };
    let d = i2p_base64_decode(session.destination()).expect("session destination is base64");
    assert!(d.len() >= 387, "session destination too short");
    assert!(session.b32_address().ends_with(".b32.i2p"));
    // The control connection's next line answers the lookup.
    let _ = session.lookup("ME").await;
    // Accept: HELLO, STREAM STATUS, the peer line; then the stream.
    if let Ok((mut stream, peer)) = session.accept_with_peer().await {
        let answer = parts.get(1).copied().unwrap_or(&[]);
        assert!(i2p_base64_decode(&peer).is_some_and(|p| p.len() >= 387), "accepted a bad peer destination");
        assert_eq!(rest_of(&mut stream).await, after_lines(answer, 3), "accept consumed stream bytes");
    }
    let peer = format!("{}.b32.i2p", "a".repeat(52));
    if let Ok(mut stream) = session.connect(&peer).await {
        let answer = parts.get(2).copied().unwrap_or(&[]);
        assert_eq!(rest_of(&mut stream).await, after_lines(answer, 2), "connect consumed stream bytes");
    }
}

async fn sam_generate(input: &[u8]) {
    answer_with(&[input]);
    if let Ok((public, private)) = generate_destination(&fake().addr.to_string()).await {
        assert_eq!(sam::public_destination(&private).expect("PRIV decodes"), public);
    }
}

async fn socks_connect(input: &[u8]) {
    let Some((&len, rest)) = input.split_first() else { return };
    let (target, reply) = rest.split_at(usize::from(len).min(rest.len()));
    let target = String::from_utf8_lossy(target);
    answer_with(&[reply]);
    let proxy = fake().addr.to_string();
    let result = socks::connect_timeout(&proxy, &target, STEP).await;
    if let Ok(mut stream) = result {
        assert!(reply.len() >= 6 && reply[..2] == [5, 0] && reply[2] == 5 && reply[3] == 0);
        let consumed = 2
            + 4
            + match reply[5] {
                1 => 6,
                4 => 18,
                3 => 1 + usize::from(*reply.get(6).expect("domain length")) + 2,
                t => panic!("accepted unknown address type {t}"),
            };
        assert_eq!(rest_of(&mut stream).await, &reply[consumed..], "SOCKS consumed stream bytes");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else { return };
    let rt = runtime();
    if mode % 4 != 0 {
        // Start the fake bridge outside `block_on` (it blocks on binding its listener).
        let _ = fake();
    }
    match mode % 4 {
        0 => codecs(input),
        1 => rt.block_on(sam_session(input, mode & 0x80 != 0)),
        2 => rt.block_on(sam_generate(input)),
        _ => rt.block_on(socks_connect(input)),
    }
});
