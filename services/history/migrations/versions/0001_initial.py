"""The first schema: runs, findings, documents, uploads.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("profile", sa.String(200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(320), nullable=False),
        sa.Column("duration_ms", sa.Float, nullable=False),
        sa.Column("count_pass", sa.Integer, nullable=False),
        sa.Column("count_warn", sa.Integer, nullable=False),
        sa.Column("count_fail", sa.Integer, nullable=False),
        sa.Column("count_unknown", sa.Integer, nullable=False),
        sa.Column("count_skip", sa.Integer, nullable=False),
        sa.Column("target", sa.Text, nullable=False),
    )
    op.create_index("ix_runs_profile_id", "runs", ["profile", "id"])
    op.create_index("ix_runs_started_at", "runs", ["started_at"])
    op.create_table(
        "findings",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("check_id", sa.String(100), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("impact", sa.String(100)),
        sa.Column("codes", sa.Text),
        sa.Column("caused_by", sa.Text),
    )
    op.create_index("ix_findings_check_run", "findings", ["check_id", "run_id"])
    op.create_table(
        "documents",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("checks", sa.Text, nullable=False),
    )
    op.create_table(
        "uploads",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("profile", sa.String(200), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(320), nullable=False),
        sa.Column("file_name", sa.Text, nullable=False),
        sa.Column("object_key", sa.Text),
        sa.Column("size", sa.Integer),
        sa.Column("sha256", sa.String(64)),
        sa.Column("content_type", sa.String(200)),
        sa.Column("outcome", sa.Text, nullable=False),
    )
    op.create_index("ix_uploads_file_name", "uploads", ["file_name"])
    op.create_index("ix_uploads_uploaded_at", "uploads", ["uploaded_at"])


def downgrade() -> None:
    op.drop_table("uploads")
    op.drop_table("documents")
    op.drop_table("findings")
    op.drop_table("runs")
