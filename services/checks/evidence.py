"""Everything the checks judge, gathered once per run. Pure data: the gatherers fill it (``gather.py``),
the checks (``presign.py``, ``bucket.py``, ``encryption.py``, ``upload.py``, ``cdn.py``, ``lambda_role.py`` ...) only
read it.

Any field may be None when its gatherer was not needed for the selected checks, or could not run
because an earlier step failed; a check then answers ``unknown`` or ``skip``, never a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from services.checks.model import ConfigRead, Exchange
from services.core.settings import DEFAULT_PROFILE, shown_put_headers


@dataclass(frozen=True)
class CheckTarget:
    """What the run points at (from Settings), safe to print."""

    presign_url: str
    bucket: str
    cdn_url: str
    region: str | None
    app_origins: tuple[str, ...] = ()
    distribution_id: str | None = None
    lambda_function: str | None = None
    client_content_type: str = "application/{ext}"
    #: the headers the web app's PUT sends besides Content-Type (PIPELINE_CLIENT_PUT_HEADERS), lower-case names
    client_put_headers: tuple[tuple[str, str], ...] = ()
    #: the web app reads images cross-origin (PIPELINE_APP_READS_CROSS_ORIGIN): cdn.cors applies
    app_reads_cross_origin: bool = False
    sandbox: bool = False
    profile: str = DEFAULT_PROFILE
    production: bool = False
    #: the configured S3 endpoint (AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL), None for AWS's own names
    s3_endpoint: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "presign_url": self.presign_url,
            "bucket": self.bucket,
            "cdn_url": self.cdn_url,
            "region": self.region,
            "app_origins": list(self.app_origins),
            "distribution_id": self.distribution_id,
            "lambda_function": self.lambda_function,
            "client_content_type": self.client_content_type,
            "client_put_headers": shown_put_headers(self.client_put_headers),
            "app_reads_cross_origin": self.app_reads_cross_origin,
            "mode": "sandbox" if self.sandbox else "configured",
            "profile": self.profile,
            "production": self.production,
        }


@dataclass(frozen=True)
class CanaryTiming:
    """When the canary's requests went, by this machine's clocks: what a URL's lifetime is judged against."""

    asked_to_put_s: float  # monotonic: the presign GET sent -> the PUT sent (the URL's age at the PUT, at most)
    presign_answered_at: datetime  # this machine's wall clock (UTC) when the presign reply had arrived
    put_answered_at: datetime  # ... when S3's answer to the PUT had arrived (compared with its Date header)


@dataclass(frozen=True)
class Canary:
    """One real upload through the pipeline with a tiny PNG (``canary/<uuid>.png`` is not used: the
    endpoint picks the key), then the reads that judge what was stored and how the CDN serves it."""

    presign: Exchange  # GET presign with x-extension: png
    key: str | None = None
    signed_content_type: str | None = None  # the endpoint's contentType, when it says
    client_content_type: str | None = None  # what the web app would send (PIPELINE_CLIENT_CONTENT_TYPE)
    put: Exchange | None = None  # PUT with signed_content_type (or the client's when the endpoint is silent)
    put_alternatives: Mapping[str, Exchange] = field(
        default_factory=dict
    )  # content type tried -> PUT (only after a 403 SignatureDoesNotMatch)
    sha256: str | None = None  # of the canary's bytes
    head: ConfigRead | None = None  # s3:HeadObject of the stored object (ContentType, CacheControl ...)
    cdn_first: Exchange | None = None  # GET through the CDN
    cdn_second: Exchange | None = None  # the same GET again: a Hit when caching works
    cdn_body_sha256: str | None = None  # of cdn_first's body
    cdn_gzip: Exchange | None = None  # GET with Accept-Encoding: gzip, br
    direct_s3: Exchange | None = None
    #: canned ACL tried as x-amz-acl -> PUT (only when the URL signs x-amz-acl and the plain PUT got
    #: SignatureDoesNotMatch): the value whose signature matches is the one the function signed
    acl_tries: Mapping[str, Exchange] = field(
        default_factory=dict
    )  # anonymous GET of the object straight from S3 (should be denied)
    #: with PIPELINE_APP_READS_CROSS_ORIGIN: after the reads above, a GET through the CDN with each app origin's
    #: Origin in turn, on the same object (so a reply cached for one is seen served to the next)
    cdn_cors: tuple[Exchange, ...] = ()
    timing: CanaryTiming | None = None  # when the presign reply and the PUT went (None: no PUT was made)


