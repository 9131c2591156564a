"""10,000-frame animations (GIF, APNG, animated WebP) are refused before any network call, without decoding them.

The files are real: built with Pillow (1×1 frames, alternating colours so no encoder merges them), once per session.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from PIL import GifImagePlugin, Image, ImageFile, WebPImagePlugin

from services.core.errors import InvalidImage
from services.core.transport import new_session
from services.pipeline import images
from services.pipeline.images import inspect_image, strip_metadata
from services.pipeline.upload import UploadInput, upload_one
from tests.support import counting_pipeline, upload_refused_before_any_request

FRAMES = 10_000
FORMATS = {"GIF": "anim.gif", "PNG": "anim.png", "WEBP": "anim.webp"}
CAP_MESSAGE = f"frames, over the limit of {images.MAX_FRAMES:,} frames"


def _animation(fmt: str, frames: int) -> bytes:
    if fmt == "GIF":  # two palette entries, red and blue
        red, blue = Image.new("P", (1, 1), 0), Image.new("P", (1, 1), 1)
        for frame in (red, blue):
            frame.putpalette([255, 0, 0, 0, 0, 255])
    else:
        red, blue = Image.new("RGB", (1, 1), (255, 0, 0)), Image.new("RGB", (1, 1), (0, 0, 255))
    sequence = [red if index % 2 == 0 else blue for index in range(frames)]
    out = io.BytesIO()
    extra = {"lossless": True} if fmt == "WEBP" else {}
    sequence[0].save(out, fmt, save_all=True, append_images=sequence[1:], duration=20, loop=0, **extra)
    return out.getvalue()


@pytest.fixture(scope="session")
def huge_animations() -> dict[str, bytes]:
    """One real 10,000-frame file per format (building the GIF takes seconds: once per session)."""
    built = {fmt: _animation(fmt, FRAMES) for fmt in FORMATS}
    for fmt, data in built.items():
        with Image.open(io.BytesIO(data)) as img:  # the premise: Pillow itself sees 10,000 frames
            assert (img.format, img.n_frames) == (fmt, FRAMES)
    return built


@contextmanager
def decoding_counted() -> Iterator[dict[str, int]]:
    """Count frame decodes (pixel loads) and GIF frame-header steps Pillow makes inside the block."""
    counts = {"decoded": 0, "gif_frames_walked": 0}
    with pytest.MonkeyPatch.context() as patch:

        def counting(cls: type, name: str, counter: str) -> None:
            original = getattr(cls, name)

            def wrapper(self, *args, **kwargs):
                counts[counter] += 1
                return original(self, *args, **kwargs)

            patch.setattr(cls, name, wrapper)

        counting(ImageFile.ImageFile, "load", "decoded")  # GIF and PNG frames decode here
        counting(WebPImagePlugin.WebPImageFile, "_get_next", "decoded")  # WebP frames decode here
        counting(GifImagePlugin.GifImageFile, "_seek", "gif_frames_walked")  # what Pillow's GIF n_frames walks
        yield counts


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_a_10000_frame_animation_is_refused_with_the_frame_cap_message(huge_animations, fmt: str) -> None:
    with pytest.raises(InvalidImage) as refused:
        inspect_image(FORMATS[fmt], huge_animations[fmt])

    message = str(refused.value)
    assert CAP_MESSAGE in message
    assert "the animation has" in message
    if fmt != "GIF":  # APNG and WebP say their count in the header; a GIF is only counted up to the cap
        assert "10,000 frames" in message
    else:
        assert f"more than {images.MAX_FRAMES:,} frames" in message


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_the_validator_decides_without_decoding_the_frames(huge_animations, fmt: str) -> None:
    with decoding_counted() as counts, pytest.raises(InvalidImage):
        inspect_image(FORMATS[fmt], huge_animations[fmt])

    assert counts["decoded"] == 0
    assert counts["gif_frames_walked"] <= images.MAX_FRAMES + 1  # stopped at the cap, not all 10,000


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_the_counter_does_see_decoding_of_an_accepted_animation(fmt: str) -> None:
    # the control for the test above: a small animation is decoded frame by frame, and that is counted
    with decoding_counted() as counts:
        info = inspect_image(FORMATS[fmt], _animation(fmt, 3))

    assert info.frames == 3
    assert counts["decoded"] >= 3


def test_stripping_metadata_refuses_a_10000_frame_animation_too(huge_animations) -> None:
    for fmt, name in FORMATS.items():
        with pytest.raises(InvalidImage, match=CAP_MESSAGE):
            strip_metadata(name, huge_animations[fmt])


@pytest.mark.parametrize("strip", [False, True], ids=["as-is", "strip-metadata"])
def test_upload_sends_no_request_for_10000_frame_animations(huge_animations, strip: bool) -> None:
    items = [UploadInput(name, huge_animations[fmt]) for fmt, name in FORMATS.items()]
    for result in upload_refused_before_any_request(items, strip=strip):
        assert CAP_MESSAGE in result.failed_step.error
        assert result.key is None and result.cdn_url is None


def test_the_counting_server_does_count() -> None:
    # the control: a small animation does reach the (counting) presign endpoint
    with counting_pipeline() as (settings, seen), new_session() as session:
        result = upload_one(UploadInput("small.gif", _animation("GIF", 3)), settings, session)

    assert result.failed_step.name == "presign"
    assert [request["method"] for request in seen] == ["GET"]
