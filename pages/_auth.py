"""The sign-in gate. With ``[auth]`` in secrets.toml every page needs a signed-in person on the allowlist.

dashboard.py calls ``require_sign_in()`` before anything else renders; a page that Streamlit runs directly
re-runs dashboard.py first (``pages/_shared._ensure_routed``), so the gate covers every page. Without
``[auth]`` sign-in is off and the console stays zero-config. Whatever is unclear fails closed.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn

import streamlit as st

from pages._shared import Keys, _ensure_routed
from services.core.auth import SECRETS_SETTING, SETTING, decide_claims, sign_in_problems
from services.core.errors import ConfigError
from services.core.settings import load_allowlist
from services.views.markdown import EVERYTHING, literal

PAGES_DIR = Path(__file__).resolve().parent


def _escaped(text: str) -> str:
    """Text from outside (an identity provider's claims) shown literally, never as Markdown or links."""
    return literal(text, EVERYTHING)


def _read_secrets() -> Mapping[str, Any] | None:
    """The parsed secrets; None when there is no secrets file at all (sign-in off)."""
    try:
        return st.secrets.to_dict()
    except FileNotFoundError as err:  # StreamlitSecretNotFoundError: missing, or present but unreadable
        if getattr(err, "error_id", None) == "no-secrets-found":
            return None
        raise ConfigError(f"the secrets file could not be read, so sign-in cannot be checked: {err}") from err


def _stop_with(view: Callable[[], None]) -> NoReturn:
    """Show ``view`` as the only page there is, then end the run.

    Routed through a hidden navigation of its own, so no menu of the console's pages (nor Streamlit's listing
    of the pages/ folder, which it shows when no navigation is declared) is offered to someone who may not use
    them; the console's own URLs (/upload, /checks, ...) lead to this view too, not to a "Page not found".
    """
    paths = sorted(path.stem for path in PAGES_DIR.glob("*.py") if not path.name.startswith("_"))
    pages = [st.Page(view, title="Sign in", default=True)]
    pages += [st.Page(view, title="Sign in", url_path=path) for path in paths]
    st.navigation(pages, position="hidden").run()
    st.stop()


def _closed(title: str, detail: str) -> NoReturn:
    def view() -> None:
        st.error(f"**{title}** {detail}", icon=":material/lock:")

    _stop_with(view)


def _sign_in_view() -> None:
    st.title("Image Pipeline Console")
    st.markdown(
        "This console operates the image-upload pipeline. **Sign in** with your organisation's account; "
        "only the people and domains on its allowlist get in."
    )
    st.button("Sign in", type="primary", icon=":material/login:", on_click=st.login)


def _refused(reason: str) -> NoReturn:
    def view() -> None:
        st.title("Image Pipeline Console")
        st.error(_escaped(reason) + ".", icon=":material/block:")
        st.markdown(
            f"Ask whoever runs this console to add your address or domain to `{SETTING}`, or sign in as someone else."
        )
        st.button("Sign out", icon=":material/logout:", on_click=st.logout)

    _stop_with(view)


def require_sign_in() -> None:
    """Return when the console may render for this person; otherwise show why not and stop the run."""
    # On a fresh server Streamlit runs this script in its pages/-folder mode and get_target() re-runs it in
    # place; routing first means nothing of the gate is rendered twice in that run (duplicate widget ids).
    _ensure_routed()
    try:
        secrets = _read_secrets()
        pipeline = (secrets or {}).get("pipeline", {})
        allowlist = load_allowlist(os.environ, pipeline if isinstance(pipeline, Mapping) else {})
    except ConfigError as err:
        _closed("Configuration problem.", _escaped(str(err)))
    if secrets is None or "auth" not in secrets:
        if allowlist:  # an allowlist without sign-in would leave the console open to anyone who can reach it
            _closed(
                "Sign-in is not configured, but an allowlist is.",
                "Add an `[auth]` table to `.streamlit/secrets.toml` (see `.streamlit/secrets.toml.example`), "
                f"or unset `{SETTING}` to run without sign-in.",
            )
        return
    if missing := [name for name in ("authlib", "httpx") if importlib.util.find_spec(name) is None]:
        _closed(
            "Sign-in is configured but cannot be used.",
            f"{', '.join(missing)} missing: pip install -r requirements.txt.",
        )
    if problems := sign_in_problems(secrets["auth"]):
        _closed("Sign-in is configured but cannot be used.", _escaped("; ".join(problems)) + ".")
    if not allowlist:
        _closed(
            "Sign-in is on, but no one is allowed in.",
            f"Set `{SETTING}` (comma-separated addresses and `@domain` entries, e.g. "
            f"`alice@example.com,@example.org`) or {SECRETS_SETTING}.",
        )
    claims = st.user.to_dict()
    if claims.get("is_logged_in") is not True:
        _stop_with(_sign_in_view)
    decision = decide_claims(claims, allowlist)
    if not decision.allowed:
        _refused(decision.reason)
    st.session_state[Keys.SIGNED_IN_EMAIL] = decision.email  # who the history records for this session's actions
    with st.sidebar:
        st.caption(f"Signed in as {_escaped(decision.email or '')}")
        st.button("Sign out", icon=":material/logout:", on_click=st.logout)
