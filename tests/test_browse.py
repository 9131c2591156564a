"""services/pipeline/browse.py: pure pieces table-driven; listing, detail, writes and errors over the real sandbox (HTTP)."""

from __future__ import annotations

import ast
import dataclasses
import json
import tracemalloc
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from services.core import writes
from services.core.clients import make_client
from services.core.errors import ConfigError
from services.core.settings import Settings
from services.pipeline import browse
from services.pipeline.upload import cdn_object_url
from services.sandbox import Sandbox, layout
from tests.browse_data import ODD_KEYS, ODD_NON_IMAGE, SCALE_PREFIX
from tests.conftest import PROJECT_ROOT
from tests.support import cli, closed_port, image_bytes


def count_calls(client: Any, operation: str) -> list[dict[str, Any]]:
    """Every request the client sends for ``operation`` (botocore's before-call event: one per API call)."""
    calls: list[dict[str, Any]] = []
    client.meta.events.register(f"before-call.{client.meta.service_model.endpoint_prefix}.{operation}",
                                lambda params, **_: calls.append(params))  # fmt: skip
    return calls


def keys_of(entries: Iterable[browse.ObjectEntry]) -> list[str]:
    return [entry.key for entry in entries]


def with_aws(settings: Settings, **changes: Any) -> Settings:
    return dataclasses.replace(settings, aws=dataclasses.replace(settings.aws, **changes))


@pytest.fixture
def s3_client(sandbox: Sandbox) -> Any:
    """A fresh client per test, so event hooks count this test's calls only."""
    return make_client("s3", sandbox.aws_target())


@pytest.fixture
def writable(sandbox_settings: Settings) -> Settings:
    return dataclasses.replace(sandbox_settings, allow_writes=True)


# --- pure -------------------------------------------------------------------------------------------


def _entry(key: str, size: int = 100, minute: int = 0) -> browse.ObjectEntry:
    when = datetime(2024, 5, 1, 12, 0, tzinfo=UTC) + timedelta(minutes=minute)
    return browse.ObjectEntry(key, size, when, "etag", cdn_object_url("https://cdn.example", key))


@pytest.mark.parametrize(
    ("key", "size", "guessed", "placeholder"),
    [
        ("a.png", 10, "image/png", None),
        ("dir/B.JPEG", 10, "image/jpeg", None),
        ("x.webp", 10, "image/webp", None),
        ("notes.txt", 10, "text/plain", "not an image (text/plain)"),
        ("no-extension", 10, None, "not an image (unknown type)"),
        ("folder/", 0, None, "folder marker"),
        ("empty.png", 0, "image/png", "empty object"),
        (
            "huge.gif",
            browse.MAX_THUMBNAIL_BYTES + 1,
            "image/gif",
            "10.5 MB: too large for a thumbnail",
        ),  # decimal units
    ],
)
def test_type_is_guessed_from_the_extension_and_non_images_get_a_placeholder(key, size, guessed, placeholder):
    entry = _entry(key, size)
    assert entry.guessed_type == guessed
    assert entry.placeholder == placeholder
    assert entry.to_json()["type"] == guessed and entry.to_json()["type_source"] == "extension"


def test_the_cursor_keeps_a_stack_of_tokens_and_counts_what_was_seen():
    def page(n: int, next_token: str | None) -> browse.ListingPage:
        return browse.ListingPage("b", "", 2, None, tuple(_entry(f"k{i}") for i in range(n)), next_token)

    cursor = browse.Cursor(page_size=2).saw(page(2, "t1"))
    assert (cursor.token, cursor.page_number, cursor.first_index, cursor.seen) == (None, 1, 1, 2)
    assert browse.position_text(cursor, page(2, "t1")) == "Page 1 · keys 1–2 · 2 seen so far · more after this page"
    cursor = cursor.forward("t1").saw(page(2, "t2")).forward("t2").saw(page(1, None))
    assert (cursor.tokens, cursor.page_number, cursor.first_index, cursor.seen) == (("t1", "t2"), 3, 5, 5)
    assert browse.position_text(cursor, page(1, None)) == "Page 3 · keys 5–5 · 5 seen so far · end of the listing"
    cursor = cursor.back().saw(page(2, "t2"))
    assert (cursor.token, cursor.page_number, cursor.seen) == ("t1", 2, 5)  # going back forgets nothing seen
    assert cursor.back().back().token is None
    assert cursor.matches("", 2) and not cursor.matches("x/", 2) and not cursor.matches("", 48)


