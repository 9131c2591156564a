"""Apply a finding's remedy: the one AWS call its fix describes, made by the console itself.

Read-only by default: a remedy is applied only when the profile's writes switch is on (services/core/writes.py),
and then only with a confirmation naming exactly what it writes to (the bucket, or the role), and on a production
profile the profile's name too. All are checked, with the remedy's own shape, before any client is built, so a
refusal sends nothing. AWS errors are translated here into the console's own errors (`RemedyFailed`: the IAM
action the console lacks, or AWS's reason for refusing the document).

A remedy was computed from the configuration its check read; right before writing, that configuration is read
again and the remedy is refused (`RemedyStale`) if it changed, so an old report's fix (or a second fix for the same
bucket policy) never undoes a later change. After the call the check that found the problem is run again
(`apply_fix`), so the person sees the new verdict.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from services.aws_model import iam
from services.aws_model.s3errors import DENIED_CODES, MISSING_CODES
from services.checks.model import Finding, Remedy, Status
from services.checks.policy_docs import load_policy
from services.checks.runner import RunHook, run_checks
from services.core.clients import make_client
from services.core.errors import ConsoleError, PipelineError
from services.core.redact import redact_text
from services.core.settings import Settings
from services.core.writes import Confirmation, NotConfirmed, WritesRefused, confirmation_refusal, writes_refusal
from services.core.writes import WritesOff as WritesOff  # re-exported: the writes switch's refusal, raised here too

#: the only calls a remedy may make: (service, operation) -> boto3 method
OPERATIONS: dict[tuple[str, str], str] = {
    ("s3", "PutBucketCors"): "put_bucket_cors",
    ("s3", "PutBucketPolicy"): "put_bucket_policy",
    ("s3", "DeleteBucketPolicy"): "delete_bucket_policy",
    ("s3", "PutPublicAccessBlock"): "put_public_access_block",
    ("iam", "PutRolePolicy"): "put_role_policy",
}
#: the parameter naming what each service's call writes to (it must be what the person confirmed)
_RESOURCE_PARAM = {"s3": "Bucket", "iam": "RoleName"}
_REFUSED_DOCUMENT = frozenset(
    {"MalformedPolicy", "MalformedPolicyDocument", "MalformedXML", "InvalidArgument", "InvalidRequest", "LimitExceeded"}
)


@dataclass(frozen=True)
class _Read:
    """How to read again what a remedy overwrites: the call, the reply's field, its IAM action, "none" codes."""

    method: str
    field: str
    permission: str
    absent: frozenset[str]
    what: str  # in words, for the stale refusal


_POLICY_READ = _Read(
    "get_bucket_policy", "Policy", "s3:GetBucketPolicy", frozenset({"NoSuchBucketPolicy"}), "bucket policy"
)
_CURRENT: dict[str, _Read] = {
    "PutBucketCors": _Read(
        "get_bucket_cors", "CORSRules", "s3:GetBucketCors", frozenset({"NoSuchCORSConfiguration"}), "CORS rules"
    ),
    "PutBucketPolicy": _POLICY_READ,
    "DeleteBucketPolicy": _POLICY_READ,
    "PutPublicAccessBlock": _Read(
        "get_public_access_block",
        "PublicAccessBlockConfiguration",
        "s3:GetBucketPublicAccessBlock",
        frozenset({"NoSuchPublicAccessBlockConfiguration"}),
        "Block Public Access configuration",
    ),
    "PutRolePolicy": _Read(
        "get_role_policy", "PolicyDocument", "iam:GetRolePolicy", frozenset({"NoSuchEntity"}), "inline policy"
    ),
}


class RemedyRefused(WritesRefused):
    """The console refused to apply a remedy (before any AWS call): no remedy, or not one the console makes.
    Writes off (``WritesOff``) and a wrong confirmation (``ConfirmationMismatch``) are the writes switch's refusals."""


#: the confirmation typed is not the name of what the remedy writes to (or, on production, the profile's name)
ConfirmationMismatch = NotConfirmed


class RemedyStale(RemedyRefused):
    """What the remedy overwrites changed since its check read it: run the check again for a fix that fits."""


class RemedyFailed(PipelineError):
    """AWS answered the remedy's call with an error. ``permission`` is the IAM action the call needs."""

    def __init__(self, message: str, *, permission: str, operation: str, **details: Any) -> None:
        super().__init__(message, **details)
        self.permission = permission
        self.operation = operation


