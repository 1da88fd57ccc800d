"""GET /metrics (Prometheus text, admin key) and GET /admin/routes/{name} with per-arm
statistics learned from outcomes and feedback."""
import json
import re

import requests

from conftest import CLIENT_KEY, chat_body


def rate(gw, rid, value):
    r = requests.post(gw.url + "/v1/feedback", timeout=10,
                      headers={"Authorization": f"Bearer {CLIENT_KEY}"},
                      json={"request_id": rid, "value": value})
    assert r.status_code == 200, r.text


def parse_prometheus(text):
    """{(name, frozenset(labels)): value}; also checks each family is contiguous."""
    out, seen, current = {}, set(), None
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-z_]+)(\{(.*)\})? (\S+)$', line)
        assert m, line
        name = re.sub(r"_(bucket|sum|count)$", "", m.group(1)) if "duration" in line or \
            "first_byte" in line else m.group(1)
        if name != current:
            assert name not in seen, f"family {name} is split"
            seen.add(name)
            current = name
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def test_metrics_count_requests_tokens_cost_and_feedback(gateway):
    ids = []
    for i in range(6):
        r = gateway.chat(chat_body("chat", f"q{i}"))
        assert r.status_code == 200
        ids.append((r.headers["x-switchyard-request-id"], r.headers["x-switchyard-model"],
                    r.json()["usage"]))
    gateway.chat(chat_body("small"))
    for rid, _, _ in ids[:4]:
        rate(gateway, rid, 1)
    assert requests.get(gateway.admin_url + "/metrics", timeout=5).status_code == 401
    r = requests.get(gateway.admin_url + "/metrics", headers=gateway.admin_headers(), timeout=5)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    m = parse_prometheus(r.text)
    def val(name, **labels):
        return m.get((name, frozenset(labels.items())), 0.0)
    per_model = {}
    for _, model, usage in ids:
        per_model.setdefault(model, []).append(usage)
    for model, usages in per_model.items():
        assert val("switchyard_requests_total", route="chat", model=model, status="2xx") == len(usages)
        assert val("switchyard_tokens_total", route="chat", model=model, kind="completion") == \
            sum(u["completion_tokens"] for u in usages)
        assert val("switchyard_request_duration_seconds_count", route="chat", model=model) == len(usages)
        assert val("switchyard_request_duration_seconds_bucket", route="chat", model=model,
                   le="+Inf") == len(usages)
        assert val("switchyard_cost_usd_total", route="chat", model=model) > 0
    assert val("switchyard_requests_total", route="", model="small", status="2xx") == 1
    assert sum(v for (n, _), v in m.items() if n == "switchyard_feedback_total") == 4
    assert val("switchyard_store_events_total") >= 7


def test_admin_route_shows_arm_statistics(gateway):
    seen = {}
    for i in range(10):
        r = gateway.chat(chat_body("chat", f"q{i}"))
        model = r.headers["x-switchyard-model"]
        seen[model] = seen.get(model, 0) + 1
        rate(gateway, r.headers["x-switchyard-request-id"], 1 if model == "large" else 0)
    r = requests.get(gateway.admin_url + "/admin/routes/chat", headers=gateway.admin_headers(),
                     timeout=5)
    assert r.status_code == 200, r.text
    arms = {a["model"]: a for a in r.json()["arms"]}
    assert set(arms) == {"small", "large"}
    for model, arm in arms.items():
        st = arm["stats"]
        n = seen.get(model, 0)
        assert st["requests"] == n and st["ratings"] == n
        assert st["traffic_share"] == n / 10
        q = st["quality"]
        assert q["lo"] <= q["mean"] <= q["hi"]
        # Beta(1 + sum, 1 + n - sum): all-up arms lean high, all-down arms lean low
        want = (1 + (n if model == "large" else 0)) / (2 + n)
        assert abs(q["mean"] - want) < 1e-6
        if n >= 2:
            assert st["latency_ms"]["lo"] <= st["latency_ms"]["mean"] <= st["latency_ms"]["hi"]
            assert st["cost_usd"]["mean"] > 0
