"""Every AWS read the console makes, refused: the checks that needed it answer unknown, naming the exact IAM action
the console's identity lacks, with the statement that grants it; nothing else changes.

Over the real sandbox (HTTP): the presign endpoint, the canary, the CDN and every other read are real. One read at a
time is refused by error injection at the wire (botocore's ``before-send``: the HTTP reply AWS sends a caller
lacking the action, in that service's own error format, parsed by botocore as any reply is). The sandbox also
refuses for real: the presign function's role, used as the console's identity, may not read the bucket's
configuration or HEAD objects, and S3 answers it 403 AccessDenied.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from services.checks.denied import grant_fix, required_action
from services.checks.gather import Clients
from services.checks.model import ConfigRead, Finding, ReadState, Status
from services.checks.runner import CHECK_IDS, run_checks
from services.core.clients import make_client
from services.core.settings import AwsTarget, Settings
from services.sandbox import layout
from tests.support import HEALTHY_WARNINGS

CONSOLE = f"arn:aws:sts::{layout.ACCOUNT_ID}:assumed-role/pipeline-console/streamlit"
REQUEST_ID = "4442587FB7D0A2F9"


@dataclass(frozen=True)
class Refusal:
    """One read, refused: the botocore operation, the IAM action it needs, and the checks that must turn unknown."""

    service: str  # boto3 service name
    operation: str  # botocore operation name
    action: str  # the IAM action the console's identity lacks
    unknown: frozenset[str]  # on the healthy sandbox
    resource: str  # the ARN the grant must name (as AWS says in its message, or as the console knows it)

    @property
    def id(self) -> str:
        return f"{self.service}:{self.operation}"


def _message(action: str, resource: str) -> str:
    return (
        f"User: {CONSOLE} is not authorized to perform: {action} on resource: {resource} because no "
        f"identity-based policy allows the {action} action"
    )


def wire_reply(refusal: Refusal) -> tuple[int, dict[str, str], bytes]:
    """What AWS sends a caller lacking the action, in the service's own protocol."""
    said = refusal.resource
    if refusal.service == "iam" and ":role/" in said:  # IAM names a role as "role <name>", not by its ARN
        said = "role " + said.rsplit("/", 1)[-1]
    message = _message(refusal.action, said)
    if refusal.operation == "HeadObject":  # HEAD: no body, botocore's code is the status
        return 403, {"x-amz-request-id": REQUEST_ID}, b""
    if refusal.service == "s3":  # rest-xml, a bare <Error>
        body = f"<?xml version='1.0' encoding='UTF-8'?>\n<Error><Code>AccessDenied</Code><Message>{message}</Message>"
        body += f"<RequestId>{REQUEST_ID}</RequestId><HostId>aG9zdA==</HostId></Error>"
        return 403, {"Content-Type": "application/xml", "x-amz-request-id": REQUEST_ID}, body.encode()
    if refusal.service == "kms":  # json 1.1: the code is the body's __type
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": REQUEST_ID}
        return 400, headers, json.dumps({"__type": "AccessDeniedException", "message": message}).encode()
    if refusal.service == "lambda":  # rest-json: the code is in a header
        headers = {
            "Content-Type": "application/json",
            "x-amzn-ErrorType": "AccessDeniedException",
            "x-amzn-RequestId": REQUEST_ID,
        }
        return 403, headers, json.dumps({"Type": "User", "Message": message}).encode()
    namespace = (
        ' xmlns="https://iam.amazonaws.com/doc/2010-05-08/"'
        if refusal.service == "iam"
        else ' xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"'
    )  # iam: query; cloudfront: rest-xml; both wrap the error in <ErrorResponse>
    body = (
        f"<ErrorResponse{namespace}><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>{message}</Message>"
        f"</Error><RequestId>{REQUEST_ID}</RequestId></ErrorResponse>"
    )
    return 403, {"Content-Type": "text/xml", "x-amzn-RequestId": REQUEST_ID}, body.encode()


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def refuse(client: Any, refusal: Refusal) -> list[str]:
    """Make ``client`` get AWS's refusal for ``refusal.operation`` (every other call goes out for real).
    Returns the URLs it refused, to prove the read was made."""
    refused: list[str] = []
    status, headers, body = wire_reply(refusal)

    def send(request: Any, **_: Any) -> AWSResponse:
        refused.append(request.url)
        return AWSResponse(request.url, status, headers, _Body(body))

    event = f"before-send.{client.meta.service_model.service_id.hyphenize()}.{refusal.operation}"
    client.meta.events.register_first(event, send)
    return refused


