"""The repair at scale: scan throughput against bare boto3 HEADs, memory over 100,000 objects, and the issue's
done-when at 1,000 seed-style objects.

    python bench/repair.py [--objects 100000] [--prefix 2021/01/] [--workers 16] [--rounds 3] [--seed-objects 1000]
                           [--no-write]

- Throughput: ``run_repair`` (a plan: the streaming listing, one ranged GET per object, the decision; plus the
  counting listing that gives the ETA) over one prefix of the bucket, against a bare script: the same paginator
  listing, ``head_object`` for every key from a thread pool of the same size, nothing else. Same client settings,
  same bucket, alternating rounds, medians.
- Memory: the whole bucket scanned twice, read at every progress report (every 0.5 s). Flat is judged on what
  the run keeps, which must not grow with the objects scanned (no per-object state beyond the report's capped
  lists and the checkpoint on disk): the Python heap (tracemalloc) and RSS after glibc's ``malloc_trim(0)``, read
  in one scan. RSS as it stands (and glibc's arenas: in use, freed but kept) comes from the other scan, untraced
  and untrimmed, and is shown, not judged: glibc keeps memory the 16 worker threads freed in its arenas, and RSS
  counts it until a trim gives it back.
- Done-when: a fresh prefix of ``--seed-objects`` objects stored the seed's way (``application/png``, no
  Cache-Control; some JPEGs named .png) plus 10 % images stored right and 5 % non-images named .png, put over HTTP;
  then plan, apply, the CDN's Content-Type, a second run.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _common

from services.core.clients import make_client
from services.core.transport import new_session
from services.pipeline.repair.run import Progress, RepairOptions, repair_clients, run_repair
from services.pipeline.upload import cdn_object_url
from tests.repair_data import LONG_CACHE, put_seed_prefix

TARGET_RATIO = 0.8
#: flat: what the run keeps (Python heap; RSS after malloc_trim) grows by less than this per object scanned,
#: between the 20-30 % and 90-100 % stretches of the bucket
FLAT_BYTES_PER_OBJECT = 64


def bare_heads(s3: Any, bucket: str, prefix: str, workers: int) -> int:
    """A bare script's scan: list, and HEAD every key from a pool of ``workers`` threads."""
    count = 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys = [item["Key"] for item in page.get("Contents", ())]
            for _ in pool.map(lambda key: s3.head_object(Bucket=bucket, Key=key), keys):
                count += 1
    return count


def throughput(sandbox: Any, args: argparse.Namespace) -> dict[str, list[tuple[float, int, _common.Sample]]]:
    settings = sandbox.settings()
    s3, _ = repair_clients(settings, args.workers)
    bare_client = make_client("s3", settings.aws, max_pool_connections=args.workers + 2)
    options = RepairOptions(prefix=args.prefix, workers=args.workers)
    variants = {
        "console": lambda: run_repair(s3, settings, options).tally.scanned,
        "no_eta": lambda: run_repair(s3, settings, dataclasses.replace(options, count_total=False)).tally.scanned,
        "bare": lambda: bare_heads(bare_client, settings.bucket, args.prefix, args.workers),
    }
    for run in variants.values():
        run()  # warm clients and connections, untimed
    out: dict[str, list[tuple[float, int, _common.Sample]]] = {name: [] for name in variants}
    names = list(variants)
    for round_no in range(args.rounds):
        for name in names[round_no % len(names) :] + names[: round_no % len(names)]:  # rotate the order
            with _common.measured(sandbox.process.pid) as sample:
                count = variants[name]()
            out[name].append((count / sample.wall, count, sample))
    return out


@dataclass(frozen=True, slots=True)
class MemoryPoint:
    """One progress report of a memory pass."""

    scanned: int
    seconds: float
    rss: int | None  # as the process stands (the plain pass), or after malloc_trim(0) (the kept pass, on glibc)
    heap: int | None = None  # the Python heap, tracemalloc's traced memory (the kept pass)
    malloc_used: int | None = None  # glibc's mallinfo2: handed out and not freed (the plain pass)
    malloc_free: int | None = None  # glibc's mallinfo2: freed, held in its arenas (the plain pass)


