""" "Is this URL the configured bucket's S3 endpoint": one judgement (services/aws_model/s3endpoints.py), and every
caller agrees with it on the same table: the upload's allowlist, the ``presign.url`` check, browse's anonymous
read and the sandbox's S3 front. Then the case that started it: an S3-compatible endpoint issuing path-style URLs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest

from services.aws_model import s3endpoints
from services.aws_model.s3endpoints import Endpoint
from services.checks.evidence import CheckTarget, Evidence
from services.checks.model import Exchange, Status
from services.checks.runner import REGISTRY, run_checks
from services.core.errors import PipelineError
from services.core.settings import AwsTarget, Settings, load_settings
from services.core.transport import new_session
from services.pipeline.browse import s3_url_verdict
from services.pipeline.presign import UrlAllowlist, check_upload_url
from services.pipeline.upload import UploadInput, upload_one
from services.sandbox.process import Sandbox
from services.sandbox.s3front import parse_request
from tests.support import image_bytes


@dataclass(frozen=True)
class Config:
    name: str
    bucket: str
    region: str | None
    endpoint: str | None = None


AWS = Config("aws", "photos", "ap-northeast-2")
US = Config("us-east-1", "photos", "us-east-1")
CN = Config("china", "photos", "cn-north-1")
ANY = Config("no region", "photos", None)
LOCAL = Config("local endpoint", "pipeline-sandbox", "ap-northeast-2", "http://127.0.0.1:4566")
MINIO = Config("minio", "photos", "eu-west-1", "https://minio.example:9000")

#: (configuration, URL, style the bucket's endpoint is addressed with or None, the bucket and region the URL names)
TABLE = [
    (AWS, "https://photos.s3.ap-northeast-2.amazonaws.com/k.png", "virtual", "photos", "ap-northeast-2"),
    (AWS, "https://s3.ap-northeast-2.amazonaws.com/photos/k.png", "path", "photos", "ap-northeast-2"),
    (AWS, "https://photos.s3.dualstack.ap-northeast-2.amazonaws.com/k.png", "virtual", "photos", "ap-northeast-2"),
    (AWS, "https://photos.s3-accelerate.amazonaws.com/k.png", "virtual", "photos", None),
    (AWS, "https://s3.dualstack.ap-northeast-2.amazonaws.com/photos/k.png", None, "photos", "ap-northeast-2"),
    (AWS, "https://photos.s3.amazonaws.com/k.png", None, "photos", None),
    (AWS, "https://s3.amazonaws.com/photos/k.png", None, "photos", None),
    (AWS, "https://photos.s3.eu-west-1.amazonaws.com/k.png", None, "photos", "eu-west-1"),
    (AWS, "https://other.s3.ap-northeast-2.amazonaws.com/k.png", None, "other", "ap-northeast-2"),
    (AWS, "https://s3.ap-northeast-2.amazonaws.com/other/k.png", None, "other", "ap-northeast-2"),
    (AWS, "https://photos.s3.ap-northeast-2.amazonaws.com.cn/k.png", None, "photos", "ap-northeast-2"),
    (AWS, "https://photos.s3-ap-northeast-2.amazonaws.com/k.png", None, "photos", "ap-northeast-2"),
    (AWS, "http://photos.s3.ap-northeast-2.amazonaws.com/k.png", None, "photos", "ap-northeast-2"),
    (AWS, "https://photos.s3.ap-northeast-2.amazonaws.com:8443/k.png", None, "photos", "ap-northeast-2"),
    (AWS, "https://photos.s3.ap-northeast-2.amazonaws.com.evil.example/k.png", None, None, None),
    (AWS, "http://127.0.0.1:4566/photos/k.png", None, None, None),
    (AWS, "http://photos.s3.ap-northeast-2.localhost:4566/k.png", None, "photos", "ap-northeast-2"),
    (US, "https://photos.s3.amazonaws.com/k.png", "virtual", "photos", None),
    (US, "https://s3.amazonaws.com/photos/k.png", "path", "photos", None),
    (US, "https://photos.s3.us-east-1.amazonaws.com/k.png", "virtual", "photos", "us-east-1"),
    (US, "https://s3-external-1.amazonaws.com/photos/k.png", None, "photos", "external-1"),
    (CN, "https://photos.s3.cn-north-1.amazonaws.com.cn/k.png", "virtual", "photos", "cn-north-1"),
    (CN, "https://s3.cn-north-1.amazonaws.com.cn/photos/k.png", "path", "photos", "cn-north-1"),
    (CN, "https://photos.s3.cn-north-1.amazonaws.com/k.png", None, "photos", "cn-north-1"),
    (CN, "https://photos.s3-accelerate.amazonaws.com/k.png", None, "photos", None),
    (ANY, "https://photos.s3.sa-east-1.amazonaws.com/k.png", "virtual", "photos", "sa-east-1"),
    (ANY, "https://photos.s3.us-gov-west-1.amazonaws.com/k.png", "virtual", "photos", "us-gov-west-1"),
    (ANY, "https://photos.s3.amazonaws.com/k.png", "virtual", "photos", None),
    (ANY, "https://other.s3.sa-east-1.amazonaws.com/k.png", None, "other", "sa-east-1"),
    (LOCAL, "http://127.0.0.1:4566/pipeline-sandbox/k.png", "path", "pipeline-sandbox", None),
    (
        LOCAL,
        "http://pipeline-sandbox.s3.ap-northeast-2.localhost:4566/k.png",
        "virtual",
        "pipeline-sandbox",
        "ap-northeast-2",
    ),
    (
        LOCAL,
        "https://pipeline-sandbox.s3.ap-northeast-2.amazonaws.com/k.png",
        "virtual",
        "pipeline-sandbox",
        "ap-northeast-2",
    ),
    (LOCAL, "http://127.0.0.1:4566/other/k.png", None, "other", None),
    (LOCAL, "http://127.0.0.1:4567/pipeline-sandbox/k.png", None, None, None),
    (LOCAL, "https://127.0.0.1:4566/pipeline-sandbox/k.png", None, "pipeline-sandbox", None),
    (LOCAL, "http://pipeline-sandbox.s3.eu-west-1.localhost:4566/k.png", None, "pipeline-sandbox", "eu-west-1"),
    (LOCAL, "http://other.s3.ap-northeast-2.localhost:4566/k.png", None, "other", "ap-northeast-2"),
    (
        LOCAL,
        "http://pipeline-sandbox.s3.ap-northeast-2.localhost:4567/k.png",
        None,
        "pipeline-sandbox",
        "ap-northeast-2",
    ),
    (LOCAL, "http://evil.localhost:4566/k.png", None, None, None),
    (MINIO, "https://minio.example:9000/photos/k.png", "path", "photos", None),
    (MINIO, "https://photos.minio.example:9000/k.png", "virtual", "photos", None),
    (MINIO, "https://photos.minio.example/k.png", None, None, None),
    (MINIO, "http://minio.example:9000/photos/k.png", None, "photos", None),
]
IDS = [f"{config.name}: {url}" for config, url, *_ in TABLE]


def model(config: Config, url: str) -> s3endpoints.EndpointMatch:
    return s3endpoints.match_url(
        url, bucket=config.bucket, region=config.region, endpoint=Endpoint.parse(config.endpoint)
    )


def settings_of(config: Config) -> Settings:
    return Settings(
        presign_url="https://abc123.execute-api.eu-west-1.amazonaws.com/presign",
        bucket=config.bucket,
        cdn_url="https://d111111abcdef8.cloudfront.net",
        aws=AwsTarget(region=config.region, endpoint_url=config.endpoint),
    )


def upload_accepts(config: Config, url: str) -> bool:
    try:
        check_upload_url(url, "k.png", UrlAllowlist.from_settings(settings_of(config)))
    except PipelineError:
        return False
    return True


def presign_url_fails(config: Config, url: str) -> bool:
    """The ``presign.url`` judge on a reply carrying ``url``, soundly signed otherwise (SigV4, 300 s, type signed)."""
    named = model(config, url).addressed
    region = config.region or (named.region if named else None) or s3endpoints.GLOBAL_REGION
    signed = (
        f"{url}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20240501%2F{region}%2Fs3%2Faws4_request"
        "&X-Amz-Date=20240501T120000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=content-type%3Bhost&X-Amz-Signature=ab12"
    )
    reply = f'{{"presignedUrl": "{signed}", "key": "k.png", "contentType": "image/png"}}'
    target = CheckTarget(
        presign_url="https://abc123.execute-api.eu-west-1.amazonaws.com/presign",
        bucket=config.bucket,
        cdn_url="https://d111111abcdef8.cloudfront.net",
        region=config.region,
        s3_endpoint=config.endpoint,
    )
    exchange = Exchange("GET", target.presign_url, {}, 200, {"Content-Type": "application/json"}, reply, None, 1.0)
    evidence = Evidence(target=target, gathered_at=datetime(2024, 5, 1, 12, 0, tzinfo=UTC), presign_ok=exchange)
    (check,) = [c for c in REGISTRY if c.id == "presign.url"]
    return check.judge(evidence).status is Status.FAIL


@pytest.mark.parametrize(("config", "url", "style", "bucket", "region"), TABLE, ids=IDS)
def test_the_model_says_which_bucket_and_region_a_url_names(config, url, style, bucket, region):
    verdict = model(config, url)
    assert verdict.style == style, verdict.reason
    named = verdict.addressed
    assert (named.bucket if named else None, named.region if named else None) == (bucket, region)
    assert (verdict.reason is None) == (style is not None)


@pytest.mark.parametrize(("config", "url", "style", "bucket", "region"), TABLE, ids=IDS)
def test_upload_check_and_browse_agree_on_every_url(config, url, style, bucket, region):
    accepted = style is not None
    assert upload_accepts(config, url) == accepted
    assert presign_url_fails(config, url) == (not accepted)
    assert s3_url_verdict(settings_of(config), url).ok == accepted


@pytest.mark.parametrize(
    ("config", "url", "style", "bucket", "region"),
    [row for row in TABLE if row[0] is LOCAL and row[2] is not None and urlsplit(row[1]).scheme == "http"],
)
def test_the_sandbox_addresses_the_bucket_the_model_names(config, url, style, bucket, region):
    parts = urlsplit(url)
    request = parse_request({"HTTP_HOST": parts.netloc, "PATH_INFO": parts.path, "REQUEST_METHOD": "PUT"})
    assert (request.bucket, request.key, request.virtual_hosted) == (bucket, "k.png", style == "virtual")


@pytest.fixture(scope="module")
def path_style_sandbox():
    running = Sandbox.start(addressing="path")
    yield running
    running.stop()


def test_an_s3_compatible_endpoint_issuing_path_style_urls_is_healthy(path_style_sandbox):
    # configured as a new user would: the sandbox's exports, AWS_ENDPOINT_URL among them (not "sandbox" mode)
    settings = load_settings(path_style_sandbox.environment())
    assert settings is not None and not settings.sandbox
    with new_session() as session:
        result = upload_one(UploadInput("a.png", image_bytes()), settings, session)
    assert result.ok, result.to_json()
    host = urlsplit(path_style_sandbox.endpoints.s3).netloc
    report = run_checks(settings, only=["presign"])
    url = next(f for f in report.findings if f.id == "presign.url")
    assert url.status is not Status.FAIL, url
    assert host in url.detail and "path-style" in url.detail
