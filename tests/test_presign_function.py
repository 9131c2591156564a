"""The presign Lambda (presign_function/lambda_function.py) as API Gateway and a browser see it.

Every test goes through an API Gateway event (HTTP API v2 or REST v1) and asserts on the reply the
web app would get: status, JSON body, CORS header, and the presigned URL's SigV4 parameters. moto's
in-process ``mock_aws`` stands in for S3; moto does not check signatures, so the signed Content-Type
is checked here by recomputing the SigV4 query signature independently.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import boto3
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from presign_function import lambda_function
from presign_function.lambda_function import ConfigurationError, HandlerConfig, handle, make_s3_client

BUCKET = "pipeline-bucket-apne2"
REGION = "ap-northeast-2"
KEY_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.(?P<ext>[a-z]+)$")
FUNCTION_ENV = (
    "BUCKET_NAME",
    "BUCKET_REGION",
    "URL_EXPIRES_SECONDS",
    "CONTENT_TYPE_STYLE",
    "CLIENT_CONTENT_TYPE",
    "ALLOW_ORIGIN",
    "S3_ADDRESSING_STYLE",
)
# A fixed key pair for tests that recompute the signature (moto replaces env credentials with its own).
ACCESS_KEY = "AKIAEXAMPLETESTKEY01"
SECRET_KEY = "test/secret/key/for/sigv4/verification"


# ---------------------------------------------------------------- events, replies, SigV4


def v2_event(headers: dict[str, str] | None = None, method: str = "GET") -> dict[str, Any]:
    """An HTTP API (payload 2.0) event: header names arrive lower-cased."""
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "GET /presign",
        "rawPath": "/presign",
        "requestContext": {"http": {"method": method, "path": "/presign"}},
    }
    if headers is not None:
        event["headers"] = {k.lower(): v for k, v in headers.items()}
    return event


def v1_event(headers: dict[str, str] | None = None, method: str = "GET") -> dict[str, Any]:
    """A REST API (payload 1.0) event: names as the client sent them, plus multiValueHeaders."""
    return {
        "resource": "/presign",
        "path": "/presign",
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": None if headers is None else {k: [v] for k, v in headers.items()},
        "requestContext": {"httpMethod": method, "resourcePath": "/presign"},
    }


def body_of(reply: dict[str, Any]) -> dict[str, Any]:
    assert reply["headers"].get("Content-Type") == "application/json"
    doc = json.loads(reply["body"])
    assert isinstance(doc, dict)
    return doc


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def sigv4_valid(url: str, method: str, headers: dict[str, str], secret_key: str) -> bool:
    """Recompute a SigV4 presigned URL's signature for a request carrying ``headers``.

    S3 does this on every PUT; a False here is what the browser sees as 403 SignatureDoesNotMatch.
    """
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    params = dict(query)
    signature = params["X-Amz-Signature"]
    enc = lambda s: quote(s, safe="-_.~")  # noqa: E731 - RFC 3986 as SigV4 requires
    canonical_query = "&".join(
        f"{k}={v}" for k, v in sorted((enc(k), enc(v)) for k, v in query if k != "X-Amz-Signature")
    )
    signed = params["X-Amz-SignedHeaders"].split(";")
    all_headers = {"host": parts.netloc, **{k.lower(): v.strip() for k, v in headers.items()}}
    canonical_headers = "".join(f"{name}:{all_headers.get(name, '')}\n" for name in signed)
    canonical_request = "\n".join(
        [method, parts.path or "/", canonical_query, canonical_headers, ";".join(signed), "UNSIGNED-PAYLOAD"]
    )
    _, date, region, service, terminator = params["X-Amz-Credential"].split("/")
    scope = f"{date}/{region}/{service}/{terminator}"
    string_to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", params["X-Amz-Date"], scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    key = _hmac(("AWS4" + secret_key).encode(), date)
    for part in (region, service, terminator):
        key = _hmac(key, part)
    expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and no local AWS config: nothing here can reach a real account."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture
def aws(fake_credentials):
    """A mocked bucket in ap-northeast-2 (moto, in process)."""
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield s3


@pytest.fixture
def function_env(aws, monkeypatch: pytest.MonkeyPatch):
    """The function's environment as deployed in Seoul (AWS_REGION is what Lambda sets), cache cleared."""
    for name in FUNCTION_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BUCKET_NAME", BUCKET)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setattr(lambda_function, "_DEFAULT", None)
    return monkeypatch


