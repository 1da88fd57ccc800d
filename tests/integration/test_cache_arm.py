"""The cache as an arm of a route's policy, end to end (docs/cache.md "The cache as an
arm"). A route with "cache": {"mode": "arm"} lets its contextual policy choose between the
semantic tier's nearest entry (the cache arm) and its model. The embedding model is a stub
whose vectors the test chooses, so every similarity is known: repeats of a question sit
at 0.99 of the stored answer, near-misses at 0.6. Ratings say a cached answer is good for
a repeat (1) and bad for a near-miss (0), a model's answer is fair (0.7): the route must
learn to serve repeats from the cache and to call the model for near-misses. Feedback on
a cache-served request reaches the cache arm (admin stats), a restart keeps what it
learned, and bad configurations are refused."""
import json
import math
import subprocess

import pytest
import requests

from conftest import BIN, DEFAULT_SCENARIO, FakeProvider, Gateway, gateway_config
from test_cache_semantic import EmbedStub, add_stub_embedder

DIM = 512
REPEAT, NEAR = 0.99, 0.6


def vec(parts):
    v = [0.0] * DIM
    for i, x in parts:
        v[i] = x
    return v


ANCHOR_TEXT = "what is the capital of austria?"
ANCHOR = vec([(0, 1.0)])
# a repeat: 0.99 of the anchor (and 1.0 of another repeat's stored answer)
REPEAT_VEC = vec([(0, REPEAT), (1, math.sqrt(1 - REPEAT * REPEAT))])


def near_vec(j):
    """Near-miss j: 0.6 of the anchor, on an axis of its own (0.36 of other near-misses,
    0.594 of stored repeats): its nearest entry is always the anchor at 0.6."""
    return vec([(0, NEAR), (2 + j, math.sqrt(1 - NEAR * NEAR))])


def config(fake, stub, tmp, policy="linear_thompson", cache=None):
    cfg = gateway_config(fake.url)
    add_stub_embedder(cfg, stub, {"input": 0.02, "output": 0})
    block = cache or {"exact": False, "mode": "arm", "ttl_s": 3600,
                      "semantic": {"embedding_model": "embed", "threshold": 0.9,
                                   "min_similarity": 0.5, "timeout_ms": 1000}}
    cfg["routes"] = {"arm": {"candidates": ["small"], "policy": policy, "cache": block}}
    cfg["data_dir"] = str(tmp / "data")
    return cfg


@pytest.fixture
def parts(tmp_path):
    fake = FakeProvider(tmp_path, json.loads(json.dumps(DEFAULT_SCENARIO)))
    stub = EmbedStub()
    stub.vectors[ANCHOR_TEXT] = ANCHOR
    yield fake, stub
    assert fake.proc.stop() == 0
    stub.stop()


def ask(gw, text, stream=False):
    body = {"model": "arm", "messages": [{"role": "user", "content": text}],
            "temperature": 0, "stream": stream}
    r = requests.post(gw.url + "/v1/chat/completions", headers=gw.headers(),
                      data=json.dumps(body), stream=stream, timeout=30)
    assert r.status_code == 200, r.text
    return r


def rate(gw, r, value):
    fb = requests.post(gw.url + "/v1/feedback", headers=gw.headers(),
                       data=json.dumps({"request_id": r.headers["x-switchyard-request-id"],
                                        "value": value}), timeout=10)
    assert fb.status_code == 200, fb.text
    return fb.json()


def arm_stats(gw, model):
    r = requests.get(gw.admin_url + "/admin/routes/arm", headers=gw.admin_headers(), timeout=5)
    assert r.status_code == 200, r.text
    arms = {a["model"]: a for a in r.json()["arms"]}
    return arms[model]


def wait_entries(gw, n, timeout=5):
    import time
    deadline = time.time() + timeout
    while time.time() < deadline:
        c = requests.get(gw.admin_url + "/admin/cache", headers=gw.admin_headers(),
                         timeout=5).json()
        if c["entries"] >= n:
            return
        time.sleep(0.05)
    raise AssertionError(f"the cache never held {n} entries")


def served_from_cache(r):
    return r.headers.get("x-switchyard-cache") == "semantic"


# the users' verdicts: a cached answer satisfies a repeat, not a near-miss; a model's
# answer is fair
GOOD = {("repeat", True): 1.0, ("repeat", False): 0.7, ("near", True): 0.0,
        ("near", False): 0.7}


