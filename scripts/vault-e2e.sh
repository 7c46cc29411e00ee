#!/usr/bin/env bash
# The family vault's end-to-end test through its web UI (demo-apps/family-vault/e2e/vault-e2e.js):
# four `vault serve` phones on loopback, driven in headless Chromium (Debian `chromium`) by
# playwright-core from npm (installed outside the clone). Screenshots of the file list and the
# health screen go to $VAULT_E2E_OUT (default target/vault-e2e in the clone). Last line:
#   BEAT-VAULT files=50 bytes=… downloads_ok=50/50 conflicts_kept=1 repair_s=… storage_overhead=… ui_checks=P/T
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/beat-target}"
PW="${BEAT_PLAYWRIGHT:-$HOME/.cache/beat-playwright}"
PW_VERSION=1.65.1
CHROMIUM="${CHROMIUM:-$(command -v chromium || true)}"
[ -x "$CHROMIUM" ] || { echo "vault-e2e: needs Debian's chromium (apt-get install chromium)" >&2; exit 1; }
if [ "$(node -p "try { require('$PW/node_modules/playwright-core/package.json').version } catch (e) { '' }")" != "$PW_VERSION" ]; then
  mkdir -p "$PW"
  (cd "$PW" && { [ -f package.json ] || npm init -y >/dev/null; } && npm install --silent --no-audit --no-fund "playwright-core@$PW_VERSION")
fi
cargo build --release -p beat-vault --bin vault
OUT="${VAULT_E2E_OUT:-target/vault-e2e}"
echo "vault-e2e: chromium $("$CHROMIUM" --version 2>/dev/null | awk '{print $2}'), playwright-core $PW_VERSION, screenshots in $OUT"
NODE_PATH="$PW/node_modules" node demo-apps/family-vault/e2e/vault-e2e.js "$CARGO_TARGET_DIR/release/vault" "$CHROMIUM" "$OUT"
