"""Bucket checks: the stored CORS rules and the live preflight, public write and read, Block Public Access, and
CloudFront's Origin Access Control read grant. Pure judges over gathered `Evidence`: no I/O.

Stable ids: ``bucket.cors``, ``bucket.cors_preflight``, ``bucket.public_write``, ``bucket.public_read``,
``bucket.public_access_block``, ``bucket.cdn_read_grant``. Every judge is total: any evidence (absent reads, odd
values, policies the parser refuses) yields a Finding; a read the console could not make is ``unknown``, never a
verdict on the bucket.

The helpers every judge shares live in ``findings.py`` (Fix, finding, unreadable) and ``policy_docs.py`` (policy
documents quoted, edited and applied).

A fix that is one AWS call also comes as a `Remedy` (PutBucketCors, PutBucketPolicy / DeleteBucketPolicy,
PutPublicAccessBlock), built here from the very document the fix text shows; ``remedy.py`` applies it.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from services.aws_model import iam, s3cors
from services.aws_model.s3errors import parse_s3_error
from services.aws_model.statements import OAC_GRANT_SID, oac_grant
from services.checks import cloudfront_grant, cors_advice
from services.checks.denied import denied_finding, is_denied
from services.checks.evidence import Evidence
from services.checks.findings import (
    Fix,
    answer,
    call_name,
    dump,
    finding,
    presigned_post,
    read_state,
    short,
    unreadable,
)
from services.checks.model import Check, ConfigRead, Exchange, Finding, Impact, ReadState, Status
from services.checks.policy_docs import (
    best_distribution_arn,
    bucket_arg,
    bucket_arn,
    bucket_policy_fix,
    bucket_remedy,
    distribution_arn,
    distribution_config,
    load_policy,
    policy_change,
    policy_document,
    quote_statement,
    raw_statements,
    source_arns,
    unparsable,
)
from services.pipeline.preflight import upload_request

#: this module's check ids, each written once: its judge and its entry in CHECKS use the name
BUCKET_CDN_READ_GRANT = "bucket.cdn_read_grant"
BUCKET_CORS = "bucket.cors"
BUCKET_CORS_PREFLIGHT = "bucket.cors_preflight"
BUCKET_PUBLIC_ACCESS_BLOCK = "bucket.public_access_block"
BUCKET_PUBLIC_READ = "bucket.public_read"
BUCKET_PUBLIC_WRITE = "bucket.public_write"

CLOUDFRONT_SID = OAC_GRANT_SID
CORS_HEADERS = ("content-type",)
BPA_SETTINGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
_POLICY_SETTINGS = ("BlockPublicPolicy", "RestrictPublicBuckets")  # the two that govern bucket policies
_DIMENSIONS = {
    "origin": "origin (not in AllowedOrigins)",
    "method": "method ({method} not in AllowedMethods)",
    "header": "header (content-type not in AllowedHeaders)",
    "cors": "no CORS rule at all",
}


def upload_method(ev: Evidence) -> tuple[str, tuple[str, ...]]:
    """The method and headers of the browser's upload the bucket's CORS must allow: a PUT with content-type, or
    (when the endpoint hands out a presigned POST) the form POST. Stated once: preflight.upload_request."""
    return upload_request("post" if presigned_post(ev.presign_ok) is not None else "put")


# --------------------------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------------------------


def _bpa_command(ev: Evidence, on: Mapping[str, bool] | None = None) -> str:
    values = on if on is not None else dict.fromkeys(BPA_SETTINGS, True)
    settings = ",".join(f"{name}={str(values[name]).lower()}" for name in BPA_SETTINGS)
    return f"aws s3api put-public-access-block --bucket {bucket_arg(ev)} --public-access-block-configuration {settings}"


# --------------------------------------------------------------------------------------------------------------
# bucket.cors: the stored rules
# --------------------------------------------------------------------------------------------------------------


def app_origins(ev: Evidence) -> tuple[str, ...]:
    """The configured web-app origins, trimmed, empty ones and duplicates dropped."""
    origins = ev.target.app_origins if isinstance(ev.target.app_origins, list | tuple) else ()
    return tuple(dict.fromkeys(o.strip() for o in origins if isinstance(o, str) and o.strip()))


def _cors_rules(value: Any) -> list[Any] | None:
    if isinstance(value, Mapping) and "CORSRules" in value:
        value = value["CORSRules"]
    return list(value) if isinstance(value, list | tuple) else None


def fixed_cors_rules(
    rules: Sequence[Any] | None, origins: Sequence[str], method: str = "PUT", headers: Sequence[str] = CORS_HEADERS
) -> list[dict[str, Any]]:
    """cors_advice.suggest_rules (every origin may PUT with content-type, or POST), and ETag exposed by every
    PUT/POST rule so the corrected configuration draws no ETag warning either."""
    fixed = cors_advice.suggest_rules(rules, [o for o in origins if o], method, headers or CORS_HEADERS)
    for rule in fixed:
        exposed = s3cors.rule_strings(rule, "ExposeHeaders")
        writes = {"PUT", "POST"} & set(s3cors.rule_strings(rule, "AllowedMethods"))
        if writes and "etag" not in {h.lower() for h in exposed}:
            rule["ExposeHeaders"] = [*exposed, "ETag"]
    return fixed


def cors_fix(
    ev: Evidence,
    rules: Sequence[Any],
    notes: Sequence[str] = (),
    *,
    origins: Sequence[str] | None = None,
    based_on: Sequence[Any] | None = None,
    method: str = "PUT",
) -> Fix:
    """The whole CORS configuration to put, and the command. With `origins` (the rules were read, so the JSON
    keeps them all), the same document as a PutBucketCors remedy, valid while the stored rules are still
    `based_on`; without, text only (it must be merged by hand)."""
    doc = {"CORSRules": list(rules)}
    command = f"aws s3api put-bucket-cors --bucket {bucket_arg(ev)} --cors-configuration {shlex.quote(dump(doc))}"
    lines = [
        dump(doc, indent=2),
        "",
        command,
        "# put-bucket-cors replaces the whole configuration; the JSON keeps the other rules",
    ]
    remedy = None
    if origins is not None:
        kept = "its other rules kept" if based_on else "the bucket had none"
        change = (
            f"{len(rules)} rule(s) letting {', '.join(origins)} {method} with content-type, ETag exposed "
            f"(replaces the whole CORS configuration; {kept})"
        )
        params = {"CORSConfiguration": doc}
        remedy = bucket_remedy("PutBucketCors", str(ev.target.bucket), params, change, based_on)
    return Fix("\n".join([*lines, *notes]), remedy)


def _refusal(verdict: cors_advice.CorsVerdict, method: str = "PUT") -> str:
    dims = ", ".join(_DIMENSIONS.get(d, d).format(method=method) for d in verdict.failed)
    lines = [f"origin {verdict.origin} is refused on {dims}: {verdict.reason}"]
    if verdict.detail and verdict.detail != verdict.reason:
        lines += [f"  {line}" for line in verdict.detail.splitlines()]
    lines += [f"  hint: {hint}" for hint in verdict.hints]
    return "\n".join(lines)


#: the cause code of each dimension an origin's PUT preflight can be refused on
_REFUSAL_CODES = {
    "origin": "cors.origin_missing",
    "method": "cors.method_missing",
    "header": "cors.header_missing",
    "cors": "cors.no_rules",
}


def _refusal_codes(refused: Sequence[cors_advice.CorsVerdict]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_REFUSAL_CODES.get(d, f"cors.{d}") for v in refused for d in v.failed))


def judge_cors(ev: Evidence) -> Finding:
    """bucket.cors: the stored CORSRules let every app origin PUT with content-type (as S3 matches rules), or POST
    when the endpoint hands out a presigned POST."""
    cid = BUCKET_CORS
    origins = app_origins(ev)
    method, headers = upload_method(ev)
    read = ev.bucket_cors
    if not origins:
        detail = (
            "Set PIPELINE_APP_ORIGINS to the web app's origins (comma-separated scheme://host[:port], e.g. "
            "https://app.example.com): CORS can only be judged against the origins the browser sends."
        )
        return finding(
            cid,
            Status.SKIP,
            "Not judged: no app origins configured",
            detail,
            "",
            (read,),
            codes=("origins.not_configured",),
        )
    problem = unreadable(cid, read, "the bucket's CORS configuration", "s3:GetBucketCors", bucket_arn(ev))
    if problem is not None or read is None:
        return problem or finding(
            cid, Status.UNKNOWN, "Cannot judge: the CORS configuration was not read", codes=("cors.not_read",)
        )
    missing = read_state(read) is ReadState.MISSING
    rules = None if missing else _cors_rules(read.value)
    if rules is None and not missing:
        detail = f"s3:GetBucketCors returned {short(read.value)}; expected the CORSRules list."
        return finding(
            cid,
            Status.UNKNOWN,
            "Cannot judge: the CORS configuration has an unexpected shape",
            detail,
            "",
            (read,),
            codes=("cors.unexpected_shape",),
        )
    fix = cors_fix(
        ev, fixed_cors_rules(rules, origins, method, headers), origins=origins, based_on=rules, method=method
    )
    if rules is None:
        detail = (
            f"s3:GetBucketCors answered {answer(read)}: with no CORS configuration S3 answers every preflight "
            f"403 AccessForbidden ('CORS is not enabled for this bucket'), so the browser at {', '.join(origins)} "
            f"blocks the {method} before sending it (or, for a form POST, hides S3's answer)."
        )
        return finding(
            cid,
            Status.FAIL,
            f"No CORS configuration: browsers cannot {method} to the bucket",
            detail,
            fix,
            (read,),
            codes=("cors.not_configured",),
        )
    verdicts = [cors_advice.explain_origin(rules, origin, method, headers) for origin in origins]
    refused = [v for v in verdicts if not v.allowed]
    if refused:
        title = f"Bucket CORS refuses the browser's {method} from {len(refused)} of {len(verdicts)} app origin(s)"
        post = (
            "\n\nThe endpoint hands out a presigned POST: the browser sends the form without a preflight (a CORS "
            "simple request), but hides S3's answer without Access-Control-Allow-Origin, so the web app's upload "
            "fails although the object is stored."
            if method == "POST"
            else ""
        )
        return finding(
            cid,
            Status.FAIL,
            title,
            "\n\n".join(_refusal(v, method) for v in refused) + post,
            fix,
            (read,),
            codes=_refusal_codes(refused),
        )
    return _judge_allowed_cors(ev, rules, verdicts, fix, read, method)


def _judge_allowed_cors(
    ev: Evidence,
    rules: Sequence[Any],
    verdicts: Sequence[cors_advice.CorsVerdict],
    fix: Fix,
    read: ConfigRead,
    method: str = "PUT",
) -> Finding:
    cid = BUCKET_CORS
    allowed = "\n".join(v.reason for v in verdicts)
    problems = s3cors.rule_problems(rules)
    if not problems:
        title = f"Bucket CORS lets every app origin {method} with content-type"
        return finding(
            cid, Status.PASS, title, allowed + "\nExposeHeaders include ETag.", "", (read,), codes=("cors.allowed",)
        )
    only_etag = all(p.code == "expose-etag" for p in problems)
    title = (
        f"Bucket CORS allows the app's {method}, but ExposeHeaders lacks ETag"
        if only_etag
        else f"Bucket CORS allows the app's {method}, but the rules have {len(problems)} problem(s)"
    )
    detail = allowed + "\n" + "\n".join(str(p) for p in problems)
    others = [f"# also correct by hand: {p}" for p in problems if p.code != "expose-etag"]
    impact = Impact.HYGIENE if only_etag else None  # a single PUT works without reading the ETag
    return finding(
        cid,
        Status.WARN,
        title,
        detail,
        fix.also(others),
        (read,),
        impact=impact,
        codes=tuple(f"cors.rule_{p.code.replace('-', '_')}" for p in problems),
    )


# --------------------------------------------------------------------------------------------------------------
# bucket.cors_preflight: the live OPTIONS exchanges
# --------------------------------------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _tokens(value: str | None, *, lower: bool = False) -> list[str]:
    items = [item.strip() for item in (value or "").split(",") if item.strip()]
    return [item.lower() for item in items] if lower else items


def _request_header(ex: Exchange, name: str) -> str | None:
    headers = ex.request_headers if isinstance(ex.request_headers, Mapping) else {}
    return next((_text(v) for k, v in headers.items() if str(k).lower() == name.lower()), None)


def _response_header(ex: Exchange, name: str) -> str | None:
    headers = ex.response_headers if isinstance(ex.response_headers, Mapping) else {}
    return next((_text(v) for k, v in headers.items() if str(k).lower() == name.lower()), None)


def _preflight_gaps(origin: str, ex: Exchange) -> list[str]:
    """What a browser would miss in the answer (absent or wrong Access-Control-* headers)."""
    gaps = []
    allow_origin = _response_header(ex, "Access-Control-Allow-Origin")
    if allow_origin is None:
        gaps.append("Access-Control-Allow-Origin absent")
    elif allow_origin not in (origin, "*"):
        gaps.append(f"Access-Control-Allow-Origin is {allow_origin!r}, not {origin!r}")
    methods = _response_header(ex, "Access-Control-Allow-Methods")
    if methods is None:
        gaps.append("Access-Control-Allow-Methods absent")
    elif not {"PUT", "*"} & set(_tokens(methods)):
        gaps.append(f"Access-Control-Allow-Methods {methods!r} lacks PUT")
    wanted = _tokens(_request_header(ex, "Access-Control-Request-Headers"), lower=True)
    allowed = _tokens(_response_header(ex, "Access-Control-Allow-Headers"), lower=True)
    refused = [h for h in wanted if h not in allowed and "*" not in allowed]
    if refused:
        gaps.append(
            "Access-Control-Allow-Headers absent"
            if not allowed
            else f"Access-Control-Allow-Headers {', '.join(allowed)!r} lacks {', '.join(refused)}"
        )
    return gaps


@dataclass(frozen=True)
class _Preflight:
    """One origin's preflight judged: status, the line quoting it, and whether a failure is S3 refusing CORS
    (403, or an answer without the headers) rather than the request missing the bucket (redirect, 400, 404, 5xx)."""

    origin: str
    status: Status
    line: str
    cors_refusal: bool = False
    region: str | None = None  # x-amz-bucket-region, when S3 says where the bucket lives


def _preflight(origin: str, ex: Any) -> _Preflight:
    if not isinstance(ex, Exchange):
        return _Preflight(origin, Status.UNKNOWN, f"{origin}: no preflight exchange recorded")
    where = f"OPTIONS {ex.url}"
    if ex.status is None:
        return _Preflight(
            origin, Status.UNKNOWN, f"{origin}: {where} got no answer ({ex.error or 'no error recorded'})"
        )
    gaps = _preflight_gaps(origin, ex)
    if ex.status == 200 and not gaps:
        shown = ", ".join(
            f"{name}: {_response_header(ex, name)}"
            for name in ("Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers")
            if _response_header(ex, name) is not None
        )
        return _Preflight(origin, Status.PASS, f"{origin}: {where} answered 200 ({shown})")
    error = parse_s3_error(ex.body)
    code, message = error.code, error.message
    s3 = f"; S3 error {code or '?'}: {message or '(no message)'}" if code or message else ""
    why = "; ".join(gaps) if gaps else "the CORS headers are there, but the status is not 200"
    line = f"{origin}: {where} answered {ex.status}{s3}; {why}"
    cors_refusal = isinstance(ex.status, int) and (200 <= ex.status < 300 or ex.status == 403)
    region = _response_header(ex, "x-amz-bucket-region")
    if not cors_refusal:
        line += " (not a CORS refusal: the request did not reach the bucket as addressed"
        line += f"; S3 says the bucket is in {region})" if region else ")"
    return _Preflight(origin, Status.FAIL, line, cors_refusal, region)


def _preflight_fix(ev: Evidence, failing: Sequence[_Preflight]) -> Fix:
    """The CORS rules to put (a remedy too when the stored rules were read, so none is lost, and the CORS refusal
    is the only problem), and/or how to address the bucket when the preflight did not reach it."""
    parts: list[Fix] = []
    refused = [p.origin for p in failing if p.cors_refusal and p.origin]
    if refused:
        origins = list(dict.fromkeys([*app_origins(ev), *refused]))
        read = ev.bucket_cors
        state = read_state(read) if isinstance(read, ConfigRead) else None
        rules = _cors_rules(read.value) if read is not None and state is ReadState.OK else None
        notes: list[str] = []
        known = rules is not None or state is ReadState.MISSING
        if not known:
            notes.append(
                f"# the bucket's current rules were not read: merge this rule into them "
                f"(aws s3api get-bucket-cors --bucket {bucket_arg(ev)})"
            )
        fix = cors_fix(ev, fixed_cors_rules(rules, origins), notes, origins=origins if known else None, based_on=rules)
        parts.append(fix)
    if any(not p.cors_refusal for p in failing):
        region = next((p.region for p in failing if p.region), None) or "<region>"
        parts.append(
            Fix(
                "# the preflight did not reach the bucket: address it at its own regional endpoint, "
                f"https://{ev.target.bucket}.s3.{region}.amazonaws.com/<key>, and presign for that region:\n"
                f"aws s3api get-bucket-location --bucket {bucket_arg(ev)}"
            )
        )
    remedy = parts[0].remedy if len(parts) == 1 else None  # one call fixes it only when it is the only step
    return Fix("\n\n".join(part.text for part in parts), remedy)


def _preflight_codes(failing: Sequence[_Preflight]) -> tuple[str, ...]:
    """``preflight.refused`` (S3 refused CORS) and/or ``preflight.misaddressed`` (the request missed the bucket)."""
    kinds = {p.cors_refusal for p in failing}
    return tuple(
        code for refusal, code in ((True, "preflight.refused"), (False, "preflight.misaddressed")) if refusal in kinds
    )


def judge_cors_preflight(ev: Evidence) -> Finding:
    """bucket.cors_preflight: S3's live answer to the browser's OPTIONS (PUT, content-type) from each app origin."""
    cid = BUCKET_CORS_PREFLIGHT
    exchanges = dict(ev.bucket_preflights) if isinstance(ev.bucket_preflights, Mapping) else {}
    if upload_method(ev)[0] == "POST":
        detail = (
            "The endpoint hands out a presigned POST: the browser sends its multipart form without a preflight (a "
            "CORS simple request), so no OPTIONS stands in its way; S3's answer still needs "
            "Access-Control-Allow-Origin for POST, which bucket.cors judges."
        )
        return finding(
            cid,
            Status.SKIP,
            "Not applicable: a presigned POST is sent without a preflight",
            detail,
            codes=("preflight.not_applicable",),
        )
    if not exchanges:
        if not app_origins(ev):
            detail = "Set PIPELINE_APP_ORIGINS to the web app's origins to have S3's preflight answers probed."
            return finding(
                cid, Status.SKIP, "Not judged: no app origins configured", detail, codes=("origins.not_configured",)
            )
        detail = f"No OPTIONS request to {ev.object_url or 'an object URL'} was recorded (the gatherer did not run)."
        return finding(
            cid, Status.UNKNOWN, "Cannot judge: no preflight was sent", detail, codes=("preflight.not_sent",)
        )
    judged = [_preflight(str(origin), ex) for origin, ex in exchanges.items()]
    evidence = list(exchanges.values())
    detail = "\n".join(p.line for p in judged)
    failing = [p for p in judged if p.status is Status.FAIL]
    if failing:
        refused = sum(p.cors_refusal for p in failing)
        title = (
            f"S3 refuses the browser's preflight for {len(failing)} of {len(judged)} origin(s)"
            if refused
            else f"The preflight does not reach the bucket for {len(failing)} of {len(judged)} origin(s)"
        )
        return finding(
            cid,
            Status.FAIL,
            title,
            detail,
            _preflight_fix(ev, failing),
            evidence,
            codes=_preflight_codes(failing),
        )
    if any(p.status is Status.UNKNOWN for p in judged):
        return finding(
            cid,
            Status.UNKNOWN,
            "Cannot judge: some preflights got no answer",
            detail,
            "",
            evidence,
            codes=("preflight.no_answer",),
        )
    title = "S3 answers the browser's preflight (PUT, content-type) for every origin"
    return finding(cid, Status.PASS, title, detail, "", evidence, codes=("preflight.allowed",))


# --------------------------------------------------------------------------------------------------------------
# Bucket policy and Block Public Access
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _LoadedPolicy:
    """The bucket policy as a check sees it: parsed (None when there is none), or why it cannot be judged."""

    parsed: iam.Policy | None = None
    raw: Mapping[str, Any] | None = None
    problem: Finding | None = None


def _load_bucket_policy(ev: Evidence, check_id: str) -> _LoadedPolicy:
    read = ev.bucket_policy
    problem = unreadable(check_id, read, "the bucket policy", "s3:GetBucketPolicy", bucket_arn(ev))
    if problem is not None or read is None:
        return _LoadedPolicy(problem=problem)
    if read_state(read) is ReadState.MISSING:
        return _LoadedPolicy()
    try:
        parsed, raw = load_policy(read.value)
    except iam.PolicyError as err:
        detail = f"s3:GetBucketPolicy returned a document the console cannot parse: {err}"
        return _LoadedPolicy(problem=unparsable(check_id, "the bucket policy", detail, (read,)))
    if parsed.is_identity_policy:
        detail = "s3:GetBucketPolicy returned a document with no Principal elements, which S3 does not accept."
        return _LoadedPolicy(
            problem=finding(
                check_id,
                Status.UNKNOWN,
                "Cannot judge: the bucket policy has no principals",
                detail,
                "",
                (read,),
                codes=("policy.no_principals",),
            )
        )
    return _LoadedPolicy(parsed, raw)


def _bpa_value(value: Any) -> Mapping[str, Any] | None:
    if isinstance(value, Mapping) and isinstance(value.get("PublicAccessBlockConfiguration"), Mapping):
        value = value["PublicAccessBlockConfiguration"]
    return value if isinstance(value, Mapping) else None


def _bpa_text(value: Mapping[str, Any]) -> str:
    return ", ".join(f"{name}={dump(value.get(name))}" for name in BPA_SETTINGS)


def _bpa(ev: Evidence) -> tuple[dict[str, bool] | None, str]:
    """The bucket's Block Public Access settings (all False when there is no configuration), and a line quoting them."""
    read = ev.public_access_block
    if not isinstance(read, ConfigRead):
        return None, "Block Public Access was not read"
    state = read_state(read)
    value = _bpa_value(read.value)
    if state is ReadState.OK and value is not None:
        return {name: value.get(name) is True for name in BPA_SETTINGS}, f"Block Public Access: {_bpa_text(value)}"
    if state is ReadState.MISSING:
        return dict.fromkeys(BPA_SETTINGS, False), "Block Public Access is off (no configuration on the bucket)"
    return None, f"Block Public Access could not be read ({answer(read)})"


