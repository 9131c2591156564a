"""SSE-KMS: bucket.encryption (may the presign function's role kms:GenerateDataKey on the bucket's key?) and
bucket.cdn_kms_grant (may CloudFront kms:Decrypt with it?). Pure judges over the reads of ``gather_encryption``.

With default encryption ``aws:kms`` and a customer managed key, S3 asks KMS as the requester: the signer's PUT needs
``kms:GenerateDataKey`` (the key policy naming the role, or delegating to the account's IAM and an IAM policy
allowing it: ``iam.evaluate_key_policy``), the CDN's read needs the key policy to let ``cloudfront.amazonaws.com``
``kms:Decrypt`` with ``AWS:SourceArn`` of the distribution; a legacy origin access identity cannot use KMS at all,
nor can anyone but the account's own principals use the AWS managed key ``aws/s3``. SSE-S3 needs none of this.
https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html#create-oac-overview-s3
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.aws_model import iam, kms, statements
from services.aws_model.s3errors import parse_s3_error
from services.checks.evidence import Evidence
from services.checks.findings import answer, dump, finding, unreadable
from services.checks.lambda_role import function_role, parsed_role_policies
from services.checks.model import Check, ConfigRead, Exchange, Finding, Impact, ReadState, Status, read_state
from services.checks.policy_docs import (
    best_distribution_arn,
    distribution_config,
    load_policy,
    policy_document,
    unparsable,
)
from services.pipeline.explain import explain_kms_put

BUCKET_ENCRYPTION = "bucket.encryption"
CDN_KMS_GRANT = "bucket.cdn_kms_grant"
IAM_POLICY_NAME = "presign-kms"
KEY_USER_SID = "AllowThePresignRoleToEncryptUploads"


@dataclass(frozen=True)
class _Key:
    """The customer managed key the bucket's default encryption names, its policy parsed and as written."""

    arn: str
    policy: iam.Policy
    raw: Mapping[str, Any]
    read: ConfigRead
    described: ConfigRead | None


def _default(ev: Evidence, cid: str) -> Finding | tuple[str | None, str | None, ConfigRead]:
    """(algorithm, key named, the read) of the bucket's default encryption, or the finding saying it is unknown."""
    read = ev.bucket_encryption
    what = "the bucket's default encryption (GetBucketEncryption)"
    blocked = unreadable(cid, read, what, "s3:GetEncryptionConfiguration", f"arn:aws:s3:::{ev.target.bucket}")
    if blocked is not None:
        return blocked
    assert isinstance(read, ConfigRead)
    if read_state(read) is ReadState.MISSING:
        return None, None, read
    algorithm, key = kms.default_encryption(read.value)
    return algorithm, key, read


def _said(algorithm: str | None, key: str | None) -> str:
    if algorithm is None:
        return "no default encryption"
    return f"SSEAlgorithm {algorithm}" + (f", KMSMasterKeyID {key}" if key else "")


def _is_aws_managed(key: str | None) -> bool:
    return not key or key == kms.AWS_MANAGED_S3_KEY or key.endswith(":alias/aws/s3")


def _key(ev: Evidence, cid: str, key_ref: str) -> _Key | Finding:
    """The key's ARN and parsed policy, or the unknown finding (a read the console may not make never fails)."""
    read = ev.key_policy
    blocked = unreadable(cid, read, f"the key policy of {key_ref}", "kms:GetKeyPolicy", key_ref)
    if blocked is not None:
        return blocked
    assert isinstance(read, ConfigRead)
    described = ev.kms_key if isinstance(ev.kms_key, ConfigRead) else None
    meta = described.value if described is not None and read_state(described) is ReadState.OK else None
    arn = str(meta.get("Arn")) if isinstance(meta, Mapping) and meta.get("Arn") else key_ref
    if read_state(read) is ReadState.MISSING:
        detail = f"kms:GetKeyPolicy on {key_ref} answered {answer(read)}: the key does not exist (every PUT fails)."
        title = "The bucket's default encryption names a KMS key that does not exist"
        fix = _encryption_fix(ev, "<key-arn>")
        return finding(cid, Status.FAIL, title, detail, fix, (read, described), codes=("encryption.key_missing",))
    try:
        policy, raw = load_policy(read.value)
    except iam.PolicyError as err:
        return unparsable(cid, "the key policy", f"The key policy of {arn} does not parse: {err}.", (read,))
    return _Key(arn, policy, raw, read, described)


