"""Repair: relabel stored images by their bytes (Content-Type, optionally Cache-Control); a plan first, then apply."""

import os

import streamlit as st

from pages._shared import Keys, get_target
from services.core import writes
from services.core.errors import ConsoleError
from services.core.settings import Settings
from services.pipeline import browse
from services.pipeline.repair.run import Progress, RepairOptions, repair_clients, run_repair
from services.views import repair as view

NOTICES = {"ok": st.success, "info": st.info, "warn": st.warning, "error": st.error}
target = get_target()
settings = target.settings
IDENTITY = browse.credentials_fingerprint(os.environ)  # part of the cache key: a new identity, new clients


@st.cache_resource(max_entries=4)
def _clients(settings: Settings, identity: str) -> tuple[object, object]:  # identity: only a cache key
    return repair_clients(settings)


def _run(options: RepairOptions, confirm: str | None = None, profile: str | None = None) -> None:
    """Run the scan (or the fix) here, its progress drawn as it goes; the Stop button interrupts it."""
    bar = st.progress(0.0, text="Listing the bucket…")

    def shown(progress: Progress) -> None:
        bar.progress(progress.fraction or 0.0, text=progress.text())

    s3, cloudfront = _clients(settings, IDENTITY)
    try:
        report = run_repair(
            s3, settings, options, cloudfront=cloudfront, confirm=confirm, confirm_profile=profile, on_progress=shown
        )
    except ConsoleError as err:
        st.session_state[Keys.REPAIR_NOTICE] = browse.error_text(err)
        return
    st.session_state[Keys.REPAIR_REPORT] = report.to_json()
    if options.apply:
        st.session_state.pop(Keys.BROWSE_DETAIL, None)  # Browse's object detail showed the old headers


st.title("Repair")
st.caption(
    "Gives each stored image the Content-Type its bytes say (PNG, JPEG, GIF, WebP; never the key's extension), "
    "and a Cache-Control if you ask. A plan first: nothing is written until you apply. The same as "
    "`python -m services repair`."
)
prefix = st.text_input("Prefix", key=Keys.REPAIR_PREFIX, placeholder="e.g. 2024/ — empty: the whole bucket")
# on a line of its own: in a column its label (the whole header value) was cut off
set_cache = st.checkbox(f"Also set Cache-Control: {view.LONG_CACHE}", key=Keys.REPAIR_CACHE, value=True)
options = RepairOptions(prefix=prefix, cache_control=view.LONG_CACHE if set_cache else None)
scan, stop = st.columns([1, 5])
if stop.button("Stop", icon=":material/stop_circle:", help="Stops the scan or the fix; applying again continues"):
    st.session_state[Keys.REPAIR_NOTICE] = (
        "Stopped. A fix that was stopped continues where it stopped when applied again."
    )
if scan.button("Scan (plan)", type="primary", icon=":material/search:"):
    _run(options)

if notice := st.session_state.pop(Keys.REPAIR_NOTICE, None):
    st.warning(notice)
report = st.session_state.get(Keys.REPAIR_REPORT)
if report is None or report["prefix"] != prefix:
    st.info("Scan to see what would change.", icon=":material/info:")
    st.stop()

for column, (label, value) in zip(st.columns(6), view.metrics(report), strict=False):
    column.metric(label, value)
for level, text in view.outcome_notices(report):
    NOTICES[level](text)
st.dataframe(view.type_rows(report), hide_index=True)
st.dataframe(view.object_rows(report), hide_index=True, width="stretch")
if report["failed"]:
    st.dataframe(view.failed_rows(report), hide_index=True, width="stretch")

if report["mode"] == "plan" and report["to_fix"]:
    if not settings.allow_writes:
        st.info(writes.writes_off_hint(settings), icon=":material/lock:")
        st.stop()
    typed = st.text_input(f"Type the bucket's name `{settings.bucket}` to apply", key=Keys.REPAIR_CONFIRM)
    profile = None
    if settings.production:
        profile = st.text_input(
            f"Production: type the profile's name `{settings.profile}` too", key=Keys.REPAIR_PROFILE
        )
    ready = typed == settings.bucket and (not settings.production or profile == settings.profile)
    if st.button("Apply the fix", type="primary", disabled=not ready, icon=":material/build:"):
        _run(RepairOptions(prefix=prefix, cache_control=options.cache_control, apply=True), typed, profile)
        st.rerun()
