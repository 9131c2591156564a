"""Pipeline profiles: which pipelines the console knows, what each lacks, and which one a run operates.

Three sources, one vocabulary (the README's "Profiles"):
- the unnamed pipeline of the ``PIPELINE_*`` variables and the ``[pipeline]`` table is profile ``default`` (listed
  when any of its required values is set);
- each ``[pipelines.NAME]`` table of ``.streamlit/secrets.toml`` is profile NAME, read from the table alone;
- the embedded sandbox is always there as profile ``sandbox`` (its options, e.g. ``allow_writes``, come from the
  variables and ``[pipeline]``, as before profiles existed).

``PIPELINE_PROFILE`` (or ``--profile``, or the sidebar) picks one; without a choice it is ``default`` when that is
configured at all, else ``sandbox``: the console never lands on a named (perhaps production) pipeline by itself.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

from services.core.errors import ConfigError
from services.core.settings import (
    DEFAULT_PROFILE,
    PREFIX,
    SANDBOX_PROFILE,
    ConsoleOptions,
    Settings,
    load_options,
    load_settings,
    load_table,
    missing_required,
    parse_bool,
)

#: picks a profile when neither ``--profile`` nor the sidebar did
PROFILE_VARIABLE = PREFIX + "PROFILE"
#: the secrets file's tables: the unnamed pipeline, and the named ones
PIPELINE_TABLE, PIPELINES_TABLE = "pipeline", "pipelines"
#: where Streamlit reads secrets from, in its order (the later file wins, table by table); the CLI reads the same
SECRETS_FILES = (Path("~/.streamlit/secrets.toml"), Path(".streamlit/secrets.toml"))


class UnknownProfile(ConfigError):
    """A profile was asked for by a name the console does not know."""


@dataclass(frozen=True)
class Profile:
    """One pipeline the console can operate, as configured: usable, or what it lacks."""

    name: str
    #: where it is described, in words
    source: str
    production: bool = False
    #: the ``PIPELINE_*`` names of required values that are not set
    missing: tuple[str, ...] = ()
    #: why it cannot be used (incomplete or malformed), None when it can
    problem: ConfigError | None = field(default=None, compare=False)
    bucket: str | None = None
    presign_url: str | None = None
    cdn_url: str | None = None
    configured_settings: Settings | None = None
    #: the sandbox's options (writes, client type); only the sandbox profile uses them
    options: ConsoleOptions = field(default_factory=ConsoleOptions)

    @property
    def is_sandbox(self) -> bool:
        return self.name == SANDBOX_PROFILE

    @property
    def configured(self) -> bool:
        return self.problem is None

    def settings(self) -> Settings:
        """This profile's settings (not the sandbox's: those exist once it runs). Raises its ConfigError."""
        if self.problem is not None:
            raise self.problem
        if self.configured_settings is None:
            raise ConfigError(f"profile {self.name!r} is the embedded sandbox: start it to get its settings")
        return self.configured_settings

    def to_json(self) -> dict[str, Any]:
        """The ``profiles --json`` object (README, "Profiles")."""
        return {
            "name": self.name,
            "production": self.production,
            "configured": self.configured,
            "missing": list(self.missing),
            "bucket": self.bucket,
            "presign_url": self.presign_url,
            "cdn_url": self.cdn_url,
            "source": self.source,
            "problem": None if self.problem is None else str(self.problem),
        }


@dataclass(frozen=True)
class Profiles:
    """Every profile, in listing order (``default``, the named tables as written, ``sandbox``), and the one picked
    when nobody chooses."""

    all: tuple[Profile, ...]
    initial: str

    def names(self) -> tuple[str, ...]:
        return tuple(profile.name for profile in self.all)

    def get(self, name: str) -> Profile:
        """The profile called ``name``; UnknownProfile (a ConfigError: exit 2) naming the known ones otherwise."""
        for profile in self.all:
            if profile.name == name:
                return profile
        raise UnknownProfile(f"unknown profile {name!r}; known profiles: {', '.join(self.names())}")

    def choose(self, name: str | None = None) -> Profile:
        """``name``, or the initial profile when None."""
        return self.get(name or self.initial)


def _raw(table: Mapping[str, object], key: str) -> str | None:
    value = table.get(key)
    return None if value is None else (str(value).strip() or None)


class _Shown(TypedDict):
    """The values a profile is listed with, as written, even when it cannot be used."""

    bucket: str | None
    presign_url: str | None
    cdn_url: str | None


def _shown(value_of: Callable[[str], str | None]) -> _Shown:
    return _Shown(bucket=value_of("bucket"), presign_url=value_of("presign_url"), cdn_url=value_of("cdn_url"))


def _says_production(raw: str | None) -> bool:
    """``production`` as written, for a profile listed with a problem (a malformed word is that problem)."""
    try:
        return parse_bool("PRODUCTION", raw)
    except ConfigError:
        return True  # shown as production until fixed: the careful reading


def _unnamed(env: Mapping[str, str], table: Mapping[str, object]) -> Profile | None:
    missing = missing_required(env, table)
    if missing is None:
        return None
    values = _shown(lambda key: env.get(PREFIX + key.upper()) or _raw(table, key))
    source = "PIPELINE_* variables and [pipeline]"
    try:
        settings = load_settings(env, table)
    except ConfigError as err:
        production = _says_production(env.get(PREFIX + "PRODUCTION") or _raw(table, "production"))
        return Profile(DEFAULT_PROFILE, source, production, missing=err.missing, problem=err, **values)
    assert settings is not None
    return Profile(DEFAULT_PROFILE, source, settings.production, configured_settings=settings, **values)


def _named(name: str, table: object, env: Mapping[str, str]) -> Profile:
    source = f"[{PIPELINES_TABLE}.{name}]"
    if not isinstance(table, Mapping):
        problem = ConfigError(f"{source} in .streamlit/secrets.toml must be a table of settings")
        return Profile(name, source, problem=problem)
    values = _shown(lambda key: _raw(table, key))
    try:
        settings = load_table(name, table, env)
    except ConfigError as err:
        production = _says_production(_raw(table, "production"))
        return Profile(name, source, production, missing=err.missing, problem=err, **values)
    return Profile(name, source, settings.production, configured_settings=settings, **values)


def _sandbox(env: Mapping[str, str], table: Mapping[str, object]) -> Profile:
    source = "the embedded sandbox (local emulation)"
    try:
        options = load_options(env, table)
    except ConfigError as err:
        return Profile(SANDBOX_PROFILE, source, problem=err)
    return Profile(SANDBOX_PROFILE, source, options=options)


def _tables(secrets: Mapping[str, object] | None) -> tuple[Mapping[str, object], Mapping[str, object]]:
    document = secrets or {}
    unnamed, named = document.get(PIPELINE_TABLE) or {}, document.get(PIPELINES_TABLE) or {}
    if not isinstance(unnamed, Mapping):
        raise ConfigError(f"[{PIPELINE_TABLE}] in .streamlit/secrets.toml must be a table of settings")
    if not isinstance(named, Mapping):
        raise ConfigError(f"{PIPELINES_TABLE} in .streamlit/secrets.toml must be tables: [{PIPELINES_TABLE}.NAME]")
    for reserved in (DEFAULT_PROFILE, SANDBOX_PROFILE):
        if reserved in named:
            raise ConfigError(
                f"[{PIPELINES_TABLE}.{reserved}]: {reserved!r} is the name of "
                + ("the PIPELINE_* variables' pipeline" if reserved == DEFAULT_PROFILE else "the embedded sandbox")
                + "; give the table another name"
            )
    return unnamed, named


def load_profiles(env: Mapping[str, str], secrets: Mapping[str, object] | None = None) -> Profiles:
    """Every profile ``env`` and the secrets document (its ``[pipeline]`` and ``[pipelines.NAME]`` tables) describe.

    An incomplete or malformed profile is listed with its problem rather than raising, so the others stay usable.
    Raises ConfigError only for a secrets document whose shape is wrong, or a ``PIPELINE_PROFILE`` nobody defined.
    """
    unnamed_table, named_tables = _tables(secrets)
    unnamed = _unnamed(env, unnamed_table)
    found = [
        *([unnamed] if unnamed else []),
        *(_named(str(name), table, env) for name, table in named_tables.items()),
        _sandbox(env, unnamed_table),
    ]
    initial = DEFAULT_PROFILE if unnamed else SANDBOX_PROFILE
    profiles = Profiles(tuple(found), initial)
    asked = (env.get(PROFILE_VARIABLE) or "").strip()
    if asked:
        try:
            profiles.get(asked)
        except UnknownProfile as err:
            raise UnknownProfile(f"{PROFILE_VARIABLE}: {err}") from err
        profiles = Profiles(profiles.all, asked)
    return profiles


def read_secrets_files(files: tuple[Path, ...] = SECRETS_FILES) -> dict[str, Any]:
    """The secrets document, as Streamlit reads it (for the CLI; pages get ``st.secrets``): every file that exists,
    the later winning table by table. Raises ConfigError for a file that is not valid TOML."""
    document: dict[str, Any] = {}
    for path in files:
        path = path.expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            continue
        except OSError as err:
            raise ConfigError(f"cannot read {path}: {err.strerror or type(err).__name__}") from err
        try:
            document.update(tomllib.loads(text))
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{path} is not valid TOML: {err}") from err
    return document
