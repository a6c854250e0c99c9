#!/usr/bin/env bash
# Quickstart, main job: a 4-validator devnet (the test kit's, of `sable-node` processes) where two
# banks, two issuers and a regulator settle a transfer and an atomic DvP on shielded
# notes through the nodes' mutual-TLS API, then print what each party can see and timings.
source "$(dirname "$0")/env.sh"
cargo build --quiet --release -p sable-node -p sable-demo
exec "$CARGO_TARGET_DIR/release/sable-demo"
