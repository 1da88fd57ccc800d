"""`switchyard loadgen cache-calibrate` (docs/cache-evaluation.md) against fake-provider's
lexical stand-in embedder ("embedding": "lexical", docs/fake-provider.md), directly and
through the gateway's /v1/embeddings: precision and recall per threshold on the
labelled pairs of tests/fixtures/cache_pairs, the shipped default threshold held out,
and the command's errors."""
import json
import math
import subprocess

import pytest
import requests

from conftest import (BIN, CANARY_PROVIDER_KEY, CLIENT_KEY, ROOT, FakeProvider, Gateway,
                      gateway_config)

PAIRS = ROOT / "tests" / "fixtures" / "cache_pairs"
DEFAULT_THRESHOLD = 0.875  # the lexical embedder's shipped default (docs/cache-evaluation.md)
FAKE_KEY = CANARY_PROVIDER_KEY  # what the gateway of conftest sends upstream
SCENARIO = {"api_key": FAKE_KEY,
            "models": {"lex": {"embedding": "lexical"}, "rnd": {}}}


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    fp = FakeProvider(tmp_path_factory.mktemp("calib"), SCENARIO)
    yield fp
    assert fp.proc.stop() == 0


def calibrate(*args, timeout=60):
    return subprocess.run([BIN, "loadgen", "cache-calibrate", *args], capture_output=True,
                          text=True, timeout=timeout)


def run_json(tmp_path, fake, pairs, model="lex", extra=()):
    out = tmp_path / "cal.json"
    r = calibrate("--pairs", str(pairs), "--url", fake.url + "/v1", "--key", FAKE_KEY,
                  "--model", model, "--json", str(out), *extra)
    assert r.returncode == 0, r.stderr
    return json.loads(out.read_text()), r.stdout


def embed(fake, texts, **extra):
    r = requests.post(fake.url + "/v1/embeddings", timeout=10,
                      headers={"Authorization": f"Bearer {FAKE_KEY}"},
                      json={"model": "lex", "input": texts, **extra})
    assert r.status_code == 200, r.text
    return [d["embedding"] for d in r.json()["data"]]


def cos(x, y):
    return sum(a * b for a, b in zip(x, y))


def test_lexical_embedder_has_meaning(fake):
    v = embed(fake, ["What is the capital of France?", "What's the capital of France, please?",
                     "How do I bake sourdough bread?", "Which foods are not safe for dogs?",
                     "Which foods are safe for dogs?", "?!", "what is it", "What is it?"])
    assert len(v[0]) == 256  # the lexical default dimension
    assert all(abs(math.sqrt(cos(x, x)) - 1) < 1e-6 for x in v[:5])
    assert cos(v[0], v[1]) > 0.95  # politeness and stop words do not count
    assert cos(v[0], v[2]) < 0.3  # unrelated questions
    assert cos(v[3], v[4]) < DEFAULT_THRESHOLD  # a negation is a different question
    assert all(c == 0 for c in v[5])  # no word: the zero vector
    assert cos(v[6], v[7]) > 0.999  # only stop words: they are kept rather than dropped
    again = embed(fake, ["What is the capital of France?"], dimensions=64)[0]
    assert len(again) == 64 and embed(fake, ["What is the capital of France?"],
                                      dimensions=64)[0] == again  # deterministic


def test_default_threshold_holds_out(tmp_path, fake):
    """The shipped threshold was chosen on tune.jsonl and heldout_v1.jsonl; on the held-out
    set written afterwards its precision must stay at least 0.95 (issue 22)."""
    res, out = run_json(tmp_path, fake, PAIRS / "heldout.jsonl",
                        extra=("--threshold", str(DEFAULT_THRESHOLD)))
    at = res["at"]
    assert res["pairs"] == 121 and res["same_pairs"] == 57
    assert at["threshold"] == DEFAULT_THRESHOLD
    assert at["precision"] >= 0.95
    assert 0.3 <= at["recall"] < 1  # a lexical stand-in misses synonyms
    assert at["tp"] + at["fn"] == 57 and at["fp"] + at["tn"] == 64
    assert "lowest threshold with precision >= 0.950" in out
    # the curve: recall never rises with the threshold, and the lowest threshold reaching
    # the target is reported with its own figures
    recalls = [p["recall"] for p in res["curve"]]
    assert recalls == sorted(recalls, reverse=True)
    assert res["lowest"]["precision"] >= 0.95
    # every near-miss kind is refused at the default threshold but for a few pairs
    wrong = sum(k["predicted_same"] for k in res["by_kind"].values() if k["label"] == "different")
    assert wrong == at["fp"]


