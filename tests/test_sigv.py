"""The sandbox's S3 authentication (services.sandbox.sigv) against requests botocore itself signed.

Every URL and header-signed request here comes from boto3/botocore with dummy credentials: presigned
PUTs with the Content-Type signed (SigV4 path- and virtual-hosted, on a local endpoint and on the real
AWS host; SigV2), and boto3's own header-signed PutObject calls. The verifier must accept each one as
sent, refuse each tampering the way S3 does, and report what botocore computed when it refuses.
"""

from __future__ import annotations

import hashlib
import logging
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import boto3
import pytest
from botocore.auth import HmacV1QueryAuth, S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.config import Config
from botocore.credentials import Credentials

from services.core.redact import RedactingFilter
from services.sandbox import sigv

ACCESS_KEY = "AKIASANDBOXEXAMPLE01"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SECRETS: dict[str, str] = {ACCESS_KEY: SECRET_KEY}
REGION = "ap-northeast-2"
BUCKET = "pipeline-sandbox"
SIGNED_TYPE = "application/png"  # what the seed's Lambda signs
OTHER_TYPE = "image/png"  # what a browser sends for a .png
LOCAL = "http://127.0.0.1:9000"
LOCAL_NAME = "http://localhost:9000"
AWS = f"https://s3.{REGION}.amazonaws.com"
TOKEN = "IQoJb3JpZ2luX2VjEJr//////////wEaDmFwLW5vcnRoZWFzdC0y+session/token=="

V4_SHAPES = [
    pytest.param(LOCAL, "path", id="local-path"),
    pytest.param(LOCAL_NAME, "virtual", id="local-virtual"),
    pytest.param(AWS, "path", id="aws-path"),
    pytest.param(AWS, "virtual", id="aws-virtual"),
]
AWKWARD_KEYS = [
    pytest.param("my holiday photo.png", id="spaces"),
    pytest.param("사진/여름 바다.png", id="unicode"),
    pytest.param("a+b=c&d.png", id="plus-equals-ampersand"),
    pytest.param("100% café (1)!*'~.png", id="percent-and-sub-delims"),
    pytest.param("dir//double/./slash/../x.png", id="dot-segments"),
]


# --- signing with botocore -------------------------------------------------------------------


def s3_client(signature_version: str, endpoint: str, addressing: str, region: str = REGION, token: str | None = None):
    return boto3.client(
        "s3",
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        aws_session_token=token,
        config=Config(signature_version=signature_version, s3={"addressing_style": addressing}),
    )


def presign(
    signature_version: str = "s3v4",
    endpoint: str = AWS,
    addressing: str = "virtual",
    *,
    key: str = "3f1c9a.png",
    expires: int = 3600,
    region: str = REGION,
    token: str | None = None,
) -> str:
    """A presigned PUT as the Lambda makes it: Content-Type signed."""
    client = s3_client(signature_version, endpoint, addressing, region, token)
    params = {"Bucket": BUCKET, "Key": key, "ContentType": SIGNED_TYPE}
    return client.generate_presigned_url("put_object", Params=params, ExpiresIn=expires, HttpMethod="PUT")


@pytest.fixture(autouse=True)
def unredacted_signer_log():
    """These tests compare the sandbox's echo with what botocore's signer logged, so they need that log whole:
    the console's redacting filter (services.core.redact.guard_library_logs, installed by the entrypoints and by any
    earlier test that ran a page) is lifted for each test and put back after it."""
    logger = logging.getLogger("botocore.auth")
    installed = [f for f in logger.filters if isinstance(f, RedactingFilter)]
    for f in installed:
        logger.removeFilter(f)
    yield
    for f in installed:
        logger.addFilter(f)


def botocore_log(caplog: pytest.LogCaptureFixture) -> dict[str, str]:
    """What botocore's signer logged for the last signature: CanonicalRequest (v4) and StringToSign."""
    found: dict[str, str] = {}
    for record in caplog.records:
        if record.name == "botocore.auth" and isinstance(record.msg, str) and record.args:
            label = record.msg.split(":", 1)[0]
            if label in ("CanonicalRequest", "StringToSign"):
                found[label] = str(record.args[0])  # type: ignore[index]
    return found


