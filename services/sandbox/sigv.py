"""S3 request authentication, verified as S3 verifies it: SigV4 and SigV2, in the query string or the header.

Local emulators (moto 5.2) accept a presigned PUT with the wrong Content-Type, a tampered signature or
an expired URL, so a sandbox built on them alone teaches the wrong lesson: the upload works locally and
fails against AWS. This module recomputes what S3 computes and refuses what S3 refuses, with S3's HTTP
status, error Code, Message and extra XML fields (``StringToSign``, ``CanonicalRequest``, ...), so the
sandbox's answers can be read exactly like the real ones.

Pure: no I/O and no clock; the caller passes the request as it arrived on the wire, a secret lookup and
``now``. What a request proves is returned as a :class:`Verdict`; judging whether that identity (or an
anonymous caller) may do what it asks is the caller's business (bucket policy, IAM).

Behaviour chosen where S3's is not documented (each mirrors what S3 is observed or reported to do):

* Order of checks: parameters and credential scope (400) -> unknown access key (403) -> time window
  (403) -> unsigned ``x-amz-*`` headers (403) -> signature (403).
* Canonical URI: the path is decoded and re-encoded with SigV4's rules (unreserved characters and ``/``
  kept), i.e. encoded once, never twice as other services do; for every path an SDK sends this is the
  path exactly as sent.
* Query strings are decoded as S3 decodes them (``+`` is a space) and re-encoded for the canonical query.
* A presigned URL dated more than 15 minutes ahead answers 403 AccessDenied "Request is not yet valid"
  with S3's fields (``X-Amz-Date`` in epoch milliseconds, as S3 really reports it).
* ``X-Amz-Expires=0`` is a valid value (the URL is simply expired), a negative one is a 400.
* A presigned request hashes with its ``x-amz-content-sha256`` header when it sends one, signed or not
  (``UNSIGNED-PAYLOAD`` otherwise); every other unsigned ``x-amz-*`` header is refused (HeadersNotSigned).
* Query auth is recognised by ``X-Amz-Algorithm``/``X-Amz-Credential``/``X-Amz-Signature`` (v4) or
  ``AWSAccessKeyId``/``Signature`` (v2); anything else without an ``Authorization`` header is anonymous.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Literal
from urllib.parse import quote, unquote

from services.aws_model.s3errors import CLOCK_SKEWED, MAX_CLOCK_SKEW, MSG_URL_EXPIRED, S3Error

AuthKind = Literal[
    "anonymous", "sigv4-query", "sigv4-header", "sigv4-post", "sigv2-query", "sigv2-header", "conflicting"
]

SIGV4_ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
MAX_EXPIRES_SECONDS = 604_800  # one week: S3's ceiling for X-Amz-Expires
MAX_SKEW = MAX_CLOCK_SKEW  # S3's tolerance for a request clock (and for a presigned URL's future date)
SERVICE = "s3"
TERMINATOR = "aws4_request"

_V4_QUERY_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Expires",
)
_V2_QUERY_PARAMS = ("AWSAccessKeyId", "Signature", "Expires")
_STREAMING_PAYLOADS = frozenset(
    {
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
    }
)
#: Sub-resources that SigV2 puts in the CanonicalizedResource (the list botocore's signer uses).
_V2_SUBRESOURCES = frozenset(
    {
        "accelerate", "acl", "analytics", "cors", "defaultObjectAcl", "delete", "inventory", "lifecycle",
        "location", "logging", "metrics", "notification", "object-lock", "partNumber", "policy",
        "replication", "requestPayment", "response-cache-control", "response-content-disposition",
        "response-content-encoding", "response-content-language", "response-content-type",
        "response-expires", "restore", "select", "select-type", "storageClass", "tagging", "torrent",
        "uploadId", "uploads", "versionId", "versioning", "versions", "website",
    }
)  # fmt: skip
_ISO_BASIC = re.compile(r"^[0-9]{8}T[0-9]{6}Z$")
_INTEGER = re.compile(r"^-?[0-9]+$")
_REGION_FORMAT = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_HEX_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")

MSG_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. Check your key and signing method."
)
MSG_UNKNOWN_KEY = "The AWS Access Key Id you provided does not exist in our records."
MSG_EXPIRED = MSG_URL_EXPIRED
MSG_NOT_YET_VALID = "Request is not yet valid"
MSG_UNSIGNED_HEADERS = "There were headers present in the request which were not signed"
MSG_V4_QUERY_MISSING = (
    "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, "
    "X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
)
MSG_V2_QUERY_MISSING = "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters"
MSG_ALGORITHM = 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256".'
MSG_AMZ_DATE = "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""
MSG_EXPIRES_NUMBER = "X-Amz-Expires should be a number"
MSG_EXPIRES_NEGATIVE = "X-Amz-Expires must be non-negative"
MSG_EXPIRES_TOO_LONG = (
    "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than "
    "604800 seconds"
)
MSG_NO_DATE = "AWS authentication requires a valid Date or x-amz-date header"
MSG_SKEWED = "The difference between the request time and the current time is too large."
MSG_ONE_MECHANISM = (
    "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter "
    "or the Authorization header should be specified"
)
MSG_UNSUPPORTED_TYPE = "Unsupported Authorization Type"
MSG_SIGV2_UNSUPPORTED = "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."
MSG_V2_HEADER_FORMAT = "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature"
MSG_MISSING_PAYLOAD_HASH = "Missing required header for this request: x-amz-content-sha256"
MSG_BAD_PAYLOAD_HASH = (
    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER or a valid sha256 value."
)
MSG_HEADER_COMPONENTS = (
    "The authorization header is malformed; the Authorization header requires three components: "
    "Credential, SignedHeaders, and Signature."
)


# --- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """What a request's authentication proves.

    ``ok`` means the authentication holds (an anonymous request holds trivially: ``anonymous`` is then
    True and the caller judges bucket policy). ``payload_sha256`` is the payload hash the request
    committed to (a hex digest, ``UNSIGNED-PAYLOAD`` or a ``STREAMING-...`` mode): when it is a digest the
    caller must still compare it with the body (S3's ``XAmzContentSHA256Mismatch``), and streaming chunk
    signatures are not verified here, only the seed signature.
    """

    ok: bool
    access_key_id: str | None
    anonymous: bool
    error: S3Error | None
    auth: AuthKind = "anonymous"
    session_token: str | None = None
    payload_sha256: str | None = None


class _Refused(Exception):
    """Internal: one check failed; carries S3's answer up to :func:`verify_presigned`."""

    def __init__(self, error: S3Error, access_key_id: str | None = None) -> None:
        super().__init__(error.code)
        self.error = error
        self.access_key_id = access_key_id


# --- the request and the verifier's settings ---------------------------------------------------


@dataclass(frozen=True)
class _Request:
    method: str
    host: str
    raw_path: str
    query: tuple[tuple[str, str | None], ...]  # decoded (name, value); value None for a bare name (``?acl``)
    headers: Mapping[str, tuple[str, ...]]  # lower-cased names, every value as received

    def param(self, name: str) -> str | None:
        """The first value of a query parameter (``""`` for a bare name), or None when absent."""
        for key, value in self.query:
            if key == name:
                return value or ""
        return None

    def header(self, name: str) -> str | None:
        values = self.header_values(name)
        return ",".join(values) if values else None

    def header_values(self, name: str) -> tuple[str, ...]:
        if name == "host" and self.host:
            return (self.host,)  # the caller's Host, as the client sent it (port included)
        return self.headers.get(name, ())


@dataclass(frozen=True)
class _Settings:
    secrets: Callable[[str], str | None]
    now: datetime
    expected_region: str | None
    v2_bucket_prefix: str  # "/<bucket>" for virtual-hosted requests (SigV2's resource names the bucket)
    allow_sigv2: bool


@dataclass(frozen=True)
class _Scope:
    access_key_id: str
    date: str
    region: str

    def text(self) -> str:
        return f"{self.date}/{self.region}/{SERVICE}/{TERMINATOR}"


@dataclass(frozen=True)
class _ScopeErrors:
    """How credential-scope errors are worded: the query string and the header say it differently."""

    code: str
    prefix: str


_QUERY_SCOPE = _ScopeErrors("AuthorizationQueryParametersError", "Error parsing the X-Amz-Credential parameter; ")
_HEADER_SCOPE = _ScopeErrors("AuthorizationHeaderMalformed", "The authorization header is malformed; ")


# --- entry point -------------------------------------------------------------------------------


def verify_presigned(
    method: str,
    host: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str],
    secrets: Callable[[str], str | None],
    now: datetime,
    *,
    expected_region: str | None = None,
    bucket: str | None = None,
    virtual_hosted: bool = False,
    allow_sigv2: bool = True,
) -> Verdict:
    """Verify a request's S3 authentication (SigV4 or SigV2, query string or ``Authorization`` header).

    ``raw_path`` and ``raw_query`` are as sent on the wire (percent-encoded); ``host`` is the Host the
    client sent; ``headers`` may use any case (repeated names are joined with commas, as HTTP does).
    ``secrets(access_key_id)`` returns the secret key or None for an unknown key. ``expected_region`` is
    the bucket's region (None accepts any well-formed region). ``bucket`` and ``virtual_hosted`` matter
    for SigV2 only, whose signed resource always names the bucket. ``allow_sigv2=False`` answers SigV2 as
    regions opened after 2014 (ap-northeast-2 among them) do.
    """
    request = _Request(method, host, raw_path, _parse_query(raw_query), _group_headers(headers))
    settings = _Settings(
        secrets=secrets,
        now=_utc(now),
        expected_region=expected_region,
        v2_bucket_prefix=f"/{bucket}" if virtual_hosted and bucket else "",
        allow_sigv2=allow_sigv2,
    )
    kind = _auth_kind(request)
    try:
        return _VERIFIERS[kind](request, settings)
    except _Refused as refused:
        return Verdict(ok=False, access_key_id=refused.access_key_id, anonymous=False, error=refused.error, auth=kind)


