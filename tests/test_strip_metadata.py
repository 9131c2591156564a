"""Stripping metadata (EXIF with GPS, XMP, IPTC, PNG text) by re-encoding, and uploading the stripped bytes.

Images are made with Pillow in the tests, metadata and all; uploads go through the real sandbox over HTTP.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import struct
import warnings
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from PIL import ExifTags, Image, ImageChops, ImageCms, ImageOps, ImageSequence, ImageStat, JpegImagePlugin
from PIL.PngImagePlugin import PngInfo
from streamlit.testing.v1 import AppTest

from services.core.errors import InvalidImage
from services.core.transport import new_session
from services.pipeline import images
from services.pipeline.images import StrippedImage, inspect_image, strip_metadata
from services.pipeline.upload import UploadInput, upload_batch, upload_one
from tests.conftest import PROJECT_ROOT
from tests.support import cli, http_server

SECRET_MAKE = "SecretPhone 9"
BYLINE = b"Jane Photographer"
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description creator="Jane"/></rdf:RDF></x:xmpmeta>'
XMP_NS = b"http://ns.adobe.com/xap/1.0/"
GPS_TAG_BYTES = (b"\x88\x25", b"\x25\x88")  # the GPS IFD pointer tag (0x8825), either byte order
SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


# ---------------------------------------------------------------- making images with metadata


def picture(size: tuple[int, int] = (64, 48)) -> Image.Image:
    """A smooth picture (JPEG-friendly) with a blue mark in the top-left corner, to see which way is up."""
    ramp = Image.linear_gradient("L").resize(size)
    img = Image.merge("RGB", (ramp, ramp.transpose(Image.Transpose.FLIP_LEFT_RIGHT), Image.new("L", size, 90)))
    img.paste((0, 0, 255), (0, 0, size[0] // 4, size[1] // 4))
    return img


def exif_with_gps(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = SECRET_MAKE
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (37.0, 33.0, 59.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (126.0, 58.0, 41.0)
    return exif


def iptc_segment() -> bytes:
    """An APP13 Photoshop segment with an IPTC By-line, as photo tools write it."""
    iptc = b"\x1c\x02\x50" + struct.pack(">H", len(BYLINE)) + BYLINE
    resource = b"8BIM" + b"\x04\x04" + b"\x00\x00" + struct.pack(">I", len(iptc)) + iptc + b"\x00" * (len(iptc) % 2)
    payload = b"Photoshop 3.0\x00" + resource
    return b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload


def jpeg_with_metadata(orientation: int = 1, **params) -> bytes:
    out = io.BytesIO()
    picture().save(
        out,
        "JPEG",
        quality=90,
        exif=exif_with_gps(orientation),
        xmp=XMP,
        comment=b"shot at home",
        extra=iptc_segment(),
        **params,
    )
    return out.getvalue()


def png_with_metadata(mode: str = "RGBA", **params) -> bytes:
    text = PngInfo()
    text.add_text("Author", "Jane Photographer")
    text.add_text("Location", "home", zip=True)  # zTXt
    text.add_itxt("Comment", "secret", zip=False)  # iTXt
    text.add_itxt("XML:com.adobe.xmp", XMP.decode())
    img = picture().convert(mode)
    out = io.BytesIO()
    img.save(out, "PNG", pnginfo=text, exif=exif_with_gps(), **params)
    return out.getvalue()


def png_chunk_types(data: bytes) -> list[bytes]:
    kinds, pos = [], 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        kinds.append(kind)
        pos += 12 + length
    return kinds


def gif_with_xmp_and_comment(frames: list[Image.Image], **params) -> bytes:
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], comment=b"shot at home", **params)
    data = out.getvalue()
    # an XMP application extension after the global colour table, as Photoshop writes it
    table = 3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0
    at = 13 + table
    blocks = b"".join(bytes([len(XMP[i : i + 255])]) + XMP[i : i + 255] for i in range(0, len(XMP), 255))
    return data[:at] + b"\x21\xff\x0bXMP DataXMP" + blocks + b"\x00" + data[at:]


def frames_of(data: bytes) -> list[tuple[Image.Image, float | None]]:
    with Image.open(io.BytesIO(data)) as img:
        return [(frame.convert("RGBA"), frame.info.get("duration")) for frame in ImageSequence.Iterator(img)]


def decoded(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        return img.copy()


def assert_no_exif_or_xmp(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as img:
        assert not img.getexif()
        assert "exif" not in img.info and "xmp" not in img.info
    assert b"Exif\x00\x00" not in data
    assert SECRET_MAKE.encode() not in data
    assert XMP_NS not in data and b"xmpmeta" not in data


# ---------------------------------------------------------------- JPEG


def test_jpeg_loses_exif_gps_xmp_iptc_and_comment_and_says_so() -> None:
    data = jpeg_with_metadata()
    assert b"Exif\x00\x00" in data and XMP_NS in data and BYLINE in data  # the premise
    assert any(tag in data for tag in GPS_TAG_BYTES)

    stripped = strip_metadata("photo.jpg", data)

    assert_no_exif_or_xmp(stripped.data)
    assert BYLINE not in stripped.data and b"Photoshop 3.0" not in stripped.data
    assert b"shot at home" not in stripped.data
    assert not any(tag in stripped.data for tag in GPS_TAG_BYTES)
    assert stripped.removed == ("EXIF (incl. GPS)", "XMP", "IPTC/Photoshop (APP13)", "comment")
    summary = stripped.summary()
    assert "removed EXIF (incl. GPS), XMP, IPTC/Photoshop (APP13), comment" in summary
    assert f"{len(data):,} → {len(stripped.data):,} bytes" in summary


def test_jpeg_stays_a_jpeg_with_close_pixels_and_the_originals_tables() -> None:
    data = jpeg_with_metadata(subsampling="4:4:4")

    stripped = strip_metadata("photo.jpeg", data)

    assert stripped.info == inspect_image("photo.jpeg", stripped.data)  # what the validator says of the new bytes
    assert (stripped.info.format, stripped.info.ext, stripped.info.mime) == ("JPEG", "jpeg", "image/jpeg")
    assert stripped.info.sha256 == hashlib.sha256(stripped.data).hexdigest() != stripped.original.sha256
    before, after = Image.open(io.BytesIO(data)), Image.open(io.BytesIO(stripped.data))
    assert after.quantization == before.quantization  # the original's quality, not a guess
    assert JpegImagePlugin.get_sampling(after) == JpegImagePlugin.get_sampling(before) == 0  # 4:4:4 stays
    difference = ImageChops.difference(before.convert("RGB"), after.convert("RGB"))
    assert max(ImageStat.Stat(difference).mean) < 2.0


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_orientation_is_applied_to_the_pixels_before_it_goes(orientation: int) -> None:
    data = jpeg_with_metadata(orientation)
    upright = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")

    stripped = strip_metadata("photo.jpg", data)

    after = decoded(stripped.data).convert("RGB")
    assert after.size == upright.size == ((48, 64) if orientation in (6, 8) else (64, 48))
    assert (stripped.info.width, stripped.info.height) == after.size
    assert max(ImageStat.Stat(ImageChops.difference(after, upright)).mean) < 2.0
    assert f"EXIF orientation {orientation} applied to the pixels" in stripped.summary()
    assert not decoded(stripped.data).getexif()


def test_jpeg_icc_profile_is_kept_and_the_summary_says_so() -> None:
    data = jpeg_with_metadata(icc_profile=SRGB_ICC)

    stripped = strip_metadata("photo.jpg", data)

    assert decoded(stripped.data).info.get("icc_profile") == SRGB_ICC
    assert stripped.kept == ("ICC colour profile",)
    assert "kept ICC colour profile (colours stay right)" in stripped.summary()


def test_jpeg_extra_mpf_pictures_are_dropped() -> None:
    out = io.BytesIO()
    picture().save(out, "MPO", save_all=True, append_images=[Image.new("RGB", (16, 12), "green")])

    stripped = strip_metadata("IMG_0001.JPG", out.getvalue())

    assert stripped.info.frames == 1 and stripped.info.format == "JPEG"
    assert b"MPF\x00" not in stripped.data
    assert "1 extra MPF picture(s)" in stripped.removed


# ---------------------------------------------------------------- PNG


@pytest.mark.parametrize("mode", ["RGBA", "RGB", "L", "P"])
def test_png_loses_its_text_and_exif_chunks_and_keeps_exact_pixels(mode: str) -> None:
    data = png_with_metadata(mode)
    assert {b"tEXt", b"zTXt", b"iTXt", b"eXIf"} <= set(png_chunk_types(data))  # the premise

    stripped = strip_metadata("shot.png", data)

    kinds = set(png_chunk_types(stripped.data))
    assert not kinds & {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"}, kinds
    assert_no_exif_or_xmp(stripped.data)
    assert b"Jane Photographer" not in stripped.data
    before, after = decoded(data), decoded(stripped.data)
    assert (after.mode, after.size) == (before.mode, before.size)
    assert after.tobytes() == before.tobytes()
    assert stripped.removed == ("EXIF (incl. GPS)", "XMP", "PNG text (tEXt/zTXt/iTXt)")


def test_png_keeps_its_icc_profile_and_transparency() -> None:
    img = picture().convert("P")
    out = io.BytesIO()
    img.save(out, "PNG", icc_profile=SRGB_ICC, transparency=0)

    stripped = strip_metadata("x.png", out.getvalue())

    after = decoded(stripped.data)
    assert after.info.get("icc_profile") == SRGB_ICC
    assert after.info.get("transparency") == 0
    assert after.convert("RGBA").tobytes() == decoded(out.getvalue()).convert("RGBA").tobytes()
    assert stripped.removed == ()
    assert "no metadata found, re-encoded anyway" in stripped.summary()


def test_png_without_icc_keeps_its_gamma_chunk() -> None:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    plain = io.BytesIO()
    picture().save(plain, "PNG")
    data = plain.getvalue()
    data = data[:33] + chunk(b"gAMA", struct.pack(">I", 45455)) + data[33:]  # right after IHDR

    stripped = strip_metadata("x.png", data)

    assert b"gAMA" in png_chunk_types(stripped.data)
    assert decoded(stripped.data).info.get("gamma") == pytest.approx(0.45455)


def test_16_bit_colour_png_is_said_to_become_8_bit() -> None:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = b"".join(b"\x00" + bytes(range(row * 12, row * 12 + 12)) for row in range(2))  # 2×2, RGB, 16 bits
    data = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 16, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )

    stripped = strip_metadata("deep.png", data)

    assert "16-bit colour reduced to 8 bits per channel" in stripped.summary()
    assert decoded(stripped.data).tobytes() == decoded(data).tobytes()  # what Pillow saw is what is sent


def test_an_orientation_out_of_range_leaves_the_picture_as_it_is() -> None:
    data = jpeg_with_metadata(orientation=9)

    stripped = strip_metadata("photo.jpg", data)

    assert (stripped.info.width, stripped.info.height) == (64, 48)
    assert "orientation" not in stripped.summary()


# ---------------------------------------------------------------- animations


def coloured_frames(count: int, size: tuple[int, int] = (16, 16)) -> list[Image.Image]:
    return [Image.new("RGB", size, (i * 60 % 256, 255 - i * 40 % 256, 30)) for i in range(count)]


def test_animated_gif_keeps_frames_durations_loop_and_loses_comment_and_xmp() -> None:
    durations = [40, 80, 120, 60]
    data = gif_with_xmp_and_comment([f.convert("P") for f in coloured_frames(4)], duration=durations, loop=3)
    assert b"XMP DataXMP" in data and inspect_image("a.gif", data).frames == 4  # the premise

    stripped = strip_metadata("a.gif", data)

    assert stripped.removed == ("XMP", "comment")
    assert b"XMP DataXMP" not in stripped.data and b"shot at home" not in stripped.data
    before, after = frames_of(data), frames_of(stripped.data)
    assert stripped.info.frames == len(after) == 4
    assert [d for _, d in after] == durations
    assert [f.tobytes() for f, _ in after] == [f.tobytes() for f, _ in before]
    assert decoded(stripped.data).info.get("loop") == 3


def test_gif_that_plays_once_still_plays_once() -> None:
    frames = [f.convert("P") for f in coloured_frames(2)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=50)  # no loop extension

    stripped = strip_metadata("a.gif", out.getvalue())

    assert "loop" not in decoded(stripped.data).info
    assert b"NETSCAPE2.0" not in stripped.data


def test_animated_gif_with_transparency_keeps_every_frame_as_it_looked() -> None:
    frames = []
    for i in range(4):  # a red bar moving over a transparent background
        frame = Image.new("RGBA", (16, 16), (0, 0, 0, 0))
        frame.paste((255, 0, 0, 255), (i * 4, 0, i * 4 + 4, 16))
        frames.append(frame)
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0, disposal=2)

    stripped = strip_metadata("a.gif", out.getvalue())

    before, after = frames_of(out.getvalue()), frames_of(stripped.data)
    assert [f.tobytes() for f, _ in after] == [f.tobytes() for f, _ in before]


@pytest.mark.parametrize("lossless", [True, False], ids=["lossless", "lossy"])
def test_animated_webp_keeps_frames_durations_loop_and_loses_exif_and_xmp(lossless: bool) -> None:
    durations = [30, 60, 90, 120, 150]
    frames = coloured_frames(5)
    out = io.BytesIO()
    frames[0].save(
        out,
        "WEBP",
        save_all=True,
        append_images=frames[1:],
        duration=durations,
        loop=2,
        lossless=lossless,
        exif=exif_with_gps(),
        xmp=XMP,
    )
    data = out.getvalue()

    stripped = strip_metadata("a.webp", data)

    assert stripped.removed == ("EXIF (incl. GPS)", "XMP")
    assert_no_exif_or_xmp(stripped.data)
    before, after = frames_of(data), frames_of(stripped.data)
    assert stripped.info.frames == len(after) == 5
    assert [d for _, d in after] == durations
    assert decoded(stripped.data).info["loop"] == 2
    for (a, _), (b, _) in zip(before, after, strict=True):
        worst = max(high for _, high in ImageChops.difference(a, b).getextrema())
        assert worst == 0 if lossless else worst <= 8


def test_apng_keeps_frames_durations_and_loop() -> None:
    durations = [40.0, 80.0, 120.0]
    frames = coloured_frames(3)
    out = io.BytesIO()
    text = PngInfo()
    text.add_text("Author", "Jane Photographer")
    frames[0].save(out, "PNG", save_all=True, append_images=frames[1:], duration=durations, loop=5, pnginfo=text)

    stripped = strip_metadata("a.png", out.getvalue())

    after = frames_of(stripped.data)
    assert [d for _, d in after] == durations
    assert [f.tobytes() for f, _ in after] == [f.tobytes() for f, _ in frames_of(out.getvalue())]
    assert decoded(stripped.data).info["loop"] == 5
    assert b"Jane Photographer" not in stripped.data


# ---------------------------------------------------------------- refusals


def test_stripping_refuses_what_the_validator_refuses() -> None:
    with pytest.raises(InvalidImage, match="not a PNG, JPEG, GIF or WebP"):
        strip_metadata("notes.png", b"plain text, not a picture" * 4)


def test_stripping_an_image_too_large_to_re_encode_is_a_console_error(monkeypatch) -> None:
    monkeypatch.setattr(images.strip, "MAX_STRIP_PIXELS", 64 * 48 - 1)

    with pytest.raises(InvalidImage, match="too large to re-encode without its metadata"):
        strip_metadata("photo.jpg", jpeg_with_metadata())


def test_a_re_encoded_file_over_the_size_limit_is_refused_saying_why(monkeypatch) -> None:
    lossy = io.BytesIO()
    picture().save(lossy, "WEBP", quality=50)
    data = lossy.getvalue()
    grown = len(strip_metadata("x.webp", data).data)
    assert grown > len(data)  # the premise: a lossy WebP re-encoded at high quality grows
    monkeypatch.setattr(images.formats, "MAX_BYTES", len(data))  # the file itself is within the limit

    with pytest.raises(InvalidImage) as refused:
        strip_metadata("x.webp", data)

    assert str(refused.value) == (
        f"re-encoded without its metadata, the file would be refused: the file is {grown:,} bytes, "
        f"over the limit of {len(data):,} bytes"
    )


# ---------------------------------------------------------------- property: any valid small image

MODES = {
    "PNG": ["RGB", "RGBA", "L", "LA", "P", "1", "I;16"],
    "JPEG": ["RGB", "L", "CMYK"],
    "GIF": ["P", "L", "RGB"],
    "WEBP": ["RGB", "RGBA"],
}


@st.composite
def small_images(draw: st.DrawFn) -> tuple[str, bytes]:
    fmt = draw(st.sampled_from(sorted(MODES)))
    mode = draw(st.sampled_from(MODES[fmt]))
    size = (draw(st.integers(1, 12)), draw(st.integers(1, 12)))
    count = 1 if fmt == "JPEG" else draw(st.integers(1, 3))
    frames = []
    for _ in range(count):
        raw = draw(st.binary(min_size=size[0] * size[1] * 4, max_size=size[0] * size[1] * 4))
        frames.append(Image.frombytes("RGBA", size, raw).convert(mode))
    params: dict = {}
    if draw(st.booleans()) and fmt != "GIF":
        params["exif"] = exif_with_gps(draw(st.integers(1, 8)))
    if draw(st.booleans()) and fmt in ("JPEG", "PNG", "WEBP"):
        params["icc_profile"] = SRGB_ICC
    if draw(st.booleans()) and fmt in ("JPEG", "WEBP"):
        params["xmp"] = XMP
    if draw(st.booleans()) and fmt in ("JPEG", "GIF"):
        params["comment"] = b"shot at home"
    if fmt == "WEBP":
        params["lossless"] = draw(st.booleans())
    if fmt == "JPEG":
        params["quality"] = draw(st.integers(1, 100))
    if count > 1:
        params.update(save_all=True, append_images=frames[1:], duration=draw(st.integers(10, 200)))
    out = io.BytesIO()
    try:
        frames[0].save(out, fmt, **params)
    except (OSError, ValueError):
        reject()  # a combination Pillow cannot write is no test of the console
    return f"x.{fmt.lower()}", out.getvalue()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(image=small_images())
def test_stripping_any_valid_small_image_gives_a_valid_image_or_a_console_error(image: tuple[str, bytes]) -> None:
    name, data = image
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            original = inspect_image(name, data)
        except InvalidImage:
            reject()
        try:
            stripped = strip_metadata(name, data, original)
        except InvalidImage as err:
            assert str(err)
            return
    assert isinstance(stripped, StrippedImage)
    assert inspect_image(name, stripped.data) == stripped.info
    assert stripped.info.format == original.format
    assert 1 <= stripped.info.frames <= original.frames
    assert {stripped.info.width, stripped.info.height} == {original.width, original.height}
    assert_no_exif_or_xmp(stripped.data)


# ---------------------------------------------------------------- the upload service, over the sandbox


def test_upload_with_stripping_stores_bytes_without_exif_and_the_cdn_returns_them(sandbox_settings, s3, sandbox):
    data = jpeg_with_metadata()

    (result,) = dict(upload_batch([UploadInput("photo.jpg", data)], sandbox_settings, strip_metadata=True)).values()

    assert result.ok, result.failed_step
    stored = s3.get_object(Bucket=sandbox.endpoints.bucket, Key=result.key)["Body"].read()
    assert_no_exif_or_xmp(stored)
    assert stored != data
    assert result.sha256 == hashlib.sha256(stored).hexdigest() == result.image.sha256
    assert [s.name for s in result.steps] == ["validate", "presign", "put", "cdn_read"]
    assert result.steps[-1].ok  # the CDN read-back compared sha256 with the bytes actually sent
    note = result.steps[0].note
    assert "removed EXIF (incl. GPS), XMP" in note
    assert f"{len(data):,} → {len(stored):,} bytes" in note
    assert result.stripped == note
    assert "ok — metadata stripped by re-encoding" in result.trace_rows()[0]["outcome"]


def test_upload_without_stripping_stores_the_files_own_bytes(sandbox_settings, s3, sandbox):
    data = jpeg_with_metadata()

    (result,) = dict(upload_batch([UploadInput("photo.jpg", data)], sandbox_settings)).values()

    assert result.ok, result.failed_step
    assert s3.get_object(Bucket=sandbox.endpoints.bucket, Key=result.key)["Body"].read() == data
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.steps[0].note is None and result.stripped is None


@pytest.mark.parametrize(("strip", "ok"), [(True, False), (False, True)])
def test_the_cdn_read_back_compares_with_the_bytes_actually_sent(sandbox_settings, strip: bool, ok: bool):
    # a CDN that serves the file as it was picked, metadata and all: right only when nothing was stripped
    data = jpeg_with_metadata()
    with http_server(lambda _req: (200, {"Content-Type": "image/jpeg"}, data)) as (cdn, _):
        settings = dataclasses.replace(sandbox_settings, cdn_url=cdn)
        (result,) = dict(upload_batch([UploadInput("photo.jpg", data)], settings, strip_metadata=strip)).values()

    assert result.ok is ok
    if not ok:
        assert result.failed_step.name == "cdn_read"
        assert "different bytes than were uploaded" in result.failed_step.error


def test_a_file_that_cannot_be_stripped_is_refused_before_any_network_call(sandbox_settings, monkeypatch):
    monkeypatch.setattr(images.strip, "MAX_STRIP_PIXELS", 10)
    with http_server(lambda _r: (500, {}, b"")) as (base, seen):
        settings = dataclasses.replace(sandbox_settings, presign_url=f"{base}/presign", cdn_url=base)
        with new_session() as session:
            result = upload_one(UploadInput("photo.jpg", jpeg_with_metadata()), settings, session, strip_metadata=True)

    assert seen == []
    step = result.failed_step
    assert [s.name for s in result.steps] == ["validate"]
    assert "too large to re-encode" in step.error and "nothing was uploaded" in step.cause


# ---------------------------------------------------------------- the CLI and the page


def test_cli_strip_metadata_uploads_stripped_bytes_and_says_what_went(tmp_path: Path, sandbox_env, s3, sandbox):
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(jpeg_with_metadata())

    done = cli("upload", "--strip-metadata", "--json", str(photo), env=sandbox_env)
    human = cli("upload", "--strip-metadata", str(photo), env=sandbox_env)

    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.splitlines()
    result = json.loads(line)
    stored = s3.get_object(Bucket=sandbox.endpoints.bucket, Key=result["key"])["Body"].read()
    assert_no_exif_or_xmp(stored)
    assert result["sha256"] == hashlib.sha256(stored).hexdigest()
    assert "removed EXIF (incl. GPS), XMP" in result["steps"][0]["note"]
    assert human.returncode == 0, human.stderr
    assert "metadata stripped by re-encoding: removed EXIF (incl. GPS)" in human.stdout


def test_cli_without_the_flag_uploads_the_files_own_bytes(tmp_path: Path, sandbox_env, s3, sandbox):
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(jpeg_with_metadata())

    done = cli("upload", "--json", str(photo), env=sandbox_env)

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert s3.get_object(Bucket=sandbox.endpoints.bucket, Key=result["key"])["Body"].read() == photo.read_bytes()
    assert result["steps"][0]["note"] is None


def _upload_page_with(data: bytes, strip: bool | None) -> AppTest:
    app = AppTest.from_file(str(PROJECT_ROOT / "dashboard.py"), default_timeout=60)
    app.run()
    app.switch_page("pages/upload.py")
    app.run()
    assert not app.exception, app.exception
    (toggle,) = app.toggle
    assert "Strip metadata (EXIF, GPS) by re-encoding before upload" in toggle.label
    assert "optional" in toggle.label
    assert "new bytes" in toggle.help and "grow or shrink" in toggle.help
    assert toggle.value is False  # off by default
    if strip is not None:
        toggle.set_value(strip)
    app.file_uploader[0].set_value(("photo.jpg", data, "image/jpeg"))
    app.run()
    app.button[0].click()
    app.run()
    assert not app.exception, app.exception
    return app


def _stored_from_page(app: AppTest, s3, sandbox) -> bytes:
    assert any("1 of 1 uploaded" in h.value for h in app.subheader)
    (url,) = [c.value for c in app.code if c.value.startswith(f"{sandbox.endpoints.cdn}/")]
    key = url.removeprefix(f"{sandbox.endpoints.cdn}/")
    return s3.get_object(Bucket=sandbox.endpoints.bucket, Key=key)["Body"].read()


def test_upload_page_toggle_strips_metadata_and_shows_what_went(configured, s3, sandbox):
    data = jpeg_with_metadata()

    app = _upload_page_with(data, strip=True)

    assert_no_exif_or_xmp(_stored_from_page(app, s3, sandbox))
    captions = "\n".join(c.value for c in app.caption)
    assert "metadata stripped by re-encoding: removed EXIF (incl. GPS), XMP" in captions


def test_upload_page_leaves_the_file_alone_by_default(configured, s3, sandbox):
    data = jpeg_with_metadata()

    app = _upload_page_with(data, strip=None)

    assert _stored_from_page(app, s3, sandbox) == data
    assert "metadata stripped" not in "\n".join(c.value for c in app.caption)
