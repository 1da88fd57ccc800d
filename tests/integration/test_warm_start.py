"""A route's warm start (issue 14; docs/policies.md#warm-start): the route option
"warm_start" feeds a full-information dataset to the learner before the first live event,
as `switchyard sim --warm` does. Prompts of four kinds (examples/demo-mix.jsonl), each
best served by another model of the fake provider; the warm file holds half of each
kind's prompts with every model's outcome, the traffic is the other half (prompts the
warm data never saw). Users do not rate (feedback rate 0), so everything the route knows
comes from the warm file: with it each kind goes to its model from the first requests,
without it the route stays at its prior (uniform over four models)."""
import json
import os
import subprocess
import time

import requests

from conftest import BIN
from kinds_mix import BEST, MIX, fake_provider, kinds_config, loadgen, start

# How the warm file names each model: by gateway name or by upstream name (both match).
# 24 warm prompts (6 a kind) for a 24-dimensional context: each weighs as W ratings.
WEIGHT = 5
WARM_NAME = {"coder": "coder", "chatter": "chatter",
             "mathematician": "fake-mathematician", "quizzer": "fake-quizzer"}


def split_mix(tmp_path):
    """The warm file (first half of each kind's prompts, every model's outcome) and the
    traffic (the other half)."""
    lines = [json.loads(line) for line in MIX.read_text().splitlines() if line.strip()]
    by_kind = {}
    for row in lines:
        by_kind.setdefault(row["kind"], []).append(row)
    warm, traffic = [], []
    for kind, rows in by_kind.items():
        half = len(rows) // 2
        for row in rows[:half]:
            outcomes = {WARM_NAME[m]: {"quality": 0.95 if BEST[kind] == m else 0.15,
                                       "cost_usd": 0.001} for m in BEST.values()}
            warm.append({"prompt": row["prompt"], "task": kind, "outcomes": outcomes})
        traffic.extend(rows[half:])
    warm_path, mix_path = tmp_path / "warm.jsonl", tmp_path / "traffic.jsonl"
    warm_path.write_text("".join(json.dumps(r) + "\n" for r in warm))
    mix_path.write_text("".join(json.dumps(r) + "\n" for r in traffic))
    return warm_path, mix_path


def route_config(fake_url, warm=None, weight=None):
    if not warm:
        return kinds_config(fake_url)
    warm_start = {"path": str(warm)}
    if weight is not None:
        warm_start["weight"] = weight
    return kinds_config(fake_url, warm_start=warm_start)


def first_requests(gw, fake, mix, summary, n=200, seed=11):
    """Each kind's share of its requests served by its best model, over the first n
    requests (about 50 per kind), users not rating."""
    s = loadgen(gw, fake, mix, n, summary, seed, 0, n)
    assert s["requests"] == n, s
    return {kind: s["kinds"][kind]["models"].get(BEST[kind], {}).get("share", 0.0)
            for kind in BEST}, s


def test_warm_start_routes_each_kind_from_the_first_requests(tmp_path):
    warm, mix = split_mix(tmp_path)
    fake = fake_provider(tmp_path)
    try:
        gw = start(tmp_path, "warm", route_config(fake.url, warm, WEIGHT))
        try:
            warm_shares, s = first_requests(gw, fake, mix, tmp_path / "warm.json")
        finally:
            assert gw.stop() == 0
        log = gw.proc.output()
        assert "learner: route 'live' warm-started with 96 ratings" in log, log[-2000:]
        gw = start(tmp_path, "cold", route_config(fake.url))
        try:
            cold_shares, _ = first_requests(gw, fake, mix, tmp_path / "cold.json")
        finally:
            assert gw.stop() == 0
    finally:
        assert fake.proc.stop() == 0
    print("best model's share of the first requests per kind: warm", warm_shares,
          "cold", cold_shares)
    for kind in BEST:
        assert s["kinds"][kind]["requests"] >= 30, s
        assert warm_shares[kind] >= 0.8, (kind, warm_shares, s)
        assert cold_shares[kind] <= 0.5, (kind, cold_shares)  # uniform would be 0.25


