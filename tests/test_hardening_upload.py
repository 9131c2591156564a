"""The upload path under faults, over real HTTP: the sandbox for S3's own behaviour (expired URLs, signature
mismatches, the CDN), local servers that misbehave on purpose for the rest (5xx, drips, hangs, redirects,
replies that point the file elsewhere). Only the waits between retries are injected, so tests stay fast."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import pytest
import requests
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from services.core.errors import PipelineError
from services.core.settings import Settings
from services.core.transport import Backoff, DeadlineExceeded, equal_jitter, exchange, new_session
from services.pipeline.presign import Endpoint, UrlAllowlist, check_upload_url
from services.pipeline.upload import DEFAULT_POLICY, UploadInput, UploadPolicy, upload_batch, upload_one
from tests.support import dripper, http_server, image_bytes, raw_server, read_http_head

JSON = {"Content-Type": "application/json"}
XML = {"Content-Type": "application/xml"}


# --- helpers --------------------------------------------------------------------------------------------


class Waits:
    """An injected sleep: records the waits instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def policy(waits: Waits | None = None, **overrides: Any) -> UploadPolicy:
    sleep = waits or Waits()
    backoff = Backoff(attempts=3, base=0.2, cap=2.0, sleep=sleep)
    return dataclasses.replace(DEFAULT_POLICY, presign_backoff=backoff, put_backoff=backoff, **overrides)


def upload(settings: Settings, name: str = "a.png", data: bytes | None = None, **kw: Any):
    with new_session() as session:
        return upload_one(UploadInput(name, data or image_bytes()), settings, session, kw.pop("pol", None) or policy())


def with_s3_endpoint(settings: Settings, base: str, **changes: Any) -> Settings:
    """Settings whose configured S3 endpoint is ``base`` (a local fake S3), as the sandbox's endpoint is."""
    aws = dataclasses.replace(settings.aws, endpoint_url=base, s3_endpoint_url=None)
    return dataclasses.replace(settings, aws=aws, **changes)


def s3_error(code: str, message: str, **fields: str) -> bytes:
    extra = "".join(f"<{k}>{v}</{k}>" for k, v in fields.items())
    return f"<Error><Code>{code}</Code><Message>{message}</Message>{extra}<RequestId>R</RequestId></Error>".encode()


def grant_reply(url: str, key: str, content_type: str | None = "image/png") -> tuple[int, dict[str, str], bytes]:
    doc: dict[str, Any] = {"presignedUrl": url, "key": key}
    if content_type:
        doc["contentType"] = content_type
    return 200, JSON, json.dumps(doc).encode()


def signed(base: str, path: str) -> str:
    return f"{base}{path}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-SignedHeaders=content-type%3Bhost&X-Amz-Signature=feed"


@contextmanager
def fake_pipeline(
    s3_respond: Callable[[Any, bytes, dict], tuple[int, dict[str, str], bytes]],
) -> Iterator[tuple[str, str, dict]]:
    """A fake S3 (``s3_respond(request, body, store)``) and a CDN serving what was stored there.

    Yields (s3 base, cdn base, store). The server has read the request body already; it is the last one logged.
    """
    store: dict[str, bytes] = {}
    log: list[list[dict]] = []

    def s3(req):
        return s3_respond(req, log[0][-1]["body"], store)

    def cdn(req):
        key = unquote(req.path.lstrip("/"))
        if key in store:
            return 200, {"Content-Type": "image/png", "X-Cache": "Miss from cloudfront"}, store[key]
        return 404, {"X-Cache": "Error from cloudfront"}, b""

    with http_server(s3) as (s3_base, seen), http_server(cdn) as (cdn_base, _):
        log.append(seen)
        yield s3_base, cdn_base, store


