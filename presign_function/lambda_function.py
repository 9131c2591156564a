"""Presign endpoint: API Gateway (HTTP API v2 or REST v1) -> Lambda -> S3 presigned PUT URL (or presigned POST).

Deploy this file as the function's code with handler ``lambda_function.lambda_handler``.
It keeps the seed's contract (GET with header ``x-extension``; reply ``{"presignedUrl", "key"}``;
key ``<uuid4>.<ext>``) and fixes its faults: an extension allowlist, 4xx JSON errors instead of
500s, SigV4 in the bucket's region, a configurable expiry, a Content-Type that always matches the
extension (reported back as ``contentType``), and CORS headers on every reply.

Which Content-Type is signed: the one the client asks for in the presign request's own ``Content-Type``
header, when it is one of the two spellings of the extension's type (``image/png``, or the seed's
``application/png``); otherwise (no header, or any other type) the ``CONTENT_TYPE_STYLE`` one, by default
the seed's ``application/<ext>``. The seed's web client says nothing (axios drops ``Content-Type`` from a
GET without a body) and PUTs ``application/<ext>``, so it works unchanged; a client that wants objects
stored as ``image/*`` (browsers show those inline, and download ``application/*``) sends
``Content-Type: image/<ext>`` on the presign request and PUTs the reply's ``contentType``. The client never
chooses freely: only a type that matches the extension is ever signed.

Configuration (environment variables of the function):
    BUCKET_NAME           required; the bucket the URLs are signed for
    BUCKET_REGION         the bucket's region (default: AWS_REGION, which Lambda sets)
    URL_EXPIRES_SECONDS   lifetime of a URL, 1..604800 (default 300)
    CONTENT_TYPE_STYLE    "application" (default: the seed's application/png) or "image" (image/png ...): the
                          type signed when the client does not ask for one of the two spellings
    CLIENT_CONTENT_TYPE   "match" (default: sign the client's spelling, above) or "ignore" (always the style's)
    ALLOW_ORIGIN          value of Access-Control-Allow-Origin on every reply (default "*")
    S3_ADDRESSING_STYLE   "virtual" (default, as AWS issues them) or "path"
    UPLOAD_SHAPE          "put" (default: a presigned PUT URL, the seed's contract) or "post": a presigned POST
                          (boto3's generate_presigned_post), whose policy limits the size, the Content-Type and the key
    MAX_UPLOAD_BYTES      with UPLOAD_SHAPE=post, the largest file S3 accepts (content-length-range), default 10000000

A presigned PUT URL has no size limit: whoever holds it may store up to 5 GB under the key until it expires. A
presigned POST carries a signed policy instead: ``content-length-range`` 1..MAX_UPLOAD_BYTES, the exact
``Content-Type`` and the exact key; S3 refuses anything else (400 EntityTooLarge, 403 AccessDenied "Invalid according
to Policy: ..."). Its reply is ``{"url", "fields", "key", "contentType", "expiresIn"}``: the client POSTs a
multipart/form-data form with every field of ``fields``, then the file (as a browser's FormData does), to ``url``.

The key is always the function's own fresh uuid. One optional request header, ``x-key-prefix``, may put it under a
fixed, allowlisted folder (``canary/``: the console's diagnostic uploads, so they can be told from users' images and
removed); any other value is refused with a 400. Browsers never send it: it is not in the CORS allowed headers.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

#: extension -> the proper MIME type. ``jpg`` and ``jpeg`` both stay as the client named them.
ALLOWED_EXTENSIONS: Mapping[str, str] = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
}
CONTENT_TYPE_STYLES = ("image", "application")
CLIENT_CONTENT_TYPE_MODES = ("match", "ignore")
#: the only folders a caller may ask for (header ``x-key-prefix``); the rest of the key is always a fresh uuid
KEY_PREFIXES = ("canary/",)
MAX_EXPIRES = 7 * 24 * 3600  # SigV4's own ceiling
UPLOAD_SHAPES = ("put", "post")
DEFAULT_MAX_UPLOAD_BYTES = 10_000_000  # 10 MB
MAX_OBJECT_BYTES = 5 * 1024**3  # S3's largest single upload (5 GiB)


class ConfigurationError(Exception):
    """The function's own environment is wrong; the client only ever sees a generic 500."""


