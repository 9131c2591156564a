"""Pipeline: the hops as a diagram, coloured by the latest results, and what the console points at."""

import streamlit as st

from pages._shared import Keys, get_target
from services.core.errors import SandboxError
from services.views.diagram import hop_states, hop_states_from_findings, pipeline_dot

target = get_target()

st.title("Image pipeline")
report = st.session_state.get(Keys.CHECK_REPORT)
st.caption(
    "The web app asks the presign endpoint for a URL, PUTs the image straight to S3, and reads it back "
    "through CloudFront. Colours show "
    + (
        "the latest check run of this session."
        if report
        else "the latest upload results of this session (run the Checks for more)."
    )
)
states = (
    hop_states_from_findings(report.findings) if report else hop_states(st.session_state.get(Keys.UPLOAD_RESULTS, []))
)
st.graphviz_chart(pipeline_dot(states))

if target.sandbox is not None:
    try:
        broken = [state for state in target.sandbox.switches() if state.on]
    except SandboxError as err:
        st.error(str(err))
        broken = []
    for state in broken:
        st.warning(f"**Break switch on: {state.title}** (`{state.name}`) — {state.symptom}", icon=":material/build:")

st.subheader("Target")
st.json(target.settings.summary())
if target.sandbox is not None:
    st.caption(
        "Point the CLI or the AWS CLI at this sandbox with `python -m services sandbox` (a separate one) or these variables:"
    )
    st.code(
        "\n".join(f"export {k}={v}" for k, v in target.sandbox.environment().items() if not k.startswith("AWS_SECRET")),
        language="bash",
    )
