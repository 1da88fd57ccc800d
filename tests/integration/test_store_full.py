"""A store that cannot grow any more: ratings are answered 503 with Retry-After, chat
requests keep being served, and /metrics counts what was dropped."""
import re

import requests

from conftest import Gateway, chat_body, gateway_config


def test_full_store_refuses_ratings_but_keeps_serving(tmp_path, fake):
    cfg = gateway_config(fake.url, store={"map_size_mb": 1, "max_map_size_mb": 1})
    cfg["routes"]["ctx"] = {"candidates": ["small", "large"], "policy": "linear_thompson",
                            "params": {"dim": 256}}  # 2 KiB of context per decision
    gw = Gateway(tmp_path, cfg)
    try:
        status = None
        for i in range(4000):
            r = gw.chat(chat_body("ctx", f"message {i}"))
            assert r.status_code == 200  # inference continues whatever the store does
            if i % 50 == 49:
                f = requests.post(gw.url + "/v1/feedback", headers=gw.headers(), timeout=10,
                                  json={"request_id": r.headers["x-switchyard-request-id"],
                                        "rating": "up"})
                status = f.status_code
                if status == 503:
                    assert int(f.headers["retry-after"]) >= 1
                    assert f.json()["error"]["code"] == "store_unavailable"
                    break
                assert status in (200, 404), f.text  # 404: its decision was dropped
        assert status == 503, "the 1 MiB store never filled"
        m = requests.get(gw.admin_url + "/metrics", headers=gw.admin_headers(), timeout=5).text
        dropped = int(re.search(r"^switchyard_store_dropped_events_total (\d+)$", m, re.M)[1])
        assert dropped > 0
        assert gw.chat(chat_body("small")).status_code == 200
    finally:
        assert gw.stop() == 0
