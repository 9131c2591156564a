"""Batch upload through the whole pipeline (presign, PUT, CDN read-back) against the baselines a user would compare.

    python bench/upload.py [--files 200] [--size 51200] [--rounds 3] [--no-what-if] [--no-write]
                           [--compare-sandbox TREE]

On one sandbox, in one run, each round (order rotated) times:

- console: ``services.pipeline.upload.upload_batch`` with its default workers (validate, presign, PUT, CDN read + sha256);
- seed: the seed's client flow one file at a time, a fresh connection per request (``requests`` without a
  Session): GET presign with ``x-extension``, PUT with the signed type; and the same plus a CDN GET (fair to the
  console, which reads back);
- boto3: ``put_object`` of the same bytes from a thread pool of the same size (the cost of moving the bytes alone).

Then diagnostics: CPU seconds spent in this process vs in the sandbox process, new TCP connections, the sandbox's
CPU per hop, and (unless ``--no-what-if``) the console with proposed fixes applied in this process only.
``--compare-sandbox TREE`` adds the console against the sandbox of another source tree (a before/after of a
sandbox change: ``git worktree add /tmp/before <commit>``), interleaved with this tree's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import selectors
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import _common
import requests

from services.core.clients import make_client
from services.core.transport import SessionPool, new_session
from services.pipeline import upload
from services.pipeline.presign import request_grant
from services.pipeline.upload import DEFAULT_WORKERS, UploadInput, cdn_object_url, upload_batch
from services.sandbox import Sandbox
from services.sandbox.process import Endpoints

TARGET_VS_SEED = 4.0
TARGET_VS_BOTO3 = 0.5
SEED_TIMEOUT = (5.0, 60.0)
HOP_REQUESTS = 100
SINGLE_FILES = 50


# --- the workload -----------------------------------------------------------------------------------


def make_items(count: int, size: int) -> list[UploadInput]:
    """``count`` distinct noise images of about ``size`` bytes, PNG and JPEG alternately."""
    items = []
    for index in range(count):
        fmt, ext = ("PNG", "png") if index % 2 == 0 else ("JPEG", "jpg")
        items.append(UploadInput(f"bench-{index:04d}.{ext}", _common.noise_image(index, fmt, size)))
    return items


def ext_of(item: UploadInput) -> str:
    return item.name.rsplit(".", 1)[1]


# --- the runs ---------------------------------------------------------------------------------------


def run_console(items: list[UploadInput], sandbox: Sandbox, workers: int = DEFAULT_WORKERS) -> list[Any]:
    results = [result for _, result in upload_batch(items, sandbox.settings(), workers=workers)]
    failed = [r for r in results if not r.ok]
    if failed:
        raise RuntimeError(f"{len(failed)} console uploads failed, first: {failed[0].to_json()}")
    return results


def run_seed(items: list[UploadInput], sandbox: Sandbox, read_back: bool) -> None:
    """The seed's client, one file at a time; ``requests.get``/``put`` open a fresh connection every time."""
    settings = sandbox.settings()
    for item in items:
        ext = ext_of(item)
        grant = requests.get(
            settings.presign_url,
            headers={"x-extension": ext, "Content-Type": f"application/{ext}"},
            timeout=SEED_TIMEOUT,
        ).json()
        signed_type = grant.get("contentType") or f"application/{ext}"
        put = requests.put(
            grant["presignedUrl"], data=item.data, headers={"Content-Type": signed_type}, timeout=SEED_TIMEOUT
        )
        if put.status_code != 200:
            raise RuntimeError(f"seed PUT failed: HTTP {put.status_code}")
        if read_back:
            reply = requests.get(cdn_object_url(settings.cdn_base(), grant["key"]), timeout=SEED_TIMEOUT)
            if reply.status_code != 200 or hashlib.sha256(reply.content).digest() != hashlib.sha256(item.data).digest():
                raise RuntimeError(f"seed CDN read failed: HTTP {reply.status_code}")


