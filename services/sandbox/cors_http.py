"""S3's HTTP answers to CORS requests, as the sandbox gives them: a preflight's status, headers and XML error body,
and the CORS headers of an actual request. The matching itself is the model's (services/aws_model/s3cors.py)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from services.aws_model.s3cors import (
    S3_CORS_METHODS,
    CorsRules,
    allow_reason,
    check_rules,
    first_match,
    max_age_of,
    parse_request_headers,
    refusal_reason,
    rule_strings,
)
from services.aws_model.s3errors import S3Error

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


# XML 1.0 cannot carry these characters at all; S3 never receives them in a header either.


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


def _error(status: int, code: str, message: str, reason: str, ids: dict[str, str], **fields: str) -> CorsResponse:
    """S3's refusal of a preflight: its XML error (no Resource: S3 writes none on a CORS refusal) and ids."""
    body = S3Error(status, code, message, dict(fields)).to_xml("", ids["x-amz-request-id"], host_id=ids["x-amz-id-2"])
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
    match = first_match(checks)
    if match is None:
        reason = refusal_reason(checks, origin, method)
        return _error(
            403, "AccessForbidden", NOT_ALLOWED_MESSAGE, reason, ids, Method=method, ResourceType=resource_type
        )
    assert match.matched_origin is not None
    headers = {**_cors_headers(rules[match.index], origin, match.matched_origin, requested), **ids}
    return CorsResponse(200, headers, b"", match.index, allow_reason(match, origin, method, requested))


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
    match = first_match(check_rules(rules, origin, effective, requested))
    if match is None or match.matched_origin is None:
        return {}
    # Access-Control-Allow-Headers belongs to preflights; recordings of actual requests never show it.
    return _cors_headers(rules[match.index], origin, match.matched_origin, ())


def _cors_headers(rule: Any, origin: str, matched_origin: str, requested: Sequence[str]) -> dict[str, str]:
    """The Access-Control-* headers S3 sends for a matched rule (values and joins as recorded [ls])."""
    wildcard = matched_origin == "*"
    headers = {
        "Access-Control-Allow-Origin": "*" if wildcard else origin,
        "Access-Control-Allow-Methods": ", ".join(rule_strings(rule, "AllowedMethods")),
    }
    if requested:
        headers["Access-Control-Allow-Headers"] = ", ".join(requested)
    expose = rule_strings(rule, "ExposeHeaders")
    if expose:
        headers["Access-Control-Expose-Headers"] = ", ".join(expose)
    max_age = max_age_of(rule)
    if max_age is not None:
        headers["Access-Control-Max-Age"] = str(max_age)
    if not wildcard:  # no credentials flag beside "*" [ls: opt-random-wildcard-origin]
        headers["Access-Control-Allow-Credentials"] = "true"
    headers["Vary"] = VARY
    return headers
