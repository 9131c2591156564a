"""The upload service over real HTTP: the sandbox's presign endpoint, moto S3 and CDN, plus misbehaving endpoints."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re

import pytest
import requests

from services.core.settings import Settings
from services.core.transport import new_session
from services.pipeline.upload import UploadInput, upload_batch, upload_one
from tests.support import closed_port, http_server, image_bytes


def run(items: list[UploadInput], settings: Settings) -> list:
    results = dict(upload_batch(items, settings))
    return [results[i] for i in range(len(items))]


def test_batch_uploads_every_format_and_reads_identical_bytes_back_through_the_cdn(sandbox_settings, s3, sandbox):
    items = [
        UploadInput("photo.png", image_bytes("PNG")),
        UploadInput("photo.jpg", image_bytes("JPEG", colour="blue")),
        UploadInput("photo.jpeg", image_bytes("JPEG", colour="green")),
        UploadInput("anim.gif", image_bytes("GIF")),
        UploadInput("pic.webp", image_bytes("WEBP")),
    ]
    results = run(items, sandbox_settings)
    assert [r.ok for r in results] == [True] * 5, [r.failed_step for r in results]
    for item, result in zip(items, results, strict=True):
        assert [s.name for s in result.steps] == ["validate", "presign", "put", "cdn_read"]
        assert result.sha256 == hashlib.sha256(item.data).hexdigest()
        assert result.key.endswith("." + item.name.rsplit(".", 1)[1])
        assert result.cdn_url == f"{sandbox.endpoints.cdn}/{result.key}"
        stored = s3.get_object(Bucket=sandbox.endpoints.bucket, Key=result.key)
        assert stored["Body"].read() == item.data
        assert stored["ContentType"] == result.content_type
        assert result.content_type.startswith("image/")
        via_cdn = requests.get(result.cdn_url, timeout=10)
        assert via_cdn.status_code == 200 and via_cdn.content == item.data


def test_one_bad_file_never_stops_the_batch_and_sends_nothing(sandbox_settings, bucket_keys):
    before = bucket_keys()
    items = [
        UploadInput("not-really.png", b"this is plain text, not a PNG"),
        UploadInput("empty.png", b""),
        UploadInput("good.png", image_bytes()),
        UploadInput("truncated.png", image_bytes(size=(300, 300))[:200]),
    ]
    results = run(items, sandbox_settings)
    assert [r.ok for r in results] == [False, False, True, False]
    for bad in (results[0], results[1], results[3]):
        step = bad.failed_step
        assert step.name == "validate" and len(bad.steps) == 1
        assert step.error and "nothing was uploaded" in step.cause
    assert "empty" in results[1].failed_step.error
    assert bucket_keys() - before == {results[2].key}


def test_endpoint_down_is_a_presign_failure_naming_the_host_and_uploads_nothing(sandbox_settings, bucket_keys):
    before = bucket_keys()
    down = dataclasses.replace(sandbox_settings, presign_url=f"http://127.0.0.1:{closed_port()}/presign")
    (result,) = run([UploadInput("a.png", image_bytes())], down)
    step = result.failed_step
    assert not result.ok and step.name == "presign" and step.http_status is None
    assert "could not connect" in step.error and "127.0.0.1" in step.error
    assert "PIPELINE_PRESIGN_URL" in step.cause
    assert bucket_keys() == before


def test_the_signed_content_type_is_sent_even_when_the_client_template_differs(sandbox_settings, s3, sandbox, switch):
    switch("stored-as-application")  # the function signs application/<ext> whatever the client asks for
    (result,) = run([UploadInput("a.png", image_bytes())], sandbox_settings)  # the client asks image/png
    assert result.ok
    assert result.content_type == "application/png"  # the function said so in contentType
    assert s3.head_object(Bucket=sandbox.endpoints.bucket, Key=result.key)["ContentType"] == "application/png"


def test_the_seeds_client_type_is_signed_as_asked(sandbox_settings, s3, sandbox):
    seed_client = dataclasses.replace(sandbox_settings, client_content_type="application/{ext}")
    (result,) = run([UploadInput("a.png", image_bytes())], seed_client)
    assert result.ok
    assert result.content_type == "application/png"
    assert s3.head_object(Bucket=sandbox.endpoints.bucket, Key=result.key)["ContentType"] == "application/png"


@pytest.mark.parametrize(
    ("status", "headers", "body", "expected_error", "expected_cause"),
    [
        (200, {"Content-Type": "text/html"}, b"<html>login</html>", "not with JSON", "PIPELINE_PRESIGN_URL"),
        (200, {"Content-Type": "application/json"}, b"[1, 2]", "not an object", "presignedUrl"),
        (200, {"Content-Type": "application/json"}, b'{"key": "x.png"}', "no presignedUrl", "presignedUrl"),
        (
            200,
            {"Content-Type": "application/json"},
            b'{"presignedUrl": "", "key": "x.png"}',
            "no presignedUrl",
            "presignedUrl",
        ),
        (
            200,
            {"Content-Type": "application/json"},
            b'{"presignedUrl": "ftp://x/y", "key": "x.png"}',
            "not an http(s) URL",
            "presigned",
        ),
        (
            200,
            {"Content-Type": "application/json"},
            b'{"presignedUrl": "https://b.s3.amazonaws.com/k"}',
            "no key",
            "key",
        ),
        (500, {"Content-Type": "application/json"}, b'{"message": "Internal Server Error"}', "HTTP 500", "CloudWatch"),
        (403, {"Content-Type": "application/json"}, b'{"message": "Forbidden"}', "HTTP 403", "stage or route"),
        (
            400,
            {"Content-Type": "application/json"},
            b'{"error": "unsupported_extension", "message": "x-extension must be one of: png"}',
            "HTTP 400",
            "x-extension must be one of",
        ),
        (301, {"Location": "https://elsewhere.example/"}, b"", "HTTP 301", "301"),
    ],
)
def test_bad_presign_replies_are_named_and_nothing_is_put(
    sandbox_settings, status, headers, body, expected_error, expected_cause
):
    with http_server(lambda _req: (status, headers, body)) as (base, seen):
        settings = dataclasses.replace(sandbox_settings, presign_url=f"{base}/presign")
        with new_session() as session:
            result = upload_one(UploadInput("a.png", image_bytes()), settings, session)
    step = result.failed_step
    assert not result.ok and step.name == "presign" and step.http_status == status
    assert expected_error in step.error
    assert expected_cause in step.cause
    assert [r["method"] for r in seen] == ["GET"]  # one presign call, never a PUT anywhere
    assert seen[0]["headers"]["x-extension"] == "png"


def test_presign_request_is_the_web_apps(sandbox_settings, sandbox):
    reply = {"presignedUrl": "http://127.0.0.1:9/never", "key": "k.png"}
    with http_server(lambda _req: (200, {"Content-Type": "application/json"}, json.dumps(reply).encode())) as (
        base,
        seen,
    ):
        settings = dataclasses.replace(
            sandbox_settings, presign_url=f"{base}/presign", client_content_type="application/{ext}"
        )
        with new_session() as session:
            upload_one(UploadInput("photo.JPG", image_bytes("JPEG")), settings, session)
    headers = {k.lower(): v for k, v in seen[0]["headers"].items()}
    assert seen[0]["path"] == "/presign"
    assert headers["x-extension"] == "jpg"
    assert headers["content-type"] == "application/jpg"


def test_put_rejection_reports_status_code_and_s3_error(sandbox_settings):
    error_xml = (
        b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
        b"<Message>Access Denied</Message><RequestId>X</RequestId></Error>"
    )
    with http_server(lambda _req: (403, {"Content-Type": "application/xml"}, error_xml)) as (s3_base, puts):
        grant = {
            "presignedUrl": f"{s3_base}/{sandbox_settings.bucket}/k.png?X-Amz-Signature=deadbeef&X-Amz-SignedHeaders=content-type%3Bhost",
            "key": "k.png",
            "contentType": "image/png",
        }
        with http_server(lambda _req: (200, {"Content-Type": "application/json"}, json.dumps(grant).encode())) as (
            base,
            _,
        ):
            # the fake S3 is the configured S3 endpoint (as the sandbox's is), so its path-style URL is allowed
            aws = dataclasses.replace(sandbox_settings.aws, endpoint_url=s3_base)
            settings = dataclasses.replace(sandbox_settings, presign_url=f"{base}/presign", aws=aws)
            with new_session() as session:
                result = upload_one(UploadInput("a.png", image_bytes()), settings, session)
    step = result.failed_step
    assert step.name == "put" and step.http_status == 403 and step.code == "AccessDenied"
    assert "s3:PutObject" in step.cause
    assert "deadbeef" not in json.dumps(result.to_json())  # the signature is never echoed
    assert puts[0]["headers"]["Content-Type"] == "image/png"


def test_cdn_unreachable_and_cdn_denial_are_cdn_read_failures(sandbox_settings, bucket_keys):
    down = dataclasses.replace(sandbox_settings, cdn_url=f"http://127.0.0.1:{closed_port()}")
    (result,) = run([UploadInput("a.png", image_bytes())], down)
    assert result.failed_step.name == "cdn_read" and "PIPELINE_CDN_URL" in result.failed_step.cause
    assert result.key in bucket_keys()  # the PUT itself worked: the trace says which hop failed

    def deny(_req):
        return (
            403,
            {"X-Cache": "Error from cloudfront", "Content-Type": "application/xml"},
            b"<Error><Code>AccessDenied</Code></Error>",
        )

    with http_server(deny) as (cdn, _):
        (result,) = run([UploadInput("a.png", image_bytes())], dataclasses.replace(sandbox_settings, cdn_url=cdn))
    step = result.failed_step
    assert step.name == "cdn_read" and step.http_status == 403 and step.code == "AccessDenied"
    assert "Error from cloudfront" in step.cause and "AWS:SourceArn" in step.cause


def test_cdn_serving_other_bytes_is_caught_by_sha256(sandbox_settings):
    with http_server(lambda _req: (200, {"Content-Type": "image/png"}, image_bytes(colour="black"))) as (cdn, _):
        (result,) = run([UploadInput("a.png", image_bytes())], dataclasses.replace(sandbox_settings, cdn_url=cdn))
    assert result.failed_step.name == "cdn_read" and "different bytes" in result.failed_step.error


def test_results_arrive_in_completion_order_with_their_indexes(sandbox_settings):
    items = [UploadInput(f"f{i}.png", image_bytes(colour=c)) for i, c in enumerate(["red", "green", "blue", "white"])]
    seen = [index for index, _ in upload_batch(items, sandbox_settings, workers=3)]
    assert sorted(seen) == [0, 1, 2, 3]


def test_the_clients_file_name_never_becomes_the_key(sandbox_settings, sandbox, s3):
    """Hostile names (path separators, dot segments, bidi overrides, double and upper-case extensions): the
    key is the endpoint's fresh uuid with the extension of the bytes; the name is only shown, sanitised."""
    names = ["../../etc/passwd.png", "a/b\\c.PNG", "invoice\u202egnp.exe.png", "photo.jpg.png", "noext", "\x00\n.png"]
    items = [UploadInput(name, image_bytes()) for name in names]
    results = dict(upload_batch(items, sandbox_settings))
    uuid_key = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.png$")
    for index, name in enumerate(names):
        result = results[index]
        assert result.ok, (name, result.failed_step)
        assert uuid_key.match(result.key), result.key
        assert not any(ch in result.file for ch in "/\\\u202e\x00\n"), result.file
        s3.head_object(Bucket=sandbox.endpoints.bucket, Key=result.key)
