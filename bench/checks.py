"""The whole check suite against the slowest single check alone, and its absolute time on the sandbox.

    python bench/checks.py [--rounds 3] [--no-model] [--no-write]

Each round (on one sandbox) times ``run_checks(settings)`` exactly as the Checks page and the CLI call it, and
``run_checks(settings, only=[id])`` for every id in ``REGISTRY``. The suite gathers its evidence concurrently, so
it should cost little more than its slowest check. Diagnostics: the same with the boto3 clients built beforehand
(what client construction costs), each evidence gatherer alone (the critical path), the CPU the suite costs in
this process and in the sandbox's (is the wall time waiting or computing?), and the same ratio on a model of a
network (``--what-if latency-30ms``: the sandbox sleeps 30 ms before each reply, no CPU), labelled as a model.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import _common

from services.checks.gather import GATHER, Clients, gather
from services.checks.runner import CHECK_IDS, run_checks
from services.sandbox import Sandbox

TARGET_RATIO = 1.5


def timed(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def suite_and_singles(
    settings: Any, rounds: int, clients: Clients | None
) -> tuple[list[float], dict[str, list[float]]]:
    full: list[float] = []
    single: dict[str, list[float]] = {cid: [] for cid in CHECK_IDS}
    for round_no in range(rounds):
        ids = list(CHECK_IDS) if round_no % 2 == 0 else list(reversed(CHECK_IDS))
        full.append(timed(lambda: run_checks(settings, clients=clients)))
        for cid in ids:
            single[cid].append(timed(lambda c=cid: run_checks(settings, only=[c], clients=clients)))
    return full, single


def latency_model(args: argparse.Namespace) -> dict[str, Any]:
    """The suite and each check alone on a sandbox that waits 30 ms before every reply (a model of a network)."""
    sandbox, _ = _common.start_host_sandbox(what_if=["latency-30ms"])
    try:
        settings = sandbox.settings()
        run_checks(settings)  # warm
        full, single = suite_and_singles(settings, args.rounds, None)
    finally:
        sandbox.stop()
    return {"full": full, "single": single}


def cpu_of_suite(settings: Any, pid: int, rounds: int) -> tuple[float, float, float]:
    """Median wall, this process's CPU and the sandbox's CPU for the whole suite as called."""
    samples = []
    for _ in range(rounds):
        with _common.measured(pid) as sample:
            run_checks(settings)
        samples.append(sample)
    return (
        _common.median(x.wall for x in samples),
        _common.median(x.client_cpu for x in samples),
        _common.median(x.server_cpu for x in samples),
    )


def report(args: argparse.Namespace, data: dict[str, Any]) -> str:
    full = _common.median(data["full"])
    singles = {cid: _common.median(values) for cid, values in data["single"].items()}
    slowest = max(singles, key=singles.__getitem__)
    ratio = full / singles[slowest]
    full_c = _common.median(data["full_clients"])
    singles_c = {cid: _common.median(values) for cid, values in data["single_clients"].items()}
    slowest_c = max(singles_c, key=singles_c.__getitem__)
    lines = _common.header("Checks: the whole suite against its slowest check", "python bench/checks.py")
    lines += [
        f"- {len(CHECK_IDS)} checks in `REGISTRY`; {args.rounds} round(s) on one sandbox; medians. "
        "`run_checks` is called as the Checks page and `python -m services check` call it (no clients passed: "
        "it builds its four boto3 clients itself).",
        "",
    ]
    lines += _common.table(
        ["run", "wall s", "wall s, clients built beforehand"],
        [
            ["whole suite `run_checks(settings)`", _common.fmt_s(full), _common.fmt_s(full_c)],
            [
                f"slowest single check alone (`{slowest}` / `{slowest_c}`)",
                _common.fmt_s(singles[slowest]),
                _common.fmt_s(singles_c[slowest_c]),
            ],
            [
                "fastest single check alone",
                _common.fmt_s(min(singles.values())),
                _common.fmt_s(min(singles_c.values())),
            ],
            ["building the 4 clients (`Clients.for_settings`)", _common.fmt_s(_common.median(data["clients"])), "—"],
        ],
    )
    lines += ["", "Targets:", ""]
    lines += _common.table(
        ["measure", "value", "target", "result"],
        [
            [
                "whole suite / slowest single check",
                f"{ratio:.2f}×",
                f"≤ {TARGET_RATIO}×",
                _common.verdict(ratio <= TARGET_RATIO),
            ],
            [
                "same, clients built beforehand",
                f"{full_c / singles_c[slowest_c]:.2f}×",
                f"≤ {TARGET_RATIO}×",
                _common.verdict(full_c / singles_c[slowest_c] <= TARGET_RATIO),
            ],
            ["whole suite, absolute, on the sandbox", f"{full:.2f} s", "(reported)", ""],
        ],
    )
    lines += ["", "Each evidence gatherer alone (clients built beforehand; the suite runs them concurrently):", ""]
    lines += _common.table(
        ["gatherer", "wall ms"],
        [[name, _common.fmt_ms(seconds)] for name, seconds in sorted(data["gatherers"].items(), key=lambda kv: -kv[1])],
    )
    lines += [
        "",
        "Each check alone (as called, clients built by `run_checks`; then with clients built beforehand):",
        "",
    ]
    lines += _common.table(
        ["check", "wall s", "wall s, clients built beforehand"],
        [[f"`{cid}`", _common.fmt_s(singles[cid]), _common.fmt_s(singles_c[cid])] for cid in CHECK_IDS],
    )
    wall, client_cpu, server_cpu = data["cpu"]
    lines += [
        "",
        f"CPU of the whole suite (as called, medians): wall {_common.fmt_s(wall)} s; this process "
        f"{_common.fmt_s(client_cpu)} s (boto3's request building and parsing, the probes, the judges); the "
        f"sandbox process {_common.fmt_s(server_cpu)} s; together {(client_cpu + server_cpu) / wall:.2f} CPU-seconds "
        "per second of wall on 2 cores. The gatherers do run concurrently, but on loopback each one is all CPU, so "
        "the suite costs about the sum of their CPU, not the longest of their waits.",
    ]
    if data.get("model"):
        model_full = _common.median(data["model"]["full"])
        model_singles = {cid: _common.median(v) for cid, v in data["model"]["single"].items()}
        model_slowest = max(model_singles, key=model_singles.__getitem__)
        model_ratio = model_full / model_singles[model_slowest]
        lines += [
            "",
            "Model of a network (`latency-30ms`: the sandbox waits 30 ms before each reply; a model, not a fix):",
            "",
        ]
        lines += _common.table(
            ["measure", "value", "target", "result (model)"],
            [
                ["whole suite", f"{_common.fmt_s(model_full)} s", "", ""],
                [
                    f"slowest single check (`{model_slowest}`)",
                    f"{_common.fmt_s(model_singles[model_slowest])} s",
                    "",
                    "",
                ],
                [
                    "whole suite / slowest single check",
                    f"{model_ratio:.2f}×",
                    f"≤ {TARGET_RATIO}×",
                    _common.verdict(model_ratio <= TARGET_RATIO),
                ],
            ],
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-model", dest="model", action="store_false", help="skip the latency-30ms model")
    parser.add_argument("--no-write", dest="write", action="store_false", help="print only; leave RESULTS.md")
    args = parser.parse_args()

    started = time.perf_counter()
    sandbox = Sandbox.start()
    data: dict[str, Any] = {}
    try:
        settings = sandbox.settings()
        report_ = run_checks(settings)  # warm: imports, moto's lazy backends, the CDN
        not_passing = [f.id for f in report_.findings if f.status.value != "pass"]
        if not_passing:
            print(f"note: not passing on the healthy sandbox: {not_passing}", file=sys.stderr)
        data["full"], data["single"] = suite_and_singles(settings, args.rounds, None)
        data["clients"] = [timed(lambda: Clients.for_settings(settings)) for _ in range(args.rounds)]
        clients = Clients.for_settings(settings)
        data["full_clients"], data["single_clients"] = suite_and_singles(settings, args.rounds, clients)
        data["gatherers"] = {
            name: _common.median(
                timed(lambda n=name: gather(settings, frozenset({n}), clients)) for _ in range(args.rounds)
            )
            for name in GATHER
        }
        data["cpu"] = cpu_of_suite(settings, sandbox.endpoints.pid, args.rounds)
    finally:
        sandbox.stop()
    if args.model:
        data["model"] = latency_model(args)
    text = report(args, data)
    print(text)
    if args.write:
        _common.write_section("checks", text)
    print(f"done in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
