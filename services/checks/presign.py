"""Checks of the presign endpoint (API Gateway -> Lambda): does it answer, keep its contract, sign a sound
URL, and let the web app's origins call it. Pure judges over gathered evidence (``Evidence``).

Ids: ``presign.reachable``, ``presign.contract``, ``presign.url``, ``presign.cors``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from services.aws_model import s3checksums, s3endpoints
from services.aws_model.s3headers import signed_beyond_every_put
from services.checks import presigned_post
from services.checks.bucket_region import CALL, with_bucket_region
from services.checks.bucket_region import CODES as BUCKET_REGION_CODES
from services.checks.evidence import Evidence
from services.checks.findings import Tally, finding, presigned_url, reply_json
from services.checks.findings import presigned_post as presigned_post_reply
from services.checks.lifetime import UPLOAD_URL_LIFETIME
from services.checks.model import Check, Exchange, Finding, Impact, Status
from services.checks.scrub import evidence_items as _evidence
from services.core.redact import REDACTED, redact_text, redact_url
from services.core.settings import shown_put_headers
from services.pipeline.explain import CHECKSUM_CLIENT_FIX, SIGNED_HEADER_RULE, explain_presign, signed_header_fix
from services.pipeline.preflight import api_cors_command

#: this module's check ids, each written once: its judge and its entry in CHECKS use the name
PRESIGN_CONTRACT = "presign.contract"
PRESIGN_CORS = "presign.cors"
PRESIGN_REACHABLE = "presign.reachable"
PRESIGN_URL = "presign.url"

UUID4_KEY = re.compile(
    r"^(?:[\w\-]+/)*[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.png$", re.IGNORECASE
)
LONG_EXPIRY = 3600  # the seed's hour: long for a bearer URL
SHORT_EXPIRY = 30  # under this, a browser's preflight, a slow network or a retry outlives the URL
MAX_EXPIRY = 604_800  # SigV4's ceiling (7 days)
EXCERPT = 300
SHIPPED_FUNCTION = "presign_function/lambda_function.py"


def _excerpt(text: str | None, limit: int = EXCERPT) -> str:
    text = redact_text((text or "").strip())
    return text if len(text) <= limit else text[:limit] + "…"


def _message(exchange: Exchange) -> str | None:
    """``message`` (or ``error``) of a JSON error reply."""
    doc = reply_json(exchange)
    if not isinstance(doc, dict):
        return None
    return next((doc[name] for name in ("message", "Message", "error") if isinstance(doc.get(name), str)), None)


def _explain(status: int, exchange: Exchange) -> str:
    """explain_presign over a body that parses (a pathologically nested body is left out)."""
    body = (exchange.body or "").encode("utf-8", "replace")
    return explain_presign(
        status, body if reply_json(exchange) is not None or not body.lstrip().startswith((b"[", b"{")) else None
    )


def _said(exchange: Exchange) -> str:
    """How one exchange went, in a few words, quoting the status and the start of the body."""
    if exchange.status is None:
        return f"no answer ({_describe_error(exchange.error)})"
    body = _excerpt(exchange.body, 160)
    return f"HTTP {exchange.status}" + (f" {body}" if body else "")


def _describe_error(error: str | None) -> str:
    text = redact_text(error or "no error recorded")
    lowered = text.lower()
    if "refused" in lowered:
        kind = "connection refused"
    elif "timed out" in lowered or "timeout" in lowered:
        kind = "timed out"
    elif any(word in lowered for word in ("name or service", "nodename", "getaddrinfo", "nameresolution", "resolve")):
        kind = "DNS lookup failed"
    elif "ssl" in lowered or "certificate" in lowered:
        kind = "TLS handshake failed"
    else:
        return text
    return f"{kind}: {text}"


def _presigned_url(ev: Evidence) -> str | None:
    return presigned_url(ev.presign_ok)


def _is_2xx(exchange: Exchange | None) -> bool:
    return exchange is not None and exchange.status is not None and 200 <= exchange.status < 300


# --- presign.reachable ------------------------------------------------------------------------------------


def _endpoint_code(status: int) -> str:
    if status >= 500:
        return "endpoint.server_error"
    return {401: "endpoint.unauthorized", 403: "endpoint.forbidden", 404: "endpoint.not_found"}.get(
        status, "endpoint.error"
    )


def judge_reachable(ev: Evidence) -> Finding:
    """The endpoint answers a well-formed request (``x-extension: png``) with something other than a 5xx."""
    ex = ev.presign_ok
    cid = PRESIGN_REACHABLE
    url = redact_url(ev.target.presign_url)
    curl = f"curl -i -H 'x-extension: png' '{url}'"
    if ex is None:
        return finding(
            cid,
            Status.UNKNOWN,
            "The presign endpoint was not called",
            f"No GET to {url} was gathered.",
            codes=("endpoint.not_called",),
        )
    evidence = _evidence(ex)
    if ex.status is None:
        why = _describe_error(ex.error)
        return finding(
            cid,
            Status.FAIL,
            f"The presign endpoint did not answer ({why.split(':', 1)[0]})",
            f"GET {url} with x-extension: png got no answer: {why}.",
            f"Check PIPELINE_PRESIGN_URL (host, stage, route) and that this machine can reach it:\n{curl}",
            evidence,
            codes=("endpoint.no_answer",),
        )
    status = ex.status
    body = _excerpt(ex.body)
    quoted = f' Body: "{body}".' if body else ""
    if status >= 500 or (status in (401, 403, 404)):
        message = _message(ex)
        cause = _explain(status, ex)
        if status == 403 and (message or "").lower() == "forbidden":
            cause = (
                'API Gateway answered 403 {"message":"Forbidden"}: the URL\'s stage or route does not exist '
                "(REST APIs answer Forbidden, not 404, for unknown paths), or the route needs an authorizer / "
                "API key the console does not send."
            )
        fix = (
            f"Read the function's CloudWatch logs (aws logs tail /aws/lambda/{ev.target.lambda_function or '<function>'} "
            f"--since 15m), or deploy {SHIPPED_FUNCTION}, which answers errors as 4xx JSON."
            if status >= 500
            else "Copy the invoke URL (with stage and route) from the API Gateway console into PIPELINE_PRESIGN_URL:\n"
            "aws apigatewayv2 get-apis --query 'Items[].[ApiId,ApiEndpoint]'\n" + curl
        )
        return finding(
            cid,
            Status.FAIL,
            f"The presign endpoint answered HTTP {status}",
            f"GET {url} → {status}. {cause}{quoted}",
            fix,
            evidence,
            codes=(_endpoint_code(status),),
        )
    if 300 <= status < 400:
        location = redact_text(ex.header("Location") or "(no Location)")
        return finding(
            cid,
            Status.WARN,
            f"The presign endpoint redirects (HTTP {status})",
            f"GET {url} → {status}, Location: {location}. Browsers follow it, but a redirect costs a round trip "
            "and a CORS preflight may not follow it.",
            f"Set PIPELINE_PRESIGN_URL (and the web app's endpoint) to the final URL: {location}",
            evidence,
            codes=("endpoint.redirect",),
        )
    if 400 <= status < 500:
        cause = _explain(status, ex)
        return finding(
            cid,
            Status.WARN,
            f"The presign endpoint answers, but refused a well-formed request (HTTP {status})",
            f"GET {url} with x-extension: png → {status}. {cause}{quoted}",
            f"Check that the function accepts x-extension: png ({SHIPPED_FUNCTION} does):\n{curl}",
            evidence,
            codes=("endpoint.refused_valid_request",),
        )
    return finding(
        cid,
        Status.PASS,
        f"The presign endpoint answers (HTTP {status}, {ex.ms:.0f} ms)",
        f"GET {url} → {status}.",
        "",
        evidence,
        codes=("endpoint.answers",),
    )


# --- presign.contract -------------------------------------------------------------------------------------


REPLY_SHAPE = (
    'The function must reply {"presignedUrl": "<url from generate_presigned_url>", "key": "<uuid4>.png", '
    f'"contentType": "image/png"}} as its JSON body ({SHIPPED_FUNCTION} does).'
)


def _judge_reply(doc: Any, tally: Tally) -> None:
    failed = len(tally.fails)
    _judge_reply_fields(doc, tally)
    if len(tally.fails) > failed:
        tally.fix(REPLY_SHAPE)


def _judge_reply_fields(doc: Any, tally: Tally) -> None:
    if not isinstance(doc, dict):
        tally.fail("reply.not_json_object", "The 200 reply is not a JSON object with presignedUrl and key.")
        return
    url, key, content_type = doc.get("presignedUrl"), doc.get("key"), doc.get("contentType")
    if url is None and "fields" in doc:
        presigned_post.judge_post_reply(doc, tally)  # the POST shape: {"url", "fields", "key", "contentType"}
    elif not (isinstance(url, str) and url.strip()):
        tally.fail("reply.url_missing", f"presignedUrl is missing or not a string (got {type(url).__name__}).")
    elif getattr(_urlsplit_safe(url), "scheme", None) not in ("http", "https"):
        tally.fail("reply.url_not_http", f"presignedUrl is not an http(s) URL: {_excerpt(redact_url(url), 120)!r}.")
    if not (isinstance(key, str) and key.strip()):
        tally.fail("reply.key_missing", f"key is missing or not a string (got {type(key).__name__}).")
    elif not UUID4_KEY.match(key):
        tally.warn(
            "reply.key_not_uuid",
            f"key {_excerpt(key, 80)!r} does not look like <uuid4>.png: keys chosen from user input or predictable "
            "names let one upload overwrite or guess another.",
        )
        tally.fix('Let the function choose the key: key = f"{uuid.uuid4()}.{ext}".')
    else:
        tally.note(f"key {key!r} is a uuid4.")
    if content_type is None:
        tally.warn(
            "reply.content_type_missing",
            "The reply has no contentType: clients must guess the signed Content-Type "
            "(the console assumes PIPELINE_CLIENT_CONTENT_TYPE).",
        )
        tally.fix(
            f'Return "contentType" with the signed type ({SHIPPED_FUNCTION} does), or set '
            "PIPELINE_CLIENT_CONTENT_TYPE to the type the function signs, e.g. application/{ext}."
        )
    elif not isinstance(content_type, str) or not content_type.strip():
        tally.fail(
            "reply.content_type_invalid",
            f"contentType is not a non-empty string (got {_excerpt(repr(content_type), 60)}).",
        )
    else:
        tally.note(f"contentType {content_type!r}.")


#: the reply's key is another than the one its presigned URL stores under (a function that builds the key twice)
KEY_NOT_URL_KEY = "reply.key_not_url_key"


def _judge_reply_key(doc: Any, ev: Evidence, tally: Tally) -> None:
    """The reply's ``key`` is the key its presigned URL's path names: S3 stores the upload under the URL's key, so a
    web app that reads the reply's key back meets a missing object (403 from a CDN that may not list the bucket)."""
    url, key = (doc.get("presignedUrl"), doc.get("key")) if isinstance(doc, dict) else (None, None)
    if not isinstance(url, str) or not isinstance(key, str):
        return
    signed = s3endpoints.url_key(url, s3endpoints.Endpoint.parse(ev.target.s3_endpoint))
    if signed is None or signed == key:
        return
    tally.fail(
        KEY_NOT_URL_KEY,
        f"The reply's key {_excerpt(key, 80)!r} is not the key its presignedUrl signs ({_excerpt(signed, 80)!r}, the "
        "URL's path): the upload is stored under the URL's key, and a web app that reads the reply's key back gets "
        "403 AccessDenied from the CDN (a missing key, which CloudFront may not list), not the image.",
    )
    tally.fix(
        'Build the key once and return the key the URL signs: key = f"{uuid.uuid4()}.{ext}"; '
        'url = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": key, ...}); '
        'return {"presignedUrl": url, "key": key, ...}.'
    )


