#!/usr/bin/python3
"""Side-by-side throughput and latency (issue 9): the same chat POST sent with wrk to a
canned upstream directly, through nginx proxy_pass, through switchyard and through the
Portkey open-source gateway, interleaved in one invocation so that the machine's other
load falls on every contender alike.

Usage: /usr/bin/python3 bench/compare.py [--bin build/switchyard] [--seconds 5]
           [--rounds 3] [--out FILE] [--no-portkey] [--baseline OLD_BINARY]

Every server binds 127.0.0.1 and lives in a temporary directory that is removed on
exit. Figures are medians over the rounds; a round runs each contender once at 32
connections (requests/s) and once at 1 connection (p50/p99 latency), in an order that
rotates between rounds. The table goes to stdout and, with --out, to a Markdown file
(machine description first)."""
import argparse
import datetime
import hashlib
import json
import os
import pathlib
import platform
import re
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
LUA = HERE / "chat_post.lua"
KEY = "sk-bench-compare-key"

LOREM = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
         "incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis "
         "nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. "
         "Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu")
# What the canned nginx upstream answers to every POST: the shape (and about the size)
# of fake-provider's 40-token answer.
CANNED = json.dumps({
    "id": "chatcmpl-bench0000000000000000000000", "object": "chat.completion",
    "created": 1764400000, "model": "fake-mini", "system_fingerprint": "fp_fake",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": LOREM,
                                         "refusal": None},
                 "logprobs": None, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 14, "completion_tokens": 40, "total_tokens": 54,
              "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
              "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                            "accepted_prediction_tokens": 0,
                                            "rejected_prediction_tokens": 0}}},
    separators=(",", ":"))


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Servers:
    """Background processes, stopped (SIGTERM, then SIGKILL) on exit."""

    def __init__(self):
        self.procs = []

    def start(self, name, cmd, log_path, **kw):
        f = open(log_path, "wb")
        p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, **kw)
        p.bench_name = name
        p.bench_log = log_path
        self.procs.append(p)
        return p

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for p in reversed(self.procs):
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def wait_listening(port, proc, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            sys.exit(f"{proc.bench_name} exited early:\n"
                     + pathlib.Path(proc.bench_log).read_text(errors="replace")[-2000:])
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"{proc.bench_name} did not listen on {port} within {timeout} s")


