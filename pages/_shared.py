"""What every page shares: session-state keys, the cached target, the sidebar. UI only; logic lives in services/."""

from __future__ import annotations

import os
import runpy
import threading
from pathlib import Path

import streamlit as st

from pages._startup import secrets_document as _secrets_document
from services.core import writes
from services.core.environment import environment_digest
from services.core.errors import ConfigError, SandboxError
from services.core.profiles import PIPELINE_TABLE, PIPELINES_TABLE, Profiles, load_profiles
from services.core.redact import guard_library_logs
from services.core.settings import DEFAULT_PROFILE, PREFIX, SANDBOX_PROFILE, Settings
from services.runtime import Target, resolve_target
from services.sandbox import Sandbox

ENTRYPOINT = Path(__file__).resolve().parents[1] / "dashboard.py"


class Keys:
    """Every session-state key the console uses, in one place.

    Keys under ``PER_PROFILE`` prefixes hold one profile's inputs and results (uploads, the check report, the browse
    cursor, a repair plan): they are dropped when the sidebar switches profile, so no page shows another's."""

    PROFILE = "console.profile"
    PER_PROFILE = ("upload.", "checks.", "browse.", "repair.", "history.")
    SWITCH_PREFIX = "sandbox.switch."
    UPLOAD_FILES = "upload.files"
    UPLOAD_RESULTS = "upload.results"
    UPLOAD_ORIGIN = "upload.origin"
    PRESIGN_EXTENSION = "upload.presign_extension"
    CHECK_REPORT = "checks.report"
    CHECK_FIX_CONFIRM = "checks.fix_confirm."  # + the check id
    CHECK_FIX_APPLY = "checks.fix_apply."  # + the check id
    CHECK_FIX_CONFIRM_PROFILE = "checks.fix_confirm_profile."  # + the check id
    CHECK_FIX_NOTICE = "checks.fix_notice"
    BROWSE_PREFIX = "browse.prefix"
    BROWSE_ORDER = "browse.order"
    BROWSE_PAGE_SIZE = "browse.page_size"
    BROWSE_VIEW = "browse.view"
    BROWSE_CURSOR = "browse.cursor"
    BROWSE_SELECTED = "browse.selected"
    BROWSE_DETAIL = "browse.detail"
    BROWSE_NOTICE = "browse.notice"
    BROWSE_CONFIRM_DELETE = "browse.confirm_delete."  # + the object key
    BROWSE_CONFIRM_INVALIDATE = "browse.confirm_invalidate."  # + the object key
    BROWSE_CONFIRM_PROFILE = "browse.confirm_profile."  # + the object key
    BROWSE_ALSO_INVALIDATE = "browse.also_invalidate"
    REPAIR_PREFIX = "repair.prefix"
    REPAIR_CACHE = "repair.cache_control"
    REPAIR_REPORT = "repair.report"
    REPAIR_NOTICE = "repair.notice"
    REPAIR_CONFIRM = "repair.confirm"
    REPAIR_PROFILE = "repair.confirm_profile"
    BROWSE_OPEN = "browse.open."  # + the object key: its gallery tile's button
    BROWSE_TABLE = "browse.table"
    BROWSE_HIDE_CANARIES = "browse.hide_canaries"
    BROWSE_NAME = "browse.name"  # the search by the name an object was uploaded with
    BROWSE_FOUND = "browse.found."  # + the object key: its "Open" button among the search's results
    CHECK_NO_CANARY = "checks.no_canary"
    SWITCH_ERROR = "sandbox.switch_error"
    SIGNED_IN_EMAIL = "auth.email"  # set by the sign-in gate (pages/_auth.py) for the person it let in
    CHECK_HISTORY_WARNING = "checks.history_warning"
    UPLOAD_HISTORY_WARNING = "upload.history_warning"
    HISTORY_PROFILE = "history.profile"
    HISTORY_WINDOW = "history.window"
    HISTORY_FROM = "history.from"
    HISTORY_TO = "history.to"
    HISTORY_UPLOAD_NAME = "history.upload_name"


@st.cache_resource(show_spinner="Starting the sandbox (local emulation)…")
def _shared_target(profile: str | None, config_fingerprint: str) -> Target:
    # One target per profile per server process, shared by every session; a changed configuration gets a new one.
    return resolve_target(os.environ, _secrets_document(), profile)


