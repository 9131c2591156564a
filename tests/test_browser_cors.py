"""CORS in a real browser: chromium enforces the sandbox's API and bucket CORS exactly as it enforces AWS's.

A tiny page is served *as if* from an origin with Playwright's ``page.route`` (no server: the document's origin
really is that origin), and its own JS calls the presign endpoint (header ``x-extension``: a real preflight to the
API) and PUTs a PNG to the presigned URL (``Content-Type``: a real preflight to the bucket). Every blocked case also
checks chromium's own console reason (a CORS preflight failure, not a dead server or another browser rule) and,
as a control, that the very same request succeeds outside a browser, where CORS does not apply.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from services.sandbox import layout
from tests.browsing import require_chromium

pytestmark = pytest.mark.browser

require_chromium()

ALLOWED_ORIGIN = layout.APP_ORIGIN  # http://localhost:5173, in the seed's bucket CORS and the API's CORS
DISALLOWED_ORIGIN = "http://localhost:8080"  # in neither
assert DISALLOWED_ORIGIN not in layout.APP_ORIGINS

# The web app: two functions doing what the seed's client does, with fetch. The PNG is drawn in the page.
APP_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>CORS probe</title></head>
<body><p>web app</p>
<script>
window.app = {
  async presign(endpoint) {
    try {
      const reply = await fetch(endpoint, {headers: {"x-extension": "png"}});
      return {status: reply.status, body: await reply.text()};
    } catch (e) {
      return {error: `${e.name}: ${e.message}`};
    }
  },
  async put(url, contentType) {
    const canvas = document.createElement("canvas");
    canvas.width = 7;
    canvas.height = 5;
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#c03";
    ctx.fillRect(0, 0, 7, 5);
    const blob = await new Promise((done) => canvas.toBlob(done, "image/png"));
    const sent = Array.from(new Uint8Array(await blob.arrayBuffer()));
    try {
      const reply = await fetch(url, {method: "PUT", headers: {"Content-Type": contentType}, body: blob});
      return {status: reply.status, body: await reply.text(), sent};
    } catch (e) {
      return {error: `${e.name}: ${e.message}`, sent};
    }
  },
};
</script></body></html>
"""

FAILED_TO_FETCH = "TypeError: Failed to fetch"
PREFLIGHT_REFUSED = "Response to preflight request doesn't pass access control check"


@dataclass
class AppPage:
    """The probe page at one origin, with chromium's console messages."""

    origin: str
    page: Any
    console: list[str] = field(default_factory=list)

    def presign(self, endpoint: str) -> dict[str, Any]:
        return self.page.evaluate("endpoint => app.presign(endpoint)", endpoint)

    def put(self, url: str, content_type: str) -> dict[str, Any]:
        return self.page.evaluate("([url, type]) => app.put(url, type)", [url, content_type])

    def cors_block_reason(self, url: str) -> str:
        """Chromium's console reason for blocking a fetch of ``url`` from this origin by CORS (waits for it)."""
        prefix = f"Access to fetch at '{url}' from origin '{self.origin}' has been blocked by CORS policy: "
        for _ in range(50):
            for text in self.console:
                if text.startswith(prefix):
                    return text[len(prefix) :]
            self.page.wait_for_timeout(100)
        raise AssertionError(f"chromium logged no CORS block of {url} from {self.origin}; console: {self.console}")


@pytest.fixture
def open_app(browser: Any) -> Iterator[Callable[[str], AppPage]]:
    """Open the probe page as if served from ``origin``, in a fresh context (no cached preflights)."""
    contexts: list[Any] = []

    def open_at(origin: str) -> AppPage:
        context = browser.new_context()
        contexts.append(context)
        # A document fulfilled by page.route has no server address, so chromium files it under the public address
        # space and asks the user before it may reach loopback (Local Network Access). A dev server on localhost is
        # itself loopback and is never asked; granting the permission (the user's "Allow") puts us in that position.
        # It does not lift CORS: the disallowed-origin test below proves that.
        context.grant_permissions(["local-network-access"], origin=origin)
        page = context.new_page()
        app = AppPage(origin=origin, page=page)
        page.on("console", lambda message: app.console.append(message.text))
        page.route(
            f"{origin}/**",
            lambda route: route.fulfill(status=200, content_type="text/html; charset=utf-8", body=APP_HTML),
        )
        page.goto(f"{origin}/")
        # While any route is registered, Playwright intercepts every request and answers every CORS preflight
        # itself with allow-all headers, so the sandbox's CORS would never be consulted. The document is loaded:
        # drop the route, and the page's fetches (and their preflights) go to the sandbox as a browser sends them.
        page.unroute_all(behavior="wait")
        assert page.evaluate("location.origin") == origin
        return app

    yield open_at
    for context in contexts:
        context.close()


