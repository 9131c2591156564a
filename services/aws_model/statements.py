"""Statements AWS expects, built in one place: the CloudFront Origin Access Control grant of a bucket policy, and the
key-policy and IAM statements SSE-KMS needs (the account's root delegating to IAM, CloudFront's kms:Decrypt, the
signer's kms:GenerateDataKey).

https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html
The grant lets CloudFront's service principal ``s3:GetObject`` every key, only on behalf of one distribution
(``AWS:SourceArn``). The partition is the distribution ARN's (``arn:aws-cn:`` in China). Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from services.aws_model import partitions
from services.aws_model.iam.document import CLOUDFRONT_SERVICE

OAC_GRANT_SID = "AllowCloudFrontServicePrincipal"  # the Sid the CloudFront console writes
#: shown where the account id is not known (the distribution could not be read)
ACCOUNT_PLACEHOLDER = "<account-id>"


def bucket_arn(bucket: str, partition: str = partitions.DEFAULT) -> str:
    return f"arn:{partition}:s3:::{bucket}"


def distribution_arn(distribution_id: str, account: str | None = None, partition: str = partitions.DEFAULT) -> str:
    """A distribution's ARN (CloudFront is global: no region in it); ``<account-id>`` when the account is not known."""
    return f"arn:{partition}:cloudfront::{account or ACCOUNT_PLACEHOLDER}:distribution/{distribution_id}"


def function_arn(function: str, region: str | None, account: str | None = None) -> str:
    """A Lambda function's ARN from its name (or the ARN itself when given one), in the region's partition;
    ``<region>`` / ``<account-id>`` where those are not known."""
    if function.startswith("arn:"):
        return function
    partition = partitions.of_region(region)
    return f"arn:{partition}:lambda:{region or '<region>'}:{account or ACCOUNT_PLACEHOLDER}:function:{function}"


def is_distribution_arn(value: Any) -> bool:
    parts = value.split(":", 5) if isinstance(value, str) else []
    return len(parts) == 6 and parts[0] == "arn" and parts[2] == "cloudfront" and parts[5].startswith("distribution/")


def account_of(arn: str | None) -> str | None:
    """The account id an ARN names, None when it names none."""
    parts = (arn or "").split(":")
    return parts[4] if len(parts) > 5 and parts[0] == "arn" and parts[4] else None


def oac_grant(bucket: str, distribution: str, sid: str = OAC_GRANT_SID) -> dict[str, Any]:
    """The secure Origin Access Control grant: CloudFront's service principal, s3:GetObject on every key of
    ``bucket``, pinned to the distribution ARN ``distribution`` (whose partition the bucket ARN takes)."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": CLOUDFRONT_SERVICE},
        "Action": "s3:GetObject",
        "Resource": bucket_arn(bucket, partitions.of_arn(distribution)) + "/*",
        "Condition": {"StringEquals": {"AWS:SourceArn": distribution}},
    }


#: the Sids AWS's documentation gives these key-policy statements
KEY_POLICY_ROOT_SID = "Enable IAM User Permissions"
KMS_CDN_DECRYPT_SID = "AllowCloudFrontServicePrincipalSSE-KMS"


def key_policy_root(account: str, partition: str = partitions.DEFAULT) -> dict[str, Any]:
    """The default key policy's statement: the account's root, which delegates the key to the account's IAM policies
    (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-root-enable-iam)."""
    return {
        "Sid": KEY_POLICY_ROOT_SID,
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }


def kms_cdn_decrypt(distribution: str, sid: str = KMS_CDN_DECRYPT_SID) -> dict[str, Any]:
    """The key-policy statement Origin Access Control needs to read SSE-KMS objects: CloudFront's service principal
    may kms:Decrypt, only on behalf of the distribution ARN ``distribution``
    (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html#create-oac-overview-s3)."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": CLOUDFRONT_SERVICE},
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {"StringEquals": {"AWS:SourceArn": distribution}},
    }


def kms_generate_data_key(key_arn: str, sid: str = "EncryptUploadsWithTheBucketKey") -> dict[str, Any]:
    """The identity-policy statement a signer needs to PUT into a bucket encrypted with ``key_arn``."""
    return {"Sid": sid, "Effect": "Allow", "Action": "kms:GenerateDataKey", "Resource": key_arn}