class Recorder:
    """A request log shared with a handler (the server's own log does not say in what order things happened)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: list[dict[str, Any]] = []

    def add(self, req, body: bytes = b"") -> int:
        with self.lock:
            self.calls.append({"method": req.command, "path": req.path, "headers": dict(req.headers), "body": body})
            return len(self.calls)


# --- presign endpoint: 5xx and retries ------------------------------------------------------------------


def forward_to(presign_url: str, req) -> tuple[int, dict[str, str], bytes]:
    """Ask the real (sandbox) presign endpoint exactly what the console asked us."""
    reply = requests.get(
        presign_url,
        headers={"x-extension": req.headers["x-extension"], "Content-Type": req.headers.get("Content-Type", "")},
        timeout=10,
    )
    return reply.status_code, JSON, reply.content


@pytest.mark.parametrize("status", [502, 503, 504])
def test_presign_gateway_errors_are_retried_with_backoff_and_the_upload_then_succeeds(
    sandbox_settings, sandbox, bucket_keys, status
):
    before = bucket_keys()
    calls = Recorder()

    def flaky(req):
        if calls.add(req) <= 2:
            return status, JSON, b'{"message": "Service Unavailable"}'
        return forward_to(sandbox.endpoints.presign, req)

    waits = Waits()
    with http_server(flaky) as (base, _):
        result = upload(dataclasses.replace(sandbox_settings, presign_url=base), pol=policy(waits))
    assert result.ok, result.failed_step
    presign = result.steps[1]
    assert presign.name == "presign" and presign.attempts == 3 and presign.http_status == 200
    assert f"HTTP {status}, HTTP {status}, HTTP 200" in presign.note
    assert len(calls.calls) == 3
    # jittered exponential backoff: the first wait in [0.1, 0.2] s, the second in [0.2, 0.4] s
    assert len(waits.waits) == 2 and 0.1 <= waits.waits[0] <= 0.2 and 0.2 <= waits.waits[1] <= 0.4
    assert bucket_keys() - before == {result.key}
    assert result.to_json()["steps"][1]["attempts"] == 3


def test_presign_gateway_errors_give_up_after_three_attempts_and_nothing_is_put(sandbox_settings, bucket_keys):
    before = bucket_keys()
    with http_server(lambda _req: (503, JSON, b'{"message": "Service Unavailable"}')) as (base, seen):
        result = upload(dataclasses.replace(sandbox_settings, presign_url=base))
    step = result.failed_step
    assert step.name == "presign" and step.http_status == 503 and step.attempts == 3
    assert "HTTP 503 (3 attempts)" in step.error and "try again" in step.cause
    assert [r["method"] for r in seen] == ["GET", "GET", "GET"]
    assert bucket_keys() == before


@pytest.mark.parametrize("status", [500, 400, 403, 404, 429])
def test_presign_500_and_4xx_are_never_retried(sandbox_settings, status):
    with http_server(lambda _req: (status, JSON, b'{"message": "no"}')) as (base, seen):
        result = upload(dataclasses.replace(sandbox_settings, presign_url=base))
    step = result.failed_step
    assert step.name == "presign" and step.http_status == status and step.attempts == 1
    assert len(seen) == 1


def test_backoff_grows_exponentially_with_jitter_and_stops_at_the_cap():
    exact = Backoff(base=0.2, cap=2.0, jitter=lambda upper: upper)
    assert [exact.delay(i) for i in range(6)] == pytest.approx([0.2, 0.4, 0.8, 1.6, 2.0, 2.0])
    jittered = Backoff(base=0.2, cap=2.0)
    for retry in range(6):
        upper = min(2.0, 0.2 * 2**retry)
        samples = {jittered.delay(retry) for _ in range(200)}
        assert all(upper / 2 <= s <= upper for s in samples)
        assert len(samples) > 100  # spread, so clients that failed together do not retry together
    wild = Backoff(base=0.2, cap=2.0, jitter=lambda upper: upper * 10)
    assert wild.delay(3) == 1.6  # a misbehaving jitter never waits past the bound
    assert 0.5 <= equal_jitter(1.0) <= 1.0


# --- presign endpoint: replies that are not grants ------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"<!doctype html><html><body>Sign in</body></html>", "not with JSON"),
        (b'{"presignedUrl": "https://x', "not with JSON"),
        (b"[" * 30_000 + b"]" * 30_000, "not with JSON"),  # nesting deep enough to exhaust the parser
        (b'{"presignedUrl": 5, "key": "k.png"}', "no presignedUrl"),
        (b'{"presignedUrl": "   ", "key": "k.png"}', "no presignedUrl"),
        (b'{"presignedUrl": "https://pipeline-sandbox.s3.amazonaws.com/k.png", "key": ["k.png"]}', "no key"),
        (b'{"presignedUrl": "http://[::1", "key": "k.png"}', "not an http(s) URL"),
        (b'"https://pipeline-sandbox.s3.amazonaws.com/k.png"', "not an object"),
    ],
    ids=["html", "truncated-json", "deep-nesting", "url-not-text", "url-blank", "key-not-text", "bad-ipv6", "string"],
)
def test_presign_replies_of_the_wrong_shape_are_named_and_nothing_is_put(sandbox_settings, body, expected):
    with http_server(lambda _req: (200, {"Content-Type": "text/html"}, body)) as (base, seen):
        result = upload(dataclasses.replace(sandbox_settings, presign_url=base))
    step = result.failed_step
    assert step.name == "presign" and step.http_status == 200 and expected in step.error
    assert [r["method"] for r in seen] == ["GET"]


# --- presign endpoint: URLs that would send the file elsewhere ------------------------------------------


@pytest.fixture
def trap(sandbox_settings, sandbox):
    """A fake S3 that records every request (its PUTs succeed); settings whose S3 endpoint is this trap, so
    only the shape of the URL decides whether the console would send it bytes."""
    with http_server(lambda _req: (200, {"ETag": '"e"'}, b"")) as (base, seen):
        port = urlsplit(base).port
        yield with_s3_endpoint(sandbox_settings, base), port, seen


def via_presign(settings: Settings, url: str, key: str = "k.png", **kw: Any):
    """Upload through a presign endpoint that grants ``url`` for ``key``."""
    with http_server(lambda _req: grant_reply(url, key)) as (presign, _):
        return upload(dataclasses.replace(settings, presign_url=presign), **kw)


def test_an_allowed_url_reaches_the_trap(trap):
    """The control for the refusals below: the same trap does receive a PUT when the URL is the bucket's."""
    settings, port, seen = trap
    result = via_presign(
        settings, f"http://pipeline-sandbox.s3.ap-northeast-2.localhost:{port}/k.png?X-Amz-Signature=a"
    )
    assert [s.name for s in result.steps[:3]] == ["validate", "presign", "put"] and result.steps[2].ok
    # the bytes went there once; then the CDN (the sandbox's, which has no k.png) refused the read-back, and the
    # console's own HEAD of the key (its S3 client, at the trap) asked whether the object exists
    assert [(r["method"], r["path"].split("?")[0]) for r in seen] == [
        ("PUT", "/k.png"),
        ("HEAD", "/pipeline-sandbox/k.png"),
    ]


