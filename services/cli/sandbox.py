"""``python -m services sandbox``: run the local sandbox pipeline and print the variables that point at it."""

from __future__ import annotations

import argparse
from typing import TextIO

from services.cli.common import EXIT_OK, Command
from services.sandbox import Sandbox
from services.sandbox.switches import SWITCH_NAMES


def run(args: argparse.Namespace, out: TextIO) -> int:
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


def add_arguments(parser: argparse.ArgumentParser) -> None:
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