def wait_port_file(path, proc, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        if path.exists() and path.read_text().strip():
            return int(path.read_text().split()[0])
        if proc.poll() is not None:
            sys.exit(f"{proc.bench_name} exited early:\n"
                     + pathlib.Path(proc.bench_log).read_text(errors="replace")[-2000:])
        time.sleep(0.02)
    sys.exit(f"{proc.bench_name} wrote no port file within {timeout} s")


def nginx_conf(tmp, name, port, body, workers=1):
    """A self-contained nginx config: `workers` workers, foreground, its own pid/log/temp
    paths."""
    d = tmp / name
    d.mkdir()
    for t in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (d / t).mkdir()
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf = f"""{user}worker_processes {workers};
worker_rlimit_nofile 8192;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log {d}/access.log;
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  client_body_buffer_size 64k;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  log_format tls '$connection $connection_requests $ssl_session_reused';
{body}
}}
"""
    (d / "nginx.conf").write_text(conf)
    return d


def start_nginx(servers, tmp, name, body, workers=1):
    port = free_port()
    d = nginx_conf(tmp, name, port, body.replace("@PORT@", str(port)), workers)
    p = servers.start(name, ["nginx", "-p", str(d), "-c", str(d / "nginx.conf")],
                      d / "stdout.log")
    wait_listening(port, p)
    return port


def switchyard_config(tmp, up_url, key=KEY, ca_file=None):
    """The switchyard contender: 1 worker, route `bench` (linear Thompson, default
    params) over 4 priced models of the canned upstream, request log lines to a file;
    ca_file: the certificate to trust for an https upstream."""
    models = {}
    for name, price in [("nano", (0.05, 0.20)), ("mini", (0.15, 0.60)),
                        ("medium", (1.0, 4.0)), ("large", (10.0, 40.0))]:
        models[name] = {"provider": "canned", "upstream_name": f"fake-{name}",
                        "price": {"input": price[0], "output": price[1]}}
    return {"listen": {"address": "127.0.0.1", "port": 0}, "workers": 1,
            "data_dir": str(tmp / "sy-data"),
            "log": {"level": "info", "requests": True, "path": str(tmp / "sy-requests.log")},
            "limits": {"max_connections": 4096},
            "providers": {"canned": dict({"dialect": "openai", "base_url": up_url},
                                         **({"ca_file": ca_file} if ca_file else {}))},
            "models": models,
            "routes": {"bench": {"candidates": list(models), "policy": "linear_thompson",
                                 "objective": {"quality": 1, "cost_per_usd": 200}}},
            "client_keys": [{"name": "bench",
                             "sha256": hashlib.sha256(key.encode()).hexdigest()}]}


def start_canned(servers, tmp):
    """The canned upstream in nginx: every request answered with CANNED."""
    return start_nginx(servers, tmp, "upstream-nginx", f"""
  server {{
    listen 127.0.0.1:@PORT@;
    location / {{
      default_type application/json;
      return 200 '{CANNED}';
    }}
  }}""")


TLS_NAMES = ("direct", "nginx", "switchyard")


def make_cert(tmp):
    """A self-signed certificate for 127.0.0.1 and localhost (openssl, P-256), made at
    bench time; returns (cert, key) paths."""
    cert, key = tmp / "tls-cert.pem", tmp / "tls-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                    "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def start_canned_tls(servers, tmp, cert, key):
    """The canned answer over TLS (TLS 1.2/1.3, session cache and tickets): one port per
    client (direct, nginx, switchyard), each with its own access log of `connection
    connection_requests ssl_session_reused`, so that handshakes are counted per client.
    Returns ({client: port}, the log directory)."""
    ports = {n: free_port() for n in TLS_NAMES}
    d = tmp / "upstream-tls"
    blocks = "".join(f"""
  server {{
    listen 127.0.0.1:{ports[n]} ssl;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:SSL:1m;
    access_log {d}/tls-{n}.log tls;
    location / {{
      default_type application/json;
      return 200 '{CANNED}';
    }}
  }}""" for n in TLS_NAMES)
    nginx_conf(tmp, "upstream-tls", 0, blocks)
    p = servers.start("upstream-tls", ["nginx", "-p", str(d), "-c", str(d / "nginx.conf")],
                      d / "stdout.log")
    for port in ports.values():
        wait_listening(port, p)
    return ports, d


def tls_handshakes(d, client):
    """(requests, new TLS connections, of which resumed sessions) seen by the TLS
    upstream from one client, from its access log."""
    f = d / f"tls-{client}.log"
    if not f.exists():
        return 0, 0, 0
    reqs = conns = resumed = 0
    for line in f.read_text().splitlines():
        parts = line.split()
        if len(parts) != 3:
            continue
        reqs += 1
        if parts[1] == "1":
            conns += 1
            resumed += parts[2] == "r"
    return reqs, conns, resumed


def post_once(url, model, headers=None, ca=None):
    """One chat POST; returns (status, body) so a contender is checked before timing."""
    body = json.dumps({"model": model, "messages": [
        {"role": "user", "content": "Explain the difference between a mutex and a semaphore."}]})
    h = {"Content-Type": "application/json", "Authorization": "Bearer " + KEY}
    h.update(headers or {})
    req = urllib.request.Request(url, data=body.encode(), headers=h, method="POST")
    ctx = None
    if ca:
        import ssl
        ctx = ssl.create_default_context(cafile=str(ca))
    try:
        with urllib.request.urlopen(req, timeout=10, context=ctx) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


UNIT = {"us": 1.0, "ms": 1e3, "s": 1e6}


def parse_dur(s):
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", s)
    return float(m.group(1)) * UNIT[m.group(2)] if m else float("nan")


def wrk(url, conns, secs, model, headers=None):
    env = dict(os.environ, KEY=KEY, MODEL=model,
               HEADERS="|".join(f"{k}: {v}" for k, v in (headers or {}).items()))
    out = subprocess.run(["wrk", "-t1", f"-c{conns}", f"-d{secs}s", "-s", str(LUA),
                          "--latency", url], env=env, capture_output=True, text=True,
                         check=True).stdout
    r = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
         "requests": int(re.search(r"(\d+) requests in", out).group(1))}
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}(?:\.000)?%\s+(\S+)", out, re.M)
        r["p" + pct] = parse_dur(m.group(1)) if m else float("nan")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errs = re.search(r"Socket errors:.*", out)
    if bad or errs:
        log(f"  warning: {url}: {bad.group(0) if bad else ''} {errs.group(0) if errs else ''}")
    r["non2xx"] = int(bad.group(1)) if bad else 0
    return r