def botocore_v4_for(url: str, method: str, headers: dict[str, str], token: str | None = None) -> tuple[str, str]:
    """Botocore's canonical request and string to sign for a presigned URL sent with these headers."""
    parts = urlsplit(url)
    query = "&".join(p for p in parts.query.split("&") if not p.startswith("X-Amz-Signature="))
    signer = S3SigV4QueryAuth(
        Credentials(ACCESS_KEY, SECRET_KEY, token), "s3", REGION, expires=int(param(url, "X-Amz-Expires"))
    )
    request = AWSRequest(method=method, url=urlunsplit(parts._replace(query=query)), headers=headers)
    request.context["timestamp"] = param(url, "X-Amz-Date")
    canonical = signer.canonical_request(request)
    return canonical, signer.string_to_sign(request, canonical)


def botocore_v2_for(url: str, method: str, headers: dict[str, str]) -> str:
    """Botocore's SigV2 string to sign for a presigned URL sent with these headers."""
    parts = urlsplit(url)
    expires = param(url, "Expires")

    class AtExpiry(HmacV1QueryAuth):
        def _get_date(self) -> str:
            return expires

    signer = AtExpiry(Credentials(ACCESS_KEY, SECRET_KEY))
    request = AWSRequest(method=method, url=url, headers=headers)
    auth_path = f"/{BUCKET}{parts.path}" if is_virtual(url) else None
    return signer.canonical_string(method, parts, request.headers, auth_path=auth_path)


# --- sending to the verifier -----------------------------------------------------------------


def param(url: str, name: str) -> str:
    for part in urlsplit(url).query.split("&"):
        key, _, value = part.partition("=")
        if key == name:
            return unquote(value)
    raise KeyError(name)


def with_param(url: str, name: str, value: str | None) -> str:
    """The URL with one query parameter replaced (None: removed), the rest byte for byte."""
    parts = urlsplit(url)
    kept = [p for p in parts.query.split("&") if p.partition("=")[0] != name]
    if value is not None:
        kept.append(f"{name}={quote(value, safe='')}")
    return urlunsplit(parts._replace(query="&".join(kept)))


def with_path(url: str, path: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=path))


def is_virtual(url: str) -> bool:
    return (urlsplit(url).hostname or "").startswith(f"{BUCKET}.")


def same_day_shift(at: datetime, seconds: int) -> str:
    """An X-Amz-Date some seconds away from ``at`` on the same day (the credential scope names the day)."""
    moved = at + timedelta(seconds=seconds)
    if moved.date() != at.date():
        moved = at - timedelta(seconds=seconds)
    return moved.strftime("%Y%m%dT%H%M%SZ")


