"""services/pipeline/explain.py: what a hop answered -> the cause a person can act on. Pure functions over evidence.

The error bodies below are shaped like the ones S3, API Gateway and CloudFront really send.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config

from services.aws_model.s3errors import AwsErrorBody, parse_s3_error
from services.pipeline.explain import (
    explain_cdn,
    explain_presign,
    explain_put,
    json_error_message,
    received_content_type,
    signed_headers,
)

HOST = "pipeline-bucket.s3.ap-northeast-2.amazonaws.com"
KEY = "3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b.png"
QUERY = (
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20240501%2Fap-northeast-2%2Fs3%2F"
    "aws4_request&X-Amz-Date=20240501T120000Z&X-Amz-Expires=3600"
)
URL_SIGNING_CONTENT_TYPE = f"https://{HOST}/{KEY}?{QUERY}&X-Amz-SignedHeaders=content-type%3Bhost&X-Amz-Signature=ab12"
URL_SIGNING_HOST_ONLY = f"https://{HOST}/{KEY}?{QUERY}&X-Amz-SignedHeaders=host&X-Amz-Signature=ab12"


def signature_mismatch_xml(content_type_line: str = "content-type:application/png") -> bytes:
    """S3's 403 body for a presigned PUT whose signature does not match (with the echoed CanonicalRequest)."""
    canonical = "\n".join(
        [
            "PUT",
            f"/{KEY}",
            QUERY.replace("&", "&amp;") + "&amp;X-Amz-SignedHeaders=content-type%3Bhost",
            content_type_line,
            f"host:{HOST}",
            "",
            "content-type;host",
            "UNSIGNED-PAYLOAD",
        ]
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the "
        "signature you provided. Check your key and signing method.</Message>"
        "<AWSAccessKeyId>AKIAIOSFODNN7EXAMPLE</AWSAccessKeyId>"
        "<StringToSign>AWS4-HMAC-SHA256\n20240501T120000Z\n20240501/ap-northeast-2/s3/aws4_request\n"
        "9e1f0c2b7a</StringToSign><SignatureProvided>ab12</SignatureProvided>"
        "<StringToSignBytes>41 57 53 34</StringToSignBytes>"
        f"<CanonicalRequest>{canonical}</CanonicalRequest>"
        "<CanonicalRequestBytes>50 55 54 0a</CanonicalRequestBytes>"
        "<RequestId>4442587FB7D0A2F9</RequestId><HostId>hOsTiD=</HostId></Error>"
    ).encode()


EXPIRED_XML = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message><X-Amz-Expires>300</X-Amz-Expires>"
    b"<Expires>2024-05-01T12:05:00Z</Expires><ServerTime>2024-05-01T13:00:00Z</ServerTime>"
    b"<RequestId>A1B2C3</RequestId><HostId>xyz=</HostId></Error>"
)


def error(code: str | None, message: str | None = None, **fields: str) -> AwsErrorBody:
    return AwsErrorBody(code=code, message=message, fields={"Code": code or "", "Message": message or "", **fields})


# ---------------------------------------------------------------- parse_s3_error


def test_parse_signature_mismatch_body() -> None:
    parsed = parse_s3_error(signature_mismatch_xml())

    assert parsed.code == "SignatureDoesNotMatch"
    assert parsed.message.startswith("The request signature we calculated does not match")
    assert parsed.fields["AWSAccessKeyId"] == "AKIAIOSFODNN7EXAMPLE"
    canonical = parsed.fields["CanonicalRequest"].splitlines()
    assert canonical[0] == "PUT"
    assert "content-type:application/png" in canonical
    assert "&X-Amz-SignedHeaders=content-type%3Bhost" in canonical[2]  # &amp; decoded


@pytest.mark.parametrize("as_text", [False, True])
def test_parse_expired_body(as_text: bool) -> None:
    parsed = parse_s3_error(EXPIRED_XML.decode() if as_text else EXPIRED_XML)

    assert (parsed.code, parsed.message) == ("AccessDenied", "Request has expired")
    assert parsed.fields["X-Amz-Expires"] == "300"
    assert parsed.fields["ServerTime"] == "2024-05-01T13:00:00Z"