def train(gw, stub, rounds, start=0, ratings=GOOD):
    """rounds × (a repeat, a near-miss), each rated; returns [(kind, from_cache)]."""
    out = []
    for i in range(start, start + rounds):
        for kind, t, v in (("repeat", f"austria capital, asked again ({i})", REPEAT_VEC),
                           ("near", f"capital of australia, a near miss ({i})", near_vec(i))):
            stub.vectors[t] = v
            r = ask(gw, t)
            hit = served_from_cache(r)
            rate(gw, r, ratings[(kind, hit)])
            out.append((kind, hit))
    return out


def shares(log, last):
    tail = log[-last:]
    rep = [h for k, h in tail if k == "repeat"]
    near = [h for k, h in tail if k == "near"]
    return sum(rep) / len(rep), sum(near) / len(near)


def test_learns_where_cached_answers_satisfy_and_keeps_it(parts, tmp_path):
    fake, stub = parts
    gw = Gateway(tmp_path, config(fake, stub, tmp_path))
    # no candidate yet: the cache arm is ineligible and the model answers
    r0 = ask(gw, "What is the capital of Austria?")
    assert r0.headers["x-switchyard-cache"] == "miss"
    assert "x-switchyard-cache-similarity" not in r0.headers
    wait_entries(gw, 1)
    log = train(gw, stub, 120)
    rep_share, near_share = shares(log, 60)
    # both arms were tried while learning; at the end repeats come from the cache and
    # near-misses from the model
    assert any(h for k, h in log if k == "near"), "the cache arm was never explored"
    assert rep_share >= 0.8, (rep_share, near_share)
    assert near_share <= 0.2, (rep_share, near_share)
    # a cache-served answer is a semantic hit: no upstream call, the stored answer
    n = len(fake.stats()["requests"])
    for i in range(10):  # rated as soon as it is served: no later turn signals on it
        t = f"austria capital, one more time ({i})"
        stub.vectors[t] = REPEAT_VEC
        r = ask(gw, t)
        if served_from_cache(r):
            break
    assert served_from_cache(r), "no repeat was served from the cache"
    assert float(r.headers["x-switchyard-cache-similarity"]) >= 0.99 - 1e-4
    assert r.headers["x-switchyard-route"] == "arm"
    assert r.json()["usage"]["completion_tokens"] == 0
    assert len(fake.stats()["requests"]) == n + i  # the cache-served one never went upstream
    # feedback on a cache-served request id is accepted and reaches the cache arm
    before = arm_stats(gw, "cache")
    ack = rate(gw, r, 1.0)
    assert ack["route"] == "arm" and ack["model"] == "cache"
    after = arm_stats(gw, "cache")
    assert after["cache_arm"] is True
    assert after["learned"]["ratings"] == pytest.approx(before["learned"]["ratings"] + 1)
    assert after["stats"]["ratings"] == before["stats"]["ratings"] + 1
    cache_served = sum(h for _, h in log) + 1
    assert after["learned"]["requests"] == cache_served
    assert after["stats"]["requests"] == cache_served
    learned = after["learned"]
    # /metrics counts the cache arm's answers in the route's series, model="cache"
    m = requests.get(gw.admin_url + "/metrics", headers=gw.admin_headers(), timeout=5).text
    assert f'switchyard_requests_total{{route="arm",model="cache",status="2xx"}} {cache_served}' \
        in m, [l for l in m.splitlines() if 'model="cache"' in l][:5]
    assert 'switchyard_feedback_total{route="arm",model="cache"' in m
    # the log line says which arm answered
    assert gw.stop() == 0, gw.proc.output()[-4000:]
    lines = [l for l in gw.log_lines() if l.get("route") == "arm" and l.get("cache")]
    assert any(l["cache"] == "semantic" and l.get("model") is None for l in lines)
    # a restart keeps the learned cache arm (replayed from the store) and its choices
    gw.port_file.unlink()
    gw2 = Gateway(tmp_path, config(fake, stub, tmp_path))
    again = arm_stats(gw2, "cache")
    assert again["learned"]["requests"] == learned["requests"]
    assert again["learned"]["ratings"] == pytest.approx(learned["ratings"])
    assert again["learned"]["rating_sum"] == pytest.approx(learned["rating_sum"])
    log2 = train(gw2, stub, 10, start=200)
    rep_share, near_share = shares(log2, 20)
    assert rep_share >= 0.7 and near_share <= 0.3, (rep_share, near_share)
    assert gw2.stop() == 0, gw2.proc.output()[-4000:]