@pytest.fixture
def signer(fake_credentials):
    """A config and client as the function builds them, with a key pair the test knows."""
    config = HandlerConfig(bucket=BUCKET, region=REGION)
    client = make_s3_client(config, aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)
    return config, client


def assert_presigned_put(doc: dict[str, Any], ext: str, content_type: str, expires: int) -> None:
    """The full 200 contract: body fields and the URL's SigV4 query parameters."""
    assert set(doc) == {"presignedUrl", "key", "contentType", "expiresIn"}
    match = KEY_RE.match(doc["key"])
    assert match, doc["key"]
    assert match["ext"] == ext
    assert doc["contentType"] == content_type
    assert doc["expiresIn"] == expires
    url = doc["presignedUrl"]
    parts = urlsplit(url)
    assert parts.scheme == "https"
    assert BUCKET in parts.netloc + parts.path
    assert parts.path.endswith("/" + doc["key"])
    query = query_of(url)
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query["X-Amz-Credential"].split("/")[2:] == [REGION, "s3", "aws4_request"]
    assert query["X-Amz-Expires"] == str(expires)
    assert "content-type" in query["X-Amz-SignedHeaders"].split(";")


# ---------------------------------------------------------------- the happy path, both event shapes


@pytest.mark.parametrize("make_event", [v2_event, v1_event], ids=["http-api-v2", "rest-v1"])
def test_get_with_extension_returns_presigned_put(function_env, make_event) -> None:
    header = "x-extension" if make_event is v2_event else "X-Extension"
    reply = lambda_function.lambda_handler(make_event({header: "png", "Content-Type": "application/png"}), None)

    assert reply["statusCode"] == 200
    assert reply["headers"]["Access-Control-Allow-Origin"] == "*"
    assert_presigned_put(body_of(reply), "png", "application/png", 300)  # the seed's client asked for it


# ---------------------------------------------------------------- which Content-Type is signed


@pytest.mark.parametrize(
    ("ext", "asked", "signed"),
    [
        ("png", "application/png", "application/png"),  # the seed's web app, unchanged
        ("png", "image/png", "image/png"),  # a client that wants objects stored as image/*
        ("png", "IMAGE/PNG; charset=binary", "image/png"),
        ("jpg", "application/jpg", "application/jpg"),
        ("jpg", "image/jpeg", "image/jpeg"),
        ("png", "text/html", "application/png"),  # not a spelling of png: the seed's default
        ("png", "image/svg+xml", "application/png"),
        ("png", "application/jpeg", "application/png"),
        ("png", "application/x-www-form-urlencoded", "application/png"),  # axios's default without a type
        ("png", None, "application/png"),
    ],
)
def test_the_clients_spelling_is_signed_only_when_it_matches_the_extension(
    signer, ext: str, asked: str | None, signed: str
) -> None:
    config, client = signer
    headers = {"x-extension": ext} | ({"content-type": asked} if asked else {})

    doc = body_of(handle(v2_event(headers), config, client))

    assert doc["contentType"] == signed
    assert sigv4_valid(doc["presignedUrl"], "PUT", {"Content-Type": signed}, SECRET_KEY)


@pytest.mark.parametrize(("style", "signed"), [("image", "image/png"), ("application", "application/png")])
def test_client_content_type_ignore_always_signs_the_style(signer, style: str, signed: str) -> None:
    _, client = signer
    config = HandlerConfig(bucket=BUCKET, region=REGION, content_type_style=style, client_content_type="ignore")

    for asked in ("application/png", "image/png"):
        doc = body_of(handle(v1_event({"X-Extension": "png", "Content-Type": asked}), config, client))
        assert doc["contentType"] == signed


