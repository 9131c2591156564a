"""Memory: peak RSS of a process uploading one 20 MB image through the console's upload service.

    python bench/memory.py [--size-mb 20] [--no-write]

The parent makes a real 20 MB PNG of random pixels (under the 25 MB limit), starts a sandbox, and runs each
measurement in a child process of its own (``--child MODE``), configured for the sandbox through the environment
as the CLI is. A child warms its path with a tiny image, reads RSS at rest ("idle"), reads the file, then samples
its RSS every 2 ms (``/proc/self/status``) while it uploads, and reports the kernel's high-water mark ``VmHWM``
(``getrusage(RUSAGE_SELF).ru_maxrss`` is reported too, but on Linux it carries over the peak of the parent that
forked the child, so it is not used for the verdict).

Modes: ``upload_batch`` (what the Upload page calls), ``upload_one`` (one session), and two baselines that move
the same bytes without the console: ``boto3`` (``put_object``) and ``seed`` (presign + ``requests.put``).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common

TARGET_FACTOR = 3.0
MODES = ("upload_batch", "upload_one", "boto3", "seed")


# --- the child --------------------------------------------------------------------------------------


def tiny_png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def child(mode: str, path: Path) -> dict[str, Any]:
    import requests

    from services.core.clients import make_client
    from services.core.settings import AwsTarget
    from services.core.transport import new_session
    from services.pipeline.upload import UploadInput, upload_batch, upload_one
    from services.runtime import resolve_target

    settings = resolve_target(os.environ).settings  # configured by PIPELINE_* (and installs *.localhost)
    s3 = make_client("s3", AwsTarget(region=os.environ["AWS_REGION"], endpoint_url=os.environ["AWS_ENDPOINT_URL"]))

    def run(name: str, data: bytes) -> dict[str, Any]:
        if mode == "upload_batch":
            ((_, result),) = list(upload_batch([UploadInput(name, data)], settings))
            return {"ok": result.ok, "steps": {s.name: s.ms for s in result.steps}}
        if mode == "upload_one":
            with new_session() as session:
                result = upload_one(UploadInput(name, data), settings, session)
            return {"ok": result.ok, "steps": {s.name: s.ms for s in result.steps}}
        if mode == "boto3":
            s3.put_object(Bucket=settings.bucket, Key=f"bench-memory/{name}", Body=data, ContentType="image/png")
            return {"ok": True}
        grant = requests.get(settings.presign_url, headers={"x-extension": "png"}, timeout=(5, 60)).json()
        put = requests.put(
            grant["presignedUrl"],
            data=data,
            headers={"Content-Type": grant.get("contentType", "application/png")},
            timeout=(5, 120),
        )
        return {"ok": put.status_code == 200}

    run("warm.png", tiny_png())  # imports, sessions and clients warmed with 69 bytes
    idle = _common.rss_bytes()
    data = path.read_bytes()
    holding = _common.rss_bytes()
    started = time.perf_counter()
    with _common.RssSampler(interval=0.002) as sampler:
        outcome = run(path.name, data)
    seconds = time.perf_counter() - started
    peak_at = max(sampler.samples, key=lambda s: s[1])[0] if sampler.samples else 0.0
    return {
        "mode": mode,
        "file_bytes": len(data),
        "idle": idle,
        "holding_file": holding,
        "peak_sampled": max(sampler.peak, _common.rss_bytes()),
        "hwm": _common.hwm_bytes(),
        "ru_maxrss": _common.max_rss_bytes(),
        "samples": len(sampler.samples),
        "peak_at": peak_at,
        "seconds": seconds,
        **outcome,
    }


# --- the parent -------------------------------------------------------------------------------------


def run_child(mode: str, path: Path, env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", mode, "--file", str(path)],
        cwd=_common.ROOT,
        env=env,
        capture_output=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"child {mode} failed: {done.stderr.decode()[-2000:]}")
    return json.loads(done.stdout.decode().strip().splitlines()[-1])


def report(results: list[dict[str, Any]], size: int) -> str:
    mib = _common.MB
    lines = _common.header("Memory: peak RSS uploading one 20 MB image", "python bench/memory.py")
    lines += [
        f"- File: a {size / mib:.1f} MiB ({size:,} bytes) PNG of random pixels; each mode in a fresh child process "
        "configured for one sandbox; RSS sampled every 2 ms; idle = RSS after a warm-up upload of a 69-byte PNG, "
        "before the file is read.",
        "",
    ]
    rows = []
    for r in results:
        above = max(r["peak_sampled"], r["hwm"]) - r["idle"]
        rows.append(
            [
                f"`{r['mode']}`",
                f"{r['idle'] / mib:.0f}",
                f"{(r['holding_file'] - r['idle']) / mib:.1f}",
                f"{r['peak_sampled'] / mib:.0f}",
                f"{r['hwm'] / mib:.0f}",
                f"{r['ru_maxrss'] / mib:.0f}",
                f"{above / mib:.1f}",
                f"{above / r['file_bytes']:.2f}×",
                f"{r['seconds']:.2f}",
                "ok" if r["ok"] else "FAILED",
            ]
        )
    lines += _common.table(
        [
            "mode",
            "idle MiB",
            "after reading the file, +MiB",
            "peak sampled MiB",
            "VmHWM MiB",
            "ru_maxrss MiB (inherited, not used)",
            "peak above idle MiB",
            "÷ file size",
            "upload s",
            "result",
        ],
        rows,
    )
    console = [r for r in results if r["mode"] in ("upload_batch", "upload_one")]
    lines += ["", "Targets:", ""]
    lines += _common.table(
        ["measure", "value", "target", "result"],
        [
            [
                f"`{r['mode']}` peak RSS above idle ÷ file size",
                f"{(max(r['peak_sampled'], r['hwm']) - r['idle']) / r['file_bytes']:.2f}×",
                f"< {TARGET_FACTOR:g}×",
                _common.verdict((max(r["peak_sampled"], r["hwm"]) - r["idle"]) / r["file_bytes"] < TARGET_FACTOR),
            ]
            for r in console
        ],
    )
    lines += [""]
    for r in console:
        steps = r.get("steps") or {}
        lines.append(
            f"- `{r['mode']}`: steps (ms) "
            + ", ".join(f"{k} {v:.0f}" for k, v in steps.items())
            + f"; RSS peaked {r['peak_at'] * 1000:.0f} ms into the upload ({r['samples']} samples)."
        )
    lines += [
        "- The file's bytes are held once (the Upload page gets them from Streamlit's uploader as `bytes`); "
        "`inspect_image` then decodes every pixel (Pillow keeps RGB at 4 bytes a pixel, so a 20 MB noise PNG "
        "of ~7 Mpx decodes to ~28 MB) to refuse damaged files, and frees it before anything is sent; the PUT "
        "sends the same `bytes` object and the CDN read-back is hashed in 64 KiB chunks. The baselines hold "
        "only the file.",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=float, default=20.0)
    parser.add_argument("--child", choices=MODES)
    parser.add_argument("--file", type=Path)
    parser.add_argument("--no-write", dest="write", action="store_false", help="print only; leave RESULTS.md")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.file)))
        return 0

    from services.pipeline.images import MAX_BYTES
    from services.sandbox import Sandbox

    started = time.perf_counter()
    data = _common.noise_image(7, "PNG", int(args.size_mb * _common.MB))
    if len(data) > MAX_BYTES:
        raise SystemExit(f"the test image is {len(data):,} bytes, over the console's limit of {MAX_BYTES:,}")
    print(f"made a {len(data):,}-byte PNG in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    sandbox = Sandbox.start()
    results = []
    try:
        env = _common.clean_env()
        env.update(sandbox.environment())
        env["PYTHONPATH"] = str(_common.ROOT)
        with tempfile.TemporaryDirectory(prefix="bench-memory-") as folder:
            path = Path(folder) / "noise-20mb.png"
            path.write_bytes(data)
            del data
            for mode in MODES:
                results.append(run_child(mode, path, env))
                print(f"{mode}: {results[-1]}", file=sys.stderr)
    finally:
        sandbox.stop()
    text = report(results, results[0]["file_bytes"])
    return _common.publish("memory", text, args.write, started)


if __name__ == "__main__":
    raise SystemExit(main())
