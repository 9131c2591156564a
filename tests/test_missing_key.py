"""A 403 that means 404: S3, and so the CDN, answers 403 AccessDenied for a key that does not exist to a reader that
may not s3:ListBucket (CloudFront's OAC may not). Over HTTP against the sandbox (switch ``reply-key-mismatch``: the
function reports another key than it signed): the answers themselves, ``cdn.read`` and ``upload.roundtrip``, the
upload trace, Browse's detail (service and page), the canary's removal; then the judges over recorded evidence."""

from __future__ import annotations

import dataclasses
import json
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from urllib.parse import unquote

import pytest
import requests
from botocore.exceptions import ClientError
from streamlit.testing.v1 import AppTest

from pages._shared import Keys
from services.aws_model import s3endpoints
from services.aws_model.s3errors import missing_key_answer
from services.checks.cdn import judge_direct_s3_blocked, judge_read
from services.checks.evidence import Canary, CheckTarget, Evidence
from services.checks.model import ConfigRead, Exchange, ReadState, Status
from services.checks.presign import judge_contract
from services.checks.runner import run_checks
from services.checks.upload import judge_roundtrip
from services.core.transport import new_session
from services.pipeline import browse
from services.pipeline.explain import Existence, existence_of, explain_cdn
from services.pipeline.upload import UploadInput, upload_one
from services.sandbox import layout
from services.sandbox.lambda_host import key_built_again
from tests.conftest import PROJECT_ROOT
from tests.support import http_server, image_bytes

ACCESS_DENIED = ("AccessDenied", "Access Denied")


def s3_error(reply: requests.Response) -> tuple[str, str]:
    fields = {child.tag: child.text or "" for child in ET.fromstring(reply.content)}
    return fields["Code"], fields["Message"]


