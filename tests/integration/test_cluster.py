"""Cluster mode on Redis (docs/scale-out.md): gateway nodes that share one redis-server,
started here on a free loopback port (the tests skip only when redis-server is not
installed; `make deps-test` installs it)."""
import hashlib
import json
import pathlib
import re
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
    def __init__(self, tmp, port=None, extra=()):
        self.dir = tmp
        self.dir.mkdir(exist_ok=True)
        self.port = port or free_port()
        self.extra = list(extra)  # e.g. --requirepass
        self.start()

    def start(self):
        self.proc = Proc(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                          "--save", "", "--appendonly", "yes", "--appendfsync", "always",
                          "--dir", str(self.dir), *self.extra], self.dir / "redis.log")
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                reply = redis_cmd(self.port, "PING")
                if "PONG" in reply or "NOAUTH" in reply:
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


# ---- budgets ---------------------------------------------------------------------------

def lua_script(name):
    """The text of a script constant of engine/cluster/cluster_budget.c (C string pieces)."""
    src = (pathlib.Path(__file__).resolve().parents[2] / "engine" / "cluster" /
           "cluster_budget.c").read_text()
    body = src.split(f"const char {name}[] =", 1)[1].split(";\n", 1)[0]
    return "".join(bytes(piece, "utf-8").decode("unicode_escape")
                   for piece in re.findall(r'"((?:[^"\\]|\\.)*)"', body))


