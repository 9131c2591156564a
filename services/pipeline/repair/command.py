"""The repair as a command line to copy: ``python -m services repair`` with the flags that make it run on the same
profile, bucket prefix and Cache-Control, and confirm it as a write there asks. Written here once for the CLI's own
"to apply" line and for the checks' fixes for objects already stored. Pure text."""

from __future__ import annotations

import shlex
from typing import Protocol

from services.core import writes
from services.core.writes import OnProfile


class Repaired(OnProfile, Protocol):
    """What the command is for: a profile's bucket (Settings, or a check run's target)."""

    @property
    def bucket(self) -> str: ...


def repair_command(on: Repaired, *, prefix: str = "", cache_control: str | None = None, apply: bool = False) -> str:
    """The plan (a dry run), or with ``apply`` the fix: the bucket's name to type, and on a production profile the
    profile's (``--confirm`` / ``--confirm-profile``)."""
    profile, confirm = writes.command_flags(on.profile, writes.confirmations(on, "bucket", on.bucket))
    options = (f" --prefix {shlex.quote(prefix)}" if prefix else "") + (
        f" --cache-control {shlex.quote(cache_control)}" if cache_control else ""
    )
    return f"python -m services {profile}repair{options}" + (f" --apply {confirm}" if apply else "")
