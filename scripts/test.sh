#!/usr/bin/env bash
# Quickstart, whole test suite: formatting, lints (warnings are errors), the contracts'
# forge tests (fuzzing included), then every test of every crate in release mode (Halo2
# proving is tens of times slower unoptimised).
source "$(dirname "$0")/env.sh"
cargo fmt --all -- --check
# No module of a crate imports another that imports it back.
for src in */src; do python3 scripts/import_cycles.py "$src" -q; done
(cd contracts && "$SABLE_FORGE" fmt --check && "$SABLE_FORGE" test)
if cargo clippy --version >/dev/null 2>&1; then
  cargo clippy --release --workspace --all-targets -- -D warnings
else
  echo "warning: clippy is not installed; skipping lints" >&2
fi
# The stock-grpcio test (node/tests/stock_grpcio.rs) needs Google's Python gRPC client:
# its venv is made once, from PyPI, under $HOME/.cache/sable/venv.
bash scripts/grpcio-venv.sh >/dev/null
# The HTML audit report is rendered by a real browser (compliance/tests/report_browser.rs):
# Debian's chromium, installed once.
if [ -z "${SABLE_CHROMIUM:-}" ] && ! [ -x /usr/bin/chromium ]; then
  echo "installing chromium (renders the HTML audit report in a test)..." >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
cargo test --release --workspace
