"""Polyglot walkers: where each format's image truly ends (PNG IEND + CRC, GIF trailer, WebP RIFF size, JPEG EOI and
the MPF pictures it declares), what follows it, hidden ZIP directories, and markup in the first bytes or in text
metadata. A file that is an image and something else is refused before anything is sent. Pure."""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from PIL import PngImagePlugin

from services.core.errors import InvalidImage
from services.pipeline.images import formats  # the caps are read at call time (tests lower them)

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
    frames: int = 0  # GIF only: image descriptors, counted up to formats.MAX_FRAMES + 1 (the walk stops there)


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

    The frames are counted on the way: past formats.MAX_FRAMES the walk stops (the caller refuses the file).
    """
    markup, frames = _Markup(), 0
    for kind, label, start, after in _gif_blocks(data):
        if kind == 0x3B:
            return Layout(after, markup.found, frames)
        if kind == 0x2C:
            frames += 1
            if frames > formats.MAX_FRAMES:
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