def test_parse_tolerates_surrounding_whitespace() -> None:
    parsed = parse_s3_error(
        b"\n\n  <Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>\n"
    )

    assert parsed.code == "NoSuchBucket"
    assert parsed.message == "The specified bucket does not exist"


@pytest.mark.parametrize(
    "body",
    [
        None,
        b"",
        "",
        b"   \n",
        b"Forbidden",
        b'{"message":"Forbidden"}',
        b"<Error><Code>AccessDenied</Code><Message>Access Den",  # cut off
        b"<Error><Code>AccessDenied</Code></Eror>",  # mismatched tag
        b"<<<>>>",
        b"\xff\xfe<\x00E\x00",  # not UTF-8
        b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN"><HTML><HEAD><META HTTP-EQUIV="Content-Type">'
        b"<TITLE>ERROR: The request could not be satisfied</TITLE></HEAD></HTML>",  # CloudFront's HTML page
    ],
    ids=[
        "none",
        "empty-bytes",
        "empty-text",
        "blank",
        "plain-text",
        "json",
        "truncated",
        "mismatched",
        "garbage",
        "utf16",
        "cloudfront-html",
    ],
)
def test_parse_non_s3_bodies_give_an_empty_error(body) -> None:
    parsed = parse_s3_error(body)

    assert parsed.code is None
    assert parsed.message is None


# ---------------------------------------------------------------- signed_headers / received_content_type


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        (URL_SIGNING_CONTENT_TYPE, ("content-type", "host")),
        (URL_SIGNING_HOST_ONLY, ("host",)),
        (f"https://{HOST}/{KEY}?X-Amz-SignedHeaders=Content-Type;Host", ("content-type", "host")),
        (f"https://{HOST}/{KEY}?AWSAccessKeyId=AKIA&Signature=abc&Expires=1700000000", ()),  # SigV2
        (f"https://{HOST}/{KEY}", ()),
        ("not a url", ()),
    ],
)
def test_signed_headers(url: str, headers: tuple[str, ...]) -> None:
    assert signed_headers(url) == headers


@pytest.mark.parametrize(("content_type", "expected"), [("image/png", ("content-type", "host")), (None, ("host",))])
def test_signed_headers_of_a_real_boto3_url(monkeypatch: pytest.MonkeyPatch, content_type, expected) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    client = boto3.client(
        "s3",
        region_name="ap-northeast-2",
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="secret",
        config=Config(signature_version="s3v4"),
    )
    params = {"Bucket": "pipeline-bucket", "Key": KEY}
    if content_type:
        params["ContentType"] = content_type

    url = client.generate_presigned_url("put_object", Params=params, ExpiresIn=300, HttpMethod="PUT")

    assert signed_headers(url) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("content-type:application/png", "application/png"),
        ("content-type:image/png", "image/png"),
        ("Content-Type: image/jpeg ", "image/jpeg"),
    ],
)
def test_received_content_type_read_from_canonical_request(line: str, expected: str) -> None:
    assert received_content_type(parse_s3_error(signature_mismatch_xml(line))) == expected


@pytest.mark.parametrize(
    "parsed",
    [
        AwsErrorBody(),
        parse_s3_error(EXPIRED_XML),
        error("SignatureDoesNotMatch", CanonicalRequest="PUT\n/k\n\nhost:x\n\nhost\nUNSIGNED-PAYLOAD"),
    ],
    ids=["empty", "no-canonical-request", "content-type-not-signed"],
)
def test_received_content_type_absent(parsed: AwsErrorBody) -> None:
    assert received_content_type(parsed) is None


# ---------------------------------------------------------------- explain_put

