"""bucket.ownership: the bucket's Object Ownership against the ACL the presign function signs. Pure judge.

With Object Ownership ``BucketOwnerEnforced`` (ACLs disabled; S3's default for new buckets since April 2023)
a PUT that sets an ACL other than ``bucket-owner-full-control`` fails 400 ``AccessControlListNotSupported``
"The bucket does not allow ACLs" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html).
A presigned URL names the ACL it signs only as ``x-amz-acl`` in ``X-Amz-SignedHeaders``, not its value: the
canary finds the value by the one canned ACL whose signature matches (``Canary.acl_tries``).
"""

from __future__ import annotations

from services.aws_model.s3acl import BUCKET_OWNER_ENFORCED
from services.aws_model.s3errors import parse_s3_error
from services.checks.evidence import Canary, Evidence
from services.checks.findings import finding, presigned_post, presigned_url, unreadable
from services.checks.model import Check, ConfigRead, Exchange, Finding, Impact, ReadState, Status
from services.pipeline.explain import ACL_DISABLED, signed_headers

#: this module's check ids, each written once: its judge and its entry in CHECKS use the name
BUCKET_OWNERSHIP = "bucket.ownership"

ENFORCED = BUCKET_OWNER_ENFORCED
#: the one ACL a bucket with ACLs disabled accepts on a write
OWNER_FULL_CONTROL = "bucket-owner-full-control"


def _signed_acl(canary: Canary) -> tuple[str | None, Exchange | None]:
    """The canned ACL whose signature matched, and S3's answer to the PUT that carried it."""
    for acl, put in (canary.acl_tries or {}).items():
        if isinstance(put, Exchange) and put.status is not None and "SignatureDoesNotMatch" not in put.body:
            return acl, put
    return None, None


def _fix(ev: Evidence) -> str:
    function = ev.target.lambda_function or "<function>"
    return (
        'Stop the function signing an ACL: generate_presigned_url(\'put_object\', Params={"Bucket": ..., "Key": '
        'key, "ContentType": content_type}) with no "ACL" (the shipped presign_function signs none), then redeploy: '
        f"aws lambda update-function-code --function-name {function} --zip-file fileb://function.zip. "
        "Objects are read through the CDN (Origin Access Control), so none needs an ACL."
    )


def judge_ownership(ev: Evidence) -> Finding:
    """bucket.ownership: a bucket with ACLs disabled, and a function that signs an ACL it refuses."""
    cid = BUCKET_OWNERSHIP
    read = ev.ownership_controls
    bucket = ev.target.bucket
    blocked = unreadable(
        cid,
        read,
        "the bucket's Object Ownership (GetBucketOwnershipControls)",
        "s3:GetBucketOwnershipControls",
        f"arn:aws:s3:::{bucket}",
    )
    if blocked is not None:
        return blocked
    assert isinstance(read, ConfigRead)
    ownership = str(read.value) if read.state is ReadState.OK and read.value else None
    said = f"ObjectOwnership {ownership}" if ownership else "no ownership controls (ACLs enabled, as before April 2023)"
    if ownership != ENFORCED:
        return finding(
            cid,
            Status.PASS,
            f"The bucket accepts ACLs ({said})",
            f"GetBucketOwnershipControls: {said}.",
            codes=("ownership.acls_enabled",),
        )
    post = presigned_post(ev.canary.presign) if ev.canary is not None else None
    if post is not None:
        return _judge_post_acl(post[1], said, read)
    url = presigned_url(ev.canary.presign) if ev.canary is not None else None
    if ev.canary is None or url is None:
        return finding(
            cid,
            Status.UNKNOWN,
            "ACLs are disabled; whether the function signs one was not seen",
            f"GetBucketOwnershipControls: {said}. No presigned URL was obtained (see presign.contract), so the "
            "ACL it signs (x-amz-acl in X-Amz-SignedHeaders) is unknown.",
            evidence=(read,),
            codes=("ownership.url_not_seen",),
        )
    headers = signed_headers(url)
    if "x-amz-acl" not in headers:
        return finding(
            cid,
            Status.PASS,
            "ACLs are disabled and the function signs none",
            f"GetBucketOwnershipControls: {said}; X-Amz-SignedHeaders {';'.join(headers)} (no x-amz-acl).",
            evidence=(read,),
            codes=("ownership.no_acl_signed",),
        )
    acl, put = _signed_acl(ev.canary)
    tries = [x for x in (ev.canary.acl_tries or {}).values() if isinstance(x, Exchange)]
    if acl == OWNER_FULL_CONTROL:
        return finding(
            cid,
            Status.PASS,
            "ACLs are disabled; the function signs bucket-owner-full-control, the one ACL they accept",
            f"GetBucketOwnershipControls: {said}; x-amz-acl {acl} signed (the web app must send it too).",
            evidence=(read, *tries),
            codes=("ownership.owner_full_control",),
        )
    if acl is not None and put is not None:
        error = parse_s3_error(put.body)
        return finding(
            cid,
            Status.FAIL,
            f"The function signs ACL {acl}; the bucket does not allow ACLs: every upload fails",
            f"GetBucketOwnershipControls: {said}. The presigned URL signs x-amz-acl (X-Amz-SignedHeaders "
            f"{';'.join(headers)}); the canary PUT with x-amz-acl: {acl} (the value whose signature matches) got "
            f"HTTP {put.status} {error.code or ''} {error.message or ''}".rstrip()
            + f". Without the header S3 answers 403 SignatureDoesNotMatch. {ACL_DISABLED}",
            _fix(ev),
            (read, *tries),
            codes=("ownership.acl_refused",),
        )
    return finding(
        cid,
        Status.FAIL,
        "The function signs an ACL (x-amz-acl); the bucket does not allow ACLs",
        f"GetBucketOwnershipControls: {said}. The presigned URL signs x-amz-acl (X-Amz-SignedHeaders "
        f"{';'.join(headers)}), and no canned ACL the canary tried matched its signature. {ACL_DISABLED}",
        _fix(ev),
        (read, *tries),
        codes=("ownership.acl_unmatched",),
    )


