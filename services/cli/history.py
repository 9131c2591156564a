"""``python -m services history``: recorded check runs (or uploads), newest first."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from services.cli.common import EXIT_OK, EXIT_USAGE, Command, at_least_one
from services.core.errors import HistoryError
from services.core.profiles import Profiles
from services.history.model import STATUSES, RunSummary, UploadRecord
from services.history.store import HistoryStore, open_store


def _run_line(run: RunSummary, status: str | None) -> str:
    counts = ", ".join(f"{run.counts[s]} {s}" for s in STATUSES if run.counts.get(s))
    judged = f"  {status.upper():8}" if status is not None else "  "
    return f"#{run.id:<6}{run.started_at:%Y-%m-%d %H:%M:%S}  {run.profile:12}{judged}{counts}  by {run.by}"


def _upload_line(upload: UploadRecord) -> str:
    size = f"{upload.size:,} B" if upload.size is not None else "-"
    return (
        f"{upload.uploaded_at:%Y-%m-%d %H:%M:%S}  {upload.profile:12}{upload.file_name!r} -> {upload.key or '-'}  "
        f"{size}  {upload.content_type or '-'}  {upload.outcome}  by {upload.by}"
    )


def _print_runs(args: argparse.Namespace, store: HistoryStore, out: TextIO) -> None:
    found = store.runs(profile=args.profile, limit=args.limit, check=args.check)
    statuses = store.statuses([run.id for run in found]) if args.check else {}
    if args.json:
        rows = []
        for run in found:
            row = run.to_json()
            if args.check:
                row["check"] = {"id": args.check, "status": statuses[run.id].get(args.check)}
            rows.append(row)
        print(json.dumps({"runs": rows}, indent=2), file=out)
        return
    if not found:
        print("no recorded runs" + (f" of {args.check}" if args.check else ""), file=out)
    for run in found:
        print(_run_line(run, statuses[run.id].get(args.check) if args.check else None), file=out)


def _print_uploads(args: argparse.Namespace, store: HistoryStore, out: TextIO) -> None:
    found = store.uploads(limit=args.limit, name=args.name, profile=args.profile)
    if args.json:
        print(json.dumps({"uploads": [upload.to_json() for upload in found]}, indent=2), file=out)
        return
    if not found:
        print("no recorded uploads" + (f" named like {args.name!r}" if args.name else ""), file=out)
    for upload in found:
        print(_upload_line(upload), file=out)


def run(args: argparse.Namespace, profiles: Profiles, out: TextIO) -> int:
    """Every profile's runs (or uploads); only those of ``--profile NAME`` when it is given."""
    try:
        store = open_store(args.env)
        (_print_uploads if args.uploads else _print_runs)(args, store, out)
    except HistoryError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def validate(args: argparse.Namespace) -> None:
    from services.core.errors import ConfigError

    at_least_one("--limit", args.limit)
    if args.uploads and args.check:
        raise ConfigError("--check goes with runs, not with --uploads")
    if args.name and not args.uploads:
        raise ConfigError("--name goes with --uploads")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help='print {"runs": [...]} (or {"uploads": [...]})')
    parser.add_argument("--limit", type=int, default=20, help="at most this many, newest first (default 20)")
    parser.add_argument("--check", metavar="ID", help="only runs that judged this check, with its status in each")
    parser.add_argument("--uploads", action="store_true", help="the uploads made through the console instead")
    parser.add_argument("--name", metavar="TEXT", help="with --uploads: file names (as uploaded) containing TEXT")


COMMAND = Command(
    "history",
    "recorded check runs (or uploads with --uploads), newest first",
    add_arguments,
    run,
    validate=validate,
    needs_profiles=True,
)
