"""Past one machine: the repair as S3 Batch Operations jobs, one ``S3PutObjectCopy`` job per target label set.

The scan writes a CSV manifest (``bucket,key``, keys URL-encoded as Batch Operations requires; see
https://docs.aws.amazon.com/AmazonS3/latest/userguide/batch-ops-create-job.html#specify-batchjob-manifest) for each
distinct set of headers the fixed objects must end with. A Batch Operations copy with ``MetadataDirective=REPLACE``
gives every object of a job the same ``NewObjectMetadata``, so objects whose other headers differ (user metadata,
Content-Disposition, storage class, KMS key ...) go to separate jobs, and each keeps its own. Tags are copied when
``NewObjectTagging`` is absent (https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_S3CopyObjectOperation.html).
Batch Operations has no per-object ETag condition: ``UnModifiedSinceConstraint`` (the scan's start) makes S3 skip an
object overwritten after the scan began, and the job's completion report lists it as failed. The bucket's S3
Inventory report replaces the scan's manifest only when it lists exactly what one job fixes (inventory.py says why).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import botocore.session
from botocore.exceptions import BotoCoreError, ClientError
from botocore.validate import validate_parameters

from services.core.settings import Settings
from services.pipeline.repair.decide import FIX, ObjectState, Planned
from services.pipeline.repair.inventory import INVENTORY_FORMAT, InventoryManifest, find_inventory, inventory_fits
from services.pipeline.repair.run import Progress, RepairOptions, check_apply_allowed, run_repair

#: above this many keys under the prefix, one machine should not copy them: build the jobs instead
BATCH_THRESHOLD = 1_000_000
MANIFEST_FORMAT = "S3BatchOperations_CSV_20180820"
REPORT_FORMAT = "Report_CSV_20180820"
#: distinct label sets (jobs) at most; objects of further ones are counted, not put in a job
MAX_JOBS = 50
JOB_PRIORITY = 10


@dataclass(frozen=True)
class JobTarget:
    """The headers every object of one job ends with."""

    content_type: str
    cache_control: str | None = None
    content_disposition: str | None = None
    content_encoding: str | None = None
    content_language: str | None = None
    expires: str | None = None
    metadata: tuple[tuple[str, str], ...] = ()
    storage_class: str | None = None
    encryption: str | None = None
    kms_key_id: str | None = None
    bucket_key: bool | None = None
    website_redirect: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {name: value for name, value in self.__dict__.items() if value not in (None, ())}


def job_target(state: ObjectState, planned: Planned) -> JobTarget:
    return JobTarget(
        content_type=planned.new_type or "",
        cache_control=planned.new_cache_control,
        content_disposition=state.content_disposition,
        content_encoding=state.content_encoding,
        content_language=state.content_language,
        expires=state.expires,
        metadata=tuple(sorted(state.metadata.items())),
        storage_class=state.storage_class,
        encryption=state.encryption,
        kms_key_id=state.kms_key_id if state.encryption in ("aws:kms", "aws:kms:dsse") else None,
        bucket_key=state.bucket_key,
        website_redirect=state.website_redirect,
    )


def manifest_line(bucket: str, key: str) -> str:
    """One CSV row: the bucket and the URL-encoded key (a comma or newline in a key cannot break the row)."""
    return f"{bucket},{quote(key, safe='/')}\n"


@dataclass
class Manifest:
    target: JobTarget
    path: Path
    objects: int = 0
    _md5: Any = field(default_factory=hashlib.md5, repr=False)
    _handle: IO[str] | None = field(default=None, repr=False)

    @property
    def etag(self) -> str:
        """The ETag S3 gives this file when it is PUT in one part without SSE-KMS: the MD5 of its bytes."""
        return self._md5.hexdigest()


@dataclass
class ManifestSet:
    """The scan's sink: streams each fixable object's row into its target's manifest file (nothing kept per object)."""

    bucket: str
    directory: Path
    manifests: dict[JobTarget, Manifest] = field(default_factory=dict)
    left_out: int = 0  # objects of label sets past MAX_JOBS

    def __call__(self, state: ObjectState, planned: Planned) -> None:
        if planned.action != FIX:
            return
        target = job_target(state, planned)
        manifest = self.manifests.get(target)
        if manifest is None:
            if len(self.manifests) >= MAX_JOBS:
                self.left_out += 1
                return
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / f"manifest-{len(self.manifests) + 1:02d}.csv"
            manifest = self.manifests[target] = Manifest(target, path, _handle=path.open("w", encoding="utf-8"))
        line = manifest_line(self.bucket, state.key)
        assert manifest._handle is not None
        manifest._handle.write(line)
        manifest._md5.update(line.encode("utf-8"))
        manifest.objects += 1

    def close(self) -> list[Manifest]:
        for manifest in self.manifests.values():
            if manifest._handle is not None:
                manifest._handle.close()
                manifest._handle = None
        return list(self.manifests.values())