PUT_CASES = [
    # (status, error, sent Content-Type, url, phrases the cause must contain, phrases it must not)
    (
        # what S3 itself echoes: its CanonicalRequest carries the type it *received*, equal to the one sent; the
        # caller does not say what the presign reply said, so no signed type is named
        403,
        parse_s3_error(signature_mismatch_xml("content-type:image/png")),
        "image/png",
        URL_SIGNING_CONTENT_TYPE,
        ("Content-Type", "'image/png'", "signed headers (content-type;host)", "exactly the type the function signed"),
        ("signed for", "did not say", "received"),
    ),
    (
        403,
        error("SignatureDoesNotMatch", "The request signature we calculated does not match"),
        "image/png",
        URL_SIGNING_HOST_ONLY,
        ("altered", "credentials", "region"),
        ("Content-Type",),
    ),
    (403, parse_s3_error(EXPIRED_XML), "image/png", URL_SIGNING_CONTENT_TYPE, ("expired",), ("s3:PutObject",)),
    (
        403,
        error("AccessDenied", "Access Denied"),
        "image/png",
        URL_SIGNING_CONTENT_TYPE,
        ("s3:PutObject", "arn:aws:s3:::<bucket>/*", "role"),
        ("expired",),
    ),
    (
        400,
        error("ExpiredToken", "The provided token has expired."),
        "image/png",
        URL_SIGNING_CONTENT_TYPE,
        ("expired",),
        (),
    ),
    (
        403,
        error(
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
            MaxAllowedSkewMilliseconds="900000",
        ),
        "image/png",
        URL_SIGNING_CONTENT_TYPE,
        ("clock", "15 minutes"),
        (),
    ),
    (
        301,
        error(
            "PermanentRedirect",
            "The bucket you are attempting to access must be addressed using the specified endpoint.",
            Endpoint=HOST,
        ),
        "image/png",
        URL_SIGNING_CONTENT_TYPE,
        ("region",),
        (),
    ),
    (
        307,
        error("TemporaryRedirect", "Please re-send this request to the specified temporary endpoint."),
        "image/png",
        URL_SIGNING_CONTENT_TYPE,
        ("region", "addressing style"),
        (),
    ),
    (301, AwsErrorBody(), "image/png", URL_SIGNING_CONTENT_TYPE, ("region",), ()),
    (
        400,
        error(
            "AuthorizationQueryParametersError",
            "Error parsing the X-Amz-Credential parameter; the region 'us-east-1' is wrong; expecting 'ap-northeast-2'",
        ),
        "image/png",
        URL_SIGNING_CONTENT_TYPE,
        ("X-Amz-Credential", "expecting 'ap-northeast-2'"),
        (),
    ),
    (
        404,
        error("NoSuchBucket", "The specified bucket does not exist"),
        "image/png",
        URL_SIGNING_CONTENT_TYPE,
        ("BUCKET_NAME",),
        (),
    ),
    (
        503,
        error("SlowDown", "Please reduce your request rate."),
        "image/png",
        URL_SIGNING_CONTENT_TYPE,
        ("slow down", "retry"),
        (),
    ),
    (503, AwsErrorBody(), "image/png", URL_SIGNING_CONTENT_TYPE, ("503", "retry"), ()),
    (
        400,
        error("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"),
        "image/png",
        URL_SIGNING_CONTENT_TYPE,
        ("400", "EntityTooLarge", "exceeds the maximum allowed size"),
        (),
    ),
    (500, AwsErrorBody(), "image/png", URL_SIGNING_CONTENT_TYPE, ("500", "no error code"), ()),
]
PUT_IDS = [
    "sig-as-s3-echoes-it",
    "sig-content-type-not-signed",
    "expired",
    "access-denied",
    "expired-token",
    "clock-skew",
    "permanent-redirect",
    "temporary-redirect",
    "301-no-body",
    "auth-query-params",
    "no-such-bucket",
    "slow-down",
    "503-no-body",
    "unknown-code",
    "500-no-body",
]


