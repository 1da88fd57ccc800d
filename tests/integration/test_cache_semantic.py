"""The semantic tier of the response cache end to end (docs/cache.md). The embedding model
is a stub upstream in this test serving /v1/embeddings with vectors the test chooses per
(normalised) text, so every similarity is known: threshold just above and below, the
partition's isolation (another key, another earlier conversation), a restart keeps the
vectors, invalidation and eviction remove them, an embedding upstream that fails or is
too slow is a miss and the request still succeeds, a stream is replayed on a semantic
hit, and the embedding's cost is billed."""
import json
import math
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from conftest import (CLIENT_KEY, DEFAULT_SCENARIO, FakeProvider, Gateway, gateway_config,
                      sha256_hex)

OTHER_KEY = "sk-test-other-client-0123456789"
DIM = 8
EMBED_PRICE = {"input": 0.02, "output": 0}  # USD per million tokens


def unit(i):
    v = [0.0] * DIM
    v[i] = 1.0
    return v


def at_similarity(s, base=0, other=1):
    """A vector whose cosine similarity to unit(base) is exactly s."""
    v = [0.0] * DIM
    v[base] = s
    v[other] = math.sqrt(1 - s * s)
    return v


class EmbedStub:
    """An OpenAI-compatible /v1/embeddings upstream: vectors by input text (the
    gateway sends the normalised latest user turn), modes "ok", "error" (500) and
    "slow" (answers after 2 s). Unknown texts get a fixed vector orthogonal to all."""

    def __init__(self):
        self.vectors = {}
        self.mode = "ok"
        self.inputs = []
        stub = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.inputs.append(body["input"])
                if stub.mode == "slow":
                    time.sleep(2)
                if stub.mode == "error":
                    self.send_response(500)
                    out = b'{"error":{"message":"down","type":"server_error"}}'
                else:
                    vec = stub.vectors.get(body["input"], unit(DIM - 1))
                    out = json.dumps({"object": "list", "model": body["model"],
                                      "data": [{"object": "embedding", "index": 0,
                                                "embedding": vec}],
                                      "usage": {"prompt_tokens": 1000,
                                                "total_tokens": 1000}}).encode()
                    self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                try:
                    self.wfile.write(out)
                except OSError:
                    pass  # the gateway gave up (timeout)

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.srv.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.srv.server_address[1]}"
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


def add_stub_embedder(cfg, stub, price=EMBED_PRICE):
    """The embedding model "embed", served by stub (a provider "emb" of its own)."""
    cfg["providers"]["emb"] = {"dialect": "openai", "base_url": stub.url + "/v1",
                               "key_env": "SY_TEST_PROVIDER_KEY"}
    cfg["models"]["embed"] = {"provider": "emb", "upstream_name": "stub-embed",
                              "kind": "embedding", "price": price}


def config(fake, stub, tmp, threshold=0.9, max_entries=100, timeout_ms=500, ttl_s=600):
    cfg = gateway_config(fake.url)
    add_stub_embedder(cfg, stub)
    sem = {"embedding_model": "embed", "threshold": threshold, "timeout_ms": timeout_ms}
    cfg["routes"] = {
        "sem": {"candidates": ["small"],
                "cache": {"ttl_s": ttl_s, "max_entries": max_entries, "semantic": sem}},
        "semonly": {"candidates": ["small"],
                    "cache": {"exact": False, "ttl_s": 600, "semantic": sem}},
    }
    cfg["client_keys"].append({"name": "other", "sha256": sha256_hex(OTHER_KEY)})
    cfg["data_dir"] = str(tmp / "data")
    return cfg


@pytest.fixture
def parts(tmp_path):
    fake = FakeProvider(tmp_path, json.loads(json.dumps(DEFAULT_SCENARIO)))
    stub = EmbedStub()
    yield fake, stub
    assert fake.proc.stop() == 0
    stub.stop()


def start(tmp_path, fake, stub, **kw):
    return Gateway(tmp_path, config(fake, stub, tmp_path, **kw))


def ask(gw, content, model="sem", key=CLIENT_KEY, stream=False, history=None, **extra):
    msgs = list(history or []) + [{"role": "user", "content": content}]
    body = {"model": model, "messages": msgs, "temperature": 0, "stream": stream}
    body.update(extra)
    return requests.post(gw.url + "/v1/chat/completions", headers=gw.headers(key=key),
                         data=json.dumps(body), stream=stream, timeout=30)


