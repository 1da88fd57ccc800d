"""POST /v1/feedback: validation, authorisation by key or feedback token, 404/410,
re-rating that corrects instead of double counting, export, and durability: a rating
acknowledged with 2xx survives kill -9."""
import json
import os
import signal
import subprocess
import time

import pytest
import requests

from conftest import BIN, CLIENT_KEY, Gateway, chat_body, gateway_config

SANITIZED = os.environ.get("SWITCHYARD_SANITIZED") == "1"


def feedback(gw, body, key=CLIENT_KEY, headers=None):
    h = {"Content-Type": "application/json"}
    if key:
        h["Authorization"] = f"Bearer {key}"
    h.update(headers or {})
    return requests.post(gw.url + "/v1/feedback", data=json.dumps(body), headers=h, timeout=10)


def export(data_dir):
    r = subprocess.run([BIN, "export", "--data-dir", str(data_dir)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return [json.loads(l, object_pairs_hook=unique_keys) for l in r.stdout.splitlines()]


def unique_keys(pairs):
    """A JSON object whose keys are all distinct (the export must not repeat one)."""
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), f"duplicate keys in {keys}"
    return dict(pairs)


def test_feedback_up_down_value_and_rerating(gateway):
    r = gateway.chat(chat_body("chat"))
    assert r.status_code == 200
    rid = r.headers["x-switchyard-request-id"]
    f = feedback(gateway, {"request_id": rid, "rating": "up", "comment": "great",
                           "tags": ["helpful", "fast"]})
    assert f.status_code == 200, f.text
    body = f.json()
    assert body["request_id"] == rid and body["value"] == 1 and body["replaced"] is False
    assert body["route"] == "chat" and body["model"] == r.headers["x-switchyard-model"]
    f = feedback(gateway, {"request_id": rid, "value": 0.25})
    assert f.status_code == 200
    assert f.json()["replaced"] is True and f.json()["previous_value"] == 1
    gateway.stop()
    rows = {row["request_id"]: row for row in export(gateway.data_dir)}
    row = rows[rid]
    assert row["route"] == "chat" and row["model"] == r.headers["x-switchyard-model"]
    assert row["propensity"] == pytest.approx(0.5)
    assert row["outcome"]["status"] == 200
    assert row["outcome"]["completion_tokens"] == r.json()["usage"]["completion_tokens"]
    # the re-rating replaced the first one: one current rating, value 0.25
    assert row["feedback"]["value"] == 0.25
    assert row["feedback"]["comment"] is None and row["feedback"]["tags"] is None


def test_feedback_token_authorises_without_key(gateway):
    r = gateway.chat(chat_body("small"))
    rid, token = r.headers["x-switchyard-request-id"], r.headers["x-switchyard-feedback-token"]
    assert len(token) == 32
    ok = feedback(gateway, {"request_id": rid, "rating": "down"}, key=None,
                  headers={"x-switchyard-feedback-token": token})
    assert ok.status_code == 200, ok.text
    ok = feedback(gateway, {"request_id": rid, "rating": "up", "feedback_token": token}, key=None)
    assert ok.status_code == 200 and ok.json()["replaced"] is True
    wrong = feedback(gateway, {"request_id": rid, "rating": "up"}, key=None,
                     headers={"x-switchyard-feedback-token": "0" * 32})
    assert wrong.status_code == 401
    none = feedback(gateway, {"request_id": rid, "rating": "up"}, key=None)
    assert none.status_code == 401
    # a token for another request does not work either
    r2 = gateway.chat(chat_body("small"))
    cross = feedback(gateway, {"request_id": r2.headers["x-switchyard-request-id"],
                               "rating": "up"}, key=None,
                     headers={"x-switchyard-feedback-token": token})
    assert cross.status_code == 401


@pytest.mark.parametrize("body,param", [
    ({"rating": "up"}, "request_id"),
    ({"request_id": "nope", "rating": "up"}, "request_id"),
    ({"request_id": "req_01M8721XS20000006X425E3EY2"}, "rating"),
    ({"request_id": "req_01M8721XS20000006X425E3EY2", "rating": "meh"}, "rating"),
    ({"request_id": "req_01M8721XS20000006X425E3EY2", "value": 1.5}, "value"),
    ({"request_id": "req_01M8721XS20000006X425E3EY2", "value": 1, "rating": "up"}, "value"),
    ({"request_id": "req_01M8721XS20000006X425E3EY2", "value": 1, "tags": "x"}, "tags"),
    ({"request_id": "req_01M8721XS20000006X425E3EY2", "value": 1, "comment": 5}, "comment"),
    ({"request_id": "req_01M8721XS20000006X425E3EY2", "value": 1, "ratng": 1}, "ratng"),
    # an unknown field is named even when neither rating nor value is there
    ({"request_id": "req_01M8721XS20000006X425E3EY2", "score": 1}, "score"),
])
def test_feedback_bad_body_400(gateway, body, param):
    r = feedback(gateway, body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == param


def test_feedback_values_echo_in_shortest_form(gateway):
    rid = gateway.chat(chat_body("chat")).headers["x-switchyard-request-id"]
    f = feedback(gateway, {"request_id": rid, "value": 0.7})
    assert f.status_code == 200 and '"value":0.7,' in f.text, f.text
    f = feedback(gateway, {"request_id": rid, "value": 0.1})
    assert '"value":0.1,' in f.text and '"previous_value":0.7,' in f.text, f.text


def test_feedback_unknown_request_404_and_other_key_404(gateway):
    r = feedback(gateway, {"request_id": "req_01M8721XS20000006X425E3EY2", "rating": "up"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "request_not_found"
    assert feedback(gateway, {"request_id": "x"}, key="wrong").status_code == 401


def test_feedback_after_window_410(tmp_path, fake):
    gw = Gateway(tmp_path, gateway_config(fake.url, feedback={"window_s": 1}))
    try:
        r = gw.chat(chat_body("small"))
        rid = r.headers["x-switchyard-request-id"]
        time.sleep(1.3)
        f = feedback(gw, {"request_id": rid, "rating": "up"})
        assert f.status_code == 410 and f.json()["error"]["code"] == "feedback_window_expired"
    finally:
        assert gw.stop() == 0


def test_acknowledged_feedback_survives_kill_9(tmp_path, fake):
    """Each iteration: start, one request, one rating, kill -9 right after the 2xx; the
    environment must reopen cleanly and hold every acknowledged rating."""
    iterations = 20 if SANITIZED else 200
    cfg = gateway_config(fake.url, workers=1, store={"batch_ms": 2})
    cfg["data_dir"] = str(tmp_path / "data")
    acked = {}
    for i in range(iterations):
        d = tmp_path / f"run{i}"  # fresh port file and log per run
        d.mkdir(exist_ok=True)
        gw = Gateway(d, dict(cfg))
        try:
            r = gw.chat(chat_body("small", f"iteration {i}"))
            assert r.status_code == 200
            rid = r.headers["x-switchyard-request-id"]
            value = (i % 5) / 4
            f = feedback(gw, {"request_id": rid, "value": value})
            assert f.status_code == 200, f.text
            acked[rid] = value
        finally:  # kill -9 right after the acknowledgement (or on any failure)
            gw.proc.p.send_signal(signal.SIGKILL)
            gw.proc.p.wait()
            gw.proc.log.close()
    rows = {row["request_id"]: row for row in export(cfg["data_dir"])}
    lost = [rid for rid, v in acked.items()
            if rid not in rows or not rows[rid]["feedback"] or rows[rid]["feedback"]["value"] != v]
    assert not lost, f"{len(lost)} of {iterations} acknowledged ratings lost"
    # and the environment still opens for writing
    (tmp_path / "final").mkdir()
    gw = Gateway(tmp_path / "final", dict(cfg))
    assert gw.chat(chat_body("small")).status_code == 200
    assert gw.stop() == 0


def test_feedback_by_the_id_the_sdk_shows(gateway):
    """The answer's body id is the request id (SDKs show the body's id), so a rating by it
    works; the body's model is the gateway's model name, as in the header."""
    r = gateway.chat(chat_body("chat"))
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == r.headers["x-switchyard-request-id"]
    assert body["model"] == r.headers["x-switchyard-model"]
    f = feedback(gateway, {"request_id": body["id"], "rating": "up"})
    assert f.status_code == 200, f.text
    s = requests.post(gateway.url + "/v1/chat/completions", headers=gateway.headers(),
                      json=chat_body("chat", stream=True), stream=True, timeout=10)
    chunks = [json.loads(l[6:]) for l in s.iter_lines(decode_unicode=True)
              if l.startswith("data: {")]
    assert chunks and all(c["id"] == s.headers["x-switchyard-request-id"] for c in chunks)
    assert all(c["model"] == s.headers["x-switchyard-model"] for c in chunks)
