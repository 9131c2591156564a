"""moto's stored state, in the sandbox process: read for the behaviour layered in front of it, written for the
sandbox's own configuration.

moto is the store of objects and configuration; this adapter is the one place that knows moto's
internal models (pinned in requirements.txt). Everything it returns is in the shapes the AWS APIs use;
everything it writes is what moto's own API layer would store for the same call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.sandbox import layout


@dataclass(frozen=True)
class BucketConfig:
    exists: bool
    cors_rules: list[dict[str, Any]] | None = None  # None: no CORS configuration at all
    policy: str | None = None
    public_access_block: dict[str, bool] | None = None
    object_ownership: str | None = None  # BucketOwnerEnforced / BucketOwnerPreferred / ObjectWriter; None: unset
    #: GetBucketEncryption's ServerSideEncryptionConfiguration ({"Rules": [...]}); None: none stored
    encryption: dict[str, Any] | None = None


def _s3_backend() -> Any:
    from moto.s3.models import s3_backends

    return s3_backends[layout.ACCOUNT_ID]["aws"]


def _rule_dict(rule: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "AllowedMethods": list(rule.allowed_methods or []),
        "AllowedOrigins": list(rule.allowed_origins or []),
    }
    if rule.allowed_headers:
        out["AllowedHeaders"] = list(rule.allowed_headers)
    if rule.exposed_headers:
        out["ExposeHeaders"] = list(rule.exposed_headers)
    if rule.max_age_seconds not in (None, ""):
        out["MaxAgeSeconds"] = int(rule.max_age_seconds)
    if rule.id_:
        out["ID"] = rule.id_
    return out


def bucket_config(bucket: str) -> BucketConfig:
    """The bucket's CORS rules, policy and Block Public Access settings as S3 would return them."""
    from moto.s3.exceptions import MissingBucket

    try:
        found = _s3_backend().get_bucket(bucket)
    except MissingBucket:
        return BucketConfig(exists=False)
    pab = found.public_access_block
    return BucketConfig(
        exists=True,
        cors_rules=[_rule_dict(rule) for rule in found.cors] or None,
        policy=found.policy.decode() if found.policy else None,
        public_access_block=(
            {
                "BlockPublicAcls": pab.block_public_acls,
                "IgnorePublicAcls": pab.ignore_public_acls,
                "BlockPublicPolicy": pab.block_public_policy,
                "RestrictPublicBuckets": pab.restrict_public_buckets,
            }
            if pab
            else None
        ),
        object_ownership=found.ownership_rule or None,
        encryption=(
            {
                "Rules": [
                    {
                        "ApplyServerSideEncryptionByDefault": dict(
                            found.encryption["Rule"]["ApplyServerSideEncryptionByDefault"]
                        )
                    }
                ]
            }
            if found.encryption
            else None
        ),
    )


@dataclass(frozen=True)
class StoredObject:
    """An object's GET answer as moto's S3 API gives it: its headers and bytes."""

    headers: dict[str, str]
    body: bytes


def plain_object(bucket: str, key: str) -> StoredObject | None:
    """The GET answer for a plain object, read straight from moto's store; None whenever moto's own GET must
    answer instead (no such key, a delete marker, a versioned or logging bucket, an archive storage class,
    encryption, no stored Content-Type, or a bucket policy moto itself would apply a Deny from).

    For the common case it is moto's answer without moto's HTTP layer (Flask, request parsing), which is most of
    the cost of a CDN miss; callers still decide who may read (the S3 front's authorisation) before asking.
    """
    from moto.iam.access_control import PermissionResult
    from moto.s3.exceptions import MissingBucket

    backend = _s3_backend()
    try:
        found = backend.get_bucket(bucket)
    except MissingBucket:
        return None
    if found.is_versioned or found.logging:
        return None
    obj = backend.get_object(bucket, key)
    # SSE-S3 and SSE-KMS objects are answered with their x-amz-server-side-encryption headers (response_dict);
    # SSE-C needs the customer's key checked, which moto's GET does
    if obj is None or obj.storage_class != "STANDARD" or obj.encryption not in (None, "AES256", "aws:kms"):
        return None
    if "content-type" not in obj.metadata:
        return None
    if found.get_permission("s3:GetObject", f"arn:{found.partition}:s3:::{bucket}/{key}") == PermissionResult.DENIED:
        return None
    headers = {str(name): str(value) for name, value in obj.response_dict.items()}
    headers.update({str(name): str(value) for name, value in obj.metadata.items()})
    headers["Accept-Ranges"] = "bytes"
    return StoredObject(headers, obj.value)


def object_etag(bucket: str, key: str) -> str | None:
    """The current version's ETag of an object, quoted as S3 sends it; None when there is no such object."""
    from moto.s3.exceptions import MissingBucket

    try:
        obj = _s3_backend().get_object(bucket, key)
    except MissingBucket:
        return None
    return None if obj is None else str(obj.etag)