def _new_metadata(target: JobTarget) -> dict[str, Any]:
    metadata: dict[str, Any] = {"ContentType": target.content_type}
    optional = {
        "CacheControl": target.cache_control,
        "ContentDisposition": target.content_disposition,
        "ContentEncoding": target.content_encoding,
        "ContentLanguage": target.content_language,
        "HttpExpiresDate": target.expires,
    }
    metadata.update({name: value for name, value in optional.items() if value is not None})
    if target.metadata:
        metadata["UserMetadata"] = dict(target.metadata)
    if target.encryption == "AES256":
        metadata["SSEAlgorithm"] = "AES256"
    elif target.encryption in ("aws:kms", "aws:kms:dsse"):
        metadata["SSEAlgorithm"] = "KMS"
    return metadata


@dataclass(frozen=True)
class JobPlace:
    """Where the manifests are uploaded and the completion reports written."""

    account_id: str
    role_arn: str
    report_bucket: str
    prefix: str  # e.g. repair-jobs/20261202T010203Z/


def job_request(
    bucket: str,
    manifest: Manifest,
    place: JobPlace,
    *,
    not_modified_since: datetime,
    inventory: InventoryManifest | None = None,
) -> dict[str, Any]:
    """The CreateJob request for one manifest: copy each listed object onto itself with the target's headers
    (``inventory``: the objects its manifest.json lists, instead of the scan's CSV)."""
    target = manifest.target
    copy: dict[str, Any] = {
        "TargetResource": f"arn:aws:s3:::{bucket}",
        "MetadataDirective": "REPLACE",
        "NewObjectMetadata": _new_metadata(target),
        "UnModifiedSinceConstraint": not_modified_since,
    }
    if target.storage_class:
        copy["StorageClass"] = target.storage_class
    if target.kms_key_id:
        copy["SSEAwsKmsKeyId"] = target.kms_key_id
    if target.bucket_key is not None:
        copy["BucketKeyEnabled"] = target.bucket_key
    if target.website_redirect:
        copy["RedirectLocation"] = target.website_redirect
    key = f"{place.prefix}{manifest.path.name}"
    return {
        "AccountId": place.account_id,
        "ConfirmationRequired": True,  # the job waits for a person to confirm it (S3 console or UpdateJobStatus)
        "Operation": {"S3PutObjectCopy": copy},
        "Report": {
            "Bucket": f"arn:aws:s3:::{place.report_bucket}",
            "Format": REPORT_FORMAT,
            "Enabled": True,
            "Prefix": f"{place.prefix}reports",
            "ReportScope": "AllTasks",
        },
        "ClientRequestToken": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{place.report_bucket}/{key}/{manifest.etag}")),
        "Manifest": {
            "Spec": {"Format": MANIFEST_FORMAT, "Fields": ["Bucket", "Key"]},
            "Location": {"ObjectArn": f"arn:aws:s3:::{place.report_bucket}/{key}", "ETag": manifest.etag},
        }
        if inventory is None
        else {  # an inventory report's manifest names its own fields (the Spec takes none)
            "Spec": {"Format": INVENTORY_FORMAT},
            "Location": {"ObjectArn": inventory.arn, "ETag": inventory.etag},
        },
        "Description": f"image pipeline repair: {manifest.objects:,} objects -> {target.content_type}"[:256],
        "Priority": JOB_PRIORITY,
        "RoleArn": place.role_arn,
    }


