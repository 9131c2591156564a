"""A finding's fix text as blocks to show: prose as prose, and only the JSON documents and the commands as code.

A fix (``Finding.fix``) is written for a terminal: sentences, JSON documents and AWS CLI commands, one after the
other. Shown whole as one bash block, the prose gets highlighted as shell ("function", "type" and "set" coloured,
everything after an apostrophe a string) and nothing wraps. Pure functions.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["prose", "json", "bash"]

#: the first word of a line that is a command to run (a shell comment goes with the commands it explains)
COMMAND_WORDS = ("aws", "curl", "python", "python3", "pip", "export", "streamlit")
#: "…, then run: aws s3api …": a sentence that ends in a command
_EMBEDDED_COMMAND = re.compile(r"^(?P<prose>.*?[:;])\s+(?P<command>(?:aws|curl) \S.*)$")
#: a parenthesised remark closing a command line ("… (this replaces all variables).") is prose again
_TRAILING_REMARK = re.compile(r"^(?P<command>.*\S)\s+(?P<remark>\([^()]*\)\.?)$")


@dataclass(frozen=True)
class FixBlock:
    kind: Kind
    text: str

    @property
    def is_code(self) -> bool:
        return self.kind != "prose"


def _is_command(line: str) -> bool:
    stripped = line.strip()
    return stripped.startswith("#") or stripped.split(" ", 1)[0] in COMMAND_WORDS


def _json_at(text: str) -> int:
    """The length of the JSON document ``text`` starts with (0 when it does not start with one)."""
    if not text.startswith(("{", "[")):
        return 0
    try:
        _, end = json.JSONDecoder().raw_decode(text)
    except ValueError:
        return 0
    return end


def _line_blocks(line: str) -> list[FixBlock]:
    """One line that is not JSON: a command, a sentence, or a sentence ending in a command."""
    if _is_command(line):
        remark = _TRAILING_REMARK.match(line)
        # not inside a quoted argument: the command before it closes every quote it opens
        if remark and not line.lstrip().startswith("#") and remark["command"].count("'") % 2 == 0:
            return [FixBlock("bash", remark["command"]), FixBlock("prose", remark["remark"])]
        return [FixBlock("bash", line)]
    embedded = _EMBEDDED_COMMAND.match(line)
    if embedded:
        return [FixBlock("prose", embedded["prose"]), *_line_blocks(embedded["command"])]
    return [FixBlock("prose", line)]


def _merged(blocks: list[FixBlock]) -> list[FixBlock]:
    """Neighbouring lines of one kind joined into one block, line breaks kept (JSON documents stay apart)."""
    merged: list[FixBlock] = []
    for block in blocks:
        if merged and merged[-1].kind == block.kind and block.kind != "json":
            merged[-1] = FixBlock(block.kind, f"{merged[-1].text}\n{block.text}")
        else:
            merged.append(block)
    return merged


def fix_blocks(fix: str) -> list[FixBlock]:
    """``fix`` split into prose, JSON and bash blocks, in order; every character but blank lines kept."""
    blocks: list[FixBlock] = []
    rest = fix.strip()
    while rest:
        length = _json_at(rest)
        if length:
            blocks.append(FixBlock("json", rest[:length]))
            rest = rest[length:].lstrip("\n").lstrip()
            continue
        line, _, rest = rest.partition("\n")
        if line.strip():
            blocks.extend(_line_blocks(line.rstrip()))
        rest = rest.lstrip("\n")
    return _merged(blocks)
