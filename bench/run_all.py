"""Run every bench script, one after another, each updating its own section of bench/RESULTS.md.

    python bench/run_all.py                  # the full set, as RESULTS.md records it (~15 minutes on 2 cores)
    python bench/run_all.py --only upload checks
    python bench/run_all.py --quick          # small workloads, a smoke run: prints, writes nothing

Each script runs in its own process with a time limit; one that fails is reported and the rest still run. Then
the summary table at the top of RESULTS.md is rebuilt from the scripts' "Targets" tables
(``python bench/run_all.py --summary-only`` does only that).
The exit code is 1 when any script failed (a missed target is not a failure: RESULTS.md says met / not met).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

import _common

BENCH = Path(__file__).resolve().parent
SCRIPTS: dict[str, list[str]] = {
    "upload": ["--sweep"],
    "browse": [],
    "checks": [],
    "startup": [],
    "memory": [],
    "history": [],
    "repair": [],
}
QUICK: dict[str, list[str]] = {
    "upload": ["--files", "40", "--rounds", "1", "--no-what-if"],
    "browse": ["--objects", "10000", "--rounds", "3", "--pages", "5"],
    "checks": ["--rounds", "1", "--no-what-if"],
    "startup": ["--rounds", "1"],
    "memory": ["--size-mb", "5"],
    "history": ["--rounds", "3", "--runs", "1000"],
    "repair": ["--objects", "10000", "--rounds", "1", "--seed-objects", "100"],
}
LIMIT_SECONDS = 1800


def targets_of(text: str, name: str) -> list[list[str]]:
    """The rows of the "Targets:" table in one script's section of RESULTS.md."""
    section = re.search(rf"<!-- bench:{name} -->(.*?)<!-- /bench:{name} -->", text, re.S)
    if not section:
        return []
    body = section.group(1)
    date = re.search(r"^- Date: (.+)$", body, re.M)
    block = body.split("Targets:", 1)[1] if "Targets:" in body else ""
    rows = []
    for line in block.strip().splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows.append([f"`{name}`", *cells, date.group(1) if date else ""])
    return rows


def write_summary() -> None:
    """One table of every target from the sections below it, placed right after RESULTS.md's header."""
    text = _common.RESULTS.read_text() if _common.RESULTS.exists() else ""
    rows = [row for name in SCRIPTS for row in targets_of(text, name)]
    lines = ["## Summary: every target", "", "Collected by `python bench/run_all.py` from the sections below.", ""]
    lines += _common.table(["bench", "measure", "value", "target", "result", "measured"], rows)
    block = "<!-- bench:summary -->\n" + "\n".join(lines) + "\n<!-- /bench:summary -->"
    if "<!-- bench:summary -->" in text:
        text = re.sub(r"<!-- bench:summary -->.*?<!-- /bench:summary -->", lambda _m: block, text, flags=re.S)
    else:
        head, sep, rest = text.partition("\n<!-- bench:")
        text = head.rstrip() + "\n\n" + block + "\n" + (sep + rest if sep else "")
    _common.RESULTS.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=list(SCRIPTS), default=list(SCRIPTS))
    parser.add_argument("--quick", action="store_true", help="small workloads; print only, RESULTS.md untouched")
    parser.add_argument("--summary-only", action="store_true", help="only rebuild the summary table of RESULTS.md")
    args = parser.parse_args()
    if args.summary_only:
        write_summary()
        return 0
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
    if not args.quick:
        write_summary()
    if failed:
        print(f"failed: {', '.join(failed)}")
        return 1
    print("all bench scripts ran; see bench/RESULTS.md" if not args.quick else "quick run done (nothing written)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
