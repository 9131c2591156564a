"""What a CloudFront cache behaviour does with a viewer's ``Origin`` header, decided from its configuration.

A reply is cached under the cache key: the URL plus the headers the cache policy names (or, with the legacy cache
settings, the headers ``ForwardedValues`` lists). CloudFront does not split its cache on the origin's ``Vary``
(S3 sends ``Vary: Origin`` with its CORS headers): only what the cache key holds tells two viewers apart.
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/header-caching.html#header-caching-web-cors
So S3 answers CORS only when ``Origin`` reaches it (cache key or origin request policy), and each origin gets its
own answer only when ``Origin`` is in the cache key; otherwise whichever request came first (with an origin, or
without one, as a plain ``<img>``) fills the cache for everyone. A response headers policy with a CORS
configuration adds ``Access-Control-Allow-Origin`` at the edge instead, per request, unless the origin's reply
already carries one and the policy does not override it.

The managed policies' ids and contents are AWS's (cited per table); any other id is a custom policy that has to be
read (``GetCachePolicy``, ``GetOriginRequestPolicy``, ``GetResponseHeadersPolicy``). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ORIGIN = "origin"

# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_OPTIMIZED_UNCOMPRESSED = "b2884449-e4de-46a7-ac36-70bc7f1ddd6d"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
#: managed cache policy id -> (name, headers in its cache key, caches at all)
MANAGED_CACHE_POLICIES: Mapping[str, tuple[str, frozenset[str], bool]] = {
    CACHING_OPTIMIZED: ("CachingOptimized", frozenset(), True),
    CACHING_OPTIMIZED_UNCOMPRESSED: ("CachingOptimizedForUncompressedObjects", frozenset(), True),
    CACHING_DISABLED: ("CachingDisabled", frozenset(), False),
}

# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-origin-request-policies.html
CORS_S3_ORIGIN = "88a5eaf4-2fd4-4709-b370-b4c650ea3fcf"
CORS_CUSTOM_ORIGIN = "59781a5b-3903-41f3-afcb-af62929ccde1"
ALL_VIEWER = "216adef6-5c7f-47e4-b989-5492eafa07d3"
#: managed origin request policy id -> (name, whether it forwards the viewer's Origin)
MANAGED_ORIGIN_REQUEST_POLICIES: Mapping[str, tuple[str, bool]] = {
    CORS_S3_ORIGIN: ("CORS-S3Origin", True),  # Origin, Access-Control-Request-Headers, Access-Control-Request-Method
    CORS_CUSTOM_ORIGIN: ("CORS-CustomOrigin", True),  # Origin
    ALL_VIEWER: ("AllViewer", True),  # every viewer header
}

# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-response-headers-policies.html
SIMPLE_CORS = "60669652-455b-4ae9-85a4-c4c02393f86c"
CORS_WITH_PREFLIGHT = "5cc3b908-e619-4b99-88e5-2cf7f45965bd"
CORS_AND_SECURITY_HEADERS = "e61eb60c-9c35-4d20-a928-2b84e02af89c"
#: managed response headers policies with a CORS configuration: Access-Control-Allow-Origin: *, "Override origin? No"
MANAGED_CORS_RESPONSE_POLICIES: Mapping[str, str] = {
    SIMPLE_CORS: "SimpleCORS",
    CORS_WITH_PREFLIGHT: "CORS-With-Preflight",
    CORS_AND_SECURITY_HEADERS: "CORS-and-SecurityHeadersPolicy",
}

#: the policy kinds a behaviour refers to: its field, the read call, and the document's key in the read's answer
POLICY_KINDS: Mapping[str, tuple[str, str]] = {
    "CachePolicyId": ("cloudfront:GetCachePolicy", "CachePolicyConfig"),
    "OriginRequestPolicyId": ("cloudfront:GetOriginRequestPolicy", "OriginRequestPolicyConfig"),
    "ResponseHeadersPolicyId": ("cloudfront:GetResponseHeadersPolicy", "ResponseHeadersPolicyConfig"),
}


@dataclass(frozen=True)
class EdgeCors:
    """A response headers policy's CORS configuration: the Access-Control-Allow-Origin CloudFront adds."""

    allow_origins: tuple[str, ...]  # "*" or the exact origins
    override: bool  # replaces the origin's own Access-Control-Allow-Origin
    policy: str  # its name or id, for a person

    def allows(self, origin: str) -> str | None:
        """The Access-Control-Allow-Origin value the edge adds for a request from ``origin`` (None: none)."""
        if "*" in self.allow_origins:
            return "*"
        return origin if origin in self.allow_origins else None


