"""services/core/redact.py: a presigned URL is a bearer credential; only its owner sees it whole.

The URLs are real ones: boto3 signs them offline with fake credentials (no network needed).
"""

from __future__ import annotations

import socket
from urllib.parse import parse_qs, quote, unquote, urlsplit

import boto3
import pytest
import requests
from botocore.config import Config
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from services.core import redact
from services.core.redact import REDACTED, redact_text, redact_url

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
# shaped like an STS session token: long, with / + = that get percent-encoded in the URL
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEJr//////////wEaDmFwLW5vcnRoZWFzdC0yIkcwRQIhAK+7Sampl3T0ken=="
BUCKET = "pipeline-bucket"
KEY = "3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b.png"


@pytest.fixture(autouse=True)
def _no_local_aws_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)


def presigned(
    *, token: str | None = None, version: str = "s3v4", endpoint: str | None = None, region: str = "ap-northeast-2"
) -> str:
    client = boto3.client(
        "s3",
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        aws_session_token=token,
        config=Config(signature_version=version, s3={"addressing_style": "path" if endpoint else "virtual"}),
    )
    return client.generate_presigned_url(
        "put_object", Params={"Bucket": BUCKET, "Key": KEY, "ContentType": "image/png"}, ExpiresIn=300, HttpMethod="PUT"
    )


def secrets_of(url: str) -> list[str]:
    """Every secret value in the URL, raw and as it appears percent-encoded."""
    query = parse_qs(urlsplit(url).query)
    values = [ACCESS_KEY]
    for name in ("X-Amz-Signature", "Signature", "X-Amz-Security-Token", "x-amz-security-token"):
        values += query.get(name, [])
    return [form for value in values for form in {value, quote(value, safe=""), quote(value, safe="/")}]


def assert_no_secrets(text: str, url: str) -> None:
    for secret in secrets_of(url):
        assert secret not in text, secret


# ---------------------------------------------------------------- redact_url


@pytest.mark.parametrize("token", [None, SESSION_TOKEN], ids=["long-term-key", "session-token"])
def test_sigv4_url_loses_signature_key_and_token_but_keeps_the_rest(token: str | None) -> None:
    url = presigned(token=token)
    assert "X-Amz-Signature=" in url and ACCESS_KEY in url  # the test's premise

    shown = redact_url(url)

    assert_no_secrets(shown, url)
    original, redacted = urlsplit(url), urlsplit(shown)
    assert (redacted.scheme, redacted.netloc, redacted.path) == (original.scheme, original.netloc, original.path)
    assert redacted.netloc == f"{BUCKET}.s3.ap-northeast-2.amazonaws.com"
    params = parse_qs(redacted.query)
    assert params["X-Amz-Signature"] == [REDACTED]
    scope = parse_qs(original.query)["X-Amz-Credential"][0].split("/", 1)[1]
    assert params["X-Amz-Credential"] == [f"{REDACTED}/{scope}"]  # the key id goes; the scope (date/region) stays
    assert scope.endswith("/ap-northeast-2/s3/aws4_request")
    assert params["X-Amz-Expires"] == ["300"]
    for kept in ("X-Amz-Algorithm", "X-Amz-Date", "X-Amz-SignedHeaders"):
        assert params[kept] == parse_qs(original.query)[kept]
    if token:
        assert params["X-Amz-Security-Token"] == [REDACTED]
        assert "IQoJb3JpZ2luX2VjEJr" not in shown


def test_sigv2_url_loses_access_key_signature_and_token() -> None:
    url = presigned(token=SESSION_TOKEN, version="s3", region="us-east-1")
    assert "AWSAccessKeyId=" in url and "Signature=" in url

    shown = redact_url(url)

    assert_no_secrets(shown, url)
    params = parse_qs(urlsplit(shown).query)
    assert params["AWSAccessKeyId"] == [REDACTED]
    assert params["Signature"] == [REDACTED]
    assert params["Expires"] == parse_qs(urlsplit(url).query)["Expires"]


def test_redacting_twice_changes_nothing_more() -> None:
    once = redact_url(presigned(token=SESSION_TOKEN))

    assert redact_url(once) == once


@pytest.mark.parametrize(
    "url",
    [
        f"https://d111111abcdef8.cloudfront.net/{KEY}",
        "https://example.com/",
        "http://127.0.0.1:5000/pipeline-bucket",
        "https://abc123.execute-api.ap-northeast-2.amazonaws.com/presign?stage=prod&x-extension=png",
    ],
)
def test_url_without_secrets_is_unchanged(url: str) -> None:
    assert redact_url(url) == url


@pytest.mark.parametrize(
    "name", ["x-amz-signature", "X-AMZ-SIGNATURE", "X-Amz-Credential", "signature", "x-amz-security-token"]
)
def test_parameter_names_match_whatever_their_case(name: str) -> None:
    shown = redact_url(f"https://{BUCKET}.s3.amazonaws.com/{KEY}?{name}=s3cr3tvalue&X-Amz-Expires=60")

    assert "s3cr3tvalue" not in shown
    assert "X-Amz-Expires=60" in shown


