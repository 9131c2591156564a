"""CORS at the CDN: a web app that reads images cross-origin (``fetch``, ``<img crossorigin>``, canvas) needs the
CDN to answer ``Access-Control-Allow-Origin`` for each of its origins, and the answer cached for one origin never
served to another. Judged over the canary's reads through the CDN with each app origin's ``Origin`` in turn, after
its plain reads (``Canary.cdn_cors``), and explained by the cache behaviour (``Evidence.distribution``, its custom
policies ``Evidence.cdn_policies``) and the bucket's CORS rules (``Evidence.bucket_cors``). Pure judges.

Whether the web app reads cross-origin is a setting (``PIPELINE_APP_READS_CROSS_ORIGIN``, default false: the
seed's app shows images with a plain ``<img>``, which needs no CORS): while it is off the check is ``skip``.

Id: ``cdn.cors``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.aws_model import cloudfront_cors, s3cors
from services.aws_model.cloudfront_cors import OriginTreatment
from services.checks.denied import denied_finding
from services.checks.evidence import Evidence
from services.checks.findings import Tally, finding
from services.checks.model import Check, ConfigRead, Exchange, Finding, Impact, ReadState, Status
from services.checks.policy_docs import best_distribution_arn
from services.checks.scrub import evidence_items
from services.core.redact import redact_url

CDN_CORS = "cdn.cors"
ALLOW_ORIGIN = "Access-Control-Allow-Origin"
#: the cache policy the fix creates: the managed CachingOptimized's TTLs and compression, with Origin in the key
KEYED_CACHE_POLICY: dict[str, Any] = {
    "Name": "images-origin-in-cache-key",
    "Comment": "CachingOptimized, plus the viewer's Origin in the cache key: S3's CORS answer per app origin",
    "MinTTL": 1,
    "DefaultTTL": 86_400,
    "MaxTTL": 31_536_000,
    "ParametersInCacheKeyAndForwardedToOrigin": {
        "EnableAcceptEncodingGzip": True,
        "EnableAcceptEncodingBrotli": True,
        "HeadersConfig": {"HeaderBehavior": "whitelist", "Headers": {"Quantity": 1, "Items": ["Origin"]}},
        "CookiesConfig": {"CookieBehavior": "none"},
        "QueryStringsConfig": {"QueryStringBehavior": "none"},
    },
}
#: the legacy cache settings a cache behaviour must lose when it gets a cache policy (CloudFront refuses both)
LEGACY_FIELDS = ("ForwardedValues", "MinTTL", "DefaultTTL", "MaxTTL")


@dataclass(frozen=True)
class Read:
    """One cross-origin read through the CDN, as the browser judges it."""

    origin: str
    exchange: Exchange
    allow_origin: str | None
    vary: tuple[str, ...]

    @property
    def answered(self) -> bool:
        return self.exchange.status is not None and 200 <= self.exchange.status < 300

    @property
    def allowed(self) -> bool:
        return self.allow_origin in ("*", self.origin)

    @property
    def line(self) -> str:
        ex = self.exchange
        if ex.status is None:
            return f"- Origin {self.origin}: no answer ({ex.error or 'no error recorded'})"
        cache = ex.header("X-Cache") or "no X-Cache"
        vary = ", ".join(self.vary) or "none"
        allow = self.allow_origin or "(none)"
        return f"- Origin {self.origin}: HTTP {ex.status} ({cache}), {ALLOW_ORIGIN}: {allow}, Vary: {vary}"


def _read(exchange: Exchange) -> Read:
    origin = next((v for k, v in exchange.request_headers.items() if k.lower() == "origin"), "")
    vary = tuple(v.strip() for v in (exchange.header("Vary") or "").split(",") if v.strip())
    return Read(origin, exchange, exchange.header(ALLOW_ORIGIN), vary)


def _behaviour(ev: Evidence) -> Mapping[str, Any] | None:
    read = ev.distribution
    if not isinstance(read, ConfigRead) or read.state is not ReadState.OK or not isinstance(read.value, Mapping):
        return None
    behaviour = read.value.get("DistributionConfig", {}).get("DefaultCacheBehavior")
    return behaviour if isinstance(behaviour, Mapping) else None


def treatment(ev: Evidence) -> OriginTreatment | None:
    """How the distribution's default cache behaviour treats Origin (None: the distribution was not read)."""
    behaviour = _behaviour(ev)
    if behaviour is None:
        return None
    documents = {pid: read.value for pid, read in ev.cdn_policies.items() if read.state is ReadState.OK and read.value}
    return cloudfront_cors.origin_treatment(behaviour, documents)