def _free_sid(doc: Mapping[str, Any] | None, drop: Iterable[int]) -> str:
    dropped = set(drop)
    taken = {
        raw.get("Sid") for i, raw in enumerate(raw_statements(doc)) if i not in dropped and isinstance(raw, Mapping)
    }
    sid, n = CLOUDFRONT_SID, 2
    while sid in taken:
        sid, n = f"{CLOUDFRONT_SID}{n}", n + 1
    return sid


def _grants_after(doc: Mapping[str, Any] | None, bucket: str, arn: str) -> bool:
    if doc is None:
        return False
    try:
        return cloudfront_grant.cloudfront_read_grant(iam.parse_policy(doc), bucket, arn).granted
    except iam.PolicyError:
        return False


def _remove_public_fix(ev: Evidence, loaded: _LoadedPolicy, statements: Sequence[iam.Statement]) -> Fix:
    """The policy without the public statements (others kept), with the OAC grant added when those statements were
    how CloudFront read and the distribution is known; then Block Public Access on.

    The policy step is a remedy unless CloudFront may have read through the removed grant and its own grant cannot
    be written (no distribution ARN): applying it alone could cut the CDN off."""
    drop = {s.index for s in statements}
    add: list[dict[str, Any]] = []
    notes = ["# then turn Block Public Access on (it also refuses any new public statement):", _bpa_command(ev)]
    applicable = True
    if any(iam.covers_action(s, "s3:GetObject") for s in statements):
        arn, _ = distribution_arn(ev, loaded.parsed)
        bucket = str(ev.target.bucket)
        if arn is not None and not _grants_after(policy_document(loaded.raw, drop), bucket, arn):
            add = [oac_grant(bucket, arn, _free_sid(loaded.raw, drop))]
        elif arn is None:
            applicable = False
            notes.append(
                "# CloudFront may have read through the removed grant: add its OAC grant (see bucket.cdn_read_grant)"
            )
    change = f"{policy_change(loaded.raw, drop, add)} (Block Public Access is bucket.public_access_block's fix)"
    new = policy_document(loaded.raw, drop, add)
    return bucket_policy_fix(ev, new, notes, change=change if applicable else None, based_on=loaded.raw)


