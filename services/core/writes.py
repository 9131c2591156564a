"""The writes switch: whether the console may change a pipeline, and which names a person types to confirm a write.

Every write the console makes (Browse's delete and invalidate, applying a check's fix, repair) asks here, before any
client is built or request sent. Writes are off unless the profile's ``allow_writes`` is on; with them on, a write
is confirmed by typing the name of what it writes to (the bucket, the role, the object key), and on a production
profile the profile's name as well, so a write meant for staging cannot land on production by a slip of the sidebar.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Protocol

from services.core.errors import ConsoleError
from services.core.settings import DEFAULT_PROFILE, SANDBOX_PROFILE, Settings


class OnProfile(Protocol):
    """What a write's confirmations depend on: Settings, or a check run's target."""

    @property
    def profile(self) -> str: ...

    @property
    def production(self) -> bool: ...


#: the kind of name a person types for a production profile
PROFILE_KIND = "profile"


class WritesRefused(ConsoleError):
    """A write refused before any AWS call: writes off, or not confirmed."""


class WritesOff(WritesRefused):
    """The profile's ``allow_writes`` is not on."""


class NotConfirmed(WritesRefused):
    """A name typed to confirm a write is not the one asked for."""


@dataclass(frozen=True)
class Confirmation:
    """One name a person must type, exactly, to confirm a write: what it writes to, or the production profile."""

    kind: str  # "bucket", "role", "key", "profile"
    name: str

    @property
    def prompt(self) -> str:
        """The label of the field a page shows for it."""
        if self.kind == PROFILE_KIND:
            return f"Production profile: type its name `{self.name}` too"
        return f"Type `{self.name}` to confirm"


def writes_off_hint(settings: Settings | None = None) -> str:
    """How to turn writes on for this profile (the one text every refusal and page uses)."""
    if settings is None or settings.profile in (DEFAULT_PROFILE, SANDBOX_PROFILE):
        where = "`PIPELINE_ALLOW_WRITES=true` (or `allow_writes = true` in `[pipeline]` of `.streamlit/secrets.toml`)"
    else:
        where = f"`allow_writes = true` in `[pipelines.{settings.profile}]` of `.streamlit/secrets.toml`"
    return f"Writes are off: the console is read-only. To allow them, set {where} and restart the console."


#: the hint for the unnamed pipeline and the sandbox
WRITES_OFF_HINT = writes_off_hint()


def confirmations(settings: OnProfile, kind: str, name: str) -> tuple[Confirmation, ...]:
    """The names a person must type to confirm a write to ``name`` (a ``kind``: bucket, role, key): that name, and
    on a production profile the profile's name too. Pages show one field each; the CLI takes ``--confirm`` and
    ``--confirm-profile``."""
    return (Confirmation(kind, name), *profile_confirmation(settings))


def command_flags(profile: str, confirmations: tuple[Confirmation, ...]) -> tuple[str, str]:
    """What a printed ``python -m services ...`` command needs to run on ``profile`` and be confirmed: the
    ``--profile NAME`` before the command (none for the default profile), and the ``--confirm`` /
    ``--confirm-profile`` after it, one per name (shell-quoted). A fix's command carries them all."""
    before = "" if profile == DEFAULT_PROFILE else f"--profile {shlex.quote(profile)} "
    after = " ".join(
        f"{'--confirm-profile' if c.kind == PROFILE_KIND else '--confirm'} {shlex.quote(c.name)}" for c in confirmations
    )
    return before, after


def profile_confirmation(settings: OnProfile) -> tuple[Confirmation, ...]:
    """The profile's name as a confirmation on a production profile; nothing elsewhere."""
    return (Confirmation(PROFILE_KIND, settings.profile),) if settings.production else ()


def writes_refusal(settings: Settings, what: str) -> WritesOff | None:
    """Why ``what`` may not write at all (writes off); None when writes are on."""
    if settings.allow_writes:
        return None
    hint = writes_off_hint(settings)
    return WritesOff(f"{what} refused: {hint[0].lower()}{hint[1:]}")


def confirmation_refusal(
    settings: Settings, what: str, resource: Confirmation | None, confirm: str | None, confirm_profile: str | None
) -> NotConfirmed | None:
    """Why the typed names do not confirm ``what``: ``confirm`` must be ``resource``'s name (when there is one), and on
    a production profile ``confirm_profile`` the profile's name. None when they do."""
    if resource is not None and confirm != resource.name:
        return NotConfirmed(
            f"{what} refused: type the {resource.kind} name {resource.name!r} exactly to confirm (got {confirm!r})."
        )
    for needed in profile_confirmation(settings):
        if confirm_profile != needed.name:
            return NotConfirmed(
                f"{what} refused: {settings.profile!r} is a production profile; type its name {needed.name!r} "
                f"exactly as well to confirm (got {confirm_profile!r})."
            )
    return None


def refusal(
    settings: Settings,
    what: str,
    resource: Confirmation | None = None,
    confirm: str | None = None,
    confirm_profile: str | None = None,
) -> WritesRefused | None:
    """Why ``what`` may not write (writes off, or not confirmed); None when it may."""
    return writes_refusal(settings, what) or confirmation_refusal(settings, what, resource, confirm, confirm_profile)


def require(
    settings: Settings,
    what: str,
    resource: Confirmation | None = None,
    confirm: str | None = None,
    confirm_profile: str | None = None,
) -> None:
    """Raise WritesOff / NotConfirmed unless ``what`` may write; call it before any client is built."""
    refused = refusal(settings, what, resource, confirm, confirm_profile)
    if refused is not None:
        raise refused
