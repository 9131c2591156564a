"""S3 as AWS answers it, in front of moto: addressing, signatures, expiry, policies, CORS.

moto stores objects and configuration but accepts what S3 rejects. Every S3 request to the sandbox
passes through ``S3Front`` first, which:

- accepts virtual-hosted (``<bucket>.s3.<region>.localhost``) and path-style addressing, and hands
  moto a path-style request;
- answers CORS preflights with S3's algorithm over the bucket's stored rules, and adds CORS headers to
  actual requests;
- verifies SigV4/SigV2 signatures (query and header) against the sandbox's identities, and expiry;
- authorises the identity: the console's admin key may do anything; the presign role by its IAM
  policy and the bucket policy; the CDN as ``cloudfront.amazonaws.com`` with ``AWS:SourceArn``;
  anonymous requests by the bucket policy under Block Public Access;
- turns a missing key into 403 AccessDenied when the caller may not ``s3:ListBucket``, as S3 does.

S3 requests go to moto's S3 application directly; requests for other AWS services (IAM, CloudFront
configuration) go to moto's dispatcher. ``S3Front.read_object`` is the same decision for a reader inside
the sandbox (the CDN's origin), without the HTTP round trip and the signature it would only check again.
"""

from __future__ import annotations

import io
import logging
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote

from services.aws_model import iam, kms, s3checksums, s3endpoints
from services.aws_model.s3errors import S3Error, missing_key_answer
from services.sandbox import layout, moto_state

LOG = logging.getLogger("sandbox")
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_S3_CONTROL_PATH = "/v20180820/"  # S3 Control signs as "s3" too; moto answers it with another backend
_ORIGIN_HOST = f"s3.{layout.REGION}.amazonaws.com"  # path-style, as the front hands moto every request
_INVALIDATION_PATH = re.compile(r"^/\d{4}-\d{2}-\d{2}/distribution/[^/]+/invalidation/?$")
_CREDENTIAL_SERVICE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/(?P<service>[^/]+)/aws4_request")
#: sub-resources that make a bucket-level request a configuration call (admin only in the sandbox)
_OBJECT_ACTIONS = {
    "GET": "s3:GetObject",
    "HEAD": "s3:GetObject",
    "PUT": "s3:PutObject",
    "DELETE": "s3:DeleteObject",
    "POST": "s3:PutObject",
}


@dataclass(frozen=True)
class Identity:
    """Who is asking. ``kind`` is admin, role, service or anonymous."""

    kind: str
    arn: str | None = None
    access_key_id: str | None = None
    context: Mapping[str, str] | None = None


ANONYMOUS = Identity(kind="anonymous")
IDENTITIES: dict[str, tuple[str, Identity]] = {
    layout.ACCESS_KEY_ID: (
        layout.SECRET_ACCESS_KEY,
        Identity("admin", f"arn:aws:iam::{layout.ACCOUNT_ID}:root", layout.ACCESS_KEY_ID),
    ),
    layout.PRESIGN_ROLE_KEY: (
        layout.PRESIGN_ROLE_SECRET,
        Identity("role", layout.PRESIGN_ROLE_ARN, layout.PRESIGN_ROLE_KEY),
    ),
    layout.CDN_KEY: (
        layout.CDN_SECRET,
        Identity("service", "cloudfront.amazonaws.com", layout.CDN_KEY, {"aws:SourceArn": layout.distribution_arn()}),
    ),
}


@dataclass(frozen=True)
class S3Request:
    method: str
    bucket: str | None
    key: str | None  # decoded
    raw_path: str  # as sent on the wire
    raw_query: str
    host: str
    headers: Mapping[str, str]
    virtual_hosted: bool

    @property
    def resource(self) -> str:
        return f"/{self.bucket}/{self.key}" if self.key else f"/{self.bucket or ''}"

    @property
    def subresources(self) -> set[str]:
        return {part.split("=", 1)[0] for part in self.raw_query.split("&") if part}


