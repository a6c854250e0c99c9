#!/usr/bin/env bash
# Quickstart, main job: two banks, two issuers and a regulator settle a transfer and an
# atomic DvP on shielded notes, then print what each party can see and the timings.
source "$(dirname "$0")/env.sh"
cargo run --quiet --release -p sable-demo
