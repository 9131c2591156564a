"""The sandbox's S3 endpoint runner: werkzeug's request parsing, with connections kept alive as S3 keeps them.

A request body the application left unread is read to its end before the reply (a client sending a large body to a
refused URL gets the refusal, not a reset); a body shorter than its Content-Length gets S3's 400 IncompleteBody and
a closed connection; a 5xx closes the connection."""

from __future__ import annotations

import logging
from typing import IO, Any, cast

from werkzeug.exceptions import ClientDisconnected
from werkzeug.serving import WSGIRequestHandler
from werkzeug.wsgi import LimitedStream

LOG = logging.getLogger("sandbox")

INCOMPLETE_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>IncompleteBody</Code><Message>You did not provide the '
    b"number of bytes specified by the Content-Length HTTP header</Message></Error>"
)


class S3RequestHandler(WSGIRequestHandler):
    """werkzeug's request parsing, with a WSGI runner of our own that keeps connections alive as S3 does.

    werkzeug's dev server closes every connection: after each reply it reads whatever else is in the socket,
    which on a kept-alive connection is the client's next request. Here the body is read through a stream that
    knows its length; once the application is done, what it left unread of the body is read and dropped before
    the reply goes out (so a client sending a large body to a refused URL still gets the refusal, not a reset),
    and the connection stays open. Beyond ``DRAIN_LIMIT``, after a 5xx, or for a body whose length is unknown or
    that ends early, the reply says ``Connection: close`` and the connection closes, as S3's does then.
    """

    disable_nagle_algorithm = True  # TCP_NODELAY, as the other servers (httpd.QuietHandler): no delayed-ACK stalls
    protocol_version = "HTTP/1.1"
    DRAIN_LIMIT = 5 * 1024**3  # S3's largest single PUT: any body S3 would take is read to its end

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        self._body: Any = None
        self._keep_alive = True
        if "wsgi.input_terminated" in environ:  # chunked: werkzeug's DechunkedInput knows where the body ends
            self._body = environ["wsgi.input"]
        else:
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = -1
            if length < 0:
                self._keep_alive = False
            else:
                # rfile is the socket's BufferedReader (socketserver types it as the BufferedIOBase it derives from)
                self._body = environ["wsgi.input"] = LimitedStream(cast(IO[bytes], self.rfile), length)
        return environ

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        reply: list[Any] = []  # [status, headers]

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if exc_info is not None and reply:
                raise exc_info[1].with_traceback(exc_info[2])
            reply[:] = [status, headers]
            return chunks.append  # WSGI's write(): kept with the rest of the body

        chunks: list[bytes] = []
        try:
            result = self.server.app(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        except ClientDisconnected:  # the body ended before its Content-Length: S3's answer, no traceback
            self._keep_alive = False
            reply[:] = ["400 Bad Request", [("Content-Type", "application/xml")]]
            chunks = [INCOMPLETE_BODY]
        except Exception:  # the emulator's own fault: a 500, logged, as werkzeug would
            LOG.exception("sandbox S3 endpoint: error on %s %s", self.command, self.path)
            reply[:] = ["500 Internal Server Error", [("Content-Type", "text/plain")]]
            chunks = [b"internal error in the sandbox"]
        if not reply:  # the application never started a reply: the emulator's fault too
            reply, chunks = ["500 Internal Server Error", [("Content-Type", "text/plain")]], [b"no reply"]
        self._reply(environ, reply, b"".join(chunks))

    def _reply(self, environ: dict[str, Any], reply: list[Any], body: bytes) -> None:
        status, headers = reply
        code_text, _, message = status.partition(" ")
        code = int(code_text)
        keep = self._keep_alive and code < 500 and self._drained()
        self.send_response(code, message)
        declared = None
        for name, value in headers:
            lowered = name.lower()
            if lowered == "content-length":
                declared = value
            elif lowered not in ("connection", "transfer-encoding"):
                self.send_header(name, value)
        head = environ["REQUEST_METHOD"] == "HEAD"
        if head and declared is not None:
            self.send_header("Content-Length", declared)  # a HEAD states the length of what a GET would send
        elif not (100 <= code < 200 or code in (204, 304) or head):
            self.send_header("Content-Length", str(len(body)))
        if not keep:
            self.send_header("Connection", "close")  # sets close_connection
        self.end_headers()
        if body and not head and code not in (204, 304):
            self.wfile.write(body)

    def _drained(self) -> bool:
        """Whether the request's body is read to its end (reading what is left, up to ``DRAIN_LIMIT``)."""
        if self._body is None:
            return False
        left = self.DRAIN_LIMIT
        try:
            while left > 0:
                chunk = self._body.read(min(left, 64 * 1024))
                if not chunk:
                    return True
                left -= len(chunk)
            return not self._body.read(1)
        except Exception:  # noqa: BLE001 - a client gone mid-body (werkzeug's ClientDisconnected), a reset: close
            return False

    def version_string(self) -> str:
        return "AmazonS3"  # S3's Server header, not werkzeug's

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass
