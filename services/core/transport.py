"""HTTP for the pipeline's hops: every request has a timeout and an overall deadline, redirects are never
followed silently, failed attempts are retried only when the caller says so (with jittered exponential
backoff), and each worker thread reuses its own connections (requests.Session is not thread-safe).

A read timeout is between bytes, so on its own it does not stop a server that drips a byte a second.
The deadline does, at every stage of a request: request bodies are sent, and response bodies read, in
chunks with a clock check between them (``Deadline``, ``read_body``, ``iter_body``), and while a request
runs under ``enforce(deadline)`` a watchdog thread shuts its connection down when the deadline passes,
so a status line or headers dripped a byte at a time are cut off too (http.client reads those itself,
with no clock check of ours in between).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import random
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from requests.sessions import merge_setting
from requests.utils import get_environ_proxies
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

if TYPE_CHECKING:
    from requests.sessions import _Settings  # the stubs' name for what merge_environment_settings returns

#: (connect, read) seconds. A read timeout is between bytes, so a slow but moving upload is fine.
TIMEOUT = (5.0, 60.0)
USER_AGENT = "image-pipeline-console/0.1"
CHUNK = 64 * 1024
#: the shortest timeout handed to a socket when a deadline is nearly used up
MIN_SOCKET_TIMEOUT = 0.05
#: seconds a probe (a request whose failure is itself the evidence: the checks, Browse's detail) may take at most
PROBE_DEADLINE = 10.0


#: hosts whose connections a session keeps: the pipeline has three (presign API, S3, CDN); fewer evicts a
#: host's pool on every hop and every request opens a new connection (measured in bench/upload.py)
POOLED_HOSTS = 8


#: what requests reads from the environment when ``trust_env`` is on: proxies, their exceptions, CA bundles
ENVIRONMENT_SETTINGS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "requests_ca_bundle", "curl_ca_bundle")


def environment_matters(environ: Mapping[str, str] | None = None) -> bool:
    """Whether a proxy or CA bundle is set in the environment (in either case), which requests must honour."""
    environ = os.environ if environ is None else environ
    return any(environ.get(name) or environ.get(name.upper()) for name in ENVIRONMENT_SETTINGS)


class PipelineSession(requests.Session):
    """requests' Session, reading the environment's proxies and CA bundle once per host instead of per request.

    With ``trust_env`` on, requests walks ``os.environ`` twice per request (proxies, then the no_proxy
    bypass) and reads the CA bundle variables: ~170 µs a request, three requests per uploaded file, with only
    REQUESTS_CA_BUNDLE set (13 % of the console's samples in bench/profile_upload.py); ~2 µs with the lookup
    kept. The answer depends on the URL's scheme and host only, and a session lives for one batch or one
    command, so each host's answer is kept for the session (a change to os.environ is seen by the next
    session). Explicit ``proxies=`` on a request take requests' own path, unchanged.
    """

    def __init__(self) -> None:
        super().__init__()
        self._environment: dict[tuple[str, str], tuple[dict[str, str], str | None]] = {}

    def _from_environment(self, url: str) -> tuple[dict[str, str], str | None]:
        """The proxies requests would take from the environment for ``url``, and the CA bundle it names."""
        parts = urlsplit(url)
        origin = (parts.scheme, parts.netloc)
        found = self._environment.get(origin)
        if found is None:
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            found = self._environment[origin] = (get_environ_proxies(url), bundle)
        return found

    def merge_environment_settings(
        self, url: str | bytes | None, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> _Settings:
        if not self.trust_env or proxies or not isinstance(url, str):  # requests passes the prepared URL, a str
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        # requests' own merge (Session.merge_environment_settings), the environment's part looked up once per host
        env_proxies, bundle = self._from_environment(url)
        proxies = dict(env_proxies)
        if verify is True or verify is None:
            verify = bundle or verify
        return {
            # merge_setting of two empty dicts is an empty OrderedDict, after two slow Protocol isinstance checks
            "proxies": merge_setting(proxies, self.proxies) if proxies or self.proxies else OrderedDict(),
            "stream": merge_setting(stream, self.stream),
            "verify": merge_setting(verify, self.verify),
            "cert": merge_setting(cert, self.cert),
        }


class _NoAuth(requests.auth.AuthBase):
    """Sends a request as it is. Set as a session's ``auth``, it keeps requests from looking up ~/.netrc."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