#: The same verification under a name that says it covers header-signed calls too.
verify_request = verify_presigned


def _auth_kind(request: _Request) -> AuthKind:
    """Which mechanism the request uses; S3 refuses a request that carries more than one."""
    found: list[AuthKind] = []
    authorization = request.header("authorization")
    if authorization is not None:
        found.append("sigv4-header" if authorization.startswith(SIGV4_ALGORITHM) else "sigv2-header")
    if any(request.param(name) is not None for name in ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature")):
        found.append("sigv4-query")
    if any(request.param(name) is not None for name in ("AWSAccessKeyId", "Signature")):
        found.append("sigv2-query")
    if len(found) > 1:
        return "conflicting"
    return found[0] if found else "anonymous"


def _anonymous(request: _Request, settings: _Settings) -> Verdict:
    return Verdict(ok=True, access_key_id=None, anonymous=True, error=None)


def _conflicting(request: _Request, settings: _Settings) -> Verdict:
    authorization = request.header("authorization")
    name, value = (
        ("Authorization", authorization) if authorization is not None else ("Signature", request.param("Signature"))
    )
    raise _Refused(_invalid_argument(MSG_ONE_MECHANISM, name, value or ""))


# --- SigV4 in the query string (presigned URLs) ------------------------------------------------


def _verify_v4_query(request: _Request, settings: _Settings) -> Verdict:
    params = _v4_query_params(request)
    if params["X-Amz-Algorithm"] != SIGV4_ALGORITHM:
        raise _Refused(_query_error(MSG_ALGORITHM))
    signed_at = _parse_iso_basic(params["X-Amz-Date"])
    if signed_at is None:
        raise _Refused(_query_error(MSG_AMZ_DATE))
    expires = _parse_expires(params["X-Amz-Expires"])
    scope = _parse_credential(params["X-Amz-Credential"], settings.expected_region, _QUERY_SCOPE)
    _check_scope_date(scope, params["X-Amz-Date"], _QUERY_SCOPE)
    secret = _secret(scope.access_key_id, settings)
    _check_presigned_window(signed_at, expires, params["X-Amz-Expires"], settings.now, scope.access_key_id)
    signed = _signed_header_names(params["X-Amz-SignedHeaders"])
    _check_amz_headers_signed(request, signed, exempt=frozenset({"x-amz-content-sha256"}), key=scope.access_key_id)
    # S3 hashes with the x-amz-content-sha256 header when one is sent, signed or not (an unsigned
    # digest then fails the signature); a presigned URL otherwise commits to no payload.
    payload = request.header("x-amz-content-sha256") or UNSIGNED_PAYLOAD
    canonical = _canonical_request(request, params["X-Amz-SignedHeaders"], signed, payload, skip="X-Amz-Signature")
    _check_v4_signature(params["X-Amz-Signature"], secret, scope, params["X-Amz-Date"], canonical)
    return Verdict(
        ok=True,
        access_key_id=scope.access_key_id,
        anonymous=False,
        error=None,
        auth="sigv4-query",
        session_token=request.param("X-Amz-Security-Token"),
        payload_sha256=payload,
    )


def _v4_query_params(request: _Request) -> dict[str, str]:
    present: dict[str, str] = {}
    for name in _V4_QUERY_PARAMS:
        value = request.param(name)
        if value is None:
            raise _Refused(_query_error(MSG_V4_QUERY_MISSING))
        present[name] = value
    return present


def _parse_expires(raw: str) -> int:
    if not _INTEGER.match(raw):
        raise _Refused(_query_error(MSG_EXPIRES_NUMBER))
    expires = int(raw)
    if expires < 0:
        raise _Refused(_query_error(MSG_EXPIRES_NEGATIVE))
    if expires > MAX_EXPIRES_SECONDS:
        raise _Refused(_query_error(MSG_EXPIRES_TOO_LONG))
    return expires


def _check_presigned_window(signed_at: datetime, expires: int, raw_expires: str, now: datetime, key: str) -> None:
    """A presigned URL is valid from (its date - 15 minutes) to (its date + X-Amz-Expires)."""
    expires_at = signed_at + timedelta(seconds=expires)
    if signed_at - now > MAX_SKEW:
        fields = {
            "X-Amz-Date": str(int(signed_at.timestamp() * 1000)),  # S3 really reports epoch milliseconds here
            "Expires": _iso(expires_at),
            "ServerTime": _iso(now),
        }
        raise _Refused(S3Error(403, "AccessDenied", MSG_NOT_YET_VALID, fields), key)
    if now > expires_at:
        fields = {"X-Amz-Expires": raw_expires, "Expires": _iso(expires_at), "ServerTime": _iso(now)}
        raise _Refused(S3Error(403, "AccessDenied", MSG_EXPIRED, fields), key)


# --- SigV4 in the Authorization header (SDK calls) ---------------------------------------------


def _verify_v4_header(request: _Request, settings: _Settings) -> Verdict:
    components = _parse_v4_authorization(request.header("authorization") or "")
    scope = _parse_credential(components["Credential"], settings.expected_region, _HEADER_SCOPE)
    payload = _payload_hash(request)
    amz_date, signed_at = _v4_request_time(request)
    _check_scope_date(scope, amz_date, _HEADER_SCOPE)
    secret = _secret(scope.access_key_id, settings)
    _check_skew(request, signed_at, settings.now, scope.access_key_id)
    signed = _signed_header_names(components["SignedHeaders"])
    _check_amz_headers_signed(request, signed, exempt=frozenset(), key=scope.access_key_id)
    canonical = _canonical_request(request, components["SignedHeaders"], signed, payload, skip=None)
    _check_v4_signature(components["Signature"], secret, scope, amz_date, canonical)
    return Verdict(
        ok=True,
        access_key_id=scope.access_key_id,
        anonymous=False,
        error=None,
        auth="sigv4-header",
        session_token=request.header("x-amz-security-token"),
        payload_sha256=payload,
    )


def _parse_v4_authorization(value: str) -> dict[str, str]:
    """``AWS4-HMAC-SHA256 Credential=.., SignedHeaders=.., Signature=..`` -> its three components."""
    algorithm, _, rest = value.partition(" ")
    if algorithm != SIGV4_ALGORITHM:
        raise _Refused(_invalid_argument(MSG_UNSUPPORTED_TYPE, "Authorization", value))
    components: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, component = part.strip().partition("=")
        if sep:
            components.setdefault(name, component)
    if not all(components.get(name) for name in ("Credential", "SignedHeaders", "Signature")):
        raise _Refused(S3Error(400, "AuthorizationHeaderMalformed", MSG_HEADER_COMPONENTS))
    return components


def _payload_hash(request: _Request) -> str:
    """Header-signed S3 calls must say what payload they commit to, and say it in S3's terms."""
    value = request.header("x-amz-content-sha256")
    if value is None:
        raise _Refused(S3Error(400, "InvalidRequest", MSG_MISSING_PAYLOAD_HASH))
    if value != UNSIGNED_PAYLOAD and value not in _STREAMING_PAYLOADS and not _HEX_SHA256.match(value):
        raise _Refused(_invalid_argument(MSG_BAD_PAYLOAD_HASH, "x-amz-content-sha256", value))
    return value


def _v4_request_time(request: _Request) -> tuple[str, datetime]:
    """The request's date as SigV4 signs it (``x-amz-date``, else ``Date`` in ISO basic form)."""
    amz_date = request.header("x-amz-date")
    if amz_date is not None:
        parsed = _parse_iso_basic(amz_date)
    else:
        parsed = _parse_http_date(request.header("date"))
        amz_date = parsed.strftime("%Y%m%dT%H%M%SZ") if parsed else ""
    if parsed is None:
        raise _Refused(S3Error(403, "AccessDenied", MSG_NO_DATE))
    return amz_date, parsed


def _check_skew(request: _Request, signed_at: datetime, now: datetime, key: str) -> None:
    if abs(now - signed_at) > MAX_SKEW:
        fields = {
            "RequestTime": request.header("x-amz-date") or request.header("date") or "",
            "ServerTime": _iso(now),
            "MaxAllowedSkewMilliseconds": str(int(MAX_SKEW.total_seconds() * 1000)),
        }
        raise _Refused(S3Error(403, CLOCK_SKEWED, MSG_SKEWED, fields), key)


# --- SigV4 pieces shared by both forms ---------------------------------------------------------


def _parse_credential(credential: str, expected_region: str | None, errors: _ScopeErrors) -> _Scope:
    """``<AKID>/<yyyyMMdd>/<region>/s3/aws4_request``, checked part by part as S3 does."""
    parts = credential.split("/")
    if len(parts) != 5:
        detail = 'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
        raise _Refused(_scope_error(errors, detail))
    key, date, region, service, terminator = parts
    if not key:
        raise _Refused(_scope_error(errors, "a non-empty Access Key (AKID) must be provided in the credential."))
    if _parse_ymd(date) is None:
        detail = f'incorrect date format "{date}". This date in the credential must be in the format "yyyyMMdd".'
        raise _Refused(_scope_error(errors, detail))
    _check_region(region, expected_region, errors)
    if service != SERVICE:
        detail = f'incorrect service "{service}". This endpoint belongs to "{SERVICE}".'
        raise _Refused(_scope_error(errors, detail))
    if terminator != TERMINATOR:
        detail = f'incorrect terminal "{terminator}". This endpoint uses "{TERMINATOR}".'
        raise _Refused(_scope_error(errors, detail))
    return _Scope(key, date, region)


def _check_region(region: str, expected_region: str | None, errors: _ScopeErrors) -> None:
    if expected_region is not None and region != expected_region:
        detail = f"the region '{region}' is wrong; expecting '{expected_region}'"
        raise _Refused(_scope_error(errors, detail, {"Region": expected_region}))
    if not _REGION_FORMAT.match(region):
        detail = 'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
        raise _Refused(_scope_error(errors, detail))


def _check_scope_date(scope: _Scope, amz_date: str, errors: _ScopeErrors) -> None:
    if scope.date != amz_date[:8]:
        detail = f'Invalid credential date "{scope.date}". This date is not the same as X-Amz-Date: "{amz_date[:8]}".'
        message = detail if errors is _QUERY_SCOPE else errors.prefix + detail
        raise _Refused(S3Error(400, errors.code, message))


def _signed_header_names(signed_headers: str) -> list[str]:
    return [name.strip().lower() for name in signed_headers.split(";") if name.strip()]


def _check_amz_headers_signed(request: _Request, signed: list[str], *, exempt: frozenset[str], key: str) -> None:
    """S3 refuses ``x-amz-*`` headers the signature does not cover (an unsigned ``x-amz-acl`` could
    otherwise make a presigned upload public)."""
    unsigned = [
        name for name in request.headers if name.startswith("x-amz-") and name not in signed and name not in exempt
    ]
    if unsigned:
        fields = {"HeadersNotSigned": ", ".join(unsigned)}
        raise _Refused(S3Error(403, "AccessDenied", MSG_UNSIGNED_HEADERS, fields), key)


def _canonical_request(
    request: _Request, signed_line: str, signed: list[str], payload: str, *, skip: str | None
) -> str:
    return "\n".join(
        (
            request.method,
            _canonical_uri(request.raw_path),
            _canonical_query(request.query, skip),
            "".join(f"{name}:{_canonical_header_value(request, name)}\n" for name in signed),
            signed_line,
            payload,
        )
    )


def _canonical_uri(raw_path: str) -> str:
    """S3 encodes the path once (other services twice); ``+`` in a path is a plus, not a space."""
    decoded = unquote(raw_path or "/", errors="surrogateescape")
    return quote(decoded, safe="/", errors="surrogateescape")


def _canonical_query(query: tuple[tuple[str, str | None], ...], skip: str | None) -> str:
    pairs = sorted((_uri_encode(name), _uri_encode(value or "")) for name, value in query if name != skip)
    return "&".join(f"{name}={value}" for name, value in pairs)


def _canonical_header_value(request: _Request, name: str) -> str:
    """Trim each value, collapse inner runs of spaces, join repeated headers with commas."""
    return ",".join(re.sub(r"[ \t]+", " ", value.strip(" \t")) for value in request.header_values(name))


def _check_v4_signature(provided: str, secret: str, scope: _Scope, amz_date: str, canonical: str) -> None:
    string_to_sign = "\n".join((SIGV4_ALGORITHM, amz_date, scope.text(), hashlib.sha256(_utf8(canonical)).hexdigest()))
    expected = hmac.new(_v4_signing_key(secret, scope), _utf8(string_to_sign), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), _utf8(provided)):
        fields = {
            "AWSAccessKeyId": scope.access_key_id,
            "StringToSign": string_to_sign,
            "SignatureProvided": provided,
            "StringToSignBytes": _hex_bytes(string_to_sign),
            "CanonicalRequest": canonical,
            "CanonicalRequestBytes": _hex_bytes(canonical),
        }
        raise _Refused(S3Error(403, "SignatureDoesNotMatch", MSG_SIGNATURE, fields), scope.access_key_id)


