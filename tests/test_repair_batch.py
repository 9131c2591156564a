"""The repair past one machine: S3 Batch Operations job requests from a real scan of the sandbox, checked against
botocore's s3control service model (a Stubber on a client with the real model: moto does not run Batch Operations)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from botocore.exceptions import ParamValidationError
from botocore.stub import Stubber

from services.core.clients import make_client
from services.core.settings import Settings
from services.pipeline.repair import batch
from services.pipeline.repair.run import RepairOptions
from services.sandbox import Sandbox
from tests.repair_data import LONG_CACHE, RepairFixture, put_seed_prefix
from tests.support import cli, image_bytes

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/batch-operations-repair"


@pytest.fixture(scope="module")
def stored(sandbox: Sandbox) -> RepairFixture:
    s3 = make_client("s3", sandbox.aws_target())
    return put_seed_prefix(
        s3, sandbox.endpoints.bucket, seed=120, right=10, not_images=5, kms=make_client("kms", sandbox.aws_target())
    )


def _manifest_keys(path: Path, bucket: str) -> list[str]:
    rows = [line.split(",") for line in path.read_text(encoding="utf-8").splitlines()]
    assert all(row[0] == bucket and len(row) == 2 for row in rows)
    return [unquote(row[1]) for row in rows]


def _plan(admin_s3: Any, settings: Settings, stored: RepairFixture, tmp_path: Path, **kwargs: Any) -> batch.BatchPlan:
    return batch.batch_repair(
        admin_s3,
        settings,
        RepairOptions(prefix=stored.prefix, cache_control=LONG_CACHE),
        directory=tmp_path / "jobs",
        account_id=ACCOUNT,
        role_arn=ROLE,
        **kwargs,
    )


def test_the_jobs_validate_against_the_service_model_and_their_manifests_list_exactly_the_objects_to_fix(
    stored: RepairFixture, admin_s3: Any, sandbox_settings: Settings, tmp_path: Path
):
    plan = _plan(admin_s3, sandbox_settings, stored, tmp_path)
    listed = [key for job in plan.jobs for key in _manifest_keys(job.manifest.path, stored.bucket)]
    assert sorted(listed) == sorted(stored.seed) and len(listed) == len(set(listed)) == 120
    by_type = {}
    for job in plan.jobs:
        copy = job.request["Operation"]["S3PutObjectCopy"]
        assert copy["MetadataDirective"] == "REPLACE" and copy["TargetResource"] == f"arn:aws:s3:::{stored.bucket}"
        assert copy["NewObjectMetadata"]["CacheControl"] == LONG_CACHE and "NewObjectTagging" not in copy  # tags kept
        assert job.request["Report"]["Enabled"] and job.request["ConfirmationRequired"] is True
        assert job.request["Manifest"]["Location"]["ETag"] == job.manifest.etag
        for key in _manifest_keys(job.manifest.path, stored.bucket):
            by_type[key] = copy["NewObjectMetadata"]["ContentType"]
    assert by_type == stored.seed_types
    metadata_job = next(
        j for j in plan.jobs if stored.special["metadata"] in _manifest_keys(j.manifest.path, stored.bucket)
    )
    assert metadata_job.manifest.objects == 1
    assert metadata_job.request["Operation"]["S3PutObjectCopy"]["NewObjectMetadata"]["UserMetadata"] == {
        "uploaded-by": "seed",
        "team": "web",
    }
    kms_job = next(j for j in plan.jobs if stored.special["kms"] in _manifest_keys(j.manifest.path, stored.bucket))
    assert kms_job.request["Operation"]["S3PutObjectCopy"]["SSEAwsKmsKeyId"] == stored.kms_key

    s3control = make_client("s3control", sandbox_settings.aws)
    with Stubber(s3control) as stub:  # the Stubber validates each request against the real model
        for job in plan.jobs:
            stub.add_response("create_job", {"JobId": "job-" + job.manifest.path.stem}, expected_params=job.request)
        for job in plan.jobs:
            assert s3control.create_job(**job.request)["JobId"].startswith("job-")
        stub.assert_no_pending_responses()
    assert plan.exit_code == 1  # printed, not created: the objects are still to fix
    json.dumps(plan.to_json())


def test_created_jobs_upload_their_manifests_and_wait_for_confirmation(
    stored: RepairFixture, admin_s3: Any, sandbox_settings: Settings, tmp_path: Path
):
    writable = dataclasses.replace(sandbox_settings, allow_writes=True)
    s3control = make_client("s3control", writable.aws)
    with Stubber(s3control) as stub:
        for _ in range(10):
            stub.add_response("create_job", {"JobId": "created"})
        plan = _plan(admin_s3, writable, stored, tmp_path, create=True, s3control=s3control, confirm=writable.bucket)
    assert plan.jobs and all(job.job_id == "created" and job.error is None for job in plan.jobs)
    for job in plan.jobs:
        arn = job.request["Manifest"]["Location"]["ObjectArn"]
        key = arn.split(":::", 1)[1].split("/", 1)[1]
        head = admin_s3.head_object(Bucket=stored.bucket, Key=key)
        assert head["ETag"].strip('"') == job.request["Manifest"]["Location"]["ETag"] == job.manifest.etag
    assert admin_s3.head_object(Bucket=stored.bucket, Key=next(iter(stored.seed)))["ContentType"] == "application/png"
    assert plan.exit_code == 0


def test_a_request_the_model_refuses_is_never_sent(tmp_path: Path):
    path = tmp_path / "m.csv"
    path.write_text("b,k\n", encoding="utf-8")
    manifest = batch.Manifest(batch.JobTarget("image/png"), path, objects=1)
    place = batch.JobPlace(ACCOUNT, ROLE, "b", "repair-jobs/x/")
    good = batch.job_request("b", manifest, place, not_modified_since=datetime.now(UTC))
    batch.validate_request(good)
    with pytest.raises(batch.InvalidJobRequest, match="RoleArn"):
        batch.validate_request(good | {"RoleArn": "batch-role"})
    with pytest.raises(ParamValidationError):
        batch.validate_request(good | {"Priority": "high"})
    assert batch.manifest_line("b", "a,b\nc d+e.png") == "b,a%2Cb%0Ac%20d%2Be.png\n"


def test_cli_batch_job_prints_the_requests_and_apply_refuses_past_the_threshold(
    stored: RepairFixture, sandbox_env: dict[str, str], tmp_path: Path
):
    env = dict(sandbox_env, XDG_DATA_HOME=str(tmp_path), PIPELINE_ALLOW_WRITES="true")
    printed = cli("repair", "--prefix", stored.prefix, "--batch-job", "--json", env=env)
    assert printed.returncode == 1, printed.stderr
    body = json.loads(printed.stdout)
    assert body["to_fix"] == 120 and body["batch"]["objects"] == 120 and body["batch"]["left_out"] == 0
    refused = cli(
        "repair", "--prefix", stored.prefix, "--apply", "--confirm", stored.bucket, "--batch-threshold", "50", env=env
    )
    assert refused.returncode == 2 and "--batch-job" in refused.stderr


# --- an S3 Inventory report as the manifest -------------------------------------------------------------


def _inventory(admin_s3: Any, bucket: str, config_id: str, scope: str, enabled: bool = True) -> list[str]:
    """An inventory of ``scope`` delivered twice into the bucket's ``inventory/`` (moto stores the configuration;
    the deliveries are put the way S3 lays them out). Returns the manifest.json keys, oldest first. (Disabled
    afterwards rather than deleted: moto takes DeleteBucketInventoryConfiguration for DeleteBucket.)"""
    admin_s3.put_bucket_inventory_configuration(
        Bucket=bucket,
        Id=config_id,
        InventoryConfiguration={
            "Id": config_id,
            "IsEnabled": enabled,
            "Destination": {
                "S3BucketDestination": {"Bucket": f"arn:aws:s3:::{bucket}", "Format": "CSV", "Prefix": "inventory"}
            },
            "Filter": {"Prefix": scope},
            "IncludedObjectVersions": "Current",
            "Schedule": {"Frequency": "Daily"},
        },
    )
    keys = []
    for delivered in ("2026-11-30T00-00Z", "2026-12-01T00-00Z"):
        key = f"inventory/{bucket}/{config_id}/{delivered}/manifest.json"
        body = json.dumps({"sourceBucket": bucket, "fileFormat": "CSV", "files": [], "delivered": delivered})
        admin_s3.put_object(Bucket=bucket, Key=key, Body=body.encode(), ContentType="application/json")
        keys.append(key)
    return keys


def _current_versions(s3: Any) -> Any:
    """moto answers every stored inventory configuration with IncludedObjectVersions "All", whatever was put (it
    keeps the field only on the way in): this client reads them as they were put, "Current"."""

    def as_put(parsed: dict[str, Any], **_: Any) -> None:
        for config in parsed.get("InventoryConfigurationList") or ():
            config["IncludedObjectVersions"] = "Current"

    s3.meta.events.register("after-call.s3.ListBucketInventoryConfigurations", as_put)
    return s3


def test_an_inventory_that_lists_exactly_the_one_fix_is_the_jobs_manifest(
    sandbox: Sandbox, sandbox_settings: Settings, tmp_path: Path
):
    admin_s3 = _current_versions(make_client("s3", sandbox.aws_target()))
    bucket, scope = sandbox_settings.bucket, "inventory-fits/"
    for n in range(4):
        admin_s3.put_object(Bucket=bucket, Key=f"{scope}{n}.png", Body=image_bytes(), ContentType="application/png")
    _old, newest = _inventory(admin_s3, bucket, "all-current", scope)
    try:
        plan = batch.batch_repair(
            admin_s3,
            sandbox_settings,
            RepairOptions(prefix=scope),
            directory=tmp_path / "jobs",
            account_id=ACCOUNT,
            role_arn=ROLE,
        )
    finally:
        _inventory(admin_s3, bucket, "all-current", scope, enabled=False)
    (job,) = plan.jobs
    assert job.request["Manifest"] == {
        "Spec": {"Format": "S3InventoryReport_CSV_20161130"},
        "Location": {
            "ObjectArn": f"arn:aws:s3:::{bucket}/{newest}",
            "ETag": admin_s3.head_object(Bucket=bucket, Key=newest)["ETag"].strip('"'),
        },
    }
    assert job.request["Operation"]["S3PutObjectCopy"]["NewObjectMetadata"]["ContentType"] == "image/png"
    batch.validate_request(job.request)  # the service model takes it (printed_jobs validated it too)
    assert plan.to_json()["manifest_source"] == "inventory" and "2026-12-01T00-00Z" in (plan.inventory_note or "")


def test_an_inventory_of_mixed_objects_is_not_the_manifest_and_the_plan_says_why(
    stored: RepairFixture, sandbox: Sandbox, sandbox_settings: Settings, tmp_path: Path
):
    admin_s3 = _current_versions(make_client("s3", sandbox.aws_target()))
    _inventory(admin_s3, stored.bucket, "mixed", stored.prefix)
    try:
        plan = _plan(admin_s3, sandbox_settings, stored, tmp_path)
    finally:
        _inventory(admin_s3, stored.bucket, "mixed", stored.prefix, enabled=False)
    assert plan.to_json()["manifest_source"] == "scan" and plan.inventory is None
    assert "same headers" in (plan.inventory_note or "") and "relabel non-images" in (plan.inventory_note or "")
    assert all(job.request["Manifest"]["Spec"]["Format"] == batch.MANIFEST_FORMAT for job in plan.jobs)
