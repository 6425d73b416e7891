#!/usr/bin/env python3
"""Module-level import cycles in the output of `cargo modules dependencies` (Graphviz dot).

cargo-modules' own --acyclic works on items (a type and its own methods count as a cycle), so
this folds every node into the module that holds it and looks for cycles between modules: a
module that imports (uses) a module that imports it. Exits 1 and prints each cycle with the
uses that make it; 0 when there is none.
"""
import re
import sys
from collections import defaultdict

node = re.compile(r'^\s*"([^"]+)" \[label=.*// "mod" node')
edge = re.compile(r'^\s*"([^"]+)" -> "([^"]+)" \[label="uses"')
text = sys.stdin.read().splitlines()
modules = {m.group(1) for line in text if (m := node.match(line))}
if not modules:
    sys.exit("no modules in the input: is it the output of `cargo modules dependencies`?")


def owner(path):
    parts = path.split("::")
    while parts:
        p = "::".join(parts)
        if p in modules:
            return p
        parts.pop()
    return None


graph = defaultdict(set)
why = defaultdict(list)
for line in text:
    m = edge.match(line)
    if not m:
        continue
    a, b = owner(m.group(1)), owner(m.group(2))
    if a and b and a != b:
        graph[a].add(b)
        why[(a, b)].append(f"{m.group(1)} -> {m.group(2)}")

# Tarjan's strongly connected components.
index, low, on, stack, sccs, n = {}, {}, set(), [], [], [0]


def visit(v):
    index[v] = low[v] = n[0]
    n[0] += 1
    stack.append(v)
    on.add(v)
    for w in graph[v]:
        if w not in index:
            visit(w)
            low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop()
            on.discard(w)
            comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            sccs.append(sorted(comp))


sys.setrecursionlimit(10000)
for v in sorted(modules):
    if v not in index:
        visit(v)
for comp in sccs:
    print("import cycle between: " + ", ".join(comp))
    for a in comp:
        for b in sorted(graph[a]):
            if b in comp:
                print(f"  {a} -> {b}   (e.g. {why[(a, b)][0]})")
edges = sum(len(v) for v in graph.values())
print(f"{len(modules)} modules, {edges} imports between them, {len(sccs)} cycles")
sys.exit(1 if sccs else 0)
