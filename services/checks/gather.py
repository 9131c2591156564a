"""Gather the evidence the checks judge: HTTP probes and AWS configuration reads, run concurrently.

Nothing here decides anything. Every probe goes through the transport (an overall deadline, a bounded body);
every AWS read is translated into a ``ConfigRead`` (ok / missing / denied / error) so that a denied read can never
pass for a misconfiguration. The run as a whole has a deadline too (``Budget``): a hop that drips a byte a second
or never answers is recorded as such, and the run still ends in time. Presigned URLs are redacted before they are
stored as evidence.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

import requests
from botocore.exceptions import BotoCoreError, ClientError
from PIL import Image

from services.aws_model import cloudfront_cors, kms, partitions, statements
from services.aws_model.s3endpoints import bucket_region
from services.aws_model.s3errors import DENIED_CODES, MISSING_CODES, SIGNATURE_MISMATCH, parse_s3_error
from services.checks.evidence import Canary, CanaryTiming, CheckTarget, Evidence
from services.checks.model import ConfigRead, Exchange, ReadState
from services.core.clients import AwsService, CallTimedOut, bounded, make_client, shared_client
from services.core.redact import redact_text, redact_url
from services.core.settings import Settings
from services.core.transport import PROBE_DEADLINE, Deadline, DeadlineExceeded, attempt, new_session
from services.pipeline.browse import object_s3_url
from services.pipeline.canary import CANARY_PREFIX, KEY_PREFIX_HEADER
from services.pipeline.explain import signed_headers
from services.pipeline.images import MIME_BY_EXTENSION
from services.pipeline.presign import client_content_type
from services.pipeline.upload import cdn_object_url, post_form_body

BODY_LIMIT = 4096
#: the most of a reply body a probe reads: more than any answer it needs (a presign grant, the 8×8 canary PNG, an
#: S3 or CloudFront error document); a longer body is cut here, never downloaded whole
PROBE_BODY_LIMIT = 256 * 1024
#: seconds the whole check run may take (``python -m services check --deadline``): the page stays usable even
#: when a hop drips its answer a byte at a time
CHECK_DEADLINE = 30.0
PROBE_EXTENSION = "png"
ALTERNATIVE_TYPES = ("image/png", "application/png", "binary/octet-stream", "application/octet-stream", "")


def target_of(settings: Settings) -> CheckTarget:
    return CheckTarget(
        presign_url=settings.presign_url,
        bucket=settings.bucket,
        cdn_url=settings.cdn_url,
        region=settings.aws.region,
        app_origins=settings.app_origins,
        distribution_id=settings.distribution_id,
        lambda_function=settings.lambda_function,
        client_content_type=settings.client_content_type,
        client_put_headers=settings.client_put_headers,
        app_reads_cross_origin=settings.app_reads_cross_origin,
        sandbox=settings.sandbox,
        profile=settings.profile,
        production=settings.production,
        s3_endpoint=settings.aws.s3_endpoint(),
    )


# --- the run's deadline -------------------------------------------------------------------------

T = TypeVar("T")


class RunDeadlineExceeded(DeadlineExceeded):
    """The check run's own deadline passed before this request or read could finish (or start)."""

    def __init__(self, seconds: float) -> None:
        Exception.__init__(self, f"no answer within the check run's {seconds:g} s deadline")
        self.seconds = seconds


@dataclass(frozen=True)
class Budget:
    """How long a check run may take as a whole (``run``), and each of its HTTP probes at most (``probe_s``).

    Probes are cut off by the transport when their deadline passes (whatever stage they are at); an AWS read,
    which botocore makes with per-read timeouts only, is waited for until the run's deadline and then given up
    (``call``). So every gatherer ends by the run's deadline, and the evidence says which hop did not answer.
    """

    run: Deadline = field(default_factory=lambda: Deadline(CHECK_DEADLINE))
    probe_s: float = PROBE_DEADLINE

    @classmethod
    def of(cls, seconds: float = CHECK_DEADLINE, probe_s: float = PROBE_DEADLINE) -> Budget:
        """A budget starting now: ``seconds`` for the run, each probe at most ``probe_s`` of it."""
        return cls(Deadline(seconds), probe_s)

    def probe_deadline(self) -> float:
        """The next probe's deadline: ``probe_s``, or what is left of the run; RunDeadlineExceeded when nothing is."""
        left = self.run.remaining()
        if left <= 0:
            raise RunDeadlineExceeded(self.run.seconds)
        return min(self.probe_s, left)

    def call(self, fn: Callable[[], T]) -> T:
        """``fn()`` (an AWS call), waited for until the run's deadline (``clients.bounded``); then RunDeadlineExceeded."""
        left = self.run.remaining()
        if left <= 0:
            raise RunDeadlineExceeded(self.run.seconds)
        try:
            return bounded(fn, left)
        except CallTimedOut as err:
            raise RunDeadlineExceeded(self.run.seconds) from err


