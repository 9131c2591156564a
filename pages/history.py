"""History: recorded check runs per profile, each check's status over time, and what changed between two runs."""

import streamlit as st

from pages._shared import Keys, get_target
from services.core.errors import HistoryError
from services.history.compare import RunDiff, diff_runs
from services.history.record import profile_of
from services.history.store import open_store
from services.history.timeline import DEFAULT_WINDOW, history_view

target = get_target()

st.title("History")
st.caption(
    "Every check run (page, `check`, `watch`) and every upload made through the console is recorded, with the "
    "configuration documents the checks read. Pick two runs to see which statuses moved and what changed. "
    "Same as `python -m services history` and `python -m services diff`."
)


def _render_diff(diff: RunDiff) -> None:
    if not diff.changed:
        st.success("Nothing changed between these two runs: every status and every document is the same.")
        return
    if diff.status_changes:
        st.dataframe([c.to_json() for c in diff.status_changes], hide_index=True, width="stretch")
    for document in diff.documents:
        st.markdown(f"**`{document.name}`** — read by {', '.join(f'`{c}`' for c in document.checks) or 'no check'}")
        before, after = st.columns(2)
        before.caption(f"run #{diff.before.id}")
        before.code(document.before or "(not gathered)", language="json")
        after.caption(f"run #{diff.after.id}")
        after.code(document.after or "(not gathered)", language="json")
        with st.expander("Unified diff", icon=":material/difference:"):
            st.code(document.diff, language="diff")


try:
    store = open_store()
    chosen = st.session_state.get(Keys.HISTORY_PROFILE) or profile_of(target.settings)
    window = int(st.session_state.get(Keys.HISTORY_WINDOW, DEFAULT_WINDOW))
    view = history_view(store, chosen, window)
except HistoryError as err:
    st.error(f"**The history could not be read.** {err}")
    st.stop()

with st.expander("Find an upload by the name it was uploaded with", icon=":material/search:"):
    if name := st.text_input("File name contains", key=Keys.HISTORY_UPLOAD_NAME):
        try:
            found = [upload.to_json() for upload in store.uploads(limit=100, name=name)]
        except HistoryError as err:
            found = []
            st.error(str(err))
        if found:
            st.dataframe(found, hide_index=True, width="stretch")
        else:
            st.caption("No upload by that name.")

if view.profile is None:
    st.info("No check run has been recorded yet. Run the checks (Checks page or `python -m services check`).")
    st.stop()

left, right = st.columns([2, 1])
left.selectbox("Profile", view.profiles, index=view.profiles.index(view.profile), key=Keys.HISTORY_PROFILE)
right.number_input("Runs shown", min_value=2, max_value=1000, value=window, step=10, key=Keys.HISTORY_WINDOW)

if turned := view.turned_fail:
    changed = ", ".join(f"`{d.name}`" for d in turned.diff.documents) or "no configuration document"
    st.error(
        f"**Run #{turned.run.id}** ({turned.run.started_at:%Y-%m-%d %H:%M:%S} UTC, by {turned.run.by}) is the newest "
        f"in which {', '.join(f'`{c}`' for c in turned.checks)} turned **fail**. Changed since run "
        f"#{turned.previous.id}: {changed}.",
        icon=":material/trending_down:",
    )

st.subheader("Runs")
st.bar_chart(view.timeline_rows(), x="run", y=["fail", "warn", "unknown", "pass"], height=220)
st.subheader("Each check over time")
st.dataframe(view.check_rows(), hide_index=True, width="stretch")

st.subheader("Compare two runs")
labels = {run.id: run.label() for run in view.runs}
ids = [run.id for run in view.runs]
first, second = st.columns(2)
default_from = turned.previous.id if turned else ids[min(1, len(ids) - 1)]
default_to = turned.run.id if turned else ids[0]
older = first.selectbox(
    "From", ids, index=ids.index(default_from), format_func=lambda i: labels[i], key=Keys.HISTORY_FROM
)
newer = second.selectbox("To", ids, index=ids.index(default_to), format_func=lambda i: labels[i], key=Keys.HISTORY_TO)
try:
    diff = turned.diff if turned and (older, newer) == (turned.previous.id, turned.run.id) else None
    _render_diff(diff or diff_runs(store, int(older), int(newer)))
except HistoryError as err:
    st.error(str(err))
