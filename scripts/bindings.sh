#!/usr/bin/env bash
# The mobile SDK (beat-ffi) on this machine: builds the library, checks that the checked-in
# bindings (bindings/{python,kotlin,swift}) are exactly what uniffi generates from it now, and
# runs each language's scenario test (bindings/README.md) and the family vault's sample
# (demo-apps/family-vault/samples: Kotlin on the JVM, Swift in the chroot; their `ok vault …`
# steps count in the totals):
#   Python: the generated module under pytest (PyPI pytest in a venv outside the clone);
#   Kotlin: on the JVM, kotlinc from npm `kotlin-compiler` and Debian's libjna-java;
#   Swift:  Debian trixie's swiftlang (6.0) in a debootstrap chroot (scripts/swift-chroot.sh,
#           built once outside the clone): the bindings compiled as module BeatFFI, the
#           scenario linked against it and run.
# Last line:
#   BEAT-FFI kotlin=P/T swift=P/T python=P/T bindings_fresh=yes|no so_bytes=N
# (so_bytes: the release cdylib with its debug info stripped).
#
#   scripts/bindings.sh            check and test
#   scripts/bindings.sh --update   regenerate the checked-in bindings, then check and test
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/beat-target}"
CACHE="${BEAT_FFI_CACHE:-$HOME/.cache/beat-ffi}"
UPDATE=0
[ "${1:-}" = "--update" ] && UPDATE=1
t0=$SECONDS
took() { echo "   ($1: $((SECONDS - t0)) s wall)"; t0=$SECONDS; }

