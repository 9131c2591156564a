"""Resolve ``*.localhost`` to loopback inside this process, as browsers do (RFC 6761).

The sandbox issues virtual-hosted presigned URLs (``<bucket>.s3.<region>.localhost:<port>``), the shape
AWS issues, so clients that take the key from the URL's path work unchanged. Browsers resolve those
names to loopback on their own; glibc does not. This hook makes the console's own HTTP clients
(requests, boto3: both go through ``socket.getaddrinfo``) do the same, without touching system files.
Names outside ``.localhost`` are resolved exactly as before.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

_LOCK = threading.Lock()
_ORIGINAL = socket.getaddrinfo


def is_localhost_name(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "ignore")
    return isinstance(host, str) and host.rstrip(".").lower().endswith(".localhost")


def _getaddrinfo(host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0) -> list[Any]:  # noqa: A002 - socket's own signature
    if is_localhost_name(host):
        host = "127.0.0.1" if family != socket.AF_INET6 else "::1"
    return _ORIGINAL(host, port, family, type, proto, flags)


def install() -> None:
    """Idempotent; safe to call from every entry point that may talk to the sandbox."""
    with _LOCK:
        if socket.getaddrinfo is not _getaddrinfo:
            socket.getaddrinfo = _getaddrinfo


def hosts_entry(hosts: Iterable[str]) -> str:
    """The /etc/hosts line that sends ``hosts`` to loopback for every program on the machine."""
    return "127.0.0.1 " + " ".join(hosts)


def resolution_note(url: str) -> str | None:
    """For a URL on a ``*.localhost`` host: one sentence saying that glibc does not resolve it, with the hosts line
    and curl's ``--resolve`` that make it work. None for any other URL."""
    parts = urlsplit(url)
    host = parts.hostname
    if host is None or not is_localhost_name(host):
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return (
        f"{host} is a *.localhost name: browsers and curl send it to loopback, but glibc does not, so a script of "
        "your own (Python requests, boto3) fails to resolve it on Linux. Add this line to /etc/hosts: "
        f"`{hosts_entry([host])}` (`python -m services sandbox --hosts` prints it), or give curl "
        f"`--resolve {host}:{port}:127.0.0.1`."
    )
