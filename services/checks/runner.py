"""The explicit registry of checks, and a run: gather what the selected checks need, then judge."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime

from services.checks import bucket, cdn, lambda_role, presign, upload
from services.checks.evidence import Evidence
from services.checks.gather import Clients, gather
from services.checks.model import Check, Finding, Status
from services.checks.report import Report
from services.core.errors import ConfigError
from services.core.redact import redact_text
from services.core.settings import Settings

#: every check, in pipeline order: endpoint, role, bucket, upload, CDN
REGISTRY: tuple[Check, ...] = (*presign.CHECKS, *lambda_role.CHECKS, *bucket.CHECKS, *upload.CHECKS, *cdn.CHECKS)
CHECK_IDS: tuple[str, ...] = tuple(check.id for check in REGISTRY)


def select(only: Sequence[str] | None = None) -> tuple[Check, ...]:
    """The checks named by id or by hop (``bucket`` selects every ``bucket.*``); all when ``only`` is empty."""
    if not only:
        return REGISTRY
    unknown = [name for name in only if name not in CHECK_IDS and not any(i.startswith(name + ".") for i in CHECK_IDS)]
    if unknown:
        raise ConfigError(f"unknown check id(s): {', '.join(unknown)}; known: {', '.join(CHECK_IDS)}")
    return tuple(c for c in REGISTRY if c.id in only or c.id.split(".", 1)[0] in only)


def judge(check: Check, evidence: Evidence) -> Finding:
    """A check's finding; a check that breaks says so as ``unknown`` instead of taking the report down."""
    try:
        return check.judge(evidence)
    except Exception as err:  # noqa: BLE001 - a bug in one judge must not hide the other findings; it is named
        return Finding(
            check.id,
            Status.UNKNOWN,
            f"{check.title}: could not be evaluated",
            redact_text(f"internal error in the check: {type(err).__name__}: {err}"),
        )


def run_checks(settings: Settings, only: Sequence[str] | None = None, clients: Clients | None = None) -> Report:
    """Run the selected checks against ``settings``' pipeline. Raises ConfigError for unknown ids."""
    checks = select(only)
    started, clock = datetime.now(UTC), time.perf_counter()
    needs = frozenset().union(*(check.needs for check in checks))
    evidence = gather(settings, needs, clients)
    findings = tuple(judge(check, evidence) for check in checks)
    return Report(evidence.target, findings, started, (time.perf_counter() - clock) * 1000)
