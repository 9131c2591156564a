"""Checks of the CloudFront hop: the canary reads through the CDN (status, cache state, Cache-Control,
Content-Encoding), the bucket refusing anonymous reads around it, and the distribution's configuration.
Pure judges over ``Evidence.canary`` and ``Evidence.distribution``.

Ids: ``cdn.read``, ``cdn.cache_hit``, ``cdn.cache_control``, ``cdn.compression``, ``cdn.direct_s3_blocked``,
``cdn.config``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, TypeGuard

from services.aws_model import cache_control, kms
from services.aws_model.cloudfront_cors import CACHING_OPTIMIZED  # the managed CachingOptimized cache policy
from services.aws_model.s3errors import parse_s3_error
from services.checks import missing_key
from services.checks.denied import denied_finding, is_denied
from services.checks.evidence import Canary, Evidence
from services.checks.findings import Tally, finding
from services.checks.model import Check, ConfigRead, Exchange, Finding, Impact, ReadState, Status
from services.checks.policy_docs import best_distribution_arn, cdn_grant
from services.checks.scrub import evidence_items as _evidence
from services.checks.stored_objects import LONG_CACHE, recopy_command, repair_commands
from services.core.redact import redact_text, redact_url
from services.pipeline.explain import SIGNED_HEADER_RULE, Existence, explain_cdn

#: this module's check ids, each written once: its judge and its entry in CHECKS use the name
CDN_CACHE_CONTROL = "cdn.cache_control"
CDN_CACHE_HIT = "cdn.cache_hit"
CDN_COMPRESSION = "cdn.compression"
CDN_CONFIG = "cdn.config"
CDN_DIRECT_S3_BLOCKED = "cdn.direct_s3_blocked"
CDN_READ = "cdn.read"

#: the anonymous read met a key that does not exist: its 403 says nothing about stored objects
DIRECT_NOT_STORED = "direct.not_stored"

MIN_MAX_AGE = 86_400  # a day: uuid keys never change, so anything shorter only costs origin fetches
TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9a-z]+$")
READ_ONLY_METHODS = ({"GET", "HEAD"}, {"GET", "HEAD", "OPTIONS"})
SECURE_VIEWER_POLICIES = ("redirect-to-https", "https-only")


def _ok(exchange: Exchange | None) -> bool:
    return exchange is not None and exchange.status is not None and 200 <= exchange.status < 300


def _answered(exchange: Exchange | None) -> TypeGuard[Exchange]:
    return exchange is not None and exchange.status is not None


def _excerpt(text: str | None, limit: int = 160) -> str:
    text = redact_text(" ".join((text or "").split()))
    return text if len(text) <= limit else text[:limit] + "…"


def _answer(exchange: Exchange) -> str:
    """``HTTP 403 AccessDenied (X-Cache: Error from cloudfront, Age: 4)`` / ``no answer (…)``."""
    if exchange.status is None:
        return f"no answer ({_excerpt(exchange.error or 'no error recorded', 120)})"
    code = parse_s3_error(exchange.body).code
    shown = [f"{name}: {value}" for name in ("X-Cache", "Age") if (value := exchange.header(name)) is not None]
    return f"HTTP {exchange.status}" + (f" {code}" if code else "") + (f" ({', '.join(shown)})" if shown else "")


def _dig(doc: Any, *path: str) -> Any:
    for name in path:
        if not isinstance(doc, Mapping):
            return None
        doc = doc.get(name)
    return doc


def _no_canary(cid: str, what: str) -> Finding:
    return finding(
        cid,
        Status.UNKNOWN,
        f"No {what} to judge",
        "The canary did not get this far; see upload.roundtrip.",
        codes=("canary.not_this_far",),
    )


def _distribution_id(ev: Evidence) -> str:
    return ev.target.distribution_id or "<distribution-id>"


def _update_distribution(dist_id: str, changes: dict[str, Any]) -> str:
    """The CLI round trip that changes some fields of a distribution's configuration."""
    return (
        f"aws cloudfront get-distribution-config --id {dist_id} > dist.json\n"
        "# copy dist.json's DistributionConfig to config.json and change these fields:\n"
        f"{json.dumps(changes, indent=2)}\n"
        f"aws cloudfront update-distribution --id {dist_id} --if-match <ETag from dist.json> "
        "--distribution-config file://config.json"
    )


def _invalidate(ev: Evidence, key: str | None) -> str:
    return f"aws cloudfront create-invalidation --distribution-id {_distribution_id(ev)} --paths '/{key or '<key>'}'"


# --- cdn.read ---------------------------------------------------------------------------------------------


def _grant(ev: Evidence) -> str:
    return json.dumps(cdn_grant(ev))