@pytest.mark.parametrize(
    ("url", "key", "expected"),
    [
        ("http://evil.localhost:{port}/k.png", "k.png", "points at evil.localhost"),
        ("http://other-bucket.s3.ap-northeast-2.localhost:{port}/k.png", "k.png", "for bucket 'other-bucket'"),
        ("http://pipeline-sandbox.s3.eu-west-1.localhost:{port}/k.png", "k.png", "for region 'eu-west-1'"),
        ("http://127.0.0.1:{port}/other-bucket/k.png", "k.png", "does not start with /pipeline-sandbox/"),
        ("http://pipeline-sandbox.s3.ap-northeast-2.localhost:{port}/other.png", "k.png", "for key 'other.png'"),
        ("http://127.0.0.1:{port}/pipeline-sandbox/x/../k.png", "x/../k.png", "reads differently"),
        ("http://user:secret@pipeline-sandbox.s3.ap-northeast-2.localhost:{port}/k.png", "k.png", "user name or pass"),
        ("http://127.0.0.2:{port}/pipeline-sandbox/k.png", "k.png", "the IP address 127.0.0.2"),
        ("http://169.254.169.254/latest/meta-data/iam/", "k.png", "link-local address 169.254.169.254"),
        ("http://[fe80::1]:{port}/k.png", "k.png", "link-local address fe80::1"),
        ("http://pipeline-sandbox.s3.ap-northeast-2.amazonaws.com/k.png", "k.png", "not https"),
        ("https://pipeline-sandbox.s3.ap-northeast-2.amazonaws.com.evil.example/k.png", "k.png", "points at"),
        ("http://pipeline-sandbox.s3.ap-northeast-2.localhost:{port}/k.png#x", "k.png", "#fragment"),
    ],
)
def test_urls_off_the_allowlist_are_refused_before_any_byte_is_sent(trap, url, key, expected):
    settings, port, seen = trap
    result = via_presign(settings, url.format(port=port), key)
    step = result.failed_step
    assert not result.ok and step.name == "presign" and step.http_status == 200
    assert expected in step.error, step.error
    assert "Nothing was sent" in step.cause
    assert "secret" not in json.dumps(result.to_json())
    assert seen == []  # the trap never saw a request


def test_plain_http_is_refused_when_the_configured_endpoint_is_not_local(sandbox_settings):
    settings = with_s3_endpoint(sandbox_settings, "http://s3.storage.example:9000")
    result = via_presign(settings, "http://pipeline-sandbox.s3.storage.example:9000/k.png")
    assert result.failed_step.name == "presign" and "plain http" in result.failed_step.error


# --- redirects are never followed -----------------------------------------------------------------------


def test_a_presign_redirect_is_not_followed(sandbox_settings):
    with (
        http_server(lambda _req: (200, JSON, b"{}")) as (trap_base, trapped),
        http_server(lambda _req: (302, {"Location": f"{trap_base}/presign"}, b"")) as (base, seen),
    ):
        result = upload(dataclasses.replace(sandbox_settings, presign_url=base))
    assert result.failed_step.name == "presign" and result.failed_step.http_status == 302
    assert len(seen) == 1 and trapped == []


def test_a_put_redirect_is_not_followed_and_says_region_or_addressing(sandbox_settings):
    with http_server(lambda _req: (200, {}, b"")) as (trap_base, trapped):
        redirect = (307, {"Location": f"{trap_base}/pipeline-sandbox/k.png", **XML}, s3_error("TemporaryRedirect", "x"))
        with http_server(lambda _req: redirect) as (s3_base, puts):
            settings = with_s3_endpoint(sandbox_settings, s3_base)
            result = via_presign(settings, signed(s3_base, "/pipeline-sandbox/k.png"))
    step = result.failed_step
    assert step.name == "put" and step.http_status == 307 and "region or addressing" in step.cause
    assert len(puts) == 1 and trapped == []


def test_a_cdn_redirect_is_not_followed(sandbox_settings):
    with (
        http_server(lambda _req: (200, {}, image_bytes())) as (trap_base, trapped),
        http_server(lambda _req: (302, {"Location": trap_base + "/x"}, b"")) as (cdn, _),
    ):
        result = upload(dataclasses.replace(sandbox_settings, cdn_url=cdn))
    assert result.failed_step.name == "cdn_read" and result.failed_step.http_status == 302
    assert trapped == []


# --- timeouts and drips ---------------------------------------------------------------------------------


def test_a_presign_endpoint_that_never_answers_times_out(sandbox_settings):
    def hang(_req):
        time.sleep(1.5)
        return 200, JSON, b"{}"

    started = time.monotonic()
    with http_server(hang) as (base, _):
        result = upload(dataclasses.replace(sandbox_settings, presign_url=base), pol=policy(timeout=(1.0, 0.5)))
    step = result.failed_step
    assert step.name == "presign" and "did not answer within 0.5 s" in step.error
    assert time.monotonic() - started < 2.5


