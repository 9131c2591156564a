"""Uploads as the browser makes them: the CORS preflights from a web app origin, over HTTP against the sandbox.

With the bucket CORS or the API CORS switch on, a browser stops before the real request; so must the
console's upload (steps ``presign_preflight`` and ``put_preflight``), naming the origin and the missing rule.
"""

from __future__ import annotations

import json

import pytest
import requests

from services.core.transport import new_session
from services.pipeline.preflight import chosen_origin, judge_preflight
from services.pipeline.upload import UploadInput, upload_one
from services.sandbox import layout
from tests.support import cli, image_bytes
from tests.test_pages import upload_page

ORIGIN = layout.APP_ORIGIN


def upload(settings, origin: str | None):
    with new_session() as session:
        return upload_one(UploadInput("photo.png", image_bytes()), settings, session, origin=origin)


def test_a_browser_upload_makes_both_preflights_and_goes_through(sandbox_settings, s3):
    result = upload(sandbox_settings, ORIGIN)

    assert result.ok, result.failed_step
    names = [step.name for step in result.steps]
    assert names == ["validate", "presign_preflight", "presign", "put_preflight", "put", "cdn_read"]
    preflights = [step for step in result.steps if step.name.endswith("_preflight")]
    assert [(s.http_status, s.attempts) for s in preflights] == [(204, 1), (200, 1)]
    assert s3.head_object(Bucket=layout.BUCKET, Key=result.key)["ContentType"] == "image/png"


def test_bucket_cors_without_the_origin_stops_at_put_preflight_as_the_browser_does(
    sandbox_settings, switch, bucket_keys
):
    switch("bucket-cors-origin")
    before = bucket_keys()

    result = upload(sandbox_settings, ORIGIN)

    assert not result.ok
    assert [s.name for s in result.steps] == ["validate", "presign_preflight", "presign", "put_preflight"]
    step = result.failed_step
    assert step.name == "put_preflight"
    assert (step.http_status, step.code) == (403, "AccessForbidden")  # S3's answer to a refused preflight
    assert ORIGIN in step.error
    assert f"Access-Control-Allow-Origin: {ORIGIN}" in step.cause
    # the why, from S3's CORS algorithm over the stored rules the console may read
    assert "The bucket's CORS rules say why" in step.cause and "origin" in step.cause
    fix = json.loads(step.cause.split("--cors-configuration '", 1)[1].rstrip("'"))
    assert any(ORIGIN in rule["AllowedOrigins"] and "PUT" in rule["AllowedMethods"] for rule in fix["CORSRules"])
    assert bucket_keys() == before  # nothing was uploaded


def test_api_cors_without_x_extension_stops_at_presign_preflight(sandbox_settings, switch, bucket_keys):
    switch("api-cors-header")
    before = bucket_keys()

    result = upload(sandbox_settings, ORIGIN)

    assert [s.name for s in result.steps] == ["validate", "presign_preflight"]
    step = result.failed_step
    assert step.name == "presign_preflight" and ORIGIN in step.error
    needs = step.cause.split("the browser needs ", 1)[1].split(". It stops", 1)[0]
    assert f"Access-Control-Allow-Origin: {ORIGIN}" in needs and "x-extension" in needs
    assert "AllowHeaders=content-type,x-extension" in step.cause
    assert bucket_keys() == before


@pytest.mark.parametrize("name", ["bucket-cors-origin", "api-cors-header"])
def test_server_side_uploads_skip_the_preflights_and_go_through(sandbox_settings, switch, name):
    switch(name)

    result = upload(sandbox_settings, None)

    assert result.ok, result.failed_step
    assert [s.name for s in result.steps] == ["validate", "presign", "put", "cdn_read"]


def test_another_allowed_origin_is_not_stopped_by_the_missing_one(sandbox_settings, switch):
    switch("bucket-cors-origin")  # drops only layout.APP_ORIGIN from the bucket's rule

    result = upload(sandbox_settings, layout.APP_ORIGINS[1])

    assert result.ok, result.failed_step


def test_cli_origin_default_none_and_explicit(sandbox_env, switch, tmp_path):
    picture = tmp_path / "photo.png"
    picture.write_bytes(image_bytes())
    switch("bucket-cors-origin")

    stopped = cli("upload", "--json", str(picture), env=sandbox_env)  # default: the first of PIPELINE_APP_ORIGINS
    assert stopped.returncode == 1, stopped.stderr
    last = json.loads(stopped.stdout)["steps"][-1]
    assert (last["name"], last["ok"], last["http_status"], last["code"]) == (
        "put_preflight",
        False,
        403,
        "AccessForbidden",
    )

    went = cli("upload", "--json", "--origin", "none", str(picture), env=sandbox_env)
    assert went.returncode == 0, went.stdout
    assert [s["name"] for s in json.loads(went.stdout)["steps"]] == ["validate", "presign", "put", "cdn_read"]

    other = cli("upload", "--origin", layout.APP_ORIGINS[1], str(picture), env=sandbox_env)
    assert other.returncode == 0, other.stdout


def test_chosen_origin():
    assert chosen_origin(None, ("https://a.example", "https://b.example")) == "https://a.example"
    assert chosen_origin("https://b.example/", ()) == "https://b.example"
    assert chosen_origin("none", ("https://a.example",)) is None
    assert chosen_origin("server-side", ("https://a.example",)) is None
    assert chosen_origin(None, ()) is None


@pytest.mark.parametrize(
    ("status", "answer", "missing"),
    [
        (200, {"Access-Control-Allow-Origin": ORIGIN, "Access-Control-Allow-Methods": "PUT"}, ["content-type"]),
        (
            200,
            {
                "Access-Control-Allow-Origin": "*",
                "Access-Control-Allow-Methods": "*",
                "Access-Control-Allow-Headers": "*",
            },
            [],
        ),
        (
            200,
            {
                "access-control-allow-origin": ORIGIN,
                "Access-Control-Allow-Methods": "GET",
                "Access-Control-Allow-Headers": "Content-Type",
            },
            ["PUT"],
        ),
        (403, {}, ["an ok status", "Access-Control-Allow-Origin", "PUT", "content-type"]),
        (
            200,
            {
                "Access-Control-Allow-Origin": "http://localhost:3000",
                "Access-Control-Allow-Methods": "PUT",
                "Access-Control-Allow-Headers": "content-type",
            },
            ["it allows 'http://localhost:3000'"],
        ),
    ],
)
def test_the_browsers_rules_over_a_preflight_answer(status, answer, missing):
    verdict = judge_preflight(ORIGIN, "PUT", ("content-type",), status, answer)

    assert verdict.allowed == (not missing)
    assert len(verdict.missing) == len(missing)
    for got, wanted in zip(verdict.missing, missing, strict=True):
        assert wanted in got


def test_the_upload_page_offers_the_app_origins_and_server_side(configured):
    app = upload_page()

    (chooser,) = [box for box in app.selectbox if box.label == "Upload as the browser at"]
    assert list(chooser.options) == [*layout.APP_ORIGINS, "server-side"]
    assert chooser.value == layout.APP_ORIGIN


def test_the_sandbox_answers_the_preflights_the_way_the_check_and_the_upload_read_them(sandbox):
    # The live preflight is what decides; this pins what the sandbox's two endpoints send back for a browser.
    api = requests.options(
        sandbox.endpoints.presign,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-extension,content-type",
        },
        timeout=10,
    )
    assert judge_preflight(ORIGIN, "GET", ("x-extension", "content-type"), api.status_code, api.headers).allowed
