"""Relabel one object in place: CopyObject onto itself with the new labels, everything else kept, and only if it
is still the object that was scanned.

CopyObject with ``MetadataDirective=REPLACE`` replaces every stored header, so each one the object had is sent
again: user metadata, Content-Disposition/Encoding/Language, Expires, the website redirect, the storage class,
server-side encryption (an SSE-KMS object names its key again, else S3 would use the bucket's default) and Object
Lock settings; tags are kept by ``TaggingDirective=COPY``. ``CopySourceIfMatch`` on the scanned ETag makes S3
refuse (412 PreconditionFailed) when someone overwrote the object since, so a new upload is never clobbered
(https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html). A copy gets a private ACL unless the request
grants one: with Object Ownership ``BucketOwnerEnforced`` (ACLs disabled, the default) that is all there is; on a
bucket whose objects have ACLs, each object's grants are read (GetObjectAcl) and sent again as the ``Grant*``
parameters (services/aws_model/s3acl.py), and an object whose ACL cannot be read or expressed is not copied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from services.aws_model import s3acl
from services.aws_model.s3errors import MISSING_CODES
from services.pipeline.repair.decide import CHANGED, FAILED, FIXED, ObjectState, Planned
from services.pipeline.repair.scan import FIRST_BYTES, Pacer, error_code

#: encryptions whose ETag is not the MD5 of the bytes (https://docs.aws.amazon.com/AmazonS3/latest/API/API_Object.html)
_ETAG_NOT_MD5 = ("aws:kms", "aws:kms:dsse")


@dataclass(frozen=True)
class Outcome:
    key: str
    result: str  # FIXED, CHANGED (412: overwritten since the scan), FAILED
    reason: str | None = None
    code: str | None = None


def copy_arguments(
    bucket: str, state: ObjectState, planned: Planned, grants: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The CopyObject request that gives ``state`` the labels of ``planned`` and keeps everything else (with
    ``grants``, the Grant* parameters of its ACL, on a bucket whose objects have ACLs)."""
    args: dict[str, Any] = {
        "Bucket": bucket,
        "Key": state.key,
        "CopySource": {"Bucket": bucket, "Key": state.key},
        "CopySourceIfMatch": f'"{state.etag}"',
        "MetadataDirective": "REPLACE",
        "TaggingDirective": "COPY",
        "ContentType": planned.new_type,
        "Metadata": dict(state.metadata),
    }
    optional: dict[str, object] = {
        "CacheControl": planned.new_cache_control,
        "ContentDisposition": state.content_disposition,
        "ContentEncoding": state.content_encoding,
        "ContentLanguage": state.content_language,
        "Expires": state.expires,
        "WebsiteRedirectLocation": state.website_redirect,
        "StorageClass": state.storage_class,
        "ServerSideEncryption": state.encryption,
        "ObjectLockMode": state.lock_mode,
        "ObjectLockRetainUntilDate": state.lock_until,
        "ObjectLockLegalHoldStatus": state.legal_hold,
    }
    if state.encryption in _ETAG_NOT_MD5:
        optional["SSEKMSKeyId"] = state.kms_key_id
        optional["BucketKeyEnabled"] = state.bucket_key
    args.update({name: value for name, value in optional.items() if value is not None})
    args.update(grants or {})
    return args


def bucket_ownership(s3: Any, bucket: str) -> tuple[str | None, bool]:
    """(the bucket's Object Ownership, whether its objects have ACLs to keep). No controls set: ACLs apply (a
    bucket from before them). Not readable: ACLs are assumed, so each object's grants are read and kept."""
    try:
        rules = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    except ClientError as err:
        if error_code(err) in MISSING_CODES:
            return None, True
        return f"unknown ({error_code(err) or 'an error'})", True
    except BotoCoreError:
        return "unknown (S3 not reached)", True
    ownership = next((str(rule["ObjectOwnership"]) for rule in rules if rule.get("ObjectOwnership")), None)
    return ownership, s3acl.acls_apply(ownership)


def _grants(s3: Any, bucket: str, key: str, pacer: Pacer) -> tuple[dict[str, str] | None, str | None, str | None]:
    """(the object's ACL as Grant* parameters, or why it cannot be kept, and AWS's code)."""
    try:
        acl = pacer.call(lambda: s3.get_object_acl(Bucket=bucket, Key=key))
    except ClientError as err:
        code = error_code(err)
        why = f"its ACL could not be read (GetObjectAcl: {code or 'an error'}; needs s3:GetObjectAcl)"
        return None, f"{why}: not copied, as the copy would make it private", code
    except BotoCoreError as err:
        return None, f"its ACL could not be read (S3 not reached: {type(err).__name__}): not copied", None
    try:
        return s3acl.grant_params(acl), None, None
    except s3acl.UncopyableGrant as err:
        return None, f"its ACL has {err}, which a copy cannot keep: not copied", None


def _verify(s3: Any, bucket: str, state: ObjectState, new_etag: str, pacer: Pacer) -> str | None:
    """Why the copy's bytes may differ from the scanned ones, or None when they are the same.

    A single-part, unencrypted or SSE-S3 object's ETag is the MD5 of its bytes: the copy's must be the scanned one.
    Otherwise (multipart, SSE-KMS) the ETag says nothing of the bytes, so the size and first bytes are read again.
    """
    if not state.multipart and state.encryption not in _ETAG_NOT_MD5:
        return None if new_etag == state.etag else f"the copy's ETag {new_etag} is not the scanned {state.etag}"
    reply = pacer.call(lambda: s3.get_object(Bucket=bucket, Key=state.key, Range=f"bytes=0-{FIRST_BYTES - 1}"))
    body = reply["Body"]
    try:
        first = body.read(FIRST_BYTES)
    finally:
        body.close()
    size = str(reply.get("ContentRange") or "").rsplit("/", 1)[-1]
    if first != state.first_bytes or (size.isdigit() and int(size) != state.size):
        return "the object's size or first bytes differ after the copy"
    return None


def fix_object(
    s3: Any, bucket: str, state: ObjectState, planned: Planned, pacer: Pacer, keep_acl: bool = False
) -> Outcome:
    """Copy the object onto itself with its new labels, if it is still the scanned object; then check its bytes.
    ``keep_acl`` (a bucket whose objects have ACLs): its grants are read first and given to the copy."""
    grants = None
    if keep_acl:
        grants, why, code = _grants(s3, bucket, state.key, pacer)
        if grants is None:
            return Outcome(state.key, FAILED, why, code)
    try:
        reply = pacer.call(lambda: s3.copy_object(**copy_arguments(bucket, state, planned, grants)))
    except ClientError as err:
        code = error_code(err)
        if code in ("PreconditionFailed", "412"):
            return Outcome(state.key, CHANGED, "overwritten since the scan: left as it is (scan again to fix it)", code)
        return Outcome(state.key, FAILED, f"CopyObject failed: {code or 'an error'}", code)
    except BotoCoreError as err:
        return Outcome(state.key, FAILED, f"CopyObject could not reach S3 ({type(err).__name__})")
    new_etag = str(reply.get("CopyObjectResult", {}).get("ETag", "")).strip('"')
    try:
        problem = _verify(s3, bucket, state, new_etag, pacer)
    except (ClientError, BotoCoreError) as err:
        read_code = error_code(err) if isinstance(err, ClientError) else None
        reason = f"copied, but reading it back failed ({read_code or type(err).__name__})"
        return Outcome(state.key, FAILED, reason, read_code)
    if problem is not None:
        return Outcome(state.key, FAILED, problem)
    return Outcome(state.key, FIXED)
