"""S3 object ACLs: which buckets have them, and how a copy keeps an object's grants. Pure: no I/O.

With Object Ownership ``BucketOwnerEnforced`` (S3's default for new buckets since April 2023) ACLs are disabled:
every object is the bucket owner's and a copy has nothing to keep. Otherwise (``ObjectWriter``,
``BucketOwnerPreferred``, or no ownership controls at all: a bucket from before the controls) each object has its
own ACL, and CopyObject does not copy it: "the ACL is not preserved and is set to private for the user making the
request" unless the request grants one (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html).
CopyObject takes no AccessControlPolicy document, only the ``x-amz-grant-*`` headers, each a comma-separated list
of ``id="canonical user"``, ``uri="group URI"`` or ``emailAddress="..."``
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#setting-acls).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Object Ownership with ACLs disabled
BUCKET_OWNER_ENFORCED = "BucketOwnerEnforced"

#: an object's ACL permission -> the CopyObject / PutObject parameter that grants it (WRITE exists on buckets only)
GRANT_PARAMS = {
    "FULL_CONTROL": "GrantFullControl",
    "READ": "GrantRead",
    "READ_ACP": "GrantReadACP",
    "WRITE_ACP": "GrantWriteACP",
}

#: a grantee's type -> how a grant header names it
_GRANTEE_FIELDS = {
    "CanonicalUser": ("id", "ID"),
    "Group": ("uri", "URI"),
    "AmazonCustomerByEmail": ("emailAddress", "EmailAddress"),
}


class UncopyableGrant(ValueError):
    """An ACL grant that the x-amz-grant-* headers cannot express."""


def acls_apply(object_ownership: str | None) -> bool:
    """Whether the bucket's objects carry ACLs of their own (None: no ownership controls set, so they do)."""
    return object_ownership != BUCKET_OWNER_ENFORCED


def grant_params(acl: Mapping[str, Any]) -> dict[str, str]:
    """The Grant* parameters that give a copy the grants of ``acl`` (a GetObjectAcl reply). Raises UncopyableGrant
    for a grant they cannot express (an unknown grantee type or permission)."""
    grantees: dict[str, list[str]] = {}
    for grant in acl.get("Grants") or ():
        permission = str(grant.get("Permission", ""))
        grantee = grant.get("Grantee") or {}
        kind = str(grantee.get("Type", ""))
        if permission not in GRANT_PARAMS or kind not in _GRANTEE_FIELDS:
            raise UncopyableGrant(f"a {permission or 'permissionless'} grant to a {kind or 'typeless'} grantee")
        header_field, reply_field = _GRANTEE_FIELDS[kind]
        value = str(grantee.get(reply_field) or "")
        if not value:
            raise UncopyableGrant(f"a {permission} grant to a {kind} without its {reply_field}")
        named = f'{header_field}="{value}"'
        listed = grantees.setdefault(GRANT_PARAMS[permission], [])
        if named not in listed:
            listed.append(named)
    return {param: ", ".join(names) for param, names in grantees.items()}
