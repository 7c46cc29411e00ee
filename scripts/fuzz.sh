#!/usr/bin/env bash
# Builds every BEAT fuzz target (fuzz/, cargo-fuzz + libFuzzer, AddressSanitizer) on the stable
# toolchain and runs each for a fixed time on a copy of its checked-in corpus. See fuzz/README.md.
#
#   FUZZ_SECONDS    seconds per target (default 60)
#   FUZZ_JOBS       targets run at once (default 2; libFuzzer itself is single-threaded)
#   FUZZ_TARGETS    space-separated subset (default: every target in fuzz/Cargo.toml)
#   FUZZ_SANITIZER  address (default) or none (coverage-guided libFuzzer without ASan)
#   FUZZ_CRASH_DIR  where crash inputs go, one directory per target (default: a new /tmp dir)
#   FUZZ_TIMEOUT    seconds one input may take before libFuzzer reports a hang (default 30)
#   BEAT_FUZZ_KNOWN comma-separated known issues to tolerate while they are being fixed
#                   (fuzz/README.md, "Known issues"); CI names only redb-alloc (an upstream
#                   redb bug), so every other finding fails
#   BEAT_FUZZ_TARGET_DIR  build directory (default ~/.cache/beat-fuzz-target; the sanitizer build
#                   cannot share the test build's directory)
#
# Exit status 0 only if every target ran and none crashed, hung or ran out of memory. The last
# line is the summary:
#   BEAT-FUZZ targets=K seconds_each=S execs=N crashes=C corpus=F
# (execs: executions over all targets, from libFuzzer's final stats; corpus: files in the
# checked-in corpora the runs started from).
#
# The stable toolchain accepts cargo-fuzz's nightly-only flags (-Zsanitizer=address) with
# RUSTC_BOOTSTRAP=1, set here for the build only.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${BEAT_FUZZ_TARGET_DIR:-$HOME/.cache/beat-fuzz-target}"
export CARGO_TERM_COLOR=never
SECONDS_EACH="${FUZZ_SECONDS:-60}"
JOBS="${FUZZ_JOBS:-2}"
SANITIZER="${FUZZ_SANITIZER:-address}"
TIMEOUT="${FUZZ_TIMEOUT:-30}"
CARGO_FUZZ_VERSION="0.13.2"
TRIPLE="$(rustc -vV | sed -n 's/^host: //p')"
BIN="$CARGO_TARGET_DIR/$TRIPLE/release"

step() { printf '\n== %s\n' "$*"; }

step "cargo-fuzz"
t0=$SECONDS
export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"
fi
cargo fuzz --version
echo "   (cargo-fuzz: $((SECONDS - t0)) s wall)"

if [ -n "${FUZZ_TARGETS:-}" ]; then
  read -r -a TARGETS <<<"$FUZZ_TARGETS"
else
  mapfile -t TARGETS < <(cargo fuzz list --fuzz-dir fuzz)
fi
echo "targets: ${TARGETS[*]}"

step "build (sanitizer: $SANITIZER, target dir $CARGO_TARGET_DIR)"
t0=$SECONDS
RUSTC_BOOTSTRAP=1 cargo fuzz build --fuzz-dir fuzz --sanitizer "$SANITIZER"
echo "   (build: $((SECONDS - t0)) s wall)"

CRASH_DIR="${FUZZ_CRASH_DIR:-$(mktemp -d /tmp/beat-fuzz-crashes.XXXXXX)}"
WORK="$(mktemp -d /tmp/beat-fuzz-work.XXXXXX)"
mkdir -p "$CRASH_DIR"
echo "crash inputs go to $CRASH_DIR; corpora are copied to $WORK"

