"""SIGHUP reloads the configuration without dropping traffic; SIGTERM drains in-flight
requests and exits 0."""
import json
import signal
import threading
import time

import requests

from conftest import chat_body


def stream_in_thread(gateway, model, result):
    def run():
        r = gateway.chat(chat_body(model, stream=True), stream=True, timeout=60)
        result["status"] = r.status_code
        result["text"] = r.text
    t = threading.Thread(target=run)
    t.start()
    return t


def test_sighup_reload_keeps_inflight_and_applies_new_config(gateway):
    result = {}
    t = stream_in_thread(gateway, "slow", result)
    time.sleep(0.5)
    cfg = json.loads(json.dumps(gateway.config))
    cfg["models"]["extra"] = {"provider": "fake", "upstream_name": "fake-small",
                              "price": {"input": 1, "output": 1}}
    cfg["routes"]["chat"]["candidates"] = ["large"]
    gateway.write_config(cfg)
    gateway.proc.p.send_signal(signal.SIGHUP)
    deadline = time.time() + 5
    while time.time() < deadline:
        ids = {m["id"] for m in requests.get(gateway.url + "/v1/models",
                                             headers=gateway.headers(), timeout=5).json()["data"]}
        if "extra" in ids:
            break
        time.sleep(0.05)
    assert "extra" in ids
    assert gateway.chat(chat_body("extra")).status_code == 200
    for _ in range(10):
        assert gateway.chat(chat_body("chat")).headers["x-switchyard-model"] == "large"
    t.join(30)
    assert result["status"] == 200 and "data: [DONE]" in result["text"]


def test_bad_reload_keeps_running_config(gateway):
    gateway.config_path.write_text("{ not json")
    gateway.proc.p.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    assert gateway.chat(chat_body("small")).status_code == 200
    assert "reload failed" in gateway.proc.output()


def test_admin_reload_endpoint(gateway):
    r = requests.post(gateway.admin_url + "/admin/reload", timeout=5)
    assert r.status_code == 401
    r = requests.post(gateway.admin_url + "/admin/reload", headers=gateway.admin_headers(),
                      timeout=5)
    assert r.status_code == 200 and r.json()["config_generation"] == 2
    r = requests.get(gateway.admin_url + "/admin/routes/chat", headers=gateway.admin_headers(),
                     timeout=5)
    assert [a["model"] for a in r.json()["arms"]] == ["small", "large"]


def test_sigterm_drains_inflight_then_exits_0(gateway):
    result = {}
    t = stream_in_thread(gateway, "slow", result)  # ~5 s stream
    time.sleep(0.5)
    gateway.proc.p.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    try:
        requests.get(gateway.url + "/healthz", timeout=2)
        accepted = True
    except requests.ConnectionError:
        accepted = False
    assert not accepted, "new connections must be refused while draining"
    t.join(30)
    assert result["status"] == 200 and "data: [DONE]" in result["text"]
    assert gateway.proc.p.wait(timeout=10) == 0
