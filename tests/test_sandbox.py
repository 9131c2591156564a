"""The embedded sandbox as a process: free ports, no collisions, never outliving the console; its CDN and API."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests
from werkzeug.serving import make_server

from services.core.errors import SandboxError
from services.sandbox import Sandbox, launch
from services.sandbox.httpd import QuietHandler, Server
from services.sandbox.lambda_host import ColdStart
from services.sandbox.wsgi import S3RequestHandler
from tests.conftest import PROJECT_ROOT
from tests.support import image_bytes


def _gone(pid: int, within: float = 15.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        with contextlib.suppress(ChildProcessError):  # reap it if it is our child
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.1)
    return False


def test_two_sandboxes_run_side_by_side_on_their_own_ports(sandbox):
    second = Sandbox.start()
    try:
        ports = {sandbox.endpoints.s3, sandbox.endpoints.presign, sandbox.endpoints.cdn}
        assert not ports & {second.endpoints.s3, second.endpoints.presign, second.endpoints.cdn}
        for box in (sandbox, second):
            reply = requests.get(box.endpoints.presign, headers={"x-extension": "png"}, timeout=10)
            port = box.endpoints.s3.rsplit(":", 1)[1]
            assert reply.status_code == 200
            assert reply.json()["presignedUrl"].startswith(
                f"http://pipeline-sandbox.s3.ap-northeast-2.localhost:{port}/"
            )
    finally:
        second.stop()
    assert second.process.returncode is not None and sandbox.alive()


def test_the_sandbox_stops_when_its_console_is_killed():
    script = "from services.sandbox import Sandbox; import sys; s = Sandbox.start(); print(s.endpoints.pid, flush=True); sys.stdin.read()"
    parent = subprocess.Popen(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        child_pid = int(parent.stdout.readline())
        os.kill(child_pid, 0)  # running
        parent.send_signal(signal.SIGKILL)  # no atexit, no cleanup: only the closed pipe tells the sandbox
        parent.wait(timeout=10)
        assert _gone(child_pid), "the sandbox outlived its console"
    finally:
        parent.kill()


def _ctrl_c_reaches_it() -> None:
    """As in a terminal's foreground: SIGINT at its default, even when these tests run as a background job (a
    non-interactive shell starts those with SIGINT ignored, and a child inherits that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_the_sandbox_command_prints_variables_that_work(sandbox):
    proc = subprocess.Popen(
        [sys.executable, "-m", "services", "sandbox"],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=_ctrl_c_reaches_it,  # only a signal disposition, before exec
    )
    try:
        lines = []
        while not any(line.startswith("# Press Ctrl-C") for line in lines):
            line = proc.stdout.readline()
            assert line, "the sandbox command ended early"
            lines.append(line)
        exports = dict(line[len("export ") :].strip().split("=", 1) for line in lines if line.startswith("export "))
        assert {"PIPELINE_PRESIGN_URL", "PIPELINE_BUCKET", "PIPELINE_CDN_URL", "AWS_ENDPOINT_URL"} <= set(exports)
        reply = requests.get(
            exports["PIPELINE_PRESIGN_URL"], headers={"x-extension": "webp", "Content-Type": "image/webp"}, timeout=10
        )
        assert reply.status_code == 200 and reply.json()["contentType"] == "image/webp"
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0


def test_cdn_caches_reads_and_marks_them_like_cloudfront(sandbox):
    grant = requests.get(
        sandbox.endpoints.presign, headers={"x-extension": "png", "Content-Type": "image/png"}, timeout=10
    ).json()
    data = image_bytes()
    assert (
        requests.put(
            grant["presignedUrl"], data=data, headers={"Content-Type": grant["contentType"]}, timeout=10
        ).status_code
        == 200
    )
    url = f"{sandbox.endpoints.cdn}/{grant['key']}"
    first, second = requests.get(url, timeout=10), requests.get(url, timeout=10)
    assert first.headers["X-Cache"] == "Miss from cloudfront" and "Age" not in first.headers
    assert second.headers["X-Cache"] == "Hit from cloudfront" and int(second.headers["Age"]) >= 0
    for reply in (first, second):
        assert reply.content == data and reply.headers["Content-Type"] == "image/png"
        assert reply.headers["Via"].endswith(".cloudfront.net (CloudFront)")
        assert reply.headers["X-Amz-Cf-Pop"] and reply.headers["X-Amz-Cf-Id"]
    assert first.headers["X-Amz-Cf-Id"] != second.headers["X-Amz-Cf-Id"]


def test_cdn_missing_key_is_403_error_from_cloudfront_and_only_get_head_allowed(sandbox):
    missing = requests.get(f"{sandbox.endpoints.cdn}/no-such-key.png", timeout=10)
    assert missing.status_code == 403 and missing.headers["X-Cache"] == "Error from cloudfront"
    assert b"<Code>AccessDenied</Code>" in missing.content
    assert requests.post(f"{sandbox.endpoints.cdn}/x.png", data=b"x", timeout=10).status_code == 403


def test_api_preflight_follows_the_api_cors_configuration(sandbox):
    allowed = requests.options(
        sandbox.endpoints.presign,
        headers={
            "Origin": "http://localhost:5173",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-extension,content-type",
        },
        timeout=10,
    )
    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    assert "x-extension" in allowed.headers["Access-Control-Allow-Headers"]
    other = requests.options(
        sandbox.endpoints.presign,
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"},
        timeout=10,
    )
    assert "Access-Control-Allow-Origin" not in other.headers


def test_presign_errors_come_back_as_json_with_cors(sandbox):
    reply = requests.get(
        sandbox.endpoints.presign, headers={"x-extension": "exe", "Origin": "http://localhost:3000"}, timeout=10
    )
    assert reply.status_code == 400
    assert json.loads(reply.content)["error"] == "unsupported_extension"
    assert reply.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"


def _nodelay(sock: socket.socket) -> bool:
    return bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))


def test_every_sandbox_server_sets_tcp_nodelay_on_its_connections():
    """Replies go out as headers then body; without TCP_NODELAY a keep-alive client's delayed ACK holds the
    body ~40 ms (Nagle). The emulated services' handler and the S3 endpoint's handler both set it."""

    class Probe(QuietHandler):
        def do_GET(self) -> None:
            self.send_reply(200, {"Content-Type": "text/plain"}, str(_nodelay(self.connection)).encode())

    def probe_app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(_nodelay(environ["werkzeug.socket"])).encode()]

    emulated = Server(("127.0.0.1", 0), Probe)
    s3 = make_server("127.0.0.1", 0, probe_app, threaded=True, request_handler=S3RequestHandler)
    threading.Thread(target=s3.serve_forever, daemon=True).start()
    emulated.start("probe")
    try:
        for port in (emulated.port, s3.server_port):
            assert requests.get(f"http://127.0.0.1:{port}/", timeout=10).text == "True"
    finally:
        for server in (emulated, s3):
            server.shutdown()
            server.server_close()


def test_the_functions_cold_start_builds_its_client_once_whoever_asks_first():
    built: list[object] = []

    def build() -> object:
        time.sleep(0.05)  # the warm-up and a request race for it
        built.append(object())
        return built[-1]

    cold = ColdStart(build)
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(cold.client())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(built) == 1 and seen == built * 8


def test_a_process_that_never_reports_ready_is_killed_and_said_so():
    silent = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        with pytest.raises(SandboxError, match="did not report ready within 1 s"):
            launch.read_ready_line(silent, timeout=1)
        assert silent.wait(timeout=10) != 0  # killed, not left running
    finally:
        silent.kill()
        silent.wait(timeout=10)
