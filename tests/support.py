"""Helpers shared by the tests: image bytes, free ports, and local HTTP servers that misbehave on purpose."""

from __future__ import annotations

import contextlib
import fnmatch
import io
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from PIL import Image

from services.checks.model import COMMON_CODES, Finding, Status
from services.core.errors import InvalidImage
from services.core.settings import Settings
from services.core.transport import new_session
from services.pipeline.images import inspect_image
from services.pipeline.upload import UploadInput, UploadResult, upload_batch, upload_one
from services.sandbox import layout

PROJECT_ROOT = Path(__file__).resolve().parents[1]

#: what the healthy (default) sandbox still warns about: its function hands out presigned PUT URLs (the seed's
#: contract), which no policy limits in size (function-hands-out-post shows the shape that passes)
HEALTHY_WARNINGS = {"presign.size_limit": Status.WARN}


def cli(
    *args: str, env: dict[str, str], timeout: float = 180, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m services ARGS` as a script or CI job runs it: a real subprocess, output captured. ``cwd``: run it
    there (its ``.streamlit/secrets.toml`` is the one read), with the project importable."""
    if cwd is not None:
        env = {**env, "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "services", *args],
        cwd=cwd or PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (64, 48), colour: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, fmt)
    return buffer.getvalue()


def api_preflight(presign_url: str, timeout: float = 30) -> requests.Response:
    """The web app's preflight of its presign request (it sends x-extension), from the sandbox's app origin."""
    return requests.options(
        presign_url,
        headers={
            "Origin": layout.APP_ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-extension",
        },
        timeout=timeout,
    )


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


Reply = tuple[int, dict[str, str], bytes]


@contextmanager
def http_server(respond: Callable[[BaseHTTPRequestHandler], Reply]) -> Iterator[tuple[str, list[dict]]]:
    """A real HTTP server on loopback answering every request with ``respond(request)``.

    Yields (base URL, log of requests seen: method, path, headers).
    """
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            seen.append({"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body})
            status, headers, payload = respond(self)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_PUT = do_POST = do_OPTIONS = do_HEAD = do_DELETE = _any

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def raw_server(handle: Callable[[socket.socket], None]) -> Iterator[str]:
    """A loopback TCP server running ``handle(conn)`` per connection, for answers http.server cannot give
    (a body that drips a byte at a time). Yields its base URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=_guarded, args=(conn,), daemon=True).start()

    def _guarded(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):  # OSError: the client gave up, as it should
            handle(conn)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        listener.close()


@contextmanager
def counting_pipeline() -> Iterator[tuple[Settings, list[dict]]]:
    """Settings whose presign endpoint and CDN are one real local server that answers 500 to everything and
    records every request it gets."""
    with http_server(lambda _request: (500, {"Content-Type": "application/json"}, b'{"message": "unexpected"}')) as (
        base,
        seen,
    ):
        yield Settings(presign_url=f"{base}/presign", bucket="photos", cdn_url=base), seen


def upload_refused_before_any_request(items: list[UploadInput], *, strip: bool) -> list[UploadResult]:
    """``items`` uploaded as a batch, and the first alone, through ``counting_pipeline``. Asserts that not one
    request was made (no presign call, no PUT, no CDN read) and that every result stopped at validation having
    uploaded nothing; returns the results, for the caller to check their messages."""
    with counting_pipeline() as (settings, seen):
        results = dict(upload_batch(items, settings, strip_metadata=strip))
        with new_session() as session:
            single = upload_one(items[0], settings, session, strip_metadata=strip)
    assert seen == []
    assert len(results) == len(items)
    for result in [*results.values(), single]:
        assert not result.ok
        assert [step.name for step in result.steps] == ["validate"]
        assert "nothing was uploaded" in result.failed_step.cause
    return [*results.values(), single]


def assert_refused(name: str, data: bytes, *words: str) -> InvalidImage:
    """``inspect_image`` refuses the file, in plain words containing each of ``words``."""
    with pytest.raises(InvalidImage) as caught:
        inspect_image(name, data)
    message = str(caught.value)
    for word in words:
        assert word in message, message
    assert "Error" not in message.split("(")[0]  # the sentence itself is plain words, no exception names
    return caught.value


def read_http_head(conn: socket.socket) -> bytes:
    """A request's line and headers, up to and with the blank line, and not one byte of its body (read a byte at a
    time, so a test can then read the body at its own pace)."""
    conn.settimeout(10)
    data = b""
    while not data.endswith(b"\r\n\r\n"):
        chunk = conn.recv(1)
        if not chunk:
            return data
        data += chunk
    return data


def read_http_request(conn: socket.socket) -> bytes:
    head = read_http_head(conn)
    length = next(
        (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")),
        0,
    )
    rest = b""
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head.removesuffix(b"\r\n\r\n")


def dripper(status: str, headers: dict[str, str], body: bytes, interval: float, seen: list[bytes]):
    """A handler that reads the request, sends the head at once, then the body one byte every ``interval`` s."""

    def handle(conn: socket.socket) -> None:
        seen.append(read_http_request(conn).split(b"\r\n", 1)[0])
        head = f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        conn.sendall(f"{head}Content-Length: {len(body)}\r\n\r\n".encode())
        for byte in body:
            conn.sendall(bytes([byte]))
            time.sleep(interval)

    return handle


CAUSE_CODE = re.compile(r"[a-z][a-z_]*\.[a-z][a-z0-9_]*")


def assert_codes(finding: Finding) -> None:
    """A finding carries at least one stable cause code, each declared in its check's metadata (or common to all)."""
    from services.checks.runner import BY_ID  # the registry imports every check; only the tests that judge need it

    declared = (*BY_ID[finding.id].codes, *COMMON_CODES)
    assert finding.codes, f"{finding.id} ({finding.status}: {finding.title}) carries no cause code"
    for code in finding.codes:
        assert CAUSE_CODE.fullmatch(code), (finding.id, code)
        assert any(fnmatch.fnmatchcase(code, pattern) for pattern in declared), f"{finding.id}: undeclared {code}"
