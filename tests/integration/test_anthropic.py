"""The Anthropic Messages dialect end to end: the gateway talks to fake-provider's
/v1/messages with the key in x-api-key, bills each request from Anthropic's usage
(cache reads and writes included) to the micro-dollar, streamed, not streamed and aborted, falls
back on faults before the first byte, ends a broken stream in-band, and never leaks
the provider key."""
import json
import pathlib
import socket
import time

import pytest
import requests

from conftest import (CANARY_PROVIDER_KEY, DEFAULT_SCENARIO, FakeProvider, Gateway,
                      chat_request_bytes, gateway_config)

# USD per million tokens (Claude Sonnet's shape: cache reads 0.1×, writes 1.25× input)
PRICE = {"input": 3, "cached_input": 0.3, "cache_write": 3.75, "output": 15}
FAULTS = {
    "e529": {"kind": "http_529"},
    "e429": {"kind": "http_429", "retry_after_s": 1},
    "quota": {"kind": "http_429_quota"},
    "malformed": {"kind": "malformed_json"},
    "errev0": {"kind": "error_event"},
    "errev3": {"kind": "error_event", "after_tokens": 3},
    "cut0": {"kind": "cut_stream"},
}


def scenario():
    s = json.loads(json.dumps(DEFAULT_SCENARIO))
    for m, rule in FAULTS.items():
        s["models"][f"fake-{m}"] = {"errors": [dict(rule, rate=1)]}
    # Anthropic reports cache reads and cache writes apart; both are billed at their price
    s["models"]["fake-cachey"] = {"cached_tokens": 5, "cache_write_tokens": 20}
    return s


@pytest.fixture
def env(tmp_path):
    (tmp_path / "fake").mkdir()
    fake = FakeProvider(tmp_path / "fake", scenario())
    cfg = gateway_config(fake.url)
    cfg["providers"] = {"claude": {"dialect": "anthropic", "base_url": fake.url + "/v1",
                                   "key_env": "SY_TEST_PROVIDER_KEY"}}
    models = {name: {"provider": "claude", "upstream_name": f"fake-{name}", "price": PRICE}
              for name in ["small", "large", "slow", "cachey"] + list(FAULTS)}
    cfg["models"] = models
    cfg["routes"] = {f"r-{m}": {"candidates": [m, "small"], "policy": "fixed",
                                "params": {"fixed": m}} for m in FAULTS}
    cfg["reliability"] = {"breaker_failures": 1000, "breaker_window": 0,
                          "backoff_base_ms": 10, "backoff_max_ms": 50}
    (tmp_path / "gw").mkdir()
    gw = Gateway(tmp_path / "gw", cfg)
    yield fake, gw
    assert gw.stop() == 0
    assert fake.proc.stop() == 0


def chat(gw, model, stream=False, content="Hello there", **extra):
    body = dict({"model": model, "stream": stream,
                 "messages": [{"role": "user", "content": content}]}, **extra)
    return requests.post(gw.url + "/v1/chat/completions", timeout=15, stream=stream,
                         headers=gw.headers(), data=json.dumps(body))


def events(r):
    return [l[6:].decode() for l in r.iter_lines() if l.startswith(b"data: ")]


def expected_usd(prompt, cached, completion, written=0):
    return ((prompt - cached - written) * PRICE["input"] + cached * PRICE["cached_input"]
            + written * PRICE["cache_write"] + completion * PRICE["output"]) / 1e6


def request_lines(gw):
    return {l["id"]: l for l in gw.log_lines() if l.get("msg") == "request" and l.get("model")}


def test_upstream_request_is_anthropic_shaped(env):
    fake, gw = env
    fake.reset()
    r = chat(gw, "small", messages=[{"role": "system", "content": "Be brief."},
                                    {"role": "user", "content": "Hi"}], stop=["END"])
    assert r.status_code == 200, r.text
    rec = fake.stats()["requests"][-1]
    assert rec["dialect"] == "anthropic" and rec["path"] == "/v1/messages"
    assert rec["headers"]["x-api-key"] == "present"  # (the fake redacts credentials)
    assert rec["headers"]["anthropic-version"] == "2023-06-01"
    assert "authorization" not in rec["headers"]
    body = rec["body"]
    assert body == {"model": "fake-small", "max_tokens": 4096,
                    "system": [{"type": "text", "text": "Be brief."}],
                    "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
                    "stop_sequences": ["END"]}
    # a parameter Anthropic cannot honour: a 400 naming it, nothing sent upstream
    n = len(fake.stats()["requests"])
    r = chat(gw, "small", seed=7)
    assert r.status_code == 400 and r.json()["error"]["param"] == "seed", r.text
    assert len(fake.stats()["requests"]) == n