def _v4_signing_key(secret: str, scope: _Scope) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (scope.date, scope.region, SERVICE, TERMINATOR):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


# --- SigV4 in a POST form (browser-based uploads, presigned POST) ------------------------------

#: the fields a SigV4-signed form carries besides ``policy``, as S3 names them when one is missing
_POST_FIELDS = (
    ("x-amz-algorithm", "X-Amz-Algorithm"),
    ("x-amz-credential", "X-Amz-Credential"),
    ("x-amz-date", "X-Amz-Date"),
    ("x-amz-signature", "X-Amz-Signature"),
)
_POST_SCOPE = _ScopeErrors("AuthorizationQueryParametersError", "Error parsing the X-Amz-Credential parameter; ")


def post_field_missing(name: str) -> S3Error:
    """S3's 400 for a form without a field it needs (``key``, ``X-Amz-Signature`` ...)."""
    message = (
        f"Bucket POST must contain a field named '{name}'.  If it is specified, please check the order of the fields."
    )
    return _invalid_argument(message, name, "")


def verify_post_form(
    form: Mapping[str, str], secrets: Callable[[str], str | None], *, expected_region: str | None = None
) -> Verdict:
    """Verify a POST form's SigV4 signature: ``x-amz-signature`` is HMAC-SHA256 of the base64 ``policy`` under the
    signing key of ``x-amz-credential``'s scope (the policy is the string to sign).
    https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-authentication-HTTPPOST.html

    ``form`` has lower-cased field names. A form without ``policy`` and signature fields is anonymous (the bucket
    policy decides). The policy's expiration and conditions are judged by the caller
    (``services.aws_model.postpolicy``), after this."""
    policy = form.get("policy")
    signature_fields = [name for name, _ in _POST_FIELDS if name in form]
    if policy is None and not signature_fields:
        if "awsaccesskeyid" in form or "signature" in form:
            return _post_refused(S3Error(400, "InvalidRequest", MSG_SIGV2_UNSUPPORTED))
        return Verdict(ok=True, access_key_id=None, anonymous=True, error=None)
    if policy is None:
        return _post_refused(post_field_missing("Policy"))
    for name, shown in _POST_FIELDS:
        if name not in form:
            return _post_refused(post_field_missing(shown))
    try:
        if form["x-amz-algorithm"] != SIGV4_ALGORITHM:
            raise _Refused(_invalid_argument(MSG_ALGORITHM, "X-Amz-Algorithm", form["x-amz-algorithm"]))
        scope = _parse_credential(form["x-amz-credential"], expected_region, _POST_SCOPE)
        if _parse_iso_basic(form["x-amz-date"]) is None:
            raise _Refused(_invalid_argument(MSG_AMZ_DATE, "X-Amz-Date", form["x-amz-date"]))
        _check_scope_date(scope, form["x-amz-date"], _POST_SCOPE)
        secret = _secret_of(scope.access_key_id, secrets)
        expected = hmac.new(_v4_signing_key(secret, scope), _utf8(policy), hashlib.sha256).hexdigest()
        provided = form["x-amz-signature"]
        if not hmac.compare_digest(expected.encode(), _utf8(provided)):
            fields = {
                "AWSAccessKeyId": scope.access_key_id,
                "StringToSign": policy,
                "SignatureProvided": provided,
                "StringToSignBytes": _hex_bytes(policy),
            }
            raise _Refused(S3Error(403, "SignatureDoesNotMatch", MSG_SIGNATURE, fields), scope.access_key_id)
    except _Refused as refused:
        return _post_refused(refused.error, refused.access_key_id)
    token = form.get("x-amz-security-token")
    return Verdict(
        ok=True, access_key_id=scope.access_key_id, anonymous=False, error=None, auth="sigv4-post", session_token=token
    )


def _post_refused(error: S3Error, access_key_id: str | None = None) -> Verdict:
    return Verdict(ok=False, access_key_id=access_key_id, anonymous=False, error=error, auth="sigv4-post")


def _secret_of(access_key_id: str, secrets: Callable[[str], str | None]) -> str:
    secret = secrets(access_key_id)
    if secret is None:
        raise _Refused(S3Error(403, "InvalidAccessKeyId", MSG_UNKNOWN_KEY, {"AWSAccessKeyId": access_key_id}))
    return secret


# --- SigV2 (query string and header) -----------------------------------------------------------


def _verify_v2_query(request: _Request, settings: _Settings) -> Verdict:
    _check_sigv2_allowed(settings)
    key, signature, raw_expires = (request.param(name) for name in _V2_QUERY_PARAMS)
    if key is None or signature is None or raw_expires is None:
        raise _Refused(S3Error(403, "AccessDenied", MSG_V2_QUERY_MISSING))
    expires = _parse_epoch(raw_expires)
    secret = _secret(key, settings)
    if settings.now > expires:
        fields = {"Expires": _iso(expires), "ServerTime": _iso(settings.now)}
        raise _Refused(S3Error(403, "AccessDenied", MSG_EXPIRED, fields), key)
    string_to_sign = _v2_string_to_sign(request, settings, raw_expires, amz_from_query=True)
    _check_v2_signature(key, secret, signature, string_to_sign)
    token = request.param("x-amz-security-token") or request.header("x-amz-security-token")
    return Verdict(ok=True, access_key_id=key, anonymous=False, error=None, auth="sigv2-query", session_token=token)


