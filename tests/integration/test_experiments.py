"""Experiments through the real gateway (issue 6), with fake-provider and synthetic users.

- Lifecycle: draft → running → stopped through the admin API, persisted, allocation
  changes versioned with history, bad definitions and transitions answered 400/409.
- Assignment: sticky across a restart; mutually exclusive layers; every decision records
  experiment, variant and allocation version.
- Statistics end to end: 40 A/A experiments come out clean at α = 0.05 in ≥ 90% of runs;
  an A/B with a real quality gap is detected and shipped; a cost guardrail stops it; a
  45/55 split injected into a 50/50 design raises the SRM warning.

Synthetic users rate an answer thumbs-up with probability equal to the served model's
hidden quality (fake-provider), drawn from a generator seeded by (seed, user), so every
run of this file gives the same counts."""
import json
import random
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from conftest import ADMIN_KEY, BIN, CLIENT_KEY, Gateway, gateway_config

QUALITY = {"small": 0.6, "large": 0.9}


def admin(gw, method, path, body=None):
    return requests.request(method, gw.admin_url + path, timeout=30,
                            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                            data=None if body is None else json.dumps(body))


def experiment(eid, route="chat", variants=None, **extra):
    d = {"id": eid, "route": route, "unit": "user",
         "variants": variants or [{"name": "a"}, {"name": "b"}]}
    d.update(extra)
    return d


def create_and_start(gw, d):
    r = admin(gw, "POST", "/admin/experiments", d)
    assert r.status_code == 201, r.text
    r = admin(gw, "POST", f"/admin/experiments/{d['id']}/start")
    assert r.status_code == 200, r.text
    return r.json()


def send(gw, session, route, user, rate_seed=None):
    """One request as `user`; if rate_seed is given, rate it like a synthetic user."""
    r = session.post(gw.url + "/v1/chat/completions", timeout=30,
                     headers={"Authorization": f"Bearer {CLIENT_KEY}", "X-Switchyard-User": user},
                     json={"model": route, "messages": [{"role": "user", "content": "hi " + user}]})
    assert r.status_code == 200, r.text
    if rate_seed is not None:
        q = QUALITY[r.headers["x-switchyard-model"]]
        up = random.Random(f"{rate_seed}-{user}").random() < q
        f = session.post(gw.url + "/v1/feedback", timeout=30,
                         headers={"x-switchyard-feedback-token": r.headers["x-switchyard-feedback-token"]},
                         json={"request_id": r.headers["x-switchyard-request-id"],
                               "rating": "up" if up else "down"})
        assert f.status_code == 200, f.text
    return r.headers


def drive(gw, jobs, workers=8):
    """Run send() for every (route, user, seed) job on a few threads."""
    sessions = [requests.Session() for _ in range(workers)]

    def run(i_job):
        i, (route, user, seed) = i_job
        return send(gw, sessions[i % workers], route, user, seed)

    with ThreadPoolExecutor(workers) as ex:
        return list(ex.map(run, enumerate(jobs)))


def results(gw, eid, wait_for_requests=None):
    """The results, once the store has committed every request (and rating) sent."""
    deadline = time.monotonic() + 20
    while True:
        r = admin(gw, "GET", f"/admin/experiments/{eid}/results")
        assert r.status_code == 200, r.text
        res = r.json()
        got = sum(v["requests"] or 0 for v in res["variants"])
        if wait_for_requests is None or got >= wait_for_requests or time.monotonic() > deadline:
            return res
        time.sleep(0.1)


def config(fake_url, routes=("chat",), policy="fixed"):
    cfg = gateway_config(fake_url)
    cfg["routes"] = {name: {"candidates": ["small", "large"], "policy": policy,
                            "params": {"fixed": "small"}} for name in routes}
    return cfg


