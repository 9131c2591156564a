"""Decide what an upload is from its bytes (Pillow, restricted to PNG/JPEG/GIF/WebP), never its name: size, pixel and
frame caps before decoding, a full decode of every frame, then the polyglot walk. Raises InvalidImage, naming why."""

from __future__ import annotations

import hashlib
import io
import struct
import warnings

from PIL import Image, UnidentifiedImageError

from services.core.errors import InvalidImage
from services.pipeline.images import formats  # the caps are read at call time (tests lower them)
from services.pipeline.images.formats import FORMATS, SAME_FORMAT, ImageInfo, file_extension
from services.pipeline.images.polyglot import _check_polyglot, _unended

#: what Pillow raises on damaged input, across formats (struct.error from GIF frame counting among them)
DECODE_ERRORS: tuple[type[BaseException], ...] = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error)


def _check_pixels(width: int, height: int) -> None:
    if width * height > formats.MAX_PIXELS:
        raise InvalidImage(
            f"{width}×{height} pixels is over the limit of {formats.MAX_PIXELS:,} pixels (a decompression bomb?)"
        )


def _open(data: bytes) -> Image.Image:
    """Open ``data`` as one of the pipeline's formats, its header read and nothing decoded yet.

    Call it with Pillow's DecompressionBombWarning turned into an error (``warnings.simplefilter("error", ...)``).
    """
    try:
        return Image.open(io.BytesIO(data), formats=list(FORMATS))
    except UnidentifiedImageError as err:
        raise InvalidImage(
            "the bytes are not a PNG, JPEG, GIF or WebP image (whatever the file name says); "
            "export it as one of those formats"
        ) from err
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise InvalidImage(f"the image has too many pixels to decode safely ({err})") from err
    except DECODE_ERRORS as err:
        raise InvalidImage(f"the image's header is damaged or truncated and cannot be read ({err})") from err


def _format_of(img: Image.Image) -> str:
    fmt = img.format or ""
    return SAME_FORMAT.get(fmt, fmt)


def _probe(data: bytes) -> tuple[str, int, int]:
    """Identify the format from the header alone; nothing is decoded yet."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with _open(data) as probe:
            return _format_of(probe), *probe.size


def _too_many_frames(count: str) -> InvalidImage:
    return InvalidImage(f"the animation has {count} frames, over the limit of {formats.MAX_FRAMES:,} frames")


def _decode_fully(img: Image.Image) -> int:
    """Decode every frame of ``img`` (opened by :func:`_open`); raises on truncation, corruption and oversized
    images. Returns the frame count.

    The frame count is decided before any frame is decoded: from the header for APNG (acTL) and WebP
    (the demuxer); a GIF's was counted up to the cap before, by :func:`_gif_layout`.
    """
    frames = int(getattr(img, "n_frames", 1) or 1)
    if frames > formats.MAX_FRAMES:
        raise _too_many_frames(f"{frames:,}")
    for index in range(frames):
        img.seek(index)
        img.load()
    return frames


def inspect_image(name: str, data: bytes) -> ImageInfo:
    """Accept ``data`` as one of the pipeline's image formats, or raise InvalidImage saying why."""
    if not data:
        raise InvalidImage("the file is empty (0 bytes); choose the image again")
    if len(data) > formats.MAX_BYTES:
        raise InvalidImage(f"the file is {len(data):,} bytes, over the limit of {formats.MAX_BYTES:,} bytes")
    # one Image for the header and the decode (opening it twice cost ~0.1 ms per file); the checks in between
    # read the bytes only. DecompressionBombWarning is an error in the whole block
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with _open(data) as img:
            fmt, (width, height) = _format_of(img), img.size
            _check_pixels(width, height)
            layout = _check_polyglot(data, fmt)
            if layout.frames > formats.MAX_FRAMES:  # a GIF's, counted by a walk that stopped at the cap
                raise _too_many_frames(f"more than {formats.MAX_FRAMES:,}")
            try:
                frames = _decode_fully(img)
            except InvalidImage:
                raise
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
                raise InvalidImage(f"the image has too many pixels to decode safely ({err})") from err
            except DECODE_ERRORS as err:
                raise InvalidImage(f"the {fmt} image is damaged or truncated and cannot be decoded ({err})") from err
    if layout.end is None:  # decodable, yet its structure does not end where it should
        raise _unended(fmt)
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
