#!/usr/bin/env python3
"""Cluster mode on one machine (docs/scale-out.md): Redis operations and bytes per request,
the propagation delay between nodes, and requests/s with cluster mode on against off.

Starts a fake provider, a redis-server on a free loopback port and gateway nodes that
share it, drives them with `switchyard loadgen` (every answer rated), and reads Redis's
INFO commandstats and net counters before and after. Usage:

    /usr/bin/python3 bench/cluster.py [--bin build/switchyard] [--nodes 2] [-n 4000]
"""
import argparse
import hashlib
import json
import os
import pathlib
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

CLIENT_KEY = "sk-bench-client-0123456789"
ADMIN_KEY = "sk-bench-admin-0123456789"
SCENARIO = {"seed": 1,
            "defaults": {"latency_ms": {"dist": "fixed", "value": 0},
                         "ttft_ms": {"dist": "fixed", "value": 0}, "tokens_per_second": 0,
                         "content": {"mode": "lorem", "tokens": 40}},
            "models": {"fake-cheap": {"quality": 0.7}, "fake-best": {"quality": 0.9}}}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_file(path, proc, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        if path.exists() and path.read_text().strip():
            return path.read_text().split()
        if proc.poll() is not None:
            sys.exit(f"{proc.args[0]} exited with {proc.returncode}")
        time.sleep(0.02)
    sys.exit(f"timed out waiting for {path}")


def redis_info(port):
    out = subprocess.run(["redis-cli", "-p", str(port), "INFO", "all"], capture_output=True,
                         text=True, check=True).stdout
    calls = {m.group(1): int(m.group(2))
             for m in re.finditer(r"^cmdstat_(\w+):calls=(\d+)", out, re.M)}
    net = {k: int(v) for k, v in re.findall(r"^(total_net_(?:input|output)_bytes):(\d+)",
                                            out, re.M)}
    return calls, net


def start_node(binary, tmp, name, fake_url, redis_url):
    d = tmp / name
    d.mkdir()
    cfg = {"listen": {"address": "127.0.0.1", "port": 0},
           "admin": {"address": "127.0.0.1", "port": 0,
                     "key_sha256": hashlib.sha256(ADMIN_KEY.encode()).hexdigest()},
           "workers": 1, "data_dir": str(d / "data"), "log": {"requests": False},
           "providers": {"fake": {"dialect": "openai", "base_url": fake_url + "/v1"}},
           "models": {"cheap": {"provider": "fake", "upstream_name": "fake-cheap",
                                "price": {"input": 0.15, "output": 0.6}},
                      "best": {"provider": "fake", "upstream_name": "fake-best",
                               "price": {"input": 1, "output": 4}}},
           "routes": {"learn": {"candidates": ["cheap", "best"], "policy": "thompson",
                                "objective": {"quality": 1, "cost_per_usd": 100}}},
           "client_keys": [{"name": "bench",
                            "sha256": hashlib.sha256(CLIENT_KEY.encode()).hexdigest()}]}
    if redis_url:
        cfg["cluster"] = {"redis_url": redis_url, "node_id": name}
    (d / "cfg.json").write_text(json.dumps(cfg))
    p = subprocess.Popen([binary, "serve", "--config", str(d / "cfg.json"), "--port-file",
                          str(d / "port")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port, admin = wait_file(d / "port", p)
    return p, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{admin}"


def loadgen(binary, url, fake_url, n, c, feedback, seed):
    t0 = time.time()
    subprocess.run([binary, "loadgen", "--url", url, "--key", CLIENT_KEY, "--route", "learn",
                    "--fake", fake_url, "-n", str(n), "-c", str(c), "--seed", str(seed),
                    "--feedback-rate", str(feedback), "--report-every", "0"],
                   check=True, capture_output=True)
    return n / (time.time() - t0)


def cpu_s(pid):
    """User + system CPU seconds of a process so far."""
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def status(admin):
    req = urllib.request.Request(admin + "/admin/status",
                                 headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    return json.load(urllib.request.urlopen(req, timeout=5))["cluster"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build/switchyard")
    ap.add_argument("--nodes", type=int, default=2)
    ap.add_argument("-n", type=int, default=4000, help="requests per node")
    ap.add_argument("--rounds", type=int, default=5, help="on/off throughput rounds")
    args = ap.parse_args()
    binary = os.path.abspath(args.bin)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="sy-cluster-bench-"))
    procs = []
    try:
        (tmp / "scen.json").write_text(json.dumps(SCENARIO))
        fake = subprocess.Popen([binary, "fake-provider", "--scenario", str(tmp / "scen.json"),
                                 "--listen", "127.0.0.1:0", "--port-file", str(tmp / "fake.port")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(fake)
        fake_url = f"http://127.0.0.1:{wait_file(tmp / 'fake.port', fake)[0]}"
        rport = free_port()
        (tmp / "redis").mkdir()
        redis = subprocess.Popen(["redis-server", "--port", str(rport), "--bind", "127.0.0.1",
                                  "--save", "", "--appendonly", "yes", "--appendfsync",
                                  "everysec", "--dir", str(tmp / "redis")],
                                 stdout=subprocess.DEVNULL)
        procs.append(redis)
        time.sleep(0.5)
        redis_url = f"redis://127.0.0.1:{rport}/0"
        nodes = [start_node(binary, tmp, f"n{i}", fake_url, redis_url) for i in range(args.nodes)]
        procs += [p for p, _, _ in nodes]

        # 1. operations and bytes per request (every answer rated)
        calls0, net0 = redis_info(rport)
        total = 0
        for i, (_, url, _) in enumerate(nodes):
            loadgen(binary, url, fake_url, args.n, 4, 1.0, i + 1)
            total += args.n
        time.sleep(1.0)  # let every node read the stream to its end
        calls1, net1 = redis_info(rport)
        print(f"{args.nodes} nodes, {total} requests, each rated once")
        print("Redis calls per request:")
        for cmd in sorted(calls1):
            d = calls1[cmd] - calls0.get(cmd, 0)
            if d:
                print(f"  {cmd:10s} {d / total:6.3f}")
        for k in sorted(net1):
            print(f"  {k}: {(net1[k] - net0.get(k, 0)) / total:8.0f} bytes per request")
        for (_, _, admin) in nodes:
            st = status(admin)
            print(f"  node {st['node_id']}: applied {st['applied']}, lag ms p50 "
                  f"{st['lag_ms']['p50']:.0f} p99 {st['lag_ms']['p99']:.0f} max "
                  f"{st['lag_ms']['max']:.0f}")

        # 2. requests/s on one node, cluster on against off, interleaved; the other nodes
        # are stopped (on this one machine they would take CPU from the node measured)
        for p, _, _ in nodes[1:]:
            p.terminate()
            p.wait()
        off = start_node(binary, tmp, "off", fake_url, None)
        procs.append(off[0])
        on_url, off_url = nodes[0][1], off[1]
        rs = {"on": [], "off": []}
        pids = {"on": nodes[0][0].pid, "off": off[0].pid}
        cpu = {"on": 0.0, "off": 0.0, "redis": 0.0}
        calls0, net0 = redis_info(rport)
        for r in range(args.rounds):
            for name, url in (("off", off_url), ("on", on_url)):
                c0, r0 = cpu_s(pids[name]), cpu_s(redis.pid)
                rs[name].append(loadgen(binary, url, fake_url, args.n, 16, 0.0, 100 + r))
                cpu[name] += cpu_s(pids[name]) - c0
                if name == "on":
                    cpu["redis"] += cpu_s(redis.pid) - r0
        calls1, net1 = redis_info(rport)
        on, off_rps = max(rs["on"]), max(rs["off"])
        n_all = args.n * args.rounds
        print("Redis calls per request, one node, 16 connections (writes batched under load): " +
              ", ".join(f"{cmd} {(calls1[cmd] - calls0.get(cmd, 0)) / n_all:.3f}"
                        for cmd in sorted(calls1) if calls1[cmd] - calls0.get(cmd, 0) > 0
                        and cmd != "info") +
              "; bytes in " + f"{(net1['total_net_input_bytes'] - net0['total_net_input_bytes']) / n_all:.0f}" +
              ", out " + f"{(net1['total_net_output_bytes'] - net0['total_net_output_bytes']) / n_all:.0f}")
        ratios = sorted(a / b for a, b in zip(rs["on"], rs["off"]))
        print("requests/s per round (off, on): " +
              ", ".join(f"{b:.0f}/{a:.0f}" for a, b in zip(rs["on"], rs["off"])))
        print(f"requests/s, one node, 16 connections, no feedback (best of {args.rounds}): "
              f"cluster on {on:.0f}, off {off_rps:.0f}, ratio {on / off_rps:.2f}; "
              f"median of the per-round ratios {ratios[len(ratios) // 2]:.2f} "
              f"(min {ratios[0]:.2f}, max {ratios[-1]:.2f})")
        print(f"CPU per request: node with cluster on {1e6 * cpu['on'] / n_all:.0f} us, "
              f"off {1e6 * cpu['off'] / n_all:.0f} us; redis-server "
              f"{1e6 * cpu['redis'] / n_all:.0f} us")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()


if __name__ == "__main__":
    main()
