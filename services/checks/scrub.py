"""The last line of defence: no signature, credential or token leaves a check, whatever it quoted. The runner
applies `redact_finding` to every finding (``services/checks/runner.py``); judges do not redact themselves."""

from __future__ import annotations

from dataclasses import replace

from services.checks.model import ConfigRead, Exchange, Finding
from services.core.redact import redact_text, redact_url


def scrub(exchange: Exchange) -> Exchange:
    """The exchange with every signature / credential / token in its URL, headers and body redacted."""
    return replace(
        exchange,
        url=redact_url(exchange.url),
        body=redact_text(exchange.body or ""),
        request_headers={k: redact_text(str(v)) for k, v in dict(exchange.request_headers or {}).items()},
        response_headers={k: redact_text(str(v)) for k, v in dict(exchange.response_headers or {}).items()},
        error=None if exchange.error is None else redact_text(exchange.error),
    )


def redact_finding(finding: Finding) -> Finding:
    return replace(
        finding,
        title=" ".join(redact_text(finding.title).split()),  # one line, whatever the evidence held
        detail=redact_text(finding.detail),
        fix=redact_text(finding.fix),
        evidence=tuple(scrub(item) if isinstance(item, Exchange) else item for item in finding.evidence),
    )


def evidence_items(*items: Exchange | ConfigRead | None) -> tuple[Exchange | ConfigRead, ...]:
    """A finding's evidence: the items present. Not scrubbed here: the runner redacts every finding once, on the
    way out (``services/checks/runner.py``)."""
    return tuple(item for item in items if item is not None)
