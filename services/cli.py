"""``python -m services``: everything the console's pages do, for scripts and CI.

Exit codes: 0 success, 1 something in the pipeline failed, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from services import browse
from services.checks import remedy as remedies
from services.checks.model import Finding, Status
from services.checks.report import Report
from services.checks.runner import CHECK_IDS, run_checks, select
from services.errors import ConfigError, ConsoleError, PipelineError, SandboxError
from services.images import ALLOWED_EXTENSIONS
from services.presign import hand_out_url
from services.redact import redact_text
from services.runtime import Target, resolve_target
from services.sandbox import Sandbox
from services.sandbox.switches import SWITCH_NAMES
from services.transport import new_session
from services.upload import HOP_NAMES, UploadInput, UploadResult, failed_input, upload_batch

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


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


def cmd_upload(args: argparse.Namespace, target: Target, out: TextIO) -> int:
    items, unreadable = _read_inputs(args.files)
    results: dict[int, UploadResult] = dict(unreadable)
    readable = [(i, item) for i, item in enumerate(items) if i not in unreadable]
    batch = upload_batch(
        [item for _, item in readable], target.settings, workers=args.workers, strip_metadata=args.strip_metadata
    )
    for position, result in batch:
        results[readable[position][0]] = result
    for index in range(len(items)):
        result = results[index]
        if args.json:
            print(json.dumps(result.to_json()), file=out)
        else:
            _print_human(result, out)
    return EXIT_OK if all(r.ok for r in results.values()) else EXIT_FAILED


def cmd_sandbox(args: argparse.Namespace, out: TextIO) -> int:
    sandbox = Sandbox.start(breaks=tuple(args.breaks))
    print("# Sandbox running (local emulation). Point other tools at it with:", file=out)
    for name, value in sandbox.environment().items():
        print(f"export {name}={value}", file=out)
    print(
        "# AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY above are the sandbox's public dummy values, not secrets.", file=out
    )
    broken = [state for state in sandbox.switches() if state.on]
    for state in broken:
        print(f"# BROKEN on purpose: {state.name} — {state.title}: {state.symptom}", file=out)
    print(
        f"# Break switches: {', '.join(SWITCH_NAMES)} (PUT {sandbox.endpoints.control}/_sandbox/switches/NAME)",
        file=out,
    )
    print("# Press Ctrl-C to stop.", file=out, flush=True)
    try:
        sandbox.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    return EXIT_OK


def _print_finding(finding: Finding, out: TextIO) -> None:
    print(f"{str(finding.status).upper():8}{finding.id:28}{finding.title}", file=out)
    if finding.status not in (Status.FAIL, Status.WARN, Status.UNKNOWN):
        return
    for line in finding.detail.splitlines():
        print(f"{'':8}{line}", file=out)
    if finding.fix:  # an unknown finding's fix is the grant the console's own identity needs
        print(f"{'':8}fix:", file=out)
        for line in finding.fix.splitlines():
            print(f"{'':10}{line}", file=out)
    if finding.remedy is not None:
        print(f"{'':8}apply it from here: {finding.remedy.summary}", file=out)
        command = f"python -m services check --apply {finding.id} --confirm {shlex.quote(finding.remedy.resource)}"
        print(f"{'':10}{command}  # with PIPELINE_ALLOW_WRITES=true", file=out)


def _print_report(report: Report, out: TextIO) -> None:
    for _hop, title, findings in report.by_hop():
        print(f"== {title}", file=out)
        for finding in findings:
            _print_finding(finding, out)
    counts = ", ".join(f"{n} {s}" for s, n in report.counts().items() if n)
    print(f"-- {len(report.findings)} checks in {report.duration_ms / 1000:.1f} s: {counts}", file=out)


def _apply_fix(args: argparse.Namespace, target: Target, out: TextIO) -> int:
    """Run one check, apply its finding's remedy, run it again: 0 when it then passes, 1 when not, 2 refused."""
    (before,) = run_checks(target.settings, only=[args.apply]).findings
    doc: dict[str, object] = {"check": args.apply, "before": before.to_json(), "applied": None, "after": None}
    if not args.json:
        _print_finding(before, out)
    if before.status == Status.PASS:
        return _apply_done(args, doc, f"nothing to apply: {before.id} passes", EXIT_OK, out)
    try:
        outcome = remedies.apply_fix(before, target.settings, confirm=args.confirm)
    except remedies.RemedyFailed as err:
        return _apply_done(args, doc, "\n".join(remedies.error_lines(err)), EXIT_FAILED, out)
    except ConsoleError as err:
        return _apply_done(args, doc, str(err), EXIT_USAGE, out)
    doc.update(applied=outcome.applied.to_json(), after=outcome.after.to_json())
    if args.json:
        print(json.dumps(doc, indent=2), file=out)
    else:
        print(f"-- {outcome.applied.text}; the check again:", file=out)
        _print_finding(outcome.after, out)
    return EXIT_OK if outcome.passed else EXIT_FAILED


