# Shared setup for the Quickstart scripts (sourced, not run).
# Idempotent: installs only what is missing. Nothing here needs a system package yet;
# later capabilities add theirs here (libclang-dev for RocksDB, npm Foundry).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# Compiled output lives outside the clone so fresh clones (and CI) reuse it.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sable/target}"
mkdir -p "$CARGO_TARGET_DIR"
if ! command -v cargo >/dev/null 2>&1; then
  echo "error: cargo (the Rust toolchain) is required" >&2
  exit 1
fi
