"""One Markdown escaper (services/views/markdown.py) for the console's texts and for text from outside."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services.views.markdown import EVERYTHING, literal


def test_the_consoles_texts_lose_emphasis_and_links_only():
    assert literal("my_bucket *may* [read]") == "my\\_bucket \\*may\\* \\[read]"
    assert literal("s3:PutObject on arn:aws:s3:::b/*") == "s3:PutObject on arn:aws:s3:::b/\\*"


def test_text_from_outside_is_escaped_completely():
    claim = "[click](https://evil.example) `x` :material/star: <b>"
    escaped = literal(claim, EVERYTHING)
    assert all(f"\\{ch}" in escaped for ch in "[]()`:<>")


@given(st.text())
def test_escaping_only_adds_backslashes_before_specials(text):
    escaped = literal(text, EVERYTHING)
    assert escaped.replace("\\", "") == text.replace("\\", "")
    assert len(escaped) == len(text) + sum(ch in EVERYTHING for ch in text)
