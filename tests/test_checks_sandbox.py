"""The whole check suite against the running sandbox over HTTP: healthy, under each break switch, and fixed."""

from __future__ import annotations

import dataclasses
import json

import pytest

from services.checks.gather import Clients, gather_stored_sample
from services.checks.model import Status
from services.checks.runner import CHECK_IDS, run_checks
from services.core.settings import AwsTarget
from services.pipeline.images import MIME_BY_EXTENSION
from services.sandbox import layout
from tests.support import HEALTHY_WARNINGS, cli

#: switch -> the checks that must fail under it
EXPECTED_FAILURES = {
    "bucket-cors-origin": {"bucket.cors", "bucket.cors_preflight"},
    "api-cors-header": {"presign.cors"},
    "content-type-mismatch": {"upload.content_type", "upload.roundtrip"},
    "lambda-role-no-put": {"lambda.role_put", "upload.roundtrip"},
    "cdn-grant-missing": {"bucket.cdn_read_grant", "cdn.read"},
    "cdn-grant-other-distribution": {"bucket.cdn_read_grant", "cdn.read"},
    "seed-public-policy": {
        "bucket.public_write",
        "bucket.public_read",
        "bucket.public_access_block",
        "cdn.direct_s3_blocked",
    },
    "urls-expire": {"upload.roundtrip", "upload.url_lifetime"},
    "stored-as-application": {"upload.stored_type"},
    "function-signs-acl": {"bucket.ownership", "upload.roundtrip"},
    "function-signs-cache-control": {"presign.url", "upload.roundtrip"},
    "function-wrong-region": {"presign.url", "upload.roundtrip"},
    "function-global-endpoint": {"presign.url", "upload.roundtrip"},
    "function-hands-out-post": {"bucket.cors"},
    "reply-key-mismatch": {"presign.contract", "upload.roundtrip", "cdn.read"},
}
#: switch -> the checks that must warn under it (speed: slower or costlier, never a failure)
EXPECTED_WARNINGS = {"cdn-short-ttl": {"cdn.config"}, "function-adds-query-checksums": {"presign.url"}}
#: switch -> (check, the cause code its finding must carry): what each switch breaks, keyed by code
EXPECTED_CODES = {
    "bucket-cors-origin": {("bucket.cors", "cors.origin_missing"), ("bucket.cors_preflight", "preflight.refused")},
    "api-cors-header": {("presign.cors", "cors.preflight_refused")},
    "content-type-mismatch": {("upload.content_type", "type.client_mismatch")},
    "lambda-role-no-put": {("lambda.role_put", "role.no_allow"), ("upload.roundtrip", "put.access_denied")},
    "cdn-grant-missing": {("bucket.cdn_read_grant", "grant.no_policy"), ("cdn.read", "cdn.forbidden")},
    "cdn-grant-other-distribution": {("bucket.cdn_read_grant", "grant.other_distribution")},
    "seed-public-policy": {
        ("bucket.public_write", "public_write.public_put"),
        ("bucket.public_access_block", "bpa.not_configured"),
    },
    "urls-expire": {("upload.roundtrip", "put.expired"), ("upload.url_lifetime", "lifetime.too_short")},
    "cdn-short-ttl": {("cdn.config", "config.short_ttl")},
    "stored-as-application": {("upload.stored_type", "stored.as_application")},
    "function-signs-acl": {
        ("bucket.ownership", "ownership.acl_refused"),
        ("upload.roundtrip", "put.signature_mismatch"),
    },
    "function-signs-cache-control": {
        ("presign.url", "url.signed_header_not_sent"),
        ("upload.roundtrip", "put.signature_mismatch"),
        ("upload.content_type", "type.other_header_unsent"),
    },
    "function-adds-query-checksums": {("presign.url", "url.checksum_in_query")},
    "function-wrong-region": {("presign.url", "url.scope_region_mismatch"), ("upload.roundtrip", "put.refused")},
    "function-global-endpoint": {("presign.url", "url.legacy_global_endpoint"), ("upload.roundtrip", "put.refused")},
    "function-hands-out-post": {("bucket.cors", "cors.method_missing"), ("presign.size_limit", "size.limited")},
    "reply-key-mismatch": {
        ("presign.contract", "reply.key_not_url_key"),
        ("upload.roundtrip", "cdn.object_missing"),
        ("cdn.read", "cdn.object_missing"),
        ("cdn.read", "cdn.key_not_signed"),
    },
}


