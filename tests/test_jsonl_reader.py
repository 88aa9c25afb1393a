"""The one JSONL reader (grade inputs, training and evaluation data) and the one number-to-reference rule."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from maxrl_rs import ConfigError
from maxrl_rs.grading import number_text, reference_text
from maxrl_rs.jsonl_reader import BOM, parse_line, read_lines

TRUNCATED = '{"id": 16, "response": "3", "gold": "3"'  # 39 characters: the error is at column 40


def lines(data: bytes) -> list[tuple[int, dict | None, str | None]]:
    return [(ln.lineno, ln.row, ln.problem) for ln in read_lines(io.BytesIO(data))]


@pytest.mark.parametrize("ending", ["", "\n", "\r\n"])
def test_a_truncated_line_is_reported_where_it_ends(ending):
    got = lines(f'{{"id": 15}}\n{TRUNCATED}{ending}'.encode())
    assert got == [(1, {"id": 15}, None), (2, None, "not valid JSON (Expecting ',' delimiter at column 40)")]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"a": 1} x', "not valid JSON (Extra data at column 10)"),
        ('{"é": "ü", "b": }', "not valid JSON (Expecting value at column 17)"),  # characters, not bytes
        ("{'a': 1}", "not valid JSON (Expecting property name enclosed in double quotes at column 2)"),
        ("[1, 2]", "expected a JSON object, got list"),
        ('"text"', "expected a JSON object, got str"),
    ],
)
def test_problems_give_jsons_own_column(text, problem):
    assert parse_line((text + "\n").encode(), 7) is not None
    assert lines((text + "\n").encode()) == [(1, None, problem)]


def test_a_byte_order_mark_starts_the_file_only():
    assert lines(BOM + b'{"a": 1}\n{"a": 2}\n') == [(1, {"a": 1}, None), (2, {"a": 2}, None)]
    assert lines(BOM + b"\n" + b'{"a": 2}') == [(2, {"a": 2}, None)]
    # Elsewhere it is a stray character, as json says (two files glued together).
    (_, row, problem), *_ = lines(b'{"a": 1}\n' + BOM + b'{"a": 2}\n')[1:]
    assert row is None and problem is not None
    assert problem.startswith("not valid JSON (Unexpected UTF-8 BOM") and problem.endswith("at column 1)")


def test_not_utf8_names_the_byte_and_its_character_column():
    assert lines('{"a": "é'.encode() + b"\x80\n") == [(1, None, "not UTF-8 text (byte 0x80 at column 9)")]
    assert lines(BOM + b"\xff{}") == [(1, None, "not UTF-8 text (byte 0xff at column 1)")]


def test_blank_lines_are_skipped_and_numbered_lines_kept():
    assert lines(b'\n  \r\n\t\n{"a": 1}\r\n\n') == [(4, {"a": 1}, None)]
    assert lines(b"") == []


# --- numbers as references: one rule for grade, training data and the framework adapters ------------------

NUMBERS = [
    (3, "3"),
    (3.0, "3"),
    (2.5, "2.5"),
    (-7, "-7"),
    (-0.0, "0"),
    (1e-7, "1e-07"),
    (10**20, "100000000000000000000"),
    (1e20, "100000000000000000000"),
    (np.int64(4), "4"),
    (np.float32(0.5), "0.5"),
    (np.float64(12.0), "12"),
]


@pytest.mark.parametrize(("value", "text"), NUMBERS, ids=repr)
def test_a_number_is_its_text_everywhere(value, text):
    from maxrl_rs.integrations import verl
    from maxrl_rs.integrations._grading import reference_value
    from maxrl_rs.tasks.dataset import _reference

    assert number_text(value) == text
    for verifier in ("math", "gsm8k", "exact"):
        assert reference_text(value, verifier) == text
        assert _reference(value, verifier) == text
        assert verl.reference_text(verifier, value) == text
    assert reference_value(value) == text


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "must be text or a number, got bool True"),
        (np.bool_(False), "must be text or a number, got bool False"),
        (None, "must be text or a number, got NoneType None"),
        (float("nan"), "must be a finite number, got float nan"),
        (float("-inf"), "must be a finite number, got float -inf"),
        (np.float64("inf"), "must be a finite number, got float64 inf"),
        ([3], "must be text or a number, got list [3]"),
    ],
    ids=repr,
)
def test_what_is_not_a_reference(value, message):
    with pytest.raises(TypeError) as e:
        reference_text(value, "math")
    assert str(e.value) == message


def test_adapters_read_a_missing_number_as_no_reference():
    from maxrl_rs.integrations._grading import reference_value

    for missing in (None, float("nan"), np.float64("nan")):
        assert reference_value(missing) == ""


# --- training data read by the same reader -------------------------------------------------------------


def test_training_jsonl_with_a_byte_order_mark_and_numbers(tmp_path):
    from maxrl_rs.tasks.jsonl import read_examples

    path = tmp_path / "t.jsonl"
    rows = [{"prompt": f"q{i}", "answer": a} for i, a in enumerate([3, 3.0, 2.5, "4", -7])]
    path.write_bytes(BOM + "".join(json.dumps(r) + "\n" for r in rows).encode())
    got = read_examples(str(path), "math", "train:")
    assert [(e.id, e.reference) for e in got] == [
        ("train:1", "3"),
        ("train:2", "3"),
        ("train:3", "2.5"),
        ("train:4", "4"),
        ("train:5", "-7"),
    ]


def test_training_jsonl_problems_use_the_readers_words(tmp_path):
    from maxrl_rs.tasks.jsonl import read_examples

    path = tmp_path / "t.jsonl"
    path.write_text(
        json.dumps({"prompt": "a", "answer": True})
        + "\n"
        + json.dumps({"prompt": "b", "answer": float("nan")})
        + "\n"
        + json.dumps({"prompt": "c", "answer": "3"})
        + "\n"
        + TRUNCATED.replace("response", "prompt").replace("gold", "answer")
        + "\n"
    )
    with pytest.raises(ConfigError) as e:
        read_examples(str(path), "math", "train:")
    msg = str(e.value)
    assert f"{path}:1: field 'answer' must be text or a number, got bool True" in msg
    assert f"{path}:2: field 'answer' must be a finite number, got float nan" in msg
    assert f"{path}:4: not valid JSON (Expecting ',' delimiter at column 40)" in msg


def test_dataset_files_with_a_byte_order_mark(tmp_path):
    from maxrl_rs.tasks.dataset import read_rows

    path = tmp_path / "d.jsonl"
    path.write_bytes(BOM + b'{"prompt": "a", "answer": "3"}\n{"prompt": "b", "answer": "4"}\n')
    assert [r["prompt"] for r in read_rows(str(path), "task.dataset.train")] == ["a", "b"]
