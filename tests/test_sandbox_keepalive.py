"""The sandbox's S3 endpoint keeps connections alive, as S3 does, without ever reading one request into another.

werkzeug's dev server closed every connection (so every boto3 call and every PUT reconnected); the sandbox's
handler (services.sandbox.wsgi.S3RequestHandler) keeps them open and skips what the application left unread
of a body. These tests run that handler in a real server on loopback, with small WSGI applications that misbehave
on purpose, and then the sandbox itself under boto3.
"""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3.connection
from werkzeug.serving import make_server

from services.core.clients import make_client
from services.sandbox.wsgi import S3RequestHandler


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """/echo reads the body and answers it; /ignore never reads it; /fail answers 500; /boom raises;
    /head-length declares a length for HEAD."""
    path = environ["PATH_INFO"]
    if path == "/echo":
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return [body]
    if path == "/fail":
        start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
        return [b"failed"]
    if path == "/boom":
        raise RuntimeError("a bug in the emulator")
    if path == "/head-length":
        start_response("200 OK", [("Content-Length", "12345"), ("Content-Type", "image/png")])
        return [b""]
    start_response("403 Forbidden", [("Content-Type", "application/xml")])
    return [b"<Error><Code>AccessDenied</Code></Error>"]


@pytest.fixture
def server() -> Iterator[tuple[str, int]]:
    httpd = make_server("127.0.0.1", 0, app, threaded=True, request_handler=S3RequestHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", httpd.server_port
    finally:
        httpd.shutdown()
        httpd.server_close()


def ask(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None, **headers: str):
    conn.request(method, path, body=body, headers=headers)
    reply = conn.getresponse()
    return reply.status, reply.getheader("Connection"), reply.getheader("Content-Length"), reply.read()


def test_one_connection_serves_request_after_request(server):
    conn = http.client.HTTPConnection(*server, timeout=5)
    first_socket = None
    for n in range(5):
        status, connection, _, body = ask(conn, "PUT", "/echo", f"body {n}".encode())
        assert (status, connection, body) == (200, None, f"body {n}".encode())
        first_socket = first_socket or conn.sock
        assert conn.sock is first_socket  # never reconnected
    conn.close()


def test_a_body_left_unread_is_skipped_not_read_as_the_next_request(server):
    conn = http.client.HTTPConnection(*server, timeout=5)
    unread = b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n" * 100  # would parse as requests if it were not skipped
    status, connection, _, _ = ask(conn, "PUT", "/ignore", unread)
    assert (status, connection) == (403, None)
    assert ask(conn, "PUT", "/echo", b"next")[::3] == (200, b"next")
    conn.close()


def test_an_unread_body_beyond_the_drain_limit_closes_the_connection(server, monkeypatch):
    monkeypatch.setattr(S3RequestHandler, "DRAIN_LIMIT", 1024)
    conn = http.client.HTTPConnection(*server, timeout=5)
    status, connection, _, _ = ask(conn, "PUT", "/ignore", b"x" * 4096)
    assert (status, connection) == (403, "close")
    conn.close()


def test_a_large_body_sent_to_a_refusing_url_still_gets_the_refusal(server):
    """The application refuses without reading; the client keeps sending 16 MB: it must read the 403 (what S3
    said), not a connection reset, and may go on using the connection."""
    conn = http.client.HTTPConnection(*server, timeout=10)
    status, connection, _, body = ask(conn, "PUT", "/ignore", b"\0" * (16 * 1024 * 1024))
    assert (status, connection) == (403, None) and b"AccessDenied" in body
    assert ask(conn, "PUT", "/echo", b"next")[::3] == (200, b"next")
    conn.close()


def test_a_body_that_ends_early_gets_its_reply_and_the_connection_closed(server):
    with socket.create_connection(server, timeout=5) as raw:
        raw.sendall(b"PUT /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10)
        raw.shutdown(socket.SHUT_WR)  # the client is gone after 10 of the 1000 bytes it announced
        received = b""
        while chunk := raw.recv(65536):
            received += chunk
    head = received.split(b"\r\n\r\n", 1)[0].lower()
    assert head.startswith(b"http/1.1 403") and b"connection: close" in head


def test_a_body_shorter_than_announced_gets_s3s_incomplete_body(server):
    with socket.create_connection(server, timeout=5) as raw:
        raw.sendall(b"PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10)
        raw.shutdown(socket.SHUT_WR)  # the application reads the body, which ends 990 bytes early
        received = b""
        while chunk := raw.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.lower().startswith(b"http/1.1 400") and b"connection: close" in head.lower()
    assert b"<Code>IncompleteBody</Code>" in body


@pytest.mark.parametrize("path", ["/fail", "/boom"])
def test_a_server_error_closes_the_connection(server, path):
    conn = http.client.HTTPConnection(*server, timeout=5)
    status, connection, length, body = ask(conn, "GET", path)
    assert (status, connection) == (500, "close") and int(length) == len(body) > 0
    conn.close()


def test_a_chunked_body_is_read_to_its_end(server):
    conn = http.client.HTTPConnection(*server, timeout=5)
    conn.request("PUT", "/ignore", body=iter([b"abc", b"def" * 1000]), encode_chunked=True)
    reply = conn.getresponse()
    assert (reply.status, reply.getheader("Connection")) == (403, None)
    reply.read()
    assert ask(conn, "PUT", "/echo", b"after chunks")[::3] == (200, b"after chunks")
    conn.close()


def test_head_keeps_the_declared_length_and_sends_no_body(server):
    conn = http.client.HTTPConnection(*server, timeout=5)
    status, connection, length, body = ask(conn, "HEAD", "/head-length")
    assert (status, connection, length, body) == (200, None, "12345", b"")
    assert ask(conn, "PUT", "/echo", b"still in step")[::3] == (200, b"still in step")
    conn.close()


def test_a_client_asking_to_close_gets_its_connection_closed(server):
    with socket.create_connection(server, timeout=5) as raw:
        raw.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        received = b""
        while chunk := raw.recv(65536):  # ends only when the server closes
            received += chunk
    assert received.startswith(b"HTTP/1.1 200")


def test_boto3_calls_to_the_sandbox_reuse_one_connection(sandbox, monkeypatch):
    opened: list[str] = []
    real = urllib3.connection.HTTPConnection.connect

    def connect(self: Any) -> None:
        opened.append(f"{self.host}:{self.port}")
        real(self)

    monkeypatch.setattr(urllib3.connection.HTTPConnection, "connect", connect)
    s3 = make_client("s3", sandbox.aws_target())
    bucket = sandbox.settings().bucket
    for n in range(5):
        s3.put_object(Bucket=bucket, Key=f"keepalive/{n}.txt", Body=b"x" * 100)
        assert s3.head_object(Bucket=bucket, Key=f"keepalive/{n}.txt")["ContentLength"] == 100
    s3.list_objects_v2(Bucket=bucket, Prefix="keepalive/")
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": f"keepalive/{n}.txt"} for n in range(5)]})
    assert len(opened) == 1, opened