def _verify_v2_header(request: _Request, settings: _Settings) -> Verdict:
    authorization = request.header("authorization") or ""
    scheme, _, credentials = authorization.partition(" ")
    if scheme != "AWS":
        raise _Refused(_invalid_argument(MSG_UNSUPPORTED_TYPE, "Authorization", authorization))
    _check_sigv2_allowed(settings)
    key, sep, signature = credentials.rpartition(":")
    if not sep or not key:
        raise _Refused(_invalid_argument(MSG_V2_HEADER_FORMAT, "Authorization", authorization))
    has_amz_date = request.header("x-amz-date") is not None
    signed_at = _parse_http_date(request.header("x-amz-date") if has_amz_date else request.header("date"))
    if signed_at is None:
        raise _Refused(S3Error(403, "AccessDenied", MSG_NO_DATE))
    secret = _secret(key, settings)
    _check_skew(request, signed_at, settings.now, key)
    date_line = "" if has_amz_date else request.header("date") or ""  # x-amz-date is signed among the amz headers
    string_to_sign = _v2_string_to_sign(request, settings, date_line, amz_from_query=False)
    _check_v2_signature(key, secret, signature, string_to_sign)
    token = request.header("x-amz-security-token")
    return Verdict(ok=True, access_key_id=key, anonymous=False, error=None, auth="sigv2-header", session_token=token)


