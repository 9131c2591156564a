"""The console's own server: XSRF protection on, static file serving off, the upload size limit, as Streamlit
itself reads them from .streamlit/config.toml, and XSRF enforced by the running console."""

from __future__ import annotations

import re
import subprocess
import sys

import requests

from services.pipeline.images import MAX_BYTES
from tests.browsing import running_console
from tests.conftest import PROJECT_ROOT


def effective_config() -> dict[str, str]:
    """``streamlit config show`` run where the console runs: the values Streamlit will use."""
    shown = subprocess.run(
        [sys.executable, "-m", "streamlit", "config", "show"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    return dict(re.findall(r"(?m)^(\w+) = (.+)$", shown))


def test_streamlit_reads_xsrf_on_static_serving_off_and_the_upload_limit():
    config = effective_config()
    assert config["enableXsrfProtection"] == "true"
    assert config["enableStaticServing"] == "false"
    assert int(config["maxUploadSize"]) * 1024 * 1024 == MAX_BYTES  # the page's limit and the code's agree
    assert config["showErrorDetails"] == '"none"'  # no tracebacks in the page


def test_the_running_console_refuses_an_upload_without_the_xsrf_token(sandbox_env):
    with running_console(sandbox_env) as url:
        reply = requests.put(
            f"{url}/_stcore/upload_file/session/file", files={"file": ("a.png", b"\x89PNG")}, timeout=30
        )
    assert reply.status_code == 403 and "XSRF" in reply.text
