"""`python -m services upload` as scripts and CI run it: real subprocess, real sandbox over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

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
        assert [s["name"] for s in obj["steps"]] == ["validate", "presign", "put", "cdn_read"]
        assert all({"name", "ok", "http_status", "ms", "error"} <= set(s) for s in obj["steps"])
    assert objects[1]["content_type"] == "image/webp"


def test_any_failure_exits_1_with_a_per_file_reason_and_nothing_stored(tmp_path: Path, sandbox_env, bucket_keys):
    before = bucket_keys()
    (tmp_path / "fake.png").write_text("not an image")
    (tmp_path / "empty.png").write_bytes(b"")
    done = cli(
        "upload",
        str(tmp_path / "fake.png"),
        str(tmp_path / "empty.png"),
        str(tmp_path / "missing.png"),
        env=sandbox_env,
    )
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert any(line.startswith("FAIL  fake.png") and "not a PNG" in line for line in lines)
    assert any(line.startswith("FAIL  empty.png") and "empty" in line for line in lines)
    assert any(line.startswith("FAIL  missing.png") and "cannot read" in line for line in lines)
    assert bucket_keys() == before


def test_endpoint_down_exits_1_naming_the_presign_hop(tmp_path: Path, sandbox_env, bucket_keys):
    before = bucket_keys()
    (tmp_path / "a.png").write_bytes(image_bytes())
    env = dict(sandbox_env, PIPELINE_PRESIGN_URL=f"http://127.0.0.1:{closed_port()}/presign")
    done = cli("upload", "--json", str(tmp_path / "a.png"), env=env)
    assert done.returncode == 1
    (obj,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert obj["ok"] is False and obj["steps"][-1]["name"] == "presign"
    assert "could not connect" in obj["steps"][-1]["error"]
    assert bucket_keys() == before


def test_partial_configuration_exits_2_naming_what_is_missing(tmp_path: Path, sandbox_env):
    env = {k: v for k, v in sandbox_env.items() if k != "PIPELINE_CDN_URL"}
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
