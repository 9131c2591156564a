"""What the sandbox builds: names, region, credentials and the seed's configuration (secure shape).

Pure data, shared by the sandbox process that builds the pipeline and the console that points at it.
"""

from __future__ import annotations

import json
from typing import Any

from services.aws_model import cloudfront_cors, statements

BUCKET = "pipeline-sandbox"
REGION = "ap-northeast-2"
ACCOUNT_ID = "123456789012"  # moto's default account
DISTRIBUTION_ID = "ESANDBOX0CDN01"
#: The sandbox's dummy credentials, as LocalStack's "test": public, sandbox-only, not a secret.
ACCESS_KEY_ID = "test"
SECRET_ACCESS_KEY = "test"  # noqa: S105 - a documented dummy value, accepted only by the local sandbox
APP_ORIGIN = "http://localhost:5173"  # where the seed's web client is served from (Vite's default port)
#: the seed's own list of origins; its third, "http://your-service-address.com", is a placeholder to replace with
#: the app's real address, so the sandbox does not ship it as an origin of its own
SEED_APP_ORIGINS = ("http://localhost:5173", "http://localhost:3000", "http://your-service-address.com")
APP_ORIGINS = SEED_APP_ORIGINS[:2]
PRESIGN_ROUTE = "/presign"
#: Object Ownership of the bucket: S3's default for new buckets since April 2023 (ACLs disabled)
OBJECT_OWNERSHIP = "BucketOwnerEnforced"
#: the customer managed KMS key the sandbox keeps for SSE-KMS (the id AWS's documentation uses as its example)
KMS_KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KMS_KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/{KMS_KEY_ID}"


def virtual_hosts(bucket: str = BUCKET, region: str = REGION) -> tuple[str, ...]:
    """The ``*.localhost`` names the sandbox's URLs use: the bucket's virtual host (its presigned URLs), the
    regional S3 endpoint (the presign function's client), and the global endpoint's two shapes (the
    ``function-global-endpoint`` switch's URLs, which S3 redirects)."""
    return (f"{bucket}.s3.{region}.localhost", f"s3.{region}.localhost", f"{bucket}.s3.localhost", "s3.localhost")


def distribution_arn(distribution_id: str = DISTRIBUTION_ID) -> str:
    return statements.distribution_arn(distribution_id, ACCOUNT_ID)


