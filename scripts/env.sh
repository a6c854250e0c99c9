# Shared setup for the Quickstart scripts (sourced, not run).
# Idempotent: installs only what is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# Compiled output lives outside the clone so fresh clones (and CI) reuse it.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sable/target}"
mkdir -p "$CARGO_TARGET_DIR"
if ! command -v cargo >/dev/null 2>&1; then
  echo "error: cargo (the Rust toolchain) is required" >&2
  exit 1
fi
# RocksDB's bindings need libclang at build time.
# (libclang itself, not libclang-cpp, which some images carry without it).
if ! ls /usr/lib/llvm-*/lib/libclang.so* >/dev/null 2>&1 \
  && ! ldconfig -p 2>/dev/null | grep -qE 'libclang(-[0-9.]+)?\.so'; then
  echo "installing libclang-dev (needed to build RocksDB)..." >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libclang-dev >/dev/null
fi
# The contracts' toolchain from npm, pinned in contracts/package-lock.json: forge and
# anvil (Foundry 1.7.1), solc 0.8.37 (solcjs behind contracts/tools/solc), OpenZeppelin.
if ! command -v npm >/dev/null 2>&1; then
  echo "error: npm (Node.js) is required for the contracts' toolchain" >&2
  exit 1
fi
LOCK_SUM="$(sha256sum contracts/package-lock.json | cut -d' ' -f1)"
if [ "$(cat contracts/node_modules/.sable-lock 2>/dev/null)" != "$LOCK_SUM" ]; then
  echo "installing the contracts' toolchain (npm ci)..." >&2
  (cd contracts && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$LOCK_SUM" > contracts/node_modules/.sable-lock
fi
export SABLE_FORGE="$PWD/contracts/node_modules/@foundry-rs/forge-linux-amd64/bin/forge"
export SABLE_ANVIL="$PWD/contracts/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
