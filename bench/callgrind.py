#!/usr/bin/python3
"""Instructions per request on the hot path (issue 9): `switchyard serve` (the
bench/compare.py configuration: 1 worker, linear Thompson route, request log, cost,
store events) under valgrind --tool=callgrind, collection switched on only around a
fixed number of chat POSTs sent one at a time on a keep-alive connection to the
canned nginx upstream's answer. Every thread is counted (worker, store thread).
Instruction counts do not depend on the machine's other load.

With --tls the upstream is the canned answer over HTTPS (bench/compare.py's TLS
upstream, a self-signed certificate made at bench time, the provider's ca_file).
The stage table (bench/budget.py) follows the function tables.

Usage: /usr/bin/python3 bench/callgrind.py [--bin build/switchyard] [--requests 2000]
           [--tls] [--out FILE] [--keep DIR]"""
import argparse
import datetime
import http.client
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import budget  # noqa: E402
import compare  # noqa: E402

BODY = json.dumps({"model": "bench", "messages": [
    {"role": "user", "content": "Explain the difference between a mutex and a semaphore."}]})


def send(port, n, first=0):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for i in range(n):
        c.request("POST", "/v1/chat/completions", body=BODY, headers={
            "Content-Type": "application/json", "Authorization": "Bearer " + compare.KEY,
            "X-Conversation-Id": f"cg-{first + i}"})
        r = c.getresponse()
        r.read()
        if r.status != 200:
            sys.exit(f"request {i}: {r.status}")
    c.close()


def self_costs(path):
    """Exclusive Ir per (object, function) from a callgrind.out file (format: name
    compression "(id) name", cost lines "position Ir", the line after "calls=" is a
    call's inclusive cost and is not the caller's own)."""
    names = {"ob": {}, "fn": {}}
    ob = fn = ""
    after_calls = False
    cost = {}
    for line in open(path, errors="replace"):
        if line[0] in "0123456789+-*":
            if after_calls:
                after_calls = False
                continue
            parts = line.split()
            if len(parts) >= 2:
                cost[(ob, fn)] = cost.get((ob, fn), 0) + int(parts[1])
            continue
        key, _, val = line.rstrip("\n").partition("=")
        if key in ("ob", "fn", "cob", "cfn"):
            m = re.match(r"\((\d+)\)(?: (.*))?", val)
            table = names[key[-2:]]
            if m.group(2) is not None:
                table[m.group(1)] = m.group(2)
            name = table.get(m.group(1), "?")
            if key[0] == "c":
                continue
            if key == "ob":
                ob = name
            else:
                fn = name
        elif key == "calls":
            after_calls = True
    return cost


