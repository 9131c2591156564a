"""The repair against the real sandbox: plan, apply, CDN, resume, a concurrent overwrite, SlowDown; and its CLI."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shlex
import threading
from typing import Any

import pytest
from botocore.exceptions import ClientError

from services.aws_model import s3acl
from services.core.clients import make_client
from services.core.settings import Settings
from services.core.transport import Backoff, new_session
from services.pipeline import browse
from services.pipeline.repair import run as repair_run
from services.pipeline.repair.decide import CHANGED, FIX, NOT_IMAGE, OK, ObjectState, decide
from services.pipeline.repair.run import ConfirmationMismatch, RepairOptions, run_repair
from services.pipeline.repair.scan import Pacer
from services.pipeline.upload import cdn_object_url
from services.sandbox import Sandbox
from tests.repair_data import LONG_CACHE, RepairFixture, put_seed_prefix
from tests.support import cli, image_bytes


@pytest.fixture
def stored(admin_s3: Any, sandbox: Sandbox) -> RepairFixture:
    kms = make_client("kms", sandbox.aws_target())
    return put_seed_prefix(admin_s3, sandbox.endpoints.bucket, kms=kms)


@pytest.fixture
def writable(sandbox_settings: Settings) -> Settings:
    return dataclasses.replace(sandbox_settings, allow_writes=True)


def _heads(s3: Any, bucket: str, keys: list[str]) -> dict[str, dict[str, Any]]:
    return {key: s3.head_object(Bucket=bucket, Key=key) for key in keys}


def _apply(s3: Any, settings: Settings, options: RepairOptions, tmp_path: Any, **kwargs: Any) -> Any:
    return run_repair(
        s3,
        settings,
        dataclasses.replace(options, apply=True),
        cloudfront=make_client("cloudfront", settings.aws),
        confirm=settings.bucket,
        state_dir=tmp_path,
        **kwargs,
    )


# --- pure decisions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "first", "stored", "cache", "asked", "action", "new_type", "mismatch"),
    [
        ("a.png", image_bytes("PNG"), "application/png", None, None, FIX, "image/png", False),
        ("a.png", image_bytes("PNG"), "image/png", None, None, OK, "image/png", False),
        ("a.png", image_bytes("PNG"), "IMAGE/PNG; x=1", LONG_CACHE, LONG_CACHE, OK, "image/png", False),
        ("a.png", image_bytes("PNG"), "image/png", None, LONG_CACHE, FIX, "image/png", False),
        ("a.png", image_bytes("JPEG"), "application/png", None, None, FIX, "image/jpeg", True),
        ("a.jpeg", image_bytes("JPEG"), "application/jpeg", None, None, FIX, "image/jpeg", False),
        ("a.gif", image_bytes("GIF"), None, None, None, FIX, "image/gif", False),
        ("a.webp", image_bytes("WEBP"), "application/webp", None, None, FIX, "image/webp", False),
        ("a.png", b"<html>hi</html>", "application/png", None, LONG_CACHE, NOT_IMAGE, None, False),
        ("a.png", image_bytes("BMP"), "application/png", None, None, NOT_IMAGE, None, False),
    ],
)
def test_decide_labels_by_the_bytes_never_the_extension(key, first, stored, cache, asked, action, new_type, mismatch):
    planned = decide(ObjectState(key, "e", 100, stored, cache, first[:64]), asked)
    assert (planned.action, planned.new_type, planned.extension_mismatch) == (action, new_type, mismatch)
    if action == NOT_IMAGE:
        assert "not a PNG, JPEG, GIF or WebP" in (planned.note or "")


def test_pacer_waits_for_every_worker_while_s3_says_slowdown():
    waits: list[float] = []
    backoff = Backoff(attempts=4, base=1.0, cap=8.0, sleep=waits.append, jitter=lambda upper: upper)
    pacer = Pacer(backoff)
    answers = iter([_slowdown(), _slowdown(), "ok"])

    def request() -> str:
        answer = next(answers)
        if isinstance(answer, ClientError):
            raise answer
        return answer

    assert pacer.call(request) == "ok"
    assert pacer.throttled == 2
    assert len(waits) == 2 and waits[1] > waits[0] > 0  # growing waits, shared through the pacer's clock


def _slowdown() -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."},
            "ResponseMetadata": {"HTTPStatusCode": 503},
        },
        "GetObject",
    )


# --- the sandbox -----------------------------------------------------------------------------------


def test_the_sandbox_refuses_a_copy_whose_source_etag_changed(admin_s3: Any, sandbox: Sandbox):
    bucket = sandbox.endpoints.bucket
    admin_s3.put_object(Bucket=bucket, Key="repair-precondition.png", Body=b"one")
    with pytest.raises(ClientError) as refused:
        admin_s3.copy_object(
            Bucket=bucket,
            Key="repair-precondition.png",
            CopySource={"Bucket": bucket, "Key": "repair-precondition.png"},
            CopySourceIfMatch='"0123456789abcdef0123456789abcdef"',
            MetadataDirective="REPLACE",
            ContentType="image/png",
        )
    assert refused.value.response["Error"]["Code"] == "PreconditionFailed"
    assert admin_s3.head_object(Bucket=bucket, Key="repair-precondition.png")["ContentType"] != "image/png"


def test_the_plan_counts_exactly_the_seed_objects_and_writes_nothing(
    stored: RepairFixture, admin_s3: Any, sandbox_settings: Settings
):
    before = _heads(admin_s3, stored.bucket, list(stored.seed)[:3])
    report = run_repair(admin_s3, sandbox_settings, RepairOptions(prefix=stored.prefix, cache_control=LONG_CACHE))
    body = report.to_json()
    assert (body["scanned"], body["to_fix"], body["not_images"]) == (230, 200, 10)
    assert body["by_stored_type"] == {"application/png": 210, "image/png": 20}
    assert body["applied"] == 0 and body["invalidation"] is None and report.exit_code == 1
    fixes = {o["key"]: o for o in body["objects"] if o["action"] == FIX}
    assert set(fixes) == set(stored.seed)
    assert {k: o["new_type"] for k, o in fixes.items()} == stored.seed_types
    assert all(o["new_cache_control"] == LONG_CACHE and o["cache_control"] is None for o in fixes.values())
    mismatched = {k for k, o in fixes.items() if o["note"] and "bytes are JPEG" in o["note"]}
    assert (
        mismatched == {k for k, t in stored.seed_types.items() if t == "image/jpeg"}
        and body["extension_mismatches"] == 2
    )
    assert {o["key"] for o in body["objects"] if o["action"] == NOT_IMAGE} == set(stored.not_images)
    for key, head in _heads(admin_s3, stored.bucket, list(before)).items():  # nothing written
        assert (head["ContentType"], head["LastModified"]) == ("application/png", before[key]["LastModified"])


def test_apply_fixes_the_seed_objects_keeps_everything_else_and_the_cdn_serves_images(
    stored: RepairFixture, admin_s3: Any, writable: Settings, tmp_path: Any
):
    bucket = stored.bucket
    seed_keys = list(stored.seed)
    with new_session() as session:
        cached = session.get(cdn_object_url(writable.cdn_base(), seed_keys[0]), timeout=10)
        assert cached.headers["Content-Type"] == "application/png"  # now in the CDN's cache
    others = list(stored.right) + list(stored.not_images)
    untouched_before = _heads(admin_s3, bucket, others)
    special_before = {role: admin_s3.head_object(Bucket=bucket, Key=key) for role, key in stored.special.items()}

    report = _apply(admin_s3, writable, RepairOptions(prefix=stored.prefix, cache_control=LONG_CACHE), tmp_path)

    assert (report.tally.to_fix, report.tally.applied, report.tally.failed) == (200, 200, [])
    assert report.exit_code == 0
    for key, head in _heads(admin_s3, bucket, seed_keys).items():
        assert (head["ContentType"], head.get("CacheControl")) == (stored.seed_types[key], LONG_CACHE), key
        assert head["ETag"].strip('"') == hashlib.md5(stored.seed[key]).hexdigest() or key == stored.special["kms"]
    for key, head in _heads(admin_s3, bucket, others).items():  # images stored right and non-images: not copied
        assert head["LastModified"] == untouched_before[key]["LastModified"], key
        assert head["ContentType"] == untouched_before[key]["ContentType"]
    after = {role: admin_s3.head_object(Bucket=bucket, Key=key) for role, key in stored.special.items()}
    assert after["metadata"]["Metadata"] == {"uploaded-by": "seed", "team": "web"}
    assert after["metadata"]["ContentDisposition"] == special_before["metadata"]["ContentDisposition"]
    assert after["tagged"]["ContentLanguage"] == "en"
    tags = admin_s3.get_object_tagging(Bucket=bucket, Key=stored.special["tagged"])["TagSet"]
    assert {t["Key"]: t["Value"] for t in tags} == {"team": "web", "kept": "yes"}
    assert after["infrequent"]["StorageClass"] == "STANDARD_IA"
    assert (after["kms"]["ServerSideEncryption"], after["kms"]["SSEKMSKeyId"]) == ("aws:kms", stored.kms_key)
    kms_body = admin_s3.get_object(Bucket=bucket, Key=stored.special["kms"])["Body"].read()
    assert kms_body == stored.seed[stored.special["kms"]]

    assert report.invalidation is not None and report.invalidation["paths"] == 200
    assert report.invalidation["errors"] == [] and "1,000" in report.invalidation["note"]
    with new_session() as session:
        served = session.get(cdn_object_url(writable.cdn_base(), seed_keys[0]), timeout=10)
        assert served.headers["Content-Type"] == "image/png" and served.content == stored.seed[seed_keys[0]]

    again = _apply(admin_s3, writable, RepairOptions(prefix=stored.prefix, cache_control=LONG_CACHE), tmp_path)
    assert (again.tally.scanned, again.tally.to_fix, again.tally.applied) == (230, 0, 0)
    assert again.exit_code == 0 and again.invalidation["paths"] == 0
    assert list(tmp_path.iterdir()) == []  # a complete run leaves no checkpoint


@pytest.mark.parametrize("how", ["stop button", "ctrl-c"])
def test_a_run_stopped_halfway_continues_where_it_stopped(
    how: str, stored: RepairFixture, admin_s3: Any, writable: Settings, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(repair_run, "PROGRESS_SECONDS", 0.0)
    monkeypatch.setattr(repair_run, "CHECKPOINT_SECONDS", 0.0)
    stop = threading.Event()
    options = RepairOptions(prefix=stored.prefix, cache_control=LONG_CACHE, workers=4)

    def halfway(progress: repair_run.Progress) -> None:
        if progress.applied >= 80:
            if how == "ctrl-c":
                raise KeyboardInterrupt
            stop.set()

    if how == "ctrl-c":
        with pytest.raises(KeyboardInterrupt):
            _apply(admin_s3, writable, options, tmp_path, on_progress=halfway)
    else:
        first = _apply(admin_s3, writable, options, tmp_path, on_progress=halfway, stop=stop)
        assert first.stopped and first.exit_code == 1
    fixed = [
        k
        for k, h in _heads(admin_s3, stored.bucket, list(stored.seed)).items()
        if h["ContentType"] != "application/png"
    ]
    assert 80 <= len(fixed) < 200
    assert any(path.suffix == ".json" for path in tmp_path.iterdir())

    second = _apply(admin_s3, writable, options, tmp_path)
    assert second.resumed_after is not None and second.resumed_after.startswith(stored.prefix)
    assert second.tally.scanned == 230 and second.tally.to_fix == 200  # the counts cover the whole pass
    assert second.tally.applied == 200 and second.tally.failed == [] and second.exit_code == 0
    assert second.invalidation["paths"] >= 200 - len(fixed)
    heads = _heads(admin_s3, stored.bucket, list(stored.seed))
    assert all(h["ContentType"] == stored.seed_types[k] for k, h in heads.items())
    third = run_repair(admin_s3, writable, options)
    assert third.tally.to_fix == 0 and third.exit_code == 0


class _OverwritesBeforeCopy:
    """Error injection: someone uploads a new version of one key between the scan and its copy."""

    def __init__(self, s3: Any, key: str, body: bytes) -> None:
        self._s3, self._key, self._body = s3, key, body

    def __getattr__(self, name: str) -> Any:
        return getattr(self._s3, name)

    def copy_object(self, **kwargs: Any) -> Any:
        if kwargs["Key"] == self._key:
            self._s3.put_object(Bucket=kwargs["Bucket"], Key=self._key, Body=self._body, ContentType="image/webp")
        return self._s3.copy_object(**kwargs)


def test_an_object_overwritten_between_scan_and_copy_is_not_touched_and_is_reported(
    stored: RepairFixture, admin_s3: Any, writable: Settings, tmp_path: Any
):
    key = list(stored.seed)[10]
    newer = image_bytes("WEBP", (5, 5), "green")
    report = _apply(
        _OverwritesBeforeCopy(admin_s3, key, newer), writable, RepairOptions(prefix=stored.prefix), tmp_path
    )
    assert report.tally.applied == 199 and report.exit_code == 1
    assert [(f["key"], f["result"]) for f in report.tally.failed] == [(key, CHANGED)]
    head = admin_s3.head_object(Bucket=stored.bucket, Key=key)
    assert (head["ContentType"], head["ETag"].strip('"')) == ("image/webp", hashlib.md5(newer).hexdigest())


class _SlowsDown:
    """Error injection: S3 answers SlowDown (503) to the first ``count`` GETs (after botocore's own retries)."""

    def __init__(self, s3: Any, count: int) -> None:
        self._s3, self._left, self._lock = s3, count, threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._s3, name)

    def get_object(self, **kwargs: Any) -> Any:
        with self._lock:
            self._left -= 1
            throttle = self._left >= 0
        if throttle:
            raise _slowdown()
        return self._s3.get_object(**kwargs)


