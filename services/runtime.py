"""Decide what the console operates: the configured pipeline, or a sandbox started for it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.core import localdns
from services.core.settings import Settings, load_options, load_settings
from services.sandbox import Sandbox


@dataclass
class Target:
    settings: Settings
    sandbox: Sandbox | None = None

    def close(self) -> None:
        if self.sandbox is not None:
            self.sandbox.stop()


def resolve_target(env: Mapping[str, str], secrets: Mapping[str, object] | None = None) -> Target:
    """The configured pipeline; with nothing configured, a freshly started sandbox.

    Raises ConfigError (naming what is missing) for a partial configuration, SandboxError when the
    sandbox cannot start.
    """
    localdns.install()  # *.localhost resolves to loopback here as in browsers (the sandbox's virtual-hosted URLs)
    settings = load_settings(env, secrets)
    if settings is not None:
        return Target(settings=settings)
    options = load_options(env, secrets)  # validated before a process is started
    sandbox = Sandbox.start()
    return Target(settings=sandbox.settings(options), sandbox=sandbox)
