"""POST /v1/embeddings through the gateway's pipeline (keys, routing with propensity,
fallback, cost, log line, store records, feedback) against the fake provider's
deterministic unit vectors, in the OpenAI and Gemini dialects; GET /v1/models/{id}."""
import base64
import hashlib
import json
import math
import struct
import subprocess

import pytest
import requests

from conftest import (BIN, DEFAULT_SCENARIO, FakeProvider, Gateway, chat_body,
                      gateway_config)

EMBED_PRICE = {"input": 0.02, "output": 0}
GEM_PRICE = {"input": 0.15, "output": 0}


def embed_scenario():
    s = json.loads(json.dumps(DEFAULT_SCENARIO))
    s["models"]["fake-embed"] = {}
    s["models"]["fake-embed-2"] = {}
    s["models"]["fake-embed-bad"] = {"errors": [{"kind": "http_503", "rate": 1.0}]}
    return s


def embed_config(fake_url, **over):
    cfg = gateway_config(fake_url)
    cfg["providers"]["gem"] = {"dialect": "gemini", "base_url": fake_url + "/v1beta",
                               "key_env": "SY_TEST_PROVIDER_KEY"}
    cfg["providers"]["anth"] = {"dialect": "anthropic", "base_url": fake_url + "/v1"}
    cfg["models"].update({
        "embed": {"provider": "fake", "upstream_name": "fake-embed", "kind": "embedding",
                  "price": EMBED_PRICE},
        "embed-2": {"provider": "fake", "upstream_name": "fake-embed-2", "kind": "embedding",
                    "price": EMBED_PRICE},
        "embed-bad": {"provider": "fake", "upstream_name": "fake-embed-bad",
                      "kind": "embedding", "price": EMBED_PRICE},
        "gem-embed": {"provider": "gem", "upstream_name": "fake-embed", "kind": "embedding",
                      "price": GEM_PRICE},
        "claude": {"provider": "anth", "upstream_name": "fake-small",
                   "price": {"input": 1, "output": 1}},
    })
    # the failing model is always ranked first, so every request falls back (deterministic)
    cfg["routes"]["vectors"] = {"candidates": ["embed-bad", "embed"], "policy": "fixed",
                                "params": {"fixed": "embed-bad"}}
    cfg["routes"]["vectors2"] = {"candidates": ["embed", "embed-2"]}
    cfg.update(over)
    return cfg


@pytest.fixture
def efake(tmp_path):
    fp = FakeProvider(tmp_path, embed_scenario())
    yield fp
    assert fp.proc.stop() == 0


@pytest.fixture
def egw(tmp_path, efake):
    gw = Gateway(tmp_path, embed_config(efake.url))
    yield gw
    rc = gw.stop()
    assert rc == 0, gw.proc.output()[-4000:]


def embed(gw, body, **kw):
    return requests.post(gw.url + "/v1/embeddings", headers=gw.headers(), data=json.dumps(body),
                         timeout=30)


def norm(v):
    return math.sqrt(sum(x * x for x in v))


def request_lines(gw):
    return {l["id"]: l for l in gw.log_lines() if l.get("msg") == "request" and l.get("model")}


