"""Browse the bucket one S3 page at a time, and look at one object from every side (S3, CDN, anonymous).

Scale is the design constraint: a real bucket holds millions of keys, so a page is exactly one
``list_objects_v2`` call with ``MaxKeys`` = the page size, paging forward is one more call with the
continuation token, and "previous" replays a remembered token. Nothing here ever walks the bucket, and
nothing keeps pages: a :class:`Cursor` remembers tokens only. S3 lists keys in UTF-8 binary order and has
no listing by date, so "newest first" can only sort the page in hand, and says so.

Thumbnails are the objects themselves, loaded by the viewer's browser from their CDN URLs.
Deletes and invalidations refuse to run unless the profile's writes switch is on (services/core/writes.py), and on
a production profile unless the profile's name was typed too, whoever calls them.
"""

from __future__ import annotations

import json
import mimetypes
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from services.aws_model import partitions, statements
from services.aws_model.s3endpoints import EndpointMatch
from services.aws_model.s3errors import CREDENTIAL_CODES, WRONG_REGION_CODES, is_denied, parse_s3_error
from services.core import writes
from services.core.clients import make_client
from services.core.environment import environment_digest
from services.core.errors import ConfigError, ConsoleError, PipelineError
from services.core.settings import Settings
from services.core.transport import PROBE_DEADLINE, DeadlineExceeded, attempt, new_session
from services.core.units import human_size
from services.pipeline.explain import Existence, existence_of, explain_cdn
from services.pipeline.images import file_extension
from services.pipeline.presign import UrlAllowlist
from services.pipeline.upload import cdn_object_url

PAGE_SIZES = (24, 48, 96, 200)
DEFAULT_PAGE_SIZE = 48
MAX_KEYS = 1000  # S3 returns at most 1,000 keys per list call, whatever MaxKeys asks for
#: Larger objects get a placeholder: a gallery of 200 tiles must not make the browser fetch gigabytes.
MAX_THUMBNAIL_BYTES = 10 * 1024 * 1024
MAX_ERROR_BODY = 16 * 1024
#: Types a browser shows in an <img>, by extension (list_objects_v2 returns no Content-Type).
#: (not MIME_BY_EXTENSION, the types the pipeline stores: a browser shows more than the pipeline accepts)
BROWSER_IMAGE_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "avif": "image/avif",
    "svg": "image/svg+xml",
    "bmp": "image/bmp",
    "ico": "image/x-icon",
}
CDN_HEADERS = ("X-Cache", "Age", "Cache-Control", "Content-Type", "Content-Encoding", "Content-Length", "ETag")
NEWEST_FIRST_NOTE = (
    "Newest first sorts **this page only**: S3 lists keys in key order and cannot list by date, "
    "so ordering the whole bucket by date would mean reading every key in it."
)
TYPE_NOTE = (
    "The type column is guessed from each key's extension: a listing carries no Content-Type. "
    "The stored Content-Type is in the object's detail (S3 HEAD)."
)
NO_DISTRIBUTION_NOTE = (
    "No distribution is configured (PIPELINE_DISTRIBUTION_ID), so none is invalidated: a deleted object's CDN copy "
    "is served until its TTL runs out."
)
# --- errors ---------------------------------------------------------------------------------------


class BrowseError(PipelineError):
    """An S3 or CloudFront call made while browsing failed. ``permission`` names the IAM action it needed."""

    def __init__(self, message: str, *, permission: str | None = None, **details: Any) -> None:
        super().__init__(message, **details)
        self.permission = permission

    @property
    def denied(self) -> bool:
        """AWS knew who asked and said no (as opposed to not recognising the credentials)."""
        return is_denied(self.code, self.http_status)


class ListingDenied(BrowseError):
    """S3 refused to list the bucket: the console's identity may not ``s3:ListBucket`` it."""


#: a delete or an invalidation was asked for while writes are off: the writes switch's refusal
WritesDisabled = writes.WritesOff


