"""How every judge builds its finding: one constructor (`finding`, with the finding's stable cause codes), the fix as
text plus an optional one-call remedy, a `Tally` for judges that weigh several observations, and the unknown/skip
finding for a configuration read that holds no document. Pure: no I/O. Redaction is not done here: the runner
redacts every finding once."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from services.checks.denied import denied_finding
from services.checks.model import ConfigRead, Exchange, Finding, Impact, ReadState, Remedy, Status, read_state


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
    *,
    codes: Iterable[str] = (),
    impact: Impact | None = None,
) -> Finding:
    """A Finding with a one-line title, no fix (nor remedy) on pass/skip, only real evidence items (Nones dropped),
    and its cause codes (``<subject>.<cause>``, e.g. ``cors.origin_missing``: stable, what tests and users match on).
    `impact` only when this finding's differs from its check's."""
    items = tuple(item for item in evidence if isinstance(item, Exchange | ConfigRead))
    text, remedy = (fix.text, fix.remedy) if isinstance(fix, Fix) else (fix, None)
    if status in (Status.PASS, Status.SKIP):
        text, remedy = "", None
    return Finding(
        check_id,
        status,
        " ".join(title.split()),
        detail,
        text,
        items,
        remedy,
        impact=impact,
        codes=tuple(dict.fromkeys(codes)),
    )


@dataclass
class Tally:
    """Observations collected while judging one check, each problem with its cause code: the worst decides the
    status, its first sentence the title."""

    fails: list[str] = field(default_factory=list)
    warns: list[str] = field(default_factory=list)
    unknowns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)

    def fail(self, code: str, text: str) -> None:
        self.fails.append(text)
        self.codes.append(code)

    def warn(self, code: str, text: str) -> None:
        self.warns.append(text)
        self.codes.append(code)

    def unknown(self, code: str, text: str) -> None:
        self.unknowns.append(text)
        self.codes.append(code)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def fix(self, text: str) -> None:
        if text not in self.fixes:
            self.fixes.append(text)

    def status(self) -> Status:
        if self.fails:
            return Status.FAIL
        if self.warns:
            return Status.WARN
        if self.unknowns:
            return Status.UNKNOWN
        return Status.PASS

    def detail(self) -> str:
        return " ".join([*self.fails, *self.warns, *self.unknowns, *self.notes])

    def title(self, ok_title: str) -> str:
        worst = self.fails or self.warns or self.unknowns
        if not worst:
            return ok_title
        return first_sentence(worst[0]) + (f" (and {len(worst) - 1} more)" if len(worst) > 1 else "")

    def finding(
        self, check_id: str, ok_title: str, evidence: Iterable[object], *, ok_code: str, impact: Impact | None = None
    ) -> Finding:
        status = self.status()
        codes = self.codes if status is not Status.PASS else [ok_code]
        return finding(
            check_id,
            status,
            self.title(ok_title),
            self.detail(),
            "\n".join(self.fixes),
            evidence,
            codes=codes,
            impact=impact,
        )


def first_sentence(text: str) -> str:
    """A one-line title from a detail sentence ("title: explanation"): the part before its first colon."""
    head = text.split(": ", 1)[0]
    head = " ".join(head.split())
    return (head[:157] + "…" if len(head) > 160 else head).rstrip(". ")


def dump(value: Any, *, indent: int | None = None) -> str:
    """JSON for details and fixes; never raises on what a gatherer may hand over (datetimes, odd keys)."""
    return json.dumps(value, indent=indent, default=str, skipkeys=True)


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
        return finding(check_id, Status.UNKNOWN, f"Cannot judge: {what} was not read", detail, codes=("read.absent",))
    state = read_state(read)
    name = call_name(read, call)
    if state is ReadState.MISSING and read.code == "NoSuchBucket":
        detail = f"{name} answered {answer(read)}: check PIPELINE_BUCKET and the region the console reads."
        title = "Cannot judge: the bucket does not exist"
        return finding(check_id, Status.UNKNOWN, title, detail, "", (read,), codes=("bucket.no_such_bucket",))
    if state in (ReadState.OK, ReadState.MISSING):
        return None
    if state is ReadState.DENIED:
        return denied_finding(check_id, read, what, resource, default_call=call, also=also)
    if state is ReadState.NOT_CONFIGURED:
        detail = f"{name} was not made: {answer(read)}."
        title = f"Not judged: the console was not told where to read {what}"
        return finding(check_id, Status.SKIP, title, detail, codes=("read.not_configured",))
    detail = f"{name} failed ({answer(read)}); nothing is concluded from it. Run the diagnosis again."
    return finding(
        check_id, Status.UNKNOWN, f"Cannot judge: reading {what} failed", detail, "", (read,), codes=("read.failed",)
    )


def short(value: Any, limit: int = 200) -> str:
    text = dump(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def reply_json(exchange: Exchange | None) -> Any:
    """An exchange's body as JSON, or None (never raises: bodies are whatever came back)."""
    if exchange is None or not exchange.body:
        return None
    try:
        return json.loads(exchange.body)
    except (ValueError, RecursionError, TypeError):
        return None


def presigned_url(exchange: Exchange | None) -> str | None:
    """The ``presignedUrl`` of a presign reply (None when the reply is no JSON object with one: never raises)."""
    doc = reply_json(exchange)
    url = doc.get("presignedUrl") if isinstance(doc, dict) else None
    return url if isinstance(url, str) and url else None


def presigned_post(exchange: Exchange | None) -> tuple[str, dict[str, str]] | None:
    """A presign reply's presigned POST, ``(url, fields)``: ``{"url", "fields"}`` as boto3's generate_presigned_post
    gives them (None when the reply is no such JSON object: never raises)."""
    doc = reply_json(exchange)
    if not isinstance(doc, dict) or "presignedUrl" in doc:
        return None
    url, fields = doc.get("url"), doc.get("fields")
    if not isinstance(url, str) or not url or not isinstance(fields, dict):
        return None
    return url, {str(name): str(value) for name, value in fields.items()}