def _key_policy_fix(key: _Key, statement: Mapping[str, Any]) -> str:
    document = policy_document(key.raw, (), [statement]) or {}
    return "\n".join(
        [
            f"# the key policy of {key.arn} with this statement added (put-key-policy replaces the whole policy):",
            dump(statement, indent=2),
            "",
            "# save the whole policy below as key-policy.json, then:",
            dump(document, indent=2),
            f"aws kms put-key-policy --key-id {shlex.quote(key.arn)} --policy-name default --policy file://key-policy.json",
        ]
    )


def _encryption_fix(ev: Evidence, key_arn: str) -> str:
    config = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}}]}
    return (
        f"aws s3api put-bucket-encryption --bucket {shlex.quote(ev.target.bucket)} "
        f"--server-side-encryption-configuration {shlex.quote(json.dumps(config))}"
    )


# --- bucket.encryption --------------------------------------------------------------------------------------


def _canary_put(ev: Evidence) -> Exchange | None:
    canary = ev.canary
    put = canary.put if canary is not None else None
    return put if isinstance(put, Exchange) and put.status is not None else None


def _kms_refused(put: Exchange | None) -> bool:
    error = parse_s3_error(put.body) if put is not None else None
    return error is not None and error.code == "AccessDenied" and kms.GENERATE_DATA_KEY in (error.message or "")


def _refused_by_canary(ev: Evidence, said: str, read: ConfigRead, put: Exchange) -> Finding:
    message = parse_s3_error(put.body).message or ""
    return finding(
        BUCKET_ENCRYPTION,
        Status.FAIL,
        "KMS refuses the signer kms:GenerateDataKey: every upload gets 403 AccessDenied",
        f"GetBucketEncryption: {said}. The canary PUT got HTTP {put.status} AccessDenied {message!r}.",
        explain_kms_put(message),
        (read, put),
        codes=("encryption.signer_no_generate_data_key",),
    )


def judge_encryption(ev: Evidence) -> Finding:
    """bucket.encryption: with SSE-KMS, the signer may kms:GenerateDataKey on the bucket's key."""
    cid = BUCKET_ENCRYPTION
    got = _default(ev, cid)
    if isinstance(got, Finding):
        return got
    algorithm, key_ref, read = got
    said, put = _said(algorithm, key_ref), _canary_put(ev)
    refused = put if _kms_refused(put) else None
    if refused is not None and (not kms.uses_kms(algorithm) or _is_aws_managed(key_ref)):
        # the function signs x-amz-server-side-encryption: aws:kms (with a key of its own) on top of the default
        return _refused_by_canary(ev, said, read, refused)
    if not kms.uses_kms(algorithm):
        return finding(
            cid,
            Status.PASS,
            f"Uploads need no KMS permission ({said})",
            f"GetBucketEncryption: {said}: S3 encrypts with its own keys (SSE-S3).",
            evidence=(read,),
            codes=("encryption.sse_s3",),
        )
    if _is_aws_managed(key_ref):
        return finding(
            cid,
            Status.PASS,
            "SSE-KMS with the AWS managed key aws/s3: every role of the account may use it through S3",
            f"GetBucketEncryption: {said}. (CloudFront cannot use that key: see {CDN_KMS_GRANT}.)",
            evidence=(read,),
            codes=("encryption.aws_managed_key",),
        )
    assert key_ref is not None
    key = _key(ev, cid, key_ref)
    if isinstance(key, Finding):
        # the key policy could not be judged; a canary PUT that KMS refused is seen, not inferred
        return (
            _refused_by_canary(ev, said, read, refused) if refused is not None and key.status is Status.UNKNOWN else key
        )
    state = _key_state(key)
    if state not in (None, "Enabled"):
        detail = f"GetBucketEncryption: {said}. kms:DescribeKey: KeyState {state}: KMS refuses every request."
        fix = f"aws kms enable-key --key-id {shlex.quote(key.arn)}  # or cancel-key-deletion, then enable-key"
        title = f"The bucket's KMS key is {state}: every upload fails"
        return finding(
            cid, Status.FAIL, title, detail, fix, (read, key.described), codes=("encryption.key_not_enabled",)
        )
    return _judge_signer(ev, said, read, key, put)


