"""The seed write-up's own web client (React + axios, tests/seed_client/, verbatim) against the sandbox in chromium.

The client is built with esbuild; only the built bundle is changed: its three placeholders (the Lambda URL, the
trigger route, the CloudFront URL) are pointed at the sandbox. The page is served as if from http://localhost:5173
(an origin the seed's CORS allows), so the browser's CORS, the client's quirks (``name.split('.')[1]``,
``application/<ext>`` on the PUT, the key taken from the presigned URL's path) and the sandbox all meet for real.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from services.sandbox import layout
from tests.browsing import require_chromium
from tests.conftest import PROJECT_ROOT
from tests.support import image_bytes

pytestmark = pytest.mark.browser

require_chromium()

NPM = shutil.which("npm")
if NPM is None:
    if os.environ.get("CI"):
        raise RuntimeError("npm is missing: .ci/run must install Node.js and npm to build tests/seed_client")
    pytest.skip(
        "npm not installed: the seed's web client cannot be built (apt-get install nodejs npm)", allow_module_level=True
    )

SEED_CLIENT = PROJECT_ROOT / "tests" / "seed_client"
APP_ORIGIN = layout.APP_ORIGIN  # http://localhost:5173
# The seed's placeholders, as written in tests/seed_client/src (api.ts and App.tsx).
LAMBDA_URL = "https://your-lambda-execute-url.com"
TRIGGER_ROUTE = "/your-lambdda-trigger-endpoint"
CLOUDFRONT_URL = "https://your.cloudfront.net"
SEED_ALERT = "이미지 업로드에 실패하였습니다. 잠시 후 다시 시도 해보세요."
UUID4_PNG = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.png")
IMAGE_SIZE = (37, 23)


def _run(args: list[str], timeout: float) -> None:
    done = subprocess.run(args, cwd=SEED_CLIENT, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        pytest.fail(f"`{' '.join(args)}` failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


@pytest.fixture(scope="module")
def seed_bundle(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The seed client's bundle, built from tests/seed_client (npm ci first when its node_modules is missing)."""
    assert NPM is not None
    if not (SEED_CLIENT / "node_modules" / ".bin" / "esbuild").exists():
        _run([NPM, "ci", "--no-audit", "--no-fund"], timeout=300)
    out = tmp_path_factory.mktemp("seed_client_dist")
    _run([NPM, "run", "build", "--", f"--outdir={out}"], timeout=120)
    return (out / "main.js").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def seed_app_js(seed_bundle: str, sandbox: Any) -> str:
    """The bundle pointed at the sandbox: each placeholder replaced (each must be there exactly once)."""
    presign = urlsplit(sandbox.endpoints.presign)
    replacements = {
        LAMBDA_URL: f"{presign.scheme}://{presign.netloc}",
        TRIGGER_ROUTE: presign.path,
        CLOUDFRONT_URL: sandbox.endpoints.cdn.rstrip("/"),
    }
    bundle = seed_bundle
    for placeholder, value in replacements.items():
        assert bundle.count(placeholder) == 1, f"{placeholder!r} should be in the bundle exactly once"
        bundle = bundle.replace(placeholder, value)
    return bundle


@dataclass
class SeedPage:
    page: Any
    dialogs: list[tuple[str, str]] = field(default_factory=list)
    responses: list[Any] = field(default_factory=list)

    def responses_to(self, method: str, url_prefix: str) -> list[Any]:
        return [r for r in self.responses if r.request.method == method and r.url.startswith(url_prefix)]


@pytest.fixture
def seed_page(browser: Any, seed_app_js: str) -> Iterator[SeedPage]:
    """The seed client opened at http://localhost:5173/ in a fresh context."""
    index_html = (SEED_CLIENT / "index.html").read_text(encoding="utf-8")

    def serve(route: Any) -> None:
        path = urlsplit(route.request.url).path
        if path == "/":
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=index_html)
        elif path == "/main.js":
            route.fulfill(status=200, content_type="text/javascript; charset=utf-8", body=seed_app_js)
        else:
            route.fulfill(status=404, content_type="text/plain", body="not found")

    context = browser.new_context()
    # A page.route document has no server address, so chromium treats it as public and asks before it may reach
    # loopback (Local Network Access); a real dev server on localhost is loopback and never asked. Grant it.
    context.grant_permissions(["local-network-access"], origin=APP_ORIGIN)
    page = context.new_page()
    seed = SeedPage(page=page)

    def on_dialog(dialog: Any) -> None:
        seed.dialogs.append((dialog.type, dialog.message))
        dialog.accept()

    page.on("dialog", on_dialog)
    page.on("response", lambda response: seed.responses.append(response))
    page.route(f"{APP_ORIGIN}/**", serve)
    page.goto(f"{APP_ORIGIN}/", wait_until="load")
    # While a route exists Playwright answers every CORS preflight itself (allow-all); drop it so the sandbox's
    # CORS is what the browser sees.
    page.unroute_all(behavior="wait")
    page.locator("input[type=file]").wait_for(timeout=10_000)  # React mounted <App/>
    yield seed
    context.close()


