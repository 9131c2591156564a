"""A bucket prefix stored the way the seed's pipeline stores it, for the repair's tests and bench.

Seed-style objects: PNG bytes (a few JPEGs named .png) stored as ``application/png`` with no Cache-Control, some
with user metadata, a Content-Disposition, tags, another storage class or SSE-KMS. Beside them: images stored
right (``image/png`` with a long Cache-Control) and non-images named ``.png``.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from services.checks.cdn import LONG_CACHE
from tests.support import image_bytes

__all__ = ["LONG_CACHE", "RepairFixture", "put_seed_prefix"]


@dataclass
class RepairFixture:
    bucket: str
    prefix: str
    seed: dict[str, bytes] = field(default_factory=dict)  # key -> bytes, stored application/png
    seed_types: dict[str, str] = field(default_factory=dict)  # key -> the type its bytes are
    right: dict[str, bytes] = field(default_factory=dict)  # stored image/png with LONG_CACHE
    not_images: dict[str, bytes] = field(default_factory=dict)
    kms_key: str | None = None
    special: dict[str, str] = field(default_factory=dict)  # role -> key


def put_seed_prefix(
    s3: Any, bucket: str, *, seed: int = 200, right: int = 20, not_images: int = 10, kms: Any = None, workers: int = 8
) -> RepairFixture:
    """Put a fresh unique prefix; returns what was put (the prefix ends in '/')."""
    fixture = RepairFixture(bucket, f"repair-{uuid.uuid4().hex[:10]}/")
    png = image_bytes("PNG", (8, 6), "purple")
    jpeg = image_bytes("JPEG", (8, 6), "orange")
    puts: list[dict[str, Any]] = []
    for i in range(seed):
        key = f"{fixture.prefix}seed/{i:05d}.png"
        body = jpeg if i % 100 == 7 else png + i.to_bytes(4, "big")  # distinct bytes, a JPEG named .png now and then
        fixture.seed[key] = body
        fixture.seed_types[key] = "image/jpeg" if body is jpeg else "image/png"
        puts.append({"Key": key, "Body": body, "ContentType": "application/png"})
    specials = {
        "metadata": {
            "Metadata": {"uploaded-by": "seed", "team": "web"},
            "ContentDisposition": 'inline; filename="a.png"',
        },
        "tagged": {"Tagging": "team=web&kept=yes", "ContentLanguage": "en"},
        "infrequent": {"StorageClass": "STANDARD_IA"},
    }
    for (role, extra), put in zip(specials.items(), puts[1:], strict=False):
        put.update(extra)
        fixture.special[role] = put["Key"]
    if kms is not None and seed > 5:
        fixture.kms_key = kms.create_key()["KeyMetadata"]["Arn"]
        puts[5].update({"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": fixture.kms_key})
        fixture.special["kms"] = puts[5]["Key"]
    for i in range(right):
        key = f"{fixture.prefix}right/{i:05d}.png"
        fixture.right[key] = png
        puts.append({"Key": key, "Body": png, "ContentType": "image/png", "CacheControl": LONG_CACHE})
    for i in range(not_images):
        key = f"{fixture.prefix}text/{i:05d}.png"
        body = b"<html>not a picture</html>\n" if i % 2 else b"just text\n"
        fixture.not_images[key] = body
        puts.append({"Key": key, "Body": body, "ContentType": "application/png"})

    def put(args: dict[str, Any]) -> None:
        s3.put_object(Bucket=bucket, **args)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(put, puts))
    return fixture
