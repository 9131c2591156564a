"""The finding model: what a check says, and the evidence it judged. Pure data.

In the style of httplint / parliament: a finding has a stable id (documented in the README), a status, what it does
to people (`Impact`), the failing checks it follows from (``caused_by``), stable cause codes, a one-line title, a
detail quoting what was observed, the exact fix, and the evidence (HTTP exchanges and configuration documents, with
signatures and credentials redacted). In the style of Prowler, each `Check` carries its metadata (title, hop, impact,
the read permissions it needs, the AWS documentation of the behaviour, the checks it depends on).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import KW_ONLY, asdict, dataclass, field
from enum import StrEnum
from typing import Any, Literal


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 - a status word
    WARN = "warn"
    FAIL = "fail"
    UNKNOWN = "unknown"  # could not be evaluated (e.g. the console's role was denied a read): never a verdict
    SKIP = "skip"  # not applicable here


#: worst first, for summaries
SEVERITY = (Status.FAIL, Status.WARN, Status.UNKNOWN, Status.PASS, Status.SKIP)


class Impact(StrEnum):
    """What a finding does to people. Only the first three may ``fail``; the others are at most ``warn``."""

    UPLOAD = "upload"  # the web app's uploads fail
    DISPLAY = "display"  # images do not show, or download instead of showing
    EXPOSURE = "exposure"  # someone can read or write what they should not
    SPEED = "speed"  # slower or costlier than needed
    HYGIENE = "hygiene"  # nothing breaks today


#: the impacts that break something, in the order a summary names them
BREAKING = (Impact.UPLOAD, Impact.DISPLAY, Impact.EXPOSURE)


def allowed_status(status: Status, impact: Impact) -> Status:
    """`status`, at most ``warn`` when the impact breaks nothing (speed, hygiene)."""
    return Status.WARN if status is Status.FAIL and impact not in BREAKING else status


@dataclass(frozen=True)
class Exchange:
    """One HTTP request and its answer, as sent and received (URL redacted)."""

    method: str
    url: str
    request_headers: Mapping[str, str] = field(default_factory=dict)
    status: int | None = None  # None: no answer (connection failed / timed out)
    response_headers: Mapping[str, str] = field(default_factory=dict)
    body: str = ""  # the first few KB, as text
    error: str | None = None  # why there was no answer
    ms: float = 0.0

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.response_headers.items() if k.lower() == lowered), None)

    def json(self) -> Any:
        import json

        try:
            return json.loads(self.body)
        except ValueError:
            return None


class ReadState(StrEnum):
    OK = "ok"
    MISSING = "missing"  # the configuration does not exist (NoSuchCORSConfiguration, NoSuchBucketPolicy ...)
    DENIED = "denied"  # the console's identity may not read it (AccessDenied)
    ERROR = "error"  # anything else (network, throttling, unexpected error)
    NOT_CONFIGURED = "not_configured"  # the console was not told what to read (e.g. no distribution id)


@dataclass(frozen=True)
class ConfigRead:
    """One AWS read call's outcome: the document, or why there is none."""

    call: str  # e.g. "s3:GetBucketCors"
    state: ReadState
    value: Any = None
    code: str | None = None  # the AWS error code when not OK
    message: str | None = None
    resource: str | None = None  # the ARN a grant of this read names (a refusal's fix grants it on that)


def read_state(read: ConfigRead) -> ReadState | None:
    """The read's state as a ReadState; None when evidence from elsewhere (a file, a test) holds something else."""
    try:
        return ReadState(read.state)
    except (ValueError, TypeError):
        return None


