"""Per-rollout advantages and per-group statistics (docs/estimators.md), computed in Rust.

The estimate of one group's policy gradient is ĝ = (1/N) Σ_i A_i ∇log π(y_i | x) with A_i from
:func:`advantages`, broadcast to every token of rollout i.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from maxrl_rs import _core
from maxrl_rs._arrays import float_array, is_torch_tensor, mask_array, to_numpy
from maxrl_rs._group_ids import group_ids as _group_ids
from maxrl_rs._group_ids import relabel_groups
from maxrl_rs.errors import InvalidInputError

ESTIMATORS: tuple[str, ...] = tuple(_core.ESTIMATORS)
"""Estimator names :func:`advantages` accepts."""

#: The keyword options of :func:`advantages` that only some estimators read: (default, estimators).
ESTIMATOR_OPTIONS: dict[str, tuple[Any, tuple[str, ...]]] = {
    "order": (None, ("maxrl",)),
    "clamp_order": (False, ("maxrl",)),
    "drop_all_fail": (True, ("maxrl",)),
    "eps": (1e-6, ("grpo",)),
    "std": ("sample", ("grpo",)),
}


def estimator_name(estimator: Any) -> str:
    """The canonical name of ``estimator`` (case and ``-``/``_`` ignored, ``drgrpo`` for ``dr_grpo``), as the
    core reads it; an unknown name is returned as given, for the caller's error to list the known ones."""
    return _core.estimator_name(str(estimator))


def check_estimator_options(name: str, **options: Any) -> None:
    """Refuse an option of :data:`ESTIMATOR_OPTIONS` set away from its default for the estimator ``name`` (as
    :func:`estimator_name` gives it) when that estimator does not read it: it would be ignored without a word.
    The default itself is accepted for every estimator.

    Raises:
        InvalidInputError: naming the option, its value, the estimator and those the option applies to.
    """
    for key, value in options.items():
        default, applies = ESTIMATOR_OPTIONS[key]
        if name not in applies and not _is_default(value, default):
            err = InvalidInputError(
                f"{key}={value!r} does not apply to the {name} estimator, only to {', '.join(applies)}; "
                f"leave it at its default ({default!r})"
            )
            err.name = key
            raise err


def _is_default(value: Any, default: Any) -> bool:
    if default is None or isinstance(default, bool):
        return value is default or (default is True and isinstance(value, np.bool_) and bool(value))
    try:
        return bool(value == default)
    except (TypeError, ValueError):
        return False


