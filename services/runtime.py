"""Decide what the console operates: the chosen profile's configured pipeline, or a sandbox started for it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.core import localdns
from services.core.profiles import load_profiles
from services.core.settings import Settings
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
    sandbox = Sandbox.start()
    return Target(settings=sandbox.settings(chosen.options), sandbox=sandbox)
