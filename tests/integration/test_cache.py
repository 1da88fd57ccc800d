"""The response cache end to end (docs/cache.md): exact hits cost $0 and never reach the
upstream (the fake provider's stats count what it received), scope per client key or
shared, durability across a restart, TTL, the max_entries bound, admin invalidation,
streams replayed as SSE (also to a Messages client), guardrails (the key is the redacted
text; restored values are this request's), feedback on a hit, metrics, bad configs."""
import json
import subprocess
import time

import pytest
import requests

from conftest import (ADMIN_KEY, BIN, CLIENT_KEY, DEFAULT_SCENARIO, FakeProvider, Gateway,
                      gateway_config, sha256_hex)

OTHER_KEY = "sk-test-other-client-0123456789"
CARD = "4111 1111 1111 1111"
CARD2 = "5555 5555 5555 4444"


def scenario():
    s = json.loads(json.dumps(DEFAULT_SCENARIO))
    s["models"]["fake-echo"] = {"content": {"mode": "echo"}, "chunk_tokens": 1}
    return s


def config(fake, tmp, **cache_overrides):
    cfg = gateway_config(fake.url)
    cfg["models"]["echo"] = {"provider": "fake", "upstream_name": "fake-echo",
                             "price": {"input": 1, "output": 2},
                             "cache": {"ttl_s": 600}}
    cache = {"ttl_s": 600, "max_entries": 100}
    cache.update(cache_overrides)
    cfg["routes"] = {
        "cached": {"candidates": ["small"], "cache": dict(cache)},
        "shared": {"candidates": ["small"], "cache": dict(cache, scope="shared")},
        "anytemp": {"candidates": ["small"], "cache": dict(cache, temperatures="absent_or_zero")},
        "short": {"candidates": ["small"], "cache": dict(cache, ttl_s=1)},
        "tiny": {"candidates": ["small"], "cache": dict(cache, max_entries=2)},
        "guarded": {"candidates": ["echo"], "cache": dict(cache), "guardrails": ["cards"]},
        "plain": {"candidates": ["small"]},
    }
    cfg["guardrails"] = {"cards": {"kind": "pii", "detectors": ["payment_card"],
                                   "action": "redact", "restore": True}}
    cfg["client_keys"].append({"name": "other", "sha256": sha256_hex(OTHER_KEY)})
    cfg["data_dir"] = str(tmp / "data")
    return cfg


@pytest.fixture
def stack(tmp_path):
    fake = FakeProvider(tmp_path, scenario())
    gw = Gateway(tmp_path, config(fake, tmp_path))
    yield gw, fake
    assert gw.stop() == 0, gw.proc.output()[-4000:]
    assert fake.proc.stop() == 0


def ask(gw, model, content, key=CLIENT_KEY, stream=False, **extra):
    body = {"model": model, "messages": [{"role": "user", "content": content}],
            "temperature": 0, "stream": stream}
    body.update(extra)
    body = {k: v for k, v in body.items() if v is not None}
    return requests.post(gw.url + "/v1/chat/completions", headers=gw.headers(key=key),
                         data=json.dumps(body), stream=stream, timeout=30)


def upstream_count(fake):
    return len(fake.stats()["requests"])


