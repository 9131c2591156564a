"""What every command shares: exit codes and the command protocol."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

#: the public contract (README): 0 all good, 1 something in the pipeline failed, 2 usage or configuration error
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
#: the reader of stdout went away (``| head``): the status a shell reports for a process ended by SIGPIPE
EXIT_PIPE_CLOSED = 141
#: Ctrl-C: the status a shell reports for a process ended by SIGINT
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class Command:
    """One ``python -m services NAME``: its arguments, a usage check made before anything starts, and the run.

    ``run`` gets the resolved target of the chosen profile (the configured pipeline, or a temporary sandbox) unless
    ``needs_target`` is off; with ``needs_profiles`` it gets every profile (services/core/profiles.Profiles) instead;
    ``validate`` raises ConfigError (exit 2) for usage errors, before a sandbox is started.
    """

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[..., int]
    validate: Callable[[argparse.Namespace], None] = lambda args: None
    needs_target: bool = True
    needs_profiles: bool = False


def at_least_one(name: str, value: int) -> None:
    """A count argument (``--limit``, ``--workers``) below 1 is a usage error."""
    from services.core.errors import ConfigError

    if value < 1:
        raise ConfigError(f"{name} must be at least 1")
