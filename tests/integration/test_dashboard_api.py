"""The admin dashboard's server side (docs/dashboard.md): its embedded files on the admin
listener with their Content-Security-Policy, and the read endpoints it draws from,
GET /admin/activity and GET /admin/decisions (docs/api.md), against the real gateway and
fake provider."""
import json
import time

import requests

from conftest import ADMIN_KEY, Gateway, chat_body, gateway_config


def admin_get(gw, path, key=ADMIN_KEY):
    return requests.get(gw.admin_url + path, headers={"Authorization": f"Bearer {key}"}, timeout=10)


def wait_for(fn, timeout=5.0):
    """Poll fn() until it returns a true value (the store thread commits in batches)."""
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() > deadline:
            return v
        time.sleep(0.05)


def test_files_are_served_with_a_strict_csp_and_no_key(gateway):
    r = requests.get(gateway.admin_url + "/", timeout=5)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script" in r.text and "<script>" not in r.text  # no inline script
    assert "style=" not in r.text and "<style" not in r.text  # no inline style
    for src in ["/ui/core.js", "/ui/main.js", "/ui/app.css", "/ui/icon.svg"]:
        assert src in r.text or src == "/ui/icon.svg"
        f = requests.get(gateway.admin_url + src, timeout=5)
        assert f.status_code == 200, src
        assert "default-src 'self'" in f.headers["Content-Security-Policy"]
    assert requests.get(gateway.admin_url + "/ui/core.js", timeout=5).headers[
        "Content-Type"].startswith("text/javascript")
    assert requests.get(gateway.admin_url + "/index.html", timeout=5).text == r.text
    nf = requests.get(gateway.admin_url + "/ui/nope.js", timeout=5)
    assert nf.status_code == 404 and nf.json()["error"]["type"] == "invalid_request_error"
    assert requests.post(gateway.admin_url + "/", timeout=5).status_code == 405
    # the client listener does not serve it
    assert requests.get(gateway.url + "/", timeout=5).status_code == 404
    # the data still needs the key
    assert admin_get(gateway, "/admin/activity", key="wrong").status_code == 401
    assert requests.get(gateway.admin_url + "/admin/decisions", timeout=5).status_code == 401


def test_activity_counts_per_route_and_model(gateway):
    for _ in range(3):
        assert gateway.chat(chat_body("small")).status_code == 200
    assert gateway.chat(chat_body("large")).status_code == 200

    def small_count():
        a = admin_get(gateway, "/admin/activity?window=600&step=10").json()
        s = [x for x in a["series"] if x["model"] == "small"]
        return a if s and s[0]["totals"]["requests"] == 3 else None

    a = wait_for(small_count)
    assert a, admin_get(gateway, "/admin/activity").text
    assert a["object"] == "activity" and a["points"] == 60 and a["step_s"] == 10
    assert a["start_ms"] <= a["now_ms"] < a["start_ms"] + 600_000
    small = next(x for x in a["series"] if x["model"] == "small")
    assert small["route"] == ""  # the client named the model
    assert len(small["requests"]) == 60 and sum(small["requests"]) == 3
    assert small["totals"]["errors"] == 0 and small["totals"]["cost_usd"] > 0
    assert small["totals"]["latency_ms"] is not None
    # latency per bucket is a mean: null where the bucket had no request
    for n, lat in zip(small["requests"], small["latency_ms"]):
        assert (lat is None) == (n == 0)
    # the day view (1-minute ring) sees the same requests
    day = admin_get(gateway, "/admin/activity?window=86400&step=1800").json()
    assert day["points"] == 48
    assert sum(next(x for x in day["series"] if x["model"] == "small")["requests"]) == 3
    # a route filter: no series of route "chat" yet
    assert admin_get(gateway, "/admin/activity?route=chat").json()["series"] == []


def test_activity_and_decisions_refuse_bad_parameters(gateway):
    for q, param in [("window=65&step=10", "step"), ("window=7200&step=10", "step"),
                     ("window=abc", "window"), ("window=0", "window"), ("step=5", "step"),
                     ("window=100000", "window"), ("route=" + "r" * 200, "route")]:
        r = admin_get(gateway, "/admin/activity?" + q)
        assert r.status_code == 400, q
        assert r.json()["error"]["param"] == param, (q, r.text)
    for q, param in [("limit=0", "limit"), ("limit=501", "limit"), ("limit=1x", "limit"),
                     ("conversation=", "conversation"),
                     ("conversation=" + "c" * 600, "conversation")]:
        r = admin_get(gateway, "/admin/decisions?" + q)
        assert r.status_code == 400, q
        assert r.json()["error"]["param"] == param, (q, r.text)
    assert requests.post(gateway.admin_url + "/admin/activity",
                         headers=gateway.admin_headers(), timeout=5).status_code == 405


