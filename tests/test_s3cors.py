"""services/aws_model/s3cors.py: S3's CORS algorithm, as a browser meets it (preflight, actual request) and as the
diagnostics explain and fix it.

Expected answers follow S3's recorded behaviour (LocalStack's AWS-validated snapshots, ceph s3-tests);
see the module docstring for sources.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.aws_model.s3cors import S3_CORS_METHODS, glob_match, parse_request_headers, rule_problems, validate_rules
from services.checks.cors_advice import explain_origin, suggest_rules
from services.sandbox.cors_http import NOT_ALLOWED_MESSAGE, NOT_ENABLED_MESSAGE, VARY, actual_request_headers, preflight

APP = "http://localhost:5173"
SEED_ORIGINS = [APP, "http://localhost:3000", "http://your-service-address.com"]
SEED: list[dict[str, Any]] = [
    {"AllowedHeaders": ["*"], "AllowedMethods": ["PUT"], "AllowedOrigins": SEED_ORIGINS, "ExposeHeaders": []}
]
GET_ANYONE = {"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}
PUT_APP_ETAG = {
    "AllowedHeaders": ["content-type"],
    "AllowedMethods": ["PUT", "POST"],
    "AllowedOrigins": [APP],
    "ExposeHeaders": ["ETag", "x-amz-request-id"],
    "MaxAgeSeconds": 3000,
}
IDS = {"x-amz-request-id": "REQ123", "x-amz-id-2": "HOST456"}


def error_fields(body: bytes) -> dict[str, str]:
    root = ET.fromstring(body)
    assert root.tag == "Error"
    return {child.tag: child.text or "" for child in root}


def cors_only(headers: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if not name.startswith("x-amz-")}


# ---------------------------------------------------------------- the seed's rule


def test_seed_allows_the_app_to_put_with_content_type() -> None:
    answer = preflight(SEED, APP, "PUT", "content-type", request_id="REQ123", host_id="HOST456")
    assert (answer.status, answer.body, answer.matched_rule_index) == (200, b"", 0)
    assert answer.headers == {
        "Access-Control-Allow-Origin": APP,
        "Access-Control-Allow-Methods": "PUT",
        "Access-Control-Allow-Headers": "content-type",
        "Access-Control-Allow-Credentials": "true",
        "Vary": VARY,
        **IDS,
    }  # ExposeHeaders [] and no MaxAgeSeconds: neither header is sent


@pytest.mark.parametrize(
    ("origin", "method", "reason"),
    [
        (
            "http://localhost:8080",
            "PUT",
            "origin http://localhost:8080 matches no AllowedOrigins of any rule (rules: 1)",
        ),
        ("https://localhost:5173", "PUT", "origin https://localhost:5173 matches no AllowedOrigins of any rule"),
        ("http://localhost:5173/", "PUT", "origin http://localhost:5173/ matches no AllowedOrigins of any rule"),
        ("http://LOCALHOST:5173", "PUT", "origin http://LOCALHOST:5173 matches no AllowedOrigins"),
        (APP, "DELETE", "rule #0 allows the origin but not method DELETE"),
        (APP, "GET", "rule #0 allows the origin but not method GET"),
    ],
    ids=["other-port", "https-scheme", "trailing-slash", "upper-case-host", "delete", "get"],
)
def test_seed_refuses(origin: str, method: str, reason: str) -> None:
    answer = preflight(SEED, origin, method, "content-type", request_id="REQ123", host_id="HOST456")
    assert answer.status == 403
    assert answer.matched_rule_index is None
    assert "Access-Control-Allow-Origin" not in answer.headers
    assert answer.reason.startswith(reason)
    assert (
        answer.body
        == (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessForbidden</Code>'
            f"<Message>{NOT_ALLOWED_MESSAGE}</Message><Method>{method}</Method>"
            "<ResourceType>OBJECT</ResourceType><RequestId>REQ123</RequestId><HostId>HOST456</HostId></Error>"
        ).encode()
    )
    assert "evalution" in error_fields(answer.body)["Message"]  # S3's own typo, kept


# ---------------------------------------------------------------- several rules: the first match wins


@pytest.mark.parametrize(
    ("rules", "origin", "method", "headers", "index", "expected"),
    [
        (  # GET from anyone answered by rule 0, with "*" and no credentials
            [GET_ANYONE, PUT_APP_ETAG],
            "http://elsewhere.test",
            "GET",
            None,
            0,
            {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "GET", "Vary": VARY},
        ),
        (  # the app's PUT skips rule 0 (GET only) and is answered by rule 1, with its ExposeHeaders and MaxAge
            [GET_ANYONE, PUT_APP_ETAG],
            APP,
            "PUT",
            "content-type",
            1,
            {
                "Access-Control-Allow-Origin": APP,
                "Access-Control-Allow-Methods": "PUT, POST",
                "Access-Control-Allow-Headers": "content-type",
                "Access-Control-Expose-Headers": "ETag, x-amz-request-id",
                "Access-Control-Max-Age": "3000",
                "Access-Control-Allow-Credentials": "true",
                "Vary": VARY,
            },
        ),
        (  # both rules match the app's GET: rule 0 answers, rule 1's ExposeHeaders are not sent
            [GET_ANYONE, {**PUT_APP_ETAG, "AllowedMethods": ["GET", "PUT"]}],
            APP,
            "GET",
            None,
            0,
            {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "GET", "Vary": VARY},
        ),
        (  # rule 0 allows origin and method but not the header: rule 1 answers
            [
                {"AllowedOrigins": [APP], "AllowedMethods": ["PUT"], "AllowedHeaders": ["x-amz-*"]},
                {"AllowedOrigins": [APP], "AllowedMethods": ["PUT"], "AllowedHeaders": ["*"], "MaxAgeSeconds": 0},
            ],
            APP,
            "PUT",
            "content-type",
            1,
            {
                "Access-Control-Allow-Origin": APP,
                "Access-Control-Allow-Methods": "PUT",
                "Access-Control-Allow-Headers": "content-type",
                "Access-Control-Max-Age": "0",
                "Access-Control-Allow-Credentials": "true",
                "Vary": VARY,
            },
        ),
    ],
    ids=["get-from-anyone", "put-answered-by-rule-1", "earlier-rule-wins-overlap", "header-gap-falls-through"],
)
def test_first_matching_rule_answers(
    rules: list[dict[str, Any]], origin: str, method: str, headers: str | None, index: int, expected: dict[str, str]
) -> None:
    answer = preflight(rules, origin, method, headers)
    assert (answer.status, answer.matched_rule_index) == (200, index)
    assert cors_only(answer.headers) == expected
    assert explain_origin(rules, origin, method, parse_request_headers(headers)).rule_index == index


# ---------------------------------------------------------------- wildcard origins


@pytest.mark.parametrize(
    ("allowed", "origin", "matches"),
    [
        ("http://*.example.com", "http://app.example.com", True),
        ("http://*.example.com", "http://a.b.example.com", True),
        ("http://*.example.com", "https://app.example.com", False),
        ("http://*.example.com", "http://example.com", False),
        ("http://*.example.com", "http://app.example.com.evil.test", False),  # anchored at the end
        ("http://*.example.com", "http://app.example.com/", False),  # S3 refused this trailing slash (recorded)
        ("http://localhost:*", "http://localhost:5173", True),
        ("http://localhost:*", "http://localhost", False),
        ("start*end", "startend", True),  # "*" matches nothing too (ceph s3-tests)
        ("start*end", "0start12end", False),  # anchored at the start
        ("*suffix", "foo.suffix.get", False),
        ("http://app.example.com", "http://app.example.com", True),
        ("http://app.example.com", "http://APP.example.com", False),  # case-sensitive
    ],
)
def test_wildcard_origins(allowed: str, origin: str, matches: bool) -> None:
    rules = [{"AllowedOrigins": [allowed], "AllowedMethods": ["PUT"], "AllowedHeaders": ["*"]}]
    answer = preflight(rules, origin, "PUT", "content-type")
    assert answer.allowed is matches
    if matches:  # a pattern echoes the request's origin, with credentials; only a bare "*" answers "*"
        assert answer.headers["Access-Control-Allow-Origin"] == origin
        assert answer.headers["Access-Control-Allow-Credentials"] == "true"


@pytest.mark.parametrize("origins", [["*"], [APP, "*"], ["*", APP]])
def test_a_rule_listing_star_answers_star_without_credentials(origins: list[str]) -> None:
    rules = [{"AllowedOrigins": origins, "AllowedMethods": ["GET"]}]
    for answer in (preflight(rules, APP, "GET"), preflight(rules, "http://random:1234", "GET")):
        assert answer.headers["Access-Control-Allow-Origin"] == "*"
        assert "Access-Control-Allow-Credentials" not in answer.headers


# ---------------------------------------------------------------- requested headers


@pytest.mark.parametrize(
    ("allowed", "requested", "echo"),
    [
        (["x-amz-*"], "x-amz-meta-owner", "x-amz-meta-owner"),
        (["x-amz-*"], "X-Amz-Date, x-amz-content-sha256", "x-amz-date, x-amz-content-sha256"),
        (["x-amz-*"], "x-amz-", "x-amz-"),
        (["x-amz-*"], "content-type", None),
        (["x-amz-*"], "x-amz-date,content-type", None),  # every requested header must be allowed
        (["Content-Type"], "CONTENT-TYPE", "content-type"),
        (["content-type"], "Content-Type", "content-type"),
        (["*"], "Content-Type,X-Custom", "content-type, x-custom"),
        (["*"], " content-type ,  x-amz-acl ", "content-type, x-amz-acl"),
        # recorded against S3: stored case kept, matched without regard to case, echoed lower-case
        (
            [
                "x-amz-expected-bucket-owner",
                "x-amz-server-side-encryption-customer-algorithm",
                "x-AMZ-server-SIDE-encryption",
            ],
            "x-AMZ-expected-BUCKET-owner, x-amz-server-side-encryption",
            "x-amz-expected-bucket-owner, x-amz-server-side-encryption",
        ),
        ([], "content-type", None),  # a rule without AllowedHeaders allows no requested header
        ([], "", "__absent__"),  # nothing requested: allowed, and no Allow-Headers header
        (["*-type"], "content-type", "content-type"),
        (["*-type"], "content-length", None),
    ],
)
def test_requested_headers(allowed: list[str], requested: str, echo: str | None) -> None:
    rules = [{"AllowedOrigins": [APP], "AllowedMethods": ["PUT"], "AllowedHeaders": allowed}]
    answer = preflight(rules, APP, "PUT", requested)
    if echo is None:
        assert answer.status == 403
        assert answer.reason.startswith("header") and "not in AllowedHeaders of rule #0" in answer.reason
    elif echo == "__absent__":
        assert answer.status == 200 and "Access-Control-Allow-Headers" not in answer.headers
    else:
        assert answer.status == 200 and answer.headers["Access-Control-Allow-Headers"] == echo


def test_header_reason_names_the_refused_header() -> None:
    rules = [{"AllowedOrigins": [APP], "AllowedMethods": ["PUT"], "AllowedHeaders": ["content-type"]}]
    assert preflight(rules, APP, "PUT", "content-type, x-foo").reason == "header x-foo not in AllowedHeaders of rule #0"


# ---------------------------------------------------------------- missing configuration and headers


@pytest.mark.parametrize(
    ("rules", "origin", "method", "status", "code", "message", "extra"),
    [
        (None, APP, "PUT", 403, "AccessForbidden", NOT_ENABLED_MESSAGE, {"Method": "PUT", "ResourceType": "BUCKET"}),
        (None, APP, None, 403, "AccessForbidden", NOT_ENABLED_MESSAGE, {"Method": "OPTIONS", "ResourceType": "BUCKET"}),
        (None, None, "PUT", 400, "BadRequest", "Insufficient information. Origin request header needed.", {}),
        (SEED, None, "PUT", 400, "BadRequest", "Insufficient information. Origin request header needed.", {}),
        (SEED, "", "PUT", 400, "BadRequest", "Insufficient information. Origin request header needed.", {}),
        (SEED, APP, None, 400, "BadRequest", "Invalid Access-Control-Request-Method: null", {}),
        (SEED, APP, "PATCH", 400, "BadRequest", "Invalid Access-Control-Request-Method: PATCH", {}),
    ],
    ids=["no-config", "no-config-no-method", "no-config-no-origin", "no-origin", "empty-origin", "no-method", "patch"],
)
def test_preflight_errors(
    rules: list[dict[str, Any]] | None,
    origin: str | None,
    method: str | None,
    status: int,
    code: str,
    message: str,
    extra: dict[str, str],
) -> None:
    answer = preflight(rules, origin, method, "content-type", request_id="REQ123", host_id="HOST456")
    assert (answer.status, answer.error_code, answer.matched_rule_index) == (status, code, None)
    assert answer.headers == {"Content-Type": "application/xml", **IDS}
    assert error_fields(answer.body) == {
        "Code": code,
        "Message": message,
        **extra,
        "RequestId": "REQ123",
        "HostId": "HOST456",
    }
    assert list(error_fields(answer.body)) == ["Code", "Message", *extra, "RequestId", "HostId"]


def test_refusal_for_a_bucket_url_names_the_bucket() -> None:
    answer = preflight(SEED, "http://localhost:8080", "PUT", resource_type="BUCKET")
    assert error_fields(answer.body)["ResourceType"] == "BUCKET"


def test_error_body_escapes_what_the_request_sent() -> None:
    answer = preflight(SEED, APP, "<PUT&>")
    assert error_fields(answer.body)["Message"] == "Invalid Access-Control-Request-Method: <PUT&>"


# ---------------------------------------------------------------- actual (non-OPTIONS) requests


@pytest.mark.parametrize(
    ("rules", "origin", "method", "acrm", "acrh", "expected"),
    [
        (
            SEED,
            APP,
            "PUT",
            None,
            None,
            {
                "Access-Control-Allow-Origin": APP,
                "Access-Control-Allow-Methods": "PUT",
                "Access-Control-Allow-Credentials": "true",
                "Vary": VARY,
            },
        ),
        (SEED, "http://localhost:8080", "PUT", None, None, {}),
        (SEED, APP, "GET", None, None, {}),  # served anyway; the browser blocks reading it
        (SEED, None, "PUT", None, None, {}),  # no Origin: not a CORS request
        (None, APP, "PUT", None, None, {}),  # no configuration: no CORS headers
        (
            [GET_ANYONE, PUT_APP_ETAG],
            APP,
            "PUT",
            None,
            None,
            {
                "Access-Control-Allow-Origin": APP,
                "Access-Control-Allow-Methods": "PUT, POST",
                "Access-Control-Expose-Headers": "ETag, x-amz-request-id",
                "Access-Control-Max-Age": "3000",
                "Access-Control-Allow-Credentials": "true",
                "Vary": VARY,
            },
        ),
        # recorded S3 quirks: Access-Control-Request-Method / -Headers decide even on a GET
        ([{"AllowedOrigins": [APP], "AllowedMethods": ["GET"]}], APP, "GET", "PUT", None, {}),
        (
            [{"AllowedOrigins": [APP], "AllowedMethods": ["GET"], "AllowedHeaders": ["x-amz-expected-bucket-owner"]}],
            APP,
            "GET",
            None,
            "x-amz-request-payer",
            {},
        ),
    ],
    ids=["seed-put", "other-origin", "method-not-allowed", "no-origin", "no-config", "expose", "acrm", "acrh"],
)
def test_actual_request_headers(
    rules: list[dict[str, Any]] | None,
    origin: str | None,
    method: str,
    acrm: str | None,
    acrh: str | None,
    expected: dict[str, str],
) -> None:
    got = actual_request_headers(
        rules, origin, method, access_control_request_method=acrm, access_control_request_headers=acrh
    )
    assert got == expected


# ---------------------------------------------------------------- explain_origin


@pytest.mark.parametrize(
    ("rules", "origin", "method", "headers", "failed", "reason", "hint"),
    [
        (SEED, "http://localhost:8080", "PUT", ("content-type",), ("origin",), "matches no AllowedOrigins", "port"),
        (SEED, "https://localhost:5173", "PUT", ("content-type",), ("origin",), "matches no AllowedOrigins", "scheme"),
        (SEED, "http://localhost:5173/", "PUT", ("content-type",), ("origin",), "matches no AllowedOrigins", "path"),
        (SEED, "http://Localhost:5173", "PUT", ("content-type",), ("origin",), "matches no", "letter case"),
        (SEED, APP, "DELETE", ("content-type",), ("method",), "rule #0 allows the origin but not method DELETE", None),
        (SEED, "http://localhost:8080", "GET", (), ("origin", "method"), "matches no AllowedOrigins", "port"),
        (
            [{"AllowedOrigins": [APP + "/"], "AllowedMethods": ["PUT"], "AllowedHeaders": ["*"]}],
            APP,
            "PUT",
            ("content-type",),
            ("origin",),
            "matches no AllowedOrigins",
            "trailing slash",
        ),
        (
            [{"AllowedOrigins": ["http://localhost:80"], "AllowedMethods": ["PUT"], "AllowedHeaders": ["*"]}],
            "http://localhost",
            "PUT",
            ("content-type",),
            ("origin",),
            "matches no AllowedOrigins",
            "default port",
        ),
        (
            [{"AllowedOrigins": [APP], "AllowedMethods": ["PUT"]}],
            APP,
            "PUT",
            ("Content-Type",),
            ("header",),
            "header content-type not in AllowedHeaders of rule #0",
            None,
        ),
        (None, APP, "PUT", ("content-type",), ("cors",), "no CORS configuration", None),
        ([], APP, "PUT", ("content-type",), ("cors",), "no rules", None),
        (SEED, APP, "PATCH", ("content-type",), ("method",), "cannot allow method PATCH", None),
    ],
    ids=[
        "port",
        "scheme",
        "origin-trailing-slash",
        "case",
        "method",
        "origin-and-method",
        "rule-trailing-slash",
        "default-port",
        "header",
        "no-config",
        "no-rules",
        "patch",
    ],
)
def test_explain_origin_refusals(
    rules: list[dict[str, Any]] | None,
    origin: str,
    method: str,
    headers: tuple[str, ...],
    failed: tuple[str, ...],
    reason: str,
    hint: str | None,
) -> None:
    verdict = explain_origin(rules, origin, method, headers)
    assert not verdict.allowed and verdict.rule_index is None
    assert verdict.failed == failed
    assert reason in verdict.reason
    if hint is None:
        assert verdict.hints == ()
    else:
        assert any(hint in line for line in verdict.hints), verdict.hints


def test_explain_origin_quotes_each_rule() -> None:
    rules = [GET_ANYONE, {**SEED[0], "ID": "uploads"}]
    verdict = explain_origin(rules, "http://localhost:8080")
    lines = verdict.detail.splitlines()
    # rule #0 matches any origin but allows only GET, and no requested header (it has no AllowedHeaders)
    assert lines[0].startswith("rule #0 refuses method/header:") and 'AllowedMethods ["GET"]' in lines[0]
    assert "content-type not in AllowedHeaders []" in lines[0]
    assert lines[1].startswith('rule #1 (ID "uploads") refuses origin:')
    assert '"http://localhost:5173", "http://localhost:3000"' in lines[1]
    assert verdict.failed == ("origin",)  # rule #1 is closest: only its origin fails
    assert verdict.reason == "rule #0 allows the origin but not method PUT"


def test_explain_origin_allows_like_preflight() -> None:
    verdict = explain_origin(SEED, APP)
    assert (verdict.allowed, verdict.rule_index, verdict.failed) == (True, 0, ())
    assert verdict.headers == ("content-type",)
    assert "MATCHES" in verdict.detail


# ---------------------------------------------------------------- suggest_rules


SUGGEST_CASES = [
    pytest.param(SEED, ["http://localhost:8080"], "PUT", ("content-type",), id="seed-new-port"),
    pytest.param(SEED, [APP, "https://app.example.com"], "PUT", ("content-type",), id="seed-one-already-allowed"),
    pytest.param(None, [APP, "http://localhost:3000"], "PUT", ("content-type",), id="no-config"),
    pytest.param([GET_ANYONE], [APP], "PUT", ("content-type",), id="get-only"),
    pytest.param([GET_ANYONE, PUT_APP_ETAG], ["http://new.test"], "PUT", ("content-type", "x-amz-acl"), id="header"),
    pytest.param(
        [{"AllowedOrigins": [APP], "AllowedMethods": ["PUT"]}], [APP], "PUT", ("content-type",), id="missing-headers"
    ),
    pytest.param(
        [{"AllowedOrigins": [APP + "/"], "AllowedMethods": ["PUT"], "AllowedHeaders": ["*"]}],
        [APP],
        "PUT",
        ("content-type",),
        id="trailing-slash",
    ),
    pytest.param(SEED, ["http://a.test", "http://b.test"], "DELETE", (), id="new-method"),
    pytest.param([], ["http://a.test"], "POST", ("content-type",), id="empty-rules"),
]


@pytest.mark.parametrize(("rules", "origins", "method", "headers"), SUGGEST_CASES)
def test_suggest_rules_allows_every_origin(
    rules: list[dict[str, Any]] | None, origins: list[str], method: str, headers: tuple[str, ...]
) -> None:
    assert not all(explain_origin(rules, origin, method, headers).allowed for origin in origins)  # a fix is needed
    fixed = suggest_rules(rules, origins, method, headers)
    for origin in origins:
        assert explain_origin(fixed, origin, method, headers).allowed, origin
        assert preflight(fixed, origin, method, ",".join(headers)).status == 200
    assert not [problem for problem in rule_problems(fixed) if problem.severity == "error"]
    # whatever a browser was allowed before still is (an entry with a path never matches a browser's Origin)
    for rule in rules or ():
        for origin in (entry for entry in rule["AllowedOrigins"] if "/" not in entry.partition("://")[2]):
            for allowed_method in rule["AllowedMethods"]:
                before = explain_origin(rules, origin, allowed_method, ())
                assert explain_origin(fixed, origin, allowed_method, ()).allowed == before.allowed


def test_suggest_rules_extends_the_seed_rule_in_place() -> None:
    fixed = suggest_rules(SEED, ["http://localhost:8080", APP])
    assert fixed == [{**SEED[0], "AllowedOrigins": [*SEED_ORIGINS, "http://localhost:8080"]}]
    assert SEED[0]["AllowedOrigins"] == SEED_ORIGINS  # the input is not modified


def test_suggest_rules_never_widens_a_rule_for_everyone() -> None:
    fixed = suggest_rules([GET_ANYONE], [APP])
    assert fixed[0] == GET_ANYONE  # adding PUT there would let every origin PUT
    assert fixed[1] == {
        "AllowedHeaders": ["content-type"],
        "AllowedMethods": ["PUT"],
        "AllowedOrigins": [APP],
        "ExposeHeaders": ["ETag"],
    }
    assert not explain_origin(fixed, "http://evil.test").allowed


def test_suggest_rules_replaces_an_entry_with_a_trailing_slash() -> None:
    rules = [{"AllowedOrigins": [APP + "/"], "AllowedMethods": ["PUT"], "AllowedHeaders": ["*"]}]
    assert suggest_rules(rules, [APP])[0]["AllowedOrigins"] == [APP]


def test_suggest_rules_adds_missing_headers_to_the_origins_own_rule() -> None:
    rules = [{"AllowedOrigins": [APP], "AllowedMethods": ["PUT"], "AllowedHeaders": ["x-amz-acl"]}]
    assert suggest_rules(rules, [APP]) == [{**rules[0], "AllowedHeaders": ["x-amz-acl", "content-type"]}]


@pytest.mark.parametrize(("origins", "method"), [([APP], "PATCH"), ([""], "PUT")])
def test_suggest_rules_refuses_what_s3_cannot_express(origins: list[str], method: str) -> None:
    with pytest.raises(ValueError):
        suggest_rules(SEED, origins, method)


# ---------------------------------------------------------------- validate_rules


@pytest.mark.parametrize(
    ("rules", "codes"),
    [
        (SEED, {"expose-etag"}),
        ([PUT_APP_ETAG, GET_ANYONE], set()),
        ([], {"no-rules"}),
        ([GET_ANYONE] * 101, {"too-many-rules"}),
        ([{"AllowedOrigins": [APP], "AllowedMethods": ["put", "PATCH"]}], {"unknown-method"}),
        ([{"AllowedOrigins": [APP]}], {"no-methods"}),
        ([{"AllowedMethods": ["GET"], "AllowedOrigins": []}], {"no-origins"}),
        ([{"AllowedOrigins": ["http://*.*.example.com"], "AllowedMethods": ["GET"]}], {"origin-wildcards"}),
        ([{"AllowedOrigins": [APP + "/"], "AllowedMethods": ["GET"]}], {"origin-path"}),
        ([{"AllowedOrigins": [APP + "/app"], "AllowedMethods": ["GET"]}], {"origin-path"}),
        ([{"AllowedOrigins": ["localhost:5173"], "AllowedMethods": ["GET"]}], {"origin-no-scheme"}),
        ([{"AllowedOrigins": ["*.example.com"], "AllowedMethods": ["GET"]}], set()),
        ([{"AllowedOrigins": ["http://App.test"], "AllowedMethods": ["GET"]}], {"origin-case"}),
        ([{"AllowedOrigins": ["https://app.test:443"], "AllowedMethods": ["GET"]}], {"origin-default-port"}),
        ([{"AllowedOrigins": ["https://app.test:8443"], "AllowedMethods": ["GET"]}], set()),
        ([{"AllowedOrigins": [" " + APP], "AllowedMethods": ["GET"]}], {"origin-whitespace"}),
        ([{"AllowedOrigins": [""], "AllowedMethods": ["GET"]}], {"origin-empty"}),
        ([{**GET_ANYONE, "AllowedHeaders": ["x-*-*"]}], {"header-wildcards"}),
        ([{**GET_ANYONE, "ExposeHeaders": ["*"]}], {"expose-wildcard"}),
        ([{**GET_ANYONE, "ID": "x" * 256}], {"id-too-long"}),
        ([{**GET_ANYONE, "MaxAgeSeconds": -1}], {"max-age-negative"}),
        (None, set()),
    ],
)
def test_validate_rules(rules: list[dict[str, Any]] | None, codes: set[str]) -> None:
    assert {problem.code for problem in rule_problems(rules)} == codes
    assert len(validate_rules(rules)) == len(rule_problems(rules))


def test_validate_rules_lines_say_severity_code_and_rule() -> None:
    lines = validate_rules([{"AllowedOrigins": ["http://*.*.test"], "AllowedMethods": ["PATCH", "PUT"]}])
    assert lines[0].startswith("error unknown-method: rule #0: Found unsupported HTTP method in CORS config.")
    assert (
        'error origin-wildcards: rule #0: AllowedOrigin "http://*.*.test" can not have more than one wildcard.' in lines
    )
    assert any(line.startswith("warning expose-etag: rule #0:") for line in lines)


# ---------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("value", "names"),
    [
        (None, ()),
        ("", ()),
        ("Content-Type", ("content-type",)),
        ("content-type,x-amz-date", ("content-type", "x-amz-date")),
        (" A , ,b ", ("a", "b")),
        (["Content-Type", "X-A,x-b"], ("content-type", "x-a", "x-b")),
    ],
)
def test_parse_request_headers(value: Any, names: tuple[str, ...]) -> None:
    assert parse_request_headers(value) == names


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [("*", "", True), ("a*", "a", True), ("*a*", "bab", True), ("a*b*c", "axxbyyc", True), ("a*b", "ab c", False)],
)
def test_glob_match(pattern: str, text: str, matches: bool) -> None:
    assert glob_match(pattern, text) is matches


# ---------------------------------------------------------------- properties over arbitrary input

texts = st.text(max_size=12)
method_texts = st.one_of(st.sampled_from(S3_CORS_METHODS), texts)
origin_texts = st.one_of(st.sampled_from([APP, "http://a.example.com", "*", "http://*.example.com"]), texts)
rule_strategy = st.fixed_dictionaries(
    {},
    optional={
        "AllowedOrigins": st.lists(origin_texts, max_size=3),
        "AllowedMethods": st.lists(method_texts, max_size=3),
        "AllowedHeaders": st.lists(st.one_of(st.sampled_from(["*", "content-type", "x-amz-*"]), texts), max_size=3),
        "ExposeHeaders": st.lists(texts, max_size=2),
        "MaxAgeSeconds": st.integers(min_value=-10, max_value=10**6),
        "ID": texts,
    },
)
rules_strategy = st.one_of(st.none(), st.lists(rule_strategy, max_size=4))


@settings(max_examples=300, deadline=None)
@given(
    rules=rules_strategy,
    origin=st.one_of(st.none(), origin_texts),
    method=st.one_of(st.none(), method_texts),
    request_headers=st.one_of(st.none(), texts, st.sampled_from(["content-type", "Content-Type, x-amz-acl"])),
)
def test_preflight_and_explain_never_raise_and_agree(
    rules: list[dict[str, Any]] | None, origin: str | None, method: str | None, request_headers: str | None
) -> None:
    answer = preflight(rules, origin, method, request_headers)
    assert answer.status in (200, 400, 403)
    assert isinstance(answer.reason, str) and answer.reason
    if answer.status == 200:
        assert answer.body == b"" and answer.matched_rule_index is not None
    else:
        assert error_fields(answer.body)["Code"] == answer.error_code
    actual_request_headers(rules, origin, method or "GET")
    validate_rules(rules)
    verdict = explain_origin(rules, origin or "", method or "", request_headers or "")
    assert verdict.allowed == answer.allowed
    assert verdict.rule_index == answer.matched_rule_index


@settings(max_examples=200, deadline=None)
@given(
    rules=rules_strategy,
    origins=st.lists(origin_texts.filter(bool), min_size=1, max_size=3),
    method=st.sampled_from(S3_CORS_METHODS),
    headers=st.lists(st.sampled_from(["content-type", "x-amz-acl", "X-Custom"]), max_size=2),
)
def test_suggest_rules_output_always_allows_every_origin(
    rules: list[dict[str, Any]] | None, origins: list[str], method: str, headers: list[str]
) -> None:
    fixed = suggest_rules(rules, origins, method, headers)
    for origin in origins:
        assert explain_origin(fixed, origin, method, headers).allowed
        assert preflight(fixed, origin, method, headers).status == 200