def _check_sigv2_allowed(settings: _Settings) -> None:
    if not settings.allow_sigv2:
        raise _Refused(S3Error(400, "InvalidRequest", MSG_SIGV2_UNSUPPORTED))


def _parse_epoch(raw: str) -> datetime:
    message = f"Invalid date (should be seconds since epoch): {raw}"
    if not _INTEGER.match(raw):
        raise _Refused(S3Error(403, "AccessDenied", message))
    try:
        return datetime.fromtimestamp(int(raw), UTC)
    except (ValueError, OverflowError, OSError) as err:
        raise _Refused(S3Error(403, "AccessDenied", message)) from err


def _v2_string_to_sign(request: _Request, settings: _Settings, date_line: str, *, amz_from_query: bool) -> str:
    """``METHOD\\nContent-MD5\\nContent-Type\\nExpires-or-Date\\n`` + amz headers + resource."""
    lines = [
        request.method,
        (request.header("content-md5") or "").strip(),
        (request.header("content-type") or "").strip(),
        date_line,
    ]
    return "\n".join(lines) + "\n" + _v2_amz_headers(request, amz_from_query) + _v2_resource(request, settings)


def _v2_amz_headers(request: _Request, from_query: bool) -> str:
    """``x-amz-*`` headers, sorted; a presigned URL carries them as query parameters (the session
    token, ``x-amz-acl``, ...), which S3 signs as if they were headers."""
    collected = {
        name: ",".join(value.strip() for value in values)
        for name, values in request.headers.items()
        if name.startswith("x-amz-")
    }
    if from_query:
        for name, value in request.query:
            lowered = name.lower()
            if lowered.startswith("x-amz-") and lowered not in collected:
                collected[lowered] = (value or "").strip()
    return "".join(f"{name}:{value}\n" for name, value in sorted(collected.items()))


