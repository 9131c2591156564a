"""Pipeline: the hops as a diagram, coloured by the latest results, and what the console points at."""

import streamlit as st

from pages._auth import _escaped as escaped_markdown
from pages._shared import Keys, get_target
from services.core.errors import SandboxError
from services.views.diagram import hop_states, hop_states_from_findings, legend, pipeline_dot
from services.views.target import target_markdown

target = get_target()

st.title("Image pipeline")
report = st.session_state.get(Keys.CHECK_REPORT)
results = st.session_state.get(Keys.UPLOAD_RESULTS, [])
st.caption(
    "The web app asks the presign endpoint for a URL, PUTs the image straight to S3, and reads it back "
    "through CloudFront. Colours show "
    + (
        "the latest check run of this session."
        if report
        else "the latest upload results of this session (run the Checks for more)."
        if results
        else "nothing yet: upload an image or run the Checks, and each hop says how it went."
    )
)
states = hop_states_from_findings(report.findings) if report else hop_states(results)
st.graphviz_chart(pipeline_dot(states))
st.caption(f"Green is a pass and nothing else. States: {legend()}")

if target.sandbox is not None:
    try:
        broken = [state for state in target.sandbox.switches() if state.on]
    except SandboxError as err:
        st.error(str(err))
        broken = []
    for state in broken:
        st.warning(f"**Break switch on: {state.title}** (`{state.name}`) — {state.symptom}", icon=":material/build:")

st.subheader("Target")
st.markdown(target_markdown(target.settings.summary(), escaped_markdown))  # wraps long values: nothing cut off
if target.sandbox is not None:
    st.caption(
        "Point the CLI, the AWS CLI or a script at this sandbox with these variables (or start a separate one with "
        "`python -m services sandbox`). The key and secret are the sandbox's public dummy values, not secrets."
    )
    st.code("\n".join(target.sandbox.export_lines()), language="bash", wrap_lines=True)