@dataclass(frozen=True)
class AppliedRemedy:
    """What was done: the remedy, and AWS's acknowledgement of it."""

    remedy: Remedy
    http_status: int | None = None
    request_id: str | None = None

    @property
    def text(self) -> str:
        ack = f" (HTTP {self.http_status}, request id {self.request_id})" if self.http_status else ""
        return f"Applied {self.remedy.summary}{ack}"

    def to_json(self) -> dict[str, Any]:
        return {"remedy": self.remedy.to_json(), "http_status": self.http_status, "request_id": self.request_id}


@dataclass(frozen=True)
class FixOutcome:
    """A remedy applied, and the finding of its check run again afterwards."""

    applied: AppliedRemedy
    before: Finding
    after: Finding

    @property
    def passed(self) -> bool:
        return self.after.status == Status.PASS

    @property
    def text(self) -> str:
        return f"{self.applied.text}. Re-ran {self.after.id}: {str(self.after.status).upper()} — {self.after.title}"


def refusal(
    remedy: Remedy | None, settings: Settings, confirm: str | None, confirm_profile: str | None = None
) -> WritesRefused | None:
    """Why `remedy` may not be applied to `settings`' pipeline with these confirmations (what it writes to, and on a
    production profile the profile's name); None when it may."""
    if off := writes_refusal(settings, "Applying the fix"):
        return off
    if remedy is None:
        return RemedyRefused("Not applied: this finding has no fix the console can apply; follow its fix text.")
    if (remedy.service, remedy.operation) not in OPERATIONS:
        return RemedyRefused(f"Not applied: {remedy.service} {remedy.operation} is not a call the console makes.")
    named = remedy.params.get(_RESOURCE_PARAM[remedy.service])
    if named != remedy.resource:
        return RemedyRefused(f"Not applied: the call writes to {named!r}, not to {remedy.resource!r} as it says.")
    if remedy.service == "s3" and remedy.resource != settings.bucket:
        return RemedyRefused(
            f"Not applied: the fix is for bucket {remedy.resource!r}, but the console is pointed at "
            f"{settings.bucket!r}. Run the checks again."
        )
    resource = Confirmation(remedy.resource_kind, remedy.resource)
    return confirmation_refusal(settings, f"Applying {remedy.operation}", resource, confirm, confirm_profile)


def apply_remedy(
    remedy: Remedy, settings: Settings, *, confirm: str | None, confirm_profile: str | None = None, client: Any = None
) -> AppliedRemedy:
    """Make the remedy's call, when writes are allowed, `confirm` names what it writes to and (on a production
    profile) `confirm_profile` is the profile's name.

    Raises `WritesOff` / `ConfirmationMismatch` / `RemedyRefused` before any client is built or request sent;
    `RemedyStale` when the configuration read again right before the write is no longer the one the fix was computed
    from (nothing written); `RemedyFailed` when AWS refuses the read or the write. `client`: one for the service,
    for callers that already hold one."""
    refused = refusal(remedy, settings, confirm, confirm_profile)
    if refused is not None:
        raise refused
    method = OPERATIONS[(remedy.service, remedy.operation)]
    client = client if client is not None else make_client(remedy.service, settings.aws)
    _require_unchanged(client, remedy)
    try:
        reply = getattr(client, method)(**copy.deepcopy(dict(remedy.params)))
    except (ClientError, BotoCoreError) as err:
        raise _translate(err, remedy, remedy.permission) from err
    meta = reply.get("ResponseMetadata", {}) if isinstance(reply, dict) else {}
    return AppliedRemedy(remedy, meta.get("HTTPStatusCode"), meta.get("RequestId"))


def apply_fix(
    finding: Finding,
    settings: Settings,
    *,
    confirm: str | None,
    confirm_profile: str | None = None,
    client: Any = None,
    on_done: RunHook | None = None,
) -> FixOutcome:
    """Apply `finding`'s remedy (see `apply_remedy`), then run its check again for the new verdict; ``on_done``
    sees that run as `run_checks`' hook (the history records it)."""
    if finding.remedy is None:
        raise refusal(None, settings, confirm, confirm_profile) or RemedyRefused("Not applied: no remedy")
    applied = apply_remedy(finding.remedy, settings, confirm=confirm, confirm_profile=confirm_profile, client=client)
    (after,) = run_checks(settings, only=[finding.id], on_done=on_done).findings
    return FixOutcome(applied, finding, after)


