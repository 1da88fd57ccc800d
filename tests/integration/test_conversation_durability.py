"""Conversation state is soft state written behind (docs/escalation.md, "Where the state
lives"): after kill -9 a conversation written more than the write-behind interval
(1 s) ago is intact, thumbs-down included; a rating acknowledged just before the kill
is on disk whatever happened to the conversation state; and a clean stop writes
everything pending."""
import json
import signal
import subprocess
import time

import requests

from conftest import BIN, CLIENT_KEY, Gateway, gateway_config


def config(fake_url, data_dir):
    cfg = gateway_config(fake_url)
    cfg["routes"]["support"] = {"candidates": ["small", "large"], "policy": "fixed",
                                "params": {"fixed": "small"}}
    cfg["data_dir"] = str(data_dir)
    return cfg


def turn(gw, conv, text):
    r = requests.post(gw.url + "/v1/chat/completions", timeout=10,
                      headers={"Authorization": f"Bearer {CLIENT_KEY}", "X-Conversation-Id": conv},
                      json={"model": "support", "messages": [{"role": "user", "content": text}]})
    assert r.status_code == 200, r.text
    return r.headers["x-switchyard-request-id"]


def rate_down(gw, rid):
    f = requests.post(gw.url + "/v1/feedback", timeout=10,
                      headers={"Authorization": f"Bearer {CLIENT_KEY}"},
                      json={"request_id": rid, "rating": "down"})
    assert f.status_code == 200, f.text


def conversation(gw, conv):
    return requests.get(gw.admin_url + f"/admin/conversations/{conv}",
                        headers=gw.admin_headers(), timeout=5)


def test_conversation_state_after_kill_9_and_stop(tmp_path, fake):
    data = tmp_path / "data"
    (tmp_path / "a").mkdir()
    gw = Gateway(tmp_path / "a", config(fake.url, data))
    try:
        for text in ["first question", "second question", "third question"]:
            rid = turn(gw, "old-conv", text)
        rate_down(gw, rid)
        time.sleep(2.5)  # more than the write-behind interval
        late = turn(gw, "late-conv", "asked just before the crash")
        rate_down(gw, late)  # acknowledged: on disk, whatever the conversation state
    finally:
        gw.proc.p.send_signal(signal.SIGKILL)
        gw.proc.p.wait()
        gw.proc.log.close()

    (tmp_path / "b").mkdir()
    gw = Gateway(tmp_path / "b", config(fake.url, data))
    try:
        c = conversation(gw, "old-conv")
        assert c.status_code == 200, c.text
        st = c.json()
        assert st["turns"] == 3 and st["thumbs_down"] == 1, st
        # late-conv may or may not have been written before the kill: soft state
        assert conversation(gw, "late-conv").status_code in (200, 404)
        rid = turn(gw, "stopped-conv", "a turn, then a clean stop")
        rate_down(gw, rid)
    finally:
        assert gw.stop() == 0

    r = subprocess.run([BIN, "export", "--data-dir", str(data)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    rows = {json.loads(line)["request_id"]: json.loads(line) for line in r.stdout.splitlines()}
    assert rows[late]["feedback"]["value"] == 0  # the rating's durability is unchanged

    (tmp_path / "c").mkdir()
    gw = Gateway(tmp_path / "c", config(fake.url, data))
    try:
        st = conversation(gw, "stopped-conv").json()
        assert st["turns"] == 1 and st["thumbs_down"] == 1, st  # written at the stop
    finally:
        assert gw.stop() == 0
