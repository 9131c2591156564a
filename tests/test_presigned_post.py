"""A presigned POST end to end, over HTTP: the shipped function in post mode behind the sandbox's API, S3's POST
Object with its policy checked as S3 checks it (signature, expiration, every condition), and AWS's answers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
import requests

from presign_function.lambda_function import DEFAULT_MAX_UPLOAD_BYTES
from services.aws_model import postpolicy
from services.sandbox import layout
from tests.support import image_bytes

POST_SWITCH = "function-hands-out-post"


def s3_error(reply: requests.Response) -> dict[str, str]:
    return {child.tag: child.text or "" for child in ET.fromstring(reply.content)}


def presign_post(sandbox, ext: str = "png", **headers: str) -> dict:
    asked = {"x-extension": ext, "Content-Type": f"image/{ext}", **headers}
    reply = requests.get(sandbox.endpoints.presign, headers=asked, timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()


def post_form(grant: dict, data: bytes, *, content_type: str | None = None, fields: dict | None = None, **kw):
    """POST the form as a browser's FormData does: every field of the grant, then the file."""
    form = {**grant["fields"], **(fields or {})}
    part_type = content_type or grant["contentType"]
    return requests.post(grant["url"], data=form, files={"file": ("image.png", data, part_type)}, timeout=10, **kw)


def resign(fields: dict, policy: dict) -> dict:
    """The form's fields with another policy, signed with the presign role's own secret (as the function would)."""
    encoded = base64.b64encode(json.dumps(policy).encode()).decode()
    _, date, region, service, _ = fields["x-amz-credential"].split("/")
    key = f"AWS4{layout.PRESIGN_ROLE_SECRET}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, encoded.encode(), hashlib.sha256).hexdigest()
    return {**fields, "policy": encoded, "x-amz-signature": signature}


@pytest.fixture
def post_mode(switch):
    switch(POST_SWITCH)


def test_the_function_hands_out_boto3s_presigned_post_with_size_type_and_key_conditions(sandbox, post_mode):
    grant = presign_post(sandbox)
    assert set(grant) >= {"url", "fields", "key", "contentType"}
    assert "presignedUrl" not in grant
    assert (
        grant["url"] == f"http://{layout.BUCKET}.s3.{layout.REGION}.localhost:{sandbox.endpoints.s3.rsplit(':', 1)[1]}/"
    )
    fields = grant["fields"]
    assert fields["key"] == grant["key"] and fields["Content-Type"] == "image/png"
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    policy = postpolicy.decode(fields["policy"])
    assert policy is not None
    assert policy.size_range() == (1, DEFAULT_MAX_UPLOAD_BYTES)
    assert policy.exact("content-type") == "image/png"
    assert policy.exact("key") == grant["key"]
    assert policy.exact("bucket") == layout.BUCKET


def test_a_form_post_stores_the_object_with_the_signed_type_and_answers_204(sandbox, post_mode, admin_s3):
    grant = presign_post(sandbox)
    data = image_bytes()
    reply = post_form(grant, data)
    assert reply.status_code == 204, reply.text
    assert reply.content == b""
    assert reply.headers["ETag"].strip('"') == hashlib.md5(data).hexdigest()
    stored = admin_s3.get_object(Bucket=layout.BUCKET, Key=grant["key"])
    assert stored["Body"].read() == data
    assert stored["ContentType"] == "image/png"


def test_success_action_status_201_answers_s3s_post_response(sandbox, post_mode):
    grant = presign_post(sandbox)
    policy = postpolicy.decode(grant["fields"]["policy"])
    assert policy is not None
    doc = json.loads(base64.b64decode(grant["fields"]["policy"]))
    doc["conditions"].append({"success_action_status": "201"})
    fields = resign(grant["fields"], doc)
    reply = post_form({**grant, "fields": fields}, image_bytes(), fields={"success_action_status": "201"})
    assert reply.status_code == 201, reply.text
    answer = {child.tag: child.text for child in ET.fromstring(reply.content)}
    assert answer["Key"] == grant["key"] and answer["Bucket"] == layout.BUCKET and answer["ETag"]


def test_a_file_over_the_limit_is_entity_too_large(sandbox, post_mode, bucket_keys):
    grant = presign_post(sandbox)
    doc = json.loads(base64.b64decode(grant["fields"]["policy"]))
    doc["conditions"] = [
        ["content-length-range", 1, 100] if isinstance(c, list) and c[0] == "content-length-range" else c
        for c in doc["conditions"]
    ]
    data = image_bytes()
    reply = post_form({**grant, "fields": resign(grant["fields"], doc)}, data)
    assert reply.status_code == 400
    error = s3_error(reply)
    assert error["Code"] == "EntityTooLarge"
    assert error["Message"] == "Your proposed upload exceeds the maximum allowed size"
    assert error["ProposedSize"] == str(len(data)) and error["MaxSizeAllowed"] == "100"
    assert grant["key"] not in bucket_keys()