class InvalidJobRequest(ValueError):
    """A CreateJob request that the service model rejects (a pattern botocore's own validation does not check)."""


def validate_request(request: dict[str, Any]) -> None:
    """Raise unless ``request`` is a valid CreateJob input under the s3control service model: botocore's
    validation (required members, types, lengths, enums; ParamValidationError) plus the model's string patterns."""
    model = botocore.session.get_session().get_service_model("s3control")
    shape = model.operation_model("CreateJob").input_shape
    assert shape is not None  # CreateJob has an input
    validate_parameters(request, shape)
    _check_patterns(request, shape, "CreateJob")


def _check_patterns(value: Any, shape: Any, where: str) -> None:
    if shape.type_name == "structure" and isinstance(value, dict):
        for name, member in value.items():
            _check_patterns(member, shape.members[name], f"{where}.{name}")
    elif shape.type_name == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            _check_patterns(item, shape.member, f"{where}[{index}]")
    elif shape.type_name == "map" and isinstance(value, dict):
        for name, item in value.items():
            _check_patterns(item, shape.value, f"{where}[{name!r}]")
    elif shape.type_name == "string" and isinstance(value, str):
        pattern = shape.metadata.get("pattern")
        if pattern and re.search(pattern, value) is None:
            raise InvalidJobRequest(f"{where}={value!r} does not match the model's pattern {pattern!r}")


