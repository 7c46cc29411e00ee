//! A BEAT node (every variant) fed a sequence of peer messages and local inputs.
//!
//! The input is a `beat_fuzz::Script` (first byte: the variant; then length-prefixed records:
//! messages from peers 1..3, and node 0's own `Submit` / `Propose` / `RetryReads` / `Read`
//! inputs). Node 0 of a fixed 4-node committee (batch size 8) consumes it; the checked-in corpus
//! is real honest traffic captured by `examples/gen_corpus.rs`, so mutations start from deep
//! protocol states (ACS output, decryption, commit, reads).
//!
//! Asserts (see `beat_fuzz::run_script`): `handle_message` never returns `Err` for a peer
//! message; local inputs fail only by refusing a transaction; epochs are output in order, each
//! once; every message the node sends round-trips the codec; and the heap the node retains
//! stays within `RETAIN_PER_BYTE·N + RETAIN_FIXED` of an `N`-byte input.
#![no_main]

use beat_fuzz::alloc::{assert_bounded, live};
use beat_fuzz::{committee, run_script, Script};
use libfuzzer_sys::fuzz_target;

/// Heap the node may keep per input byte (values, fragments and shares it must remember).
const RETAIN_PER_BYTE: usize = 64;
/// Heap the node may keep regardless of input (epoch states in the future-epoch window).
const RETAIN_FIXED: usize = 16 << 20;

fuzz_target!(|script: Script| {
    let len = script.to_bytes().len();
    // Warm the committee cache outside the measurement.
    let _ = committee(script.variant);
    let before = live();
    let (node, report) = run_script(&script);
    let retained = live().saturating_sub(before);
    assert_bounded("node state and outputs", len, retained, RETAIN_PER_BYTE, RETAIN_FIXED);
    assert_eq!(node.epoch(), report.batches.len() as u64, "the node's epoch is the number of epochs it output");
});
