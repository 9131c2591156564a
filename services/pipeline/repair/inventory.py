"""An S3 Inventory report as the Batch Operations job's manifest, when one exists and fits.

S3 Inventory delivers, for each enabled configuration, ``[prefix/]source-bucket/config-id/YYYY-MM-DDTHH-MMZ/
manifest.json`` into its destination bucket (https://docs.aws.amazon.com/AmazonS3/latest/userguide/
storage-inventory-location.html); a Batch Operations job takes that manifest.json as its manifest with the format
``S3InventoryReport_CSV_20161130`` (CSV inventories only), its ObjectArn and ETag
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/batch-ops-create-job.html#specify-batchjob-manifest).

The inventory lists every object in its scope, and carries no Content-Type; a Batch copy gives every object of one
job the same headers. Used as it is, it would relabel the non-images, re-copy the objects already right and give a
JPEG the PNG's type. So the repair filters: the scan still decides each object, and the inventory becomes the
manifest only when it lists exactly what the one job must fix (its scope is the repair's prefix and every object
the scan found there needs the same fix); otherwise the scan's own manifests are used and the plan says why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from services.pipeline.repair.scan import error_code

INVENTORY_FORMAT = "S3InventoryReport_CSV_20161130"
#: a delivery's folder: the date and time S3 began it
_DELIVERY = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}Z)/$")


@dataclass(frozen=True)
class InventoryManifest:
    """The newest delivery of one inventory configuration: its manifest.json and what it covers."""

    config_id: str
    bucket: str  # the destination bucket
    key: str  # .../manifest.json
    etag: str
    delivered: str  # YYYY-MM-DDTHH-MMZ
    scope: str  # the configuration's filter prefix ("": the whole bucket)

    @property
    def arn(self) -> str:
        return f"arn:aws:s3:::{self.bucket}/{self.key}"

    def to_json(self) -> dict[str, Any]:
        return {
            "config_id": self.config_id,
            "manifest": self.arn,
            "etag": self.etag,
            "delivered": self.delivered,
            "scope": self.scope,
        }


def _configurations(s3: Any, bucket: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    params: dict[str, Any] = {"Bucket": bucket}
    while True:
        reply = s3.list_bucket_inventory_configurations(**params)
        found += reply.get("InventoryConfigurationList") or []
        if not reply.get("IsTruncated") or not reply.get("NextContinuationToken"):
            return found
        params["ContinuationToken"] = reply["NextContinuationToken"]


def usable_configuration(config: dict[str, Any]) -> bool:
    """Enabled, CSV (the only inventory format Batch Operations takes) and current versions only (with every
    version listed, the job would copy old versions over the current one)."""
    destination = (config.get("Destination") or {}).get("S3BucketDestination") or {}
    return (
        bool(config.get("IsEnabled"))
        and destination.get("Format") == "CSV"
        and config.get("IncludedObjectVersions") == "Current"
    )


def _newest(s3: Any, bucket: str, config: dict[str, Any]) -> InventoryManifest | None:
    destination = config["Destination"]["S3BucketDestination"]
    target = str(destination["Bucket"]).rsplit(":::", 1)[-1]
    prefix = str(destination.get("Prefix") or "").strip("/")
    base = f"{prefix}/" if prefix else ""
    base += f"{bucket}/{config['Id']}/"
    deliveries: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=target, Prefix=base, Delimiter="/"):
        for common in page.get("CommonPrefixes") or ():
            matched = _DELIVERY.search(str(common.get("Prefix", "")))
            if matched:
                deliveries.append(matched.group(1))
    for delivered in sorted(deliveries, reverse=True):  # a delivery still being written has no manifest.json yet
        key = f"{base}{delivered}/manifest.json"
        try:
            head = s3.head_object(Bucket=target, Key=key)
        except ClientError as err:
            if error_code(err) in ("404", "NoSuchKey"):
                continue
            raise
        scope = str(((config.get("Filter") or {}).get("Prefix")) or "")
        return InventoryManifest(str(config["Id"]), target, key, str(head["ETag"]).strip('"'), delivered, scope)
    return None


def find_inventory(s3: Any, bucket: str, prefix: str) -> tuple[InventoryManifest | None, str | None]:
    """The newest delivered manifest of a usable inventory of ``bucket`` whose scope is ``prefix`` (or the newest
    of any usable one, for the plan to say why it does not fit), and a note when there is none."""
    try:
        configs = [config for config in _configurations(s3, bucket) if usable_configuration(config)]
        found = [manifest for config in configs if (manifest := _newest(s3, bucket, config)) is not None]
    except (ClientError, BotoCoreError) as err:
        code = error_code(err) if isinstance(err, ClientError) else type(err).__name__
        return None, (
            f"The bucket's S3 Inventory could not be read ({code}; needs s3:GetInventoryConfiguration, and "
            "s3:ListBucket and s3:GetObject on its destination): the jobs use the scan's manifests."
        )
    if not found:
        return None, None
    fitting = [manifest for manifest in found if manifest.scope == prefix] or found
    return max(fitting, key=lambda manifest: manifest.delivered), None


def inventory_fits(
    inventory: InventoryManifest, prefix: str, scanned: int, to_fix: int, label_sets: int, left_out: int
) -> str | None:
    """Why ``inventory`` cannot be the job's manifest, or None when it lists exactly what the one job fixes."""
    where = f"the prefix {prefix!r}" if prefix else "the whole bucket"
    covers = f"{inventory.scope!r}" if inventory.scope else "the whole bucket"
    if inventory.scope != prefix:
        return (
            f"The S3 Inventory {inventory.config_id!r} covers {covers}, not {where}: the jobs use the scan's manifests."
        )
    if label_sets != 1 or left_out or to_fix != scanned:
        return (
            f"The S3 Inventory {inventory.config_id!r} lists every object of {where}, and a Batch copy gives every "
            f"object of a job the same headers: of {scanned:,} objects {to_fix:,} need a fix, in {label_sets} "
            "label set(s), so it would relabel non-images, re-copy objects already right or give one type to "
            "another's bytes. The jobs use the scan's manifests, which list exactly the objects to fix."
        )
    return None
