"""Keep signatures and credentials out of pages, logs, exports and error messages.

A presigned URL is a bearer credential until it expires: only the person who asked for it sees it
whole. Everywhere else it is shown through ``redact_url``.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

SECRET_QUERY_PARAMS = frozenset(
    {
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
        "signature",
        "awsaccesskeyid",
        "x-amz-user-agent",
    }
)
REDACTED = "REDACTED"
_URL_IN_TEXT = re.compile(r"https?://[^\s\"'<>]+")
#: a signing parameter anywhere in text, e.g. the path-and-query that requests quotes in its errors
_PARAM_IN_TEXT = re.compile(
    r"(?i)\b(X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|Signature|AWSAccessKeyId)=([^&\s\"'<>)]+)"
)


#: a presigned POST's form fields in JSON (the presign reply ``{"url", "fields": {...}}``): the signature and the
#: credential are the grant, as in a URL's query
_JSON_SECRETS = re.compile(
    r'(?i)("(x-amz-signature|x-amz-credential|x-amz-security-token|signature|awsaccesskeyid)"\s*:\s*")([^"]*)(")'
)
#: S3 error bodies echo the signature and access key id they were given
_XML_SECRETS = re.compile(r"(<(SignatureProvided|AWSAccessKeyId|X-Amz-Security-Token)>)[^<]*(</\2>)")


def _redacted_value(name: str, value: str) -> str:
    """REDACTED; for a credential, only its access key id (the scope says which region and service signed)."""
    if name.lower() == "x-amz-credential" and value.count("/") == 4:
        return REDACTED + value[value.index("/") :]
    return REDACTED


def redact_url(url: str) -> str:
    """The URL with every signature / credential / session-token query value replaced."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unparseable URL)"
    if not parts.query:
        return url
    pairs = [
        (name, _redacted_value(name, value) if name.lower() in SECRET_QUERY_PARAMS else value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(pairs, safe="/:-_.*")))


def redact_text(text: str) -> str:
    """Every URL inside free text (an error message, a log line) redacted."""
    # each pattern needs its marker ("://", "=", "</"): most texts (header values, titles) have none, and the
    # checks redact thousands of them a run, so the substring tests skip the regular expressions
    if "://" in text:
        text = _URL_IN_TEXT.sub(lambda match: redact_url(match.group(0)), text)
    if "=" in text:
        text = _PARAM_IN_TEXT.sub(
            lambda match: f"{match.group(1)}={_redacted_value(match.group(1), unquote(match.group(2)))}", text
        )
    if '"' in text and ":" in text:
        text = _JSON_SECRETS.sub(
            lambda match: f"{match.group(1)}{_redacted_value(match.group(2), match.group(3))}{match.group(4)}", text
        )
    return _XML_SECRETS.sub(r"\1REDACTED\3", text) if "</" in text else text


# --- logs -----------------------------------------------------------------------------------------------

#: loggers of the libraries under the console that can print a signed URL or a signature at DEBUG level
#: (urllib3 logs each request line with its query; botocore logs requests, string-to-sign and signatures)
LIBRARY_LOGGERS = ("urllib3.connectionpool", "botocore.endpoint", "botocore.auth", "botocore.parsers", "botocore.hooks")
_SIGNATURE_LINE = re.compile(r"(?i)^(Calculated signature|Signature):")


class RedactingFilter(logging.Filter):
    """Rewrites a record's message through ``redact_text``; drops botocore's "Calculated signature" lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: keep it out rather than guess
            return False
        if _SIGNATURE_LINE.match(message):
            return False
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_FILTER = RedactingFilter()


def guard_library_logs() -> None:
    """Attach the redacting filter to the libraries' loggers (idempotent). Called by the entrypoints."""
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
