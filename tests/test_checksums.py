"""Checksums (issue 13, item 4). As headers, S3 verifies them (400 BadDigest, 400 InvalidRequest); in a presigned
URL's query (the AWS SDK for JavaScript v3 >= 3.729 signs x-amz-checksum-crc32=AAAAAA==, an empty body's CRC32),
Amazon S3 ignores them and S3-compatible stores reject the real upload. Over HTTP against the sandbox (switches
``function-adds-query-checksums`` and ``s3-verifies-query-checksums``), and the pure model and judges."""

from __future__ import annotations

import json
import zlib
from datetime import UTC, datetime

import pytest
import requests

from services.aws_model import s3checksums
from services.aws_model.s3errors import parse_s3_error
from services.checks.evidence import CheckTarget, Evidence
from services.checks.model import Exchange, Status
from services.checks.presign import judge_url
from services.checks.runner import run_checks
from services.core.transport import new_session
from services.pipeline.explain import explain_put
from services.pipeline.upload import UploadInput, upload_one
from services.sandbox import layout
from tests.support import image_bytes

ADDS = "function-adds-query-checksums"
VERIFIES = "s3-verifies-query-checksums"
BODY = b"hello\n"


def s3_answer(reply: requests.Response) -> tuple[int, str | None, str | None]:
    error = parse_s3_error(reply.content)
    return reply.status_code, error.code, error.message


def presigned(s3, key: str, **params: str) -> str:
    return s3.generate_presigned_url("put_object", Params={"Bucket": layout.BUCKET, "Key": key, **params}, ExpiresIn=60)


# --- the model ------------------------------------------------------------------------------------------


def test_checksum_values_are_s3s():
    # S3's documented examples and the standard check values (CRC-32C of "123456789" is 0xE3069283)
    assert s3checksums.checksum("crc32", b"") == s3checksums.EMPTY_CRC32 == "AAAAAA=="
    assert s3checksums.checksum("crc32", BODY) == "NjowIA=="
    assert s3checksums.crc32c(b"123456789") == 0xE3069283
    assert s3checksums.checksum("sha256", b"") == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    assert s3checksums.checksum("sha1", b"") == "2jmj7l5rSw0yVb/vlWAYkK/YBwk="
    assert zlib.crc32(BODY).to_bytes(4, "big") == s3checksums.DIGESTS["crc32"](BODY)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"x-amz-checksum-crc32": "NjowIA=="}, None),
        ({"x-amz-checksum-crc32": "AAAAAA=="}, s3checksums.bad_digest("crc32")),
        ({"x-amz-checksum-sha256": s3checksums.checksum("sha256", b"other")}, s3checksums.bad_digest("sha256")),
        ({"x-amz-checksum-crc32c": "not base64!"}, s3checksums.invalid_value("x-amz-checksum-crc32c")),
        ({"x-amz-checksum-sha1": "AAAAAA=="}, s3checksums.invalid_value("x-amz-checksum-sha1")),
        ({"x-amz-sdk-checksum-algorithm": "CRC32"}, s3checksums.ALGORITHM_WITHOUT_VALUE),
        ({"x-amz-checksum-crc32": "NjowIA==", "x-amz-checksum-sha1": "x"}, s3checksums.MULTIPLE_CHECKSUMS),
        ({"x-amz-sdk-checksum-algorithm": "CRC32", "x-amz-trailer": "x-amz-checksum-crc32"}, None),
        ({}, None),
    ],
)
def test_header_checksums_are_judged_as_s3_judges_them(headers, expected):
    assert s3checksums.judge_header_checksums(headers, BODY) == expected