@dataclass(frozen=True)
class Evidence:
    target: CheckTarget
    gathered_at: datetime
    # presign endpoint
    presign_ok: Exchange | None = None  # GET with x-extension: png
    presign_missing_extension: Exchange | None = None  # GET without x-extension
    presign_bad_extension: Exchange | None = None  # GET with x-extension: exe
    presign_with_origin: Mapping[str, Exchange] = field(default_factory=dict)  # origin -> GET with that Origin
    api_preflights: Mapping[str, Exchange] = field(
        default_factory=dict
    )  # origin -> OPTIONS (GET; x-extension, content-type)
    # bucket configuration (s3:GetBucketCors / GetBucketPolicy / GetBucketPublicAccessBlock)
    bucket_cors: ConfigRead | None = None  # value: the CORSRules list
    bucket_policy: ConfigRead | None = None  # value: the policy JSON text
    public_access_block: ConfigRead | None = None  # value: PublicAccessBlockConfiguration dict
    bucket_preflights: Mapping[str, Exchange] = field(
        default_factory=dict
    )  # origin -> OPTIONS (PUT; content-type) to an object URL
    object_url: str | None = None  # the object URL the preflights went to
    # the canary upload and what followed
    canary: Canary | None = None
    #: s3:ListBucket + HeadObject of the newest image objects -> [{"key", "content_type", "read"}]
    stored_sample: ConfigRead | None = None
    #: s3:GetBucketOwnershipControls -> the ObjectOwnership value ("BucketOwnerEnforced" ...); MISSING: none set
    ownership_controls: ConfigRead | None = None
    #: s3:GetEncryptionConfiguration (GetBucketEncryption) -> the ServerSideEncryptionConfiguration ({"Rules": [...]});
    #: MISSING: none set (buckets since January 2023 always have SSE-S3)
    bucket_encryption: ConfigRead | None = None
    #: kms:DescribeKey of the key the default encryption names -> KeyMetadata (Arn, KeyState, KeyManager ...)
    kms_key: ConfigRead | None = None
    #: kms:GetKeyPolicy (policy name "default") of that key -> the key policy's JSON text
    key_policy: ConfigRead | None = None
    #: s3:GetBucketLocation -> the bucket's region (LocationConstraint read by s3endpoints.bucket_region)
    bucket_location: ConfigRead | None = None
    # IAM / Lambda (only when PIPELINE_LAMBDA_FUNCTION is set)
    lambda_config: ConfigRead | None = None  # lambda:GetFunctionConfiguration -> dict with "Role"
    role_policies: ConfigRead | None = None  # iam role policies -> list of {"name", "document" (JSON text)}
    # CloudFront (only when PIPELINE_DISTRIBUTION_ID is set)
    distribution: ConfigRead | None = None  # cloudfront:GetDistribution -> the Distribution dict
    origin_access_control: ConfigRead | None = None  # cloudfront:GetOriginAccessControl -> the OAC dict
    #: with PIPELINE_APP_READS_CROSS_ORIGIN: the default cache behaviour's custom (not managed) cache, origin request
    #: and response headers policies, each read (cloudfront:GetCachePolicy ...) -> its *PolicyConfig document
    cdn_policies: Mapping[str, ConfigRead] = field(default_factory=dict)
