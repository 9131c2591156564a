"""How every judge builds its finding: one constructor, the fix as text plus an optional one-call remedy, and the
unknown/skip finding for a configuration read that holds no document. Pure: no I/O."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from services.checks.denied import denied_finding
from services.checks.model import ConfigRead, Exchange, Finding, ReadState, Remedy, Status


@dataclass(frozen=True)
class Fix:
    """A fix's text, and the same change as one AWS call when it is one (None: text only)."""

    text: str
    remedy: Remedy | None = None

    def also(self, lines: Sequence[str]) -> Fix:
        """The fix with lines appended to its text (notes, steps by hand); the remedy is unchanged."""
        return replace(self, text="\n".join([self.text, *lines]))


def finding(
    check_id: str,
    status: Status,
    title: str,
    detail: str = "",
    fix: str | Fix = "",
    evidence: Iterable[object] = (),
) -> Finding:
    """A Finding with a one-line title, no fix (nor remedy) on pass/skip, and only real evidence items (Nones
    dropped)."""
    items = tuple(item for item in evidence if isinstance(item, Exchange | ConfigRead))
    text, remedy = (fix.text, fix.remedy) if isinstance(fix, Fix) else (fix, None)
    if status in (Status.PASS, Status.SKIP):
        text, remedy = "", None
    return Finding(check_id, status, " ".join(title.split()), detail, text, items, remedy)


def dump(value: Any, *, indent: int | None = None) -> str:
    """JSON for details and fixes; never raises on what a gatherer may hand over (datetimes, odd keys)."""
    return json.dumps(value, indent=indent, default=str, skipkeys=True)


def read_state(read: ConfigRead) -> ReadState | None:
    try:
        return ReadState(read.state)
    except (ValueError, TypeError):
        return None


def answer(read: ConfigRead) -> str:
    """What an AWS read answered when it failed, e.g. ``AccessDenied: Access Denied``."""
    parts = [str(part) for part in (read.code, read.message) if part]
    return ": ".join(parts) if parts else "no error code recorded"


def call_name(read: ConfigRead, default: str) -> str:
    return read.call if isinstance(read.call, str) and read.call else default


def unreadable(
    check_id: str, read: ConfigRead | None, what: str, call: str, resource: str, *, also: str = ""
) -> Finding | None:
    """The unknown/skip finding when `read` holds no document to judge; None when it is OK or MISSING.

    Why separate: AccessDenied on a read says the console's identity lacks a permission, nothing about the bucket;
    it must never turn into a misconfiguration verdict. `resource` is the ARN the read was about (the fix grants
    the read on it); `also` adds what was observed anyway.
    """
    if not isinstance(read, ConfigRead):
        detail = f"There is no {call} result in the evidence: its gatherer did not run or an earlier step failed."
        return finding(check_id, Status.UNKNOWN, f"Cannot judge: {what} was not read", detail)
    state = read_state(read)
    name = call_name(read, call)
    if state is ReadState.MISSING and read.code == "NoSuchBucket":
        detail = f"{name} answered {answer(read)}: check PIPELINE_BUCKET and the region the console reads."
        return finding(check_id, Status.UNKNOWN, "Cannot judge: the bucket does not exist", detail, "", (read,))
    if state in (ReadState.OK, ReadState.MISSING):
        return None
    if state is ReadState.DENIED:
        return denied_finding(check_id, read, what, resource, default_call=call, also=also)
    if state is ReadState.NOT_CONFIGURED:
        detail = f"{name} was not made: {answer(read)}."
        return finding(check_id, Status.SKIP, f"Not judged: the console was not told where to read {what}", detail)
    detail = f"{name} failed ({answer(read)}); nothing is concluded from it. Run the diagnosis again."
    return finding(check_id, Status.UNKNOWN, f"Cannot judge: reading {what} failed", detail, "", (read,))


def short(value: Any, limit: int = 200) -> str:
    text = dump(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