def _quoted(loaded: _LoadedPolicy, statements: Sequence[iam.Statement]) -> str:
    return "\n".join(f"statement {s.label}: {quote_statement(loaded.raw, s)}" for s in statements)


def _grant_effect_unknown(
    cid: str, ev: Evidence, quoted: str, verb: str, fix: Fix, evidence: Sequence[object]
) -> Finding:
    """A public grant whose effect hangs on Block Public Access, which was not read: unknown, never a verdict."""
    read = ev.public_access_block
    also = (
        f"{quoted}\nThis statement lets anyone {verb} unless RestrictPublicBuckets is on, which the console could not "
        "read. Remove the grant either way."
    )
    title = f"whether the policy's public {verb} grant takes effect"
    if isinstance(read, ConfigRead) and read_state(read) is ReadState.DENIED:
        return denied_finding(
            cid,
            read,
            title,
            bucket_arn(ev),
            default_call="s3:GetBucketPublicAccessBlock",
            also=also,
            evidence=evidence,
            extra_fix="# and, whatever Block Public Access says, remove the public grant:\n" + fix.text,
            title=f"The console's role lacks s3:GetBucketPublicAccessBlock: {title} is unknown",
        )
    _, bpa_line = _bpa(ev)
    detail = f"{bpa_line}.\n{also}"
    return finding(
        cid,
        Status.UNKNOWN,
        f"Cannot judge {title}: Block Public Access was not read",
        detail,
        fix,
        evidence,
        codes=("bpa.not_read",),
    )