def _urlsplit_safe(url: str) -> Any:
    try:
        return urlsplit(url)
    except ValueError:
        return None


def _judge_refusal(label: str, ex: Exchange | None, function: str, tally: Tally) -> None:
    """A request the endpoint must refuse with a 4xx JSON error (not a 5xx, not a 200)."""
    if ex is None:
        tally.unknown("refusal.not_probed", f"{label} was not probed.")
        return
    if ex.status is None:
        tally.unknown("refusal.no_answer", f"{label} got {_said(ex)}.")
        return
    status = ex.status
    if status >= 500:
        tally.fail(
            "refusal.server_error", f"{label} → HTTP {status} (a crash, not an answer): {_excerpt(ex.body, 160)!r}."
        )
    elif 200 <= status < 300:
        doc = reply_json(ex)
        key = doc.get("key") if isinstance(doc, dict) else None
        got = f"key {_excerpt(str(key), 80)!r}" if key is not None else _excerpt(ex.body, 160)
        tally.fail(
            "refusal.no_allowlist", f"The function has no extension allowlist ({label} → HTTP {status} with {got})."
        )
    elif 400 <= status < 500:
        message = _message(ex)
        if reply_json(ex) is None:
            tally.warn(
                "refusal.not_json", f"{label} → HTTP {status} with a body that is not JSON: {_excerpt(ex.body, 80)!r}."
            )
            tally.fix(
                'Answer refusals as JSON, e.g. 400 {"error": "unsupported_extension", "message": "..."} '
                f"({SHIPPED_FUNCTION} does)."
            )
        else:
            tally.note(f"{label} → HTTP {status}" + (f' "{message}".' if message else "."))
        return
    else:
        tally.warn("refusal.not_4xx", f"{label} → HTTP {status}; expected a 4xx JSON error.")
        tally.fix(f"Answer a missing or unsupported x-extension with 400 JSON ({SHIPPED_FUNCTION} does).")
        return
    tally.fix(
        f"Deploy {SHIPPED_FUNCTION} (extension allowlist; 400 JSON errors): zip it and run "
        f"aws lambda update-function-code --function-name {function} --zip-file fileb://function.zip"
    )