def cpu_seconds(pid):
    """(user, system) CPU time of pid and all its descendants (nginx's workers), seconds."""
    procs = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                f = open(f"/proc/{d}/stat").read()
            except OSError:
                continue
            rest = f[f.rindex(")") + 2:].split()
            procs[int(d)] = (int(rest[1]), int(rest[11]), int(rest[12]))  # ppid, user, sys
    user = system = 0
    pending = [pid]
    while pending:
        q = pending.pop()
        if q in procs:
            user += procs[q][1]
            system += procs[q][2]
        pending += [c for c, v in procs.items() if v[0] == q]
    hz = os.sysconf("SC_CLK_TCK")
    return user / hz, system / hz


def first_line(cmd):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (p.stdout + p.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "unavailable"


def machine(bin_path):
    cpu = "unknown"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    pk = HERE / "portkey/node_modules/@portkey-ai/gateway/package.json"
    try:
        rev = subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True).stdout.strip()
    except OSError:
        rev = "?"
    return {
        "host": socket.gethostname(), "cpu": cpu, "cores": os.cpu_count(),
        "kernel": platform.release(), "os": first_line(["sh", "-c", ". /etc/os-release; echo $PRETTY_NAME"]),
        "switchyard": first_line([bin_path, "version"]) + f" (git {rev})",
        "nginx": first_line(["nginx", "-v"]), "wrk": first_line(["wrk", "-v"]),
        "node": first_line(["node", "--version"]) if shutil.which("node") else "not installed",
        "portkey": ("@portkey-ai/gateway " + json.loads(pk.read_text())["version"])
        if pk.exists() else "not installed",
    }


def loadavg():
    return " ".join(open("/proc/loadavg").read().split()[:3])


