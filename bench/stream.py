#!/usr/bin/python3
"""Streaming relay (issue 9): how much switchyard adds to the time to first chunk and to
each chunk of a streamed chat completion, against the same streams read directly.

Usage: /usr/bin/python3 bench/stream.py [--bin build/switchyard] [--streams 60]
           [--chunks 20] [--gap-ms 5] [--out FILE] [--baseline OLD_BINARY]

The upstream is a small canned SSE server (this file with --serve) that answers every
chat request with `--chunks` content events, the first at once and then one every
`--gap-ms`, each event's content carrying the CLOCK_MONOTONIC nanosecond at which the
server wrote it. A client (this process, one stream at a time, direct and through the
gateway in turn) timestamps the arrival of each event, so per chunk it gets the
relay delay (arrival - write) on both paths; the gateway's added delay is the
difference of the two distributions. Time to first chunk is from sending the request
to the first event with content. switchyard runs 1 worker with a linear Thompson
route over 4 priced models and request logging on, as in bench/compare.py."""
import argparse
import datetime
import hashlib
import json
import os
import pathlib
import shlex
import shutil
import socket
import socketserver
import statistics
import subprocess
import sys
import tempfile
import time

KEY = "sk-bench-stream-key"


# ---------------------------------------------------------------- the canned upstream
class Upstream(socketserver.StreamRequestHandler):
    chunks = 20
    gap = 0.005

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self):
        while True:
            line = self.rfile.readline()
            if not line:
                return
            if line in (b"\r\n", b"\n"):
                continue
            length = 0
            while True:
                h = self.rfile.readline()
                if h in (b"\r\n", b"\n", b""):
                    break
                name, _, value = h.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            body = json.loads(self.rfile.read(length) or b"{}")
            self.answer(body.get("model", "canned"))

    def send_event(self, obj):
        data = b"data: " + (obj if isinstance(obj, bytes) else json.dumps(obj).encode()) + b"\n\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def chunk(self, model, delta, finish=None):
        return {"id": "chatcmpl-stream", "object": "chat.completion.chunk",
                "created": 1764400000, "model": model, "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "delta": delta, "logprobs": None,
                             "finish_reason": finish}], "usage": None}

    def answer(self, model):
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n")
        self.send_event(self.chunk(model, {"role": "assistant", "content": ""}))
        start = time.monotonic()
        for i in range(self.chunks):
            if i:
                time.sleep(max(0.0, start + i * self.gap - time.monotonic()))
            self.send_event(self.chunk(model, {"content": f"{i}@{time.monotonic_ns()} "}))
        self.send_event(self.chunk(model, {}, "stop"))
        self.send_event({"id": "chatcmpl-stream", "object": "chat.completion.chunk",
                         "created": 1764400000, "model": model, "choices": [],
                         "usage": {"prompt_tokens": 14, "completion_tokens": self.chunks,
                                   "total_tokens": 14 + self.chunks}})
        self.send_event(b"[DONE]")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(port_file, chunks, gap_ms):
    Upstream.chunks, Upstream.gap = chunks, gap_ms / 1000
    srv = Server(("127.0.0.1", 0), Upstream)
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{srv.server_address[1]}\n")
    os.rename(tmp, port_file)
    srv.serve_forever()


