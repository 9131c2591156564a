"""Every page of the console as a new user first sees it, in a real browser (Playwright driving Debian's chromium
against `streamlit run dashboard.py` on its default sandbox): each is screenshot, and none shows a raw module name in
the navigation, a value cut off with no way to read it, a green hop before anything passed, or a traceback."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.views.diagram import LOOKS, NODES, NOT_RUN
from tests.browsing import require_chromium, running_console
from tests.support import image_bytes

pytestmark = pytest.mark.browser

require_chromium()

#: the navigation's titles (dashboard.py) and each page's heading
PAGES = {
    "Pipeline": "Image pipeline",
    "Upload": "Upload",
    "Browse": "Browse",
    "Repair": "Repair",
    "Checks": "Checks",
    "History": "History",
}
#: what Streamlit's fallback navigation would list: the entrypoint's and the pages/ folder's module names
MODULE_NAMES = {"dashboard", *(p.stem.lstrip("_") for p in (Path(__file__).parents[1] / "pages").glob("*.py"))}

#: every element showing text whose content is wider than its box while the box hides the rest (clipped, ellipsised,
#: or scrolled sideways, as an unwrapped code block is): a value a person cannot read whole where it is shown
CUT_OFF = """
() => {
  const out = [];  // (a box of 1-2 px is the visually hidden pattern, e.g. Streamlit's skip link)
  for (const el of document.querySelectorAll('[data-testid=stApp] *')) {
    if (!el.offsetParent || el.clientWidth <= 2 || !el.innerText || !el.innerText.trim()) continue;
    if (el.scrollWidth <= el.clientWidth + 1) continue;
    const style = getComputedStyle(el);
    if (!(['hidden', 'clip', 'auto', 'scroll'].includes(style.overflowX) || style.textOverflow === 'ellipsis')) continue;
    out.push(`${el.tagName.toLowerCase()}[${el.getAttribute('data-testid') || ''}] ${el.scrollWidth}>${el.clientWidth}px`
             + ` (${style.overflowX}, ${style.textOverflow}): ${el.innerText.slice(0, 80)}`);
  }
  return out;
}
"""


@pytest.fixture(scope="module")
def console_url() -> Iterator[str]:
    """The console as the README starts it, with nothing configured (so it runs its own sandbox)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIPELINE_", "AWS_"))}
    with running_console(env) as url:
        yield url


def _settled(page) -> None:
    """Wait until the script run has finished (the app root's script state, as Streamlit's own browser tests read
    it) and no element of an earlier run is left stale."""
    page.wait_for_function(
        "() => document.querySelector('[data-testid=stApp][data-test-script-state=notRunning]')"
        " && !document.querySelector('[data-stale=true]')",
        timeout=90_000,
    )


def _screenshot(page, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
    if os.environ.get("CONSOLE_SCREENSHOT_DIR"):
        page.screenshot(path=str(Path(os.environ["CONSOLE_SCREENSHOT_DIR"]) / f"{name}.png"), full_page=True)


def test_every_page_reads_whole_with_the_real_navigation_no_false_green_and_no_traceback(
    console_url, browser, tmp_path
):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(console_url)
    page.get_by_text("Sandbox — local emulation").wait_for(timeout=120_000)
    page.get_by_role("heading", name=PAGES["Pipeline"]).wait_for(timeout=60_000)
    _settled(page)

    links = page.locator("[data-testid=stSidebarNav] [data-testid=stSidebarNavLink]")
    titles = [text.split()[-1] for text in links.all_inner_texts()]  # after its icon's ligature name
    assert titles == list(PAGES), titles  # the real titles, in order
    assert not MODULE_NAMES & set(titles), titles  # Streamlit's fallback lists the files' stems, lower-case

    # Before anything ran, no hop of the diagram is green, and none says "ok".
    diagram = page.locator("[data-testid=stGraphVizChart] svg").first
    diagram.wait_for(timeout=60_000)
    fills = {f.lower() for f in diagram.locator("[fill]").evaluate_all("els => els.map(e => e.getAttribute('fill'))")}
    assert LOOKS["pass"].fill.lower() not in fills, fills
    node_texts = diagram.locator("g.node").all_text_contents()
    assert len(node_texts) == len(NODES), node_texts  # every hop drawn
    assert all(f"[{LOOKS[NOT_RUN].word}]" in text for text in node_texts), node_texts  # and each says so

    problems: dict[str, list[str]] = {}
    for title, heading in PAGES.items():
        links.filter(has_text=title).first.click()
        page.get_by_role("heading", name=heading).first.wait_for(timeout=60_000)
        _settled(page)
        _screenshot(page, tmp_path, title.lower())
        text = page.locator("body").inner_text()
        found = [f"traceback: {line}" for line in text.splitlines() if "Traceback (most recent call last)" in line]
        found += [f"exception box: {e[:200]}" for e in page.locator("[data-testid=stException]").all_inner_texts()]
        found += page.evaluate(CUT_OFF)
        if found:
            problems[title] = found
    page.close()
    assert not problems, "\n".join(f"{title}: {found}" for title, found in problems.items())


def test_after_an_upload_its_results_and_the_gallery_read_whole(console_url, browser, tmp_path):
    """The screens with values in them: the Upload page's results (table, trace) and Browse's gallery and table."""
    image = tmp_path / "a-rather-long-file-name-for-a-small-red-square.png"
    image.write_bytes(image_bytes(size=(64, 48)))
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{console_url}/upload")
    page.get_by_role("heading", name=PAGES["Upload"]).wait_for(timeout=120_000)
    _settled(page)
    page.locator("input[type=file]").set_input_files(str(image))
    # (Streamlit's picker shortens a long name in its chip, "a-rathe...square.png": its own widget, not ours)
    page.get_by_text("square.png").first.wait_for(timeout=30_000)
    page.get_by_role("button", name="Send through the pipeline").click()
    page.get_by_text("1 of 1 uploaded").wait_for(timeout=90_000)
    _settled(page)
    assert page.get_by_text(image.name).count(), "the results name the file whole"
    for expander in page.locator("[data-testid=stExpander] summary").all():
        expander.click()  # the traces and details, open
    _settled(page)
    _screenshot(page, tmp_path, "upload-results")
    problems = {"Upload": page.evaluate(CUT_OFF)}

    page.locator("[data-testid=stSidebarNav] [data-testid=stSidebarNavLink]").filter(has_text="Browse").first.click()
    page.get_by_role("heading", name=PAGES["Browse"]).wait_for(timeout=60_000)
    page.locator("img[src*='.png']").first.wait_for(timeout=60_000)
    _settled(page)
    _screenshot(page, tmp_path, "browse-gallery")
    problems["Browse gallery"] = page.evaluate(CUT_OFF)
    page.get_by_text("Table", exact=True).first.click()  # the View control
    _settled(page)
    _screenshot(page, tmp_path, "browse-table")
    problems["Browse table"] = page.evaluate(CUT_OFF)
    page.close()
    problems = {where: found for where, found in problems.items() if found}
    assert not problems, "\n".join(f"{where}: {found}" for where, found in problems.items())
