"""Rewards from a user's Python function (``task.dataset.reward_fn``), in place of the built-in verifiers.

``reward_fn = "package.module:function"`` (importable) or ``"path/to/file.py:function"`` (a path relative to
the working directory, or absolute). The function is called once per batch of responses::

    function(prompts: list[str], responses: list[str], references: list[str]) -> list[float | None]

with one entry per response: a score, or None for "no verdict" (the rollout is masked out of advantages and
loss, like a verifier's ``limit`` or ``error``; docs/estimators.md, "Per-rollout advantages"). Under
``algo.estimator = "maxrl"`` scores must be 0 or 1 (the estimator is defined for pass/fail rewards); the
other estimators take any finite score. A score of 1 has status ``correct``, any other score ``incorrect``,
None ``error``.

Errors are :class:`RewardFunctionError` and name the function as configured (``my_reward.py:score``), the
example (its id, prompt and response, shortened) and, for an exception, the line of the function's file that
raised it: a wrong length, a score that is not a number, a non-binary score under maxrl, and an exception
raised by the function (which is then called row by row to find the first row that raises).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import math
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from maxrl_rs.errors import ConfigError, InvalidInputError, a_or_an
from maxrl_rs.options import missing_path

RewardFn = Callable[[list[str], list[str], list[str]], Sequence[Any]]


class RewardFunctionError(InvalidInputError, RuntimeError):
    """The user's reward function raised or returned something unusable; the message names it and the row.

    An :class:`~maxrl_rs.InvalidInputError` (``maxrl train`` and ``maxrl eval`` print its message alone),
    and a RuntimeError as it always was."""


@dataclass(frozen=True)
class RewardFunction:
    """A loaded reward function and the name its errors give it: ``spec`` as configured, its file part
    relative to the current directory when it lies below it."""

    fn: RewardFn
    name: str

    def __call__(self, prompts: list[str], responses: list[str], references: list[str]) -> Sequence[Any]:
        return self.fn(prompts, responses, references)


def display_path(path: str | Path) -> str:
    """``path`` relative to the current directory when it lies below it, else as it is."""
    rel = os.path.relpath(path)
    return str(path) if rel.startswith("..") else rel


def load_reward_fn(spec: str, key: str = "task.dataset.reward_fn") -> RewardFunction:
    """The function ``spec`` names (``module:function`` or ``file.py:function``).

    Raises ConfigError naming ``key`` when it cannot be imported or is not callable; for a module that
    cannot be imported while ``module.py`` lies in the current directory, it says to name the file.
    """
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"{key}: {spec!r} must look like 'package.module:function' or 'file.py:function'")
    if is_file_spec(module_name):
        path = Path(module_name).expanduser()
        if not path.is_file():
            raise missing_path(key, path)
        name = f"_maxrl_reward_{abs(hash(str(path.resolve())))}"
        loader_spec = importlib.util.spec_from_file_location(name, path)
        if loader_spec is None or loader_spec.loader is None:
            raise ConfigError(f"{key}: cannot import {str(path)!r} as a Python file")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[name] = module  # so pickling and dataclasses inside it work
        try:
            loader_spec.loader.exec_module(module)
        except Exception as e:
            raise ConfigError(f"{key}: importing {str(path)!r} failed: {type(e).__name__}: {e}") from e
        shown = f"{display_path(path)}:{attr}"
    else:
        try:
            module = importlib.import_module(module_name)
        except ImportError as e:
            file = module_file(module_name, [Path.cwd()])
            hint = f"; did you mean the file {display_path(file)}:{attr}? {MODULE_OR_FILE}" if file else ""
            raise ConfigError(f"{key}: cannot import module {module_name!r} ({e}){hint}") from e
        shown = spec
    fn = getattr(module, attr, None)
    if fn is None:
        raise ConfigError(f"{key}: {module_name!r} has no attribute {attr!r}")
    if not callable(fn):
        raise ConfigError(f"{key}: {spec!r} is {a_or_an(type(fn).__name__)}, not a function")
    check_signature(fn, shown, attr, key)
    return RewardFunction(fn, shown)


#: Where the call of a reward function is documented.
REWARD_DOCS = 'docs/training.md, "Python reward functions"'


def check_signature(
    fn: Callable[..., Any], shown: str, attr: str, key: str = "task.dataset.reward_fn"
) -> None:
    """ConfigError when ``fn``'s parameters cannot take the call ``fn(prompts, responses, references)``
    (three positional lists), naming ``shown`` with its parameters and the call; nothing for a callable whose
    signature Python cannot read (a builtin), which its trial call checks instead."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return
    try:
        sig.bind([], [], [])
    except TypeError:
        plain = sig.replace(
            parameters=[p.replace(annotation=p.empty) for p in sig.parameters.values()],
            return_annotation=sig.empty,
        )
        raise ConfigError(
            f"{key}: {shown} takes {plain} but is called as {attr}(prompts, responses, references), three "
            f"lists of strings with one entry per response, and returns one score per response "
            f"({REWARD_DOCS})"
        ) from None


