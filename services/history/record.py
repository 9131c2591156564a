"""Recording: a check run (through ``run_checks``' hook) and the console's uploads, into the history.

A history that cannot be written never breaks a check or an upload: the recorder keeps one warning sentence
for the page or the CLI to show, and the run's result stands.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.checks.evidence import Evidence
from services.checks.model import Finding
from services.checks.report import Report
from services.core.errors import HistoryError
from services.core.settings import Settings
from services.history.documents import run_documents
from services.history.model import UPLOAD_OK, DocumentRecord, FindingRecord, RunRecord, UploadRecord
from services.history.store import HistoryStore, open_store
from services.pipeline.upload import UploadInput, UploadResult

WARNING_PREFIX = "history not recorded"


def profile_of(settings: Settings) -> str:
    """The profile a run or an upload is recorded under (the one place that decides it)."""
    return settings.profile


def local_user() -> str:
    """Who runs the CLI: the operating system's user name."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no name for this uid (a container without /etc/passwd entry)
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


def _as_json(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def finding_record(finding: Finding) -> FindingRecord:
    """The finding's id, status and title; impact / codes / caused_by where the finding model has them."""
    impact = getattr(finding, "impact", None)
    codes = getattr(finding, "codes", None)
    caused_by = getattr(finding, "caused_by", None)
    return FindingRecord(
        check_id=finding.id,
        status=str(finding.status),
        title=finding.title,
        impact=None if impact is None else str(impact),
        codes=None if codes is None else tuple(str(code) for code in codes),
        caused_by=None if caused_by is None else _as_json(caused_by),
    )


def run_record(report: Report, evidence: Evidence, profile: str, by: str) -> RunRecord:
    documents = run_documents(evidence, report.findings)
    return RunRecord(
        profile=profile,
        started_at=report.started_at,
        by=by,
        duration_ms=report.duration_ms,
        counts=report.counts(),
        target=report.target.to_json(),
        findings=tuple(finding_record(f) for f in report.findings),
        documents=tuple(DocumentRecord(name, body, checks) for name, (body, checks) in sorted(documents.items())),
    )


@dataclass
class RunRecorder:
    """``run_checks``' hook: records the run; a failure becomes ``warning`` (one sentence), never an exception."""

    settings: Settings
    by: str
    env: Mapping[str, str] | None = None
    store: HistoryStore | None = None
    run_id: int | None = None
    warning: str | None = None

    def __call__(self, report: Report, evidence: Evidence) -> None:
        try:
            store = self.store or open_store(self.env)
            self.run_id = store.record_run(run_record(report, evidence, profile_of(self.settings), self.by))
        except HistoryError as err:
            self.warning = f"{WARNING_PREFIX}: {err}"


def upload_record(item: UploadInput | None, result: UploadResult, profile: str, by: str) -> UploadRecord:
    if result.ok:
        outcome = UPLOAD_OK
    else:
        step = result.failed_step
        if step is None:
            outcome = "failed"
        else:
            status = f" (HTTP {step.http_status})" if step.http_status else ""
            outcome = f"failed at {step.name}{status}: {step.error or step.code or 'no reason given'}"
    size = result.image.size if result.image is not None else (len(item.data) if item is not None else None)
    return UploadRecord(
        profile=profile,
        uploaded_at=datetime.now(UTC),
        by=by,
        file_name=item.name if item is not None else result.file,
        outcome=outcome,
        key=result.key,
        size=size,
        sha256=result.sha256,
        content_type=result.content_type,
    )


def record_uploads(
    settings: Settings,
    uploaded: Sequence[tuple[UploadInput | None, UploadResult]],
    by: str,
    env: Mapping[str, str] | None = None,
) -> str | None:
    """Record each (input, result) of an upload batch; returns a warning sentence when the history failed."""
    profile = profile_of(settings)
    try:
        open_store(env).record_uploads([upload_record(item, result, profile, by) for item, result in uploaded])
    except HistoryError as err:
        return f"{WARNING_PREFIX}: {err}"
    return None
