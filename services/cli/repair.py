"""``python -m services repair``: relabel stored images by their bytes (Content-Type, optionally Cache-Control).

A plan (dry run) by default; ``--apply --confirm BUCKET`` fixes, with PIPELINE_ALLOW_WRITES=true. Progress goes to
stderr; ``--json`` prints one object on stdout. Exit 0 when nothing is left to fix, 1 when something is (plan) or
a fix failed (apply), 2 for usage or configuration errors (writes off, a wrong confirmation among them).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from itertools import islice
from typing import TextIO

from botocore.exceptions import BotoCoreError, ClientError

from services.cli.common import EXIT_FAILED, EXIT_USAGE, Command, at_least_one
from services.core.clients import make_client
from services.core.errors import ConfigError, ConsoleError
from services.core.settings import Settings
from services.pipeline import browse
from services.pipeline.repair import batch
from services.pipeline.repair.checkpoint import default_state_dir
from services.pipeline.repair.command import repair_command
from services.pipeline.repair.run import (
    DEFAULT_WORKERS,
    ConfirmationMismatch,
    Progress,
    RepairOptions,
    RepairReport,
    repair_clients,
    run_repair,
)
from services.pipeline.repair.scan import iter_listing
from services.runtime import Target

#: how often progress is printed when stderr is not a terminal (a CI log)
LOG_EVERY_SECONDS = 5.0


class _ProgressPrinter:
    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._last = 0.0

    def __call__(self, progress: Progress) -> None:
        if self._tty:
            print(f"\r{progress.text()}\033[K", end="", file=self._stream, flush=True)
            return
        now = time.monotonic()
        if now - self._last >= LOG_EVERY_SECONDS:
            print(progress.text(), file=self._stream, flush=True)
            self._last = now

    def done(self) -> None:
        if self._tty:
            print(file=self._stream)


def _print_human(report: RepairReport, out: TextIO, apply_command: str) -> None:
    tally = report.tally
    print(f"{'applied' if report.applied_mode else 'plan'}: s3://{report.bucket}/{report.prefix}", file=out)
    print(f"scanned {tally.scanned:,}: {tally.to_fix:,} to fix, {tally.not_images:,} not images", file=out)
    for stored, count in sorted(tally.by_stored_type.items(), key=lambda item: -item[1]):
        print(f"  {count:>9,}  stored as {stored}", file=out)
    for planned in tally.objects:
        change = f"{planned.stored_type} -> {planned.new_type}" if planned.new_type else planned.stored_type
        if planned.new_cache_control != planned.cache_control:
            change += f"; Cache-Control {planned.cache_control!r} -> {planned.new_cache_control!r}"
        note = f"  ({planned.note})" if planned.note else ""
        print(f"  {planned.action:<10} {browse.display_key(planned.key)}: {change}{note}", file=out)
    if report.applied_mode:
        print(f"fixed {tally.applied:,}, failed {tally.failed_count:,}", file=out)
        for failure in tally.failed:
            print(f"  FAIL {browse.display_key(failure['key'])}: {failure['reason']}", file=out)
        if report.invalidation:
            print(f"CDN: {report.invalidation['note']}", file=out)
            for error in report.invalidation["errors"]:
                print(f"  CDN error: {error}", file=out)
    elif tally.to_fix:
        print(f"nothing was written; to apply: {apply_command}", file=out)
    for note in report.notes:
        print(f"note: {note}", file=out)


def _apply_command(args: argparse.Namespace, settings: Settings) -> str:
    """The command that applies this plan: the same profile, prefix and Cache-Control, confirmed as it asks."""
    return repair_command(settings, prefix=args.prefix, cache_control=args.cache_control, apply=True)


def _account_id(settings: Settings, given: str | None) -> str:
    if given:
        return given
    try:
        return str(make_client("sts", settings.aws).get_caller_identity()["Account"])
    except (ClientError, BotoCoreError) as err:
        raise ConfigError(f"could not learn the AWS account ({type(err).__name__}): pass --account-id") from err


def _run_batch(args: argparse.Namespace, settings: Settings, options: RepairOptions, out: TextIO) -> int:
    """--batch-job: the scan writes manifests; the jobs are printed (a plan) or created (--apply)."""
    account = _account_id(settings, args.account_id)
    role = args.role_arn or f"arn:aws:iam::{account}:role/REPLACE-with-the-batch-operations-role"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    s3, _ = repair_clients(settings, args.workers)
    printer = _ProgressPrinter(sys.stderr)
    plan = batch.batch_repair(
        s3,
        settings,
        options,
        directory=default_state_dir() / "jobs" / stamp,
        account_id=account,
        role_arn=role,
        report_bucket=args.report_bucket,
        create=args.apply,
        s3control=make_client("s3control", settings.aws) if args.apply else None,
        confirm=args.confirm,
        confirm_profile=args.confirm_profile,
        on_progress=printer,
    )
    printer.done()
    body = plan.report.to_json() | {"batch": plan.to_json()}
    if args.json:
        print(json.dumps(body), file=out)
    else:
        _print_human(plan.report, out, _apply_command(args, settings) + " --batch-job --role-arn ROLE_ARN")
        for job in plan.jobs:
            what = f"job {job.job_id} created (confirm it to run)" if job.job_id else job.error or "request:"
            print(f"{job.manifest.objects:,} objects -> {job.manifest.target.content_type}: {what}", file=out)
            if not job.job_id:
                print(json.dumps(job.to_json()["request"], indent=2), file=out)
        print(f"manifests in {plan.directory}", file=out)
    return plan.exit_code


def _too_many_for_here(args: argparse.Namespace, settings: Settings) -> int | None:
    """With --apply and no --batch-job: refuse when the prefix holds --batch-threshold keys or more."""
    s3, _ = repair_clients(settings, 1)
    seen = sum(1 for _ in islice(iter_listing(s3, settings.bucket, args.prefix), args.batch_threshold))
    return seen if seen >= args.batch_threshold else None


def run(args: argparse.Namespace, target: Target, out: TextIO) -> int:
    settings = target.settings
    options = RepairOptions(
        prefix=args.prefix,
        cache_control=args.cache_control,
        apply=args.apply,
        workers=args.workers,
        limit=args.limit,
        wildcard=args.wildcard_invalidation,
        count_total=args.eta,
    )
    try:
        if args.batch_job:
            return _run_batch(args, settings, options, out)
        if args.apply and (seen := _too_many_for_here(args, settings)) is not None:
            print(
                f"error: {seen:,} objects or more under the prefix (--batch-threshold): one machine should not copy "
                "them; use --batch-job (an S3 Batch Operations job), or a narrower --prefix",
                file=sys.stderr,
            )
            return EXIT_USAGE
    except (browse.WritesDisabled, ConfirmationMismatch, ConfigError, batch.InvalidJobRequest) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except ConsoleError as err:
        print(browse.cli_error(err), file=sys.stderr)
        return EXIT_FAILED
    printer = _ProgressPrinter(sys.stderr)
    s3, cloudfront = repair_clients(settings, args.workers)
    try:
        report = run_repair(
            s3,
            settings,
            options,
            cloudfront=cloudfront,
            confirm=args.confirm,
            confirm_profile=args.confirm_profile,
            on_progress=printer,
        )
    except (browse.WritesDisabled, ConfirmationMismatch) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        printer.done()
        print("stopped: run the same command again to continue where it stopped", file=sys.stderr)
        return EXIT_FAILED
    except ConsoleError as err:
        printer.done()
        print(browse.cli_error(err), file=sys.stderr)
        return EXIT_FAILED
    printer.done()
    if args.json:
        print(json.dumps(report.to_json()), file=out)
    else:
        _print_human(report, out, _apply_command(args, settings))
    return report.exit_code


def validate(args: argparse.Namespace) -> None:
    at_least_one("--limit", args.limit)
    at_least_one("--workers", args.workers)
    if args.apply and not args.confirm:
        raise ConfigError("--apply needs --confirm BUCKET (the bucket's name, typed)")
    if args.confirm and not args.apply:
        raise ConfigError("--confirm goes with --apply")
    at_least_one("--batch-threshold", args.batch_threshold)
    if args.batch_job and args.apply and not args.role_arn:
        raise ConfigError("--batch-job --apply needs --role-arn (the IAM role S3 Batch Operations runs the jobs as)")
    value = args.cache_control
    if value is not None and (not value.strip() or not value.isascii() or not value.isprintable()):
        raise ConfigError(f"--cache-control {value!r} is not a header value (printable ASCII, not empty)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prefix", default="", help="only keys that start with this (literal, case-sensitive)")
    parser.add_argument("--cache-control", default=None, help="also set this Cache-Control (default: keep each one's)")
    parser.add_argument("--json", action="store_true", help="one JSON object (shape in the README)")
    parser.add_argument("--limit", type=int, default=1000, help="objects listed in the report (counts: all)")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="objects read at once (default 16)")
    parser.add_argument("--apply", action="store_true", help="fix the objects (needs PIPELINE_ALLOW_WRITES=true)")
    parser.add_argument("--confirm", default=None, metavar="BUCKET", help="the bucket's name, typed, with --apply")
    parser.add_argument(
        "--confirm-profile", default=None, metavar="NAME", help="on a production profile: its name, typed, as well"
    )
    parser.add_argument(
        "--batch-job",
        action="store_true",
        help="build S3 Batch Operations jobs (one per label set) from the scan: printed, or created with --apply",
    )
    parser.add_argument("--role-arn", default=None, help="with --batch-job --apply: the role the jobs run as")
    parser.add_argument("--account-id", default=None, help="with --batch-job: the account (default: STS says)")
    parser.add_argument(
        "--report-bucket", default=None, help="with --batch-job: manifests and reports (default: the bucket)"
    )
    parser.add_argument(
        "--batch-threshold",
        type=int,
        default=batch.BATCH_THRESHOLD,
        help=f"--apply refuses at this many keys or more: use --batch-job (default {batch.BATCH_THRESHOLD:,})",
    )
    parser.add_argument(
        "--no-eta",
        dest="eta",
        action="store_false",
        help="no counting listing beside the scan: progress without a total or ETA, one list request fewer per 1,000",
    )
    parser.add_argument(
        "--wildcard-invalidation",
        action="store_true",
        help="invalidate one wildcard path for the prefix (one path's price) instead of each changed object",
    )


COMMAND = Command(
    "repair",
    "relabel stored images by their bytes (Content-Type, Cache-Control): a plan, or --apply",
    add_arguments,
    run,
    validate=validate,
)
