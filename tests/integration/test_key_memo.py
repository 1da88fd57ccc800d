"""The client key is hashed once per request (issue 17: the head check and the handler
share the match). Pipelined requests on one connection are separate requests: a wrong
key after a right one is refused, and a right one after a wrong one is accepted."""
import socket

from conftest import CLIENT_KEY


def read_responses(sock, n):
    """n HTTP/1.1 responses with Content-Length bodies; returns their status codes."""
    buf = b""
    codes = []
    while len(codes) < n:
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed after {codes}"
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        codes.append(int(lines[0].split()[1]))
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(rest) < length:
            chunk = sock.recv(65536)
            assert chunk
            rest += chunk
        buf = rest[length:]
    return codes


def models_request(key):
    return (f"GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\r\n"
            .encode())


def test_pipelined_keys_are_checked_per_request(gateway):
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as s:
        s.sendall(models_request(CLIENT_KEY) + models_request("sk-wrong-key") +
                  models_request(CLIENT_KEY))
        assert read_responses(s, 3) == [200, 401, 200]
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as s:
        s.sendall(models_request("sk-wrong-key") + models_request(CLIENT_KEY) +
                  models_request("sk-also-wrong"))
        assert read_responses(s, 3) == [401, 200, 401]
