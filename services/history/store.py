"""The history store: SQLite by default, PostgreSQL for a team; one schema, versioned by Alembic.

``PIPELINE_HISTORY_URL`` chooses the store (default: a SQLite file in the user's data directory, in WAL mode so a
console and a CLI can write at once); ``PIPELINE_HISTORY_DAYS`` (default 90) how long runs are kept. Opening a
store upgrades its schema to the newest revision. Every text is redacted on its way in (services/core/redact.py):
no signature or credential is ever written.
"""

from __future__ import annotations

import functools
import json
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.util.exc import CommandError
from sqlalchemy import (
    Connection,
    Dialect,
    Engine,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from services.core.errors import HistoryError
from services.core.redact import redact_text, redact_url
from services.history.model import (
    STATUSES,
    UPLOAD_OK,
    DocumentRecord,
    FindingRecord,
    RunRecord,
    RunSummary,
    UploadRecord,
)
from services.history.schema import documents, findings, runs, uploads

URL_VARIABLE = "PIPELINE_HISTORY_URL"
DAYS_VARIABLE = "PIPELINE_HISTORY_DAYS"
DEFAULT_DAYS = 90
APP_DIR = "image-pipeline-console"
SQLITE_FILE = "history.sqlite3"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: a writer waits this long for another (a console and a CLI writing at once) before giving up
SQLITE_BUSY_MS = 10_000


@dataclass(frozen=True)
class HistoryConfig:
    url: str
    days: int = DEFAULT_DAYS


def default_sqlite_path(env: Mapping[str, str]) -> Path:
    """``$XDG_DATA_HOME/image-pipeline-console/history.sqlite3`` (``~/.local/share`` when XDG_DATA_HOME is unset)."""
    base = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local" / "share")
    return Path(base) / APP_DIR / SQLITE_FILE


def history_config(env: Mapping[str, str]) -> HistoryConfig:
    """The store and retention from the environment. Raises HistoryError for a malformed value."""
    url = (env.get(URL_VARIABLE) or "").strip() or f"sqlite:///{default_sqlite_path(env)}"
    raw_days = (env.get(DAYS_VARIABLE) or "").strip()
    try:
        days = int(raw_days) if raw_days else DEFAULT_DAYS
    except ValueError:
        days = 0
    if days < 1:
        raise HistoryError(f"{DAYS_VARIABLE}={raw_days!r} is not a whole number of days (1 or more)")
    return HistoryConfig(engine_url(url), days)


def engine_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` go through psycopg 3 (the pinned driver), not SQLAlchemy's psycopg2."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def safe_url(url: str) -> str:
    """The store's URL without its password, to name it in a message."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an unparseable URL)"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # the driver's own transaction handling off: SQLAlchemy's "begin" event below says BEGIN, as SQLite needs it
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer, nor the writer them
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable at each checkpoint; WAL keeps the file consistent
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # a writer takes the write lock up front, so it waits (busy_timeout) instead of failing on the upgrade
    immediate = connection.get_execution_options().get("write", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision (a no-op when it is there)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect().execution_options(write=True) as connection:
        if engine.dialect.name == "postgresql":  # two replicas starting at once migrate one after the other
            with connection.begin():
                connection.execute(text("SELECT pg_advisory_lock(741852)"))
        try:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            connection.commit()
        finally:
            if engine.dialect.name == "postgresql":
                with connection.begin():
                    connection.execute(text("SELECT pg_advisory_unlock(741852)"))


def _clean(value: str | None) -> str | None:
    """Redacted on the way in: whatever a caller passes, no signature or credential reaches the store."""
    return None if value is None else redact_text(value)


def _json(value: Any) -> str:
    return redact_text(json.dumps(value, sort_keys=True, default=str))


def _summary(row: Sequence[Any]) -> RunSummary:
    run_id, profile, started_at, by, duration_ms, *counts = row
    return RunSummary(run_id, profile, started_at, by, duration_ms, dict(zip(STATUSES, counts, strict=True)))


_RUN_COLUMNS = (
    runs.c.id,
    runs.c.profile,
    runs.c.started_at,
    runs.c.recorded_by,
    runs.c.duration_ms,
    *(runs.c[f"count_{status}"] for status in STATUSES),
)


class HistoryStore:
    """Reads and writes the history. Every database error leaves as HistoryError (one plain sentence)."""

    def __init__(self, engine: Engine, days: int = DEFAULT_DAYS) -> None:
        self.engine = engine
        self.days = days
        self._local = threading.local()  # the connection of a ``reading()`` block, per thread

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def reading(self) -> Iterator[None]:
        """The reads inside share one connection and one transaction (one snapshot): a page's first view."""
        if getattr(self._local, "connection", None) is not None:
            yield
            return
        with self._reading() as connection:
            self._local.connection = connection
            try:
                yield
            finally:
                self._local.connection = None

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        shared: Connection | None = getattr(self._local, "connection", None)
        try:
            if shared is not None:
                yield shared
                return
            with self.engine.connect() as connection:
                yield connection
        except SQLAlchemyError as err:
            raise HistoryError(f"the history could not be read: {_reason(err)}") from err

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        try:
            with self.engine.connect().execution_options(write=True) as connection, connection.begin():
                yield connection
        except SQLAlchemyError as err:
            raise HistoryError(f"the history could not be written: {_reason(err)}") from err

    # --- writing --------------------------------------------------------------------------------------------

    def record_run(self, run: RunRecord) -> int:
        """Write one run with its findings and documents (one transaction); returns the run's id."""
        with self._writing() as connection:
            inserted = connection.execute(
                insert(runs).values(
                    profile=_clean(run.profile),
                    started_at=run.started_at,
                    recorded_by=_clean(run.by),
                    duration_ms=float(run.duration_ms),
                    target=_json(dict(run.target)),
                    **{f"count_{status}": int(run.counts.get(status, 0)) for status in STATUSES},
                )
            ).inserted_primary_key
            assert inserted is not None  # an INSERT of one row always has a key
            run_id = int(inserted[0])
            if run.findings:
                connection.execute(insert(findings), [_finding_row(run_id, f) for f in run.findings])
            if run.documents:
                connection.execute(insert(documents), [_document_row(run_id, d) for d in run.documents])
        return int(run_id)

    def record_uploads(self, records: Sequence[UploadRecord]) -> None:
        if not records:
            return
        with self._writing() as connection:
            connection.execute(insert(uploads), [_upload_row(record) for record in records])

    def prune(self, now: datetime | None = None) -> int:
        """Delete runs older than the retention, except each profile's latest run; returns how many runs went.

        Uploads older than the retention go too: an upload is its own record (no run keeps it), so the profile's
        latest run being kept keeps no upload.
        """
        cutoff = (now or datetime.now(UTC)) - timedelta(days=self.days)
        latest = select(func.max(runs.c.id)).group_by(runs.c.profile)
        with self._writing() as connection:
            old = [
                row.id
                for row in connection.execute(
                    select(runs.c.id).where(runs.c.started_at < cutoff, runs.c.id.not_in(latest.scalar_subquery()))
                )
            ]
            for start in range(0, len(old), 500):  # bound the IN list
                batch = old[start : start + 500]
                connection.execute(delete(findings).where(findings.c.run_id.in_(batch)))
                connection.execute(delete(documents).where(documents.c.run_id.in_(batch)))
                connection.execute(delete(runs).where(runs.c.id.in_(batch)))
            connection.execute(delete(uploads).where(uploads.c.uploaded_at < cutoff))  # ix_uploads_uploaded_at
        return len(old)

    # --- reading --------------------------------------------------------------------------------------------

    def runs(self, profile: str | None = None, limit: int = 20, check: str | None = None) -> list[RunSummary]:
        """Runs newest first; of one profile, and only those that judged ``check``, when given."""
        query = select(*_RUN_COLUMNS).order_by(runs.c.id.desc()).limit(limit)
        if profile is not None:
            query = query.where(runs.c.profile == profile)
        if check is not None:
            query = query.where(runs.c.id.in_(select(findings.c.run_id).where(findings.c.check_id == check)))
        with self._reading() as connection:
            return [_summary(row) for row in connection.execute(query).all()]

    def run(self, run_id: int) -> RunSummary | None:
        with self._reading() as connection:
            row = connection.execute(select(*_RUN_COLUMNS).where(runs.c.id == run_id)).first()
        return None if row is None else _summary(row)

    def previous_run(self, run: RunSummary) -> RunSummary | None:
        """The run of the same profile just before ``run``."""
        query = (
            select(*_RUN_COLUMNS)
            .where(runs.c.profile == run.profile, runs.c.id < run.id)
            .order_by(runs.c.id.desc())
            .limit(1)
        )
        with self._reading() as connection:
            row = connection.execute(query).first()
        return None if row is None else _summary(row)

    def profiles(self) -> list[str]:
        with self._reading() as connection:
            return list(connection.execute(select(runs.c.profile).distinct().order_by(runs.c.profile)).scalars())

    def statuses(self, run_ids: Sequence[int]) -> dict[int, dict[str, str]]:
        """run id -> check id -> status, for these runs (the timeline's many rows: read as the driver gives them)."""
        found: dict[int, dict[str, str]] = {run_id: {} for run_id in run_ids}
        if not run_ids:
            return found
        sql, positions = _statuses_sql(self.engine.dialect, len(run_ids))
        values = {f"r{n}": run_id for n, run_id in enumerate(run_ids)}
        params: Any = tuple(values[name] for name in positions) if positions else values
        with self._reading() as connection:
            result = connection.exec_driver_sql(sql, params)
            try:  # plain tuples: no Row per cell (a window of 50 runs is 1,000 of them)
                rows = result.cursor.fetchall() if result.cursor is not None else []
            finally:
                result.close()
        for run_id, check_id, status in rows:
            found[run_id][check_id] = status
        return found

    def findings(self, run_id: int) -> list[FindingRecord]:
        query = select(findings).where(findings.c.run_id == run_id).order_by(findings.c.check_id)
        with self._reading() as connection:
            return [
                FindingRecord(
                    row.check_id,
                    row.status,
                    row.title,
                    row.impact,
                    None if row.codes is None else tuple(json.loads(row.codes)),
                    None if row.caused_by is None else json.loads(row.caused_by),
                )
                for row in connection.execute(query)
            ]

    def documents(self, run_id: int) -> dict[str, DocumentRecord]:
        return self.documents_of([run_id])[run_id]

    def documents_of(self, run_ids: Sequence[int]) -> dict[int, dict[str, DocumentRecord]]:
        """run id -> document name -> document, for these runs (one query)."""
        found: dict[int, dict[str, DocumentRecord]] = {run_id: {} for run_id in run_ids}
        query = select(documents.c.run_id, documents.c.name, documents.c.body, documents.c.checks).where(
            documents.c.run_id.in_(list(run_ids))
        )
        with self._reading() as connection:
            rows = connection.execute(query).all()
        for run_id, name, body, checks in rows:
            found[run_id][name] = DocumentRecord(name, body, tuple(json.loads(checks)))
        return found

    def uploads(
        self, limit: int = 20, name: str | None = None, profile: str | None = None, stored: bool = False
    ) -> list[UploadRecord]:
        """Uploads newest first; ``name`` finds those whose file name (as uploaded) contains it; ``stored``: only
        those that stored an object (outcome ok, with a key)."""
        query = select(uploads).order_by(uploads.c.id.desc()).limit(limit)
        if name:
            query = query.where(uploads.c.file_name.contains(name, autoescape=True))
        if profile is not None:
            query = query.where(uploads.c.profile == profile)
        if stored:
            query = query.where(uploads.c.outcome == UPLOAD_OK, uploads.c.object_key.is_not(None))
        with self._reading() as connection:
            return [_upload_record(row) for row in connection.execute(query)]

    def uploads_of_keys(self, profile: str, keys: Sequence[str]) -> dict[str, UploadRecord]:
        """key -> the newest upload of this profile that stored it (one query per 500 keys; a Browse page)."""
        found: dict[str, UploadRecord] = {}
        wanted = list(dict.fromkeys(keys))
        with self._reading() as connection:
            for start in range(0, len(wanted), 500):  # bound the IN list
                query = (
                    select(uploads)
                    .where(
                        uploads.c.profile == profile,
                        uploads.c.object_key.in_(wanted[start : start + 500]),
                        uploads.c.outcome == UPLOAD_OK,
                    )
                    .order_by(uploads.c.id)
                )
                found.update({row.object_key: _upload_record(row) for row in connection.execute(query)})
        return found


@functools.lru_cache(maxsize=32)
def _statuses_sql(dialect: Dialect, count: int) -> tuple[str, tuple[str, ...] | None]:
    """The statuses query for ``count`` run ids, compiled by SQLAlchemy once per dialect and count."""
    query = select(findings.c.run_id, findings.c.check_id, findings.c.status).where(
        findings.c.run_id.in_([bindparam(f"r{n}") for n in range(count)])
    )
    compiled = query.compile(dialect=dialect)
    return compiled.string, tuple(compiled.positiontup) if compiled.positiontup else None


def _finding_row(run_id: int, finding: FindingRecord) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "check_id": finding.check_id,
        "status": finding.status,
        "title": _clean(finding.title),
        "impact": _clean(finding.impact),
        "codes": None if finding.codes is None else _json(list(finding.codes)),
        "caused_by": None if finding.caused_by is None else _json(finding.caused_by),
    }


def _document_row(run_id: int, document: DocumentRecord) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "name": document.name,
        "body": _clean(document.body),
        "checks": json.dumps(list(document.checks)),
    }


def _upload_row(record: UploadRecord) -> dict[str, Any]:
    return {
        "profile": _clean(record.profile),
        "uploaded_at": record.uploaded_at,
        "recorded_by": _clean(record.by),
        "file_name": _clean(record.file_name),
        "object_key": _clean(record.key),
        "size": record.size,
        "sha256": record.sha256,
        "content_type": _clean(record.content_type),
        "outcome": _clean(record.outcome),
    }


def _upload_record(row: Any) -> UploadRecord:
    return UploadRecord(
        profile=row.profile,
        uploaded_at=row.uploaded_at,
        by=row.recorded_by,
        file_name=row.file_name,
        outcome=row.outcome,
        key=row.object_key,
        size=row.size,
        sha256=row.sha256,
        content_type=row.content_type,
        id=row.id,
    )


def _reason(err: BaseException) -> str:
    """The database's own sentence, first line only, redacted (a URL in it may carry a password)."""
    original = getattr(err, "orig", None) or err
    line = (str(original).strip().splitlines() or [type(original).__name__])[0]
    return redact_url(line) if "://" in line else redact_text(line)


_OPEN: dict[HistoryConfig, HistoryStore] = {}
_OPEN_LOCK = threading.Lock()


def open_store(env: Mapping[str, str] | None = None) -> HistoryStore:
    """The store ``PIPELINE_HISTORY_URL`` names, schema upgraded and old runs pruned; one per process and URL.

    Raises HistoryError (one sentence, no password) when it cannot be opened.
    """
    config = history_config(os.environ if env is None else env)
    with _OPEN_LOCK:
        store = _OPEN.get(config)
        if store is None:
            store = _open(config)
            _OPEN[config] = store
    return store


def _open(config: HistoryConfig) -> HistoryStore:
    where = safe_url(config.url)
    try:
        engine = _make_engine(config.url)
        _upgrade(engine)
    except (SQLAlchemyError, CommandError, OSError, ValueError) as err:
        raise HistoryError(f"the history store {where} could not be opened: {_reason(err)}") from err
    store = HistoryStore(engine, config.days)
    store.prune()
    return store


def close_stores() -> None:
    """Dispose every open store's connections (tests, and a process that wants its file handles back)."""
    with _OPEN_LOCK:
        for store in _OPEN.values():
            store.engine.dispose()
        _OPEN.clear()
