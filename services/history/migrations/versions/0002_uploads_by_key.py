"""Uploads found by their key: Browse shows the name an object was uploaded with beside its key.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index("ix_uploads_profile_key", "uploads", ["profile", "object_key"])


def downgrade() -> None:
    op.drop_index("ix_uploads_profile_key", table_name="uploads")
