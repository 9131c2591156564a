"""Sign-in end to end: `streamlit run dashboard.py` with ``[auth]`` pointing at a real (test-only) OIDC provider
over HTTP, driven in Debian's chromium. Authlib inside Streamlit fetches the discovery document, exchanges the
code (PKCE), checks the RS256 ID token against the provider's JWKS; the console then judges the e-mail.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browsing import require_chromium, running_console
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, OidcProvider, running_provider

pytestmark = pytest.mark.browser

require_chromium()

ALLOWED = "alice@example.com,@example.org"
SIGN_IN_TIMEOUT = 60_000  # ms: the first allowed sign-in also starts the sandbox


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with running_provider() as running:
        yield running


@pytest.fixture(scope="module")
def secrets_file(provider: OidcProvider, tmp_path_factory) -> Path:
    """A secrets file of the test's own (the console reads it through --secrets.files; the repo is not touched)."""
    path = tmp_path_factory.mktemp("auth") / "secrets.toml"
    path.write_text(
        "[auth]\n"
        'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'  # Streamlit fills in its own port
        f'cookie_secret = "{secrets.token_urlsafe(32)}"\n'
        f'client_id = "{CLIENT_ID}"\n'
        f'client_secret = "{CLIENT_SECRET}"\n'
        f'server_metadata_url = "{provider.metadata_url}"\n'
    )
    return path


def start_console(secrets_file: Path):
    """The console as the README starts it, on its sandbox, with sign-in on and the allowlist in the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIPELINE_", "AWS_"))}
    env["PIPELINE_ALLOWED_EMAILS"] = ALLOWED
    return running_console(env, args=["--secrets.files", str(secrets_file)])


@pytest.fixture(scope="module")
def console_url(secrets_file: Path) -> Iterator[str]:
    with start_console(secrets_file) as url:
        yield url


def sign_in(page, provider: OidcProvider, email: str, **claims) -> None:
    provider.sign_in_as(email, **claims)
    before = provider.token_requests
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for(timeout=SIGN_IN_TIMEOUT)  # allowed or refused
    assert provider.token_requests == before + 1  # the console really exchanged a code with the provider


def auth_cookies(page) -> set[str]:
    return {cookie["name"] for cookie in page.context.cookies() if cookie["name"].startswith("_streamlit_user")}


def signed_out(page) -> None:
    """Wait until the console's logout route has cleared the identity cookies (after the Sign out click)."""
    for _ in range(100):
        if not auth_cookies(page):
            return
        page.wait_for_timeout(300)
    pytest.fail(f"identity cookies still set after signing out: {sorted(auth_cookies(page))}")


def shows_sign_in_prompt(page) -> None:
    page.get_by_role("button", name="Sign in").wait_for(timeout=30_000)
    assert page.get_by_text("Sandbox — local emulation").count() == 0
    assert page.get_by_role("link", name="Upload").count() == 0  # no menu of the console's pages


def test_opening_a_page_directly_on_a_fresh_server_asks_to_sign_in_first(provider, secrets_file, browser):
    with start_console(secrets_file) as url:  # fresh: Streamlit runs pages/upload.py itself, not dashboard.py
        page = browser.new_page()
        page.goto(f"{url}/upload", wait_until="networkidle")
        shows_sign_in_prompt(page)
        assert page.locator("input[type=file]").count() == 0
        assert {c["name"] for c in page.context.cookies()} >= {"_streamlit_xsrf"}  # XSRF protection is on

        sign_in(page, provider, "alice@example.com")
        page.goto(f"{url}/upload", wait_until="networkidle")
        page.locator("input[type=file]").wait_for(state="attached", timeout=SIGN_IN_TIMEOUT)
        page.close()


def test_an_allowed_email_reaches_the_pipeline_page_and_signing_out_ends_it(console_url, provider, browser):
    page = browser.new_page()
    page.goto(console_url, wait_until="networkidle")
    shows_sign_in_prompt(page)

    sign_in(page, provider, "Bob@Example.ORG")  # a domain entry, in another case

    page.get_by_role("heading", name="Image pipeline").wait_for(timeout=SIGN_IN_TIMEOUT)
    page.get_by_text("Signed in as bob@example.org").wait_for()
    page.get_by_text("Sandbox — local emulation").wait_for()
    assert auth_cookies(page)
    if os.environ.get("CONSOLE_SCREENSHOT_DIR"):
        page.screenshot(path=str(Path(os.environ["CONSOLE_SCREENSHOT_DIR"]) / "signed-in.png"), full_page=True)

    page.get_by_role("button", name="Sign out").click()
    signed_out(page)
    shows_sign_in_prompt(page)
    page.reload(wait_until="networkidle")
    shows_sign_in_prompt(page)
    page.close()


@pytest.mark.parametrize(
    ("email", "claims", "message"),
    [
        ("mallory@evil-example.org", {}, "mallory@evil-example.org is not on this console's allowlist"),
        ("alice@example.com.evil.org", {}, "alice@example.com.evil.org is not on this console's allowlist"),
        ("carol@example.org", {"email_verified": False}, "carol@example.org is not verified"),
    ],
)
def test_a_refused_email_sees_the_refusal_and_no_pipeline_data(console_url, provider, browser, email, claims, message):
    page = browser.new_page()
    page.goto(console_url, wait_until="networkidle")

    sign_in(page, provider, email, **claims)

    page.get_by_text(message).wait_for(timeout=30_000)
    assert auth_cookies(page)  # signed in as far as the provider is concerned, and still refused
    text = page.locator("body").inner_text()
    for shown_only_when_allowed in ("Image pipeline", "Sandbox", "Presign endpoint", "/presign", "Upload"):
        assert shown_only_when_allowed not in text
    page.goto(f"{console_url}/checks", wait_until="networkidle")
    page.get_by_text(message).wait_for(timeout=30_000)
    assert page.get_by_role("button", name="Run all checks").count() == 0

    page.get_by_role("button", name="Sign out").click()
    signed_out(page)
    shows_sign_in_prompt(page)
    page.close()
