"""Run every bench script, one after another, each updating its own section of bench/RESULTS.md.

    python bench/run_all.py                  # the full set, as RESULTS.md records it (~15 minutes on 2 cores)
    python bench/run_all.py --only upload checks
    python bench/run_all.py --quick          # small workloads, a smoke run: prints, writes nothing

Each script runs in its own process with a time limit; one that fails is reported and the rest still run.
The exit code is 1 when any script failed (a missed target is not a failure: RESULTS.md says met / not met).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SCRIPTS: dict[str, list[str]] = {
    "upload": ["--sweep"],
    "browse": [],
    "checks": [],
    "startup": [],
    "memory": [],
}
QUICK: dict[str, list[str]] = {
    "upload": ["--files", "40", "--rounds", "1", "--no-what-if"],
    "browse": ["--objects", "10000", "--rounds", "3", "--pages", "5"],
    "checks": ["--rounds", "1", "--no-what-if"],
    "startup": ["--rounds", "1"],
    "memory": ["--size-mb", "5"],
}
LIMIT_SECONDS = 1800


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=list(SCRIPTS), default=list(SCRIPTS))
    parser.add_argument("--quick", action="store_true", help="small workloads; print only, RESULTS.md untouched")
    args = parser.parse_args()
    failed = []
    for name in args.only:
        extra = [*QUICK[name], "--no-write"] if args.quick else SCRIPTS[name]
        command = [sys.executable, str(BENCH / f"{name}.py"), *extra]
        print(f"=== {' '.join(command[1:])}", flush=True)
        started = time.perf_counter()
        try:
            code = subprocess.run(command, cwd=BENCH.parent, timeout=LIMIT_SECONDS).returncode
        except subprocess.TimeoutExpired:
            code = -1
            print(f"=== {name}: stopped after {LIMIT_SECONDS} s", flush=True)
        print(f"=== {name}: exit {code} in {time.perf_counter() - started:.0f} s", flush=True)
        if code != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}")
        return 1
    print("all bench scripts ran; see bench/RESULTS.md" if not args.quick else "quick run done (nothing written)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
