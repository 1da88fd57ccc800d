"""Client abort cancels the upstream at once; a slow reader pushes back on the upstream
instead of making the gateway buffer the stream."""
import socket
import time

from conftest import chat_request_bytes


def open_stream(gateway, model, extra_headers=b""):
    s = socket.create_connection(("127.0.0.1", gateway.port), timeout=10)
    s.sendall(chat_request_bytes(model, stream=True, extra_headers=extra_headers))
    return s


def find_request(fake, pred, timeout=5.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for r in fake.stats()["requests"]:
            if pred(r):
                return r
        time.sleep(0.01)
    return None


def test_client_abort_closes_upstream_within_100ms(gateway, fake):
    for attempt in range(3):  # the machine is shared: allow a retry on a scheduling hiccup
        fake.reset()
        s = open_stream(gateway, "slow")  # 20 tokens/s, 100 tokens: 5 s of stream
        got = b""
        while got.count(b"data:") < 3:
            got += s.recv(4096)
        closed_at_ms = time.monotonic() * 1000
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
        r = find_request(fake, lambda r: r.get("outcome") == "client_closed")
        assert r is not None, fake.stats()
        delay = r["client_closed_ms"] - closed_at_ms
        if delay < 100:
            break
    assert delay < 100, f"upstream closed {delay:.1f} ms after the client"
    lines = None
    gateway.stop()
    lines = [l for l in gateway.log_lines() if l.get("msg") == "request"]
    assert any(l["status"] == 499 and l["error"] == "client_closed" for l in lines)


def test_slow_reader_backpressure_bounds_buffering(gateway, fake):
    tokens = 2000000  # model "huge": hundreds of MB of SSE if it were all buffered
    s = open_stream(gateway, "huge")
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.recv(1024)  # the stream has started
    time.sleep(2.0)  # do not read: the gateway must stop pulling from the upstream
    r1 = find_request(fake, lambda r: r.get("outcome") == "in_progress" and r.get("stream"))
    assert r1 is not None, [(r.get("outcome"), r.get("stream"), r.get("bytes_sent")) for r in fake.stats()["requests"]]
    time.sleep(1.0)
    r2 = find_request(fake, lambda r: r["start_ms"] == r1["start_ms"])
    assert r2["bytes_sent"] == r1["bytes_sent"], "upstream kept sending to a stalled client"
    assert r2["tokens_sent"] < tokens // 10
    rss_kb = int([l for l in open(f"/proc/{gateway.proc.p.pid}/status")
                  if l.startswith("VmRSS")][0].split()[1])
    assert rss_kb < 200 * 1024, f"gateway RSS {rss_kb} kB"
    # reading again resumes the upstream: the stream keeps flowing
    s.settimeout(10)
    got = 0
    while got < 8 * 1024 * 1024:
        b = s.recv(1 << 20)
        assert b, "stream ended early"
        got += len(b)
    r3 = find_request(fake, lambda r: r["start_ms"] == r1["start_ms"])
    assert r3["tokens_sent"] > r2["tokens_sent"]
    s.close()
