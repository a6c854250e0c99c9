#!/usr/bin/env python3
"""Top-level module import graph of a crate's src/, from every `crate::` path outside
comments; test-only code (`#[cfg(test)] mod x { .. }` blocks and files declared by
`#[cfg(test)] mod x;`) is graphed apart. Exits 1 if the non-test graph has a cycle.

Usage: scripts/import_cycles.py CRATE/src [-q]   (-q: print only a cycle)"""
import os, re, sys
src = sys.argv[1]
quiet = "-q" in sys.argv[2:]
if quiet:
    _print = print
    def print(*a, **k):  # noqa: A001 - only the verdict in quiet mode
        if a and str(a[0]).startswith("cycles, non-test") and a[1] != "none":
            _print(src, *a, **k)
def strip(text):
    """The code without comments and without the contents of string and character
    literals (so a `{` or `crate::` inside one counts for nothing)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c, nxt = text[i], text[i + 1:i + 2]
        if c == '/' and nxt == '/':
            while i < n and text[i] != '\n':
                i += 1
        elif c == '/' and nxt == '*':
            end = text.find('*/', i + 2)
            i = n if end < 0 else end + 2
        elif c == 'r' and re.match(r'r#*"', text[i:i + 8]) and not (i and (text[i - 1].isalnum() or text[i - 1] == '_')):
            hashes = re.match(r'r(#*)"', text[i:]).group(1)
            end = text.find('"' + hashes, i + 2 + len(hashes))
            out.append('""'); i = n if end < 0 else end + 1 + len(hashes)
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == '\\' else 1
            out.append('""'); i += 1
        elif c == "'" and (nxt == '\\' or text[i + 2:i + 3] == "'"):
            end = text.find("'", i + 2 if nxt == '\\' else i + 1)
            while nxt == '\\' and end > 0 and text[end - 1] == '\\' and text[end - 2] != '\\':
                end = text.find("'", end + 1)
            out.append("''"); i = n if end < 0 else end + 1
        else:
            out.append(c); i += 1
    return ''.join(out)
def block_end(text, i):
    depth = 1
    while depth:
        depth += {'{': 1, '}': -1}.get(text[i], 0); i += 1
    return i
def names(body):
    out, depth, cur = [], 0, ''
    for ch in body + ',':
        if ch == ',' and depth == 0:
            m = re.match(r'\s*(\w+)', cur); cur = ''
            if m: out.append(m.group(1))
            continue
        depth += {'{': 1, '}': -1}.get(ch, 0); cur += ch
    return out
def deps(text):
    d = set(re.findall(r'crate::(\w+)', text))
    for m in re.finditer(r'crate::\{', text):
        d.update(names(text[m.end():block_end(text, m.end()) - 1]))
    return d
def module(path):
    parts = os.path.relpath(path, src)[:-3].split(os.sep)
    return None if parts in (['lib'], ['main']) else parts[0]
test_files = set()
for root, _, files in os.walk(src):
    for f in files:
        if f.endswith('.rs'):
            p = os.path.join(root, f)
            for m in re.finditer(r'#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;', strip(open(p).read())):
                base = root if f in ('mod.rs', 'lib.rs') else os.path.join(root, f[:-3])
                test_files.add(os.path.join(base, m.group(1) + '.rs'))
                test_files.add(os.path.join(base, m.group(1), 'mod.rs'))
graph, test_graph = {}, {}
for root, _, files in os.walk(src):
    for f in files:
        if not f.endswith('.rs'): continue
        p = os.path.join(root, f); m = module(p)
        if m is None: continue
        text = strip(open(p).read())
        test_code = ''
        if p in test_files:
            text, test_code = '', text
        for t in list(re.finditer(r'#\[cfg\(test\)\]\s*mod\s+\w+\s*\{', text))[::-1]:
            e = block_end(text, t.end())
            test_code += text[t.start():e]; text = text[:t.start()] + text[e:]
        graph.setdefault(m, set()).update(deps(text) - {m})
        test_graph.setdefault(m, set()).update(deps(test_code) - {m})
mods = set(graph)
for g in (graph, test_graph):
    for k in g: g[k] &= mods  # re-exports at the crate root are not modules
print("module             -> imports (non-test code)")
for m in sorted(graph):
    print(f"{m:18} -> {', '.join(sorted(graph[m])) or '-'}")
extra = {m: test_graph[m] - graph[m] for m in test_graph if test_graph[m] - graph[m]}
if extra:
    print("test-only imports (cfg(test) code):")
    for m in sorted(extra):
        print(f"  {m:16} -> {', '.join(sorted(extra[m]))}")
def cycles(g):
    idx, low, st, on, out, c = {}, {}, [], set(), [], [0]
    def sc(v):
        idx[v] = low[v] = c[0]; c[0] += 1; st.append(v); on.add(v)
        for w in g.get(v, ()):
            if w not in idx: sc(w); low[v] = min(low[v], low[w])
            elif w in on: low[v] = min(low[v], idx[w])
        if low[v] == idx[v]:
            comp = []
            while True:
                w = st.pop(); on.discard(w); comp.append(w)
                if w == v: break
            if len(comp) > 1: out.append(sorted(comp))
    for v in sorted(g):
        if v not in idx: sc(v)
    return out
both = {m: graph[m] | test_graph.get(m, set()) for m in graph}
print("cycles, non-test code:", cycles(graph) or "none")
print("cycles, with test code:", cycles(both) or "none")
sys.exit(1 if cycles(graph) else 0)
