"""Start-up: the console starts its sandbox beside its own start (services/runtime.start_sandbox_early), and the
first page imports nothing heavy it does not use. Timings are bench/startup.py's; these hold the behaviour."""

from __future__ import annotations

import subprocess
import sys

import pytest

from services import runtime
from tests.conftest import PROJECT_ROOT


@pytest.fixture
def fresh_process_state(monkeypatch):
    """As in a process that has not decided yet (each server process decides once)."""
    monkeypatch.setattr(runtime, "_early_decided", False)
    monkeypatch.setattr(runtime, "_early", None)


def test_the_sandbox_started_early_is_the_one_the_first_target_gets(fresh_process_state):
    assert runtime.start_sandbox_early({}, {}) is True
    early = runtime._early
    assert early is not None
    assert runtime.start_sandbox_early({}, {}) is False  # once per process
    target = runtime.resolve_target({}, {})
    try:
        assert target.sandbox is early.result() and target.sandbox.alive()
        assert runtime._early is None  # taken: the next target that needs a sandbox starts its own
    finally:
        target.close()


def test_nothing_starts_early_when_a_pipeline_is_configured(fresh_process_state, sandbox_env):
    assert runtime.start_sandbox_early(sandbox_env, {}) is False
    assert runtime._early is None


def test_the_first_page_imports_neither_boto3_nor_pillow_nor_the_history_store():
    probe = (
        "import sys, streamlit; import pages._shared, pages._auth, services.views.diagram, services.views.target; "
        "print(sorted(m for m in ('boto3', 'PIL', 'sqlalchemy', 'alembic') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout
