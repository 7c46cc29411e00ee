//! Pre-authentication bytes on a node's channels (`net::handshake`): what anyone who can reach
//! a node's port, or sit on the path, can send.
//!
//! The first byte picks a mode; the rest is the input:
//!
//! | mode | what | asserts |
//! |---|---|---|
//! | 0 | the bytes are the dialler's side of a connection to `respond` (node 1) | never authenticates (`Err`), heap growth bounded |
//! | 1 | the bytes are the listener's answers to `initiate` (node 0 dialling node 1) | never authenticates, heap growth bounded |
//! | 2 | a real handshake 0 → 1, then the bytes are the encrypted byte stream `ChannelReceiver::recv` reads | no frame is ever accepted, heap growth bounded |
//! | 3 | a real handshake, real frames (sizes from the input) sealed by the sender, then the wire bytes damaged by input-chosen edits (flip, truncate, insert, duplicate) | the receiver returns exactly the sent frames in order until its first error, never a frame that was not sent |
//!
//! The streams are in memory: reads come from the input and end with EOF, writes go to a sink,
//! so a step that waits for more bytes fails instead of hanging (a 5 s deadline guards anyway).
#![no_main]

use std::io::Cursor;
use std::sync::OnceLock;
use std::time::Duration;

use beat_core::keystore::{IdentityKey, IdentityPublic};
use beat_core::net::handshake::{initiate, respond, Channel, ChannelKeys};
use beat_fuzz::alloc::{assert_bounded, measure};
use beat_fuzz::{runtime, WIRE_SESSION};
use libfuzzer_sys::fuzz_target;
use tokio::io::AsyncReadExt;

/// Largest frame the receiver accepts in modes 2 and 3.
const MAX_FRAME: usize = 1 << 20;
/// Heap growth allowed without regard to size: two 64 KiB Noise buffers, one message, the
/// receiver's output pre-allocation (capped at 1 MiB), and snow's state.
const ALLOC_FIXED: usize = (1 << 20) + (512 << 10);

fn keys(me: usize) -> &'static ChannelKeys {
    static KEYS: OnceLock<Vec<ChannelKeys>> = OnceLock::new();
    let all = KEYS.get_or_init(|| {
        let ids: Vec<IdentityKey> = (0..4).map(|i| IdentityKey::from_bytes(&[i as u8 + 7; 32])).collect();
        let publics: Vec<IdentityPublic> = ids.iter().map(|k| k.public()).collect();
        (0..4).map(|i| ChannelKeys::new(i, &ids[i], &publics, &WIRE_SESSION)).collect()
    });
    &all[me]
}

/// A stream whose reads are `input` (then EOF) and whose writes vanish.
fn scripted(input: &[u8]) -> impl tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + '_ {
    tokio::io::join(Cursor::new(input), tokio::io::sink())
}

async fn deadline<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(5), fut).await {
        Ok(v) => v,
        Err(_) => panic!("{what} hung on in-memory input"),
    }
}

/// A real channel pair: node 0 dialled node 1.
async fn pair() -> (Channel, Channel) {
    let (mut a, mut b) = tokio::io::duplex(1 << 18);
    let (ra, rb) = tokio::join!(initiate(&mut a, keys(0), 1), respond(&mut b, keys(1)));
    let (from, rb) = rb.expect("honest handshake (responder)");
    assert_eq!(from, 0);
    (ra.expect("honest handshake (initiator)"), rb)
}

/// A wire edit: operation (0 flip, 1 truncate, 2 insert, 3 duplicate), position, value.
type Edit = (u8, usize, u8);

/// Mode 3's frames and edits, parsed from the input.
fn plan(data: &[u8]) -> (Vec<Vec<u8>>, Vec<Edit>) {
    let mut it = data.iter().copied();
    let count = usize::from(it.next().unwrap_or(0) % 6);
    let mut frames = Vec::new();
    for _ in 0..count {
        let lo = it.next().unwrap_or(0);
        let hi = it.next().unwrap_or(0);
        let fill = it.next().unwrap_or(0);
        // Up to 128 KiB: frames of several Noise messages (65 519 plaintext bytes each).
        let len = usize::from(u16::from_le_bytes([lo, hi])) * 2;
        frames.push((0..len).map(|i| fill ^ (i as u8)).collect());
    }
    let rest: Vec<u8> = it.collect();
    let edits = rest.chunks_exact(4).map(|c| (c[0] % 4, usize::from(u16::from_le_bytes([c[1], c[2]])), c[3])).collect();
    (frames, edits)
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else { return };
    let rt = runtime();
    match mode % 4 {
        0 => {
            let (r, peak) = measure(|| rt.block_on(deadline("respond", respond(&mut scripted(input), keys(1)))));
            assert!(r.is_err(), "unauthenticated bytes completed the responder's handshake");
            assert_bounded("respond", input.len(), peak, 2, ALLOC_FIXED);
        }
        1 => {
            let (r, peak) = measure(|| rt.block_on(deadline("initiate", initiate(&mut scripted(input), keys(0), 1))));
            assert!(r.is_err(), "unauthenticated bytes completed the initiator's handshake");
            assert_bounded("initiate", input.len(), peak, 2, ALLOC_FIXED);
        }
        2 => {
            let (_tx, rx) = rt.block_on(deadline("handshake", pair()));
            let (_, mut rx) = rx.split();
            let mut stream = Cursor::new(input);
            let (got, peak) = measure(|| rt.block_on(deadline("recv", rx.recv(&mut stream, MAX_FRAME))));
            assert!(got.is_err(), "the receiver accepted a frame nobody sealed");
            assert_bounded("recv", input.len(), peak, 2, ALLOC_FIXED);
        }
        _ => rt.block_on(tampered(input)),
    }
});

/// Mode 3: real frames, damaged on the wire.
async fn tampered(input: &[u8]) {
    let (frames, edits) = plan(input);
    let (mut tx, rx) = deadline("handshake", pair()).await;
    let mut wire = Vec::new();
    for f in &frames {
        tx.send(&mut wire, f).await.expect("send into a Vec");
    }
    let pristine = wire.clone();
    for (op, pos, val) in &edits {
        let at = if wire.is_empty() { 0 } else { pos % (wire.len() + 1) };
        match op {
            0 if at < wire.len() => wire[at] ^= val | 1,
            1 => wire.truncate(at),
            2 => wire.insert(at, *val),
            3 => {
                let end = (at + usize::from(*val) * 8).min(wire.len());
                let copy = wire[at..end].to_vec();
                wire.extend_from_slice(&copy);
            }
            _ => {}
        }
    }
    let (_, mut rx) = rx.split();
    let mut stream = Cursor::new(&wire[..]);
    let mut received = 0;
    while let Ok(frame) = deadline("recv", rx.recv(&mut stream, MAX_FRAME)).await {
        assert!(received < frames.len(), "the receiver returned a frame that was never sent");
        assert!(frame == frames[received], "frame {received} arrived altered");
        received += 1;
    }
    if wire == pristine {
        assert_eq!(received, frames.len(), "undamaged frames were refused");
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest).await;
        assert!(rest.is_empty(), "bytes left after the last frame");
    }
}
