#!/usr/bin/python3
"""Instructions per request by stage (issue 17), from the per-thread callgrind files of
bench/callgrind.py (`--keep DIR`).

Each stage is the inclusive cost of named functions of the worker or the store thread
(callgrind_annotate --inclusive), with the callbacks a function runs for another stage
subtracted, so that the stages do not overlap; "other" is what no stage names (the event
loop, libevent's dispatch, malloc outside the named functions...).

Usage: /usr/bin/python3 bench/budget.py --requests N DIR [DIR2]
       (two directories: before and after, side by side)"""
import argparse
import pathlib
import re
import subprocess
import sys

# (stage, thread, plus functions, minus functions)
STAGES = [
    ("read + parse: socket read, HTTP head, key check (head check)", "worker",
     ["bufferevent_run_readcb_"], ["sy_api_client_handler"]),
    ("read + parse: path, method and client-key gate (handler)", "worker",
     ["sy_api_client_handler"], ["sy_pipeline_chat"]),
    ("read + parse: JSON parse, schema checks (admit, validate)", "worker",
     ["sy_call_admit", "sy_chat_validate_body"], []),
    ("call setup: feedback token (HMAC-SHA-256), call state", "worker",
     ["sy_call_new"], []),
    ("route: conversation, features, policy decision", "worker",
     ["sy_call_target"], []),
    ("build the upstream request (body, headers, URL)", "worker",
     ["sy_chat_start_attempt"], ["sy_upstream_start"]),
    ("curl: start, transfer state machine, finish", "worker",
     ["sy_upstream_start", "socket_event_cb", "timer_event_cb"],
     ["on_done", "sy_chat_on_data", "sy_chat_on_header"]),
    ("relay + usage parse (answer scan, response to the client)", "worker",
     ["on_done", "sy_chat_on_data", "sy_chat_on_header"], ["sy_chat_finish"]),
    ("finish: log line, cost, store events (queued)", "worker", ["sy_chat_finish"], []),
    ("write the response (flush)", "worker", ["flush_cb"], []),
    ("store: commit (LMDB)", "store", ["sy_store_commit_batch"], []),
    ("store: conversation sweep", "store", ["sy_store_sweep_step", "sweep_conversations"], []),
    ("learner: observe, snapshots", "store", ["observe"], []),
]


def inclusive(path):
    """{function name: inclusive Ir} of one callgrind file (recursion suffixes folded,
    the largest entry kept), and the file's total."""
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(path)],
                         capture_output=True, text=True, check=True).stdout
    inc, total = {}, 0
    for line in out.splitlines():
        m = re.match(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+(\S+)", line)
        if not m:
            continue
        ir = int(m.group(1).replace(",", ""))
        name = m.group(2)
        if name == "PROGRAM":
            total = ir
            continue
        if name.startswith("=>") or line.lstrip().startswith("=>"):
            continue
        fn = re.sub(r"'\d+$", "", name.split(":", 1)[1] if ":" in name else name)
        fn = re.sub(r"\.(isra|constprop|part)\.\d+$", "", fn)
        inc[fn] = max(inc.get(fn, 0), ir)
    return inc, total


def threads(d):
    """{'worker': (inc, total), 'store': (inc, total)} from a --keep directory."""
    res = {}
    for f in sorted(pathlib.Path(d).glob("callgrind.out-*")):
        inc, total = inclusive(f)
        kind = "store" if "store_main" in inc else "worker" if "read_cb" in inc else None
        if kind and kind not in res:
            res[kind] = (inc, total)
    return res


def budget(d, requests):
    """[(stage, thread, Ir per request)] with an 'other' row per thread."""
    t = threads(d)
    rows = []
    for kind in ("worker", "store"):
        if kind not in t:
            continue
        inc, total = t[kind]
        named = 0
        for stage, th, plus, minus in STAGES:
            if th != kind:
                continue
            v = sum(inc.get(f, 0) for f in plus) - sum(inc.get(f, 0) for f in minus)
            v = max(v, 0)
            named += v
            rows.append((stage, kind, v / requests))
        rows.append((f"other ({kind} thread: event loop, dispatch, unnamed)", kind,
                     (total - named) / requests))
        rows.append((f"**{kind} thread, all**", kind, total / requests))
    return rows


def table(dirs, requests):
    cols = [budget(d, requests) for d in dirs]
    head = "| stage | thread | " + " | ".join(
        ["Ir/request"] if len(dirs) == 1 else ["before", "after", "change"]) + " |"
    lines = [head, "|---|---|" + "---|" * (1 if len(dirs) == 1 else 3)]
    for i, (stage, kind, v) in enumerate(cols[0]):
        if len(dirs) == 1:
            lines.append(f"| {stage} | {kind} | {v:,.0f} |")
        else:
            w = cols[1][i][2]
            lines.append(f"| {stage} | {kind} | {v:,.0f} | {w:,.0f} | {w - v:+,.0f} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, required=True)
    ap.add_argument("dirs", nargs="+")
    a = ap.parse_args()
    print(table(a.dirs[:2], a.requests))
    return 0


if __name__ == "__main__":
    sys.exit(main())
