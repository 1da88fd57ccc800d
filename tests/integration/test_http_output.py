"""How responses leave the gateway (engine/net/http_server.c): written straight to the socket
when it takes them, handed to libevent's write side when it does not (a slow reader),
and back to direct writes once that drained, with order and framing kept on one
keep-alive connection throughout; a closing connection still delivers everything first,
and so do the idle timeout (while the reader makes progress) and a graceful shutdown.
A fast reader of a long stream does not keep its worker from serving anyone else."""
import json
import signal
import socket
import threading
import time

from conftest import DEFAULT_SCENARIO, Gateway, chat_request_bytes, gateway_config

ANSWER_TOKENS = 1500000  # about 10 MB of JSON: more than the socket buffers take


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
    s.sendall(chat_request_bytes("large"))
    time.sleep(1.0)  # read nothing: the gateway's direct write takes only part of it
    status, headers, body, rest = read_response(s)
    assert status == 200, body[:300]
    assert headers["connection"] == "keep-alive"
    doc = json.loads(body)
    assert doc["usage"]["completion_tokens"] == ANSWER_TOKENS
    # the same connection, after the write side drained: small answers, one at a time
    for _ in range(3):
        s.sendall(chat_request_bytes("small"))
        status, _, body, rest = read_response(s, rest)
        assert status == 200 and json.loads(body)["choices"][0]["message"]["content"]
    # and two pipelined requests come back complete and in order
    s.sendall(chat_request_bytes("small") + chat_request_bytes("large"))
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
        s.sendall(chat_request_bytes(model, close=True))
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


def slow_socket(gateway):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
    s.connect(("127.0.0.1", gateway.port))
    s.settimeout(20)
    return s


def read_to_eof(s):
    buf = b""
    while True:
        b = s.recv(1 << 20)
        if not b:
            return buf
        buf += b


def test_graceful_shutdown_finishes_a_pending_answer(gateway, fake):
    big_answers(fake)
    s = slow_socket(gateway)
    s.sendall(chat_request_bytes("large"))
    time.sleep(1.0)  # the answer is queued, most of it unread
    gateway.proc.p.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    status, _, body, rest = read_response(s)
    assert status == 200 and json.loads(body)["usage"]["completion_tokens"] == ANSWER_TOKENS
    assert rest == b"" and s.recv(1) == b""
    s.close()
    assert gateway.proc.p.wait(timeout=20) == 0


def test_idle_timeout_spares_a_slow_reader_and_cuts_a_stalled_one(tmp_path, fake):
    big_answers(fake)
    gw = Gateway(tmp_path, gateway_config(fake.url, limits={"idle_timeout_ms": 1000}))
    try:
        # reads the 10 MB answer at ~2.5 MB/s, over several idle periods: gets all of it
        s = slow_socket(gw)
        s.sendall(chat_request_bytes("large"))
        buf, t_end = b"", time.monotonic() + 30
        while b"\r\n\r\n" not in buf or len(buf) < 1 << 20:
            buf += s.recv(65536)
        head, got = buf.split(b"\r\n\r\n", 1)
        n = int([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0]
                .split(b":")[1])
        while len(got) < n and time.monotonic() < t_end:
            b = s.recv(128 * 1024)
            assert b, f"closed after {len(got)} of {n} body bytes"
            got += b
            time.sleep(0.05)
        assert len(got) == n and json.loads(got)["usage"]["completion_tokens"] == ANSWER_TOKENS
        s.close()
        # stops reading altogether: closed after an idle period without progress
        s = slow_socket(gw)
        s.sendall(chat_request_bytes("large"))
        time.sleep(3.5)
        got = read_to_eof(s)
        assert 0 < len(got) < n, len(got)
        s.close()
    finally:
        assert gw.stop() == 0


def test_fast_stream_reader_does_not_starve_its_worker(tmp_path, fake):
    gw = Gateway(tmp_path, gateway_config(fake.url, workers=1))
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=30)
    s.sendall(chat_request_bytes("huge", stream=True))
    got, stop = [0], threading.Event()

    def reader():  # as fast as the stream comes
        rbuf = bytearray(4 << 20)
        while not stop.is_set():
            try:
                n = s.recv_into(rbuf)
            except OSError:
                return
            if not n:
                return
            got[0] += n

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    try:
        while got[0] < 4 << 20:
            time.sleep(0.01)
        worst, t_end = 0.0, time.monotonic() + 3
        while time.monotonic() < t_end:  # the same worker answers others meanwhile
            t0 = time.monotonic()
            h = socket.create_connection(("127.0.0.1", gw.port), timeout=60)
            h.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert read_to_eof(h).startswith(b"HTTP/1.1 200")
            h.close()
            worst = max(worst, time.monotonic() - t0)
            time.sleep(0.02)
        print(f"worst /healthz {worst * 1000:.1f} ms")
        assert worst < 0.5, f"/healthz took {worst * 1000:.0f} ms while a stream flowed"
    finally:
        stop.set()
        s.shutdown(socket.SHUT_RDWR)
        t.join()
        s.close()
        assert gw.stop() == 0
