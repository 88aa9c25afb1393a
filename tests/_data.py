"""The data files under ``tests/data`` (sources and licences in tests/data/README.md).

The data ships with the repository, so a missing or unreadable file is a failure naming the file, never a
skip: a skip would hide that the grader's accuracy was not checked.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DATA_DIR = Path(__file__).resolve().parent / "data"


def read_jsonl(name: str) -> list[dict]:
    """The rows of ``tests/data/<name>``, one JSON object per non-blank line.

    Fails the calling test (or, at module level, the collection of its module) with the path when the file is
    missing, and with the path and line number when a line is not a JSON object.
    """
    path = DATA_DIR / name
    if not path.is_file():
        pytest.fail(
            f"test data {path} is missing; it ships with the repository (see tests/data/README.md): "
            "restore it with `git checkout -- tests/data`",
            pytrace=False,
        )
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            pytest.fail(f"{path}:{number}: not valid JSON ({e.msg} at column {e.colno})", pytrace=False)
        if not isinstance(row, dict):
            pytest.fail(f"{path}:{number}: expected a JSON object, got {type(row).__name__}", pytrace=False)
        rows.append(row)
    return rows
