"""services/checks/{presign,upload,cdn}.py: pure judges over recorded evidence, table-driven.

The evidence is shaped like what the gatherers record (``services/checks/gather.py``): Exchanges with redacted
URLs, S3's XML error bodies, CloudFront's X-Cache/Age headers, and boto3's GetDistribution / HeadObject
documents. Presigned URLs are real ones signed offline by boto3 with fake credentials (no network).
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from unittest import mock
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import boto3
import pytest
from botocore.config import Config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.aws_model import cache_control
from services.checks import cdn, presign, upload
from services.checks.evidence import Canary, CheckTarget, Evidence
from services.checks.model import GATHERERS, Check, ConfigRead, Exchange, Finding, ReadState, Status
from services.checks.runner import judge
from services.cli import build_parser
from services.core.redact import REDACTED, redact_text
from tests.support import assert_codes

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEJr//////////wEaDmFwLW5vcnRoZWFzdC0yIkcwRQIhAK+7Sampl3T0ken=="
SIGNATURE_PROVIDED = "5d1c0ffee5d1c0ffee5d1c0ffee5d1c0ffee5d1c0ffee5d1c0ffee5d1c0ffee0"
REGION = "ap-northeast-2"
BUCKET = "pipeline-bucket"
API = "https://a1b2c3d4e5.execute-api.ap-northeast-2.amazonaws.com/prod/presign"
CDN = "https://d111111abcdef8.cloudfront.net"
DIST = "E2ABCDEF123456"
ORIGIN = "https://app.example.com"
LOCAL_ORIGIN = "http://localhost:5173"
KEY = "3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b.png"
SHA = "a" * 64
LONG = "public, max-age=31536000, immutable"
ROLE_ARN = "arn:aws:iam::123456789012:role/presign-role"
S3_OBJECT = f"https://{BUCKET}.s3.{REGION}.amazonaws.com/{KEY}"
CHECKS: dict[str, Check] = {check.id: check for check in (*presign.CHECKS, *upload.CHECKS, *cdn.CHECKS)}
#: a signing parameter and its value, wherever it shows up in a finding
SECRET_PARAM = re.compile(
    r"(X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|Signature|AWSAccessKeyId)=([^&\s\"'<>\\]+)"
)


# --- building evidence ----------------------------------------------------------------------------------


def sign(
    *,
    bucket: str = BUCKET,
    region: str = REGION,
    content_type: str | None = "image/png",
    expires: int = 300,
    version: str = "s3v4",
    style: str = "virtual",
    endpoint: str | None = None,
    token: str | None = None,
    key: str = KEY,
) -> str:
    """A real presigned PUT URL, signed offline (no local AWS config or endpoint variables leak in)."""
    isolated = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    isolated |= {"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
    with mock.patch.dict(os.environ, isolated, clear=True):
        client = boto3.client(
            "s3",
            region_name=region,
            endpoint_url=endpoint or f"https://s3.{region}.amazonaws.com",
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            aws_session_token=token,
            config=Config(signature_version=version, s3={"addressing_style": style}),
        )
        params = {"Bucket": bucket, "Key": key} | ({"ContentType": content_type} if content_type else {})
        return client.generate_presigned_url("put_object", Params=params, ExpiresIn=expires, HttpMethod="PUT")


def with_query(url: str, **changes: str) -> str:
    """The URL with some query parameters replaced (names with '_' for '-')."""
    parts = urlsplit(url)
    pairs = dict(parse_qsl(parts.query, keep_blank_values=True))
    pairs |= {name.replace("_", "-"): value for name, value in changes.items()}
    return urlunsplit(parts._replace(query=urlencode(pairs, safe="/")))


def target(**changes: Any) -> CheckTarget:
    base = CheckTarget(
        presign_url=API, bucket=BUCKET, cdn_url=CDN, region=REGION, app_origins=(ORIGIN,), distribution_id=DIST
    )
    return replace(base, **changes)


def evidence(tgt: CheckTarget | None = None, **fields: Any) -> Evidence:
    return Evidence(target=tgt or target(), gathered_at=datetime(2024, 5, 1, 12, 0, tzinfo=UTC), **fields)


def http(
    status: int | None = 200,
    body: str = "",
    headers: dict[str, str] | None = None,
    *,
    method: str = "GET",
    url: str = API,
    error: str | None = None,
    sent: dict[str, str] | None = None,
) -> Exchange:
    return Exchange(method, url, sent or {}, status, headers or {}, body, error, 42.0)


def json_reply(status: int, doc: Any, headers: dict[str, str] | None = None) -> Exchange:
    return http(status, json.dumps(doc), {"Content-Type": "application/json", **(headers or {})})


def presign_reply(url: str | None = None, key: str = KEY, content_type: str | None = "image/png") -> Exchange:
    # as a function signs it: the URL's path is the reply's key
    doc: dict[str, Any] = {"presignedUrl": url or sign(content_type=content_type, key=key), "key": key}
    if content_type is not None:
        doc["contentType"] = content_type
    return json_reply(200, doc, {"Access-Control-Allow-Origin": "*"})


def refusal(code: str) -> Exchange:
    return json_reply(400, {"error": code, "message": "x-extension must be one of: png, jpg, jpeg, gif, webp"})


def shipped(**changes: Any) -> dict[str, Any]:
    """The shipped function's replies: image/png, 300 s, 400 JSON errors."""
    return {
        "presign_ok": presign_reply(),
        "presign_missing_extension": refusal("missing_extension"),
        "presign_bad_extension": refusal("unsupported_extension"),
    } | changes


def seed() -> dict[str, Any]:
    """The seed's function: application/png for an hour, no contentType, no allowlist, no error handling."""
    return {
        "presign_ok": json_reply(200, {"presignedUrl": sign(content_type="application/png", expires=3600), "key": KEY}),
        "presign_missing_extension": json_reply(
            200,
            {"presignedUrl": sign(content_type="application/None", key="None.None", expires=3600), "key": "None.None"},
        ),
        "presign_bad_extension": json_reply(
            200,
            {
                "presignedUrl": sign(content_type="application/exe", key=KEY[:-3] + "exe", expires=3600),
                "key": KEY[:-3] + "exe",
            },
        ),
    }


def s3_error(code: str, message: str = "", canonical_type: str | None = None) -> str:
    """S3's XML error body; SignatureDoesNotMatch echoes the signature and the canonical request."""
    extra = ""
    if code == "SignatureDoesNotMatch":
        canonical = "\n".join(
            [
                "PUT",
                f"/{KEY}",
                f"X-Amz-Algorithm=AWS4-HMAC-SHA256&amp;X-Amz-Credential={ACCESS_KEY}%2F20240501%2F{REGION}%2Fs3%2F"
                "aws4_request&amp;X-Amz-Date=20240501T120000Z&amp;X-Amz-Expires=300&amp;X-Amz-SignedHeaders=content-type%3Bhost",
                f"content-type:{canonical_type or 'application/png'}",
                f"host:{BUCKET}.s3.{REGION}.amazonaws.com",
                "",
                "content-type;host",
                "UNSIGNED-PAYLOAD",
            ]
        )
        extra = (
            f"<AWSAccessKeyId>{ACCESS_KEY}</AWSAccessKeyId><SignatureProvided>{SIGNATURE_PROVIDED}</SignatureProvided>"
            f"<CanonicalRequest>{canonical}</CanonicalRequest>"
        )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>{extra}'
        "<RequestId>4442587FB7D0A2F9</RequestId><HostId>hOsTiD=</HostId></Error>"
    )


def put(status: int | None = 200, content_type: str = "image/png", body: str = "", url: str | None = None) -> Exchange:
    # as the gatherer records it: the URL redacted, signing parameters' names kept
    signed_url = redact_text(url or sign(content_type=content_type))
    return http(status, body, {}, method="PUT", url=signed_url, sent={"Content-Type": content_type})


def cdn_reply(
    status: int | None = 200,
    x_cache: str | None = "Miss from cloudfront",
    age: str | None = None,
    cache_control: str | None = LONG,
    body: str = "(68 bytes of image/png)",
    **extra: str,
) -> Exchange:
    headers = {"Content-Type": "image/png", "Via": "1.1 abc.cloudfront.net (CloudFront)"} | extra
    if x_cache is not None:
        headers["X-Cache"] = x_cache
    if age is not None:
        headers["Age"] = age
    if cache_control is not None:
        headers["Cache-Control"] = cache_control
    return http(status, body, headers, url=f"{CDN}/{KEY}")


