"""The shipped test data: every file documented with its row count; a bad file fails, naming itself."""

from __future__ import annotations

import re

import pytest

import _data
from _data import DATA_DIR, read_jsonl

README = DATA_DIR / "README.md"


def documented_row_counts() -> dict[str, int]:
    """``{file name: rows}`` from the README's ``## `name` — N rows`` headings."""
    heading = re.compile(r"^## `([^`]+)` — (\d+) rows$", re.MULTILINE)
    return {name: int(rows) for name, rows in heading.findall(README.read_text(encoding="utf-8"))}


def test_every_data_file_is_documented_with_its_row_count():
    documented = documented_row_counts()
    shipped = sorted(p.name for p in DATA_DIR.glob("*.jsonl"))
    assert shipped == sorted(documented), "tests/data/README.md must document exactly the shipped files"
    for name, rows in documented.items():
        assert len(read_jsonl(name)) == rows, name


def test_data_stays_small():
    total = sum(p.stat().st_size for p in DATA_DIR.iterdir())
    assert total < 3_000_000, f"tests/data holds {total} bytes"


def test_missing_file_fails_with_its_path(tmp_path, monkeypatch):
    monkeypatch.setattr(_data, "DATA_DIR", tmp_path)
    with pytest.raises(
        pytest.fail.Exception, match=re.escape(str(tmp_path / "absent.jsonl")) + " is missing"
    ):
        read_jsonl("absent.jsonl")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": 1}\n\n{"a": 2,\n', r"bad\.jsonl:3: not valid JSON"),
        ('{"a": 1}\n[1, 2]\n', r"bad\.jsonl:2: expected a JSON object, got list"),
    ],
)
def test_bad_line_fails_with_file_and_line(tmp_path, monkeypatch, text, message):
    (tmp_path / "bad.jsonl").write_text(text, encoding="utf-8")
    monkeypatch.setattr(_data, "DATA_DIR", tmp_path)
    with pytest.raises(pytest.fail.Exception, match=message):
        read_jsonl("bad.jsonl")


def test_blank_lines_are_skipped(tmp_path, monkeypatch):
    (tmp_path / "ok.jsonl").write_text('{"a": 1}\n  \n{"a": 2}\n', encoding="utf-8")
    monkeypatch.setattr(_data, "DATA_DIR", tmp_path)
    assert read_jsonl("ok.jsonl") == [{"a": 1}, {"a": 2}]