def _cause(
    code: str | None, status: int | None, permission: str, resource: str, bucket: str, partition: str = "aws"
) -> str:
    if code in CREDENTIAL_CODES:
        return (
            f"AWS does not accept the console's credentials ({code}): the access key is unknown, revoked or its "
            "secret is wrong. Check AWS_PROFILE / AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY."
        )
    if is_denied(code, status):
        hidden = (
            " Or the key does not exist and the identity may not s3:ListBucket: S3 then answers 403, not 404."
            if permission == "s3:GetObject"
            else ""
        )
        grant = _grant_statement(permission, bucket, partition)
        return (
            f"The console's role lacks {permission} on {resource}. Grant it to the console's identity"
            + (f" (`{grant}`)" if grant else "")
            + f", and check that no bucket policy or SCP denies it.{hidden}"
        )
    if code == "NoSuchBucket":
        return f"There is no bucket named {bucket!r} here: check PIPELINE_BUCKET and the account."
    if code in WRONG_REGION_CODES or status in (301, 307):
        return f"The bucket {bucket!r} is in another region: set AWS_REGION to the bucket's region."
    if code in ("NoSuchKey", "404") or status == 404:
        return "The object is not there (it may have just been deleted)."
    if code == "NoSuchDistribution":
        return "PIPELINE_DISTRIBUTION_ID names no distribution in this account."
    return f"AWS answered {code or 'an error'} (HTTP {status})."


def _grant_statement(permission: str, bucket: str, partition: str = "aws") -> str | None:
    """The IAM statement granting an S3 permission the console lacked (objects: every key, not just this one)."""
    if not permission.startswith("s3:"):
        return None
    resource = statements.bucket_arn(bucket, partition) + ("" if permission == "s3:ListBucket" else "/*")
    return json.dumps({"Effect": "Allow", "Action": permission, "Resource": resource})


def _translate(
    err: Exception, *, action: str, permission: str, bucket: str, key: str | None = None, region: str | None = None
) -> BrowseError:
    """Turn a botocore failure into a BrowseError carrying status, code, permission and a plain cause."""
    partition = partitions.of_region(region)
    if permission.startswith("s3:"):
        resource, hop = statements.bucket_arn(bucket, partition) + (f"/{key}" if key is not None else ""), "s3"
    else:
        resource, hop = "the distribution (PIPELINE_DISTRIBUTION_ID)", "cloudfront"
    if isinstance(err, ClientError):
        code = err.response.get("Error", {}).get("Code")
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        denied = is_denied(code, status)
        kind = ListingDenied if denied and permission == "s3:ListBucket" else BrowseError
        shown = "" if code == str(status) else code or ""  # HEAD errors have no body: the code is the status
        return kind(
            f"{action} failed: HTTP {status} {shown}".strip(),
            permission=permission,
            hop=hop,
            http_status=status,
            code=code,
            bucket=bucket,
            key=key,
            cause=_cause(code, status, permission, resource, bucket, partition),
        )
    if isinstance(err, NoCredentialsError):
        cause = "No AWS credentials were found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY."
    else:
        cause = "AWS could not be reached from here: check the network, AWS_REGION and any AWS_ENDPOINT_URL."
    return BrowseError(
        f"{action} failed: {type(err).__name__}", permission=permission, hop=hop, bucket=bucket, key=key, cause=cause
    )


#: the translation, for other operations on the bucket (the repair)
translate_aws_error = _translate


# --- a page of the listing --------------------------------------------------------------------------


def guess_type(key: str) -> str | None:
    """The Content-Type a key's extension suggests (a guess: the listing does not say)."""
    if key.endswith("/"):
        return None
    ext = file_extension(key)
    return BROWSER_IMAGE_TYPES.get(ext) or (mimetypes.types_map.get(f".{ext}") if ext else None)


def display_key(key: str) -> str:
    """A key safe to print on one line: control and invisible format characters escaped (S3 allows them)."""
    return "".join(
        ch.encode("unicode_escape").decode("ascii") if unicodedata.category(ch) in ("Cc", "Cf") else ch for ch in key
    )


def inline_code(text: str) -> str:
    """``text`` as Markdown inline code, whatever backticks it holds."""
    text = display_key(text)
    fence = "`"
    while fence in text:
        fence += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


