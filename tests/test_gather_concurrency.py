"""services/checks/gather.py: independent reads overlap; what the checks are given stays complete and in order.

Over a network every read is a round trip: a role with k inline and m managed policies took 3 + k + 2m of them
in a row, the presign endpoint's probes 3 + one per app origin. The reads now overlap; what the checks are given,
and which failure they are told of, must not change. Runs against the sandbox's real IAM over HTTP and a real
local HTTP server; the hooks only watch calls or refuse one.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from botocore.exceptions import ClientError

from services.checks.gather import Clients, gather, probe_each
from services.checks.model import ReadState
from services.core.clients import make_client
from services.core.transport import new_session
from services.sandbox import layout

ROLE = layout.PRESIGN_ROLE_NAME
INLINE = ("zeta-extra", "alpha-extra", "mid-extra")
MANAGED = ("gather-test-one", "gather-test-two")


def _document(action: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]}


@pytest.fixture(scope="module")
def many_policies(sandbox) -> Iterator[None]:
    """Three more inline policies and two managed ones on the presign role, removed afterwards."""
    iam = make_client("iam", sandbox.aws_target())
    arns: list[str] = []
    try:
        for name in INLINE:
            iam.put_role_policy(RoleName=ROLE, PolicyName=name, PolicyDocument=json.dumps(_document(f"logs:{name}")))
        for name in MANAGED:
            arn = iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(_document(f"sqs:{name}")))["Policy"]
            arns.append(arn["Arn"])
            iam.attach_role_policy(RoleName=ROLE, PolicyArn=arn["Arn"])
        yield
    finally:
        for name in INLINE:
            iam.delete_role_policy(RoleName=ROLE, PolicyName=name)
        for arn in arns:
            iam.detach_role_policy(RoleName=ROLE, PolicyArn=arn)
            iam.delete_policy(PolicyArn=arn)


def read_one_by_one(iam: Any) -> list[dict[str, Any]]:
    """The documents as a plain sequential reading of IAM gives them: inline in listing order, then managed."""
    documents = []
    for name in iam.list_role_policies(RoleName=ROLE)["PolicyNames"]:
        got = iam.get_role_policy(RoleName=ROLE, PolicyName=name)
        documents.append({"name": name, "document": got["PolicyDocument"]})
    for item in iam.list_attached_role_policies(RoleName=ROLE)["AttachedPolicies"]:
        version = iam.get_policy(PolicyArn=item["PolicyArn"])["Policy"]["DefaultVersionId"]
        got = iam.get_policy_version(PolicyArn=item["PolicyArn"], VersionId=version)
        documents.append(
            {"name": item["PolicyName"], "arn": item["PolicyArn"], "document": got["PolicyVersion"]["Document"]}
        )
    return documents


def test_the_documents_are_all_there_in_listing_order(sandbox, many_policies):
    settings = sandbox.settings()
    evidence = gather(settings, frozenset({"lambda"}), Clients.for_settings(settings))
    assert evidence.role_policies is not None and evidence.role_policies.state is ReadState.OK, evidence.role_policies
    expected = read_one_by_one(make_client("iam", sandbox.aws_target()))
    assert len(expected) >= len(INLINE) + len(MANAGED) + 1  # the sandbox's own presign-put policy too
    assert evidence.role_policies.value == expected


def test_the_reads_overlap(sandbox, many_policies):
    settings = sandbox.settings()
    clients = Clients.for_settings(settings)
    lock, in_flight, most = threading.Lock(), [0], [0]

    def started(**_: Any) -> None:
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        time.sleep(0.05)  # a round trip's worth: a sequential reader never has two calls in flight

    def finished(**_: Any) -> None:
        with lock:
            in_flight[0] -= 1

    clients.iam.meta.events.register("before-call.iam", started)
    clients.iam.meta.events.register("after-call.iam", finished)
    evidence = gather(settings, frozenset({"lambda"}), clients)
    assert evidence.role_policies is not None and evidence.role_policies.state is ReadState.OK
    assert most[0] >= 2, "the role's IAM reads ran one after another"


def test_with_two_failures_the_first_in_reading_order_is_named(sandbox, many_policies):
    """ListRolePolicies -> GetRolePolicy comes before ListAttachedRolePolicies: the sequential reader would have
    stopped at GetRolePolicy, and so must the concurrent one, whichever failure happens first in time."""
    settings = sandbox.settings()
    clients = Clients.for_settings(settings)

    def refuse(operation: str, delay: float) -> None:
        def send(**_: Any) -> None:
            time.sleep(delay)
            error = {"Error": {"Code": "AccessDenied", "Message": f"not authorized to perform: iam:{operation}"}}
            raise ClientError(error, operation)

        clients.iam.meta.events.register_first(f"before-send.iam.{operation}", send)

    refuse("GetRolePolicy", 0.2)  # fails last in time
    refuse("ListAttachedRolePolicies", 0.0)  # fails first in time
    evidence = gather(settings, frozenset({"lambda"}), clients)
    read = evidence.role_policies
    assert read is not None and read.state is ReadState.DENIED, read
    assert read.call == "iam:GetRolePolicy", read


class _SlowEcho(BaseHTTPRequestHandler):
    """Answers after 50 ms with the request's x-probe header, counting the requests in flight."""

    lock = threading.Lock()
    in_flight = 0
    most = 0

    def _answer(self) -> None:
        cls = type(self)
        with cls.lock:
            cls.in_flight += 1
            cls.most = max(cls.most, cls.in_flight)
        time.sleep(0.05)
        body = (self.headers.get("x-probe") or "").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        with cls.lock:
            cls.in_flight -= 1

    do_GET = do_OPTIONS = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def slow_echo() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowEcho)
    _SlowEcho.in_flight = _SlowEcho.most = 0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/presign"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("method", ["GET", "OPTIONS"])
