"""Start-up: `streamlit run dashboard.py` serves dashboard.py's st.App, whose lifespan starts the sandbox (and pays the
first page's one-off costs) as the server starts, before any browser connects; the first page imports nothing heavy
it does not use. Timings are bench/startup.py's; these hold the behaviour."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from streamlit.web.server.app_discovery import discover_asgi_app

from services import runtime
from tests.browsing import running_console
from tests.conftest import PROJECT_ROOT

#: what the first page must not import: the AWS SDK, moto, Pillow, the history store, httplint, pandas
HEAVY = ("boto3", "botocore", "moto", "PIL", "sqlalchemy", "alembic", "httplint", "pandas", "werkzeug")


@pytest.fixture
def fresh_process_state(monkeypatch):
    """As in a process that has not decided yet (each server process decides once)."""
    monkeypatch.setattr(runtime, "_early_decided", False)
    monkeypatch.setattr(runtime, "_early", None)


def test_the_sandbox_started_early_is_the_one_the_first_target_gets(fresh_process_state):
    assert runtime.start_sandbox_early({}, {}) is True
    early = runtime._early
    assert early is not None
    assert runtime.start_sandbox_early({}, {}) is False  # once per process
    target = runtime.resolve_target({}, {})
    try:
        assert target.sandbox is early.result() and target.sandbox.alive()
        assert runtime._early is None  # taken: the next target that needs a sandbox starts its own
    finally:
        target.close()


def test_nothing_starts_early_when_a_pipeline_is_configured(fresh_process_state, sandbox_env):
    assert runtime.start_sandbox_early(sandbox_env, {}) is False
    assert runtime._early is None


def test_streamlit_run_finds_the_app_whose_lifespan_starts_the_sandbox():
    found = discover_asgi_app(PROJECT_ROOT / "dashboard.py")
    assert found.is_asgi_app and found.import_string == "dashboard:app", found


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out += [int(child) for child in (task / "children").read_text().split()]
    return out


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""


def _console_pid(port: int) -> int:
    for child in _children(os.getpid()):
        if "dashboard.py" in _command_line(child) and f" {port} " in _command_line(child):
            return child
    raise AssertionError(f"no console process on port {port} among this test's children")


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads the process tree from /proc (Linux)")
def test_the_console_starts_its_sandbox_with_the_server_before_any_browser_connects():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIPELINE_", "AWS_"))}
    with running_console(env) as url:  # waits for /_stcore/health only: no session has run the script
        console = _console_pid(int(url.rsplit(":", 1)[1]))
        deadline = time.monotonic() + 120
        while not any("services.sandbox.server" in _command_line(c) for c in _children(console)):
            assert time.monotonic() < deadline, "no sandbox process started with the server"
            time.sleep(0.2)


def test_the_first_page_imports_nothing_heavy_it_does_not_use():
    """The first page as a person's first visit runs it (nothing configured: the console's own sandbox), in a
    fresh interpreter; then which heavy modules were imported."""
    probe = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        "app = AppTest.from_file(sys.argv[1], default_timeout=120)\n"
        "app.run()\n"
        "assert not app.exception, app.exception\n"
        "assert any('Sandbox — local emulation' in s.value for s in app.sidebar.success), 'not the first page'\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIPELINE_", "AWS_"))}
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    done = subprocess.run(
        [sys.executable, "-c", probe, str(PROJECT_ROOT / "dashboard.py")],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout


def test_the_warm_up_imports_nothing_heavy_either():
    """The server's warm-up (pages/_startup.py) imports what the first page imports, and no more."""
    probe = (
        "import sys, streamlit; import pages._startup as s\n"
        "s._warm_up()\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout


def test_starting_the_sandbox_with_the_server_imports_nothing_heavy_and_returns_while_it_boots():
    """dashboard.py starts the sandbox's process as `streamlit run` imports it: that call brings in no SDK (nor
    requests, nor the sandbox's handle) and does not wait for the child; the first target then takes that child."""
    probe = (
        "import sys, threading, streamlit; import pages._startup as s; from services import runtime\n"
        "go, attach = threading.Event(), runtime._attach_into\n"  # hold the waiting thread until the modules are seen
        "runtime._attach_into = lambda *args: (go.wait(), attach(*args))\n"
        "s.start_the_sandbox_now()\n"
        "early = runtime._early\n"
        f"heavy = ('requests', 'services.sandbox.process', *{HEAVY!r})\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
        "print(early is not None and not early.done())\n"
        "go.set()\n"
        "target = runtime.resolve_target({}, {})\n"
        "print(target.sandbox is early.result() and target.sandbox.alive())\n"
        "target.close()\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIPELINE_", "AWS_"))}
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-3:] == ["[]", "True", "True"], done.stdout


def test_the_warm_up_marks_streamlits_run_outside_streamlit_warning_as_given_without_walking_the_stack():
    """The warning is for scripts run bare; its check (inspect.stack() with source context) cost the first page
    0.1-0.4 s of CPU. After the warm-up, the first element never makes it."""
    probe = (
        "import inspect, streamlit; import pages._startup as s; from streamlit import delta_generator as d\n"
        "calls = []\n"
        "inspect.stack = lambda *a, **k: calls.append(1) or [(None, 'dashboard.py')]\n"
        "s._warm_up()\n"
        "d._maybe_print_use_warning()\n"
        "print(d._use_warning_has_been_displayed, calls)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "True []", done.stdout


def test_the_console_does_not_watch_its_own_sources():
    """After every run Streamlit's file watcher walks all of sys.modules (the console's are many): off, in the
    configuration `streamlit run dashboard.py` reads."""
    import tomllib

    config = tomllib.loads((PROJECT_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["fileWatcherType"] == "none"
