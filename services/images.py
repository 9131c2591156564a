"""Decide what an uploaded file really is, from its bytes, before anything is sent.

The web app trusts the file name; the console does not. A file is accepted only when Pillow,
restricted to the pipeline's formats, recognises it and can decode it completely.
"""

from __future__ import annotations

import hashlib
import io
import struct
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath

from PIL import Image, UnidentifiedImageError

from services.errors import InvalidImage

#: Pillow format name -> (canonical extension, MIME type, other extensions naming the same format)
FORMATS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "PNG": ("png", "image/png", ()),
    "JPEG": ("jpg", "image/jpeg", ("jpeg",)),
    "GIF": ("gif", "image/gif", ()),
    "WEBP": ("webp", "image/webp", ()),
}
ALLOWED_EXTENSIONS = ("png", "jpg", "jpeg", "gif", "webp")
MAX_BYTES = 25 * 1024 * 1024  # keep in step with server.maxUploadSize in .streamlit/config.toml
MAX_PIXELS = 50_000_000  # per frame; far above any photo, far below a decompression bomb
MAX_FRAMES = 1_000


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


def display_name(name: str, limit: int = 120) -> str:
    """A file name safe to show: last path component, no control or bidi-override characters."""
    base = PureWindowsPath(PurePosixPath(name).name).name
    cleaned = "".join(ch for ch in base if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co"))
    cleaned = cleaned.strip() or "(unnamed file)"
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


#: what Pillow raises on damaged input, across formats (struct.error from GIF frame counting among them)
DECODE_ERRORS: tuple[type[BaseException], ...] = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error)


def _check_pixels(width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise InvalidImage(
            f"{width}×{height} pixels is over the limit of {MAX_PIXELS:,} pixels (a decompression bomb?)"
        )


def _probe(data: bytes) -> tuple[str, int, int]:
    """Identify the format from the header alone; nothing is decoded yet."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(FORMATS)) as probe:
                return probe.format or "", *probe.size
    except UnidentifiedImageError as err:
        raise InvalidImage(
            "the bytes are not a PNG, JPEG, GIF or WebP image (whatever the file name says); "
            "export it as one of those formats"
        ) from err
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise InvalidImage(f"the image has too many pixels to decode safely ({err})") from err
    except DECODE_ERRORS as err:
        raise InvalidImage(f"the image's header is damaged or truncated and cannot be read ({err})") from err


def _decode_fully(data: bytes, fmt: str) -> int:
    """Decode every frame; raises on truncation, corruption and oversized images. Returns the frame count."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(data), formats=[fmt]) as img:
            frames = int(getattr(img, "n_frames", 1) or 1)
            if frames > MAX_FRAMES:
                raise InvalidImage(f"{frames:,} frames is over the limit of {MAX_FRAMES:,}")
            for index in range(frames):
                img.seek(index)
                img.load()
    return frames


def inspect_image(name: str, data: bytes) -> ImageInfo:
    """Accept ``data`` as one of the pipeline's image formats, or raise InvalidImage saying why."""
    if not data:
        raise InvalidImage("the file is empty (0 bytes); choose the image again")
    if len(data) > MAX_BYTES:
        raise InvalidImage(f"the file is {len(data):,} bytes, over the limit of {MAX_BYTES:,} bytes")
    fmt, width, height = _probe(data)
    _check_pixels(width, height)
    try:
        frames = _decode_fully(data, fmt)
    except InvalidImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise InvalidImage(f"the image has too many pixels to decode safely ({err})") from err
    except DECODE_ERRORS as err:
        raise InvalidImage(f"the {fmt} image is damaged or truncated and cannot be decoded ({err})") from err
    ext, mime, aliases = FORMATS[fmt]
    own = file_extension(name)
    if own == ext or own in aliases:
        ext = own  # keep jpeg as jpeg: it is the same format
    mismatch = None if own in (ext, *aliases) else (own or "(none)")
    return ImageInfo(
        ext=ext,
        mime=mime,
        format=fmt,
        width=width,
        height=height,
        frames=frames,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        name_mismatch=mismatch,
    )
