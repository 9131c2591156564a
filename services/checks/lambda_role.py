"""lambda.role_put: may the presign function's execution role s3:PutObject the bucket's objects?

Presigning succeeds without the permission (signing is local); the browser's PUT then gets 403 AccessDenied. The
judge evaluates, as IAM does, the role's policies (inline and attached managed) together with the bucket policy
(a same-account bucket policy grant counts too; an explicit Deny anywhere wins) for one request: the function's
role session putting ``arn:aws:s3:::<bucket>/<uuid>.png``. Pure: no I/O.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.aws_model import iam, statements
from services.checks.denied import denied_finding, is_denied
from services.checks.evidence import Evidence
from services.checks.findings import Fix, answer, dump, finding, unreadable
from services.checks.model import Check, ConfigRead, Finding, Impact, ReadState, Remedy, Status, read_state
from services.checks.policy_docs import (
    bucket_policy_fix,
    load_policy,
    policy_document,
    quote_statement,
    raw_statements,
    unparsable,
)

CHECK_ID = "lambda.role_put"
POLICY_NAME = "presign-put"
SAMPLE_KEY = "3f1c2e4a-5b6d-4e7f-8a9b-0c1d2e3f4a5b.png"  # the shape of key the function issues: <uuid4>.png
#: the IAM reads of the role's inline and attached policies (the gatherer's calls), which this check needs granted
IAM_READS = (
    "iam:ListRolePolicies",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
)
_ROLE_ARN = re.compile(r"arn:([a-z0-9-]+):iam::(\d{12}):role/(?:[^/\s]+/)*([\w+=,.@-]+)")
_POLICY_ARN = re.compile(r"arn:[a-z0-9-]+:iam::(\d{12}|aws):policy/\S+")


@dataclass(frozen=True)
class _Named:
    """One policy taking part in the decision: a role policy (inline or managed) or the bucket policy."""

    name: str
    raw: Mapping[str, Any]
    parsed: iam.Policy
    kind: str  # "inline", "managed" or "bucket"
    arn: str | None = None  # managed policies: the policy ARN

    @property
    def label(self) -> str:
        return {"inline": f"inline policy {self.name!r}", "managed": f"managed policy {self.arn or self.name}"}.get(
            self.kind, "the bucket policy"
        )


@dataclass(frozen=True)
class _Role:
    arn: str
    name: str
    partition: str
    session: str  # the assumed-role session ARN the function's requests are signed as


def function_role(config: Any, function: str) -> _Role | None:
    role_arn = config.get("Role") if isinstance(config, Mapping) else None
    match = _ROLE_ARN.fullmatch(role_arn) if isinstance(role_arn, str) else None
    if match is None:
        return None
    partition, account, name = match.groups()
    raw_name = config.get("FunctionName") if isinstance(config.get("FunctionName"), str) else function
    session = re.sub(r"[^\w+=,.@-]", "-", raw_name.rsplit(":", 1)[-1])[:64] or "presign"
    return _Role(str(role_arn), name, partition, f"arn:{partition}:sts::{account}:assumed-role/{name}/{session}")


def parsed_role_policies(value: Any, role: _Role) -> tuple[list[_Named], list[str]]:
    """The role's parsed policies, and one line per document that could not be used."""
    if not isinstance(value, list | tuple):
        return [], [f"role policies: expected a list of {{name, document}}, got {type(value).__name__}"]
    named: list[_Named] = []
    errors: list[str] = []
    for index, entry in enumerate(value):
        if not isinstance(entry, Mapping):
            errors.append(f"role policy #{index}: expected an object with name and document")
            continue
        given = entry.get("name")
        name = given if isinstance(given, str) else f"#{index}"
        arn = next((v for v in (entry.get("arn"), name) if isinstance(v, str) and _POLICY_ARN.fullmatch(v)), None)
        try:
            parsed, raw = load_policy(entry.get("document"), attached_to=role.arn)
        except iam.PolicyError as err:
            errors.append(f"role policy {name!r}: PolicyError: {err}")
            continue
        named.append(_Named(name, raw, parsed, "managed" if arn else "inline", arn))
    return named, errors


def _bucket_policy(ev: Evidence) -> tuple[_Named | None, list[str], str]:
    """The bucket policy when it was read, any parse error, and a line saying what was used."""
    read = ev.bucket_policy
    state = read_state(read) if isinstance(read, ConfigRead) else None
    if read is None or state not in (ReadState.OK, ReadState.MISSING):
        why = answer(read) if isinstance(read, ConfigRead) else "not gathered"
        return None, [], f"the bucket policy was not read ({why}): only the role's policies were evaluated"
    if state is ReadState.MISSING:
        return None, [], "the bucket has no bucket policy"
    try:
        parsed, raw = load_policy(read.value)
    except iam.PolicyError as err:
        return None, [f"bucket policy: PolicyError: {err}"], "the bucket policy does not parse"
    if parsed.is_identity_policy:
        return None, ["bucket policy: it has no Principal elements"], "the bucket policy has no principals"
    return _Named("bucket policy", raw, parsed, "bucket"), [], "the bucket policy was evaluated too"


