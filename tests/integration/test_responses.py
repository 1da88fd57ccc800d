"""POST /v1/responses (OpenAI's Responses API) through the gateway's pipeline against the
fake provider: translated to chat for OpenAI-chat, Anthropic and Gemini providers, and
forwarded natively to a provider with "responses_api": true; plain, streamed, a tool
round trip, max_output_tokens, fallback across the two kinds in one route, mid-stream
errors, exact cost, the log, export and feedback, hostile bodies, 401 and 404 shapes."""
import json
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from conftest import (BIN, CLIENT_KEY, DEFAULT_SCENARIO, FakeProvider, Gateway,
                      gateway_config)

SMALL_PRICE = {"input": 0.15, "cached_input": 0.075, "output": 0.6}
WEATHER = {"type": "function", "name": "get_weather", "description": "weather of a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
           "strict": False}
# model -> the fake-provider path its provider is reached at
PATHS = {"small": "/v1/chat/completions", "nsmall": "/v1/responses",
         "claude": "/v1/messages", "gem": "/v1beta/models/fake-small:generateContent"}


def scenario():
    s = json.loads(json.dumps(DEFAULT_SCENARIO))
    s["models"]["fake-bad"] = {"errors": [{"kind": "http_503", "rate": 1.0}]}
    s["models"]["fake-midfail"] = {"errors": [{"kind": "error_event", "rate": 1.0,
                                               "after_tokens": 3}]}
    return s


def config(fake_url):
    cfg = gateway_config(fake_url)
    p = cfg["providers"]
    p["native"] = {"dialect": "openai", "base_url": fake_url + "/v1", "responses_api": True,
                   "key_env": "SY_TEST_PROVIDER_KEY"}
    p["anth"] = {"dialect": "anthropic", "base_url": fake_url + "/v1"}
    p["gem"] = {"dialect": "gemini", "base_url": fake_url + "/v1beta"}
    m = cfg["models"]
    m["nsmall"] = {"provider": "native", "upstream_name": "fake-small", "price": SMALL_PRICE}
    m["nlarge"] = {"provider": "native", "upstream_name": "fake-large",
                   "price": {"input": 2.5, "cached_input": 1.25, "output": 10}}
    m["nbad"] = {"provider": "native", "upstream_name": "fake-bad", "price": SMALL_PRICE}
    m["bad"] = {"provider": "fake", "upstream_name": "fake-bad", "price": SMALL_PRICE}
    m["nmid"] = {"provider": "native", "upstream_name": "fake-midfail", "price": SMALL_PRICE}
    m["mid"] = {"provider": "fake", "upstream_name": "fake-midfail", "price": SMALL_PRICE}
    m["claude"] = {"provider": "anth", "upstream_name": "fake-small",
                   "price": {"input": 3, "output": 15}}
    m["gem"] = {"provider": "gem", "upstream_name": "fake-small",
                "price": {"input": 0.3, "output": 2.5}}
    # the failing arm is always ranked first, so every request falls back (deterministic)
    cfg["routes"]["to-chat"] = {"candidates": ["nbad", "small"], "policy": "fixed",
                                "params": {"fixed": "nbad"}}
    cfg["routes"]["to-native"] = {"candidates": ["bad", "nsmall"], "policy": "fixed",
                                  "params": {"fixed": "bad"}}
    return cfg


@pytest.fixture
def rfake(tmp_path):
    fp = FakeProvider(tmp_path, scenario())
    yield fp
    assert fp.proc.stop() == 0


@pytest.fixture
def rgw(tmp_path, rfake):
    gw = Gateway(tmp_path, config(rfake.url))
    yield gw
    rc = gw.stop()
    assert rc == 0, gw.proc.output()[-4000:]


def post(gw, body, stream=False, key=CLIENT_KEY, path="/v1/responses", **headers):
    h = gw.headers(key)
    h.update(headers)
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return requests.post(gw.url + path, headers=h, data=data, stream=stream, timeout=30)


