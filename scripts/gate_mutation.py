#!/usr/bin/env python3
"""Gate mutation testing: does the circuit test suite notice a deleted constraint?

On a scratch copy of the repository (the real tree is never modified), deletes each
constraint of each custom gate created in circuits/src/circuit/ (its expression is
multiplied by zero, so the gate's shape stays and the constraint always holds), one
at a time, plus a few non-gate checks (the range-check lookups and the z_32 = 0 copy
constraint of the position decomposition); runs the circuit module's unit tests
against each mutant, and prints a table: gate, constraint, caught, by which tests.

Exits 0 if every mutant is caught, 1 if any survives, 2 if the unmutated baseline
fails or a mutant does not build.

    python3 scripts/gate_mutation.py            # all mutants
    python3 scripts/gate_mutation.py --list     # the mutants, without running
    python3 scripts/gate_mutation.py --only swap --only "spent value"

The scratch builds share one target directory (`--target-dir`, by default
$HOME/.cache/sable/target-mutation), so after the first run only the circuits crate
is rebuilt for each mutant.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CIRCUIT_DIR = Path("circuits/src/circuit")
ZERO = "pasta_curves::pallas::Base::zero()"
# The unit tests of the circuit module that exercise its gates (the generator-table
# and fixed-base tests do not lay out the circuit).
TEST_ARGS = [
    "circuit::",
    "--",
    "--skip",
    "circuit::generators",
    "--skip",
    "circuit::fixed_bases",
]


@dataclass
class Mutant:
    gate: str
    constraint: str
    path: Path  # relative to the repository root
    old: str
    new: str

    def label(self):
        return f"{self.gate} / {self.constraint}"


def matching(text, open_at):
    """Index of the bracket closing the one at `open_at` (skipping string literals)."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    stack = []
    i = open_at
    while i < len(text):
        c = text[i]
        if c == '"':
            i += 1
            while text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif c in pairs:
            stack.append(pairs[c])
        elif c in ")]}":
            if not stack or stack.pop() != c:
                raise ValueError(f"unbalanced {c!r} at {i}")
            if not stack:
                return i
        i += 1
    raise ValueError("unclosed bracket")


GATE = re.compile(r'create_gate\(\s*"([^"]+)"\s*,')
TUPLE = re.compile(r'\(\s*"([^"]+)"\s*,')


def gate_mutants():
    """One mutant per `("name", expression)` constraint of each `create_gate`."""
    out = []
    for path in sorted((REPO / CIRCUIT_DIR).glob("*.rs")):
        text = path.read_text()
        for g in GATE.finditer(text):
            body_end = matching(text, g.start() + len("create_gate"))
            found = 0
            for t in TUPLE.finditer(text, g.end(), body_end):
                close = matching(text, t.start())
                expr = text[t.end() : close].strip().rstrip(",").strip()
                old = text[t.start() : close + 1]
                new = f'("{t.group(1)}", ({expr}) * {ZERO})'
                out.append(Mutant(g.group(1), t.group(1), path.relative_to(REPO), old, new))
                found += 1
            if not found:
                raise SystemExit(f"no constraint found in gate {g.group(1)!r} of {path}")
    return out


# Constraints that are not custom gates: (what, which check, file, text, replacement).
EXTRA = [
    (
        "copy: z_D = 0",
        "position < 2^D",
        "gadgets.rs",
        "region.constrain_constant(z_cells[D].cell(), pallas::Base::zero())?;",
        "",
    ),
    (
        "lookup: range_check_64",
        "v_old < 2^64",
        "mod.rs",
        '("v_old", &gate.v_old),',
        "",
    ),
    (
        "lookup: range_check_64",
        "v_new < 2^64",
        "mod.rs",
        '("v_new", &gate.v_new),',
        "",
    ),
    (
        "lookup: range_check_64",
        "|v_net| < 2^64",
        "mod.rs",
        '("magnitude", &gate.magnitude),',
        "",
    ),
    (
        "lookup: range_check_64",
        "deposit value < 2^64",
        "deposit.rs",
        'range_check_64(&c.lookup, layouter.namespace(|| "value"), value.clone())?;',
        "",
    ),
]


