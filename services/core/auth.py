"""Who may use the console when sign-in is on: the allowlist, and the decision for one signed-in person.

Sign-in itself is Streamlit's (``st.login``, OpenID Connect, configured in ``[auth]`` of secrets.toml); this
module judges what the identity provider asserted (the ``email`` and ``email_verified`` claims) against
``PIPELINE_ALLOWED_EMAILS``. Pure functions and no Streamlit, so the page gate and the tests run the same code.

Matching is exact and case-insensitive for ASCII letters only: ``@example.com`` admits ``x@example.com`` and
``X@EXAMPLE.COM``, never ``x@sub.example.com``, ``x@evil-example.com``, ``x@example.com.evil.org``, nor a
look-alike whose non-ASCII letter lower-cases to an ASCII one (the Kelvin sign K becomes k under ``str.lower``).
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from services.core.errors import ConfigError

SETTING: Final = "PIPELINE_ALLOWED_EMAILS"
SECRETS_SETTING: Final = "allowed_emails in [pipeline] of .streamlit/secrets.toml"
#: what st.login() needs in [auth] for its default provider (Streamlit's validate_auth_credentials)
SIGN_IN_KEYS: Final = ("redirect_uri", "cookie_secret", "client_id", "client_secret", "server_metadata_url")
#: the cookie secret signs the identity cookie, so the allowlist is only as strong as it
MIN_COOKIE_SECRET: Final = 32

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
# RFC 5322 atext plus dots (dot-atom), ASCII only; quoted local parts are not supported.
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


class _Absent:
    """The ``email_verified`` claim was not sent at all (distinct from an explicit null)."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Final = _Absent()


@dataclass(frozen=True)
class Decision:
    """Whether one signed-in person may use the console, and why, in words fit to show them."""

    allowed: bool
    reason: str
    email: str | None = None  # the address as normalised, when the provider sent a usable one


def _fold(text: str) -> str:
    return text.translate(_ASCII_LOWER)


def _is_domain(text: str) -> bool:
    labels = text.split(".")
    return len(text) <= 253 and len(labels) >= 2 and all(_LABEL.fullmatch(label) for label in labels)


def _split_address(text: str) -> tuple[str, str] | None:
    """(local part, domain) of a plain ASCII address, folded; None when it is not one."""
    if not text.isascii():
        return None
    local, at, domain = _fold(text).partition("@")
    if not at or not _LOCAL.fullmatch(local) or not _is_domain(domain):
        return None
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return None
    return local, domain


def _entry(raw: str, source: str) -> str:
    if "*" in raw:  # legal in an address, but here it would only ever be a wildcard that silently matches no one
        raise ConfigError(f"{source}: {raw!r}: wildcards are not supported; @example.com admits a whole domain")
    if raw.startswith("@"):
        domain = _fold(raw[1:])
        if raw[1:].isascii() and _is_domain(domain):
            return "@" + domain
    elif (parts := _split_address(raw)) is not None:
        return "@".join(parts)
    raise ConfigError(
        f"{source}: {raw!r} is neither an e-mail address (alice@example.com) nor a domain (@example.com); "
        "use ASCII (punycode, xn--, for international domains), separate entries with commas"
    )


def parse_allowlist(raw: object, source: str = SETTING) -> tuple[str, ...]:
    """The allowlist as normalised entries (``alice@example.com``, ``@example.org``), in order, without repeats.

    ``raw`` is the environment variable's text (comma-separated) or the secrets file's value (a string or a
    list of strings). None or blank means no allowlist. Raises ConfigError naming ``source`` for anything
    else, so a typo never silently narrows or widens who gets in.
    """
    if raw is None:
        return ()
    if isinstance(raw, str):
        pieces = [raw]
    elif isinstance(raw, list | tuple) and all(isinstance(item, str) for item in raw):
        pieces = list(raw)
    else:
        raise ConfigError(
            f"{source} must be a comma-separated string or a list of strings, not {type(raw).__name__}, "
            'e.g. allowed_emails = ["alice@example.com", "@example.org"]'
        )
    entries: dict[str, None] = {}
    for piece in pieces:
        for part in piece.split(","):
            if part.strip():
                entries[_entry(part.strip(), source)] = None
    return tuple(entries)


def _verified(claim: object) -> bool | None:
    """True / False for the claim's value; None when it says neither (then the address is not trusted)."""
    if isinstance(claim, bool):
        return claim
    if isinstance(claim, str) and _fold(claim) in ("true", "false"):
        return _fold(claim) == "true"  # some providers send the claim as a string
    return None


def decide(email: object, email_verified: object, allowlist: object) -> Decision:
    """May the person the identity provider vouched for use the console?

    ``email`` and ``email_verified`` are the ID token's claims; pass ``ABSENT`` when the provider sent no
    ``email_verified`` claim (some do not; their addresses are taken as verified). Refuses when the
    allowlist is empty, the address is missing or unusable, the provider says it is unverified (or its
    claim says neither yes nor no), or it is not on the allowlist. Raises ConfigError only for a malformed
    allowlist.
    """
    entries = parse_allowlist(allowlist)  # normalised entries pass unchanged; anything else is checked here
    if not entries:
        return Decision(False, f"No one is allowed in: set {SETTING} (or {SECRETS_SETTING})")
    if email is None or (isinstance(email, str) and not email.strip()):
        return Decision(False, "The identity provider sent no e-mail address (the console asks for the email scope)")
    parts = _split_address(email.strip()) if isinstance(email, str) else None
    if parts is None:
        return Decision(False, "The identity provider sent an e-mail address this console cannot match")
    address = "@".join(parts)
    if email_verified is not ABSENT:
        verified = _verified(email_verified)
        if verified is None:
            return Decision(False, f"The identity provider's email_verified claim for {address} is unreadable", address)
        if not verified:
            return Decision(False, f"The identity provider says {address} is not verified", address)
    for entry in entries:
        if entry in (address, "@" + parts[1]):
            return Decision(True, f"{address} is on this console's allowlist (as {entry})", address)
    return Decision(False, f"{address} is not on this console's allowlist", address)


def decide_claims(claims: Mapping[str, object], allowlist: object) -> Decision:
    """``decide`` over a claims mapping such as ``st.user``: a missing ``email_verified`` is ABSENT."""
    return decide(claims.get("email"), claims.get("email_verified", ABSENT), allowlist)


def sign_in_problems(auth: object) -> tuple[str, ...]:
    """What is missing or unsafe in the ``[auth]`` table for the console's sign-in; empty when it can be used.

    The console signs in with Streamlit's default provider (``st.login()``), so the provider's keys sit in
    ``[auth]`` itself, not in a named ``[auth.<provider>]`` table.
    """
    if not isinstance(auth, Mapping):
        return ("[auth] must be a table",)
    problems = [f"[auth] has no {key}" for key in SIGN_IN_KEYS if not str(auth.get(key) or "").strip()]
    redirect = str(auth.get("redirect_uri") or "").strip()
    if redirect and (not redirect.startswith(("http://", "https://")) or not redirect.endswith("/oauth2callback")):
        problems.append(
            f"[auth] redirect_uri={redirect!r} must be the console's absolute URL ending in /oauth2callback, "
            "e.g. https://console.example.com/oauth2callback"
        )
    secret = str(auth.get("cookie_secret") or "")
    if secret.strip() and len(secret) < MIN_COOKIE_SECRET:
        problems.append(
            f"[auth] cookie_secret is shorter than {MIN_COOKIE_SECRET} characters (it signs the identity cookie); "
            'generate one with: python -c "import secrets; print(secrets.token_urlsafe(32))"'
        )
    return tuple(problems)
