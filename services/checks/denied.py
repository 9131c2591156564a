"""A read the console's own identity was refused: which IAM action it lacks, and the statement granting it.

AccessDenied on a read says nothing about the pipeline, only about the console's permissions. Every check that
needed the refused document answers ``unknown`` through :func:`denied_finding`: the title names the exact IAM
action ("the console's role lacks s3:GetBucketCors"), the detail quotes AWS's answer, and the fix is the IAM
statement (and the CLI command) that grants it. Pure: no I/O.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable
from typing import TypeGuard

from services.checks.model import ConfigRead, Exchange, Finding, ReadState, Status, read_state

#: the API call a gatherer makes -> the IAM action that authorises it (they differ for a few S3 calls)
IAM_ACTIONS: dict[str, str] = {
    "s3:GetBucketCors": "s3:GetBucketCors",
    "s3:GetBucketLocation": "s3:GetBucketLocation",
    "s3:GetBucketPolicy": "s3:GetBucketPolicy",
    "s3:GetBucketPolicyStatus": "s3:GetBucketPolicyStatus",
    "s3:GetBucketPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "s3:GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "s3:HeadObject": "s3:GetObject",
    "s3:GetObject": "s3:GetObject",
    "s3:ListObjectsV2": "s3:ListBucket",
    "s3:ListBucket": "s3:ListBucket",
    "lambda:GetFunction": "lambda:GetFunction",
    "lambda:GetFunctionConfiguration": "lambda:GetFunctionConfiguration",
    "iam:GetRole": "iam:GetRole",
    "iam:ListRolePolicies": "iam:ListRolePolicies",
    "iam:GetRolePolicy": "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies": "iam:ListAttachedRolePolicies",
    "iam:GetPolicy": "iam:GetPolicy",
    "iam:GetPolicyVersion": "iam:GetPolicyVersion",
    "cloudfront:GetDistribution": "cloudfront:GetDistribution",
    "cloudfront:GetOriginAccessControl": "cloudfront:GetOriginAccessControl",
}
#: "User: arn:aws:sts::123456789012:assumed-role/console/s is not authorized to perform: s3:GetBucketCORS on
#: resource: "arn:aws:s3:::bucket" because no identity-based policy allows ..." (S3, IAM, Lambda, CloudFront)
_WHO = re.compile(r"User: (arn:[^\s\"]+)")
_ACTION = re.compile(r"perform: ([a-z0-9-]+:[A-Za-z0-9]+)")
_ACTION_NAME = re.compile(r"[a-z0-9-]+:[A-Za-z0-9]+")
_RESOURCE = re.compile(r"on resource: \"?(arn:[^\s\"]+)")
_ASSUMED_ROLE = re.compile(r"arn:[a-z0-9-]+:sts::\d{12}:assumed-role/([\w+=,.@-]+)/")
_ROLE = re.compile(r"arn:[a-z0-9-]+:iam::\d{12}:role/(?:[^/\s]+/)*([\w+=,.@-]+)$")
_USER = re.compile(r"arn:[a-z0-9-]+:iam::\d{12}:user/(?:[^/\s]+/)*([\w+=,.@-]+)$")
POLICY_PREFIX = "pipeline-console-read"


def is_denied(read: object) -> TypeGuard[ConfigRead]:
    return isinstance(read, ConfigRead) and read_state(read) is ReadState.DENIED


def required_action(read: ConfigRead, default: str | None = None) -> str:
    """The IAM action the refused call needs: the one AWS names in its message when it does, else the call's."""
    said = _ACTION.search(str(read.message or ""))
    call = read.call if isinstance(read.call, str) and _ACTION_NAME.fullmatch(read.call) else (default or "")
    mapped = IAM_ACTIONS.get(call, call) or "the read's IAM action"
    if said and said.group(1).lower() == mapped.lower():
        return mapped  # our spelling (S3 says s3:GetBucketCORS); IAM actions are case-insensitive
    return said.group(1) if said else mapped


