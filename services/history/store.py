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
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from alembic.util.exc import CommandError
from sqlalchemy import (
    BindParameter,
    Connection,
    Dialect,
    Engine,
    Integer,
    Select,
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
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.types import TypeEngine

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
    # the driver's own transaction handling off: SQLAlchemy's "begin" event below (and HistoryStore._snapshot) says
    # BEGIN, as SQLite needs it
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
        self._driver_error: type[Exception] = engine.dialect.loaded_dbapi.Error  # what the compiled reads raise
        self._local = threading.local()  # the snapshot of a ``reading()`` block, per thread

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def reading(self) -> Iterator[None]:
        """The reads of runs inside (profiles, runs, statuses, findings, documents) share one connection and one
        transaction (one snapshot): a page's first view."""
        if getattr(self._local, "snapshot", None) is not None:
            yield
            return
        with self._snapshot() as snapshot:
            self._local.snapshot = snapshot
            try:
                yield
            finally:
                self._local.snapshot = None

    @contextmanager
    def _snapshot(self) -> Iterator[PoolProxiedConnection]:
        """The driver's connection for the compiled reads (``_fetch``), in a read transaction: the ``reading()``
        block's when inside one. The pool rolls the transaction back when the connection returns to it."""
        shared: PoolProxiedConnection | None = getattr(self._local, "snapshot", None)
        if shared is not None:
            yield shared
            return
        with self._errors("read"):
            snapshot = self.engine.raw_connection()
            try:
                if self.dialect == "sqlite":  # its driver's own transactions are off (_sqlite_pragmas); psycopg
                    snapshot.cursor().execute("BEGIN")  # begins one itself at the first statement
                yield snapshot
            finally:
                snapshot.close()

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        with self._errors("read"), self.engine.connect() as connection:
            yield connection

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        with (
            self._errors("written"),
            self.engine.connect().execution_options(write=True) as connection,
            connection.begin(),
        ):
            yield connection

    @contextmanager
    def _errors(self, done: str) -> Iterator[None]:
        try:
            yield
        except (SQLAlchemyError, self._driver_error) as err:
            raise HistoryError(f"the history could not be {done}: {_reason(err)}") from err

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
        read = _compiled(self.engine.dialect, _runs_query, profile is not None, check is not None)
        return [_summary(row) for row in self._rows(read, {"profile": profile, "check": check, "limit": limit})]

    def run(self, run_id: int) -> RunSummary | None:
        rows = self._rows(_compiled(self.engine.dialect, _run_query), {"id": run_id})
        return _summary(rows[0]) if rows else None

    def previous_run(self, run: RunSummary) -> RunSummary | None:
        """The run of the same profile just before ``run``."""
        rows = self._rows(_compiled(self.engine.dialect, _previous_run_query), {"profile": run.profile, "id": run.id})
        return _summary(rows[0]) if rows else None

    def profiles(self) -> list[str]:
        return [profile for (profile,) in self._rows(_compiled(self.engine.dialect, _profiles_query), {})]

    def statuses(self, run_ids: Sequence[int]) -> dict[int, dict[str, str]]:
        """run id -> check id -> status, for these runs."""
        found: dict[int, dict[str, str]] = {run_id: {} for run_id in run_ids}
        if run_ids:
            read = _compiled(self.engine.dialect, _statuses_query, len(run_ids))
            for run_id, check_id, status in self._rows(read, _ids(run_ids)):
                found[run_id][check_id] = status
        return found

    def findings(self, run_id: int) -> list[FindingRecord]:
        return [
            FindingRecord(
                check_id,
                status,
                title,
                impact,
                None if codes is None else tuple(json.loads(codes)),
                None if caused_by is None else json.loads(caused_by),
            )
            for check_id, status, title, impact, codes, caused_by in self._rows(
                _compiled(self.engine.dialect, _findings_query), {"run_id": run_id}
            )
        ]

    def documents(self, run_id: int) -> dict[str, DocumentRecord]:
        return self.documents_of([run_id])[run_id]

    def documents_of(self, run_ids: Sequence[int]) -> dict[int, dict[str, DocumentRecord]]:
        """run id -> document name -> document, for these runs (one query)."""
        found: dict[int, dict[str, DocumentRecord]] = {run_id: {} for run_id in run_ids}
        if run_ids:
            read = _compiled(self.engine.dialect, _documents_query, len(run_ids))
            for run_id, name, body, checks in self._rows(read, _ids(run_ids)):
                found[run_id][name] = DocumentRecord(name, body, tuple(json.loads(checks)))
        return found

    def _rows(self, read: _Read, values: Mapping[str, Any]) -> list[Sequence[Any]]:
        with self._snapshot() as snapshot:
            return _fetch(snapshot, read, values)

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


# --- reads compiled once -------------------------------------------------------------------------------------
# The History page's first view is four statements (profiles, runs, statuses, documents) and little else. Sent as
# ``connection.execute(select(...))`` on a SQLAlchemy Connection, they cost the database's work and as much again:
# each statement's cache key and compiled-cache lookup, a result object, a Row per row (1,300 for the statuses of
# 50 runs), and the Connection's own events and transaction objects. So the reads of runs are compiled by SQLAlchemy
# once per dialect and shape (how many ids, which filters), and their SQL runs on the pooled driver connection, in
# one read transaction (``HistoryStore._snapshot``), rows taken as the driver gives them and converted by the
# columns' own types. Only the SQL is kept between calls, never a row. Writes and the uploads' reads stay on Core.


@dataclass(frozen=True)
class _Read:
    """A select compiled for one dialect: its SQL, how its parameters are passed, and its columns' types."""

    dialect: Dialect
    sql: str
    positions: tuple[str, ...] | None  # a positional paramstyle (SQLite's ``?``): the parameters' names in order
    defaults: Mapping[str, Any]  # the values the statement carries itself (SQLite's OFFSET 0)
    binders: Mapping[str, Callable[[Any], Any]]  # the parameters whose type converts them on the way in
    types: tuple[TypeEngine[Any], ...]  # the result columns' types, which convert them on the way out


@functools.lru_cache(maxsize=64)
def _compiled(dialect: Dialect, build: Callable[..., Select[Any]], *shape: Hashable) -> _Read:
    """``build(*shape)`` compiled by SQLAlchemy for ``dialect``, once per dialect, statement and shape."""
    query = build(*shape)
    compiled = query.compile(dialect=dialect)
    binders = {
        name: binder
        for name, bind in compiled.binds.items()
        if (binder := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
    }
    return _Read(
        dialect,
        compiled.string,
        tuple(compiled.positiontup) if compiled.positiontup else None,
        dict(compiled.params),
        binders,
        tuple(column.type for column in query.selected_columns),
    )


@functools.lru_cache(maxsize=256)
def _result_converter(type_: TypeEngine[Any], dialect: Dialect, type_code: Hashable) -> Callable[[Any], Any] | None:
    """How SQLAlchemy converts a column of ``type_`` from the driver's value (``type_code``: the driver's type)."""
    return type_.dialect_impl(dialect).result_processor(dialect, type_code)


def _fetch(snapshot: PoolProxiedConnection, read: _Read, values: Mapping[str, Any]) -> list[Sequence[Any]]:
    """The rows of ``read`` for these parameter values, as plain tuples with each column converted by its type (what
    ``connection.execute`` would give, less the Row objects). A driver error leaves as the driver's own."""
    named = {**read.defaults, **values}
    for name, binder in read.binders.items():
        named[name] = binder(named[name])
    params = tuple(named[name] for name in read.positions) if read.positions is not None else named
    cursor = snapshot.cursor()
    try:
        cursor.execute(read.sql, params)
        rows: list[Sequence[Any]] = list(cursor.fetchall())
        description = cursor.description
    finally:
        cursor.close()
    converters = [
        (index, converter)
        for index, (type_, column) in enumerate(zip(read.types, description, strict=True))
        if (converter := _result_converter(type_, read.dialect, cast(Hashable, column[1]))) is not None
    ]
    if not converters:  # few columns need one (a timestamp: SQLite's text, UTC attached)
        return rows
    return [_converted(row, converters) for row in rows]


def _converted(row: Sequence[Any], converters: Sequence[tuple[int, Callable[[Any], Any]]]) -> tuple[Any, ...]:
    """One row with its columns converted, in one pass (not one rebuilt tuple per converted column)."""
    values = list(row)
    for index, converter in converters:
        values[index] = converter(values[index])
    return tuple(values)


def _ids(run_ids: Sequence[int]) -> dict[str, int]:
    return {f"r{n}": run_id for n, run_id in enumerate(run_ids)}


def _id_params(count: int) -> list[BindParameter[int]]:
    return [bindparam(f"r{n}", type_=Integer) for n in range(count)]


def _profiles_query() -> Select[Any]:
    return select(runs.c.profile).distinct().order_by(runs.c.profile)


def _runs_query(by_profile: bool, by_check: bool) -> Select[Any]:
    query = select(*_RUN_COLUMNS).order_by(runs.c.id.desc()).limit(bindparam("limit", type_=Integer))
    if by_profile:
        query = query.where(runs.c.profile == bindparam("profile"))
    if by_check:
        query = query.where(runs.c.id.in_(select(findings.c.run_id).where(findings.c.check_id == bindparam("check"))))
    return query


def _run_query() -> Select[Any]:
    return select(*_RUN_COLUMNS).where(runs.c.id == bindparam("id"))


def _previous_run_query() -> Select[Any]:
    return (
        select(*_RUN_COLUMNS)
        .where(runs.c.profile == bindparam("profile"), runs.c.id < bindparam("id"))
        .order_by(runs.c.id.desc())
        .limit(1)
    )


def _findings_query() -> Select[Any]:
    columns = (findings.c[name] for name in ("check_id", "status", "title", "impact", "codes", "caused_by"))
    return select(*columns).where(findings.c.run_id == bindparam("run_id")).order_by(findings.c.check_id)


def _statuses_query(count: int) -> Select[Any]:
    return select(findings.c.run_id, findings.c.check_id, findings.c.status).where(
        findings.c.run_id.in_(_id_params(count))
    )


def _documents_query(count: int) -> Select[Any]:
    return select(documents.c.run_id, documents.c.name, documents.c.body, documents.c.checks).where(
        documents.c.run_id.in_(_id_params(count))
    )


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
