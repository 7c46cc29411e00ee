//! Every byte a peer can send before the protocol sees it: arbitrary bytes are a frame for
//! `net::router::route` (the `Wire` envelope: consensus, catch-up request, catch-up answer), for
//! `codec::Envelope::<beat::Message>::from_bytes`, and for the bare `codec::decode::<Message>`.
//!
//! Asserts, beyond "no panic":
//! * whatever decodes round-trips: re-encoded with `router::encode` / `codec::encode` it decodes
//!   again to the same value (and a route to the same destination with the same contents);
//! * decoding `N` bytes raises the live heap by at most `ALLOC_PER_BYTE·N + ALLOC_FIXED`
//!   (measured with the counting allocator of `beat_fuzz::alloc`).
#![no_main]

use beat_core::beat::Message;
use beat_core::codec::{self, DecodeError, Envelope, MAX_FRAME_BYTES, WIRE_VERSION};
use beat_core::net::router::{self, Route, Wire};
use beat_fuzz::alloc::{assert_bounded, measure};
use beat_fuzz::WIRE_SESSION;
use libfuzzer_sys::fuzz_target;

/// Heap growth allowed per input byte while decoding.
const ALLOC_PER_BYTE: usize = 64;
/// Heap growth allowed regardless of size (serde pre-allocates up to 1 MiB per collection
/// whose declared length it cannot check; a message nests a few of them).
const ALLOC_FIXED: usize = 8 << 20;

fn wire_of(route: &Route) -> Wire {
    match route {
        Route::Consensus(m) => Wire::Consensus(m.clone()),
        Route::Fetch { from, count } => Wire::FetchCommitted { from: *from, count: *count },
        Route::Committed { epoch, batch } => {
            Wire::Committed { epoch: *epoch, batch: serde_bytes::ByteBuf::from(batch.clone()) }
        }
    }
}

fn same_route(a: &Route, b: &Route) -> bool {
    match (a, b) {
        (Route::Consensus(x), Route::Consensus(y)) => x == y,
        (Route::Fetch { from: f1, count: c1 }, Route::Fetch { from: f2, count: c2 }) => (f1, c1) == (f2, c2),
        (Route::Committed { epoch: e1, batch: b1 }, Route::Committed { epoch: e2, batch: b2 }) => (e1, b1) == (e2, b2),
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    // The router: what the driver does with every inbound frame.
    let (routed, peak) = measure(|| router::route(data, &WIRE_SESSION));
    assert_bounded("router::route", data.len(), peak, ALLOC_PER_BYTE, ALLOC_FIXED);
    if let Ok(route) = &routed {
        let again = router::encode(WIRE_SESSION, wire_of(route));
        let back = router::route(&again, &WIRE_SESSION).expect("a re-encoded frame routes");
        assert!(same_route(route, &back), "route changed across encode/decode: {route:?} vs {back:?}");
    }

    // The envelope of a bare consensus message.
    let (env, peak) = measure(|| Envelope::<Message>::from_bytes(data, &WIRE_SESSION, MAX_FRAME_BYTES));
    assert_bounded("Envelope::<Message>::from_bytes", data.len(), peak, ALLOC_PER_BYTE, ALLOC_FIXED);
    match env {
        Ok(env) => {
            assert_eq!(env.version, WIRE_VERSION);
            let bytes = env.to_bytes();
            let back = Envelope::<Message>::from_bytes(&bytes, &WIRE_SESSION, MAX_FRAME_BYTES)
                .expect("a re-encoded envelope decodes");
            assert_eq!(back, env);
        }
        // A frame one byte too long for its limit is refused before any parsing.
        Err(_) if !data.is_empty() => {
            let short = Envelope::<Message>::from_bytes(data, &WIRE_SESSION, data.len() - 1);
            assert!(matches!(short, Err(DecodeError::TooLarge { .. })));
        }
        Err(_) => {}
    }

    // The message alone (what `beat_node` inputs carry).
    let (msg, peak) = measure(|| codec::decode::<Message>(data, MAX_FRAME_BYTES));
    assert_bounded("codec::decode::<Message>", data.len(), peak, ALLOC_PER_BYTE, ALLOC_FIXED);
    if let Ok(msg) = msg {
        let bytes = codec::encode(&msg);
        let back: Message = codec::decode(&bytes, MAX_FRAME_BYTES).expect("a re-encoded message decodes");
        assert_eq!(back, msg);
    }
});
