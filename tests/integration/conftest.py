"""Fixtures that run the real switchyard binary and its fake provider on free loopback
ports. Every test gets fresh processes unless it uses the module-scoped `stack`."""
import hashlib
import json
import os
import pathlib
import signal
import subprocess
import time

import pytest
import requests

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("SWITCHYARD_BIN", str(ROOT / "build" / "switchyard"))
SANITIZED = os.environ.get("SWITCHYARD_SANITIZED") == "1"
CLIENT_KEY = "sk-test-client-0123456789"
ADMIN_KEY = "sk-test-admin-0123456789"
CANARY_PROVIDER_KEY = "sk-canary-provider-key-DO-NOT-LEAK-7f3a9c"


def sha256_hex(s):
    return hashlib.sha256(s.encode()).hexdigest()


def wait_for_file(path, proc, timeout=15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().split()
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening")
        time.sleep(0.02)
    raise RuntimeError(f"timed out waiting for {path}")


class Proc:
    """A child process with its log file; stop() sends SIGTERM and waits."""

    def __init__(self, args, log_path, env=None):
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.p = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()
        return self.p.returncode

    def output(self):
        if not self.log.closed:
            self.log.flush()
        return pathlib.Path(self.log_path).read_text(errors="replace")


def sanitizer_env(env):
    """Under ASan+UBSan any report (leaks included) makes the process exit non-zero,
    which the fixtures assert against."""
    if SANITIZED:
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    return env


class FakeProvider:
    def __init__(self, tmp, scenario):
        self.dir = tmp
        scen = tmp / "scenario.json"
        scen.write_text(json.dumps(scenario))
        port_file = tmp / "fake.port"
        self.proc = Proc([BIN, "fake-provider", "--scenario", str(scen), "--listen",
                          "127.0.0.1:0", "--port-file", str(port_file)], tmp / "fake.log",
                         env=sanitizer_env(dict(os.environ)))
        self.port = int(wait_for_file(port_file, self.proc.p)[0])
        self.url = f"http://127.0.0.1:{self.port}"

    def stats(self):
        return requests.get(self.url + "/_fake/stats", timeout=5).json()

    def reset(self):
        requests.post(self.url + "/_fake/reset", timeout=5)

    def set_scenario(self, scenario):
        r = requests.post(self.url + "/_fake/scenario", json=scenario, timeout=5)
        r.raise_for_status()


DEFAULT_SCENARIO = {
    "seed": 7,
    "defaults": {"latency_ms": {"dist": "fixed", "value": 0},
                 "ttft_ms": {"dist": "fixed", "value": 0},
                 "tokens_per_second": 0,
                 "content": {"mode": "lorem", "tokens": 20}},
    "models": {
        "fake-small": {"quality": 0.6},
        "fake-large": {"quality": 0.9, "cached_tokens": 3},
        "fake-slow": {"tokens_per_second": 20, "content": {"mode": "lorem", "tokens": 100}},
        # hundreds of MB of SSE, unpaced: only backpressure keeps it out of memory
        "fake-huge": {"chunk_tokens": 1, "content": {"mode": "lorem", "tokens": 2000000}},
    },
}


def gateway_config(fake_url, **overrides):
    cfg = {
        "listen": {"address": "127.0.0.1", "port": 0},
        "admin": {"address": "127.0.0.1", "port": 0, "key_sha256": sha256_hex(ADMIN_KEY)},
        "workers": 2,
        "providers": {"fake": {"dialect": "openai", "base_url": fake_url + "/v1",
                               "key_env": "SY_TEST_PROVIDER_KEY"}},
        "models": {
            "small": {"provider": "fake", "upstream_name": "fake-small",
                      "price": {"input": 0.15, "cached_input": 0.075, "output": 0.6},
                      "tier": "fast"},
            "large": {"provider": "fake", "upstream_name": "fake-large",
                      "price": {"input": 2.5, "cached_input": 1.25, "output": 10},
                      "tier": "strong"},
            "slow": {"provider": "fake", "upstream_name": "fake-slow",
                     "price": {"input": 1, "output": 2}},
            "huge": {"provider": "fake", "upstream_name": "fake-huge",
                     "price": {"input": 1, "output": 2}},
        },
        "routes": {"chat": {"candidates": ["small", "large"]}},
        "client_keys": [{"name": "tests", "sha256": sha256_hex(CLIENT_KEY)}],
    }
    for k, v in overrides.items():
        cfg[k] = v
    return cfg


class Gateway:
    def __init__(self, tmp, config):
        self.dir = tmp
        self.config_path = tmp / "switchyard.json"
        config.setdefault("data_dir", str(tmp / "data"))
        self.data_dir = config["data_dir"]
        self.write_config(config)
        self.port_file = tmp / "gw.port"
        env = sanitizer_env(dict(os.environ, SY_TEST_PROVIDER_KEY=CANARY_PROVIDER_KEY))
        self.proc = Proc([BIN, "serve", "--config", str(self.config_path), "--port-file",
                          str(self.port_file)], tmp / "gateway.log", env=env)
        port, admin = wait_for_file(self.port_file, self.proc.p)
        self.port, self.admin_port = int(port), int(admin)
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_url = f"http://127.0.0.1:{self.admin_port}"

    def write_config(self, config):
        self.config = config
        tmp = self.config_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(config, indent=2))
        tmp.replace(self.config_path)

    def headers(self, key=CLIENT_KEY, **extra):
        h = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        h.update(extra)
        return h

    def admin_headers(self):
        return {"Authorization": f"Bearer {ADMIN_KEY}"}

    def chat(self, body, stream=False, **kw):
        return requests.post(self.url + "/v1/chat/completions", headers=self.headers(),
                             data=json.dumps(body), stream=stream, timeout=kw.get("timeout", 30))

    def log_lines(self):
        out = []
        for line in self.proc.output().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def stop(self, sig=signal.SIGTERM):
        return self.proc.stop(sig)