def _bucket_rules(ev: Evidence) -> list[Any] | None:
    read = ev.bucket_cors
    if not isinstance(read, ConfigRead):
        return None
    if read.state is ReadState.MISSING:
        return []
    return list(read.value) if read.state is ReadState.OK and isinstance(read.value, list) else None


def _without_get(rules: Sequence[Any], origins: Sequence[str]) -> list[str]:
    """The origins no bucket CORS rule lets GET (S3's algorithm: no Access-Control-Allow-Origin for them)."""
    return [o for o in origins if s3cors.first_match(s3cors.check_rules(rules, o, "GET", ())) is None]


# --- the fix ------------------------------------------------------------------------------------------------------


def _bucket_fix(ev: Evidence, rules: Sequence[Any] | None, missing: Sequence[str]) -> str:
    bucket = ev.target.bucket
    kept = list(rules or [])
    wanted = {"CORSRules": [*kept, {"AllowedMethods": ["GET", "HEAD"], "AllowedOrigins": list(missing)}]}
    return (
        f"Let {', '.join(missing)} GET the images in the bucket's CORS rules (the existing rules kept): "
        f"aws s3api put-bucket-cors --bucket {bucket} --cors-configuration file://cors.json with cors.json:\n"
        f"{json.dumps(wanted, indent=2)}"
    )


def _keyed_fix(dist_id: str) -> str:
    behaviour = {
        "CachePolicyId": "<Id from create-cache-policy>",
        "OriginRequestPolicyId": cloudfront_cors.CORS_S3_ORIGIN,
    }
    return (
        "Either key the cache on Origin, so each app origin gets S3's answer for itself: create a cache policy with "
        "Origin in its cache key (CachingOptimized's TTLs):\n"
        f"aws cloudfront create-cache-policy --cache-policy-config file://cache-policy.json with cache-policy.json:\n"
        f"{json.dumps(KEYED_CACHE_POLICY, indent=2)}\n"
        "and attach it with the managed origin request policy CORS-S3Origin "
        f"({cloudfront_cors.CORS_S3_ORIGIN}), removing {', '.join(LEGACY_FIELDS)} from DefaultCacheBehavior:\n"
        f"aws cloudfront get-distribution-config --id {dist_id} > dist.json\n"
        "# copy dist.json's DistributionConfig to config.json; in DefaultCacheBehavior set:\n"
        f"{json.dumps(behaviour, indent=2)}\n"
        f"aws cloudfront update-distribution --id {dist_id} --if-match <ETag from dist.json> "
        "--distribution-config file://config.json"
    )


def _edge_fix(dist_id: str) -> str:
    behaviour = {"ResponseHeadersPolicyId": cloudfront_cors.SIMPLE_CORS}
    return (
        "Or answer every origin alike at the edge: attach the managed response headers policy SimpleCORS "
        f"({cloudfront_cors.SIMPLE_CORS}; Access-Control-Allow-Origin: *, fine for images anyone may read, not for "
        "credentialed requests), and stop forwarding Origin to S3 (no origin request policy that forwards it, no "
        "Origin in ForwardedValues.Headers): SimpleCORS does not override an Access-Control-Allow-Origin in S3's "
        "reply, so S3's answer for one origin, once cached, would still win. Same round trip, with:\n"
        f"{json.dumps(behaviour, indent=2)}"
    )