@dataclass(frozen=True)
class OriginTreatment:
    """What a cache behaviour does with ``Origin``; None where a custom policy was not (or could not be) read."""

    keyed: bool | None  # Origin is part of the cache key
    forwarded: bool | None  # Origin reaches the origin (cache key or origin request policy)
    caches: bool | None  # the behaviour caches replies at all (CachingDisabled does not)
    edge: EdgeCors | None  # a response headers policy's CORS configuration
    edge_known: bool  # False: a response headers policy is attached but was not read
    described: tuple[str, ...]  # how each part was decided, for a person
    unread: tuple[str, ...] = ()  # the policy ids that were needed but not read

    @property
    def varies(self) -> bool | None:
        """Each app origin gets an answer meant for it: Origin in the cache key, nothing cached, or the edge adding
        the header while S3 (not seeing Origin) never adds one of its own to the cached reply."""
        if self.keyed or self.caches is False:
            return True
        if self.edge is not None and (self.edge.override or self.forwarded is False):
            return True
        if self.keyed is None or self.caches is None or not self.edge_known or self.forwarded is None:
            return None
        return False


def _names(items: Any) -> frozenset[str]:
    return frozenset(str(item).lower() for item in items) if isinstance(items, list) else frozenset()


def _dig(doc: Any, *path: str) -> Any:
    for name in path:
        doc = doc.get(name) if isinstance(doc, Mapping) else None
    return doc


def policies_to_read(behaviour: Mapping[str, Any]) -> dict[str, str]:
    """The policy ids of ``behaviour`` whose content is not AWS's managed table: field -> id (to be read)."""
    known = {
        "CachePolicyId": MANAGED_CACHE_POLICIES,
        "OriginRequestPolicyId": MANAGED_ORIGIN_REQUEST_POLICIES,
        "ResponseHeadersPolicyId": MANAGED_CORS_RESPONSE_POLICIES,
    }
    wanted = {}
    for field_name, table in known.items():
        policy_id = behaviour.get(field_name)
        if isinstance(policy_id, str) and policy_id and policy_id not in table:
            wanted[field_name] = policy_id
    return wanted


def _cache_key(behaviour: Mapping[str, Any], documents: Mapping[str, Any]) -> tuple[bool | None, bool | None, str]:
    """(Origin in the cache key, caches at all, how that was decided)."""
    policy_id = behaviour.get("CachePolicyId")
    if not policy_id:  # the legacy cache settings: ForwardedValues.Headers are forwarded AND part of the cache key
        headers = _names(_dig(behaviour, "ForwardedValues", "Headers", "Items"))
        max_ttl = behaviour.get("MaxTTL")
        caches = not (isinstance(max_ttl, int) and max_ttl == 0)
        if "*" in headers:
            return True, False, "legacy cache settings forward every header (nothing is cached)"
        said = "with Origin" if ORIGIN in headers else "without Origin"
        return ORIGIN in headers, caches, f"legacy cache settings: ForwardedValues.Headers {said}"
    if policy_id in MANAGED_CACHE_POLICIES:
        name, headers, caches = MANAGED_CACHE_POLICIES[policy_id]
        return ORIGIN in headers, caches, f"cache policy {name} ({policy_id}): Origin is not in its cache key"
    doc = documents.get(policy_id)
    if not isinstance(doc, Mapping):
        return None, None, f"cache policy {policy_id} (custom) was not read"
    config = _dig(doc, "ParametersInCacheKeyAndForwardedToOrigin", "HeadersConfig")
    behaviour_name = str(_dig(config, "HeaderBehavior") or "none")
    keyed = behaviour_name == "whitelist" and ORIGIN in _names(_dig(config, "Headers", "Items"))
    max_ttl = doc.get("MaxTTL")
    caches = not (isinstance(max_ttl, int) and max_ttl == 0)
    said = "includes" if keyed else "does not include"
    return keyed, caches, f"cache policy {doc.get('Name') or policy_id} ({policy_id}) {said} Origin in its cache key"