def _request(ev: Evidence, role: _Role) -> iam.Request:
    resource = f"arn:{role.partition}:s3:::{ev.target.bucket}/{SAMPLE_KEY}"
    # Presigned URLs are https; the function's role session is the principal S3 sees on the PUT.
    return iam.Request(iam.Principal.aws(role.session), "s3:PutObject", resource, {"aws:SecureTransport": "true"})


def _evaluate(policies: Sequence[_Named], request: iam.Request) -> iam.Decision | str:
    try:
        return iam.evaluate([p.parsed for p in policies], request)
    except iam.PolicyError as err:
        return f"PolicyError: {err}"


def _allow_fix(ev: Evidence, role: _Role, named: Sequence[_Named]) -> Fix:
    """The inline policy granting the PUT, merged into an existing inline policy of the same name (put-role-policy
    replaces it); the same document as a PutRolePolicy remedy."""
    statement = {
        "Effect": "Allow",
        "Action": "s3:PutObject",
        "Resource": f"arn:{role.partition}:s3:::{ev.target.bucket}/*",
    }
    existing = next((p for p in named if p.kind == "inline" and p.name == POLICY_NAME), None)
    doc = policy_document(existing.raw if existing else None, (), [statement]) or {}
    notes = (
        [f"# merged into the existing inline policy {POLICY_NAME!r}, which put-role-policy replaces"]
        if existing
        else []
    )
    command = (
        f"aws iam put-role-policy --role-name {shlex.quote(role.name)} --policy-name {POLICY_NAME} "
        f"--policy-document {shlex.quote(dump(doc))}"
    )
    how = "replaces" if existing else "creates"
    kept = f", keeping its {len(raw_statements(existing.raw))} statement(s)" if existing else ""
    summary = (
        f"PutRolePolicy on role {role.name}: {how} inline policy {POLICY_NAME!r}{kept}, allowing s3:PutObject on "
        f"{statement['Resource']}"
    )
    params = {"RoleName": role.name, "PolicyName": POLICY_NAME, "PolicyDocument": dump(doc)}
    based_on = dict(existing.raw) if existing else None
    remedy = Remedy("iam", "PutRolePolicy", params, role.name, "role", "iam:PutRolePolicy", summary, based_on)
    return Fix("\n".join([dump(doc, indent=2), "", command, *notes]), remedy)


def _without_deny_fix(ev: Evidence, role: _Role, culprit: _Named, statements: Sequence[iam.Statement]) -> str:
    """The denying policy with its denying statement(s) removed, and the command applying it."""
    doc = policy_document(culprit.raw, {s.index for s in statements})
    labels = ", ".join(s.label for s in statements)
    head = f"# {culprit.label}: remove (or narrow) statement(s) {labels}, which deny the PUT"
    if culprit.kind == "bucket":
        return head + "\n" + bucket_policy_fix(ev, doc).text
    role_arg = shlex.quote(role.name)
    if doc is None:
        command = (
            f"aws iam detach-role-policy --role-name {role_arg} --policy-arn {shlex.quote(culprit.arn or culprit.name)}"
            if culprit.kind == "managed"
            else f"aws iam delete-role-policy --role-name {role_arg} --policy-name {shlex.quote(culprit.name)}"
        )
        return f"{head}\n{command}"
    if culprit.kind == "managed":
        command = (
            f"aws iam create-policy-version --policy-arn {shlex.quote(culprit.arn or culprit.name)} "
            "--policy-document file://policy.json --set-as-default"
        )
        return "\n".join([head, dump(doc, indent=2), "", "# save the JSON above as policy.json, then:", command])
    command = (
        f"aws iam put-role-policy --role-name {role_arg} --policy-name {shlex.quote(culprit.name)} "
        f"--policy-document {shlex.quote(dump(doc))}"
    )
    return "\n".join([head, dump(doc, indent=2), "", command])


def _reparse(named: _Named, drop: set[int]) -> _Named | None:
    """`named` without the statements at `drop`, parsed again; None when nothing (usable) is left."""
    doc = policy_document(named.raw, drop)
    try:
        parsed = iam.parse_policy(doc, attached_to=named.parsed.attached_to) if doc is not None else None
    except iam.PolicyError:
        return None
    return _Named(named.name, doc, parsed, named.kind, named.arn) if doc is not None and parsed is not None else None