def test_a_presign_reply_that_drips_is_cut_off_at_the_deadline(sandbox_settings, sandbox):
    # a valid grant, one byte every 0.2 s: ~40 s in all; each byte comes well within the 5 s read timeout
    url = f"{sandbox.endpoints.s3}/pipeline-sandbox/k.png"
    body = json.dumps({"presignedUrl": url, "key": "k.png"}).encode()
    seen: list[bytes] = []
    started = time.monotonic()
    with raw_server(dripper("200 OK", JSON, body, 0.2, seen)) as base:
        result = upload(
            dataclasses.replace(sandbox_settings, presign_url=base),
            pol=policy(timeout=(5.0, 5.0), presign_deadline=1.0),
        )
    elapsed = time.monotonic() - started
    step = result.failed_step
    assert step.name == "presign" and "did not finish answering within 1 s" in step.error, step
    assert elapsed < 3, elapsed
    assert len(seen) == 1


def test_an_s3_answer_that_drips_is_cut_off_at_the_put_deadline(sandbox_settings):
    seen: list[bytes] = []
    body = s3_error("InternalError", "We encountered an internal error. " * 3)
    with raw_server(dripper("500 Internal Server Error", XML, body, 0.2, seen)) as s3_base:
        settings = with_s3_endpoint(sandbox_settings, s3_base)
        started = time.monotonic()
        result = via_presign(settings, signed(s3_base, "/pipeline-sandbox/k.png"), pol=policy(deadline_base=1.0))
    step = result.failed_step
    assert step.name == "put" and "did not finish the PUT within 1 s" in step.error
    assert "Nothing was stored" in step.cause
    assert time.monotonic() - started < 3
    assert seen and seen[0].startswith(b"PUT ")


def test_a_cdn_that_drips_the_object_is_cut_off_at_the_deadline(sandbox_settings, bucket_keys):
    data = image_bytes(size=(32, 32))
    seen: list[bytes] = []
    started = time.monotonic()
    with raw_server(dripper("200 OK", {"Content-Type": "image/png"}, data, 0.1, seen)) as cdn:
        result = upload(dataclasses.replace(sandbox_settings, cdn_url=cdn), data=data, pol=policy(deadline_base=1.5))
    step = result.failed_step
    assert step.name == "cdn_read" and "did not finish sending the object within" in step.error
    assert time.monotonic() - started < 5
    assert result.steps[2].name == "put" and result.steps[2].ok  # the trace says which hop crawled


def test_a_put_body_is_not_sent_past_its_deadline():
    """An S3 that reads the upload slowly: the console stops sending at the deadline, not after 16 MB."""
    received: list[int] = []

    def slow_reader(conn: socket.socket) -> None:
        read_http_head(conn)
        total = 0
        while True:
            chunk = conn.recv(4096)
            if not chunk:
                break
            total += len(chunk)
            received.append(total)
            time.sleep(0.02)

    started = time.monotonic()
    with raw_server(slow_reader) as base, new_session() as session, pytest.raises(DeadlineExceeded):
        exchange(
            session,
            "PUT",
            f"{base}/bucket/k.bin",
            headers={"Content-Type": "application/octet-stream"},
            data=b"\0" * (16 * 1024 * 1024),
            deadline_s=1.0,
            limit=1024,
            timeout=(5.0, 5.0),
        )
    assert time.monotonic() - started < 3
    time.sleep(0.2)
    assert received and received[-1] < 16 * 1024 * 1024


def test_every_request_has_a_timeout_and_never_follows_redirects(sandbox_settings, switch):
    """A spy on a real session: the normal path and the expired-URL path (presign, PUT, fresh presign, PUT)."""
    calls: list[dict[str, Any]] = []

    class Spy(requests.Session):
        def request(self, method, url, *args, **kwargs):
            calls.append(
                {"method": method, "timeout": kwargs.get("timeout"), "redirects": kwargs.get("allow_redirects")}
            )
            return super().request(method, url, *args, **kwargs)

    with Spy() as session:
        assert upload_one(UploadInput("a.png", image_bytes()), sandbox_settings, session, policy()).ok
        switch("urls-expire")
        upload_one(UploadInput("b.png", image_bytes()), sandbox_settings, session, policy())
    assert [c["method"] for c in calls] == ["GET", "PUT", "GET", "GET", "PUT", "GET", "PUT"]
    for call in calls:
        connect, read = call["timeout"]
        assert 0 < connect <= 30 and 0 < read <= 60
        assert call["redirects"] is False


# --- S3 faults on the PUT -------------------------------------------------------------------------------


def test_s3_slowdown_is_retried_with_backoff_and_the_bytes_arrive_whole(sandbox_settings):
    data = image_bytes(size=(120, 90))
    puts = Recorder()

    def s3(req, body, store):
        if puts.add(req, body) <= 2:
            return 503, XML, s3_error("SlowDown", "Please reduce your request rate.")
        store[req.path.split("?")[0].removeprefix("/pipeline-sandbox/")] = body
        return 200, {"ETag": '"e"'}, b""

    waits = Waits()
    with fake_pipeline(s3) as (s3_base, cdn, _store):
        settings = with_s3_endpoint(sandbox_settings, s3_base, cdn_url=cdn)
        result = via_presign(settings, signed(s3_base, "/pipeline-sandbox/k.png"), data=data, pol=policy(waits))
    assert result.ok, result.failed_step
    put = result.steps[2]
    assert put.name == "put" and put.attempts == 3 and "HTTP 503, HTTP 503, HTTP 200" in put.note
    assert len(waits.waits) == 2
    for call in puts.calls:  # each attempt sends the whole file, with its length (S3 refuses chunked uploads)
        assert call["body"] == data and call["headers"]["Content-Length"] == str(len(data))
        assert call["headers"]["Content-Type"] == "image/png"
    assert result.sha256 == hashlib.sha256(data).hexdigest()


