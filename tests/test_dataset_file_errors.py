"""A data file the ``dataset`` task cannot read is one line naming the file, the line where the problem is
(when there is one) and the cause; an empty file says it is empty. Every format, with variants."""

from __future__ import annotations

import pytest

from maxrl_rs import ConfigError
from maxrl_rs.jsonl_reader import BOM
from maxrl_rs.tasks.data_files import read_rows
from maxrl_rs.tasks.dataset import DatasetOptions, DatasetTask

KEY = "task.dataset.train"
GOOD = b'{"prompt": "a", "answer": 1}\n'


def error(path) -> str:
    with pytest.raises(ConfigError) as e:
        read_rows(str(path), KEY)
    return str(e.value)


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


# Each case: file name, bytes, the message after "task.dataset.train: " with {p} for the path.
CASES = [
    # JSON Lines
    ("e.jsonl", b"", "'{p}' is empty (0 bytes)"),
    ("e.jsonl", b" \n\n\t\n", "'{p}' is empty (only blank lines)"),
    ("e.jsonl", BOM + b"\n", "'{p}' is empty (only blank lines)"),
    ("e.jsonl", BOM, "'{p}' is empty (only blank lines)"),
    (
        "d.jsonl",
        GOOD + b'{"prompt":"b", "answer": 2\n',
        "{p}:2: not valid JSON (Expecting ',' delimiter at column 27)",
    ),
    (
        "d.jsonl",
        GOOD + b'{"prompt":"b", "answer": 2',
        "{p}:2: not valid JSON (Expecting ',' delimiter at column 27)",
    ),
    ("d.jsonl", GOOD + b"[1, 2]\n" + GOOD, "{p}:2: expected a JSON object, got list"),
    ("d.jsonl", GOOD + b'"text"\n', "{p}:2: expected a JSON object, got str"),
    ("d.jsonl", GOOD + b"\n\n42\n", "{p}:4: expected a JSON object, got int"),
    (
        "d.jsonl",
        BOM + GOOD + GOOD + b'{"prompt": "c" "answer": 3}\n',
        "{p}:3: not valid JSON (Expecting ',' delimiter at column 16)",
    ),
    (
        "d.jsonl",
        GOOD * 2499 + b"{prompt: 1}\n" + GOOD * 500,
        "{p}:2500: not valid JSON (Expecting property name enclosed in double quotes at column 2)",
    ),
    (
        "d.jsonl",
        GOOD + b'{"prompt": "\xff", "answer": 1}\n',
        "{p}:2: not UTF-8 text (byte 0xff at column 13)",
    ),
    # One JSON document, or JSON Lines, in a .json file
    ("e.json", b"", "'{p}' is empty (0 bytes)"),
    ("e.json", b"[]", "'{p}' has no rows (an empty JSON array)"),
    ("e.json", BOM + b" [ ]\n", "'{p}' has no rows (an empty JSON array)"),
    (
        "d.json",
        b'[{"prompt": "a", "answer": 1}',
        "{p}:1: not valid JSON (Expecting ',' delimiter at column 30)",
    ),
    (
        "d.json",
        b'[\n {"prompt": "a", "answer": 1},\n {"prompt": "b" "answer": 2}\n]\n',
        "{p}:3: not valid JSON (Expecting ',' delimiter at column 17)",
    ),
    ("d.json", b'[{"prompt": "a", "answer": 1}, 3]', "{p}: array element 1 is not a JSON object, got int"),
    ("d.json", GOOD + GOOD + b"[3]\n", "{p}:3: expected a JSON object, got list"),
    # CSV
    ("e.csv", b"", "'{p}' is empty (0 bytes)"),
    ("e.csv", b"\n \n", "'{p}' is empty (only blank lines)"),
    ("e.csv", b"prompt,answer\n", "'{p}' has no rows, only the header line 'prompt,answer'"),
    ("e.csv", BOM + b"prompt,answer\r\n\r\n", "'{p}' has no rows, only the header line 'prompt,answer'"),
    ("d.csv", b"prompt,answer\na,1\nb,2,3\n", "{p}:3: 3 fields, but the header line has 2"),
    ("d.csv", b"prompt,answer\na,1\nb,2\nc,3,4,5\n", "{p}:4: 4 fields, but the header line has 2"),
    ("d.csv", b"prompt,answer\na\xff,1\n", "{p}:2: not UTF-8 text (byte 0xff at column 2)"),
]


