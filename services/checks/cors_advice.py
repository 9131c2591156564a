"""Advice for the CORS checks: whether a bucket's rules let an origin send a method with headers and why not, near
misses (scheme, port, case, a trailing slash), and the rules that would fix it. Over the model's matching
(services/aws_model/s3cors.py). Pure."""

from __future__ import annotations

import copy
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from services.aws_model.s3cors import (
    DEFAULT_PORTS,
    S3_CORS_METHODS,
    CorsRules,
    RuleCheck,
    allow_reason,
    check_rules,
    first_match,
    glob_match,
    parse_request_headers,
    refusal_reason,
    refused_headers,
    rule_strings,
    serialized_origin,
)


@dataclass(frozen=True)
class CorsVerdict:
    """Whether a bucket's rules let ``origin`` send ``method`` with ``headers``, and why (not).

    ``failed`` names the dimensions that fail for the closest rule ("origin", "method", "header"), or
    ("cors",) when there is no rule at all; ``detail`` quotes every rule; ``hints`` point at near misses
    (an entry differing only in scheme, port, case or a trailing slash).
    """

    allowed: bool
    origin: str
    method: str
    headers: tuple[str, ...]
    rule_index: int | None
    reason: str
    failed: tuple[str, ...]
    checks: tuple[RuleCheck, ...]
    detail: str
    hints: tuple[str, ...] = ()


def _origin_parts(value: str) -> tuple[str, str, str, str] | None:
    """(scheme, host, explicit port or "", path) of an origin-like string, or None if it is not a URL."""
    try:
        parts = urlsplit(value)
        port = str(parts.port) if parts.port is not None else ""
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    return parts.scheme, parts.hostname, port, parts.path + ("?" + parts.query if parts.query else "")


def _near_miss(entry: str, origin: str) -> str | None:
    """Why a non-matching AllowedOrigins entry looks meant for ``origin``, or None."""
    quoted = json.dumps(entry)
    if origin != serialized_origin(origin) and glob_match(entry, serialized_origin(origin)):
        return f"{quoted} would match {serialized_origin(origin)}; the origin given has a path or trailing slash a browser never sends"
    if entry != serialized_origin(entry) and glob_match(serialized_origin(entry), origin):
        return f"{quoted} has a path or trailing slash; a browser's Origin is scheme://host[:port] only [fetch]"
    if entry.lower() == origin.lower():
        return f"{quoted} differs from {origin} only in letter case; S3 compares origins case-sensitively"
    mine, theirs = _origin_parts(entry), _origin_parts(origin)
    if mine is None or theirs is None or mine[1].lower() != theirs[1].lower():
        return None
    (e_scheme, _, e_port, _), (o_scheme, _, o_port, _) = mine, theirs
    if e_scheme == o_scheme and not o_port and e_port == DEFAULT_PORTS.get(e_scheme):
        return f"{quoted} names the default port :{e_port}; browsers leave it out of Origin [repost]"
    if e_scheme != o_scheme and e_port == o_port:
        return f"{quoted} differs from {origin} only in scheme ({e_scheme} vs {o_scheme}) [repost]"
    if e_scheme == o_scheme and e_port != o_port:
        return f"{quoted} differs from {origin} only in port ({e_port or 'default'} vs {o_port or 'default'})"
    return None


def _hints(rules: CorsRules, checks: Sequence[RuleCheck], origin: str) -> tuple[str, ...]:
    """Near misses among the AllowedOrigins of the rules whose origin check failed."""
    found = []
    for check in checks:
        if check.matched_origin is not None:
            continue
        index = check.index
        for entry in rule_strings(rules[index], "AllowedOrigins"):
            hint = None if glob_match(entry, origin) else _near_miss(entry, origin)
            if hint:
                found.append(f"rule #{index}: AllowedOrigins entry {hint}")
    return tuple(found)


def _describe_check(rule: Any, check: RuleCheck, origin: str, method: str) -> str:
    """One line per rule quoting its fields and what each dimension made of the request."""
    label = f"rule #{check.index}" + (f" (ID {json.dumps(check.rule_id)})" if check.rule_id else "")
    origin_part = (
        f"origin {origin} matches {json.dumps(check.matched_origin)}"
        if check.matched_origin is not None
        else f"origin {origin} matches none of AllowedOrigins {json.dumps(rule_strings(rule, 'AllowedOrigins'))}"
    )
    methods = json.dumps(rule_strings(rule, "AllowedMethods"))
    method_part = f"{method} {'in' if check.method_allowed else 'not in'} AllowedMethods {methods}"
    allowed_headers = json.dumps(rule_strings(rule, "AllowedHeaders"))
    header_part = (
        f"{', '.join(check.refused_headers)} not in AllowedHeaders {allowed_headers}"
        if check.refused_headers
        else f"requested headers allowed by AllowedHeaders {allowed_headers}"
    )
    verdict = "MATCHES" if check.matches else "refuses " + "/".join(check.failures)
    return f"{label} {verdict}: {origin_part}; {method_part}; {header_part}"


def _closest(checks: Sequence[RuleCheck]) -> RuleCheck | None:
    return min(checks, key=lambda check: (len(check.failures), check.index), default=None)