@pytest.mark.parametrize(
    ("ext", "content_type"),
    [("png", "image/png"), ("jpg", "image/jpeg"), ("jpeg", "image/jpeg"), ("gif", "image/gif"), ("webp", "image/webp")],
)
def test_each_allowed_extension_gets_its_image_mime_type(function_env, ext: str, content_type: str) -> None:
    reply = lambda_function.lambda_handler(v2_event({"x-extension": ext, "content-type": content_type}), None)

    assert reply["statusCode"] == 200
    assert_presigned_put(body_of(reply), ext, content_type, 300)


@pytest.mark.parametrize("ext", ["png", "jpg", "jpeg", "gif", "webp"])
def test_a_client_that_asks_for_no_type_gets_the_seeds(function_env, ext: str) -> None:
    # the seed's client: axios drops Content-Type from a GET without a body, and it PUTs application/<ext>
    reply = lambda_function.lambda_handler(v2_event({"x-extension": ext}), None)

    assert_presigned_put(body_of(reply), ext, f"application/{ext}", 300)


def test_image_style_signs_the_image_type_for_a_client_that_asks_none(function_env) -> None:
    function_env.setenv("CONTENT_TYPE_STYLE", "image")

    doc = body_of(lambda_function.lambda_handler(v2_event({"x-extension": "jpg"}), None))

    assert_presigned_put(doc, "jpg", "image/jpeg", 300)


def test_application_style_signs_the_seed_content_type(function_env) -> None:
    function_env.setenv("CONTENT_TYPE_STYLE", "application")

    doc = body_of(lambda_function.lambda_handler(v2_event({"x-extension": "png"}), None))

    assert_presigned_put(doc, "png", "application/png", 300)


@pytest.mark.parametrize("expires", [1, 900, 604800])
def test_url_expires_seconds_sets_url_lifetime(function_env, expires: int) -> None:
    function_env.setenv("URL_EXPIRES_SECONDS", str(expires))

    doc = body_of(lambda_function.lambda_handler(v1_event({"X-Extension": "png"}), None))

    assert_presigned_put(doc, "png", "application/png", expires)


def test_bucket_region_wins_over_the_functions_own_region(function_env) -> None:
    function_env.setenv("AWS_REGION", "us-east-1")  # function in Virginia, bucket in Seoul
    function_env.setenv("BUCKET_REGION", REGION)

    url = body_of(lambda_function.lambda_handler(v2_event({"x-extension": "png"}), None))["presignedUrl"]

    assert query_of(url)["X-Amz-Credential"].split("/")[2] == REGION
    assert urlsplit(url).netloc == f"{BUCKET}.s3.{REGION}.amazonaws.com"


def test_path_addressing_style_puts_bucket_in_path(function_env) -> None:
    function_env.setenv("S3_ADDRESSING_STYLE", "path")

    doc = body_of(lambda_function.lambda_handler(v2_event({"x-extension": "png"}), None))

    assert urlsplit(doc["presignedUrl"]).path == f"/{BUCKET}/{doc['key']}"


def test_each_request_gets_a_fresh_key(function_env) -> None:
    keys = {body_of(lambda_function.lambda_handler(v2_event({"x-extension": "png"}), None))["key"] for _ in range(20)}

    assert len(keys) == 20


# ---------------------------------------------------------------- the signed Content-Type is what S3 enforces


