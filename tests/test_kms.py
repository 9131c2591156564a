"""SSE-KMS: a bucket whose default encryption is aws:kms with a customer managed key. Over HTTP against the sandbox
(switches ``kms-signer-no-generate-data-key`` and ``kms-cdn-no-decrypt``), the key-policy evaluation, the judges over
recorded reads, and the check run under each switch."""

from __future__ import annotations

import json

import pytest
import requests

from services.aws_model import kms
from services.sandbox import layout
from tests.support import image_bytes


def grant(sandbox) -> dict:
    reply = requests.get(sandbox.endpoints.presign, headers={"x-extension": "png"}, timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()


def s3_error(reply: requests.Response) -> tuple[str, str]:
    code = reply.text.split("<Code>", 1)[1].split("</Code>", 1)[0]
    message = reply.text.split("<Message>", 1)[1].split("</Message>", 1)[0]
    return code, message


def put(doc: dict) -> requests.Response:
    return requests.put(
        doc["presignedUrl"], data=image_bytes(), headers={"Content-Type": doc["contentType"]}, timeout=10
    )


def cdn_get(sandbox, key: str) -> requests.Response:
    return requests.get(f"{sandbox.endpoints.cdn}/{key}", timeout=10)


# --- the sandbox, over HTTP ----------------------------------------------------------------------------------


def test_the_default_bucket_is_sse_s3_and_uploads_read_back_through_the_cdn(sandbox, s3):
    rules = s3.get_bucket_encryption(Bucket=layout.BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    doc = grant(sandbox)

    stored = put(doc)
    read = cdn_get(sandbox, doc["key"])

    assert stored.status_code == 200, stored.text
    assert stored.headers["x-amz-server-side-encryption"] == "AES256"
    assert read.status_code == 200 and read.content == image_bytes()


def test_a_signer_without_generate_data_key_gets_kms_access_denied(sandbox, switch, s3, bucket_keys):
    switch("kms-signer-no-generate-data-key")
    rules = s3.get_bucket_encryption(Bucket=layout.BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": layout.KMS_KEY_ARN,
    }
    before = bucket_keys()

    refused = put(grant(sandbox))

    assert refused.status_code == 403
    assert s3_error(refused) == (
        "AccessDenied",
        f"User: {layout.PRESIGN_SESSION_ARN} is not authorized to perform: kms:GenerateDataKey on resource: "
        f"{layout.KMS_KEY_ARN} because no identity-based policy allows the kms:GenerateDataKey action",
    )
    assert bucket_keys() == before


def test_with_the_signer_allowed_but_no_cloudfront_statement_the_cdn_answers_403(sandbox, switch):
    switch("kms-cdn-no-decrypt")
    doc = grant(sandbox)

    stored = put(doc)
    read = cdn_get(sandbox, doc["key"])

    assert stored.status_code == 200, stored.text
    assert stored.headers["x-amz-server-side-encryption"] == "aws:kms"
    assert stored.headers["x-amz-server-side-encryption-aws-kms-key-id"] == layout.KMS_KEY_ARN
    assert read.status_code == 403 and read.headers["X-Cache"] == "Error from cloudfront"
    assert s3_error(read) == ("AccessDenied", kms.CIPHERTEXT_DENIED)


def test_each_kms_switch_is_undone_by_turning_it_off(sandbox, s3, kms_client):
    for name in ("kms-signer-no-generate-data-key", "kms-cdn-no-decrypt"):
        sandbox.set_switch(name, True)
        sandbox.set_switch(name, False)
        rules = s3.get_bucket_encryption(Bucket=layout.BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
        assert rules[0]["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
        policy = json.loads(kms_client.get_key_policy(KeyId=layout.KMS_KEY_ID, PolicyName="default")["Policy"])
        assert json.loads(layout.key_policy()) == policy
    doc = grant(sandbox)
    assert put(doc).status_code == 200 and cdn_get(sandbox, doc["key"]).status_code == 200


def test_a_url_signing_sse_kms_needs_the_key_too(sandbox, s3, presign_role_s3):
    """The function signing x-amz-server-side-encryption: aws:kms with the customer key, on an SSE-S3 bucket."""
    params = {
        "Bucket": layout.BUCKET,
        "Key": "kms-header-probe.png",
        "ContentType": "image/png",
        "ServerSideEncryption": "aws:kms",
        "SSEKMSKeyId": layout.KMS_KEY_ARN,
    }
    url = presign_role_s3.generate_presigned_url("put_object", Params=params, ExpiresIn=60)
    headers = {
        "Content-Type": "image/png",
        "x-amz-server-side-encryption": "aws:kms",
        "x-amz-server-side-encryption-aws-kms-key-id": layout.KMS_KEY_ARN,
    }

    refused = requests.put(url, data=image_bytes(), headers=headers, timeout=10)

    assert refused.status_code == 403
    code, message = s3_error(refused)
    assert code == "AccessDenied" and "kms:GenerateDataKey" in message


@pytest.fixture(scope="module")
def kms_client(sandbox):
    from services.core.clients import make_client

    return make_client("kms", sandbox.aws_target())


@pytest.fixture(scope="module")
def presign_role_s3(sandbox):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        region_name=layout.REGION,
        aws_access_key_id=layout.PRESIGN_ROLE_KEY,
        aws_secret_access_key=layout.PRESIGN_ROLE_SECRET,
        endpoint_url=sandbox.aws_target().endpoint_url,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
