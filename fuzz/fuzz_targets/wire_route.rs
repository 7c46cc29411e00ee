//! Every byte a peer can send before the protocol sees it: arbitrary bytes are a frame for
//! `net::router::route` (the `Wire` envelope: consensus, catch-up request and answer, rejoin
//! request and answer), also with a tight limit (`route_bounded`), for
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

/// `Route` has no `PartialEq`; its `Debug` form shows every field.
fn same_route(a: &Route, b: &Route) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

fuzz_target!(|data: &[u8]| {
    // The router: what the driver does with every inbound frame.
    let (routed, peak) = measure(|| router::route(data, &WIRE_SESSION));
    assert_bounded("router::route", data.len(), peak, ALLOC_PER_BYTE, ALLOC_FIXED);
    if let Ok(route) = &routed {
        // Re-encode what was routed (through the `Wire` it came in, whatever its variants).
        let env = Envelope::<Wire>::from_bytes(data, &WIRE_SESSION, MAX_FRAME_BYTES).expect("a routed frame is a Wire");
        let again = router::encode(WIRE_SESSION, env.message);
        let back = router::route(&again, &WIRE_SESSION).expect("a re-encoded frame routes");
        assert!(same_route(route, &back), "route changed across encode/decode: {route:?} vs {back:?}");
    }
    // The bounded router agrees with the unbounded one within its limit and refuses beyond it.
    let limit = data.len().saturating_sub(usize::from(data.first().copied().unwrap_or(0) & 1));
    match router::route_bounded(data, &WIRE_SESSION, limit) {
        Ok(r) => assert!(routed.as_ref().is_ok_and(|x| same_route(x, &r)), "route_bounded disagrees with route"),
        Err(DecodeError::TooLarge { .. }) => assert!(limit < data.len()),
        Err(e) => assert_eq!(routed.as_ref().err(), Some(&e), "route_bounded and route fail differently"),
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
