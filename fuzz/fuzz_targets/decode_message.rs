//! Fuzz the wire decoder and the protocol behind it: arbitrary bytes are decoded as a BEAT0
//! envelope; whatever decodes is fed to a node. Nothing may panic.
//!
//! `cargo +nightly fuzz run decode_message` (or `cargo fuzz run decode_message`).
#![no_main]

use std::sync::OnceLock;

use beat_core::beat::beat0::{Beat0, Config, Message};
use beat_core::beat::{deal, NodeKeys};
use beat_core::codec::{Envelope, MAX_FRAME_BYTES};
use beat_core::proto::Protocol;
use beat_core::{Params, SessionId};
use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn keys() -> &'static Vec<NodeKeys> {
    static KEYS: OnceLock<Vec<NodeKeys>> = OnceLock::new();
    KEYS.get_or_init(|| deal(Params::new(4).unwrap(), SessionId([7; 32]), &mut ChaCha20Rng::seed_from_u64(1)))
}

fuzz_target!(|data: &[u8]| {
    let session = SessionId([7; 32]);
    let Some((&from, frame)) = data.split_first() else { return };
    if let Ok(env) = Envelope::<Message>::from_bytes(frame, &session, MAX_FRAME_BYTES) {
        let mut node = Beat0::new(keys()[0].clone(), Config::default());
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let _ = node.handle_message(from as usize % 6, env.message, &mut rng);
    }
});
