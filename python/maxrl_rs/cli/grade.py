"""``maxrl grade``: grade a JSONL file of responses, write each row back with its verdict."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from typing import IO, Any

import click

from maxrl_rs.atomic import NoSpaceError, atomic_open, same_file
from maxrl_rs.errors import InvalidInputError, must_be
from maxrl_rs.grading import (
    LIMIT_KEYS,
    NO_VERDICT,
    STATUS_NAMES,
    VERIFIERS,
    Grader,
    reference_text,
    unknown_verifier,
)
from maxrl_rs.jsonl_reader import read_lines


def parse_option(text: str) -> tuple[str | None, str, bool | int | float | str]:
    """``[verifier.]key=value`` → (verifier or None, key, value); the value is read as bool, int, float,
    else kept as a string."""
    if "=" not in text:
        raise click.BadParameter(f"{text!r} is not KEY=VALUE", param_hint="--option")
    key, raw = text.split("=", 1)
    key = key.strip()
    scope = None
    if "." in key:
        scope, key = key.split(".", 1)
        unknown = unknown_verifier(scope)
        if unknown:
            raise click.BadParameter(f"{text!r}: {unknown}", param_hint="--option")
    if not key:
        raise click.BadParameter(f"{text!r} has an empty key", param_hint="--option")
    low = raw.strip().lower()
    value: bool | int | float | str
    if low in ("true", "false"):
        value = low == "true"
    else:
        try:
            value = int(raw)
        except ValueError:
            try:
                value = float(raw)
            except ValueError:
                value = raw
    return scope, key, value


class _Graders:
    """One Grader per verifier met in the file, built on first use with the options that apply to it:
    ``VERIFIER.KEY=VALUE`` to that verifier, an unprefixed bound to all, any other unprefixed key to the
    default verifier."""

    def __init__(self, options: list[tuple[str | None, str, Any]], default: str) -> None:
        self._options = options
        self._default = default
        self._graders: dict[str, Grader] = {}

    def _applies(self, scope: str | None, key: str, verifier: str) -> bool:
        if scope is not None:
            return scope == verifier
        return key in LIMIT_KEYS or verifier == self._default

    def get(self, verifier: str) -> Grader:
        if verifier not in self._graders:
            opts = {k: v for scope, k, v in self._options if self._applies(scope, k, verifier)}
            try:
                self._graders[verifier] = Grader(verifier, **opts)
            except InvalidInputError as e:
                raise click.UsageError(f"verifier {verifier!r}: {e}") from None
        return self._graders[verifier]


def _count_lines(path: str) -> int | None:
    if path == "-" or not os.path.isfile(path):
        return None
    n = 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            n += block.count(b"\n")
    return n


def _rows(stream: IO[bytes], name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) for every non-blank line; a clear error naming the line otherwise."""
    for line in read_lines(stream):
        if line.row is None:
            hint = "; is this a JSONL file?" if str(line.problem).startswith("not UTF-8") else ""
            raise click.ClickException(f"{name}:{line.lineno}: {line.problem}{hint}")
        yield line.lineno, line.row


class _Item:
    __slots__ = ("reference", "response", "row", "verifier")

    def __init__(self, row: dict[str, Any], verifier: str, response: str, reference: str) -> None:
        self.row, self.verifier, self.response, self.reference = row, verifier, response, reference


def _item(
    row: dict[str, Any], lineno: int, name: str, fields: tuple[str, str], default_verifier: str
) -> _Item:
    response_field, reference_field = fields
    where = f"{name}:{lineno}"
    verifier = row.get("verifier", default_verifier)
    unknown = unknown_verifier(verifier)
    if unknown:
        raise click.ClickException(f"{where}: {unknown}")
    for field in fields:
        if field not in row:
            raise click.ClickException(
                f"{where}: missing field {field!r} (fields: {', '.join(map(str, row))})"
            )
    response = row[response_field]
    if not isinstance(response, str):
        raise click.ClickException(f"{where}: field {response_field!r} {must_be('text', response)}")
    try:
        reference = reference_text(row[reference_field], verifier)
    except TypeError as e:
        raise click.ClickException(f"{where}: field {reference_field!r} {e}") from None
    return _Item(row, verifier, response, reference)


def _grade_chunk(
    items: list[_Item], graders: _Graders, threads: int | None
) -> list[tuple[float, int, str | None]]:
    """Verdicts in input order; rows are grouped by verifier so each group is one batch call."""
    out: list[tuple[float, int, str | None]] = [(0.0, 0, None)] * len(items)
    by_verifier: dict[str, list[int]] = {}
    for i, it in enumerate(items):
        by_verifier.setdefault(it.verifier, []).append(i)
    for verifier, idx in by_verifier.items():
        g = graders.get(verifier).grade(
            [items[i].response for i in idx], [items[i].reference for i in idx], threads=threads
        )
        for j, i in enumerate(idx):
            out[i] = (float(g.scores[j]), int(g.status[j]), g.extracted[j])
    return out