def test_slowdown_is_honoured_and_every_object_is_still_scanned(
    stored: RepairFixture, admin_s3: Any, sandbox_settings: Settings
):
    waits: list[float] = []
    pacer = Pacer(Backoff(attempts=6, base=0.01, cap=0.05, sleep=waits.append))
    report = run_repair(_SlowsDown(admin_s3, 5), sandbox_settings, RepairOptions(prefix=stored.prefix), pacer=pacer)
    assert report.throttled == 5 and len(waits) >= 1
    assert (report.tally.scanned, report.tally.to_fix, report.tally.unreadable) == (230, 200, 0)


def test_applying_needs_writes_on_and_the_bucket_typed(admin_s3: Any, sandbox_settings: Settings, writable: Settings):
    options = RepairOptions(prefix="repair-nothing/", apply=True)
    with pytest.raises(browse.WritesDisabled):
        run_repair(admin_s3, sandbox_settings, options, confirm=sandbox_settings.bucket)
    with pytest.raises(ConfirmationMismatch):
        run_repair(admin_s3, writable, options, confirm="another-bucket")
    production = dataclasses.replace(writable, production=True, profile="live")
    with pytest.raises(ConfirmationMismatch, match="production"):
        run_repair(admin_s3, production, options, confirm=writable.bucket)
    assert run_repair(admin_s3, production, options, confirm=writable.bucket, confirm_profile="live").exit_code == 0


