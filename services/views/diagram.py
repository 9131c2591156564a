"""The pipeline as a diagram: hops in order, each coloured by its latest known result. Pure functions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from services.checks.model import Finding, Status
from services.pipeline.upload import UploadResult

#: (id, label) in pipeline order; ids match upload step names
HOPS: tuple[tuple[str, str], ...] = (
    ("app", "Web app / console"),
    ("presign", "API Gateway + Lambda\\n(presign)"),
    ("put", "S3 bucket\\n(PUT)"),
    ("cdn_read", "CloudFront\\n(read)"),
)
STATE_COLOURS = {"ok": "#2e7d32", "fail": "#c62828", "unknown": "#9e9e9e", "not_reached": "#bdbdbd"}
STATE_WORDS = {"ok": "ok", "fail": "failed", "unknown": "not run yet", "not_reached": "not reached"}


def hop_states(results: Iterable[UploadResult]) -> dict[str, str]:
    """For each hop: ``fail`` if any latest upload failed there, ``ok`` if one passed it, else ``unknown``."""
    states = {hop: "unknown" for hop, _ in HOPS}
    states["app"] = "ok"
    for result in results:
        for step in result.steps:
            name = "presign" if step.name == "presign_retry" else step.name
            if name not in states:
                continue
            if not step.ok:
                states[name] = "fail"
            elif states[name] != "fail":
                states[name] = "ok"
    return states


#: which diagram node each check hop colours
CHECK_HOP_NODES = {"presign": "presign", "lambda": "presign", "bucket": "put", "upload": "put", "cdn": "cdn_read"}


def hop_states_from_findings(findings: Iterable[Finding]) -> dict[str, str]:
    """For each node: ``fail`` if any check there failed, ``ok`` if they passed (or warned), else ``unknown``."""
    states = {hop: "unknown" for hop, _ in HOPS}
    states["app"] = "ok"
    for finding in findings:
        node = CHECK_HOP_NODES.get(finding.hop)
        if node is None or finding.status in (Status.SKIP, Status.UNKNOWN):
            continue
        if finding.status == Status.FAIL:
            states[node] = "fail"
        elif states[node] != "fail":
            states[node] = "ok"
    return states


def pipeline_dot(states: Mapping[str, str]) -> str:
    """Graphviz DOT for the hops, left to right, filled by state."""
    lines = [
        "digraph pipeline {",
        "  rankdir=LR; bgcolor=transparent;",
        '  node [shape=box, style="rounded,filled", fontname="sans-serif", fontcolor=white];',
    ]
    for hop, label in HOPS:
        state = states.get(hop, "unknown")
        lines.append(f'  {hop} [label="{label}\\n[{STATE_WORDS[state]}]", fillcolor="{STATE_COLOURS[state]}"];')
    lines.append('  app -> presign [label="GET x-extension"];')
    lines.append('  app -> put [label="PUT bytes"];')
    lines.append('  app -> cdn_read [label="GET /key"];')
    lines.append('  cdn_read -> put [label="OAC read", style=dashed];')
    lines.append("}")
    return "\n".join(lines)