@dataclass(frozen=True)
class HandlerConfig:
    bucket: str
    region: str | None = None
    expires_in: int = 300
    content_type_style: str = "application"
    client_content_type: str = "match"
    allow_origin: str = "*"
    addressing_style: str = "virtual"
    upload_shape: str = "put"
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> HandlerConfig:
        bucket = env.get("BUCKET_NAME", "").strip()
        if not bucket:
            raise ConfigurationError("BUCKET_NAME is not set")
        raw_expires = env.get("URL_EXPIRES_SECONDS", "300").strip() or "300"
        try:
            expires = int(raw_expires)
        except ValueError as err:
            raise ConfigurationError(f"URL_EXPIRES_SECONDS={raw_expires!r} is not a whole number") from err
        if not 1 <= expires <= MAX_EXPIRES:
            raise ConfigurationError(f"URL_EXPIRES_SECONDS={expires} is outside 1..{MAX_EXPIRES}")
        style = env.get("CONTENT_TYPE_STYLE", "application").strip().lower() or "application"
        if style not in CONTENT_TYPE_STYLES:
            raise ConfigurationError(f"CONTENT_TYPE_STYLE={style!r} is not one of {CONTENT_TYPE_STYLES}")
        client_mode = env.get("CLIENT_CONTENT_TYPE", "match").strip().lower() or "match"
        if client_mode not in CLIENT_CONTENT_TYPE_MODES:
            raise ConfigurationError(f"CLIENT_CONTENT_TYPE={client_mode!r} is not one of {CLIENT_CONTENT_TYPE_MODES}")
        addressing = env.get("S3_ADDRESSING_STYLE", "virtual").strip().lower() or "virtual"
        if addressing not in ("virtual", "path"):
            raise ConfigurationError(f"S3_ADDRESSING_STYLE={addressing!r} is not 'virtual' or 'path'")
        shape = env.get("UPLOAD_SHAPE", "put").strip().lower() or "put"
        if shape not in UPLOAD_SHAPES:
            raise ConfigurationError(f"UPLOAD_SHAPE={shape!r} is not one of {UPLOAD_SHAPES}")
        raw_max = env.get("MAX_UPLOAD_BYTES", "").strip() or str(DEFAULT_MAX_UPLOAD_BYTES)
        try:
            max_bytes = int(raw_max)
        except ValueError as err:
            raise ConfigurationError(f"MAX_UPLOAD_BYTES={raw_max!r} is not a whole number") from err
        if not 1 <= max_bytes <= MAX_OBJECT_BYTES:
            raise ConfigurationError(f"MAX_UPLOAD_BYTES={max_bytes} is outside 1..{MAX_OBJECT_BYTES}")
        return cls(
            bucket=bucket,
            region=(env.get("BUCKET_REGION", "").strip() or env.get("AWS_REGION", "").strip() or None),
            expires_in=expires,
            content_type_style=style,
            client_content_type=client_mode,
            allow_origin=env.get("ALLOW_ORIGIN", "*").strip() or "*",
            addressing_style=addressing,
            upload_shape=shape,
            max_upload_bytes=max_bytes,
        )

    def content_type_for(self, ext: str, requested: str | None = None) -> str:
        """The type to sign for ``ext``: the client's ``requested`` spelling when it is one of the extension's
        two (and the mode is "match"), else the configured style's."""
        if self.client_content_type == "match" and requested is not None:
            asked = requested.split(";", 1)[0].strip().lower()
            if asked in spellings(ext):
                return asked
        if self.content_type_style == "application":
            return f"application/{ext}"
        return ALLOWED_EXTENSIONS[ext]


def spellings(ext: str) -> tuple[str, str]:
    """The two Content-Types a client may ask for ``ext``: the seed's ``application/<ext>`` and the image MIME type."""
    return f"application/{ext}", ALLOWED_EXTENSIONS[ext]


def make_s3_client(config: HandlerConfig, **client_kwargs: Any) -> Any:
    """An S3 client that signs SigV4 URLs for the bucket's own region (boto3 defaults to SigV2)."""
    return boto3.client(
        "s3",
        region_name=config.region,
        config=Config(
            signature_version="s3v4",
            # from_env admits these two only; the literal is what botocore's addressing_style names
            s3={"addressing_style": "path" if config.addressing_style == "path" else "virtual"},
        ),
        **client_kwargs,
    )


def _header(event: Mapping[str, Any], name: str) -> str | None:
    """A request header, case-insensitively, from either event shape (v2 joins repeats with commas)."""
    for source in ("headers", "multiValueHeaders"):
        headers = event.get(source) or {}
        for key, value in headers.items():
            if key.lower() == name:
                if isinstance(value, list):
                    value = value[-1] if value else None
                return value if isinstance(value, str) else None
    return None


def _method(event: Mapping[str, Any]) -> str:
    http = (event.get("requestContext") or {}).get("http") or {}
    return str(http.get("method") or event.get("httpMethod") or "GET").upper()


def _reply(config_origin: str, status: int, body: Mapping[str, Any] | None) -> dict[str, Any]:
    headers = {
        "Access-Control-Allow-Origin": config_origin,
        "Access-Control-Allow-Headers": "x-extension, content-type",
        "Access-Control-Allow-Methods": "GET, OPTIONS",
        "Cache-Control": "no-store",
    }
    if body is None:
        return {"statusCode": status, "headers": headers, "body": ""}
    headers["Content-Type"] = "application/json"
    return {"statusCode": status, "headers": headers, "body": json.dumps(body)}