def events(r):
    """The SSE events of a streamed answer as (event name, data) pairs."""
    out, name = [], None
    for line in r.iter_lines(decode_unicode=True):
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            out.append((name, json.loads(line[6:])))
            name = None
    return out


def output_text(resp):
    return "".join(c["text"] for it in resp["output"] if it["type"] == "message"
                   for c in it["content"] if c["type"] == "output_text")


def request_lines(gw):
    return {l["id"]: l for l in gw.log_lines() if l.get("msg") == "request" and l.get("model")}


@pytest.mark.parametrize("model", sorted(PATHS))
def test_plain(rgw, rfake, model):
    r = post(rgw, {"model": model, "input": "Hello there", "instructions": "Be brief.",
                   "max_output_tokens": 100, "temperature": 0.2})
    assert r.status_code == 200, r.text
    b = r.json()
    assert b["object"] == "response" and b["status"] == "completed"
    assert b["id"] == r.headers["x-switchyard-request-id"]  # rateable by what the SDK shows
    assert b["model"] == model
    assert output_text(b).startswith("Lorem ipsum")
    u = b["usage"]
    assert u["total_tokens"] == u["input_tokens"] + u["output_tokens"]
    assert u["output_tokens"] == 20 and u["input_tokens"] > 0
    assert "cached_tokens" in u["input_tokens_details"]
    assert "reasoning_tokens" in u["output_tokens_details"]
    recs = rfake.stats()["requests"]
    assert recs[-1]["path"] == PATHS[model]
    if model == "nsmall":  # forwarded as the client sent it, model replaced, store false
        body = recs[-1]["body"]
        assert body["model"] == "fake-small" and body["input"] == "Hello there"
        assert body["instructions"] == "Be brief." and body["store"] is False
        assert recs[-1]["headers"]["authorization"] == "present"
    elif model == "small":
        body = recs[-1]["body"]
        assert body["messages"][0] == {"role": "system", "content": "Be brief."}
        assert body["max_completion_tokens"] == 100


@pytest.mark.parametrize("model", ["small", "nsmall", "claude"])
def test_streamed(rgw, model):
    r = post(rgw, {"model": model, "input": "Hello there", "stream": True}, stream=True)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    ev = events(r)
    types = [d["type"] for _, d in ev]
    assert [n for n, _ in ev] == types  # every event is named after its type
    assert types[:4] == ["response.created", "response.in_progress",
                         "response.output_item.added", "response.content_part.added"]
    assert types[-4:] == ["response.output_text.done", "response.content_part.done",
                          "response.output_item.done", "response.completed"]
    assert [d["sequence_number"] for _, d in ev] == list(range(len(ev)))
    rid = r.headers["x-switchyard-request-id"]
    assert ev[0][1]["response"]["id"] == rid and ev[0][1]["response"]["model"] == model
    deltas = "".join(d["delta"] for _, d in ev if d["type"] == "response.output_text.delta")
    done = ev[-1][1]["response"]
    assert done["id"] == rid and done["status"] == "completed"
    assert output_text(done) == deltas and deltas.startswith("Lorem ipsum")
    assert done["usage"]["output_tokens"] == 20
    item_id = ev[2][1]["item"]["id"]
    assert all(d["item_id"] == item_id for _, d in ev if "item_id" in d)


