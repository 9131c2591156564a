"""services.aws_model.iam (and the CloudFront grant diagnosis, services.checks.cloudfront_grant) over real policy documents: parsing, IAM wildcard matching, evaluation, diagnostics."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

from services.aws_model.iam import (
    ANONYMOUS,
    Policy,
    PolicyError,
    Principal,
    Request,
    action_matches,
    arn_matches,
    evaluate,
    grants_public,
    parse_policy,
    public_statements,
    wildcard_match,
)
from services.checks.cloudfront_grant import NearMissCode, cloudfront_read_grant
from services.sandbox import layout

ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"
BUCKET = "econovation-test-bucket"
OBJECTS = f"arn:aws:s3:::{BUCKET}/*"
KEY_ARN = f"arn:aws:s3:::{BUCKET}/3f1c7a52-0b7e-4c8e-9d0a-2f6b1e9c4d11.png"
DIST = f"arn:aws:cloudfront::{ACCOUNT}:distribution/E2QWRUHAPOMQZL"
OTHER_DIST = f"arn:aws:cloudfront::{ACCOUNT}:distribution/EOTHERDIST0001"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/presign-role"
OTHER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/someone-else"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/presign-role/presign-fn"
OAI = "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E3OAILEGACY123"
CLOUDFRONT = Principal.service("cloudfront.amazonaws.com")

# The seed write-up's bucket policy, verbatim (PIPELINE.md: anyone may read AND write).
SEED_POLICY: dict[str, Any] = {
    "Id": "Policy1718086112979",
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "Stmt1718086111552",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Effect": "Allow",
            "Resource": f"arn:aws:s3:::{BUCKET}/*",
            "Principal": "*",
        }
    ],
}


def oac_policy(source_arn: Any = DIST, **extra: Any) -> dict[str, Any]:
    """The secure shape: CloudFront's service principal may read, only for one distribution (Origin Access Control)."""
    statement = {
        "Sid": "AllowCloudFrontServicePrincipal",
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject",
        "Resource": OBJECTS,
        "Condition": {"StringEquals": {"AWS:SourceArn": source_arn}},
    }
    statement.update(extra)
    return {"Version": "2012-10-17", "Statement": [statement]}


def with_statements(doc: dict[str, Any], *statements: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "Statement": [*doc["Statement"], *statements]}