def _error(origin: str, status: int, code: str, message: str) -> dict[str, Any]:
    return _reply(origin, status, {"error": code, "message": message})


def normalise_extension(raw: str | None) -> str | None:
    """``"PNG"``, ``".png"`` and ``" png "`` all mean ``png``; anything else outside the allowlist is None."""
    if raw is None:
        return None
    ext = raw.strip().lstrip(".").lower()
    return ext if ext in ALLOWED_EXTENSIONS else None


def handle(event: Mapping[str, Any], config: HandlerConfig, s3_client: Any) -> dict[str, Any]:
    """Answer one API Gateway event. Never raises: every failure becomes a JSON reply with CORS headers."""
    origin = config.allow_origin
    method = _method(event)
    if method == "OPTIONS":
        return _reply(origin, 204, None)
    if method != "GET":
        return _error(origin, 405, "method_not_allowed", f"use GET, not {method}")
    raw = _header(event, "x-extension")
    if raw is None or not raw.strip():
        return _error(
            origin, 400, "missing_extension", "send the file extension in the x-extension header, e.g. x-extension: png"
        )
    ext = normalise_extension(raw)
    if ext is None:
        allowed = ", ".join(ALLOWED_EXTENSIONS)
        return _error(origin, 400, "unsupported_extension", f"x-extension must be one of: {allowed}")
    prefix = _header(event, "x-key-prefix")
    if prefix is not None and prefix.strip() not in KEY_PREFIXES:
        allowed = ", ".join(KEY_PREFIXES)
        return _error(origin, 400, "unsupported_key_prefix", f"x-key-prefix may only be one of: {allowed}")
    key = f"{(prefix or '').strip()}{uuid.uuid4()}.{ext}"
    content_type = config.content_type_for(ext, _header(event, "content-type"))
    if config.upload_shape == "post":
        return _presigned_post(origin, config, s3_client, key, content_type)
    try:
        url = s3_client.generate_presigned_url(
            ClientMethod="put_object",
            Params={"Bucket": config.bucket, "Key": key, "ContentType": content_type},
            ExpiresIn=config.expires_in,
            HttpMethod="PUT",
        )
    except Exception:
        LOG.exception("presigning failed for bucket %s", config.bucket)
        return _error(origin, 500, "presign_failed", "the upload URL could not be created; try again later")
    LOG.info("presigned key=%s content_type=%s expires_in=%s", key, content_type, config.expires_in)
    return _reply(
        origin,
        200,
        {"presignedUrl": url, "key": key, "contentType": content_type, "expiresIn": config.expires_in},
    )


def post_conditions(content_type: str, max_bytes: int) -> list[Any]:
    """The policy conditions of a presigned POST beyond the bucket and the exact key, which boto3 adds itself: the
    exact Content-Type and a size between 1 byte and ``max_bytes``."""
    return [{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]]


def _presigned_post(origin: str, config: HandlerConfig, s3_client: Any, key: str, content_type: str) -> dict[str, Any]:
    try:
        post = s3_client.generate_presigned_post(
            Bucket=config.bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=post_conditions(content_type, config.max_upload_bytes),
            ExpiresIn=config.expires_in,
        )
    except Exception:
        LOG.exception("presigning a POST failed for bucket %s", config.bucket)
        return _error(origin, 500, "presign_failed", "the upload URL could not be created; try again later")
    LOG.info("presigned POST key=%s content_type=%s expires_in=%s", key, content_type, config.expires_in)
    body = {
        "url": post["url"],
        "fields": post["fields"],
        "key": key,
        "contentType": content_type,
        "expiresIn": config.expires_in,
    }
    return _reply(origin, 200, body)


def build_handler(config: HandlerConfig, s3_client: Any) -> Callable[[Mapping[str, Any], Any], dict[str, Any]]:
    """A Lambda-shaped handler bound to one configuration and client (the sandbox serves one of these)."""

    def _handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
        return handle(event, config, s3_client)

    return _handler


_DEFAULT: tuple[HandlerConfig, Any] | None = None  # built on the first call, reused while the container is warm


def lambda_handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """The entry point AWS Lambda calls."""
    global _DEFAULT
    if _DEFAULT is None:
        try:
            config = HandlerConfig.from_env(os.environ)
            client = make_s3_client(config)
        except (ConfigurationError, BotoCoreError, ValueError):
            LOG.exception("the function is misconfigured")
            origin = os.environ.get("ALLOW_ORIGIN", "*").strip() or "*"
            return _error(
                origin, 500, "server_misconfigured", "the upload service is misconfigured; tell its operators"
            )
        _DEFAULT = (config, client)
    config, client = _DEFAULT
    return handle(event, config, client)