def test_decisions_carry_outcome_rating_and_conversation(tmp_path, fake):
    cfg = gateway_config(fake.url)
    cfg["routes"] = {"chat": {"candidates": ["small", "large"], "policy": "thompson",
                              "objective": {"quality": 1, "cost_per_usd": 100},
                              "rules": [{"name": "frustrated", "when": "rephrases >= 2",
                                         "then": {"escalate": "strong"}, "sticky": True}]}}
    cfg["data_dir"] = str(tmp_path / "data")
    (tmp_path / "gw1").mkdir()
    gw = Gateway(tmp_path / "gw1", cfg)
    try:
        route = admin_get(gw, "/admin/routes/chat").json()
        assert route["objective"]["cost_per_usd"] == 100 and route["objective"]["quality"] == 1
        ids = []
        for text in ["How do I reset my password?", "how do i reset my password",
                     "reset my password how?"]:
            r = requests.post(gw.url + "/v1/chat/completions",
                              headers=gw.headers(**{"X-Conversation-Id": "conv-dash"}),
                              data=json.dumps(chat_body("chat", text)), timeout=10)
            assert r.status_code == 200, r.text
            ids.append(r.headers["x-switchyard-request-id"])
        other = gw.chat(chat_body("chat", "unrelated"))
        fb = requests.post(gw.url + "/v1/feedback", headers=gw.headers(),
                           data=json.dumps({"request_id": ids[2], "rating": "down"}), timeout=10)
        assert fb.status_code == 200, fb.text

        def rated():
            d = admin_get(gw, "/admin/decisions?conversation=conv-dash").json()["data"]
            return d if len(d) == 3 and d[0]["rating"] else None

        d = wait_for(rated)
        assert d, admin_get(gw, "/admin/decisions").text
        assert [x["id"] for x in d] == ids[::-1]  # newest first
        assert d[0]["rating"] == {"value": 0, "implicit": False}
        # the two rephrases left implicit signals on the turns before them
        assert d[1]["rating"] == {"value": 0, "implicit": True}
        assert d[2]["rating"] == {"value": 0, "implicit": True}
        assert d[0]["rule"] == "frustrated" and d[0]["model"] == "large"
        assert d[2]["rule"] is None
        for x in d:
            assert x["route"] == "chat" and x["policy"] == "thompson" and x["status"] == 200
            assert 0 < x["propensity"] <= 1 and x["candidates"] >= 1
            assert x["cost_usd"] > 0 and x["latency_ms"] >= 0 and x["key_name"] == "tests"
            assert x["conversation"] == d[0]["conversation"] and len(x["conversation"]) == 32
        # the 32-hex id finds the same conversation
        hexid = d[0]["conversation"]
        assert len(admin_get(gw, "/admin/decisions?conversation=" + hexid).json()["data"]) == 3
        conv = admin_get(gw, "/admin/conversations/conv-dash").json()
        assert conv["sticky_rule"] == "frustrated" and conv["id"] == hexid
        # filters and limit
        all_ = admin_get(gw, "/admin/decisions?route=chat").json()
        assert all_["kept"] == 4096 and len(all_["data"]) == 4
        assert all_["data"][0]["id"] == other.headers["x-switchyard-request-id"]
        assert len(admin_get(gw, "/admin/decisions?route=chat&limit=2").json()["data"]) == 2
        assert admin_get(gw, "/admin/decisions?route=other").json()["data"] == []
        act = admin_get(gw, "/admin/activity?route=chat&window=60&step=10").json()
        tot = {s["model"]: s["totals"] for s in act["series"]}
        assert sum(t["requests"] for t in tot.values()) == 4
        assert sum(t["rephrases"] for t in tot.values()) == 2
        assert sum(t["ratings"] for t in tot.values()) == 1
    finally:
        assert gw.stop() == 0
    # a restart rebuilds both from the store (the learner's replay feeds them)
    (tmp_path / "gw2").mkdir()
    gw2 = Gateway(tmp_path / "gw2", dict(cfg))
    try:
        d = wait_for(lambda: admin_get(gw2, "/admin/decisions?conversation=conv-dash")
                     .json()["data"])
        assert [x["id"] for x in d] == ids[::-1]
        assert d[0]["rating"] == {"value": 0, "implicit": False}
        act = admin_get(gw2, "/admin/activity?route=chat&window=3600&step=60").json()
        assert sum(s["totals"]["requests"] for s in act["series"]) == 4
    finally:
        assert gw2.stop() == 0


def test_conversation_ids_with_reserved_characters_are_found_escaped(gateway):
    """The dashboard escapes ids (encodeURIComponent): both lookups decode them."""
    cid = "user 7/session?a=1"
    r = requests.post(gateway.url + "/v1/chat/completions",
                      headers=gateway.headers(**{"X-Conversation-Id": cid}),
                      data=json.dumps(chat_body("chat")), timeout=10)
    assert r.status_code == 200, r.text
    esc = requests.utils.quote(cid, safe="")
    conv = wait_for(lambda: (lambda x: x if x.status_code == 200 else None)(
        admin_get(gateway, "/admin/conversations/" + esc)))
    assert conv and conv.json()["turns"] == 1
    d = wait_for(lambda: admin_get(gateway, "/admin/decisions?conversation=" + esc)
                 .json()["data"])
    assert d and d[0]["conversation"] == conv.json()["id"]
    assert d[0]["id"] == r.headers["x-switchyard-request-id"]
