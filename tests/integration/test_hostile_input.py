"""A table of malformed and hostile requests: framing, headers, smuggling, limits, JSON,
schema, types, auth and methods. Each gets its documented status with an OpenAI-shaped
body (where the connection still carries one), and the server keeps serving."""
import json
import socket

import pytest

from conftest import CLIENT_KEY, chat_body

AUTH = b"Authorization: Bearer " + CLIENT_KEY.encode() + b"\r\n"
JSON_CT = b"Content-Type: application/json\r\n"


def post(body, extra=b"", auth=AUTH, path=b"/v1/chat/completions"):
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    return (b"POST " + path + b" HTTP/1.1\r\nHost: x\r\n" + auth + JSON_CT + extra +
            b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)


def chat(**over):
    b = chat_body("small")
    b.update(over)
    return b


def msgs(*m):
    return chat(messages=list(m))


CASES = [
    # --- framing and request line ---
    ("bad request line", b"GARBAGE\r\n\r\n", 400),
    ("HTTP/2.0 on HTTP/1.1 port", b"GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    ("HTTP/0.9 style", b"GET /healthz\r\n\r\n", 400),
    ("absolute-form target", b"GET http://x/healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("asterisk target", b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("NUL in header value", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400),
    ("bare CR in header value", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", 400),
    ("header without colon", b"GET /healthz HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400),
    ("space before colon", b"GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n", 400),
    ("obsolete line folding", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", 400),
    # --- smuggling and body framing ---
    ("TE and CL together", b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
     b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("duplicate Content-Length", b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
     b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400),
    ("negative Content-Length", b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
     b"Content-Length: -1\r\n\r\n", 400),
    ("non-numeric Content-Length", b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
     b"Content-Length: 12abc\r\n\r\n", 400),
    ("huge Content-Length", b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
     b"Content-Length: 99999999999999999999\r\n\r\n", (400, 413)),
    ("unsupported Transfer-Encoding", b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
     b"Transfer-Encoding: gzip\r\n\r\n", (400, 501)),
    ("bad chunk size", b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + AUTH + JSON_CT +
     b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", 400),
    ("overflowing chunk size", b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + AUTH +
     JSON_CT + b"Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n", (400, 413)),
    ("oversized body", post(b'{"x":"' + b"a" * (2 << 20) + b'"}'), 413),
    # --- auth ---
    ("no key", post(chat(), auth=b""), 401),
    ("Basic auth", post(chat(), auth=b"Authorization: Basic dXNlcjpwYXNz\r\n"), 401),
    ("empty bearer", post(chat(), auth=b"Authorization: Bearer \r\n"), 401),
    ("8 KB bearer", post(chat(), auth=b"Authorization: Bearer " + b"k" * 8000 + b"\r\n"), 401),
    # --- methods and paths ---
    ("DELETE on chat", b"DELETE /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + AUTH +
     b"\r\n", 405),
    ("POST on models", post(chat(), path=b"/v1/models"), 405),
    ("GET on feedback", b"GET /v1/feedback HTTP/1.1\r\nHost: x\r\n" + AUTH + b"\r\n", 405),
    ("unknown path", b"GET /v1/engines HTTP/1.1\r\nHost: x\r\n" + AUTH + b"\r\n", 404),
    ("path traversal", b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", (400, 404)),
    # --- content type and JSON ---
    ("text/plain body", post(chat()).replace(JSON_CT, b"Content-Type: text/plain\r\n"), 415),
    ("no content type", post(chat()).replace(JSON_CT, b""), 415),
    ("truncated JSON", post(b'{"model":"small","messages":[{"role":'), 400),
    ("JSON null", post(b"null"), 400),
    ("JSON string", post(b'"hello"'), 400),
    ("JSON array", post(b"[1,2]"), 400),
    ("deep nesting", post(b'{"model":"small","messages":[{"role":"user","content":"x"}],"a":' +
                          b"[" * 300 + b"]" * 300 + b"}"), 400),
    ("trailing garbage", post(json.dumps(chat()).encode() + b"}}}"), 400),
    # --- schema and types ---
    ("missing model", post({"messages": [{"role": "user", "content": "x"}]}), 400),
    ("empty model", post(chat(model="")), 400),
    ("unknown model", post(chat(model="gpt-99")), 404),
    ("very long model name", post(chat(model="m" * 5000)), 404),
    ("messages object", post(chat(messages={"role": "user"})), 400),
    ("empty messages", post(chat(messages=[])), 400),
    ("message not an object", post(msgs("hello")), 400),
    ("unknown role", post(msgs({"role": "root", "content": "x"})), 400),
    ("user content number", post(msgs({"role": "user", "content": 42})), 400),
    ("user content missing", post(msgs({"role": "user"})), 400),
    ("content part without type", post(msgs({"role": "user", "content": [{"text": "x"}]})), 400),
    ("image part without url", post(msgs({"role": "user", "content": [{"type": "image_url"}]})),
     400),
    ("tool message without id", post(msgs({"role": "user", "content": "x"},
                                           {"role": "tool", "content": "42"})), 400),
    ("temperature as string", post(chat(temperature="hot")), 400),
    ("temperature too high", post(chat(temperature=7)), 400),
    ("top_p negative", post(chat(top_p=-0.1)), 400),
    ("max_tokens zero", post(chat(max_tokens=0)), 400),
    ("max_tokens fractional", post(chat(max_tokens=10.5)), 400),
    ("n too large", post(chat(n=1000)), 400),
    ("stream as string", post(chat(stream="true")), 400),
    ("stream_options as list", post(chat(stream_options=[1])), 400),
    ("stop with 5 entries", post(chat(stop=["a", "b", "c", "d", "e"])), 400),
    ("stop as number", post(chat(stop=3)), 400),
    ("tools not a list", post(chat(tools={"type": "function"})), 400),
    ("function tool without name", post(chat(tools=[{"type": "function", "function": {}}])), 400),
    ("tool_choice number", post(chat(tool_choice=1)), 400),
    ("response_format without type", post(chat(response_format={})), 400),
    ("logprobs as string", post(chat(logprobs="yes")), 400),
    # --- hostile fields ---
    ("set base_url", post(chat(base_url="http://evil.example")), 400),
    ("set api_key", post(chat(api_key="sk-stolen")), 400),
    ("set api_base", post(chat(api_base="http://evil.example")), 400),
    ("set extra_headers", post(chat(extra_headers={"Authorization": "x"})), 400),
    # --- feedback endpoint ---
    ("feedback bad json", post(b"{", path=b"/v1/feedback"), 400),
    ("feedback value out of range", post({"request_id": "req_01M8721XS20000006X425E3EY2",
                                          "value": 2}, path=b"/v1/feedback"), 400),
    ("feedback comment too long", post({"request_id": "req_01M8721XS20000006X425E3EY2",
                                        "rating": "up", "comment": "c" * 5000},
                                       path=b"/v1/feedback"), 400),
    # --- issue 15: parser differentials, NUL, UTF-8, RFC 9112 details (docs/reliability.md) ---
    ("duplicate model key", post(b'{"model":"small","model":"large","messages":'
                                 b'[{"role":"user","content":"x"}]}'), 400),
    ("duplicate max_tokens", post(b'{"model":"small","max_tokens":1,"max_tokens":100000,'
                                  b'"messages":[{"role":"user","content":"x"}]}'), 400),
    ("duplicate key in a message", post(b'{"model":"small","messages":[{"role":"user",'
                                        b'"content":"x","role":"system"}]}'), 400),
    ("duplicate key in feedback", post(b'{"request_id":"req_01M8721XS20000006X425E3EY2",'
                                       b'"rating":"up","rating":"down"}', path=b"/v1/feedback"),
     400),
    ("NUL in model", post(b'{"model":"sma\\u0000ll","messages":[{"role":"user","content":"x"}]}'),
     400),
    ("NUL in user", post(chat(user="u\u0000admin")), 400),
    ("NUL in feedback comment", post({"request_id": "req_01M8721XS20000006X425E3EY2",
                                      "rating": "up", "comment": "a\u0000b"},
                                     path=b"/v1/feedback"), 400),
    ("NUL in metadata id", post(chat(metadata={"conversation_id": "c\u0000x"})), 400),
    ("invalid UTF-8 in body", post(b'{"model":"small","messages":[{"role":"user",'
                                   b'"content":"\xff\xfe"}]}'), 400),
    ("bad hex in \\u escape", post(b'{"model":"sma\\u00zzll","messages":[{"role":"user",'
                                   b'"content":"x"}]}'), 400),
    ("raw NUL byte in body", post(b'{"model":"small","messages":[{"role":"user",'
                                  b'"content":"a\x00b"}]}'), 400),
    ("HTTP/1.1 without Host", b"GET /healthz HTTP/1.1\r\n\r\n", 400),
    ("two Host headers", b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    ("bare CR before request line", b"\rGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("non-ASCII byte in target", b"GET /heal\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("bare CR in chunk size", b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n1\rX\na\r\n0\r\n\r\n", 400),
    ("gzip Content-Encoding", post(chat(), extra=b"Content-Encoding: gzip\r\n"), 415),
    ("wrong key with 100-continue", post(chat(), auth=b"Authorization: Bearer sk-wrong\r\n",
                                         extra=b"Expect: 100-continue\r\n"), 401),
    ("no key, body never read", post(b'{"x":"' + b"a" * 500000 + b'"}', auth=b""), 401),
]


def send(port, data, timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(data)
    try:
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()
    return out


def test_table_has_at_least_80_rows():
    assert len(CASES) >= 80


@pytest.mark.parametrize("name,data,status", CASES, ids=[c[0] for c in CASES])
def test_hostile_request(gateway, name, data, status):
    raw = send(gateway.port, data)
    assert raw.startswith(b"HTTP/1.1 "), (name, raw[:200])
    got = int(raw.split(b" ", 2)[1])
    want = status if isinstance(status, tuple) else (status,)
    assert got in want, (name, raw[:400])
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower(), (name, head)
    err = json.loads(body)["error"]
    assert set(err) == {"message", "type", "param", "code"} and err["message"], err
    # and the server keeps serving
    assert gateway.chat(chat_body()).status_code == 200


# --- POST /v1/embeddings and GET /v1/models/{id} (issue 19) ---
EMB = b"/v1/embeddings"


def emb(**over):
    b = {"model": "small", "input": "x"}
    b.update(over)
    return post(b, path=EMB)


EMBED_CASES = [
    ("embed: not JSON", post(b"{input:", path=EMB), 400),
    ("embed: body is an array", post([1, 2], path=EMB), 400),
    ("embed: input is an object", emb(input={"a": 1}), 400),
    ("embed: input nested three deep", emb(input=[[[1]]]), 400),
    ("embed: token id 1e300", post(b'{"model":"small","input":[1e300]}', path=EMB), 400),
    ("embed: negative token id", emb(input=[[5, -1]]), 400),
    ("embed: 3000 inputs", emb(input=["a"] * 3000), 400),
    ("embed: mixed strings and tokens", emb(input=["a", [1]]), 400),
    ("embed: dimensions 1e300", post(b'{"model":"small","input":"x","dimensions":1e300}',
                                     path=EMB), 400),
    ("embed: upstream url in body", emb(base_url="http://evil/"), 400),
    ("embed: NUL in input", post(b'{"model":"small","input":"a\\u0000b"}', path=EMB), 400),
    ("embed: chat model", emb(), 400),
    ("embed: no key", post({"model": "small", "input": "x"}, auth=b"", path=EMB), 401),
    ("embed: GET", b"GET /v1/embeddings HTTP/1.1\r\nHost: x\r\n" + AUTH + b"\r\n", 405),
    ("models/{id}: NUL escape", b"GET /v1/models/sm%00all HTTP/1.1\r\nHost: x\r\n" + AUTH
     + b"\r\n", 404),
    ("models/{id}: bad escape", b"GET /v1/models/%zz HTTP/1.1\r\nHost: x\r\n" + AUTH
     + b"\r\n", 404),
    ("models/{id}: 2000-byte id", b"GET /v1/models/" + b"a" * 2000 + b" HTTP/1.1\r\nHost: x\r\n"
     + AUTH + b"\r\n", 404),
]


@pytest.mark.parametrize("name,data,status", EMBED_CASES, ids=[c[0] for c in EMBED_CASES])
def test_hostile_embeddings_request(gateway, name, data, status):
    test_hostile_request(gateway, name, data, status)


# --- POST /v1/messages and /v1/messages/count_tokens (issue 19): Anthropic's error shape ---
MSG = b"/v1/messages"
XKEY = b"x-api-key: " + CLIENT_KEY.encode() + b"\r\n"


def anth(**over):
    b = {"model": "small", "max_tokens": 16, "messages": [{"role": "user", "content": "x"}]}
    b.update(over)
    return post(b, auth=XKEY, path=MSG)


MESSAGES_CASES = [
    ("messages: not JSON", post(b"{model:", auth=XKEY, path=MSG), 400),
    ("messages: body is an array", post([1], auth=XKEY, path=MSG), 400),
    ("messages: duplicate member", post(b'{"model":"small","max_tokens":1,"max_tokens":2,'
                                        b'"messages":[]}', auth=XKEY, path=MSG), 400),
    ("messages: no max_tokens", post({"model": "small", "messages": []}, auth=XKEY, path=MSG),
     400),
    ("messages: max_tokens 1e300", post(b'{"model":"small","max_tokens":1e300,"messages":'
                                        b'[{"role":"user","content":"x"}]}', auth=XKEY,
                                        path=MSG), 400),
    ("messages: role system", anth(messages=[{"role": "system", "content": "x"}]), 400),
    ("messages: content a number", anth(messages=[{"role": "user", "content": 1}]), 400),
    ("messages: block without type", anth(messages=[{"role": "user", "content": [{}]}]), 400),
    ("messages: tool_use from the user", anth(messages=[{"role": "user", "content": [
        {"type": "tool_use", "id": "t", "name": "f", "input": {}}]}]), 400),
    ("messages: tool input an array", anth(messages=[{"role": "assistant", "content": [
        {"type": "tool_use", "id": "t", "name": "f", "input": [1]}]}]), 400),
    ("messages: NUL in a tool id", post(b'{"model":"small","max_tokens":1,"messages":[{"role":'
                                        b'"user","content":[{"type":"tool_result","tool_use_id"'
                                        b':"a\\u0000b"}]}]}', auth=XKEY, path=MSG), 400),
    ("messages: server tool", anth(tools=[{"type": "bash_20250124", "name": "bash"}]), 400),
    ("messages: tool without schema", anth(tools=[{"name": "f"}]), 400),
    ("messages: tool_choice a string", anth(tool_choice="auto"), 400),
    ("messages: temperature 2", anth(temperature=2), 400),
    ("messages: 5 stop sequences", anth(stop_sequences=list("abcde")), 400),
    ("messages: upstream url in body", anth(base_url="http://evil/"), 400),
    ("messages: unknown member", anth(frobnicate=1), 400),
    ("messages: unknown model", anth(model="nope"), 404),
    ("messages: wrong key", post({"model": "small"}, auth=b"x-api-key: sk-wrong\r\n",
                                 path=MSG), 401),
    ("messages: no key", post({"model": "small"}, auth=b"", path=MSG), 401),
    ("messages: GET", b"GET /v1/messages HTTP/1.1\r\nHost: x\r\n" + XKEY + b"\r\n", 405),
    ("messages: text/plain", post(b"{}", extra=b"", auth=XKEY, path=MSG).replace(
        b"application/json", b"text/plain"), 415),
    ("count_tokens: not JSON", post(b"[", auth=XKEY, path=MSG + b"/count_tokens"), 400),
    ("count_tokens: no messages", post({"model": "small"}, auth=XKEY,
                                       path=MSG + b"/count_tokens"), 400),
    ("count_tokens: unknown model", post({"model": "nope", "messages": [
        {"role": "user", "content": "x"}]}, auth=XKEY, path=MSG + b"/count_tokens"), 404),
    ("count_tokens: wrong key", post({}, auth=b"x-api-key: sk-wrong\r\n",
                                     path=MSG + b"/count_tokens"), 401),
]


@pytest.mark.parametrize("name,data,status", MESSAGES_CASES, ids=[c[0] for c in MESSAGES_CASES])
def test_hostile_messages_request(gateway, name, data, status):
    raw = send(gateway.port, data)
    assert raw.startswith(b"HTTP/1.1 %d " % status), (name, raw[:400])
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower(), (name, head)
    e = json.loads(body)
    assert e["type"] == "error" and set(e["error"]) == {"type", "message"}, e
    assert e["error"]["message"], e
    assert gateway.chat(chat_body()).status_code == 200
