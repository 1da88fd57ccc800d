"""Prompt registry (issue 6): versions are immutable, numbered and content-hashed; labels
move (rollback = moving a label back) with their history kept; a request pinned to a
label switches version on the very next request after a move, without a restart; the
registry survives a restart; variables are validated with errors that name them; the
rendered messages are what the upstream receives; every decision records the version."""
import json
import subprocess
import time

import requests

from conftest import ADMIN_KEY, BIN, Gateway, gateway_config

V1 = {
    "messages": [
        {"role": "system", "content": "You are {{persona}}. Answer in {{ lang }}."},
        {"role": "user", "content": [{"type": "text", "text": "Question #{{n}}: {{question}}"}]},
    ],
    "variables": {
        "persona": {"type": "string"},
        "question": {"type": "string", "required": True},
        "lang": {"type": "string", "required": False, "default": "English"},
        "n": {"type": "integer", "required": False, "default": 1},
    },
    "parameters": {"temperature": 0.2, "max_tokens": 64},
    "model": "small",
}
V2 = dict(V1, messages=[{"role": "system", "content": "Be brief, {{persona}}."},
                        {"role": "user", "content": "{{question}}"}],
          model="large")


def admin(gw, method, path, body=None):
    return requests.request(method, gw.admin_url + path, timeout=10,
                            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                            data=None if body is None else json.dumps(body))


def fake_last_body(fake):
    reqs = requests.get(fake.url + "/_fake/stats", timeout=5).json()["requests"]
    return reqs[-1]["body"]


def ask(gw, **prompt):
    body = {"prompt": dict({"id": "support"}, **prompt)}
    return gw.chat(body)


