"""The browser's CORS preflights, as the web app's browser makes them before it sends anything.

A browser at the web app's origin asks the presign endpoint ``OPTIONS`` (``x-extension`` is not a
CORS-safelisted header, and neither is the ``Content-Type`` the web app sends) and then the presigned
URL ``OPTIONS`` (a PUT with ``Content-Type``) before either real request. When an answer does not let the
origin, method or headers through, the browser stops there: the real request is never sent.

The browser's own rules, from the Fetch standard (https://fetch.spec.whatwg.org/#cors-preflight-fetch):
the preflight's status must be 2xx ("ok status"); ``Access-Control-Allow-Origin`` must be the origin
or ``*``; a method that is not CORS-safelisted (GET, HEAD, POST) must be listed in
``Access-Control-Allow-Methods`` (or ``*``); each requested header must be listed in
``Access-Control-Allow-Headers`` (or ``*``). Header names compare case-insensitively.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from botocore.exceptions import BotoCoreError, ClientError

from services.aws_model.s3cors import CorsRules, allow_reason, check_rules, first_match, refusal_reason
from services.core.transport import TIMEOUT, Answer, exchange

#: what the seed's web app asks the presign endpoint (GET with x-extension and its Content-Type)
PRESIGN_PREFLIGHT = ("GET", ("x-extension", "content-type"))
#: what it asks the bucket (PUT with Content-Type: application/<ext> or image/<ext>, neither safelisted)
PUT_PREFLIGHT = ("PUT", ("content-type",))
#: a presigned POST: a multipart/form-data form, which is a CORS "simple request" (a safelisted method and
#: Content-Type, no other header): the browser sends it without a preflight, but still needs
#: Access-Control-Allow-Origin on S3's answer before it lets the web app see it
#: (https://fetch.spec.whatwg.org/#cors-safelisted-request-header)
POST_FORM = ("POST", ())


def upload_request(shape: str) -> tuple[str, tuple[str, ...]]:
    """The method and non-safelisted headers of the browser's upload to S3 for a grant's shape (put or post): what
    the bucket's CORS must allow for it."""
    return POST_FORM if shape == "post" else PUT_PREFLIGHT


SAFELISTED_METHODS = frozenset({"GET", "HEAD", "POST"})
#: an origin value meaning "no browser": the console's own server-side requests, without preflights
SERVER_SIDE = ("none", "server-side")
PREFLIGHT_DEADLINE = 15.0  # seconds for one OPTIONS, connect to last byte
MAX_PREFLIGHT_BODY = 16 * 1024


@dataclass(frozen=True)
class PreflightVerdict:
    """One preflight as the browser judges it: ``missing`` lists what the answer lacks (empty: allowed)."""

    origin: str
    method: str
    headers: tuple[str, ...]
    status: int
    missing: tuple[str, ...]
    answer: Mapping[str, str]  # the Access-Control-* headers the answer carried, as quoted evidence

    @property
    def allowed(self) -> bool:
        return not self.missing

    def quoted(self) -> str:
        """The answer's Access-Control-* headers, for a person (``none`` when it carried none)."""
        return "; ".join(f"{name}: {value}" for name, value in self.answer.items()) or "no Access-Control-* headers"


def _tokens(value: str | None) -> set[str]:
    return {part.strip().lower() for part in (value or "").split(",") if part.strip()}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return next((str(v) for k, v in headers.items() if str(k).lower() == name.lower()), None)


def judge_preflight(
    origin: str, method: str, headers: Sequence[str], status: int, answer: Mapping[str, str]
) -> PreflightVerdict:
    """Whether the browser lets the real request through after this preflight answer, and what is missing. Pure."""
    missing: list[str] = []
    if not 200 <= status < 300:
        missing.append(f"an ok status (it answered HTTP {status})")
    allow_origin = _header(answer, "Access-Control-Allow-Origin")
    if allow_origin is None:
        missing.append(f"Access-Control-Allow-Origin: {origin} (the answer has none)")
    elif allow_origin.strip() not in (origin, "*"):
        missing.append(f"Access-Control-Allow-Origin: {origin} (it allows {allow_origin.strip()!r})")
    methods = _tokens(_header(answer, "Access-Control-Allow-Methods"))
    if method.upper() not in SAFELISTED_METHODS and not {method.lower(), "*"} & methods:
        missing.append(f"{method.upper()} in Access-Control-Allow-Methods")
    allowed_headers = _tokens(_header(answer, "Access-Control-Allow-Headers"))
    refused = [h for h in headers if h.lower() not in allowed_headers and "*" not in allowed_headers]
    if refused:
        missing.append(f"{', '.join(refused)} in Access-Control-Allow-Headers")
    shown = {
        name: value
        for name in ("Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers")
        if (value := _header(answer, name)) is not None
    }
    return PreflightVerdict(origin, method.upper(), tuple(headers), status, tuple(missing), shown)


