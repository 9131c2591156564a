"""The pages, run by Streamlit's AppTest against the real sandbox over HTTP."""

from __future__ import annotations

import os

from streamlit.testing.v1 import AppTest

from tests.conftest import PROJECT_ROOT
from tests.support import image_bytes

DASHBOARD = str(PROJECT_ROOT / "dashboard.py")
TIMEOUT = 60


def upload_page() -> AppTest:
    app = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT)
    app.run()
    app.switch_page("pages/upload.py")
    app.run()
    assert not app.exception, app.exception
    return app


def all_text(app: AppTest) -> str:
    parts = [m.value for m in app.markdown] + [e.value for e in app.error] + [c.value for c in app.code]
    parts += [s.value for s in app.sidebar.success] + [i.value for i in app.info] + [c.value for c in app.caption]
    return "\n".join(str(p) for p in parts)


def test_upload_page_uploads_and_shows_cdn_images_with_copyable_key_and_url(configured, sandbox, bucket_keys):
    before = bucket_keys()
    app = upload_page()
    app.file_uploader[0].set_value(
        [("cat.png", image_bytes(), "image/png"), ("dog.jpg", image_bytes("JPEG"), "image/jpeg")]
    )
    app.run()
    app.button[0].click()
    app.run()
    assert not app.exception, app.exception
    assert any("2 of 2 uploaded" in h.value for h in app.subheader)
    new_keys = bucket_keys() - before
    assert len(new_keys) == 2
    codes = [c.value for c in app.code]
    for key in new_keys:
        assert key in codes and f"{sandbox.endpoints.cdn}/{key}" in codes
    urls = {url for image in app.image for url in image.value}
    assert urls == {f"{sandbox.endpoints.cdn}/{key}" for key in new_keys}  # the browser loads them from the CDN


def test_upload_page_reports_bad_files_per_file_and_keeps_going(configured, bucket_keys):
    before = bucket_keys()
    app = upload_page()
    app.file_uploader[0].set_value(
        [
            ("fake.png", b"definitely not a png", "image/png"),
            ("empty.png", b"", "image/png"),
            ("ok.gif", image_bytes("GIF"), "image/gif"),
        ]
    )
    app.run()
    app.button[0].click()
    app.run()
    assert not app.exception, app.exception
    assert any("1 of 3 uploaded" in h.value for h in app.subheader)
    errors = [e.value for e in app.error]
    assert len(errors) == 2 and all("file check" in e for e in errors)
    assert any("empty" in e for e in errors) and any("not a PNG" in e for e in errors)
    assert len(bucket_keys() - before) == 1
    assert len(app.table) == 1 + 2  # the results table, and each failed file's trace (an upload's is a list)
    assert any(m.value.startswith("- **file check") for m in app.markdown)  # the uploaded file's trace


def test_upload_page_explains_an_endpoint_that_is_down(configured, monkeypatch):
    from tests.support import closed_port

    monkeypatch.setenv("PIPELINE_PRESIGN_URL", f"http://127.0.0.1:{closed_port()}/presign")
    app = upload_page()
    app.file_uploader[0].set_value(("a.png", image_bytes(), "image/png"))
    app.run()
    app.button[0].click()
    app.run()
    assert not app.exception
    (error,) = [e.value for e in app.error]
    assert "presign endpoint" in error and "could not connect" in error
    assert "PIPELINE_PRESIGN_URL" in all_text(app)


def test_upload_button_is_disabled_until_files_are_chosen(configured):
    app = upload_page()
    assert app.button[0].disabled
    assert "Choose one or more images" in all_text(app)


def test_sidebar_names_the_configured_target(configured, sandbox):
    app = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT)
    app.run()
    assert not app.exception
    codes = [c.value for c in app.sidebar.code]
    assert sandbox.endpoints.presign in codes and sandbox.endpoints.bucket in codes and sandbox.endpoints.cdn in codes
    assert "Configured pipeline" in "\n".join(i.value for i in app.sidebar.info)


def test_partial_configuration_names_what_is_missing(monkeypatch):
    for name in [n for n in os.environ if n.startswith("PIPELINE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PIPELINE_BUCKET", "some-bucket")
    app = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT)
    app.run()
    assert not app.exception
    (error,) = [e.value for e in app.error]
    assert "PIPELINE_PRESIGN_URL" in error and "PIPELINE_CDN_URL" in error


def test_with_nothing_configured_the_console_starts_its_sandbox(monkeypatch):
    for name in [n for n in os.environ if n.startswith(("PIPELINE_", "AWS_"))]:
        monkeypatch.delenv(name)
    app = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT)
    app.run()
    assert not app.exception
    assert "Sandbox — local emulation" in "\n".join(s.value for s in app.sidebar.success)
    app.switch_page("pages/upload.py")
    app.run()
    app.file_uploader[0].set_value(("a.webp", image_bytes("WEBP"), "image/webp"))
    app.run()
    app.button[0].click()
    app.run()
    assert any("1 of 1 uploaded" in h.value for h in app.subheader)


def test_pipeline_page_colours_hops_by_the_latest_upload(configured):
    app = upload_page()
    app.file_uploader[0].set_value(("a.png", image_bytes(), "image/png"))
    app.run()
    app.button[0].click()
    app.run()
    app.switch_page("pages/pipeline.py")
    app.run()
    assert not app.exception
    (chart,) = app.get("graphviz_chart")
    assert "[ok]" in chart.proto.spec and "[failed]" not in chart.proto.spec


def test_sidebar_break_switch_breaks_the_sandbox_and_the_pipeline_page_says_so(monkeypatch):
    for name in [n for n in os.environ if n.startswith(("PIPELINE_", "AWS_"))]:
        monkeypatch.delenv(name)
    app = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT)
    app.run()
    toggle = app.sidebar.toggle(key="sandbox.switch.lambda-role-no-put")
    assert toggle.value is False
    toggle.set_value(True)
    app.run()
    assert not app.exception
    assert "Break switch on: Lambda role without s3:PutObject" in "\n".join(w.value for w in app.warning)
    app.switch_page("pages/upload.py")
    app.run()
    app.file_uploader[0].set_value(("a.png", image_bytes(), "image/png"))
    app.run()
    app.button[0].click()
    app.run()
    (error,) = [e.value for e in app.error]
    assert "S3 upload" in error and "AccessDenied" in error
    app.sidebar.toggle(key="sandbox.switch.lambda-role-no-put").set_value(False)
    app.run()
    app.switch_page("pages/pipeline.py")
    app.run()
    assert not [w for w in app.warning if "Break switch on" in w.value]


def test_checks_page_runs_everything_and_reports_a_switched_failure(configured, switch):
    switch("lambda-role-no-put")
    app = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT)
    app.run()
    app.switch_page("pages/checks.py")
    app.run()
    assert "Run all checks" in [b.label for b in app.button]
    next(b for b in app.button if b.label == "Run all checks").click()
    app.run()
    assert not app.exception, app.exception
    labels = [e.label for e in app.expander]
    assert any("`lambda.role_put`" in label and "**FAIL**" in label for label in labels)
    assert any("`bucket.cors`" in label for label in labels)
    headers = [h.value for h in app.subheader]
    assert (
        headers.index("Presign endpoint (API Gateway + Lambda)")
        < headers.index("S3 bucket")
        < headers.index("CDN (CloudFront)")
    )
    fail_metric = next(m for m in app.metric if m.label.endswith("fail"))
    assert int(fail_metric.value) >= 1
    assert any("aws iam put-role-policy" in c.value for c in app.code)
    downloads = app.get("download_button")
    assert len(downloads) == 2
