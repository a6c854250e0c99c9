#!/usr/bin/env bash
# The Python virtual environment with Google's stock gRPC client packages, for the
# stock-client test (node/tests/stock_grpcio.rs). Created once under
# $HOME/.cache/sable/venv (or $SABLE_VENV), from PyPI, without sudo; later runs reuse it.
# Prints the venv's python on stdout.
set -euo pipefail
venv="${SABLE_VENV:-$HOME/.cache/sable/venv}"
packages=(grpcio==1.85.4 grpcio-health-checking==1.85.1 grpcio-reflection==1.85.1)
probe='import grpc, grpc_health.v1.health_pb2_grpc, grpc_reflection.v1alpha.proto_reflection_descriptor_database'
if ! "$venv/bin/python" -c "$probe" 2>/dev/null; then
  mkdir -p "$(dirname "$venv")"
  if ! python3 -m venv "$venv" >&2; then
    # Debian ships the venv module separately.
    echo "installing python3-venv..." >&2
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >/dev/null
    rm -rf "$venv"
    python3 -m venv "$venv" >&2
  fi
  timeout 600 "$venv/bin/pip" install --quiet --disable-pip-version-check "${packages[@]}" >&2
  "$venv/bin/python" -c "$probe"
fi
echo "$venv/bin/python"