def redis_cli(port, *args):
    r = subprocess.run(["redis-cli", "-p", str(port), "--raw", *map(str, args)],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def test_budget_scripts_contract(tmp_path):
    """Reserve and settle by request id: refused once spent + reserved reaches the budget,
    idempotent for a retry, settled once, and a reservation never settled expires."""
    redis = Redis(tmp_path / "redis")
    try:
        reserve, settle = lua_script("SY_BUDGET_RESERVE_LUA"), lua_script("SY_BUDGET_SETTLE_LUA")
        keys = ["sy:bud:{6b}:d:1", "sy:bud:{6b}:m:1", "sy:bud:{6b}:rs:1", "sy:bud:{6b}:rz:1"]
        now, ttl = 1_000_000, 600_000

        def res(rid, amount, t=now):
            out = redis_cli(redis.port, "EVAL", reserve, 4, *keys, rid, amount, 1.0, 0, t, ttl)
            return int(out[0]), float(out[1])

        def stl(rid, cost):
            return int(redis_cli(redis.port, "EVAL", settle, 4, *keys, rid, cost, now)[0])

        assert res("r1", 0.4) == (1, 0.4)
        assert res("r1", 0.4) == (1, 0.4)  # a retry: reserved once
        assert res("r2", 0.4) == (1, 0.8)
        assert res("r3", 0.4)[0] == 1     # 0.8 < 1: admitted; spend may pass 1 by this one
        assert res("r4", 0.01)[0] == 0    # 1.2 >= 1: refused
        assert stl("r1", 0.1) == 1
        assert stl("r1", 0.1) == 0        # settled once
        assert res("r1", 0.4)[0] == 1     # a settled request is not reserved again
        assert float(redis_cli(redis.port, "HGET", keys[0], "spent")[0]) == pytest.approx(0.1)
        assert float(redis_cli(redis.port, "HGET", keys[0], "reserved")[0]) == \
            pytest.approx(0.8)
        assert stl("r9", 0.05) == 1       # no reservation (decided without Redis): counted
        # r2 and r3 were never settled: they expire, and their reserve comes back
        ok, used = res("r5", 0.2, t=now + ttl + 1)
        assert ok == 1 and used == pytest.approx(0.1 + 0.05 + 0.2)
        # the script ids the gateway sends are the SHA-1 of these texts (SCRIPT LOAD)
        sha = redis_cli(redis.port, "SCRIPT", "LOAD", reserve)[0]
        assert sha == hashlib.sha1(reserve.encode()).hexdigest()
    finally:
        redis.stop()


BUDGET = 0.05


def budget_key_config(cfg):
    cfg["client_keys"][0]["limits"] = {"usd_per_day": BUDGET}
    return cfg


def hammer(gw, stop, costs, codes, lock):
    """Chat through one node until told to stop; record each 200's billed cost."""
    s = requests.Session()
    body = json.dumps({"model": "premium", "max_tokens": 50,
                       "messages": [{"role": "user", "content": "spend"}]})
    while not stop.is_set():
        r = s.post(gw.url + "/v1/chat/completions", headers=gw.headers(), data=body, timeout=30)
        with lock:
            codes.append(r.status_code)
            if r.status_code == 200:
                costs.append(float(r.headers["x-switchyard-cost-usd"]))


def test_budget_holds_across_nodes_under_concurrent_load(cluster):
    fake, redis, make = cluster
    a = make("a", client_keys=budget_key_config(gateway_config(fake.url))["client_keys"])
    b = make("b", client_keys=a.config["client_keys"])
    stop, lock, costs, codes = threading.Event(), threading.Lock(), [], []
    threads = [threading.Thread(target=hammer, args=(gw, stop, costs, codes, lock))
               for gw in (a, b) for _ in range(6)]
    for t in threads:
        t.start()
    # until both nodes refuse steadily (every reservation settled, the budget spent)
    deadline = time.time() + 60
    while time.time() < deadline:
        time.sleep(0.5)
        with lock:
            tail = codes[-60:]
        if len(tail) == 60 and all(c == 429 for c in tail):
            break
    stop.set()
    for t in threads:
        t.join()
    assert set(codes) <= {200, 429}, set(codes)
    spent, one = sum(costs), max(costs)
    print(f"cluster spend {spent:.6f} of a {BUDGET} budget, {len(costs)} requests admitted, "
          f"{codes.count(429)} refused; one request costs at most {one:.6f}")
    assert spent <= BUDGET + one + 1e-9, (spent, one)
    assert spent >= BUDGET - 2 * one  # and the budget was used, not refused early
    # Redis's count is the nodes' billed cost (settled once each)
    key = "sy:bud:{%s}:d:%d" % ("tests".encode().hex(), int(time.time() * 1000) // 86400000)
    assert wait_until(lambda: abs(float(redis_cli(redis.port, "HGET", key, "spent")[0]) -
                                  spent) < 1e-9)


# ---- Redis down ------------------------------------------------------------------------

def traffic(gw, stop, codes, lock):
    """Chat through one node and rate each answer on the same node, until told to stop."""
    s = requests.Session()
    body = json.dumps({"model": "learn", "messages": [{"role": "user", "content": "hi"}]})
    i = 0
    while not stop.is_set():
        i += 1
        try:
            r = s.post(gw.url + "/v1/chat/completions", headers=gw.headers(), data=body,
                       timeout=30)
            got = [r.status_code]
            if r.status_code == 200:
                f = s.post(gw.url + "/v1/feedback", headers=gw.headers(), timeout=30,
                           data=json.dumps({"request_id": r.headers["x-switchyard-request-id"],
                                            "rating": "up" if i % 3 else "down"}))
                got.append(f.status_code)
        except requests.RequestException as e:
            if getattr(gw, "killed", False):
                return  # this node was killed on purpose
            got = [repr(e)]  # counted as a failed request (the thread goes on)
        with lock:
            codes.extend(got)


def test_redis_down_nodes_keep_serving_and_catch_up(cluster):
    """The issue's test: Redis killed for 10 s under load on two nodes (one of them also
    killed -9 meanwhile and started again without Redis): not one request fails, the
    backlogs drain, and both nodes learn from exactly the same observations again."""
    fake, redis, make = cluster
    a, b = make("a"), make("b")
    stop, lock, codes = threading.Event(), threading.Lock(), []

    def run(gw):
        ts = [threading.Thread(target=traffic, args=(gw, stop, codes, lock)) for _ in range(3)]
        for t in ts:
            t.start()
        return ts

    threads = run(a) + run(b)
    time.sleep(1.0)
    redis.stop(signal.SIGKILL)
    down_at = time.time()
    time.sleep(1.0)
    down = status(a)
    print("A while Redis is down:", down)
    assert not down["redis_up"] and down["backlog"] > 0
    # B is killed -9 while its backlog cannot be sent, and starts again without Redis
    b.killed = True
    b2 = restart(make, b)
    threads += run(b2)
    time.sleep(max(0.0, 10.0 - (time.time() - down_at)))
    held = time.time() - down_at
    redis.start()  # the same port and AOF directory
    time.sleep(1.5)
    stop.set()
    for t in threads:
        t.join()
    bad = [c for c in codes if c != 200]
    print(f"{len(codes)} answers while Redis was down for {held:.1f} s; not 200: {len(bad)}")
    assert held >= 10.0
    assert codes and not bad, bad[:10]
    # backlogs drain and both nodes learn from exactly the same observations again
    assert wait_until(lambda: status(a)["backlog"] == 0 and status(b2)["backlog"] == 0, 30)
    assert wait_until(lambda: same_learned(a, b2), 20), json.dumps([learned(a), learned(b2)])
    st = status(a)
    assert st["redis_up"] and st["nodes_seen"] == 2, st


# ---- Redis AUTH ------------------------------------------------------------------------

REDIS_PASSWORD = "s3cret-redis-pass-0123"


def test_redis_auth_password_and_acl_user(tmp_path, monkeypatch):
    """A Redis that requires a password (requirepass) and an ACL user: nodes configured with
    password_env (and username) learn from each other; a node with a wrong password keeps
    serving alone and says so; the password is never in a node's output."""
    fd = tmp_path / "fake"
    fd.mkdir()
    fake = FakeProvider(fd, SCENARIO)
    redis = Redis(tmp_path / "redis", extra=[
        "--requirepass", REDIS_PASSWORD,
        "--user", "gw", "on", ">acl-pass-0456", "~sy:*", "&*", "+@all"])
    monkeypatch.setenv("SY_TEST_REDIS_PASSWORD", REDIS_PASSWORD)
    monkeypatch.setenv("SY_TEST_REDIS_ACL", "acl-pass-0456")
    monkeypatch.setenv("SY_TEST_REDIS_WRONG", "not-the-password")
    nodes = []
    try:
        def make(name, **cluster):
            cfg = learning_config(fake.url, name, redis.url)
            cfg["cluster"].update(cluster)
            d = tmp_path / name
            d.mkdir()
            nodes.append(Gateway(d, cfg))
            return nodes[-1]

        a = make("a", password_env="SY_TEST_REDIS_PASSWORD")
        b = make("b", username="gw", password_env="SY_TEST_REDIS_ACL")
        bad = make("bad", password_env="SY_TEST_REDIS_WRONG")
        for gw in (a, b):
            assert wait_until(lambda: status(gw)["redis_up"]), status(gw)
        for _ in range(20):
            chat(a)
        assert wait_until(lambda: sum(v["requests"] for v in learned(b).values()) == 20), \
            learned(b)
        st = status(bad)
        assert not st["redis_up"] and st["auth_failed"], st
        # check-config names a password_env that is not set (and never prints a password)
        cfg = dict(a.config, cluster=dict(a.config["cluster"], password_env="SY_TEST_UNSET_VAR"))
        (tmp_path / "unset.json").write_text(json.dumps(cfg))
        cc = subprocess.run([BIN, "check-config", str(tmp_path / "unset.json")],
                            capture_output=True, text=True, timeout=30)
        assert cc.returncode == 0 and "SY_TEST_UNSET_VAR" in cc.stderr, cc.stderr
        assert status(a)["auth_failed"] is False
        chat(bad)  # serving alone
        assert sum(v["requests"] for v in learned(a).values()) == 20  # nothing from bad
    finally:
        for gw in nodes:
            assert gw.stop() == 0
        redis.stop()
        assert fake.proc.stop() == 0
    for gw in nodes:
        out = gw.proc.output() + gw.config_path.read_text()
        for secret in (REDIS_PASSWORD, "acl-pass-0456", "not-the-password"):
            assert secret not in out, gw.dir


# ---- conversations -----------------------------------------------------------------------

def escalation_config(fake_url, node, redis_url):
    cfg = gateway_config(fake_url)
    cfg["routes"]["support"] = {
        "candidates": ["small", "large"], "policy": "fixed", "params": {"fixed": "small"},
        "rules": [{"name": "frustrated", "when": "rephrases >= 2",
                   "then": {"escalate": "strong"}, "sticky": True}]}
    cfg["cluster"] = {"redis_url": redis_url, "node_id": node}
    return cfg


def test_conversation_escalated_on_one_node_stays_escalated_on_another(tmp_path):
    fd = tmp_path / "fake"
    fd.mkdir()
    fake, redis = FakeProvider(fd, SCENARIO | {"models": {"fake-small": {}, "fake-large": {}}}), \
        Redis(tmp_path / "redis")
    a = node(tmp_path, "a", escalation_config(fake.url, "a", redis.url))
    b = node(tmp_path, "b", escalation_config(fake.url, "b", redis.url))
    try:
        def turn(gw, text):
            r = requests.post(gw.url + "/v1/chat/completions", timeout=10,
                              headers=gw.headers(**{"X-Conversation-Id": "conv-7"}),
                              json={"model": "support",
                                    "messages": [{"role": "user", "content": text}]})
            assert r.status_code == 200, r.text
            return r.headers["x-switchyard-model"]

        served = [turn(a, t) for t in ("How do I reset my password?",
                                       "how can i reset the password",
                                       "HOW DO I RESET MY PASSWORD???")]
        assert served == ["small", "small", "large"], served

        def conv(gw):
            r = requests.get(gw.admin_url + "/admin/conversations/conv-7",
                             headers=gw.admin_headers(), timeout=5)
            return r.json() if r.status_code == 200 else None
        st = wait_until(lambda: (c := conv(b)) and c["turns"] == 3 and c)
        assert st and st["tier"] == "strong" and st["sticky_rule"] == "frustrated", st
        # the load balancer sends the next turn to B: still escalated, and A sees B's turn
        assert turn(b, "where do I change my email address?") == "large"
        assert wait_until(lambda: (c := conv(a)) and c["turns"] == 4)
    finally:
        for p in (a, b):
            assert p.stop() == 0
        redis.stop()
        assert fake.proc.stop() == 0


def test_redis_stalled_requests_wait_at_most_the_timeout(cluster):
    """A Redis that stops answering (SIGSTOP) is dropped after 2 s: budget reservations
    fall back to the local share, nothing fails, and the nodes catch up on SIGCONT."""
    fake, redis, make = cluster
    keys = gateway_config(fake.url)["client_keys"]
    keys[0]["limits"] = {"usd_per_day": 100}
    a, b = make("a", client_keys=keys), make("b", client_keys=keys)
    stop, lock, codes, slow = threading.Event(), threading.Lock(), [], []

    def run(gw):
        s = requests.Session()
        while not stop.is_set():
            t0 = time.time()
            r = s.post(gw.url + "/v1/chat/completions", headers=gw.headers(), timeout=30,
                       data=json.dumps({"model": "learn",
                                        "messages": [{"role": "user", "content": "x"}]}))
            with lock:
                codes.append(r.status_code)
                slow.append(time.time() - t0)

    threads = [threading.Thread(target=run, args=(gw,)) for gw in (a, b) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    redis.proc.p.send_signal(signal.SIGSTOP)
    time.sleep(4.0)
    redis.proc.p.send_signal(signal.SIGCONT)
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join()
    print(f"{len(codes)} answers, slowest {max(slow):.2f} s; A:", status(a))
    assert codes and set(codes) == {200}
    assert max(slow) < 4.0  # a reservation waits at most the 2 s timeout (+ a tick)
    assert status(a)["budget_fallbacks"] > 0
    assert wait_until(lambda: status(a)["backlog"] == 0 and status(b)["backlog"] == 0, 20)
    assert wait_until(lambda: same_learned(a, b), 20), json.dumps([learned(a), learned(b)])


# ---- experiments ---------------------------------------------------------------------------

def test_experiment_started_on_one_node_assigns_identically_on_the_others(tmp_path):
    fd = tmp_path / "fake"
    fd.mkdir()
    fake, redis = FakeProvider(fd, SCENARIO | {"models": {"fake-small": {}, "fake-large": {}}}), \
        Redis(tmp_path / "redis")
    nodes = []
    try:
        for name in ("a", "b", "c"):
            cfg = gateway_config(fake.url)
            cfg["cluster"] = {"redis_url": redis.url, "node_id": name}
            nodes.append(node(tmp_path, name, cfg))
        a = nodes[0]

        def admin(gw, method, path, body=None):
            return requests.request(method, gw.admin_url + path, headers=gw.admin_headers(),
                                    timeout=30, data=None if body is None else json.dumps(body))

        d = {"id": "exp1", "route": "chat", "unit": "user", "traffic": 0.5,
             "variants": [{"name": "ctl", "weight": 50},
                          {"name": "big", "weight": 50, "model": "large"}]}
        for gw in nodes:  # every node has seen the others' heartbeats
            assert wait_until(lambda: status(gw)["nodes_seen"] == 3), status(gw)
        # every admin change answers once B and C confirmed it (none lags here) ...
        for method, path, body, code in (
                ("POST", "/admin/experiments", d, 201),
                ("POST", "/admin/experiments/exp1/start", None, 200),
                ("PUT", "/admin/experiments/exp1/allocation",
                 {"weights": {"ctl": 10, "big": 90}}, 200)):
            r = admin(a, method, path, body)
            assert r.status_code == code, r.text
            assert sorted(r.json()["cluster"]["confirmed"]) == ["b", "c"], r.json()
            assert r.json()["cluster"]["lagging"] == [], r.json()
        assert r.json()["allocation_version"] == 2

        def state(gw):
            r = admin(gw, "GET", "/admin/experiments/exp1")
            return r.status_code == 200 and (r.json()["status"], r.json()["allocation_version"])
        for gw in nodes[1:]:  # ... so it is in force there already, without waiting
            assert state(gw) == ("running", 2), state(gw)

        def where(gw, unit):
            return admin(gw, "GET", f"/admin/experiments/exp1/assignment?unit={unit}").json()
        for i in range(50):
            got = [where(gw, f"u{i}") for gw in nodes]
            assert got[0] == got[1] == got[2], got
            assert got[0]["allocation_version"] == 2
        # and requests through B are served by the variant A's allocation gives them
        hdr = {"Authorization": nodes[1].headers()["Authorization"], "X-User-Id": "u1"}
        r = requests.post(nodes[1].url + "/v1/chat/completions", headers=hdr, timeout=10,
                          json={"model": "chat", "user": "u1",
                                "messages": [{"role": "user", "content": "x"}]})
        assert r.status_code == 200
        w = where(a, "u1")
        if w["enrolled"]:
            assert r.headers["x-switchyard-experiment"] == f"exp1={w['variant']}"
    finally:
        for gw in nodes:
            assert gw.stop() == 0
        redis.stop()
        assert fake.proc.stop() == 0


def test_prompt_changed_on_one_node_resolves_identically_and_lagging_nodes_are_named(tmp_path):
    """Prompt versions and labels made through any node's admin API are in force on every
    node when the call answers; a node that cannot confirm in time (stopped) is named in
    the answer, which comes after cluster.admin_wait_ms, and catches up when it resumes."""
    fd = tmp_path / "fake"
    fd.mkdir()
    fake, redis = FakeProvider(fd, SCENARIO | {"models": {"fake-small": {}, "fake-large": {}}}), \
        Redis(tmp_path / "redis")
    nodes = []
    try:
        for name in ("a", "b", "c"):
            cfg = gateway_config(fake.url)
            cfg["cluster"] = {"redis_url": redis.url, "node_id": name, "admin_wait_ms": 1500}
            nodes.append(node(tmp_path, name, cfg))
        a, b, c = nodes
        for gw in nodes:  # every node has seen the others' heartbeats
            assert wait_until(lambda: status(gw)["nodes_seen"] == 3), status(gw)

        def admin(gw, method, path, body=None):
            return requests.request(method, gw.admin_url + path, headers=gw.admin_headers(),
                                    timeout=30, data=None if body is None else json.dumps(body))

        def render(gw, **ref):
            r = admin(gw, "POST", "/admin/prompts/greet/render",
                      dict(ref, variables={"who": "Ada"}))
            return r.status_code, r.json()

        v1 = {"messages": [{"role": "system", "content": "Be brief."},
                           {"role": "user", "content": "Hello {{who}}"}],
              "variables": {"who": {"type": "string"}}}
        v2 = {"messages": [{"role": "user", "content": "Good day, {{who}}"}],
              "variables": {"who": {"type": "string"}}}
        r = admin(a, "POST", "/admin/prompts/greet/versions", v1)
        assert r.status_code == 201, r.text
        assert sorted(r.json()["cluster"]["confirmed"]) == ["b", "c"], r.json()
        r = admin(b, "POST", "/admin/prompts/greet/versions", v2)  # the next one on B
        assert r.status_code == 201 and r.json()["version"] == 2, r.text
        assert sorted(r.json()["cluster"]["confirmed"]) == ["a", "c"], r.json()
        r = admin(c, "PUT", "/admin/prompts/greet/labels/production", {"version": 1})
        assert r.status_code == 200 and r.json()["cluster"]["lagging"] == [], r.text
        # the same documents, versions and label on every node, at once
        docs = [admin(gw, "GET", "/admin/prompts/greet").json() for gw in nodes]
        assert docs[0] == docs[1] == docs[2], docs
        assert [v["version"] for v in docs[0]["versions"]] == [1, 2]
        assert docs[0]["labels"] == {"production": 1}
        got = [render(gw, label="production") for gw in nodes]
        assert got[0] == got[1] == got[2] and got[0][0] == 200, got
        assert "Hello Ada" in json.dumps(got[0][1])
        # a request through C with A's prompt reference is rendered from the same version
        r = requests.post(c.url + "/v1/chat/completions", headers=c.headers(), timeout=10,
                          json={"model": "chat", "prompt": {"id": "greet", "label": "production",
                                                            "variables": {"who": "Ada"}}})
        assert r.status_code == 200, r.text
        assert r.headers["x-switchyard-prompt"] == "greet@1"

        # C stops answering (alive as far as its last heartbeat says): A's change waits
        # cluster.admin_wait_ms, then answers and names C
        c.proc.p.send_signal(signal.SIGSTOP)
        try:
            t0 = time.time()
            r = admin(a, "PUT", "/admin/prompts/greet/labels/production", {"version": 2})
            waited = time.time() - t0
            assert r.status_code == 200, r.text
            print("answer with C stopped:", r.json(), f"after {waited:.2f} s")
            assert r.json()["cluster"]["confirmed"] == ["b"], r.json()
            assert r.json()["cluster"]["lagging"] == ["c"], r.json()
            assert 1.4 <= waited < 4.0
        finally:
            c.proc.p.send_signal(signal.SIGCONT)
        # C catches up
        assert wait_until(lambda: admin(c, "GET", "/admin/prompts/greet").json()["labels"] ==
                          {"production": 2})
    finally:
        for gw in nodes:
            assert gw.stop() == 0
        redis.stop()
        assert fake.proc.stop() == 0


# ---- three nodes behind a round robin ----------------------------------------------------

QUALITY = {"cheap": 0.7, "best": 0.9, "premium": 0.92}  # SCENARIO's hidden qualities


def round_robin(nodes, n, seed, threads=6):
    """n requests sent to the nodes in turn, each rated (up with the serving model's hidden
    quality) on a random node. Returns the served models in order and the acknowledged
    ratings."""
    import random
    lock, served, acked, errors = threading.Lock(), [None] * n, [], []
    counter = iter(range(n))

    def run(k):
        try:
            work(k)
        except Exception as e:  # a thread's failure fails the test
            errors.append(repr(e))

    def work(k):
        rng, s = random.Random(seed * 100 + k), requests.Session()
        body = json.dumps({"model": "learn", "messages": [{"role": "user", "content": "q"}]})
        for i in counter:
            gw = nodes[i % len(nodes)]
            r = s.post(gw.url + "/v1/chat/completions", headers=gw.headers(), data=body,
                       timeout=30)
            assert r.status_code == 200, r.text
            model = r.json()["model"]
            up = rng.random() < QUALITY[model]
            f = s.post(rng.choice(nodes).url + "/v1/feedback", headers=gw.headers(), timeout=30,
                       data=json.dumps({"request_id": r.headers["x-switchyard-request-id"],
                                        "rating": "up" if up else "down"}))
            assert f.status_code == 200, f.text
            with lock:
                served[i] = model
                acked.append((model, up))

    ts = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors
    return served, acked


def test_three_nodes_learn_as_one(tmp_path):
    fd = tmp_path / "fake"
    fd.mkdir()
    fake, redis = FakeProvider(fd, SCENARIO), Redis(tmp_path / "redis")
    nodes, single = [], None
    try:
        for name in ("a", "b", "c"):
            nodes.append(node(tmp_path, name, learning_config(fake.url, name, redis.url)))
        served, acked = round_robin(nodes, 3000, 1)
        # every acknowledged rating is in the learned statistics of all three nodes
        want = {m: sum(1 for mm, _ in acked if mm == m) for m in QUALITY}
        ups = {m: sum(1 for mm, up in acked if mm == m and up) for m in QUALITY}

        def complete(gw):
            # every served request and every acknowledged rating, exactly, on every node
            got = learned(gw)
            return all(got[m]["ratings"] == want[m] and got[m]["rating_sum"] == ups[m] and
                       got[m]["requests"] == want[m] for m in QUALITY)
        for gw in nodes:
            assert wait_until(lambda: complete(gw), 20), \
                json.dumps([str(gw.dir), learned(gw), want, ups])
        cluster_share = served[-500:].count("best") / 500
        # the same traffic through one node on its own
        cfg = learning_config(fake.url, "solo", redis.url)
        del cfg["cluster"]
        single = node(tmp_path, "solo", cfg)
        served1, _ = round_robin([single], 3000, 1)
        single_share = served1[-500:].count("best") / 500
        print(f"best arm's share of the last 500 of 3000: 3 nodes {cluster_share:.3f}, "
              f"one node {single_share:.3f}")
        assert abs(cluster_share - single_share) <= 0.05
    finally:
        for gw in nodes + ([single] if single else []):
            assert gw.stop() == 0
        redis.stop()
        assert fake.proc.stop() == 0