@pytest.mark.parametrize("url", ["http://[::1", "https://[not-an-address]/k.png?X-Amz-Signature=s3cr3tvalue"])
def test_unparseable_url_is_replaced_not_echoed(url: str) -> None:
    shown = redact_url(url)

    assert shown == "(unparseable URL)"


@settings(max_examples=200, deadline=None)
@given(secret=st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), min_size=12, max_size=60))
def test_any_signature_value_is_removed(secret: str) -> None:
    url = f"https://{BUCKET}.s3.amazonaws.com/{KEY}?X-Amz-Expires=300&X-Amz-Signature={quote(secret, safe='')}"
    kept = f"https://{BUCKET}.s3.amazonaws.com/{KEY}?X-Amz-Expires=300&X-Amz-Signature={REDACTED}"
    assume(quote(secret, safe="") not in kept)  # a "secret" that is part of what legitimately stays proves nothing

    shown = redact_url(url)

    assert quote(secret, safe="") not in shown
    assert parse_qs(urlsplit(shown).query)["X-Amz-Signature"] == [REDACTED]


# ---------------------------------------------------------------- redact_text


def test_url_inside_a_sentence_is_redacted_and_the_sentence_kept() -> None:
    url = presigned(token=SESSION_TOKEN)
    text = f"S3 refused the PUT to {url} with HTTP 403 SignatureDoesNotMatch; retrying."

    shown = redact_text(text)

    assert_no_secrets(shown, url)
    assert shown.startswith(
        "S3 refused the PUT to https://pipeline-bucket.s3.ap-northeast-2.amazonaws.com/" + KEY + "?"
    )
    assert shown.endswith(" with HTTP 403 SignatureDoesNotMatch; retrying.")
    assert "X-Amz-Expires=300" in shown


@pytest.mark.parametrize("template", ["'{}'", '"{}"', "<{}>", "({} )", "url={}\nnext line"])
def test_url_between_delimiters_is_redacted_and_delimiters_kept(template: str) -> None:
    url = presigned()

    shown = redact_text(template.format(url))

    assert_no_secrets(shown, url)
    before, after = template.split("{}")
    assert shown.startswith(before) and shown.endswith(after)


def test_every_url_in_a_text_is_redacted() -> None:
    first, second = presigned(), presigned(token=SESSION_TOKEN)

    shown = redact_text(f"first {first}\nsecond {second}\n")

    assert_no_secrets(shown, first)
    assert_no_secrets(shown, second)
    assert shown.count(REDACTED) == 2 + 3


@pytest.mark.parametrize(
    "text",
    ["", "no links here", "see https://d111111abcdef8.cloudfront.net/a.png for the image", "HTTP 403 AccessDenied"],
)
def test_text_without_secrets_is_unchanged(text: str) -> None:
    assert redact_text(text) == text


def test_unparseable_url_inside_text_does_not_leak() -> None:
    shown = redact_text("PUT https://[bad-host]/k.png?X-Amz-Signature=s3cr3tvalue failed")

    assert "s3cr3tvalue" not in shown
    assert shown.startswith("PUT ") and shown.endswith(" failed")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_requests_connection_error_message_is_redacted() -> None:
    url = presigned(token=SESSION_TOKEN, endpoint=f"http://127.0.0.1:{_closed_port()}")
    with pytest.raises(requests.ConnectionError) as caught:
        requests.put(url, data=b"x", headers={"Content-Type": "image/png"}, timeout=5)
    message = str(caught.value)
    assert "X-Amz-Signature=" in message  # the premise: requests quotes the URL

    assert_no_secrets(redact_text(message), url)


def _every_pattern(text: str) -> str:
    """redact_text without its shortcuts: all three substitutions, always."""
    text = redact._URL_IN_TEXT.sub(lambda match: redact_url(match.group(0)), text)
    text = redact._PARAM_IN_TEXT.sub(
        lambda m: f"{m.group(1)}={redact._redacted_value(m.group(1), unquote(m.group(2)))}", text
    )
    return redact._XML_SECRETS.sub(r"\1REDACTED\3", text)


PIECES = ["https://", "http://", "://", "b.s3.amazonaws.com/k.png", "?", "&", "=", "X-Amz-Signature", "x-amz-credential",
          "AKIA/20261126/us-east-1/s3/aws4_request", "Signature", "<SignatureProvided>", "</SignatureProvided>", "<", "/",
          ">", "abc", " ", "%2F", "\n", "é"]  # fmt: skip


@given(st.lists(st.sampled_from(PIECES), max_size=12).map("".join))
@settings(max_examples=400, deadline=None)
def test_the_shortcuts_never_change_what_is_redacted(text: str) -> None:
    """redact_text skips a pattern when its marker ("://", "=", "</") is absent; the result must be the same."""
    assert redact_text(text) == _every_pattern(text)
