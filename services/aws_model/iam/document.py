"""An IAM policy document (bucket policy or identity policy) parsed into `Policy`, validated as IAM validates it.

Shared by the sandbox (which decides requests as S3 does) and the checks (which report public read/write and the
CloudFront grant): one reading of the language for both.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote

from services.aws_model.iam.conditions import _OPERATOR_NAMES, _OPERATORS

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


def decode_policy(value: object) -> Mapping[str, Any]:
    """A policy document as AWS's read calls hand it over, decoded: JSON text, bytes, a mapping, IAM's URL-encoded
    text (GetRolePolicy, GetPolicyVersion) or get_bucket_policy's ``{"Policy": text}``. Raises only PolicyError."""
    if isinstance(value, Mapping) and set(value) == {"Policy"}:
        value = value["Policy"]
    if isinstance(value, bytes | bytearray):
        value = _decode(value)
    if isinstance(value, str):
        text = value.strip()
        value = _decode(unquote(text) if text[:3].upper() == "%7B" else text)  # IAM's API hands documents URL-encoded
    if not isinstance(value, Mapping):
        raise PolicyError(f"a policy must be a JSON object, got {type(value).__name__}")
    return value


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


# --------------------------------------------------------------------------------------------------------------
# Condition operators
# --------------------------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------------------------
# Requests and evaluation
# --------------------------------------------------------------------------------------------------------------


# --- principal matching ---------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------------------------
# Diagnostics
# --------------------------------------------------------------------------------------------------------------


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


def _is_account_id(value: str) -> bool:
    return len(value) == 12 and value.isascii() and value.isdigit()
