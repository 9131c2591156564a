"""Amazon S3's CORS algorithm over a bucket's stored rules: pure functions, no I/O.

The rules are the ``CORSRules`` list exactly as ``get_bucket_cors`` returns it (``AllowedOrigins``,
``AllowedMethods``, ``AllowedHeaders``, ``ExposeHeaders``, ``MaxAgeSeconds``, ``ID``), or ``None`` when
the bucket has no CORS configuration (``NoSuchCORSConfiguration``). Two users:

- the local S3 emulator, which answers a browser's preflight and actual requests as S3 does
  (:func:`preflight`, :func:`actual_request_headers`);
- diagnostics, which say whether the rules let a web app's origin PUT with ``content-type``, why not,
  and the exact JSON that would fix it (:func:`explain_origin`, :func:`suggest_rules`,
  :func:`validate_rules`).

Sources (cited as [tag] in comments below):

- [ug-cors] https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html - S3 "uses the first
  CORSRule rule that matches"; origin, method (or Access-Control-Request-Method) and every requested
  header must match.
- [ug-elements] https://docs.aws.amazon.com/AmazonS3/latest/userguide/ManageCorsUsing.html - the five
  methods, "only one * wildcard character" in an origin, at most one in an AllowedHeader
  (``x-amz-*``), up to 100 rules.
- [API_CORSRule] https://docs.aws.amazon.com/AmazonS3/latest/API/API_CORSRule.html - ID at most 255
  characters; AllowedOrigins and AllowedMethods required.
- [repost] https://repost.aws/knowledge-center/s3-configure-cors (AWS-authored) - scheme, host and port
  must match: with ``http://www.example.com`` allowed, ``https://www.example.com`` and
  ``http://www.example.com:80`` do not.
- [ls] LocalStack's AWS-validated recordings, tests/aws/services/s3/test_s3_cors.py and its
  .snapshot.json (recorded against S3 2023-2025): exact headers, messages, lower-cased echo of
  requested headers, ``Vary``, ``ResourceType``, and that Access-Control-Request-Method /
  -Headers decide the match even on a non-OPTIONS request.
- [s3-tests] ceph/s3-tests test_cors_origin_response (not marked fails_on_aws): ``*`` matches the
  empty string, patterns are anchored at both ends, an origin need not be a URL.
- [emu] Eucalyptus' S3 conformance suite and s3rver: a configured bucket answers a preflight without
  Access-Control-Request-Method with 400 ``Invalid Access-Control-Request-Method: null``. Emulators,
  not AWS recordings: the least certain detail here.
- [fetch] https://fetch.spec.whatwg.org/ - a serialized origin is ``scheme://host[:port]``, lower case,
  default port omitted, no trailing slash; preflights list lower-case header names.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

Rule = Mapping[str, Any]
CorsRules = Sequence[Rule]

#: The only values AllowedMethods may hold, case-sensitive [ug-elements]; S3 refuses others with
#: InvalidRequest "Found unsupported HTTP method in CORS config. Unsupported method is X" [ls].
S3_CORS_METHODS = ("GET", "PUT", "POST", "DELETE", "HEAD")
MAX_RULES = 100  # [ug-elements]
MAX_ID_LENGTH = 255  # [API_CORSRule]

VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"  # [ls], every answer
NOT_ALLOWED_MESSAGE = (
    "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, "
    "request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted "
    "by the resource's CORS spec."
)  # S3's wording, typo "evalution" included [ls]
NOT_ENABLED_MESSAGE = "CORSResponse: CORS is not enabled for this bucket."  # [ls]
NO_ORIGIN_MESSAGE = "Insufficient information. Origin request header needed."  # [ls]
INVALID_METHOD_MESSAGE = "Invalid Access-Control-Request-Method: {method}"  # [emu]

DEFAULT_REQUEST_ID = "0000000000000000"
DEFAULT_HOST_ID = "s3cors-local"

_DEFAULT_PORTS = {"http": "80", "https": "443"}
# XML 1.0 cannot carry these characters at all; S3 never receives them in a header either.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


# ------------------------------------------------------------------ results


@dataclass(frozen=True)
class CorsResponse:
    """What S3 answers to a preflight (OPTIONS) request, plus why, for a person."""

    status: int
    headers: dict[str, str]
    body: bytes
    matched_rule_index: int | None
    reason: str
    error_code: str | None = None

    @property
    def allowed(self) -> bool:
        return self.status == 200


@dataclass(frozen=True)
class RuleCheck:
    """One rule judged against one request, every dimension independently."""

    index: int
    rule_id: str | None
    matched_origin: str | None  # the AllowedOrigins entry that matched, None when none did
    method_allowed: bool
    refused_headers: tuple[str, ...]

    @property
    def matches(self) -> bool:
        return self.matched_origin is not None and self.method_allowed and not self.refused_headers

    @property
    def failures(self) -> tuple[str, ...]:
        """The dimensions this rule refuses, in S3's order of evaluation: origin, method, header."""
        failed = []
        if self.matched_origin is None:
            failed.append("origin")
        if not self.method_allowed:
            failed.append("method")
        if self.refused_headers:
            failed.append("header")
        return tuple(failed)


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


