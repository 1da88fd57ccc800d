"""POST /v1/messages (Anthropic's Messages API as an ingress) and
/v1/messages/count_tokens through the gateway's pipeline against the fake provider:
plain and streamed answers in Anthropic's shapes and event order, a tool round trip,
Anthropic-shaped errors (401, 404, 400, 413, 415, in-band stream errors), a route with
its propensity, models behind the Anthropic and Gemini dialects, cost in the header and
the log, the request in `switchyard export` and rated through /v1/feedback."""
import json
import math
import socket
import subprocess

import pytest
import requests

from conftest import (BIN, CLIENT_KEY, DEFAULT_SCENARIO, FakeProvider, Gateway,
                      gateway_config)

TOOLS = [{"name": "get_weather", "description": "Current weather",
          "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}}}]
ANTH_PRICE = {"input": 3, "cached_input": 0.3, "cache_write": 3.75, "output": 15}


def scenario():
    s = json.loads(json.dumps(DEFAULT_SCENARIO))
    s["models"]["fake-cut"] = {"errors": [{"kind": "cut_stream", "rate": 1.0,
                                           "after_tokens": 5}]}
    return s


def config(fake_url):
    cfg = gateway_config(fake_url)
    cfg["providers"]["anth"] = {"dialect": "anthropic", "base_url": fake_url + "/v1",
                                "key_env": "SY_TEST_PROVIDER_KEY"}
    cfg["providers"]["gem"] = {"dialect": "gemini", "base_url": fake_url + "/v1beta",
                               "key_env": "SY_TEST_PROVIDER_KEY"}
    cfg["models"].update({
        "claude": {"provider": "anth", "upstream_name": "fake-small", "price": ANTH_PRICE},
        "gem": {"provider": "gem", "upstream_name": "fake-small",
                "price": {"input": 0.3, "output": 2.5}},
        "cut": {"provider": "fake", "upstream_name": "fake-cut",
                "price": {"input": 1, "output": 1}},
        "embed": {"provider": "fake", "upstream_name": "fake-small", "kind": "embedding",
                  "price": {"input": 1, "output": 0}},
    })
    cfg["limits"] = {"max_body_bytes": 65536}
    return cfg


@pytest.fixture
def mfake(tmp_path):
    fp = FakeProvider(tmp_path, scenario())
    yield fp
    assert fp.proc.stop() == 0


@pytest.fixture
def mgw(tmp_path, mfake):
    gw = Gateway(tmp_path, config(mfake.url))
    yield gw
    rc = gw.stop()
    assert rc == 0, gw.proc.output()[-4000:]


def anth_headers(key=CLIENT_KEY):
    return {"x-api-key": key, "anthropic-version": "2023-06-01",
            "content-type": "application/json"}


def post(gw, body, path="/v1/messages", headers=None, stream=False):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return requests.post(gw.url + path, headers=headers or anth_headers(), data=data,
                         stream=stream, timeout=30)


def body(model="small", content="Hello there", **extra):
    b = {"model": model, "max_tokens": 256, "messages": [{"role": "user", "content": content}]}
    b.update(extra)
    return b


def events(resp):
    """The stream's (event, data) pairs; each event line names its data's type."""
    assert resp.headers["content-type"].startswith("text/event-stream")
    out = []
    for block in resp.text.split("\n\n"):
        if not block:
            continue
        name, data = block.split("\n", 1)
        assert name.startswith("event: ") and data.startswith("data: "), block
        d = json.loads(data[len("data: "):])
        assert d["type"] == name[len("event: "):]
        out.append(d)
    return out


def accumulate(evs):
    """The Message an SDK builds from the events, checking their order."""
    assert evs[0]["type"] == "message_start" and evs[-1]["type"] == "message_stop"
    msg = evs[0]["message"]
    assert msg["content"] == [] and msg["stop_reason"] is None
    partial, open_index = {}, None
    for e in evs[1:-1]:
        t = e["type"]
        if t == "content_block_start":
            assert open_index is None and e["index"] == len(msg["content"])
            msg["content"].append(e["content_block"])
            open_index = e["index"]
        elif t == "content_block_delta":
            assert e["index"] == open_index
            blk, d = msg["content"][e["index"]], e["delta"]
            if d["type"] == "text_delta":
                blk["text"] += d["text"]
            else:
                assert d["type"] == "input_json_delta" and blk["type"] == "tool_use"
                partial[e["index"]] = partial.get(e["index"], "") + d["partial_json"]
        elif t == "content_block_stop":
            assert e["index"] == open_index
            if open_index in partial:
                msg["content"][open_index]["input"] = json.loads(partial[open_index])
            open_index = None
        elif t == "message_delta":
            assert open_index is None
            msg["stop_reason"] = e["delta"]["stop_reason"]
            msg["usage"].update(e["usage"])
        else:
            raise AssertionError(f"unexpected event {t}")
    return msg


def request_lines(gw):
    return {l["id"]: l for l in gw.log_lines() if l.get("msg") == "request" and "endpoint" in l}


def export(gw):
    r = subprocess.run([BIN, "export", "--data-dir", str(gw.data_dir)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return {row["request_id"]: row for row in map(json.loads, r.stdout.splitlines())}


def test_plain(mgw):
    r = post(mgw, body(system="Be brief.", temperature=0.2, stop_sequences=["zzz"],
                       metadata={"user_id": "u-42"}))
    assert r.status_code == 200, r.text
    m = r.json()
    assert m["id"] == r.headers["x-switchyard-request-id"]
    assert m["type"] == "message" and m["role"] == "assistant" and m["model"] == "small"
    assert [b["type"] for b in m["content"]] == ["text"] and m["content"][0]["text"]
    assert m["stop_reason"] == "end_turn" and m["stop_sequence"] is None
    u = m["usage"]
    assert u["input_tokens"] > 0 and u["output_tokens"] == 20
    assert u["cache_read_input_tokens"] == 0 and u["cache_creation_input_tokens"] == 0
    # exact cost: the tokens the client sees at the model's prices
    want = (u["input_tokens"] * 0.15 + u["output_tokens"] * 0.6) / 1e6
    assert float(r.headers["x-switchyard-cost-usd"]) == pytest.approx(want, abs=1e-12)
    # Bearer works as well as x-api-key; max_tokens is honoured
    h = {"Authorization": "Bearer " + CLIENT_KEY, "Content-Type": "application/json"}
    r = post(mgw, body(max_tokens=3), headers=h)
    assert r.status_code == 200 and r.json()["stop_reason"] == "max_tokens"
    assert r.json()["usage"]["output_tokens"] == 3


def test_streamed(mgw):
    r = post(mgw, body(stream=True), stream=True)
    assert r.status_code == 200, r.text
    evs = events(r)
    types = [e["type"] for e in evs]
    assert types[:3] == ["message_start", "content_block_start", "content_block_delta"]
    assert types[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    m = accumulate(evs)
    assert m["id"] == r.headers["x-switchyard-request-id"] and m["model"] == "small"
    assert m["content"][0]["type"] == "text" and len(m["content"][0]["text"]) > 20
    assert m["stop_reason"] == "end_turn"
    assert m["usage"]["output_tokens"] == 20 and m["usage"]["input_tokens"] > 0


@pytest.mark.parametrize("model", ["small", "claude", "gem", "chat"])
@pytest.mark.parametrize("stream", [False, True])
def test_tool_round_trip(mgw, model, stream):
    """Every dialect behind the ingress: the tool call, then its result, then text."""
    q = "What is the weather in Paris?"
    first = body(model, q, tools=TOOLS, tool_choice={"type": "auto"}, stream=stream)
    r = post(mgw, first, stream=stream)
    assert r.status_code == 200, r.text
    m = accumulate(events(r)) if stream else r.json()
    assert m["stop_reason"] == "tool_use", m
    call = [b for b in m["content"] if b["type"] == "tool_use"]
    assert len(call) == 1 and call[0]["name"] == "get_weather"
    assert call[0]["input"] == {"query": q}
    assert call[0]["id"]
    second = dict(first)
    second["messages"] = first["messages"] + [
        {"role": "assistant", "content": m["content"]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call[0]["id"],
                                      "content": "18 degrees"}]}]
    r = post(mgw, second, stream=stream)
    assert r.status_code == 200, r.text
    m = accumulate(events(r)) if stream else r.json()
    assert m["stop_reason"] == "end_turn"
    assert m["content"][0]["type"] == "text" and m["content"][0]["text"]


def test_route_and_dialects_in_log_export_and_feedback(mgw):
    ids = {}
    for model in ("chat", "claude", "gem"):
        r = post(mgw, body(model))
        assert r.status_code == 200, r.text
        ids[model] = r.json()["id"]
    assert r.headers["x-switchyard-model"] == "gem"
    s = post(mgw, body("claude", stream=True), stream=True)
    assert s.status_code == 200
    sid = accumulate(events(s))["id"]
    # rated by the id the SDK shows
    for rid in list(ids.values()) + [sid]:
        f = requests.post(mgw.url + "/v1/feedback", headers=mgw.headers(),
                          data=json.dumps({"request_id": rid, "rating": "up"}), timeout=10)
        assert f.status_code == 200, f.text
    mgw.stop()
    lines = request_lines(mgw)
    for rid in list(ids.values()) + [sid]:
        assert lines[rid]["endpoint"] == "messages" and lines[rid]["status"] == 200
    assert lines[ids["chat"]]["route"] == "chat"
    assert lines[ids["chat"]]["propensity"] > 0
    assert lines[ids["claude"]]["provider"] == "anth"
    assert lines[ids["gem"]]["provider"] == "gem"
    assert lines[sid]["stream"] is True and lines[sid]["usage_reported"] is True
    # the Anthropic-dialect stream: billed from the usage it reported
    l = lines[sid]
    want = (l["prompt_tokens"] * ANTH_PRICE["input"] + l["completion_tokens"] * 15) / 1e6
    assert l["cost_usd"] == pytest.approx(want, abs=1e-12)
    rows = export(mgw)
    for model, rid in ids.items():
        row = rows[rid]
        assert row["outcome"]["status"] == 200 and row["feedback"]["value"] == 1
        assert row["model"] == (model if model != "chat" else lines[rid]["model"])
    assert rows[ids["chat"]]["route"] == "chat"
    assert rows[sid]["feedback"]["value"] == 1


def test_wrong_key_and_unknown_model(mgw):
    r = post(mgw, body(), headers=anth_headers("sk-wrong"))
    assert r.status_code == 401
    assert r.json() == {"type": "error", "error": {"type": "authentication_error",
                                                   "message": "invalid API key"}}
    r = post(mgw, body(), headers={"content-type": "application/json"})
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
    r = post(mgw, body("nope"))
    assert r.status_code == 404
    assert r.json() == {"type": "error", "error": {
        "type": "not_found_error", "message": "model: The model 'nope' does not exist"}}
    r = post(mgw, body("embed"))
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"


def test_wrong_key_refused_on_the_head(mgw):
    for path in (b"/v1/messages", b"/messages", b"/v1/messages/count_tokens"):
        s = socket.create_connection(("127.0.0.1", mgw.port), timeout=5)
        s.sendall(b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nx-api-key: sk-wrong\r\n"
                  b"Content-Type: application/json\r\nExpect: 100-continue\r\n"
                  b"Content-Length: 60000\r\n\r\n")
        got = b""
        while b"}}" not in got:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
        s.close()
        assert got.startswith(b"HTTP/1.1 401"), (path, got[:100])
        assert json.loads(got.split(b"\r\n\r\n", 1)[1])["error"]["type"] == \
            "authentication_error"


@pytest.mark.parametrize("data,status,etype,fragment", [
    (b'{"model":"small","max_tokens":5,"model":"large","messages":[]}', 400,
     "invalid_request_error", "model"),
    (b'{"model":"small","messages":[{"role":"user","content":"x"}]}', 400,
     "invalid_request_error", "max_tokens"),
    (b'{"model":"small","max_tokens":"5","messages":[{"role":"user","content":"x"}]}', 400,
     "invalid_request_error", "max_tokens"),
    (b'{"model":5,"max_tokens":5,"messages":[{"role":"user","content":"x"}]}', 400,
     "invalid_request_error", "model"),
    (b'{"model":"small","max_tokens":5,"messages":[{"role":"tool","content":"x"}]}', 400,
     "invalid_request_error", "role"),
    (b'{"model":"small","max_tokens":5,"messages":"hi"}', 400, "invalid_request_error", ""),
    (b'{"model":"small","max_tokens":5,"messages":[{"role":"user","content":[{"type":"image",'
     b'"source":{"type":"base64","media_type":"image/png","data":7}}]}]}', 400,
     "invalid_request_error", ""),
    (b'[1,2,3]', 400, "invalid_request_error", "object"),
    (b'{"model":', 400, "invalid_request_error", ""),
    (b'{"model":"small","max_tokens":5,"messages":[{"role":"user","content":"\xff"}]}', 400,
     "invalid_request_error", "UTF-8"),
    (b'{"model":"small","max_tokens":5,"thinking":{"type":"enabled","budget_tokens":1024},'
     b'"messages":[{"role":"user","content":"x"}]}', 400, "invalid_request_error", "thinking"),
    (b'{"model":"small","max_tokens":5,"base_url":"http://evil/","messages":[]}', 400,
     "invalid_request_error", "configuration"),
    (b'{"model":"small","max_tokens":5,"messages":' + b"[" * 200 + b"]" * 200 + b"}", 400,
     "invalid_request_error", "depth"),
    (b'{"model":"small","max_tokens":5,"messages":[{"role":"user","content":"'
     + b"x" * 70000 + b'"}]}', 413, "request_too_large", ""),
])
def test_hostile_bodies(mgw, data, status, etype, fragment):
    r = post(mgw, data)
    assert r.status_code == status, r.text
    e = r.json()
    assert e["type"] == "error" and set(e["error"]) == {"type", "message"}
    assert e["error"]["type"] == etype and fragment in e["error"]["message"], e
    # and the gateway keeps serving
    assert post(mgw, body()).status_code == 200


def test_media_type_and_method(mgw):
    h = anth_headers()
    h["content-type"] = "text/plain"
    r = post(mgw, body(), headers=h)
    assert r.status_code == 415 and r.json()["error"]["type"] == "invalid_request_error"
    r = requests.get(mgw.url + "/v1/messages", headers=anth_headers(), timeout=10)
    assert r.status_code == 405


def test_stream_cut_is_an_error_event(mgw):
    r = post(mgw, body("cut", stream=True), stream=True)
    assert r.status_code == 200
    evs = events(r)
    assert evs[0]["type"] == "message_start"
    assert evs[-1] == {"type": "error", "error": {"type": "api_error",
                                                  "message": evs[-1]["error"]["message"]}}
    assert "message_stop" not in [e["type"] for e in evs]


def test_count_tokens(mgw, mfake):
    def upstream_calls():
        return {k: v for k, v in mfake.stats().items() if k != "now_ms"}

    before = upstream_calls()
    b = {"model": "small", "messages": [{"role": "user", "content": "Hello"}]}
    r = post(mgw, b, path="/v1/messages/count_tokens")
    assert r.status_code == 200, r.text
    # the chat body it becomes is this same JSON text: ceil(64 / 4) = 16
    chat = json.dumps(b, separators=(",", ":"))
    assert r.json() == {"input_tokens": math.ceil(len(chat) / 4)} == {"input_tokens": 16}
    big = dict(b, system="You are terse. " * 40, tools=TOOLS, max_tokens=10)
    n = post(mgw, big, path="/messages/count_tokens").json()["input_tokens"]
    assert n > r.json()["input_tokens"] + 150
    assert upstream_calls() == before  # no upstream call
    r = post(mgw, dict(b, model="nope"), path="/v1/messages/count_tokens")
    assert r.status_code == 404 and r.json()["error"]["type"] == "not_found_error"
    r = post(mgw, {"model": "small"}, path="/v1/messages/count_tokens")
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    r = post(mgw, b, path="/v1/messages/count_tokens", headers=anth_headers("sk-wrong"))
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
    r = post(mgw, dict(b, model="chat"), path="/v1/messages/count_tokens")
    assert r.status_code == 200