def judge_read(ev: Evidence) -> Finding:
    """The canary object comes back through the CDN, 200 with the uploaded bytes."""
    cid = CDN_READ
    canary = ev.canary
    cdn = canary.cdn_first if canary is not None else None
    if canary is None or cdn is None:
        return _no_canary(cid, "CDN read")
    evidence = _evidence(cdn)
    url = redact_url(cdn.url)
    if cdn.status is None:
        return finding(
            cid,
            Status.FAIL,
            "The CDN did not answer",
            f"GET {url} → {_answer(cdn)}.",
            "Check PIPELINE_CDN_URL: https://<distribution-domain> (aws cloudfront get-distribution --id "
            f"{_distribution_id(ev)} --query Distribution.DomainName).",
            evidence,
            codes=("cdn.no_answer",),
        )
    if _ok(cdn):
        return _judge_bytes(ev, canary, cdn, evidence)
    message = parse_s3_error(cdn.body).message
    if cdn.status == 403 and message == kms.CIPHERTEXT_DENIED:
        detail = (
            f"GET {url} → {_answer(cdn)}. {explain_cdn(cdn.status, cdn.header('X-Cache'), cdn.header('Age'), message)}"
        )
        fix = (
            "Let CloudFront kms:Decrypt with the bucket's key: the check bucket.cdn_kms_grant gives the key policy "
            f"and its aws kms put-key-policy command. Then clear the cached error:\n{_invalidate(ev, canary.key)}"
        )
        return finding(
            cid,
            Status.FAIL,
            f"The CDN read failed: {_answer(cdn)}: KMS refused CloudFront",
            redact_text(detail),
            fix,
            evidence,
            codes=("cdn.kms_denied",),
        )
    if cdn.status in (403, 404):
        return _refused(ev, canary, cdn)
    detail = f"GET {url} → {_answer(cdn)}. {explain_cdn(cdn.status, cdn.header('X-Cache'), cdn.header('Age'))}"
    return finding(
        cid,
        Status.FAIL,
        f"The CDN read failed: {_answer(cdn)}",
        redact_text(detail),
        f"Check the distribution's origin (aws cloudfront get-distribution --id {_distribution_id(ev)}).",
        evidence,
        codes=("cdn.error",),
    )


def _refused(ev: Evidence, canary: Canary, cdn: Exchange) -> Finding:
    """A 403 or 404: the grant, or a missing object (a 403 too, to a CloudFront that may not list the bucket), as
    the console's own HeadObject of the key tells (services/checks/missing_key.py)."""
    x_cache, age = cdn.header("X-Cache"), cdn.header("Age")
    cause = missing_key.cause(ev, canary, cdn.status or 0, x_cache, age)
    detail = f"GET {redact_url(cdn.url)} → {_answer(cdn)}. {cause}"
    if (x_cache or "").lower().startswith("error from cloudfront") and not age:
        detail += (
            " CloudFront caches errors for the error-caching TTL (10 s by default, per distribution "
            "CustomErrorResponses): the error may persist after the fix, until an invalidation."
        )
    missing = missing_key.missing_fix(ev, canary)
    title = f"The CDN read failed: {_answer(cdn)}"
    if missing is not None:
        title += f": the object {canary.key!r} does not exist"
    return finding(
        CDN_READ,
        Status.FAIL,
        title,
        redact_text(detail),
        missing if missing is not None else missing_key.grant_fix(ev, canary),
        _evidence(cdn, canary.head),
        codes=(
            *(() if missing is not None else ({403: "cdn.forbidden", 404: "cdn.not_found"}[cdn.status or 403],)),
            *missing_key.codes(ev, canary),
        ),
    )


def _judge_bytes(ev: Evidence, canary: Canary, cdn: Exchange, evidence: tuple[Any, ...]) -> Finding:
    cid = CDN_READ
    seen = f"GET {redact_url(cdn.url)} → {_answer(cdn)}"
    if not canary.sha256 or not canary.cdn_body_sha256:
        return finding(
            cid,
            Status.UNKNOWN,
            f"The CDN answered {cdn.status}, but the bytes were not compared",
            f"{seen}.",
            "",
            evidence,
            codes=("cdn.bytes_not_compared",),
        )
    if canary.sha256 != canary.cdn_body_sha256:
        return finding(
            cid,
            Status.FAIL,
            "The CDN serves other bytes than were uploaded",
            f"{seen}; sha256 uploaded {canary.sha256}, served {canary.cdn_body_sha256}. A stale object under the "
            "same key, or something re-encoding it.",
            _invalidate(ev, canary.key),
            evidence,
            codes=("cdn.other_bytes",),
        )
    return finding(
        cid,
        Status.PASS,
        "The CDN serves the uploaded object",
        f"{seen}; sha256 {canary.sha256} matches.",
        "",
        evidence,
        codes=("cdn.serves_object",),
    )


# --- cdn.cache_hit ----------------------------------------------------------------------------------------


