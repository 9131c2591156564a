"""The Upload page's results, computed: one compact row per file (failures first), and how a failure's cause is
introduced. Pure functions."""

from __future__ import annotations

from collections.abc import Iterable

from services.core.units import human_size
from services.pipeline.hops import STEP_SHORT
from services.pipeline.upload import Step, UploadResult
from services.views.markdown import literal


def failures_first(results: Iterable[UploadResult]) -> list[UploadResult]:
    """Failed files first, then the rest, each group in the order given."""
    listed = list(results)
    return [r for r in listed if not r.ok] + [r for r in listed if r.ok]


def outcome(result: UploadResult) -> str:
    if result.ok:
        return "ok"
    step = result.failed_step
    return f"failed at {STEP_SHORT.get(step.name, step.name)}" if step else "failed"


def result_rows(results: Iterable[UploadResult]) -> list[dict[str, str]]:
    """One row per file, failures first: outcome, file, key, size (of the bytes sent), time, and what happened."""
    rows = []
    for result in failures_first(results):
        step = result.failed_step
        total = sum(s.ms for s in result.steps)
        rows.append(
            {
                "outcome": outcome(result),
                "file": result.file,
                "key": result.key or "—",
                "size": human_size(result.image.size) if result.image is not None else "—",
                "time": f"{total:.0f} ms",
                "what happened": (result.content_type or "stored") if step is None else (step.error or "failed"),
            }
        )
    return rows


def cause_label(step: Step) -> str:
    """How the page introduces a failure's cause: a file refused before any network call has no "likely" cause,
    it was refused for a stated reason and says what to do."""
    return "What to do" if step.name == "validate" else "Likely cause"


def narrow_trace(result: UploadResult) -> str:
    """The trace as a Markdown list, for a gallery tile a quarter of the page wide, where a table of steps (even of
    two columns) scrolls sideways: each step with its status, time, attempts and outcome, wrapping as prose does."""
    lines = []
    for row in result.trace_rows():
        facts = [f"HTTP {row['HTTP status']}"] if row["HTTP status"] != "—" else []
        facts.append(f"{row['ms']} ms")
        if row["attempts"] not in ("—", "1"):
            facts.append(f"{row['attempts']} attempts")
        lines.append(f"- **{literal(row['step'])}**: {literal(' · '.join([*facts, row['outcome']]))}")
    return "\n".join(lines)