def statuses(report) -> dict[str, Status]:
    return {finding.id: finding.status for finding in report.findings}


def fix_json(fix: str):
    """The first JSON document in a finding's fix text (the exact configuration to apply)."""
    start = min(i for i in (fix.find("{"), fix.find("[")) if i >= 0)
    return json.JSONDecoder().raw_decode(fix[start:])[0]


def restore_image_types(s3) -> None:
    """upload.stored_type's re-copy: the newest objects stored as application/* (as the seed's client does)
    re-copied with their image type."""
    read = gather_stored_sample(Clients(s3=s3, iam=None, lambda_=None, cloudfront=None), layout.BUCKET)
    for row in read.value:
        if not str(row["content_type"] or "").startswith("image/"):
            key = row["key"]
            s3.copy_object(
                Bucket=layout.BUCKET,
                Key=key,
                CopySource={"Bucket": layout.BUCKET, "Key": key},
                MetadataDirective="REPLACE",
                ContentType=MIME_BY_EXTENSION[key.rsplit(".", 1)[-1].lower()],
            )


def test_the_healthy_sandbox_passes_every_check(sandbox, sandbox_settings):
    report = run_checks(sandbox_settings)
    assert set(statuses(report)) == set(CHECK_IDS)
    not_passed = {f.id: f.status for f in report.findings if f.status not in (Status.PASS, Status.SKIP)}
    assert not_passed == HEALTHY_WARNINGS, {f.id: f.title for f in report.findings if f.id in not_passed}
    assert not report.failed


@pytest.mark.parametrize("name", sorted([*EXPECTED_FAILURES, *EXPECTED_WARNINGS]))
def test_each_break_switch_is_caught_by_the_right_checks(name, sandbox, switch, sandbox_settings, s3):
    switch(name)
    sandbox.invalidate(["/*"])
    report = run_checks(sandbox_settings)
    status = Status.FAIL if name in EXPECTED_FAILURES else Status.WARN
    expected = EXPECTED_FAILURES.get(name) or EXPECTED_WARNINGS[name]
    caught = {f.id for f in report.findings if f.status == status}
    assert expected <= caught, {f.id: f.title for f in report.findings if f.status != Status.PASS}
    for finding in report.findings:
        if finding.id in expected:
            assert finding.detail and finding.fix, finding.id
    carried = {(f.id, code) for f in report.findings for code in f.codes}
    assert EXPECTED_CODES[name] <= carried, sorted(c for c in carried if not c[1].endswith(("ok", "allowed")))
    sandbox.set_switch(name, False)
    sandbox.invalidate(["/*"])
    if name == "stored-as-application":  # new uploads pass; the objects stored meanwhile are named until re-copied
        (after,) = run_checks(sandbox_settings, only=["upload.stored_type"]).findings
        assert after.status == Status.PASS and "still carry application/*" in after.detail, after
        restore_image_types(s3)
    again = run_checks(sandbox_settings, only=sorted(expected))
    assert {f.status for f in again.findings} <= {Status.PASS, Status.SKIP}, [(f.id, f.title) for f in again.findings]


def test_applying_the_cors_fix_makes_the_check_pass(sandbox, switch, sandbox_settings, admin_s3):
    switch("bucket-cors-origin")
    (finding,) = run_checks(sandbox_settings, only=["bucket.cors"]).findings
    assert finding.status == Status.FAIL and layout.APP_ORIGIN in finding.detail
    admin_s3.put_bucket_cors(Bucket=layout.BUCKET, CORSConfiguration=fix_json(finding.fix))
    report = run_checks(sandbox_settings, only=["bucket.cors", "bucket.cors_preflight"])
    assert set(statuses(report).values()) == {Status.PASS}


