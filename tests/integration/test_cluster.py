"""Cluster mode on Redis (docs/scale-out.md): gateway nodes that share one redis-server,
started here on a free loopback port (the tests skip only when redis-server is not
installed; `make deps-test` installs it)."""
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest
import requests

from conftest import BIN, CLIENT_KEY, FakeProvider, Gateway, Proc, gateway_config

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None,
                                reason="redis-server is not installed (make deps-test)")

SCENARIO = {
    "seed": 11,
    "defaults": {"latency_ms": {"dist": "fixed", "value": 0},
                 "ttft_ms": {"dist": "fixed", "value": 0}, "tokens_per_second": 0,
                 "content": {"mode": "lorem", "tokens": 40}},
    "models": {"fake-cheap": {"quality": 0.7}, "fake-best": {"quality": 0.9},
               "fake-premium": {"quality": 0.92}},
}
# utility = quality − 100 × cost_usd (tests/integration/test_learning.py): "best" wins
PRICES = {"cheap": (0.15, 0.6), "best": (1.0, 4.0), "premium": (15.0, 60.0)}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_cmd(port, *args, timeout=2.0):
    """One command over RESP; returns the raw reply text (enough for the checks here)."""
    out = f"*{len(args)}\r\n" + "".join(f"${len(str(a).encode())}\r\n{a}\r\n" for a in args)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(out.encode())
        time.sleep(0.05)
        return s.recv(65536).decode(errors="replace")


class Redis:
    def __init__(self, tmp, port=None):
        self.dir = tmp
        self.dir.mkdir(exist_ok=True)
        self.port = port or free_port()
        self.start()

    def start(self):
        self.proc = Proc(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                          "--save", "", "--appendonly", "yes", "--appendfsync", "always",
                          "--dir", str(self.dir)], self.dir / "redis.log")
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                if "PONG" in redis_cmd(self.port, "PING"):
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start:\n" + self.proc.output())

    def stop(self, sig=signal.SIGTERM):
        self.proc.stop(sig)

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"


def learning_config(fake_url, node, redis_url):
    cfg = gateway_config(fake_url)
    cfg["models"] = {name: {"provider": "fake", "upstream_name": f"fake-{name}",
                            "price": {"input": pin, "output": pout}}
                     for name, (pin, pout) in PRICES.items()}
    cfg["routes"] = {"learn": {"candidates": list(PRICES), "policy": "thompson",
                               "objective": {"quality": 1, "cost_per_usd": 100}}}
    cfg["cluster"] = {"redis_url": redis_url, "node_id": node}
    return cfg


def node(tmp_path, name, cfg):
    d = tmp_path / name
    d.mkdir()
    return Gateway(d, cfg)


def learned(gw, route="learn"):
    r = requests.get(f"{gw.admin_url}/admin/routes/{route}", headers=gw.admin_headers(),
                     timeout=5)
    r.raise_for_status()
    return {a["model"]: a["learned"] for a in r.json()["arms"]}


def status(gw):
    r = requests.get(gw.admin_url + "/admin/status", headers=gw.admin_headers(), timeout=5)
    r.raise_for_status()
    return r.json()["cluster"]


