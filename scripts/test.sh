#!/usr/bin/env bash
# Runs every BEAT test. This is the README's test command; .ci/run calls it.
#
#   1. formatting and clippy (warnings are errors),
#   2. every unit, integration, doc and bench-smoke test of the workspace (release profile,
#      so the simulator's real crypto is fast and the sim campaign reuses the build),
#   3. the multi-process cluster test (4 daemons, 20+ kill -9, catch-up, metrics; BEAT-NODE line),
#   4. the simulation campaign: >= 600 seeds over n in {4, 5, 7}, BEAT0-BEAT4 and every adversary, with
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
# The multi-process cluster test runs on its own below, with its summary line shown.
cargo test --workspace --lib --bins --tests --examples --release -- --skip crash_restart_cluster
cargo test --workspace --benches --release
cargo test --workspace --doc --release
# The second store backend (feature `sled`) runs the same conformance suite as redb.
cargo test -p beat-core --lib --release --features sled -- state::

step "multi-process cluster: kill -9 / restart, catch-up, cluster restart, metrics"
cluster_log="$(mktemp)"
if ! cargo test -p beat-core --test cluster --release -- --nocapture >"$cluster_log" 2>&1; then
  cat "$cluster_log"  # the daemons' stderr is in it, prefixed [node i]
  exit 1
fi
grep -E '^BEAT-NODE |^test result' "$cluster_log"
grep -q '^BEAT-NODE ' "$cluster_log"
rm -f "$cluster_log"

step "simulation campaign ($SIM_SEEDS seeds)"
cargo run --release -p beat-core --bin beat-sim -- campaign --seeds "$SIM_SEEDS"
