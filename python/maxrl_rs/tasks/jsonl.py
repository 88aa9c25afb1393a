"""User data: JSON Lines of ``{"prompt": ..., "answer": ..., "verifier": ...}`` with a local HF model.

``verifier`` is optional per line (default ``task.jsonl.verifier``). The model and its tokenizer come from
``model.path``; prompts go through the tokenizer's chat template when it has one. The held-out set is
``task.jsonl.eval`` when given, else the first ``task.eval_size`` lines of the training file (which are then
left out of training). Every row is checked when the task first reads its data (see :func:`read_examples`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from maxrl_rs.errors import ConfigError
from maxrl_rs.grading import INVALID_REFERENCE, reference_text, unknown_verifier
from maxrl_rs.jsonl_reader import read_lines
from maxrl_rs.options import missing_path, need, optional_str
from maxrl_rs.tasks.base import Example, FileTask, register_task

log = logging.getLogger(__name__)


@dataclass
class JsonlOptions:
    """``[task.jsonl]``: ``train`` and optional ``eval`` JSONL paths, default ``verifier``, token budget."""

    train: str = optional_str()
    eval: str = optional_str()
    verifier: str = "math"
    max_new_tokens: int = 512

    def check(self) -> None:
        """ConfigError naming the ``task.jsonl.*`` key of a bad value, before any file is read."""
        need((problem := unknown_verifier(self.verifier)) is None, "task.jsonl.verifier", str(problem))
        need(
            self.max_new_tokens >= 1, "task.jsonl.max_new_tokens", f"must be >= 1, got {self.max_new_tokens}"
        )


#: A training file is refused when more than this share of its rows is unusable: so many bad rows point to a
#: wrong field name, verifier or file rather than a few stray lines, and training on the rest would mislead.
MAX_UNUSABLE_FRACTION = 0.1
_SHOWN = 10  # unusable rows listed by name in the report


class _Unusable(ValueError):
    """Why one row cannot be trained on."""


def _example(row: dict, default_verifier: str, name: str) -> Example:
    for key in ("prompt", "answer"):
        if key not in row:
            raise _Unusable(f"missing field {key!r} (fields: {', '.join(map(str, row)) or 'none'})")
    prompt, answer = row["prompt"], row["answer"]
    if not isinstance(prompt, str) or not prompt.strip():
        raise _Unusable(f"field 'prompt' must be a non-empty string, got {prompt!r:.80}")
    verifier = row.get("verifier", default_verifier)
    if (problem := unknown_verifier(verifier)) is not None:
        raise _Unusable(f"field 'verifier': {problem}")
    if answer is None:
        raise _Unusable("field 'answer' is null")
    try:
        reference = reference_text(answer, verifier)
    except TypeError as e:
        raise _Unusable(f"field 'answer' {e}") from None
    if not reference.strip():
        raise _Unusable("field 'answer' is empty")
    return Example(name, prompt, reference, verifier)


def report_unusable(path: str, problems: list[tuple[str, str]], rows: int, usable: int) -> None:
    """Warn that the ``(where, why)`` rows of ``path`` are left out, or raise ConfigError listing them when
    no row or fewer than ``1 - MAX_UNUSABLE_FRACTION`` of the ``rows`` are usable."""
    if not problems:
        return
    listed = "\n".join(f"  {where}: {why}" for where, why in problems[:_SHOWN])
    more = f"\n  ... and {len(problems) - _SHOWN} more" if len(problems) > _SHOWN else ""
    report = f"{path}: {len(problems)} of {rows} rows are unusable:\n{listed}{more}"
    if not usable or len(problems) > MAX_UNUSABLE_FRACTION * rows:
        raise ConfigError(
            f"{report}\ntoo few usable rows ({usable} of {rows}; at most "
            f"{MAX_UNUSABLE_FRACTION:.0%} may be unusable): fix the file"
        )
    log.warning("%s\nthese rows are left out; using the other %d", report, usable)


def read_examples(path: str, default_verifier: str, prefix: str) -> list[Example]:
    """Parse and check every row of a JSONL file.

    Lines are read by :func:`maxrl_rs.jsonl_reader.read_lines` (a leading byte-order mark is skipped). A row
    is unusable when it is not UTF-8 JSON object text, lacks ``prompt`` or ``answer``, names an
    unknown verifier, or has an empty, null or unparsable answer (one its verifier grades
    ``invalid_reference``). Unusable rows are left out with a warning listing them as ``file:line: why``.

    Raises:
        ConfigError: the file is missing, has no usable row, or more than :data:`MAX_UNUSABLE_FRACTION` of
            its rows are unusable; the message lists them.
    """
    import maxrl_rs

    p = Path(path)
    if not p.is_file():
        raise missing_path(f"task.jsonl.{prefix.rstrip(':')}", path)
    out: list[tuple[int, Example]] = []
    problems: list[tuple[int, str]] = []
    rows = 0
    with p.open("rb") as f:
        for line in read_lines(f):
            rows += 1
            if line.row is None:
                problems.append((line.lineno, str(line.problem)))
                continue
            try:
                out.append((line.lineno, _example(line.row, default_verifier, f"{prefix}{line.lineno}")))
            except _Unusable as e:
                problems.append((line.lineno, str(e)))
    # A reference the verifier cannot read would mask every rollout of its prompt: grade it against itself.
    by_verifier: dict[str, list[int]] = {}
    for i, (_, ex) in enumerate(out):
        by_verifier.setdefault(ex.verifier, []).append(i)
    bad: set[int] = set()
    for verifier, idx in by_verifier.items():
        refs = [out[i][1].reference for i in idx]
        status = maxrl_rs.grade(refs, refs, verifier=verifier).status
        for i, code in zip(idx, status.tolist()):
            if code == INVALID_REFERENCE:
                bad.add(i)
                problems.append(
                    (
                        out[i][0],
                        f"{verifier} cannot read answer {out[i][1].reference!r:.80} (invalid_reference)",
                    )
                )
    examples = [ex for i, (_, ex) in enumerate(out) if i not in bad]
    report_unusable(path, [(f"{path}:{n}", why) for n, why in sorted(problems)], rows, len(examples))
    if not examples:
        raise ConfigError(f"task.jsonl: file {path!r} has no examples")
    return examples


@register_task
class JsonlTask(FileTask):
    name = "jsonl"
    Options = JsonlOptions
    items_name = "lines"

    def __init__(self, options: JsonlOptions, **kwargs) -> None:
        options.check()
        if not options.train:
            raise ConfigError(
                "task.jsonl.train: path to a JSONL file of {prompt, answer, verifier?} is required"
            )
        super().__init__(options, **kwargs)

    def _read_split(self) -> tuple[list[Example], list[Example]]:
        rows = read_examples(self.options.train, self.options.verifier, "train:")
        if self.options.eval:
            return rows, read_examples(self.options.eval, self.options.verifier, "eval:")
        return self._hold_out(rows)