def grant(sandbox) -> dict:
    reply = requests.get(
        sandbox.endpoints.presign, headers={"x-extension": "png", "Content-Type": "image/png"}, timeout=10
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


# --- the answers, over HTTP ---------------------------------------------------------------------------------


def test_a_missing_key_is_403_access_denied_to_whoever_may_not_list_and_404_to_who_may(sandbox, admin_s3):
    key = f"never-uploaded-{uuid.uuid4()}.png"
    anonymous = requests.get(f"{sandbox.endpoints.s3}/{layout.BUCKET}/{key}", timeout=10)
    through_cdn = requests.get(f"{sandbox.endpoints.cdn}/{key}", timeout=10)

    assert anonymous.status_code == 403 and s3_error(anonymous) == ACCESS_DENIED
    assert through_cdn.status_code == 403 and s3_error(through_cdn) == ACCESS_DENIED
    assert through_cdn.headers["X-Cache"] == "Error from cloudfront"
    with pytest.raises(ClientError) as read:  # the console's identity may list the bucket: S3 says what it is
        admin_s3.get_object(Bucket=layout.BUCKET, Key=key)
    error = read.value.response["Error"]
    assert (read.value.response["ResponseMetadata"]["HTTPStatusCode"], error["Code"], error["Message"]) == (
        404,
        "NoSuchKey",
        "The specified key does not exist.",
    )
    assert missing_key_answer(may_list=False) == (403, *ACCESS_DENIED)
    stored = f"stored-{uuid.uuid4()}.png"  # the same grant serves a key that exists: the 403 was the missing key
    admin_s3.put_object(Bucket=layout.BUCKET, Key=stored, Body=b"here", ContentType="image/png")
    assert requests.get(f"{sandbox.endpoints.cdn}/{stored}", timeout=10).content == b"here"


def test_reply_key_mismatch_stores_under_the_urls_key_and_the_replys_key_reads_403(sandbox, switch, bucket_keys):
    switch("reply-key-mismatch")
    doc = grant(sandbox)
    signed = s3endpoints.url_key(doc["presignedUrl"])
    reply_key = doc["key"]
    assert signed and signed != reply_key and signed.rsplit(".", 1)[1] == reply_key.rsplit(".", 1)[1] == "png"

    put = requests.put(doc["presignedUrl"], data=image_bytes(), headers={"Content-Type": "image/png"}, timeout=10)
    read_back = requests.get(f"{sandbox.endpoints.cdn}/{reply_key}", timeout=10)

    assert put.status_code == 200, put.text
    assert read_back.status_code == 403 and s3_error(read_back) == ACCESS_DENIED
    assert read_back.headers["X-Cache"] == "Error from cloudfront"
    assert requests.get(f"{sandbox.endpoints.cdn}/{signed}", timeout=10).content == image_bytes()
    assert signed in bucket_keys() and reply_key not in bucket_keys()


def test_key_built_again_keeps_the_folder_and_the_extension():
    again = key_built_again("canary/0b8f7a52-3c1e-4d5f-9a6b-7c8d9e0f1a2b.webp")
    assert again.startswith("canary/") and again.endswith(".webp") and "0b8f7a52" not in again
    assert "/" not in key_built_again("0b8f7a52-3c1e-4d5f-9a6b-7c8d9e0f1a2b.png")


# --- the checks, over HTTP ----------------------------------------------------------------------------------


def test_cdn_read_names_the_missing_object_and_the_key_signed_not_the_grant(
    sandbox, switch, sandbox_settings, bucket_keys
):
    switch("reply-key-mismatch")
    before = bucket_keys()
    writes_on = dataclasses.replace(sandbox_settings, allow_writes=True)

    report = run_checks(writes_on, only=["presign.contract", "upload.roundtrip", "cdn.read", "cdn.direct_s3_blocked"])

    found = {f.id: f for f in report.findings}
    contract = found["presign.contract"]  # the root cause: the reply names another key than the URL signs
    assert contract.status == Status.FAIL and "reply.key_not_url_key" in contract.codes
    assert "Build the key once" in contract.fix
    assert found["cdn.read"].caused_by == ("presign.contract",), found["cdn.read"].caused_by
    read, roundtrip = found["cdn.read"], found["upload.roundtrip"]
    assert read.status == Status.FAIL and {"cdn.object_missing", "cdn.key_not_signed"} <= set(read.codes)
    assert "cdn.forbidden" not in read.codes and "does not exist" in read.title
    assert "403 AccessDenied" in read.detail and "the grant is not the cause" in read.detail
    assert "builds the key twice" in read.detail and "put-bucket-policy" not in read.fix
    assert "Build the key once" in read.fix and "aws s3api head-object" in read.fix
    assert roundtrip.status == Status.FAIL and "cdn.object_missing" in roundtrip.codes
    assert "put-bucket-policy" not in roundtrip.fix
    direct = found["cdn.direct_s3_blocked"]  # a 403 for a key that does not exist proves nothing
    assert direct.status == Status.UNKNOWN and direct.codes == ("direct.not_stored",)
    # the run removed what it stored: the object under the URL's key, not the reply's key that never existed
    assert bucket_keys() == before
    (note,) = report.notes
    assert "was removed after the run" in note


def test_a_refused_grant_is_still_the_grant(sandbox, switch, sandbox_settings):
    switch("cdn-grant-missing")

    (read,) = run_checks(sandbox_settings, only=["cdn.read"]).findings

    assert read.status == Status.FAIL and "cdn.forbidden" in read.codes and "cdn.object_missing" not in read.codes
    assert "yet the object exists" in read.detail and "put-bucket-policy" in read.fix


# --- the upload trace, over HTTP ----------------------------------------------------------------------------


def test_the_consoles_upload_refuses_a_reply_naming_another_key_at_presign(sandbox_settings, switch):
    switch("reply-key-mismatch")
    with new_session() as session:
        result = upload_one(UploadInput("photo.png", image_bytes()), sandbox_settings, session)
    step = result.failed_step
    assert step is not None and step.name == "presign" and "but the reply's key is" in step.error


@pytest.fixture
def deleting_cdn(sandbox, admin_s3):
    """A CDN in front of the sandbox's that deletes each object just before reading it through (an object removed
    between its upload and the web app's read: a lifecycle rule, another process): the sandbox's CDN answers."""

    def respond(request):
        key = unquote(request.path.lstrip("/"))
        admin_s3.delete_object(Bucket=layout.BUCKET, Key=key)
        reply = requests.get(f"{sandbox.endpoints.cdn}/{key}", timeout=10)
        headers = {k: v for k, v in reply.headers.items() if k in ("Content-Type", "X-Cache", "Via")}
        return reply.status_code, headers, reply.content

    with http_server(respond) as (base, _seen):
        yield base


def test_the_upload_trace_says_the_object_read_back_does_not_exist(sandbox_settings, deleting_cdn):
    settings = dataclasses.replace(sandbox_settings, cdn_url=deleting_cdn)
    with new_session() as session:
        result = upload_one(UploadInput("photo.png", image_bytes()), settings, session)

    step = result.failed_step
    assert step is not None and (step.name, step.http_status, step.code) == ("cdn_read", 403, "AccessDenied")
    assert "the object does not exist" in step.error
    assert f"{result.key!r} does not exist" in step.cause and "the grant is not the cause" in step.cause
    assert "bucket policy grants" not in step.cause


def test_the_upload_trace_blames_the_grant_when_the_object_is_there(sandbox_settings, switch):
    switch("cdn-grant-missing")
    with new_session() as session:
        result = upload_one(UploadInput("photo.png", image_bytes()), sandbox_settings, session)
    step = result.failed_step
    assert step is not None and (step.name, step.http_status) == ("cdn_read", 403)
    assert "yet the object exists" in step.cause and "bucket policy grants" in step.cause


# --- Browse's detail, over HTTP ------------------------------------------------------------------------------


def test_browse_detail_says_a_missing_object_is_missing_and_a_refused_one_is_the_grant(
    sandbox, switch, sandbox_settings, admin_s3
):
    missing = browse.describe_object(admin_s3, sandbox_settings, f"gone-{uuid.uuid4()}.png")
    assert missing.cdn.status == 403 and missing.existence is Existence.MISSING
    (cdn_note,) = [n for n in browse.detail_notes(missing) if n.text.startswith("The CDN answered")]
    assert "does not exist" in cdn_note.text and "the grant is not the cause" in cdn_note.text

    key = f"refused-{uuid.uuid4()}.png"
    admin_s3.put_object(Bucket=layout.BUCKET, Key=key, Body=image_bytes(), ContentType="image/png")
    switch("cdn-grant-missing")
    refused = browse.describe_object(admin_s3, sandbox_settings, key)
    assert refused.cdn.status == 403 and refused.existence is Existence.PRESENT
    (cdn_note,) = [n for n in browse.detail_notes(refused) if n.text.startswith("The CDN answered")]
    assert "yet the object exists" in cdn_note.text and "bucket policy grants" in cdn_note.text


def test_browse_page_detail_of_an_object_deleted_since_the_listing_says_it_does_not_exist(
    configured, sandbox, admin_s3
):
    prefix = f"browse-missing-{uuid.uuid4().hex[:8]}/"
    key = f"{prefix}gone.png"
    admin_s3.put_object(Bucket=layout.BUCKET, Key=key, Body=image_bytes(), ContentType="image/png")
    app = AppTest.from_file(str(PROJECT_ROOT / "dashboard.py"), default_timeout=60)
    app.run()
    app.switch_page("pages/browse.py")
    app.session_state[Keys.BROWSE_PREFIX] = prefix
    app.run()
    admin_s3.delete_object(Bucket=layout.BUCKET, Key=key)  # deleted elsewhere; the page's listing still has it

    app.button(key=Keys.BROWSE_OPEN + key).click()
    app.run()

    assert not app.exception, app.exception
    errors = "\n".join(str(e.value) for e in app.error)
    assert "The object is not there" in errors  # S3's own HEAD: 404
    assert "because the object 'browse-missing-" in errors and "the grant is not the cause" in errors


# --- the judges over recorded evidence ----------------------------------------------------------------------

TARGET = CheckTarget(
    presign_url="https://api.example/presign",
    bucket="b",
    cdn_url="https://cdn.example",
    region="us-east-1",
    distribution_id="E1",
)
SIGNED = "https://b.s3.us-east-1.amazonaws.com/{key}?X-Amz-SignedHeaders=content-type%3Bhost&X-Amz-Signature=x"
DENIED_BODY = "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"


def recorded(head: ConfigRead | None, url_key: str = "k.png", cdn_status: int = 403) -> Evidence:
    cdn = Exchange(
        "GET",
        "https://cdn.example/k.png",
        status=cdn_status,
        response_headers={"X-Cache": "Error from cloudfront"},
        body=DENIED_BODY if cdn_status == 403 else "",
    )
    canary = Canary(
        presign=Exchange("GET", TARGET.presign_url, status=200),
        key="k.png",
        put=Exchange("PUT", SIGNED.format(key=url_key), status=200),
        sha256="aa",
        head=head,
        cdn_first=cdn,
    )
    return Evidence(target=TARGET, gathered_at=datetime(2026, 12, 1, tzinfo=UTC), canary=canary)


HEAD_OK = ConfigRead("s3:HeadObject", ReadState.OK, {"ContentType": "image/png"})
HEAD_404 = ConfigRead("s3:HeadObject", ReadState.MISSING, None, "404", "HTTP 404")
HEAD_403 = ConfigRead("s3:HeadObject", ReadState.DENIED, None, "403", "HTTP 403")


@pytest.mark.parametrize(
    ("head", "url_key", "cdn_status", "codes", "blames_grant", "phrase"),
    [
        (HEAD_OK, "k.png", 403, {"cdn.forbidden"}, True, "yet the object exists"),
        (HEAD_404, "k.png", 403, {"cdn.object_missing"}, False, "the grant is not the cause"),
        (HEAD_404, "other.png", 403, {"cdn.object_missing", "cdn.key_not_signed"}, False, "'other.png'"),
        (HEAD_404, "k.png", 404, {"cdn.object_missing"}, False, "does not exist"),
        (HEAD_403, "k.png", 403, {"cdn.forbidden", "cdn.existence_unknown"}, True, "could not be told"),
        (None, "k.png", 403, {"cdn.forbidden"}, True, "the object is missing or CloudFront may not read it"),
        (HEAD_OK, "k.png", 404, {"cdn.not_found"}, True, "origin path"),
    ],
)
def test_cdn_read_judge(head, url_key, cdn_status, codes, blames_grant, phrase):
    found = judge_read(recorded(head, url_key, cdn_status))
    assert found.status == Status.FAIL and set(found.codes) == codes, found.codes
    assert phrase in found.detail
    assert ("put-bucket-policy" in found.fix) is blames_grant
    if head is HEAD_403:  # how to let the console tell: read the objects, and list the bucket
        assert "s3:ListBucket" in found.fix and "s3:GetObject" in found.fix


def test_the_roundtrip_judge_says_the_same():
    missing = judge_roundtrip(recorded(HEAD_404, "other.png"))
    assert set(missing.codes) == {"cdn.read_failed", "cdn.object_missing"}
    assert "'other.png'" in missing.detail and "Build the key once" in missing.fix
    refused = judge_roundtrip(recorded(HEAD_OK))
    assert refused.codes == ("cdn.read_failed",) and "put-bucket-policy" in refused.fix


def test_an_anonymous_403_for_a_missing_object_proves_nothing():
    def direct(head: ConfigRead) -> Evidence:
        ev = recorded(head)
        anonymous = Exchange("GET", "https://b.s3.us-east-1.amazonaws.com/k.png", status=403, body=DENIED_BODY)
        return dataclasses.replace(ev, canary=dataclasses.replace(ev.canary, direct_s3=anonymous))

    assert judge_direct_s3_blocked(direct(HEAD_404)).codes == ("direct.not_stored",)
    assert judge_direct_s3_blocked(direct(HEAD_OK)).codes == ("direct.refused",)


@pytest.mark.parametrize(
    ("code", "status", "existence"),
    [
        ("404", 404, Existence.MISSING),
        ("NoSuchKey", 404, Existence.MISSING),
        ("403", 403, Existence.UNKNOWN),  # the console may not list either: S3 hides the missing key from it too
        ("AccessDenied", 403, Existence.UNKNOWN),
        ("InvalidAccessKeyId", 403, Existence.UNKNOWN),
        ("InternalError", 500, Existence.UNKNOWN),
    ],
)
def test_existence_of_a_failed_head(code, status, existence):
    assert existence_of(code, status) is existence


def test_explain_cdn_without_a_head_is_unchanged_and_other_statuses_ignore_it():
    assert "the key exists" in explain_cdn(403, "Error from cloudfront", None)
    assert explain_cdn(502, None, None, existence=Existence.MISSING, key="k.png") == explain_cdn(502, None, None)


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("http://pipeline-sandbox.s3.ap-northeast-2.localhost:9/canary/a%20b.png?X-Amz-Signature=x", "canary/a b.png"),
        ("https://b.s3.us-east-1.amazonaws.com/k.png", "k.png"),
        ("https://s3.us-east-1.amazonaws.com/b/dir/k.png", "dir/k.png"),
        ("https://cdn.example/k.png", None),
        ("https://b.s3.us-east-1.amazonaws.com/", None),
    ],
)
def test_url_key(url, key):
    assert s3endpoints.url_key(url) == key


@pytest.mark.parametrize(("url_key", "flagged"), [("k.png", False), ("other.png", True)])
def test_presign_contract_flags_a_reply_key_the_url_does_not_sign(url_key, flagged):
    body = json.dumps({"presignedUrl": SIGNED.format(key=url_key), "key": "k.png", "contentType": "image/png"})
    ev = Evidence(
        target=TARGET,
        gathered_at=datetime(2026, 12, 1, tzinfo=UTC),
        presign_ok=Exchange("GET", TARGET.presign_url, status=200, body=body),
    )
    found = judge_contract(ev)
    assert ("reply.key_not_url_key" in found.codes) is flagged
    if flagged:
        assert found.status == Status.FAIL and "'other.png'" in found.detail