def test_newest_first_sorts_the_page_in_hand_only():
    entries = [
        _entry("a.png", minute=1),
        _entry("b.png", minute=3),
        _entry("c.png", minute=2),
        _entry("d.png", minute=3),
    ]
    assert keys_of(browse.ordered(entries, newest_first=False)) == ["a.png", "b.png", "c.png", "d.png"]
    assert keys_of(browse.ordered(entries, newest_first=True)) == ["b.png", "d.png", "c.png", "a.png"]
    assert "this page only" in browse.NEWEST_FIRST_NOTE


@pytest.mark.parametrize(
    ("text", "code"),
    [("plain.png", "`plain.png`"), ("a`b.png", "``a`b.png``"), ("`x`", "`` `x` ``"), ("line\nbreak", "`line\\nbreak`")],
)
def test_keys_are_shown_as_inline_code_whatever_they_contain(text, code):
    assert browse.inline_code(text) == code


def test_invalidation_path_is_the_cdn_url_path_with_the_same_encoding():
    for key in [*ODD_KEYS, "plain/uuid.png"]:
        url = cdn_object_url("https://d111.cloudfront.net", key)
        assert "https://d111.cloudfront.net" + browse.invalidation_path(key) == url
    assert browse.invalidation_path("a b+c.png") == "/a%20b%2Bc.png"