def _ensure_routed() -> None:
    """Make sure dashboard.py (the router) runs, even when a fresh server is opened at /upload.

    Streamlit sees a ``pages/`` folder and, until the entrypoint has called ``st.navigation`` once in this
    server process (AppTest: in this run), runs a page script directly without the entrypoint (its
    multipage "v1" mode). A page that finds itself run that way switches the mode off and runs the
    entrypoint in its place, within the same run, so widget events of this run are not lost.
    """
    from streamlit.runtime.pages_manager import PagesManager  # private, but the only switch there is

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        runpy.run_path(str(ENTRYPOINT), run_name="__main__")
        st.stop()


def _fingerprint() -> str:
    """What the targets were built from: the PIPELINE_*/AWS_* variables and the pipeline tables, as a digest (no
    secret in a cache key). A changed configuration gets new targets."""
    document = _secrets_document()
    tables = repr((document.get(PIPELINE_TABLE), document.get(PIPELINES_TABLE)))
    return environment_digest(os.environ, ("PIPELINE_", "AWS_"), extra=(tables,))


def _profiles() -> Profiles | None:
    """Every profile; None when the configuration cannot even be listed (get_target then says why)."""
    try:
        return load_profiles(os.environ, _secrets_document())
    except ConfigError:
        return None


def _switched() -> None:
    """The sidebar chose another profile: drop every result and input of the one before."""
    for key in [k for k in st.session_state if str(k).startswith(Keys.PER_PROFILE)]:
        del st.session_state[key]


def _profile_label(profiles: Profiles, name: str) -> str:
    profile = profiles.get(name)
    marks = [word for word, on in (("PRODUCTION", profile.production), ("not usable", not profile.configured)) if on]
    return f"{name} ({', '.join(marks)})" if marks else name


_PROFILES_HELP = (
    "The pipeline this console operates ([pipelines.NAME] in .streamlit/secrets.toml, the PIPELINE_* variables as "
    "default, the embedded sandbox)."
)


def select_profile() -> None:
    """The sidebar's profile switcher (one choice per browser session, starting at PIPELINE_PROFILE / default /
    sandbox). Rendered before the target is resolved, so a broken profile can be switched away from."""
    profiles = _profiles()
    if profiles is None:
        return
    names = profiles.names()
    if st.session_state.get(Keys.PROFILE) not in names:
        st.session_state[Keys.PROFILE] = profiles.initial
    if len(names) == 1:  # nothing to switch to (only the sandbox): no switcher, what it would say
        st.sidebar.caption(f"Profile: `{names[0]}`", help=_PROFILES_HELP)
        return
    st.sidebar.selectbox(
        "Profile",
        names,
        key=Keys.PROFILE,
        format_func=lambda name: _profile_label(profiles, name),
        on_change=_switched,
        help=_PROFILES_HELP + " Switching drops this session's results of the one before.",
    )


def chosen_profile() -> str | None:
    """The profile this session operates: the sidebar's choice, or None (PIPELINE_PROFILE, else default/sandbox)."""
    return st.session_state.get(Keys.PROFILE)


def _configuration_problem(err: ConfigError, profile: str | None) -> None:
    st.error(f"**Configuration problem.** {err}")
    if not err.missing:
        return
    named = profile not in (None, DEFAULT_PROFILE, SANDBOX_PROFILE)
    if named:
        st.markdown(f"Add these to `[{PIPELINES_TABLE}.{profile}]` of `.streamlit/secrets.toml`, or switch profile:")
        keys = [f'{name.removeprefix(PREFIX).lower()} = "…"' for name in err.missing]
        st.code("\n".join([f"[{PIPELINES_TABLE}.{profile}]", *keys]), language="toml")
    else:
        st.markdown("Set these, as environment variables or in `[pipeline]` of `.streamlit/secrets.toml`:")
        st.code("\n".join(f"{name}=…" for name in err.missing), language="bash")


def get_target() -> Target:
    """The pipeline of the session's profile; stops the page with a clear message when it cannot."""
    _ensure_routed()
    guard_library_logs()  # signed URLs stay out of the libraries' debug logs (idempotent)
    profile = chosen_profile()
    try:
        target = _shared_target(profile, _fingerprint())
    except ConfigError as err:
        _configuration_problem(err, profile)
        st.stop()
    except SandboxError as err:
        st.error(f"**The sandbox could not start.** {err}")
        st.stop()
    if target.sandbox is not None and not target.sandbox.alive():
        _shared_target.clear()
        st.warning("The sandbox had stopped; it is being restarted.")
        st.rerun()
    return target


