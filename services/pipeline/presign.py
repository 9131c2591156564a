"""Ask the presign endpoint for an upload URL, exactly as the web app does, and refuse any reply that would
send the file anywhere but the configured bucket.

The endpoint's reply decides where the file's bytes go, so it is checked before a byte is sent: the URL
must be one of the configured bucket's own S3 endpoints (``UrlAllowlist``), https (plain http only for a
local sandbox), without credentials before the host, and its path must name the key the reply names.
502/503/504 (API Gateway's "try again") are retried with backoff; nothing else is.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import SplitResult, parse_qsl, unquote, urlsplit

import requests
import urllib3.util
from urllib3.exceptions import LocationParseError

from services.aws_model import postpolicy, s3endpoints
from services.aws_model.s3endpoints import Endpoint, default_port
from services.core.errors import PipelineError
from services.core.settings import Settings
from services.core.transport import TIMEOUT, Answer, AttemptLog, Backoff, DeadlineExceeded, exchange, retrying
from services.pipeline.explain import explain_presign, region_fix
from services.pipeline.images import MIME_BY_EXTENSION

MAX_REPLY_BYTES = 64 * 1024  # a presign reply is a few hundred bytes; anything larger is not one
#: API Gateway's answers that mean "try again": bad gateway, throttled or unavailable, integration timeout
RETRYABLE_STATUSES = frozenset({502, 503, 504})
PRESIGN_DEADLINE = 30.0  # seconds for one presign request, from connecting to the last byte of the reply
DEFAULT_BACKOFF = Backoff(attempts=3, base=0.2, cap=2.0)
#: a host name (letters, digits, dots, hyphens) or a bracketed IPv6 literal, then an optional port
NETLOC = re.compile(r"^(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$")
#: what no presigned URL contains: control characters and space (up to 0x20), backslash, DEL
_UNSAFE_CHAR = re.compile(r"[\x00-\x20\\\x7f]")


@dataclass(frozen=True)
class PresignGrant:
    """What the endpoint granted. ``url`` is a bearer credential: never log or show it unredacted."""

    url: str = field(repr=False)
    key: str
    content_type: str | None  # the type the endpoint says it signed (our function's ``contentType``)
    http_status: int = 200
    attempts: int = 1  # HTTP requests it took (502/503/504 are retried)
    #: a presigned POST's form fields (``url`` is then the form's action, the bucket's endpoint); None: a PUT URL.
    #: They hold the policy and its signature: never log or show them unredacted.
    fields: Mapping[str, str] | None = field(default=None, repr=False)

    @property
    def shape(self) -> str:
        """``put`` (a presigned PUT URL) or ``post`` (a presigned POST: a form to send with the file)."""
        return "put" if self.fields is None else "post"


def client_content_type(template: str, ext: str, mime: str) -> str:
    """The Content-Type the web app sends, from PIPELINE_CLIENT_CONTENT_TYPE (``application/{ext}`` by default)."""
    return template.format(ext=ext, mime=mime)


def _fail(message: str, status: int | None, cause: str) -> PipelineError:
    return PipelineError(message, hop="presign", http_status=status, cause=cause)


def parse_grant(status: int, body: bytes) -> PresignGrant:
    """Validate a 200 reply: a JSON object with a non-empty http(s) ``presignedUrl`` and a ``key``."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        snippet = body[:80].decode("utf-8", "replace")
        raise _fail(
            f"presign endpoint replied {status} but not with JSON (starts {snippet!r})",
            status,
            "The URL may point at a web page or a proxy rather than the API: check PIPELINE_PRESIGN_URL.",
        ) from err
    if not isinstance(doc, dict):
        raise _fail(
            f"presign reply is JSON {type(doc).__name__}, not an object",
            status,
            'The function must return {"presignedUrl", "key"}.',
        )
    if "fields" in doc and "presignedUrl" not in doc:
        return _parse_post_grant(doc, status)
    url, key, content_type = doc.get("presignedUrl"), doc.get("key"), doc.get("contentType")
    if not isinstance(url, str) or not url.strip():
        raise _fail(
            "presign reply has no presignedUrl",
            status,
            'The function must return {"presignedUrl": "https://…", "key": "…"}.',
        )
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise _fail(
            "presign reply's presignedUrl is not an http(s) URL",
            status,
            "The function returned something other than a presigned S3 URL.",
        )
    if not isinstance(key, str) or not key.strip():
        raise _fail("presign reply has no key", status, 'The function must return the object key it signed, as "key".')
    if content_type is not None and (not isinstance(content_type, str) or not content_type.strip()):
        raise _fail(
            "presign reply's contentType is not a string",
            status,
            "contentType, when present, must be the signed MIME type.",
        )
    return PresignGrant(url=url.strip(), key=key.strip(), content_type=content_type, http_status=status)


