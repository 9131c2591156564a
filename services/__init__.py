"""The console's logic: everything the pages do, with no UI. Never imports streamlit."""
