"""S3's POST policy: the signed document of a browser-based upload (a presigned POST), its conditions, and S3's
verdict on a form that claims it. Pure: no I/O, no clock (``now`` is passed in); imports nothing of ours.

The policy is a base64-encoded JSON object ``{"expiration": "<ISO 8601 GMT>", "conditions": [...]}``; each condition
is an exact match (``{"key": "v"}`` or ``["eq", "$key", "v"]``), a prefix (``["starts-with", "$key", "p"]``, an
empty prefix allowing anything) or a size range (``["content-length-range", min, max]``, in bytes, inclusive).
Every form field but ``x-amz-signature``, ``file``, ``policy`` and ``x-ignore-*`` must be named by a condition.
https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html

S3's answers, as S3 words them (quoted by boto/boto3#4514, localstack's snapshot-tested
``services/s3/presigned_url.py``, and the reports collected in sivchari/kumo#935/#936):

- a condition the form breaks: 403 ``AccessDenied`` "Invalid according to Policy: Policy Condition failed:
  [\"eq\", \"$key\", \"...\"]", an exact-match object written in its ``["eq", "$field", value]`` form;
- past ``expiration``: 403 ``AccessDenied`` "Invalid according to Policy: Policy expired.";
- a field no condition names: 403 ``AccessDenied`` "Invalid according to Policy: Extra input fields: <name>";
- a file outside ``content-length-range``: 400 ``EntityTooLarge`` "Your proposed upload exceeds the maximum
  allowed size" (``ProposedSize``, ``MaxSizeAllowed``) or 400 ``EntityTooSmall`` "Your proposed upload is smaller
  than the minimum allowed size" (``ProposedSize``, ``MinSizeAllowed``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from services.aws_model.s3errors import MSG_POLICY_EXPIRED, S3Error

MSG_EXPIRED = MSG_POLICY_EXPIRED
MSG_CONDITION_FAILED = "Invalid according to Policy: Policy Condition failed: "
MSG_EXTRA_FIELDS = "Invalid according to Policy: Extra input fields: "
MSG_TOO_LARGE = "Your proposed upload exceeds the maximum allowed size"
MSG_TOO_SMALL = "Your proposed upload is smaller than the minimum allowed size"
MSG_INVALID_JSON = "Invalid Policy: Invalid JSON."
MSG_NO_EXPIRATION = "Invalid Policy: Policy missing expiration."
MSG_NO_CONDITIONS = "Invalid Policy: Policy missing conditions."
#: form fields no condition needs to name
EXEMPT_FIELDS = frozenset({"x-amz-signature", "file", "policy"})
IGNORED_PREFIX = "x-ignore-"
EQ, STARTS_WITH, LENGTH_RANGE = "eq", "starts-with", "content-length-range"


@dataclass(frozen=True)
class Condition:
    """One condition. ``name`` is the field as the policy writes it (``Content-Type``), ``field`` lower-cased;
    both None for a size range."""

    op: str
    name: str | None = None
    value: str | None = None
    low: int | None = None
    high: int | None = None

    @property
    def field(self) -> str | None:
        return self.name.lower() if self.name is not None else None

    def text(self) -> str:
        """The condition as S3 quotes it in "Policy Condition failed: ..."."""
        if self.op == LENGTH_RANGE:
            return f'["{LENGTH_RANGE}", {self.low}, {self.high}]'
        return json.dumps([self.op, f"${self.name}", self.value], ensure_ascii=False)

    def holds(self, value: str | None) -> bool:
        if self.op == EQ:
            return value == self.value
        if self.op == STARTS_WITH:
            return value is not None and value.startswith(self.value or "")
        return True


@dataclass(frozen=True)
class PostPolicy:
    """A decoded policy. ``problems`` names what S3 could not read in it (each a condition S3 would refuse)."""

    expiration: str | None
    expires_at: datetime | None
    conditions: tuple[Condition, ...]
    problems: tuple[str, ...] = field(default=())

    def exact(self, name: str) -> str | None:
        """The value an exact-match condition requires of ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        return next((c.value for c in self.conditions if c.op == EQ and c.field == wanted), None)

    def prefix(self, name: str) -> str | None:
        wanted = name.lower()
        return next((c.value for c in self.conditions if c.op == STARTS_WITH and c.field == wanted), None)

    def size_range(self) -> tuple[int, int] | None:
        """The ``content-length-range`` (the tightest, when several), or None when the policy has none."""
        ranges = [(c.low, c.high) for c in self.conditions if c.op == LENGTH_RANGE]
        if not ranges:
            return None
        lows = [low for low, _ in ranges if low is not None]
        highs = [high for _, high in ranges if high is not None]
        return (max(lows) if lows else 0, min(highs) if highs else 0)

    def names(self) -> frozenset[str]:
        return frozenset(c.field for c in self.conditions if c.field is not None)


