"""services/core/clients.py: one boto3 Session per identity and region, clients built under its lock, no secret in a key."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from services.checks.gather import Clients
from services.checks.runner import run_checks
from services.core import clients as aws
from services.core.clients import SessionCache, make_client, session_key, shared_client
from services.core.settings import AwsTarget, Settings

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TARGET = AwsTarget(
    region="ap-northeast-2",
    endpoint_url="http://127.0.0.1:9",
    access_key_id="AKIAIOSFODNN7EXAMPLE",
    secret_access_key=SECRET,
)


@pytest.fixture(autouse=True)
def fresh_sessions(monkeypatch: pytest.MonkeyPatch) -> SessionCache:
    """Each test starts with an empty cache (and never touches the process-wide one)."""
    cache = SessionCache()
    monkeypatch.setattr(aws, "SESSIONS", cache)
    return cache


@pytest.fixture
def sessions_built(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The keyword arguments of every boto3 Session the factory builds."""
    built: list[dict[str, Any]] = []
    real = boto3.session.Session

    def counting(**kwargs: Any) -> boto3.session.Session:
        built.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(aws.boto3.session, "Session", counting)
    return built


def test_one_session_serves_every_client_of_an_identity(sessions_built):
    clients = [make_client(service, TARGET) for service in ("s3", "iam", "lambda", "cloudfront", "s3", "s3")]
    assert len(sessions_built) == 1
    assert clients[0] is not clients[4]  # clients are not cached: each caller gets its own
    s3 = clients[0]
    assert s3.meta.endpoint_url == TARGET.endpoint_url and s3.meta.region_name == TARGET.region
    config = s3.meta.config
    assert (config.connect_timeout, config.read_timeout) == (aws.CONNECT_TIMEOUT, aws.READ_TIMEOUT)
    assert config.retries["mode"] == "standard" and config.signature_version == "s3v4"
    assert make_client("s3", TARGET, max_pool_connections=16).meta.config.max_pool_connections == 16
    assert len(sessions_built) == 1  # config overrides are per client, not per session


@pytest.mark.parametrize(
    "other",
    [
        AwsTarget(region="us-east-1", endpoint_url=TARGET.endpoint_url, access_key_id=TARGET.access_key_id,
                  secret_access_key=SECRET),
        AwsTarget(region=TARGET.region, endpoint_url=TARGET.endpoint_url, access_key_id="AKIAOTHER0000000000",
                  secret_access_key=SECRET),
        AwsTarget(region=TARGET.region, endpoint_url=TARGET.endpoint_url, access_key_id=TARGET.access_key_id,
                  secret_access_key="another-secret"),
    ],
    ids=["region", "access key", "secret"],
)  # fmt: skip
def test_another_identity_or_region_gets_its_own_session(other, sessions_built):
    make_client("s3", TARGET)
    make_client("s3", other)
    make_client("s3", TARGET)
    assert len(sessions_built) == 2


