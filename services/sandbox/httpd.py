"""A small threaded HTTP/1.1 server base for the sandbox's emulated services."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LOG = logging.getLogger("sandbox")


class QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections as they do with AWS
    #: TCP_NODELAY: headers and body go out in separate writes; with Nagle's algorithm on, a keep-alive
    #: client's delayed ACK would hold every reply's body back ~40 ms
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's signature
        LOG.debug("%s %s", self.address_string(), format % args)

    def send_response(self, code: int, message: str | None = None) -> None:
        """As the stdlib's, without its ``Server: BaseHTTP/...`` header: each emulated service sets its own."""
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def read_body(self, limit: int = 64 * 1024 * 1024) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(min(length, limit)) if length > 0 else b""

    def send_reply(self, status: int, headers: dict[str, str], body: bytes, *, head: bool = False) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and not head:
            self.wfile.write(body)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False  # a second sandbox must never share a port
    #: called before each connection is served (the sandbox's account is built on first use: server.Account)
    before_serving: Callable[[], None] | None = None

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.before_serving is not None:
            try:
                self.before_serving()
            except Exception:  # logged; the connection is closed unanswered, as a failed service's would be
                LOG.exception("the sandbox could not prepare to answer")
                return
        super().finish_request(request, client_address)

    def start(self, name: str) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name=name, daemon=True)
        thread.start()
        return thread

    @property
    def port(self) -> int:
        return int(self.server_address[1])
