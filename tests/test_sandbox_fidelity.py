"""The sandbox answers like AWS, over HTTP, to the very requests a browser, the web app or boto3 sends."""

from __future__ import annotations

import gzip
import json
import time
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import boto3
import pytest
import requests
from botocore.config import Config

from services.pipeline.images import MIME_BY_EXTENSION
from services.pipeline.upload import UploadInput, upload_batch
from services.sandbox import layout
from tests.support import api_preflight, image_bytes


def presign(sandbox, ext: str = "png", **headers: str) -> dict:
    """A grant as a client that wants its objects stored as image/* asks for it."""
    asked = {"x-extension": ext, "Content-Type": MIME_BY_EXTENSION[ext], **headers}
    reply = requests.get(sandbox.endpoints.presign, headers=asked, timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()


def s3_error(reply: requests.Response) -> dict[str, str]:
    return {child.tag: child.text or "" for child in ET.fromstring(reply.content)}


def upload(settings, data: bytes | None = None, name: str = "a.png"):
    ((_, result),) = list(upload_batch([UploadInput(name, data or image_bytes())], settings))
    return result


# --- addressing ------------------------------------------------------------------------------


def test_urls_are_virtual_hosted_so_the_seed_client_finds_the_key_in_the_path(sandbox):
    grant = presign(sandbox)
    url = urlsplit(grant["presignedUrl"])
    assert url.hostname == f"{layout.BUCKET}.s3.{layout.REGION}.localhost"
    assert url.path[1:] == grant["key"]  # new URL(presignedUrl).pathname.slice(1), as the seed's client does
    query = parse_qs(url.query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert f"/{layout.REGION}/s3/aws4_request" in query["X-Amz-Credential"][0]
    assert "content-type" in query["X-Amz-SignedHeaders"][0].split(";")


# --- S3 data plane: signatures, expiry, identities, policies ------------------------------------


def test_put_with_another_content_type_is_signature_does_not_match_with_s3s_evidence(sandbox):
    grant = presign(sandbox)
    reply = requests.put(
        grant["presignedUrl"], data=image_bytes(), headers={"Content-Type": "application/png"}, timeout=10
    )
    assert reply.status_code == 403
    error = s3_error(reply)
    assert error["Code"] == "SignatureDoesNotMatch"
    assert error["StringToSign"].startswith("AWS4-HMAC-SHA256\n")
    assert "content-type:application/png" in error["CanonicalRequest"]  # what S3 received, as S3 shows it
    assert error["AWSAccessKeyId"] == layout.PRESIGN_ROLE_KEY


def test_tampered_signature_and_tampered_key_are_refused(sandbox):
    grant = presign(sandbox)
    parts = urlsplit(grant["presignedUrl"])
    query = parse_qs(parts.query)
    query["X-Amz-Signature"] = ["0" * 64]
    tampered = urlunsplit(parts._replace(query=urlencode({k: v[0] for k, v in query.items()})))
    other_key = grant["presignedUrl"].replace(grant["key"], "someone-elses.png")
    for url in (tampered, other_key):
        reply = requests.put(url, data=b"x", headers={"Content-Type": grant["contentType"]}, timeout=10)
        assert reply.status_code == 403 and s3_error(reply)["Code"] == "SignatureDoesNotMatch"


def test_sigv2_urls_are_verified_too(sandbox, admin_s3):
    client = boto3.client(
        "s3",
        region_name=layout.REGION,
        endpoint_url=sandbox.endpoints.s3,
        aws_access_key_id=layout.PRESIGN_ROLE_KEY,
        aws_secret_access_key=layout.PRESIGN_ROLE_SECRET,
        config=Config(signature_version="s3", s3={"addressing_style": "path"}),
    )
    url = client.generate_presigned_url(
        "put_object", Params={"Bucket": layout.BUCKET, "Key": "v2.png", "ContentType": "image/png"}, ExpiresIn=60
    )
    assert "AWSAccessKeyId=" in url and "Signature=" in url
    assert requests.put(url, data=b"v2", headers={"Content-Type": "image/gif"}, timeout=10).status_code == 403
    assert requests.put(url, data=b"v2", headers={"Content-Type": "image/png"}, timeout=10).status_code == 200
    assert admin_s3.get_object(Bucket=layout.BUCKET, Key="v2.png")["Body"].read() == b"v2"


def test_expired_url_is_access_denied_request_has_expired(sandbox, switch, sandbox_settings):
    switch("urls-expire")
    grant = presign(sandbox)
    assert parse_qs(urlsplit(grant["presignedUrl"]).query)["X-Amz-Expires"] == ["1"]
    reply = requests.put(
        grant["presignedUrl"], data=image_bytes(), headers={"Content-Type": grant["contentType"]}, timeout=10
    )
    assert reply.status_code == 403
    error = s3_error(reply)
    assert error["Code"] == "AccessDenied" and error["Message"] == "Request has expired"
    assert {"X-Amz-Expires", "Expires", "ServerTime"} <= set(error)
    step = upload(sandbox_settings).failed_step  # the console sees the same thing
    assert step.name == "put" and step.code == "AccessDenied" and "expired" in step.cause


def test_lambda_role_without_put_signs_fine_but_the_put_is_denied(sandbox, switch, sandbox_settings, bucket_keys):
    switch("lambda-role-no-put")
    before = bucket_keys()
    result = upload(sandbox_settings)
    step = result.failed_step
    assert [s.name for s in result.steps] == ["validate", "presign", "put"]
    assert step.http_status == 403 and step.code == "AccessDenied" and "s3:PutObject" in step.cause
    assert bucket_keys() == before


def test_anonymous_requests_are_judged_by_policy_and_block_public_access(sandbox, switch, admin_s3):
    object_url = f"{sandbox.endpoints.s3}/{layout.BUCKET}/anon.png"
    admin_s3.put_object(Bucket=layout.BUCKET, Key="anon.png", Body=b"hello", ContentType="image/png")
    assert requests.get(object_url, timeout=10).status_code == 403  # secure shape: CloudFront only
    put = requests.put(f"{sandbox.endpoints.s3}/{layout.BUCKET}/anon-write.png", data=b"x", timeout=10)
    assert put.status_code == 403 and s3_error(put)["Code"] == "AccessDenied"
    switch("seed-public-policy")
    assert requests.get(object_url, timeout=10).content == b"hello"  # anyone can read ...
    assert (
        requests.put(f"{sandbox.endpoints.s3}/{layout.BUCKET}/anon-write.png", data=b"x", timeout=10).status_code == 200
    )  # ... and write
    assert admin_s3.get_public_access_block
    with pytest.raises(admin_s3.exceptions.ClientError):
        admin_s3.get_public_access_block(Bucket=layout.BUCKET)


def test_block_public_access_overrides_a_public_policy(sandbox, admin_s3):
    admin_s3.create_bucket(Bucket="bpa-lab", CreateBucketConfiguration={"LocationConstraint": layout.REGION})
    admin_s3.put_object(Bucket="bpa-lab", Key="k.png", Body=b"k")
    admin_s3.put_bucket_policy(Bucket="bpa-lab", Policy=layout.seed_public_policy("bpa-lab"))
    assert requests.get(f"{sandbox.endpoints.s3}/bpa-lab/k.png", timeout=10).status_code == 200
    admin_s3.put_public_access_block(Bucket="bpa-lab", PublicAccessBlockConfiguration=layout.PUBLIC_ACCESS_BLOCK_ON)
    assert requests.get(f"{sandbox.endpoints.s3}/bpa-lab/k.png", timeout=10).status_code == 403


def put_with_fresh_url(sandbox) -> requests.Response:
    grant = presign(sandbox)
    return requests.put(
        grant["presignedUrl"], data=image_bytes(), headers={"Content-Type": grant["contentType"]}, timeout=10
    )


def test_policy_changes_decide_the_very_next_request(sandbox, switch, admin_s3):
    """Parsed policies are cached by their text: a changed policy (API or break switch) is a new text."""
    role_denied = json.loads(layout.secure_bucket_policy())
    role_denied["Statement"].append(
        {
            "Sid": "NoUploadsByTheFunction",
            "Effect": "Deny",
            "Principal": {"AWS": layout.PRESIGN_ROLE_ARN},
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{layout.BUCKET}/*",
        }
    )
    assert put_with_fresh_url(sandbox).status_code == 200
    try:
        admin_s3.put_bucket_policy(Bucket=layout.BUCKET, Policy=json.dumps(role_denied))
        denied = put_with_fresh_url(sandbox)
        assert denied.status_code == 403 and s3_error(denied)["Code"] == "AccessDenied"
    finally:
        admin_s3.put_bucket_policy(Bucket=layout.BUCKET, Policy=layout.secure_bucket_policy())
    assert put_with_fresh_url(sandbox).status_code == 200
    switch("lambda-role-no-put")
    assert put_with_fresh_url(sandbox).status_code == 403
    sandbox.set_switch("lambda-role-no-put", False)
    assert put_with_fresh_url(sandbox).status_code == 200


def test_the_configuration_reads_back_through_the_aws_apis(sandbox, admin_s3):
    """The sandbox writes its configuration into moto directly; the APIs read back what the calls would store."""
    target = sandbox.aws_target()
    iam, lambda_ = (
        boto3.client(
            name,
            region_name=layout.REGION,
            endpoint_url=target.endpoint_url,
            aws_access_key_id=target.access_key_id,
            aws_secret_access_key=target.secret_access_key,
        )
        for name in ("iam", "lambda")
    )
    cors = admin_s3.get_bucket_cors(Bucket=layout.BUCKET)["CORSRules"]
    assert cors == layout.seed_cors_rules(
        layout.APP_ORIGINS, layout.SANDBOX_EXPOSE_HEADERS, read_origins=layout.APP_ORIGINS
    )
    policy = admin_s3.get_bucket_policy(Bucket=layout.BUCKET)["Policy"]
    assert json.loads(policy) == json.loads(layout.secure_bucket_policy())
    assert admin_s3.get_public_access_block(Bucket=layout.BUCKET)["PublicAccessBlockConfiguration"] == (
        layout.PUBLIC_ACCESS_BLOCK_ON
    )
    assert admin_s3.get_bucket_location(Bucket=layout.BUCKET)["LocationConstraint"] == layout.REGION
    assert iam.list_role_policies(RoleName=layout.PRESIGN_ROLE_NAME)["PolicyNames"] == ["presign-put"]
    document = iam.get_role_policy(RoleName=layout.PRESIGN_ROLE_NAME, PolicyName="presign-put")["PolicyDocument"]
    assert document == json.loads(layout.presign_role_policy())
    role = iam.get_role(RoleName=layout.PRESIGN_ROLE_NAME)["Role"]
    assert role["Arn"] == layout.PRESIGN_ROLE_ARN and role["Path"] == "/"
    function = lambda_.get_function_configuration(FunctionName=layout.LAMBDA_FUNCTION)
    assert (function["Runtime"], function["Handler"], function["Role"], function["Architectures"]) == (
        "python3.12",
        "lambda_function.lambda_handler",
        layout.PRESIGN_ROLE_ARN,
        ["arm64"],
    )
    assert function["Environment"]["Variables"] == {
        "BUCKET_NAME": layout.BUCKET,
        "BUCKET_REGION": layout.REGION,
        "URL_EXPIRES_SECONDS": "300",
    }
    assert function["CodeSize"] > 0


def test_unknown_access_key_is_invalid_access_key_id(sandbox):
    client = boto3.client(
        "s3",
        region_name=layout.REGION,
        endpoint_url=sandbox.endpoints.s3,
        aws_access_key_id="AKIANOTASANDBOXKEY00",
        aws_secret_access_key="x" * 40,
        config=Config(retries={"max_attempts": 1}),
    )
    with pytest.raises(client.exceptions.ClientError) as caught:
        client.list_objects_v2(Bucket=layout.BUCKET)
    assert caught.value.response["Error"]["Code"] == "InvalidAccessKeyId"


# --- S3 CORS ----------------------------------------------------------------------------------


def preflight(url: str, origin: str | None, method: str = "PUT", headers: str = "content-type") -> requests.Response:
    sent = {"Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers}
    if origin:
        sent["Origin"] = origin
    return requests.options(url, headers=sent, timeout=10)


def test_bucket_cors_preflight_follows_s3s_algorithm(sandbox, switch):
    url = urlsplit(presign(sandbox)["presignedUrl"])._replace(query="").geturl()
    ok = preflight(url, layout.APP_ORIGIN)
    assert ok.status_code == 200
    assert ok.headers["Access-Control-Allow-Origin"] == layout.APP_ORIGIN
    assert ok.headers["Access-Control-Allow-Methods"] == "PUT"
    assert "Origin" in ok.headers["Vary"]
    for origin, method in (
        ("http://localhost:8080", "PUT"),
        ("https://localhost:5173", "PUT"),
        (layout.APP_ORIGIN, "DELETE"),
    ):
        refused = preflight(url, origin, method)
        assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused.headers
        error = s3_error(refused)
        assert error["Code"] == "AccessForbidden" and error["Message"].startswith("CORSResponse:")
    assert preflight(url, None).status_code == 400  # moto answers 500 here
    switch("bucket-cors-origin")
    assert preflight(url, layout.APP_ORIGIN).status_code == 403
    assert preflight(url, "http://localhost:3000").status_code == 200


def test_multi_rule_cors_first_match_wins_and_no_configuration_is_forbidden(sandbox, admin_s3):
    admin_s3.create_bucket(Bucket="cors-lab", CreateBucketConfiguration={"LocationConstraint": layout.REGION})
    url = f"{sandbox.endpoints.s3}/cors-lab/k.png"
    refused = preflight(url, layout.APP_ORIGIN)
    assert refused.status_code == 403 and "CORS is not enabled for this bucket" in s3_error(refused)["Message"]
    rules = [
        {"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]},
        {
            "AllowedMethods": ["PUT"],
            "AllowedOrigins": ["http://*.example.com"],
            "AllowedHeaders": ["content-type"],
            "ExposeHeaders": ["ETag"],
            "MaxAgeSeconds": 600,
        },
        {"AllowedMethods": ["PUT"], "AllowedOrigins": ["http://app.example.com"], "AllowedHeaders": ["*"]},
    ]
    admin_s3.put_bucket_cors(Bucket="cors-lab", CORSConfiguration={"CORSRules": rules})
    put = preflight(url, "http://app.example.com")
    assert put.status_code == 200 and put.headers["Access-Control-Expose-Headers"] == "ETag"  # rule 1, not rule 2
    assert put.headers["Access-Control-Max-Age"] == "600"
    assert preflight(url, "http://app.example.com", headers="content-type,x-custom").status_code == 200  # rule 2
    get = preflight(url, "http://anywhere.test", method="GET", headers="")
    assert get.status_code == 200 and get.headers["Access-Control-Allow-Origin"] == "*"


def test_actual_requests_carry_cors_headers_only_for_matching_origins(sandbox):
    grant = presign(sandbox)
    good = requests.put(
        grant["presignedUrl"],
        data=image_bytes(),
        headers={"Content-Type": grant["contentType"], "Origin": layout.APP_ORIGIN},
        timeout=10,
    )
    assert good.status_code == 200 and good.headers["Access-Control-Allow-Origin"] == layout.APP_ORIGIN
    grant = presign(sandbox)
    other = requests.put(
        grant["presignedUrl"],
        data=image_bytes(),
        headers={"Content-Type": grant["contentType"], "Origin": "http://evil.test"},
        timeout=10,
    )
    assert (
        other.status_code == 200 and "Access-Control-Allow-Origin" not in other.headers
    )  # stored; the browser hides it


# --- API Gateway ------------------------------------------------------------------------------


def test_api_cors_preflight_comes_from_the_api_configuration(sandbox, switch):
    assert api_preflight(sandbox.endpoints.presign).headers.get("Access-Control-Allow-Origin") == layout.APP_ORIGIN
    switch("api-cors-header")
    refused = api_preflight(sandbox.endpoints.presign)
    assert "Access-Control-Allow-Origin" not in refused.headers
    reply = requests.get(
        sandbox.endpoints.presign, headers={"x-extension": "png", "Origin": layout.APP_ORIGIN}, timeout=10
    )
    assert reply.status_code == 200 and reply.headers["Access-Control-Allow-Origin"] == layout.APP_ORIGIN


def test_function_signing_one_type_while_the_app_sends_another(sandbox, switch, sandbox_settings):
    switch("content-type-mismatch")
    grant = presign(sandbox)
    assert "contentType" not in grant
    step = upload(sandbox_settings).failed_step  # the sandbox's web app sends the real type: image/png
    assert step.name == "put" and step.code == "SignatureDoesNotMatch"
    assert "image/png" in step.cause


def test_objects_stored_as_application_type(sandbox, switch, sandbox_settings, admin_s3):
    switch("stored-as-application")
    result = upload(sandbox_settings)
    assert result.ok and result.content_type == "application/png"
    assert admin_s3.head_object(Bucket=layout.BUCKET, Key=result.key)["ContentType"] == "application/png"
    assert requests.get(result.cdn_url, timeout=10).headers["Content-Type"] == "application/png"


# --- CloudFront ---------------------------------------------------------------------------------


def test_cdn_reads_need_this_distributions_grant_and_errors_stay_cached_until_invalidated(sandbox, switch, admin_s3):
    admin_s3.put_object(Bucket=layout.BUCKET, Key="grant.png", Body=image_bytes(), ContentType="image/png")
    admin_s3.put_object(Bucket=layout.BUCKET, Key="other.png", Body=image_bytes(), ContentType="image/png")
    switch("cdn-grant-missing")
    denied = requests.get(f"{sandbox.endpoints.cdn}/grant.png", timeout=10)
    assert denied.status_code == 403 and denied.headers["X-Cache"] == "Error from cloudfront"
    sandbox.set_switch("cdn-grant-missing", False)
    again = requests.get(f"{sandbox.endpoints.cdn}/grant.png", timeout=10)
    assert again.status_code == 403 and "Age" in again.headers  # the cached error outlives the fix ...
    assert sandbox.invalidate(["/grant.png"]) == 1
    assert requests.get(f"{sandbox.endpoints.cdn}/grant.png", timeout=10).status_code == 200  # ... until invalidated
    switch("cdn-grant-other-distribution")
    assert requests.get(f"{sandbox.endpoints.cdn}/other.png", timeout=10).status_code == 403


def test_cdn_serves_what_s3_answers_the_distribution(sandbox, admin_s3):
    """The edge reads its origin in process, as the distribution (OAC): the same headers and bytes S3 gives."""
    body = image_bytes()
    admin_s3.put_object(
        Bucket=layout.BUCKET, Key="origin/plain.png", Body=body, ContentType="image/png", CacheControl="max-age=60"
    )
    admin_s3.put_object(Bucket=layout.BUCKET, Key="origin/untyped", Body=b"untyped")
    admin_s3.put_object(
        Bucket=layout.BUCKET, Key="origin/cold.png", Body=b"cold", ContentType="image/png", StorageClass="GLACIER"
    )
    for key, data in (("origin/plain.png", body), ("origin/untyped", b"untyped")):
        stored = admin_s3.get_object(Bucket=layout.BUCKET, Key=key)
        reply = requests.get(f"{sandbox.endpoints.cdn}/{key}", timeout=10)
        assert reply.status_code == 200 and reply.content == data
        assert reply.headers["Content-Type"] == stored["ContentType"]
        assert reply.headers["ETag"] == stored["ETag"]
        assert reply.headers["Last-Modified"] == stored["ResponseMetadata"]["HTTPHeaders"]["last-modified"]
    assert requests.get(f"{sandbox.endpoints.cdn}/origin/plain.png", timeout=10).headers["Cache-Control"] == (
        "max-age=60"
    )
    cold = requests.get(f"{sandbox.endpoints.cdn}/origin/cold.png", timeout=10)
    assert cold.status_code == 403 and cold.headers["X-Cache"] == "Error from cloudfront"
    assert s3_error(cold)["Code"] == "InvalidObjectState"


def test_cdn_error_cache_expires_after_the_error_ttl(sandbox):
    assert requests.get(f"{sandbox.endpoints.cdn}/not-yet.png", timeout=10).status_code == 403
    boto3.client(
        "s3",
        region_name=layout.REGION,
        endpoint_url=sandbox.endpoints.s3,
        aws_access_key_id=layout.ACCESS_KEY_ID,
        aws_secret_access_key=layout.SECRET_ACCESS_KEY,
    ).put_object(Bucket=layout.BUCKET, Key="not-yet.png", Body=b"now", ContentType="image/png")
    assert requests.get(f"{sandbox.endpoints.cdn}/not-yet.png", timeout=10).status_code == 403
    time.sleep(10.5)
    assert requests.get(f"{sandbox.endpoints.cdn}/not-yet.png", timeout=10).content == b"now"


def test_cdn_short_ttl_switch_makes_repeat_reads_miss(sandbox, switch, admin_s3):
    switch("cdn-short-ttl")
    admin_s3.put_object(Bucket=layout.BUCKET, Key="ttl.png", Body=image_bytes(), ContentType="image/png")
    url = f"{sandbox.endpoints.cdn}/ttl.png"
    assert requests.get(url, timeout=10).headers["X-Cache"] == "Miss from cloudfront"
    assert requests.get(url, timeout=10).headers["X-Cache"] == "Hit from cloudfront"
    time.sleep(2.5)
    assert requests.get(url, timeout=10).headers["X-Cache"] == "RefreshHit from cloudfront"


def test_cdn_missing_key_is_403_without_list_bucket(sandbox):
    reply = requests.get(f"{sandbox.endpoints.cdn}/never-uploaded.png", timeout=10)
    assert reply.status_code == 403 and s3_error(reply)["Code"] == "AccessDenied"


@pytest.mark.parametrize(
    ("content_type", "size", "accept", "compressed"),
    [
        ("image/svg+xml", 5_000, "gzip, br", True),
        ("text/css", 5_000, "gzip", True),
        ("image/svg+xml", 5_000, None, False),
        ("image/svg+xml", 500, "gzip", False),  # under 1,000 bytes
        ("image/png", 5_000, "gzip", False),  # not a compressible type
    ],
)
def test_cdn_compresses_only_what_cloudfront_compresses(sandbox, admin_s3, content_type, size, accept, compressed):
    key = f"compress-{content_type.replace('/', '-')}-{size}-{accept}.bin"
    body = (b"<svg>" + b"a" * size)[:size]
    admin_s3.put_object(Bucket=layout.BUCKET, Key=key, Body=body, ContentType=content_type)
    headers = {"Accept-Encoding": accept} if accept else {"Accept-Encoding": "identity"}
    reply = requests.get(f"{sandbox.endpoints.cdn}/{key}", headers=headers, timeout=10, stream=True)
    raw = reply.raw.read()
    if compressed:
        assert reply.headers["Content-Encoding"] == "gzip" and gzip.decompress(raw) == body
    else:
        assert "Content-Encoding" not in reply.headers and raw == body


def test_cdn_allows_get_and_head_only(sandbox):
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        assert requests.request(method, f"{sandbox.endpoints.cdn}/x.png", data=b"x", timeout=10).status_code == 403
    assert requests.head(f"{sandbox.endpoints.cdn}/never.png", timeout=10).status_code == 403


def test_break_switches_are_listed_and_reversible(sandbox):
    names = {state.name for state in sandbox.switches()}
    assert {
        "bucket-cors-origin",
        "api-cors-header",
        "content-type-mismatch",
        "lambda-role-no-put",
        "cdn-grant-missing",
        "cdn-grant-other-distribution",
        "seed-public-policy",
        "urls-expire",
        "cdn-short-ttl",
        "stored-as-application",
    } <= names
    assert not any(state.on for state in sandbox.switches())


def test_distribution_configuration_is_readable_with_boto3_as_on_aws(sandbox):
    cloudfront = boto3.client(
        "cloudfront",
        region_name="us-east-1",
        endpoint_url=sandbox.endpoints.s3,
        aws_access_key_id=layout.ACCESS_KEY_ID,
        aws_secret_access_key=layout.SECRET_ACCESS_KEY,
    )
    distribution = cloudfront.get_distribution(Id=sandbox.endpoints.distribution_id)["Distribution"]
    assert distribution["ARN"] == layout.distribution_arn()
    config = distribution["DistributionConfig"]
    origin = config["Origins"]["Items"][0]
    oac = cloudfront.get_origin_access_control(Id=origin["OriginAccessControlId"])["OriginAccessControl"]
    assert oac["OriginAccessControlConfig"]["SigningBehavior"] == "always"
    behaviour = config["DefaultCacheBehavior"]
    assert behaviour["Compress"] is True and behaviour["ViewerProtocolPolicy"] == "redirect-to-https"
    assert sorted(behaviour["AllowedMethods"]["Items"]) == ["GET", "HEAD"]
    assert behaviour["DefaultTTL"] == 86_400


def test_an_invalidation_through_the_cloudfront_api_clears_the_edge_cache(sandbox, admin_s3):
    cloudfront = boto3.client(
        "cloudfront",
        region_name="us-east-1",
        endpoint_url=sandbox.endpoints.s3,
        aws_access_key_id=layout.ACCESS_KEY_ID,
        aws_secret_access_key=layout.SECRET_ACCESS_KEY,
    )
    admin_s3.put_object(Bucket=layout.BUCKET, Key="inval.png", Body=b"v1", ContentType="image/png")
    url = f"{sandbox.endpoints.cdn}/inval.png"
    assert requests.get(url, timeout=10).content == b"v1"
    admin_s3.put_object(Bucket=layout.BUCKET, Key="inval.png", Body=b"v2", ContentType="image/png")
    assert requests.get(url, timeout=10).content == b"v1"  # cached
    cloudfront.create_invalidation(
        DistributionId=sandbox.endpoints.distribution_id,
        InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/inval.png"]}, "CallerReference": "test"},
    )
    fresh = requests.get(url, timeout=10)
    assert fresh.content == b"v2" and fresh.headers["X-Cache"] == "Miss from cloudfront"
