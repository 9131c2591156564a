"""One typed, frozen settings object per pipeline profile, built once from environment variables and ``st.secrets``.

The names are a public contract (see the README): ``PIPELINE_*`` variables, or the same names in
lower case without the prefix in a ``[pipeline]`` table of ``.streamlit/secrets.toml``, describe the one
unnamed pipeline (profile ``default``); environment variables win over that table. A ``[pipelines.NAME]`` table
describes profile NAME with the same keys (plus ``aws_profile`` and ``production``), read from the table alone.
Listing and choosing profiles is services/core/profiles.py. AWS access itself uses boto3's standard chain.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from services.core.auth import SECRETS_SETTING, parse_allowlist
from services.core.errors import ConfigError

PREFIX = "PIPELINE_"
#: Without all three the console cannot operate a real pipeline; with none it starts the sandbox.
REQUIRED = ("PRESIGN_URL", "BUCKET", "CDN_URL")
#: a pipeline's own optional values (read by ``_build``)
PIPELINE_OPTIONAL = ("APP_ORIGINS", "DISTRIBUTION_ID", "LAMBDA_FUNCTION", "PRODUCTION")
#: the console's options, which apply to the sandbox too (read once, by ``load_options``)
CONSOLE_OPTIONS = ("ALLOW_WRITES", "CLIENT_CONTENT_TYPE", "CLIENT_PUT_HEADERS", "APP_READS_CROSS_ORIGIN")
OPTIONAL = PIPELINE_OPTIONAL + CONSOLE_OPTIONS
#: a ``[pipelines.NAME]`` table (and ``[pipeline]``) may name a profile of the AWS shared config for its clients
AWS_PROFILE_KEY = "aws_profile"
DEFAULT_CLIENT_CONTENT_TYPE = "application/{ext}"  # what the seed's web client sends
#: the sandbox's web app is the fixed one: it sends the type the function signs (image/png)
SANDBOX_CLIENT_CONTENT_TYPE = "{mime}"
#: the unnamed pipeline of the PIPELINE_* variables and ``[pipeline]``
DEFAULT_PROFILE = "default"
#: the embedded sandbox, always there
SANDBOX_PROFILE = "sandbox"
#: headers the web app's PUT sends beyond Content-Type: ((name, value), ...), names in lower case
PutHeaders = tuple[tuple[str, str], ...]
#: an HTTP field name (RFC 9110 token)
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
#: set by the client's HTTP stack or by their own settings, never by PIPELINE_CLIENT_PUT_HEADERS
_NOT_PUT_HEADERS = {"host", "content-type", "content-length", "transfer-encoding", "connection", "expect"}
#: a PUT header whose value is a secret (SSE-C's key): shown by name only
SECRET_PUT_HEADERS = frozenset({"x-amz-server-side-encryption-customer-key"})
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

    def s3_endpoint(self) -> str | None:
        """The endpoint S3 clients use: AWS_ENDPOINT_URL_S3 wins over AWS_ENDPOINT_URL (boto3's order)."""
        return self.s3_endpoint_url or self.endpoint_url


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
    #: what the web app's PUT sends besides Content-Type (PIPELINE_CLIENT_PUT_HEADERS); the seed's: nothing
    client_put_headers: PutHeaders = ()
    #: the web app reads images cross-origin (fetch, <img crossorigin>, canvas), so the CDN must answer CORS for
    #: each app origin (check cdn.cors); the seed's app shows them with plain <img>, which needs none
    app_reads_cross_origin: bool = False
    aws: AwsTarget = AwsTarget()
    sandbox: bool = False
    #: which profile this is (part of every cache key, so two profiles never share a cached result)
    profile: str = DEFAULT_PROFILE
    #: a production pipeline: shown in red on every page, and every write asks for the profile's name as well
    production: bool = False

    def cdn_base(self) -> str:
        return self.cdn_url.rstrip("/")

    def summary(self) -> dict[str, object]:
        """What the console is pointed at, safe to show and to print (no credentials)."""
        return {
            "mode": "sandbox" if self.sandbox else "configured",
            "profile": self.profile,
            "production": self.production,
            "presign_url": self.presign_url,
            "bucket": self.bucket,
            "cdn_url": self.cdn_url,
            "region": self.aws.region,
            "app_origins": list(self.app_origins),
            "distribution_id": self.distribution_id,
            "lambda_function": self.lambda_function,
            "allow_writes": self.allow_writes,
            "client_content_type": self.client_content_type,
            "client_put_headers": shown_put_headers(self.client_put_headers),
            "app_reads_cross_origin": self.app_reads_cross_origin,
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


def parse_bool(name: str, raw: str | None) -> bool:
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


def shown_put_headers(headers: PutHeaders) -> dict[str, str]:
    """The headers as they may be shown, printed and recorded: a secret's value (SSE-C's key) withheld."""
    return {name: "(not shown: a secret)" if name in SECRET_PUT_HEADERS else value for name, value in headers}


def parse_put_headers(raw: object) -> PutHeaders:
    """``PIPELINE_CLIENT_PUT_HEADERS``: a JSON object of header name -> value (or, in secrets.toml, a table), the
    headers the web app's PUT sends besides Content-Type. Raises ConfigError naming what is wrong."""
    name = f"{PREFIX}CLIENT_PUT_HEADERS"
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return ()
    example = '{"Cache-Control": "public, max-age=31536000, immutable", "x-amz-acl": "bucket-owner-full-control"}'
    doc: object = raw
    if isinstance(raw, str):
        try:
            doc = json.loads(raw)
        except ValueError as err:
            raise ConfigError(f"{name} is not a JSON object of header name to value; use e.g. {example}") from err
    if not isinstance(doc, Mapping):
        raise ConfigError(f"{name} is not a JSON object of header name to value; use e.g. {example}")
    headers: list[tuple[str, str]] = []
    for key, value in doc.items():
        header = str(key).strip().lower()
        if not _HEADER_NAME.match(header):
            raise ConfigError(f"{name}: {key!r} is not an HTTP header name")
        if header in _NOT_PUT_HEADERS:
            raise ConfigError(
                f"{name}: {header} is not set here (Content-Type: {PREFIX}CLIENT_CONTENT_TYPE; the others are the "
                "HTTP client's own); remove it"
            )
        if not isinstance(value, str) or any(c in value for c in "\r\n\0"):
            raise ConfigError(f"{name}: the value of {header} must be a one-line string")
        headers.append((header, value.strip()))
    return tuple(sorted(headers))


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
    client_put_headers: PutHeaders = ()
    app_reads_cross_origin: bool = False
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
        allow_writes=parse_bool("ALLOW_WRITES", _lookup("ALLOW_WRITES", env, table)),
        client_content_type=_optional_template(_lookup("CLIENT_CONTENT_TYPE", env, table)),
        client_put_headers=parse_put_headers(env.get(PREFIX + "CLIENT_PUT_HEADERS", table.get("client_put_headers"))),
        app_reads_cross_origin=parse_bool("APP_READS_CROSS_ORIGIN", _lookup("APP_READS_CROSS_ORIGIN", env, table)),
        allowed_emails=load_allowlist(env, table),
    )


def missing_required(env: Mapping[str, str], secrets: Mapping[str, object] | None = None) -> tuple[str, ...] | None:
    """The ``PIPELINE_*`` names of the required values not set; None when none is set (nothing configured)."""
    table = secrets or {}
    present = [name for name in REQUIRED if _lookup(name, env, table)]
    if not present:
        return None
    return tuple(PREFIX + name for name in REQUIRED if name not in present)


def load_settings(env: Mapping[str, str], secrets: Mapping[str, object] | None = None) -> Settings | None:
    """The unnamed pipeline (profile ``default``), or None when nothing is configured (the console then starts the
    sandbox).

    ``secrets`` is the ``[pipeline]`` table; environment variables win over it. Raises ConfigError naming exactly
    what is missing when only some of the required values are set, and what is wrong when a value is malformed.
    """
    table = secrets or {}
    aws = aws_target_from_env(env)
    if aws.profile is None and _lookup(AWS_PROFILE_KEY.upper(), {}, table):
        aws = replace(aws, profile=_lookup(AWS_PROFILE_KEY.upper(), {}, table))
    return _build(env, table, profile=DEFAULT_PROFILE, aws=aws, where="")


def load_table(name: str, table: Mapping[str, object], env: Mapping[str, str]) -> Settings:
    """Profile ``name`` from its ``[pipelines.NAME]`` table alone (no ``PIPELINE_*`` variable applies to it).

    Its clients use the AWS shared config's ``aws_profile`` when set, else boto3's chain; region and endpoint
    overrides come from the ``AWS_*`` variables as for every boto3 client. Raises ConfigError as ``load_settings``
    does, naming the table.
    """
    aws = aws_target_from_env(env)
    aws_profile = _lookup(AWS_PROFILE_KEY.upper(), {}, table)
    if aws_profile:
        aws = replace(aws, profile=aws_profile)
    where = f"[pipelines.{name}] of .streamlit/secrets.toml: "
    settings = _build({}, table, profile=name, aws=aws, where=where)
    if settings is None:
        raise ConfigError(
            f"{where}none of {', '.join(n.lower() for n in REQUIRED)} is set",
            missing=tuple(PREFIX + n for n in REQUIRED),
        )
    return settings


def _build(
    env: Mapping[str, str], table: Mapping[str, object], *, profile: str, aws: AwsTarget, where: str
) -> Settings | None:
    values = {name: _lookup(name, env, table) for name in REQUIRED + PIPELINE_OPTIONAL}
    missing = missing_required(env, table)
    if missing is None:
        return None
    if missing and where:
        keys = ", ".join(name.removeprefix(PREFIX).lower() for name in missing)
        raise ConfigError(
            f"{where}incomplete pipeline configuration: {keys} missing ({', '.join(missing)}; the table needs all of "
            f"{', '.join(n.lower() for n in REQUIRED)})",
            missing=missing,
        )
    if missing:
        raise ConfigError(
            f"incomplete pipeline configuration: {', '.join(missing)} missing "
            f"(set all of {', '.join(PREFIX + n for n in REQUIRED)}, or none to use the sandbox)",
            missing=missing,
        )
    origins = tuple(o.strip().rstrip("/") for o in (values["APP_ORIGINS"] or "").split(",") if o.strip())
    try:
        options = load_options(env, table)
        return Settings(
            presign_url=_check_http_url("PRESIGN_URL", values["PRESIGN_URL"] or ""),
            bucket=values["BUCKET"] or "",
            cdn_url=_check_http_url("CDN_URL", values["CDN_URL"] or ""),
            app_origins=origins,
            distribution_id=values["DISTRIBUTION_ID"],
            lambda_function=values["LAMBDA_FUNCTION"],
            allow_writes=options.allow_writes,
            client_content_type=options.client_content_type or DEFAULT_CLIENT_CONTENT_TYPE,
            client_put_headers=options.client_put_headers,
            app_reads_cross_origin=options.app_reads_cross_origin,
            aws=aws,
            profile=profile,
            production=parse_bool("PRODUCTION", values["PRODUCTION"]),
        )
    except ConfigError as err:
        if not where:
            raise
        raise ConfigError(f"{where}{err}", missing=err.missing) from err