POST_SHAPE = 'A presigned POST reply is {"url": "https://…", "fields": {…}, "key": "…", "contentType": "…"}.'


def _parse_post_grant(doc: Mapping[str, object], status: int) -> PresignGrant:
    """A presigned POST: ``{"url", "fields", "key", "contentType"}`` (boto3's generate_presigned_post's ``url`` and
    ``fields``; the key and the signed type beside them)."""
    url, fields = doc.get("url"), doc.get("fields")
    if not isinstance(url, str) or not url.strip():
        raise _fail("presign reply has fields but no url", status, POST_SHAPE)
    if not isinstance(fields, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items()):
        raise _fail("presign reply's fields are not an object of strings", status, POST_SHAPE)
    named = {name.lower(): value for name, value in fields.items()}
    key = doc.get("key", named.get("key"))
    if not isinstance(key, str) or not key.strip():
        raise _fail("presign reply has no key", status, POST_SHAPE)
    content_type = doc.get("contentType", named.get("content-type"))
    if content_type is not None and (not isinstance(content_type, str) or not content_type.strip()):
        raise _fail("presign reply's contentType is not a string", status, POST_SHAPE)
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise _fail("presign reply's url is not an http(s) URL", status, POST_SHAPE)
    return PresignGrant(
        url=url.strip(), key=key.strip(), content_type=content_type, http_status=status, fields=dict(fields)
    )


# --- where a presigned URL may send the file ------------------------------------------------------------


@dataclass(frozen=True)
class UrlAllowlist:
    """The configured bucket's S3 endpoints: the only places a presigned URL may send a file.

    ``region`` None (not configured) accepts any region's endpoints, but still only this bucket's. The
    judgement itself is the model's (``services.aws_model.s3endpoints.match``), shared with ``presign.url``.
    """

    bucket: str
    region: str | None = None
    endpoint: Endpoint | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> UrlAllowlist:
        aws = settings.aws
        endpoint = Endpoint.parse(aws.s3_endpoint())
        return cls(bucket=settings.bucket, region=(aws.region or "").strip().lower() or None, endpoint=endpoint)

    def match(self, host: str, port: int, scheme: str, path: str) -> s3endpoints.EndpointMatch:
        return s3endpoints.match(
            host, port, scheme, path, bucket=self.bucket, region=self.region, endpoint=self.endpoint
        )

    def match_url(self, url: str) -> s3endpoints.EndpointMatch:
        return s3endpoints.match_url(url, bucket=self.bucket, region=self.region, endpoint=self.endpoint)

    def describe(self) -> str:
        """The allowed shapes, for a person reading why a URL was refused."""
        return ", ".join(s3endpoints.shapes(self.bucket, self.region, self.endpoint))


def _refuse(message: str, cause: str) -> PipelineError:
    return _fail(message, 200, cause + " Nothing was sent.")