def test_the_service_never_imports_streamlit():
    tree = ast.parse((PROJECT_ROOT / "services" / "pipeline" / "browse.py").read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported and not any(name.split(".")[0] == "streamlit" for name in imported)


# --- scale: one call per page, never a walk ---------------------------------------------------------


def test_the_first_page_is_exactly_one_list_call_of_the_page_size(scale_keys, sandbox_settings, s3_client):
    calls = count_calls(s3_client, "ListObjectsV2")
    page = browse.list_page(s3_client, sandbox_settings, prefix=SCALE_PREFIX, page_size=48)
    assert len(calls) == 1
    assert calls[0]["query_string"]["max-keys"] == 48 and calls[0]["query_string"]["prefix"] == SCALE_PREFIX
    assert keys_of(page.entries) == scale_keys[:48]
    assert page.next_token and page.token is None
    assert [e.cdn_url for e in page.entries] == [f"{sandbox_settings.cdn_url}/{key}" for key in scale_keys[:48]]


def test_paging_forward_and_back_costs_one_call_each_and_returns_the_right_keys(
    scale_keys, sandbox_settings, s3_client
):
    calls = count_calls(s3_client, "ListObjectsV2")
    cursor = browse.Cursor(prefix=SCALE_PREFIX, page_size=96)

    def show(cursor: browse.Cursor) -> tuple[browse.Cursor, browse.ListingPage]:
        page = browse.list_page(s3_client, sandbox_settings, prefix=SCALE_PREFIX, page_size=96, token=cursor.token)
        return cursor.saw(page), page

    cursor, page = show(cursor)
    for number in (2, 3, 4):
        cursor, page = show(cursor.forward(page.next_token))
        assert keys_of(page.entries) == scale_keys[(number - 1) * 96 : number * 96]
    assert cursor.seen == 4 * 96 and cursor.first_index == 3 * 96 + 1
    cursor, page = show(cursor.back())
    assert keys_of(page.entries) == scale_keys[2 * 96 : 3 * 96] and cursor.page_number == 3
    cursor, page = show(cursor.back())
    assert keys_of(page.entries) == scale_keys[96 : 2 * 96]
    cursor, page = show(cursor.back())
    assert keys_of(page.entries) == scale_keys[:96] and cursor.page_number == 1 and not cursor.tokens
    assert len(calls) == 7  # 1 + 3 forward + 3 back, whatever the bucket holds
    assert all(call["query_string"]["max-keys"] == 96 for call in calls)
    assert cursor.seen == 4 * 96 and "384 seen so far" in browse.position_text(cursor, page)


def test_the_last_page_ends_the_listing(odd_objects, sandbox_settings, s3_client):
    cursor, page, sizes = browse.Cursor(prefix="browse-odd/", page_size=2), None, []
    while page is None or page.next_token:
        if page is not None:
            cursor = cursor.forward(page.next_token)
        page = browse.list_page(s3_client, sandbox_settings, prefix="browse-odd/", page_size=2, token=cursor.token)
        cursor = cursor.saw(page)
        sizes.append(len(page.entries))
    assert sizes == [2, 2, 1] and cursor.seen == 5
    assert browse.position_text(cursor, page) == "Page 3 · keys 5–5 · 5 seen so far · end of the listing"


def test_memory_stays_flat_while_walking_every_page(scale_keys, sandbox_settings, s3_client):
    """Only the cursor survives a page: what is held after 40 pages is what was held after 10, plus tokens."""
    cursor = browse.Cursor(prefix=SCALE_PREFIX, page_size=24)
    tracemalloc.start()
    try:
        held = {}
        for number in range(1, 41):
            page = browse.list_page(s3_client, sandbox_settings, prefix=SCALE_PREFIX, page_size=24, token=cursor.token)
            cursor = cursor.saw(page).forward(page.next_token)
            del page
            if number in (10, 40):
                held[number] = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert cursor.seen == 40 * 24 and len(cursor.tokens) == 40
    assert held[40] - held[10] < 100_000, held  # 30 more pages of entries kept would be over 1 MB


def test_cli_listing_asks_for_at_most_1000_keys_per_call_and_stops_at_the_limit(
    scale_keys, sandbox_settings, s3_client
):
    calls = count_calls(s3_client, "ListObjectsV2")
    pages = list(browse.iter_pages(s3_client, sandbox_settings, prefix=SCALE_PREFIX, limit=1500))
    assert [call["query_string"]["max-keys"] for call in calls] == [1000, 500]
    assert [key for page in pages for key in keys_of(page.entries)] == scale_keys[:1500]
    lines = list(browse.format_listing(pages))
    assert len(lines) == 1501 and lines[-1].startswith("-- 1,500 object(s) under prefix 'browse-scale/' in key order")
    assert "more after these" in lines[-1]
    first = lines[0].split()
    assert first[2:] == ["image/png", scale_keys[0], f"{sandbox_settings.cdn_url}/{scale_keys[0]}"]
    assert datetime.strptime(first[0], "%Y-%m-%dT%H:%M:%SZ") and first[1].replace(",", "").isdigit()


# --- keys that need encoding ---------------------------------------------------------------------------


def test_keys_with_spaces_unicode_and_plus_get_cdn_urls_that_load(odd_objects, sandbox_settings, s3_client):
    page = browse.list_page(s3_client, sandbox_settings, prefix="browse-odd/", page_size=24)
    by_key = {entry.key: entry for entry in page.entries}
    assert set(by_key) == {*ODD_KEYS, ODD_NON_IMAGE}
    assert by_key["browse-odd/a photo + more.png"].cdn_url.endswith("/browse-odd/a%20photo%20%2B%20more.png")
    assert by_key["browse-odd/사진 ü.png"].cdn_url.endswith("/browse-odd/%EC%82%AC%EC%A7%84%20%C3%BC.png")
    for key, body in odd_objects.items():
        reply = requests.get(by_key[key].cdn_url, timeout=10)
        assert reply.status_code == 200, (key, reply.status_code, reply.headers.get("X-Cache"))
        assert reply.content == body, key  # this object, not another one a wrong decoding would name
    assert by_key[ODD_NON_IMAGE].placeholder == "not an image (text/plain)"
    lines = list(browse.listing_json([page]))
    assert {json.loads(line)["key"] for line in lines} == set(by_key)


# --- the detail view ---------------------------------------------------------------------------------------


def test_detail_shows_s3_metadata_cdn_headers_and_that_anonymous_s3_is_denied(
    sandbox, sandbox_settings, s3_client, admin_s3
):
    key = f"browse-detail/{uuid.uuid4()}.png"
    admin_s3.put_object(
        Bucket=sandbox.endpoints.bucket,
        Key=key,
        Body=image_bytes(),
        ContentType="image/png",
        CacheControl="public, max-age=31536000, immutable",
        ServerSideEncryption="AES256",
        Metadata={"origin": "console-test"},
    )
    detail = browse.describe_object(s3_client, sandbox_settings, key)
    rows = {row["field"]: row["value"] for row in detail.s3_rows()}
    assert rows["Content-Type"] == "image/png" and rows["Cache-Control"] == "public, max-age=31536000, immutable"
    assert rows["Encryption"] == "AES256" and rows["x-amz-meta-origin"] == "console-test"
    assert detail.head.etag and rows["ETag"] == detail.head.etag
    assert detail.cdn.status == 200 and detail.cdn.headers["X-Cache"] == "Miss from cloudfront"
    assert detail.cdn.headers["Content-Type"] == "image/png"
    assert detail.anonymous.status == 403 and detail.anonymous.code == "AccessDenied" and detail.anonymous_denied
    assert detail.anonymous.url.endswith(f"/{key}") and "X-Amz-" not in detail.anonymous.url  # no signature kept
    assert (
        detail.s3_uri == f"s3://{sandbox.endpoints.bucket}/{key}" and detail.cdn_url == f"{sandbox.endpoints.cdn}/{key}"
    )
    assert [n.level for n in browse.detail_notes(detail)] == ["ok"]
    again = browse.describe_object(s3_client, sandbox_settings, key)
    cdn = {row["header"]: row["value"] for row in again.cdn_rows()}
    assert cdn["status"] == "200" and cdn["X-Cache"] == "Hit from cloudfront" and cdn["Age"].isdigit()


def test_detail_warns_when_anyone_can_read_the_object_from_s3(switch, odd_objects, sandbox_settings, s3_client):
    switch("seed-public-policy")
    detail = browse.describe_object(s3_client, sandbox_settings, "browse-odd/사진 ü.png")
    assert detail.anonymous.status == 200 and detail.anonymous_denied is False
    (warning,) = [n for n in browse.detail_notes(detail) if n.level == "warn"]
    assert "Anyone can read this object straight from S3" in warning.text


def test_detail_warns_about_images_stored_as_application(sandbox, sandbox_settings, s3_client, admin_s3):
    key = f"browse-detail/{uuid.uuid4()}.png"
    admin_s3.put_object(Bucket=sandbox.endpoints.bucket, Key=key, Body=image_bytes(), ContentType="application/png")
    notes = browse.detail_notes(browse.describe_object(s3_client, sandbox_settings, key))
    assert any(n.level == "warn" and "Stored as application/png, not image/png" in n.text for n in notes)


def test_detail_of_a_missing_object_says_so_for_s3_and_the_cdn(sandbox_settings, s3_client):
    detail = browse.describe_object(s3_client, sandbox_settings, f"browse-detail/missing-{uuid.uuid4()}.png")
    assert detail.head is None and detail.head_error.http_status == 404
    assert detail.cdn.status in (403, 404) and detail.cdn.headers["X-Cache"] == "Error from cloudfront"
    levels = [n.level for n in browse.detail_notes(detail)]
    assert levels.count("error") == 2


# --- writes ----------------------------------------------------------------------------------------------------


def test_invalidate_really_clears_the_cdn_and_delete_removes_the_object(sandbox, writable, s3_client, admin_s3):
    bucket, key = sandbox.endpoints.bucket, f"browse-write/{uuid.uuid4()} v+1.png"
    first, second = image_bytes(colour="red"), image_bytes(colour="blue")
    url = cdn_object_url(writable.cdn_base(), key)
    admin_s3.put_object(Bucket=bucket, Key=key, Body=first, ContentType="image/png")
    assert requests.get(url, timeout=10).content == first
    admin_s3.put_object(Bucket=bucket, Key=key, Body=second, ContentType="image/png")
    stale = requests.get(url, timeout=10)
    assert stale.content == first and stale.headers["X-Cache"] == "Hit from cloudfront"  # the edge still has v1

    done = browse.invalidate_object(browse.cloudfront_client(writable), writable, key)
    assert done.paths == (browse.invalidation_path(key),) and done.id
    fresh = requests.get(url, timeout=10)
    assert fresh.content == second and fresh.headers["X-Cache"] == "Miss from cloudfront"

    browse.delete_object(s3_client, writable, key)
    assert "Contents" not in admin_s3.list_objects_v2(Bucket=bucket, Prefix=key)
    browse.invalidate_object(browse.cloudfront_client(writable), writable, key)
    assert requests.get(url, timeout=10).status_code in (403, 404)


def test_with_writes_off_delete_and_invalidate_refuse_before_any_call(sandbox, sandbox_settings, odd_objects):
    assert sandbox_settings.allow_writes is False
    s3, cloudfront = make_client("s3", sandbox.aws_target()), browse.cloudfront_client(sandbox_settings)
    deletes, invalidations = count_calls(s3, "DeleteObject"), count_calls(cloudfront, "CreateInvalidation")
    key = "browse-odd/a photo + more.png"
    with pytest.raises(browse.WritesDisabled, match="PIPELINE_ALLOW_WRITES=true"):
        browse.delete_object(s3, sandbox_settings, key)
    with pytest.raises(browse.WritesDisabled, match="PIPELINE_ALLOW_WRITES=true"):
        browse.invalidate_object(cloudfront, sandbox_settings, key)
    assert deletes == [] and invalidations == []
    assert s3.head_object(Bucket=sandbox.endpoints.bucket, Key=key)["ContentType"] == "image/png"


def test_on_a_production_profile_delete_and_invalidate_want_its_name_before_any_call(sandbox, writable, odd_objects):
    production = dataclasses.replace(writable, profile="live", production=True)
    s3, cloudfront = make_client("s3", sandbox.aws_target()), browse.cloudfront_client(production)
    deletes, invalidations = count_calls(s3, "DeleteObject"), count_calls(cloudfront, "CreateInvalidation")
    key = "browse-odd/a photo + more.png"
    for typed in (None, "", "sandbox", "LIVE"):
        with pytest.raises(writes.NotConfirmed, match="'live' is a production profile; type its name 'live'"):
            browse.delete_object(s3, production, key, confirm_profile=typed)
        with pytest.raises(writes.NotConfirmed, match="'live' is a production profile"):
            browse.invalidate_object(cloudfront, production, key, confirm_profile=typed)
    assert deletes == [] and invalidations == []
    assert s3.head_object(Bucket=sandbox.endpoints.bucket, Key=key)["ContentType"] == "image/png"
    assert browse.invalidate_object(cloudfront, production, key, confirm_profile="live").id
    assert len(invalidations) == 1


def test_invalidation_without_a_distribution_id_is_a_configuration_error(writable):
    settings = dataclasses.replace(writable, distribution_id=None)
    with pytest.raises(ConfigError, match="PIPELINE_DISTRIBUTION_ID"):
        browse.invalidate_object(browse.cloudfront_client(settings), settings, "a.png")


# --- errors and empty states ---------------------------------------------------------------------------------------


def test_a_listing_refused_by_iam_names_s3_listbucket(sandbox_settings):
    """The presign function's role may only s3:PutObject: S3 really answers 403 AccessDenied to its listing."""
    settings = with_aws(
        sandbox_settings, access_key_id=layout.PRESIGN_ROLE_KEY, secret_access_key=layout.PRESIGN_ROLE_SECRET
    )
    with pytest.raises(browse.ListingDenied) as caught:
        browse.list_page(browse.s3_client(settings), settings)
    err = caught.value
    assert (err.http_status, err.code, err.permission, err.bucket) == (
        403,
        "AccessDenied",
        "s3:ListBucket",
        settings.bucket,
    )
    assert "Needs the IAM permission `s3:ListBucket`" in browse.error_text(err)
    assert "needs: s3:ListBucket" in browse.cli_error(err)


def test_a_head_refused_by_iam_names_s3_getobject_and_the_grant(sandbox, sandbox_settings, admin_s3):
    """The presign function's role may not s3:GetObject: S3 really answers its HEAD of an existing object 403."""
    key = f"browse-detail/{uuid.uuid4()}.png"
    admin_s3.put_object(Bucket=sandbox.endpoints.bucket, Key=key, Body=image_bytes(), ContentType="image/png")
    settings = with_aws(
        sandbox_settings, access_key_id=layout.PRESIGN_ROLE_KEY, secret_access_key=layout.PRESIGN_ROLE_SECRET
    )
    detail = browse.describe_object(browse.s3_client(settings), settings, key)
    err = detail.head_error
    assert detail.head is None and err is not None and err.denied
    assert (err.http_status, err.permission) == (403, "s3:GetObject")
    grant = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{settings.bucket}/*"}
    assert f"The console's role lacks s3:GetObject on arn:aws:s3:::{settings.bucket}/{key}" in err.cause
    assert json.dumps(grant) in err.cause
    first = browse.detail_notes(detail)[0]
    assert first.level == "error" and "s3:GetObject" in first.text
    assert "Needs the IAM permission `s3:GetObject`" in browse.error_text(err)
    assert detail.cdn.status == 200  # the CDN still serves it: only the console's own read was refused


def _refuse(client: Any, operation: str, status: int, body: bytes) -> None:
    """Error injection at the wire: S3's refusal for one operation (botocore parses it as any reply)."""
    from botocore.awsrequest import AWSResponse

    class Body:
        def stream(self, **_: Any):
            yield body

    client.meta.events.register_first(
        f"before-send.s3.{operation}",
        lambda request, **_: AWSResponse(request.url, status, {"Content-Type": "application/xml"}, Body()),
    )


S3_ACCESS_DENIED = (
    b"<?xml version='1.0' encoding='UTF-8'?>\n<Error><Code>AccessDenied</Code><Message>User: "
    b"arn:aws:sts::123456789012:assumed-role/console/s is not authorized to perform: s3:ListBucket on resource: "
    b'"arn:aws:s3:::pipeline-sandbox" because no identity-based policy allows the s3:ListBucket action</Message>'
    b"<RequestId>4442587FB7D0A2F9</RequestId></Error>"
)


@pytest.mark.parametrize(
    ("operation", "body", "permission", "resource"),
    [
        ("ListObjectsV2", S3_ACCESS_DENIED, "s3:ListBucket", "arn:aws:s3:::{bucket}"),
        ("HeadObject", b"", "s3:GetObject", "arn:aws:s3:::{bucket}/*"),  # HEAD: no body, the code is "403"
    ],
)
def test_every_browse_read_refused_names_its_permission(operation, body, permission, resource, sandbox_settings):
    s3 = browse.s3_client(sandbox_settings)
    _refuse(s3, operation, 403, body)
    if operation == "ListObjectsV2":
        with pytest.raises(browse.ListingDenied) as caught:
            browse.list_page(s3, sandbox_settings)
        err = caught.value
    else:
        err = browse.describe_object(s3, sandbox_settings, "any.png").head_error
    assert err is not None and err.denied and (err.http_status, err.permission) == (403, permission)
    grant = {"Effect": "Allow", "Action": permission, "Resource": resource.format(bucket=sandbox_settings.bucket)}
    assert f"The console's role lacks {permission}" in err.cause and json.dumps(grant) in err.cause
    assert f"Needs the IAM permission `{permission}`" in browse.error_text(err)
    assert f"needs: {permission}" in browse.cli_error(err)


def test_unknown_credentials_are_reported_as_credentials_not_as_a_permission(sandbox_settings):
    settings = with_aws(sandbox_settings, access_key_id="AKIAUNKNOWN000000000", secret_access_key="nope")
    with pytest.raises(browse.BrowseError) as caught:
        browse.list_page(browse.s3_client(settings), settings)
    err = caught.value
    assert not isinstance(err, browse.ListingDenied) and err.code == "InvalidAccessKeyId"
    assert "does not accept the console's credentials" in err.cause and "Needs the IAM" not in browse.error_text(err)


def test_an_unreachable_endpoint_and_a_missing_bucket_are_plain_errors(sandbox_settings):
    down = with_aws(sandbox_settings, endpoint_url=f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(browse.BrowseError, match="EndpointConnectionError") as caught:
        browse.list_page(make_client("s3", down.aws, retries={"max_attempts": 1}), down)
    assert "could not be reached" in caught.value.cause
    missing = dataclasses.replace(sandbox_settings, bucket=f"no-such-{uuid.uuid4().hex[:12]}")
    with pytest.raises(browse.BrowseError) as caught:
        browse.list_page(browse.s3_client(missing), missing)
    assert caught.value.code == "NoSuchBucket" and "PIPELINE_BUCKET" in caught.value.cause


@pytest.fixture
def empty_bucket(sandbox: Sandbox, admin_s3: Any):
    name = f"browse-empty-{uuid.uuid4().hex[:12]}"
    admin_s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": sandbox.endpoints.region})
    yield name
    admin_s3.delete_bucket(Bucket=name)


def test_an_empty_bucket_and_a_prefix_with_nothing_under_it_each_say_so(empty_bucket, sandbox_settings, s3_client):
    settings = dataclasses.replace(sandbox_settings, bucket=empty_bucket)
    page = browse.list_page(s3_client, settings)
    assert page.entries == () and page.next_token is None
    assert (
        browse.empty_text(page, first_page=True)
        == f"The bucket `{empty_bucket}` is empty: nothing has been uploaded yet."
    )
    assert list(browse.format_listing(browse.iter_pages(s3_client, settings))) == [
        f"-- The bucket '{empty_bucket}' is empty: nothing has been uploaded yet."
    ]
    nothing = browse.list_page(s3_client, sandbox_settings, prefix="browse-nothing-here/")
    assert nothing.entries == () and "No objects under the prefix `browse-nothing-here/`" in browse.empty_text(
        nothing, True
    )


# --- the CLI (`python -m services browse`, once services/cli/__init__.py routes it) -------------------------------------------


def test_cli_browse_lists_keys_in_key_order_with_size_type_date_and_cdn_url(odd_objects, sandbox_env, sandbox):
    done = cli("browse", "--prefix", "browse-odd/", env=sandbox_env)
    assert done.returncode == 0, done.stderr
    *rows, summary = done.stdout.splitlines()
    assert [row.split("  ")[-2].strip() for row in rows] == sorted([*ODD_KEYS, ODD_NON_IMAGE], key=lambda k: k.encode())
    assert all(row.split()[-1].startswith(sandbox.endpoints.cdn + "/browse-odd/") for row in rows)
    assert (
        summary
        == "-- 5 object(s) under prefix 'browse-odd/' in key order, type guessed from the extension; end of the listing"
    )
    as_json = cli("browse", "--prefix", "browse-odd/", "--limit", "2", "--json", env=sandbox_env)
    assert as_json.returncode == 0, as_json.stderr
    objects = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert len(objects) == 2 and {"key", "size", "type", "last_modified", "etag", "cdn_url"} <= set(objects[0])
    assert requests.get(objects[0]["cdn_url"], timeout=10).status_code == 200


def test_cli_browse_exits_1_naming_the_permission_and_2_on_usage_errors(sandbox_env):
    denied = dict(
        sandbox_env, AWS_ACCESS_KEY_ID=layout.PRESIGN_ROLE_KEY, AWS_SECRET_ACCESS_KEY=layout.PRESIGN_ROLE_SECRET
    )
    done = cli("browse", env=denied)
    assert done.returncode == 1 and "AccessDenied" in done.stderr and "needs: s3:ListBucket" in done.stderr
    assert cli("browse", "--limit", "0", env=sandbox_env).returncode == 2
    assert cli("browse", "--limit", "many", env=sandbox_env).returncode == 2


def test_a_refusal_in_china_names_the_aws_cn_arn_and_grant() -> None:
    """The resource and the grant Browse prints are in the bucket's partition (arn:aws-cn: in China)."""
    from botocore.exceptions import ClientError

    from services.pipeline.browse import _translate

    denied = ClientError(
        {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}, "ResponseMetadata": {"HTTPStatusCode": 403}},
        "HeadObject",
    )
    err = _translate(denied, action="Reading", permission="s3:GetObject", bucket="b", key="k.png", region="cn-north-1")
    assert "arn:aws-cn:s3:::b/k.png" in err.cause and '"Resource": "arn:aws-cn:s3:::b/*"' in err.cause
    assert "arn:aws:s3" not in err.cause