def _v2_resource(request: _Request, settings: _Settings) -> str:
    """The path as sent (bucket prepended for virtual-hosted requests) plus the signed sub-resources."""
    resource = settings.v2_bucket_prefix + (request.raw_path or "/")
    subresources = sorted(
        ((name, value) for name, value in request.query if name in _V2_SUBRESOURCES), key=lambda pair: pair[0]
    )
    if subresources:
        resource += "?" + "&".join(name if value is None else f"{name}={value}" for name, value in subresources)
    return resource


def _check_v2_signature(key: str, secret: str, provided: str, string_to_sign: str) -> None:
    digest = hmac.new(secret.encode(), _utf8(string_to_sign), hashlib.sha1).digest()
    expected = base64.b64encode(digest)
    if not hmac.compare_digest(expected, _utf8(provided)):
        fields = {
            "AWSAccessKeyId": key,
            "StringToSign": string_to_sign,
            "SignatureProvided": provided,
            "StringToSignBytes": _hex_bytes(string_to_sign),
        }
        raise _Refused(S3Error(403, "SignatureDoesNotMatch", MSG_SIGNATURE, fields), key)


_VERIFIERS: dict[AuthKind, Callable[[_Request, _Settings], Verdict]] = {
    "anonymous": _anonymous,
    "conflicting": _conflicting,
    "sigv4-query": _verify_v4_query,
    "sigv4-header": _verify_v4_header,
    "sigv2-query": _verify_v2_query,
    "sigv2-header": _verify_v2_header,
}


