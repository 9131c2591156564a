"""The console's client for the sandbox's control API: break switches and CDN invalidations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from services.core.errors import SandboxError
from services.core.transport import TIMEOUT


@dataclass(frozen=True)
class SwitchState:
    name: str
    title: str
    symptom: str
    on: bool


def _call(method: str, url: str, payload: Any = None) -> Any:
    try:
        reply = requests.request(method, url, json=payload, timeout=TIMEOUT)
    except requests.RequestException as err:
        raise SandboxError(
            f"the sandbox's control API did not answer ({type(err).__name__}); is the sandbox running?"
        ) from err
    if reply.status_code != 200:
        try:
            message = reply.json().get("message") or reply.text
        except ValueError:
            message = reply.text
        raise SandboxError(f"the sandbox refused {method} {url.rsplit('/_sandbox', 1)[-1]}: {message}")
    return reply.json()


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