@pytest.mark.parametrize("policy", ["linear_thompson", "linucb"])
def test_what_it_learns_follows_the_ratings(parts, tmp_path, policy):
    """The same traffic with the verdicts reversed (cached answers satisfy near-misses,
    not repeats): the route learns the opposite, so the shares above come from the
    ratings, not from the features' or the priors' shape."""
    fake, stub = parts
    gw = Gateway(tmp_path, config(fake, stub, tmp_path, policy=policy))
    ask(gw, "What is the capital of Austria?")
    wait_entries(gw, 1)
    reverse = {("repeat", True): 0.0, ("repeat", False): 0.7, ("near", True): 1.0,
               ("near", False): 0.7}
    log = train(gw, stub, 120, ratings=reverse)
    rep_share, near_share = shares(log, 60)
    assert rep_share <= 0.2 and near_share >= 0.8, (rep_share, near_share)
    assert gw.stop() == 0, gw.proc.output()[-4000:]


def test_stream_served_by_the_cache_arm_is_sse(parts, tmp_path):
    fake, stub = parts
    gw = Gateway(tmp_path, config(fake, stub, tmp_path))
    ask(gw, "What is the capital of Austria?")
    wait_entries(gw, 1)
    train(gw, stub, 40)
    t = "austria capital, streamed"
    stub.vectors[t] = REPEAT_VEC
    for _ in range(10):
        r = ask(gw, t, stream=True)
        if served_from_cache(r):
            break
    assert served_from_cache(r), "the cache arm never won a repeat"
    assert r.headers["content-type"].startswith("text/event-stream")
    body = r.text
    assert body.rstrip().endswith("data: [DONE]")
    chunks = [json.loads(l[6:]) for l in body.splitlines()
              if l.startswith("data: ") and l != "data: [DONE]"]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[0]["id"] == r.headers["x-switchyard-request-id"]
    assert gw.stop() == 0, gw.proc.output()[-4000:]


def test_messages_client_and_feedback_token(parts, tmp_path):
    """A Messages client gets the cache arm's answer in its API, and the answer's
    feedback token rates it on the cache arm."""
    fake, stub = parts
    gw = Gateway(tmp_path, config(fake, stub, tmp_path))
    h = gw.headers()
    h["anthropic-version"] = "2023-06-01"

    def messages(text):
        body = {"model": "arm", "max_tokens": 50, "temperature": 0,
                "messages": [{"role": "user", "content": text}]}
        r = requests.post(gw.url + "/v1/messages", headers=h, data=json.dumps(body), timeout=30)
        assert r.status_code == 200, r.text
        return r

    first = messages("What is the capital of Austria?")
    assert first.headers["x-switchyard-cache"] == "miss"
    wait_entries(gw, 1)
    for i in range(40):
        t = f"austria capital via messages ({i})"
        stub.vectors[t] = REPEAT_VEC
        r = messages(t)
        if served_from_cache(r):
            break
        rate(gw, r, 0.7)
    assert served_from_cache(r), "the cache arm never won a repeat"
    assert r.json()["type"] == "message"
    assert r.json()["content"] == first.json()["content"]
    before = arm_stats(gw, "cache")["stats"]["ratings"]
    fb = requests.post(gw.url + "/v1/feedback",
                       headers={"Content-Type": "application/json",
                                "x-switchyard-feedback-token":
                                    r.headers["x-switchyard-feedback-token"]},
                       data=json.dumps({"request_id": r.headers["x-switchyard-request-id"],
                                        "rating": "up"}), timeout=10)
    assert fb.status_code == 200, fb.text
    assert fb.json()["model"] == "cache"
    assert arm_stats(gw, "cache")["stats"]["ratings"] == before + 1
    assert gw.stop() == 0, gw.proc.output()[-4000:]


def test_an_escalation_in_force_wants_a_model(parts, tmp_path):
    """While a rule pins the route to a model, the cache arm is not eligible, however
    good its answers were rated."""
    fake, stub = parts
    cfg = config(fake, stub, tmp_path)
    cfg["routes"]["arm"]["rules"] = [{"name": "pinned", "when": "turn >= 0",
                                      "then": {"pin": "small"}}]
    gw = Gateway(tmp_path, cfg)
    ask(gw, "What is the capital of Austria?")
    wait_entries(gw, 1)
    log = train(gw, stub, 30)
    assert not any(h for _, h in log)
    assert gw.stop() == 0, gw.proc.output()[-4000:]


