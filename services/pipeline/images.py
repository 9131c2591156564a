"""Decide what an uploaded file really is, from its bytes, before anything is sent.

The web app trusts the file name; the console does not. A file is accepted only when Pillow,
restricted to the pipeline's formats, recognises it and can decode it completely, and when it is
nothing else besides: no file joined after the picture's end, no HTML/script markup where a browser
or a page showing the metadata could pick it up, no ZIP hidden inside (polyglots, see
:func:`polyglot_layout`).

On request, a validated image is re-encoded without its metadata (:func:`strip_metadata`), so a
photo's EXIF GPS position does not end up on a public CDN.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import unicodedata
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath

from PIL import ExifTags, Image, JpegImagePlugin, PngImagePlugin, UnidentifiedImageError

from services.core.errors import InvalidImage

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
    return InvalidImage(f"the animation has {count} frames, over the limit of {MAX_FRAMES:,} frames")


def _gif_blocks(data: bytes) -> Iterator[tuple[int, int, int, int]]:
    """The blocks after a GIF's header, nothing decoded: (introducer, label, start of its sub-blocks, end).

    Extensions (0x21) carry their label, image descriptors (0x2C) label 0. The trailer (0x3B) comes
    last as (0x3B, 0, end, end). Damage, or sub-blocks running past the file's end, stop the walk
    without a trailer. The work is one pass over the file.
    """
    end, pos = len(data), 13  # "GIF89a" + logical screen descriptor
    if end < pos:
        return
    if data[10] & 0x80:  # global colour table
        pos += 3 << ((data[10] & 7) + 1)
    while pos < end:
        kind, pos, label = data[pos], pos + 1, 0
        if kind == 0x3B:
            yield kind, 0, pos, pos
            return
        if kind == 0x21 and pos < end:  # extension: a label byte, then data sub-blocks
            label, pos = data[pos], pos + 1
        elif kind == 0x2C and pos + 9 <= end:  # image descriptor (9 bytes), local colour table, LZW code size
            flags, pos = data[pos + 8], pos + 9
            if flags & 0x80:
                pos += 3 << ((flags & 7) + 1)
            pos += 1
        else:
            return  # damage
        start = pos
        try:  # sub-blocks: a length byte, that many bytes; 0 ends them (the hot loop of a crafted file: kept lean)
            size = data[pos]
            while size:
                pos += size + 1
                size = data[pos]
        except IndexError:
            return  # they run past the end of the file
        pos += 1
        yield kind, label, start, pos


def _decode_fully(img: Image.Image) -> int:
    """Decode every frame of ``img`` (opened by :func:`_open`); raises on truncation, corruption and oversized
    images. Returns the frame count.

    The frame count is decided before any frame is decoded: from the header for APNG (acTL) and WebP
    (the demuxer); a GIF's was counted up to the cap before, by :func:`_gif_layout`.
    """
    frames = int(getattr(img, "n_frames", 1) or 1)
    if frames > MAX_FRAMES:
        raise _too_many_frames(f"{frames:,}")
    for index in range(frames):
        img.seek(index)
        img.load()
    return frames


# --- polyglots: a file that is an image and something else --------------------------------------------

#: how far into a file content sniffing looks for markup (old browsers read 256 bytes, the WHATWG sniffer 1,445;
#: the console checks the first 1,024, where an image has only its header and first metadata)
SNIFF_BYTES = 1_024
#: 0x00 or 0xFF bytes tolerated after an image's end: cameras and card tools pad files to a block size. A run of
#: one byte value carries nothing; more of it than one 64 KiB block is not padding any more but a damaged file
MAX_PADDING = 65_536
#: HTML and script a browser (or a page showing the metadata unescaped) would act on: a tag name and the byte that
#: ends it in HTML's tokenizer (whitespace, / or >). Random bytes spell one about once in 10 MB, so only the first
#: bytes and text metadata are searched, never compressed pixels or binary EXIF/ICC
_MARKUP = re.compile(
    rb"(<(?:script|html|head|body|svg|iframe|object|embed|img|\?php)|<!doctype\s+html)[\t\n\f\r />]",
    re.IGNORECASE,
)
_PDF_HEADER = b"%PDF-"  # PDF readers look for it in a file's first 1,024 bytes
#: the next marker in JPEG entropy-coded data: 0xFF followed by neither a stuffed 0x00, a restart marker, nor fill
_JPEG_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_JPEG_FILL = re.compile(rb"\xff+")
#: where metadata is text (searched for markup): PNG text chunks, JPEG comments and XMP, GIF comments, WebP XMP
_PNG_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")
_JPEG_XMP = (b"http://ns.adobe.com/xap/1.0/\0", b"http://ns.adobe.com/xmp/extension/\0")
_GIF_TEXT_EXTENSIONS = {0xFE: "a GIF comment", 0x01: "a GIF plain text extension", 0xFF: "a GIF XMP extension"}
_NAMES = {"WEBP": "WebP"}
#: what ends each format's structure, named in the refusal when it cannot be reached
_END_NAMES = {
    "PNG": "IEND chunk",
    "JPEG": "end-of-image marker (EOI)",
    "GIF": "trailer byte (0x3B)",
    "WEBP": "RIFF size",
}
_STRIP_NOTE = "turning on 'Strip metadata' does not let it through: a file is checked before it is re-encoded"
_RESAVE = f"Re-save the image (export it again as a new file) and upload that; {_STRIP_NOTE}"


@dataclass(frozen=True)
class Layout:
    """Where an image's own structure ends, and any markup found in its metadata."""

    end: int | None  # the offset just after the image (its last picture for MPO); None: not reached
    markup: tuple[str, str] | None = None  # (what, where), e.g. ("<script", "a JPEG comment (COM)")
    frames: int = 0  # GIF only: image descriptors, counted up to MAX_FRAMES + 1 (the walk stops there)


