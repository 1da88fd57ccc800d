"""docs/experiments.md must work exactly as written: run its shell blocks, in order, from
the repository root (they use build/switchyard and the fixed ports 8080, 8081, 9090)."""
import os
import pathlib
import re
import subprocess

import pytest

from test_readme_tour import port_free

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_experiments_walkthrough_runs_as_written(tmp_path):
    if not (ROOT / "build" / "switchyard").exists():
        pytest.skip("build/switchyard not built (the walkthrough uses that path)")
    if not all(port_free(p) for p in (8080, 8081, 9090)):
        pytest.skip("ports 8080/8081/9090 are taken on this machine")
    doc = (ROOT / "docs" / "experiments.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", doc, re.S)
    script = tmp_path / "walkthrough.sh"
    script.write_text("set -euo pipefail\nset -m\n" + "\n".join(blocks) + "wait\necho WALK-OK\n")
    r = subprocess.run(["bash", str(script)], cwd=ROOT, capture_output=True, text=True,
                       timeout=120, env=dict(os.environ))
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-6000:]
    assert "WALK-OK" in r.stdout, out[-6000:]
    assert '"status":"running"' in out and '"status":"stopped"' in out, out[-6000:]
    assert re.search(r'"action":\s*"(ship_variant|keep_running)"', out), out[-6000:]
    assert '"allocation_version":2' in out, out[-6000:]
    assert re.search(r"(?i)x-switchyard-prompt: support@1", out), out[-6000:]
    assert '"prompt_version":1' in out, out[-6000:]
