"""The README's tour must work exactly as written: extract its shell block and run it
from the repository root (it uses build/switchyard and the fixed ports 8080, 8081 and
9090)."""
import os
import pathlib
import re
import socket
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is not "taken"
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def test_readme_tour_runs_as_written(tmp_path):
    if not (ROOT / "build" / "switchyard").exists():
        pytest.skip("build/switchyard not built (the tour uses that path)")
    if not (port_free(8080) and port_free(8081) and port_free(9090)):
        pytest.skip("ports 8080/8081/9090 are taken on this machine")
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## A 5-minute tour.*?```sh\n(.*?)```", readme, re.S).group(1)
    script = tmp_path / "tour.sh"
    # the tour's background jobs are waited for after its own `kill`
    script.write_text("set -euo pipefail\nset -m\n" + block + "wait\necho TOUR-OK\n")
    r = subprocess.run(["bash", str(script)], cwd=ROOT, capture_output=True, text=True,
                       timeout=60, env=dict(os.environ))
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "TOUR-OK" in r.stdout, out
    assert re.search(r"(?i)x-switchyard-model: (nano|mini|medium|large)", out), out
    assert "data: [DONE]" in out, out
    assert '"msg":"stopped"' in out, out
    assert '"object":"feedback"' in out, out  # the rating was acknowledged
    # the embeddings call: two 4-dimensional vectors from the model "embed"
    assert '{"model":"embed","n":2,"dims":4,"usage":{"prompt_tokens":' in out, out
    # the Messages API call: an Anthropic-shaped answer
    assert '{"type":"message","stop_reason":"end_turn","blocks":["text"]}' in out, out
    assert "My card is [CARD_1]" in out, out  # the guardrail redacted it upstream
    # the repeated question: a miss, then a hit that cost nothing
    assert re.search(r"(?i)x-switchyard-cache: miss.*x-switchyard-cache: hit", out, re.S), out
    assert re.search(r"(?i)x-switchyard-cache: hit\s+x-switchyard-cost-usd: 0\.0+\s", out) or \
        re.search(r"(?i)x-switchyard-cost-usd: 0\.0+\s+x-switchyard-cache-saved", out), out
    assert re.search(r'^switchyard_requests_total\{', out, re.M), out  # /metrics answered
    assert re.search(r'"model":"(nano|mini|medium|large)","requests":\d+,"quality":', out), out