@pytest.mark.parametrize(("status", "err", "sent", "url", "must", "must_not"), PUT_CASES, ids=PUT_IDS)
def test_explain_put(
    status: int, err: AwsErrorBody, sent: str, url: str, must: tuple[str, ...], must_not: tuple[str, ...]
) -> None:
    cause = explain_put(status, err, sent, url)

    for phrase in must:
        assert phrase in cause, (phrase, cause)
    for phrase in must_not:
        assert phrase not in cause, (phrase, cause)


# SignatureDoesNotMatch: (CanonicalRequest's content-type line = what S3 received, sent, the signed type as the
# presign reply's contentType says (None: the reply had none), phrases the cause must contain, phrases it must not)
SIGNATURE_CASES = {
    "signed application, sent image": (
        "content-type:image/png",
        "image/png",
        "application/png",
        ("signed for Content-Type 'application/png' but the upload sent 'image/png'", "PIPELINE_CLIENT_CONTENT_TYPE"),
        ("did not say", "received"),
    ),
    "signed image, sent application": (
        "content-type:application/png",
        "application/png",
        "image/png",
        ("signed for Content-Type 'image/png' but the upload sent 'application/png'",),
        ("did not say",),
    ),
    "endpoint silent": (
        "content-type:image/png",
        "image/png",
        None,
        (
            "signed headers (content-type;host)",
            "the upload sent 'image/png'",
            "The endpoint did not say which type it signed",
            "application/<ext>",
        ),
        ("signed for", "received"),
    ),
    # the old mistake: the type in S3's CanonicalRequest is not the signed one; when it differs from what this machine
    # sent, something on the way changed the header, and the signed type is still unknown
    "endpoint silent, S3 received another type": (
        "content-type:application/png",
        "image/png",
        None,
        ("The endpoint did not say which type it signed", "S3 received Content-Type 'application/png'"),
        ("signed for",),
    ),
    "sent the type the endpoint reports": (
        "content-type:image/png",
        "image/png",
        "image/png",
        ("the type the presign reply says it signed", "sign another type than it reports", "content-type;host"),
        ("signed for", "did not say"),
    ),
}


@pytest.mark.parametrize("name", SIGNATURE_CASES)
def test_signature_mismatch_names_the_signed_type_only_when_it_is_known(name: str) -> None:
    line, sent, signed, must, must_not = SIGNATURE_CASES[name]
    cause = explain_put(403, parse_s3_error(signature_mismatch_xml(line)), sent, URL_SIGNING_CONTENT_TYPE, signed)

    for phrase in must:
        assert phrase in cause, (phrase, cause)
    for phrase in must_not:
        assert phrase not in cause, (phrase, cause)


@pytest.mark.parametrize("signed", [None, "application/png", "image/png"])
def test_signature_mismatch_without_a_signed_content_type_never_blames_the_type(signed) -> None:
    cause = explain_put(
        403,
        parse_s3_error(signature_mismatch_xml("content-type:image/png")),
        "image/png",
        URL_SIGNING_HOST_ONLY,
        signed,
    )

    assert "altered" in cause and "Content-Type" not in cause


def test_explain_put_never_quotes_the_signature_or_credential() -> None:
    cause = explain_put(403, parse_s3_error(signature_mismatch_xml()), "image/png", URL_SIGNING_CONTENT_TYPE)

    assert "AKIAIOSFODNN7EXAMPLE" not in cause
    assert "ab12" not in cause


# ---------------------------------------------------------------- explain_presign

PRESIGN_CASES = [
    (
        400,
        b'{"error":"unsupported_extension","message":"x-extension must be one of: png, jpg, jpeg, gif, webp"}',
        ("refused", 'It said: "x-extension must be one of: png, jpg, jpeg, gif, webp"', "x-extension"),
    ),
    (400, b'{"error":"missing_extension"}', ('It said: "missing_extension"', "x-extension")),
    (422, b"", ("refused", "x-extension")),
    (403, b'{"message":"Forbidden"}', ("403", "stage or route", 'It said: "Forbidden"')),
    (403, b'{"Message":"User is not authorized to access this resource"}', ("authorizer", "not authorized")),
    (404, b'{"message":"Not Found"}', ("PIPELINE_PRESIGN_URL", 'It said: "Not Found"')),
    (500, b'{"message":"Internal Server Error"}', ("Lambda", "CloudWatch", "Internal Server Error")),
    (502, b'{"message":"Internal server error"}', ("malformed reply", "CloudWatch")),
    (503, b'{"message":"Service Unavailable"}', ("try again",)),
    (504, b'{"message":"Endpoint request timed out"}', ("timed out", "Endpoint request timed out")),
    (418, b"teapot", ("418",)),
    (400, b"<html>bad</html>", ("refused",)),
    (400, b'["not", "an", "object"]', ("refused",)),
    (400, b"\xff\xfe", ("refused",)),
]