BUCKET_ARN = f"arn:aws:s3:::{layout.BUCKET}"
ROLE_ARN = layout.PRESIGN_ROLE_ARN
DISTRIBUTION_ARN = layout.distribution_arn()
POLICY_READERS = frozenset({"bucket.public_write", "bucket.public_read", "bucket.cdn_read_grant", "lambda.role_put"})
KMS_READERS = frozenset({"bucket.encryption", "bucket.cdn_kms_grant"})
REFUSALS = (
    Refusal("s3", "GetBucketCors", "s3:GetBucketCors", frozenset({"bucket.cors"}), BUCKET_ARN),
    Refusal("s3", "GetBucketEncryption", "s3:GetEncryptionConfiguration", KMS_READERS, BUCKET_ARN),
    Refusal("s3", "GetBucketPolicy", "s3:GetBucketPolicy", POLICY_READERS, BUCKET_ARN),
    Refusal(
        "s3",
        "GetPublicAccessBlock",
        "s3:GetBucketPublicAccessBlock",
        frozenset({"bucket.public_access_block"}),
        BUCKET_ARN,
    ),
    # HEAD has no body to name anything: the console maps HeadObject to s3:GetObject on the bucket's objects
    Refusal("s3", "HeadObject", "s3:GetObject", frozenset({"upload.stored_type"}), f"{BUCKET_ARN}/*"),
    Refusal(
        "lambda",
        "GetFunctionConfiguration",
        "lambda:GetFunctionConfiguration",
        frozenset({"lambda.role_put"}),
        f"arn:aws:lambda:{layout.REGION}:{layout.ACCOUNT_ID}:function:{layout.LAMBDA_FUNCTION}",
    ),
    Refusal("iam", "ListRolePolicies", "iam:ListRolePolicies", frozenset({"lambda.role_put"}), ROLE_ARN),
    Refusal("iam", "GetRolePolicy", "iam:GetRolePolicy", frozenset({"lambda.role_put"}), ROLE_ARN),
    Refusal(
        "iam", "ListAttachedRolePolicies", "iam:ListAttachedRolePolicies", frozenset({"lambda.role_put"}), ROLE_ARN
    ),
    Refusal("iam", "GetPolicy", "iam:GetPolicy", frozenset({"lambda.role_put"}), "MANAGED_POLICY"),
    Refusal("iam", "GetPolicyVersion", "iam:GetPolicyVersion", frozenset({"lambda.role_put"}), "MANAGED_POLICY"),
    # bucket.cdn_read_grant stays judged: the bucket policy's AWS:SourceArn names this distribution id (ids are
    # global), so the grant is matched without reading the distribution
    Refusal(
        "cloudfront",
        "GetDistribution",
        "cloudfront:GetDistribution",
        frozenset({"cdn.config", "cdn.compression", "cdn.cors"}),
        DISTRIBUTION_ARN,
    ),
    # the OAC document is evidence only: no verdict rests on it, so nothing turns unknown; cdn.config says so
    Refusal(
        "cloudfront",
        "GetOriginAccessControl",
        "cloudfront:GetOriginAccessControl",
        frozenset(),
        f"arn:aws:cloudfront::{layout.ACCOUNT_ID}:origin-access-control/OAC",
    ),
)
#: reads made only when the bucket encrypts with a customer managed KMS key (a KMS switch on)
KMS_REFUSALS = (Refusal("kms", "GetKeyPolicy", "kms:GetKeyPolicy", KMS_READERS, layout.KMS_KEY_ARN),)
CLIENT_FIELD = {"s3": "s3", "iam": "iam", "lambda": "lambda_", "cloudfront": "cloudfront", "kms": "kms"}
MANAGED_POLICY_NAME = "presign-logs-test"


@pytest.fixture(scope="module")
def managed_policy(sandbox) -> Iterator[str]:
    """A managed policy attached to the presign role, so iam:GetPolicy / iam:GetPolicyVersion are read too."""
    iam = make_client("iam", sandbox.aws_target())
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"}],
    }
    arn = iam.create_policy(PolicyName=MANAGED_POLICY_NAME, PolicyDocument=json.dumps(document))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=layout.PRESIGN_ROLE_NAME, PolicyArn=arn)
    try:
        yield arn
    finally:
        iam.detach_role_policy(RoleName=layout.PRESIGN_ROLE_NAME, PolicyArn=arn)
        iam.delete_policy(PolicyArn=arn)


def statuses(findings: tuple[Finding, ...]) -> dict[str, Status]:
    return {finding.id: finding.status for finding in findings}