def head(content_type: str | None = "image/png", cache_control: str | None = LONG) -> ConfigRead:
    value: dict[str, Any] = {"ContentLength": 68}
    if content_type is not None:
        value["ContentType"] = content_type
    if cache_control is not None:
        value["CacheControl"] = cache_control
    return ConfigRead("s3:HeadObject", ReadState.OK, value)


DENIED_HEAD = ConfigRead("s3:HeadObject", ReadState.DENIED, None, "403", "Forbidden")


def canary(**changes: Any) -> Canary:
    """A canary that went through every hop (the shipped function, a working CDN)."""
    base = Canary(
        presign=presign_reply(),
        key=KEY,
        signed_content_type="image/png",
        client_content_type="image/png",
        put=put(200),
        sha256=SHA,
        head=head(),
        cdn_first=cdn_reply(200, "Miss from cloudfront"),
        cdn_second=cdn_reply(200, "Hit from cloudfront", age="3"),
        cdn_body_sha256=SHA,
        cdn_gzip=cdn_reply(200, "Hit from cloudfront", age="3"),
        direct_s3=http(
            403, s3_error("AccessDenied", "Access Denied"), url=f"https://{BUCKET}.s3.{REGION}.amazonaws.com/{KEY}"
        ),
    )
    return replace(base, **changes)


def distribution_config(**behaviour: Any) -> dict[str, Any]:
    origin = behaviour.pop(
        "origin", {"S3OriginConfig": {"OriginAccessIdentity": ""}, "OriginAccessControlId": "E3OACID"}
    )
    return {
        "CallerReference": "pipeline",
        "Origins": {
            "Quantity": 1,
            "Items": [{"Id": "s3-origin", "DomainName": f"{BUCKET}.s3.{REGION}.amazonaws.com", **origin}],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": "s3-origin",
            "ViewerProtocolPolicy": "redirect-to-https",
            "Compress": True,
            "AllowedMethods": {
                "Quantity": 2,
                "Items": ["GET", "HEAD"],
                "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]},
            },
        }
        | behaviour,
        "Enabled": True,
    }


def distribution(**behaviour: Any) -> ConfigRead:
    value = {
        "Id": DIST,
        "ARN": f"arn:aws:cloudfront::123456789012:distribution/{DIST}",
        "DomainName": "d111111abcdef8.cloudfront.net",
        "DistributionConfig": distribution_config(**behaviour),
    }
    return ConfigRead("cloudfront:GetDistribution", ReadState.OK, value)


