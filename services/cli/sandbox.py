"""``python -m services sandbox``: run the local sandbox pipeline and print the variables that point at it."""

from __future__ import annotations

import argparse
from typing import TextIO

from services.cli.common import EXIT_OK, Command
from services.core import localdns
from services.sandbox import Sandbox, layout
from services.sandbox.switches import SWITCH_NAMES


def run(args: argparse.Namespace, out: TextIO) -> int:
    if args.hosts:  # the names are fixed: nothing needs to start
        print(localdns.hosts_entry(layout.virtual_hosts()), file=out)
        return EXIT_OK
    sandbox = Sandbox.start(breaks=tuple(args.breaks))
    print("# Sandbox running (local emulation). Point other tools at it with:", file=out)
    for line in sandbox.export_lines():
        print(line, file=out)
    print(
        "# Its presigned URLs name *.localhost hosts: browsers and curl send them to loopback, glibc (Python "
        "requests, boto3 scripts) does not. For those, add to /etc/hosts (`python -m services sandbox --hosts`):",
        file=out,
    )
    print(f"#   {localdns.hosts_entry(layout.virtual_hosts())}", file=out)
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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--hosts",
        action="store_true",
        help="print the /etc/hosts line for the sandbox's *.localhost names (glibc does not resolve them) and exit",
    )
    parser.add_argument(
        "--break",
        dest="breaks",
        action="append",
        default=[],
        choices=SWITCH_NAMES,
        metavar="NAME",
        help=f"start with a break switch on (repeatable): {', '.join(SWITCH_NAMES)}",
    )


COMMAND = Command(
    "sandbox",
    "run the local sandbox pipeline and print the variables that point at it",
    add_arguments,
    run,
    needs_target=False,
)