def test_s3_slowdown_gives_up_after_three_attempts(sandbox_settings):
    with http_server(lambda _req: (503, XML, s3_error("SlowDown", "Please reduce your request rate."))) as (s3, puts):
        result = via_presign(with_s3_endpoint(sandbox_settings, s3), signed(s3, "/pipeline-sandbox/k.png"))
    step = result.failed_step
    assert step.name == "put" and step.code == "SlowDown" and step.attempts == 3
    assert "(3 attempts)" in step.error and "slow down" in step.cause
    assert [p["method"] for p in puts] == ["PUT"] * 3


@pytest.mark.parametrize(("status", "code"), [(500, "InternalError"), (403, "AccessDenied"), (400, "EntityTooLarge")])
def test_other_s3_refusals_are_not_retried(sandbox_settings, status, code):
    with http_server(lambda _req: (status, XML, s3_error(code, "no"))) as (s3, puts):
        result = via_presign(with_s3_endpoint(sandbox_settings, s3), signed(s3, "/pipeline-sandbox/k.png"))
    assert result.failed_step.code == code and result.failed_step.attempts == 1 and len(puts) == 1


def _counting_presign(sandbox, after_first: Callable[[], None] | None = None):
    calls = Recorder()

    def respond(req):
        n = calls.add(req)
        reply = forward_to(sandbox.endpoints.presign, req)
        if n == 1 and after_first is not None:
            after_first()
        return reply

    return calls, respond


def test_urls_that_expire_even_when_fresh_end_with_a_clear_error_after_two_presigns(
    sandbox_settings, sandbox, switch, bucket_keys
):
    before = bucket_keys()
    switch("urls-expire")
    calls, respond = _counting_presign(sandbox)
    with http_server(respond) as (base, _):
        result = upload(dataclasses.replace(sandbox_settings, presign_url=base))
    assert [s.name for s in result.steps] == ["validate", "presign", "presign_retry", "put"]
    step = result.failed_step
    assert step.name == "put" and step.http_status == 403 and step.code == "AccessDenied" and step.attempts == 2
    assert "expired even after a fresh URL" in step.error
    assert "to live 1 s" in step.cause and "ExpiresIn" in step.cause
    assert len(calls.calls) == 2  # exactly one fresh presign: no loop
    assert bucket_keys() == before


def test_an_expired_url_gets_one_fresh_url_and_the_upload_goes_through(sandbox_settings, sandbox, switch, bucket_keys):
    before = bucket_keys()
    switch("urls-expire")  # the first URL comes back already expired; the fresh one is normal
    calls, respond = _counting_presign(sandbox, after_first=lambda: sandbox.set_switch("urls-expire", False))
    with http_server(respond) as (base, _):
        result = upload(dataclasses.replace(sandbox_settings, presign_url=base))
    assert result.ok, result.failed_step
    assert [s.name for s in result.steps] == ["validate", "presign", "presign_retry", "put", "cdn_read"]
    put = result.steps[3]
    assert put.attempts == 2 and "fresh" in put.note
    assert "expired" in result.steps[2].note
    assert len(calls.calls) == 2
    assert bucket_keys() - before == {result.key}  # only the fresh key holds an object


def test_an_expired_url_whose_fresh_presign_fails_names_both(sandbox_settings):
    expired = s3_error(
        "AccessDenied", "Request has expired", Expires="2024-01-01T00:00:01Z", ServerTime="2024-01-01T00:00:05Z"
    )
    with http_server(lambda _req: (403, XML, expired)) as (s3, puts):
        presigns = Recorder()

        def presign(req):
            if presigns.add(req) == 1:
                return grant_reply(signed(s3, "/pipeline-sandbox/k.png"), "k.png")
            return 500, JSON, b'{"message": "Internal Server Error"}'

        with http_server(presign) as (base, _):
            result = upload(with_s3_endpoint(sandbox_settings, s3, presign_url=base))
    assert [(s.name, s.ok) for s in result.steps] == [
        ("validate", True),
        ("presign", True),
        ("put", False),
        ("presign_retry", False),
    ]
    assert result.failed_step.name == "put" and "had expired" in result.failed_step.error
    assert "presign endpoint failed" in result.failed_step.cause
    assert result.steps[3].http_status == 500
    assert len(puts) == 1 and len(presigns.calls) == 2


def test_clock_skew_names_both_clocks_and_the_difference(sandbox_settings):
    skewed = s3_error(
        "RequestTimeTooSkewed",
        "The difference between the request time and the current time is too large.",
        RequestTime="20240101T120000Z",
        ServerTime="2024-01-01T12:20:00Z",
        MaxAllowedSkewMilliseconds="900000",
    )
    here = datetime(2024, 1, 1, 11, 59, 30, tzinfo=UTC)
    with http_server(lambda _req: (403, XML, skewed)) as (s3, _):
        result = via_presign(
            with_s3_endpoint(sandbox_settings, s3),
            signed(s3, "/pipeline-sandbox/k.png"),
            pol=policy(clock=lambda: here),
        )
    step = result.failed_step
    assert step.name == "put" and step.code == "RequestTimeTooSkewed" and step.attempts == 1
    assert "ServerTime) read 2024-01-01T12:20:00Z" in step.cause
    assert "this machine's 2024-01-01T11:59:30Z" in step.cause
    assert "this machine is 20 min 30 s behind S3" in step.cause
    assert "dated 2024-01-01T12:00:00Z" in step.cause and "20 min 0 s behind S3" in step.cause


