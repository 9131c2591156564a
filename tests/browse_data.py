"""Objects the browse tests share in the session's sandbox: a scale prefix and keys with awkward characters.

Idempotent: every module that needs them calls ``ensure_*`` (the fixtures in conftest.py do), and only what is
missing is put.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from services.core.clients import make_client
from services.pipeline.images import MIME_BY_EXTENSION
from services.sandbox import Sandbox
from tests.support import image_bytes

SCALE_PREFIX = "browse-scale/"
SCALE_COUNT = 2000  # ~100 puts/s into the sandbox: 2,000 keep the shared setup near 20 s
SCALE_KEYS = [f"{SCALE_PREFIX}{i:05d}.png" for i in range(SCALE_COUNT)]  # zero-padded: key order = number order
ODD_KEYS = {
    "browse-odd/a photo + more.png": "red",
    "browse-odd/사진 ü.png": "green",
    "browse-odd/c++ 100% (1).jpg": "blue",
    "browse-odd/tilde~plus+.webp": "yellow",
}
ODD_NON_IMAGE = "browse-odd/notes.txt"


def ensure_objects(s3: Any, bucket: str, wanted: dict[str, tuple[bytes, str]], workers: int = 16) -> None:
    """Put every wanted key that is not in the bucket yet (idempotent: the modules share one sandbox)."""
    prefixes = {key.split("/", 1)[0] + "/" for key in wanted}
    present = {
        obj["Key"]
        for prefix in prefixes
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for obj in page.get("Contents", [])
    }

    def put(key: str) -> None:
        body, content_type = wanted[key]
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(put, [key for key in wanted if key not in present]))


def ensure_scale_objects(sandbox: Sandbox) -> list[str]:
    """SCALE_COUNT small PNGs under SCALE_PREFIX (about 20 s the first time in a session; then one listing)."""
    s3 = make_client("s3", sandbox.aws_target(), max_pool_connections=16)
    body = image_bytes(size=(16, 12), colour="purple")
    ensure_objects(s3, sandbox.endpoints.bucket, {key: (body, "image/png") for key in SCALE_KEYS})
    return SCALE_KEYS


def ensure_odd_objects(sandbox: Sandbox) -> dict[str, bytes]:
    """Keys with spaces, unicode, `+`, `%`, `~` and parentheses, each a distinct image; plus one text file."""
    bodies = {key: image_bytes({"jpg": "JPEG", "webp": "WEBP"}.get(key.rsplit(".", 1)[-1], "PNG"), colour=colour)
              for key, colour in ODD_KEYS.items()}  # fmt: skip
    wanted = {key: (body, MIME_BY_EXTENSION[key.rsplit(".", 1)[-1]]) for key, body in bodies.items()}
    wanted[ODD_NON_IMAGE] = (b"not an image\n", "text/plain")
    ensure_objects(make_client("s3", sandbox.aws_target()), sandbox.endpoints.bucket, wanted)
    return bodies
