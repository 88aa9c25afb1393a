"""The rows of a local ``.jsonl``, ``.json``, ``.parquet`` or ``.csv`` file, read with the ``datasets``
library (``load_dataset("json" | "parquet" | "csv", data_files=...)``, nothing from the hub), and, when it
cannot read one, why, in the user's terms.

``datasets`` reports a bad file as ``DatasetGenerationError: An error occurred while generating the
dataset`` (the cause is chained below it, or only logged) or, for a file without rows, as ``Instruction
"train" corresponds to no data``. :func:`read_rows` turns that into one line naming the file and the cause:

- an empty file (0 bytes, or only blank lines after a byte-order mark), a CSV file of a header alone, a
  parquet file, a JSON array or JSON Lines file of no rows: ``is empty`` / ``has no rows``;
- JSON Lines: the first bad line as :mod:`maxrl_rs.jsonl_reader` reports it (``file.jsonl:2: not valid JSON
  (Expecting ',' delimiter at column 27)``, ``expected a JSON object, got list``, ``not UTF-8 text``); a
  ``.json`` file holding one JSON document: the line and column of the syntax error, or the index of an
  array element that is not an object;
- CSV: the line of a row with more fields than the header (as pandas reports it), or of a byte that is
  not UTF-8;
- anything else: the underlying error ``datasets`` chained (``ArrowInvalid: Parquet magic bytes not found``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from maxrl_rs.errors import ConfigError
from maxrl_rs.jsonl_reader import BOM, read_lines, utf8_problem
from maxrl_rs.options import missing_path

#: File suffix -> ``datasets`` builder.
BUILDERS = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}


def read_rows(path: str, key: str) -> list[dict[str, Any]]:
    """The rows of a local data file as dicts (every row has every column of the file, None where absent).

    Raises:
        ConfigError: naming ``key`` and the file: an unknown suffix, a missing file, a file ``datasets``
            cannot read (with the cause, see the module docstring) or one without rows.
    """
    p = Path(path)
    builder = BUILDERS.get(p.suffix.lower())
    if builder is None:
        raise ConfigError(f"{key}: {path!r} must end in one of {', '.join(BUILDERS)}")
    if not p.is_file():
        raise missing_path(key, path)
    from datasets import load_dataset

    from maxrl_rs.progress_bars import quiet_library_bars

    try:
        # A local file: a bar would only clutter the log, and the error is reported below, in full.
        with quiet_library_bars(True, "datasets"), _datasets_errors_unlogged():
            data = load_dataset(builder, data_files=str(p), split="train")
        rows = list(data)  # decodes the strings: a byte that is not UTF-8 may fail only here
    except Exception as e:  # datasets raises many kinds (ArrowInvalid, DatasetGenerationError, ...)
        raise ConfigError(f"{key}: {why_unreadable(p, builder, e)}") from None
    if not rows:
        raise ConfigError(f"{key}: {_no_rows(p, builder) or f'{str(p)!r} has no rows'}")
    return rows


def why_unreadable(path: Path, builder: str, error: BaseException) -> str:
    """Why ``datasets`` could not read ``path`` with ``builder`` and raised ``error``: the file and line
    where that can be found, else the file and the error's cause."""
    try:
        for diagnose in (_no_rows, {"json": _json_problem, "csv": _csv_problem}.get(builder)):
            if diagnose is not None and (problem := diagnose(path, builder)):
                return problem
    except OSError:
        pass  # the file went away or cannot be opened again: the error says what datasets met
    cause = _cause(error)
    if m := _RAGGED.search(str(cause)):
        fields, line, saw = m.groups()
        return f"{path}:{line}: {saw} fields, but the header line has {fields}"
    return f"{str(path)!r} could not be read as {builder}: {type(cause).__name__}: {cause}"


