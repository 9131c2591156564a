"""``python -m services``: everything the console's pages do, for scripts and CI.

One module per command (``services/cli/<command>.py``, each a ``Command``); this one parses the arguments,
resolves the target of the chosen profile (``--profile NAME``, before or after the command name) and runs the
command. Exit codes: 0 success, 1 something in the pipeline failed, 2 usage
or configuration error.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TextIO

from botocore.exceptions import BotoCoreError, ClientError

from services.cli import browse, check, diff, history, presign, profiles, repair, sandbox, upload, watch
from services.cli.common import EXIT_PIPE_CLOSED, EXIT_USAGE, Command
from services.core.awserrors import describe_aws_error
from services.core.errors import ConsoleError
from services.core.profiles import PROFILE_VARIABLE, load_profiles, read_secrets_files
from services.runtime import Target, resolve_target

#: every command, in the order ``--help`` lists them
COMMANDS: tuple[Command, ...] = (
    upload.COMMAND,
    check.COMMAND,
    browse.COMMAND,
    repair.COMMAND,
    presign.COMMAND,
    sandbox.COMMAND,
    profiles.COMMAND,
    history.COMMAND,
    diff.COMMAND,
    watch.COMMAND,
)
BY_NAME = {command.name: command for command in COMMANDS}


PROFILE_HELP = f"the pipeline profile to operate (default: {PROFILE_VARIABLE}, else default, else sandbox)"


def _profile_option(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument("--profile", metavar="NAME", default=default, help=PROFILE_HELP)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m services", description="Image Pipeline Console, command line.")
    _profile_option(parser, None)
    commands = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        sub = commands.add_parser(command.name, help=command.help)
        _profile_option(sub, argparse.SUPPRESS)  # after the command name too; absent there, the one before stands
        command.add_arguments(sub)
    return parser


def _note_target(target: Target, *, asked: bool) -> None:
    """Say on stderr what the run operates when it could surprise: a temporary sandbox, a production pipeline."""
    if target.sandbox is not None:
        why = "profile sandbox" if asked else "no pipeline configured"
        print(
            f"note: {why}; using a temporary sandbox (it vanishes on exit). "
            "Run `python -m services sandbox` for one that lasts.",
            file=sys.stderr,
        )
    elif target.settings.production:
        print(f"note: profile {target.profile} is PRODUCTION (bucket {target.settings.bucket})", file=sys.stderr)


def main(
    argv: Sequence[str] | None = None,
    env: dict[str, str] | None = None,
    out: TextIO | None = None,
    secrets: Mapping[str, object] | None = None,
) -> int:
    """Run one command. ``secrets``: the secrets document (default: ``.streamlit/secrets.toml``, as Streamlit reads
    it), where the ``[pipelines.NAME]`` profiles are.

    The top-level guard: whatever escapes a command (a credential, configuration or AWS error) becomes one line on
    stderr and exit 2, and a reader that stops reading (``| head``) ends the run quietly."""
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    try:
        code = _run(BY_NAME[args.command], args, dict(os.environ) if env is None else env, out, secrets)
        out.flush()  # inside the guard: a closed pipe shows here, not at interpreter exit
        return code
    except BrokenPipeError:
        return _reader_went_away(out)
    except (BotoCoreError, ClientError) as err:
        return _usage_error(describe_aws_error(err))
    except ConsoleError as err:
        return _usage_error(str(err))


def _run(
    command: Command,
    args: argparse.Namespace,
    env: dict[str, str],
    out: TextIO,
    secrets: Mapping[str, object] | None,
) -> int:
    args.env = env  # the environment the command runs in (the history store is chosen from it)
    command.validate(args)
    document = read_secrets_files() if secrets is None else secrets
    known = load_profiles(env, document)
    if args.profile is not None:
        known.get(args.profile)  # an unknown name is a usage error for every command
    if command.needs_profiles:
        return command.run(args, known, out)
    if not command.needs_target:
        return command.run(args, out)
    target = resolve_target(env, document, args.profile)
    _note_target(target, asked=args.profile is not None or bool(env.get(PROFILE_VARIABLE)))
    try:
        return command.run(args, target, out)
    finally:
        target.close()


def _usage_error(message: str) -> int:
    print(f"error: {' '.join(message.split())}", file=sys.stderr)  # one line, whatever the message holds
    return EXIT_USAGE


def _reader_went_away(out: TextIO) -> int:
    """The reader closed the pipe (``| head``): stop without a word, as Unix tools do. Python would flush stdout
    again at exit and report that failure too, so stdout is pointed at /dev/null first (Python's documented
    recipe: https://docs.python.org/3/library/signal.html#note-on-sigpipe)."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
    return EXIT_PIPE_CLOSED