# --- HTTP ---------------------------------------------------------------------------------------


def _text(body: bytes, content_type: str | None) -> str:
    if content_type and content_type.split(";")[0].strip().startswith(("image/", "application/octet", "binary/")):
        return f"({len(body):,} bytes of {content_type.split(';')[0].strip()})"
    return redact_text(body[:BODY_LIMIT].decode("utf-8", "replace"))


def probe(
    session: requests.Session,
    method: str,
    url: str,
    headers: Mapping[str, str] | None = None,
    data: bytes | None = None,
    budget: Budget | None = None,
) -> tuple[Exchange, bytes]:
    """One HTTP exchange within ``budget`` (a fresh one when None), never raising; the evidence and the raw body
    (at most PROBE_BODY_LIMIT bytes of it)."""
    budget = budget or Budget()
    sent = dict(headers or {})
    try:
        deadline_s = budget.probe_deadline()
    except RunDeadlineExceeded as err:
        error = f"not sent: the check run's {err.seconds:g} s deadline had passed"
        return Exchange(method, redact_url(url), sent, None, {}, "", error, 0.0), b""
    outcome = attempt(session, method, url, headers=sent, deadline_s=deadline_s, limit=PROBE_BODY_LIMIT, data=data)
    if outcome.answer is None:
        if isinstance(outcome.failure, DeadlineExceeded) and deadline_s < budget.probe_s:
            outcome = replace(outcome, failure=RunDeadlineExceeded(budget.run.seconds))  # the run's, not a remnant
        error = redact_text(outcome.error or "no answer")
        return Exchange(method, redact_url(url), sent, None, {}, "", error, outcome.ms), b""
    answer = outcome.answer
    exchange = Exchange(
        method,
        redact_url(url),
        sent,
        answer.status,
        dict(answer.headers),
        _text(answer.body, answer.headers.get("Content-Type")),
        None,
        outcome.ms,
    )
    return exchange, answer.body


# --- AWS reads ----------------------------------------------------------------------------------


class CallFailed(Exception):
    """One AWS call inside a multi-call read failed: names that call, so a refusal names the action it lacked."""

    def __init__(self, call: str, error: Exception, resource: str | None = None) -> None:
        super().__init__(f"{call}: {error}")
        self.call, self.error, self.resource = call, error, resource


def step(call: str, fn: Callable[[], Any], resource: str | None = None, budget: Budget | None = None) -> Any:
    """One call of a multi-call read (``read`` reports a failure under this call's name), within ``budget``."""
    try:
        return fn() if budget is None else budget.call(fn)
    except (ClientError, BotoCoreError, ValueError, RunDeadlineExceeded) as err:
        raise CallFailed(call, err, resource) from err


def failed_read(call: str, err: Exception, resource: str | None = None) -> ConfigRead:
    """What a failed AWS call means for the checks: missing, denied (the console's identity), or an error."""
    if isinstance(err, ClientError):
        error = err.response.get("Error", {})
        code = str(error.get("Code", ""))
        state = (
            ReadState.MISSING
            if code in MISSING_CODES
            else ReadState.DENIED
            if code in DENIED_CODES
            else ReadState.ERROR
        )
        message = str(error.get("Message", "")) or _status_text(err)
        return ConfigRead(call, state, None, code, redact_text(message), resource)
    if isinstance(err, RunDeadlineExceeded):
        return ConfigRead(call, ReadState.ERROR, None, "DeadlineExceeded", str(err), resource)
    return ConfigRead(call, ReadState.ERROR, None, type(err).__name__, redact_text(str(err)), resource)


def _status_text(err: ClientError) -> str:
    """HEAD replies have no body: botocore's code is the status ("403") and the message is empty."""
    status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return f"HTTP {status} (a HEAD reply has no error body)" if status else ""


def read(call: str, fn: Callable[[], Any], resource: str | None = None, budget: Budget | None = None) -> ConfigRead:
    """Run one AWS read (within ``budget``'s run deadline, when given) and say what came of it, translating errors
    at this boundary."""
    try:
        return ConfigRead(call, ReadState.OK, fn() if budget is None else budget.call(fn), resource=resource)
    except CallFailed as failed:
        return failed_read(failed.call, failed.error, failed.resource or resource)
    except (ClientError, BotoCoreError, ValueError, RunDeadlineExceeded) as err:
        return failed_read(call, err, resource)