@pytest.mark.parametrize(
    ("style", "signed", "other"),
    [("image", "image/png", "application/png"), ("application", "application/png", "image/png")],
)
def test_signature_is_valid_only_for_the_reported_content_type(signer, style: str, signed: str, other: str) -> None:
    config = HandlerConfig(bucket=BUCKET, region=REGION, content_type_style=style)
    _, client = signer

    doc = body_of(handle(v2_event({"x-extension": "png"}), config, client))

    assert doc["contentType"] == signed
    assert query_of(doc["presignedUrl"])["X-Amz-Credential"].startswith(ACCESS_KEY + "/")
    assert sigv4_valid(doc["presignedUrl"], "PUT", {"Content-Type": signed}, SECRET_KEY)
    # what the browser sees as 403 SignatureDoesNotMatch:
    assert not sigv4_valid(doc["presignedUrl"], "PUT", {"Content-Type": other}, SECRET_KEY)
    assert not sigv4_valid(doc["presignedUrl"], "PUT", {}, SECRET_KEY)


def test_presigned_url_uploads_the_object_with_its_content_type(function_env, aws) -> None:
    doc = body_of(lambda_function.lambda_handler(v2_event({"x-extension": "png", "content-type": "image/png"}), None))
    data = b"\x89PNG\r\n\x1a\n" + os.urandom(64)

    put = requests.put(doc["presignedUrl"], data=data, headers={"Content-Type": doc["contentType"]}, timeout=10)

    assert put.status_code == 200, put.text
    stored = aws.get_object(Bucket=BUCKET, Key=doc["key"])
    assert stored["Body"].read() == data
    assert stored["ContentType"] == "image/png"


# ---------------------------------------------------------------- the x-extension header


@pytest.mark.parametrize("name", ["x-extension", "X-Extension", "X-EXTENSION", "x-EXTENSION"])
@pytest.mark.parametrize("make_event", [v2_event, v1_event], ids=["v2", "v1"])
def test_header_name_is_case_insensitive(signer, make_event, name: str) -> None:
    config, client = signer
    event = make_event({name: "png"})
    if make_event is v2_event:  # API Gateway v2 lower-cases; feed the raw name too, as a proxy might
        event["headers"] = {name: "png"}

    reply = handle(event, config, client)

    assert reply["statusCode"] == 200
    assert body_of(reply)["key"].endswith(".png")


@pytest.mark.parametrize("value", ["PNG", ".png", ".PNG", " png ", "\tPng\t", "png"])
def test_extension_value_is_normalised(signer, value: str) -> None:
    config, client = signer

    doc = body_of(handle(v1_event({"X-Extension": value}), config, client))

    assert KEY_RE.match(doc["key"])["ext"] == "png"
    assert doc["contentType"] == "application/png"


def test_rest_event_with_only_multi_value_headers_is_read(signer) -> None:
    config, client = signer
    event = v1_event(None)
    event["multiValueHeaders"] = {"X-Extension": ["jpeg"]}

    reply = handle(event, config, client)

    assert reply["statusCode"] == 200
    assert body_of(reply)["key"].endswith(".jpeg")


@pytest.mark.parametrize(
    "event",
    [
        v2_event(None),
        v2_event({"content-type": "application/png"}),
        v1_event(None),
        v1_event({"Content-Type": "application/png"}),
        v2_event({"x-extension": ""}),
        v2_event({"x-extension": "   "}),
        v1_event({"X-Extension": ""}),
    ],
    ids=["v2-no-headers", "v2-other-header", "v1-null-headers", "v1-other-header", "v2-empty", "v2-blank", "v1-empty"],
)
def test_missing_extension_is_a_400_json_error(signer, event) -> None:
    config, client = signer

    reply = handle(event, config, client)

    assert reply["statusCode"] == 400
    assert reply["headers"]["Access-Control-Allow-Origin"] == "*"
    doc = body_of(reply)
    assert set(doc) == {"error", "message"}
    assert doc["error"] == "missing_extension"
    assert "x-extension" in doc["message"]