def judge_contract(ev: Evidence) -> Finding:
    """The 200 reply keeps the contract; bad input gets a 4xx JSON error."""
    cid = PRESIGN_CONTRACT
    ex = ev.presign_ok
    evidence = _evidence(ex, ev.presign_missing_extension, ev.presign_bad_extension)
    if ex is None or not _is_2xx(ex):
        got = "was not called" if ex is None else f"answered {_said(ex)}"
        return finding(
            cid,
            Status.UNKNOWN,
            "No successful presign reply to judge",
            f"GET with x-extension: png {got}; see presign.reachable.",
            "",
            evidence,
            codes=("reply.none",),
        )
    tally = Tally()
    _judge_reply(reply_json(ex), tally)
    _judge_reply_key(reply_json(ex), ev, tally)
    function = ev.target.lambda_function or "<function>"
    _judge_refusal("GET without x-extension", ev.presign_missing_extension, function, tally)
    _judge_refusal("GET with x-extension 'exe'", ev.presign_bad_extension, function, tally)
    ok = "The presign reply keeps the contract; bad extensions get a 4xx JSON error"
    return tally.finding(cid, ok, evidence, ok_code="reply.keeps_contract")


# --- presign.url ------------------------------------------------------------------------------------------


def _is_local(parts: Any) -> bool:
    """A ``*.localhost`` name (RFC 6761) or loopback: a local emulator such as `python -m services sandbox`."""
    return s3endpoints.is_local_host((parts.hostname or "").lower())