def _fix(ev: Evidence, rules: Sequence[Any] | None, missing: Sequence[str], config_wrong: bool) -> str:
    dist_id = ev.target.distribution_id or "<distribution-id>"
    parts = []
    if config_wrong or not missing:
        parts += [_keyed_fix(dist_id), _edge_fix(dist_id)]
    if missing:
        parts.append(_bucket_fix(ev, rules, missing))
    parts.append(
        "Then clear what the edge has cached already: aws cloudfront create-invalidation "
        f"--distribution-id {dist_id} --paths '/*'"
    )
    return "\n\n".join(parts)


# --- the judge ----------------------------------------------------------------------------------------------------


def _judge_reads(reads: Sequence[Read], tally: Tally) -> None:
    for read in reads:
        if not read.answered:
            tally.unknown("cdn_cors.read_failed", f"The read from {read.origin} failed; see cdn.read.")
        elif read.allow_origin is None:
            tally.fail(
                "cdn_cors.allow_origin_missing",
                f"{read.origin} got no {ALLOW_ORIGIN} ({read.exchange.header('X-Cache') or 'no X-Cache'}): the "
                "browser refuses the image to fetch, <img crossorigin> and canvas.",
            )
        elif not read.allowed:
            tally.fail(
                "cdn_cors.other_origin",
                f"{read.origin} got {ALLOW_ORIGIN}: {read.allow_origin} ({read.exchange.header('X-Cache')}): the "
                "reply cached for another origin, which the browser refuses.",
            )
        elif read.allow_origin != "*" and "origin" not in {v.lower() for v in read.vary}:
            tally.warn(
                "cdn_cors.vary_missing",
                f"{read.origin} got {ALLOW_ORIGIN}: {read.allow_origin} without Vary: Origin: a browser or proxy "
                "cache may hand this reply to a page of another origin.",
            )


def _judge_treatment(found: OriginTreatment | None, tally: Tally) -> bool:
    """Add what the cache behaviour says; True when it is itself the cause (Origin not varied, or never sent)."""
    if found is None:
        return False
    said = "; ".join(found.described)
    if found.varies is False and found.forwarded:
        tally.fail(
            "cdn_cors.origin_not_in_cache_key",
            "The cache behaviour sends Origin to S3 but keeps it out of the cache key: whichever request comes "
            "first, from one origin or a plain <img> without Origin, fills the cache for every origin, so "
            f"cross-origin reads fail now and then ({said}).",
        )
        return True
    if found.varies is False and found.forwarded is False and found.edge is None:
        tally.fail(
            "cdn_cors.origin_not_forwarded",
            "The cache behaviour never sends Origin to S3 and adds no CORS header itself: S3 answers without "
            f"Access-Control-Allow-Origin, for every origin ({said}).",
        )
        return True
    if found.varies is None:
        tally.note(f"How the cache behaviour treats Origin is not fully known ({said}).")
    else:
        tally.note(f"The cache behaviour: {said}.")
    return False


def _denied(ev: Evidence) -> ConfigRead | None:
    reads = [ev.distribution, *ev.cdn_policies.values()]
    return next((r for r in reads if isinstance(r, ConfigRead) and r.state is ReadState.DENIED), None)


