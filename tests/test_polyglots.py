"""Polyglots: files that are a valid image AND something else are refused before any network call.

Every file here is real: pictures written by Pillow, payloads built with zipfile or written out, joined the way
GIFAR-style polyglots are. Each refusal test first shows the premise (Pillow alone accepts the file; the ZIP
really opens), so the refusal is the validator's doing.
"""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin

from services.core.errors import InvalidImage
from services.core.transport import new_session
from services.pipeline import images
from services.pipeline.images import MAX_PADDING, identify, inspect_image, polyglot_layout, strip_metadata
from services.pipeline.upload import UploadInput, upload_one
from tests.support import assert_refused, counting_pipeline, upload_refused_before_any_request

NAMES = {"PNG": "PNG", "JPEG": "JPEG", "GIF": "GIF", "WEBP": "WebP"}
RESAVE = "Re-save the image (export it again as a new file) and upload that"
NOT_BY_STRIPPING = "'Strip metadata' does not let it through: a file is checked before it is re-encoded"


# ---------------------------------------------------------------- making files


def picture(size: tuple[int, int] = (48, 32), seed: int = 1) -> Image.Image:
    rng = random.Random(seed)
    return Image.frombytes("RGB", size, bytes(rng.randrange(256) for _ in range(size[0] * size[1] * 3)))


def encode(fmt: str, img: Image.Image | None = None, **params) -> bytes:
    img = img or picture()
    if fmt == "GIF" and img.mode != "P":
        img = img.convert("P")
    out = io.BytesIO()
    img.save(out, fmt, **params)
    return out.getvalue()


def mpo(extra: int = 1) -> bytes:
    out = io.BytesIO()
    others = [picture((24, 16), seed=2 + index) for index in range(extra)]
    picture().save(out, "MPO", save_all=True, append_images=others)
    return out.getvalue()


def animation(fmt: str, frames: int = 3) -> bytes:
    sequence = [Image.new("RGB", (16, 16), (index * 60 % 256, 90, 200 - index * 40)) for index in range(frames)]
    if fmt == "GIF":
        sequence = [frame.convert("P") for frame in sequence]
    out = io.BytesIO()
    sequence[0].save(out, fmt, save_all=True, append_images=sequence[1:], duration=40, loop=0)
    return out.getvalue()


