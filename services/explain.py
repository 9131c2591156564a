"""Turn what a hop answered into the likely cause, in plain words. Pure functions over evidence.

S3 answers errors as XML (``<Error><Code>…</Code><Message>…</Message>…</Error>``); CloudFront adds
``X-Cache``; API Gateway answers ``{"message": …}``. Each known (hop, status, code) maps to a cause
a person can act on; anything else says what came back without guessing.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class AwsErrorBody:
    code: str | None = None
    message: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)


def parse_s3_error(body: bytes | str | None) -> AwsErrorBody:
    """The Code, Message and other fields of an S3-style XML error body (empty when it is not one)."""
    if not body:
        return AwsErrorBody()
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = text.strip()
    if not text.startswith("<"):
        return AwsErrorBody()
    try:
        root = ET.fromstring(text)  # noqa: S314 - bounded error bodies from the hop we called
    except ET.ParseError:
        return AwsErrorBody()
    fields = {child.tag: (child.text or "") for child in root}
    return AwsErrorBody(code=fields.get("Code"), message=fields.get("Message"), fields=fields)


def json_error_message(body: bytes | str | None) -> str | None:
    """``message`` (or ``error``) from a JSON error reply, as API Gateway and the presign function send."""
    if not body:
        return None
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(doc, dict):
        return None
    for name in ("message", "Message", "error"):
        if isinstance(doc.get(name), str):
            return doc[name]
    return None


def signed_headers(url: str) -> tuple[str, ...]:
    """The header names a SigV4 presigned URL signs (``X-Amz-SignedHeaders``)."""
    try:
        query = parse_qs(urlsplit(url).query)
    except ValueError:  # an unparseable URL signs nothing we can name
        return ()
    raw = (query.get("X-Amz-SignedHeaders") or [""])[0]
    return tuple(h for h in raw.lower().split(";") if h)


def signed_content_type(error: AwsErrorBody) -> str | None:
    """The Content-Type S3 computed the signature with, read from the CanonicalRequest it echoes."""
    canonical = error.fields.get("CanonicalRequest", "")
    for line in canonical.splitlines():
        if line.lower().startswith("content-type:"):
            return line.split(":", 1)[1].strip()
    return None


def explain_presign(status: int, body: bytes | None) -> str:
    message = json_error_message(body)
    quoted = f' It said: "{message}".' if message else ""
    if status in (400, 422):
        return f"The presign endpoint refused the request.{quoted} Check the x-extension the web app sends."
    if status == 403:
        return (
            "API Gateway answered 403: the URL's stage or route is wrong, or the API needs an "
            f"authorizer/API key the console does not send.{quoted}"
        )
    if status == 404:
        return f"No route at this URL: check PIPELINE_PRESIGN_URL (stage and path).{quoted}"
    if status in (500, 502):
        return (
            "The Lambda function failed or returned a malformed reply; its CloudWatch logs have the "
            f"stack trace.{quoted}"
        )
    if status in (503, 504):
        return f"The endpoint is overloaded or the function timed out; try again shortly.{quoted}"
    return f"The presign endpoint answered HTTP {status}.{quoted}"


def explain_put(status: int, error: AwsErrorBody, sent_content_type: str, url: str) -> str:
    code = error.code or ""
    message = error.message or ""
    if code == "SignatureDoesNotMatch":
        signed = signed_content_type(error)
        if "content-type" in signed_headers(url):
            if signed and signed != sent_content_type:
                return (
                    f"The URL was signed for Content-Type {signed!r} but the upload sent {sent_content_type!r}. "
                    "Send exactly the signed type (the endpoint's contentType), or change "
                    "PIPELINE_CLIENT_CONTENT_TYPE to match the function."
                )
            return (
                f"Content-Type is one of the signed headers and the upload sent {sent_content_type!r}, which "
                "S3 did not accept: the client must send exactly the type the function signed."
            )
        return "The signature does not match: the URL was altered, or it was signed with other credentials or region."
    if code == "AccessDenied" and "expired" in message.lower():
        return "The presigned URL has expired: upload sooner after presigning, or raise the function's expiry."
    if code == "AccessDenied":
        return (
            "S3 denied the signed PUT although presigning worked: the Lambda's execution role most likely lacks "
            "s3:PutObject on arn:aws:s3:::<bucket>/*, or a bucket policy / KMS key denies it."
        )
    if code in ("ExpiredToken", "TokenRefreshRequired"):
        return "The function's temporary credentials expired before the upload: presign closer to the upload."
    if code == "RequestTimeTooSkewed":
        return "This machine's clock, or the function's, is more than 15 minutes off; fix the clock (NTP)."
    if code in ("PermanentRedirect", "TemporaryRedirect") or status in (301, 307):
        return "The URL points at the wrong region or addressing style: sign with the bucket's own region and SigV4."
    if code == "AuthorizationQueryParametersError":
        return f"The URL's signing parameters are malformed (often the wrong region in X-Amz-Credential): {message}"
    if code == "NoSuchBucket":
        return "The bucket the URL names does not exist: check the function's BUCKET_NAME."
    if code == "SlowDown" or status == 503:
        return "S3 asked to slow down (503); retry with backoff."
    if code:
        return f"S3 answered {status} {code}: {message}"
    return f"S3 answered HTTP {status} with no error code."


def explain_cdn(status: int, x_cache: str | None, age: str | None) -> str:
    cache = f" (X-Cache: {x_cache}{', Age: ' + age if age else ''})" if x_cache else ""
    if status in (403, 404):
        cached = (
            " This error is cached: it may persist for the error-caching TTL after a fix, or until an invalidation."
            if age
            else ""
        )
        return (
            f"The CDN answered {status}{cache}: the object is missing or CloudFront may not read it. Check that the "
            "bucket policy grants cloudfront.amazonaws.com s3:GetObject with AWS:SourceArn set to this "
            f"distribution's ARN, and that the key exists.{cached}"
        )
    if status in (301, 302, 307, 308):
        return f"The CDN redirected ({status}){cache}: check PIPELINE_CDN_URL (https, the distribution's domain)."
    if status >= 500:
        return f"The CDN answered {status}{cache}: the origin is unreachable or failing."
    return f"The CDN answered HTTP {status}{cache}."