def test_signature_mismatch_names_the_signed_headers_and_the_type_sent(sandbox_settings, switch, bucket_keys):
    before = bucket_keys()
    switch("content-type-mismatch")  # the function signs application/png and stops saying so
    result = upload(dataclasses.replace(sandbox_settings, client_content_type="{mime}"))  # the app sends image/png
    step = result.failed_step
    assert step.name == "put" and step.http_status == 403 and step.code == "SignatureDoesNotMatch"
    assert "Signed headers (X-Amz-SignedHeaders): content-type, host" in step.cause
    assert "Content-Type sent: 'image/png'" in step.cause
    assert "no contentType" in step.cause
    assert bucket_keys() == before


# --- CDN read-back --------------------------------------------------------------------------------------


def test_a_cached_cdn_404_says_missing_or_denied_with_x_cache_and_age(sandbox_settings):
    cached = (404, {"X-Cache": "Error from cloudfront", "Age": "7", **XML}, s3_error("NoSuchKey", "gone"))
    with http_server(lambda _req: cached) as (cdn, _):
        result = upload(dataclasses.replace(sandbox_settings, cdn_url=cdn))
    step = result.failed_step
    assert step.name == "cdn_read" and step.http_status == 404 and step.code == "NoSuchKey"
    assert "not at the CDN's origin (the object exists)" in step.error  # the console's own HEAD found it
    assert "X-Cache: Error from cloudfront" in step.error and "Age: 7" in step.error
    assert "Age: 7" in step.cause and "cached" in step.cause


def test_a_cdn_denial_from_the_sandbox_shows_its_cache_headers(sandbox_settings, switch):
    switch("cdn-grant-missing")
    result = upload(sandbox_settings)
    step = result.failed_step
    assert step.name == "cdn_read" and step.http_status == 403
    assert "denied (the object exists)" in step.error and "X-Cache: Error from cloudfront" in step.error
    assert "Age: " in step.error


# --- the batch goes on ----------------------------------------------------------------------------------


def test_every_fault_leaves_the_batch_going_and_only_good_files_are_stored(
    sandbox_settings, sandbox, bucket_keys, monkeypatch
):
    """One presign endpoint that misbehaves differently per file type, in front of the real one."""
    monkeypatch.setattr("services.pipeline.upload.DEFAULT_POLICY", policy())
    before = bucket_keys()

    def per_type(req):
        ext = req.headers["x-extension"]
        if ext == "gif":
            return 502, JSON, b'{"message": "Bad Gateway"}'
        if ext == "jpg":
            return 200, {"Content-Type": "text/html"}, b"<html>maintenance</html>"
        status, headers, body = forward_to(sandbox.endpoints.presign, req)
        if ext == "webp":  # signed for another bucket
            doc = json.loads(body)
            doc["presignedUrl"] = doc["presignedUrl"].replace("pipeline-sandbox.", "someone-else.", 1)
            body = json.dumps(doc).encode()
        return status, headers, body

    items = [
        UploadInput("anim.gif", image_bytes("GIF")),
        UploadInput("good.png", image_bytes()),
        UploadInput("photo.jpg", image_bytes("JPEG")),
        UploadInput("pic.webp", image_bytes("WEBP")),
        UploadInput("also-good.png", image_bytes(colour="blue")),
    ]
    with http_server(per_type) as (base, _):
        results = dict(upload_batch(items, dataclasses.replace(sandbox_settings, presign_url=base), workers=3))
    assert [results[i].ok for i in range(5)] == [False, True, False, False, True]
    assert "HTTP 502 (3 attempts)" in results[0].failed_step.error
    assert "not with JSON" in results[2].failed_step.error
    assert "for bucket 'someone-else'" in results[3].failed_step.error
    assert all(results[i].failed_step.name == "presign" for i in (0, 2, 3))
    assert bucket_keys() - before == {results[1].key, results[4].key}


# --- the allowlist, as properties -----------------------------------------------------------------------

AWS = UrlAllowlist("photos", "ap-northeast-2")
SANDBOX = UrlAllowlist("pipeline-sandbox", "ap-northeast-2", Endpoint.parse("http://127.0.0.1:4566"))
#: (scheme, host, port, style) each configuration allows: written out by hand, independently of the code
ALLOWED = {
    AWS: {
        ("https", "photos.s3.ap-northeast-2.amazonaws.com", 443, "virtual"),
        ("https", "photos.s3.dualstack.ap-northeast-2.amazonaws.com", 443, "virtual"),
        ("https", "photos.s3-accelerate.amazonaws.com", 443, "virtual"),
        ("https", "s3.ap-northeast-2.amazonaws.com", 443, "path"),
    },
    SANDBOX: {
        ("https", "pipeline-sandbox.s3.ap-northeast-2.amazonaws.com", 443, "virtual"),
        ("https", "pipeline-sandbox.s3.dualstack.ap-northeast-2.amazonaws.com", 443, "virtual"),
        ("https", "pipeline-sandbox.s3-accelerate.amazonaws.com", 443, "virtual"),
        ("https", "s3.ap-northeast-2.amazonaws.com", 443, "path"),
        ("http", "127.0.0.1", 4566, "path"),
        ("http", "pipeline-sandbox.s3.ap-northeast-2.localhost", 4566, "virtual"),
    },
}
KEY = "k.png"


