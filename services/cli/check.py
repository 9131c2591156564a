"""``python -m services check``: every check, each failure explained with its exact fix; ``--apply`` one fix."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import TextIO

from services.checks import remedy as remedies
from services.checks.gather import CHECK_DEADLINE, Budget
from services.checks.model import Finding, Status
from services.checks.report import Report
from services.checks.runner import CHECK_IDS, run_checks, select
from services.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Command
from services.core import writes
from services.core.awserrors import require_access
from services.core.errors import ConfigError, ConsoleError
from services.core.settings import DEFAULT_PROFILE, Settings
from services.core.transport import PROBE_DEADLINE
from services.history.record import RunRecorder, local_user
from services.runtime import Target


def apply_command(finding: Finding, settings: Settings | None) -> str:
    """The command that applies ``finding``'s remedy on this profile (None: the default one), with every name it
    must be confirmed by."""
    assert finding.remedy is not None
    kind, name = finding.remedy.resource_kind, finding.remedy.resource
    needed = writes.confirmations(settings, kind, name) if settings else (writes.Confirmation(kind, name),)
    profile, confirm = writes.command_flags(settings.profile if settings else DEFAULT_PROFILE, needed)
    return f"python -m services {profile}check --apply {finding.id} {confirm}"


def print_finding(finding: Finding, out: TextIO, settings: Settings | None = None) -> None:
    print(f"{str(finding.status).upper():8}{finding.id:28}{finding.title}", file=out)
    if finding.status not in (Status.FAIL, Status.WARN, Status.UNKNOWN):
        return
    if finding.caused_by:
        print(f"{'':8}caused by {', '.join(finding.caused_by)}", file=out)
    for line in finding.detail.splitlines():
        print(f"{'':8}{line}", file=out)
    if finding.fix:  # an unknown finding's fix is the grant the console's own identity needs
        print(f"{'':8}fix:", file=out)
        for line in finding.fix.splitlines():
            print(f"{'':10}{line}", file=out)
    if finding.remedy is not None:
        print(f"{'':8}apply it from here: {finding.remedy.summary}", file=out)
        print(f"{'':10}{apply_command(finding, settings)}  # with writes allowed", file=out)


def print_report(report: Report, out: TextIO, settings: Settings | None = None) -> None:
    for _hop, title, findings in report.by_hop():
        print(f"== {title}", file=out)
        for finding in findings:
            print_finding(finding, out, settings)
    print(f"-- {len(report.findings)} checks in {report.duration_ms / 1000:.1f} s: {report.summary_line()}", file=out)


#: the share of ``--deadline`` the credential check before the run may wait for AWS (a silent S3 is then left to the
#: bucket checks to report, with the rest of the deadline)
ACCESS_CHECK_SHARE = 0.25


def _check_access(settings: Settings, deadline_s: float) -> Budget:
    """Credentials refused: ConfigError (said once, exit 2). The run's budget, started before the credential check:
    the whole command ends within ``deadline_s``."""
    budget = Budget.of(deadline_s)
    require_access(settings.aws, settings.bucket, within_s=min(PROBE_DEADLINE, deadline_s * ACCESS_CHECK_SHARE))
    return budget


def _apply_fix(args: argparse.Namespace, target: Target, out: TextIO) -> int:
    """Run one check, apply its finding's remedy, run it again: 0 when it then passes, 1 when not, 2 refused.

    On a production profile without its name typed (``--confirm-profile``) it is refused before any AWS call."""
    settings = target.settings
    doc: dict[str, object] = {"check": args.apply, "before": None, "applied": None, "after": None}
    unconfirmed = writes.confirmation_refusal(settings, f"--apply {args.apply}", None, None, args.confirm_profile)
    if unconfirmed is not None:
        return _apply_done(args, doc, str(unconfirmed), EXIT_USAGE, out)
    budget = _check_access(settings, args.deadline)
    recorder = RunRecorder(settings, local_user(), env=args.env)
    hook = None if args.no_record else recorder
    (before,) = run_checks(settings, only=[args.apply], on_done=hook, budget=budget).findings
    _warn_unrecorded(recorder)
    doc["before"] = before.to_json()
    if not args.json:
        print_finding(before, out, settings)
    if before.status == Status.PASS:
        return _apply_done(args, doc, f"nothing to apply: {before.id} passes", EXIT_OK, out)
    try:
        outcome = remedies.apply_fix(
            before, settings, confirm=args.confirm, confirm_profile=args.confirm_profile, on_done=hook
        )
    except remedies.RemedyFailed as err:
        return _apply_done(args, doc, "\n".join(remedies.error_lines(err)), EXIT_FAILED, out)
    except ConsoleError as err:
        return _apply_done(args, doc, str(err), EXIT_USAGE, out)
    _warn_unrecorded(recorder)  # the run after the fix is recorded too (the diff of the two shows what it changed)
    doc.update(applied=outcome.applied.to_json(), after=outcome.after.to_json())
    if args.json:
        print(json.dumps(doc, indent=2), file=out)
    else:
        print(f"-- {outcome.applied.text}; the check again:", file=out)
        print_finding(outcome.after, out, settings)
    return EXIT_OK if outcome.passed else EXIT_FAILED


def _apply_done(args: argparse.Namespace, doc: dict[str, object], message: str, code: int, out: TextIO) -> int:
    """Report an --apply that wrote nothing (refused, failed, or nothing to do) and return its exit code."""
    if args.json:
        print(json.dumps({**doc, "error" if code else "note": message}, indent=2), file=out)
    print(("error: " if code else "note: ") + message, file=sys.stderr)
    return code


def _warn_unrecorded(recorder: RunRecorder) -> None:
    """The check's result stands; the history's failure is one line (said, then forgotten: a recorder may see
    a second run)."""
    if recorder.warning:
        print(f"warning: {recorder.warning}", file=sys.stderr)
        recorder.warning = None


def run(args: argparse.Namespace, target: Target, out: TextIO) -> int:
    if args.apply:
        return _apply_fix(args, target, out)
    budget = _check_access(target.settings, args.deadline)
    recorder = RunRecorder(target.settings, local_user(), env=args.env)
    report = run_checks(
        target.settings,
        only=args.only,
        on_done=None if args.no_record else recorder,
        canary=not args.no_canary,
        budget=budget,
    )
    _warn_unrecorded(recorder)
    if args.json:
        print(json.dumps(report.to_json(), indent=2), file=out)
    else:
        print_report(report, out, target.settings)
    for note in report.notes:  # what the run did besides judging (its canary): a note, like the CLI's others
        print(f"note: {note}", file=sys.stderr)
    return EXIT_FAILED if report.failed else EXIT_OK


def validate(args: argparse.Namespace) -> None:
    """Unknown ids, and --apply without one check id and a confirmation, are usage errors (ConfigError, exit 2)."""
    select(args.only)
    if not (args.deadline > 0 and math.isfinite(args.deadline)):
        raise ConfigError(f"--deadline takes a number of seconds above 0, not {args.deadline:g}")
    if args.apply is None:
        for flag, value in (("--confirm", args.confirm), ("--confirm-profile", args.confirm_profile)):
            if value is not None:
                raise ConfigError(f"{flag} goes with --apply ID")
        return
    if args.apply not in CHECK_IDS:
        raise ConfigError(f"--apply takes one check id, not {args.apply!r}; known: {', '.join(CHECK_IDS)}")
    if args.only:
        raise ConfigError("--apply runs only the check it fixes: drop --only")
    if args.confirm is None:
        raise ConfigError("--apply needs --confirm NAME: the bucket (or role) the fix writes to, typed out")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-canary",
        action="store_true",
        help="write nothing: no canary upload (the checks that judge it skip); by default one 8x8 PNG is uploaded "
        "under canary/ and removed after the run when writes are allowed",
    )
    parser.add_argument("--json", action="store_true", help='print {"target": {...}, "findings": [...]}')
    parser.add_argument(
        "--only", nargs="+", metavar="ID", help="check ids or hops (presign, lambda, bucket, upload, cdn)"
    )
    parser.add_argument(
        "--apply",
        metavar="ID",
        help="run this one check and apply its finding's fix (needs writes allowed and --confirm, and on a "
        "production profile --confirm-profile); "
        "exit 0 when the check then passes",
    )
    parser.add_argument("--confirm", metavar="NAME", help="with --apply: the bucket or role name the fix writes to")
    parser.add_argument(
        "--deadline",
        type=float,
        default=CHECK_DEADLINE,
        metavar="SECONDS",
        help=f"finish gathering within this many seconds; a hop still silent then is reported as failed "
        f"(default {CHECK_DEADLINE:g}; each probe at most {PROBE_DEADLINE:g} s of it)",
    )
    parser.add_argument(
        "--confirm-profile", metavar="NAME", help="with --apply on a production profile: the profile's name, typed out"
    )
    parser.add_argument("--no-record", action="store_true", help="do not record this run in the history")


COMMAND = Command(
    "check", "check every hop and explain each failure with its exact fix", add_arguments, run, validate=validate
)