def new_session(pool_size: int = 4) -> requests.Session:
    """A session for the pipeline's hops: watched connections, no retries of its own, a pool per host.

    With no proxy or CA bundle in the environment, ``trust_env`` is off (nothing to read); with one set,
    requests honours it, read once per host (``PipelineSession``). Never ~/.netrc: the hops authenticate by
    their URLs, and a netrc entry for an S3 host would add an Authorization header that S3 refuses next to a
    presigned query (requests would also look the file up on every request).
    """
    session = PipelineSession()
    session.trust_env = environment_matters()
    session.auth = _NoAuth()
    adapter = WatchedAdapter(pool_connections=POOLED_HOSTS, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


class SessionPool:
    """One session per thread, all closed together."""

    def __init__(self, pool_size: int = 4) -> None:
        self._pool_size = pool_size
        self._local = threading.local()
        self._lock = threading.Lock()
        self._sessions: list[requests.Session] = []

    def get(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = new_session(self._pool_size)
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def __enter__(self) -> SessionPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- deadlines ------------------------------------------------------------------------------------------


class DeadlineExceeded(Exception):
    """A request (send and answer together) took longer than its overall deadline.

    Deliberately not an OSError: urllib3 would wrap one into a connection error and lose the reason.
    """

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the request did not complete within its {seconds:g} s deadline")
        self.seconds = seconds


@dataclass
class Deadline:
    """An overall time budget for one request, from the moment it is created."""

    seconds: float
    start: float = field(default_factory=time.monotonic)

    def remaining(self) -> float:
        return self.seconds - (time.monotonic() - self.start)

    def check(self) -> None:
        if self.remaining() <= 0:
            raise DeadlineExceeded(self.seconds)

    def timeout(self, base: tuple[float, float] = TIMEOUT) -> tuple[float, float]:
        """(connect, read) timeouts, each no longer than what is left of the deadline."""
        self.check()
        left = max(self.remaining(), MIN_SOCKET_TIMEOUT)
        return (min(base[0], left), min(base[1], left))


class DeadlineBody:
    """A request body that checks the deadline before handing each chunk to the socket.

    ``__len__`` makes requests send a Content-Length (S3 refuses chunked transfer encoding for a presigned
    PUT). A PUT cut short by the deadline is never stored: S3 keeps an object only when all of it arrived.
    """

    def __init__(self, data: bytes, deadline: Deadline, chunk: int = CHUNK) -> None:
        self._view = memoryview(data)
        self._position = 0
        self._deadline = deadline
        self._chunk = chunk

    def __len__(self) -> int:
        return len(self._view) - self._position

    def read(self, size: int = -1) -> bytes:
        self._deadline.check()
        size = self._chunk if size is None or size < 0 else min(size, self._chunk)
        piece = self._view[self._position : self._position + size]
        self._position += len(piece)
        return piece.tobytes()


# --- the watchdog: deadlines for what http.client reads on its own ---------------------------------------


class _Alarm:
    """One ``enforce`` block: the connections used in it, shut down together when its deadline passes."""

    def __init__(self) -> None:
        self.connections: list[HTTPConnection] = []
        self.cancelled = False
        self.fired = False

    def fire(self) -> None:
        self.fired = True
        for connection in self.connections:
            sock = connection.sock
            if sock is not None:
                # shutdown, not close: a recv blocked in another thread returns at once (EOF), and the
                # descriptor stays owned by that thread until urllib3 discards the connection
                with contextlib.suppress(OSError):  # already closed: nothing left to stop
                    sock.shutdown(socket.SHUT_RDWR)


class _Watchdog:
    """One daemon thread firing alarms at their time; cancelled alarms are dropped when they come up."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Alarm]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, at: float) -> _Alarm:
        alarm = _Alarm()
        entry = (at, next(self._order), alarm)
        with self._cond:
            heapq.heappush(self._heap, entry)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="http-deadline-watchdog", daemon=True)
                self._thread.start()
            elif self._heap[0] is entry:
                # the thread sleeps until the earliest alarm it knew of (cancelled or not): only an earlier one
                # needs to wake it. Waking it for every request cost a thread switch and a GIL handoff each time
                # (~6 µs of CPU per request with 8 upload threads)
                self._cond.notify()
        return alarm

    def watch(self, alarm: _Alarm, connection: HTTPConnection) -> None:
        with self._cond:
            if alarm.fired:
                raise DeadlineExceeded(0)  # caught by enforce(), which names the real deadline
            alarm.connections.append(connection)

    def disarm(self, alarm: _Alarm) -> bool:
        """Stop ``alarm``; whether it had already fired."""
        with self._cond:
            alarm.cancelled = True
            alarm.connections.clear()
            return alarm.fired

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][2].cancelled:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)[2].fire()


_WATCHDOG = _Watchdog()
_ACTIVE = threading.local()  # .alarm: the innermost enforce() block of this thread, if any


@contextlib.contextmanager
def enforce(deadline: Deadline) -> Iterator[None]:
    """Within this block, requests made by this thread through a ``new_session()`` session are cut off when
    ``deadline`` passes, whatever stage they are at (connect, send, status line, headers, body).

    A request cut off that way raises DeadlineExceeded here (whatever requests made of the broken
    connection), and so does a block that ran past its deadline while the watchdog was cutting: a body
    read at that moment may be short.
    """
    outer = getattr(_ACTIVE, "alarm", None)
    alarm = _WATCHDOG.arm(deadline.start + deadline.seconds)
    _ACTIVE.alarm = alarm
    try:
        yield
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError, DeadlineExceeded) as err:
        if _WATCHDOG.disarm(alarm) or deadline.remaining() <= 0:
            raise DeadlineExceeded(deadline.seconds) from err
        raise
    finally:
        _ACTIVE.alarm = outer
        fired = _WATCHDOG.disarm(alarm)
    if fired:
        raise DeadlineExceeded(deadline.seconds)


class _Watched:
    """Mixed into urllib3's connections: a request started inside ``enforce`` puts its connection under the
    block's alarm (a connection reused from the pool is watched anew by each block that uses it)."""

    def request(self, *args: object, **kwargs: object) -> None:
        alarm = getattr(_ACTIVE, "alarm", None)
        if alarm is not None:
            _WATCHDOG.watch(alarm, self)  # type: ignore[arg-type]  # a mixin: self is always an HTTPConnection
        super().request(*args, **kwargs)  # type: ignore[misc]  # HTTPConnection.request, next in the MRO


class WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = WatchedHTTPSConnection


_WATCHED_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class WatchedAdapter(HTTPAdapter):
    """requests' adapter with connections the deadline watchdog can cut off (see ``enforce``)."""

    def init_poolmanager(self, *args: object, **kwargs: object) -> None:
        super().init_poolmanager(*args, **kwargs)  # type: ignore[arg-type]  # requests' own arguments, passed on
        self.poolmanager.pool_classes_by_scheme = _WATCHED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: object) -> object:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _WATCHED_POOLS
        return manager


def _read1(reply: requests.Response, size: int) -> bytes:
    """One read from the socket (whatever has arrived, up to ``size``), urllib3's errors as requests' errors."""
    try:
        return reply.raw.read1(size, decode_content=True) or b""
    except urllib3.exceptions.ReadTimeoutError as err:
        raise requests.ReadTimeout(err) from err
    except urllib3.exceptions.ProtocolError as err:
        raise requests.exceptions.ChunkedEncodingError(err) from err
    except urllib3.exceptions.DecodeError as err:
        raise requests.exceptions.ContentDecodingError(err) from err
    except urllib3.exceptions.HTTPError as err:
        raise requests.ConnectionError(err) from err


def iter_body(reply: requests.Response, deadline: Deadline, chunk: int = CHUNK) -> Iterator[bytes]:
    """The (decoded) body of a streamed reply, chunk by chunk, raising DeadlineExceeded when time is up."""
    while True:
        deadline.check()
        piece = _read1(reply, chunk)
        if not piece:
            return
        yield piece


def read_body(reply: requests.Response, limit: int, deadline: Deadline) -> bytes:
    """At most ``limit`` bytes of a streamed reply's body (more is never read), within the deadline."""
    consumed = getattr(reply, "_content", False)
    if getattr(reply, "_content_consumed", False) and isinstance(consumed, bytes):
        # requests reads a redirect's body itself (Session.send looks for the next hop even when told not to
        # follow it): S3's 301/307 error document is there, not on the socket
        return consumed[:limit]
    parts: list[bytes] = []
    size = 0
    while size < limit:
        deadline.check()
        piece = _read1(reply, min(CHUNK, limit - size))
        if not piece:
            break
        parts.append(piece)
        size += len(piece)
    return b"".join(parts)


@dataclass(frozen=True)
class Answer:
    """What one HTTP attempt got back: status, headers and (a bounded prefix of) the body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


def exchange(
    session: requests.Session,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    deadline_s: float,
    limit: int,
    data: bytes | None = None,
    timeout: tuple[float, float] = TIMEOUT,
) -> Answer:
    """One request, never following a redirect, finished (body sent, answer read) within ``deadline_s``.

    Raises DeadlineExceeded, or requests' exceptions (Timeout, ConnectionError, ...) for the caller to
    translate into the hop's own error.
    """
    deadline = Deadline(deadline_s)
    body = None if data is None else DeadlineBody(data, deadline)
    with (
        enforce(deadline),
        session.request(
            method,
            url,
            headers=dict(headers),
            data=body,
            timeout=deadline.timeout(timeout),
            allow_redirects=False,
            stream=True,
        ) as reply,
    ):
        content = read_body(reply, limit, deadline)
        answer = Answer(reply.status_code, reply.headers, content)
    return answer


@dataclass(frozen=True)
class Outcome:
    """What one request made with ``attempt`` came to: the answer, or the exception that stands for its absence."""

    answer: Answer | None
    failure: requests.RequestException | DeadlineExceeded | None
    ms: float

    @property
    def error(self) -> str | None:
        """Why there is no answer, in one line (the exception's type and message), or None when there is one."""
        return None if self.failure is None else f"{type(self.failure).__name__}: {self.failure}"


def attempt(
    session: requests.Session,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    deadline_s: float,
    limit: int,
    data: bytes | None = None,
    timeout: tuple[float, float] = TIMEOUT,
) -> Outcome:
    """``exchange``, never raising: for probes, whose evidence is the failure as much as the answer.

    The request is bounded like every other (``deadline_s`` overall, at most ``limit`` bytes of body), so an
    endpoint that drips a byte a second costs ``deadline_s``, never longer.
    """
    started = time.perf_counter()
    try:
        answer = exchange(
            session, method, url, headers=headers, deadline_s=deadline_s, limit=limit, data=data, timeout=timeout
        )
    except (requests.RequestException, DeadlineExceeded) as err:
        return Outcome(None, err, round((time.perf_counter() - started) * 1000, 1))
    return Outcome(answer, None, round((time.perf_counter() - started) * 1000, 1))


# --- retries --------------------------------------------------------------------------------------------


def equal_jitter(upper: float) -> float:
    """A wait in [upper/2, upper]: exponential on average, never zero, spread so clients do not retry in step."""
    return upper / 2 + random.uniform(0, upper / 2)  # noqa: S311 - jitter, not cryptography


@dataclass(frozen=True)
class Backoff:
    """Bounded retries: ``attempts`` in all, waits growing from ``base`` seconds, doubling, at most ``cap``.

    ``sleep`` and ``jitter`` are injectable so tests do not wait and can see the waits.
    """

    attempts: int = 3
    base: float = 0.2
    cap: float = 2.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    jitter: Callable[[float], float] = field(default=equal_jitter, compare=False)

    def delay(self, retry: int) -> float:
        """The wait before retry number ``retry`` (0 for the first retry), within [0, min(cap, base·2^retry)]."""
        upper = min(self.cap, self.base * (2**retry))
        return min(upper, max(0.0, self.jitter(upper)))


@dataclass
class AttemptLog:
    """What each attempt of one request got (HTTP status, or None for no answer) and the waits between them."""

    statuses: list[int | None] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.statuses)

    def note(self) -> str | None:
        """One line for the trace when there was more than one attempt."""
        if self.count < 2:
            return None
        said = ", ".join("no answer" if s is None else f"HTTP {s}" for s in self.statuses)
        waited = ", ".join(f"{w:.2f} s" for w in self.waits)
        return f"{self.count} attempts ({said})" + (f"; waited {waited} between them" if self.waits else "")


def _attempt(call: Callable[[], Answer], log: AttemptLog) -> Answer:
    try:
        answer = call()
    except Exception:
        log.statuses.append(None)  # the attempt counts in the trace even though nothing came back
        raise
    log.statuses.append(answer.status)
    return answer


def retrying(
    call: Callable[[], Answer], retry_on: Callable[[Answer], bool], backoff: Backoff, log: AttemptLog
) -> Answer:
    """``call()`` until its answer is not one to retry or ``backoff.attempts`` are used; the last answer.

    Exceptions (no answer at all) are not retried: the caller decides what a timeout means.
    """
    for retry in range(max(1, backoff.attempts) - 1):
        answer = _attempt(call, log)
        if not retry_on(answer):
            return answer
        wait = backoff.delay(retry)
        log.waits.append(wait)
        backoff.sleep(wait)
    return _attempt(call, log)