def _deny_fix(ev: Evidence, role: _Role, policies: Sequence[_Named], request: iam.Request) -> str:
    parts = []
    remaining: list[_Named] = []
    for named in policies:
        decision = _evaluate([named], request)
        if isinstance(decision, iam.Decision) and decision.explicit_deny:
            denies = [s for s in decision.statements if s.effect == "Deny"]
            parts.append(_without_deny_fix(ev, role, named, denies))
            kept = _reparse(named, {s.index for s in denies})
            remaining += [kept] if kept is not None else []
        else:
            remaining.append(named)
    after = _evaluate(remaining, request)
    if not (isinstance(after, iam.Decision) and after.allowed):
        parts.append(_allow_fix(ev, role, remaining).text)
    return "\n\n".join(parts)


def _examined(policies: Sequence[_Named], bucket_line: str) -> str:
    roles = [p.label for p in policies if p.kind != "bucket"]
    return f"policies examined: {', '.join(roles) if roles else 'none attached to the role'}; {bucket_line}"


def _unread_config(ev: Evidence, function: str) -> Finding | _Role:
    """The function's role, or the finding saying why it is unknown."""
    read = ev.lambda_config
    resource = _function_arn(ev, function)
    problem = unreadable(CHECK_ID, read, "the function's configuration", "lambda:GetFunctionConfiguration", resource)
    if problem is not None or read is None:
        return problem or finding(
            CHECK_ID, Status.UNKNOWN, "Cannot judge: the function was not read", codes=("role.function_not_read",)
        )
    if read_state(read) is ReadState.MISSING:
        detail = (
            f"lambda:GetFunctionConfiguration answered {answer(read)}: check PIPELINE_LAMBDA_FUNCTION ({function!r}) "
            "and the region the console reads."
        )
        return finding(
            CHECK_ID,
            Status.UNKNOWN,
            "Cannot judge: the Lambda function was not found",
            detail,
            "",
            (read,),
            codes=("role.function_not_found",),
        )
    role = function_role(read.value, function)
    if role is None:
        shown = read.value.get("Role") if isinstance(read.value, Mapping) else read.value
        detail = f"lambda:GetFunctionConfiguration returned Role {dump(shown)[:200]}; expected arn:aws:iam::<account>:role/<name>."
        return finding(
            CHECK_ID,
            Status.UNKNOWN,
            "Cannot judge: the function's role ARN is unexpected",
            detail,
            "",
            (read,),
            codes=("role.unexpected_role_arn",),
        )
    return role


def _function_arn(ev: Evidence, function: str) -> str:
    return statements.function_arn(function, ev.target.region)


def judge_role_put(ev: Evidence) -> Finding:
    """lambda.role_put: the execution role may s3:PutObject on <bucket>/<uuid>.png (role and bucket policies)."""
    function = ev.target.lambda_function
    if not function:
        detail = (
            "Set PIPELINE_LAMBDA_FUNCTION to the presign function's name or ARN to have its execution role's "
            "s3:PutObject permission judged."
        )
        return finding(
            CHECK_ID,
            Status.SKIP,
            "Not judged: no Lambda function configured",
            detail,
            codes=("role.no_function_configured",),
        )
    role = _unread_config(ev, str(function))
    if isinstance(role, Finding):
        return role
    read = ev.role_policies
    # the gatherer names the call that was refused (iam:GetRolePolicy, iam:GetPolicyVersion ...) and its resource
    problem = unreadable(CHECK_ID, read, "the role's policies", "iam:ListRolePolicies", role.arn)
    if problem is not None or read is None:
        return problem or finding(
            CHECK_ID,
            Status.UNKNOWN,
            "Cannot judge: the role's policies were not read",
            codes=("role.policies_not_read",),
        )
    return _judge_policies(ev, role, read)


