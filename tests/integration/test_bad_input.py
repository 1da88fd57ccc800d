"""Client mistakes get OpenAI-shaped errors with the right status, and the server keeps
serving afterwards."""
import json
import socket

import pytest
import requests

from conftest import chat_body


def assert_openai_error(r, status, code=None):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert err["message"]
    if code:
        assert err["code"] == code
    return err


def raw_request(port, data, timeout=5):
    """Send raw bytes; return the full response bytes (until the server closes)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(data)
    chunks = []
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
    except socket.timeout:
        pass
    s.close()
    return b"".join(chunks)


def status_of(raw):
    return int(raw.split(b" ", 2)[1])


def body_of(raw):
    return json.loads(raw.split(b"\r\n\r\n", 1)[1])


def test_missing_key_401(gateway):
    r = requests.post(gateway.url + "/v1/chat/completions", data=json.dumps(chat_body()),
                      headers={"Content-Type": "application/json"}, timeout=5)
    assert_openai_error(r, 401, "invalid_api_key")


def test_wrong_key_401(gateway):
    r = requests.post(gateway.url + "/v1/chat/completions", data=json.dumps(chat_body()),
                      headers=gateway.headers(key="sk-wrong"), timeout=5)
    assert_openai_error(r, 401, "invalid_api_key")


def test_unknown_model_404(gateway):
    err = assert_openai_error(gateway.chat(chat_body("no-such-model")), 404, "model_not_found")
    assert err["param"] == "model"


def test_malformed_json_400(gateway):
    r = requests.post(gateway.url + "/v1/chat/completions", data='{"model": "small",',
                      headers=gateway.headers(), timeout=5)
    assert_openai_error(r, 400)


@pytest.mark.parametrize("body,param", [
    ({"messages": [{"role": "user", "content": "x"}]}, "model"),
    ({"model": "small"}, "messages"),
    ({"model": "small", "messages": []}, "messages"),
    ({"model": "small", "messages": [{"content": "x"}]}, "messages[0].role"),
    ({"model": "small", "messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
    ({"model": 5, "messages": [{"role": "user", "content": "x"}]}, "model"),
    ({"model": "small", "messages": [{"role": "user", "content": "x"}], "stream": "yes"},
     "stream"),
    ({"model": "small", "messages": [{"role": "user", "content": "x"}],
      "base_url": "http://evil.example"}, "base_url"),
    ({"model": "small", "messages": [{"role": "user", "content": "x"}], "api_key": "sk-x"},
     "api_key"),
])
def test_schema_errors_name_the_param(gateway, body, param):
    err = assert_openai_error(gateway.chat(body), 400)
    assert err["param"] == param


def test_body_not_object_400(gateway):
    r = requests.post(gateway.url + "/v1/chat/completions", data="[1,2,3]",
                      headers=gateway.headers(), timeout=5)
    assert_openai_error(r, 400)


def test_too_deep_json_400(gateway):
    deep = "[" * 500 + "]" * 500
    body = '{"model":"small","messages":[{"role":"user","content":"x"}],"x":' + deep + "}"
    r = requests.post(gateway.url + "/v1/chat/completions", data=body,
                      headers=gateway.headers(), timeout=5)
    assert_openai_error(r, 400)


def test_too_large_413(gateway):
    big = chat_body(content="x" * (2 * 1024 * 1024))
    r = requests.post(gateway.url + "/v1/chat/completions", data=json.dumps(big),
                      headers=gateway.headers(), timeout=10)
    assert_openai_error(r, 413, "request_too_large")


def test_wrong_content_type_415(gateway):
    r = requests.post(gateway.url + "/v1/chat/completions", data=json.dumps(chat_body()),
                      headers=gateway.headers(**{"Content-Type": "text/plain"}), timeout=5)
    assert_openai_error(r, 415)


def test_wrong_method_405(gateway):
    r = requests.get(gateway.url + "/v1/chat/completions", headers=gateway.headers(), timeout=5)
    assert_openai_error(r, 405, "method_not_allowed")
    assert r.headers["allow"] == "POST"


def test_unknown_path_404(gateway):
    r = requests.get(gateway.url + "/v2/nothing", headers=gateway.headers(), timeout=5)
    assert_openai_error(r, 404)


def test_te_with_content_length_400(gateway):
    raw = raw_request(gateway.port, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    assert status_of(raw) == 400
    assert b"Connection: close" in raw
    assert body_of(raw)["error"]["message"]


def test_duplicate_content_length_400(gateway):
    raw = raw_request(gateway.port, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}")
    assert status_of(raw) == 400


def test_too_many_headers_431(gateway):
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(
        b"X-H%d: v\r\n" % i for i in range(100)) + b"\r\n"
    assert status_of(raw_request(gateway.port, head)) == 431


def test_oversized_head_431(gateway):
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n"
    assert status_of(raw_request(gateway.port, head)) == 431


def test_chunked_request_body_accepted(gateway):
    body = json.dumps(chat_body()).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 10]), body[i:i + 10])
                      for i in range(0, len(body), 10)) + b"0\r\n\r\n"
    raw = raw_request(gateway.port, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                      b"Authorization: Bearer sk-test-client-0123456789\r\n"
                      b"Content-Type: application/json\r\nConnection: close\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n" + chunks)
    assert status_of(raw) == 200


def test_server_keeps_serving_after_bad_input(gateway):
    for data in (b"garbage\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"\x00\x01\x02\r\n\r\n"):
        raw_request(gateway.port, data)
    assert gateway.chat(chat_body()).status_code == 200


def test_every_response_has_request_id_and_log_line(gateway):
    """Errors answered before the pipeline (401, 404, 405) and plain GETs still carry a
    unique request id and get exactly one log line each, keyed by that id."""
    responses = [
        requests.post(gateway.url + "/v1/chat/completions", json=chat_body(), timeout=5),
        requests.get(gateway.url + "/v2/nothing", headers=gateway.headers(), timeout=5),
        requests.get(gateway.url + "/v1/chat/completions", headers=gateway.headers(), timeout=5),
        requests.get(gateway.url + "/v1/models", headers=gateway.headers(), timeout=5),
        requests.get(gateway.url + "/healthz", timeout=5),
        requests.get(gateway.admin_url + "/admin/status", timeout=5),
    ]
    ids = [r.headers.get("x-switchyard-request-id") for r in responses]
    assert all(i and i.startswith("req_") and len(i) == 30 for i in ids), ids
    assert len(set(ids)) == len(ids)
    gateway.stop()
    lines = {l["id"]: l for l in gateway.log_lines() if l.get("msg") == "request"}
    for r, i in zip(responses, ids):
        assert lines[i]["status"] == r.status_code
    assert [lines[i]["status"] for i in ids] == [401, 404, 405, 200, 200, 401]
    assert lines[ids[3]]["key"] == "tests" and lines[ids[0]]["key"] is None


def test_error_answers_name_their_code_in_the_log(gateway):
    """A chat request answered with an error says which in its log line (it said
    "error": null for 400 and 404 answers)."""
    h = gateway.headers()
    cases = [
        (requests.post(gateway.url + "/v1/chat/completions", headers=h, timeout=5,
                       json={"model": "chat", "messages": "hi"}), 400, "invalid_request"),
        (requests.post(gateway.url + "/v1/chat/completions", headers=h, timeout=5,
                       json=chat_body("no-such-model")), 404, "model_not_found"),
        (requests.post(gateway.url + "/v1/chat/completions", timeout=5, data=b"{}",
                       headers={**h, "Content-Type": "text/plain"}), 415,
         "unsupported_media_type"),
        (requests.post(gateway.url + "/v1/chat/completions", headers=h, timeout=5,
                       data=b'{"model": "chat", "messages": [}'), 400, "invalid_request"),
    ]
    gateway.stop()
    lines = {l["id"]: l for l in gateway.log_lines() if l.get("msg") == "request"}
    for r, status, code in cases:
        assert r.status_code == status, r.text
        line = lines[r.headers["x-switchyard-request-id"]]
        assert line["status"] == status and line["error"] == code, line