# --- the command line ------------------------------------------------------------------------------


def test_cli_plans_applies_and_then_finds_nothing(stored: RepairFixture, sandbox_env: dict[str, str], tmp_path: Any):
    env = dict(sandbox_env, XDG_DATA_HOME=str(tmp_path))
    plan = cli("repair", "--prefix", stored.prefix, "--json", "--limit", "5", env=env)
    assert plan.returncode == 1, plan.stderr
    body = json.loads(plan.stdout)
    assert set(body) >= {
        "scanned",
        "to_fix",
        "not_images",
        "by_stored_type",
        "objects",
        "applied",
        "failed",
        "invalidation",
    }
    assert (body["scanned"], body["to_fix"], body["not_images"], len(body["objects"])) == (230, 200, 10, 5)
    assert set(body["objects"][0]) >= {"key", "stored_type", "new_type", "cache_control", "new_cache_control", "action"}

    refused = cli("repair", "--prefix", stored.prefix, "--apply", "--confirm", stored.bucket, env=env)
    assert refused.returncode == 2 and "writes are off" in refused.stderr
    usage = cli("repair", "--apply", env=env)
    assert usage.returncode == 2 and "--confirm" in usage.stderr

    env["PIPELINE_ALLOW_WRITES"] = "true"
    applied = cli("repair", "--prefix", stored.prefix, "--apply", "--confirm", stored.bucket, "--json", env=env)
    assert applied.returncode == 0, applied.stderr
    assert json.loads(applied.stdout)["applied"] == 200
    again = cli("repair", "--prefix", stored.prefix, env=env)
    assert again.returncode == 0 and "0 to fix" in again.stdout