# --------------------------------------------------------------------------------------------------------------
# bucket.public_write
# --------------------------------------------------------------------------------------------------------------


def judge_public_write(ev: Evidence) -> Finding:
    """bucket.public_write: no statement lets everyone s3:PutObject (which skips the presign step entirely)."""
    cid = BUCKET_PUBLIC_WRITE
    loaded = _load_bucket_policy(ev, cid)
    if loaded.problem is not None:
        return loaded.problem
    evidence = (ev.bucket_policy, ev.public_access_block)
    if loaded.parsed is None:
        detail = f"s3:GetBucketPolicy answered {answer(ev.bucket_policy) if ev.bucket_policy else 'nothing'}: no bucket policy, so no public write grant."
        return finding(
            cid,
            Status.PASS,
            "No bucket policy: nobody outside the account can write the bucket",
            detail,
            "",
            evidence,
            codes=("public_write.no_policy",),
        )
    grants = iam.grants_public(loaded.parsed, "s3:PutObject")
    if not grants:
        detail = f"{len(loaded.parsed.statements)} statement(s) examined; none grants s3:PutObject to everyone without a restricting condition."
        return finding(
            cid,
            Status.PASS,
            "No statement lets everyone write the bucket",
            detail,
            "",
            evidence,
            codes=("public_write.no_public_grant",),
        )
    settings, bpa_line = _bpa(ev)
    fix = _remove_public_fix(ev, loaded, grants)
    quoted = _quoted(loaded, grants)
    if settings is None:
        return _grant_effect_unknown(cid, ev, quoted, "write", fix, evidence)
    if settings["RestrictPublicBuckets"]:
        detail = (
            f"{quoted}\n{bpa_line}: RestrictPublicBuckets=true makes S3 ignore this grant for anonymous and "
            "cross-account callers, so it is dormant; turning Block Public Access off would let anyone PUT any key."
        )
        return finding(
            cid,
            Status.WARN,
            "Dormant public write grant in the bucket policy",
            detail,
            fix,
            evidence,
            codes=("public_write.dormant_grant",),
        )
    detail = (
        f"{quoted}\n{bpa_line}. Anyone on the internet can PUT (overwrite) any key without a presigned URL. "
        "BlockPublicPolicy=true alone only refuses new public policies; only RestrictPublicBuckets=true neutralises an "
        "existing one. (Account-level Block Public Access is not read by the console.)"
    )
    return finding(
        cid,
        Status.FAIL,
        "Anyone on the internet can write to the bucket (public s3:PutObject)",
        detail,
        fix,
        evidence,
        codes=("public_write.public_put",),
    )