@pytest.fixture
def fake(tmp_path):
    fp = FakeProvider(tmp_path, DEFAULT_SCENARIO)
    yield fp
    rc = fp.proc.stop()
    assert rc == 0, f"fake-provider exited with {rc}:\n{fp.proc.output()[-4000:]}"



@pytest.fixture
def gateway(tmp_path, fake):
    gw = Gateway(tmp_path, gateway_config(fake.url))
    yield gw
    rc = gw.stop()
    assert rc == 0, f"gateway exited with {rc}:\n{gw.proc.output()[-4000:]}"


def chat_request_bytes(model, stream=False, close=False, extra_headers=b""):
    """A whole chat-completion request as raw HTTP/1.1 bytes, for tests that need the
    socket itself (reading slowly, aborting, pipelining)."""
    body = json.dumps({"model": model, "stream": stream,
                       "messages": [{"role": "user", "content": "go"}]}).encode()
    return (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
            b"Authorization: Bearer " + CLIENT_KEY.encode() + b"\r\n"
            b"Content-Type: application/json\r\n" + extra_headers
            + (b"Connection: close\r\n" if close else b"")
            + b"Content-Length: %d\r\n\r\n" % len(body) + body)


def chat_body(model="small", content="Hello there", **extra):
    body = {"model": model, "messages": [{"role": "user", "content": content}]}
    body.update(extra)
    return body


def run_doc_walkthrough(doc, ports, tmp_path, timeout=120):
    """Run the ```sh blocks of docs/<doc> in order, as one bash script from the repository
    root (they use build/switchyard and fixed loopback ports); skip when the binary is not
    built or a port is taken. Returns the finished process; asserts it ran to its end."""
    import re
    import socket
    root = pathlib.Path(__file__).resolve().parents[2]
    if not (root / "build" / "switchyard").exists():
        pytest.skip("build/switchyard not built (the walkthrough uses that path)")
    for port in ports:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is not taken
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                pytest.skip(f"port {port} is taken on this machine")
    blocks = re.findall(r"```sh\n(.*?)```", (root / "docs" / doc).read_text(), re.S)
    script = tmp_path / "walkthrough.sh"
    script.write_text("set -euo pipefail\nset -m\n" + "\n".join(blocks) + "wait\necho WALK-OK\n")
    r = subprocess.run(["bash", str(script)], cwd=root, capture_output=True, text=True,
                       timeout=timeout, env=dict(os.environ))
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-6000:]
    assert "WALK-OK" in r.stdout, out[-6000:]
    return r
