"""The sandbox's account is built on first use (services/sandbox/server.py, ``Account``): the ready line comes once
every endpoint listens, the control API lists the switches without it, and every request that needs it (S3, the
API, the CDN, a switch) is answered as if it had been there from the start."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from urllib.parse import urlsplit

import requests

from services.sandbox import Sandbox, layout
from tests.conftest import PROJECT_ROOT
from tests.support import api_preflight, image_bytes
from tests.test_sandbox_fidelity import preflight, presign


def _in_a_fresh_process(script: str) -> dict:
    """Run ``script`` (which prints one JSON line last) in a new interpreter, as the sandbox's own process is."""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_ready_line_and_the_switch_list_come_before_moto_is_loaded():
    found = _in_a_fresh_process(
        "import json, sys, requests\n"
        "from services.sandbox import server\n"
        "running = server.start()\n"
        "out = {'moto_at_ready': 'moto' in sys.modules, 'built_at_ready': running.account.built}\n"
        "listed = requests.get(running.endpoints['control'] + '/_sandbox/switches', timeout=10).json()\n"
        "out['moto_after_list'] = 'moto' in sys.modules\n"
        "out['switches'] = len(listed['switches'])\n"
        "reply = requests.head(f\"{running.endpoints['s3']}/{running.endpoints['bucket']}\", timeout=30)\n"
        "out['head_bucket'] = reply.status_code\n"
        "out['built_after_s3'] = running.account.built\n"
        "running.stop()\n"
        "print(json.dumps(out))\n"
    )
    assert found["moto_at_ready"] is False and found["built_at_ready"] is False
    assert found["moto_after_list"] is False and found["switches"] > 10
    # the bucket exists (an anonymous HEAD is refused, not 404 NoSuchBucket): the first request built the account
    assert found["head_bucket"] == 403 and found["built_after_s3"] is True


def test_a_build_that_fails_is_answered_as_s3s_internal_error_not_a_hang():
    found = _in_a_fresh_process(
        "import json, logging, requests\n"
        "logging.disable(logging.CRITICAL)\n"
        "from services.sandbox import server\n"
        "def broken():\n"
        "    raise RuntimeError('injected')\n"
        "server.configure_account = broken\n"
        "running = server.start()\n"
        "reply = requests.get(f\"{running.endpoints['s3']}/{running.endpoints['bucket']}\", timeout=30)\n"
        "running.stop()\n"
        "print(json.dumps({'status': reply.status_code, 'body': reply.text}))\n"
    )
    assert found["status"] == 500
    assert "<Code>InternalError</Code>" in found["body"] and "could not set up its account" in found["body"]


def test_switches_it_starts_with_hold_from_the_first_request():
    running = Sandbox.start(breaks=("api-cors-header",))
    try:
        listed = {state.name: state.on for state in running.switches()}
        assert listed["api-cors-header"] is True
        first = api_preflight(running.endpoints.presign)  # the very first request this sandbox answers
        assert "x-extension" not in first.headers.get("Access-Control-Allow-Headers", "").lower()
    finally:
        running.stop()


def test_a_switch_flipped_before_anything_else_is_applied_to_the_built_account():
    running = Sandbox.start()
    try:
        running.set_switch("bucket-cors-origin", True)  # the first request: it builds the account, then applies
        reply = requests.put(
            presign(running)["presignedUrl"], data=image_bytes("PNG"), headers={"Content-Type": "image/png"}
        )
        assert reply.status_code == 200
        url = urlsplit(presign(running)["presignedUrl"])._replace(query="").geturl()
        assert preflight(url, layout.APP_ORIGIN).status_code == 403  # the switch's broken CORS, on the built account
    finally:
        running.stop()


def test_first_requests_to_every_endpoint_at_once_are_all_answered_by_one_build():
    running = Sandbox.start()
    try:
        results: dict[str, int] = {}

        def get(name: str, url: str, headers: dict[str, str] | None = None) -> None:
            results[name] = requests.get(url, headers=headers or {}, timeout=60).status_code

        calls = [
            ("s3", f"{running.endpoints.s3}/{running.endpoints.bucket}", None),
            ("cdn", f"{running.endpoints.cdn}/missing.png", None),
            ("presign", running.endpoints.presign, {"x-extension": "png"}),
            ("control", f"{running.endpoints.control}/_sandbox/switches", None),
        ]
        threads = [threading.Thread(target=get, args=call) for call in calls * 2]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)
        # one build: a second configure_account would fail (the bucket exists) and answer 500s
        assert results == {"s3": 403, "cdn": 403, "presign": 200, "control": 200}
    finally:
        running.stop()


def test_the_warm_up_builds_the_account_soon_after_the_first_page_asks_for_the_switches():
    found = _in_a_fresh_process(
        "import json, time, requests\n"
        "from services.sandbox import server\n"
        "running = server.start()\n"
        "running.warm_up(grace=0.2, latest=60)\n"
        "time.sleep(0.5)\n"
        "before = running.account.built\n"
        "requests.get(running.endpoints['control'] + '/_sandbox/switches', timeout=10)\n"
        "deadline = time.monotonic() + 60\n"
        "while not running.account.built and time.monotonic() < deadline:\n"
        "    time.sleep(0.05)\n"
        "running.stop()\n"
        "print(json.dumps({'before_the_first_page': before, 'after': running.account.built}))\n"
    )
    assert found == {"before_the_first_page": False, "after": True}


def test_the_warm_up_builds_the_account_when_nothing_asks():
    found = _in_a_fresh_process(
        "import json, time\n"
        "from services.sandbox import server\n"
        "running = server.start()\n"
        "running.warm_up(grace=60, latest=0.2)\n"
        "deadline = time.monotonic() + 60\n"
        "while not running.account.built and time.monotonic() < deadline:\n"
        "    time.sleep(0.05)\n"
        "running.stop()\n"
        "print(json.dumps({'built': running.account.built}))\n"
    )
    assert found == {"built": True}
