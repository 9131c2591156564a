"""Turn what a hop answered into the likely cause, in plain words. Pure functions over evidence.

S3 answers errors as XML (``<Error><Code>…</Code><Message>…</Message>…</Error>``); CloudFront adds
``X-Cache``; API Gateway answers ``{"message": …}``. Each known (hop, status, code) maps to a cause
a person can act on; anything else says what came back without guessing.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable
from enum import StrEnum
from urllib.parse import parse_qs, urlsplit

from services.aws_model import kms, s3checksums, s3endpoints, statements
from services.aws_model.postpolicy import MSG_CONDITION_FAILED as POLICY_CONDITION_FAILED
from services.aws_model.postpolicy import MSG_EXTRA_FIELDS as POLICY_EXTRA_FIELDS
from services.aws_model.s3errors import (
    CLOCK_SKEWED,
    EXPIRED_TOKEN_CODES,
    SIGNATURE_MISMATCH,
    AwsErrorBody,
    classify,
    is_url_expired,
    wrong_scope_region,
)
from services.aws_model.s3headers import put_object_param, signed_beyond_every_put


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


def received_content_type(error: AwsErrorBody) -> str | None:
    """The Content-Type S3 *received*, read from the CanonicalRequest it echoes with SignatureDoesNotMatch.

    S3 builds that canonical request from the request as it arrived, so this is the type that was sent (unless
    something on the way changed it), never the type the URL was signed for: only the presign reply's
    ``contentType`` says that.
    """
    canonical = error.fields.get("CanonicalRequest", "")
    for line in canonical.splitlines():
        if line.lower().startswith("content-type:"):
            return line.split(":", 1)[1].strip()
    return None


class _NotSaid:
    """The caller did not say what the endpoint reported (as opposed to: the endpoint reported nothing)."""

    def __repr__(self) -> str:
        return "NOT_SAID"


NOT_SAID = _NotSaid()


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


ACL_DISABLED = (
    "Object Ownership BucketOwnerEnforced (ACLs disabled: S3's default for new buckets since April 2023) refuses "
    "any ACL other than bucket-owner-full-control, 400 AccessControlListNotSupported 'The bucket does not allow "
    "ACLs'. Remove ACL from the function's generate_presigned_url Params (objects are read through the CDN: no ACL "
    "is needed); see the bucket's with: aws s3api get-bucket-ownership-controls --bucket <bucket>."
)
#: the one statement of why a signed header matters (presign.url, the upload trace and cdn.cache_control's advice)
SIGNED_HEADER_RULE = (
    "botocore signs every Params member S3 takes as a header into the URL (X-Amz-SignedHeaders), and S3 computes "
    "the signature over each signed header of the PUT it receives: a PUT without one, or with another value, gets "
    "403 SignatureDoesNotMatch"
)


def signed_header_fix(header: str) -> str:
    """What to do about ``header``, signed into the URL and not sent by the web app (one sentence's worth)."""
    param = put_object_param(header)
    remove = f"remove {param} from the function's generate_presigned_url Params" if param else "stop signing it"
    return (
        f"{remove}, or make the web app's PUT send {header} with the value the function signs (then tell the "
        "console: PIPELINE_CLIENT_PUT_HEADERS)"
    )


def unsent_signed_headers(url: str, sent: Iterable[str] = ()) -> tuple[str, ...]:
    """The URL's signed headers beyond host, Content-Type and those ``sent``: a PUT without them gets
    SignatureDoesNotMatch."""
    sent_names = {name.lower() for name in sent}
    return tuple(h for h in signed_beyond_every_put(signed_headers(url)) if h not in sent_names)


def explain_put(
    status: int,
    error: AwsErrorBody,
    sent_content_type: str,
    url: str,
    signed_content_type: str | _NotSaid | None = NOT_SAID,
    sent_headers: Iterable[str] = (),
) -> str:
    """The likely cause of a failed presigned PUT.

    ``signed_content_type`` is the type the URL was signed for, as far as it is known: the presign reply's
    ``contentType`` (or a type S3 went on to accept). None when the reply had none (the endpoint did not say which
    type it signed); leave it out when the caller does not know what the reply said. S3's own error never says it:
    its CanonicalRequest holds the type it received. ``sent_headers`` names the headers the PUT sent besides
    Content-Type (PIPELINE_CLIENT_PUT_HEADERS).
    """
    code = error.code or ""
    message = error.message or ""
    if code == SIGNATURE_MISMATCH:
        return _signature_mismatch(error, sent_content_type, url, signed_content_type, tuple(sent_headers))
    checksum = _checksum_cause(code, message, url, tuple(sent_headers))
    if checksum is not None:
        return checksum
    if code == "AccessControlListNotSupported":
        return f"The function signs an ACL (x-amz-acl), the upload sent it, and S3 refused it: {ACL_DISABLED}"
    if is_url_expired(error):
        return "The presigned URL has expired: upload sooner after presigning, or raise the function's expiry."
    if code == "AccessDenied" and kms.GENERATE_DATA_KEY in message:
        return explain_kms_put(message)
    if code == "AccessDenied":
        return (
            "S3 denied the signed PUT although presigning worked: the Lambda's execution role most likely lacks "
            "s3:PutObject on arn:aws:s3:::<bucket>/*, or a bucket policy / KMS key denies it."
        )
    if code in EXPIRED_TOKEN_CODES:
        return "The function's temporary credentials expired before the upload: presign closer to the upload."
    if code == CLOCK_SKEWED:
        return "This machine's clock, or the function's, is more than 15 minutes off; fix the clock (NTP)."
    if code in (s3endpoints.PERMANENT_REDIRECT, s3endpoints.TEMPORARY_REDIRECT) or status in (301, 307):
        return explain_redirect(status, error)
    scope = wrong_scope_region(error)
    if scope is not None:
        return (
            f"The URL is signed for region {scope[0]} (its X-Amz-Credential), but the bucket is in {scope[1]}: S3 "
            f'answered {status} {code} "{message}". {region_fix(scope[1])}'
        )
    if code == "AuthorizationQueryParametersError":
        return f"The URL's signing parameters are malformed (often the wrong region in X-Amz-Credential): {message}"
    if code == "NoSuchBucket":
        return "The bucket the URL names does not exist: check the function's BUCKET_NAME."
    if code == "SlowDown" or status == 503:
        return "S3 asked to slow down (503); retry with backoff."
    if code:
        return f"S3 answered {status} {code}: {message}"
    return f"S3 answered HTTP {status} with no error code."


def region_fix(bucket_region: str | None) -> str:
    """How the function's client must be built to sign for the bucket's own region on its regional endpoint."""
    region = bucket_region or "<the bucket's region>"
    suffix = s3endpoints.dns_suffix(bucket_region)
    return (
        f"Build the function's S3 client for the bucket's region: boto3.client('s3', region_name='{region}', "
        "config=Config(signature_version='s3v4', s3={'addressing_style': 'virtual'})) with no endpoint_url (or "
        f"endpoint_url='https://s3.{region}.{suffix}'), as the shipped presign_function does with "
        f"BUCKET_REGION={region}."
    )


def explain_redirect(status: int, error: AwsErrorBody) -> str:
    """S3's 301 PermanentRedirect / 307 TemporaryRedirect: the URL is on another region's (or the global)
    endpoint. Its ``<Endpoint>`` names the bucket's own (https://docs.aws.amazon.com/AmazonS3/latest/userguide/
    UsingRouting.html); a browser does not re-send a preflighted PUT there."""
    endpoint = error.fields.get("Endpoint") or ""
    named = s3endpoints.address(endpoint.lower(), 0, "/") if endpoint else None
    region = named.region if named is not None else None
    where = f" {endpoint}" if endpoint else " the bucket's own endpoint"
    in_region = f" (the bucket is in {region})" if region else ""
    return (
        f"S3 answered {status} {error.code or 'redirect'} to{where}{in_region}: the URL's region or addressing style is not "
        "the bucket's (the legacy global endpoint, or another region's), and a browser's upload does not survive the redirect (its CORS preflight "
        f"cannot follow one). {region_fix(region)}"
    )


def explain_post(status: int, error: AwsErrorBody, sent_content_type: str, size: int | None) -> str:
    """The likely cause of a failed presigned POST (a form upload judged against the policy the function signed)."""
    code = error.code or ""
    message = error.message or ""
    if code == "EntityTooLarge":
        allowed = error.fields.get("MaxSizeAllowed", "?")
        proposed = error.fields.get("ProposedSize", "?") if size is None else f"{size:,}"
        return (
            f"The file is {proposed} bytes; the presigned POST's policy allows at most {allowed} bytes "
            "(content-length-range), so S3 refused it and stored nothing. Send a smaller file, or raise the "
            "function's MAX_UPLOAD_BYTES."
        )
    if code == "EntityTooSmall":
        allowed = error.fields.get("MinSizeAllowed", "?")
        proposed = error.fields.get("ProposedSize", "?") if size is None else f"{size:,}"
        return f"The file is {proposed} bytes; the policy's content-length-range asks for at least {allowed} bytes."
    if is_url_expired(error):
        return (
            "The presigned POST's policy had expired: upload sooner after presigning, or raise the function's expiry."
        )
    if message.startswith(POLICY_CONDITION_FAILED):
        condition = message[len(POLICY_CONDITION_FAILED) :]
        return (
            f"The form broke a condition of the policy the function signed ({condition}); the upload sent "
            f"Content-Type {sent_content_type!r}. Send every field exactly as the reply's fields give them, and the "
            "file as the last field."
        )
    if message.startswith(POLICY_EXTRA_FIELDS):
        return (
            f"The form carried a field its policy does not name ({message[len(POLICY_EXTRA_FIELDS) :]}): send only "
            "the reply's fields and the file, or have the function add a condition for it."
        )
    if code == SIGNATURE_MISMATCH:
        return (
            "The form's x-amz-signature does not match its policy: the policy or the signing fields were altered, "
            "or they were signed with other credentials or for another region."
        )
    if code == "AccessDenied":
        return (
            "S3 denied the presigned POST although its policy held: the Lambda's execution role most likely lacks "
            "s3:PutObject on arn:aws:s3:::<bucket>/*, or a bucket policy / KMS key denies it."
        )
    return explain_put(status, error, sent_content_type, "")


#: what the function's client must be told so that it signs no checksum into its URLs (presign.url names it too)
CHECKSUM_CLIENT_FIX = (
    "Make the function's S3 client add no checksum to presigned URLs: in the AWS SDK for JavaScript v3, "
    'new S3Client({ ..., requestChecksumCalculation: "WHEN_REQUIRED" }); in boto3/botocore, '
    'Config(request_checksum_calculation="when_required") or AWS_REQUEST_CHECKSUM_CALCULATION=when_required, and no '
    "ChecksumAlgorithm or Checksum* in generate_presigned_url's Params."
)


def _checksum_cause(code: str, message: str, url: str, sent_headers: tuple[str, ...]) -> str | None:
    """The cause of a PUT refused for its checksum: S3's own (BadDigest, InvalidRequest about x-amz-checksum-*) or
    an S3-compatible store's verdict on the URL's query checksum (XAmzContentChecksumMismatch); None otherwise."""
    try:
        query = urlsplit(url).query
    except ValueError:
        query = ""
    in_query = s3checksums.query_checksums(query)
    shown = ", ".join(f"{name}={value}" for name, value in sorted(in_query.items()))
    if code == s3checksums.STORE_QUERY_MISMATCH.code or (code == "BadDigest" and in_query and not sent_headers):
        empty = (
            f" ({s3checksums.EMPTY_CRC32} is the CRC32 of an empty body: the presigner never saw the file)"
            if s3checksums.EMPTY_CRC32 in in_query.values()
            else ""
        )
        return (
            f"The store verified the checksum in the URL's query ({shown or 'x-amz-checksum-*'}){empty} against the "
            f"file and refused it ({code}: {message}). Amazon S3 ignores a query-string checksum; S3-compatible "
            f"stores (MinIO, Cloudflare R2, SeaweedFS) do not. {CHECKSUM_CLIENT_FIX}"
        )
    if code == "BadDigest":
        return (
            f"S3 computed the body's checksum and it is not the x-amz-checksum-* value the upload sent ({message}): "
            "the file changed on the way, or the value was computed over other bytes (a presigner that never saw "
            f"the file). Send the checksum of the bytes actually uploaded, or none. {CHECKSUM_CLIENT_FIX}"
        )
    if code == "InvalidRequest" and "x-amz-checksum" in message:
        return (
            f"S3 refused the checksum headers ({message}): x-amz-sdk-checksum-algorithm must come with its "
            "x-amz-checksum-* value (base64 of the digest), and only one algorithm at a time. "
            f"{CHECKSUM_CLIENT_FIX}"
        )
    return None


def _signature_mismatch(
    error: AwsErrorBody, sent: str, url: str, signed: str | _NotSaid | None, sent_headers: tuple[str, ...]
) -> str:
    """Names the signed headers the PUT did not send; else says "signed for X but sent Y" only when both are known,
    otherwise exactly what is known."""
    headers = signed_headers(url)
    unsent = unsent_signed_headers(url, sent_headers)
    if unsent:
        acl = f" And even when sent: {ACL_DISABLED}" if "x-amz-acl" in unsent else ""
        fixes = "; ".join(f"for {h}: {signed_header_fix(h)}" for h in unsent)
        return (
            f"The URL also signs {', '.join(unsent)} (X-Amz-SignedHeaders: {';'.join(headers)}), which the upload "
            f"did not send: {SIGNED_HEADER_RULE}. To fix it, {fixes}.{acl}"
        )
    extras = [h for h in signed_beyond_every_put(headers) if h in {n.lower() for n in sent_headers}]
    also = (
        f" The upload sent {', '.join(extras)} as configured (PIPELINE_CLIENT_PUT_HEADERS): a value other than "
        "the one the function signs is refused the same way."
        if extras
        else ""
    )
    return _content_type_mismatch(error, sent, headers, signed) + also


def _content_type_mismatch(
    error: AwsErrorBody, sent: str, headers: tuple[str, ...], signed: str | _NotSaid | None
) -> str:
    if "content-type" not in headers:
        return "The signature does not match: the URL was altered, or it was signed with other credentials or region."
    listed = ";".join(headers)
    received = received_content_type(error)
    transit = (
        f" S3 received Content-Type {received!r} (the CanonicalRequest it echoes): something between this machine "
        "and S3 changed the header."
        if received is not None and received != sent
        else ""
    )
    if isinstance(signed, str) and signed != sent:
        return (
            f"The URL was signed for Content-Type {signed!r} but the upload sent {sent!r}. Send exactly the signed "
            f"type, or change PIPELINE_CLIENT_CONTENT_TYPE to match the function.{transit}"
        )
    if isinstance(signed, str):
        return (
            f"The upload sent {sent!r}, the type the presign reply says it signed (contentType), and S3 still "
            f"refused the signature (signed headers: {listed}): the function may sign another type than it reports, "
            f"or the URL was altered or signed with other credentials or region.{transit}"
        )
    unsaid = (
        " The endpoint did not say which type it signed (no contentType in its reply), so the console cannot name "
        "it: have the function return contentType, or set PIPELINE_CLIENT_CONTENT_TYPE to the type it signs (the "
        "seed's function signs application/<ext>)."
        if signed is None
        else " The client must send exactly the type the function signed."
    )
    return (
        f"Content-Type is one of the signed headers ({listed}) and the upload sent {sent!r}, which S3 did not "
        f"accept.{unsaid}{transit}"
    )


#: KMS's refusal as S3 passes it on (services/aws_model/kms.py): who, which key, and which policy did not allow it
_KMS_REFUSAL = re.compile(
    r"User: (?P<who>\S+) is not authorized to perform: (?P<action>kms:\w+) on resource: (?P<key>\S+) "
    r"(?:because no (?P<lacking>identity|resource)-based policy|with an explicit deny)"
)


def _role_of(principal: str) -> str:
    """The role name of an assumed-role session ARN (arn:aws:sts::A:assumed-role/ROLE/SESSION) or role ARN."""
    tail = principal.split(":", 5)[-1]
    parts = tail.split("/")
    return parts[1] if parts[0] == "assumed-role" and len(parts) > 1 else parts[-1] if parts[0] == "role" else "<role>"


def explain_kms_put(message: str) -> str:
    """A PUT S3 refused because KMS refused the signer kms:GenerateDataKey on the bucket's key (SSE-KMS): which
    policy must allow it, and the command that makes it so."""
    found = _KMS_REFUSAL.search(message)
    key = found.group("key") if found else "<key-arn>"
    role = _role_of(found.group("who")) if found else "<role>"
    account = (found.group("who").split(":") + [""] * 5)[4] if found else ""
    head = (
        f"S3 encrypts this upload with the KMS key {key} (SSE-KMS: the bucket's default encryption, or the URL "
        f"signs x-amz-server-side-encryption: aws:kms), and KMS refused the function's role {role} "
        "kms:GenerateDataKey on it, so S3 refused the PUT (403 AccessDenied)."
    )
    lacking = found.group("lacking") if found else None
    account = account or "<account-id>"
    if lacking == "identity":
        document = json.dumps({"Version": "2012-10-17", "Statement": [statements.kms_generate_data_key(key)]})
        return (
            f"{head} The key policy delegates to the account's IAM, and no IAM policy of the role allows it: "
            f"aws iam put-role-policy --role-name {shlex.quote(role)} --policy-name presign-kms --policy-document "
            f"{shlex.quote(document)} (see the check bucket.encryption)."
        )
    if lacking == "resource":
        return (
            f"{head} The key policy neither names the role nor delegates to the account's IAM: add a statement "
            f"allowing arn:aws:iam::{account}:role/{role} kms:GenerateDataKey, or the account's root (then grant "
            f"it in IAM), with aws kms put-key-policy --key-id {key} --policy-name default --policy "
            "file://key-policy.json (see the check bucket.encryption for the whole policy)."
        )
    return f"{head} A Deny statement refuses it, in the key policy or the role's policies: remove it (see bucket.encryption)."


KMS_CDN_DENIED = (
    "The object is encrypted with a KMS key (SSE-KMS) and CloudFront may not kms:Decrypt with it: the key policy "
    "needs a statement allowing cloudfront.amazonaws.com kms:Decrypt with AWS:SourceArn set to this distribution's "
    "ARN (aws kms put-key-policy; the check bucket.cdn_kms_grant gives the whole policy). A legacy origin access "
    "identity cannot read SSE-KMS objects at all: move the origin to Origin Access Control."
)


def explain_cdn_cors(origin: str, allow_origin: str | None, x_cache: str | None) -> str:
    """Why a web app at ``origin`` reading an image cross-origin (fetch, <img crossorigin>, canvas) is refused it
    although the CDN served it: its reply carries no Access-Control-Allow-Origin for that origin."""
    got = f"Access-Control-Allow-Origin: {allow_origin}" if allow_origin else "no Access-Control-Allow-Origin"
    return (
        f"The CDN served the image with {got} (X-Cache: {x_cache or 'none'}), so the browser refuses it to the web "
        f"app at {origin}. S3 answers CORS only when Origin reaches it and a bucket CORS rule lets {origin} GET; "
        "CloudFront keeps one answer per cache key, so Origin must be in the cache key (a cache policy with Origin, "
        "and the origin request policy CORS-S3Origin), or a CORS response headers policy (SimpleCORS) must add the "
        "header at the edge. The check cdn.cors gives the exact fix."
    )


class Existence(StrEnum):
    """What the console's own HEAD of the key the CDN refused said: the object is there, is not, or it could not
    tell (the HEAD was refused or failed)."""

    PRESENT = "present"
    MISSING = "missing"
    UNKNOWN = "unknown"


def existence_of(code: str | None, status: int | None) -> Existence:
    """A failed HEAD's verdict on the object: MISSING for a 404 (the console's identity may list, so S3 says so),
    UNKNOWN for anything else (a refusal hides a missing key too)."""
    return Existence.MISSING if classify(code, status) == "missing" or status == 404 else Existence.UNKNOWN


def explain_cdn(
    status: int,
    x_cache: str | None,
    age: str | None,
    message: str | None = None,
    *,
    existence: Existence | None = None,
    key: str | None = None,
    stored_key: str | None = None,
) -> str:
    """The likely cause of a CDN answer other than 200. ``message``: S3's error message the CDN passed on, when
    known; ``existence``: what the console's own HEAD of ``key`` (the key read) said, None when it did not look;
    ``stored_key``: the key the presigned URL stored the upload under, when known. A 403 for a missing key is not the
    grant: S3 hides missing keys from readers that may not list the bucket
    (services/aws_model/s3errors.missing_key_answer), and CloudFront's Origin Access Control may not."""
    cache = f" (X-Cache: {x_cache}{', Age: ' + age if age else ''})" if x_cache else ""
    if status == 403 and message == kms.CIPHERTEXT_DENIED:
        return f"The CDN answered 403{cache}, S3 saying {message!r} {KMS_CDN_DENIED}"
    if status in (403, 404):
        cached = (
            " This error is cached: it may persist for the error-caching TTL after a fix, or until an invalidation."
            if age
            else ""
        )
        if existence is Existence.MISSING:
            return _missing_object(status, cache, key, stored_key) + cached
        if existence is Existence.PRESENT:
            return (
                f"The CDN answered {status}{cache}, yet the object exists (the console's S3 HEAD of it answered 200): "
                + (
                    "CloudFront really is refused. Check that the bucket policy grants cloudfront.amazonaws.com "
                    "s3:GetObject with AWS:SourceArn set to this distribution's ARN, and that its Origin Access "
                    "Control is attached (or that no OriginPath makes it look for the object elsewhere)."
                    if status == 403
                    else "the distribution's origin (its domain or origin path) is not where the object is."
                )
                + cached
            )
        unknown = (
            " Which of the two could not be told: the console's own S3 HEAD of the key was refused or failed (it "
            "needs s3:GetObject on the bucket's objects and s3:ListBucket on the bucket: without the latter S3 hides "
            "a missing key from it too)."
            if existence is Existence.UNKNOWN
            else ""
        )
        return (
            f"The CDN answered {status}{cache}: the object is missing or CloudFront may not read it. Check that the "
            "bucket policy grants cloudfront.amazonaws.com s3:GetObject with AWS:SourceArn set to this "
            f"distribution's ARN, and that the key exists.{unknown}{cached}"
        )
    if status in (301, 302, 307, 308):
        return f"The CDN redirected ({status}){cache}: check PIPELINE_CDN_URL (https, the distribution's domain)."
    if status >= 500:
        return f"The CDN answered {status}{cache}: the origin is unreachable or failing."
    return f"The CDN answered HTTP {status}{cache}."


def _missing_object(status: int, cache: str, key: str | None, stored_key: str | None) -> str:
    shown = f" {key!r}" if key else ""
    hidden = (
        " S3 answers 403 AccessDenied, not 404, for a key that does not exist when the reader may not s3:ListBucket, "
        "as CloudFront's Origin Access Control may not by default: the grant is not the cause."
        if status == 403
        else ""
    )
    if stored_key and key and stored_key != key:
        why = (
            f" The presigned URL stored the upload under {stored_key!r}, but{shown} was read: the function reports "
            "another key than the one it signed (it builds the key twice). Build the key once and return that key "
            "with the URL."
        )
    else:
        why = (
            " The key read is not one that was stored: the web app read a key the function did not sign, the "
            "distribution's origin path points elsewhere, or the object was deleted."
        )
    return (
        f"The CDN answered {status}{cache} because the object{shown} does not exist: the console's own S3 HEAD of it "
        f"answered 404.{hidden}{why}"
    )
