"""Upload images through the pipeline the way the web app does, and trace every hop.

For each file: validate the bytes, ask the presign endpoint for a URL (``x-extension``), PUT the bytes
with the Content-Type that was signed, then read the object back through the CDN and compare sha256.
A failure stops that file only; the rest of the batch goes on.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote

import requests

from services.errors import InvalidImage, PipelineError
from services.explain import explain_cdn, explain_put, parse_s3_error
from services.images import ImageInfo, display_name, inspect_image
from services.presign import PresignGrant, client_content_type, request_grant
from services.redact import redact_text
from services.settings import Settings
from services.transport import TIMEOUT, SessionPool

STEPS = ("validate", "presign", "put", "cdn_read")
DEFAULT_WORKERS = 8
MAX_ERROR_BODY = 16 * 1024
HOP_NAMES = {
    "validate": "file check (before anything is sent)",
    "presign": "presign endpoint (API Gateway + Lambda)",
    "put": "S3 upload (PUT to the presigned URL)",
    "cdn_read": "CDN read-back (CloudFront)",
}


@dataclass
class Step:
    name: str
    ok: bool
    http_status: int | None = None
    ms: float = 0.0
    error: str | None = None
    cause: str | None = None
    code: str | None = None

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
    image: ImageInfo | None = None

    @property
    def failed_step(self) -> Step | None:
        return next((step for step in self.steps if not step.ok), None)

    def trace_rows(self) -> list[dict[str, Any]]:
        """The steps as a table: step, HTTP status, milliseconds, outcome."""
        return [
            {
                "step": HOP_NAMES.get(step.name, step.name),
                "HTTP status": step.http_status,
                "ms": step.ms,
                "outcome": "ok" if step.ok else f"failed: {step.error}",
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


class _Timer:
    def __enter__(self) -> _Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.ms = round((time.perf_counter() - self.start) * 1000, 1)


def _put(session: requests.Session, grant: PresignGrant, data: bytes, content_type: str, bucket: str) -> int:
    try:
        reply = session.put(
            grant.url, data=data, headers={"Content-Type": content_type}, timeout=TIMEOUT, allow_redirects=False
        )
    except requests.Timeout as err:
        raise PipelineError(
            "S3 did not answer the PUT in time",
            hop="put",
            key=grant.key,
            bucket=bucket,
            cause="The network to S3 is slow or blocked; try again.",
        ) from err
    except requests.RequestException as err:
        raise PipelineError(
            f"could not connect to S3 for the PUT ({type(err).__name__})",
            hop="put",
            key=grant.key,
            bucket=bucket,
            cause="The presigned URL's host is unreachable from here: check the function's region and addressing style.",
        ) from err
    with reply:
        if 200 <= reply.status_code < 300:
            return reply.status_code
        error = parse_s3_error(reply.content[:MAX_ERROR_BODY])
    raise PipelineError(
        f"S3 refused the PUT: HTTP {reply.status_code} {error.code or ''}".strip(),
        hop="put",
        http_status=reply.status_code,
        code=error.code,
        key=grant.key,
        bucket=bucket,
        cause=explain_put(reply.status_code, error, content_type, grant.url),
    )


def _read_back(session: requests.Session, url: str, expected_sha256: str, key: str) -> int:
    try:
        reply = session.get(url, timeout=TIMEOUT, allow_redirects=False, stream=True)
    except requests.RequestException as err:
        raise PipelineError(
            f"could not reach the CDN ({type(err).__name__})",
            hop="cdn_read",
            key=key,
            cause="The CDN host is unreachable: check PIPELINE_CDN_URL.",
        ) from err
    with reply:
        if reply.status_code != 200:
            x_cache, age = reply.headers.get("X-Cache"), reply.headers.get("Age")
            error = parse_s3_error(reply.raw.read(MAX_ERROR_BODY, decode_content=True))
            raise PipelineError(
                f"CDN answered HTTP {reply.status_code} for the new object",
                hop="cdn_read",
                key=key,
                http_status=reply.status_code,
                code=error.code,
                cause=explain_cdn(reply.status_code, x_cache, age),
            )
        digest = hashlib.sha256()
        for chunk in reply.iter_content(64 * 1024):
            digest.update(chunk)
    if digest.hexdigest() != expected_sha256:
        raise PipelineError(
            "the CDN served different bytes than were uploaded",
            hop="cdn_read",
            key=key,
            http_status=200,
            cause="The CDN returned another object for this key (a stale cache entry, or an origin path that points elsewhere).",
        )
    return reply.status_code


def _record(result: UploadResult, name: str, timer: _Timer, status: int | None = None) -> None:
    result.steps.append(Step(name=name, ok=True, http_status=status, ms=timer.ms))


NOTHING_SENT = "Refused before any network call: nothing was uploaded."


def _record_error(result: UploadResult, name: str, err: InvalidImage | PipelineError, ms: float) -> None:
    if isinstance(err, PipelineError):
        step = Step(
            name=name,
            ok=False,
            http_status=err.http_status,
            ms=ms,
            error=redact_text(str(err)),
            cause=err.cause,
            code=err.code,
        )
    else:
        step = Step(name=name, ok=False, ms=ms, error=str(err), cause=NOTHING_SENT)
    result.steps.append(step)


def upload_one(item: UploadInput, settings: Settings, session: requests.Session) -> UploadResult:
    """Run one file through every hop; never raises for anything the pipeline or the file does wrong."""
    result = UploadResult(file=display_name(item.name))
    step = "validate"
    timer = _Timer()
    try:
        with timer:
            info = inspect_image(item.name, item.data)
        result.image, result.sha256 = info, info.sha256
        _record(result, step, timer)

        step = "presign"
        sent_type = client_content_type(settings.client_content_type, info.ext, info.mime)
        with timer:
            grant = request_grant(session, settings.presign_url, info.ext, sent_type)
        result.key = grant.key
        result.content_type = grant.content_type or sent_type
        _record(result, step, timer, grant.http_status)

        step = "put"
        with timer:
            status = _put(session, grant, item.data, result.content_type, settings.bucket)
        _record(result, step, timer, status)

        step = "cdn_read"
        url = cdn_object_url(settings.cdn_base(), grant.key)
        with timer:
            status = _read_back(session, url, info.sha256, grant.key)
        result.cdn_url = url
        _record(result, step, timer, status)
        result.ok = True
    except (InvalidImage, PipelineError) as err:
        _record_error(result, step, err, round((time.perf_counter() - timer.start) * 1000, 1))
    return result


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
) -> Iterator[tuple[int, UploadResult]]:
    """Upload ``items`` concurrently; yield ``(index, result)`` in the calling thread as each finishes.

    Yielding in the caller's thread lets a page update its progress bar as results arrive.
    """
    if not items:
        return
    workers = max(1, min(workers, len(items)))
    with (
        SessionPool(pool_size=2) as pool,
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="upload") as executor,
    ):

        def work(item: UploadInput) -> UploadResult:
            return upload_one(item, settings, pool.get())  # pool.get() runs in the worker: one session each

        futures = {executor.submit(work, item): index for index, item in enumerate(items)}
        for future in as_completed(futures):
            yield futures[future], future.result()
            if should_stop is not None and should_stop():
                for pending in futures:
                    pending.cancel()
                break
