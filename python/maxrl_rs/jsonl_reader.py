"""The one reader of JSON Lines inputs: ``maxrl grade`` files, ``jsonl`` training and evaluation data.

Each non-blank line must be a UTF-8 JSON object. A UTF-8 byte-order mark at the start of the file (which some
Windows editors write) is skipped. A line that is not usable is reported with its 1-based line number and
the column (in characters, after the mark) where the problem is, as ``json`` finds it in that line alone: a
truncated last line ``{"id": 16, "gold": "3"`` is reported where it ends, not at the start of the next line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Line:
    """One non-blank line: ``row`` is its JSON object, or ``row`` is None and ``problem`` says why."""

    lineno: int
    row: dict[str, Any] | None
    problem: str | None = None


def read_lines(stream: Iterable[bytes]) -> Iterator[Line]:
    """Every non-blank line of a binary stream (an open file, ``sys.stdin.buffer``), parsed, in order."""
    for lineno, raw in enumerate(stream, 1):
        if lineno == 1 and raw.startswith(BOM):
            raw = raw[len(BOM) :]
        line = parse_line(raw, lineno)
        if line is not None:
            yield line


def utf8_problem(raw: bytes) -> str | None:
    """None when one line's bytes are UTF-8 text, else ``not UTF-8 text (byte 0xff at column 3)`` (the
    column in characters, 1-based)."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        column = len(raw[: e.start].decode("utf-8")) + 1  # the bytes before the bad one are valid
        return f"not UTF-8 text (byte {raw[e.start]:#04x} at column {column})"
    return None


def parse_line(raw: bytes, lineno: int) -> Line | None:
    """One line's bytes (its line ending included or not) as a :class:`Line`; None for a blank line."""
    if problem := utf8_problem(raw):
        return Line(lineno, None, problem)
    text = raw.decode("utf-8")
    # Without its line ending: json reports an error at the end of a truncated line there, not at column 1
    # of a line 2 made of the newline.
    text = text.removesuffix("\n").removesuffix("\r")
    if not text.strip():
        return None
    try:
        row = json.loads(text)
    except json.JSONDecodeError as e:
        return Line(lineno, None, f"not valid JSON ({e.msg} at column {e.pos + 1})")
    if not isinstance(row, dict):
        return Line(lineno, None, f"expected a JSON object, got {type(row).__name__}")
    return Line(lineno, row)
