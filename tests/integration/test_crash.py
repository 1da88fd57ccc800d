"""kill -9 under mixed load: chat requests (plain and streamed) and ratings run on
several threads while the gateway is killed at a random moment, again and again on one
data_dir. No acknowledged rating may be lost, the environment must reopen every time,
and every stored decision must have its outcome."""
import json
import os
import random
import signal
import subprocess
import threading
import time

import requests

from conftest import BIN, CLIENT_KEY, Gateway, chat_body, gateway_config

SANITIZED = os.environ.get("SWITCHYARD_SANITIZED") == "1"
H = {"Authorization": f"Bearer {CLIENT_KEY}"}


def load(gw, stop, acked, lock):
    """One client: chat, sometimes streamed, then rate it; record every 2xx rating."""
    s = requests.Session()
    while not stop.is_set():
        try:
            stream = random.random() < 0.3
            r = s.post(gw.url + "/v1/chat/completions", headers=H, timeout=5, stream=stream,
                       json=chat_body("chat", "hello", stream=stream))
            if stream:
                for _ in r.iter_lines():
                    pass
            rid = r.headers.get("x-switchyard-request-id")
            if r.status_code != 200 or not rid:
                continue
            value = random.choice([0, 0.5, 1])
            f = s.post(gw.url + "/v1/feedback", headers=H, timeout=5,
                       json={"request_id": rid, "value": value})
            if f.status_code == 200:
                with lock:
                    acked[rid] = value
        except (requests.RequestException, ValueError):
            pass  # the gateway died under us: expected


def test_kill_9_under_mixed_load(tmp_path, fake):
    iterations = 40 if SANITIZED else 500
    cfg = gateway_config(fake.url, workers=2)
    cfg["data_dir"] = str(tmp_path / "data")
    acked, lock = {}, threading.Lock()
    rng = random.Random(5)
    for i in range(iterations):
        d = tmp_path / f"run{i}"
        d.mkdir()
        gw = Gateway(d, dict(cfg))  # reopening the environment must succeed every time
        stop = threading.Event()
        threads = [threading.Thread(target=load, args=(gw, stop, acked, lock)) for _ in range(3)]
        try:
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.005, 0.08))
        finally:
            gw.proc.p.send_signal(signal.SIGKILL)
            gw.proc.p.wait()
            gw.proc.log.close()
            stop.set()
            for t in threads:
                t.join()
    r = subprocess.run([BIN, "export", "--data-dir", cfg["data_dir"]], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    rows = {}
    for line in r.stdout.splitlines():
        row = json.loads(line)
        rows[row["request_id"]] = row
    assert acked, "no rating was acknowledged: the load never ran"
    lost = [rid for rid, v in acked.items()
            if rid not in rows or rows[rid]["feedback"] is None
            or rows[rid]["feedback"]["value"] != v]
    assert not lost, f"{len(lost)} of {len(acked)} acknowledged ratings lost"
    assert all(row["outcome"] is not None for row in rows.values())  # decision ⇔ outcome
