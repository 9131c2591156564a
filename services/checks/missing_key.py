"""A CDN 403 that means 404: which of the two a refused canary read is.

S3 answers 403 AccessDenied for a key that does not exist to a reader that may not ``s3:ListBucket``
(services/aws_model/s3errors.missing_key_answer), and CloudFront's Origin Access Control has no list grant by
default: a refused CDN read is either the grant or a missing object. The console's own HeadObject of the key read
(``Canary.head``, gathered beside the CDN read) tells them apart; the presigned URL's path names the key the upload
was stored under. Pure: shared by ``upload.roundtrip`` and ``cdn.read``.
"""

from __future__ import annotations

import json

from services.aws_model import s3endpoints
from services.aws_model.s3errors import parse_s3_error
from services.checks.evidence import Canary, Evidence
from services.checks.model import ConfigRead, ReadState
from services.checks.policy_docs import cdn_grant
from services.pipeline.explain import Existence, explain_cdn

#: the codes a refused CDN read adds when the object is missing, when it was stored under another key, and when
#: the console could not tell
OBJECT_MISSING = "cdn.object_missing"
KEY_NOT_SIGNED = "cdn.key_not_signed"
EXISTENCE_UNKNOWN = "cdn.existence_unknown"


def existence(head: ConfigRead | None) -> Existence | None:
    """What the console's HeadObject of the canary's key says; None when it was not made."""
    if not isinstance(head, ConfigRead):
        return None
    if head.state is ReadState.OK:
        return Existence.PRESENT
    return Existence.MISSING if head.state is ReadState.MISSING else Existence.UNKNOWN


def stored_key(ev: Evidence, canary: Canary) -> str | None:
    """The key the presigned URL's path names (where the PUT stored the canary), when it can be read from it."""
    if canary.put is None:
        return None
    return s3endpoints.url_key(canary.put.url, s3endpoints.Endpoint.parse(ev.target.s3_endpoint))


def key_not_signed(ev: Evidence, canary: Canary) -> str | None:
    """The key stored, when it is another than the key the reply named (and read): the function built it twice."""
    stored = stored_key(ev, canary)
    return stored if stored and canary.key and stored != canary.key else None


def cause(ev: Evidence, canary: Canary, status: int, x_cache: str | None, age: str | None) -> str:
    """explain_cdn told what the console's HEAD and the URL's key say."""
    message = parse_s3_error(canary.cdn_first.body).message if canary.cdn_first is not None else None
    return explain_cdn(
        status,
        x_cache,
        age,
        message,
        existence=existence(canary.head),
        key=canary.key,
        stored_key=stored_key(ev, canary),
    )


def codes(ev: Evidence, canary: Canary) -> tuple[str, ...]:
    """The codes a refused CDN read adds for what the HEAD said (none when the object is there or was not read)."""
    found = existence(canary.head)
    if found is Existence.MISSING:
        return (OBJECT_MISSING, KEY_NOT_SIGNED) if key_not_signed(ev, canary) else (OBJECT_MISSING,)
    return (EXISTENCE_UNKNOWN,) if found is Existence.UNKNOWN else ()


def _invalidate(ev: Evidence, key: str | None) -> str:
    distribution = ev.target.distribution_id or "<distribution-id>"
    return f"aws cloudfront create-invalidation --distribution-id {distribution} --paths '/{key or '<key>'}'"


def missing_fix(ev: Evidence, canary: Canary) -> str | None:
    """The fix when the object read does not exist (None when it does, or the console could not tell)."""
    if existence(canary.head) is not Existence.MISSING:
        return None
    bucket, key = ev.target.bucket, canary.key or "<key>"
    stored = key_not_signed(ev, canary)
    if stored:
        return (
            "Build the key once in the function and return the key it signed:\n"
            'key = f"{uuid.uuid4()}.{ext}"\n'
            'url = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": key, '
            '"ContentType": content_type}, ExpiresIn=300, HttpMethod="PUT")\n'
            'return {"presignedUrl": url, "key": key, "contentType": content_type}\n'
            f"The upload is stored under the URL's key: aws s3api head-object --bucket {bucket} --key '{stored}'"
        )
    return (
        f"Read a key that was stored: aws s3api head-object --bucket {bucket} --key '{key}' answers 404. Check that "
        "the web app reads the key the function signed (the reply's key, or the URL's path), that the distribution's "
        f"OriginPath is empty (aws cloudfront get-distribution-config --id {ev.target.distribution_id or '<id>'} "
        "--query 'DistributionConfig.Origins.Items[].OriginPath'), and that nothing deletes new objects (lifecycle "
        f"rules: aws s3api get-bucket-lifecycle-configuration --bucket {bucket}). Then clear the cached error:\n"
        + _invalidate(ev, canary.key)
    )


def grant_fix(ev: Evidence, canary: Canary) -> str:
    """The grant's fix, then clearing the cached error; when the console could not tell a missing key from a refused
    read, how to let it tell."""
    fix = (
        f"Grant the distribution read access in the bucket policy of {ev.target.bucket} (aws s3api "
        f"put-bucket-policy), with its Origin Access Control attached (cdn.config):\n{json.dumps(cdn_grant(ev))}\n"
        f"Then clear the cached error:\n{_invalidate(ev, canary.key)}"
    )
    if existence(canary.head) is Existence.UNKNOWN:
        bucket_arn = f"arn:aws:s3:::{ev.target.bucket}"
        statements = [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{bucket_arn}/*"},
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn},
        ]
        fix += (
            "\nOr the key does not exist (a missing key is 403 to CloudFront too): to tell the two apart, let the "
            "console's identity HeadObject the bucket's objects and list it (without s3:ListBucket S3 hides a "
            f"missing key from the console as well):\n{json.dumps(statements)}"
        )
    return fix
