#!/usr/bin/env python3
"""Splits a `perf` profile of the devnet's validators into where their CPU went.

Record across a `node_throughput` run (it prints each phase's start and end on
CLOCK_MONOTONIC as `Instant { tv_sec, tv_nsec }`), then classify one phase's window:

    perf record -a -k CLOCK_MONOTONIC -F 149 --call-graph dwarf,16384 -o perf.data -- \
        $HOME/.cache/sable/target/release/node_throughput --saturation 1100 --loads 0.1 --seconds 1
    perf script -i perf.data -F comm,tid,time,ip,sym --time T0,T1 | \
        python3 bench/scripts/profile_categories.py T0 T1

Each sample goes to the first category whose pattern appears in its call stack; samples
whose stack matches none are listed under their thread's name (the validators' proof
verification threads are `sable-verify-N`, whose deep stacks perf often truncates).
"""
import collections
import re
import sys

# (category, substrings of a frame; "a&b" means both appear somewhere in the stack)
RULES = [
    ("verify:batch", ["BatchValidator::validate", "ProofBatch", "verify_batch"]),
    ("verify:add", ["BatchValidator::add"]),
    ("decode:exec", ["Executor::apply&Transaction::from_bytes"]),
    ("decode:other", ["Transaction::from_bytes"]),
    ("exec:tree", ["PersistentTree"]),
    ("exec:other", ["Executor::apply"]),
    ("rocksdb", ["rocksdb::"]),
    ("grpc", ["tonic::", "hyper::", "h2::"]),
    ("p2p/consensus", ["commonware"]),
    ("tls", ["rustls", "chacha20_poly1305", "ring::"]),
    ("state-check", ["check_state", "check_l1"]),
    ("mempool", ["mempool::"]),
    ("tracing", ["tracing_subscriber", "tracing::"]),
]


def matches(pattern, stack):
    return all(part in stack for part in pattern.split("&"))


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: perf script -F comm,tid,time,ip,sym | profile_categories.py T0 T1")
    t0, t1 = float(sys.argv[1]), float(sys.argv[2])
    counts = collections.Counter()
    leaves = collections.defaultdict(collections.Counter)
    total = 0

    def flush(header, frames):
        nonlocal total
        if header is None or not (t0 <= header[1] <= t1):
            return
        total += 1
        comm = header[0]
        if comm == "swapper":
            counts["idle"] += 1
            return
        stack = "\n".join(frames)
        name = next(
            (n for n, pats in RULES if any(matches(p, stack) for p in pats)),
            "other:" + comm,
        )
        counts[name] += 1
        leaves[name][(frames[0] if frames else "?")[:90]] += 1

    header, frames = None, []
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line.strip():
            flush(header, frames)
            header, frames = None, []
        elif not line.startswith((" ", "\t")):
            flush(header, frames)
            frames = []
            m = re.match(r"\s*(\S.*?)\s+(\d+)\s+(\d+\.\d+):", line)
            header = (m.group(1), float(m.group(3))) if m else None
        else:
            parts = line.strip().split(None, 1)
            frames.append(parts[-1])
    flush(header, frames)

    print("samples", total)
    for name, n in counts.most_common():
        print(f"{100 * n / max(total, 1):6.2f}%  {name}")
        for leaf, k in leaves[name].most_common(4):
            print(f"          {100 * k / max(total, 1):5.2f}%  {leaf}")


if __name__ == "__main__":
    main()