def _apply_done(args: argparse.Namespace, doc: dict[str, object], message: str, code: int, out: TextIO) -> int:
    """Report an --apply that wrote nothing (refused, failed, or nothing to do) and return its exit code."""
    if args.json:
        print(json.dumps({**doc, "error" if code else "note": message}, indent=2), file=out)
    print(("error: " if code else "note: ") + message, file=sys.stderr)
    return code


def cmd_check(args: argparse.Namespace, target: Target, out: TextIO) -> int:
    if args.apply:
        return _apply_fix(args, target, out)
    report = run_checks(target.settings, only=args.only)
    if args.json:
        print(json.dumps(report.to_json(), indent=2), file=out)
    else:
        _print_report(report, out)
    return EXIT_FAILED if report.failed else EXIT_OK


def cmd_browse(args: argparse.Namespace, target: Target, out: TextIO) -> int:
    settings = target.settings
    pages = browse.iter_pages(browse.s3_client(settings), settings, prefix=args.prefix, limit=args.limit)
    try:
        for line in browse.listing_json(pages) if args.json else browse.format_listing(pages):
            print(line, file=out)
    except browse.BrowseError as err:
        print(browse.cli_error(err), file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def cmd_presign(args: argparse.Namespace, target: Target, out: TextIO) -> int:
    """One presigned URL, printed whole: to the person who ran the command, and nowhere else."""
    try:
        with new_session() as session:
            handed = hand_out_url(session, target.settings, args.extension)
    except PipelineError as err:
        print(f"error: {redact_text(str(err))}", file=sys.stderr)
        if err.cause:
            print(f"cause: {err.cause}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps(handed.to_json()), file=out)
        return EXIT_OK
    until = handed.expires_at.strftime("%Y-%m-%d %H:%M:%S UTC") if handed.expires_at else "an unknown time"
    signed = "signed by the endpoint" if handed.content_type_signed else "the endpoint did not say which type it signed"
    print(f"# a credential until {until}: anyone holding it can upload to this key; do not paste it anywhere", file=out)
    print(handed.url, file=out)
    print(f"# key: {handed.key}", file=out)
    print(f"# Content-Type to send: {handed.content_type} ({signed})", file=out)
    print(handed.curl(), file=out)
    return EXIT_OK


COMMANDS = {"upload": cmd_upload, "check": cmd_check, "browse": cmd_browse, "presign": cmd_presign}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m services", description="Image Pipeline Console, command line.")
    commands = parser.add_subparsers(dest="command", required=True)
    upload = commands.add_parser("upload", help="upload images through presign -> S3 -> CDN, as the web app does")
    upload.add_argument("files", nargs="+", metavar="FILE")
    upload.add_argument("--json", action="store_true", help="one JSON object per file (JSON Lines)")
    upload.add_argument("--workers", type=int, default=8, help="files uploaded at once (default 8)")
    upload.add_argument(
        "--strip-metadata",
        action="store_true",
        help="optional: re-encode each image without its metadata (EXIF incl. GPS, XMP, IPTC, comments, PNG text) "
        "before upload; the ICC colour profile is kept. The uploaded bytes differ from the file's (new sha256)",
    )
    check = commands.add_parser("check", help="check every hop and explain each failure with its exact fix")
    check.add_argument("--json", action="store_true", help='print {"target": {...}, "findings": [...]}')
    check.add_argument(
        "--only", nargs="+", metavar="ID", help="check ids or hops (presign, lambda, bucket, upload, cdn)"
    )
    check.add_argument(
        "--apply",
        metavar="ID",
        help="run this one check and apply its finding's fix (needs PIPELINE_ALLOW_WRITES=true and --confirm); "
        "exit 0 when the check then passes",
    )
    check.add_argument("--confirm", metavar="NAME", help="with --apply: the bucket or role name the fix writes to")
    listing = commands.add_parser("browse", help="list keys in key order with size, type, last modified, CDN URL")
    listing.add_argument("--prefix", default="", help="only keys that start with this (literal, case-sensitive)")
    listing.add_argument("--limit", type=int, default=1000, help="at most this many keys (default 1000)")
    listing.add_argument("--json", action="store_true", help="one JSON object per key (JSON Lines)")
    presign = commands.add_parser(
        "presign",
        help="ask the endpoint for one presigned PUT URL, as the web app does, and print it whole with a curl command",
    )
    presign.add_argument(
        "--extension", default="png", choices=ALLOWED_EXTENSIONS, help="the x-extension header (default png)"
    )
    presign.add_argument("--json", action="store_true", help="print the URL, key, type to send and expiry as JSON")
    sandbox = commands.add_parser(
        "sandbox", help="run the local sandbox pipeline and print the variables that point at it"
    )
    sandbox.add_argument(
        "--break",
        dest="breaks",
        action="append",
        default=[],
        choices=SWITCH_NAMES,
        metavar="NAME",
        help=f"start with a break switch on (repeatable): {', '.join(SWITCH_NAMES)}",
    )
    return parser


def _check_apply_usage(args: argparse.Namespace) -> None:
    """--apply takes one check id and a confirmation; raises ConfigError (exit 2) otherwise."""
    if args.apply is None:
        if args.confirm is not None:
            raise ConfigError("--confirm goes with --apply ID")
        return
    if args.apply not in CHECK_IDS:
        raise ConfigError(f"--apply takes one check id, not {args.apply!r}; known: {', '.join(CHECK_IDS)}")
    if args.only:
        raise ConfigError("--apply runs only the check it fixes: drop --only")
    if args.confirm is None:
        raise ConfigError("--apply needs --confirm NAME: the bucket (or role) the fix writes to, typed out")


def main(argv: Sequence[str] | None = None, env: dict[str, str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    env = dict(os.environ) if env is None else env
    if args.command == "sandbox":
        try:
            return cmd_sandbox(args, out)
        except SandboxError as err:
            print(f"error: {err}", file=sys.stderr)
            return EXIT_USAGE
    if args.command == "check":
        try:
            select(args.only)
            _check_apply_usage(args)
        except ConfigError as err:
            print(f"error: {err}", file=sys.stderr)
            return EXIT_USAGE
    if getattr(args, "limit", 1) < 1:
        print("error: --limit must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    if getattr(args, "workers", 1) < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    try:
        target = resolve_target(env)
    except (ConfigError, SandboxError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    if target.sandbox is not None:
        print(
            "note: no pipeline configured; using a temporary sandbox (it vanishes on exit). "
            "Run `python -m services sandbox` for one that lasts.",
            file=sys.stderr,
        )
    try:
        return COMMANDS[args.command](args, target, out)
    finally:
        target.close()
