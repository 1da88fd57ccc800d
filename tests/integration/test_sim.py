"""`switchyard sim` end to end on the small committed fixtures (tests/fixtures/sim), and
on ../shared/data when it is present (skipped otherwise): the table, the CSV and the
chart files exist and their values are sane; bad input exits 1 or 2 with a message."""
import csv
import json
import math
import os
import pathlib
import shutil
import subprocess

import pytest

from conftest import BIN, ROOT

FIX = ROOT / "tests" / "fixtures" / "sim"
DATA = ROOT.parent / "shared" / "data"
ROUTE = '{"policy": "linear_thompson", "objective": {"quality": 1, "cost_per_usd": 50}}'


def sim(*args, check=True, timeout=120):
    p = subprocess.run([BIN, "sim", "--no-progress", *map(str, args)], capture_output=True,
                       text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"exit {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    return p


def read_csv(path):
    with open(path, newline="") as f:
        return {r["policy"]: r for r in csv.DictReader(f)}


def test_routerbench_fixture_table_csv_charts(tmp_path):
    out_csv, report = tmp_path / "t.csv", tmp_path / "report"
    p = sim("--routerbench", FIX / "routerbench_small.csv", "--route", ROUTE, "--seeds", 3,
            "--reference", "big-model", "--csv", out_csv, "--report", report, "--by-task")
    assert "linear_thompson (route)" in p.stdout and "oracle" in p.stdout
    assert "best fixed arm in hindsight" in p.stdout
    assert "per task" in p.stdout and "quiz" in p.stdout
    rows = read_csv(out_csv)
    assert set(rows) >= {"linear_thompson (route)", "thompson", "epsilon_greedy", "ucb1",
                         "linucb", "uniform", "oracle", "big-model", "mid-model", "small-model"}
    oracle = float(rows["oracle"]["utility"])
    for name, r in rows.items():
        assert int(r["seeds"]) == 3 and int(r["requests"]) == 120
        q, c, u = float(r["quality"]), float(r["cost_usd"]), float(r["utility"])
        assert 0 <= q <= 1 and c >= 0
        assert abs(u - (q - 50 * c)) < 1e-6  # utility = quality − 50·cost here
        assert u <= oracle + 1e-9  # nobody beats the oracle
        assert float(r["regret_oracle"]) >= -1e-9
    assert float(rows["big-model"]["pct_ref_quality"]) == pytest.approx(100)
    assert float(rows["big-model"]["pct_ref_cost"]) == pytest.approx(100)
    best = [n for n, r in rows.items() if r["best_fixed"] == "1"]
    assert len(best) == 1 and float(rows[best[0]]["regret_best_fixed"]) == pytest.approx(0)
    fixed_u = [float(r["utility"]) for r in rows.values() if r["kind"] == "fixed"]
    assert float(rows[best[0]]["utility"]) == pytest.approx(max(fixed_u))
    for f in ("regret.dat", "plane.dat", "utility.dat", "charts.gp"):
        assert (report / f).stat().st_size > 0
    if shutil.which("gnuplot"):
        for f in ("regret.svg", "cost_quality.svg", "utility.svg"):
            text = (report / f).read_text()
            assert text.lstrip().startswith("<?xml") and "<svg" in text
        assert "big-model" in (report / "cost_quality.svg").read_text()
        assert "best single model in hindsight" in (report / "cost_quality.svg").read_text()
    # the plane marks the best fixed arm, and no two labels near in cost share a height
    plane = [l.rsplit('" ', 1) for l in (report / "plane.dat").read_text().splitlines()]
    marked = [p[0].split('"')[1] for p in plane if p[1].split()[1] == "1"]
    assert marked == best, (marked, best)
    pts = [(float(p[0].split()[0]), float(p[0].split()[1]), float(p[1].split()[0]))
           for p in plane]
    qs = [q for _, q, _ in pts]
    gap = 0.03 * ((max(qs) - min(qs)) or 1)
    for i, (c1, _, y1) in enumerate(pts):
        for c2, _, y2 in pts[i + 1:]:
            if c1 > 0 and c2 > 0 and abs(math.log10(c1 / c2)) < 0.15:
                assert abs(y1 - y2) >= gap * 0.999, (pts, gap)


def test_same_seed_same_figures(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    for path in (a, b):
        sim("--jsonl", FIX / "generic.jsonl", "--route", ROUTE, "--seeds", 2, "--csv", path)
    assert a.read_text() == b.read_text()


def test_routellm_fixture():
    p = sim("--routellm", FIX / "routellm", "--seeds", 2, "--policies", "thompson")
    assert "routellm: 46 prompts, 2 models" in p.stderr
    assert "gpt-4-1106-preview" in p.stdout


def test_scenario_discounting_recovers_faster(tmp_path):
    scen = tmp_path / "s.json"
    text = (ROOT / "examples" / "sim" / "price-change.json").read_text()
    scen.write_text(text.replace('"steps": 20000', '"steps": 6000').replace('"t": 8000', '"t": 2000'))
    p = sim("--scenario", scen, "--route", ROOT / "examples" / "sim" / "price-change-route.json",
            "--also", '{"policy": "thompson", "objective": {"quality": 1, "cost_per_usd": 15}}',
            "--policies", "none", "--seeds", 4, "--report", tmp_path / "r")
    rec = {}
    for line in p.stdout.splitlines():
        if line.strip().startswith("thompson"):
            parts = line.split()
            if parts[-1] in ("steps", "never"):
                rec[" ".join(parts[:-2] if parts[-1] == "steps" else parts[:-1])] = (
                    int(parts[-2]) if parts[-1] == "steps" else 10**9)
    disc = [v for k, v in rec.items() if "half-life" in k]
    plain = [v for k, v in rec.items() if "half-life" not in k]
    assert disc and plain, p.stdout
    assert disc[0] < plain[0]


def test_logs_and_validation():
    p = sim("--log", FIX / "export.jsonl", "--log-route", "chat", "--route",
            '{"policy": "thompson", "objective": {"quality": 1, "cost_per_usd": 50}}')
    for est in ("IPS", "SNIPS", "DR", "replay"):
        assert est in p.stdout
    p = sim("--obd", FIX / "obd_small.csv", "--obd-target", "uniform")
    ips = [l for l in p.stdout.splitlines() if l.strip().startswith("IPS")][0]
    assert float(ips.split()[1]) == pytest.approx(0.08)  # target = logger: the mean click
    p = sim("--routerbench", FIX / "routerbench_small.csv", "--validate", "--seeds", 10,
            "--route", ROUTE)
    assert "coverage of 95% CI" in p.stdout and "true value" in p.stdout


def test_bad_input(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(',prompt,m1,m1|total_cost\n0,"unterminated,1,0.1\n')
    p = sim("--routerbench", bad, check=False)
    assert p.returncode == 1 and "quoted field not terminated" in p.stderr
    p = sim("--routerbench", FIX / "routerbench_small.csv", "--route", '{"policy": "nope"}',
            check=False)
    assert p.returncode == 1 and "unknown policy" in p.stderr
    p = sim("--routerbench", FIX / "routerbench_small.csv", "--seeds", "0", check=False)
    assert p.returncode == 2
    p = sim(check=False)
    assert p.returncode == 2 and "exactly one data source" in p.stderr
    scen = tmp_path / "s.json"
    scen.write_text('{"steps": 10, "arms": []}')
    p = sim("--scenario", scen, check=False)
    assert p.returncode == 1 and "$.contexts" in p.stderr
    p = sim("--jsonl", tmp_path / "missing.jsonl", check=False)
    assert p.returncode == 1 and "cannot open" in p.stderr
    p = sim("--log", FIX / "export.jsonl", check=False)
    assert p.returncode == 1 and "--log-route" in p.stderr
    p = sim("--routerbench", FIX / "routerbench_small.csv", "--policies", "thompson,nope",
            check=False)
    assert p.returncode == 2 and 'unknown policy "nope"' in p.stderr
    p = sim("--routerbench", FIX / "routerbench_small.csv", "--also", '{"candidates": ["big-model"]}',
            check=False)
    assert p.returncode == 2 and "--also routes must have the route's candidates" in p.stderr
    p = sim("--routerbench", FIX / "routerbench_small.csv", "--reference", "nobody", check=False)
    assert p.returncode == 2 and "no model" in p.stderr
    p = sim("--obd", FIX / "obd_small.csv", "--obd-target", "bogus", check=False)
    assert p.returncode == 2


def test_help():
    p = subprocess.run([BIN, "sim", "--help"], capture_output=True, text=True)
    assert p.returncode == 0 and "--routerbench" in p.stdout and "--validate" in p.stdout
    p = subprocess.run([BIN, "--help"], capture_output=True, text=True)
    assert "sim" in p.stdout


@pytest.mark.skipif(not (DATA / "routerbench").is_dir(),
                    reason="../shared/data/routerbench is not present")
def test_shared_routerbench(tmp_path):
    out_csv = tmp_path / "rb.csv"
    sim("--routerbench", DATA / "routerbench", "--route", ROUTE, "--seeds", 2, "--policies",
        "thompson", "--csv", out_csv)
    rows = read_csv(out_csv)
    gpt4 = rows["gpt-4-1106-preview"]
    assert int(gpt4["requests"]) == 3178
    assert float(gpt4["quality"]) == pytest.approx(0.8795, abs=0.001)
    assert float(rows["oracle"]["quality"]) > 0.95


@pytest.mark.skipif(not (DATA / "obp").is_dir(), reason="../shared/data/obp is not present")
def test_shared_obd():
    p = sim("--obd", DATA / "obp" / "random" / "men" / "men.csv", "--obd-target", "uniform")
    assert "10000 events, 34 arms" in p.stdout


def test_real_export_round_trip(tmp_path):
    """A gateway route logs uniform decisions with propensities and synthetic thumbs
    (loadgen); `switchyard export` writes them; `switchyard sim --log` reads the real
    format and estimates a target equal to the logger at the log's own mean reward."""
    from conftest import CLIENT_KEY, FakeProvider, Gateway
    from test_learning import PRICES, SCENARIO, learning_config

    fake_dir, gw_dir = tmp_path / "fake", tmp_path / "gw"
    fake_dir.mkdir()
    gw_dir.mkdir()
    fake = FakeProvider(fake_dir, SCENARIO)
    cfg = learning_config(fake.url, PRICES)
    cfg["routes"]["learn"]["policy"] = "uniform"
    gw = Gateway(gw_dir, cfg)
    try:
        r = subprocess.run([BIN, "loadgen", "--url", gw.url, "--key", CLIENT_KEY, "--route",
                            "learn", "--fake", fake.url, "-n", "300", "-c", "4", "--seed", "3",
                            "--report-every", "0"], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr + r.stdout
    finally:
        assert gw.stop() == 0
        assert fake.proc.stop() == 0
    log = tmp_path / "export.jsonl"
    r = subprocess.run([BIN, "export", "--data-dir", gw.data_dir, "--output", str(log)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    p = sim("--log", log, "--route", '{"policy": "uniform", "objective": {"quality": 1}}')
    assert "3 arms" in p.stdout, p.stdout
    vals = {}
    for line in p.stdout.splitlines():
        parts = line.replace("[", " ").replace("]", " ").replace(",", " ").split()
        if parts and parts[0] in ("IPS", "SNIPS", "DR"):
            vals[parts[0]] = tuple(float(x) for x in parts[1:4])
        if "own mean reward" in line:
            logged = float(line.split(":")[1].split(";")[0])
    assert set(vals) == {"IPS", "SNIPS", "DR"}
    for est, (v, lo, hi) in vals.items():
        assert lo <= logged <= hi, (est, v, lo, hi, logged)
    p = sim("--log", log, "--route", '{"policy": "thompson", "objective": {"quality": 1, "cost_per_usd": 100}}')
    assert "target: thompson" in p.stdout


# ---- regressions (issue 14) -------------------------------------------------------------

def test_candidates_subset_runs_every_policy(tmp_path):
    """A route listing a subset of the data's models simulates every policy on that subset
    (the agents' arms used to be copied past the end of the candidates' array)."""
    out = tmp_path / "s.csv"
    route = ('{"policy": "linear_thompson", "candidates": ["small-model", "big-model"], '
             '"objective": {"quality": 1, "cost_per_usd": 50}}')
    sim("--jsonl", FIX / "generic.jsonl", "--route", route, "--seeds", 2, "--csv", out)
    rows = read_csv(out)
    assert {"linear_thompson (route)", "thompson", "linucb", "epsilon_greedy", "ucb1",
            "uniform", "small-model", "big-model"} <= set(rows)
    assert "mid-model" not in rows
    # every policy only ever serves the two candidates: its cost lies between theirs
    lo, hi = float(rows["small-model"]["cost_usd"]), float(rows["big-model"]["cost_usd"])
    for name in ("linear_thompson (route)", "thompson", "uniform"):
        assert lo - 1e-12 <= float(rows[name]["cost_usd"]) <= hi + 1e-12


def test_priors_follow_the_model_not_the_candidate_position(tmp_path):
    """Priors are given per model: listing the candidates in another order than the data
    changes nothing, and a crushing prior against a model keeps it out."""
    prior = '"priors": {"big-model": {"quality": 0, "quality_strength": 100000}}'
    figures = []
    for order in (["big-model", "mid-model", "small-model"],
                  ["small-model", "mid-model", "big-model"]):
        out = tmp_path / f"{order[0]}.csv"
        route = ('{"policy": "thompson", "candidates": %s, %s, '
                 '"objective": {"quality": 1, "cost_per_usd": 50}}' %
                 (str(order).replace("'", '"'), prior))
        sim("--jsonl", FIX / "generic.jsonl", "--route", route, "--seeds", 3, "--policies",
            "none", "--csv", out)
        rows = read_csv(out)
        figures.append({k: rows["thompson (route)"][k] for k in ("quality", "cost_usd")})
        # big-model is (almost) never served: the route costs far less than mid-model
        assert float(rows["thompson (route)"]["cost_usd"]) < float(rows["mid-model"]["cost_usd"])
    assert figures[0] == figures[1]


def test_policy_figures_do_not_depend_on_the_other_policies(tmp_path):
    """Each agent's generator is seeded from the seed and its name, not its position."""
    got = []
    for i, pols in enumerate(("thompson,epsilon_greedy", "ucb1,epsilon_greedy,uniform,thompson")):
        out = tmp_path / f"p{i}.csv"
        sim("--jsonl", FIX / "generic.jsonl", "--route", ROUTE, "--seeds", 3, "--policies", pols,
            "--csv", out)
        rows = read_csv(out)
        got.append([{k: rows[n][k] for k in ("quality", "cost_usd", "utility")}
                    for n in ("thompson", "epsilon_greedy", "linear_thompson (route)")])
    assert got[0] == got[1]


def test_distribution_over_seeds_and_targets(tmp_path):
    """Per policy: p10/median/p90 over seeds, the seeds meeting a target relative to the
    reference, and a per-seed CSV whose rows agree with the summary."""
    out, per_seed = tmp_path / "t.csv", tmp_path / "s.csv"
    p = sim("--jsonl", FIX / "generic.jsonl", "--route", ROUTE, "--seeds", 5, "--policies",
            "thompson,uniform", "--reference", "big-model", "--target-quality", 0.9,
            "--target-cost", 0.5, "--csv", out, "--seed-csv", per_seed)
    assert "distribution over the 5 seeds" in p.stdout and "meet target" in p.stdout
    rows = read_csv(out)
    with open(per_seed, newline="") as f:
        seeds = list(csv.DictReader(f))
    assert len(seeds) == 5 * len(rows)
    for name, r in rows.items():
        mine = [s for s in seeds if s["policy"] == name]
        assert [int(s["seed"]) for s in mine] == [1, 2, 3, 4, 5]
        q = sorted(float(s["quality"]) for s in mine)
        assert float(r["quality_p50"]) == pytest.approx(q[2])
        assert float(r["quality_p10"]) <= float(r["quality_p50"]) <= float(r["quality_p90"])
        assert sum(q) / 5 == pytest.approx(float(r["quality"]))
        meets = [int(s["meets_target"]) for s in mine]
        for s, m in zip(mine, meets):
            ok = float(s["pct_ref_quality"]) >= 90 and float(s["pct_ref_cost"]) <= 50
            assert m == int(ok)
        assert int(r["seeds_meeting_target"]) == sum(meets)
    assert int(rows["big-model"]["seeds_meeting_target"]) == 0  # 100% of its own cost
    assert int(rows["oracle"]["seeds_meeting_target"]) == 5
    bad = sim("--jsonl", FIX / "generic.jsonl", "--target-cost", "-1", check=False)
    assert bad.returncode == 2 and "target-cost" in bad.stderr


def test_relative_objective_is_price_level_free(tmp_path):
    """With cost_per_doubling, multiplying every cost of the data by 1000 changes no
    decision and no utility (the same route block means the same trade-off at any price
    level); with cost_per_usd it does change them."""
    import json
    scaled = tmp_path / "scaled.jsonl"
    with open(FIX / "generic.jsonl") as f, open(scaled, "w") as g:
        for line in f:
            row = json.loads(line)
            for o in row["outcomes"].values():
                if o.get("cost_usd") is not None:
                    o["cost_usd"] *= 1000
            g.write(json.dumps(row) + "\n")
    def figures(data, route):
        out = tmp_path / "f.csv"
        sim("--jsonl", data, "--route", route, "--seeds", 3, "--policies", "thompson,ucb1",
            "--csv", out)
        rows = read_csv(out)
        return {n: (round(float(r["quality"]), 9), round(float(r["utility"]), 9))
                for n, r in rows.items()}
    rel = '{"policy": "linear_thompson", "objective": {"quality": 1, "cost_per_doubling": 0.1}}'
    a, b = figures(FIX / "generic.jsonl", rel), figures(scaled, rel)
    assert a.keys() == b.keys()
    for name in ("oracle", "big-model", "mid-model", "small-model"):
        assert a[name] == b[name]
    # learners: the simulator learns costs on a log(1 + µUSD) scale, scale-free up to a
    # rounding-size term, so allow a hair (they agree exactly on this fixture today)
    for name in ("linear_thompson (route)", "thompson", "ucb1"):
        assert a[name] == pytest.approx(b[name], abs=0.01)
    # the relative term does bite: the route's utility is below its quality
    assert a["linear_thompson (route)"][1] < a["linear_thompson (route)"][0]
    assert figures(FIX / "generic.jsonl", ROUTE) != figures(scaled, ROUTE)


def _two_kind_jsonl(path, n=60):
    """Code prompts that model-a answers well and model-b badly, chat prompts the other
    way round (qualities exact, equal prices): routing by kind gains 0.3 over either."""
    import json
    lines = []
    for i in range(n):
        lines.append({"prompt": "Write a python function:\n```\ndef f%d(x):\n    return x\n```" % i,
                      "task": "code",
                      "outcomes": {"model-a": {"quality": 0.9, "cost_usd": 0.001},
                                   "model-b": {"quality": 0.3, "cost_usd": 0.001}}})
        lines.append({"prompt": "What is a good name for bakery number %d?" % i, "task": "chat",
                      "outcomes": {"model-a": {"quality": 0.3, "cost_usd": 0.001},
                                   "model-b": {"quality": 0.9, "cost_usd": 0.001}}})
    path.write_text("\n".join(json.dumps(l) for l in lines) + "\n")
    return path


def test_oracles_rows(tmp_path):
    """--oracles adds the cross-fitted linear oracle and the task oracle: on data whose
    kinds the features tell apart, both route every kind to its model (0.9 a prompt, where
    either single model gets 0.6); without --oracles the rows are absent."""
    data = _two_kind_jsonl(tmp_path / "two.jsonl")
    out = tmp_path / "o.csv"
    route = '{"policy": "thompson", "objective": {"quality": 1, "cost_per_usd": 100}}'
    sim("--jsonl", data, "--route", route, "--seeds", 2, "--policies", "none", "--oracles",
        "--csv", out)
    rows = read_csv(out)
    for name in ("linear oracle (features, cross-fitted)", "task oracle (hindsight)"):
        assert rows[name]["kind"] == "oracle"
        assert float(rows[name]["quality"]) == pytest.approx(0.9)
        assert float(rows[name]["utility"]) == pytest.approx(0.9 - 100 * 0.001)
    for name in ("model-a", "model-b"):
        assert float(rows[name]["quality"]) == pytest.approx(0.6)
    sim("--jsonl", data, "--route", route, "--seeds", 1, "--policies", "none", "--csv", out)
    assert not any("oracle (" in n for n in read_csv(out))
    bad = sim("--scenario", ROOT / "examples" / "sim" / "price-change.json", "--oracles",
              check=False)
    assert bad.returncode == 2 and "full-information" in bad.stderr


def test_warm_start(tmp_path):
    """--warm feeds another dataset's outcomes of the same models to every learner before
    each seed: a contextual route warm-started on data like its traffic routes each kind to
    its model from the first request, far above its cold start on the same seeds."""
    data = _two_kind_jsonl(tmp_path / "two.jsonl")
    warm = _two_kind_jsonl(tmp_path / "warm.jsonl", n=100)
    route = '{"policy": "linear_thompson", "objective": {"quality": 1}}'
    cold, hot = tmp_path / "cold.csv", tmp_path / "hot.csv"
    sim("--jsonl", data, "--route", route, "--seeds", 3, "--policies", "none", "--csv", cold)
    p = sim("--jsonl", data, "--route", route, "--seeds", 3, "--policies", "none",
            "--warm", warm, "--csv", hot)
    assert "warm start: 200 prompts, 2 of the route's models" in p.stderr
    q_cold = float(read_csv(cold)["linear_thompson (route)"]["quality"])
    q_hot = float(read_csv(hot)["linear_thompson (route)"]["quality"])
    assert q_hot > 0.85 and q_hot > q_cold + 0.05, (q_cold, q_hot)
    # the route block's "warm_start" (the gateway's option) is the same warm start
    block = tmp_path / "hot-block.csv"
    route_warm = route[:-1] + ', "warm_start": {"path": %s}}' % json.dumps(str(warm))
    p = sim("--jsonl", data, "--route", route_warm, "--seeds", 3, "--policies", "none",
            "--csv", block)
    assert "warm start: 200 prompts, 2 of the route's models" in p.stderr
    assert read_csv(block) == read_csv(hot)
    # a warm file about other models is refused, as are a bad weight and a missing file
    other = tmp_path / "other.jsonl"
    other.write_text('{"prompt": "x", "outcomes": {"model-z": {"quality": 1, "cost_usd": 0}}}\n')
    bad = sim("--jsonl", data, "--route", route, "--warm", other, check=False)
    assert bad.returncode == 1 and "no model of the warm data" in bad.stderr
    bad = sim("--jsonl", data, "--warm", warm, "--warm-weight", "0", check=False)
    assert bad.returncode == 2 and "warm-weight" in bad.stderr
    bad = sim("--jsonl", data, "--warm", tmp_path / "missing.jsonl", check=False)
    assert bad.returncode == 1 and "--warm" in bad.stderr
