#!/usr/bin/python3
"""Gateway memory under many connections (issue 9): RSS of `switchyard serve` (1 worker)
with N idle keep-alive clients, then with N concurrent streams held open by a slow
upstream. Usage: /usr/bin/python3 bench/rss.py build/switchyard [N]"""
import hashlib
import json
import os
import pathlib
import selectors
import socket
import subprocess
import sys
import tempfile
import time

BIN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build/switchyard")
N = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
KEY = "sk-bench-rss-key"


def wait_port(path, proc):
    for _ in range(500):
        if path.exists() and path.read_text().strip():
            return int(path.read_text().split()[0])
        if proc.poll() is not None:
            sys.exit(f"{BIN} exited early")
        time.sleep(0.02)
    sys.exit("timed out")


def rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1])
    return 0


def main():
    tmp = pathlib.Path(tempfile.mkdtemp())
    scen = {"seed": 1, "defaults": {"latency_ms": {"dist": "fixed", "value": 0},
                                    "ttft_ms": {"dist": "fixed", "value": 0},
                                    "tokens_per_second": 2, "content": {"mode": "lorem", "tokens": 40}},
            "models": {"fake-slow": {}}}
    (tmp / "scen.json").write_text(json.dumps(scen))
    fake = subprocess.Popen([BIN, "fake-provider", "--scenario", str(tmp / "scen.json"),
                             "--listen", "127.0.0.1:0", "--port-file", str(tmp / "f.port")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    fport = wait_port(tmp / "f.port", fake)
    cfg = {"listen": {"address": "127.0.0.1", "port": 0}, "workers": 1,
           "data_dir": str(tmp / "data"), "log": {"requests": False},
           "limits": {"max_connections": N + 100},
           "providers": {"f": {"dialect": "openai", "base_url": f"http://127.0.0.1:{fport}/v1"}},
           "models": {"slow": {"provider": "f", "upstream_name": "fake-slow",
                               "price": {"input": 1, "output": 2}}},
           "client_keys": [{"name": "b", "sha256": hashlib.sha256(KEY.encode()).hexdigest()}]}
    (tmp / "c.json").write_text(json.dumps(cfg))
    gw = subprocess.Popen([BIN, "serve", "--config", str(tmp / "c.json"), "--port-file",
                           str(tmp / "g.port")], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    gport = wait_port(tmp / "g.port", gw)
    base = rss_kb(gw.pid)
    socks = []
    try:
        for _ in range(N):  # idle keep-alive clients: one request each, then silence
            s = socket.create_connection(("127.0.0.1", gport))
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            s.recv(4096)
            socks.append(s)
        time.sleep(0.5)
        idle = rss_kb(gw.pid)
        for s in socks:
            s.close()
        socks = []
        body = json.dumps({"model": "slow", "stream": True,
                           "messages": [{"role": "user", "content": "hi"}]}).encode()
        req = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
               KEY.encode() + b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
               % len(body) + body)
        sel = selectors.DefaultSelector()
        for _ in range(N):
            s = socket.create_connection(("127.0.0.1", gport))
            s.sendall(req)
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
            socks.append(s)
        got = 0
        t0 = time.time()
        while time.time() - t0 < 3:  # keep reading so the streams flow, then measure
            for key, _ in sel.select(timeout=0.1):
                try:
                    got += len(key.fileobj.recv(65536))
                except BlockingIOError:
                    pass
        streams = rss_kb(gw.pid)
        print(f"switchyard serve, 1 worker: RSS at start {base / 1024:.1f} MiB; "
              f"with {N} idle keep-alive clients {idle / 1024:.1f} MiB; "
              f"with {N} concurrent streams {streams / 1024:.1f} MiB "
              f"({got // 1024} KiB relayed in 3 s)")
    finally:
        for s in socks:
            s.close()
        gw.terminate()
        fake.terminate()
        gw.wait()
        fake.wait()


if __name__ == "__main__":
    main()
