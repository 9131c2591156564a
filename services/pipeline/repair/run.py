"""One repair run: scan (and, when applying, fix) every object under a prefix, with bounded concurrency,
progress, a stop switch and a checkpoint; then invalidate what changed at the CDN.

Memory stays flat whatever the bucket's size: the listing is read a page at a time, at most ``2 × workers``
objects are in flight, the counts are counters and only the first ``limit`` notable objects are kept for the report.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.core import writes
from services.core.clients import make_client
from services.core.settings import Settings
from services.pipeline.browse import display_key, invalidation_path
from services.pipeline.repair.apply import Outcome, bucket_ownership, fix_object
from services.pipeline.repair.cdn import Invalidator, wildcard_path
from services.pipeline.repair.checkpoint import Checkpoint, checkpoint_name, default_state_dir
from services.pipeline.repair.decide import FIX, ObjectState, Planned, Tally, decide
from services.pipeline.repair.scan import KeyCounter, Listed, Pacer, iter_listing, read_state

DEFAULT_WORKERS = 16
CHECKPOINT_SECONDS = 2.0
PROGRESS_SECONDS = 0.5


#: applying a repair was asked for without the bucket's name (and on production the profile's) typed to confirm it
ConfirmationMismatch = writes.NotConfirmed


@dataclass(frozen=True)
class RepairOptions:
    prefix: str = ""
    cache_control: str | None = None  # None: keep each object's Cache-Control
    apply: bool = False
    workers: int = DEFAULT_WORKERS
    limit: int = 1000  # objects kept for the report (the counts are never capped)
    wildcard: bool = False  # invalidate one wildcard path for the prefix instead of each changed object
    #: count the keys in a second listing for the ETA (one list request more per 1,000 objects)
    count_total: bool = True

    def identity(self) -> dict[str, Any]:
        """What a checkpoint must match to be continued (a run with other labels starts over)."""
        return {"prefix": self.prefix, "cache_control": self.cache_control}


@dataclass(frozen=True)
class Progress:
    scanned: int
    total: int | None  # None until the counting listing has finished
    to_fix: int
    applied: int
    failed: int
    elapsed: float

    @property
    def rate(self) -> float:
        return self.scanned / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        if self.total is None or self.rate <= 0:
            return None
        return max(0.0, (self.total - self.scanned) / self.rate)

    @property
    def fraction(self) -> float | None:
        return None if not self.total else min(1.0, self.scanned / self.total)

    def text(self) -> str:
        of = f"/{self.total:,}" if self.total is not None else ""
        eta = f", ETA {self.eta:,.0f} s" if self.eta is not None else ""
        done = f", {self.applied:,} fixed, {self.failed:,} failed" if self.applied or self.failed else ""
        return f"{self.scanned:,}{of} objects, {self.rate:,.0f}/s{eta}; {self.to_fix:,} to fix{done}"


@dataclass
class RepairReport:
    bucket: str
    prefix: str
    applied_mode: bool
    tally: Tally
    invalidation: dict[str, Any] | None = None
    stopped: bool = False
    resumed_after: str | None = None
    throttled: int = 0
    elapsed: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 nothing left to fix; 1 something is (a plan), or a fix failed or the run stopped (apply)."""
        if self.applied_mode:
            return 1 if self.tally.failed_count or self.stopped else 0
        return 1 if self.tally.to_fix or self.stopped else 0

    def to_json(self) -> dict[str, Any]:
        tally = self.tally
        return {
            "bucket": self.bucket,
            "prefix": self.prefix,
            "mode": "apply" if self.applied_mode else "plan",
            "scanned": tally.scanned,
            "to_fix": tally.to_fix,
            "not_images": tally.not_images,
            "unreadable": tally.unreadable,
            "extension_mismatches": tally.mismatched,
            "by_stored_type": dict(sorted(tally.by_stored_type.items())),
            "objects": [planned.to_json() for planned in tally.objects],
            "applied": tally.applied,
            "failed": list(tally.failed),
            "failed_count": tally.failed_count,
            "invalidation": self.invalidation,
            "stopped": self.stopped,
            "resumed_after": self.resumed_after,
            "throttled": self.throttled,
            "seconds": round(self.elapsed, 3),
            "notes": list(self.notes),
        }


