"""The Pipeline page's diagram: green only from a pass; "not run", unknown, skipped and not reached each look
different from ok, and from each other."""

from __future__ import annotations

import re

from services.checks.model import Finding, Status
from services.pipeline.upload import Step, UploadResult
from services.views.diagram import HOP_IDS, LOOKS, hop_states, hop_states_from_findings, pipeline_dot

GREEN = LOOKS["pass"].fill


def fills(dot: str) -> dict[str, tuple[str, str]]:
    """node -> (the word in its label, its fill colour), read back from the DOT text."""
    found = re.findall(r'^  (\w+) \[label=".*\[(.+?)\]", style="[^"]*", fillcolor="([^"]+)"', dot, re.MULTILINE)
    return {node: (word, fill) for node, word, fill in found}


def finding(check_id: str, status: Status) -> Finding:
    return Finding(id=check_id, status=status, title=check_id)


def test_before_anything_ran_no_hop_is_green_and_each_says_not_run():
    drawn = fills(pipeline_dot(hop_states([])))
    assert set(drawn) == set(HOP_IDS)
    assert all(word == "not run yet" and fill != GREEN for word, fill in drawn.values())


def test_every_state_has_its_own_word_and_look_and_only_a_pass_is_green():
    looks = list(LOOKS.values())
    assert len({look.word for look in looks}) == len(looks)
    assert len({(look.fill, look.style) for look in looks}) == len(looks)
    assert [name for name, look in LOOKS.items() if look.fill == GREEN] == ["pass"]


def test_cdn_checks_that_could_not_judge_are_not_ok():
    states = hop_states_from_findings(
        [finding("cdn.read", Status.UNKNOWN), finding("cdn.cache", Status.UNKNOWN), finding("bucket.cors", Status.PASS)]
    )
    drawn = fills(pipeline_dot(states))
    assert drawn["cdn_read"][0] == "could not tell" and drawn["cdn_read"][1] != GREEN
    assert drawn["put"] == ("ok", GREEN)


def test_a_hop_is_green_only_when_every_finding_that_judged_it_passed():
    mixed = hop_states_from_findings([finding("cdn.read", Status.PASS), finding("cdn.cache", Status.UNKNOWN)])
    assert mixed["cdn_read"] == "unknown"
    warned = hop_states_from_findings([finding("presign.url", Status.PASS), finding("presign.cors", Status.WARN)])
    assert warned["presign"] == "warn"
    skipped = hop_states_from_findings([finding("upload.roundtrip", Status.SKIP)])
    assert skipped["app"] == "skip" and skipped["put"] == "skip" and skipped["presign"] == "not_run"
    failed = hop_states_from_findings([finding("bucket.cors", Status.FAIL), finding("upload.roundtrip", Status.PASS)])
    assert failed["put"] == "fail" and failed["app"] == "pass"


def test_an_upload_stopped_at_presign_leaves_the_later_hops_not_reached():
    stopped = UploadResult(file="a.png", steps=[Step("validate", True), Step("presign", False, 500)])
    states = hop_states([stopped])
    assert states == {"app": "pass", "presign": "fail", "put": "not_reached", "cdn_read": "not_reached"}
    passed = UploadResult(
        file="b.png", ok=True, steps=[Step(n, True) for n in ("validate", "presign", "put", "cdn_read")]
    )
    assert hop_states([stopped, passed]) == {"app": "pass", "presign": "fail", "put": "pass", "cdn_read": "pass"}