# --------------------------------------------------------------------------------------------------------------
# bucket.public_read
# --------------------------------------------------------------------------------------------------------------


def _live_probe(ev: Evidence) -> tuple[Exchange | None, str]:
    probe = ev.canary.direct_s3 if ev.canary is not None else None
    if not isinstance(probe, Exchange):
        return None, "the live anonymous GET straight to S3 was not made"
    if probe.status is None:
        return probe, f"the live anonymous GET {probe.url} got no answer ({probe.error or 'no error recorded'})"
    code = parse_s3_error(probe.body).code
    return probe, f"the live anonymous GET {probe.url} answered {probe.status}" + (f" {code}" if code else "")


def _public_read_fix(ev: Evidence, loaded: _LoadedPolicy, grants: Sequence[iam.Statement]) -> Fix:
    if grants:
        return _remove_public_fix(ev, loaded, grants)
    ownership = shlex.quote("Rules=[{ObjectOwnership=BucketOwnerEnforced}]")
    lines = [
        "# no public policy statement was found: the object is likely public through an ACL",
        _bpa_command(ev),
        f"aws s3api put-bucket-ownership-controls --bucket {bucket_arg(ev)} --ownership-controls {ownership}",
    ]
    return Fix("\n".join(lines))  # two calls, and a guess: text only


def judge_public_read(ev: Evidence) -> Finding:
    """bucket.public_read: objects are not readable without the CDN (policy statements and a live anonymous GET)."""
    cid = BUCKET_PUBLIC_READ
    loaded = _load_bucket_policy(ev, cid)
    probe, probe_line = _live_probe(ev)
    status = probe.status if probe is not None else None
    evidence = (ev.bucket_policy, ev.public_access_block, probe)
    grants = iam.grants_public(loaded.parsed, "s3:GetObject") if loaded.parsed is not None else []
    settings, bpa_line = _bpa(ev)
    restricted = settings is not None and settings["RestrictPublicBuckets"]
    quoted = _quoted(loaded, grants) if grants else "no statement grants s3:GetObject to everyone"
    if status == 200:
        detail = f"{probe_line}: anyone can read objects without the CDN.\n{quoted}\n{bpa_line}."
        fix = _public_read_fix(ev, loaded, grants)
        return finding(
            cid,
            Status.FAIL,
            "Objects are publicly readable straight from S3 (anonymous GET 200)",
            detail,
            fix,
            evidence,
            codes=("public_read.anonymous_get",),
        )
    if loaded.problem is not None:
        if status != 403:
            return loaded.problem
        # the canary alone is not public; other keys may be (cdn.direct_s3_blocked judges the live answer)
        seen = f"{probe_line}: the canary object is not public, but the policy may still make other keys public."
        return replace(
            loaded.problem,
            detail=f"{loaded.problem.detail}\n{seen}",
            evidence=tuple(item for item in (*loaded.problem.evidence, probe) if item is not None),
        )
    if grants and restricted:
        detail = f"{quoted}\n{bpa_line}: RestrictPublicBuckets=true makes S3 ignore the grant, so it is dormant.\n{probe_line}."
        return finding(
            cid,
            Status.WARN,
            "Dormant public read grant in the bucket policy",
            detail,
            _remove_public_fix(ev, loaded, grants),
            evidence,
            codes=("public_read.dormant_grant",),
        )
    if grants:
        return _policy_public_read(ev, loaded, grants, probe_line, status, evidence)
    detail = f"{quoted}; {probe_line}." + ("" if status in (403, None) else " (inconclusive: only 403 confirms)")
    return finding(
        cid, Status.PASS, "Objects are not readable without the CDN", detail, "", evidence, codes=("public_read.none",)
    )


