"""The console's handle on its sandbox: start the sandbox process, point settings at it, stop it.

The sandbox runs in a child process of its own (moto is heavy and keeps global state). It picks free
ports itself and reports them, so two consoles on one machine never collide; it exits when its
standard input closes, so it never outlives the console, even one killed with SIGKILL.
"""

from __future__ import annotations

import atexit
import json
import os
import selectors
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.core import localdns
from services.core.errors import SandboxError
from services.core.settings import SANDBOX_CLIENT_CONTENT_TYPE, SANDBOX_PROFILE, AwsTarget, ConsoleOptions, Settings
from services.sandbox import control, layout

PROJECT_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0


@dataclass(frozen=True)
class Endpoints:
    s3: str
    presign: str
    cdn: str
    control: str
    bucket: str
    region: str
    distribution_id: str
    lambda_function: str
    app_origins: tuple[str, ...]
    pid: int

    @classmethod
    def from_ready_line(cls, doc: dict[str, Any]) -> Endpoints:
        return cls(
            s3=doc["s3"],
            presign=doc["presign"],
            cdn=doc["cdn"],
            control=doc["control"],
            bucket=doc["bucket"],
            region=doc["region"],
            distribution_id=doc["distribution_id"],
            lambda_function=doc["lambda_function"],
            app_origins=tuple(doc["app_origins"]),
            pid=int(doc["pid"]),
        )


def _read_ready_line(proc: subprocess.Popen[bytes], timeout: float) -> dict[str, Any]:
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
    raise SandboxError(
        f"the sandbox did not report ready within {timeout:.0f} s (exit code {proc.poll()}); "
        "run `python -m services sandbox` to see its error output"
    )


@dataclass
class Sandbox:
    endpoints: Endpoints
    process: subprocess.Popen[bytes] = field(repr=False)

    @classmethod
    def start(
        cls, breaks: tuple[str, ...] = (), timeout: float = START_TIMEOUT, addressing: str = "virtual"
    ) -> Sandbox:
        """Start a sandbox (with break switches ``breaks`` on) and wait until every endpoint answers. ``addressing``
        "path" makes its function sign path-style URLs on the S3 endpoint, as S3-compatible servers do."""
        localdns.install()  # its presigned URLs name <bucket>.s3.<region>.localhost
        env = dict(os.environ)
        env["MOTO_DISABLE_GLOBAL_CORS"] = "true"
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
        for name in [n for n in env if n.startswith(("AWS_", "PIPELINE_"))]:
            del env[name]  # the sandbox must never pick up real credentials or endpoints
        try:
            proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
                [
                    sys.executable,
                    "-m",
                    "services.sandbox.server",
                    f"--addressing={addressing}",
                    *(f"--break={name}" for name in breaks),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=None,
                cwd=PROJECT_ROOT,
                env=env,
            )
        except OSError as err:
            raise SandboxError(f"could not start the sandbox process: {err}") from err
        try:
            doc = _read_ready_line(proc, timeout)
        except SandboxError:
            proc.kill()
            raise
        if not doc.get("ready"):
            proc.wait(timeout=10)
            raise SandboxError(f"the sandbox failed to start: {doc.get('error', 'no reason given')}")
        sandbox = cls(endpoints=Endpoints.from_ready_line(doc), process=proc)
        atexit.register(sandbox.stop)
        return sandbox

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """Close the sandbox's stdin (it then shuts down) and wait; kill it if it lingers."""
        if self.process.poll() is not None:
            return
        try:
            if self.process.stdin is not None:
                self.process.stdin.close()
            self.process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait(timeout=10)

    def switches(self) -> list[control.SwitchState]:
        return control.list_switches(self.endpoints.control)

    def set_switch(self, name: str, on: bool) -> list[control.SwitchState]:
        return control.set_switch(self.endpoints.control, name, on)

    def invalidate(self, paths: list[str]) -> int:
        return control.invalidate(self.endpoints.control, paths)

    def aws_target(self) -> AwsTarget:
        return AwsTarget(
            region=self.endpoints.region,
            endpoint_url=self.endpoints.s3,
            access_key_id=layout.ACCESS_KEY_ID,
            secret_access_key=layout.SECRET_ACCESS_KEY,
        )

    def settings(self, options: ConsoleOptions | None = None) -> Settings:
        """Settings that point the console at this sandbox."""
        options = options or ConsoleOptions()
        return Settings(
            presign_url=self.endpoints.presign,
            bucket=self.endpoints.bucket,
            cdn_url=self.endpoints.cdn,
            app_origins=self.endpoints.app_origins,
            distribution_id=self.endpoints.distribution_id,
            lambda_function=self.endpoints.lambda_function,
            allow_writes=options.allow_writes,
            client_content_type=options.client_content_type or SANDBOX_CLIENT_CONTENT_TYPE,
            client_put_headers=options.client_put_headers,
            app_reads_cross_origin=options.app_reads_cross_origin,
            aws=self.aws_target(),
            sandbox=True,
            profile=SANDBOX_PROFILE,
        )

    def export_lines(self) -> list[str]:
        """``environment()`` as shell lines, whole (the key and secret are the sandbox's public dummies)."""
        lines = [f"export {name}={value}" for name, value in self.environment().items()]
        return [*lines, "# AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY: the sandbox's public dummy values, not secrets"]

    def environment(self) -> dict[str, str]:
        """Variables that point other tools (the CLI, the AWS CLI, boto3 scripts) at this sandbox."""
        return {
            "PIPELINE_PRESIGN_URL": self.endpoints.presign,
            "PIPELINE_BUCKET": self.endpoints.bucket,
            "PIPELINE_CDN_URL": self.endpoints.cdn,
            "PIPELINE_APP_ORIGINS": ",".join(self.endpoints.app_origins),
            "PIPELINE_DISTRIBUTION_ID": self.endpoints.distribution_id,
            "PIPELINE_LAMBDA_FUNCTION": self.endpoints.lambda_function,
            "PIPELINE_CLIENT_CONTENT_TYPE": SANDBOX_CLIENT_CONTENT_TYPE,
            "AWS_ENDPOINT_URL": self.endpoints.s3,
            "AWS_REGION": self.endpoints.region,
            "AWS_ACCESS_KEY_ID": layout.ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": layout.SECRET_ACCESS_KEY,
        }
