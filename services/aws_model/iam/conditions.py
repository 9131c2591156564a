"""IAM condition operators (every family, `...IfExists`, `ForAnyValue:`/`ForAllValues:`) and whether a statement's
conditions hold in a request context. Pure."""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from services.aws_model.wildcard import arn_matches, wildcard_match

if TYPE_CHECKING:  # the document model imports this module's operator table
    from services.aws_model.iam.document import Condition, Statement


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
            # the versions are equal (checked above), which the IPv4/IPv6 unions of the stubs cannot express
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
