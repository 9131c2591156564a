"""S3 error parsing and classification exist once (services/aws_model/s3errors.py), and the console's callers
(browse, the checks' gatherer, the remedies, the credential guard) classify the same code the same way."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from services.aws_model import s3errors
from services.checks.gather import failed_read
from services.checks.model import ReadState
from services.core.awserrors import is_access_problem
from services.pipeline.browse import BrowseError

EXPIRED = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message>'
    b"<Expires>2024-01-01T00:00:01Z</Expires><ServerTime>2024-01-01T00:00:05Z</ServerTime></Error>"
)


def test_an_error_body_is_parsed_with_its_fields():
    whole = s3errors.parse_s3_error(EXPIRED)
    assert (whole.code, whole.message, whole.fields["ServerTime"]) == (
        "AccessDenied",
        "Request has expired",
        "2024-01-01T00:00:05Z",
    )
    assert s3errors.is_url_expired(whole)
    assert s3errors.parse_s3_error(EXPIRED.decode()) == whole
    assert s3errors.parse_s3_error("(2,048 bytes of image/png)") == s3errors.AwsErrorBody()
    assert s3errors.parse_s3_error(b"") == s3errors.AwsErrorBody()


def client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("AccessDenied", 403, "denied"),
        ("AccessDeniedException", 400, "denied"),
        ("403", 403, "denied"),
        ("AllAccessDisabled", 403, "denied"),
        ("NoSuchBucketPolicy", 404, "missing"),
        ("404", 404, "missing"),
        ("InvalidAccessKeyId", 403, "credential"),
        ("SignatureDoesNotMatch", 403, "credential"),
        ("ExpiredToken", 400, "expired"),
        ("InternalError", 500, None),
    ],
)
def test_every_caller_classifies_a_code_as_the_model_does(code, status, kind):
    assert s3errors.classify(code, status) == kind
    err = client_error(code, status)
    browse = BrowseError("x", hop="s3", code=code, http_status=status)
    assert browse.denied == (kind == "denied")
    read = failed_read("s3:GetBucketPolicy", err)
    expected = {"missing": ReadState.MISSING, "denied": ReadState.DENIED}.get(kind or "", ReadState.ERROR)
    if code == "AllAccessDisabled":
        expected = ReadState.ERROR  # suspended: no grant to the console would help, so not "denied"
    assert read.state is expected
    assert is_access_problem(err) == (kind in ("credential", "expired"))
