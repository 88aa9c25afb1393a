"""User data: JSON Lines of ``{"prompt": ..., "answer": ..., "verifier": ...}`` with a local HF model.

``verifier`` is optional per line (default ``task.jsonl.verifier``). The model and its tokenizer come from
``model.path``; prompts go through the tokenizer's chat template when it has one. The held-out set is
``task.jsonl.eval`` when given, else the first ``task.eval_size`` lines of the training file (which are then
left out of training).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from maxrl_rs.errors import ConfigError
from maxrl_rs.tasks.base import Example, Task, register_task


@dataclass
class JsonlOptions:
    """``[task.jsonl]``: ``train`` and optional ``eval`` JSONL paths, default ``verifier``, token budget."""

    train: str = ""
    eval: str = ""
    verifier: str = "math"
    max_new_tokens: int = 512


def read_rows(path: str | Path, what: str) -> Iterator[tuple[int, dict]]:
    """``(line number, object)`` for each non-blank line of a JSONL file; ``what`` names the file's config
    key in the errors, which also name the file and the line."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{what}: file {str(path)!r} does not exist")
    with p.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ConfigError(f"{path}:{lineno}: not valid JSON ({e.msg})") from None
            if not isinstance(row, dict):
                raise ConfigError(f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}")
            yield lineno, row


def read_examples(path: str, default_verifier: str, prefix: str) -> list[Example]:
    """Parse a JSONL file; errors name the file, the line and the field."""
    out = []
    for lineno, row in read_rows(path, "task.jsonl"):
        for key in ("prompt", "answer"):
            if key not in row:
                raise ConfigError(f"{path}:{lineno}: missing field {key!r}")
        if not isinstance(row["prompt"], str):
            raise ConfigError(f"{path}:{lineno}: field 'prompt' must be a string")
        answer = row["answer"]
        reference = answer if isinstance(answer, str) else json.dumps(answer)
        verifier = row.get("verifier", default_verifier)
        if not isinstance(verifier, str):
            raise ConfigError(f"{path}:{lineno}: field 'verifier' must be a string, got {verifier!r}")
        out.append(Example(f"{prefix}{lineno}", row["prompt"], reference, verifier))
    if not out:
        raise ConfigError(f"task.jsonl: file {path!r} has no examples")
    return out


@register_task
class JsonlTask(Task):
    name = "jsonl"
    Options = JsonlOptions

    def __init__(self, options: JsonlOptions, **kwargs) -> None:
        if not options.train:
            raise ConfigError(
                "task.jsonl.train: path to a JSONL file of {prompt, answer, verifier?} is required"
            )
        super().__init__(options, **kwargs)

    @cached_property
    def _split(self) -> tuple[list[Example], list[Example]]:
        rows = read_examples(self.options.train, self.options.verifier, "train:")
        if self.options.eval:
            return rows, read_examples(self.options.eval, self.options.verifier, "eval:")
        if len(rows) <= self.eval_size:
            raise ConfigError(
                f"task.eval_size ({self.eval_size}) leaves no training lines in {self.options.train!r} "
                f"({len(rows)} lines); lower it or set task.jsonl.eval"
            )
        return rows[self.eval_size :], rows[: self.eval_size]

    @property
    def num_train(self) -> int:
        return len(self._split[0])

    def train_example(self, index: int) -> Example:
        return self._split[0][index]

    def eval_examples(self) -> list[Example]:
        return list(self._split[1])

    @property
    def max_new_tokens(self) -> int:
        return self.options.max_new_tokens
