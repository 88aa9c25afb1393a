"""Unbiased pass@k, the MaxRL objective from samples, and population weights (docs/estimators.md)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from maxrl_rs import _core
from maxrl_rs._arrays import count_array
from maxrl_rs.errors import InvalidInputError


def _broadcast(*xs: Any, names: tuple[str, ...]) -> tuple[tuple[int, ...], list[np.ndarray]]:
    arrays = [count_array(x, name) for x, name in zip(xs, names)]
    try:
        b = np.broadcast_arrays(*arrays)
    except ValueError as e:
        raise InvalidInputError(f"{', '.join(names)} do not broadcast: {e}") from None
    return b[0].shape, [np.ascontiguousarray(a.ravel()) for a in b]


def _scalar_or_array(out: np.ndarray, shape: tuple[int, ...]) -> Any:
    return float(out[0]) if shape == () else out.reshape(shape)


def pass_at_k(n: Any, c: Any, k: Any) -> Any:
    """Unbiased pass@k = 1 − C(n − c, k)/C(n, k) from n samples with c correct (docs/estimators.md).

    Scalars give a float, arrays broadcast and give an array. Stable for n in the thousands.
    """
    shape, (n_, c_, k_) = _broadcast(n, c, k, names=("n", "c", "k"))
    return _scalar_or_array(_core.pass_at_k(n_, c_, k_), shape)


class PassAtKCurve(NamedTuple):
    """Mean pass@k over prompts: ``ks`` and ``values``, aligned."""

    ks: np.ndarray
    values: np.ndarray


def pass_at_k_curve(n: Any, c: Any, ks: Any = None) -> PassAtKCurve:
    """Mean unbiased pass@k over prompts; ``n`` and ``c`` are per prompt, ``ks`` defaults to 1..min(n).

    Raises:
        InvalidInputError: no prompt, counts that are not integers or outside 0 <= c <= n, a k outside 1..n
            of some prompt (naming it).
    """
    _, (n_, c_) = _broadcast(n, c, names=("n", "c"))
    ks_ = None if ks is None else np.ascontiguousarray(np.atleast_1d(count_array(ks, "ks")).ravel())
    return PassAtKCurve(*_core.pass_at_k_curve(n_, c_, ks_))


def maxrl_objective(n: Any, c: Any, order: Any) -> Any:
    """Unbiased J^(T) = −Σ_{k=1}^{T} fail@k / k from n samples with c correct (docs/estimators.md).

    J^(1) = pass@1 − 1; as T grows it approaches log p, the maximum-likelihood objective.
    """
    shape, (n_, c_, t_) = _broadcast(n, c, order, names=("n", "c", "order"))
    return _scalar_or_array(_core.maxrl_objective(n_, c_, t_), shape)


def population_weight(p: Any, estimator: str, order: int | None = None) -> Any:
    """Weight w(p) in each method's expected gradient E_x[w(p)·∇p] (docs/estimators.md).

    ``reinforce``/``rloo``/``dr_grpo``: 1; ``grpo``: 1/sqrt(p(1 − p)); ``maxrl`` of order T:
    (1 − (1 − p)^T)/p, or 1/p when ``order`` is None (the maximum-likelihood limit); ``ml``: 1/p.

    Raises:
        InvalidInputError: p outside (0, 1], an unknown estimator, or ``order`` with an estimator other than
            ``maxrl``.
    """
    arr = np.asarray(p, dtype=np.float64)
    if np.any((arr <= 0) | (arr > 1)) or not np.all(np.isfinite(arr)):
        i = int(np.flatnonzero(~((arr > 0) & (arr <= 1))).ravel()[0]) if arr.ndim else 0
        raise InvalidInputError(f"p must lie in (0, 1], got {arr.ravel()[i]!r} at index {i}")
    from maxrl_rs.advantages import check_estimator_options, estimator_name

    name = estimator_name(estimator)
    name = name if name in _core.ESTIMATORS else str(estimator).lower()
    check_estimator_options(name, order=order)
    if name in ("reinforce", "rloo", "dr_grpo", "rl"):
        w = np.ones_like(arr)
    elif name == "grpo":
        with np.errstate(divide="ignore"):
            w = 1.0 / np.sqrt(arr * (1.0 - arr))
    elif name == "ml" or (name == "maxrl" and order is None):
        w = 1.0 / arr
    elif name == "maxrl" and order is not None:
        if int(order) < 1:
            raise InvalidInputError(f"order must be >= 1, got {order}")
        # Σ_{k=1}^{T} (1 − p)^{k−1}, written via expm1/log1p to stay accurate for small p.
        w = -np.expm1(int(order) * np.log1p(-arr)) / arr
    else:
        known = ", ".join([*_core.ESTIMATORS, "ml"])
        raise InvalidInputError(f"unknown estimator {estimator!r}; known: {known}")
    return float(w) if np.ndim(w) == 0 else w