def test_lifecycle_allocation_and_errors(tmp_path, fake):
    gw = Gateway(tmp_path, config(fake.url))
    try:
        d = experiment("exp1", traffic=0.5, variants=[{"name": "ctl", "weight": 50},
                                                      {"name": "big", "weight": 50, "model": "large"}])
        r = admin(gw, "POST", "/admin/experiments", d)
        assert r.status_code == 201, r.text
        doc = r.json()
        assert doc["status"] == "draft" and doc["allocation_version"] == 1
        assert admin(gw, "POST", "/admin/experiments", d).status_code == 409
        assert admin(gw, "POST", "/admin/experiments/exp1/stop").status_code == 409
        # a draft does not enrol anyone
        h = drive(gw, [("chat", f"u{i}", None) for i in range(20)])
        assert all("x-switchyard-experiment" not in x for x in h)
        r = admin(gw, "POST", "/admin/experiments/exp1/start")
        assert r.status_code == 200 and r.json()["status"] == "running"
        assert r.json()["layer_range"] == [0, 5000]
        h = drive(gw, [("chat", f"u{i}", None) for i in range(200)])
        enrolled = [x for x in h if "x-switchyard-experiment" in x]
        assert 60 < len(enrolled) < 140  # traffic 0.5
        for x in enrolled:
            variant = x["x-switchyard-experiment"].split("=")[1]
            assert x["x-switchyard-model"] == ("large" if variant == "big" else "small")
            assert x["x-switchyard-route"] == f"chat~exp1.{variant}"
        # a variant's route is not addressable or listed
        r = gw.chat({"model": "chat~exp1.big", "messages": [{"role": "user", "content": "x"}]})
        assert r.status_code == 404
        models = requests.get(gw.url + "/v1/models", headers=gw.headers(), timeout=5).json()
        assert [m["id"] for m in models["data"] if "~" in m["id"]] == []
        # a new allocation is versioned, recorded and applied at once
        r = admin(gw, "PUT", "/admin/experiments/exp1/allocation",
                  {"weights": {"ctl": 10, "big": 90}})
        assert r.status_code == 200, r.text
        assert r.json()["allocation_version"] == 2
        hist = r.json()["allocation_history"]
        assert [a["version"] for a in hist] == [1, 2]
        assert hist[1]["weights"] == {"ctl": 10, "big": 90}
        h = drive(gw, [("chat", f"v{i}", None) for i in range(200)])
        enrolled = [x["x-switchyard-experiment"] for x in h if "x-switchyard-experiment" in x]
        assert sum(e.endswith("=big") for e in enrolled) > 0.75 * len(enrolled)
        for body in [{"weights": {"nope": 1}}, {"weights": [1, 2]}, {"traffic": "all"}, {}]:
            r = admin(gw, "PUT", "/admin/experiments/exp1/allocation", body)
            assert r.status_code == 400, (body, r.text)
        assert admin(gw, "GET", "/admin/experiments/exp1").json()["allocation_version"] == 2
        # errors name the field
        for bad, param in [
            (experiment("x", variants=[{"name": "a"}]), "variants"),
            (experiment("x", unit="device"), "unit"),
            (experiment("x", traffic=1.5), "traffic"),
            (experiment("bad id"), "id"),
            (experiment("x", variants=[{"name": "a"}, {"name": "a"}]), "variants[1].name"),
            (experiment("x", variants=[{"name": "a"}, {"name": "b", "parameters": {"api_base": "http://x"}}]),
             "variants[1].parameters.api_base"),
            (experiment("x", variants=[{"name": "a"}, {"name": "b", "model": "nope"}]), "definition"),
            (experiment("x", route="nope"), "definition"),
            (dict(experiment("x"), status="running"), "status"),
            (experiment("x", guardrails={"error_rate_max_increase": 0}),
             "guardrails.error_rate_max_increase"),
        ]:
            r = admin(gw, "POST", "/admin/experiments", bad)
            assert r.status_code == 400, (bad, r.text)
            assert r.json()["error"]["param"] == param, (bad, r.json())
        r = admin(gw, "POST", "/admin/experiments/exp1/stop")
        assert r.status_code == 200 and r.json()["status"] == "stopped"
        h = drive(gw, [("chat", f"w{i}", None) for i in range(20)])
        assert all("x-switchyard-experiment" not in x for x in h)
        assert admin(gw, "POST", "/admin/experiments/exp1/start").status_code == 409
        assert admin(gw, "GET", "/admin/experiments/nope").status_code == 404
        assert requests.get(gw.admin_url + "/admin/experiments", timeout=5).status_code == 401
    finally:
        assert gw.stop() == 0
    # the decisions record experiment, variant and allocation version
    out = subprocess.run([BIN, "export", "--data-dir", gw.data_dir], capture_output=True,
                         text=True, check=True).stdout
    recs = [json.loads(l)["experiments"] for l in out.splitlines()]
    tagged = [e[0] for e in recs if e]
    assert {t["allocation_version"] for t in tagged} == {1, 2}
    assert {t["variant"] for t in tagged} == {"ctl", "big"}
    assert all(t["id"] == "exp1" for t in tagged)


