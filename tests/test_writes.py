"""The writes switch (services/core/writes.py): which names a write must be confirmed by, and the one hint text."""

from __future__ import annotations

import dataclasses

import pytest

from services.core import writes
from services.core.settings import Settings

BASE = Settings(presign_url="https://p.example.com/presign", bucket="b", cdn_url="https://cdn.example.com")
ON = dataclasses.replace(BASE, allow_writes=True)
LIVE = dataclasses.replace(ON, profile="live", production=True)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (ON, (writes.Confirmation("bucket", "b"),)),
        (dataclasses.replace(ON, profile="staging"), (writes.Confirmation("bucket", "b"),)),
        (LIVE, (writes.Confirmation("bucket", "b"), writes.Confirmation("profile", "live"))),
    ],
)
def test_a_write_is_confirmed_by_what_it_writes_to_and_on_production_by_the_profile_too(settings, expected) -> None:
    assert writes.confirmations(settings, "bucket", "b") == expected


@pytest.mark.parametrize(
    ("settings", "confirm", "confirm_profile", "refused"),
    [
        (BASE, "b", None, writes.WritesOff),
        (dataclasses.replace(LIVE, allow_writes=False), "b", "live", writes.WritesOff),
        (ON, "b", None, None),
        (ON, "B", None, writes.NotConfirmed),
        (ON, "b", "anything", None),  # not production: the profile's name is not asked for
        (LIVE, "b", None, writes.NotConfirmed),
        (LIVE, "b", "", writes.NotConfirmed),
        (LIVE, "b", "live ", writes.NotConfirmed),
        (LIVE, "b", "default", writes.NotConfirmed),
        (LIVE, "x", "live", writes.NotConfirmed),
        (LIVE, "b", "live", None),
    ],
)
def test_refusal(settings: Settings, confirm, confirm_profile, refused) -> None:
    bucket = writes.Confirmation("bucket", "b")

    found = writes.refusal(settings, "Deleting it", bucket, confirm, confirm_profile)

    assert type(found) is refused if refused else found is None
    if refused is not None:
        with pytest.raises(refused, match=r"^Deleting it refused: "):
            writes.require(settings, "Deleting it", bucket, confirm, confirm_profile)


def test_without_a_resource_only_the_switch_and_the_production_profile_are_asked() -> None:
    assert writes.refusal(ON, "Invalidating") is None
    assert isinstance(writes.refusal(LIVE, "Invalidating"), writes.NotConfirmed)
    assert writes.refusal(LIVE, "Invalidating", confirm_profile="live") is None


def test_the_hint_says_where_this_profile_turns_writes_on() -> None:
    assert "PIPELINE_ALLOW_WRITES=true" in writes.writes_off_hint(BASE)
    assert "PIPELINE_ALLOW_WRITES=true" in writes.writes_off_hint(dataclasses.replace(BASE, profile="sandbox"))
    named = writes.writes_off_hint(dataclasses.replace(BASE, profile="staging"))
    assert "`allow_writes = true` in `[pipelines.staging]`" in named and "PIPELINE_ALLOW_WRITES" not in named
    assert writes.writes_off_hint(BASE) == writes.WRITES_OFF_HINT
    assert str(writes.refusal(BASE, "Applying the fix")) == "Applying the fix refused: w" + writes.WRITES_OFF_HINT[1:]


def test_the_fix_and_browse_refusals_are_the_writes_switchs() -> None:
    from services.checks import remedy
    from services.pipeline import browse

    assert remedy.WritesOff is writes.WritesOff is browse.WritesDisabled
    assert remedy.ConfirmationMismatch is writes.NotConfirmed
    assert issubclass(remedy.RemedyRefused, writes.WritesRefused)
