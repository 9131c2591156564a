"""AWS partitions: which one a region belongs to, its ARN prefix and its S3 DNS suffix.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html (``arn:aws:``, ``arn:aws-cn:``,
``arn:aws-us-gov:``). Pure: no I/O, nothing of the project imported.
"""

from __future__ import annotations

DEFAULT = "aws"


def of_region(region: str | None) -> str:
    """The partition of a region: ``aws``, ``aws-cn`` or ``aws-us-gov`` (``aws`` when the region is not known)."""
    name = (region or "").strip().lower()
    if name.startswith("cn-"):
        return "aws-cn"
    if name.startswith("us-gov-"):
        return "aws-us-gov"
    return DEFAULT


def of_arn(arn: str | None) -> str:
    """The partition an ARN names (``arn:<partition>:...``); ``aws`` for anything that is not an ARN."""
    parts = (arn or "").split(":")
    return parts[1] if len(parts) > 2 and parts[0] == "arn" and parts[1] else DEFAULT


def s3_dns_suffix(region: str | None) -> str:
    """The S3 DNS suffix of the region's partition (``amazonaws.com.cn`` in China)."""
    return "amazonaws.com.cn" if of_region(region) == "aws-cn" else "amazonaws.com"