def test_sticky_across_restart_and_exclusive_layers(tmp_path, fake):
    cfg = config(fake.url)
    gw = Gateway(tmp_path, cfg)
    users = [f"user-{i}" for i in range(300)]
    try:
        create_and_start(gw, experiment("left", layer="L", traffic=0.5))
        create_and_start(gw, experiment("right", layer="L", traffic=0.5))
        r = admin(gw, "POST", "/admin/experiments", experiment("third", layer="L", traffic=0.2))
        assert r.status_code == 201
        r = admin(gw, "POST", "/admin/experiments/third/start")
        assert r.status_code == 409 and r.json()["error"]["param"] == "traffic"
        before = {u: h.get("x-switchyard-experiment")
                  for u, h in zip(users, drive(gw, [("chat", u, None) for u in users]))}
        assert all(v is not None and "," not in v for v in before.values())  # exactly one
        sides = {v.split("=")[0] for v in before.values()}
        assert sides == {"left", "right"}
    finally:
        assert gw.stop() == 0
    again = tmp_path / "restarted"
    again.mkdir()
    gw = Gateway(again, cfg)
    try:
        after = {u: h.get("x-switchyard-experiment")
                 for u, h in zip(users, drive(gw, [("chat", u, None) for u in users]))}
        assert after == before
        doc = admin(gw, "GET", "/admin/experiments/left").json()
        assert doc["status"] == "running"
        a = admin(gw, "GET", "/admin/experiments/left/assignment?unit=user-7").json()
        assert a["enrolled"] == (before["user-7"].startswith("left="))
    finally:
        assert gw.stop() == 0


def test_aa_experiments_come_out_clean(tmp_path, fake):
    """40 A/A experiments (8 orthogonal layers on each of 5 identical routes): at most 4
    may show a significant difference at α = 0.05 (fixed-horizon test), and none may be
    shipped or flagged for SRM."""
    routes = [f"r{i}" for i in range(5)]
    gw = Gateway(tmp_path, config(fake.url, routes))
    try:
        ids = []
        for r_i, route in enumerate(routes):
            for k in range(8):
                eid = f"aa-{r_i}-{k}"
                create_and_start(gw, experiment(eid, route=route, min_samples=50))
                ids.append(eid)
        jobs = [(routes[u % 5], f"user-{u}", 7) for u in range(3000)]
        drive(gw, jobs)
        significant = sequential = 0
        for eid in ids:
            res = results(gw, eid, wait_for_requests=600)
            assert sum(v["requests"] for v in res["variants"]) == 600, res
            cmp = res["comparisons"][0]
            significant += cmp["p_value"] < 0.05
            sequential += cmp["sequential"]["always_valid_p"] < 0.05
            assert res["srm"]["warning"] is False, res["srm"]
            assert res["recommendation"]["action"] == "keep_running", res["recommendation"]
        print(f"A/A: {significant} of 40 experiments significant at alpha = 0.05, "
              f"{sequential} on the always-valid p")
        assert sequential <= 2
        assert significant <= 4, f"{significant} of 40 A/A experiments were significant"
    finally:
        assert gw.stop() == 0


def test_ab_quality_gap_is_detected_and_guardrail_stops(tmp_path, fake):
    gw = Gateway(tmp_path, config(fake.url, ["chat", "guarded"]))
    try:
        v = [{"name": "small", "model": "small"}, {"name": "large", "model": "large"}]
        create_and_start(gw, experiment("ab", variants=v, min_samples=50))
        create_and_start(gw, experiment("ab-guarded", route="guarded", variants=v, min_samples=50,
                                        guardrails={"cost_per_request_max_increase": 0.5}))
        drive(gw, [("chat", f"user-{u}", 3) for u in range(400)] +
              [("guarded", f"user-{u}", 3) for u in range(400)])
        res = results(gw, "ab", wait_for_requests=400)
        cmp = res["comparisons"][0]
        assert cmp["variant"] == "large" and cmp["lift"]["absolute"] > 0.15
        assert cmp["p_value"] < 1e-6 and cmp["sequential"]["always_valid_p"] < 0.01
        assert cmp["bayesian"]["p_beat_control"] > 0.99
        assert res["recommendation"] == {"variant": "large", "action": "ship_variant",
                                         "reason": res["recommendation"]["reason"]}
        cost = [v["cost_per_request_usd"]["value"] for v in res["variants"]]
        assert cost[1] > 5 * cost[0]
        g = results(gw, "ab-guarded", wait_for_requests=400)
        guard = g["comparisons"][0]["guardrails"]["cost"]
        assert guard["status"] == "breached" and guard["lo"] > 0.5, guard
        assert g["recommendation"]["action"] == "stop_guardrail"
        assert g["recommendation"]["guardrail"] == "cost" and g["recommendation"]["variant"] == "large"
    finally:
        assert gw.stop() == 0