def _require_unchanged(client: Any, remedy: Remedy) -> None:
    """Read what the remedy overwrites; raise RemedyStale unless it is still what the fix was computed from."""
    read = _CURRENT[remedy.operation]
    names = ("RoleName", "PolicyName") if remedy.service == "iam" else ("Bucket",)
    try:
        current = getattr(client, read.method)(**{name: remedy.params[name] for name in names})[read.field]
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") not in read.absent:
            raise _translate(err, remedy, read.permission) from err
        current = None
    except BotoCoreError as err:
        raise _translate(err, remedy, read.permission) from err
    if _comparable(current) != _comparable(remedy.based_on):
        raise RemedyStale(
            f"Not applied: the {read.what} of {remedy.resource_kind} {remedy.resource!r} changed since the check "
            "read it, so this fix no longer fits. Run the check again for one that does."
        )


def _comparable(value: Any) -> Any:
    """Documents as data: policy text parsed (IAM's URL-encoded too), anything else as it is."""
    if isinstance(value, str | bytes):
        try:
            return dict(load_policy(value)[1])
        except iam.PolicyError:
            return value
    return json.loads(json.dumps(value, default=str)) if value is not None else None


def error_lines(err: ConsoleError) -> list[str]:
    """A refusal or failure in plain words: what happened, then (for AWS errors) the likely cause."""
    cause = err.cause if isinstance(err, PipelineError) else None
    return [str(err), *([f"cause: {cause}"] if cause else [])]


def _target(remedy: Remedy) -> str:
    return f"arn:aws:s3:::{remedy.resource}" if remedy.service == "s3" else f"role {remedy.resource}"


def _grant(remedy: Remedy, permission: str) -> str:
    resource = f"arn:aws:s3:::{remedy.resource}" if remedy.service == "s3" else f"arn:aws:iam::*:role/{remedy.resource}"
    return json.dumps({"Effect": "Allow", "Action": permission, "Resource": resource})


def _translate(err: ClientError | BotoCoreError, remedy: Remedy, permission: str) -> RemedyFailed:
    """AWS's refusal in plain words: the permission the console lacks, or why AWS did not take the document."""
    details: dict[str, Any] = {"permission": permission, "operation": remedy.operation, "hop": remedy.service}
    if remedy.service == "s3":
        details["bucket"] = remedy.resource
    if not isinstance(err, ClientError):
        message = f"{remedy.operation} on {_target(remedy)} failed: {redact_text(str(err))}"
        cause = "AWS could not be reached or the console has no credentials; nothing was changed."
        return RemedyFailed(message, cause=cause, **details)
    error = err.response.get("Error", {})
    code, said = error.get("Code"), redact_text(str(error.get("Message") or ""))
    status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    details.update(http_status=status, code=code)
    if code in DENIED_CODES or (status == 403 and code not in _REFUSED_DOCUMENT):
        message = f"The console's role lacks {permission} on {_target(remedy)}: {code}: {said or 'Access Denied'}"
        cause = (
            f"Grant {permission} to the console's identity (`{_grant(remedy, permission)}`), check that no bucket "
            "policy, permissions boundary or SCP denies it, or run the fix's command as someone who may. "
            "Nothing was changed."
        )
        return RemedyFailed(message, cause=cause, **details)
    if code in _REFUSED_DOCUMENT:
        message = f"AWS refused the document ({code}): {said or 'no message'}"
        cause = (
            "Nothing was changed. Run the checks again (the configuration may have changed), or edit the fix by hand."
        )
        return RemedyFailed(message, cause=cause, **details)
    if code in MISSING_CODES:
        message = f"{remedy.operation} failed: {code}: {said or 'not found'}"
        cause = f"The {remedy.resource_kind} {remedy.resource!r} does not exist here; check the configuration."
        return RemedyFailed(message, cause=cause, **details)
    message = f"{remedy.operation} on {_target(remedy)} failed: HTTP {status} {code}: {said}".rstrip(": ")
    return RemedyFailed(message, cause="AWS did not apply it: nothing was changed.", **details)
