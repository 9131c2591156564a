"""A sandbox process the benches start themselves: the real ``services.sandbox.server``, plus bench-only extras.

    python bench/_sandbox_host.py [--objects N] [--what-if NAME ...]

It runs ``services.sandbox.server.main`` unchanged (same endpoints, same ready line, exits when its standard
input closes), with two optional extras applied inside this process before the ready line:

- ``--objects N`` puts N small objects straight into moto's S3 backend (``s3_backends[account]["aws"]``), in
  the sandbox's bucket. Through the sandbox's HTTP front that would take ~100 objects/s; in-process it is
  tens of thousands per second. The objects are real moto keys: listing, HEAD and GET see them as any other.
- ``--what-if NAME`` applies a bench-only patch to measure a proposed sandbox fix (never used for the headline
  numbers). Known: ``moto-dispatch-cache`` (moto's dispatcher lists its package directory on every request;
  cache that list) and ``tcp-nodelay`` (the sandbox's HTTP servers set TCP_NODELAY on accepted sockets), both
  shipped in ``services/sandbox`` since (S3 requests no longer pass moto's dispatcher; the handlers set
  TCP_NODELAY), so they change nothing now and are kept so older commands still run; ``latency-30ms`` (not a
  fix: a model of network latency, 30 ms slept before every gateway, CDN and S3 reply).

The ready line gains ``bench_objects``, ``bench_seed_seconds`` and ``bench_what_if``.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MOTO_DISABLE_GLOBAL_CORS", "true")  # as the real sandbox, before moto is imported

WHAT_IFS = ("moto-dispatch-cache", "tcp-nodelay", "latency-30ms")
ADDED_LATENCY = 0.030
OBJECT_BODY = 256  # bytes per seeded object: the listing is what is measured, not the bodies


def bench_key(index: int, rng: random.Random) -> str:
    """Keys shaped like an image bucket's: ``<year>/<month>/<uuid>.<ext>``."""
    ext = ("png", "jpg", "webp", "gif")[index % 4]
    return f"{2021 + index % 5}/{(index // 5) % 12 + 1:02d}/{rng.randbytes(16).hex()}.{ext}"


def seed_objects(count: int) -> float:
    """Put ``count`` objects into moto's backend directly; returns the seconds it took."""
    from moto.s3.models import s3_backends

    from services.sandbox import layout

    backend = s3_backends[layout.ACCOUNT_ID]["aws"]
    rng = random.Random(20240601)
    started = time.perf_counter()
    for index in range(count):
        body = hashlib.sha256(index.to_bytes(8, "big")).digest() * (OBJECT_BODY // 32)
        backend.put_object(layout.BUCKET, bench_key(index, rng), body)
    return time.perf_counter() - started


def apply_what_if(name: str) -> None:
    if name == "moto-dispatch-cache":
        from moto import backends

        listed = tuple(backends.list_of_moto_modules())
        backends.list_of_moto_modules = functools.lru_cache(maxsize=1)(lambda: listed)
    elif name == "tcp-nodelay":
        from services.sandbox.httpd import QuietHandler
        from services.sandbox.wsgi import S3RequestHandler

        # the emulated services write headers and body separately: with Nagle on, a keep-alive client's
        # delayed ACK holds the body back ~40 ms
        QuietHandler.disable_nagle_algorithm = True
        S3RequestHandler.disable_nagle_algorithm = True
    elif name == "latency-30ms":
        # a model of a real network, not a fix: every reply of the gateway, the CDN and S3 waits 30 ms (a sleep,
        # no CPU), as a request to a nearby AWS region would
        from services.sandbox.httpd import QuietHandler
        from services.sandbox.s3front import S3Front

        send_reply, front_call = QuietHandler.send_reply, S3Front.__call__

        def slow_send_reply(self: QuietHandler, *args: Any, **kwargs: Any) -> None:
            time.sleep(ADDED_LATENCY)
            send_reply(self, *args, **kwargs)

        def slow_call(self: S3Front, environ: dict[str, Any], start_response: Any) -> Any:
            time.sleep(ADDED_LATENCY)
            return front_call(self, environ, start_response)

        QuietHandler.send_reply = slow_send_reply  # type: ignore[method-assign]
        S3Front.__call__ = slow_call  # type: ignore[method-assign]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--objects", type=int, default=0)
    parser.add_argument("--what-if", dest="what_if", action="append", default=[], choices=WHAT_IFS)
    args = parser.parse_args()

    from services.sandbox import server

    for name in args.what_if:
        apply_what_if(name)
    original_start = server.start

    def start(*args_: Any, **kwargs: Any) -> server.Running:  # server.start's own arguments, passed on
        running = original_start(*args_, **kwargs)
        running.account.ensure()  # the bucket the objects go in (built on first use otherwise)
        seconds = seed_objects(args.objects) if args.objects else 0.0
        running.endpoints.update(
            bench_objects=args.objects, bench_seed_seconds=round(seconds, 3), bench_what_if=args.what_if
        )
        return running

    server.start = start
    return server.main([])


if __name__ == "__main__":
    raise SystemExit(main())