def chosen_origin(requested: str | None, app_origins: Sequence[str]) -> str | None:
    """The browser origin uploads are made from: ``requested``, else the first app origin; None for server-side."""
    value = (requested or "").strip()
    if value.lower() in SERVER_SIDE:
        return None
    if value:
        return value.rstrip("/")
    return app_origins[0] if app_origins else None


def send_preflight(
    session: requests.Session,
    url: str,
    origin: str,
    method: str,
    headers: Sequence[str],
    *,
    deadline_s: float = PREFLIGHT_DEADLINE,
    timeout: tuple[float, float] = TIMEOUT,
) -> tuple[Answer, PreflightVerdict]:
    """OPTIONS ``url`` as the browser does, and the browser's verdict. Raises requests' exceptions or
    DeadlineExceeded for the caller to translate."""
    ask = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        ask["Access-Control-Request-Headers"] = ",".join(headers)
    answer = exchange(
        session, "OPTIONS", url, headers=ask, deadline_s=deadline_s, limit=MAX_PREFLIGHT_BODY, timeout=timeout
    )
    return answer, judge_preflight(origin, method, headers, answer.status, answer.headers)


# --- why a preflight was refused, and the fix -------------------------------------------------------------

#: an API Gateway HTTP API's own host: <api-id>.execute-api.<region>.amazonaws.com
API_HOST = re.compile(r"^(?P<id>[a-z0-9]{6,})\.execute-api\.(?P<region>[a-z0-9-]+)\.amazonaws\.com$")


def api_cors_command(presign_url: str, origins: Sequence[str], region: str | None) -> str:
    """The CLI call that lets ``origins`` call the presign endpoint (an HTTP API's CORS configuration)."""
    try:
        host = (urlsplit(presign_url).hostname or "").lower()
    except ValueError:
        host = ""
    match = API_HOST.match(host)
    api_id = match["id"] if match else "<api-id>"
    region = (match["region"] if match else None) or region
    return (
        f"aws apigatewayv2 update-api --api-id {api_id} --cors-configuration "
        f"AllowOrigins={','.join(origins)},AllowHeaders=content-type,x-extension,AllowMethods=GET,OPTIONS"
        + (f" --region {region}" if region else "")
    )


def _asked(verdict: PreflightVerdict) -> str:
    asked = f"Access-Control-Request-Method: {verdict.method}"
    if verdict.headers:
        asked += f", Access-Control-Request-Headers: {','.join(verdict.headers)}"
    return asked


def _needs(verdict: PreflightVerdict) -> str:
    return "; ".join(verdict.missing)


def presign_refusal(verdict: PreflightVerdict, presign_url: str, origins: Sequence[str], region: str | None) -> str:
    """Why the browser stops before asking for a URL, and the fix."""
    wanted = list(dict.fromkeys([*origins, verdict.origin]))
    return (
        f"A browser at {verdict.origin} first sends OPTIONS to the presign endpoint ({_asked(verdict)}). It answered "
        f"HTTP {verdict.status} ({verdict.quoted()}); the browser needs {_needs(verdict)}. It "
        "stops there: the web app never gets a URL. Allow the origin and the headers in the API's CORS: "
        f"{api_cors_command(presign_url, wanted, region)} (a REST API or a Lambda proxy must return them itself)."
    )