@pytest.mark.parametrize(
    "value", ["exe", "svg", "../png", "png.exe", "image/png", "bmp", "tiff", "p n g", "png;jpg", "ｐｎｇ", "png\x00"]
)
@pytest.mark.parametrize("make_event", [v2_event, v1_event], ids=["v2", "v1"])
def test_unknown_extension_is_a_400_naming_the_allowed_ones(signer, make_event, value: str) -> None:
    config, client = signer

    reply = handle(make_event({"x-extension": value}), config, client)

    assert reply["statusCode"] == 400
    assert reply["headers"]["Access-Control-Allow-Origin"] == "*"
    doc = body_of(reply)
    assert set(doc) == {"error", "message"}
    assert doc["error"] == "unsupported_extension"
    for ext in ("png", "jpg", "jpeg", "gif", "webp"):
        assert ext in doc["message"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.text(max_size=40))
def test_any_extension_value_gets_200_or_400_never_5xx(signer, value: str) -> None:
    config, client = signer

    reply = handle(v2_event({"x-extension": value}), config, client)

    normalised = value.strip().lstrip(".").lower()
    expected = 200 if normalised in ("png", "jpg", "jpeg", "gif", "webp") else 400
    assert reply["statusCode"] == expected
    assert reply["headers"]["Access-Control-Allow-Origin"] == "*"
    json.loads(reply["body"])


# ---------------------------------------------------------------- methods and CORS


@pytest.mark.parametrize("make_event", [v2_event, v1_event], ids=["v2", "v1"])
def test_options_preflight_is_204_with_cors_headers(signer, make_event) -> None:
    config, client = signer

    reply = handle(make_event({"origin": "http://localhost:5173"}, method="OPTIONS"), config, client)

    assert reply["statusCode"] == 204
    assert reply["body"] == ""
    assert reply["headers"]["Access-Control-Allow-Origin"] == "*"
    allowed_headers = {h.strip().lower() for h in reply["headers"]["Access-Control-Allow-Headers"].split(",")}
    assert {"x-extension", "content-type"} <= allowed_headers
    assert "GET" in reply["headers"]["Access-Control-Allow-Methods"]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "post"])
@pytest.mark.parametrize("make_event", [v2_event, v1_event], ids=["v2", "v1"])
def test_other_methods_are_405(signer, make_event, method: str) -> None:
    config, client = signer

    reply = handle(make_event({"x-extension": "png"}, method=method), config, client)

    assert reply["statusCode"] == 405
    assert reply["headers"]["Access-Control-Allow-Origin"] == "*"
    assert body_of(reply)["error"] == "method_not_allowed"


@pytest.mark.parametrize(
    ("event", "status"),
    [
        (v2_event({"x-extension": "png"}), 200),
        (v1_event({"X-Extension": "png"}), 200),
        (v2_event({"x-extension": "exe"}), 400),
        (v2_event(None), 400),
        (v2_event({"x-extension": "png"}, method="OPTIONS"), 204),
        (v1_event({"X-Extension": "png"}, method="POST"), 405),
    ],
)
def test_allow_origin_env_is_on_every_reply(function_env, event, status: int) -> None:
    function_env.setenv("ALLOW_ORIGIN", "https://app.example.com")

    reply = lambda_function.lambda_handler(event, None)

    assert reply["statusCode"] == status
    assert reply["headers"]["Access-Control-Allow-Origin"] == "https://app.example.com"


# ---------------------------------------------------------------- misconfiguration and failures stay generic

SECRET_BUCKET = "ops-private-bucket-4c1d"


def assert_generic_500(reply: dict[str, Any], code: str, *leaks: str) -> None:
    assert reply["statusCode"] == 500
    doc = body_of(reply)
    assert set(doc) == {"error", "message"}
    assert doc["error"] == code
    for leak in ("Traceback", "Error:", 'File "', *leaks):
        assert leak not in reply["body"], leak


