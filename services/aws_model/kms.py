"""SSE-KMS as S3 and KMS answer it: which key a bucket's default encryption names, and the errors S3 gives when
KMS refuses the requester. Pure: no I/O. The key-policy evaluation itself is ``iam.evaluate_key_policy``.

- A PUT that S3 encrypts with a KMS key (the bucket's default ``aws:kms``, or ``x-amz-server-side-encryption:
  aws:kms`` on the request) makes S3 call ``kms:GenerateDataKey`` as the requester; refused, the PUT is 403
  ``AccessDenied`` with KMS's own message naming the action (below).
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html#require-sse-kms
- A GET of an SSE-KMS object makes S3 call ``kms:Decrypt`` as the requester (CloudFront's OAC: the service
  principal ``cloudfront.amazonaws.com`` on behalf of the distribution); refused, 403 ``AccessDenied`` "The
  ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not
  allowed to access." (as S3 answers it: ministryofjustice/modernisation-platform#3468). A legacy origin access
  identity cannot use KMS at all.
  https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html#create-oac-overview-s3
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.aws_model.iam.evaluate import Decision

SSE_S3 = "AES256"
SSE_KMS = "aws:kms"
SSE_KMS_DSSE = "aws:kms:dsse"
KMS_ALGORITHMS = frozenset({SSE_KMS, SSE_KMS_DSSE})
#: the AWS managed key S3 uses when aws:kms names no key; its key policy cannot be changed (so no CloudFront grant)
AWS_MANAGED_S3_KEY = "alias/aws/s3"
GENERATE_DATA_KEY = "kms:GenerateDataKey"
DECRYPT = "kms:Decrypt"
#: S3's message for a GET whose kms:Decrypt was refused (the key exists: the requester may not use it)
CIPHERTEXT_DENIED = (
    "The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are "
    "not allowed to access."
)


def default_encryption(configuration: Any) -> tuple[str | None, str | None]:
    """(SSEAlgorithm, KMSMasterKeyID) of GetBucketEncryption's ``ServerSideEncryptionConfiguration`` (its first
    rule with a default, as S3 applies it); (None, None) when there is none."""
    rules = configuration.get("Rules") if isinstance(configuration, Mapping) else None
    for rule in rules if isinstance(rules, list) else []:
        default = rule.get("ApplyServerSideEncryptionByDefault") if isinstance(rule, Mapping) else None
        if isinstance(default, Mapping) and isinstance(default.get("SSEAlgorithm"), str):
            key = default.get("KMSMasterKeyID")
            return str(default["SSEAlgorithm"]), str(key) if isinstance(key, str) and key else None
    return None, None


def uses_kms(algorithm: str | None) -> bool:
    return algorithm in KMS_ALGORITHMS


def key_arn(key_id: str, region: str, account: str, partition: str = "aws") -> str:
    """A key's ARN from its id (an ARN or alias ARN is returned as given)."""
    if key_id.startswith("arn:"):
        return key_id
    if key_id.startswith("alias/"):
        return f"arn:{partition}:kms:{region}:{account}:{key_id}"
    return f"arn:{partition}:kms:{region}:{account}:key/{key_id}"


def not_authorized(principal_arn: str, action: str, resource: str, decision: Decision) -> str:
    """KMS's AccessDenied message for a refused request, as S3 passes it on for a PUT (IAM's wording: "User: <arn>
    is not authorized to perform: <action> on resource: <arn> because no identity-based policy allows the <action>
    action"; https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html, and as S3 returns it,
    buildkite/docs#2344)."""
    head = f"User: {principal_arn} is not authorized to perform: {action} on resource: {resource}"
    if decision.explicit_deny:
        where = "an identity-based" if "identity policy" in decision.reason else "a resource-based"
        return f"{head} with an explicit deny in {where} policy"
    kind = "identity-based" if decision.lacking == "identity" else "resource-based"
    return f"{head} because no {kind} policy allows the {action} action"
