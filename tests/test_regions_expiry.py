"""Regions, endpoints and URL lifetimes: what S3 answers a URL signed for another region or sent to another region's
(or the global) endpoint, over HTTP against the sandbox; how the upload trace and the checks name it; and the
lifetime judge over recorded evidence."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

from services.aws_model import s3endpoints
from services.aws_model.s3errors import parse_s3_error
from services.checks.bucket_region import with_bucket_region
from services.checks.evidence import Canary, CanaryTiming, CheckTarget, Evidence
from services.checks.findings import Tally
from services.checks.lifetime import judge_url_lifetime
from services.checks.model import ConfigRead, Exchange, ReadState, Status
from services.checks.runner import run_checks
from services.core import localdns
from services.core.transport import new_session
from services.pipeline.upload import UploadInput, upload_one
from services.sandbox import layout
from tests.support import image_bytes

WRONG_SCOPE = (
    "Error parsing the X-Amz-Credential parameter; the region 'us-west-2' is wrong; expecting 'ap-northeast-2'"
)


def grant(sandbox) -> dict:
    localdns.install()
    reply = requests.get(sandbox.endpoints.presign, headers={"x-extension": "png"}, timeout=30)
    assert reply.status_code == 200, reply.text
    return reply.json()


def put(url: str, content_type: str = "image/png") -> requests.Response:
    return requests.put(url, data=b"png", headers={"Content-Type": content_type}, timeout=30, allow_redirects=False)


def upload(settings, origin: str | None = None):
    with new_session() as session:
        return upload_one(UploadInput("photo.png", image_bytes()), settings, session, origin=origin)


# --- the sandbox answers as S3 does ------------------------------------------------------------------------


def test_a_url_signed_for_another_region_gets_authorization_query_parameters_error(sandbox, switch):
    switch("function-wrong-region")
    reply = grant(sandbox)
    assert "%2Fus-west-2%2Fs3%2F" in reply["presignedUrl"]
    assert urlsplit(reply["presignedUrl"]).hostname == f"{layout.BUCKET}.s3.{layout.REGION}.localhost"
    answer = put(reply["presignedUrl"], reply["contentType"])
    error = parse_s3_error(answer.content)
    assert (answer.status_code, error.code, error.message) == (400, "AuthorizationQueryParametersError", WRONG_SCOPE)
    assert error.fields["Region"] == layout.REGION


def test_a_url_on_the_global_endpoint_gets_a_temporary_redirect_a_preflight_cannot_follow(sandbox, switch):
    switch("function-global-endpoint")
    reply = grant(sandbox)
    url = reply["presignedUrl"]
    assert urlsplit(url).hostname == f"{layout.BUCKET}.s3.localhost"
    answer = put(url, reply["contentType"])
    error = parse_s3_error(answer.content)
    assert (answer.status_code, error.code) == (307, "TemporaryRedirect")
    assert error.message == s3endpoints.MSG_TEMPORARY_REDIRECT
    assert error.fields["Endpoint"] == f"{layout.BUCKET}.s3.{layout.REGION}.localhost"
    assert error.fields["Bucket"] == layout.BUCKET
    assert answer.headers["x-amz-bucket-region"] == layout.REGION
    assert urlsplit(answer.headers["Location"]).hostname == f"{layout.BUCKET}.s3.{layout.REGION}.localhost"
    preflight = requests.options(
        url.split("?", 1)[0],
        headers={"Origin": layout.APP_ORIGIN, "Access-Control-Request-Method": "PUT"},
        timeout=30,
        allow_redirects=False,
    )
    assert preflight.status_code == 307 and "Access-Control-Allow-Origin" not in preflight.headers


@pytest.mark.parametrize(
    "host_of",
    [
        lambda port: (f"{layout.BUCKET}.s3.us-west-2.localhost:{port}", "/k.png"),  # another region's name
        lambda port: (f"s3.localhost:{port}", f"/{layout.BUCKET}/k.png"),  # path-style on the global name
        lambda port: (f"s3.eu-west-1.localhost:{port}", f"/{layout.BUCKET}/k.png"),
    ],
)
def test_another_regions_endpoint_gets_a_permanent_redirect_naming_the_buckets(sandbox, host_of):
    localdns.install()
    port = urlsplit(sandbox.endpoints.s3).port
    netloc, path = host_of(port)
    answer = put(urlunsplit(("http", netloc, path, "", "")))
    error = parse_s3_error(answer.content)
    assert (answer.status_code, error.code, error.message) == (
        301,
        "PermanentRedirect",
        "The bucket you are attempting to access must be addressed using the specified endpoint. "
        "Please send all future requests to this endpoint.",
    )
    assert error.fields["Endpoint"] == f"{layout.BUCKET}.s3.{layout.REGION}.localhost"
    assert error.fields["Bucket"] == layout.BUCKET


def test_the_buckets_own_regional_names_are_not_redirected(sandbox):
    localdns.install()
    port = urlsplit(sandbox.endpoints.s3).port
    for url in (
        f"http://{layout.BUCKET}.s3.{layout.REGION}.localhost:{port}/k.png",
        f"http://s3.{layout.REGION}.localhost:{port}/{layout.BUCKET}/k.png",
    ):
        answer = put(url)  # unsigned: refused, but by authorisation, not routing
        assert answer.status_code == 403 and parse_s3_error(answer.content).code == "AccessDenied", url


# --- the upload trace names them, with the fix -------------------------------------------------------------


def test_an_upload_signed_for_another_region_is_explained_with_the_clients_fix(sandbox_settings, switch):
    switch("function-wrong-region")
    result = upload(sandbox_settings)
    step = result.failed_step
    assert (step.name, step.http_status, step.code) == ("put", 400, "AuthorizationQueryParametersError")
    assert "signed for region us-west-2" in step.cause and f"bucket is in {layout.REGION}" in step.cause
    assert f"region_name='{layout.REGION}'" in step.cause and "'addressing_style': 'virtual'" in step.cause


def test_an_upload_on_the_global_endpoint_is_refused_before_sending_naming_the_fix(sandbox_settings, switch):
    switch("function-global-endpoint")
    result = upload(sandbox_settings)
    step = result.failed_step
    assert step.name == "presign" and "global endpoint" in step.error
    assert "Nothing was sent" in step.cause and f"region_name='{layout.REGION}'" in step.cause


def test_without_a_configured_region_the_browsers_preflight_meets_the_redirect_and_stops(sandbox_settings, switch):
    switch("function-global-endpoint")
    anywhere = dataclasses.replace(sandbox_settings, aws=dataclasses.replace(sandbox_settings.aws, region=None))
    result = upload(anywhere, layout.APP_ORIGIN)
    step = result.failed_step
    assert (step.name, step.http_status, step.code) == ("put_preflight", 307, "TemporaryRedirect")
    assert "cannot follow a redirect" in step.cause and f"{layout.BUCKET}.s3.{layout.REGION}.localhost" in step.cause
    assert "put" not in [s.name for s in result.steps]


# --- the checks over the sandbox ----------------------------------------------------------------------------


def test_the_url_check_reads_the_buckets_location_and_the_lifetime_check_measures_the_delay(sandbox_settings):
    report = run_checks(sandbox_settings, only=["presign.url", "upload.url_lifetime"])
    found = {f.id: f for f in report.findings}
    assert f"GetBucketLocation: bucket '{layout.BUCKET}' is in {layout.REGION}" in found["presign.url"].detail
    lifetime = found["upload.url_lifetime"]
    assert lifetime.status == Status.PASS and lifetime.codes == ("lifetime.ok",), lifetime
    assert "URLs live 300 s" in lifetime.detail and "agrees with S3's Date" in lifetime.detail


def test_urls_living_one_second_fail_the_lifetime_check_naming_the_measured_delay(sandbox_settings, switch):
    switch("urls-expire")
    found = {f.id: f for f in run_checks(sandbox_settings, only=["presign.url", "upload.url_lifetime"]).findings}
    url, lifetime = found["presign.url"], found["upload.url_lifetime"]
    assert url.status == Status.WARN and "url.expiry_short" in url.codes  # no longer a pass "Expires in 1 s"
    assert lifetime.status == Status.FAIL and "lifetime.too_short" in lifetime.codes
    assert "URLs live 1 s" in lifetime.detail
    measured = re.search(
        r"the canary's PUT went (\d+\.\d) s after it asked for its URL \(the endpoint took", lifetime.detail
    )
    assert measured is not None and float(measured[1]) >= 1.5, lifetime.detail  # the API answers after 1.5 s
    assert "Request has expired" in lifetime.detail and "URL_EXPIRES_SECONDS=300" in lifetime.fix


# --- judges over recorded evidence --------------------------------------------------------------------------

NOW = datetime(2026, 12, 2, 4, 0, 0, tzinfo=UTC)
TARGET = CheckTarget("http://presign", layout.BUCKET, "http://cdn", layout.REGION, lambda_function="presign")


def canary_evidence(
    *,
    expires: int = 300,
    delay: float = 0.3,
    presign_ms: float = 200.0,
    machine_ahead: float = 0.0,
    function_ahead: float = 0.0,
    put_status: int = 200,
    put_body: str = "",
) -> Evidence:
    """A canary whose function signed at NOW + function_ahead, whose PUT S3 answered at NOW + delay by its clock,
    seen by this machine's clock ``machine_ahead`` s ahead of S3's."""
    signed = NOW + timedelta(seconds=function_ahead)
    url = (
        f"https://{layout.BUCKET}.s3.{layout.REGION}.amazonaws.com/k.png?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        f"&X-Amz-Credential=REDACTED/20261202/{layout.REGION}/s3/aws4_request&X-Amz-Date={signed:%Y%m%dT%H%M%SZ}"
        f"&X-Amz-Expires={expires}&X-Amz-SignedHeaders=content-type%3Bhost&X-Amz-Signature=REDACTED"
    )
    body = '{"presignedUrl": "' + url + '", "key": "k.png"}'
    presign = Exchange("GET", "http://presign", status=200, body=body, ms=presign_ms)
    s3_at = NOW + timedelta(seconds=delay)
    answer = Exchange("PUT", url, status=put_status, response_headers={"Date": format_datetime(s3_at, usegmt=True)})
    answer = dataclasses.replace(answer, body=put_body, ms=20.0)
    local = timedelta(seconds=machine_ahead)
    timing = CanaryTiming(delay, NOW + local, s3_at + local + timedelta(seconds=0.02))
    return Evidence(TARGET, NOW, canary=Canary(presign=presign, key="k.png", put=answer, timing=timing))


EXPIRED = "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"


@pytest.mark.parametrize(
    ("case", "kwargs", "status", "codes"),
    [
        ("healthy", {}, Status.PASS, ("lifetime.ok",)),
        (
            "1 s URL, 1.5 s delay, S3 says expired",
            {"expires": 1, "delay": 1.5, "presign_ms": 1500, "put_status": 403, "put_body": EXPIRED},
            Status.FAIL,
            ("lifetime.too_short",),
        ),
        (
            "2 s URL, 2.5 s delay (the PUT not refused)",
            {"expires": 2, "delay": 2.5},
            Status.FAIL,
            ("lifetime.too_short",),
        ),
        ("5 s URL, 1 s delay", {"expires": 5, "delay": 1.0}, Status.WARN, ("lifetime.thin_margin",)),
        ("this machine 60 s ahead", {"machine_ahead": 60}, Status.WARN, ("clock.skewed",)),
        ("this machine 20 minutes behind", {"machine_ahead": -1200}, Status.FAIL, ("clock.too_skewed",)),
        ("the function 40 s behind", {"function_ahead": -40}, Status.WARN, ("clock.function_skewed",)),
        ("the function 20 minutes ahead", {"function_ahead": 1200}, Status.FAIL, ("clock.function_too_far_ahead",)),
        ("both within a second", {"machine_ahead": 0.8, "function_ahead": 1}, Status.PASS, ("lifetime.ok",)),
    ],
)
def test_the_lifetime_judge(case, kwargs, status, codes):
    found = judge_url_lifetime(canary_evidence(**kwargs))
    assert (found.status, found.codes) == (status, codes), (case, found.title, found.detail)
    if status is Status.FAIL and codes == ("lifetime.too_short",):
        assert f"URLs live {kwargs['expires']} s" in found.detail and f"{kwargs['delay']:.1f} s after" in found.detail
        assert "ExpiresIn=300" in found.fix and "--function-name presign" in found.fix


def test_the_lifetime_judge_is_unknown_without_a_canary_put():
    ev = canary_evidence()
    found = judge_url_lifetime(dataclasses.replace(ev, canary=dataclasses.replace(ev.canary, put=None)))
    assert (found.status, found.codes) == (Status.UNKNOWN, ("lifetime.not_measured",))
    assert judge_url_lifetime(dataclasses.replace(ev, canary=None)).status == Status.UNKNOWN


def location(state: ReadState, value: str | None = None, code: str | None = None) -> Evidence:
    read = ConfigRead("s3:GetBucketLocation", state, value, code, "Access Denied" if code else None)
    return Evidence(TARGET, NOW, bucket_location=read)


def test_the_bucket_region_replaces_the_configured_one_and_a_denied_read_is_unknown():
    tally = Tally()
    judged = with_bucket_region(location(ReadState.OK, "eu-west-1"), tally)
    assert judged.target.region == "eu-west-1" and tally.codes == ["url.configured_region_wrong"]
    assert "AWS_REGION=eu-west-1" in tally.fixes[0]
    tally = Tally()
    kept = with_bucket_region(location(ReadState.DENIED, code="AccessDenied"), tally)
    assert kept.target.region == layout.REGION and tally.status() == Status.UNKNOWN
    assert tally.codes == ["url.bucket_region_unknown"] and '"Action": "s3:GetBucketLocation"' in tally.fixes[0]
    assert "not a verdict" in tally.unknowns[0] and f"the configured region {layout.REGION} only" in tally.unknowns[0]
    tally = Tally()
    assert with_bucket_region(location(ReadState.OK, layout.REGION), tally).target.region == layout.REGION
    assert tally.status() == Status.PASS


def test_get_bucket_location_quirks():
    assert s3endpoints.bucket_region(None) == "us-east-1"
    assert s3endpoints.bucket_region("") == "us-east-1"
    assert s3endpoints.bucket_region("EU") == "eu-west-1"
    assert s3endpoints.bucket_region("ap-northeast-2") == "ap-northeast-2"


def test_what_s3_answers_at_the_wrong_endpoint():
    def at(host: str, path: str = "/k.png"):
        named = s3endpoints.address(host, 443, path)
        assert named is not None
        return s3endpoints.wrong_endpoint(named, "ap-northeast-2")

    moved = at("photos.s3.us-west-2.amazonaws.com")
    assert moved is not None and (moved.status, moved.code) == (301, "PermanentRedirect")
    assert moved.endpoint == "photos.s3.ap-northeast-2.amazonaws.com"
    temporary = at("photos.s3.amazonaws.com")
    assert temporary is not None and (temporary.status, temporary.code) == (307, "TemporaryRedirect")
    path_global = at("s3.amazonaws.com", "/photos/k.png")
    assert path_global is not None and path_global.status == 301
    assert at("photos.s3.ap-northeast-2.amazonaws.com") is None
    assert at("photos.s3-accelerate.amazonaws.com") is None
    assert s3endpoints.wrong_endpoint(s3endpoints.address("photos.s3.amazonaws.com", 443, "/k"), "us-east-1") is None