def _judge_scheme(parts: Any, ev: Evidence, tally: Tally) -> None:
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and (ev.target.sandbox or _is_local(parts)):
        tally.note("Plain http: fine for a local sandbox only (the traffic never leaves this machine).")
        return
    tally.fail(
        "url.not_https",
        f"The URL is {parts.scheme or 'scheme-less'}, not https: the upload (and the bearer URL) crosses the network "
        "in clear text; mixed-content rules block it from an https page.",
    )
    tally.fix(
        "Sign with the default endpoint (https://<bucket>.s3.<region>.amazonaws.com): remove any http "
        "endpoint_url / use_ssl=False from the function's boto3 client."
    )


_SIGN_IN_REGION = (
    "Sign with the bucket's region: boto3.client('s3', region_name='<region>', config=Config("
    "signature_version='s3v4', s3={'addressing_style': 'virtual'})) — the shipped function's BUCKET_REGION."
)


def _endpoint_refusal(host: str, verdict: s3endpoints.EndpointMatch, ev: Evidence, tally: Tally) -> None:
    """Say why the URL is not the bucket's endpoint: the same verdict that makes the console's upload refuse it."""
    bucket, region, named = ev.target.bucket, ev.target.region, verdict.addressed
    reason = verdict.reason
    if reason == s3endpoints.OTHER_BUCKET and named is not None:
        style = "virtual-hosted" if named.style == "virtual" else "path-style"
        tally.fail(
            "url.other_bucket",
            f"The URL is signed for bucket {named.bucket!r} ({style}), but the bucket is {bucket!r}.",
        )
        tally.fix(f"Set the function's BUCKET_NAME={bucket} (or PIPELINE_BUCKET to the bucket the function uses).")
    elif reason == s3endpoints.OTHER_REGION and named is not None:
        tally.fail(
            "url.region_mismatch",
            f"The URL's endpoint is in {named.region}, but the bucket is in {region}: S3 answers 301 PermanentRedirect.",
        )
        tally.fix(f"Set the function's BUCKET_REGION={region} so it signs for the bucket's own region.")
    elif reason == s3endpoints.LEGACY_NAME:
        tally.fail(
            "url.legacy_name",
            f"The URL uses the legacy S3 name {host!r} (s3-<region> / s3-external-1), which botocore never signs "
            "for and newer regions do not answer; the console's upload refuses such a URL.",
        )
        tally.fix(_SIGN_IN_REGION)
    elif reason == s3endpoints.GLOBAL_OUTSIDE_US_EAST_1:
        tally.fail(
            "url.legacy_global_endpoint",
            f"The URL uses the legacy global endpoint {host!r}: S3 answers 307 redirects for buckets outside "
            "us-east-1 (and regions launched after 2019 need the regional name), which a browser's upload does not "
            "survive; the console's upload refuses such a URL.",
        )
        tally.fix(_SIGN_IN_REGION)
    elif reason == s3endpoints.INSECURE:
        tally.fail(
            "url.insecure_endpoint",
            f"The URL's host {host!r} is the bucket's endpoint, but not on its scheme and port.",
        )
        tally.fix("Return the URL generate_presigned_url made, unchanged (no port, https).")
    else:
        tally.fail(
            "url.host_not_bucket_endpoint", f"The URL's host {host!r} is not an S3 endpoint for bucket {bucket!r}."
        )
        tally.fix("Set the function's BUCKET_NAME to the bucket and let boto3 choose the endpoint.")


def _judge_host(parts: Any, ev: Evidence, tally: Tally) -> str | None:
    """Judge the host against the configured bucket; the region the host names (None: global / unknown)."""
    host = (parts.hostname or "").lower()
    scheme = (parts.scheme or "").lower()
    port = _port(parts) or s3endpoints.default_port(scheme)
    verdict = s3endpoints.match(
        host,
        port,
        scheme,
        parts.path,
        bucket=ev.target.bucket,
        region=ev.target.region,
        endpoint=s3endpoints.Endpoint.parse(ev.target.s3_endpoint),
    )
    named = verdict.addressed
    if verdict.style is None or named is None:
        if verdict.reason == s3endpoints.INSECURE and scheme != "https":
            return named.region if named is not None else None  # _judge_scheme said it
        _endpoint_refusal(host, verdict, ev, tally)
        return None
    style = "virtual-hosted" if verdict.style == "virtual" else "path-style"
    where = f"{host}{':' + str(parts.port) if _port(parts) else ''}"
    if named.kind == "global":
        # botocore's own default for us-east-1: the global name is that region's endpoint, no redirect
        tally.note(f"Host {host} is the global endpoint, which serves us-east-1 buckets directly.")
    elif named.kind == "accelerate":
        tally.note("Transfer Acceleration endpoint.")
    elif not named.aws:
        tally.note(f"The configured S3 endpoint {where} ({style}).")
    else:
        tally.note(f"Host {host} ({style}) is bucket {named.bucket}'s endpoint in {named.region}.")
    return named.region


def _port(parts: Any) -> int | None:
    try:
        return parts.port
    except ValueError:
        return None