@dataclass(frozen=True)
class RuleProblem:
    """One problem in a CORS configuration: ``error`` = S3 refuses it, ``warning`` = likely a mistake."""

    code: str
    severity: str
    rule_index: int | None
    message: str

    def __str__(self) -> str:
        where = f"rule #{self.rule_index}: " if self.rule_index is not None else ""
        return f"{self.severity} {self.code}: {where}{self.message}"


# ------------------------------------------------------------------ reading rules


def _strings(rule: Any, key: str) -> list[str]:
    """A list field of a rule as strings, tolerating a missing key or a bare string."""
    value = rule.get(key) if isinstance(rule, Mapping) else None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [item for item in value if isinstance(item, str)]
    return []


def _rule_id(rule: Any) -> str | None:
    value = rule.get("ID") if isinstance(rule, Mapping) else None
    return value if isinstance(value, str) else None


def _max_age(rule: Any) -> int | None:
    value = rule.get("MaxAgeSeconds") if isinstance(rule, Mapping) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_request_headers(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """Access-Control-Request-Headers as S3 reads it: comma-separated, trimmed, lower case.

    S3 matches names without regard to case and echoes them lower-cased, in the order requested,
    with or without a space after the comma [ls]. Empty items (``a,,b``) are ignored, as RFC 9110
    lists allow.
    """
    if value is None:
        return ()
    raw = value if isinstance(value, str) else ",".join(value)
    return tuple(name.strip().lower() for name in raw.split(",") if name.strip())


# ------------------------------------------------------------------ matching


def glob_match(pattern: str, text: str) -> bool:
    """Whether ``text`` matches ``pattern`` in full, where ``*`` stands for any run of characters.

    ``*`` also matches nothing (``start*end`` matches ``startend``) and the pattern is anchored at both
    ends (``*suffix`` does not match ``foo.suffix.get``) [s3-tests]. Greedy with backtracking to the last
    star: linear in practice, never exponential, whatever the pattern.
    """
    p = t = 0
    star, resume = -1, 0
    while t < len(text):
        if p < len(pattern) and pattern[p] == "*":
            star, resume = p, t
            p += 1
        elif p < len(pattern) and pattern[p] == text[t]:
            p += 1
            t += 1
        elif star >= 0:
            resume += 1
            p, t = star + 1, resume
        else:
            return False
    return all(char == "*" for char in pattern[p:])


def _matching_origin(rule: Any, origin: str) -> str | None:
    """The AllowedOrigins entry matching ``origin`` (case-sensitive), or None.

    An entry that is exactly ``*`` matches every origin, so a rule holding it always has ``*`` as a
    matching entry; S3 then answers ``Access-Control-Allow-Origin: *`` [ls] (LocalStack and s3rver both
    choose ``*`` whenever the rule lists it, even beside specific origins).
    """
    allowed = _strings(rule, "AllowedOrigins")
    if "*" in allowed:
        return "*"
    return next((entry for entry in allowed if glob_match(entry, origin)), None)


def _refused_headers(rule: Any, requested: Sequence[str]) -> tuple[str, ...]:
    """Requested header names (lower case) that no AllowedHeaders entry matches, case-insensitively.

    A rule without AllowedHeaders allows no requested header at all [ls: test_put_cors_default_values].
    """
    patterns = [entry.lower() for entry in _strings(rule, "AllowedHeaders")]
    return tuple(name for name in requested if not any(glob_match(p, name) for p in patterns))


def check_rules(rules: CorsRules | None, origin: str, method: str, headers: Sequence[str]) -> tuple[RuleCheck, ...]:
    """Every rule judged against (origin, method, lower-case headers), in order."""
    return tuple(
        RuleCheck(
            index=index,
            rule_id=_rule_id(rule),
            matched_origin=_matching_origin(rule, origin),
            method_allowed=method in _strings(rule, "AllowedMethods"),  # case-sensitive [ug-elements]
            refused_headers=_refused_headers(rule, headers),
        )
        for index, rule in enumerate(rules or ())
    )


def _first_match(checks: Sequence[RuleCheck]) -> RuleCheck | None:
    # "uses the first CORSRule rule that matches" [ug-cors]
    return next((check for check in checks if check.matches), None)


def _rule_refs(checks: Sequence[RuleCheck]) -> str:
    numbers = ", ".join(f"#{check.index}" for check in checks)
    return f"rule {numbers}" if len(checks) == 1 else f"rules {numbers}"


def refusal_reason(checks: Sequence[RuleCheck], origin: str, method: str) -> str:
    """One line saying why no rule matched, at the first dimension where every rule fails."""
    by_origin = [check for check in checks if check.matched_origin is not None]
    if not by_origin:
        return f"origin {origin} matches no AllowedOrigins of any rule (rules: {len(checks)})"
    by_method = [check for check in by_origin if check.method_allowed]
    if not by_method:
        verb = "allows" if len(by_origin) == 1 else "allow"
        return f"{_rule_refs(by_origin)} {verb} the origin but not method {method}"
    parts = []
    for check in by_method:
        noun = "header" if len(check.refused_headers) == 1 else "headers"
        parts.append(f"{noun} {', '.join(check.refused_headers)} not in AllowedHeaders of rule #{check.index}")
    return "; ".join(parts)


def _allow_reason(check: RuleCheck, origin: str, method: str, headers: Sequence[str]) -> str:
    asked = f" with headers {', '.join(headers)}" if headers else ""
    return (
        f"rule #{check.index} allows origin {origin} to {method}{asked} (AllowedOrigins entry {check.matched_origin})"
    )


# ------------------------------------------------------------------ S3's answers


def _cors_headers(rule: Any, origin: str, matched_origin: str, requested: Sequence[str]) -> dict[str, str]:
    """The Access-Control-* headers S3 sends for a matched rule (values and joins as recorded [ls])."""
    wildcard = matched_origin == "*"
    headers = {
        "Access-Control-Allow-Origin": "*" if wildcard else origin,
        "Access-Control-Allow-Methods": ", ".join(_strings(rule, "AllowedMethods")),
    }
    if requested:
        headers["Access-Control-Allow-Headers"] = ", ".join(requested)
    expose = _strings(rule, "ExposeHeaders")
    if expose:
        headers["Access-Control-Expose-Headers"] = ", ".join(expose)
    max_age = _max_age(rule)
    if max_age is not None:
        headers["Access-Control-Max-Age"] = str(max_age)
    if not wildcard:  # no credentials flag beside "*" [ls: opt-random-wildcard-origin]
        headers["Access-Control-Allow-Credentials"] = "true"
    headers["Vary"] = VARY
    return headers


def _xml_text(value: str) -> str:
    return escape(_XML_INVALID.sub("", value))


def error_body(code: str, message: str, request_id: str, host_id: str, **fields: str) -> bytes:
    """An S3 XML error document; extra fields go between Message and RequestId, as S3 orders them."""
    parts = [f"<Code>{_xml_text(code)}</Code>", f"<Message>{_xml_text(message)}</Message>"]
    parts += [f"<{name}>{_xml_text(value)}</{name}>" for name, value in fields.items()]
    parts += [f"<RequestId>{_xml_text(request_id)}</RequestId>", f"<HostId>{_xml_text(host_id)}</HostId>"]
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Error>' + "".join(parts) + "</Error>").encode()


def _error(status: int, code: str, message: str, reason: str, ids: dict[str, str], **fields: str) -> CorsResponse:
    body = error_body(code, message, ids["x-amz-request-id"], ids["x-amz-id-2"], **fields)
    headers = {"Content-Type": "application/xml", **ids}
    return CorsResponse(status, headers, body, None, reason, error_code=code)


def preflight(
    rules: CorsRules | None,
    origin: str | None,
    method: str | None,
    request_headers: str | Iterable[str] | None = None,
    *,
    resource_type: str = "OBJECT",
    request_id: str = DEFAULT_REQUEST_ID,
    host_id: str = DEFAULT_HOST_ID,
) -> CorsResponse:
    """S3's answer to ``OPTIONS`` with ``Origin``, ``Access-Control-Request-Method`` = ``method`` and
    ``Access-Control-Request-Headers`` = ``request_headers``.

    200 with the Access-Control-* headers of the first matching rule; 403 AccessForbidden when no rule
    matches or the bucket has no CORS configuration; 400 BadRequest when a required header is missing.
    ``resource_type`` is what the 403 names for a refused request: OBJECT for a key URL, BUCKET for the
    bucket itself [ls].
    """
    ids = {"x-amz-request-id": request_id, "x-amz-id-2": host_id}
    # The Origin check comes before the configuration lookup: 400 even without a configuration [ls].
    if not origin:
        return _error(400, "BadRequest", NO_ORIGIN_MESSAGE, "the preflight carries no Origin header", ids)
    if rules is None:
        # ResourceType BUCKET and Method OPTIONS (when none requested), even for an object URL [ls]
        reason = "the bucket has no CORS configuration, so S3 refuses every preflight"
        return _error(
            403, "AccessForbidden", NOT_ENABLED_MESSAGE, reason, ids, Method=method or "OPTIONS", ResourceType="BUCKET"
        )
    if method not in S3_CORS_METHODS:
        shown = "null" if method is None else method
        reason = f"Access-Control-Request-Method {shown} is not one S3 CORS knows ({', '.join(S3_CORS_METHODS)})"
        return _error(400, "BadRequest", INVALID_METHOD_MESSAGE.format(method=shown), reason, ids)
    requested = parse_request_headers(request_headers)
    checks = check_rules(rules, origin, method, requested)
    match = _first_match(checks)
    if match is None:
        reason = refusal_reason(checks, origin, method)
        return _error(
            403, "AccessForbidden", NOT_ALLOWED_MESSAGE, reason, ids, Method=method, ResourceType=resource_type
        )
    assert match.matched_origin is not None
    headers = {**_cors_headers(rules[match.index], origin, match.matched_origin, requested), **ids}
    return CorsResponse(200, headers, b"", match.index, _allow_reason(match, origin, method, requested))


def actual_request_headers(
    rules: CorsRules | None,
    origin: str | None,
    method: str,
    *,
    access_control_request_method: str | None = None,
    access_control_request_headers: str | Iterable[str] | None = None,
) -> dict[str, str]:
    """The CORS headers S3 adds to a non-OPTIONS request carrying ``Origin``; ``{}`` when none apply.

    S3 serves the request either way (even a PUT no rule allows is stored [ls]); without these headers
    the browser only refuses to let the page read the answer. Quirk kept from S3 [ls]: when the request
    also carries Access-Control-Request-Method / -Headers, those decide the match, not the real method.
    """
    if not origin or rules is None:  # no Origin: not a CORS request; no configuration: no headers [ls]
        return {}
    effective = access_control_request_method or method
    requested = parse_request_headers(access_control_request_headers)
    match = _first_match(check_rules(rules, origin, effective, requested))
    if match is None or match.matched_origin is None:
        return {}
    # Access-Control-Allow-Headers belongs to preflights; recordings of actual requests never show it.
    return _cors_headers(rules[match.index], origin, match.matched_origin, ())


# ------------------------------------------------------------------ diagnostics


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


def _head(value: str) -> str:
    """``scheme://host[:port]`` of a value, dropping any path (the part a browser's Origin holds)."""
    scheme, sep, rest = value.partition("://")
    if not sep:
        return value.split("/", 1)[0]
    return f"{scheme}://{rest.split('/', 1)[0]}"


def _near_miss(entry: str, origin: str) -> str | None:
    """Why a non-matching AllowedOrigins entry looks meant for ``origin``, or None."""
    quoted = json.dumps(entry)
    if origin != _head(origin) and glob_match(entry, _head(origin)):
        return (
            f"{quoted} would match {_head(origin)}; the origin given has a path or trailing slash a browser never sends"
        )
    if entry != _head(entry) and glob_match(_head(entry), origin):
        return f"{quoted} has a path or trailing slash; a browser's Origin is scheme://host[:port] only [fetch]"
    if entry.lower() == origin.lower():
        return f"{quoted} differs from {origin} only in letter case; S3 compares origins case-sensitively"
    mine, theirs = _origin_parts(entry), _origin_parts(origin)
    if mine is None or theirs is None or mine[1].lower() != theirs[1].lower():
        return None
    (e_scheme, _, e_port, _), (o_scheme, _, o_port, _) = mine, theirs
    if e_scheme == o_scheme and not o_port and e_port == _DEFAULT_PORTS.get(e_scheme):
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
        for entry in _strings(rules[index], "AllowedOrigins"):
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
        else f"origin {origin} matches none of AllowedOrigins {json.dumps(_strings(rule, 'AllowedOrigins'))}"
    )
    methods = json.dumps(_strings(rule, "AllowedMethods"))
    method_part = f"{method} {'in' if check.method_allowed else 'not in'} AllowedMethods {methods}"
    allowed_headers = json.dumps(_strings(rule, "AllowedHeaders"))
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
    match = _first_match(checks)
    if match is not None:
        reason = _allow_reason(match, origin, method, requested)
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


