"""CORS at the CDN in a real browser: a web app at each app origin reads an image through the sandbox's CloudFront with
``fetch`` and draws it on a canvas from an ``<img crossorigin>``; chromium enforces Access-Control-Allow-Origin as it
does against AWS. With ``cdn-cors-not-varied`` on, the reply cached for a plain ``<img>`` (no Origin) is what the
app gets, and chromium refuses it."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from services.sandbox import layout
from tests.browsing import require_chromium
from tests.test_browser_cors import AppPage, open_app  # noqa: F401 - the fixture opening a page at an origin
from tests.test_cdn_cors import uploaded_object as uploaded_through_the_pipeline

pytestmark = pytest.mark.browser

require_chromium()

APP, OTHER = layout.APP_ORIGINS

READ = """async (url) => {
  try {
    const reply = await fetch(url);
    const body = await reply.arrayBuffer();
    return {status: reply.status, bytes: body.byteLength};
  } catch (e) {
    return {error: `${e.name}: ${e.message}`};
  }
}"""

DRAW = """(url) => new Promise((done) => {
  const img = new Image();
  img.crossOrigin = "anonymous";
  img.onload = () => {
    const canvas = document.createElement("canvas");
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    canvas.getContext("2d").drawImage(img, 0, 0);
    try {
      done({width: img.naturalWidth, data: canvas.toDataURL("image/png").length});
    } catch (e) {
      done({error: `${e.name}: ${e.message}`});
    }
  };
  img.onerror = () => done({error: "the image did not load"});
  img.src = url;
})"""


def read_in(app: AppPage, url: str) -> dict[str, Any]:
    return app.page.evaluate(READ, url)


def test_each_app_origin_reads_and_draws_the_image_through_the_cdn(sandbox, open_app):  # noqa: F811
    url = uploaded_through_the_pipeline(sandbox)
    assert requests.get(url, timeout=10).status_code == 200  # a plain <img> (no Origin) reads it first

    for origin in (APP, OTHER):
        app = open_app(origin)
        got = read_in(app, url)
        assert got.get("status") == 200 and got.get("bytes", 0) > 0, (origin, got, app.console)
        drawn = app.page.evaluate(DRAW, url)
        assert drawn.get("width") == 64 and drawn.get("data", 0) > 100, (origin, drawn, app.console)


def test_with_origin_not_in_the_cache_key_the_browser_refuses_the_cached_reply(sandbox, switch, open_app):  # noqa: F811
    switch("cdn-cors-not-varied")
    url = uploaded_through_the_pipeline(sandbox)
    assert requests.get(url, timeout=10).status_code == 200  # the plain <img> first: cached without CORS headers

    app = open_app(APP)
    got = read_in(app, url)
    assert got == {"error": "TypeError: Failed to fetch"}, (got, app.console)
    assert "No 'Access-Control-Allow-Origin' header is present on the requested resource" in app.cors_block_reason(url)
    # the same request outside a browser (CORS does not apply there) succeeds: only the header is missing
    assert requests.get(url, headers={"Origin": APP}, timeout=10).status_code == 200
