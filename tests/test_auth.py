"""Optional sign-in: the allowlist (services/core/auth.py, services/core/settings.py) and the gate every page passes
(pages/_auth.py, run through dashboard.py by Streamlit's AppTest with an injected ``st.user``).

The sign-in round trip itself, with a real OIDC provider and chromium, is tests/test_browser_auth.py.
"""

from __future__ import annotations

import re
import tomllib
from contextlib import ExitStack
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from services.core.auth import (
    ABSENT,
    MIN_COOKIE_SECRET,
    SETTING,
    SIGN_IN_KEYS,
    Decision,
    decide,
    decide_claims,
    parse_allowlist,
    sign_in_problems,
)
from services.core.errors import ConfigError
from services.core.settings import ConsoleOptions, load_allowlist, load_options
from tests.conftest import PROJECT_ROOT

ALLOWLIST = ("alice@example.com", "@example.org")
KELVIN = "\u212a"  # KELVIN SIGN: str.lower() turns it into an ASCII "k"

# ---------------------------------------------------------------- parsing the allowlist


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, ()),
        ("", ()),
        ("  ,  , ", ()),
        ([], ()),
        ("alice@example.com", ("alice@example.com",)),
        (" Alice@Example.COM , @Example.ORG ,", ("alice@example.com", "@example.org")),
        (["alice@example.com", "@example.org"], ALLOWLIST),
        (["alice@example.com,bob@example.com"], ("alice@example.com", "bob@example.com")),
        ("a@example.com,A@EXAMPLE.com,@x.example.com", ("a@example.com", "@x.example.com")),
        ("first.last+tag@mail.example.co.uk", ("first.last+tag@mail.example.co.uk",)),
        ("@xn--bcher-kva.example", ("@xn--bcher-kva.example",)),
    ],
)
def test_parse_allowlist_normalises(raw, expected) -> None:
    assert parse_allowlist(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "alice",  # neither an address nor a domain
        "example.com",  # a domain needs its @
        "@",
        "@com",  # a bare top-level domain would admit a whole TLD
        "@.example.com",
        "@example.com.",
        "@exa mple.com",
        "@-example.com",
        "*@example.com",  # no wildcards: @example.com is the way to admit a domain
        "@*.example.com",
        "alice@@example.com",
        "a@b@example.com",
        ".alice@example.com",
        "al..ice@example.com",
        '"alice"@example.com',
        "alice@example.com;bob@example.com",
        "alice@bücher.example",  # international domains in punycode (xn--)
        f"@{KELVIN}example.com",
        "alice@exam\nple.com",  # only commas separate entries
    ],
)
def test_parse_allowlist_refuses_what_is_not_an_address_or_domain(raw: str) -> None:
    with pytest.raises(ConfigError, match=SETTING):
        parse_allowlist(f"bob@example.com,{raw}")


@pytest.mark.parametrize("raw", [42, {"alice": "example.com"}, ["alice@example.com", 7], True])
def test_parse_allowlist_refuses_other_types(raw) -> None:
    with pytest.raises(ConfigError, match="comma-separated string or a list of strings"):
        parse_allowlist(raw, source="allowed_emails in [pipeline]")


# ---------------------------------------------------------------- deciding


@pytest.mark.parametrize(
    ("email", "verified", "entry"),
    [
        ("alice@example.com", True, "alice@example.com"),
        ("ALICE@Example.Com", True, "alice@example.com"),
        (" alice@example.com ", True, "alice@example.com"),
        ("bob@example.org", True, "@example.org"),
        ("Bob@EXAMPLE.ORG", "true", "@example.org"),  # some providers send the claim as a string
        ("bob@example.org", "True", "@example.org"),
        ("bob@example.org", ABSENT, "@example.org"),  # providers that never send email_verified
    ],
)
def test_allowed(email: str, verified: object, entry: str) -> None:
    decision = decide(email, verified, ALLOWLIST)

    assert decision.allowed, decision
    assert decision.email == email.strip().lower()
    assert f"(as {entry})" in decision.reason


