"""Read the configuration moto stores, in the sandbox process, for the behaviour layered in front of it.

moto is the store of objects and configuration; this adapter is the one place that knows moto's
internal models (pinned in requirements.txt). Everything it returns is in the shapes the AWS APIs use.
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
    )


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
    }


def set_distribution_ttls(distribution_id: str, min_ttl: int, default_ttl: int, max_ttl: int) -> None:
    behaviour = _cloudfront_backend().distributions[distribution_id].distribution_config.DefaultCacheBehavior
    behaviour.min_ttl, behaviour.default_ttl, behaviour.max_ttl = min_ttl, default_ttl, max_ttl
