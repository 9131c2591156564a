"""The presign reply as a presigned POST (``{"url", "fields", "key", "contentType"}``, boto3's
generate_presigned_post), and the size limit of either shape. Pure judges over gathered evidence.

A presigned PUT URL limits the key, the signed headers and the time, never the size: whoever holds it may store up to
5 GB (S3's largest single PUT) under the key until it expires. A presigned POST carries a signed policy that can:
``content-length-range`` (S3 answers 400 EntityTooLarge past it), the exact Content-Type and the exact key.
https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html

Id: ``presign.size_limit`` (impact exposure, at most ``warn``: nothing breaks, someone may store what they should
not). ``presign.contract`` and ``presign.url`` call ``judge_post_reply`` and ``judge_post_policy`` for this shape.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.aws_model import postpolicy
from services.checks.evidence import Evidence
from services.checks.findings import Tally, finding, presigned_post, presigned_url
from services.checks.model import Check, Finding, Impact, Status
from services.checks.scrub import evidence_items as _evidence
from services.core.units import human_size

PRESIGN_SIZE_LIMIT = "presign.size_limit"
SHIPPED_FUNCTION = "presign_function/lambda_function.py"
#: S3's largest single PUT, which is what a presigned PUT URL allows
MAX_PUT_BYTES = 5 * 1024**3
POST_FIX = (
    "Hand out a presigned POST with a size limit instead of a PUT URL: the shipped function's UPLOAD_SHAPE=post "
    "(MAX_UPLOAD_BYTES=10000000), i.e. s3.generate_presigned_post(Bucket=b, Key=k, Fields={'Content-Type': t}, "
    "Conditions=[{'Content-Type': t}, ['content-length-range', 1, 10000000]], ExpiresIn=300); then "
    "aws lambda update-function-configuration --function-name <function> --environment "
    "'Variables={BUCKET_NAME=<bucket>,UPLOAD_SHAPE=post,MAX_UPLOAD_BYTES=10000000}' (it replaces the whole "
    "environment: keep the function's other variables), a web app that POSTs the form (presign_function/README.md), "
    "and bucket CORS that allows POST."
)


def _fields(fields: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in fields.items()}


def post_policy(ev: Evidence) -> postpolicy.PostPolicy | None:
    """The policy of the presign reply's POST form (None: not a POST reply, or a policy that does not decode)."""
    post = presigned_post(ev.presign_ok)
    if post is None:
        return None
    encoded = _fields(post[1]).get("policy")
    return postpolicy.decode(encoded) if encoded else None


# --- presign.contract, for a presigned POST ---------------------------------------------------------------


def judge_post_reply(doc: dict[str, Any], tally: Tally) -> None:
    """The POST shape of the contract: an http(s) url, fields of strings with the key, the policy and its
    signature, the form's key the reply's."""
    url, fields, key = doc.get("url"), doc.get("fields"), doc.get("key")
    if not (isinstance(url, str) and url.startswith(("http://", "https://"))):
        tally.fail("reply.url_not_http", "The presigned POST's url is not an http(s) URL.")
    if not isinstance(fields, dict) or not all(isinstance(v, str) for v in fields.values()):
        tally.fail("reply.fields_invalid", "The presigned POST's fields are not an object of strings.")
        return
    named = _fields(fields)
    missing = [name for name in ("key", "policy", "x-amz-signature") if name not in named]
    if missing:
        tally.fail(
            "reply.fields_invalid",
            f"The presigned POST's fields lack {', '.join(missing)}: S3 refuses the form (400 InvalidArgument).",
        )
    if isinstance(key, str) and named.get("key") not in (None, key):
        tally.fail(
            "reply.form_key_mismatch",
            f"The form's key field is {named['key']!r} but the reply's key is {key!r}: the object would be stored "
            "under another name than the one reported.",
        )
    tally.note(f"A presigned POST: {len(fields)} form fields, posted with the file to its url.")


# --- presign.url, for a presigned POST --------------------------------------------------------------------