def _summary(counts: list[int], seconds_total: float, seconds_grading: float) -> str:
    """Counts and shares per status, accuracy, throughput; ``counts`` holds at least one row (an empty input
    is refused before)."""
    total = sum(counts)
    graded = total - sum(counts[c] for c in NO_VERDICT)
    width = max(len(s) for s in STATUS_NAMES) + 2
    lines = [f"{'status':<{width}}{'count':>10}{'share':>9}"]
    for name, n in zip(STATUS_NAMES, counts):
        lines.append(f"{name:<{width}}{n:>10,}{n / total:>9.1%}")
    lines.append(f"{'total':<{width}}{total:>10,}")
    among_graded = (
        f"{counts[0] / graded:.4f} (correct / graded, {graded:,} rows)"
        if graded
        else "n/a (correct / graded: no row got a verdict)"
    )
    lines.append(f"accuracy {counts[0] / total:.4f} (correct / all), {among_graded}")
    rate = total / seconds_total if seconds_total > 0 else float("inf")
    grate = total / seconds_grading if seconds_grading > 0 else float("inf")
    lines.append(f"{rate:,.0f} items/s overall ({seconds_total:.2f} s), {grate:,.0f} items/s grading")
    return "\n".join(lines)


@click.command("grade")
@click.argument("input_path", metavar="INPUT.jsonl", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--verifier",
    "-v",
    default="math",
    show_default=True,
    type=click.Choice(VERIFIERS),
    help="Verifier for rows without a 'verifier' field.",
)
@click.option("--response-field", default="response", show_default=True, help="Field holding the response.")
@click.option("--reference-field", default="gold", show_default=True, help="Field holding the reference.")
@click.option(
    "--threads", type=click.IntRange(min=1), default=None, help="Worker threads [default: shared pool]."
)
@click.option(
    "--option",
    "-O",
    "options",
    multiple=True,
    metavar="[VERIFIER.]KEY=VALUE",
    help="Verifier option, repeatable: KEY=VALUE for --verifier (bounds such as time_budget_ms for all), "
    "VERIFIER.KEY=VALUE for rows of that verifier (e.g. -O strict_format=true -O choice.num_choices=4).",
)
@click.option(
    "--output",
    "-o",
    default="-",
    show_default=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Output JSONL ('-' for stdout); written whole at the end, so a failure leaves an existing file as "
    "it was. Never the input file.",
)
@click.option(
    "--chunk-size", default=8192, show_default=True, type=click.IntRange(min=1), help="Rows per batch."
)
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bar on stderr.")
def grade(
    input_path: str,
    verifier: str,
    response_field: str,
    reference_field: str,
    threads: int | None,
    options: tuple[str, ...],
    output: str,
    chunk_size: int,
    progress: bool,
) -> None:
    """Grade the responses in INPUT.jsonl and write every row back with `score`, `status` and `extracted`.

    Each line is a JSON object with a response and a reference field; a `verifier` field in a row
    overrides --verifier for that row. A reference is text or a number (3, 2.5: graded as its text);
    countdown references may be objects ({"target":..,"numbers":..}), maze references lists of rows. A
    UTF-8 byte-order mark at the start of the file is skipped. A summary (counts per status, accuracy,
    throughput) goes to stderr.
    """
    from tqdm import tqdm

    if output != "-" and input_path != "-" and same_file(input_path, output):
        raise click.BadParameter(
            f"{output!r} is the input file; grading would overwrite it: write elsewhere",
            param_hint="--output",
        )
    graders = _Graders([parse_option(o) for o in options], verifier)
    graders.get(verifier)  # fail fast on a bad option for the default verifier
    fields = (response_field, reference_field)
    name = "<stdin>" if input_path == "-" else input_path
    if input_path != "-" and not os.path.isfile(input_path):
        raise click.BadParameter(f"{input_path!r} does not exist", param_hint="INPUT.jsonl")
    counts = [0] * len(STATUS_NAMES)
    t0 = time.perf_counter()
    grading_seconds = 0.0
    bar = tqdm(
        total=_count_lines(input_path), unit="row", file=sys.stderr, disable=not progress, dynamic_ncols=True
    )
    # The output is written to a temporary file renamed over OUTPUT at the end: a rejected row, Ctrl-C or
    # a full disk leaves an existing OUTPUT as it was and no partial one.
    sink = click.open_file("-", "w", encoding="utf-8") if output == "-" else atomic_open(output)
    try:
        with click.open_file(input_path, "rb") as src, sink as dst:

            def flush(items: list[_Item], lineno: int) -> None:
                nonlocal grading_seconds
                t = time.perf_counter()
                verdicts = _grade_chunk(items, graders, threads)
                grading_seconds += time.perf_counter() - t
                for it, (score, status, extracted) in zip(items, verdicts):
                    counts[status] += 1
                    out = {**it.row, "score": score, "status": STATUS_NAMES[status], "extracted": extracted}
                    dst.write(json.dumps(out, ensure_ascii=False) + "\n")
                bar.update(lineno - bar.n)

            chunk: list[_Item] = []
            for lineno, row in _rows(src, name):
                chunk.append(_item(row, lineno, name, fields, verifier))
                if len(chunk) >= chunk_size:
                    flush(chunk, lineno)
                    chunk = []
            if chunk:
                flush(chunk, lineno)
            if not sum(counts):  # inside the block: an existing OUTPUT stays as it was
                raise click.ClickException(
                    f"{name}: no rows to grade (the input is empty or holds only blank lines)"
                )
        if bar.total:
            bar.update(bar.total - bar.n)  # trailing blank lines
    except NoSpaceError as e:
        raise click.ClickException(str(e)) from None
    finally:
        bar.close()
    click.echo(_summary(counts, time.perf_counter() - t0, grading_seconds), err=True)
