"""GSM8K test problems for evaluation: ``maxrl eval RUN --task gsm8k --n 16 --prompts 40``.

The first 300 problems of the GSM8K test split (Cobbe et al. 2021, MIT licence) ship with the package as
``maxrl_rs/data/gsm8k_test_300.jsonl`` (``{"id", "question", "answer"}``, the answer being the number after
``####``; see ``maxrl_rs/data/README.md``). Each question is followed by the same ``\\boxed{}`` instruction
as the ``word_problems`` task, goes through the model's chat template, and is graded by the ``math``
verifier. The held-out set is the first ``task.eval_size`` problems, in file order. It is an evaluation
set: training on it is refused (train on ``word_problems`` or your own ``jsonl`` data).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from maxrl_rs.errors import ConfigError
from maxrl_rs.options import optional_str
from maxrl_rs.tasks.base import Example, Task, register_task
from maxrl_rs.tasks.data_files import read_rows
from maxrl_rs.tasks.word_problems import INSTRUCTION

SHIPPED = Path(__file__).resolve().parent.parent / "data" / "gsm8k_test_300.jsonl"


@dataclass
class Gsm8kOptions:
    """``[task.gsm8k]``: ``path`` of a GSM8K-style JSONL (empty: the shipped 300 test problems), budget."""

    path: str = optional_str()
    max_new_tokens: int = 256


def read_gsm8k(path: str | Path) -> list[tuple[str, str]]:
    """(question, answer) pairs of a JSONL with ``question`` and ``answer`` fields.

    Errors name the file and the row (1-based)."""
    out = []
    for i, row in enumerate(read_rows(str(path), "task.gsm8k.path"), start=1):
        for key in ("question", "answer"):
            if not isinstance(row.get(key), str):
                raise ConfigError(f"{path}: row {i}: field {key!r} must be a string, got {row.get(key)!r}")
        out.append((row["question"], row["answer"]))
    if not out:
        raise ConfigError(f"task.gsm8k.path: file {str(path)!r} has no problems")
    return out


@register_task
class Gsm8kTask(Task):
    name = "gsm8k"
    Options = Gsm8kOptions

    @cached_property
    def _rows(self) -> list[tuple[str, str]]:
        return read_gsm8k(self.options.path or SHIPPED)

    @property
    def num_train(self) -> int:
        return 0

    def train_example(self, index: int) -> Example:
        raise ConfigError(
            "task gsm8k is an evaluation set (GSM8K test problems); train on word_problems or jsonl data"
        )

    def eval_examples(self) -> list[Example]:
        rows = self._rows
        if self.eval_size > len(rows):
            raise ConfigError(
                f"task.eval_size ({self.eval_size}) is more than the {len(rows)} problems in "
                f"{str(self.options.path or SHIPPED)!r}"
            )
        return [
            Example(f"gsm8k-{i}", f"{q}\n{INSTRUCTION}", a, "math")
            for i, (q, a) in enumerate(rows[: self.eval_size])
        ]

    @property
    def max_new_tokens(self) -> int:
        return self.options.max_new_tokens
