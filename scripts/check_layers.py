#!/usr/bin/env python3
"""The layering of the source tree, checked from outside the compiler.

The build already refuses a file that includes a header of a layer above its own
(each folder's library sees only its own folder and the libraries it links). This
script checks the rest of docs/architecture.md's rules, reading the layers from the
`sy_layer(TARGET FOLDER DEPS...)` lines of CMakeLists.txt, so there is one source of
truth:

  1. every `#include "x.h"` resolves to exactly one header of the tree, in the file's
     own folder or in a folder its library may reach (its links, transitively);
  2. with --build DIR, every symbol a file uses from another file of the tree (read
     from the object files with nm) is defined in such a folder too;
  3. no cycle between files: neither in the include graph (files as nodes) nor, with
     --build, in the call graph (.c files as nodes, an edge where one uses a function
     or object another defines);
  4. the library graph declared in CMakeLists.txt has no cycle.

Exit status 0 when all hold; 1 with one line per violation otherwise.
It also draws the layers (--diagram) and checks that a document shows the current
picture (--doc docs/architecture.md).
Usage: scripts/check_layers.py [--root DIR] [--build DIR] [--doc FILE] | --diagram | --self-test
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

SOURCE_DIRS = ("common", "policies", "experiments", "feedback", "cache", "engine", "sim")
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
LAYER_RE = re.compile(r"sy_layer\(\s*(\w+)\s+([\w/]+)((?:\s+[\w:]+)*)\s*\)", re.S)


def read_targets(root):
    """({target: folder}, {target: [linked sy_ targets]}) from CMakeLists.txt."""
    text = open(os.path.join(root, "CMakeLists.txt")).read()
    text = re.sub(r"#[^\n]*", "", text)
    folder_of, deps = {}, {}
    for target, folder, rest in LAYER_RE.findall(text):
        folder_of[target] = folder
        deps[target] = [d for d in rest.split() if d.startswith("sy_")]
    return folder_of, deps


def read_layers(root):
    """{folder: set of folders it may reach (itself included)} from CMakeLists.txt."""
    folder_of, deps = read_targets(root)
    errors = []
    reach = {}

    def visit(t, stack):
        if t in reach:
            return reach[t]
        if t in stack:
            errors.append("library cycle: " + " -> ".join(stack[stack.index(t):] + [t]))
            return set()
        out = {t}
        for d in deps.get(t, []):
            if d in folder_of:
                out |= visit(d, stack + [t])
        reach[t] = out
        return out

    for t in folder_of:
        visit(t, [])
    allowed = {folder_of[t]: {folder_of[r] for r in reach[t]} for t in folder_of}
    return allowed, errors


def source_files(root):
    for top in SOURCE_DIRS:
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            for n in sorted(names):
                if n.endswith((".c", ".cpp", ".h")):
                    yield os.path.relpath(os.path.join(dirpath, n), root)


def module_of(path):
    """engine/net/upstream.c -> engine/net/upstream (the .c an object file came from)."""
    return os.path.splitext(path)[0]


def strongly_connected(graph):
    """Tarjan's algorithm, iteratively: the components with more than one node."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    advanced = True
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def symbol_edges(root, build):
    """(user module, definer module, symbol) for every cross-file use in the objects."""
    defs, uses = {}, {}
    for dirpath, _, names in os.walk(build):
        for n in names:
            if not n.endswith((".c.o", ".cpp.o")) or ".dir" not in dirpath:
                continue
            rel = os.path.join(dirpath, n).split(".dir" + os.sep, 1)[1][: -len(".o")]
            if not rel.startswith(SOURCE_DIRS):
                continue
            nm = subprocess.run(["nm", os.path.join(dirpath, n)], capture_output=True,
                                text=True, check=True).stdout
            mod = module_of(rel)
            for line in nm.splitlines():
                parts = line.split()
                if len(parts) == 3 and parts[1] in "TDBRC":
                    defs[parts[2]] = mod
                elif len(parts) == 2 and parts[0] == "U":
                    uses.setdefault(mod, set()).add(parts[1])
    for mod, syms in uses.items():
        for s in syms:
            if s in defs and defs[s] != mod:
                yield mod, defs[s], s