def test_independent_probes_overlap_and_come_back_in_order(slow_echo, method):
    session = new_session()
    try:
        exchanges = probe_each(session, method, slow_echo, [{"x-probe": f"p{n}"} for n in range(6)])
    finally:
        session.close()
    assert [x.status for x in exchanges] == [200] * 6
    assert [x.body for x in exchanges] == [f"p{n}" for n in range(6)]
    assert [x.request_headers for x in exchanges] == [{"x-probe": f"p{n}"} for n in range(6)]
    assert _SlowEcho.most >= 2, "the probes went one after another"


def test_the_canary_reads_s3_beside_the_cdn_and_the_cdn_reads_stay_in_order(sandbox):
    """The HEAD and the direct S3 GET now run beside the CDN probes; the CDN probes themselves must stay one after
    another: the first identity read misses, the second hits, then the compressed read."""
    settings = sandbox.settings()
    canary = gather(settings, frozenset({"canary"}), Clients.for_settings(settings)).canary
    assert canary is not None and canary.put is not None and canary.put.status == 200, canary
    first, second, gzipped = canary.cdn_first, canary.cdn_second, canary.cdn_gzip
    assert first is not None and second is not None and gzipped is not None
    assert (first.header("X-Cache") or "").startswith("Miss"), first
    assert (second.header("X-Cache") or "").startswith("Hit"), second
    assert gzipped.request_headers == {"Accept-Encoding": "gzip, br"} and gzipped.status == 200
    assert canary.head is not None and canary.head.state is ReadState.OK and canary.head.value["ContentType"]
    assert canary.direct_s3 is not None and canary.direct_s3.status == 403  # anonymous, around the CDN: refused


def test_each_helper_thread_keeps_one_session_and_every_one_is_closed(slow_echo, monkeypatch):
    made: list[Any] = []

    def counted() -> Any:
        session = new_session()
        made.append(session)
        return session

    monkeypatch.setattr("services.checks.gather.new_session", counted)
    session = new_session()
    try:
        exchanges = probe_each(session, "GET", slow_echo, [{"x-probe": f"p{n}"} for n in range(6)], in_flight=3)
    finally:
        session.close()
    assert [x.body for x in exchanges] == [f"p{n}" for n in range(6)]
    assert 1 <= len(made) <= 2  # two helper threads at most, whatever the number of probes
    assert all(not s.adapters["http://"].poolmanager.pools for s in made)  # closed: their pools are emptied