# ---------------------------------------------------------------- the client
class Conn:
    """One keep-alive HTTP/1.1 connection reading chunked SSE answers event by event."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def fill(self):
        d = self.s.recv(65536)
        t = time.monotonic_ns()
        if not d:
            raise ConnectionError("closed")
        self.buf += d
        return t

    def stream(self, model, headers):
        body = json.dumps({"model": model, "stream": True, "messages": [
            {"role": "user", "content": "Explain the difference between a mutex and a semaphore."}]}).encode()
        req = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               f"Content-Type: application/json\r\nAuthorization: Bearer {KEY}\r\n"
               f"Content-Length: {len(body)}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
               + "\r\n").encode() + body
        t_send = time.monotonic_ns()
        self.s.sendall(req)
        t = self.fill()
        while b"\r\n\r\n" not in self.buf:
            t = self.fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        status = head.split(b" ", 2)[1]
        if status != b"200" or b"chunked" not in head.lower():
            raise RuntimeError(f"answer {head[:200]!r} {self.buf[:300]!r}")
        events, sse = [], b""
        while True:  # chunked decoding; an event is timed by the recv that completed it
            while b"\r\n" not in self.buf:
                t = self.fill()
            size_line, rest = self.buf.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            while len(rest) < size + 2:
                t = self.fill()
                rest = self.buf.split(b"\r\n", 1)[1]
            sse += rest[:size]
            self.buf = rest[size + 2:]
            while b"\n\n" in sse:
                ev, sse = sse.split(b"\n\n", 1)
                for line in ev.split(b"\n"):
                    if line.startswith(b"data: ") and line != b"data: [DONE]":
                        events.append((t, json.loads(line[6:])))
            if size == 0:
                break
        return t_send, events


def measure(conn, model, headers):
    """(time to first content chunk, [relay delay of each content chunk]) in µs."""
    t_send, events = conn.stream(model, headers)
    ttfc, delays = None, []
    for t, ev in events:
        for ch in ev.get("choices") or []:
            c = (ch.get("delta") or {}).get("content") or ""
            for tok in c.split():
                if "@" in tok:
                    if ttfc is None:
                        ttfc = (t - t_send) / 1000
                    delays.append((t - int(tok.split("@")[1])) / 1000)
    return ttfc, delays


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def wait_port_file(path, proc, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        if path.exists() and path.read_text().strip():
            return int(path.read_text().split()[0])
        if proc.poll() is not None:
            sys.exit(f"{proc.args[0]} exited early")
        time.sleep(0.02)
    sys.exit(f"no port file {path}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/switchyard")
    ap.add_argument("--streams", type=int, default=60)
    ap.add_argument("--chunks", type=int, default=20)
    ap.add_argument("--gap-ms", type=float, default=5)
    ap.add_argument("--out")
    ap.add_argument("--baseline", metavar="BIN",
                    help="also relay through this switchyard binary (same config), interleaved")
    ap.add_argument("--serve", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.serve:
        return serve(a.serve, a.chunks, a.gap_ms)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="sy-stream-"))
    procs = []
    try:
        up = subprocess.Popen([sys.executable, __file__, "--serve", str(tmp / "u.port"),
                               "--chunks", str(a.chunks), "--gap-ms", str(a.gap_ms)])
        procs.append(up)
        uport = wait_port_file(tmp / "u.port", up)
        models = {n: {"provider": "canned", "upstream_name": f"fake-{n}",
                      "price": {"input": p[0], "output": p[1]}}
                  for n, p in [("nano", (0.05, 0.2)), ("mini", (0.15, 0.6)),
                               ("medium", (1.0, 4.0)), ("large", (10.0, 40.0))]}
        cfg = {"listen": {"address": "127.0.0.1", "port": 0}, "workers": 1,
               "data_dir": str(tmp / "data"),
               "log": {"requests": True, "path": str(tmp / "requests.log")},
               "providers": {"canned": {"dialect": "openai",
                                        "base_url": f"http://127.0.0.1:{uport}/v1"}},
               "models": models,
               "routes": {"bench": {"candidates": list(models), "policy": "linear_thompson",
                                    "objective": {"quality": 1, "cost_per_usd": 200}}},
               "client_keys": [{"name": "b", "sha256": hashlib.sha256(KEY.encode()).hexdigest()}]}
        gports = {}
        for name, binary in [("switchyard", a.bin)] + (
                [("switchyard (baseline)", a.baseline)] if a.baseline else []):
            tag = "g" if name == "switchyard" else "b"
            cfg["data_dir"] = str(tmp / f"data-{tag}")
            cfg["log"]["path"] = str(tmp / f"requests-{tag}.log")
            (tmp / f"c-{tag}.json").write_text(json.dumps(cfg))
            gw = subprocess.Popen([os.path.abspath(binary), "serve", "--config",
                                   str(tmp / f"c-{tag}.json"), "--port-file",
                                   str(tmp / f"{tag}.port")],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(gw)
            gports[name] = wait_port_file(tmp / f"{tag}.port", gw)
        load_before = " ".join(open("/proc/loadavg").read().split()[:3])
        paths = {"direct": (Conn(uport), "fake-mini")}
        paths.update({n: (Conn(port), "bench") for n, port in gports.items()})
        for c, m in paths.values():  # warm up: connections, the upstream pool
            for _ in range(3):
                measure(c, m, {})
        res = {n: {"ttfc": [], "delay": []} for n in paths}
        for i in range(a.streams):
            names = list(paths)
            for n in names[i % len(names):] + names[:i % len(names)]:
                c, m = paths[n]
                ttfc, delays = measure(c, m, {})
                if ttfc is None or len(delays) != a.chunks:
                    sys.exit(f"{n}: got {len(delays)} of {a.chunks} chunks")
                res[n]["ttfc"].append(ttfc)
                res[n]["delay"].extend(delays[1:])  # chunks after the first
        load_after = " ".join(open("/proc/loadavg").read().split()[:3])
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)

    def row(name, key, via="switchyard"):
        d, g = res["direct"][key], res[via][key]
        label = name if via == "switchyard" else f"{name}, {via}"
        return (f"| {label} | {pct(d, 50):.0f} / {pct(d, 99):.0f} µs | {pct(g, 50):.0f} / "
                f"{pct(g, 99):.0f} µs | {pct(g, 50) - pct(d, 50):.0f} / {pct(g, 99) - pct(d, 99):.0f} µs |")
    added_ttfc = pct(res["switchyard"]["ttfc"], 50) - pct(res["direct"]["ttfc"], 50)
    added_chunk = pct(res["switchyard"]["delay"], 99) - pct(res["direct"]["delay"], 99)
    md = [f"## Streaming relay ({datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC)", "",
          f"Command: `/usr/bin/python3 bench/stream.py {shlex.join(sys.argv[1:])}` "
          "(`make bench` runs it with the defaults). A canned SSE "
          f"upstream writes {a.chunks} content events per stream ({a.gap_ms:g} ms apart), each "
          "stamped with its write time; one stream at a time, direct and through switchyard "
          f"in turn, {a.streams} streams each; relay delay = arrival at the client − "
          f"write by the upstream, over the {a.streams * (a.chunks - 1)} chunks after the "
          "first of each path. Load average before: "
          f"{load_before}; after: {load_after}.", "",
          "| | direct p50 / p99 | through switchyard p50 / p99 | added p50 / p99 |",
          "|---|---|---|---|",
          row("time to first chunk", "ttfc"), row("relay delay per chunk", "delay"),
          *([row("time to first chunk", "ttfc", "switchyard (baseline)"),
             row("relay delay per chunk", "delay", "switchyard (baseline)")]
            if a.baseline else []), "",
          f"- added time to first chunk (p50): {added_ttfc:.0f} µs (target ≤ 1 ms): "
          f"{'met' if added_ttfc <= 1000 else 'not met'}",
          f"- added delay per chunk (p99): {added_chunk:.0f} µs (target ≤ 1 ms): "
          f"{'met' if added_chunk <= 1000 else 'not met'}", ""]
    text = "\n".join(md)
    print(text)
    if a.out:
        with open(a.out, "a") as f:
            f.write("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