# --- the sandbox, over HTTP: checksum headers ----------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["crc32", "crc32c", "sha1", "sha256"])
def test_a_checksum_header_is_verified_against_the_body(s3, bucket_keys, algorithm):
    before = bucket_keys()
    right = s3checksums.checksum(algorithm, BODY)
    member = {"crc32": "ChecksumCRC32", "crc32c": "ChecksumCRC32C", "sha1": "ChecksumSHA1", "sha256": "ChecksumSHA256"}
    header = f"x-amz-checksum-{algorithm}"

    wrong_url = presigned(
        s3, f"checksum-wrong-{algorithm}", **{member[algorithm]: s3checksums.checksum(algorithm, b"x")}
    )
    wrong = requests.put(wrong_url, data=BODY, headers={header: s3checksums.checksum(algorithm, b"x")}, timeout=10)
    right_url = presigned(s3, f"checksum-right-{algorithm}", **{member[algorithm]: right})
    ok = requests.put(right_url, data=BODY, headers={header: right}, timeout=10)

    assert s3_answer(wrong) == (
        400,
        "BadDigest",
        f"The {algorithm.upper()} you specified did not match the calculated checksum.",
    )
    assert ok.status_code == 200, ok.text
    assert bucket_keys() - before == {f"checksum-right-{algorithm}"}


def test_a_malformed_checksum_or_an_algorithm_without_its_value_is_invalid_request(s3, bucket_keys):
    before = bucket_keys()
    malformed = requests.put(
        presigned(s3, "checksum-malformed", ChecksumCRC32="AAAA"),
        data=BODY,
        headers={"x-amz-checksum-crc32": "AAAA"},
        timeout=10,
    )
    alone = requests.put(
        presigned(s3, "checksum-alone", ChecksumAlgorithm="CRC32"),
        data=BODY,
        headers={"x-amz-sdk-checksum-algorithm": "CRC32"},
        timeout=10,
    )

    assert s3_answer(malformed) == (400, "InvalidRequest", "Value for x-amz-checksum-crc32 header is invalid.")
    assert s3_answer(alone) == (
        400,
        "InvalidRequest",
        "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers "
        "were found.",
    )
    assert bucket_keys() == before


def test_the_consoles_own_boto3_uploads_with_their_checksum_pass(s3):
    # botocore (>= 1.36) sends x-amz-checksum-crc32 with every put_object: the sandbox must accept the right one
    s3.put_object(Bucket=layout.BUCKET, Key="checksum-boto3.txt", Body=BODY)
    assert s3.get_object(Bucket=layout.BUCKET, Key="checksum-boto3.txt")["Body"].read() == BODY


# --- the sandbox, over HTTP: checksums in the query ----------------------------------------------------


