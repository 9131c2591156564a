"""Every request the checks and Browse make is under a deadline: a CDN, presign endpoint or S3 that drips its answer
a byte at a time (well within any per-read timeout) is reported as not having answered in time, and the run ends.

Real servers on loopback that drip (tests/support.py ``raw_server``), the real CLI in a subprocess; nothing is timed
here beyond the subprocess's own timeout: the assertions are on what the report says.
"""

from __future__ import annotations

import dataclasses
import json
import re
import socket
import time
from collections.abc import Callable

import pytest

from services.checks.gather import Budget, probe, read
from services.checks.model import ReadState
from services.core.clients import make_client
from services.core.settings import AwsTarget
from services.core.transport import new_session
from services.pipeline.browse import describe_object, detail_notes
from tests.support import PROJECT_ROOT, cli, raw_server, read_http_request

#: between two bytes: far inside every read timeout (5 s connect / 60 s read), so only a deadline stops it
INTERVAL = 0.2
#: the run's deadline given to the CLI; the subprocess timeout below is many times it
RUN_DEADLINE = "5"
SUBPROCESS_TIMEOUT = 90


def _drip(conn: socket.socket, data: bytes) -> None:
    for byte in data:  # ends when the client hangs up (OSError, swallowed by raw_server)
        conn.sendall(bytes([byte]))
        time.sleep(INTERVAL)


