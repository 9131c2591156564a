"""Decide a request as IAM and S3 do: explicit Deny beats Allow, same-account union of identity and resource policies,
cross-account intersection; who a principal is (roles, sessions, accounts, services, anonymous). Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from services.aws_model.iam.conditions import _conditions_hold
from services.aws_model.iam.document import ContextValue, Policy, PolicyError, PrincipalSpec, Statement, _is_account_id
from services.aws_model.wildcard import (
    action_matches,
    arn_matches,
)


@dataclass(frozen=True)
class Principal:
    """Who makes a request. Build with `Principal.aws(arn)`, `Principal.service(name)` or use `ANONYMOUS`."""

    kind: Literal["Anonymous", "AWS", "Service", "CanonicalUser", "Federated"]
    id: str = ""
    account: str | None = None

    @classmethod
    def aws(cls, arn: str, account: str | None = None) -> Principal:
        """An IAM identity: a role/user ARN, an assumed-role session ARN, an account root ARN or a bare account id.

        The account defaults to the ARN's account field; a bare 12-digit id stands for that account's root.
        """
        if _is_account_id(arn):
            return cls("AWS", f"arn:aws:iam::{arn}:root", arn)
        parts = arn.split(":", 5)
        if len(parts) < 6 or parts[0] != "arn":
            raise ValueError(f"not an IAM principal ARN: {arn!r}")
        return cls("AWS", arn, account or parts[4] or None)

    @classmethod
    def service(cls, name: str) -> Principal:
        """A service principal such as `cloudfront.amazonaws.com` (compared case-insensitively)."""
        return cls("Service", name.lower())


ANONYMOUS = Principal("Anonymous")


@dataclass(frozen=True)
class Request:
    """One request to authorize. Context keys are matched case-insensitively; a list value is multi-valued.

    `resource_account` is the account owning the resource: when it differs from the principal's account the
    request is cross-account and needs an Allow from both the identity and the resource policy. None means
    "same account" (the usual sandbox case). aws:PrincipalArn / aws:PrincipalAccount / aws:PrincipalServiceName
    are filled in from `principal` unless the context already has them.
    """

    principal: Principal
    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    resource_account: str | None = None


@dataclass(frozen=True)
class Decision:
    """The verdict: `allowed`, a one-line `reason`, and the statements that decided it (deniers or allowers)."""

    allowed: bool
    reason: str
    statements: tuple[Statement, ...] = ()
    #: for a denial without an explicit Deny, the kind of policy that would have had to allow it: "identity" (the
    #: resource policy delegates to the account, no IAM policy allows) or "resource"; AWS's message says which
    lacking: Literal["identity", "resource"] | None = None

    @property
    def explicit_deny(self) -> bool:
        """True when a Deny statement matched (as opposed to nothing allowing the request)."""
        return not self.allowed and any(s.effect == "Deny" for s in self.statements)


_Level = Literal["direct", "account"]


@dataclass(frozen=True)
class _Hit:
    statement: Statement
    level: _Level  # "account": the resource policy names the principal's account, not the principal itself
    source: str  # "" for a resource policy, " of the identity policy of <arn>" for an identity policy


def evaluate(policies: Sequence[Policy], request: Request) -> Decision:
    """Decide one request against resource and identity policies together, as AWS does.

    An explicit Deny anywhere wins. Within one account, an Allow in either an identity policy (attached to the
    requesting identity) or the resource policy suffices, except that a resource-policy grant naming only the
    account (`arn:aws:iam::ACCOUNT:root` / bare id) delegates to the account and needs an identity Allow too.
    Cross-account requests (see `Request.resource_account`) need both. Anonymous and service principals are
    governed by resource policies alone. Raises PolicyError for an identity policy parsed without `attached_to`.
    """
    context = _request_context(request)
    hits: list[_Hit] = []
    for policy in policies:
        hits.extend(_policy_hits(policy, request, context))
    return _decide(hits, request)


def evaluate_key_policy(key_policy: Policy, identity_policies: Sequence[Policy], request: Request) -> Decision:
    """Decide a request on a KMS key as KMS does: the key policy is where every permission on the key starts.

    A key-policy statement naming the principal (or its role) grants directly; one naming the account's root
    (`arn:aws:iam::ACCOUNT:root` / the bare id) delegates to IAM, so an identity policy must allow it too; without
    such a statement IAM policies grant nothing on the key, whatever they say. Service principals
    (`cloudfront.amazonaws.com`) are granted by the key policy alone. An explicit Deny anywhere wins; across
    accounts both the key policy and IAM must allow. https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
    https://docs.aws.amazon.com/kms/latest/developerguide/determining-access-key-policy.html
    """
    context = _request_context(request)
    key_hits = _policy_hits(key_policy, request, context)
    identity = [h for policy in identity_policies for h in _policy_hits(policy, request, context)]
    denies = [h for h in (*key_hits, *identity) if h.statement.effect == "Deny"]
    if denies:
        first = denies[0]
        where = first.source or " of the key policy"
        return Decision(False, f"explicit deny by statement {first.statement.label}{where}", _stmts(denies))
    direct = [h for h in key_hits if h.level == "direct"]
    delegated = [h for h in key_hits if h.level == "account"]
    who = request.principal
    if _is_cross_account(request):
        return _decide_cross_account(identity, direct + delegated, who)
    if direct:
        return _allowed(direct + identity)
    if delegated and identity:
        return _allowed(delegated + identity)
    if delegated:
        return Decision(
            False,
            f"the key policy's statement {delegated[0].statement.label} delegates to account {who.account} (IAM), "
            f"and no identity policy of {who.id} allows {request.action} (implicit deny)",
            lacking="identity",
        )
    if identity:
        return Decision(
            False,
            f"an identity policy of {who.id} allows {request.action}, but the key policy neither names it nor "
            "delegates to the account's IAM (no statement for the account's root): IAM alone grants nothing on a "
            "KMS key (implicit deny)",
            lacking="resource",
        )
    return Decision(False, "no statement of the key policy allows it (implicit deny)", lacking="resource")


def _policy_hits(policy: Policy, request: Request, context: Mapping[str, tuple[str, ...]]) -> list[_Hit]:
    if policy.is_identity_policy:
        if policy.attached_to is None:
            raise PolicyError("an identity policy (no Principal) needs attached_to=<role or user ARN> to be evaluated")
        if not _is_attached(policy.attached_to, request.principal):
            return []
        source = f" of the identity policy of {policy.attached_to}"
    else:
        source = ""
    hits = []
    for statement in policy.statements:
        level = "direct" if source else _principal_level(statement, request.principal)
        if level and _applies_to(statement, request.action, request.resource, context):
            hits.append(_Hit(statement, level, source))
    return hits


def _applies_to(statement: Statement, action: str, resource: str, context: Mapping[str, tuple[str, ...]]) -> bool:
    covered = covers_action(statement, action) and _covers_resource(statement, resource)
    return covered and _conditions_hold(statement, context)


def covers_action(statement: Statement, action: str) -> bool:
    if statement.actions:
        return any(action_matches(p, action) for p in statement.actions)
    return not any(action_matches(p, action) for p in statement.not_actions)


def _covers_resource(statement: Statement, resource: str) -> bool:
    if statement.resources:
        return any(arn_matches(p, resource) for p in statement.resources)
    return not any(arn_matches(p, resource) for p in statement.not_resources)


def _decide(hits: list[_Hit], request: Request) -> Decision:
    denies = [h for h in hits if h.statement.effect == "Deny"]
    if denies:
        first = denies[0]
        return Decision(False, f"explicit deny by statement {first.statement.label}{first.source}", _stmts(denies))
    identity = [h for h in hits if h.source]
    direct = [h for h in hits if not h.source and h.level == "direct"]
    account = [h for h in hits if not h.source and h.level == "account"]
    who = request.principal
    if _is_cross_account(request):
        return _decide_cross_account(identity, direct + account, who)
    if direct or identity:
        return _allowed(direct + identity)
    if account:
        return Decision(
            False,
            f"statement {account[0].statement.label} grants it to account {who.account} only; an identity policy "
            f"of {who.id} must also allow it (implicit deny)",
        )
    return Decision(False, "no statement allows it (implicit deny)")


def _decide_cross_account(identity: list[_Hit], resource: list[_Hit], who: Principal) -> Decision:
    """Across accounts both sides must allow: the resource policy (naming the principal or its account) and IAM."""
    if identity and resource:
        return _allowed(resource + identity)
    if resource:
        return Decision(
            False,
            f"cross-account: statement {resource[0].statement.label} of the resource policy allows it, but no "
            f"identity policy of {who.id} does (implicit deny)",
        )
    if identity:
        return Decision(
            False,
            f"cross-account: an identity policy allows it, but the resource policy grants nothing to {who.id} "
            f"or account {who.account} (implicit deny)",
        )
    return Decision(False, "no statement allows it (implicit deny)")


def _allowed(hits: list[_Hit]) -> Decision:
    first = hits[0]
    return Decision(True, f"allowed by statement {first.statement.label}{first.source}", _stmts(hits))


def _stmts(hits: Iterable[_Hit]) -> tuple[Statement, ...]:
    return tuple(h.statement for h in hits)


def _is_cross_account(request: Request) -> bool:
    who = request.principal
    return (
        who.kind == "AWS"
        and request.resource_account is not None
        and who.account is not None
        and who.account != request.resource_account
    )


def _request_context(request: Request) -> dict[str, tuple[str, ...]]:
    context: dict[str, tuple[str, ...]] = {}
    for key, value in request.context.items():
        context[key.lower()] = (value,) if isinstance(value, str) else tuple(str(v) for v in value)
    who = request.principal
    if who.kind == "AWS":
        context.setdefault("aws:principalarn", (_role_arn(who.id) or who.id,))
        if who.account:
            context.setdefault("aws:principalaccount", (who.account,))
    elif who.kind == "Service":
        context.setdefault("aws:principalservicename", (who.id,))
    return context


def _session_role(arn: str) -> tuple[str, str, str] | None:
    """(partition, account, role name) of an assumed-role session ARN, else None."""
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[2] == "sts" and parts[5].startswith("assumed-role/"):
        name = parts[5].split("/")[1]
        return parts[1], parts[4], name
    return None


def _role_arn(arn: str) -> str | None:
    session = _session_role(arn)
    return f"arn:{session[0]}:iam::{session[1]}:role/{session[2]}" if session else None


def _names_role_of(value: str, who: Principal) -> bool:
    """Whether `value` is the ARN of the role `who` (an assumed-role session) is a session of; paths ignored."""
    session = _session_role(who.id)
    parts = value.split(":", 5)
    return (
        session is not None
        and len(parts) == 6
        and parts[2] == "iam"
        and parts[4] == session[1]
        and parts[5].startswith("role/")
        and parts[5].rsplit("/", 1)[-1] == session[2]
    )


def _names_account(value: str, who: Principal) -> bool:
    if who.account is None:
        return False
    if value == who.account:
        return True
    parts = value.split(":", 5)
    return len(parts) == 6 and parts[2] == "iam" and parts[4] == who.account and parts[5] == "root"


def _is_root(who: Principal) -> bool:
    return who.account is not None and _names_account(who.id, who)


def _aws_level(values: Sequence[str], who: Principal) -> _Level | None:
    if any(v == who.id or _names_role_of(v, who) for v in values):
        return "direct"
    if any(_names_account(v, who) for v in values):
        return "direct" if _is_root(who) else "account"
    return None


def _spec_level(spec: PrincipalSpec, who: Principal) -> _Level | None:
    if spec.wildcard:
        return "direct"
    if who.kind == "Anonymous":
        return None
    values = spec.values(who.kind)
    if who.kind == "AWS":
        return _aws_level(values, who)
    if who.kind == "Service":
        return "direct" if any(v.lower() == who.id for v in values) else None
    return "direct" if who.id in values or "*" in values else None


def _excluded_by(spec: PrincipalSpec, who: Principal) -> bool:
    """NotPrincipal: AWS checks the account, then the role, then the session; every link must be listed."""
    if spec.wildcard:
        return True
    if who.kind != "AWS":
        return _spec_level(spec, who) is not None
    values = spec.values("AWS")
    links = [any(_names_account(v, who) for v in values)]
    if _session_role(who.id):
        links.append(any(_names_role_of(v, who) for v in values))
    if not _is_root(who):
        links.append(who.id in values)
    return all(links)


def _principal_level(statement: Statement, who: Principal) -> _Level | None:
    if statement.principal is not None:
        return _spec_level(statement.principal, who)
    if statement.not_principal is not None:
        return None if _excluded_by(statement.not_principal, who) else "direct"
    return None


def _is_attached(attached_to: str, who: Principal) -> bool:
    return who.kind == "AWS" and (attached_to == who.id or _names_role_of(attached_to, who))
