"""Cross-origin requests to the client listener (listen.cors_origins): a page on an
allowed origin gets its preflight answered and can read the answer and the headers it
needs (request id, feedback token); other origins get no CORS header (403 to a
preflight); without the setting nothing changes for same-origin clients."""
import json
import subprocess

import requests

from conftest import BIN, Gateway, chat_body, gateway_config

APP = "https://app.example.com"


def cors_gateway(tmp_path, fake, origins):
    cfg = gateway_config(fake.url)
    cfg["listen"]["cors_origins"] = origins
    return Gateway(tmp_path, cfg)


def test_preflight_and_answers_for_an_allowed_origin(tmp_path, fake):
    gw = cors_gateway(tmp_path, fake, [APP])
    try:
        pre = requests.options(gw.url + "/v1/feedback", timeout=5, headers={
            "Origin": APP, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-switchyard-feedback-token"})
        assert pre.status_code == 204, pre.text
        assert pre.headers["Access-Control-Allow-Origin"] == APP
        assert "POST" in pre.headers["Access-Control-Allow-Methods"]
        assert "x-switchyard-feedback-token" in pre.headers["Access-Control-Allow-Headers"].lower()
        r = requests.post(gw.url + "/v1/chat/completions", json=chat_body(), timeout=10,
                          headers={**gw.headers(), "Origin": APP})
        assert r.status_code == 200
        assert r.headers["Access-Control-Allow-Origin"] == APP and r.headers["Vary"] == "Origin"
        exposed = r.headers["Access-Control-Expose-Headers"]
        assert "x-switchyard-request-id" in exposed and "x-switchyard-feedback-token" in exposed
        # the thumbs-up a widget sends with only the token, from the page's origin
        f = requests.post(gw.url + "/v1/feedback", timeout=10, headers={
            "Origin": APP, "Content-Type": "application/json",
            "x-switchyard-feedback-token": r.headers["x-switchyard-feedback-token"]},
            data=json.dumps({"request_id": r.headers["x-switchyard-request-id"], "rating": "up"}))
        assert f.status_code == 200 and f.headers["Access-Control-Allow-Origin"] == APP, f.text
        # an error is readable by the page too
        e = requests.post(gw.url + "/v1/chat/completions", json=chat_body(), timeout=5,
                          headers={"Origin": APP, "Content-Type": "application/json"})
        assert e.status_code == 401 and e.headers["Access-Control-Allow-Origin"] == APP
    finally:
        assert gw.stop() == 0


def test_other_origins_get_nothing(tmp_path, fake):
    gw = cors_gateway(tmp_path, fake, [APP])
    try:
        pre = requests.options(gw.url + "/v1/chat/completions", timeout=5,
                               headers={"Origin": "https://evil.example",
                                        "Access-Control-Request-Method": "POST"})
        assert pre.status_code == 403 and "Access-Control-Allow-Origin" not in pre.headers
        assert pre.json()["error"]["code"] == "origin_not_allowed"
        r = requests.post(gw.url + "/v1/chat/completions", json=chat_body(), timeout=10,
                          headers={**gw.headers(), "Origin": "https://evil.example"})
        assert r.status_code == 200 and "Access-Control-Allow-Origin" not in r.headers
    finally:
        assert gw.stop() == 0


def test_without_the_setting_no_cors_header(gateway):
    r = gateway.chat(chat_body())
    assert r.status_code == 200 and "Access-Control-Allow-Origin" not in r.headers
    pre = requests.options(gateway.url + "/v1/feedback", timeout=5, headers={"Origin": APP})
    assert pre.status_code == 403


def test_a_bad_origin_is_a_config_error(tmp_path):
    cfg = gateway_config("http://127.0.0.1:1")
    cfg["listen"]["cors_origins"] = ["https://app.example.com/path"]
    p = tmp_path / "c.json"
    p.write_text(json.dumps(cfg))
    r = subprocess.run([BIN, "check-config", str(p)], capture_output=True, text=True)
    assert r.returncode == 1 and "$.listen.cors_origins[0]" in r.stderr, r.stderr
