"""The provider key (a canary value from the environment) and the client key appear
nowhere the gateway writes: responses, logs, metrics, admin output, the LMDB store or
its export — also when the upstream rejects the key and when requests fail."""
import json
import pathlib
import subprocess

import requests

from conftest import BIN, CANARY_PROVIDER_KEY, CLIENT_KEY, chat_body


def test_keys_never_leak(gateway, fake):
    seen = []
    def keep(r):
        seen.append(json.dumps(dict(r.headers)) + r.text)
        return r
    rid = keep(gateway.chat(chat_body("small"))).headers["x-switchyard-request-id"]
    keep(gateway.chat(chat_body("large", stream=True)))
    keep(gateway.chat(chat_body("nope")))
    keep(requests.post(gateway.url + "/v1/feedback", headers=gateway.headers(), timeout=5,
                       json={"request_id": rid, "rating": "up", "comment": "fine"}))
    # the upstream refuses the key: its message (which could quote the key) is not relayed
    fake.set_scenario({"seed": 1, "api_key": "some-other-key", "models": {"fake-small": {}}})
    keep(gateway.chat(chat_body("small")))
    keep(requests.get(gateway.admin_url + "/metrics", headers=gateway.admin_headers(), timeout=5))
    keep(requests.get(gateway.admin_url + "/admin/routes", headers=gateway.admin_headers(),
                      timeout=5))
    keep(requests.get(gateway.admin_url + "/admin/status", headers=gateway.admin_headers(),
                      timeout=5))
    assert gateway.stop() == 0
    export = subprocess.run([BIN, "export", "--data-dir", gateway.data_dir], capture_output=True,
                            text=True, timeout=30)
    assert export.returncode == 0 and export.stdout.strip()
    places = {"responses": "\n".join(seen), "gateway log": gateway.proc.output(),
              "export": export.stdout}
    for f in pathlib.Path(gateway.data_dir).rglob("*"):  # conversations/ included
        if f.is_file():
            places[f"store {f.relative_to(gateway.data_dir)}"] = f.read_bytes().decode("latin-1")
    for where, text in places.items():
        for secret in (CANARY_PROVIDER_KEY, CLIENT_KEY):
            assert secret not in text, f"{secret[:8]}… found in {where}"
