"""S3's (and AWS's) error answers: the XML error body parsed once, and the code sets that classify a refusal.

S3 answers errors as ``<Error><Code>…</Code><Message>…</Message>…</Error>``
(https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html). HEAD replies carry no body, so botocore's
code is then the status ("403", "404"). Pure: no I/O, nothing of the project imported.
"""

from __future__ import annotations

import base64
import hashlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

#: S3's Message for a presigned URL past X-Amz-Date + X-Amz-Expires, and for a POST form past its policy's expiration
MSG_URL_EXPIRED = "Request has expired"
MSG_POLICY_EXPIRED = "Invalid according to Policy: Policy expired."
_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: str) -> str:
    """Escape for XML character data; characters XML 1.0 cannot carry become U+FFFD."""
    text = _XML_INVALID.sub("\ufffd", value)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def host_id_for(request_id: str) -> str:
    """A stable stand-in for S3's x-amz-id-2, shaped like one (base64)."""
    return base64.b64encode(hashlib.sha256(f"host-id:{request_id}".encode()).digest()).decode()


@dataclass(frozen=True)
class S3Error:
    """One refusal as S3 words it: HTTP status, error Code, Message and the extra XML elements S3 adds (the one
    shape of an S3 refusal: the sandbox's signature, CORS, POST-policy and checksum verdicts all answer with it)."""

    status: int
    code: str
    message: str
    fields: dict[str, str] = field(default_factory=dict)

    def to_xml(self, resource: str, request_id: str, *, host_id: str | None = None) -> bytes:
        """S3's XML error body: Code, Message, the extra fields, Resource, RequestId, HostId, in S3's order.
        ``<Resource>`` is written only when ``resource`` is not empty: S3 itself omits it on authentication and
        CORS errors, so pass ``""`` to match S3 byte for byte."""
        elements = [("Code", self.code), ("Message", self.message), *self.fields.items()]
        if resource:
            elements.append(("Resource", resource))
        elements += [("RequestId", request_id), ("HostId", host_id or host_id_for(request_id))]
        body = "".join(f"<{name}>{xml_text(value)}</{name}>" for name, value in elements)
        return f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{body}</Error>'.encode()


#: the console's (or a caller's) identity was refused. Not AllAccessDisabled (the bucket or account is
#: suspended) nor credential errors: no grant would help those.
DENIED_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess", "Forbidden", "403"}
)
#: what was asked for is not there (a configuration never set counts: NoSuchCORSConfiguration ...)
MISSING_CODES = frozenset(
    {
        "NoSuchCORSConfiguration",
        "OwnershipControlsNotFoundError",
        "ServerSideEncryptionConfigurationNotFoundError",
        "NoSuchBucketPolicy",
        "NoSuchPublicAccessBlockConfiguration",
        "NoSuchKey",
        "NoSuchDistribution",
        "NoSuchOriginAccessControl",
        "ResourceNotFoundException",
        "NoSuchEntity",
        "NotFoundException",
        "404",
        "NotFound",
        "NoSuchBucket",
    }
)
#: these credentials are not accepted at all (as opposed to accepted, and denied)
CREDENTIAL_CODES = frozenset(
    {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "TokenRefreshRequired"}
)
#: a session token (temporary credentials) ran out
EXPIRED_TOKEN_CODES = frozenset({"ExpiredToken", "TokenRefreshRequired", "RequestExpired", "ExpiredTokenException"})
SIGNATURE_MISMATCH = "SignatureDoesNotMatch"
#: a request dated further than MAX_CLOCK_SKEW from S3's clock: S3's answer says its limit
#: (MaxAllowedSkewMilliseconds 900000); a presigned URL dated that far ahead is refused "Request is not yet valid"
CLOCK_SKEWED = "RequestTimeTooSkewed"
MAX_CLOCK_SKEW = timedelta(minutes=15)
#: the bucket's region is another than the request's
WRONG_REGION_CODES = frozenset({"PermanentRedirect", "AuthorizationHeaderMalformed", "TemporaryRedirect"})
#: a GET/HEAD of a key that does not exist: a reader who may s3:ListBucket the bucket learns so, anyone else gets the
#: answer a refusal gets, so that S3 does not reveal which keys exist
#: (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, "Permissions"). CloudFront's Origin Access
#: Control has no list grant unless the bucket policy adds one: the CDN answers 403 for a missing key too.
NO_SUCH_KEY = (404, "NoSuchKey", "The specified key does not exist.")
MISSING_KEY_HIDDEN = (403, "AccessDenied", "Access Denied")


def missing_key_answer(may_list: bool) -> tuple[int, str, str]:
    """(status, code, message) S3 answers a reader for a key that does not exist."""
    return NO_SUCH_KEY if may_list else MISSING_KEY_HIDDEN


#: S3's text for a credential scope naming another region than the bucket's (query: AuthorizationQueryParametersError
#: "Error parsing the X-Amz-Credential parameter; the region 'us-west-2' is wrong; expecting 'ap-northeast-2'";
#: header: AuthorizationHeaderMalformed "The authorization header is malformed; the region ... is wrong; ...")
_WRONG_SCOPE_REGION = re.compile(r"the region '(?P<signed>[^']*)' is wrong; expecting '(?P<expected>[^']*)'")


@dataclass(frozen=True)
class AwsErrorBody:
    code: str | None = None
    message: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)


def parse_s3_error(body: bytes | str | None) -> AwsErrorBody:
    """The Code, Message and other fields of an S3-style XML error body (empty when it is not one, or is cut
    short: a guess from half a document is not what S3 said)."""
    if not body:
        return AwsErrorBody()
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    text = text.strip()
    if not text.startswith("<"):
        return AwsErrorBody()
    try:
        root = ET.fromstring(text)  # noqa: S314 - bounded error bodies from the hop we called
    except ET.ParseError:
        return AwsErrorBody()
    fields = {child.tag: (child.text or "") for child in root}
    return AwsErrorBody(code=fields.get("Code"), message=fields.get("Message"), fields=fields)


def wrong_scope_region(error: AwsErrorBody) -> tuple[str, str] | None:
    """(signed, expected) regions when S3 refused a credential scope for naming another region than the bucket's."""
    if error.code not in ("AuthorizationQueryParametersError", "AuthorizationHeaderMalformed"):
        return None
    found = _WRONG_SCOPE_REGION.search(error.message or "")
    return (found["signed"], found["expected"]) if found else None


def is_url_expired(error: AwsErrorBody) -> bool:
    """S3's answer to a presigned URL past its X-Amz-Expires: 403 AccessDenied "Request has expired"; and to a
    presigned POST past its policy's expiration: 403 AccessDenied "Invalid according to Policy: Policy expired."."""
    if error.code != "AccessDenied":
        return False
    message = error.message or ""
    return "request has expired" in message.lower() or message == MSG_POLICY_EXPIRED


def is_denied(code: str | None, status: int | None = None) -> bool:
    """Refused for lack of permission: a denied code, or a 403 whose code says nothing else (not credentials)."""
    if code in CREDENTIAL_CODES or code in EXPIRED_TOKEN_CODES:
        return False
    return code in DENIED_CODES or status == 403


def classify(code: str | None, status: int | None = None) -> str | None:
    """``credential``, ``expired``, ``denied``, ``missing`` or None (anything else)."""
    if code in EXPIRED_TOKEN_CODES:
        return "expired"
    if code in CREDENTIAL_CODES:
        return "credential"
    if code in MISSING_CODES:
        return "missing"
    if is_denied(code, status):
        return "denied"
    return None
