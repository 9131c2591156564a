"""Checks of the canary upload: the whole round trip, the Content-Type the PUT must send, and the type S3
stored. Pure judges over ``Evidence.canary`` (one real upload of a tiny PNG and the reads after it).

Ids: ``upload.roundtrip``, ``upload.content_type``, ``upload.stored_type``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from urllib.parse import urlsplit

from services.aws_model import kms, postpolicy, s3checksums
from services.aws_model.s3errors import (
    CLOCK_SKEWED,
    EXPIRED_TOKEN_CODES,
    SIGNATURE_MISMATCH,
    AwsErrorBody,
    is_url_expired,
    parse_s3_error,
)
from services.checks import missing_key
from services.checks.denied import denied_finding
from services.checks.evidence import Canary, CheckTarget, Evidence
from services.checks.findings import finding, presigned_post, presigned_url
from services.checks.model import Check, ConfigRead, Exchange, Finding, Impact, ReadState, Status
from services.checks.policy_docs import cdn_grant
from services.checks.scrub import evidence_items as _evidence
from services.checks.stored_objects import LONG_CACHE, recopy_command, repair_commands
from services.core.redact import redact_text, redact_url
from services.pipeline.explain import (
    CHECKSUM_CLIENT_FIX,
    explain_cdn,
    explain_kms_put,
    explain_post,
    explain_put,
    received_content_type,
    signed_headers,
    unsent_signed_headers,
)
from services.pipeline.images import MIME_BY_EXTENSION
from services.pipeline.presign import client_content_type

#: this module's check ids, each written once: its judge and its entry in CHECKS use the name
UPLOAD_CONTENT_TYPE = "upload.content_type"
UPLOAD_ROUNDTRIP = "upload.roundtrip"
UPLOAD_STORED_TYPE = "upload.stored_type"


def _ok(exchange: Exchange | None) -> bool:
    return exchange is not None and exchange.status is not None and 200 <= exchange.status < 300


def _excerpt(text: str | None, limit: int = 160) -> str:
    text = redact_text(" ".join((text or "").split()))
    return text if len(text) <= limit else text[:limit] + "…"


def _request_header(exchange: Exchange, name: str) -> str | None:
    lowered = name.lower()
    return next((str(v) for k, v in dict(exchange.request_headers or {}).items() if str(k).lower() == lowered), None)


def _signed(url: str | None) -> tuple[str, ...]:
    """X-Amz-SignedHeaders of a URL; none when the URL cannot be parsed (evidence is whatever came back)."""
    try:
        return signed_headers(url or "")
    except ValueError:
        return ()


def _explain_put(status: int, error: AwsErrorBody, sent: str, url: str, signed: str | None, ev: Evidence) -> str:
    """``signed``: the presign reply's contentType (None: the endpoint did not say); the canary sent the headers
    the web app is configured to send (PIPELINE_CLIENT_PUT_HEADERS) as well."""
    try:
        urlsplit(url)
    except ValueError:
        url = ""  # an unparseable URL signs nothing
    sent_headers = [name for name, _ in ev.target.client_put_headers]
    return explain_put(status, error, sent, url, signed, sent_headers=sent_headers)


def _s3_code(exchange: Exchange) -> str | None:
    return parse_s3_error(exchange.body).code


def _answer(exchange: Exchange) -> str:
    """``HTTP 403 SignatureDoesNotMatch`` / ``no answer (timed out)``."""
    if exchange.status is None:
        return f"no answer ({_excerpt(exchange.error or 'no error recorded', 120)})"
    code = _s3_code(exchange)
    return f"HTTP {exchange.status}" + (f" {code}" if code else "")


def _sent_type(canary: Canary) -> str | None:
    if canary.put is not None:
        sent = _request_header(canary.put, "Content-Type")
        if sent is not None and not sent.lower().startswith("multipart/form-data"):  # a POST's type is in its form
            return sent
    return canary.signed_content_type or canary.client_content_type


def _client_type(ev: Evidence, canary: Canary) -> str:
    """What the web app sends for a PNG (the canary's record, else the configured template)."""
    if canary.client_content_type:
        return canary.client_content_type
    template = ev.target.client_content_type or "application/{ext}"
    return client_content_type(template, "png", "image/png")


def _started(canary: Canary | None) -> bool:
    return canary is not None and isinstance(canary.presign, Exchange) and _ok(canary.presign) and bool(canary.key)


def _not_started(cid: str, canary: Canary | None) -> Finding:
    if canary is None:
        return finding(
            cid,
            Status.UNKNOWN,
            "The canary upload was not run",
            "No canary evidence was gathered.",
            codes=("canary.not_run",),
        )
    presign = canary.presign if isinstance(canary.presign, Exchange) else None
    got = "was not called" if presign is None else _answer(presign)
    return finding(
        cid,
        Status.UNKNOWN,
        "The canary could not start: presigning failed",
        f"GET presign with x-extension: png → {got}; no key to upload. See presign.reachable and presign.contract.",
        "",
        _evidence(presign),
        codes=("canary.presign_failed",),
    )


# --- upload.roundtrip -------------------------------------------------------------------------------------


def _put_code(put: Exchange) -> str:
    """The cause code of a failed canary PUT: S3's error, in our words."""
    if put.status is None:
        return "put.no_answer"
    code = parse_s3_error(put.body).code
    message = (parse_s3_error(put.body).message or "").lower()
    if code == "AccessDenied" and "expired" in message:
        return "put.expired"
    if code == "AccessDenied" and kms.GENERATE_DATA_KEY.lower() in message:
        return "put.kms_denied"
    if _checksum_refused(put):
        return "put.checksum_refused"
    known = {"SignatureDoesNotMatch": "put.signature_mismatch", "AccessDenied": "put.access_denied"}
    return known.get(code or "", "put.refused")


def _checksum_refused(put: Exchange) -> bool:
    """S3 (BadDigest, InvalidRequest about x-amz-checksum-*) or a verifying store (XAmzContentChecksumMismatch)
    refused the body for its checksum."""
    error = parse_s3_error(put.body)
    return error.code in ("BadDigest", s3checksums.STORE_QUERY_MISMATCH.code) or (
        error.code == "InvalidRequest" and "x-amz-checksum" in (error.message or "")
    )


def _unsent(ev: Evidence, url: str | None) -> tuple[str, ...]:
    """The URL's signed headers beyond host and Content-Type that the web app does not send."""
    try:
        return unsent_signed_headers(url or "", [name for name, _ in ev.target.client_put_headers])
    except ValueError:
        return ()


def _put_fix(put: Exchange, ev: Evidence) -> str:
    bucket = ev.target.bucket
    error = parse_s3_error(put.body)
    code = error.code
    if code == SIGNATURE_MISMATCH and _unsent(ev, put.url):
        return f"See presign.url: the URL signs {', '.join(_unsent(ev, put.url))}, which the web app does not send."
    if code == SIGNATURE_MISMATCH:
        return "See upload.content_type: send exactly the Content-Type the function signed."
    if _checksum_refused(put):
        return CHECKSUM_CLIENT_FIX
    if is_url_expired(error):
        return (
            "Upload right after presigning, or give URLs a longer life (the shipped function's URL_EXPIRES_SECONDS, "
            "300 by default); check this machine's clock (timedatectl)."
        )
    if code == "AccessDenied" and kms.GENERATE_DATA_KEY in (error.message or ""):
        return explain_kms_put(error.message or "") + " The check bucket.encryption gives the exact policy."
    if code == "AccessDenied":
        role = _role_name(ev)
        return (
            "Grant the Lambda's execution role s3:PutObject on the bucket's objects:\n"
            f"aws iam put-role-policy --role-name {role} --policy-name presign-put --policy-document "
            f'\'{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Action": "s3:PutObject", '
            f'"Resource": "arn:aws:s3:::{bucket}/*"}}]}}\''
        )
    if code in ("PermanentRedirect", "TemporaryRedirect", "AuthorizationQueryParametersError"):
        return (
            "Set the function's BUCKET_REGION to the bucket's region (aws s3api get-bucket-location --bucket "
            + bucket
            + ")."
        )
    if code == CLOCK_SKEWED:
        return "Synchronise this machine's clock (timedatectl set-ntp true)."
    if code in EXPIRED_TOKEN_CODES:
        return "Presign right before uploading; URLs signed with a role session die with it."
    if code is None:
        return (
            "Check that this machine reaches the presigned URL's S3 endpoint (presign.url shows the host), "
            f"e.g. aws s3api head-bucket --bucket {bucket}."
        )
    return f"S3 said {code}; see https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList"


def _role_name(ev: Evidence) -> str:
    """The Lambda's execution role name, when its configuration was read."""
    config = ev.lambda_config
    value = config.value if isinstance(config, ConfigRead) and config.state is ReadState.OK else None
    arn = value.get("Role") if isinstance(value, Mapping) else None
    return arn.rsplit("/", 1)[-1] if isinstance(arn, str) and "/" in arn else "<function-role>"


def _cdn_fix(ev: Evidence, key: str | None) -> str:
    distribution = ev.target.distribution_id or "<distribution-id>"
    grant = json.dumps(cdn_grant(ev))
    return (
        f"Add to the bucket policy of {ev.target.bucket} (aws s3api put-bucket-policy):\n{grant}\n"
        "Then clear the cached error:\n"
        f"aws cloudfront create-invalidation --distribution-id {distribution} --paths '/{key or '<key>'}'"
    )


def judge_roundtrip(ev: Evidence) -> Finding:
    """presign → PUT with the signed type → the CDN serves back identical bytes; else the first broken hop."""
    cid = UPLOAD_ROUNDTRIP
    canary = ev.canary
    if canary is None or not _started(canary):
        return _not_started(cid, canary)
    put, cdn = canary.put, canary.cdn_first
    evidence = _evidence(canary.presign, put, cdn)
    key = canary.key
    if put is None:
        return finding(
            cid,
            Status.UNKNOWN,
            "The canary was presigned but not uploaded",
            f"Key {key!r}.",
            "",
            evidence,
            codes=("canary.not_uploaded",),
        )
    if not _ok(put):
        sent = _sent_type(canary) or "(none)"
        if put.status is None:
            cause = f"the PUT got {_answer(put)}."
        else:
            error = parse_s3_error(put.body)
            accepted = _alternatives(canary)[0]  # a type S3 then accepted is the signed one, proven
            signed = accepted[0] if accepted else canary.signed_content_type
            cause = (
                explain_post(put.status, error, sent, None)
                if put.method == "POST"
                else _explain_put(put.status, error, sent, put.url, signed, ev)
            )
        return finding(
            cid,
            Status.FAIL,
            f"Upload broken at the {put.method} to S3: {_answer(put)}",
            redact_text(f"{put.method} {redact_url(put.url)} with Content-Type {sent!r} → {_answer(put)}. {cause}"),
            _put_fix(put, ev),
            evidence,
            codes=(_put_code(put),),
        )
    if cdn is None:
        return finding(
            cid,
            Status.UNKNOWN,
            "The canary was uploaded but not read through the CDN",
            f"Key {key!r}.",
            "",
            evidence,
            codes=("canary.not_read_through_cdn",),
        )
    if not _ok(cdn):
        message = parse_s3_error(cdn.body).message
        if cdn.status is None:
            cause = f"The CDN read got {_answer(cdn)}: check PIPELINE_CDN_URL."
            fix = "Check PIPELINE_CDN_URL (https://<distribution>.cloudfront.net)."
        elif cdn.status == 403 and message == kms.CIPHERTEXT_DENIED:
            cause = explain_cdn(cdn.status, cdn.header("X-Cache"), cdn.header("Age"), message)
            fix = (
                "Let CloudFront kms:Decrypt with the bucket's key: the check bucket.cdn_kms_grant gives the key policy."
            )
        elif cdn.status in (403, 404):  # the grant, or a missing object: the console's HEAD of the key tells
            cause = missing_key.cause(ev, canary, cdn.status, cdn.header("X-Cache"), cdn.header("Age"))
            fix = missing_key.missing_fix(ev, canary) or _cdn_fix(ev, key)
        else:
            cause, fix = explain_cdn(cdn.status, cdn.header("X-Cache"), cdn.header("Age"), message), ""
        missing = cdn.status in (403, 404) and missing_key.OBJECT_MISSING in missing_key.codes(ev, canary)
        return finding(
            cid,
            Status.FAIL,
            f"Upload stored, but the CDN read failed: {_answer(cdn)}",
            redact_text(f"GET {redact_url(cdn.url)} → {_answer(cdn)}. {cause}"),
            fix,
            evidence,
            impact=Impact.DISPLAY,  # the upload worked: what breaks is showing the image
            codes=("cdn.read_failed", *((missing_key.OBJECT_MISSING,) if missing else ())),
        )
    if not canary.sha256 or not canary.cdn_body_sha256:
        return finding(
            cid,
            Status.UNKNOWN,
            "Upload and CDN read answered, but the bytes were not compared",
            f"PUT → {put.status}, CDN GET → {cdn.status}; sha256 sent {canary.sha256!r}, served {canary.cdn_body_sha256!r}.",
            "",
            evidence,
            codes=("canary.bytes_not_compared",),
        )
    if canary.sha256 != canary.cdn_body_sha256:
        return finding(
            cid,
            Status.FAIL,
            "The CDN serves different bytes than were uploaded",
            f"sha256 uploaded {canary.sha256}, served {canary.cdn_body_sha256} (Content-Length "
            f"{cdn.header('Content-Length')!r}, Content-Encoding {cdn.header('Content-Encoding')!r}, X-Cache "
            f"{cdn.header('X-Cache')!r}). The CDN may serve a stale or other object under this key, or re-encode it.",
            _cdn_fix(ev, key).split("Then clear the cached error:\n", 1)[-1],
            evidence,
            impact=Impact.DISPLAY,
            codes=("cdn.other_bytes",),
        )
    return finding(
        cid,
        Status.PASS,
        "Canary uploaded and read back identical through the CDN",
        f"Key {key!r}: presign {canary.presign.status} ({canary.presign.ms:.0f} ms), PUT {put.status} "
        f"({put.ms:.0f} ms), CDN GET {cdn.status} ({cdn.ms:.0f} ms, X-Cache {cdn.header('X-Cache')!r}); "
        f"sha256 {canary.sha256}.",
        "",
        evidence,
        codes=("canary.roundtrip_ok",),
    )


# --- upload.content_type ----------------------------------------------------------------------------------


def _type_fix(ev: Evidence, signed: str) -> str:
    lines = [
        f"Make the web app PUT with the endpoint's contentType (Content-Type: {signed}), not a type of its own; "
        "the shipped function (CLIENT_CONTENT_TYPE=match) signs the Content-Type the presign request asks for "
        "when it is one of the extension's two spellings, so sending the same one on both requests is enough."
    ]
    if signed.startswith("application/"):
        function = ev.target.lambda_function or "<function>"
        lines.append(
            "Or have the function sign image/* (browsers display those) and the web app send image/{ext}: "
            f"aws lambda update-function-configuration --function-name {function} --environment "
            f"'Variables={{BUCKET_NAME={ev.target.bucket},CONTENT_TYPE_STYLE=image}}' "
            "(this replaces all variables: include the function's other ones)."
        )
    lines.append(
        "Then tell the console what the web app sends: PIPELINE_CLIENT_CONTENT_TYPE=<its type, e.g. image/{ext}>."
    )
    return "\n".join(lines)


def _alternatives(canary: Canary) -> tuple[list[str], list[str]]:
    """(accepted types, one line per type tried)."""
    accepted, lines = [], []
    for content_type, exchange in dict(canary.put_alternatives or {}).items():
        if not isinstance(exchange, Exchange):
            continue
        lines.append(
            f"{content_type!r} → {_answer(exchange)}" if content_type else f"(no Content-Type) → {_answer(exchange)}"
        )
        if _ok(exchange) and content_type:
            accepted.append(str(content_type))
    return accepted, lines


def _signature_mismatch(ev: Evidence, canary: Canary, put: Exchange) -> Finding:
    """SignatureDoesNotMatch on the canary PUT. The signed type is known only from a type S3 then accepted, or from
    the presign reply's contentType; S3's echoed CanonicalRequest holds the type it *received*, never the signed one."""
    cid = UPLOAD_CONTENT_TYPE
    accepted, lines = _alternatives(canary)
    sent = _sent_type(canary) or "(none)"
    client = _client_type(ev, canary)
    reported = canary.signed_content_type
    signed = (accepted[0] if accepted else None) or reported
    evidence = _evidence(put, *[x for x in dict(canary.put_alternatives or {}).values() if isinstance(x, Exchange)])
    tried = f" Tried: {'; '.join(lines)}." if lines else ""
    observed = f"PUT with Content-Type {sent!r} → {_answer(put)}.{tried}"
    received = received_content_type(parse_s3_error(put.body))
    if received is not None and received != sent:
        observed += f" S3 received Content-Type {received!r} (the CanonicalRequest it echoes)."
    signs_type = "content-type" in _signed(put.url)
    unsent = _unsent(ev, put.url)
    if not accepted and unsent:
        return finding(
            cid,
            Status.UNKNOWN,
            "The Content-Type cannot be judged: the URL also signs headers the web app does not send",
            redact_text(
                f"{observed} The URL also signs {', '.join(unsent)}, which the web app does not send, so S3 refuses "
                "the signature whatever the type; see presign.url."
            ),
            "",
            evidence,
            codes=("type.other_header_unsent",),
        )
    if not accepted and not (signs_type and signed and signed != sent):
        cause = _explain_put(put.status or 403, parse_s3_error(put.body), sent, put.url, reported, ev)
        return finding(
            cid,
            Status.FAIL,
            "S3 rejected the signature for every Content-Type tried",
            redact_text(f"{observed} {cause}"),
            "Return the URL exactly as generate_presigned_url made it, signed with the function's own credentials "
            "and the bucket's region.",
            evidence,
            codes=("type.signature_rejected_every_type",),
        )
    signed = signed or "(unknown)"
    fix = _type_fix(ev, signed)
    code = "type.canary_sent_other"
    if reported and accepted and reported not in accepted:
        title, code = f"The endpoint reports contentType {reported} but signed {signed}", "type.reported_not_signed"
        fix = (
            "Return the type the function actually signs as contentType (the shipped "
            "presign_function/lambda_function.py reports the ContentType it passes to generate_presigned_url)."
        )
    elif client != signed:
        title, code = f"The function signs {signed} but the web app sends {client}", "type.client_mismatch"
    else:
        title = f"The URL is signed for {signed}; the canary PUT sent {sent}"
    which = (
        f"S3 accepted {accepted[0]!r} (the signed type)."
        if accepted
        else f"The presign reply says it signed {signed!r} (contentType)."
    )
    return finding(
        cid,
        Status.FAIL,
        title,
        redact_text(f"{observed} {which} The web app sends {client!r}."),
        fix,
        evidence,
        codes=(code,),
    )


def _policy_fixes_type(canary: Canary) -> bool:
    """A presigned POST whose policy requires an exact Content-Type (S3 refuses any other with 403 "Invalid
    according to Policy: Policy Condition failed: ["eq", "$Content-Type", ...]")."""
    post = presigned_post(canary.presign)
    encoded = next((v for k, v in post[1].items() if k.lower() == "policy"), None) if post is not None else None
    policy = postpolicy.decode(encoded) if encoded else None
    return policy is not None and policy.exact("content-type") is not None


def judge_content_type(ev: Evidence) -> Finding:
    """The Content-Type the web app sends is the one the function signed (S3 refuses any other)."""
    cid = UPLOAD_CONTENT_TYPE
    canary = ev.canary
    if canary is None or not _started(canary):
        return _not_started(cid, canary)
    put = canary.put
    url = put.url if put is not None else presigned_url(canary.presign)
    signs_type = "content-type" in _signed(url) or _policy_fixes_type(canary)
    if put is not None and put.status == 403 and _s3_code(put) == SIGNATURE_MISMATCH:
        return _signature_mismatch(ev, canary, put)
    if (url is not None and not signs_type) or (url is None and not canary.signed_content_type):
        return finding(
            cid,
            Status.SKIP,
            "Content-Type is not signed: any type is accepted",
            f"X-Amz-SignedHeaders={';'.join(_signed(url)) or '(unknown)'}; see presign.url.",
            "",
            _evidence(put),
            codes=("type.not_signed",),
        )
    client = _client_type(ev, canary)
    signed = canary.signed_content_type
    if signed is None and _ok(put):
        signed = _request_header(put, "Content-Type") if put is not None else None  # the endpoint is silent
    evidence = _evidence(canary.presign, put)
    if signed is None:
        got = "was not made" if put is None else _answer(put)
        return finding(
            cid,
            Status.UNKNOWN,
            "The signed Content-Type is unknown",
            f"The endpoint reports no contentType and the canary PUT {got}.",
            "",
            evidence,
            codes=("type.signed_unknown",),
        )
    canary_result = "not made" if put is None else _answer(put)
    if signed != client:
        return finding(
            cid,
            Status.FAIL,
            f"The function signs {signed} but the web app sends {client}: its uploads fail",
            f"The endpoint signs Content-Type {signed!r}; the web app sends {client!r} (PIPELINE_CLIENT_CONTENT_TYPE), "
            f"so S3 answers its PUTs 403 SignatureDoesNotMatch — even though the console's canary, which sent "
            f"{signed!r}, got {canary_result}.",
            _type_fix(ev, signed),
            evidence,
            codes=("type.client_mismatch",),
        )
    if put is not None and not _ok(put):
        return finding(
            cid,
            Status.UNKNOWN,
            f"The web app sends the signed type {signed}, but the PUT failed otherwise",
            f"PUT → {canary_result}; see upload.roundtrip.",
            "",
            evidence,
            codes=("type.put_failed_otherwise",),
        )
    return finding(
        cid,
        Status.PASS,
        f"The web app sends the signed type {signed}",
        f"Signed Content-Type {signed!r}, web app sends {client!r}; canary PUT {canary_result}.",
        "",
        evidence,
        codes=("type.client_sends_signed",),
    )


# --- upload.stored_type -----------------------------------------------------------------------------------


def _relabel_commands(target: CheckTarget) -> str:
    """Objects already stored, given their image type: the console's repair first (by each object's bytes, a plan
    before any write; README "repair"), the AWS CLI's re-copies by extension as the alternative."""
    return "\n".join(
        [
            *repair_commands(target),
            "Or with the AWS CLI, by each key's extension:",
            *(recopy_command(target.bucket, ext, mime) for ext, mime in MIME_BY_EXTENSION.items()),
            f"(REPLACE also resets other metadata: add --cache-control '{LONG_CACHE}' to keep one.)",
        ]
    )


def judge_stored_type(ev: Evidence) -> Finding:
    """S3 stored the object as image/*, so opening its URL shows the image."""
    cid = UPLOAD_STORED_TYPE
    canary = ev.canary
    head = canary.head if canary is not None else None
    if canary is None or not isinstance(head, ConfigRead):
        return finding(
            cid,
            Status.UNKNOWN,
            "The stored object was not read (HEAD)",
            "No s3:HeadObject evidence.",
            codes=("stored.not_read",),
        )
    evidence = _evidence(head)
    if head.state is ReadState.DENIED:
        return denied_finding(
            cid,
            head,
            "the stored object's Content-Type (HeadObject)",
            f"arn:aws:s3:::{ev.target.bucket}/*",
            default_call="s3:HeadObject",
            also=f"The canary {canary.key!r} was stored; only reading its metadata back was refused.",
        )
    if head.state is not ReadState.OK:
        why = {  # DENIED was answered above
            ReadState.MISSING: "no object under the key (the upload did not store one)",
        }.get(head.state, f"the read failed ({head.state})")
        code = f" {head.code}" if head.code else ""
        return finding(
            cid,
            Status.UNKNOWN,
            f"Could not read the stored object's type:{code or ' ' + str(head.state)}",
            f"{head.call} → {head.state}{code}: {why}. {_excerpt(head.message)}".strip(),
            "",
            evidence,
            codes=("stored.read_failed",),
        )
    value = head.value if isinstance(head.value, Mapping) else {}
    raw = value.get("ContentType")
    stored = raw.strip() if isinstance(raw, str) else None
    key = canary.key or ""
    ext = key.rsplit(".", 1)[-1].lower() if "." in key else ""
    fix = _stored_type_fix(ev)
    sample, offenders = _sample(ev)
    evidence = (*evidence, *_evidence(ev.stored_sample))
    if not stored:
        return finding(
            cid,
            Status.WARN,
            "The stored object has no Content-Type",
            f"HeadObject on {key!r} returned no ContentType (S3 then serves binary/octet-stream). {sample}".strip(),
            fix,
            evidence,
            codes=("stored.no_content_type",),
        )
    mime = stored.split(";", 1)[0].strip().lower()
    if not _shows_inline(mime):
        return finding(
            cid,
            Status.FAIL,
            f"Objects are stored as {stored}: opening the URL downloads instead of showing",
            f"HeadObject on {key!r}: ContentType {stored!r} (the canary asked the endpoint as the web app does, "
            f"Content-Type {canary.client_content_type!r}). Browsers render image/* inline; {stored} is offered "
            f"as a download. {sample}".strip(),
            fix,
            evidence,
            codes=("stored.as_application",),
        )
    if not mime.startswith("image/"):
        return finding(
            cid,
            Status.WARN,
            f"Objects are stored as {stored}, not image/*",
            f"HeadObject on {key!r}: ContentType {stored!r}. {sample}".strip(),
            fix,
            evidence,
            codes=("stored.not_image",),
        )
    expected = MIME_BY_EXTENSION.get(ext)
    if expected and mime != expected:
        return finding(
            cid,
            Status.WARN,
            f"{key} is stored as {stored}, not {expected}",
            f"HeadObject on {key!r}: ContentType {stored!r}; the .{ext} extension means {expected}. {sample}".strip(),
            fix,
            evidence,
            codes=("stored.other_image_type",),
        )
    return finding(
        cid,
        Status.PASS,
        f"Objects are stored as {stored}",
        f"HeadObject on {key!r}: ContentType {stored!r}, ContentLength {value.get('ContentLength')!r}. {sample}".strip()
        # new uploads are stored right; older objects that still carry application/* are named, with the way out
        + (f"\nRelabel them with their image type:\n{_relabel_commands(ev.target)}" if offenders else ""),
        "",
        evidence,
        codes=("stored.as_image",),
    )


def _shows_inline(mime: str) -> bool:
    return not (mime.startswith("application/") or mime == "binary/octet-stream")


def _stored_type_fix(ev: Evidence) -> str:
    return (
        "Make the web app send Content-Type: image/<ext> on both the presign request and the PUT: the shipped "
        "function (CLIENT_CONTENT_TYPE=match) signs the spelling the client asks for, so clients that still send "
        "application/<ext> keep working. Or make the function sign image/* whatever the client asks: "
        f"aws lambda update-function-configuration --function-name {ev.target.lambda_function or '<function>'} "
        f"--environment 'Variables={{BUCKET_NAME={ev.target.bucket},CONTENT_TYPE_STYLE=image,"
        "CLIENT_CONTENT_TYPE=ignore}' (then every client must PUT the reply's contentType).\n"
        f"Then relabel existing objects:\n{_relabel_commands(ev.target)}"
    )


def _sample(ev: Evidence) -> tuple[str, list[str]]:
    """A sentence on the newest objects' stored types, and the keys that would download instead of showing."""
    read = ev.stored_sample
    if not isinstance(read, ConfigRead):
        return "", []
    if read.state is not ReadState.OK:
        code = f" {read.code}" if read.code else ""
        return (
            f"The bucket's other objects were not sampled ({read.call} → {read.state}{code}: the console's identity "
            f"needs s3:ListBucket on arn:aws:s3:::{ev.target.bucket} to say which objects still carry application/*).",
            [],
        )
    rows = [row for row in read.value or () if isinstance(row, Mapping)]
    typed = [(str(row.get("key")), str(row.get("content_type") or "")) for row in rows]
    offenders = [k for k, t in typed if t and not _shows_inline(t.split(";", 1)[0].strip().lower())]
    if not rows:
        return "The bucket holds no other image objects to sample.", []
    if not offenders:
        return f"The {len(rows)} newest image object(s) sampled are all stored as image/*.", []
    shown = ", ".join(f"{k} ({t})" for k, t in typed if k in offenders[:10])
    more = f" and {len(offenders) - 10} more" if len(offenders) > 10 else ""
    return (
        f"Of the {len(rows)} newest image objects sampled, {len(offenders)} still carry application/* (they "
        f"download instead of showing): {shown}{more}.",
        offenders,
    )


CHECKS: tuple[Check, ...] = (
    Check(
        UPLOAD_ROUNDTRIP,
        "Canary upload round trip",
        frozenset({"canary"}),
        judge_roundtrip,
        impact=Impact.UPLOAD,
        description="canary: presign, PUT with the signed type, identical bytes back through the CDN",
        permissions=(),
        codes=(
            "canary.not_run",
            "canary.presign_failed",
            "canary.not_uploaded",
            "put.no_answer",
            "put.signature_mismatch",
            "put.access_denied",
            "put.kms_denied",
            "put.expired",
            "put.checksum_refused",
            "put.refused",
            "canary.not_read_through_cdn",
            "cdn.read_failed",
            missing_key.OBJECT_MISSING,
            "canary.bytes_not_compared",
            "cdn.other_bytes",
            "canary.roundtrip_ok",
        ),
        docs="https://docs.aws.amazon.com/AmazonS3/latest/userguide/PresignedUrlUploadObject.html",
        depends_on=(
            "presign.reachable",
            "presign.contract",
            "presign.url",
            "upload.url_lifetime",
            "lambda.role_put",
            UPLOAD_CONTENT_TYPE,
            "bucket.cdn_read_grant",
            "bucket.encryption",
            "bucket.cdn_kms_grant",
        ),
    ),
    Check(
        UPLOAD_CONTENT_TYPE,
        "Web app sends the signed Content-Type",
        frozenset({"canary"}),
        judge_content_type,
        impact=Impact.UPLOAD,
        description=(
            "on `SignatureDoesNotMatch`, which Content-Type was signed; and whether the web app "
            "(`PIPELINE_CLIENT_CONTENT_TYPE`) sends it"
        ),
        permissions=(),
        codes=(
            "canary.not_run",
            "canary.presign_failed",
            "type.not_signed",
            "type.signed_unknown",
            "type.signature_rejected_every_type",
            "type.other_header_unsent",
            "type.client_mismatch",
            "type.reported_not_signed",
            "type.canary_sent_other",
            "type.put_failed_otherwise",
            "type.client_sends_signed",
        ),
        docs="https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html",
        depends_on=("presign.contract",),
    ),
    Check(
        UPLOAD_STORED_TYPE,
        "Objects are stored as image/*",
        frozenset({"canary"}),
        judge_stored_type,
        impact=Impact.DISPLAY,
        description=(
            "the canary (asked for as the web app asks: `PIPELINE_CLIENT_CONTENT_TYPE` on the presign request too) is "
            "stored as `image/*`, not `application/*` or `binary/octet-stream`; names which of the 20 newest image "
            "objects still carry `application/*` (in the detail, with `python -m services repair` to relabel them, when new uploads are fine)"
        ),
        permissions=("s3:GetObject", "s3:ListBucket"),
        codes=(
            "canary.not_run",
            "canary.presign_failed",
            "stored.not_read",
            "stored.read_failed",
            "stored.no_content_type",
            "stored.as_application",
            "stored.not_image",
            "stored.other_image_type",
            "stored.as_image",
        ),
        docs="https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html#SysMetadata",
        depends_on=(UPLOAD_ROUNDTRIP,),
    ),
)
