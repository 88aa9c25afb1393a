"""Batch grading of model responses against references (docs/grading.md), in Rust with the GIL released.

Every item gets a score in [0, 1] and a status code (see :data:`STATUS_NAMES`): ``correct``, ``incorrect``,
``no_answer`` (nothing extractable), ``invalid_reference``, ``limit`` (a size, depth or time bound was hit)
or ``error`` (the verifier failed on this item; the rest of the batch is unaffected). A ``limit`` or
``error`` is never silently a 0-reward ``incorrect``: use :attr:`Grades.mask` to leave those rollouts out
of the advantages.

Verifiers and their reference formats:

* ``math``: LaTeX / plain math answers (the last ``\\boxed{}`` or final-answer phrase), compared by value;
  a one-letter gold (``B``) is read as an option letter, a malformed one (``\\frac{``) is
  ``invalid_reference``. Options include ``self_correction=True`` (``\\boxed{3} Hmm, actually \\boxed{4}``
  answers 4) and ``ignore_run_on=True`` (text after an end-of-turn token or an invented next
  ``Question:`` is not read); see ``docs/grading-math.md``.
* ``gsm8k``: a number, or a GSM8K solution ending in ``#### N``. The response's answer is the number after
  ``#### `` (else, unless ``strict_format=True``, the last ``\\boxed{}``, "answer is", or the last number);
  a whole token (``3/4``, ``1 000 000``, ``29,50``), compared by exact value (``72.0 == 72``,
  ``1,000 == 1000``, ``$18 == 18``, ``3/4 == 0.75``). Options ``decimal_comma=True`` (``False`` drops
  the comma: ``29,50`` = 2950) and ``ignore_run_on=True``.
* ``exact``: any string; the whole response must equal it after normalisation. Options
  ``case_sensitive=False``, ``normalize_whitespace=True``, ``strip_punctuation=False``.
* ``choice``: a letter (``"B"``, ``"(b)"``). The response's letter comes from ``\\boxed{}``, "The answer is
  (B)", "Answer: C", ``**D**``, ``(E)``, "option G", or the last standalone capital. Hedging between
  letters ("B or C") is incorrect; the pronoun "I" ("I think it is B") is not option I, and a box with a
  label and its option text (``\\boxed{E. A polygenic risk score}``) is that one letter. Option
  ``num_choices=10`` (letters A–J).
* ``maze``: the grid as text rows joined by ``"\\n"`` (``#`` wall, ``.`` open, ``S`` start, ``G`` goal); a
  list of row strings is joined for you. The response is ``UP``/``DOWN``/``LEFT``/``RIGHT`` tokens
  (whitespace or commas between) ended by ``DONE``. Option ``case_sensitive=True``.
* ``countdown``: JSON ``{"target": 24, "numbers": [3, 4, 8, 1]}``; a dict is JSON-encoded for you. The
  response's expression (in ``<answer>...</answer>``, else after "Answer:", else the last line; text from
  ``=`` on dropped) must use each number at most once and equal the target exactly. Option
  ``use_all=False``.

Every verifier also accepts the bounds as options: ``max_input_bytes`` (1 MiB), ``max_depth`` (200),
``max_digits`` (2000), ``max_exponent`` (4096) and ``time_budget_ms`` (20, per item).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from maxrl_rs import _core
from maxrl_rs.errors import InvalidInputError, did_you_mean, must_be

STATUS_NAMES: tuple[str, ...] = tuple(_core.STATUS_NAMES)
"""Status names, indexed by the codes in :attr:`Grades.status`."""

VERIFIERS: tuple[str, ...] = tuple(_core.VERIFIERS)


def unknown_verifier(verifier: Any) -> str | None:
    """None when ``verifier`` names a verifier, else the one wording of an unknown name, for the caller to
    put after the key, file or row it came from: ``unknown verifier 'mathh' (did you mean 'math'?); known:
    math, gsm8k, ...``."""
    if isinstance(verifier, str) and verifier in VERIFIERS:
        return None
    hint = did_you_mean(verifier, VERIFIERS) if isinstance(verifier, str) else ""
    return f"unknown verifier {verifier!r}{hint}; known: {', '.join(VERIFIERS)}"


CORRECT, INCORRECT, NO_ANSWER = _core.CORRECT, _core.INCORRECT, _core.NO_ANSWER
INVALID_REFERENCE, LIMIT, ERROR = _core.INVALID_REFERENCE, _core.LIMIT, _core.ERROR

#: Status codes without a verdict (the score says nothing about the policy): masked out of the advantages by
#: :attr:`Grades.mask` and left out of pass@k's n.
NO_VERDICT: tuple[int, ...] = tuple(_core.NO_VERDICT)

#: Option keys that set a grading bound (size, depth, time) rather than a verifier option.
LIMIT_KEYS: tuple[str, ...] = tuple(_core.LIMIT_KEYS)


@dataclass(frozen=True)
class Grades:
    """Verdicts of a batch, aligned with the input.

    Attributes:
        scores: float32 scores in [0, 1] (1 for correct).
        status: uint8 status codes, ``STATUS_NAMES[code]`` is the name.
        extracted: the answer read from each response, normalised for display (None when nothing was read).
    """

    scores: np.ndarray
    status: np.ndarray
    extracted: list[str | None]

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    @property
    def status_names(self) -> list[str]:
        """The status of each item by name."""
        return [STATUS_NAMES[c] for c in self.status.tolist()]

    @property
    def mask(self) -> np.ndarray:
        """True where the score is a real verdict (not ``invalid_reference``, ``limit`` or ``error``).

        Pass it as ``mask=`` to :func:`maxrl_rs.advantages` so those rollouts get no gradient and do not
        count in their group's N and K.
        """
        return ~np.isin(self.status, NO_VERDICT)

    @property
    def correct(self) -> np.ndarray:
        """Boolean array: status is ``correct``."""
        return self.status == CORRECT

    def counts(self) -> dict[str, int]:
        """Number of items with each status (every status present, zeros included)."""
        n = np.bincount(self.status, minlength=len(STATUS_NAMES))
        return {name: int(n[i]) for i, name in enumerate(STATUS_NAMES)}

    @property
    def accuracy(self) -> float:
        """Mean score over all items (NaN for an empty batch)."""
        return float(self.scores.mean()) if len(self) else float("nan")


def _texts(values: Any, what: str) -> list[str]:
    if isinstance(values, (str, bytes)):
        raise InvalidInputError(
            f"{what} must be a sequence of str, got a single {type(values).__name__}; wrap it in a list"
        )
    if isinstance(values, np.ndarray):
        values = values.tolist()
    if not isinstance(values, Iterable):
        raise InvalidInputError(f"{what} must be a sequence of str, got {type(values).__name__}")
    return list(values)  # the core names an item that is not a str


def is_number(value: Any) -> bool:
    """An int or float (Python or NumPy); a bool is not a number here (``true`` is no answer to grade)."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def number_text(value: Any) -> str:
    """A number as reference text: ``42`` → ``"42"``, an integral float as the integer (``3.0`` → ``"3"``),
    any other float by its shortest repr (``2.5``). Raises TypeError for NaN and ±inf (no answer to grade)."""
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    f = float(value)
    if not math.isfinite(f):
        raise TypeError(must_be("a finite number", value))
    return str(int(f)) if f.is_integer() else repr(f)