def oracle(allow: UrlAllowlist, url: str, key: str = KEY) -> bool:
    """Whether ``url`` has one of the allowed shapes, by the table above."""
    try:
        parts = urlsplit(url)
        port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    except ValueError:
        return False
    if "@" in parts.netloc or parts.fragment or "#" in url or not url.isascii() or any(c in url for c in " \\\t\n\r"):
        return False
    for scheme, host, allowed_port, style in ALLOWED[allow]:
        if (parts.scheme, (parts.hostname or ""), port) == (scheme, host, allowed_port):
            prefix = "/" if style == "virtual" else f"/{allow.bucket}/"
            return parts.path.startswith(prefix) and unquote(parts.path[len(prefix) :]) == key
    return False


def verdict(allow: UrlAllowlist, url: str, key: str = KEY) -> bool:
    """True when the validator lets ``url`` through; any exception but PipelineError fails the test."""
    try:
        check_upload_url(url, key, allow)
    except PipelineError:
        return False
    return True


HOSTS = st.sampled_from(
    [
        "photos.s3.ap-northeast-2.amazonaws.com",
        "PHOTOS.S3.AP-NORTHEAST-2.AMAZONAWS.COM",
        "photos.s3.ap-northeast-2.amazonaws.com.",
        "photos.s3.eu-west-1.amazonaws.com",
        "photos.s3.amazonaws.com",
        "photos.s3-ap-northeast-2.amazonaws.com",
        "photos.s3.dualstack.ap-northeast-2.amazonaws.com",
        "photos.s3-accelerate.amazonaws.com",
        "photos.s3.ap-northeast-2.amazonaws.com.cn",
        "s3.ap-northeast-2.amazonaws.com",
        "s3.dualstack.ap-northeast-2.amazonaws.com",
        "s3.amazonaws.com",
        "xphotos.s3.ap-northeast-2.amazonaws.com",
        "photos.s3.ap-northeast-2.amazonaws.com.evil.example",
        "evil.example",
        "pipeline-sandbox.s3.ap-northeast-2.localhost",
        "pipeline-sandbox.s3.eu-west-1.localhost",
        "other.s3.ap-northeast-2.localhost",
        "pipeline-sandbox.s3.ap-northeast-2.amazonaws.com",
        "pipeline-sandbox.127.0.0.1",
        "localhost",
        "127.0.0.1",
        "127.1",
        "2130706433",
        "0x7f.0.0.1",
        "169.254.169.254",
        "[::1]",
        "[fe80::1]",
        "[::ffff:169.254.169.254]",
        "10.0.0.1",
    ]
)
PATHS = st.sampled_from(
    ["/k.png", "/K.png", "/k%2Epng", "/photos/k.png", "/pipeline-sandbox/k.png", "/other/k.png", "/a/../k.png", "", "/"]
)


@st.composite
def urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["https", "http", "HTTPS", "ftp", "javascript"]))
    userinfo = draw(st.sampled_from(["", "", "", "user@", "user:pass@", "@"]))
    port = draw(st.sampled_from(["", "", ":443", ":80", ":4566", ":4567", ":0"]))
    query = draw(st.sampled_from(["", "?X-Amz-Signature=abc&X-Amz-SignedHeaders=host", "?"]))
    fragment = draw(st.sampled_from(["", "", "#x"]))
    return f"{scheme}://{userinfo}{draw(HOSTS)}{port}{draw(PATHS)}{query}{fragment}"


@st.composite
def near_misses(draw: st.DrawFn) -> tuple[UrlAllowlist, str]:
    """An allowed URL, as is or with one part changed: the cases where a validator is most likely wrong."""
    allow = draw(st.sampled_from([AWS, SANDBOX]))
    scheme, host, port, style = draw(st.sampled_from(sorted(ALLOWED[allow])))
    parts = {
        "scheme": scheme,
        "userinfo": "",
        "host": host,
        "port": "" if port == 443 else f":{port}",
        "path": "/k.png" if style == "virtual" else f"/{allow.bucket}/k.png",
        "query": "?X-Amz-Signature=abc",
    }
    change = draw(st.sampled_from([None, None, "scheme", "userinfo", "host", "port", "path", "query"]))
    if change == "host":
        parts["host"] = draw(HOSTS | st.sampled_from([host + ".", host.upper(), "x" + host, host + ".evil.example"]))
    elif change == "path":
        parts["path"] = draw(PATHS | st.sampled_from(["/k.png/", "//k.png", "/k.png%00", "/%6B.png"]))
    elif change is not None:
        options = {
            "scheme": ["http", "https", "HTTP", "ftp"],
            "userinfo": ["a@", "a:b@", "@"],
            "port": ["", ":443", ":80", ":4566", ":4567", ":65536"],
            "query": ["", "#frag", "?a=b#", "?X-Amz-Signature=a&X-Amz-Signature=b"],
        }[change]
        parts[change] = draw(st.sampled_from(options))
    url = f"{parts['scheme']}://{parts['userinfo']}{parts['host']}{parts['port']}{parts['path']}{parts['query']}"
    return allow, url