OAI_POLICY = {
    "Version": "2008-10-17",
    "Id": "PolicyForCloudFrontPrivateContent",
    "Statement": [
        {
            "Sid": "1",
            "Effect": "Allow",
            "Principal": {"AWS": OAI},
            "Action": "s3:GetObject",
            "Resource": OBJECTS,
        }
    ],
}
LIST_BUCKET = {
    "Sid": "AllowCloudFrontList",
    "Effect": "Allow",
    "Principal": {"Service": "cloudfront.amazonaws.com"},
    "Action": "s3:ListBucket",
    "Resource": f"arn:aws:s3:::{BUCKET}",
    "Condition": {"StringEquals": {"AWS:SourceArn": DIST}},
}
DENY_INSECURE = {
    "Sid": "DenyInsecureTransport",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": [f"arn:aws:s3:::{BUCKET}", OBJECTS],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}
ROLE_POLICY = {  # the presign Lambda's execution role: may put objects, nothing else
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": OBJECTS}],
}


def sids(statements: list[Any] | tuple[Any, ...]) -> list[str | None]:
    return [s.sid for s in statements]


# --------------------------------------------------------------------------------------------------------------
# Parsing: every valid shape
# --------------------------------------------------------------------------------------------------------------


def test_the_seed_policy_parses_into_one_public_statement():
    policy = parse_policy(json.dumps(SEED_POLICY))
    (statement,) = policy.statements
    assert (policy.version, policy.id) == ("2012-10-17", "Policy1718086112979")
    assert statement.sid == "Stmt1718086111552" and statement.effect == "Allow"
    assert statement.actions == ("s3:GetObject", "s3:PutObject")
    assert statement.resources == (OBJECTS,)
    assert statement.principal is not None and statement.principal.wildcard


@pytest.mark.parametrize(
    ("statement_element", "expected_count"),
    [
        pytest.param(oac_policy()["Statement"][0], 1, id="Statement as one object"),
        pytest.param(oac_policy()["Statement"], 1, id="Statement as a list of one"),
        pytest.param([oac_policy()["Statement"][0], DENY_INSECURE], 2, id="Statement as a list of two"),
    ],
)
def test_statement_may_be_an_object_or_a_list(statement_element, expected_count):
    policy = parse_policy({"Version": "2012-10-17", "Statement": statement_element})
    assert len(policy.statements) == expected_count
    assert [s.index for s in policy.statements] == list(range(expected_count))


@pytest.mark.parametrize(
    ("element", "value", "field", "expected"),
    [
        ("Action", "s3:GetObject", "actions", ("s3:GetObject",)),
        ("Action", ["s3:GetObject", "s3:PutObject"], "actions", ("s3:GetObject", "s3:PutObject")),
        ("NotAction", "s3:DeleteObject", "not_actions", ("s3:DeleteObject",)),
        ("NotAction", ["s3:Delete*", "s3:PutBucketPolicy"], "not_actions", ("s3:Delete*", "s3:PutBucketPolicy")),
    ],
)
def test_action_and_notaction_take_a_string_or_a_list(element, value, field, expected):
    doc = {"Statement": {"Effect": "Allow", "Principal": "*", element: value, "Resource": OBJECTS}}
    assert getattr(parse_policy(doc).statements[0], field) == expected


@pytest.mark.parametrize(
    ("element", "value", "field", "expected"),
    [
        ("Resource", OBJECTS, "resources", (OBJECTS,)),
        ("Resource", ["arn:aws:s3:::b", "arn:aws:s3:::b/*"], "resources", ("arn:aws:s3:::b", "arn:aws:s3:::b/*")),
        ("NotResource", "arn:aws:s3:::b/private/*", "not_resources", ("arn:aws:s3:::b/private/*",)),
        ("Resource", "*", "resources", ("*",)),
    ],
)
def test_resource_and_notresource_take_a_string_or_a_list(element, value, field, expected):
    doc = {"Statement": {"Effect": "Deny", "Principal": "*", "Action": "s3:*", element: value}}
    assert getattr(parse_policy(doc).statements[0], field) == expected


@pytest.mark.parametrize(
    ("principal", "wildcard", "kind", "values"),
    [
        ("*", True, "AWS", ()),
        ({"AWS": "*"}, True, "AWS", ("*",)),
        ({"AWS": ["*"]}, True, "AWS", ("*",)),
        ({"AWS": ROLE}, False, "AWS", (ROLE,)),
        ({"AWS": [ROLE, ACCOUNT]}, False, "AWS", (ROLE, ACCOUNT)),
        ({"Service": "cloudfront.amazonaws.com"}, False, "Service", ("cloudfront.amazonaws.com",)),
        ({"Service": ["cloudfront.amazonaws.com", "logging.s3.amazonaws.com"]}, False, "Service",
         ("cloudfront.amazonaws.com", "logging.s3.amazonaws.com")),
        ({"CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"}, False,
         "CanonicalUser", ("79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be",)),
        ({"Federated": "cognito-identity.amazonaws.com"}, False, "Federated", ("cognito-identity.amazonaws.com",)),
    ],
)  # fmt: skip
def test_every_principal_shape_parses(principal, wildcard, kind, values):
    doc = {"Statement": {"Effect": "Allow", "Principal": principal, "Action": "s3:GetObject", "Resource": OBJECTS}}
    spec = parse_policy(doc).statements[0].principal
    assert spec is not None
    assert spec.wildcard is wildcard
    assert spec.values(kind) == values


def test_notprincipal_is_kept_apart_from_principal():
    doc = {"Statement": {"Effect": "Deny", "NotPrincipal": {"AWS": [ROLE]}, "Action": "s3:*", "Resource": OBJECTS}}
    statement = parse_policy(doc).statements[0]
    assert statement.principal is None
    assert statement.not_principal is not None and statement.not_principal.aws == (ROLE,)


@pytest.mark.parametrize(
    ("operator", "base", "qualifier", "if_exists"),
    [
        ("StringEquals", "StringEquals", None, False),
        ("StringLikeIfExists", "StringLike", None, True),
        ("ForAnyValue:StringLike", "StringLike", "ForAnyValue", False),
        ("ForAllValues:StringEqualsIgnoreCase", "StringEqualsIgnoreCase", "ForAllValues", False),
        ("ForAllValues:ArnLikeIfExists", "ArnLike", "ForAllValues", True),
        ("stringequals", "StringEquals", None, False),  # operator names match whatever their case
        ("Null", "Null", None, False),
    ],
)
def test_condition_operators_split_into_qualifier_base_and_ifexists(operator, base, qualifier, if_exists):
    doc = oac_policy(Condition={operator: {"aws:SourceArn": "true"}})
    (condition,) = parse_policy(doc).statements[0].conditions
    assert (condition.base, condition.qualifier, condition.if_exists) == (base, qualifier, if_exists)
    assert condition.operator == operator and condition.key == "aws:SourceArn"


def test_condition_values_become_strings_and_lists_stay_lists():
    doc = oac_policy(Condition={"Bool": {"aws:SecureTransport": True}, "NumericLessThan": {"s3:max-keys": [10, 2.5]}})
    conditions = {c.base: c.values for c in parse_policy(doc).statements[0].conditions}
    assert conditions == {"Bool": ("true",), "NumericLessThan": ("10", "2.5")}


def test_an_identity_policy_has_no_principal_and_knows_whom_it_is_attached_to():
    policy = parse_policy(ROLE_POLICY, attached_to=ROLE)
    assert policy.is_identity_policy and policy.attached_to == ROLE
    assert not parse_policy(SEED_POLICY).is_identity_policy


def test_bytes_are_accepted_like_text():
    assert parse_policy(json.dumps(SEED_POLICY).encode()) == parse_policy(SEED_POLICY)


# --------------------------------------------------------------------------------------------------------------
# Parsing: malformed documents raise PolicyError naming what and where
# --------------------------------------------------------------------------------------------------------------


def _stmt(**fields: Any) -> dict[str, Any]:
    base = {"Sid": "Bad", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": OBJECTS}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not _DROP}


_DROP = object()


@pytest.mark.parametrize(
    ("doc", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object, got a list"),
        (42, "must be a JSON object, got a number"),
        (None, "must be a JSON object, got null"),
        ({"Version": "2012-10-17"}, "no Statement"),
        ({"Statement": []}, "empty list"),
        ({"Statement": "Allow everything"}, "Statement must be an object or a list"),
        ({"Statement": [_stmt()], "Extra": 1}, "unknown top-level element(s) 'Extra'"),
        ({"Version": "2020-01-01", "Statement": [_stmt()]}, "Version must be one of"),
        ({"Version": 2012, "Statement": [_stmt()]}, "Version must be a string"),
        ({"Statement": [_stmt(), "oops"]}, "statement #1: must be an object, got a string"),
        ({"Statement": [_stmt(Effect="allow")]}, "statement #0 (Sid 'Bad'): Effect must be \"Allow\" or \"Deny\""),
        ({"Statement": [_stmt(Effect=_DROP)]}, "Effect must be"),
        ({"Statement": [_stmt(Sid=7)]}, "Sid must be a string"),
        ({"Statement": [_stmt(Action=_DROP)]}, "exactly one of Action and NotAction, has neither"),
        ({"Statement": [_stmt(NotAction="s3:Put*")]}, "exactly one of Action and NotAction, has both"),
        ({"Statement": [_stmt(Action=[])]}, "Action must be a string or a non-empty list"),
        ({"Statement": [_stmt(Action=["s3:GetObject", 3])]}, "Action entries must be non-empty strings"),
        ({"Statement": [_stmt(Action="GetObject")]}, "is not \"*\" or \"service:Action\""),
        ({"Statement": [_stmt(Resource=_DROP)]}, "exactly one of Resource and NotResource, has neither"),
        ({"Statement": [_stmt(Resource="econovation-test-bucket/*")]}, "is not \"*\" or an ARN"),
        ({"Statement": [_stmt(Principal="arn:aws:iam::123456789012:root")]}, "Principal must be \"*\" or an object"),
        ({"Statement": [_stmt(Principal={})]}, "Principal must be \"*\" or an object"),
        ({"Statement": [_stmt(Principal={"Users": "bob"})]}, "unknown principal type(s) 'Users'"),
        ({"Statement": [_stmt(Principal={"AWS": "bob"})]}, "is not \"*\", a 12-digit account id or an ARN"),
        ({"Statement": [_stmt(NotPrincipal={"AWS": ROLE})]}, "both Principal and NotPrincipal"),
        ({"Statement": [_stmt(Bogus=1)]}, "unknown element(s) 'Bogus'"),
        ({"Statement": [_stmt(Condition="aws:SecureTransport")]}, "Condition must be an object"),
        ({"Statement": [_stmt(Condition={"StringEqualz": {"a:b": "c"}})]}, "unknown condition operator 'StringEqualz'"),
        ({"Statement": [_stmt(Condition={"StringEquals": "x"})]}, "must map condition keys to values"),
        ({"Statement": [_stmt(Condition={"StringEquals": {"a:b": {"c": 1}}})]}, "values must be strings, numbers"),
        ({"Statement": [_stmt(Condition={"StringEquals": {"a:b": None}})]}, "values must be strings, numbers"),
        ({"Statement": [_stmt(Condition={"NumericLessThan": {"s3:max-keys": "ten"}})]}, "not a valid value"),
        ({"Statement": [_stmt(Condition={"DateGreaterThan": {"aws:CurrentTime": "yesterday"}})]}, "not a valid"),
        ({"Statement": [_stmt(Condition={"IpAddress": {"aws:SourceIp": "10.0.0.300/8"}})]}, "not a valid value"),
        ({"Statement": [_stmt(Condition={"Bool": {"aws:SecureTransport": "yes"}})]}, "not a valid value for Bool"),
        ({"Statement": [_stmt(Condition={"NullIfExists": {"a:b": "true"}})]}, "Null cannot take the IfExists"),
        ({"Statement": [_stmt(), {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}, "statement #1 has no Principal"),
    ],
)  # fmt: skip
def test_malformed_documents_raise_policy_error_saying_what_and_where(doc, fragment):
    with pytest.raises(PolicyError) as caught:
        parse_policy(doc)
    assert fragment in str(caught.value)


HUGE = 10**5000  # too long for int -> str in Python 3.11: must still come out as a PolicyError


@pytest.mark.parametrize(
    ("doc", "fragment"),
    [
        ("[" * 100_000 + "]" * 100_000, "not valid JSON"),  # nested too deep for the decoder
        ('{"Statement": {"Effect": "Allow", "Action": ' + "9" * 5000 + "}}", "not valid JSON"),
        ({"Statement": [_stmt(Condition={"NumericLessThan": {"s3:max-keys": HUGE}})]}, "number too large"),
        ({"Statement": [_stmt(Effect=HUGE)]}, "Effect must be"),
        ({"Statement": [_stmt(Action=["s3:GetObject", HUGE])]}, "Action entries must be non-empty strings"),
        ({"Statement": [_stmt(Resource=[[[[[]]]]] * 10)]}, "Resource entries must be non-empty strings"),
    ],
)
def test_hostile_values_still_give_a_policy_error(doc, fragment):
    with pytest.raises(PolicyError, match=fragment):
        parse_policy(doc)


def test_policy_error_carries_statement_index_and_sid():
    doc = {"Statement": [_stmt(Sid="Fine"), _stmt(Sid="Broken", Action="PutObject")]}
    with pytest.raises(PolicyError) as caught:
        parse_policy(doc)
    assert (caught.value.statement_index, caught.value.sid) == (1, "Broken")
    assert str(caught.value).startswith("statement #1 (Sid 'Broken'):")


def test_attached_to_on_a_bucket_policy_is_refused():
    with pytest.raises(PolicyError, match="has a Principal"):
        parse_policy(SEED_POLICY, attached_to=ROLE)


# --------------------------------------------------------------------------------------------------------------
# Wildcards as IAM matches them
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        ("s3:GetObject", "s3:GetObject", True),
        ("s3:getobject", "s3:GetObject", True),  # actions are case-insensitive
        ("S3:GETOBJECT", "s3:GetObject", True),
        ("s3:*", "s3:PutObject", True),
        ("*", "s3:PutObject", True),
        ("s3:Get*", "s3:GetObject", True),
        ("s3:Get*", "s3:PutObject", False),
        ("s3:*Object", "s3:DeleteObject", True),
        ("s3:?etObject", "s3:GetObject", True),
        ("s3:?etObject", "s3:GGetObject", False),
        ("s3:GetObject", "s3:GetObjectAcl", False),  # no implicit prefix match
        ("iam:*", "s3:GetObject", False),
    ],
)
def test_action_wildcards(pattern, action, expected):
    assert action_matches(pattern, action) is expected


@pytest.mark.parametrize(
    ("pattern", "arn", "expected"),
    [
        (OBJECTS, KEY_ARN, True),
        (OBJECTS, f"arn:aws:s3:::{BUCKET}/nested/dir/key.png", True),  # * spans slashes
        (OBJECTS, f"arn:aws:s3:::{BUCKET}", False),  # the bucket is not one of its objects
        (f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}", True),
        (OBJECTS, f"arn:aws:s3:::{BUCKET.upper()}/k.png", False),  # resources are case-sensitive
        (f"arn:aws:s3:::{BUCKET}/*.PNG", f"arn:aws:s3:::{BUCKET}/k.png", False),
        (f"arn:aws:s3:::{BUCKET}/?.png", f"arn:aws:s3:::{BUCKET}/k.png", True),
        (f"arn:aws:s3:::{BUCKET}/?.png", f"arn:aws:s3:::{BUCKET}/kk.png", False),
        ("arn:aws:s3:::*", KEY_ARN, True),
        ("*", KEY_ARN, True),
        ("arn:aws:s3:::other-bucket/*", KEY_ARN, False),
        ("arn:aws:cloudfront::*:distribution/*", DIST, True),
        ("arn:aws:cloudfront::*:distribution/*", "arn:aws:cloudfront::123:x:distribution/E1", False),  # * stays in its part
        (f"arn:aws:s3:::{BUCKET}/a:b/*", f"arn:aws:s3:::{BUCKET}/a:b/c", True),  # colons in the key are fine
    ],
)  # fmt: skip
def test_arn_wildcards(pattern, arn, expected):
    assert arn_matches(pattern, arn) is expected


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [("", "", True), ("*", "", True), ("?", "", False), ("a*b*c", "aXbYc", True), ("a*b*c", "aXbY", False),
     ("**a", "a", True), ("*a*a*a*a*a*b", "a" * 200, False)],
)  # fmt: skip
def test_wildcard_match_edges(pattern, value, expected):
    assert wildcard_match(pattern, value) is expected


# --------------------------------------------------------------------------------------------------------------
# Evaluation: who may do what
# --------------------------------------------------------------------------------------------------------------

SECURE = parse_policy(oac_policy())
SEED = parse_policy(SEED_POLICY)


def put(principal: Principal, resource: str = KEY_ARN, **context: Any) -> Request:
    return Request(principal, "s3:PutObject", resource, context)


def get(principal: Principal, resource: str = KEY_ARN, **context: Any) -> Request:
    return Request(principal, "s3:GetObject", resource, context)


def src(arn: str) -> dict[str, str]:
    return {"aws:SourceArn": arn}


@pytest.mark.parametrize(
    ("policies", "request_", "allowed", "reason"),
    [
        # The seed: anyone on the internet reads and writes, no presigned URL needed.
        ([SEED], put(ANONYMOUS), True, "allowed by statement 'Stmt1718086111552'"),
        ([SEED], get(ANONYMOUS), True, "allowed by statement 'Stmt1718086111552'"),
        ([SEED], Request(ANONYMOUS, "s3:DeleteObject", KEY_ARN), False, "no statement allows it (implicit deny)"),
        ([SEED], put(ANONYMOUS, "arn:aws:s3:::another-bucket/k.png"), False, "no statement allows it (implicit deny)"),
        ([SEED], Request(ANONYMOUS, "s3:ListBucket", f"arn:aws:s3:::{BUCKET}"), False, "implicit deny"),
        # The secure shape: only this distribution's CloudFront requests read.
        ([SECURE], Request(CLOUDFRONT, "s3:GetObject", KEY_ARN, src(DIST)), True,
         "allowed by statement 'AllowCloudFrontServicePrincipal'"),
        ([SECURE], Request(CLOUDFRONT, "s3:GetObject", KEY_ARN, {"AWS:SOURCEARN": DIST}), True, "allowed"),
        ([SECURE], Request(CLOUDFRONT, "s3:GetObject", KEY_ARN, src(OTHER_DIST)), False, "implicit deny"),
        ([SECURE], Request(CLOUDFRONT, "s3:GetObject", KEY_ARN), False, "implicit deny"),
        ([SECURE], Request(CLOUDFRONT, "s3:PutObject", KEY_ARN, src(DIST)), False, "implicit deny"),
        ([SECURE], get(ANONYMOUS, **src(DIST)), False, "implicit deny"),
        ([SECURE], put(ANONYMOUS), False, "implicit deny"),
        ([SECURE], Request(Principal.service("CloudFront.amazonaws.com"), "s3:GetObject", KEY_ARN, src(DIST)), True,
         "allowed"),
        # Statements without a Sid are named by index.
        ([parse_policy({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:Get*", "Resource": "*"}})],
         get(ANONYMOUS), True, "allowed by statement #0"),
    ],
)  # fmt: skip
def test_evaluate_bucket_policies(policies, request_, allowed, reason):
    decision = evaluate(policies, request_)
    assert decision.allowed is allowed
    assert reason in decision.reason
    assert bool(decision.statements) is allowed


DENY_PUT_UNLESS_SIGNED = {
    "Sid": "DenyAnonymousPut",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:PutObject",
    "Resource": OBJECTS,
    "Condition": {"Null": {"aws:PrincipalArn": "true"}},
}


@pytest.mark.parametrize(
    ("doc", "request_", "reason"),
    [
        (with_statements(SEED_POLICY, DENY_INSECURE), get(ANONYMOUS, **{"aws:SecureTransport": "false"}),
         "explicit deny by statement 'DenyInsecureTransport'"),
        (with_statements(SEED_POLICY, DENY_PUT_UNLESS_SIGNED), put(ANONYMOUS),
         "explicit deny by statement 'DenyAnonymousPut'"),
        (with_statements(SEED_POLICY, {k: v for k, v in DENY_PUT_UNLESS_SIGNED.items() if k != "Sid"}),
         put(ANONYMOUS), "explicit deny by statement #1"),
        (with_statements(oac_policy(), {"Effect": "Deny", "Principal": {"Service": "cloudfront.amazonaws.com"},
                                        "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/private/*"}),
         Request(CLOUDFRONT, "s3:GetObject", f"arn:aws:s3:::{BUCKET}/private/x.png", src(DIST)),
         "explicit deny by statement #1"),
    ],
)  # fmt: skip
def test_an_explicit_deny_beats_any_allow(doc, request_, reason):
    decision = evaluate([parse_policy(doc)], request_)
    assert not decision.allowed and decision.explicit_deny
    assert decision.reason == reason
    assert all(s.effect == "Deny" for s in decision.statements)


@pytest.mark.parametrize(
    ("doc", "request_", "allowed"),
    [
        # The same Deny does not fire when its condition fails: secure transport, or a signed caller.
        (with_statements(SEED_POLICY, DENY_INSECURE), get(ANONYMOUS, **{"aws:SecureTransport": "true"}), True),
        (with_statements(SEED_POLICY, DENY_PUT_UNLESS_SIGNED), put(Principal.aws(ROLE)), True),
        (with_statements(SEED_POLICY, DENY_PUT_UNLESS_SIGNED), get(ANONYMOUS), True),
    ],
)
def test_a_deny_applies_only_where_it_matches(doc, request_, allowed):
    decision = evaluate([parse_policy(doc)], request_)
    assert decision.allowed is allowed and not decision.explicit_deny


NOT_PRINCIPAL_DENY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": OBJECTS},
        {
            "Sid": "OnlyPresignRoleWrites",
            "Effect": "Deny",
            "NotPrincipal": {"AWS": [ROLE, f"arn:aws:iam::{ACCOUNT}:root"]},
            "Action": "s3:PutObject",
            "Resource": OBJECTS,
        },
    ],
}


@pytest.mark.parametrize(
    ("doc", "request_", "allowed", "reason"),
    [
        (NOT_PRINCIPAL_DENY, put(ANONYMOUS), False, "explicit deny by statement 'OnlyPresignRoleWrites'"),
        (NOT_PRINCIPAL_DENY, put(Principal.aws(OTHER_ROLE)), False, "explicit deny"),
        (NOT_PRINCIPAL_DENY, put(CLOUDFRONT), False, "explicit deny"),
        (NOT_PRINCIPAL_DENY, put(Principal.aws(ROLE)), False, "no statement allows it"),  # spared, but not granted
        (NOT_PRINCIPAL_DENY, get(ANONYMOUS), True, "allowed by statement 'PublicRead'"),
        # AWS checks the account as well: naming only the role does not spare it.
        ({"Statement": [NOT_PRINCIPAL_DENY["Statement"][1] | {"NotPrincipal": {"AWS": ROLE}}]},
         put(Principal.aws(ROLE)), False, "explicit deny"),
        # A session of the role needs its own ARN listed too (account, then role, then session).
        (NOT_PRINCIPAL_DENY, put(Principal.aws(SESSION)), False, "explicit deny"),
        ({"Statement": [NOT_PRINCIPAL_DENY["Statement"][1] | {"NotPrincipal": {"AWS": [ROLE, ACCOUNT, SESSION]}}]},
         put(Principal.aws(SESSION)), False, "no statement allows it"),
        # NotPrincipal with Allow grants everyone else, anonymous callers included.
        ({"Statement": {"Effect": "Allow", "NotPrincipal": {"AWS": OTHER_ROLE}, "Action": "s3:GetObject",
                        "Resource": OBJECTS}}, get(ANONYMOUS), True, "allowed by statement #0"),
    ],
)  # fmt: skip
def test_notprincipal(doc, request_, allowed, reason):
    decision = evaluate([parse_policy(doc)], request_)
    assert decision.allowed is allowed
    assert reason in decision.reason


NOT_ACTION = parse_policy(
    {"Statement": {"Sid": "AllButDelete", "Effect": "Allow", "Principal": "*", "NotAction": ["s3:Delete*"],
                   "Resource": OBJECTS}}
)  # fmt: skip
NOT_RESOURCE = parse_policy(
    {"Statement": [
        {"Sid": "Read", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": OBJECTS},
        {"Sid": "OnlyPublicPrefix", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
         "NotResource": f"arn:aws:s3:::{BUCKET}/public/*"},
    ]}
)  # fmt: skip


@pytest.mark.parametrize(
    ("policy", "request_", "allowed"),
    [
        (NOT_ACTION, put(ANONYMOUS), True),
        (NOT_ACTION, get(ANONYMOUS), True),
        (NOT_ACTION, Request(ANONYMOUS, "s3:DeleteObject", KEY_ARN), False),
        (NOT_ACTION, Request(ANONYMOUS, "S3:DELETEOBJECT", KEY_ARN), False),  # NotAction is case-insensitive too
        (NOT_ACTION, Request(ANONYMOUS, "s3:ListBucket", f"arn:aws:s3:::{BUCKET}"), False),  # Resource still applies
        (NOT_RESOURCE, get(ANONYMOUS, f"arn:aws:s3:::{BUCKET}/public/a.png"), True),
        (NOT_RESOURCE, get(ANONYMOUS, f"arn:aws:s3:::{BUCKET}/private/a.png"), False),
    ],
)
def test_notaction_and_notresource(policy, request_, allowed):
    assert evaluate([policy], request_).allowed is allowed


ROLE_IDENTITY = parse_policy(ROLE_POLICY, attached_to=ROLE)
ROLE_DENIES_PUT = parse_policy(
    {"Statement": {"Sid": "NoWrites", "Effect": "Deny", "Action": "s3:Put*", "Resource": "*"}}, attached_to=ROLE
)
ACCOUNT_GRANT = parse_policy(
    {"Statement": {"Sid": "AccountMayPut", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                   "Action": "s3:PutObject", "Resource": OBJECTS}}
)  # fmt: skip
BARE_ACCOUNT_GRANT = parse_policy(
    {"Statement": {"Sid": "AccountMayPut", "Effect": "Allow", "Principal": {"AWS": ACCOUNT},
                   "Action": "s3:PutObject", "Resource": OBJECTS}}
)  # fmt: skip
ROLE_GRANT = parse_policy(
    {"Statement": {"Sid": "RoleMayPut", "Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "s3:PutObject",
                   "Resource": OBJECTS}}
)  # fmt: skip
ACCOUNT_DENY = parse_policy(
    {"Statement": {"Sid": "AccountMayNot", "Effect": "Deny", "Principal": {"AWS": ACCOUNT}, "Action": "s3:*",
                   "Resource": OBJECTS}}
)  # fmt: skip


@pytest.mark.parametrize(
    ("policies", "request_", "allowed", "reason"),
    [
        # Same account: the identity policy alone suffices (the seed's Lambda role needs s3:PutObject).
        ([ROLE_IDENTITY, SECURE], put(Principal.aws(ROLE)), True,
         f"allowed by statement #0 of the identity policy of {ROLE}"),
        ([ROLE_IDENTITY, SECURE], put(Principal.aws(SESSION)), True, "identity policy of"),  # a session of the role
        ([ROLE_IDENTITY, SECURE], put(Principal.aws(OTHER_ROLE)), False, "no statement allows it (implicit deny)"),
        ([ROLE_IDENTITY, SECURE], get(Principal.aws(ROLE)), False, "implicit deny"),
        ([SECURE], put(Principal.aws(ROLE)), False, "implicit deny"),  # presigning works, the PUT then fails
        # ... or the bucket policy alone, when it names the role itself.
        ([ROLE_GRANT], put(Principal.aws(ROLE)), True, "allowed by statement 'RoleMayPut'"),
        ([ROLE_GRANT], put(Principal.aws(SESSION)), True, "allowed by statement 'RoleMayPut'"),
        ([ROLE_GRANT], put(Principal.aws(OTHER_ROLE)), False, "implicit deny"),
        # A grant to the account only delegates: the identity policy must allow too.
        ([ACCOUNT_GRANT], put(Principal.aws(ROLE)), False, f"grants it to account {ACCOUNT} only"),
        ([BARE_ACCOUNT_GRANT], put(Principal.aws(ROLE)), False, f"grants it to account {ACCOUNT} only"),
        ([ACCOUNT_GRANT, ROLE_IDENTITY], put(Principal.aws(ROLE)), True, "allowed"),
        ([ACCOUNT_GRANT], put(Principal.aws(ACCOUNT)), True, "allowed by statement 'AccountMayPut'"),  # the root
        ([ACCOUNT_GRANT], put(Principal.aws(f"arn:aws:iam::{OTHER_ACCOUNT}:role/presign-role")), False, "implicit"),
        # Denies from either side win; a Deny naming the account covers all its roles.
        ([ROLE_DENIES_PUT, ROLE_GRANT], put(Principal.aws(ROLE)), False,
         f"explicit deny by statement 'NoWrites' of the identity policy of {ROLE}"),
        ([ROLE_IDENTITY, ACCOUNT_DENY], put(Principal.aws(ROLE)), False, "explicit deny by statement 'AccountMayNot'"),
        ([ACCOUNT_DENY, SEED], put(ANONYMOUS), True, "allowed"),  # anonymous is no account's principal
    ],
)  # fmt: skip
def test_identity_and_bucket_policies_together_in_one_account(policies, request_, allowed, reason):
    decision = evaluate(policies, request_)
    assert decision.allowed is allowed
    assert reason in decision.reason


@pytest.mark.parametrize(
    ("policies", "allowed", "reason"),
    [
        ([ROLE_GRANT], False, "cross-account: statement 'RoleMayPut' of the resource policy allows it"),
        ([ROLE_IDENTITY], False, "cross-account: an identity policy allows it"),
        ([ROLE_IDENTITY, ROLE_GRANT], True, "allowed by statement 'RoleMayPut'"),
        ([ROLE_IDENTITY, ACCOUNT_GRANT], True, "allowed by statement 'AccountMayPut'"),
    ],
)
def test_cross_account_needs_both_policies(policies, allowed, reason):
    decision = evaluate(policies, Request(Principal.aws(ROLE), "s3:PutObject", KEY_ARN, {}, OTHER_ACCOUNT))
    assert decision.allowed is allowed
    assert reason in decision.reason


def test_principal_context_keys_are_filled_in_from_the_principal():
    only_presign_role = with_statements(
        SEED_POLICY,
        {"Sid": "OnlyPresignRole", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": OBJECTS,
         "Condition": {"ArnNotEquals": {"aws:PrincipalArn": ROLE}}},
    )  # fmt: skip
    policy = parse_policy(only_presign_role)
    assert evaluate([policy], put(Principal.aws(SESSION))).allowed  # aws:PrincipalArn of a session is its role
    assert evaluate([policy], put(Principal.aws(OTHER_ROLE))).explicit_deny
    assert evaluate([policy], put(ANONYMOUS)).explicit_deny  # absent key: a negated operator holds


def test_an_unattached_identity_policy_cannot_be_evaluated():
    with pytest.raises(PolicyError, match="attached_to"):
        evaluate([parse_policy(ROLE_POLICY)], put(Principal.aws(ROLE)))


def test_no_policies_means_implicit_deny():
    decision = evaluate([], put(Principal.aws(ROLE)))
    assert (decision.allowed, decision.explicit_deny, decision.reason) == (
        False,
        False,
        "no statement allows it (implicit deny)",
    )


@pytest.mark.parametrize(
    ("arn", "account"),
    [
        (ROLE, ACCOUNT),
        (SESSION, ACCOUNT),
        (ACCOUNT, ACCOUNT),
        (f"arn:aws:iam::{OTHER_ACCOUNT}:user/bob", OTHER_ACCOUNT),
    ],
)
def test_aws_principals_know_their_account(arn, account):
    assert Principal.aws(arn).account == account


# --------------------------------------------------------------------------------------------------------------
# Conditions: every operator family
# --------------------------------------------------------------------------------------------------------------


def allowed_with(condition: dict[str, Any], context: dict[str, Any]) -> bool:
    doc = {"Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*",
                         "Condition": condition}}  # fmt: skip
    return evaluate([parse_policy(doc)], get(ANONYMOUS, **context)).allowed


VPCE = "vpce-1a2b3c4d"


@pytest.mark.parametrize(
    ("condition", "context", "expected"),
    [
        # String
        ({"StringEquals": {"aws:SourceVpce": VPCE}}, {"aws:SourceVpce": VPCE}, True),
        ({"StringEquals": {"aws:SourceVpce": VPCE}}, {"aws:SourceVpce": VPCE.upper()}, False),
        ({"StringEquals": {"aws:SourceVpce": VPCE}}, {}, False),
        ({"StringEquals": {"aws:SourceVpce": ["vpce-0", VPCE]}}, {"aws:SourceVpce": VPCE}, True),  # OR over values
        ({"StringNotEquals": {"aws:SourceVpce": VPCE}}, {"aws:SourceVpce": "vpce-other"}, True),
        ({"StringNotEquals": {"aws:SourceVpce": VPCE}}, {"aws:SourceVpce": VPCE}, False),
        ({"StringNotEquals": {"aws:SourceVpce": ["vpce-0", VPCE]}}, {"aws:SourceVpce": VPCE}, False),  # NOR
        ({"StringNotEquals": {"aws:SourceVpce": VPCE}}, {}, True),  # absent key: negated operators hold
        ({"StringEqualsIgnoreCase": {"s3:prefix": "Images/"}}, {"s3:prefix": "IMAGES/"}, True),
        ({"StringNotEqualsIgnoreCase": {"s3:prefix": "Images/"}}, {"s3:prefix": "IMAGES/"}, False),
        ({"StringLike": {"s3:prefix": "images/*"}}, {"s3:prefix": "images/2024/a.png"}, True),
        ({"StringLike": {"s3:prefix": "images/*"}}, {"s3:prefix": "Images/a.png"}, False),
        ({"StringNotLike": {"s3:prefix": "private/*"}}, {"s3:prefix": "images/a.png"}, True),
        ({"StringNotLike": {"s3:prefix": "private/*"}}, {"s3:prefix": "private/a.png"}, False),
        # Numeric
        ({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "10"}, True),
        ({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "10"}, False),
        ({"NumericGreaterThan": {"s3:max-keys": 10}}, {"s3:max-keys": "11"}, True),
        ({"NumericGreaterThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "9"}, False),
        ({"NumericEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "10.0"}, True),
        ({"NumericNotEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "10"}, False),
        ({"NumericEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "lots"}, False),
        # Date
        ({"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}, {"aws:CurrentTime": "2026-05-01T12:00:00Z"}, True),
        ({"DateGreaterThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}, {"aws:CurrentTime": "2026-05-01T12:00:00Z"}, False),
        ({"DateEquals": {"aws:EpochTime": "1700000000"}}, {"aws:EpochTime": "2023-11-14T22:13:20+00:00"}, True),
        ({"DateNotEquals": {"aws:CurrentTime": "2030-01-01"}}, {"aws:CurrentTime": "2030-01-01T00:00:00Z"}, False),
        ({"DateGreaterThanEquals": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}, {"aws:CurrentTime": "2030-01-01T00:00:00Z"}, True),
        ({"DateLessThanEquals": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}, {"aws:CurrentTime": "2030-01-01T00:00:01Z"}, False),
        # Bool and binary
        ({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": "true"}, True),
        ({"Bool": {"aws:SecureTransport": True}}, {"aws:SecureTransport": "TRUE"}, True),
        ({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": "false"}, False),
        ({"Bool": {"aws:SecureTransport": "true"}}, {}, False),
        ({"BinaryEquals": {"s3:x-amz-meta-blob": "QmluYXJ5"}}, {"s3:x-amz-meta-blob": "QmluYXJ5"}, True),
        ({"BinaryEquals": {"s3:x-amz-meta-blob": "QmluYXJ5"}}, {"s3:x-amz-meta-blob": "QmluYXJ6"}, False),
        # IP
        ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "203.0.113.7"}, True),
        ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "198.51.100.7"}, False),
        ({"IpAddress": {"aws:SourceIp": ["198.51.100.0/24", "2001:db8::/32"]}}, {"aws:SourceIp": "2001:db8::1"}, True),
        ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "2001:db8::1"}, False),
        ({"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "198.51.100.7"}, True),
        ({"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "203.0.113.7"}, False),
        ({"IpAddress": {"aws:SourceIp": "203.0.113.7"}}, {"aws:SourceIp": "203.0.113.7"}, True),  # a bare address
        # ARN
        ({"ArnEquals": {"aws:SourceArn": DIST}}, src(DIST), True),
        ({"ArnEquals": {"aws:SourceArn": DIST}}, src(OTHER_DIST), False),
        ({"ArnLike": {"aws:SourceArn": f"arn:aws:cloudfront::{ACCOUNT}:distribution/*"}}, src(OTHER_DIST), True),
        ({"ArnLike": {"aws:SourceArn": "arn:aws:cloudfront::*:distribution/E2*"}}, src(DIST), True),
        ({"ArnLike": {"aws:SourceArn": f"arn:aws:cloudfront::{OTHER_ACCOUNT}:distribution/*"}}, src(DIST), False),
        ({"ArnNotEquals": {"aws:SourceArn": DIST}}, src(OTHER_DIST), True),
        ({"ArnNotLike": {"aws:SourceArn": "arn:aws:cloudfront::*:*"}}, src(DIST), False),
        ({"ArnLike": {"aws:SourceArn": DIST}}, {}, False),
        # Null: presence, not value
        ({"Null": {"aws:PrincipalTag/team": "true"}}, {}, True),
        ({"Null": {"aws:PrincipalTag/team": "true"}}, {"aws:PrincipalTag/team": "media"}, False),
        ({"Null": {"aws:PrincipalTag/team": "false"}}, {"aws:PrincipalTag/team": "media"}, True),
        ({"Null": {"aws:PrincipalTag/team": "false"}}, {}, False),
        # ...IfExists: an absent key passes, a present one is tested
        ({"StringEqualsIfExists": {"aws:SourceVpce": VPCE}}, {}, True),
        ({"StringEqualsIfExists": {"aws:SourceVpce": VPCE}}, {"aws:SourceVpce": "vpce-other"}, False),
        ({"StringEqualsIfExists": {"aws:SourceVpce": VPCE}}, {"aws:SourceVpce": VPCE}, True),
        ({"NumericLessThanIfExists": {"s3:max-keys": "10"}}, {"s3:max-keys": "100"}, False),
        ({"ArnLikeIfExists": {"aws:SourceArn": DIST}}, {}, True),
        # Multi-valued keys
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["team", "env"]}}, {"aws:TagKeys": ["owner", "env"]}, True),
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["team", "env"]}}, {"aws:TagKeys": ["owner"]}, False),
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["team", "env"]}}, {}, False),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "env"]}}, {"aws:TagKeys": ["env", "team"]}, True),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "env"]}}, {"aws:TagKeys": ["env", "owner"]}, False),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "env"]}}, {}, True),  # vacuously true
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "env"]}}, {"aws:TagKeys": []}, True),
        ({"ForAllValues:StringLike": {"aws:TagKeys": ["proj-*"]}}, {"aws:TagKeys": ["proj-a", "proj-b"]}, True),
        ({"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["team"]}}, {"aws:TagKeys": ["team", "env"]}, True),
        ({"ForAllValues:StringNotEquals": {"aws:TagKeys": ["team"]}}, {"aws:TagKeys": ["team", "env"]}, False),
        ({"ForAnyValue:StringLikeIfExists": {"aws:TagKeys": ["proj-*"]}}, {}, True),
        # Unqualified operators over a multi-valued key (this module's choice): any value may match a positive
        # operator; a negated one holds only if none of the values match.
        ({"StringEquals": {"aws:TagKeys": "env"}}, {"aws:TagKeys": ["team", "env"]}, True),
        ({"StringNotEquals": {"aws:TagKeys": "env"}}, {"aws:TagKeys": ["team", "env"]}, False),
        # AND across keys and across operators
        ({"StringEquals": {"aws:SourceVpce": VPCE, "aws:SourceAccount": ACCOUNT}},
         {"aws:SourceVpce": VPCE, "aws:SourceAccount": ACCOUNT}, True),
        ({"StringEquals": {"aws:SourceVpce": VPCE, "aws:SourceAccount": ACCOUNT}}, {"aws:SourceVpce": VPCE}, False),
        ({"StringEquals": {"aws:SourceVpce": VPCE}, "Bool": {"aws:SecureTransport": "true"}},
         {"aws:SourceVpce": VPCE, "aws:SecureTransport": "true"}, True),
        ({"StringEquals": {"aws:SourceVpce": VPCE}, "Bool": {"aws:SecureTransport": "true"}},
         {"aws:SourceVpce": VPCE, "aws:SecureTransport": "false"}, False),
        # Keys compare case-insensitively, in the policy and in the request alike
        ({"StringEquals": {"AWS:SourceArn": DIST}}, {"aws:sourcearn": DIST}, True),
        ({"StringEquals": {"aws:sourcearn": DIST}}, {"AWS:SOURCEARN": DIST}, True),
        ({"stringequals": {"aws:SourceArn": DIST}}, src(DIST), True),
    ],
)  # fmt: skip
def test_condition_operators(condition, context, expected):
    assert allowed_with(condition, context) is expected


