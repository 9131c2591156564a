"""The one factory for boto3 clients: timeouts, standard retries, SigV4 and endpoint overrides.

Clients are built on demand and passed in; nothing here creates a client at import time.
boto3 itself honours ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_S3`` from the environment; an
explicit endpoint in the AwsTarget (the sandbox's) wins over them.

A boto3 Session is expensive to warm up (its loader reads botocore's JSON models the first time a
service is asked for: ~50-200 ms a service), so one Session is kept per identity and region and every
client for that identity is built from it. Sessions are not thread-safe for building clients, so
building happens under the session's lock. ``make_client`` gives each caller a client of its own (with its
own event hooks); ``shared_client`` gives the same client to every caller of a target and service, for code that
registers no hooks and runs often (a check run built four clients, ~40-60 ms, every time it ran).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

import boto3
from botocore.config import Config

from services.core.environment import environment_digest
from services.core.settings import AwsTarget

CONNECT_TIMEOUT = 5
READ_TIMEOUT = 30
#: identities a long-lived console meets are few (its own, the sandbox's); more would only be churn
MAX_SESSIONS = 8
#: shared clients: four services for each of a few targets
MAX_SHARED_CLIENTS = 16

V = TypeVar("V")
T = TypeVar("T")
#: the AWS services the console has clients for (boto3's names; the type checker matches each to its stubs)
AwsService = Literal["s3", "iam", "lambda", "cloudfront", "sts", "s3control", "kms"]


def client_config(**overrides: Any) -> Config:
    base = Config(
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        retries={"mode": "standard", "max_attempts": 3},
        signature_version="s3v4",
    )
    return base.merge(Config(**overrides)) if overrides else base


def session_key(target: AwsTarget, environ: Mapping[str, str] | None = None) -> str:
    """A digest naming the identity a Session stands for: profile, keys and region of ``target``, and the
    ``AWS_*`` variables boto3's credential chain reads (a changed variable is a new identity)."""
    identity = (
        f"profile={target.profile}",
        f"key={target.access_key_id}",
        f"secret={target.secret_access_key}",
        f"region={target.region}",
    )
    return environment_digest(os.environ if environ is None else environ, extra=identity)


class _Lru(Generic[V]):
    """At most ``size`` values by key, least recently used dropped first, made on first use under one lock."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def _get_or_add(self, key: Hashable, make: Callable[[], V]) -> V:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                found = self._entries[key] = make()
                while len(self._entries) > self._size:
                    self._entries.popitem(last=False)
            else:
                self._entries.move_to_end(key)
            return found

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


@dataclass
class _Entry:
    session: boto3.session.Session
    lock: threading.Lock = field(default_factory=threading.Lock)


class SessionCache(_Lru[_Entry]):
    """At most ``size`` boto3 Sessions, least recently used dropped first; one lock each for building clients."""

    def __init__(self, size: int = MAX_SESSIONS) -> None:
        super().__init__(size)

    def entry(self, target: AwsTarget) -> _Entry:
        return self._get_or_add(
            session_key(target),
            lambda: _Entry(
                boto3.session.Session(
                    profile_name=target.profile,
                    aws_access_key_id=target.access_key_id,
                    aws_secret_access_key=target.secret_access_key,
                    region_name=target.region,
                )
            ),
        )


SESSIONS = SessionCache()


def make_client(service: AwsService, target: AwsTarget, **config_overrides: Any) -> Any:
    """A boto3 client for ``service`` aimed at ``target`` (a new client, from the identity's shared Session)."""
    endpoint = target.s3_endpoint_url if service == "s3" and target.s3_endpoint_url else target.endpoint_url
    kwargs: dict[str, Any] = {"config": client_config(**config_overrides)}
    if endpoint:
        kwargs["endpoint_url"] = endpoint
    entry = SESSIONS.entry(target)
    with entry.lock:
        return entry.session.client(service, **kwargs)


@dataclass
class _Slot:
    client: Any = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class ClientCache(_Lru[_Slot]):
    """At most ``size`` shared clients, least recently used dropped first, keyed by identity, service and endpoint.

    A client is built under its own slot's lock, not the cache's: building can take seconds (a credential
    process, an instance-metadata timeout), and one slow identity must not hold up every other caller.
    botocore clients are thread-safe once built; a dropped client's connections close when it is collected."""

    def __init__(self, size: int = MAX_SHARED_CLIENTS) -> None:
        super().__init__(size)

    def client(self, service: AwsService, target: AwsTarget) -> Any:
        slot = self._get_or_add((session_key(target), service, target.endpoint_url, target.s3_endpoint_url), _Slot)
        with slot.lock:  # two callers of one key build it once; callers of other keys go on meanwhile
            if slot.client is None:
                slot.client = make_client(service, target)
            return slot.client


SHARED_CLIENTS = ClientCache()


class CallTimedOut(TimeoutError):
    """An AWS call given up by ``bounded`` (it goes on in the background until botocore gives up)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no answer within {seconds:g} s")
        self.seconds = seconds


def bounded(call: Callable[[], T], seconds: float) -> T:
    """``call()`` (AWS calls), waited for at most ``seconds``; then CallTimedOut. Its own errors are raised as they are.

    botocore has no overall deadline: its read timeout is per read (an endpoint that drips a byte at a time never
    trips it) and it retries. So the call runs on a daemon thread of its own: given up, it ends when botocore gives
    up, in the background, and never holds up the caller, a page or the CLI's exit.
    """
    future: Future[T] = Future()

    def work() -> None:
        try:
            future.set_result(call())
        except BaseException as err:  # noqa: BLE001 - handed to the waiting thread, which re-raises it
            future.set_exception(err)

    threading.Thread(target=work, name="aws-call", daemon=True).start()
    try:
        return future.result(timeout=max(seconds, 0.0))
    except TimeoutError as err:
        if future.done():  # the call itself raised a TimeoutError (an OSError): that is its own answer
            raise
        raise CallTimedOut(seconds) from err


def shared_client(service: AwsService, target: AwsTarget) -> Any:
    """The one client for ``service`` at ``target`` that every caller shares. Never register event hooks on it
    (they would fire for every caller): build one with ``make_client`` for that."""
    return SHARED_CLIENTS.client(service, target)