def wait_stored(gw, n, timeout=5):
    """The store thread commits in batches: wait until n entries are there."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        st = requests.get(gw.admin_url + "/admin/cache", headers=gw.admin_headers(), timeout=5)
        if st.json()["entries"] >= n:
            return st.json()
        time.sleep(0.05)
    raise AssertionError(f"cache never reached {n} entries: {st.text}")


def sse_events(r):
    """A real SSE parse: events separated by blank lines, data lines joined."""
    events, data, name = [], [], None
    for line in r.iter_lines(decode_unicode=True):
        if line == "":
            if data:
                events.append((name, "\n".join(data)))
            data, name = [], None
        elif line.startswith("data:"):
            data.append(line[5:].lstrip(" "))
        elif line.startswith("event:"):
            name = line[6:].strip()
    if data:
        events.append((name, "\n".join(data)))
    return events


def test_second_identical_request_is_a_free_hit(stack):
    gw, fake = stack
    r1 = ask(gw, "cached", "What is the capital of Austria?")
    assert r1.status_code == 200, r1.text
    assert r1.headers["x-switchyard-cache"] == "miss"
    wait_stored(gw, 1)
    n = upstream_count(fake)
    r2 = ask(gw, "cached", "What is the capital of Austria?")
    assert r2.status_code == 200
    assert r2.headers["x-switchyard-cache"] == "hit"
    assert float(r2.headers["x-switchyard-cost-usd"]) == 0
    assert float(r2.headers["x-switchyard-cache-saved-usd"]) == pytest.approx(
        float(r1.headers["x-switchyard-cost-usd"]), rel=1e-6)
    assert r2.headers["x-switchyard-model"] == r1.headers["x-switchyard-model"]
    assert r2.headers["x-switchyard-request-id"] != r1.headers["x-switchyard-request-id"]
    assert upstream_count(fake) == n  # never reached the upstream
    a1, a2 = r1.json(), r2.json()
    assert a2["choices"][0]["message"] == a1["choices"][0]["message"]
    assert a2["id"] == r2.headers["x-switchyard-request-id"]
    assert a2["usage"]["prompt_tokens"] == 0 and a2["usage"]["completion_tokens"] == 0
    # the feedback token of a hit rates it
    tok = r2.headers["x-switchyard-feedback-token"]
    fb = requests.post(gw.url + "/v1/feedback",
                       headers={"Content-Type": "application/json",
                                "x-switchyard-feedback-token": tok},
                       data=json.dumps({"request_id": r2.headers["x-switchyard-request-id"],
                                        "rating": "up"}), timeout=10)
    assert fb.status_code == 200, fb.text
    # metrics
    m = requests.get(gw.admin_url + "/metrics", headers=gw.admin_headers(), timeout=5).text
    assert 'switchyard_cache_lookups_total{result="hit"} 1' in m
    assert 'switchyard_cache_lookups_total{result="miss"} 1' in m
    assert "switchyard_cache_entries 1" in m
    assert "switchyard_cache_lookup_seconds_count 2" in m


def test_not_cacheable_requests_have_no_header(stack):
    gw, fake = stack
    r = ask(gw, "plain", "hello")
    assert "x-switchyard-cache" not in r.headers
    r = ask(gw, "cached", "hello", temperature=0.7)  # not deterministic
    assert "x-switchyard-cache" not in r.headers
    r = ask(gw, "cached", "hello", temperature=None)  # absent: not by default
    assert "x-switchyard-cache" not in r.headers
    r = ask(gw, "anytemp", "hello", temperature=None)
    assert r.headers["x-switchyard-cache"] == "miss"
    r = ask(gw, "cached", "hello", n=2)
    assert "x-switchyard-cache" not in r.headers


def test_scope_key_and_shared(stack):
    gw, fake = stack
    assert ask(gw, "cached", "scoped?").headers["x-switchyard-cache"] == "miss"
    assert ask(gw, "shared", "shared?").headers["x-switchyard-cache"] == "miss"
    wait_stored(gw, 2)
    assert ask(gw, "cached", "scoped?", key=OTHER_KEY).headers["x-switchyard-cache"] == "miss"
    assert ask(gw, "shared", "shared?", key=OTHER_KEY).headers["x-switchyard-cache"] == "hit"
    assert ask(gw, "cached", "scoped?").headers["x-switchyard-cache"] == "hit"


def test_parameters_are_in_the_key(stack):
    gw, fake = stack
    ask(gw, "cached", "params")
    wait_stored(gw, 1)
    assert ask(gw, "cached", "params", max_tokens=5).headers["x-switchyard-cache"] == "miss"
    assert ask(gw, "cached", "params", seed=3).headers["x-switchyard-cache"] == "miss"
    assert ask(gw, "cached", "params ").headers["x-switchyard-cache"] == "miss"
    # delivery-only members are not: user, and a route vs a model of the same answer
    assert ask(gw, "cached", "params", user="u1").headers["x-switchyard-cache"] == "hit"


def test_stream_replayed_as_sse(stack):
    gw, fake = stack
    r1 = ask(gw, "cached", "stream me", stream=True)
    assert r1.headers["x-switchyard-cache"] == "miss"
    ev1 = sse_events(r1)
    text1 = "".join((json.loads(d)["choices"][0]["delta"].get("content") or "")
                    for _, d in ev1 if d != "[DONE]" and json.loads(d)["choices"])
    wait_stored(gw, 1)
    n = upstream_count(fake)
    r2 = ask(gw, "cached", "stream me", stream=True,
             stream_options={"include_usage": True})
    assert r2.headers["x-switchyard-cache"] == "hit"  # stream_options is delivery only
    usage = [json.loads(d) for _, d in sse_events(r2) if d != "[DONE]"][-1]
    assert usage["choices"] == [] and usage["usage"]["total_tokens"] == 0
    r3 = ask(gw, "cached", "stream me", stream=True)
    assert r3.headers["x-switchyard-cache"] == "hit"
    assert r3.headers["content-type"].startswith("text/event-stream")
    ev = sse_events(r3)
    assert ev[-1][1] == "[DONE]"
    chunks = [json.loads(d) for _, d in ev[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == text1 and text
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    # and a plain request is served from the streamed answer
    r4 = ask(gw, "cached", "stream me")
    assert r4.headers["x-switchyard-cache"] == "hit"
    assert r4.json()["choices"][0]["message"]["content"] == text1
    assert upstream_count(fake) == n


def test_messages_client_gets_a_replay_in_its_api(stack):
    gw, fake = stack
    h = gw.headers()
    h["anthropic-version"] = "2023-06-01"
    body = {"model": "cached", "max_tokens": 50, "temperature": 0,
            "messages": [{"role": "user", "content": "messages api"}]}
    r1 = requests.post(gw.url + "/v1/messages", headers=h, data=json.dumps(body), timeout=30)
    assert r1.status_code == 200, r1.text
    assert r1.headers["x-switchyard-cache"] == "miss"
    wait_stored(gw, 1)
    r2 = requests.post(gw.url + "/v1/messages", headers=h, data=json.dumps(body), timeout=30)
    assert r2.headers["x-switchyard-cache"] == "hit"
    assert r2.json()["type"] == "message"
    assert r2.json()["content"] == r1.json()["content"]
    r3 = requests.post(gw.url + "/v1/messages", headers=h,
                       data=json.dumps(dict(body, stream=True)), stream=True, timeout=30)
    assert r3.headers["x-switchyard-cache"] == "hit"
    names = [n for n, _ in sse_events(r3)]
    assert names[0] == "message_start" and names[-1] == "message_stop"
    assert "content_block_delta" in names


def test_guarded_route_keys_on_redacted_text_and_restores_this_requests_card(stack):
    gw, fake = stack
    r1 = ask(gw, "guarded", f"My card is {CARD}, repeat it")
    assert r1.headers["x-switchyard-cache"] == "miss"
    assert CARD in r1.json()["choices"][0]["message"]["content"]  # restored
    wait_stored(gw, 1)
    n = upstream_count(fake)
    r2 = ask(gw, "guarded", f"My card is {CARD2}, repeat it")
    assert r2.headers["x-switchyard-cache"] == "hit"  # same redacted text
    content = r2.json()["choices"][0]["message"]["content"]
    assert CARD2 in content and CARD not in content
    assert upstream_count(fake) == n
    assert CARD not in json.dumps(fake.stats()) and CARD2 not in json.dumps(fake.stats())


def test_restart_ttl_and_bound(tmp_path):
    fake = FakeProvider(tmp_path, scenario())
    cfg = config(fake, tmp_path)
    gw = Gateway(tmp_path, cfg)
    try:
        ask(gw, "cached", "durable")
        ask(gw, "short", "expires")
        for q in ("one", "two", "three"):
            ask(gw, "tiny", q)
            time.sleep(0.01)
        wait_stored(gw, 4)
        assert ask(gw, "tiny", "one").headers["x-switchyard-cache"] == "miss"  # evicted
        # The count is already 4 before "one" is stored again (its store evicts a second
        # entry): wait for that commit, not for the count.
        deadline = time.time() + 5
        while True:
            st = requests.get(gw.admin_url + "/admin/cache", headers=gw.admin_headers(),
                              timeout=5).json()
            if st["evicted"] >= 2 or time.time() > deadline:
                break
            time.sleep(0.05)
        assert st["by_name"]["tiny"] == 2 and st["evicted"] >= 2, st
        time.sleep(1.2)
        assert ask(gw, "short", "expires").headers["x-switchyard-cache"] == "miss"
    finally:
        assert gw.stop() == 0
    gw.port_file.unlink()
    gw = Gateway(tmp_path, cfg)
    try:
        n = upstream_count(fake)
        assert ask(gw, "cached", "durable").headers["x-switchyard-cache"] == "hit"
        assert upstream_count(fake) == n
    finally:
        assert gw.stop() == 0
        assert fake.proc.stop() == 0


def test_admin_invalidation(stack):
    gw, fake = stack
    ask(gw, "cached", "inv a")
    ask(gw, "shared", "inv b")
    ask(gw, "echo", "inv c")
    wait_stored(gw, 3)
    url = gw.admin_url + "/admin/cache/invalidate"
    r = requests.post(url, json={"route": "cached"}, timeout=10)
    assert r.status_code == 401
    r = requests.post(url, headers=gw.admin_headers(), json={}, timeout=10)
    assert r.status_code == 400
    r = requests.post(url, headers=gw.admin_headers(), json={"route": 3}, timeout=10)
    assert r.status_code == 400 and r.json()["error"]["param"] == "route"
    r = requests.post(url, headers=gw.admin_headers(), json={"version": 2}, timeout=10)
    assert r.status_code == 400
    r = requests.post(url, headers=gw.admin_headers(), json={"route": "cached"}, timeout=10)
    assert r.status_code == 200 and r.json()["deleted"] == 1
    assert ask(gw, "cached", "inv a").headers["x-switchyard-cache"] == "miss"
    assert ask(gw, "shared", "inv b").headers["x-switchyard-cache"] == "hit"
    r = requests.post(url, headers=gw.admin_headers(), json={"model": "echo"}, timeout=10)
    assert r.json()["deleted"] == 1
    assert ask(gw, "echo", "inv c").headers["x-switchyard-cache"] == "miss"
    r = requests.post(url, headers=gw.admin_headers(),
                      json={"prompt": "nope", "version": 1}, timeout=10)
    assert r.json()["deleted"] == 0


def test_prompt_version_invalidation(stack):
    gw, fake = stack
    prompt = {"messages": [{"role": "user", "content": "Say {{x}}"}],
              "variables": {"x": {"type": "string"}}, "parameters": {"temperature": 0}}
    r = requests.post(gw.admin_url + "/admin/prompts/greet/versions", headers=gw.admin_headers(),
                      json=prompt, timeout=10)
    assert r.status_code in (200, 201), r.text
    body = {"model": "cached", "temperature": 0,
            "prompt": {"id": "greet", "version": 1, "variables": {"x": "hi"}}}
    post = lambda: requests.post(gw.url + "/v1/chat/completions", headers=gw.headers(),
                                 data=json.dumps(body), timeout=30)
    assert post().headers["x-switchyard-cache"] == "miss"
    wait_stored(gw, 1)
    assert post().headers["x-switchyard-cache"] == "hit"
    r = requests.post(gw.admin_url + "/admin/cache/invalidate", headers=gw.admin_headers(),
                      json={"prompt": "greet", "version": 1}, timeout=10)
    assert r.json()["deleted"] == 1
    assert post().headers["x-switchyard-cache"] == "miss"


def test_huge_body_is_refused_or_missed_not_crashed(stack):
    gw, fake = stack
    big = "x" * 900_000
    r = ask(gw, "cached", big)
    assert r.status_code in (200, 413)
    if r.status_code == 200:
        wait_stored(gw, 1)
        assert ask(gw, "cached", big).headers["x-switchyard-cache"] == "hit"


@pytest.mark.parametrize("block,message", [
    ({"exact": False}, "caches nothing"),
    ({"ttl_s": 0}, "ttl_s: must be between"),
    ({"scope": "team"}, 'unknown value "team"'),
    ({"mode": "arm"}, 'needs the semantic tier'),
    ({"semantic": {"embedding_model": "small"}}, "needs a model of kind"),
    ({"semantic": {"embedding_model": "nope"}}, 'unknown model "nope"'),
    ({"semantic": {}}, "missing required key"),
    ({"temperatures": 0}, "expected a string"),
    ({"colour": 1}, "unknown key"),
])
def test_invalid_cache_config(tmp_path, block, message):
    cfg = gateway_config("http://127.0.0.1:9")
    cfg["routes"]["chat"]["cache"] = block
    p = tmp_path / "c.json"
    p.write_text(json.dumps(cfg))
    r = subprocess.run([BIN, "check-config", str(p)], capture_output=True, text=True)
    assert r.returncode != 0
    assert "$.routes.chat.cache" in r.stderr + r.stdout
    assert message in r.stderr + r.stdout
