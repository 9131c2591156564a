"""End to end in a real browser: Playwright drives Debian's chromium against `streamlit run dashboard.py`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import PROJECT_ROOT
from tests.support import image_bytes

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.browser

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run must install Debian's chromium")
    pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def console_url() -> Iterator[str]:
    """The console exactly as the README starts it, with nothing configured (so it runs its own sandbox)."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIPELINE_", "AWS_"))}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "dashboard.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/_stcore/health", timeout=2).ok:
                break
        except requests.ConnectionError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("the console did not start within 60 s")
    yield url
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def test_upload_in_the_browser_shows_the_image_loaded_from_the_cdn(console_url, browser, tmp_path):
    image = tmp_path / "red-square.png"
    image.write_bytes(image_bytes(size=(120, 90)))
    page = browser.new_page()
    page.goto(f"{console_url}/upload", wait_until="networkidle")
    page.get_by_text("Sandbox — local emulation").wait_for(timeout=60_000)
    page.locator("input[type=file]").set_input_files(str(image))
    page.get_by_text("red-square.png").first.wait_for(timeout=30_000)
    page.get_by_role("button", name="Upload", exact=True).click()
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
