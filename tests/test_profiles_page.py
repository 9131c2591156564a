"""Profiles in the console, run by AppTest through dashboard.py on the real sandbox: the sidebar switcher, production
unmistakable on every page, nothing of one profile shown under another, and production writes asking for its name.

Two profiles in one session: ``default`` (the PIPELINE_* variables of the ``configured`` fixture) and ``live``, a
production ``[pipelines.live]`` table pointing at the same sandbox under another name.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from pages._shared import Keys
from services.sandbox import Sandbox, layout
from tests.conftest import PROJECT_ROOT
from tests.support import image_bytes
from tests.test_browse_page import list_calls  # noqa: F401 (a fixture)
from tests.test_checks_page_apply import bucket_policy
from tests.test_profiles import sandbox_table

DASHBOARD = str(PROJECT_ROOT / "dashboard.py")
TIMEOUT = 90
PAGES = (
    "pages/pipeline.py",
    "pages/upload.py",
    "pages/browse.py",
    "pages/checks.py",
    "pages/repair.py",
    "pages/history.py",
)
CHECK = "bucket.cdn_read_grant"


@pytest.fixture
def two_profiles(configured, sandbox: Sandbox) -> dict[str, Any]:
    """The secrets document of the session: ``[pipelines.live]``, production, writes allowed, on the sandbox."""
    return {"pipelines": {"live": sandbox_table(sandbox, production=True, allow_writes=True)}}


def console(secrets: dict[str, Any], page: str | None = None) -> AppTest:
    app = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT)
    app.secrets = secrets
    app.run()
    if page is not None:
        app.switch_page(page)
        app.run()
    assert not app.exception, app.exception
    return app


def switch_to(app: AppTest, profile: str) -> AppTest:
    app.sidebar.selectbox(key=Keys.PROFILE).set_value(profile).run()
    assert not app.exception, app.exception
    return app


def banner(app: AppTest) -> list[str]:
    return [e.value for e in app.main.error if "PRODUCTION" in e.value]


def click(app: AppTest, label: str) -> AppTest:
    next(b for b in app.button if b.label == label).click()
    app.run()
    assert not app.exception, app.exception
    return app


def test_the_switcher_lists_every_profile_and_starts_at_the_default(two_profiles) -> None:
    app = console(two_profiles)

    switcher = app.sidebar.selectbox(key=Keys.PROFILE)
    assert switcher.options == ["default", "live (PRODUCTION)", "sandbox"]
    assert switcher.value == "default"
    assert banner(app) == [] and not [e for e in app.sidebar.error if "PRODUCTION" in e.value]


@pytest.mark.parametrize("page", PAGES)
def test_a_production_profile_is_unmistakable_on_every_page(two_profiles, page: str) -> None:
    app = switch_to(console(two_profiles, page), "live")
    assert app.session_state[Keys.PROFILE] == "live"
    app.switch_page(page)
    app.run()

    (shown,) = banner(app)
    assert "profile `live`" in shown and layout.BUCKET in shown
    assert any("PRODUCTION" in e.value and "`live`" in e.value for e in app.sidebar.error)
    assert "profile `live`" in "\n".join(i.value for i in app.sidebar.info)


def test_switching_profile_drops_the_results_of_the_one_before(two_profiles) -> None:
    app = click(console(two_profiles, "pages/checks.py"), "Run all checks")
    assert app.session_state[Keys.CHECK_REPORT].target.profile == "default"
    app.session_state[Keys.BROWSE_PREFIX] = "from-default/"
    app.session_state[Keys.UPLOAD_RESULTS] = ["a default upload"]

    switch_to(app, "live")

    for key in (Keys.CHECK_REPORT, Keys.BROWSE_PREFIX, Keys.UPLOAD_RESULTS):
        assert key not in app.session_state, key
    assert any("Press **Run all checks**" in i.value for i in app.info)  # no report of default under live
    click(app, "Run all checks")
    assert app.session_state[Keys.CHECK_REPORT].target.profile == "live"
    assert app.session_state[Keys.CHECK_REPORT].target.production is True

    switch_to(app, "default")
    assert Keys.CHECK_REPORT not in app.session_state and banner(app) == []


def test_a_listing_cached_for_one_profile_is_not_shown_for_another(two_profiles, list_calls) -> None:  # noqa: F811
    app = console(two_profiles, "pages/browse.py")
    listed = len(list_calls)
    app.run()
    assert listed >= 1 and len(list_calls) == listed  # a rerun is served from the page's cache

    switch_to(app, "live")

    assert len(list_calls) == listed + 1  # the same bucket and prefix, but another profile: listed afresh
    assert list_calls[-1]["query_string"] == list_calls[0]["query_string"]


def test_on_production_apply_fix_waits_for_the_profile_name_too(two_profiles, switch, admin_s3) -> None:
    switch("cdn-grant-missing")
    app = switch_to(console(two_profiles, "pages/checks.py"), "live")
    click(app, "Run all checks")
    apply = app.button(key=Keys.CHECK_FIX_APPLY + CHECK)
    assert apply.disabled

    app.text_input(key=Keys.CHECK_FIX_CONFIRM + CHECK).input(layout.BUCKET).run()
    profile = app.text_input(key=Keys.CHECK_FIX_CONFIRM_PROFILE + CHECK)
    assert profile.label == "Production profile: type its name `live` too"
    assert app.button(key=Keys.CHECK_FIX_APPLY + CHECK).disabled  # the bucket alone is not enough on production
    profile.input("default").run()
    assert app.button(key=Keys.CHECK_FIX_APPLY + CHECK).disabled
    assert bucket_policy(admin_s3) is None

    app.text_input(key=Keys.CHECK_FIX_CONFIRM_PROFILE + CHECK).input("live").run()
    app.button(key=Keys.CHECK_FIX_APPLY + CHECK).click().run()

    assert not app.exception, app.exception
    assert any("PutBucketPolicy" in s.value for s in app.success)
    assert bucket_policy(admin_s3) is not None


def test_on_production_browse_delete_waits_for_the_profile_name_too(two_profiles, sandbox, admin_s3) -> None:
    prefix = f"profiles-page-delete-{uuid.uuid4().hex[:8]}/"
    key = f"{prefix}gone.png"
    admin_s3.put_object(Bucket=sandbox.endpoints.bucket, Key=key, Body=image_bytes(), ContentType="image/png")
    app = switch_to(console(two_profiles, "pages/browse.py"), "live")
    app.session_state[Keys.BROWSE_PREFIX] = prefix
    app.run()
    app.button(key=Keys.BROWSE_OPEN + key).click().run()  # the name under its thumbnail

    app.text_input(key=Keys.BROWSE_CONFIRM_DELETE + key).input(key).run()
    assert next(b for b in app.button if b.label == "Delete object").disabled  # the key alone: not on production
    app.text_input(key=Keys.BROWSE_CONFIRM_PROFILE + key).input("live").run()
    click(app, "Delete object")

    assert any("Deleted" in s.value for s in app.success)
    assert "Contents" not in admin_s3.list_objects_v2(Bucket=sandbox.endpoints.bucket, Prefix=prefix)


def test_without_production_there_is_no_profile_field(two_profiles, switch, monkeypatch) -> None:
    monkeypatch.setenv("PIPELINE_ALLOW_WRITES", "true")
    switch("cdn-grant-missing")
    app = click(console(two_profiles, "pages/checks.py"), "Run all checks")

    assert app.text_input(key=Keys.CHECK_FIX_CONFIRM + CHECK)
    assert not [t for t in app.text_input if t.key == Keys.CHECK_FIX_CONFIRM_PROFILE + CHECK]


def test_an_incomplete_profile_says_what_its_table_lacks_and_can_be_switched_away_from(two_profiles) -> None:
    secrets = {"pipelines": {**two_profiles["pipelines"], "half": {"bucket": "half-bucket"}}}
    app = switch_to(console(secrets), "half")

    assert any("PIPELINE_PRESIGN_URL" in e.value and "[pipelines.half]" in e.value for e in app.error)
    assert any("[pipelines.half]" in c.value and "presign_url" in c.value for c in app.code)
    switch_to(app, "live")
    assert banner(app) and not [e for e in app.error if "[pipelines.half]" in e.value]


def test_with_nothing_configured_the_sidebar_names_the_one_profile_instead_of_a_switcher(monkeypatch) -> None:
    for name in [n for n in os.environ if n.startswith(("PIPELINE_", "AWS_"))]:
        monkeypatch.delenv(name)
    app = console({})
    assert not [box for box in app.sidebar.selectbox if box.key == Keys.PROFILE]  # nothing to switch to
    assert any(caption.value == "Profile: `sandbox`" for caption in app.sidebar.caption)
    assert app.session_state[Keys.PROFILE] == "sandbox"
