"""Text shown as itself inside Streamlit Markdown: one escaper, at two strengths. Pure.

The console's own texts (check titles, fix summaries) only need emphasis and links neutralised; text from outside
(an identity provider's claims, a configuration error quoting them) is escaped completely, so nothing in it can
become a link, an image, emphasis or an icon.
"""

from __future__ import annotations

#: emphasis and link openers: enough for the console's own texts (titles quote keys such as ``my_bucket``)
EMPHASIS_AND_LINKS = "*_["
#: everything Markdown could act on: for text the console did not write
EVERYTHING = "\\`*_{}[]()<>#|~$:"


def literal(text: str, specials: str = EMPHASIS_AND_LINKS) -> str:
    """``text`` with each character of ``specials`` backslash-escaped, so Markdown shows it as it is."""
    return "".join("\\" + ch if ch in specials else ch for ch in text)
