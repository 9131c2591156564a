"""`python -m services upload` as scripts and CI run it: real subprocess, real sandbox over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

from botocore.exceptions import ClientError

from services.sandbox import layout
from tests.support import cli, closed_port, image_bytes


def test_upload_json_prints_one_object_per_file_and_exits_0(tmp_path: Path, sandbox_env, sandbox):
    (tmp_path / "one.png").write_bytes(image_bytes())
    (tmp_path / "two.webp").write_bytes(image_bytes("WEBP"))
    done = cli("upload", "--json", str(tmp_path / "one.png"), str(tmp_path / "two.webp"), env=sandbox_env)
    assert done.returncode == 0, done.stderr
    objects = [json.loads(line) for line in done.stdout.splitlines()]
    assert [o["file"] for o in objects] == ["one.png", "two.webp"]  # the order given, not completion order
    for obj in objects:
        assert set(obj) == {"file", "ok", "key", "cdn_url", "content_type", "sha256", "steps"}
        assert obj["ok"] is True and obj["cdn_url"].startswith(sandbox.endpoints.cdn)
        # the browser's preflights first, from the first of PIPELINE_APP_ORIGINS
        assert [s["name"] for s in obj["steps"]] == [
            "validate",
            "presign_preflight",
            "presign",
            "put_preflight",
            "put",
            "cdn_read",
        ]
        assert all({"name", "ok", "http_status", "ms", "error"} <= set(s) for s in obj["steps"])
    assert objects[1]["content_type"] == "image/webp"


def test_any_failure_exits_1_with_a_per_file_reason_and_nothing_stored(tmp_path: Path, sandbox_env, bucket_keys):
    before = bucket_keys()
    (tmp_path / "fake.png").write_text("not an image")
    (tmp_path / "empty.png").write_bytes(b"")
    done = cli("upload", str(tmp_path / "fake.png"), str(tmp_path / "empty.png"), env=sandbox_env)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert any(line.startswith("FAIL  fake.png") and "not a PNG" in line for line in lines)
    assert any(line.startswith("FAIL  empty.png") and "empty" in line for line in lines)
    assert bucket_keys() == before


def test_endpoint_down_exits_1_naming_the_presign_hop(tmp_path: Path, sandbox_env, bucket_keys):
    before = bucket_keys()
    (tmp_path / "a.png").write_bytes(image_bytes())
    env = dict(sandbox_env, PIPELINE_PRESIGN_URL=f"http://127.0.0.1:{closed_port()}/presign")
    done = cli("upload", "--json", str(tmp_path / "a.png"), env=env)
    assert done.returncode == 1
    (obj,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert obj["ok"] is False and obj["steps"][-1]["name"] == "presign_preflight"  # the browser meets it first
    assert "could not connect to the presign endpoint" in obj["steps"][-1]["error"]
    assert bucket_keys() == before


def test_partial_configuration_exits_2_naming_what_is_missing(tmp_path: Path, sandbox_env):
    env = {k: v for k, v in sandbox_env.items() if k != "PIPELINE_CDN_URL"}
    (tmp_path / "a.png").write_bytes(image_bytes())
    done = cli("upload", str(tmp_path / "a.png"), env=env)
    assert done.returncode == 2
    assert "PIPELINE_CDN_URL" in done.stderr and "PIPELINE_BUCKET" not in done.stderr.split("missing")[0]


def test_usage_errors_exit_2(sandbox_env):
    assert cli("upload", env=sandbox_env).returncode == 2
    assert cli("frobnicate", env=sandbox_env).returncode == 2
    assert cli("upload", "--workers", "0", "x.png", env=sandbox_env).returncode == 2


def test_with_nothing_configured_the_cli_uses_a_temporary_sandbox(tmp_path: Path, sandbox_env):
    env = {k: v for k, v in sandbox_env.items() if not k.startswith(("PIPELINE_", "AWS_"))}
    (tmp_path / "a.gif").write_bytes(image_bytes("GIF"))
    done = cli("upload", "--json", str(tmp_path / "a.gif"), env=env)
    assert done.returncode == 0, done.stderr
    assert "temporary sandbox" in done.stderr
    assert json.loads(done.stdout)["content_type"] == "image/gif"


def test_check_prints_the_fix_of_unknown_findings_too(sandbox_env):
    # the presign function's role as the console's identity: refused the CORS read, so bucket.cors is unknown and its
    # fix is the IAM grant the console's identity needs, which must reach the terminal
    env = dict(sandbox_env, AWS_ACCESS_KEY_ID=layout.PRESIGN_ROLE_KEY, AWS_SECRET_ACCESS_KEY=layout.PRESIGN_ROLE_SECRET)
    done = cli("check", "--only", "bucket.cors", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("== S3 bucket\nUNKNOWN bucket.cors")
    fix = done.stdout.split("fix:\n", 1)[1]
    assert '"Action": "s3:GetBucketCors"' in fix and "aws iam put-" in fix


def _policy(admin_s3) -> str | None:
    try:
        return admin_s3.get_bucket_policy(Bucket=layout.BUCKET)["Policy"]
    except ClientError as err:
        assert err.response["Error"]["Code"] == "NoSuchBucketPolicy"
        return None


def test_check_apply_needs_writes_a_remedy_and_the_bucket_typed_then_exits_0_on_pass(sandbox_env, switch, admin_s3):
    switch("cdn-grant-missing")
    apply = ("check", "--apply", "bucket.cdn_read_grant", "--confirm")
    off = cli(*apply, layout.BUCKET, env=sandbox_env)
    assert off.returncode == 2 and "writes are off: the console is read-only" in off.stderr
    assert "PIPELINE_ALLOW_WRITES=true" in off.stderr
    assert "FAIL    bucket.cdn_read_grant" in off.stdout and "put-bucket-policy" in off.stdout  # the command to run
    assert f"--apply bucket.cdn_read_grant --confirm {layout.BUCKET}" in off.stdout
    writes = dict(sandbox_env, PIPELINE_ALLOW_WRITES="true")
    wrong = cli(*apply, "pipeline", env=writes)
    assert wrong.returncode == 2 and "type the bucket name 'pipeline-sandbox' exactly" in wrong.stderr
    none = cli("check", "--apply", "cdn.read", "--confirm", layout.BUCKET, env=writes)
    assert none.returncode == 2 and "no fix the console can apply" in none.stderr
    assert _policy(admin_s3) is None  # nothing written by any of them
    done = cli(*apply, layout.BUCKET, env=writes)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "-- Applied PutBucketPolicy on bucket pipeline-sandbox" in done.stdout
    assert done.stdout.rstrip().splitlines()[-1].startswith("PASS    bucket.cdn_read_grant")
    assert layout.DISTRIBUTION_ID in (_policy(admin_s3) or "")
    again = cli(*apply, layout.BUCKET, env=writes)
    assert again.returncode == 0 and "nothing to apply: bucket.cdn_read_grant passes" in again.stderr


def test_check_apply_json_says_what_was_applied_and_the_new_verdict(sandbox_env, switch):
    switch("lambda-role-no-put")
    writes = dict(sandbox_env, PIPELINE_ALLOW_WRITES="true")
    done = cli("check", "--apply", "lambda.role_put", "--confirm", layout.PRESIGN_ROLE_NAME, "--json", env=writes)
    assert done.returncode == 0, done.stdout + done.stderr
    doc = json.loads(done.stdout)
    assert doc["before"]["status"] == "fail" and doc["after"]["status"] == "pass"
    assert doc["applied"]["remedy"]["operation"] == "PutRolePolicy"
    assert doc["applied"]["remedy"]["params"]["RoleName"] == layout.PRESIGN_ROLE_NAME
    assert doc["before"]["remedy"] == doc["applied"]["remedy"]


def test_check_apply_usage_errors_exit_2(sandbox_env):
    writes = dict(sandbox_env, PIPELINE_ALLOW_WRITES="true")
    for args, said in [
        (("--confirm", layout.BUCKET), "--confirm goes with --apply"),
        (("--apply", "bucket", "--confirm", layout.BUCKET), "--apply takes one check id"),
        (("--apply", "bucket.cors"), "--apply needs --confirm NAME"),
        (("--apply", "bucket.cors", "--confirm", layout.BUCKET, "--only", "cdn"), "drop --only"),
    ]:
        done = cli("check", *args, env=writes)
        assert done.returncode == 2 and said in done.stderr, (args, done.stderr)
        assert done.stdout == ""  # refused before anything ran
