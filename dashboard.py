"""Image Pipeline Console: the entrypoint only routes. Run with `streamlit run dashboard.py`."""

import streamlit as st

if __name__ == "__main__":  # a session's run of this script (Streamlit runs it as __main__): route
    from pages._auth import require_sign_in
    from pages._shared import get_target, render_production_banner, render_sidebar, select_profile

    st.set_page_config(page_title="Image Pipeline Console", page_icon=":material/image:", layout="wide")
    require_sign_in()  # with [auth] in secrets.toml: a signed-in person on the allowlist, or nothing below runs

    # The navigation is declared before anything can stop the run (get_target stops on a configuration error): a
    # run that never declares one gets Streamlit's fallback menu, the raw module names of the pages/ folder.
    navigation = st.navigation(
        {
            "Pipeline": [st.Page("pages/pipeline.py", title="Pipeline", icon=":material/account_tree:", default=True)],
            "Operate": [
                st.Page("pages/upload.py", title="Upload", icon=":material/upload:"),
                st.Page("pages/browse.py", title="Browse", icon=":material/photo_library:"),
                st.Page("pages/repair.py", title="Repair", icon=":material/healing:"),
                st.Page("pages/checks.py", title="Checks", icon=":material/fact_check:"),
                st.Page("pages/history.py", title="History", icon=":material/history:"),
            ],
        }
    )
    select_profile()  # before the target: a profile that cannot be used can still be switched away from
    target = get_target()  # with a configuration error: the error, on whichever page was asked for
    render_production_banner(target)  # at the top of every page
    render_sidebar(target)
    navigation.run()
else:
    # `streamlit run dashboard.py` finds `app` here (st.App) and imports this module once, as its server starts: the
    # sandbox's process starts now, before any browser connects, instead of on the first page's path, and the
    # lifespan warms up the first page's imports beside the server's own start.
    from pages._startup import start_the_sandbox_now, with_the_server

    start_the_sandbox_now()
    app = st.App(__file__, lifespan=with_the_server)
