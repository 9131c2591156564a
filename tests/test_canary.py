"""The checks' canary: under canary/ (asked of the endpoint, which chooses keys), removed after the run when writes
are allowed, hidden by Browse (tests/test_first_hour_pages.py), and not written at all with --no-canary."""

from __future__ import annotations

import json
import re

import requests
from streamlit.testing.v1 import AppTest

from pages._shared import Keys
from presign_function import lambda_function
from services.pipeline.canary import CANARY_PREFIX, KEY_PREFIX_HEADER, is_canary
from tests.conftest import PROJECT_ROOT
from tests.support import cli

CANARY_KEY = re.compile(r"^canary/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.png$")
CANARY_CHECKS = {"upload.roundtrip", "upload.content_type", "upload.stored_type", "cdn.read", "cdn.cache_hit"}


def test_the_shipped_function_allows_exactly_the_consoles_canary_prefix():
    assert lambda_function.KEY_PREFIXES == (CANARY_PREFIX,)


def test_the_endpoint_puts_a_canary_under_its_folder_and_refuses_any_other(sandbox):
    def ask(**headers: str) -> requests.Response:
        return requests.get(sandbox.endpoints.presign, headers={"x-extension": "png", **headers}, timeout=10)

    canary = ask(**{KEY_PREFIX_HEADER: CANARY_PREFIX})
    assert canary.status_code == 200 and CANARY_KEY.match(canary.json()["key"])
    plain = ask()  # the seed's client sends no such header: its keys stay <uuid>.png
    assert plain.status_code == 200 and not is_canary(plain.json()["key"]) and "/" not in plain.json()["key"]
    for other in ("../", "admin/", "canary/../", "canary"):
        refused = ask(**{KEY_PREFIX_HEADER: other})
        assert refused.status_code == 400 and refused.json()["error"] == "unsupported_key_prefix", other


def _run(env: dict[str, str], *args: str) -> dict:
    done = cli("check", "--only", "upload", "cdn", "--json", "--no-record", *args, env=env)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


def test_with_writes_off_the_canary_is_under_canary_and_stays(sandbox_env, bucket_keys):
    before = bucket_keys()
    report = _run(sandbox_env)
    (new,) = bucket_keys() - before
    assert CANARY_KEY.match(new)
    assert report["notes"] == [
        f"The canary {new} stays in the bucket: writes are off (with them on, each run removes its canary)."
    ]


def test_with_writes_on_the_run_removes_its_canary(sandbox_env, bucket_keys):
    before = bucket_keys()
    report = _run(dict(sandbox_env, PIPELINE_ALLOW_WRITES="true"))
    assert bucket_keys() == before  # written, judged, removed
    (note,) = report["notes"]
    assert note.startswith("The canary canary/") and "was removed after the run; the copy the CDN cached" in note
    assert "not invalidated" in note, note  # a run per few minutes would pass CloudFront's 1,000 free paths a month
    statuses = {f["id"]: f["status"] for f in report["findings"]}
    assert statuses["upload.roundtrip"] == "pass"


def test_no_canary_writes_nothing_and_the_upload_checks_skip(sandbox_env, bucket_keys):
    before = bucket_keys()
    report = _run(dict(sandbox_env, PIPELINE_ALLOW_WRITES="true"), "--no-canary")
    assert bucket_keys() == before and report["notes"] == []
    statuses = {f["id"]: f["status"] for f in report["findings"]}
    assert {statuses[cid] for cid in CANARY_CHECKS} == {"skip"}
    assert all("check --no-canary" in f["detail"] for f in report["findings"] if f["id"] in CANARY_CHECKS)
    assert cli("check", "--only", "bucket.public_read", "--no-canary", "--no-record", env=sandbox_env).returncode == 0


def test_the_checks_page_toggle_runs_without_writing(configured, bucket_keys):
    before = bucket_keys()
    app = AppTest.from_file(str(PROJECT_ROOT / "dashboard.py"), default_timeout=60)
    app.run()
    app.switch_page("pages/checks.py")
    app.run()
    app.toggle(key=Keys.CHECK_NO_CANARY).set_value(True)
    app.run()
    next(b for b in app.button if b.label == "Run all checks").click()
    app.run()
    assert not app.exception, app.exception
    assert bucket_keys() == before
    report = app.session_state[Keys.CHECK_REPORT]
    assert {f.status for f in report.findings if f.id in CANARY_CHECKS} == {"skip"}