class _Watermark:
    """The last key such that it and every key listed before it is done (objects finish out of order)."""

    def __init__(self, start: str | None) -> None:
        self.key = start
        self._pending: deque[tuple[int, str]] = deque()
        self._done: set[int] = set()

    def started(self, seq: int, key: str) -> None:
        self._pending.append((seq, key))

    def finished(self, seq: int) -> None:
        self._done.add(seq)
        while self._pending and self._pending[0][0] in self._done:
            first, key = self._pending.popleft()
            self._done.discard(first)
            self.key = key


def acl_note(ownership: str | None) -> str:
    """What an applying run does about object ACLs on a bucket that has them."""
    named = f"Object Ownership is {ownership}" if ownership else "the bucket has no Object Ownership controls"
    return (
        f"{named}, so its objects have ACLs and a copy would make them private: each object's grants were read "
        "(GetObjectAcl) and given to its copy."
    )


def repair_clients(settings: Settings, workers: int = DEFAULT_WORKERS) -> tuple[Any, Any]:
    """(S3, CloudFront) clients for a run: the S3 one with a connection per worker, plus the counting listing's."""
    s3 = make_client("s3", settings.aws, max_pool_connections=workers + 2)
    return s3, make_client("cloudfront", settings.aws)


def check_apply_allowed(settings: Settings, confirm: str | None, confirm_profile: str | None = None) -> None:
    """Refuse to apply unless writes are on and the bucket's name was typed, and on a production profile the
    profile's name as well (before any request)."""
    bucket = writes.Confirmation("bucket", settings.bucket)
    writes.require(settings, f"Repairing the objects of {settings.bucket!r}", bucket, confirm, confirm_profile)


def checkpoint_for(settings: Settings, prefix: str, state_dir: Path | None = None) -> Checkpoint:
    endpoint = settings.aws.s3_endpoint_url or settings.aws.endpoint_url or f"aws:{settings.aws.region or ''}"
    return Checkpoint(state_dir or default_state_dir(), checkpoint_name(endpoint, settings.bucket, prefix))


@dataclass
class _Run:
    s3: Any
    bucket: str
    options: RepairOptions
    pacer: Pacer
    checkpoint: Checkpoint | None
    invalidator: Invalidator | None

    sink: Callable[[ObjectState, Planned], None] | None = None
    keep_acl: bool = False  # the bucket's objects have ACLs: each copy is given its object's grants

    def work(self, listed: Listed) -> tuple[ObjectState, Planned, Outcome | None]:
        """Runs in a worker thread: read the object, decide, and (applying) fix it."""
        state = read_state(self.s3, self.bucket, listed, self.pacer)
        planned = decide(state, self.options.cache_control)
        if not self.options.apply or planned.action != FIX:
            return state, planned, None
        if self.checkpoint is not None:
            self.checkpoint.note(invalidation_path(listed.key))
        return state, planned, fix_object(self.s3, self.bucket, state, planned, self.pacer, self.keep_acl)


def run_repair(
    s3: Any,
    settings: Settings,
    options: RepairOptions,
    *,
    cloudfront: Any = None,
    confirm: str | None = None,
    confirm_profile: str | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    stop: threading.Event | None = None,
    state_dir: Path | None = None,
    pacer: Pacer | None = None,
    sink: Callable[[ObjectState, Planned], None] | None = None,
) -> RepairReport:
    """Scan the objects under ``options.prefix``; plan (the default) or, with ``options.apply``, fix them.

    Applying needs writes on (``PIPELINE_ALLOW_WRITES``; WritesDisabled otherwise) and ``confirm`` equal to the
    bucket's name, and on a production profile ``confirm_profile`` equal to its name (ConfirmationMismatch). An applying run continues from its checkpoint, if one was left.
    ``sink`` sees every scanned object and its verdict, in the calling thread (the Batch Operations manifests).
    Raises BrowseError when the bucket cannot be listed; per-object failures are in the report.
    """
    if options.apply:
        check_apply_allowed(settings, confirm, confirm_profile)
    stop = stop or threading.Event()
    pacer = pacer or Pacer()
    tally = Tally(limit=options.limit)
    report = RepairReport(settings.bucket, options.prefix, options.apply, tally)
    checkpoint = checkpoint_for(settings, options.prefix, state_dir) if options.apply else None
    invalidator = None
    if options.apply:
        invalidator = Invalidator(cloudfront, settings.distribution_id)
        if options.wildcard:
            invalidator.wildcard = wildcard_path(options.prefix)
    start_after = _resume(checkpoint, options, tally, invalidator, report)
    run = _Run(s3, settings.bucket, options, pacer, checkpoint, invalidator, sink)
    if options.apply:
        ownership, run.keep_acl = bucket_ownership(s3, settings.bucket)
        if run.keep_acl:
            report.notes.append(acl_note(ownership))
    started = time.monotonic()
    counter = KeyCounter(s3, settings.bucket, options.prefix, start_after) if options.count_total else None
    resumed_scanned = tally.scanned

    def progress() -> Progress:
        counted = None if counter is None else counter.total
        total = None if counted is None else counted + resumed_scanned
        return Progress(
            tally.scanned, total, tally.to_fix, tally.applied, tally.failed_count, time.monotonic() - started
        )

    try:
        report.stopped = _drive(run, tally, start_after, stop, progress, on_progress)
    finally:
        if counter is not None:
            counter.close()
        report.elapsed = time.monotonic() - started
        report.throttled = pacer.throttled
        if invalidator is not None:
            invalidator.flush()
            report.invalidation = invalidator.summary()
        if checkpoint is not None and invalidator is not None:
            checkpoint.compact(invalidator.buffered)
    if checkpoint is not None and not report.stopped and not (invalidator and invalidator.buffered):
        checkpoint.remove()
    if on_progress is not None:
        on_progress(progress())
    return report


