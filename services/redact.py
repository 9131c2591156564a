"""Keep signatures and credentials out of pages, logs, exports and error messages.

A presigned URL is a bearer credential until it expires: only the person who asked for it sees it
whole. Everywhere else it is shown through ``redact_url``.
"""

from __future__ import annotations

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
    text = _URL_IN_TEXT.sub(lambda match: redact_url(match.group(0)), text)
    text = _PARAM_IN_TEXT.sub(
        lambda match: f"{match.group(1)}={_redacted_value(match.group(1), unquote(match.group(2)))}", text
    )
    return _XML_SECRETS.sub(r"\1REDACTED\3", text)