def fmt_us(v):
    if v != v:
        return "—"
    return f"{v:.0f} µs" if abs(v) < 1000 else f"{v / 1000:.2f} ms"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/switchyard")
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out")
    ap.add_argument("--no-portkey", action="store_true")
    ap.add_argument("--no-tls", action="store_true",
                    help="skip the HTTPS upstream contenders")
    ap.add_argument("--workers", type=int, default=1,
                    help="workers of each proxy (nginx worker_processes, switchyard workers)")
    ap.add_argument("--baseline", metavar="BIN",
                    help="also run this switchyard binary (same config) as "
                         "'switchyard (baseline)': before/after an optimisation, interleaved")
    a = ap.parse_args()
    bin_path = os.path.abspath(a.bin)
    for tool in ("wrk", "nginx") + (() if a.no_tls else ("openssl",)):
        if not shutil.which(tool):
            sys.exit(f"{tool} not found: run scripts/install-deps.sh bench")
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="sy-bench-"))
    os.chmod(tmp, 0o755)
    servers = Servers()
    load_before = loadavg()
    try:
        return run(a, bin_path, tmp, servers, load_before)
    finally:
        servers.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def add_tls_contenders(a, servers, tmp, bin_path, contenders, pids):
    """The HTTPS upstream (nginx with a self-signed certificate made now) and the three
    contenders that use it: direct, nginx proxy_pass over TLS (session reuse on, the
    certificate verified), switchyard with the provider's ca_file. Returns the TLS
    upstream's log directory (handshakes per client)."""
    cert, key = make_cert(tmp)
    ports, d = start_canned_tls(servers, tmp, cert, key)
    contenders["direct (TLS)"] = (
        f"https://127.0.0.1:{ports['direct']}/v1/chat/completions", "fake-mini", None)
    nport = start_nginx(servers, tmp, "proxy-nginx-tls", f"""
  upstream canned_tls {{ server 127.0.0.1:{ports['nginx']}; keepalive 64; }}
  server {{
    listen 127.0.0.1:@PORT@;
    location / {{
      proxy_pass https://canned_tls;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_ssl_session_reuse on;
      proxy_ssl_verify on;
      proxy_ssl_trusted_certificate {cert};
      proxy_ssl_name localhost;
    }}
  }}""", a.workers)
    contenders["nginx proxy_pass (TLS)"] = (f"http://127.0.0.1:{nport}/v1/chat/completions",
                                            "fake-mini", None)
    pids["nginx proxy_pass (TLS)"] = servers.procs[-1].pid
    cfg = switchyard_config(tmp, f"https://127.0.0.1:{ports['switchyard']}/v1",
                            ca_file=str(cert))
    cfg["workers"] = a.workers
    cfg["data_dir"] = str(tmp / "sy-data-tls")
    cfg["log"]["path"] = str(tmp / "sy-requests-tls.log")
    (tmp / "sy-tls.json").write_text(json.dumps(cfg, indent=1))
    sy = servers.start("switchyard (TLS)", [bin_path, "serve", "--config",
                                            str(tmp / "sy-tls.json"), "--port-file",
                                            str(tmp / "gt.port")], tmp / "sy-tls.log")
    gport = wait_port_file(tmp / "gt.port", sy)
    contenders["switchyard (TLS)"] = (f"http://127.0.0.1:{gport}/v1/chat/completions", "bench",
                                      None)
    pids["switchyard (TLS)"] = sy.pid
    return d


