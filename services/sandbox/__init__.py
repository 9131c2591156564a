"""The embedded sandbox: a local pipeline on loopback that behaves like the AWS one.

``Sandbox`` and ``Endpoints`` are loaded on first use (PEP 562), so that importing a light part of the package
(``launch``, ``layout``; the sandbox's own process imports most of it) does not bring the console's handle and
requests along with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from services.sandbox.process import Endpoints, Sandbox

__all__ = ["Endpoints", "Sandbox"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from services.sandbox import process

        return getattr(process, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