def _choose_png(page: Any, tmp_path: Path) -> bytes:
    data = image_bytes(size=IMAGE_SIZE)
    picked = tmp_path / "seed-upload.png"  # the seed takes the extension as name.split('.')[1]
    picked.write_bytes(data)
    page.locator("input[type=file]").set_input_files(str(picked))
    return data


def _presign_reply(seed: SeedPage, sandbox: Any) -> dict[str, Any]:
    (reply,) = seed.responses_to("GET", sandbox.endpoints.presign)
    assert reply.status == 200
    return reply.json()


@pytest.mark.parametrize("switched", [None, "stored-as-application"], ids=["default-sandbox", "stored-as-application"])
def test_seed_client_uploads_and_shows_the_image_from_the_cdn(sandbox, seed_page, switch, s3, tmp_path, switched):
    # Default: the shipped function signs application/<ext> for a client that asks for no type (the seed's says
    # none: axios drops Content-Type from a bodiless GET). stored-as-application: it signs that whatever is asked.
    if switched:
        switch(switched)
    page = seed_page.page
    data = _choose_png(page, tmp_path)

    cdn = sandbox.endpoints.cdn.rstrip("/")
    shown = page.locator(f'img[src^="{cdn}/"]')
    shown.wait_for(timeout=15_000)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=shown.element_handle(), timeout=15_000)
    assert shown.evaluate("img => [img.naturalWidth, img.naturalHeight]") == list(IMAGE_SIZE)

    key = shown.get_attribute("src")[len(cdn) + 1 :]
    grant = _presign_reply(seed_page, sandbox)
    assert key == grant["key"]
    assert UUID4_PNG.fullmatch(key), key
    (put,) = seed_page.responses_to("PUT", grant["presignedUrl"])
    assert put.status == 200
    assert put.request.headers["content-type"] == "application/png"
    stored = s3.get_object(Bucket=layout.BUCKET, Key=key)
    assert stored["Body"].read() == data
    assert stored["ContentType"] == "application/png"
    assert seed_page.dialogs == []


def test_seed_client_alerts_when_the_function_signs_another_type(sandbox, seed_page, switch, s3, tmp_path):
    # content-type-mismatch: the function signs image/png, the other spelling, and stops reporting contentType;
    # the seed client PUTs Content-Type: application/png.
    switch("content-type-mismatch")
    page = seed_page.page
    data = _choose_png(page, tmp_path)
    for _ in range(100):
        if seed_page.dialogs:
            break
        page.wait_for_timeout(100)
    assert seed_page.dialogs == [("alert", SEED_ALERT)]

    grant = _presign_reply(seed_page, sandbox)
    assert "contentType" not in grant
    (put,) = seed_page.responses_to("PUT", grant["presignedUrl"])
    assert put.status == 403
    assert put.request.headers["content-type"] == "application/png"
    assert page.locator(f'img[src^="{sandbox.endpoints.cdn.rstrip("/")}/"]').count() == 0
    assert s3.list_objects_v2(Bucket=layout.BUCKET, Prefix=grant["key"]).get("KeyCount") == 0

    # Why S3 said 403 (chromium does not keep the body): the browser's request again, then with the signed type.
    again = requests.put(grant["presignedUrl"], data=data, headers={"Content-Type": "application/png"}, timeout=10)
    assert again.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in again.text
    assert "The request signature we calculated does not match the signature you provided" in again.text
    signed = requests.put(grant["presignedUrl"], data=data, headers={"Content-Type": "image/png"}, timeout=10)
    assert signed.status_code == 200, signed.text


def test_seed_client_alerts_when_the_function_hands_out_a_presigned_post(sandbox, seed_page, switch, s3, tmp_path):
    # function-hands-out-post: the reply is {url, fields, key, contentType}; the seed's client PUTs its presignedUrl,
    # which there is none of, and shows its failure alert: the truth about switching the shape under an old client.
    switch("function-hands-out-post")
    page = seed_page.page
    _choose_png(page, tmp_path)
    for _ in range(100):
        if seed_page.dialogs:
            break
        page.wait_for_timeout(100)
    assert seed_page.dialogs == [("alert", SEED_ALERT)]
    grant = _presign_reply(seed_page, sandbox)
    assert "presignedUrl" not in grant and set(grant["fields"]) >= {"key", "policy", "x-amz-signature"}
    assert page.locator(f'img[src^="{sandbox.endpoints.cdn.rstrip("/")}/"]').count() == 0
    assert s3.list_objects_v2(Bucket=layout.BUCKET, Prefix=grant["key"]).get("KeyCount") == 0
