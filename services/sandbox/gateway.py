"""API Gateway (HTTP API) in front of the shipped presign function.

Turns each HTTP request into an HTTP API v2 (payload format 2.0) event, calls the real handler and
turns its reply back into HTTP, as API Gateway's Lambda proxy integration does. The API's CORS
configuration answers preflights itself, as HTTP APIs with CORS configured do.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from services.sandbox.httpd import QuietHandler, Server

Handler = Callable[[Mapping[str, Any], Any], Mapping[str, Any]]


@dataclass
class ApiCors:
    allow_origins: tuple[str, ...]
    allow_headers: tuple[str, ...] = ("content-type", "x-extension")
    allow_methods: tuple[str, ...] = ("GET", "OPTIONS")
    max_age: int = 300

    def origin_allowed(self, origin: str) -> bool:
        return "*" in self.allow_origins or origin in self.allow_origins


def http_api_event(
    method: str, target: str, headers: Mapping[str, str], body: bytes, source_ip: str, route: str
) -> dict[str, Any]:
    """The event API Gateway HTTP APIs send with payload format version 2.0."""
    parts = urlsplit(target)
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        lowered[key] = f"{lowered[key]},{value}" if key in lowered else value
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": f"ANY {route}",
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": lowered,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "sandboxapi",
            "domainName": lowered.get("host", "localhost"),
            "http": {
                "method": method,
                "path": parts.path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": f"ANY {route}",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "body": base64.b64encode(body).decode() if body else None,
        "isBase64Encoded": bool(body),
    }


def lambda_reply_to_http(reply: Any) -> tuple[int, dict[str, str], bytes]:
    """Map a proxy-integration reply to HTTP; a malformed one is a 500 as API Gateway gives it."""
    if not isinstance(reply, Mapping) or "statusCode" not in reply:
        # payload 2.0 also accepts a bare JSON value as a 200 body
        try:
            return 200, {"Content-Type": "application/json"}, json.dumps(reply).encode()
        except (TypeError, ValueError):
            return 500, {"Content-Type": "application/json"}, b'{"message":"Internal Server Error"}'
    headers = {str(k): str(v) for k, v in (reply.get("headers") or {}).items()}
    body = reply.get("body") or ""
    data = base64.b64decode(body) if reply.get("isBase64Encoded") else str(body).encode()
    return int(reply["statusCode"]), headers, data


def make_gateway(host: str, port: int, handler: Handler, cors: ApiCors, route: str) -> Server:
    class GatewayHandler(QuietHandler):
        def _cors_headers(self, origin: str | None) -> dict[str, str]:
            if not origin or not cors.origin_allowed(origin):
                return {}
            allowed = "*" if "*" in cors.allow_origins else origin
            return {"Access-Control-Allow-Origin": allowed, "Vary": "Origin"}

        def _serve(self) -> None:
            method = self.command.upper()
            origin = self.headers.get("Origin")
            body = self.read_body()
            if method == "OPTIONS" and origin and self.headers.get("Access-Control-Request-Method"):
                self._preflight(origin)
                return
            if urlsplit(self.path).path.rstrip("/") != route.rstrip("/"):
                self.send_reply(404, {"Content-Type": "application/json"}, b'{"message":"Not Found"}')
                return
            event = http_api_event(method, self.path, dict(self.headers.items()), body, self.client_address[0], route)
            try:
                status, headers, data = lambda_reply_to_http(handler(event, None))
            except Exception:  # noqa: BLE001 - a crashing function is a 500 from API Gateway, as on AWS
                status, headers, data = (
                    500,
                    {"Content-Type": "application/json"},
                    b'{"message":"Internal Server Error"}',
                )
            if origin:
                # HTTP APIs with CORS configured replace the integration's CORS headers with their own
                headers = {k: v for k, v in headers.items() if not k.lower().startswith("access-control-")}
                headers.update(self._cors_headers(origin))
            headers.setdefault("apigw-requestid", event["requestContext"]["requestId"])
            self.send_reply(status, headers, data, head=method == "HEAD")

        def _preflight(self, origin: str) -> None:
            method = (self.headers.get("Access-Control-Request-Method") or "").upper()
            wanted = [
                h.strip().lower()
                for h in (self.headers.get("Access-Control-Request-Headers") or "").split(",")
                if h.strip()
            ]
            allowed_headers = {h.lower() for h in cors.allow_headers}
            ok = (
                cors.origin_allowed(origin)
                and method in cors.allow_methods
                and ("*" in allowed_headers or all(h in allowed_headers for h in wanted))
            )
            if not ok:
                # API Gateway answers a disallowed preflight with 204 and no CORS headers; the browser blocks
                self.send_reply(204, {}, b"")
                return
            headers = self._cors_headers(origin)
            headers.update(
                {
                    "Access-Control-Allow-Methods": ",".join(cors.allow_methods),
                    "Access-Control-Allow-Headers": ",".join(cors.allow_headers),
                    "Access-Control-Max-Age": str(cors.max_age),
                }
            )
            self.send_reply(204, headers, b"")

        do_GET = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_HEAD = do_PATCH = _serve

    return Server((host, port), GatewayHandler)