@dataclass(frozen=True)
class ObjectEntry:
    """One key as the listing gives it, with its CDN URL."""

    key: str
    size: int
    last_modified: datetime
    etag: str
    cdn_url: str

    @property
    def guessed_type(self) -> str | None:
        return guess_type(self.key)

    @property
    def is_image(self) -> bool:
        return self.guessed_type in BROWSER_IMAGE_TYPES.values()

    @property
    def placeholder(self) -> str | None:
        """Why the gallery shows a placeholder instead of a thumbnail; None when it shows the image."""
        if self.key.endswith("/"):
            return "folder marker"
        if not self.is_image:
            return f"not an image ({self.guessed_type or 'unknown type'})"
        if self.size == 0:
            return "empty object"
        if self.size > MAX_THUMBNAIL_BYTES:
            return f"{human_size(self.size)}: too large for a thumbnail"
        return None

    def to_json(self) -> dict[str, Any]:
        """The CLI's ``--json`` shape (one line per object)."""
        return {
            "key": self.key,
            "size": self.size,
            "type": self.guessed_type,
            "type_source": "extension",
            "last_modified": self.last_modified.isoformat(),
            "etag": self.etag,
            "cdn_url": self.cdn_url,
        }


@dataclass(frozen=True)
class ListingPage:
    """What one list_objects_v2 call returned."""

    bucket: str
    prefix: str
    page_size: int
    token: str | None
    entries: tuple[ObjectEntry, ...]
    next_token: str | None


def credentials_fingerprint(env: Mapping[str, str]) -> str:
    """A digest of the AWS_* variables: a cached client or page must not outlive a change of identity."""
    return environment_digest(env)


def s3_client(settings: Settings) -> Any:
    return make_client("s3", settings.aws)


def cloudfront_client(settings: Settings) -> Any:
    return make_client("cloudfront", settings.aws)


def list_page(
    s3: Any, settings: Settings, *, prefix: str = "", page_size: int = DEFAULT_PAGE_SIZE, token: str | None = None
) -> ListingPage:
    """One page of keys in S3's key order: exactly one list_objects_v2 call with MaxKeys = ``page_size``.

    Raises ListingDenied when the identity may not s3:ListBucket, BrowseError for anything else AWS says.
    """
    if not 1 <= page_size <= MAX_KEYS:
        raise ValueError(f"page_size must be 1..{MAX_KEYS}, not {page_size}")
    params: dict[str, Any] = {"Bucket": settings.bucket, "MaxKeys": page_size}
    if prefix:
        params["Prefix"] = prefix
    if token:
        params["ContinuationToken"] = token
    try:
        reply = s3.list_objects_v2(**params)
    except (ClientError, BotoCoreError) as err:
        raise _translate(
            err,
            action="Listing the bucket",
            permission="s3:ListBucket",
            bucket=settings.bucket,
            region=settings.aws.region,
        ) from err
    base = settings.cdn_base()
    entries = tuple(
        ObjectEntry(
            key=item["Key"],
            size=int(item.get("Size", 0)),
            last_modified=item["LastModified"].astimezone(UTC),  # botocore gives local time
            etag=str(item.get("ETag", "")).strip('"'),
            cdn_url=cdn_object_url(base, item["Key"]),
        )
        for item in reply.get("Contents", [])
    )
    next_token = reply.get("NextContinuationToken") if reply.get("IsTruncated") else None
    return ListingPage(settings.bucket, prefix, page_size, token, entries, next_token)


def iter_pages(s3: Any, settings: Settings, *, prefix: str = "", limit: int = 1000) -> Iterator[ListingPage]:
    """Pages in key order until ``limit`` keys (the CLI's listing): each call asks for no more than is left."""
    token: str | None = None
    left = limit
    while left > 0:
        page = list_page(s3, settings, prefix=prefix, page_size=min(MAX_KEYS, left), token=token)
        yield page
        left -= len(page.entries)
        token = page.next_token
        if token is None or not page.entries:
            return


def ordered(entries: Sequence[ObjectEntry], newest_first: bool) -> list[ObjectEntry]:
    """The page's entries in key order (as listed), or newest first (within this page only)."""
    if not newest_first:
        return list(entries)
    return sorted(entries, key=lambda e: (-e.last_modified.timestamp(), e.key))


