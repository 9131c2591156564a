"""SSE-KMS: a bucket whose default encryption is aws:kms with a customer managed key. Over HTTP against the sandbox
(switches ``kms-signer-no-generate-data-key`` and ``kms-cdn-no-decrypt``), the key-policy evaluation, the judges over
recorded reads, and the check run under each switch."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import requests

from services.aws_model import iam, kms, statements
from services.checks.encryption import judge_cdn_kms_grant, judge_encryption
from services.checks.evidence import Canary, CheckTarget, Evidence
from services.checks.model import ConfigRead, Exchange, ReadState, Status
from services.checks.runner import run_checks
from services.core.transport import new_session
from services.history.documents import run_documents
from services.pipeline.explain import explain_kms_put
from services.pipeline.upload import UploadInput, upload_one
from services.sandbox import layout
from tests.support import image_bytes


def grant(sandbox) -> dict:
    reply = requests.get(sandbox.endpoints.presign, headers={"x-extension": "png"}, timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()


def s3_error(reply: requests.Response) -> tuple[str, str]:
    code = reply.text.split("<Code>", 1)[1].split("</Code>", 1)[0]
    message = reply.text.split("<Message>", 1)[1].split("</Message>", 1)[0]
    return code, message


def put(doc: dict) -> requests.Response:
    return requests.put(
        doc["presignedUrl"], data=image_bytes(), headers={"Content-Type": doc["contentType"]}, timeout=10
    )


def cdn_get(sandbox, key: str) -> requests.Response:
    return requests.get(f"{sandbox.endpoints.cdn}/{key}", timeout=10)


# --- the sandbox, over HTTP ----------------------------------------------------------------------------------


def test_the_default_bucket_is_sse_s3_and_uploads_read_back_through_the_cdn(sandbox, s3):
    rules = s3.get_bucket_encryption(Bucket=layout.BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    doc = grant(sandbox)

    stored = put(doc)
    read = cdn_get(sandbox, doc["key"])

    assert stored.status_code == 200, stored.text
    assert stored.headers["x-amz-server-side-encryption"] == "AES256"
    assert read.status_code == 200 and read.content == image_bytes()


def test_a_signer_without_generate_data_key_gets_kms_access_denied(sandbox, switch, s3, bucket_keys):
    switch("kms-signer-no-generate-data-key")
    rules = s3.get_bucket_encryption(Bucket=layout.BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": layout.KMS_KEY_ARN,
    }
    before = bucket_keys()

    refused = put(grant(sandbox))

    assert refused.status_code == 403
    assert s3_error(refused) == (
        "AccessDenied",
        f"User: {layout.PRESIGN_SESSION_ARN} is not authorized to perform: kms:GenerateDataKey on resource: "
        f"{layout.KMS_KEY_ARN} because no identity-based policy allows the kms:GenerateDataKey action",
    )
    assert bucket_keys() == before


def test_with_the_signer_allowed_but_no_cloudfront_statement_the_cdn_answers_403(sandbox, switch):
    switch("kms-cdn-no-decrypt")
    doc = grant(sandbox)

    stored = put(doc)
    read = cdn_get(sandbox, doc["key"])

    assert stored.status_code == 200, stored.text
    assert stored.headers["x-amz-server-side-encryption"] == "aws:kms"
    assert stored.headers["x-amz-server-side-encryption-aws-kms-key-id"] == layout.KMS_KEY_ARN
    assert read.status_code == 403 and read.headers["X-Cache"] == "Error from cloudfront"
    assert s3_error(read) == ("AccessDenied", kms.CIPHERTEXT_DENIED)


def test_each_kms_switch_is_undone_by_turning_it_off(sandbox, s3, kms_client):
    for name in ("kms-signer-no-generate-data-key", "kms-cdn-no-decrypt"):
        sandbox.set_switch(name, True)
        sandbox.set_switch(name, False)
        rules = s3.get_bucket_encryption(Bucket=layout.BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
        assert rules[0]["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
        policy = json.loads(kms_client.get_key_policy(KeyId=layout.KMS_KEY_ID, PolicyName="default")["Policy"])
        assert json.loads(layout.key_policy()) == policy
    doc = grant(sandbox)
    assert put(doc).status_code == 200 and cdn_get(sandbox, doc["key"]).status_code == 200


def test_a_url_signing_sse_kms_needs_the_key_too(sandbox, s3, presign_role_s3):
    """The function signing x-amz-server-side-encryption: aws:kms with the customer key, on an SSE-S3 bucket."""
    params = {
        "Bucket": layout.BUCKET,
        "Key": "kms-header-probe.png",
        "ContentType": "image/png",
        "ServerSideEncryption": "aws:kms",
        "SSEKMSKeyId": layout.KMS_KEY_ARN,
    }
    url = presign_role_s3.generate_presigned_url("put_object", Params=params, ExpiresIn=60)
    headers = {
        "Content-Type": "image/png",
        "x-amz-server-side-encryption": "aws:kms",
        "x-amz-server-side-encryption-aws-kms-key-id": layout.KMS_KEY_ARN,
    }

    refused = requests.put(url, data=image_bytes(), headers=headers, timeout=10)

    assert refused.status_code == 403
    code, message = s3_error(refused)
    assert code == "AccessDenied" and "kms:GenerateDataKey" in message


@pytest.fixture(scope="module")
def kms_client(sandbox):
    from services.core.clients import make_client

    return make_client("kms", sandbox.aws_target())


@pytest.fixture(scope="module")
def presign_role_s3(sandbox):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        region_name=layout.REGION,
        aws_access_key_id=layout.PRESIGN_ROLE_KEY,
        aws_secret_access_key=layout.PRESIGN_ROLE_SECRET,
        endpoint_url=sandbox.aws_target().endpoint_url,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


# --- the key policy and IAM, evaluated together ------------------------------------------------------------

ACCOUNT = "111122223333"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/presign-role"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/presign-role/image-presign"
KEY = f"arn:aws:kms:ap-northeast-2:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
DISTRIBUTION = f"arn:aws:cloudfront::{ACCOUNT}:distribution/EDFDVBD6EXAMPLE"
ROOT = statements.key_policy_root(ACCOUNT)
NAMES_ROLE = {"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "kms:GenerateDataKey", "Resource": "*"}
IAM_ALLOWS = {"Version": "2012-10-17", "Statement": [statements.kms_generate_data_key(KEY)]}


def key_policy(*body: dict) -> iam.Policy:
    return iam.parse_policy({"Version": "2012-10-17", "Statement": list(body)})


def signer(key: iam.Policy, *identity: dict, action: str = kms.GENERATE_DATA_KEY) -> iam.Decision:
    attached = [iam.parse_policy(doc, attached_to=ROLE) for doc in identity]
    return iam.evaluate_key_policy(key, attached, iam.Request(iam.Principal.aws(SESSION), action, KEY))


def test_a_key_policy_naming_the_account_root_delegates_to_iam():
    assert signer(key_policy(ROOT), IAM_ALLOWS).allowed
    refused = signer(key_policy(ROOT))
    assert not refused.allowed and refused.lacking == "identity"


def test_a_key_policy_naming_the_role_grants_without_iam():
    assert signer(key_policy(NAMES_ROLE)).allowed
    assert not signer(key_policy(NAMES_ROLE), action=kms.DECRYPT).allowed


def test_iam_alone_grants_nothing_on_a_key_whose_policy_does_not_delegate():
    refused = signer(key_policy(NAMES_ROLE | {"Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/other"}}), IAM_ALLOWS)
    assert not refused.allowed and refused.lacking == "resource"


def test_an_explicit_deny_in_either_policy_wins():
    deny = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "kms:*", "Resource": "*"}]}
    assert signer(key_policy(ROOT), IAM_ALLOWS, deny).explicit_deny
    key_deny = {"Effect": "Deny", "Principal": "*", "Action": "kms:GenerateDataKey", "Resource": "*"}
    assert signer(key_policy(NAMES_ROLE, key_deny)).explicit_deny


def test_cloudfront_may_decrypt_only_for_the_distribution_the_key_policy_names():
    key = key_policy(ROOT, statements.kms_cdn_decrypt(DISTRIBUTION))

    def cloudfront(source_arn: str) -> bool:
        principal = iam.Principal.service(iam.CLOUDFRONT_SERVICE)
        request = iam.Request(principal, kms.DECRYPT, KEY, {"aws:SourceArn": source_arn})
        return iam.evaluate_key_policy(key, [], request).allowed

    assert cloudfront(DISTRIBUTION)
    assert not cloudfront(DISTRIBUTION.replace("EDFDVBD6EXAMPLE", "EOTHER"))
    assert not iam.evaluate_key_policy(
        key_policy(ROOT), [], iam.Request(iam.Principal.service(iam.CLOUDFRONT_SERVICE), kms.DECRYPT, KEY)
    ).allowed


def test_kms_refusals_are_worded_as_kms_words_them():
    message = kms.not_authorized(SESSION, kms.GENERATE_DATA_KEY, KEY, signer(key_policy(ROOT)))
    assert message == (
        f"User: {SESSION} is not authorized to perform: kms:GenerateDataKey on resource: {KEY} because no "
        "identity-based policy allows the kms:GenerateDataKey action"
    )
    other = signer(key_policy(NAMES_ROLE | {"Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/other"}}))
    assert "because no resource-based policy allows" in kms.not_authorized(SESSION, kms.GENERATE_DATA_KEY, KEY, other)


# --- the judges, over recorded reads -----------------------------------------------------------------------

TARGET = CheckTarget(
    presign_url="https://api.example/presign",
    bucket="b",
    cdn_url="https://cdn.example",
    region="ap-northeast-2",
    distribution_id="EDFDVBD6EXAMPLE",
    lambda_function="image-presign",
)


def sse(algorithm: str, key: str | None = None) -> ConfigRead:
    default = {"SSEAlgorithm": algorithm} | ({"KMSMasterKeyID": key} if key else {})
    return ConfigRead(
        "s3:GetEncryptionConfiguration", ReadState.OK, {"Rules": [{"ApplyServerSideEncryptionByDefault": default}]}
    )


def policy_read(*body: dict) -> ConfigRead:
    return ConfigRead("kms:GetKeyPolicy", ReadState.OK, json.dumps({"Version": "2012-10-17", "Statement": list(body)}))


DENIED_POLICY = ConfigRead("kms:GetKeyPolicy", ReadState.DENIED, None, "AccessDeniedException", "not authorized", KEY)
DESCRIBED = ConfigRead("kms:DescribeKey", ReadState.OK, {"Arn": KEY, "KeyState": "Enabled", "KeyManager": "CUSTOMER"})
LAMBDA = ConfigRead("lambda:GetFunctionConfiguration", ReadState.OK, {"FunctionName": "image-presign", "Role": ROLE})
PUT_ONLY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*"}],
}


def role_policies(*docs: dict) -> ConfigRead:
    return ConfigRead(
        "iam:ListRolePolicies", ReadState.OK, [{"name": f"p{n}", "document": json.dumps(d)} for n, d in enumerate(docs)]
    )


def distribution(oai: str = "") -> ConfigRead:
    origin = {
        "Id": "s3",
        "DomainName": "b.s3.ap-northeast-2.amazonaws.com",
        "S3OriginConfig": {"OriginAccessIdentity": oai},
    }
    if not oai:
        origin["OriginAccessControlId"] = "E2QWRUHEXAMPLE"
    value = {"ARN": DISTRIBUTION, "DistributionConfig": {"Origins": {"Quantity": 1, "Items": [origin]}}}
    return ConfigRead("cloudfront:GetDistribution", ReadState.OK, value)


def ev(
    encryption: ConfigRead, key_policy: ConfigRead | None = None, roles: ConfigRead | None = None, **more
) -> Evidence:
    return Evidence(
        target=TARGET,
        gathered_at=datetime(2026, 12, 1, tzinfo=UTC),
        bucket_encryption=encryption,
        kms_key=DESCRIBED if key_policy is not None else None,
        key_policy=key_policy,
        lambda_config=LAMBDA,
        role_policies=roles,
        distribution=more.pop("distribution", distribution()),
        **more,
    )


def kms_refused_canary() -> Canary:
    body = (
        "<Error><Code>AccessDenied</Code><Message>"
        + kms.not_authorized(SESSION, kms.GENERATE_DATA_KEY, KEY, signer(key_policy(ROOT)))
        + "</Message></Error>"
    )
    presign = Exchange(
        "GET", TARGET.presign_url, status=200, body='{"presignedUrl": "https://b/k.png", "key": "k.png"}'
    )
    return Canary(presign=presign, key="k.png", put=Exchange("PUT", "https://b/k.png", status=403, body=body))


@pytest.mark.parametrize(
    ("evidence", "status", "code", "phrase"),
    [
        (ev(sse("AES256")), Status.PASS, "encryption.sse_s3", "AES256"),
        (
            ev(sse("AES256"), canary=kms_refused_canary()),
            Status.FAIL,
            "encryption.signer_no_generate_data_key",
            "aws iam put-role-policy --role-name presign-role --policy-name presign-kms",
        ),
        (ev(sse("aws:kms")), Status.PASS, "encryption.aws_managed_key", "aws/s3"),
        (
            ev(sse("aws:kms", KEY), policy_read(ROOT), role_policies(PUT_ONLY, IAM_ALLOWS)),
            Status.PASS,
            "encryption.signer_may_encrypt",
            "",
        ),
        (
            ev(sse("aws:kms", KEY), policy_read(NAMES_ROLE), role_policies(PUT_ONLY)),
            Status.PASS,
            "encryption.signer_may_encrypt",
            "",
        ),
        (
            ev(sse("aws:kms", KEY), policy_read(ROOT), role_policies(PUT_ONLY)),
            Status.FAIL,
            "encryption.signer_no_generate_data_key",
            "aws iam put-role-policy --role-name presign-role --policy-name presign-kms",
        ),
        (
            ev(
                sse("aws:kms", KEY),
                policy_read(NAMES_ROLE | {"Principal": {"AWS": "arn:aws:iam::111122223333:role/x"}}),
                role_policies(IAM_ALLOWS),
            ),
            Status.FAIL,
            "encryption.signer_no_generate_data_key",
            "aws kms put-key-policy --key-id " + KEY + " --policy-name default --policy file://key-policy.json",
        ),
        (
            ev(sse("aws:kms", KEY), DENIED_POLICY, role_policies(PUT_ONLY)),
            Status.UNKNOWN,
            "read.denied",
            "kms:GetKeyPolicy",
        ),
        (
            ev(sse("aws:kms", KEY), DENIED_POLICY, role_policies(PUT_ONLY), canary=kms_refused_canary()),
            Status.FAIL,
            "encryption.signer_no_generate_data_key",
            "kms:GenerateDataKey",
        ),
        (
            ev(ConfigRead("s3:GetEncryptionConfiguration", ReadState.DENIED, None, "AccessDenied", "Access Denied")),
            Status.UNKNOWN,
            "read.denied",
            "s3:GetEncryptionConfiguration",
        ),
        (
            ev(sse("aws:kms", KEY), policy_read(ROOT), None),
            Status.UNKNOWN,
            "encryption.signer_unknown",
            "PIPELINE_LAMBDA_FUNCTION",
        ),
    ],
    ids=[
        "sse-s3",
        "url-signs-sse-kms",
        "aws-managed",
        "iam-delegated",
        "key-names-role",
        "no-iam",
        "no-delegation",
        "policy-denied",
        "policy-denied-canary-refused",
        "encryption-denied",
        "signer-unknown",
    ],
)
def test_the_signer_judge(evidence, status, code, phrase):
    finding = judge_encryption(evidence)

    assert finding.status == status, finding
    assert code in finding.codes
    assert phrase in f"{finding.title} {finding.detail} {finding.fix}"


@pytest.mark.parametrize(
    ("evidence", "status", "code", "phrase"),
    [
        (ev(sse("AES256")), Status.PASS, "kms_cdn.not_kms", ""),
        (
            ev(sse("aws:kms", KEY), policy_read(ROOT, statements.kms_cdn_decrypt(DISTRIBUTION))),
            Status.PASS,
            "kms_cdn.ok",
            "",
        ),
        (
            ev(sse("aws:kms", KEY), policy_read(ROOT)),
            Status.FAIL,
            "kms_cdn.no_decrypt",
            '"AWS:SourceArn": "' + DISTRIBUTION,
        ),
        (
            ev(
                sse("aws:kms", KEY),
                policy_read(ROOT, statements.kms_cdn_decrypt(DISTRIBUTION.replace("EDFDVBD6EXAMPLE", "EOTHER"))),
            ),
            Status.FAIL,
            "kms_cdn.no_decrypt",
            "aws kms put-key-policy",
        ),
        (
            ev(
                sse("aws:kms", KEY),
                policy_read(ROOT),
                distribution=distribution("origin-access-identity/cloudfront/E15MNIMTCFKK4C"),
            ),
            Status.FAIL,
            "kms_cdn.legacy_oai",
            "Origin Access Control",
        ),
        (ev(sse("aws:kms")), Status.FAIL, "kms_cdn.aws_managed_key", "customer managed key"),
        (ev(sse("aws:kms", KEY), DENIED_POLICY), Status.UNKNOWN, "read.denied", "kms:GetKeyPolicy"),
    ],
    ids=["sse-s3", "granted", "no-statement", "other-distribution", "legacy-oai", "aws-managed", "policy-denied"],
)
def test_the_cdn_judge(evidence, status, code, phrase):
    finding = judge_cdn_kms_grant(evidence)

    assert finding.status == status, finding
    assert code in finding.codes
    assert phrase in f"{finding.title} {finding.detail} {finding.fix}"


# --- check runs and the upload trace under each switch ------------------------------------------------------


def by_id(report) -> dict:
    return {f.id: f for f in report.findings}


def test_the_check_run_names_the_signer_key_as_root_cause(sandbox, switch, sandbox_settings):
    switch("kms-signer-no-generate-data-key")

    found = by_id(run_checks(sandbox_settings))

    root = found["bucket.encryption"]
    assert (root.status, root.codes, root.caused_by) == (Status.FAIL, ("encryption.signer_no_generate_data_key",), ())
    assert "aws iam put-role-policy --role-name presign-role --policy-name presign-kms" in root.fix
    assert layout.KMS_KEY_ARN in root.fix
    roundtrip = found["upload.roundtrip"]
    assert (roundtrip.status, roundtrip.codes, roundtrip.caused_by) == (
        Status.FAIL,
        ("put.kms_denied",),
        ("bucket.encryption",),
    )
    assert found["cdn.read"].status == Status.UNKNOWN and found["cdn.read"].caused_by == ("bucket.encryption",)
    assert found["bucket.cdn_kms_grant"].status == Status.PASS


def test_the_check_run_names_the_missing_cloudfront_statement_as_root_cause(sandbox, switch, sandbox_settings):
    switch("kms-cdn-no-decrypt")

    found = by_id(run_checks(sandbox_settings))

    root = found["bucket.cdn_kms_grant"]
    assert (root.status, root.codes, root.caused_by) == (Status.FAIL, ("kms_cdn.no_decrypt",), ())
    assert "aws kms put-key-policy --key-id" in root.fix and '"Service": "cloudfront.amazonaws.com"' in root.fix
    assert found["bucket.encryption"].status == Status.PASS
    read = found["cdn.read"]
    assert (read.status, read.codes, read.caused_by) == (Status.FAIL, ("cdn.kms_denied",), ("bucket.cdn_kms_grant",))
    roundtrip = found["upload.roundtrip"]
    assert roundtrip.status == Status.FAIL and roundtrip.caused_by == ("bucket.cdn_kms_grant",)


def test_the_default_sandbox_passes_both_kms_checks(sandbox_settings):
    found = by_id(run_checks(sandbox_settings, only=["bucket.encryption", "bucket.cdn_kms_grant"]))

    assert found["bucket.encryption"].codes == ("encryption.sse_s3",)
    assert found["bucket.cdn_kms_grant"].codes == ("kms_cdn.not_kms",)


def test_the_upload_trace_names_kms_and_the_fix(sandbox_settings, switch):
    switch("kms-signer-no-generate-data-key")

    with new_session() as session:
        result = upload_one(UploadInput("photo.png", image_bytes()), sandbox_settings, session)

    step = result.failed_step
    assert (step.name, step.http_status, step.code) == ("put", 403, "AccessDenied")
    assert "KMS refused the function's role presign-role kms:GenerateDataKey" in step.cause
    assert "aws iam put-role-policy --role-name presign-role --policy-name presign-kms" in step.cause


def test_the_upload_trace_names_cloudfronts_missing_decrypt(sandbox_settings, switch):
    switch("kms-cdn-no-decrypt")

    with new_session() as session:
        result = upload_one(UploadInput("photo.png", image_bytes()), sandbox_settings, session)

    step = result.failed_step
    assert (step.name, step.http_status) == ("cdn_read", 403)
    assert "cloudfront.amazonaws.com kms:Decrypt" in step.cause and "AWS:SourceArn" in step.cause


def test_history_records_the_encryption_and_the_key_policy(sandbox, switch, sandbox_settings):
    switch("kms-cdn-no-decrypt")
    seen = {}

    def keep(report, evidence):
        seen["documents"] = run_documents(evidence, report.findings)

    run_checks(sandbox_settings, only=["bucket.encryption", "bucket.cdn_kms_grant"], on_done=keep, canary=False)

    documents = seen["documents"]
    assert '"SSEAlgorithm": "aws:kms"' in documents["bucket_encryption"][0]
    assert set(documents["key_policy"][1]) == {"bucket.encryption", "bucket.cdn_kms_grant"}
    assert '"Sid": "Enable IAM User Permissions"' in documents["key_policy"][0]


def test_the_put_explanation_names_the_policy_that_must_allow_it():
    delegated = kms.not_authorized(SESSION, kms.GENERATE_DATA_KEY, KEY, signer(key_policy(ROOT)))
    undelegated = kms.not_authorized(
        SESSION, kms.GENERATE_DATA_KEY, KEY, signer(key_policy(statements.kms_cdn_decrypt(DISTRIBUTION)))
    )

    via_iam = explain_kms_put(delegated)
    via_key = explain_kms_put(undelegated)

    assert f"KMS key {KEY}" in via_iam and "delegates to the account's IAM" in via_iam
    assert "aws iam put-role-policy --role-name presign-role --policy-name presign-kms" in via_iam
    assert f"arn:aws:iam::{ACCOUNT}:role/presign-role kms:GenerateDataKey" in via_key
    assert f"aws kms put-key-policy --key-id {KEY} --policy-name default" in via_key
