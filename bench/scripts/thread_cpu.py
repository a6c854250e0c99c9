#!/usr/bin/env python3
"""Where the validators' CPU goes over time, by thread: proof verification or the rest.

Record while `node_throughput` runs, then split one phase's window (the benchmark prints
each phase's start and end on CLOCK_MONOTONIC as `Instant { tv_sec, tv_nsec }`):

    python3 bench/scripts/thread_cpu.py record samples.txt &
    $HOME/.cache/sable/target/release/node_throughput --saturation 1100 --loads 0.1 --seconds 0.5 --rounds 1
    kill %1
    python3 bench/scripts/thread_cpu.py split samples.txt T0 T1

`record` reads, every 0.1 s, the CPU ticks of every thread of every `sable-node run`
process from /proc (verification threads are `sable-verify-N`; the rest are the async
runtime's workers and blocking threads) and their minor page faults. `split` prints, per
second of the window and in total, each kind's share of the machine's cores and the
memory faulted in. The recorder itself takes about 3% of one core.
"""
import os
import sys
import time


def kind(thread_name):
    return "verify" if thread_name.startswith("sable-verif") else "rest"


def record(path):
    with open(path, "w") as out:
        while True:
            now = time.clock_gettime(time.CLOCK_MONOTONIC)
            ticks = {"verify": 0, "rest": 0}
            faults = 0
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        if b"sable-node\x00run" not in f.read():
                            continue
                    with open(f"/proc/{pid}/stat") as f:
                        stat = f.read()
                    faults += int(stat[stat.rindex(")") + 2:].split()[7])
                    for tid in os.listdir(f"/proc/{pid}/task"):
                        with open(f"/proc/{pid}/task/{tid}/stat") as f:
                            s = f.read()
                        fields = s[s.rindex(")") + 2:].split()
                        name = s[s.index("(") + 1:s.rindex(")")]
                        ticks[kind(name)] += int(fields[11]) + int(fields[12])
                except (OSError, ValueError, IndexError):
                    continue  # a process or thread that ended while being read
            out.write(f"{now:.3f} verify={ticks['verify']} rest={ticks['rest']} faults={faults}\n")
            out.flush()
            time.sleep(0.1)


def split(path, t0, t1, bucket=1.0):
    ticks_per_s = os.sysconf("SC_CLK_TCK")
    cores = os.cpu_count() or 1
    page = os.sysconf("SC_PAGE_SIZE")
    rows = []
    with open(path) as f:
        for line in f:
            t, *kv = line.split()
            rows.append((float(t), {k: int(v) for k, v in (x.split("=") for x in kv)}))
    rows = [r for r in rows if t0 - 0.05 <= r[0] <= t1 + 0.1]
    if len(rows) < 2:
        sys.exit("no samples in that window")

    def show(a, b, label):
        dt = b[0] - a[0]
        share = {k: 100 * (b[1][k] - a[1][k]) / ticks_per_s / (dt * cores) for k in ("verify", "rest")}
        mb = (b[1]["faults"] - a[1]["faults"]) * page / 1e6
        print(f"{label}  verification {share['verify']:5.1f}%  rest {share['rest']:5.1f}%"
              f"  busy {sum(share.values()):5.1f}%  faulted in {mb:7.1f} MB")

    start = rows[0]
    for r in rows[1:]:
        if r[0] - start[0] >= bucket or r is rows[-1]:
            show(start, r, f"{start[0] - t0:6.2f}–{r[0] - t0:6.2f} s")
            start = r
    show(rows[0], rows[-1], f"total {rows[-1][0] - rows[0][0]:.2f} s  ")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "record":
        record(sys.argv[2])
    elif len(sys.argv) == 5 and sys.argv[1] == "split":
        split(sys.argv[2], float(sys.argv[3]), float(sys.argv[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
