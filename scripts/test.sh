#!/usr/bin/env bash
# Runs every BEAT test. This is the README's test command; .ci/run calls it.
#
#   1. formatting and clippy (warnings are errors),
#   2. every unit, integration, doc and bench-smoke test of the workspace (release profile,
#      so the simulator's real crypto is fast and the sim campaign reuses the build),
#   3. the simulation campaign: >= 600 seeds over n in {4, 5, 7}, BEAT0-BEAT4 and every adversary, with
#      real cryptography, determinism re-runs and canaries; prints the BEAT-SIM line.
#
# Needs only the Rust toolchain and crates.io. The build goes to CARGO_TARGET_DIR
# (default: ~/.cache/beat-target, outside the clone, so CI reuses it between runs).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/beat-target}"
export CARGO_TERM_COLOR=never
SIM_SEEDS="${BEAT_SIM_SEEDS:-600}"

step() { printf '\n== %s\n' "$*"; }

step "format"
cargo fmt --all -- --check

step "clippy"
cargo clippy --workspace --all-targets --release -- -D warnings
cargo clippy -p beat-core --all-targets --release --all-features -- -D warnings

step "rustdoc (broken or redundant intra-doc links are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc -p beat-core --no-deps --release

step "tests"
cargo test --workspace --all-targets --release
cargo test --workspace --doc --release
# The second store backend (feature `sled`) runs the same conformance suite as redb.
cargo test -p beat-core --lib --release --features sled -- state::

step "simulation campaign ($SIM_SEEDS seeds)"
cargo run --release -p beat-core --bin beat-sim -- campaign --seeds "$SIM_SEEDS"
