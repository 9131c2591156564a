"""``python -m services diff [RUN_A [RUN_B]]``: what changed between two recorded runs."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from services.cli.common import EXIT_OK, EXIT_USAGE, Command
from services.core.errors import HistoryError
from services.core.profiles import Profiles
from services.history.compare import RunDiff, diff_runs, pick_runs
from services.history.store import open_store


def print_diff(diff: RunDiff, out: TextIO) -> None:
    print(f"from {diff.before.label()}", file=out)
    print(f"  to {diff.after.label()}", file=out)
    if not diff.changed:
        print("nothing changed: every status and every document is the same", file=out)
        return
    for change in diff.status_changes:
        print(f"{change.id:28}{change.before or '(not run)'} -> {change.after or '(not run)'}", file=out)
    for document in diff.documents:
        print(f"== {document.name} (read by {', '.join(document.checks) or 'no check'})", file=out)
        print(document.diff, file=out)


def run(args: argparse.Namespace, profiles: Profiles, out: TextIO) -> int:
    try:
        store = open_store(args.env)
        first, second = pick_runs(store, profiles.choose(args.profile).name, args.run_a, args.run_b)
        diff = diff_runs(store, first, second)
    except HistoryError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(diff.to_json(), indent=2), file=out)
    else:
        print_diff(diff, out)
    return EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "run_a", nargs="?", type=int, metavar="RUN_A", help="the earlier run (default: the one before the latest)"
    )
    parser.add_argument(
        "run_b", nargs="?", type=int, metavar="RUN_B", help="the later run (default: the latest of RUN_A's profile)"
    )
    parser.add_argument(
        "--json", action="store_true", help='print {"from", "to", "status_changes": [...], "documents": [...]}'
    )


COMMAND = Command(
    "diff",
    "what changed between two recorded check runs (default: the profile's latest two)",
    add_arguments,
    run,
    needs_profiles=True,
)
