"""The pipeline's image formats (PNG, JPEG, GIF, WebP): extensions, MIME types, the size/pixel/frame caps, what an
inspected image is (`ImageInfo`) and how a file's name is shown. Pure data and small pure functions."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath

#: Pillow format name -> (canonical extension, MIME type, other extensions naming the same format)
FORMATS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "PNG": ("png", "image/png", ()),
    "JPEG": ("jpg", "image/jpeg", ("jpeg",)),
    "GIF": ("gif", "image/gif", ()),
    "WEBP": ("webp", "image/webp", ()),
}
ALLOWED_EXTENSIONS = ("png", "jpg", "jpeg", "gif", "webp")
#: extension (as the presign endpoint takes it in x-extension) -> the MIME type an object of it is stored as
MIME_BY_EXTENSION: dict[str, str] = {name: mime for ext, mime, aliases in FORMATS.values() for name in (ext, *aliases)}
#: how each format's bytes begin (WebP: "RIFF", four size bytes, then "WEBP"), for a look at an object's first bytes
SIGNATURES: tuple[tuple[str, bytes], ...] = (
    ("PNG", b"\x89PNG\r\n\x1a\n"),
    ("JPEG", b"\xff\xd8\xff"),
    ("GIF", b"GIF87a"),
    ("GIF", b"GIF89a"),
)
#: the bytes :func:`sniff` needs to decide (the WebP signature ends at byte 12)
SIGNATURE_BYTES = 12
MAX_BYTES = 25 * 1024 * 1024  # keep in step with server.maxUploadSize in .streamlit/config.toml
MAX_PIXELS = 50_000_000  # per frame; far above any photo, far below a decompression bomb
MAX_FRAMES = 1_000
#: Pillow opens a JPEG that carries extra MPF pictures (phones, cameras) as "MPO": still a JPEG to a browser
SAME_FORMAT = {"MPO": "JPEG"}


@dataclass(frozen=True)
class ImageInfo:
    """What the bytes are. ``ext`` is what the presign endpoint is asked for."""

    ext: str
    mime: str
    format: str
    width: int
    height: int
    frames: int
    size: int
    sha256: str
    name_mismatch: str | None = None  # set when the file's own extension says something else


def file_extension(name: str) -> str:
    """The last extension of a file name, lower case, without the dot ("" when there is none)."""
    base = PureWindowsPath(PurePosixPath(name).name).name
    suffix = PurePosixPath(base).suffix
    return suffix[1:].lower() if suffix else ""


def sniff(first_bytes: bytes) -> str | None:
    """The pipeline format (a key of FORMATS) that ``first_bytes`` begin as, or None: not one of them.

    A look at the signature only, for objects already stored (the repair reads the first bytes of each, not the
    whole object); a file about to be uploaded gets the full ``inspect_image``.
    """
    for fmt, signature in SIGNATURES:
        if first_bytes.startswith(signature):
            return fmt
    if first_bytes[:4] == b"RIFF" and first_bytes[8:12] == b"WEBP":
        return "WEBP"
    return None


def display_name(name: str, limit: int = 120) -> str:
    """A file name safe to show: last path component, no control or bidi-override characters."""
    base = PureWindowsPath(PurePosixPath(name).name).name
    cleaned = "".join(ch for ch in base if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co"))
    cleaned = cleaned.strip() or "(unnamed file)"
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


# --- polyglots: a file that is an image and something else --------------------------------------------


# --- stripping metadata -------------------------------------------------------------------------------
