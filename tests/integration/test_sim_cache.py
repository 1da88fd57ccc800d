"""`switchyard sim --cache` end to end on the small RouterBench fixture: the table and the
per-seed CSV agree, every agent is there, the arm's cost hint and feature groups can be
switched off, and a bad scenario exits 1 with its JSON path (docs/simulator.md "The cache
as an arm")."""
import csv
import json
import statistics

import pytest

from conftest import ROOT
from test_sim import sim

FIX = ROOT / "tests" / "fixtures" / "sim"
ROUTE = json.dumps({"policy": "linear_thompson", "params": {"ts_scale": 0.4, "ridge": 1},
                    "candidates": ["big-model"], "objective": {"quality": 1, "cost_per_usd": 40}})


def run_cache(tmp_path, scenario, seeds=3):
    sc = tmp_path / "scenario.json"
    sc.write_text(json.dumps(scenario))
    out = tmp_path / "seeds.csv"
    p = sim("--cache", sc, "--routerbench", FIX / "routerbench_small.csv", "--route", ROUTE,
            "--seeds", seeds, "--seed", 7, "--seed-csv", out)
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    return p.stdout, rows


def table(stdout):
    """agent -> (quality, cost, utility, cache %, wrong %) from the printed table."""
    out = {}
    for line in stdout.splitlines():
        for name in ("no cache", "cache arm") + tuple(f"threshold {t:.3f}" for t in
                                                       (0.8, 0.875, 0.95)):
            if line.startswith(name + " ") and name not in out and "−" not in line:
                v = line[len(name):].replace("±", " ").replace("%", " ").split()
                out[name] = (float(v[0]), float(v[2]), float(v[4]), float(v[6]), float(v[7]))
    return out


def test_table_and_seed_csv_agree(tmp_path):
    stdout, rows = run_cache(tmp_path, {"steps": 1500, "thresholds": [0.8, 0.875, 0.95],
                                        "near_miss": 0.2, "feedback": 0.5})
    t = table(stdout)
    assert set(t) == {"no cache", "threshold 0.800", "threshold 0.875", "threshold 0.950",
                      "cache arm"}
    assert len(rows) == 5 * 3 and {r["seed"] for r in rows} == {"7", "8", "9"}
    for name, (q, c, u, cache, wrong) in t.items():
        mine = [r for r in rows if r["agent"] == name]
        assert len(mine) == 3
        assert statistics.mean(float(r["quality"]) for r in mine) == pytest_approx(q, 1e-4)
        assert statistics.mean(float(r["cost_usd"]) for r in mine) == pytest_approx(c, 1e-6)
        assert statistics.mean(float(r["utility"]) for r in mine) == pytest_approx(u, 1e-4)
        assert 100 * statistics.mean(float(r["served_cache"]) for r in mine) == \
            pytest_approx(cache, 0.06)
        assert 0 <= wrong <= cache
    assert t["no cache"][3] == 0 and t["no cache"][4] == 0
    # a lower threshold serves more from the cache, and more of it wrong
    assert t["threshold 0.800"][3] > t["threshold 0.950"][3]
    assert t["threshold 0.800"][4] >= t["threshold 0.950"][4]
    assert "vs the thresholds at equal quality" in stdout


def test_switches_change_only_the_cache_arm(tmp_path):
    base = {"steps": 1500, "thresholds": [0.875], "near_miss": 0.2}
    _, on = run_cache(tmp_path, base, seeds=2)
    _, off = run_cache(tmp_path, {**base, "cost_hint": False, "arm_features": ["similarity"]},
                       seeds=2)
    for a, b in zip(on, off):
        assert a["agent"] == b["agent"] and a["seed"] == b["seed"]
        if a["agent"] != "cache arm":  # the other agents do not see the switches
            assert a == b


def test_bad_scenario_exits_1_with_its_path(tmp_path):
    for scenario, msg in (({"cost_hints": True}, "$.cost_hints: unknown field"),
                          ({"arm_features": ["similarity", "age"]}, "$.arm_features[1]"),
                          ({"feedback": 2}, "$.feedback")):
        sc = tmp_path / "bad.json"
        sc.write_text(json.dumps(scenario))
        p = sim("--cache", sc, "--routerbench", FIX / "routerbench_small.csv", "--route", ROUTE,
                check=False)
        assert p.returncode == 1 and msg in p.stderr, p.stderr


def pytest_approx(v, tol):
    return pytest.approx(v, abs=tol)