@pytest.mark.parametrize(("name", "data", "message"), CASES)
def test_a_file_datasets_cannot_read_names_the_file_line_and_cause(tmp_path, capfd, name, data, message):
    path = write(tmp_path, name, data)
    assert error(path) == f"{KEY}: " + message.format(p=path)
    # datasets' own log of the failure ("Failed to load JSON from file ...") is not printed besides.
    assert "Failed to" not in capfd.readouterr().err


def test_an_unterminated_csv_quote_gives_the_cause(tmp_path):
    path = write(tmp_path, "d.csv", b'prompt,answer\n"a,1\n')
    assert error(path) == (
        f"{KEY}: '{path}' could not be read as csv: ParserError: Error tokenizing data. C error: EOF inside "
        "string starting at row 1"
    )


def parquet(path, rows):
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("prompt", pa.string()), ("answer", pa.string())])
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


def test_parquet_files_without_rows_or_not_parquet(tmp_path):
    path = parquet(tmp_path / "e.parquet", [])
    assert error(path) == f"{KEY}: '{path}' has no rows (a parquet file with columns prompt, answer)"
    path = write(tmp_path, "z.parquet", b"")
    assert error(path) == f"{KEY}: '{path}' is empty (0 bytes)"
    path = write(tmp_path, "t.parquet", b"prompt,answer\na,1\n")
    assert error(path).startswith(f"{KEY}: '{path}' could not be read as parquet: ArrowInvalid: ")
    good = parquet(tmp_path / "good.parquet", [{"prompt": f"p{i}", "answer": str(i)} for i in range(50)])
    path = write(tmp_path, "cut.parquet", good.read_bytes()[: good.stat().st_size // 2])
    assert error(path).startswith(f"{KEY}: '{path}' could not be read as parquet: ArrowInvalid: ")
    assert len(read_rows(str(good), KEY)) == 50


@pytest.mark.parametrize(
    ("name", "data", "rows"),
    [
        ("d.jsonl", BOM + GOOD + b"\n" + GOOD, 2),
        ("d.json", BOM + b'[{"prompt": "a", "answer": 1}, {"prompt": "b", "answer": 2}]', 2),
        ("d.json", b'{"prompt": "a", "answer": 1}', 1),
        ("d.json", GOOD * 3, 3),
        ("d.csv", BOM + b"prompt,answer\na,1\nb,2\n", 2),
        ("d.csv", b"prompt,answer,verifier\na,1\n", 1),  # a short row: its missing cells are None
    ],
)
def test_good_variants_still_read(tmp_path, name, data, rows):
    out = read_rows(str(write(tmp_path, name, data)), KEY)
    assert len(out) == rows and out[0]["prompt"] == "a"


def test_the_task_names_the_key_of_the_file(tmp_path):
    def read(train, held=""):
        task = DatasetTask(DatasetOptions(train=str(train), eval=str(held)), seed=0, eval_seed=1, eval_size=1)
        with pytest.raises(ConfigError) as e:
            task.num_train  # noqa: B018
        return str(e.value)

    train = write(tmp_path, "train.jsonl", GOOD * 4)
    held = write(tmp_path, "eval.jsonl", b"")
    assert read(train, held) == f"task.dataset.eval: '{held}' is empty (0 bytes)"
    held = write(tmp_path, "eval.jsonl", GOOD + b"{\n")
    assert read(train, held) == (
        f"task.dataset.eval: {held}:2: not valid JSON (Expecting property name enclosed in double quotes at "
        "column 2)"
    )
    train = write(tmp_path, "t.csv", b"q,a\n")
    assert read(train) == f"task.dataset.train: '{train}' has no rows, only the header line 'q,a'"