# ------------------------------------------------------------------ fixing


def _editable(rule: Any) -> dict[str, Any]:
    """A deep copy of a rule as a plain dict, its list fields normalised to lists of strings."""
    copied = copy.deepcopy(dict(rule)) if isinstance(rule, Mapping) else {}
    for key in ("AllowedHeaders", "AllowedMethods", "AllowedOrigins", "ExposeHeaders"):
        if key in copied:
            copied[key] = _strings(copied, key)
    return copied


def _add_origin(rule: dict[str, Any], origin: str, keep: Collection[str]) -> None:
    """Add ``origin`` to a rule, replacing an entry that is the same origin plus a path or slash.

    Such an entry can never match what a browser sends [fetch], so replacing it loses nothing; an entry
    that is itself among the origins asked for (``keep``) stays.
    """
    origins = rule.setdefault("AllowedOrigins", [])
    for position, entry in enumerate(origins):
        if entry != origin and _head(entry) == origin and entry not in keep:
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
        if method in _strings(rule, "AllowedMethods") and not _refused_headers(rule, wanted):
            _add_origin(rule, origin, keep)
            return True
    for rule in rules:
        if method in _strings(rule, "AllowedMethods") and origin in _strings(rule, "AllowedOrigins"):
            rule.setdefault("AllowedHeaders", []).extend(_refused_headers(rule, wanted))
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


