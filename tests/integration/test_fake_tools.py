"""fake-provider answers a request that offers tools with one call of the first tool
(non-stream and stream, OpenAI shapes), and answers with text again once the last
message is the tool's result; and its faults as a client sees them on the socket
(reset, cut stream, stall, client close, HTTP errors on a keep-alive connection). Runs
the fake with no scenario (built-in defaults)."""
import json
import os
import socket
import time

import pytest
import requests

from conftest import BIN, Proc, sanitizer_env, wait_for_file

TOOLS = [{"type": "function",
          "function": {"name": "get_weather",
                       "parameters": {"type": "object",
                                      "properties": {"query": {"type": "string"}}}}},
         {"type": "function", "function": {"name": "search"}}]
QUESTION = "What is the weather in Zürich today? Answer with \"degrees\" please."


@pytest.fixture
def fake(tmp_path):
    port_file = tmp_path / "fake.port"
    proc = Proc([BIN, "fake-provider", "--listen", "127.0.0.1:0", "--port-file",
                 str(port_file)], tmp_path / "fake.log", env=sanitizer_env(dict(os.environ)))
    port = int(wait_for_file(port_file, proc.p)[0])
    yield f"http://127.0.0.1:{port}"
    rc = proc.stop()
    assert rc == 0, f"fake-provider exited with {rc}:\n{proc.output()[-4000:]}"


def post(url, body, stream=False):
    return requests.post(url + "/v1/chat/completions", data=json.dumps(body),
                         headers={"Content-Type": "application/json"}, stream=stream, timeout=10)


def sse_events(resp):
    """The JSON payloads of a stream, and whether it ended with [DONE]."""
    assert resp.headers["Content-Type"].startswith("text/event-stream")
    events, done = [], False
    for block in resp.text.split("\n\n"):
        if not block:
            continue
        assert block.startswith("data: "), block
        data = block[len("data: "):]
        if data == "[DONE]":
            done = True
        else:
            assert not done, "event after [DONE]"
            events.append(json.loads(data))
    return events, done


def expected_query(text):
    """The first 64 bytes of the user text, not cutting a UTF-8 character."""
    raw = text.encode()[:64]
    return raw.decode("utf-8", errors="ignore")


def request_body(**extra):
    body = {"model": "any-model", "tools": TOOLS,
            "messages": [{"role": "system", "content": "Be brief."},
                         {"role": "user", "content": QUESTION}]}
    body.update(extra)
    return body


def stats(url):
    return requests.get(url + "/_fake/stats", timeout=5).json()["requests"]


def test_tool_call_non_stream(fake):
    r = post(fake, request_body())
    assert r.status_code == 200, r.text
    doc = r.json()
    choice = doc["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    msg = choice["message"]
    assert msg["role"] == "assistant" and msg["content"] is None
    assert len(msg["tool_calls"]) == 1
    call = msg["tool_calls"][0]
    assert call["type"] == "function"
    assert call["id"].startswith("call_") and len(call["id"]) > len("call_")
    assert call["function"]["name"] == "get_weather"
    args = json.loads(call["function"]["arguments"])
    assert args == {"query": expected_query(QUESTION)}
    usage = doc["usage"]
    # completion tokens are the whitespace-delimited tokens of the arguments text
    assert usage["completion_tokens"] == len(call["function"]["arguments"].split())
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]

    rec = stats(fake)[-1]
    assert rec["tool_call"] == "get_weather"
    assert rec["outcome"] == "completed"
    assert rec["tokens_sent"] == usage["completion_tokens"]


def test_tool_call_stream(fake):
    r = post(fake, request_body(stream=True, stream_options={"include_usage": True}),
             stream=True)
    assert r.status_code == 200
    events, done = sse_events(r)
    assert done
    deltas = [e["choices"][0]["delta"] for e in events if e["choices"]]
    finishes = [e["choices"][0]["finish_reason"] for e in events if e["choices"]]
    assert deltas[0]["role"] == "assistant" and deltas[0]["content"] is None
    assert finishes[-1] == "tool_calls" and all(f is None for f in finishes[:-1])

    calls = [c for d in deltas for c in d.get("tool_calls", [])]
    first = calls[0]
    assert first["index"] == 0 and first["type"] == "function"
    assert first["id"].startswith("call_")
    assert first["function"] == {"name": "get_weather", "arguments": ""}
    pieces = calls[1:]
    assert len(pieces) >= 2, "arguments should arrive in several pieces"
    assert all(set(p) == {"index", "function"} and p["index"] == 0 for p in pieces)
    arguments = "".join(p["function"]["arguments"] for p in pieces)
    assert json.loads(arguments) == {"query": expected_query(QUESTION)}
    # no content deltas in a tool-call answer
    assert not any(d.get("content") for d in deltas)

    usage = events[-1]["usage"]
    assert events[-1]["choices"] == []
    assert usage["completion_tokens"] == len(arguments.split())
    rec = stats(fake)[-1]
    assert rec["tool_call"] == "get_weather" and rec["stream"] is True
    assert rec["tokens_sent"] == usage["completion_tokens"]


