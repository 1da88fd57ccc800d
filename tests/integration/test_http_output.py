"""How responses leave the gateway (engine/http_server.c): written straight to the socket
when it takes them, handed to libevent's write side when it does not (a slow reader),
and back to direct writes once that drained, with order and framing kept on one
keep-alive connection throughout; a closing connection still delivers everything first."""
import json
import socket
import time

from conftest import CLIENT_KEY, DEFAULT_SCENARIO

ANSWER_TOKENS = 1500000  # about 10 MB of JSON: more than the socket buffers take


def request_bytes(model, close=False):
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "go"}]})
    return (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
            b"Authorization: Bearer " + CLIENT_KEY.encode() + b"\r\n"
            b"Content-Type: application/json\r\n"
            + (b"Connection: close\r\n" if close else b"")
            + b"Content-Length: %d\r\n\r\n" % len(body) + body.encode())


def read_response(s, buf=b""):
    """One Content-Length response from s; returns (status, headers, body, leftover)."""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        assert chunk, f"connection closed inside a head: {buf[:200]!r}"
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
    n = int(headers["content-length"])
    while len(rest) < n:
        chunk = s.recv(1 << 20)
        assert chunk, f"connection closed after {len(rest)} of {n} body bytes"
        rest += chunk
    return int(lines[0].split()[1]), headers, rest[:n], rest[n:]


def big_answers(fake):
    scen = json.loads(json.dumps(DEFAULT_SCENARIO))
    scen["models"]["fake-large"] = {"content": {"mode": "lorem", "tokens": ANSWER_TOKENS}}
    fake.set_scenario(scen)


def test_slow_reader_gets_whole_response_then_keep_alive_continues(gateway, fake):
    big_answers(fake)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
    s.connect(("127.0.0.1", gateway.port))
    s.settimeout(20)
    s.sendall(request_bytes("large"))
    time.sleep(1.0)  # read nothing: the gateway's direct write takes only part of it
    status, headers, body, rest = read_response(s)
    assert status == 200, body[:300]
    assert headers["connection"] == "keep-alive"
    doc = json.loads(body)
    assert doc["usage"]["completion_tokens"] == ANSWER_TOKENS
    # the same connection, after the write side drained: small answers, one at a time
    for _ in range(3):
        s.sendall(request_bytes("small"))
        status, _, body, rest = read_response(s, rest)
        assert status == 200 and json.loads(body)["choices"][0]["message"]["content"]
    # and two pipelined requests come back complete and in order
    s.sendall(request_bytes("small") + request_bytes("large"))
    st1, _, b1, rest = read_response(s, rest)
    st2, _, b2, rest = read_response(s, rest)
    assert (st1, st2) == (200, 200)
    assert json.loads(b1)["model"] != json.loads(b2)["model"]
    assert json.loads(b2)["usage"]["completion_tokens"] == ANSWER_TOKENS
    assert rest == b""
    s.close()


def test_connection_close_delivers_everything_then_closes(gateway, fake):
    big_answers(fake)
    for model in ("small", "large"):
        s = socket.create_connection(("127.0.0.1", gateway.port), timeout=20)
        s.sendall(request_bytes(model, close=True))
        status, headers, body, rest = read_response(s)
        assert status == 200 and headers["connection"] == "close"
        json.loads(body)
        assert rest == b"" and s.recv(1) == b"", "the gateway did not close the connection"
        s.close()


def test_error_answer_on_closing_connection(gateway):
    s = socket.create_connection(("127.0.0.1", gateway.port), timeout=10)
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
              b"Connection: close\r\n\r\n{bad}")
    status, headers, body, rest = read_response(s)
    assert status == 401 and json.loads(body)["error"]["code"]
    assert s.recv(1) == b""
    s.close()
