"""``python -m services browse``: the bucket's keys in S3's order, with size, type, last modified and CDN URL."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from services.cli.common import EXIT_FAILED, EXIT_OK, Command, at_least_one
from services.core.awserrors import describe_aws_error, is_access_problem, require_access
from services.core.errors import ConfigError
from services.pipeline import browse
from services.runtime import Target


def run(args: argparse.Namespace, target: Target, out: TextIO) -> int:
    settings = target.settings
    require_access(settings.aws)
    pages = browse.iter_pages(browse.s3_client(settings), settings, prefix=args.prefix, limit=args.limit)
    try:
        for line in browse.listing_json(pages) if args.json else browse.format_listing(pages):
            print(line, file=out)
    except browse.BrowseError as err:
        if err.__cause__ is not None and is_access_problem(err.__cause__):
            raise ConfigError(describe_aws_error(err.__cause__)) from err  # the console's access: exit 2
        print(browse.cli_error(err), file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prefix", default="", help="only keys that start with this (literal, case-sensitive)")
    parser.add_argument("--limit", type=int, default=1000, help="at most this many keys (default 1000)")
    parser.add_argument("--json", action="store_true", help="one JSON object per key (JSON Lines)")


COMMAND = Command(
    "browse",
    "list keys in key order with size, type, last modified, CDN URL",
    add_arguments,
    run,
    validate=lambda args: at_least_one("--limit", args.limit),
)
