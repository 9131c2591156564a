"""The History page (AppTest, in this process) over runs recorded around a real change on the sandbox."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from services.checks.runner import run_checks
from services.history.record import RunRecorder
from services.history.store import open_store
from tests.conftest import PROJECT_ROOT

DASHBOARD = str(PROJECT_ROOT / "dashboard.py")


def history_page() -> AppTest:
    app = AppTest.from_file(DASHBOARD, default_timeout=60)
    app.run()
    app.switch_page("pages/history.py")
    app.run()
    assert not app.exception, app.exception
    return app


def test_history_page_names_the_run_that_turned_fail_and_shows_the_changed_cors_side_by_side(
    history_env, sandbox_settings, switch
):
    recorder = RunRecorder(sandbox_settings, "alice@example.com", env=history_env)
    run_checks(sandbox_settings, on_done=recorder)
    first = recorder.run_id
    switch("bucket-cors-origin")
    run_checks(sandbox_settings, on_done=recorder)
    second = recorder.run_id
    assert recorder.warning is None and first and second and second > first

    app = history_page()
    assert app.selectbox[0].value == "sandbox"  # the profile of the runs recorded
    (notice,) = [e.value for e in app.error]
    assert (
        f"Run #{second}" in notice
        and "`bucket.cors`" in notice
        and "turned **fail**" in notice
        and "`bucket_cors`" in notice
    )
    assert f"run #{first}" in notice
    changes = app.dataframe[-1].value
    row = changes[changes["id"] == "bucket.cors"].iloc[0]
    assert (row["from"], row["to"]) == ("pass", "fail")
    codes = [c.value for c in app.code]
    before = next(c for c in codes if '"AllowedOrigins"' in c and "http://localhost:5173" in c)
    after = next(c for c in codes if '"AllowedOrigins"' in c and "http://localhost:5173" not in c)
    assert before != after
    assert any(c.startswith("---") and '-      "http://localhost:5173",' in c for c in codes)  # the unified diff
    assert any("read by `bucket.cors`" in m.value for m in app.markdown)
    checks = app.dataframe[0].value
    over_time = checks[checks["check"] == "bucket.cors"].iloc[0]
    assert (over_time[f"#{first}"], over_time[f"#{second}"]) == ("pass", "fail")


def test_history_page_without_runs_says_how_to_make_one(history_env):
    open_store(history_env)
    app = history_page()
    assert any("No check run has been recorded yet" in i.value for i in app.info)


def test_history_page_finds_an_upload_by_the_name_it_was_uploaded_with(history_env, sandbox_settings):
    from services.history.record import record_uploads
    from services.pipeline.upload import UploadInput, upload_batch
    from tests.support import image_bytes

    item = UploadInput(name="Holiday in Jeju (2).png", data=image_bytes())
    ((_, result),) = list(upload_batch([item], sandbox_settings))
    assert record_uploads(sandbox_settings, [(item, result)], "alice@example.com", env=history_env) is None
    app = history_page()
    app.text_input[0].set_value("in Jeju").run()
    assert not app.exception, app.exception
    table = app.dataframe[0].value
    assert list(table["file"]) == ["Holiday in Jeju (2).png"] and list(table["key"]) == [result.key]
    assert list(table["by"]) == ["alice@example.com"] and list(table["outcome"]) == ["ok"]
