"""The history's tables, on SQLAlchemy Core (one definition for SQLite and PostgreSQL).

The migrations in ``migrations/versions`` create exactly these; a change here needs a new revision there.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)


class UtcDateTime(TypeDecorator[datetime]):
    """A moment in UTC, timezone-aware on the way out of SQLite too (which keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        moment = moment.astimezone(UTC)
        return moment.replace(tzinfo=None) if dialect.name == "sqlite" else moment

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

#: one check run: when, which profile, who, how long, and how many findings of each status
runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("profile", String(200), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("recorded_by", String(320), nullable=False),
    Column("duration_ms", Float, nullable=False),
    Column("count_pass", Integer, nullable=False),
    Column("count_warn", Integer, nullable=False),
    Column("count_fail", Integer, nullable=False),
    Column("count_unknown", Integer, nullable=False),
    Column("count_skip", Integer, nullable=False),
    Column("target", Text, nullable=False),  # the CheckTarget as JSON (safe to print)
    Index("ix_runs_profile_id", "profile", "id"),
    Index("ix_runs_started_at", "started_at"),
)

#: one finding of a run; impact / codes / caused_by are NULL where the finding model had none
findings = Table(
    "findings",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("check_id", String(100), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("title", Text, nullable=False),
    Column("impact", String(100)),
    Column("codes", Text),  # JSON list
    Column("caused_by", Text),  # JSON
    Index("ix_findings_check_run", "check_id", "run_id"),
)

#: the configuration documents a run's checks read, pretty-printed JSON, with the ids of those checks
documents = Table(
    "documents",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(100), primary_key=True),
    Column("body", Text, nullable=False),
    Column("checks", Text, nullable=False),  # JSON list of check ids
)

#: one file uploaded through the console (page or CLI), whatever the outcome
uploads = Table(
    "uploads",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("profile", String(200), nullable=False),
    Column("uploaded_at", UtcDateTime, nullable=False),
    Column("recorded_by", String(320), nullable=False),
    Column("file_name", Text, nullable=False),  # as uploaded
    Column("object_key", Text),  # None when it failed before the endpoint chose one
    Column("size", Integer),
    Column("sha256", String(64)),
    Column("content_type", String(200)),  # the stored type
    Column("outcome", Text, nullable=False),  # "ok", or "failed at <step>: <error>"
    Index("ix_uploads_file_name", "file_name"),
    Index("ix_uploads_uploaded_at", "uploaded_at"),
    Index("ix_uploads_profile_key", "profile", "object_key"),  # 0002: Browse's "uploaded as" beside a key
)