def _judge_policies(ev: Evidence, role: _Role, read: ConfigRead) -> Finding:
    missing_role = read_state(read) is ReadState.MISSING
    named, errors = ([], []) if missing_role else parsed_role_policies(read.value, role)
    bucket, bucket_errors, bucket_line = _bucket_policy(ev)
    policies = [*named, *([bucket] if bucket else [])]
    errors += bucket_errors
    request = _request(ev, role)
    decision = _evaluate(policies, request)
    evidence = (ev.lambda_config, read, ev.bucket_policy)
    head = f"role {role.arn}, s3:PutObject on {request.resource}\n{_examined(policies, bucket_line)}"
    if isinstance(decision, str):
        errors.append(decision)
        decision = iam.Decision(False, "not evaluated")
    if decision.explicit_deny:
        detail = f"{head}\ndecision: {decision.reason}\n" + _quoted(policies, decision.statements)
        title = "An explicit Deny stops the Lambda role's s3:PutObject: presigned PUTs will get 403 AccessDenied"
        return finding(
            CHECK_ID,
            Status.FAIL,
            title,
            detail,
            _deny_fix(ev, role, policies, request),
            evidence,
            codes=("role.explicit_deny",),
        )
    if errors:
        return unparsable(CHECK_ID, "a policy document", f"{head}\n" + "\n".join(errors), evidence)
    if bucket is None and _bucket_policy_unread(ev):
        return _bucket_policy_unknown(ev, head, decision, evidence)
    if decision.allowed:
        detail = f"{head}\ndecision: {decision.reason}\n" + _quoted(policies, decision.statements)
        if bucket is not None and _only_public(decision, bucket):
            detail += (
                "\nThe role may PUT only through a grant to everyone, which bucket.public_write's fix removes; "
                "grant the role itself."
            )
            title = "The Lambda role may PUT only because the bucket is publicly writable"
            return finding(
                CHECK_ID,
                Status.WARN,
                title,
                detail,
                _allow_fix(ev, role, named),
                evidence,
                codes=("role.only_public_grant",),
            )
        return finding(
            CHECK_ID,
            Status.PASS,
            "The Lambda role may s3:PutObject to the bucket",
            detail,
            "",
            evidence,
            codes=("role.may_put",),
        )
    if missing_role:
        head += f"\nthe role's policies could not be listed: {answer(read)} (does the role exist?)"
    detail = f"{head}\ndecision: {decision.reason}. Presigning still works (it is local signing); the PUT is refused."
    title = "The Lambda role may not s3:PutObject to the bucket: presigned PUTs will get 403 AccessDenied"
    return finding(
        CHECK_ID, Status.FAIL, title, detail, _allow_fix(ev, role, named), evidence, codes=("role.no_allow",)
    )


def _bucket_policy_unread(ev: Evidence) -> bool:
    read = ev.bucket_policy
    return not isinstance(read, ConfigRead) or read_state(read) not in (ReadState.OK, ReadState.MISSING)


def _bucket_policy_unknown(ev: Evidence, head: str, decision: iam.Decision, evidence: Sequence[object]) -> Finding:
    """The role's own policies decided nothing final (no explicit Deny) and the bucket policy, which may grant or deny
    the same PUT, was not read: unknown, never a verdict."""
    said = "allow" if decision.allowed else "do not allow"
    also = (
        f"{head}\nThe role's own policies {said} the PUT ({decision.reason}); the bucket policy can grant it too, or "
        "deny it, so the answer is unknown."
    )
    read = ev.bucket_policy
    if is_denied(read):
        return denied_finding(
            CHECK_ID,
            read,
            "the bucket policy",
            f"arn:aws:s3:::{ev.target.bucket}",
            default_call="s3:GetBucketPolicy",
            also=also,
            evidence=evidence,
        )
    why = answer(read) if isinstance(read, ConfigRead) else "not gathered"
    detail = f"The bucket policy was not read ({why}).\n{also}"
    return finding(
        CHECK_ID,
        Status.UNKNOWN,
        "Cannot judge: the bucket policy was not read",
        detail,
        "",
        evidence,
        codes=("role.bucket_policy_not_read",),
    )


def _only_public(decision: iam.Decision, bucket: _Named) -> bool:
    """Whether every statement allowing the PUT is a grant to everyone in the bucket policy."""
    public = iam.grants_public(bucket.parsed, "s3:PutObject")
    return bool(decision.statements) and all(s in public for s in decision.statements)


def _quoted(policies: Sequence[_Named], statements: Sequence[iam.Statement]) -> str:
    lines = []
    for statement in statements:
        owner = next((p for p in policies if statement in p.parsed.statements), None)
        if owner is not None and statement.index < len(raw_statements(owner.raw)):
            lines.append(f"{owner.label} statement {statement.label}: {quote_statement(owner.raw, statement)}")
    return "\n".join(lines)


CHECKS: tuple[Check, ...] = (
    Check(
        CHECK_ID,
        "The Lambda role may PUT objects",
        frozenset({"lambda", "bucket_config"}),
        judge_role_put,
        impact=Impact.UPLOAD,
        description=(
            "the function's role may `s3:PutObject` on `<bucket>/*` (IAM policies + bucket policy, denies "
            "included); needs `PIPELINE_LAMBDA_FUNCTION`"
        ),
        permissions=("lambda:GetFunctionConfiguration", *IAM_READS, "s3:GetBucketPolicy"),
        codes=(
            "role.no_function_configured",
            "role.function_not_read",
            "role.function_not_found",
            "role.unexpected_role_arn",
            "role.policies_not_read",
            "role.bucket_policy_not_read",
            "policy.unparsable",
            "role.explicit_deny",
            "role.no_allow",
            "role.only_public_grant",
            "role.may_put",
        ),
        docs="https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html",
    ),
)