def _policy_public_read(
    ev: Evidence,
    loaded: _LoadedPolicy,
    grants: Sequence[iam.Statement],
    probe_line: str,
    status: int | None,
    evidence: Sequence[object],
) -> Finding:
    cid = BUCKET_PUBLIC_READ
    fix = _remove_public_fix(ev, loaded, grants)
    quoted = _quoted(loaded, grants)
    if status == 403:
        detail = (
            f"{quoted}\n{probe_line}: the policy makes the bucket public, yet S3 refused the anonymous read. "
            "Possible causes: an explicit Deny matching the request, a Resource not covering the canary's key, an "
            "account-level Block Public Access setting (not read by the console), or the probe went to another "
            "endpoint. Remove the grant rather than rely on whatever blocks it."
        )
        return finding(
            cid,
            Status.WARN,
            "The bucket policy grants public read, but the live anonymous GET was denied",
            detail,
            fix,
            evidence,
            codes=("public_read.grant_denied_live",),
        )
    if _bpa(ev)[0] is None:
        return _grant_effect_unknown(cid, ev, f"{quoted}\n{probe_line}", "read", fix, evidence)
    detail = f"{quoted}\nAnyone can GET every object straight from S3, bypassing the CDN; {probe_line}."
    return finding(
        cid,
        Status.FAIL,
        "The bucket policy lets anyone read the objects without the CDN",
        detail,
        fix,
        evidence,
        codes=("public_read.policy_grant",),
    )


# --------------------------------------------------------------------------------------------------------------
# bucket.public_access_block
# --------------------------------------------------------------------------------------------------------------


def judge_public_access_block(ev: Evidence) -> Finding:
    """bucket.public_access_block: all four Block Public Access settings are on."""
    cid = BUCKET_PUBLIC_ACCESS_BLOCK
    read = ev.public_access_block
    problem = unreadable(
        cid, read, "the bucket's Block Public Access configuration", "s3:GetBucketPublicAccessBlock", bucket_arn(ev)
    )
    if problem is not None or read is None:
        return problem or finding(
            cid, Status.UNKNOWN, "Cannot judge: Block Public Access was not read", codes=("bpa.not_read",)
        )
    on = dict.fromkeys(BPA_SETTINGS, True)
    value = None if read_state(read) is ReadState.MISSING else _bpa_value(read.value)
    off = [name for name in BPA_SETTINGS if value is None or value.get(name) is not True]
    change = f"turns on {', '.join(off)} (all four settings true)"
    params = {"PublicAccessBlockConfiguration": on}
    based_on = dict(value) if value is not None else None
    remedy = bucket_remedy("PutPublicAccessBlock", str(ev.target.bucket), params, change, based_on)
    fix = Fix("\n".join([dump(on, indent=2), "", _bpa_command(ev, on)]), remedy)
    account = " Account-level Block Public Access (s3control) is not read by the console; when on, it applies too."
    if read_state(read) is ReadState.MISSING:
        detail = (
            f"s3:GetBucketPublicAccessBlock answered {answer(read)}: none of the four settings applies, so a public "
            f"bucket policy or ACL takes effect.{account}"
        )
        return finding(
            cid,
            Status.FAIL,
            "Block Public Access is off: the bucket has no configuration",
            detail,
            fix,
            (read,),
            codes=("bpa.not_configured",),
        )
    if value is None:
        detail = f"s3:GetBucketPublicAccessBlock returned {short(read.value)}; expected the four settings."
        return finding(
            cid,
            Status.UNKNOWN,
            "Cannot judge: unexpected Block Public Access value",
            detail,
            "",
            (read,),
            codes=("bpa.unexpected_value",),
        )
    quoted = _bpa_text(value)
    if not off:
        return finding(cid, Status.PASS, "Block Public Access is fully on", quoted, "", (read,), codes=("bpa.on",))
    policy_off = [name for name in off if name in _POLICY_SETTINGS]
    if policy_off:
        title = f"Block Public Access is partly off: {', '.join(policy_off)} not true, so a public bucket policy takes effect"
        return finding(
            cid, Status.FAIL, title, quoted + "." + account, fix, (read,), codes=("bpa.policy_settings_off",)
        )
    title = f"Block Public Access leaves public ACLs possible: {', '.join(off)} not true"
    return finding(cid, Status.WARN, title, quoted + "." + account, fix, (read,), codes=("bpa.acl_settings_off",))


# --------------------------------------------------------------------------------------------------------------
# bucket.cdn_read_grant
# --------------------------------------------------------------------------------------------------------------

_NM = cloudfront_grant.NearMissCode
_REPLACED = frozenset(
    {
        _NM.OTHER_DISTRIBUTION,
        _NM.CONDITION_MISMATCH,
        _NM.NO_SOURCE_ARN,
        _NM.PARTIAL_KEYS,
        _NM.BUCKET_ARN_ONLY,
        _NM.OTHER_BUCKET,
        _NM.DENIED,
    }
)


def _cloudfront_grants(parsed: iam.Policy | None) -> list[str]:
    """Which distributions (or OAIs) the policy lets read, in words, whatever distribution is configured."""
    found = []
    for s in parsed.statements if parsed is not None else ():
        if s.effect != "Allow" or s.principal is None or not iam.covers_action(s, "s3:GetObject"):
            continue
        oai = [v for v in s.principal.aws if v.startswith(iam.OAI_PRINCIPAL_PREFIX)]
        if any(v.lower() == iam.CLOUDFRONT_SERVICE for v in s.principal.service):
            arns = source_arns(s)
            named = f"distribution(s) {', '.join(arns)}" if arns else "any distribution (no AWS:SourceArn)"
            found.append(f"statement {s.label} grants CloudFront read for {named}")
        elif oai:
            found.append(f"statement {s.label} grants legacy Origin Access Identity {', '.join(oai)}")
    return found


def _origin_access(ev: Evidence) -> set[str]:
    """How the distribution's origins authenticate to S3: {"oac"}, {"oai"}, both, or empty when unknown."""
    dist = distribution_config(ev)
    config = dist.get("DistributionConfig") if dist is not None else None
    origins = config.get("Origins") if isinstance(config, Mapping) else None
    items = origins.get("Items") if isinstance(origins, Mapping) else None
    found: set[str] = set()
    for origin in items if isinstance(items, list | tuple) else ():
        if not isinstance(origin, Mapping):
            continue
        s3_config = origin.get("S3OriginConfig")
        if origin.get("OriginAccessControlId"):
            found.add("oac")
        elif isinstance(s3_config, Mapping) and s3_config.get("OriginAccessIdentity"):
            found.add("oai")
    return found


