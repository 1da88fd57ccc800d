#!/usr/bin/python3
"""CPU time and system calls per request, per thread (issue 17): switchyard (the
bench/compare.py configuration) in front of the canned nginx upstream, loaded by wrk at
32 connections.

Two phases per binary, each its own wrk run:
  1. CPU: user and system time of each thread (/proc/<pid>/task/<tid>/stat, 10 ms ticks)
     over the run, divided by the requests served: the worker(s), the store thread
     (learner included), the rest;
  2. system calls: `strace -c` attached to each thread separately during the run,
     calls per request per thread and per call (strace slows the process a lot: the
     counts per request are the figure, not the rate).
With --baseline OLD_BINARY both binaries are measured, alternating, --rounds times;
each figure is the median of the rounds. The machine's load is printed: CPU times are
inflated by a loaded machine, system-call counts are not (they change only a little,
through batching: a slower run commits more store batches per request).

Usage: /usr/bin/python3 bench/syscalls.py [--bin build/switchyard] [--baseline OLD]
           [--seconds 4] [--rounds 3] [--workers 1] [--no-strace] [--out FILE]"""
import argparse
import json
import os
import pathlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import compare  # noqa: E402


def threads(pid):
    """{tid: (name, user ticks, system ticks)} of every thread of pid."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            name = open(f"/proc/{pid}/task/{tid}/comm").read().strip()
            st = open(f"/proc/{pid}/task/{tid}/stat").read()
        except OSError:
            continue
        rest = st[st.rindex(")") + 2:].split()
        out[int(tid)] = (name, int(rest[11]), int(rest[12]))
    return out


def kind_of(name, tid, pid, store_tid):
    if tid == store_tid or name == "sy-store":
        return "store thread"
    # an older build names no thread: besides main and the store there are only workers
    return "main" if tid == pid else "worker"


def store_thread(pid):
    """The store thread's tid (switchyard names it sy-store; an older build's is the
    first thread created: the store starts before the workers)."""
    ts = threads(pid)
    for tid, (name, _, _) in ts.items():
        if name == "sy-store":
            return tid
    others = sorted(t for t in ts if t != pid)
    return others[0] if others else None


def merge(dst, src):
    """Deep-merge the JSON object src into dst (the --set overrides)."""
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            merge(dst[k], v)
        else:
            dst[k] = v


def start(servers, tmp, tag, binary, up_url, workers, overrides=None):
    cfg = compare.switchyard_config(tmp, up_url)
    cfg["workers"] = workers
    merge(cfg, overrides or {})
    cfg["data_dir"] = str(tmp / f"data-{tag}")
    cfg["log"]["path"] = str(tmp / f"requests-{tag}.log")
    (tmp / f"{tag}.json").write_text(json.dumps(cfg))
    p = servers.start(tag, [os.path.abspath(binary), "serve", "--config", str(tmp / f"{tag}.json"),
                            "--port-file", str(tmp / f"{tag}.port")], tmp / f"{tag}.log")
    port = compare.wait_port_file(tmp / f"{tag}.port", p)
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    st, body = compare.post_once(url, "bench")
    if st != 200:
        sys.exit(f"{tag} answered {st}: {body[:300]}")
    compare.wrk(url, 4, 1, "bench")  # warm up
    return p, url


def write_bytes(pid):
    """Bytes the process caused to be written to storage so far (/proc/<pid>/io: page
    cache pages it dirtied, whoever writes them back later); None when unreadable."""
    try:
        for line in open(f"/proc/{pid}/io"):
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def cpu_phase(p, url, secs, conns):
    store_tid = store_thread(p.pid)
    t0 = threads(p.pid)
    w0 = write_bytes(p.pid)
    r = compare.wrk(url, conns, secs, "bench")
    t1 = threads(p.pid)
    w1 = write_bytes(p.pid)
    hz = os.sysconf("SC_CLK_TCK")
    per = {}
    for tid, (name, u, s) in t1.items():
        u0, s0 = t0.get(tid, (name, 0, 0))[1:]
        k = kind_of(name, tid, p.pid, store_tid)
        a = per.setdefault(k, [0.0, 0.0])
        a[0] += (u - u0) / hz / r["requests"] * 1e6
        a[1] += (s - s0) / hz / r["requests"] * 1e6
    kb = (w1 - w0) / r["requests"] / 1024 if w0 is not None and w1 is not None else None
    return r["rps"], per, kb


def strace_phase(p, url, secs, conns, tmp, tag):
    """System calls per request of each thread kind (strace -c per thread)."""
    store_tid = store_thread(p.pid)
    tr = []
    for tid, (name, _, _) in threads(p.pid).items():
        out = tmp / f"strace-{tag}-{tid}.txt"
        sp = subprocess.Popen(["strace", "-c", "-o", str(out), "-p", str(tid)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        tr.append((sp, out, kind_of(name, tid, p.pid, store_tid)))
    time.sleep(0.5)
    r = compare.wrk(url, conns, secs, "bench")
    for sp, _, _ in tr:
        sp.send_signal(2)
    calls = {}
    for sp, out, kind in tr:
        sp.wait(timeout=30)
        for line in out.read_text().splitlines():
            m = re.match(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$", line)
            if m and m.group(2) != "total":
                d = calls.setdefault(kind, {})
                d[m.group(2)] = d.get(m.group(2), 0) + int(m.group(1)) / r["requests"]
    return r["requests"], calls


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/switchyard")
    ap.add_argument("--baseline")
    ap.add_argument("--seconds", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--no-strace", action="store_true")
    ap.add_argument("--out")
    ap.add_argument("--set", default="{}",
                    help="JSON merged into the configuration of --bin (not the baseline), "
                    "e.g. '{\"store\": {\"batch_ms\": 20}}'")
    ap.add_argument("--set-baseline", default="{}",
                    help="the same for --baseline (to compare settings of one binary)")
    a = ap.parse_args()
    if not a.no_strace and not shutil.which("strace"):
        sys.exit("strace not found (apt-get install strace)")
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="sy-sys-"))
    os.chmod(tmp, 0o755)
    servers = compare.Servers()
    load0 = compare.loadavg()
    bins = {"switchyard": a.bin}
    if a.baseline:
        bins["baseline"] = a.baseline
    try:
        up = compare.start_canned(servers, tmp)
        up_url = f"http://127.0.0.1:{up}/v1"
        sets = {"switchyard": json.loads(a.set), "baseline": json.loads(a.set_baseline)}
        procs = {tag: start(servers, tmp, tag, b, up_url, a.workers, sets[tag])
                 for tag, b in bins.items()}
        cpu = {tag: [] for tag in bins}
        for rnd in range(a.rounds):
            order = list(bins) if rnd % 2 == 0 else list(bins)[::-1]
            for tag in order:
                cpu[tag].append(cpu_phase(*procs[tag], a.seconds, a.connections))
        sc = {}
        if not a.no_strace:
            for tag in bins:
                sc[tag] = strace_phase(*procs[tag], a.seconds, a.connections, tmp, tag)
    finally:
        servers.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    lines = [f"## CPU and system calls per request ({a.workers} worker(s), "
             f"{a.connections} connections)", "",
             f"Command: `/usr/bin/python3 bench/syscalls.py {' '.join(sys.argv[1:])}`; load "
             f"average before {load0}, after {compare.loadavg()} (shared machine: CPU times "
             "are inflated by the load, system-call counts are not).", "",
             "| binary | req/s | thread | user µs/req | system µs/req | total µs/req |",
             "|---|---|---|---|---|---|"]
    written = []
    for tag in bins:
        rps = statistics.median(x[0] for x in cpu[tag])
        kinds = sorted({k for _, per, _ in cpu[tag] for k in per})
        tot = [0.0, 0.0]
        for k in kinds:
            u = statistics.median(per.get(k, [0, 0])[0] for _, per, _ in cpu[tag])
            s = statistics.median(per.get(k, [0, 0])[1] for _, per, _ in cpu[tag])
            tot[0] += u
            tot[1] += s
            lines.append(f"| {tag} | {rps:,.0f} | {k} | {u:.1f} | {s:.1f} | {u + s:.1f} |")
        lines.append(f"| {tag} | {rps:,.0f} | **all** | {tot[0]:.1f} | {tot[1]:.1f} | "
                     f"**{tot[0] + tot[1]:.1f}** |")
        kbs = [kb for _, _, kb in cpu[tag] if kb is not None]
        if kbs:
            written.append(f"{tag} {statistics.median(kbs):.1f} KiB")
    if written:
        lines += ["", "Written to storage per request (`/proc/<pid>/io` write_bytes over the "
                  "CPU runs, median): " + ", ".join(written) + "."]
    for tag, (n, calls) in sc.items():
        lines += ["", f"System calls per request, {tag} ({n:,} requests under strace):", "",
                  "| thread | calls/req | by call |", "|---|---|---|"]
        for kind, d in sorted(calls.items()):
            top = ", ".join(f"{c} {v:.2f}" for c, v in sorted(d.items(), key=lambda kv: -kv[1])
                            if v >= 0.005)
            lines.append(f"| {kind} | {sum(d.values()):.2f} | {top} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        with open(a.out, "a") as f:
            f.write("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