def policy_lifetime(policy: postpolicy.PostPolicy, fields: dict[str, str]) -> int | None:
    """Seconds from the form's x-amz-date to the policy's expiration (None when either is unreadable)."""
    signed = _fields(fields).get("x-amz-date", "")
    if policy.expires_at is None:
        return None
    try:
        signed_at = datetime.strptime(signed, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None
    return int((policy.expires_at - signed_at).total_seconds())


def judge_post_policy(ev: Evidence, fields: dict[str, str], tally: Tally) -> int | None:
    """The policy: it decodes, names the bucket and the reply's key exactly, the Content-Type exactly. Its
    lifetime in seconds (for the expiry judgement), or None."""
    named = _fields(fields)
    policy = postpolicy.decode(named.get("policy", ""))
    if policy is None:
        tally.fail("policy.unreadable", "The form's policy is not base64 of a JSON object: S3 refuses the form.")
        return None
    if policy.problems:
        tally.fail(
            "policy.unreadable",
            f"The policy has a condition S3 cannot read ({policy.problems[0]}): S3 answers 403 AccessDenied "
            "'Invalid according to Policy: Policy Condition failed'.",
        )
    bucket = policy.exact("bucket")
    if bucket is None:
        tally.fail(
            "policy.no_bucket",
            "The policy names no bucket: S3 refuses the form's bucket field, or any bucket may be written.",
        )
    elif bucket != ev.target.bucket:
        tally.fail(
            "policy.other_bucket",
            f"The policy is for bucket {bucket!r}, not {ev.target.bucket!r}: S3 answers 403 'Invalid according to "
            'Policy: Policy Condition failed: ["eq", "$bucket", ...]\'.',
        )
    key = policy.exact("key")
    if key is None:
        prefix = policy.prefix("key")
        tally.warn(
            "policy.key_not_exact",
            "The policy lets the form choose its key"
            + (f" (starts-with {prefix!r})" if prefix is not None else "")
            + ": whoever holds it may write, or overwrite, any key it allows.",
        )
        tally.fix("Sign the exact key: generate_presigned_post(Bucket=b, Key=k, ...) adds {'key': k} itself.")
    elif key != named.get("key"):
        tally.fail("policy.key_mismatch", f"The policy's key {key!r} is not the form's {named.get('key')!r}.")
    content_type = policy.exact("content-type")
    if content_type is None:
        tally.warn(
            "policy.content_type_not_exact",
            "The policy does not fix the Content-Type: any type can be stored under the key, e.g. text/html.",
        )
        tally.fix(
            "Add the condition {'Content-Type': t} (and the field): the shipped function's UPLOAD_SHAPE=post does."
        )
    else:
        tally.note(f"Policy: bucket {bucket!r}, key exact, Content-Type {content_type!r}.")
    return policy_lifetime(policy, fields)


def post_query(fields: dict[str, str], lifetime: int | None) -> dict[str, list[str]]:
    """The form's signing fields in a presigned URL's query names, so the URL's own SigV4 and expiry judges read them."""
    named = _fields(fields)
    query = {
        "X-Amz-Algorithm": [named.get("x-amz-algorithm", "")],
        "X-Amz-Credential": [named.get("x-amz-credential", "")],
    }
    if lifetime is not None:
        query["X-Amz-Expires"] = [str(lifetime)]
    return query


# --- presign.size_limit -----------------------------------------------------------------------------------


def judge_size_limit(ev: Evidence) -> Finding:
    """Whoever holds the grant may store how much? A PUT URL: up to 5 GB; a POST: its content-length-range."""
    cid = PRESIGN_SIZE_LIMIT
    evidence = _evidence(ev.presign_ok)
    function = ev.target.lambda_function or "<function>"
    fix = POST_FIX.replace("<function>", function).replace("<bucket>", str(ev.target.bucket))
    post = presigned_post(ev.presign_ok)
    if post is None and presigned_url(ev.presign_ok) is None:
        return finding(
            cid,
            Status.UNKNOWN,
            "No presign reply to judge",
            "See presign.contract.",
            "",
            evidence,
            codes=("size.none",),
        )
    if post is None:
        return finding(
            cid,
            Status.WARN,
            "A presigned PUT URL has no size limit: whoever holds it may store up to 5 GB",
            "The endpoint hands out a presigned PUT URL, which limits the key, the signed headers and the time but "
            f"not the size: anyone holding it may store up to 5 GB ({MAX_PUT_BYTES:,} bytes, S3's largest single PUT) "
            "under the key until it expires, at the bucket owner's cost. A presigned POST's policy can limit it "
            "(content-length-range: S3 answers 400 EntityTooLarge past it).",
            fix,
            evidence,
            codes=("size.put_unlimited",),
        )
    policy = post_policy(ev)
    size_range = policy.size_range() if policy is not None else None
    if size_range is None:
        return finding(
            cid,
            Status.WARN,
            "The presigned POST's policy has no content-length-range: whoever holds it may store up to 5 GB",
            "The policy "
            + ("does not decode" if policy is None else "limits no size")
            + f": S3 accepts any file up to 5 GB ({MAX_PUT_BYTES:,} bytes) under the key until the policy expires.",
            "Add ['content-length-range', 1, MAX] to the policy's conditions (the shipped function's UPLOAD_SHAPE=post "
            "with MAX_UPLOAD_BYTES does).",
            evidence,
            codes=("size.no_range",),
        )
    low, high = size_range
    return finding(
        cid,
        Status.PASS,
        f"Uploads are limited to {human_size(high)}",
        f"The presigned POST's policy has content-length-range {low}..{high} bytes: S3 answers 400 EntityTooLarge "
        "past it and stores nothing.",
        "",
        evidence,
        codes=("size.limited",),
    )


CHECKS: tuple[Check, ...] = (
    Check(
        PRESIGN_SIZE_LIMIT,
        "Uploads have a size limit",
        frozenset({"presign"}),
        judge_size_limit,
        impact=Impact.EXPOSURE,
        description=(
            "a presigned PUT URL lets its holder store up to 5 GB (`warn`); a presigned POST's policy has "
            "`content-length-range`"
        ),
        permissions=(),
        codes=("size.none", "size.put_unlimited", "size.no_range", "size.limited"),
        docs="https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html",
        depends_on=("presign.contract",),
    ),
)
