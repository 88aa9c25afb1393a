"""Rewards from a user's Python function (``task.dataset.reward_fn``), in place of the built-in verifiers.

``reward_fn = "package.module:function"`` (importable) or ``"path/to/file.py:function"`` (a path relative to
the working directory, or absolute). The function is called once per batch of responses::

    function(prompts: list[str], responses: list[str], references: list[str]) -> list[float | None]

with one entry per response: a score, or None for "no verdict" (the rollout is masked out of advantages and
loss, like a verifier's ``limit`` or ``error``; docs/estimators.md, "Masked rollouts"). Under
``algo.estimator = "maxrl"`` scores must be 0 or 1 (the estimator is defined for pass/fail rewards); the
other estimators take any finite score. A score of 1 has status ``correct``, any other score ``incorrect``,
None ``error``.

Errors name the function and the row: a wrong length, a score that is not a number, a non-binary score
under maxrl, and an exception raised by the function (which is then called row by row to find the first
row that raises).
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from maxrl_rs.errors import ConfigError

RewardFn = Callable[[list[str], list[str], list[str]], Sequence[Any]]


class RewardFunctionError(RuntimeError):
    """The user's reward function raised or returned something unusable; the message names it and the row."""


def load_reward_fn(spec: str, key: str = "task.dataset.reward_fn") -> RewardFn:
    """The function ``spec`` names (``module:function`` or ``file.py:function``).

    Raises ConfigError naming ``key`` when it cannot be imported or is not callable.
    """
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"{key}: {spec!r} must look like 'package.module:function' or 'file.py:function'")
    if module_name.endswith(".py") or "/" in module_name or "\\" in module_name:
        path = Path(module_name).expanduser()
        if not path.is_file():
            raise ConfigError(f"{key}: file {str(path)!r} does not exist")
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
    else:
        try:
            module = importlib.import_module(module_name)
        except ImportError as e:
            raise ConfigError(f"{key}: cannot import module {module_name!r} ({e})") from e
    fn = getattr(module, attr, None)
    if fn is None:
        raise ConfigError(f"{key}: {module_name!r} has no attribute {attr!r}")
    if not callable(fn):
        raise ConfigError(f"{key}: {spec!r} is a {type(fn).__name__}, not a function")
    return fn


def _name(fn: Any) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def call_reward_fn(
    fn: RewardFn,
    prompts: list[str],
    responses: list[str],
    references: list[str],
    *,
    binary: bool,
    ids: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rewards [R] float32, mask [R] bool, status [R] uint8)`` from one call of ``fn`` on the batch.

    ``ids``: the examples' ids, named with a failing row. Raises :class:`RewardFunctionError`.
    """
    import maxrl_rs

    n = len(responses)
    where = (lambda i: f"row {i} (example {ids[i]!r})") if ids is not None else (lambda i: f"row {i}")
    try:
        out = fn(list(prompts), list(responses), list(references))
    except Exception as e:
        raise RewardFunctionError(
            f"reward_fn {_name(fn)} raised {type(e).__name__}: {e} on a batch of {n} responses"
            f"{_first_failing_row(fn, prompts, responses, references, where)}"
        ) from e
    if isinstance(out, np.ndarray):
        out = out.tolist()
    if not isinstance(out, Sequence) or isinstance(out, (str, bytes)):
        raise RewardFunctionError(
            f"reward_fn {_name(fn)} returned a {type(out).__name__}; it must return a list of {n} scores"
        )
    if len(out) != n:
        raise RewardFunctionError(f"reward_fn {_name(fn)} returned {len(out)} scores for {n} responses")
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
                f"reward_fn {_name(fn)} returned {v!r} for {where(i)}; scores must be finite numbers or None"
            )
        if binary and v not in (0, 1):
            raise RewardFunctionError(
                f"reward_fn {_name(fn)} returned {v!r} for {where(i)}; algo.estimator 'maxrl' needs scores "
                "of 0 or 1 (None: no verdict); use another estimator for graded scores"
            )
        rewards[i] = float(v)
        if v == 1:
            status[i] = maxrl_rs.STATUS_NAMES.index("correct")
    return rewards, mask, status


def _first_failing_row(
    fn: RewardFn,
    prompts: list[str],
    responses: list[str],
    references: list[str],
    where: Callable[[int], str],
) -> str:
    """``"; row i (...) raises it first"`` found by calling ``fn`` one row at a time (or "" if none does)."""
    for i in range(len(responses)):
        try:
            fn([prompts[i]], [responses[i]], [references[i]])
        except Exception as e:
            return f"; called row by row, {where(i)} raises first ({type(e).__name__}: {e})"
    return ""
