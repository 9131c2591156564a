"""Break switches: named, documented ways to put the sandbox into a known broken state and back.

The sandbox's whole configuration is a pure function of the set of switches that are on
(``desired_config``), so switches combine predictably and turning one off restores exactly what it changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from services.aws_model.s3checksums import EMPTY_CRC32
from services.sandbox import layout


@dataclass(frozen=True)
class Switch:
    name: str
    title: str
    symptom: str  # what staff will see through the web app's own requests


SWITCHES: tuple[Switch, ...] = (
    Switch(
        "bucket-cors-origin",
        "Bucket CORS lacks the app origin",
        f"the browser's PUT preflight from {layout.APP_ORIGIN} gets 403 AccessForbidden; the upload is blocked",
    ),
    Switch(
        "api-cors-header",
        "API CORS lacks x-extension",
        "the browser's presign preflight is refused; the presign call is blocked",
    ),
    Switch(
        "content-type-mismatch",
        "Function signs another Content-Type than the app sends",
        "the function signs the other spelling of the type the web app asked for (image/png for the seed's "
        "application/png, and back) without reporting it; the web app's PUT gets 403 SignatureDoesNotMatch",
    ),
    Switch("lambda-role-no-put", "Lambda role without s3:PutObject", "presigning works, the PUT gets 403 AccessDenied"),
    Switch(
        "cdn-grant-missing",
        "Bucket policy lacks the CloudFront grant",
        "CDN reads get 403 with X-Cache: Error from cloudfront",
    ),
    Switch(
        "cdn-grant-other-distribution",
        "Bucket policy grants another distribution",
        "CDN reads get 403: AWS:SourceArn names another distribution",
    ),
    Switch(
        "seed-public-policy",
        "The seed's public read+write policy",
        "anyone can PUT and GET objects without a presigned URL; Block Public Access is off",
    ),
    Switch("urls-expire", "URLs expire before use", "the PUT gets 403 AccessDenied 'Request has expired'"),
    Switch(
        "cdn-short-ttl",
        "CDN caches for seconds only",
        "a repeat read soon misses the cache again (X-Cache: Miss/RefreshHit, tiny Age)",
    ),
    Switch(
        "stored-as-application",
        "Objects stored as application/png",
        "the function signs application/<ext> whatever the web app asks for; uploads succeed but objects "
        "download instead of showing (Content-Type application/png)",
    ),
    Switch(
        "function-signs-acl",
        "Function signs ACL public-read; the bucket has ACLs disabled",
        "the PUT gets 400 AccessControlListNotSupported 'The bucket does not allow ACLs' when the web app sends "
        "x-amz-acl: public-read, 403 SignatureDoesNotMatch when it does not",
    ),
    Switch(
        "function-hands-out-post",
        "Function hands out a presigned POST instead of a PUT URL",
        "the function replies {url, fields, key, contentType} (UPLOAD_SHAPE=post: a policy with content-length-range "
        "1..10000000, the exact Content-Type and key); a client that POSTs the form uploads, the seed's client (which "
        "PUTs presignedUrl) fails, and the bucket's CORS (PUT only) hides S3's answer from a browser's POST",
    ),
    Switch(
        "function-signs-cache-control",
        "Function signs Cache-Control and metadata the web app does not send",
        "the function passes CacheControl and Metadata in its Params (botocore signs them as the headers "
        "cache-control and x-amz-meta-uploaded-by); the web app's PUT without them gets 403 SignatureDoesNotMatch",
    ),
    Switch(
        "function-adds-query-checksums",
        "Function puts checksums in its URLs, as the AWS SDK for JavaScript v3 does",
        f"the URLs carry x-amz-checksum-crc32={EMPTY_CRC32} (an empty body's CRC32) and "
        "x-amz-sdk-checksum-algorithm=CRC32 in their query, as JS SDK v3 >= 3.729 presigns; S3 ignores them, "
        "uploads work (presign.url warns)",
    ),
    Switch(
        "s3-verifies-query-checksums",
        "S3 verifies query checksums, as S3-compatible stores do",
        "S3 checks a presigned URL's query checksum against the body as MinIO, R2 and SeaweedFS do: with "
        "function-adds-query-checksums on too, every upload gets 400 XAmzContentChecksumMismatch",
    ),
    Switch(
        "kms-signer-no-generate-data-key",
        "Bucket encrypts with a KMS key the signer may not use",
        "the bucket's default encryption is aws:kms with a customer managed key whose key policy delegates to the "
        "account's IAM, and the presign role has no kms:GenerateDataKey: presigning works, the PUT gets 403 "
        "AccessDenied 'User: … is not authorized to perform: kms:GenerateDataKey on resource: …'",
    ),
    Switch(
        "kms-cdn-no-decrypt",
        "KMS key policy lacks CloudFront's kms:Decrypt",
        "the bucket's default encryption is aws:kms and the signer may use the key, but the key policy has no "
        "statement for cloudfront.amazonaws.com: uploads succeed, CDN reads get 403 AccessDenied 'The ciphertext "
        "refers to a customer master key that does not exist, …' with X-Cache: Error from cloudfront",
    ),
    Switch(
        "cdn-cors-not-varied",
        "CDN forwards Origin to S3 but keeps it out of the cache key",
        "a web app reading images cross-origin (fetch, <img crossorigin>, canvas) fails now and then: the reply "
        "cached for one origin (or for a plain <img> without Origin) is served to the next, with another origin's "
        "Access-Control-Allow-Origin or none",
    ),
    Switch(
        "function-wrong-region",
        "Function's client signs for us-west-2",
        f"the URL is on the bucket's endpoint but its credential scope names us-west-2: the PUT gets 400 "
        f"AuthorizationQueryParametersError \"the region 'us-west-2' is wrong; expecting '{layout.REGION}'\"",
    ),
    Switch(
        "function-global-endpoint",
        "Function's URLs on the legacy global endpoint",
        "the function signs for us-east-1 on the global name (<bucket>.s3.localhost, as s3.amazonaws.com): S3 "
        "answers 307 TemporaryRedirect, which a browser's CORS preflight cannot follow; the upload is blocked",
    ),
    Switch(
        "reply-key-mismatch",
        "Function reports another key than it signed",
        "the function builds the key twice: its reply's key names a key other than the presigned URL's, so the "
        "upload is stored under one key and the web app reads the other back through the CDN: 403 AccessDenied "
        "(a missing key, which CloudFront may not list), not 404",
    ),
)
SWITCH_NAMES = tuple(s.name for s in SWITCHES)
#: the ACL function-signs-acl makes the function sign
SIGNED_ACL = "public-read"
#: what function-signs-cache-control makes the function pass in its Params (signed as cache-control, x-amz-meta-*)
SIGNED_CACHE_CONTROL = "public, max-age=31536000, immutable"
SIGNED_METADATA = {"uploaded-by": "web-app"}
#: the query parameters function-adds-query-checksums makes the function sign, as JS SDK v3 >= 3.729 presigns
QUERY_CHECKSUMS = (("x-amz-checksum-crc32", EMPTY_CRC32), ("x-amz-sdk-checksum-algorithm", "CRC32"))
OTHER_DISTRIBUTION_ID = "EOTHERDISTRIB01"
#: the switches that make the bucket encrypt with the sandbox's KMS key (default encryption aws:kms)
KMS_SWITCHES = frozenset({"kms-signer-no-generate-data-key", "kms-cdn-no-decrypt"})


@dataclass(frozen=True)
class SandboxConfig:
    cors_rules: list[dict[str, Any]]
    bucket_policy: str | None
    public_access_block: dict[str, bool] | None
    role_policy: str
    api_cors_headers: tuple[str, ...]
    content_type_style: str = "application"  # the shipped function's default (the seed's, for clients that ask none)
    #: the function's CLIENT_CONTENT_TYPE ("match", "ignore"), or "other": the sandbox hands the function the
    #: spelling the client did not ask for, as a function that signs a type of its own choosing would
    client_content_type: str = "match"
    report_content_type: bool = True
    upload_shape: str = "put"  # the function's UPLOAD_SHAPE: "put" (a presigned PUT URL) or "post" (a presigned POST)
    #: what else the function adds to its generate_presigned_url Params (botocore signs each as a header)
    signed_params: dict[str, Any] = field(default_factory=dict)
    #: query parameters the function signs into its URLs besides SigV4's own
    query_params: tuple[tuple[str, str], ...] = ()
    #: S3 checks a presigned URL's query checksums against the body (as S3-compatible stores do; AWS does not)
    verify_query_checksums: bool = False
    #: the function's reply names another key than the one it signed (reply-key-mismatch)
    reply_other_key: bool = False
    url_expires: int = 300
    gateway_delay: float = 0.0
    #: the function's client: None its own (the bucket's region and endpoint), else a lambda_host.SIGNERS name
    function_signer: str | None = None
    cdn_ttls: tuple[int, int, int] = (1, 86_400, 31_536_000)  # min, default, max
    #: PutBucketEncryption's configuration: SSE-S3 unless a KMS switch is on
    bucket_encryption: dict[str, Any] = field(default_factory=lambda: layout.default_encryption(kms=False))
    key_policy: str = field(default_factory=layout.key_policy)
    #: the default cache behaviour's (ForwardedValues.Headers, CachePolicyId, OriginRequestPolicyId)
    cdn_origin_handling: tuple[tuple[str, ...], str, str] = layout.CDN_ORIGIN_KEYED
    active: frozenset[str] = field(default_factory=frozenset)


def unknown(names: list[str] | tuple[str, ...]) -> list[str]:
    return [name for name in names if name not in SWITCH_NAMES]


def _client_content_type(active: frozenset[str]) -> str:
    if "content-type-mismatch" in active:
        return "other"
    return "ignore" if "stored-as-application" in active else "match"


def _signed_params(active: frozenset[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if "function-signs-acl" in active:
        params["ACL"] = SIGNED_ACL
    if "function-signs-cache-control" in active:
        params.update(CacheControl=SIGNED_CACHE_CONTROL, Metadata=dict(SIGNED_METADATA))
    return params


def _function_signer(active: frozenset[str]) -> str | None:
    if "function-global-endpoint" in active:
        return "global"
    return "wrong-region" if "function-wrong-region" in active else None


def desired_config(active: frozenset[str]) -> SandboxConfig:
    """The sandbox's configuration with exactly ``active`` switches on."""
    origins = tuple(o for o in layout.APP_ORIGINS if not ("bucket-cors-origin" in active and o == layout.APP_ORIGIN))
    policy: str | None = layout.secure_bucket_policy()
    pab: dict[str, bool] | None = dict(layout.PUBLIC_ACCESS_BLOCK_ON)
    if "cdn-grant-other-distribution" in active:
        policy = layout.secure_bucket_policy(distribution_id=OTHER_DISTRIBUTION_ID)
    if "cdn-grant-missing" in active:
        policy = None
    if "seed-public-policy" in active:
        policy, pab = layout.seed_public_policy(), None
    kms = bool(active & KMS_SWITCHES)
    # the signer may use the key unless kms-signer-no-generate-data-key takes it away
    signer_key = layout.KMS_KEY_ARN if kms and "kms-signer-no-generate-data-key" not in active else None
    role_policy = layout.presign_role_policy(kms_key_arn=signer_key)
    if "lambda-role-no-put" in active:
        kept = [s for s in json.loads(role_policy)["Statement"] if s["Action"] != "s3:PutObject"]
        get_only = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{layout.BUCKET}/*"}
        role_policy = json.dumps({"Version": "2012-10-17", "Statement": [get_only, *kept]})
    return SandboxConfig(
        cors_rules=layout.seed_cors_rules(origins, layout.SANDBOX_EXPOSE_HEADERS, read_origins=origins),
        bucket_policy=policy,
        public_access_block=pab,
        role_policy=role_policy,
        api_cors_headers=("content-type",) if "api-cors-header" in active else ("content-type", "x-extension"),
        client_content_type=_client_content_type(active),
        report_content_type="content-type-mismatch" not in active,
        upload_shape="post" if "function-hands-out-post" in active else "put",
        signed_params=_signed_params(active),
        query_params=QUERY_CHECKSUMS if "function-adds-query-checksums" in active else (),
        verify_query_checksums="s3-verifies-query-checksums" in active,
        reply_other_key="reply-key-mismatch" in active,
        url_expires=1 if "urls-expire" in active else 300,
        gateway_delay=1.5 if "urls-expire" in active else 0.0,
        cdn_ttls=(0, 2, 2) if "cdn-short-ttl" in active else (1, 86_400, 31_536_000),
        bucket_encryption=layout.default_encryption(kms=kms),
        key_policy=layout.key_policy(cdn_decrypt="kms-cdn-no-decrypt" not in active),
        cdn_origin_handling=layout.CDN_ORIGIN_NOT_KEYED if "cdn-cors-not-varied" in active else layout.CDN_ORIGIN_KEYED,
        function_signer=_function_signer(active),
        active=active,
    )