def ctl(*args):
    subprocess.run(["callgrind_control", *args], check=True, capture_output=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/switchyard")
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--out")
    ap.add_argument("--keep", help="copy callgrind.out here")
    ap.add_argument("--tls", action="store_true", help="an HTTPS upstream")
    a = ap.parse_args()
    if not shutil.which("valgrind"):
        sys.exit("valgrind not found: run scripts/install-deps.sh bench")
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="sy-cg-"))
    os.chmod(tmp, 0o755)
    servers = compare.Servers()
    try:
        if a.tls:
            cert, key = compare.make_cert(tmp)
            ports, _ = compare.start_canned_tls(servers, tmp, cert, key)
            cfg = compare.switchyard_config(tmp, f"https://127.0.0.1:{ports['switchyard']}/v1",
                                            ca_file=str(cert))
        else:
            up = compare.start_canned(servers, tmp)
            cfg = compare.switchyard_config(tmp, f"http://127.0.0.1:{up}/v1")
        (tmp / "sy.json").write_text(json.dumps(cfg))
        out = tmp / "callgrind.out"
        sy = servers.start("switchyard", [
            "valgrind", "--tool=callgrind", "--instr-atstart=no",
            "--separate-threads=yes", f"--callgrind-out-file={out}", os.path.abspath(a.bin), "serve", "--config",
            str(tmp / "sy.json"), "--port-file", str(tmp / "g.port")], tmp / "sy.log")
        port = compare.wait_port_file(tmp / "g.port", sy, timeout=120)
        send(port, 200)  # warm up: connections, caches, the store's first commits
        time.sleep(0.5)
        ctl("-i", "on", str(sy.pid))
        t0 = time.time()
        send(port, a.requests, first=200)
        time.sleep(0.3)  # let the store thread commit what these requests queued
        ctl("-i", "off", str(sy.pid))
        secs = time.time() - t0
        sy.terminate()
        sy.wait(timeout=120)
        # one file per thread (callgrind.out-01, -02, ...): merged for the tables, and
        # split into the worker (the request's own path) and the store thread
        threads = {}
        files = {}
        selfc = {}
        for f in sorted(tmp.glob("callgrind.out-*")):
            c = self_costs(f)
            fns = {fn for _, fn in c}
            kind = ("store thread" if "store_main" in fns else
                    "worker thread" if "read_cb" in fns or "check_done" in fns else "other threads")
            threads[kind] = threads.get(kind, 0) + sum(c.values())
            files.setdefault(kind, f)
            for k, v in c.items():
                selfc[k] = selfc.get(k, 0) + v
        # callgrind_annotate reads one file: inclusive costs per thread
        inc = {kind: subprocess.run(["callgrind_annotate", "--inclusive=yes", str(f)],
                                    capture_output=True, text=True, check=True).stdout
               for kind, f in files.items() if kind != "other threads"}
        stages = budget.table([str(tmp)], a.requests)
        if a.keep:
            os.makedirs(a.keep, exist_ok=True)
            for f in tmp.glob("callgrind.out-*"):
                shutil.copy(f, a.keep)
    finally:
        servers.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    total = sum(selfc.values())

    def top(text, n):
        rows = []
        for line in text.splitlines():
            m = re.match(r"^\s*([\d,]+) \(\s*([\d.]+)%\)\s+(\S+)", line)
            if m and "PROGRAM TOTALS" not in line:
                fn = m.group(3)
                fn = fn.split(":", 1)[1] if ":" in fn else fn
                src = m.group(3).split(":", 1)[0] if ":" in m.group(3) else ""
                rows.append((int(m.group(1).replace(",", "")), float(m.group(2)), fn,
                             os.path.basename(src)))
            if len(rows) == n:
                break
        return rows

    per = total / a.requests
    def short(ob):
        b = os.path.basename(ob)
        return "switchyard" if b == os.path.basename(a.bin) else re.sub(r"\.so[.\d]*$", "", b)

    by_obj = {}
    for (ob, fn), ir in selfc.items():
        by_obj[short(ob)] = by_obj.get(short(ob), 0) + ir
    md = [f"## Instructions per request, callgrind{' (HTTPS upstream)' if a.tls else ''} ({datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC)",
          "", f"Command: `/usr/bin/python3 bench/callgrind.py --bin {a.bin}{' --tls' if a.tls else ''} --requests "
          f"{a.requests}` (part of `make bench`): the bench/compare.py switchyard "
          f"configuration, {a.requests} chat POSTs one at a time, every thread counted "
          f"({secs:.1f} s under valgrind).", "",
          f"**{per:,.0f} instructions per request** ({total:,} in all): "
          + ", ".join(f"{k} {v / a.requests:,.0f}" for k, v in
                      sorted(threads.items(), key=lambda kv: -kv[1])) + ".", "",
          "By object (self cost): " + ", ".join(
              f"{o} {ir / total * 100:.0f}%" for o, ir in
              sorted(by_obj.items(), key=lambda kv: -kv[1]) if ir / total >= 0.005), "",
          "Top 10 functions, self (exclusive) cost:", "",
          "| function | object | Ir per request | share |", "|---|---|---|---|"]
    for (ob, fn), ir in sorted(selfc.items(), key=lambda kv: -kv[1])[:10]:
        md.append(f"| `{fn}` | {short(ob)} | {ir / a.requests:,.0f} | {ir / total * 100:.1f}% |")
    skip = re.compile(r"^(0x|\?\?\?|start_thread|clone|main$|event_base_loop|"
                      r"event_process_active|sy_worker_run|worker_main|cmd_serve|"
                      r"__libc_start|_start$|\(below main\))")
    for kind in ("worker thread", "store thread"):
        if kind not in inc:
            continue
        md += ["", f"Top 10 functions of the {kind}, inclusive cost (below the event loop "
               "or thread entry; share of that thread):", "",
               "| function | file | Ir per request | share |", "|---|---|---|---|"]
        rows, seen = [], set()
        for ir, pc, fn, src in top(inc[kind], 80):
            fn = re.sub(r"'\d+$", "", fn)
            if skip.match(fn) or fn in seen:
                continue
            seen.add(fn)
            rows.append((ir, pc, fn, src))
        for ir, pc, fn, src in rows[:10]:
            md.append(f"| `{fn}` | {src} | {ir / a.requests:,.0f} | {pc:.1f}% |")
    md += ["", "By stage (bench/budget.py; the learner's share depends on the run's pace: it "
           "republishes snapshots at most every 5 ms, and under valgrind requests are "
           "milliseconds apart):", "", stages]
    text = "\n".join(md) + "\n"
    print(text)
    if a.out:
        with open(a.out, "a") as f:
            f.write("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
