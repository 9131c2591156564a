"""The sandbox process: a local pipeline on loopback, started by ``Sandbox.start()``.

Runs moto's S3 (global CORS off) behind a port of its own, the shipped presign function behind an
emulated API Gateway, and an emulated CloudFront in front of the bucket. Prints one JSON line with the
endpoints when ready, then serves until its standard input closes (the console exited) or it is
signalled.

Start-up is on the console's first page, so it does only what the first request needs: the account's
configuration is written into moto's backends in process (no boto3 clients, no requests to itself), and
the function's own boto3 client (its cold start) is built after the ready line.
"""

from __future__ import annotations

import os

os.environ.setdefault("MOTO_DISABLE_GLOBAL_CORS", "true")  # before moto is imported: S3 CORS must be the bucket's own

import argparse
import base64
import io
import json
import logging
import signal
import sys
import threading
import time
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from werkzeug.exceptions import ClientDisconnected
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wsgi import LimitedStream

from presign_function import lambda_function
from presign_function.lambda_function import HandlerConfig, handle, make_s3_client
from services.sandbox import layout, moto_state, switches
from services.sandbox.cdn import CachePolicy, EdgeCache, OriginReply, make_cdn
from services.sandbox.gateway import ApiCors, make_gateway
from services.sandbox.httpd import QuietHandler, Server
from services.sandbox.s3front import IDENTITIES, S3Front

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
                self._body = environ["wsgi.input"] = LimitedStream(self.rfile, length)
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


@dataclass
class Running:
    servers: list[Any]
    endpoints: dict[str, Any]
    #: work that start-up leaves for later (the function's cold start), run by ``warm_up`` once ready
    deferred: list[Callable[[], Any]] = field(default_factory=list)

    def warm_up(self) -> None:
        """Run the deferred work on a background thread; a request that needs it first waits for it."""

        def run() -> None:
            for work in self.deferred:
                try:
                    work()
                except Exception:  # logged; a request that needs it builds it again and reports the error
                    LOG.exception("warming up the sandbox failed")

        threading.Thread(target=run, name="sandbox-warm-up", daemon=True).start()

    def stop(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()


def make_origin_fetch(front: S3Front, bucket: str) -> Callable[[str], OriginReply]:
    """Read an object as the distribution does: as cloudfront.amazonaws.com with this distribution's ARN
    (Origin Access Control), judged by the S3 front exactly as a signed request from it would be, in process."""
    identity = IDENTITIES[layout.CDN_KEY][1]

    def fetch(key: str) -> OriginReply:
        try:
            status, reply_headers, body = front.read_object(identity, bucket, key)
        except Exception:  # moto failed: S3 answers 500 InternalError, and so does the origin here (logged)
            LOG.exception("the CDN's origin read of %r failed", key)
            error = {"Code": "InternalError", "Message": "We encountered an internal error. Please try again."}
            return OriginReply(500, {"Content-Type": "application/xml", "Server": "AmazonS3"}, _error_xml(error, key))
        found = {name.lower(): value for name, value in reply_headers.items()}
        if status >= 300:
            return OriginReply(
                status, {"Content-Type": "application/xml", "Server": "AmazonS3"}, _error_xml(_error_of(body), key)
            )
        headers = {"Server": "AmazonS3", "Accept-Ranges": "bytes"}
        for header in ("Content-Type", "ETag", "Cache-Control", "Content-Encoding"):
            if found.get(header.lower()):
                headers[header] = found[header.lower()]
        if found.get("last-modified"):
            modified = parsedate_to_datetime(found["last-modified"])
            headers["Last-Modified"] = modified.strftime("%a, %d %b %Y %H:%M:%S GMT")
        return OriginReply(200, headers, body)

    return fetch


def _error_of(body: bytes) -> dict[str, str]:
    """Code and Message of an S3 error body (as an SDK reads them)."""
    try:
        document = ET.fromstring(body)  # noqa: S314 - an error document from the sandbox's own S3 front
    except ET.ParseError:
        return {}
    return {child.tag: child.text or "" for child in document if child.tag in ("Code", "Message")}


def _error_xml(error: Mapping[str, Any], key: str) -> bytes:
    code, message = escape(str(error.get("Code", "InternalError"))), escape(str(error.get("Message", "")))
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
        f"<Key>{escape(key)}</Key><RequestId>{os.urandom(8).hex().upper()}</RequestId></Error>"
    ).encode()


@dataclass
class Live:
    """What break switches change in the running sandbox, besides the bucket and IAM (stored in moto)."""

    function: HandlerConfig
    report_content_type: bool = True
    gateway_delay: float = 0.0


