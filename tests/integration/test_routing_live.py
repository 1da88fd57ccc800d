"""Contextual routing through the live gateway (issue 14, "Live gateway").

Synthetic users replay a prompt mix (examples/demo-mix.jsonl: chat, code, math and
multiple-choice quiz prompts) through `serve`. The fake provider's qualities depend on
the prompt (quality_rules by format and by tag), so each kind has its own best model.
A linear Thompson sampling route, which sees only the request (its code / math /
multiple-choice cues, length, words), must end up sending each kind mostly to that
model. Then: with a time half-life, what the store replays at start counts by the age of
each event (its own timestamp), so history read right after it was written still routes,
and the same history read many half-lives later has faded to the prior."""
import json
import subprocess
import time

import kinds_mix
from conftest import BIN, CLIENT_KEY, gateway_config
from kinds_mix import BEST, MIX, fake_provider, kinds_config, start

WINDOW = 100  # the last requests of each kind that the assertions read


def live_config(fake_url, half_life=None):
    return kinds_config(fake_url, **({"half_life": {"seconds": half_life}} if half_life else {}))


def loadgen(gw, fake, n, summary, seed, feedback_rate=1.0, window=WINDOW):
    return kinds_mix.loadgen(gw, fake, MIX, n, summary, seed, feedback_rate, window)


def best_shares(summary):
    """Each kind's share of its last --window requests served by its best model."""
    return {kind: summary["kinds"][kind]["models"].get(BEST[kind], {}).get("recent_share", 0.0)
            for kind in BEST}


def test_each_kind_of_prompt_ends_on_its_own_model(tmp_path):
    fake = fake_provider(tmp_path)
    gw = start(tmp_path, "gw", live_config(fake.url))
    try:
        s = loadgen(gw, fake, 1600, tmp_path / "learn.json", 5)
    finally:
        assert gw.stop() == 0
        assert fake.proc.stop() == 0
    shares = best_shares(s)
    print("best model's share of the last", WINDOW, "requests per kind:", shares)
    assert s["requests"] == 1600
    for kind, share in shares.items():
        k = s["kinds"][kind]
        assert k["requests"] >= 2 * WINDOW, s  # a window of its own, not the first requests
        # the users' ratings followed the prompt-dependent qualities
        best = k["models"][BEST[kind]]
        assert best["mean_quality"] == 0.95, k
        assert all(m["mean_quality"] in (None, 0.15) for name, m in k["models"].items()
                   if name != BEST[kind]), k
        assert share >= 0.8, (kind, shares, s)
        # and it was learned: the kind's first requests were spread over the models
        assert best["early_share"] < share, (kind, k)


def test_users_rate_by_the_mix_outcomes_then_the_scenario(tmp_path):
    """A mix line's outcomes rate the answers of the models they name (by upstream or
    gateway name); a model a line does not name is rated with the scenario's quality for
    that prompt (here a tag rule). Qualities of 0 and 1 make every rating certain."""
    scenario = {"defaults": {"latency_ms": 0, "content": {"mode": "lorem", "tokens": 4}},
                "models": {"fake-a": {"quality": 0.5},
                           "fake-b": {"quality": 0.5,
                                      "quality_rules": [{"match": {"tag": "y"}, "quality": 1}]}}}
    mix = tmp_path / "mix.jsonl"
    mix.write_text(
        json.dumps({"prompt": "first kind", "kind": "x",
                    "outcomes": {"fake-a": {"quality": 1, "cost_usd": 0.1}, "b": 0}}) + "\n\n" +
        json.dumps({"prompt": "second kind", "task": "y", "outcomes": {"a": {"quality": 0},
                                                                       "c": None}}) + "\n")
    fake = fake_provider(tmp_path, scenario)
    cfg = gateway_config(fake.url)
    cfg["models"] = {n: {"provider": "fake", "upstream_name": f"fake-{n}",
                         "price": {"input": 1, "output": 1}} for n in ("a", "b")}
    cfg["routes"] = {"live": {"candidates": ["a", "b"], "policy": "uniform"}}
    gw = start(tmp_path, "gw", cfg)
    try:
        r = subprocess.run([BIN, "loadgen", "--url", gw.url, "--key", CLIENT_KEY, "--route",
                            "live", "--fake", fake.url, "--mix", str(mix), "-n", "200", "-c", "2",
                            "--seed", "1", "--report-every", "0", "--summary",
                            str(tmp_path / "s.json")], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr + r.stdout
        assert "x " in r.stdout and "y " in r.stdout, r.stdout  # one progress line per kind
        s = json.loads((tmp_path / "s.json").read_text())
    finally:
        assert gw.stop() == 0
        assert fake.proc.stop() == 0
    want = {("x", "a"): 1, ("x", "b"): 0, ("y", "a"): 0, ("y", "b"): 1}
    assert sum(s["kinds"][k]["requests"] for k in "xy") == 200, s
    for (kind, model), q in want.items():
        m = s["kinds"][kind]["models"][model]
        assert m["requests"] > 10 and m["rated"] == m["requests"], s
        assert m["ups"] == q * m["rated"] and m["mean_quality"] == q, (kind, model, s)
        assert abs(m["share"] - 0.5) < 0.25, s  # uniform policy: both models serve both kinds


def test_replayed_history_decays_by_the_events_own_age(tmp_path):
    """A route with a 3 s half-life learns the mix, then restarts twice on the same store
    (its users no longer rate, so nothing new is learned): at once, the replayed history
    (a few seconds old) still routes each kind to its model; 24 s (8 half-lives) later,
    the same history weighs under 1/256 and the route is back near its prior (a learner
    that stamped replayed events with the wall clock would route as sharply as at once).
    The probes are short (240 requests, each kind's last 50 read) so that they take well
    under a half-life, also under ASan."""
    half_life = 3
    fake = fake_provider(tmp_path)
    cfg = live_config(fake.url, half_life)
    cfg["data_dir"] = str(tmp_path / "data")
    try:
        gw = start(tmp_path, "learn", dict(cfg))
        try:
            s = loadgen(gw, fake, 1600, tmp_path / "learn.json", 7)
        finally:
            assert gw.stop() == 0
        learned = best_shares(s)
        print("while learning:", learned)
        assert min(learned.values()) >= 0.7, s

        gw = start(tmp_path, "at-once", dict(cfg))
        try:
            fresh = best_shares(loadgen(gw, fake, 240, tmp_path / "fresh.json", 8, 0, 50))
        finally:
            assert gw.stop() == 0
        assert "learner: replayed 1600 stored requests" in gw.proc.output()

        time.sleep(8 * half_life)
        gw = start(tmp_path, "later", dict(cfg))
        try:
            old = best_shares(loadgen(gw, fake, 240, tmp_path / "old.json", 8, 0, 50))
        finally:
            assert gw.stop() == 0
        assert "learner: replayed 1840 stored requests" in gw.proc.output()
    finally:
        assert fake.proc.stop() == 0
    mean_fresh = sum(fresh.values()) / len(fresh)
    mean_old = sum(old.values()) / len(old)
    print(f"best share after a restart at once: {fresh} (mean {mean_fresh:.2f}); "
          f"{8 * half_life} s later: {old} (mean {mean_old:.2f})")
    assert mean_fresh >= 0.7, fresh  # the replayed history counts ...
    assert mean_old <= 0.5, old  # ... by its own age: 8 half-lives on, it has faded
    assert mean_old <= mean_fresh - 0.25, (fresh, old)