def advantages(
    rewards: Any,
    group_ids: Any,
    estimator: str = "maxrl",
    *,
    order: int | None = None,
    clamp_order: bool = False,
    drop_all_fail: bool = True,
    eps: float = 1e-6,
    std: str = "sample",
    mask: Any = None,
) -> Any:
    """Advantage A_i of every rollout, aligned with the input.

    Args:
        rewards: 1-D rewards (list, NumPy array or torch tensor). ``maxrl`` needs 0/1 rewards.
        group_ids: 1-D prompt ids, one per rollout, in any order (groups need not be contiguous). Integers,
            or any hashable values such as verl's uuid strings or tuples. Two rollouts share a group exactly
            when their ids are equal in Python (so ``1``, ``1.0`` and ``True`` are one id; ``1`` and ``"1"``,
            or ``None`` and ``"None"``, are two).
        estimator: ``maxrl`` (default), ``grpo``, ``rloo``, ``dr_grpo`` or ``reinforce``.
        order: MaxRL truncation order T (1 <= T <= N); ``None`` means T = N for each group, which is the
            paper's Algorithm 1: successes get N/K − 1, failures −1. ``maxrl`` only.
        clamp_order: with ``order=T``, a group left with 0 < N_g < T unmasked rollouts uses order N_g (as
            ``order=None`` would) instead of raising; groups with N_g >= T are unchanged, bit for bit. For
            masks decided at run time (no verdict, truncation), where a valid T can exceed a group's N_g.
            ``maxrl`` only.
        drop_all_fail: MaxRL groups without a success get 0 (True, the paper's practical estimator, unbiased
            for order N − 1) or −1 (False, the paper's Eq. 10, unbiased for order N). ``maxrl`` only.
        eps: GRPO's ε in (r − r̄)/(s + ε). ``grpo`` only.
        std: GRPO's s: ``"sample"`` (Bessel, torch.std's default, as verl) or ``"population"``. ``grpo`` only.
        mask: optional 1-D booleans (or 0/1); False rollouts get A = 0 and are not counted in N or K.

    Returns:
        A NumPy array (or a torch tensor on the input's device, if rewards is a tensor) with the dtype of
        ``rewards`` when it is floating point, float64 otherwise. Groups of one get 0 for the baseline
        estimators (never r/ε).

    Raises:
        InvalidInputError (a ValueError): mismatched lengths, empty input, non-finite rewards, non-binary
        rewards for ``maxrl``, an order outside 1..N for some group (above N only without ``clamp_order``),
        an unknown estimator, an option set for an estimator that does not read it (``order`` with
        ``grpo``), a NaN or unhashable group id, a mask value other than a boolean, 0 or 1.
    """
    src = rewards
    name = estimator_name(estimator)
    if name in ESTIMATORS:  # else the core refuses it, listing the known estimators
        check_estimator_options(
            name, order=order, clamp_order=clamp_order, drop_all_fail=drop_all_fail, eps=eps, std=std
        )
    r = float_array(rewards, "rewards")
    ids = _group_ids(group_ids)
    # The core checks lengths and values; it reads order as an integer and drop_all_fail as a bool, so
    # other types stop here rather than being read as something else.
    if order is not None and (isinstance(order, bool) or not isinstance(order, (int, np.integer))):
        raise InvalidInputError(f"order must be a positive integer or None, got {order!r}")
    for key, flag in (("drop_all_fail", drop_all_fail), ("clamp_order", clamp_order)):
        if not isinstance(flag, (bool, np.bool_)):
            raise InvalidInputError(f"{key} must be True or False, got {flag!r}")
    m = mask_array(mask)

    def run(t: int | None, keep: np.ndarray | None) -> np.ndarray:
        try:
            return _core.advantages(
                r,
                ids.codes,
                str(estimator),
                t,
                bool(drop_all_fail),
                float(eps),
                str(std),
                keep,
                np.empty_like(r),
            )
        except InvalidInputError as e:
            raise _with_clamp_hint(relabel_groups(e, ids)) from None

    short = _short_groups(ids.codes, m, order, r.shape[0]) if clamp_order and order is not None else None
    if short is None or not short.any():
        return _like(run(order, m), src)
    # Each group is estimated by one call and masked (A = 0) in the other; every row takes its own group's.
    kept = np.ones(r.shape, dtype=bool) if m is None else m
    out = np.where(short, run(None, kept & short), run(order, kept & ~short))
    return _like(out, src)


def _short_groups(codes: np.ndarray, mask: np.ndarray | None, order: int, n: int) -> np.ndarray | None:
    """Per rollout: its group has fewer than ``order`` unmasked rollouts (``codes`` as the core groups by).
    None when the lengths differ from the ``n`` rewards: the core's error names the mismatch."""
    if codes.shape != (n,) or (mask is not None and mask.shape != (n,)):
        return None
    _, inverse = np.unique(codes, return_inverse=True)
    sizes = np.bincount(inverse, weights=None if mask is None else mask.astype(np.float64))
    return sizes[inverse] < order


def _with_clamp_hint(err: InvalidInputError) -> InvalidInputError:
    """A core error of an order larger than some group's N, with the keyword that clamps it."""
    if err.name != "order" or err.group is None:
        return err
    out = type(err)(
        f"{err}; or pass clamp_order=True to use order N_g in groups left with N_g < T unmasked rollouts"
    )
    out.index, out.group, out.name = err.index, err.group, err.name
    return out


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
    """Per-group statistics of a batch of rollouts.

    ``ids`` are the callers' group ids, one per group, in ascending order when they can be ordered (numbers,
    strings, tuples of them; integral floats come back as int64), else in order of first appearance.

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

    def order_clamped(self, order: int | None) -> int:
        """Groups with 0 < N < ``order`` unmasked rollouts, which :func:`advantages` with ``clamp_order``
        estimates at order N instead of ``order`` (0 for ``order=None``, where T = N already)."""
        return 0 if order is None else int(np.count_nonzero((self.n > 0) & (self.n < order)))

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
    """Group rollouts by id (as :func:`advantages` does) and count N, K and the mean reward of each group.

    Raises:
        InvalidInputError: as :func:`advantages` for lengths, rewards, group ids and the mask.
    """
    r = float_array(rewards, "rewards")
    ids = _group_ids(group_ids).ascending()
    m = mask_array(mask)
    try:
        codes, n, k, mean = _core.group_stats(r, ids.codes, m)
    except InvalidInputError as e:
        raise relabel_groups(e, ids) from None
    return GroupStats(ids=codes if ids.labels is None else ids.labels[codes], n=n, k=k, mean=mean)