def test_every_pairs_file_is_well_formed(tmp_path, fake):
    total = 0
    for name in ("tune.jsonl", "heldout_v1.jsonl", "heldout.jsonl"):
        res, _ = run_json(tmp_path, fake, PAIRS / name)
        total += res["pairs"]
        assert 0.4 < res["same_pairs"] / res["pairs"] < 0.6
    assert total >= 200


def test_random_vectors_cannot_calibrate(tmp_path, fake):
    """The default embedder has no meaning: no threshold separates anything."""
    res, out = run_json(tmp_path, fake, PAIRS / "heldout.jsonl", model="rnd",
                        extra=("--dimensions", "64", "--threshold", "0.875"))
    assert res["dimensions"] == 64
    assert res["at"]["tp"] == 0


def test_calibrates_through_the_gateway(tmp_path, fake):
    cfg = gateway_config(fake.url)
    cfg["models"]["embed"] = {"provider": "fake", "upstream_name": "lex", "kind": "embedding",
                              "price": {"input": 0.02, "output": 0}}
    gw = Gateway(tmp_path, cfg)
    try:
        out = tmp_path / "gw.json"
        r = calibrate("--pairs", str(PAIRS / "heldout.jsonl"), "--url", gw.url + "/v1", "--key",
                      CLIENT_KEY, "--model", "embed", "--batch", "50", "--json", str(out),
                      "--threshold", str(DEFAULT_THRESHOLD))
        assert r.returncode == 0, r.stderr
        direct, _ = run_json(tmp_path, fake, PAIRS / "heldout.jsonl",
                             extra=("--threshold", str(DEFAULT_THRESHOLD)))
        assert json.loads(out.read_text())["at"] == direct["at"]  # same vectors either way
        assert CLIENT_KEY not in r.stdout + r.stderr
    finally:
        assert gw.proc.stop() == 0


def test_errors(tmp_path, fake):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"a": "x", "b": "y", "label": "same"}\n\n{"a": "x", "label": "same"}\n')
    r = calibrate("--pairs", str(bad), "--url", fake.url + "/v1", "--key", "k", "--model", "lex")
    assert r.returncode == 1 and f"{bad}:3:" in r.stderr and '"b"' in r.stderr
    bad.write_text('{"a": "x", "b": "y", "label": "maybe"}\n')
    r = calibrate("--pairs", str(bad), "--url", fake.url + "/v1", "--key", "k", "--model", "lex")
    assert r.returncode == 1 and "label" in r.stderr
    # a wrong key: the endpoint's 401 is reported, the key is not
    r = calibrate("--pairs", str(PAIRS / "tune.jsonl"), "--url", fake.url + "/v1", "--key",
                  "sk-wrong-key-123", "--model", "lex")
    assert r.returncode == 1 and "401" in r.stderr and "sk-wrong-key-123" not in r.stderr
    r = calibrate("--pairs", str(PAIRS / "tune.jsonl"), "--url", fake.url + "/v1", "--key",
                  FAKE_KEY, "--model", "no-such-model")
    assert r.returncode == 1 and "404" in r.stderr
    for args in ([], ["--pairs", "x"], ["--pairs", "x", "--url", "u", "--key", "k", "--model",
                                        "m", "--min-precision", "2"]):
        assert calibrate(*args).returncode == 2
    assert calibrate("--help").returncode == 0


def test_scenario_rejects_an_unknown_embedder(tmp_path):
    scen = tmp_path / "s.json"
    scen.write_text(json.dumps({"models": {"e": {"embedding": "semantic"}}}))
    r = subprocess.run([BIN, "fake-provider", "--scenario", str(scen), "--listen", "127.0.0.1:0"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode != 0 and "models.e.embedding" in r.stderr
