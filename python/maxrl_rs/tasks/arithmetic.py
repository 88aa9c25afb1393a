"""Multi-digit arithmetic: ``a + b =`` or ``a * b =`` answered with the digits of the result.

Operands are uniform in [0, 10^digits). Prompt and response are one token per digit or symbol, decoded
without spaces, so the response text is the number itself; it is graded by ``maxrl_rs.grade(...,
verifier="exact")`` against the true result.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from maxrl_rs.errors import ConfigError
from maxrl_rs.models import word_level_tokenizer
from maxrl_rs.tasks.base import Example, Task, register_task, stream_rng

DIGITS = tuple("0123456789")
OPS = ("+", "*")
_TRAIN_STREAM, _EVAL_STREAM, _SFT_STREAM = 0, 1, 2


@dataclass
class ArithmeticOptions:
    """``[task.arithmetic]``: operand ``digits`` (1–9) and ``ops``, any of ``+`` and ``*`` (e.g. ``"+*"``)."""

    digits: int = 2
    ops: str = "+"


def _spaced(text: str) -> str:
    return " ".join(text)


@register_task
class ArithmeticTask(Task):
    name = "arithmetic"
    Options = ArithmeticOptions
    sft_steps = 600

    def __init__(self, options: ArithmeticOptions, **kwargs: Any) -> None:
        if not 1 <= options.digits <= 9:
            raise ConfigError(f"task.arithmetic.digits must be in 1..9, got {options.digits}")
        if not options.ops or any(op not in OPS for op in options.ops):
            raise ConfigError(f"task.arithmetic.ops must use only {' and '.join(OPS)}, got {options.ops!r}")
        super().__init__(options, **kwargs)

    def _problem(self, *key: int) -> tuple[int, str, int]:
        rng = stream_rng(*key)
        hi = 10**self.options.digits
        a, b = int(rng.integers(hi)), int(rng.integers(hi))
        op = self.options.ops[int(rng.integers(len(self.options.ops)))]
        return a, op, b

    def _example(self, a: int, op: str, b: int, example_id: str) -> Example:
        answer = str(a + b if op == "+" else a * b)
        return Example(
            id=example_id,
            prompt=f"{_spaced(str(a))} {op} {_spaced(str(b))} =",
            reference=answer,
            verifier="exact",
            solution=_spaced(answer),
        )

    @cached_property
    def _eval_problems(self) -> list[tuple[int, str, int]]:
        return [self._problem(self.eval_seed, _EVAL_STREAM, i) for i in range(self.eval_size)]

    @cached_property
    def _held_out(self) -> frozenset[tuple[int, str, int]]:
        return frozenset(self._eval_problems)

    def train_example(self, index: int) -> Example:
        return self._outside_eval(_TRAIN_STREAM, index, f"train-{index}")

    def sft_example(self, index: int) -> Example:
        return self._outside_eval(_SFT_STREAM, index, f"sft-{index}")

    def _outside_eval(self, stream: int, index: int, example_id: str) -> Example:
        for attempt in range(1000):
            problem = self._problem(self.seed, stream, index, attempt)
            if problem not in self._held_out:
                return self._example(*problem, example_id)
        raise ConfigError("task.arithmetic: too few distinct problems besides the held-out set; raise digits")

    def eval_examples(self) -> list[Example]:
        return [self._example(*p, f"eval-{i}") for i, p in enumerate(self._eval_problems)]

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
