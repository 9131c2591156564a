"""What changed between two recorded runs: the checks whose status moved, and the documents that differ."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.core.errors import HistoryError
from services.history.model import DocumentRecord, RunSummary
from services.history.store import HistoryStore


@dataclass(frozen=True)
class StatusChange:
    id: str
    before: str | None  # None: the earlier run did not judge this check
    after: str | None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "from": self.before, "to": self.after}


@dataclass(frozen=True)
class DocumentChange:
    name: str
    checks: tuple[str, ...]  # the checks that read it, in either run
    before: str | None  # None: not gathered in that run
    after: str | None
    diff: str  # unified diff of the pretty-printed documents

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "checks": list(self.checks),
            "before": self.before,
            "after": self.after,
            "diff": self.diff,
        }


@dataclass(frozen=True)
class RunDiff:
    before: RunSummary
    after: RunSummary
    status_changes: tuple[StatusChange, ...]
    documents: tuple[DocumentChange, ...]

    @property
    def changed(self) -> bool:
        return bool(self.status_changes or self.documents)

    def to_json(self) -> dict[str, Any]:
        """The public shape of ``diff --json``."""
        return {
            "from": self.before.to_json(),
            "to": self.after.to_json(),
            "status_changes": [change.to_json() for change in self.status_changes],
            "documents": [document.to_json() for document in self.documents],
        }


def status_changes(before: Mapping[str, str], after: Mapping[str, str]) -> tuple[StatusChange, ...]:
    """Every check whose status differs, in the order the later run judged them (then those it dropped)."""
    ids = list(after) + [check for check in before if check not in after]
    return tuple(
        StatusChange(check, before.get(check), after.get(check))
        for check in ids
        if before.get(check) != after.get(check)
    )


def unified(name: str, before: str | None, after: str | None, labels: tuple[str, str]) -> str:
    lines = difflib.unified_diff(
        (before or "").splitlines(),
        (after or "").splitlines(),
        fromfile=f"{labels[0]}/{name}",
        tofile=f"{labels[1]}/{name}",
        lineterm="",
    )
    return "\n".join(lines)


def document_changes(
    before: Mapping[str, DocumentRecord], after: Mapping[str, DocumentRecord], labels: tuple[str, str]
) -> tuple[DocumentChange, ...]:
    changes = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        old_body, new_body = (old.body if old else None), (new.body if new else None)
        if old_body == new_body:
            continue
        checks = tuple(sorted({*(old.checks if old else ()), *(new.checks if new else ())}))
        changes.append(DocumentChange(name, checks, old_body, new_body, unified(name, old_body, new_body, labels)))
    return tuple(changes)


def _run(store: HistoryStore, run_id: int) -> RunSummary:
    run = store.run(run_id)
    if run is None:
        raise HistoryError(f"there is no recorded run #{run_id}")
    return run


def diff_runs(store: HistoryStore, before_id: int, after_id: int) -> RunDiff:
    """Status changes and changed documents from run ``before_id`` to run ``after_id``."""
    with store.reading():
        before, after = _run(store, before_id), _run(store, after_id)
        return diff_of(store, before, after, store.statuses([before.id, after.id]))


def diff_of(
    store: HistoryStore, before: RunSummary, after: RunSummary, statuses: Mapping[int, Mapping[str, str]]
) -> RunDiff:
    """The diff of two runs already read, with their statuses (only their documents are read here)."""
    documents = store.documents_of([before.id, after.id])
    labels = (f"run-{before.id}", f"run-{after.id}")
    return RunDiff(
        before,
        after,
        status_changes(statuses.get(before.id, {}), statuses.get(after.id, {})),
        document_changes(documents[before.id], documents[after.id], labels),
    )


def pick_runs(
    store: HistoryStore, profile: str, first: int | None = None, second: int | None = None
) -> tuple[int, int]:
    """The pair ``diff`` compares: both given; one given, to the latest run of its profile; none, the latest two."""
    if first is not None and second is not None:
        return first, second
    if first is not None:
        run = _run(store, first)
        (latest,) = store.runs(profile=run.profile, limit=1)
        return first, latest.id
    latest_two = store.runs(profile=profile, limit=2)
    if len(latest_two) < 2:
        raise HistoryError(
            f"profile {profile!r} has {len(latest_two)} recorded run(s); a diff needs two (run `python -m services check`)"
        )
    return latest_two[1].id, latest_two[0].id
