"""Browse, end to end in a real browser: Playwright drives Debian's chromium.

Two levels. First, the CDN URLs the service builds for a listed page (thousands of keys in the bucket, keys
with spaces, unicode, `+`, `%`) are put in <img> tags on a blank page: chromium must load every one from the
sandbox's CDN. That needs nothing but the service, so it always runs. Second, the console itself
(`streamlit run dashboard.py`) on its Browse page: the gallery's <img> sources must be those CDN URLs and
load; it runs once dashboard.py routes the page, and is skipped (saying why) before that.
"""

from __future__ import annotations

import html
import os
from collections.abc import Iterator
from typing import Any

import pytest

from services.core.clients import make_client
from services.pipeline import browse
from services.sandbox import Sandbox
from tests.browse_data import ODD_KEYS, SCALE_PREFIX, ensure_odd_objects, ensure_scale_objects
from tests.browsing import require_chromium, running_console

pytestmark = pytest.mark.browser
require_chromium()


@pytest.fixture(scope="module")
def listed(sandbox: Sandbox) -> list[browse.ObjectEntry]:
    """The first gallery page of the scale prefix and the odd keys' page, as the service lists them."""
    ensure_scale_objects(sandbox)
    ensure_odd_objects(sandbox)
    s3, settings = make_client("s3", sandbox.aws_target()), sandbox.settings()
    scale = browse.list_page(s3, settings, prefix=SCALE_PREFIX, page_size=browse.DEFAULT_PAGE_SIZE)
    odd = browse.list_page(s3, settings, prefix="browse-odd/", page_size=browse.DEFAULT_PAGE_SIZE)
    return [entry for entry in (*scale.entries, *odd.entries) if entry.placeholder is None]


def wait_until_loaded(page: Any, selector: str, count: int) -> list[dict[str, Any]]:
    page.wait_for_function(
        """([selector, count]) => {
            const images = [...document.querySelectorAll(selector)];
            return images.length === count && images.every(img => img.complete);
        }""",
        arg=[selector, count],
        timeout=60_000,
    )
    return page.eval_on_selector_all(
        selector, "images => images.map(img => ({src: img.getAttribute('src'), width: img.naturalWidth}))"
    )


def test_the_cdn_urls_of_a_listed_page_load_as_images_in_chromium(browser, listed, sandbox):
    assert len(listed) == browse.DEFAULT_PAGE_SIZE + len(ODD_KEYS)
    answered: dict[str, int] = {}
    page = browser.new_page()
    page.on("response", lambda response: answered.__setitem__(response.url, response.status))
    tags = "".join(f'<img alt="" src="{html.escape(entry.cdn_url, quote=True)}">' for entry in listed)
    page.set_content(f"<!doctype html><html><body>{tags}</body></html>")
    loaded = wait_until_loaded(page, "img", len(listed))
    page.close()
    assert [image["src"] for image in loaded] == [entry.cdn_url for entry in listed]
    broken = [image["src"] for image in loaded if image["width"] == 0]
    assert not broken, broken  # a wrong encoding would be a 403/404 from the CDN: a broken image
    assert all(answered.get(entry.cdn_url) == 200 for entry in listed), answered  # the browser sent them as built
    assert all(entry.cdn_url.startswith(sandbox.endpoints.cdn + "/") for entry in listed)


@pytest.fixture(scope="module")
def console_url(sandbox: Sandbox) -> Iterator[str]:
    """`streamlit run dashboard.py`, configured (PIPELINE_*) for the session's sandbox."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIPELINE_", "AWS_"))}
    env.update(sandbox.environment())
    with running_console(env) as url:
        yield url


def test_the_browse_page_shows_thumbnails_the_browser_loads_from_the_cdn(browser, listed, console_url, sandbox):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{console_url}/browse", wait_until="networkidle")
    page.get_by_role("heading", name="Browse").wait_for(timeout=60_000)
    prefix = page.get_by_label("Prefix")
    prefix.fill("browse-odd/")
    prefix.press("Enter")
    page.get_by_text("not an image (text/plain)").wait_for(timeout=30_000)
    selector = f"img[src^='{sandbox.endpoints.cdn}/']"
    loaded = wait_until_loaded(page, selector, len(ODD_KEYS))
    assert {image["src"] for image in loaded} == {e.cdn_url for e in listed if e.key in ODD_KEYS}
    assert all(image["width"] == 64 for image in loaded), loaded  # tests.support.image_bytes: 64×48
    if os.environ.get("CONSOLE_SCREENSHOT_DIR"):
        page.screenshot(path=os.path.join(os.environ["CONSOLE_SCREENSHOT_DIR"], "browse.png"), full_page=True)
    page.close()
