"""Parse and evaluate S3 bucket policies and IAM identity policies, with no I/O.

Two users: the local sandbox, which must decide like S3 whether an anonymous request, CloudFront's service
principal or a role-signed request is allowed; and the diagnostics, which report public read/write and whether a
CloudFront distribution (Origin Access Control) is granted read. Both work over the same parsed `Policy`.

What is modelled, as IAM documents it: `Statement` as one object or a list; Action/NotAction, Resource/NotResource,
Principal/NotPrincipal; explicit Deny beats Allow; same-account union of identity and resource policies, cross-account
intersection; condition operators of every family with `...IfExists` and `ForAnyValue:`/`ForAllValues:`; condition
keys compared case-insensitively. Not modelled: policy variables (`${aws:username}` is matched literally),
permission boundaries, SCPs/RCPs, session policies, ACLs and Block Public Access (callers apply BPA themselves).
"""

from __future__ import annotations

import ipaddress
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

__all__ = [
    "ANONYMOUS",
    "CLOUDFRONT_SERVICE",
    "Condition",
    "Decision",
    "GrantResult",
    "NearMiss",
    "NearMissCode",
    "Policy",
    "PolicyError",
    "Principal",
    "PrincipalSpec",
    "Request",
    "Statement",
    "action_matches",
    "arn_matches",
    "cloudfront_read_grant",
    "covers_action",
    "evaluate",
    "grants_public",
    "parse_policy",
    "public_statements",
    "wildcard_match",
]

CLOUDFRONT_SERVICE = "cloudfront.amazonaws.com"
OAI_PRINCIPAL_PREFIX = "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity "
VERSIONS = ("2012-10-17", "2008-10-17")

Effect = Literal["Allow", "Deny"]
ContextValue = str | Sequence[str]


class PolicyError(ValueError):
    """A policy document is malformed; the message names what is wrong and where (statement index / Sid)."""

    def __init__(self, message: str, *, statement_index: int | None = None, sid: str | None = None) -> None:
        super().__init__(message)
        self.statement_index = statement_index
        self.sid = sid


# --------------------------------------------------------------------------------------------------------------
# The parsed model
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrincipalSpec:
    """A statement's Principal or NotPrincipal. `wildcard` is `"*"` or `{"AWS": "*"}`: everyone, anonymous too."""

    wildcard: bool = False
    aws: tuple[str, ...] = ()
    service: tuple[str, ...] = ()
    canonical_user: tuple[str, ...] = ()
    federated: tuple[str, ...] = ()

    def values(self, kind: str) -> tuple[str, ...]:
        """The listed values of one principal type ("AWS", "Service", "CanonicalUser", "Federated")."""
        return {
            "AWS": self.aws,
            "Service": self.service,
            "CanonicalUser": self.canonical_user,
            "Federated": self.federated,
        }.get(kind, ())


@dataclass(frozen=True)
class Condition:
    """One (operator, key) pair of a Condition block; its values are OR-ed (NOR-ed for negated operators)."""

    operator: str  # as written, e.g. "ForAnyValue:StringLikeIfExists"
    base: str  # canonical base operator, e.g. "StringLike"
    key: str  # as written, e.g. "AWS:SourceArn"; compared case-insensitively
    values: tuple[str, ...]
    qualifier: Literal["ForAnyValue", "ForAllValues"] | None = None
    if_exists: bool = False


@dataclass(frozen=True)
class Statement:
    """One parsed statement. Exactly one of actions/not_actions and of resources/not_resources is non-empty;
    principal and not_principal are both None in identity policies."""

    index: int
    effect: Effect
    sid: str | None = None
    principal: PrincipalSpec | None = None
    not_principal: PrincipalSpec | None = None
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()
    conditions: tuple[Condition, ...] = ()

    @property
    def label(self) -> str:
        """How reasons name this statement: `'Sid'`, or `#index` when it has no Sid."""
        return f"'{self.sid}'" if self.sid else f"#{self.index}"


@dataclass(frozen=True)
class Policy:
    """A parsed policy. `attached_to` is the ARN of the user/role an identity policy is attached to."""

    statements: tuple[Statement, ...]
    version: str | None = None
    id: str | None = None
    attached_to: str | None = None

    @property
    def is_identity_policy(self) -> bool:
        """True when no statement has a Principal/NotPrincipal element (parse_policy forbids mixing)."""
        return all(s.principal is None and s.not_principal is None for s in self.statements)


