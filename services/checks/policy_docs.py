"""Policy documents as the checks quote, edit and apply them: decoding what a read returned, quoting one statement,
a document with statements dropped and added, and the bucket-policy fix (text and remedy) built from it. Pure."""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from services.aws_model import iam, partitions, statements
from services.aws_model.iam.document import decode_policy
from services.checks.evidence import Evidence
from services.checks.findings import Fix, dump, finding
from services.checks.model import ConfigRead, Finding, ReadState, Remedy, Status, read_state

POLICY_VERSION = "2012-10-17"


_STATEMENT_KEYS = ("Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource")


def bucket_arn(ev: Evidence) -> str:
    return statements.bucket_arn(ev.target.bucket, partitions.of_region(ev.target.region))


def load_policy(value: Any, *, attached_to: str | None = None) -> tuple[iam.Policy, Mapping[str, Any]]:
    """Parse a policy as a read returns it (JSON text, URL-encoded IAM text, bytes, a mapping, or
    ``{"Policy": text}`` as get_bucket_policy answers); also return the decoded document, to quote and edit its
    statements. Raises only `iam.PolicyError`."""
    doc = decode_policy(value)
    return iam.parse_policy(doc, attached_to=attached_to), doc


def unparsable(check_id: str, what: str, detail: str, evidence: Iterable[object]) -> Finding:
    """`unknown`: the check cannot judge, as ``what`` (e.g. "the bucket policy", "a policy document") does not
    parse; ``detail`` says the parser's complaint. Code ``policy.unparsable``."""
    title = f"Cannot judge: {what} does not parse"
    return finding(check_id, Status.UNKNOWN, title, detail, "", evidence, codes=("policy.unparsable",))


def raw_statements(doc: Mapping[str, Any] | None) -> list[Any]:
    """The document's statements as a list, indexed like `iam.Statement.index`."""
    if doc is None:
        return []
    raw = doc.get("Statement")
    if isinstance(raw, Mapping):
        return [raw]
    return list(raw) if isinstance(raw, list | tuple) else []


def quote_statement(doc: Mapping[str, Any] | None, statement: iam.Statement) -> str:
    """One statement as compact JSON (Sid, Effect, Principal, Action, Resource, Condition), as the policy holds it."""
    raws = raw_statements(doc)
    raw = raws[statement.index] if statement.index < len(raws) else None
    if not isinstance(raw, Mapping):
        return f"statement {statement.label}"
    shown = {key: raw[key] for key in (*_STATEMENT_KEYS, "Condition") if key in raw}
    return dump(shown)


def policy_document(
    doc: Mapping[str, Any] | None, drop: Iterable[int] = (), add: Sequence[Mapping[str, Any]] = ()
) -> dict[str, Any] | None:
    """`doc` with the statements at `drop` removed and `add` appended (Version/Id kept); None when nothing is left."""
    dropped = set(drop)
    statements = [raw for index, raw in enumerate(raw_statements(doc)) if index not in dropped]
    statements += [dict(item) for item in add]
    if not statements:
        return None
    version = doc.get("Version") if doc is not None else None
    result: dict[str, Any] = {"Version": version if isinstance(version, str) else POLICY_VERSION}
    if doc is not None and isinstance(doc.get("Id"), str):
        result["Id"] = doc["Id"]
    result["Statement"] = statements
    return result


def bucket_arg(ev: Evidence) -> str:
    return shlex.quote(str(ev.target.bucket))


def bucket_policy_fix(
    ev: Evidence,
    doc: Mapping[str, Any] | None,
    notes: Sequence[str] = (),
    *,
    change: str | None = None,
    based_on: Mapping[str, Any] | None = None,
) -> Fix:
    """The JSON to save as policy.json and the command applying it (delete-bucket-policy when nothing is left).

    With `change` (what the new document does, in words), the same document as a PutBucketPolicy (or
    DeleteBucketPolicy) remedy, valid while the policy is still `based_on`; without it, text only."""
    bucket = str(ev.target.bucket)
    if doc is None:
        lines = [
            "# no statement is left, so remove the policy:",
            f"aws s3api delete-bucket-policy --bucket {bucket_arg(ev)}",
        ]
        change = f"{change}; no statement is left" if change else None
        remedy = bucket_remedy("DeleteBucketPolicy", bucket, {}, change, based_on) if change else None
        return Fix("\n".join([*lines, *notes]), remedy)
    command = f"aws s3api put-bucket-policy --bucket {bucket_arg(ev)} --policy file://policy.json"
    text = "\n".join([dump(doc, indent=2), "", "# save the JSON above as policy.json, then:", command, *notes])
    remedy = bucket_remedy("PutBucketPolicy", bucket, {"Policy": dump(doc)}, change, based_on) if change else None
    return Fix(text, remedy)


