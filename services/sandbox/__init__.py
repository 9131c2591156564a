"""The embedded sandbox: a local pipeline on loopback that behaves like the AWS one."""

from services.sandbox.process import Endpoints, Sandbox

__all__ = ["Endpoints", "Sandbox"]