def run_boto3(items: list[UploadInput], s3: Any, bucket: str, prefix: str, workers: int) -> None:
    def put(pair: tuple[int, UploadInput]) -> None:
        index, item = pair
        mime = "image/png" if ext_of(item) == "png" else "image/jpeg"
        s3.put_object(Bucket=bucket, Key=f"{prefix}/{index:04d}.{ext_of(item)}", Body=item.data, ContentType=mime)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="boto3") as pool:
        list(pool.map(put, enumerate(items)))


# --- connection counting (urllib3 logs each new or re-opened connection at DEBUG) ---------------------


class ConnectionCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith(("Starting new HTTP", "Resetting dropped connection")):
            self.count += 1


def count_connections(fn: Callable[[], Any]) -> tuple[Any, int]:
    logger = logging.getLogger("urllib3.connectionpool")
    counter, level, propagate = ConnectionCounter(), logger.level, logger.propagate
    logger.addHandler(counter)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        return fn(), counter.count
    finally:
        logger.removeHandler(counter)
        logger.setLevel(level)
        logger.propagate = propagate


# --- proposed fixes, applied in this process only (what-if) -------------------------------------------


class NoEnvPool(SessionPool):
    """Sessions that do not read proxies/netrc from os.environ on every request (``trust_env = False``)."""

    def get(self) -> requests.Session:
        session = super().get()
        session.trust_env = False
        return session


def with_pool(pool_class: type[SessionPool], fn: Callable[[], Any]) -> Any:
    original = upload.SessionPool
    upload.SessionPool = pool_class
    try:
        return fn()
    finally:
        upload.SessionPool = original


# --- per-hop cost in the sandbox --------------------------------------------------------------------


def hop_costs(sandbox: Sandbox, item: UploadInput, count: int) -> list[tuple[str, _common.Sample]]:
    """Sequential requests of one kind over one keep-alive session; CPU in both processes per request."""
    settings, pid = sandbox.settings(), sandbox.process.pid
    session = new_session(4)
    ext = ext_of(item)
    rows = []
    with _common.measured(pid) as presign:
        grants = [request_grant(session, settings.presign_url, ext, f"application/{ext}") for _ in range(count)]
    rows.append(("presign GET (API Gateway + Lambda emulation)", presign))
    with _common.measured(pid) as put:
        for grant in grants:
            session.put(grant.url, data=item.data, headers={"Content-Type": grant.content_type or "image/png"}).close()
    rows.append(("PUT to the presigned URL (S3 front: SigV4 check, policy, moto)", put))
    urls = [cdn_object_url(settings.cdn_base(), grant.key) for grant in grants]
    with _common.measured(pid) as miss:
        for url in urls:
            session.get(url).close()
    rows.append(("CDN GET, miss (edge + origin read in process: authorisation, moto's store)", miss))
    with _common.measured(pid) as hit:
        for url in urls:
            session.get(url).close()
    rows.append(("CDN GET, hit (edge cache only)", hit))
    s3 = make_client("s3", sandbox.aws_target())
    with _common.measured(pid) as boto:
        for index in range(count):
            s3.put_object(Bucket=settings.bucket, Key=f"bench-hops/{index}.{ext}", Body=item.data)
    rows.append(("boto3 put_object (S3 front: SigV4 check, moto)", boto))
    session.close()
    return [(name, sample) for name, sample in rows]


# --- the report -------------------------------------------------------------------------------------


def summarise(samples: list[_common.Sample]) -> _common.Sample:
    return _common.Sample(
        _common.median(s.wall for s in samples),
        _common.median(s.client_cpu for s in samples),
        _common.median(s.server_cpu for s in samples),
        _common.median(s.client_user for s in samples),
        _common.median(s.server_user for s in samples),
    )


