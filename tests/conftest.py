"""Fixtures: one real sandbox (moto S3 over HTTP, the real presign handler behind HTTP, the CDN) per session."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.core.clients import make_client
from services.core.settings import Settings
from services.sandbox import Sandbox
from tests.browse_data import ensure_odd_objects, ensure_scale_objects
from tests.history_stores import KINDS, history_url

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def _own_history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every check run and upload the tests make is recorded in a history of the test session's own (the default
    store lives under XDG_DATA_HOME), never in the history of whoever runs the tests."""
    before = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("data-home"))
    yield
    if before is None:
        os.environ.pop("XDG_DATA_HOME", None)
    else:
        os.environ["XDG_DATA_HOME"] = before


@pytest.fixture(params=KINDS)
def history_env(
    request: pytest.FixtureRequest, tmp_path: Path, sandbox_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """The session sandbox's environment with a history of its own, SQLite then PostgreSQL (tests/history_stores.py),
    also set in this process (in-process commands and pages build their AWS clients from os.environ)."""
    with history_url(request.param, tmp_path) as url:
        env = dict(sandbox_env, PIPELINE_HISTORY_URL=url)
        point_console_at(monkeypatch, env)
        yield env


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    running = Sandbox.start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def sandbox_settings(sandbox: Sandbox) -> Settings:
    return sandbox.settings()


@pytest.fixture(scope="session")
def s3(sandbox: Sandbox) -> Any:
    return make_client("s3", sandbox.aws_target())


@pytest.fixture
def bucket_keys(s3: Any, sandbox: Sandbox):
    """A function returning the set of keys in the sandbox bucket right now."""

    def keys() -> set[str]:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=sandbox.endpoints.bucket)
        return {obj["Key"] for page in pages for obj in page.get("Contents", [])}

    return keys


@pytest.fixture
def sandbox_env(sandbox: Sandbox) -> dict[str, str]:
    """A process environment that configures the console for the session's sandbox (no PIPELINE_* leaks in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIPELINE_", "AWS_"))}
    env.update(sandbox.environment())
    return env


def point_console_at(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    """Replace every PIPELINE_* / AWS_* variable of this process with those of ``env`` (for the test's duration)."""
    for name in [n for n in os.environ if n.startswith(("PIPELINE_", "AWS_"))]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        if name.startswith(("PIPELINE_", "AWS_")):
            monkeypatch.setenv(name, value)


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch, sandbox_env: dict[str, str]) -> None:
    """The console (pages run by AppTest in this process) configured for the session's sandbox, with a fresh
    configuration fingerprint, so the target, clients and pages cached by other tests are not reused."""
    point_console_at(monkeypatch, sandbox_env)
    monkeypatch.setenv("AWS_CONSOLE_TEST_RUN", uuid.uuid4().hex)  # ignored by boto3; changes the fingerprint


@pytest.fixture
def switch(sandbox: Sandbox):
    """Turn break switches on for one test; every switch is off again afterwards, whatever happens."""
    turned: list[str] = []

    def on(name: str) -> None:
        sandbox.set_switch(name, True)
        turned.append(name)

    yield on
    for name in turned:
        sandbox.set_switch(name, False)


@pytest.fixture(scope="module")
def scale_keys(sandbox: Sandbox) -> list[str]:
    """The browse tests' scale prefix (tests/browse_data.py), put once per session."""
    return ensure_scale_objects(sandbox)


@pytest.fixture(scope="module")
def odd_objects(sandbox: Sandbox) -> dict[str, bytes]:
    """Keys with spaces, unicode, `+`, `%`, `~` and parentheses, and one text file (tests/browse_data.py)."""
    return ensure_odd_objects(sandbox)


@pytest.fixture(scope="session")
def admin_s3(sandbox: Sandbox) -> Any:
    """The console's own (admin) S3 client on the sandbox."""
    return make_client("s3", sandbox.aws_target())


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium, driven by Playwright (browser tests call tests.browsing.require_chromium first)."""
    from tests.browsing import chromium

    with chromium() as launched:
        yield launched
