"""The sandbox's *.localhost names: glibc does not resolve them, so wherever the sandbox hands out a URL on one it
says so, with the /etc/hosts line (and curl's --resolve) that makes it work."""

from __future__ import annotations

import socket

import pytest

from services.core import localdns
from services.sandbox import layout
from tests.support import cli

HOSTS_LINE = (
    "127.0.0.1 pipeline-sandbox.s3.ap-northeast-2.localhost s3.ap-northeast-2.localhost pipeline-sandbox.s3.localhost "
    "s3.localhost"
)


def test_the_sandbox_command_prints_the_hosts_entry_on_request(sandbox_env):
    done = cli("sandbox", "--hosts", env=sandbox_env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == HOSTS_LINE == localdns.hosts_entry(layout.virtual_hosts())


def test_a_url_on_a_localhost_name_comes_with_the_line_that_resolves_it():
    url = "http://pipeline-sandbox.s3.ap-northeast-2.localhost:41234/k.png?X-Amz-Signature=abc"
    note = localdns.resolution_note(url)
    assert note is not None and "glibc does not" in note
    assert "127.0.0.1 pipeline-sandbox.s3.ap-northeast-2.localhost" in note
    assert "--resolve pipeline-sandbox.s3.ap-northeast-2.localhost:41234:127.0.0.1" in note
    assert localdns.resolution_note("https://photos.s3.ap-northeast-2.amazonaws.com/k.png") is None
    assert localdns.resolution_note("http://127.0.0.1:41234/presign") is None


def test_the_presign_command_says_so_under_a_sandbox_url(sandbox_env):
    done = cli("presign", env=sandbox_env)
    assert done.returncode == 0, done.stderr
    note = next(line for line in done.stdout.splitlines() if line.startswith("# note: "))
    assert "/etc/hosts" in note and "--resolve" in note


def test_the_names_are_real_localhost_names_only_the_hook_resolves():
    # the premise of the note: outside the console's own resolver hook, glibc may not know the name at all
    for host in layout.virtual_hosts():
        assert localdns.is_localhost_name(host)
        try:
            addresses = {info[4][0] for info in localdns._ORIGINAL(host, 80)}
        except socket.gaierror:
            continue  # glibc refuses it: exactly what the note says
        if not addresses <= {"127.0.0.1", "::1"}:
            pytest.fail(f"{host} resolves off loopback: {addresses}")
