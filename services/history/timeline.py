"""The History page's view: a profile's recent runs, each check's status over them, and the newest turn to fail.

Bounded by a window of recent runs, so the first view costs the same over ten runs or ten thousand: one query for
the runs, one for their findings, and the two runs' documents of the newest turn to ``fail``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from services.history.compare import RunDiff, diff_of
from services.history.model import STATUSES, RunSummary
from services.history.store import HistoryStore

DEFAULT_WINDOW = 50
FAIL = "fail"


@dataclass(frozen=True)
class TurnedFail:
    """The newest run in which a check turned ``fail``, the run before it, and what changed between them."""

    run: RunSummary
    previous: RunSummary
    checks: tuple[str, ...]  # the checks that turned fail in it
    diff: RunDiff


@dataclass(frozen=True)
class HistoryView:
    profiles: tuple[str, ...]
    profile: str | None
    runs: tuple[RunSummary, ...]  # newest first
    statuses: Mapping[int, Mapping[str, str]] = field(default_factory=dict)  # run id -> check id -> status
    turned_fail: TurnedFail | None = None

    @property
    def check_ids(self) -> list[str]:
        """Every check judged in the window, in the newest run's order first."""
        seen: dict[str, None] = {}
        for run in self.runs:
            seen.update(dict.fromkeys(self.statuses.get(run.id, {})))
        return list(seen)

    def timeline_rows(self) -> list[dict[str, Any]]:
        """One row per run, oldest first: when, who, and its counts (the timeline chart and table)."""
        return [
            {"run": run.id, "started_at": run.started_at, "by": run.by, **{s: run.counts.get(s, 0) for s in STATUSES}}
            for run in reversed(self.runs)
        ]

    def check_rows(self) -> list[dict[str, Any]]:
        """One row per check: its status in each run, oldest to newest (columns ``#ID``)."""
        ordered = list(reversed(self.runs))
        return [
            {"check": check, **{f"#{run.id}": self.statuses.get(run.id, {}).get(check, "") for run in ordered}}
            for check in self.check_ids
        ]


def newest_turn_to_fail(
    runs: Sequence[RunSummary], statuses: Mapping[int, Mapping[str, str]]
) -> tuple[RunSummary, RunSummary, tuple[str, ...]] | None:
    """(run, the run before it, checks) for the newest run in which a check's status became ``fail``."""
    for newer, older in pairwise(runs):  # runs are newest first
        after, before = statuses.get(newer.id, {}), statuses.get(older.id, {})
        turned = tuple(c for c, status in after.items() if status == FAIL and before.get(c, FAIL) != FAIL)
        if turned:
            return newer, older, turned
    return None


def history_view(store: HistoryStore, profile: str | None = None, window: int = DEFAULT_WINDOW) -> HistoryView:
    """The profile's latest ``window`` runs (``profile`` when it has runs, else the first profile that has)."""
    with store.reading():  # one connection, one snapshot: four statements in all
        profiles = tuple(store.profiles())
        chosen = profile if profile in profiles else (profiles[0] if profiles else None)
        if chosen is None:
            return HistoryView(profiles, None, ())
        runs = tuple(store.runs(profile=chosen, limit=window))
        statuses = store.statuses([run.id for run in runs])
        turn = newest_turn_to_fail(runs, statuses)
        turned = None
        if turn is not None:
            run, previous, checks = turn
            turned = TurnedFail(run, previous, checks, diff_of(store, previous, run, statuses))
    return HistoryView(profiles, chosen, runs, statuses, turned)