# ------------------------------------------------------------------ validation


def _origin_problems(index: int, entry: str) -> list[RuleProblem]:
    """What is wrong with one AllowedOrigins entry: S3 refusals, then values that can never match."""

    def problem(code: str, severity: str, message: str) -> RuleProblem:
        return RuleProblem(code, severity, index, message)

    quoted = json.dumps(entry)
    if entry.count("*") > 1:  # [ug-elements]; wording as S3 answers InvalidRequest
        return [problem("origin-wildcards", "error", f"AllowedOrigin {quoted} can not have more than one wildcard.")]
    if entry == "*":
        return []
    if not entry.strip():
        return [problem("origin-empty", "warning", f"AllowedOrigins entry {quoted} is empty and matches no browser")]
    found = []
    if entry != entry.strip():
        found.append(problem("origin-whitespace", "warning", f"{quoted} has surrounding spaces; it never matches"))
    head = _head(entry.strip())
    if head != entry.strip():
        found.append(
            problem("origin-path", "warning", f"{quoted} has a path or trailing slash; use {json.dumps(head)} [fetch]")
        )
    if "://" not in head and "*" not in head:
        found.append(problem("origin-no-scheme", "warning", f"{quoted} has no scheme; browsers send scheme://host"))
    if head != head.lower():
        found.append(problem("origin-case", "warning", f"{quoted} has upper case; browsers send lower case [fetch]"))
    scheme, sep, rest = head.lower().partition("://")
    port = rest.rpartition(":")[2] if ":" in rest else ""
    if sep and port == _DEFAULT_PORTS.get(scheme):
        found.append(
            problem("origin-default-port", "warning", f"{quoted} names port {port}; browsers omit it [repost]")
        )
    return found


