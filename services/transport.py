"""HTTP sessions for the pipeline's hops: every request has a timeout, redirects are never followed
silently, and each worker thread reuses its own connections (requests.Session is not thread-safe)."""

from __future__ import annotations

import threading

import requests
from requests.adapters import HTTPAdapter

#: (connect, read) seconds. A read timeout is between bytes, so a slow but moving upload is fine.
TIMEOUT = (5.0, 60.0)
USER_AGENT = "image-pipeline-console/0.1"


def new_session(pool_size: int = 4) -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
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
