"""``python -m services presign``: one presigned PUT URL, printed whole to the person who ran the command."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from services.cli.common import EXIT_FAILED, EXIT_OK, Command
from services.core.errors import PipelineError
from services.core.localdns import resolution_note
from services.core.redact import redact_text
from services.core.transport import new_session
from services.pipeline.images import ALLOWED_EXTENSIONS
from services.pipeline.presign import hand_out_url
from services.runtime import Target


def run(args: argparse.Namespace, target: Target, out: TextIO) -> int:
    """One presigned URL, printed whole: to the person who ran the command, and nowhere else."""
    try:
        with new_session() as session:
            handed = hand_out_url(session, target.settings, args.extension)
    except PipelineError as err:
        print(f"error: {redact_text(str(err))}", file=sys.stderr)
        if err.cause:
            print(f"cause: {err.cause}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps(handed.to_json()), file=out)
        return EXIT_OK
    until = handed.expires_at.strftime("%Y-%m-%d %H:%M:%S UTC") if handed.expires_at else "an unknown time"
    signed = "signed by the endpoint" if handed.content_type_signed else "the endpoint did not say which type it signed"
    print(f"# a credential until {until}: anyone holding it can upload to this key; do not paste it anywhere", file=out)
    print(handed.url, file=out)
    print(f"# key: {handed.key}", file=out)
    print(f"# Content-Type to send: {handed.content_type} ({signed})", file=out)
    print(handed.curl(), file=out)
    if note := resolution_note(handed.url):
        print(f"# note: {note}", file=out)
    return EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--extension", default="png", choices=ALLOWED_EXTENSIONS, help="the x-extension header (default png)"
    )
    parser.add_argument("--json", action="store_true", help="print the URL, key, type to send and expiry as JSON")


COMMAND = Command(
    "presign",
    "ask the endpoint for one presigned PUT URL, as the web app does, and print it whole with a curl command",
    add_arguments,
    run,
)
