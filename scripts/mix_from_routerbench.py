#!/usr/bin/env python3
"""Draw a prompt mix for `switchyard loadgen --mix` from RouterBench CSV files.

Each output line is one prompt of the dataset with its kind (the CSV's eval_name) and
every model's real outcome, in the generic full-information JSONL that `switchyard sim
--jsonl` also reads:

    {"prompt": "...", "kind": "mbpp", "outcomes": {"gpt-4-1106-preview": {"quality": 1.0,
     "cost_usd": 0.0094}, ...}}

loadgen then rates each answer with the outcome of the model that served it (its
x-switchyard-upstream-model, else its gateway name), so the live gateway sees the
dataset's users. The data stays where it is: write the mix outside the repository.

    scripts/mix_from_routerbench.py ../shared/data/routerbench --per-kind 200 --seed 1 \
        --models gpt-4-1106-preview,gpt-3.5-turbo-1106,zero-one-ai/Yi-34B-Chat > /tmp/mix.jsonl

A prompt cell holds a Python list literal of the conversation's turns; the last turn
becomes the prompt (the earlier ones are dropped: loadgen sends one user message).
Empty score or cost cells are missing outcomes, never zero.
"""
import argparse
import ast
import csv
import json
import pathlib
import random
import sys

csv.field_size_limit(1 << 30)


def last_turn(cell):
    try:
        turns = ast.literal_eval(cell)
    except (ValueError, SyntaxError):
        return cell
    if isinstance(turns, (list, tuple)) and turns and all(isinstance(t, str) for t in turns):
        return turns[-1]
    return cell


def number(cell):
    try:
        v = float(cell)
    except (TypeError, ValueError):
        return None
    return v if v == v else None  # NaN is missing


def read_rows(paths):
    for path in paths:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            models = [c for c in reader.fieldnames if c and "|" not in c and c not in
                      ("sample_id", "prompt", "eval_name", "oracle_model_to_route_to")]
            for row in reader:
                yield models, row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="+", help="RouterBench CSV files or folders of them")
    ap.add_argument("--per-kind", type=int, default=200, help="prompts drawn per eval_name")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--models", help="comma-separated models to keep (default: all)")
    a = ap.parse_args()
    files = []
    for p in map(pathlib.Path, a.paths):
        files += sorted(p.glob("*.csv")) if p.is_dir() else [p]
    keep = set(a.models.split(",")) if a.models else None
    by_kind = {}
    for models, row in read_rows(files):
        outcomes = {}
        for m in models:
            q, c = number(row.get(m)), number(row.get(f"{m}|total_cost"))
            if (keep is None or m in keep) and q is not None:
                outcomes[m] = {"quality": q} | ({"cost_usd": c} if c is not None else {})
        if outcomes:
            by_kind.setdefault(row["eval_name"], []).append(
                {"prompt": last_turn(row["prompt"]), "kind": row["eval_name"],
                 "outcomes": outcomes})
    if not by_kind:
        sys.exit("no usable row in " + ", ".join(map(str, files)))
    rng = random.Random(a.seed)
    lines = []
    for kind in sorted(by_kind):
        rows = by_kind[kind]
        lines += rng.sample(rows, min(a.per_kind, len(rows)))
    rng.shuffle(lines)
    for line in lines:
        print(json.dumps(line, ensure_ascii=False))


if __name__ == "__main__":
    main()