# One target: copy its corpus, fuzz for SECONDS_EACH, record execs, coverage, crashes.
run_one() {
  local t="$1" dir="$WORK/$1" t0=$SECONDS rc=0
  mkdir -p "$dir/corpus" "$CRASH_DIR/$t"
  if [ -d "fuzz/corpus/$t" ]; then
    cp -r "fuzz/corpus/$t/." "$dir/corpus/"
  fi
  "$BIN/$t" "$dir/corpus" -max_total_time="$SECONDS_EACH" -timeout="$TIMEOUT" -print_final_stats=1 \
    -artifact_prefix="$CRASH_DIR/$t/" >"$dir/log" 2>&1 || rc=$?
  local execs rate cov crashes started grown
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log" | tail -1)"
  if [ -z "$execs" ]; then
    execs="$(grep -o '^#[0-9]*' "$dir/log" | tail -1 | tr -d '#')"
  fi
  cov="$(grep -o 'cov: [0-9]*' "$dir/log" | tail -1 | awk '{print $2}')"
  crashes="$(find "$CRASH_DIR/$t" -type f | wc -l)"
  started="$(find "fuzz/corpus/$t" -type f 2>/dev/null | wc -l)"
  grown="$(find "$dir/corpus" -type f | wc -l)"
  if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
    crashes=1 # died without leaving an input (should not happen): count it
  fi
  # redb-alloc (fuzz/README.md, finding 2): a damaged file makes redb itself allocate gigabytes
  # (an upstream redb bug; an allocation cannot be caught). Tolerated only when named in
  # BEAT_FUZZ_KNOWN, only as an out-of-memory — libFuzzer's, or AddressSanitizer's refusal of a
  # size beyond its 1 TiB maximum (the 2 TiB and 8 TiB cases) — whose stack is inside redb;
  # counted apart.
  local known=0
  if [ "$crashes" -ne 0 ] && [[ ",${BEAT_FUZZ_KNOWN:-}," == *",redb-alloc,"* ]] &&
    grep -qE 'ERROR: libFuzzer: out-of-memory \(malloc\(|ERROR: AddressSanitizer: requested allocation size' "$dir/log" &&
    grep -q ' in <redb::' "$dir/log"; then
    known=$crashes crashes=0
    echo "   $t: known upstream issue redb-alloc (redb allocated $(grep -oE 'malloc\([0-9]*\)|allocation size 0x[0-9a-f]*' "$dir/log" | head -1) for a damaged file); input kept in $CRASH_DIR/$t"
  fi
  echo "${execs:-0} ${cov:-0} $crashes $started $((SECONDS - t0)) $known" >"$dir/result"
  printf '   %-16s execs=%-9s exec/s=%-7s cov=%-6s corpus=%s->%s crashes=%s (%s s wall)\n' \
    "$t" "${execs:-0}" "${rate:-?}" "${cov:-0}" \
    "$started" "$grown" "$crashes" "$((SECONDS - t0))"
  if [ "$crashes" -ne 0 ]; then
    echo "   $t crashed (exit $rc); its log: $dir/log; inputs: $CRASH_DIR/$t"
    grep -m1 -A3 -E 'panicked at|ERROR: (libFuzzer|AddressSanitizer)' "$dir/log" | sed 's/^/     /' || true
  fi
  return 0
}

step "fuzz: ${#TARGETS[@]} targets x ${SECONDS_EACH} s, $JOBS at a time"
t0=$SECONDS
running=0
for t in "${TARGETS[@]}"; do
  if [ ! -x "$BIN/$t" ]; then
    echo "missing binary $BIN/$t" >&2
    exit 1
  fi
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$JOBS" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait || true
echo "   (fuzzing: $((SECONDS - t0)) s wall)"

execs=0 crashes=0 corpus=0 known=0
for t in "${TARGETS[@]}"; do
  read -r e _ c s _ k <"$WORK/$t/result"
  execs=$((execs + e)) crashes=$((crashes + c)) corpus=$((corpus + s)) known=$((known + ${k:-0}))
done
if [ "$known" -ne 0 ]; then
  echo "known upstream issues hit: redb-alloc=$known (tolerated by BEAT_FUZZ_KNOWN; see fuzz/README.md)"
fi
if [ "$crashes" -eq 0 ]; then
  rm -rf "$WORK"
  rmdir "$CRASH_DIR"/* "$CRASH_DIR" 2>/dev/null || true
else
  echo "crash inputs: $CRASH_DIR (reproduce: $BIN/<target> <input>); logs: $WORK/<target>/log"
fi
echo "BEAT-FUZZ targets=${#TARGETS[@]} seconds_each=$SECONDS_EACH execs=$execs crashes=$crashes corpus=$corpus"
[ "$crashes" -eq 0 ]