def table_rows(entries: Iterable[ObjectEntry], names: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """The table view's rows; ``names`` (key -> the file name it was uploaded with, from the history) adds an
    "uploaded as" column."""
    return [
        {
            "key": display_key(e.key),
            **({"uploaded as": display_key(names.get(e.key) or "")} if names is not None else {}),
            "size": e.size,
            "type (from extension)": e.guessed_type or "unknown",
            "last modified": e.last_modified,
            "ETag": e.etag,
            "CDN URL": e.cdn_url,
        }
        for e in entries
    ]


# --- where the person is: tokens only --------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """A position in a listing: the continuation tokens that led to the current page (a stack, so
    "previous" is a pop) and how many keys have been seen. It never holds a page, so memory stays flat."""

    prefix: str = ""
    page_size: int = DEFAULT_PAGE_SIZE
    tokens: tuple[str, ...] = ()
    seen: int = 0

    @property
    def token(self) -> str | None:
        return self.tokens[-1] if self.tokens else None

    @property
    def page_number(self) -> int:
        return len(self.tokens) + 1

    @property
    def first_index(self) -> int:
        """1-based position of the page's first key (every earlier page was full: S3 fills MaxKeys)."""
        return len(self.tokens) * self.page_size + 1

    def matches(self, prefix: str, page_size: int) -> bool:
        return self.prefix == prefix and self.page_size == page_size

    def forward(self, next_token: str) -> Cursor:
        return replace(self, tokens=(*self.tokens, next_token))

    def back(self) -> Cursor:
        return replace(self, tokens=self.tokens[:-1])

    def saw(self, page: ListingPage) -> Cursor:
        return replace(self, seen=max(self.seen, self.first_index - 1 + len(page.entries)))


def position_text(cursor: Cursor, page: ListingPage) -> str:
    """e.g. "Page 2 · keys 49–96 · 96 seen so far · more after this page"."""
    last = cursor.first_index - 1 + len(page.entries)
    keys = f"keys {cursor.first_index:,}–{last:,}" if page.entries else "no keys"
    more = "more after this page" if page.next_token else "end of the listing"
    return f"Page {cursor.page_number} · {keys} · {cursor.seen:,} seen so far · {more}"


def empty_text(page: ListingPage, first_page: bool) -> str:
    """What an empty page means, in plain words."""
    if page.prefix:
        return (
            f"No objects under the prefix {inline_code(page.prefix)} in `{page.bucket}`. Prefixes are literal and "
            "case-sensitive (no wildcards): check the spelling, or clear the filter."
        )
    if first_page:
        return f"The bucket `{page.bucket}` is empty: nothing has been uploaded yet."
    return "No more objects: they were deleted since the previous page was listed."


# --- CLI formatting -------------------------------------------------------------------------------


#: key(s) -> the file name each was uploaded with, where the history recorded one
NamesOf = Callable[[Sequence[str]], Mapping[str, str]]


def _no_names(_keys: Sequence[str]) -> Mapping[str, str]:
    return {}


def format_listing(pages: Iterable[ListingPage], names_of: NamesOf = _no_names) -> Iterator[str]:
    """Human lines: last modified, size, guessed type, key (and the name it was uploaded as, where recorded), CDN
    URL; then a summary line starting ``--``."""
    count, more, last = 0, False, None
    for page in pages:
        last = page
        more = page.next_token is not None
        names = names_of([e.key for e in page.entries])
        for e in page.entries:
            count += 1
            named = f"  (uploaded as {names[e.key]!r})" if e.key in names else ""
            yield (
                f"{e.last_modified:%Y-%m-%dT%H:%M:%SZ}  {e.size:>12,}  {e.guessed_type or 'unknown':<16}  "
                f"{display_key(e.key)}{named}  {e.cdn_url}"
            )
    if last is None:
        return
    if count == 0:
        yield "-- " + empty_text(last, first_page=True).replace("`", "'")
        return
    where = f" under prefix {last.prefix!r}" if last.prefix else ""
    tail = "more after these (raise --limit or narrow --prefix)" if more else "end of the listing"
    yield f"-- {count:,} object(s){where} in key order, type guessed from the extension; {tail}"