def grant(sandbox) -> dict:
    reply = requests.get(sandbox.endpoints.presign, headers={"x-extension": "png"}, timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_on_aws_a_query_checksum_is_ignored_and_uploads_pass_with_a_warning(sandbox, switch, sandbox_settings):
    switch(ADDS)
    url = grant(sandbox)["presignedUrl"]
    assert "x-amz-checksum-crc32=AAAAAA%3D%3D" in url and "x-amz-sdk-checksum-algorithm=CRC32" in url

    put = requests.put(url, data=image_bytes(), headers={"Content-Type": "application/png"}, timeout=10)
    assert put.status_code == 200, put.text
    with new_session() as session:
        result = upload_one(UploadInput("photo.png", image_bytes()), sandbox_settings, session)
    assert result.ok, result.failed_step

    (finding,) = run_checks(sandbox_settings, only=["presign.url"]).findings
    assert finding.status == Status.WARN and finding.codes == ("url.checksum_in_query",)
    assert "x-amz-checksum-crc32=AAAAAA==" in finding.detail and "CRC32 of an empty body" in finding.detail
    assert 'requestChecksumCalculation: "WHEN_REQUIRED"' in finding.fix
    assert 'request_checksum_calculation="when_required"' in finding.fix


def test_a_verifying_store_refuses_every_real_upload_and_the_trace_explains_it(
    sandbox, switch, sandbox_settings, bucket_keys
):
    switch(ADDS)
    switch(VERIFIES)
    before = bucket_keys()
    url = grant(sandbox)["presignedUrl"]

    refused = requests.put(url, data=image_bytes(), headers={"Content-Type": "application/png"}, timeout=10)
    with new_session() as session:
        result = upload_one(UploadInput("photo.png", image_bytes()), sandbox_settings, session)

    assert s3_answer(refused) == (
        400,
        "XAmzContentChecksumMismatch",
        "The provided 'x-amz-checksum' header does not match what was computed.",
    )
    step = result.failed_step
    assert (step.name, step.http_status, step.code) == ("put", 400, "XAmzContentChecksumMismatch")
    assert "x-amz-checksum-crc32=AAAAAA==" in step.cause and "CRC32 of an empty body" in step.cause
    assert 'requestChecksumCalculation: "WHEN_REQUIRED"' in step.cause
    (roundtrip,) = run_checks(sandbox_settings, only=["upload.roundtrip"]).findings
    assert roundtrip.status == Status.FAIL and roundtrip.codes == ("put.checksum_refused",)
    assert "XAmzContentChecksumMismatch" in roundtrip.detail and "WHEN_REQUIRED" in roundtrip.fix
    assert "Amazon S3 ignores a query-string checksum" in roundtrip.detail
    assert bucket_keys() == before
    empty = requests.put(
        grant(sandbox)["presignedUrl"], data=b"", headers={"Content-Type": "application/png"}, timeout=10
    )
    assert empty.status_code == 200, empty.text  # the one body whose CRC32 is AAAAAA==


def test_a_verifying_store_accepts_urls_without_query_checksums(switch, sandbox_settings):
    switch(VERIFIES)
    with new_session() as session:
        result = upload_one(UploadInput("photo.png", image_bytes()), sandbox_settings, session)
    assert result.ok, result.failed_step


# --- the judges ----------------------------------------------------------------------------------------

TARGET = CheckTarget(
    presign_url="https://api.example/presign", bucket="b", cdn_url="https://cdn.example", region="us-east-1"
)
URL = (
    "https://b.s3.us-east-1.amazonaws.com/0c1f7c0e-7d5b-4c0e-9a51-7f3c2f9e8a10.png?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=AKIA%2F20240501%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240501T000000Z&X-Amz-Expires=300"
    "&X-Amz-Signature=abc&X-Amz-SignedHeaders=content-type%3Bhost"
)


def evidence(url: str) -> Evidence:
    body = json.dumps({"presignedUrl": url, "key": "k.png", "contentType": "image/png"})
    return Evidence(
        target=TARGET,
        gathered_at=datetime(2024, 5, 1, tzinfo=UTC),
        presign_ok=Exchange("GET", TARGET.presign_url, status=200, body=body),
    )


@pytest.mark.parametrize(
    ("query", "status", "phrase"),
    [
        ("", Status.PASS, "SigV4"),
        ("&x-amz-checksum-crc32=AAAAAA%3D%3D&x-amz-sdk-checksum-algorithm=CRC32", Status.WARN, "empty body"),
        ("&x-amz-sdk-checksum-algorithm=CRC32", Status.WARN, "MinIO: 400 XAmzContentChecksumMismatch"),
        ("&X-Amz-Checksum-Sha256=abc", Status.WARN, "X-Amz-Checksum-Sha256=abc"),
    ],
)
def test_presign_url_warns_of_checksum_parameters_in_the_query(query, status, phrase):
    finding = judge_url(evidence(URL + query))
    assert finding.status == status and phrase in finding.detail, finding.detail
    assert ("url.checksum_in_query" in finding.codes) == (status == Status.WARN)


@pytest.mark.parametrize(
    ("code", "message", "url", "phrase"),
    [
        (
            "BadDigest",
            "The CRC32 you specified did not match the calculated checksum.",
            URL,
            "is not the x-amz-checksum",
        ),
        ("InvalidRequest", "Value for x-amz-checksum-crc32 header is invalid.", URL, "must come with its"),
        (
            "InvalidRequest",
            s3checksums.ALGORITHM_WITHOUT_VALUE.message,
            URL,
            "x-amz-sdk-checksum-algorithm must come with its x-amz-checksum-* value",
        ),
        (
            "XAmzContentChecksumMismatch",
            s3checksums.STORE_QUERY_MISMATCH.message,
            URL + "&x-amz-checksum-crc32=AAAAAA%3D%3D",
            "Amazon S3 ignores a query-string checksum",
        ),
    ],
)
def test_each_checksum_refusal_is_explained_with_the_fix(code, message, url, phrase):
    error = parse_s3_error(f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode())
    cause = explain_put(400, error, "image/png", url)
    assert phrase in cause and 'requestChecksumCalculation: "WHEN_REQUIRED"' in cause