def drip_headers(conn: socket.socket) -> None:
    """Reads a request, then sends a status line and headers that never end, a byte at a time."""
    read_http_request(conn)
    _drip(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Pad: " + b"a" * 10_000)


def drip_body(conn: socket.socket) -> None:
    """Reads a request, sends a whole head at once, then its 10,000-byte body a byte at a time."""
    read_http_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 10000\r\n\r\n")
    _drip(conn, b"x" * 10_000)


def s3_that_drips_anonymous_gets(conn: socket.socket) -> None:
    """An "S3" that answers a signed HEAD at once (so Browse has the object's metadata) and drips every other
    request's answer."""
    request = read_http_request(conn)
    if request.startswith(b"HEAD ") and b"authorization:" in request.lower():
        conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 10000\r\nETag: "abc"\r\n\r\n')
        return
    _drip(conn, b"HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\nX-Pad: " + b"a" * 10_000)


def findings_of(done, exit_code: int | None = None) -> dict[str, dict]:
    """The findings of a finished run (exit 1: something fails; 0: nothing does, unknowns are not failures)."""
    assert done.returncode in ((0, 1) if exit_code is None else (exit_code,)), (
        done.returncode,
        done.stdout[-2000:],
        done.stderr[-2000:],
    )
    return {f["id"]: f for f in json.loads(done.stdout)["findings"]}


def assert_cut_off(finding: dict, *statuses: str) -> None:
    """The finding failed (or could not judge), saying a deadline passed: not a verdict on a half answer."""
    assert finding["status"] in statuses, finding
    assert "deadline" in finding["detail"], finding


def run_check(env: dict[str, str]):
    return cli("check", "--json", "--deadline", RUN_DEADLINE, env=env, timeout=SUBPROCESS_TIMEOUT)


def test_a_dripping_presign_endpoint_s3_and_cdn_end_the_check_run_at_its_deadline(sandbox_env):
    with raw_server(drip_headers) as presign, raw_server(drip_body) as cdn, raw_server(drip_headers) as s3:
        env = {
            **sandbox_env,
            "PIPELINE_PRESIGN_URL": f"{presign}/presign",
            "PIPELINE_CDN_URL": cdn,
            "AWS_ENDPOINT_URL_S3": s3,
        }
        found = findings_of(run_check(env), 1)
    assert_cut_off(found["presign.reachable"], "fail")
    for check_id in ("bucket.cors", "bucket.public_access_block", "bucket.public_write", "bucket.cors_preflight"):
        assert_cut_off(found[check_id], "unknown", "fail")
    assert found["upload.roundtrip"]["status"] == "unknown"  # the canary never got a URL: no verdict on the PUT


def test_a_cdn_that_drips_the_canary_is_reported_failed(sandbox_env):
    with raw_server(drip_body) as cdn:
        found = findings_of(run_check({**sandbox_env, "PIPELINE_CDN_URL": cdn}), 1)
    assert found["presign.reachable"]["status"] == "pass"
    assert found["upload.roundtrip"]["status"] != "pass"  # the read-back through the CDN is part of the round trip
    assert_cut_off(found["cdn.read"], "fail", "unknown")


def test_an_s3_endpoint_that_drips_leaves_the_bucket_checks_unknown_naming_the_deadline(sandbox_env):
    with raw_server(drip_headers) as s3:
        found = findings_of(run_check({**sandbox_env, "AWS_ENDPOINT_URL_S3": s3}))
    assert found["presign.reachable"]["status"] == "pass"
    for check_id in ("bucket.cors", "bucket.public_write", "bucket.cors_preflight", "cdn.direct_s3_blocked"):
        assert_cut_off(found[check_id], "unknown")
    assert found["cdn.read"]["status"] == "pass"  # the hops that answer are judged as ever


@pytest.mark.parametrize("handler", [drip_headers, drip_body], ids=["headers", "body"])
def test_a_probe_of_a_dripping_server_records_the_deadline_not_a_hang(handler: Callable[[socket.socket], None]):
    with raw_server(handler) as base, new_session() as session:
        exchange, body = probe(session, "GET", f"{base}/x", budget=Budget.of(30, probe_s=1))
    assert exchange.status is None and body == b""
    assert "DeadlineExceeded" in (exchange.error or "") and "1 s deadline" in (exchange.error or ""), exchange


def test_once_the_run_deadline_has_passed_nothing_more_is_sent_or_waited_for():
    seen: list[bytes] = []
    spent = Budget.of(0.001)
    time.sleep(0.01)
    with raw_server(lambda conn: seen.append(read_http_request(conn))) as base, new_session() as session:
        exchange, _ = probe(session, "GET", f"{base}/x", budget=spent)
        config = read("s3:GetBucketCors", lambda: seen.append(b"called") or [], budget=spent)
    assert exchange.error == "not sent: the check run's 0.001 s deadline had passed"
    assert config.state == ReadState.ERROR and config.code == "DeadlineExceeded"
    assert seen == []


def test_an_aws_read_that_drips_is_given_up_at_the_run_deadline():
    with raw_server(drip_headers) as s3_url:
        s3 = make_client(
            "s3",
            AwsTarget(region="us-east-1", endpoint_url=s3_url, access_key_id="testing", secret_access_key="testing"),
        )
        config = read("s3:GetBucketCors", lambda: s3.get_bucket_cors(Bucket="photos"), budget=Budget.of(1.0))
    assert config.state == ReadState.ERROR and config.code == "DeadlineExceeded", config
    assert config.message == "no answer within the check run's 1 s deadline"


def test_browse_detail_reports_a_dripping_cdn_and_s3_instead_of_hanging(sandbox_settings):
    with raw_server(drip_headers) as cdn, raw_server(s3_that_drips_anonymous_gets) as s3_url:
        aws = dataclasses.replace(sandbox_settings.aws, endpoint_url=s3_url, s3_endpoint_url=None)
        settings = dataclasses.replace(sandbox_settings, cdn_url=cdn, aws=aws)  # S3 is the dripping server
        detail = describe_object(make_client("s3", aws), settings, "a.png", deadline_s=1.0)
    assert detail.head is not None and detail.head.content_type == "image/png"  # the prompt answer is kept
    assert detail.cdn.status is None and "did not finish answering within 1 s" in (detail.cdn.error or "")
    assert detail.anonymous.status is None and "did not finish answering within 1 s" in (detail.anonymous.error or "")
    notes = [note.text for note in detail_notes(detail)]
    assert any("The CDN did not answer: did not finish answering within 1 s" in text for text in notes), notes


#: a request made with requests' own calls, or another HTTP client, instead of services/core/transport.py
_BYPASS = re.compile(
    r"\brequests\.(?:get|post|put|head|delete|patch|options|request)\("
    r"|\bsession\.(?:get|post|put|head|delete|patch|options|request)\("
    r"|\burlopen\(|\bhttp\.client\b|\bhttpx\.|\burllib3\.request\("
)
#: the one call outside transport.py, made inside ``enforce(deadline)`` and read with ``iter_body`` (the CDN read-back
#: streams the object through a digest instead of holding it)
_ALLOWED = {("services/pipeline/upload.py", "session.get(")}


def test_no_http_request_bypasses_the_transport():
    found = []
    for path in sorted((PROJECT_ROOT / "services").rglob("*.py")):
        name = path.relative_to(PROJECT_ROOT).as_posix()
        if name == "services/core/transport.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in _BYPASS.finditer(line):
                if (name, match.group(0)) not in _ALLOWED:
                    found.append(f"{name}:{number}: {line.strip()}")
    assert found == []
