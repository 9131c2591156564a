"""The whole check suite against the slowest single check alone, and its absolute time on the sandbox.

    python bench/checks.py [--rounds 3] [--no-what-if] [--no-write]

Each round (on one sandbox) times ``run_checks(settings)`` exactly as the Checks page and the CLI call it, and
``run_checks(settings, only=[id])`` for every id in ``REGISTRY``. The suite gathers its evidence concurrently, so
it should cost little more than its slowest check. Diagnostics: the same with the boto3 clients built beforehand
(what client construction costs), each evidence gatherer alone (the critical path), and what-ifs for the
proposed fixes.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import _common
import boto3

from services.aws import client_config
from services.checks.gather import GATHER, Clients, gather
from services.checks.runner import CHECK_IDS, run_checks
from services.sandbox import Sandbox

TARGET_RATIO = 1.5


def timed(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def one_session_clients(settings: Any) -> Clients:
    """The proposed Clients.for_settings: the four clients from one boto3 Session (one loader, one cache)."""
    target = settings.aws
    session = boto3.session.Session(
        profile_name=target.profile,
        aws_access_key_id=target.access_key_id,
        aws_secret_access_key=target.secret_access_key,
        region_name=target.region,
    )

    def client(service: str) -> Any:
        endpoint = target.s3_endpoint_url if service == "s3" and target.s3_endpoint_url else target.endpoint_url
        return session.client(service, config=client_config(), **({"endpoint_url": endpoint} if endpoint else {}))

    return Clients(s3=client("s3"), iam=client("iam"), lambda_=client("lambda"), cloudfront=client("cloudfront"))


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


def what_if(args: argparse.Namespace) -> list[tuple[str, float]]:
    """The suite on a sandbox whose HTTP servers set TCP_NODELAY (the proposed sandbox fix)."""
    sandbox, _ = _common.start_host_sandbox(what_if=["tcp-nodelay"])
    try:
        settings = sandbox.settings()
        clients = Clients.for_settings(settings)
        run_checks(settings, clients=clients)
        prebuilt = [timed(lambda: run_checks(settings, clients=clients)) for _ in range(args.rounds)]
        shared = [
            timed(lambda: run_checks(settings, clients=one_session_clients(settings))) for _ in range(args.rounds)
        ]
        as_called = [timed(lambda: run_checks(settings)) for _ in range(args.rounds)]
    finally:
        sandbox.stop()
    return [
        ("sandbox with `tcp-nodelay`, `run_checks` as called", _common.median(as_called)),
        ("sandbox with `tcp-nodelay`, clients from one boto3 Session per run", _common.median(shared)),
        ("sandbox with `tcp-nodelay`, clients built beforehand (cached)", _common.median(prebuilt)),
    ]


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
    if data.get("what_if"):
        lines += ["", "What-if (proposed fixes in a bench sandbox or bench code only; whole suite, medians):", ""]
        lines += _common.table(
            ["variant", "wall s", f"speed vs shipped ({_common.fmt_s(full)} s)"],
            [[label, _common.fmt_s(seconds), f"{full / seconds:.2f}×"] for label, seconds in data["what_if"]],
        )
        lines += [
            "",
            f"- Sandbox as shipped, clients from one boto3 Session per run: "
            f"{_common.fmt_s(_common.median(data['one_session']))} s "
            f"({full / _common.median(data['one_session']):.2f}×); clients built beforehand: {_common.fmt_s(full_c)} s "
            f"({full / full_c:.2f}×).",
        ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-what-if", dest="what_if", action="store_false")
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
        data["one_session"] = [
            timed(lambda: run_checks(settings, clients=one_session_clients(settings))) for _ in range(args.rounds)
        ]
    finally:
        sandbox.stop()
    if args.what_if:
        data["what_if"] = what_if(args)
    text = report(args, data)
    print(text)
    if args.write:
        _common.write_section("checks", text)
    print(f"done in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
