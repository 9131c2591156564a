"""Starting the sandbox's process, and reading the line it reports ready with: the standard library only.

Kept apart from the sandbox's handle (process.py, which brings requests and the layout) so that the console can
start the child process the moment its server module is imported, before anything heavy is (dashboard.py); the
child's own start-up (moto, boto3) then runs on the other core while the console's goes on.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from services.core.errors import SandboxError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0


def launch(breaks: tuple[str, ...] = (), addressing: str = "virtual") -> subprocess.Popen[bytes]:
    """The sandbox's process, started: ``python -m services.sandbox.server``, with no AWS_/PIPELINE_ variable of
    ours (it must never pick up real credentials or endpoints). Raises SandboxError when it cannot be started."""
    env = dict(os.environ)
    env["MOTO_DISABLE_GLOBAL_CORS"] = "true"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    for name in [n for n in env if n.startswith(("AWS_", "PIPELINE_"))]:
        del env[name]
    command = [
        sys.executable,
        "-m",
        "services.sandbox.server",
        f"--addressing={addressing}",
        *(f"--break={name}" for name in breaks),
    ]
    try:
        # our own interpreter and module, no shell; it exits when its standard input closes (so with the console)
        return subprocess.Popen(  # noqa: S603
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None, cwd=PROJECT_ROOT, env=env
        )
    except OSError as err:
        raise SandboxError(f"could not start the sandbox process: {err}") from err


def read_ready_line(proc: subprocess.Popen[bytes], timeout: float = START_TIMEOUT) -> dict[str, Any]:
    """The JSON line the sandbox prints once every endpoint listens (or the one saying why it could not start).
    Raises SandboxError, the process killed, when no line comes."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if selector.select(timeout=min(0.5, max(0.0, deadline - time.monotonic()))):
                line = proc.stdout.readline()
                if not line:
                    break
                try:
                    return json.loads(line)
                except ValueError:
                    continue  # a stray line from a library; the ready line is JSON
            if proc.poll() is not None:
                break
    proc.kill()
    raise SandboxError(
        f"the sandbox did not report ready within {timeout:.0f} s (exit code {proc.poll()}); "
        "run `python -m services sandbox` to see its error output"
    )