def _list_problems(index: int, rule: Mapping[str, Any]) -> list[RuleProblem]:
    found = []
    for key in ("AllowedOrigins", "AllowedMethods"):
        if not _strings(rule, key):  # required [API_CORSRule]; S3 answers MalformedXML
            found.append(RuleProblem(f"no-{key[7:].lower()}", "error", index, f"{key} is missing or empty"))
    for method in _strings(rule, "AllowedMethods"):
        if method not in S3_CORS_METHODS:
            hint = f" (methods are case-sensitive: {method.upper()})" if method.upper() in S3_CORS_METHODS else ""
            message = f"Found unsupported HTTP method in CORS config. Unsupported method is {method}{hint}"
            found.append(RuleProblem("unknown-method", "error", index, message))
    for header in _strings(rule, "AllowedHeaders"):
        if header.count("*") > 1:  # "at most one * wildcard character" [ug-elements]
            message = f"AllowedHeader {json.dumps(header)} can not have more than one wildcard."
            found.append(RuleProblem("header-wildcards", "error", index, message))
    if any("*" in header for header in _strings(rule, "ExposeHeaders")):
        message = "ExposeHeaders cannot hold a wildcard (S3: 'We currently do not support wildcard for ExposeHeader.')"
        found.append(RuleProblem("expose-wildcard", "error", index, message))
    return found


