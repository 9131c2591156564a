"""Which statements make a resource public, by S3's "meaning of public" rule (a grant to everyone not restricted by a
fixed-value condition on a restricting key). Pure."""

from __future__ import annotations

from services.aws_model.iam.conditions import _network
from services.aws_model.iam.document import Condition, Policy, Statement
from services.aws_model.iam.evaluate import (
    covers_action,
)

# Keys that, fixed to non-wildcard values, make a grant to "*" non-public (S3's "meaning of public" rule).
_RESTRICTING_KEYS = frozenset(
    {
        "aws:sourcearn",
        "aws:sourceaccount",
        "aws:sourceowner",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:principalorgid",
        "aws:principalaccount",
        "aws:principalarn",
        "aws:userid",
        "s3:dataaccesspointarn",
        "s3:dataaccesspointaccount",
        "s3:x-amz-server-side-encryption-aws-kms-key-id",
    }
)


_FIXED_VALUE_OPERATORS = frozenset({"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike"})


def public_statements(policy: Policy) -> list[Statement]:
    """Allow statements that grant to everyone, anonymous callers included, with no effectively restricting condition.

    Why: these are what make a bucket "public" to S3 (and what Block Public Access refuses). A grant to `"*"` /
    `{"AWS": "*"}` (or an Allow with NotPrincipal) stays public unless a condition pins a fixed value of
    aws:SourceArn, aws:SourceAccount, aws:SourceVpc(e), aws:PrincipalOrgID, aws:PrincipalAccount, ... or a
    non-/0 aws:SourceIp range. Deny statements are not subtracted here; use `evaluate` for one concrete request.
    """
    return [s for s in policy.statements if s.effect == "Allow" and _grants_everyone(s) and not _restricted(s)]


def grants_public(policy: Policy, action: str) -> list[Statement]:
    """The public statements (see `public_statements`) whose Action/NotAction covers `action`, e.g. s3:PutObject.

    A non-empty answer for s3:PutObject means anyone can write the bucket without a presigned URL.
    """
    return [s for s in public_statements(policy) if covers_action(s, action)]


def _grants_everyone(statement: Statement) -> bool:
    if statement.principal is not None:
        return statement.principal.wildcard
    return statement.not_principal is not None and not statement.not_principal.wildcard


def _restricted(statement: Statement) -> bool:
    return any(_restricts(c) for c in statement.conditions)


def _restricts(condition: Condition) -> bool:
    if condition.if_exists or condition.qualifier == "ForAllValues" or not condition.values:
        return False  # each of these also holds when the key is absent, as it is for an anonymous caller
    key = condition.key.lower()
    if key == "aws:sourceip":
        networks = [_network(v) for v in condition.values]
        return condition.base == "IpAddress" and all(n is not None and n.prefixlen > 0 for n in networks)
    fixed = all(not any(mark in v for mark in ("*", "?", "${")) for v in condition.values)
    return key in _RESTRICTING_KEYS and condition.base in _FIXED_VALUE_OPERATORS and fixed
