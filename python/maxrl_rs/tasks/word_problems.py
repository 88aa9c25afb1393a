"""Grade-school arithmetic word problems generated in code, answered in ``\\boxed{}`` by a pretrained model.

Each problem is one or two steps of addition, subtraction, multiplication or exact sharing (division
without remainder), told in one of many sentence templates with varied names, objects and verbs::

    Mia has 23 marbles. She buys 14 more. How many marbles are there now?
    A shop had 44 marbles and sold 31 of them. Later 2 marbles get lost. How many marbles are left?

Quantities added or subtracted are drawn from ``[min_value, max_value]``, factors and group counts from
``[2, max_factor]``; every intermediate and final answer is a positive whole number. The prompt asks for
the final answer in ``\\boxed{}``; responses are graded by ``maxrl_rs.grade(..., verifier="math")``. The
model and tokenizer come from ``model.path`` (a pretrained chat model; the prompt goes through its chat
template). The held-out set is drawn from its own seed and no training problem repeats a held-out text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from maxrl_rs.errors import ConfigError
from maxrl_rs.tasks.base import Example, GeneratedTask, register_task, stream_rng

OPS = "+-*/"
INSTRUCTION = "Solve the problem. Put the final answer, a single number, in \\boxed{}."

NAMES = (
    ("Mia", "she"), ("Tom", "he"), ("Ava", "she"), ("Leo", "he"), ("Zoe", "she"), ("Sam", "he"),
    ("Nora", "she"), ("Ben", "he"), ("Lily", "she"), ("Omar", "he"), ("Emma", "she"), ("Jack", "he"),
    ("Priya", "she"), ("Diego", "he"), ("Hana", "she"), ("Noah", "he"),
)  # fmt: skip
#: (plural noun, container) pairs; the container is what a multiplication step counts.
ITEMS = (
    ("apples", "bag"), ("marbles", "jar"), ("stickers", "sheet"), ("pencils", "box"), ("cookies", "tray"),
    ("books", "shelf"), ("eggs", "carton"), ("cards", "pack"), ("flowers", "vase"), ("shells", "bucket"),
    ("balloons", "bunch"), ("crayons", "box"), ("oranges", "crate"), ("beads", "string"),
)  # fmt: skip


@dataclass
class WordProblemsOptions:
    """``[task.word_problems]``: number range, operations, share of two-step problems, token budget.

    ``min_value``/``max_value`` bound the quantities added or taken away; ``max_factor`` bounds factors,
    group sizes and the number of people a quantity is shared between; ``ops`` any of ``+-*/``;
    ``two_step`` the fraction of problems with two operations (0: all one-step, 1: all two-step).
    """

    # Defaults: where SmolLM2-135M-Instruct starts at pass@1 0.06–0.08 with 64 new tokens
    # (docs/results/smollm2.md).
    min_value: int = 2
    max_value: int = 20
    max_factor: int = 10
    ops: str = "+-"
    two_step: float = 0.0
    max_new_tokens: int = 128


@dataclass(frozen=True)
class Problem:
    """One generated problem: its text, its answer and a worked solution ending in ``\\boxed{answer}``."""

    text: str
    answer: int
    solution: str
    ops: str


# -- sentence templates ------------------------------------------------------------------------------------
# Each template takes (name, subject pronoun, item[, container], numbers) and returns the setup sentence;
# the question (or, for two-step problems, a sentence about the running total and then the question)
# follows. One tuple per operation; picked at random.
OBJECT = {"he": "him", "she": "her"}


def _pl(noun: str) -> str:
    return noun[:-1] + "ves" if noun.endswith("f") else noun + ("es" if noun.endswith(("x", "ch")) else "s")


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


ADD_TEMPLATES: tuple[Callable[..., str], ...] = (
    lambda n, p, it, a, b: f"{n} has {a} {it}. {_cap(p)} buys {b} more.",
    lambda n, p, it, a, b: f"{n} had {a} {it} and then found {b} more.",
    lambda n, p, it, a, b: f"There are {a} {it} in a basket. {n} puts in {b} more.",
    lambda n, p, it, a, b: f"{n} collected {a} {it} on Monday and {b} {it} on Tuesday.",
    lambda n, p, it, a, b: f"{n} starts with {a} {it}, and a friend gives {OBJECT[p]} {b} more.",
    lambda n, p, it, a, b: f"A shop had {a} {it}. A delivery brought {b} more {it}.",
)
SUB_TEMPLATES: tuple[Callable[..., str], ...] = (
    lambda n, p, it, a, b: f"{n} has {a} {it}. {_cap(p)} gives {b} of them away.",
    lambda n, p, it, a, b: f"{n} had {a} {it} and lost {b} of them.",
    lambda n, p, it, a, b: f"There were {a} {it} on the table. {n} took {b} of them.",
    lambda n, p, it, a, b: f"{n} bought {a} {it} and used {b} of them for a school project.",
    lambda n, p, it, a, b: f"A shop had {a} {it} and sold {b} of them.",
    lambda n, p, it, a, b: f"{n} picked {a} {it}, but {b} of them were bad and thrown away.",
)
MUL_TEMPLATES: tuple[Callable[..., str], ...] = (
    lambda n, p, it, c, a, b: f"{n} buys {a} {_pl(c)} of {it}. Each {c} holds {b} {it}.",
    lambda n, p, it, c, a, b: f"{n} has {a} {_pl(c)} with {b} {it} in each {c}.",
    lambda n, p, it, c, a, b: f"There are {a} {_pl(c)}, and every {c} has {b} {it}.",
    lambda n, p, it, c, a, b: f"Every day for {a} days, {n} gets {b} {it}.",
    lambda n, p, it, c, a, b: f"{n} fills {a} {_pl(c)}, putting {b} {it} in each one.",
    lambda n, p, it, c, a, b: f"{a} friends each bring {b} {it} to {n}'s party.",
)
DIV_TEMPLATES: tuple[Callable[..., str], ...] = (
    lambda n, p, it, c, a, b: f"{n} shares {a} {it} equally among {b} friends.",
    lambda n, p, it, c, a, b: (
        f"{n} has {a} {it} and puts them into {b} {_pl(c)} with the same number in each."
    ),
    lambda n, p, it, c, a, b: f"{a} {it} are split evenly between {b} children.",
    lambda n, p, it, c, a, b: f"{n} packs {a} {it} into {b} equal {_pl(c)}.",
    lambda n, p, it, c, a, b: f"A teacher hands out {a} {it} equally to {b} groups.",
)
QUESTIONS = {
    "+": ("How many {it} are there now?", "How many {it} are there in total?", "How many {it} in all?"),
    "-": ("How many {it} are left?", "How many {it} remain?", "How many {it} are there now?"),
    "*": ("How many {it} are there in total?", "How many {it} is that altogether?", "How many {it} in all?"),
    "/": ("How many {it} does each get?", "How many {it} are in each one?", "How many {it} is each share?"),
}
# Second steps of a two-step problem: a sentence about the running total.
THEN = {
    "+": (
        "Then {n} gets {b} more {it}.",
        "Later {p} finds another {b} {it}.",
        "After that, {b} more {it} are added.",
    ),
    "-": ("Then {n} gives away {b} {it}.", "Later {b} {it} get lost.", "After that, {p} loses {b} {it}."),
    "*": (
        "Then {n} ends up with {b} times as many {it} as that.",
        "{_P} then makes {b} times as many {it}.",
    ),
    "/": (
        "Then all the {it} are shared equally among {b} people.",
        "{_P} then splits all of them into {b} equal groups.",
    ),
}
SECOND_QUESTIONS = {
    "+": ("How many {it} are there now?", "How many {it} in all?"),
    "-": ("How many {it} are left?", "How many {it} remain?"),
    "*": ("How many {it} are there now?", "How many {it} is that?"),
    "/": ("How many {it} does each get?", "How many {it} are in each group?"),
}
SYMBOL = {"+": "+", "-": "-", "*": "\\times", "/": "\\div"}


def _apply(op: str, x: int, y: int) -> int:
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    return x // y


class _Draw:
    """Random choices of one problem (a thin wrapper so templates read clearly)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def int(self, lo: int, hi: int) -> int:
        return int(self.rng.integers(lo, hi + 1))

    def pick(self, seq: Any) -> Any:
        return seq[int(self.rng.integers(len(seq)))]


