"""Statements AWS expects, built in one place: the CloudFront Origin Access Control grant of a bucket policy.

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