def bucket_rules_reason(
    read: Callable[[], CorsRules | None], origin: str, request: tuple[str, tuple[str, ...]] = PUT_PREFLIGHT
) -> tuple[str, CorsRules | None, bool]:
    """S3's CORS algorithm over the bucket's stored rules, to say why (the live preflight already decided), for the
    browser's ``request`` (method, headers: the PUT's preflight by default, or ``POST_FORM``).
    ``read`` returns the rules (None: the bucket has none) or raises ClientError / BotoCoreError.
    The sentence, the rules, and whether they were read."""
    try:
        rules = read()
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code") or "an error"
        if code == "NoSuchCORSConfiguration":
            rules = None
        else:
            return (
                f"The bucket's CORS rules could not be read to say why (s3:GetBucketCors answered {code}).",
                None,
                False,
            )
    except BotoCoreError as err:
        return f"The bucket's CORS rules could not be read to say why ({type(err).__name__}).", None, False
    method, headers = request
    if rules is None:
        return "The bucket has no CORS configuration: S3 answers every preflight 403.", None, True
    checks = check_rules(rules, origin, method, headers)
    match = first_match(checks)
    if match is not None:  # the rules allow it, yet the live answer refused: say so rather than guess
        reason = allow_reason(match, origin, method, headers)
        return (
            f"The bucket's stored CORS rules would allow it ({reason}): something in front of S3 refused.",
            rules,
            True,
        )
    return f"The bucket's CORS rules say why: {refusal_reason(checks, origin, method)}.", rules, True


def _with_origin(rules: CorsRules | None, origin: str, method: str = "PUT") -> list[dict[str, object]]:
    """The stored rules kept, and one rule appended letting ``origin`` PUT (or POST) with content-type (ETag
    exposed, as a browser needs for multipart uploads); earlier rules keep answering as before (S3 uses the first
    match)."""
    rule = {"AllowedHeaders": ["content-type"], "AllowedMethods": [method], "AllowedOrigins": [origin]}
    return [*(dict(r) for r in rules or ()), {**rule, "ExposeHeaders": ["ETag"]}]


def put_refusal(
    verdict: PreflightVerdict, bucket: str, error_code: str | None, rules_reason: tuple[str, CorsRules | None, bool]
) -> str:
    """Why the browser stops before the PUT, and the fix (the whole CORS configuration to put)."""
    reason, rules, read = rules_reason
    said = f" {error_code}" if error_code else ""
    fixed = {"CORSRules": _with_origin(rules, verdict.origin)}
    merge = "" if read else " (merge it into the bucket's current rules: aws s3api get-bucket-cors)"
    return (
        f"A browser at {verdict.origin} first sends OPTIONS to the presigned URL ({_asked(verdict)}). S3 answered "
        f"HTTP {verdict.status}{said} ({verdict.quoted()}); the browser needs {_needs(verdict)}. It stops "
        f"there: nothing is uploaded. {reason} Fix{merge}: aws s3api put-bucket-cors --bucket "
        f"{bucket} --cors-configuration '{json.dumps(fixed, separators=(',', ':'))}'"
    )


def post_refusal(
    origin: str, status: int, answer: Mapping[str, str], bucket: str, rules_reason: tuple[str, CorsRules | None, bool]
) -> str:
    """Why the browser hides S3's answer to the form POST from the web app (no preflight: a simple request), and the
    fix (the whole CORS configuration to put)."""
    reason, rules, read = rules_reason
    allow = _header(answer, "Access-Control-Allow-Origin")
    got = "no Access-Control-Allow-Origin" if allow is None else f"Access-Control-Allow-Origin {allow.strip()!r}"
    fixed = {"CORSRules": _with_origin(rules, origin, POST_FORM[0])}
    merge = "" if read else " (merge it into the bucket's current rules: aws s3api get-bucket-cors)"
    stored = "S3 stored the object, but" if 200 <= status < 300 else "S3 refused it, and"
    return (
        f"A browser at {origin} sends a presigned POST's form without a preflight (a CORS simple request). "
        f"{stored} its answer (HTTP {status}) carries {got}: the browser hides it, and the web app's upload fails "
        f"as a network error. {reason} Fix{merge}: aws s3api put-bucket-cors --bucket {bucket} "
        f"--cors-configuration '{json.dumps(fixed, separators=(',', ':'))}'"
    )
