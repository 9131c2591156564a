"""Upload images through the pipeline the way the web app does, and trace every hop.

For each file: validate the bytes, ask the presign endpoint for a URL (``x-extension``), PUT the bytes
with the Content-Type that was signed, then read the object back through the CDN and compare sha256.
A failure stops that file only; the rest of the batch goes on.

Faults the pipeline has in real life are met the way a careful client meets them, and each shows in
the trace: the presign endpoint's 502/503/504 and S3's 503 SlowDown are retried with backoff (the
step's ``attempts``); a presigned URL that expired before the PUT gets one fresh URL and one more PUT
(step ``presign_retry``); a URL that would send the file anywhere but the configured bucket is refused
before a byte is sent; every request has timeouts and an overall deadline.

Optionally (``strip_metadata=True``, off by default) each image is re-encoded without its metadata
(EXIF with GPS, XMP, ...) after it passes the file check; the stripped bytes are what is sent and what
the CDN read-back must return, and the file check's trace says what was removed and the size change.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, TypedDict
from urllib.parse import parse_qs, quote, urlsplit

import requests
from botocore.exceptions import BotoCoreError, ClientError
from urllib3.filepost import encode_multipart_formdata

from services.aws_model.s3errors import (
    CLOCK_SKEWED,
    SIGNATURE_MISMATCH,
    AwsErrorBody,
    is_url_expired,
    parse_s3_error,
)
from services.core.clients import CallTimedOut, bounded, shared_client
from services.core.errors import InvalidImage, PipelineError
from services.core.redact import redact_text
from services.core.settings import Settings
from services.core.transport import (
    PROBE_DEADLINE,
    TIMEOUT,
    Answer,
    AttemptLog,
    Backoff,
    Deadline,
    DeadlineExceeded,
    SessionPool,
    enforce,
    exchange,
    iter_body,
    read_body,
    retrying,
)
from services.pipeline import hops
from services.pipeline.explain import (
    Existence,
    existence_of,
    explain_cdn,
    explain_cdn_cors,
    explain_post,
    explain_put,
    explain_redirect,
    signed_headers,
)
from services.pipeline.images import ImageInfo, display_name, inspect_image, strip_metadata
from services.pipeline.preflight import (
    PRESIGN_PREFLIGHT,
    PUT_PREFLIGHT,
    PreflightVerdict,
    bucket_rules_reason,
    post_refusal,
    presign_refusal,
    put_refusal,
    send_preflight,
    upload_request,
)
from services.pipeline.presign import (
    DEFAULT_BACKOFF,
    PRESIGN_DEADLINE,
    PresignGrant,
    UrlAllowlist,
    client_content_type,
    request_grant,
)

DEFAULT_WORKERS = 8
MAX_ERROR_BODY = 16 * 1024
#: step name -> what the step is, from the pipeline's vocabulary (services/pipeline/hops.py)
HOP_NAMES = hops.STEP_TITLES
MISSING_OR_DENIED = (403, 404)


#: S3's 503 SlowDown: the same bounded, jittered backoff as the presign endpoint's 5xx
PUT_BACKOFF = Backoff(attempts=3, base=0.2, cap=2.0)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class UploadPolicy:
    """How hard the console tries, and how long it waits. Tests inject short deadlines and instant backoff.

    The PUT and the CDN read get ``deadline_base`` seconds plus the time the file takes at
    ``min_bytes_per_second``, so a 25 MB file on a slow line is not cut off but a trickle is.
    """

    presign_backoff: Backoff = DEFAULT_BACKOFF
    put_backoff: Backoff = PUT_BACKOFF
    timeout: tuple[float, float] = TIMEOUT
    presign_deadline: float = PRESIGN_DEADLINE
    deadline_base: float = 30.0
    min_bytes_per_second: float = 64 * 1024
    clock: Callable[[], datetime] = field(default=_utc_now, compare=False)

    def transfer_deadline(self, size: int) -> float:
        """Seconds for one request that moves ``size`` bytes (the PUT, the CDN read)."""
        return self.deadline_base + size / self.min_bytes_per_second


#: what upload_batch uses (looked up at call time, so a test may swap it)
DEFAULT_POLICY = UploadPolicy()


@dataclass
class Step:
    name: str
    ok: bool
    http_status: int | None = None
    ms: float = 0.0
    error: str | None = None
    cause: str | None = None
    code: str | None = None
    attempts: int | None = None  # HTTP requests this step made (retries included); None for the file check
    note: str | None = None  # what was retried or recovered from, when anything was

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class UploadResult:
    file: str
    ok: bool = False
    key: str | None = None
    cdn_url: str | None = None
    content_type: str | None = None
    sha256: str | None = None
    steps: list[Step] = field(default_factory=list)
    image: ImageInfo | None = None  # the bytes that were sent (the stripped ones, when stripping was on)
    stripped: str | None = None  # what stripping metadata removed, and the size before and after; None when off

    @property
    def failed_step(self) -> Step | None:
        return next((step for step in self.steps if not step.ok), None)

    def trace_rows(self) -> list[dict[str, str]]:
        """The steps as a table of words: step, HTTP status, milliseconds, attempts, outcome ("—" where a step has
        no such thing, e.g. the file check makes no request)."""
        return [
            {
                "step": HOP_NAMES.get(step.name, step.name),
                "HTTP status": "—" if step.http_status is None else str(step.http_status),
                "ms": f"{step.ms:.0f}",
                "attempts": "—" if step.attempts is None else str(step.attempts),
                "outcome": (f"ok — {step.note}" if step.note else "ok") if step.ok else f"failed: {step.error}",
            }
            for step in self.steps
        ]

    def to_json(self) -> dict[str, Any]:
        """The CLI's public ``--json`` shape."""
        return {
            "file": self.file,
            "ok": self.ok,
            "key": self.key,
            "cdn_url": self.cdn_url,
            "content_type": self.content_type,
            "sha256": self.sha256,
            "steps": [step.to_json() for step in self.steps],
        }


