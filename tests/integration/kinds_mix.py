"""The four-kind prompt mix shared by the routing tests (test_routing_live.py,
test_warm_start.py): examples/demo-mix.jsonl, a fake provider whose models are each
good at one kind, a gateway route over them, and loadgen driving it."""
import json
import subprocess

from conftest import BIN, CLIENT_KEY, ROOT, FakeProvider, Gateway, gateway_config

MIX = ROOT / "examples" / "demo-mix.jsonl"

# Each model is good (0.95) at one kind and poor (0.15) at the rest. Three are judged by
# the prompt's format (the router's own detectors), chat by the line's tag.
SCENARIO = {
    "seed": 3,
    "defaults": {"latency_ms": 0, "ttft_ms": 0, "tokens_per_second": 0,
                 "content": {"mode": "lorem", "tokens": 12}, "quality": 0.15},
    "models": {
        "fake-coder": {"quality_rules": [{"match": {"format": "code"}, "quality": 0.95}]},
        "fake-mathematician": {"quality_rules": [{"match": {"format": "math"}, "quality": 0.95}]},
        "fake-quizzer": {"quality_rules": [{"match": {"format": "choice"}, "quality": 0.95}]},
        "fake-chatter": {"quality_rules": [{"match": {"tag": "chat"}, "quality": 0.95}]},
    },
}
BEST = {"code": "coder", "math": "mathematician", "quiz": "quizzer", "chat": "chatter"}


def kinds_config(fake_url, **route_options):
    """A gateway over the four models (gateway name X, upstream fake-X) with the route
    "live": linear Thompson sampling on quality, plus route_options."""
    cfg = gateway_config(fake_url)
    cfg["models"] = {name: {"provider": "fake", "upstream_name": f"fake-{name}",
                            "price": {"input": 1, "output": 1}} for name in BEST.values()}
    route = {"candidates": sorted(BEST.values()), "policy": "linear_thompson",
             "objective": {"quality": 1}}
    route.update(route_options)
    cfg["routes"] = {"live": route}
    cfg["log"] = {"level": "info", "requests": False}
    return cfg


def fake_provider(tmp_path, scenario=SCENARIO):
    """The fake provider (by default the four-kind scenario) in tmp_path/fake."""
    d = tmp_path / "fake"
    d.mkdir()
    return FakeProvider(d, scenario)


def start(tmp_path, name, cfg):
    """A gateway in its own directory tmp_path/name."""
    d = tmp_path / name
    d.mkdir()
    return Gateway(d, cfg)


def loadgen(gw, fake, mix, n, summary, seed, feedback_rate, window):
    """n requests of route "live" from the mix file (4 users); loadgen's summary."""
    r = subprocess.run([BIN, "loadgen", "--url", gw.url, "--key", CLIENT_KEY, "--route", "live",
                        "--fake", fake.url, "--mix", str(mix), "-n", str(n), "-c", "4",
                        "--seed", str(seed), "--window", str(window), "--report-every", "0",
                        "--feedback-rate", str(feedback_rate), "--summary", str(summary)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr + r.stdout
    return json.loads(summary.read_text())