def memory(sandbox: Any, args: argparse.Namespace) -> dict[str, list[MemoryPoint]]:
    """Two scans of the whole bucket, each read at every progress report (every 0.5 s):

    - ``plain``: nothing traced or trimmed, as a user runs it: RSS, and glibc's arena picture (in use / free);
    - ``kept``: what the run keeps: the Python heap (tracemalloc; a per-object list or set shows there) and RSS
      after ``malloc_trim(0)`` (memory glibc holds for the 16 worker threads' arenas after they freed it is given
      back first). The trims change what RSS is between reports, so raw RSS comes from the plain scan."""
    settings = sandbox.settings()
    s3, _ = repair_clients(settings, args.workers)
    options = RepairOptions(workers=args.workers, limit=100)
    plain: list[MemoryPoint] = []
    kept: list[MemoryPoint] = []

    def plain_sample(progress: Progress) -> None:
        used, free = _common.malloc_bytes() or (None, None)
        plain.append(MemoryPoint(progress.scanned, progress.elapsed, _common.rss_bytes(), None, used, free))

    def kept_sample(progress: Progress) -> None:
        heap = tracemalloc.get_traced_memory()[0]
        kept.append(MemoryPoint(progress.scanned, progress.elapsed, _common.trimmed_rss_bytes(), heap))

    run_repair(s3, settings, options, on_progress=plain_sample)
    print(f"memory: plain scan done ({len(plain)} reports)", file=sys.stderr)
    tracemalloc.start(1)
    try:
        run_repair(s3, settings, options, on_progress=kept_sample)
    finally:
        tracemalloc.stop()
    return {"plain": plain, "kept": kept}


@dataclass(frozen=True)
class Growth:
    """A reading's growth between the reports in the 20-30 % and the 90-100 % stretches of a scan (medians: one
    instant holds the listing pages in flight, ~1 MB for a parsed page of 1,000 keys)."""

    early: float
    late: float
    early_at: float
    late_at: float

    @property
    def per_object(self) -> float:
        return (self.late - self.early) / max(1.0, self.late_at - self.early_at)

    @property
    def mib(self) -> float:
        return (self.late - self.early) / _common.MB


def growth(points: list[MemoryPoint], reading: Callable[[MemoryPoint], int | None]) -> Growth | None:
    """None when the reading was not available (not glibc) or the scan made no reports."""
    usable = [p for p in points if reading(p) is not None]
    if not usable:
        return None
    total = usable[-1].scanned
    early = [p for p in usable if total * 0.2 <= p.scanned <= total * 0.3] or usable[:1]
    late = [p for p in usable if p.scanned >= total * 0.9] or usable[-1:]
    return Growth(
        _common.median(float(reading(p) or 0) for p in early),
        _common.median(float(reading(p) or 0) for p in late),
        _common.median(p.scanned for p in early),
        _common.median(p.scanned for p in late),
    )


def done_when(sandbox: Any, args: argparse.Namespace) -> dict[str, Any]:
    settings = dataclasses.replace(sandbox.settings(), allow_writes=True)
    admin = make_client("s3", settings.aws, max_pool_connections=16)
    started = time.perf_counter()
    stored = put_seed_prefix(
        admin,
        settings.bucket,
        seed=args.seed_objects,
        right=args.seed_objects // 10,
        not_images=args.seed_objects // 20,
    )
    put_seconds = time.perf_counter() - started
    s3, cloudfront = repair_clients(settings, args.workers)
    first = next(iter(stored.seed))
    with new_session() as session:
        before_cdn = session.get(cdn_object_url(settings.cdn_base(), first), timeout=10).headers.get("Content-Type")
    options = RepairOptions(prefix=stored.prefix, cache_control=LONG_CACHE, workers=args.workers)
    with tempfile.TemporaryDirectory() as state:
        plan = run_repair(s3, settings, options)
        applied = run_repair(
            s3,
            settings,
            dataclasses.replace(options, apply=True),
            cloudfront=cloudfront,
            confirm=settings.bucket,
            state_dir=Path(state),
        )
        again = run_repair(s3, settings, options)
    with new_session() as session:
        after_cdn = session.get(cdn_object_url(settings.cdn_base(), first), timeout=10).headers.get("Content-Type")
    wrong = sum(
        1
        for key, kind in stored.seed_types.items()
        if admin.head_object(Bucket=settings.bucket, Key=key)["ContentType"] != kind
    )
    return {
        "seed": len(stored.seed),
        "right": len(stored.right),
        "not_images": len(stored.not_images),
        "put_seconds": put_seconds,
        "plan": plan,
        "applied": applied,
        "again": again,
        "cdn_before": before_cdn,
        "cdn_after": after_cdn,
        "still_wrong": wrong,
    }