def extra_mutants():
    return [
        Mutant(what, check, CIRCUIT_DIR / file, old, new)
        for what, check, file, old, new in EXTRA
    ]


def copy_repo(dest):
    ignore = shutil.ignore_patterns(".git", "target", "node_modules", "out", "cache")
    # Fresh modification times (shutil.copy, not copy2): cargo decides freshness by
    # mtime, and the shared target directory may hold a mutant of an earlier run that
    # is newer than the real tree's files.
    shutil.copytree(REPO, dest, ignore=ignore, symlinks=True, copy_function=shutil.copy)


def run_tests(root, target_dir, timeout):
    env = dict(os.environ, CARGO_TARGET_DIR=str(target_dir))
    cmd = ["cargo", "test", "--release", "-p", "sable-circuits", "--lib", *TEST_ARGS]
    try:
        p = subprocess.run(
            cmd,
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return "timeout", [], ""
    out = p.stdout + p.stderr
    failed = re.findall(r"^test (\S+) \.\.\. FAILED$", out, re.M)
    passed = re.findall(r"^test (\S+) \.\.\. ok$", out, re.M)
    if p.returncode == 0:
        return "pass", [], out
    if failed:
        return "fail", failed, out
    if not passed:
        return "build", [], out
    return "error", [], out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument(
        "--only",
        action="append",
        default=[],
        help="run only mutants whose 'gate / constraint' contains this (repeatable)",
    )
    ap.add_argument(
        "--target-dir",
        default=os.path.expanduser("~/.cache/sable/target-mutation"),
        help="cargo target directory shared by the scratch builds",
    )
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per test run")
    ap.add_argument("--keep", action="store_true", help="keep the scratch copy")
    args = ap.parse_args()

    mutants = gate_mutants() + extra_mutants()
    if args.only:
        mutants = [m for m in mutants if any(o in m.label() for o in args.only)]
    if args.list:
        for m in mutants:
            print(f"{m.label():60} {m.path}")
        return 0
    if not mutants:
        print("no mutant selected", file=sys.stderr)
        return 2

    start = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix="sable-gate-mutation-"))
    root = scratch / "repo"
    try:
        copy_repo(root)
        print(f"scratch copy: {root}", file=sys.stderr)
        status, _, out = run_tests(root, args.target_dir, args.timeout)
        print(f"baseline: {status} ({time.monotonic() - start:.0f} s)", file=sys.stderr)
        if status != "pass":
            print(out[-6000:], file=sys.stderr)
            print("the unmutated baseline must pass", file=sys.stderr)
            return 2

        rows = []
        broken = False
        for m in mutants:
            t0 = time.monotonic()
            path = root / m.path
            original = path.read_text()
            if original.count(m.old) != 1:
                print(f"{m.label()}: text not found exactly once in {m.path}", file=sys.stderr)
                return 2
            path.write_text(original.replace(m.old, m.new))
            try:
                status, failed, out = run_tests(root, args.target_dir, args.timeout)
            finally:
                path.write_text(original)
            if status in ("build", "error", "timeout"):
                broken = True
                print(out[-4000:], file=sys.stderr)
            caught = status == "fail"
            rows.append((m, caught, status, failed))
            print(
                f"{m.label()}: {status}, {len(failed)} failing "
                f"({time.monotonic() - t0:.0f} s)",
                file=sys.stderr,
            )

        print()
        print("| gate | constraint | caught | by |")
        print("| --- | --- | --- | --- |")
        for m, caught, status, failed in rows:
            by = ", ".join(f.removeprefix("circuit::") for f in failed) or f"({status})"
            cells = [m.gate, m.constraint, "yes" if caught else "NO", by]
            print("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        survived = [m for m, caught, _, _ in rows if not caught]
        print()
        print(
            f"{len(rows) - len(survived)}/{len(rows)} mutants caught in "
            f"{time.monotonic() - start:.0f} s"
        )
        if broken:
            return 2
        return 1 if survived else 0
    finally:
        if args.keep:
            print(f"kept {scratch}", file=sys.stderr)
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