@pytest.mark.parametrize("factory", [make_client, shared_client], ids=["make_client", "shared_client"])
def test_a_changed_aws_variable_is_a_new_identity(factory, monkeypatch, sessions_built):
    """boto3's chain reads AWS_* variables once per Session: a changed one must not reuse the old credentials,
    neither through a new client nor through the shared one of the old identity."""
    monkeypatch.setattr(aws, "SHARED_CLIENTS", aws.ClientCache())
    plain = AwsTarget(region="us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFIRST00000000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "first-secret")
    first = factory("s3", plain)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIASECOND0000000000")
    second = factory("s3", plain)
    assert len(sessions_built) == 2 and second is not first
    assert first._request_signer._credentials.access_key == "AKIAFIRST00000000000"
    assert second._request_signer._credentials.access_key == "AKIASECOND0000000000"


def test_no_secret_is_kept_in_a_key_or_shown(fresh_sessions, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret-value")
    key = session_key(TARGET)
    assert len(key) == 64 and int(key, 16) >= 0  # a sha256 digest
    make_client("s3", TARGET)
    shown = repr(fresh_sessions._entries) + repr(TARGET) + str(list(fresh_sessions._entries))
    for secret in (SECRET, "env-secret-value"):
        assert secret not in key and secret not in shown


def test_the_cache_is_bounded(sessions_built):
    cache = aws.SESSIONS
    for n in range(aws.MAX_SESSIONS + 3):
        make_client("s3", AwsTarget(region="us-east-1", access_key_id=f"AKIA{n:016d}", secret_access_key="s"))
    assert len(cache) == aws.MAX_SESSIONS
    make_client("s3", AwsTarget(region="us-east-1", access_key_id=f"AKIA{0:016d}", secret_access_key="s"))
    assert len(sessions_built) == aws.MAX_SESSIONS + 4  # the oldest was dropped: built again


def test_clients_are_built_one_at_a_time_and_keep_their_own_hooks(monkeypatch):
    """A boto3 Session is not thread-safe for building clients: the factory serialises it, whatever the threads."""
    inside, overlaps = [0], []
    real = boto3.session.Session.client
    guard = threading.Lock()

    def watched(self: boto3.session.Session, *args: Any, **kwargs: Any) -> Any:
        with guard:
            inside[0] += 1
            overlaps.append(inside[0])
        time.sleep(0.002)  # widen the window a second builder would have to enter
        try:
            return real(self, *args, **kwargs)
        finally:
            with guard:
                inside[0] -= 1

    monkeypatch.setattr(boto3.session.Session, "client", watched)
    with ThreadPoolExecutor(max_workers=8) as pool:
        clients = list(pool.map(lambda i: make_client(("s3", "iam")[i % 2], TARGET), range(24)))
    assert len(clients) == 24 and max(overlaps) == 1
    seen: list[str] = []
    clients[0].meta.events.register("before-call.s3.ListObjectsV2", lambda **_: seen.append("first"))
    assert clients[2].meta.events is not clients[0].meta.events  # hooks on one client never fire on another


def test_a_check_run_builds_only_the_clients_its_gatherers_use(monkeypatch):
    built: list[str] = []
    monkeypatch.setattr("services.checks.gather.make_client", lambda service, target: built.append(service) or service)
    settings = Settings(presign_url="https://x/presign", bucket="b", cdn_url="https://cdn", aws=TARGET)
    clients = Clients.for_settings(settings, frozenset({"bucket_config", "presign"}))
    assert built == ["s3"] and (clients.s3, clients.iam, clients.lambda_, clients.cloudfront) == (
        "s3",
        None,
        None,
        None,
    )
    built.clear()
    Clients.for_settings(settings, frozenset({"lambda", "distribution"}))
    assert sorted(built) == ["cloudfront", "iam", "lambda"]
    built.clear()
    Clients.for_settings(settings)
    assert sorted(built) == ["cloudfront", "iam", "kms", "lambda", "s3"]


@pytest.fixture
def shared_cache(monkeypatch: pytest.MonkeyPatch) -> aws.ClientCache:
    cache = aws.ClientCache(size=3)
    monkeypatch.setattr(aws, "SHARED_CLIENTS", cache)
    return cache


def test_a_shared_client_is_one_per_identity_service_and_endpoint(shared_cache):
    s3 = shared_client("s3", TARGET)
    assert shared_client("s3", TARGET) is s3
    assert shared_client("iam", TARGET) is not s3
    moved = AwsTarget(region=TARGET.region, endpoint_url="http://127.0.0.1:10", access_key_id=TARGET.access_key_id,
                      secret_access_key=SECRET)  # fmt: skip
    assert shared_client("s3", moved) is not s3 and shared_client("s3", moved).meta.endpoint_url.endswith(":10")
    assert len(shared_cache) == 3
    assert make_client("s3", TARGET) is not s3  # make_client never hands out a shared one


def test_the_shared_clients_are_bounded_least_recently_used_first(shared_cache):
    first = shared_client("s3", TARGET)
    shared_client("iam", TARGET)
    shared_client("lambda", TARGET)
    assert shared_client("s3", TARGET) is first  # used again: now the most recent
    shared_client("cloudfront", TARGET)  # drops iam, the least recently used
    assert len(shared_cache) == 3 and shared_client("s3", TARGET) is first


def test_repeated_check_runs_build_their_clients_once(sandbox, monkeypatch):
    """A plain run_checks (the Checks page, the CLI) built its clients on every run (~40-60 ms)."""
    monkeypatch.setattr(aws, "SHARED_CLIENTS", aws.ClientCache())
    built: list[str] = []
    real = aws.make_client
    monkeypatch.setattr(aws, "make_client", lambda service, target: built.append(service) or real(service, target))
    settings = sandbox.settings()
    run_checks(settings)
    assert sorted(built) == ["cloudfront", "iam", "kms", "lambda", "s3"]
    run_checks(settings)
    assert len(built) == 5
    explicit = Clients.for_settings(settings)  # what a caller registering hooks asks for: its own clients
    assert explicit.s3 is not shared_client("s3", settings.aws)


def test_a_slow_build_holds_up_only_its_own_key(shared_cache, monkeypatch):
    """Building a client can take seconds (a credential process, an IMDS timeout): other keys must not wait."""
    release, building = threading.Event(), threading.Event()
    real = aws.make_client

    def make(service: str, target: AwsTarget) -> Any:
        if service == "iam":
            building.set()
            assert release.wait(10)
        return real(service, target)

    monkeypatch.setattr(aws, "make_client", make)
    with ThreadPoolExecutor(max_workers=3) as pool:
        slow = [pool.submit(shared_client, "iam", TARGET) for _ in range(2)]
        assert building.wait(10)
        s3 = pool.submit(shared_client, "s3", TARGET).result(timeout=10)  # not behind the slow iam build
        assert s3.meta.service_model.service_name == "s3" and not any(f.done() for f in slow)
        release.set()
        first, second = (f.result(timeout=10) for f in slow)
    assert first is second  # the two callers of one key got the one client, built once