# The library with the package selection and dev-units of scripts/test.sh's "tests" step, so
# cargo resolves the same features and reuses its beat-core and dependencies (only beat-ffi's
# cdylib is new). The generator builds on its own (tools/uniffi-bindgen: its CLI dependencies
# would change the workspace's features) into a target dir of its own, kept between runs.
cargo build --release --workspace --exclude beat-market --exclude beat-vault --lib --tests
# The generator and the library's scaffolding agree only within one uniffi version.
ws_uniffi="$(grep -E '^uniffi = ' Cargo.toml)"
tool_uniffi="$(grep -E '^uniffi = ' tools/uniffi-bindgen/Cargo.toml)"
if [ "${ws_uniffi#*\"}" != "$(echo "$tool_uniffi" | sed -E 's/.*version = "([^"]*)".*/\1/')\"" ]; then
  echo "bindings: tools/uniffi-bindgen pins $tool_uniffi, the workspace $ws_uniffi: make them equal" >&2
  exit 1
fi
cargo build --release --manifest-path tools/uniffi-bindgen/Cargo.toml --target-dir "$CARGO_TARGET_DIR/uniffi-bindgen"
LIB="$CARGO_TARGET_DIR/release/libbeat_ffi.so"
BINDGEN="$CARGO_TARGET_DIR/uniffi-bindgen/release/uniffi-bindgen"
took build

# Fresh generation from the (unstripped) library, compared with the checked-in files.
gen="$(mktemp -d)"
trap 'rm -rf "$gen"' EXIT
"$BINDGEN" generate "$LIB" -l python -l kotlin -l swift -o "$gen" -n >/dev/null
pairs=(
  "$gen/beat_ffi.py:bindings/python/beat_ffi.py"
  "$gen/org/beat/ffi/beat_ffi.kt:bindings/kotlin/src/main/kotlin/org/beat/ffi/beat_ffi.kt"
  "$gen/BeatFFI.swift:bindings/swift/Sources/BeatFFI/BeatFFI.swift"
  "$gen/BeatFFIC.h:bindings/swift/Sources/BeatFFIC/include/BeatFFIC.h"
  "$gen/BeatFFIC.modulemap:bindings/swift/Sources/BeatFFIC/include/module.modulemap"
)
fresh=yes
for p in "${pairs[@]}"; do
  new="${p%%:*}" old="${p#*:}"
  if [ "$UPDATE" = 1 ]; then
    mkdir -p "$(dirname "$old")"
    cp "$new" "$old"
  elif ! cmp -s "$new" "$old"; then
    echo "bindings: $old differs from a fresh generation (scripts/bindings.sh --update regenerates it):"
    diff -u "$old" "$new" | head -20 || true
    fresh=no
  fi
done
took "fresh generation"

stripped="$(mktemp)"
objcopy --strip-debug "$LIB" "$stripped"
so_bytes="$(stat -c %s "$stripped")"
rm -f "$stripped"

# Python.
if [ ! -x "$CACHE/py/bin/pytest" ]; then
  python3 -m venv "$CACHE/py"
  "$CACHE/py/bin/pip" install -q 'pytest==8.3.5'
fi
py_log="$(mktemp)"
py_rc=0
BEAT_FFI_LIB="$LIB" "$CACHE/py/bin/pytest" -q -p no:cacheprovider bindings/python/tests >"$py_log" 2>&1 || py_rc=$?
cat "$py_log"
py_passed="$( (grep -oE '[0-9]+ passed' "$py_log" || true) | tail -1 | awk '{print $1}')"
py_failed="$( (grep -oE '[0-9]+ (failed|errors?)' "$py_log" || true) | awk '{s += $1} END {print s + 0}')"
py_passed="${py_passed:-0}"
rm -f "$py_log"
took python

# Kotlin on the JVM.
kt_passed=0 kt_total=0 kt_rc=0
if [ -d bindings/kotlin/src/test ]; then
  if ! [ -f /usr/share/java/jna.jar ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libjna-java >/dev/null
  fi
  KOTLIN="$CACHE/kotlin/node_modules/kotlin-compiler"
  if [ ! -x "$KOTLIN/bin/kotlinc" ]; then
    mkdir -p "$CACHE/kotlin"
    npm install -s --prefix "$CACHE/kotlin" kotlin-compiler@2.4.20 >/dev/null
  fi
  cp_jars="/usr/share/java/jna.jar:$(ls "$KOTLIN"/lib/kotlinx-coroutines-core-jvm*.jar | head -1)"
  # A build directory of this run's own (two runs at once must not share one).
  kt_out="$(mktemp -d)"
  "$KOTLIN/bin/kotlinc" -nowarn -cp "$cp_jars" -d "$kt_out/test.jar" \
    $(find bindings/kotlin/src demo-apps/family-vault/samples/kotlin -name '*.kt') 2>&1 | grep -v '^warning' || true
  kt_log="$(mktemp)"
  java -Djna.library.path="$(dirname "$LIB")" -cp "$kt_out/test.jar:$cp_jars:$KOTLIN/lib/kotlin-stdlib.jar" \
    org.beat.ffi.test.ScenarioKt >"$kt_log" 2>&1 || kt_rc=$?
  # The family vault sample (demo-apps/family-vault/samples/kotlin), run the same way.
  java -Djna.library.path="$(dirname "$LIB")" -cp "$kt_out/test.jar:$cp_jars:$KOTLIN/lib/kotlin-stdlib.jar" \
    org.beat.vault.sample.VaultSampleKt >>"$kt_log" 2>&1 || kt_rc=$?
  cat "$kt_log"
  kt_passed="$(grep -cE '^ok ' "$kt_log" || true)"
  kt_total="$(grep -cE '^(ok|FAIL) ' "$kt_log" || true)"
  [ "$kt_rc" -eq 0 ] || kt_total=$((kt_total + 1))
  rm -f "$kt_log"
  rm -rf "$kt_out"
  took kotlin
fi

# Swift, in the chroot.
sw_passed=0 sw_total=0 sw_rc=0
CHROOT="$(bash scripts/swift-chroot.sh "$CACHE/swift-trixie" | tail -1)"
took "swift toolchain"
# A work directory of this run's own inside the chroot.
work="$(mktemp -d "$CHROOT/tmp/beat-swift.XXXXXX")"
cp -r bindings/swift/Sources bindings/swift/Tests "$work/"
mkdir -p "$work/Tests/VaultSample"
cp demo-apps/family-vault/samples/swift/main.swift "$work/Tests/VaultSample/main.swift"
cp "$LIB" "$work/libbeat_ffi.so"
sw_log="$(mktemp)"
# /proc and /dev bound in a mount namespace of this run's own: gone when it ends, never seen
# by another run.
unshare --mount --propagation private /bin/sh -c 'mount -t proc proc "$0/proc" && mount --bind /dev "$0/dev" &&
  exec chroot "$0" /bin/sh -c "$1" "$2"' "$CHROOT" 'cd "/tmp/$0" &&
  swiftc -O -emit-library -emit-module -module-name BeatFFI -I Sources/BeatFFIC/include -L . -lbeat_ffi \
    Sources/BeatFFI/*.swift -o libBeatFFI.so &&
  swiftc -O -I . -I Sources/BeatFFIC/include -L . -lBeatFFI -lbeat_ffi Tests/Scenario/main.swift -o scenario &&
  swiftc -O -I . -I Sources/BeatFFIC/include -L . -lBeatFFI -lbeat_ffi Tests/VaultSample/main.swift -o vault-sample &&
  LD_LIBRARY_PATH=. ./scenario && LD_LIBRARY_PATH=. ./vault-sample' "$(basename "$work")" >"$sw_log" 2>&1 || sw_rc=$?
rm -rf "$work"
cat "$sw_log"
sw_passed="$(grep -cE '^ok ' "$sw_log" || true)"
sw_total="$(grep -cE '^(ok|FAIL) ' "$sw_log" || true)"
[ "$sw_rc" -eq 0 ] || sw_total=$((sw_total + 1))
rm -f "$sw_log"
took swift

echo "BEAT-FFI kotlin=$kt_passed/$kt_total swift=$sw_passed/$sw_total python=$py_passed/$((py_passed + py_failed)) bindings_fresh=$fresh so_bytes=$so_bytes"
[ "$fresh" = yes ] && [ "$py_rc" -eq 0 ] && [ "$kt_rc" -eq 0 ] && [ "$kt_passed" = "$kt_total" ] && [ "$sw_rc" -eq 0 ]