def signed_at(url: str) -> datetime:
    if "X-Amz-Date=" in url:
        return datetime.strptime(param(url, "X-Amz-Date"), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return datetime.fromtimestamp(int(param(url, "Expires")) - 3600, UTC)


def verify(
    url: str,
    headers: dict[str, str] | None = None,
    *,
    method: str = "PUT",
    now: datetime | None = None,
    secrets: Callable[[str], str | None] = SECRETS.get,
    expected_region: str | None = REGION,
    allow_sigv2: bool = True,
) -> sigv.Verdict:
    """Verify the request a client makes with this URL, as the sandbox's front would."""
    parts = urlsplit(url)
    return sigv.verify_presigned(
        method,
        parts.netloc,
        parts.path,
        parts.query,
        {"Content-Type": SIGNED_TYPE} if headers is None else headers,
        secrets,
        now or signed_at(url) + timedelta(seconds=5),
        expected_region=expected_region,
        bucket=BUCKET,
        virtual_hosted=is_virtual(url),
        allow_sigv2=allow_sigv2,
    )


def refused(verdict: sigv.Verdict, status: int, code: str) -> sigv.S3Error:
    assert not verdict.ok, verdict
    assert not verdict.anonymous
    assert verdict.error is not None
    assert (verdict.error.status, verdict.error.code) == (status, code), verdict.error
    return verdict.error


def hex_bytes(text: str) -> str:
    return " ".join(f"{b:02x}" for b in text.encode())


# --- SigV4 presigned URLs --------------------------------------------------------------------


@pytest.mark.parametrize(("endpoint", "addressing"), V4_SHAPES)
def test_v4_url_sent_as_signed_verifies(endpoint: str, addressing: str) -> None:
    url = presign("s3v4", endpoint, addressing)
    assert param(url, "X-Amz-SignedHeaders") == "content-type;host"
    verdict = verify(url)
    assert verdict.ok, verdict.error
    assert (verdict.access_key_id, verdict.anonymous, verdict.auth) == (ACCESS_KEY, False, "sigv4-query")
    assert verdict.error is None
    assert verdict.payload_sha256 == "UNSIGNED-PAYLOAD"


@pytest.mark.parametrize(("endpoint", "addressing"), V4_SHAPES)
def test_v4_other_content_type_is_signature_mismatch_with_botocore_strings(endpoint: str, addressing: str) -> None:
    url = presign("s3v4", endpoint, addressing)
    error = refused(verify(url, {"Content-Type": OTHER_TYPE}), 403, "SignatureDoesNotMatch")
    assert error.message == sigv.MSG_SIGNATURE
    assert f"\ncontent-type:{OTHER_TYPE}\nhost:{urlsplit(url).netloc}\n" in error.fields["CanonicalRequest"]
    canonical, string_to_sign = botocore_v4_for(url, "PUT", {"Content-Type": OTHER_TYPE})
    assert error.fields["CanonicalRequest"] == canonical
    assert error.fields["StringToSign"] == string_to_sign
    assert error.fields["StringToSignBytes"] == hex_bytes(string_to_sign)
    assert error.fields["CanonicalRequestBytes"] == hex_bytes(canonical)
    assert error.fields["SignatureProvided"] == param(url, "X-Amz-Signature")
    assert error.fields["AWSAccessKeyId"] == ACCESS_KEY


def test_v4_mismatch_reports_exactly_what_botocore_signed(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="botocore.auth")
    url = presign("s3v4", LOCAL, "path", key="사진 1+2.png", token=TOKEN)
    signed = botocore_log(caplog)
    error = refused(verify(url, secrets=lambda _key: "not-the-secret"), 403, "SignatureDoesNotMatch")
    assert error.fields["CanonicalRequest"] == signed["CanonicalRequest"]
    assert error.fields["StringToSign"] == signed["StringToSign"]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda url, h: (url[:-1] + ("0" if url[-1] != "0" else "1"), h), id="signature"),
        pytest.param(lambda url, h: (url.replace("3f1c9a.png", "3f1c9b.png"), h), id="key-path"),
        pytest.param(lambda url, h: (with_param(url, "X-Amz-Expires", "7200"), h), id="expiry"),
        pytest.param(lambda url, h: (with_param(url, "X-Amz-Date", same_day_shift(signed_at(url), 1)), h), id="date"),
        pytest.param(lambda url, h: (url, {}), id="content-type-left-out"),
        pytest.param(lambda url, h: (url.replace("https://", "https://other-"), h), id="host"),
        pytest.param(lambda url, h: (with_param(url, "x-id", "PutObject"), h), id="extra-param"),
    ],
)
def test_v4_tampered_request_is_signature_mismatch(tamper: Callable[..., Any]) -> None:
    url = presign("s3v4", AWS, "virtual")
    tampered_url, headers = tamper(url, {"Content-Type": SIGNED_TYPE})
    now = signed_at(url) + timedelta(seconds=5)
    refused(verify(tampered_url, headers, now=now, expected_region=REGION), 403, "SignatureDoesNotMatch")


def test_v4_header_values_are_trimmed_as_sigv4_says() -> None:
    url = presign("s3v4", LOCAL, "path")
    assert verify(url, {"Content-Type": f"  {SIGNED_TYPE} "}).ok
    refused(verify(url, {"Content-Type": SIGNED_TYPE.replace("/", "/ ")}), 403, "SignatureDoesNotMatch")


def test_v4_other_method_is_signature_mismatch() -> None:
    url = presign("s3v4", LOCAL, "path")
    error = refused(verify(url, method="POST"), 403, "SignatureDoesNotMatch")
    assert error.fields["CanonicalRequest"].startswith("POST\n/pipeline-sandbox/3f1c9a.png\n")


