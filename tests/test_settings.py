"""services/core/settings.py: what the console is pointed at, from PIPELINE_* variables and ``[pipeline]`` secrets.

Table-driven over (env, secrets) mappings, as an operator would write them.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.core.errors import ConfigError
from services.core.settings import (
    AwsTarget,
    ConsoleOptions,
    Settings,
    aws_target_from_env,
    load_options,
    load_settings,
)

PRESIGN = "https://abc123.execute-api.ap-northeast-2.amazonaws.com/presign"
CDN = "https://d111111abcdef8.cloudfront.net"
BUCKET = "image-upload-bucket"
REQUIRED_ENV = {"PIPELINE_PRESIGN_URL": PRESIGN, "PIPELINE_BUCKET": BUCKET, "PIPELINE_CDN_URL": CDN}
REQUIRED_SECRETS = {"presign_url": PRESIGN, "bucket": BUCKET, "cdn_url": CDN}


def with_required(**extra: str) -> dict[str, str]:
    return {**REQUIRED_ENV, **extra}


# ---------------------------------------------------------------- nothing configured: the sandbox


@pytest.mark.parametrize(
    ("env", "secrets"),
    [
        ({}, None),
        ({}, {}),
        ({"PIPELINE_PRESIGN_URL": "", "PIPELINE_BUCKET": "  ", "PIPELINE_CDN_URL": "\t"}, None),
        (
            {
                "PIPELINE_ALLOW_WRITES": "true",
                "PIPELINE_APP_ORIGINS": "http://localhost:5173",
                "AWS_REGION": "eu-west-1",
            },
            None,
        ),
        ({"PRESIGN_URL": PRESIGN, "BUCKET": BUCKET, "CDN_URL": CDN}, None),  # unprefixed env names do not count
        ({}, {"PIPELINE_PRESIGN_URL": PRESIGN}),  # prefixed names in secrets do not count either
    ],
    ids=["empty", "empty-secrets", "blank-values", "only-optional", "env-without-prefix", "secrets-with-prefix"],
)
def test_nothing_required_set_means_sandbox(env: dict[str, str], secrets) -> None:
    assert load_settings(env, secrets) is None


# ---------------------------------------------------------------- a complete configuration


def test_all_required_from_env_gives_settings_with_defaults() -> None:
    settings = load_settings(REQUIRED_ENV)

    assert settings == Settings(presign_url=PRESIGN, bucket=BUCKET, cdn_url=CDN)
    assert settings.allow_writes is False
    assert settings.client_content_type == "application/{ext}"
    assert settings.app_origins == ()
    assert settings.sandbox is False


def test_all_required_from_secrets_table() -> None:
    secrets = {
        **REQUIRED_SECRETS,
        "distribution_id": "E2QWRUHAPOMQZL",
        "lambda_function": "presign",
        "allow_writes": True,
    }

    settings = load_settings({}, secrets)

    assert settings is not None
    assert (settings.presign_url, settings.bucket, settings.cdn_url) == (PRESIGN, BUCKET, CDN)
    assert settings.distribution_id == "E2QWRUHAPOMQZL"
    assert settings.lambda_function == "presign"
    assert settings.allow_writes is True  # a TOML boolean


def test_values_are_trimmed() -> None:
    settings = load_settings(
        {"PIPELINE_PRESIGN_URL": f"  {PRESIGN}\n", "PIPELINE_BUCKET": f" {BUCKET} ", "PIPELINE_CDN_URL": f"{CDN} "}
    )

    assert (settings.presign_url, settings.bucket, settings.cdn_url) == (PRESIGN, BUCKET, CDN)


def test_cdn_base_drops_trailing_slash() -> None:
    assert load_settings(with_required(PIPELINE_CDN_URL=CDN + "/")).cdn_base() == CDN


@pytest.mark.parametrize(
    ("raw", "origins"),
    [
        ("http://localhost:5173", ("http://localhost:5173",)),
        ("http://localhost:5173, https://app.example.com/", ("http://localhost:5173", "https://app.example.com")),
        (
            " http://localhost:3000/ ,,  https://app.example.com// , ",
            ("http://localhost:3000", "https://app.example.com"),
        ),
        ("", ()),
        (" , ", ()),
    ],
)
def test_app_origins_are_split_and_normalised(raw: str, origins: tuple[str, ...]) -> None:
    assert load_settings(with_required(PIPELINE_APP_ORIGINS=raw)).app_origins == origins


def test_app_origins_from_secrets() -> None:
    settings = load_settings(
        {}, {**REQUIRED_SECRETS, "app_origins": "http://localhost:5173/, http://your-service-address.com"}
    )

    assert settings.app_origins == ("http://localhost:5173", "http://your-service-address.com")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("yes", True),
        ("Yes", True),
        ("1", True),
        ("on", True),
        (" on ", True),
        ("false", False),
        ("FALSE", False),
        ("no", False),
        ("0", False),
        ("off", False),
        ("", False),
        ("  ", False),
    ],
)
def test_allow_writes_words(raw: str, expected: bool) -> None:
    assert load_settings(with_required(PIPELINE_ALLOW_WRITES=raw)).allow_writes is expected
    assert load_options({"PIPELINE_ALLOW_WRITES": raw}).allow_writes is expected


@pytest.mark.parametrize("secret", [True, False, 1, 0, "yes", "off"])
def test_allow_writes_from_secrets_accepts_toml_types(secret: object) -> None:
    expected = secret in (True, 1, "yes")

    assert load_settings({}, {**REQUIRED_SECRETS, "allow_writes": secret}).allow_writes is expected


@pytest.mark.parametrize("raw", ["maybe", "tru", "2", "enabled", "y e s"])
def test_allow_writes_bad_word_is_a_config_error(raw: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(with_required(PIPELINE_ALLOW_WRITES=raw))

    assert "PIPELINE_ALLOW_WRITES" in str(caught.value)
    assert raw in str(caught.value)
    with pytest.raises(ConfigError):
        load_options({"PIPELINE_ALLOW_WRITES": raw})


@pytest.mark.parametrize(
    "template",
    ["application/{ext}", "{mime}", "image/{ext}", "image/{ext}; charset=binary", "application/octet-stream"],
)
def test_client_content_type_template_is_accepted(template: str) -> None:
    assert load_settings(with_required(PIPELINE_CLIENT_CONTENT_TYPE=template)).client_content_type == template
    assert load_options({}, {"client_content_type": template}).client_content_type == template


@pytest.mark.parametrize("template", ["{bogus}", "image/{0}", "image/{", "image/{ext", "{mime!x}", "{ext:d}", "{}"])
def test_client_content_type_bad_template_is_a_config_error(template: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(with_required(PIPELINE_CLIENT_CONTENT_TYPE=template))

    assert "PIPELINE_CLIENT_CONTENT_TYPE" in str(caught.value)
    assert "{ext}" in str(caught.value)  # says what would be valid
    with pytest.raises(ConfigError):
        load_options({"PIPELINE_CLIENT_CONTENT_TYPE": template})


def test_client_content_type_attribute_lookup_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        load_options({"PIPELINE_CLIENT_CONTENT_TYPE": "image/{ext.bogus}"})


# ---------------------------------------------------------------- env wins over secrets


@pytest.mark.parametrize(
    ("env", "secrets", "field", "expected"),
    [
        ({"PIPELINE_BUCKET": "env-bucket"}, {"bucket": "secret-bucket"}, "bucket", "env-bucket"),
        ({"PIPELINE_ALLOW_WRITES": "false"}, {"allow_writes": True}, "allow_writes", False),
        ({"PIPELINE_ALLOW_WRITES": "yes"}, {"allow_writes": False}, "allow_writes", True),
        (
            {"PIPELINE_CLIENT_CONTENT_TYPE": "{mime}"},
            {"client_content_type": "application/{ext}"},
            "client_content_type",
            "{mime}",
        ),
        ({"PIPELINE_CDN_URL": "https://cdn.example.com"}, {}, "cdn_url", "https://cdn.example.com"),
        ({}, {"distribution_id": "E123"}, "distribution_id", "E123"),
    ],
)
def test_env_wins_over_secrets(env: dict[str, str], secrets: dict[str, object], field: str, expected: object) -> None:
    settings = load_settings(env, {**REQUIRED_SECRETS, **secrets})

    assert getattr(settings, field) == expected


def test_required_values_may_be_split_between_env_and_secrets() -> None:
    settings = load_settings({"PIPELINE_PRESIGN_URL": PRESIGN}, {"bucket": BUCKET, "cdn_url": CDN})

    assert (settings.presign_url, settings.bucket, settings.cdn_url) == (PRESIGN, BUCKET, CDN)


# ---------------------------------------------------------------- partial and malformed configuration


@pytest.mark.parametrize(
    ("env", "secrets", "missing"),
    [
        ({"PIPELINE_PRESIGN_URL": PRESIGN}, None, ("PIPELINE_BUCKET", "PIPELINE_CDN_URL")),
        ({"PIPELINE_BUCKET": BUCKET}, None, ("PIPELINE_PRESIGN_URL", "PIPELINE_CDN_URL")),
        ({"PIPELINE_CDN_URL": CDN}, None, ("PIPELINE_PRESIGN_URL", "PIPELINE_BUCKET")),
        ({"PIPELINE_PRESIGN_URL": PRESIGN, "PIPELINE_BUCKET": BUCKET}, None, ("PIPELINE_CDN_URL",)),
        ({"PIPELINE_BUCKET": BUCKET, "PIPELINE_CDN_URL": CDN}, None, ("PIPELINE_PRESIGN_URL",)),
        ({"PIPELINE_PRESIGN_URL": PRESIGN, "PIPELINE_CDN_URL": "  "}, None, ("PIPELINE_BUCKET", "PIPELINE_CDN_URL")),
        ({}, {"bucket": BUCKET}, ("PIPELINE_PRESIGN_URL", "PIPELINE_CDN_URL")),
        ({"PIPELINE_PRESIGN_URL": PRESIGN}, {"cdn_url": CDN}, ("PIPELINE_BUCKET",)),
    ],
)
def test_partial_configuration_names_exactly_what_is_missing(env, secrets, missing: tuple[str, ...]) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env, secrets)

    assert set(caught.value.missing) == set(missing)
    assert len(caught.value.missing) == len(missing)
    message = str(caught.value)
    head = message.split("(", 1)[0]  # the part before the "set all of ..." hint
    for name in ("PIPELINE_PRESIGN_URL", "PIPELINE_BUCKET", "PIPELINE_CDN_URL"):
        assert (name in head) is (name in missing), (name, message)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PIPELINE_PRESIGN_URL", "abc123.execute-api.amazonaws.com/presign"),
        ("PIPELINE_PRESIGN_URL", "ftp://abc123.execute-api.amazonaws.com/presign"),
        ("PIPELINE_PRESIGN_URL", "https://"),
        ("PIPELINE_PRESIGN_URL", "s3://bucket/key"),
        ("PIPELINE_CDN_URL", "d111111abcdef8.cloudfront.net"),
        ("PIPELINE_CDN_URL", "file:///etc/passwd"),
        ("PIPELINE_CDN_URL", "javascript:alert(1)"),
    ],
)
def test_non_http_url_is_a_config_error_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(with_required(**{name: value}))

    assert name in str(caught.value)
    assert value in str(caught.value)
    assert caught.value.missing == ()


@pytest.mark.parametrize("url", ["http://localhost:8080/presign", "https://example.com", "HTTPS://EXAMPLE.COM/p"])
def test_http_and_https_urls_are_accepted(url: str) -> None:
    assert load_settings(with_required(PIPELINE_PRESIGN_URL=url)).presign_url == url


# ---------------------------------------------------------------- options (apply to the sandbox too)


@pytest.mark.parametrize(
    ("env", "secrets", "expected"),
    [
        ({}, None, ConsoleOptions(allow_writes=False, client_content_type=None)),  # the mode picks the default
        ({"PIPELINE_ALLOW_WRITES": "on"}, None, ConsoleOptions(allow_writes=True)),
        ({}, {"allow_writes": "yes", "client_content_type": "{mime}"}, ConsoleOptions(True, "{mime}")),
        (
            {"PIPELINE_CLIENT_CONTENT_TYPE": "image/{ext}"},
            {"client_content_type": "{mime}"},
            ConsoleOptions(False, "image/{ext}"),
        ),
        ({"PIPELINE_CLIENT_CONTENT_TYPE": "  "}, None, ConsoleOptions(False, None)),
    ],
)
def test_load_options(env: dict[str, str], secrets, expected: ConsoleOptions) -> None:
    assert load_options(env, secrets) == expected


def test_load_options_does_not_need_the_required_values() -> None:
    # the sandbox path: nothing required is set, options still validated
    assert load_settings({"PIPELINE_ALLOW_WRITES": "yes"}) is None
    assert load_options({"PIPELINE_ALLOW_WRITES": "yes"}).allow_writes is True


# ---------------------------------------------------------------- where the AWS clients go


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, AwsTarget()),
        ({"AWS_REGION": "ap-northeast-2"}, AwsTarget(region="ap-northeast-2")),
        ({"AWS_DEFAULT_REGION": "eu-west-1"}, AwsTarget(region="eu-west-1")),
        ({"AWS_REGION": "ap-northeast-2", "AWS_DEFAULT_REGION": "eu-west-1"}, AwsTarget(region="ap-northeast-2")),
        ({"AWS_REGION": "", "AWS_DEFAULT_REGION": "eu-west-1"}, AwsTarget(region="eu-west-1")),
        ({"AWS_PROFILE": "ops"}, AwsTarget(profile="ops")),
        ({"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"}, AwsTarget(endpoint_url="http://127.0.0.1:5000")),
        ({"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9000"}, AwsTarget(s3_endpoint_url="http://127.0.0.1:9000")),
        ({"AWS_PROFILE": "", "AWS_ENDPOINT_URL": ""}, AwsTarget()),
    ],
)
def test_aws_target_from_env(env: dict[str, str], expected: AwsTarget) -> None:
    assert aws_target_from_env(env) == expected
    assert load_settings({**REQUIRED_ENV, **env}).aws == expected


def test_aws_credentials_in_env_are_not_copied_into_settings() -> None:
    env = with_required(
        AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE", AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    )

    aws = load_settings(env).aws

    assert aws.access_key_id is None
    assert aws.secret_access_key is None


# ---------------------------------------------------------------- what may be shown


def test_summary_shows_the_target_but_no_credentials() -> None:
    settings = replace(
        load_settings(with_required(PIPELINE_APP_ORIGINS="http://localhost:5173", AWS_REGION="ap-northeast-2")),
        aws=AwsTarget(
            region="ap-northeast-2", access_key_id="AKIAIOSFODNN7EXAMPLE", secret_access_key="wJalrXUtnFEMI/K7MDENG"
        ),
    )

    summary = settings.summary()

    assert summary["mode"] == "configured"
    assert (summary["presign_url"], summary["bucket"], summary["cdn_url"]) == (PRESIGN, BUCKET, CDN)
    assert summary["region"] == "ap-northeast-2"
    assert summary["app_origins"] == ["http://localhost:5173"]
    text = repr(summary)
    for secret in ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG"):
        assert secret not in text
        assert secret not in repr(settings)  # printing the settings object is safe too
    assert not any("key" in name or "secret" in name or "token" in name for name in summary)


def test_summary_of_sandbox_says_so() -> None:
    settings = Settings(presign_url=PRESIGN, bucket=BUCKET, cdn_url=CDN, sandbox=True)

    assert settings.summary()["mode"] == "sandbox"