def listing_json(pages: Iterable[ListingPage], names_of: NamesOf = _no_names) -> Iterator[str]:
    """JSON Lines, one object per key (shape: ObjectEntry.to_json, with ``uploaded_as``: the file name it was
    uploaded with, or null where none was recorded)."""
    for page in pages:
        names = names_of([e.key for e in page.entries])
        for entry in page.entries:
            yield json.dumps({**entry.to_json(), "uploaded_as": names.get(entry.key)}, ensure_ascii=False)


# --- found by the name it was uploaded with --------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """What the history recorded of one upload that stored an object (services/history: the caller reads it)."""

    file_name: str
    key: str
    uploaded_at: datetime
    by: str


@dataclass(frozen=True)
class FoundObject:
    """An object found by the name it was uploaded with: the recorded upload, and what S3 holds under its key now."""

    upload: Upload
    cdn_url: str
    head: S3Head | None  # None: not in the bucket any more, or (error) not readable
    error: BrowseError | None = None

    @property
    def state(self) -> str:
        if self.head is not None:
            return "stored"
        return "unreadable" if self.error is not None else "gone"

    def to_json(self) -> dict[str, Any]:
        """``browse --name --json``: one object per line."""
        head = self.head
        return {
            "uploaded_as": self.upload.file_name,
            "key": self.upload.key,
            "uploaded_at": self.upload.uploaded_at.isoformat(),
            "uploaded_by": self.upload.by,
            "state": self.state,
            "size": None if head is None else head.size,
            "content_type": None if head is None else head.content_type,
            "etag": None if head is None else head.etag,
            "cdn_url": self.cdn_url,
            "error": None if self.error is None else str(self.error),
        }


def locate(s3: Any, settings: Settings, uploads: Iterable[Upload]) -> list[FoundObject]:
    """Each upload's object as S3 holds it now (one HEAD each: a search's few matches, never a walk)."""
    base = settings.cdn_base()
    found = []
    for upload in uploads:
        head, error = None, None
        try:
            head = _head(s3, settings.bucket, upload.key)
        except BrowseError as err:
            if err.http_status != 404:  # a 404 is an object deleted since: "gone", not an error
                error = err
        found.append(FoundObject(upload, cdn_object_url(base, upload.key), head, error))
    return found


def found_markdown(item: FoundObject) -> str:
    """One result of the page's search by uploaded name, as Markdown (names and keys as literal code)."""
    now = {"stored": "in the bucket", "gone": "no longer in the bucket", "unreadable": "not readable"}[item.state]
    if item.head is not None:
        now += f", {human_size(item.head.size)}, {inline_code(item.head.content_type or 'no type')}"
    upload = item.upload
    return (
        f"{inline_code(display_key(upload.file_name))} → {inline_code(display_key(upload.key))} · {now} · "
        f"uploaded {upload.uploaded_at:%Y-%m-%d %H:%M} UTC by {inline_code(upload.by)}"
    )


def format_found(found: Sequence[FoundObject], name: str) -> Iterator[str]:
    """Human lines: uploaded at, by, the name it was uploaded as, its key, what S3 holds now; then a summary."""
    for item in found:
        now = (
            f"{item.head.size:,} B {item.head.content_type or '(no type)'}  {item.cdn_url}"
            if item.head is not None
            else ("no longer in the bucket" if item.error is None else f"not readable: {item.error}")
        )
        yield (
            f"{item.upload.uploaded_at:%Y-%m-%dT%H:%M:%SZ}  {item.upload.file_name!r} -> "
            f"{display_key(item.upload.key)}  {now}  by {item.upload.by}"
        )
    yield f"-- {len(found)} object(s) uploaded with a name containing {name!r} (newest first, from the history)"


# --- one object from every side --------------------------------------------------------------------


@dataclass(frozen=True)
class S3Head:
    content_type: str | None
    cache_control: str | None
    etag: str
    size: int
    last_modified: datetime | None
    encryption: str | None
    kms_key_id: str | None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HttpProbe:
    """One unauthenticated HTTP exchange: the URL, the status and the headers that matter (or why none)."""

    method: str
    url: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    code: str | None = None
    error: str | None = None

    @property
    def outcome(self) -> str:
        if self.status is None:
            return f"no answer: {self.error}"
        return f"HTTP {self.status} {self.code or ''}".strip()