def _key_state(key: _Key) -> str | None:
    meta = key.described.value if key.described is not None and read_state(key.described) is ReadState.OK else None
    return str(meta["KeyState"]) if isinstance(meta, Mapping) and meta.get("KeyState") else None


def _judge_signer(ev: Evidence, said: str, read: ConfigRead, key: _Key, put: Exchange | None) -> Finding:
    cid = BUCKET_ENCRYPTION
    evidence = (read, key.described, key.read, ev.lambda_config, ev.role_policies)
    config = ev.lambda_config
    role = function_role(config.value, ev.target.lambda_function or "") if config is not None and _ok(config) else None
    policies = ev.role_policies
    if role is None or not _ok(policies):
        if _kms_refused(put):
            assert put is not None
            return _refused_by_canary(ev, said, read, put)
        if put is not None and put.status == 200:
            detail = f"GetBucketEncryption: {said}. The canary PUT was stored (HTTP 200), encrypted with the key."
            return finding(
                cid,
                Status.PASS,
                "The signer may use the bucket's KMS key",
                detail,
                evidence=evidence,
                codes=("encryption.canary_stored",),
            )
        detail = (
            f"GetBucketEncryption: {said}. Which role signs is not known (set PIPELINE_LAMBDA_FUNCTION, and let the "
            "console read its role's policies: see lambda.role_put), and no canary PUT was stored to show it."
        )
        title = "Cannot judge whether the signer may kms:GenerateDataKey on the bucket's key"
        return finding(cid, Status.UNKNOWN, title, detail, "", evidence, codes=("encryption.signer_unknown",))
    assert isinstance(policies, ConfigRead)
    named, errors = parsed_role_policies(policies.value, role)
    request = iam.Request(iam.Principal.aws(role.session), kms.GENERATE_DATA_KEY, key.arn)
    try:
        decision = iam.evaluate_key_policy(key.policy, [p.parsed for p in named], request)
    except iam.PolicyError as err:
        errors.append(f"PolicyError: {err}")
        decision = iam.Decision(False, "not evaluated")
    head = f"GetBucketEncryption: {said}. Role {role.arn}, kms:GenerateDataKey on {key.arn}: {decision.reason}."
    if decision.allowed:
        return finding(
            cid,
            Status.PASS,
            "The signer may kms:GenerateDataKey on the bucket's key",
            head,
            evidence=evidence,
            codes=("encryption.signer_may_encrypt",),
        )
    if errors and not decision.explicit_deny:
        return unparsable(cid, "a policy document", head + " " + " ".join(errors), evidence)
    title = "The signer may not kms:GenerateDataKey on the bucket's key: every upload gets 403 AccessDenied"
    detail = head + " Presigning still works (it is local signing); S3 refuses the PUT naming kms:GenerateDataKey."
    return finding(
        cid,
        Status.FAIL,
        title,
        detail,
        _signer_fix(key, role, decision),
        evidence,
        codes=("encryption.signer_no_generate_data_key",),
    )


def _ok(read: ConfigRead | None) -> bool:
    return isinstance(read, ConfigRead) and read_state(read) is ReadState.OK


def _signer_fix(key: _Key, role: Any, decision: iam.Decision) -> str:
    if decision.explicit_deny:
        labels = ", ".join(s.label for s in decision.statements if s.effect == "Deny")
        return (
            f"Remove (or narrow) the Deny statement(s) {labels} that refuse the role kms:GenerateDataKey on {key.arn}."
        )
    if decision.lacking == "identity":
        document = {"Version": "2012-10-17", "Statement": [statements.kms_generate_data_key(key.arn)]}
        return "\n".join(
            [
                "# the key policy delegates to the account's IAM: allow the role there",
                dump(document, indent=2),
                "",
                f"aws iam put-role-policy --role-name {shlex.quote(role.name)} --policy-name {IAM_POLICY_NAME} "
                f"--policy-document {shlex.quote(dump(document))}",
            ]
        )
    statement = {
        "Sid": KEY_USER_SID,
        "Effect": "Allow",
        "Principal": {"AWS": role.arn},
        "Action": kms.GENERATE_DATA_KEY,
        "Resource": "*",
    }
    return _key_policy_fix(key, statement)


# --- bucket.cdn_kms_grant -----------------------------------------------------------------------------------