def loadgen(gw, fake, n, summary, seed, feedback=1.0, c=4):
    r = subprocess.run([BIN, "loadgen", "--url", gw.url, "--key", CLIENT_KEY, "--route", "learn",
                        "--fake", fake.url, "-n", str(n), "-c", str(c), "--seed", str(seed),
                        "--feedback-rate", str(feedback), "--report-every", "0",
                        "--summary", str(summary)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr + r.stdout
    return json.loads(summary.read_text())


def same_learned(*nodes):
    """The nodes' learners have learned from the same requests and rating weights."""
    ls = [learned(n) for n in nodes]
    return all(abs(l[m]["requests"] - ls[0][m]["requests"]) < 0.5 and
               abs(l[m]["ratings"] - ls[0][m]["ratings"]) < 1e-6 and
               abs(l[m]["rating_sum"] - ls[0][m]["rating_sum"]) < 1e-6
               for l in ls[1:] for m in ls[0])


def wait_until(pred, timeout=10.0, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


@pytest.fixture
def cluster(tmp_path):
    """A fake provider, a redis-server and a factory of nodes; everything is stopped."""
    fd = tmp_path / "fake"
    fd.mkdir()
    fake = FakeProvider(fd, SCENARIO)
    redis = Redis(tmp_path / "redis")
    nodes = []

    def make(name, **extra):
        cfg = learning_config(fake.url, name, redis.url)
        cfg.update(extra)
        gw = node(tmp_path, name, cfg)
        nodes.append(gw)
        return gw

    make.nodes = nodes
    yield fake, redis, make
    for gw in nodes:
        if getattr(gw, "killed", False):
            continue
        rc = gw.stop()
        assert rc == 0, f"node exited with {rc}:\n{gw.proc.output()[-4000:]}"
    redis.stop()
    assert fake.proc.stop() == 0


def test_learning_on_one_node_drives_decisions_on_another(cluster, tmp_path):
    fake, redis, make = cluster
    a, b = make("a"), make("b")
    s = loadgen(a, fake, 1500, tmp_path / "a.json", 1)
    print("A: best share of the last 500:", s["models"]["best"]["recent_share"])
    # every observation of A reaches B's learner (bounded delay, measured below)
    assert wait_until(lambda: same_learned(a, b)), json.dumps([learned(a), learned(b)])
    st = status(b)
    print("B cluster status:", st)
    assert st["redis_up"] and st["applied"] >= 3000 and st["nodes_seen"] == 2
    assert st["lag_ms"]["p99"] < 1000, st
    # B has served nothing, yet decides on A's posterior: the best arm from its first request
    sb = loadgen(b, fake, 200, tmp_path / "b.json", 2, feedback=0)
    share = sb["models"].get("best", {}).get("requests", 0) / sb["requests"]
    print("B: best share of its first 200 requests, no feedback on B:", share)
    assert share >= 0.7, sb
    # and A learns B's outcomes in turn
    assert wait_until(lambda: sum(v["requests"] for v in learned(b).values()) >= 1700)
    assert wait_until(lambda: same_learned(a, b)), json.dumps([learned(a), learned(b)])


def chat(gw, route="learn"):
    r = requests.post(gw.url + "/v1/chat/completions", headers=gw.headers(), timeout=10,
                      data=json.dumps({"model": route,
                                       "messages": [{"role": "user", "content": "hello"}]}))
    assert r.status_code == 200, r.text
    return r


def feedback(gw, rid, rating, token=None):
    h = gw.headers() if token is None else {"Content-Type": "application/json",
                                            "x-switchyard-feedback-token": token}
    return requests.post(gw.url + "/v1/feedback", headers=h, timeout=10,
                         data=json.dumps({"request_id": rid, "rating": rating}))


def restart(make, gw, sig=signal.SIGKILL):
    """Stop a node (kill -9 by default) and start it again on the same data_dir."""
    gw.stop(sig)
    gw.killed = True
    gw.port_file.unlink()
    again = Gateway(gw.dir, gw.config)
    make.nodes.append(again)
    return again


def test_feedback_on_any_node_reaches_every_learner_and_rerating_corrects(cluster):
    fake, redis, make = cluster
    a, b, c = make("a"), make("b"), make("c")
    r = chat(a)
    rid, model = r.headers["x-switchyard-request-id"], r.json()["model"]
    token = r.headers["x-switchyard-feedback-token"]
    # rated on B, which never saw the request: accepted, and every learner has it
    f = feedback(b, rid, "up")
    assert f.status_code == 200, f.text
    assert f.json()["model"] == model and f.json()["replaced"] is False
    want = {"requests": 1, "ratings": 1, "rating_sum": 1}
    for gw in (a, b, c):
        assert wait_until(lambda: learned(gw).get(model) == want), (gw.dir, learned(gw))
    # re-rated on C with the request's token (valid on every node): corrected, not added
    f = feedback(c, rid, "down", token=token)
    assert f.status_code == 200, f.text
    want = {"requests": 1, "ratings": 1, "rating_sum": 0}
    for gw in (a, b, c):
        assert wait_until(lambda: learned(gw).get(model) == want), (gw.dir, learned(gw))
    # and again on A, which served it
    assert feedback(a, rid, "up").status_code == 200
    want = {"requests": 1, "ratings": 1, "rating_sum": 1}
    for gw in (a, b, c):
        assert wait_until(lambda: learned(gw).get(model) == want), (gw.dir, learned(gw))
    # an unknown id stays a 404 on every node; a bad token stays a 401
    unknown = "req_" + "0" * 26
    assert feedback(b, unknown, "up").status_code == 404
    assert feedback(b, rid, "up", token="x" * 43).status_code == 401


def test_acknowledged_rating_survives_kill_of_the_node_that_took_it(cluster):
    fake, redis, make = cluster
    a, b = make("a"), make("b")
    r = chat(a)
    rid, model = r.headers["x-switchyard-request-id"], r.json()["model"]
    assert feedback(b, rid, "down").status_code == 200
    b = restart(make, b)  # kill -9 right after the acknowledgement: it is in B's LMDB
    want = {"requests": 1, "ratings": 1, "rating_sum": 0}
    assert wait_until(lambda: learned(b).get(model) == want), learned(b)
    assert wait_until(lambda: learned(a).get(model) == want), learned(a)
    # a re-rating on B after its restart still corrects
    assert feedback(b, rid, "up").json()["replaced"] is True
    want = {"requests": 1, "ratings": 1, "rating_sum": 1}
    for gw in (a, b):
        assert wait_until(lambda: learned(gw).get(model) == want), learned(gw)
