"""Object Ownership: a bucket with ACLs disabled (BucketOwnerEnforced, S3's default since April 2023) and a function
that signs an ACL. Over HTTP against the sandbox (switch ``function-signs-acl``), and the judge over recorded reads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests

from services.checks.evidence import Canary, CheckTarget, Evidence
from services.checks.model import ConfigRead, Exchange, ReadState, Status
from services.checks.ownership import judge_ownership
from services.checks.runner import run_checks
from services.core.transport import new_session
from services.pipeline.upload import UploadInput, upload_one
from services.sandbox import layout
from tests.support import image_bytes


def grant(sandbox) -> dict:
    reply = requests.get(
        sandbox.endpoints.presign, headers={"x-extension": "png", "Content-Type": "image/png"}, timeout=10
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


def s3_error(reply: requests.Response) -> tuple[str, str]:
    code = reply.text.split("<Code>", 1)[1].split("</Code>", 1)[0]
    message = reply.text.split("<Message>", 1)[1].split("</Message>", 1)[0]
    return code, message


def test_the_sandbox_bucket_has_acls_disabled(s3):
    controls = s3.get_bucket_ownership_controls(Bucket=layout.BUCKET)["OwnershipControls"]
    assert controls["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]


def test_a_signed_acl_is_refused_as_s3_refuses_it(sandbox, switch, bucket_keys):
    switch("function-signs-acl")
    before = bucket_keys()
    doc = grant(sandbox)
    assert "x-amz-acl" in doc["presignedUrl"].split("X-Amz-SignedHeaders=", 1)[1].split("&", 1)[0]

    sent = requests.put(
        doc["presignedUrl"],
        data=image_bytes(),
        headers={"Content-Type": "image/png", "x-amz-acl": "public-read"},
        timeout=10,
    )
    unsent = requests.put(doc["presignedUrl"], data=image_bytes(), headers={"Content-Type": "image/png"}, timeout=10)

    assert sent.status_code == 400
    assert s3_error(sent) == ("AccessControlListNotSupported", "The bucket does not allow ACLs")
    assert unsent.status_code == 403 and s3_error(unsent)[0] == "SignatureDoesNotMatch"
    assert bucket_keys() == before


def test_bucket_owner_full_control_is_the_one_acl_accepted(s3):
    key = "ownership-probe.png"
    url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": layout.BUCKET, "Key": key, "ACL": "bucket-owner-full-control"}, ExpiresIn=60
    )
    ok = requests.put(url, data=b"x", headers={"x-amz-acl": "bucket-owner-full-control"}, timeout=10)
    assert ok.status_code == 200, ok.text
    refused = s3.generate_presigned_url(
        "put_object", Params={"Bucket": layout.BUCKET, "Key": key, "ACL": "private"}, ExpiresIn=60
    )
    no = requests.put(refused, data=b"x", headers={"x-amz-acl": "private"}, timeout=10)
    assert no.status_code == 400 and s3_error(no)[0] == "AccessControlListNotSupported"


def test_the_check_fails_naming_the_signed_acl_then_passes_when_it_is_gone(sandbox, switch, sandbox_settings):
    switch("function-signs-acl")

    (finding,) = run_checks(sandbox_settings, only=["bucket.ownership"]).findings

    assert finding.status == Status.FAIL and "public-read" in finding.title
    assert "BucketOwnerEnforced" in finding.detail and "AccessControlListNotSupported" in finding.detail
    assert 'with no "ACL"' in finding.fix
    sandbox.set_switch("function-signs-acl", False)
    assert run_checks(sandbox_settings, only=["bucket.ownership"]).findings[0].status == Status.PASS


def test_the_upload_trace_names_the_signed_acl(sandbox_settings, switch):
    switch("function-signs-acl")

    with new_session() as session:
        result = upload_one(UploadInput("photo.png", image_bytes()), sandbox_settings, session)

    step = result.failed_step
    assert (step.name, step.http_status, step.code) == ("put", 403, "SignatureDoesNotMatch")
    assert "The URL also signs x-amz-acl" in step.cause
    assert "AccessControlListNotSupported" in step.cause and "BucketOwnerEnforced" in step.cause


TARGET = CheckTarget(presign_url="https://api.example/presign", bucket="b", cdn_url="https://cdn.example", region=None)
URL = "https://b.s3.us-east-1.amazonaws.com/k.png?X-Amz-SignedHeaders=content-type%3Bhost%3Bx-amz-acl&X-Amz-Signature=x"


def evidence(ownership: ConfigRead | None, canary: Canary | None = None) -> Evidence:
    return Evidence(
        target=TARGET, gathered_at=datetime(2024, 5, 1, tzinfo=UTC), ownership_controls=ownership, canary=canary
    )


def canary_signing(url: str, tries: dict[str, Exchange] | None = None) -> Canary:
    presign = Exchange("GET", TARGET.presign_url, status=200, body=f'{{"presignedUrl": "{url}", "key": "k.png"}}')
    return Canary(presign=presign, key="k.png", acl_tries=tries or {})


ENFORCED = ConfigRead("s3:GetBucketOwnershipControls", ReadState.OK, "BucketOwnerEnforced")
MISMATCH = Exchange("PUT", URL, status=403, body="<Error><Code>SignatureDoesNotMatch</Code></Error>")


@pytest.mark.parametrize(
    ("ev", "status", "phrase"),
    [
        (
            evidence(ConfigRead("s3:GetBucketOwnershipControls", ReadState.OK, "ObjectWriter")),
            Status.PASS,
            "accepts ACLs",
        ),
        (
            evidence(
                ConfigRead("s3:GetBucketOwnershipControls", ReadState.MISSING, None, "OwnershipControlsNotFoundError")
            ),
            Status.PASS,
            "no ownership controls",
        ),
        (
            evidence(
                ConfigRead("s3:GetBucketOwnershipControls", ReadState.DENIED, None, "AccessDenied", "Access Denied")
            ),
            Status.UNKNOWN,
            "s3:GetBucketOwnershipControls",
        ),
        (evidence(ENFORCED), Status.UNKNOWN, "was not seen"),
        (evidence(ENFORCED, canary_signing(URL.replace("%3Bx-amz-acl", ""))), Status.PASS, "signs none"),
        (
            evidence(ENFORCED, canary_signing(URL, {"bucket-owner-full-control": Exchange("PUT", URL, status=200)})),
            Status.PASS,
            "bucket-owner-full-control",
        ),
        (
            evidence(
                ENFORCED,
                canary_signing(
                    URL,
                    {
                        "bucket-owner-full-control": MISMATCH,
                        "public-read": Exchange(
                            "PUT",
                            URL,
                            status=400,
                            body="<Error><Code>AccessControlListNotSupported</Code><Message>The bucket does not allow ACLs</Message></Error>",
                        ),
                    },
                ),
            ),
            Status.FAIL,
            "signs ACL public-read",
        ),
        (evidence(ENFORCED, canary_signing(URL, {"public-read": MISMATCH})), Status.FAIL, "signs an ACL"),
    ],
    ids=[
        "object-writer",
        "no-controls",
        "denied",
        "no-canary",
        "no-acl",
        "owner-full-control",
        "public-read",
        "unmatched",
    ],
)
def test_the_judge(ev, status, phrase):
    finding = judge_ownership(ev)

    assert finding.status == status, finding
    assert phrase in f"{finding.title} {finding.detail} {finding.fix}"
    assert bool(finding.fix) == (status in (Status.FAIL, Status.UNKNOWN) and "was not seen" not in finding.title)