def object_encryption(bucket: str, key: str) -> tuple[str | None, str | None]:
    """(x-amz-server-side-encryption, its KMS key id) of the object as stored; (None, None) when there is none."""
    from moto.s3.exceptions import MissingBucket

    try:
        obj = _s3_backend().get_object(bucket, key)
    except MissingBucket:
        return None, None
    if obj is None:
        return None, None
    return obj.encryption, obj.kms_key_id


def _kms_backend() -> Any:
    from moto.kms.models import kms_backends

    return kms_backends[layout.ACCOUNT_ID][layout.REGION]


def kms_key(reference: str) -> tuple[str, str] | None:
    """(ARN, key policy) of the KMS key ``reference`` names (id, ARN, alias or alias ARN); None when there is none
    (the AWS managed key aws/s3 is only made when first used, as KMS does)."""
    backend = _kms_backend()
    try:
        found = backend.keys.get(backend.any_id_to_key_id(reference))
    except Exception:  # noqa: BLE001 - moto raises its own NotFound types for an unknown alias
        return None
    return (str(found.arn), str(found.policy)) if found is not None else None


def role_policies(role_name: str) -> list[str]:
    """Every policy document attached to the role (inline and managed), as JSON text."""
    from moto.iam.models import iam_backends

    backend = iam_backends[layout.ACCOUNT_ID]["aws"]
    try:
        role = backend.get_role(role_name)
    except Exception:  # noqa: BLE001 - moto raises its own NotFound types; a missing role has no policies
        return []
    documents = [str(doc) for doc in role.policies.values()]
    for managed in role.managed_policies.values():
        version = next((v for v in managed.versions if v.is_default), None)
        if version is not None:
            documents.append(version.document)
    return documents


def _cloudfront_backend() -> Any:
    from moto.cloudfront.models import cloudfront_backends

    return cloudfront_backends[layout.ACCOUNT_ID]["aws"]


def adopt_distribution(moto_id: str, distribution_id: str, oac_id: str) -> None:
    """Give the distribution moto created the sandbox's fixed id, and keep its Origin Access Control.

    moto assigns random ids and drops ``OriginAccessControlId`` from origins; the bucket policy names a
    fixed distribution ARN and the console's checks read the OAC id back with ``get_distribution``.
    """
    backend = _cloudfront_backend()
    dist = backend.distributions.pop(moto_id)
    dist.distribution_id = dist.id = distribution_id
    dist.arn = layout.distribution_arn(distribution_id)
    for origin in dist.distribution_config.Origins["Items"]:
        origin.origin_access_control_id = oac_id
    backend.distributions[distribution_id] = dist


def distribution_behaviour(distribution_id: str) -> dict[str, Any] | None:
    """The default cache behaviour as stored (TTLs, Compress, AllowedMethods), or None if it is gone."""
    dist = _cloudfront_backend().distributions.get(distribution_id)
    if dist is None:
        return None
    behaviour = dist.distribution_config.DefaultCacheBehavior
    return {
        "MinTTL": int(behaviour.min_ttl or 0),
        "DefaultTTL": int(behaviour.default_ttl or 0),
        "MaxTTL": int(behaviour.max_ttl or 0),
        "Compress": bool(behaviour.compress),
        "AllowedMethods": [str(m).upper() for m in behaviour.allowed_methods.items],
        "ForwardedValues": {"Headers": {"Items": list(_forwarded_headers(behaviour))}},
        "CachePolicyId": str(behaviour.cache_policy_id or ""),
        "OriginRequestPolicyId": str(behaviour.origin_request_policy_id or ""),
        "ResponseHeadersPolicyId": str(behaviour.response_headers_policy_id or ""),
    }


def _forwarded_headers(behaviour: Any) -> list[str]:
    headers = getattr(behaviour.forwarded_values, "Headers", None) or {}
    items = headers.get("Items") if isinstance(headers, dict) else None
    if isinstance(items, dict):  # moto's XML parsing: {"Name": [...]} or {"Name": "Origin"}
        items = items.get("Name")
    if isinstance(items, str):
        items = [items]
    return [str(item) for item in items or []]


def set_distribution_origin_handling(
    distribution_id: str, forwarded_headers: tuple[str, ...], cache_policy_id: str, origin_request_policy_id: str
) -> None:
    """The default cache behaviour's legacy ForwardedValues.Headers and its cache / origin request policy ids, as
    UpdateDistribution would store them."""
    behaviour = _cloudfront_backend().distributions[distribution_id].distribution_config.DefaultCacheBehavior
    behaviour.forwarded_values.Headers = {"Quantity": len(forwarded_headers), "Items": list(forwarded_headers)}
    behaviour.cache_policy_id = cache_policy_id
    behaviour.origin_request_policy_id = origin_request_policy_id or None


def set_distribution_ttls(distribution_id: str, min_ttl: int, default_ttl: int, max_ttl: int) -> None:
    behaviour = _cloudfront_backend().distributions[distribution_id].distribution_config.DefaultCacheBehavior
    behaviour.min_ttl, behaviour.default_ttl, behaviour.max_ttl = min_ttl, default_ttl, max_ttl