def _no_rows(path: Path, builder: str) -> str | None:
    """``'file' is empty`` / ``has no rows`` when it holds no data row (a JSON file: :func:`_json_problem`),
    else None."""
    name = repr(str(path))
    if path.stat().st_size == 0:
        return f"{name} is empty (0 bytes)"
    if builder == "parquet":
        import pyarrow.parquet as pq

        try:
            meta = pq.ParquetFile(path).metadata
        except Exception:
            return None  # not parquet at all: the error says so
        columns = ", ".join(meta.schema.names) or "none"
        return f"{name} has no rows (a parquet file with columns {columns})" if meta.num_rows == 0 else None
    lines = [line for line in _text_lines(path) if line.strip()]
    if not lines:
        return f"{name} is empty (only blank lines)"
    if builder == "csv" and len(lines) == 1:
        return f"{name} has no rows, only the header line {lines[0].strip()!r:.120}"
    return None


def _json_problem(path: Path, builder: str) -> str | None:
    """JSON Lines (``.jsonl``, or a ``.json`` file that is not one JSON document: ``datasets`` reads both):
    the first line that is not a JSON object, as :func:`maxrl_rs.jsonl_reader.read_lines` reports it. One
    JSON document: where it stops being valid JSON, an empty array, or the first array element that is not
    an object."""
    if path.suffix.lower() == ".json":
        try:
            doc = json.loads(path.read_bytes().removeprefix(BOM).decode("utf-8"))
        except UnicodeDecodeError:
            doc = _LINES  # reported line by line
        except json.JSONDecodeError as e:
            if e.msg != "Extra data":  # "Extra data": a whole object on the first line, more after it
                return f"{path}:{e.lineno}: not valid JSON ({e.msg} at column {e.colno})"
            doc = _LINES
        if doc is not _LINES:
            if doc == []:
                return f"{str(path)!r} has no rows (an empty JSON array)"
            for i, item in enumerate(doc if isinstance(doc, list) else [doc]):
                if not isinstance(item, dict):
                    return f"{path}: array element {i} is not a JSON object, got {type(item).__name__}"
            return None
    with path.open("rb") as f:
        for line in read_lines(f):
            if line.problem is not None:
                return f"{path}:{line.lineno}: {line.problem}"
    return None


_LINES = object()  # a .json file of JSON Lines


#: pandas' error for a row with more fields than the header (1-based line numbers, the header included).
_RAGGED = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _csv_problem(path: Path, builder: str) -> str | None:
    """The line of a CSV file with a byte that is not UTF-8 (pandas says only that a chunk has one)."""
    with path.open("rb") as f:
        for lineno, raw in enumerate(f, 1):
            if problem := utf8_problem(raw):
                return f"{path}:{lineno}: {problem}"
    return None


def _text_lines(path: Path) -> Iterator[str]:
    """The file's lines as text (a leading byte-order mark dropped, bytes that are not UTF-8 replaced)."""
    with path.open("rb") as f:
        for lineno, raw in enumerate(f, 1):
            yield (raw.removeprefix(BOM) if lineno == 1 else raw).decode("utf-8", errors="replace")


def _cause(error: BaseException) -> BaseException:
    """The error under ``datasets``' wrappers: the first in the chain that is not a
    ``DatasetGenerationError`` (which only says that generating failed)."""
    from datasets.exceptions import DatasetGenerationError

    seen = error
    while isinstance(seen, DatasetGenerationError):
        below = seen.__cause__ or seen.__context__
        if below is None:
            break
        seen = below
    return seen


@contextmanager
def _datasets_errors_unlogged() -> Iterator[None]:
    """Keep ``datasets`` from logging a file's error (``Failed to load JSON from file ...``) before
    :func:`read_rows` reports it; its log level is restored after."""
    from datasets.utils import logging as ds_logging

    before = ds_logging.get_verbosity()
    ds_logging.set_verbosity(ds_logging.CRITICAL)
    try:
        yield
    finally:
        ds_logging.set_verbosity(before)