@given(allow=st.sampled_from([AWS, SANDBOX]), url=urls())
@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_structured_urls_pass_exactly_when_they_have_an_allowed_shape(allow, url):
    assert verdict(allow, url) == oracle(allow, url), url


@given(case=near_misses())
@settings(max_examples=3000, deadline=None)
def test_near_misses_of_allowed_urls_pass_exactly_when_still_allowed(case):
    allow, url = case
    assert verdict(allow, url) == oracle(allow, url), url


#: allowed beginnings, so arbitrary tails probe what may follow them (``@evil``, ``.evil``, ``:99``, ``\\``, ...)
ALLOWED_STARTS = st.sampled_from(
    [
        "https://photos.s3.ap-northeast-2.amazonaws.com",
        "https://s3.ap-northeast-2.amazonaws.com/photos",
        "http://127.0.0.1:4566",
        "http://pipeline-sandbox.s3.ap-northeast-2.localhost:4566",
    ]
)
ARBITRARY = (
    st.text(max_size=120)
    | st.builds("https://{}".format, st.text())
    | st.builds("{}{}".format, ALLOWED_STARTS, st.text(max_size=40))
    | st.builds("{}{}/k.png".format, ALLOWED_STARTS, st.text(max_size=20))
)


@given(allow=st.sampled_from([AWS, SANDBOX]), url=ARBITRARY)
@settings(max_examples=3000, deadline=None)
def test_arbitrary_text_never_passes_unless_it_has_an_allowed_shape(allow, url):
    if verdict(allow, url):
        assert oracle(allow, url), url


@given(key=st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=60))
@settings(max_examples=500, deadline=None)
def test_every_key_quoted_as_boto_does_passes_unless_it_has_dot_segments(key):
    url = f"https://photos.s3.ap-northeast-2.amazonaws.com/{quote(key, safe='/~')}?X-Amz-Signature=a"
    dot_segments = any(part in (".", "..") for part in key.split("/"))
    assert verdict(AWS, url, key) == (not dot_segments), key
    assume(not dot_segments)
    assert not verdict(AWS, url, key + "x")  # and only for its own key


@pytest.mark.parametrize(
    ("allow", "url", "ok"),
    [
        (UrlAllowlist("photos", "us-east-1"), "https://photos.s3.amazonaws.com/k.png", True),
        (UrlAllowlist("photos", "us-east-1"), "https://s3.amazonaws.com/photos/k.png", True),
        (UrlAllowlist("photos", "us-east-1"), "https://photos.s3.us-east-1.amazonaws.com/k.png", True),
        (UrlAllowlist("photos", "eu-west-1"), "https://photos.s3.amazonaws.com/k.png", False),
        (UrlAllowlist("photos", None), "https://photos.s3.amazonaws.com/k.png", True),
        (UrlAllowlist("photos", None), "https://photos.s3.sa-east-1.amazonaws.com/k.png", True),
        (UrlAllowlist("photos", None), "https://photos.s3.us-gov-west-1.amazonaws.com/k.png", True),
        (UrlAllowlist("photos", None), "https://other.s3.sa-east-1.amazonaws.com/k.png", False),
        (UrlAllowlist("photos", None), "https://photos.s3.not_a_region.amazonaws.com/k.png", False),
        (UrlAllowlist("photos", "cn-north-1"), "https://photos.s3.cn-north-1.amazonaws.com.cn/k.png", True),
        (UrlAllowlist("photos", "cn-north-1"), "https://photos.s3.cn-north-1.amazonaws.com/k.png", False),
        (UrlAllowlist("photos", "cn-north-1"), "https://photos.s3-accelerate.amazonaws.com/k.png", False),
        (UrlAllowlist("photos", "eu-west-1"), "https://photos.s3.eu-west-1.amazonaws.com.cn/k.png", False),
        (UrlAllowlist("photos", "eu-west-1"), "https://photos.s3.eu-west-1.amazonaws.com:8443/k.png", False),
        (
            UrlAllowlist("photos", "eu-west-1", Endpoint.parse("https://minio.example:9000")),
            "https://minio.example:9000/photos/k.png",
            True,
        ),
        (
            UrlAllowlist("photos", "eu-west-1", Endpoint.parse("https://minio.example:9000")),
            "https://photos.minio.example:9000/k.png",
            True,
        ),
        (
            UrlAllowlist("photos", "eu-west-1", Endpoint.parse("https://minio.example:9000")),
            "https://photos.minio.example/k.png",
            False,
        ),
        (
            UrlAllowlist("photos", "eu-west-1", Endpoint.parse("https://minio.example:9000")),
            "http://minio.example:9000/photos/k.png",
            False,
        ),
        (UrlAllowlist("photos", "eu-west-1"), "https://photos.s3.eu-west-1.localhost/k.png", False),
        (UrlAllowlist("s3", "eu-west-1"), "https://s3.eu-west-1.amazonaws.com/s3/k.png", True),
        (UrlAllowlist("s3", "eu-west-1"), "https://s3.s3.eu-west-1.amazonaws.com/k.png", True),
    ],
)
def test_allowed_shapes_by_region_and_endpoint(allow, url, ok):
    assert verdict(allow, url) == ok
