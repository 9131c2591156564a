"""The pipeline as a diagram: hops in order, each coloured by its latest known result. Pure functions.

Green means a result that passed, and nothing else: a hop nothing has looked at yet, one a check could not judge
(``unknown``), one skipped and one a failed upload never reached each look different from a pass, and from each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from services.checks.model import SEVERITY, Finding, Status
from services.pipeline import hops

if TYPE_CHECKING:  # the Pipeline page, the first one shown, need not import boto3 and Pillow for a type
    from services.pipeline.upload import UploadResult

#: the diagram's nodes: the places a file passes, in pipeline order (services/pipeline/hops.py)
NODES: tuple[tuple[str, str], ...] = tuple((place.id, place.label) for place in hops.PLACES)
HOP_IDS = hops.PLACE_IDS
#: upload step name -> diagram node (the browser's preflights belong to the hop they ask)
STEP_NODES = hops.STEP_PLACES


@dataclass(frozen=True)
class Look:
    """How a state is drawn: the word under the hop's name, the fill, the text colour and the outline style."""

    word: str
    fill: str
    font: str = "white"
    style: str = "rounded,filled"


#: every state a hop can be in; only "pass" is green
LOOKS: Mapping[str, Look] = {
    "pass": Look("ok", "#2e7d32"),
    "warn": Look("warning", "#f9a825", font="black"),
    "fail": Look("failed", "#c62828"),
    "unknown": Look("could not tell", "#616161", style="rounded,filled,dashed"),
    "skip": Look("skipped", "#e0e0e0", font="#424242", style="rounded,filled,dashed"),
    "not_reached": Look("not reached", "#bdbdbd", font="#212121", style="rounded,filled,dotted"),
    "not_run": Look("not run yet", "#ffffff", font="#424242", style="rounded,filled,dashed"),
}
#: a hop's state when nothing has looked at it
NOT_RUN = "not_run"


def hop_states(results: Iterable[UploadResult]) -> dict[str, str]:
    """For each hop: ``fail`` if any latest upload failed there, ``pass`` if one passed it, ``not_reached`` if an
    upload stopped before it, else ``not_run``."""
    states = dict.fromkeys(HOP_IDS, NOT_RUN)
    for result in results:
        reached: set[str] = set()
        for step in result.steps:
            node = STEP_NODES.get(step.name)
            if node is None:
                continue
            reached.add(node)
            if not step.ok:
                states[node] = "fail"
            elif states[node] != "fail":
                states[node] = "pass"
        for node in HOP_IDS:
            if node not in reached and states[node] == NOT_RUN and not result.ok:
                states[node] = "not_reached"
    return states


#: which diagram nodes each check hop colours (the canary upload is the web app's own round trip)
CHECK_HOP_NODES: Mapping[str, tuple[str, ...]] = hops.CHECK_HOP_PLACES


def hop_states_from_findings(findings: Iterable[Finding]) -> dict[str, str]:
    """For each node, the worst status among its findings (fail, warn, unknown, pass, skip, in that order): a hop
    is green only when every finding that could judge it passed. A node no finding speaks of is ``not_run``."""
    seen: dict[str, list[Status]] = {hop: [] for hop in HOP_IDS}
    for finding in findings:
        for node in CHECK_HOP_NODES.get(finding.hop, ()):
            seen[node].append(finding.status)
    return {
        node: next((str(status) for status in SEVERITY if status in statuses), NOT_RUN)
        for node, statuses in seen.items()
    }


def pipeline_dot(states: Mapping[str, str]) -> str:
    """Graphviz DOT for the hops, left to right, each drawn as its state looks (``LOOKS``)."""
    lines = [
        "digraph pipeline {",
        "  rankdir=LR; bgcolor=transparent;",
        '  node [shape=box, fontname="sans-serif", color="#424242"];',
    ]
    for hop, label in NODES:
        look = LOOKS[states.get(hop, NOT_RUN)]
        lines.append(
            f'  {hop} [label="{label}\\n[{look.word}]", style="{look.style}", '
            f'fillcolor="{look.fill}", fontcolor="{look.font}"];'
        )
    lines.append('  app -> presign [label="GET x-extension"];')
    lines.append('  app -> put [label="PUT bytes"];')
    lines.append('  app -> cdn_read [label="GET /key"];')
    lines.append('  cdn_read -> put [label="OAC read", style=dashed];')
    lines.append("}")
    return "\n".join(lines)


def legend() -> str:
    """One line naming every look, for under the diagram."""
    return " · ".join(f"[{look.word}]" for look in LOOKS.values())
