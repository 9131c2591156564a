"""The checks' canary uploads: one tiny PNG a check run puts through the pipeline as the web app would.

The key is the presign endpoint's to choose, never the console's (as for every upload). So a canary asks for a
recognisable folder the way the shipped function allows it: the request header ``x-key-prefix: canary/``, which
``presign_function/lambda_function.py`` honours for that one allowlisted prefix and for no other value (the key
after it is still the function's fresh uuid). An endpoint that ignores the header (the seed's function) still
gets its canary checked; its key is then an ordinary uuid key, and only the run that made it knows it. Either way
the run removes its canary afterwards when writes are allowed, and Browse can hide the ``canary/`` folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from services.core.clients import CallTimedOut, bounded, shared_client
from services.core.settings import Settings
from services.core.transport import PROBE_DEADLINE

#: the folder canaries ask for; presign_function/lambda_function.py KEY_PREFIXES allows exactly this
CANARY_PREFIX = "canary/"
#: the request header that asks for it
KEY_PREFIX_HEADER = "x-key-prefix"

T = TypeVar("T")


def is_canary(key: str) -> bool:
    """A key under the canaries' folder."""
    return key.startswith(CANARY_PREFIX)


def without_canaries(entries: Sequence[T], key_of: Any = lambda entry: entry.key) -> tuple[list[T], int]:
    """``entries`` without the canaries, and how many were left out."""
    kept = [entry for entry in entries if not is_canary(key_of(entry))]
    return kept, len(entries) - len(kept)


def remove_canary(settings: Settings, key: str | None, cdn_key: str | None = None) -> str | None:
    """Delete a check run's canary when writes are allowed; one sentence on what happened (None: nothing to do).

    The run wrote the object itself a moment ago, so no name is asked for; with writes off it stays, and says so.
    ``cdn_key``: the key the run read through the CDN (cached there since). Its path is not invalidated: the key
    is a fresh uuid nothing links to, and CloudFront bills invalidation paths past the first 1,000 a month
    (https://aws.amazon.com/cloudfront/pricing/, $0.005 a path), which a ``watch --every 5m`` alone would pass in
    four days; the copy expires with the distribution's TTL."""
    if not key:
        return None
    if not settings.allow_writes:
        return f"The canary {key} stays in the bucket: writes are off (with them on, each run removes its canary)."
    try:  # bounded: botocore alone would wait on an S3 that drips its answer (the run has ended by now)
        bounded(
            lambda: shared_client("s3", settings.aws).delete_object(Bucket=settings.bucket, Key=key), PROBE_DEADLINE
        )
    except CallTimedOut as err:
        return f"The canary {key} could not be removed (S3 gave {err}); delete it by hand."
    except (ClientError, BotoCoreError) as err:
        return f"The canary {key} could not be removed ({type(err).__name__}: {err}); delete it by hand."
    removed = f"The canary {key} was removed after the run"
    if cdn_key is None:
        return removed + "."
    return (
        f"{removed}; the copy the CDN cached of {cdn_key} expires with its TTL (not invalidated: nothing links to "
        "it, and CloudFront bills invalidation paths past 1,000 a month)."
    )