@dataclass(frozen=True)
class Note:
    level: str  # "ok" | "info" | "warn" | "error"
    text: str


@dataclass(frozen=True)
class ObjectDetail:
    bucket: str
    key: str
    cdn_url: str
    s3_uri: str
    head: S3Head | None
    head_error: BrowseError | None
    cdn: HttpProbe
    anonymous: HttpProbe

    @property
    def existence(self) -> Existence:
        """Whether the object is there, by the console's own HEAD of it (S3 hides a missing key behind a 403 from
        whoever may not list the bucket, CloudFront included): what tells a CDN 403 for a missing object from a
        refused grant."""
        if self.head is not None:
            return Existence.PRESENT
        error = self.head_error
        return existence_of(error.code, error.http_status) if error is not None else Existence.UNKNOWN

    @property
    def anonymous_denied(self) -> bool | None:
        """True when S3 refused the unsigned GET (as it should), False when it served it, None when unknown."""
        if self.anonymous.status is None:
            return None
        return self.anonymous.status in (401, 403)

    def s3_rows(self) -> list[dict[str, str]]:
        if self.head is None:
            return []
        h = self.head
        encryption = f"{h.encryption} ({h.kms_key_id})" if h.kms_key_id else h.encryption
        rows = {
            "Content-Type": h.content_type,
            "Cache-Control": h.cache_control,
            "ETag": h.etag,
            "Size": f"{h.size:,} bytes ({human_size(h.size)})",
            "Last-Modified": f"{h.last_modified:%Y-%m-%d %H:%M:%S %Z}" if h.last_modified else None,
            "Encryption": encryption,
            **{f"x-amz-meta-{name}": value for name, value in h.metadata.items()},
        }
        return [{"field": name, "value": value or "(not set)"} for name, value in rows.items()]

    def cdn_rows(self) -> list[dict[str, str]]:
        status = str(self.cdn.status) if self.cdn.status is not None else f"no answer ({self.cdn.error})"
        rows = [{"header": "status", "value": status}]
        return rows + [{"header": name, "value": self.cdn.headers.get(name, "(absent)")} for name in CDN_HEADERS]


def object_s3_url(s3: Any, bucket: str, key: str) -> str:
    """The object's plain S3 URL for this client (the presigned query removed, never shown or sent)."""
    signed = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=60)
    return urlunsplit(urlsplit(signed)._replace(query="", fragment=""))


def _head(s3: Any, bucket: str, key: str) -> S3Head:
    try:
        reply = s3.head_object(Bucket=bucket, Key=key)
    except (ClientError, BotoCoreError) as err:
        raise _translate(
            err,
            action="Reading the object's metadata",
            permission="s3:GetObject",
            bucket=bucket,
            key=key,
            region=s3.meta.region_name,
        ) from err
    return S3Head(
        content_type=reply.get("ContentType"),
        cache_control=reply.get("CacheControl"),
        etag=str(reply.get("ETag", "")).strip('"'),
        size=int(reply.get("ContentLength", 0)),
        last_modified=reply["LastModified"].astimezone(UTC) if reply.get("LastModified") else None,
        encryption=reply.get("ServerSideEncryption"),
        kms_key_id=reply.get("SSEKMSKeyId"),
        metadata=dict(reply.get("Metadata") or {}),
    )


def _probe(
    session: requests.Session,
    method: str,
    url: str,
    headers: dict[str, str] | None = None,
    deadline_s: float = PROBE_DEADLINE,
) -> HttpProbe:
    """One request with no credentials, finished within ``deadline_s``; at most MAX_ERROR_BODY bytes of the body
    are read (an error body's code is all that is kept)."""
    outcome = attempt(session, method, url, headers=headers or {}, deadline_s=deadline_s, limit=MAX_ERROR_BODY)
    answer = outcome.answer
    if answer is None:
        failure = outcome.failure
        if isinstance(failure, DeadlineExceeded):
            return HttpProbe(
                method, url, error=f"did not finish answering within {deadline_s:g} s (a trickle of bytes)"
            )
        return HttpProbe(method, url, error=f"could not connect ({type(failure).__name__})")
    code = parse_s3_error(answer.body).code if answer.status >= 300 and method != "HEAD" else None
    kept = {name: answer.headers[name] for name in CDN_HEADERS if name in answer.headers}
    return HttpProbe(method, url, answer.status, kept, code)