def reference_text(value: Any, verifier: str) -> str:
    """One reference as the string the verifier reads: a str as is, a number as its text
    (:func:`number_text`), a dict JSON-encoded (countdown), a list of row strings joined by newlines (maze).

    Raises:
        TypeError: anything else (bool, None, NaN, ...), worded by :func:`maxrl_rs.errors.must_be`.
    """
    if isinstance(value, str):
        return value
    if is_number(value):
        return number_text(value)
    if isinstance(value, Mapping):
        try:
            return json.dumps(dict(value))
        except (TypeError, ValueError) as e:
            raise TypeError(f"a dict that is not JSON-serialisable ({e})") from None
    if verifier == "maze" and isinstance(value, Sequence) and all(isinstance(r, str) for r in value):
        return "\n".join(value)
    extra = {"maze": ", or a list of row strings", "countdown": ", or a {target, numbers} object"}
    raise TypeError(must_be(f"text or a number{extra.get(verifier, '')}", value))


def _references(values: Any, verifier: str) -> list[str]:
    if isinstance(values, (str, bytes)):
        raise InvalidInputError(
            f"references must be a sequence, got a single {type(values).__name__}; pass one reference "
            "per response (e.g. [gold] * len(responses))"
        )
    if isinstance(values, np.ndarray):
        values = values.tolist()
    if not isinstance(values, Iterable):
        raise InvalidInputError(f"references must be a sequence, got {type(values).__name__}")
    out = []
    for i, v in enumerate(values):
        try:
            out.append(reference_text(v, verifier))
        except TypeError as e:
            raise InvalidInputError(f"references[{i}] {e}") from None
    return out