def render_production_banner(target: Target) -> None:
    """On a production profile, a red banner at the top of every page: its name, its bucket, and what writes ask."""
    settings = target.settings
    if not settings.production:
        return
    writes_note = "writes ask for the profile's name as well" if settings.allow_writes else "writes are off"
    st.error(
        f"**PRODUCTION — profile `{settings.profile}`** · bucket `{settings.bucket}` · {writes_note}",
        icon=":material/warning:",
    )


def confirm_profile_input(settings: Settings, key: str) -> bool:
    """On a production profile, the field for its name that every write also asks for; True once it is typed
    exactly (always True elsewhere). The service checks it again before any AWS call."""
    for needed in writes.profile_confirmation(settings):
        if st.text_input(needed.prompt, key=key, icon=":material/warning:") != needed.name:
            return False
    return True


def who() -> str:
    """Who is using this page, for the history: the signed-in e-mail; with sign-in off, the server's user."""
    from services.history.record import local_user  # here: the history store (SQLAlchemy, Alembic) is slow to import

    return st.session_state.get(Keys.SIGNED_IN_EMAIL) or f"console:{local_user()}"


def render_sidebar(target: Target) -> None:
    summary = target.settings.summary()
    with st.sidebar:
        if target.settings.production:
            st.error(f"**PRODUCTION** — profile `{target.profile}`", icon=":material/warning:")
        if target.sandbox is not None:
            st.success(
                "**Sandbox — local emulation**  \nNo AWS account is used; objects vanish when the console stops."
            )
        else:
            st.info(f"**Configured pipeline** — profile `{target.profile}`")
        st.caption("Presign endpoint")
        st.code(summary["presign_url"], language=None, wrap_lines=True)
        st.caption(f"Bucket ({summary['region'] or 'region from the AWS chain'})")
        st.code(summary["bucket"], language=None, wrap_lines=True)
        st.caption("CDN")
        st.code(summary["cdn_url"], language=None, wrap_lines=True)
        allowed = "allowed" if summary["allow_writes"] else "off (read-only)"
        st.caption(
            f"Writes: {allowed}", help=None if summary["allow_writes"] else writes.writes_off_hint(target.settings)
        )
        if target.sandbox is not None:
            _render_switches(target.sandbox)


def _flip_switch(sandbox: Sandbox, name: str) -> None:
    key = Keys.SWITCH_PREFIX + name
    try:
        sandbox.set_switch(name, bool(st.session_state[key]))
    except SandboxError as err:
        st.session_state[Keys.SWITCH_ERROR] = str(err)


def _render_switches(sandbox: Sandbox) -> None:
    """Toggles for the sandbox's break switches; the sandbox's own state is the truth, every run."""
    try:
        states = sandbox.switches()
    except SandboxError as err:
        st.error(str(err))
        return
    broken = sum(state.on for state in states)
    with st.expander(f"Break switches ({broken} on)", expanded=broken > 0, icon=":material/build:"):
        st.caption("Put the sandbox into a known broken state, then watch the Upload page or the checks find it.")
        if error := st.session_state.pop(Keys.SWITCH_ERROR, None):
            st.error(error)
        for state in states:
            key = Keys.SWITCH_PREFIX + state.name
            st.session_state[key] = state.on  # another session may have flipped it
            st.toggle(
                state.title,
                key=key,
                help=f"`{state.name}` — {state.symptom}",
                on_change=_flip_switch,
                args=(sandbox, state.name),
            )


class _BucketChanges:
    """How many times this console has changed the bucket (uploads, deletes, canaries), server-wide."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def bump(self) -> None:
        with self._lock:
            self.count += 1


@st.cache_resource
def _bucket_changes() -> _BucketChanges:
    return _BucketChanges()


def bucket_changed() -> None:
    """Say that this console just wrote to or deleted from the bucket: cached listings are stale from now on."""
    _bucket_changes().bump()


def bucket_version() -> int:
    """Part of a listing's cache key: an upload or delete made in this console lists again, in every session."""
    return _bucket_changes().count
