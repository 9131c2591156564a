"""``python -m services profiles``: every pipeline profile the console knows, and what each one lacks."""

from __future__ import annotations

import argparse
import json
from typing import TextIO

from services.cli.common import EXIT_OK, Command
from services.core.profiles import Profile, Profiles


def describe(profile: Profile, initial: str) -> list[str]:
    """One profile for the terminal: a head line (name, production, chosen by default), then what it points at or
    what it lacks."""
    marks = [
        word for word, on in (("PRODUCTION", profile.production), ("default choice", profile.name == initial)) if on
    ]
    state = "ready" if profile.configured else "NOT USABLE"
    lines = [f"{profile.name:16}{state:12}{profile.source}" + (f"  ({', '.join(marks)})" if marks else "")]
    if profile.missing:
        lines.append(f"{'':16}missing: {', '.join(profile.missing)}")
    elif profile.problem is not None:
        lines.append(f"{'':16}problem: {profile.problem}")
    for label, value in (("bucket", profile.bucket), ("presign", profile.presign_url), ("cdn", profile.cdn_url)):
        if value:
            lines.append(f"{'':16}{label}: {value}")
    return lines


def run(args: argparse.Namespace, profiles: Profiles, out: TextIO) -> int:
    if args.json:
        print(json.dumps([profile.to_json() for profile in profiles.all], indent=2), file=out)
        return EXIT_OK
    for profile in profiles.all:
        for line in describe(profile, profiles.initial):
            print(line, file=out)
    return EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        help='print [{"name", "production", "configured", "missing", "bucket", "presign_url", "cdn_url", ...}]',
    )


COMMAND = Command(
    "profiles",
    "list the pipeline profiles ([pipelines.NAME], the PIPELINE_* variables, the sandbox) and what each lacks",
    add_arguments,
    run,
    needs_target=False,
    needs_profiles=True,
)