def refused_resource(read: ConfigRead, default: str) -> str:
    """The ARN the refused call was about: as AWS names it, else as the gatherer recorded it, else ``default``."""
    said = _RESOURCE.search(str(read.message or ""))
    if said:
        return said.group(1).rstrip(".")
    resource = getattr(read, "resource", None)
    return resource if isinstance(resource, str) and resource else default


def console_identity(read: ConfigRead) -> str | None:
    """The console's identity as AWS named it in the refusal, when it did."""
    said = _WHO.search(str(read.message or ""))
    return said.group(1) if said else None


def grant_policy(action: str, resource: str) -> dict[str, object]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "PipelineConsoleRead", "Effect": "Allow", "Action": action, "Resource": resource}],
    }


def _attach_command(identity: str | None, name: str, document: str) -> str:
    role = _ASSUMED_ROLE.search(identity or "") or _ROLE.search(identity or "")
    user = _USER.search(identity or "")
    if user:
        head = f"aws iam put-user-policy --user-name {shlex.quote(user.group(1))}"
    else:
        head = f"aws iam put-role-policy --role-name {shlex.quote(role.group(1)) if role else '<console-role>'}"
    return f"{head} --policy-name {name} --policy-document {shlex.quote(document)}"


def grant_fix(read: ConfigRead, resource: str, default_call: str | None = None) -> str:
    """The IAM statement granting the refused read to the console's identity, and the command attaching it."""
    action = required_action(read, default_call)
    arn = refused_resource(read, resource)
    policy = grant_policy(action, arn)
    name = f"{POLICY_PREFIX}-{re.sub(r'[^A-Za-z0-9]+', '-', action)}"
    identity = console_identity(read)
    lines = [
        f"# grant the console's own identity{f' ({identity})' if identity else ''} {action} "
        "(read-only; the pipeline itself is not changed):",
        json.dumps(policy, indent=2),
        "",
        _attach_command(identity, name, json.dumps(policy)),
    ]
    if identity is None:
        lines.append("# or add the statement to whatever policy or permission set the console's identity has")
    return "\n".join(lines)


def denied_title(read: ConfigRead, what: str, default_call: str | None = None) -> str:
    """e.g. "The console's role lacks s3:GetBucketCors: the bucket's CORS configuration was not read"."""
    return f"The console's role lacks {required_action(read, default_call)}: {what} was not read"


def denied_detail(read: ConfigRead, resource: str, default_call: str | None = None, also: str = "") -> str:
    action = required_action(read, default_call)
    call = read.call if isinstance(read.call, str) and _ACTION_NAME.fullmatch(read.call) else (default_call or action)
    said = ": ".join(str(part) for part in (read.code, read.message) if part) or "no error code recorded"
    who = console_identity(read)
    lines = [
        f"{call} answered {said}.",
        f"The console's identity{f' ({who})' if who else ''} lacks {action} on {refused_resource(read, resource)}. "
        "This is not a verdict on the pipeline: the check is unknown until the console may read it.",
    ]
    if also:
        lines.append(also)
    return "\n".join(lines)


def denied_finding(
    check_id: str,
    read: ConfigRead,
    what: str,
    resource: str,
    *,
    default_call: str | None = None,
    also: str = "",
    evidence: Iterable[object] = (),
    extra_fix: str = "",
    title: str | None = None,
) -> Finding:
    """The ``unknown`` finding for a check whose document the console's identity may not read."""
    items: list[Exchange | ConfigRead] = []
    for item in (read, *evidence):
        if isinstance(item, Exchange | ConfigRead) and not any(item is kept for kept in items):
            items.append(item)
    fix = grant_fix(read, resource, default_call)
    if extra_fix:
        fix = f"{fix}\n\n{extra_fix}"
    from services.checks.findings import finding  # findings.unreadable builds on this module: import late

    return finding(
        check_id,
        Status.UNKNOWN,
        title or denied_title(read, what, default_call),
        denied_detail(read, resource, default_call, also),
        fix,
        items,
        codes=("read.denied",),
    )