class _Markup:
    """Collects the first markup found in metadata, within a budget of inflated text (Pillow's own limits)."""

    def __init__(self) -> None:
        self.found: tuple[str, str] | None = None
        self.inflate_budget = PngImagePlugin.MAX_TEXT_MEMORY

    def scan(self, data: bytes, where: str, start: int = 0, stop: int | None = None) -> None:
        """Look for markup in data[start:stop], without copying it."""
        if self.found is None and (match := _MARKUP.search(data, start, len(data) if stop is None else stop)):
            self.found = (_shown(match.group(1)), where)

    def inflate(self, compressed: bytes) -> bytes:
        """Decompress a text chunk as Pillow does: at most MAX_TEXT_CHUNK each, MAX_TEXT_MEMORY in all."""
        limit = min(PngImagePlugin.MAX_TEXT_CHUNK, self.inflate_budget)
        try:
            text = zlib.decompressobj().decompress(compressed, limit) if limit > 0 else b""
        except zlib.error:
            return b""  # Pillow's decode says what is wrong with it
        self.inflate_budget -= len(text)
        return text


def _shown(markup: bytes) -> str:
    return " ".join(markup.decode("ascii", "replace").lower().split())


def _png_layout(data: bytes) -> Layout:
    """Walk the chunks to IEND (length, type, data, CRC); text chunks are checked for markup (inflated too)."""
    pos, end, markup = 8, len(data), _Markup()
    unpack = struct.Struct(">I4s").unpack_from
    while pos + 12 <= end:
        length, kind = unpack(data, pos)
        after = pos + 12 + length
        if after > end:
            break
        if kind == b"IEND":
            return Layout(after, markup.found)
        if kind in _PNG_TEXT_CHUNKS:
            where = f"a PNG {kind.decode()} chunk"
            markup.scan(data, where, pos + 8, pos + 8 + length)
            if kind != b"tEXt":
                markup.scan(markup.inflate(_png_compressed_text(kind, data[pos + 8 : pos + 8 + length])), where)
        pos = after
    return Layout(None, markup.found)


def _png_compressed_text(kind: bytes, body: bytes) -> bytes:
    """The compressed text of a zTXt chunk, or of an iTXt chunk flagged compressed (b"" otherwise)."""
    keyword_end = body.find(b"\0")
    if kind == b"zTXt":  # keyword, 0, method, compressed text
        return body[keyword_end + 2 :] if keyword_end >= 0 else b""
    # iTXt: keyword, 0, compressed?, method, language, 0, translated keyword, 0, text
    if not 0 <= keyword_end < len(body) - 2 or body[keyword_end + 1] != 1:
        return b""
    rest = body[keyword_end + 3 :].split(b"\0", 2)
    return rest[2] if len(rest) == 3 else b""


