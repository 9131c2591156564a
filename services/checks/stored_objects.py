"""The fixes for objects already stored with the wrong headers, written once for every check that gives one: the
console's repair (``python -m services repair``: by each object's bytes, a plan before any write, README "repair")
and the AWS CLI's re-copy of objects onto themselves, for what the repair keeps as it is (Content-Encoding).
Pure text."""

from __future__ import annotations

import shlex

from services.pipeline.repair.command import Repaired, repair_command

#: the Cache-Control for the pipeline's images: their keys are unique uuids, never rewritten, so a year and no
#: revalidation on reload
LONG_CACHE = "public, max-age=31536000, immutable"


def repair_commands(target: Repaired, cache_control: str | None = None) -> list[str]:
    """The console's repair of the bucket's stored images, on ``target``'s profile: the plan first, then the fix. It
    relabels each image by its bytes, keeps its other headers, and invalidates what it changed at the CDN; with
    ``cache_control`` it sets that Cache-Control as well."""
    also = ", or give this Cache-Control" if cache_control else ""
    plan = repair_command(target, cache_control=cache_control)
    fix = repair_command(target, cache_control=cache_control, apply=True)
    return [
        f"{plan}  # the plan: which objects it would relabel, by their bytes{also}",
        f"{fix}  # the fix, with PIPELINE_ALLOW_WRITES=true",
    ]


def recopy_command(bucket: str, extension: str, media_type: str, cache_control: str | None = None) -> str:
    """The AWS CLI's copy of every ``*.extension`` object onto itself as ``media_type``. With REPLACE the copy has
    only the metadata this command names (the rest, Content-Encoding and Cache-Control among it, is dropped), so a
    ``cache_control`` to keep must be named here."""
    # the CLI's --metadata-directive: "If REPLACE is used, the copied object will only have the metadata values that
    # were specified by the CLI command" (https://docs.aws.amazon.com/cli/latest/reference/s3/cp.html)
    keep = f"--cache-control {shlex.quote(cache_control)} " if cache_control else ""
    return (
        f"aws s3 cp s3://{bucket}/ s3://{bucket}/ --recursive --metadata-directive REPLACE {keep}"
        f"--content-type {media_type} --exclude '*' --include '*.{extension}'"
    )
