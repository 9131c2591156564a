"""The README's hardening tables: every row names at least one test, and every test named exists."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

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
