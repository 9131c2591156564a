"""The presign function as Lambda hosts it in the sandbox: the shipped handler, its configuration (changed by break
switches) and its cold start (its own boto3 client, built once, after the sandbox is ready)."""

from __future__ import annotations

import io
import json
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from presign_function import lambda_function
from presign_function.lambda_function import HandlerConfig, handle, normalise_extension, spellings


@dataclass
class Live:
    """What break switches change in the running sandbox, besides the bucket and IAM (stored in moto)."""

    function: HandlerConfig
    report_content_type: bool = True
    #: content-type-mismatch: the function is handed the spelling the client did not ask for
    sign_other_spelling: bool = False
    #: what the function adds to its presign Params (function-signs-acl: ``ACL``, botocore signs it as x-amz-acl;
    #: function-signs-cache-control: ``CacheControl`` and ``Metadata``)
    signed_params: Mapping[str, Any] = field(default_factory=dict)
    #: query parameters signed into every URL (function-adds-query-checksums: JS SDK v3's checksum parameters)
    query_params: tuple[tuple[str, str], ...] = ()
    #: reply-key-mismatch: the reply's key is built a second time, so it names another key than the URL's
    reply_other_key: bool = False
    gateway_delay: float = 0.0
    #: function-wrong-region / function-global-endpoint: the function's client is another one (``SIGNERS``)
    signer: str | None = None


#: the misconfigured clients a function may be built with: name -> (region_name, endpoint: "regional" / "global")
SIGNERS: dict[str, tuple[str, str]] = {
    # endpoint_url pinned to the bucket's regional endpoint, region_name another region's: the credential scope lies
    "wrong-region": ("us-west-2", "regional"),
    # no regional endpoint: botocore's legacy global name (s3.amazonaws.com) for us-east-1
    "global": ("us-east-1", "global"),
}


class ColdStart:
    """What the function builds once per execution environment, as a Lambda does on its first invocation: its
    boto3 S3 client (loading botocore's endpoint data and S3 model takes a quarter of a second). Built on first
    use, or ahead of it by the sandbox's warm-up after the console's first page, never twice."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._client: Any = None
        self._lock = threading.Lock()

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._build()
            return self._client


def make_function(
    live: Live, cold: ColdStart, signers: Mapping[str, ColdStart] | None = None
) -> Callable[[Mapping[str, Any], Any], Mapping[str, Any]]:
    """The shipped handler with the live configuration; switches can make it answer like the seed's, or sign with
    one of ``signers`` (built as ``SIGNERS`` names) instead of its own client."""

    def invoke(event: Mapping[str, Any], context: Any = None) -> Mapping[str, Any]:
        if live.sign_other_spelling:
            event = other_spelling(event, live.function)
        client = (signers or {})[live.signer].client() if live.signer else cold.client()
        reply = handle(event, live.function, _SignsMore(client, live.signed_params) if live.signed_params else client)
        if live.gateway_delay:
            time.sleep(live.gateway_delay)  # the reply arrives after the URL's short life has run out
        if (not live.report_content_type or live.reply_other_key) and reply.get("statusCode") == 200:
            body = json.loads(reply["body"])
            if not live.report_content_type:
                body.pop("contentType", None)
            if live.reply_other_key:
                body["key"] = key_built_again(body["key"])
            reply = {**reply, "body": json.dumps(body)}
        return reply

    return invoke


class _SignsMore:
    """The function's S3 client, signing more ``Params`` members into every presigned PUT, as a function written for
    ACL buckets or cache headers does (``Params={..., "ACL": "public-read"}``: botocore signs each as a header)."""

    def __init__(self, client: Any, params: Mapping[str, Any]) -> None:
        self._client, self._params = client, dict(params)

    def generate_presigned_url(self, **kwargs: Any) -> str:
        params = {**kwargs.get("Params", {}), **self._params}
        return str(self._client.generate_presigned_url(**{**kwargs, "Params": params}))

    def generate_presigned_post(self, **kwargs: Any) -> Any:
        """A POST's policy names its ACL as a field and a condition; this switch is about signed PUT headers."""
        return self._client.generate_presigned_post(**kwargs)


def sign_query_params(client: Any, live: Live) -> None:
    """Make ``client`` sign ``live.query_params`` (when there are any) into every presigned PUT URL, as the AWS SDK
    for JavaScript v3 (>= 3.729) signs its checksum parameters into the query. botocore's before-sign sees the
    request that the query signer then canonicalises, so a parameter added to its URL is signed. Registered once
    per client (a unique id), it reads the switch at each signing."""

    def add_query(request: Any, **_: Any) -> None:
        if live.query_params:
            joiner = "&" if "?" in request.url else "?"
            request.url = f"{request.url}{joiner}{urlencode(live.query_params)}"

    client.meta.events.register_first("before-sign.s3.PutObject", add_query, unique_id="sandbox-query-params")


def key_built_again(key: str) -> str:
    """The key a function that builds it twice reports (``f"{uuid4()}.{ext}"`` once for the URL, again for its
    reply): the same folder and extension, another uuid."""
    folder, _, name = key.rpartition("/")
    return f"{folder}{'/' if folder else ''}{uuid.uuid4()}.{name.rsplit('.', 1)[-1]}"


def other_spelling(event: Mapping[str, Any], config: HandlerConfig) -> Mapping[str, Any]:
    """The event asking for the other spelling of the type the function would sign for it (``application/png``
    <-> ``image/png``): a function that signs a type of its own choosing, not the one the client expects."""
    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    ext = normalise_extension(headers.get("x-extension"))
    if ext is None:
        return event
    would_sign = config.content_type_for(ext, headers.get("content-type"))
    application, image = spellings(ext)
    headers["content-type"] = image if would_sign == application else application
    return {**{k: v for k, v in event.items() if k != "multiValueHeaders"}, "headers": headers}


def function_zip() -> bytes:
    """The shipped function's deployment package, as staff would upload it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(Path(lambda_function.__file__), "lambda_function.py")
    return buffer.getvalue()