def granted_statement(fix: str) -> dict[str, Any]:
    """The one statement of the IAM policy a denial's fix grants (the first JSON document in it)."""
    start = fix.index("{")
    document = json.JSONDecoder().raw_decode(fix[start:])[0]
    (statement,) = document["Statement"]
    return statement


def assert_names_the_grant(finding: Finding, action: str, resource: str | None = None) -> None:
    text = f"{finding.id}: {finding.title}\n{finding.detail}\n{finding.fix}"
    assert finding.status is Status.UNKNOWN, text
    assert f"The console's role lacks {action}" in finding.title, text
    assert f"lacks {action}" in finding.detail and "not a verdict" in finding.detail, text
    statement = granted_statement(finding.fix)
    assert statement["Effect"] == "Allow" and statement["Action"] == action, text
    if resource is not None:
        assert statement["Resource"] == resource, text
    assert re.search(r"^aws iam put-(role|user)-policy ", finding.fix, re.M), text


def run_refusing(settings: Settings, refusal: Refusal) -> tuple[tuple[Finding, ...], list[str]]:
    clients = Clients.for_settings(settings)
    refused = refuse(getattr(clients, CLIENT_FIELD[refusal.service]), refusal)
    report = run_checks(settings, clients=clients)
    return report.findings, refused


def every_check(sandbox) -> Settings:
    """The sandbox's settings with every check applicable: cdn.cors judges only a web app reading cross-origin."""
    return dataclasses.replace(sandbox.settings(), app_reads_cross_origin=True)


@pytest.fixture(scope="module")
def healthy(sandbox, managed_policy) -> dict[str, Status]:
    found = statuses(run_checks(every_check(sandbox)).findings)
    not_passed = {check: status for check, status in found.items() if status not in (Status.PASS, Status.SKIP)}
    assert set(found) == set(CHECK_IDS) and not_passed == HEALTHY_WARNINGS, found
    return found


@pytest.mark.parametrize("refusal", REFUSALS, ids=[r.id for r in REFUSALS])
def test_each_refused_read_turns_exactly_its_checks_unknown(refusal, sandbox, healthy, managed_policy):
    resource = managed_policy if refusal.resource == "MANAGED_POLICY" else refusal.resource
    refusal = dataclasses.replace(refusal, resource=resource)
    findings, refused = run_refusing(every_check(sandbox), refusal)
    assert refused, f"{refusal.id} was never called: the test proves nothing"
    found = statuses(findings)
    changed = {cid: status for cid, status in found.items() if status is not healthy[cid]}
    # a denial never becomes pass or fail: the checks needing the read are unknown, every other check unchanged
    assert changed == dict.fromkeys(refusal.unknown, Status.UNKNOWN), {
        f.id: f.title for f in findings if f.id in changed or f.id in refusal.unknown
    }
    for finding in findings:
        if finding.id in refusal.unknown:
            assert_names_the_grant(finding, refusal.action, resource)
    if refusal.operation == "GetOriginAccessControl":
        (config,) = [f for f in findings if f.id == "cdn.config"]
        assert "lacks cloudfront:GetOriginAccessControl" in config.detail


#: under a break switch the verdicts a denial must not fake are fail ones: (switch, refused operation) -> the checks
#: that turn unknown; every other check keeps its verdict (a live observation such as an anonymous GET answering 200
#: stays a failure: it does not rest on the refused read)
BROKEN = {
    ("seed-public-policy", "GetPublicAccessBlock"): {"bucket.public_access_block", "bucket.public_write"},
    ("seed-public-policy", "GetBucketPolicy"): {"bucket.public_write", "bucket.cdn_read_grant", "lambda.role_put"},
    ("lambda-role-no-put", "GetBucketPolicy"): POLICY_READERS,
    ("lambda-role-no-put", "GetRolePolicy"): {"lambda.role_put"},
    ("cdn-grant-missing", "GetBucketPolicy"): POLICY_READERS,
    ("kms-cdn-no-decrypt", "GetKeyPolicy"): KMS_READERS,
    ("kms-signer-no-generate-data-key", "GetKeyPolicy"): {"bucket.cdn_kms_grant"},
    ("kms-signer-no-generate-data-key", "GetBucketEncryption"): KMS_READERS,
}