@pytest.mark.parametrize("model", ["small", "nsmall", "claude", "gem"])
@pytest.mark.parametrize("stream", [False, True])
def test_tool_round_trip(rgw, model, stream):
    ask = {"model": model, "input": [{"role": "user", "content": "weather in Paris"}],
           "tools": [WEATHER], "stream": stream}
    r = post(rgw, ask, stream=stream)
    assert r.status_code == 200, r.text
    if stream:
        ev = events(r)
        types = [d["type"] for _, d in ev]
        assert "response.function_call_arguments.delta" in types
        assert "response.function_call_arguments.done" in types
        args = "".join(d["delta"] for _, d in ev
                       if d["type"] == "response.function_call_arguments.delta")
        resp = ev[-1][1]["response"]
        assert resp["output"][-1]["arguments"] == args
    else:
        resp = r.json()
    calls = [it for it in resp["output"] if it["type"] == "function_call"]
    assert len(calls) == 1, resp
    call = calls[0]
    assert call["name"] == "get_weather" and call["call_id"]
    assert json.loads(call["arguments"])  # a JSON object
    # the client runs the tool and sends back the call and its output
    back = dict(ask, input=ask["input"] + [
        {"type": "function_call", "call_id": call["call_id"], "name": call["name"],
         "arguments": call["arguments"]},
        {"type": "function_call_output", "call_id": call["call_id"], "output": "22 C, sunny"}])
    r2 = post(rgw, back, stream=stream)
    assert r2.status_code == 200, r2.text
    resp2 = events(r2)[-1][1]["response"] if stream else r2.json()
    assert [it["type"] for it in resp2["output"]] == ["message"]
    assert output_text(resp2)


@pytest.mark.parametrize("model", ["small", "nsmall"])
def test_max_output_tokens_incomplete(rgw, model):
    r = post(rgw, {"model": model, "input": "Hello", "max_output_tokens": 5})
    assert r.status_code == 200, r.text
    b = r.json()
    assert b["status"] == "incomplete"
    assert b["incomplete_details"] == {"reason": "max_output_tokens"}
    assert b["usage"]["output_tokens"] == 5
    r = post(rgw, {"model": model, "input": "Hello", "max_output_tokens": 5, "stream": True},
             stream=True)
    ev = events(r)
    assert ev[-1][1]["type"] == "response.incomplete"
    assert ev[-1][1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}


@pytest.mark.parametrize("route,first,served,path", [
    ("to-chat", "nbad", "small", "/v1/chat/completions"),
    ("to-native", "bad", "nsmall", "/v1/responses")])
@pytest.mark.parametrize("stream", [False, True])
def test_fallback_across_kinds(rgw, rfake, route, first, served, path, stream):
    rfake.reset()
    r = post(rgw, {"model": route, "input": "Hello there", "stream": stream}, stream=stream)
    assert r.status_code == 200, r.text
    assert r.headers["x-switchyard-route"] == route
    assert r.headers["x-switchyard-model"] == served
    resp = events(r)[-1][1]["response"] if stream else r.json()
    assert resp["status"] == "completed" and output_text(resp).startswith("Lorem")
    assert resp["id"] == r.headers["x-switchyard-request-id"]
    paths = [x["path"] for x in rfake.stats()["requests"]]
    assert paths[-1] == path
    assert paths[0] == ("/v1/responses" if first == "nbad" else "/v1/chat/completions")
    rgw.stop()
    line = request_lines(rgw)[r.headers["x-switchyard-request-id"]]
    assert line["fallbacks"] >= 1 and line["model"] == served


@pytest.mark.parametrize("model", ["mid", "nmid"])
def test_error_after_first_byte_is_in_band(rgw, model):
    r = post(rgw, {"model": model, "input": "Hello there", "stream": True}, stream=True)
    assert r.status_code == 200
    ev = events(r)
    types = [d["type"] for _, d in ev]
    assert "response.output_text.delta" in types
    assert "error" in types and "response.completed" not in types
    err = next(d for _, d in ev if d["type"] == "error")
    assert err["code"] and err["message"]
    assert types[-1] in ("error", "response.failed")


