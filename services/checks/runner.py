"""The explicit registry of checks, and a run: gather what the selected checks need, then judge.

Three things happen here once, for every finding, whatever judge wrote it: the check's impact is filled in and a
``fail`` that breaks nothing (speed, hygiene) becomes ``warn``; signatures and credentials are redacted; and
``caused_by`` is computed from the checks' ``depends_on`` and the upstream findings' statuses.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from services.checks import (
    bucket,
    cdn,
    cdn_cors,
    encryption,
    lambda_role,
    lifetime,
    missing_key,
    ownership,
    presign,
    presigned_post,
    upload,
)
from services.checks.evidence import Evidence
from services.checks.findings import finding
from services.checks.gather import CHECK_DEADLINE, Budget, Clients, gather
from services.checks.model import Check, Finding, Status, allowed_status
from services.checks.report import Report
from services.checks.scrub import redact_finding
from services.core.errors import ConfigError
from services.core.settings import Settings
from services.pipeline.canary import remove_canary

#: every check, in pipeline order: endpoint, role, bucket, upload, CDN
REGISTRY: tuple[Check, ...] = (
    *presign.CHECKS,
    *presigned_post.CHECKS,
    *lambda_role.CHECKS,
    *bucket.CHECKS,
    *ownership.CHECKS,
    *encryption.CHECKS,
    *upload.CHECKS,
    *lifetime.CHECKS,
    *cdn.CHECKS,
    *cdn_cors.CHECKS,
)
CHECK_IDS: tuple[str, ...] = tuple(check.id for check in REGISTRY)
BY_ID: Mapping[str, Check] = {check.id: check for check in REGISTRY}

_BROKE = ("check.internal_error",)
#: statuses that can follow from an upstream failure (a pass or a skip follows from nothing)
_CONSEQUENCES = (Status.FAIL, Status.WARN, Status.UNKNOWN)
#: called with a finished run's report and the evidence it judged (the history records runs through it)
RunHook = Callable[[Report, Evidence], None]


def select(only: Sequence[str] | None = None) -> tuple[Check, ...]:
    """The checks named by id or by hop (``bucket`` selects every ``bucket.*``); all when ``only`` is empty."""
    if not only:
        return REGISTRY
    unknown = [name for name in only if name not in CHECK_IDS and not any(i.startswith(name + ".") for i in CHECK_IDS)]
    if unknown:
        raise ConfigError(f"unknown check id(s): {', '.join(unknown)}; known: {', '.join(CHECK_IDS)}")
    return tuple(c for c in REGISTRY if c.id in only or c.id.split(".", 1)[0] in only)


def judge(check: Check, evidence: Evidence) -> Finding:
    """A check's finding, with its impact, the status that impact allows, and everything redacted; a check that
    breaks says so as ``unknown`` instead of taking the report down."""
    try:
        found: Finding = check.judge(evidence)
    except Exception as err:  # noqa: BLE001 - a bug in one judge must not hide the other findings; it is named
        detail = f"internal error in the check: {type(err).__name__}: {err}"
        found = finding(check.id, Status.UNKNOWN, f"{check.title}: could not be evaluated", detail, codes=_BROKE)
    impact = found.impact or check.impact
    return redact_finding(replace(found, impact=impact, status=allowed_status(found.status, impact)))


def attribute_causes(findings: Sequence[Finding], checks: Sequence[Check] = REGISTRY) -> tuple[Finding, ...]:
    """The findings with ``caused_by``: for a fail, warn or unknown, the root causes among its upstream checks.

    Walking ``depends_on``: a failing upstream is named, unless it follows from failing checks itself (then those
    are named: only a root is a root); a passing upstream ends the walk; an upstream that is neither (unknown, warn,
    skip, or not run) is walked through, since what it could not look at may have failed further up.
    """
    by_id = {f.id: f for f in findings}
    depends = {c.id: c.depends_on for c in (*REGISTRY, *checks)}
    order = {cid: n for n, cid in enumerate(depends)}
    memo: dict[str, tuple[str, ...]] = {}

    def roots_above(cid: str, path: frozenset[str]) -> tuple[str, ...]:
        if cid in memo:
            return memo[cid]
        found: set[str] = set()
        for up in depends.get(cid, ()):
            if up in path:
                continue  # a cycle is a registry bug (a test forbids it); never loop on one
            upstream = by_id.get(up)
            if upstream is not None and upstream.status is Status.PASS:
                continue
            above = roots_above(up, path | {up})
            if upstream is not None and upstream.status is Status.FAIL:
                found.update(above or (up,))
            else:
                found.update(above)
        memo[cid] = tuple(sorted(found, key=lambda i: order.get(i, len(order))))
        return memo[cid]

    return tuple(
        replace(f, caused_by=roots_above(f.id, frozenset({f.id}))) if f.status in _CONSEQUENCES else f for f in findings
    )


def with_rerun(report: Report, finding: Finding) -> Report:
    """``report`` with its finding of ``finding``'s check replaced by ``finding`` (that check run again, e.g. after
    a fix was applied), and every ``caused_by`` worked out again: a fixed root cause is no longer named by the
    findings that followed from it, and the re-run finding is attributed against the whole run, not the one-check
    run that produced it."""
    updated = report.with_finding(finding)
    return replace(updated, findings=attribute_causes(updated.findings))


#: checks that need the canary but judge without it too (bucket.public_read: the policy, minus the live GET)
CANARY_OPTIONAL = frozenset({"bucket.public_read", encryption.BUCKET_ENCRYPTION, encryption.CDN_KMS_GRANT})
NO_CANARY = (
    "Not run: this check run was asked to write nothing (`check --no-canary`, or the Checks page's toggle), and "
    "this check judges the canary upload. Run the checks with the canary to judge it."
)


def without_canary(check: Check) -> Check:
    """``check`` in a run that made no canary: it skips, saying why."""

    def skipped(_evidence: Evidence) -> Finding:
        title = f"{check.title}: skipped (no canary upload)"
        return Finding(check.id, Status.SKIP, title, NO_CANARY, codes=("check.no_canary",))

    return replace(check, judge=skipped)


def run_checks(
    settings: Settings,
    only: Sequence[str] | None = None,
    clients: Clients | None = None,
    deadline_s: float = CHECK_DEADLINE,
    on_done: RunHook | None = None,
    canary: bool = True,
    budget: Budget | None = None,
) -> Report:
    """Run the selected checks against ``settings``' pipeline, gathering for at most ``deadline_s`` seconds (a hop
    still silent then is reported as not having answered), or within ``budget`` when given (one already started);
    ``on_done`` sees the report and the evidence it judged.
    With ``canary`` off the run writes nothing: the checks that judge the canary upload ``skip``, saying why.
    Raises ConfigError for unknown ids."""
    checks = select(only)
    started, clock = datetime.now(UTC), time.perf_counter()
    skipped = set() if canary else {c.id for c in checks if "canary" in c.needs and c.id not in CANARY_OPTIONAL}
    needs = frozenset().union(*(check.needs for check in checks if check.id not in skipped))
    if not canary:
        needs -= {"canary"}
    evidence = gather(settings, needs, clients, budget or Budget.of(deadline_s))
    judged = [judge(without_canary(check) if check.id in skipped else check, evidence) for check in checks]
    findings = attribute_causes(judged, checks)
    notes: tuple[str, ...] = ()
    if evidence.canary is not None and evidence.canary.put is not None:
        made = evidence.canary  # stored under the URL's key (another than the reply's when the function errs)
        stored = missing_key.stored_key(evidence, made) or made.key
        note = remove_canary(settings, stored, made.key if made.cdn_first is not None else None)
        notes = (note,) if note else ()
    report = Report(evidence.target, findings, started, (time.perf_counter() - clock) * 1000, notes)
    if on_done is not None:
        on_done(report, evidence)
    return report