class ColdStart:
    """What the function builds once per execution environment, as a Lambda does on its first invocation: its
    boto3 S3 client (loading botocore's endpoint data and S3 model takes a quarter of a second). Built on first
    use, or ahead of it by the sandbox's warm-up after the ready line, never twice."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._client: Any = None
        self._lock = threading.Lock()

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._build()
            return self._client


def make_function(live: Live, cold: ColdStart) -> Callable[[Mapping[str, Any], Any], Mapping[str, Any]]:
    """The shipped handler with the live configuration; switches can make it answer like the seed's."""

    def invoke(event: Mapping[str, Any], context: Any = None) -> Mapping[str, Any]:
        reply = handle(event, live.function, cold.client())
        if live.gateway_delay:
            time.sleep(live.gateway_delay)  # the reply arrives after the URL's short life has run out
        if not live.report_content_type and reply.get("statusCode") == 200:
            body = json.loads(reply["body"])
            body.pop("contentType", None)
            reply = {**reply, "body": json.dumps(body)}
        return reply

    return invoke


@dataclass
class PipelineState:
    """The running pipeline and the handles break switches turn."""

    live: Live
    api_cors: ApiCors
    edge_cache: EdgeCache
    active: frozenset[str] = frozenset()
    lock: threading.Lock = field(default_factory=threading.Lock)

    def apply(self, active: frozenset[str]) -> None:
        """Make the sandbox's configuration exactly ``desired_config(active)``."""
        config = switches.desired_config(active)
        with self.lock:
            bucket = layout.BUCKET
            moto_state.put_bucket_cors(bucket, config.cors_rules)
            if config.public_access_block is None:
                moto_state.put_public_access_block(bucket, None)
            moto_state.put_bucket_policy(bucket, config.bucket_policy)
            if config.public_access_block is not None:
                moto_state.put_public_access_block(bucket, config.public_access_block)
            moto_state.put_role_policy(layout.PRESIGN_ROLE_NAME, "presign-put", config.role_policy)
            self.live.function = replace(
                self.live.function, content_type_style=config.content_type_style, expires_in=config.url_expires
            )
            self.live.report_content_type = config.report_content_type
            self.live.gateway_delay = config.gateway_delay
            self.api_cors.allow_headers = config.api_cors_headers
            moto_state.set_distribution_ttls(layout.DISTRIBUTION_ID, *config.cdn_ttls)
            self.active = active

    def describe(self) -> dict[str, Any]:
        return {
            "active": sorted(self.active),
            "switches": [
                {"name": s.name, "title": s.title, "symptom": s.symptom, "on": s.name in self.active}
                for s in switches.SWITCHES
            ],
        }


def function_zip() -> bytes:
    """The shipped function's deployment package, as staff would upload it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(Path(lambda_function.__file__), "lambda_function.py")
    return buffer.getvalue()


def configure_account() -> None:
    """The seed's bucket (secure policy shape), the presign function and its role, the distribution with OAC.

    Written straight into moto's backends (``moto_state``), in the shapes moto's API layer would store: the
    same state as the same calls through boto3 and HTTP, without building four boto3 clients and sending
    five requests to ourselves at start-up.
    """
    moto_state.create_bucket(layout.BUCKET, layout.REGION)
    moto_state.create_role(layout.PRESIGN_ROLE_NAME, layout.LAMBDA_TRUST_POLICY)
    moto_state.create_function(
        layout.REGION,
        {
            "FunctionName": layout.LAMBDA_FUNCTION,
            "Runtime": "python3.12",
            "Role": layout.PRESIGN_ROLE_ARN,
            "Handler": "lambda_function.lambda_handler",
            "Code": {"ZipFile": base64.b64encode(function_zip()).decode()},
            "Architectures": ["arm64"],
            "Environment": {
                "Variables": {
                    "BUCKET_NAME": layout.BUCKET,
                    "BUCKET_REGION": layout.REGION,
                    "URL_EXPIRES_SECONDS": "300",
                }
            },
        },
    )
    oac_id = moto_state.create_origin_access_control(layout.OAC_CONFIG)
    created = moto_state.create_distribution(layout.distribution_config(oac_id))
    moto_state.adopt_distribution(created, layout.DISTRIBUTION_ID, oac_id)


def distribution_policy() -> CachePolicy:
    """The CDN's behaviour, read from the distribution as stored (so the CloudFront API changes it too)."""
    behaviour = moto_state.distribution_behaviour(layout.DISTRIBUTION_ID)
    if behaviour is None:
        return CachePolicy()
    return CachePolicy(
        min_ttl=behaviour["MinTTL"],
        default_ttl=behaviour["DefaultTTL"],
        max_ttl=behaviour["MaxTTL"],
        compress=behaviour["Compress"],
        allowed_methods=tuple(behaviour["AllowedMethods"]),
        viewer_cache_control=layout.SANDBOX_VIEWER_CACHE_CONTROL,
    )


