"""A scripted conversation: the user rephrases twice, then gives a thumbs-down. The route
escalates to the strong tier on the configured turn, stays there while the rule is
sticky, de-escalates after the configured number of good turns, and the rephrase's
implicit negative reward is in the previous decision's record."""
import json
import re
import subprocess

import requests

from conftest import BIN, CLIENT_KEY, Gateway, gateway_config

CONV = "support-chat-42"


def config(fake_url):
    cfg = gateway_config(fake_url)
    cfg["models"]["small"]["tier"] = "fast"
    cfg["models"]["large"]["tier"] = "strong"
    cfg["routes"]["support"] = {
        "candidates": ["small", "large"], "policy": "fixed", "params": {"fixed": "small"},
        "rules": [
            {"name": "frustrated", "when": "rephrases >= 2", "then": {"escalate": "strong"},
             "sticky": True},
            {"name": "unhappy", "when": "thumbs_down >= 1 && good_turns == 0",
             "then": {"escalate": "strong"}, "sticky": True},
        ],
        "deescalate_after_good_turns": 2,
    }
    cfg["conversations"] = {"implicit_weight": 0.25}
    return cfg


def turn(gw, text):
    r = requests.post(gw.url + "/v1/chat/completions", timeout=10,
                      headers={"Authorization": f"Bearer {CLIENT_KEY}", "X-Conversation-Id": CONV},
                      json={"model": "support", "messages": [{"role": "user", "content": text}]})
    assert r.status_code == 200, r.text
    return r.headers["x-switchyard-model"], r.headers["x-switchyard-request-id"]


def test_rephrases_and_thumbs_down_escalate_then_calm_down(tmp_path, fake):
    gw = Gateway(tmp_path, config(fake.url))
    try:
        served, ids = [], []
        script = ["How do I reset my password?",
                  "how can i reset the password",      # rephrase 1
                  "HOW DO I RESET MY PASSWORD???",     # rephrase 2: escalate (sticky)
                  # after the thumbs-down on the escalated answer: not a good turn, and
                  # "unhappy" (thumbs_down >= 1 && good_turns == 0) holds: still strong
                  "ok. where do I change my email address?",
                  "and can I export my invoices as PDF?",     # good turn 1: still strong
                  "and how do I add a second user?",          # good turn 2: de-escalate
                  "thanks, one more: how do I delete my account?"]
        for i, text in enumerate(script):
            m, rid = turn(gw, text)
            served.append(m)
            ids.append(rid)
            if i == 2:  # the user is unhappy with the escalated answer too
                f = requests.post(gw.url + "/v1/feedback", timeout=10,
                                  headers={"Authorization": f"Bearer {CLIENT_KEY}"},
                                  json={"request_id": rid, "rating": "down"})
                assert f.status_code == 200
        assert served == ["small", "small", "large", "large", "large", "small", "small"], served

        c = requests.get(gw.admin_url + f"/admin/conversations/{CONV}",
                         headers=gw.admin_headers(), timeout=5)
        assert c.status_code == 200, c.text
        st = c.json()
        assert st["turns"] == 7 and st["rephrases_total"] == 2 and st["thumbs_down"] == 1
        assert st["tier"] is None and st["last_request_id"] == ids[-1]
        route = requests.get(gw.admin_url + "/admin/routes/support", headers=gw.admin_headers(),
                             timeout=5).json()
        assert route["rules"][0] == {"name": "frustrated", "when": "rephrases >= 2",
                                     "then": {"escalate": "strong"}, "sticky": True}
        assert route["deescalate_after_good_turns"] == 2
        m = requests.get(gw.admin_url + "/metrics", headers=gw.admin_headers(), timeout=5).text
        assert re.search(r'switchyard_escalations_total\{route="support",rule="frustrated"\} 1',
                         m), m
        assert re.search(r'switchyard_escalations_total\{route="support",rule="unhappy"\} 1', m), m
    finally:
        assert gw.stop() == 0
    rows = {json.loads(l)["request_id"]: json.loads(l) for l in subprocess.run(
        [BIN, "export", "--data-dir", gw.data_dir], capture_output=True, text=True,
        timeout=30).stdout.splitlines()}
    # each rephrase left an implicit negative on the decision that answered the turn before
    for prev in (ids[0], ids[1]):
        fb = rows[prev]["feedback"]
        assert fb and fb["implicit"] is True and fb["value"] == 0 and fb["weight"] == 0.25, fb
    assert rows[ids[2]]["rule"] == "frustrated"
    assert rows[ids[3]]["rule"] == "unhappy"  # fired on the turn after the thumbs-down
    assert rows[ids[4]]["rule"] == "unhappy"  # the sticky escalation, carried over
    assert rows[ids[5]]["rule"] is None
    assert rows[ids[2]]["feedback"]["implicit"] is False  # the explicit thumbs-down
    assert rows[ids[0]]["conversation"] == rows[ids[6]]["conversation"]


def test_unknown_rule_variable_is_a_load_error(tmp_path):
    cfg = config("http://127.0.0.1:1/v1")
    cfg["routes"]["support"]["rules"][0]["when"] = "mood == 'angry'"
    p = tmp_path / "c.json"
    p.write_text(json.dumps(cfg))
    r = subprocess.run([BIN, "check-config", str(p)], capture_output=True, text=True)
    assert r.returncode != 0
    assert "$.routes.support.rules[0].when: at 1: unknown variable 'mood'" in r.stderr + r.stdout
