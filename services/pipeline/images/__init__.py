"""Decide what an uploaded file really is, from its bytes, before anything is sent.

The web app trusts the file name; the console does not. A file is accepted only when Pillow,
restricted to the pipeline's formats, recognises it and can decode it completely (``identify``), and when it is
nothing else besides: no file joined after the picture's end, no HTML/script markup where a browser
or a page showing the metadata could pick it up, no ZIP hidden inside (polyglots, ``polyglot``).

On request, a validated image is re-encoded without its metadata (``strip``), so a
photo's EXIF GPS position does not end up on a public CDN. Formats, caps and names: ``formats``.
"""

from services.pipeline.images.formats import (
    ALLOWED_EXTENSIONS,
    FORMATS,
    MAX_BYTES,
    MAX_FRAMES,
    MAX_PIXELS,
    MIME_BY_EXTENSION,
    SIGNATURE_BYTES,
    ImageInfo,
    display_name,
    file_extension,
    sniff,
)
from services.pipeline.images.identify import inspect_image
from services.pipeline.images.polyglot import MAX_PADDING, polyglot_layout
from services.pipeline.images.strip import StrippedImage, strip_metadata

__all__ = [
    "ALLOWED_EXTENSIONS",
    "FORMATS",
    "MAX_BYTES",
    "MAX_FRAMES",
    "MAX_PADDING",
    "MAX_PIXELS",
    "MIME_BY_EXTENSION",
    "SIGNATURE_BYTES",
    "ImageInfo",
    "StrippedImage",
    "display_name",
    "file_extension",
    "inspect_image",
    "polyglot_layout",
    "sniff",
    "strip_metadata",
]
