"""Policy documents as the checks quote, edit and apply them: decoding what a read returned, quoting one statement,
a document with statements dropped and added, and the bucket-policy fix (text and remedy) built from it. Pure."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote

from services.aws_model import iam
from services.checks.evidence import Evidence
from services.checks.findings import Fix, dump
from services.checks.model import Remedy

POLICY_VERSION = "2012-10-17"


_STATEMENT_KEYS = ("Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource")


def bucket_arn(ev: Evidence) -> str:
    return f"arn:aws:s3:::{ev.target.bucket}"


def load_policy(value: Any, *, attached_to: str | None = None) -> tuple[iam.Policy, Mapping[str, Any]]:
    """Parse a policy as a read returns it (JSON text, URL-encoded IAM text, bytes, a mapping, or
    ``{"Policy": text}`` as get_bucket_policy answers); also return the decoded document, to quote and edit its
    statements. Raises only `iam.PolicyError`."""
    doc = _decode_policy(value)
    return iam.parse_policy(doc, attached_to=attached_to), doc


def _decode_policy(value: Any) -> Mapping[str, Any]:
    if isinstance(value, Mapping) and set(value) == {"Policy"}:
        value = value["Policy"]
    if isinstance(value, bytes | bytearray):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError as err:
            raise iam.PolicyError(f"policy bytes are not UTF-8: {err}") from err
    if isinstance(value, str):
        text = value.strip()
        if text[:3].upper() == "%7B":  # IAM's API hands documents URL-encoded
            text = unquote(text)
        try:
            value = json.loads(text)
        except (ValueError, RecursionError) as err:
            raise iam.PolicyError(f"policy is not valid JSON: {err}") from err
    if not isinstance(value, Mapping):
        raise iam.PolicyError(f"a policy must be a JSON object, got {type(value).__name__}")
    return value


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