@dataclass(frozen=True)
class Remedy:
    """A finding's fix as one AWS call the console can make (``services/checks/remedy.py`` applies it).

    Built by the judge from the same document its ``fix`` text shows, so the two never disagree. ``params`` are the
    boto3 call's keyword arguments exactly (``Policy`` as the JSON text S3 stores); ``resource`` is what the call
    writes to (the bucket or the role name), which a person must type to confirm; ``permission`` is the IAM action
    the console's own identity needs for it. ``based_on`` is the configuration the fix was computed from (None: there
    was none); the remedy is applied only while it is still that, so a stale one never undoes a later change.
    """

    service: Literal["s3", "iam"]  # boto3 service name
    operation: str  # the API operation: "PutBucketPolicy", "PutRolePolicy" ...
    params: Mapping[str, Any]
    resource: str
    resource_kind: str  # "bucket" or "role"
    permission: str  # e.g. "s3:PutBucketPolicy"
    summary: str  # one line: "PutBucketPolicy on bucket X: adds statement AllowCloudFrontServicePrincipal"
    based_on: Any = None

    def to_json(self) -> dict[str, Any]:
        import json

        return {
            "service": self.service,
            "operation": self.operation,
            "params": json.loads(json.dumps(dict(self.params), default=str)),
            "resource": self.resource,
            "resource_kind": self.resource_kind,
            "permission": self.permission,
            "summary": self.summary,
            "based_on": json.loads(json.dumps(self.based_on, default=str)),
        }


@dataclass(frozen=True)
class Finding:
    """What one check found. ``impact`` None: the check's own (the runner fills it in); ``caused_by`` is computed by
    the runner from the checks' ``depends_on`` (a judge never sets it); ``codes`` are the stable cause codes."""

    id: str
    status: Status
    title: str
    detail: str = ""
    fix: str = ""  # exact JSON to apply and/or the AWS CLI command
    evidence: tuple[Exchange | ConfigRead, ...] = ()
    remedy: Remedy | None = None  # the fix as one call the console can make, when it is one
    impact: Impact | None = None
    caused_by: tuple[str, ...] = ()  # ids of the failing root-cause checks this finding follows from
    codes: tuple[str, ...] = ()  # e.g. "cors.origin_missing", "grant.other_distribution"

    @property
    def hop(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def is_root(self) -> bool:
        return not self.caused_by

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": str(self.status),
            "impact": None if self.impact is None else str(self.impact),
            "caused_by": list(self.caused_by),
            "codes": list(self.codes),
            "title": self.title,
            "detail": self.detail,
            "fix": self.fix,
            "evidence": [_evidence_json(item) for item in self.evidence],
            "remedy": self.remedy.to_json() if self.remedy is not None else None,
        }


def _evidence_json(item: Exchange | ConfigRead) -> dict[str, Any]:
    import json

    doc = json.loads(json.dumps(asdict(item), default=str))  # AWS documents hold datetimes
    doc["kind"] = "http" if isinstance(item, Exchange) else "config"
    if isinstance(item, ConfigRead):
        doc["state"] = str(item.state)
    return doc


#: the evidence gatherers a check can need (see gather.py)
GATHERERS = frozenset(
    {
        "presign",
        "api_preflight",
        "bucket_config",
        "bucket_preflight",
        "canary",
        "lambda",
        "distribution",
        "bucket_location",
    }
)


#: cause codes any check may give: a read that holds no document (denied, absent, failed, not configured), no such
#: bucket, or a judge that broke
COMMON_CODES = (
    "read.denied",
    "read.absent",
    "read.failed",
    "read.not_configured",
    "bucket.no_such_bucket",
    "check.internal_error",
)


@dataclass(frozen=True)
class Check:
    """One registered check: a stable id, what it needs gathered, the pure function judging it, and its metadata
    (written beside the judge, as Prowler keeps a metadata file per check; the README's tables are generated from it).

    ``impact``: what its failure does to people (a finding may name another, e.g. a speed warning of a display
    check); ``permissions``: the IAM read actions the console's identity needs for it; ``docs``: the AWS
    documentation of the behaviour judged; ``depends_on``: the upstream checks whose failure leaves this one without
    evidence or makes it fail too (the runner turns them into the findings' ``caused_by``).
    """

    id: str
    title: str
    needs: frozenset[str]
    judge: Any  # Callable[[Evidence], Finding]; Any to keep this module free of an import cycle
    _: KW_ONLY
    impact: Impact
    description: str  # what it judges, in the README's words (Markdown)
    permissions: tuple[str, ...]
    codes: tuple[str, ...]  # the cause codes its findings may carry besides COMMON_CODES (``x.y_*``: a family)
    docs: str
    depends_on: tuple[str, ...] = ()

    @property
    def hop(self) -> str:
        return self.id.split(".", 1)[0]