def s3_url_verdict(settings: Settings, url: str) -> EndpointMatch:
    """Is ``url`` (the S3 client's URL of an object) the bucket's own endpoint? The upload's judgement."""
    return UrlAllowlist.from_settings(settings).match_url(url)


def _anonymous_read(session: requests.Session, settings: Settings, url: str, deadline_s: float) -> HttpProbe:
    """The unsigned GET, only to the bucket's own endpoint: a 403 from any other host would prove nothing."""
    verdict = s3_url_verdict(settings, url)
    if not verdict.ok:
        host = urlsplit(url).hostname
        return HttpProbe(
            "GET", url, error=f"the S3 client's URL ({host}) is not the bucket's endpoint ({verdict.reason})"
        )
    return _probe(session, "GET", url, deadline_s=deadline_s)


def describe_object(s3: Any, settings: Settings, key: str, deadline_s: float = PROBE_DEADLINE) -> ObjectDetail:
    """The object as S3 stores it (HEAD), as the CDN serves it (HEAD, like a browser), and whether S3 serves
    it to anyone without a signature (an unsigned GET to its S3 URL: it must be denied). Each of the two HTTP
    probes finishes within ``deadline_s``: a CDN or S3 that drips its answer is reported, not waited for."""
    head: S3Head | None = None
    head_error: BrowseError | None = None
    try:
        head = _head(s3, settings.bucket, key)
    except BrowseError as err:
        head_error = err
    cdn_url = cdn_object_url(settings.cdn_base(), key)
    with new_session(pool_size=2) as session:
        cdn = _probe(session, "HEAD", cdn_url, {"Accept-Encoding": "gzip, deflate, br"}, deadline_s)
        try:
            s3_url = object_s3_url(s3, settings.bucket, key)
        except BotoCoreError as err:  # e.g. no credentials to build the URL with
            anonymous = HttpProbe("GET", "", error=f"could not build the object's S3 URL ({type(err).__name__})")
        else:
            anonymous = _anonymous_read(session, settings, s3_url, deadline_s)
    return ObjectDetail(
        settings.bucket, key, cdn_url, f"s3://{settings.bucket}/{key}", head, head_error, cdn, anonymous
    )


def detail_notes(detail: ObjectDetail) -> list[Note]:
    """What the evidence means, worst first."""
    notes: list[Note] = []
    if detail.head_error is not None:
        notes.append(Note("error", f"S3 HEAD: {detail.head_error} — {detail.head_error.cause}"))
    cdn = detail.cdn
    if cdn.status is None:
        notes.append(Note("error", f"The CDN did not answer: {cdn.error}. Check PIPELINE_CDN_URL."))
    elif cdn.status != 200:
        cause = explain_cdn(
            cdn.status, cdn.headers.get("X-Cache"), cdn.headers.get("Age"), existence=detail.existence, key=detail.key
        )
        notes.append(Note("error", cause))
    if detail.anonymous_denied is False and detail.anonymous.status is not None and detail.anonymous.status < 300:
        notes.append(
            Note(
                "warn",
                f"Anyone can read this object straight from S3 without a signature (HTTP {detail.anonymous.status}): "
                "the bucket is public. Turn Block Public Access on and grant reads to CloudFront only.",
            )
        )
    elif detail.anonymous_denied:
        notes.append(
            Note(
                "ok",
                f"Direct anonymous S3 access is denied (HTTP {detail.anonymous.status} {detail.anonymous.code or ''})."
                " Readers must go through the CDN.",
            )
        )
    elif detail.anonymous.error:
        notes.append(Note("info", f"Could not try an anonymous S3 GET: {detail.anonymous.error}."))
    stored = detail.head.content_type if detail.head else None
    expected = guess_type(detail.key)
    if stored and expected in BROWSER_IMAGE_TYPES.values() and not stored.startswith("image/"):
        notes.append(
            Note(
                "warn",
                f"Stored as {stored}, not {expected}: browsers download it instead of showing it. The presign "
                "function must sign the real image type.",
            )
        )
    served = cdn.headers.get("Content-Type")
    if stored and served and cdn.status == 200 and served != stored:
        notes.append(Note("info", f"The CDN serves Content-Type {served}; S3 stores {stored}."))
    return notes


