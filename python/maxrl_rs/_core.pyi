# Type stubs of the Rust extension (checked in CI by `python -m mypy.stubtest maxrl_rs._core`).
# Users call the wrappers in maxrl_rs (advantages.py, passk.py, grading.py), which accept lists and tensors.

from collections.abc import Iterable
from typing import final

import numpy as np
import numpy.typing as npt

__version__: str

class InvalidInputError(ValueError):
    """Invalid input to a maxrl_rs call; the message names the index, group and value."""

    # The facts of the error (None when they do not apply): the offending element's index, the offending
    # group's id (as passed to the core), and the name of the offending argument or array.
    index: int | None
    group: int | None
    name: str | None

# Estimator names accepted by `advantages` (rust/core/src/estimators.rs).
ESTIMATORS: list[str]

def estimator_name(estimator: str) -> str: ...
def advantages(
    rewards: npt.NDArray[np.float64],
    group_ids: npt.NDArray[np.int64],
    estimator: str,
    order: int | None,
    drop_all_fail: bool,
    eps: float,
    std: str,
    mask: npt.NDArray[np.bool_] | None = None,
    out: npt.NDArray[np.float64] | None = None,
) -> npt.NDArray[np.float64]: ...
def group_stats(
    rewards: npt.NDArray[np.float64],
    group_ids: npt.NDArray[np.int64],
    mask: npt.NDArray[np.bool_] | None = None,
) -> tuple[
    npt.NDArray[np.int64], npt.NDArray[np.uint32], npt.NDArray[np.uint32], npt.NDArray[np.float64]
]: ...
def pass_at_k(
    n: npt.NDArray[np.int64], c: npt.NDArray[np.int64], k: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]: ...
def pass_at_k_curve(
    n: npt.NDArray[np.int64], c: npt.NDArray[np.int64], ks: npt.NDArray[np.int64] | None = None
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]: ...
def maxrl_objective(
    n: npt.NDArray[np.int64], c: npt.NDArray[np.int64], order: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]: ...
def set_num_threads(n: int) -> None: ...
def get_num_threads() -> int: ...

# Grading (rust/py/src/grading.rs): scores, status codes (indices into STATUS_NAMES), extracted answers.
STATUS_NAMES: list[str]
CORRECT: int
INCORRECT: int
NO_ANSWER: int
INVALID_REFERENCE: int
LIMIT: int
ERROR: int
# Status codes without a verdict: masked out of the advantages, left out of pass@k's n.
NO_VERDICT: list[int]
VERIFIERS: list[str]
# Option keys that set a grading bound rather than a verifier option.
LIMIT_KEYS: list[str]

_Graded = tuple[npt.NDArray[np.float32], npt.NDArray[np.uint8], list[str | None]]
# `options`: a dict (no other Mapping) of bool, int, float or str values; others raise InvalidInputError.

def grade(
    responses: Iterable[str],
    references: Iterable[str],
    verifier: str,
    options: dict[str, object] | None = None,
    threads: int | None = None,
) -> _Graded: ...

@final
class Grader:
    def __new__(cls, verifier: str, options: dict[str, object] | None = None) -> Grader: ...
    def grade(
        self, responses: Iterable[str], references: Iterable[str], threads: int | None = None
    ) -> _Graded: ...
    @property
    def verifier(self) -> str: ...
    @property
    def cached_references(self) -> int: ...
