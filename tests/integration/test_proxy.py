"""Happy paths through the real gateway: non-stream and stream, content, usage and
finish_reason compared with what the fake provider sent; models and health."""
import json

import requests

from conftest import CLIENT_KEY, chat_body


def sse_events(resp):
    """Parse an SSE response into a list of data payloads (strings)."""
    out = []
    for block in resp.text.split("\n\n"):
        data = [l[5:].lstrip(" ") for l in block.split("\n") if l.startswith("data:")]
        if data:
            out.append("\n".join(data))
    return out


def last_upstream_request(fake):
    return fake.stats()["requests"][-1]


def test_non_stream_matches_upstream(gateway, fake):
    r = gateway.chat(chat_body("large", "What is a switchyard?"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["choices"][0]["message"]["role"] == "assistant"
    assert body["choices"][0]["message"]["content"]
    usage = body["usage"]
    assert usage["completion_tokens"] == 20
    assert usage["prompt_tokens"] >= 1
    assert usage["prompt_tokens_details"]["cached_tokens"] == 3
    # the upstream saw the upstream model name, not the public one
    up = last_upstream_request(fake)
    assert up["body"]["model"] == "fake-large"
    assert up["body"]["messages"] == [{"role": "user", "content": "What is a switchyard?"}]
    assert r.headers["x-switchyard-model"] == "large"
    rid = r.headers["x-switchyard-request-id"]
    assert rid.startswith("req_") and len(rid) == 30


def test_standard_fields_pass_through(gateway, fake):
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {
        "type": "object", "properties": {"q": {"type": "string"}}}}}]
    body = chat_body("small", temperature=0.3, top_p=0.9, max_tokens=50, tools=tools,
                     response_format={"type": "json_object"}, user="u-1", seed=4,
                     stop=["\n\n"])
    r = gateway.chat(body)
    assert r.status_code == 200, r.text
    up = last_upstream_request(fake)["body"]
    for k in ("temperature", "top_p", "max_tokens", "tools", "response_format", "user", "seed",
              "stop"):
        assert up[k] == body[k], k


def test_stream_relays_chunks_and_strips_unrequested_usage(gateway, fake):
    r = gateway.chat(chat_body("large", "stream please", stream=True), stream=True)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = sse_events(r)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    # the gateway asked the upstream for usage, but the client did not: no usage chunk
    assert all(c.get("choices") for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert len(text.split()) == 20
    up = last_upstream_request(fake)["body"]
    assert up["stream"] is True and up["stream_options"] == {"include_usage": True}


def test_stream_keeps_usage_when_client_asks(gateway, fake):
    r = gateway.chat(chat_body("large", "usage please", stream=True,
                               stream_options={"include_usage": True}), stream=True)
    events = sse_events(r)
    chunks = [json.loads(e) for e in events[:-1]]
    usage_chunks = [c for c in chunks if c.get("usage") and not c["choices"]]
    assert len(usage_chunks) == 1
    assert usage_chunks[0]["usage"]["completion_tokens"] == 20
    assert usage_chunks[0]["usage"]["prompt_tokens_details"]["cached_tokens"] == 3


def test_stream_content_equals_non_stream_content(gateway):
    a = gateway.chat(chat_body("small", "same words", seed=1)).json()
    b = gateway.chat(chat_body("small", "same words", seed=1, stream=True), stream=True)
    text = "".join((json.loads(e)["choices"][0]["delta"].get("content") or "")
                   for e in sse_events(b)[:-1] if json.loads(e)["choices"])
    assert text == a["choices"][0]["message"]["content"]


def test_route_picks_among_candidates(gateway):
    seen = set()
    for _ in range(40):
        r = gateway.chat(chat_body("chat"))
        assert r.status_code == 200
        assert r.headers["x-switchyard-route"] == "chat"
        seen.add(r.headers["x-switchyard-model"])
    assert seen == {"small", "large"}


def test_models_lists_models_and_routes(gateway):
    r = requests.get(gateway.url + "/v1/models", headers=gateway.headers(), timeout=5)
    assert r.status_code == 200
    ids = {m["id"]: m for m in r.json()["data"]}
    assert {"small", "large", "slow", "chat"} <= set(ids)
    assert ids["chat"]["switchyard"]["kind"] == "route"
    assert ids["chat"]["switchyard"]["candidates"] == ["small", "large"]


def test_healthz(gateway):
    r = requests.get(gateway.url + "/healthz", timeout=5)
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_request_log_line_has_fields_and_no_secrets(gateway, fake):
    gateway.chat(chat_body("large", "secret prompt text 12345"))
    gateway.stop()
    lines = [l for l in gateway.log_lines() if l.get("msg") == "request"]
    assert lines, gateway.proc.output()
    line = lines[-1]
    for k in ("id", "route", "model", "status", "latency_ms", "ttft_ms", "prompt_tokens",
              "completion_tokens", "bytes_in", "bytes_out"):
        assert k in line, k
    assert line["status"] == 200 and line["completion_tokens"] == 20
    text = gateway.proc.output()
    assert "secret prompt text 12345" not in text
    assert CLIENT_KEY not in text
    assert "sk-canary-provider-key" not in text


def test_keep_alive_reuses_connection(gateway):
    s = requests.Session()
    for _ in range(5):
        r = s.post(gateway.url + "/v1/chat/completions", headers=gateway.headers(),
                   data=json.dumps(chat_body()), timeout=5)
        assert r.status_code == 200


def test_include_prompts_logs_messages_and_answer(tmp_path, fake):
    from conftest import Gateway, gateway_config
    gw = Gateway(tmp_path, gateway_config(fake.url, log={"include_prompts": True}))
    try:
        r = gw.chat(chat_body("small", "log this prompt 777"))
        assert r.status_code == 200
        answer = r.json()["choices"][0]["message"]
    finally:
        assert gw.stop() == 0
    line = [l for l in gw.log_lines() if l.get("msg") == "request"][-1]
    assert line["messages"] == [{"role": "user", "content": "log this prompt 777"}]
    assert line["answer"]["content"] == answer["content"]
    assert CLIENT_KEY not in gw.proc.output()
