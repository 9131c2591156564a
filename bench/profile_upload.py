"""Where an upload batch spends CPU, in the console process and in the sandbox process (py-spy, all threads).

    pip install py-spy            # a profiler, not a project dependency
    python bench/profile_upload.py [--files 800] [--rate 50] [--no-write] [--raw-dir DIR] [--self]

Starts a sandbox, uploads ``--files`` noise images with ``upload_batch`` while ``py-spy record --gil`` samples both
processes (only threads holding the GIL, so the shares are CPU, not waiting), then prints the functions with the
largest inclusive share of samples. cProfile and pyinstrument see one thread only; the console's work happens in
worker threads and the sandbox's in server threads, hence py-spy. Writes the ``profile`` section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common
from upload import make_items, run_console

from services.sandbox import Sandbox

#: frames worth naming in the report (inclusive share); matched against "function (file)"
WATCH = (
    ("upload_one", "upload.py"),
    ("request_grant", "presign.py"),
    ("_put", "upload.py"),
    ("_read_back", "upload.py"),
    ("inspect_image", "images.py"),
    ("Session.merge_environment_settings", "sessions.py"),
    ("PipelineSession.merge_environment_settings", "transport.py"),
    ("Session.prepare_request", "sessions.py"),
    ("get_netrc_auth", "utils.py"),
    ("_Watchdog.arm", "transport.py"),
    ("check_upload_url", "presign.py"),
    ("HTTPConnection.connect", "connection.py"),
    ("PoolManager._new_pool", "poolmanager.py"),
    ("S3Front.__call__", "s3front.py"),
    ("S3Front._authenticate", "s3front.py"),
    ("S3Front._authorize", "s3front.py"),
    ("DomainDispatcherApplication.get_application", "werkzeug_app.py"),
    ("list_of_moto_modules", "backends.py"),
    ("Flask.wsgi_app", "app.py"),
    ("Flask.full_dispatch_request", "app.py"),
    ("S3Response.key_response", "responses.py"),
    ("make_cdn.<locals>.CdnHandler._serve", "cdn.py"),
    ("make_origin_fetch.<locals>.fetch", "server.py"),
    ("S3Front.read_object", "s3front.py"),
    ("plain_object", "moto_state.py"),
    ("make_gateway.<locals>.GatewayHandler._serve", "gateway.py"),
    ("generate_presigned_url", "signers.py"),
    ("BaseClient._resolve_endpoint_ruleset", "client.py"),
    ("BaseHTTPRequestHandler.parse_request", "server.py"),
    ("Thread.start", "threading.py"),
)


def aggregate(path: Path) -> tuple[int, collections.Counter[str]]:
    """Inclusive sample counts per "function (file)" from py-spy's raw (collapsed) output."""
    total, inclusive = 0, collections.Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        total += int(count)
        seen = set()
        for frame in stack.split(";"):
            name, _, rest = frame.partition(" (")
            key = f"{name} ({Path(rest.split(':')[0]).name})" if rest else name
            if key not in seen:
                seen.add(key)
                inclusive[key] += int(count)
    return total, inclusive


def self_samples(path: Path) -> tuple[int, collections.Counter[str]]:
    """Sample counts of each stack's innermost "function (file)" (self time) from py-spy's raw output."""
    total, own = 0, collections.Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        total += int(count)
        name, _, rest = stack.split(";")[-1].partition(" (")
        own[f"{name} ({Path(rest.split(':')[0]).name})" if rest else name] += int(count)
    return total, own


def record(pid: int, out: Path, seconds: int, rate: int) -> subprocess.Popen[bytes]:
    command = ["py-spy", "record", "--pid", str(pid), "--output", str(out), "--format", "raw", "--gil"]
    command += ["--rate", str(rate), "--duration", str(seconds), "--nonblocking"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=800)
    parser.add_argument("--rate", type=int, default=50, help="samples per second (low: two cores in all)")
    parser.add_argument("--no-write", dest="write", action="store_false")
    parser.add_argument("--raw-dir", type=Path, help="keep py-spy's raw (collapsed) stacks in this folder")
    parser.add_argument("--self", dest="self_time", action="store_true", help="also list the top frames by self time")
    args = parser.parse_args()
    if shutil.which("py-spy") is None:
        print("py-spy is not installed: pip install py-spy", file=sys.stderr)
        return 2
    items = make_items(args.files, 50 * 1024)
    sandbox = Sandbox.start()
    try:
        run_console(items[:16], sandbox)  # warm
        with tempfile.TemporaryDirectory(prefix="bench-profile-") as folder:
            console_out, sandbox_out = Path(folder) / "console.txt", Path(folder) / "sandbox.txt"
            seconds = max(10, int(args.files * 0.04))  # ~25 ms a file on 2 cores; the batch must fit
            spies = [
                record(os.getpid(), console_out, seconds, args.rate),
                record(sandbox.process.pid, sandbox_out, seconds, args.rate),
            ]
            time.sleep(1.0)  # py-spy attaches
            started = time.perf_counter()
            run_console(items, sandbox)
            wall = time.perf_counter() - started
            for spy in spies:
                spy.wait(timeout=seconds + 60)
            profiles = {name: aggregate(path) for name, path in (("console", console_out), ("sandbox", sandbox_out))}
            selves = {name: self_samples(path) for name, path in (("console", console_out), ("sandbox", sandbox_out))}
            if args.raw_dir:
                args.raw_dir.mkdir(parents=True, exist_ok=True)
                for path in (console_out, sandbox_out):
                    shutil.copy(path, args.raw_dir / path.name)
    finally:
        sandbox.stop()
    lines = _common.header("Profile: where an upload batch spends CPU (py-spy --gil)", "python bench/profile_upload.py")
    lines += [
        f"- {args.files} files of ~50 KB through `upload_batch` in {wall:.1f} s; py-spy at {args.rate} Hz on both "
        "processes, GIL-holding samples only. Shares are of each process's own samples; inclusive.",
        "",
    ]
    rows = []
    for function, file in WATCH:
        key = f"{function} ({file})"
        for name, (total, counts) in profiles.items():
            if counts.get(key):
                rows.append([f"`{key}`", name, f"{counts[key] / total:.1%}", counts[key]])
    lines += _common.table(["function", "process", "share of samples", "samples"], rows)
    for name, (total, counts) in profiles.items():
        lines += ["", f"Top inclusive frames, {name} ({total} samples):", ""]
        top = [(k, v) for k, v in counts.most_common(40) if not k.startswith(("Thread.", "_bootstrap", "<module>"))]
        lines += _common.table(["frame", "share"], [[f"`{k}`", f"{v / total:.1%}"] for k, v in top[:25]])
    if args.self_time:
        for name, (total, counts) in selves.items():
            lines += ["", f"Top frames by self time, {name} ({total} samples):", ""]
            lines += _common.table(
                ["frame", "share"], [[f"`{k}`", f"{v / total:.1%}"] for k, v in counts.most_common(25)]
            )
    text = "\n".join(lines)
    print(text)
    if args.write:
        _common.write_section("profile", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