def test_the_plans_apply_line_is_the_command_that_applies_that_plan(
    stored: RepairFixture, sandbox_env: dict[str, str], tmp_path: Any, admin_s3: Any
):
    """The plan ends with the command that applies it: the same prefix and Cache-Control (an apply that dropped
    them would do other than the plan said), confirmed as the profile asks. Run as printed, it fixes the plan."""
    env = dict(sandbox_env, XDG_DATA_HOME=str(tmp_path), PIPELINE_ALLOW_WRITES="true")
    plan = cli("repair", "--prefix", stored.prefix, "--cache-control", LONG_CACHE, env=env)
    assert plan.returncode == 1, plan.stderr
    (line,) = [line for line in plan.stdout.splitlines() if line.startswith("nothing was written; to apply: ")]
    command = shlex.split(line.removeprefix("nothing was written; to apply: "))
    assert command[:3] == ["python", "-m", "services"]
    assert command[3:] == [
        "repair", "--prefix", stored.prefix, "--cache-control", LONG_CACHE, "--apply", "--confirm", stored.bucket
    ]  # fmt: skip
    applied = cli(*command[3:], "--json", env=env)
    assert applied.returncode == 0, applied.stderr
    to_fix = next(line for line in plan.stdout.splitlines() if line.startswith("scanned "))
    assert f"{json.loads(applied.stdout)['applied']} to fix" in to_fix  # what the plan said, no more, no less
    key = next(o["Key"] for o in admin_s3.list_objects_v2(Bucket=stored.bucket, Prefix=stored.prefix)["Contents"])
    assert admin_s3.head_object(Bucket=stored.bucket, Key=key)["CacheControl"] == LONG_CACHE