def _judge_post_acl(fields: dict[str, str], said: str, read: ConfigRead | None) -> Finding:
    """A presigned POST sets its ACL as the form's ``acl`` field (and a policy condition), not a signed header."""
    acl = next((value for name, value in fields.items() if name.lower() == "acl"), None)
    if acl is None or acl == OWNER_FULL_CONTROL:
        return finding(
            BUCKET_OWNERSHIP,
            Status.PASS,
            "ACLs are disabled and the presigned POST sets none"
            if acl is None
            else "ACLs are disabled; the presigned POST sets bucket-owner-full-control, the one ACL they accept",
            f"GetBucketOwnershipControls: {said}; the form's fields: {', '.join(sorted(fields))}.",
            evidence=(read,),
            codes=("ownership.no_acl_signed" if acl is None else "ownership.owner_full_control",),
        )
    return finding(
        BUCKET_OWNERSHIP,
        Status.FAIL,
        f"The presigned POST sets acl {acl}; the bucket does not allow ACLs",
        f"GetBucketOwnershipControls: {said}. The form's acl field is {acl!r}: S3 answers 400 "
        f"AccessControlListNotSupported. {ACL_DISABLED}",
        "Remove acl from the function's generate_presigned_post Fields and Conditions.",
        (read,),
        codes=("ownership.acl_refused",),
    )


CHECKS: tuple[Check, ...] = (
    Check(
        BUCKET_OWNERSHIP,
        "The function signs no ACL the bucket refuses",
        frozenset({"ownership", "canary"}),
        judge_ownership,
        impact=Impact.UPLOAD,
        description=(
            "Object Ownership `BucketOwnerEnforced` (ACLs disabled, the default since April 2023) and an ACL "
            "other than `bucket-owner-full-control` signed into the URL (`x-amz-acl`; its value found by the "
            "canned ACL whose signature matches): 400 `AccessControlListNotSupported`"
        ),
        permissions=("s3:GetBucketOwnershipControls",),
        codes=(
            "ownership.acls_enabled",
            "ownership.url_not_seen",
            "ownership.no_acl_signed",
            "ownership.owner_full_control",
            "ownership.acl_refused",
            "ownership.acl_unmatched",
        ),
        docs="https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html",
        depends_on=("presign.contract",),
    ),
)