def make_control(host: str, sandbox: PipelineState) -> Server:
    """The sandbox's own control API: break switches and CDN invalidations."""

    class ControlHandler(QuietHandler):
        def _json(self, status: int, doc: Any) -> None:
            self.send_reply(status, {"Content-Type": "application/json"}, json.dumps(doc).encode())

        def do_GET(self) -> None:
            if self.path.rstrip("/") == "/_sandbox/switches":
                self._json(200, sandbox.describe())
            else:
                self._json(404, {"error": "not_found"})

        def do_PUT(self) -> None:
            name = self.path.rstrip("/").rsplit("/", 1)[-1]
            try:
                wanted = json.loads(self.read_body() or b"{}").get("on")
            except (ValueError, AttributeError):
                wanted = None
            if (
                not self.path.startswith("/_sandbox/switches/")
                or name not in switches.SWITCH_NAMES
                or not isinstance(wanted, bool)
            ):
                self._json(
                    400,
                    {
                        "error": "bad_request",
                        "message": f'PUT /_sandbox/switches/<one of {", ".join(switches.SWITCH_NAMES)}> with {{"on": true|false}}',
                    },
                )
                return
            active = sandbox.active | {name} if wanted else sandbox.active - {name}
            sandbox.apply(frozenset(active))
            self._json(200, sandbox.describe())

        def do_POST(self) -> None:
            if self.path.rstrip("/") != "/_sandbox/invalidate":
                self._json(404, {"error": "not_found"})
                return
            try:
                paths = json.loads(self.read_body() or b"{}").get("paths") or ["/*"]
            except (ValueError, AttributeError):
                paths = None
            if not isinstance(paths, list) or not all(isinstance(p, str) and p.startswith("/") for p in paths):
                self._json(400, {"error": "bad_request", "message": 'POST {"paths": ["/key.png", "/*"]}'})
                return
            self._json(200, {"cleared": sandbox.edge_cache.invalidate(paths)})

    return Server((host, 0), ControlHandler)


def start(host: str = "127.0.0.1", breaks: tuple[str, ...] = ()) -> Running:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("presign_function.lambda_function").setLevel(logging.WARNING)  # one line per upload is noise here
    front = S3Front(DomainDispatcherApplication(create_backend_app), s3_app=create_backend_app("s3"))
    s3_server = make_server(host, 0, front, threaded=True, request_handler=S3RequestHandler)
    threading.Thread(target=s3_server.serve_forever, name="sandbox-s3", daemon=True).start()
    port = s3_server.server_port
    s3_url = f"http://{host}:{port}"

    configure_account()

    # The function signs as its role, virtual-hosted on a *.localhost name, as AWS issues URLs.
    fn_config = HandlerConfig(bucket=layout.BUCKET, region=layout.REGION, expires_in=300, addressing_style="virtual")
    cold = ColdStart(
        lambda: make_s3_client(
            fn_config,
            endpoint_url=f"http://s3.{layout.REGION}.localhost:{port}",
            aws_access_key_id=layout.PRESIGN_ROLE_KEY,
            aws_secret_access_key=layout.PRESIGN_ROLE_SECRET,
        )
    )
    live = Live(function=fn_config)
    api_cors = ApiCors(layout.APP_ORIGINS)
    gateway = make_gateway(host, 0, make_function(live, cold), api_cors, layout.PRESIGN_ROUTE)
    edge_cache = EdgeCache()
    front.on_invalidation = edge_cache.invalidate
    cdn = make_cdn(host, 0, make_origin_fetch(front, layout.BUCKET), distribution_policy, edge_cache)
    sandbox = PipelineState(live, api_cors, edge_cache)
    sandbox.apply(frozenset(breaks))
    control = make_control(host, sandbox)
    for name, server in (("gateway", gateway), ("cdn", cdn), ("control", control)):
        server.start(f"sandbox-{name}")
    endpoints = {
        "s3": s3_url,
        "presign": f"http://{host}:{gateway.port}{layout.PRESIGN_ROUTE}",
        "cdn": f"http://{host}:{cdn.port}",
        "control": f"http://{host}:{control.port}",
        "bucket": layout.BUCKET,
        "region": layout.REGION,
        "distribution_id": layout.DISTRIBUTION_ID,
        "lambda_function": layout.LAMBDA_FUNCTION,
        "app_origins": list(layout.APP_ORIGINS),
        "pid": os.getpid(),
    }
    return Running(
        servers=[s3_server, gateway, cdn, control], endpoints=endpoints, deferred=[cold.client, _import_request_path]
    )


def _import_request_path() -> None:
    """Import (and, without cached bytecode, compile) what the first S3 request would otherwise load."""
    import services.aws_model.s3cors
    import services.sandbox.access
    import services.sandbox.sigv  # noqa: F401


def _wait_for_parent(done: threading.Event) -> None:
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except (OSError, ValueError):
        pass
    done.set()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--break", dest="breaks", action="append", default=[], choices=switches.SWITCH_NAMES)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="sandbox: %(message)s")
    done = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: done.set())
    try:
        running = start(args.host, tuple(args.breaks))
    except Exception as err:  # noqa: BLE001 - reported to the parent as one line, then exit non-zero
        print(json.dumps({"ready": False, "error": f"{type(err).__name__}: {err}"}), flush=True)
        return 1
    print(json.dumps({"ready": True, **running.endpoints}), flush=True)
    sys.stdout = sys.stderr  # nothing else may fill the pipe the parent stopped reading
    running.warm_up()
    threading.Thread(target=_wait_for_parent, args=(done,), daemon=True).start()
    done.wait()
    running.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
