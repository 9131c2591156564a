"""``python -m services upload FILE...``: upload images through presign -> S3 -> CDN, as the web app does."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from services.cli.common import EXIT_FAILED, EXIT_OK, Command, at_least_one
from services.core.errors import ConfigError
from services.history.record import local_user, record_uploads
from services.pipeline.preflight import chosen_origin
from services.pipeline.upload import HOP_NAMES, UploadInput, UploadResult, failed_input, upload_batch
from services.runtime import Target


def _read_inputs(paths: Sequence[str]) -> tuple[list[UploadInput], dict[int, UploadResult]]:
    """Read every path; a file that cannot be read becomes a failed result, not an abort."""
    items: list[UploadInput] = []
    unreadable: dict[int, UploadResult] = {}
    for index, raw in enumerate(paths):
        path = Path(raw)
        try:
            items.append(UploadInput(name=path.name, data=path.read_bytes()))
        except OSError as err:
            reason = err.strerror or type(err).__name__
            unreadable[index] = failed_input(
                raw, "validate", f"cannot read {raw}: {reason}", "Check the path and permissions; nothing was uploaded."
            )
            items.append(UploadInput(name=path.name, data=b""))  # keeps indexes aligned; never sent
    return items, unreadable


def _print_human(result: UploadResult, out: TextIO) -> None:
    if result.ok:
        total = sum(step.ms for step in result.steps)
        print(f"ok    {result.file} -> {result.cdn_url}  ({result.content_type}, {total:.0f} ms)", file=out)
        if result.stripped:
            print(f"      {result.stripped}", file=out)
        return
    step = result.failed_step
    assert step is not None
    status = f" HTTP {step.http_status}" if step.http_status else ""
    code = f" {step.code}" if step.code else ""
    print(f"FAIL  {result.file}: {HOP_NAMES.get(step.name, step.name)} failed{status}{code}: {step.error}", file=out)
    if step.cause:
        print(f"      cause: {step.cause}", file=out)


def run(args: argparse.Namespace, target: Target, out: TextIO) -> int:
    items, unreadable = _read_inputs(args.files)
    results: dict[int, UploadResult] = dict(unreadable)
    readable = [(i, item) for i, item in enumerate(items) if i not in unreadable]
    batch = upload_batch(
        [item for _, item in readable],
        target.settings,
        workers=args.workers,
        strip_metadata=args.strip_metadata,
        origin=chosen_origin(args.origin, target.settings.app_origins),
    )
    for position, result in batch:
        results[readable[position][0]] = result
    if warning := record_uploads(
        target.settings,
        [(None if i in unreadable else items[i], results[i]) for i in range(len(items))],
        local_user(),
        args.env,
    ):
        print(f"warning: {warning}", file=sys.stderr)  # the uploads stand; the history's failure is one line
    for index in range(len(items)):
        result = results[index]
        if args.json:
            print(json.dumps(result.to_json()), file=out)
        else:
            _print_human(result, out)
    return EXIT_OK if all(r.ok for r in results.values()) else EXIT_FAILED


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument("--json", action="store_true", help="one JSON object per file (JSON Lines)")
    parser.add_argument("--workers", type=int, default=8, help="files uploaded at once (default 8)")
    parser.add_argument(
        "--origin",
        metavar="ORIGIN|none",
        help="make the browser's CORS preflights from this web app origin first, as the web app's browser does "
        "(default: the first of PIPELINE_APP_ORIGINS); 'none' uploads server-side, without them",
    )
    parser.add_argument(
        "--strip-metadata",
        action="store_true",
        help="optional: re-encode each image without its metadata (EXIF incl. GPS, XMP, IPTC, comments, PNG text) "
        "before upload; the ICC colour profile is kept. The uploaded bytes differ from the file's (new sha256)",
    )


def validate(args: argparse.Namespace) -> None:
    """A path that is not there (or is a folder) is a usage error, said before anything starts; a file that exists
    but cannot be read is that file's failure, and the rest of the batch goes on."""
    at_least_one("--workers", args.workers)
    missing = [raw for raw in args.files if not Path(raw).exists()]
    if missing:
        raise ConfigError(f"no such file: {', '.join(missing)} (nothing was uploaded)")
    folders = [raw for raw in args.files if Path(raw).is_dir()]
    if folders:
        raise ConfigError(f"{', '.join(folders)}: a folder, not an image file (nothing was uploaded)")


COMMAND = Command(
    "upload", "upload images through presign -> S3 -> CDN, as the web app does", add_arguments, run, validate=validate
)