@dataclass
class Clients:
    """The run's boto3 clients, built once in the calling thread and shared by the gatherers (clients are
    thread-safe; building them is not). A client no needed gatherer uses is not built (None)."""

    s3: Any
    iam: Any
    lambda_: Any
    cloudfront: Any
    kms: Any = None

    @classmethod
    def for_settings(cls, settings: Settings, needs: frozenset[str] | None = None, *, shared: bool = False) -> Clients:
        """The clients the ``needs`` gatherers use (all four when None): new ones, or with ``shared`` the
        process's shared clients for this target (what a plain ``run_checks`` uses: no hooks are registered)."""
        wanted = {
            name for gatherer in (needs if needs is not None else GATHER) for name in CLIENTS_NEEDED.get(gatherer, ())
        }
        factory = shared_client if shared else make_client
        built = {name: factory(service, settings.aws) for name, service in SERVICES.items() if name in wanted}
        return cls(**{name: built.get(name) for name in SERVICES})


#: Clients field -> boto3 service name
SERVICES: dict[str, AwsService] = {
    "s3": "s3",
    "iam": "iam",
    "lambda_": "lambda",
    "cloudfront": "cloudfront",
    "kms": "kms",
}
#: gatherer -> the Clients fields it uses
CLIENTS_NEEDED: dict[str, tuple[str, ...]] = {
    "bucket_config": ("s3",),
    "bucket_preflight": ("s3",),
    "canary": ("s3",),
    "ownership": ("s3",),
    "encryption": ("s3", "kms"),
    "bucket_location": ("s3",),
    "lambda": ("lambda_", "iam"),
    "distribution": ("cloudfront",),
}


# --- gatherers: each returns the Evidence fields it fills ------------------------------------------


#: independent probes of one gatherer in flight at once (over a network each is a round trip)
PROBES_IN_FLIGHT = 4
#: GETs of the presign endpoint in flight at once, per gatherer: each invokes the function, and a function with
#: a small reserved concurrency would throttle a burst (429) for reasons that are not the pipeline's
PRESIGN_CALLS_IN_FLIGHT = 2


def probe_each(
    session: requests.Session,
    method: str,
    url: str,
    header_sets: Sequence[Mapping[str, str]],
    in_flight: int = PROBES_IN_FLIGHT,
    budget: Budget | None = None,
) -> list[Exchange]:
    """One probe per header set, at most ``in_flight`` at once: the first on ``session``, the others on one
    session per helper thread (sessions are not shared across threads). Exchanges in the order of ``header_sets``.
    All within one ``budget`` (a fresh one when None)."""
    budget = budget or Budget()
    if len(header_sets) <= 1 or in_flight <= 1:
        return [probe(session, method, url, headers, budget=budget)[0] for headers in header_sets]
    local, opened = threading.local(), []

    def alone(headers: Mapping[str, str]) -> Exchange:
        own = getattr(local, "session", None)
        if own is None:
            own = local.session = new_session()
            opened.append(own)
        return probe(own, method, url, headers, budget=budget)[0]

    try:
        with ThreadPoolExecutor(max_workers=in_flight - 1, thread_name_prefix="probe") as pool:  # + this thread
            rest = pool.map(alone, header_sets[1:])
            first = probe(session, method, url, header_sets[0], budget=budget)[0]
            return [first, *rest]
    finally:
        for own in opened:
            own.close()


def gather_presign(settings: Settings, session: requests.Session, clients: Clients, budget: Budget) -> dict[str, Any]:
    origins = list(settings.app_origins)
    ok, missing, bad, *with_origin = probe_each(
        session,
        "GET",
        settings.presign_url,
        [
            {"x-extension": PROBE_EXTENSION},
            {},
            {"x-extension": "exe"},
            *({"x-extension": PROBE_EXTENSION, "Origin": origin} for origin in origins),
        ],
        in_flight=PRESIGN_CALLS_IN_FLIGHT,
        budget=budget,
    )
    return {
        "presign_ok": ok,
        "presign_missing_extension": missing,
        "presign_bad_extension": bad,
        "presign_with_origin": dict(zip(origins, with_origin, strict=True)),
    }


