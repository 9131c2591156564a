"""One presigned URL for the person who asked: whole, usable by hand (the curl command really uploads), shown
only in the asking session's run and on the CLI's standard output, and refused when it points elsewhere."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from streamlit.testing.v1 import AppTest

from services.core.errors import PipelineError
from services.core.transport import new_session
from services.pipeline.presign import hand_out_url, url_expiry
from tests.conftest import PROJECT_ROOT
from tests.support import cli, http_server, image_bytes

DASHBOARD = str(PROJECT_ROOT / "dashboard.py")
SIGNATURE = re.compile(r"X-Amz-Signature=[0-9a-f]{64}")


def test_the_url_is_whole_and_its_curl_command_uploads_the_file(sandbox_settings, sandbox, admin_s3, tmp_path):
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    with new_session() as session:
        handed = hand_out_url(session, sandbox_settings, "PNG")
    assert SIGNATURE.search(handed.url) and handed.key.endswith(".png")
    assert handed.content_type == "image/png" and handed.content_type_signed
    now = datetime.now(UTC)
    assert handed.expires_at is not None and now < handed.expires_at <= now + timedelta(seconds=310)
    data = image_bytes()
    (tmp_path / "image.png").write_bytes(data)
    run = subprocess.run(
        ["bash", "-c", handed.curl()], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 0, run.stderr + run.stdout
    stored = admin_s3.get_object(Bucket=sandbox.endpoints.bucket, Key=handed.key)
    assert stored["Body"].read() == data and stored["ContentType"] == "image/png"


def test_an_unknown_extension_is_refused_before_any_request(sandbox_settings):
    with (
        http_server(lambda req: (500, {}, b"")) as (base, calls),
        new_session() as session,
        pytest.raises(PipelineError, match="not an extension the pipeline accepts"),
    ):
        hand_out_url(session, dataclasses.replace(sandbox_settings, presign_url=base), "svg")
    assert calls == []


def test_a_url_for_another_bucket_is_refused_not_handed_out(sandbox_settings):
    grant = {"presignedUrl": "https://other-bucket.s3.amazonaws.com/k.png?X-Amz-Signature=" + "0" * 64, "key": "k.png"}
    reply = (200, {"Content-Type": "application/json"}, json.dumps(grant).encode())
    with http_server(lambda req: reply) as (base, _), new_session() as session, pytest.raises(PipelineError) as caught:
        hand_out_url(session, dataclasses.replace(sandbox_settings, presign_url=base), "png")
    assert caught.value.hop == "presign"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://b.s3.amazonaws.com/k?X-Amz-Date=20261126T080000Z&X-Amz-Expires=300",
            datetime(2026, 11, 26, 8, 5, tzinfo=UTC),
        ),
        (
            "https://b.s3.amazonaws.com/k?AWSAccessKeyId=A&Expires=1700000000&Signature=x",
            datetime.fromtimestamp(1700000000, UTC),
        ),
        ("https://b.s3.amazonaws.com/k?X-Amz-Date=garbage&X-Amz-Expires=300", None),
        ("https://b.s3.amazonaws.com/k", None),
    ],
)
def test_url_expiry_reads_the_urls_own_clock(url, expected):
    assert url_expiry(url) == expected


def test_cli_prints_the_url_whole_to_the_person_who_ran_it(sandbox_env, sandbox, admin_s3):
    run = cli("presign", "--json", "--extension", "webp", env=sandbox_env)
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert SIGNATURE.search(doc["presignedUrl"]) and doc["contentType"] == "image/webp"
    human = cli("presign", env=sandbox_env)
    assert human.returncode == 0 and "curl --fail-with-body -X PUT" in human.stdout and SIGNATURE.search(human.stdout)
    assert not SIGNATURE.search(human.stderr)


def test_cli_presign_failure_exits_1_with_a_redacted_reason(sandbox_env):
    env = dict(sandbox_env, PIPELINE_PRESIGN_URL="http://127.0.0.1:9/presign")
    run = cli("presign", env=env)
    assert run.returncode == 1 and "could not connect to the presign endpoint" in run.stderr


def test_the_page_shows_the_url_once_to_the_session_that_asked(configured):
    app = AppTest.from_file(DASHBOARD, default_timeout=60)
    app.run()
    app.switch_page("pages/upload.py")
    app.run()
    next(b for b in app.button if b.label == "Get URL").click()
    app.run()
    assert not app.exception, app.exception
    shown = [c.value for c in app.code]
    assert any(SIGNATURE.search(code) for code in shown)
    assert any(code.startswith("curl --fail-with-body -X PUT -H 'Content-Type: image/png'") for code in shown)
    assert not any(SIGNATURE.search(repr(app.session_state[k])) for k in app.session_state)
    app.run()  # any later interaction: the URL is gone, not kept anywhere
    assert not any(SIGNATURE.search(c.value) for c in app.code)
