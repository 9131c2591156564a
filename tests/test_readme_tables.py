"""The README's tables: every hardening row names at least one test, and every test named exists; the check-id
table and the checks' read permissions are what the checks' metadata generates."""

from __future__ import annotations

import ast
import re
from functools import cache
from itertools import takewhile
from pathlib import Path

from services.checks.catalogue import check_table, codes_table, common_codes_line, permissions_line
from services.checks.runner import REGISTRY
from tests.conftest import PROJECT_ROOT

REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def hardening_rows() -> list[str]:
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("\n## Hardening")
    end = text.find("\n## ", start + 1)
    section = text[start : end if end != -1 else None]
    return [
        line for line in section.splitlines() if line.startswith("| ") and not line.startswith(("| case ", "| --- "))
    ]


@cache
def functions_in(path: str) -> frozenset[str]:
    tree = ast.parse((PROJECT_ROOT / path).read_text(encoding="utf-8"))
    return frozenset(
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
    )


def test_the_tables_have_rows():
    assert len(hardening_rows()) >= 30


def test_every_row_names_a_test_and_every_named_test_exists():
    missing = []
    for row in hardening_rows():
        cells = [cell.strip() for cell in row.strip("|").split(" | ")]
        references = REFERENCE.findall(cells[-1])
        assert references, f"a row without a test: {row[:100]}"
        for path, name in references:
            if not Path(PROJECT_ROOT / path).is_file() or name not in functions_in(path):
                missing.append(f"{path}::{name}")
    assert missing == []


def checks_section() -> str:
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("\n## Checks (public contract)")
    return text[start : text.index("\n## ", start + 1)]


def table_after(header: str) -> str:
    lines = checks_section().splitlines()
    first = next(n for n, line in enumerate(lines) if line.startswith(header))
    return "\n".join(takewhile(lambda line: line.startswith("|"), lines[first:]))


def test_the_check_table_is_the_checks_metadata():
    """Regenerate with ``python -m services.checks.catalogue`` when a check's metadata changes."""
    assert table_after("| id | impact |") == check_table(REGISTRY)


def test_the_cause_codes_table_is_the_checks_metadata():
    assert table_after("| id | cause codes |") == codes_table(REGISTRY)
    assert common_codes_line() in checks_section()


def test_the_read_permissions_are_the_checks_metadata():
    assert permissions_line(REGISTRY) in checks_section()