MISCONFIGURATIONS = [
    ({}, ("BUCKET_NAME",)),
    ({"BUCKET_NAME": "   "}, ("BUCKET_NAME",)),
    ({"BUCKET_NAME": SECRET_BUCKET, "URL_EXPIRES_SECONDS": "abc"}, ("URL_EXPIRES_SECONDS", "abc")),
    ({"BUCKET_NAME": SECRET_BUCKET, "URL_EXPIRES_SECONDS": "0"}, ("URL_EXPIRES_SECONDS",)),
    ({"BUCKET_NAME": SECRET_BUCKET, "URL_EXPIRES_SECONDS": "-60"}, ("URL_EXPIRES_SECONDS", "-60")),
    ({"BUCKET_NAME": SECRET_BUCKET, "URL_EXPIRES_SECONDS": "604801"}, ("URL_EXPIRES_SECONDS", "604801")),
    ({"BUCKET_NAME": SECRET_BUCKET, "URL_EXPIRES_SECONDS": "999999999"}, ("URL_EXPIRES_SECONDS", "999999999")),
    ({"BUCKET_NAME": SECRET_BUCKET, "URL_EXPIRES_SECONDS": "1.5"}, ("URL_EXPIRES_SECONDS", "1.5")),
    ({"BUCKET_NAME": SECRET_BUCKET, "CONTENT_TYPE_STYLE": "imaeg"}, ("CONTENT_TYPE_STYLE", "imaeg")),
    ({"BUCKET_NAME": SECRET_BUCKET, "S3_ADDRESSING_STYLE": "dns"}, ("S3_ADDRESSING_STYLE", "dns")),
    ({"BUCKET_NAME": SECRET_BUCKET, "CLIENT_CONTENT_TYPE": "any"}, ("CLIENT_CONTENT_TYPE", "any")),
]
MISCONFIG_IDS = [
    "no-bucket",
    "blank-bucket",
    "expiry-abc",
    "expiry-0",
    "expiry-negative",
    "expiry-over-7-days",
    "expiry-huge",
    "expiry-float",
    "bad-style",
    "bad-addressing",
    "bad-client-mode",
]


@pytest.mark.parametrize(("env", "names"), MISCONFIGURATIONS, ids=MISCONFIG_IDS)
def test_from_env_rejects_misconfiguration(env: dict[str, str], names: tuple[str, ...]) -> None:
    with pytest.raises(ConfigurationError) as caught:
        HandlerConfig.from_env(env)
    assert names[0] in str(caught.value)  # the operator's log names the variable