def _iso(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


@dataclass(frozen=True)
class CreatedJob:
    manifest: Manifest
    request: dict[str, Any]
    job_id: str | None = None
    error: str | None = None
    inventory: InventoryManifest | None = None  # the job's manifest is this inventory report's

    def to_json(self) -> dict[str, Any]:
        source = {"file": self.manifest.path.name, "etag": self.manifest.etag}
        return {
            "target": self.manifest.target.to_json(),
            "objects": self.manifest.objects,
            "manifest": source if self.inventory is None else {"inventory": self.inventory.to_json()},
            "request": json.loads(json.dumps(self.request, default=_iso)),
            "job_id": self.job_id,
            "error": self.error,
        }


def create_jobs(
    s3: Any,
    s3control: Any,
    bucket: str,
    manifests: list[Manifest],
    place: JobPlace,
    *,
    not_modified_since: datetime,
    inventory: InventoryManifest | None = None,
) -> list[CreatedJob]:
    """Upload each manifest (none with ``inventory``: it is in S3 already) and create its job (each waits for
    confirmation); a failure is reported per job."""
    created: list[CreatedJob] = []
    for manifest in manifests:
        request = job_request(bucket, manifest, place, not_modified_since=not_modified_since, inventory=inventory)
        validate_request(request)
        try:
            if inventory is None:
                with manifest.path.open("rb") as body:
                    put = s3.put_object(
                        Bucket=place.report_bucket,
                        Key=f"{place.prefix}{manifest.path.name}",
                        Body=body,
                        ContentType="text/csv",
                    )
                request["Manifest"]["Location"]["ETag"] = str(put.get("ETag", manifest.etag)).strip('"')
            reply = s3control.create_job(**request)
        except (ClientError, BotoCoreError) as err:
            code = err.response.get("Error", {}).get("Code") if isinstance(err, ClientError) else type(err).__name__
            created.append(CreatedJob(manifest, request, error=f"not created: {code}", inventory=inventory))
            continue
        created.append(CreatedJob(manifest, request, job_id=str(reply.get("JobId")), inventory=inventory))
    return created


def printed_jobs(
    bucket: str,
    manifests: list[Manifest],
    place: JobPlace,
    *,
    not_modified_since: datetime,
    inventory: InventoryManifest | None = None,
) -> list[CreatedJob]:
    """The exact requests, validated, for a person to upload the manifests and create the jobs themselves."""
    jobs = []
    for manifest in manifests:
        request = job_request(bucket, manifest, place, not_modified_since=not_modified_since, inventory=inventory)
        validate_request(request)
        jobs.append(CreatedJob(manifest, request, inventory=inventory))
    return jobs


@dataclass
class BatchPlan:
    """A scan that wrote the manifests, and the jobs built from them (created, or only printed)."""

    report: Any  # RepairReport
    jobs: list[CreatedJob]
    left_out: int
    directory: Path
    inventory: InventoryManifest | None = None  # the jobs' manifest, when the bucket's inventory fits
    inventory_note: str | None = None  # why an inventory found is not the manifest (or could not be read)

    def to_json(self) -> dict[str, Any]:
        return {
            "directory": str(self.directory),
            "jobs": [job.to_json() for job in self.jobs],
            "objects": sum(job.manifest.objects for job in self.jobs),
            "left_out": self.left_out,
            "manifest_source": "scan" if self.inventory is None else "inventory",
            "inventory_note": self.inventory_note,
        }

    @property
    def exit_code(self) -> int:
        created = any(job.job_id for job in self.jobs)
        if any(job.error for job in self.jobs) or self.left_out:
            return 1
        return 0 if created or not self.jobs else 1


def batch_repair(
    s3: Any,
    settings: Settings,
    options: RepairOptions,
    *,
    directory: Path,
    account_id: str,
    role_arn: str,
    report_bucket: str | None = None,
    create: bool = False,
    s3control: Any = None,
    confirm: str | None = None,
    confirm_profile: str | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    stop: threading.Event | None = None,
) -> BatchPlan:
    """Scan as a plan does, writing the manifests to ``directory``; then build one job per label set: created
    (manifests uploaded, jobs waiting for confirmation) with ``create`` (writes on, the bucket's name typed), else
    validated requests to print. A stopped scan builds no job (its manifests would be partial)."""
    if create:
        check_apply_allowed(settings, confirm, confirm_profile)
    started = datetime.now(UTC).replace(microsecond=0)
    sink = ManifestSet(settings.bucket, directory)
    try:
        report = run_repair(s3, settings, replace(options, apply=False), on_progress=on_progress, stop=stop, sink=sink)
    finally:
        manifests = sink.close()
    if report.stopped:
        return BatchPlan(report, [], sink.left_out, directory)
    inventory, note = _inventory_for(s3, settings.bucket, options.prefix, report, manifests, sink.left_out)
    place = JobPlace(account_id, role_arn, report_bucket or settings.bucket, f"repair-jobs/{started:%Y%m%dT%H%M%SZ}/")
    if create:
        jobs = create_jobs(
            s3, s3control, settings.bucket, manifests, place, not_modified_since=started, inventory=inventory
        )
    else:
        jobs = printed_jobs(settings.bucket, manifests, place, not_modified_since=started, inventory=inventory)
    return BatchPlan(report, jobs, sink.left_out, directory, inventory, note)


def _inventory_for(
    s3: Any, bucket: str, prefix: str, report: Any, manifests: list[Manifest], left_out: int
) -> tuple[InventoryManifest | None, str | None]:
    """The bucket's inventory report when it lists exactly what the one job fixes; else None and why not."""
    inventory, note = find_inventory(s3, bucket, prefix)
    if inventory is None or not manifests:
        return None, note
    tally = report.tally
    why = inventory_fits(inventory, prefix, tally.scanned, tally.to_fix, len(manifests), left_out)
    if why is not None:
        return None, why
    return inventory, (
        f"The job's manifest is the S3 Inventory {inventory.config_id!r} delivered {inventory.delivered}: it lists "
        "the objects as they were then, so an object stored since is not in it (run the repair again after the "
        "job) and one deleted since fails in the completion report."
    )