@pytest.mark.parametrize(
    ("email", "verified", "reason"),
    [
        ("mallory@evil-example.com", True, "mallory@evil-example.com is not on this console's allowlist"),
        ("x@example.com.evil.org", True, "x@example.com.evil.org is not on this console's allowlist"),
        ("x@evil-example.org", True, "not on this console's allowlist"),
        ("x@sub.example.org", True, "not on this console's allowlist"),  # exact domains, no subdomains
        ("x@example.org.", True, "cannot match"),
        ("bob@example.com", True, "bob@example.com is not on this console's allowlist"),  # only alice there
        ("alice@example.co", True, "not on this console's allowlist"),
        ("alice@example.com.evil.org", True, "not on this console's allowlist"),
        ('"alice@example.com"@evil.org', True, "cannot match"),
        ("alice@example.com@evil.org", True, "cannot match"),
        ("bob@example.org", False, "bob@example.org is not verified"),
        ("bob@example.org", "false", "bob@example.org is not verified"),
        ("bob@example.org", None, "email_verified claim for bob@example.org is unreadable"),  # explicit null
        ("bob@example.org", "yes", "unreadable"),
        ("bob@example.org", 1, "unreadable"),
        (None, True, "sent no e-mail address"),
        ("", True, "sent no e-mail address"),
        ("   ", ABSENT, "sent no e-mail address"),
        ("bob", True, "cannot match"),
        (["bob@example.org"], True, "cannot match"),
        (42, True, "cannot match"),
    ],
)
def test_refused(email: object, verified: object, reason: str) -> None:
    decision = decide(email, verified, ALLOWLIST)

    assert not decision.allowed
    assert reason in decision.reason


def test_an_empty_allowlist_lets_no_one_in_and_names_the_setting() -> None:
    decision = decide("alice@example.com", True, ())

    assert decision == Decision(False, decision.reason)
    assert SETTING in decision.reason and "allowed_emails" in decision.reason


def test_a_look_alike_letter_does_not_pass_for_its_ascii_twin() -> None:
    look_alike = "bob@ban" + KELVIN + ".example"

    assert look_alike.lower() == "bob@bank.example"  # what a naive comparison would see
    assert not decide(look_alike, True, ("@bank.example", "bob@bank.example")).allowed


def test_a_malformed_allowlist_is_a_configuration_error_not_a_decision() -> None:
    with pytest.raises(ConfigError):
        decide("alice@example.com", True, ["example.com"])


def test_decide_claims_tells_a_missing_claim_from_an_explicit_null() -> None:
    assert decide_claims({"email": "bob@example.org", "is_logged_in": True}, ALLOWLIST).allowed
    assert not decide_claims({"email": "bob@example.org", "email_verified": None}, ALLOWLIST).allowed
    assert not decide_claims({"email_verified": True}, ALLOWLIST).allowed


# ---------------------------------------------------------------- properties

any_claim = st.one_of(
    st.none(), st.booleans(), st.text(), st.integers(), st.just(ABSENT), st.lists(st.text(), max_size=2)
)
label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
domain = st.lists(label, min_size=2, max_size=4).map(".".join)
local = st.from_regex(r"[a-z0-9!#$%&'+/=?^_`{|}~-]{1,12}", fullmatch=True)


@given(email=any_claim, verified=any_claim, allowlist=st.one_of(st.text(), st.lists(st.text(), max_size=4), any_claim))
@example(email="a@example.com", verified=True, allowlist=["a@example.com"])
def test_decide_only_ever_decides_or_reports_the_configuration(email, verified, allowlist) -> None:
    try:
        decision = decide(email, verified, allowlist)
    except ConfigError as err:
        assert str(err)
        return
    assert isinstance(decision, Decision) and decision.reason
    if decision.allowed:
        entries = parse_allowlist(allowlist)
        assert decision.email in entries or "@" + decision.email.rpartition("@")[2] in entries
        assert verified is ABSENT or verified is True or str(verified).lower() == "true"