SEM = {"embedding_model": "embed"}


@pytest.mark.parametrize("route, message", [
    ({"policy": "linear_thompson", "cache": {"mode": "arm"}}, "needs the semantic tier"),
    ({"policy": "thompson", "cache": {"mode": "arm", "semantic": SEM}},
     "needs a linear contextual policy"),
    ({"policy": "cluster_thompson", "cache": {"mode": "arm", "semantic": SEM}},
     "policy \"cluster_thompson\" cannot"),
    ({"policy": "linucb", "cache": {"mode": "arm", "semantic": dict(SEM, threshold=0.9,
                                                                      min_similarity=0.95)}},
     "must not exceed"),
    ({"policy": "linucb", "cache": {"semantic": dict(SEM, min_similarity=0.8)}},
     "applies only with \"mode\": \"arm\""),
    ({"policy": "linucb", "candidates": ["cache"], "cache": {"mode": "arm", "semantic": SEM}},
     "clashes with the cache arm"),
    ({"policy": "linucb", "warm_start": {"path": "x.jsonl"},
      "cache": {"mode": "arm", "semantic": SEM}}, "is not supported"),
])
def test_invalid_cache_arm_config(tmp_path, route, message):
    cfg = gateway_config("http://127.0.0.1:9")
    cfg["models"]["embed"] = {"provider": "fake", "kind": "embedding",
                              "price": {"input": 0.02, "output": 0}}
    cfg["models"]["cache"] = {"provider": "fake", "price": {"input": 1, "output": 1}}
    r = {"candidates": ["small", "large"]}
    r.update(route)
    cfg["routes"] = {"chat": r}
    p = tmp_path / "c.json"
    p.write_text(json.dumps(cfg))
    out = subprocess.run([BIN, "check-config", str(p)], capture_output=True, text=True)
    assert out.returncode != 0, out.stdout
    assert "$.routes.chat" in out.stderr + out.stdout
    assert message in out.stderr + out.stdout, out.stderr + out.stdout


def test_model_cache_block_cannot_be_an_arm(tmp_path):
    cfg = gateway_config("http://127.0.0.1:9")
    cfg["models"]["embed"] = {"provider": "fake", "kind": "embedding",
                              "price": {"input": 0.02, "output": 0}}
    cfg["models"]["small"]["cache"] = {"mode": "arm", "semantic": SEM}
    p = tmp_path / "c.json"
    p.write_text(json.dumps(cfg))
    out = subprocess.run([BIN, "check-config", str(p)], capture_output=True, text=True)
    assert out.returncode != 0
    assert "needs a route's policy" in out.stderr + out.stdout


def test_valid_cache_arm_config_is_accepted(tmp_path):
    cfg = gateway_config("http://127.0.0.1:9")
    cfg["models"]["embed"] = {"provider": "fake", "kind": "embedding",
                              "price": {"input": 0.02, "output": 0}}
    cfg["routes"]["chat"]["policy"] = "linucb"
    cfg["routes"]["chat"]["cache"] = {"mode": "arm", "semantic": SEM}
    p = tmp_path / "c.json"
    p.write_text(json.dumps(cfg))
    out = subprocess.run([BIN, "check-config", str(p)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr + out.stdout


def test_embedder_down_the_models_answer(parts, tmp_path):
    """A cache-arm route whose embedding model fails (500) or is slower than timeout_ms
    has no candidate: the route's usual decision answers from a model (200, a miss), and
    the cache arm is never recorded."""
    fake, stub = parts
    gw = Gateway(tmp_path, config(fake, stub, tmp_path))
    ask(gw, "What is the capital of Austria?")
    wait_entries(gw, 1)
    for mode in ("error", "slow"):
        stub.mode = mode
        stub.vectors["austria capital, the embedder is " + mode] = REPEAT_VEC
        r = ask(gw, "austria capital, the embedder is " + mode)
        assert r.headers["x-switchyard-cache"] == "miss", (mode, dict(r.headers))
        assert r.headers["x-switchyard-route"] == "arm"
        assert r.json()["choices"][0]["message"]["content"]
    stub.mode = "ok"
    assert arm_stats(gw, "cache")["stats"]["requests"] == 0
    assert gw.stop() == 0, gw.proc.output()[-4000:]
