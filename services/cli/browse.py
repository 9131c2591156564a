"""``python -m services browse``: the bucket's keys in S3's order, with size, type, last modified and CDN URL."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from typing import TextIO

from services.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Command, at_least_one
from services.core.awserrors import describe_aws_error, is_access_problem, require_access
from services.core.errors import ConfigError, HistoryError
from services.history.uploaded import find_by_name, uploaded_names
from services.pipeline import browse
from services.runtime import Target


def _find(args: argparse.Namespace, target: Target, out: TextIO) -> int:
    """``--name``: the objects uploaded with a file name containing NAME (the history), as S3 holds them now."""
    try:
        uploads = find_by_name(target.settings, args.name, limit=args.limit, env=args.env)
    except HistoryError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    found = browse.locate(browse.s3_client(target.settings), target.settings, uploads)
    lines = (json.dumps(item.to_json(), ensure_ascii=False) for item in found) if args.json else None
    for line in lines or browse.format_found(found, args.name):
        print(line, file=out)
    return EXIT_OK


class _Names:
    """The listing's "uploaded as", page by page; a history that cannot be read is one warning line, once."""

    def __init__(self, args: argparse.Namespace, target: Target) -> None:
        self.args, self.target, self.warned = args, target, False

    def __call__(self, keys: Sequence[str]) -> Mapping[str, str]:
        names = uploaded_names(self.target.settings, keys, env=self.args.env)
        if names.warning and not self.warned:
            self.warned = True
            print(f"warning: {names.warning}", file=sys.stderr)
        return names.names()


def run(args: argparse.Namespace, target: Target, out: TextIO) -> int:
    settings = target.settings
    require_access(settings.aws)
    if args.name is not None:
        return _find(args, target, out)
    pages = browse.iter_pages(browse.s3_client(settings), settings, prefix=args.prefix, limit=args.limit)
    names = _Names(args, target)
    try:
        for line in browse.listing_json(pages, names) if args.json else browse.format_listing(pages, names):
            print(line, file=out)
    except browse.BrowseError as err:
        if err.__cause__ is not None and is_access_problem(err.__cause__):
            raise ConfigError(describe_aws_error(err.__cause__)) from err  # the console's access: exit 2
        print(browse.cli_error(err), file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def validate(args: argparse.Namespace) -> None:
    at_least_one("--limit", args.limit)
    if args.name is not None and args.prefix:
        raise ConfigError("--name finds objects by the name they were uploaded with, anywhere: drop --prefix")
    if args.name is not None and not args.name.strip():
        raise ConfigError("--name takes part of a file name, not an empty text")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prefix", default="", help="only keys that start with this (literal, case-sensitive)")
    parser.add_argument("--limit", type=int, default=1000, help="at most this many keys (default 1000)")
    parser.add_argument("--json", action="store_true", help="one JSON object per key (JSON Lines)")
    parser.add_argument(
        "--name",
        metavar="TEXT",
        help="instead of the listing: the objects uploaded through the console with a file name containing TEXT "
        "(from the history, newest first, at most --limit), each as S3 holds it now",
    )


COMMAND = Command(
    "browse",
    "list keys in key order with size, type, last modified, CDN URL",
    add_arguments,
    run,
    validate=validate,
)
