"""The CLI never ends in a traceback: broken credentials, an unreachable AWS, a closed pipe and a missing file each
end in one plain line (or none) and the documented exit code. Real subprocesses against the session's sandbox."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import PROJECT_ROOT, cli, closed_port, http_server, image_bytes

EXPIRED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>ExpiredToken</Code>'
    b"<Message>The provided token has expired.</Message></Error>"
)


@pytest.fixture
def no_aws_files(tmp_path: Path, sandbox_env: dict[str, str]) -> dict[str, str]:
    """The sandbox's pipeline configured, but no AWS config or credentials file and no instance metadata to fall
    back on: whatever the AWS_* variables say is all boto3 finds."""
    (tmp_path / "config").write_text("[profile someone-else]\nregion = ap-northeast-2\n")
    return dict(
        sandbox_env,
        AWS_CONFIG_FILE=str(tmp_path / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "credentials"),
        AWS_EC2_METADATA_DISABLED="true",
    )


def _without(env: dict[str, str], *names: str) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in names}


def assert_one_line(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    for word in words:
        assert word in lines[0], lines[0]


BROKEN = {
    "partial": (lambda env: _without(env, "AWS_SECRET_ACCESS_KEY"), ("AWS_SECRET_ACCESS_KEY", "missing")),
    "unknown profile": (
        lambda env: dict(_without(env, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"), AWS_PROFILE="nosuch"),
        ("'nosuch'", "aws configure list-profiles"),
    ),
    "no credentials": (
        lambda env: _without(env, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
        ("No AWS credentials", "AWS_PROFILE"),
    ),
    "unreachable": (
        lambda env: dict(env, AWS_ENDPOINT_URL=f"http://127.0.0.1:{closed_port()}"),
        ("could not be reached", "AWS_ENDPOINT_URL"),
    ),
}


@pytest.mark.parametrize("command", [("browse", "--limit", "3"), ("check", "--only", "bucket")])
@pytest.mark.parametrize("broken", list(BROKEN))
def test_broken_credentials_end_in_one_line_and_exit_2(no_aws_files, broken, command):
    make_env, words = BROKEN[broken]
    assert_one_line(cli(*command, env=make_env(no_aws_files)), *words)


@pytest.mark.parametrize("command", [("browse", "--limit", "3"), ("check", "--only", "bucket")])
def test_an_expired_session_token_ends_in_one_line_and_exit_2(no_aws_files, command):
    # AWS answers every call signed with an expired session token with 400 ExpiredToken
    reply = (400, {"Content-Type": "application/xml"}, EXPIRED)
    with http_server(lambda _request: reply) as (aws, seen):
        env = dict(no_aws_files, AWS_ENDPOINT_URL=aws, AWS_SESSION_TOKEN="expired-session-token")
        done = cli(*command, env=env)
    assert seen  # AWS was asked, and said no
    assert_one_line(done, "expired", "ExpiredToken", "aws sso login")


def test_the_sandbox_credentials_work_with_the_same_files(no_aws_files):
    # the control: the same environment with the sandbox's keys lists the bucket
    done = cli("browse", "--limit", "3", env=no_aws_files)
    assert done.returncode == 0, done.stderr


def test_check_json_into_a_reader_that_stops_early_ends_quietly(sandbox_env):
    """`python -m services check --json | head -c 600`: the reader leaves after 600 bytes."""
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)  # a small pipe: the report cannot fit in it, whatever its size
    child = subprocess.Popen(
        [sys.executable, "-m", "services", "check", "--json"],
        cwd=PROJECT_ROOT,
        env=sandbox_env,
        stdout=write_end,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        head = reader.read(600)
    _, stderr = child.communicate(timeout=180)
    assert head.startswith(b"{")
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr and "Exception ignored" not in stderr, stderr
    assert child.returncode == 141  # as a shell reports a process ended by SIGPIPE


def test_a_path_that_does_not_exist_is_a_usage_error(tmp_path: Path, sandbox_env, bucket_keys):
    before = bucket_keys()
    (tmp_path / "a.png").write_bytes(image_bytes())
    done = cli("upload", str(tmp_path / "a.png"), str(tmp_path / "missing.png"), env=sandbox_env)
    assert_one_line(done, "no such file", "missing.png", "nothing was uploaded")
    assert done.stdout == "" and bucket_keys() == before
    assert_one_line(cli("upload", str(tmp_path), env=sandbox_env), "a folder")
