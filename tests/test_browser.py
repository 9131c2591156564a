"""End to end in a real browser: Playwright drives Debian's chromium against `streamlit run dashboard.py`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browsing import require_chromium, running_console
from tests.support import image_bytes

pytestmark = pytest.mark.browser

require_chromium()


@pytest.fixture(scope="module")
def console_url() -> Iterator[str]:
    """The console exactly as the README starts it, with nothing configured (so it runs its own sandbox)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIPELINE_", "AWS_"))}
    with running_console(env) as url:
        yield url


def test_upload_in_the_browser_shows_the_image_loaded_from_the_cdn(console_url, browser, tmp_path):
    image = tmp_path / "red-square.png"
    image.write_bytes(image_bytes(size=(120, 90)))
    page = browser.new_page()
    page.goto(f"{console_url}/upload", wait_until="networkidle")
    page.get_by_text("Sandbox — local emulation").wait_for(timeout=60_000)
    page.locator("input[type=file]").set_input_files(str(image))
    page.get_by_text("red-square.png").first.wait_for(timeout=30_000)
    page.get_by_role("button", name="Send through the pipeline").click()
    page.get_by_text("1 of 1 uploaded").wait_for(timeout=60_000)
    cdn_image = page.locator("img[src*='.png']").filter(has_not=page.locator("[data-testid=stLogo]")).first
    cdn_image.wait_for(timeout=30_000)
    src = cdn_image.get_attribute("src")
    assert src.startswith("http://127.0.0.1:") and not src.startswith(console_url), src
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=cdn_image.element_handle(), timeout=30_000
    )
    assert cdn_image.evaluate("img => img.naturalWidth") == 120
    page.screenshot(path=str(tmp_path / "upload.png"), full_page=True)
    if os.environ.get("CONSOLE_SCREENSHOT_DIR"):
        page.screenshot(path=str(Path(os.environ["CONSOLE_SCREENSHOT_DIR"]) / "upload.png"), full_page=True)
    page.close()


def test_checks_page_in_the_browser_reports_a_break_switch(console_url, browser, tmp_path):
    page = browser.new_page()
    page.goto(f"{console_url}/checks", wait_until="networkidle")
    page.get_by_text("Break switches").first.click()  # the sidebar's expander
    page.get_by_text("Bucket policy lacks the CloudFront grant").click()  # the console's own sandbox breaks
    page.get_by_text("Break switches (1 on)").wait_for(timeout=30_000)
    try:
        page.get_by_role("button", name="Run all checks").click()
        failure = page.get_by_text("bucket.cdn_read_grant").first
        failure.wait_for(timeout=90_000)
        expander = page.locator("[data-testid=stExpander]").filter(has_text="bucket.cdn_read_grant").first
        assert "FAIL" in expander.inner_text()
        assert "AWS:SourceArn" in expander.inner_text()
        page.screenshot(path=str(tmp_path / "checks.png"), full_page=True)
        if os.environ.get("CONSOLE_SCREENSHOT_DIR"):
            page.screenshot(path=str(Path(os.environ["CONSOLE_SCREENSHOT_DIR"]) / "checks.png"), full_page=True)
    finally:
        page.get_by_text("Bucket policy lacks the CloudFront grant").click()
        page.get_by_text("Break switches (0 on)").wait_for(timeout=30_000)
        page.close()