@dataclass(frozen=True)
class UploadInput:
    name: str
    data: bytes = field(repr=False)


def cdn_object_url(cdn_base: str, key: str) -> str:
    """The read URL for ``key``: the path percent-encoded as S3 and CloudFront expect (``/`` kept)."""
    return f"{cdn_base.rstrip('/')}/{quote(key, safe='/~')}"


# --- times, as S3 and this machine tell them ------------------------------------------------------------


def parse_aws_time(text: str | None) -> datetime | None:
    """A time as S3 writes it: ``20240101T000000Z``, ISO 8601, an HTTP date, or epoch milliseconds."""
    text = (text or "").strip()
    if not text:
        return None
    if text.isdigit():
        try:
            return datetime.fromtimestamp(int(text) / (1000 if len(text) > 11 else 1), UTC)
        except (OverflowError, OSError, ValueError):
            return None
    for fmt in ("%Y%m%dT%H%M%SZ", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _span(delta: timedelta) -> str:
    """A duration in words: ``20 min 5 s``, ``1 h 2 min``, ``3 s``."""
    seconds = round(abs(delta.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def _versus(delta: timedelta, other: str) -> str:
    if abs(delta.total_seconds()) < 1:
        return f"in step with {other}"
    return f"{_span(delta)} {'ahead of' if delta.total_seconds() > 0 else 'behind'} {other}"


# --- the PUT --------------------------------------------------------------------------------------------


class _UrlExpired(PipelineError):
    """S3 answered 403 AccessDenied "Request has expired": the one PUT failure a fresh URL can cure."""

    def __init__(self, message: str, *, error: AwsErrorBody, **details: Any) -> None:
        super().__init__(message, **details)
        self.error = error


def _skew_cause(error: AwsErrorBody, now: datetime) -> str:
    server = parse_aws_time(error.fields.get("ServerTime"))
    request = parse_aws_time(error.fields.get("RequestTime"))
    if server is None:
        said = f"This machine's clock read {_iso(now)}; S3 did not say its own time (no ServerTime)."
    else:
        said = (
            f"S3's clock (ServerTime) read {_iso(server)} and this machine's {_iso(now)}: this machine is "
            f"{_versus(now - server, 'S3')}."
        )
    if request is not None and server is not None:
        said += (
            f" The request was dated {_iso(request)} (RequestTime: for a presigned URL, the presign function's "
            f"clock when it signed), {_versus(request - server, 'S3')}; S3 allows 15 minutes."
        )
    return f"{said} Fix the clock that is off (NTP, e.g. timedatectl set-ntp true), then presign again."


def _expiring(grant: PresignGrant) -> str:
    """What expires in a grant: a PUT's presigned URL, a POST's policy."""
    return "presigned URL" if grant.shape == "put" else "presigned POST's policy"


def _expired_cause(
    error: AwsErrorBody, grant: PresignGrant, now: datetime, presign_ms: float, fresh_tried: bool
) -> str:
    """Why the URL (a PUT's) or the policy (a POST's) had expired when S3 received the upload, from the facts at
    hand: when it was signed and for how long (a PUT URL says so in its query), the endpoint's delay, the clocks."""
    query = parse_qs(urlsplit(grant.url).query)
    signed = parse_aws_time((query.get("X-Amz-Date") or [""])[0])
    lifetime = (query.get("X-Amz-Expires") or [""])[0]
    server = parse_aws_time(error.fields.get("ServerTime"))
    facts = [f"the presign endpoint took {presign_ms / 1000:.1f} s to answer"]
    if signed is not None and lifetime.isdigit():
        facts.insert(0, f"the URL was signed at {_iso(signed)} to live {lifetime} s")
    if server is not None:
        facts.append(f"S3's clock read {_iso(server)} and this machine's {_iso(now)}")
    said = f"The {_expiring(grant)} had expired when S3 received the {grant.shape.upper()} ({'; '.join(facts)})."
    if fresh_tried:
        return (
            f"{said} A fresh URL, used at once, had expired too: the endpoint's URLs expire before a client can "
            "use them. Raise ExpiresIn in the function (minutes, not seconds), make the endpoint answer well "
            "within it, and check the function's clock."
        )
    return f"{said} Upload sooner after presigning, or raise the function's ExpiresIn."


def _signature_cause(error: AwsErrorBody, sent_type: str, grant: PresignGrant, sent: Mapping[str, str]) -> str:
    """explain_put's verdict, told the type the endpoint says it signed (None: it did not say), the other headers
    sent (PIPELINE_CLIENT_PUT_HEADERS) and the signed headers."""
    headers = signed_headers(grant.url)
    listed = ", ".join(headers) if headers else "none listed (the URL has no X-Amz-SignedHeaders: not SigV4)"
    verdict = explain_put(403, error, sent_type, grant.url, grant.content_type, sent_headers=sent)
    others = f"; other headers sent: {', '.join(sent)}" if sent else ""
    return f"{verdict} Signed headers (X-Amz-SignedHeaders): {listed}; Content-Type sent: {sent_type!r}{others}."


def _put_cause(
    answer: Answer,
    error: AwsErrorBody,
    sent_type: str,
    grant: PresignGrant,
    sent: Mapping[str, str],
    attempts: int,
    now: datetime,
) -> str:
    if error.code == SIGNATURE_MISMATCH:
        return _signature_cause(error, sent_type, grant, sent)
    if error.code == CLOCK_SKEWED:
        return _skew_cause(error, now)
    if answer.status == 503:
        return (
            f"S3 asked to slow down ({error.code or 'HTTP 503'}) on all {attempts} attempts, with growing waits "
            "between them: the request rate on this bucket or prefix is too high right now. Try again later."
        )
    return explain_put(answer.status, error, sent_type, grant.url, sent_headers=sent)


class _PutWhere(TypedDict):
    """Where a PUT failed, as PipelineError takes it."""

    hop: str
    key: str
    bucket: str


class _PutDetails(_PutWhere):
    """Where a PUT failed and what S3 answered."""

    http_status: int
    code: str | None


def _put(session: requests.Session, grant: PresignGrant, data: bytes, sent_type: str, bucket: str, run: _Run) -> int:
    """PUT ``data`` to ``grant.url``, retrying 503 with backoff; the status, or PipelineError (_UrlExpired)."""
    policy = run.policy
    deadline = policy.transfer_deadline(len(data))
    # what the web app sends: the signed type, and the headers it is configured to send (PIPELINE_CLIENT_PUT_HEADERS)
    extra = dict(run.settings.client_put_headers)

    def attempt() -> Answer:
        return exchange(
            session,
            "PUT",
            grant.url,
            headers={"Content-Type": sent_type, **extra},
            data=data,
            deadline_s=deadline,
            limit=MAX_ERROR_BODY,
            timeout=policy.timeout,
        )

    where = _PutWhere(hop="put", key=grant.key, bucket=bucket)
    answer = _sent(attempt, run, deadline, where, "PUT")
    if 200 <= answer.status < 300:
        return answer.status
    raise _refused(
        answer,
        grant,
        where,
        run,
        explain=lambda error: _put_cause(answer, error, sent_type, grant, extra, run.log.count, policy.clock()),
    )


def post_form_body(fields: Mapping[str, str], data: bytes, content_type: str, file_name: str) -> tuple[bytes, str]:
    """A presigned POST's multipart/form-data body, as a browser's FormData builds it: every field, then the file
    (S3 ignores fields after the file). The body and its Content-Type (with the boundary)."""
    parts: list[tuple[str, Any]] = [*fields.items(), ("file", (file_name, data, content_type))]
    return encode_multipart_formdata(parts)


def _post(
    session: requests.Session, grant: PresignGrant, data: bytes, sent_type: str, bucket: str, run: _Run
) -> tuple[int, Answer]:
    """POST the form with ``data`` to ``grant.url``, retrying 503 with backoff; the status and S3's answer, or
    PipelineError (_UrlExpired when the policy had expired)."""
    policy = run.policy
    deadline = policy.transfer_deadline(len(data))
    body, form_type = post_form_body(grant.fields or {}, data, sent_type, f"upload.{grant.key.rsplit('.', 1)[-1]}")
    headers = {"Content-Type": form_type}
    if run.origin is not None:
        headers["Origin"] = run.origin  # a browser's form POST carries it, without a preflight

    def attempt() -> Answer:
        return exchange(
            session,
            "POST",
            grant.url,
            headers=headers,
            data=body,
            deadline_s=deadline,
            limit=MAX_ERROR_BODY,
            timeout=policy.timeout,
        )

    where = _PutWhere(hop="put", key=grant.key, bucket=bucket)
    answer = _sent(attempt, run, deadline, where, "upload")
    if 200 <= answer.status < 300:
        return answer.status, answer
    raise _refused(
        answer, grant, where, run, explain=lambda error: explain_post(answer.status, error, sent_type, len(data))
    )


def _refused(
    answer: Answer, grant: PresignGrant, where: _PutWhere, run: _Run, *, explain: Callable[[AwsErrorBody], str]
) -> PipelineError:
    """S3's refusal of the upload (the grant's PUT or POST) as the error to raise: _UrlExpired when the URL or the
    POST's policy had expired (the one refusal a fresh grant can cure); otherwise a PipelineError whose cause is
    ``explain``'s reading of S3's error."""
    error = parse_s3_error(answer.body)
    tries = f" ({run.log.count} attempts)" if run.log.count > 1 else ""
    message = f"S3 refused the {grant.shape.upper()}: HTTP {answer.status} {error.code or ''}".strip() + tries
    details = _PutDetails(**where, http_status=answer.status, code=error.code)
    if is_url_expired(error):
        cause = _expired_cause(error, grant, run.policy.clock(), run.presign_ms, fresh_tried=False)
        return _UrlExpired(f"{message} (the {_expiring(grant)} had expired)", error=error, **details, cause=cause)
    return PipelineError(message, **details, cause=explain(error))


def _sent(attempt: Callable[[], Answer], run: _Run, deadline: float, where: _PutWhere, what: str) -> Answer:
    """The upload's answer, a 503 retried with backoff; its transport failures as the hop's own errors, naming the
    request as ``what`` (the PUT, the upload)."""
    try:
        return retrying(attempt, lambda a: a.status == 503, run.policy.put_backoff, run.log)
    except DeadlineExceeded as err:
        raise PipelineError(
            f"S3 did not finish the {what} within {deadline:.3g} s",
            **where,
            cause="The upload or S3's answer crawled (a byte at a time): the network to S3 is too slow or a proxy "
            "stalls. Nothing was stored: S3 keeps an object only when all of it arrived.",
        ) from err
    except requests.Timeout as err:
        raise PipelineError(
            f"S3 did not answer the {what} in time", **where, cause="The network to S3 is slow or blocked; try again."
        ) from err
    except requests.RequestException as err:
        raise PipelineError(
            f"could not connect to S3 for the {what} ({type(err).__name__})",
            **where,
            cause="The presigned URL's host is unreachable from here: check the function's region and addressing style.",
        ) from err


# --- the CDN read-back ----------------------------------------------------------------------------------


def object_existence(settings: Settings, key: str) -> Existence:
    """The console's own HEAD of ``key`` (within PROBE_DEADLINE): is the object the CDN refused there? A 403 from
    the CDN is also what a missing key gets when CloudFront may not list the bucket."""
    try:
        bounded(lambda: shared_client("s3", settings.aws).head_object(Bucket=settings.bucket, Key=key), PROBE_DEADLINE)
    except ClientError as err:
        error, meta = err.response.get("Error", {}), err.response.get("ResponseMetadata", {})
        return existence_of(error.get("Code"), meta.get("HTTPStatusCode"))
    except (BotoCoreError, CallTimedOut):
        return Existence.UNKNOWN
    return Existence.PRESENT


def _refusal_kind(status: int, existence: Existence | None) -> str:
    """Which a CDN 403/404 is, as far as the console's own HEAD of the key could tell."""
    if existence is Existence.MISSING:
        return ": the object does not exist"
    if existence is Existence.PRESENT:
        return ": denied (the object exists)" if status == 403 else ": not at the CDN's origin (the object exists)"
    return ": missing or denied"


def _cdn_refusal(
    status: int, headers: Mapping[str, str], body: bytes, key: str, existence: Existence | None = None
) -> PipelineError:
    x_cache, age = headers.get("X-Cache"), headers.get("Age")
    what = _refusal_kind(status, existence) if status in MISSING_OR_DENIED else ""
    return PipelineError(
        f"CDN answered HTTP {status} for the new object{what} (X-Cache: {x_cache or 'none'}, Age: {age or 'none'})",
        hop="cdn_read",
        key=key,
        http_status=status,
        code=parse_s3_error(body).code,
        cause=explain_cdn(status, x_cache, age, parse_s3_error(body).message, existence=existence, key=key),
    )


def _cors_refused(headers: Mapping[str, str], origin: str, key: str) -> PipelineError | None:
    """The read-back as the web app's cross-origin read judges it: Access-Control-Allow-Origin for its origin."""
    allowed = headers.get("Access-Control-Allow-Origin")
    if allowed is not None and allowed.strip() in (origin, "*"):
        return None
    got = f"Access-Control-Allow-Origin: {allowed}" if allowed else "no Access-Control-Allow-Origin"
    return PipelineError(
        f"the CDN served the object with {got} for {origin}: the web app's cross-origin read is refused",
        hop="cdn_read",
        key=key,
        http_status=200,
        cause=explain_cdn_cors(origin, allowed, headers.get("X-Cache")),
    )


def _read_back(
    session: requests.Session,
    url: str,
    info: ImageInfo,
    key: str,
    policy: UploadPolicy,
    log: AttemptLog,
    origin: str | None = None,
    existence: Callable[[str], Existence] | None = None,
) -> int:
    """GET the new object through the CDN and compare its bytes; with ``origin``, as a web app at that origin
    reading it cross-origin (fetch, <img crossorigin>, canvas) does: with Origin, and refused without
    Access-Control-Allow-Origin for it. ``existence`` (the console's HEAD of the key) is asked only when the CDN
    answers 403 or 404, to tell a missing object from a refused grant."""
    deadline_s = policy.transfer_deadline(info.size)
    deadline = Deadline(deadline_s)
    digest, size = hashlib.sha256(), 0
    refused: tuple[int, Mapping[str, str], bytes] | None = None
    try:
        log.statuses.append(None)  # one attempt, never retried: a CDN error is evidence, not noise
        with (
            enforce(deadline),  # a status line or headers dripped a byte at a time are cut off too
            session.get(
                url,
                headers={"Origin": origin} if origin else None,
                timeout=deadline.timeout(policy.timeout),
                allow_redirects=False,
                stream=True,
            ) as reply,
        ):
            log.statuses[-1] = reply.status_code
            if reply.status_code != 200:
                refused = reply.status_code, reply.headers, read_body(reply, MAX_ERROR_BODY, deadline)
            cors_refusal = _cors_refused(reply.headers, origin, key) if origin and refused is None else None
            if cors_refusal is not None:
                raise cors_refusal
            for chunk in () if refused else iter_body(reply, deadline):
                digest.update(chunk)
                size += len(chunk)
                if size > info.size:
                    break  # more bytes than were uploaded: not our object, and no need to read it all
    except DeadlineExceeded as err:
        raise PipelineError(
            f"the CDN did not finish sending the object within {deadline_s:.3g} s",
            hop="cdn_read",
            key=key,
            cause="The CDN answers, but in a trickle: check the distribution and the network to it.",
        ) from err
    except requests.Timeout as err:
        raise PipelineError(
            "the CDN did not answer in time", hop="cdn_read", key=key, cause="The CDN or its origin is hanging."
        ) from err
    except requests.RequestException as err:
        raise PipelineError(
            f"could not reach the CDN ({type(err).__name__})",
            hop="cdn_read",
            key=key,
            cause="The CDN host is unreachable: check PIPELINE_CDN_URL.",
        ) from err
    if refused is not None:  # the HEAD is made after the CDN's deadline block: it has a deadline of its own
        status, headers, body = refused
        found = existence(key) if existence is not None and status in MISSING_OR_DENIED else None
        raise _cdn_refusal(status, headers, body, key, found)
    if digest.hexdigest() != info.sha256:
        raise PipelineError(
            "the CDN served different bytes than were uploaded",
            hop="cdn_read",
            key=key,
            http_status=200,
            cause="The CDN returned another object for this key (a stale cache entry, or an origin path that points elsewhere).",
        )
    return 200


# --- one file -------------------------------------------------------------------------------------------

NOTHING_SENT = "Refused before any network call: nothing was uploaded."
POSTED = "a presigned POST: the form's fields, then the file (a CORS simple request: no preflight)"


def _preflight_unanswered(step: str, url: str, err: Exception, where: Mapping[str, Any]) -> PipelineError:
    """The browser's OPTIONS got no answer: the same words as the real request's, since it meets the same fault."""
    what = "the presign endpoint" if step == "presign_preflight" else "S3"
    host = urlsplit(url).netloc
    if isinstance(err, requests.ConnectionError):
        message = f"could not connect to {what} at {host}, or it dropped the connection (the browser's preflight)"
    else:
        message = f"{what} did not answer the browser's preflight (OPTIONS) in time ({type(err).__name__})"
    cause = (
        "The endpoint is down or PIPELINE_PRESIGN_URL is wrong (host, port, scheme)."
        if step == "presign_preflight"
        else "The presigned URL's host is unreachable from here: check the function's region and addressing style."
    )
    return PipelineError(message, **where, cause=f"{cause} A browser would stop here too.")


class _Run:
    """One file's way through the hops: the step under way, its attempts, and the trace so far."""

    note: str | None  # the step's note (what was retried or recovered from), set by the step

    def __init__(
        self,
        item: UploadInput,
        settings: Settings,
        session: requests.Session,
        policy: UploadPolicy,
        strip: bool = False,
        origin: str | None = None,
    ) -> None:
        self.item, self.settings, self.session, self.policy, self.strip = item, settings, session, policy, strip
        self.origin = origin  # the browser origin whose preflights are made; None: server-side, none
        self.data = item.data  # the bytes sent: the file's own, or re-encoded without metadata
        self.result = UploadResult(file=display_name(item.name))
        self.presign_ms = 0.0
        self.begin("validate", network=False)

    def begin(self, step: str, network: bool = True) -> None:
        self.step, self.note, self.paused_ms = step, None, 0.0
        self.log = AttemptLog()
        self.network = network
        self.started = time.perf_counter()

    def ms(self) -> float:
        return round((time.perf_counter() - self.started) * 1000 - self.paused_ms, 1)

    def _attempts(self) -> int | None:
        return self.log.count if self.network else None

    def done(self, status: int | None = None) -> float:
        ms = self.ms()
        note = self.note or self.log.note()
        self.result.steps.append(Step(self.step, True, status, ms, attempts=self._attempts(), note=note))
        return ms

    def failed(self, err: InvalidImage | PipelineError) -> None:
        if isinstance(err, PipelineError):
            step = Step(
                self.step,
                False,
                err.http_status,
                self.ms(),
                error=redact_text(str(err)),
                cause=err.cause,
                code=err.code,
                attempts=self._attempts(),
                note=self.log.note(),
            )
        else:
            step = Step(self.step, False, ms=self.ms(), error=str(err), cause=NOTHING_SENT)
        self.result.steps.append(step)

    def preflight(self, url: str, method: str, headers: tuple[str, ...]) -> PreflightVerdict:
        """The browser's OPTIONS before the real request; PipelineError (hop = this step) when it would stop there."""
        assert self.origin is not None
        where = {"hop": self.step, "bucket": self.settings.bucket}
        self.log.statuses.append(None)
        try:
            answer, verdict = send_preflight(
                self.session, url, self.origin, method, headers, timeout=self.policy.timeout
            )
        except (requests.RequestException, DeadlineExceeded) as err:
            raise _preflight_unanswered(self.step, url, err, where) from err
        self.log.statuses[-1] = answer.status
        if verdict.allowed:
            return verdict
        code = parse_s3_error(answer.body).code if self.step == "put_preflight" else None
        if self.step == "put_preflight" and 300 <= verdict.status < 400:
            # the Fetch standard fails a CORS preflight answered with a redirect: the browser never sends the PUT
            cause = "A browser's CORS preflight cannot follow a redirect. " + explain_redirect(
                verdict.status, parse_s3_error(answer.body)
            )
        elif self.step == "presign_preflight":
            cause = presign_refusal(
                verdict, self.settings.presign_url, self.settings.app_origins, self.settings.aws.region
            )
        else:
            reason = bucket_rules_reason(
                lambda: shared_client("s3", self.settings.aws).get_bucket_cors(Bucket=self.settings.bucket)[
                    "CORSRules"
                ],
                self.origin,
            )
            cause = put_refusal(verdict, self.settings.bucket, code, reason)
        what = "the presign call" if self.step == "presign_preflight" else "the PUT"
        raise PipelineError(
            f"the browser's preflight from {self.origin} was refused (HTTP {verdict.status}): it would block {what}",
            **where,
            http_status=verdict.status,
            code=code,
            cause=cause,
        )

    def presign(self, info: ImageInfo, sent_type: str) -> PresignGrant:
        return request_grant(
            self.session,
            self.settings.presign_url,
            info.ext,
            sent_type,
            allowlist=UrlAllowlist.from_settings(self.settings),
            backoff=self.policy.presign_backoff,
            deadline_s=self.policy.presign_deadline,
            timeout=self.policy.timeout,
            log=self.log,
            origin=self.origin,
        )

    def fresh_grant(self, info: ImageInfo, sent_type: str, expired: _UrlExpired) -> PresignGrant:
        """The one fresh presign after an expired URL, traced as step ``presign_retry``."""
        started, put_log = time.perf_counter(), self.log
        self.log = AttemptLog()
        try:
            fresh = self.presign(info, sent_type)
        except PipelineError:
            retry_log, self.log = self.log, put_log
            self.paused_ms += (time.perf_counter() - started) * 1000
            expired.cause = f"{expired.cause} A fresh URL was asked for once; the presign endpoint failed (next step)."
            self.failed(expired)
            self.begin("presign_retry")
            self.log, self.started = retry_log, started
            raise
        retry_ms = round((time.perf_counter() - started) * 1000, 1)
        note = "the first presigned URL had expired before the PUT; asked once for a fresh one"
        self.result.steps.append(
            Step("presign_retry", True, fresh.http_status, retry_ms, attempts=self.log.count, note=note)
        )
        self.log, self.paused_ms = put_log, self.paused_ms + retry_ms
        self.presign_ms = retry_ms
        return fresh

    def send(self, grant: PresignGrant, content_type: str) -> int:
        """The upload itself: a PUT to the presigned URL, or the form POST of a presigned POST (whose answer, from a
        browser origin, must also carry Access-Control-Allow-Origin: the browser sends no preflight for it)."""
        bucket = self.settings.bucket
        if grant.fields is None:
            return _put(self.session, grant, self.data, content_type, bucket, self)
        status, answer = _post(self.session, grant, self.data, content_type, bucket, self)
        if self.origin is not None:
            self.check_post_answer(answer, grant)
        self.note = self.note or POSTED
        return status

    def check_post_answer(self, answer: Answer, grant: PresignGrant) -> None:
        """The browser reads S3's answer to its form POST only with Access-Control-Allow-Origin for its origin."""
        assert self.origin is not None
        allowed = next((v for k, v in answer.headers.items() if k.lower() == "access-control-allow-origin"), None)
        if allowed is not None and allowed.strip() in (self.origin, "*"):
            return
        method_headers = upload_request("post")
        reason = bucket_rules_reason(
            lambda: shared_client("s3", self.settings.aws).get_bucket_cors(Bucket=self.settings.bucket)["CORSRules"],
            self.origin,
            method_headers,
        )
        raise PipelineError(
            f"S3 answered the form POST (HTTP {answer.status}) without Access-Control-Allow-Origin for {self.origin}: "
            "the browser hides it from the web app",
            hop="put",
            key=grant.key,
            bucket=self.settings.bucket,
            http_status=answer.status,
            cause=post_refusal(self.origin, answer.status, answer.headers, self.settings.bucket, reason),
        )

    def put(self, info: ImageInfo, grant: PresignGrant, sent_type: str) -> tuple[PresignGrant, int]:
        """The upload; after an expired URL (or POST policy), one fresh grant and one more try. The grant used, and
        S3's status."""
        bucket = self.settings.bucket
        try:
            return grant, self.send(grant, grant.content_type or sent_type)
        except _UrlExpired as expired:
            fresh = self.fresh_grant(info, sent_type, expired)
        self.result.key, self.result.content_type = fresh.key, fresh.content_type or sent_type
        try:
            status = self.send(fresh, self.result.content_type)
        except _UrlExpired as again:
            cause = _expired_cause(again.error, fresh, self.policy.clock(), self.presign_ms, fresh_tried=True)
            raise PipelineError(
                f"S3 refused the {fresh.shape.upper()}: the presigned "
                f"{'URL expired even after a fresh URL' if fresh.shape == 'put' else 'POST expired even after a fresh POST'}"
                " (HTTP 403 AccessDenied)",
                hop="put",
                http_status=again.http_status,
                code=again.code,
                key=fresh.key,
                bucket=bucket,
                cause=cause,
            ) from again
        self.note = "the first presigned URL had expired (403 Request has expired); the PUT went up with a fresh one"
        return fresh, status

    def check(self) -> ImageInfo:
        """The file check; with stripping on, the re-encoded bytes become the ones sent (and checked again)."""
        info = inspect_image(self.item.name, self.item.data)
        if self.strip:
            stripped = strip_metadata(self.item.name, self.item.data, info)
            self.data, info = stripped.data, stripped.info
            self.note = self.result.stripped = stripped.summary()
        return info

    def run(self) -> UploadResult:
        result = self.result
        try:
            info = self.check()
            result.image, result.sha256 = info, info.sha256
            self.done()

            if self.origin is not None:
                self.begin("presign_preflight")
                self.done(self.preflight(self.settings.presign_url, *PRESIGN_PREFLIGHT).status)

            self.begin("presign")
            sent_type = client_content_type(self.settings.client_content_type, info.ext, info.mime)
            grant = self.presign(info, sent_type)
            result.key, result.content_type = grant.key, grant.content_type or sent_type
            self.presign_ms = self.done(grant.http_status)

            if self.origin is not None and grant.fields is None:
                # a presigned POST's form is a CORS simple request: no preflight (its answer is checked instead)
                self.begin("put_preflight")
                method, requested = PUT_PREFLIGHT  # and the browser asks for every other header its PUT sends
                extra = tuple(name for name, _ in self.settings.client_put_headers)
                self.done(self.preflight(grant.url, method, (*requested, *extra)).status)

            self.begin("put")
            grant, status = self.put(info, grant, sent_type)
            self.done(status)

            self.begin("cdn_read")
            url = cdn_object_url(self.settings.cdn_base(), grant.key)
            # a web app that reads images cross-origin reads the new one from its origin; a plain <img> sends none
            reader = self.origin if self.settings.app_reads_cross_origin else None
            status = _read_back(
                self.session,
                url,
                info,
                grant.key,
                self.policy,
                self.log,
                reader,
                lambda key: object_existence(self.settings, key),
            )
            result.cdn_url = url
            self.done(status)
            result.ok = True
        except (InvalidImage, PipelineError) as err:
            self.failed(err)
        return result


def upload_one(
    item: UploadInput,
    settings: Settings,
    session: requests.Session,
    policy: UploadPolicy | None = None,
    *,
    strip_metadata: bool = False,
    origin: str | None = None,
) -> UploadResult:
    """Run one file through every hop; never raises for anything the pipeline or the file does wrong.

    ``strip_metadata`` (off by default) re-encodes the image without its metadata before it is sent:
    the upload then stores other bytes than the file's (see services.pipeline.images.strip_metadata).
    ``origin`` (a web app origin; None: server-side) makes the browser's preflights first, steps
    ``presign_preflight`` and ``put_preflight``: a refused one stops the file as the browser would.
    Choose it with services.pipeline.preflight.chosen_origin.
    """
    return _Run(item, settings, session, policy or DEFAULT_POLICY, strip_metadata, origin).run()


def failed_input(name: str, step: str, message: str, cause: str) -> UploadResult:
    """A result for a file that could not even be read (the CLI's missing or unreadable paths)."""
    result = UploadResult(file=display_name(name))
    result.steps.append(Step(name=step, ok=False, error=message, cause=cause))
    return result


def upload_batch(
    items: Sequence[UploadInput],
    settings: Settings,
    workers: int = DEFAULT_WORKERS,
    should_stop: Callable[[], bool] | None = None,
    *,
    strip_metadata: bool = False,
    origin: str | None = None,
) -> Iterator[tuple[int, UploadResult]]:
    """Upload ``items`` concurrently; yield ``(index, result)`` in the calling thread as each finishes.

    Yielding in the caller's thread lets a page update its progress bar as results arrive.
    ``strip_metadata`` and ``origin`` as for :func:`upload_one`, for every file.
    """
    if not items:
        return
    workers = max(1, min(workers, len(items)))
    with (
        SessionPool(pool_size=2) as pool,
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="upload") as executor,
    ):

        def work(item: UploadInput) -> UploadResult:
            # pool.get() runs in the worker: one session each
            return upload_one(item, settings, pool.get(), strip_metadata=strip_metadata, origin=origin)

        futures = {executor.submit(work, item): index for index, item in enumerate(items)}
        for future in as_completed(futures):
            yield futures[future], future.result()
            if should_stop is not None and should_stop():
                for pending in futures:
                    pending.cancel()
                break