def check(root, build=None):
    allowed, errors = read_layers(root)
    files = list(source_files(root))
    by_name = {}
    for f in files:
        by_name.setdefault(os.path.basename(f), []).append(f)
    includes = {f: set() for f in files}
    calls = {}
    why = {}

    def folder_allows(src, dst):
        a, b = os.path.dirname(src), os.path.dirname(dst)
        return a == b or b in allowed.get(a, set())

    for f in files:
        text = open(os.path.join(root, f), errors="replace").read()
        for inc in INCLUDE_RE.findall(text):
            found = by_name.get(os.path.basename(inc), [])
            if not found:
                continue  # a header of a library (cmocka, cJSON ...) or a generated one
            if len(found) > 1:
                errors.append(f"{f}: include \"{inc}\" is ambiguous: {', '.join(found)}")
                continue
            dst = found[0]
            if not folder_allows(f, dst):
                errors.append(f"{f}: includes {dst}, a layer its folder may not reach")
            if dst != f:
                includes[f].add(dst)
                why.setdefault((f, dst), "includes")
    if build:
        for a, b, sym in symbol_edges(root, build):
            a, b = a + ".c", b + ".c"
            if not folder_allows(a, b):
                errors.append(f"{a}: calls {sym} of {b}, a layer its folder may not reach")
            calls.setdefault(a, set()).add(b)
            calls.setdefault(b, set())
            why.setdefault((a, b), f"uses {sym}")
    for kind, graph in (("include", includes), ("call", calls)):
        for comp in strongly_connected(graph):
            members = set(comp)
            edges = [f"{a} -> {b} ({why[(a, b)]})" for a in comp for b in sorted(graph[a])
                     if b in members]
            errors.append(f"{kind} cycle between " + ", ".join(comp) + ": " + "; ".join(edges))
    return errors


def diagram(root):
    """The layers as a Mermaid graph: each folder with an arrow to the folders it links
    directly and could not reach through another of them (transitive reduction)."""
    folder_of, deps = read_targets(root)
    allowed, _ = read_layers(root)
    lines = ["```mermaid", "graph TD"]
    node = {f: re.sub(r"\W", "_", f) for f in folder_of.values()}
    for t in folder_of:
        f = folder_of[t]
        direct = {folder_of[d] for d in deps[t] if d in folder_of}
        for g in sorted(direct):
            if not any(g in allowed[h] for h in direct if h != g):
                lines.append(f'    {node[f]}["{f}/"] --> {node[g]}["{g}/"]')
    lines.append("```")
    return "\n".join(lines) + "\n"


def self_test():
    """The checker must find a cycle, an upward include and a library cycle."""
    with tempfile.TemporaryDirectory() as d:
        def put(path, text):
            os.makedirs(os.path.dirname(os.path.join(d, path)), exist_ok=True)
            open(os.path.join(d, path), "w").write(text)

        put("CMakeLists.txt", "sy_layer(sy_common common m)\n"
                              "sy_layer(sy_low engine/low sy_common)\n"
                              "sy_layer(sy_high engine/high sy_low\n  sy_common)\n")
        put("common/a.h", "")
        put("engine/low/b.h", '#include "a.h"\n#include "c.h"\n')
        put("engine/low/b.c", '#include "b.h"\n')
        put("engine/low/c.h", '#include "b.h"\n')
        put("engine/low/c.c", '#include "c.h"\n')
        put("engine/high/d.c", '#include "b.h"\n')
        assert check(d) == [
            "include cycle between engine/low/b.h, engine/low/c.h: engine/low/b.h -> "
            "engine/low/c.h (includes); engine/low/c.h -> engine/low/b.h (includes)"], check(d)
        put("engine/low/c.h", "")
        put("engine/low/c.c", '#include "c.h"\n#include "d.h"\n')
        put("engine/high/d.h", "")
        errs = check(d)
        assert errs == ["engine/low/c.c: includes engine/high/d.h, a layer its folder may "
                        "not reach"], errs
        put("CMakeLists.txt", "sy_layer(sy_common common sy_low)\n"
                              "sy_layer(sy_low engine/low sy_common)\n")
        put("engine/low/c.c", '#include "c.h"\n')
        put("engine/high/d.c", "")
        errs = check(d)
        assert any(e.startswith("library cycle:") for e in errs), errs
    print("check_layers self-test: 3 passed, 0 failed")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.join(os.path.dirname(__file__), ".."))
    ap.add_argument("--build", help="a build directory: check calls between object files too")
    ap.add_argument("--self-test", action="store_true", help="check the checker")
    ap.add_argument("--diagram", action="store_true",
                    help="print the layers as a Mermaid graph (docs/architecture.md)")
    ap.add_argument("--doc", help="a Markdown file that must hold the --diagram output")
    args = ap.parse_args()
    if args.self_test:
        return self_test()
    root = os.path.abspath(args.root)
    if args.diagram:
        sys.stdout.write(diagram(root))
        return 0
    errors = check(root, args.build)
    if args.doc and diagram(root) not in open(args.doc).read():
        errors.append(f"{args.doc}: the layer diagram is not the one CMakeLists.txt declares "
                      "(regenerate it with scripts/check_layers.py --diagram)")
    for e in errors:
        print(e)
    n = len(list(source_files(os.path.abspath(args.root))))
    print(f"check_layers: {n} files, {len(errors)} violation(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