def judge_cache_hit(ev: Evidence) -> Finding:
    """A repeat read is a cache hit: CloudFront serves the object without going back to S3."""
    cid = CDN_CACHE_HIT
    canary = ev.canary
    first = canary.cdn_first if canary is not None else None
    second = canary.cdn_second if canary is not None else None
    if canary is None or second is None or second.status is None:
        return _no_canary(cid, "repeat CDN read")
    evidence = _evidence(first, second)
    reads = [x for x in (first, second) if _answered(x)]
    if all(x.header("X-Cache") is None for x in reads):
        via = second.header("Via") or "(none)"
        return finding(
            cid,
            Status.FAIL,
            "Not served by CloudFront: PIPELINE_CDN_URL points elsewhere",
            f"GET {redact_url(second.url)} → HTTP {second.status} with no X-Cache header (Via: {via}).",
            f"Set PIPELINE_CDN_URL to the distribution's domain: aws cloudfront get-distribution --id "
            f"{_distribution_id(ev)} --query Distribution.DomainName",
            evidence,
            codes=("cache.not_cloudfront",),
        )
    if not _ok(second):
        return finding(
            cid,
            Status.UNKNOWN,
            f"The repeat CDN read failed ({_answer(second)})",
            "Caching of the object cannot be judged; see cdn.read.",
            "",
            evidence,
            codes=("cache.repeat_read_failed",),
        )
    x_cache = (second.header("X-Cache") or "(none)").strip()
    state = x_cache.split(" ", 1)[0].lower()
    age = second.header("Age")
    first_state = (first.header("X-Cache") if first is not None and first.status is not None else None) or "(none)"
    seen = f"First read X-Cache: {first_state}; repeat read X-Cache: {x_cache}, Age: {age or '(none)'}."
    fix = (
        "Give the object a long Cache-Control (cdn.cache_control) and the default cache behaviour a caching policy, "
        f"e.g. the managed CachingOptimized ({CACHING_OPTIMIZED}): aws cloudfront get-distribution-config --id "
        f"{_distribution_id(ev)}, set DefaultCacheBehavior.CachePolicyId, then update-distribution."
    )
    if state == "hit":
        return finding(
            cid,
            Status.PASS,
            f"The repeat read is a cache hit (Age {age or 'not sent'})",
            seen,
            "",
            evidence,
            codes=("cache.hit",),
        )
    if state == "refreshhit":
        return finding(
            cid,
            Status.WARN,
            "The repeat read was revalidated with S3 (RefreshHit)",
            f"{seen} The cached copy had expired: its TTL is very short (max-age, or the cache policy's MinTTL).",
            fix,
            evidence,
            codes=("cache.refresh_hit",),
        )
    if state == "miss":
        twice = first_state.lower().startswith("miss")
        return finding(
            cid,
            Status.WARN,
            "Missed the cache twice" if twice else "The repeat read missed the cache",
            f"{seen} CloudFront did not keep the object: a TTL of 0, Cache-Control no-store/private/max-age=0, or the "
            "cache policy CachingDisabled. (A different edge location can also miss.)",
            fix,
            evidence,
            codes=("cache.missed_twice" if twice else "cache.miss",),
        )
    return finding(
        cid,
        Status.WARN,
        f"Unexpected cache state: {x_cache}",
        f"{seen}",
        fix,
        evidence,
        codes=("cache.unexpected_state",),
    )


# --- cdn.cache_control ------------------------------------------------------------------------------------


def _stored_cache_control(head: ConfigRead | None) -> str:
    """What the stored object (HeadObject) says about its Cache-Control, as a sentence; empty when it was not read."""
    if not isinstance(head, ConfigRead) or head.state is not ReadState.OK or not isinstance(head.value, Mapping):
        return ""
    raw = head.value.get("CacheControl")
    said = f"Cache-Control {raw!r}" if isinstance(raw, str) and raw.strip() else "no Cache-Control"
    return (
        f" The stored object (HeadObject) has {said}; CloudFront may add or replace it (a response headers policy), "
        "so only a served reply is judged."
    )


def _cdn_read_failed(cid: str, canary: Canary) -> Finding:
    """Unknown, not a verdict on an absent header: what the CDN sends is seen only when its read works."""
    cdn = canary.cdn_first
    seen = f"GET {redact_url(cdn.url)} → {_answer(cdn)}" if cdn is not None else "No CDN read was recorded"
    return finding(
        cid,
        Status.UNKNOWN,
        "Cannot judge: the CDN read failed, so the Cache-Control it sends is unknown",
        f"{seen}; see cdn.read.{_stored_cache_control(canary.head)}",
        "",
        _evidence(cdn, canary.head),
        codes=("cache_control.cdn_read_failed",),
    )


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _cache_control_fix(ev: Evidence) -> str:
    """New uploads get it from the function; the objects already stored, from the console's repair."""
    return "\n".join(
        [
            f"Cache-Control: {LONG_CACHE}",
            f'Set it at upload: the function\'s Params={{..., "CacheControl": "{LONG_CACHE}"}} (it becomes a signed '
            f"header, so the web app's PUT must send Cache-Control: {LONG_CACHE} too: {SIGNED_HEADER_RULE}; "
            "presign.url says whether it does, from PIPELINE_CLIENT_PUT_HEADERS), and give it to the objects already "
            "stored with the console's repair (it keeps their other headers and invalidates what it changed at the "
            "CDN):",
            *repair_commands(ev.target, LONG_CACHE),
        ]
    )