# --- small helpers -----------------------------------------------------------------------------


def _secret(access_key_id: str, settings: _Settings) -> str:
    secret = settings.secrets(access_key_id)
    if secret is None:
        raise _Refused(S3Error(403, "InvalidAccessKeyId", MSG_UNKNOWN_KEY, {"AWSAccessKeyId": access_key_id}))
    return secret


def _query_error(message: str) -> S3Error:
    return S3Error(400, "AuthorizationQueryParametersError", message)


def _scope_error(errors: _ScopeErrors, detail: str, fields: dict[str, str] | None = None) -> S3Error:
    return S3Error(400, errors.code, errors.prefix + detail, fields or {})


def _invalid_argument(message: str, name: str, value: str) -> S3Error:
    return S3Error(400, "InvalidArgument", message, {"ArgumentName": name, "ArgumentValue": value})


def _parse_query(raw_query: str) -> tuple[tuple[str, str | None], ...]:
    """Split and decode a raw query string as S3 reads it (``+`` is a space; bytes kept exact)."""
    pairs: list[tuple[str, str | None]] = []
    for part in raw_query.split("&"):
        if not part:
            continue
        name, sep, value = part.partition("=")
        pairs.append((_unquote_query(name), _unquote_query(value) if sep else None))
    return tuple(pairs)


def _unquote_query(text: str) -> str:
    return unquote(text.replace("+", " "), errors="surrogateescape")


def _uri_encode(text: str) -> str:
    """SigV4's URI encoding: every byte but ``A-Za-z0-9-._~`` as ``%XY`` (upper-case hex)."""
    return quote(text, safe="", errors="surrogateescape")


def _group_headers(headers: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    grouped: dict[str, list[str]] = {}
    for name, value in headers.items():
        grouped.setdefault(name.strip().lower(), []).append(str(value))
    return {name: tuple(values) for name, values in grouped.items()}


def _parse_iso_basic(text: str) -> datetime | None:
    if not _ISO_BASIC.match(text):
        return None
    try:
        return datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def _parse_ymd(text: str) -> datetime | None:
    if not re.fullmatch(r"[0-9]{8}", text):
        return None
    try:
        return datetime.strptime(text, "%Y%m%d").replace(tzinfo=UTC)
    except ValueError:
        return None


def _parse_http_date(text: str | None) -> datetime | None:
    if not text:
        return None
    parsed = _parse_iso_basic(text)
    if parsed is not None:
        return parsed
    try:
        return _utc(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError):
        return None


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _hex_bytes(text: str) -> str:
    """S3's ``...Bytes`` fields: each byte as two lower-case hex digits, separated by spaces."""
    return " ".join(f"{byte:02x}" for byte in _utf8(text))
