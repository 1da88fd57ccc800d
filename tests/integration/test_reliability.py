"""Fault-injection matrix (DESIGN.md §9): with one healthy fallback every fault before
the first byte still gives the client a success; a fault after the first byte ends the
stream with an in-band error; non-retryable errors are not retried; a 503 storm stays
within the retry budget; an open circuit gets at most one probe per cooldown and the
arm rejoins once it recovers; a 429 with Retry-After keeps traffic off its arm."""
import json
import socket
import time

import pytest
import requests

from conftest import CLIENT_KEY, FakeProvider, Gateway, gateway_config

FAULTS = {  # model -> its error rule (rate 1: every request)
    "e500": {"kind": "http_500"},
    "e503": {"kind": "http_503"},
    "e529": {"kind": "http_529"},
    "e429": {"kind": "http_429", "retry_after_s": 1},
    "quota": {"kind": "http_429_quota"},
    "e400": {"kind": "http_400"},
    "reset": {"kind": "reset"},
    "stall0": {"kind": "stall"},
    "stall3": {"kind": "stall", "after_tokens": 3},
    "malformed": {"kind": "malformed_json"},
    "cut0": {"kind": "cut_stream"},
    "cut3": {"kind": "cut_stream", "after_tokens": 3},
    "errev0": {"kind": "error_event"},
    "errev3": {"kind": "error_event", "after_tokens": 3},
}

SCENARIO = {
    "seed": 3,
    "defaults": {"latency_ms": {"dist": "fixed", "value": 0},
                 "ttft_ms": {"dist": "fixed", "value": 0}, "tokens_per_second": 0,
                 "content": {"mode": "lorem", "tokens": 12}},
    "models": dict({"fake-ok": {}, "fake-storm": {"errors": [{"kind": "http_503", "rate": 1}]},
                    "fake-flaky": {"errors": [{"kind": "http_503", "rate": 1}]}},
                   **{f"fake-{m}": {"errors": [dict(rule, rate=1)]} for m, rule in FAULTS.items()}),
}


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def env(tmp_path):
    (tmp_path / "fake").mkdir()
    fake = FakeProvider(tmp_path / "fake", SCENARIO)
    cfg = gateway_config(fake.url)
    cfg["providers"]["dead"] = {"dialect": "openai",
                                "base_url": f"http://127.0.0.1:{closed_port()}/v1"}
    price = {"input": 1, "output": 2}
    models = {"ok": {"provider": "fake", "upstream_name": "fake-ok", "price": price},
              "refused": {"provider": "dead", "upstream_name": "x", "price": price},
              "storm": {"provider": "fake", "upstream_name": "fake-storm", "price": price},
              "flaky": {"provider": "fake", "upstream_name": "fake-flaky", "price": price}}
    for m in FAULTS:
        models[m] = {"provider": "fake", "upstream_name": f"fake-{m}", "price": price}
    cfg["models"] = models
    cfg["routes"] = {f"r-{m}": {"candidates": [m, "ok"], "policy": "fixed",
                                "params": {"fixed": m}}
                     for m in list(FAULTS) + ["refused", "flaky"]}
    cfg["reliability"] = {"ttft_timeout_ms": 400, "idle_timeout_ms": 400,
                          "breaker_failures": 1000, "breaker_window": 0,
                          "backoff_base_ms": 10, "backoff_max_ms": 50}
    (tmp_path / "gw").mkdir()
    gw = Gateway(tmp_path / "gw", cfg)
    yield fake, gw, cfg
    assert gw.stop() == 0
    assert fake.proc.stop() == 0


def chat(gw, model, stream, timeout=15):
    body = {"model": model, "stream": stream, "messages": [{"role": "user", "content": "hi"}]}
    return requests.post(gw.url + "/v1/chat/completions", timeout=timeout, stream=stream,
                         headers={"Authorization": f"Bearer {CLIENT_KEY}"}, json=body)


def stream_events(r):
    out = []
    for line in r.iter_lines():
        if line.startswith(b"data: "):
            out.append(line[6:].decode())
    return out


BEFORE_FIRST_BYTE = ["refused", "e500", "e503", "e529", "e429", "reset", "stall0", "malformed",
                     "cut0", "errev0"]


@pytest.mark.parametrize("fault", BEFORE_FIRST_BYTE)
@pytest.mark.parametrize("stream", [False, True])
def test_fault_before_first_byte_falls_back_to_success(env, fault, stream):
    fake, gw, _ = env
    r = chat(gw, f"r-{fault}", stream)
    assert r.status_code == 200, r.text
    assert r.headers["x-switchyard-model"] == "ok"
    if stream:
        events = stream_events(r)
        assert events[-1] == "[DONE]"
        assert not any('"error"' in e for e in events), events
    else:
        assert r.json()["choices"][0]["message"]["content"]