def judge_cache_control(ev: Evidence) -> Finding:
    """Objects (unique uuid keys, never rewritten) carry a long Cache-Control."""
    cid = CDN_CACHE_CONTROL
    canary = ev.canary
    if canary is None:
        return _no_canary(cid, "Cache-Control")
    cdn = canary.cdn_first
    if cdn is None or not _ok(cdn):
        return _cdn_read_failed(cid, canary)
    value, where = cdn.header("Cache-Control"), "the CDN's reply"
    evidence = _evidence(cdn)
    fix = _cache_control_fix(ev)
    if value is None or not value.strip():
        return finding(
            cid,
            Status.WARN,
            "No Cache-Control on the images",
            f"{_capital(where)} has no Cache-Control: CloudFront uses the distribution's default TTL and browsers "
            "guess (heuristic freshness), though uuid keys never change.",
            fix,
            evidence,
            codes=("cache_control.missing",),
        )
    directives, problems = cache_control.parse_cache_control(value)
    quoted = f"{_capital(where)}: Cache-Control: {value!r}."
    extra = f" Parse problems: {'; '.join(problems)}." if problems else ""
    for name, why in (
        ("no-store", "Neither browsers nor (with MinTTL 0) CloudFront keep the image"),
        ("private", "Shared caches such as CloudFront must not keep the image"),
    ):
        if name in directives:
            return finding(
                cid,
                Status.FAIL,
                f"Images are sent with Cache-Control {name}",
                f"{quoted} {why}.{extra}",
                fix,
                evidence,
                codes=(f"cache_control.{name.replace('-', '_')}",),
            )
    if "no-cache" in directives:
        return finding(
            cid,
            Status.WARN,
            "Images are sent with Cache-Control no-cache",
            f"{quoted} Every view revalidates with the origin, though the object never changes.{extra}",
            fix,
            evidence,
            codes=("cache_control.no_cache",),
        )
    raw_age = directives.get("max-age")
    max_age = cache_control.seconds(raw_age)
    if max_age is None:
        what = "has no max-age" if "max-age" not in directives else f"max-age={raw_age!r} is not a number of seconds"
        return finding(
            cid,
            Status.WARN,
            f"Cache-Control {what}",
            f"{quoted} Browsers fall back to heuristics.{extra}",
            fix,
            evidence,
            codes=("cache_control.no_max_age" if "max-age" not in directives else "cache_control.bad_max_age",),
        )
    if max_age < MIN_MAX_AGE:
        return finding(
            cid,
            Status.WARN,
            f"Cache-Control max-age={max_age} is short for images that never change",
            f"{quoted} Keys are unique uuids, so an object can be cached for a year; {max_age} s only costs "
            f"origin fetches.{extra}",
            fix,
            evidence,
            codes=("cache_control.short_max_age",),
        )
    note = "" if "immutable" in directives else " Adding immutable spares browsers revalidation on reload."
    status = Status.WARN if problems else Status.PASS
    title = f"Images are cached for {max_age} s" + (" (with parse problems)" if problems else "")
    return finding(
        cid,
        status,
        title,
        f"{quoted}{note}{extra}",
        fix if problems else "",
        evidence,
        codes=("cache_control.syntax" if problems else "cache_control.long",),
    )


# --- cdn.compression --------------------------------------------------------------------------------------


def _compress_setting(read: ConfigRead | None) -> tuple[bool | None, str]:
    """(DefaultCacheBehavior.Compress, why unknown)."""
    if not isinstance(read, ConfigRead):
        return None, "the distribution was not read"
    if read.state is not ReadState.OK:
        return None, f"{read.call} → {read.state}{' ' + read.code if read.code else ''}"
    value = read.value
    config = _dig(value, "DistributionConfig") if _dig(value, "DistributionConfig") is not None else value
    compress = _dig(config, "DefaultCacheBehavior", "Compress")
    return (compress if isinstance(compress, bool) else None), "DefaultCacheBehavior.Compress not in the reply"


def _unencoded_fix(ev: Evidence) -> str:
    """The PNGs stored with a Content-Encoding, stored again without it. Not the console's repair, which keeps each
    object's Content-Encoding; nor CloudFront's Compress setting, which is not the cause."""
    # image/png is not among the types CloudFront compresses, and an origin's reply that has a Content-Encoding is
    # passed on and cached as it is, never compressed again: the header came from the stored object
    # (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/ServingCompressedFiles.html)
    return "\n".join(
        [
            "Re-copy the PNGs without Content-Encoding (the copy keeps only the metadata it names, so it names the "
            "Cache-Control too):",
            recopy_command(str(ev.target.bucket), "png", "image/png", LONG_CACHE),
            "then invalidate the CDN's copies, which keep the old headers until they expire:",
            _invalidate(ev, "*"),
        ]
    )