# --------------------------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------------------------

_TOP_LEVEL = frozenset({"Version", "Id", "Statement"})
_STATEMENT_ELEMENTS = frozenset(
    {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"}
)
_PRINCIPAL_TYPES = ("AWS", "Service", "CanonicalUser", "Federated")


def parse_policy(doc: str | bytes | Mapping[str, Any], *, attached_to: str | None = None) -> Policy:
    """Parse a bucket policy or identity policy (JSON text or an already-decoded mapping).

    Why strict: a malformed policy that parses "somehow" would make the sandbox and the diagnostics disagree with
    S3. Every problem raises `PolicyError` naming the element and the statement; nothing else is ever raised.
    Pass `attached_to` (a role/user ARN) for an identity policy so `evaluate` knows whose requests it governs.
    """
    data = _decode(doc)
    if not isinstance(data, Mapping):
        raise PolicyError(f"a policy must be a JSON object, got {_type_name(data)}")
    unknown = sorted(_show(k) for k in data if k not in _TOP_LEVEL)
    if unknown:
        raise PolicyError(f"unknown top-level element(s) {', '.join(unknown)}; expected Version, Id, Statement")
    version = _optional_str(data, "Version", "policy")
    if version is not None and version not in VERSIONS:
        raise PolicyError(f"Version must be one of {', '.join(VERSIONS)}, got {version!r}")
    statements = tuple(_parse_statement(i, raw) for i, raw in enumerate(_statement_list(data)))
    _check_principal_consistency(statements, attached_to)
    return Policy(statements, version, _optional_str(data, "Id", "policy"), attached_to)


def _decode(doc: object) -> object:
    if isinstance(doc, bytes | bytearray):
        try:
            doc = bytes(doc).decode("utf-8")
        except UnicodeDecodeError as err:
            raise PolicyError(f"policy bytes are not UTF-8: {err}") from err
    if isinstance(doc, str):
        try:
            return json.loads(doc)
        except (ValueError, RecursionError) as err:  # JSONDecodeError is a ValueError; so is an over-long int
            raise PolicyError(f"policy is not valid JSON: {err}") from err
    return doc


def _statement_list(data: Mapping[str, Any]) -> Sequence[object]:
    if "Statement" not in data:
        raise PolicyError("policy has no Statement element")
    raw = data["Statement"]
    if isinstance(raw, Mapping):
        return [raw]
    if not isinstance(raw, list | tuple):
        raise PolicyError(f"Statement must be an object or a list of objects, got {_type_name(raw)}")
    if not raw:
        raise PolicyError("Statement is an empty list; a policy needs at least one statement")
    return raw


def _check_principal_consistency(statements: Sequence[Statement], attached_to: str | None) -> None:
    with_principal = [s for s in statements if s.principal is not None or s.not_principal is not None]
    if with_principal and len(with_principal) != len(statements):
        odd = next(s for s in statements if s.principal is None and s.not_principal is None)
        raise PolicyError(
            f"statement {odd.label} has no Principal while others do: a resource policy needs a Principal in "
            "every statement, an identity policy in none",
            statement_index=odd.index,
            sid=odd.sid,
        )
    if attached_to is not None and with_principal:
        first = with_principal[0]
        raise PolicyError(
            f"attached_to was given but statement {first.label} has a Principal: an identity policy has none",
            statement_index=first.index,
            sid=first.sid,
        )


@dataclass(frozen=True)
class _Where:
    """Where a parse error is, for messages: statement index and Sid."""

    index: int
    sid: str | None

    def __str__(self) -> str:
        return f"statement #{self.index}" + (f" (Sid {self.sid!r})" if self.sid else "")

    def error(self, message: str) -> PolicyError:
        return PolicyError(f"{self}: {message}", statement_index=self.index, sid=self.sid)


def _parse_statement(index: int, raw: object) -> Statement:
    if not isinstance(raw, Mapping):
        raise PolicyError(f"statement #{index}: must be an object, got {_type_name(raw)}", statement_index=index)
    sid_raw = raw.get("Sid")
    where = _Where(index, sid_raw if isinstance(sid_raw, str) else None)
    unknown = sorted(_show(k) for k in raw if k not in _STATEMENT_ELEMENTS)
    if unknown:
        raise where.error(f"unknown element(s) {', '.join(unknown)}")
    if sid_raw is not None and not isinstance(sid_raw, str):
        raise where.error(f"Sid must be a string, got {_type_name(sid_raw)}")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise where.error(f'Effect must be "Allow" or "Deny", got {_show(effect)}')
    actions, not_actions = _either(raw, "Action", "NotAction", where, _check_action)
    resources, not_resources = _either(raw, "Resource", "NotResource", where, _check_resource)
    principal, not_principal = _principals(raw, where)
    conditions = _parse_conditions(raw["Condition"], where) if "Condition" in raw else ()
    return Statement(
        index=index,
        effect=effect,
        sid=sid_raw or None,
        principal=principal,
        not_principal=not_principal,
        actions=actions,
        not_actions=not_actions,
        resources=resources,
        not_resources=not_resources,
        conditions=conditions,
    )


def _either(
    raw: Mapping[str, Any], name: str, not_name: str, where: _Where, check: Callable[[str, str, _Where], None]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Exactly one of `name` / `not_name`, each a string or a non-empty list of strings."""
    if (name in raw) == (not_name in raw):
        problem = "both" if name in raw else "neither"
        raise where.error(f"needs exactly one of {name} and {not_name}, has {problem}")
    element = name if name in raw else not_name
    values = _string_list(raw[element], element, where)
    for value in values:
        check(value, element, where)
    return (values, ()) if element == name else ((), values)


def _string_list(value: object, element: str, where: _Where) -> tuple[str, ...]:
    if isinstance(value, str):
        values: tuple[object, ...] = (value,)
    elif isinstance(value, list | tuple) and value:
        values = tuple(value)
    else:
        raise where.error(f"{element} must be a string or a non-empty list of strings, got {_describe(value)}")
    for item in values:
        if not isinstance(item, str) or not item:
            raise where.error(f"{element} entries must be non-empty strings, got {_describe(item)}")
    return tuple(str(v) for v in values)


def _check_action(value: str, element: str, where: _Where) -> None:
    service, sep, name = value.partition(":")
    if value != "*" and not (sep and service and name and ":" not in name and " " not in value):
        raise where.error(f'{element} {value!r} is not "*" or "service:Action" (e.g. "s3:GetObject")')


def _check_resource(value: str, element: str, where: _Where) -> None:
    if value != "*" and not (value.startswith("arn:") and value.count(":") >= 5):
        raise where.error(f'{element} {value!r} is not "*" or an ARN (e.g. "arn:aws:s3:::bucket/*")')


def _principals(raw: Mapping[str, Any], where: _Where) -> tuple[PrincipalSpec | None, PrincipalSpec | None]:
    if "Principal" in raw and "NotPrincipal" in raw:
        raise where.error("has both Principal and NotPrincipal")
    principal = _parse_principal(raw["Principal"], "Principal", where) if "Principal" in raw else None
    not_principal = _parse_principal(raw["NotPrincipal"], "NotPrincipal", where) if "NotPrincipal" in raw else None
    return principal, not_principal


def _parse_principal(value: object, element: str, where: _Where) -> PrincipalSpec:
    if value == "*":
        return PrincipalSpec(wildcard=True)
    if not isinstance(value, Mapping) or not value:
        raise where.error(f'{element} must be "*" or an object like {{"AWS": ...}}, got {_describe(value)}')
    unknown = sorted(_show(k) for k in value if k not in _PRINCIPAL_TYPES)
    if unknown:
        raise where.error(
            f"{element} has unknown principal type(s) {', '.join(unknown)}; expected AWS, Service, "
            "CanonicalUser, Federated"
        )
    lists = {kind: _string_list(value[kind], f"{element}.{kind}", where) for kind in _PRINCIPAL_TYPES if kind in value}
    for arn in lists.get("AWS", ()):
        _check_aws_principal(arn, element, where)
    return PrincipalSpec(
        wildcard="*" in lists.get("AWS", ()),
        aws=lists.get("AWS", ()),
        service=lists.get("Service", ()),
        canonical_user=lists.get("CanonicalUser", ()),
        federated=lists.get("Federated", ()),
    )


def _check_aws_principal(value: str, element: str, where: _Where) -> None:
    if value == "*" or _is_account_id(value) or (value.startswith("arn:") and value.count(":") >= 5):
        return
    raise where.error(f'{element}.AWS {value!r} is not "*", a 12-digit account id or an ARN')


# --- conditions -------------------------------------------------------------------------------------------------


def _parse_conditions(raw: object, where: _Where) -> tuple[Condition, ...]:
    if not isinstance(raw, Mapping):
        raise where.error(f"Condition must be an object of operators, got {_describe(raw)}")
    parsed: list[Condition] = []
    for operator, block in raw.items():
        if not isinstance(operator, str):
            raise where.error(f"Condition operator must be a string, got {_show(operator)}")
        qualifier, base, if_exists = _split_operator(operator, where)
        if not isinstance(block, Mapping):
            raise where.error(f"Condition {operator} must map condition keys to values, got {_describe(block)}")
        for key, value in block.items():
            if not isinstance(key, str) or not key:
                raise where.error(f"Condition {operator} has a key that is not a non-empty string: {_show(key)}")
            values = _condition_values(value, f"Condition {operator} {key}", where)
            _validate_condition_values(base, values, f"Condition {operator} {key}", where)
            parsed.append(Condition(operator, base, key, values, qualifier, if_exists))
    return tuple(parsed)


def _split_operator(operator: str, where: _Where) -> tuple[Literal["ForAnyValue", "ForAllValues"] | None, str, bool]:
    qualifier: Literal["ForAnyValue", "ForAllValues"] | None = None
    name = operator
    for prefix in ("ForAnyValue", "ForAllValues"):
        if name.lower().startswith(prefix.lower() + ":"):
            qualifier, name = prefix, name[len(prefix) + 1 :]
            break
    if_exists = name.lower().endswith("ifexists") and name.lower() != "ifexists"
    if if_exists:
        name = name[: -len("IfExists")]
    base = _OPERATOR_NAMES.get(name.lower())
    if base is None:
        raise where.error(f"unknown condition operator {operator!r}")
    if base == "Null" and if_exists:
        raise where.error(f"condition operator {operator!r}: Null cannot take the IfExists suffix")
    return qualifier, base, if_exists


def _condition_values(value: object, what: str, where: _Where) -> tuple[str, ...]:
    items = tuple(value) if isinstance(value, list | tuple) else (value,)
    return tuple(_scalar_text(item, what, where) for item in items)


def _scalar_text(value: object, what: str, where: _Where) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        try:
            return str(value)
        except ValueError as err:  # an int too long to print (sys.int_info.str_digits_check_threshold)
            raise where.error(f"{what}: number too large") from err
    raise where.error(f"{what}: values must be strings, numbers or booleans, got {_describe(value)}")


def _validate_condition_values(base: str, values: tuple[str, ...], what: str, where: _Where) -> None:
    parse = _OPERATORS[base].parse
    if parse is None:
        return
    for value in values:
        if parse(value) is None:
            raise where.error(f"{what}: {value!r} is not a valid value for {base}")


# --------------------------------------------------------------------------------------------------------------
# Wildcard matching
# --------------------------------------------------------------------------------------------------------------


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM wildcard match of a whole string: `*` is any run of characters (including none), `?` exactly one.

    A two-pointer matcher, at worst O(len(pattern) * len(value)): hostile patterns cannot blow up as a
    backtracking regex could.
    """
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    p = v = 0
    star, mark = -1, 0
    while v < len(value):
        if p < len(pattern) and pattern[p] in ("?", value[v]):
            p, v = p + 1, v + 1
        elif p < len(pattern) and pattern[p] == "*":
            star, mark, p = p, v, p + 1
        elif star >= 0:
            p, mark = star + 1, mark + 1
            v = mark
        else:
            return False
    return pattern[p:].strip("*") == ""


def action_matches(pattern: str, action: str) -> bool:
    """Whether an Action pattern (`s3:*`, `s3:Get*`, `*`) names an action; case-insensitive, as IAM does."""
    return wildcard_match(pattern, action, ignore_case=True)


def arn_matches(pattern: str, arn: str) -> bool:
    """Whether a Resource / ARN pattern matches an ARN; case-sensitive, `*`/`?` never span the first five colons.

    Each of the six colon-separated parts is matched on its own (the last part keeps any further colons), which is
    how IAM matches Resource elements and ArnLike conditions.
    """
    pattern_parts, arn_parts = pattern.split(":", 5), arn.split(":", 5)
    if len(pattern_parts) < 6 or len(arn_parts) < 6:
        return wildcard_match(pattern, arn)
    return all(wildcard_match(p, a) for p, a in zip(pattern_parts, arn_parts, strict=True))


def _glob_states(pattern: str, text: str) -> set[int]:
    """Positions in `pattern` reachable after consuming `text` (a wildcard NFA), for prefix coverage questions."""

    def closure(states: set[int]) -> set[int]:
        todo, seen = list(states), set(states)
        while todo:
            i = todo.pop()
            if i < len(pattern) and pattern[i] == "*" and i + 1 not in seen:
                seen.add(i + 1)
                todo.append(i + 1)
        return seen

    states = closure({0})
    for ch in text:
        step = {i if pattern[i] == "*" else i + 1 for i in states if i < len(pattern) and pattern[i] in ("*", "?", ch)}
        states = closure(step)
        if not states:
            break
    return states


def _split_prefix(pattern: str, prefix: str) -> tuple[str, str] | None:
    """Match the five fixed ARN parts of `prefix` against `pattern`; return the two last parts, or None."""
    pattern_parts, prefix_parts = pattern.split(":", 5), prefix.split(":", 5)
    if len(pattern_parts) < 6:
        return pattern, prefix
    if all(wildcard_match(p, a) for p, a in zip(pattern_parts[:5], prefix_parts[:5], strict=True)):
        return pattern_parts[5], prefix_parts[5]
    return None


def _covers_all_under(pattern: str, prefix: str) -> bool:
    """Whether `pattern` matches every ARN that is `prefix` plus a non-empty suffix (e.g. every key of a bucket)."""
    split = _split_prefix(pattern, prefix)
    if split is None:
        return False
    rest_pattern, rest_prefix = split
    for i in _glob_states(rest_pattern, rest_prefix):
        rest = rest_pattern[i:]
        if "*" in rest and rest.replace("*", "") in ("", "?"):
            return True
    return False


def _matches_some_under(pattern: str, prefix: str) -> bool:
    """Whether `pattern` matches at least one ARN that is `prefix` plus a non-empty suffix."""
    split = _split_prefix(pattern, prefix)
    if split is None:
        return False
    rest_pattern, rest_prefix = split
    return any(i < len(rest_pattern) for i in _glob_states(rest_pattern, rest_prefix))


# --------------------------------------------------------------------------------------------------------------
# Condition operators
# --------------------------------------------------------------------------------------------------------------


def _number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _date(text: str) -> datetime | None:
    epoch = _number(text)
    try:
        moment = datetime.fromtimestamp(epoch, tz=UTC) if epoch is not None else datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def _boolean(text: str) -> str | None:
    return text.lower() if text.lower() in ("true", "false") else None


def _compare(parse: Callable[[str], Any], relation: Callable[[Any, Any], bool]) -> Callable[[str, str], bool]:
    def test(context_value: str, policy_value: str) -> bool:
        left, right = parse(context_value), parse(policy_value)
        return left is not None and right is not None and relation(left, right)

    return test


def _in_network(context_value: str, policy_value: str) -> bool:
    address, network = _network(context_value), _network(policy_value)
    return (
        address is not None
        and network is not None
        and address.version == network.version
        and (
            address.subnet_of(network)  # type: ignore[arg-type]
        )
    )


@dataclass(frozen=True)
class _Operator:
    """A positive test of one context value against one policy value; `negated` flips the OR into a NOR."""

    test: Callable[[str, str], bool]
    negated: bool = False
    parse: Callable[[str], object] | None = None  # validates policy values at parse time


def _string_equal(c: str, p: str) -> bool:
    return c == p


def _string_equal_ignore_case(c: str, p: str) -> bool:
    return c.lower() == p.lower()


def _string_like(c: str, p: str) -> bool:
    return wildcard_match(p, c)


def _arn_like(c: str, p: str) -> bool:
    return arn_matches(p, c)


def _bool_equal(c: str, p: str) -> bool:
    return c.lower() == p.lower()


def _ordered(parse: Callable[[str], Any]) -> dict[str, _Operator]:
    kinds: dict[str, tuple[Callable[[Any, Any], bool], bool]] = {
        "Equals": (lambda a, b: a == b, False),
        "NotEquals": (lambda a, b: a == b, True),
        "LessThan": (lambda a, b: a < b, False),
        "LessThanEquals": (lambda a, b: a <= b, False),
        "GreaterThan": (lambda a, b: a > b, False),
        "GreaterThanEquals": (lambda a, b: a >= b, False),
    }
    return {suffix: _Operator(_compare(parse, rel), negated, parse) for suffix, (rel, negated) in kinds.items()}


_OPERATORS: dict[str, _Operator] = {
    "StringEquals": _Operator(_string_equal),
    "StringNotEquals": _Operator(_string_equal, negated=True),
    "StringEqualsIgnoreCase": _Operator(_string_equal_ignore_case),
    "StringNotEqualsIgnoreCase": _Operator(_string_equal_ignore_case, negated=True),
    "StringLike": _Operator(_string_like),
    "StringNotLike": _Operator(_string_like, negated=True),
    **{f"Numeric{suffix}": op for suffix, op in _ordered(_number).items()},
    **{f"Date{suffix}": op for suffix, op in _ordered(_date).items()},
    "Bool": _Operator(_bool_equal, parse=_boolean),
    "BinaryEquals": _Operator(_string_equal),
    "IpAddress": _Operator(_in_network, parse=_network),
    "NotIpAddress": _Operator(_in_network, negated=True, parse=_network),
    "ArnEquals": _Operator(_arn_like),
    "ArnLike": _Operator(_arn_like),
    "ArnNotEquals": _Operator(_arn_like, negated=True),
    "ArnNotLike": _Operator(_arn_like, negated=True),
    "Null": _Operator(_string_equal, parse=_boolean),  # evaluated specially: tests presence, not value
}
_OPERATOR_NAMES = {name.lower(): name for name in _OPERATORS}


def _condition_holds(condition: Condition, context: Mapping[str, tuple[str, ...]]) -> bool:
    """One (operator, key) pair against the request context, with AWS's rules for absent keys and qualifiers."""
    present = context.get(condition.key.lower())
    if condition.base == "Null":
        is_absent = not present
        return any((value.lower() == "true") == is_absent for value in condition.values)
    if not present:
        if condition.if_exists or condition.qualifier == "ForAllValues":
            return True
        if condition.qualifier == "ForAnyValue":
            return False
        return _OPERATORS[condition.base].negated  # absent key: positive operators fail, negated ones hold
    operator = _OPERATORS[condition.base]

    def one(value: str) -> bool:
        matched = any(operator.test(value, wanted) for wanted in condition.values)
        return not matched if operator.negated else matched

    if condition.qualifier == "ForAllValues":
        return all(one(value) for value in present)
    if condition.qualifier is None and operator.negated:
        return all(one(value) for value in present)  # single-valued negation: none of the values may match
    return any(one(value) for value in present)


def _conditions_hold(statement: Statement, context: Mapping[str, tuple[str, ...]]) -> bool:
    return all(_condition_holds(c, context) for c in statement.conditions)


# --------------------------------------------------------------------------------------------------------------
# Requests and evaluation
# --------------------------------------------------------------------------------------------------------------


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


# --- principal matching ---------------------------------------------------------------------------------------


def _is_account_id(value: str) -> bool:
    return len(value) == 12 and value.isascii() and value.isdigit()


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


# --------------------------------------------------------------------------------------------------------------
# Diagnostics
# --------------------------------------------------------------------------------------------------------------

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
        return 404 if self.list_bucket else 403


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
    parts = distribution_arn.split(":", 5)
    partition = parts[1] if len(parts) == 6 and parts[1] else "aws"
    context: dict[str, tuple[str, ...]] = {
        "aws:sourcearn": (distribution_arn,),
        "aws:securetransport": ("true",),  # CloudFront reaches the S3 REST endpoint over HTTPS
        "aws:principalservicename": (CLOUDFRONT_SERVICE,),
    }
    if len(parts) == 6 and parts[4]:
        context["aws:sourceaccount"] = (parts[4],)
    bucket_arn = f"arn:{partition}:s3:::{bucket}"
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


# --------------------------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------------------------


def _optional_str(data: Mapping[str, Any], key: str, where: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise PolicyError(f"{where}: {key} must be a string, got {_type_name(value)}")
    return value


def _type_name(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "an object"
    return names.get(type(value), type(value).__name__)


def _show(value: object) -> str:
    """repr() for error messages, safe on anything a JSON decoder or a caller may hand over, and short."""
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # an int too long to print; a structure nested too deep
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 60 else text[:57] + "..."


def _describe(value: object) -> str:
    return f"{_type_name(value)} {_show(value)}"
