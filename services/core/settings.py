"""One typed settings object, built once from environment variables and ``st.secrets``.

The names are a public contract (see the README): ``PIPELINE_*`` variables, or the same names in
lower case without the prefix in a ``[pipeline]`` table of ``.streamlit/secrets.toml``. Environment
variables win over the secrets file. AWS access itself uses boto3's standard chain and variables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from services.core.auth import SECRETS_SETTING, parse_allowlist
from services.core.errors import ConfigError

PREFIX = "PIPELINE_"
#: Without all three the console cannot operate a real pipeline; with none it starts the sandbox.
REQUIRED = ("PRESIGN_URL", "BUCKET", "CDN_URL")
OPTIONAL = (
    "APP_ORIGINS",
    "DISTRIBUTION_ID",
    "LAMBDA_FUNCTION",
    "ALLOW_WRITES",
    "CLIENT_CONTENT_TYPE",
)
DEFAULT_CLIENT_CONTENT_TYPE = "application/{ext}"  # what the seed's web client sends
#: the sandbox's web app is the fixed one: it sends the type the function signs (image/png)
SANDBOX_CLIENT_CONTENT_TYPE = "{mime}"
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class AwsTarget:
    """Where the console's boto3 clients go. Empty fields mean boto3's own defaults and variables."""

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    s3_endpoint_url: str | None = None
    #: only the sandbox sets these (its dummy credentials); real pipelines use boto3's chain
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Settings:
    presign_url: str
    bucket: str
    cdn_url: str
    app_origins: tuple[str, ...] = ()
    distribution_id: str | None = None
    lambda_function: str | None = None
    allow_writes: bool = False
    client_content_type: str = DEFAULT_CLIENT_CONTENT_TYPE
    aws: AwsTarget = AwsTarget()
    sandbox: bool = False

    def cdn_base(self) -> str:
        return self.cdn_url.rstrip("/")

    def summary(self) -> dict[str, object]:
        """What the console is pointed at, safe to show and to print (no credentials)."""
        return {
            "mode": "sandbox" if self.sandbox else "configured",
            "presign_url": self.presign_url,
            "bucket": self.bucket,
            "cdn_url": self.cdn_url,
            "region": self.aws.region,
            "app_origins": list(self.app_origins),
            "distribution_id": self.distribution_id,
            "lambda_function": self.lambda_function,
            "allow_writes": self.allow_writes,
            "client_content_type": self.client_content_type,
        }


def _lookup(name: str, env: Mapping[str, str], secrets: Mapping[str, object]) -> str | None:
    value = env.get(PREFIX + name)
    if value is None:
        raw = secrets.get(name.lower())
        value = None if raw is None else str(raw)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _parse_bool(name: str, raw: str | None) -> bool:
    word = (raw or "").strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(f"{PREFIX}{name}={raw!r} is not a yes/no value; use true or false")


def _check_http_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"{PREFIX}{name}={value!r} is not an http(s) URL, e.g. https://abc123.execute-api.eu-west-1.amazonaws.com/presign"
        )
    return value


def _check_template(value: str) -> str:
    try:
        value.format(ext="png", mime="image/png")
    except (KeyError, IndexError, ValueError, AttributeError, TypeError) as err:
        raise ConfigError(
            f"{PREFIX}CLIENT_CONTENT_TYPE={value!r} is not a valid template; use {{ext}} and {{mime}} only, "
            "e.g. application/{ext} or {mime}"
        ) from err
    return value


def _optional_template(value: str | None) -> str | None:
    return None if value is None else _check_template(value)


def aws_target_from_env(env: Mapping[str, str]) -> AwsTarget:
    return AwsTarget(
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
        profile=env.get("AWS_PROFILE") or None,
        endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
        s3_endpoint_url=env.get("AWS_ENDPOINT_URL_S3") or None,
    )


@dataclass(frozen=True)
class ConsoleOptions:
    """The settings that apply to the sandbox too."""

    allow_writes: bool = False
    client_content_type: str | None = None  # None: the mode's default (seed's type on AWS, {mime} in the sandbox)
    #: who may use the console when sign-in ([auth]) is on: addresses and @domains, normalised (services/core/auth.py)
    allowed_emails: tuple[str, ...] = ()


def load_allowlist(env: Mapping[str, str], secrets: Mapping[str, object] | None = None) -> tuple[str, ...]:
    """``PIPELINE_ALLOWED_EMAILS`` (comma-separated), else ``allowed_emails`` of ``[pipeline]`` (a list or a string).

    Read on its own as well, because the sign-in gate needs it before anything else is validated. Raises
    ConfigError, naming where the bad entry came from, for anything that is not an address or ``@domain``.
    """
    name = PREFIX + "ALLOWED_EMAILS"
    if name in env:  # as for every setting, a set variable wins, even a blank one
        return parse_allowlist(env[name], source=name)
    return parse_allowlist((secrets or {}).get("allowed_emails"), source=SECRETS_SETTING)


def load_options(env: Mapping[str, str], secrets: Mapping[str, object] | None = None) -> ConsoleOptions:
    table = secrets or {}
    return ConsoleOptions(
        allow_writes=_parse_bool("ALLOW_WRITES", _lookup("ALLOW_WRITES", env, table)),
        client_content_type=_optional_template(_lookup("CLIENT_CONTENT_TYPE", env, table)),
        allowed_emails=load_allowlist(env, table),
    )


def load_settings(env: Mapping[str, str], secrets: Mapping[str, object] | None = None) -> Settings | None:
    """The configured pipeline, or None when nothing is configured (the console then starts the sandbox).

    Raises ConfigError naming exactly what is missing when only some of the required values are set,
    and what is wrong when a value is malformed.
    """
    table = secrets or {}
    values = {name: _lookup(name, env, table) for name in REQUIRED + OPTIONAL}
    present = [name for name in REQUIRED if values[name]]
    if not present:
        return None
    missing = tuple(PREFIX + name for name in REQUIRED if not values[name])
    if missing:
        raise ConfigError(
            f"incomplete pipeline configuration: {', '.join(missing)} missing "
            f"(set all of {', '.join(PREFIX + n for n in REQUIRED)}, or none to use the sandbox)",
            missing=missing,
        )
    origins = tuple(o.strip().rstrip("/") for o in (values["APP_ORIGINS"] or "").split(",") if o.strip())
    options = load_options(env, secrets)
    return Settings(
        presign_url=_check_http_url("PRESIGN_URL", values["PRESIGN_URL"] or ""),
        bucket=values["BUCKET"] or "",
        cdn_url=_check_http_url("CDN_URL", values["CDN_URL"] or ""),
        app_origins=origins,
        distribution_id=values["DISTRIBUTION_ID"],
        lambda_function=values["LAMBDA_FUNCTION"],
        allow_writes=options.allow_writes,
        client_content_type=options.client_content_type or DEFAULT_CLIENT_CONTENT_TYPE,
        aws=aws_target_from_env(env),
    )