# --- writes: the sandbox's own configuration, put into moto's backends in process ---------------------
#
# Each writer hands moto's backend exactly what moto's own HTTP layer hands it for the same API call from
# boto3 (same shapes, same defaults), so what the APIs read back is the same as if it had been configured
# over HTTP; it only skips botocore, a socket and moto's request parsing (most of the sandbox's start-up).


def create_bucket(bucket: str, region: str) -> None:
    """CreateBucket with ``LocationConstraint=region`` (no ACL, Object Lock or ownership headers)."""
    _s3_backend().create_bucket(bucket, region)


def put_ownership_controls(bucket: str, ownership: str) -> None:
    """PutBucketOwnershipControls with one rule (moto keeps the ObjectOwnership value)."""
    _s3_backend().put_bucket_ownership_controls(bucket, ownership)


def put_bucket_encryption(bucket: str, configuration: dict[str, Any]) -> None:
    """PutBucketEncryption with the ServerSideEncryptionConfiguration in boto3's shape (its first rule, as moto's
    XML parsing keeps it)."""
    rule = configuration["Rules"][0]
    stored: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": dict(rule["ApplyServerSideEncryptionByDefault"])}
    if "BucketKeyEnabled" in rule:
        stored["BucketKeyEnabled"] = str(bool(rule["BucketKeyEnabled"])).lower()
    _s3_backend().put_bucket_encryption(bucket, {"Rule": stored})


def create_kms_key(key_id: str, policy: str, description: str) -> None:
    """CreateKey (symmetric, ENCRYPT_DECRYPT) with ``policy``, given the fixed ``key_id`` (moto assigns random ids;
    the bucket's encryption and the role's policy name the key's ARN)."""
    backend = _kms_backend()
    key = backend.create_key(policy, "ENCRYPT_DECRYPT", "SYMMETRIC_DEFAULT", description, None)
    backend.keys.pop(key.id)
    key.id = key_id
    key.arn = f"arn:aws:kms:{layout.REGION}:{layout.ACCOUNT_ID}:key/{key_id}"
    backend.keys[key_id] = key


def put_key_policy(key_id: str, policy: str) -> None:
    _kms_backend().put_key_policy(key_id, policy)


def put_bucket_cors(bucket: str, rules: list[dict[str, Any]]) -> None:
    """PutBucketCors with rules in boto3's shape (``AllowedMethods`` ...), as moto's XML parsing hands them on."""
    parsed = []
    for rule in rules:
        item: dict[str, Any] = {}
        for plural, singular in _CORS_LISTS:
            if rule.get(plural):  # an empty list is no element at all in the XML boto3 sends
                item[singular] = list(rule[plural])
        if rule.get("MaxAgeSeconds") is not None:
            item["MaxAgeSeconds"] = str(rule["MaxAgeSeconds"])
        if rule.get("ID"):
            item["ID"] = str(rule["ID"])
        parsed.append(item)
    _s3_backend().put_bucket_cors(bucket, parsed)


_CORS_LISTS = (
    ("AllowedHeaders", "AllowedHeader"),
    ("AllowedMethods", "AllowedMethod"),
    ("AllowedOrigins", "AllowedOrigin"),
    ("ExposeHeaders", "ExposeHeader"),
)


def put_bucket_policy(bucket: str, document: str | None) -> None:
    """PutBucketPolicy (moto keeps the request body's bytes), or DeleteBucketPolicy for None."""
    if document is None:
        _s3_backend().delete_bucket_policy(bucket)
    else:
        _s3_backend().put_bucket_policy(bucket, document.encode())


def put_public_access_block(bucket: str, settings: dict[str, bool] | None) -> None:
    """PutPublicAccessBlock, or DeletePublicAccessBlock for None."""
    if settings is None:
        _s3_backend().delete_public_access_block(bucket)
    else:
        _s3_backend().put_public_access_block(bucket, dict(settings))


def _iam_backend() -> Any:
    from moto.iam.models import iam_backends

    return iam_backends[layout.ACCOUNT_ID]["aws"]


def create_role(role_name: str, trust_policy: str) -> None:
    """CreateRole with only RoleName and AssumeRolePolicyDocument (moto's defaults for the rest)."""
    _iam_backend().create_role(role_name, trust_policy, None, None, None, [], 3600)


def put_role_policy(role_name: str, policy_name: str, document: str) -> None:
    _iam_backend().put_role_policy(role_name, policy_name, document)


def create_function(region: str, spec: dict[str, Any]) -> None:
    """CreateFunction with the request's JSON body (``Code.ZipFile`` base64, as boto3 sends it)."""
    from moto.awslambda.models import lambda_backends

    lambda_backends[layout.ACCOUNT_ID][region].create_function(spec)


def create_origin_access_control(config: dict[str, Any]) -> str:
    """CreateOriginAccessControl; returns the new control's id."""
    return str(_cloudfront_backend().create_origin_access_control(dict(config)).id)


def create_distribution(config: dict[str, Any]) -> str:
    """CreateDistribution with ``DistributionConfig`` in boto3's shape (moto parses the XML into the same);
    returns moto's id for it."""
    dist, _location, _etag = _cloudfront_backend().create_distribution(distribution_config=config, tags=[])
    return str(dist.distribution_id)