def _judge_signature(query: dict[str, list[str]], host_region: str | None, ev: Evidence, tally: Tally) -> bool:
    """SigV4 or not; the credential scope's region. True when the URL is SigV4."""
    algorithm = _one(query, "X-Amz-Algorithm")
    if algorithm != "AWS4-HMAC-SHA256":
        if _one(query, "AWSAccessKeyId") is not None or _one(query, "Signature") is not None:
            tally.fail(
                "url.sigv2",
                "The URL is signed with SigV2 (AWSAccessKeyId/Signature): S3 refuses SigV2 in regions launched after "
                "2014 and has deprecated it everywhere.",
            )
        else:
            tally.fail("url.unsigned", f"The URL carries no SigV4 signature (X-Amz-Algorithm={algorithm!r}).")
        tally.fix(
            "Sign with SigV4: boto3.client('s3', region_name='<region>', config=Config(signature_version='s3v4'))."
        )
        return False
    credential = _one(query, "X-Amz-Credential") or ""
    scope = credential.split("/")
    scope_region = scope[2] if len(scope) >= 5 else None
    expected = ev.target.region or (host_region if host_region and not ev.target.sandbox else None)
    if scope_region is None and credential.upper() == REDACTED:
        # the gatherer redacted the whole credential (key id and scope): the region cannot be compared here
        tally.note("SigV4; the credential scope was redacted before judging, so its region was not compared.")
    elif scope_region is None:
        tally.fail(
            "url.no_credential_scope",
            "X-Amz-Credential has no credential scope (<key>/<date>/<region>/s3/aws4_request).",
        )
    elif expected and scope_region != expected:
        tally.fail(
            "url.scope_region_mismatch",
            f"The signature's credential scope names region {scope_region}, but the bucket is in {expected}: S3 "
            "answers the PUT with 400 AuthorizationQueryParametersError.",
        )
        tally.fix(
            f"Create the function's S3 client with region_name='{expected}' (the shipped function: BUCKET_REGION={expected})."
        )
    else:
        tally.note(f"SigV4, credential scope region {scope_region}.")
    return True


def _judge_expiry(query: dict[str, list[str]], tally: Tally) -> None:
    raw = _one(query, "X-Amz-Expires")
    if raw is None:
        tally.warn("url.no_expiry", "The URL has no X-Amz-Expires.")
        return
    try:
        expires = int(raw)
    except ValueError:
        tally.fail("url.expiry_not_number", f"X-Amz-Expires={raw!r} is not a number of seconds.")
        return
    fix = "Shorten the URL's life: the shipped function's URL_EXPIRES_SECONDS=300 (ExpiresIn=300 in generate_presigned_url)."
    if expires <= 0:
        tally.fail("url.expired", f"The URL is dead on arrival (X-Amz-Expires={expires}).")
        tally.fix(fix)
    elif expires > MAX_EXPIRY:
        tally.fail(
            "url.expiry_too_long",
            f"X-Amz-Expires={expires} exceeds SigV4's {MAX_EXPIRY} s (7 days): S3 refuses the URL.",
        )
        tally.fix(fix)
    elif expires < SHORT_EXPIRY:
        tally.warn(
            "url.expiry_short",
            f"The URL lives {expires} s (X-Amz-Expires={expires}): the web app must start its PUT within that of the "
            f"function signing, preflight and slow networks included ({UPLOAD_URL_LIFETIME} judges it against the "
            "measured delay).",
        )
        tally.fix(
            "Give URLs minutes, not seconds: the shipped function's URL_EXPIRES_SECONDS=300 (ExpiresIn=300 in "
            "generate_presigned_url)."
        )
    elif expires >= LONG_EXPIRY:
        tally.warn(
            "url.expiry_long",
            f"The URL lives {expires // 60} minutes (X-Amz-Expires={expires}): long for a bearer URL (anyone holding "
            "it may upload), when uploads start seconds after presigning.",
        )
        tally.fix(fix)
    else:
        tally.note(f"Expires in {expires} s.")


def _judge_signed_headers(query: dict[str, list[str]], tally: Tally) -> None:
    signed = [h for h in (_one(query, "X-Amz-SignedHeaders") or "").lower().split(";") if h]
    if "content-type" in signed:
        tally.note(f"Signed headers: {';'.join(signed)} (the PUT must send exactly the signed Content-Type).")
    else:
        tally.warn(
            "url.content_type_unsigned",
            f"Content-Type is not signed (X-Amz-SignedHeaders={';'.join(signed) or '(none)'}): any type can be "
            "stored under the key, e.g. text/html.",
        )
        tally.fix(
            'Pass ContentType in Params: generate_presigned_url("put_object", Params={"Bucket": b, "Key": k, '
            '"ContentType": "image/png"}, ...).'
        )


def _judge_extra_signed_headers(query: dict[str, list[str]], ev: Evidence, tally: Tally) -> None:
    """Every signed header beyond host and Content-Type, and whether the web app sends it
    (PIPELINE_CLIENT_PUT_HEADERS): one it does not send fails every upload with 403 SignatureDoesNotMatch."""
    signed = [h for h in (_one(query, "X-Amz-SignedHeaders") or "").lower().split(";") if h]
    sent = shown_put_headers(ev.target.client_put_headers)
    unsent = []
    for header in signed_beyond_every_put(signed):
        if header in sent:
            tally.note(f"Signed header {header}: the web app sends it ({header}: {sent[header]}).")
        else:
            unsent.append(header)
    if not unsent:
        return
    tally.fail(
        "url.signed_header_not_sent",
        f"The URL signs {', '.join(unsent)} (X-Amz-SignedHeaders={';'.join(signed)}), which the web app does not "
        f"send (it sends Content-Type{''.join(', ' + h for h in sent)}): {SIGNED_HEADER_RULE}.",
    )
    for header in unsent:
        tally.fix(f"{header}: {signed_header_fix(header)}.")