def _scalar_problems(index: int, rule: Mapping[str, Any]) -> list[RuleProblem]:
    found = []
    rule_id = _rule_id(rule)
    if rule_id is not None and len(rule_id) > MAX_ID_LENGTH:
        found.append(RuleProblem("id-too-long", "error", index, f"ID is {len(rule_id)} characters; at most 255"))
    max_age = _max_age(rule)
    if max_age is not None and max_age < 0:
        found.append(RuleProblem("max-age-negative", "warning", index, f"MaxAgeSeconds is {max_age}"))
    methods = _strings(rule, "AllowedMethods")
    exposed = {header.lower() for header in _strings(rule, "ExposeHeaders")}
    if ("PUT" in methods or "POST" in methods) and "etag" not in exposed:
        message = "ExposeHeaders lacks ETag: a browser cannot read it (needed to complete multipart uploads)"
        found.append(RuleProblem("expose-etag", "warning", index, message))
    return found


def rule_problems(rules: CorsRules | None) -> list[RuleProblem]:
    """Every problem in a CORS configuration, as structured findings with stable codes."""
    if rules is None:
        return []
    found = []
    if not rules:  # an empty configuration is MalformedXML [ls]
        found.append(RuleProblem("no-rules", "error", None, "CORSRules is empty; S3 refuses it (MalformedXML)"))
    if len(rules) > MAX_RULES:
        found.append(RuleProblem("too-many-rules", "error", None, f"{len(rules)} rules; S3 takes at most {MAX_RULES}"))
    for index, rule in enumerate(rules):
        if not isinstance(rule, Mapping):
            found.append(RuleProblem("not-a-rule", "error", index, f"expected an object, got {type(rule).__name__}"))
            continue
        found += _list_problems(index, rule)
        for entry in _strings(rule, "AllowedOrigins"):
            found += _origin_problems(index, entry)
        found += _scalar_problems(index, rule)
    return found


def validate_rules(rules: CorsRules | None) -> list[str]:
    """Problems S3 would refuse (``error ...``) or that are likely mistakes (``warning ...``), one line each."""
    return [str(problem) for problem in rule_problems(rules)]