def test_v4_expired_url_is_access_denied_with_s3_fields() -> None:
    url = presign("s3v4", AWS, "virtual", expires=3600)
    at = signed_at(url)
    assert verify(url, now=at + timedelta(seconds=3600)).ok  # the last second still counts
    later = at + timedelta(seconds=3601)
    error = refused(verify(url, now=later), 403, "AccessDenied")
    assert error.message == "Request has expired"
    assert error.fields == {
        "X-Amz-Expires": "3600",
        "Expires": (at + timedelta(seconds=3600)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ServerTime": later.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def test_v4_url_from_a_clock_ahead_is_not_yet_valid() -> None:
    url = presign("s3v4", AWS, "virtual")
    at = signed_at(url)
    assert verify(url, now=at - timedelta(minutes=14)).ok  # within S3's 15 minutes
    error = refused(verify(url, now=at - timedelta(minutes=16)), 403, "AccessDenied")
    assert error.message == "Request is not yet valid"
    assert error.fields["X-Amz-Date"] == str(int(at.timestamp() * 1000))


@pytest.mark.parametrize(
    ("expires", "message"),
    [
        (604801, sigv.MSG_EXPIRES_TOO_LONG),
        (-1, "X-Amz-Expires must be non-negative"),
    ],
)
def test_v4_expiry_out_of_range_is_a_query_parameters_error(expires: int, message: str) -> None:
    url = presign("s3v4", AWS, "virtual", expires=expires)
    assert param(url, "X-Amz-Expires") == str(expires)
    error = refused(verify(url), 400, "AuthorizationQueryParametersError")
    assert error.message == message


def test_v4_a_week_is_the_longest_accepted_expiry() -> None:
    url = presign("s3v4", AWS, "virtual", expires=604800)
    assert verify(url, now=signed_at(url) + timedelta(days=7)).ok
    refused(verify(url, now=signed_at(url) + timedelta(days=7, seconds=1)), 403, "AccessDenied")


def test_v4_expiry_that_is_not_a_number_is_refused() -> None:
    url = with_param(presign("s3v4", AWS, "virtual"), "X-Amz-Expires", "1h")
    assert refused(verify(url), 400, "AuthorizationQueryParametersError").message == "X-Amz-Expires should be a number"


def test_v4_wrong_region_names_both_regions() -> None:
    url = presign("s3v4", "https://s3.us-east-1.amazonaws.com", "virtual", region="us-east-1")
    error = refused(verify(url, expected_region=REGION), 400, "AuthorizationQueryParametersError")
    assert error.message == (
        "Error parsing the X-Amz-Credential parameter; the region 'us-east-1' is wrong; expecting 'ap-northeast-2'"
    )
    assert error.fields == {"Region": REGION}
    assert verify(url, expected_region="us-east-1").ok


@pytest.mark.parametrize(
    ("credential", "message"),
    [
        (
            f"{ACCESS_KEY}/20260101/{REGION}/s3",
            'Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
        ),
        (
            f"{ACCESS_KEY}/2026-01-01/{REGION}/s3/aws4_request",
            'Error parsing the X-Amz-Credential parameter; incorrect date format "2026-01-01". This date in the credential must be in the format "yyyyMMdd".',
        ),
        (
            f"{ACCESS_KEY}/20260101/{REGION}/ec2/aws4_request",
            'Error parsing the X-Amz-Credential parameter; incorrect service "ec2". This endpoint belongs to "s3".',
        ),
        (
            f"{ACCESS_KEY}/20260101/{REGION}/s3/aws5_request",
            'Error parsing the X-Amz-Credential parameter; incorrect terminal "aws5_request". This endpoint uses "aws4_request".',
        ),
        (
            f"{ACCESS_KEY}/20260101/AP_NORTHEAST_2/s3/aws4_request",
            'Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
        ),
        (
            f"{ACCESS_KEY}/20250101/{REGION}/s3/aws4_request",
            'Invalid credential date "20250101". This date is not the same as X-Amz-Date: "20260101".',
        ),
    ],
)
def test_v4_malformed_credential_is_a_query_parameters_error(credential: str, message: str) -> None:
    url = with_param(presign("s3v4", AWS, "virtual"), "X-Amz-Credential", credential)
    url = with_param(url, "X-Amz-Date", "20260101T000000Z")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    error = refused(verify(url, now=now, expected_region=None), 400, "AuthorizationQueryParametersError")
    assert error.message == message


@pytest.mark.parametrize(
    "missing", ["X-Amz-Algorithm", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"]
)
def test_v4_missing_parameter_is_a_query_parameters_error(missing: str) -> None:
    signed = presign("s3v4", AWS, "virtual")
    url = with_param(signed, missing, None)
    error = refused(verify(url, now=signed_at(signed)), 400, "AuthorizationQueryParametersError")
    assert error.message == sigv.MSG_V4_QUERY_MISSING


def test_v4_other_algorithm_is_refused() -> None:
    url = with_param(presign("s3v4", AWS, "virtual"), "X-Amz-Algorithm", "AWS4-HMAC-SHA1")
    error = refused(verify(url), 400, "AuthorizationQueryParametersError")
    assert error.message == 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256".'


def test_v4_unknown_access_key_is_invalid_access_key_id() -> None:
    url = presign("s3v4", AWS, "virtual")
    error = refused(verify(url, secrets=lambda _key: None), 403, "InvalidAccessKeyId")
    assert error.message == "The AWS Access Key Id you provided does not exist in our records."
    assert error.fields == {"AWSAccessKeyId": ACCESS_KEY}


@pytest.mark.parametrize(("endpoint", "addressing"), V4_SHAPES)
@pytest.mark.parametrize("key", AWKWARD_KEYS)
def test_v4_awkward_keys_verify_and_stay_bound_to_their_key(endpoint: str, addressing: str, key: str) -> None:
    url = presign("s3v4", endpoint, addressing, key=key)
    assert verify(url).ok, verify(url).error
    path = urlsplit(url).path
    refused(verify(with_path(url, path[:-4] + "X.png")), 403, "SignatureDoesNotMatch")


def test_v4_plus_in_a_key_is_not_a_space() -> None:
    url = presign("s3v4", LOCAL, "path", key="a+b.png")
    assert urlsplit(url).path == "/pipeline-sandbox/a%2Bb.png"
    error = refused(verify(with_path(url, "/pipeline-sandbox/a%20b.png")), 403, "SignatureDoesNotMatch")
    assert "\n/pipeline-sandbox/a%20b.png\n" in error.fields["CanonicalRequest"]


def test_v4_session_token_is_signed_in() -> None:
    url = presign("s3v4", AWS, "virtual", token=TOKEN)
    verdict = verify(url)
    assert verdict.ok, verdict.error
    assert verdict.session_token == TOKEN
    refused(verify(with_param(url, "X-Amz-Security-Token", TOKEN + "x")), 403, "SignatureDoesNotMatch")
    refused(verify(with_param(url, "X-Amz-Security-Token", None)), 403, "SignatureDoesNotMatch")


def test_v4_unsigned_amz_header_is_refused() -> None:
    url = presign("s3v4", AWS, "virtual")
    headers = {"Content-Type": SIGNED_TYPE, "x-amz-acl": "public-read"}
    error = refused(verify(url, headers), 403, "AccessDenied")
    assert error.message == "There were headers present in the request which were not signed"
    assert error.fields == {"HeadersNotSigned": "x-amz-acl"}


def test_v4_unsigned_payload_hash_header_counts_in_the_signature() -> None:
    url = presign("s3v4", AWS, "virtual")
    assert verify(url, {"Content-Type": SIGNED_TYPE, "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}).ok
    digest = hashlib.sha256(b"png bytes").hexdigest()
    error = refused(
        verify(url, {"Content-Type": SIGNED_TYPE, "X-Amz-Content-SHA256": digest}), 403, "SignatureDoesNotMatch"
    )
    assert error.fields["CanonicalRequest"].endswith("\n" + digest)


def test_request_without_auth_is_anonymous() -> None:
    verdict = verify(f"{AWS}/{BUCKET}/3f1c9a.png", {"Content-Type": OTHER_TYPE}, now=datetime.now(UTC))
    assert (verdict.ok, verdict.anonymous, verdict.access_key_id, verdict.error) == (True, True, None, None)


def test_query_auth_and_authorization_header_together_are_refused() -> None:
    url = presign("s3v4", AWS, "virtual")
    headers = {"Content-Type": SIGNED_TYPE, "Authorization": "Bearer app-session"}
    error = refused(verify(url, headers), 400, "InvalidArgument")
    assert error.message.startswith("Only one auth mechanism allowed")
    assert error.fields == {"ArgumentName": "Authorization", "ArgumentValue": "Bearer app-session"}


# --- SigV4 in the Authorization header (boto3 calls) -----------------------------------------


def boto3_put(endpoint: str, key: str = "a b+c/사진.png", token: str | None = None) -> tuple[str, dict[str, str]]:
    """The PutObject boto3 really sends (captured before it leaves): URL and headers."""
    client = s3_client("s3v4", endpoint, "path", token=token)
    captured: dict[str, Any] = {}

    class Empty:
        def stream(self, **_: Any):
            return iter([b""])

    def capture(request: Any, **_: Any) -> AWSResponse:
        captured["request"] = request
        return AWSResponse(request.url, 200, {}, Empty())

    client.meta.events.register("before-send.s3.PutObject", capture)
    client.put_object(Bucket=BUCKET, Key=key, Body=b"\x89PNG...", ContentType=OTHER_TYPE)
    request = captured["request"]
    headers = {name: value.decode() if isinstance(value, bytes) else value for name, value in request.headers.items()}
    return request.url, headers


def header_time(headers: dict[str, str]) -> datetime:
    return datetime.strptime(headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def verify_signed(url: str, headers: dict[str, str], *, now: datetime | None = None, **kwargs: Any) -> sigv.Verdict:
    parts = urlsplit(url)
    return sigv.verify_request(
        method=kwargs.pop("method", "PUT"),
        host=parts.netloc,
        raw_path=parts.path,
        raw_query=parts.query,
        headers=headers,
        secrets=kwargs.pop("secrets", SECRETS.get),
        now=now or header_time(headers) + timedelta(seconds=2),
        expected_region=kwargs.pop("expected_region", REGION),
        **kwargs,
    )


@pytest.mark.parametrize(
    ("endpoint", "payload"),
    [
        pytest.param(LOCAL, hashlib.sha256(b"\x89PNG...").hexdigest(), id="http-payload-digest"),
        pytest.param(AWS, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", id="https-streaming-trailer"),
    ],
)
def test_boto3_put_object_verifies(endpoint: str, payload: str) -> None:
    url, headers = boto3_put(endpoint, token=TOKEN)
    verdict = verify_signed(url, headers)
    assert verdict.ok, verdict.error
    assert (verdict.access_key_id, verdict.auth, verdict.session_token) == (ACCESS_KEY, "sigv4-header", TOKEN)
    assert verdict.payload_sha256 == payload


def sign_with_sigv4auth(payload: str | None, body: bytes = b"hello") -> tuple[str, dict[str, str]]:
    """A request signed by botocore.auth.S3SigV4Auth (a SigV4Auth) on an AWSRequest."""

    class Signer(S3SigV4Auth):
        def payload(self, request: AWSRequest) -> str:
            return payload if payload is not None else super().payload(request)

    request = AWSRequest(
        method="PUT", url=f"{LOCAL}/{BUCKET}/k%20ey.png", data=body, headers={"Content-Type": OTHER_TYPE}
    )
    Signer(Credentials(ACCESS_KEY, SECRET_KEY), "s3", REGION).add_auth(request)
    return request.url, dict(request.headers.items())


@pytest.mark.parametrize(
    "payload", [None, "UNSIGNED-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"], ids=["digest", "unsigned", "streaming"]
)
def test_sigv4auth_signed_request_verifies(payload: str | None) -> None:
    url, headers = sign_with_sigv4auth(payload)
    verdict = verify_signed(url, headers)
    assert verdict.ok, verdict.error
    assert verdict.payload_sha256 == (payload or hashlib.sha256(b"hello").hexdigest())


@pytest.mark.parametrize(
    ("change", "code"),
    [
        pytest.param({"Content-Type": SIGNED_TYPE}, "SignatureDoesNotMatch", id="content-type"),
        pytest.param({"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}, "SignatureDoesNotMatch", id="payload-hash"),
        pytest.param({"x-amz-acl": "public-read"}, "AccessDenied", id="unsigned-amz-header"),
    ],
)
def test_tampered_header_signed_request_is_refused(change: dict[str, str], code: str) -> None:
    url, headers = sign_with_sigv4auth(None)
    now = header_time(headers) + timedelta(seconds=2)
    refused(verify_signed(url, {**headers, **change}, now=now), 403, code)


def test_header_signed_request_with_tampered_date_is_refused() -> None:
    url, headers = sign_with_sigv4auth(None)
    at = header_time(headers)
    moved_a_second = {**headers, "X-Amz-Date": same_day_shift(at, 1)}
    refused(verify_signed(url, moved_a_second, now=at), 403, "SignatureDoesNotMatch")
    moved_twenty_minutes = {**headers, "X-Amz-Date": same_day_shift(at, 20 * 60)}
    error = refused(verify_signed(url, moved_twenty_minutes, now=at), 403, "RequestTimeTooSkewed")
    assert error.fields["RequestTime"] == moved_twenty_minutes["X-Amz-Date"]
    other_day = {**headers, "X-Amz-Date": (at - timedelta(days=1)).strftime("%Y%m%dT%H%M%SZ")}
    error = refused(verify_signed(url, other_day, now=at), 400, "AuthorizationHeaderMalformed")
    assert "Invalid credential date" in error.message


def test_header_signed_request_with_tampered_signature_or_path_is_refused() -> None:
    url, headers = sign_with_sigv4auth(None)
    authorization = headers["Authorization"]
    forged = {**headers, "Authorization": authorization[:-1] + ("0" if authorization[-1] != "0" else "1")}
    error = refused(verify_signed(url, forged), 403, "SignatureDoesNotMatch")
    assert error.fields["SignatureProvided"] == forged["Authorization"].rsplit("Signature=", 1)[1]
    refused(verify_signed(url.replace("k%20ey", "other"), headers), 403, "SignatureDoesNotMatch")


def test_header_signed_request_from_a_skewed_clock_is_refused() -> None:
    url, headers = sign_with_sigv4auth(None)
    later = header_time(headers) + timedelta(minutes=16)
    error = refused(verify_signed(url, headers, now=later), 403, "RequestTimeTooSkewed")
    assert error.fields["RequestTime"] == headers["X-Amz-Date"]
    assert error.fields["MaxAllowedSkewMilliseconds"] == "900000"


def test_header_signed_request_for_another_region_is_malformed() -> None:
    url, headers = sign_with_sigv4auth(None)
    error = refused(verify_signed(url, headers, expected_region="eu-west-1"), 400, "AuthorizationHeaderMalformed")
    assert (
        error.message
        == "The authorization header is malformed; the region 'ap-northeast-2' is wrong; expecting 'eu-west-1'"
    )


def test_header_signed_request_without_payload_hash_is_invalid() -> None:
    url, headers = sign_with_sigv4auth(None)
    del headers["X-Amz-Content-SHA256"]
    error = refused(verify_signed(url, headers), 400, "InvalidRequest")
    assert error.message == "Missing required header for this request: x-amz-content-sha256"


def test_header_signed_request_by_unknown_key_is_invalid_access_key_id() -> None:
    url, headers = sign_with_sigv4auth(None)
    refused(verify_signed(url, headers, secrets=lambda _key: None), 403, "InvalidAccessKeyId")


# --- SigV2 presigned URLs --------------------------------------------------------------------

V2_SHAPES = [pytest.param(LOCAL, "path", id="local-path"), pytest.param(AWS, "virtual", id="aws-virtual")]


@pytest.mark.parametrize(("endpoint", "addressing"), V2_SHAPES)
def test_v2_url_sent_as_signed_verifies(endpoint: str, addressing: str) -> None:
    url = presign("s3", endpoint, addressing, key="사진 a+b.png", token=TOKEN)
    verdict = verify(url)
    assert verdict.ok, verdict.error
    assert (verdict.access_key_id, verdict.auth, verdict.session_token) == (ACCESS_KEY, "sigv2-query", TOKEN)


@pytest.mark.parametrize(("endpoint", "addressing"), V2_SHAPES)
def test_v2_other_content_type_is_signature_mismatch(
    endpoint: str, addressing: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="botocore.auth")
    url = presign("s3", endpoint, addressing)
    signed = botocore_log(caplog)["StringToSign"]
    error = refused(verify(url, {"Content-Type": OTHER_TYPE}), 403, "SignatureDoesNotMatch")
    assert error.fields["StringToSign"] == botocore_v2_for(url, "PUT", {"Content-Type": OTHER_TYPE})
    assert error.fields["StringToSign"] == signed.replace(f"\n{SIGNED_TYPE}\n", f"\n{OTHER_TYPE}\n")
    assert error.fields["StringToSign"].endswith(f"\n/{BUCKET}/3f1c9a.png")
    assert error.fields["SignatureProvided"] == param(url, "Signature")
    assert error.fields["StringToSignBytes"] == hex_bytes(error.fields["StringToSign"])
    assert "CanonicalRequest" not in error.fields


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda url: with_param(url, "Signature", "A" + param(url, "Signature")[1:]), id="signature"),
        pytest.param(lambda url: url.replace("3f1c9a.png", "3f1c9b.png"), id="key-path"),
        pytest.param(lambda url: with_param(url, "Expires", str(int(param(url, "Expires")) + 60)), id="expiry"),
    ],
)
def test_v2_tampered_url_is_signature_mismatch(tamper: Callable[[str], str]) -> None:
    url = presign("s3", LOCAL, "path")
    tampered = tamper(url)
    assert tampered != url
    refused(verify(tampered, now=signed_at(url)), 403, "SignatureDoesNotMatch")


def test_v2_signature_with_an_unencoded_plus_does_not_match() -> None:
    url = presign("s3", LOCAL, "path", key="plus-sig.png")
    for attempt in range(50):  # find a signature with a "+" in it (base64), as S3 users famously do
        if "+" in param(url, "Signature"):
            break
        url = presign("s3", LOCAL, "path", key=f"plus-sig-{attempt}.png")
    assert "+" in param(url, "Signature")
    raw = with_param(url, "Signature", None) + "&Signature=" + param(url, "Signature").replace("=", "%3D")
    error = refused(verify(raw, now=signed_at(url)), 403, "SignatureDoesNotMatch")
    assert " " in error.fields["SignatureProvided"]  # S3 reads "+" in a query string as a space


def test_v2_expired_url_is_access_denied() -> None:
    url = presign("s3", LOCAL, "path")
    expires = datetime.fromtimestamp(int(param(url, "Expires")), UTC)
    assert verify(url, now=expires).ok
    later = expires + timedelta(seconds=1)
    error = refused(verify(url, now=later), 403, "AccessDenied")
    assert error.message == "Request has expired"
    assert error.fields == {
        "Expires": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ServerTime": later.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def test_v2_virtual_hosted_resource_names_the_bucket() -> None:
    url = presign("s3", AWS, "virtual")
    assert is_virtual(url)
    parts = urlsplit(url)
    as_path_style = sigv.verify_presigned(
        "PUT", parts.netloc, parts.path, parts.query, {"Content-Type": SIGNED_TYPE}, SECRETS.get, signed_at(url)
    )
    error = refused(as_path_style, 403, "SignatureDoesNotMatch")
    assert error.fields["StringToSign"].endswith("\n/3f1c9a.png")


def test_v2_subresource_is_part_of_the_signed_resource() -> None:
    client = s3_client("s3", LOCAL, "path")
    url = client.generate_presigned_url(
        "put_object_acl", Params={"Bucket": BUCKET, "Key": "k.png", "ACL": "private"}, ExpiresIn=3600, HttpMethod="PUT"
    )
    assert verify(url, {}).ok
    without_acl = url.replace("?acl&", "?")
    assert without_acl != url
    error = refused(verify(without_acl, {}, now=signed_at(url)), 403, "SignatureDoesNotMatch")
    assert error.fields["StringToSign"].endswith(f"x-amz-acl:private\n/{BUCKET}/k.png")


def test_v2_refused_where_the_region_only_takes_sigv4() -> None:
    error = refused(verify(presign("s3", AWS, "virtual"), allow_sigv2=False), 400, "InvalidRequest")
    assert (
        error.message == "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."
    )


def test_v2_missing_parameter_and_unknown_key() -> None:
    url = presign("s3", LOCAL, "path")
    error = refused(verify(with_param(url, "Expires", None), now=signed_at(url)), 403, "AccessDenied")
    assert error.message == "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters"
    refused(verify(url, secrets=lambda _key: None), 403, "InvalidAccessKeyId")


# --- the XML error body ----------------------------------------------------------------------


def test_to_xml_parses_and_carries_code_message_and_fields() -> None:
    url = presign("s3v4", LOCAL, "path", token=TOKEN)
    error = refused(verify(url, {"Content-Type": OTHER_TYPE}), 403, "SignatureDoesNotMatch")
    assert "&" in error.fields["CanonicalRequest"]  # the canonical query: must be escaped to parse
    body = error.to_xml("", "4442587FB7D0A2F9")
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Error>')
    root = ET.fromstring(body)
    assert root.tag == "Error"
    children = [child.tag for child in root]
    assert children == ["Code", "Message", *error.fields, "RequestId", "HostId"]
    assert root.findtext("Code") == "SignatureDoesNotMatch"
    assert root.findtext("Message") == sigv.MSG_SIGNATURE
    assert root.findtext("CanonicalRequest") == error.fields["CanonicalRequest"]
    assert root.findtext("StringToSign") == error.fields["StringToSign"]
    assert root.findtext("RequestId") == "4442587FB7D0A2F9"
    assert root.findtext("HostId")


def test_to_xml_escapes_values_and_writes_resource_only_when_given() -> None:
    error = sigv.S3Error(403, "AccessDenied", "a <b> & c", {"Detail": "</Error><Code>Forged</Code>\x00"})
    root = ET.fromstring(error.to_xml("/bucket/a&b.png", "REQ"))
    assert root.findtext("Code") == "AccessDenied"
    assert root.findtext("Message") == "a <b> & c"
    assert root.findtext("Detail") == "</Error><Code>Forged</Code>\ufffd"
    assert root.findtext("Resource") == "/bucket/a&b.png"
    assert len(root.findall("Code")) == 1
