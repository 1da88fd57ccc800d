"""`make demo` runs end to end: scripts/demo.sh with the binary under test and a shorter
learning phase must exit 0 and end on the best-utility arm."""
import os
import pathlib
import subprocess

from conftest import BIN

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_demo_runs_end_to_end():
    env = dict(os.environ, DEMO_REQUESTS="800")
    r = subprocess.run(["bash", str(ROOT / "scripts" / "demo.sh"), BIN], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-6000:]
    assert "the arm with the best utility" in out, out[-3000:]
    assert "gateway exited with 0" in out
    assert '"object":"feedback"' in out
