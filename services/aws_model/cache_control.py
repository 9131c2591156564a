"""Cache-Control, read once for everyone: parsed by httplint (the engine behind REDbot), not by a parser of ours.

The checks judge what a CDN sends (``cdn.cache_control``); the sandbox's CloudFront decides how long to keep an
object from what its origin sends. CloudFront takes ``s-maxage`` over ``max-age`` and treats ``no-cache``,
``no-store`` and ``private`` without either as "the minimum TTL" (CloudFront Developer Guide, "Managing how long
content stays in the cache (expiration)":
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/Expiration.html). Pure.
"""

from __future__ import annotations

from httplint import HttpResponseLinter

#: httplint notes about the Cache-Control field's own syntax (the rest are about freshness in general)
_SYNTAX_NOTES = ("BAD_SYNTAX", "CC_")
#: directives that, with no max-age of either kind, make CloudFront keep an object for its minimum TTL only
NOT_CACHED = frozenset({"no-cache", "no-store", "private"})


def parse_cache_control(value: str) -> tuple[dict[str, str | None], list[str]]:
    """Directives (lower-cased name -> value or None, the first of duplicates) and the syntax problems,
    parsed and reported by httplint."""
    linter = HttpResponseLinter()
    linter.process_response_topline(b"HTTP/1.1", b"200", b"OK")
    linter.process_headers([(b"Cache-Control", value.encode("latin-1", "replace"))])
    linter.finish_content(True)
    directives: dict[str, str | None] = {}
    for name, arg in linter.headers.parsed.get("cache-control") or []:
        directives.setdefault(str(name).lower(), None if arg is None else str(arg))
    problems = [
        str(note.summary).rstrip(".")
        for note in linter.notes
        if type(note).__name__.startswith(_SYNTAX_NOTES) and note.level.name in ("BAD", "WARN")
    ]
    return directives, problems


def seconds(raw: str | None) -> int | None:
    """A delta-seconds directive value, or None when it is absent or not one."""
    return int(raw) if raw is not None and raw.isdigit() and raw.isascii() else None


def shared_max_age(directives: dict[str, str | None]) -> int | None:
    """How long a shared cache (CloudFront) may keep the response: ``s-maxage``, else ``max-age``, else None."""
    shared = seconds(directives.get("s-maxage"))
    return shared if shared is not None else seconds(directives.get("max-age"))
