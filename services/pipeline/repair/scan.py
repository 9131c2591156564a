"""Read what S3 stores about each object, and its first bytes, at scale: a streaming listing, one request per
object, S3's ``SlowDown`` honoured by every worker at once.

One ranged GetObject per object gives everything a HeadObject would (GetObject's response carries the same
object headers: Content-Type, Cache-Control, ETag, user metadata, encryption, storage class; see
https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html) plus the first bytes, so the scan makes one
request where HEAD + GET would make two. Zero-byte objects (a range on them is 416 InvalidRange) and archived
ones (403 InvalidObjectState) are read with HeadObject instead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from services.core.transport import Backoff
from services.pipeline.browse import translate_aws_error
from services.pipeline.repair.decide import ObjectState

#: the first bytes read of each object (the image signatures need 12; a little more costs nothing)
FIRST_BYTES = 64
#: waits after S3 said SlowDown (503), on top of botocore's own retries: 0.5 s doubling to 20 s, 8 tries
SLOWDOWN_BACKOFF = Backoff(attempts=8, base=0.5, cap=20.0)
#: S3's throttling answers (https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html)
THROTTLE_CODES = frozenset({"SlowDown", "503", "ServiceUnavailable", "RequestLimitExceeded", "Throttling"})
T = TypeVar("T")


def is_throttled(err: ClientError) -> bool:
    code = str(err.response.get("Error", {}).get("Code", ""))
    status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in THROTTLE_CODES or status == 503


def error_code(err: ClientError) -> str:
    return str(
        err.response.get("Error", {}).get("Code", "")
        or err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "")
    )


class Pacer:
    """One pause for every worker: when S3 says SlowDown to one, all of them wait before their next request (S3
    throttles a prefix, not a connection), for the Backoff's delay, growing while throttling lasts."""

    def __init__(self, backoff: Backoff = SLOWDOWN_BACKOFF, clock: Callable[[], float] = time.monotonic) -> None:
        self.backoff = backoff
        self._clock = clock
        self._lock = threading.Lock()
        self._resume_at = 0.0
        self.throttled = 0  # SlowDown answers seen (after botocore's own retries)

    def _wait(self) -> None:
        with self._lock:
            left = self._resume_at - self._clock()
        if left > 0:
            self.backoff.sleep(left)

    def _slow_down(self, retry: int) -> None:
        with self._lock:
            self.throttled += 1
            self._resume_at = max(self._resume_at, self._clock() + self.backoff.delay(retry))

    def call(self, request: Callable[[], T]) -> T:
        """``request()``, retried while S3 throttles (up to the Backoff's attempts), paced with every other worker."""
        for retry in range(self.backoff.attempts):
            self._wait()
            try:
                return request()
            except ClientError as err:
                if not is_throttled(err) or retry == self.backoff.attempts - 1:
                    raise
                self._slow_down(retry)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


@dataclass(frozen=True)
class Listed:
    """One key of the listing, with what the listing says of it."""

    key: str
    size: int
    etag: str


def iter_listing(s3: Any, bucket: str, prefix: str, start_after: str | None = None) -> Iterator[Listed]:
    """Every key under ``prefix`` in S3's order, after ``start_after``: one page (1,000 keys) held at a time."""
    params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "PaginationConfig": {"PageSize": 1000}}
    if start_after:
        params["StartAfter"] = start_after
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(**params):
            for item in page.get("Contents", ()):
                yield Listed(item["Key"], int(item.get("Size", 0)), str(item.get("ETag", "")).strip('"'))
    except (ClientError, BotoCoreError) as err:
        raise translate_aws_error(err, action="Listing the bucket", permission="s3:ListBucket", bucket=bucket) from err


