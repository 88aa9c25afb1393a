"""Multi-digit arithmetic: ``a + b =`` or ``a * b =`` answered with the digits of the result.

Operands are uniform in [0, 10^digits). Prompt and response are one token per digit or symbol, decoded
without spaces, so the response text is the number itself; it is graded by ``maxrl_rs.grade(...,
verifier="exact")`` against the true result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from maxrl_rs.errors import ConfigError
from maxrl_rs.models import word_level_tokenizer
from maxrl_rs.tasks.base import SFT_STREAM, Example, GeneratedTask, register_task

DIGITS = tuple("0123456789")
OPS = ("+", "*")


@dataclass
class ArithmeticOptions:
    """``[task.arithmetic]``: operand ``digits`` (1–9) and ``ops``, any of ``+`` and ``*`` (e.g. ``"+*"``)."""

    digits: int = 2
    ops: str = "+"


def _spaced(text: str) -> str:
    return " ".join(text)


@register_task
class ArithmeticTask(GeneratedTask[tuple[int, str, int]]):
    name = "arithmetic"
    Options = ArithmeticOptions
    sft_steps = 600

    def __init__(self, options: ArithmeticOptions, **kwargs: Any) -> None:
        if not 1 <= options.digits <= 9:
            raise ConfigError(f"task.arithmetic.digits must be in 1..9, got {options.digits}")
        if not options.ops or any(op not in OPS for op in options.ops):
            raise ConfigError(f"task.arithmetic.ops must use only {' and '.join(OPS)}, got {options.ops!r}")
        super().__init__(options, **kwargs)

    def _draw(self, rng: np.random.Generator) -> tuple[int, str, int]:
        hi = 10**self.options.digits
        a, b = int(rng.integers(hi)), int(rng.integers(hi))
        op = self.options.ops[int(rng.integers(len(self.options.ops)))]
        return a, op, b

    def _example(self, problem: tuple[int, str, int], example_id: str) -> Example:
        a, op, b = problem
        answer = str(a + b if op == "+" else a * b)
        return Example(
            id=example_id,
            prompt=f"{_spaced(str(a))} {op} {_spaced(str(b))} =",
            reference=answer,
            verifier="exact",
            solution=_spaced(answer),
        )

    def sft_example(self, index: int) -> Example:
        return self._outside_eval(SFT_STREAM, index, f"sft-{index}")

    def _exhausted(self) -> str:
        return f"{super()._exhausted()}; raise digits"

    @property
    def builtin_model(self) -> bool:
        return True

    def build_tokenizer(self) -> Any:
        return word_level_tokenizer([*DIGITS, *OPS, "="], join="")

    @property
    def max_new_tokens(self) -> int:
        # The product of two d-digit numbers has at most 2d digits; then EOS.
        return 2 * self.options.digits + 1

    def prompt_ids(self, example: Example, tokenizer: Any) -> list[int]:
        return [tokenizer.bos_token_id, *tokenizer(example.prompt, add_special_tokens=False)["input_ids"]]
