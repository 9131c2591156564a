"""Pipeline profiles (services/core/profiles.py): the unnamed pipeline, ``[pipelines.NAME]`` tables and the sandbox;
what each lacks; which one a run operates; and the CLI's ``--profile`` / ``profiles`` over a real sandbox."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from services.core.errors import ConfigError
from services.core.profiles import UnknownProfile, load_profiles, read_secrets_files
from services.core.settings import SANDBOX_PROFILE, AwsTarget
from services.sandbox import Sandbox, layout
from tests.support import cli
from tests.test_checks_page_apply import bucket_policy

PRESIGN = "https://abc123.execute-api.ap-northeast-2.amazonaws.com/presign"
CDN = "https://d111111abcdef8.cloudfront.net"
ENV = {"PIPELINE_PRESIGN_URL": PRESIGN, "PIPELINE_BUCKET": "env-bucket", "PIPELINE_CDN_URL": CDN}


def table(bucket: str, **extra: object) -> dict[str, object]:
    return {"presign_url": PRESIGN, "bucket": bucket, "cdn_url": CDN, **extra}


def named(**tables: object) -> dict[str, object]:
    return {"pipelines": tables}


# ---------------------------------------------------------------- which profiles exist, and the initial one


@pytest.mark.parametrize(
    ("env", "secrets", "names", "initial"),
    [
        ({}, None, ("sandbox",), "sandbox"),
        (ENV, None, ("default", "sandbox"), "default"),
        ({}, {"pipeline": table("b")}, ("default", "sandbox"), "default"),
        ({"PIPELINE_BUCKET": "half"}, None, ("default", "sandbox"), "default"),  # partial: listed, with what it lacks
        ({}, named(staging=table("s"), prod=table("p")), ("staging", "prod", "sandbox"), "sandbox"),
        (ENV, named(prod=table("p")), ("default", "prod", "sandbox"), "default"),
        ({"PIPELINE_PROFILE": "prod"}, named(prod=table("p")), ("prod", "sandbox"), "prod"),
        ({"PIPELINE_PROFILE": "sandbox", **ENV}, None, ("default", "sandbox"), "sandbox"),
    ],
    ids=[
        "nothing",
        "env",
        "pipeline-table",
        "partial",
        "named-only",
        "env-and-named",
        "variable-picks",
        "pick-sandbox",
    ],
)
def test_profiles_listed_and_the_initial_choice(env, secrets, names: tuple[str, ...], initial: str) -> None:
    profiles = load_profiles(env, secrets)

    assert profiles.names() == names
    assert profiles.initial == initial
    assert profiles.choose().name == initial


def test_a_named_table_is_read_alone_with_its_aws_profile_and_production_flag() -> None:
    env = {**ENV, "PIPELINE_ALLOW_WRITES": "true", "AWS_REGION": "eu-west-1", "AWS_PROFILE": "everyday"}
    secrets = named(prod=table("prod-bucket", aws_profile="prod-admin", production=True, distribution_id="E1"))

    prod = load_profiles(env, secrets).get("prod").settings()
    default = load_profiles(env, secrets).get("default").settings()

    assert (prod.profile, prod.bucket, prod.production, prod.distribution_id) == ("prod", "prod-bucket", True, "E1")
    assert prod.allow_writes is False  # PIPELINE_ALLOW_WRITES is the unnamed pipeline's, not every profile's
    assert prod.aws == AwsTarget(region="eu-west-1", profile="prod-admin")
    assert (default.profile, default.bucket, default.production, default.allow_writes) == (
        "default",
        "env-bucket",
        False,
        True,
    )
    assert default.aws.profile == "everyday"


def test_the_unnamed_pipeline_may_be_production_too() -> None:
    assert load_profiles({**ENV, "PIPELINE_PRODUCTION": "yes"}).get("default").production is True
    assert load_profiles({}, {"pipeline": table("b", production=True)}).choose().settings().production is True


def test_same_values_under_two_names_are_two_different_settings() -> None:
    # Settings are the pages' cache keys: two profiles must never share a cached listing or client
    profiles = load_profiles({}, named(one=table("same"), two=table("same")))

    one, two = profiles.get("one").settings(), profiles.get("two").settings()

    assert one != two and hash(one) != hash(two)
    assert (one.bucket, one.presign_url) == (two.bucket, two.presign_url)


# ---------------------------------------------------------------- what each lacks


@pytest.mark.parametrize(
    ("pipeline", "missing"),
    [
        ({"bucket": "b"}, ("PIPELINE_PRESIGN_URL", "PIPELINE_CDN_URL")),
        ({"presign_url": PRESIGN, "bucket": "b"}, ("PIPELINE_CDN_URL",)),
        ({"cdn_url": CDN, "production": True}, ("PIPELINE_PRESIGN_URL", "PIPELINE_BUCKET")),
        ({"production": True}, ("PIPELINE_PRESIGN_URL", "PIPELINE_BUCKET", "PIPELINE_CDN_URL")),
    ],
)
def test_an_incomplete_table_names_exactly_what_it_lacks_and_the_others_stay_usable(
    pipeline: dict[str, object], missing: tuple[str, ...]
) -> None:
    profiles = load_profiles({}, named(half=pipeline, whole=table("w")))

    half = profiles.get("half")
    assert half.missing == missing and not half.configured
    assert half.production is bool(pipeline.get("production"))
    with pytest.raises(ConfigError) as caught:
        profiles.choose("half")
        half.settings()
    assert caught.value.missing == missing
    assert "[pipelines.half]" in str(caught.value)
    assert profiles.get("whole").settings().bucket == "w"


def test_a_partial_unnamed_pipeline_is_refused_as_before() -> None:
    with pytest.raises(ConfigError) as caught:
        load_profiles({"PIPELINE_BUCKET": "b"}).choose().settings()

    assert set(caught.value.missing) == {"PIPELINE_PRESIGN_URL", "PIPELINE_CDN_URL"}


@pytest.mark.parametrize(
    ("pipeline", "named_in_problem"),
    [
        (table("b", cdn_url="d111.cloudfront.net"), "PIPELINE_CDN_URL"),
        (table("b", production="maybe"), "PIPELINE_PRODUCTION"),
        (table("b", allow_writes="sure"), "PIPELINE_ALLOW_WRITES"),
        ("not a table", "must be a table"),
    ],
)
def test_a_malformed_table_is_listed_with_its_problem(pipeline: object, named_in_problem: str) -> None:
    profile = load_profiles({}, named(odd=pipeline)).get("odd")

    assert not profile.configured and profile.missing == ()
    assert named_in_problem in str(profile.problem) and "[pipelines.odd]" in str(profile.problem)
    assert profile.to_json()["configured"] is False


def test_a_malformed_production_word_lists_the_profile_as_production() -> None:
    assert load_profiles({}, named(odd=table("b", production="maybe"))).get("odd").production is True


# ---------------------------------------------------------------- choosing


def test_an_unknown_name_is_refused_naming_the_known_ones() -> None:
    profiles = load_profiles(ENV, named(staging=table("s")))

    with pytest.raises(UnknownProfile, match="'prod'; known profiles: default, staging, sandbox"):
        profiles.choose("prod")


def test_an_unknown_pipeline_profile_variable_is_refused_naming_the_variable() -> None:
    with pytest.raises(UnknownProfile, match="PIPELINE_PROFILE: unknown profile 'prdo'; known profiles: prod"):
        load_profiles({"PIPELINE_PROFILE": "prdo"}, named(prod=table("p")))


@pytest.mark.parametrize("reserved", ["default", "sandbox"])
def test_the_reserved_names_cannot_be_tables(reserved: str) -> None:
    with pytest.raises(ConfigError, match=f"pipelines.{reserved}"):
        load_profiles({}, named(**{reserved: table("b")}))


@pytest.mark.parametrize("secrets", [{"pipelines": "x"}, {"pipeline": ["x"]}])
def test_a_secrets_document_of_the_wrong_shape_is_a_config_error(secrets: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        load_profiles({}, secrets)


def test_the_sandbox_profile_carries_the_unnamed_options_and_its_bad_option_is_its_problem() -> None:
    assert load_profiles({"PIPELINE_ALLOW_WRITES": "on"}).get(SANDBOX_PROFILE).options.allow_writes is True

    broken = load_profiles({"PIPELINE_ALLOW_WRITES": "perhaps"}).get(SANDBOX_PROFILE)
    assert not broken.configured and "PIPELINE_ALLOW_WRITES" in str(broken.problem)


def test_profiles_json_shape() -> None:
    profiles = load_profiles({}, named(prod=table("p", production=True)))

    (prod, sandbox) = [profile.to_json() for profile in profiles.all]

    assert {"name", "production", "configured", "missing", "bucket", "presign_url", "cdn_url"} <= set(prod)
    assert (prod["name"], prod["production"], prod["configured"], prod["missing"]) == ("prod", True, True, [])
    assert (prod["bucket"], prod["presign_url"], prod["cdn_url"]) == ("p", PRESIGN, CDN)
    assert (sandbox["name"], sandbox["production"], sandbox["configured"]) == ("sandbox", False, True)


# ---------------------------------------------------------------- the secrets file, as the CLI reads it


def test_secrets_files_are_read_in_order_the_later_winning_table_by_table(tmp_path: Path) -> None:
    first, second = tmp_path / "global.toml", tmp_path / "project.toml"
    first.write_text('[pipeline]\nbucket = "global"\n[auth]\nclient_id = "x"\n', encoding="utf-8")
    second.write_text('[pipeline]\nbucket = "project"\n[pipelines.prod]\nproduction = true\n', encoding="utf-8")

    document = read_secrets_files((first, tmp_path / "absent.toml", second))

    assert document == {
        "pipeline": {"bucket": "project"},
        "auth": {"client_id": "x"},
        "pipelines": {"prod": {"production": True}},
    }


def test_a_secrets_file_that_is_not_toml_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "secrets.toml"
    bad.write_text("[pipelines.prod\nbucket = 1\n", encoding="utf-8")

    with pytest.raises(ConfigError, match="not valid TOML"):
        read_secrets_files((bad,))


# ---------------------------------------------------------------- the CLI, two profiles on one real sandbox


def toml_table(name: str, values: dict[str, object]) -> str:
    lines = [f"[{name}]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]  # JSON strings/bools are TOML's
    return "\n".join(lines) + "\n"


def sandbox_table(sandbox: Sandbox, **extra: object) -> dict[str, object]:
    """A ``[pipelines.NAME]`` table pointing at the session's sandbox (its AWS_* variables stay in the env)."""
    env = sandbox.environment()
    keys = ("presign_url", "bucket", "cdn_url", "app_origins", "distribution_id", "lambda_function")
    values: dict[str, object] = {key: env["PIPELINE_" + key.upper()] for key in keys}
    values["client_content_type"] = env["PIPELINE_CLIENT_CONTENT_TYPE"]
    return {**values, **extra}


@pytest.fixture
def two_profiles(tmp_path: Path, sandbox: Sandbox, sandbox_env: dict[str, str]) -> tuple[Path, dict[str, str]]:
    """A working directory whose secrets file has profiles ``one`` and ``two`` (production) on the sandbox, and an
    environment with no PIPELINE_* variables (so there is no ``default``)."""
    secrets = tmp_path / ".streamlit" / "secrets.toml"
    secrets.parent.mkdir()
    secrets.write_text(
        toml_table("pipelines.one", sandbox_table(sandbox))
        + toml_table("pipelines.two", sandbox_table(sandbox, production=True, allow_writes=True))
        + toml_table("pipelines.half", {"bucket": "half-bucket"}),
        encoding="utf-8",
    )
    env = {k: v for k, v in sandbox_env.items() if not k.startswith("PIPELINE_")}
    return tmp_path, env


def test_cli_profiles_lists_each_profile_with_what_it_lacks(two_profiles) -> None:
    cwd, env = two_profiles

    done = cli("profiles", "--json", env=env, cwd=cwd)
    human = cli("profiles", env=env, cwd=cwd)

    assert done.returncode == 0, done.stderr
    listed = {item["name"]: item for item in json.loads(done.stdout)}
    assert list(listed) == ["one", "two", "half", "sandbox"]
    assert (listed["two"]["production"], listed["two"]["configured"], listed["two"]["missing"]) == (True, True, [])
    assert listed["half"]["missing"] == ["PIPELINE_PRESIGN_URL", "PIPELINE_CDN_URL"]
    assert listed["half"]["bucket"] == "half-bucket" and listed["half"]["configured"] is False
    assert human.returncode == 0
    assert "missing: PIPELINE_PRESIGN_URL, PIPELINE_CDN_URL" in human.stdout
    assert any(line.startswith("two") and "PRODUCTION" in line for line in human.stdout.splitlines())