@pytest.mark.parametrize(
    ("name", "check"),
    [
        ("cdn-grant-missing", "bucket.cdn_read_grant"),
        ("cdn-grant-other-distribution", "bucket.cdn_read_grant"),
        ("seed-public-policy", "bucket.public_write"),
    ],
)
def test_applying_the_policy_fix_makes_the_check_pass(name, check, sandbox, switch, sandbox_settings, admin_s3):
    switch(name)
    (finding,) = run_checks(sandbox_settings, only=[check]).findings
    assert finding.status == Status.FAIL
    admin_s3.put_bucket_policy(Bucket=layout.BUCKET, Policy=json.dumps(fix_json(finding.fix)))
    assert run_checks(sandbox_settings, only=[check]).findings[0].status == Status.PASS


def test_applying_the_role_fix_makes_the_check_pass(sandbox, switch, sandbox_settings):
    from services.core.clients import make_client

    switch("lambda-role-no-put")
    (finding,) = run_checks(sandbox_settings, only=["lambda.role_put"]).findings
    assert finding.status == Status.FAIL and layout.PRESIGN_ROLE_ARN in finding.detail
    assert "aws iam put-role-policy" in finding.fix
    make_client("iam", sandbox.aws_target()).put_role_policy(
        RoleName=layout.PRESIGN_ROLE_NAME, PolicyName="presign-put", PolicyDocument=json.dumps(fix_json(finding.fix))
    )
    report = run_checks(sandbox_settings, only=["lambda.role_put", "upload.roundtrip"])
    assert set(statuses(report).values()) == {Status.PASS}


def test_denied_configuration_reads_are_unknown_never_a_verdict(sandbox_settings):
    # the presign role may PUT objects but not read the bucket's or the distribution's configuration
    weak = dataclasses.replace(
        sandbox_settings,
        aws=AwsTarget(
            region=layout.REGION,
            endpoint_url=sandbox_settings.aws.endpoint_url,
            access_key_id=layout.PRESIGN_ROLE_KEY,
            secret_access_key=layout.PRESIGN_ROLE_SECRET,
        ),
    )
    found = statuses(run_checks(weak, only=["bucket.cors", "bucket.public_access_block", "bucket.public_write"]))
    assert found == {
        "bucket.cors": Status.UNKNOWN,
        "bucket.public_access_block": Status.UNKNOWN,
        "bucket.public_write": Status.UNKNOWN,
    }


def test_cli_check_json_and_exit_codes(sandbox_env, switch):
    healthy = cli("check", "--json", env=sandbox_env)
    assert healthy.returncode == 0, healthy.stdout[-2000:]
    doc = json.loads(healthy.stdout)
    assert set(doc) >= {"target", "findings"} and doc["target"]["bucket"] == layout.BUCKET
    assert {f["id"] for f in doc["findings"]} == set(CHECK_IDS)
    assert all({"id", "status", "title", "detail", "fix", "evidence", "remedy"} <= set(f) for f in doc["findings"])
    assert {f["remedy"] is None for f in doc["findings"]} == {True}  # healthy: nothing to apply
    assert "X-Amz-Signature=" not in healthy.stdout.replace("X-Amz-Signature=REDACTED", "")
    switch("lambda-role-no-put")
    broken = cli("check", "--only", "lambda.role_put", env=sandbox_env)
    assert broken.returncode == 1 and "FAIL" in broken.stdout and "lambda.role_put" in broken.stdout
    assert "aws iam put-role-policy" in broken.stdout
    assert f"--apply lambda.role_put --confirm {layout.PRESIGN_ROLE_NAME}" in broken.stdout
    unknown = cli("check", "--only", "no.such.check", env=sandbox_env)
    assert unknown.returncode == 2 and "unknown check id" in unknown.stderr


def test_the_seeds_client_uploads_on_the_default_sandbox_and_stored_type_names_its_objects(sandbox_settings):
    # The seed's web app sends application/<ext> on the presign request and the PUT; the shipped function signs it.
    seed_like = dataclasses.replace(sandbox_settings, client_content_type="application/{ext}")

    report = run_checks(seed_like, only=["upload"])

    by_id = {finding.id: finding for finding in report.findings}
    assert by_id["upload.roundtrip"].status == Status.PASS, by_id["upload.roundtrip"].detail
    assert by_id["upload.content_type"].status == Status.PASS
    stored = by_id["upload.stored_type"]
    assert stored.status == Status.FAIL and "application/png" in stored.title
    assert "still carry application/*" in stored.detail  # the canary itself is among the newest objects sampled
    assert "Content-Type: image/<ext> on both the presign request and the PUT" in stored.fix
