"""What the history costs: recording a check run, and the History page's first view over 10,000 recorded runs.

    python bench/history.py [--rounds 15] [--runs 10000] [--postgres URL] [--no-write]

(1) Recording. On one sandbox, in this process, rounds alternate ``run_checks(settings)`` (what ``check
--no-record`` runs) with ``run_checks(settings, on_done=RunRecorder(...))`` (what ``check`` runs), into a SQLite
store in a temporary directory (and the PostgreSQL at ``--postgres URL`` too, when given). Reported: the medians,
their ratio, and the recorder's own time (document mapping + one transaction) against the median check run.
Target: recording adds < 5 %.

(2) The History page's first view. A store holding ``--runs`` runs of one profile (each a copy of a real run of
the sandbox: 20 findings, 8 documents; one check and its CORS document fail in 25 of every 100 runs, the newest 25 among them) is read the way the
page reads it, ``history_view(store, profile)``, against the bare query it needs: the same four SQL statements
(profiles; the latest 50 runs; their findings; the documents of the two runs of the newest turn to fail) sent as
text on the driver's own connection, rows fetched, nothing built. Target: within 1.5x.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import _common

from services.checks.evidence import Evidence
from services.checks.report import Report
from services.checks.runner import run_checks
from services.history.model import DocumentRecord, RunRecord
from services.history.record import RunRecorder, run_record
from services.history.store import HistoryStore, close_stores, open_store
from services.history.timeline import DEFAULT_WINDOW, history_view
from services.sandbox import Sandbox

RECORD_TARGET = 1.05
VIEW_TARGET = 1.5
PROFILE = "bench"


def timed(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


class TimedRecorder(RunRecorder):
    """The recorder, timing its own call (the part of a recorded run that is the history's)."""

    seconds: float = 0.0

    def __call__(self, report: Report, evidence: Evidence) -> None:
        started = time.perf_counter()
        super().__call__(report, evidence)
        self.seconds = time.perf_counter() - started


def recording(settings: Any, env: dict[str, str], rounds: int) -> dict[str, Any]:
    opened = timed(lambda: open_store(env))  # once per process: the schema check (Alembic) and the prune
    plain: list[float] = []
    recorded: list[float] = []
    hooks: list[float] = []
    for round_no in range(rounds):
        recorder = TimedRecorder(settings, "bench", env=env)
        runs = [
            ("plain", lambda: run_checks(settings)),
            ("recorded", lambda r=recorder: run_checks(settings, on_done=r)),
        ]
        for name, fn in runs if round_no % 2 == 0 else reversed(runs):
            (plain if name == "plain" else recorded).append(timed(fn))
        assert recorder.warning is None, recorder.warning
        hooks.append(recorder.seconds)
    return {"open": opened, "plain": plain, "recorded": recorded, "hook": hooks}


def sample_run(settings: Any) -> RunRecord:
    captured: list[RunRecord] = []
    run_checks(settings, on_done=lambda report, ev: captured.append(run_record(report, ev, PROFILE, "bench")))
    return captured[0]


def _variant(run: RunRecord, index: int, count: int, started: datetime) -> RunRecord:
    # bucket.cors (and its document) fails in the newest 25 of every 100 runs: the newest turn to fail is 25 back
    broken = (count - 1 - index) % 100 < 25
    findings = tuple(
        replace(f, status="fail" if broken and f.check_id == "bucket.cors" else f.status) for f in run.findings
    )
    documents = tuple(
        DocumentRecord(
            d.name, d.body.replace("http://localhost:5173", "http://localhost:5174") if broken else d.body, d.checks
        )
        for d in run.documents
    )
    return replace(run, started_at=started + timedelta(minutes=index), findings=findings, documents=documents)


def fill(store: HistoryStore, run: RunRecord, count: int) -> float:
    started = datetime.now(UTC) - timedelta(minutes=count)
    clock = time.perf_counter()
    for index in range(count):
        store.record_run(_variant(run, index, count, started))
    return time.perf_counter() - clock


BARE_SQL = (
    "SELECT DISTINCT profile FROM runs ORDER BY profile",
    "SELECT id, profile, started_at, recorded_by, duration_ms, count_pass, count_warn, count_fail, count_unknown, "
    "count_skip FROM runs WHERE profile = {p} ORDER BY id DESC LIMIT {n}",
    "SELECT run_id, check_id, status FROM findings WHERE run_id IN ({ids})",
    "SELECT run_id, name, body, checks FROM documents WHERE run_id IN ({pair})",
)


def bare_view(store: HistoryStore, pair: tuple[int, int]) -> None:
    """The four statements the first view sends, as text on the DBAPI connection: rows fetched, nothing built."""
    mark = "?" if store.dialect == "sqlite" else "%s"
    raw = store.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(BARE_SQL[0])
        cursor.fetchall()
        cursor.execute(BARE_SQL[1].format(p=mark, n=DEFAULT_WINDOW), (PROFILE,))
        ids = [row[0] for row in cursor.fetchall()]
        cursor.execute(BARE_SQL[2].format(ids=", ".join(mark for _ in ids)), ids)
        cursor.fetchall()
        cursor.execute(BARE_SQL[3].format(pair=f"{mark}, {mark}"), pair)
        cursor.fetchall()
        raw.commit()
    finally:
        raw.close()


def first_view(store: HistoryStore, rounds: int) -> dict[str, Any]:
    view = history_view(store, PROFILE)  # warm, and the pair the bare query reads
    assert view.turned_fail is not None and len(view.runs) == DEFAULT_WINDOW
    pair = (view.turned_fail.previous.id, view.turned_fail.run.id)
    bare_view(store, pair)
    views: list[float] = []
    bares: list[float] = []
    for round_no in range(rounds):
        variants = [(views, lambda: history_view(store, PROFILE)), (bares, lambda: bare_view(store, pair))]
        for sink, fn in variants if round_no % 2 == 0 else reversed(variants):
            sink.append(timed(fn))
    return {"view": views, "bare": bares, "turned": view.turned_fail.run.id}


def report(args: argparse.Namespace, data: dict[str, Any]) -> str:
    med = _common.median
    lines = _common.header("History: recording a run, and the first view over many runs", "python bench/history.py")
    lines += ["", f"Rounds: {args.rounds}, alternating order. Times are medians.", ""]
    targets: list[list[str]] = []
    for store_name, rec in data["recording"].items():
        plain, recorded, hook = med(rec["plain"]), med(rec["recorded"]), med(rec["hook"])
        ratio, hook_share = recorded / plain, hook / plain
        lines += [
            f"Recording into {store_name} (store opened once per process in {_common.fmt_ms(rec['open'])} ms):",
            "",
        ]
        lines += _common.table(
            ["variant", "median", "ratio"],
            [
                ["`run_checks(settings)` (`check --no-record`)", f"{_common.fmt_ms(plain)} ms", "1.00×"],
                [
                    "`run_checks(settings, on_done=RunRecorder(...))` (`check`)",
                    f"{_common.fmt_ms(recorded)} ms",
                    f"{ratio:.3f}×",
                ],
                [
                    "the recorder alone (documents + one transaction)",
                    f"{_common.fmt_ms(hook)} ms",
                    f"+{hook_share:.1%}",
                ],
            ],
        )
        lines.append("")
        targets.append(
            [
                f"recording adds < 5 % ({store_name}, recorder's own time)",
                f"+{hook_share:.1%}",
                "< +5 %",
                _common.verdict(hook_share < RECORD_TARGET - 1),
            ]
        )
        targets.append(
            [
                f"recorded / plain run ({store_name}, end to end)",
                f"{ratio:.3f}×",
                f"< {RECORD_TARGET}×",
                _common.verdict(ratio < RECORD_TARGET),
            ]
        )
    for store_name, view in data["views"].items():
        v, b = med(view["view"]), med(view["bare"])
        lines += [f"First view over {args.runs:,} runs in {store_name} (filled in {view['fill']:.0f} s):", ""]
        lines += _common.table(
            ["variant", "median", "ratio"],
            [
                [
                    f"`history_view(store, profile)` (the page's first view: {DEFAULT_WINDOW} runs, their findings, the newest turn to fail and its diff)",
                    f"{_common.fmt_ms(v)} ms",
                    f"{v / b:.2f}×",
                ],
                [
                    "the bare query: the same 4 statements as text on the driver, rows fetched",
                    f"{_common.fmt_ms(b)} ms",
                    "1.00×",
                ],
            ],
        )
        lines.append("")
        targets.append(
            [
                f"first view / bare query ({store_name}, {args.runs:,} runs)",
                f"{v / b:.2f}×",
                f"≤ {VIEW_TARGET}×",
                _common.verdict(v / b <= VIEW_TARGET),
            ]
        )
    lines += ["Targets:", ""]
    lines += _common.table(["target", "measured", "goal", "verdict"], targets)
    return "\n".join(lines)


def stores(args: argparse.Namespace, directory: Path, name: str) -> dict[str, dict[str, str]]:
    found = {"SQLite": {"PIPELINE_HISTORY_URL": f"sqlite:///{directory / (name + '.sqlite3')}"}}
    if args.postgres:
        found["PostgreSQL"] = {"PIPELINE_HISTORY_URL": args.postgres}
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--runs", type=int, default=10_000, help="runs in the store the first view reads")
    parser.add_argument("--postgres", metavar="URL", help="also measure on this (empty, throwaway) PostgreSQL database")
    parser.add_argument("--no-write", dest="write", action="store_false", help="print only; leave RESULTS.md")
    args = parser.parse_args()
    started = time.perf_counter()
    data: dict[str, Any] = {"recording": {}, "views": {}}
    with tempfile.TemporaryDirectory() as tmp:
        sandbox = Sandbox.start()
        try:
            settings = sandbox.settings()
            run_checks(settings)  # warm: imports, moto's lazy backends, the CDN
            for name, env in stores(args, Path(tmp), "recording").items():
                data["recording"][name] = recording(settings, env, args.rounds)
            sample = sample_run(settings)
        finally:
            sandbox.stop()
        close_stores()
        for name, env in stores(args, Path(tmp), "view").items():
            store = open_store(env)
            if store.dialect == "postgresql":
                with store.engine.begin() as connection:  # the recording runs above share this database
                    connection.exec_driver_sql("DELETE FROM documents; DELETE FROM findings; DELETE FROM runs")
            filled = fill(store, sample, args.runs)
            data["views"][name] = {**first_view(store, args.rounds), "fill": filled}
        close_stores()
    text = report(args, data)
    return _common.publish("history", text, args.write, started)


if __name__ == "__main__":
    raise SystemExit(main())