def decode(policy_b64: str) -> PostPolicy | None:
    """The policy of a form's ``policy`` field, or None when it is not base64 of a JSON object."""
    try:
        raw = base64.b64decode(policy_b64.strip(), validate=True)
        doc = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        return None
    return parse(doc) if isinstance(doc, dict) else None


def parse(doc: Mapping[str, Any]) -> PostPolicy:
    expiration = doc.get("expiration")
    conditions: list[Condition] = []
    problems: list[str] = []
    for raw in doc.get("conditions") or ():
        condition = _condition(raw)
        if condition is None:
            problems.append(json.dumps(raw, ensure_ascii=False))
        else:
            conditions.append(condition)
    text = expiration if isinstance(expiration, str) else None
    return PostPolicy(text, parse_expiration(text), tuple(conditions), tuple(problems))


def parse_expiration(text: str | None) -> datetime | None:
    """``2007-12-01T12:00:00.000Z`` or ``2007-12-01T12:00:00Z`` (GMT), as the policy's ``expiration``."""
    for fmt in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return datetime.strptime(text or "", fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _condition(raw: Any) -> Condition | None:
    if isinstance(raw, dict) and len(raw) == 1:
        ((name, value),) = raw.items()
        return Condition(EQ, str(name), None if value is None else str(value))
    if not isinstance(raw, list) or len(raw) != 3 or not isinstance(raw[0], str):
        return None
    op = raw[0].lower()
    if op == LENGTH_RANGE:
        low, high = _integer(raw[1]), _integer(raw[2])
        return None if low is None or high is None else Condition(LENGTH_RANGE, low=low, high=high)
    if op in (EQ, STARTS_WITH) and isinstance(raw[1], str) and raw[1].startswith("$"):
        return Condition(op, raw[1][1:], None if raw[2] is None else str(raw[2]))
    return None


def refusal(policy: PostPolicy, form: Mapping[str, str], *, bucket: str, size: int, now: datetime) -> S3Error | None:
    """What S3 answers a form (field names lower-cased; the file's ``size`` in bytes) under ``policy``; None: allowed.

    Checked in S3's order: the expiration, each condition in the policy's order, then fields no condition names.
    """
    if policy.expiration is None:
        return S3Error(400, "InvalidPolicyDocument", MSG_NO_EXPIRATION)
    if policy.expires_at is None:
        return S3Error(400, "InvalidPolicyDocument", MSG_INVALID_JSON)
    if now > policy.expires_at:
        return S3Error(403, "AccessDenied", MSG_EXPIRED)
    if policy.problems:
        return S3Error(403, "AccessDenied", MSG_CONDITION_FAILED + policy.problems[0])
    for condition in policy.conditions:
        answer = _judge(condition, form, bucket, size)
        if answer is not None:
            return answer
    named = policy.names()
    extra = [
        name for name in form if name not in EXEMPT_FIELDS and not name.startswith(IGNORED_PREFIX) and name not in named
    ]
    if extra:
        return S3Error(403, "AccessDenied", MSG_EXTRA_FIELDS + extra[0])
    return None


def _judge(condition: Condition, form: Mapping[str, str], bucket: str, size: int) -> S3Error | None:
    if condition.op == LENGTH_RANGE:
        low, high = condition.low or 0, condition.high or 0
        if size > high:
            return S3Error(
                400, "EntityTooLarge", MSG_TOO_LARGE, {"ProposedSize": str(size), "MaxSizeAllowed": str(high)}
            )
        if size < low:
            return S3Error(
                400, "EntityTooSmall", MSG_TOO_SMALL, {"ProposedSize": str(size), "MinSizeAllowed": str(low)}
            )
        return None
    value = bucket if condition.field == "bucket" else form.get(condition.field or "")
    if condition.holds(value):
        return None
    return S3Error(403, "AccessDenied", MSG_CONDITION_FAILED + condition.text())
