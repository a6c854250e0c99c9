#!/usr/bin/env python3
"""Runs CPU-bound verification with a longer scheduler time slice (Linux 6.12+, EEVDF).

Four single-threaded verifiers on two cores are switched every base slice (1.4 ms here;
`se.slice` in /proc/PID/sched). This sets a longer slice with `sched_setattr`
(`sched_runtime` of a SCHED_OTHER task), to measure what those switches cost:

    sched_slice.py exec US CMD [ARGS...]   set this process's slice to US microseconds
                                           (0: leave it), then exec CMD; its threads
                                           inherit the slice
    sched_slice.py verifiers US            every 0.2 s, set the slice of every
                                           `sable-verify-*` thread of running
                                           `sable-node run` processes (until killed)

The validators do not do this themselves: the call is a raw syscall, which Sable's
crates (all `forbid(unsafe_code)`) cannot make.
"""
import ctypes
import os
import sys
import time

SYS_SCHED_SETATTR = 314  # x86_64


class SchedAttr(ctypes.Structure):
    _fields_ = [
        ("size", ctypes.c_uint32), ("policy", ctypes.c_uint32), ("flags", ctypes.c_uint64),
        ("nice", ctypes.c_int32), ("priority", ctypes.c_uint32), ("runtime", ctypes.c_uint64),
        ("deadline", ctypes.c_uint64), ("period", ctypes.c_uint64),
        ("util_min", ctypes.c_uint32), ("util_max", ctypes.c_uint32),
    ]


LIBC = ctypes.CDLL(None, use_errno=True)


def set_slice(tid, us):
    """Sets thread `tid`'s slice (0: the calling thread); raises OSError on failure."""
    attr = SchedAttr(size=ctypes.sizeof(SchedAttr), runtime=us * 1000)
    if LIBC.syscall(SYS_SCHED_SETATTR, tid, ctypes.byref(attr), 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"sched_setattr({tid}): {os.strerror(err)}")


def verifiers(us):
    done = set()
    while True:
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if b"sable-node\x00run" not in f.read():
                        continue
                for tid in os.listdir(f"/proc/{pid}/task"):
                    if tid in done:
                        continue
                    with open(f"/proc/{pid}/task/{tid}/comm") as f:
                        if f.read().startswith("sable-verify"):
                            set_slice(int(tid), us)
                            done.add(tid)
            except OSError:
                pass  # the process or thread ended meanwhile
        time.sleep(0.2)


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "exec":
        us = int(sys.argv[2])
        if us > 0:
            set_slice(0, us)
        os.execvp(sys.argv[3], sys.argv[3:])
    elif len(sys.argv) == 3 and sys.argv[1] == "verifiers":
        verifiers(int(sys.argv[2]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