def _no_distribution(ev: Evidence, loaded: _LoadedPolicy) -> Finding:
    cid = BUCKET_CDN_READ_GRANT
    dist_read = ev.distribution
    unreadable_distribution = isinstance(dist_read, ConfigRead) and read_state(dist_read) in (
        ReadState.DENIED,
        ReadState.ERROR,
    )
    if ev.target.distribution_id and isinstance(dist_read, ConfigRead) and read_state(dist_read) is ReadState.DENIED:
        also = "Without the distribution's ARN (its account id) the bucket policy's grant cannot be matched to it."
        return denied_finding(
            cid,
            dist_read,
            "the distribution (its ARN)",
            best_distribution_arn(ev),
            default_call="cloudfront:GetDistribution",
            also=also,
            evidence=(ev.bucket_policy,),
        )
    if ev.target.distribution_id and unreadable_distribution and isinstance(dist_read, ConfigRead):
        detail = (
            f"{call_name(dist_read, 'cloudfront:GetDistribution')} answered {answer(dist_read)}: the console "
            "lacks cloudfront:GetDistribution (or the read failed), so the distribution's ARN (its account id) "
            "is unknown and the grant cannot be matched to it."
        )
        return finding(
            cid,
            Status.UNKNOWN,
            "Cannot judge: the distribution's ARN is unknown",
            detail,
            "",
            (dist_read, ev.bucket_policy),
            codes=("grant.distribution_unknown",),
        )
    grants = _cloudfront_grants(loaded.parsed)
    if loaded.parsed is None and loaded.problem is None:
        grants = ["there is no bucket policy, so no distribution may read"]
    seen = ("\n" + "\n".join(grants)) if grants else ""
    if ev.target.distribution_id:
        detail = f"The distribution {ev.target.distribution_id} was not read (no ARN known).{seen}"
        return finding(
            cid,
            Status.SKIP,
            "Not judged: the distribution's ARN is unknown",
            detail,
            "",
            (dist_read, ev.bucket_policy),
            codes=("grant.distribution_not_read",),
        )
    detail = (
        "Set PIPELINE_DISTRIBUTION_ID to the distribution serving the bucket: without an id the check cannot know "
        f"which distribution must be granted.{seen}"
    )
    return finding(
        cid,
        Status.SKIP,
        "Not judged: no CloudFront distribution configured",
        detail,
        "",
        (ev.bucket_policy,),
        codes=("grant.no_distribution_configured",),
    )


def _cdn_fix(
    ev: Evidence, loaded: _LoadedPolicy, result: cloudfront_grant.GrantResult | None, arn: str, oac: bool
) -> Fix:
    """The policy with near-miss statements replaced by the secure OAC grant (other statements kept); a remedy
    unless the distribution must first move from its OAI to OAC (more than one call)."""
    drop: set[int] = set()
    for miss in result.near_misses if result is not None else ():
        if miss.code in _REPLACED or (miss.code is _NM.LEGACY_OAI and oac):
            drop.add(miss.statement.index)
    granted = result is not None and result.granted
    add = [] if granted else [oac_grant(str(ev.target.bucket), arn, _free_sid(loaded.raw, drop))]
    notes = []
    if result is not None and _NM.LEGACY_OAI in result.codes and not oac:
        notes += [
            "# migrate the distribution from its OAI to Origin Access Control, then drop the OAI statement:",
            "aws cloudfront create-origin-access-control --origin-access-control-config "
            f"Name={shlex.quote(str(ev.target.bucket))}-oac,SigningProtocol=sigv4,SigningBehavior=always,"
            "OriginAccessControlOriginType=s3",
            '# set the origin\'s OriginAccessControlId to the new id and S3OriginConfig.OriginAccessIdentity to "" '
            "(aws cloudfront update-distribution)",
        ]
    change = None if notes else f"{policy_change(loaded.raw, drop, add)} (CloudFront {arn} may read every object)"
    return bucket_policy_fix(ev, policy_document(loaded.raw, drop, add), notes, change=change, based_on=loaded.raw)


def judge_cdn_read_grant(ev: Evidence) -> Finding:
    """bucket.cdn_read_grant: the bucket policy lets the configured distribution read every object through OAC."""
    cid = BUCKET_CDN_READ_GRANT
    loaded = _load_bucket_policy(ev, cid)
    arn, source = distribution_arn(ev, loaded.parsed)
    if ev.target.distribution_id and loaded.problem is not None:
        return loaded.problem
    if not ev.target.distribution_id or arn is None:
        return _no_distribution(ev, loaded)
    evidence = (ev.bucket_policy, ev.distribution)
    oac = "oac" in _origin_access(ev)
    if loaded.parsed is None:
        detail = f"There is no bucket policy, so CloudFront ({arn}, {source}) gets 403 AccessDenied for every object."
        fix = _cdn_fix(ev, loaded, None, arn, oac)
        return finding(
            cid,
            Status.FAIL,
            "No bucket policy: CloudFront cannot read the bucket",
            detail,
            fix,
            evidence,
            codes=("grant.no_policy",),
        )
    try:
        result = cloudfront_grant.cloudfront_read_grant(loaded.parsed, str(ev.target.bucket), arn)
    except iam.PolicyError as err:
        return unparsable(cid, "the bucket policy", str(err), evidence)
    status, title = _grant_verdict(result, oac)
    dist_read = ev.distribution
    oac_unread = distribution_config(ev) is None and isinstance(dist_read, ConfigRead)
    # an OAI grant is a warning when the distribution uses that OAI, a failure when it uses OAC: read it to know
    if oac_unread and status is not Status.PASS and _NM.LEGACY_OAI in result.codes and is_denied(dist_read):
        also = "The bucket grants a legacy Origin Access Identity; whether the distribution still uses it is unknown."
        return denied_finding(
            cid,
            dist_read,
            "the distribution (how its origin signs)",
            arn,
            default_call="cloudfront:GetDistribution",
            also=also,
            evidence=(ev.bucket_policy,),
        )
    lines = [f"distribution {arn} ({source})", *(m.detail for m in result.near_misses)]
    lines += [f"statement {s.label}: {quote_statement(loaded.raw, s)}" for s in result.statements]
    for miss in result.near_misses:
        lines.append(f"statement {miss.statement.label}: {quote_statement(loaded.raw, miss.statement)}")
    detail = "\n".join(dict.fromkeys(lines))
    fix = Fix("") if status is Status.PASS else _cdn_fix(ev, loaded, result, arn, oac)
    return finding(cid, status, title, detail, fix, evidence, codes=_grant_codes(result, status))