def presign_outside_a_browser(sandbox: Any) -> dict[str, Any]:
    reply = requests.get(sandbox.endpoints.presign, headers={"x-extension": "png"}, timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()


def stored_keys(s3: Any, key: str) -> list[str]:
    listing = s3.list_objects_v2(Bucket=layout.BUCKET, Prefix=key)
    return [obj["Key"] for obj in listing.get("Contents", [])]


def assert_put_works_outside_a_browser(grant: dict[str, Any], s3: Any) -> None:
    """Control: the URL the browser refused to use is valid; only CORS stopped the browser."""
    reply = requests.put(
        grant["presignedUrl"], data=b"\x89PNG control", headers={"Content-Type": grant["contentType"]}, timeout=10
    )
    assert reply.status_code == 200, reply.text
    assert stored_keys(s3, grant["key"]) == [grant["key"]]


def test_allowed_origin_presigns_and_puts_and_the_object_is_stored(sandbox, open_app, s3):
    app = open_app(ALLOWED_ORIGIN)
    presigned = app.presign(sandbox.endpoints.presign)
    assert presigned.get("status") == 200, presigned
    grant = json.loads(presigned["body"])
    assert set(grant) >= {"presignedUrl", "key", "contentType"}
    assert grant["presignedUrl"].startswith(f"http://{layout.BUCKET}.s3.{layout.REGION}.localhost:")
    assert stored_keys(s3, grant["key"]) == []

    put = app.put(grant["presignedUrl"], grant["contentType"])
    assert put.get("status") == 200, put
    stored = s3.get_object(Bucket=layout.BUCKET, Key=grant["key"])
    assert stored["Body"].read() == bytes(put["sent"])
    assert bytes(put["sent"]).startswith(b"\x89PNG\r\n\x1a\n")
    assert stored["ContentType"] == grant["contentType"]
    assert not [text for text in app.console if "CORS" in text], app.console


def test_disallowed_origin_is_blocked_on_the_presign_call_and_on_the_put(sandbox, open_app, s3):
    app = open_app(DISALLOWED_ORIGIN)
    presigned = app.presign(sandbox.endpoints.presign)
    assert presigned == {"error": FAILED_TO_FETCH}
    assert app.cors_block_reason(sandbox.endpoints.presign).startswith(PREFLIGHT_REFUSED)
    presign_outside_a_browser(sandbox)  # control: the endpoint is up and answers non-browser clients

    # The bucket's CORS on its own: a URL the page could not have fetched itself, handed in from Python.
    grant = presign_outside_a_browser(sandbox)
    put = app.put(grant["presignedUrl"], grant["contentType"])
    assert put.get("error") == FAILED_TO_FETCH, put
    assert app.cors_block_reason(grant["presignedUrl"]).startswith(PREFLIGHT_REFUSED)
    assert stored_keys(s3, grant["key"]) == []
    assert_put_works_outside_a_browser(grant, s3)


def test_bucket_cors_without_the_app_origin_blocks_the_put_but_not_the_presign(sandbox, open_app, s3, switch):
    switch("bucket-cors-origin")
    app = open_app(ALLOWED_ORIGIN)
    presigned = app.presign(sandbox.endpoints.presign)
    assert presigned.get("status") == 200, presigned
    grant = json.loads(presigned["body"])

    put = app.put(grant["presignedUrl"], grant["contentType"])
    assert put.get("error") == FAILED_TO_FETCH, put
    assert app.cors_block_reason(grant["presignedUrl"]).startswith(PREFLIGHT_REFUSED)
    assert stored_keys(s3, grant["key"]) == []
    assert_put_works_outside_a_browser(grant, s3)


def test_api_cors_without_x_extension_blocks_the_presign_call(sandbox, open_app, switch):
    switch("api-cors-header")
    app = open_app(ALLOWED_ORIGIN)
    presigned = app.presign(sandbox.endpoints.presign)
    assert presigned == {"error": FAILED_TO_FETCH}
    assert app.cors_block_reason(sandbox.endpoints.presign).startswith(PREFLIGHT_REFUSED)
    presign_outside_a_browser(sandbox)  # control: only the browser is stopped