def methods(*names: str) -> dict[str, Any]:
    return {"Quantity": len(names), "Items": list(names), "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]}}


DENIED_DIST = ConfigRead(
    "cloudfront:GetDistribution",
    ReadState.DENIED,
    None,
    "AccessDenied",
    "User is not authorized to perform: cloudfront:GetDistribution",
)


def preflight(
    allow_origin: str | None = ORIGIN, allow_headers: str | None = "content-type,x-extension", status: int = 204
) -> Exchange:
    headers = {"Access-Control-Allow-Methods": "GET,OPTIONS", "Access-Control-Max-Age": "0"}
    if allow_origin is not None:
        headers["Access-Control-Allow-Origin"] = allow_origin
    if allow_headers is not None:
        headers["Access-Control-Allow-Headers"] = allow_headers
    return http(status, "", headers, method="OPTIONS")


def with_origin(allow_origin: str | None = "*") -> Exchange:
    reply = presign_reply()
    headers = {k: v for k, v in reply.response_headers.items() if k != "Access-Control-Allow-Origin"}
    if allow_origin is not None:
        headers["Access-Control-Allow-Origin"] = allow_origin
    return replace(reply, response_headers=headers)


def cors(pre: Exchange | None = None, get: Exchange | None = None, origin: str = ORIGIN) -> dict[str, Any]:
    return {
        "api_preflights": {origin: pre or preflight()},
        "presign_with_origin": {origin: get or with_origin()},
    }


# --- the table ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    check: str
    ev: Evidence
    status: Status
    phrases: tuple[str, ...] = ()
    absent: tuple[str, ...] = field(default=())
    codes: tuple[str, ...] = ()  # cause codes the finding must carry


def case(
    name: str,
    check: str,
    ev: Evidence,
    status: Status,
    *phrases: str,
    absent: tuple[str, ...] = (),
    codes: tuple[str, ...] = (),
) -> Case:
    return Case(name, check, ev, status, phrases, absent, codes)


P, W, F, U, S = Status.PASS, Status.WARN, Status.FAIL, Status.UNKNOWN, Status.SKIP

REACHABLE = [
    case("answers 200", "presign.reachable", evidence(**shipped()), P, "HTTP 200"),
    case("not gathered", "presign.reachable", evidence(), U),
    case(
        "connection refused",
        "presign.reachable",
        evidence(presign_ok=http(None, error="ConnectionError: ... [Errno 111] Connection refused")),
        F,
        "connection refused",
        "PIPELINE_PRESIGN_URL",
    ),
    case(
        "timeout",
        "presign.reachable",
        evidence(
            presign_ok=http(None, error="ReadTimeout: HTTPSConnectionPool(...): Read timed out. (read timeout=10)")
        ),
        F,
        "timed out",
    ),
    case(
        "dns",
        "presign.reachable",
        evidence(
            presign_ok=http(None, error="ConnectionError: NameResolutionError: Failed to resolve 'x.execute-api'")
        ),
        F,
        "DNS lookup failed",
    ),
    case(
        "lambda 500",
        "presign.reachable",
        evidence(presign_ok=json_reply(500, {"message": "Internal Server Error"})),
        F,
        "500",
        "CloudWatch",
    ),
    case(
        "api gateway 403 Forbidden",
        "presign.reachable",
        evidence(presign_ok=json_reply(403, {"message": "Forbidden"})),
        F,
        "403",
        "stage or route",
        "authorizer",
    ),
    case("404 no route", "presign.reachable", evidence(presign_ok=json_reply(404, {"message": "Not Found"})), F, "404"),
    case("400 for png", "presign.reachable", evidence(presign_ok=refusal("unsupported_extension")), W, "400"),
]

CONTRACT = [
    case("shipped function", "presign.contract", evidence(**shipped()), P, "HTTP 400"),
    case(
        "seed: 200 None.None and exe accepted",
        "presign.contract",
        evidence(**seed()),
        F,
        "'None.None'",
        "no extension allowlist",
        "x-extension 'exe'",
        "contentType",
        "update-function-code",
    ),
    case(
        "seed variant: 500 for a missing extension",
        "presign.contract",
        evidence(**shipped(presign_missing_extension=json_reply(500, {"message": "Internal Server Error"}))),
        F,
        "GET without x-extension → HTTP 500",
    ),
    case(
        "no contentType",
        "presign.contract",
        evidence(**shipped(presign_ok=presign_reply(sign(content_type="image/png"), content_type=None))),
        W,
        "PIPELINE_CLIENT_CONTENT_TYPE",
    ),
    case(
        "predictable key",
        "presign.contract",
        evidence(**shipped(presign_ok=presign_reply(key="cat.png"))),
        W,
        "'cat.png'",
        "uuid4",
    ),
    case(
        "key from a folder", "presign.contract", evidence(**shipped(presign_ok=presign_reply(key=f"uploads/{KEY}"))), P
    ),
    case(
        "not JSON",
        "presign.contract",
        evidence(**shipped(presign_ok=http(200, "<html>ok</html>"))),
        F,
        "not a JSON object",
    ),
    case(
        "presignedUrl missing",
        "presign.contract",
        evidence(**shipped(presign_ok=json_reply(200, {"url": "x", "key": KEY}))),
        F,
        "presignedUrl is missing",
    ),
    case(
        "presignedUrl not http",
        "presign.contract",
        evidence(
            **shipped(presign_ok=json_reply(200, {"presignedUrl": "s3://b/k", "key": KEY, "contentType": "image/png"}))
        ),
        F,
        "not an http(s) URL",
    ),
    case(
        "400 but text",
        "presign.contract",
        evidence(**shipped(presign_bad_extension=http(400, "bad ext"))),
        W,
        "not JSON",
    ),
    case(
        "no 200 to judge",
        "presign.contract",
        evidence(presign_ok=json_reply(502, {"message": "Internal Server Error"})),
        U,
    ),
    case("refusals not probed", "presign.contract", evidence(presign_ok=presign_reply()), U, "not probed"),
]

SANDBOX_URL = sign(region="us-east-1", endpoint="http://s3.us-east-1.localhost:9000")
SANDBOX_S3 = "http://127.0.0.1:9000"  # the sandbox's AWS_ENDPOINT_URL
URL = [
    case(
        "shipped: https, SigV4, 300 s, content-type signed",
        "presign.url",
        evidence(**shipped()),
        P,
        "content-type;host",
        "Expires in 300 s",
        "X-Amz-Signature=REDACTED",
    ),
    case("path-style", "presign.url", evidence(presign_ok=presign_reply(sign(style="path"))), P, "path-style"),
    case(
        "seed: expiry 3600, application/png",
        "presign.url",
        evidence(**seed()),
        W,
        "The URL lives 60 minutes (X-Amz-Expires=3600)",
        "URL_EXPIRES_SECONDS=300",
    ),
    case(
        "expiry 0",
        "presign.url",
        evidence(presign_ok=presign_reply(with_query(sign(), X_Amz_Expires="0"))),
        F,
        "dead on arrival",
    ),
    case(
        "expiry beyond 7 days",
        "presign.url",
        evidence(presign_ok=presign_reply(with_query(sign(), X_Amz_Expires="700000"))),
        F,
        "604800",
    ),
    case(
        "SigV2",
        "presign.url",
        evidence(presign_ok=presign_reply(sign(version="s3"))),
        F,
        "SigV2",
        "s3v4",
    ),
    case(
        "wrong region (signed and addressed for us-west-2)",
        "presign.url",
        evidence(presign_ok=presign_reply(sign(region="us-west-2"))),
        F,
        "AuthorizationQueryParametersError",
        "PermanentRedirect",
        f"BUCKET_REGION={REGION}",
    ),
    case(
        "credential scope in the wrong region only",
        "presign.url",
        evidence(
            presign_ok=presign_reply(
                with_query(sign(), X_Amz_Credential=f"{ACCESS_KEY}/20240501/us-west-2/s3/aws4_request")
            )
        ),
        F,
        "credential scope names region us-west-2",
        "AuthorizationQueryParametersError",
    ),
    case(
        "http outside the sandbox",
        "presign.url",
        evidence(presign_ok=presign_reply(sign(endpoint=f"http://s3.{REGION}.amazonaws.com"))),
        F,
        "not https",
    ),
    case(
        "http in the sandbox",
        "presign.url",
        evidence(
            target(sandbox=True, region="us-east-1", s3_endpoint=SANDBOX_S3), presign_ok=presign_reply(SANDBOX_URL)
        ),
        P,
        "sandbox",
    ),
    case(
        "local sandbox host, console configured by the sandbox's exports",
        "presign.url",
        evidence(target(region="us-east-1", s3_endpoint=SANDBOX_S3), presign_ok=presign_reply(SANDBOX_URL)),
        P,
        "local sandbox",
    ),
    case(
        "legacy global endpoint outside us-east-1 (the upload refuses it too)",
        "presign.url",
        evidence(presign_ok=presign_reply(sign(endpoint="https://s3.amazonaws.com"))),
        F,
        "legacy global",
        "307",
    ),
    case(
        "global endpoint for a us-east-1 bucket",
        "presign.url",
        evidence(
            target(region="us-east-1"),
            presign_ok=presign_reply(sign(region="us-east-1", endpoint="https://s3.amazonaws.com")),
        ),
        P,
        "global endpoint",
    ),
    case(
        "another bucket",
        "presign.url",
        evidence(presign_ok=presign_reply(sign(bucket="other-bucket"))),
        F,
        "'other-bucket'",
    ),
    case(
        "content-type not signed",
        "presign.url",
        evidence(presign_ok=presign_reply(sign(content_type=None))),
        W,
        "Content-Type is not signed",
        "ContentType",
    ),
    case(
        "temporary credentials",
        "presign.url",
        evidence(presign_ok=presign_reply(sign(token=SESSION_TOKEN))),
        P,
        "temporary credentials",
        "X-Amz-Security-Token=REDACTED",
    ),
    case("no URL", "presign.url", evidence(presign_ok=json_reply(500, {"message": "Internal Server Error"})), U),
    case(
        "as the gatherer records it (credential redacted, its scope kept)",
        "presign.url",
        evidence(presign_ok=replace(presign_reply(), body=redact_text(presign_reply().body))),
        P,
    ),
]

CORS = [
    case("no origins", "presign.cors", evidence(target(app_origins=())), S, "PIPELINE_APP_ORIGINS"),
    case("preflight and GET allowed", "presign.cors", evidence(**cors()), P),
    case("wildcards, any case", "presign.cors", evidence(**cors(preflight("*", "X-Extension, Content-Type"))), P),
    case("allow-headers *", "presign.cors", evidence(**cors(preflight(ORIGIN, "*"))), P),
    case(
        "API preflight lacks x-extension",
        "presign.cors",
        evidence(**cors(preflight(ORIGIN, "content-type"))),
        F,
        ORIGIN,
        "does not allow x-extension",
        "aws apigatewayv2 update-api --api-id a1b2c3d4e5",
        "AllowHeaders=content-type,x-extension",
        "--region ap-northeast-2",
    ),
    case(
        "Lambda reply lacks ACAO",
        "presign.cors",
        evidence(**cors(get=with_origin(None))),
        F,
        "no Access-Control-Allow-Origin",
        "Access-Control-Allow-Origin",
        "ALLOW_ORIGIN",
    ),
    case(
        "preflight 403 without ACAO",
        "presign.cors",
        evidence(**cors(preflight(None, None, status=403))),
        F,
        "answers HTTP 403",
        "carries no Access-Control-Allow-Origin",
    ),
    case(
        "another origin allowed",
        "presign.cors",
        evidence(**cors(preflight("https://other.example"))),
        F,
        "'https://other.example'",
    ),
    case(
        "REST API elsewhere: <api-id>",
        "presign.cors",
        evidence(target(presign_url="https://api.example.com/presign"), **cors(preflight(ORIGIN, "content-type"))),
        F,
        "--api-id <api-id>",
    ),
    case(
        "one of two origins broken",
        "presign.cors",
        evidence(
            target(app_origins=(ORIGIN, LOCAL_ORIGIN)),
            api_preflights={ORIGIN: preflight(), LOCAL_ORIGIN: preflight(ORIGIN)},
            presign_with_origin={ORIGIN: with_origin(), LOCAL_ORIGIN: with_origin()},
        ),
        F,
        LOCAL_ORIGIN,
        f"AllowOrigins={ORIGIN},{LOCAL_ORIGIN}",
    ),
    case(
        "preflight not gathered",
        "presign.cors",
        evidence(presign_with_origin={ORIGIN: with_origin()}),
        U,
        "No preflight",
    ),
]

MISMATCH_PUT = put(
    403,
    "image/png",
    # S3's CanonicalRequest echoes the type it received (the one sent), not the signed one
    s3_error("SignatureDoesNotMatch", "The request signature we calculated does not match", "image/png"),
    url=sign(content_type="application/png"),
)
SEED_CANARY = canary(
    presign=json_reply(200, {"presignedUrl": sign(content_type="application/png", expires=3600), "key": KEY}),
    signed_content_type=None,
    client_content_type="image/png",
    put=MISMATCH_PUT,
    put_alternatives={
        "application/png": put(200, "application/png", url=sign(content_type="application/png")),
    },
    head=head("application/png"),
)
NOT_STARTED = Canary(presign=json_reply(500, {"message": "Internal Server Error"}), client_content_type="image/png")

ROUNDTRIP = [
    case("all hops", "upload.roundtrip", evidence(canary=canary()), P, "identical", KEY),
    case("not run", "upload.roundtrip", evidence(), U),
    case("could not start", "upload.roundtrip", evidence(canary=NOT_STARTED), U, "could not start", "HTTP 500"),
    case(
        "PUT SignatureDoesNotMatch",
        "upload.roundtrip",
        evidence(canary=SEED_CANARY),
        F,
        "PUT",
        "403 SignatureDoesNotMatch",
        "signed for Content-Type 'application/png'",
        "upload.content_type",
    ),
    case(
        "PUT AccessDenied: role lacks s3:PutObject",
        "upload.roundtrip",
        evidence(
            canary=canary(put=put(403, body=s3_error("AccessDenied", "Access Denied")), cdn_first=None),
            lambda_config=ConfigRead("lambda:GetFunctionConfiguration", ReadState.OK, {"Role": ROLE_ARN}),
        ),
        F,
        "403 AccessDenied",
        "s3:PutObject",
        "--role-name presign-role",
        f"arn:aws:s3:::{BUCKET}/*",
    ),
    case("PUT no answer", "upload.roundtrip", evidence(canary=canary(put=put(None))), F, "no answer"),
    case(
        "PUT: Request has expired",
        "upload.roundtrip",
        evidence(canary=canary(put=put(403, body=s3_error("AccessDenied", "Request has expired")), cdn_first=None)),
        F,
        "expired",
        "URL_EXPIRES_SECONDS",
        absent=("put-role-policy",),
    ),
    case(
        "CDN 403 Error from cloudfront",
        "upload.roundtrip",
        evidence(
            canary=canary(
                cdn_first=cdn_reply(
                    403,
                    "Error from cloudfront",
                    age="12",
                    cache_control=None,
                    body=s3_error("AccessDenied", "Access Denied"),
                )
            )
        ),
        F,
        "CDN read failed",
        "AccessDenied",
        "cloudfront.amazonaws.com",
        "create-invalidation",
    ),
    case("bytes differ", "upload.roundtrip", evidence(canary=canary(cdn_body_sha256="b" * 64)), F, "different bytes"),
    case("bytes not compared", "upload.roundtrip", evidence(canary=canary(cdn_body_sha256=None)), U),
]

CONTENT_TYPE = [
    case(
        "SignatureDoesNotMatch: signs application/png, web app sends image/png",
        "upload.content_type",
        evidence(canary=SEED_CANARY),
        F,
        "The function signs application/png but the web app sends image/png",
        "S3 accepted 'application/png'",
        "CONTENT_TYPE_STYLE=image",
        "PIPELINE_CLIENT_CONTENT_TYPE",
    ),
    case(
        "PUT worked, but the web app sends another type",
        "upload.content_type",
        evidence(canary=canary(signed_content_type="image/png", client_content_type="application/png")),
        F,
        "The function signs image/png but the web app sends application/png",
        "even though the console's canary",
    ),
    case("signed type is what the web app sends", "upload.content_type", evidence(canary=canary()), P, "image/png"),
    case(
        "endpoint silent; the web app's type worked",
        "upload.content_type",
        evidence(canary=canary(signed_content_type=None, client_content_type="image/png")),
        P,
    ),
    case(
        "client type from the configured template",
        "upload.content_type",
        evidence(target(client_content_type="application/{ext}"), canary=canary(client_content_type=None)),
        F,
        "web app sends application/png",
    ),
    case(
        "nothing signed for content-type",
        "upload.content_type",
        evidence(canary=canary(signed_content_type=None, put=put(200, url=sign(content_type=None)))),
        S,
    ),
    case("could not start", "upload.content_type", evidence(canary=NOT_STARTED), U),
    case(
        "a type is reported but not signed",
        "upload.content_type",
        evidence(canary=canary(client_content_type="application/png", put=put(200, url=sign(content_type=None)))),
        S,
        "X-Amz-SignedHeaders=host",
    ),
    case(
        "endpoint reports one type, signed another",
        "upload.content_type",
        evidence(canary=replace(SEED_CANARY, signed_content_type="image/png")),
        F,
        "reports contentType image/png but signed application/png",
    ),
    case(
        "no type accepted, content-type not signed",
        "upload.content_type",
        evidence(
            canary=canary(
                signed_content_type=None,
                put=put(403, body=s3_error("SignatureDoesNotMatch"), url=sign(content_type=None)),
                put_alternatives={"application/png": put(403, "application/png", s3_error("SignatureDoesNotMatch"))},
            )
        ),
        F,
        "every Content-Type",
    ),
    case(
        # S3's CanonicalRequest holds the type it received: it must never be reported as the signed one
        "endpoint silent, no type accepted, S3 echoes the type it received",
        "upload.content_type",
        evidence(
            canary=canary(
                signed_content_type=None,
                client_content_type="image/png",
                put=put(
                    403,
                    "image/png",
                    s3_error("SignatureDoesNotMatch", "", "image/png"),
                    sign(content_type="application/png"),
                ),
                put_alternatives={
                    "binary/octet-stream": put(403, "binary/octet-stream", s3_error("SignatureDoesNotMatch")),
                },
                head=None,
                cdn_first=None,
            )
        ),
        F,
        "every Content-Type tried",
        "content-type;host",
        "sent 'image/png'",
        "The endpoint did not say which type it signed",
        absent=("signed for", "echoes the signed type"),
    ),
    case(
        "the endpoint reports a type, S3 refused it and every other",
        "upload.content_type",
        evidence(
            canary=canary(
                signed_content_type="image/png",
                put=put(
                    403,
                    "image/png",
                    s3_error("SignatureDoesNotMatch", "", "image/png"),
                    sign(content_type="application/png"),
                ),
                put_alternatives={"": put(403, "", s3_error("SignatureDoesNotMatch"))},
            )
        ),
        F,
        "every Content-Type tried",
        "the type the presign reply says it signed",
        absent=("signed for", "did not say"),
    ),
    case(
        "PUT failed otherwise",
        "upload.content_type",
        evidence(canary=canary(put=put(403, body=s3_error("AccessDenied")))),
        U,
        "upload.roundtrip",
    ),
]


def sample(*types: str | None) -> ConfigRead:
    rows = [{"key": f"old-{i}.png", "content_type": t, "read": "ok"} for i, t in enumerate(types)]
    return ConfigRead("s3:ListBucket", ReadState.OK, rows, resource=f"arn:aws:s3:::{BUCKET}")


STORED_TYPE = [
    case("image/png", "upload.stored_type", evidence(canary=canary()), P, "image/png"),
    case(
        "image/png, the sample all image/*",
        "upload.stored_type",
        evidence(canary=canary(), stored_sample=sample("image/png", "image/png")),
        P,
        "The 2 newest image object(s) sampled are all stored as image/*",
        absent=("application/",),
    ),
    case(
        "image/png now, older objects still application/png",
        "upload.stored_type",
        evidence(canary=canary(), stored_sample=sample("image/png", "application/png", "binary/octet-stream")),
        P,
        "Of the 3 newest image objects sampled, 2 still carry application/*",
        "old-1.png (application/png), old-2.png (binary/octet-stream)",
        "--content-type image/png --exclude '*' --include '*.png'",
    ),
    case(
        "stored application/png and so are the older ones",
        "upload.stored_type",
        evidence(canary=canary(head=head("application/png")), stored_sample=sample("application/png")),
        F,
        "old-0.png (application/png)",
        "Content-Type: image/<ext> on both the presign request and the PUT",
        "CLIENT_CONTENT_TYPE=ignore",
    ),
    case(
        "the sample may not be listed",
        "upload.stored_type",
        evidence(
            canary=canary(),
            stored_sample=ConfigRead("s3:ListBucket", ReadState.DENIED, None, "AccessDenied", "Access Denied"),
        ),
        P,
        "needs s3:ListBucket",
    ),
    case(
        "stored application/png",
        "upload.stored_type",
        evidence(canary=canary(head=head("application/png"))),
        F,
        "downloads instead of showing",
        "CONTENT_TYPE_STYLE=image",
        f"python -m services repair --apply --confirm {BUCKET}",
        f"aws s3 cp s3://{BUCKET}/ s3://{BUCKET}/ --recursive --metadata-directive REPLACE --content-type image/png --exclude '*' --include '*.png'",
        "--content-type image/jpeg --exclude '*' --include '*.jpg'",
    ),
    case(
        "binary/octet-stream",
        "upload.stored_type",
        evidence(canary=canary(head=head("binary/octet-stream"))),
        F,
        "downloads",
    ),
    case("text/plain", "upload.stored_type", evidence(canary=canary(head=head("text/plain"))), W, "not image/*"),
    case(
        "image/jpeg for .png",
        "upload.stored_type",
        evidence(canary=canary(head=head("image/jpeg"))),
        W,
        "not image/png",
    ),
    case("no ContentType", "upload.stored_type", evidence(canary=canary(head=head(None))), W),
    case(
        "HEAD denied",
        "upload.stored_type",
        evidence(canary=canary(head=DENIED_HEAD)),
        U,
        "The console's role lacks s3:GetObject",
        "s3:HeadObject answered 403",
        f'"Resource": "arn:aws:s3:::{BUCKET}/*"',
    ),
    case("HEAD not made", "upload.stored_type", evidence(canary=NOT_STARTED), U),
]

ERROR_403 = cdn_reply(
    403, "Error from cloudfront", age="12", cache_control=None, body=s3_error("AccessDenied", "Access Denied")
)
READ = [
    case("200 identical", "cdn.read", evidence(canary=canary()), P, "matches"),
    case(
        "403 Error from cloudfront with Age",
        "cdn.read",
        evidence(canary=canary(cdn_first=ERROR_403, cdn_body_sha256=None)),
        F,
        "Error from cloudfront",
        "Age: 12",
        "error-caching TTL",
        "AWS:SourceArn",
        f"aws cloudfront create-invalidation --distribution-id {DIST} --paths '/{KEY}'",
    ),
    case(
        "403 without a distribution id",
        "cdn.read",
        evidence(target(distribution_id=None), canary=canary(cdn_first=ERROR_403, cdn_body_sha256=None)),
        F,
        "--distribution-id <distribution-id>",
    ),
    case(
        "no answer",
        "cdn.read",
        evidence(canary=canary(cdn_first=http(None, url=f"{CDN}/{KEY}", error="ConnectTimeout"))),
        F,
        "PIPELINE_CDN_URL",
    ),
    case("other bytes", "cdn.read", evidence(canary=canary(cdn_body_sha256="b" * 64)), F, "other bytes"),
    case("bytes not compared", "cdn.read", evidence(canary=canary(sha256=None)), U),
    case("not read", "cdn.read", evidence(canary=NOT_STARTED), U),
]

CACHE_HIT = [
    case("Hit with Age", "cdn.cache_hit", evidence(canary=canary()), P, "Age 3"),
    case(
        "RefreshHit",
        "cdn.cache_hit",
        evidence(canary=canary(cdn_second=cdn_reply(200, "RefreshHit from cloudfront", age="0"))),
        W,
        "RefreshHit",
    ),
    case(
        "Miss twice",
        "cdn.cache_hit",
        evidence(canary=canary(cdn_second=cdn_reply(200, "Miss from cloudfront"))),
        W,
        "Missed the cache twice",
        "CachingDisabled",
        "no-store",
    ),
    case(
        "no X-Cache",
        "cdn.cache_hit",
        evidence(canary=canary(cdn_first=cdn_reply(200, None), cdn_second=cdn_reply(200, None, Via="1.1 varnish"))),
        W,  # speed: the images still show
        "Not served by CloudFront",
        "PIPELINE_CDN_URL",
        "varnish",
    ),
    case(
        "second read an error", "cdn.cache_hit", evidence(canary=canary(cdn_first=ERROR_403, cdn_second=ERROR_403)), U
    ),
    case("not read twice", "cdn.cache_hit", evidence(canary=canary(cdn_second=None)), U),
]


def cc(value: str | None, **changes: Any) -> Evidence:
    return evidence(canary=canary(cdn_first=cdn_reply(200, cache_control=value), **changes))


CACHE_CONTROL = [
    case("a year, immutable", "cdn.cache_control", cc(LONG), P, "31536000"),
    case("a day", "cdn.cache_control", cc("max-age=86400"), P, "immutable"),
    case("absent", "cdn.cache_control", cc(None), W, "default TTL", "heuristic", LONG, "--cache-control"),
    case("max-age=300", "cdn.cache_control", cc("public, max-age=300"), W, "max-age=300"),
    # speed, not a failure: at most a warning (the runner clamps it)
    case("no-store", "cdn.cache_control", cc("no-store"), W, "no-store"),
    case("private", "cdn.cache_control", cc("private, max-age=600"), W, "private"),
    case("no-cache", "cdn.cache_control", cc("no-cache, max-age=31536000"), W, "no-cache"),
    case(
        "max-age not a number",
        "cdn.cache_control",
        cc('max-age="a year"'),
        W,
        "max-age cache directive's value is incorrect",
    ),
    case("s-maxage only", "cdn.cache_control", cc("s-maxage=86400"), W, "has no max-age"),
    case("quoted comma is not a separator", "cdn.cache_control", cc('public, max-age=86400, x-note="a, b"'), P),
    case("unclosed quote", "cdn.cache_control", cc('max-age=86400, x-note="a'), W, "syntax"),
    case(
        # what the CDN sends is seen only when its read works: the stored value is quoted, not judged (issue 12)
        "unknown when the CDN read failed",
        "cdn.cache_control",
        evidence(canary=canary(cdn_first=ERROR_403, head=head(cache_control="max-age=60"))),
        U,
        "the CDN read failed",
        "HeadObject",
        "max-age=60",
        absent=("--cache-control",),
    ),
    case(
        "unknown, not 'No Cache-Control', when the CDN read failed",
        "cdn.cache_control",
        evidence(canary=canary(cdn_first=ERROR_403, head=head(cache_control=None))),
        U,
        "has no Cache-Control",
        absent=("No Cache-Control on the images",),
    ),
    case("nothing seen", "cdn.cache_control", evidence(canary=canary(cdn_first=ERROR_403, head=DENIED_HEAD)), U),
]

COMPRESSION = [
    case(
        "Compress on, PNG not encoded",
        "cdn.compression",
        evidence(canary=canary(), distribution=distribution()),
        P,
        "uncompressed",
    ),
    case(
        "Compress off",
        "cdn.compression",
        evidence(canary=canary(), distribution=distribution(Compress=False)),
        W,
        "SVG",
        '"Compress": true',
    ),
    case(
        "PNG came back gzip",
        "cdn.compression",
        evidence(canary=canary(cdn_gzip=cdn_reply(200, **{"Content-Encoding": "gzip"})), distribution=distribution()),
        F,
        "Content-Encoding: gzip",
    ),
    case("no distribution, no live read", "cdn.compression", evidence(target(distribution_id=None)), S),
    case("live read only", "cdn.compression", evidence(target(distribution_id=None), canary=canary()), P),
    case("distribution read denied", "cdn.compression", evidence(distribution=DENIED_DIST), U, "denied"),
]

DIRECT = [
    case("403", "cdn.direct_s3_blocked", evidence(canary=canary()), P),
    case(
        "200: readable around the CDN",
        "cdn.direct_s3_blocked",
        evidence(canary=canary(direct_s3=http(200, "(68 bytes of image/png)", url=S3_OBJECT))),
        F,
        "readable around the CDN",
        "put-public-access-block",
    ),
    case(
        "404: anonymous may list",
        "cdn.direct_s3_blocked",
        evidence(canary=canary(direct_s3=http(404, s3_error("NoSuchKey"), url=S3_OBJECT))),
        W,
        "ListBucket",
    ),
    case(
        "no answer",
        "cdn.direct_s3_blocked",
        evidence(canary=canary(direct_s3=http(None, error="timed out", url=S3_OBJECT))),
        U,
    ),
    case("not probed", "cdn.direct_s3_blocked", evidence(canary=canary(direct_s3=None)), U),
]

CONFIG = [
    case("no distribution id", "cdn.config", evidence(target(distribution_id=None)), S, "PIPELINE_DISTRIBUTION_ID"),
    case(
        "OAC, compress, GET/HEAD, redirect-to-https",
        "cdn.config",
        evidence(distribution=distribution()),
        P,
        "OAC attached",
    ),
    case(
        "with OPTIONS",
        "cdn.config",
        evidence(distribution=distribution(AllowedMethods=methods("GET", "HEAD", "OPTIONS"))),
        P,
    ),
    case(
        "legacy OAI",
        "cdn.config",
        evidence(
            distribution=distribution(
                origin={"S3OriginConfig": {"OriginAccessIdentity": "origin-access-identity/cloudfront/E1OAI"}}
            )
        ),
        W,
        "legacy Origin Access Identity",
        '"OriginAccessControlId": "<oac-id>"',
    ),
    case(
        "neither OAC nor OAI",
        "cdn.config",
        evidence(
            distribution=distribution(
                origin={"S3OriginConfig": {"OriginAccessIdentity": ""}, "OriginAccessControlId": ""}
            )
        ),
        F,
        "no Origin Access Control",
    ),
    case(
        "Compress off",
        "cdn.config",
        evidence(distribution=distribution(Compress=False)),
        W,
        "Compress",
        '"Compress": true',
    ),
    case(
        "write methods",
        "cdn.config",
        evidence(
            distribution=distribution(
                AllowedMethods=methods("GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE")
            )
        ),
        W,
        "write methods",
        '"GET"',
    ),
    case(
        "allow-all viewers",
        "cdn.config",
        evidence(distribution=distribution(ViewerProtocolPolicy="allow-all")),
        W,
        "allow-all",
        '"ViewerProtocolPolicy": "redirect-to-https"',
        f"aws cloudfront get-distribution-config --id {DIST}",
        f"aws cloudfront update-distribution --id {DIST}",
    ),
    case("read denied", "cdn.config", evidence(distribution=DENIED_DIST), U, "cloudfront:GetDistribution"),
    case(
        "no such distribution",
        "cdn.config",
        evidence(distribution=ConfigRead("cloudfront:GetDistribution", ReadState.MISSING, None, "NoSuchDistribution")),
        F,
        "NoSuchDistribution",
    ),
    case("not read", "cdn.config", evidence(), U),
]

TABLE = [
    *REACHABLE,
    *CONTRACT,
    *URL,
    *CORS,
    *ROUNDTRIP,
    *CONTENT_TYPE,
    *STORED_TYPE,
    *READ,
    *CACHE_HIT,
    *CACHE_CONTROL,
    *COMPRESSION,
    *DIRECT,
    *CONFIG,
]


#: (check, case) -> the cause codes its finding carries (tests match on codes, not on phrases)
EXPECTED_CODES: dict[tuple[str, str], tuple[str, ...]] = {
    ("presign.reachable", "answers 200"): ("endpoint.answers",),
    ("presign.reachable", "not gathered"): ("endpoint.not_called",),
    ("presign.reachable", "connection refused"): ("endpoint.no_answer",),
    ("presign.reachable", "lambda 500"): ("endpoint.server_error",),
    ("presign.reachable", "api gateway 403 Forbidden"): ("endpoint.forbidden",),
    ("presign.reachable", "404 no route"): ("endpoint.not_found",),
    ("presign.reachable", "400 for png"): ("endpoint.refused_valid_request",),
    ("presign.contract", "shipped function"): ("reply.keeps_contract",),
    ("presign.contract", "seed: 200 None.None and exe accepted"): ("refusal.no_allowlist",),
    ("presign.contract", "seed variant: 500 for a missing extension"): ("refusal.server_error",),
    ("presign.contract", "no contentType"): ("reply.content_type_missing",),
    ("presign.contract", "predictable key"): ("reply.key_not_uuid",),
    ("presign.contract", "not JSON"): ("reply.not_json_object",),
    ("presign.contract", "presignedUrl missing"): ("reply.url_missing",),
    ("presign.contract", "400 but text"): ("refusal.not_json",),
    ("presign.contract", "no 200 to judge"): ("reply.none",),
    ("presign.contract", "refusals not probed"): ("refusal.not_probed",),
    ("presign.url", "shipped: https, SigV4, 300 s, content-type signed"): ("url.sound",),
    ("presign.url", "path-style"): ("url.sound",),
    ("presign.url", "seed: expiry 3600, application/png"): ("url.expiry_long",),
    ("presign.url", "expiry 0"): ("url.expired",),
    ("presign.url", "expiry beyond 7 days"): ("url.expiry_too_long",),
    ("presign.url", "SigV2"): ("url.sigv2",),
    ("presign.url", "wrong region (signed and addressed for us-west-2)"): ("url.region_mismatch",),
    ("presign.url", "credential scope in the wrong region only"): ("url.scope_region_mismatch",),
    ("presign.url", "http outside the sandbox"): ("url.not_https",),
    ("presign.url", "legacy global endpoint outside us-east-1 (the upload refuses it too)"): (
        "url.legacy_global_endpoint",
    ),
    ("presign.url", "another bucket"): ("url.other_bucket",),
    ("presign.url", "content-type not signed"): ("url.content_type_unsigned",),
    ("presign.url", "no URL"): ("url.none",),
    ("presign.cors", "no origins"): ("origins.not_configured",),
    ("presign.cors", "preflight and GET allowed"): ("cors.allowed",),
    ("presign.cors", "API preflight lacks x-extension"): ("cors.preflight_refused",),
    ("presign.cors", "Lambda reply lacks ACAO"): ("cors.allow_origin_missing",),
    ("presign.cors", "preflight not gathered"): ("cors.preflight_not_sent",),
    ("upload.roundtrip", "all hops"): ("canary.roundtrip_ok",),
    ("upload.roundtrip", "not run"): ("canary.not_run",),
    ("upload.roundtrip", "could not start"): ("canary.presign_failed",),
    ("upload.roundtrip", "PUT SignatureDoesNotMatch"): ("put.signature_mismatch",),
    ("upload.roundtrip", "PUT AccessDenied: role lacks s3:PutObject"): ("put.access_denied",),
    ("upload.roundtrip", "PUT no answer"): ("put.no_answer",),
    ("upload.roundtrip", "PUT: Request has expired"): ("put.expired",),
    ("upload.roundtrip", "CDN 403 Error from cloudfront"): ("cdn.read_failed",),
    ("upload.roundtrip", "bytes differ"): ("cdn.other_bytes",),
    ("upload.content_type", "SignatureDoesNotMatch: signs application/png, web app sends image/png"): (
        "type.client_mismatch",
    ),
    ("upload.content_type", "signed type is what the web app sends"): ("type.client_sends_signed",),
    ("upload.content_type", "nothing signed for content-type"): ("type.not_signed",),
    ("upload.content_type", "endpoint reports one type, signed another"): ("type.reported_not_signed",),
    ("upload.content_type", "PUT failed otherwise"): ("type.put_failed_otherwise",),
    ("upload.stored_type", "image/png"): ("stored.as_image",),
    ("upload.stored_type", "stored application/png"): ("stored.as_application",),
    ("upload.stored_type", "binary/octet-stream"): ("stored.as_application",),
    ("upload.stored_type", "text/plain"): ("stored.not_image",),
    ("upload.stored_type", "image/jpeg for .png"): ("stored.other_image_type",),
    ("upload.stored_type", "no ContentType"): ("stored.no_content_type",),
    ("upload.stored_type", "HEAD denied"): ("read.denied",),
    ("cdn.read", "200 identical"): ("cdn.serves_object",),
    ("cdn.read", "403 Error from cloudfront with Age"): ("cdn.forbidden",),
    ("cdn.read", "no answer"): ("cdn.no_answer",),
    ("cdn.read", "other bytes"): ("cdn.other_bytes",),
    ("cdn.read", "not read"): ("canary.not_this_far",),
    ("cdn.cache_hit", "Hit with Age"): ("cache.hit",),
    ("cdn.cache_hit", "RefreshHit"): ("cache.refresh_hit",),
    ("cdn.cache_hit", "Miss twice"): ("cache.missed_twice",),
    ("cdn.cache_hit", "no X-Cache"): ("cache.not_cloudfront",),
    ("cdn.cache_hit", "second read an error"): ("cache.repeat_read_failed",),
    ("cdn.cache_control", "a year, immutable"): ("cache_control.long",),
    ("cdn.cache_control", "absent"): ("cache_control.missing",),
    ("cdn.cache_control", "max-age=300"): ("cache_control.short_max_age",),
    ("cdn.cache_control", "no-store"): ("cache_control.no_store",),
    ("cdn.cache_control", "private"): ("cache_control.private",),
    ("cdn.cache_control", "no-cache"): ("cache_control.no_cache",),
    ("cdn.cache_control", "max-age not a number"): ("cache_control.no_max_age",),  # httplint drops the value
    ("cdn.cache_control", "s-maxage only"): ("cache_control.no_max_age",),
    ("cdn.cache_control", "unclosed quote"): ("cache_control.syntax",),
    ("cdn.cache_control", "unknown, not 'No Cache-Control', when the CDN read failed"): (
        "cache_control.cdn_read_failed",
    ),
    ("cdn.compression", "Compress on, PNG not encoded"): ("compression.ok",),
    ("cdn.compression", "Compress off"): ("compression.off",),
    ("cdn.compression", "PNG came back gzip"): ("compression.png_encoded",),
    ("cdn.compression", "no distribution, no live read"): ("compression.nothing_to_judge",),
    ("cdn.compression", "distribution read denied"): ("read.denied",),
    ("cdn.config", "no distribution id"): ("config.no_distribution_id",),
    ("cdn.config", "OAC, compress, GET/HEAD, redirect-to-https"): ("config.ok",),
    ("cdn.config", "with OPTIONS"): ("config.ok",),  # OPTIONS is read-only too
    ("cdn.config", "legacy OAI"): ("config.legacy_oai",),
    ("cdn.config", "neither OAC nor OAI"): ("config.no_oac",),
    ("cdn.config", "Compress off"): ("config.compression_off",),
    ("cdn.config", "allow-all viewers"): ("config.plain_http",),
    ("cdn.config", "read denied"): ("read.denied",),
    ("cdn.config", "no such distribution"): ("config.no_such_distribution",),
    ("cdn.config", "not read"): ("config.not_read",),
}


def text_of(finding: Finding) -> str:
    return "\n".join((finding.title, finding.detail, finding.fix))


def leaked(finding: Finding) -> list[str]:
    """Signing parameters whose value shows, the access key id, or the signature S3 echoed."""
    dumped = json.dumps(finding.to_json(), default=str, ensure_ascii=False)
    shown = [
        f"{name}={value}"
        for name, value in SECRET_PARAM.findall(dumped)
        if value != REDACTED and not value.startswith(REDACTED + "/")  # a credential keeps its scope, not its key id
    ]
    return shown + [secret for secret in (ACCESS_KEY, SIGNATURE_PROVIDED, SECRET_KEY) if secret in dumped]


@pytest.mark.parametrize("c", TABLE, ids=[f"{c.check}: {c.name}" for c in TABLE])
def test_judge(c: Case) -> None:
    finding = judge(CHECKS[c.check], c.ev)  # as a run judges: the impact's status, redacted
    assert (finding.id, finding.status) == (c.check, c.status), text_of(finding)
    for phrase in c.phrases:
        assert phrase in text_of(finding), f"{phrase!r} not in:\n{text_of(finding)}"
    for phrase in c.absent:
        assert phrase not in text_of(finding), f"{phrase!r} in:\n{text_of(finding)}"
    assert "\n" not in finding.title and finding.title.strip()
    if finding.status in (Status.PASS, Status.SKIP):
        assert finding.fix == ""
    if finding.status in (Status.FAIL, Status.WARN):
        assert finding.fix, "a fail or warn says how to fix it"
    assert all(isinstance(item, Exchange | ConfigRead) for item in finding.evidence)
    assert leaked(finding) == []
    assert_codes(finding)
    assert set(EXPECTED_CODES.get((c.check, c.name), ())) <= set(finding.codes), finding.codes


def test_every_status_of_every_check_is_covered() -> None:
    """Each check's table reaches each status it can give (skip only where a check can skip)."""
    seen: dict[str, set[Status]] = {}
    for c in TABLE:
        seen.setdefault(c.check, set()).add(c.status)
    assert set(seen) == set(CHECKS)
    for check_id, statuses in seen.items():
        assert {P, U} <= statuses or check_id == "presign.cors", check_id
        assert F in statuses or W in statuses, check_id


def test_registry_ids_order_and_needs() -> None:
    assert [c.id for c in presign.CHECKS] == ["presign.reachable", "presign.contract", "presign.url", "presign.cors"]
    assert [c.id for c in upload.CHECKS] == ["upload.roundtrip", "upload.content_type", "upload.stored_type"]
    assert [c.id for c in cdn.CHECKS] == [
        "cdn.read",
        "cdn.cache_hit",
        "cdn.cache_control",
        "cdn.compression",
        "cdn.direct_s3_blocked",
        "cdn.config",
    ]
    assert CHECKS["presign.cors"].needs == {"api_preflight", "presign"}
    assert CHECKS["cdn.compression"].needs == {"canary", "distribution"}
    assert CHECKS["cdn.config"].needs == {"distribution"}
    for check in CHECKS.values():
        assert check.needs and check.needs <= GATHERERS, check.id


def test_presign_url_detail_quotes_the_redacted_url() -> None:
    url = sign(token=SESSION_TOKEN)
    finding = judge(CHECKS["presign.url"], evidence(presign_ok=presign_reply(url)))
    signature = dict(parse_qsl(urlsplit(url).query))["X-Amz-Signature"]
    assert f"https://{BUCKET}.s3.{REGION}.amazonaws.com/{KEY}?" in finding.detail
    assert signature not in json.dumps(finding.to_json(), default=str)
    assert "X-Amz-Signature=REDACTED" in finding.evidence[0].body


def test_put_evidence_keeps_the_error_but_not_the_echoed_signature() -> None:
    finding = judge(CHECKS["upload.content_type"], evidence(canary=SEED_CANARY))
    put_evidence = finding.evidence[0]
    assert isinstance(put_evidence, Exchange)
    assert "<Code>SignatureDoesNotMatch</Code>" in put_evidence.body
    assert SIGNATURE_PROVIDED not in put_evidence.body and ACCESS_KEY not in put_evidence.body


def test_content_type_names_every_type_tried() -> None:
    alternatives = {
        "application/png": put(200, "application/png"),
        "binary/octet-stream": put(403, "binary/octet-stream", s3_error("SignatureDoesNotMatch")),
        "": put(403, "", s3_error("SignatureDoesNotMatch")),
    }
    finding = upload.judge_content_type(evidence(canary=replace(SEED_CANARY, put_alternatives=alternatives)))
    assert finding.status is Status.FAIL
    assert "'binary/octet-stream' → HTTP 403 SignatureDoesNotMatch" in finding.detail
    assert "(no Content-Type) → HTTP 403" in finding.detail
    assert "'application/png' → HTTP 200" in finding.detail


@pytest.mark.parametrize(
    ("value", "directives", "problems"),
    [
        (LONG, {"public": None, "max-age": "31536000", "immutable": None}, 0),
        # httplint keeps an extension directive's value as written and flags the capitals (CC_MISCAP)
        ('Max-Age=60, X-Note="a, \\"b\\""', {"max-age": "60", "x-note": '"a, \\"b\\""'}, 2),
        ("max-age=60, max-age=3600", {"max-age": "60"}, 1),
        (",, no-store ,", {"no-store": None}, 0),
        ("max age=60", {"max age": "60"}, 1),  # kept, but flagged: not the field's syntax
    ],
)
def test_parse_cache_control(value: str, directives: dict[str, str | None], problems: int) -> None:
    parsed, found = cache_control.parse_cache_control(value)
    assert parsed == directives
    assert len(found) == problems


# --- totality: any evidence yields a finding --------------------------------------------------------------

HEADER_NAMES = (
    "X-Cache",
    "Age",
    "Cache-Control",
    "Content-Type",
    "Content-Encoding",
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Headers",
    "Via",
    "Location",
    "content-type",
)
BODIES = (
    "",
    "null",
    "[]",
    "{}",
    '{"presignedUrl": 5, "key": null}',
    '{"presignedUrl": "http://[::1", "key": "k"}',
    '{"presignedUrl": "https://pipeline-bucket.s3.amazonaws.com/k?AWSAccessKeyId=A&Signature=S", "key": "x.png"}',
    json.dumps({"presignedUrl": sign(), "key": KEY, "contentType": "image/png"}),
    json.dumps(
        {"presignedUrl": with_query(sign(), X_Amz_Expires="abc", X_Amz_Credential="x"), "key": KEY, "contentType": 7}
    ),
    s3_error("SignatureDoesNotMatch"),
    s3_error("AccessDenied"),
    "<Error><Code>",
    '{"message": "Forbidden"}',
    "[" * 50,
)
texts = st.text(max_size=60)
headers = st.dictionaries(
    st.sampled_from(HEADER_NAMES) | texts,
    st.sampled_from((LONG, "Hit from cloudfront", "*", "gzip", "abc")) | texts,
    max_size=4,
)
statuses = st.none() | st.sampled_from((200, 204, 301, 307, 400, 403, 404, 500, 503)) | st.integers(-5, 1000)
urls = st.sampled_from((API, sign(), f"{CDN}/{KEY}", "", "http://[::1", "s3://x")) | texts
exchanges = st.builds(
    Exchange,
    method=st.sampled_from(("GET", "PUT", "OPTIONS")),
    url=urls,
    request_headers=headers,
    status=statuses,
    response_headers=headers,
    body=st.sampled_from(BODIES) | st.text(max_size=200),
    error=st.none() | texts,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)
config_values = (
    st.sampled_from(
        (
            distribution().value,
            distribution(ViewerProtocolPolicy="allow-all").value,
            {"DistributionConfig": None},
            {"ContentType": "application/png", "CacheControl": "no-store"},
            {"ContentType": 5},
        )
    )
    | json_values
)
reads = st.builds(
    ConfigRead,
    call=texts,
    state=st.sampled_from(ReadState),
    value=config_values,
    code=st.none() | texts,
    message=st.none() | texts,
)
maybe = st.none() | exchanges
canaries = st.builds(
    Canary,
    presign=exchanges,
    key=st.none() | st.sampled_from((KEY, "None.None", "x")) | texts,
    signed_content_type=st.none() | st.sampled_from(("image/png", "application/png", "")) | texts,
    client_content_type=st.none() | st.sampled_from(("image/png", "application/png")) | texts,
    put=maybe,
    put_alternatives=st.dictionaries(
        st.sampled_from(("image/png", "application/png", "")) | texts, exchanges, max_size=3
    ),
    sha256=st.none() | st.sampled_from((SHA,)) | texts,
    head=st.none() | reads,
    cdn_first=maybe,
    cdn_second=maybe,
    cdn_body_sha256=st.none() | st.sampled_from((SHA,)) | texts,
    cdn_gzip=maybe,
    direct_s3=maybe,
)
origins = st.lists(st.sampled_from((ORIGIN, LOCAL_ORIGIN)) | texts, max_size=2, unique=True).map(tuple)
targets = st.builds(
    CheckTarget,
    presign_url=urls,
    bucket=st.sampled_from((BUCKET, "")) | texts,
    cdn_url=urls,
    region=st.none() | st.sampled_from((REGION, "us-east-1")) | texts,
    app_origins=origins,
    distribution_id=st.none() | st.sampled_from((DIST,)) | texts,
    lambda_function=st.none() | texts,
    client_content_type=st.sampled_from(("application/{ext}", "image/{ext}", "{ext}{")) | texts,
    sandbox=st.booleans(),
)


@st.composite
def evidences(draw: Callable[..., Any]) -> Evidence:
    tgt = draw(targets)
    by_origin = st.dictionaries(st.sampled_from(tgt.app_origins) if tgt.app_origins else texts, exchanges, max_size=2)
    return Evidence(
        target=tgt,
        gathered_at=datetime(2024, 5, 1, tzinfo=UTC),
        presign_ok=draw(maybe),
        presign_missing_extension=draw(maybe),
        presign_bad_extension=draw(maybe),
        presign_with_origin=draw(by_origin),
        api_preflights=draw(by_origin),
        canary=draw(st.none() | canaries),
        lambda_config=draw(st.none() | reads),
        distribution=draw(st.none() | reads),
        origin_access_control=draw(st.none() | reads),
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ev=evidences())
def test_every_judge_is_total(ev: Evidence) -> None:
    for check in CHECKS.values():
        finding = judge(check, ev)
        assert isinstance(finding, Finding) and finding.id == check.id
        assert finding.status in Status
        assert "\n" not in finding.title
        json.dumps(finding.to_json(), default=str)
        assert leaked(finding) == []
        assert_codes(finding)


def test_the_code_table_names_real_cases() -> None:
    assert set(EXPECTED_CODES) <= {(c.check, c.name) for c in TABLE}
    assert len(EXPECTED_CODES) >= 80


def test_objects_stored_with_the_wrong_type_are_pointed_at_the_consoles_repair_first() -> None:
    """The fix for objects already stored as application/*: `python -m services repair` (by their bytes, a plan
    before any write), then the AWS CLI's re-copies as the alternative."""
    fix = judge(CHECKS["upload.stored_type"], evidence(canary=canary(head=head("application/png")))).fix
    commands = [line for line in fix.splitlines() if line.startswith(("python ", "aws "))]
    relabel = [line for line in commands if "repair" in line or "cp s3://" in line]
    assert relabel[0].startswith("python -m services repair  #") and "--apply" not in relabel[0]  # the plan first
    assert relabel[1].startswith(f"python -m services repair --apply --confirm {BUCKET} ")
    assert all(line.startswith("aws s3 cp") for line in relabel[2:]) and len(relabel) > 2


def test_objects_stored_without_a_long_cache_control_are_pointed_at_the_consoles_repair() -> None:
    """New uploads get Cache-Control from the function; the objects already stored from `python -m services repair
    --cache-control ...`, its plan first, then the fix: the same commands upload.stored_type gives."""
    fix = judge(CHECKS["cdn.cache_control"], evidence(canary=canary(cdn_first=cdn_reply(200, cache_control=None)))).fix
    commands = [line for line in fix.splitlines() if line.startswith(("python ", "aws "))]
    flag = f"--cache-control '{LONG}'"
    assert commands[0].startswith(f"python -m services repair {flag}  #") and "--apply" not in commands[0]
    assert commands[1].startswith(f"python -m services repair {flag} --apply --confirm {BUCKET} ")
    assert len(commands) == 2 and "metadata-directive" not in fix  # no re-copy that would drop other headers


@pytest.mark.parametrize(
    ("profile", "production", "runs_on", "confirms"),
    [
        ("staging", False, "--profile staging ", f"--confirm {BUCKET}"),
        ("prod", True, "--profile prod ", f"--confirm {BUCKET} --confirm-profile prod"),
    ],
)
def test_the_repair_a_fix_prints_runs_on_the_checked_profile_and_is_confirmed_as_it_asks(
    profile: str, production: bool, runs_on: str, confirms: str
) -> None:
    """The commands a fix prints carry every flag their profile needs (as `check --apply` ones do): copied from a
    staging run they repair staging, not the default pipeline; on production the apply names the profile too."""
    tgt = target(profile=profile, production=production)
    stored = judge(CHECKS["upload.stored_type"], evidence(tgt, canary=canary(head=head("application/png")))).fix
    cached = judge(
        CHECKS["cdn.cache_control"], evidence(tgt, canary=canary(cdn_first=cdn_reply(200, cache_control=None)))
    ).fix
    for fix in (stored, cached):
        repair = [line.split("  #")[0] for line in fix.splitlines() if line.startswith("python -m services ")]
        assert len(repair) == 2 and all(line.startswith(f"python -m services {runs_on}repair") for line in repair)
        assert repair[1].endswith(f"--apply {confirms}") and "--apply" not in repair[0]
        for line in repair:  # each is a command line the CLI takes, on that profile
            args = build_parser().parse_args(shlex.split(line)[3:])
            assert args.command == "repair" and args.profile == profile


@pytest.mark.parametrize("compress", [True, False])
def test_a_png_served_encoded_is_fixed_by_storing_it_again_without_the_header(compress: bool) -> None:
    """Content-Encoding on a PNG comes from the stored object (CloudFront never compresses image/png), and the
    repair keeps it: the fix is a re-copy, which must name the long Cache-Control or it drops it, then an
    invalidation; with Compress off too, its fix follows, without hiding the failing one."""
    gzip = cdn_reply(200, **{"Content-Encoding": "gzip"})
    found = judge(
        CHECKS["cdn.compression"], evidence(canary=canary(cdn_gzip=gzip), distribution=distribution(Compress=compress))
    )
    assert found.status is Status.FAIL and "compression.png_encoded" in found.codes
    lines = found.fix.splitlines()
    recopy = [line for line in lines if line.startswith("aws s3 cp")]
    assert len(recopy) == 1 and f"--metadata-directive REPLACE --cache-control '{LONG}'" in recopy[0]
    assert "--include '*.png'" in recopy[0] and "--content-encoding" not in recopy[0]
    assert f"aws cloudfront create-invalidation --distribution-id {DIST} --paths '/*'" in lines
    assert ('"Compress": true' in found.fix) is (not compress)
    if not compress:  # the failing cause's fix first
        assert found.fix.index("aws s3 cp") < found.fix.index("update-distribution")