def _jpeg_picture(data: bytes, pos: int, markup: _Markup) -> tuple[int | None, tuple[int, int] | None]:
    """Walk one JPEG picture from its SOI to its EOI: (the offset after EOI or None, the MPF index's span).

    Segments are skipped by their lengths, entropy-coded data by a search for the next marker; each
    step moves forward, so the work is one pass. Comments and XMP segments are checked for markup.
    """
    end, mpf = len(data), None
    if not data.startswith(b"\xff\xd8", pos):
        return None, None
    pos += 2
    while pos < end and data[pos] == 0xFF:
        fill = _JPEG_FILL.match(data, pos)
        pos = fill.end() if fill else pos + 1
        if pos >= end:
            break
        marker, pos = data[pos], pos + 1
        if marker == 0xD9:  # EOI
            return pos, mpf
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # restart, TEM: no length
            continue
        if pos + 2 > end:
            break
        length = int.from_bytes(data[pos : pos + 2], "big")
        if length < 2 or pos + length > end:
            break
        if marker == 0xFE:
            markup.scan(data, "a JPEG comment (COM)", pos + 2, pos + length)
        elif marker == 0xE1 and data.startswith(_JPEG_XMP, pos + 2):
            markup.scan(data, "the JPEG's XMP (APP1)", pos + 2, pos + length)
        elif marker == 0xE2 and data.startswith(b"MPF\0", pos + 2):
            mpf = (pos + 6, pos + length)  # the TIFF header the index's offsets count from; the segment's end
        pos += length
        if marker == 0xDA:  # start of scan: entropy-coded data runs to the next marker
            found = _JPEG_NEXT_MARKER.search(data, pos)
            if found is None:
                break
            pos = found.start()
    return None, mpf


def _mpf_pictures(data: bytes, base: int, limit: int) -> list[int] | None:
    """Where the extra pictures an MPF index declares start (file offsets); None when the index cannot be read.

    The index is a TIFF IFD inside the APP2 segment ([base, limit)); its MP Entry tag (0xB002) lists
    16 bytes a picture: attributes, size, offset from ``base`` (0 for the first picture), dependents.
    """
    head = data[base : base + 8]
    order = {b"II*\0": "<", b"MM\0*": ">"}.get(head[:4])
    if order is None or len(head) < 8:
        return None
    ifd = base + struct.unpack(order + "I", head[4:])[0]
    if ifd + 2 > limit:
        return None
    count = struct.unpack(order + "H", data[ifd : ifd + 2])[0]
    for index in range(count):
        entry = ifd + 2 + 12 * index
        if entry + 12 > limit:
            return None
        tag, _, size, value = struct.unpack(order + "HHII", data[entry : entry + 12])
        if tag == 0xB002:
            first = base + value
            if size % 16 or first + size > limit:
                return None
            entries = struct.iter_unpack(order + "IIIHH", data[first : first + size])
            return [base + offset for _, _, offset, _, _ in entries if offset]
    return None


def _jpeg_layout(data: bytes) -> Layout:
    """The first picture's end, or, for MPO, the end of the last picture its MPF index declares.

    Phones and cameras store extra pictures (previews, depth maps) after the first one's EOI and list
    them in an MPF index (APP2). Each declared picture is walked as a JPEG of its own; between them
    only padding may sit. Anything not declared is not part of the image.
    """
    markup = _Markup()
    end, mpf = _jpeg_picture(data, 0, markup)
    starts = _mpf_pictures(data, *mpf) if mpf else []
    if end is None or starts is None:
        return Layout(None, markup.found)
    for start in sorted(set(starts)):
        if start < end or not _padding(data, end, start):
            return Layout(None, markup.found)
        end = _jpeg_picture(data, start, markup)[0]
        if end is None:
            return Layout(None, markup.found)
    return Layout(end, markup.found)


def _gif_layout(data: bytes) -> Layout:
    """Walk the blocks to the trailer; comments, plain text and XMP extensions are checked for markup.

    The frames are counted on the way: past MAX_FRAMES the walk stops (the caller refuses the file).
    """
    markup, frames = _Markup(), 0
    for kind, label, start, after in _gif_blocks(data):
        if kind == 0x3B:
            return Layout(after, markup.found, frames)
        if kind == 0x2C:
            frames += 1
            if frames > MAX_FRAMES:
                break
        elif kind == 0x21 and label in _GIF_TEXT_EXTENSIONS:
            if label == 0xFF and not data.startswith(b"\x0bXMP DataXMP", start):
                continue  # other application extensions: loop counts, ICC profiles (binary)
            where = _GIF_TEXT_EXTENSIONS[label]
            markup.scan(data, where, start, after)  # XMP is written raw, its bytes doubling as sub-block lengths
            if data.find(b"<", start, after) >= 0:  # joining only removes bytes: no "<", no markup
                markup.scan(_sub_blocks(data, start, after), where)  # as a reader joins the sub-blocks
    return Layout(None, markup.found, frames)


