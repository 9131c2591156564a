"""The history's reads of recorded runs: SQL compiled once and run on the driver's cursor (store._fetch), on SQLite
and PostgreSQL. They must give what SQLAlchemy's own execution of the same select gives, read one snapshot in a
``reading()`` block, and leave a database error as HistoryError."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Select, bindparam, select

from services.core.errors import HistoryError
from services.history import store as history_store
from services.history.model import DocumentRecord, FindingRecord, RunRecord
from services.history.schema import UtcDateTime, runs
from services.history.store import HistoryStore, open_store
from tests.history_stores import KINDS, history_url

START = datetime(2026, 3, 1, 12, 30, 15, 250_000, tzinfo=UTC)


def runs_before_query() -> Select[Any]:
    """A read that binds a timestamp: its type converts it on the way in (UTC, and SQLite's text)."""
    return select(runs.c.id).where(runs.c.started_at < bindparam("before", type_=UtcDateTime)).order_by(runs.c.id)


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HistoryStore]:
    with history_url(request.param, tmp_path) as url:
        yield open_store({"PIPELINE_HISTORY_URL": url})


def record(store: HistoryStore, profile: str, minutes: int, cors: str = "pass") -> int:
    # a moment with an offset other than UTC's: the store keeps the instant, and reads it back in UTC
    when = (START + timedelta(minutes=minutes)).astimezone(timezone(timedelta(hours=2)))
    findings = (
        FindingRecord("bucket.cors", cors, "CORS", "uploads", ("cors.origin_missing",), {"hop": "browser"}),
        FindingRecord("bucket.policy", "pass", "Policy"),
    )
    documents = (DocumentRecord("bucket_cors", f'{{"origin": "{cors}"}}', ("bucket.cors",)),)
    return store.record_run(
        RunRecord(profile, when, "tester", 12.5, {"pass": 1, cors: 1}, {}, findings=findings, documents=documents)
    )


def test_the_compiled_reads_give_what_sqlalchemy_gives(store: HistoryStore):
    ids = [record(store, "staging", 0), record(store, "prod", 1), record(store, "staging", 2, cors="fail")]
    dialect = store.engine.dialect
    reads = [
        (history_store._profiles_query, (), {}),
        (history_store._runs_query, (True, True), {"profile": "staging", "check": "bucket.cors", "limit": 5}),
        (history_store._runs_query, (False, False), {"limit": 2}),
        (history_store._run_query, (), {"id": ids[1]}),
        (history_store._previous_run_query, (), {"profile": "staging", "id": ids[2]}),
        (history_store._findings_query, (), {"run_id": ids[2]}),
        (history_store._statuses_query, (3,), history_store._ids(ids)),
        (history_store._documents_query, (2,), history_store._ids(ids[:2])),
        (runs_before_query, (), {"before": (START + timedelta(minutes=1, seconds=30)).astimezone(timezone.min)}),
    ]
    with store.engine.connect() as connection:
        for build, shape, values in reads:
            expected = [tuple(row) for row in connection.execute(build(*shape), values)]
            compiled = history_store._compiled(dialect, build, *shape)
            with store._snapshot() as snapshot:
                assert [tuple(row) for row in history_store._fetch(snapshot, compiled, values)] == expected, build
            assert expected, build  # each read found something to compare
    (latest,) = store.runs(profile="staging", limit=1)
    assert latest.id == ids[2] and latest.started_at == START + timedelta(minutes=2)
    assert latest.started_at.tzinfo == UTC and latest.counts == {
        "pass": 1,
        "warn": 0,
        "fail": 1,
        "unknown": 0,
        "skip": 0,
    }


def test_a_reading_block_reads_one_snapshot_on_sqlite(tmp_path: Path):
    """What the History page's first view relies on: a run recorded while it reads does not half-appear in it."""
    store = open_store({"PIPELINE_HISTORY_URL": f"sqlite:///{tmp_path / 'history.sqlite3'}"})
    first = record(store, "staging", 0)
    with store.reading():
        assert store.profiles() == ["staging"]
        later = record(store, "staging", 1)  # another connection writes meanwhile (WAL: the reader does not block it)
        assert [run.id for run in store.runs(profile="staging")] == [first]
        assert store.statuses([later]) == {later: {}}
    assert [run.id for run in store.runs(profile="staging")] == [later, first]


def test_a_read_that_fails_in_the_driver_is_a_history_error(store: HistoryStore):
    run_id = record(store, "staging", 0)
    with store.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE documents")
    with pytest.raises(HistoryError, match=r"the history could not be read: .*documents"):
        store.documents_of([run_id])
    with pytest.raises(HistoryError, match="could not be read"), store.reading():
        assert [run.id for run in store.runs()] == [run_id]  # the block's earlier reads stand
        store.documents(run_id)