def judge_compression(ev: Evidence) -> Finding:
    """Compression is on for compressible types, and a PNG is not re-compressed."""
    cid = CDN_COMPRESSION
    canary = ev.canary
    live = canary.cdn_gzip if canary is not None else None
    live = live if _answered(live) else None
    if ev.target.distribution_id is None and live is None:
        return finding(
            cid,
            Status.SKIP,
            "Nothing to judge compression by",
            "No distribution id (PIPELINE_DISTRIBUTION_ID) and no CDN read with Accept-Encoding.",
            codes=("compression.nothing_to_judge",),
        )
    compress, why = _compress_setting(ev.distribution) if ev.target.distribution_id else (None, "no distribution id")
    tally = Tally()
    fix = ""
    if compress is True:
        tally.note("DefaultCacheBehavior.Compress is true.")
    elif compress is False:
        tally.warn(
            "compression.off",
            "DefaultCacheBehavior.Compress is false: SVG and JSON would be sent uncompressed (PNG/JPEG never are).",
        )
        fix = _update_distribution(_distribution_id(ev), {"DefaultCacheBehavior": {"Compress": True}})
    else:
        tally.note(f"Compress setting unknown ({why}).")
    if live is not None:
        encoding = (live.header("Content-Encoding") or "").strip().lower()
        content_type = live.header("Content-Type") or "(none)"
        if encoding and encoding != "identity":
            tally.fail(
                "compression.png_encoded",
                f"The PNG came back with Content-Encoding: {encoding} (Content-Type {content_type}): images are "
                "already compressed; the object was probably stored with Content-Encoding metadata.",
            )
            fix = "\n\n".join(part for part in (_unencoded_fix(ev), fix) if part)
        else:
            tally.note(
                f"With Accept-Encoding: gzip, br the PNG came back uncompressed (HTTP {live.status}), as it should."
            )
    evidence = _evidence(ev.distribution, live)
    detail = tally.detail()
    if tally.fails:
        # a browser decodes the body by its Content-Encoding: the image breaks, so this is display, not speed
        return finding(
            cid,
            Status.FAIL,
            "A PNG is served with a Content-Encoding",
            detail,
            fix,
            evidence,
            impact=Impact.DISPLAY,
            codes=tally.codes,
        )
    if tally.warns:
        return finding(cid, Status.WARN, "CloudFront compression is off", detail, fix, evidence, codes=tally.codes)
    dist_read = ev.distribution
    unread = (
        ev.target.distribution_id is not None
        and isinstance(dist_read, ConfigRead)
        and dist_read.state in (ReadState.DENIED, ReadState.ERROR)
    )
    if unread and is_denied(ev.distribution):
        also = " ".join(tally.notes)
        return denied_finding(
            cid,
            ev.distribution,
            "the distribution's compression setting",
            best_distribution_arn(ev),
            default_call="cloudfront:GetDistribution",
            also=redact_text(also),
            evidence=evidence,
        )
    if unread or (compress is None and live is None):
        return finding(
            cid,
            Status.UNKNOWN,
            "Could not read the compression setting",
            detail,
            "",
            evidence,
            codes=("compression.setting_unknown",),
        )
    title = "Compression is on; PNGs are served as stored" if compress else "PNGs are served as stored"
    return finding(cid, Status.PASS, title, detail, "", evidence, codes=("compression.ok",))


# --- cdn.direct_s3_blocked --------------------------------------------------------------------------------


def judge_direct_s3_blocked(ev: Evidence) -> Finding:
    """An anonymous GET straight to S3 is refused: the CDN is the only way to read."""
    cid = CDN_DIRECT_S3_BLOCKED
    canary = ev.canary
    direct = canary.direct_s3 if canary is not None else None
    if canary is None or direct is None:
        return _no_canary(cid, "anonymous S3 read")
    evidence = _evidence(direct)
    seen = f"Anonymous GET {redact_url(direct.url)} → {_answer(direct)}."
    if direct.status is None:
        return finding(
            cid, Status.UNKNOWN, "The anonymous S3 read got no answer", seen, "", evidence, codes=("direct.no_answer",)
        )
    bucket = ev.target.bucket
    lock = (
        f"aws s3api put-public-access-block --bucket {bucket} --public-access-block-configuration "
        "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true\n"
        f'and keep only the CloudFront grant in the bucket policy (no "Principal": "*" statement):\n{_grant(ev)}'
    )
    if direct.status == 403 and missing_key.existence(canary.head) is Existence.MISSING:
        return finding(
            cid,
            Status.UNKNOWN,
            "The anonymous S3 read proves nothing: the object read does not exist",
            f"{seen} The console's own HeadObject of {canary.key!r} answered 404, and S3 answers 403 for a missing "
            "key to anyone who may not s3:ListBucket: whether stored objects are readable around the CDN is not "
            "known; see cdn.read.",
            "",
            _evidence(direct, canary.head),
            codes=(DIRECT_NOT_STORED,),
        )
    if direct.status == 403:
        return finding(
            cid,
            Status.PASS,
            "S3 refuses anonymous reads: only the CDN serves the images",
            seen,
            "",
            evidence,
            codes=("direct.refused",),
        )
    if 200 <= direct.status < 300:
        return finding(
            cid,
            Status.FAIL,
            "The bucket is readable around the CDN",
            f"{seen} Anyone can read objects straight from S3, bypassing CloudFront (its caching, logging, WAF).",
            lock,
            evidence,
            codes=("direct.readable",),
        )
    if direct.status == 404:
        return finding(
            cid,
            Status.WARN,
            "S3 answers anonymous reads 404, not 403: anonymous callers may list the bucket",
            f"{seen} S3 says NoSuchKey instead of AccessDenied only to callers allowed s3:ListBucket.",
            lock,
            evidence,
            codes=("direct.listable",),
        )
    return finding(
        cid,
        Status.UNKNOWN,
        f"The anonymous S3 read answered HTTP {direct.status}",
        seen,
        "",
        evidence,
        codes=("direct.unexpected_status",),
    )