def _threads(threads: Any) -> int | None:
    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise InvalidInputError(f"threads must be a positive integer or None, got {threads!r}")
    return int(threads)


def _check_verifier(verifier: Any) -> str:
    # The core rejects unknown names (listing the known ones); it only reads a str.
    if not isinstance(verifier, str):
        raise InvalidInputError(str(unknown_verifier(verifier)))
    return verifier


def _grades(raw: tuple[np.ndarray, np.ndarray, list[str | None]]) -> Grades:
    scores, status, extracted = raw
    return Grades(scores=scores, status=status, extracted=extracted)


def grade(
    responses: Any,
    references: Any,
    verifier: str = "math",
    *,
    threads: int | None = None,
    **options: Any,
) -> Grades:
    """Grade ``responses[i]`` against ``references[i]`` for every i.

    Args:
        responses: sequence of str (list, tuple, NumPy array of str).
        references: sequence aligned with ``responses``: str, a number (``3``, ``2.5``: its text, see
            :func:`number_text`), a dict for ``countdown`` (JSON-encoded), or a list of row strings for
            ``maze``. Repeated references (N rollouts per prompt) are parsed
            once.
        verifier: ``math`` (default), ``gsm8k``, ``exact``, ``choice``, ``maze`` or ``countdown``.
        threads: worker threads for this call; None uses the shared pool (see ``set_num_threads``).
        **options: verifier options (bool, int, float or str values) and bounds, see the module docs.
            An unknown key raises InvalidInputError naming it.

    Returns:
        :class:`Grades` with ``scores`` (float32), ``status`` (uint8 codes into :data:`STATUS_NAMES`),
        ``extracted`` (list of str or None).

    Raises:
        InvalidInputError: unknown verifier or option, misaligned lengths, a non-str item, bad threads.
    """
    verifier = _check_verifier(verifier)
    resp = _texts(responses, "responses")
    refs = _references(references, verifier)
    return _grades(_core.grade(resp, refs, verifier, options, _threads(threads)))


class Grader:
    """A verifier with fixed options, reusable across batches.

    Parsed references are cached between calls (by reference text), so grading the same prompts again,
    or N rollouts per prompt, parses each reference once. Thread-safe: one Grader may be shared by threads.

    >>> g = Grader("gsm8k")
    >>> g.grade(["... #### 18"], ["18"]).scores
    array([1.], dtype=float32)
    """

    def __init__(self, verifier: str = "math", **options: Any) -> None:
        self._verifier = _check_verifier(verifier)
        self._options = dict(options)
        self._core = _core.Grader(self._verifier, self._options)

    @property
    def verifier(self) -> str:
        return self._verifier

    @property
    def options(self) -> dict[str, Any]:
        return dict(self._options)

    def grade(self, responses: Any, references: Any, *, threads: int | None = None) -> Grades:
        """Grade aligned ``responses`` and ``references``; see :func:`grade` for the formats."""
        resp = _texts(responses, "responses")
        refs = _references(references, self._verifier)
        return _grades(self._core.grade(resp, refs, _threads(threads)))

    __call__ = grade

    def __repr__(self) -> str:
        opts = "".join(f", {k}={v!r}" for k, v in self._options.items())
        return f"Grader({self._verifier!r}{opts})"


__all__ = [
    "LIMIT_KEYS",
    "NO_VERDICT",
    "STATUS_NAMES",
    "VERIFIERS",
    "Grader",
    "Grades",
    "grade",
    "number_text",
    "reference_text",
]