@pytest.mark.parametrize("model", ["small", "nlarge"])
def test_cost_exact_in_header_log_export_and_feedback(rgw, model):
    r = post(rgw, {"model": model, "input": "price me please", "stream": False})
    assert r.status_code == 200, r.text
    rid = r.headers["x-switchyard-request-id"]
    u = r.json()["usage"]
    price = rgw.config["models"][model]["price"]
    cached = u["input_tokens_details"]["cached_tokens"]
    want = ((u["input_tokens"] - cached) * price["input"] + cached * price["cached_input"]
            + u["output_tokens"] * price["output"]) / 1e6
    if model == "nlarge":
        assert cached == 3  # the fake's cached tokens, read from the native usage
    assert float(r.headers["x-switchyard-cost-usd"]) == pytest.approx(want, abs=1e-12)
    s = post(rgw, {"model": model, "input": "stream me", "stream": True}, stream=True)
    sid = s.headers["x-switchyard-request-id"]
    su = events(s)[-1][1]["response"]["usage"]
    f = requests.post(rgw.url + "/v1/feedback", headers=rgw.headers(),
                      data=json.dumps({"request_id": r.json()["id"], "rating": "up"}), timeout=10)
    assert f.status_code == 200, f.text
    assert f.json()["model"] == model
    rgw.stop()
    lines = request_lines(rgw)
    line = lines[rid]
    assert line["endpoint"] == "responses" and line["stream"] is False
    assert line["prompt_tokens"] == u["input_tokens"]
    assert line["completion_tokens"] == u["output_tokens"]
    assert line["usage_estimated"] is False
    assert line["cost_usd"] == pytest.approx(want, abs=1e-12)
    sl = lines[sid]
    assert sl["stream"] is True and sl["usage_estimated"] is False
    assert sl["prompt_tokens"] == su["input_tokens"]
    assert sl["completion_tokens"] == su["output_tokens"]
    out = subprocess.run([BIN, "export", "--data-dir", str(rgw.data_dir)], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    rows = {row["request_id"]: row for row in map(json.loads, out.stdout.splitlines())}
    assert rows[rid]["model"] == model and rows[rid]["outcome"]["status"] == 200
    assert rows[rid]["outcome"]["cost_usd"] == pytest.approx(want, abs=1e-12)
    assert rows[rid]["feedback"] is not None
    assert sid in rows


@pytest.mark.parametrize("body,param", [
    ({"model": "small"}, "input"),
    ({"model": "small", "input": []}, "input"),
    ({"model": "small", "input": 5}, "input"),
    ({"input": "x"}, "model"),
    ({"model": "small", "input": "x", "previous_response_id": "resp_1"}, "previous_response_id"),
    ({"model": "small", "input": "x", "store": True}, "store"),
    ({"model": "small", "input": "x", "background": True}, "background"),
    ({"model": "small", "input": "x", "tools": [{"type": "web_search"}]}, "tools[0].type"),
    ({"model": "nsmall", "input": "x", "tools": [{"type": "file_search"}]}, "tools[0].type"),
    ({"model": "small", "input": [{"type": "item_reference", "id": "x"}]}, "input[0].type"),
    ({"model": "small", "input": [{"role": "user", "content": [{"type": "input_text"}]}]},
     "input[0].content[0].text"),
    ({"model": "small", "input": "x", "max_output_tokens": -1}, "max_output_tokens"),
    ({"model": "small", "input": "x", "temperature": 7}, "temperature"),
    ({"model": "nsmall", "input": "x", "api_key": "sk-evil"}, "api_key"),
    ({"model": "nsmall", "input": "x", "base_url": "http://evil"}, "base_url"),
])
def test_bad_body_400(rgw, rfake, body, param):
    before = len(rfake.stats()["requests"])
    r = post(rgw, body)
    assert r.status_code == 400, r.text
    e = r.json()["error"]
    assert e["param"] == param and e["type"] == "invalid_request_error" and e["message"]
    assert len(rfake.stats()["requests"]) == before  # nothing went upstream


@pytest.mark.parametrize("raw", [b"", b"[]", b"\"x\"", b"{", b"{\"model\":\"small\",\"input\":\"\xff\"}",
                                 b"{\"model\":\"small\",\"model\":\"nsmall\",\"input\":\"x\"}",
                                 b"[" * 5000, b"{\"model\":\"small\",\"input\":" + b"[" * 300])
def test_hostile_bodies(rgw, raw):
    r = post(rgw, raw)
    assert r.status_code == 400, r.text
    assert "message" in r.json()["error"]


class Capture:
    """A native Responses upstream on loopback that keeps the raw bodies it gets and
    answers each with the canned (status, body) of its upstream model name."""

    def __init__(self, answers):
        self.bodies, self.answers = [], answers
        up = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                up.bodies.append(raw)
                status, body = up.answers[json.loads(raw)["model"]]
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def test_native_upstream_bytes_and_hostile_answers(tmp_path):
    ok = json.dumps({"id": "resp_up", "object": "response", "status": "completed",
                     "model": "up", "output": [], "usage": {"input_tokens": 7,
                                                            "output_tokens": 2}}).encode()
    up = Capture({"fake-small": (200, ok), "chat": (200, b'{"choices":[]}'),
                  "garbage": (200, b"not json"),
                  "auth": (401, b'{"error":{"message":"bad key sk-proj-abcdefghijklmnopqrstu"}}')})
    cfg = config(f"http://127.0.0.1:{up.port}")
    cfg["providers"]["native"]["base_url"] = f"http://127.0.0.1:{up.port}/v1"
    for name in ("chat", "garbage", "auth"):
        cfg["models"]["n-" + name] = {"provider": "native", "upstream_name": name,
                                      "price": SMALL_PRICE}
    gw = Gateway(tmp_path, cfg)
    try:
        body = b'{"model":"nsmall","input":[{"role":"user","content":"a\\u0000b \\u00e9"}],' \
               b'"store":false,"reasoning":{"effort":"low"}}'
        r = post(gw, body)
        assert r.status_code == 200, r.text
        assert r.json()["id"] == r.headers["x-switchyard-request-id"]
        assert "resp_up" not in r.text and r.json()["model"] == "nsmall"
        sent = json.loads(up.bodies[-1])
        assert sent["input"][0]["content"] == "a\u0000b \u00e9"  # NUL forwarded intact
        assert sent["model"] == "fake-small" and sent["reasoning"] == {"effort": "low"}
        for m in ("n-chat", "n-garbage"):  # not a Response / not JSON: 502, never relayed
            r = post(gw, {"model": m, "input": "x"})
            assert r.status_code == 502, r.text
            assert r.json()["error"]["code"] == "upstream_malformed_response"
            assert "choices" not in r.text and "not json" not in r.text
        r = post(gw, {"model": "n-auth", "input": "x"})
        assert r.status_code == 502 and "abcdefghijklmnop" not in r.text
        assert r.json()["error"]["code"] == "upstream_auth_failed"
    finally:
        assert gw.stop() == 0
        up.close()


def test_wrong_media_type(rgw):
    r = requests.post(rgw.url + "/v1/responses", data="{}",
                      headers={"Authorization": f"Bearer {CLIENT_KEY}",
                               "Content-Type": "text/plain"}, timeout=10)
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"


def test_auth_and_not_found_shapes(rgw):
    body = {"model": "small", "input": "x"}
    for key in ("sk-wrong", ""):
        r = post(rgw, body, key=key)
        assert r.status_code == 401, r.text
        e = r.json()["error"]
        assert e["type"] == "invalid_request_error" and e["code"] == "invalid_api_key"
    r = requests.post(rgw.url + "/v1/responses", data=json.dumps(body),
                      headers={"x-api-key": CLIENT_KEY, "Content-Type": "application/json"},
                      timeout=10)
    assert r.status_code == 200  # the key as x-api-key works as well
    r = post(rgw, {"model": "nope", "input": "x"})
    assert r.status_code == 404
    e = r.json()["error"]
    assert e == {"message": "The model 'nope' does not exist", "type": "invalid_request_error",
                 "param": "model", "code": "model_not_found"}
    r = post(rgw, body, path="/responses")  # the path without /v1 as well
    assert r.status_code == 200
    r = requests.get(rgw.url + "/v1/responses", headers=rgw.headers(), timeout=10)
    assert r.status_code == 405


def test_wrong_key_answered_on_the_head(rgw):
    s = socket.create_connection(("127.0.0.1", rgw.port), timeout=5)
    s.sendall(b"POST /v1/responses HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-wrong\r\n"
              b"Content-Type: application/json\r\nExpect: 100-continue\r\n"
              b"Content-Length: 1048576\r\n\r\n")
    got = s.recv(4096)
    s.close()
    assert got.startswith(b"HTTP/1.1 401"), got[:100]
    assert b"\"invalid_api_key\"" in got


def test_responses_api_config_is_checked(tmp_path):
    cfg = config("http://127.0.0.1:1")
    cfg["providers"]["anth"]["responses_api"] = True
    cfg["data_dir"] = str(tmp_path / "d")
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(cfg))
    r = subprocess.run([BIN, "check-config", str(p)], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "$.providers.anth.responses_api" in r.stdout + r.stderr


def test_prompt_of_the_registry(rgw, rfake):
    """A Responses request may name a version of the gateway's prompt registry (OpenAI's
    `prompt` shape); it is rendered as for chat, and such a request is translated even
    for a native provider (only the chat body carries the rendered prompt)."""
    v = {"messages": [{"role": "system", "content": "You are {{persona}}."}],
         "variables": {"persona": {"type": "string", "required": True}}, "model": "nsmall"}
    a = requests.post(rgw.admin_url + "/admin/prompts/helper/versions", data=json.dumps(v),
                      headers=rgw.admin_headers(), timeout=10)
    assert a.status_code in (200, 201), a.text
    r = post(rgw, {"prompt": {"id": "helper", "version": 1, "variables": {"persona": "terse"}},
                   "input": "Hello"})
    assert r.status_code == 200, r.text
    assert r.headers["x-switchyard-prompt"] == "helper@1"
    assert r.json()["model"] == "nsmall"
    last = rfake.stats()["requests"][-1]
    assert last["path"] == "/v1/chat/completions"
    assert last["body"]["messages"][0] == {"role": "system", "content": "You are terse."}
    assert last["body"]["messages"][-1] == {"role": "user", "content": "Hello"}
    r = post(rgw, {"model": "small", "input": "x", "prompt": {"id": "missing"}})
    assert r.status_code == 404 and r.json()["error"]["code"] == "prompt_not_found"


def test_guardrails_keep_a_native_provider_on_the_chat_form(tmp_path, rfake):
    """A route with guardrails on a responses_api provider: the request is translated (the
    upstream sees the redacted chat body), never forwarded natively with the card number."""
    cfg = config(rfake.url)
    cfg["guardrails"] = {"cards": {"kind": "pii", "detectors": ["payment_card"],
                                   "action": "redact"}}
    cfg["routes"]["guarded"] = {"candidates": ["nsmall"], "policy": "fixed",
                                "params": {"fixed": "nsmall"}, "guardrails": ["cards"]}
    (tmp_path / "gw").mkdir()
    gw = Gateway(tmp_path / "gw", cfg)
    try:
        r = post(gw, {"model": "guarded", "input": "My card is 4111 1111 1111 1111"})
        assert r.status_code == 200, r.text
        last = rfake.stats()["requests"][-1]
        assert last["path"] == "/v1/chat/completions"
        sent = json.dumps(last["body"])
        assert "4111" not in sent and "[CARD_1]" in sent
        r = post(gw, {"model": "nsmall", "input": "Hello"})  # no guardrails: native
        assert r.status_code == 200 and rfake.stats()["requests"][-1]["path"] == "/v1/responses"
    finally:
        assert gw.stop() == 0