def _rate(samples: list[tuple[float, int, _common.Sample]]) -> float:
    return _common.median(rate for rate, _, _ in samples)


def _mib(value: float) -> str:
    return f"{value / _common.MB:.1f} MiB"


def _grown(g: Growth, digits: int = 1) -> str:
    return f"{g.per_object:+.1f} B/object ({g.mib:+.{digits}f} MiB)"


def memory_rows(memory: dict[str, list[MemoryPoint]]) -> tuple[list[list[str]], list[str]]:
    """The memory targets' rows and the notes under the table. Flat is judged on what the run keeps (the Python
    heap; RSS after malloc_trim); RSS as it stands is shown beside them, not judged: it also holds what glibc
    keeps in its arenas after the run freed it."""
    plain, kept = memory["plain"], memory["kept"]
    heap = growth(kept, lambda p: p.heap)
    trimmed = growth(kept, lambda p: p.rss)
    raw = growth(plain, lambda p: p.rss)
    used = growth(plain, lambda p: p.malloc_used)
    free = growth(plain, lambda p: p.malloc_free)
    assert heap is not None and raw is not None, "a memory scan made no progress reports"
    flat = f"flat: < {FLAT_BYTES_PER_OBJECT} B/object"
    span = f"{heap.early_at:,.0f} → {heap.late_at:,.0f} objects"
    rows = [
        [
            f"Python heap growth per object scanned (tracemalloc: what the run keeps), {span}",
            _grown(heap, 2),
            flat,
            _common.verdict(heap.per_object < FLAT_BYTES_PER_OBJECT),
        ],
        [
            f"RSS after `malloc_trim(0)` growth per object (what the process holds), same scan, {span}",
            _grown(trimmed) if trimmed else "not measured: the C library is not glibc",
            flat,
            _common.verdict(trimmed.per_object < FLAT_BYTES_PER_OBJECT) if trimmed else "—",
        ],
        [
            f"RSS growth per object, an untraced, untrimmed scan, {raw.early_at:,.0f} → {raw.late_at:,.0f}",
            _grown(raw),
            "shown, not judged (it also counts memory freed and kept by glibc)",
            "—",
        ],
    ]
    if used and free:
        rows.append(
            [
                "glibc's arenas in that scan (mallinfo2): in use / freed but kept, growth per object",
                f"{used.per_object:+.1f} / {free.per_object:+.1f} B/object",
                "shown, not judged",
                "—",
            ]
        )
    last_plain, last_kept = plain[-1], kept[-1]
    notes = [
        f"- Memory, two scans of all {last_plain.scanned:,} objects, read at every progress report (0.5 s), "
        "growth between the medians of the reports in the 20-30 % and 90-100 % stretches (one instant holds "
        "the listing pages in flight, ~1 MB a page). Untraced: "
        f"{last_plain.seconds:.0f} s ({last_plain.scanned / max(last_plain.seconds, 1e-9):,.0f} objects/s), RSS "
        f"{_mib(raw.early)} → {_mib(raw.late)}"
        + (
            f", glibc in use {_mib(used.early)} → {_mib(used.late)}, freed but kept {_mib(free.early)} → "
            f"{_mib(free.late)}"
            if used and free
            else ""
        )
        + f". Kept (tracemalloc on, a trim at every report, which slow it): {last_kept.seconds:.0f} s; Python "
        f"heap {heap.early / _common.MB:.2f} MiB → {heap.late / _common.MB:.2f} MiB"
        + (f"; RSS after the trim {_mib(trimmed.early)} → {_mib(trimmed.late)}" if trimmed else "")
        + ".",
    ]
    return rows, notes


