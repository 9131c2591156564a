"""Start-up: from ``streamlit run dashboard.py`` to the first page answering in a browser, and each page's run time.

    python bench/startup.py [--rounds 5] [--no-browser] [--no-bytecode-cache] [--no-write]

- First page: ``streamlit run dashboard.py`` (nothing configured, so the console starts its sandbox) on a free
  loopback port, headless; poll ``/_stcore/health``, then load the page in Debian's chromium (Playwright) until the
  sidebar says "Sandbox — local emulation". Baseline: the same for ``bench/_bare_app.py`` (a one-line app:
  Streamlit's own floor), and ``Sandbox.start()`` alone. With Python's bytecode cache on, as a default install has it
  (``--no-bytecode-cache``: as this project's machines run, with PYTHONDONTWRITEBYTECODE=1).
- Page runs: ``streamlit.testing.v1.AppTest`` through ``dashboard.py`` + ``switch_page``, configured for a sandbox
  (as tests/test_pages.py does): the script run time of each page.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common
import requests

from services.sandbox import Sandbox
from tests.browsing import CHROMIUM, CHROMIUM_ARGS  # the launch the browser tests use

TARGET_FIRST_PAGE = 4.0
#: the console's first page within this factor of a bare Streamlit app's, measured in the same run
TARGET_RATIO = 1.3
SANDBOX_TEXT = "Sandbox — local emulation"
BARE_TEXT = "Bare app ready"
PAGES = ("pipeline", "upload", "browse", "checks")


# --- streamlit run + browser ------------------------------------------------------------------------


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """Stop the streamlit process we started and its children (its own process group, by id)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)


def healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/_stcore/health", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def first_page(
    app: Path, text: str, browser: Any | None, env: dict[str, str], timeout: float = 90.0
) -> dict[str, float]:
    """Seconds from starting ``streamlit run app`` to /_stcore/health answering, then to ``text`` on the page."""
    port = _common.free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "streamlit", "run", str(app), "--server.headless=true"]
    command += [f"--server.port={port}", "--server.address=127.0.0.1", "--browser.gatherUsageStats=false"]
    with tempfile.TemporaryFile() as log:
        started = time.perf_counter()
        proc = subprocess.Popen(command, cwd=_common.ROOT, env=env, stdout=log, stderr=log, start_new_session=True)
        try:
            if not _common.wait_until(lambda: healthy(url), timeout, interval=0.02):
                log.seek(0)
                raise RuntimeError(
                    f"streamlit did not answer /_stcore/health in {timeout:.0f} s: {log.read()[-2000:]!r}"
                )
            out = {"health": time.perf_counter() - started}
            if browser is not None:
                context = browser.new_context()
                page = context.new_page()
                page.goto(url, wait_until="commit", timeout=timeout * 1000)
                out["html"] = time.perf_counter() - started
                page.get_by_text(text).first.wait_for(timeout=timeout * 1000)
                out["page"] = time.perf_counter() - started
                context.close()
            return out
        finally:
            stop_group(proc)