def upstream_count(fake):
    return len(fake.stats()["requests"])


def vectors_gauge(gw):
    m = requests.get(gw.admin_url + "/metrics", headers=gw.admin_headers(), timeout=5).text
    for line in m.splitlines():
        if line.startswith("switchyard_cache_semantic_vectors "):
            return int(line.split()[1])
    raise AssertionError("no switchyard_cache_semantic_vectors in /metrics")


def wait_vectors(gw, n, timeout=5):
    """Entries reach the index after the store thread committed them."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if vectors_gauge(gw) == n:
            return
        time.sleep(0.05)
    raise AssertionError(f"the index never held {n} vectors (holds {vectors_gauge(gw)})")


def metric(gw, name):
    m = requests.get(gw.admin_url + "/metrics", headers=gw.admin_headers(), timeout=5).text
    for line in m.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"no {name} in /metrics")


def test_threshold_paraphrase_and_costs(parts, tmp_path):
    fake, stub = parts
    stub.vectors["what is the capital of austria?"] = unit(0)
    stub.vectors["austria's capital city?"] = at_similarity(0.93)
    stub.vectors["capital of australia?"] = at_similarity(0.87)
    gw = start(tmp_path, fake, stub)
    r1 = ask(gw, "What is the capital of Austria?")
    assert r1.status_code == 200, r1.text
    assert r1.headers["x-switchyard-cache"] == "miss"
    assert stub.inputs == ["what is the capital of austria?"]  # normalised text, embedded once
    wait_vectors(gw, 1)
    n = upstream_count(fake)
    # same text after normalisation, different exact key: similarity 1
    r2 = ask(gw, "  WHAT is the   capital of Austria? ")
    assert r2.status_code == 200, r2.text
    assert r2.headers["x-switchyard-cache"] == "semantic"
    assert float(r2.headers["x-switchyard-cache-similarity"]) == pytest.approx(1.0, abs=1e-4)
    assert r2.json()["choices"][0]["message"] == r1.json()["choices"][0]["message"]
    # just above the threshold: served, the embedding is what the request cost
    r3 = ask(gw, "Austria's capital city?")
    assert r3.headers["x-switchyard-cache"] == "semantic"
    assert float(r3.headers["x-switchyard-cache-similarity"]) == pytest.approx(0.93, abs=1e-4)
    assert float(r3.headers["x-switchyard-cost-usd"]) == pytest.approx(1000 * 0.02 / 1e6)
    assert float(r3.headers["x-switchyard-cache-saved-usd"]) == pytest.approx(
        float(r1.headers["x-switchyard-cost-usd"]), rel=1e-6)
    assert upstream_count(fake) == n  # the model was never called
    # just below: a miss that reports how close the neighbour was, and reaches the model
    r4 = ask(gw, "Capital of Australia?")
    assert r4.status_code == 200
    assert r4.headers["x-switchyard-cache"] == "miss"
    assert float(r4.headers["x-switchyard-cache-similarity"]) == pytest.approx(0.87, abs=1e-4)
    assert upstream_count(fake) == n + 1
    # the vector of the miss is stored with its answer (no second embedding call)
    wait_vectors(gw, 2)
    assert len(stub.inputs) == 4
    r5 = ask(gw, "capital of AUSTRALIA?")
    assert r5.headers["x-switchyard-cache"] == "semantic"
    assert r5.json()["choices"][0]["message"] == r4.json()["choices"][0]["message"]
    assert len(stub.inputs) == 5
    m = requests.get(gw.admin_url + "/metrics", headers=gw.admin_headers(), timeout=5).text
    assert 'switchyard_cache_lookups_total{result="semantic"} 3' in m
    assert 'switchyard_cache_lookups_total{result="miss"} 2' in m
    assert gw.stop() == 0, gw.proc.output()[-4000:]
    sem = [l for l in gw.log_lines() if l.get("cache") == "semantic"]
    assert len(sem) == 3
    assert all(l["cache_similarity"] >= 0.9 and l["cache_embed_cost_usd"] > 0 for l in sem)


def test_isolation_by_key_and_conversation(parts, tmp_path):
    fake, stub = parts
    stub.vectors["hello there"] = unit(0)
    stub.vectors["hello there!"] = at_similarity(0.99)
    gw = start(tmp_path, fake, stub)
    assert ask(gw, "hello there").headers["x-switchyard-cache"] == "miss"
    wait_vectors(gw, 1)
    assert ask(gw, "hello there!").headers["x-switchyard-cache"] == "semantic"
    # another client key: its partition is empty, no neighbour at all
    r = ask(gw, "hello there!", key=OTHER_KEY)
    assert r.headers["x-switchyard-cache"] == "miss"
    assert "x-switchyard-cache-similarity" not in r.headers
    # another earlier conversation: another partition
    r = ask(gw, "hello there!", history=[{"role": "system", "content": "Be terse."}])
    assert r.headers["x-switchyard-cache"] == "miss"
    assert "x-switchyard-cache-similarity" not in r.headers
    # other parameters (max_tokens): another partition
    r = ask(gw, "hello there!", max_tokens=50)
    assert r.headers["x-switchyard-cache"] == "miss"
    assert "x-switchyard-cache-similarity" not in r.headers
    # a route with only the semantic tier serves the same text semantically
    assert ask(gw, "hello there", model="semonly").headers["x-switchyard-cache"] == "miss"
    wait_vectors(gw, 5)
    r = ask(gw, "hello there", model="semonly")
    assert r.headers["x-switchyard-cache"] == "semantic"
    assert gw.stop() == 0, gw.proc.output()[-4000:]


def test_stream_replay_on_semantic_hit(parts, tmp_path):
    fake, stub = parts
    stub.vectors["tell me a fact"] = unit(2)
    stub.vectors["tell me one fact"] = at_similarity(0.95, base=2, other=3)
    gw = start(tmp_path, fake, stub)
    r1 = ask(gw, "tell me a fact")
    assert r1.headers["x-switchyard-cache"] == "miss"
    wait_vectors(gw, 1)
    r = ask(gw, "tell me one fact", stream=True, stream_options={"include_usage": True})
    assert r.status_code == 200
    assert r.headers["x-switchyard-cache"] == "semantic"
    assert r.headers["content-type"].startswith("text/event-stream")
    datas = [l[5:].strip() for l in r.iter_lines(decode_unicode=True) if l.startswith("data:")]
    assert datas[-1] == "[DONE]"
    chunks = [json.loads(d) for d in datas[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == r1.json()["choices"][0]["message"]["content"]
    assert chunks[-1]["usage"]["total_tokens"] == 0
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert gw.stop() == 0, gw.proc.output()[-4000:]


def test_restart_keeps_and_invalidation_removes(parts, tmp_path):
    fake, stub = parts
    stub.vectors["how do i reset my password?"] = unit(0)
    stub.vectors["password reset how?"] = at_similarity(0.95)
    gw = start(tmp_path, fake, stub)
    assert ask(gw, "How do I reset my password?").headers["x-switchyard-cache"] == "miss"
    wait_vectors(gw, 1)
    assert gw.stop() == 0
    gw.port_file.unlink()
    gw = start(tmp_path, fake, stub)
    assert vectors_gauge(gw) == 1  # rebuilt from LMDB at start
    n = upstream_count(fake)
    r = ask(gw, "password reset how?")
    assert r.headers["x-switchyard-cache"] == "semantic"
    assert upstream_count(fake) == n
    inv = requests.post(gw.admin_url + "/admin/cache/invalidate", headers=gw.admin_headers(),
                        data=json.dumps({"route": "sem"}), timeout=10)
    assert inv.status_code == 200 and inv.json()["deleted"] == 1, inv.text
    wait_vectors(gw, 0)
    r = ask(gw, "password reset how?")
    assert r.headers["x-switchyard-cache"] == "miss"
    assert "x-switchyard-cache-similarity" not in r.headers  # the vector left the index
    assert gw.stop() == 0, gw.proc.output()[-4000:]


def test_eviction_removes_vectors(parts, tmp_path):
    fake, stub = parts
    stub.vectors["first question"] = unit(0)
    stub.vectors["second question"] = unit(1)
    stub.vectors["first question again"] = at_similarity(0.99, base=0, other=2)
    gw = start(tmp_path, fake, stub, max_entries=1)
    assert ask(gw, "first question").headers["x-switchyard-cache"] == "miss"
    wait_vectors(gw, 1)
    time.sleep(0.01)  # a later creation time: the first is the oldest
    assert ask(gw, "second question").headers["x-switchyard-cache"] == "miss"
    time.sleep(0.5)
    assert vectors_gauge(gw) == 1  # the bound evicted the first entry and its vector
    r = ask(gw, "first question again")
    assert r.headers["x-switchyard-cache"] == "miss"
    assert float(r.headers["x-switchyard-cache-similarity"]) == pytest.approx(0, abs=1e-4)
    assert gw.stop() == 0, gw.proc.output()[-4000:]


def test_expired_entries_leave_the_index(parts, tmp_path):
    fake, stub = parts
    stub.vectors["old news"] = unit(0)
    stub.vectors["old news?"] = at_similarity(0.97)
    gw = start(tmp_path, fake, stub, ttl_s=1)
    assert ask(gw, "old news").headers["x-switchyard-cache"] == "miss"
    wait_vectors(gw, 1)
    assert ask(gw, "old news?").headers["x-switchyard-cache"] == "semantic"
    time.sleep(1.2)
    r = ask(gw, "old news?")  # the neighbour expired: a miss, whose new entry clears it
    assert r.headers["x-switchyard-cache"] == "miss"
    time.sleep(0.5)
    assert vectors_gauge(gw) == 1  # the new entry's vector only
    assert metric(gw, 'switchyard_cache_evictions_total{reason="expired"}') == 1
    assert gw.stop() == 0, gw.proc.output()[-4000:]


@pytest.mark.parametrize("mode", ["error", "slow", "down"])
def test_embedding_failure_is_a_miss(parts, tmp_path, mode):
    fake, stub = parts
    stub.vectors["is it raining?"] = unit(0)
    gw = start(tmp_path, fake, stub, timeout_ms=300)
    assert ask(gw, "is it raining?").headers["x-switchyard-cache"] == "miss"
    wait_vectors(gw, 1)
    if mode == "down":
        stub.stop()
    else:
        stub.mode = mode
    t0 = time.time()
    r = ask(gw, "IS it raining?")  # would be a semantic hit
    took = time.time() - t0
    assert r.status_code == 200, r.text
    assert r.headers["x-switchyard-cache"] == "miss"
    assert r.json()["choices"][0]["message"]["content"]
    assert took < 1.8  # the embedding's timeout bounds the wait, not the stub's 2 s
    assert metric(gw, "switchyard_cache_embed_failures_total") == 1
    assert vectors_gauge(gw) == 1  # a miss without a vector is stored without one
    if mode == "down":
        stub.srv = None
        stub.stop = lambda: None
    assert gw.stop() == 0, gw.proc.output()[-4000:]


def test_messages_client_gets_a_semantic_hit(parts, tmp_path):
    """The tier runs on the chat body an ingress translated: a Messages client's
    paraphrase is served in the Messages shape."""
    fake, stub = parts
    stub.vectors["what time zone is vienna in?"] = unit(4)
    stub.vectors["vienna's time zone?"] = at_similarity(0.96, base=4, other=5)
    gw = start(tmp_path, fake, stub)
    h = gw.headers()
    h["anthropic-version"] = "2023-06-01"

    def post(text, **extra):
        body = {"model": "sem", "max_tokens": 50, "temperature": 0,
                "messages": [{"role": "user", "content": text}]}
        body.update(extra)
        return requests.post(gw.url + "/v1/messages", headers=h, data=json.dumps(body),
                             timeout=30)

    r1 = post("What time zone is Vienna in?")
    assert r1.status_code == 200, r1.text
    assert r1.headers["x-switchyard-cache"] == "miss"
    wait_vectors(gw, 1)
    r2 = post("Vienna's time zone?")
    assert r2.status_code == 200, r2.text
    assert r2.headers["x-switchyard-cache"] == "semantic"
    assert r2.json()["type"] == "message"
    assert r2.json()["content"] == r1.json()["content"]
    assert gw.stop() == 0, gw.proc.output()[-4000:]