def zip_archive(comment_tail: int = 0) -> bytes:
    """A real ZIP (a JAR is one) with a class-like entry; ``comment_tail`` sets the end record's comment length."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nMain-Class: Payload\n")
        archive.writestr("Payload.class", b"\xca\xfe\xba\xbe" + bytes(64))
    data = out.getvalue()
    return data[:-2] + struct.pack("<H", comment_tail) if comment_tail else data


HTML = b"<!DOCTYPE html><html><body><script>alert(document.domain)</script></body></html>\n"
PDF = b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"
PAYLOADS = {"zip": (zip_archive(), "ZIP archive"), "html": (HTML, "HTML"), "pdf": (PDF, "PDF document")}

SEEDS = {
    "PNG": encode("PNG"),
    "JPEG": encode("JPEG", quality=90),
    "GIF": encode("GIF"),
    "WEBP": encode("WEBP"),
}


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_with_chunk_before_iend(kind: bytes, body: bytes, base: bytes | None = None) -> bytes:
    """A PNG with one more chunk after its pixels, where no header sniffing reaches it (Pillow reads it on load)."""
    data = base or encode("PNG", picture((96, 96)))
    assert data[-12:-8] == b"\0\0\0\0" and data[-8:-4] == b"IEND"
    return data[:-12] + png_chunk(kind, body) + data[-12:]


def jpeg_with_segment_before_scan(marker: int, body: bytes, data: bytes | None = None) -> bytes:
    """A JPEG with one more segment right before its start of scan (FFDA), after 2 KiB of an APP15 filler."""
    data = data or encode("JPEG", picture((96, 96)), quality=90)
    sos = data.index(b"\xff\xda")
    filler = b"\xff\xef" + struct.pack(">H", 2 + 2048) + bytes(2048)
    return data[:sos] + filler + bytes([0xFF, marker]) + struct.pack(">H", 2 + len(body)) + body + data[sos:]


def pillow_accepts(data: bytes) -> bool:
    with Image.open(io.BytesIO(data)) as img:
        for index in range(getattr(img, "n_frames", 1)):
            img.seek(index)
            img.load()
    return True


# ---------------------------------------------------------------- appended files


@pytest.mark.parametrize("payload", list(PAYLOADS))
@pytest.mark.parametrize("fmt", list(SEEDS))
def test_image_with_a_file_appended_is_refused_naming_what_follows(fmt: str, payload: str) -> None:
    image, (extra, kind) = SEEDS[fmt], PAYLOADS[payload]
    polyglot = image + extra
    assert inspect_image(f"photo.{fmt.lower()}", image).size == len(image)  # the image alone is fine
    assert pillow_accepts(polyglot)  # the premise: an image viewer sees nothing wrong
    if payload == "zip":
        assert zipfile.ZipFile(io.BytesIO(polyglot)).read("Payload.class").startswith(b"\xca\xfe")  # a real JAR too

    assert_refused(
        f"photo.{fmt.lower()}",
        polyglot,
        f"{len(extra):,} bytes after the end of the {NAMES[fmt]} image",
        kind,
        "an appended file (a polyglot)?",
        RESAVE,
        NOT_BY_STRIPPING,
    )


@pytest.mark.parametrize(
    ("name", "data", "fmt"),
    [
        ("anim.gif", animation("GIF"), "GIF"),
        ("anim.webp", animation("WEBP"), "WebP"),
        ("anim.png", animation("PNG"), "PNG"),
        ("lossless.webp", encode("WEBP", lossless=True), "WebP"),
        ("progressive.jpg", encode("JPEG", progressive=True), "JPEG"),
        ("IMG_0001.JPG", mpo(), "JPEG"),
    ],
    ids=["animated-gif", "animated-webp", "apng", "lossless-webp", "progressive-jpeg", "mpo"],
)
def test_animations_lossless_progressive_and_mpo_with_a_zip_appended_are_refused(
    name: str, data: bytes, fmt: str
) -> None:
    inspect_image(name, data)  # the premise: accepted alone

    assert_refused(name, data + zip_archive(), "bytes after the end of the " + fmt + " image", "ZIP archive")


def test_a_second_jpeg_appended_without_an_mpf_index_is_refused() -> None:
    # MPO pictures are declared in the first picture's MPF index; a JPEG merely joined on is not one of them
    joined = SEEDS["JPEG"] + encode("JPEG", picture((8, 8), seed=9))

    assert_refused("photo.jpg", joined, "after the end of the JPEG image", "another JPEG image")


def test_a_phone_motion_photo_video_after_the_jpeg_is_refused_and_named() -> None:
    video = struct.pack(">I", 24) + b"ftypmp42" + bytes(12) + struct.pack(">I", 8) + b"mdat"

    assert_refused("PXL_20240101_MP.jpg", SEEDS["JPEG"] + video, "MP4/QuickTime video", "motion photo")


# ---------------------------------------------------------------- the end must be reached


@pytest.mark.parametrize(
    ("fmt", "cut", "payload", "end_name"),
    [
        ("PNG", 12, PDF, "IEND chunk"),
        ("GIF", 1, HTML, "trailer byte (0x3B)"),
        ("JPEG", 2, HTML, "end-of-image marker (EOI)"),
    ],
    ids=["png-pdf", "gif-html", "jpeg-html"],
)
def test_image_whose_end_marker_was_replaced_by_a_file_is_refused(
    fmt: str, cut: int, payload: bytes, end_name: str
) -> None:
    # the end marker dropped before a file is joined on: Pillow still decodes the picture
    polyglot = SEEDS[fmt][:-cut] + payload
    assert pillow_accepts(polyglot)
    assert polyglot.index(payload) > 1024  # past the first bytes

    assert_refused("x", polyglot, f"structure does not reach its {end_name}", "truncated", "polyglot", RESAVE)


@pytest.mark.parametrize(("fmt", "cut"), [("PNG", 12), ("JPEG", 2)])
def test_image_whose_end_marker_was_replaced_by_a_zip_is_refused(fmt: str, cut: int) -> None:
    polyglot = SEEDS[fmt][:-cut] + zip_archive()
    assert pillow_accepts(polyglot)
    assert zipfile.ZipFile(io.BytesIO(polyglot)).read("Payload.class").startswith(b"\xca\xfe")

    assert_refused("x", polyglot, "a ZIP archive's directory inside the image", "polyglot", RESAVE)


def test_zip_hidden_in_a_png_chunk_is_refused() -> None:
    # the ZIP sits in a private chunk; its end record's comment covers the CRC and IEND chunk that follow it
    archive = zip_archive(comment_tail=4 + 12)
    polyglot = png_with_chunk_before_iend(b"juNk", archive)
    assert pillow_accepts(polyglot)
    assert zipfile.ZipFile(io.BytesIO(polyglot)).read("Payload.class").startswith(b"\xca\xfe")
    assert polyglot_layout(polyglot, "PNG").end == len(polyglot)  # nothing follows IEND: only this check sees it

    assert_refused("x.png", polyglot, "a ZIP archive's directory inside the image", "polyglot", RESAVE)


def test_zip_signature_bytes_alone_inside_an_image_are_not_a_zip() -> None:
    # an end-record signature without a central directory before it is not something a ZIP reader opens
    data = png_with_chunk_before_iend(b"juNk", b"PK\x05\x06" + bytes(18))

    assert inspect_image("x.png", data).format == "PNG"


# ---------------------------------------------------------------- markup


def test_gif_javascript_polyglot_is_refused() -> None:
    # GIF89a/* ... */=alert(1)// : the logical screen width 10,799 reads "/*", the comment closes inside a GIF
    # comment extension, and the line comment runs to the end of the file. A valid GIF and a valid script.
    gif = encode("GIF", Image.new("P", (10_799, 1)))
    assert gif[6:8] == b"/*"
    script = b"*/=alert(1)//"
    polyglot = b"GIF89a" + gif[6:-1] + b"\x21\xfe" + bytes([len(script)]) + script + b"\x00;"
    assert polyglot.find(b"*/") == polyglot.index(script)  # the first */ is the one closing the comment
    assert pillow_accepts(polyglot)

    assert_refused(
        "cat.gif", polyglot, "opens a JavaScript comment right after 'GIF89a'", "GIF/JavaScript polyglot", RESAVE
    )


def test_gif_of_an_ordinary_width_with_the_same_comment_is_accepted() -> None:
    # the control for the test above: the comment alone is no script without the header's opener
    gif = SEEDS["GIF"]
    data = gif[:-1] + b"\x21\xfe\x0d*/=alert(1)//\x00;"

    assert inspect_image("cat.gif", data).format == "GIF"


@pytest.mark.parametrize(
    ("markup", "shown"),
    [
        (b"<script>alert(1)</script>", "<script"),
        (b"<SCRIPT src=//evil>", "<script"),
        (b"<html>", "<html"),
        (b"<svg onload=alert(1)>", "<svg"),
        (b"<?php system($_GET[0]); ?>", "<?php"),
        (b"<!DOCTYPE  HTML>", "<!doctype html"),
        (b"<iframe src=x>", "<iframe"),
        (b"<img src=x onerror=alert(1)>", "<img"),
        (b"<body onload=x()>", "<body"),
    ],
    ids=["script", "SCRIPT", "html", "svg", "php", "doctype", "iframe", "img", "body"],
)
def test_markup_in_the_first_bytes_is_refused(markup: bytes, shown: str) -> None:
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", markup.decode())  # Pillow writes text chunks before the pixels
    data = encode("PNG", pnginfo=text)
    assert data.index(markup) < 1024  # the premise: within the first 1,024 bytes
    assert pillow_accepts(data)

    assert_refused("x.png", data, f"HTML/script markup ({shown}) inside the image's first 1,024 bytes", RESAVE)


def test_pdf_header_in_the_first_bytes_is_refused() -> None:
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "%PDF-1.7 1 0 obj")

    assert_refused("x.png", encode("PNG", pnginfo=text), "a PDF header (%PDF-)", "first 1,024 bytes", "polyglot")


@pytest.mark.parametrize(
    "words",
    [
        "a < b and c > d",
        "<scripture reading>",
        "written in HTML",
        "svg export",
        "photo by <Jane>",
        "<imgur.com>",
        "<svg\x01",
        "<html-like>",
    ],
)
def test_text_that_only_looks_like_markup_is_accepted(words: str) -> None:
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", words)

    assert inspect_image("x.png", encode("PNG", pnginfo=text)).format == "PNG"


@pytest.mark.parametrize(
    ("kind", "body", "where"),
    [
        (b"tEXt", b"Comment\0<script>alert(1)</script>", "a PNG tEXt chunk"),
        (b"zTXt", b"Comment\0\0" + zlib.compress(b"<script>alert(1)</script>"), "a PNG zTXt chunk"),
        (b"iTXt", b"Comment\0\x01\0en\0\0" + zlib.compress(b"<svg onload=alert(1)>"), "a PNG iTXt chunk"),
    ],
    ids=["tEXt", "zTXt-compressed", "iTXt-compressed"],
)
def test_script_in_a_png_text_chunk_after_the_pixels_is_refused(kind: bytes, body: bytes, where: str) -> None:
    data = png_with_chunk_before_iend(kind, body)
    assert data.index(kind) > 1024  # past the first bytes: only the text-chunk check sees it
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        assert "<" in next(iter(img.text.values()))  # the premise: Pillow reads the markup as the chunk's text

    assert_refused("x.png", data, "HTML/script markup", f"in the image's metadata ({where})", "without its metadata")


@pytest.mark.parametrize("deep", [False, True], ids=["near-the-start", "past-1024-bytes"])
def test_script_in_a_jpeg_comment_is_refused(deep: bool) -> None:
    if deep:
        data = jpeg_with_segment_before_scan(0xFE, b"<script>alert(1)</script>")
        assert data.index(b"<script") > 1024
        expected = "in the image's metadata (a JPEG comment (COM))"
    else:
        data = encode("JPEG", comment=b"<script>alert(1)</script>")
        expected = "inside the image's first 1,024 bytes"
    assert pillow_accepts(data)

    assert_refused("x.jpg", data, "HTML/script markup (<script)", expected)


XMP_WITH_SCRIPT = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc:title><script>alert(1)</script></dc:title></x:xmpmeta>'


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_script_in_xmp_is_refused(fmt: str) -> None:
    if fmt == "JPEG":
        data = jpeg_with_segment_before_scan(0xE1, b"http://ns.adobe.com/xap/1.0/\0" + XMP_WITH_SCRIPT)
        where = "the JPEG's XMP (APP1)"
    else:
        data = encode("WEBP", picture((96, 96)), xmp=XMP_WITH_SCRIPT)
        where = "the WebP's XMP chunk"
    assert data.index(b"<script") > 1024
    assert pillow_accepts(data)

    assert_refused("x", data, "HTML/script markup (<script)", f"in the image's metadata ({where})")


def test_script_in_a_gif_comment_is_refused() -> None:
    # split across two sub-blocks, as a reader joining them sees it
    data = encode("GIF", picture((200, 100)))
    data = data[:-1] + b"\x21\xfe\x04<scr\x0cipt>alert(1)\x00;"
    assert pillow_accepts(data)

    assert_refused("x.gif", data, "HTML/script markup (<script)", "(a GIF comment)")


def test_benign_jpeg_comment_and_png_text_are_accepted() -> None:
    jpeg = jpeg_with_segment_before_scan(0xFE, b"shot at home, 3 < 4")
    png = png_with_chunk_before_iend(b"tEXt", b"Author\0Jane Photographer")

    assert inspect_image("x.jpg", jpeg).format == "JPEG"
    assert inspect_image("x.png", png).format == "PNG"


# ---------------------------------------------------------------- MPO and padding


@pytest.mark.parametrize("extra", [1, 2])
def test_mpo_from_pillow_is_still_accepted(extra: int) -> None:
    data = mpo(extra)
    first_eoi = data.index(b"\xff\xd9") + 2
    assert first_eoi < len(data)  # the premise: pictures follow the first one's end

    info = inspect_image("IMG_0001.JPG", data)

    assert (info.format, info.width, info.height, info.size) == ("JPEG", 48, 32, len(data))
    assert polyglot_layout(data, "JPEG").end == len(data)


@pytest.mark.parametrize("pad", [b"\x00", b"\xff"])
@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_padding_after_the_end_is_accepted_up_to_the_bound(fmt: str, pad: bytes) -> None:
    image = SEEDS[fmt]

    assert inspect_image("x", image + pad * 512).size == len(image) + 512
    assert inspect_image("x", image + pad * MAX_PADDING).size == len(image) + MAX_PADDING
    assert_refused(
        "x",
        image + pad * (MAX_PADDING + 1),
        f"{MAX_PADDING + 1:,} bytes of padding (0x{pad.hex().upper()})",
        f"more than the {MAX_PADDING:,} tolerated",
    )


def test_mpo_with_padding_after_its_last_picture_is_accepted() -> None:
    assert inspect_image("x.jpg", mpo() + bytes(4096)).format == "JPEG"


@pytest.mark.parametrize(
    "tail", [b"\x00\xff", b"\x00" * 100 + b"A", b"\x01", b" "], ids=["00-ff", "zeros-then-A", "01", "space"]
)
def test_padding_mixed_with_anything_else_is_refused(tail: bytes) -> None:
    assert_refused("x.jpg", SEEDS["JPEG"] + tail, f"{len(tail):,} bytes after the end of the JPEG image")


def test_jpeg_with_restart_markers_and_camera_segments_is_accepted() -> None:
    exif = Image.Exif()
    exif[0x010F] = "Camera Maker"
    data = encode("JPEG", picture((64, 64)), quality=85, restart_marker_blocks=2, exif=exif.tobytes())
    assert b"\xff\xd0" in data  # the premise: restart markers inside the scan

    assert inspect_image("x.jpg", data).format == "JPEG"
    assert polyglot_layout(data, "JPEG").end == len(data)


# ---------------------------------------------------------------- stripping metadata


def _with_metadata(fmt: str) -> bytes:
    exif = Image.Exif()
    exif[0x010E] = "holiday"
    if fmt == "PNG":
        text = PngImagePlugin.PngInfo()
        text.add_text("Author", "Jane")
        return encode("PNG", pnginfo=text, exif=exif.tobytes())
    if fmt == "GIF":
        return encode("GIF", comment=b"shot at home")
    if fmt == "JPEG":
        return encode("JPEG", comment=b"shot at home", exif=exif.tobytes())
    return encode("WEBP", exif=exif.tobytes())


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP"])
def test_stripped_output_ends_exactly_at_its_images_end(fmt: str) -> None:
    stripped = strip_metadata(f"x.{fmt.lower()}", _with_metadata(fmt))

    layout = polyglot_layout(stripped.data, fmt)
    assert (layout.end, layout.markup) == (len(stripped.data), None)


@pytest.mark.parametrize(
    "data",
    [SEEDS["PNG"] + zip_archive(), jpeg_with_segment_before_scan(0xFE, b"<script>alert(1)</script>")],
    ids=["appended-zip", "script-in-comment"],
)
def test_stripping_does_not_let_a_polyglot_through(data: bytes) -> None:
    # stripping would drop both payloads, but the file is judged as it came: refused, saying so
    with pytest.raises(InvalidImage, match="a file is checked before it is re-encoded"):
        strip_metadata("x", data)


# ---------------------------------------------------------------- no network call


@pytest.mark.parametrize("strip", [False, True], ids=["as-is", "strip-metadata"])
def test_upload_sends_no_request_for_a_polyglot(strip: bool) -> None:
    items = [
        UploadInput("gifar.gif", SEEDS["GIF"] + zip_archive()),
        UploadInput("page.png", SEEDS["PNG"] + HTML),
        UploadInput("doc.jpg", SEEDS["JPEG"] + PDF),
        UploadInput("x.webp", SEEDS["WEBP"] + zip_archive()),
    ]
    for result in upload_refused_before_any_request(items, strip=strip):
        assert "an appended file (a polyglot)?" in result.failed_step.error


def test_the_counting_server_does_count_a_clean_image() -> None:
    # the control for the test above: the same image without its payload reaches the presign endpoint
    with counting_pipeline() as (settings_, seen), new_session() as session:
        result = upload_one(UploadInput("gifar.gif", SEEDS["GIF"]), settings_, session)

    assert result.failed_step.name == "presign"
    assert [request["method"] for request in seen] == ["GET"]


# ---------------------------------------------------------------- properties

PROPERTY_SEEDS = (
    *SEEDS.values(),
    encode("WEBP", lossless=True),
    encode("JPEG", progressive=True),
    animation("GIF"),
    animation("WEBP"),
    animation("PNG"),
    mpo(),
)


def test_every_seed_ends_where_its_structure_says() -> None:
    for data in PROPERTY_SEEDS:
        fmt = identify._probe(data)[0]
        assert polyglot_layout(data, fmt).end == len(data), fmt


def _is_padding(tail: bytes) -> bool:
    return tail[:1] in (b"\x00", b"\xff") and tail == tail[:1] * len(tail)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(PROPERTY_SEEDS), tail=st.binary(min_size=1, max_size=300))
def test_appending_anything_but_padding_to_a_valid_image_is_refused(seed: bytes, tail: bytes) -> None:
    if _is_padding(tail):
        assert inspect_image("x", seed + tail).size == len(seed) + len(tail)
        return
    # usually "N bytes after the end"; markup or a PDF header landing in a small image's first 1,024 bytes, or a
    # tail that happens to be a ZIP's end record, is refused by those checks first: a polyglot either way
    with pytest.raises(InvalidImage, match="polyglot"):
        inspect_image("x", seed + tail)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.sampled_from(PROPERTY_SEEDS),
    pad=st.sampled_from([b"\x00", b"\xff"]),
    length=st.integers(1, MAX_PADDING),
)
def test_a_run_of_padding_within_the_bound_is_accepted(seed: bytes, pad: bytes, length: int) -> None:
    info = inspect_image("x", seed + pad * length)

    assert info.size == len(seed) + length
    assert images.polyglot_layout(seed + pad * length, info.format).end == len(seed)
