"""docs/experiments.md must work exactly as written: run its shell blocks, in order, from
the repository root (they use build/switchyard and the fixed ports 8080, 8081, 9090)."""
import re

from conftest import run_doc_walkthrough


def test_experiments_walkthrough_runs_as_written(tmp_path):
    r = run_doc_walkthrough("experiments.md", (8080, 8081, 9090), tmp_path)
    out = r.stdout + r.stderr
    assert '"status":"running"' in out and '"status":"stopped"' in out, out[-6000:]
    assert re.search(r'"action":\s*"(ship_variant|keep_running)"', out), out[-6000:]
    assert '"allocation_version":2' in out, out[-6000:]
    assert re.search(r"(?i)x-switchyard-prompt: support@1", out), out[-6000:]
    assert '"prompt_version":1' in out, out[-6000:]