def test_versions_labels_rollback_and_render(gateway, fake):
    gw = gateway
    r = admin(gw, "POST", "/admin/prompts/support/versions", V1)
    assert r.status_code == 201, r.text
    v1 = r.json()
    assert v1["version"] == 1 and len(v1["hash"]) == 64 and v1["created"] is True
    # the same content again is the same version, not a new one
    r = admin(gw, "POST", "/admin/prompts/support/versions", V1)
    assert r.status_code == 200 and r.json()["version"] == 1 and r.json()["created"] is False
    r = admin(gw, "POST", "/admin/prompts/support/versions", V2)
    assert r.status_code == 201 and r.json()["version"] == 2
    assert r.json()["hash"] != v1["hash"]

    # nothing is labelled yet: a label reference is a 404 naming the prompt
    r = ask(gw, variables={"persona": "a pirate", "question": "why?"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "prompt_not_found"

    assert admin(gw, "PUT", "/admin/prompts/support/labels/production", {"version": 1}).status_code == 200
    vars_ = {"persona": "a pirate", "question": "why is the sea salty?", "n": 7}
    r = ask(gw, variables=vars_)
    assert r.status_code == 200, r.text
    assert r.headers["x-switchyard-prompt"] == "support@1"
    assert r.headers["x-switchyard-model"] == "small"  # the version's model
    sent = fake_last_body(fake)
    assert sent["messages"][0] == {"role": "system",
                                   "content": "You are a pirate. Answer in English."}
    assert sent["messages"][1]["content"][0]["text"] == "Question #7: why is the sea salty?"
    assert sent["temperature"] == 0.2 and sent["max_tokens"] == 64

    # move production to v2: the very next request uses it, no restart
    r = admin(gw, "PUT", "/admin/prompts/support/labels/production", {"version": 2})
    assert r.status_code == 200 and r.json()["from"] == 1 and r.json()["to"] == 2
    r = ask(gw, variables={"persona": "a pirate", "question": "hi"})
    assert r.status_code == 200 and r.headers["x-switchyard-prompt"] == "support@2"
    assert r.headers["x-switchyard-model"] == "large"
    assert fake_last_body(fake)["messages"][0]["content"] == "Be brief, a pirate."

    # the client's own parameters, model and messages win / follow the template's
    r = gw.chat({"model": "small", "temperature": 0.9,
                 "messages": [{"role": "user", "content": "and one more thing"}],
                 "prompt": {"id": "support", "version": 1,
                            "variables": {"persona": "x", "question": "q"}}})
    assert r.status_code == 200 and r.headers["x-switchyard-prompt"] == "support@1"
    sent = fake_last_body(fake)
    assert sent["temperature"] == 0.9 and sent["max_tokens"] == 64
    assert [m["role"] for m in sent["messages"]] == ["system", "user", "user"]
    assert sent["messages"][2]["content"] == "and one more thing"
    assert "prompt" not in sent

    # rollback = move the label back; history keeps every move
    assert admin(gw, "PUT", "/admin/prompts/support/labels/production", {"version": 1}).status_code == 200
    r = ask(gw, variables={"persona": "p", "question": "q"})
    assert r.headers["x-switchyard-prompt"] == "support@1"
    doc = admin(gw, "GET", "/admin/prompts/support").json()
    assert [(m["from"], m["to"]) for m in doc["label_history"]] == [(None, 1), (1, 2), (2, 1)]
    assert doc["labels"] == {"production": 1}
    assert [v["version"] for v in doc["versions"]] == [1, 2]
    assert doc["versions"][0]["definition"] == V1

    # a custom label, and the render preview
    assert admin(gw, "PUT", "/admin/prompts/support/labels/canary-eu", {"version": 2}).status_code == 200
    r = admin(gw, "POST", "/admin/prompts/support/render",
              {"label": "canary-eu", "variables": {"persona": "z", "question": "w"}})
    assert r.status_code == 200, r.text
    assert r.json()["prompt_version"] == 2
    assert r.json()["messages"][0]["content"] == "Be brief, z."
    listing = admin(gw, "GET", "/admin/prompts").json()["data"]
    assert listing == [{"name": "support", "latest_version": 2,
                        "labels": {"production": 1, "canary-eu": 2}}]

    # every decision records the prompt version (log line and stored decision)
    # (workers batch their log lines, so compare as a multiset once all are written)
    deadline = time.monotonic() + 5
    while True:
        got = sorted(l["prompt_version"] for l in gw.log_lines() if l.get("prompt") == "support")
        if got == [1, 1, 1, 2] or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert got == [1, 1, 1, 2]


def test_variable_errors_name_the_variables(gateway):
    gw = gateway
    assert admin(gw, "POST", "/admin/prompts/support/versions", V1).status_code == 201
    assert admin(gw, "PUT", "/admin/prompts/support/labels/production", {"version": 1}).status_code == 200
    cases = [
        ({"persona": "p"}, "prompt.variables.question", ["'question'"]),
        ({"persona": "p", "question": "q", "colour": "red"}, "prompt.variables.colour",
         ["'colour'"]),
        ({"persona": "p", "question": "q", "n": 1.5}, "prompt.variables.n", ["'n' must be an integer"]),
        ({"persona": 3, "question": "q"}, "prompt.variables.persona", ["'persona' must be a string"]),
        ({"question": 1, "extra": 1}, None, ["'persona'", "'extra'", "'question' must be a string"]),
    ]
    for variables, param, words in cases:
        r = ask(gw, variables=variables)
        assert r.status_code == 400, (variables, r.text)
        err = r.json()["error"]
        if param:
            assert err["param"] == param, (variables, err)
        for w in words:
            assert w in err["message"], (variables, err)
    for bad in [{"prompt": "support"}, {"prompt": {"id": 5}},
                {"prompt": {"id": "support", "version": 0}},
                {"prompt": {"id": "support", "version": 1, "label": "production"}},
                {"prompt": {"id": "support", "label": 7}}]:
        r = gw.chat(bad)
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["error"]["param"].startswith("prompt"), r.text
    r = ask(gw, version=9, variables={"persona": "p", "question": "q"})
    assert r.status_code == 404 and r.json()["error"]["param"] == "prompt.version"
    r = gw.chat({"prompt": {"id": "nope", "variables": {}}})
    assert r.status_code == 404
    # a value is substituted as text, never expanded again
    r = ask(gw, variables={"persona": "{{question}}", "question": "q"})
    assert r.status_code == 200


def test_bad_definitions_are_400(gateway):
    gw = gateway
    bad = [
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "user", "content": "{{who}}"}]}, "messages[0].content"),
        ({"messages": [{"role": "user", "content": "{{ unterminated"}]}, "messages[0].content"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0]"),
        ({"messages": [{"role": "user", "content": "x"}], "parameters": {"api_base": "http://evil"}},
         "parameters.api_base"),
        ({"messages": [{"role": "user", "content": "x"}], "variables": {"a": {"type": "object"}}},
         "variables.a"),
        ({"messages": [{"role": "user", "content": "x"}],
          "variables": {"a": {"type": "string", "required": True, "default": "d"}}}, "variables.a"),
        ({"messages": [{"role": "user", "content": "x"}], "code": "import os"}, "code"),
    ]
    for definition, param in bad:
        r = admin(gw, "POST", "/admin/prompts/p1/versions", definition)
        assert r.status_code == 400, (definition, r.text)
        assert r.json()["error"]["param"] == param, (definition, r.json())
    r = admin(gw, "POST", "/admin/prompts/bad%20name/versions", V1)
    assert r.status_code in (400, 404)
    assert admin(gw, "PUT", "/admin/prompts/p1/labels/production", {"version": 1}).status_code == 404
    assert admin(gw, "GET", "/admin/prompts/p1").status_code == 404
    assert requests.get(gw.admin_url + "/admin/prompts", timeout=5).status_code == 401
    assert admin(gw, "DELETE", "/admin/prompts/p1/versions").status_code == 405


def test_registry_survives_restart(tmp_path, fake):
    cfg = gateway_config(fake.url)
    gw = Gateway(tmp_path, cfg)
    try:
        assert admin(gw, "POST", "/admin/prompts/support/versions", V1).status_code == 201
        assert admin(gw, "POST", "/admin/prompts/support/versions", V2).status_code == 201
        assert admin(gw, "PUT", "/admin/prompts/support/labels/production", {"version": 2}).status_code == 200
        r = ask(gw, variables={"persona": "p", "question": "q"})
        assert r.status_code == 200
    finally:
        assert gw.stop() == 0
    second = tmp_path / "restarted"  # same data_dir, fresh port file and log
    second.mkdir()
    gw = Gateway(second, cfg)
    try:
        r = ask(gw, variables={"persona": "p", "question": "q"})
        assert r.status_code == 200, r.text
        assert r.headers["x-switchyard-prompt"] == "support@2"
        doc = admin(gw, "GET", "/admin/prompts/support").json()
        assert len(doc["versions"]) == 2 and len(doc["label_history"]) == 1
    finally:
        assert gw.stop() == 0
    out = subprocess.run([BIN, "export", "--data-dir", cfg["data_dir"]], capture_output=True,
                         text=True, check=True).stdout
    prompts = [json.loads(l)["prompt"] for l in out.splitlines()]
    assert prompts == [{"id": "support", "version": 2}] * 2
