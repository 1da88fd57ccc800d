"""Every request is billed from its usage with the model's price table, to the
micro-dollar; a stream the client aborts is billed for the tokens actually relayed."""
import json
import socket
import time

from conftest import CLIENT_KEY, chat_body

# prices of the models in conftest.gateway_config (USD per million tokens)
LARGE = {"input": 2.5, "cached_input": 1.25, "output": 10}
SLOW = {"input": 1, "cached_input": 1, "output": 2}


def expected_usd(price, prompt, cached, completion):
    return ((prompt - cached) * price["input"] + cached * price["cached_input"]
            + completion * price["output"]) / 1e6


def request_lines(gateway):
    return [l for l in gateway.log_lines() if l.get("msg") == "request" and l.get("model")]


def test_non_stream_and_stream_cost_match_usage(gateway):
    r = gateway.chat(chat_body("large", "price me " * 40))
    assert r.status_code == 200
    u = r.json()["usage"]
    cached = u["prompt_tokens_details"]["cached_tokens"]
    assert cached == 3  # fake-large reports 3 cached tokens
    s = gateway.chat(chat_body("large", "stream me", stream=True,
                               stream_options={"include_usage": True}), stream=True)
    su = None
    for line in s.iter_lines():
        if line.startswith(b"data: {"):
            ev = json.loads(line[6:])
            if ev.get("usage"):
                su = ev["usage"]
    assert su
    gateway.stop()
    # workers batch their log lines: match lines to responses by request id
    lines = {l["id"]: l for l in request_lines(gateway)}
    assert len(lines) == 2
    for rid, usage in ((r.headers["x-switchyard-request-id"], u),
                       (s.headers["x-switchyard-request-id"], su)):
        line = lines[rid]
        want = expected_usd(LARGE, usage["prompt_tokens"],
                            usage["prompt_tokens_details"]["cached_tokens"],
                            usage["completion_tokens"])
        assert abs(line["cost_usd"] - want) < 0.5e-6, (line, usage)
        assert line["usage_estimated"] is False
    assert float(r.headers["x-switchyard-cost-usd"]) == \
        lines[r.headers["x-switchyard-request-id"]]["cost_usd"]
    assert "x-switchyard-cost-usd" not in s.headers  # a stream's cost is known only at its end


def test_aborted_stream_is_billed_for_relayed_tokens(gateway):
    body = json.dumps(chat_body("slow", "go", stream=True)).encode()
    s = socket.create_connection(("127.0.0.1", gateway.port), timeout=10)
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
              b"Authorization: Bearer " + CLIENT_KEY.encode() + b"\r\n"
              b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
              + body)
    got = b""
    while got.count(b'"content":"') < 6:  # role chunk has content "" only on some dialects
        got += s.recv(4096)
    s.close()
    time.sleep(0.3)
    gateway.stop()
    line = request_lines(gateway)[-1]
    assert line["status"] == 499 and line["usage_reported"] is False
    assert line["usage_estimated"] is True
    # slow sends 100 one-word tokens at 20/s: at least 5 were relayed, far fewer than 100
    assert 5 <= line["completion_tokens"] < 60, line
    want = expected_usd(SLOW, line["prompt_tokens"], 0, line["completion_tokens"])
    assert abs(line["cost_usd"] - want) < 0.5e-6
    assert line["cost_usd"] > 0