def _judge_query_checksums(query: dict[str, list[str]], tally: Tally) -> None:
    """Checksum parameters in the query (the AWS SDK for JavaScript v3 >= 3.729 adds them by default): Amazon S3
    ignores them, S3-compatible stores verify them against the real body and refuse it."""
    found = {name: values[0] for name, values in query.items() if values and s3checksums.is_checksum_name(name)}
    if not found:
        return
    shown = ", ".join(f"{name}={value}" for name, value in sorted(found.items()))
    empty = (
        f" ({s3checksums.EMPTY_CRC32} is the CRC32 of an empty body: the presigner never saw the file)"
        if s3checksums.EMPTY_CRC32 in found.values()
        else ""
    )
    tally.warn(
        "url.checksum_in_query",
        f"The URL carries checksum parameters in its query: {shown}{empty}. Amazon S3 ignores a checksum in the "
        "query string, so uploads work on AWS; S3-compatible stores (MinIO, Cloudflare R2, SeaweedFS) verify it "
        "against the body and refuse every real upload (MinIO: 400 XAmzContentChecksumMismatch).",
    )
    tally.fix(CHECKSUM_CLIENT_FIX)


def _judge_signed_checksum_headers(query: dict[str, list[str]], ev: Evidence, tally: Tally) -> None:
    """``x-amz-sdk-checksum-algorithm`` signed as a header with no ``x-amz-checksum-*`` value signed or sent: even
    sent, S3 refuses the PUT with 400 InvalidRequest."""
    signed = [h for h in (_one(query, "X-Amz-SignedHeaders") or "").lower().split(";") if h]
    values = [h for h in (*signed, *dict(ev.target.client_put_headers)) if h.startswith(s3checksums.CHECKSUM_PREFIX)]
    if s3checksums.SDK_ALGORITHM in signed and not values:
        refusal = s3checksums.ALGORITHM_WITHOUT_VALUE
        tally.fail(
            "url.checksum_algorithm_without_value",
            f"The URL signs {s3checksums.SDK_ALGORITHM} but no x-amz-checksum-* value: S3 answers a PUT that "
            f"sends it {refusal.status} {refusal.code} '{refusal.message}'",
        )
        tally.fix(CHECKSUM_CLIENT_FIX)


def _one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _judge_post(ev: Evidence, url: str, fields: dict[str, str]) -> Finding:
    """A presigned POST: its url as a PUT URL's host is judged (https, the bucket's endpoint), its signing fields as
    a URL's SigV4 and expiry, and its policy (presigned_post.judge_post_policy)."""
    evidence = _evidence(ev.presign_ok)
    parts = _urlsplit_safe(url)
    if parts is None or not parts.hostname:
        return finding(
            PRESIGN_URL,
            Status.FAIL,
            "The presigned POST's url cannot be parsed",
            f"url: {_excerpt(redact_url(url), 200)!r}.",
            f"Return the url generate_presigned_post made, unchanged ({SHIPPED_FUNCTION}).",
            evidence,
            codes=("url.unparsable",),
        )
    tally = Tally()
    _judge_scheme(parts, ev, tally)
    host_region = _judge_host(parts, ev, tally)
    lifetime = presigned_post.judge_post_policy(ev, fields, tally)
    query = presigned_post.post_query(fields, lifetime)
    if _judge_signature(query, host_region, ev, tally):
        _judge_expiry(query, tally)
    tally.note(f"Form action: {redact_url(url)} (a presigned POST).")
    ok = f"The presigned POST is {parts.scheme}, SigV4, for the bucket's own endpoint, its policy exact"
    return tally.finding(PRESIGN_URL, ok, evidence, ok_code="url.sound")


def judge_url(ev: Evidence) -> Finding:
    """The presigned URL: https, the bucket's own endpoint, SigV4 in its region, a short life, Content-Type signed."""
    cid = PRESIGN_URL
    url = _presigned_url(ev)
    evidence = _evidence(ev.presign_ok, ev.bucket_location)
    post = presigned_post_reply(ev.presign_ok)
    if url is None and post is not None:
        return _judge_post(ev, *post)
    if url is None:
        return finding(
            cid, Status.UNKNOWN, "No presigned URL to judge", "See presign.contract.", "", evidence, codes=("url.none",)
        )
    shown = redact_url(url)
    parts = _urlsplit_safe(url)
    if parts is None or not parts.hostname:
        return finding(
            cid,
            Status.FAIL,
            "The presigned URL cannot be parsed",
            f"presignedUrl: {_excerpt(shown, 200)!r}.",
            f"Return the URL generate_presigned_url made, unchanged ({SHIPPED_FUNCTION}).",
            evidence,
            codes=("url.unparsable",),
        )
    query = parse_qs(parts.query, keep_blank_values=True)
    tally = Tally()
    ev = with_bucket_region(ev, tally)  # judged against the bucket's own region when S3 says it
    _judge_scheme(parts, ev, tally)
    host_region = _judge_host(parts, ev, tally)
    if _judge_signature(query, host_region, ev, tally):
        _judge_expiry(query, tally)
        _judge_signed_headers(query, tally)
        _judge_extra_signed_headers(query, ev, tally)
        _judge_signed_checksum_headers(query, ev, tally)
    _judge_query_checksums(query, tally)
    if _one(query, "X-Amz-Security-Token") is not None:
        tally.note(
            "X-Amz-Security-Token: signed with temporary credentials (the function's role session); the URL stops "
            "working when that session ends, whatever X-Amz-Expires says."
        )
    tally.note(f"URL: {shown}")
    ok = f"The presigned URL is {parts.scheme}, SigV4, for the bucket's own endpoint and region"
    return tally.finding(cid, ok, evidence, ok_code="url.sound")