# --- object ACLs --------------------------------------------------------------------------------------


def test_grant_params_express_each_grant_as_copy_object_takes_it():
    owner = {"Type": "CanonicalUser", "ID": "abc123"}
    acl = {
        "Owner": {"ID": "abc123"},
        "Grants": [
            {"Grantee": owner, "Permission": "FULL_CONTROL"},
            {
                "Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
                "Permission": "READ",
            },
            {"Grantee": {"Type": "CanonicalUser", "ID": "def456"}, "Permission": "READ"},
            {"Grantee": {"Type": "AmazonCustomerByEmail", "EmailAddress": "a@example.com"}, "Permission": "READ_ACP"},
        ],
    }
    assert s3acl.grant_params(acl) == {
        "GrantFullControl": 'id="abc123"',
        "GrantRead": 'uri="http://acs.amazonaws.com/groups/global/AllUsers", id="def456"',
        "GrantReadACP": 'emailAddress="a@example.com"',
    }
    with pytest.raises(s3acl.UncopyableGrant, match="WRITE grant"):
        s3acl.grant_params({"Grants": [{"Grantee": owner, "Permission": "WRITE"}]})
    assert s3acl.acls_apply("ObjectWriter") and s3acl.acls_apply(None)
    assert not s3acl.acls_apply("BucketOwnerEnforced")


@pytest.fixture
def object_writer(admin_s3: Any, sandbox: Sandbox) -> Any:
    """The sandbox's bucket with ACLs enabled (Object Ownership ObjectWriter) for one test."""
    bucket = sandbox.endpoints.bucket
    before = admin_s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]
    admin_s3.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    )
    yield bucket
    admin_s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=before)


def test_with_acls_enabled_a_fixed_object_keeps_its_grants(
    stored: RepairFixture, admin_s3: Any, writable: Settings, tmp_path: Any, object_writer: str
):
    key = next(iter(stored.seed))
    reader = 'id="0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"'
    owner = admin_s3.get_object_acl(Bucket=object_writer, Key=key)["Owner"]["ID"]
    admin_s3.put_object_acl(Bucket=object_writer, Key=key, GrantRead=reader, GrantFullControl=f'id="{owner}"')
    granted = admin_s3.get_object_acl(Bucket=object_writer, Key=key)["Grants"]
    assert len(granted) == 2  # the sandbox keeps the grants (else this test could not fail)
    s3 = make_client("s3", writable.aws)
    report = _apply(s3, writable, RepairOptions(prefix=stored.prefix), tmp_path)
    assert report.tally.applied == len(stored.seed) and not report.tally.failed, report.tally.failed
    assert any("ObjectWriter" in note and "GetObjectAcl" in note for note in report.notes)
    assert admin_s3.head_object(Bucket=object_writer, Key=key)["ContentType"].startswith("image/")

    def grants(acl: dict[str, Any]) -> set[tuple[str, str]]:
        return {(g["Permission"], g["Grantee"].get("ID") or g["Grantee"].get("URI")) for g in acl["Grants"]}

    assert grants(admin_s3.get_object_acl(Bucket=object_writer, Key=key)) == grants({"Grants": granted})
