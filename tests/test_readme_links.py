"""The README works in a clone: every relative link points into the repository, and the test command says what the
tests need beyond Python (as .ci/run installs it)."""

from __future__ import annotations

import re

from tests.conftest import PROJECT_ROOT

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
LINK = re.compile(r"\]\((?!https?://|#)([^)\s]+)\)")


def test_every_relative_link_is_a_file_of_the_repository():
    targets = LINK.findall(README)
    assert "docs/PIPELINE.md" in targets  # the pipeline's contract lives in the repository
    for target in targets:
        path = (PROJECT_ROOT / target.split("#", 1)[0]).resolve()
        assert path.is_relative_to(PROJECT_ROOT) and path.exists(), target


def test_the_test_command_names_chromium_and_node():
    run_the_tests = README.split("Run the tests", 1)[1].split("```bash", 1)[0]
    assert "chromium" in run_the_tests and "Node.js" in run_the_tests and "npm" in run_the_tests
    ci = (PROJECT_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "nodejs npm" in ci and "nodejs npm" in run_the_tests
