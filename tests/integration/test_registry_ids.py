"""Ids and names of the admin registries (issue 15, item 11): "." and ".." are refused as
prompt, label, experiment and variant names, and a NUL (\\u0000) anywhere in an admin body
is refused rather than cutting the id short ("a\\u0000../../etc" used to create "a")."""
import http.client
import json

from conftest import ADMIN_KEY

V1 = {"messages": [{"role": "user", "content": "Question: {{q}}"}]}


def raw(gw, method, path, body=None):
    """http.client, not requests: requests would resolve the dot segments itself."""
    c = http.client.HTTPConnection("127.0.0.1", gw.admin_port, timeout=10)
    data = None if body is None else (body if isinstance(body, str) else json.dumps(body))
    c.request(method, path, body=data, headers={"Authorization": f"Bearer {ADMIN_KEY}",
                                                "Content-Type": "application/json"})
    r = c.getresponse()
    out = (r.status, r.read().decode(errors="replace"))
    c.close()
    return out


def experiment(eid, variants=("a", "b")):
    return {"id": eid, "route": "chat", "unit": "user",
            "variants": [{"name": v} for v in variants]}


def test_dot_ids_and_nul_are_refused(gateway):
    for bad in (".", ".."):
        assert raw(gateway, "POST", "/admin/experiments", experiment(bad))[0] == 400
        assert raw(gateway, "POST", "/admin/experiments", experiment("ok1", ("a", bad)))[0] == 400
        status, _ = raw(gateway, "POST", f"/admin/prompts/{bad}/versions", V1)
        assert status in (400, 404), status
    status, body = raw(gateway, "POST", "/admin/experiments", experiment("a\u0000../../etc"))
    assert status == 400 and "NUL" in body, body
    assert raw(gateway, "GET", "/admin/experiments/a")[0] == 404  # not created as "a"
    # a body that spells the escape as text (an escaped backslash) is not a NUL
    status, body = raw(gateway, "POST", "/admin/prompts/p1/versions",
                       '{"messages":[{"role":"user","content":"a\\\\u0000b"}]}')
    assert status in (200, 201), body
    status, body = raw(gateway, "POST", "/admin/prompts/p2/versions",
                       {"messages": [{"role": "user", "content": "x"}], "note": "a\u0000b"})
    assert status == 400 and "NUL" in body, body
    assert raw(gateway, "PUT", "/admin/prompts/p1/labels/..", {"version": 1})[0] in (400, 404)
    assert raw(gateway, "POST", "/admin/experiments", experiment("ok2"))[0] == 201