def _resume(
    checkpoint: Checkpoint | None,
    options: RepairOptions,
    tally: Tally,
    invalidator: Invalidator | None,
    report: RepairReport,
) -> str | None:
    """Continue a stopped run: its counts, the key it reached and the CDN paths it still owed."""
    if checkpoint is None or invalidator is None:
        return None
    for path in checkpoint.pending_paths():
        invalidator.add(path, is_path=True)
    saved = checkpoint.load()
    if not saved:
        return None
    if saved.get("options") != options.identity():
        report.notes.append("A stopped run with other options was found: this run starts over from the first key.")
        return None
    tally.restore(dict(saved.get("counts") or {}))
    after = saved.get("after")
    report.resumed_after = after if isinstance(after, str) else None
    if report.resumed_after:
        report.notes.append(f"Continued a stopped run after {display_key(report.resumed_after)!r}.")
    return report.resumed_after


def _drive(
    run: _Run,
    tally: Tally,
    start_after: str | None,
    stop: threading.Event,
    progress: Callable[[], Progress],
    on_progress: Callable[[Progress], None] | None,
) -> bool:
    """The scan loop, in the calling thread; returns whether it stopped before the end."""
    mark = _Watermark(start_after)
    inflight: dict[Future[tuple[ObjectState, Planned, Outcome | None]], int] = {}
    last_save = last_progress = time.monotonic()
    bound = max(2, run.options.workers * 2)

    def settle(done: set[Future[tuple[ObjectState, Planned, Outcome | None]]]) -> None:
        for future in done:
            seq = inflight.pop(future)
            state, planned, outcome = future.result()
            tally.count(planned)
            if run.sink is not None:
                run.sink(state, planned)
            if outcome is not None:
                tally.outcome(outcome.key, outcome.result, outcome.reason, outcome.code)
                path = invalidation_path(outcome.key)
                if outcome.result == "fixed" and run.invalidator is not None:
                    run.invalidator.add(path, is_path=True)
                if run.checkpoint is not None:
                    run.checkpoint.settle(path)
            mark.finished(seq)

    def tick(force: bool = False) -> None:
        nonlocal last_save, last_progress
        now = time.monotonic()
        if (
            run.checkpoint is not None
            and run.invalidator is not None
            and (force or now - last_save >= CHECKPOINT_SECONDS)
        ):
            run.checkpoint.save(mark.key, run.options.identity(), tally.counts(), run.invalidator.buffered)
            last_save = now
        if on_progress is not None and (force or now - last_progress >= PROGRESS_SECONDS):
            on_progress(progress())
            last_progress = now

    stopped = False
    with ThreadPoolExecutor(max_workers=run.options.workers, thread_name_prefix="repair") as pool:
        try:
            for seq, listed in enumerate(iter_listing(run.s3, run.bucket, run.options.prefix, start_after)):
                if stop.is_set():
                    stopped = True
                    break
                while len(inflight) >= bound:
                    done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                    settle(done)
                    tick()
                inflight[pool.submit(run.work, listed)] = seq
                mark.started(seq, listed.key)
            while inflight:
                done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                settle(done)
                tick()
        except BaseException:
            stop.set()
            for future in list(inflight):
                if future.cancel():
                    del inflight[future]
            settle(wait(inflight).done)  # the objects being read or copied finish and are counted
            tick(force=True)
            raise
    tick(force=True)
    return stopped
