"""Shared by the bench scripts: machine summary, RESULTS.md sections, test images, CPU and RSS readings.

Importing this module puts the project root on ``sys.path`` (the scripts run as ``python bench/x.py``).
Nothing here talks to the network.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import functools
import io
import json
import os
import platform
import random
import re
import resource
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = BENCH / "RESULTS.md"
RESULTS_HEADER = """# Benchmark results

Written by the scripts in `bench/` (see `bench/README.md`); each script replaces only its own section, between
its `<!-- bench:NAME -->` markers. Ratios compare the console with baselines measured in the same run on the same
machine. Everything runs on the embedded sandbox (loopback only).
"""
CLK_TCK = os.sysconf("SC_CLK_TCK")
MB = 1024 * 1024


# --- the machine ------------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    found = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    return found.group(1).strip() if found else (platform.processor() or "unknown")


def ram_gib() -> float:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return 0.0
    found = re.search(r"^MemTotal:\s*(\d+) kB", text, re.M)
    return int(found.group(1)) / (1024 * 1024) if found else 0.0


def machine_summary() -> str:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"nproc {cores}, RAM {ram_gib():.1f} GiB, Python {platform.python_version()} "
        f"({platform.python_implementation()}), CPU {cpu_model()}, {platform.system()} {platform.release()}"
    )


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# --- RESULTS.md -------------------------------------------------------------------------------------


def write_section(name: str, body: str, path: Path = RESULTS) -> None:
    """Replace this script's section of RESULTS.md (or append it); other sections are left as they are."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{body.strip()}\n{end}"
    path.touch(exist_ok=True)
    with path.open("r+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # run_all runs scripts one after another, but be safe
        text = handle.read() or RESULTS_HEADER
        pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
        text = pattern.sub(lambda _m: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
        handle.seek(0)
        handle.write(text)
        handle.truncate()


def publish(name: str, text: str, write: bool, started: float) -> int:
    """The end of every bench: print its section, write it into RESULTS.md when asked, say how long it took."""
    print(text)
    if write:
        write_section(name, text)
    print(f"done in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0


def header(title: str, command: str) -> list[str]:
    return [f"## {title}", "", f"- Command: `{command}`", f"- Machine: {machine_summary()}", f"- Date: {now_text()}"]


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def verdict(met: bool) -> str:
    return "**met**" if met else "**not met**"


# --- numbers ----------------------------------------------------------------------------------------


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def fmt_s(seconds: float) -> str:
    return f"{seconds:.3f}" if seconds < 10 else f"{seconds:.2f}"


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def self_cpu() -> float:
    """CPU seconds (user + system) this process has used so far, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def self_user_cpu() -> float:
    """User-mode CPU seconds of this process (Python runs here, one thread at a time: the GIL)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_utime


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) another process has used so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def process_user_cpu(pid: int) -> float:
    """User-mode CPU seconds another process has used so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLK_TCK


@dataclass
class Sample:
    wall: float
    client_cpu: float
    server_cpu: float
    #: user-mode CPU only: Python bytecode runs there, under the GIL, one thread at a time; the kernel's share
    #: (sockets, loopback TCP) runs beside it on other cores
    client_user: float = 0.0
    server_user: float = 0.0


@contextmanager
def measured(server_pid: int | None) -> Iterator[Sample]:
    """Wall time, this process's CPU and the server process's CPU over the ``with`` block."""
    sample = Sample(0.0, 0.0, 0.0)
    wall0, cpu0, user0 = time.perf_counter(), self_cpu(), self_user_cpu()
    srv0 = process_cpu(server_pid) if server_pid else 0.0
    srv_user0 = process_user_cpu(server_pid) if server_pid else 0.0
    try:
        yield sample
    finally:
        sample.wall = time.perf_counter() - wall0
        sample.client_cpu = self_cpu() - cpu0
        sample.client_user = self_user_cpu() - user0
        sample.server_cpu = (process_cpu(server_pid) - srv0) if server_pid else 0.0
        sample.server_user = (process_user_cpu(server_pid) - srv_user0) if server_pid else 0.0


# --- memory -----------------------------------------------------------------------------------------


def rss_bytes(pid: int | str = "self") -> int:
    """Resident set size now, from /proc/<pid>/status (VmRSS)."""
    text = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"^VmRSS:\s*(\d+) kB", text, re.M)
    return int(found.group(1)) * 1024 if found else 0


def hwm_bytes(pid: int | str = "self") -> int:
    """The kernel's peak RSS of this process image (VmHWM). Unlike ``ru_maxrss``, it starts afresh at exec: on
    Linux ``ru_maxrss`` keeps the high-water mark of the process that forked the child."""
    text = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"^VmHWM:\s*(\d+) kB", text, re.M)
    return int(found.group(1)) * 1024 if found else 0


def max_rss_bytes() -> int:
    """This process's peak RSS so far (getrusage ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class _MallInfo2(ctypes.Structure):
    """glibc's ``struct mallinfo2`` (glibc 2.33+): byte counts summed over every malloc arena."""

    _fields_ = [
        (name, ctypes.c_size_t)
        for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks")
    ] + [("keepcost", ctypes.c_size_t)]


@functools.cache
def _glibc() -> Any:
    """The C library when it is glibc (malloc_trim and mallinfo2 are glibc's), else None."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    if hasattr(libc, "mallinfo2"):
        libc.mallinfo2.restype = _MallInfo2
    return libc if hasattr(libc, "malloc_trim") else None


def trimmed_rss_bytes() -> int | None:
    """RSS after glibc's ``malloc_trim(0)``: every malloc arena's free pages given back to the kernel first, so
    what is left is what the process holds. glibc keeps memory its threads freed (per-thread arenas, chunks
    between live ones) and RSS counts it; a trim returns it. None where the C library is not glibc."""
    libc = _glibc()
    if libc is None:
        return None
    libc.malloc_trim(0)
    return rss_bytes()


def malloc_bytes() -> tuple[int, int] | None:
    """(bytes malloc has handed out and not had back, bytes free inside its arenas), summed over every arena
    (glibc's mallinfo2; CPython's own small-object arenas are mmapped apart and not in it). None elsewhere."""
    libc = _glibc()
    if libc is None or not hasattr(libc, "mallinfo2"):
        return None
    info = libc.mallinfo2()
    return int(info.uordblks + info.hblkhd), int(info.fordblks)


class RssSampler:
    """Samples this process's RSS every ``interval`` seconds in a thread; ``peak`` is the highest seen."""

    def __init__(self, interval: float = 0.002, limit_seconds: float = 600.0) -> None:
        self.interval, self.limit = interval, limit_seconds
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        started = time.perf_counter()
        while not self._stop.is_set() and time.perf_counter() - started < self.limit:
            self.samples.append((time.perf_counter() - started, rss_bytes()))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    @property
    def peak(self) -> int:
        return max((rss for _, rss in self.samples), default=0)


# --- test images ------------------------------------------------------------------------------------


def noise_image(seed: int, fmt: str, target_bytes: int) -> bytes:
    """A distinct image of about ``target_bytes`` made of random pixels (so it does not compress)."""
    from PIL import Image

    rng = random.Random(seed)
    # bytes per pixel of RGB noise: PNG stores it raw (3 B/px); JPEG at quality 85 about 0.8 B/px
    per_pixel = 3.0 if fmt == "PNG" else 0.8
    side = max(8, int((target_bytes / per_pixel) ** 0.5))
    data = b""
    for _ in range(4):  # a few corrections converge within a few percent
        image = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
        buffer = io.BytesIO()
        image.save(buffer, fmt, **({"quality": 85} if fmt == "JPEG" else {"compress_level": 1}))
        data = buffer.getvalue()
        if abs(len(data) - target_bytes) <= target_bytes * 0.03:
            break
        side = max(8, int(side * (target_bytes / len(data)) ** 0.5))
    return data


# --- processes and ports ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass (a bounded loop)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def clean_env() -> dict[str, str]:
    """This process's environment without PIPELINE_* / AWS_* (so nothing real is configured)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PIPELINE_", "AWS_"))}


def dump_json(path: Path, doc: Any) -> None:
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n")


# --- sandboxes --------------------------------------------------------------------------------------


def start_host_sandbox(objects: int = 0, what_if: Sequence[str] = (), timeout: float = 300.0) -> tuple[Any, dict]:
    """A sandbox run by ``bench/_sandbox_host.py`` (optionally seeded with ``objects`` keys, or patched).

    Returns (a ``services.sandbox.Sandbox`` for it, the ready line). Stop it with ``sandbox.stop()``.
    """
    import selectors
    import subprocess

    from services.core import localdns
    from services.sandbox.process import Endpoints, Sandbox

    localdns.install()
    env = clean_env()
    env["MOTO_DISABLE_GLOBAL_CORS"] = "true"
    env["PYTHONPATH"] = str(ROOT)
    command = [sys.executable, str(BENCH / "_sandbox_host.py"), f"--objects={objects}"]
    command += [f"--what-if={name}" for name in what_if]
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT, env=env)
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    doc: dict | None = None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while doc is None and time.monotonic() < deadline and proc.poll() is None:
            if selector.select(timeout=0.5):
                line = proc.stdout.readline()
                if not line:
                    break
                try:
                    doc = json.loads(line)
                except ValueError:
                    continue
    if not doc or not doc.get("ready"):
        proc.kill()
        proc.wait(timeout=10)
        raise RuntimeError(f"the bench sandbox did not start: {doc}")
    sandbox = Sandbox(endpoints=Endpoints.from_ready_line(doc), process=proc)
    return sandbox, doc
