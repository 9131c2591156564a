"""Amazon S3's CORS algorithm over a bucket's stored rules: pure functions, no I/O.

The rules are the ``CORSRules`` list exactly as ``get_bucket_cors`` returns it (``AllowedOrigins``,
``AllowedMethods``, ``AllowedHeaders``, ``ExposeHeaders``, ``MaxAgeSeconds``, ``ID``), or ``None`` when
the bucket has no CORS configuration (``NoSuchCORSConfiguration``). Here: which rule matches a request
(:func:`check_rules`, first match wins), and what S3 refuses or flags in a configuration (:func:`rule_problems`).
Two users build on it: the sandbox, which answers preflights and actual requests as S3 does
(``services/sandbox/cors_http.py``), and the checks, which say why an origin is refused and what would fix it
(``services/checks/cors_advice.py``).

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

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.aws_model.wildcard import wildcard_match

Rule = Mapping[str, Any]
CorsRules = Sequence[Rule]

#: The only values AllowedMethods may hold, case-sensitive [ug-elements]; S3 refuses others with
#: InvalidRequest "Found unsupported HTTP method in CORS config. Unsupported method is X" [ls].
S3_CORS_METHODS = ("GET", "PUT", "POST", "DELETE", "HEAD")
MAX_RULES = 100  # [ug-elements]
MAX_ID_LENGTH = 255  # [API_CORSRule]


# ------------------------------------------------------------------ results


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


def rule_strings(rule: Any, key: str) -> list[str]:
    """A list field of a rule as strings, tolerating a missing key or a bare string."""
    value = rule.get(key) if isinstance(rule, Mapping) else None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [item for item in value if isinstance(item, str)]
    return []


def rule_id_of(rule: Any) -> str | None:
    value = rule.get("ID") if isinstance(rule, Mapping) else None
    return value if isinstance(value, str) else None


def max_age_of(rule: Any) -> int | None:
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
    return wildcard_match(pattern, text, single=None)


def _matching_origin(rule: Any, origin: str) -> str | None:
    """The AllowedOrigins entry matching ``origin`` (case-sensitive), or None.

    An entry that is exactly ``*`` matches every origin, so a rule holding it always has ``*`` as a
    matching entry; S3 then answers ``Access-Control-Allow-Origin: *`` [ls] (LocalStack and s3rver both
    choose ``*`` whenever the rule lists it, even beside specific origins).
    """
    allowed = rule_strings(rule, "AllowedOrigins")
    if "*" in allowed:
        return "*"
    return next((entry for entry in allowed if glob_match(entry, origin)), None)


def refused_headers(rule: Any, requested: Sequence[str]) -> tuple[str, ...]:
    """Requested header names (lower case) that no AllowedHeaders entry matches, case-insensitively.

    A rule without AllowedHeaders allows no requested header at all [ls: test_put_cors_default_values].
    """
    patterns = [entry.lower() for entry in rule_strings(rule, "AllowedHeaders")]
    return tuple(name for name in requested if not any(glob_match(p, name) for p in patterns))


def check_rules(rules: CorsRules | None, origin: str, method: str, headers: Sequence[str]) -> tuple[RuleCheck, ...]:
    """Every rule judged against (origin, method, lower-case headers), in order."""
    return tuple(
        RuleCheck(
            index=index,
            rule_id=rule_id_of(rule),
            matched_origin=_matching_origin(rule, origin),
            method_allowed=method in rule_strings(rule, "AllowedMethods"),  # case-sensitive [ug-elements]
            refused_headers=refused_headers(rule, headers),
        )
        for index, rule in enumerate(rules or ())
    )


def first_match(checks: Sequence[RuleCheck]) -> RuleCheck | None:
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


def allow_reason(check: RuleCheck, origin: str, method: str, headers: Sequence[str]) -> str:
    asked = f" with headers {', '.join(headers)}" if headers else ""
    return (
        f"rule #{check.index} allows origin {origin} to {method}{asked} (AllowedOrigins entry {check.matched_origin})"
    )


# ------------------------------------------------------------------ S3's answers


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
    head = serialized_origin(entry.strip())
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
    if sep and port == DEFAULT_PORTS.get(scheme):
        found.append(
            problem("origin-default-port", "warning", f"{quoted} names port {port}; browsers omit it [repost]")
        )
    return found


def _list_problems(index: int, rule: Mapping[str, Any]) -> list[RuleProblem]:
    found = []
    for key in ("AllowedOrigins", "AllowedMethods"):
        if not rule_strings(rule, key):  # required [API_CORSRule]; S3 answers MalformedXML
            found.append(RuleProblem(f"no-{key[7:].lower()}", "error", index, f"{key} is missing or empty"))
    for method in rule_strings(rule, "AllowedMethods"):
        if method not in S3_CORS_METHODS:
            hint = f" (methods are case-sensitive: {method.upper()})" if method.upper() in S3_CORS_METHODS else ""
            message = f"Found unsupported HTTP method in CORS config. Unsupported method is {method}{hint}"
            found.append(RuleProblem("unknown-method", "error", index, message))
    for header in rule_strings(rule, "AllowedHeaders"):
        if header.count("*") > 1:  # "at most one * wildcard character" [ug-elements]
            message = f"AllowedHeader {json.dumps(header)} can not have more than one wildcard."
            found.append(RuleProblem("header-wildcards", "error", index, message))
    if any("*" in header for header in rule_strings(rule, "ExposeHeaders")):
        message = "ExposeHeaders cannot hold a wildcard (S3: 'We currently do not support wildcard for ExposeHeader.')"
        found.append(RuleProblem("expose-wildcard", "error", index, message))
    return found


def _scalar_problems(index: int, rule: Mapping[str, Any]) -> list[RuleProblem]:
    found = []
    rule_id = rule_id_of(rule)
    if rule_id is not None and len(rule_id) > MAX_ID_LENGTH:
        found.append(RuleProblem("id-too-long", "error", index, f"ID is {len(rule_id)} characters; at most 255"))
    max_age = max_age_of(rule)
    if max_age is not None and max_age < 0:
        found.append(RuleProblem("max-age-negative", "warning", index, f"MaxAgeSeconds is {max_age}"))
    methods = rule_strings(rule, "AllowedMethods")
    exposed = {header.lower() for header in rule_strings(rule, "ExposeHeaders")}
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
        for entry in rule_strings(rule, "AllowedOrigins"):
            found += _origin_problems(index, entry)
        found += _scalar_problems(index, rule)
    return found


def validate_rules(rules: CorsRules | None) -> list[str]:
    """Problems S3 would refuse (``error ...``) or that are likely mistakes (``warning ...``), one line each."""
    return [str(problem) for problem in rule_problems(rules)]


DEFAULT_PORTS = {"http": "80", "https": "443"}


def serialized_origin(value: str) -> str:
    """``scheme://host[:port]`` of a value, dropping any path (the part a browser's Origin holds)."""
    scheme, sep, rest = value.partition("://")
    if not sep:
        return value.split("/", 1)[0]
    return f"{scheme}://{rest.split('/', 1)[0]}"