#: the IAM action each bucket write needs (PutBucketCors is authorised by s3:PutBucketCORS)
_BUCKET_WRITES = {
    "PutBucketCors": "s3:PutBucketCORS",
    "PutBucketPolicy": "s3:PutBucketPolicy",
    "DeleteBucketPolicy": "s3:DeleteBucketPolicy",
    "PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
}


def bucket_remedy(operation: str, bucket: str, params: Mapping[str, Any], change: str, based_on: Any) -> Remedy:
    summary = f"{operation} on bucket {bucket}: {change}"
    permission = _BUCKET_WRITES[operation]
    return Remedy("s3", operation, {"Bucket": bucket, **params}, bucket, "bucket", permission, summary, based_on)


def _label(raw: Any, index: int) -> str:
    """A raw statement named as `iam.Statement.label` names it: 'Sid', or #index."""
    sid = raw.get("Sid") if isinstance(raw, Mapping) else None
    return f"'{sid}'" if isinstance(sid, str) and sid else f"#{index}"


def policy_change(doc: Mapping[str, Any] | None, drop: Iterable[int], add: Sequence[Mapping[str, Any]]) -> str:
    """What `policy_document(doc, drop, add)` changes, in words: the statements removed, added and kept."""
    dropped = set(drop)
    raws = raw_statements(doc)
    removed = [_label(raws[i], i) for i in sorted(dropped) if i < len(raws)]
    added = [_label(raw, len(raws) + n) for n, raw in enumerate(add)]
    replaced = [label for label in added if label in removed]  # a statement rewritten under its own Sid
    parts = [f"replaces statement(s) {', '.join(replaced)}"] if replaced else []
    for verb, labels in (("removes", removed), ("adds", added)):
        if [label for label in labels if label not in replaced]:
            parts.append(f"{verb} statement(s) {', '.join(label for label in labels if label not in replaced)}")
    kept = len(raws) - len(dropped & set(range(len(raws))))
    if kept:
        parts.append(f"keeps {kept} other statement(s)")
    return "; ".join(parts) or "no change"


# --- the configured distribution and the grant it needs ----------------------------------------------------


def distribution_config(ev: Evidence) -> Mapping[str, Any] | None:
    """The Distribution dict when cloudfront:GetDistribution was read (a {"Distribution": ...} wrapper is accepted)."""
    read = ev.distribution
    if not isinstance(read, ConfigRead) or read_state(read) is not ReadState.OK:
        return None
    value = read.value
    if isinstance(value, Mapping) and isinstance(value.get("Distribution"), Mapping):
        value = value["Distribution"]
    return value if isinstance(value, Mapping) else None


def source_arns(statement: iam.Statement) -> list[str]:
    return [v for c in statement.conditions if c.key.lower() == "aws:sourcearn" for v in c.values]


def distribution_arn(ev: Evidence, parsed: iam.Policy | None) -> tuple[str | None, str]:
    """The ARN of the configured distribution and where it came from.

    From cloudfront:GetDistribution when read; otherwise from an AWS:SourceArn in the bucket policy naming the same
    distribution id (ids are global, so only the account id is taken from there).
    """
    dist = distribution_config(ev)
    if dist is not None and statements.is_distribution_arn(dist.get("ARN")):
        return str(dist["ARN"]), "from cloudfront:GetDistribution"
    dist_id = ev.target.distribution_id
    if not dist_id or parsed is None:
        return None, ""
    for statement in parsed.statements:
        for value in source_arns(statement):
            if (
                statements.is_distribution_arn(value)
                and value.endswith(f":distribution/{dist_id}")
                and "*" not in value
            ):
                return value, "taken from the bucket policy's AWS:SourceArn (cloudfront:GetDistribution was not read)"
    return None, ""


def _parsed_bucket_policy(ev: Evidence) -> iam.Policy | None:
    read = ev.bucket_policy
    if not isinstance(read, ConfigRead) or read_state(read) is not ReadState.OK:
        return None
    try:
        return load_policy(read.value)[0]
    except iam.PolicyError:
        return None


def best_distribution_arn(ev: Evidence) -> str:
    """The configured distribution's ARN, real whenever the console knows it (GetDistribution, or the bucket
    policy's AWS:SourceArn for the same id); ``<account-id>`` in it only when neither was read."""
    arn, _ = distribution_arn(ev, _parsed_bucket_policy(ev))
    if arn is not None:
        return arn
    dist_id = ev.target.distribution_id or "<distribution-id>"
    return statements.distribution_arn(dist_id, partition=partitions.of_region(ev.target.region))


def cdn_grant(ev: Evidence) -> dict[str, Any]:
    """The bucket policy statement that lets the configured distribution read (Origin Access Control)."""
    return statements.oac_grant(ev.target.bucket, best_distribution_arn(ev))
