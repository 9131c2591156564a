"""CloudFront in front of the sandbox bucket: an edge cache with CloudFront's response headers.

The origin is read with the distribution's own identity (Origin Access Control); what S3 answers,
errors included, is what viewers get, with ``X-Cache``, ``Via``, ``X-Amz-Cf-Pop``, ``X-Amz-Cf-Id`` and
``Age`` as CloudFront sets them. Errors are cached for the error-caching TTL, objects for the cache
policy's TTLs bounded by the origin's Cache-Control.
"""

from __future__ import annotations

import base64
import gzip
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from services.aws_model.cloudfront_cors import EdgeCors
from services.sandbox.httpd import QuietHandler, Server

POP = "ICN57-P1"
COMPRESSIBLE = re.compile(
    r"^(text/|application/(json|javascript|x-javascript|xml|xhtml\+xml|rss\+xml|atom\+xml|ld\+json|wasm)|image/svg\+xml|image/x-icon|image/vnd\.microsoft\.icon|font/)"
)
MIN_COMPRESS, MAX_COMPRESS = 1_000, 10_000_000


@dataclass
class CachePolicy:
    """Like the managed CachingOptimized policy; TTLs in seconds."""

    min_ttl: int = 1
    default_ttl: int = 86_400
    max_ttl: int = 31_536_000
    error_ttl: int = 10  # CloudFront's default error-caching minimum TTL
    compress: bool = True
    allowed_methods: tuple[str, ...] = ("GET", "HEAD")
    #: a response headers policy's Cache-Control, added (not overriding) to successful replies
    viewer_cache_control: str | None = None
    #: the viewer's Origin is part of the cache key (cache policy / legacy ForwardedValues.Headers)
    origin_keyed: bool = False
    #: the viewer's Origin reaches S3 (the cache key, or an origin request policy such as CORS-S3Origin)
    origin_forwarded: bool = False
    #: a response headers policy's CORS configuration (SimpleCORS ...): Access-Control-Allow-Origin added at the edge
    edge_cors: EdgeCors | None = None

    def cache_key(self, path: str, origin: str | None) -> str:
        """The path, and the viewer's Origin when the cache key holds it: CloudFront does not split its cache on
        the origin's Vary, only on what the cache key names."""
        return f"{path}\n{origin}" if self.origin_keyed and origin else path


@dataclass
class OriginReply:
    status: int
    headers: dict[str, str]
    body: bytes = field(repr=False)


@dataclass
class _Entry:
    reply: OriginReply
    stored: float
    ttl: float

    def age(self, now: float) -> int:
        return int(now - self.stored)


class EdgeCache:
    """A byte-bounded LRU of origin replies, safe across request threads."""

    def __init__(self, max_bytes: int = 128 * 1024 * 1024) -> None:
        self._max_bytes = max_bytes
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str, now: float) -> tuple[_Entry | None, bool]:
        """(entry, fresh); a stale entry is returned so the caller can revalidate (RefreshHit)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None, False
            self._entries.move_to_end(key)
            return entry, now - entry.stored < entry.ttl

    def put(self, key: str, entry: _Entry) -> None:
        size = len(entry.reply.body)
        if size > self._max_bytes // 4 or entry.ttl <= 0:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old.reply.body)
            self._entries[key] = entry
            self._bytes += size
            while self._bytes > self._max_bytes and self._entries:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= len(evicted.reply.body)

    def invalidate(self, paths: list[str]) -> int:
        """Drop entries by path (every variant of it: each Origin in the cache key); a trailing ``*`` matches a
        prefix, as CloudFront invalidations do."""
        with self._lock:
            doomed = [
                key
                for key in self._entries
                for path in paths
                if (path.endswith("*") and key.startswith(path[:-1])) or key.split("\n", 1)[0] == path
            ]
            for key in set(doomed):
                self._bytes -= len(self._entries.pop(key).reply.body)
            return len(set(doomed))


def ttl_for(policy: CachePolicy, status: int, cache_control: str | None) -> float:
    """How long the edge keeps a reply: errors for the error-caching TTL; objects for the origin's s-maxage or
    max-age (or the minimum TTL when it forbids caching without one), bounded by the cache policy's TTLs."""
    if status >= 400:
        return policy.error_ttl
    from services.aws_model import cache_control as cc  # httplint: imported by the first cached reply, not at start

    directives, _ = cc.parse_cache_control(cache_control or "")
    seconds = cc.shared_max_age(directives)
    if seconds is None and directives.keys() & cc.NOT_CACHED:
        return policy.min_ttl
    return max(policy.min_ttl, min(policy.max_ttl, policy.default_ttl if seconds is None else seconds))


def cf_id() -> str:
    return base64.urlsafe_b64encode(os.urandom(39)).decode().rstrip("=")


