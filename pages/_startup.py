"""What the console does as its server starts, before any browser connects: start the sandbox's process the moment
``streamlit run`` imports dashboard.py (it then boots on the other core meanwhile), and, in dashboard.py's st.App
lifespan, pay the first page's one-off costs, so the first session's run does neither."""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import streamlit as st

#: imported ahead of the first session: the Pipeline page's own modules, and two Streamlit imports its first use in a
#: process makes lazily (an alert without an icon imports the emoji names, compiled into one pattern at import; a
#: material icon, their names)
FIRST_PAGE_IMPORTS = (
    "pages._shared",
    "pages._auth",
    "services.views.diagram",
    "services.views.target",
    "streamlit.emojis",
    "streamlit.material_icon_names",
)


def secrets_document() -> dict[str, Any]:
    """The parsed secrets file ([pipeline], [pipelines.NAME], ...); empty when there is none."""
    try:
        return st.secrets.to_dict()
    except (KeyError, FileNotFoundError):
        return {}


def start_the_sandbox_now() -> None:
    """When the first session will show the sandbox (services/runtime.py decides), start its process now; this
    imports nothing heavy and returns once the child runs. Its first resolve_target takes it."""
    from services.runtime import start_sandbox_early

    start_sandbox_early(os.environ, secrets_document())


def _warm_up() -> None:
    for name in FIRST_PAGE_IMPORTS:
        importlib.import_module(name)
    # The first element of a process checks once whether to warn that Streamlit runs outside `streamlit run`; the
    # check (env_util.is_repl) is inspect.stack() with source context, which looks up every frame's module among all
    # of sys.modules: 0.1-0.4 s of CPU under the GIL, while the browser loads the page's scripts from this server.
    # The console runs under `streamlit run` and nowhere else, so the warning never applies: marked as given.
    from streamlit import delta_generator

    delta_generator._use_warning_has_been_displayed = True


@asynccontextmanager
async def with_the_server(_app: Any) -> AsyncIterator[None]:
    """Warm up beside the server's own start: in a thread, so the server listens at once."""
    threading.Thread(target=_warm_up, name="console-warm-up", daemon=True).start()
    yield