@pytest.mark.parametrize(("status", "body", "must"), PRESIGN_CASES)
def test_explain_presign(status: int, body: bytes, must: tuple[str, ...]) -> None:
    cause = explain_presign(status, body)

    for phrase in must:
        assert phrase in cause, (phrase, cause)


@pytest.mark.parametrize("body", [b"", b"teapot", b"<html>bad</html>", b'["x"]', b'{"message": 5}', b"\xff\xfe"])
def test_explain_presign_quotes_nothing_when_there_is_no_message(body: bytes) -> None:
    assert "It said" not in explain_presign(400, body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"message":"Forbidden"}', "Forbidden"),
        (b'{"Message":"User is not authorized"}', "User is not authorized"),
        (b'{"error":"unsupported_extension","message":"use png"}', "use png"),  # message wins over the code
        (b'{"error":"missing_extension"}', "missing_extension"),
        (b'{"message":null,"error":"x"}', "x"),
        (b"[]", None),
        (b"nope", None),
        (None, None),
    ],
)
def test_json_error_message(body, message) -> None:
    assert json_error_message(body) == message


# ---------------------------------------------------------------- explain_cdn

CDN_CASES = [
    (
        403,
        "Error from cloudfront",
        None,
        (
            "403",
            "X-Cache: Error from cloudfront",
            "cloudfront.amazonaws.com",
            "s3:GetObject",
            "AWS:SourceArn",
            "key exists",
        ),
        ("cached",),
    ),
    (
        403,
        "Error from cloudfront",
        "42",
        ("cloudfront.amazonaws.com", "AWS:SourceArn", "Age: 42", "cached", "invalidation"),
        (),
    ),
    (404, "Error from cloudfront", None, ("404", "missing", "AWS:SourceArn"), ()),
    (403, None, None, ("cloudfront.amazonaws.com", "AWS:SourceArn"), ("X-Cache",)),
    (301, "Redirect from cloudfront", None, ("301", "PIPELINE_CDN_URL", "https"), ()),
    (307, None, None, ("307", "PIPELINE_CDN_URL"), ()),
    (502, "Error from cloudfront", None, ("502", "origin"), ()),
    (504, None, None, ("504", "origin"), ()),
    (200, "Hit from cloudfront", "3600", ("200", "Hit from cloudfront"), ("AWS:SourceArn",)),
]


@pytest.mark.parametrize(("status", "x_cache", "age", "must", "must_not"), CDN_CASES)
def test_explain_cdn(status: int, x_cache, age, must: tuple[str, ...], must_not: tuple[str, ...]) -> None:
    cause = explain_cdn(status, x_cache, age)

    for phrase in must:
        assert phrase in cause, (phrase, cause)
    for phrase in must_not:
        assert phrase not in cause, (phrase, cause)


# ---------------------------------------------------------------- end to end over the evidence


def test_seed_mismatch_from_raw_body_to_cause() -> None:
    """The seed's classic failure: signed application/png (the presign reply says so), browser sends image/png; S3's
    body echoes image/png, the type it received."""
    cause = explain_put(
        403,
        parse_s3_error(signature_mismatch_xml("content-type:image/png")),
        "image/png",
        URL_SIGNING_CONTENT_TYPE,
        "application/png",
    )

    assert cause.index("'application/png'") < cause.index("'image/png'")  # "signed for X but sent Y"
