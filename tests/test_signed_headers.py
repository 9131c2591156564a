"""Signed headers the web app does not send (issue 13, item 3): a function that passes CacheControl / Metadata in
its Params makes botocore sign them as headers, and the web app's PUT without them gets 403 SignatureDoesNotMatch.
Over HTTP against the sandbox (switch ``function-signs-cache-control``), the settings that say what the web app
sends (``PIPELINE_CLIENT_PUT_HEADERS``), and the judges over recorded evidence."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from datetime import UTC, datetime

import botocore.session
import pytest
import requests

from services.aws_model.s3errors import parse_s3_error
from services.aws_model.s3headers import PUT_OBJECT_HEADER_PARAMS, put_object_param
from services.checks.cdn import judge_cache_control
from services.checks.evidence import Canary, CheckTarget, Evidence
from services.checks.model import ConfigRead, Exchange, ReadState, Status
from services.checks.presign import judge_url
from services.checks.runner import run_checks
from services.core.errors import ConfigError
from services.core.settings import load_options, load_settings, parse_put_headers
from services.core.transport import new_session
from services.pipeline.explain import SIGNED_HEADER_RULE, explain_put
from services.pipeline.presign import hand_out_url
from services.pipeline.upload import UploadInput, upload_one
from services.sandbox import layout, switches
from tests.support import image_bytes

SWITCH = "function-signs-cache-control"
#: exactly what the function signs under the switch, as the web app would have to send it
SIGNED_EXTRAS = (
    ("cache-control", switches.SIGNED_CACHE_CONTROL),
    ("x-amz-meta-uploaded-by", switches.SIGNED_METADATA["uploaded-by"]),
)
SANDBOX_SIGNATURE_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. Check your key and signing method."
)


def grant(sandbox) -> dict:
    reply = requests.get(
        sandbox.endpoints.presign, headers={"x-extension": "png", "Content-Type": "image/png"}, timeout=10
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


def signed_header_names(url: str) -> list[str]:
    return url.split("X-Amz-SignedHeaders=", 1)[1].split("&", 1)[0].replace("%3B", ";").split(";")


# --- the sandbox, over HTTP ---------------------------------------------------------------------------


def test_a_function_that_signs_cache_control_gets_403_unless_the_put_sends_the_same_headers(
    sandbox, switch, bucket_keys
):
    switch(SWITCH)
    before = bucket_keys()
    doc = grant(sandbox)
    assert signed_header_names(doc["presignedUrl"]) == [
        "cache-control",
        "content-type",
        "host",
        "x-amz-meta-uploaded-by",
    ]

    bare = requests.put(doc["presignedUrl"], data=image_bytes(), headers={"Content-Type": "image/png"}, timeout=10)
    other = requests.put(
        doc["presignedUrl"],
        data=image_bytes(),
        headers={"Content-Type": "image/png", **dict(SIGNED_EXTRAS), "cache-control": "no-store"},
        timeout=10,
    )

    for refused in (bare, other):
        error = parse_s3_error(refused.content)
        assert (refused.status_code, error.code, error.message) == (
            403,
            "SignatureDoesNotMatch",
            SANDBOX_SIGNATURE_MESSAGE,
        )
    assert bucket_keys() == before
    sent = requests.put(
        doc["presignedUrl"],
        data=image_bytes(),
        headers={"Content-Type": "image/png", **dict(SIGNED_EXTRAS)},
        timeout=10,
    )
    assert sent.status_code == 200, sent.text
    assert bucket_keys() - before == {doc["key"]}


def test_presign_url_fails_naming_each_unsent_signed_header_and_the_params_to_remove(switch, sandbox_settings):
    switch(SWITCH)

    (finding,) = run_checks(sandbox_settings, only=["presign.url"]).findings

    assert finding.status == Status.FAIL and "url.signed_header_not_sent" in finding.codes
    assert "cache-control, x-amz-meta-uploaded-by" in finding.detail and "SignatureDoesNotMatch" in finding.detail
    assert "remove CacheControl from the function's generate_presigned_url Params" in finding.fix
    assert 'remove Metadata["uploaded-by"]' in finding.fix and "PIPELINE_CLIENT_PUT_HEADERS" in finding.fix

    sends_them = replace(sandbox_settings, client_put_headers=SIGNED_EXTRAS)
    (finding,) = run_checks(sends_them, only=["presign.url"]).findings
    assert finding.status == Status.PASS, finding.detail
    assert "Signed header cache-control: the web app sends it" in finding.detail


def test_the_upload_trace_names_the_missing_signed_headers_and_a_client_that_sends_them_uploads(
    switch, sandbox_settings
):
    switch(SWITCH)

    with new_session() as session:
        failed = upload_one(UploadInput("photo.png", image_bytes()), sandbox_settings, session)
        sends_them = replace(sandbox_settings, client_put_headers=SIGNED_EXTRAS)
        # as the browser at the app's origin: its PUT preflight asks for the extra headers too (the seed's CORS: "*")
        uploaded = upload_one(UploadInput("photo.png", image_bytes()), sends_them, session, origin=layout.APP_ORIGIN)

    step = failed.failed_step
    assert (step.name, step.http_status, step.code) == ("put", 403, "SignatureDoesNotMatch")
    assert "The URL also signs cache-control, x-amz-meta-uploaded-by" in step.cause
    assert "remove CacheControl from the function's generate_presigned_url Params" in step.cause
    assert uploaded.ok, uploaded.failed_step
    assert [s.name for s in uploaded.steps] == [
        "validate",
        "presign_preflight",
        "presign",
        "put_preflight",
        "put",
        "cdn_read",
    ]


def test_the_canary_blames_the_unsent_headers_not_the_content_type(switch, sandbox_settings):
    switch(SWITCH)

    report = run_checks(sandbox_settings, only=["presign.url", "upload.roundtrip", "upload.content_type"])

    findings = {f.id: f for f in report.findings}
    assert findings["upload.content_type"].status == Status.UNKNOWN
    assert findings["upload.content_type"].codes == ("type.other_header_unsent",)
    assert findings["upload.roundtrip"].caused_by == ("presign.url",)
    assert "See presign.url: the URL signs cache-control, x-amz-meta-uploaded-by" in findings["upload.roundtrip"].fix
    assert [f.id for f in report.root_causes()] == ["presign.url"]


def test_the_canary_sends_what_the_web_app_is_configured_to_send(switch, sandbox_settings):
    switch(SWITCH)
    sends_them = replace(sandbox_settings, client_put_headers=SIGNED_EXTRAS)

    findings = {f.id: f for f in run_checks(sends_them, only=["upload.roundtrip", "cdn.cache_control"]).findings}

    assert findings["upload.roundtrip"].status == Status.PASS, findings["upload.roundtrip"].detail
    assert findings["cdn.cache_control"].status == Status.PASS, findings["cdn.cache_control"].detail


def test_the_handed_out_curl_command_sends_the_configured_headers(switch, sandbox_settings, admin_s3, tmp_path):
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    switch(SWITCH)
    sends_them = replace(sandbox_settings, client_put_headers=SIGNED_EXTRAS)
    with new_session() as session:
        handed = hand_out_url(session, sends_them, "png")
    (tmp_path / "image.png").write_bytes(image_bytes())

    run = subprocess.run(["bash", "-c", handed.curl()], cwd=tmp_path, capture_output=True, text=True, timeout=60)

    assert run.returncode == 0, run.stderr + run.stdout
    stored = admin_s3.head_object(Bucket=layout.BUCKET, Key=handed.key)
    assert stored["CacheControl"] == switches.SIGNED_CACHE_CONTROL and stored["Metadata"] == switches.SIGNED_METADATA


# --- the settings ---------------------------------------------------------------------------------------


def test_put_headers_come_from_json_in_the_environment_or_a_table_in_secrets():
    env = {"PIPELINE_CLIENT_PUT_HEADERS": json.dumps({"Cache-Control": "public, max-age=60", "x-amz-acl": "private"})}
    assert load_options(env).client_put_headers == (("cache-control", "public, max-age=60"), ("x-amz-acl", "private"))
    table = {"client_put_headers": {"X-Amz-Meta-By": "app"}}
    assert load_options({}, table).client_put_headers == (("x-amz-meta-by", "app"),)
    assert load_options({}, {}).client_put_headers == ()  # the seed's client sends Content-Type only
    configured = {
        "PIPELINE_PRESIGN_URL": "https://api.example/presign",
        "PIPELINE_BUCKET": "b",
        "PIPELINE_CDN_URL": "https://cdn.example",
        **env,
    }
    settings = load_settings(configured)
    assert settings is not None and dict(settings.client_put_headers)["x-amz-acl"] == "private"
    assert settings.summary()["client_put_headers"] == {"cache-control": "public, max-age=60", "x-amz-acl": "private"}


def test_an_sse_c_key_sent_by_the_web_app_is_never_shown():
    key = "c2VjcmV0LWtleS0zMi1ieXRlcy1sb25nLTEyMzQ1Njc4"
    env = {
        "PIPELINE_PRESIGN_URL": "https://api.example/presign",
        "PIPELINE_BUCKET": "b",
        "PIPELINE_CDN_URL": "https://cdn.example",
        "PIPELINE_CLIENT_PUT_HEADERS": json.dumps({"x-amz-server-side-encryption-customer-key": key}),
    }
    settings = load_settings(env)
    assert settings is not None and dict(settings.client_put_headers)  # sent as configured
    target = replace(TARGET, client_put_headers=settings.client_put_headers)
    finding = judge_url(url_evidence("content-type%3Bhost%3Bx-amz-server-side-encryption-customer-key", target))

    assert finding.status == Status.PASS
    shown = json.dumps([settings.summary(), target.to_json(), finding.detail])
    assert key not in shown and "not shown: a secret" in shown


@pytest.mark.parametrize(
    ("raw", "phrase"),
    [
        ("cache-control: no-store", "is not a JSON object"),
        ('["cache-control"]', "is not a JSON object"),
        ('{"content-type": "image/png"}', "PIPELINE_CLIENT_CONTENT_TYPE"),
        ('{"bad name": "x"}', "is not an HTTP header name"),
        ('{"x-amz-acl": "a\\nb"}', "one-line string"),
        ('{"x-amz-acl": 3}', "one-line string"),
    ],
)
def test_malformed_put_headers_are_a_configuration_error_naming_the_setting(raw, phrase):
    with pytest.raises(ConfigError, match="PIPELINE_CLIENT_PUT_HEADERS") as caught:
        parse_put_headers(raw)
    assert phrase in str(caught.value)


# --- the model and the judges --------------------------------------------------------------------------


def test_the_header_table_is_botocores_put_object_model():
    model = botocore.session.get_session().get_service_model("s3").operation_model("PutObject")
    headers = {
        shape.serialization["name"].lower(): name
        for name, shape in model.input_shape.members.items()
        if shape.serialization.get("location") == "header"
    }
    assert {h: p for h, p in PUT_OBJECT_HEADER_PARAMS.items()} == {h: headers[h] for h in PUT_OBJECT_HEADER_PARAMS}
    assert put_object_param("X-Amz-Meta-Uploaded-By") == 'Metadata["uploaded-by"]'
    assert put_object_param("x-amz-unknown") is None


TARGET = CheckTarget(
    presign_url="https://api.example/presign", bucket="b", cdn_url="https://cdn.example", region="us-east-1"
)
BASE = (
    "https://b.s3.us-east-1.amazonaws.com/0c1f7c0e-7d5b-4c0e-9a51-7f3c2f9e8a10.png?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=AKIA%2F20240501%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240501T000000Z&X-Amz-Expires=300"
    "&X-Amz-Signature=abc&X-Amz-SignedHeaders="
)


def url_evidence(signed: str, target: CheckTarget = TARGET) -> Evidence:
    body = json.dumps({"presignedUrl": BASE + signed, "key": "k.png", "contentType": "image/png"})
    return Evidence(
        target=target,
        gathered_at=datetime(2024, 5, 1, tzinfo=UTC),
        presign_ok=Exchange("GET", target.presign_url, status=200, body=body),
    )


@pytest.mark.parametrize(
    ("signed", "sends", "status", "code", "phrase"),
    [
        ("content-type%3Bhost", (), Status.PASS, "url.sound", "Signed headers: content-type;host"),
        ("content-type%3Bhost%3Bx-amz-acl", (), Status.FAIL, "url.signed_header_not_sent", "remove ACL"),
        (
            "content-disposition%3Bcontent-type%3Bhost",
            (),
            Status.FAIL,
            "url.signed_header_not_sent",
            "remove ContentDisposition",
        ),
        (
            "content-type%3Bhost%3Bx-amz-server-side-encryption",
            (),
            Status.FAIL,
            "url.signed_header_not_sent",
            "remove ServerSideEncryption",
        ),
        ("content-type%3Bhost%3Bx-amz-tagging", (), Status.FAIL, "url.signed_header_not_sent", "remove Tagging"),
        (
            "content-type%3Bhost%3Bx-amz-acl",
            (("x-amz-acl", "bucket-owner-full-control"),),
            Status.PASS,
            "url.sound",
            "the web app sends it (x-amz-acl: bucket-owner-full-control)",
        ),
        (
            "content-type%3Bhost%3Bx-amz-sdk-checksum-algorithm",
            (("x-amz-sdk-checksum-algorithm", "CRC32"),),
            Status.FAIL,
            "url.checksum_algorithm_without_value",
            "400 InvalidRequest 'x-amz-sdk-checksum-algorithm specified, but no corresponding",
        ),
    ],
)
def test_presign_url_lists_each_signed_header_and_whether_the_web_app_sends_it(signed, sends, status, code, phrase):
    finding = judge_url(url_evidence(signed, replace(TARGET, client_put_headers=sends)))

    assert finding.status == status and code in finding.codes, finding.detail
    assert phrase in finding.detail + finding.fix


def test_the_upload_trace_names_the_signed_header_the_put_did_not_send():
    error = parse_s3_error(b"<Error><Code>SignatureDoesNotMatch</Code><Message>m</Message></Error>")
    url = BASE + "cache-control%3Bcontent-type%3Bhost%3Bx-amz-acl"

    neither = explain_put(403, error, "image/png", url, "image/png")
    one = explain_put(403, error, "image/png", url, "image/png", sent_headers=["x-amz-acl"])
    both = explain_put(403, error, "image/png", url, "image/png", sent_headers=["x-amz-acl", "cache-control"])

    assert "also signs cache-control, x-amz-acl" in neither and SIGNED_HEADER_RULE in neither
    assert "also signs cache-control (" in one and "remove CacheControl" in one
    assert "also signs" not in both and "sent cache-control, x-amz-acl as configured" in both


def test_cache_control_advice_points_at_the_signed_header_fact():
    head = ConfigRead("s3:GetObject", ReadState.OK, {"ContentType": "image/png"})
    cdn = Exchange("GET", "https://cdn.example/k.png", status=200, response_headers={"Content-Type": "image/png"})
    canary = Canary(presign=Exchange("GET", TARGET.presign_url, status=200), key="k.png", head=head, cdn_first=cdn)
    ev = Evidence(target=TARGET, gathered_at=datetime(2024, 5, 1, tzinfo=UTC), canary=canary)

    finding = judge_cache_control(ev)

    assert finding.status == Status.WARN and "cache_control.missing" in finding.codes
    assert SIGNED_HEADER_RULE in finding.fix and "PIPELINE_CLIENT_PUT_HEADERS" in finding.fix
