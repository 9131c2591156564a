"""The History page in a real browser: Playwright drives Debian's chromium against `streamlit run dashboard.py`."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.checks.runner import run_checks
from services.history.record import RunRecorder
from services.history.store import close_stores
from tests.browsing import require_chromium, running_console

pytestmark = pytest.mark.browser
require_chromium()


def test_history_page_shows_the_cors_change_in_chromium(browser, sandbox_env, sandbox_settings, switch, tmp_path: Path):
    env = dict(sandbox_env, PIPELINE_HISTORY_URL=f"sqlite:///{tmp_path / 'history.sqlite3'}")
    recorder = RunRecorder(sandbox_settings, "alice@example.com", env=env)
    run_checks(sandbox_settings, on_done=recorder)
    switch("bucket-cors-origin")
    run_checks(sandbox_settings, on_done=recorder)
    assert recorder.warning is None
    close_stores()  # the console's own process opens the store now
    with running_console(env) as url:
        page = browser.new_page()
        page.goto(f"{url}/history", timeout=60_000)
        page.get_by_text("turned fail", exact=False).wait_for(timeout=60_000)
        page.get_by_text("Unified diff").first.wait_for(timeout=30_000)
        text = page.inner_text("body")
        page.close()
    assert f"Run #{recorder.run_id}" in text and "bucket.cors" in text and "bucket_cors" in text
    assert "http://localhost:5173" in text  # the removed origin, in the run before's CORS document
    assert "read by" in text
