"""What the sandbox builds: names, region, credentials and the seed's configuration (secure shape).

Pure data, shared by the sandbox process that builds the pipeline and the console that points at it.
"""

from __future__ import annotations

import json
from typing import Any

BUCKET = "pipeline-sandbox"
REGION = "ap-northeast-2"
ACCOUNT_ID = "123456789012"  # moto's default account
DISTRIBUTION_ID = "ESANDBOX0CDN01"
#: The sandbox's dummy credentials, as LocalStack's "test": public, sandbox-only, not a secret.
ACCESS_KEY_ID = "test"
SECRET_ACCESS_KEY = "test"  # noqa: S105 - a documented dummy value, accepted only by the local sandbox
APP_ORIGINS = ("http://localhost:5173", "http://localhost:3000", "http://your-service-address.com")
PRESIGN_ROUTE = "/presign"


def distribution_arn(distribution_id: str = DISTRIBUTION_ID) -> str:
    return f"arn:aws:cloudfront::{ACCOUNT_ID}:distribution/{distribution_id}"


def seed_cors_rules(origins: tuple[str, ...] = APP_ORIGINS) -> list[dict[str, Any]]:
    """The seed write-up's bucket CORS, verbatim."""
    return [
        {
            "AllowedHeaders": ["*"],
            "AllowedMethods": ["PUT"],
            "AllowedOrigins": list(origins),
            "ExposeHeaders": [],
        }
    ]


def secure_bucket_policy(bucket: str = BUCKET, distribution_id: str = DISTRIBUTION_ID) -> str:
    """Only this distribution (Origin Access Control) may read; nobody may write without a presigned URL."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Id": "PolicyForCloudFrontPrivateContent",
            "Statement": [
                {
                    "Sid": "AllowCloudFrontServicePrincipal",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudfront.amazonaws.com"},
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/*",
                    "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn(distribution_id)}},
                }
            ],
        }
    )


PUBLIC_ACCESS_BLOCK_ON = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
