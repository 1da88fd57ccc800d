"""End to end learning: three fake models, one clearly best in utility. Synthetic users
(switchyard loadgen) rate answers by each model's hidden quality; the Thompson-sampling
route must concentrate on the best arm, and move away from it within a bounded number
of requests after its price rises (config reload)."""
import json
import os
import subprocess

from conftest import BIN, CLIENT_KEY, FakeProvider, Gateway, gateway_config

SCENARIO = {
    "seed": 11,
    "defaults": {"latency_ms": {"dist": "fixed", "value": 0},
                 "ttft_ms": {"dist": "fixed", "value": 0}, "tokens_per_second": 0,
                 "content": {"mode": "lorem", "tokens": 40}},
    "models": {"fake-cheap": {"quality": 0.7}, "fake-best": {"quality": 0.9},
               "fake-premium": {"quality": 0.92}},
}

# utility = quality − 100 × cost_usd. With ~100 prompt and 40 completion tokens:
#   cheap    0.70 − 100 × 0.000039 ≈ 0.696
#   best     0.90 − 100 × 0.000260 ≈ 0.874   ← clearly best
#   premium  0.92 − 100 × 0.003900 ≈ 0.530
PRICES = {"cheap": (0.15, 0.6), "best": (1.0, 4.0), "premium": (15.0, 60.0)}
MOVE_AWAY_WITHIN = 100  # requests after the reload (docs/policies.md)


def learning_config(fake_url, prices):
    cfg = gateway_config(fake_url)
    cfg["models"] = {name: {"provider": "fake", "upstream_name": f"fake-{name}",
                            "price": {"input": pin, "output": pout}}
                     for name, (pin, pout) in prices.items()}
    cfg["routes"] = {"learn": {"candidates": list(prices), "policy": "thompson",
                               "objective": {"quality": 1, "cost_per_usd": 100}}}
    return cfg


def loadgen(gw, fake, n, summary, seed):
    r = subprocess.run([BIN, "loadgen", "--url", gw.url, "--key", CLIENT_KEY, "--route", "learn",
                        "--fake", fake.url, "-n", str(n), "-c", "4", "--seed", str(seed),
                        "--report-every", "0", "--summary", str(summary)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr + r.stdout
    return json.loads(summary.read_text())


def test_route_learns_best_arm_then_leaves_it_after_price_rise(tmp_path):
    fake_dir = tmp_path / "fake"
    fake_dir.mkdir()
    fake = FakeProvider(fake_dir, SCENARIO)
    gw_dir = tmp_path / "gw"
    gw_dir.mkdir()
    gw = Gateway(gw_dir, learning_config(fake.url, PRICES))
    try:
        s = loadgen(gw, fake, 3000, tmp_path / "learn.json", 1)
        best = s["models"]["best"]["recent_share"]
        print("best share of the last 500 of 3000:", best)
        assert best >= 0.8, s  # share of the last 500 requests

        # the best arm becomes 100× dearer: 0.90 − 100 × 0.026 ≈ −1.7, now the worst by far.
        # (At 20× it would sit near 0.4–0.5 with these prompts: below cheap's 0.70, but
        # cheap, rarely tried while best led, has a wide quality posterior — 24 ratings,
        # 0.43–0.79 in one run — so Thompson sampling rightly still gave best 5–25% of
        # the next requests, and the ≤ 10% bound held only on lucky runs.)
        prices = dict(PRICES, best=(100.0, 400.0))
        gw.write_config(learning_config(fake.url, prices) | {"data_dir": gw.data_dir})
        r = __import__("requests").post(gw.admin_url + "/admin/reload",
                                        headers=gw.admin_headers(), timeout=10)
        assert r.status_code == 200, r.text
        shares = []
        for i in range(3):
            si = loadgen(gw, fake, MOVE_AWAY_WITHIN, tmp_path / f"after{i}.json", 2 + i)
            shares.append(si["models"].get("best", {}).get("recent_share", 0))
        print(f"best share per {MOVE_AWAY_WITHIN} requests after the reload:", shares)
        # moved away: ≤ 10% of the first 100 requests after the reload, and stays away
        assert all(share <= 0.10 for share in shares), shares
    finally:
        assert gw.stop() == 0
        assert fake.proc.stop() == 0


def test_learning_survives_a_restart(tmp_path):
    """What a route learned is rebuilt from the store when the gateway starts again."""
    fake_dir = tmp_path / "fake"
    fake_dir.mkdir()
    fake = FakeProvider(fake_dir, SCENARIO)
    cfg = learning_config(fake.url, PRICES)
    cfg["data_dir"] = str(tmp_path / "data")
    try:
        for run, (n, floor) in enumerate([(1500, None), (100, 0.8)]):
            d = tmp_path / f"gw{run}"
            d.mkdir()
            gw = Gateway(d, dict(cfg))
            try:
                s = loadgen(gw, fake, n, tmp_path / f"run{run}.json", 10 + run)
            finally:
                assert gw.stop() == 0
            if floor:
                # the first 100 requests after the restart already favour the best arm
                assert s["models"].get("best", {}).get("recent_share", 0) >= floor, s
                assert "learner: replayed 1500 stored requests" in gw.proc.output()
    finally:
        assert fake.proc.stop() == 0


def test_replayed_history_decays_by_its_own_age(tmp_path):
    """With a time half-life, what the store replays at start counts by the age of each
    event, not as fresh (issue 14: the learner used to stamp replayed events with the
    wall clock). Learn that "best" is best; wait many half-lives; restart against a
    provider where "best" has become poor: a route that forgot moves away at once, one
    that took the old history as fresh would keep sending it nearly everything."""
    fake_dir = tmp_path / "fake"
    fake_dir.mkdir()
    fake = FakeProvider(fake_dir, SCENARIO)
    cfg = learning_config(fake.url, PRICES)
    cfg["routes"]["learn"]["half_life"] = {"seconds": 1}
    cfg["data_dir"] = str(tmp_path / "data")
    d0 = tmp_path / "gw0"
    d0.mkdir()
    gw = Gateway(d0, dict(cfg))
    try:
        s = loadgen(gw, fake, 800, tmp_path / "run0.json", 21)
    finally:
        assert gw.stop() == 0
        assert fake.proc.stop() == 0
    assert s["models"]["best"]["recent_share"] >= 0.6, s
    __import__("time").sleep(12)  # ≥ 12 half-lives: the history weighs < 1/4000
    worse = json.loads(json.dumps(SCENARIO))
    worse["models"]["fake-best"]["quality"] = 0.2
    fake_dir2 = tmp_path / "fake2"
    fake_dir2.mkdir()
    fake = FakeProvider(fake_dir2, worse)
    cfg2 = learning_config(fake.url, PRICES) | {"data_dir": cfg["data_dir"]}
    cfg2["routes"]["learn"]["half_life"] = {"seconds": 1}
    d1 = tmp_path / "gw1"
    d1.mkdir()
    gw = Gateway(d1, cfg2)
    try:
        s = loadgen(gw, fake, 60, tmp_path / "run1.json", 22)
    finally:
        assert gw.stop() == 0
        assert fake.proc.stop() == 0
    assert "learner: replayed 800 stored requests" in gw.proc.output()
    share = s["models"].get("best", {}).get("recent_share", 0)
    print("best share of the first 60 requests after the restart:", share)
    assert share <= 0.5, s
