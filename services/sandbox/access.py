"""Who may do what in the sandbox's bucket: the bucket policy, Block Public Access and IAM, as S3 decides.

Pure over what moto stores (read through ``moto_state``); the policy language itself is ``services.aws_model.policy``.
Object ACLs are not modelled: buckets are created with the owner-only ACL and Object Ownership
"bucket owner enforced", so on AWS too they would play no part.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING

from services.aws_model import iam
from services.sandbox import layout, moto_state

if TYPE_CHECKING:
    from services.sandbox.s3front import Identity

LOG = logging.getLogger("sandbox")


@functools.lru_cache(maxsize=64)
def _parsed(text: str, attached_to: str | None = None) -> iam.Policy | None:
    try:
        return iam.parse_policy(text, attached_to=attached_to)
    except iam.PolicyError as err:
        LOG.warning("ignoring an unparseable policy: %s", err)
        return None


def _principal(identity: Identity) -> iam.Principal:
    if identity.kind == "service":
        return iam.Principal.service(identity.arn or "")
    if identity.kind in ("role", "admin"):
        return iam.Principal.aws(identity.arn or layout.ACCOUNT_ID)
    return iam.ANONYMOUS


def _restricted_public(config: moto_state.BucketConfig, bucket_policy: iam.Policy | None) -> bool:
    """RestrictPublicBuckets: a public bucket policy grants nothing to anyone outside the account or AWS services."""
    pab = config.public_access_block or {}
    return (
        bool(pab.get("RestrictPublicBuckets"))
        and bucket_policy is not None
        and bool(iam.public_statements(bucket_policy))
    )


def decide(identity: Identity, action: str, resource: str, config: moto_state.BucketConfig) -> iam.Decision:
    """The decision for one request, with the reason (for logs and tests)."""
    bucket_policy = _parsed(config.policy) if config.policy else None
    if identity.kind == "anonymous" and _restricted_public(config, bucket_policy):
        return iam.Decision(False, "Block Public Access (RestrictPublicBuckets) ignores the public bucket policy")
    policies = [bucket_policy] if bucket_policy is not None else []
    policies.extend(_identity_policies(identity))
    request = iam.Request(
        principal=_principal(identity), action=action, resource=resource, context=dict(identity.context or {})
    )
    return iam.evaluate(policies, request)


def _identity_policies(identity: Identity) -> list[iam.Policy]:
    """The IAM policies attached to a role identity (inline and managed), parsed; none for other identities."""
    if identity.kind != "role":
        return []
    role_name = (identity.arn or "").rsplit("/", 1)[-1]
    parsed = (_parsed(document, identity.arn) for document in moto_state.role_policies(role_name))
    return [policy for policy in parsed if policy is not None]


def decide_kms(identity: Identity, action: str, key_arn: str, key_policy: str) -> iam.Decision:
    """May ``identity`` use the KMS key (``kms:GenerateDataKey`` for a PUT S3 encrypts, ``kms:Decrypt`` for a GET):
    its key policy and the identity's IAM policies together, as KMS decides (``iam.evaluate_key_policy``)."""
    if identity.kind == "admin":
        return iam.Decision(True, "the sandbox's administrator")
    policy = _parsed(key_policy)
    if policy is None or policy.is_identity_policy:
        return iam.Decision(False, "the key policy does not parse", lacking="resource")
    request = iam.Request(_principal(identity), action, key_arn, dict(identity.context or {}))
    return iam.evaluate_key_policy(policy, _identity_policies(identity), request)


def is_allowed(identity: Identity, action: str, resource: str, config: moto_state.BucketConfig) -> bool:
    if identity.kind == "admin":
        return True
    return decide(identity, action, resource, config).allowed
