"""What a new user meets on the pages (AppTest against the real sandbox): the navigation survives a configuration
error, the Pipeline page's export block is whole, and its target is a table of words, not a JSON tree."""

from __future__ import annotations

import os
import uuid

import pytest
from streamlit.testing.v1 import AppTest

from pages._shared import Keys
from services.sandbox import layout
from tests.conftest import PROJECT_ROOT
from tests.support import image_bytes

DASHBOARD = str(PROJECT_ROOT / "dashboard.py")
TIMEOUT = 60
CONSOLE_PAGES = {"Pipeline", "Upload", "Browse", "Checks"}
#: what Streamlit's fallback menu (no st.navigation in the run) lists: the pages/ folder's modules by file name
FALLBACK_NAMES = {"dashboard", "auth", "shared", "upload", "browse", "checks", "pipeline"}


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
    assert set(_menu(app)) >= CONSOLE_PAGES  # the console's menu, not Streamlit's list of modules
    assert not FALLBACK_NAMES & set(_menu(app))
    app.switch_page(page)
    app.run()
    assert not app.exception
    (error,) = [e.value for e in app.error]
    assert "Configuration problem" in error and "PIPELINE_PRESIGN_URL" in error
    assert set(_menu(app)) >= CONSOLE_PAGES and not FALLBACK_NAMES & set(_menu(app))


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
    (table,) = [m.value for m in app.markdown if m.value.startswith("| Setting | Value |")]
    shown = table.replace("\\", "")  # as rendered: the escapes that keep values literal are not shown
    rows = dict(line.strip("| ").split(" | ", 1) for line in shown.splitlines()[2:])
    assert rows["Mode"] == "Sandbox (local emulation)" and rows["Bucket"] == layout.BUCKET
    assert rows["Writes"].startswith("off") and rows["Web app origins (CORS)"] == ", ".join(layout.APP_ORIGINS)
    assert "your-service-address" not in table


def _browse(app: AppTest, prefix: str) -> AppTest:
    app.switch_page("pages/browse.py")
    app.session_state[Keys.BROWSE_PREFIX] = prefix
    app.run()
    assert not app.exception, app.exception
    return app


def _page_text(app: AppTest) -> str:
    shown = [str(e.value) for kind in ("markdown", "caption", "info") for e in app.get(kind)]
    return "\n".join([*shown, *(b.label for b in app.button)])


def test_an_upload_made_in_this_console_lists_the_bucket_again_and_the_listing_says_its_age(configured, admin_s3):
    prefix = f"fh-stale-{uuid.uuid4().hex[:8]}/"
    app = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT)
    app.run()
    _browse(app, prefix)
    assert "No objects under the prefix" in _page_text(app)
    assert "listed just now" in _page_text(app) and "kept up to 30 s" in _page_text(app)
    admin_s3.put_object(Bucket=layout.BUCKET, Key=f"{prefix}a.png", Body=image_bytes(), ContentType="image/png")
    _browse(app, prefix)
    assert "No objects under the prefix" in _page_text(app)  # written behind the console's back: still cached
    app.switch_page("pages/upload.py")
    app.run()
    app.file_uploader[0].set_value(("b.png", image_bytes(), "image/png"))
    app.run()
    next(b for b in app.button if b.label == "Send through the pipeline").click()
    app.run()
    assert any("1 of 1 uploaded" in h.value for h in app.subheader)
    _browse(app, prefix)
    assert "No objects under the prefix" not in _page_text(app)  # the console's own upload: listed again
    assert "a.png" in _page_text(app)


def test_browse_hides_the_checks_canaries_unless_asked(configured, admin_s3):
    # first in S3's key order: the page lists one page of keys, and other tests' runs may leave canaries of their own
    canary = f"canary/00000000{str(uuid.uuid4())[8:]}.png"
    admin_s3.put_object(Bucket=layout.BUCKET, Key=canary, Body=image_bytes(), ContentType="image/png")
    app = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT)
    app.run()
    _browse(app, "canary")  # "canary", not "canary/": the folder is not what was asked for
    assert canary.split("/")[1] not in _page_text(app)
    assert "canary object(s) of the checks (`canary/`) hidden on this page" in _page_text(app)
    app.toggle(key=Keys.BROWSE_HIDE_CANARIES).set_value(False)
    app.run()
    assert canary.split("/")[1] in _page_text(app)
    _browse(app, "canary/")  # asked for by name: shown
    assert canary.split("/")[1] in _page_text(app)


def test_upload_results_are_a_compact_table_failures_first_with_no_none_cells(configured):
    app = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT)
    app.run()
    app.switch_page("pages/upload.py")
    app.run()
    files = [(f"ok-{i}.png", image_bytes(), "image/png") for i in range(5)] + [("fake.png", b"not a png", "image/png")]
    app.file_uploader[0].set_value(files)
    app.run()
    labels = [b.label for b in app.button]
    assert "Upload" not in labels and "Send through the pipeline" in labels  # the picker's own button is "Upload"
    next(b for b in app.button if b.label == "Send through the pipeline").click()
    app.run()
    assert not app.exception, app.exception
    summary, *traces = app.table
    assert list(summary.value.columns) == ["outcome", "file", "key", "size", "time", "what happened"]
    assert summary.value["file"].iloc[0] == "fake.png"  # failures first
    assert list(summary.value["outcome"]) == ["failed at file check"] + ["ok"] * 5
    assert all(size.endswith((" kB", " B")) for size in list(summary.value["size"])[1:])
    assert len(traces) == 1  # the failed file's trace, beneath in its expander, as a table
    for table in (summary, *traces):
        assert "None" not in table.value.astype(str).to_numpy().tolist().__str__()
    markdown = "\n".join(m.value for m in app.markdown)
    # each uploaded image's trace, in its tile, as a list a quarter-width tile can wrap: one line per step
    tiles = [m.value for m in app.markdown if m.value.startswith("- **file check")]
    assert len(tiles) == 5 and all("**presign endpoint" in t and "None" not in t for t in tiles), tiles
    assert "**What to do:**" in markdown and "Likely cause" not in markdown  # refused before any network call
    assert len(app.image) == 5  # a grid of the uploaded images
    assert len([e for e in app.expander if "presigned URL" not in e.label]) == 6  # traces and URLs folded away


def test_fix_boxes_show_prose_as_text_and_only_json_and_commands_as_wrapped_code(configured, switch):
    switch("content-type-mismatch")  # upload.content_type: its fix is sentences with a command inside
    app = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT)
    app.run()
    app.switch_page("pages/checks.py")
    app.run()
    next(b for b in app.button if b.label == "Run all checks").click()
    app.run()
    assert not app.exception, app.exception
    codes = [c for c in app.code if c.language in ("bash", "json")]
    assert any(c.value.startswith("aws lambda update-function-configuration") for c in codes)
    assert all(c.proto.wrap_lines for c in codes)
    for code in codes:  # no sentence of a fix is shown as code
        assert not code.value.startswith(("Make the web app", "Then tell the console", "Or have the function"))
    prose = "\n".join(m.value for m in app.markdown)
    assert "Make the web app PUT with the endpoint" in prose
