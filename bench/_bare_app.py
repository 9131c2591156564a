"""The start-up baseline: a Streamlit app that does nothing but show one sidebar line (Streamlit's own floor)."""

import streamlit as st

st.sidebar.success("Bare app ready")
st.title("Bare app")
