"""The sandbox process: a local pipeline on loopback, started by ``Sandbox.start()``.

Runs moto's S3 (global CORS off) behind a port of its own, the shipped presign function behind an
emulated API Gateway, and an emulated CloudFront in front of the bucket. Prints one JSON line with the
endpoints when ready, then serves until its standard input closes (the console exited) or it is
signalled.

Start-up overlaps the console's first page, which needs only the control API's list of switches; so the
ready line comes as soon as every endpoint listens, and the account (moto's applications imported, the
account's configuration written into its backends in process, the switches applied: ``Account``) is built
on the first request that needs it, or by the warm-up once the console has drawn its first page, together
with the function's own boto3 client (its cold start). A request that comes first waits for the build.

This module wires the parts together: the S3 endpoint runner (``wsgi.py``), the function's host
(``lambda_host.py``), the pipeline's state (``state.py``) and the control API (``control_api.py``).
"""

from __future__ import annotations

import os

os.environ.setdefault("MOTO_DISABLE_GLOBAL_CORS", "true")  # before moto is imported: S3 CORS must be the bucket's own

import argparse
import contextlib
import json
import logging
import signal
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime
from typing import Any
from xml.sax.saxutils import escape

from werkzeug.serving import make_server

from presign_function.lambda_function import HandlerConfig, make_s3_client
from services.sandbox import layout, switches
from services.sandbox.cdn import EdgeCache, OriginReply, make_cdn
from services.sandbox.control_api import make_control
from services.sandbox.gateway import ApiCors, make_gateway
from services.sandbox.lambda_host import SIGNERS, ColdStart, Live, make_function, sign_query_params
from services.sandbox.s3front import IDENTITIES, S3Front
from services.sandbox.state import PipelineState, configure_account, distribution_policy
from services.sandbox.wsgi import S3RequestHandler

LOG = logging.getLogger("sandbox")
#: how the sandbox's function addresses the bucket in the URLs it signs
ADDRESSING_STYLES = ("virtual", "path")


#: the warm-up starts this long after the console first asks for the switches (its first page is then being drawn,
#: and building the account meanwhile would compete with it for the machine)...
FIRST_PAGE_GRACE = 1.5
#: ...or this long after the ready line, when nothing asks (the sandbox started by the CLI, a test)
WARM_UP_LATEST = 5.0


class Account:
    """The sandbox's AWS side, built once, on first use: moto's applications imported and handed to the S3 front,
    the account's configuration written into moto's backends (``configure_account``), and the switches the
    sandbox started with applied. ``ensure`` builds it, or waits for the build under way."""

    def __init__(self, front: S3Front, state: PipelineState) -> None:
        self._front = front
        self._state = state
        self._lock = threading.Lock()
        self._built = False

    @property
    def built(self) -> bool:
        return self._built

    def ensure(self) -> None:
        with self._lock:
            if self._built:
                return
            from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

            self._front.use(DomainDispatcherApplication(create_backend_app), create_backend_app("s3"))
            configure_account()
            self._state.apply(self._state.active)
            self._built = True


@dataclass
class Running:
    servers: list[Any]
    endpoints: dict[str, Any]
    #: the account, built on first use (or by ``warm_up``)
    account: Account
    #: work that start-up leaves for later (the account, the function's cold start), run by ``warm_up``
    deferred: list[Callable[[], Any]] = field(default_factory=list)
    #: set when the console first asks for the switches (its first page is being drawn)
    first_page: threading.Event = field(default_factory=threading.Event)

    def warm_up(self, grace: float = FIRST_PAGE_GRACE, latest: float = WARM_UP_LATEST) -> None:
        """Run the deferred work on a background thread, ``grace`` seconds after the console's first page asked
        for the switches (or ``latest`` seconds from now); a request that needs it first builds it or waits."""

        def run() -> None:
            if self.first_page.wait(latest):
                time.sleep(grace)
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


#: S3's CORS headers, which CloudFront passes on (and caches) with the reply
CORS_REPLY_HEADERS = (
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Methods",
    "Access-Control-Expose-Headers",
    "Access-Control-Max-Age",
    "Access-Control-Allow-Credentials",
    "Vary",
)


def make_origin_fetch(front: S3Front, bucket: str) -> Callable[[str, str | None], OriginReply]:
    """Read an object as the distribution does: as cloudfront.amazonaws.com with this distribution's ARN
    (Origin Access Control), judged by the S3 front exactly as a signed request from it would be, in process;
    with the viewer's ``Origin`` when the cache behaviour forwards it (S3 then adds its CORS headers)."""
    identity = IDENTITIES[layout.CDN_KEY][1]

    def fetch(key: str, origin: str | None = None) -> OriginReply:
        try:
            status, reply_headers, body = front.read_object(identity, bucket, key, origin=origin)
        except Exception:  # moto failed: S3 answers 500 InternalError, and so does the origin here (logged)
            LOG.exception("the CDN's origin read of %r failed", key)
            error = {"Code": "InternalError", "Message": "We encountered an internal error. Please try again."}
            return OriginReply(500, {"Content-Type": "application/xml", "Server": "AmazonS3"}, _error_xml(error, key))
        found = {name.lower(): value for name, value in reply_headers.items()}
        cors = {header: found[header.lower()] for header in CORS_REPLY_HEADERS if found.get(header.lower())}
        if status >= 300:
            error_headers = {"Content-Type": "application/xml", "Server": "AmazonS3", **cors}
            return OriginReply(status, error_headers, _error_xml(_error_of(body), key))
        headers = {"Server": "AmazonS3", "Accept-Ranges": "bytes", **cors}
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