@given(raw=st.one_of(st.text(), st.lists(st.text(), max_size=4)))
def test_parsing_is_idempotent_and_yields_only_entries(raw) -> None:
    try:
        entries = parse_allowlist(raw)
    except ConfigError:
        return
    assert parse_allowlist(entries) == entries
    assert parse_allowlist(",".join(entries)) == entries
    for entry in entries:
        assert entry.isascii() and entry == entry.lower() and entry.count("@") == 1 and "," not in entry


@given(local=local, allowed=domain, prefix=st.sampled_from(["evil-", "evil", "x.", "a-"]), suffix=domain)
def test_a_domain_entry_admits_that_domain_exactly(local: str, allowed: str, prefix: str, suffix: str) -> None:
    allowlist = ("@" + allowed,)

    assert decide(f"{local}@{allowed}", True, allowlist).allowed
    assert not decide(f"{local}@{prefix}{allowed}", True, allowlist).allowed
    assert not decide(f"{local}@{allowed}.{suffix}", True, allowlist).allowed
    assert decide(f"{allowed}@{suffix}", True, allowlist).allowed == (suffix == allowed)


@given(local=local, allowed=domain, data=st.data())
def test_case_never_matters_for_ascii_letters(local: str, allowed: str, data) -> None:
    email = f"{local}@{allowed}"
    flips = data.draw(st.lists(st.booleans(), min_size=len(email), max_size=len(email)))
    shouted = "".join(ch.upper() if flip else ch for ch, flip in zip(email, flips, strict=True))

    assert decide(shouted, True, (email.upper(),)).allowed
    assert decide(shouted, True, ("@" + allowed.upper(),)).allowed


@given(local=local, allowed=domain, position=st.integers(min_value=0))
def test_a_non_ascii_look_alike_is_never_admitted(local: str, allowed: str, position: int) -> None:
    email = f"{local}@{allowed}"
    letters = [i for i, ch in enumerate(email) if ch == "k"]
    email = email + "k" if not letters else email  # make sure there is a k to imitate
    letters = letters or [len(email) - 1]
    index = letters[position % len(letters)]
    look_alike = email[:index] + KELVIN + email[index + 1 :]

    assert look_alike.lower() == email.lower()  # what a naive comparison would see
    assert not decide(look_alike, True, (email, "@" + email.rpartition("@")[2])).allowed


# ---------------------------------------------------------------- the [auth] table

COMPLETE_AUTH = {
    "redirect_uri": "https://console.example.com/oauth2callback",
    "cookie_secret": "s" * MIN_COOKIE_SECRET,
    "client_id": "console",
    "client_secret": "client-secret-placeholder",
    "server_metadata_url": "https://idp.example.com/.well-known/openid-configuration",
}


def test_a_complete_auth_table_has_no_problems() -> None:
    assert sign_in_problems(COMPLETE_AUTH) == ()


@pytest.mark.parametrize(
    ("auth", "problem"),
    [
        ({}, "[auth] has no redirect_uri"),
        ({**COMPLETE_AUTH, "client_id": ""}, "[auth] has no client_id"),
        ({k: v for k, v in COMPLETE_AUTH.items() if k != "server_metadata_url"}, "no server_metadata_url"),
        ({**COMPLETE_AUTH, "cookie_secret": "x" * (MIN_COOKIE_SECRET - 1)}, "cookie_secret is shorter than 32"),
        ({**COMPLETE_AUTH, "redirect_uri": "https://console.example.com/"}, "ending in /oauth2callback"),
        ({**COMPLETE_AUTH, "redirect_uri": "console.example.com/oauth2callback"}, "absolute URL"),
        ("yes", "[auth] must be a table"),
    ],
)
def test_auth_table_problems(auth, problem: str) -> None:
    assert any(problem in line for line in sign_in_problems(auth)), sign_in_problems(auth)


