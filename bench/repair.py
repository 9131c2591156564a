"""The repair at scale: scan throughput against bare boto3 HEADs, memory over 100,000 objects, and the issue's
done-when at 1,000 seed-style objects.

    python bench/repair.py [--objects 100000] [--prefix 2021/01/] [--workers 16] [--rounds 3] [--seed-objects 1000]
                           [--no-write]

- Throughput: ``run_repair`` (a plan: the streaming listing, one ranged GET per object, the decision; plus the
  counting listing that gives the ETA) over one prefix of the bucket, against a bare script: the same paginator
  listing, ``head_object`` for every key from a thread pool of the same size, nothing else. Same client settings,
  same bucket, alternating rounds, medians.
- Memory: the whole bucket scanned once; the Python heap (tracemalloc) and RSS read at every progress report
  (every 0.5 s). Flat: what the run keeps does not grow with the objects scanned (no per-object state beyond the
  report's capped lists and the checkpoint on disk); RSS is shown beside it.
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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import _common

from services.core.clients import make_client
from services.core.transport import new_session
from services.pipeline.repair.run import Progress, RepairOptions, repair_clients, run_repair
from services.pipeline.upload import cdn_object_url
from tests.repair_data import LONG_CACHE, put_seed_prefix

TARGET_RATIO = 0.8
#: flat: RSS grows by less than this many bytes per object scanned between 20 % and 100 % of the bucket
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


def memory(sandbox: Any, args: argparse.Namespace) -> list[tuple[int, int, float, int]]:
    """(objects scanned, RSS bytes, seconds, Python heap bytes) at each progress report over the whole bucket.

    The Python heap (tracemalloc's traced memory) is what the run keeps: a per-object list or set shows there.
    RSS also holds what the C allocator keeps after a peak (16 worker threads' malloc arenas), never returned."""
    settings = sandbox.settings()
    s3, _ = repair_clients(settings, args.workers)
    points: list[tuple[int, int, float, int]] = []

    def sample(progress: Progress) -> None:
        points.append((progress.scanned, _common.rss_bytes(), progress.elapsed, tracemalloc.get_traced_memory()[0]))

    tracemalloc.start(1)
    try:
        run_repair(s3, settings, RepairOptions(workers=args.workers, limit=100), on_progress=sample)
    finally:
        tracemalloc.stop()
    return points


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


def report(args: argparse.Namespace, doc: dict, data: dict[str, Any]) -> str:
    speed, points, scenario = data["throughput"], data["memory"], data["done_when"]
    console, no_eta, bare = _rate(speed["console"]), _rate(speed["no_eta"]), _rate(speed["bare"])
    ratio, ratio_no_eta = console / bare, no_eta / bare
    objects = speed["console"][0][1]
    total = points[-1][0] if points else 0
    low = next((p for p in points if p[0] >= total * 0.2), points[0]) if points else (0, 0, 0.0, 0)
    high = points[-1] if points else (0, 0, 0.0, 0)
    per_object = (high[1] - low[1]) / max(1, high[0] - low[0])
    # the heap at one instant holds the listing pages in flight (a parsed page of 1,000 keys is ~1 MB): compare
    # the medians of the reports in the 20-30 % and 90-100 % stretches, not two single reports
    early = [p[3] for p in points if total * 0.2 <= p[0] <= total * 0.3] or [low[3]]
    late = [p[3] for p in points if p[0] >= total * 0.9] or [high[3]]
    heap_low, heap_high = _common.median(early), _common.median(late)
    heap_per_object = (heap_high - heap_low) / max(1, high[0] - low[0])
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
            [
                f"Python heap growth per object scanned (what the run keeps), {low[0]:,} → {high[0]:,} objects",
                f"{heap_per_object:+.1f} B/object ({(heap_high - heap_low) / _common.MB:+.2f} MiB)",
                f"flat: < {FLAT_BYTES_PER_OBJECT} B/object",
                _common.verdict(heap_per_object < FLAT_BYTES_PER_OBJECT),
            ],
            [
                f"RSS growth per object scanned (the heap plus the C allocator's arenas), {low[0]:,} → {high[0]:,}",
                f"{per_object:+.1f} B/object ({(high[1] - low[1]) / _common.MB:+.1f} MiB)",
                f"< {FLAT_BYTES_PER_OBJECT} B/object",
                _common.verdict(per_object < FLAT_BYTES_PER_OBJECT),
            ],
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
        f"- Memory: {total:,} objects in {high[2]:.0f} s ({total / max(high[2], 1e-9):,.0f} objects/s, traced by "
        f"tracemalloc, which slows it); RSS {low[1] / _common.MB:.1f} MiB at {low[0]:,} objects, "
        f"{high[1] / _common.MB:.1f} MiB at {high[0]:,}; Python heap (medians of the 20-30 % and "
        f"90-100 % reports) {heap_low / _common.MB:.2f} MiB → {heap_high / _common.MB:.2f} MiB.",
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
