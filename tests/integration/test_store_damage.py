"""A damaged store (issue 15, item 4; docs/reliability.md "A damaged store"): random
truncations, byte flips and zeroed pages of a data.mdb with history. No process may die
by a signal (`serve`, `export`, `store verify`); every damaged store is refused with a
clear message or opened with a logged, counted loss; a store that opens without a word
has lost nothing. Also: `store backup` while serving, then the documented restore, keeps
every acknowledged rating.

SY_DAMAGE_CASES (default 120, 40 under ASan) sets the number of corruptions and
SY_DAMAGE_SEED the seed: the soak of docs/reliability.md is
SY_DAMAGE_CASES=300 SY_DAMAGE_SEED=1 pytest tests/integration/test_store_damage.py."""
import json
import os
import random
import shutil
import subprocess
import threading

import pytest
import requests

from conftest import (BIN, CLIENT_KEY, SANITIZED, Gateway, chat_body,
                      gateway_config, sanitizer_env)

H = {"Authorization": f"Bearer {CLIENT_KEY}"}
CASES = int(os.environ.get("SY_DAMAGE_CASES", "40" if SANITIZED else "120"))
PAGE = 4096


def make_history(gw, n):
    """n requests through the route, each rated; returns {request_id: value} acked."""
    acked = {}
    s = requests.Session()
    rng = random.Random(3)
    for _ in range(n):
        r = s.post(gw.url + "/v1/chat/completions", headers=H, json=chat_body("chat", "hi"),
                   timeout=10)
        assert r.status_code == 200
        rid = r.headers["x-switchyard-request-id"]
        value = rng.choice([0, 1, 0.25])
        f = s.post(gw.url + "/v1/feedback", headers=H, json={"request_id": rid, "value": value},
                   timeout=10)
        assert f.status_code == 200
        acked[rid] = value
    return acked


def run(args, timeout=60):
    p = subprocess.run([BIN] + args, capture_output=True, text=True, errors="replace",
                       timeout=timeout,
                       env=sanitizer_env(dict(os.environ)))
    assert p.returncode >= 0, f"{args[0]} died by signal {-p.returncode}:\n{p.stderr[-2000:]}"
    return p


def export(data_dir):
    p = run(["export", "--data-dir", str(data_dir)])
    rows = [json.loads(line) for line in p.stdout.splitlines()] if p.returncode == 0 else None
    return p, rows


@pytest.fixture(scope="module")
def history(tmp_path_factory, request):
    """A store with 250 rated requests (data.mdb only, the server stopped)."""
    from conftest import DEFAULT_SCENARIO, FakeProvider
    tmp = tmp_path_factory.mktemp("history")
    fp = FakeProvider(tmp, DEFAULT_SCENARIO)
    try:
        gw = Gateway(tmp, gateway_config(fp.url))
        acked = make_history(gw, 250)
        assert gw.stop() == 0
    finally:
        fp.proc.stop()
    pristine = tmp / "pristine.mdb"
    shutil.copy(os.path.join(gw.data_dir, "data.mdb"), pristine)
    return {"file": pristine, "acked": acked, "cfg": gateway_config("http://127.0.0.1:9")}


def corrupt(src, dst_dir, kind, rng):
    data = bytearray(src.read_bytes())
    pages = len(data) // PAGE
    if kind == "truncate":
        data = data[:rng.randrange(0, len(data))]
    elif kind == "flip":
        for _ in range(rng.choice([1, 1, 3, 10, 100])):
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
    else:  # a zeroed page
        p = rng.randrange(pages)
        data[p * PAGE:(p + 1) * PAGE] = bytes(PAGE)
    dst_dir.mkdir()
    (dst_dir / "data.mdb").write_bytes(bytes(data))


def classify_verify(p):
    if p.returncode == 0:
        return "sound"
    assert p.returncode == 1, p.stderr
    if "DAMAGED" in p.stderr:
        assert "data.mdb" in p.stderr and "Restore" in p.stderr, p.stderr
        return "refused"
    assert "damaged records" in p.stderr, p.stderr
    return "lossy"


def serve_once(tmp, cfg, data_dir, acked):
    """Start serve on data_dir; either it refuses (exit 1 with a message) or it starts,
    takes a rating (a write transaction on the damaged file) and stops cleanly."""
    cfg = dict(cfg, data_dir=str(data_dir))
    d = tmp / "serve"
    d.mkdir()
    try:
        gw = Gateway(d, cfg)
    except RuntimeError:  # exited before listening: how?
        out = (d / "gateway.log").read_text(errors="replace")
        p = subprocess.run([BIN, "serve", "--config", str(d / "switchyard.json")],
                           capture_output=True, text=True, timeout=60,
                           env=sanitizer_env(dict(os.environ, SY_TEST_PROVIDER_KEY="x")))
        assert p.returncode == 1, f"serve exited with {p.returncode}:\n{out[-3000:]}"
        return "refused", out
    rid = next(iter(acked))
    f = requests.post(gw.url + "/v1/feedback", headers=H, json={"request_id": rid, "value": 1},
                      timeout=10)
    assert f.status_code in (200, 404), f.text
    rc = gw.stop()
    out = gw.proc.output()
    assert rc == 0, f"serve exited with {rc}:\n{out[-3000:]}"
    return "started", out