# --- cdn.config -------------------------------------------------------------------------------------------


def _origins_to_judge(config: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    items = _dig(config, "Origins", "Items")
    origins = [o for o in items if isinstance(o, Mapping)] if isinstance(items, list) else []
    target = _dig(config, "DefaultCacheBehavior", "TargetOriginId")
    chosen = [o for o in origins if o.get("Id") == target]
    return chosen or origins


def _judge_origins(config: Mapping[str, Any], tally: Tally, changes: dict[str, Any]) -> None:
    origins = _origins_to_judge(config)
    if not origins:
        tally.fail("config.no_origins", "The distribution has no origins.")
        return
    for origin in origins:
        name = str(origin.get("Id") or origin.get("DomainName") or "?")
        oac = origin.get("OriginAccessControlId")
        oai = _dig(origin, "S3OriginConfig", "OriginAccessIdentity")
        if isinstance(oac, str) and oac.strip():
            continue
        fixed = {"Id": name, "OriginAccessControlId": "<oac-id>", "S3OriginConfig": {"OriginAccessIdentity": ""}}
        changes.setdefault("Origins", {"Items": []})["Items"].append(fixed)
        if isinstance(oai, str) and oai.strip():
            tally.warn(
                "config.legacy_oai",
                f"Origin {name} uses a legacy Origin Access Identity ({oai}), not Origin Access Control.",
            )
        else:
            tally.fail(
                "config.no_oac",
                f"Origin {name} ({origin.get('DomainName')!r}) has no Origin Access Control: CloudFront reads "
                "the bucket anonymously, so it only works while the bucket is public.",
            )


def _judge_behaviour(config: Mapping[str, Any], tally: Tally, changes: dict[str, Any]) -> None:
    behaviour = _dig(config, "DefaultCacheBehavior")
    behaviour = behaviour if isinstance(behaviour, Mapping) else {}
    wanted: dict[str, Any] = {}
    if behaviour.get("Compress") is not True:
        shown = json.dumps(behaviour.get("Compress"), default=str)
        tally.warn(
            "config.compression_off",
            f"DefaultCacheBehavior.Compress is {shown}: compressible types (SVG, JSON) go out uncompressed.",
        )
        wanted["Compress"] = True
    methods = _dig(behaviour, "AllowedMethods", "Items")
    if isinstance(methods, list):
        allowed = {str(m).upper() for m in methods}
        if allowed not in READ_ONLY_METHODS:
            tally.warn(
                "config.write_methods",
                f"AllowedMethods are {sorted(allowed)}: write methods reach the origin; viewers only need GET, HEAD.",
            )
            wanted["AllowedMethods"] = {
                "Quantity": 2,
                "Items": ["GET", "HEAD"],
                "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]},
            }
    policy = behaviour.get("ViewerProtocolPolicy")
    if policy is not None and policy not in SECURE_VIEWER_POLICIES:
        tally.warn("config.plain_http", f"ViewerProtocolPolicy is {policy!r}: images are also served over plain http.")
        wanted["ViewerProtocolPolicy"] = "redirect-to-https"
    if wanted:
        changes["DefaultCacheBehavior"] = wanted


MIN_USEFUL_TTL = 3600  # below an hour, immutable uuid keys are fetched from S3 again and again


def _judge_ttls(config: Mapping[str, Any], tally: Tally, changes: dict[str, Any]) -> None:
    """Legacy TTL fields (no cache policy attached): a distribution caching for seconds defeats the CDN."""
    behaviour = _dig(config, "DefaultCacheBehavior")
    if not isinstance(behaviour, Mapping) or behaviour.get("CachePolicyId"):
        return  # a cache policy holds the TTLs; cdn.cache_hit judges the live effect
    ttls = {name: behaviour.get(name) for name in ("DefaultTTL", "MaxTTL")}
    short = {name: value for name, value in ttls.items() if isinstance(value, int) and value < MIN_USEFUL_TTL}
    if short:
        shown = ", ".join(f"{name} {value} s" for name, value in short.items())
        tally.fail(
            "config.short_ttl",
            f"The CDN caches for seconds only ({shown}): every image is fetched from S3 again after that, "
            "though uuid keys never change.",
        )
        wanted = changes.setdefault("DefaultCacheBehavior", {})
        wanted.update({"MinTTL": 1, "DefaultTTL": 86_400, "MaxTTL": 31_536_000})


def _oac_note(read: ConfigRead | None) -> list[str]:
    """The OAC document is evidence only (no verdict rests on it): a refused read is said, not judged."""
    if not isinstance(read, ConfigRead) or read.state is ReadState.OK:
        return []
    if read.state is ReadState.DENIED:
        return [
            f"({read.call} was refused: the console's role lacks cloudfront:GetOriginAccessControl, so the OAC's "
            "own settings are not shown; the verdict above rests on the distribution only.)"
        ]
    return [f"({read.call} → {read.state}{' ' + read.code if read.code else ''}: the OAC's settings are not shown.)"]


def judge_config(ev: Evidence) -> Finding:
    """The distribution: Origin Access Control attached, compression on, read-only methods, https for viewers."""
    cid = CDN_CONFIG
    dist_id = ev.target.distribution_id
    read = ev.distribution
    if dist_id is None or (isinstance(read, ConfigRead) and read.state is ReadState.NOT_CONFIGURED):
        return finding(
            cid,
            Status.SKIP,
            "No distribution to read",
            "Set PIPELINE_DISTRIBUTION_ID to check the CloudFront distribution's configuration.",
            codes=("config.no_distribution_id",),
        )
    if not isinstance(read, ConfigRead):
        return finding(
            cid,
            Status.UNKNOWN,
            f"Distribution {dist_id} was not read",
            "No cloudfront:GetDistribution evidence.",
            codes=("config.not_read",),
        )
    evidence = _evidence(read, ev.origin_access_control)
    said = f"{read.call} → {read.state}{' ' + read.code if read.code else ''}: {_excerpt(read.message)}".rstrip(": ")
    if read.state is ReadState.DENIED:
        return denied_finding(
            cid,
            read,
            f"distribution {dist_id}",
            best_distribution_arn(ev),
            default_call="cloudfront:GetDistribution",
            evidence=evidence,
        )
    if read.state is ReadState.MISSING:
        return finding(
            cid,
            Status.FAIL,
            f"No distribution {dist_id}",
            said + ".",
            "Set PIPELINE_DISTRIBUTION_ID to an existing distribution: aws cloudfront list-distributions "
            "--query 'DistributionList.Items[].[Id,DomainName]'",
            evidence,
            codes=("config.no_such_distribution",),
        )
    if read.state is not ReadState.OK or not isinstance(read.value, Mapping):
        return finding(
            cid,
            Status.UNKNOWN,
            f"Could not read distribution {dist_id}",
            said + ".",
            "",
            evidence,
            codes=("config.read_failed",),
        )
    config = read.value.get("DistributionConfig", read.value)
    config = config if isinstance(config, Mapping) else {}
    tally = Tally()
    changes: dict[str, Any] = {}
    _judge_origins(config, tally, changes)
    _judge_behaviour(config, tally, changes)
    _judge_ttls(config, tally, changes)
    for note in _oac_note(ev.origin_access_control):
        tally.note(note)
    detail = tally.detail()
    fix = _update_distribution(dist_id, changes)
    if "Origins" in changes:
        fix = (
            "aws cloudfront create-origin-access-control --origin-access-control-config "
            f"Name={ev.target.bucket}-oac,SigningProtocol=sigv4,SigningBehavior=always,OriginAccessControlOriginType=s3"
            f"\n# its Id is the <oac-id> below; then grant the distribution s3:GetObject in the bucket policy:\n{_grant(ev)}\n"
            + fix
        )
    worst = tally.fails or tally.warns
    if worst:
        title = worst[0].split(": ", 1)[0].rstrip(".") + (f" (and {len(worst) - 1} more)" if len(worst) > 1 else "")
        # an origin without OAC works only while the bucket is public (exposure); TTLs and the rest cost speed
        impact = Impact.EXPOSURE if "Origins" in changes else Impact.SPEED
        return finding(cid, tally.status(), title, detail, fix, evidence, impact=impact, codes=tally.codes)
    return finding(
        cid,
        Status.PASS,
        f"Distribution {dist_id}: OAC attached, compression on, GET/HEAD only, https for viewers",
        "Origins use Origin Access Control; DefaultCacheBehavior: Compress true, read-only methods, "
        f"ViewerProtocolPolicy {_dig(config, 'DefaultCacheBehavior', 'ViewerProtocolPolicy')!r}."
        + "".join(" " + note for note in _oac_note(ev.origin_access_control)),
        "",
        evidence,
        codes=("config.ok",),
    )


#: the checks of this hop, with their metadata (README's tables are generated from it)
CHECKS: tuple[Check, ...] = (
    Check(
        CDN_READ,
        "The CDN serves the uploaded object",
        frozenset({"canary"}),
        judge_read,
        impact=Impact.DISPLAY,
        description=(
            "the CDN serves the object (403 `Error from cloudfront` explained, cached errors and invalidation); a "
            "403/404 told apart by a HeadObject of the key: a missing object (S3 answers 403 for it when CloudFront "
            "may not `s3:ListBucket`), naming the key the URL stored under, or the grant"
        ),
        permissions=("s3:GetObject", "s3:ListBucket"),
        codes=(
            "canary.not_this_far",
            "cdn.no_answer",
            "cdn.forbidden",
            "cdn.kms_denied",
            "cdn.not_found",
            missing_key.OBJECT_MISSING,
            missing_key.KEY_NOT_SIGNED,
            missing_key.EXISTENCE_UNKNOWN,
            "cdn.error",
            "cdn.bytes_not_compared",
            "cdn.other_bytes",
            "cdn.serves_object",
        ),
        docs="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/troubleshooting-response-errors.html",
        depends_on=("upload.roundtrip", "bucket.cdn_read_grant", "bucket.cdn_kms_grant", CDN_CONFIG),
    ),
    Check(
        CDN_CACHE_HIT,
        "Repeat reads hit the CloudFront cache",
        frozenset({"canary"}),
        judge_cache_hit,
        impact=Impact.SPEED,
        description="a repeat GET is a Hit, with `Age`",
        permissions=(),
        codes=(
            "canary.not_this_far",
            "cache.repeat_read_failed",
            "cache.not_cloudfront",
            "cache.miss",
            "cache.missed_twice",
            "cache.refresh_hit",
            "cache.unexpected_state",
            "cache.hit",
        ),
        docs="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cache-hit-ratio.html",
        depends_on=(CDN_READ,),
    ),
    Check(
        CDN_CACHE_CONTROL,
        "Images carry a long Cache-Control",
        frozenset({"canary"}),
        judge_cache_control,
        impact=Impact.SPEED,
        description="a long `Cache-Control` for immutable uuid keys",
        permissions=(),
        codes=(
            "canary.not_this_far",
            "cache_control.cdn_read_failed",
            "cache_control.missing",
            "cache_control.no_store",
            "cache_control.private",
            "cache_control.no_cache",
            "cache_control.no_max_age",
            "cache_control.bad_max_age",
            "cache_control.short_max_age",
            "cache_control.syntax",
            "cache_control.long",
        ),
        docs="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/Expiration.html",
        depends_on=(CDN_READ,),
    ),
    Check(
        CDN_COMPRESSION,
        "Compression is on; PNGs are not re-encoded",
        frozenset({"canary", "distribution"}),
        judge_compression,
        impact=Impact.SPEED,
        description="compression on; PNGs are not re-encoded",
        permissions=("cloudfront:GetDistribution",),
        codes=(
            "compression.nothing_to_judge",
            "compression.png_encoded",
            "compression.off",
            "compression.setting_unknown",
            "compression.ok",
        ),
        docs="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/ServingCompressedFiles.html",
        depends_on=(CDN_READ,),
    ),
    Check(
        CDN_DIRECT_S3_BLOCKED,
        "S3 refuses anonymous reads around the CDN",
        frozenset({"canary"}),
        judge_direct_s3_blocked,
        impact=Impact.EXPOSURE,
        description="S3 refuses anonymous reads: only the CDN serves",
        permissions=(),
        codes=(
            "canary.not_this_far",
            "direct.no_answer",
            "direct.readable",
            "direct.listable",
            "direct.unexpected_status",
            DIRECT_NOT_STORED,
            "direct.refused",
        ),
        docs="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html",
        depends_on=("upload.roundtrip",),
    ),
    Check(
        CDN_CONFIG,
        "Distribution configuration",
        frozenset({"distribution"}),
        judge_config,
        impact=Impact.EXPOSURE,
        description=(
            "OAC attached, compression on, GET/HEAD, HTTPS redirect, TTLs not seconds; needs `PIPELINE_DISTRIBUTION_ID`"
        ),
        permissions=("cloudfront:GetDistribution", "cloudfront:GetOriginAccessControl"),
        codes=(
            "config.no_distribution_id",
            "config.not_read",
            "config.no_such_distribution",
            "config.read_failed",
            "config.no_origins",
            "config.no_oac",
            "config.legacy_oai",
            "config.short_ttl",
            "config.compression_off",
            "config.write_methods",
            "config.plain_http",
            "config.ok",
        ),
        docs="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/distribution-web-values-specify.html",
    ),
)