def report(args: argparse.Namespace, doc: dict, data: dict[str, Any]) -> str:
    speed, scenario = data["throughput"], data["done_when"]
    memory_table, memory_notes = memory_rows(data["memory"])
    console, no_eta, bare = _rate(speed["console"]), _rate(speed["no_eta"]), _rate(speed["bare"])
    ratio, ratio_no_eta = console / bare, no_eta / bare
    objects = speed["console"][0][1]
    plan, applied, again = scenario["plan"].tally, scenario["applied"].tally, scenario["again"].tally
    met_done = (
        plan.to_fix == scenario["seed"]
        and applied.applied == scenario["seed"]
        and not applied.failed
        and again.to_fix == 0
        and scenario["still_wrong"] == 0
        and str(scenario["cdn_after"]).startswith("image/")
    )
    lines = _common.header(
        "Repair: scan throughput, memory over 100,000 objects, the done-when", "python bench/repair.py"
    )
    lines += [
        f"- Bucket: {doc['bench_objects']:,} objects put straight into the sandbox's moto backend by "
        f"`bench/_sandbox_host.py` ({doc['bench_seed_seconds']:.1f} s); throughput over the prefix `{args.prefix}` "
        f"({objects:,} keys), {args.workers} workers, {args.rounds} alternating rounds, medians.",
        "",
    ]
    rows = []
    for name, label in (
        (
            "console",
            "`run_repair` plan (the CLI's default): listing + counting listing for the ETA, one ranged GET per object, the decision",
        ),
        ("no_eta", "`run_repair` plan, `count_total=False` (`repair --no-eta`): no counting listing"),
        ("bare", "bare: the same listing, `head_object` per key from a pool of the same size"),
    ):
        samples = speed[name]
        rows.append(
            [
                label,
                f"{_rate(samples):,.0f}",
                _common.fmt_s(_common.median(s.wall for _, _, s in samples)),
                _common.fmt_s(_common.median(s.client_cpu for _, _, s in samples)),
                _common.fmt_s(_common.median(s.server_cpu for _, _, s in samples)),
            ]
        )
    lines += _common.table(["scan", "objects/s", "wall s", "client CPU s", "sandbox CPU s"], rows)
    lines += ["", "Targets:", ""]
    lines += _common.table(
        ["measure", "value", "target", "result"],
        [
            [
                "scan throughput, console / bare HEADs",
                f"{ratio:.2f}×",
                f"≥ {TARGET_RATIO}×",
                _common.verdict(ratio >= TARGET_RATIO),
            ],
            [
                "scan throughput without the ETA's counting listing (`--no-eta`) / bare HEADs",
                f"{ratio_no_eta:.2f}×",
                f"≥ {TARGET_RATIO}×",
                _common.verdict(ratio_no_eta >= TARGET_RATIO),
            ],
            *memory_table,
            [
                f"done-when at {scenario['seed']:,} seed-style objects",
                f"plan {plan.to_fix:,}; fixed {applied.applied:,}, failed {applied.failed_count}; "
                f"then {again.to_fix} to fix; CDN {scenario['cdn_before']} → {scenario['cdn_after']}",
                "plan = seed objects; all fixed; second run finds nothing; CDN serves image/*",
                _common.verdict(met_done),
            ],
        ],
    )
    lines += [
        "",
        *memory_notes,
        f"- Done-when prefix: {scenario['seed']:,} seed-style + {scenario['right']:,} right + "
        f"{scenario['not_images']:,} non-images put over HTTP in {scenario['put_seconds']:.1f} s; plan "
        f"{scenario['plan'].elapsed:.1f} s, apply {scenario['applied'].elapsed:.1f} s "
        f"({applied.applied / max(scenario['applied'].elapsed, 1e-9):,.0f} fixes/s, each a ranged GET + CopyObject), "
        f"second run {scenario['again'].elapsed:.1f} s; invalidation: {scenario['applied'].invalidation['note']}.",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--prefix", default="2021/01/", help="the throughput prefix (1/60 of the bench keys)")
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed-objects", type=int, default=1000)
    parser.add_argument("--no-write", dest="write", action="store_false", help="print only; leave RESULTS.md")
    args = parser.parse_args()

    started = time.perf_counter()
    sandbox, doc = _common.start_host_sandbox(objects=args.objects, timeout=900)
    print(f"sandbox with {args.objects:,} objects ready in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    data: dict[str, Any] = {}
    try:
        data["throughput"] = throughput(sandbox, args)
        print(f"throughput done at {time.perf_counter() - started:.0f} s", file=sys.stderr)
        data["memory"] = memory(sandbox, args)
        print(f"memory done at {time.perf_counter() - started:.0f} s", file=sys.stderr)
        data["done_when"] = done_when(sandbox, args)
    finally:
        sandbox.stop()
    text = report(args, doc, data)
    return _common.publish("repair", text, args.write, started)


if __name__ == "__main__":
    raise SystemExit(main())
