"""The README's check tables (ids, read permissions, cause codes), generated from the checks' own metadata (as Prowler generates its docs).

``python -m services.checks.catalogue`` prints them; ``tests/test_readme_tables.py`` fails when the README differs.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.checks.model import COMMON_CODES, Check

#: the read the console makes besides the checks' (Browse lists the bucket)
BROWSE_READS = ("s3:ListBucket",)


def _code(items: Sequence[str]) -> str:
    return ", ".join(f"`{item}`" for item in items) or "—"


def check_table(checks: Sequence[Check]) -> str:
    """The Markdown table of check ids: what each judges, its impact, what it follows from, what it reads."""
    lines = [
        "| id | impact | what it judges | depends on | reads | AWS documentation |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for check in checks:
        cells = (
            f"`{check.id}`",
            f"`{check.impact}`",
            check.description,
            _code(check.depends_on),
            _code(check.permissions),
            f"[{check.title}]({check.docs})",
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def codes_table(checks: Sequence[Check]) -> str:
    """The Markdown table of the cause codes each check's findings may carry (``x.y_*``: a family)."""
    lines = ["| id | cause codes |", "| --- | --- |"]
    lines += [f"| `{check.id}` | {_code(check.codes)} |" for check in checks]
    return "\n".join(lines)


def common_codes_line() -> str:
    """The README's sentence naming the codes any check may give."""
    return f"Any check may also give {_code(COMMON_CODES)}."


def read_permissions(checks: Sequence[Check]) -> tuple[str, ...]:
    """Every IAM read action the checks need, sorted."""
    return tuple(sorted({action for check in checks for action in check.permissions}))


def permissions_line(checks: Sequence[Check]) -> str:
    """The README's sentence naming the checks' reads."""
    return f"The checks read (and need nothing else): {_code(read_permissions(checks))}."


if __name__ == "__main__":
    from services.checks.runner import REGISTRY

    print(
        check_table(REGISTRY),
        "",
        permissions_line(REGISTRY),
        "",
        codes_table(REGISTRY),
        "",
        common_codes_line(),
        sep="\n",
    )
