"""Decide what the console operates: the chosen profile's configured pipeline, or a sandbox started for it."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING

from services.core import localdns
from services.core.errors import ConfigError, SandboxError
from services.core.profiles import load_profiles
from services.core.settings import Settings
from services.sandbox import launch

if TYPE_CHECKING:  # the handle brings requests: imported where a sandbox is used, not by the console's start
    from services.sandbox import Sandbox


@dataclass
class Target:
    settings: Settings
    sandbox: Sandbox | None = None

    @property
    def profile(self) -> str:
        return self.settings.profile

    def close(self) -> None:
        if self.sandbox is not None:
            self.sandbox.stop()


def resolve_target(
    env: Mapping[str, str], secrets: Mapping[str, object] | None = None, profile: str | None = None
) -> Target:
    """The pipeline of ``profile`` (None: ``PIPELINE_PROFILE``, else ``default`` when configured, else ``sandbox``);
    for the ``sandbox`` profile, a freshly started sandbox.

    ``secrets`` is the whole secrets document (its ``[pipeline]`` and ``[pipelines.NAME]`` tables). Raises
    ConfigError (UnknownProfile naming the known ones; or naming what is missing) before anything starts,
    SandboxError when the sandbox cannot start.
    """
    localdns.install()  # *.localhost resolves to loopback here as in browsers (the sandbox's virtual-hosted URLs)
    chosen = load_profiles(env, secrets).choose(profile)
    if not chosen.is_sandbox:
        return Target(settings=chosen.settings())
    if chosen.problem is not None:  # options validated before a process is started
        raise chosen.problem
    sandbox = _take_sandbox()
    return Target(settings=sandbox.settings(chosen.options), sandbox=sandbox)


_EARLY_LOCK = threading.Lock()
_early: Future[Sandbox] | None = None
_early_decided = False


def start_sandbox_early(env: Mapping[str, str], secrets: Mapping[str, object] | None = None) -> bool:
    """Once per process: when the profile a first session gets is the sandbox, start its process now (this call
    imports nothing heavy and returns as soon as the child runs), so its start-up (moto, boto3, on the other core)
    overlaps the rest of the console's own start-up instead of following it; a thread waits for its ready line and
    the first ``resolve_target`` that needs a sandbox takes it. True when one was started."""
    global _early, _early_decided
    with _EARLY_LOCK:
        if _early_decided:
            return False
        _early_decided = True
        try:
            if not load_profiles(env, secrets).choose(None).is_sandbox:
                return False
        except ConfigError:
            return False  # resolve_target says what is wrong, on the page
        future: Future[Sandbox] = Future()
        try:
            proc = launch.launch()
        except SandboxError as err:
            future.set_exception(err)  # resolve_target tries again, and reports its own error
        else:
            threading.Thread(target=_attach_into, args=(future, proc), name="sandbox-early", daemon=True).start()
        _early = future
    return True


def _attach_into(future: Future[Sandbox], proc: subprocess.Popen[bytes]) -> None:
    try:
        # the ready line first (the standard library): the handle's imports would compete with the server's start
        ready_line = launch.read_ready_line(proc)
        from services.sandbox import Sandbox

        future.set_result(Sandbox.attach(proc, ready_line))
    except SandboxError as err:
        future.set_exception(err)


def _take_sandbox() -> Sandbox:
    """The sandbox started early, when there is one and it runs; otherwise one started now."""
    from services.sandbox import Sandbox

    global _early
    with _EARLY_LOCK:
        early, _early = _early, None
    if early is not None:
        try:
            sandbox = early.result()
        except SandboxError:
            sandbox = None  # started again below: its error, if any, is the one reported
        if sandbox is not None and sandbox.alive():
            return sandbox
    return Sandbox.start()
