"""The history tests' stores: a SQLite file, and a fresh database on the PostgreSQL that .ci/run starts.

``PIPELINE_TEST_POSTGRES_URL`` points at that server (``eval "$(bash .ci/postgres)"`` starts one by hand). Without
it the PostgreSQL cases are skipped, except in CI, where they fail: CI must run the history against both stores.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from services.history.store import close_stores, engine_url

POSTGRES_VARIABLE = "PIPELINE_TEST_POSTGRES_URL"
KINDS = ("sqlite", "postgresql")


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty database on the test server, dropped afterwards; yields its URL."""
    server = os.environ.get(POSTGRES_VARIABLE)
    if not server:
        if os.environ.get("CI"):
            pytest.fail(f"{POSTGRES_VARIABLE} is not set: .ci/run must start PostgreSQL for the history tests")
        pytest.skip(f"no PostgreSQL for the history tests ({POSTGRES_VARIABLE} unset; see .ci/postgres)")
    admin = create_engine(engine_url(server), isolation_level="AUTOCOMMIT")
    name = f"history_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(engine_url(server)).set(database=name).render_as_string(hide_password=False)
    finally:
        close_stores()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def history_url(kind: str, directory: Path) -> Iterator[str]:
    if kind == "postgresql":
        with postgres_database() as url:
            yield url
        return
    try:
        yield f"sqlite:///{directory / 'history.sqlite3'}"
    finally:
        close_stores()