def start(host: str = "127.0.0.1", breaks: tuple[str, ...] = (), addressing: str = "virtual") -> Running:
    """Every endpoint listening; the account is built on first use (``Account``)."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("presign_function.lambda_function").setLevel(logging.WARNING)  # one line per upload is noise here
    front = S3Front()  # given moto's applications by the account, as it is built
    s3_server = make_server(host, 0, front, threaded=True, request_handler=S3RequestHandler)
    port = s3_server.server_port
    s3_url = f"http://{host}:{port}"

    # The function signs as its role, virtual-hosted on a *.localhost name, as AWS issues URLs; or path-style on
    # the endpoint itself (http://127.0.0.1:<port>/<bucket>/<key>), as LocalStack, MinIO and moto issue them.
    fn_config = HandlerConfig(bucket=layout.BUCKET, region=layout.REGION, expires_in=300, addressing_style=addressing)
    fn_endpoint = s3_url if addressing == "path" else f"http://s3.{layout.REGION}.localhost:{port}"
    live = Live(function=fn_config)

    def function_client(config: HandlerConfig, endpoint_url: str) -> ColdStart:
        """The function's S3 client, signing as its role, built on first use."""

        def build() -> Any:
            client = make_s3_client(
                config,
                endpoint_url=endpoint_url,
                aws_access_key_id=layout.PRESIGN_ROLE_KEY,
                aws_secret_access_key=layout.PRESIGN_ROLE_SECRET,
            )
            sign_query_params(client, live)  # function-adds-query-checksums signs JS SDK v3's checksum parameters
            return client

        return ColdStart(build)

    cold = function_client(fn_config, fn_endpoint)
    endpoints_by_kind = {"regional": fn_endpoint, "global": f"http://s3.localhost:{port}"}
    signers = {
        name: function_client(replace(fn_config, region=region), endpoints_by_kind[kind])
        for name, (region, kind) in SIGNERS.items()
    }
    api_cors = ApiCors(layout.APP_ORIGINS)
    gateway = make_gateway(host, 0, make_function(live, cold, signers), api_cors, layout.PRESIGN_ROUTE)
    edge_cache = EdgeCache()
    front.on_invalidation = edge_cache.invalidate
    cdn = make_cdn(host, 0, make_origin_fetch(front, layout.BUCKET), distribution_policy, edge_cache)
    # the switches it starts with are applied as the account is built, before any request is answered
    sandbox = PipelineState(live, api_cors, edge_cache, store=front.behaviour, active=frozenset(breaks))
    account = Account(front, sandbox)
    s3_server.app = _built_first(account, front)  # before it serves
    control = make_control(host, sandbox, prepare=account.ensure)
    first_page = threading.Event()
    control.before_serving = first_page.set
    gateway.before_serving = cdn.before_serving = account.ensure
    threading.Thread(target=s3_server.serve_forever, name="sandbox-s3", daemon=True).start()
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
        servers=[s3_server, gateway, cdn, control],
        endpoints=endpoints,
        account=account,
        deferred=[account.ensure, cold.client, _import_request_path],
        first_page=first_page,
    )


def _built_first(account: Account, app: Any) -> Callable[..., Any]:
    """``app`` (the S3 front), answering once the account is built; S3's 500 InternalError when it cannot be."""

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        try:
            account.ensure()
        except Exception:  # logged; answered as S3 answers its own failures
            LOG.exception("building the sandbox's account failed")
            error = {"Code": "InternalError", "Message": "The sandbox could not set up its account (see its log)."}
            start_response("500 Internal Server Error", [("Content-Type", "application/xml"), ("Server", "AmazonS3")])
            return [_error_xml(error, "")]
        return app(environ, start_response)

    return serve


def _import_request_path() -> None:
    """Import (and, without cached bytecode, compile) what the first S3 request would otherwise load."""
    import services.sandbox.access
    import services.sandbox.cors_http
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
    parser.add_argument("--addressing", default="virtual", choices=ADDRESSING_STYLES)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="sandbox: %(message)s")
    done = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: done.set())
    try:
        running = start(args.host, tuple(args.breaks), args.addressing)
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


def _exit_now(code: int) -> None:
    """Exit without the interpreter's finalization: a daemon thread (the warm-up, a request that is building the
    account) may hold the import lock or be inside moto at that moment, and finalization could then wait forever;
    the servers are stopped and nothing is left to flush but the standard streams."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    _exit_now(main())