def speed_probe() -> float:
    """Seconds a fresh interpreter takes to import Streamlit's server: how fast this machine runs such work just now.
    A shared VM's speed at it changes by half or more over an hour here (a tight arithmetic loop does not show it),
    and both apps' times change with it; their ratio, measured alternating, is what is judged."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import streamlit.web.server"], env=_common.clean_env(), check=True)
    return time.perf_counter() - started


def run_environment(bytecode_cache: str | None) -> dict[str, str]:
    """The environment of the timed starts: nothing configured; with ``bytecode_cache`` (a directory), Python's
    bytecode cache on and kept there, as a default install keeps it (this project's machines set
    PYTHONDONTWRITEBYTECODE=1, under which every start compiles the project's modules again)."""
    env = _common.clean_env()
    if bytecode_cache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = bytecode_cache
    return env


def browser_runs(rounds: int, bytecode_cache: bool = True) -> dict[str, list[dict[str, float]]]:
    from playwright.sync_api import sync_playwright

    out: dict[str, list[dict[str, float]]] = {"console": [], "bare": []}
    console, bare = (_common.ROOT / "dashboard.py", SANDBOX_TEXT), (_common.BENCH / "_bare_app.py", BARE_TEXT)
    with tempfile.TemporaryDirectory() as cache, sync_playwright() as playwright:
        env = run_environment(cache if bytecode_cache else None)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            for app, text in (bare, console):  # untimed: the OS file cache, and the bytecode cache when on
                first_page(app, text, browser, env)
            for round_no in range(rounds):
                for name in ("console", "bare") if round_no % 2 == 0 else ("bare", "console"):
                    app, text = console if name == "console" else bare
                    result = first_page(app, text, browser, env)
                    out[name].append(result)
                    print(f"round {round_no + 1} {name}: {result}", file=sys.stderr)
        finally:
            browser.close()
    return out


def sandbox_starts(rounds: int) -> dict[str, list[float]]:
    """``Sandbox.start()`` to its ready line, and on to its first S3 answer (which builds its account)."""
    out: dict[str, list[float]] = {"ready": [], "first_s3_answer": []}
    for _ in range(rounds):
        started = time.perf_counter()
        sandbox = Sandbox.start()
        out["ready"].append(time.perf_counter() - started)
        requests.head(f"{sandbox.endpoints.s3}/{sandbox.endpoints.bucket}", timeout=60)
        out["first_s3_answer"].append(time.perf_counter() - started)
        sandbox.stop()
    return out


def sandbox_start_in_a_fresh_process() -> float:
    """``Sandbox.start()`` in a new interpreter, as the console's first run does (imports included)."""
    code = (
        "import time; t = time.perf_counter(); from services.sandbox import Sandbox; s = Sandbox.start(); "
        "print(time.perf_counter() - t); s.stop()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=_common.ROOT, env=_common.clean_env(), capture_output=True, timeout=120
    )
    return float(done.stdout.decode().strip().splitlines()[-1])


BREAKDOWN = r"""
import json, os, sys, time
t0 = time.perf_counter()
os.environ.setdefault("MOTO_DISABLE_GLOBAL_CORS", "true")
from services.sandbox import server
out = {"import services.sandbox.server (werkzeug, the presign function and boto3)": time.perf_counter() - t0}
spent = {"configure_account": 0.0}

def timed(name, fn):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[name] += time.perf_counter() - started
    return wrapper

server.configure_account = timed("configure_account", server.configure_account)
t1 = time.perf_counter()
running = server.start()
out["server.start(): every endpoint listening (the ready line)"] = time.perf_counter() - t1
out["total (to the ready line)"] = time.perf_counter() - t0
t2 = time.perf_counter()
running.account.ensure()
built = time.perf_counter() - t2
out["first use or warm-up: the account's configuration written into moto (bucket, role, function, distribution)"] = spent["configure_account"]
out["first use or warm-up: the rest of the account (importing moto's server app and S3 app, the switches)"] = built - spent["configure_account"]
t3 = time.perf_counter()
for work in running.deferred:
    work()
out["warm-up: the function's boto3 client (its cold start)"] = time.perf_counter() - t3
running.stop()
print(json.dumps(out))
"""


def sandbox_breakdown() -> dict[str, float]:
    """Where ``Sandbox.start()``'s time goes, timed inside a fresh sandbox-like process (bench-only wrappers)."""
    command = [sys.executable, "-c", BREAKDOWN]
    env = {**_common.clean_env(), "PYTHONPATH": str(_common.ROOT)}
    done = subprocess.run(command, cwd=_common.ROOT, env=env, capture_output=True, timeout=180)
    if done.returncode != 0:
        raise RuntimeError(f"sandbox breakdown failed: {done.stderr.decode()[-2000:]}")
    return json.loads(done.stdout.decode().strip().splitlines()[-1])


# --- AppTest ----------------------------------------------------------------------------------------


def page_runs(rounds: int) -> tuple[list[dict[str, float]], dict[str, list[float]]]:
    """Script run seconds of each page through dashboard.py, configured for a sandbox (tests/test_pages.py)."""
    from streamlit.testing.v1 import AppTest

    sandbox = Sandbox.start()
    saved = dict(os.environ)
    try:
        for name in [n for n in os.environ if n.startswith(("PIPELINE_", "AWS_"))]:
            del os.environ[name]
        os.environ.update({k: v for k, v in sandbox.environment().items() if k.startswith(("PIPELINE_", "AWS_"))})
        runs: list[dict[str, float]] = []
        clicks: dict[str, list[float]] = {"checks: Run all checks": []}
        for _ in range(rounds):
            app = AppTest.from_file(str(_common.ROOT / "dashboard.py"), default_timeout=120)
            row: dict[str, float] = {}
            started = time.perf_counter()
            app.run()
            row["dashboard.py (default page: pipeline)"] = time.perf_counter() - started
            for page in PAGES:
                app.switch_page(f"pages/{page}.py")
                started = time.perf_counter()
                app.run()
                row[f"pages/{page}.py"] = time.perf_counter() - started
                if app.exception:
                    raise RuntimeError(f"pages/{page}.py raised: {app.exception}")
            button = next(b for b in app.button if b.label == "Run all checks")
            started = time.perf_counter()
            button.click().run()
            clicks["checks: Run all checks"].append(time.perf_counter() - started)
            runs.append(row)
        return runs, clicks
    finally:
        os.environ.clear()
        os.environ.update(saved)
        sandbox.stop()


# --- the report -------------------------------------------------------------------------------------


def report(args: argparse.Namespace, data: dict[str, Any]) -> str:
    lines = _common.header("Start-up: first page answering, and each page's run time", "python bench/startup.py")
    cache = (
        "Python's bytecode cache on (kept in a temporary directory), as a default install has it; one untimed start "
        "of each app first"
        if args.bytecode_cache
        else "no bytecode cache (`--no-bytecode-cache`: every start compiles the project's modules again, as "
        "PYTHONDONTWRITEBYTECODE=1 makes it); one untimed start of each app first"
    )
    lines += [f"- {args.rounds} round(s), fresh `streamlit run` each, alternating; medians. {cache}."]
    if data.get("speed_probe"):
        before, after = data["speed_probe"]
        lines += [
            f"- This machine's speed: a fresh `python -c 'import streamlit.web.server'` took {before:.2f} s before "
            f"the browser runs and {after:.2f} s after them (0.32-0.34 s on this project's machine at its fastest)."
        ]
    lines += [""]
    met_text = "not measured (--no-browser)"
    if data.get("browser"):
        rows = []
        for name, label in (
            ("console", "`streamlit run dashboard.py` (starts its sandbox)"),
            ("bare", "`streamlit run bench/_bare_app.py` (Streamlit's floor)"),
        ):
            runs = data["browser"][name]
            rows.append(
                [
                    label,
                    _common.fmt_s(_common.median(r["health"] for r in runs)),
                    _common.fmt_s(_common.median(r["html"] for r in runs)),
                    _common.fmt_s(_common.median(r["page"] for r in runs)),
                    ", ".join(f"{r['page']:.2f}" for r in runs),
                ]
            )
        lines += _common.table(
            ["app", "/_stcore/health s", "page loaded s", "sidebar text shown s", "each run s"], rows
        )
        console_page = _common.median(r["page"] for r in data["browser"]["console"])
        bare_page = _common.median(r["page"] for r in data["browser"]["bare"])
        met_text = _common.verdict(console_page < TARGET_FIRST_PAGE)
        lines += ["", "Targets:", ""]
        lines += _common.table(
            ["measure", "value", "target", "result"],
            [
                [
                    "`streamlit run dashboard.py` → sidebar 'Sandbox — local emulation' in chromium",
                    f"{console_page:.2f} s",
                    f"< {TARGET_FIRST_PAGE:g} s",
                    met_text,
                ],
                [
                    "console / bare Streamlit app",
                    f"{console_page / bare_page:.2f}×",
                    f"< {TARGET_RATIO:g}×",
                    _common.verdict(console_page / bare_page < TARGET_RATIO),
                ],
            ],
        )
        lines += [
            "",
            f"- Of the console's {console_page:.2f} s, Streamlit's own start-up and first page take {bare_page:.2f} s "
            f"(the bare app). `Sandbox.start()` alone reports ready in {_common.median(data['sandbox']['ready']):.2f} s "
            f"in a warm process ({data['sandbox_fresh']:.2f} s in a fresh interpreter, imports included) and answers "
            f"its first S3 request at {_common.median(data['sandbox']['first_s3_answer']):.2f} s: its account (moto "
            "and the configuration written into it) is built on first use, or by its warm-up 1.5 s after the "
            "console's first page asked for the switches, so that it does not compete with that page for the "
            "machine (services/sandbox/server.py, `Account`). The console starts the sandbox's "
            "process the moment `streamlit run` imports dashboard.py (services/sandbox/launch.py, the standard "
            "library only), before the server listens, so it boots on the other core while Streamlit starts; "
            "dashboard.py's st.App lifespan then warms up the first page's imports and Streamlit's one-off "
            "first-use costs in a thread (pages/_startup.py), and the first page imports nothing it does not use "
            "(boto3, moto, Pillow, the history store, httplint: tests/test_startup.py).",
        ]
    if data.get("breakdown"):
        lines += ["", "Where `Sandbox.start()`'s time goes (a fresh process timing the same calls; medians):", ""]
        names = list(data["breakdown"][0])
        lines += _common.table(
            ["part", "s"],
            [[name, _common.fmt_s(_common.median(b[name] for b in data["breakdown"]))] for name in names],
        )
    runs, clicks = data["pages"]
    lines += ["", "Page script runs (AppTest through `dashboard.py` + `switch_page`, configured for a sandbox):", ""]
    names = list(runs[0])
    later = runs[1:] or runs
    lines += _common.table(
        ["page", "first run in this process s", "median of later runs s"],
        [[n, _common.fmt_s(runs[0][n]), _common.fmt_s(_common.median(r[n] for r in later))] for n in names]
        + [[n, _common.fmt_s(v[0]), _common.fmt_s(_common.median(v[1:] or v))] for n, v in clicks.items()],
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-browser", dest="browser", action="store_false")
    parser.add_argument(
        "--no-bytecode-cache",
        dest="bytecode_cache",
        action="store_false",
        help="time the starts as this machine runs them by default (PYTHONDONTWRITEBYTECODE=1: no cache)",
    )
    parser.add_argument("--no-write", dest="write", action="store_false", help="print only; leave RESULTS.md")
    args = parser.parse_args()

    started = time.perf_counter()
    data: dict[str, Any] = {}
    if args.browser:
        if not Path(CHROMIUM).exists():
            print(f"{CHROMIUM} is missing: apt-get install chromium (or pass --no-browser)", file=sys.stderr)
            return 2
        data["speed_probe"] = [speed_probe()]
        data["browser"] = browser_runs(args.rounds, args.bytecode_cache)
        data["speed_probe"].append(speed_probe())
        data["sandbox"] = sandbox_starts(args.rounds)
        data["sandbox_fresh"] = sandbox_start_in_a_fresh_process()
        data["breakdown"] = [sandbox_breakdown() for _ in range(args.rounds)]
    data["pages"] = page_runs(args.rounds)
    text = report(args, data)
    return _common.publish("startup", text, args.write, started)


if __name__ == "__main__":
    raise SystemExit(main())