def generate_problem(options: WordProblemsOptions, rng: np.random.Generator) -> Problem:
    """One problem drawn with ``rng`` (see the module docstring for the ranges)."""
    d = _Draw(rng)
    lo, hi, fmax = options.min_value, options.max_value, options.max_factor
    name, pron = d.pick(NAMES)
    item, container = d.pick(ITEMS)
    first = d.pick(options.ops)
    if first == "+":
        a, b = d.int(lo, hi), d.int(lo, hi)
        setup = d.pick(ADD_TEMPLATES)(name, pron, item, a, b)
    elif first == "-":
        a = d.int(lo + 1, hi)
        b = d.int(lo, a - 1) if a - 1 >= lo else 1
        setup = d.pick(SUB_TEMPLATES)(name, pron, item, a, b)
    elif first == "*":
        a, b = d.int(2, fmax), d.int(2, fmax)
        setup = d.pick(MUL_TEMPLATES)(name, pron, item, container, a, b)
    else:
        b, q = d.int(2, fmax), d.int(2, fmax)
        a = b * q
        setup = d.pick(DIV_TEMPLATES)(name, pron, item, container, a, b)
    value = _apply(first, a, b)
    steps = [f"{a} {SYMBOL[first]} {b} = {value}"]
    fields = {"n": name, "p": pron, "_P": _cap(pron), "it": item}
    if rng.random() < options.two_step:
        second = _second_op(d, options, value)
        if second is not None:
            op, c = second
            new = _apply(op, value, c)
            question = d.pick(SECOND_QUESTIONS[op]).format(**fields)
            text = f"{setup} {d.pick(THEN[op]).format(b=c, **fields)} {question}"
            steps.append(f"{value} {SYMBOL[op]} {c} = {new}")
            return _problem(text, new, steps, first + op)
    question = d.pick(QUESTIONS[first]).format(**fields)
    return _problem(f"{setup} {question}", value, steps, first)


