"""The console's handle on its sandbox: start the sandbox process, point settings at it, stop it.

The sandbox runs in a child process of its own (moto is heavy and keeps global state). It picks free
ports itself and reports them, so two consoles on one machine never collide; it exits when its
standard input closes, so it never outlives the console, even one killed with SIGKILL.
"""

from __future__ import annotations

import atexit
import subprocess
from dataclasses import dataclass, field
from typing import Any

from services.core import localdns
from services.core.errors import SandboxError
from services.core.settings import SANDBOX_CLIENT_CONTENT_TYPE, SANDBOX_PROFILE, AwsTarget, ConsoleOptions, Settings
from services.sandbox import control, layout
from services.sandbox.launch import START_TIMEOUT, launch, read_ready_line


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


@dataclass
class Sandbox:
    endpoints: Endpoints
    process: subprocess.Popen[bytes] = field(repr=False)

    @classmethod
    def start(
        cls, breaks: tuple[str, ...] = (), timeout: float = START_TIMEOUT, addressing: str = "virtual"
    ) -> Sandbox:
        """Start a sandbox (with break switches ``breaks`` on) and wait until every endpoint listens (a request that
        comes before its account is built waits for it: server.Account). ``addressing``
        "path" makes its function sign path-style URLs on the S3 endpoint, as S3-compatible servers do."""
        localdns.install()  # its presigned URLs name <bucket>.s3.<region>.localhost
        proc = launch(breaks, addressing)
        return cls.attach(proc, read_ready_line(proc, timeout))

    @classmethod
    def attach(cls, proc: subprocess.Popen[bytes], doc: dict[str, Any]) -> Sandbox:
        """The handle on a sandbox process already started (launch.launch), from the line it reported
        (launch.read_ready_line). Raises SandboxError when that line says it could not start."""
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
