"""Ask the presign endpoint for an upload URL, exactly as the web app does."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests

from services.errors import PipelineError
from services.explain import explain_presign
from services.transport import TIMEOUT

MAX_REPLY_BYTES = 64 * 1024  # a presign reply is a few hundred bytes; anything larger is not one


@dataclass(frozen=True)
class PresignGrant:
    """What the endpoint granted. ``url`` is a bearer credential: never log or show it unredacted."""

    url: str = field(repr=False)
    key: str
    content_type: str | None  # the type the endpoint says it signed (our function's ``contentType``)
    http_status: int = 200


def client_content_type(template: str, ext: str, mime: str) -> str:
    """The Content-Type the web app sends, from PIPELINE_CLIENT_CONTENT_TYPE (``application/{ext}`` by default)."""
    return template.format(ext=ext, mime=mime)


def _fail(message: str, status: int | None, cause: str) -> PipelineError:
    return PipelineError(message, hop="presign", http_status=status, cause=cause)


def parse_grant(status: int, body: bytes) -> PresignGrant:
    """Validate a 200 reply: a JSON object with a non-empty http(s) ``presignedUrl`` and a ``key``."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as err:
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
    url, key, content_type = doc.get("presignedUrl"), doc.get("key"), doc.get("contentType")
    if not isinstance(url, str) or not url.strip():
        raise _fail(
            "presign reply has no presignedUrl",
            status,
            'The function must return {"presignedUrl": "https://…", "key": "…"}.',
        )
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
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


def request_grant(session: requests.Session, endpoint: str, ext: str, sent_content_type: str) -> PresignGrant:
    """GET the endpoint with ``x-extension`` (and the web app's Content-Type header); raise PipelineError(hop="presign")."""
    headers = {"x-extension": ext, "Content-Type": sent_content_type, "Accept": "application/json"}
    try:
        with session.get(endpoint, headers=headers, timeout=TIMEOUT, allow_redirects=False, stream=True) as reply:
            body = reply.raw.read(MAX_REPLY_BYTES + 1, decode_content=True)
            status = reply.status_code
    except requests.Timeout as err:
        raise _fail(
            f"presign endpoint did not answer within {TIMEOUT[1]:.0f} s",
            None,
            "The endpoint or its function is hanging; check the Lambda's timeout and logs.",
        ) from err
    except requests.ConnectionError as err:
        host = urlsplit(endpoint).netloc
        raise _fail(
            f"could not connect to the presign endpoint at {host}",
            None,
            "The endpoint is down or PIPELINE_PRESIGN_URL is wrong (host, port, scheme).",
        ) from err
    except requests.RequestException as err:
        raise _fail(
            f"request to the presign endpoint failed: {type(err).__name__}", None, "Check PIPELINE_PRESIGN_URL."
        ) from err
    if len(body) > MAX_REPLY_BYTES:
        raise _fail(
            f"presign reply is larger than {MAX_REPLY_BYTES:,} bytes",
            status,
            "This is not a presign reply: check PIPELINE_PRESIGN_URL.",
        )
    if status != 200:
        raise _fail(f"presign endpoint answered HTTP {status}", status, explain_presign(status, body))
    return parse_grant(status, body)