@pytest.mark.parametrize(("env", "names"), MISCONFIGURATIONS, ids=MISCONFIG_IDS)
def test_misconfigured_function_answers_generic_500_with_cors(function_env, env: dict[str, str], names) -> None:
    function_env.delenv("BUCKET_NAME")
    for name, value in env.items():
        function_env.setenv(name, value)
    function_env.setenv("ALLOW_ORIGIN", "https://app.example.com")

    reply = lambda_function.lambda_handler(v2_event({"x-extension": "png"}), None)

    assert reply["headers"]["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert_generic_500(reply, "server_misconfigured", SECRET_BUCKET, "ConfigurationError", *names)


def test_fixing_the_environment_recovers_without_a_cold_start(function_env) -> None:
    function_env.setenv("URL_EXPIRES_SECONDS", "abc")
    assert lambda_function.lambda_handler(v2_event({"x-extension": "png"}), None)["statusCode"] == 500

    function_env.setenv("URL_EXPIRES_SECONDS", "120")

    reply = lambda_function.lambda_handler(v2_event({"x-extension": "png"}), None)
    assert reply["statusCode"] == 200
    assert body_of(reply)["expiresIn"] == 120


def test_from_env_defaults_and_trimming() -> None:
    config = HandlerConfig.from_env(
        {
            "BUCKET_NAME": f"  {BUCKET} ",
            "AWS_REGION": "eu-west-1",
            "URL_EXPIRES_SECONDS": " 60 ",
            "CONTENT_TYPE_STYLE": " Application ",
            "CLIENT_CONTENT_TYPE": " Ignore ",
        }
    )

    assert config == HandlerConfig(
        bucket=BUCKET, region="eu-west-1", expires_in=60, content_type_style="application", client_content_type="ignore"
    )
    assert HandlerConfig.from_env({"BUCKET_NAME": BUCKET, "URL_EXPIRES_SECONDS": ""}).expires_in == 300
    assert (
        HandlerConfig.from_env({"BUCKET_NAME": BUCKET, "BUCKET_REGION": REGION, "AWS_REGION": "us-east-1"}).region
        == REGION
    )


class ExplodingClient:
    """A client whose signing fails the way botocore does without credentials."""

    def generate_presigned_url(self, **kwargs: Any) -> str:
        raise RuntimeError(f"Unable to locate credentials for {kwargs['Params']['Bucket']} AKIASECRETLEAK")


def test_signing_failure_is_a_generic_500_without_internals() -> None:
    config = HandlerConfig(bucket=SECRET_BUCKET, region=REGION, allow_origin="https://app.example.com")

    reply = handle(v2_event({"x-extension": "png"}), config, ExplodingClient())

    assert reply["headers"]["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert_generic_500(reply, "presign_failed", SECRET_BUCKET, "AKIASECRETLEAK", "RuntimeError", "credentials")


def test_signing_failure_through_lambda_handler(function_env) -> None:
    function_env.setattr(lambda_function, "make_s3_client", lambda config, **kw: ExplodingClient())

    reply = lambda_function.lambda_handler(v1_event({"X-Extension": "png"}), None)

    assert reply["headers"]["Access-Control-Allow-Origin"] == "*"
    assert_generic_500(reply, "presign_failed", BUCKET, "AKIASECRETLEAK", "RuntimeError")


def test_bucket_region_with_stray_whitespace_is_trimmed(function_env) -> None:
    function_env.setenv("BUCKET_REGION", f" {REGION} ")

    reply = lambda_function.lambda_handler(v2_event({"x-extension": "png"}), None)

    assert reply["statusCode"] == 200
    assert query_of(body_of(reply)["presignedUrl"])["X-Amz-Credential"].split("/")[2] == REGION


@pytest.mark.parametrize("region", ["not a region!", "ap_northeast_2", "-ap-northeast-2"])
def test_malformed_bucket_region_is_a_generic_500_with_cors(function_env, region: str) -> None:
    # boto3 refuses such a region when the client is built; that must not escape the handler (API
    # Gateway would answer 502 with no Access-Control-Allow-Origin, which the browser reports as CORS)
    function_env.setenv("BUCKET_REGION", region)

    reply = lambda_function.lambda_handler(v2_event({"x-extension": "png"}), None)

    assert reply["headers"]["Access-Control-Allow-Origin"] == "*"
    assert_generic_500(reply, "server_misconfigured", region, "InvalidRegionError")


# ---------------------------------------------------------------- nothing of the client's chooses key or bucket


def test_nothing_the_client_sends_chooses_the_key_or_the_bucket(function_env) -> None:
    event = v2_event(
        {
            "x-extension": "png",
            "x-key": "../../admin/index.html",
            "x-bucket": "attacker-bucket",
            "x-amz-bucket": "attacker-bucket",
            "Content-Type": "text/html",
        }
    )
    event["rawQueryString"] = "key=evil.html&bucket=attacker-bucket&Key=evil.html"
    event["queryStringParameters"] = {"key": "evil.html", "bucket": "attacker-bucket", "Key": "evil.html"}
    event["pathParameters"] = {"key": "evil.html", "proxy": "attacker-bucket/evil.html"}
    event["body"] = json.dumps({"key": "evil.html", "bucket": "attacker-bucket", "fileName": "evil.html"})
    reply = lambda_function.lambda_handler(event, None)
    assert reply["statusCode"] == 200
    doc = body_of(reply)
    assert_presigned_put(doc, "png", "application/png", 300)  # a fresh uuid key; text/html is not png's
    assert "evil" not in doc["presignedUrl"] and "attacker" not in doc["presignedUrl"]