def _second_op(d: _Draw, options: WordProblemsOptions, value: int) -> tuple[str, int] | None:
    """An operation and operand that keep the running value a positive whole number, or None."""
    lo, hi, fmax = options.min_value, options.max_value, options.max_factor
    choices = []
    for op in options.ops:
        if op == "+":
            choices.append((op, d.int(lo, hi)))
        elif op == "-" and value - 1 >= lo:
            choices.append((op, d.int(lo, min(hi, value - 1))))
        elif op == "*" and value <= hi:  # keep products in the range a grade-school problem would use
            choices.append((op, d.int(2, fmax)))
        elif op == "/":
            divisors = [k for k in range(2, fmax + 1) if value % k == 0 and value // k >= 1]
            if divisors:
                choices.append((op, d.pick(divisors)))
    return d.pick(choices) if choices else None


def _problem(text: str, answer: int, steps: list[str], ops: str) -> Problem:
    work = "; ".join(f"${s}$" for s in steps)
    return Problem(
        text=text, answer=answer, solution=f"{work}. The answer is $\\boxed{{{answer}}}$.", ops=ops
    )


@register_task
class WordProblemsTask(GeneratedTask[Problem]):
    name = "word_problems"
    Options = WordProblemsOptions

    def __init__(self, options: WordProblemsOptions, **kwargs: Any) -> None:
        o = options
        if not 1 <= o.min_value < o.max_value:
            raise ConfigError(
                f"task.word_problems: need 1 <= min_value < max_value, got {o.min_value} and {o.max_value}"
            )
        if o.max_factor < 2:
            raise ConfigError(f"task.word_problems.max_factor must be >= 2, got {o.max_factor}")
        if not o.ops or any(op not in OPS for op in o.ops):
            raise ConfigError(f"task.word_problems.ops must use only {OPS!r}, got {o.ops!r}")
        if not 0.0 <= o.two_step <= 1.0:
            raise ConfigError(f"task.word_problems.two_step must be in [0, 1], got {o.two_step}")
        if o.max_new_tokens < 1:
            raise ConfigError(f"task.word_problems.max_new_tokens must be >= 1, got {o.max_new_tokens}")
        super().__init__(options, **kwargs)

    def problem(self, *key: int) -> Problem:
        return self._draw(stream_rng(*key))

    def _draw(self, rng: np.random.Generator) -> Problem:
        return generate_problem(self.options, rng)

    def _identity(self, problem: Problem) -> str:
        return problem.text

    def _example(self, p: Problem, example_id: str) -> Example:
        return Example(
            id=example_id,
            prompt=f"{p.text}\n{INSTRUCTION}",
            reference=str(p.answer),
            verifier="math",
            solution=p.solution,
        )

    @property
    def max_new_tokens(self) -> int:
        return self.options.max_new_tokens
