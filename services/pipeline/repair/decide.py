"""What an object stored by the pipeline should be labelled, decided from its bytes: pure, no I/O.

An object is relabelled only when its first bytes are one of the pipeline's image formats (decided as uploads
are, by the bytes, never by the key's extension). Anything else is reported and left as it is.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.pipeline.images import FORMATS, file_extension, sniff

#: the objects' plan actions (the ``action`` of the CLI's JSON objects)
FIX, OK, NOT_IMAGE, UNREADABLE = "fix", "ok", "not_image", "unreadable"
#: what happened when a fix was applied
FIXED, CHANGED, FAILED = "fixed", "changed_since_scan", "failed"
#: copy_object copies at most 5 GB in one call (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html)
MAX_COPY_BYTES = 5 * 1024**3
NO_TYPE = "(none)"


@dataclass(frozen=True)
class ObjectState:
    """An object as scanned: what S3 stores about it (GetObject's headers, the same HeadObject gives) and its first
    bytes. ``head`` holds only what a copy must carry over; ``size`` is the whole object's."""

    key: str
    etag: str
    size: int
    content_type: str | None
    cache_control: str | None
    first_bytes: bytes = field(repr=False)
    metadata: dict[str, str] = field(default_factory=dict)
    content_disposition: str | None = None
    content_encoding: str | None = None
    content_language: str | None = None
    expires: str | None = None  # the Expires header as S3 sent it
    website_redirect: str | None = None
    encryption: str | None = None  # AES256, aws:kms, aws:kms:dsse; None for none reported
    kms_key_id: str | None = None
    bucket_key: bool | None = None
    customer_key: bool = False  # SSE-C: the console does not hold the key and cannot copy it
    storage_class: str | None = None  # None: STANDARD (S3 does not send the header for it)
    lock_mode: str | None = None  # Object Lock: a copy is a new version, given the same retention and hold
    lock_until: datetime | None = None
    legal_hold: str | None = None
    error: str | None = None  # the bytes could not be read (archived, denied): never relabelled

    @property
    def stored_type(self) -> str:
        return self.content_type or NO_TYPE

    @property
    def multipart(self) -> bool:
        return "-" in self.etag


@dataclass(frozen=True)
class Planned:
    """One object's verdict: its action and, for a fix, the labels it gets."""

    key: str
    action: str
    stored_type: str
    new_type: str | None
    cache_control: str | None
    new_cache_control: str | None
    note: str | None = None
    extension_mismatch: bool = False  # the key's extension names another format than its bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "stored_type": self.stored_type,
            "new_type": self.new_type,
            "cache_control": self.cache_control,
            "new_cache_control": self.new_cache_control,
            "action": self.action,
            "note": self.note,
        }


def media_type(content_type: str | None) -> str:
    """The type/subtype of a Content-Type, lower case, parameters dropped (``image/PNG; x=1`` -> ``image/png``)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def extension_note(key: str, fmt: str) -> str | None:
    """Names a key whose extension says another format than its bytes (None when they agree)."""
    ext, _mime, aliases = FORMATS[fmt]
    own = file_extension(key)
    if own in (ext, *aliases):
        return None
    named = f".{own}" if own else "no extension"
    return f"the key has {named} but its bytes are {fmt}"


def decide(state: ObjectState, cache_control: str | None = None) -> Planned:
    """What ``state`` should become. ``cache_control``: the Cache-Control to set (None: keep the stored one)."""
    stored = state.stored_type
    if state.error is not None:
        return Planned(state.key, UNREADABLE, stored, None, state.cache_control, None, state.error)
    fmt = sniff(state.first_bytes)
    if fmt is None:
        ext = file_extension(state.key)
        named = f" although the key ends in .{ext}" if ext in _IMAGE_EXTENSIONS else ""
        refused = f"its bytes are not a PNG, JPEG, GIF or WebP image{named}: left as it is"
        return Planned(state.key, NOT_IMAGE, stored, None, state.cache_control, None, refused)
    new_type = FORMATS[fmt][1]
    new_cache = cache_control if cache_control is not None else state.cache_control
    note = extension_note(state.key, fmt)
    if media_type(state.content_type) == new_type and new_cache == state.cache_control:
        return Planned(state.key, OK, stored, new_type, state.cache_control, new_cache, note, note is not None)
    refusal = copy_refusal(state)
    if refusal is not None:
        return Planned(state.key, UNREADABLE, stored, new_type, state.cache_control, new_cache, refusal)
    return Planned(state.key, FIX, stored, new_type, state.cache_control, new_cache, note, note is not None)


_IMAGE_EXTENSIONS = {name for ext, _mime, aliases in FORMATS.values() for name in (ext, *aliases)}


def copy_refusal(state: ObjectState) -> str | None:
    """Why the object cannot be copied onto itself by this console, or None."""
    if state.customer_key:
        return "encrypted with a customer-provided key (SSE-C): the console does not hold the key to copy it"
    if state.size > MAX_COPY_BYTES:
        return "over 5 GB: CopyObject cannot copy it in one call (use the S3 Batch Operations job)"
    return None


@dataclass
class Tally:
    """The run's counts (never capped) and the objects worth showing (capped at ``limit``)."""

    limit: int = 1000
    scanned: int = 0
    to_fix: int = 0
    not_images: int = 0
    unreadable: int = 0
    mismatched: int = 0
    applied: int = 0
    failed_count: int = 0
    by_stored_type: Counter[str] = field(default_factory=Counter)
    objects: list[Planned] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)

    def count(self, planned: Planned) -> None:
        self.scanned += 1
        self.by_stored_type[planned.stored_type] += 1
        if planned.action == FIX:
            self.to_fix += 1
        elif planned.action == NOT_IMAGE:
            self.not_images += 1
        elif planned.action == UNREADABLE:
            self.unreadable += 1
        if planned.extension_mismatch:
            self.mismatched += 1
        if (planned.action != OK or planned.note) and len(self.objects) < self.limit:
            self.objects.append(planned)

    def outcome(self, key: str, result: str, reason: str | None = None, code: str | None = None) -> None:
        if result == FIXED:
            self.applied += 1
            return
        self.failed_count += 1
        if len(self.failed) < self.limit:
            self.failed.append({"key": key, "result": result, "reason": reason, "code": code})

    def counts(self) -> dict[str, Any]:
        """The counters alone (what a checkpoint keeps)."""
        return {
            "scanned": self.scanned,
            "to_fix": self.to_fix,
            "not_images": self.not_images,
            "unreadable": self.unreadable,
            "mismatched": self.mismatched,
            "applied": self.applied,
            "failed_count": self.failed_count,
            "by_stored_type": dict(self.by_stored_type),
        }

    def restore(self, counts: dict[str, Any]) -> None:
        """Continue from a checkpoint's counters."""
        for name in ("scanned", "to_fix", "not_images", "unreadable", "mismatched", "applied", "failed_count"):
            setattr(self, name, int(counts.get(name, 0)))
        self.by_stored_type = Counter({str(k): int(v) for k, v in dict(counts.get("by_stored_type", {})).items()})