# --- presign.cors -----------------------------------------------------------------------------------------


def _allow_origin_ok(value: str | None, origin: str) -> bool:
    return value is not None and value.strip() in (origin, "*")


def _judge_preflight(origin: str, ex: Exchange | None, tally: Tally) -> bool:
    """Problems with the OPTIONS preflight; True when the preflight is broken."""
    if ex is None:
        tally.unknown("cors.preflight_not_sent", f"No preflight was sent for {origin}.")
        return False
    if ex.status is None:
        tally.unknown("cors.preflight_no_answer", f"The preflight for {origin} got {_said(ex)}.")
        return False
    problems: list[str] = []
    if not 200 <= ex.status < 300:
        problems.append(f"answers HTTP {ex.status}")
    allow_origin = ex.header("Access-Control-Allow-Origin")
    if not _allow_origin_ok(allow_origin, origin):
        problems.append(
            "carries no Access-Control-Allow-Origin"
            if allow_origin is None
            else f"allows origin {allow_origin!r}, not this one"
        )
    raw_headers = ex.header("Access-Control-Allow-Headers")
    allowed = {h.strip().lower() for h in (raw_headers or "").split(",") if h.strip()}
    if "*" not in allowed:
        missing = " and ".join(h for h in ("x-extension", "content-type") if h not in allowed)
        if missing and raw_headers is not None:
            problems.append(f"does not allow {missing} (Access-Control-Allow-Headers {raw_headers!r})")
        elif missing:
            problems.append(f"carries no Access-Control-Allow-Headers (needs {missing})")
    if problems:
        more = f"; it also {'; '.join(problems[1:])}" if len(problems) > 1 else ""
        tally.fail(
            "cors.preflight_refused",
            f"The API's preflight from {origin} {problems[0]}: the browser blocks the presign call{more}.",
        )
    return bool(problems)


def _judge_get(origin: str, ex: Exchange | None, tally: Tally) -> bool:
    """Problems with the GET's own reply; True when the browser would block reading it."""
    if ex is None:
        tally.unknown("cors.get_not_sent", f"No GET with Origin {origin} was sent.")
        return False
    if ex.status is None:
        tally.unknown("cors.get_no_answer", f"The GET with Origin {origin} got {_said(ex)}.")
        return False
    allow_origin = ex.header("Access-Control-Allow-Origin")
    if _allow_origin_ok(allow_origin, origin):
        return False
    got = "no Access-Control-Allow-Origin" if allow_origin is None else f"Access-Control-Allow-Origin {allow_origin!r}"
    tally.fail(
        "cors.allow_origin_missing",
        f"The presign reply to {origin} (HTTP {ex.status}) carries {got}: the browser hides it from the web app.",
    )
    return True


def _cors_fix(ev: Evidence, tally: Tally, preflight_broken: bool, get_broken: bool) -> None:
    tally.fix(api_cors_command(ev.target.presign_url, ev.target.app_origins, ev.target.region))
    if get_broken or preflight_broken:
        tally.fix(
            "REST API or a Lambda proxy reply: the function must return the header itself, e.g. "
            '"headers": {"Access-Control-Allow-Origin": "'
            + (ev.target.app_origins[0] if len(ev.target.app_origins) == 1 else "*")
            + '", "Access-Control-Allow-Headers": "x-extension, content-type"} '
            f"({SHIPPED_FUNCTION} sets them from ALLOW_ORIGIN on every reply, OPTIONS included)."
        )


def judge_cors(ev: Evidence) -> Finding:
    """Each app origin may call the presign endpoint from a browser: preflight with x-extension, then the GET."""
    cid = PRESIGN_CORS
    origins = tuple(ev.target.app_origins)
    if not origins:
        return finding(
            cid,
            Status.SKIP,
            "No app origins configured",
            "Set PIPELINE_APP_ORIGINS (e.g. https://app.example.com,http://localhost:5173) to check browser access.",
            codes=("origins.not_configured",),
        )
    tally = Tally()
    preflight_broken = get_broken = False
    items: list[Exchange | None] = []
    for origin in origins:
        preflight = (ev.api_preflights or {}).get(origin)
        get = (ev.presign_with_origin or {}).get(origin)
        items += [preflight, get]
        broken_here = _judge_preflight(origin, preflight, tally)
        get_here = _judge_get(origin, get, tally)
        preflight_broken |= broken_here
        get_broken |= get_here
        if not broken_here and not get_here and preflight is not None and get is not None:
            tally.note(f"{origin}: preflight (OPTIONS; x-extension, content-type) and GET allowed.")
    if tally.fails:
        _cors_fix(ev, tally, preflight_broken, get_broken)
    ok = f"Browsers on {', '.join(origins)} may call the presign endpoint"
    return tally.finding(cid, ok, _evidence(*items), ok_code="cors.allowed")


