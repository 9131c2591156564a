"""The overall deadline holds at every stage of a request, over real sockets: a server that drips its status
line or its headers a byte at a time (each byte well within the read timeout) is cut off by the watchdog
when the deadline passes, and the session stays usable afterwards."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import socket
import threading
import time

import pytest

from services.core.transport import (
    ENVIRONMENT_SETTINGS,
    Deadline,
    DeadlineExceeded,
    enforce,
    environment_matters,
    exchange,
    new_session,
)
from services.pipeline.upload import DEFAULT_POLICY, UploadInput, upload_one
from tests.support import http_server, image_bytes, raw_server, read_http_request

STATUS = b"HTTP/1.1 200 OK\r\n"


def drip_head(head: bytes, interval: float, sent: list[int]):
    """A handler that reads the request, then sends ``head`` one byte every ``interval`` s (never a body)."""

    def handle(conn: socket.socket) -> None:
        read_http_request(conn)
        for byte in head:
            conn.sendall(bytes([byte]))
            sent.append(byte)
            time.sleep(interval)

    return handle


def timed_exchange(base: str, deadline_s: float, session=None):
    started = time.monotonic()
    with new_session() if session is None else contextlib.nullcontext(session) as s:
        try:
            exchange(s, "GET", f"{base}/x", headers={}, deadline_s=deadline_s, limit=1024, timeout=(5.0, 5.0))
        except DeadlineExceeded as err:
            return err, time.monotonic() - started
    return None, time.monotonic() - started


@pytest.mark.parametrize(
    "head",
    [
        pytest.param(STATUS + b"Content-Length: 0\r\n\r\n", id="status-line"),
        pytest.param(STATUS[:1], id="first-byte-only"),  # one byte of the status line, then silence under 5 s
    ],
)
def test_a_status_line_dripped_a_byte_at_a_time_is_cut_off_at_the_deadline(head):
    sent: list[int] = []
    # 0.2 s between bytes: the 5 s read timeout never fires; without the watchdog this takes ~8 s
    with raw_server(drip_head(head * 40 if len(head) == 1 else head, 0.2, sent)) as base:
        err, elapsed = timed_exchange(base, 1.0)
    assert isinstance(err, DeadlineExceeded) and err.seconds == 1.0
    assert elapsed < 2.5, elapsed
    assert len(sent) < len(head * 40 if len(head) == 1 else head)  # it really was cut off mid-drip


def test_headers_dripped_a_byte_at_a_time_are_cut_off_at_the_deadline():
    head = STATUS + b"".join(b"X-Pad-%d: %s\r\n" % (i, b"a" * 20) for i in range(50)) + b"\r\n"
    sent: list[int] = []
    with raw_server(drip_head(head, 0.01, sent)) as base:  # ~1,500 bytes: ~15 s of drip
        err, elapsed = timed_exchange(base, 1.0)
    assert isinstance(err, DeadlineExceeded)
    assert elapsed < 2.5, elapsed
    assert len(STATUS) < len(sent) < len(head)  # the status line arrived; the headers were cut off


def test_the_session_is_usable_after_a_cut_off_and_a_healthy_request_is_not_disturbed():
    def ok(_req):
        return 200, {"Content-Type": "application/json"}, json.dumps({"ok": True}).encode()

    with new_session() as session, http_server(ok) as (good, calls):
        with raw_server(drip_head(STATUS + b"Content-Length: 0\r\n\r\n", 0.2, [])) as slow:
            err, _ = timed_exchange(slow, 0.5, session)
        assert isinstance(err, DeadlineExceeded)
        # a short deadline that a healthy server meets; the watchdog's later alarm time passes unused
        answer = exchange(session, "GET", f"{good}/a", headers={}, deadline_s=0.3, limit=1024)
        time.sleep(0.5)
        again = exchange(session, "GET", f"{good}/b", headers={}, deadline_s=5.0, limit=1024)
    assert answer.status == 200 and json.loads(answer.body) == {"ok": True}
    assert again.status == 200
    assert [c["path"] for c in calls] == ["/a", "/b"]


def test_enforce_raises_when_the_block_outlives_its_deadline_even_without_a_request():
    with pytest.raises(DeadlineExceeded), enforce(Deadline(0.1)):
        time.sleep(0.4)  # the alarm fires with no connection to cut; the block still reports it


def test_enforce_blocks_in_different_threads_are_independent():
    results: dict[str, object] = {}

    def slow() -> None:
        with raw_server(drip_head(STATUS + b"Content-Length: 0\r\n\r\n", 0.2, [])) as base:
            results["slow"], _ = timed_exchange(base, 0.6)

    def ok(_req):
        time.sleep(0.8)  # slower than the other thread's deadline, within its own
        return 200, {}, b"fine"

    with http_server(ok) as (base, _):
        worker = threading.Thread(target=slow)
        worker.start()
        with new_session() as session:
            answer = exchange(session, "GET", f"{base}/x", headers={}, deadline_s=5.0, limit=64)
        worker.join(10)
    assert isinstance(results["slow"], DeadlineExceeded)
    assert answer.body == b"fine"


def test_the_upload_service_names_the_presign_hop_when_its_status_line_drips(sandbox_settings):
    sent: list[int] = []
    with raw_server(drip_head(STATUS + b"Content-Type: application/json\r\n\r\n{}", 0.2, sent)) as base:
        started = time.monotonic()
        policy = dataclasses.replace(DEFAULT_POLICY, timeout=(5.0, 5.0), presign_deadline=1.0)
        with new_session() as session:
            result = upload_one(
                UploadInput("a.png", image_bytes()),
                dataclasses.replace(sandbox_settings, presign_url=base),
                session,
                policy,
            )
    step = result.failed_step
    assert step.name == "presign" and "did not finish answering within 1 s" in step.error, step
    assert time.monotonic() - started < 3


def test_the_upload_service_names_the_cdn_hop_when_its_headers_drip(sandbox_settings, bucket_keys):
    head = STATUS + b"".join(b"X-Pad-%d: %s\r\n" % (i, b"a" * 20) for i in range(50)) + b"\r\n"
    policy = dataclasses.replace(DEFAULT_POLICY, timeout=(5.0, 5.0), deadline_base=1.0)
    sent: list[int] = []
    with raw_server(drip_head(head, 0.01, sent)) as cdn, new_session() as session:
        started = time.monotonic()
        result = upload_one(
            UploadInput("a.png", image_bytes()), dataclasses.replace(sandbox_settings, cdn_url=cdn), session, policy
        )
    step = result.failed_step
    assert step.name == "cdn_read" and "did not finish sending the object within" in step.error, step
    assert time.monotonic() - started < 4
    assert result.steps[2].name == "put" and result.steps[2].ok


@pytest.mark.parametrize(
    ("environ", "trusted"),
    [
        ({}, False),
        ({"HOME": "/root", "PATH": "/usr/bin"}, False),
        ({"HTTPS_PROXY": "http://proxy:3128"}, True),
        ({"https_proxy": "http://proxy:3128"}, True),
        ({"NO_PROXY": "localhost"}, True),
        ({"REQUESTS_CA_BUNDLE": "/etc/ssl/corp.pem"}, True),
        ({"CURL_CA_BUNDLE": "/etc/ssl/corp.pem"}, True),
        ({"HTTPS_PROXY": ""}, False),
    ],
)
def test_sessions_read_the_environment_only_when_a_proxy_or_ca_bundle_is_set(monkeypatch, environ, trusted):
    for name in ENVIRONMENT_SETTINGS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert environment_matters() is trusted
    with new_session() as session:
        assert session.trust_env is trusted


@pytest.mark.parametrize("ca_bundle", [None, "/etc/ssl/certs/ca-certificates.crt"], ids=["no-env", "ca-bundle-set"])
def test_a_netrc_entry_never_adds_credentials_to_a_presigned_request(monkeypatch, tmp_path, ca_bundle):
    """requests would send ~/.netrc's login as Basic auth; S3 refuses a presigned URL that also carries a header.
    Also with a CA bundle in the environment, which turns requests' trust_env (and its netrc lookup) on."""
    for name in ENVIRONMENT_SETTINGS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    if ca_bundle:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_bundle)
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine 127.0.0.1 login alice password secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with http_server(lambda req: (200, {}, b"ok")) as (base, calls), new_session() as session:
        exchange(session, "GET", f"{base}/k.png?X-Amz-Signature=abc", headers={}, deadline_s=5, limit=64)
    assert "Authorization" not in calls[0]["headers"]