class KeyCounter:
    """Counts the keys to scan in a thread of its own (a listing without the objects: one request per 1,000
    keys), so progress has a total, and an ETA, long before the scan reaches the end."""

    def __init__(self, s3: Any, bucket: str, prefix: str, start_after: str | None) -> None:
        self.total: int | None = None
        self.counted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._count, args=(s3, bucket, prefix, start_after), name="repair-count", daemon=True
        )
        self._thread.start()

    def _count(self, s3: Any, bucket: str, prefix: str, start_after: str | None) -> None:
        try:
            for _ in iter_listing(s3, bucket, prefix, start_after):
                self.counted += 1
                if self._stop.is_set():
                    return
        except Exception:  # noqa: BLE001 - the scan's own listing reports the same failure; this only loses the ETA
            return
        self.total = self.counted

    def close(self) -> None:
        self._stop.set()


def _state_from(key: str, reply: dict[str, Any], first: bytes, size: int, error: str | None = None) -> ObjectState:
    total = size
    content_range = str(reply.get("ContentRange") or "")
    if "/" in content_range and content_range.rsplit("/", 1)[1].isdigit():
        total = int(content_range.rsplit("/", 1)[1])
    elif not content_range and "ContentLength" in reply:
        total = int(reply["ContentLength"])
    expires = reply.get("ExpiresString") or reply.get("Expires")
    return ObjectState(
        key=key,
        etag=str(reply.get("ETag", "")).strip('"'),
        size=total,
        content_type=reply.get("ContentType"),
        cache_control=reply.get("CacheControl"),
        first_bytes=first,
        metadata=dict(reply.get("Metadata") or {}),
        content_disposition=reply.get("ContentDisposition"),
        content_encoding=reply.get("ContentEncoding"),
        content_language=reply.get("ContentLanguage"),
        expires=expires if isinstance(expires, str) else None,
        website_redirect=reply.get("WebsiteRedirectLocation"),
        encryption=reply.get("ServerSideEncryption"),
        kms_key_id=reply.get("SSEKMSKeyId"),
        bucket_key=reply.get("BucketKeyEnabled"),
        customer_key=bool(reply.get("SSECustomerAlgorithm")),
        storage_class=reply.get("StorageClass"),
        lock_mode=reply.get("ObjectLockMode"),
        lock_until=reply.get("ObjectLockRetainUntilDate"),
        legal_hold=reply.get("ObjectLockLegalHoldStatus"),
        error=error,
    )


def read_state(s3: Any, bucket: str, listed: Listed, pacer: Pacer) -> ObjectState:
    """The object as S3 stores it now, and its first bytes; an object that cannot be read gets ``error`` set."""
    key = listed.key
    try:
        if listed.size > 0:
            try:
                reply = pacer.call(lambda: s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{FIRST_BYTES - 1}"))
            except ClientError as err:
                if error_code(err) not in ("InvalidObjectState", "InvalidRange", "416"):
                    raise
                head = pacer.call(lambda: s3.head_object(Bucket=bucket, Key=key))
                archived = f"stored in {head.get('StorageClass', 'an archive class')}: its bytes cannot be read without a restore"
                return _state_from(
                    key, head, b"", listed.size, archived if error_code(err) == "InvalidObjectState" else None
                )
            body = reply["Body"]
            try:
                first = body.read(FIRST_BYTES)
            finally:
                body.close()
            return _state_from(key, reply, first, listed.size)
        head = pacer.call(lambda: s3.head_object(Bucket=bucket, Key=key))
        return _state_from(key, head, b"", 0)
    except ClientError as err:
        code = error_code(err)
        reason = {
            "NoSuchKey": "deleted since it was listed",
            "404": "deleted since it was listed",
            "AccessDenied": "the console may not read it (s3:GetObject)",
            "403": "the console may not read it (s3:GetObject)",
        }.get(code, f"S3 answered {code or 'an error'}")
        return ObjectState(key, listed.etag, listed.size, None, None, b"", error=reason)
    except BotoCoreError as err:
        return ObjectState(
            key, listed.etag, listed.size, None, None, b"", error=f"S3 could not be reached ({type(err).__name__})"
        )