# --------------------------------------------------------------------------------------------------------------
# Diagnostics: public statements
# --------------------------------------------------------------------------------------------------------------


def public_doc(condition: dict[str, Any] | None = None, *, principal: Any = "*", action: Any = "s3:GetObject",
               not_action: Any = None, effect: str = "Allow") -> dict[str, Any]:  # fmt: skip
    statement: dict[str, Any] = {"Sid": "Candidate", "Effect": effect, "Principal": principal, "Resource": OBJECTS}
    if not_action is not None:
        statement["NotAction"] = not_action
    else:
        statement["Action"] = action
    if condition is not None:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


@pytest.mark.parametrize(
    ("doc", "public"),
    [
        (SEED_POLICY, ["Stmt1718086111552"]),
        (oac_policy(), []),
        (OAI_POLICY, []),
        (public_doc(), ["Candidate"]),
        (public_doc(principal={"AWS": "*"}), ["Candidate"]),
        (public_doc(principal={"AWS": ["*", ROLE]}), ["Candidate"]),
        (public_doc(principal={"AWS": ROLE}), []),
        (public_doc(principal={"AWS": ACCOUNT}), []),
        (public_doc(effect="Deny"), []),
        ({"Statement": [{"Sid": "Candidate", "Effect": "Allow", "NotPrincipal": {"AWS": ROLE}, "Action": "s3:*",
                         "Resource": OBJECTS}]}, ["Candidate"]),
        # Conditions that pin fixed values make it non-public, as S3 judges it ...
        (public_doc({"StringEquals": {"AWS:SourceArn": DIST}}), []),
        (public_doc({"ArnEquals": {"aws:SourceArn": DIST}}), []),
        (public_doc({"StringEquals": {"aws:SourceAccount": ACCOUNT}}), []),
        (public_doc({"StringEquals": {"aws:SourceVpc": "vpc-111bbb22"}}), []),
        (public_doc({"StringEquals": {"aws:SourceVpce": VPCE}}), []),
        (public_doc({"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}), []),
        (public_doc({"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}), []),
        (public_doc({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}), []),
        (public_doc({"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8::/32"]}}), []),
        (public_doc({"ForAnyValue:StringEquals": {"aws:SourceVpce": [VPCE]}}), []),
        # ... and these do not.
        (public_doc({"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}), ["Candidate"]),
        (public_doc({"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "::/0"]}}), ["Candidate"]),
        (public_doc({"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}), ["Candidate"]),
        (public_doc({"StringLike": {"aws:SourceArn": "arn:aws:cloudfront::*:distribution/*"}}), ["Candidate"]),
        (public_doc({"StringNotEquals": {"aws:SourceVpce": VPCE}}), ["Candidate"]),
        (public_doc({"StringEqualsIfExists": {"aws:SourceVpce": VPCE}}), ["Candidate"]),
        (public_doc({"ForAllValues:StringEquals": {"aws:SourceVpce": [VPCE]}}), ["Candidate"]),
        (public_doc({"Bool": {"aws:SecureTransport": "true"}}), ["Candidate"]),
        (public_doc({"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}), ["Candidate"]),
        (public_doc({"StringEquals": {"aws:SourceVpce": "${aws:SourceVpce}"}}), ["Candidate"]),
    ],
)  # fmt: skip
def test_public_statements(doc, public):
    assert sids(public_statements(parse_policy(doc))) == public


@pytest.mark.parametrize(
    ("doc", "action", "expected"),
    [
        (SEED_POLICY, "s3:PutObject", ["Stmt1718086111552"]),
        (SEED_POLICY, "s3:GetObject", ["Stmt1718086111552"]),
        (SEED_POLICY, "s3:DeleteObject", []),
        (oac_policy(), "s3:GetObject", []),
        (public_doc(action="s3:*"), "s3:PutObject", ["Candidate"]),
        (public_doc(action="*"), "s3:PutObject", ["Candidate"]),
        (public_doc(action="S3:PUT*"), "s3:PutObject", ["Candidate"]),
        (public_doc(action="s3:Get*"), "s3:PutObject", []),
        (public_doc(action="s3:Get*"), "s3:GetObject", ["Candidate"]),
        (public_doc(not_action="s3:Put*"), "s3:PutObject", []),
        (public_doc(not_action="s3:Put*"), "s3:GetObject", ["Candidate"]),
        (public_doc(not_action=["s3:DeleteObject"]), "s3:PutObject", ["Candidate"]),
        (public_doc({"StringEquals": {"aws:SourceArn": DIST}}, action="s3:*"), "s3:PutObject", []),
    ],
)
def test_grants_public(doc, action, expected):
    assert sids(grants_public(parse_policy(doc), action)) == expected


# --------------------------------------------------------------------------------------------------------------
# Diagnostics: is this distribution granted read?
# --------------------------------------------------------------------------------------------------------------

CF = {"Service": "cloudfront.amazonaws.com"}


@pytest.mark.parametrize(
    ("doc", "granted", "readable", "codes"),
    [
        pytest.param(oac_policy(), True, True, set(), id="secure OAC"),
        pytest.param(oac_policy(Condition={"ArnLike": {"aws:sourcearn": f"arn:aws:cloudfront::{ACCOUNT}:distribution/*"}}),
                     True, True, set(), id="ArnLike over the account's distributions"),
        pytest.param(oac_policy([OTHER_DIST, DIST]), True, True, set(), id="SourceArn list naming it"),
        pytest.param(oac_policy(Principal={"Service": ["logging.s3.amazonaws.com", "cloudfront.amazonaws.com"]}),
                     True, True, set(), id="service list"),
        pytest.param(oac_policy(Resource=[f"arn:aws:s3:::{BUCKET}", "arn:aws:s3:::*"]), True, True, set(),
                     id="covering resource"),
        pytest.param(oac_policy(Resource=f"arn:aws:s3:::{BUCKET}/?*"), True, True, set(), id="?* covers every key"),
        pytest.param(oac_policy(Action=["s3:Get*"]), True, True, set(), id="s3:Get*"),
        pytest.param(with_statements(oac_policy(), DENY_INSECURE), True, True, set(), id="with a deny-insecure"),
        pytest.param(with_statements(oac_policy(), {"Sid": "OnlyOurDistribution", "Effect": "Deny", "Principal": CF,
                                                    "Action": "s3:*", "Resource": OBJECTS,
                                                    "Condition": {"StringNotEquals": {"aws:SourceArn": DIST}}}),
                     True, True, set(), id="deny other distributions"),
        pytest.param(oac_policy(OTHER_DIST), False, False, {NearMissCode.OTHER_DISTRIBUTION}, id="other distribution"),
        pytest.param(oac_policy(Condition={}), False, True, {NearMissCode.NO_SOURCE_ARN}, id="no SourceArn"),
        pytest.param(oac_policy(Condition={"StringEquals": {"aws:SourceAccount": ACCOUNT}}), False, True,
                     {NearMissCode.NO_SOURCE_ARN}, id="SourceAccount only"),
        pytest.param(oac_policy(Condition={"StringEquals": {"aws:SourceArn": DIST, "aws:SourceAccount": OTHER_ACCOUNT}}),
                     False, False, {NearMissCode.CONDITION_MISMATCH}, id="other condition fails"),
        pytest.param(OAI_POLICY, False, False, {NearMissCode.LEGACY_OAI}, id="legacy OAI"),
        pytest.param(with_statements(OAI_POLICY, oac_policy()["Statement"][0]), True, True,
                     {NearMissCode.LEGACY_OAI}, id="OAI left beside the OAC grant"),
        pytest.param(oac_policy(Resource=f"arn:aws:s3:::{BUCKET}/images/*"), False, False,
                     {NearMissCode.PARTIAL_KEYS}, id="only some keys"),
        pytest.param(oac_policy(NotResource=f"arn:aws:s3:::{BUCKET}/private/*", Resource=None), False, False,
                     {NearMissCode.PARTIAL_KEYS}, id="NotResource excludes keys"),
        pytest.param(oac_policy(Resource=f"arn:aws:s3:::{BUCKET}/?"), False, False, {NearMissCode.PARTIAL_KEYS},
                     id="? is one character"),
        pytest.param(oac_policy(Resource=f"arn:aws:s3:::{BUCKET}"), False, False, {NearMissCode.BUCKET_ARN_ONLY},
                     id="bucket ARN only"),
        pytest.param(oac_policy(Resource="arn:aws:s3:::another-bucket/*"), False, False, {NearMissCode.OTHER_BUCKET},
                     id="another bucket"),
        pytest.param(SEED_POLICY, False, True, {NearMissCode.PUBLIC_READ}, id="seed: public read"),
        pytest.param(with_statements(oac_policy(), {"Sid": "Private", "Effect": "Deny", "Principal": "*",
                                                    "Action": "s3:GetObject",
                                                    "Resource": f"arn:aws:s3:::{BUCKET}/private/*"}),
                     False, False, {NearMissCode.DENIED}, id="deny on some keys"),
        pytest.param(with_statements(oac_policy(), {"Effect": "Deny", "Principal": CF, "Action": "s3:*",
                                                    "NotResource": f"arn:aws:s3:::{BUCKET}/public/*"}),
                     False, False, {NearMissCode.DENIED}, id="deny via NotResource"),
        pytest.param(with_statements(oac_policy(), {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
                                                    "Resource": "arn:aws:s3:::another-bucket/*"}),
                     True, True, set(), id="deny on another bucket"),
        pytest.param(public_doc({"StringEquals": {"aws:SourceVpce": VPCE}}), False, False, set(),
                     id="unrelated VPC-only statement"),
        pytest.param(public_doc({"StringEquals": {"aws:SourceArn": DIST}}), True, True, set(),
                     id="Principal * pinned to this distribution"),
    ],
)  # fmt: skip
def test_cloudfront_read_grant(doc, granted, readable, codes):
    doc = {**doc, "Statement": [{k: v for k, v in s.items() if v is not None} for s in doc["Statement"]]}
    result = cloudfront_read_grant(parse_policy(doc), BUCKET, DIST)
    assert (result.granted, result.readable) == (granted, readable)
    assert result.codes == codes
    assert bool(result.statements) is (granted or NearMissCode.DENIED in codes)  # a Deny overrules, not erases


@pytest.mark.parametrize(
    ("doc", "code", "quoted"),
    [
        (oac_policy(OTHER_DIST), NearMissCode.OTHER_DISTRIBUTION, OTHER_DIST),
        (OAI_POLICY, NearMissCode.LEGACY_OAI, "E3OAILEGACY123"),
        (oac_policy(Resource=f"arn:aws:s3:::{BUCKET}/images/*"), NearMissCode.PARTIAL_KEYS, f"{BUCKET}/images/*"),
        (oac_policy(Resource="arn:aws:s3:::another-bucket/*"), NearMissCode.OTHER_BUCKET, "another-bucket"),
        (oac_policy(Condition={}), NearMissCode.NO_SOURCE_ARN, DIST),
    ],
)
def test_near_miss_details_quote_what_was_found(doc, code, quoted):
    (miss,) = cloudfront_read_grant(parse_policy(doc), BUCKET, DIST).near_misses
    assert miss.code == code and quoted in miss.detail
    assert miss.statement.index == 0


@pytest.mark.parametrize(
    ("doc", "list_bucket", "status"),
    [
        (oac_policy(), False, 403),
        (with_statements(oac_policy(), LIST_BUCKET), True, 404),
        (oac_policy(Action=["s3:GetObject", "s3:ListBucket"], Resource=[f"arn:aws:s3:::{BUCKET}", OBJECTS]), True, 404),
        (with_statements(oac_policy(), LIST_BUCKET | {"Condition": {"StringEquals": {"aws:SourceArn": OTHER_DIST}}}),
         False, 403),
        (with_statements(oac_policy(), LIST_BUCKET | {"Resource": OBJECTS}), False, 403),  # ListBucket is on the bucket
    ],
)  # fmt: skip
def test_list_bucket_turns_missing_keys_into_404(doc, list_bucket, status):
    result = cloudfront_read_grant(parse_policy(doc), BUCKET, DIST)
    assert result.list_bucket is list_bucket
    assert result.missing_key_status == status


def test_cloudfront_read_grant_refuses_an_identity_policy():
    with pytest.raises(PolicyError, match="bucket policy"):
        cloudfront_read_grant(parse_policy(ROLE_POLICY, attached_to=ROLE), BUCKET, DIST)


def test_the_sandbox_secure_policy_grants_exactly_its_distribution():
    policy = parse_policy(layout.secure_bucket_policy())
    ours = cloudfront_read_grant(policy, layout.BUCKET, layout.distribution_arn())
    theirs = cloudfront_read_grant(policy, layout.BUCKET, layout.distribution_arn("EOTHERDIST0001"))
    assert ours.granted and not ours.codes
    assert not theirs.granted and theirs.codes == {NearMissCode.OTHER_DISTRIBUTION}
    assert not public_statements(policy)


# --------------------------------------------------------------------------------------------------------------
# Property: parse_policy returns a Policy or raises PolicyError, never anything else
# --------------------------------------------------------------------------------------------------------------

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
# Near-valid documents reach deep into the parser: statements of the right shape built from real element names,
# operators and values (some of them wrong), then with a few elements overwritten by arbitrary values.
ELEMENT_NAMES = st.sampled_from(
    ["Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"]
)
NEAR_VALUES = st.recursive(
    st.sampled_from(["Allow", "*", "s3:GetObject", OBJECTS, ROLE, ACCOUNT, "AWS", "StringEquals"]) | JSON_SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=15,
)


def one_or_list(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return values | st.lists(values, min_size=1, max_size=3)


ACTIONS = one_or_list(st.sampled_from(["s3:GetObject", "s3:*", "*", "S3:put*", "s3:?etObject"]))
RESOURCES = one_or_list(st.sampled_from([OBJECTS, "*", f"arn:aws:s3:::{BUCKET}", "arn:aws:s3:::*/?"]))
PRINCIPALS = st.sampled_from(
    ["*", {"AWS": "*"}, {"AWS": ROLE}, {"AWS": [ROLE, ACCOUNT]}, {"AWS": OAI}, {"Service": "cloudfront.amazonaws.com"},
     {"CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"}]
)  # fmt: skip
# Each operator with values it accepts, so that conditions parse often enough to be evaluated.
OPERATOR_VALUES = {
    "StringEquals": [DIST, "proj-*"],
    "StringNotLikeIfExists": ["proj-*"],
    "ForAnyValue:StringLike": ["proj-*", "*"],
    "ForAllValues:ArnLike": [DIST, "arn:aws:cloudfront::*:distribution/*"],
    "ArnNotEquals": [DIST],
    "NumericLessThan": ["10", 2],
    "DateGreaterThanEquals": ["2030-01-01T00:00:00Z", "1700000000"],
    "Bool": ["true", False],
    "IpAddress": ["10.0.0.0/8", "::/0"],
    "NotIpAddress": ["203.0.113.7"],
    "Null": ["true", "false"],
}
CONDITION_KEYS = st.sampled_from(["aws:SourceArn", "AWS:SourceIp", "aws:SecureTransport", "s3:max-keys", "aws:TagKeys"])
CONDITIONS = st.one_of(
    [st.fixed_dictionaries({op: st.dictionaries(CONDITION_KEYS, one_or_list(st.sampled_from(v)), min_size=1, max_size=2)})
     for op, v in OPERATOR_VALUES.items()]
)  # fmt: skip


@st.composite
def shaped_statements(draw: st.DrawFn) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": draw(st.sampled_from(["Allow", "Deny"]))}
    statement[draw(st.sampled_from(["Action", "NotAction"]))] = draw(ACTIONS)
    statement[draw(st.sampled_from(["Resource", "NotResource"]))] = draw(RESOURCES)
    statement[draw(st.sampled_from(["Principal", "Principal", "NotPrincipal"]))] = draw(PRINCIPALS)
    if draw(st.booleans()):
        statement["Condition"] = draw(CONDITIONS)
    if draw(st.integers(0, 3)) == 0:  # now and then, break one element with an arbitrary value
        statement.update(
            draw(st.dictionaries(ELEMENT_NAMES | st.text(max_size=5), NEAR_VALUES, min_size=1, max_size=1))
        )
    return statement


STATEMENTS = shaped_statements() | st.dictionaries(ELEMENT_NAMES, NEAR_VALUES, max_size=9)
DOCUMENTS = st.fixed_dictionaries(
    {"Statement": st.one_of(STATEMENTS, st.lists(STATEMENTS, max_size=3), NEAR_VALUES)},
    optional={"Version": st.sampled_from(["2012-10-17", "2008-10-17", "2020-01-01"]), "Id": NEAR_VALUES},
)


def _parses_or_policy_error(doc: Any) -> Policy | None:
    try:
        return parse_policy(doc)
    except PolicyError:
        return None


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_arbitrary_json_values_give_a_policy_or_a_policy_error(value):
    assert isinstance(_parses_or_policy_error(value), Policy | None)
    assert isinstance(_parses_or_policy_error(json.dumps(value)), Policy | None)


@settings(max_examples=500, deadline=None)
@given(DOCUMENTS)
def test_near_valid_documents_give_a_policy_or_a_policy_error(doc):
    policy = _parses_or_policy_error(doc)
    if policy is not None and not policy.is_identity_policy:
        # Whatever parses can be evaluated and diagnosed without blowing up either.
        evaluate([policy], Request(CLOUDFRONT, "s3:GetObject", KEY_ARN, src(DIST)))
        cloudfront_read_grant(policy, BUCKET, DIST)
        public_statements(policy)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_text_gives_a_policy_or_a_policy_error(text):
    assert isinstance(_parses_or_policy_error(text), Policy | None)


@pytest.mark.parametrize(
    "wanted",
    [
        pytest.param(lambda p: True, id="any policy"),
        pytest.param(lambda p: any(s.conditions for s in p.statements), id="a policy with conditions"),
        pytest.param(lambda p: any(s.not_principal for s in p.statements), id="a policy with NotPrincipal"),
    ],
)
def test_the_near_valid_strategy_does_reach_valid_policies(wanted):
    """Guards the property test above against a strategy that only ever produces documents the parser refuses."""
    found = find(
        DOCUMENTS,
        lambda doc: (policy := _parses_or_policy_error(doc)) is not None and wanted(policy),
        settings=settings(max_examples=500, database=None, phases=[Phase.generate]),
    )
    assert isinstance(parse_policy(found), Policy)


def test_one_matcher_for_iam_and_cors_wildcards():
    # a `*` in the pattern is a wildcard even facing a literal `*` in the value (the matcher once took it literally)
    assert wildcard_match("*", "*x")
    assert wildcard_match("arn:aws:s3:::b/*", "arn:aws:s3:::b/*photo.png")
    assert wildcard_match("a?c", "abc")  # IAM: `?` is one character
    # S3 CORS has no single-character wildcard: `?` is literal there (services/aws_model/s3cors.glob_match)
    from services.aws_model.s3cors import glob_match

    assert glob_match("http://a?c.example", "http://a?c.example")
    assert not glob_match("http://a?c.example", "http://abc.example")
    assert glob_match("http://*.example", "http://*.example")
