"""Applying a finding's fix from the console (issue #6): the remedy the judges build from the very document the fix
text shows, applied over the real sandbox (HTTP) only with writes on and the resource's name typed, refused before
any request otherwise, and the check run again for the new verdict.

Pure tier first (recorded evidence, no AWS): every remedy is its fix text's JSON, and applying it to the evidence
makes its check pass. Then the sandbox: each break switch, fixed by the service, and the switch turned off again
restores the sandbox exactly.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

import services.checks.remedy
from services.checks import bucket, remedy
from services.checks.evidence import Evidence
from services.checks.model import Finding, Remedy, Status
from services.checks.runner import run_checks
from services.core.clients import make_client
from services.core.settings import AwsTarget, Settings
from services.sandbox import Sandbox, layout
from tests import test_checks_bucket as recorded
from tests.test_checks_sandbox import fix_json

# --------------------------------------------------------------------------------------------------------------
# Pure: the remedy is the fix, and it fixes
# --------------------------------------------------------------------------------------------------------------


def remedy_document(found: Remedy) -> Any:
    """The document a remedy writes, as the fix text shows it (None for DeleteBucketPolicy: it writes none)."""
    params = found.params
    return {
        "PutBucketCors": lambda: params["CORSConfiguration"],
        "PutBucketPolicy": lambda: json.loads(params["Policy"]),
        "DeleteBucketPolicy": lambda: None,
        "PutPublicAccessBlock": lambda: params["PublicAccessBlockConfiguration"],
        "PutRolePolicy": lambda: json.loads(params["PolicyDocument"]),
    }[found.operation]()


def apply_to_evidence(ev: Evidence, found: Remedy) -> Evidence:
    """The evidence as it would be gathered after the remedy's call (S3's live answers re-derived)."""
    if found.operation == "PutBucketCors":
        rules = found.params["CORSConfiguration"]["CORSRules"]
        origins = tuple(ev.bucket_preflights) or recorded.ORIGINS
        ev = dataclasses.replace(
            ev,
            bucket_cors=recorded.ok("s3:GetBucketCors", rules),
            bucket_preflights=recorded.preflights(rules, origins),
        )
    elif found.operation == "PutBucketPolicy":
        ev = dataclasses.replace(ev, bucket_policy=recorded.ok("s3:GetBucketPolicy", found.params["Policy"]))
    elif found.operation == "DeleteBucketPolicy":
        ev = dataclasses.replace(ev, bucket_policy=recorded.missing("s3:GetBucketPolicy", "NoSuchBucketPolicy"))
    elif found.operation == "PutPublicAccessBlock":
        settings = found.params["PublicAccessBlockConfiguration"]
        ev = dataclasses.replace(ev, public_access_block=recorded.ok("s3:GetBucketPublicAccessBlock", settings))
    elif found.operation == "PutRolePolicy":
        name, document = found.params["PolicyName"], json.loads(found.params["PolicyDocument"])
        entries = [e for e in ev.role_policies.value if e["name"] != name] if ev.role_policies.value else []
        ev = dataclasses.replace(
            ev, role_policies=recorded.role_policies(*[(e["name"], e["document"]) for e in entries], (name, document))
        )
    return recorded._resimulate_direct_get(ev)


@pytest.mark.parametrize(
    ("name", "ev"), [(s[0], s[1]) for s in recorded.SCENARIOS], ids=[s[0] for s in recorded.SCENARIOS]
)
def test_every_remedy_is_its_fix_text_and_applying_it_makes_the_check_pass(name: str, ev: Evidence) -> None:
    for check_id, found in recorded.judge(ev).items():
        if found.remedy is None:
            continue
        assert found.status in (Status.FAIL, Status.WARN, Status.UNKNOWN), (check_id, found.status)
        document = remedy_document(found.remedy)
        if document is not None:
            assert fix_json(found.fix) == document, check_id  # one source: the text shows what the call writes
        assert found.remedy.operation.lower() in found.fix.replace("-", "").lower(), (check_id, found.fix)
        assert found.remedy.resource in (ev.target.bucket, "presign-role")
        assert found.remedy.summary.startswith(f"{found.remedy.operation} on {found.remedy.resource_kind} ")
        assert found.to_json()["remedy"]["params"] == json.loads(json.dumps(dict(found.remedy.params)))
        again = recorded.BY_ID[check_id].judge(apply_to_evidence(ev, found.remedy))
        assert again.status is Status.PASS, (name, check_id, found.remedy.summary, again.title, again.detail)


def test_the_seed_has_a_remedy_for_each_of_its_one_call_fixes() -> None:
    found = recorded.judge(recorded.SEED)
    operations = {i: f.remedy.operation for i, f in found.items() if f.remedy is not None}
    assert operations == {
        "bucket.cors": "PutBucketCors",
        "bucket.public_write": "PutBucketPolicy",
        "bucket.public_read": "PutBucketPolicy",
        "bucket.public_access_block": "PutPublicAccessBlock",
        "bucket.cdn_read_grant": "PutBucketPolicy",
        "lambda.role_put": "PutRolePolicy",
    }
    assert "removes statement(s) 'PublicReadWrite'" in found["bucket.public_write"].remedy.summary
    assert "adds statement(s) 'AllowCloudFrontServicePrincipal'" in found["bucket.public_write"].remedy.summary


@pytest.mark.parametrize(
    ("scenario", "check_id"),
    [
        ("legacy OAI grant, distribution still on OAI", "bucket.cdn_read_grant"),  # needs a CloudFront change first
        ("Lambda role: explicit Deny beats the Allow", "lambda.role_put"),  # remove a Deny, then maybe grant
        ("object public through an ACL: live 200, policy clean", "bucket.public_read"),  # a guess, two calls
        ("preflight to the wrong region", "bucket.cors_preflight"),  # addressing, not configuration
        ("AccessDenied on s3:GetBucketCors", "bucket.cors"),  # the console's own grant
    ],
)
def test_fixes_that_are_not_one_call_have_text_only(scenario: str, check_id: str) -> None:
    (ev,) = [s[1] for s in recorded.SCENARIOS if s[0] == scenario]
    found = recorded.judge(ev)[check_id]
    assert found.fix and found.status in (Status.FAIL, Status.WARN, Status.UNKNOWN)
    assert found.remedy is None and found.to_json()["remedy"] is None


def test_removing_the_only_statement_is_a_delete_bucket_policy_remedy() -> None:
    write_only = {**recorded.SEED_STATEMENT, "Action": "s3:PutObject"}
    ev = dataclasses.replace(recorded.SEED, bucket_policy=recorded.policy_read(recorded.doc(write_only)))
    found = bucket.judge_public_write(ev)
    assert found.status is Status.FAIL and "delete-bucket-policy" in found.fix
    assert found.remedy is not None and found.remedy.operation == "DeleteBucketPolicy"
    assert found.remedy.params == {"Bucket": recorded.B} and found.remedy.permission == "s3:DeleteBucketPolicy"
    assert bucket.judge_public_write(apply_to_evidence(ev, found.remedy)).status is Status.PASS


def test_a_public_read_grant_without_a_known_distribution_is_text_only() -> None:
    # removing the grant CloudFront may read through, with no OAC grant to put in its place, could cut the CDN off
    ev = dataclasses.replace(recorded.SEED, target=recorded.target(distribution_id=None), distribution=None)
    found = bucket.judge_public_read(ev)
    assert found.status is Status.FAIL and "add its OAC grant" in found.fix
    assert found.remedy is None


# --------------------------------------------------------------------------------------------------------------
# The sandbox: apply through the service, over HTTP
# --------------------------------------------------------------------------------------------------------------

ROLE = layout.PRESIGN_ROLE_NAME
READS = {
    "PutBucketCors": "GetBucketCors",
    "PutBucketPolicy": "GetBucketPolicy",
    "PutPublicAccessBlock": "GetPublicAccessBlock",
    "PutRolePolicy": "GetRolePolicy",
}
#: switch -> check -> the call its remedy makes
CASES = [
    ("bucket-cors-origin", "bucket.cors", "PutBucketCors"),
    ("bucket-cors-origin", "bucket.cors_preflight", "PutBucketCors"),
    ("cdn-grant-missing", "bucket.cdn_read_grant", "PutBucketPolicy"),
    ("cdn-grant-other-distribution", "bucket.cdn_read_grant", "PutBucketPolicy"),
    ("seed-public-policy", "bucket.public_write", "PutBucketPolicy"),
    ("seed-public-policy", "bucket.public_read", "PutBucketPolicy"),
    ("seed-public-policy", "bucket.public_access_block", "PutPublicAccessBlock"),
    ("lambda-role-no-put", "lambda.role_put", "PutRolePolicy"),
]


@pytest.fixture
def writable(sandbox_settings: Settings) -> Settings:
    return dataclasses.replace(sandbox_settings, allow_writes=True)


@pytest.fixture(scope="module")
def iam(sandbox: Sandbox) -> Any:
    return make_client("iam", sandbox.aws_target())


@dataclasses.dataclass
class Sent:
    """What the remedy service asked AWS: operations called, and HTTP requests that left (retries included)."""

    operations: list[str] = dataclasses.field(default_factory=list)
    requests: list[str] = dataclasses.field(default_factory=list)
    clients: list[str] = dataclasses.field(default_factory=list)

    @property
    def nothing(self) -> bool:
        return not (self.operations or self.requests or self.clients)


@pytest.fixture
def sent(monkeypatch) -> Iterator[Sent]:
    """Every AWS call the remedy service makes, counted on the clients its factory builds (botocore's events)."""
    seen = Sent()
    real = services.checks.remedy.make_client

    def counting(service: str, target: AwsTarget, **overrides: Any) -> Any:
        seen.clients.append(service)
        client = real(service, target, **overrides)
        client.meta.events.register("before-call", lambda model, **_: seen.operations.append(model.name))
        client.meta.events.register("before-send", lambda request, **_: seen.requests.append(request.method))
        return client

    monkeypatch.setattr(services.checks.remedy, "make_client", counting)
    yield seen


def sandbox_state(admin_s3: Any, iam: Any) -> dict[str, Any]:
    """What the switches govern and a remedy may write: CORS, bucket policy, Block Public Access, the role's policies."""

    def read(call: Any, field: str, **params: Any) -> Any:
        try:
            value = call(**params)[field]
        except ClientError as err:
            return err.response["Error"]["Code"]
        return json.loads(value) if isinstance(value, str) else value

    return {
        "cors": read(admin_s3.get_bucket_cors, "CORSRules", Bucket=layout.BUCKET),
        "policy": read(admin_s3.get_bucket_policy, "Policy", Bucket=layout.BUCKET),
        "block": read(admin_s3.get_public_access_block, "PublicAccessBlockConfiguration", Bucket=layout.BUCKET),
        "role_policies": read(iam.list_role_policies, "PolicyNames", RoleName=ROLE),
        "role_put": read(iam.get_role_policy, "PolicyDocument", RoleName=ROLE, PolicyName="presign-put"),
    }


def one(settings: Settings, check_id: str) -> Finding:
    (found,) = run_checks(settings, only=[check_id]).findings
    return found


@pytest.mark.parametrize(("name", "check_id", "operation"), CASES, ids=[f"{c[0]}:{c[1]}" for c in CASES])
def test_applying_the_remedy_fixes_the_sandbox_and_the_switch_still_restores_it(
    name, check_id, operation, sandbox, switch, writable, admin_s3, iam, sent
):
    healthy = sandbox_state(admin_s3, iam)
    switch(name)
    broken = sandbox_state(admin_s3, iam)
    assert broken != healthy
    before = one(writable, check_id)
    assert before.status is Status.FAIL and before.remedy is not None
    assert before.remedy.operation == operation
    assert fix_json(before.fix) == remedy_document(before.remedy)
    outcome = remedy.apply_fix(before, writable, confirm=before.remedy.resource)
    assert outcome.after.id == check_id and outcome.after.status is Status.PASS, outcome.after.detail
    assert outcome.passed and outcome.applied.http_status in (200, 204)
    assert f"Re-ran {check_id}: PASS" in outcome.text and before.remedy.summary in outcome.text
    assert sent.operations == [READS[operation], operation]  # one read of what it replaces, one write
    assert len(sent.requests) == 2
    assert sandbox_state(admin_s3, iam) != broken
    sandbox.set_switch(name, False)  # the switch restores the whole configuration, whatever the remedy wrote
    assert sandbox_state(admin_s3, iam) == healthy


def test_the_role_fix_lets_the_canary_upload_again(sandbox, switch, writable):
    switch("lambda-role-no-put")
    assert one(writable, "upload.roundtrip").status is Status.FAIL
    found = one(writable, "lambda.role_put")
    remedy.apply_fix(found, writable, confirm=ROLE)
    assert one(writable, "upload.roundtrip").status is Status.PASS


def test_the_seed_is_fixed_by_its_policy_remedy_then_its_block_public_access_remedy(sandbox, switch, writable):
    switch("seed-public-policy")
    remedy.apply_fix(one(writable, "bucket.public_write"), writable, confirm=layout.BUCKET)
    remedy.apply_fix(one(writable, "bucket.public_access_block"), writable, confirm=layout.BUCKET)
    found = run_checks(writable, only=["bucket", "cdn.direct_s3_blocked", "cdn.read"]).findings
    assert {f.id: f.status for f in found if f.status is not Status.PASS} == {}


def test_a_stale_remedy_is_refused_and_writes_nothing(sandbox, switch, writable, admin_s3, iam, sent):
    # two fixes for the same bucket policy, read in one run: the second, applied after the first, would put the
    # public statement back; it is refused because the policy is no longer the one it was computed from
    switch("seed-public-policy")
    write, grant = run_checks(writable, only=["bucket.public_write", "bucket.cdn_read_grant"]).findings
    assert write.remedy and grant.remedy and grant.status is Status.FAIL
    remedy.apply_fix(write, writable, confirm=layout.BUCKET)
    after_first = sandbox_state(admin_s3, iam)
    sent.operations.clear()
    with pytest.raises(remedy.RemedyStale, match="bucket policy of bucket 'pipeline-sandbox' changed"):
        remedy.apply_fix(grant, writable, confirm=layout.BUCKET)
    assert sent.operations == ["GetBucketPolicy"]  # read, compared, not written
    assert sandbox_state(admin_s3, iam) == after_first
    assert one(writable, "bucket.public_write").status is Status.PASS


@pytest.mark.parametrize(
    ("name", "check_id"), [("cdn-grant-missing", "bucket.cdn_read_grant"), ("lambda-role-no-put", "lambda.role_put")]
)
def test_with_writes_off_nothing_is_sent_and_nothing_changes(
    name, check_id, sandbox, switch, sandbox_settings, writable, admin_s3, iam, sent
):
    switch(name)
    found = one(writable, check_id)
    broken = sandbox_state(admin_s3, iam)
    assert not sandbox_settings.allow_writes
    with pytest.raises(remedy.WritesOff, match="PIPELINE_ALLOW_WRITES=true"):
        remedy.apply_remedy(found.remedy, sandbox_settings, confirm=found.remedy.resource)
    with pytest.raises(remedy.WritesOff):
        remedy.apply_fix(found, sandbox_settings, confirm=found.remedy.resource)
    assert sent.nothing
    assert sandbox_state(admin_s3, iam) == broken
    assert one(sandbox_settings, check_id).status is Status.FAIL


@pytest.mark.parametrize("typed", ["", None, "pipeline-sandbox ", "PIPELINE-SANDBOX", "pipeline", ROLE, "*"])
def test_a_wrong_confirmation_is_refused_before_any_request(typed, sandbox, switch, writable, admin_s3, iam, sent):
    switch("cdn-grant-missing")
    found = one(writable, "bucket.cdn_read_grant")
    broken = sandbox_state(admin_s3, iam)
    with pytest.raises(remedy.ConfirmationMismatch, match="type the bucket name 'pipeline-sandbox' exactly"):
        remedy.apply_fix(found, writable, confirm=typed)
    assert sent.nothing
    assert sandbox_state(admin_s3, iam) == broken


def test_the_role_remedy_wants_the_role_name_not_the_bucket(sandbox, switch, writable, sent):
    switch("lambda-role-no-put")
    found = one(writable, "lambda.role_put")
    assert found.remedy.resource == ROLE and found.remedy.resource_kind == "role"
    with pytest.raises(remedy.ConfirmationMismatch, match="role name 'presign-role'"):
        remedy.apply_fix(found, writable, confirm=layout.BUCKET)
    assert sent.nothing


def test_remedies_that_are_not_this_pipelines_or_not_a_known_call_are_refused_before_any_request(writable, sent):
    params = {"Bucket": "someone-elses-bucket", "Policy": "{}"}
    other = Remedy("s3", "PutBucketPolicy", params, "someone-elses-bucket", "bucket", "s3:PutBucketPolicy", "x")
    with pytest.raises(remedy.RemedyRefused, match="pointed at 'pipeline-sandbox'"):
        remedy.apply_remedy(other, writable, confirm="someone-elses-bucket")
    lying = dataclasses.replace(other, resource=layout.BUCKET)  # says it writes here, names another bucket
    with pytest.raises(remedy.RemedyRefused, match="writes to 'someone-elses-bucket'"):
        remedy.apply_remedy(lying, writable, confirm=layout.BUCKET)
    unknown = Remedy("s3", "DeleteBucket", {"Bucket": layout.BUCKET}, layout.BUCKET, "bucket", "s3:DeleteBucket", "x")
    with pytest.raises(remedy.RemedyRefused, match="not a call the console makes"):
        remedy.apply_remedy(unknown, writable, confirm=layout.BUCKET)
    with pytest.raises(remedy.RemedyRefused, match="no fix the console can apply"):
        remedy.apply_fix(Finding("cdn.config", Status.FAIL, "t", fix="aws cloudfront ..."), writable, confirm="x")
    assert sent.nothing


def test_access_denied_names_the_permission_the_console_lacks(sandbox, switch, writable, admin_s3, iam):
    switch("cdn-grant-missing")
    found = one(writable, "bucket.cdn_read_grant")
    # the presign function's role as the console's identity: S3 refuses it any bucket configuration call
    weak = dataclasses.replace(
        writable,
        aws=dataclasses.replace(
            writable.aws, access_key_id=layout.PRESIGN_ROLE_KEY, secret_access_key=layout.PRESIGN_ROLE_SECRET
        ),
    )
    broken = sandbox_state(admin_s3, iam)
    with pytest.raises(remedy.RemedyFailed) as refused:
        remedy.apply_fix(found, weak, confirm=layout.BUCKET)
    err = refused.value
    assert err.code == "AccessDenied" and err.http_status == 403
    # it is refused the read of the current policy first: the message names that action, and the grant
    assert str(err).startswith("The console's role lacks s3:GetBucketPolicy on arn:aws:s3:::pipeline-sandbox")
    assert '"Action": "s3:GetBucketPolicy"' in err.cause and "Nothing was changed" in err.cause
    assert sandbox_state(admin_s3, iam) == broken
    # a console that may read but not write (stubbed: the sandbox refuses non-admins both): s3:PutBucketPolicy
    s3 = make_client("s3", weak.aws)
    with Stubber(s3) as stub:
        stub.add_client_error("get_bucket_policy", "NoSuchBucketPolicy", "The bucket policy does not exist", 404)
        stub.add_client_error("put_bucket_policy", "AccessDenied", "Access Denied", 403)
        with pytest.raises(remedy.RemedyFailed, match="lacks s3:PutBucketPolicy on arn:aws:s3:::pipeline-sandbox"):
            remedy.apply_remedy(found.remedy, weak, confirm=layout.BUCKET, client=s3)


def test_a_document_aws_refuses_is_named_with_aws_message(sandbox, writable, admin_s3, iam):
    before = sandbox_state(admin_s3, iam)
    # IAM over HTTP: the sandbox's IAM answers MalformedPolicyDocument as AWS does
    current = iam.get_role_policy(RoleName=ROLE, PolicyName="presign-put")["PolicyDocument"]
    params = {"RoleName": ROLE, "PolicyName": "presign-put", "PolicyDocument": '{"Statement": nope'}
    bad = Remedy("iam", "PutRolePolicy", params, ROLE, "role", "iam:PutRolePolicy", "bad", current)
    with pytest.raises(remedy.RemedyFailed, match=r"AWS refused the document \(MalformedPolicyDocument\): Syntax"):
        remedy.apply_remedy(bad, writable, confirm=ROLE)
    assert sandbox_state(admin_s3, iam) == before
    # S3's MalformedPolicy (the sandbox's S3 takes any policy text, so AWS's answer is stubbed at the client)
    s3 = make_client("s3", writable.aws)
    policy_remedy = Remedy(
        "s3",
        "PutBucketPolicy",
        {"Bucket": layout.BUCKET, "Policy": "{}"},
        layout.BUCKET,
        "bucket",
        "s3:PutBucketPolicy",
        "x",
    )
    with Stubber(s3) as stub:
        stub.add_client_error("get_bucket_policy", "NoSuchBucketPolicy", "The bucket policy does not exist", 404)
        stub.add_client_error("put_bucket_policy", "MalformedPolicy", "Policy has invalid resource", 400)
        with pytest.raises(remedy.RemedyFailed, match=r"\(MalformedPolicy\): Policy has invalid resource") as refused:
            remedy.apply_remedy(policy_remedy, writable, confirm=layout.BUCKET, client=s3)
    assert refused.value.http_status == 400 and refused.value.permission == "s3:PutBucketPolicy"


def test_on_a_production_profile_a_fix_also_wants_the_profile_name_and_without_it_sends_nothing(
    sandbox, switch, writable, admin_s3, iam, sent
):
    production = dataclasses.replace(writable, profile="live", production=True)
    switch("cdn-grant-missing")
    found = one(production, "bucket.cdn_read_grant")
    broken = sandbox_state(admin_s3, iam)
    for typed in (None, "", "Live", "sandbox", layout.BUCKET):
        with pytest.raises(remedy.ConfirmationMismatch, match="'live' is a production profile; type its name"):
            remedy.apply_fix(found, production, confirm=layout.BUCKET, confirm_profile=typed)
    with pytest.raises(remedy.ConfirmationMismatch, match="bucket name 'pipeline-sandbox'"):
        remedy.apply_fix(found, production, confirm="pipeline", confirm_profile="live")  # both names, each right
    assert sent.nothing
    assert sandbox_state(admin_s3, iam) == broken
    done = remedy.apply_fix(found, production, confirm=layout.BUCKET, confirm_profile="live")
    assert done.passed and sent.operations[-1] == "PutBucketPolicy"
