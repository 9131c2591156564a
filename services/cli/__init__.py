"""``python -m services``: everything the console's pages do, for scripts and CI.

One module per command (``services/cli/<command>.py``, each a ``Command``); this one parses the arguments,
resolves the target and runs the command. Exit codes: 0 success, 1 something in the pipeline failed, 2 usage
or configuration error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TextIO

from services.cli import browse, check, presign, sandbox, upload
from services.cli.common import EXIT_USAGE, Command
from services.core.errors import ConfigError, SandboxError
from services.runtime import resolve_target

#: every command, in the order ``--help`` lists them
COMMANDS: tuple[Command, ...] = (
    upload.COMMAND,
    check.COMMAND,
    browse.COMMAND,
    presign.COMMAND,
    sandbox.COMMAND,
)
BY_NAME = {command.name: command for command in COMMANDS}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m services", description="Image Pipeline Console, command line.")
    commands = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_arguments(commands.add_parser(command.name, help=command.help))
    return parser


def main(argv: Sequence[str] | None = None, env: dict[str, str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    command = BY_NAME[args.command]
    env = dict(os.environ) if env is None else env
    try:
        command.validate(args)
        if not command.needs_target:
            return command.run(args, out)
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
        return command.run(args, target, out)
    finally:
        target.close()
