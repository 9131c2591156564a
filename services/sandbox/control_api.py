"""The sandbox's control API: break switches and CDN invalidations over HTTP (the console's client is control.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from services.sandbox import switches
from services.sandbox.httpd import QuietHandler, Server
from services.sandbox.state import PipelineState


def make_control(host: str, sandbox: PipelineState, prepare: Callable[[], None] = lambda: None) -> Server:
    """The sandbox's own control API: break switches and CDN invalidations. Listing the switches needs nothing
    more than the state; ``prepare`` is called before a switch changes the account (server.Account builds it)."""

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
            prepare()
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