def _sub_blocks(data: bytes, pos: int, end: int) -> bytes:
    """The bytes of a GIF block's data sub-blocks, joined (as a reader sees them), without their lengths."""
    joined = bytearray()
    size = data[pos] if pos < end else 0
    while size:
        joined += data[pos + 1 : pos + 1 + size]
        pos += size + 1
        size = data[pos] if pos < end else 0
    return bytes(joined)


def _webp_layout(data: bytes) -> Layout:
    """The RIFF size says where the file ends; the chunks inside must fill it exactly (each padded to even)."""
    markup = _Markup()
    if len(data) < 12:
        return Layout(None)
    end = 8 + struct.unpack("<I", data[4:8])[0]
    pos = 12
    while pos + 8 <= end <= len(data):
        kind, size = struct.unpack("<4sI", data[pos : pos + 8])
        if pos + 8 + size > end:
            return Layout(None, markup.found)
        if kind == b"XMP ":
            markup.scan(data, "the WebP's XMP chunk", pos + 8, pos + 8 + size)
        pos += 8 + size + (size & 1)
    # the last chunk's pad byte may be missing when the RIFF size is odd; the RIFF's own pad byte is padding
    if pos not in (end, end + 1) or end > len(data):
        return Layout(None, markup.found)
    return Layout(end, markup.found)


_LAYOUTS = {"PNG": _png_layout, "JPEG": _jpeg_layout, "GIF": _gif_layout, "WEBP": _webp_layout}


def polyglot_layout(data: bytes, fmt: str) -> Layout:
    """Where the image ``data`` (of Pillow format ``fmt``, MPO as JPEG) ends, by its own structure.

    PNG: the chunks to IEND and its CRC. GIF: the blocks to the 0x3B trailer. WebP: the RIFF size.
    JPEG: the segments to EOI; for MPO, each picture the MPF index declares, to the last one's EOI.
    Nothing is decoded and each walk is one pass over the bytes. Markup in text metadata (PNG
    tEXt/zTXt/iTXt, JPEG comments and XMP, GIF comments and XMP, WebP XMP) is reported on the way.
    """
    return _LAYOUTS[fmt](data)


def _padding(data: bytes, start: int, stop: int) -> bool:
    """Whether data[start:stop] is one run of 0x00 or of 0xFF (or nothing)."""
    if stop <= start:
        return True
    byte = data[start : start + 1]
    return byte in (b"\x00", b"\xff") and data.count(byte, start, stop) == stop - start


def _appended_kind(tail: bytes) -> str:
    """What bytes after an image look like, in words, from their first bytes (and a ZIP's end record)."""
    head = tail[:SNIFF_BYTES].lstrip(b" \t\r\n\x00")
    for magic, what in _APPENDED_MAGIC:
        if head.startswith(magic):
            return what
    if tail[4:8] == b"ftyp" or head[4:8] == b"ftyp":  # an ISO box: its 4-byte size comes first
        return "they start like an MP4/QuickTime video: a phone's motion photo?"
    if _MARKUP.search(head) or head.startswith(b"<"):
        return "they start like HTML or other markup"
    if tail.endswith(b"SEFT"):
        return "a Samsung phone's SEF trailer"
    if _zip_end_record(tail) is not None:
        return "they hold a ZIP archive"
    return "not padding, and not a kind of file the console recognises"