#: the checks of this hop, with their metadata (README's table is generated from it); HTTP only: no AWS reads
CHECKS: tuple[Check, ...] = (
    Check(
        PRESIGN_REACHABLE,
        "Presign endpoint answers",
        frozenset({"presign"}),
        judge_reachable,
        impact=Impact.UPLOAD,
        description="the endpoint answers, not 5xx; a 403 names stage/route/auth",
        permissions=(),
        codes=(
            "endpoint.not_called",
            "endpoint.no_answer",
            "endpoint.server_error",
            "endpoint.unauthorized",
            "endpoint.forbidden",
            "endpoint.not_found",
            "endpoint.error",
            "endpoint.redirect",
            "endpoint.refused_valid_request",
            "endpoint.answers",
        ),
        docs="https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-lambda.html",
    ),
    Check(
        PRESIGN_CONTRACT,
        "Presign reply keeps the contract",
        frozenset({"presign"}),
        judge_contract,
        impact=Impact.UPLOAD,
        description=(
            'JSON `{"presignedUrl", "key"}` (+ `contentType`), `key` the key the URL\'s path signs, or a presigned POST '
            '`{"url", "fields", "key"}`; a missing or bad `x-extension` gets a 4xx JSON error, not a 5xx or a 200'
        ),
        permissions=(),
        codes=(
            "reply.none",
            "reply.not_json_object",
            "reply.url_missing",
            "reply.url_not_http",
            "reply.key_missing",
            "reply.key_not_uuid",
            "reply.content_type_missing",
            "reply.content_type_invalid",
            "reply.fields_invalid",
            "reply.form_key_mismatch",
            KEY_NOT_URL_KEY,
            "refusal.not_probed",
            "refusal.no_answer",
            "refusal.server_error",
            "refusal.no_allowlist",
            "refusal.not_json",
            "refusal.not_4xx",
            "reply.keeps_contract",
        ),
        docs="https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html",
        depends_on=(PRESIGN_REACHABLE,),
    ),
    Check(
        PRESIGN_URL,
        "Presigned URL is sound",
        frozenset({"presign", "bucket_location"}),
        judge_url,
        impact=Impact.UPLOAD,
        description=(
            "https, the bucket's endpoint, its host and credential-scope regions against the bucket's "
            "(`GetBucketLocation`; else the configured region), SigV4, expiry (short and long), whether Content-Type "
            "is signed, session tokens; every other signed header and whether the web app sends it "
            "(`PIPELINE_CLIENT_PUT_HEADERS`); checksum parameters in the query (`x-amz-checksum-*`: ignored by S3, "
            "refused by S3-compatible stores); a presigned POST's policy (decoded: expiration, "
            "the bucket, the exact key and Content-Type)"
        ),
        permissions=(CALL,),
        codes=(
            "url.none",
            "url.unparsable",
            "url.not_https",
            "url.host_not_bucket_endpoint",
            "url.legacy_name",
            "url.insecure_endpoint",
            "url.other_bucket",
            "url.legacy_global_endpoint",
            "url.region_mismatch",
            "url.sigv2",
            "url.unsigned",
            "url.no_credential_scope",
            "url.scope_region_mismatch",
            *BUCKET_REGION_CODES,
            "url.no_expiry",
            "url.expiry_not_number",
            "url.expired",
            "url.expiry_short",
            "url.expiry_too_long",
            "url.expiry_long",
            "url.content_type_unsigned",
            "url.signed_header_not_sent",
            "url.checksum_algorithm_without_value",
            "url.checksum_in_query",
            "policy.unreadable",
            "policy.no_bucket",
            "policy.other_bucket",
            "policy.key_not_exact",
            "policy.key_mismatch",
            "policy.content_type_not_exact",
            "url.sound",
        ),
        docs="https://docs.aws.amazon.com/AmazonS3/latest/userguide/PresignedUrlUploadObject.html",
        depends_on=(PRESIGN_CONTRACT,),
    ),
    Check(
        PRESIGN_CORS,
        "Web app origins may call the presign endpoint",
        frozenset({"api_preflight", "presign"}),
        judge_cors,
        impact=Impact.UPLOAD,
        description=(
            "API preflight from each app origin with `x-extension, content-type`; the GET reply carries "
            "`Access-Control-Allow-Origin`"
        ),
        permissions=(),
        codes=(
            "origins.not_configured",
            "cors.preflight_not_sent",
            "cors.preflight_no_answer",
            "cors.preflight_refused",
            "cors.get_not_sent",
            "cors.get_no_answer",
            "cors.allow_origin_missing",
            "cors.allowed",
        ),
        docs="https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html",
        depends_on=(PRESIGN_REACHABLE,),
    ),
)
