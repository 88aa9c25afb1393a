"""Batch grading shared by the framework adapters.

Every adapter turns its framework's inputs into two lists of strings and makes one ``Grader.grade`` call per
batch (the Rust side grades the items in parallel with the GIL released). A grader is built once per
(verifier, options) and reused, since frameworks call reward functions thousands of times.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import maxrl_rs
from maxrl_rs.errors import InvalidInputError
from maxrl_rs.grading import NO_VERDICT, STATUS_NAMES, is_number, number_text

#: Statuses that say nothing about the response (docs/grading.md): a bound was hit or the grader failed.
UNGRADABLE = ("limit", "error")
#: Statuses that TRL reward functions report as ``None`` by default: those without a verdict
#: (``maxrl_rs.grading.NO_VERDICT``: the two above, plus a reference the verifier cannot read; TRL's own
#: ``accuracy_reward`` skips unparseable gold answers the same way).
SKIPPED_BY_DEFAULT = tuple(STATUS_NAMES[c] for c in NO_VERDICT)

_graders: dict[tuple[str, tuple[tuple[str, str], ...]], Any] = {}
_graders_lock = threading.Lock()


def get_grader(verifier: str, options: Mapping[str, Any]) -> Any:
    """The shared ``maxrl_rs.Grader`` for ``verifier`` and ``options`` (built on first use)."""
    key = (str(verifier), tuple(sorted((str(k), repr(v)) for k, v in options.items())))
    grader = _graders.get(key)
    if grader is None:
        with _graders_lock:
            grader = _graders.get(key)
            if grader is None:
                grader = maxrl_rs.Grader(verifier, **options)
                _graders[key] = grader
    return grader


def clear_graders() -> None:
    """Drop the shared graders (and with them their parsed-reference caches), e.g. to time a cold start."""
    with _graders_lock:
        _graders.clear()


@dataclass(frozen=True)
class Graded:
    """One batch's verdicts in plain Python/NumPy form."""

    scores: np.ndarray  # float32 in [0, 1]
    status: list[str]  # names from maxrl_rs.STATUS_NAMES
    extracted: list[str | None]

    def skipped(self, statuses: Sequence[str]) -> np.ndarray:
        """Boolean mask of the items whose status is one of ``statuses``."""
        wanted = set(statuses)
        return np.fromiter((s in wanted for s in self.status), dtype=bool, count=len(self.status))


def grade(
    responses: Sequence[str], references: Sequence[str], verifier: str, options: Mapping[str, Any]
) -> Graded:
    """Grade ``responses`` against ``references`` in one batch call."""
    if len(responses) != len(references):
        raise InvalidInputError(
            f"got {len(responses)} responses but {len(references)} references; they must be aligned"
        )
    refs = [reference_value(r) for r in references]
    grades = get_grader(verifier, options).grade(list(responses), refs)
    return Graded(
        scores=np.asarray(grades.scores, dtype=np.float32),
        status=grades.status_names,
        extracted=list(grades.extracted),
    )


def reference_value(reference: Any) -> Any:
    """A dataset value as a reference the grader accepts: text, a countdown mapping or a maze row list.

    Dataset columns hold numbers, None or NumPy arrays as often as text; those become text (or lists), see
    :func:`scalar_text`.
    """
    if isinstance(reference, (str, Mapping)):
        return reference
    if isinstance(reference, np.ndarray):
        reference = reference.tolist()
    if isinstance(reference, (list, tuple)) and all(isinstance(r, str) for r in reference):
        return list(reference)
    return scalar_text(reference)


def scalar_text(value: Any) -> str:
    """A dataset cell as reference text: a number as :func:`maxrl_rs.grading.number_text` writes it (``3.0``
    is ``3``), None or NaN (a missing value) as ``""`` (graded ``invalid_reference``), else ``str(value)``."""
    if value is None:
        return ""
    if is_number(value):
        try:
            return number_text(value)
        except TypeError:  # NaN or inf: pandas' missing value
            return ""
    return str(value)


def message_text(content: Any) -> str:
    """Text of a message's ``content``: a string, or a list of typed blocks (``{"type": "text", ...}``)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            block.get("text", "") if isinstance(block, Mapping) else str(block)
            for block in content
            if not isinstance(block, Mapping) or block.get("type", "text") == "text"
        )
    return "" if content is None else str(content)


def completion_text(completion: Any) -> str:
    """The text to grade from a completion: a string, one message, or a conversation (list of messages).

    For a conversation the last assistant message is graded (tool-calling loops put the final answer there).
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        return message_text(completion.get("content"))
    if isinstance(completion, Sequence):
        messages = [m for m in completion if isinstance(m, Mapping)]
        for m in reversed(messages):
            if m.get("role", "assistant") == "assistant":
                return message_text(m.get("content"))
        return message_text(messages[-1].get("content")) if messages else ""
    raise InvalidInputError(
        f"a completion must be a string or a list of chat messages, got {type(completion).__name__}"
    )
