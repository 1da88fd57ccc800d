#!/usr/bin/env python3
"""Sizes a reader can hold in their head (docs/architecture.md, "Layers").

Fails on a source file of common/, policies/, experiments/, feedback/, engine/ or sim/
over MAX_FILE lines, and on a function over MAX_FUNCTION lines whose leading comment
does not say why it is long (a line containing "Why long:"). Functions are found the
way this tree writes them (clang-format, Linux brace style): a line starting with a
declaration that opens with "{" alone on the next line and closes with "}" in column 0.

Usage: scripts/check_sizes.py [--root DIR] | --self-test
"""
import argparse
import os
import re
import sys
import tempfile

from check_layers import source_files

MAX_FILE = 900
MAX_FUNCTION = 120
DECL_RE = re.compile(r"^[A-Za-z_][\w \*]*?\b(\w+)\(")


def leading_comment(lines, i):
    """The comment block that ends right above line i (the declaration), as one string."""
    j = i - 1
    if j < 0 or not lines[j].rstrip().endswith("*/"):
        return ""
    while j >= 0 and not lines[j].lstrip().startswith("/*"):
        j -= 1
    return "\n".join(lines[max(j, 0):i])


def functions(lines):
    """(name, first line of the body, body length) of every function definition."""
    i = 0
    while i < len(lines):
        if lines[i] == "{" and i > 0:
            k = i - 1
            while k > 0 and not DECL_RE.match(lines[k]) and lines[k].strip():
                k -= 1
            m = DECL_RE.match(lines[k])
            j = i + 1
            while j < len(lines) and lines[j] != "}":
                j += 1
            if m:
                yield m.group(1), k, j - i - 1
            i = j
        i += 1


def check_file(path, rel):
    lines = open(path, errors="replace").read().split("\n")
    errors = []
    if len(lines) - 1 > MAX_FILE:
        errors.append(f"{rel}: {len(lines) - 1} lines (at most {MAX_FILE})")
    if rel.endswith(".c"):
        for name, decl, n in functions(lines):
            if n > MAX_FUNCTION and "Why long:" not in leading_comment(lines, decl):
                errors.append(f"{rel}:{decl + 1}: {name}() has {n} lines (at most "
                              f"{MAX_FUNCTION}, or a comment saying 'Why long:')")
    return errors


def check(root):
    errors = []
    for rel in source_files(root):
        errors += check_file(os.path.join(root, rel), rel)
    return errors


def self_test():
    """A long file, a long function, and a long function that says why."""
    body = "    x++;\n" * (MAX_FUNCTION + 1)
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "engine"))
        open(os.path.join(d, "engine", "a.c"), "w").write(
            "static int f(int x)\n{\n" + body + "}\n\n/* g.\n * Why long: a table. */\n"
            "int g(int x)\n{\n" + body + "}\n")
        open(os.path.join(d, "engine", "b.h"), "w").write("\n" * (MAX_FILE + 1))
        errs = check(d)
        assert errs == [f"engine/a.c:1: f() has {MAX_FUNCTION + 1} lines (at most "
                        f"{MAX_FUNCTION}, or a comment saying 'Why long:')",
                        f"engine/b.h: {MAX_FILE + 1} lines (at most {MAX_FILE})"], errs
    print("check_sizes self-test: 3 passed, 0 failed")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.join(os.path.dirname(__file__), ".."))
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    if args.self_test:
        return self_test()
    errors = check(os.path.abspath(args.root))
    for e in errors:
        print(e)
    print(f"check_sizes: {len(errors)} violation(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
