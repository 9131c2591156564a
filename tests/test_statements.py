"""The CloudFront Origin Access Control grant exists once (services/aws_model/statements.py): partition-aware, and
every fix of a report carries the distribution's real ARN whenever the console knows it."""

from __future__ import annotations

import json
import re

import pytest

from services.aws_model import partitions, statements
from services.checks.runner import run_checks
from services.sandbox import layout


@pytest.mark.parametrize(
    ("region", "partition"),
    [("eu-west-1", "aws"), ("cn-north-1", "aws-cn"), ("cn-northwest-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")],
)
def test_the_grant_takes_the_partition_of_the_distribution(region, partition):
    arn = statements.distribution_arn("E2ABCDEF123456", "123456789012", partitions.of_region(region))
    grant = statements.oac_grant("photos", arn)
    assert arn == f"arn:{partition}:cloudfront::123456789012:distribution/E2ABCDEF123456"
    assert grant == {
        "Sid": "AllowCloudFrontServicePrincipal",
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject",
        "Resource": f"arn:{partition}:s3:::photos/*",
        "Condition": {"StringEquals": {"AWS:SourceArn": arn}},
    }
    assert statements.account_of(arn) == "123456789012" and partitions.of_arn(arn) == partition


def test_the_sandbox_grants_with_the_same_builder():
    policy = json.loads(layout.secure_bucket_policy())
    assert policy["Statement"] == [statements.oac_grant(layout.BUCKET, layout.distribution_arn())]


def test_with_the_grant_missing_every_fix_names_the_real_distribution_arn(sandbox, switch, sandbox_settings):
    """Issue 12: the same report showed the real account id in one fix and `<account-id>` in two others."""
    switch("cdn-grant-missing")
    sandbox.invalidate(["/*"])
    report = run_checks(sandbox_settings, only=["bucket", "upload", "cdn"])
    fixes = [f.fix for f in report.findings if "AWS:SourceArn" in f.fix]
    assert len(fixes) >= 2, [(f.id, f.status) for f in report.findings]
    assert not any("<account-id>" in fix for fix in fixes), fixes
    for fix in fixes:
        assert re.findall(r'"AWS:SourceArn": "([^"]+)"', fix) == [layout.distribution_arn()], fix


def test_a_function_arn_is_built_in_the_regions_partition_and_an_arn_is_kept() -> None:
    assert statements.function_arn("presign", "eu-west-1") == ("arn:aws:lambda:eu-west-1:<account-id>:function:presign")
    assert statements.function_arn("presign", "cn-north-1", "123456789012") == (
        "arn:aws-cn:lambda:cn-north-1:123456789012:function:presign"
    )
    given = "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:presign"
    assert statements.function_arn(given, "eu-west-1") == given
    assert statements.function_arn("presign", None) == "arn:aws:lambda:<region>:<account-id>:function:presign"
