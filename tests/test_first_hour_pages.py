"""What a new user meets on the pages (AppTest against the real sandbox): the navigation survives a configuration
error, the Pipeline page's export block is whole, and its target is a table of words, not a JSON tree."""

from __future__ import annotations

import os

import pytest
from streamlit.testing.v1 import AppTest

from services.sandbox import layout
from tests.conftest import PROJECT_ROOT

DASHBOARD = str(PROJECT_ROOT / "dashboard.py")
TIMEOUT = 60
CONSOLE_PAGES = ["Pipeline", "Upload", "Browse", "Repair", "Checks", "History"]


def _menu(app: AppTest) -> list[str]:
    """The names the sidebar's menu lists: the pages the run declared with st.navigation, or, when it declared
    none, Streamlit's fallback ("dashboard", "auth", "browse", ... : the modules of the pages/ folder)."""
    return [info.get("page_name", "") for info in app._registered_pages.values()]


@pytest.mark.parametrize("page", ["pages/upload.py", "pages/browse.py", "pages/checks.py", "pages/pipeline.py"])
def test_a_configuration_error_keeps_the_consoles_navigation_and_each_page_shows_the_error(monkeypatch, page):
    for name in [n for n in os.environ if n.startswith("PIPELINE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PIPELINE_BUCKET", "some-bucket")  # partial: presign URL and CDN missing
    app = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT)
    app.run()
    assert _menu(app) == CONSOLE_PAGES  # the console's menu, not Streamlit's list of modules
    app.switch_page(page)
    app.run()
    assert not app.exception
    (error,) = [e.value for e in app.error]
    assert "Configuration problem" in error and "PIPELINE_PRESIGN_URL" in error
    assert _menu(app) == CONSOLE_PAGES


def test_pipeline_page_prints_the_whole_export_block_and_a_readable_target(monkeypatch):
    for name in [n for n in os.environ if n.startswith(("PIPELINE_", "AWS_"))]:
        monkeypatch.delenv(name)
    app = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT)
    app.run()
    assert not app.exception
    (block,) = [c.value for c in app.code if "export " in c.value]
    exports = dict(line[len("export ") :].split("=", 1) for line in block.splitlines() if line.startswith("export "))
    assert exports["AWS_SECRET_ACCESS_KEY"] == layout.SECRET_ACCESS_KEY  # pasted into a shell, the CLI works
    assert exports["AWS_ACCESS_KEY_ID"] == layout.ACCESS_KEY_ID and "PIPELINE_PRESIGN_URL" in exports
    assert "public dummy values, not secrets" in block
    assert not app.get("json")  # no raw JSON tree
    (table,) = app.table
    rows = dict(zip(table.value["Setting"], table.value["Value"], strict=True))
    assert rows["Mode"] == "Sandbox (local emulation)" and rows["Bucket"] == layout.BUCKET
    assert rows["Writes"].startswith("off") and rows["Web app origins (CORS)"] == ", ".join(layout.APP_ORIGINS)
    assert "your-service-address" not in " ".join(table.value["Value"])
