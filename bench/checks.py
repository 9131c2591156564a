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
import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import _common
import urllib3

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


def cpu_of(settings: Any, pid: int, rounds: int, only: list[str] | None = None) -> _common.Sample:
    """Median wall, this process's CPU and the sandbox's CPU of ``run_checks`` as called (all, or ``only``)."""
    samples = []
    for _ in range(max(rounds, 5)):
        with _common.measured(pid) as sample:
            run_checks(settings, only=only)
        samples.append(sample)
    return _common.Sample(
        *(_common.median(getattr(x, name) for x in samples) for name in _common.Sample.__dataclass_fields__)
    )


@contextlib.contextmanager
def counting_exchanges() -> Iterator[list[int]]:
    """How many HTTP requests this process sends in the block (requests and botocore both go through urllib3)."""
    count, lock = [0], threading.Lock()
    real = urllib3.connectionpool.HTTPConnectionPool.urlopen

    def urlopen(self: Any, *args: Any, **kwargs: Any) -> Any:
        with lock:
            count[0] += 1
        return real(self, *args, **kwargs)

    urllib3.connectionpool.HTTPConnectionPool.urlopen = urlopen  # type: ignore[method-assign]
    try:
        yield count
    finally:
        urllib3.connectionpool.HTTPConnectionPool.urlopen = real  # type: ignore[method-assign]


def exchanges_of(settings: Any, only: list[str] | None = None) -> int:
    with counting_exchanges() as count:
        run_checks(settings, only=only)
    return count[0]


def ceiling(sample: _common.Sample) -> float:
    """An estimate of the least wall time this CPU allows: each process's Python (user-mode CPU) runs one thread
    at a time (the GIL), and all of both processes' CPU shares the machine's cores."""
    return max(sample.client_user, sample.server_user, (sample.client_cpu + sample.server_cpu) / (os.cpu_count() or 1))


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
        "it uses the process's shared boto3 clients, built by the first run, `services.core.clients.shared_client`).",
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
            [
                "building the 4 clients (`Clients.for_settings`; a first run's extra)",
                _common.fmt_s(_common.median(data["clients"])),
                "—",
            ],
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
            [
                "whole suite / slowest single check: the least this machine's CPU allows",
                f"{ceiling(data['cpu']) / data['cpu_single'].wall:.2f}×",
                "(reported)",
                "",
            ],
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
    lines += ["", "What the suite and its slowest check cost (as called, medians of 5 or more runs):", ""]
    suite_floor = ceiling(data["cpu"])
    lines += _common.table(
        [
            "run",
            "HTTP requests",
            "wall s",
            "console CPU s",
            "of it user-mode s",
            "sandbox CPU s",
            "least wall s (est.)",
        ],
        [
            [
                label,
                str(count),
                *(_common.fmt_s(x) for x in (cpu.wall, cpu.client_cpu, cpu.client_user, cpu.server_cpu)),
                _common.fmt_s(ceiling(cpu)),
            ]
            for label, count, cpu in (
                ("whole suite", data["exchanges"][0], data["cpu"]),
                (f"`{slowest}` alone", data["exchanges"][1], data["cpu_single"]),
            )
        ],
    )
    best = suite_floor / data["cpu_single"].wall
    lines += [
        "",
        f"- On loopback a request is CPU, not waiting: the suite sends {data['exchanges'][0]} requests where its "
        f"slowest check sends {data['exchanges'][1]}, and the console's Python runs on one core at a time (the GIL) "
        f"beside the sandbox's. Even perfectly overlapped, the suite's CPU needs about {_common.fmt_s(suite_floor)} s"
        f" of wall (estimate: the larger of either process's user-mode CPU and both processes' CPU over the cores), so "
        f"**on this machine the ratio cannot get much below {best:.2f}×**; in these runs it measured "
        f"{data['cpu'].wall / data['cpu_single'].wall:.2f}×. On a network, where a request is mostly waiting, "
        "the model below shows the overlap.",
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
        data["cpu"] = cpu_of(settings, sandbox.endpoints.pid, args.rounds)
        slowest = max(data["single"], key=lambda cid: _common.median(data["single"][cid]))
        data["cpu_single"] = cpu_of(settings, sandbox.endpoints.pid, args.rounds, [slowest])
        data["exchanges"] = (exchanges_of(settings), exchanges_of(settings, [slowest]))
    finally:
        sandbox.stop()
    if args.model:
        data["model"] = latency_model(args)
    text = report(args, data)
    return _common.publish("checks", text, args.write, started)


if __name__ == "__main__":
    raise SystemExit(main())
