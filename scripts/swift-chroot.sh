#!/usr/bin/env bash
# A Debian trixie chroot with Swift (Debian's `swiftlang`, 6.0) for the SDK's Swift tests
# (Debian 12 has no Swift package). Built once with debootstrap from the Debian mirror into DIR
# (default ~/.cache/beat-ffi/swift-trixie), reused after; needs root.
#   scripts/swift-chroot.sh [DIR]     prints DIR when it is ready
set -euo pipefail
DIR="${1:-$HOME/.cache/beat-ffi/swift-trixie}"
MIRROR="${BEAT_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
if [ -x "$DIR/usr/bin/swiftc" ] && [ -f "$DIR/.beat-ready" ]; then
  echo "$DIR"
  exit 0
fi
command -v debootstrap >/dev/null || {
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
}
rm -rf "$DIR"
mkdir -p "$DIR"
debootstrap --variant=minbase --include=swiftlang,libc6-dev,ca-certificates trixie "$DIR" "$MIRROR" >"$DIR.log" 2>&1 || {
  tail -20 "$DIR.log" >&2
  exit 1
}
touch "$DIR/.beat-ready"
echo "$DIR"