def explain_origin(
    rules: CorsRules | None,
    origin: str,
    method: str = "PUT",
    headers: str | Iterable[str] = ("content-type",),
) -> CorsVerdict:
    """Whether a browser at ``origin`` may send ``method`` with ``headers`` to the bucket, and why.

    Judges exactly as :func:`preflight` does (same first-match rule), so ``allowed`` agrees with a 200
    preflight; adds, per rule, which of origin / method / header failed, quoting the rule.
    """
    requested = parse_request_headers(headers)

    def refused(reason: str, failed: tuple[str, ...]) -> CorsVerdict:
        return CorsVerdict(False, origin, method, requested, None, reason, failed, (), reason)

    if rules is None:
        return refused("the bucket has no CORS configuration: S3 answers every preflight 403", ("cors",))
    if not origin:
        return refused("no origin given: S3 answers a preflight without Origin with 400", ("origin",))
    if method not in S3_CORS_METHODS:
        return refused(f"S3 CORS cannot allow method {method}: only {', '.join(S3_CORS_METHODS)}", ("method",))
    checks = check_rules(rules, origin, method, requested)
    if not checks:
        return refused("the CORS configuration has no rules", ("cors",))
    detail = "\n".join(_describe_check(rules[c.index], c, origin, method) for c in checks)
    match = first_match(checks)
    if match is not None:
        reason = allow_reason(match, origin, method, requested)
        return CorsVerdict(True, origin, method, requested, match.index, reason, (), checks, detail)
    closest = _closest(checks)
    assert closest is not None
    return CorsVerdict(
        False,
        origin,
        method,
        requested,
        None,
        refusal_reason(checks, origin, method),
        closest.failures,
        checks,
        detail,
        _hints(rules, checks, origin) if "origin" in closest.failures else (),
    )


def _editable(rule: Any) -> dict[str, Any]:
    """A deep copy of a rule as a plain dict, its list fields normalised to lists of strings."""
    copied = copy.deepcopy(dict(rule)) if isinstance(rule, Mapping) else {}
    for key in ("AllowedHeaders", "AllowedMethods", "AllowedOrigins", "ExposeHeaders"):
        if key in copied:
            copied[key] = rule_strings(copied, key)
    return copied


def _add_origin(rule: dict[str, Any], origin: str, keep: Collection[str]) -> None:
    """Add ``origin`` to a rule, replacing an entry that is the same origin plus a path or slash.

    Such an entry can never match what a browser sends [fetch], so replacing it loses nothing; an entry
    that is itself among the origins asked for (``keep``) stays.
    """
    origins = rule.setdefault("AllowedOrigins", [])
    for position, entry in enumerate(origins):
        if entry != origin and serialized_origin(entry) == origin and entry not in keep:
            origins[position] = origin
            return
    origins.append(origin)


def _extend_existing(
    rules: list[dict[str, Any]], origin: str, method: str, wanted: Sequence[str], keep: Collection[str]
) -> bool:
    """Allow ``origin`` by the smallest edit of an existing rule; False when none fits.

    First choice: a rule already allowing the method and headers gets the origin (only the new origin
    gains anything). Second: a rule naming the origin literally and allowing the method gets the missing
    headers. A rule's methods are never widened: that would open them to every origin it lists (think
    of a GET rule for ``*``), so a method gap gets a new rule instead.
    """
    for rule in rules:
        if method in rule_strings(rule, "AllowedMethods") and not refused_headers(rule, wanted):
            _add_origin(rule, origin, keep)
            return True
    for rule in rules:
        if method in rule_strings(rule, "AllowedMethods") and origin in rule_strings(rule, "AllowedOrigins"):
            rule.setdefault("AllowedHeaders", []).extend(refused_headers(rule, wanted))
            return True
    return False


def suggest_rules(
    rules: CorsRules | None,
    origins: Iterable[str],
    method: str = "PUT",
    headers: str | Iterable[str] = ("content-type",),
) -> list[dict[str, Any]]:
    """A corrected CORSRules list letting every origin in ``origins`` send ``method`` with ``headers``.

    Minimal change: origins already allowed cost nothing; others extend the first fitting rule (see
    :func:`_extend_existing`); the rest share one new rule, appended so earlier rules keep answering as
    before. Ready to print as the fix JSON for ``put-bucket-cors``. Raises ValueError for an empty origin
    or a method S3 CORS cannot allow.
    """
    if method not in S3_CORS_METHODS:
        raise ValueError(f"S3 CORS can only allow {', '.join(S3_CORS_METHODS)}, not {method!r}")
    wanted = parse_request_headers(headers)
    fixed = [_editable(rule) for rule in rules or ()]
    asked = list(dict.fromkeys(origins))
    if not all(asked):
        raise ValueError("an origin cannot be empty")
    pending: list[str] = []
    for origin in asked:
        if explain_origin(fixed, origin, method, wanted).allowed:
            continue
        if not _extend_existing(fixed, origin, method, wanted, asked):
            pending.append(origin)
    if pending:
        # ETag exposed: a browser needs it to complete a multipart upload; S3 does not expose it by default.
        fixed.append(
            {
                "AllowedHeaders": list(wanted),
                "AllowedMethods": [method],
                "AllowedOrigins": pending,
                "ExposeHeaders": ["ETag"],
            }
        )
    return fixed
