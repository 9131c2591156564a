"""Cache-Control read once (services/aws_model/cache_control.py, on httplint), by the checks and the sandbox's CDN."""

from __future__ import annotations

import pytest

from services.aws_model.cache_control import parse_cache_control, shared_max_age
from services.sandbox.cdn import CachePolicy, ttl_for

POLICY = CachePolicy(min_ttl=1, default_ttl=86_400, max_ttl=31_536_000, error_ttl=10)


@pytest.mark.parametrize(
    ("status", "header", "ttl"),
    [
        (200, "public, max-age=31536000, immutable", 31_536_000),
        (200, "max-age=60, s-maxage=600", 600),  # CloudFront takes s-maxage over max-age
        (200, "max-age=999999999", 31_536_000),  # bounded by the policy's maximum TTL
        (200, "max-age=0", 1),  # ... and its minimum
        (200, "no-store", 1),  # forbids caching without a max-age: the minimum TTL
        (200, "private, max-age=300", 300),  # a max-age still counts (as the sandbox always read it)
        (200, None, 86_400),  # nothing said: the default TTL
        (403, "max-age=31536000", 10),  # errors: the error-caching TTL, whatever the origin says
    ],
)
def test_the_sandbox_cdn_keeps_a_reply_as_cloudfront_does(status, header, ttl):
    assert ttl_for(POLICY, status, header) == ttl


def test_the_checks_and_the_cdn_read_the_same_directives():
    directives, problems = parse_cache_control("public, max-age=31536000, immutable")
    assert directives == {"public": None, "max-age": "31536000", "immutable": None} and problems == []
    assert shared_max_age(directives) == 31_536_000
    assert shared_max_age(parse_cache_control("max-age=abc")[0]) is None
