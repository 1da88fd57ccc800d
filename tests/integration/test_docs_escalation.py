"""docs/escalation.md's walkthrough must work exactly as written: run its shell blocks,
in order, from the repository root (build/switchyard, fixed ports 8080, 8081, 9090), and
check that it shows what the doc says it shows."""
import json
import re

from conftest import run_doc_walkthrough


def test_escalation_walkthrough_runs_as_written(tmp_path):
    r = run_doc_walkthrough("escalation.md", (8080, 8081, 9090), tmp_path)
    turns = re.findall(r"^(c\d): (\S+) <- (.*)$", r.stdout, re.M)
    c1 = [m for c, m, _ in turns if c == "c1"]
    c2 = [m for c, m, _ in turns if c == "c2"]
    assert len(c1) == 4 and len(c2) == 3, r.stdout
    # the turn after the thumbs-down and the next (sticky) go to the strong tier
    assert c1[1] == "large" and c1[2] == "large", r.stdout
    states = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
    assert states[0]["thumbs_down"] == 1 and states[0]["tier"] is None, states
    assert states[0]["good_turns"] >= 2, states
    # two rephrases in a row escalate the third turn
    assert c2[2] == "large" and states[1]["rephrases"] == 2, (r.stdout, states)
    assert states[1]["tier"] == "strong", states