def _origin_request(behaviour: Mapping[str, Any], documents: Mapping[str, Any]) -> tuple[bool | None, str]:
    """(the origin request policy forwards Origin, how that was decided)."""
    policy_id = behaviour.get("OriginRequestPolicyId")
    if not policy_id:
        return False, "no origin request policy"
    if policy_id in MANAGED_ORIGIN_REQUEST_POLICIES:
        name, forwards = MANAGED_ORIGIN_REQUEST_POLICIES[policy_id]
        return forwards, f"origin request policy {name} ({policy_id}) forwards Origin to S3"
    doc = documents.get(policy_id)
    if not isinstance(doc, Mapping):
        return None, f"origin request policy {policy_id} (custom) was not read"
    config = _dig(doc, "HeadersConfig")
    kind = str(_dig(config, "HeaderBehavior") or "none")
    listed = ORIGIN in _names(_dig(config, "Headers", "Items"))
    forwards = {"none": False, "allExcept": not listed}.get(kind, kind.startswith("allViewer") or listed)
    said = "forwards" if forwards else "does not forward"
    return forwards, f"origin request policy {doc.get('Name') or policy_id} ({policy_id}) {said} Origin"


def _edge(behaviour: Mapping[str, Any], documents: Mapping[str, Any]) -> tuple[EdgeCors | None, bool, str]:
    """(the response headers policy's CORS configuration, whether it is known, how that was decided)."""
    policy_id = behaviour.get("ResponseHeadersPolicyId")
    if not policy_id:
        return None, True, "no response headers policy"
    if policy_id in MANAGED_CORS_RESPONSE_POLICIES:
        name = MANAGED_CORS_RESPONSE_POLICIES[policy_id]
        said = f"response headers policy {name} ({policy_id}) adds Access-Control-Allow-Origin: * (not over S3's own)"
        return EdgeCors(("*",), False, name), True, said
    doc = documents.get(policy_id)
    if not isinstance(doc, Mapping):
        return None, False, f"response headers policy {policy_id} was not read"
    cors = _dig(doc, "CorsConfig")
    name = str(doc.get("Name") or policy_id)
    if not isinstance(cors, Mapping):
        return None, True, f"response headers policy {name} ({policy_id}) has no CORS configuration"
    origins = tuple(str(o) for o in (_dig(cors, "AccessControlAllowOrigins", "Items") or []))
    override = bool(cors.get("OriginOverride"))
    said = f"response headers policy {name} ({policy_id}) adds Access-Control-Allow-Origin for {', '.join(origins)}"
    return EdgeCors(origins, override, name), True, said + (" over S3's own" if override else " (not over S3's own)")


def origin_treatment(behaviour: Mapping[str, Any], documents: Mapping[str, Any] | None = None) -> OriginTreatment:
    """How ``behaviour`` (a DistributionConfig's cache behaviour) treats Origin; ``documents`` maps the custom
    policy ids read to their configuration documents (CachePolicyConfig ...)."""
    documents = documents or {}
    keyed, caches, key_said = _cache_key(behaviour, documents)
    forwarded_by_policy, request_said = _origin_request(behaviour, documents)
    edge, edge_known, edge_said = _edge(behaviour, documents)
    if keyed:
        forwarded: bool | None = True
    elif forwarded_by_policy is None or keyed is None:
        forwarded = forwarded_by_policy or None
    else:
        forwarded = forwarded_by_policy
    unread = tuple(pid for pid in policies_to_read(behaviour).values() if not isinstance(documents.get(pid), Mapping))
    return OriginTreatment(keyed, forwarded, caches, edge, edge_known, (key_said, request_said, edge_said), unread)
