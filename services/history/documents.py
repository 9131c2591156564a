"""The configuration documents a check run read, as the history keeps them: name -> pretty-printed JSON.

One mapping from the check evidence (services/checks/evidence.py) to documents, so a diff between two runs
compares like with like: sorted keys, two-space indent, and nothing that changes on every run (the canary's key,
the URL's date and signature). Each document names the checks whose findings quoted it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

from services.checks.evidence import Evidence
from services.checks.model import ConfigRead, Exchange, Finding, ReadState
from services.core.redact import redact_text
from services.pipeline.explain import signed_headers

#: (document name, the Evidence field holding its read). Fields the evidence does not have (yet) are skipped,
#: so a gatherer added later (encryption, ownership, the key policy) is recorded by naming it here.
CONFIG_DOCUMENTS: tuple[tuple[str, str], ...] = (
    ("bucket_policy", "bucket_policy"),
    ("bucket_cors", "bucket_cors"),
    ("public_access_block", "public_access_block"),
    ("bucket_encryption", "bucket_encryption"),
    ("bucket_ownership", "bucket_ownership"),
    ("distribution", "distribution"),
    ("origin_access_control", "origin_access_control"),
    ("lambda_configuration", "lambda_config"),
    ("role_policies", "role_policies"),
    ("key_policy", "key_policy"),
)
PRESIGNED_URL = "presigned_url"


def pretty(value: Any) -> str:
    """The one way a document is printed (and so diffed)."""
    return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)


#: what an AWS reply carries besides the document, different on every call (request id, date)
VOLATILE_KEYS = frozenset({"ResponseMetadata"})


def _without_volatile(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_volatile(v) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [_without_volatile(item) for item in value]
    return value


def _config_value(read: ConfigRead) -> Any:
    if read.state != ReadState.OK:  # what stood in for the document: why there was none
        return {"state": str(read.state), "code": read.code, "message": read.message}
    value = read.value
    if isinstance(value, str):  # a policy as S3 stores it: JSON text
        try:
            return json.loads(value)
        except ValueError:
            return value
    return _without_volatile(value)


def _first(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def url_anatomy(exchange: Exchange) -> dict[str, Any] | None:
    """The presigned URL the endpoint handed out, without what changes per URL: host, region, expiry, headers."""
    try:
        reply = json.loads(exchange.body)
    except ValueError:
        return None
    url = reply.get("presignedUrl") if isinstance(reply, dict) else None
    if not isinstance(url, str):
        return None
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    scope = (query.get("X-Amz-Credential") or [""])[0].split("/")
    return {
        "scheme": parts.scheme,
        "host": parts.hostname,
        "port": parts.port,
        "region": scope[2] if len(scope) >= 5 else None,
        "algorithm": _first(query, "X-Amz-Algorithm"),
        "expires_seconds": _first(query, "X-Amz-Expires"),
        "signed_headers": list(signed_headers(url)),
        "content_type": reply.get("contentType"),
    }


def _readers(findings: Sequence[Finding], matches: Any) -> tuple[str, ...]:
    return tuple(f.id for f in findings if any(matches(item) for item in f.evidence))


def run_documents(evidence: Evidence, findings: Sequence[Finding]) -> dict[str, tuple[str, tuple[str, ...]]]:
    """name -> (pretty JSON, ids of the checks that read it), for every document this run gathered."""
    found: dict[str, tuple[str, tuple[str, ...]]] = {}
    for name, attribute in CONFIG_DOCUMENTS:
        read = getattr(evidence, attribute, None)
        if not isinstance(read, ConfigRead) or read.state == ReadState.NOT_CONFIGURED:
            continue
        readers = _readers(findings, lambda item, call=read.call: isinstance(item, ConfigRead) and item.call == call)
        found[name] = (redact_text(pretty(_config_value(read))), readers)
    presigned = evidence.presign_ok
    if presigned is not None and presigned.status == 200 and (anatomy := url_anatomy(presigned)) is not None:
        # the gatherer redacted the exchange when it was probed, and redaction is idempotent: a finding quoting it
        # holds the same URL and body
        readers = _readers(
            findings,
            lambda item: isinstance(item, Exchange) and item.url == presigned.url and item.body == presigned.body,
        )
        found[PRESIGNED_URL] = (redact_text(pretty(anatomy)), readers)
    return found
