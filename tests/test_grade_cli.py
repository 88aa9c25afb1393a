"""`maxrl grade` and the `maxrl` command group."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import maxrl_rs
from maxrl_rs.cli import COMMANDS, main
from maxrl_rs.cli.grade import parse_option

ROWS = [
    {"id": 0, "response": "so #### 18", "gold": "18"},
    {"id": 1, "response": "I think 17", "gold": "18"},
    {"id": 2, "response": "nothing", "gold": "18"},
    {"id": 3, "response": "The answer is (B)", "gold": "B", "verifier": "choice"},
    {
        "id": 4,
        "response": "<answer>3*8</answer>",
        "gold": {"target": 24, "numbers": [3, 8]},
        "verifier": "countdown",
    },
    {"id": 5, "response": "RIGHT DONE", "gold": ["SG"], "verifier": "maze"},
    {"id": 6, "response": "#### 3", "gold": "three"},
]


def write_jsonl(path: Path, rows: list, blank_lines: bool = False) -> Path:
    lines = [json.dumps(r) for r in rows]
    if blank_lines:
        lines.insert(1, "")
        lines.append("")
    path.write_text("\n".join(lines) + "\n")
    return path


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_help_and_version():
    r = run("--help")
    assert r.exit_code == 0 and "grade" in r.output
    r = run("--version")
    assert r.exit_code == 0 and maxrl_rs.__version__ in r.output
    r = run("grade", "--help")
    assert r.exit_code == 0 and "--reference-field" in r.output
    assert ("grade", "maxrl_rs.cli.grade:grade") in COMMANDS


def test_grades_a_file(tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", ROWS, blank_lines=True)
    out = tmp_path / "out.jsonl"
    r = run("grade", str(src), "--verifier", "gsm8k", "-o", str(out), "--threads", "2", "--no-progress")
    assert r.exit_code == 0, r.output
    got = [json.loads(line) for line in out.read_text().splitlines()]
    assert [g["id"] for g in got] == [row["id"] for row in ROWS]
    assert [g["status"] for g in got] == [
        "correct",
        "incorrect",
        "no_answer",
        "correct",
        "correct",
        "correct",
        "invalid_reference",
    ]
    assert [g["score"] for g in got] == [1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0]
    assert got[1]["extracted"] == "17" and got[2]["extracted"] is None
    assert got[4]["gold"] == ROWS[4]["gold"]  # input fields are kept as they were
    summary = r.stderr
    assert "correct" in summary and "accuracy 0.5714" in summary and "items/s" in summary


def test_fields_chunks_options_and_stdout(tmp_path):
    rows = [
        {"q": i, "out": f"#### {i % 3}" if i % 2 else f"answer is {i % 3}", "ans": "1"} for i in range(50)
    ]
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    r = run(
        "grade", str(src), "-v", "gsm8k", "--response-field", "out", "--reference-field", "ans",
        "--chunk-size", "7", "-O", "strict_format=true", "-O", "time_budget_ms=50",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    got = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(got) == 50
    for row, g in zip(rows, got):
        want = "no_answer" if row["q"] % 2 == 0 else ("correct" if row["q"] % 3 == 1 else "incorrect")
        assert g["status"] == want, (row, g)


def test_scoped_options(tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", ROWS[3:4])
    r = run("grade", str(src), "-v", "gsm8k", "-O", "strict_format=true", "-O", "choice.num_choices=2")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["status"] == "correct"
    r = run("grade", str(src), "-v", "gsm8k", "-O", "choice.num_choices=1")
    assert r.exit_code != 0 and "num_choices" in r.output


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("a=1", (None, "a", 1)),
        ("a=true", (None, "a", True)),
        ("a=False", (None, "a", False)),
        ("a=0.5", (None, "a", 0.5)),
        ("a=x=y", (None, "a", "x=y")),
        ("choice.num_choices=4", ("choice", "num_choices", 4)),
    ],
)
def test_parse_option(text, want):
    assert parse_option(text) == want


def test_errors_name_the_line(tmp_path):
    bad_json = tmp_path / "bad.jsonl"
    bad_json.write_text(json.dumps(ROWS[0]) + "\n\n{not json}\n")
    r = run("grade", str(bad_json), "-v", "gsm8k")
    assert r.exit_code != 0 and "bad.jsonl:3: not valid JSON (Expecting property name" in r.output

    missing = write_jsonl(tmp_path / "missing.jsonl", [ROWS[0], {"response": "x"}])
    r = run("grade", str(missing), "-v", "gsm8k")
    assert r.exit_code != 0 and "missing.jsonl:2: missing field 'gold'" in r.output

    r = run("grade", str(missing), "-v", "gsm8k", "--response-field", "answer")
    assert r.exit_code != 0 and "missing.jsonl:1: missing field 'answer'" in r.output

    typed = write_jsonl(tmp_path / "typed.jsonl", [{"response": 3, "gold": "3"}])
    r = run("grade", str(typed), "-v", "gsm8k")
    assert r.exit_code != 0 and "typed.jsonl:1: field 'response' must be text, got int 3" in r.output

    verifier = write_jsonl(tmp_path / "verifier.jsonl", [{"response": "3", "gold": "3", "verifier": "nope"}])
    r = run("grade", str(verifier), "-v", "gsm8k")
    assert r.exit_code != 0 and "verifier.jsonl:1: unknown verifier 'nope'" in r.output
    typo = write_jsonl(tmp_path / "typo.jsonl", [{"response": "3", "gold": "3", "verifier": "gsm8"}])
    r = run("grade", str(typo), "-v", "gsm8k")
    assert "typo.jsonl:1: unknown verifier 'gsm8' (did you mean 'gsm8k'?); known: math, gsm8k" in r.output
    r = run("grade", str(typo), "-v", "gsm8k", "--option", "mathh.rel_tol=0.1")
    assert "unknown verifier 'mathh' (did you mean 'math'?); known: " in " ".join(r.output.split())

    array = tmp_path / "array.jsonl"
    array.write_text("[1, 2]\n")
    r = run("grade", str(array))
    assert r.exit_code != 0 and "array.jsonl:1: expected a JSON object" in r.output

    r = run("grade", str(tmp_path / "absent.jsonl"))
    assert r.exit_code != 0 and "absent.jsonl" in r.output

    r = run("grade", str(missing), "-v", "gsm8k", "-O", "nonsense")
    assert r.exit_code != 0 and "KEY=VALUE" in r.output

    r = run("grade", str(missing), "-v", "gsm8k", "-O", "strictformat=true")
    assert r.exit_code != 0 and "strictformat" in r.output


# -- outputs survive every failure -----------------------------------------------------------------------


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir()}


def test_output_equal_to_input_is_refused_untouched(tmp_path):
    src = write_jsonl(tmp_path / "same.jsonl", ROWS)
    before = src.read_bytes()
    r = run("grade", str(src), "-o", str(src), "--no-progress")
    assert r.exit_code == 2 and "is the input file" in r.output
    assert src.read_bytes() == before
    # The same file under another name: a symlink, a hard link, a relative path.
    (tmp_path / "link.jsonl").symlink_to(src)
    (tmp_path / "hard.jsonl").hardlink_to(src)
    for other in (tmp_path / "link.jsonl", tmp_path / "hard.jsonl", tmp_path / "." / "same.jsonl"):
        r = run("grade", str(src), "-o", str(other), "--no-progress")
        assert r.exit_code == 2 and "is the input file" in r.output, other
        assert src.read_bytes() == before
    assert sorted(_files(tmp_path)) == ["hard.jsonl", "link.jsonl", "same.jsonl"]


@pytest.mark.parametrize(
    "bad",
    [
        b'{"response": "1", "gold": "1"}\n{not json}\n',
        b'{"response": "1", "gold": "1", "verifier": "nope"}\n',
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe",
    ],
)
def test_existing_output_survives_a_rejected_input(tmp_path, bad):
    src = tmp_path / "bad.jsonl"
    src.write_bytes(bad)
    out = tmp_path / "graded.jsonl"
    out.write_text('{"kept": true}\n')
    r = run("grade", str(src), "-o", str(out), "--no-progress")
    assert r.exit_code == 1 and "bad.jsonl:" in r.output
    assert out.read_text() == '{"kept": true}\n'
    assert sorted(_files(tmp_path)) == ["bad.jsonl", "graded.jsonl"]  # no temporary left behind


def test_bad_row_late_in_a_large_file_leaves_no_partial_output(tmp_path):
    rows = [{"response": f"#### {i}", "gold": str(i)} for i in range(20_000)]
    src = write_jsonl(tmp_path / "big.jsonl", rows)
    lines = src.read_text().splitlines()
    lines[15_000] = '{"response": "1"}'  # line 15,001: no gold
    src.write_text("\n".join(lines) + "\n")
    out = tmp_path / "graded.jsonl"
    r = run("grade", str(src), "-v", "gsm8k", "-o", str(out), "--no-progress")
    assert r.exit_code == 1 and "big.jsonl:15001: missing field 'gold'" in r.output
    assert not out.exists()
    assert sorted(_files(tmp_path)) == ["big.jsonl"]
    # Fixed, the same command writes all 20,000 rows.
    lines[15_000] = json.dumps(rows[15_000])
    src.write_text("\n".join(lines) + "\n")
    r = run("grade", str(src), "-v", "gsm8k", "-o", str(out), "--no-progress")
    assert r.exit_code == 0 and len(out.read_text().splitlines()) == 20_000


def test_binary_input_names_file_and_line(tmp_path):
    src = tmp_path / "model.bin"
    src.write_bytes(b'{"response": "1", "gold": "1"}\n' + b"ok " + bytes(range(128, 256)) + b"\n")
    r = run("grade", str(src), "--no-progress")
    assert r.exit_code == 1
    assert "model.bin:2: not UTF-8 text (byte 0x80 at column 4)" in r.output
    assert "UnicodeDecodeError" not in r.output and "Traceback" not in r.output


def test_full_disk_says_so_and_keeps_the_old_output(tmp_path, monkeypatch):
    import errno

    src = write_jsonl(tmp_path / "in.jsonl", ROWS)
    out = tmp_path / "graded.jsonl"
    out.write_text("old\n")

    class FullDisk:
        def __init__(self, f):
            self.f = f

        def write(self, text):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    real_open = open

    def full_open(file, mode="r", *args, **kwargs):
        f = real_open(file, mode, *args, **kwargs)
        if "w" in mode and str(file).startswith(str(tmp_path / ".graded.jsonl.")):
            return FullDisk(f)
        return f

    monkeypatch.setattr("builtins.open", full_open)
    r = run("grade", str(src), "-v", "gsm8k", "-o", str(out), "--no-progress")
    assert r.exit_code == 1
    assert "no space left on device" in r.output and str(out) in r.output
    assert out.read_text() == "old\n"
    assert sorted(_files(tmp_path)) == ["graded.jsonl", "in.jsonl"]


# --- numbers as gold, a byte-order mark, columns and wording ---------------------------------------------


def test_numbers_as_gold_are_graded_as_their_text(tmp_path):
    rows = [
        {"id": 0, "response": "\\boxed{3}", "gold": 3},
        {"id": 1, "response": "\\boxed{3}", "gold": 3.0},
        {"id": 2, "response": "\\boxed{2.5}", "gold": 2.5},
        {"id": 3, "response": "\\boxed{-7}", "gold": -7},
        {"id": 4, "response": "\\boxed{4}", "gold": 3},
        {"id": 5, "response": "so #### 18", "gold": 18, "verifier": "gsm8k"},
        {"id": 6, "response": "12", "gold": 12.0, "verifier": "exact"},
    ]
    src = write_jsonl(tmp_path / "num.jsonl", rows)
    out = tmp_path / "out.jsonl"
    r = run("grade", str(src), "-o", str(out), "--no-progress")
    assert r.exit_code == 0, r.output
    got = [json.loads(line) for line in out.read_text().splitlines()]
    assert [g["status"] for g in got] == ["correct"] * 4 + ["incorrect"] + ["correct"] * 2
    assert [g["gold"] for g in got] == [row["gold"] for row in rows]  # written back as given
    assert isinstance(got[1]["gold"], float)


@pytest.mark.parametrize(
    ("gold", "message"),
    [
        ("true", "field 'gold' must be text or a number, got bool True"),
        ("null", "field 'gold' must be text or a number, got NoneType None"),
        ("NaN", "field 'gold' must be a finite number, got float nan"),
        ("-Infinity", "field 'gold' must be a finite number, got float -inf"),
        ("[3]", "field 'gold' must be text or a number, got list [3]"),
    ],
)
def test_gold_that_is_not_text_or_a_finite_number(tmp_path, gold, message):
    src = tmp_path / "g.jsonl"
    src.write_text(f'{{"response": "\\\\boxed{{3}}", "gold": "3"}}\n{{"response": "3", "gold": {gold}}}\n')
    r = run("grade", str(src), "--no-progress")
    assert r.exit_code == 1 and f"g.jsonl:2: {message}\n" in r.output


def test_one_wording_for_a_field_of_the_wrong_type(tmp_path):
    src = write_jsonl(tmp_path / "w.jsonl", [{"response": None, "gold": "3"}])
    r = run("grade", str(src), "--no-progress")
    assert "w.jsonl:1: field 'response' must be text, got NoneType None" in r.output
    src = write_jsonl(tmp_path / "w.jsonl", [{"answer": 3, "gold": "3"}])
    r = run("grade", str(src), "--response-field", "answer", "--no-progress")
    assert "w.jsonl:1: field 'answer' must be text, got int 3" in r.output


def test_a_byte_order_mark_at_the_start_is_skipped(tmp_path):
    src = tmp_path / "bom.jsonl"
    src.write_bytes(b"\xef\xbb\xbf" + json.dumps({"response": "\\boxed{3}", "gold": "3"}).encode() + b"\r\n")
    out = tmp_path / "out.jsonl"
    r = run("grade", str(src), "-o", str(out), "--no-progress")
    assert r.exit_code == 0, r.output
    assert out.read_bytes().startswith(b'{"response"')  # no mark in the output
    assert json.loads(out.read_text())["status"] == "correct"
    r = CliRunner().invoke(main, ["grade", "-", "--no-progress"], input=src.read_bytes())
    assert r.exit_code == 0 and '"status": "correct"' in r.output


@pytest.mark.parametrize("ending", ["", "\n", "\r\n"])
def test_a_truncated_last_line_is_reported_at_its_column(tmp_path, ending):
    src = tmp_path / "t.jsonl"
    src.write_text(
        json.dumps({"id": 15, "response": "3", "gold": "3"})
        + "\n"
        + '{"id": 16, "response": "3", "gold": "3"'
        + ending,
        newline="",
    )
    r = run("grade", str(src), "--no-progress")
    assert r.exit_code == 1
    assert "t.jsonl:2: not valid JSON (Expecting ',' delimiter at column 40)" in r.output