def test_the_shipped_example_uncommented_is_still_refused_until_a_real_cookie_secret_is_set() -> None:
    text = (PROJECT_ROOT / ".streamlit" / "secrets.toml.example").read_text()
    uncommented = re.sub(r"(?m)^# (?=\[|[a-z_]+ = )", "", text)  # the commented-out settings, not the prose
    secrets = tomllib.loads(uncommented)

    assert parse_allowlist(secrets["pipeline"]["allowed_emails"]) == ALLOWLIST
    assert set(secrets["auth"]) == set(SIGN_IN_KEYS)
    assert [p for p in sign_in_problems(secrets["auth"]) if "cookie_secret" in p]


# ---------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("env", "secrets", "expected"),
    [
        ({}, None, ()),
        ({}, {"allowed_emails": ["Alice@example.com", "@example.org"]}, ALLOWLIST),
        ({}, {"allowed_emails": "alice@example.com,@example.org"}, ALLOWLIST),
        ({SETTING: "@example.org"}, {"allowed_emails": ["alice@example.com"]}, ("@example.org",)),
        ({SETTING: ""}, {"allowed_emails": ["alice@example.com"]}, ()),  # a set variable wins, even blank
    ],
)
def test_load_allowlist(env, secrets, expected) -> None:
    assert load_allowlist(env, secrets) == expected
    assert load_options(env, secrets).allowed_emails == expected


def test_a_bad_allowlist_names_where_it_came_from() -> None:
    with pytest.raises(ConfigError, match=f"{SETTING}: 'alice'"):
        load_options({SETTING: "alice"})
    with pytest.raises(ConfigError, match=r"allowed_emails in \[pipeline\]"):
        load_allowlist({}, {"allowed_emails": 42})


def test_console_options_keep_their_positional_shape() -> None:
    assert ConsoleOptions(True, "{mime}") == ConsoleOptions(allow_writes=True, client_content_type="{mime}")
    assert ConsoleOptions().allowed_emails == ()


# ---------------------------------------------------------------- the gate, through dashboard.py (AppTest)

DASHBOARD = str(PROJECT_ROOT / "dashboard.py")
ALICE = {"is_logged_in": True, "email": "alice@example.com", "email_verified": True, "name": "Alice"}


def console(user: dict, secrets: dict) -> AppTest:
    app = AppTest.from_file(DASHBOARD, default_timeout=60)
    app.user = user
    app.secrets = secrets
    app.run()
    assert not app.exception, app.exception
    return app


def signed_in_secrets(**pipeline) -> dict:
    return {"auth": dict(COMPLETE_AUTH), "pipeline": pipeline}


def rendered(app: AppTest) -> str:
    parts = [m.value for m in app.markdown] + [e.value for e in app.error] + [t.value for t in app.title]
    parts += [c.value for c in app.caption] + [c.value for c in app.sidebar.caption] + [c.value for c in app.code]
    return "\n".join(str(p) for p in parts)


def shows_the_pipeline(app: AppTest) -> bool:
    return any(t.value == "Image pipeline" for t in app.title)


def test_without_auth_in_secrets_sign_in_is_off(configured) -> None:
    app = console({}, {"unrelated": {"x": "1"}})

    assert shows_the_pipeline(app)
    assert not [b for b in app.button if b.label == "Sign in"]


def test_signed_out_visitors_get_the_sign_in_prompt_and_nothing_else(configured, sandbox) -> None:
    app = console({"is_logged_in": False}, signed_in_secrets(allowed_emails=list(ALLOWLIST)))

    assert [b.label for b in app.button] == ["Sign in"]
    assert not shows_the_pipeline(app)
    assert sandbox.endpoints.presign not in rendered(app) and "Sandbox" not in rendered(app)


def test_an_allowed_person_gets_the_console_and_a_sign_out(configured, sandbox) -> None:
    app = console(ALICE, signed_in_secrets(allowed_emails=list(ALLOWLIST)))

    assert shows_the_pipeline(app)
    assert any("Signed in as" in c.value for c in app.sidebar.caption)
    assert [b.label for b in app.sidebar.button] == ["Sign out"]
    assert sandbox.endpoints.presign in rendered(app)


