"""``python -m services watch --every DURATION``: run (and record) the checks each period; say when a status moves."""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable, Mapping
from typing import TextIO

from services.checks.report import Report
from services.checks.runner import run_checks
from services.cli.common import EXIT_FAILED, EXIT_OK, Command, at_least_one
from services.core.errors import ConfigError, HistoryError
from services.history.compare import StatusChange, diff_runs, status_changes
from services.history.model import STATUSES
from services.history.record import RunRecorder, local_user
from services.history.store import open_store
from services.runtime import Target

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(text: str) -> float:
    """``30s``, ``5m``, ``1h``, ``500ms`` or a bare number of seconds -> seconds. Raises ConfigError."""
    match = _DURATION.match(text)
    if match is None or float(match.group(1)) <= 0:
        raise ConfigError(f"--every {text!r} is not a duration such as 30s, 5m or 1h")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def _line(report: Report, run_id: int | None) -> str:
    counts = report.counts()
    summary = ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts.get(s))
    recorded = f"run #{run_id}" if run_id is not None else "not recorded"
    return f"{report.started_at:%Y-%m-%d %H:%M:%S}  {recorded}  {summary}  ({report.duration_ms / 1000:.1f} s)"


def _changed_documents(env: Mapping[str, str], before: int | None, after: int | None) -> list[str]:
    if before is None or after is None:
        return []
    try:
        return [
            f"{d.name} (read by {', '.join(d.checks) or 'no check'})"
            for d in diff_runs(open_store(env), before, after).documents
        ]
    except HistoryError:
        return []


def _print_block(changes: tuple[StatusChange, ...], documents: list[str], out: TextIO) -> None:
    print("   status changed:", file=out)
    for change in changes:
        print(f"     {change.id:28}{change.before or '(not run)'} -> {change.after or '(not run)'}", file=out)
    for document in documents:
        print(f"     changed document: {document}", file=out)


def watch(args: argparse.Namespace, target: Target, out: TextIO, sleep: Callable[[float], None] = time.sleep) -> int:
    every = parse_duration(args.every)
    previous: tuple[dict[str, str], int | None] | None = None
    done = 0
    while args.runs is None or done < args.runs:
        started = time.monotonic()
        recorder = RunRecorder(target.settings, local_user(), env=args.env)
        report = run_checks(target.settings, on_done=None if args.no_record else recorder)
        done += 1
        print(_line(report, recorder.run_id), file=out, flush=True)
        if recorder.warning:
            print(f"warning: {recorder.warning}", file=sys.stderr)
        statuses = {f.id: str(f.status) for f in report.findings}
        if previous is not None and (changes := status_changes(previous[0], statuses)):
            _print_block(changes, _changed_documents(args.env, previous[1], recorder.run_id), out)
            if args.until_change:
                return EXIT_FAILED
        previous = (statuses, recorder.run_id)
        if args.runs is None or done < args.runs:
            sleep(max(0.0, every - (time.monotonic() - started)))
    return EXIT_OK


def run(args: argparse.Namespace, target: Target, out: TextIO) -> int:
    try:
        return watch(args, target, out)
    except KeyboardInterrupt:
        return EXIT_OK


def validate(args: argparse.Namespace) -> None:
    parse_duration(args.every)
    if args.runs is not None:
        at_least_one("--runs", args.runs)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--every", required=True, metavar="DURATION", help="how often: 30s, 5m, 1h (or seconds)")
    parser.add_argument("--until-change", action="store_true", help="stop at the first status change, with exit code 1")
    parser.add_argument("--runs", type=int, metavar="N", help="stop after N runs (default: until interrupted)")
    parser.add_argument("--no-record", action="store_true", help="do not record the runs in the history")


COMMAND = Command(
    "watch",
    "run the checks every DURATION, recording each; report status changes",
    add_arguments,
    run,
    validate=validate,
)
