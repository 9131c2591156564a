"""A check run's result, and its exports (JSON for machines, Markdown for tickets and chat)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from services.checks.evidence import CheckTarget
from services.checks.model import BREAKING, SEVERITY, Finding, Status
from services.pipeline.hops import CHECK_HOP_TITLES

#: check hops in pipeline order, with the titles the page and the Markdown use (services/pipeline/hops.py)
HOPS: tuple[tuple[str, str], ...] = CHECK_HOP_TITLES
ICONS = {Status.PASS: "✅", Status.WARN: "⚠️", Status.FAIL: "❌", Status.UNKNOWN: "❔", Status.SKIP: "➖"}


@dataclass(frozen=True)
class Report:
    target: CheckTarget
    findings: tuple[Finding, ...]
    started_at: datetime
    duration_ms: float
    notes: tuple[str, ...] = ()  # what the run did besides judging (e.g. its canary removed, or why it stayed)

    @property
    def failed(self) -> bool:
        return any(f.status == Status.FAIL for f in self.findings)

    def counts(self) -> dict[str, int]:
        found = Counter(str(f.status) for f in self.findings)
        return {str(status): found.get(str(status), 0) for status in SEVERITY}

    def breaks(self) -> dict[str, int]:
        """What breaks: the failing findings counted by impact (upload, display, exposure), each impact listed."""
        found = Counter(str(f.impact) for f in self.findings if f.status == Status.FAIL)
        return {str(impact): found.get(str(impact), 0) for impact in BREAKING}

    def root_causes(self) -> list[Finding]:
        """The failing findings that follow from no other failing check, in pipeline order."""
        return [f for f in self.findings if f.status == Status.FAIL and f.is_root]

    def consequences(self, root: Finding) -> list[Finding]:
        """The findings that name `root` among their causes."""
        return [f for f in self.findings if root.id in f.caused_by]

    def folded(self) -> tuple[list[tuple[Finding, list[Finding]]], list[tuple[str, str, list[Finding]]]]:
        """Root causes first, each with the findings that follow from it; then every other finding by hop. A finding
        folded under a root is not listed again by hop (the page, the Markdown export and the CLI agree)."""
        roots = [(root, self.consequences(root)) for root in self.root_causes()]
        folded = {f.id for root, following in roots for f in (root, *following)}
        rest = [(hop, title, [f for f in found if f.id not in folded]) for hop, title, found in self.by_hop()]
        return roots, [group for group in rest if group[2]]

    def summary_line(self) -> str:
        """One line that leads with what breaks: ``breaks display (2), upload (1); 1 root cause; 3 fail, 15 pass``."""
        broken = ", ".join(f"{impact} ({n})" for impact, n in self.breaks().items() if n)
        counts = ", ".join(f"{n} {s}" for s, n in self.counts().items() if n)
        if not broken:
            return f"nothing breaks; {counts}"
        roots = len(self.root_causes())
        return f"breaks {broken}; {roots} root cause{'' if roots == 1 else 's'}; {counts}"

    def by_hop(self) -> list[tuple[str, str, list[Finding]]]:
        """(hop id, hop title, its findings) in pipeline order, hops without findings left out."""
        groups = []
        for hop, title in HOPS:
            found = [f for f in self.findings if f.hop == hop]
            if found:
                groups.append((hop, title, found))
        return groups

    def with_finding(self, finding: Finding) -> Report:
        """This report with the finding of the same check replaced by `finding` (a check run again)."""
        found = tuple(finding if f.id == finding.id else f for f in self.findings)
        return replace(self, findings=found)

    def worst(self, hop: str) -> Status | None:
        statuses = {f.status for f in self.findings if f.hop == hop}
        return next((s for s in SEVERITY if s in statuses), None)

    def to_json(self) -> dict[str, Any]:
        """The CLI's public ``--json`` shape: ``{"target": {...}, "findings": [...]}``."""
        return {
            "target": self.target.to_json(),
            "started_at": self.started_at.isoformat(),
            "duration_ms": round(self.duration_ms, 1),
            "summary": {"breaks": self.breaks(), "root_causes": [f.id for f in self.root_causes()], **self.counts()},
            "findings": [f.to_json() for f in self.findings],
            "notes": list(self.notes),
        }

    def to_markdown(self) -> str:
        target = self.target
        lines = [
            "# Image pipeline check",
            "",
            f"- Presign endpoint: `{target.presign_url}`",
            f"- Bucket: `{target.bucket}` ({target.region or 'region from the AWS chain'})",
            f"- CDN: `{target.cdn_url}`",
            f"- Run: {self.started_at.strftime('%Y-%m-%d %H:%M:%S %Z')}, {self.duration_ms / 1000:.1f} s — "
            f"{self.summary_line()}",
            "",
        ]
        roots, rest = self.folded()
        if roots:
            lines += ["## Root causes", ""]
        for root, following in roots:
            lines += _markdown_finding(root)
            if following:
                lines += [f"**Follows from it ({len(following)})**", ""]
                for finding in following:
                    lines.append(f"- {ICONS[finding.status]} `{finding.id}` — {finding.title}")
                    lines += [f"  > {line}" if line else "  >" for line in finding.detail.splitlines()]
                lines.append("")
        for _hop, title, findings in rest:
            lines += [f"## {title}", ""]
            for finding in findings:
                lines += _markdown_finding(finding)
        return "\n".join(lines).rstrip() + "\n"


def _markdown_finding(finding: Finding) -> list[str]:
    lines = [f"### {ICONS[finding.status]} `{finding.id}` — {finding.title}", ""]
    if finding.impact is not None and finding.status in (Status.FAIL, Status.WARN):
        lines += [f"Impact: `{finding.impact}`", ""]
    if finding.caused_by:
        lines += [f"Caused by {', '.join(f'`{cause}`' for cause in finding.caused_by)}", ""]
    if finding.detail:
        lines += [finding.detail, ""]
    if finding.fix:
        lines += ["**Fix**", "", "```", finding.fix, "```", ""]
    return lines