def _split(url: str) -> tuple[SplitResult, str, int]:
    """The URL's parts, lower-case host and effective port; refuses what no presigned URL looks like."""
    if not url.isascii() or _UNSAFE_CHAR.search(url):
        raise _refuse(
            "presign reply's presignedUrl contains spaces, control characters, backslashes or non-ASCII",
            "A presigned S3 URL is plain ASCII; clients disagree on how to read anything else.",
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as err:
        raise _refuse(
            "presign reply's presignedUrl cannot be parsed", "The function returned a malformed URL."
        ) from err
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _refuse(
            "presign reply's presignedUrl is not an http(s) URL",
            "The function returned something other than a presigned S3 URL.",
        )
    if "@" in parts.netloc:
        raise _refuse(
            f"presign reply's presignedUrl carries a user name or password before the host ({parts.hostname})",
            "A presigned S3 URL never has user:password@ in it: the upload would hand credentials to that host.",
        )
    if not NETLOC.fullmatch(parts.netloc.lower()):
        raise _refuse(
            "presign reply's presignedUrl has a malformed host",
            "The host must be an S3 endpoint name, optionally with a port.",
        )
    if parts.fragment or url.endswith("#"):
        raise _refuse("presign reply's presignedUrl has a #fragment", "A presigned S3 URL never has one.")
    return parts, parts.hostname.lower(), port or default_port(parts.scheme)


def _check_address(host: str, allow: UrlAllowlist) -> None:
    """IP literals are refused (link-local always); an IP only as the configured endpoint itself."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:169.254.169.254 is the same place
    if address.is_link_local or (mapped is not None and mapped.is_link_local):
        raise _refuse(
            f"presign reply's presignedUrl points at the link-local address {host}",
            "Link-local addresses (169.254.0.0/16, fe80::/10) hold cloud instance metadata and credentials: "
            "the function is broken or its reply was tampered with.",
        )
    endpoint = allow.endpoint
    if endpoint is None or host != endpoint.host:
        raise _refuse(
            f"presign reply's presignedUrl points at the IP address {host}, not an S3 endpoint name",
            f"S3 presigned URLs name the bucket's endpoint, e.g. https://{allow.bucket}.s3.<region>.amazonaws.com/<key>.",
        )


def _wrong_target(host: str, verdict: s3endpoints.EndpointMatch, allow: UrlAllowlist) -> PipelineError:
    """Say whether the URL names another bucket, another region, or something that is not S3 at all."""
    named = verdict.addressed
    fix = "Check the function's bucket and region against PIPELINE_BUCKET and AWS_REGION."
    allowed = f"Allowed: {allow.describe()}."
    if verdict.reason == s3endpoints.OTHER_BUCKET and named is not None and named.style == "path":
        return _refuse(
            f"presign reply's presignedUrl is path-style but its path does not start with /{allow.bucket}/",
            "The URL names another bucket in its path. Check the function's bucket against PIPELINE_BUCKET.",
        )
    if verdict.reason == s3endpoints.OTHER_BUCKET and named is not None:
        return _refuse(
            f"presign reply's presignedUrl is for bucket {named.bucket!r}, not {allow.bucket!r} ({host})",
            f"The function signs for another bucket. {fix} {allowed}",
        )
    if verdict.reason == s3endpoints.OTHER_REGION and named is not None:
        return _refuse(
            f"presign reply's presignedUrl is for region {named.region!r}, not {allow.region!r} ({host})",
            f"The function signs for another region: S3 would answer 301 PermanentRedirect, which a browser's "
            f"upload does not survive. {region_fix(allow.region)} {allowed}",
        )
    if verdict.reason == s3endpoints.GLOBAL_OUTSIDE_US_EAST_1:
        return _refuse(
            f"presign reply's presignedUrl uses the global endpoint ({host}), which serves us-east-1 only, "
            f"but the bucket is configured in {allow.region!r}",
            "The function signs without the bucket's region: S3 would answer a 307 TemporaryRedirect (or 301 "
            f"PermanentRedirect), which a browser's CORS preflight cannot follow. {region_fix(allow.region)} {allowed}",
        )
    return _refuse(
        f"presign reply's presignedUrl points at {host}, not the S3 endpoint of bucket {allow.bucket!r}",
        f"The upload would go to another host. {fix} {allowed}",
    )


def _insecure(
    parts: SplitResult, host: str, port: int, verdict: s3endpoints.EndpointMatch, allow: UrlAllowlist
) -> PipelineError:
    endpoint = allow.endpoint
    if verdict.addressed is None or verdict.addressed.aws or endpoint is None:
        return _refuse(
            f"presign reply's presignedUrl uses {parts.scheme}://{host}:{port}, not https on port 443",
            "S3 presigned URLs must be https: plain http exposes the file and the signature on the way.",
        )
    if parts.scheme == "http" and not endpoint.local:
        return _refuse(
            f"presign reply's presignedUrl uses plain http to {host}",
            "Only a local sandbox (loopback or *.localhost) may be reached over plain http.",
        )
    return _refuse(
        f"presign reply's presignedUrl uses {parts.scheme}, the configured endpoint {endpoint.scheme}",
        "The URL must use the configured S3 endpoint's scheme.",
    )


def _style(parts: SplitResult, host: str, port: int, allow: UrlAllowlist) -> str:
    """Which addressing style the URL uses, after checking its host, port and scheme are the bucket's."""
    verdict = allow.match(host, port, parts.scheme, parts.path)
    if verdict.style is not None:
        return verdict.style
    if verdict.reason == s3endpoints.INSECURE:
        raise _insecure(parts, host, port, verdict, allow)
    raise _wrong_target(host, verdict, allow)


def _same_for_requests(url: str, parts: SplitResult, host: str, port: int) -> bool:
    """Does the HTTP client read the URL as we did? (urllib3 parses URLs itself, and drops dot segments.)

    Only the scheme, host, port, credentials and path are compared, and ``_split`` has refused fragments,
    backslashes, spaces and non-ASCII: both parsers end the path at the first "?". So urllib3 is given the
    URL without its query, which it would only re-escape byte by byte in Python (the signature, the
    credential: ~100 µs of a ~140 µs parse, per file).
    """
    try:
        theirs = urllib3.util.parse_url(url.partition("?")[0])
    except (LocationParseError, ValueError):
        return False
    their_host = (theirs.host or "").strip("[]").lower()
    return (
        theirs.scheme == parts.scheme
        and their_host == host
        and (theirs.port or default_port(parts.scheme)) == port
        and theirs.auth is None
        and unquote(theirs.path or "/") == unquote(parts.path or "/")
    )


def check_post_form(grant: PresignGrant, allow: UrlAllowlist) -> None:
    """Refuse (PipelineError, hop "presign") a presigned POST whose form would go anywhere but the configured
    bucket's endpoint (the bucket's root: the key travels in the form), or whose form names another key."""
    fields = {name.lower(): value for name, value in (grant.fields or {}).items()}
    parts, host, port = _split(grant.url)
    _check_address(host, allow)
    style = _style(parts, host, port, allow)
    rest = s3endpoints.object_key(parts.path or "/", style, allow.bucket)
    if rest is None and style == "path" and parts.path.rstrip("/") == f"/{allow.bucket}":
        rest = ""
    if rest is None or rest:
        raise _refuse(
            f"presign reply's url is not the bucket's own endpoint root ({(parts.path or '/')[:120]!r})",
            "A presigned POST's url is the bucket's endpoint (https://<bucket>.s3.<region>.amazonaws.com/); the key "
            "is a form field.",
        )
    if fields.get("key") != grant.key:
        raise _refuse(
            f"presign reply's form is for key {str(fields.get('key'))[:120]!r}, but the reply's key is {grant.key[:120]!r}",
            "The form's key field must be the key the reply names, or the object is stored under another name.",
        )
    if not _same_for_requests(grant.url, parts, host, port):
        raise _refuse(
            "presign reply's url reads differently to the HTTP client (dot segments or odd escaping)",
            "The URL is ambiguous; a presigned POST's url never is.",
        )


def check_grant(grant: PresignGrant, allow: UrlAllowlist) -> None:
    """The grant's destination checked before a byte is sent, for either shape."""
    if grant.fields is not None:
        check_post_form(grant, allow)
    else:
        check_upload_url(grant.url, grant.key, allow)


def check_upload_url(url: str, key: str, allow: UrlAllowlist) -> None:
    """Refuse (PipelineError, hop "presign") a presigned URL that is not the configured bucket's, or whose path
    names another key than the reply's ``key``. Only ever raises PipelineError."""
    if not isinstance(url, str) or not isinstance(key, str):
        raise _refuse("presign reply's presignedUrl or key is not text", "The function must return strings.")
    parts, host, port = _split(url)
    _check_address(host, allow)
    style = _style(parts, host, port, allow)
    raw_key = s3endpoints.object_key(parts.path, style, allow.bucket)
    try:
        url_key = None if raw_key is None else unquote(raw_key, errors="strict")
    except UnicodeDecodeError:
        url_key = None
    if style == "path" and raw_key is None:
        raise _refuse(
            f"presign reply's presignedUrl is path-style but its path does not start with /{allow.bucket}/",
            "The URL names another bucket in its path. Check the function's bucket against PIPELINE_BUCKET.",
        )
    if url_key != key:
        shown = (url_key or parts.path)[:120]
        raise _refuse(
            f"presign reply's presignedUrl is for key {shown!r}, but the reply's key is {key[:120]!r}",
            "The URL's path must name the key the reply names: the web app takes the key from the URL's path, "
            "so the object would be stored under another name than the one reported.",
        )
    if not _same_for_requests(url, parts, host, port):
        raise _refuse(
            "presign reply's presignedUrl reads differently to the HTTP client (dot segments or odd escaping)",
            "The URL is ambiguous; a presigned S3 URL never is.",
        )


# --- the request ----------------------------------------------------------------------------------------


def _fetch(
    session: requests.Session, endpoint: str, headers: dict[str, str], deadline_s: float, timeout: tuple[float, float]
) -> Answer:
    try:
        return exchange(
            session, "GET", endpoint, headers=headers, deadline_s=deadline_s, limit=MAX_REPLY_BYTES + 1, timeout=timeout
        )
    except DeadlineExceeded as err:
        raise _fail(
            f"presign endpoint did not finish answering within {deadline_s:.3g} s",
            None,
            "The endpoint answers, but too slowly (a trickle of bytes, or a stalled proxy); check API Gateway and "
            "the function's duration in CloudWatch.",
        ) from err
    except requests.Timeout as err:
        raise _fail(
            f"presign endpoint did not answer within {min(timeout[1], deadline_s):.3g} s",
            None,
            "The endpoint or its function is hanging; check the Lambda's timeout and logs.",
        ) from err
    except requests.ConnectionError as err:
        host = urlsplit(endpoint).netloc
        raise _fail(
            f"could not connect to the presign endpoint at {host}, or it dropped the connection",
            None,
            "The endpoint is down or PIPELINE_PRESIGN_URL is wrong (host, port, scheme).",
        ) from err
    except requests.RequestException as err:
        raise _fail(
            f"request to the presign endpoint failed: {type(err).__name__}", None, "Check PIPELINE_PRESIGN_URL."
        ) from err


def _check_allow_origin(answer: Answer, origin: str) -> None:
    allowed = next((v for k, v in answer.headers.items() if k.lower() == "access-control-allow-origin"), None)
    if allowed is not None and allowed.strip() in (origin, "*"):
        return
    got = "no Access-Control-Allow-Origin" if allowed is None else f"Access-Control-Allow-Origin {allowed.strip()!r}"
    raise _fail(
        f"the presign reply (HTTP {answer.status}) carries {got} for {origin}: the browser hides it from the web app",
        answer.status,
        "The preflight passed, but the reply itself must carry Access-Control-Allow-Origin too: with a Lambda "
        f"proxy integration the function returns it (the shipped function sets ALLOW_ORIGIN, default *; {origin} "
        "or * would do).",
    )


def request_grant(
    session: requests.Session,
    endpoint: str,
    ext: str,
    sent_content_type: str,
    *,
    allowlist: UrlAllowlist | None = None,
    backoff: Backoff = DEFAULT_BACKOFF,
    deadline_s: float = PRESIGN_DEADLINE,
    timeout: tuple[float, float] = TIMEOUT,
    log: AttemptLog | None = None,
    origin: str | None = None,
) -> PresignGrant:
    """GET the endpoint with ``x-extension`` (and the web app's Content-Type header); raise PipelineError(hop="presign").

    502/503/504 are retried (``backoff``); every attempt is recorded in ``log``. With ``allowlist``, a URL that
    would send the file anywhere but the configured bucket is refused here, before any byte of it is sent.
    With ``origin`` the GET carries it, as a browser's does, and a reply the browser would hide from the web app
    (no ``Access-Control-Allow-Origin`` for it) is refused.
    """
    headers = {"x-extension": ext, "Content-Type": sent_content_type, "Accept": "application/json"}
    if origin is not None:
        headers["Origin"] = origin
    log = log if log is not None else AttemptLog()
    answer = retrying(
        lambda: _fetch(session, endpoint, headers, deadline_s, timeout),
        lambda a: a.status in RETRYABLE_STATUSES,
        backoff,
        log,
    )
    status, body = answer.status, answer.body
    if origin is not None:
        _check_allow_origin(answer, origin)
    if len(body) > MAX_REPLY_BYTES:
        raise _fail(
            f"presign reply is larger than {MAX_REPLY_BYTES:,} bytes",
            status,
            "This is not a presign reply: check PIPELINE_PRESIGN_URL.",
        )
    if status != 200:
        tries = f" ({log.count} attempts)" if log.count > 1 else ""
        raise _fail(f"presign endpoint answered HTTP {status}{tries}", status, explain_presign(status, body))
    grant = parse_grant(status, body)
    if allowlist is not None:
        check_grant(grant, allowlist)
    return replace(grant, attempts=log.count)


# --- a URL handed to a person ---------------------------------------------------------------------------


@dataclass(frozen=True)
class HandedOutUrl:
    """A presigned PUT URL for the person who asked for it, with what they need to use it by hand.

    The one place a signature is shown whole: the page shows it to the requester's own session only, the
    CLI prints it to whoever ran it; neither logs, stores nor exports it.
    """

    url: str = field(repr=False)
    key: str
    ext: str
    content_type: str  # the type to send: the one the endpoint says it signed, else the web app's
    content_type_signed: bool  # whether the endpoint said so (else it is the configured client type)
    expires_at: datetime | None  # from X-Amz-Date + X-Amz-Expires (SigV4) or Expires (SigV2), or a POST's policy
    fields: Mapping[str, str] | None = field(default=None, repr=False)  # a presigned POST's form; None: a PUT URL
    #: what the web app's PUT sends besides Content-Type (PIPELINE_CLIENT_PUT_HEADERS): the curl command sends it too
    put_headers: tuple[tuple[str, str], ...] = ()

    def curl(self, file_name: str | None = None) -> str:
        """A copyable shell command that PUTs ``file_name`` (default ``image.<ext>``) exactly as the web app would
        (for a presigned POST: the form's fields, then the file)."""
        file_name = file_name or f"image.{self.ext}"
        if self.fields is not None:
            form = " ".join(f"-F {shlex.quote(f'{name}={value}')}" for name, value in self.fields.items())
            upload = shlex.quote(f"file=@{file_name};type={self.content_type}")
            return f"curl --fail-with-body {form} -F {upload} {shlex.quote(self.url)}"
        extra = "".join(f"-H {shlex.quote(f'{name}: {value}')} " for name, value in self.put_headers)
        return (
            f"curl --fail-with-body -X PUT -H {shlex.quote('Content-Type: ' + self.content_type)} {extra}"
            f"--upload-file {shlex.quote(file_name)} {shlex.quote(self.url)}"
        )

    def to_json(self) -> dict[str, object]:
        if self.fields is not None:
            return {
                "url": self.url,
                "fields": dict(self.fields),
                "key": self.key,
                "contentType": self.content_type,
                "contentTypeSigned": self.content_type_signed,
                "expiresAt": self.expires_at.isoformat() if self.expires_at else None,
            }
        return {
            "presignedUrl": self.url,
            "key": self.key,
            "contentType": self.content_type,
            "contentTypeSigned": self.content_type_signed,
            "expiresAt": self.expires_at.isoformat() if self.expires_at else None,
        }


def url_expiry(url: str) -> datetime | None:
    """When a presigned URL stops working, from its own query (None when it does not say)."""
    query = {name.lower(): value for name, value in parse_qsl(urlsplit(url).query)}
    try:
        if "x-amz-date" in query and "x-amz-expires" in query:
            signed_at = datetime.strptime(query["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            return signed_at + timedelta(seconds=int(query["x-amz-expires"]))
        if "expires" in query:
            return datetime.fromtimestamp(int(query["expires"]), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def hand_out_url(session: requests.Session, settings: Settings, ext: str) -> HandedOutUrl:
    """Ask the endpoint for a URL for ``ext`` as the web app does (same checks as an upload); raise PipelineError."""
    ext = ext.strip().lower().lstrip(".")
    mime = MIME_BY_EXTENSION.get(ext)
    if mime is None:
        raise _fail(
            f"{ext or '(empty)'!r} is not an extension the pipeline accepts",
            None,
            f"Use one of: {', '.join(MIME_BY_EXTENSION)}.",
        )
    sent_type = client_content_type(settings.client_content_type, ext, mime)
    grant = request_grant(session, settings.presign_url, ext, sent_type, allowlist=UrlAllowlist.from_settings(settings))
    return HandedOutUrl(
        url=grant.url,
        key=grant.key,
        ext=ext,
        content_type=grant.content_type or sent_type,
        content_type_signed=grant.content_type is not None,
        expires_at=grant_expiry(grant),
        fields=grant.fields,
        put_headers=settings.client_put_headers,
    )


def grant_expiry(grant: PresignGrant) -> datetime | None:
    """When a grant stops working: its URL's own query, or a presigned POST's policy ``expiration``."""
    if grant.fields is None:
        return url_expiry(grant.url)
    encoded = next((v for k, v in grant.fields.items() if k.lower() == "policy"), None)
    policy = postpolicy.decode(encoded) if encoded else None
    return policy.expires_at if policy is not None else None