def export(gw):
    r = subprocess.run([BIN, "export", "--data-dir", str(gw.data_dir)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return {row["request_id"]: row for row in map(json.loads, r.stdout.splitlines())}


def test_plain_string(egw):
    r = embed(egw, {"model": "embed", "input": "Hello world", "user": "u1"})
    assert r.status_code == 200, r.text
    b = r.json()
    assert b["object"] == "list" and b["model"] == "embed"
    assert len(b["data"]) == 1 and b["data"][0]["object"] == "embedding"
    assert b["data"][0]["index"] == 0
    v = b["data"][0]["embedding"]
    assert len(v) == 8 and abs(norm(v) - 1) < 1e-5
    assert b["usage"] == {"prompt_tokens": 3, "total_tokens": 3}  # ceil(11 / 4)
    assert r.headers["x-switchyard-model"] == "embed"
    # deterministic: the same text, the same vector
    again = embed(egw, {"model": "embed", "input": "Hello world"}).json()
    assert again["data"][0]["embedding"] == v


def test_batch_and_token_arrays(egw):
    r = embed(egw, {"model": "embed", "input": ["one", "two", "one"]})
    assert r.status_code == 200, r.text
    d = r.json()["data"]
    assert [e["index"] for e in d] == [0, 1, 2]
    assert d[0]["embedding"] == d[2]["embedding"] != d[1]["embedding"]
    t = embed(egw, {"model": "embed", "input": [[1, 2, 3], [4, 5]]})
    assert t.status_code == 200, t.text
    assert len(t.json()["data"]) == 2 and t.json()["usage"]["prompt_tokens"] == 5
    one = embed(egw, {"model": "embed", "input": [7, 8, 9]})
    assert one.status_code == 200 and len(one.json()["data"]) == 1


def test_base64_matches_float(egw):
    f = embed(egw, {"model": "embed", "input": "encode me"}).json()["data"][0]["embedding"]
    r = embed(egw, {"model": "embed", "input": "encode me", "encoding_format": "base64"})
    assert r.status_code == 200, r.text
    raw = base64.b64decode(r.json()["data"][0]["embedding"])
    got = struct.unpack("<%df" % (len(raw) // 4), raw)
    assert len(got) == len(f)
    assert all(abs(a - b) < 1e-7 for a, b in zip(got, f))


def test_dimensions(egw):
    r = embed(egw, {"model": "embed", "input": ["a", "b"], "dimensions": 3})
    assert r.status_code == 200, r.text
    for e in r.json()["data"]:
        assert len(e["embedding"]) == 3 and abs(norm(e["embedding"]) - 1) < 1e-5


def test_gemini_upstream_estimates_usage(egw, efake):
    r = embed(egw, {"model": "gem-embed", "input": ["abcdefgh", "xy"], "dimensions": 5,
                    "encoding_format": "base64"})
    assert r.status_code == 200, r.text
    b = r.json()
    assert len(b["data"]) == 2 and len(base64.b64decode(b["data"][0]["embedding"])) == 20
    assert b["usage"]["prompt_tokens"] == 3  # the gateway's estimate: ceil(10 / 4)
    # the same text gives the same vector through either dialect
    o = embed(egw, {"model": "embed", "input": "xy", "dimensions": 5}).json()
    g = embed(egw, {"model": "gem-embed", "input": "xy", "dimensions": 5}).json()
    assert all(abs(a - c) < 1e-6
               for a, c in zip(o["data"][0]["embedding"], g["data"][0]["embedding"]))
    t = embed(egw, {"model": "gem-embed", "input": [1, 2]})
    assert t.status_code == 400 and t.json()["error"]["param"] == "input"
    rec = [x for x in efake.stats()["requests"] if x["path"].endswith(":batchEmbedContents")]
    assert rec and rec[0]["path"] == "/v1beta/models/fake-embed:batchEmbedContents"
    assert rec[0]["headers"]["x-goog-api-key"] == "present"  # the key in a header, not the URL
    assert rec[0]["body"]["requests"][0] == {"model": "models/fake-embed",
                                             "content": {"parts": [{"text": "abcdefgh"}]},
                                             "outputDimensionality": 5}
    egw.stop()
    line = request_lines(egw)[r.headers["x-switchyard-request-id"]]
    assert line["usage_estimated"] is True and line["prompt_tokens"] == 3
    assert line["cost_usd"] == pytest.approx(3 * GEM_PRICE["input"] / 1e6, abs=1e-12)


def test_route_fallback_and_propensity(egw):
    ids = []
    for i in range(6):
        r = embed(egw, {"model": "vectors", "input": f"text {i}"})
        assert r.status_code == 200, r.text
        assert r.headers["x-switchyard-route"] == "vectors"
        assert r.headers["x-switchyard-model"] == "embed"
        ids.append(r.headers["x-switchyard-request-id"])
    p = embed(egw, {"model": "vectors2", "input": "pick"})
    assert p.status_code == 200
    egw.stop()
    lines = request_lines(egw)
    # the first request tries embed-bad (503) and falls back; once its breaker opens it is
    # not eligible at all
    assert lines[ids[0]]["fallbacks"] >= 1
    pl = lines[p.headers["x-switchyard-request-id"]]
    assert pl["route"] == "vectors2" and pl["propensity"] == pytest.approx(0.5)
    assert pl["endpoint"] == "embeddings"


def test_wrong_kind_400(egw):
    r = egw.chat(chat_body("embed"))
    assert r.status_code == 400 and r.json()["error"]["param"] == "model"
    assert "embedding" in r.json()["error"]["message"]
    r = egw.chat(chat_body("vectors"))
    assert r.status_code == 400 and r.json()["error"]["param"] == "model"
    for m in ("small", "chat", "claude"):
        r = embed(egw, {"model": m, "input": "x"})
        assert r.status_code == 400, r.text
        assert r.json()["error"]["param"] == "model"
    r = embed(egw, {"model": "nope", "input": "x"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"


@pytest.mark.parametrize("body,param", [
    ({"model": "embed"}, "input"),
    ({"model": "embed", "input": ""}, "input"),
    ({"model": "embed", "input": []}, "input"),
    ({"model": "embed", "input": ["a", 1]}, "input[1]"),
    ({"model": "embed", "input": [[1], []]}, "input[1]"),
    ({"model": "embed", "input": [1, -2]}, "input"),
    ({"model": "embed", "input": "x", "dimensions": 0}, "dimensions"),
    ({"model": "embed", "input": "x", "dimensions": 1.5}, "dimensions"),
    ({"model": "embed", "input": "x", "encoding_format": "int8"}, "encoding_format"),
    ({"model": "embed", "input": "x", "user": 5}, "user"),
    ({"model": "embed", "input": "x", "api_key": "k"}, "api_key"),
    ({"input": "x"}, "model"),
])
def test_bad_body_400(egw, body, param):
    r = embed(egw, body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == param


def test_anthropic_embedding_model_is_a_config_error(tmp_path, efake):
    cfg = embed_config(efake.url)
    cfg["models"]["claude"]["kind"] = "embedding"
    cfg["data_dir"] = str(tmp_path / "d")
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(cfg))
    r = subprocess.run([BIN, "check-config", str(p)], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "$.models.claude.kind" in (r.stdout + r.stderr)
    cfg = embed_config(efake.url)
    cfg["routes"]["mixed"] = {"candidates": ["small", "embed"]}
    p.write_text(json.dumps(cfg))
    r = subprocess.run([BIN, "check-config", str(p)], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "one kind" in (r.stdout + r.stderr)


def test_cost_in_log_and_export_and_feedback(egw):
    r = embed(egw, {"model": "embed", "input": ["cost me " * 10, "and me"]})
    assert r.status_code == 200
    rid = r.headers["x-switchyard-request-id"]
    tokens = r.json()["usage"]["prompt_tokens"]
    want = tokens * EMBED_PRICE["input"] / 1e6
    assert float(r.headers["x-switchyard-cost-usd"]) == pytest.approx(want, abs=1e-12)
    f = requests.post(egw.url + "/v1/feedback", headers=egw.headers(),
                      data=json.dumps({"request_id": rid, "rating": "down"}), timeout=10)
    assert f.status_code == 200, f.text
    assert f.json()["model"] == "embed"
    egw.stop()
    line = request_lines(egw)[rid]
    assert line["endpoint"] == "embeddings" and line["stream"] is False
    assert line["prompt_tokens"] == tokens and line["completion_tokens"] == 0
    assert line["usage_estimated"] is False
    assert line["cost_usd"] == pytest.approx(want, abs=1e-12)
    row = export(egw)[rid]
    assert row["model"] == "embed" and row["outcome"]["status"] == 200
    assert row["outcome"]["prompt_tokens"] == tokens
    assert row["outcome"]["cost_usd"] == pytest.approx(want, abs=1e-12)
    assert row["feedback"]["value"] == 0 or row["feedback"]["value"] == -1


def test_models_retrieve(egw):
    h = egw.headers()
    listed = {m["id"]: m for m in requests.get(egw.url + "/v1/models", headers=h).json()["data"]}
    for mid in ("embed", "small", "chat", "vectors"):
        r = requests.get(egw.url + "/v1/models/" + mid, headers=h, timeout=10)
        assert r.status_code == 200, r.text
        assert r.json() == listed[mid]
        assert r.json()["object"] == "model" and "created" in r.json()
    assert listed["embed"]["switchyard"]["mode"] == "embedding"
    assert listed["vectors"]["switchyard"]["mode"] == "embedding"
    assert listed["small"]["switchyard"]["mode"] == "chat"
    r = requests.get(egw.url + "/v1/models/nope", headers=h, timeout=10)
    assert r.status_code == 404
    e = r.json()["error"]
    assert e["code"] == "model_not_found" and e["type"] == "invalid_request_error"
    assert e["param"] == "model"
    r = requests.get(egw.url + "/v1/models/embed", timeout=10)
    assert r.status_code == 401
    r = requests.post(egw.url + "/v1/models/embed", headers=h, timeout=10)
    assert r.status_code == 405


def test_models_retrieve_hides_variant_routes(egw):
    """An experiment variant's route (chat~exp.variant) is hidden: not listed, and
    /v1/models/{id} answers 404 for it as for an unknown id."""
    d = {"id": "embx", "route": "chat", "unit": "user",
         "variants": [{"name": "ctl", "weight": 50}, {"name": "big", "weight": 50,
                                                      "model": "large"}]}
    h = {"Authorization": egw.admin_headers()["Authorization"]}
    r = requests.post(egw.admin_url + "/admin/experiments", headers=h, data=json.dumps(d),
                      timeout=10)
    assert r.status_code == 201, r.text
    r = requests.post(egw.admin_url + "/admin/experiments/embx/start", headers=h, timeout=10)
    assert r.status_code == 200, r.text
    listed = [m["id"] for m in requests.get(egw.url + "/v1/models",
                                            headers=egw.headers()).json()["data"]]
    assert "chat" in listed and not [m for m in listed if "~" in m]
    for name in ("chat~embx.big", "chat~embx.ctl", "chat%7Eembx.big"):
        g = requests.get(egw.url + "/v1/models/" + name, headers=egw.headers(), timeout=10)
        assert g.status_code == 404, (name, g.text)
    assert requests.get(egw.url + "/v1/models/chat", headers=egw.headers()).status_code == 200


def test_wrong_key_answered_on_the_head(egw):
    """/v1/embeddings and /v1/models/{id} refuse a wrong key before reading a body."""
    import socket
    for key, method, path in [("sk-wrong", b"POST", b"/v1/embeddings"),
                              ("", b"POST", b"/embeddings"),
                              ("sk-wrong", b"GET", b"/v1/models/embed")]:
        s = socket.create_connection(("127.0.0.1", egw.port), timeout=5)
        s.sendall(method + b" " + path + b" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                  + key.encode() + b"\r\nContent-Type: application/json\r\n"
                  b"Expect: 100-continue\r\nContent-Length: 1048576\r\n\r\n")
        got = s.recv(4096)
        assert got.startswith(b"HTTP/1.1 401"), (path, got[:100])
        s.close()


def test_key_limits_and_budget_apply(tmp_path, efake):
    """Embeddings count against the key's tokens per minute and its USD budget, like chat:
    each request below is 250 prompt tokens (1000 bytes) at $1 per million."""
    key = "sk-embed-limited-0123456789"
    cfg = embed_config(efake.url)
    cfg["models"]["embed"]["price"] = {"input": 1, "output": 0}
    cfg["client_keys"].append({"name": "limited",
                               "limits": {"tokens_per_minute": 600, "usd_per_day": 1e-3},
                               "sha256": hashlib.sha256(key.encode()).hexdigest()})
    gw = Gateway(tmp_path, cfg)
    try:
        h = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        body = json.dumps({"model": "embed", "input": "x" * 1000})
        codes = [requests.post(gw.url + "/v1/embeddings", headers=h, data=body,
                               timeout=10).status_code for _ in range(4)]
        assert codes[:3] == [200, 200, 200] and codes[3] == 429, codes
        r = requests.post(gw.url + "/v1/embeddings", headers=h, data=body, timeout=10)
        assert r.json()["error"]["code"] == "token_limit_exceeded"
        assert int(r.headers["retry-after"]) >= 1
    finally:
        assert gw.stop() == 0