def test_tool_result_gets_text(fake):
    first = post(fake, request_body()).json()
    call = first["choices"][0]["message"]["tool_calls"][0]
    follow_up = request_body()
    follow_up["messages"] += [
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call["id"], "content": "21 degrees, sunny"},
    ]
    r = post(fake, follow_up)
    assert r.status_code == 200, r.text
    choice = r.json()["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert isinstance(choice["message"]["content"], str) and choice["message"]["content"]
    assert "tool_calls" not in choice["message"]

    r = post(fake, dict(follow_up, stream=True), stream=True)
    events, done = sse_events(r)
    assert done
    deltas = [e["choices"][0]["delta"] for e in events]
    assert deltas[0]["content"] == ""
    assert "".join(d.get("content", "") for d in deltas)
    assert not any("tool_calls" in d for d in deltas)
    assert events[-1]["choices"][0]["finish_reason"] == "stop"

    recs = stats(fake)
    assert [rec["tool_call"] for rec in recs] == ["get_weather", None, None]


def test_no_tools_or_tool_choice_none_gets_text(fake):
    body = request_body()
    del body["tools"]
    assert post(fake, body).json()["choices"][0]["finish_reason"] == "stop"
    r = post(fake, request_body(tool_choice="none")).json()
    assert r["choices"][0]["finish_reason"] == "stop"
    assert [rec["tool_call"] for rec in stats(fake)] == [None, None]


def test_tool_call_ids_are_deterministic(fake, tmp_path):
    """Same seed and request order: same call ids (they do not depend on the run)."""
    ids = [post(fake, request_body()).json()["choices"][0]["message"]["tool_calls"][0]["id"]
           for _ in range(3)]
    assert len(set(ids)) == 3

    other = tmp_path / "second"
    other.mkdir()
    port_file = other / "fake.port"
    proc = Proc([BIN, "fake-provider", "--listen", "127.0.0.1:0", "--port-file",
                 str(port_file)], other / "fake.log", env=sanitizer_env(dict(os.environ)))
    try:
        url = f"http://127.0.0.1:{int(wait_for_file(port_file, proc.p)[0])}"
        again = [post(url, request_body()).json()["choices"][0]["message"]["tool_calls"][0]["id"]
                 for _ in range(3)]
    finally:
        assert proc.stop() == 0
    assert again == ids


def test_stream_fault_around_tool_call(fake):
    """A mid-stream fault fires before the call (after_tokens 0) or after it."""
    body = request_body(stream=True)
    r = requests.post(fake + "/v1/chat/completions", data=json.dumps(body),
                      headers={"Content-Type": "application/json",
                               "x-fake-error": "malformed_json", "x-fake-after-tokens": "0"},
                      timeout=10)
    assert "tool_calls" not in r.text
    r = requests.post(fake + "/v1/chat/completions", data=json.dumps(body),
                      headers={"Content-Type": "application/json",
                               "x-fake-error": "malformed_json", "x-fake-after-tokens": "1"},
                      timeout=10)
    blocks = [b for b in r.text.split("\n\n") if b]
    assert blocks[-1] == "data: [DONE]"
    good = [json.loads(b[6:]) for b in blocks[:-2]]
    arguments = "".join(c["function"]["arguments"] for e in good
                        for c in e["choices"][0]["delta"].get("tool_calls", []))
    assert json.loads(arguments)["query"] == expected_query(QUESTION)
    with pytest.raises(ValueError):
        json.loads(blocks[-2][6:])
    recs = stats(fake)
    assert [rec["outcome"] for rec in recs] == ["error:malformed_json"] * 2


# ---- the wire: faults that only show on the socket (fake-provider runs on sy_http_server)

def raw_chat(url, headers=None, stream=False, keep_open=False):
    """Send one chat request on a fresh socket; returns the socket (read by the caller)."""
    port = int(url.rsplit(":", 1)[1])
    body = json.dumps({"model": "m", "stream": stream,
                       "messages": [{"role": "user", "content": "hello there"}]}).encode()
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
              b"Content-Type: application/json\r\n" + extra.encode() +
              b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    return s


def read_all(s):
    """Everything until EOF; raises ConnectionResetError on an RST."""
    got = b""
    while True:
        b = s.recv(65536)
        if not b:
            return got
        got += b


def last_record(url, outcome=None, timeout=5.0):
    """The newest record of /_fake/stats, once it has the given outcome."""
    end = time.monotonic() + timeout
    while True:
        rec = requests.get(url + "/_fake/stats", timeout=5).json()["requests"][-1]
        if outcome is None or rec["outcome"] == outcome or time.monotonic() > end:
            return rec
        time.sleep(0.02)


def test_reset_is_an_rst_before_any_byte(fake):
    s = raw_chat(fake, {"x-fake-error": "reset"})
    with pytest.raises(ConnectionResetError):
        read_all(s)
    s.close()
    rec = last_record(fake, "error:reset")
    assert rec["outcome"] == "error:reset" and rec["status"] == 0
    assert rec["first_byte_ms"] is None


def test_cut_stream_ends_without_the_last_chunk(fake):
    s = raw_chat(fake, {"x-fake-error": "cut_stream", "x-fake-after-tokens": "3"}, stream=True)
    got = read_all(s)
    s.close()
    head, body = got.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200") and b"chunked" in head.lower()
    assert b"0\r\n\r\n" not in body and b"[DONE]" not in body
    assert body.count(b"\"content\":") == 4  # the role event and 3 tokens
    rec = last_record(fake, "error:cut_stream")
    assert rec["outcome"] == "error:cut_stream" and rec["tokens_sent"] == 3


def test_cut_non_stream_sends_half_a_body(fake):
    s = raw_chat(fake, {"x-fake-error": "cut_stream"})
    got = read_all(s)
    s.close()
    head, body = got.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200") and b"application/json" in head
    assert b"0\r\n\r\n" not in body
    with pytest.raises(ValueError):
        json.loads(body.split(b"\r\n", 1)[1])


def test_stall_ends_when_the_client_gives_up(fake):
    s = raw_chat(fake, {"x-fake-error": "stall"})
    s.settimeout(0.3)
    with pytest.raises(socket.timeout):
        s.recv(1)
    assert last_record(fake)["outcome"] == "in_progress"
    t_close = time.monotonic() * 1000
    s.close()
    rec = last_record(fake, "error:stall")
    assert rec["outcome"] == "error:stall" and rec["status"] == 0
    assert rec["client_closed_ms"] is not None and rec["client_closed_ms"] - t_close < 500


def test_client_close_mid_stream_is_recorded(fake):
    s = raw_chat(fake, {"x-fake-tokens": "1000", "x-fake-tps": "50"}, stream=True)
    assert s.recv(4096).startswith(b"HTTP/1.1 200")
    time.sleep(0.1)
    s.close()
    rec = last_record(fake, "client_closed")
    assert rec["outcome"] == "client_closed" and 0 < rec["tokens_sent"] < 1000
    assert requests.get(fake + "/_fake/stats", timeout=5).json()["in_flight"] == 0


def test_http_faults_and_keep_alive(fake):
    with requests.Session() as sess:
        for kind, status in [("http_429", 429), ("http_529", 529), ("http_503", 503)]:
            r = sess.post(fake + "/v1/chat/completions", timeout=10,
                          headers={"x-fake-error": kind},
                          json={"model": "m", "messages": [{"role": "user", "content": "x"}]})
            assert r.status_code == status and r.json()["error"]["message"]
            assert ("Retry-After" in r.headers) == (kind == "http_429")
            assert r.headers["x-request-id"].startswith("req_")
        r = sess.post(fake + "/v1/chat/completions", timeout=10,
                      json={"model": "m", "messages": [{"role": "user", "content": "x"}]})
        assert r.status_code == 200 and r.json()["usage"]["completion_tokens"] == 16
    stats = requests.get(fake + "/_fake/stats", timeout=5).json()
    assert stats["by_outcome"] == {"error:http_429": 1, "error:http_529": 1,
                                   "error:http_503": 1, "completed": 1}
