"""The Repair page, run by Streamlit's AppTest through dashboard.py against the real sandbox over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from pages._shared import Keys
from services.sandbox import Sandbox
from tests.conftest import PROJECT_ROOT
from tests.repair_data import LONG_CACHE, RepairFixture, put_seed_prefix

DASHBOARD = PROJECT_ROOT / "dashboard.py"
TIMEOUT = 120


@pytest.fixture
def stored(admin_s3: Any, sandbox: Sandbox) -> RepairFixture:
    return put_seed_prefix(admin_s3, sandbox.endpoints.bucket, seed=30, right=5, not_images=3)


@pytest.fixture
def state_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    return tmp_path


def repair_page(prefix: str) -> AppTest:
    app = AppTest.from_file(str(DASHBOARD), default_timeout=TIMEOUT)
    app.run()
    app.switch_page("pages/repair.py")
    app.session_state[Keys.REPAIR_PREFIX] = prefix
    app.run()
    assert not app.exception, app.exception
    return app


def click(app: AppTest, label: str) -> AppTest:
    (found,) = [b for b in app.button if b.label == label]
    found.click()
    app.run()
    assert not app.exception, app.exception
    return app


def metric_values(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def test_the_plan_shows_counts_and_objects_and_without_writes_no_apply(
    configured: None, stored: RepairFixture, state_dir: Path
):
    app = click(repair_page(stored.prefix), "Scan (plan)")
    values = metric_values(app)
    assert (values["Scanned"], values["To fix"], values["Not images"]) == ("38", "30", "3")
    assert any("Nothing was written" in str(w.value) for w in app.warning)
    objects = app.dataframe[1].value
    assert set(objects["what"]) == {"relabel", "not an image: left as it is"}
    assert set(objects.loc[objects["what"] == "relabel", "new Cache-Control"]) == {LONG_CACHE}
    assert "PIPELINE_ALLOW_WRITES=true" in "\n".join(str(i.value) for i in app.info)
    assert not [b for b in app.button if b.label == "Apply the fix"]


def test_apply_needs_the_bucket_typed_then_fixes_and_shows_the_results(
    configured: None, monkeypatch: pytest.MonkeyPatch, stored: RepairFixture, state_dir: Path, admin_s3: Any
):
    monkeypatch.setenv("PIPELINE_ALLOW_WRITES", "true")
    app = click(repair_page(stored.prefix), "Scan (plan)")
    (apply_button,) = [b for b in app.button if b.label == "Apply the fix"]
    assert apply_button.disabled
    app.text_input(key=Keys.REPAIR_CONFIRM).input("not-the-bucket")
    app.run()
    assert next(b for b in app.button if b.label == "Apply the fix").disabled
    app.text_input(key=Keys.REPAIR_CONFIRM).input(stored.bucket)
    app.run()
    app = click(app, "Apply the fix")
    values = metric_values(app)
    assert (values["Fixed"], values["Failed"]) == ("30", "0")
    assert any("CDN:" in str(i.value) and "30 path(s)" in str(i.value) for i in app.info)
    for key, kind in stored.seed_types.items():
        head = admin_s3.head_object(Bucket=stored.bucket, Key=key)
        assert (head["ContentType"], head["CacheControl"]) == (kind, LONG_CACHE)
    again = click(app, "Scan (plan)")
    assert metric_values(again)["To fix"] == "0"
    assert any("Nothing to fix" in str(s.value) for s in again.success)