def judge_cdn_cors(ev: Evidence) -> Finding:
    """Each app origin reading an image through the CDN gets Access-Control-Allow-Origin for itself (or ``*``), and
    the cache behaviour varies the answer on Origin."""
    cid = CDN_CORS
    if not ev.target.app_reads_cross_origin:
        return finding(
            cid,
            Status.SKIP,
            "Not judged: the web app does not read images cross-origin",
            "PIPELINE_APP_READS_CROSS_ORIGIN is false (the seed's app shows images with a plain <img>, which needs "
            "no CORS). Set it to true when the app reads them with fetch, <img crossorigin> or a canvas.",
            codes=("cdn_cors.not_cross_origin",),
        )
    if not ev.target.app_origins:
        detail = "Set PIPELINE_APP_ORIGINS to the web app's origins to have the CDN probed from each."
        return finding(
            cid, Status.SKIP, "Not judged: no app origins configured", detail, codes=("origins.not_configured",)
        )
    canary = ev.canary
    if canary is None or not canary.cdn_cors:
        return finding(
            cid,
            Status.UNKNOWN,
            "No cross-origin CDN read to judge",
            "The canary did not get this far; see upload.roundtrip and cdn.read.",
            codes=("canary.not_this_far",),
        )
    reads = [_read(x) for x in canary.cdn_cors]
    found = treatment(ev)
    rules = _bucket_rules(ev)
    tally = Tally()
    _judge_reads(reads, tally)
    config_wrong = _judge_treatment(found, tally)
    edge_answers = found is not None and found.edge is not None
    missing = [] if rules is None or edge_answers else _without_get(rules, [r.origin for r in reads])
    if missing:
        tally.fail(
            "cdn_cors.bucket_get_missing",
            f"No bucket CORS rule lets {', '.join(missing)} GET: S3 answers them without {ALLOW_ORIGIN}.",
        )
    evidence = evidence_items(*(r.exchange for r in reads), ev.distribution, *ev.cdn_policies.values(), ev.bucket_cors)
    url = redact_url(reads[0].exchange.url)
    seen = [
        f"GET {url} through the CDN, after the plain reads, from each app origin in turn:",
        *(r.line for r in reads),
    ]
    detail = "\n".join([*seen, tally.detail()])
    ok_title = f"Each of {len(reads)} app origin(s) gets Access-Control-Allow-Origin for itself through the CDN"
    if tally.fails:
        fix = _fix(ev, rules, missing, config_wrong)
        return finding(cid, Status.FAIL, tally.title(ok_title), detail, fix, evidence, codes=tally.codes)
    if tally.unknowns:
        return finding(cid, Status.UNKNOWN, tally.title(ok_title), detail, "", evidence, codes=tally.codes)
    denied = _denied(ev)
    if denied is not None:
        return denied_finding(
            cid,
            denied,
            "the distribution's cache behaviour",
            denied.resource or best_distribution_arn(ev),
            default_call=denied.call,
            also="Each app origin got its Access-Control-Allow-Origin this time, but whether the cache keeps the "
            "answers apart by Origin could not be read.",
            evidence=evidence,
        )
    if tally.warns:
        fix = _fix(ev, rules, [], False)
        return finding(cid, Status.WARN, tally.title(ok_title), detail, fix, evidence, codes=tally.codes)
    if ev.target.distribution_id is None:
        detail += "\n(PIPELINE_DISTRIBUTION_ID is not set: the cache behaviour was not read, only the live answers.)"
    return finding(cid, Status.PASS, ok_title, detail, "", evidence, codes=("cdn_cors.allowed",))


CHECKS: tuple[Check, ...] = (
    Check(
        CDN_CORS,
        "The CDN answers CORS for each app origin",
        frozenset({"canary", "distribution", "bucket_config"}),
        judge_cdn_cors,
        impact=Impact.DISPLAY,
        description=(
            "with `PIPELINE_APP_READS_CROSS_ORIGIN`: a GET through the CDN from each app origin in turn, on one "
            "object after its plain reads, gets `Access-Control-Allow-Origin` for itself (or `*`) and `Vary: Origin`; "
            "the cache behaviour keys on Origin (cache policy / legacy headers) or adds CORS at the edge (response "
            "headers policy), and the bucket's CORS lets the origins GET"
        ),
        permissions=(
            "cloudfront:GetDistribution",
            "cloudfront:GetCachePolicy",
            "cloudfront:GetOriginRequestPolicy",
            "cloudfront:GetResponseHeadersPolicy",
            "s3:GetBucketCors",
        ),
        codes=(
            "cdn_cors.not_cross_origin",
            "origins.not_configured",
            "canary.not_this_far",
            "cdn_cors.read_failed",
            "cdn_cors.allow_origin_missing",
            "cdn_cors.other_origin",
            "cdn_cors.origin_not_in_cache_key",
            "cdn_cors.origin_not_forwarded",
            "cdn_cors.bucket_get_missing",
            "cdn_cors.vary_missing",
            "cdn_cors.allowed",
        ),
        docs="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/header-caching.html#header-caching-web-cors",
        depends_on=("cdn.read",),
    ),
)