def test_reload_adds_a_warm_start_to_a_running_route(tmp_path):
    """A route that starts cold and gains a warm_start on reload is fed at once (the
    reload's time); a rebuild that leaves it alone does not feed it again."""
    warm, mix = split_mix(tmp_path)
    fake = fake_provider(tmp_path)
    try:
        gw = start(tmp_path, "gw", route_config(fake.url))
        try:
            cfg = route_config(fake.url, warm, WEIGHT)
            cfg["data_dir"] = gw.data_dir
            gw.write_config(cfg)
            r = requests.post(gw.admin_url + "/admin/reload", headers=gw.admin_headers(),
                              timeout=30)
            assert r.status_code == 200, r.text
            shares, _ = first_requests(gw, fake, mix, tmp_path / "s.json")
            r = requests.post(gw.admin_url + "/admin/reload", headers=gw.admin_headers(),
                              timeout=30)
            assert r.status_code == 200, r.text
        finally:
            assert gw.stop() == 0
    finally:
        assert fake.proc.stop() == 0
    assert min(shares.values()) >= 0.8, shares
    assert gw.proc.output().count("warm-started") == 1, gw.proc.output()[-3000:]


def test_warm_data_is_older_than_the_replayed_history(tmp_path):
    """At start the warm data is fed on the clock of the route's first replayed event:
    under a time half-life it is the oldest evidence, aged like the history. Fresh (a new
    store) it routes at once; after a restart on a store whose history is 8 half-lives
    old, it has faded with that history, as if the process had run all along."""
    half_life = 2
    warm, mix = split_mix(tmp_path)
    fake = fake_provider(tmp_path)
    cfg = route_config(fake.url, warm, WEIGHT)
    cfg["routes"]["live"]["half_life"] = {"seconds": half_life}
    cfg["data_dir"] = str(tmp_path / "data")
    try:
        gw = start(tmp_path, "first", dict(cfg))
        try:
            fresh, _ = first_requests(gw, fake, mix, tmp_path / "fresh.json", n=120)
        finally:
            assert gw.stop() == 0
        time.sleep(8 * half_life)
        gw = start(tmp_path, "later", dict(cfg))
        try:
            old, _ = first_requests(gw, fake, mix, tmp_path / "old.json", n=120)
        finally:
            assert gw.stop() == 0
        assert "learner: replayed 120 stored requests" in gw.proc.output()
    finally:
        assert fake.proc.stop() == 0
    mean_fresh, mean_old = (sum(d.values()) / len(d) for d in (fresh, old))
    print(f"warm start fresh: {fresh} (mean {mean_fresh:.2f}); on a store "
          f"{8 * half_life} s old: {old} (mean {mean_old:.2f})")
    assert mean_fresh >= 0.8, fresh
    assert mean_old <= 0.5, old


def run(*args):
    env = dict(os.environ, SY_TEST_PROVIDER_KEY="unused")
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=60, env=env)


def test_a_bad_warm_start_is_a_config_error(tmp_path):
    """A missing file, a file none of whose models is a candidate, or a bad weight: check-
    config reports it with its path, and serve refuses to start (never a crash)."""
    fake_url = "http://127.0.0.1:9"  # never called
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"prompt": "hi", "outcomes": {
        "gpt-9": {"quality": 1, "cost_usd": 0.1}}}) + "\n")
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_text("{not json\n")
    cases = [(route_config(fake_url, tmp_path / "missing.jsonl"), "missing.jsonl"),
             (route_config(fake_url, other), "no model of the warm data"),
             (route_config(fake_url, garbage), "garbage.jsonl"),
             (route_config(fake_url, other, 0), "$.routes.live.warm_start.weight")]
    for i, (cfg, want) in enumerate(cases):
        cfg["data_dir"] = str(tmp_path / f"data{i}")
        path = tmp_path / f"bad{i}.json"
        path.write_text(json.dumps(cfg))
        r = run("check-config", str(path))
        assert r.returncode == 1, (want, r.stdout, r.stderr)
        assert want in r.stderr, (want, r.stderr)
        if "weight" not in want:
            assert "$.routes.live.warm_start.path: " in r.stderr, r.stderr
        r = run("serve", "--config", str(path))
        assert r.returncode == 1, (want, r.stdout, r.stderr)
        assert want in r.stderr, (want, r.stderr)
    warm, _ = split_mix(tmp_path)
    path = tmp_path / "good.json"
    path.write_text(json.dumps(route_config(fake_url, warm, 0.5)))
    r = run("check-config", str(path))
    assert r.returncode == 0, r.stderr