@pytest.mark.parametrize(("name", "operation"), sorted(BROKEN), ids=[f"{n}+{o}" for n, o in sorted(BROKEN)])
def test_a_refused_read_never_fakes_a_failure(name, operation, sandbox, switch, healthy):
    refusal = next(r for r in (*REFUSALS, *KMS_REFUSALS) if r.operation == operation)
    settings = sandbox.settings()
    switch(name)
    sandbox.invalidate(["/*"])
    broken = statuses(run_checks(settings).findings)
    findings, refused = run_refusing(settings, refusal)
    assert refused
    expected = BROKEN[(name, operation)]
    assert statuses(findings) == {cid: Status.UNKNOWN if cid in expected else broken[cid] for cid in broken}, {
        f.id: (f.status, f.title) for f in findings
    }
    for finding in findings:
        if finding.id in expected:
            assert_names_the_grant(finding, refusal.action)


def test_a_real_refusal_by_the_sandbox_is_unknown_never_a_verdict(sandbox):
    """The presign function's role as the console's identity: the sandbox's S3 really answers 403 to its
    configuration reads and its HEAD (it may only PUT objects). The sandbox's IAM, Lambda and CloudFront are moto's,
    which does not authorise callers, so only S3 refuses for real."""
    weak = dataclasses.replace(
        every_check(sandbox),
        aws=AwsTarget(
            region=layout.REGION,
            endpoint_url=sandbox.settings().aws.endpoint_url,
            access_key_id=layout.PRESIGN_ROLE_KEY,
            secret_access_key=layout.PRESIGN_ROLE_SECRET,
        ),
    )
    findings = run_checks(weak).findings
    lacking = {
        "bucket.cors": "s3:GetBucketCors",
        "bucket.public_access_block": "s3:GetBucketPublicAccessBlock",
        "bucket.public_write": "s3:GetBucketPolicy",
        "bucket.public_read": "s3:GetBucketPolicy",
        "bucket.cdn_read_grant": "s3:GetBucketPolicy",
        "lambda.role_put": "s3:GetBucketPolicy",
        "upload.stored_type": "s3:GetObject",
        "bucket.ownership": "s3:GetBucketOwnershipControls",
        "bucket.encryption": "s3:GetEncryptionConfiguration",
        "bucket.cdn_kms_grant": "s3:GetEncryptionConfiguration",
        "presign.url": "s3:GetBucketLocation",  # the URL itself is judged, against the configured region only
    }
    not_passed = {f.id for f in findings if f.status not in (Status.PASS, Status.SKIP)}
    assert not_passed - set(HEALTHY_WARNINGS) == set(lacking), {
        f.id: f.title for f in findings if f.status is not Status.PASS
    }
    for finding in findings:
        if finding.id in lacking:
            assert_names_the_grant(finding, lacking[finding.id])
            config_reads = [e for e in finding.evidence if isinstance(e, ConfigRead)]
            assert any(e.state is ReadState.DENIED and e.code in ("AccessDenied", "403") for e in config_reads)


# --- the grant, from what AWS says ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("identity", "command"),
    [
        (
            f"arn:aws:sts::{layout.ACCOUNT_ID}:assumed-role/pipeline-console/streamlit",
            "put-role-policy --role-name pipeline-console",
        ),
        (
            f"arn:aws:iam::{layout.ACCOUNT_ID}:role/service/pipeline-console",
            "put-role-policy --role-name pipeline-console",
        ),
        (f"arn:aws:iam::{layout.ACCOUNT_ID}:user/ops/console-bot", "put-user-policy --user-name console-bot"),
        (None, "put-role-policy --role-name <console-role>"),
    ],
)
def test_the_fix_attaches_the_grant_to_the_identity_aws_named(identity, command):
    message = (
        f'User: {identity} is not authorized to perform: s3:GetBucketCORS on resource: "{BUCKET_ARN}" because no '
        "identity-based policy allows the s3:GetBucketCORS action"
        if identity
        else "Access Denied"
    )
    read = ConfigRead("s3:GetBucketCors", ReadState.DENIED, None, "AccessDenied", message)
    fix = grant_fix(read, "arn:aws:s3:::fallback")
    assert command in fix
    assert granted_statement(fix) == {
        "Sid": "PipelineConsoleRead",
        "Effect": "Allow",
        "Action": "s3:GetBucketCors",
        "Resource": BUCKET_ARN if identity else "arn:aws:s3:::fallback",
    }


def test_the_action_is_the_one_aws_names_when_the_call_covers_several():
    read = ConfigRead(
        "iam:ListRolePolicies", ReadState.DENIED, None, "AccessDenied", _message("iam:GetPolicyVersion", "x")
    )
    assert required_action(read) == "iam:GetPolicyVersion"
    head = ConfigRead("s3:HeadObject", ReadState.DENIED, None, "403", "")
    assert required_action(head) == "s3:GetObject"
