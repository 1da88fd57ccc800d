"""Per-key limits: requests per minute, tokens per minute and USD budgets answer 429
with Retry-After and an OpenAI-shaped error; other keys are unaffected; a daily budget
survives a restart (rebuilt from the store)."""
import hashlib

import requests

from conftest import CLIENT_KEY, Gateway, chat_body, gateway_config

LIMITED = "sk-test-limited-0123456789"


def config(fake_url, limits, data_dir=None):
    cfg = gateway_config(fake_url)
    cfg["client_keys"].append({"name": "limited", "limits": limits,
                               "sha256": hashlib.sha256(LIMITED.encode()).hexdigest()})
    if data_dir:
        cfg["data_dir"] = data_dir
    return cfg


def chat(gw, key=LIMITED):
    return requests.post(gw.url + "/v1/chat/completions", json=chat_body("small"), timeout=10,
                         headers={"Authorization": f"Bearer {key}"})


def assert_limited(r, code):
    assert r.status_code == 429, r.text
    assert int(r.headers["retry-after"]) >= 1
    err = r.json()["error"]
    assert err["code"] == code and err["type"] == "rate_limit_error" and err["message"]


def test_requests_per_minute(tmp_path, fake):
    gw = Gateway(tmp_path, config(fake.url, {"requests_per_minute": 5}))
    try:
        assert [chat(gw).status_code for _ in range(5)] == [200] * 5
        assert_limited(chat(gw), "rate_limit_exceeded")
        assert chat(gw, CLIENT_KEY).status_code == 200  # other keys unaffected
    finally:
        assert gw.stop() == 0


def test_tokens_per_minute(tmp_path, fake):
    # each request bills ~3 prompt + 20 completion tokens: the 3rd overdraws 50
    gw = Gateway(tmp_path, config(fake.url, {"tokens_per_minute": 50}))
    try:
        codes = [chat(gw).status_code for _ in range(4)]
        assert codes[:3] == [200, 200, 200], codes
        assert_limited(chat(gw), "token_limit_exceeded")
    finally:
        assert gw.stop() == 0


def test_daily_budget_survives_restart(tmp_path, fake):
    # small: 0.15 / 0.6 USD per million: ~1.3e-5 USD a request; budget after 3 requests
    limits = {"usd_per_day": 3.5e-5}
    data = str(tmp_path / "data")
    (tmp_path / "a").mkdir()
    gw = Gateway(tmp_path / "a", config(fake.url, limits, data))
    try:
        codes = [chat(gw).status_code for _ in range(5)]
        assert codes.count(200) in (2, 3) and codes[-1] == 429, codes
        assert_limited(chat(gw), "budget_exceeded")
    finally:
        assert gw.stop() == 0
    (tmp_path / "b").mkdir()
    gw = Gateway(tmp_path / "b", config(fake.url, limits, data))
    try:
        assert_limited(chat(gw), "budget_exceeded")  # spend rebuilt from the store
        assert chat(gw, CLIENT_KEY).status_code == 200
    finally:
        assert gw.stop() == 0