def run(a, bin_path, tmp, servers, load_before):
    # --- the canned upstream: nginx's fixed JSON or fake-provider, whichever is faster
    canned_port = start_canned(servers, tmp)
    scen = {"seed": 1, "defaults": {"latency_ms": {"dist": "fixed", "value": 0},
                                    "ttft_ms": {"dist": "fixed", "value": 0},
                                    "tokens_per_second": 0,
                                    "content": {"mode": "lorem", "tokens": 40}}}
    (tmp / "scen.json").write_text(json.dumps(scen))
    fp = servers.start("fake-provider", [bin_path, "fake-provider", "--scenario",
                                         str(tmp / "scen.json"), "--listen", "127.0.0.1:0",
                                         "--port-file", str(tmp / "f.port")], tmp / "f.log")
    fake_port = wait_port_file(tmp / "f.port", fp)
    ups = {"nginx (fixed JSON)": canned_port, "fake-provider": fake_port}
    for name, port in ups.items():
        st, body = post_once(f"http://127.0.0.1:{port}/v1/chat/completions", "fake-mini")
        if st != 200 or '"usage"' not in body:
            sys.exit(f"canned upstream {name} answered {st}: {body[:300]}")
    log("choosing the canned upstream (2 rounds, 3 s each, 32 connections and 1)")
    up_res = {n: [] for n in ups}
    for rnd in range(2):
        for name, port in (list(ups.items()) if rnd == 0 else list(ups.items())[::-1]):
            url = f"http://127.0.0.1:{port}/v1/chat/completions"
            r32 = wrk(url, 32, 3, "fake-mini")
            r1 = wrk(url, 1, 3, "fake-mini")
            up_res[name].append((r32["rps"], r1["p50"]))
    up_summary = {n: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v))
                  for n, v in up_res.items()}
    chosen = max(up_summary, key=lambda n: up_summary[n][0])
    up_port = ups[chosen]
    log(f"  {', '.join(f'{n}: {v[0]:,.0f} req/s, p50 {fmt_us(v[1])}' for n, v in up_summary.items())}"
        f" -> {chosen}")
    if chosen != "fake-provider":
        fp.terminate()
    up_url = f"http://127.0.0.1:{up_port}/v1"

    # --- contenders
    contenders = {"direct": (f"{up_url}/chat/completions", "fake-mini", None)}
    pids = {}  # contender -> the process whose CPU time (with its children) it costs
    nport = start_nginx(servers, tmp, "proxy-nginx", f"""
  upstream canned {{ server 127.0.0.1:{up_port}; keepalive 64; }}
  server {{
    listen 127.0.0.1:@PORT@;
    location / {{
      proxy_pass http://canned;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
  }}""", a.workers)
    contenders["nginx proxy_pass"] = (f"http://127.0.0.1:{nport}/v1/chat/completions",
                                      "fake-mini", None)
    pids["nginx proxy_pass"] = servers.procs[-1].pid

    cfg = switchyard_config(tmp, up_url)
    cfg["workers"] = a.workers
    (tmp / "sy.json").write_text(json.dumps(cfg, indent=1))
    sy = servers.start("switchyard", [bin_path, "serve", "--config", str(tmp / "sy.json"),
                                      "--port-file", str(tmp / "g.port")], tmp / "sy.log")
    gport = wait_port_file(tmp / "g.port", sy)
    contenders["switchyard"] = (f"http://127.0.0.1:{gport}/v1/chat/completions", "bench", None)
    pids["switchyard"] = sy.pid
    if a.baseline:
        cfg_b = switchyard_config(tmp, up_url)
        cfg_b["workers"] = a.workers
        cfg_b["data_dir"] = str(tmp / "sy-data-b")
        cfg_b["log"]["path"] = str(tmp / "sy-requests-b.log")
        (tmp / "sy-b.json").write_text(json.dumps(cfg_b, indent=1))
        syb = servers.start("switchyard (baseline)",
                            [os.path.abspath(a.baseline), "serve", "--config",
                             str(tmp / "sy-b.json"), "--port-file", str(tmp / "gb.port")],
                            tmp / "sy-b.log")
        bport = wait_port_file(tmp / "gb.port", syb)
        contenders["switchyard (baseline)"] = (
            f"http://127.0.0.1:{bport}/v1/chat/completions", "bench", None)
        pids["switchyard (baseline)"] = syb.pid

    tls_dir = None
    if not a.no_tls:
        tls_dir = add_tls_contenders(a, servers, tmp, bin_path, contenders, pids)

    portkey_note = None
    start = HERE / "portkey/node_modules/@portkey-ai/gateway/build/start-server.js"
    if a.no_portkey:
        portkey_note = "skipped (--no-portkey)"
    elif not shutil.which("node"):
        portkey_note = "skipped: node is not installed"
    elif not start.exists():
        portkey_note = "skipped: bench/portkey not installed (cd bench/portkey && npm ci)"
    else:
        pport = free_port()
        env = dict(os.environ, NODE_ENV="production", TRUSTED_CUSTOM_HOSTS="127.0.0.1")
        pk = servers.start("portkey", ["node", "--import", str(HERE / "portkey/loopback.mjs"),
                                       str(start), f"--port={pport}", "--headless"],
                           tmp / "portkey.log", env=env, cwd=str(HERE / "portkey"))
        try:  # a contender from outside: its failure skips it, it does not stop the bench
            wait_listening(pport, pk, timeout=60)
            pk_url = f"http://127.0.0.1:{pport}/v1/chat/completions"
            pk_headers = {"x-portkey-provider": "openai", "x-portkey-custom-host": up_url}
            st, body = post_once(pk_url, "fake-mini", pk_headers)
            if st != 200 or '"choices"' not in body:
                raise SystemExit(f"answered {st}: {body[:300]}")
            contenders["Portkey gateway"] = (pk_url, "fake-mini", pk_headers)
            pids["Portkey gateway"] = pk.pid
        except SystemExit as e:
            portkey_note = f"skipped: it did not work here ({' '.join(str(e).split())[:300]})"
            pk.terminate()
    if portkey_note:
        log(f"Portkey gateway {portkey_note}")

    for name, (url, model, headers) in contenders.items():
        st, body = post_once(url, model, headers, tmp / "tls-cert.pem" if "TLS" in name else None)
        if st != 200 or '"choices"' not in body:
            sys.exit(f"{name} answered {st}: {body[:400]}")
        wrk(url, 4, 1, model, headers)  # warm up (connections, JIT, caches)

    names = list(contenders)
    res = {n: {"rps": [], "p50": [], "p99": [], "cpu": [], "sys": [], "non2xx": 0} for n in names}
    for rnd in range(a.rounds):
        order = names[rnd % len(names):] + names[:rnd % len(names)]
        log(f"round {rnd + 1}/{a.rounds} (load {loadavg()}): {', '.join(order)}")
        for n in order:
            url, model, headers = contenders[n]
            c0 = cpu_seconds(pids[n]) if n in pids else (0, 0)
            r32 = wrk(url, 32, a.seconds, model, headers)
            if n in pids:
                c1 = cpu_seconds(pids[n])
                res[n]["cpu"].append((c1[0] - c0[0] + c1[1] - c0[1]) / r32["requests"] * 1e6)
                res[n]["sys"].append((c1[1] - c0[1]) / r32["requests"] * 1e6)
            r1 = wrk(url, 1, a.seconds, model, headers)
            res[n]["rps"].append(r32["rps"])
            res[n]["p50"].append(r1["p50"])
            res[n]["p99"].append(r1["p99"])
            res[n]["non2xx"] += r32["non2xx"] + r1["non2xx"]
            log(f"  {n:18} {r32['rps']:>9,.0f} req/s   p50 {fmt_us(r1['p50']):>8}"
                f"   p99 {fmt_us(r1['p99']):>8}")
    load_after = loadavg()
    med = {n: {k: statistics.median(v[k]) if v[k] else float("nan")
               for k in ("rps", "p50", "p99", "cpu", "sys")} for n, v in res.items()}
    d = med["direct"]
    lines = ["| contender | req/s, 32 conn. | p50, 1 conn. | p99, 1 conn. | "
             "p50 added | p99 added | req/s vs nginx | proxy CPU per request (of which kernel) |",
             "|---|---|---|---|---|---|---|---|"]
    for n in names:
        m = med[n]
        tls = "TLS" in n  # against the direct TLS path and nginx over TLS
        dn = med["direct (TLS)"] if tls else d
        ng_n = med["nginx proxy_pass (TLS)" if tls else "nginx proxy_pass"]
        added = ("—", "—") if n.startswith("direct") else (fmt_us(m["p50"] - dn["p50"]),
                                                           fmt_us(m["p99"] - dn["p99"]))
        vs = "—" if n.startswith("direct") else f"{m['rps'] / ng_n['rps']:.2f}×"
        lines.append(f"| {n} | {m['rps']:,.0f} | {fmt_us(m['p50'])} | {fmt_us(m['p99'])} | "
                     f"{added[0]} | {added[1]} | {vs} | {fmt_us(m['cpu'])}"
                     + ("" if m["sys"] != m["sys"] else f" ({fmt_us(m['sys'])})") + " |")
    s, ng = med["switchyard"], med["nginx proxy_pass"]
    ratios = [f"- switchyard / nginx: {s['rps'] / ng['rps']:.2f}× the requests/s at 32 "
              f"connections (target ≥ 0.8×); p50 added {fmt_us(s['p50'] - d['p50'])} vs "
              f"{fmt_us(ng['p50'] - d['p50'])} for nginx"]
    if "switchyard (TLS)" in med:
        st_, nt, dt = med["switchyard (TLS)"], med["nginx proxy_pass (TLS)"], med["direct (TLS)"]
        ratios.append(f"- HTTPS upstream: switchyard / nginx: {st_['rps'] / nt['rps']:.2f}× the "
                      f"requests/s at 32 connections (target ≥ 0.8×); p50 added "
                      f"{fmt_us(st_['p50'] - dt['p50'])} vs {fmt_us(nt['p50'] - dt['p50'])} "
                      f"for nginx")
        for who, label in (("nginx", "nginx proxy_pass (TLS)"), ("switchyard", "switchyard (TLS)")):
            reqs, conns, resumed = tls_handshakes(tls_dir, who)
            ratios.append(f"- TLS upstream, {label}: {reqs:,} requests over {conns:,} TLS "
                          f"connections ({conns - resumed} full handshakes, {resumed} resumed "
                          f"sessions), {reqs / max(conns, 1):,.0f} requests per connection")
    if "switchyard (baseline)" in med:
        b = med["switchyard (baseline)"]
        ratios.append(f"- switchyard vs baseline {a.baseline}: {s['rps'] / b['rps']:.2f}× the "
                      f"requests/s; p50 added {fmt_us(s['p50'] - d['p50'])} vs "
                      f"{fmt_us(b['p50'] - d['p50'])}")
    if "Portkey gateway" in med:
        pk = med["Portkey gateway"]
        ratios.append(f"- switchyard / Portkey: {s['rps'] / pk['rps']:.1f}× the requests/s at "
                      f"32 connections (target ≥ 20×); p50 added "
                      f"{fmt_us(s['p50'] - d['p50'])} vs {fmt_us(pk['p50'] - d['p50'])}")
    else:
        ratios.append(f"- switchyard / Portkey: not measured, Portkey {portkey_note}")
    ratios.append("- proxy CPU per request: user + system CPU time of the proxy's processes "
                  "(all threads, nginx's workers) during the 32-connection run, divided by the "
                  "requests it served (10 ms clock ticks over the whole run); switchyard's "
                  "includes its store thread; in brackets the kernel's part, which includes "
                  "loopback TCP work done on the process's behalf")
    ratios.append(f"- switchyard added latency at 1 connection: p50 "
                  f"{fmt_us(s['p50'] - d['p50'])} (target ≤ 40 µs), p99 "
                  f"{fmt_us(s['p99'] - d['p99'])} (target ≤ 200 µs)")
    bad = {n: v["non2xx"] for n, v in res.items() if v["non2xx"]}
    if bad:
        ratios.append(f"- **non-2xx answers during the runs**: {bad}")

    mc = machine(bin_path)
    up_lines = [f"| {n} | {v[0]:,.0f} | {fmt_us(v[1])} |" for n, v in up_summary.items()]
    md = [f"## Gateways side by side ({datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC)",
          "",
          f"Command: `/usr/bin/python3 bench/compare.py {shlex.join(sys.argv[1:])}` "
          "(`make bench` runs it with the defaults: 5 s per run, 3 rounds). wrk 1 thread, the chat POST of "
          "bench/chat_post.lua; each figure is the median of the rounds; contenders "
          f"interleaved, order rotating per round. Every proxy runs {a.workers} worker(s): nginx "
          f"`worker_processes {a.workers}` with a keepalive upstream (access log on); switchyard "
          f"`workers: {a.workers}`, route `bench` over 4 priced models, policy `linear_thompson` "
          "(default params), request log lines on (to a file), cost accounting, store "
          "events; Portkey's Node.js gateway (one process) with `x-portkey-provider: openai` "
          "and `x-portkey-custom-host`. The (TLS) rows use an HTTPS upstream: the same canned "
          "answer from nginx over TLS on loopback (a self-signed P-256 certificate made at "
          "bench time), nginx proxy_pass `https://` with a keepalive upstream, "
          "`proxy_ssl_session_reuse on` and the certificate verified, switchyard with the "
          "provider's `ca_file`; their added latency and ratio are against direct (TLS) and "
          "nginx proxy_pass (TLS).",
          "",
          f"Load average (1/5/15 min) before: {load_before}; after: {load_after} "
          f"(the machine is shared; figures are ratios within this run).",
          "",
          f"Canned upstream: {chosen} (faster of the two, direct, median of 2 rounds × 3 s):",
          "",
          "| upstream | req/s, 32 conn. | p50, 1 conn. |", "|---|---|---|", *up_lines, "",
          *lines, "", *ratios, ""]
    table = "\n".join(md)
    print(table)
    if a.out:
        head = ["# Benchmark results", "", "| machine | |", "|---|---|"]
        head += [f"| {k} | {v} |" for k, v in mc.items()]
        head += [f"| date | {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC |",
                 f"| load average (1/5/15 min) at start | {load_before} |"]
        out = pathlib.Path(a.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("\n".join(head) + "\n\n" + table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
