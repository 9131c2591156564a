"""Findings that know their impact and their cause (issue 12): the runner's clamp, ``caused_by``, the checks'
metadata, and the whole chain on the real sandbox (a missing CDN grant: one root, the rest name it)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from streamlit.testing.v1 import AppTest

from services.checks.evidence import CheckTarget, Evidence
from services.checks.model import BREAKING, Check, Finding, Impact, Status
from services.checks.report import HOPS, Report
from services.checks.runner import BY_ID, REGISTRY, attribute_causes, judge, run_checks, with_rerun
from tests.conftest import PROJECT_ROOT
from tests.support import HEALTHY_WARNINGS, cli

EVIDENCE = Evidence(
    target=CheckTarget(
        presign_url="https://api.example/presign", bucket="b", cdn_url="https://cdn.example", region=None
    ),
    gathered_at=datetime(2024, 5, 1, tzinfo=UTC),
)
GRANT = "bucket.cdn_read_grant"


def failing(check: Check, impact: Impact | None = None) -> Check:
    """The check with a judge that always fails (optionally naming its own impact)."""
    return replace(check, judge=lambda ev: Finding(check.id, Status.FAIL, "broken", impact=impact))


@pytest.mark.parametrize("check", REGISTRY, ids=[c.id for c in REGISTRY])
def test_no_check_can_fail_with_an_impact_that_breaks_nothing(check: Check) -> None:
    """Whatever a judge returns, the runner lets ``fail`` through only for upload, display and exposure."""
    for impact in (None, *Impact):
        found = judge(failing(check, impact), EVIDENCE)
        assert found.impact is (impact or check.impact)
        expected = Status.FAIL if found.impact in BREAKING else Status.WARN
        assert found.status is expected, (check.id, impact)


def test_a_judge_that_breaks_is_unknown_with_a_code_and_the_checks_impact() -> None:
    def broken(ev: Evidence) -> Finding:
        raise RuntimeError("boom")

    found = judge(replace(BY_ID["cdn.read"], judge=broken), EVIDENCE)
    assert (found.status, found.codes, found.impact) == (Status.UNKNOWN, ("check.internal_error",), Impact.DISPLAY)


def test_the_registry_metadata_is_complete_and_acyclic() -> None:
    hops = {hop for hop, _title in HOPS}
    for check in REGISTRY:
        assert check.title and check.description and check.hop in hops, check.id
        assert check.docs.startswith("https://docs.aws.amazon.com/"), check.id
        assert all(re.fullmatch(r"[a-z0-9]+:[A-Z][A-Za-z]+", action) for action in check.permissions), check.id
        assert set(check.depends_on) <= set(BY_ID) and check.id not in check.depends_on, check.id

    def reaches(start: str, seen: frozenset[str]) -> None:
        for up in BY_ID[start].depends_on:
            assert up not in seen, f"depends_on cycle through {up}"
            reaches(up, seen | {up})

    for check in REGISTRY:
        reaches(check.id, frozenset({check.id}))


def findings(**statuses: Status) -> list[Finding]:
    """One finding per registered check: pass, unless named (dots as double underscores)."""
    named = {key.replace("__", "."): status for key, status in statuses.items()}
    return [Finding(c.id, named.get(c.id, Status.PASS), c.title) for c in REGISTRY]


def causes(found: tuple[Finding, ...]) -> dict[str, tuple[str, ...]]:
    return {f.id: f.caused_by for f in found if f.status is not Status.PASS}


def test_a_fixed_root_cause_is_no_longer_named_once_its_check_is_run_again() -> None:
    before = attribute_causes(findings(bucket__cdn_read_grant=Status.FAIL, cdn__read=Status.FAIL))
    assert causes(before)["cdn.read"] == ("bucket.cdn_read_grant",)
    report = Report(EVIDENCE.target, tuple(before), datetime(2024, 5, 1, tzinfo=UTC), 1.0)
    # the grant was fixed and its check run alone: it passes; cdn.read (not run again) now names no fixed cause
    after = with_rerun(report, Finding("bucket.cdn_read_grant", Status.PASS, "granted"))
    assert causes(after.findings)["cdn.read"] == ()
    assert [f.id for f in after.root_causes()] == ["cdn.read"]
    # and a re-run that still fails is attributed against the whole run, not its own one-check run
    rerun = with_rerun(report, Finding("cdn.read", Status.FAIL, "still refused"))
    assert causes(rerun.findings)["cdn.read"] == ("bucket.cdn_read_grant",)


def test_caused_by_names_the_root_through_failing_and_unknown_upstreams() -> None:
    found = attribute_causes(
        findings(
            bucket__cdn_read_grant=Status.FAIL,
            upload__roundtrip=Status.FAIL,
            cdn__read=Status.FAIL,
            cdn__cache_hit=Status.UNKNOWN,
            cdn__cache_control=Status.UNKNOWN,
        )
    )
    assert causes(found) == {
        GRANT: (),
        "upload.roundtrip": (GRANT,),
        "cdn.read": (GRANT,),  # not upload.roundtrip: it fails only because of the grant
        "cdn.cache_hit": (GRANT,),
        "cdn.cache_control": (GRANT,),
    }


def test_a_passing_upstream_ends_the_walk_and_two_roots_are_both_named() -> None:
    found = attribute_causes(
        findings(presign__reachable=Status.FAIL, lambda__role_put=Status.FAIL, upload__roundtrip=Status.FAIL)
    )
    assert causes(found)["upload.roundtrip"] == ("presign.reachable", "lambda.role_put")
    # presign.contract passes (in this made-up run), so presign.url's unknown would not follow from reachable
    found = attribute_causes(findings(presign__reachable=Status.FAIL, presign__url=Status.UNKNOWN))
    assert causes(found)["presign.url"] == ()
    # an upstream that could not look (unknown) is walked through to the failure above it
    found = attribute_causes(
        findings(presign__reachable=Status.FAIL, presign__contract=Status.UNKNOWN, presign__url=Status.UNKNOWN)
    )
    assert causes(found)["presign.url"] == ("presign.reachable",)


def test_a_warning_upstream_is_no_cause_and_pass_or_skip_never_has_one() -> None:
    found = attribute_causes(
        findings(bucket__cors=Status.WARN, bucket__cors_preflight=Status.FAIL, cdn__read=Status.SKIP)
    )
    assert causes(found) == {"bucket.cors": (), "bucket.cors_preflight": (), "cdn.read": ()}
    found = attribute_causes(findings(bucket__cdn_read_grant=Status.FAIL))
    assert causes(found) == {GRANT: ()}


def test_the_summary_leads_with_what_breaks() -> None:
    found = [
        replace(f, impact=BY_ID[f.id].impact)
        for f in attribute_causes(
            findings(bucket__cdn_read_grant=Status.FAIL, cdn__read=Status.FAIL, cdn__cache_control=Status.WARN)
        )
    ]
    report = Report(EVIDENCE.target, tuple(found), datetime(2024, 5, 1, tzinfo=UTC), 10.0)
    summary = report.to_json()["summary"]
    assert list(summary)[:2] == ["breaks", "root_causes"]
    assert summary["breaks"] == {"upload": 0, "display": 2, "exposure": 0}
    assert summary["root_causes"] == [GRANT]
    assert report.summary_line().startswith("breaks display (2); 1 root cause; 2 fail, 1 warn")


# --- the real sandbox -----------------------------------------------------------------------------------------


def test_a_missing_cdn_grant_is_one_root_and_the_rest_name_it(sandbox, switch, sandbox_settings) -> None:
    """Issue 12: a missing grant gave three FAILs, one WARN and one UNKNOWN, and nothing said which was the cause."""
    switch("cdn-grant-missing")
    sandbox.invalidate(["/*"])
    report = run_checks(sandbox_settings)
    by_id = {f.id: f for f in report.findings}
    assert [f.id for f in report.root_causes()] == [GRANT]
    assert GRANT in by_id["cdn.read"].caused_by and by_id["cdn.read"].status is Status.FAIL
    control = by_id["cdn.cache_control"]
    assert (control.status, control.caused_by) == (Status.UNKNOWN, (GRANT,)), control.title
    assert "No Cache-Control" not in control.title and control.fix == ""
    others = [
        f
        for f in report.findings
        if f.status not in (Status.PASS, Status.SKIP) and f.id != GRANT and f.id not in HEALTHY_WARNINGS
    ]
    assert others and all(f.caused_by == (GRANT,) for f in others), [(f.id, f.status, f.caused_by) for f in others]
    assert by_id[GRANT].impact is Impact.DISPLAY and report.breaks()["display"] >= 2


def test_check_json_and_text_carry_impact_and_cause(sandbox, sandbox_env, switch) -> None:
    switch("cdn-grant-missing")
    sandbox.invalidate(["/*"])
    done = cli("check", "--json", env=sandbox_env)
    assert done.returncode == 1, done.stderr[-2000:]
    doc = json.loads(done.stdout)
    by_id = {f["id"]: f for f in doc["findings"]}
    assert all({"impact", "caused_by", "codes"} <= set(f) for f in doc["findings"])
    assert {f["impact"] for f in doc["findings"]} <= {str(i) for i in Impact}
    assert by_id["cdn.read"]["caused_by"] == [GRANT] and by_id[GRANT]["caused_by"] == []
    assert by_id[GRANT]["codes"] == ["grant.no_policy"] and by_id["cdn.read"]["codes"] == ["cdn.forbidden"]
    assert by_id["cdn.cache_control"]["codes"] == ["cache_control.cdn_read_failed"]
    assert by_id["cdn.cache_control"]["status"] == "unknown"
    assert doc["summary"]["root_causes"] == [GRANT] and doc["summary"]["breaks"]["display"] >= 2
    sandbox.invalidate(["/*"])
    text = cli("check", "--only", "bucket", "upload", "cdn", env=sandbox_env)
    assert text.returncode == 1
    lines = text.stdout.splitlines()
    read = next(n for n, line in enumerate(lines) if line.startswith("FAIL") and " cdn.read " in line)
    assert lines[read + 1].strip() == f"caused by {GRANT}"
    assert lines[-1].split(": ", 1)[1].startswith("breaks display")


def test_the_checks_page_shows_the_root_first_with_its_consequences_folded_under_it(configured, sandbox, switch):
    switch("cdn-grant-missing")
    sandbox.invalidate(["/*"])
    app = AppTest.from_file(str(PROJECT_ROOT / "dashboard.py"), default_timeout=90)
    app.run()
    app.switch_page("pages/checks.py")
    app.run()
    next(b for b in app.button if b.label == "Run all checks").click()
    app.run()
    assert not app.exception, app.exception
    assert app.subheader[0].value == "Root causes"
    assert "root cause: `bucket.cdn_read_grant`" in app.error[0].value and "display" in app.error[0].value
    labels = [e.label for e in app.expander]
    assert f"`{GRANT}`" in labels[0] and "**FAIL**" in labels[0]
    # the consequences are inside the root's expander, not listed again by hop
    assert not any(f"`{cid}`" in label for label in labels for cid in ("cdn.read", "cdn.cache_control"))
    inside = [m.value for m in app.expander[0].markdown]
    assert any("Follows from it" in value for value in inside)
    assert any("`cdn.read`" in value and "FAIL" in value for value in inside)
    assert any("`cdn.cache_control`" in value and "UNKNOWN" in value for value in inside)
    assert any("`bucket.cors`" in label for label in labels)  # the rest still by hop


def test_the_markdown_export_folds_consequences_under_their_root(sandbox, switch, sandbox_settings) -> None:
    switch("cdn-grant-missing")
    sandbox.invalidate(["/*"])
    text = run_checks(sandbox_settings).to_markdown()
    root = text.index("## Root causes")
    assert root < text.index(f"`{GRANT}`") < text.index("**Follows from it") < text.index("- ❌ `cdn.read`")
    assert text.count("`cdn.read` —") == 1 and "### ❌ `cdn.read`" not in text
    assert text.index("- ❔ `cdn.cache_control`") < text.index("## Presign endpoint")
