"""Checks: run every diagnostic against the pipeline; each finding explains itself and gives the exact fix."""

import json
from collections.abc import Sequence

import streamlit as st

from pages._auth import _escaped as escaped_markdown
from pages._shared import Keys, bucket_changed, confirm_profile_input, get_target, who
from services.checks import remedy as remedies
from services.checks.model import Finding, Status
from services.checks.runner import run_checks, with_rerun
from services.core import writes
from services.core.errors import ConsoleError
from services.history.record import RunRecorder
from services.views.fixes import fix_blocks
from services.views.markdown import literal

#: colour-coded Material icons render everywhere (emoji fonts are not a given)
BADGES = {
    Status.FAIL: ":red[:material/cancel:]",
    Status.WARN: ":orange[:material/warning:]",
    Status.UNKNOWN: ":gray[:material/help:]",
    Status.PASS: ":green[:material/check_circle:]",
    Status.SKIP: ":gray[:material/remove_circle_outline:]",
}

NOTICES = {"ok": st.success, "warn": st.warning, "error": st.error}

target = get_target()


def _fix(text: str) -> None:
    """Prose as prose; only the JSON and the commands as code, wrapped, each with its copy button."""
    for block in fix_blocks(text):
        if block.is_code:
            st.code(block.text, language=block.kind, wrap_lines=True)
        else:
            st.markdown(escaped_markdown(block.text).replace("\n", "  \n"))  # as written: no Markdown, no LaTeX


def _apply(finding: Finding) -> None:
    # the service checks the writes switch and the typed name again, before any AWS call
    typed = st.session_state.get(Keys.CHECK_FIX_CONFIRM + finding.id)
    typed_profile = st.session_state.get(Keys.CHECK_FIX_CONFIRM_PROFILE + finding.id)
    recorder = RunRecorder(target.settings, who())  # the check's run after the fix is recorded, like any run
    try:
        outcome = remedies.apply_fix(
            finding, target.settings, confirm=typed, confirm_profile=typed_profile, on_done=recorder
        )
    except ConsoleError as err:
        st.session_state[Keys.CHECK_FIX_NOTICE] = ("error", "  \n".join(remedies.error_lines(err)))
        return
    st.session_state[Keys.CHECK_HISTORY_WARNING] = recorder.warning
    st.session_state[Keys.CHECK_REPORT] = with_rerun(st.session_state[Keys.CHECK_REPORT], outcome.after)
    st.session_state[Keys.CHECK_FIX_NOTICE] = ("ok" if outcome.passed else "warn", literal(outcome.text))


def _remedy_controls(finding: Finding) -> None:
    remedy = finding.remedy
    assert remedy is not None
    st.markdown(f"**Apply this fix here:** {literal(remedy.summary)}")
    if not target.settings.allow_writes:
        st.caption(writes.writes_off_hint(target.settings))
        return
    typed = st.text_input(f"Type `{remedy.resource}` to confirm", key=Keys.CHECK_FIX_CONFIRM + finding.id)
    profile_typed = confirm_profile_input(target.settings, Keys.CHECK_FIX_CONFIRM_PROFILE + finding.id)
    st.button(
        "Apply fix",
        key=Keys.CHECK_FIX_APPLY + finding.id,
        type="primary",
        icon=":material/build:",
        disabled=typed != remedy.resource or not profile_typed,
        on_click=_apply,
        args=(finding,),
    )


st.title("Checks")
st.caption(
    "Probes every hop the way the web app and a browser use it (presign, CORS preflights, a canary upload, "
    "CDN reads), reads the bucket, role and distribution configuration, and judges each. "
    "`unknown` means the console could not look (for example its role was denied a read): it is never a verdict."
)

no_canary = st.toggle(
    "Write nothing (no canary upload)",
    key=Keys.CHECK_NO_CANARY,
    help="Off: one 8×8 PNG is uploaded under canary/ as the web app would, and removed after the run when writes "
    "are allowed. On: nothing is written; the checks that judge the canary upload skip.",
)
if st.button("Run all checks", type="primary", icon=":material/play_arrow:"):
    recorder = RunRecorder(target.settings, who())
    with st.spinner("Probing the pipeline…"):
        st.session_state[Keys.CHECK_REPORT] = run_checks(target.settings, on_done=recorder, canary=not no_canary)
    st.session_state[Keys.CHECK_HISTORY_WARNING] = recorder.warning
    if not no_canary:
        bucket_changed()  # the canary came (and maybe went): Browse lists again

report = st.session_state.get(Keys.CHECK_REPORT)
if report is None:
    st.info(
        "Press **Run all checks**. Unless told to write nothing, the canary upload puts one 8×8 PNG under `canary/` "
        "in the bucket, as the web app would, and removes it after the run when writes are allowed."
    )
    st.stop()
for note in report.notes:
    st.caption(note)

if history_warning := st.session_state.get(Keys.CHECK_HISTORY_WARNING):
    st.warning(history_warning, icon=":material/history:")  # the run above stands; only its record is missing

if notice := st.session_state.pop(Keys.CHECK_FIX_NOTICE, None):
    NOTICES[notice[0]](notice[1])

broken = ", ".join(f"{impact} ({n})" for impact, n in report.breaks().items() if n)
roots, rest = report.folded()
if broken:
    causes = ", ".join(f"`{root.id}`" for root, _following in roots)
    st.error(f"**Breaks:** {broken} · root cause{'s' if len(roots) > 1 else ''}: {causes}")
else:
    st.success("Nothing breaks uploads, display or exposure.")
counts = report.counts()
columns = st.columns(len(counts))
for column, (status, number) in zip(columns, counts.items(), strict=True):
    column.metric(f"{BADGES[Status(status)]} {status}", number)
st.caption(f"Run at {report.started_at:%H:%M:%S} UTC in {report.duration_ms / 1000:.1f} s")

left, right = st.columns(2)
left.download_button(
    "Export Markdown", report.to_markdown(), "pipeline-check.md", "text/markdown", icon=":material/download:"
)
right.download_button(
    "Export JSON",
    json.dumps(report.to_json(), indent=2),
    "pipeline-check.json",
    "application/json",
    icon=":material/download:",
)


def _label(finding: Finding) -> str:
    return f"{BADGES[finding.status]} **{str(finding.status).upper()}** `{finding.id}` — {literal(finding.title)}"


def _show(finding: Finding, following: Sequence[Finding] = ()) -> None:
    with st.expander(_label(finding), expanded=finding.status in (Status.FAIL, Status.WARN)):
        st.markdown(f"**Status:** `{finding.status}` · **Impact:** `{finding.impact}` · **Check:** `{finding.id}`")
        if finding.caused_by:
            st.caption("Caused by " + ", ".join(f"`{cause}`" for cause in finding.caused_by))
        if finding.detail:
            st.text(finding.detail)
        if finding.fix:
            st.markdown("**Fix** (copy a block with the button at its right)")
            _fix(finding.fix)
        if finding.remedy is not None:
            _remedy_controls(finding)
        if following:
            st.markdown(f"**Follows from it** ({len(following)}): fix this first, then run the checks again")
            for consequence in following:
                st.markdown(f"- {_label(consequence)}")
                if consequence.detail:
                    st.text(consequence.detail)
        if finding.evidence:
            st.markdown("**Evidence** (signatures and credentials redacted)")
            st.json([item for item in finding.to_json()["evidence"]], expanded=False)


if roots:
    st.subheader("Root causes")
for root, following in roots:
    _show(root, following)
for _hop, title, findings in rest:
    st.subheader(title)
    for finding in findings:
        _show(finding)