def test_an_empty_file_is_entity_too_small(sandbox, post_mode):
    reply = post_form(presign_post(sandbox), b"")
    assert reply.status_code == 400
    error = s3_error(reply)
    assert error["Code"] == "EntityTooSmall" and error["MinSizeAllowed"] == "1" and error["ProposedSize"] == "0"


def test_another_content_type_is_refused_naming_the_policy_condition(sandbox, post_mode, bucket_keys):
    grant = presign_post(sandbox)
    reply = post_form(grant, image_bytes(), fields={"Content-Type": "text/html"})
    assert reply.status_code == 403
    error = s3_error(reply)
    assert error["Code"] == "AccessDenied"
    assert (
        error["Message"] == 'Invalid according to Policy: Policy Condition failed: ["eq", "$Content-Type", "image/png"]'
    )
    assert grant["key"] not in bucket_keys()


def test_another_key_is_refused_naming_the_key_condition(sandbox, post_mode):
    grant = presign_post(sandbox)
    reply = post_form(grant, image_bytes(), fields={"key": "someone-elses.png"})
    assert reply.status_code == 403
    assert s3_error(reply)["Message"] == (
        f'Invalid according to Policy: Policy Condition failed: ["eq", "$key", "{grant["key"]}"]'
    )


def test_an_expired_policy_is_refused(sandbox, post_mode):
    grant = presign_post(sandbox)
    doc = json.loads(base64.b64decode(grant["fields"]["policy"]))
    doc["expiration"] = (datetime.now(UTC) - timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    reply = post_form({**grant, "fields": resign(grant["fields"], doc)}, image_bytes())
    assert reply.status_code == 403
    error = s3_error(reply)
    assert (error["Code"], error["Message"]) == ("AccessDenied", "Invalid according to Policy: Policy expired.")


def test_a_tampered_policy_is_signature_does_not_match(sandbox, post_mode):
    grant = presign_post(sandbox)
    doc = json.loads(base64.b64decode(grant["fields"]["policy"]))
    doc["conditions"] = [c for c in doc["conditions"] if not (isinstance(c, list) and c[0] == "content-length-range")]
    tampered = {**grant["fields"], "policy": base64.b64encode(json.dumps(doc).encode()).decode()}
    reply = post_form({**grant, "fields": tampered}, image_bytes())
    assert reply.status_code == 403
    error = s3_error(reply)
    assert error["Code"] == "SignatureDoesNotMatch"
    assert error["StringToSign"] == tampered["policy"]
    assert error["AWSAccessKeyId"] == layout.PRESIGN_ROLE_KEY


def test_a_field_the_policy_does_not_name_is_refused(sandbox, post_mode):
    reply = post_form(presign_post(sandbox), image_bytes(), fields={"x-amz-meta-owner": "mallory"})
    assert reply.status_code == 403
    assert s3_error(reply)["Message"] == "Invalid according to Policy: Extra input fields: x-amz-meta-owner"


def test_a_form_without_a_key_or_a_file_is_refused_as_s3_does(sandbox, post_mode):
    grant = presign_post(sandbox)
    fields = {k: v for k, v in grant["fields"].items() if k != "key"}
    reply = requests.post(grant["url"], data=fields, files={"file": ("a.png", image_bytes(), "image/png")}, timeout=10)
    assert reply.status_code == 400
    assert s3_error(reply)["Message"].startswith("Bucket POST must contain a field named 'key'.")
    reply = requests.post(
        grant["url"], files={name: (None, value) for name, value in grant["fields"].items()}, timeout=10
    )
    assert (reply.status_code, s3_error(reply)["Code"]) == (400, "InvalidArgument")


def test_the_role_without_put_object_is_access_denied_on_post_too(sandbox, post_mode, switch):
    switch("lambda-role-no-put")
    reply = post_form(presign_post(sandbox), image_bytes())
    assert reply.status_code == 403
    assert (s3_error(reply)["Code"], s3_error(reply)["Message"]) == ("AccessDenied", "Access Denied")


def test_the_buckets_put_only_cors_gives_a_browsers_post_no_allow_origin(sandbox, post_mode):
    """A form POST is a CORS simple request (no preflight), but the browser still needs Access-Control-Allow-Origin
    on S3's answer: the seed's rules allow PUT only, so S3 stores the file and the browser hides the answer."""
    reply = post_form(presign_post(sandbox), image_bytes(), headers={"Origin": layout.APP_ORIGIN})
    assert reply.status_code == 204
    assert "Access-Control-Allow-Origin" not in reply.headers


def test_without_the_switch_the_function_still_hands_out_a_put_url(sandbox):
    grant = requests.get(sandbox.endpoints.presign, headers={"x-extension": "png"}, timeout=10).json()
    assert "presignedUrl" in grant and "fields" not in grant


def test_the_functions_upload_shape_and_limit_are_checked_at_start():
    from presign_function.lambda_function import ConfigurationError, HandlerConfig

    config = HandlerConfig.from_env({"BUCKET_NAME": "b", "UPLOAD_SHAPE": "POST", "MAX_UPLOAD_BYTES": "2000"})
    assert (config.upload_shape, config.max_upload_bytes) == ("post", 2000)
    assert HandlerConfig.from_env({"BUCKET_NAME": "b"}).upload_shape == "put"
    for bad in ({"UPLOAD_SHAPE": "form"}, {"MAX_UPLOAD_BYTES": "0"}, {"MAX_UPLOAD_BYTES": "ten"}):
        with pytest.raises(ConfigurationError):
            HandlerConfig.from_env({"BUCKET_NAME": "b", **bad})


# --- the console's upload with a presigned POST ----------------------------------------------------------


def console_upload(settings, data: bytes | None = None, *, origin: str | None = None, name: str = "a.png"):
    from services.pipeline.upload import UploadInput, upload_batch

    ((_, result),) = list(upload_batch([UploadInput(name, data or image_bytes())], settings, origin=origin))
    return result


def test_the_consoles_upload_posts_the_form_and_reads_the_object_back(sandbox_settings, post_mode, admin_s3):
    result = console_upload(sandbox_settings)
    assert result.ok, result.steps
    assert [step.name for step in result.steps] == ["validate", "presign", "put", "cdn_read"]
    put = result.steps[2]
    assert put.http_status == 204 and "presigned POST" in (put.note or "")
    assert admin_s3.head_object(Bucket=layout.BUCKET, Key=result.key)["ContentType"] == result.content_type


def test_an_oversized_file_is_refused_with_entity_too_large_and_the_limit_named(sandbox_settings, post_mode):
    import io
    import os

    from PIL import Image

    noise = Image.frombytes("RGB", (1900, 1900), os.urandom(1900 * 1900 * 3))
    buffer = io.BytesIO()
    noise.save(buffer, "PNG")
    data = buffer.getvalue()
    assert len(data) > DEFAULT_MAX_UPLOAD_BYTES
    result = console_upload(sandbox_settings, data)
    failed = result.failed_step
    assert failed is not None and failed.name == "put"
    assert (failed.http_status, failed.code) == (400, "EntityTooLarge")
    assert f"{len(data):,} bytes" in (failed.cause or "") and "MAX_UPLOAD_BYTES" in (failed.cause or "")


def test_from_a_browser_origin_the_post_has_no_preflight_and_puts_only_cors_hides_the_answer(
    sandbox_settings, post_mode, admin_s3
):
    result = console_upload(sandbox_settings, origin=layout.APP_ORIGIN)
    names = [step.name for step in result.steps]
    assert "put_preflight" not in names and names[:3] == ["validate", "presign_preflight", "presign"]
    failed = result.failed_step
    assert failed is not None and failed.name == "put" and failed.http_status == 204
    assert "Access-Control-Allow-Origin" in failed.error and "simple request" in (failed.cause or "")
    assert '"AllowedMethods":["POST"]' in (failed.cause or "")
    rules = admin_s3.get_bucket_cors(Bucket=layout.BUCKET)["CORSRules"]
    admin_s3.put_bucket_cors(
        Bucket=layout.BUCKET,
        CORSConfiguration={"CORSRules": [*rules, {"AllowedOrigins": [layout.APP_ORIGIN], "AllowedMethods": ["POST"]}]},
    )
    again = console_upload(sandbox_settings, origin=layout.APP_ORIGIN)
    assert again.ok, again.steps


def test_get_one_presigned_post_gives_the_form_and_a_curl_that_posts_it(sandbox_settings, post_mode):
    from services.core.transport import new_session
    from services.pipeline.presign import hand_out_url

    with new_session() as session:
        handed = hand_out_url(session, sandbox_settings, "png")
    assert handed.fields is not None and handed.fields["key"] == handed.key
    assert handed.to_json()["url"] == handed.url and "presignedUrl" not in handed.to_json()
    assert handed.expires_at is not None
    command = handed.curl("cat.png")
    assert "-F 'file=@cat.png;type=" in command and "-F key=" in command and "-X PUT" not in command


# --- the checks under post mode ---------------------------------------------------------------------------


def test_under_post_mode_the_checks_judge_the_policy_and_upload_the_canary_with_post(sandbox_settings, post_mode):
    from services.checks.model import Status
    from services.checks.runner import run_checks

    report = run_checks(sandbox_settings)
    by_id = {finding.id: finding for finding in report.findings}
    assert by_id["presign.contract"].status == Status.PASS, by_id["presign.contract"].detail
    url = by_id["presign.url"]
    assert url.status == Status.PASS and "key exact, Content-Type 'application/png'" in url.detail, url.detail
    size = by_id["presign.size_limit"]
    assert size.status == Status.PASS and size.codes == ("size.limited",) and "1..10000000" in size.detail, size
    roundtrip = by_id["upload.roundtrip"]
    assert roundtrip.status == Status.PASS, roundtrip.detail
    assert any(item.method == "POST" and item.status == 204 for item in roundtrip.evidence)
    cors = by_id["bucket.cors"]  # the bucket's rules allow PUT only: the browser's form POST gets no allow-origin
    assert cors.status == Status.FAIL and "cors.method_missing" in cors.codes and "POST" in cors.title
    assert '"POST"' in cors.fix
    assert by_id["bucket.cors_preflight"].status == Status.SKIP  # a form POST is sent without a preflight
    assert by_id["bucket.ownership"].codes == ("ownership.no_acl_signed",)
    assert by_id["upload.content_type"].status == Status.PASS  # the policy fixes the type
    assert "x-amz-signature" not in str([item.body for item in report.findings[0].evidence]).replace(
        '"x-amz-signature": "REDACTED"', ""
    )


def test_a_presigned_put_is_flagged_for_having_no_size_limit(sandbox_settings):
    from services.checks.model import Impact, Status
    from services.checks.runner import run_checks

    (size,) = run_checks(sandbox_settings, only=["presign.size_limit"]).findings
    assert (size.status, size.codes) == (Status.WARN, ("size.put_unlimited",))
    assert "5 GB" in size.title and "UPLOAD_SHAPE=post" in size.fix
    from services.checks.runner import BY_ID

    assert BY_ID["presign.size_limit"].impact is Impact.EXPOSURE


def test_the_post_reply_never_shows_its_signature_in_the_evidence(sandbox_settings, post_mode):
    from services.checks.runner import run_checks

    report = run_checks(sandbox_settings, only=["presign.url"])
    bodies = " ".join(item.body for finding in report.findings for item in finding.evidence if item.body)
    assert '"x-amz-signature": "REDACTED"' in bodies
    assert '"x-amz-credential": "REDACTED/' in bodies


def test_applying_the_cors_fix_under_post_mode_lets_the_browsers_post_through(sandbox_settings, post_mode, admin_s3):
    from services.checks.model import Status
    from services.checks.runner import run_checks

    (cors,) = run_checks(sandbox_settings, only=["bucket.cors"]).findings
    assert cors.status == Status.FAIL and cors.remedy is not None
    admin_s3.put_bucket_cors(Bucket=layout.BUCKET, CORSConfiguration=cors.remedy.params["CORSConfiguration"])
    (after,) = run_checks(sandbox_settings, only=["bucket.cors"]).findings
    assert after.status == Status.PASS, after.detail
    assert console_upload(sandbox_settings, origin=layout.APP_ORIGIN).ok


def test_an_expired_policy_gets_one_fresh_grant_and_then_names_the_expiry(sandbox_settings, post_mode, switch):
    switch("urls-expire")  # policies live 1 s and the API answers after 1.5 s: every grant arrives expired
    result = console_upload(sandbox_settings)
    names = [step.name for step in result.steps]
    assert names == ["validate", "presign", "presign_retry", "put"], names
    failed = result.failed_step
    assert failed is not None and (failed.http_status, failed.code) == (403, "AccessDenied")
    error = result.steps[-1].error or ""
    assert "S3 refused the POST" in error and "expired even after a fresh POST" in error  # a POST's words, not a PUT's
    assert "presigned POST's policy had expired when S3 received the POST" in (failed.cause or "")