def gather_api_preflight(
    settings: Settings, session: requests.Session, clients: Clients, budget: Budget
) -> dict[str, Any]:
    headers = {"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "x-extension,content-type"}
    origins = list(settings.app_origins)
    preflights = probe_each(
        session, "OPTIONS", settings.presign_url, [{**headers, "Origin": o} for o in origins], budget=budget
    )
    return {"api_preflights": dict(zip(origins, preflights, strict=True))}


def gather_bucket_config(
    settings: Settings, session: requests.Session, clients: Clients, budget: Budget
) -> dict[str, Any]:
    bucket, s3 = settings.bucket, clients.s3
    arn = f"arn:aws:s3:::{bucket}"
    return {
        "bucket_cors": read("s3:GetBucketCors", lambda: s3.get_bucket_cors(Bucket=bucket)["CORSRules"], arn, budget),
        "bucket_policy": read("s3:GetBucketPolicy", lambda: s3.get_bucket_policy(Bucket=bucket)["Policy"], arn, budget),
        "public_access_block": read(
            "s3:GetBucketPublicAccessBlock",
            lambda: s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"],
            arn,
            budget,
        ),
    }


def object_url(clients: Clients, bucket: str, key: str) -> str:
    """The object's plain URL as S3 addresses it for this target (the signing query removed)."""
    return object_s3_url(clients.s3, bucket, key)


def gather_bucket_preflight(
    settings: Settings, session: requests.Session, clients: Clients, budget: Budget
) -> dict[str, Any]:
    url = object_url(clients, settings.bucket, "cors-preflight-probe.png")
    headers = {"Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "content-type"}
    origins = list(settings.app_origins)
    preflights = probe_each(
        session, "OPTIONS", url, [{**headers, "Origin": origin} for origin in origins], budget=budget
    )
    return {"bucket_preflights": dict(zip(origins, preflights, strict=True)), "object_url": url}


def canary_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (32, 128, 224)).save(buffer, "PNG")
    return buffer.getvalue()


def _grant(body: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(body)
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def gather_canary(settings: Settings, session: requests.Session, clients: Clients, budget: Budget) -> dict[str, Any]:
    client_type = client_content_type(settings.client_content_type, PROBE_EXTENSION, "image/png")
    asked = time.perf_counter()
    # as the web app asks: its Content-Type on the presign GET too (the shipped function signs that spelling)
    presign_exchange, body = probe(
        session,
        "GET",
        settings.presign_url,
        # and asks for the canaries' folder (the shipped function allows exactly that one; others ignore the header)
        {"x-extension": PROBE_EXTENSION, "Content-Type": client_type, KEY_PREFIX_HEADER: CANARY_PREFIX},
        budget=budget,
    )
    presign_answered_at = datetime.now(UTC)
    grant = _grant(body) if presign_exchange.status == 200 else {}
    url, key = grant.get("presignedUrl"), grant.get("key")
    if url is None and isinstance(grant.get("fields"), dict):
        return _post_canary(settings, session, clients, budget, presign_exchange, grant, client_type)
    if not isinstance(url, str) or not isinstance(key, str):
        return {
            "canary": Canary(presign=presign_exchange, client_content_type=client_type),
            "stored_sample": gather_stored_sample(clients, settings.bucket, budget),
        }
    signed = grant.get("contentType") if isinstance(grant.get("contentType"), str) else None
    data = canary_png()
    # the web app's PUT: the signed type and whatever else it is configured to send (PIPELINE_CLIENT_PUT_HEADERS)
    extra = dict(settings.client_put_headers)
    put_sent = time.perf_counter()
    put, _ = probe(session, "PUT", url, {"Content-Type": signed or client_type, **extra}, data, budget)
    timing = CanaryTiming(put_sent - asked, presign_answered_at, datetime.now(UTC))
    alternatives: dict[str, Exchange] = {}
    if put.status == 403 and parse_s3_error(put.body).code == SIGNATURE_MISMATCH:
        for candidate in ALTERNATIVE_TYPES:
            if candidate != (signed or client_type):
                alternatives[candidate] = probe(
                    session, "PUT", url, {"Content-Type": candidate} if candidate else {}, data, budget
                )[0]
                if alternatives[candidate].status == 200:
                    break
    acl_tries = _acl_tries(session, url, signed or client_type, put, data, budget)
    stored = put.status == 200 or any(x.status == 200 for x in (*alternatives.values(), *acl_tries.values()))
    return {
        "canary": replace(
            _after_put(
                settings,
                session,
                clients,
                budget,
                presign_exchange,
                key,
                signed,
                client_type,
                put,
                alternatives,
                data,
                stored,
            ),
            acl_tries=acl_tries,
            timing=timing,
        ),
        # the canary is the newest object of all, but under canary/ it may sort past the first listing page
        "stored_sample": gather_stored_sample(clients, settings.bucket, budget, newest_key=key if stored else None),
    }


def _post_canary(
    settings: Settings,
    session: requests.Session,
    clients: Clients,
    budget: Budget,
    presign_exchange: Exchange,
    grant: Mapping[str, Any],
    client_type: str,
) -> dict[str, Any]:
    """The canary through a presigned POST: the form's fields, then the PNG, posted as a browser's FormData does
    (the console's upload builds the same body); S3 answers 204 when its policy allows it."""
    url, key, fields = grant.get("url"), grant.get("key"), grant.get("fields")
    named = {str(k).lower(): str(v) for k, v in (fields or {}).items()}
    key = key if isinstance(key, str) else named.get("key")
    if not isinstance(url, str) or not isinstance(key, str) or not isinstance(fields, dict):
        return {
            "canary": Canary(presign=presign_exchange, client_content_type=client_type),
            "stored_sample": gather_stored_sample(clients, settings.bucket, budget),
        }
    signed = grant.get("contentType") if isinstance(grant.get("contentType"), str) else named.get("content-type")
    data = canary_png()
    form, form_type = post_form_body(
        {str(k): str(v) for k, v in fields.items()}, data, signed or client_type, "canary.png"
    )
    put, _ = probe(session, "POST", url, {"Content-Type": form_type}, form, budget)
    stored = put.status is not None and 200 <= put.status < 300
    canary = _after_put(
        settings, session, clients, budget, presign_exchange, key, signed, client_type, put, {}, data, stored
    )
    return {
        "canary": canary,
        "stored_sample": gather_stored_sample(clients, settings.bucket, budget, newest_key=key if stored else None),
    }


#: S3's canned ACLs (x-amz-acl values), bucket-owner-full-control first: the one ACL-disabled buckets accept
CANNED_ACLS = (
    "bucket-owner-full-control",
    "public-read",
    "private",
    "public-read-write",
    "authenticated-read",
    "bucket-owner-read",
)


def _acl_tries(
    session: requests.Session, url: str, content_type: str, put: Exchange, data: bytes, budget: Budget
) -> dict[str, Exchange]:
    """When the URL signs x-amz-acl and the plain PUT's signature did not match, the canned ACLs in turn until
    one's signature matches (S3 then answers something else than SignatureDoesNotMatch): that is the ACL signed."""
    if put.status != 403 or "SignatureDoesNotMatch" not in put.body or "x-amz-acl" not in signed_headers(url):
        return {}
    tries: dict[str, Exchange] = {}
    for acl in CANNED_ACLS:
        tries[acl] = probe(session, "PUT", url, {"Content-Type": content_type, "x-amz-acl": acl}, data, budget)[0]
        if "SignatureDoesNotMatch" not in tries[acl].body:
            break
    return tries


def gather_bucket_location(
    settings: Settings, session: requests.Session, clients: Clients, budget: Budget
) -> dict[str, Any]:
    bucket = settings.bucket

    def location() -> str:
        return bucket_region(clients.s3.get_bucket_location(Bucket=bucket).get("LocationConstraint"))

    return {"bucket_location": read("s3:GetBucketLocation", location, f"arn:aws:s3:::{bucket}", budget)}


def gather_ownership(settings: Settings, session: requests.Session, clients: Clients, budget: Budget) -> dict[str, Any]:
    bucket = settings.bucket

    def ownership() -> str | None:
        rules = clients.s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
        return next((str(rule["ObjectOwnership"]) for rule in rules if rule.get("ObjectOwnership")), None)

    return {"ownership_controls": read("s3:GetBucketOwnershipControls", ownership, f"arn:aws:s3:::{bucket}", budget)}


def gather_encryption(
    settings: Settings, session: requests.Session, clients: Clients, budget: Budget
) -> dict[str, Any]:
    """The bucket's default encryption and, when it names a KMS key, that key (DescribeKey) and its key policy."""
    bucket = settings.bucket
    encryption = read(
        "s3:GetEncryptionConfiguration",
        lambda: clients.s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"],
        f"arn:aws:s3:::{bucket}",
        budget,
    )
    fields: dict[str, Any] = {"bucket_encryption": encryption}
    algorithm, key_ref = kms.default_encryption(encryption.value) if encryption.state == ReadState.OK else (None, None)
    if not kms.uses_kms(algorithm) or not key_ref or key_ref == kms.AWS_MANAGED_S3_KEY:
        return fields
    described = read("kms:DescribeKey", lambda: clients.kms.describe_key(KeyId=key_ref)["KeyMetadata"], key_ref, budget)
    key_id = str(described.value.get("Arn") or key_ref) if described.state == ReadState.OK else key_ref
    fields["kms_key"] = described
    fields["key_policy"] = read(
        "kms:GetKeyPolicy",
        lambda: clients.kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"],
        key_id if key_id.startswith("arn:") else key_ref,
        budget,
    )
    return fields


def _after_put(
    settings: Settings,
    session: requests.Session,
    clients: Clients,
    budget: Budget,
    presign_exchange: Exchange,
    key: str,
    signed: str | None,
    client_type: str,
    put: Exchange,
    alternatives: dict[str, Exchange],
    data: bytes,
    stored: bool,
) -> Canary:
    canary = Canary(
        presign=presign_exchange,
        key=key,
        signed_content_type=signed,
        client_content_type=client_type,
        put=put,
        put_alternatives=alternatives,
        sha256=hashlib.sha256(data).hexdigest(),
    )
    if not stored:
        return canary
    cdn_url = cdn_object_url(settings.cdn_base(), key)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="canary") as pool:
        # S3's view of the object is independent of the CDN's: read it while the CDN probes run (which must
        # stay in order: the first identity read misses, the second hits, and only then the compressed one)
        direct_future = pool.submit(_direct_read, clients, settings.bucket, key, budget)
        first, first_body = probe(session, "GET", cdn_url, {"Accept-Encoding": "identity"}, budget=budget)
        second, _ = probe(session, "GET", cdn_url, {"Accept-Encoding": "identity"}, budget=budget)
        gzip_probe, _ = probe(session, "GET", cdn_url, {"Accept-Encoding": "gzip, br"}, budget=budget)
        cors_reads = cdn_cors_reads(settings, session, cdn_url, budget)
        head, direct = direct_future.result()
    return replace(
        canary,
        head=_head_value(head),
        cdn_first=first,
        cdn_second=second,
        cdn_body_sha256=hashlib.sha256(first_body).hexdigest() if first.status == 200 else None,
        cdn_gzip=gzip_probe,
        direct_s3=direct,
        cdn_cors=cors_reads,
    )


def cdn_cors_reads(settings: Settings, session: requests.Session, cdn_url: str, budget: Budget) -> tuple[Exchange, ...]:
    """When the web app reads images cross-origin: a GET of the object through the CDN from each app origin, one
    after the other on one object, after the plain reads (as a page's plain <img> would come first): a reply
    cached for one request and served to the next shows as another origin's Access-Control-Allow-Origin, or none.
    A simple GET needs no preflight (no custom header), so none is sent."""
    if not settings.app_reads_cross_origin:
        return ()
    return tuple(
        probe(session, "GET", cdn_url, {"Accept-Encoding": "identity", "Origin": origin}, budget=budget)[0]
        for origin in settings.app_origins
    )


#: the newest objects whose stored Content-Type upload.stored_type reports (one HeadObject each)
STORED_SAMPLE = 20


def gather_stored_sample(
    clients: Clients, bucket: str, budget: Budget | None = None, newest_key: str | None = None
) -> ConfigRead:
    """The stored Content-Type of the bucket's newest image objects (first listing page, newest STORED_SAMPLE; with
    ``newest_key``, that one first, as the newest of all): which objects still carry application/*.
    Value: [{"key", "content_type"}], content_type None when unread."""
    listing = read(
        "s3:ListBucket",
        lambda: clients.s3.list_objects_v2(Bucket=bucket, MaxKeys=1000).get("Contents", []),
        f"arn:aws:s3:::{bucket}",
        budget,
    )
    if listing.state is not ReadState.OK:
        return listing
    images = [o for o in listing.value if str(o.get("Key", "")).rsplit(".", 1)[-1].lower() in MIME_BY_EXTENSION]
    newest = sorted(images, key=lambda o: o.get("LastModified") or 0, reverse=True)
    if newest_key is not None:
        newest = [{"Key": newest_key}, *(o for o in newest if o.get("Key") != newest_key)]
    newest = newest[:STORED_SAMPLE]

    def stored_type(key: str) -> dict[str, Any]:
        head = read("s3:HeadObject", lambda: clients.s3.head_object(Bucket=bucket, Key=key), budget=budget)
        value = head.value if head.state is ReadState.OK and isinstance(head.value, dict) else {}
        return {"key": key, "content_type": value.get("ContentType"), "read": str(head.state)}

    with ThreadPoolExecutor(max_workers=PROBES_IN_FLIGHT, thread_name_prefix="stored") as pool:
        sample = list(pool.map(stored_type, [str(o["Key"]) for o in newest]))
    return ConfigRead(listing.call, ReadState.OK, sample, resource=listing.resource)


def _direct_read(clients: Clients, bucket: str, key: str, budget: Budget) -> tuple[ConfigRead, Exchange]:
    """The canary as S3 has it (HeadObject with the console's identity), and an anonymous GET straight to S3."""
    head = read(
        "s3:HeadObject",
        lambda: clients.s3.head_object(Bucket=bucket, Key=key),
        f"arn:aws:s3:::{bucket}/*",  # a grant for every key: the canary's key is new each run
        budget,
    )
    session = new_session()  # this runs beside the gatherer's own session, and sessions are not shared
    try:
        direct, _ = probe(session, "GET", object_url(clients, bucket, key), {}, budget=budget)
    finally:
        session.close()
    return head, direct


def _head_value(head: ConfigRead) -> ConfigRead:
    if head.state != ReadState.OK:
        return head
    keep = ("ContentType", "ContentLength", "CacheControl", "ETag", "ServerSideEncryption", "ContentEncoding")
    return ConfigRead(
        head.call, head.state, {k: head.value[k] for k in keep if k in head.value}, resource=head.resource
    )


def function_arn(settings: Settings) -> str:
    """The presign function's ARN as far as the console knows it (the account only when configured as an ARN)."""
    return statements.function_arn(str(settings.lambda_function), settings.aws.region)


def gather_lambda(settings: Settings, session: requests.Session, clients: Clients, budget: Budget) -> dict[str, Any]:
    if not settings.lambda_function:
        return {}
    config = read(
        "lambda:GetFunctionConfiguration",
        lambda: clients.lambda_.get_function_configuration(FunctionName=settings.lambda_function),
        function_arn(settings),
        budget,
    )
    if config.state != ReadState.OK:
        return {"lambda_config": config}
    role_arn = str(config.value.get("Role", ""))
    role_name = role_arn.rsplit("/", 1)[-1]
    return {
        "lambda_config": config,
        "role_policies": read(
            # no budget here: each call of the listing has its own (an abandoned call must be on a daemon thread)
            "iam:ListRolePolicies",
            lambda: _role_documents(clients.iam, role_name, role_arn, budget),
            role_arn or None,
        ),
    }


def _pages(iam: Any, operation: str, key: str, **params: Any) -> list[Any]:
    """Every item of a paginated IAM listing (a role may have more policies than one page holds)."""
    return [item for page in iam.get_paginator(operation).paginate(**params) for item in page.get(key, [])]


#: IAM reads in flight at once for one role (a role holds up to 10 managed policies by default)
IAM_READS = 4


def _role_documents(iam: Any, role_name: str, role_arn: str, budget: Budget | None = None) -> list[dict[str, Any]]:
    """The role's inline and attached managed policy documents, inline first, each in listing order.

    The two listings, and then the documents they name, are read concurrently (over a network each read is a
    round trip). A failed call is reported under its own name; with several failures, the first in that order.
    So a refused ListRolePolicies is the one reported even though ListAttachedRolePolicies was sent beside it
    (and waited for): one more denied call in CloudTrail, in exchange for one round trip less when all is well.
    """
    with ThreadPoolExecutor(max_workers=IAM_READS, thread_name_prefix="iam") as pool:
        names_future = pool.submit(
            step,
            "iam:ListRolePolicies",
            lambda: _pages(iam, "list_role_policies", "PolicyNames", RoleName=role_name),
            role_arn,
            budget,
        )
        attached_future = pool.submit(
            step,
            "iam:ListAttachedRolePolicies",
            lambda: _pages(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=role_name),
            role_arn,
            budget,
        )
        inline = list(
            pool.map(lambda name: _inline_document(iam, role_name, role_arn, name, budget), names_future.result())
        )
        managed = list(pool.map(lambda item: _managed_document(iam, item, budget), attached_future.result()))
    return inline + managed


def _inline_document(iam: Any, role_name: str, role_arn: str, name: str, budget: Budget | None) -> dict[str, Any]:
    got = step("iam:GetRolePolicy", lambda: iam.get_role_policy(RoleName=role_name, PolicyName=name), role_arn, budget)
    return {"name": name, "document": got["PolicyDocument"]}


def _managed_document(iam: Any, item: Mapping[str, Any], budget: Budget | None) -> dict[str, Any]:
    arn = item["PolicyArn"]
    policy = step("iam:GetPolicy", lambda: iam.get_policy(PolicyArn=arn)["Policy"], arn, budget)
    version = step(
        "iam:GetPolicyVersion",
        lambda: iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"]),
        arn,
        budget,
    )
    return {"name": item["PolicyName"], "arn": arn, "document": version["PolicyVersion"]["Document"]}


def distribution_arn(settings: Settings) -> str:
    """The distribution's ARN as far as known before reading it (the account id is not)."""
    return statements.distribution_arn(
        settings.distribution_id or "", partition=partitions.of_region(settings.aws.region)
    )


def gather_distribution(
    settings: Settings, session: requests.Session, clients: Clients, budget: Budget
) -> dict[str, Any]:
    if not settings.distribution_id:
        return {}
    distribution = read(
        "cloudfront:GetDistribution",
        lambda: clients.cloudfront.get_distribution(Id=settings.distribution_id)["Distribution"],
        distribution_arn(settings),
        budget,
    )
    fields: dict[str, Any] = {"distribution": distribution}
    if distribution.state == ReadState.OK:
        origins = distribution.value.get("DistributionConfig", {}).get("Origins", {}).get("Items", [])
        oac_id = next((o.get("OriginAccessControlId") for o in origins if o.get("OriginAccessControlId")), None)
        arn = str(distribution.value.get("ARN", ""))
        account = statements.account_of(arn) or statements.ACCOUNT_PLACEHOLDER
        if settings.app_reads_cross_origin:
            fields["cdn_policies"] = _cdn_policy_reads(clients, distribution.value, account, budget)
        if oac_id:
            fields["origin_access_control"] = read(
                "cloudfront:GetOriginAccessControl",
                lambda: clients.cloudfront.get_origin_access_control(Id=oac_id)["OriginAccessControl"],
                f"arn:{partitions.of_arn(arn)}:cloudfront::{account}:origin-access-control/{oac_id}",
                budget,
            )
    return fields


#: a cache behaviour's policy field -> (the boto3 method reading it, its answer's key, the ARN's resource type)
_POLICY_READS = {
    "CachePolicyId": ("get_cache_policy", "CachePolicy", "cache-policy"),
    "OriginRequestPolicyId": ("get_origin_request_policy", "OriginRequestPolicy", "origin-request-policy"),
    "ResponseHeadersPolicyId": ("get_response_headers_policy", "ResponseHeadersPolicy", "response-headers-policy"),
}


def _cdn_policy_reads(
    clients: Clients, distribution: Mapping[str, Any], account: str, budget: Budget
) -> dict[str, ConfigRead]:
    """The default cache behaviour's custom policies (managed ones are AWS's table, not read): policy id -> read."""
    behaviour = distribution.get("DistributionConfig", {}).get("DefaultCacheBehavior", {})
    partition = partitions.of_arn(str(distribution.get("ARN", "")))
    reads = {}
    for field_name, policy_id in cloudfront_cors.policies_to_read(behaviour).items():
        call, document = cloudfront_cors.POLICY_KINDS[field_name]
        method, answer, kind = _POLICY_READS[field_name]

        def policy(
            method: str = method, policy_id: str = policy_id, answer: str = answer, document: str = document
        ) -> Any:
            return getattr(clients.cloudfront, method)(Id=policy_id)[answer][document]

        reads[policy_id] = read(call, policy, f"arn:{partition}:cloudfront::{account}:{kind}/{policy_id}", budget)
    return reads


GATHER: dict[str, Callable[[Settings, requests.Session, Clients, Budget], dict[str, Any]]] = {
    "presign": gather_presign,
    "api_preflight": gather_api_preflight,
    "bucket_config": gather_bucket_config,
    "bucket_preflight": gather_bucket_preflight,
    "canary": gather_canary,
    "ownership": gather_ownership,
    "encryption": gather_encryption,
    "bucket_location": gather_bucket_location,
    "lambda": gather_lambda,
    "distribution": gather_distribution,
}


def gather(
    settings: Settings, needs: frozenset[str], clients: Clients | None = None, budget: Budget | None = None
) -> Evidence:
    """Run the needed gatherers concurrently (independent probes) and assemble the evidence, all within ``budget``
    (a fresh ``CHECK_DEADLINE`` when None): a hop that does not answer in time is evidence, not a hang."""
    budget = budget or Budget()
    clients = clients or Clients.for_settings(settings, needs, shared=True)
    fields: dict[str, Any] = {}
    names = [name for name in GATHER if name in needs]
    with ThreadPoolExecutor(max_workers=max(1, len(names)), thread_name_prefix="gather") as pool:
        futures = {}
        for name in names:
            session = new_session()  # one per gatherer: sessions are not shared across threads
            futures[name] = (pool.submit(GATHER[name], settings, session, clients, budget), session)
        for future, session in futures.values():
            try:
                fields.update(future.result())
            finally:
                session.close()
    return Evidence(target=target_of(settings), gathered_at=datetime.now(UTC), **fields)
