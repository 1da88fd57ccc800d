"""An HTTPS upstream (issue 17): a provider's `ca_file` makes a self-signed upstream
trusted, the certificate is verified (without it the same upstream is refused), and
sequential requests reuse one TLS connection per worker instead of a handshake each."""
import http.server
import json
import shutil
import ssl
import subprocess
import threading

import pytest
import requests

from conftest import Gateway, gateway_config

ANSWER = json.dumps({
    "id": "chatcmpl-tls", "object": "chat.completion", "created": 1764400000,
    "model": "tls-model",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "over TLS"},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}}).encode()


class Upstream:
    """A keep-alive HTTPS server answering every POST with ANSWER; counts connections."""

    def __init__(self, cert, key):
        self.connections = 0
        self.requests = 0
        up = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                up.connections += 1
                super().setup()

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                up.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(ANSWER)))
                self.end_headers()
                self.wfile.write(ANSWER)

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def tls_upstream(tmp_path):
    if not shutil.which("openssl"):
        pytest.skip("openssl not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                    "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    up = Upstream(str(cert), str(key))
    yield up, cert
    up.close()


def test_https_upstream_with_ca_file(tmp_path, tls_upstream):
    up, cert = tls_upstream
    base = f"https://127.0.0.1:{up.port}/v1"
    cfg = gateway_config("http://unused.invalid")
    cfg["workers"] = 1
    cfg["providers"] = {"tls": {"dialect": "openai", "base_url": base, "ca_file": str(cert)},
                        "untrusted": {"dialect": "openai", "base_url": base}}
    cfg["models"] = {"m": {"provider": "tls", "upstream_name": "tls-model",
                           "price": {"input": 1, "output": 1}},
                     "bad": {"provider": "untrusted", "upstream_name": "tls-model",
                             "price": {"input": 1, "output": 1}}}
    cfg["routes"] = {}
    gw = Gateway(tmp_path, cfg)
    try:
        for i in range(20):
            r = gw.chat({"model": "m", "messages": [{"role": "user", "content": f"hi {i}"}]})
            assert r.status_code == 200, r.text
            assert r.json()["choices"][0]["message"]["content"] == "over TLS"
        assert up.requests == 20
        # one worker, one request at a time: the first connection carries them all
        assert up.connections == 1, up.connections
        # the same server without its certificate trusted: refused, not sent
        r = gw.chat({"model": "bad", "messages": [{"role": "user", "content": "hi"}]})
        assert r.status_code == 502, r.text
        assert up.requests == 20
    finally:
        assert gw.stop() == 0
