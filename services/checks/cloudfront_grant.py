"""Whether a bucket policy lets one CloudFront distribution read every object through Origin Access Control, and
when not, the near misses that explain why (another distribution, no AWS:SourceArn, a legacy OAI, a Deny, keys or
bucket not covered). A diagnosis for the checks over the IAM model in services/aws_model/iam. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from services.aws_model import partitions, statements
from services.aws_model.iam.conditions import _OPERATORS, _condition_holds, _conditions_hold
from services.aws_model.iam.document import CLOUDFRONT_SERVICE, OAI_PRINCIPAL_PREFIX, Policy, PolicyError, Statement
from services.aws_model.iam.evaluate import (
    Principal,
    Request,
    _principal_level,
    arn_matches,
    covers_action,
    evaluate,
)
from services.aws_model.iam.public import _grants_everyone, _restricted
from services.aws_model.s3errors import missing_key_answer
from services.aws_model.wildcard import _covers_all_under, _matches_some_under


class NearMissCode(StrEnum):
    """Stable codes for why a bucket policy does not (cleanly) grant a distribution read access."""

    OTHER_DISTRIBUTION = "other_distribution"  # the grant's AWS:SourceArn names another distribution
    CONDITION_MISMATCH = "condition_mismatch"  # a CloudFront grant whose other conditions exclude this request
    NO_SOURCE_ARN = "no_source_arn"  # CloudFront grant without AWS:SourceArn: every distribution, any account
    LEGACY_OAI = "legacy_oai"  # grant to an Origin Access Identity; OAC requests are not matched by it
    PARTIAL_KEYS = "partial_keys"  # the grant covers only some keys of the bucket
    BUCKET_ARN_ONLY = "bucket_arn_only"  # Resource is the bucket ARN, which names no object
    OTHER_BUCKET = "other_bucket"  # Resource names another bucket
    PUBLIC_READ = "public_read"  # CloudFront reads only because the bucket is public (works only with BPA off)
    DENIED = "denied"  # a Deny statement blocks CloudFront's s3:GetObject on some or all keys


@dataclass(frozen=True)
class NearMiss:
    """One finding about the CloudFront grant: stable code, the statement concerned, detail quoting its values."""

    code: NearMissCode
    statement: Statement
    detail: str


@dataclass(frozen=True)
class GrantResult:
    """What a bucket policy gives one CloudFront distribution.

    `granted`: an Origin Access Control grant (service principal, s3:GetObject on every key, AWS:SourceArn matching
    this distribution) exists and nothing denies it. `readable`: CloudFront can read every key by any route (an
    unconditioned service grant or a public grant count too). `list_bucket`: s3:ListBucket is granted as well, so
    CloudFront sees 404 rather than 403 for a missing key. `statements` are the OAC grant statements found, kept even
    when a Deny (near miss `denied`) overrules them.
    """

    granted: bool
    readable: bool
    list_bucket: bool
    statements: tuple[Statement, ...] = ()
    near_misses: tuple[NearMiss, ...] = ()

    @property
    def codes(self) -> frozenset[NearMissCode]:
        """The near-miss codes found, for tests and checks that assert on sets of codes."""
        return frozenset(m.code for m in self.near_misses)

    @property
    def missing_key_status(self) -> int:
        """The status CloudFront gets from S3 for a key that does not exist."""
        return missing_key_answer(self.list_bucket)[0]


@dataclass(frozen=True)
class _Target:
    """The facts a CloudFront OAC read is judged on."""

    bucket_arn: str
    objects_prefix: str  # "arn:aws:s3:::bucket/"
    distribution_arn: str
    context: Mapping[str, tuple[str, ...]]


def cloudfront_read_grant(policy: Policy, bucket: str, distribution_arn: str) -> GrantResult:
    """Judge whether `policy` (a bucket policy) lets `distribution_arn` read every object of `bucket` through OAC.

    Why: a CDN 403 with `X-Cache: Error from cloudfront` is nearly always this grant missing or slightly wrong, and
    the fix depends on which way it is wrong; so besides the verdict this returns each near miss (another
    distribution's ARN, no SourceArn, a legacy OAI principal, only some keys, the bucket ARN instead of `/*`, a Deny).
    """
    if policy.is_identity_policy:
        raise PolicyError("cloudfront_read_grant needs a bucket policy; this one has no Principal elements")
    target = _target(bucket, distribution_arn)
    misses: list[NearMiss] = []
    granting: list[Statement] = []
    readers: list[Statement] = []
    for statement in policy.statements:
        misses.extend(_judge_statement(statement, target, granting, readers))
    denied = any(m.code is NearMissCode.DENIED for m in misses)
    list_request = Request(Principal.service(CLOUDFRONT_SERVICE), "s3:ListBucket", target.bucket_arn, target.context)
    return GrantResult(
        granted=bool(granting) and not denied,
        readable=bool(readers) and not denied,
        list_bucket=evaluate([policy], list_request).allowed,
        statements=tuple(granting),
        near_misses=tuple(misses),
    )


def _target(bucket: str, distribution_arn: str) -> _Target:
    context: dict[str, tuple[str, ...]] = {
        "aws:sourcearn": (distribution_arn,),
        "aws:securetransport": ("true",),  # CloudFront reaches the S3 REST endpoint over HTTPS
        "aws:principalservicename": (CLOUDFRONT_SERVICE,),
    }
    account = statements.account_of(distribution_arn)
    if account:
        context["aws:sourceaccount"] = (account,)
    bucket_arn = statements.bucket_arn(bucket, partitions.of_arn(distribution_arn))
    return _Target(bucket_arn, bucket_arn + "/", distribution_arn, context)


def _judge_statement(
    statement: Statement, target: _Target, granting: list[Statement], readers: list[Statement]
) -> list[NearMiss]:
    """Near misses of one statement; appends to `granting`/`readers` when it grants the read."""
    if not covers_action(statement, "s3:GetObject"):
        return []
    if statement.effect == "Deny":
        return _deny_miss(statement, target)
    misses = [_oai_miss(statement)] if _oai_values(statement) else []
    if _principal_level(statement, Principal.service(CLOUDFRONT_SERVICE)) is None:
        return misses
    public = _grants_everyone(statement) and not _restricted(statement)
    # Report why a grant fails only when it was aimed at CloudFront, not for every unrelated public statement.
    aimed = _names_cloudfront(statement) or (not public and bool(_source_arn_values(statement)))
    if not _conditions_hold(statement, target.context):
        return misses + ([_condition_miss(statement, target)] if aimed else [])
    resource_miss = _resource_miss(statement, target)
    if resource_miss is not None:
        return misses + ([resource_miss] if aimed else [])
    readers.append(statement)
    if public:
        detail = "grants s3:GetObject to everyone; CloudFront reads through this public grant, not through OAC"
        return [*misses, _miss(NearMissCode.PUBLIC_READ, statement, detail)]
    if not _has_positive_condition(statement, "aws:sourcearn"):
        detail = (
            "grants CloudFront s3:GetObject with no AWS:SourceArn condition, so other distributions can read "
            f"through it too; pin it to {target.distribution_arn}"
        )
        return [*misses, _miss(NearMissCode.NO_SOURCE_ARN, statement, detail)]
    granting.append(statement)
    return misses


def _miss(code: NearMissCode, statement: Statement, detail: str) -> NearMiss:
    return NearMiss(code, statement, f"statement {statement.label} {detail}")


def _deny_miss(statement: Statement, target: _Target) -> list[NearMiss]:
    cloudfront = Principal.service(CLOUDFRONT_SERVICE)
    applies = _principal_level(statement, cloudfront) is not None and _conditions_hold(statement, target.context)
    if not applies or not _touches_objects(statement, target.objects_prefix):
        return []
    where = ", ".join(statement.resources or statement.not_resources)
    element = "Resource" if statement.resources else "NotResource"
    return [_miss(NearMissCode.DENIED, statement, f"denies CloudFront s3:GetObject ({element} {where})")]


def _touches_objects(statement: Statement, prefix: str) -> bool:
    if statement.resources:
        return any(_matches_some_under(p, prefix) for p in statement.resources)
    return not any(_covers_all_under(p, prefix) for p in statement.not_resources)


def _oai_values(statement: Statement) -> tuple[str, ...]:
    if statement.effect != "Allow" or statement.principal is None:
        return ()
    oai = tuple(v for v in statement.principal.aws if v.startswith(OAI_PRINCIPAL_PREFIX))
    return oai + statement.principal.canonical_user


def _oai_miss(statement: Statement) -> NearMiss:
    quoted = ", ".join(repr(v) for v in _oai_values(statement))
    return _miss(
        NearMissCode.LEGACY_OAI,
        statement,
        f"grants a legacy Origin Access Identity ({quoted}); a "
        "distribution using Origin Access Control signs as cloudfront.amazonaws.com and is not matched",
    )


def _names_cloudfront(statement: Statement) -> bool:
    spec = statement.principal
    return spec is not None and any(v.lower() == CLOUDFRONT_SERVICE for v in spec.service)


def _source_arn_values(statement: Statement) -> tuple[str, ...]:
    return tuple(v for c in statement.conditions if c.key.lower() == "aws:sourcearn" for v in c.values)


def _has_positive_condition(statement: Statement, key: str) -> bool:
    return any(c.key.lower() == key and not _OPERATORS[c.base].negated for c in statement.conditions)


def _condition_miss(statement: Statement, target: _Target) -> NearMiss:
    named = _source_arn_values(statement)
    if named and not _condition_group_holds(statement, "aws:sourcearn", target.context):
        quoted = ", ".join(repr(v) for v in named)
        return _miss(
            NearMissCode.OTHER_DISTRIBUTION,
            statement,
            f"grants CloudFront read only for AWS:SourceArn "
            f"{quoted}, not this distribution {target.distribution_arn!r}",
        )
    failing = [
        f"{c.operator} {c.key} {list(c.values)}"
        for c in statement.conditions
        if not _condition_holds(c, target.context)
    ]
    return _miss(
        NearMissCode.CONDITION_MISMATCH,
        statement,
        f"grants CloudFront read but its condition(s) {'; '.join(failing)} do not hold for {target.distribution_arn!r}",
    )


def _condition_group_holds(statement: Statement, key: str, context: Mapping[str, tuple[str, ...]]) -> bool:
    return all(_condition_holds(c, context) for c in statement.conditions if c.key.lower() == key)


def _resource_miss(statement: Statement, target: _Target) -> NearMiss | None:
    prefix = target.objects_prefix
    if statement.not_resources:
        if any(_matches_some_under(p, prefix) for p in statement.not_resources):
            return _miss(
                NearMissCode.PARTIAL_KEYS,
                statement,
                f"excludes keys with NotResource {', '.join(statement.not_resources)}",
            )
        return None
    if any(_covers_all_under(p, prefix) for p in statement.resources):
        return None
    listed = ", ".join(statement.resources)
    if any(_matches_some_under(p, prefix) for p in statement.resources):
        return _miss(NearMissCode.PARTIAL_KEYS, statement, f"covers only some keys: Resource {listed}")
    if any(arn_matches(p, target.bucket_arn) for p in statement.resources):
        return _miss(
            NearMissCode.BUCKET_ARN_ONLY,
            statement,
            f"has Resource {listed}, which names the bucket, not its objects; use {target.objects_prefix}*",
        )
    return _miss(NearMissCode.OTHER_BUCKET, statement, f"has Resource {listed}, not {target.objects_prefix}*")
