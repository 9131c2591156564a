"""CORS at the CDN (check ``cdn.cors``, switch ``cdn-cors-not-varied``): a web app reading images cross-origin gets
Access-Control-Allow-Origin for its own origin from CloudFront, and the reply cached for one origin is never served to
the next. Over HTTP against the sandbox's CDN (two origins in a row), the judge over recorded evidence, and the whole
check against the sandbox with the setting on and off."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from services.aws_model import cloudfront_cors
from services.checks.cdn_cors import CDN_CORS, judge_cdn_cors
from services.checks.evidence import Canary, CheckTarget, Evidence
from services.checks.model import ConfigRead, Exchange, ReadState, Status
from services.checks.runner import run_checks
from services.core.transport import new_session
from services.pipeline.upload import UploadInput, upload_one
from services.sandbox import layout
from services.sandbox.cdn import CachePolicy, edge_cors_headers
from tests.support import assert_codes, http_server, image_bytes

APP, OTHER = layout.APP_ORIGINS
ALLOW = "Access-Control-Allow-Origin"


def uploaded_object(sandbox) -> str:
    """A fresh object in the sandbox bucket, uploaded as the web app does; its CDN URL (nothing cached yet)."""
    grant = requests.get(
        sandbox.endpoints.presign, headers={"x-extension": "png", "Content-Type": "image/png"}, timeout=10
    ).json()
    with new_session() as session:  # the URL's host is *.localhost: the console's session resolves it
        put = session.put(grant["presignedUrl"], data=image_bytes(), headers={"Content-Type": "image/png"}, timeout=10)
    assert put.status_code == 200, put.text
    return f"{sandbox.endpoints.cdn}/{grant['key']}"


def read(url: str, origin: str | None = None) -> requests.Response:
    reply = requests.get(url, headers={"Origin": origin} if origin else {}, timeout=10)
    assert reply.status_code == 200, reply.text
    return reply


def vary(reply: requests.Response) -> list[str]:
    return [v.strip().lower() for v in reply.headers.get("Vary", "").split(",") if v.strip()]


# --- the sandbox's CDN over HTTP ----------------------------------------------------------------------------------


def test_each_origin_gets_its_own_answer_from_the_default_sandbox(sandbox):
    url = uploaded_object(sandbox)
    plain = read(url)
    first, second, again = read(url, APP), read(url, OTHER), read(url, APP)

    assert ALLOW not in plain.headers  # a plain <img> sends no Origin: S3 answers without CORS headers
    assert first.headers[ALLOW] == APP and second.headers[ALLOW] == OTHER and again.headers[ALLOW] == APP
    assert first.headers["X-Cache"] == second.headers["X-Cache"] == "Miss from cloudfront"  # one entry per Origin
    assert again.headers["X-Cache"] == "Hit from cloudfront"
    for reply in (first, second, again):
        assert "origin" in vary(reply)  # S3's Vary: Origin, Access-Control-Request-Headers, -Method
        assert reply.headers["Access-Control-Allow-Methods"] == "GET, HEAD"
        assert reply.content == plain.content


def test_with_origin_not_in_the_cache_key_one_origins_reply_is_served_to_the_next(sandbox, switch):
    switch("cdn-cors-not-varied")
    url = uploaded_object(sandbox)
    first, second = read(url, APP), read(url, OTHER)
    assert first.headers[ALLOW] == APP and first.headers["X-Cache"] == "Miss from cloudfront"
    assert second.headers["X-Cache"] == "Hit from cloudfront"
    assert second.headers[ALLOW] == APP  # another origin's: the browser of OTHER's page refuses it

    after_plain = uploaded_object(sandbox)
    read(after_plain)  # a plain <img> first: S3 saw no Origin, the cached reply has no CORS headers
    refused = read(after_plain, APP)
    assert refused.headers["X-Cache"] == "Hit from cloudfront" and ALLOW not in refused.headers


def test_turning_the_switch_off_gives_each_origin_its_own_answer_again(sandbox, switch):
    switch("cdn-cors-not-varied")
    sandbox.set_switch("cdn-cors-not-varied", False)
    url = uploaded_object(sandbox)
    assert read(url, APP).headers[ALLOW] == APP
    assert read(url, OTHER).headers[ALLOW] == OTHER


def test_a_cors_response_headers_policy_adds_its_header_only_where_s3_gave_none():
    simple = CachePolicy(
        edge_cors=cloudfront_cors.origin_treatment({"ResponseHeadersPolicyId": cloudfront_cors.SIMPLE_CORS}).edge
    )
    assert edge_cors_headers(simple, {}, APP) == {ALLOW: "*"}
    assert edge_cors_headers(simple, {ALLOW: OTHER}, APP) == {}  # "Override origin? No": S3's cached header wins
    assert edge_cors_headers(simple, {}, None) == {}  # not a CORS request
    assert edge_cors_headers(CachePolicy(), {}, APP) == {}


# --- how a cache behaviour treats Origin (aws_model) ---------------------------------------------------------------

LEGACY_KEYED = {"ForwardedValues": {"Headers": {"Quantity": 1, "Items": ["Origin"]}}, "MaxTTL": 31_536_000}
NOT_KEYED = {
    "CachePolicyId": cloudfront_cors.CACHING_OPTIMIZED,
    "OriginRequestPolicyId": cloudfront_cors.CORS_S3_ORIGIN,
}
NOT_SENT = {"CachePolicyId": cloudfront_cors.CACHING_OPTIMIZED}
SIMPLE = {"CachePolicyId": cloudfront_cors.CACHING_OPTIMIZED, "ResponseHeadersPolicyId": cloudfront_cors.SIMPLE_CORS}
SIMPLE_BUT_SENT = {**NOT_KEYED, "ResponseHeadersPolicyId": cloudfront_cors.SIMPLE_CORS}
CUSTOM = {"CachePolicyId": "custom-cache-policy-1"}
KEYED_DOC = {
    "Name": "keyed",
    "MaxTTL": 31_536_000,
    "ParametersInCacheKeyAndForwardedToOrigin": {
        "HeadersConfig": {"HeaderBehavior": "whitelist", "Headers": {"Quantity": 1, "Items": ["origin"]}}
    },
}


@pytest.mark.parametrize(
    ("behaviour", "documents", "keyed", "forwarded", "varies"),
    [
        (LEGACY_KEYED, {}, True, True, True),
        ({"ForwardedValues": {}}, {}, False, False, False),
        (NOT_KEYED, {}, False, True, False),
        (NOT_SENT, {}, False, False, False),
        (SIMPLE, {}, False, False, True),
        (SIMPLE_BUT_SENT, {}, False, True, False),
        ({**NOT_KEYED, "CachePolicyId": cloudfront_cors.CACHING_DISABLED}, {}, False, True, True),
        (CUSTOM, {"custom-cache-policy-1": KEYED_DOC}, True, True, True),
        (CUSTOM, {}, None, None, None),
    ],
)
def test_origin_treatment(behaviour, documents, keyed, forwarded, varies):
    found = cloudfront_cors.origin_treatment(behaviour, documents)
    assert (found.keyed, found.forwarded, found.varies) == (keyed, forwarded, varies)


def test_caching_disabled_never_mixes_origins():
    found = cloudfront_cors.origin_treatment(
        {"CachePolicyId": cloudfront_cors.CACHING_DISABLED, "OriginRequestPolicyId": cloudfront_cors.CORS_S3_ORIGIN}
    )
    assert found.caches is False and found.varies is True


def test_only_custom_policies_are_read():
    behaviour = {**SIMPLE_BUT_SENT, "CachePolicyId": "mine"}
    assert cloudfront_cors.policies_to_read(behaviour) == {"CachePolicyId": "mine"}


# --- the judge over recorded evidence ------------------------------------------------------------------------------

URL = "https://d111111abcdef8.cloudfront.net/canary/3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b.png"
VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
GET_RULES = [
    {"AllowedHeaders": ["*"], "AllowedMethods": ["PUT"], "AllowedOrigins": [APP, OTHER], "ExposeHeaders": ["ETag"]},
    {"AllowedMethods": ["GET", "HEAD"], "AllowedOrigins": [APP, OTHER]},
]
PUT_ONLY = GET_RULES[:1]


def exchange(
    origin: str, allow: str | None, x_cache: str = "Miss from cloudfront", vary_: str | None = VARY
) -> Exchange:
    headers = {"X-Cache": x_cache, "Content-Type": "image/png"}
    if allow is not None:
        headers[ALLOW] = allow
    if vary_ is not None and allow not in (None, "*"):
        headers["Vary"] = vary_
    return Exchange(
        "GET", URL, {"Origin": origin, "Accept-Encoding": "identity"}, 200, headers, "(86 bytes of image/png)"
    )


def evidence(
    reads: tuple[Exchange, ...],
    behaviour: dict[str, Any] | None = LEGACY_KEYED,
    *,
    cross_origin: bool = True,
    origins: tuple[str, ...] = (APP, OTHER),
    rules: list[dict[str, Any]] | None = GET_RULES,
    distribution_state: ReadState = ReadState.OK,
    policies: dict[str, ConfigRead] | None = None,
) -> Evidence:
    target = CheckTarget(
        "https://api.example.com/presign",
        "pipeline-bucket",
        "https://d111111abcdef8.cloudfront.net",
        "ap-northeast-2",
        app_origins=origins,
        distribution_id="E2ABCDEF123456" if behaviour is not None else None,
        app_reads_cross_origin=cross_origin,
    )
    distribution = None
    if behaviour is not None:
        value = {
            "ARN": "arn:aws:cloudfront::123456789012:distribution/E2ABCDEF123456",
            "DistributionConfig": {"DefaultCacheBehavior": behaviour},
        }
        ok = distribution_state is ReadState.OK
        distribution = ConfigRead(
            "cloudfront:GetDistribution",
            distribution_state,
            value if ok else None,
            None if ok else "AccessDenied",
            None if ok else "User is not authorized to perform: cloudfront:GetDistribution",
            "arn:aws:cloudfront::123456789012:distribution/E2ABCDEF123456",
        )
    canary = Canary(presign=Exchange("GET", target.presign_url, {}, 200), key="canary/k.png", cdn_cors=reads)
    return Evidence(
        target=target,
        gathered_at=datetime.now(UTC),
        canary=canary,
        distribution=distribution,
        bucket_cors=ConfigRead("s3:GetBucketCors", ReadState.OK, rules) if rules is not None else None,
        cdn_policies=policies or {},
    )


GOOD = (exchange(APP, APP), exchange(OTHER, OTHER))


@pytest.mark.parametrize(
    ("name", "ev", "status", "codes"),
    [
        ("each origin its own", evidence(GOOD), Status.PASS, ("cdn_cors.allowed",)),
        (
            "plain <img> reply cached, Origin not in the key",
            evidence(
                (exchange(APP, None, "Hit from cloudfront"), exchange(OTHER, None, "Hit from cloudfront")), NOT_KEYED
            ),
            Status.FAIL,
            ("cdn_cors.allow_origin_missing", "cdn_cors.origin_not_in_cache_key"),
        ),
        (
            "the first origin's reply served to the second",
            evidence((exchange(APP, APP), exchange(OTHER, APP, "Hit from cloudfront")), NOT_KEYED),
            Status.FAIL,
            ("cdn_cors.other_origin", "cdn_cors.origin_not_in_cache_key"),
        ),
        (
            "the live reads pass by luck but the behaviour does not vary",
            evidence(GOOD, NOT_KEYED),
            Status.FAIL,
            ("cdn_cors.origin_not_in_cache_key",),
        ),
        (
            "Origin never reaches S3",
            evidence((exchange(APP, None), exchange(OTHER, None)), NOT_SENT),
            Status.FAIL,
            ("cdn_cors.allow_origin_missing", "cdn_cors.origin_not_forwarded"),
        ),
        (
            "SimpleCORS at the edge",
            evidence((exchange(APP, "*"), exchange(OTHER, "*")), SIMPLE, rules=PUT_ONLY),
            Status.PASS,
            ("cdn_cors.allowed",),
        ),
        (
            "no bucket rule lets the origins GET",
            evidence((exchange(APP, None), exchange(OTHER, None)), LEGACY_KEYED, rules=PUT_ONLY),
            Status.FAIL,
            ("cdn_cors.allow_origin_missing", "cdn_cors.bucket_get_missing"),
        ),
        (
            "no Vary: Origin",
            evidence((exchange(APP, APP, vary_=None), exchange(OTHER, OTHER, vary_=None)), None),
            Status.WARN,
            ("cdn_cors.vary_missing",),
        ),
        (
            "the distribution may not be read",
            evidence(GOOD, LEGACY_KEYED, distribution_state=ReadState.DENIED),
            Status.UNKNOWN,
            ("read.denied",),
        ),
        (
            "a custom cache policy keyed on Origin",
            evidence(
                GOOD,
                CUSTOM,
                policies={"custom-cache-policy-1": ConfigRead("cloudfront:GetCachePolicy", ReadState.OK, KEYED_DOC)},
            ),
            Status.PASS,
            ("cdn_cors.allowed",),
        ),
        (
            "a custom cache policy the console may not read",
            evidence(
                GOOD,
                CUSTOM,
                policies={
                    "custom-cache-policy-1": ConfigRead(
                        "cloudfront:GetCachePolicy",
                        ReadState.DENIED,
                        None,
                        "AccessDenied",
                        "denied",
                        "arn:aws:cloudfront::123456789012:cache-policy/custom-cache-policy-1",
                    )
                },
            ),
            Status.UNKNOWN,
            ("read.denied",),
        ),
        (
            "no distribution configured: the live answers decide",
            evidence(GOOD, None),
            Status.PASS,
            ("cdn_cors.allowed",),
        ),
        (
            "a read without an answer",
            evidence((Exchange("GET", URL, {"Origin": APP}, None, error="timed out"),)),
            Status.UNKNOWN,
            ("cdn_cors.read_failed",),
        ),
        ("the app reads same-origin", evidence(GOOD, cross_origin=False), Status.SKIP, ("cdn_cors.not_cross_origin",)),
        ("no app origins", evidence(GOOD, origins=()), Status.SKIP, ("origins.not_configured",)),
        ("the canary did not get this far", evidence(()), Status.UNKNOWN, ("canary.not_this_far",)),
    ],
)
def test_judge(name, ev, status, codes):
    found = judge_cdn_cors(ev)
    assert (found.status, found.codes) == (status, codes), (name, found.title, found.detail)
    assert found.id == CDN_CORS
    assert_codes(found)


def test_the_fix_names_the_managed_policies_and_the_exact_cache_policy():
    found = judge_cdn_cors(evidence((exchange(APP, APP), exchange(OTHER, APP, "Hit from cloudfront")), NOT_KEYED))
    assert f'"OriginRequestPolicyId": "{cloudfront_cors.CORS_S3_ORIGIN}"' in found.fix
    assert f'"ResponseHeadersPolicyId": "{cloudfront_cors.SIMPLE_CORS}"' in found.fix
    assert '"Items": [\n          "Origin"\n        ]' in found.fix  # Origin in the new cache policy's key
    assert "aws cloudfront create-cache-policy --cache-policy-config file://cache-policy.json" in found.fix
    assert "aws cloudfront update-distribution --id E2ABCDEF123456" in found.fix
    assert "create-invalidation --distribution-id E2ABCDEF123456 --paths '/*'" in found.fix
    assert f"{OTHER} got {ALLOW}: {APP}" in found.detail


def test_a_missing_get_rule_is_fixed_with_the_existing_rules_kept():
    found = judge_cdn_cors(evidence((exchange(APP, None), exchange(OTHER, None)), LEGACY_KEYED, rules=PUT_ONLY))
    assert "aws s3api put-bucket-cors --bucket pipeline-bucket" in found.fix
    assert '"AllowedMethods": [\n        "PUT"' in found.fix and '"GET",\n        "HEAD"' in found.fix


# --- the check against the sandbox -------------------------------------------------------------------------------


def cors_finding(settings, on: bool):
    report = run_checks(dataclasses.replace(settings, app_reads_cross_origin=on), only=[CDN_CORS, "cdn.read"])
    return next(f for f in report.findings if f.id == CDN_CORS)


def test_the_check_passes_on_the_default_sandbox_and_skips_while_the_setting_is_off(sandbox_settings):
    on = cors_finding(sandbox_settings, True)
    assert on.status is Status.PASS and on.codes == ("cdn_cors.allowed",), on.detail
    assert f"{ALLOW}: {APP}" in on.detail and f"{ALLOW}: {OTHER}" in on.detail
    off = cors_finding(sandbox_settings, False)
    assert off.status is Status.SKIP and off.codes == ("cdn_cors.not_cross_origin",)


def test_under_the_switch_the_check_fails_naming_the_cache_key_and_skips_while_the_setting_is_off(
    sandbox_settings, switch
):
    switch("cdn-cors-not-varied")
    on = cors_finding(sandbox_settings, True)
    assert on.status is Status.FAIL, on.detail
    assert on.codes == ("cdn_cors.allow_origin_missing", "cdn_cors.origin_not_in_cache_key")
    assert "Hit from cloudfront" in on.detail and "CORS-S3Origin" in on.detail
    off = cors_finding(sandbox_settings, False)
    assert off.status is Status.SKIP


# --- the upload trace: the read-back as the web app's cross-origin read -------------------------------------------


def cdn_in_front(sandbox, keep_cors: bool):
    """A stand-in CDN (error injection) passing each GET on to the sandbox's, Origin included; without
    ``keep_cors`` its answer loses Access-Control-Allow-Origin, as a CDN that never sends Origin to S3 gives it."""

    def respond(request) -> tuple[int, dict[str, str], bytes]:
        origin = request.headers.get("Origin")
        real = requests.get(
            sandbox.endpoints.cdn + request.path, headers={"Origin": origin} if origin else {}, timeout=10
        )
        kept = ("Content-Type", "X-Cache", "ETag", *((ALLOW, "Vary") if keep_cors else ()))
        return real.status_code, {h: real.headers[h] for h in kept if h in real.headers}, real.content

    return http_server(respond)


def browser_upload(settings, origin: str | None):
    with new_session() as session:
        return upload_one(UploadInput("photo.png", image_bytes()), settings, session, origin=origin)


def test_a_cross_origin_app_reads_the_upload_back_from_its_origin(sandbox, sandbox_settings):
    with cdn_in_front(sandbox, keep_cors=True) as (cdn, seen):
        settings = dataclasses.replace(sandbox_settings, cdn_url=cdn, app_reads_cross_origin=True)
        result = browser_upload(settings, APP)
        same_origin = browser_upload(dataclasses.replace(settings, app_reads_cross_origin=False), APP)
    assert result.ok and same_origin.ok, (result.failed_step, same_origin.failed_step)
    assert [r["headers"].get("Origin") for r in seen] == [APP, None]  # a plain <img> sends no Origin


def test_the_trace_names_a_read_back_without_access_control_allow_origin(sandbox, sandbox_settings):
    with cdn_in_front(sandbox, keep_cors=False) as (cdn, _):
        settings = dataclasses.replace(sandbox_settings, cdn_url=cdn, app_reads_cross_origin=True)
        refused = browser_upload(settings, APP)
        server_side = browser_upload(settings, None)  # --origin none: no browser, no CORS
    assert not refused.ok and server_side.ok
    step = refused.failed_step
    assert (step.name, step.http_status) == ("cdn_read", 200)
    assert f"no {ALLOW} for {APP}" in step.error
    assert "CORS-S3Origin" in step.cause and "SimpleCORS" in step.cause and "cdn.cors" in step.cause