def report(args: argparse.Namespace, items: list[UploadInput], data: dict[str, Any]) -> str:
    n = len(items)
    total_mb = sum(len(i.data) for i in items) / _common.MB
    runs = {name: summarise(samples) for name, samples in data["runs"].items()}
    console = runs["console"]
    lines = _common.header("Upload: batch through the full pipeline", "python bench/upload.py")
    lines += [
        f"- Workload: {n} distinct noise images (PNG and JPEG alternately), {min(len(i.data) for i in items):,}–"
        f"{max(len(i.data) for i in items):,} bytes, {total_mb:.1f} MB in all; {args.rounds} round(s), order rotated, "
        f"medians shown; console workers = `DEFAULT_WORKERS` = {DEFAULT_WORKERS}; boto3 pool = {DEFAULT_WORKERS}.",
        "- Client CPU = this process (console / seed / boto3 code); sandbox CPU = the sandbox process "
        "(moto, the S3 front, the API Gateway + Lambda emulation, the CDN emulator).",
        "",
    ]
    rows = []
    for name, label in (
        ("console", "console `upload_batch` (validate, presign, PUT, CDN read + sha256)"),
        ("seed", "(a) seed flow, sequential, fresh connection per request (presign, PUT)"),
        ("seed_read", "(a') seed flow + CDN GET (same work as the console)"),
        ("boto3", f"(b) boto3 `put_object`, {DEFAULT_WORKERS} threads (bytes only)"),
    ):
        s = runs[name]
        rows.append(
            [
                label,
                _common.fmt_s(s.wall),
                f"{n / s.wall:.1f}",
                f"{total_mb / s.wall:.2f}",
                _common.fmt_s(s.client_cpu),
                _common.fmt_s(s.server_cpu),
                f"{s.server_cpu / s.wall:.0%}",
            ]
        )
    lines += _common.table(
        ["variant", "wall s", "files/s", "MB/s", "client CPU s", "sandbox CPU s", "sandbox busy"], rows
    )
    vs_seed, vs_seed_read = runs["seed"].wall / console.wall, runs["seed_read"].wall / console.wall
    vs_boto3 = runs["boto3"].wall / console.wall
    floor = console.server_user  # the sandbox's Python for the console's batch: one thread at a time
    ceiling_a, ceiling_a2 = runs["seed"].wall / floor, runs["seed_read"].wall / floor
    lines += ["", "Targets:", ""]
    lines += _common.table(
        ["ratio", "value", "target", "result"],
        [
            [
                "(a) seed (presign+PUT) wall / console wall",
                f"{vs_seed:.2f}×",
                f"≥ {TARGET_VS_SEED:g}×",
                _common.verdict(vs_seed >= TARGET_VS_SEED),
            ],
            [
                "(a') seed + CDN GET wall / console wall",
                f"{vs_seed_read:.2f}×",
                f"≥ {TARGET_VS_SEED:g}×",
                _common.verdict(vs_seed_read >= TARGET_VS_SEED),
            ],
            [
                "(b) console throughput / boto3 throughput",
                f"{vs_boto3:.2f}×",
                f"≥ {TARGET_VS_BOTO3:g}×",
                _common.verdict(vs_boto3 >= TARGET_VS_BOTO3),
            ],
            [
                "(a) / (a') the most any client could reach on this sandbox",
                f"{ceiling_a:.2f}× / {ceiling_a2:.2f}×",
                "(reported)",
                "",
            ],
            [
                "console's share: (a) / (a') as a fraction of that",
                f"{vs_seed / ceiling_a:.0%} / {vs_seed_read / ceiling_a2:.0%}",
                "(reported)",
                "",
            ],
        ],
    )
    lines += [
        "",
        f"- The ceiling: the sandbox is one Python process (one GIL), so the batch can never take less wall time than "
        f"the sandbox's Python needs for it: its user-mode CPU, {_common.fmt_s(floor)} s in the console's run (of "
        f"{_common.fmt_s(console.server_cpu)} s in all; the kernel's share runs beside it). The console keeps its "
        f"connections alive; the seed flow's fresh connections cost the sandbox {_common.fmt_s(runs['seed'].server_cpu)}"
        f" s without and {_common.fmt_s(runs['seed_read'].server_cpu)} s with the CDN read. No client can make the "
        f"sequential seed flow's {_common.fmt_s(runs['seed'].wall)} s more than {ceiling_a:.2f}× faster here, nor "
        f"the seed + CDN flow's {_common.fmt_s(runs['seed_read'].wall)} s more than {ceiling_a2:.2f}×: the 4× "
        "target needs the requests to wait (a network) rather than compute (this loopback). The latency model at "
        "the end of this section gives them a network's wait.",
    ]
    steps = data["steps"]
    lines += [
        "",
        "Where the time goes (console run):",
        "",
        f"- Per file: client CPU {console.client_cpu / n * 1000:.1f} ms, sandbox CPU {console.server_cpu / n * 1000:.1f} ms, "
        f"wall {console.wall / n * 1000:.1f} ms. The sandbox is one Python process (one GIL): its CPU per file is a "
        "floor on the console's wall time per file, whatever the console's concurrency.",
        "- Median step latency inside `upload_batch` (ms): "
        + ", ".join(f"{name} {ms:.1f}" for name, ms in steps.items()),
        f"- New TCP connections opened by the console for {n} files: {data['connections']} "
        f"({data['connections'] / n:.2f} per file; 3 hops per file).",
        "",
        f"Sandbox cost per request kind ({HOP_REQUESTS} sequential requests over one keep-alive session each):",
        "",
    ]
    lines += _common.table(
        ["request", "wall ms/req", "client CPU ms/req", "sandbox CPU ms/req"],
        [
            [name, *(_common.fmt_ms(x / HOP_REQUESTS) for x in (s.wall, s.client_cpu, s.server_cpu))]
            for name, s in data["hops"]
        ],
    )
    if data.get("sweep"):
        lines += ["", "Console wall time by worker count (one run each):", ""]
        lines += _common.table(
            ["workers", "wall s", "client CPU s", "sandbox CPU s"],
            [
                [w, _common.fmt_s(s.wall), _common.fmt_s(s.client_cpu), _common.fmt_s(s.server_cpu)]
                for w, s in data["sweep"]
            ],
        )
    if data.get("what_if"):
        lines += [
            "",
            "What-if (proposed fixes, applied in the bench process or a bench sandbox only; medians). Each fix is "
            "timed against a control run alongside it: the console-side fixes interleaved with the shipped console "
            "on one fresh sandbox, the sandbox-side fixes each on a fresh sandbox like the control's:",
            "",
        ]
        rows = []
        control = None
        for label, samples, conns in data["what_if"]["rows"]:
            s = summarise(samples)
            if "(control)" in label:
                control = s
            rows.append(
                [
                    label,
                    _common.fmt_s(s.wall),
                    f"{control.wall / s.wall:.2f}×" if control else "",
                    f"{s.client_cpu / n * 1000:.1f}",
                    f"{s.server_cpu / n * 1000:.1f}",
                    conns,
                ]
            )
        lines += _common.table(
            [
                "variant",
                "wall s",
                "speed vs its control",
                "client CPU ms/file",
                "sandbox CPU ms/file",
                "new connections",
            ],
            rows,
        )
        fixed = summarise(data["what_if"]["rows"][-1][1])
        base = data["what_if"]["baselines"]
        lines += [
            "",
            f"With all fixes, baselines re-measured on the fixed sandbox: seed {_common.fmt_s(base['seed'].wall)} s, "
            f"seed + CDN GET {_common.fmt_s(base['seed_read'].wall)} s, boto3 {_common.fmt_s(base['boto3'].wall)} s; "
            f"console {_common.fmt_s(fixed.wall)} s → (a) {base['seed'].wall / fixed.wall:.2f}×, "
            f"(a') {base['seed_read'].wall / fixed.wall:.2f}×, (b) {base['boto3'].wall / fixed.wall:.2f}×.",
        ]
        single = data["what_if"]["single"]
        lines += [
            "",
            f"One worker ({SINGLE_FILES} files one after another, reusing the worker's keep-alive connections; with "
            "8 workers the same happens from the 9th file of a batch on): "
            + ", ".join(
                f"sandbox {name}: {s.wall / SINGLE_FILES * 1000:.1f} ms/file "
                f"(sandbox CPU {s.server_cpu / SINGLE_FILES * 1000:.1f} ms/file)"
                for name, s in single.items()
            )
            + ".",
        ]
        slow = data["what_if"]["latency"]
        lines += [
            "",
            "Latency model (not a fix; the sandbox as shipped plus a 30 ms sleep before every gateway, CDN and S3 "
            "reply, as over a network to a nearby region; one run each): "
            f"console {_common.fmt_s(slow['console'].wall)} s, seed {_common.fmt_s(slow['seed'].wall)} s, "
            f"seed + CDN GET {_common.fmt_s(slow['seed_read'].wall)} s → (a) {slow['seed'].wall / slow['console'].wall:.2f}×, "
            f"(a') {slow['seed_read'].wall / slow['console'].wall:.2f}×. When requests wait on the network rather "
            "than on one shared CPU, the console's 8 workers overlap the waits.",
        ]
    if data.get("compare"):
        lines += compare_report(n, data["compare"])
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--size", type=int, default=50 * 1024)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-what-if", dest="what_if", action="store_false")
    parser.add_argument("--sweep", action="store_true", help="also time the console with 1, 2, 4, 8, 16 workers")
    parser.add_argument("--no-write", dest="write", action="store_false", help="print only; leave RESULTS.md")
    parser.add_argument(
        "--compare-sandbox",
        type=Path,
        metavar="TREE",
        help="also time the console against the sandbox of another source tree (e.g. a git worktree of an older "
        "commit), interleaved with this tree's",
    )
    args = parser.parse_args()

    started = time.perf_counter()
    items = make_items(args.files, args.size)
    print(f"generated {len(items)} images in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    sandbox = Sandbox.start()
    pid = sandbox.process.pid
    s3 = make_client("s3", sandbox.aws_target())
    data: dict[str, Any] = {"runs": {"console": [], "seed": [], "seed_read": [], "boto3": []}}
    try:
        # warm every path once (connections, imports, moto's lazy state), untimed
        warm = items[: min(8, len(items))]
        run_console(warm, sandbox)
        run_seed(warm[:2], sandbox, read_back=True)
        run_boto3(warm, s3, sandbox.endpoints.bucket, "bench-boto3/warm", DEFAULT_WORKERS)

        variants: list[tuple[str, Callable[[int], Any]]] = [
            ("console", lambda r: run_console(items, sandbox)),
            ("seed", lambda r: run_seed(items, sandbox, read_back=False)),
            ("seed_read", lambda r: run_seed(items, sandbox, read_back=True)),
            ("boto3", lambda r: run_boto3(items, s3, sandbox.endpoints.bucket, f"bench-boto3/{r}", DEFAULT_WORKERS)),
        ]
        console_results: list[Any] = []
        for round_no in range(args.rounds):
            order = variants[round_no % len(variants) :] + variants[: round_no % len(variants)]
            for name, fn in order:
                with _common.measured(pid) as sample:
                    out = fn(round_no)
                data["runs"][name].append(sample)
                if name == "console":
                    console_results = out
                print(f"round {round_no + 1} {name}: {sample.wall:.2f} s", file=sys.stderr)

        data["steps"] = {
            step: _common.median(st.ms for r in console_results for st in r.steps if st.name == step)
            for step in upload.STEPS
        }
        _, data["connections"] = count_connections(lambda: run_console(items, sandbox))
        data["hops"] = hop_costs(sandbox, items[0], HOP_REQUESTS)
    finally:
        sandbox.stop()
    if args.sweep:
        data["sweep"] = sweep(items)
    if args.what_if:
        data["what_if"] = what_if(args, items)
    if args.compare_sandbox:
        data["compare"] = compare_sandboxes(args.rounds, args.compare_sandbox.resolve(), items)
    text = report(args, items, data)
    return _common.publish("upload", text, args.write, started)


def timed_rounds(rounds: int, pid: int, fn: Callable[[], Any]) -> list[_common.Sample]:
    samples = []
    for _ in range(rounds):
        with _common.measured(pid) as sample:
            fn()
        samples.append(sample)
    return samples


def sweep(items: list[UploadInput]) -> list[tuple[int, _common.Sample]]:
    """The console at 1..16 workers, on a fresh sandbox of its own, one run each."""
    fresh, _ = _common.start_host_sandbox()
    try:
        run_console(items[:8], fresh)
        out = []
        for workers in (8, 1, 16, 2, 4):
            with _common.measured(fresh.process.pid) as sample:
                run_console(items, fresh, workers=workers)
            out.append((workers, sample))
    finally:
        fresh.stop()
    return sorted(out)


def paired(
    rounds: int, box: Sandbox, variants: list[tuple[str, type[SessionPool] | None]], items: list[UploadInput]
) -> dict[str, tuple[list[_common.Sample], int]]:
    """Console variants on one sandbox, interleaved round by round (so a sandbox that slows as it fills hurts
    each alike); per variant: the samples and the new connections of one more run."""

    def runner(pool: type[SessionPool] | None) -> Callable[[], Any]:
        if pool is None:
            return lambda: run_console(items, box)
        return lambda: with_pool(pool, lambda: run_console(items, box))

    run_console(items[:8], box)  # warm
    samples: dict[str, list[_common.Sample]] = {label: [] for label, _ in variants}
    for round_no in range(rounds):
        shift = round_no % len(variants)
        for label, pool in variants[shift:] + variants[:shift]:
            with _common.measured(box.process.pid) as sample:
                runner(pool)()
            samples[label].append(sample)
    return {label: (samples[label], count_connections(runner(pool))[1]) for label, pool in variants}


def what_if(args: argparse.Namespace, items: list[UploadInput]) -> dict[str, Any]:
    """Each proposed fix against a control measured alongside it on a fresh sandbox, then all fixes together
    with the baselines re-measured on the fixed sandbox."""
    groups: list[tuple[str, dict[str, tuple[list[_common.Sample], int]]]] = []
    fresh, _ = _common.start_host_sandbox()
    try:
        groups.append(
            (
                "console-side fixes, one fresh sandbox, interleaved",
                paired(
                    args.rounds,
                    fresh,
                    [
                        ("console as shipped (control)", None),
                        ("sessions with `trust_env = False` (no proxy lookup in os.environ per request)", NoEnvPool),
                    ],
                    items,
                ),
            )
        )
    finally:
        fresh.stop()
    single: dict[str, _common.Sample] = {}
    # the sandbox-side what-ifs of earlier runs (`moto-dispatch-cache`, `tcp-nodelay`) are shipped in
    # services/sandbox now; `--compare-sandbox` measures the sandbox against another source tree instead
    for patches in ([],):
        box, _ = _common.start_host_sandbox(what_if=patches)
        try:
            label = "console as shipped, fresh sandbox" + (f" with `{patches[0]}`" if patches else " (control)")
            groups.append(
                ("sandbox-side fixes, a fresh sandbox each", paired(args.rounds, box, [(label, None)], items))
            )
            with _common.measured(box.process.pid) as sample:  # one file at a time: the CLI's or a page's single file
                run_console(items[:SINGLE_FILES], box, workers=1)
            single[patches[0] if patches else "as shipped"] = sample
        finally:
            box.stop()
    fixed, _ = _common.start_host_sandbox()
    baselines: dict[str, list[_common.Sample]] = {}
    try:
        groups.append(
            (
                "all fixes",
                paired(
                    args.rounds,
                    fixed,
                    [("all fixes: `trust_env = False` (the sandbox's fixes are shipped)", NoEnvPool)],
                    items,
                ),
            )
        )
        s3 = make_client("s3", fixed.aws_target())
        pid, bucket = fixed.process.pid, fixed.endpoints.bucket
        baselines["seed"] = timed_rounds(args.rounds, pid, lambda: run_seed(items, fixed, read_back=False))
        baselines["seed_read"] = timed_rounds(args.rounds, pid, lambda: run_seed(items, fixed, read_back=True))
        baselines["boto3"] = timed_rounds(
            args.rounds, pid, lambda: run_boto3(items, s3, bucket, "bench-boto3/fixed", DEFAULT_WORKERS)
        )
    finally:
        fixed.stop()
    rows = [(label, samples, conns) for _, group in groups for label, (samples, conns) in group.items()]
    return {
        "rows": rows,
        "baselines": {name: summarise(samples) for name, samples in baselines.items()},
        "latency": latency_model(items),
        "single": single,
    }


def start_tree_sandbox(root: Path, timeout: float = 120.0) -> tuple[Sandbox, float]:
    """The sandbox of another source tree (``git worktree add /tmp/before <commit>``), started as the console
    starts its own (``python -m services.sandbox.server``); returns it and the seconds to its ready line."""
    env = _common.clean_env()
    env.update(MOTO_DISABLE_GLOBAL_CORS="true", PYTHONPATH=str(root))
    started = time.perf_counter()
    proc = subprocess.Popen(  # our interpreter, a module of the given tree, no shell
        [sys.executable, "-m", "services.sandbox.server"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=root,
        env=env,
    )
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        ready = selector.select(timeout=timeout)
    doc = json.loads(proc.stdout.readline() or b"{}") if ready else {}
    if not doc.get("ready"):
        proc.kill()
        proc.wait(timeout=10)
        raise RuntimeError(f"the sandbox of {root} did not start: {doc}")
    return Sandbox(endpoints=Endpoints.from_ready_line(doc), process=proc), time.perf_counter() - started


def compare_sandboxes(rounds: int, other: Path, items: list[UploadInput]) -> list[tuple[str, float, list[Any]]]:
    """The console against this tree's sandbox and another tree's, interleaved round by round (a before/after of a
    sandbox change on one machine in one run); per sandbox: its label, start seconds and the samples."""
    started = time.perf_counter()
    here = Sandbox.start()
    boxes = [("this tree", here, time.perf_counter() - started)]
    try:
        there, seconds = start_tree_sandbox(other)
        boxes.append((str(other), there, seconds))
        samples: dict[str, list[_common.Sample]] = {label: [] for label, _, _ in boxes}
        for _, box, _ in boxes:
            run_console(items[:16], box)  # warm
        for round_no in range(rounds):
            for label, box, _ in boxes if round_no % 2 == 0 else boxes[::-1]:
                with _common.measured(box.process.pid) as sample:
                    run_console(items, box)
                samples[label].append(sample)
                print(f"compare round {round_no + 1} {label}: {sample.wall:.2f} s", file=sys.stderr)
    finally:
        for _, box, _ in boxes:
            box.stop()
    return [(label, seconds, samples[label]) for label, _, seconds in boxes]


def compare_report(n: int, rows: list[tuple[str, float, list[Any]]]) -> list[str]:
    other = summarise(rows[-1][2])
    lines = [
        "",
        "Sandbox against another source tree (`--compare-sandbox`; the same console, interleaved rounds, medians):",
        "",
    ]
    table = []
    for label, seconds, samples in rows:
        s = summarise(samples)
        table.append(
            [
                label,
                f"{seconds:.2f}",
                _common.fmt_s(s.wall),
                f"{other.wall / s.wall:.2f}×",
                f"{s.server_cpu / n * 1000:.1f}",
                f"{s.client_cpu / n * 1000:.1f}",
            ]
        )
    lines += _common.table(
        [
            "sandbox from",
            "start s (to the ready line)",
            "console wall s",
            "speed vs the other",
            "sandbox CPU ms/file",
            "client CPU ms/file",
        ],
        table,
    )
    return lines


def latency_model(items: list[UploadInput]) -> dict[str, _common.Sample]:
    """Console vs the seed when every request also waits 30 ms, as over a real network (one run each)."""
    slow, _ = _common.start_host_sandbox(what_if=["latency-30ms"])
    out: dict[str, _common.Sample] = {}
    try:
        run_console(items[:8], slow)
        pid = slow.process.pid
        for name, fn in (
            ("console", lambda: run_console(items, slow)),
            ("seed", lambda: run_seed(items, slow, read_back=False)),
            ("seed_read", lambda: run_seed(items, slow, read_back=True)),
        ):
            out[name] = timed_rounds(1, pid, fn)[0]
    finally:
        slow.stop()
    return out


if __name__ == "__main__":
    raise SystemExit(main())