@pytest.mark.parametrize("before_the_command", [True, False])
def test_cli_each_profile_runs_on_its_own_settings(two_profiles, before_the_command: bool) -> None:
    cwd, env = two_profiles

    def check_as(profile: str) -> tuple[dict[str, Any], str]:
        args = ["check", "--json", "--only", "presign.reachable"]
        argv = ["--profile", profile, *args] if before_the_command else [*args, "--profile", profile]
        done = cli(*argv, env=env, cwd=cwd)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)["target"], done.stderr

    one, one_note = check_as("one")
    two, two_note = check_as("two")

    assert (one["profile"], one["production"]) == ("one", False)
    assert (two["profile"], two["production"]) == ("two", True)
    assert "PRODUCTION" in two_note and "PRODUCTION" not in one_note


def test_cli_unknown_or_incomplete_profile_exits_2_saying_why(two_profiles) -> None:
    cwd, env = two_profiles

    unknown = cli("--profile", "three", "check", env=env, cwd=cwd)
    half = cli("check", "--profile", "half", env=env, cwd=cwd)
    variable = cli("profiles", env={**env, "PIPELINE_PROFILE": "tow"}, cwd=cwd)

    assert unknown.returncode == 2 and "known profiles: one, two, half, sandbox" in unknown.stderr
    assert half.returncode == 2 and "PIPELINE_PRESIGN_URL" in half.stderr and "[pipelines.half]" in half.stderr
    assert variable.returncode == 2 and "PIPELINE_PROFILE" in variable.stderr