def request_headers(environ: Mapping[str, Any]) -> dict[str, str]:
    headers = {
        key[5:].replace("_", "-").lower(): str(value) for key, value in environ.items() if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = str(environ["CONTENT_TYPE"])
    if environ.get("CONTENT_LENGTH"):
        headers["content-length"] = str(environ["CONTENT_LENGTH"])
    return headers


def raw_path_of(environ: Mapping[str, Any]) -> str:
    """The path as the client sent it (percent-encoded), which signatures are computed over."""
    uri = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if uri:
        return str(uri).split("?", 1)[0]
    return quote(environ.get("PATH_INFO", "/").encode("latin-1").decode("utf-8", "replace"), safe="/~")


def parse_request(environ: Mapping[str, Any]) -> S3Request:
    headers = request_headers(environ)
    host = headers.get("host", "")
    hostname = host.rsplit(":", 1)[0].lower() if not host.startswith("[") else host
    raw_path = raw_path_of(environ)
    # the port does not matter here: every request that reaches the front is for this endpoint
    named = s3endpoints.address(hostname, 0, raw_path)
    virtual = named is not None and named.style == "virtual"
    if named is not None and virtual:
        bucket, key_part = named.bucket, raw_path[1:]
    else:
        parts = raw_path[1:].split("/", 1)
        bucket = unquote(parts[0]) or None
        key_part = parts[1] if len(parts) > 1 else ""
    return S3Request(
        method=str(environ.get("REQUEST_METHOD", "GET")).upper(),
        bucket=bucket,
        key=unquote(key_part) or None,
        raw_path=raw_path,
        raw_query=str(environ.get("QUERY_STRING", "")),
        host=host,
        headers=headers,
        virtual_hosted=virtual,
    )


def is_s3_request(environ: Mapping[str, Any]) -> bool:
    """True unless the request is signed for another AWS service (IAM, CloudFront, STS ...)."""
    auth = str(environ.get("HTTP_AUTHORIZATION", ""))
    query = str(environ.get("QUERY_STRING", ""))
    found = _CREDENTIAL_SERVICE.search(auth) or re.search(
        r"X-Amz-Credential=[^&/]+(?:/|%2F)\d{8}(?:/|%2F)[^&/%]+(?:/|%2F)(?P<service>[^&/%]+)", query
    )
    if found:
        return found.group("service") == "s3"
    host = str(environ.get("HTTP_HOST", "")).rsplit(":", 1)[0].lower()
    return not host.startswith(("iam.", "cloudfront.", "sts."))


def error_response(
    status: int, code: str, message: str, resource: str, fields: Mapping[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    from xml.sax.saxutils import escape

    request_id = os.urandom(8).hex().upper()
    extra = "".join(f"<{name}>{escape(str(value))}</{name}>" for name, value in (fields or {}).items())
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>{extra}"
        f"<Resource>{escape(resource)}</Resource><RequestId>{request_id}</RequestId>"
        f"<HostId>{os.urandom(24).hex()}</HostId></Error>"
    ).encode()
    return status, {"Content-Type": "application/xml", "x-amz-request-id": request_id}, body


#: the one ACL a bucket with Object Ownership BucketOwnerEnforced still accepts on a write
BUCKET_OWNER_FULL_CONTROL = "bucket-owner-full-control"


def acl_not_supported(request: S3Request, config: Any) -> tuple[int, dict[str, str], bytes] | None:
    """S3 with ACLs disabled (Object Ownership BucketOwnerEnforced): a write that sets an ACL other than
    bucket-owner-full-control is 400 AccessControlListNotSupported "The bucket does not allow ACLs"
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ensure-object-ownership.html)."""
    if request.method not in ("PUT", "POST") or not request.key or config is None:
        return None
    if getattr(config, "object_ownership", None) != "BucketOwnerEnforced":
        return None
    acl = (request.headers.get("x-amz-acl") or "").strip()
    grants = [name for name in request.headers if name.lower().startswith("x-amz-grant-")]
    if (acl and acl != BUCKET_OWNER_FULL_CONTROL) or grants:
        return error_response(400, "AccessControlListNotSupported", "The bucket does not allow ACLs", request.resource)
    return None


PRECONDITION_FAILED = "At least one of the pre-conditions you specified did not hold"


def _secret_for(access_key_id: str) -> str | None:
    entry = IDENTITIES.get(access_key_id)
    return entry[0] if entry else None


def _with(answer: tuple[int, dict[str, str], bytes], cors: Mapping[str, str]) -> tuple[int, dict[str, str], bytes]:
    status, headers, body = answer
    return status, {**headers, **cors}, body


def _acl_headers(form: Any) -> dict[str, str]:
    """A form's ``acl`` field, as the header a PUT would carry it in."""
    acl = form.fields.get("acl")
    return {"x-amz-acl": acl} if acl else {}


@dataclass
class StoreBehaviour:
    """How this S3 behaves where a break switch changes it."""

    #: s3-verifies-query-checksums: judge a presigned URL's query checksums against the body, as S3-compatible
    #: stores (MinIO, R2, SeaweedFS) do. Amazon S3 ignores a checksum in the query string: the AWS SDK for
    #: JavaScript v3 signs x-amz-checksum-crc32=AAAAAA== into presigned PUT URLs and S3 accepts real uploads
    #: through them (https://github.com/aws/aws-sdk-go-v2/issues/2610).
    verify_query_checksums: bool = False


def _judges_body(request: S3Request, behaviour: StoreBehaviour) -> bool:
    """Whether S3 would check this write's body against a checksum: an object PUT carrying checksum headers (or,
    on a verifying store, query checksums), with a plain body (an aws-chunked one carries its checksum in a trailer,
    which is not judged here)."""
    if request.method != "PUT" or not request.key or "x-amz-copy-source" in request.headers:
        return False
    if (request.headers.get("x-amz-content-sha256") or "").startswith("STREAMING-"):
        return False
    if any(s3checksums.is_checksum_name(name) for name in request.headers):
        return True
    return behaviour.verify_query_checksums and bool(s3checksums.query_checksums(request.raw_query))


def checksum_refusal(
    request: S3Request, body: bytes, behaviour: StoreBehaviour
) -> tuple[int, dict[str, str], bytes] | None:
    """S3's answer to a body its checksum headers do not fit (400 BadDigest / InvalidRequest), or a verifying store's
    to one its URL's query checksum does not (400 XAmzContentChecksumMismatch, MinIO's); None: accepted."""
    refusal = s3checksums.judge_header_checksums(request.headers, body)
    if refusal is None and behaviour.verify_query_checksums:
        refusal = s3checksums.judge_query_checksums(request.raw_query, body)
    if refusal is None:
        return None
    return error_response(refusal.status, refusal.code, refusal.message, request.resource)


def _kms_key_of(request: S3Request, config: Any) -> tuple[str | None, str | None, str]:
    """(algorithm, KMS key named, action) S3 would use KMS for on this object request: a PUT encrypts with the
    request's x-amz-server-side-encryption (its key, else the AWS managed aws/s3) or the bucket's default; a GET
    decrypts with the stored object's key. A HEAD decrypts nothing."""
    if request.method in ("PUT", "POST"):
        algorithm = request.headers.get("x-amz-server-side-encryption")
        if algorithm:
            return algorithm, request.headers.get("x-amz-server-side-encryption-aws-kms-key-id"), kms.GENERATE_DATA_KEY
        default, key = kms.default_encryption(getattr(config, "encryption", None))
        return default, key, kms.GENERATE_DATA_KEY
    if request.method == "GET" and request.bucket and request.key:
        algorithm, key = moto_state.object_encryption(request.bucket, request.key)
        return algorithm, key, kms.DECRYPT
    return None, None, ""


def kms_denial(request: S3Request, identity: Identity, config: Any) -> tuple[int, dict[str, str], bytes] | None:
    """S3 calls KMS as the requester for an SSE-KMS object: kms:GenerateDataKey to store it, kms:Decrypt to read it.
    Refused, a PUT is 403 AccessDenied with KMS's message naming kms:GenerateDataKey, a GET 403 AccessDenied "The
    ciphertext refers to a customer master key ..." (services/aws_model/kms.py cites both).
    The AWS managed key aws/s3 (aws:kms naming no key) lets every principal of the account use it through S3 and
    no one else (its key policy, which cannot be changed: CloudFront cannot read such objects)."""
    from services.sandbox import access

    if identity.kind == "admin" or not request.key or request.subresources & _OBJECT_SUBRESOURCES:
        return None
    algorithm, key_ref, action = _kms_key_of(request, config)
    if not kms.uses_kms(algorithm):
        return None
    found = moto_state.kms_key(key_ref) if key_ref and key_ref != kms.AWS_MANAGED_S3_KEY else None
    if found is not None:
        key_arn, key_policy = found
        decision = access.decide_kms(identity, action, key_arn, key_policy)
    else:
        key_arn = kms.key_arn(key_ref or kms.AWS_MANAGED_S3_KEY, layout.REGION, layout.ACCOUNT_ID)
        managed = key_ref in (None, kms.AWS_MANAGED_S3_KEY) and identity.kind == "role"
        decision = iam.Decision(managed, "the AWS managed key aws/s3", lacking=None if managed else "resource")
    if decision.allowed:
        return None
    LOG.info("KMS refuses %s %s on %s: %s", identity.arn or identity.kind, action, key_arn, decision.reason)
    if action == kms.DECRYPT:
        return error_response(403, "AccessDenied", kms.CIPHERTEXT_DENIED, request.resource)
    who = layout.PRESIGN_SESSION_ARN if identity.arn == layout.PRESIGN_ROLE_ARN else identity.arn or "anonymous"
    return error_response(403, "AccessDenied", kms.not_authorized(who, action, key_arn, decision), request.resource)


def wrong_endpoint(request: S3Request) -> tuple[int, dict[str, str], bytes] | None:
    """A request on a ``*.localhost`` name of another region (``<bucket>.s3.us-west-2.localhost``) or of the global
    endpoint (``<bucket>.s3.localhost``, ``s3.localhost/<bucket>``), for the sandbox's bucket in its one region: S3's
    301 PermanentRedirect / 307 TemporaryRedirect with ``<Endpoint>`` and ``<Bucket>`` and ``x-amz-bucket-region``
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingRouting.html). Only the bucket's own names: the
    loopback endpoint itself has no region."""
    hostname = request.host.rsplit(":", 1)[0].lower()
    named = s3endpoints.address(hostname, 0, request.raw_path)
    if named is None or named.kind != "local" or request.bucket is None:
        return None
    answer = s3endpoints.wrong_endpoint(
        s3endpoints.Addressed(named.style, named.kind, request.bucket, named.region), layout.REGION, "localhost"
    )
    if answer is None:
        return None
    status, headers, body = error_response(
        answer.status,
        answer.code,
        answer.message,
        request.resource,
        {"Endpoint": answer.endpoint, "Bucket": request.bucket},
    )
    headers["x-amz-bucket-region"] = layout.REGION
    if answer.status == 307:  # the temporary endpoint, to re-send this very request to
        port = request.host.rsplit(":", 1)[1] if ":" in request.host else ""
        query = f"?{request.raw_query}" if request.raw_query else ""
        path = request.raw_path if request.virtual_hosted else request.raw_path.split("/", 2)[-1]
        headers["Location"] = f"http://{answer.endpoint}{':' + port if port else ''}/{path.lstrip('/')}{query}"
    return status, headers, body


def now() -> datetime:
    return datetime.now(UTC)


def copy_precondition_failed(request: S3Request) -> tuple[int, dict[str, str], bytes] | None:
    """S3's 412 PreconditionFailed for a CopyObject whose ``x-amz-copy-source-if-match`` names another ETag than the
    source's (moto ignores that header): a copy conditioned on a scanned ETag must not copy a newer upload.
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html"""
    wanted = request.headers.get("x-amz-copy-source-if-match")
    source = request.headers.get("x-amz-copy-source")
    if request.method != "PUT" or not wanted or not source:
        return None
    path = unquote(source.split("?", 1)[0]).lstrip("/")
    bucket, _, key = path.partition("/")
    current = moto_state.object_etag(bucket, key)
    if current is None or current.strip('"') in {tag.strip().strip('"') for tag in wanted.split(",")}:
        return None  # a missing source is moto's NoSuchKey to answer
    return error_response(
        412,
        "PreconditionFailed",
        "At least one of the pre-conditions you specified did not hold",
        request.resource,
        {"Condition": "x-amz-copy-source-If-Match"},
    )


def _no_moto_yet(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    raise RuntimeError("the S3 front was asked to answer before it was given moto's applications (S3Front.use)")


class S3Front:
    """WSGI middleware: S3's behaviour in front of moto's WSGI application."""

    def __init__(
        self, moto_app: WsgiApp | None = None, clock: Callable[[], datetime] = now, *, s3_app: WsgiApp | None = None
    ) -> None:
        """``moto_app`` answers every AWS service (moto's host dispatcher); ``s3_app``, when given, is moto's S3
        application, which the front hands S3 requests to directly: it already knows they are S3, and the
        dispatcher would work that out again on every request (a directory listing and a regex per backend,
        under a global lock). Without ``moto_app``, ``use`` gives them before the first request."""
        self._moto: WsgiApp = _no_moto_yet
        self._s3: WsgiApp = _no_moto_yet
        if moto_app is not None:
            self.use(moto_app, s3_app)
        self._clock = clock
        #: what break switches change in S3's own behaviour
        self.behaviour = StoreBehaviour()
        #: called with the paths of every CloudFront invalidation created through the API
        self.on_invalidation: Callable[[list[str]], int] | None = None

    def use(self, moto_app: WsgiApp, s3_app: WsgiApp | None = None) -> None:
        """Answer through these moto applications (see ``__init__``)."""
        self._moto = moto_app
        self._s3 = s3_app or moto_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not is_s3_request(environ):
            return self._other_service(environ, start_response)
        request = parse_request(environ)
        misdirected = wrong_endpoint(request)
        if misdirected is not None:  # S3 routes by host before anything else: a preflight gets it too
            return self._reply(start_response, *misdirected)
        config = moto_state.bucket_config(request.bucket) if request.bucket else None
        if request.method == "OPTIONS":
            return self._reply(start_response, *self._preflight(request, config))
        if request.method == "POST" and request.key is None and request.bucket and not request.subresources:
            return self._reply(start_response, *self._post_object(environ, request, config))
        refusal, identity = self._authenticate(request)
        if refusal is not None:
            return self._reply(start_response, *refusal, cors=self._cors_headers(request, config))
        denial = (
            self._authorize(request, identity, config)
            or kms_denial(request, identity, config)
            or acl_not_supported(request, config)
            or copy_precondition_failed(request)
        )
        if denial is None and _judges_body(request, self.behaviour):
            environ, denial = self._checked_body(environ, request)
        if denial is not None:
            return self._reply(start_response, *denial, cors=self._cors_headers(request, config))
        return self._reply(start_response, *self._forward(environ, request, identity, config))

    def _checked_body(
        self, environ: dict[str, Any], request: S3Request
    ) -> tuple[dict[str, Any], tuple[int, dict[str, str], bytes] | None]:
        """The body read whole (and handed on to moto), with S3's verdict on its checksums."""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        return dict(environ, **{"wsgi.input": io.BytesIO(body)}), checksum_refusal(request, body, self.behaviour)

    def read_object(
        self, identity: Identity, bucket: str, key: str, *, origin: str | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """GET an object as ``identity``, in process: what S3 answers that identity, decided as for a request on
        the wire (bucket policy, IAM, Block Public Access, a missing key hidden without ``s3:ListBucket``); with
        ``origin``, the request carries that ``Origin`` and the answer the bucket's CORS headers, as on the wire.

        For callers inside the sandbox that would sign a request only to have it verified here (the CDN's
        origin read, signed with Origin Access Control); the signature is not checked, everything else is.
        """
        raw_path = "/" + quote(bucket, safe="") + "/" + quote(key, safe="/~")
        environ = {
            "REQUEST_METHOD": "GET",
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote(raw_path).encode("utf-8").decode("latin-1"),  # WSGI's str-of-bytes, as werkzeug
            "RAW_URI": raw_path,
            "REQUEST_URI": raw_path,
            "QUERY_STRING": "",
            "SERVER_NAME": _ORIGIN_HOST,
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": _ORIGIN_HOST,
            "HTTP_USER_AGENT": "Amazon CloudFront",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": io.StringIO(),
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        if identity.access_key_id:
            # moto looks at who signed (the account, "authenticated or anonymous"), never at the signature
            scope = f"{self._clock():%Y%m%d}/{layout.REGION}/s3/aws4_request"
            environ["HTTP_AUTHORIZATION"] = (
                f"AWS4-HMAC-SHA256 Credential={identity.access_key_id}/{scope}, SignedHeaders=host, Signature=-"
            )
        if origin:
            environ["HTTP_ORIGIN"] = origin
        request = parse_request(environ)
        config = moto_state.bucket_config(bucket)
        denial = self._authorize(request, identity, config) or kms_denial(request, identity, config)
        if denial is not None:
            status, headers, body = denial
            return status, {**headers, **self._cors_headers(request, config)}, body
        stored = moto_state.plain_object(bucket, key)
        if stored is not None:
            return 200, {**stored.headers, **self._cors_headers(request, config)}, stored.body
        return self._forward(environ, request, identity, config)

    def _post_object(
        self, environ: dict[str, Any], request: S3Request, config: moto_state.BucketConfig | None
    ) -> tuple[int, dict[str, str], bytes]:
        """POST Object: a browser's form upload (a presigned POST), decided as S3 decides it, stored through moto
        as a PUT. Checked in this order: the form, its signature (``sigv.verify_post_form``), the policy's
        expiration and conditions (``aws_model.postpolicy``), the identity's permission, ACLs; then stored."""
        from services.aws_model import postpolicy
        from services.sandbox import postform, sigv

        if config is None or not config.exists:
            return error_response(404, "NoSuchBucket", "The specified bucket does not exist", request.resource)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        cors = self._cors_headers(request, config)
        form = postform.parse(request.headers.get("content-type"), body)
        if form is None:
            fields = {"Condition": postform.NOT_A_FORM}
            answer = error_response(412, "PreconditionFailed", PRECONDITION_FAILED, request.resource, fields)
            return _with(answer, cors)
        key = form.key()
        missing = sigv.post_field_missing("key") if key is None else None
        if missing is None and (form.files != 1 or form.file is None):
            missing = S3Error(
                400, "InvalidArgument", postform.ONE_FILE, {"ArgumentName": "file", "ArgumentValue": str(form.files)}
            )
        if missing is not None:
            return _with(
                error_response(missing.status, missing.code, missing.message, request.resource, missing.fields), cors
            )
        assert key is not None and form.file is not None
        verdict = sigv.verify_post_form(form.fields, _secret_for, expected_region=layout.REGION)
        if not verdict.ok:
            error = verdict.error
            assert error is not None, "a refused verdict carries S3's answer"
            return _with(error_response(error.status, error.code, error.message, request.resource, error.fields), cors)
        if not verdict.anonymous:
            policy = postpolicy.decode(form.fields["policy"])
            refused = (
                S3Error(400, "InvalidPolicyDocument", postpolicy.MSG_INVALID_JSON)
                if policy is None
                else postpolicy.refusal(
                    policy, form.fields, bucket=request.bucket or "", size=len(form.file), now=self._clock()
                )
            )
            if refused is not None:
                answer = error_response(refused.status, refused.code, refused.message, request.resource, refused.fields)
                return _with(answer, cors)
        identity = IDENTITIES[verdict.access_key_id][1] if verdict.access_key_id else ANONYMOUS
        upload = replace(request, method="PUT", key=key, headers={**request.headers, **_acl_headers(form)})
        denial = (
            self._authorize(upload, identity, config)
            or kms_denial(upload, identity, config)
            or acl_not_supported(upload, config)
        )
        if denial is not None:
            return _with(denial, cors)
        status, headers, reply = self._store(upload, identity, postform.stored_headers(form), form.file)
        if not 200 <= status < 300:
            return _with((status, headers, reply), cors)
        location = (
            f"http://{request.host}/{quote(key, safe='/~')}"
            if request.virtual_hosted
            else (f"http://{request.host}/{request.bucket}/{quote(key, safe='/~')}")
        )
        etag = next((v for k, v in headers.items() if k.lower() == "etag"), "")
        return _with(postform.success(form, request.bucket or "", key, location, etag), cors)

    def _store(
        self, upload: S3Request, identity: Identity, headers: Mapping[str, str], data: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """PUT ``data`` into moto (path-style) with the object headers the form set, as ``identity``."""
        raw_path = "/" + quote(upload.bucket or "", safe="") + "/" + quote(upload.key or "", safe="/~")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": "PUT",
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote(raw_path).encode("utf-8").decode("latin-1"),
            "QUERY_STRING": "",
            "SERVER_NAME": _ORIGIN_HOST,
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": _ORIGIN_HOST,
            "CONTENT_LENGTH": str(len(data)),
            "CONTENT_TYPE": headers.get("content-type", "binary/octet-stream"),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(data),
            "wsgi.errors": io.StringIO(),
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in headers.items():
            if name != "content-type":
                environ["HTTP_" + name.upper().replace("-", "_")] = value
        key_id = identity.access_key_id or layout.ACCESS_KEY_ID
        scope = f"{self._clock():%Y%m%d}/{layout.REGION}/s3/aws4_request"
        # moto looks at who signed (the account), never at the signature: the front has checked everything
        environ["HTTP_AUTHORIZATION"] = f"AWS4-HMAC-SHA256 Credential={key_id}/{scope}, SignedHeaders=host, Signature=-"
        captured: dict[str, Any] = {}

        def capture(status: str, reply_headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], Any]:
            captured["status"], captured["headers"] = status, reply_headers
            return lambda _data: None

        body = b"".join(self._s3(environ, capture))
        return int(captured["status"].split()[0]), dict(captured["headers"]), body

    def _other_service(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """IAM, CloudFront ...: moto answers; a created invalidation also clears the CDN's cache."""
        path = str(environ.get("PATH_INFO", ""))
        if (
            environ.get("REQUEST_METHOD") != "POST"
            or not _INVALIDATION_PATH.match(path)
            or self.on_invalidation is None
        ):
            return self._moto(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        environ = dict(environ, **{"wsgi.input": io.BytesIO(body)})
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], Any]:
            captured["status"], captured["headers"] = status, headers
            return lambda _data: None

        reply = b"".join(self._moto(environ, capture))
        if captured["status"].startswith("201"):
            document = ET.fromstring(body)  # noqa: S314 - an invalidation request to the local sandbox
            paths = [node.text or "" for node in document.iter() if node.tag.endswith("Path")]
            self.on_invalidation([p for p in paths if p])
        start_response(captured["status"], captured["headers"])
        return [reply]

    # --- steps; each returns None to go on, or a ready response -------------------------------

    def _authenticate(self, request: S3Request) -> tuple[tuple[int, dict[str, str], bytes] | None, Identity]:
        from services.sandbox import sigv

        def secret_for(access_key_id: str) -> str | None:
            entry = IDENTITIES.get(access_key_id)
            return entry[0] if entry else None

        verdict = sigv.verify_request(
            method=request.method,
            host=request.host,
            raw_path=request.raw_path,
            raw_query=request.raw_query,
            headers=request.headers,
            secrets=secret_for,
            now=self._clock(),
            expected_region=layout.REGION,
            bucket=request.bucket,
            virtual_hosted=request.virtual_hosted,
        )
        if verdict.anonymous:
            return None, ANONYMOUS
        if not verdict.ok:
            error = verdict.error
            assert error is not None, "a refused verdict carries S3's answer"
            return error_response(error.status, error.code, error.message, request.resource, error.fields), ANONYMOUS
        key = verdict.access_key_id
        assert key is not None, "an authenticated verdict names its access key"
        return None, IDENTITIES[key][1]

    def _authorize(
        self, request: S3Request, identity: Identity, config: moto_state.BucketConfig | None
    ) -> tuple[int, dict[str, str], bytes] | None:
        if identity.kind == "admin" or request.bucket is None:
            return None
        if config is None or not config.exists:
            return error_response(
                404,
                "NoSuchBucket",
                "The specified bucket does not exist",
                request.resource,
                {"BucketName": request.bucket or ""},
            )
        action = self._action(request)
        if action is None or not self._allowed(identity, action, request, config):
            return error_response(403, "AccessDenied", "Access Denied", request.resource)
        return None

    def _action(self, request: S3Request) -> str | None:
        """The IAM action of an object read/write or a listing; None for configuration calls (admin only)."""
        if request.key:
            return None if request.subresources & _OBJECT_SUBRESOURCES else _OBJECT_ACTIONS.get(request.method)
        if request.method in ("GET", "HEAD") and not request.subresources & _BUCKET_SUBRESOURCES:
            return "s3:ListBucket"
        return None

    def _allowed(self, identity: Identity, action: str, request: S3Request, config: moto_state.BucketConfig) -> bool:
        from services.sandbox import access

        resource = f"arn:aws:s3:::{request.bucket}/{request.key}" if request.key else f"arn:aws:s3:::{request.bucket}"
        return access.is_allowed(identity, action, resource, config)

    def _preflight(
        self, request: S3Request, config: moto_state.BucketConfig | None
    ) -> tuple[int, dict[str, str], bytes]:
        from services.sandbox import cors_http

        if config is None or not config.exists:
            return error_response(404, "NoSuchBucket", "The specified bucket does not exist", request.resource)
        answer = cors_http.preflight(
            config.cors_rules,
            request.headers.get("origin"),
            request.headers.get("access-control-request-method"),
            request.headers.get("access-control-request-headers"),
            request_id=os.urandom(8).hex().upper(),
            host_id=os.urandom(24).hex(),
        )
        return answer.status, dict(answer.headers), answer.body

    def _cors_headers(self, request: S3Request, config: moto_state.BucketConfig | None) -> dict[str, str]:
        from services.sandbox import cors_http

        origin = request.headers.get("origin")
        if not origin or config is None or not config.exists or not config.cors_rules:
            return {}
        return dict(cors_http.actual_request_headers(config.cors_rules, origin, request.method))

    def _forward(
        self, environ: dict[str, Any], request: S3Request, identity: Identity, config: Any
    ) -> tuple[int, dict[str, str], bytes]:
        if request.virtual_hosted:
            environ = dict(environ)
            path = "/" + (request.bucket or "") + (environ.get("PATH_INFO") or "/")
            environ["PATH_INFO"] = path
            environ.pop("RAW_URI", None)
            environ.pop("REQUEST_URI", None)
            environ["HTTP_HOST"] = f"s3.{layout.REGION}.amazonaws.com"
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], Any]:
            captured["status"], captured["headers"] = status, headers
            return lambda _data: None

        app = self._moto if str(environ.get("PATH_INFO", "")).startswith(_S3_CONTROL_PATH) else self._s3
        body = b"".join(app(environ, capture))
        status_code = int(captured["status"].split()[0])
        headers = dict(captured["headers"])
        hidden = status_code == 404 and request.key and identity.kind != "admin" and b"<Code>NoSuchKey</Code>" in body
        if hidden and not self._allowed(identity, "s3:ListBucket", request, config):
            # Without s3:ListBucket, S3 does not reveal whether a key exists: 403 AccessDenied instead.
            status_code, headers, body = error_response(*missing_key_answer(may_list=False), request.resource)
        headers.update(self._cors_headers(request, config))
        return status_code, headers, body

    @staticmethod
    def _reply(
        start_response: Callable[..., Any],
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        cors: Mapping[str, str] | None = None,
    ) -> Iterable[bytes]:
        from http import HTTPStatus

        length = next((v for k, v in headers.items() if k.lower() == "content-length"), None)
        out = {k: v for k, v in headers.items() if k.lower() not in ("content-length", "transfer-encoding", "server")}
        out.update(cors or {})
        # a HEAD answer has no body but announces the object's length, as S3 does
        out["Content-Length"] = length if (not body and length is not None) else str(len(body))
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
        start_response(f"{status} {phrase}", list(out.items()))
        return [body]


#: sub-resources that make a request something other than an object read/write or a listing
_OBJECT_SUBRESOURCES = frozenset(
    {"acl", "tagging", "torrent", "retention", "legal-hold", "attributes", "restore", "select"}
)
_BUCKET_SUBRESOURCES = frozenset(
    {
        "acl",
        "cors",
        "policy",
        "policyStatus",
        "lifecycle",
        "location",
        "logging",
        "notification",
        "replication",
        "tagging",
        "versioning",
        "website",
        "publicAccessBlock",
        "ownershipControls",
        "encryption",
        "accelerate",
        "analytics",
        "inventory",
        "metrics",
        "object-lock",
        "requestPayment",
        "uploads",
        "versions",
        "intelligent-tiering",
        "delete",
    }
)