def is_file_spec(module: str) -> bool:
    """The part before ``:`` names a Python file (``rewards.py``, ``lib/rewards``), not a module."""
    return module.endswith(".py") or "/" in module or "\\" in module


#: Why ``my_reward:score`` does not find ``my_reward.py`` next to the user.
MODULE_OR_FILE = (
    "'module:function' imports a module from Python's path (the maxrl command does not look in the current "
    "directory), 'file.py:function' loads a file"
)


def module_file(module: str, dirs: Sequence[Path]) -> Path | None:
    """The first ``dirs/module.py`` (dots as folders) that exists: what ``module:function`` may have meant."""
    for d in dirs:
        file = Path(os.path.normpath(Path(d) / (module.replace(".", os.sep) + ".py")))
        if file.is_file():
            return file
    return None


def _name(fn: Any) -> str:
    if isinstance(fn, RewardFunction):
        return fn.name
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def _short(text: str, limit: int = 60) -> str:
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}…"


def call_reward_fn(
    fn: RewardFn,
    prompts: list[str],
    responses: list[str],
    references: list[str],
    *,
    binary: bool,
    ids: Sequence[str] | None = None,
    trial: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rewards [R] float32, mask [R] bool, status [R] uint8)`` from one call of ``fn`` on the batch.

    ``ids``: the examples' ids, named with a failing row. ``trial``: the call is the check before training
    (:meth:`maxrl_rs.tasks.DatasetTask.check_grading`), which its errors say. Raises
    :class:`RewardFunctionError`.
    """
    import maxrl_rs

    n = len(responses)
    call = "in a trial call before training" if trial else f"of a batch of {n}"

    def row(i: int) -> str:
        example = f"example {ids[i]!r}" if ids is not None else f"row {i}"
        where = "" if trial or ids is None else f"row {i} "
        return f"{example} (prompt {_short(prompts[i])}, response {_short(responses[i])}; {where}{call})"

    try:
        out = fn(list(prompts), list(responses), list(references))
    except Exception as e:
        i, first = _first_failing_row(fn, prompts, responses, references)
        cause = first or e
        where = row(i) if first is not None else f"a batch of {n} responses (each row alone scores)"
        advice = "; a reward function must score any response (0, or None for no verdict)" if trial else ""
        raise RewardFunctionError(
            f"reward_fn {_name(fn)} raised {type(cause).__name__}: {cause}{_raised_at(cause, fn)} on {where}"
            f"{advice}"
        ) from e
    if isinstance(out, np.ndarray):
        out = out.tolist()
    if not isinstance(out, Sequence) or isinstance(out, (str, bytes)):
        raise RewardFunctionError(
            f"reward_fn {_name(fn)} returned {a_or_an(type(out).__name__)} for {n} responses ({call}); it "
            "must return a list of scores, one per response"
        )
    if len(out) != n:
        raise RewardFunctionError(
            f"reward_fn {_name(fn)} returned {len(out)} scores for {n} responses ({call}); it must return "
            "one per response"
        )
    rewards = np.zeros(n, dtype=np.float32)
    mask = np.ones(n, dtype=bool)
    status = np.full(n, maxrl_rs.STATUS_NAMES.index("incorrect"), dtype=np.uint8)
    for i, v in enumerate(out):
        if v is None:
            mask[i] = False
            status[i] = maxrl_rs.STATUS_NAMES.index("error")
            continue
        if isinstance(v, np.generic):
            v = v.item()
        if not isinstance(v, (int, float)) or not math.isfinite(v):
            raise RewardFunctionError(
                f"reward_fn {_name(fn)} returned {v!r} for {row(i)}; scores must be finite numbers or None"
            )
        if binary and v not in (0, 1):
            raise RewardFunctionError(
                f"reward_fn {_name(fn)} returned {v!r} for {row(i)}; algo.estimator 'maxrl' needs scores "
                "of 0 or 1 (None: no verdict); use another estimator for graded scores"
            )
        rewards[i] = float(v)
        if v == 1:
            status[i] = maxrl_rs.STATUS_NAMES.index("correct")
    return rewards, mask, status


def _raised_at(e: BaseException, fn: Any) -> str:
    """``" (at my_reward.py:5)"``: the deepest line of the function's own file in ``e``'s traceback (else the
    deepest line past the call), where a user looks first."""
    frames = traceback.extract_tb(e.__traceback__)[1:]  # the first frame is the call, in this module
    code = getattr(getattr(fn, "fn", fn), "__code__", None)
    own = [f for f in frames if code is not None and f.filename == code.co_filename]
    if not (own or frames):
        return ""
    frame = (own or frames)[-1]
    return f" (at {display_path(frame.filename)}:{frame.lineno})"


def _first_failing_row(
    fn: RewardFn, prompts: list[str], responses: list[str], references: list[str]
) -> tuple[int, Exception | None]:
    """The first row on which ``fn``, called one row at a time, raises, and its error (-1, None: none)."""
    for i in range(len(responses)):
        try:
            fn([prompts[i]], [responses[i]], [references[i]])
        except Exception as e:
            return i, e
    return -1, None