def test_cost_matches_usage_with_cache_reads_and_writes(env):
    fake, gw = env
    r = chat(gw, "cachey", content="price me " * 40)
    assert r.status_code == 200, r.text
    u = r.json()["usage"]
    # "price me " × 40 is 360 bytes: 90 prompt tokens, of which fake-cachey reports 5
    # read from and 20 written to the cache (input_tokens 65)
    assert u["prompt_tokens"] == 90
    assert u["prompt_tokens_details"]["cached_tokens"] == 5
    s = chat(gw, "cachey", stream=True, content="stream me " * 40,
             stream_options={"include_usage": True})
    su = [json.loads(e)["usage"] for e in events(s) if e.startswith("{") and
          json.loads(e).get("usage")]
    assert len(su) == 1
    su = su[0]
    gw.stop()
    lines = request_lines(gw)
    for rid, usage in ((r.headers["x-switchyard-request-id"], u),
                       (s.headers["x-switchyard-request-id"], su)):
        line = lines[rid]
        assert line["provider"] == "claude"
        assert line["prompt_tokens"] == usage["prompt_tokens"]
        assert line["cached_tokens"] == 5 and line["cache_write_tokens"] == 20
        want = expected_usd(usage["prompt_tokens"], 5, usage["completion_tokens"], written=20)
        assert abs(line["cost_usd"] - want) < 0.5e-6, (line, usage)
        assert line["usage_reported"] is True and line["usage_estimated"] is False
    assert float(r.headers["x-switchyard-cost-usd"]) == \
        lines[r.headers["x-switchyard-request-id"]]["cost_usd"]
    # by hand: 65 × 3 + 5 × 0.3 + 20 × 3.75 + 20 × 15 = 195 + 1.5 + 75 + 300 = 571.5 µ$
    assert u["completion_tokens"] == 20
    assert abs(float(r.headers["x-switchyard-cost-usd"]) - 571.5e-6) < 0.5e-6


def test_aborted_stream_is_billed_for_relayed_tokens(env):
    fake, gw = env
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
    s.sendall(chat_request_bytes("slow", stream=True))
    got = b""
    while got.count(b'"content":"') < 7:  # the role chunk carries "content":"" too
        got += s.recv(4096)
    s.close()
    time.sleep(0.3)
    gw.stop()
    line = [l for l in request_lines(gw).values() if l["model"] == "slow"][-1]
    # message_start reported the input side; the output side is what was relayed
    assert line["status"] == 499 and line["usage_reported"] is True
    assert line["usage_estimated"] is True
    assert line["prompt_tokens"] == 1  # "go": ceil(2 / 4), as the fake counts
    # slow sends 100 one-word tokens at 20/s: at least 6 were relayed, far fewer than 100
    assert 6 <= line["completion_tokens"] < 60, line
    want = expected_usd(line["prompt_tokens"], 0, line["completion_tokens"])
    assert abs(line["cost_usd"] - want) < 0.5e-6 and line["cost_usd"] > 0


@pytest.mark.parametrize("fault", ["e529", "e429", "malformed", "errev0", "cut0"])
@pytest.mark.parametrize("stream", [False, True])
def test_fault_before_first_byte_falls_back(env, fault, stream):
    fake, gw = env
    r = chat(gw, f"r-{fault}", stream)
    assert r.status_code == 200, r.text
    assert r.headers["x-switchyard-model"] == "small"
    if stream:
        ev = events(r)
        assert ev[-1] == "[DONE]" and not any('"error"' in e for e in ev), ev
    else:
        assert r.json()["choices"][0]["message"]["content"]


def test_error_event_after_first_byte_ends_stream_in_band(env):
    fake, gw = env
    r = chat(gw, "r-errev3", True)
    assert r.status_code == 200 and r.headers["x-switchyard-model"] == "errev3"
    ev = events(r)
    assert any(json.loads(e).get("choices") for e in ev[:-1]), ev
    errors = [json.loads(e)["error"] for e in ev if '"error"' in e]
    assert errors[0]["code"] == "upstream_overloaded", ev  # Anthropic's overloaded_error


def test_overloaded_and_spend_limit_are_told_apart(env):
    fake, gw = env
    # without a fallback: a 529 is retried, then reported as 503 overloaded
    fake.reset()
    r = chat(gw, "e529")
    assert r.status_code == 503 and r.json()["error"]["code"] == "upstream_overloaded"
    assert len(fake.stats()["requests"]) > 1  # retried
    fake.reset()
    r = chat(gw, "r-quota")
    assert r.status_code == 429, r.text
    assert r.json()["error"]["code"] == "upstream_quota_exhausted"
    assert [q["model"] for q in fake.stats()["requests"]] == ["fake-quota"]  # not retried


def test_rate_limit_without_fallback_is_retried_then_passed_on(env):
    fake, gw = env
    fake.reset()
    r = chat(gw, "e429")
    assert r.status_code == 429 and r.json()["error"]["code"] == "upstream_rate_limited", r.text
    assert r.headers["Retry-After"] == "1"
    assert len(fake.stats()["requests"]) > 1  # retried after the second


def test_provider_key_never_leaks(env):
    fake, gw = env
    seen = []
    seen.append(chat(gw, "small"))
    seen.append(chat(gw, "small", stream=True))
    # the upstream refuses the key: its message (which could quote the key) is not relayed
    fake.set_scenario({"seed": 1, "api_key": "some-other-key", "models": {"fake-small": {}}})
    bad = chat(gw, "small")
    assert bad.status_code == 502 and bad.json()["error"]["code"] == "upstream_auth_failed"
    seen.append(bad)
    assert gw.stop() == 0
    text = "\n".join(json.dumps(dict(r.headers)) + r.text for r in seen)
    places = {"responses": text, "gateway log": gw.proc.output()}
    for f in pathlib.Path(gw.data_dir).rglob("*"):  # conversations/ included
        if f.is_file():
            places[f"store {f.relative_to(gw.data_dir)}"] = f.read_bytes().decode("latin-1")
    for where, t in places.items():
        assert CANARY_PROVIDER_KEY not in t, f"provider key found in {where}"