# --- writes (only with the writes switch on) -------------------------------------------------------


@dataclass(frozen=True)
class Invalidation:
    id: str
    status: str
    paths: tuple[str, ...]

    @property
    def text(self) -> str:
        return f"Invalidation `{self.id}` ({self.status}) created for `{', '.join(self.paths)}`."


def invalidation_path(key: str) -> str:
    """The CDN path to invalidate: exactly the path of the console's CDN URL for ``key`` (same encoding)."""
    return urlsplit(cdn_object_url("http://cdn", key)).path


def delete_object(s3: Any, settings: Settings, key: str, *, confirm_profile: str | None = None) -> None:
    """Delete ``key`` from the bucket. Refuses (before any call) unless writes are allowed and, on a production
    profile, ``confirm_profile`` is the profile's name (services/core/writes.py)."""
    writes.require(settings, f"Deleting {display_key(key)!r}", confirm_profile=confirm_profile)
    try:
        s3.delete_object(Bucket=settings.bucket, Key=key)
    except (ClientError, BotoCoreError) as err:
        raise _translate(
            err,
            action="Deleting the object",
            permission="s3:DeleteObject",
            bucket=settings.bucket,
            key=key,
            region=settings.aws.region,
        ) from err


def invalidate_object(
    cloudfront: Any, settings: Settings, key: str, *, confirm_profile: str | None = None
) -> Invalidation:
    """Create a CloudFront invalidation for ``key``'s CDN path. Refuses (before any call) unless writes are allowed
    and, on a production profile, ``confirm_profile`` is the profile's name."""
    writes.require(settings, f"Invalidating {display_key(key)!r}", confirm_profile=confirm_profile)
    return send_invalidation(cloudfront, settings, key)


def send_invalidation(cloudfront: Any, settings: Settings, key: str) -> Invalidation:
    """The CloudFront invalidation of ``key``'s CDN path, for a caller that has checked writes itself (the
    check run removing the canary it wrote); ConfigError without a distribution, BrowseError when AWS refuses."""
    if not settings.distribution_id:
        raise ConfigError(
            "PIPELINE_DISTRIBUTION_ID is not set: the console does not know which distribution to invalidate"
        )
    paths = (invalidation_path(key),)
    batch = {"Paths": {"Quantity": len(paths), "Items": list(paths)}, "CallerReference": f"console-{uuid.uuid4()}"}
    try:
        reply = cloudfront.create_invalidation(DistributionId=settings.distribution_id, InvalidationBatch=batch)
    except (ClientError, BotoCoreError) as err:
        raise _translate(
            err,
            action="Creating the invalidation",
            permission="cloudfront:CreateInvalidation",
            bucket=settings.bucket,
            key=key,
        ) from err
    invalidation = reply.get("Invalidation", {})
    return Invalidation(id=invalidation.get("Id", "?"), status=invalidation.get("Status", "?"), paths=paths)


def error_text(err: ConsoleError) -> str:
    """A console error as Markdown: what failed, the permission it needed, the likely cause."""
    lines = [f"**{err}**"]
    if isinstance(err, BrowseError):
        if err.permission and err.denied:
            lines.append(f"Needs the IAM permission `{err.permission}`.")
        if err.cause:
            lines.append(f"Likely cause: {err.cause}")
    return "  \n".join(lines)


def cli_error(err: ConsoleError) -> str:
    """A console error for the terminal: what failed, the permission it needed, the likely cause."""
    lines = [f"error: {err}"]
    if isinstance(err, BrowseError):
        if err.permission and err.denied:
            lines.append(f"       needs: {err.permission}")
        if err.cause:
            lines.append(f"       cause: {err.cause}")
    return "\n".join(lines)