def test_signing_out_brings_back_the_sign_in_prompt(configured) -> None:
    app = console(ALICE, signed_in_secrets(allowed_emails=list(ALLOWLIST)))

    app.sidebar.button[0].click().run()

    assert not shows_the_pipeline(app)
    assert [b.label for b in app.button] == ["Sign in"]


@pytest.mark.parametrize(
    ("user", "message"),
    [
        ({**ALICE, "email": "mallory@evil-example.com"}, "is not on this console's allowlist"),
        ({**ALICE, "email": "bob@example.org", "email_verified": False}, "is not verified"),
        ({"is_logged_in": True}, "sent no e-mail address"),
    ],
)
def test_a_refused_person_sees_why_and_no_pipeline_data(configured, sandbox, user, message) -> None:
    app = console(user, signed_in_secrets(allowed_emails=list(ALLOWLIST)))

    assert any(message in e.value for e in app.error), [e.value for e in app.error]
    assert [b.label for b in app.button] == ["Sign out"]
    assert not shows_the_pipeline(app)
    assert sandbox.endpoints.presign not in rendered(app) and sandbox.endpoints.bucket not in rendered(app)


def test_sign_in_without_an_allowlist_lets_no_one_in_and_names_the_setting(configured) -> None:
    app = console(ALICE, signed_in_secrets())

    assert not shows_the_pipeline(app)
    assert any("no one is allowed in" in e.value and SETTING in e.value for e in app.error)


def test_the_allowlist_variable_wins_over_the_secrets_file(configured, monkeypatch) -> None:
    monkeypatch.setenv(SETTING, "@example.org")

    app = console(ALICE, signed_in_secrets(allowed_emails=["alice@example.com"]))

    assert not shows_the_pipeline(app)
    assert any("alice@example.com is not on" in e.value.replace("\\", "") for e in app.error)


@pytest.mark.parametrize(
    ("secrets", "env", "message"),
    [
        ({"auth": {**COMPLETE_AUTH, "cookie_secret": "short"}}, {SETTING: "@example.org"}, "cookie_secret is shorter"),
        ({"auth": {"redirect_uri": COMPLETE_AUTH["redirect_uri"]}}, {SETTING: "@example.org"}, "has no client_id"),
        ({"auth": dict(COMPLETE_AUTH)}, {SETTING: "example.org"}, "neither an e-mail address"),
        ({"unrelated": {"x": "1"}}, {SETTING: "@example.org"}, "Sign-in is not configured, but an allowlist is"),
    ],
)
def test_an_unusable_sign_in_configuration_keeps_the_console_closed(configured, monkeypatch, secrets, env, message):
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    app = console(ALICE, secrets)

    assert not shows_the_pipeline(app)
    assert any(message in e.value.replace("\\", "") for e in app.error), [e.value for e in app.error]
    assert not [b for b in app.button if b.label == "Sign in"]


@pytest.fixture
def secrets_files(monkeypatch):
    """Point Streamlit's real secrets loader at files of the test's own (as `--secrets.files` does)."""
    import streamlit
    from streamlit.runtime.secrets import Secrets
    from streamlit.testing.v1.util import patch_config_options

    with ExitStack() as stack:

        def use(*paths: Path) -> None:
            stack.enter_context(patch_config_options({"secrets.files": [str(p) for p in paths]}))
            monkeypatch.setattr(streamlit, "secrets", Secrets())  # a fresh loader, nothing cached

        yield use


def test_no_secrets_file_at_all_means_sign_in_is_off(configured, secrets_files, tmp_path) -> None:
    secrets_files(tmp_path / "absent.toml")

    app = console({}, {})

    assert shows_the_pipeline(app)


def test_an_unreadable_secrets_file_keeps_the_console_closed(configured, secrets_files, tmp_path) -> None:
    broken = tmp_path / "secrets.toml"
    broken.write_text('[auth\nredirect_uri = "https://console.example.com/oauth2callback"\n')
    secrets_files(broken)

    app = console(ALICE, {})

    assert not shows_the_pipeline(app)
    assert any("could not be read" in e.value.replace("\\", "") for e in app.error), [e.value for e in app.error]