def _legacy_oai(ev: Evidence) -> str | None:
    """The origin access identity of the distribution's S3 origin, when it reads with one instead of OAC."""
    dist = distribution_config(ev)
    config = dist.get("DistributionConfig") if isinstance(dist, Mapping) else None
    origins = config.get("Origins", {}).get("Items", []) if isinstance(config, Mapping) else []
    for origin in origins if isinstance(origins, list) else []:
        oai = (origin.get("S3OriginConfig") or {}).get("OriginAccessIdentity") if isinstance(origin, Mapping) else None
        if isinstance(oai, str) and oai.strip() and not str(origin.get("OriginAccessControlId") or "").strip():
            return oai
    return None


def _cdn_refused(ev: Evidence) -> Exchange | None:
    canary = ev.canary
    cdn = canary.cdn_first if canary is not None else None
    if isinstance(cdn, Exchange) and cdn.status == 403 and parse_s3_error(cdn.body).message == kms.CIPHERTEXT_DENIED:
        return cdn
    return None


def judge_cdn_kms_grant(ev: Evidence) -> Finding:
    """bucket.cdn_kms_grant: with SSE-KMS, the key policy lets this distribution's OAC kms:Decrypt."""
    cid = CDN_KMS_GRANT
    got = _default(ev, cid)
    if isinstance(got, Finding):
        return got
    algorithm, key_ref, read = got
    said = _said(algorithm, key_ref)
    if not kms.uses_kms(algorithm):
        detail = f"GetBucketEncryption: {said}: CloudFront needs no KMS permission."
        return finding(
            cid,
            Status.PASS,
            f"CloudFront reads need no key ({said})",
            detail,
            evidence=(read,),
            codes=("kms_cdn.not_kms",),
        )
    oai = _legacy_oai(ev)
    if oai is not None:
        detail = (
            f"GetBucketEncryption: {said}. The distribution reads the bucket with a legacy origin access identity "
            f"({oai}), which cannot use KMS keys: every SSE-KMS object answers 403 through the CDN."
        )
        fix = (
            "Move the origin to Origin Access Control (aws cloudfront create-origin-access-control, then set the "
            'origin\'s OriginAccessControlId and S3OriginConfig.OriginAccessIdentity ""; see cdn.config), grant it '
            f"in the bucket policy (bucket.cdn_read_grant) and in the key policy:\n{dump(statements.kms_cdn_decrypt(best_distribution_arn(ev)), indent=2)}"
        )
        return finding(
            cid,
            Status.FAIL,
            "A legacy origin access identity cannot read SSE-KMS objects",
            detail,
            fix,
            (read, ev.distribution),
            codes=("kms_cdn.legacy_oai",),
        )
    if _is_aws_managed(key_ref):
        detail = (
            f"GetBucketEncryption: {said}. The AWS managed key aws/s3 allows only the account's own principals, and "
            "its key policy cannot be changed: CloudFront can never decrypt objects encrypted with it."
        )
        fix = (
            "Encrypt with a customer managed key whose key policy lets CloudFront kms:Decrypt "
            f"(aws kms create-key), then:\n{_encryption_fix(ev, '<key-arn>')}\n"
            f"and add to its key policy:\n{dump(statements.kms_cdn_decrypt(best_distribution_arn(ev)), indent=2)}\n"
            "Objects already stored keep the aws/s3 key until copied over themselves."
        )
        return finding(
            cid,
            Status.FAIL,
            "CloudFront cannot decrypt objects encrypted with the AWS managed key aws/s3",
            detail,
            fix,
            (read,),
            codes=("kms_cdn.aws_managed_key",),
        )
    assert key_ref is not None
    key = _key(ev, cid, key_ref)
    if isinstance(key, Finding):
        return key
    return _judge_cdn_decrypt(ev, said, read, key)