_APPENDED_MAGIC = (
    (b"PK\x03\x04", "they start like a ZIP archive: a JAR, APK or Office file is one too"),
    (b"PK\x05\x06", "they start like an empty ZIP archive"),
    (b"%PDF-", "they start like a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "they start like another PNG image"),
    (b"\xff\xd8\xff", "they start like another JPEG image"),
    (b"GIF8", "they start like another GIF image"),
    (b"RIFF", "they start like a RIFF file: WebP, WAV or AVI"),
    (b"MZ", "they start like a Windows program"),
    (b"\x7fELF", "they start like a Linux program"),
    (b"Rar!", "they start like a RAR archive"),
    (b"7z\xbc\xaf", "they start like a 7-Zip archive"),
)


def _zip_end_record(data: bytes) -> int | None:
    """Where a ZIP archive's end record sits in ``data``, when one is there that ZIP readers would open.

    Readers (Java's for a JAR, Python's, unzip) look for the end record within the last 65,557 bytes
    (22 + the longest comment) and find the central directory right before it; both must be there.
    """
    low = max(0, len(data) - 22 - 0xFFFF)
    pos = data.rfind(b"PK\x05\x06", low)
    while pos >= 0:
        if pos + 22 <= len(data):
            entries, directory_size = struct.unpack("<HI", data[pos + 10 : pos + 16])
            directory = pos - directory_size
            zip64 = data.startswith(b"PK\x06\x07", pos - 20) if pos >= 20 else False
            if zip64 or (entries and directory_size and directory >= 0 and data.startswith(b"PK\x01\x02", directory)):
                return pos
        pos = data.rfind(b"PK\x05\x06", low, pos + 3)
    return None


def _check_header(data: bytes, fmt: str) -> None:
    """Markup or a PDF header in the first bytes; a JavaScript comment opened in a GIF's screen descriptor."""
    head = data[:SNIFF_BYTES]
    if match := _MARKUP.search(head):
        raise InvalidImage(
            f"HTML/script markup ({_shown(match.group(1))}) inside the image's first {SNIFF_BYTES:,} bytes: a browser "
            f"sniffing the file's type could treat it as a web page (an image/HTML polyglot?). {_RESAVE}"
        )
    if _PDF_HEADER in head:
        raise InvalidImage(
            f"a PDF header (%PDF-) inside the image's first {SNIFF_BYTES:,} bytes: a PDF reader would open the file "
            f"as a document (an image/PDF polyglot?). {_RESAVE}"
        )
    screen = data[6:13]  # GIF: width, height, flags, background, aspect: the bytes after "GIF89a"
    if fmt == "GIF" and (b"/*" in screen or b"//" in screen):
        raise InvalidImage(
            "the GIF's header opens a JavaScript comment right after 'GIF89a' (GIF89a/*…*/=alert(1) is the "
            f"shape of a GIF/JavaScript polyglot: a script tag pointed at it would run it). {_RESAVE}"
        )


def _check_polyglot(data: bytes, fmt: str) -> Layout:
    """Refuse what is a second file as well as an image; returns the layout (its end may be unknown yet).

    Definite findings are raised here, before the decode: markup where browsers or metadata viewers
    look, bytes after the image's end that are not padding, a ZIP archive's directory inside. An end
    that could not be reached is judged after the decode, which says better whether the file is
    merely cut short.
    """
    _check_header(data, fmt)
    layout = polyglot_layout(data, fmt)
    if layout.markup:
        found, where = layout.markup
        raise InvalidImage(
            f"HTML/script markup ({found}) in the image's metadata ({where}): a page or tool showing the metadata "
            f"could run it. Re-save the image without its metadata (export it again as a new file) and upload "
            f"that; {_STRIP_NOTE}"
        )
    name = _NAMES.get(fmt, fmt)
    if layout.end is not None and layout.end < len(data):
        extra = len(data) - layout.end
        if not _padding(data, layout.end, len(data)):
            raise InvalidImage(
                f"{extra:,} bytes after the end of the {name} image ({_appended_kind(data[layout.end :])}) — "
                f"an appended file (a polyglot)? {_RESAVE}"
            )
        if extra > MAX_PADDING:
            raise InvalidImage(
                f"{extra:,} bytes of padding (0x{data[layout.end]:02X}) after the end of the {name} image, more than "
                f"the {MAX_PADDING:,} tolerated. {_RESAVE}"
            )
    if (record := _zip_end_record(data)) is not None:
        raise InvalidImage(
            f"a ZIP archive's directory inside the image (its end record sits {len(data) - record:,} bytes before "
            f"the end of the file): a ZIP or JAR hidden in the {name} image's data (a polyglot)? {_RESAVE}"
        )
    return layout


def _unended(fmt: str) -> InvalidImage:
    return InvalidImage(
        f"the {_NAMES.get(fmt, fmt)} image's structure does not reach its {_END_NAMES[fmt]}: the file is cut short "
        f"(truncated), or what follows the picture is not part of it (another file joined to it, a polyglot?). "
        f"{_RESAVE}"
    )


def inspect_image(name: str, data: bytes) -> ImageInfo:
    """Accept ``data`` as one of the pipeline's image formats, or raise InvalidImage saying why."""
    if not data:
        raise InvalidImage("the file is empty (0 bytes); choose the image again")
    if len(data) > MAX_BYTES:
        raise InvalidImage(f"the file is {len(data):,} bytes, over the limit of {MAX_BYTES:,} bytes")
    # one Image for the header and the decode (opening it twice cost ~0.1 ms per file); the checks in between
    # read the bytes only. DecompressionBombWarning is an error in the whole block
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with _open(data) as img:
            fmt, (width, height) = _format_of(img), img.size
            _check_pixels(width, height)
            layout = _check_polyglot(data, fmt)
            if layout.frames > MAX_FRAMES:  # a GIF's, counted by a walk that stopped at the cap
                raise _too_many_frames(f"more than {MAX_FRAMES:,}")
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


# --- stripping metadata -------------------------------------------------------------------------------

#: the most pixels (width × height × frames) re-encoded at once: every frame is held in memory to write it
MAX_STRIP_PIXELS = 64_000_000
JPEG_FALLBACK_QUALITY = 95  # when a JPEG's own quantization tables cannot be read back
WEBP_LOSSY_QUALITY = 95
#: EXIF Orientation -> the transpose that puts the picture upright (the table ImageOps.exif_transpose uses)
UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
#: JPEG application segments named otherwise: the picture's own (JFIF, Adobe colour transform, ICC, kept),
#: EXIF, XMP and MPF; any other segment is reported as such
_JPEG_NAMED_SEGMENTS = (
    ("APP0", b"JFIF"),
    ("APP14", b"Adobe"),
    ("APP2", b"ICC_PROFILE"),
    ("APP1", b"Exif"),
    ("APP1", b"http://ns.adobe.com/"),
    ("APP2", b"MPF"),
)
#: PNG text keys Pillow turns into EXIF and XMP (named as such, not as text)
_PNG_TEXT_AS_METADATA = ("XML:com.adobe.xmp", "Raw profile type exif", "Raw profile type APP1")


@dataclass(frozen=True)
class StrippedImage:
    """A validated image re-encoded without its metadata: the new bytes, their verdict, and what changed."""

    data: bytes = field(repr=False)
    info: ImageInfo  # the validator's verdict on ``data``: these are the bytes to send
    original: ImageInfo
    removed: tuple[str, ...]  # what was found and left out, e.g. ("EXIF (incl. GPS)", "XMP")
    kept: tuple[str, ...] = ()  # colour information carried over, e.g. ("ICC colour profile",)
    changed: tuple[str, ...] = ()  # what else a person should know, e.g. the orientation applied

    def summary(self) -> str:
        """One line for a trace: what went, what stayed, and the size before and after."""
        removed = f"removed {', '.join(self.removed)}" if self.removed else "no metadata found, re-encoded anyway"
        parts = [removed]
        if self.kept:
            parts.append(f"kept {', '.join(self.kept)} (colours stay right)")
        parts.extend(self.changed)
        sizes = f"{self.original.size:,} → {self.info.size:,} bytes"
        return f"metadata stripped by re-encoding: {'; '.join(parts)}; {sizes}"


def _exif_found(img: Image.Image) -> str | None:
    exif = img.getexif()
    if not exif and not img.info.get("exif"):
        return None
    has_gps = ExifTags.Base.GPSInfo in exif or bool(exif.get_ifd(ExifTags.IFD.GPSInfo))
    return "EXIF (incl. GPS)" if has_gps else "EXIF"


def _jpeg_segments_found(img: Image.Image) -> list[str]:
    found: list[str] = []
    applist: list[tuple[str, bytes]] = getattr(img, "applist", [])
    if any(marker == "APP13" for marker, _ in applist):
        found.append("IPTC/Photoshop (APP13)")
    if int(getattr(img, "n_frames", 1) or 1) > 1:
        found.append(f"{int(getattr(img, 'n_frames', 1)) - 1} extra MPF picture(s)")
    others = sorted(
        {
            marker
            for marker, content in applist
            if marker not in ("APP13", "COM")  # named on their own
            and not any(marker == seg and content.startswith(head) for seg, head in _JPEG_NAMED_SEGMENTS)
        }
    )
    if others:
        found.append(f"other application segments ({', '.join(others)})")
    return found


def _metadata_found(img: Image.Image, data: bytes, fmt: str) -> list[str]:
    """Name the metadata the file carries (all of it goes; this says what a person is rid of)."""
    exif = _exif_found(img)
    found = [exif] if exif else []
    if img.info.get("xmp") or (fmt == "GIF" and b"XMP DataXMP" in data):
        found.append("XMP")
    if fmt == "JPEG":
        found.extend(_jpeg_segments_found(img))
    if fmt == "PNG" and any(key not in _PNG_TEXT_AS_METADATA for key in getattr(img, "text", {})):
        found.append("PNG text (tEXt/zTXt/iTXt)")
    if img.info.get("comment"):
        found.append("comment")
    if fmt == "GIF" and b"ICCRGBG1" in data:
        found.append("ICC profile (a GIF's cannot be carried over)")
    return found


def _webp_is_lossless(data: bytes) -> bool:
    """Whether any frame is VP8L (lossless); walks the RIFF chunks, ANMF frames included."""
    pos, end = 12, len(data)
    while pos + 8 <= end:
        fourcc, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if fourcc == b"VP8L":
            return True
        if fourcc == b"ANMF":
            pos += 8 + 16  # into the frame: its 16-byte header, then its own chunks
            continue
        pos += 8 + size + (size & 1)
    return False


def _png_colour_chunks(img: Image.Image) -> PngImagePlugin.PngInfo | None:
    """gAMA, cHRM and sRGB: colour information, not metadata; kept when there is no ICC profile."""
    info = img.info
    chunks = PngImagePlugin.PngInfo()
    if isinstance(info.get("gamma"), float):
        chunks.add(b"gAMA", struct.pack(">I", round(info["gamma"] * 100_000)))
    if isinstance(info.get("chromaticity"), tuple) and len(info["chromaticity"]) == 8:
        chunks.add(b"cHRM", struct.pack(">8I", *(round(v * 100_000) for v in info["chromaticity"])))
    if isinstance(info.get("srgb"), int):
        chunks.add(b"sRGB", bytes([info["srgb"] & 0xFF]))
    return chunks if chunks.chunks else None


def _transpose(orientation: object) -> Image.Transpose | None:
    return UPRIGHT.get(orientation) if isinstance(orientation, int) else None


def _frames(img: Image.Image, count: int, orientation: object) -> tuple[list[Image.Image], list[float]]:
    """The first ``count`` frames, composited, upright, carrying no metadata (only their transparency)."""
    frames: list[Image.Image] = []
    durations: list[float] = []
    for index in range(count):
        img.seek(index)
        img.load()
        method = _transpose(orientation)
        frame = img.copy() if method is None else img.transpose(method)
        frame.info = {key: value for key, value in img.info.items() if key == "transparency"}
        frames.append(frame)
        durations.append(img.info.get("duration", 0) or 0)
    img.seek(0)
    return frames, durations


def _jpeg_params(img: Image.Image) -> dict[str, object]:
    """The original's quantization tables and subsampling (what quality="keep" does, for rotated pixels too)."""
    tables = getattr(img, "quantization", None)
    params: dict[str, object] = {"optimize": True, "progressive": bool(img.info.get("progressive"))}
    if tables:
        params.update(qtables=tables, subsampling=JpegImagePlugin.get_sampling(img))
    else:
        params["quality"] = JPEG_FALLBACK_QUALITY
    return params


def _encode(img: Image.Image, fmt: str, data: bytes, frames: list[Image.Image], durations: list[float]) -> bytes:
    """Write ``frames`` in ``fmt`` with the animation and colour facts of ``img``, and nothing else."""
    icc = img.info.get("icc_profile") or None
    params: dict[str, object] = {}
    if fmt == "JPEG":
        params = {**_jpeg_params(img), "icc_profile": icc}
    elif fmt == "PNG":
        params = {"icc_profile": icc, "pnginfo": None if icc else _png_colour_chunks(img)}
        if len(frames) > 1:
            params.update(loop=img.info.get("loop", 0), default_image=bool(img.info.get("default_image")))
    elif fmt == "GIF":
        if "loop" in img.info:  # no loop extension means "play once"; keep it that way
            params["loop"] = img.info["loop"]
        if len(frames) > 1 and any(f.mode in ("RGBA", "PA", "LA") or "transparency" in f.info for f in frames):
            params["disposal"] = 2  # clear each frame: pixels that turn transparent must not show the last one
    elif fmt == "WEBP":
        lossless = _webp_is_lossless(data)
        params = {"lossless": lossless, "quality": 100 if lossless else WEBP_LOSSY_QUALITY, "icc_profile": icc}
        if len(frames) > 1:
            params.update(loop=img.info.get("loop", 0), background=img.info.get("background", (0, 0, 0, 0)))
        else:
            params["exact"] = True  # keep the colour under transparent pixels, as the original had it
    if "dpi" in img.info and fmt in ("JPEG", "PNG"):
        params["dpi"] = img.info["dpi"]
    if len(frames) > 1:
        params.update(save_all=True, append_images=frames[1:], duration=durations)
    out = io.BytesIO()
    frames[0].save(out, fmt, **{k: v for k, v in params.items() if v is not None})
    return out.getvalue()


def _changed(fmt: str, data: bytes, orientation: object) -> list[str]:
    changed = []
    if _transpose(orientation) is not None:
        changed.append(f"EXIF orientation {orientation} applied to the pixels")
    # IHDR bit depth 16 with colour (or grey + alpha): Pillow reads these as 8 bits per channel
    if fmt == "PNG" and len(data) > 25 and data[24] == 16 and data[25] in (2, 4, 6):
        changed.append("16-bit colour reduced to 8 bits per channel")
    return changed


def _kept(img: Image.Image, fmt: str) -> list[str]:
    if img.info.get("icc_profile") and fmt != "GIF":
        return ["ICC colour profile"]
    if fmt == "PNG" and _png_colour_chunks(img) is not None:
        return ["colour chunks (gAMA/cHRM/sRGB)"]
    return []


def strip_metadata(name: str, data: bytes, original: ImageInfo | None = None) -> StrippedImage:
    """Re-encode a validated image without its metadata, in its own format; the result is validated too.

    Removed: EXIF (GPS and thumbnails included), XMP, IPTC/Photoshop, comments, PNG text chunks, other
    JPEG application segments, a JPEG's extra MPF pictures, and anything else that is not the picture.
    Kept: the ICC colour profile (and PNG's gAMA/cHRM/sRGB), so colours stay right: a profile describes
    the screen or camera model, not the person. Also kept: the format, JPEG quantization tables and
    subsampling, animation frames, durations, loop count and transparency. EXIF Orientation is applied
    to the pixels before the EXIF goes, so the picture does not turn sideways.

    The file changes: new bytes, a new sha256, possibly larger or smaller. Raises InvalidImage (never a
    Pillow exception) when the image cannot be re-encoded or the result would be refused.

    A polyglot (a file joined after the picture, markup in its metadata) is refused, not cleaned: the
    original is validated first (here when ``original`` is not given, and by the upload before it
    calls this), although re-encoding would drop the payload. Staff are told what the file carries and
    re-save it themselves; the console never uploads a cleaned copy of a file that was two things at once.
    """
    original = original or inspect_image(name, data)
    pixels = original.width * original.height * original.frames
    if pixels > MAX_STRIP_PIXELS:
        raise InvalidImage(
            f"the image is too large to re-encode without its metadata ({pixels:,} pixels over all frames, "
            f"limit {MAX_STRIP_PIXELS:,}); upload it without stripping, or strip it with another tool"
        )
    fmt = original.format
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[fmt]) as img:
                removed = _metadata_found(img, data, fmt)
                orientation = img.getexif().get(ExifTags.Base.Orientation, 1)  # may be junk: then upright
                # a JPEG's extra MPF pictures are not shown by browsers: only the first is kept
                count = 1 if fmt == "JPEG" else int(getattr(img, "n_frames", 1) or 1)
                frames, durations = _frames(img, count, orientation)
                encoded = _encode(img, fmt, data, frames, durations)
                kept, changed = _kept(img, fmt), _changed(fmt, data, orientation)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning, *DECODE_ERRORS) as err:
        raise InvalidImage(f"the {fmt} image could not be re-encoded without its metadata ({err})") from err
    try:
        info = inspect_image(name, encoded)
    except InvalidImage as err:
        raise InvalidImage(f"re-encoded without its metadata, the file would be refused: {err}") from err
    return StrippedImage(encoded, info, original, tuple(removed), tuple(kept), tuple(changed))
