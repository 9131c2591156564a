"""Bucket and Lambda-role checks, judged over recorded evidence built here (no AWS, no sandbox).

Table-driven like Prowler / parliament: each scenario asserts the (check id, status) pairs it must produce and key
phrases of detail and fix. Fixes are proven exact: their JSON parses, and applying the suggested documents and
commands to the evidence (S3's answers re-derived from the new configuration) then judging again gives pass.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.aws_model import iam
from services.checks import bucket, lambda_role, runner
from services.checks.evidence import Canary, CheckTarget, Evidence
from services.checks.model import GATHERERS, Check, ConfigRead, Exchange, Finding, Impact, ReadState, Status
from services.sandbox import cors_http
from tests.support import assert_codes

B = "img-bucket"
ACCOUNT = "111122223333"
DIST_ID = "E2EXAMPLE1"
DIST_ARN = f"arn:aws:cloudfront::{ACCOUNT}:distribution/{DIST_ID}"
OTHER_ARN = f"arn:aws:cloudfront::{ACCOUNT}:distribution/EOTHERDIST9"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/presign-role"
OAI = "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E3OAIEXAMPLE"
ORIGINS = ("http://localhost:5173", "https://app.example.com")
OBJECT_URL = f"https://{B}.s3.us-east-1.amazonaws.com/cors-preflight-probe.png"
CANARY_KEY = "0b7f3a52-1c2d-4e5f-8a9b-0c1d2e3f4a5b.png"
OBJECTS = f"arn:aws:s3:::{B}/*"
PASS, WARN, FAIL, UNKNOWN, SKIP = Status.PASS, Status.WARN, Status.FAIL, Status.UNKNOWN, Status.SKIP

ALL_CHECKS: tuple[Check, ...] = (*bucket.CHECKS, *lambda_role.CHECKS)
BY_ID = {check.id: check for check in ALL_CHECKS}

# --- recorded configuration ------------------------------------------------------------------------------------


def ok(call: str, value: Any) -> ConfigRead:
    return ConfigRead(call, ReadState.OK, value)


def missing(call: str, code: str) -> ConfigRead:
    return ConfigRead(call, ReadState.MISSING, None, code, "The specified configuration does not exist")


def denied(call: str, action: str | None = None) -> ConfigRead:
    message = f"User: arn:aws:iam::{ACCOUNT}:user/console is not authorized to perform: {action or call}"
    return ConfigRead(call, ReadState.DENIED, None, "AccessDenied", message)


def oac_statement(arn: str = DIST_ARN, **extra: Any) -> dict[str, Any]:
    return {
        "Sid": "AllowCloudFrontServicePrincipal",
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject",
        "Resource": OBJECTS,
        "Condition": {"StringEquals": {"AWS:SourceArn": arn}},
        **extra,
    }


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


SECURE_POLICY = doc(oac_statement())
SEED_STATEMENT = {
    "Sid": "PublicReadWrite",
    "Effect": "Allow",
    "Principal": "*",
    "Action": ["s3:GetObject", "s3:PutObject"],
    "Resource": OBJECTS,
}
SEED_POLICY = doc(SEED_STATEMENT)
SEED_CORS = [
    {
        "AllowedHeaders": ["*"],
        "AllowedMethods": ["PUT"],
        "AllowedOrigins": ["http://localhost:5173", "http://localhost:3000", "http://your-service-address.com"],
        "ExposeHeaders": [],
    }
]
SECURE_CORS = [
    {
        "AllowedHeaders": ["content-type"],
        "AllowedMethods": ["PUT"],
        "AllowedOrigins": list(ORIGINS),
        "ExposeHeaders": ["ETag"],
    }
]
BPA_ON = dict.fromkeys(bucket.BPA_SETTINGS, True)
ROLE_PUT = doc({"Sid": "PutUploads", "Effect": "Allow", "Action": "s3:PutObject", "Resource": OBJECTS})
ROLE_GET_ONLY = doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": OBJECTS})
LOGS_POLICY = doc({"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"})


def distribution(access: str = "oac", arn: str = DIST_ARN) -> dict[str, Any]:
    origin: dict[str, Any] = {"Id": "s3-origin", "DomainName": f"{B}.s3.us-east-1.amazonaws.com"}
    if access == "oac":
        origin |= {"OriginAccessControlId": "E1OACEXAMPLE", "S3OriginConfig": {"OriginAccessIdentity": ""}}
    else:
        origin |= {
            "OriginAccessControlId": "",
            "S3OriginConfig": {"OriginAccessIdentity": "origin-access-identity/cloudfront/E3OAIEXAMPLE"},
        }
    return {
        "Id": arn.rsplit("/", 1)[-1],
        "ARN": arn,
        "DistributionConfig": {"Origins": {"Quantity": 1, "Items": [origin]}},
    }


def role_policies(*entries: tuple[str, Any]) -> ConfigRead:
    return ok("iam:ListRolePolicies", [{"name": name, "document": document} for name, document in entries])


# --- recorded HTTP, derived from S3's algorithms so a changed configuration changes the answers ------------------


def preflights(rules: list[Any] | None, origins: tuple[str, ...] = ORIGINS) -> dict[str, Exchange]:
    """The OPTIONS exchanges S3 would answer for these rules (cors_http.preflight answers by S3's own algorithm)."""
    asked = {"Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "content-type"}
    found = {}
    for origin in origins:
        answer = cors_http.preflight(rules, origin, "PUT", "content-type")
        found[origin] = Exchange(
            "OPTIONS", OBJECT_URL, {**asked, "Origin": origin}, answer.status, answer.headers, answer.body.decode()
        )
    return found


def direct_get(status: int | None) -> Exchange:
    url = f"https://{B}.s3.us-east-1.amazonaws.com/{CANARY_KEY}"
    if status is None:
        return Exchange("GET", url, {}, None, error="ConnectTimeout: timed out")
    body = "" if status == 200 else "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
    return Exchange("GET", url, {}, status, {"Content-Type": "image/png" if status == 200 else "application/xml"}, body)


def canary(status: int | None) -> Canary:
    return Canary(
        presign=Exchange("GET", "https://api.example.com/presign", status=200),
        key=CANARY_KEY,
        direct_s3=direct_get(status),
    )


def target(**changes: Any) -> CheckTarget:
    base = CheckTarget(
        presign_url="https://api.example.com/presign",
        bucket=B,
        cdn_url="https://d111111abcdef8.cloudfront.net",
        region="us-east-1",
        app_origins=ORIGINS,
        distribution_id=DIST_ID,
        lambda_function="image-presign",
    )
    return dataclasses.replace(base, **changes)


def evidence(**changes: Any) -> Evidence:
    """The healthy, secure shape; keyword arguments replace fields (``target=`` a CheckTarget or a dict of changes)."""
    tgt = changes.pop("target", {})
    cors_rules = SECURE_CORS
    fields: dict[str, Any] = {
        "bucket_cors": ok("s3:GetBucketCors", cors_rules),
        "bucket_policy": ok("s3:GetBucketPolicy", json.dumps(SECURE_POLICY)),
        "public_access_block": ok("s3:GetBucketPublicAccessBlock", BPA_ON),
        "bucket_preflights": preflights(cors_rules),
        "object_url": OBJECT_URL,
        "canary": canary(403),
        "lambda_config": ok("lambda:GetFunctionConfiguration", {"FunctionName": "image-presign", "Role": ROLE_ARN}),
        "role_policies": role_policies(
            ("presign-put", json.dumps(ROLE_PUT)), ("AWSLambdaBasicExecutionRole", LOGS_POLICY)
        ),
        "distribution": ok("cloudfront:GetDistribution", distribution()),
    }
    fields.update(changes)
    the_target = tgt if isinstance(tgt, CheckTarget) else target(**tgt)
    return Evidence(target=the_target, gathered_at=datetime(2025, 1, 1, tzinfo=UTC), **fields)


def judge(ev: Evidence) -> dict[str, Finding]:
    """Every check's finding, as a run judges it (impact, status, redaction), each with declared cause codes."""
    found = {check.id: runner.judge(check, ev) for check in ALL_CHECKS}
    for finding in found.values():
        assert_codes(finding)
    return found


def text_of(found: Finding) -> str:
    return f"{found.title}\n{found.detail}"


# --- fixes: parse them, apply them -----------------------------------------------------------------------------


def fix_parts(fix: str) -> list[tuple[str, Any]]:
    """The fix as ("json", document) blocks and ("cmd", argv) commands, in order. Raises if any JSON is malformed,
    so every test using it also proves the fix JSON parses."""
    parts: list[tuple[str, Any]] = []
    decoder = json.JSONDecoder()
    offset = 0
    for line in fix.split("\n"):  # not splitlines(): it also splits on \x1c, \x85 ...
        start, offset = offset, offset + len(line) + 1
        if parts and parts[-1][0] == "skip" and start < parts[-1][1]:
            continue
        if line.startswith("{"):
            document, end = decoder.raw_decode(fix, start)
            parts.append(("json", document))
            parts.append(("skip", end))
        elif line.startswith("aws "):
            argv = shlex.split(line)
            for i in range(len(argv) - 1):
                if argv[i] in ("--cors-configuration", "--policy-document") and not argv[i + 1].startswith("file://"):
                    json.loads(argv[i + 1])  # inline JSON must parse too
            parts.append(("cmd", argv))
    return [part for part in parts if part[0] != "skip"]


def _option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def _apply_role_command(ev: Evidence, argv: list[str], last_json: Any) -> Evidence:
    entries = list(ev.role_policies.value) if ev.role_policies and ev.role_policies.state is ReadState.OK else []
    if argv[2] == "put-role-policy":
        name, document = _option(argv, "--policy-name"), json.loads(_option(argv, "--policy-document"))
        entries = [e for e in entries if e["name"] != name] + [{"name": name, "document": document}]
    elif argv[2] == "delete-role-policy":
        entries = [e for e in entries if e["name"] != _option(argv, "--policy-name")]
    elif argv[2] == "create-policy-version":
        arn = _option(argv, "--policy-arn")
        entries = [e if arn not in (e.get("arn"), e["name"]) else {**e, "document": last_json} for e in entries]
    elif argv[2] == "detach-role-policy":
        arn = _option(argv, "--policy-arn")
        entries = [e for e in entries if arn not in (e.get("arn"), e["name"])]
    return dataclasses.replace(ev, role_policies=ok("iam:ListRolePolicies", entries))


def apply_fix(ev: Evidence, fix: str) -> Evidence:
    """The evidence as it would be gathered after running the fix's commands (with its JSON as policy.json)."""
    last_json: Any = None
    for kind, value in fix_parts(fix):
        if kind == "json":
            last_json = value
            continue
        argv = value
        assert argv[:2] in (["aws", "s3api"], ["aws", "iam"], ["aws", "cloudfront"]), argv
        if argv[1] == "iam":
            ev = _apply_role_command(ev, argv, last_json)
        elif argv[2] == "put-bucket-cors":
            rules = json.loads(_option(argv, "--cors-configuration"))["CORSRules"]
            ev = dataclasses.replace(
                ev,
                bucket_cors=ok("s3:GetBucketCors", rules),
                bucket_preflights=preflights(rules, tuple(ev.bucket_preflights) or ORIGINS),
            )
        elif argv[2] == "put-bucket-policy":
            assert _option(argv, "--policy") == "file://policy.json"
            ev = dataclasses.replace(ev, bucket_policy=ok("s3:GetBucketPolicy", json.dumps(last_json)))
        elif argv[2] == "delete-bucket-policy":
            ev = dataclasses.replace(ev, bucket_policy=missing("s3:GetBucketPolicy", "NoSuchBucketPolicy"))
        elif argv[2] == "put-public-access-block":
            pairs = _option(argv, "--public-access-block-configuration").split(",")
            settings_ = {k: v == "true" for k, v in (pair.split("=") for pair in pairs)}
            ev = dataclasses.replace(ev, public_access_block=ok("s3:GetBucketPublicAccessBlock", settings_))
    return _resimulate_direct_get(ev)


def _resimulate_direct_get(ev: Evidence) -> Evidence:
    """The anonymous GET straight to S3, decided as S3 does from the (new) bucket policy and Block Public Access."""
    if ev.canary is None or ev.canary.direct_s3 is None or ev.canary.direct_s3.status is None:
        return ev
    allowed = False
    if ev.bucket_policy is not None and ev.bucket_policy.state is ReadState.OK:
        parsed = iam.parse_policy(ev.bucket_policy.value)
        bpa = (
            ev.public_access_block.value
            if ev.public_access_block and ev.public_access_block.state is ReadState.OK
            else {}
        )
        restricted = bool(bpa.get("RestrictPublicBuckets")) and bool(iam.public_statements(parsed))
        request = iam.Request(iam.ANONYMOUS, "s3:GetObject", f"arn:aws:s3:::{B}/{CANARY_KEY}")
        allowed = not restricted and iam.evaluate([parsed], request).allowed
    return dataclasses.replace(ev, canary=dataclasses.replace(ev.canary, direct_s3=direct_get(200 if allowed else 403)))


# --- scenarios -------------------------------------------------------------------------------------------------


def policy_read(document: Any) -> ConfigRead:
    return ok("s3:GetBucketPolicy", document if isinstance(document, str) else json.dumps(document))


SEED = evidence(
    target={"app_origins": ("http://localhost:5173",)},
    bucket_cors=ok("s3:GetBucketCors", SEED_CORS),
    bucket_preflights=preflights(SEED_CORS, ("http://localhost:5173",)),
    bucket_policy=policy_read(SEED_POLICY),
    public_access_block=missing("s3:GetBucketPublicAccessBlock", "NoSuchPublicAccessBlockConfiguration"),
    canary=canary(200),
    role_policies=role_policies(),
)

# (name, evidence, {check id: status}, {check id: phrases in title+detail}, {check id: phrases in fix})
SCENARIOS: list[tuple[str, Evidence, dict[str, Status], dict[str, list[str]], dict[str, list[str]]]] = [
    (
        "healthy secure shape",
        evidence(),
        dict.fromkeys(BY_ID, PASS),
        {"bucket.cdn_read_grant": [DIST_ARN], "lambda.role_put": ["'PutUploads'", ROLE_ARN]},
        {},
    ),
    (
        "the seed: public read+write policy, Block Public Access off",
        SEED,
        {
            "bucket.cors": WARN,
            "bucket.cors_preflight": PASS,
            "bucket.public_write": FAIL,
            "bucket.public_read": FAIL,
            "bucket.public_access_block": FAIL,
            "bucket.cdn_read_grant": FAIL,
            "lambda.role_put": WARN,
        },
        {
            "bucket.public_write": ["'PublicReadWrite'", '"Principal": "*"', "s3:PutObject", OBJECTS, "presigned URL"],
            "bucket.public_read": ["answered 200", "'PublicReadWrite'"],
            "bucket.public_access_block": ["Block Public Access is off", "NoSuchPublicAccessBlockConfiguration"],
            "bucket.cdn_read_grant": ["public grant", "not through OAC"],
            "bucket.cors": ["ETag"],
            "lambda.role_put": ["publicly writable", "'PublicReadWrite'"],
        },
        {
            "bucket.public_write": [
                "put-bucket-policy --bucket img-bucket --policy file://policy.json",
                "put-public-access-block",
                DIST_ARN,
            ],
            "bucket.public_access_block": [
                "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true"
            ],
            "bucket.cdn_read_grant": ['"AWS:SourceArn": "' + DIST_ARN, "AllowCloudFrontServicePrincipal"],
            "lambda.role_put": ["aws iam put-role-policy --role-name presign-role --policy-name presign-put"],
        },
    ),
    (
        "grant names another distribution",
        evidence(bucket_policy=policy_read(doc(oac_statement(OTHER_ARN)))),
        {"bucket.cdn_read_grant": FAIL, "bucket.public_write": PASS, "bucket.public_read": PASS},
        {"bucket.cdn_read_grant": ["another distribution", OTHER_ARN, DIST_ARN]},
        {"bucket.cdn_read_grant": [DIST_ARN]},
    ),
    (
        "legacy OAI grant, distribution on OAC",
        evidence(
            bucket_policy=policy_read(
                doc(
                    {
                        "Sid": "OAI",
                        "Effect": "Allow",
                        "Principal": {"AWS": OAI},
                        "Action": "s3:GetObject",
                        "Resource": OBJECTS,
                    }
                )
            )
        ),
        {"bucket.cdn_read_grant": FAIL},
        {"bucket.cdn_read_grant": ["legacy", "Origin Access Control", "E3OAIEXAMPLE"]},
        {"bucket.cdn_read_grant": [DIST_ARN]},
    ),
    (
        "legacy OAI grant, distribution still on OAI",
        evidence(
            bucket_policy=policy_read(
                doc(
                    {
                        "Sid": "OAI",
                        "Effect": "Allow",
                        "Principal": {"AWS": OAI},
                        "Action": "s3:GetObject",
                        "Resource": OBJECTS,
                    }
                )
            ),
            distribution=ok("cloudfront:GetDistribution", distribution("oai")),
        ),
        {"bucket.cdn_read_grant": WARN},
        {"bucket.cdn_read_grant": ["legacy Origin Access Identity", "migrate"]},
        {"bucket.cdn_read_grant": ["create-origin-access-control", "OriginAccessControlId"]},
    ),
    (
        "CloudFront grant without AWS:SourceArn",
        evidence(bucket_policy=policy_read(doc({k: v for k, v in oac_statement().items() if k != "Condition"}))),
        {"bucket.cdn_read_grant": WARN, "bucket.public_read": PASS},
        {"bucket.cdn_read_grant": ["no AWS:SourceArn", "any distribution"]},
        {"bucket.cdn_read_grant": ['"AWS:SourceArn": "' + DIST_ARN]},
    ),
    (
        "CloudFront grant on the bucket ARN only",
        evidence(bucket_policy=policy_read(doc(oac_statement(Resource=f"arn:aws:s3:::{B}")))),
        {"bucket.cdn_read_grant": FAIL},
        {"bucket.cdn_read_grant": ["names the bucket, not its objects"]},
        {},
    ),
    (
        "a Deny stops CloudFront",
        evidence(
            bucket_policy=policy_read(
                doc(
                    oac_statement(),
                    {
                        "Sid": "NoReads",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": OBJECTS,
                    },
                )
            )
        ),
        {"bucket.cdn_read_grant": FAIL},
        {"bucket.cdn_read_grant": ["'NoReads'", "denies CloudFront"]},
        {},
    ),
    (
        "no bucket policy at all",
        evidence(bucket_policy=missing("s3:GetBucketPolicy", "NoSuchBucketPolicy")),
        {
            "bucket.public_write": PASS,
            "bucket.public_read": PASS,
            "bucket.cdn_read_grant": FAIL,
            "lambda.role_put": PASS,
        },
        {"bucket.public_write": ["No bucket policy"], "bucket.cdn_read_grant": ["No bucket policy"]},
        {"bucket.cdn_read_grant": ["AllowCloudFrontServicePrincipal", "put-bucket-policy"]},
    ),
    (
        "no distribution configured, the policy grants one",
        evidence(target={"distribution_id": None}, distribution=None),
        {"bucket.cdn_read_grant": SKIP},
        {"bucket.cdn_read_grant": ["PIPELINE_DISTRIBUTION_ID", DIST_ARN]},
        {},
    ),
    (
        "distribution read denied, its ARN found in the policy",
        evidence(distribution=denied("cloudfront:GetDistribution")),
        {"bucket.cdn_read_grant": PASS},
        {"bucket.cdn_read_grant": ["taken from the bucket policy"]},
        {},
    ),
    (
        "distribution read denied, nothing names it",
        evidence(
            distribution=denied("cloudfront:GetDistribution"), bucket_policy=policy_read(doc(oac_statement(OTHER_ARN)))
        ),
        {"bucket.cdn_read_grant": UNKNOWN},
        {"bucket.cdn_read_grant": ["cloudfront:GetDistribution", "AccessDenied"]},
        {},
    ),
    (
        "AccessDenied on s3:GetBucketCors",
        evidence(bucket_cors=denied("s3:GetBucketCors")),
        {"bucket.cors": UNKNOWN, "bucket.cors_preflight": PASS},
        {"bucket.cors": ["lacks s3:GetBucketCors", "not a verdict"]},
        {},
    ),
    (
        "AccessDenied on s3:GetBucketPolicy",
        evidence(bucket_policy=denied("s3:GetBucketPolicy"), canary=canary(None)),
        {
            "bucket.public_write": UNKNOWN,
            "bucket.public_read": UNKNOWN,
            "bucket.cdn_read_grant": UNKNOWN,
            "lambda.role_put": UNKNOWN,  # the role's policies allow; a Deny in the unread bucket policy would win
        },
        {
            "bucket.public_write": ["lacks s3:GetBucketPolicy"],
            "lambda.role_put": ["lacks s3:GetBucketPolicy", "role's own policies allow the PUT"],
        },
        {"lambda.role_put": ['"Action": "s3:GetBucketPolicy"', f'"Resource": "arn:aws:s3:::{B}"']},
    ),
    (
        "AccessDenied on s3:GetBucketPolicy, live GET denied",
        evidence(bucket_policy=denied("s3:GetBucketPolicy")),
        {"bucket.public_read": UNKNOWN},  # the canary is not public; other keys may be
        {"bucket.public_read": ["403", "lacks s3:GetBucketPolicy", "other keys"]},
        {},
    ),
    (
        "AccessDenied on s3:GetBucketPolicy, live GET answered 200",
        evidence(bucket_policy=denied("s3:GetBucketPolicy"), canary=canary(200)),
        {"bucket.public_read": FAIL, "bucket.public_write": UNKNOWN},
        {"bucket.public_read": ["answered 200"]},
        {"bucket.public_read": ["put-public-access-block", "BucketOwnerEnforced"]},
    ),
    (
        "AccessDenied on s3:GetBucketPublicAccessBlock",
        evidence(public_access_block=denied("s3:GetBucketPublicAccessBlock")),
        {"bucket.public_access_block": UNKNOWN, "bucket.public_write": PASS},
        {"bucket.public_access_block": ["lacks s3:GetBucketPublicAccessBlock"]},
        {},
    ),
    (
        "AccessDenied on lambda:GetFunctionConfiguration",
        evidence(lambda_config=denied("lambda:GetFunctionConfiguration"), role_policies=None),
        {"lambda.role_put": UNKNOWN},
        {"lambda.role_put": ["lacks lambda:GetFunctionConfiguration"]},
        {},
    ),
    (
        "AccessDenied on an IAM read",
        evidence(role_policies=denied("iam:ListRolePolicies", "iam:GetPolicyVersion")),
        {"lambda.role_put": UNKNOWN},
        {"lambda.role_put": ["lacks iam:GetPolicyVersion"]},
        {},
    ),
    (
        "the bucket does not exist",
        evidence(
            bucket_cors=missing("s3:GetBucketCors", "NoSuchBucket"),
            bucket_policy=missing("s3:GetBucketPolicy", "NoSuchBucket"),
            public_access_block=missing("s3:GetBucketPublicAccessBlock", "NoSuchBucket"),
        ),
        {"bucket.cors": UNKNOWN, "bucket.public_write": UNKNOWN, "bucket.public_access_block": UNKNOWN},
        {"bucket.cors": ["NoSuchBucket", "PIPELINE_BUCKET"]},
        {},
    ),
    (
        "no CORS configuration",
        evidence(
            bucket_cors=missing("s3:GetBucketCors", "NoSuchCORSConfiguration"), bucket_preflights=preflights(None)
        ),
        {"bucket.cors": FAIL, "bucket.cors_preflight": FAIL},
        {
            "bucket.cors": ["No CORS configuration", "NoSuchCORSConfiguration"],
            "bucket.cors_preflight": [
                "403",
                "AccessForbidden",
                "CORS is not enabled",
                "Access-Control-Allow-Origin absent",
            ],
        },
        {"bucket.cors": ['aws s3api put-bucket-cors --bucket img-bucket --cors-configuration \'{"CORSRules": [']},
    ),
    (
        "CORS lacks an app origin",
        evidence(bucket_cors=ok("s3:GetBucketCors", SEED_CORS), bucket_preflights=preflights(SEED_CORS)),
        {"bucket.cors": FAIL, "bucket.cors_preflight": FAIL},
        {
            "bucket.cors": [
                "https://app.example.com",
                "origin (not in AllowedOrigins)",
                "http://your-service-address.com",
            ],
            "bucket.cors_preflight": [
                "https://app.example.com: OPTIONS",
                "answered 403",
                "Access-Control-Allow-Origin absent",
            ],
        },
        {"bucket.cors": ["https://app.example.com", "http://localhost:3000", "ETag"]},
    ),
    (
        "CORS origin differs only by a trailing slash",
        evidence(
            bucket_cors=ok(
                "s3:GetBucketCors",
                [{**SECURE_CORS[0], "AllowedOrigins": ["http://localhost:5173/", "https://app.example.com"]}],
            )
        ),
        {"bucket.cors": FAIL},
        {"bucket.cors": ["hint:", "trailing slash"]},
        {},
    ),
    (
        "CORS lacks PUT",
        evidence(bucket_cors=ok("s3:GetBucketCors", [{**SECURE_CORS[0], "AllowedMethods": ["GET", "HEAD"]}])),
        {"bucket.cors": FAIL},
        {"bucket.cors": ["method (PUT not in AllowedMethods)", '["GET", "HEAD"]']},
        {},
    ),
    (
        "CORS lacks the content-type header",
        evidence(bucket_cors=ok("s3:GetBucketCors", [{**SECURE_CORS[0], "AllowedHeaders": ["x-amz-*"]}])),
        {"bucket.cors": FAIL},
        {"bucket.cors": ["header (content-type not in AllowedHeaders)", '["x-amz-*"]']},
        {},
    ),
    (
        "CORS allows it, ExposeHeaders without ETag",
        evidence(bucket_cors=ok("s3:GetBucketCors", [{**SECURE_CORS[0], "ExposeHeaders": []}])),
        {"bucket.cors": WARN},
        {"bucket.cors": ["ExposeHeaders lacks ETag"]},
        {"bucket.cors": ['"ETag"']},
    ),
    (
        "CORS allows it through a wildcard origin rule",
        evidence(
            bucket_cors=ok(
                "s3:GetBucketCors",
                [
                    {
                        "AllowedHeaders": ["*"],
                        "AllowedMethods": ["GET", "PUT"],
                        "AllowedOrigins": ["*"],
                        "ExposeHeaders": ["ETag"],
                    }
                ],
            )
        ),
        {"bucket.cors": PASS},
        {"bucket.cors": ["AllowedOrigins entry *"]},
        {},
    ),
    (
        "no app origins configured",
        evidence(target={"app_origins": ()}, bucket_preflights={}),
        {"bucket.cors": SKIP, "bucket.cors_preflight": SKIP},
        {"bucket.cors": ["PIPELINE_APP_ORIGINS"], "bucket.cors_preflight": ["PIPELINE_APP_ORIGINS"]},
        {},
    ),
    (
        "preflight got no answer",
        evidence(
            bucket_preflights={o: Exchange("OPTIONS", OBJECT_URL, error="ConnectionError: refused") for o in ORIGINS}
        ),
        {"bucket.cors_preflight": UNKNOWN},
        {"bucket.cors_preflight": ["no answer", "ConnectionError"]},
        {},
    ),
    (
        "preflight to the wrong region",
        evidence(
            bucket_preflights={
                o: Exchange(
                    "OPTIONS",
                    OBJECT_URL,
                    status=301,
                    response_headers={"x-amz-bucket-region": "eu-west-1"},
                    body="<Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint.</Message></Error>",
                )
                for o in ORIGINS
            }
        ),
        {"bucket.cors_preflight": FAIL},
        {
            "bucket.cors_preflight": [
                "does not reach the bucket",
                "PermanentRedirect",
                "not a CORS refusal",
                "eu-west-1",
            ]
        },
        {"bucket.cors_preflight": [f"https://{B}.s3.eu-west-1.amazonaws.com/", "get-bucket-location"]},
    ),
    (
        "public write grant made dormant by RestrictPublicBuckets",
        evidence(
            bucket_policy=policy_read(
                doc(
                    oac_statement(),
                    {
                        "Sid": "Anyone",
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:PutObject",
                        "Resource": OBJECTS,
                    },
                )
            )
        ),
        {"bucket.public_write": WARN, "bucket.public_read": PASS, "bucket.public_access_block": PASS},
        {"bucket.public_write": ["Dormant public write grant", "RestrictPublicBuckets=true", "'Anyone'"]},
        {"bucket.public_write": ["AllowCloudFrontServicePrincipal"]},
    ),
    (
        "public read grant, RestrictPublicBuckets on",
        evidence(
            bucket_policy=policy_read(
                doc(
                    oac_statement(),
                    {
                        "Sid": "Anyone",
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": OBJECTS,
                    },
                )
            )
        ),
        {"bucket.public_read": WARN, "bucket.cdn_read_grant": PASS},
        {"bucket.public_read": ["Dormant public read grant"]},
        {},
    ),
    (
        "public read grant, BPA off, live GET denied anyway",
        evidence(
            bucket_policy=policy_read(
                doc(
                    oac_statement(),
                    {
                        "Sid": "Anyone",
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": OBJECTS,
                    },
                )
            ),
            public_access_block=ok("s3:GetBucketPublicAccessBlock", dict.fromkeys(bucket.BPA_SETTINGS, False)),
        ),
        {"bucket.public_read": WARN, "bucket.public_access_block": FAIL},
        {"bucket.public_read": ["live anonymous GET was denied", "explicit Deny"]},
        {},
    ),
    (
        "public read grant, BPA off, no live probe",
        evidence(
            bucket_policy=policy_read(
                doc(
                    oac_statement(),
                    {
                        "Sid": "Anyone",
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": OBJECTS,
                    },
                )
            ),
            public_access_block=ok("s3:GetBucketPublicAccessBlock", dict.fromkeys(bucket.BPA_SETTINGS, False)),
            canary=None,
        ),
        {"bucket.public_read": FAIL},
        {"bucket.public_read": ["lets anyone read", "not made"]},
        {},
    ),
    (
        "object public through an ACL: live 200, policy clean",
        evidence(canary=canary(200)),
        {"bucket.public_read": FAIL},
        {"bucket.public_read": ["no statement grants s3:GetObject to everyone"]},
        {"bucket.public_read": ["BucketOwnerEnforced", "put-public-access-block"]},
    ),
    (
        "Block Public Access: only the ACL settings off",
        evidence(
            public_access_block=ok(
                "s3:GetBucketPublicAccessBlock", {**BPA_ON, "BlockPublicAcls": False, "IgnorePublicAcls": False}
            )
        ),
        {"bucket.public_access_block": WARN},
        {"bucket.public_access_block": ["BlockPublicAcls=false", "IgnorePublicAcls=false", "BlockPublicPolicy=true"]},
        {},
    ),
    (
        "Block Public Access: BlockPublicPolicy off",
        evidence(public_access_block=ok("s3:GetBucketPublicAccessBlock", {**BPA_ON, "BlockPublicPolicy": False})),
        {"bucket.public_access_block": FAIL},
        {"bucket.public_access_block": ["BlockPublicPolicy=false"]},
        {},
    ),
    (
        "Lambda role without s3:PutObject",
        evidence(role_policies=role_policies(("reader", ROLE_GET_ONLY))),
        {"lambda.role_put": FAIL},
        {"lambda.role_put": [ROLE_ARN, "inline policy 'reader'", "implicit deny", "403 AccessDenied"]},
        {
            "lambda.role_put": [
                '"Action": "s3:PutObject"',
                f'"Resource": "{OBJECTS}"',
                "aws iam put-role-policy --role-name presign-role --policy-name presign-put --policy-document '",
            ]
        },
    ),
    (
        "Lambda role with no policies at all",
        evidence(role_policies=role_policies()),
        {"lambda.role_put": FAIL},
        {"lambda.role_put": ["none attached to the role"]},
        {},
    ),
    (
        "Lambda role: explicit Deny beats the Allow",
        evidence(
            role_policies=role_policies(
                ("presign-put", ROLE_PUT),
                (
                    "guard",
                    doc(
                        {"Sid": "NoWrites", "Effect": "Deny", "Action": "s3:Put*", "Resource": "*"},
                        {"Sid": "Logs", "Effect": "Allow", "Action": "logs:*", "Resource": "*"},
                    ),
                ),
            )
        ),
        {"lambda.role_put": FAIL},
        {"lambda.role_put": ["explicit deny", "'NoWrites'", "inline policy 'guard'"]},
        {"lambda.role_put": ["--policy-name guard", "'NoWrites'"]},
    ),
    (
        "Lambda role: a bucket-policy Deny on the role",
        evidence(
            bucket_policy=policy_read(
                doc(
                    oac_statement(),
                    {
                        "Sid": "NoRolePuts",
                        "Effect": "Deny",
                        "Principal": {"AWS": ROLE_ARN},
                        "Action": "s3:PutObject",
                        "Resource": OBJECTS,
                    },
                )
            )
        ),
        {"lambda.role_put": FAIL, "bucket.cdn_read_grant": PASS},
        {"lambda.role_put": ["explicit deny", "'NoRolePuts'", "the bucket policy"]},
        {"lambda.role_put": ["put-bucket-policy"]},
    ),
    (
        "Lambda role: a managed policy granting s3:*",
        evidence(
            role_policies=role_policies(
                (
                    "AmazonS3FullAccess",
                    {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": ["s3:*", "s3-object-lambda:*"], "Resource": "*"}],
                    },
                )
            )
        ),
        {"lambda.role_put": PASS},
        {"lambda.role_put": ["AmazonS3FullAccess"]},
        {},
    ),
    (
        "Lambda role: the grant is in the bucket policy, naming the role",
        evidence(
            role_policies=role_policies(),
            bucket_policy=policy_read(
                doc(
                    oac_statement(),
                    {
                        "Sid": "RolePuts",
                        "Effect": "Allow",
                        "Principal": {"AWS": ROLE_ARN},
                        "Action": "s3:PutObject",
                        "Resource": OBJECTS,
                    },
                )
            ),
        ),
        {"lambda.role_put": PASS, "bucket.public_write": PASS},
        {"lambda.role_put": ["'RolePuts'"]},
        {},
    ),
    (
        "Lambda role: URL-encoded IAM document, role with a path",
        evidence(
            lambda_config=ok(
                "lambda:GetFunctionConfiguration", {"Role": f"arn:aws:iam::{ACCOUNT}:role/service-role/presign-role"}
            ),
            role_policies=role_policies(("presign-put", quote(json.dumps(ROLE_PUT)))),
        ),
        {"lambda.role_put": PASS},
        {},
        {},
    ),
    (
        "Lambda role: a document that does not parse",
        evidence(
            role_policies=role_policies(("presign-put", ROLE_PUT), ("broken", '{"Statement": [{"Effect": "Maybe"}]}'))
        ),
        {"lambda.role_put": UNKNOWN},
        {"lambda.role_put": ["PolicyError", "'broken'", "Effect"]},
        {},
    ),
    (
        "Lambda: no function configured",
        evidence(target={"lambda_function": None}, lambda_config=None, role_policies=None),
        {"lambda.role_put": SKIP},
        {"lambda.role_put": ["PIPELINE_LAMBDA_FUNCTION"]},
        {},
    ),
    (
        "Lambda: function not found",
        evidence(
            lambda_config=missing("lambda:GetFunctionConfiguration", "ResourceNotFoundException"), role_policies=None
        ),
        {"lambda.role_put": UNKNOWN},
        {"lambda.role_put": ["not found", "PIPELINE_LAMBDA_FUNCTION"]},
        {},
    ),
    (
        "bucket policy the parser refuses",
        evidence(bucket_policy=policy_read('{"Statement": "nope"}')),
        {"bucket.public_write": UNKNOWN, "bucket.cdn_read_grant": UNKNOWN, "lambda.role_put": UNKNOWN},
        {"bucket.public_write": ["does not parse", "Statement must be"]},
        {},
    ),
]


@pytest.mark.parametrize(("name", "ev", "statuses", "phrases", "fix_phrases"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_scenario(
    name: str,
    ev: Evidence,
    statuses: dict[str, Status],
    phrases: dict[str, list[str]],
    fix_phrases: dict[str, list[str]],
) -> None:
    found = judge(ev)
    assert {(i, found[i].status) for i in statuses} == set(statuses.items()), {i: found[i].title for i in statuses}
    for check_id, wanted in phrases.items():
        for phrase in wanted:
            assert phrase in text_of(found[check_id]), (check_id, phrase, text_of(found[check_id]))
    for check_id, wanted in fix_phrases.items():
        for phrase in wanted:
            assert phrase in found[check_id].fix, (check_id, phrase, found[check_id].fix)


@pytest.mark.parametrize(("name", "ev", "statuses", "phrases", "fix_phrases"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_every_fix_is_exact(
    name: str,
    ev: Evidence,
    statuses: dict[str, Status],
    phrases: dict[str, list[str]],
    fix_phrases: dict[str, list[str]],
) -> None:
    """Each fail/warn fix parses, and applying it then judging the same check again gives pass."""
    for check_id, found in judge(ev).items():
        if found.status not in (FAIL, WARN):
            assert found.fix == "" or found.status is UNKNOWN, (check_id, found.fix)
            continue
        assert found.fix, check_id
        if check_id == "bucket.public_read" and ev.bucket_policy and ev.bucket_policy.state is not ReadState.OK:
            continue  # the fix is to Block Public Access / ACLs, which the recorded evidence cannot re-derive
        if check_id == "bucket.cors_preflight" and "put-bucket-cors" not in found.fix:
            assert "get-bucket-location" in found.fix  # an endpoint problem: no configuration change fixes it
            continue
        fixed = apply_fix(ev, found.fix)
        again = BY_ID[check_id].judge(fixed)
        assert again.status is PASS, (check_id, found.fix, again.title, again.detail)


def test_seed_fixes_together_make_everything_pass() -> None:
    ev = SEED
    for check_id in ("bucket.public_write", "bucket.public_access_block", "bucket.cors", "lambda.role_put"):
        ev = apply_fix(ev, BY_ID[check_id].judge(ev).fix)
    assert {i: f.status for i, f in judge(ev).items()} == dict.fromkeys(BY_ID, PASS)


def test_the_seed_fix_keeps_other_statements() -> None:
    extra = {
        "Sid": "AuditorList",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/auditor"},
        "Action": "s3:ListBucket",
        "Resource": f"arn:aws:s3:::{B}",
    }
    ev = dataclasses.replace(SEED, bucket_policy=policy_read(doc(SEED_STATEMENT, extra)))
    fixed = next(document for kind, document in fix_parts(bucket.judge_public_write(ev).fix) if kind == "json")
    assert [s.get("Sid") for s in fixed["Statement"]] == ["AuditorList", "AllowCloudFrontServicePrincipal"]


def test_cdn_fix_replaces_the_near_miss_and_states_the_secure_statement() -> None:
    ev = evidence(bucket_policy=policy_read(doc(oac_statement(OTHER_ARN))))
    fixed = next(document for kind, document in fix_parts(bucket.judge_cdn_read_grant(ev).fix) if kind == "json")
    assert fixed["Statement"] == [
        {
            "Sid": "AllowCloudFrontServicePrincipal",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:GetObject",
            "Resource": OBJECTS,
            "Condition": {"StringEquals": {"AWS:SourceArn": DIST_ARN}},
        }
    ]


def test_an_explicit_deny_in_the_role_is_a_verdict_even_with_the_bucket_policy_unread() -> None:
    guard = doc({"Effect": "Deny", "Action": "s3:PutObject", "Resource": OBJECTS})
    ev = evidence(bucket_policy=denied("s3:GetBucketPolicy"), role_policies=role_policies(("guard", guard)))
    found = lambda_role.judge_role_put(ev)
    assert found.status is FAIL and "explicit Deny" in found.title  # a Deny wins whatever the bucket policy says
    fixed = lambda_role.judge_role_put(apply_fix(ev, found.fix))
    assert fixed.status is UNKNOWN and fixed.title.startswith("The console's role lacks s3:GetBucketPolicy")


def test_denied_is_unknown_but_missing_is_a_verdict() -> None:
    """The same absent document means different things: AccessDenied says nothing about the bucket."""
    cases = [
        ("bucket.cors", "bucket_cors", "s3:GetBucketCors", "NoSuchCORSConfiguration", FAIL),
        ("bucket.public_write", "bucket_policy", "s3:GetBucketPolicy", "NoSuchBucketPolicy", PASS),
        ("bucket.cdn_read_grant", "bucket_policy", "s3:GetBucketPolicy", "NoSuchBucketPolicy", FAIL),
        (
            "bucket.public_access_block",
            "public_access_block",
            "s3:GetBucketPublicAccessBlock",
            "NoSuchPublicAccessBlockConfiguration",
            FAIL,
        ),
    ]
    for check_id, field_name, call, code, verdict in cases:
        judge_ = BY_ID[check_id].judge
        on_denied = judge_(evidence(**{field_name: denied(call), "canary": canary(None)}))
        on_missing = judge_(evidence(**{field_name: missing(call, code), "canary": canary(None)}))
        assert (on_denied.status, on_missing.status) == (UNKNOWN, verdict), check_id
        assert on_denied.title.startswith(f"The console's role lacks {call}"), on_denied.title
        policy_doc = next(document for kind, document in fix_parts(on_denied.fix) if kind == "json")
        assert policy_doc["Statement"] == [
            {"Sid": "PipelineConsoleRead", "Effect": "Allow", "Action": call, "Resource": f"arn:aws:s3:::{B}"}
        ]
        assert on_denied.evidence and on_denied.evidence[0].state is ReadState.DENIED


# --- every valid policy shape ----------------------------------------------------------------------------------

ROOT = f"arn:aws:iam::{ACCOUNT}:root"
# (statement(s) or a whole document, public_write, public_read) with BPA off and no live probe
POLICY_SHAPES: list[tuple[str, Any, Status, Status]] = [
    ("Statement as one object", {"Version": "2012-10-17", "Statement": {**SEED_STATEMENT}}, FAIL, FAIL),
    (
        "Action string PutObject",
        {"Effect": "Allow", "Principal": "*", "Action": "s3:PutObject", "Resource": OBJECTS},
        FAIL,
        PASS,
    ),
    (
        "Action list",
        {"Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": [OBJECTS]},
        FAIL,
        FAIL,
    ),
    ("Action s3:*", {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": OBJECTS}, FAIL, FAIL),
    ("Action *", {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}, FAIL, FAIL),
    (
        "Action s3:Put* lowercase",
        {"Effect": "Allow", "Principal": "*", "Action": "S3:put*", "Resource": OBJECTS},
        FAIL,
        PASS,
    ),
    (
        "NotAction not excluding Put",
        {"Effect": "Allow", "Principal": "*", "NotAction": "s3:DeleteObject", "Resource": OBJECTS},
        FAIL,
        FAIL,
    ),
    (
        "NotAction excluding Put",
        {"Effect": "Allow", "Principal": "*", "NotAction": ["s3:PutObject", "s3:DeleteObject"], "Resource": OBJECTS},
        PASS,
        FAIL,
    ),
    (
        "Principal AWS *",
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:PutObject", "Resource": OBJECTS},
        FAIL,
        PASS,
    ),
    (
        "Principal AWS list with *",
        {"Effect": "Allow", "Principal": {"AWS": [ROLE_ARN, "*"]}, "Action": "s3:GetObject", "Resource": OBJECTS},
        PASS,
        FAIL,
    ),
    (
        "Principal one role",
        {
            "Effect": "Allow",
            "Principal": {"AWS": ROLE_ARN},
            "Action": ["s3:PutObject", "s3:GetObject"],
            "Resource": OBJECTS,
        },
        PASS,
        PASS,
    ),
    (
        "Principal account id",
        {"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "s3:*", "Resource": OBJECTS},
        PASS,
        PASS,
    ),
    (
        "Principal Service",
        {
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": OBJECTS,
        },
        PASS,
        PASS,
    ),
    (
        "NotPrincipal (everyone else)",
        {"Effect": "Allow", "NotPrincipal": {"AWS": ROOT}, "Action": "s3:PutObject", "Resource": OBJECTS},
        FAIL,
        PASS,
    ),
    (
        "Deny only",
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": OBJECTS,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        PASS,
        PASS,
    ),
    (
        "Condition SourceIp range restricts",
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": OBJECTS,
            "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
        },
        PASS,
        PASS,
    ),
    (
        "Condition SourceIp 0.0.0.0/0 does not",
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": OBJECTS,
            "Condition": {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}},
        },
        FAIL,
        PASS,
    ),
    (
        "Condition SourceVpce restricts",
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": OBJECTS,
            "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}},
        },
        PASS,
        PASS,
    ),
    (
        "Condition PrincipalOrgID restricts",
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": OBJECTS,
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}},
        },
        PASS,
        PASS,
    ),
    (
        "Condition Referer does not restrict",
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": OBJECTS,
            "Condition": {"StringLike": {"aws:Referer": "https://app.example.com/*"}},
        },
        PASS,
        FAIL,
    ),
    (
        "IfExists condition does not restrict",
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": OBJECTS,
            "Condition": {"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1"}},
        },
        FAIL,
        PASS,
    ),
    (
        "Resource prefix only",
        {"Effect": "Allow", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{B}/public/*"},
        FAIL,
        PASS,
    ),
    (
        "NotResource",
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "NotResource": f"arn:aws:s3:::{B}/private/*"},
        PASS,
        FAIL,
    ),
    (
        "Version 2008",
        {
            "Version": "2008-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject", "Resource": OBJECTS}
            ],
        },
        PASS,
        FAIL,
    ),
]


@pytest.mark.parametrize(("name", "shape", "write", "read"), POLICY_SHAPES, ids=[s[0] for s in POLICY_SHAPES])
def test_policy_shapes(name: str, shape: dict[str, Any], write: Status, read: Status) -> None:
    document = shape if "Statement" in shape else doc(oac_statement(), shape)
    ev = evidence(
        bucket_policy=policy_read(document),
        public_access_block=missing("s3:GetBucketPublicAccessBlock", "NoSuchPublicAccessBlockConfiguration"),
        canary=None,
    )
    found = judge(ev)
    assert (found["bucket.public_write"].status, found["bucket.public_read"].status) == (write, read)
    for check_id in ("bucket.public_write", "bucket.public_read"):
        if found[check_id].status is FAIL:
            fixed = BY_ID[check_id].judge(apply_fix(ev, found[check_id].fix))
            assert fixed.status is PASS, (check_id, found[check_id].fix, fixed.detail)


@pytest.mark.parametrize(
    ("name", "statement", "status"),
    [
        ("ArnLike SourceArn", oac_statement(Condition={"ArnLike": {"AWS:SourceArn": DIST_ARN}}), PASS),
        (
            "SourceArn in a list",
            oac_statement(Condition={"StringEquals": {"aws:sourcearn": [OTHER_ARN, DIST_ARN]}}),
            PASS,
        ),
        (
            "Service as a list, Action list",
            oac_statement(
                Principal={"Service": ["cloudfront.amazonaws.com"]},
                Action=["s3:GetObject", "s3:ListBucket"],
                Resource=[f"arn:aws:s3:::{B}", OBJECTS],
            ),
            PASS,
        ),
        ("only a prefix of keys", oac_statement(Resource=f"arn:aws:s3:::{B}/images/*"), FAIL),
        ("another bucket", oac_statement(Resource="arn:aws:s3:::other-bucket/*"), FAIL),
        ("SourceAccount only", oac_statement(Condition={"StringEquals": {"AWS:SourceAccount": ACCOUNT}}), WARN),
    ],
)
def test_cdn_grant_shapes(name: str, statement: dict[str, Any], status: Status) -> None:
    ev = evidence(bucket_policy=policy_read(doc(statement)))
    found = bucket.judge_cdn_read_grant(ev)
    assert found.status is status, found.detail
    if status is not PASS:
        assert bucket.judge_cdn_read_grant(apply_fix(ev, found.fix)).status is PASS


def test_the_seed_is_keyed_by_cause_codes() -> None:
    """Tests and users match on codes, not phrases (parliament's way): the seed's findings, by code."""
    codes = {check_id: found.codes for check_id, found in judge(SEED).items()}
    assert codes["bucket.public_write"] == ("public_write.public_put",)
    assert codes["bucket.public_read"] == ("public_read.anonymous_get",)
    assert codes["bucket.public_access_block"] == ("bpa.not_configured",)
    assert codes["bucket.cdn_read_grant"] == ("grant.public_read",)
    assert codes["bucket.cors"] == ("cors.rule_expose_etag",)
    assert codes["lambda.role_put"] == ("role.only_public_grant",)
    assert judge(SEED)["bucket.cors"].impact is Impact.HYGIENE  # a single PUT works without reading the ETag


@pytest.mark.parametrize(
    ("statement", "codes"),
    [
        (oac_statement(Condition={"StringEquals": {"AWS:SourceArn": OTHER_ARN}}), ("grant.other_distribution",)),
        (oac_statement(Resource=f"arn:aws:s3:::{B}/images/*"), ("grant.partial_keys",)),
        (oac_statement(Resource="arn:aws:s3:::other-bucket/*"), ("grant.other_bucket",)),
        (oac_statement(Condition={"StringEquals": {"AWS:SourceAccount": ACCOUNT}}), ("grant.no_source_arn",)),
        (oac_statement(), ("grant.ok",)),
    ],
)
def test_cdn_grant_codes(statement: dict[str, Any], codes: tuple[str, ...]) -> None:
    assert judge(evidence(bucket_policy=policy_read(doc(statement))))["bucket.cdn_read_grant"].codes == codes


def test_cors_refusals_are_keyed_by_dimension() -> None:
    rules = [{"AllowedOrigins": ["https://other.example"], "AllowedMethods": ["GET"], "AllowedHeaders": []}]
    found = judge(evidence(bucket_cors=ok("s3:GetBucketCors", rules)))["bucket.cors"]
    assert found.status is FAIL and "cors.origin_missing" in found.codes
    no_cors = judge(evidence(bucket_cors=missing("s3:GetBucketCors", "NoSuchCORSConfiguration")))["bucket.cors"]
    assert no_cors.codes == ("cors.not_configured",)
    refused = judge(evidence(bucket_cors=denied("s3:GetBucketCors")))["bucket.cors"]
    assert (refused.status, refused.codes) == (Status.UNKNOWN, ("read.denied",))


def test_registry_is_the_public_contract() -> None:
    assert [c.id for c in bucket.CHECKS] == [
        "bucket.cors",
        "bucket.cors_preflight",
        "bucket.public_write",
        "bucket.public_read",
        "bucket.public_access_block",
        "bucket.cdn_read_grant",
    ]
    assert [c.id for c in lambda_role.CHECKS] == ["lambda.role_put"]
    for check in ALL_CHECKS:
        assert check.needs and check.needs <= GATHERERS, check.id
    assert "bucket_config" in BY_ID["bucket.public_read"].needs and "canary" in BY_ID["bucket.public_read"].needs


def test_findings_carry_the_evidence_judged() -> None:
    found = judge(SEED)
    assert SEED.bucket_policy in found["bucket.public_write"].evidence
    assert SEED.canary is not None and SEED.canary.direct_s3 in found["bucket.public_read"].evidence
    assert list(found["bucket.cors_preflight"].evidence) == list(SEED.bucket_preflights.values())
    assert SEED.lambda_config in found["lambda.role_put"].evidence


# --- totality: any evidence yields a Finding -------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
fragments = st.sampled_from(
    ["*", "s3:PutObject", "s3:GetObject", "s3:*", OBJECTS, f"arn:aws:s3:::{B}", ROLE_ARN, OAI, DIST_ARN, "", "x"]
)
principals = st.one_of(
    st.sampled_from(
        ["*", {"AWS": "*"}, {"AWS": ROLE_ARN}, {"AWS": OAI}, {"Service": "cloudfront.amazonaws.com"}, {"AWS": ACCOUNT}]
    ),
    json_values,
)
conditions = st.one_of(
    st.sampled_from(
        [
            {"StringEquals": {"AWS:SourceArn": DIST_ARN}},
            {"StringEquals": {"AWS:SourceArn": OTHER_ARN}},
            {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
            {"Bool": {"aws:SecureTransport": "false"}},
            {"ForAnyValue:StringLike": {"aws:TagKeys": ["a*"]}},
            {"NumericLessThan": {"s3:max-keys": "10"}},
        ]
    ),
    json_values,
)
statements = st.dictionaries(
    st.sampled_from(
        [
            "Sid",
            "Effect",
            "Principal",
            "NotPrincipal",
            "Action",
            "NotAction",
            "Resource",
            "NotResource",
            "Condition",
            "Odd",
        ]
    ),
    st.one_of(st.sampled_from(["Allow", "Deny"]), fragments, st.lists(fragments, max_size=3), principals, conditions),
    max_size=7,
) | st.fixed_dictionaries(
    {
        "Effect": st.sampled_from(["Allow", "Deny"]),
        "Action": fragments | st.lists(fragments, min_size=1, max_size=3),
        "Resource": fragments,
    },
    optional={"Principal": principals, "NotPrincipal": principals, "Condition": conditions, "Sid": st.text(max_size=6)},
)
policies = st.fixed_dictionaries(
    {"Statement": st.one_of(statements, st.lists(statements, max_size=3), json_values)},
    optional={"Version": st.sampled_from(["2012-10-17", "2008-10-17", "1"]), "Id": json_values},
)
policy_values = st.one_of(policies, policies.map(json.dumps), json_values, st.text(max_size=30), st.binary(max_size=8))
cors_rules = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "AllowedOrigins": st.lists(
                st.sampled_from([*ORIGINS, "*", "http://*.example.com", "", "https://x/"]) | st.text(max_size=8),
                max_size=3,
            )
            | json_values,
            "AllowedMethods": st.lists(st.sampled_from(["PUT", "GET", "put", "PATCH"]), max_size=3) | json_values,
            "AllowedHeaders": st.lists(st.sampled_from(["*", "content-type", "x-amz-*", "**"]), max_size=2)
            | json_values,
            "ExposeHeaders": st.lists(st.sampled_from(["ETag", "*", "x-amz-request-id"]), max_size=2) | json_values,
            "MaxAgeSeconds": st.integers() | json_values,
            "ID": st.text(max_size=5) | json_values,
        },
    )
    | json_values,
    max_size=3,
)
states = st.sampled_from(list(ReadState))


def reads(values: st.SearchStrategy[Any]) -> st.SearchStrategy[ConfigRead | None]:
    codes = st.sampled_from([None, "AccessDenied", "NoSuchBucket", "NoSuchBucketPolicy", "Throttling", ""])
    read = st.builds(
        ConfigRead, st.text(max_size=20), states, values | json_values, codes, st.none() | st.text(max_size=40)
    )
    return st.none() | read


headers = st.dictionaries(
    st.sampled_from(
        [
            "Access-Control-Allow-Origin",
            "access-control-allow-methods",
            "Access-Control-Allow-Headers",
            "Content-Type",
            "Access-Control-Request-Headers",
        ]
    ),
    st.sampled_from([*ORIGINS, "*", "PUT", "GET, PUT", "content-type", ""]) | st.text(max_size=10),
    max_size=4,
)
exchanges = st.builds(
    Exchange,
    st.sampled_from(["OPTIONS", "GET"]),
    st.text(max_size=20),
    headers,
    st.none() | st.sampled_from([200, 301, 403, 404, 500]) | st.integers(0, 999),
    headers,
    st.text(max_size=30)
    | st.sampled_from(["<Error><Code>AccessForbidden</Code><Message>CORSResponse</Message></Error>"]),
    st.none() | st.text(max_size=10),
)
role_entries = (
    st.lists(
        st.fixed_dictionaries(
            {"name": st.sampled_from(["presign-put", "guard", ""]) | st.text(max_size=6), "document": policy_values}
        )
        | json_values,
        max_size=3,
    )
    | json_values
)
distributions = (
    st.fixed_dictionaries(
        {},
        optional={
            "ARN": st.sampled_from([DIST_ARN, OTHER_ARN, "arn:aws:cloudfront::1:distribution/"]) | json_values,
            "DistributionConfig": json_values,
        },
    )
    | json_values
)
targets = st.builds(
    CheckTarget,
    st.just("https://api.example.com/presign"),
    st.sampled_from([B, "", "a b'c"]) | st.text(max_size=10),
    st.just("https://cdn.example.com"),
    st.none() | st.just("us-east-1"),
    st.tuples(*[st.sampled_from([*ORIGINS, "", " ", "null"]) | st.text(max_size=8)] * 2) | st.just(()),
    st.none() | st.sampled_from([DIST_ID, "EOTHERDIST9", ""]) | st.text(max_size=8),
    st.none() | st.sampled_from(["image-presign", "arn:aws:lambda:us-east-1:1:function:f"]) | st.text(max_size=8),
)
evidences = st.builds(
    Evidence,
    target=targets,
    gathered_at=st.just(datetime(2025, 1, 1, tzinfo=UTC)),
    bucket_cors=reads(cors_rules),
    bucket_policy=reads(policy_values),
    public_access_block=reads(
        st.fixed_dictionaries({}, optional=dict.fromkeys(bucket.BPA_SETTINGS, st.booleans() | json_values))
    ),
    bucket_preflights=st.dictionaries(st.sampled_from(ORIGINS) | st.text(max_size=6), exchanges, max_size=3),
    canary=st.none() | st.builds(Canary, exchanges, direct_s3=st.none() | exchanges),
    lambda_config=reads(
        st.fixed_dictionaries(
            {},
            optional={
                "Role": st.sampled_from([ROLE_ARN, "arn:aws:iam::1:role/x", ""]) | json_values,
                "FunctionName": json_values,
            },
        )
    ),
    role_policies=reads(role_entries),
    distribution=reads(distributions),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(ev=evidences)
def test_every_judge_is_total(ev: Evidence) -> None:
    for check in ALL_CHECKS:
        found = runner.judge(check, ev)
        assert isinstance(found, Finding) and found.id == check.id
        assert found.status in set(Status)
        assert_codes(found)
        assert found.title and "\n" not in found.title
        assert all(isinstance(item, Exchange | ConfigRead) for item in found.evidence)
        if found.status in (PASS, SKIP):
            assert found.fix == ""
        elif "\n" not in ev.target.bucket:  # S3 names never hold one; the line-based reader here cannot either
            fix_parts(found.fix)  # any JSON in a fix parses, every command splits
        json.dumps(found.to_json(), default=str)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=policies, bpa=st.booleans())
def test_public_write_agrees_with_s3_for_anonymous_puts(document: dict[str, Any], bpa: bool) -> None:
    """Whenever the policy lets an anonymous caller PUT the canary key (as S3 decides), public_write does not pass."""
    try:
        parsed = iam.parse_policy(document)
    except iam.PolicyError:
        return
    if parsed.is_identity_policy:
        return
    request = iam.Request(iam.ANONYMOUS, "s3:PutObject", f"arn:aws:s3:::{B}/{CANARY_KEY}")
    settings_ = dict.fromkeys(bucket.BPA_SETTINGS, bpa)
    ev = evidence(
        bucket_policy=policy_read(document), public_access_block=ok("s3:GetBucketPublicAccessBlock", settings_)
    )
    found = bucket.judge_public_write(ev)
    if iam.evaluate([parsed], request).allowed:
        assert found.status is (WARN if bpa else FAIL), found.detail
