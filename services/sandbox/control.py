"""The console's client for the sandbox's control API: break switches and CDN invalidations."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import requests

from services.core.errors import SandboxError
from services.core.transport import DeadlineExceeded, exchange, new_session

#: seconds a control call may take: the sandbox runs on loopback and answers at once when it is up
CONTROL_DEADLINE = 10.0
#: the largest control answer read (the switch list is a few KB)
CONTROL_BODY_LIMIT = 1024 * 1024


@dataclass(frozen=True)
class SwitchState:
    name: str
    title: str
    symptom: str
    on: bool


def _call(method: str, url: str, payload: Any = None) -> Any:
    data = None if payload is None else json.dumps(payload).encode()
    headers = {"Accept": "application/json"} | ({} if data is None else {"Content-Type": "application/json"})
    try:
        with new_session(pool_size=1) as session:
            reply = exchange(
                session,
                method,
                url,
                headers=headers,
                data=data,
                deadline_s=CONTROL_DEADLINE,
                limit=CONTROL_BODY_LIMIT,
            )
    except (requests.RequestException, DeadlineExceeded) as err:
        raise SandboxError(
            f"the sandbox's control API did not answer ({type(err).__name__}); is the sandbox running?"
        ) from err
    text = reply.body.decode("utf-8", "replace")
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if reply.status != 200:
        message = (doc.get("message") if isinstance(doc, dict) else None) or text
        raise SandboxError(f"the sandbox refused {method} {url.rsplit('/_sandbox', 1)[-1]}: {message}")
    if doc is None:
        raise SandboxError(f"the sandbox's control API answered {method} with something other than JSON")
    return doc


def _states(doc: dict[str, Any]) -> list[SwitchState]:
    return [SwitchState(s["name"], s["title"], s["symptom"], bool(s["on"])) for s in doc["switches"]]


def list_switches(control_url: str) -> list[SwitchState]:
    return _states(_call("GET", f"{control_url}/_sandbox/switches"))


def set_switch(control_url: str, name: str, on: bool) -> list[SwitchState]:
    """Turn one break switch on or off; returns every switch's state afterwards."""
    return _states(_call("PUT", f"{control_url}/_sandbox/switches/{name}", {"on": on}))


def invalidate(control_url: str, paths: list[str]) -> int:
    """Clear CDN cache entries (``/*`` for all), as a CloudFront invalidation does; returns how many."""
    return int(_call("POST", f"{control_url}/_sandbox/invalidate", {"paths": paths})["cleared"])