def test_srm_warning_for_injected_imbalance(tmp_path, fake):
    gw = Gateway(tmp_path, config(fake.url))
    try:
        create_and_start(gw, experiment("srm"))
        users, kept_a, kept_b = [], 0, 0
        for i in range(4000):
            u = f"user-{i}"
            a = admin(gw, "GET", f"/admin/experiments/srm/assignment?unit={u}").json()
            if a["variant"] == "b" and kept_b < 1100:
                kept_b += 1
                users.append(u)
            elif a["variant"] == "a" and kept_a < 900:  # drop A's traffic: 45/55
                kept_a += 1
                users.append(u)
            if kept_a == 900 and kept_b == 1100:
                break
        drive(gw, [("chat", u, None) for u in users])
        res = results(gw, "srm", wait_for_requests=2000)
        assert [v["units"] for v in res["variants"]] == [900, 1100]
        assert res["srm"]["warning"] is True and res["srm"]["p_value"] < 0.001
        assert res["recommendation"]["action"] == "investigate_srm"
    finally:
        assert gw.stop() == 0


def test_experiments_from_the_config_file(tmp_path, fake):
    cfg = config(fake.url)
    cfg["experiments"] = [experiment("from-file", variants=[{"name": "a"},
                                                            {"name": "b", "parameters": {"temperature": 0.1}}])]
    gw = Gateway(tmp_path, cfg)
    try:
        doc = admin(gw, "GET", "/admin/experiments/from-file").json()
        assert doc["status"] == "running" and doc["source"] == "config"
        h = drive(gw, [("chat", f"u{i}", None) for i in range(40)])
        variants = {x["x-switchyard-experiment"] for x in h}
        assert variants == {"from-file=a", "from-file=b"}
        body = requests.get(fake.url + "/_fake/stats", timeout=5).json()["requests"]
        temps = {r["body"].get("temperature") for r in body[-40:]}
        assert temps == {None, 0.1}
        # a new allocation in the file is a new allocation version on reload
        cfg["experiments"][0]["variants"][0]["weight"] = 3
        gw.write_config(cfg)
        r = admin(gw, "POST", "/admin/reload")
        assert r.status_code == 200, r.text
        doc = admin(gw, "GET", "/admin/experiments/from-file").json()
        assert doc["allocation_version"] == 2
        # a broken experiment in the file is a reload error; the running config stays
        cfg["experiments"][0]["unit"] = "device"
        gw.write_config(cfg)
        r = admin(gw, "POST", "/admin/reload")
        assert r.status_code == 400 and "experiments[0].unit" in r.text
        # one that only fails once its routes are built changes nothing either
        cfg["experiments"][0]["unit"] = "user"
        cfg["experiments"][0]["variants"][0]["weight"] = 5
        cfg["experiments"][0]["variants"][1]["model"] = "no-such-model"
        gw.write_config(cfg)
        r = admin(gw, "POST", "/admin/reload")
        assert r.status_code == 400 and "no-such-model" in r.text, r.text
        doc = admin(gw, "GET", "/admin/experiments/from-file").json()
        assert doc["allocation_version"] == 2
        assert "model" not in doc["definition"]["variants"][1]
        h = drive(gw, [("chat", f"x{i}", None) for i in range(10)])
        assert all(x["x-switchyard-experiment"].startswith("from-file=") for x in h)
    finally:
        assert gw.stop() == 0


def test_conversation_and_request_units(tmp_path, fake):
    gw = Gateway(tmp_path, config(fake.url, ["conv", "req"]))
    try:
        create_and_start(gw, experiment("by-conv", route="conv", unit="conversation"))
        create_and_start(gw, experiment("by-req", route="req", unit="request"))
        s = requests.Session()
        for c in range(20):
            seen = set()
            for _ in range(3):  # every turn of a conversation lands in the same variant
                r = s.post(gw.url + "/v1/chat/completions", timeout=10,
                           headers={"Authorization": f"Bearer {CLIENT_KEY}",
                                    "X-Conversation-Id": f"conv-{c}"},
                           json={"model": "conv", "messages": [{"role": "user", "content": "hi"}]})
                assert r.status_code == 200, r.text
                seen.add(r.headers["x-switchyard-experiment"])
            assert len(seen) == 1
            a = admin(gw, "GET", f"/admin/experiments/by-conv/assignment?unit=conv-{c}").json()
            assert seen == {f"by-conv={a['variant']}"}
        variants = {send(gw, s, "req", "same-user")["x-switchyard-experiment"] for _ in range(30)}
        assert variants == {"by-req=a", "by-req=b"}  # each request is its own unit
    finally:
        assert gw.stop() == 0
