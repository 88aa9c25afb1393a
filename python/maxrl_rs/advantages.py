"""Per-rollout advantages and per-group statistics (docs/estimators.md), computed in Rust.

The estimate of one group's policy gradient is ĝ = (1/N) Σ_i A_i ∇log π(y_i | x) with A_i from
:func:`advantages`, broadcast to every token of rollout i.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from maxrl_rs import _core
from maxrl_rs._arrays import (
    float_array,
    id_array,
    id_array_with_labels,
    is_torch_tensor,
    mask_array,
    relabel_groups,
    to_numpy,
)

ESTIMATORS: tuple[str, ...] = tuple(_core.ESTIMATORS)
"""Estimator names :func:`advantages` accepts."""


def advantages(
    rewards: Any,
    group_ids: Any,
    estimator: str = "maxrl",
    *,
    order: int | None = None,
    drop_all_fail: bool = True,
    eps: float = 1e-6,
    std: str = "sample",
    mask: Any = None,
) -> Any:
    """Advantage A_i of every rollout, aligned with the input.

    Args:
        rewards: 1-D rewards (list, NumPy array or torch tensor). ``maxrl`` needs 0/1 rewards.
        group_ids: 1-D prompt ids, one per rollout, in any order (groups need not be contiguous). Integers,
            or any hashable values such as verl's uuid strings.
        estimator: ``maxrl`` (default), ``grpo``, ``rloo``, ``dr_grpo`` or ``reinforce``.
        order: MaxRL truncation order T (1 <= T <= N); ``None`` means T = N for each group, which is the
            paper's Algorithm 1: successes get N/K − 1, failures −1.
        drop_all_fail: MaxRL groups without a success get 0 (True, the paper's practical estimator, unbiased
            for order N − 1) or −1 (False, the paper's Eq. 10, unbiased for order N).
        eps: GRPO's ε in (r − r̄)/(s + ε).
        std: GRPO's s: ``"sample"`` (Bessel, torch.std's default, as verl) or ``"population"``.
        mask: optional 1-D booleans; False rollouts get A = 0 and are not counted in N or K.

    Returns:
        A NumPy array (or a torch tensor on the input's device, if rewards is a tensor) with the dtype of
        ``rewards`` when it is floating point, float64 otherwise. Groups of one get 0 for the baseline
        estimators (never r/ε).

    Raises:
        InvalidInputError (a ValueError): mismatched lengths, empty input, non-finite rewards, non-binary
        rewards for ``maxrl``, an order outside 1..N for some group, an unknown estimator.
    """
    src = rewards
    r = float_array(rewards, "rewards")
    g, labels = id_array_with_labels(group_ids)
    # The core checks lengths and values; it reads order as an integer, so other types stop here.
    if order is not None and (isinstance(order, bool) or not isinstance(order, (int, np.integer))):
        raise _core.InvalidInputError(f"order must be a positive integer or None, got {order!r}")
    m = mask_array(mask)
    try:
        out = _core.advantages(
            r, g, str(estimator), order, bool(drop_all_fail), float(eps), str(std), m, np.empty_like(r)
        )
    except _core.InvalidInputError as e:
        raise relabel_groups(e, labels) from None
    return _like(out, src)


def _like(out: np.ndarray, src: Any) -> Any:
    """Return ``out`` in the caller's container and float dtype."""
    if is_torch_tensor(src):
        import torch

        dtype = src.dtype if src.is_floating_point() else torch.float64
        return torch.from_numpy(out).to(device=src.device, dtype=dtype)
    dt = to_numpy(src).dtype if isinstance(src, np.ndarray) else np.dtype(np.float64)
    return out.astype(dt, copy=False) if dt.kind == "f" else out


@dataclass(frozen=True)
class GroupStats:
    """Per-group statistics of a batch of rollouts (groups in ascending id order).

    ``k`` counts unmasked rollouts with reward > 0; ``mean`` is the mean unmasked reward (NaN when a group's
    rollouts are all masked). Summaries count only groups with at least one unmasked rollout.
    """

    ids: np.ndarray
    n: np.ndarray
    k: np.ndarray
    mean: np.ndarray

    @property
    def groups(self) -> int:
        return int(np.count_nonzero(self.n))

    @property
    def empty(self) -> int:
        return int(np.count_nonzero(self.n == 0))

    @property
    def singletons(self) -> int:
        return int(np.count_nonzero(self.n == 1))

    @property
    def all_fail(self) -> int:
        return int(np.count_nonzero((self.n > 0) & (self.k == 0)))

    @property
    def all_success(self) -> int:
        return int(np.count_nonzero((self.n > 0) & (self.k == self.n)))

    @property
    def solved_fraction(self) -> float:
        """Fraction of groups with at least one success (the batch's pass@N)."""
        return (self.groups - self.all_fail) / self.groups if self.groups else float("nan")

    def summary(self) -> dict[str, float]:
        """Batch summaries, ready for a metrics log."""
        g = max(self.groups, 1)
        return {
            "groups": self.groups,
            "singletons": self.singletons,
            "all_fail": self.all_fail,
            "all_success": self.all_success,
            "frac_all_fail": self.all_fail / g,
            "frac_all_success": self.all_success / g,
            "solved_fraction": self.solved_fraction,
        }


def group_stats(rewards: Any, group_ids: Any, mask: Any = None) -> GroupStats:
    """Group rollouts by id and count N, K and the mean reward of each group."""
    r = float_array(rewards, "rewards")
    g = id_array(group_ids)
    m = mask_array(mask)
    ids, n, k, mean = _core.group_stats(r, g, m)
    return GroupStats(ids=ids, n=n, k=k, mean=mean)