def test_cli_apply_on_production_wants_the_profile_name_and_without_it_runs_nothing(two_profiles, switch, admin_s3):
    cwd, env = two_profiles
    switch("cdn-grant-missing")
    apply = ("--profile", "two", "check", "--apply", "bucket.cdn_read_grant", "--confirm", layout.BUCKET)

    bare = cli(*apply, env=env, cwd=cwd)
    wrong = cli(*apply, "--confirm-profile", "one", env=env, cwd=cwd)

    for refused in (bare, wrong):
        assert refused.returncode == 2, refused.stderr
        assert "'two' is a production profile; type its name 'two'" in refused.stderr
        assert refused.stdout == ""  # refused before the check ran: nothing was asked of AWS
    assert bucket_policy(admin_s3) is None
    shown = cli("--profile", "two", "check", "--only", "bucket.cdn_read_grant", env=env, cwd=cwd)
    command = "--profile two check --apply bucket.cdn_read_grant --confirm pipeline-sandbox --confirm-profile two"
    assert command in shown.stdout
    done = cli(*apply, "--confirm-profile", "two", env=env, cwd=cwd)
    assert done.returncode == 0, done.stdout + done.stderr
    assert layout.DISTRIBUTION_ID in json.dumps(bucket_policy(admin_s3))
