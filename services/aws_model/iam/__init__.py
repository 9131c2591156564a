"""The IAM policy language, as IAM and S3 read it: parse a document (``document``), decide a request
(``evaluate``, with the condition operators of ``conditions``), and tell which statements make a resource public
(``public``). Pure: no I/O. Import the names from here.

What is modelled, as IAM documents it: `Statement` as one object or a list; Action/NotAction, Resource/NotResource,
Principal/NotPrincipal; explicit Deny beats Allow; same-account union of identity and resource policies, cross-account
intersection; KMS key policies (`evaluate_key_policy`: the key policy grants or delegates to IAM); condition operators of every family with `...IfExists` and `ForAnyValue:`/`ForAllValues:`; condition
keys compared case-insensitively. Not modelled: policy variables (`${aws:username}` is matched literally),
permission boundaries, SCPs/RCPs, session policies, ACLs and Block Public Access (callers apply BPA themselves).
"""

from services.aws_model.iam.document import (
    CLOUDFRONT_SERVICE,
    OAI_PRINCIPAL_PREFIX,
    VERSIONS,
    Condition,
    Policy,
    PolicyError,
    PrincipalSpec,
    Statement,
    parse_policy,
)
from services.aws_model.iam.evaluate import (
    ANONYMOUS,
    Decision,
    Principal,
    Request,
    covers_action,
    evaluate,
    evaluate_key_policy,
)
from services.aws_model.iam.public import grants_public, public_statements
from services.aws_model.wildcard import action_matches, arn_matches, wildcard_match

__all__ = [
    "ANONYMOUS",
    "CLOUDFRONT_SERVICE",
    "OAI_PRINCIPAL_PREFIX",
    "VERSIONS",
    "Condition",
    "Decision",
    "Policy",
    "PolicyError",
    "Principal",
    "PrincipalSpec",
    "Request",
    "Statement",
    "action_matches",
    "arn_matches",
    "covers_action",
    "evaluate",
    "evaluate_key_policy",
    "grants_public",
    "parse_policy",
    "public_statements",
    "wildcard_match",
]
