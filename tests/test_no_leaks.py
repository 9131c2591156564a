"""No secret key, and no signature of a presigned URL, reaches a page, an export, the CLI's output or the logs.

The console runs against the real sandbox as an identity with a distinctive secret (the presign role's), so
its own reads are denied and its uploads go through the real presign endpoint: the error paths and the
signed URLs are both exercised. S3's SignatureDoesNotMatch replies (which echo the signature they got) are
provoked with the ``content-type-mismatch`` switch. Everything the person sees or can export is dumped and
searched; so is everything logged at DEBUG level by the console and the libraries under it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import replace

import pytest
from streamlit.testing.v1 import AppTest

from pages._shared import Keys
from services.checks.model import Finding, Status
from services.checks.report import Report
from services.checks.runner import BY_ID, judge
from services.core.redact import guard_library_logs
from services.core.settings import Settings
from services.pipeline.upload import UploadInput, upload_batch
from services.sandbox import layout
from tests.conftest import PROJECT_ROOT, point_console_at
from tests.support import cli, image_bytes

DASHBOARD = str(PROJECT_ROOT / "dashboard.py")
SECRET = layout.PRESIGN_ROLE_SECRET
#: a signature value that is not REDACTED: SigV4 (64 hex digits) in a query, a header or S3's error XML
SIGNATURE = re.compile(
    r"(?i)(X-Amz-Signature=|Signature=|<SignatureProvided>)(?!REDACTED)([0-9a-f]{40,64}|[A-Za-z0-9+/]{27}=)"
)


def leaks(text: str) -> list[str]:
    found = [m.group(0) for m in SIGNATURE.finditer(text)]
    return found + ([f"the secret key {SECRET!r}"] if SECRET in text else [])


@pytest.fixture
def as_presign_role(monkeypatch, sandbox_env) -> dict[str, str]:
    """The console configured for the sandbox, signing its own AWS calls as the presign role."""
    env = dict(sandbox_env, AWS_ACCESS_KEY_ID=layout.PRESIGN_ROLE_KEY, AWS_SECRET_ACCESS_KEY=SECRET)
    point_console_at(monkeypatch, env)
    return env


@pytest.fixture
def debug_log() -> Iterator[list[str]]:
    """Every record logged anywhere at DEBUG level, formatted, while the test runs."""
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    root = logging.getLogger()
    handler, level = Collect(level=logging.DEBUG), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def dump(node: object) -> list[str]:
    """The text of every element of an AppTest tree (its protobuf, printed), depth first."""
    parts = [str(node.proto)] if getattr(node, "proto", None) is not None else []
    for child in getattr(node, "children", {}).values():
        parts += dump(child)
    return parts


def test_the_signature_pattern_finds_what_it_must():
    # the test's own detector, on a real-looking presigned URL and S3 echo, then on their redacted forms
    url = "https://b.s3.amazonaws.com/k.png?X-Amz-Credential=ASIA/x&X-Amz-Signature=" + "ab12" * 16
    assert leaks(url) and leaks("<SignatureProvided>" + "0f" * 32 + "</SignatureProvided>")
    assert leaks("AWSAccessKeyId=AKIA&Signature=abcdefghijklmnopqrstuvwxyz0=") and leaks(f"key {SECRET}")
    assert not leaks("X-Amz-Signature=REDACTED <SignatureProvided>REDACTED</SignatureProvided>")


def test_pages_and_exports_show_no_secret_and_no_signature(as_presign_role, switch, debug_log):
    switch("content-type-mismatch")  # S3 answers SignatureDoesNotMatch, echoing what it was given
    app = AppTest.from_file(DASHBOARD, default_timeout=90)
    app.run()
    shown = dump(app._tree)

    app.switch_page("pages/upload.py")
    app.run()
    app.file_uploader[0].set_value([("cat.png", image_bytes(), "image/png"), ("notes.png", b"not an image", "")])
    app.run()
    app.button[0].click()
    app.run()
    assert not app.exception, app.exception
    upload_text = "\n".join(dump(app._tree))
    assert "SignatureDoesNotMatch" in upload_text  # the failure really happened, and is explained
    shown.append(upload_text)

    app.switch_page("pages/checks.py")
    app.run()
    next(b for b in app.button if b.label == "Run all checks").click()
    app.run()
    assert not app.exception, app.exception
    shown += dump(app._tree)
    report = app.session_state[Keys.CHECK_REPORT]
    assert isinstance(report, Report)
    shown += [report.to_markdown(), json.dumps(report.to_json())]

    app.switch_page("pages/browse.py")
    app.run()
    assert not app.exception, app.exception
    shown += dump(app._tree)

    everything = "\n".join(shown)
    assert "s3:GetBucketCors" in everything or "denied" in everything.lower()  # the denied reads were reported
    assert leaks(everything) == []
    assert leaks("\n".join(debug_log)) == [], "a signature or the secret reached the logs"


def test_upload_service_errors_and_debug_logs_carry_no_signature(sandbox_settings: Settings, switch, debug_log):
    guard_library_logs()  # what the entrypoints do
    switch("content-type-mismatch")
    items = [UploadInput("a.png", image_bytes())]
    results = [result for _, result in upload_batch(items, sandbox_settings)]
    text = json.dumps([result.to_json() for result in results])
    assert "SignatureDoesNotMatch" in text
    assert any("X-Amz-Signature" in line for line in debug_log), "urllib3 logged the signed request line"
    assert leaks(text) == []
    assert leaks("\n".join(debug_log)) == []


def test_cli_output_shows_no_secret_and_no_signature(as_presign_role, switch, tmp_path):
    switch("content-type-mismatch")
    picture = tmp_path / "cat.png"
    picture.write_bytes(image_bytes())
    env = dict(as_presign_role)
    runs = [
        cli("upload", "--json", str(picture), env=env),
        cli("upload", str(picture), env=env),
        cli("check", "--json", env=env),
        cli("check", env=env),
        cli("browse", "--json", env=env),
    ]
    for run in runs:
        assert leaks(run.stdout + run.stderr) == [], run.args
    assert "SignatureDoesNotMatch" in runs[0].stdout


def test_a_check_that_breaks_on_a_signed_url_reports_it_redacted():
    """A judge's bug is reported in the finding as the exception's text, which may quote evidence: redacted."""
    url = "https://b.s3.amazonaws.com/k.png?X-Amz-Credential=ASIA/x&X-Amz-Signature=" + "ab12" * 16

    def broken(_: object) -> Finding:
        raise ValueError(f"could not parse {url}")

    finding = judge(replace(BY_ID["presign.url"], judge=broken), object())
    assert finding.status is Status.UNKNOWN and "ValueError: could not parse https://b.s3" in finding.detail
    assert leaks(finding.detail) == [] and "REDACTED" in finding.detail
