"""What the history keeps: check runs with their findings and configuration documents, and uploads. Pure data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: the statuses a run counts, in the order ``history --json`` prints them
STATUSES: tuple[str, ...] = ("pass", "warn", "fail", "unknown", "skip")


@dataclass(frozen=True)
class FindingRecord:
    check_id: str
    status: str
    title: str
    impact: str | None = None  # None: the finding model had no impact
    codes: tuple[str, ...] | None = None
    caused_by: Any = None  # JSON-able, or None


@dataclass(frozen=True)
class DocumentRecord:
    """A configuration document as the checks read it: pretty-printed JSON, and which checks read it."""

    name: str
    body: str
    checks: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunRecord:
    """A check run, as it is written."""

    profile: str
    started_at: datetime
    by: str
    duration_ms: float
    counts: Mapping[str, int]
    target: Mapping[str, Any]
    findings: tuple[FindingRecord, ...] = ()
    documents: tuple[DocumentRecord, ...] = ()


@dataclass(frozen=True)
class RunSummary:
    """A recorded run, as listed."""

    id: int
    profile: str
    started_at: datetime
    by: str
    duration_ms: float
    counts: Mapping[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The public shape of one of ``history --json``'s ``runs``."""
        return {
            "id": self.id,
            "profile": self.profile,
            "started_at": self.started_at.isoformat(),
            "by": self.by,
            "counts": {status: int(self.counts.get(status, 0)) for status in STATUSES},
        }

    def label(self) -> str:
        """One line: ``#12 2026-12-02 01:02:03 UTC by alice@example.com``."""
        return f"#{self.id} {self.started_at:%Y-%m-%d %H:%M:%S} UTC by {self.by}"


#: the outcome of an upload that stored its object (any other outcome says where it failed)
UPLOAD_OK = "ok"


@dataclass(frozen=True)
class UploadRecord:
    """One file uploaded through the console (page or CLI), whatever its outcome."""

    profile: str
    uploaded_at: datetime
    by: str
    file_name: str
    outcome: str  # "ok", or "failed at <step>: <error>"
    key: str | None = None
    size: int | None = None
    sha256: str | None = None
    content_type: str | None = None
    id: int | None = None  # set once recorded

    def to_json(self) -> dict[str, Any]:
        """The public shape of one of ``history --uploads --json``'s ``uploads``."""
        return {
            "id": self.id,
            "profile": self.profile,
            "uploaded_at": self.uploaded_at.isoformat(),
            "by": self.by,
            "file": self.file_name,
            "key": self.key,
            "size": self.size,
            "sha256": self.sha256,
            "content_type": self.content_type,
            "outcome": self.outcome,
        }