def seed_cors_rules(
    origins: tuple[str, ...] = SEED_APP_ORIGINS, expose: tuple[str, ...] = (), read_origins: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """The seed write-up's bucket CORS (verbatim with the defaults); with ``read_origins``, a second rule letting
    those origins GET (and HEAD) objects cross-origin, as a web app reading images with fetch or canvas needs."""
    rules: list[dict[str, Any]] = [
        {
            "AllowedHeaders": ["*"],
            "AllowedMethods": ["PUT"],
            "AllowedOrigins": list(origins),
            "ExposeHeaders": list(expose),
        }
    ]
    if read_origins:
        rules.append({"AllowedMethods": ["GET", "HEAD"], "AllowedOrigins": list(read_origins)})
    return rules


#: the sandbox's healthy CORS: the seed's rule, exposing ETag as a browser needs for multipart uploads
SANDBOX_EXPOSE_HEADERS = ("ETag",)
#: the distribution's response headers policy in the sandbox: uuid keys never change, so cache for a year
SANDBOX_VIEWER_CACHE_CONTROL = "public, max-age=31536000, immutable"


#: the default cache behaviour's handling of Origin (ForwardedValues.Headers, CachePolicyId, OriginRequestPolicyId):
#: in the sandbox, Origin is forwarded and part of the cache key (legacy cache settings), so each app origin gets
#: S3's CORS answer for itself; ``cdn-cors-not-varied`` attaches CachingOptimized with CORS-S3Origin instead, a
#: common configuration that forwards Origin to S3 but keeps it out of the cache key
CDN_ORIGIN_KEYED: tuple[tuple[str, ...], str, str] = (("Origin",), "", "")
CDN_ORIGIN_NOT_KEYED: tuple[tuple[str, ...], str, str] = (
    (),
    cloudfront_cors.CACHING_OPTIMIZED,
    cloudfront_cors.CORS_S3_ORIGIN,
)


def secure_bucket_policy(bucket: str = BUCKET, distribution_id: str = DISTRIBUTION_ID) -> str:
    """Only this distribution (Origin Access Control) may read; nobody may write without a presigned URL."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Id": "PolicyForCloudFrontPrivateContent",
            "Statement": [statements.oac_grant(bucket, distribution_arn(distribution_id))],
        }
    )


PUBLIC_ACCESS_BLOCK_ON = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


# Identities the sandbox knows. Signatures are verified against these; any other key is InvalidAccessKeyId.
PRESIGN_ROLE_NAME = "presign-role"
PRESIGN_ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/{PRESIGN_ROLE_NAME}"
PRESIGN_ROLE_KEY = "ASIASANDBOXPRESIGN01"
PRESIGN_ROLE_SECRET = "sandbox-presign-role-dummy-secret"  # noqa: S105 - sandbox-only dummy
CDN_KEY = "ASIASANDBOXCLOUDFRONT"
CDN_SECRET = "sandbox-cloudfront-oac-dummy-secret"  # noqa: S105 - sandbox-only dummy
LAMBDA_FUNCTION = "image-presign"


def presign_role_policy(bucket: str = BUCKET, kms_key_arn: str | None = None) -> str:
    """The Lambda role's inline policy: exactly s3:PutObject on the bucket's objects (and kms:GenerateDataKey on
    ``kms_key_arn``, the key an SSE-KMS bucket encrypts with)."""
    statements_: list[dict[str, Any]] = [
        {
            "Sid": "PutUploads",
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{bucket}/*",
        }
    ]
    if kms_key_arn:
        statements_.append(statements.kms_generate_data_key(kms_key_arn))
    return json.dumps({"Version": "2012-10-17", "Statement": statements_})


#: the presign function's role session: who S3 and KMS see on its presigned PUTs
PRESIGN_SESSION_ARN = f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{PRESIGN_ROLE_NAME}/{LAMBDA_FUNCTION}"


def key_policy(cdn_decrypt: bool = True) -> str:
    """The sandbox key's policy: the account's root (IAM decides for the account's roles) and, with
    ``cdn_decrypt``, CloudFront's kms:Decrypt for this distribution."""
    body = [statements.key_policy_root(ACCOUNT_ID)]
    if cdn_decrypt:
        body.append(statements.kms_cdn_decrypt(distribution_arn()))
    return json.dumps({"Version": "2012-10-17", "Id": "key-policy-pipeline-sandbox", "Statement": body})


def default_encryption(kms: bool) -> dict[str, Any]:
    """The bucket's default encryption as PutBucketEncryption takes it: SSE-S3 (every bucket's since January 2023),
    or SSE-KMS with the sandbox's key."""
    default: dict[str, str] = (
        {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KMS_KEY_ARN} if kms else {"SSEAlgorithm": "AES256"}
    )
    return {"Rules": [{"ApplyServerSideEncryptionByDefault": default, "BucketKeyEnabled": False}]}


LAMBDA_TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def seed_public_policy(bucket: str = BUCKET) -> str:
    """The seed write-up's policy: anyone may read AND write (the console flags it)."""
    return json.dumps(
        {
            "Id": "Policy1718086112979",
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Stmt1718086111552",
                    "Action": ["s3:GetObject", "s3:PutObject"],
                    "Effect": "Allow",
                    "Resource": f"arn:aws:s3:::{bucket}/*",
                    "Principal": "*",
                }
            ],
        }
    )


OAC_CONFIG = {
    "Name": "pipeline-sandbox-oac",
    "Description": "Origin Access Control for the sandbox bucket",
    "SigningProtocol": "sigv4",
    "SigningBehavior": "always",
    "OriginAccessControlOriginType": "s3",
}


def distribution_config(oac_id: str, bucket: str = BUCKET) -> dict:
    """The seed's distribution: the bucket's REST endpoint with OAC, GET/HEAD, compression, long TTLs."""
    return {
        "CallerReference": "pipeline-sandbox",
        "Comment": "Image pipeline sandbox CDN",
        "Enabled": True,
        "Origins": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": "s3-origin",
                    "DomainName": f"{bucket}.s3.{REGION}.amazonaws.com",
                    "S3OriginConfig": {"OriginAccessIdentity": ""},
                    "OriginAccessControlId": oac_id,
                }
            ],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": "s3-origin",
            "ViewerProtocolPolicy": "redirect-to-https",
            "Compress": True,
            "MinTTL": 1,
            "DefaultTTL": 86_400,
            "MaxTTL": 31_536_000,
            "AllowedMethods": {
                "Quantity": 2,
                "Items": ["GET", "HEAD"],
                "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]},
            },
            "ForwardedValues": {
                "QueryString": False,
                "Cookies": {"Forward": "none"},
                "Headers": {"Quantity": len(CDN_ORIGIN_KEYED[0]), "Items": list(CDN_ORIGIN_KEYED[0])},
            },
        },
    }
