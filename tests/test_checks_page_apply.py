"""The Checks page's "Apply fix" (issue #6), run by Streamlit's AppTest through dashboard.py against the real sandbox
over HTTP: read-only by default, then only after typing the bucket's name, and the finding turns to its new verdict."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from streamlit.testing.v1 import AppTest

from pages._shared import Keys
from services.core.writes import WRITES_OFF_HINT
from services.history.store import close_stores, open_store
from services.sandbox import layout
from tests.conftest import PROJECT_ROOT

DASHBOARD = str(PROJECT_ROOT / "dashboard.py")
TIMEOUT = 90
CHECK = "bucket.cdn_read_grant"


@pytest.fixture
def writes_on(configured, monkeypatch):
    monkeypatch.setenv("PIPELINE_ALLOW_WRITES", "true")


@pytest.fixture
def history(monkeypatch, tmp_path) -> Any:
    """A history of this test's own (the page records into it)."""
    url = f"sqlite:///{tmp_path / 'history.sqlite3'}"
    monkeypatch.setenv("PIPELINE_HISTORY_URL", url)
    yield open_store({"PIPELINE_HISTORY_URL": url})
    close_stores()


def checks_run() -> AppTest:
    app = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT)
    app.run()
    app.switch_page("pages/checks.py")
    app.run()
    click(app, next(b for b in app.button if b.label == "Run all checks"))
    return app


def click(app: AppTest, button: Any) -> AppTest:
    button.click()
    app.run()
    assert not app.exception, app.exception
    return app


def expander(app: AppTest, check_id: str) -> Any:
    (found,) = [e for e in app.expander if f"`{check_id}`" in e.label]
    return found


def apply_button(app: AppTest, check_id: str) -> Any:
    return app.button(key=Keys.CHECK_FIX_APPLY + check_id)


def fails(app: AppTest) -> int:
    return int(next(m for m in app.metric if m.label.endswith("fail")).value)


def bucket_policy(admin_s3: Any) -> dict[str, Any] | None:
    try:
        return json.loads(admin_s3.get_bucket_policy(Bucket=layout.BUCKET)["Policy"])
    except ClientError as err:
        assert err.response["Error"]["Code"] == "NoSuchBucketPolicy"
        return None


def test_with_writes_off_the_fix_says_how_to_apply_it_and_offers_no_button(configured, switch, admin_s3):
    switch("cdn-grant-missing")
    app = checks_run()
    found = expander(app, CHECK)
    assert "**FAIL**" in found.label
    assert "put-bucket-policy" in "\n".join(c.value for c in found.code)
    assert any("Apply this fix here" in m.value and "PutBucketPolicy" in m.value for m in found.markdown)
    assert WRITES_OFF_HINT in [c.value for c in found.caption]
    assert WRITES_OFF_HINT.startswith("Writes are off: the console is read-only.")
    assert "PIPELINE_ALLOW_WRITES=true" in WRITES_OFF_HINT
    assert [b.label for b in app.button if b.label == "Apply fix"] == []
    assert not found.text_input
    assert bucket_policy(admin_s3) is None  # nothing was written


def test_typing_the_bucket_enables_apply_and_the_finding_turns_to_pass(writes_on, switch, admin_s3, history):
    switch("cdn-grant-missing")
    app = checks_run()
    found = expander(app, CHECK)
    assert "**FAIL**" in found.label and WRITES_OFF_HINT not in [c.value for c in found.caption]
    failing = fails(app)
    confirm = app.text_input(key=Keys.CHECK_FIX_CONFIRM + CHECK)
    assert confirm.label == f"Type `{layout.BUCKET}` to confirm"
    assert apply_button(app, CHECK).disabled
    confirm.input("pipeline").run()
    assert apply_button(app, CHECK).disabled
    assert bucket_policy(admin_s3) is None
    app.text_input(key=Keys.CHECK_FIX_CONFIRM + CHECK).input(layout.BUCKET).run()
    assert not apply_button(app, CHECK).disabled
    click(app, apply_button(app, CHECK))
    notice = "\n".join(s.value for s in app.success)
    assert "Applied PutBucketPolicy on bucket pipeline-sandbox" in notice and ": PASS" in notice
    assert "**PASS**" in expander(app, CHECK).label
    assert fails(app) == failing - 1
    granted = bucket_policy(admin_s3)
    assert granted is not None
    sources = [s["Condition"]["StringEquals"]["AWS:SourceArn"] for s in granted["Statement"]]
    assert sources == [f"arn:aws:cloudfront::{layout.ACCOUNT_ID}:distribution/{layout.DISTRIBUTION_ID}"]
    # both runs are in the history: the page's run, then the check's run after the fix
    recorded = history.runs(check=CHECK)
    assert [history.statuses([run.id])[run.id][CHECK] for run in recorded] == ["pass", "fail"]


def test_a_second_fix_for_the_same_policy_is_refused_on_the_page(writes_on, switch, admin_s3):
    # under the seed's policy two checks offer a new bucket policy, both computed from the policy as it was; once one
    # is applied the other no longer fits, and the page says so instead of writing the public statement back
    switch("seed-public-policy")
    app = checks_run()
    app.text_input(key=Keys.CHECK_FIX_CONFIRM + "bucket.public_write").input(layout.BUCKET).run()
    click(app, apply_button(app, "bucket.public_write"))
    assert "**PASS**" in expander(app, "bucket.public_write").label
    fixed = bucket_policy(admin_s3)
    app.text_input(key=Keys.CHECK_FIX_CONFIRM + CHECK).input(layout.BUCKET).run()
    click(app, apply_button(app, CHECK))
    errors = "\n".join(e.value for e in app.error)
    assert "changed since the check read it" in errors and "Run the check again" in errors
    assert bucket_policy(admin_s3) == fixed
