"""Optional metadata stripping: re-encode an image in its own format without EXIF (GPS included), XMP, IPTC, comments
and PNG text; the ICC profile is kept, orientation applied, animations keep frames, durations and loop."""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass, field

from PIL import ExifTags, Image, JpegImagePlugin, PngImagePlugin

from services.core.errors import InvalidImage
from services.pipeline.images.formats import ImageInfo
from services.pipeline.images.identify import DECODE_ERRORS, inspect_image

#: the most pixels (width × height × frames) re-encoded at once: every frame is held in memory to write it
MAX_STRIP_PIXELS = 64_000_000
#: what re-encoding raises for an image it cannot rewrite (turned into InvalidImage)
_REENCODE_ERRORS: tuple[type[BaseException], ...] = (
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
    *DECODE_ERRORS,
)


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
    except _REENCODE_ERRORS as err:
        raise InvalidImage(f"the {fmt} image could not be re-encoded without its metadata ({err})") from err
    try:
        info = inspect_image(name, encoded)
    except InvalidImage as err:
        raise InvalidImage(f"re-encoded without its metadata, the file would be refused: {err}") from err
    return StrippedImage(encoded, info, original, tuple(removed), tuple(kept), tuple(changed))