def _wants_gzip(accept_encoding: str | None) -> bool:
    return any(part.split(";")[0].strip().lower() in ("gzip", "*") for part in (accept_encoding or "").split(","))


def maybe_compress(policy: CachePolicy, reply: OriginReply, accept_encoding: str | None) -> tuple[bytes, str | None]:
    """gzip the body when CloudFront would: compression on, a compressible type, 1,000..10,000,000 bytes."""
    content_type = reply.headers.get("Content-Type", "").split(";")[0].strip().lower()
    size = len(reply.body)
    if (
        policy.compress
        and reply.status == 200
        and COMPRESSIBLE.match(content_type)
        and MIN_COMPRESS <= size <= MAX_COMPRESS
        and "Content-Encoding" not in reply.headers
        and _wants_gzip(accept_encoding)
    ):
        return gzip.compress(reply.body, compresslevel=6), "gzip"
    return reply.body, None


def edge_cors_headers(policy: CachePolicy, headers: dict[str, str], origin: str | None) -> dict[str, str]:
    """What a response headers policy's CORS configuration adds for a viewer's ``Origin``: its
    Access-Control-Allow-Origin, unless the (maybe cached) reply carries one and the policy does not override it."""
    edge = policy.edge_cors
    allowed = edge.allows(origin) if edge is not None and origin else None
    if edge is None or allowed is None or ("Access-Control-Allow-Origin" in headers and not edge.override):
        return {}
    return {"Access-Control-Allow-Origin": allowed}


def make_cdn(
    host: str,
    port: int,
    fetch: Callable[[str, str | None], OriginReply],
    policy_source: Callable[[], CachePolicy],
    cache: EdgeCache,
) -> Server:
    """``policy_source`` is read on every request: the distribution's stored configuration is the truth.
    ``fetch(key, origin)`` reads the object from S3, with the viewer's Origin when the behaviour forwards it."""
    via = f"1.1 {os.urandom(16).hex()}.cloudfront.net (CloudFront)"

    class CdnHandler(QuietHandler):
        def _serve(self) -> None:
            method = self.command.upper()
            self.read_body()
            policy = policy_source()
            if method not in policy.allowed_methods:
                body = b"<html><body>This distribution is not configured to allow the HTTP request method that was used for this request.</body></html>"
                self._send(403, {"Content-Type": "text/html"}, body, "Error from cloudfront", None)
                return
            path = urlsplit(self.path).path or "/"
            key = unquote(path[1:])
            now = time.time()
            origin = self.headers.get("Origin")
            cache_key = policy.cache_key(path, origin)
            entry, fresh = cache.get(cache_key, now)
            if entry is not None and fresh:
                self._deliver(
                    policy,
                    entry.reply,
                    "Hit from cloudfront" if entry.reply.status < 400 else "Error from cloudfront",
                    entry.age(now),
                    method,
                )
                return
            reply = fetch(key, origin if policy.origin_forwarded else None)
            if (
                entry is not None
                and reply.status == 200
                and entry.reply.headers.get("ETag") == reply.headers.get("ETag")
            ):
                state = "RefreshHit from cloudfront"
            else:
                state = "Miss from cloudfront" if reply.status < 400 else "Error from cloudfront"
            cache.put(cache_key, _Entry(reply, now, ttl_for(policy, reply.status, reply.headers.get("Cache-Control"))))
            self._deliver(policy, reply, state, None, method)

        def _deliver(self, policy: CachePolicy, reply: OriginReply, state: str, age: int | None, method: str) -> None:
            body, encoding = maybe_compress(policy, reply, self.headers.get("Accept-Encoding"))
            headers = dict(reply.headers)
            if policy.viewer_cache_control and reply.status == 200 and "Cache-Control" not in headers:
                headers["Cache-Control"] = policy.viewer_cache_control
            if encoding:
                headers["Content-Encoding"] = encoding
                vary = [v.strip() for v in headers.get("Vary", "").split(",") if v.strip()]
                headers["Vary"] = ", ".join([*vary, "Accept-Encoding"] if "Accept-Encoding" not in vary else vary)
            headers.update(edge_cors_headers(policy, headers, self.headers.get("Origin")))
            self._send(reply.status, headers, body, state, age, head=method == "HEAD")

        def _send(
            self, status: int, headers: dict[str, str], body: bytes, state: str, age: int | None, *, head: bool = False
        ) -> None:
            out = dict(headers)
            out["X-Cache"] = state
            out["Via"] = via
            out["X-Amz-Cf-Pop"] = POP
            out["X-Amz-Cf-Id"] = cf_id()
            if age is not None:
                out["Age"] = str(age)
            self.send_reply(status, out, body, head=head)

        do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = _serve

    return Server((host, port), CdnHandler)