def test_random_damage_never_kills_and_never_loses_silently(history, tmp_path):
    rng = random.Random(int(os.environ.get("SY_DAMAGE_SEED", "15")))
    acked, baseline = history["acked"], len(history["acked"])
    tally = {}
    for i in range(CASES):
        kind = ("truncate", "flip", "zero")[i % 3]
        case = tmp_path / f"case{i}"
        case.mkdir()
        data_dir = case / "data"
        corrupt(history["file"], data_dir, kind, rng)
        snapshot = (data_dir / "data.mdb").read_bytes()
        verdict = classify_verify(run(["store", "verify", "--data-dir", str(data_dir)]))
        p, rows = export(data_dir)
        if verdict == "refused":
            assert p.returncode == 1 and "damaged" in p.stderr and "data.mdb" in p.stderr
        else:
            assert p.returncode == 0, p.stderr
            ids = {r["request_id"] for r in rows}
            if verdict == "sound":  # not a word: then nothing may be missing
                assert "warning" not in p.stderr
                assert ids >= set(acked), f"case {i} ({kind}): silent loss"
                assert all(r["feedback"] for r in rows if r["request_id"] in acked)
            else:
                lost = int(p.stderr.split("warning: ")[1].split()[0])
                assert lost > 0 and len(ids & set(acked)) + lost >= baseline
        (data_dir / "data.mdb").write_bytes(snapshot)  # export must not have changed it
        started, out = serve_once(case, history["cfg"], data_dir, acked)
        if verdict == "refused":
            assert started == "refused", f"case {i} ({kind}): served a damaged store"
            assert "is damaged" in out and "Restore" in out, out[-2000:]
        else:
            assert started == "started", f"case {i} ({kind}): refused a readable store:\n{out}"
            warned = "damaged records" in out
            assert warned == (verdict == "lossy"), out[-2000:]
        tally[(kind, verdict)] = tally.get((kind, verdict), 0) + 1
        shutil.rmtree(case)
    print("damage outcomes:", sorted(tally.items()))
    assert sum(tally.values()) == CASES


def test_backup_while_serving_then_restore_keeps_every_rating(tmp_path, fake):
    cfg = gateway_config(fake.url)
    gw = Gateway(tmp_path, cfg)
    acked = make_history(gw, 30)
    # verify and export while the gateway writes: a live store is never called damaged
    writer = threading.Thread(target=lambda: acked.update(make_history(gw, 30)))
    writer.start()
    while writer.is_alive():
        p = run(["store", "verify", "--config", str(gw.config_path)])
        assert p.returncode == 0, p.stdout + p.stderr
        assert export(gw.data_dir)[0].returncode == 0
    writer.join()
    backup = tmp_path / "backup"
    p = run(["store", "backup", "--config", str(gw.config_path), str(backup)])
    assert p.returncode == 0, p.stderr
    assert run(["store", "backup", "--config", str(gw.config_path),
                str(backup)]).returncode == 1  # never over an existing store
    make_history(gw, 5)  # after the backup: not in it
    assert gw.stop() == 0
    # restore (docs/operations.md): a fresh data_dir holding the backup's data.mdb
    restored = tmp_path / "restored"
    restored.mkdir()
    shutil.copy(backup / "data.mdb", restored / "data.mdb")
    assert run(["store", "verify", "--data-dir", str(restored)]).returncode == 0
    d = tmp_path / "again"
    d.mkdir()
    gw2 = Gateway(d, dict(cfg, data_dir=str(restored)))
    assert gw2.stop() == 0
    _, rows = export(restored)
    got = {r["request_id"]: r["feedback"]["value"] for r in rows if r["feedback"]}
    assert got == acked


def test_verify_refuses_garbage_and_reports_missing_store(tmp_path):
    assert run(["store", "verify", "--data-dir", str(tmp_path)]).returncode == 1
    (tmp_path / "data.mdb").write_bytes(b"\0" * 100)
    p = run(["store", "verify", "--data-dir", str(tmp_path)])
    assert p.returncode == 1 and "DAMAGED" in p.stderr and "truncated" in p.stderr
    assert run(["store", "bogus", "--data-dir", str(tmp_path)]).returncode == 2
