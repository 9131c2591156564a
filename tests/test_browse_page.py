"""The Browse page, run by Streamlit's AppTest through dashboard.py against the real sandbox over HTTP.

These need the page routed in dashboard.py and its Keys in pages/_shared.py (see services/pipeline/browse.py's
integration notes); until then they fail with a message saying so.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import pytest
import requests
from streamlit.testing.v1 import AppTest

import services.pipeline.browse
from pages._shared import Keys
from services.core.settings import DEFAULT_PROFILE
from services.core.transport import new_session
from services.history.record import record_uploads
from services.pipeline.upload import UploadInput, cdn_object_url, upload_one
from services.sandbox import layout
from tests.browse_data import ODD_KEYS, ODD_NON_IMAGE, SCALE_PREFIX
from tests.conftest import PROJECT_ROOT
from tests.support import image_bytes

DASHBOARD = PROJECT_ROOT / "dashboard.py"
TIMEOUT = 60


@pytest.fixture
def list_calls(monkeypatch) -> list[dict[str, Any]]:
    """Every ListObjectsV2 request the page's S3 clients send (botocore's before-call event)."""
    calls: list[dict[str, Any]] = []
    real = services.pipeline.browse.make_client

    def counting(service: str, target: Any, **overrides: Any) -> Any:
        client = real(service, target, **overrides)
        client.meta.events.register(f"before-call.{service}.ListObjectsV2", lambda params, **_: calls.append(params))
        return client

    monkeypatch.setattr(services.pipeline.browse, "make_client", counting)
    return calls


def browse_page(prefix: str | None = None) -> AppTest:
    assert "pages/browse.py" in DASHBOARD.read_text(), "Browse is not routed yet: add its st.Page line to dashboard.py"
    app = AppTest.from_file(str(DASHBOARD), default_timeout=TIMEOUT)
    app.run()
    app.switch_page("pages/browse.py")
    if prefix is not None:
        app.session_state[Keys.BROWSE_PREFIX] = prefix  # as if typed before the first listing
    app.run()
    assert not app.exception, app.exception
    return app


def image_urls(app: AppTest) -> list[str]:
    return [url for image in app.image for url in image.value]


def texts(app: AppTest, *kinds: str) -> str:
    kinds = kinds or ("markdown", "caption", "info", "error", "warning", "success", "code")
    return "\n".join(str(element.value) for kind in kinds for element in getattr(app, kind))


def button(app: AppTest, label: str) -> Any:
    (found,) = [b for b in app.button if b.label == label]
    return found


def click(app: AppTest, label: str) -> AppTest:
    button(app, label).click()
    app.run()
    assert not app.exception, app.exception
    return app


def test_first_page_is_one_list_call_and_pages_forward_and_back(configured, list_calls, scale_keys, sandbox):
    app = browse_page(SCALE_PREFIX)
    assert len(list_calls) == 1, list_calls
    assert list_calls[0]["query_string"] == {"max-keys": 48, "prefix": SCALE_PREFIX, "encoding-type": "url"}
    assert image_urls(app) == [f"{sandbox.endpoints.cdn}/{key}" for key in scale_keys[:48]]
    assert "Page 1 · keys 1–48 · 48 seen so far · more after this page" in texts(app, "caption")
    assert [b.disabled for b in app.button if b.label in ("Previous", "Next")] == [True, False]

    click(app, "Next")
    assert len(list_calls) == 2 and list_calls[1]["query_string"]["continuation-token"]
    assert image_urls(app) == [f"{sandbox.endpoints.cdn}/{key}" for key in scale_keys[48:96]]
    assert "Page 2 · keys 49–96 · 96 seen so far" in texts(app, "caption")

    click(app, "Previous")
    assert image_urls(app) == [f"{sandbox.endpoints.cdn}/{key}" for key in scale_keys[:48]]
    assert "Page 1 · keys 1–48 · 96 seen so far" in texts(app, "caption")
    assert len(list_calls) <= 3  # page 1 again: from the short-lived cache, or one more call; never a walk
    assert list(app.session_state[Keys.BROWSE_CURSOR].tokens) == []  # tokens only: no page is kept in the session


def test_page_size_newest_first_and_the_table_say_what_they_are(configured, list_calls, scale_keys):
    app = browse_page(SCALE_PREFIX)
    app.selectbox(key=Keys.BROWSE_PAGE_SIZE).set_value(24)
    app.run()
    assert list_calls[-1]["query_string"]["max-keys"] == 24 and len(image_urls(app)) == 24
    in_key_order, calls = image_urls(app), len(list_calls)
    app.radio(key=Keys.BROWSE_ORDER).set_value("Newest first")
    app.run()
    assert "sorts **this page only**" in texts(app, "caption")
    assert sorted(image_urls(app)) == in_key_order and len(list_calls) == calls  # the same page, sorted, no call
    app.button_group(key=Keys.BROWSE_VIEW).set_value("Table")
    app.run()
    assert not app.image
    (table,) = app.dataframe
    assert list(table.value.columns) == [
        "key",
        "uploaded as",
        "size",
        "type (from extension)",
        "last modified",
        "ETag",
        "CDN URL",
    ]
    assert set(table.value["key"]) == set(scale_keys[:24]) and set(table.value["type (from extension)"]) == {
        "image/png"
    }
    assert "guessed from each key's extension" in texts(app, "caption")


def test_odd_keys_get_loadable_cdn_urls_and_a_non_image_gets_a_placeholder(configured, odd_objects, sandbox):
    app = browse_page("browse-odd/")
    expected = {cdn_object_url(sandbox.endpoints.cdn, key) for key in ODD_KEYS}
    assert set(image_urls(app)) == expected
    for url in expected:
        assert requests.get(url, timeout=10).status_code == 200, url
    assert "not an image (text/plain)" in texts(app, "markdown")
    assert ODD_NON_IMAGE not in {url.rsplit("/", 1)[-1] for url in image_urls(app)}


def test_detail_without_writes_shows_metadata_cdn_headers_and_no_write_controls(configured, odd_objects, sandbox):
    key = "browse-odd/a photo + more.png"
    app = browse_page("browse-odd/")
    app.button(key=Keys.BROWSE_OPEN + key).click()  # the name under its thumbnail
    app.run()
    assert not app.exception, app.exception
    codes = [c.value for c in app.code]
    assert key in codes and cdn_object_url(sandbox.endpoints.cdn, key) in codes
    assert f"s3://{sandbox.endpoints.bucket}/{key}" in codes
    assert "Direct anonymous S3 access is denied (HTTP 403 AccessDenied)" in texts(app, "success")
    s3_rows, cdn_rows = (dict(zip(t.value.iloc[:, 0], t.value.iloc[:, 1], strict=True)) for t in app.dataframe)
    assert (
        s3_rows["Content-Type"] == "image/png" and cdn_rows["status"] == "200" and "cloudfront" in cdn_rows["X-Cache"]
    )
    assert [link.value for link in app.get("page_link")] == ["Run the pipeline checks (bucket policy, CDN grant, CORS)"]
    assert "PIPELINE_ALLOW_WRITES=true" in texts(app, "info")
    assert not [b for b in app.button if b.label in ("Delete object", "Create invalidation")]
    assert [t.key for t in app.text_input] == [Keys.BROWSE_PREFIX, Keys.BROWSE_NAME]  # no confirmation box either


@pytest.fixture
def writes_on(configured, monkeypatch):
    monkeypatch.setenv("PIPELINE_ALLOW_WRITES", "true")


def test_delete_needs_the_typed_key_then_removes_and_invalidates(writes_on, sandbox, admin_s3):
    prefix = f"browse-page-delete-{uuid.uuid4().hex[:8]}/"
    key = f"{prefix}to delete+1.png"
    admin_s3.put_object(Bucket=sandbox.endpoints.bucket, Key=key, Body=image_bytes(), ContentType="image/png")
    url = cdn_object_url(sandbox.endpoints.cdn, key)
    assert requests.get(url, timeout=10).status_code == 200  # now in the edge cache
    app = browse_page(prefix)
    app.button(key=Keys.BROWSE_OPEN + key).click()  # the name under its thumbnail
    app.run()
    assert button(app, "Delete object").disabled
    app.text_input(key=Keys.BROWSE_CONFIRM_DELETE + key).input(f"{prefix}something else.png")
    app.run()
    assert button(app, "Delete object").disabled
    app.text_input(key=Keys.BROWSE_CONFIRM_DELETE + key).input(key)
    app.run()
    click(app, "Delete object")
    notices = texts(app, "success")
    assert "Deleted" in notices and "Invalidation" in notices
    assert "Contents" not in admin_s3.list_objects_v2(Bucket=sandbox.endpoints.bucket, Prefix=prefix)
    assert "No objects under the prefix" in texts(app, "info")  # the listing was read again, not from the cache
    assert requests.get(url, timeout=10).status_code in (403, 404)  # the cached copy is gone from the edge


def test_invalidate_needs_its_checkbox_and_really_clears_the_edge(writes_on, sandbox, admin_s3):
    prefix = f"browse-page-invalidate-{uuid.uuid4().hex[:8]}/"
    key = f"{prefix}사진.png"
    bucket, url = sandbox.endpoints.bucket, cdn_object_url(sandbox.endpoints.cdn, key)
    admin_s3.put_object(Bucket=bucket, Key=key, Body=image_bytes(colour="red"), ContentType="image/png")
    assert requests.get(url, timeout=10).content == image_bytes(colour="red")
    admin_s3.put_object(Bucket=bucket, Key=key, Body=image_bytes(colour="blue"), ContentType="image/png")
    app = browse_page(prefix)
    app.button(key=Keys.BROWSE_OPEN + key).click()  # the name under its thumbnail
    app.run()
    assert button(app, "Create invalidation").disabled
    assert requests.get(url, timeout=10).content == image_bytes(colour="red")  # still the stale copy
    app.checkbox(key=Keys.BROWSE_CONFIRM_INVALIDATE + key).check()
    app.run()
    click(app, "Create invalidation")
    assert "Invalidation" in texts(app, "success")
    assert requests.get(url, timeout=10).content == image_bytes(colour="blue")


def test_listing_denied_names_the_permission(configured, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", layout.PRESIGN_ROLE_KEY)  # a real identity that may only s3:PutObject
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", layout.PRESIGN_ROLE_SECRET)
    app = browse_page()
    (error,) = [e.value for e in app.error]
    assert "AccessDenied" in error and "`s3:ListBucket`" in error
    assert not app.image and not app.dataframe


def test_unknown_credentials_say_so(configured, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUNKNOWN000000000")
    app = browse_page()
    (error,) = [e.value for e in app.error]
    assert "InvalidAccessKeyId" in error and "does not accept the console's credentials" in error


def test_an_empty_bucket_and_an_empty_prefix_each_say_so(configured, monkeypatch, sandbox, admin_s3):
    name = f"browse-empty-{uuid.uuid4().hex[:12]}"
    admin_s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": sandbox.endpoints.region})
    try:
        monkeypatch.setenv("PIPELINE_BUCKET", name)
        app = browse_page()
        assert f"The bucket `{name}` is empty" in texts(app, "info")
        assert not app.image
    finally:
        admin_s3.delete_bucket(Bucket=name)
    monkeypatch.setenv("PIPELINE_BUCKET", sandbox.endpoints.bucket)
    app = browse_page("browse-nothing-here/")
    assert "No objects under the prefix `browse-nothing-here/`" in texts(app, "info")


def test_an_object_is_found_by_the_name_it_was_uploaded_with_and_named_beside_its_key(
    configured, monkeypatch, tmp_path, sandbox_settings
):
    monkeypatch.setenv("PIPELINE_HISTORY_URL", f"sqlite:///{tmp_path / 'history.sqlite3'}")
    item = UploadInput("Sunset at sea.png", image_bytes())
    result = upload_one(item, sandbox_settings, new_session())
    assert result.ok and result.key
    as_the_page = dataclasses.replace(sandbox_settings, profile=DEFAULT_PROFILE)  # the environment's pipeline
    assert record_uploads(as_the_page, [(item, result)], "tester") is None
    app = browse_page(result.key)  # the listing of just that key: the tile says what it was uploaded as
    assert "uploaded as Sunset at sea.png" in texts(app, "caption")
    app.text_input(key=Keys.BROWSE_NAME).input("sunset AT").run()  # part of the name, in any case
    (line,) = [m.value for m in app.markdown if "→" in m.value]
    assert "`Sunset at sea.png` → `" + result.key + "`" in line and "in the bucket" in line and "by `tester`" in line
    app.button(key=Keys.BROWSE_FOUND + result.key).click().run()
    assert not app.exception, app.exception
    codes = [c.value for c in app.code]
    assert result.key in codes and "Sunset at sea.png" in codes  # the detail: the key and the name it came as
    assert any(c.value.startswith("Uploaded as") for c in app.caption)
    app.text_input(key=Keys.BROWSE_NAME).input("no such file").run()
    assert "No upload through this console stored an object under a name containing 'no such file'" in texts(app)