def _judge_cdn_decrypt(ev: Evidence, said: str, read: ConfigRead, key: _Key) -> Finding:
    cid = CDN_KMS_GRANT
    distribution = best_distribution_arn(ev)
    evidence = (read, key.described, key.read, ev.distribution)
    refused = _cdn_refused(ev)
    statement = statements.kms_cdn_decrypt(distribution)
    if not ev.target.distribution_id:
        if refused is not None:
            detail = f"GetBucketEncryption: {said}. The canary's CDN read got 403 {kms.CIPHERTEXT_DENIED!r}."
            return finding(
                cid,
                Status.FAIL,
                "KMS refuses CloudFront kms:Decrypt: images do not show",
                detail,
                _key_policy_fix(key, statement),
                (*evidence, refused),
                codes=("kms_cdn.no_decrypt",),
            )
        detail = (
            f"GetBucketEncryption: {said}. Set PIPELINE_DISTRIBUTION_ID to have the key policy judged for the "
            "distribution's ARN (AWS:SourceArn)."
        )
        return finding(
            cid,
            Status.UNKNOWN,
            "Cannot judge CloudFront's kms:Decrypt: no distribution configured",
            detail,
            "",
            evidence,
            codes=("kms_cdn.distribution_unknown",),
        )
    request = iam.Request(
        iam.Principal.service(iam.CLOUDFRONT_SERVICE), kms.DECRYPT, key.arn, {"aws:SourceArn": distribution}
    )
    decision = iam.evaluate_key_policy(key.policy, [], request)
    head = (
        f"GetBucketEncryption: {said}. cloudfront.amazonaws.com, kms:Decrypt on {key.arn} for AWS:SourceArn "
        f"{distribution}: {decision.reason}."
    )
    if decision.allowed and refused is None:
        return finding(
            cid,
            Status.PASS,
            "The key policy lets this distribution kms:Decrypt",
            head,
            evidence=evidence,
            codes=("kms_cdn.ok",),
        )
    seen = f" The canary's CDN read got 403 {kms.CIPHERTEXT_DENIED!r}." if refused is not None else ""
    title = "The key policy does not let CloudFront kms:Decrypt: images do not show (CDN 403)"
    fix = (
        _key_policy_fix(key, statement)
        if not decision.explicit_deny
        else (
            "Remove (or narrow) the key policy's Deny statement(s) "
            + ", ".join(s.label for s in decision.statements if s.effect == "Deny")
            + f", then make sure it has:\n{dump(statement, indent=2)}"
        )
    )
    return finding(cid, Status.FAIL, title, head + seen, fix, (*evidence, refused), codes=("kms_cdn.no_decrypt",))


_READS = ("s3:GetEncryptionConfiguration", "kms:DescribeKey", "kms:GetKeyPolicy")

CHECKS: tuple[Check, ...] = (
    Check(
        BUCKET_ENCRYPTION,
        "The signer may use the bucket's KMS key",
        frozenset({"encryption", "lambda", "canary"}),
        judge_encryption,
        impact=Impact.UPLOAD,
        description=(
            "default encryption `aws:kms` (or a URL signing it): the function's role may `kms:GenerateDataKey` on the "
            "key (key policy + IAM: the key policy names the role, or delegates to the account's IAM); SSE-S3 needs "
            "nothing; otherwise the PUT is 403 `AccessDenied` naming `kms:GenerateDataKey`"
        ),
        permissions=_READS,
        codes=(
            "encryption.key_missing",
            "encryption.key_not_enabled",
            "encryption.signer_unknown",
            "policy.unparsable",
            "encryption.signer_no_generate_data_key",
            "encryption.sse_s3",
            "encryption.aws_managed_key",
            "encryption.canary_stored",
            "encryption.signer_may_encrypt",
        ),
        docs="https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html",
    ),
    Check(
        CDN_KMS_GRANT,
        "CloudFront (OAC) may decrypt SSE-KMS objects",
        frozenset({"encryption", "distribution", "bucket_config", "canary"}),
        judge_cdn_kms_grant,
        impact=Impact.DISPLAY,
        description=(
            "with SSE-KMS, the key policy lets `cloudfront.amazonaws.com` `kms:Decrypt` with `AWS:SourceArn` of the "
            "distribution (a legacy OAI, or the AWS managed key `aws/s3`, never can); otherwise the CDN answers 403"
        ),
        permissions=(*_READS, "cloudfront:GetDistribution"),
        codes=(
            "encryption.key_missing",
            "policy.unparsable",
            "kms_cdn.legacy_oai",
            "kms_cdn.aws_managed_key",
            "kms_cdn.distribution_unknown",
            "kms_cdn.no_decrypt",
            "kms_cdn.not_kms",
            "kms_cdn.ok",
        ),
        docs="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html#create-oac-overview-s3",
    ),
)
