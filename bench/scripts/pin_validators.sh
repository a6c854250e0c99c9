#!/bin/bash
# Pins each running devnet validator (all its threads) to CPU (N mod CPUS), N from the
# `validator-N` in its config path, as it starts; runs until killed. Used for the
# README's pinning measurement, alternating with runs without it:
#
#   bench/scripts/pin_validators.sh & PIN=$!
#   $HOME/.cache/sable/target/release/node_throughput --rounds 3 --loads 0.1 --seconds 0.5
#   kill $PIN
cpus=$(nproc)
declare -A pinned
while true; do
  for pid in $(pgrep -f "sable-node run"); do
    [[ -n "${pinned[$pid]}" ]] && continue
    cfg=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -o 'validator-[0-9]*' | head -1)
    [[ -z "$cfg" ]] && continue
    n=${cfg#validator-}
    taskset -a -p -c $((n % cpus)) "$pid" > /dev/null 2>&1 && pinned[$pid]=1
  done
  sleep 0.2
done