def _grant_codes(result: cloudfront_grant.GrantResult, status: Status) -> tuple[str, ...]:
    """``grant.ok`` when granted cleanly; else the near misses' codes (``grant.other_distribution`` ...)."""
    codes = tuple(f"grant.{code}" for code in result.codes)
    if status is Status.PASS:
        return ("grant.ok",)
    return codes if result.granted or codes else ("grant.missing",)


def _grant_verdict(result: cloudfront_grant.GrantResult, oac: bool) -> tuple[Status, str]:
    codes = result.codes
    if result.granted:
        if _NM.NO_SOURCE_ARN in codes:
            return Status.WARN, "The distribution is granted, but another statement lets any distribution read"
        return Status.PASS, "CloudFront may read every object through Origin Access Control"
    if _NM.DENIED in codes:
        return Status.FAIL, "A Deny statement stops CloudFront from reading the objects"
    if _NM.NO_SOURCE_ARN in codes:
        return Status.WARN, "CloudFront's grant has no AWS:SourceArn: any distribution in any account could read"
    if _NM.LEGACY_OAI in codes and not oac:
        return Status.WARN, "The bucket grants a legacy Origin Access Identity: migrate to Origin Access Control"
    if _NM.LEGACY_OAI in codes:
        return Status.FAIL, "The bucket grants a legacy OAI, but the distribution uses Origin Access Control"
    if _NM.OTHER_DISTRIBUTION in codes:
        return Status.FAIL, "The bucket grants CloudFront read for another distribution, not this one"
    if _NM.PUBLIC_READ in codes:
        return Status.FAIL, "No Origin Access Control grant: CloudFront reads only through a public grant"
    if codes:
        return Status.FAIL, "CloudFront's grant does not cover this distribution reading every object"
    return Status.FAIL, "The bucket policy does not let the distribution read the objects"


#: the checks of this hop, with their metadata (README's tables are generated from it)
CHECKS: tuple[Check, ...] = (
    Check(
        BUCKET_CORS,
        "Bucket CORS rules allow the app's PUT",
        frozenset({"bucket_config", "presign"}),
        judge_cors,
        impact=Impact.UPLOAD,
        description=(
            "the stored rules allow PUT with `content-type` from each app origin (S3's algorithm), POST when the "
            "endpoint hands out a presigned POST; `ExposeHeaders` ETag as a warning"
        ),
        permissions=("s3:GetBucketCors",),
        codes=(
            "origins.not_configured",
            "cors.not_read",
            "cors.unexpected_shape",
            "cors.not_configured",
            "cors.origin_missing",
            "cors.method_missing",
            "cors.header_missing",
            "cors.no_rules",
            "cors.rule_*",
            "cors.allowed",
        ),
        docs="https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html",
    ),
    Check(
        BUCKET_CORS_PREFLIGHT,
        "S3 answers the browser's preflight",
        frozenset({"bucket_preflight", "bucket_config", "presign"}),  # the stored rules make the fix a merge
        judge_cors_preflight,
        impact=Impact.UPLOAD,
        description="a live OPTIONS to an object URL per origin (`skip` for a presigned POST: no preflight)",
        permissions=("s3:GetBucketCors",),
        codes=(
            "origins.not_configured",
            "preflight.not_sent",
            "preflight.no_answer",
            "preflight.refused",
            "preflight.misaddressed",
            "preflight.not_applicable",
            "preflight.allowed",
        ),
        docs="https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors-troubleshooting.html",
        depends_on=(BUCKET_CORS,),
    ),
    Check(
        BUCKET_PUBLIC_WRITE,
        "Nobody can write without a presigned URL",
        frozenset({"bucket_config", "distribution"}),  # the fix adds the OAC grant the public one stood in for
        judge_public_write,
        impact=Impact.EXPOSURE,
        description="any grant of `s3:PutObject`/`s3:*` to everyone (the seed's policy fails)",
        permissions=("s3:GetBucketPolicy", "s3:GetBucketPublicAccessBlock", "cloudfront:GetDistribution"),
        codes=(
            "policy.unparsable",
            "policy.no_principals",
            "bpa.not_read",
            "public_write.public_put",
            "public_write.dormant_grant",
            "public_write.no_policy",
            "public_write.no_public_grant",
        ),
        docs="https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-policy-status",
    ),
    Check(
        BUCKET_PUBLIC_READ,
        "Objects are not readable without the CDN",
        frozenset({"bucket_config", "canary", "distribution"}),
        judge_public_read,
        impact=Impact.EXPOSURE,
        description="objects readable without the CDN (policy, and a live anonymous GET)",
        permissions=("s3:GetBucketPolicy", "s3:GetBucketPublicAccessBlock", "cloudfront:GetDistribution"),
        codes=(
            "policy.unparsable",
            "policy.no_principals",
            "bpa.not_read",
            "public_read.anonymous_get",
            "public_read.policy_grant",
            "public_read.dormant_grant",
            "public_read.grant_denied_live",
            "public_read.none",
        ),
        docs="https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-policy-status",
    ),
    Check(
        BUCKET_PUBLIC_ACCESS_BLOCK,
        "Block Public Access is on",
        frozenset({"bucket_config"}),
        judge_public_access_block,
        impact=Impact.EXPOSURE,
        description="all four Block Public Access settings on",
        permissions=("s3:GetBucketPublicAccessBlock",),
        codes=(
            "bpa.not_read",
            "bpa.not_configured",
            "bpa.unexpected_value",
            "bpa.policy_settings_off",
            "bpa.acl_settings_off",
            "bpa.on",
        ),
        docs="https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html",
    ),
    Check(
        BUCKET_CDN_READ_GRANT,
        "CloudFront (OAC) may read the bucket",
        frozenset({"bucket_config", "distribution"}),
        judge_cdn_read_grant,
        impact=Impact.DISPLAY,
        description=(
            "a statement lets this distribution read, `AWS:SourceArn` matching its ARN (other distribution, "
            "legacy OAI, no SourceArn named)"
        ),
        permissions=("s3:GetBucketPolicy", "cloudfront:GetDistribution"),
        codes=(
            "policy.unparsable",
            "policy.no_principals",
            "grant.no_distribution_configured",
            "grant.distribution_unknown",
            "grant.distribution_not_read",
            "grant.no_policy",
            "grant.missing",
            *(f"grant.{code}" for code in cloudfront_grant.NearMissCode),
            "grant.ok",
        ),
        docs="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html",
    ),
)
