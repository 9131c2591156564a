"""Which identity and configuration the environment describes, as a digest: a cache key that changes with the
variables and holds no secret. boto3-free, so the first page can key its caches without importing boto3."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence


def environment_digest(env: Mapping[str, str], prefixes: tuple[str, ...] = ("AWS_",), extra: Sequence[str] = ()) -> str:
    """A digest of the variables starting with ``prefixes`` (boto3's chain reads credentials from the ``AWS_*``
    ones), and of ``extra``: a cache key that changes with the identity and holds no secret."""
    parts = [*extra, *sorted(f"{name}={value}" for name, value in env.items() if name.startswith(prefixes))]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()