@pytest.mark.parametrize("fault", ["stall3", "cut3", "errev3"])
def test_fault_after_first_byte_ends_stream_in_band(env, fault):
    fake, gw, _ = env
    r = chat(gw, f"r-{fault}", True)
    assert r.status_code == 200
    assert r.headers["x-switchyard-model"] == fault  # no silent switch mid-answer
    events = stream_events(r)
    assert any(json.loads(e).get("choices") for e in events[:-1]), events  # content came
    last = json.loads(events[-1])
    assert "error" in last and last["error"]["code"], events


@pytest.mark.parametrize("fault,status", [("quota", 429), ("e400", 400)])
def test_non_retryable_errors_are_not_retried(env, fault, status):
    fake, gw, _ = env
    fake.reset()
    r = chat(gw, f"r-{fault}", False)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"]
    models = [q["model"] for q in fake.stats()["requests"]]
    assert models == [f"fake-{fault}"], models  # exactly one upstream call, no fallback


def test_retry_budget_bounds_upstream_calls_in_a_503_storm(env):
    fake, gw, cfg = env
    fake.reset()
    n = 200
    for _ in range(n):
        r = chat(gw, "storm", False)
        assert r.status_code == 503
    calls = len(fake.stats()["requests"])
    # each request deposits 0.2 retries; the bucket starts with 10
    assert calls <= n * 1.2 + 10 + 2, calls
    assert calls > n  # retries did happen while the budget allowed


def test_breaker_probes_once_per_cooldown_and_rejoins(tmp_path, env):
    fake, gw, cfg = env
    cfg["reliability"].update({"breaker_failures": 3, "breaker_cooldown_ms": 600,
                               "breaker_max_cooldown_ms": 600})
    gw.write_config(cfg)
    assert requests.post(gw.admin_url + "/admin/reload", headers=gw.admin_headers(),
                         timeout=10).status_code == 200
    fake.reset()
    t0 = time.monotonic()
    while time.monotonic() - t0 < 2.0:  # steady traffic for 2 s, every answer a success
        r = chat(gw, "r-flaky", False)
        assert r.status_code == 200 and r.headers["x-switchyard-model"] == "ok"
        time.sleep(0.02)
    flaky = [q for q in fake.stats()["requests"] if q["model"] == "fake-flaky"]
    # 3 failures open it; then at most one probe per 600 ms cooldown over the 2 s
    assert 3 <= len(flaky) <= 3 + 4, len(flaky)
    arm = {a["model"]: a for a in requests.get(gw.admin_url + "/admin/routes/r-flaky",
                                               headers=gw.admin_headers(), timeout=5).json()["arms"]}
    assert arm["flaky"]["breaker"]["state"] in ("open", "half_open")
    assert arm["ok"]["breaker"]["state"] == "closed"
    metrics = requests.get(gw.admin_url + "/metrics", headers=gw.admin_headers(), timeout=5).text
    assert 'switchyard_breaker_state{model="flaky"} 1' in metrics
    # the model recovers: after a cooldown the next probe succeeds and it takes traffic
    scen = json.loads(json.dumps(SCENARIO))
    scen["models"]["fake-flaky"] = {}
    fake.set_scenario(scen)
    time.sleep(0.8)
    served = [chat(gw, "r-flaky", False).headers["x-switchyard-model"] for _ in range(20)]
    assert served.count("flaky") >= 19, served


def test_retry_after_keeps_traffic_off_the_arm(env):
    fake, gw, _ = env
    fake.reset()
    first = chat(gw, "r-e429", False)
    assert first.status_code == 200 and first.headers["x-switchyard-model"] == "ok"
    t0 = time.monotonic()
    while time.monotonic() - t0 < 0.8:  # inside the 1 s Retry-After
        assert chat(gw, "r-e429", False).headers["x-switchyard-model"] == "ok"
        time.sleep(0.02)  # (fake-provider keeps the last few hundred requests only)
    hits = [q for q in fake.stats()["requests"] if q["model"] == "fake-e429"]
    assert len(hits) == 1, len(hits)
    time.sleep(0.4)  # past it: the arm is tried again (and fails over again)
    chat(gw, "r-e429", False)
    hits = [q for q in fake.stats()["requests"] if q["model"] == "fake-e429"]
    assert len(hits) == 2
