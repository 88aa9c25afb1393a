"""``MaxRLGRPOTrainer``: TRL's GRPOTrainer with MaxRL advantages (Tajwar et al. 2026, Algorithm 1;
docs/estimators.md).

TRL has no hook for the advantage estimator, so the trainer overrides the two narrowest methods around it and
leaves generation, the loss and logging to TRL:

- ``_calculate_rewards`` is called once per generation batch and returns ``rewards_per_func``, already
  gathered across processes (TRL gathers because groups can straddle processes). The override records it.
- ``_generate_and_score_completions`` returns the local batch with TRL's GRPO ``advantages``. The override
  recomputes them with ``maxrl_rs.advantages(..., "maxrl")`` on the gathered rewards, grouping G =
  ``num_generations`` consecutive completions per prompt, and slices this process's rows exactly as TRL
  does (``process_index * local_batch`` onwards).

The trainer checks both methods at construction and the captured shapes at every batch, and raises a
``RuntimeError`` naming the TRL version when they do not match what it was written against.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import numpy as np
import torch
import trl
from trl import GRPOTrainer

import maxrl_rs
from maxrl_rs.errors import InvalidInputError

#: TRL versions whose GRPOTrainer has the two methods overridden here with the behaviour described above
#: (read from the sources of 0.20, 0.23, 0.26, 1.0, 1.8 and 1.16; the tests run against the installed one).
TRL_TESTED_RANGE = ">=0.20,<2"

_EXPECTED_SIGNATURES = {
    "_calculate_rewards": ("inputs", "prompts", "completions", "completion_ids_list"),
    "_generate_and_score_completions": ("inputs",),
}


def _internals_changed(what: str) -> RuntimeError:
    return RuntimeError(
        f"MaxRLGRPOTrainer cannot hook trl {trl.__version__}: {what}. It supports trl{TRL_TESTED_RANGE}, "
        "whose GRPOTrainer computes the gathered rewards in _calculate_rewards and the local advantages in "
        "_generate_and_score_completions. Pin trl to that range."
    )


def check_trl_internals(trainer_cls: type = GRPOTrainer) -> None:
    """Raise a clear ``RuntimeError`` if the installed TRL lacks the methods this trainer overrides."""
    for method, params in _EXPECTED_SIGNATURES.items():
        fn = getattr(trainer_cls, method, None)
        if fn is None:
            raise _internals_changed(f"GRPOTrainer has no method {method}")
        got = tuple(inspect.signature(fn).parameters)[1 : 1 + len(params)]
        if got != params:
            raise _internals_changed(f"GRPOTrainer.{method} takes {got}, expected {params}")


def maxrl_global_advantages(
    rewards_per_func: torch.Tensor,
    reward_weights: torch.Tensor,
    num_generations: int,
    *,
    order: int | None = None,
    drop_all_fail: bool = True,
    reward_threshold: float | None = None,
) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """MaxRL advantages of a gathered generation batch laid out as TRL lays it out.

    Args:
        rewards_per_func: ``[B_global, F]`` rewards of each reward function (NaN where a function returned
            ``None``), rows ordered so that each prompt's ``num_generations`` completions are consecutive.
        reward_weights: ``[F]`` weights; the reward of a completion is the weighted sum of its non-NaN
            entries, as in TRL's ``sum_then_normalize`` aggregation.
        num_generations: G, completions per prompt.
        order, drop_all_fail: forwarded to ``maxrl_rs.advantages`` (docs/estimators.md;
            defaults: Algorithm 1). A group left with N_g < ``order`` scorable completions uses order N_g
            (``clamp_order``).
        reward_threshold: if set, a reward >= threshold counts as a success (MaxRL needs 0/1 rewards).

    Returns:
        ``(advantages [B_global] float32 on rewards_per_func's device, rewards float64, scorable bool)``.
        A completion for which every reward function returned ``None`` is not scorable: it gets A = 0 and is
        not counted in its group's N or K.
    """
    n = rewards_per_func.shape[0]
    if num_generations < 1 or n % num_generations:
        raise InvalidInputError(f"{n} completions cannot form groups of num_generations={num_generations}")
    per_func = rewards_per_func.detach().to("cpu", torch.float64)
    weights = reward_weights.detach().to("cpu", torch.float64)
    scorable = ~torch.isnan(per_func).all(dim=1)
    rewards = (per_func * weights.unsqueeze(0)).nansum(dim=1)
    if reward_threshold is not None:
        rewards = (rewards >= reward_threshold).to(torch.float64)
    r = rewards.numpy()
    mask = scorable.numpy()
    bad = np.flatnonzero(mask & (r != 0.0) & (r != 1.0))
    if bad.size:
        i = int(bad[0])
        raise InvalidInputError(
            f"MaxRL needs 0/1 rewards, but completion {i} of the gathered batch has reward {float(r[i])!r} "
            "(the weighted sum of its reward functions); use 0/1 reward functions or pass reward_threshold="
        )
    group_ids = np.arange(n, dtype=np.int64) // num_generations
    adv = maxrl_rs.advantages(
        r,
        group_ids,
        "maxrl",
        order=order,
        clamp_order=order is not None,
        drop_all_fail=drop_all_fail,
        mask=mask,
    )
    return torch.from_numpy(np.asarray(adv, dtype=np.float32)).to(rewards_per_func.device), r, mask


class MaxRLGRPOTrainer(GRPOTrainer):
    """``trl.GRPOTrainer`` whose advantages are MaxRL's instead of GRPO's (docs/estimators.md).

    With the defaults (T = N = ``num_generations``, ``drop_all_fail=True``) a successful completion gets
    N/K − 1, a failed one −1, and groups with no or only successes get 0: the paper's Algorithm 1. Everything
    else (generation, loss, KL, clipping, logging) is TRL's; ``scale_rewards`` and
    ``multi_objective_aggregation`` do not apply because the advantage is not a normalised reward.

    Args:
        *args, **kwargs: as for ``GRPOTrainer``.
        order: MaxRL truncation order T (1 <= T <= num_generations); ``None`` means T = N.
        drop_all_fail: all-fail groups get 0 (True) or −1 (False, the paper's Eq. 10).
        reward_threshold: binarise the summed reward (>= threshold is a success); by default the rewards must
            already be 0 or 1.

    Supports ``trl>=0.20,<2`` (``TRL_TESTED_RANGE``); raises ``RuntimeError`` at construction if the methods
    it overrides are missing or changed.
    """

    # TRL annotates this ``int | None``, but GRPOConfig rejects None, so the trainer always holds an int.
    num_generations: int

    def __init__(
        self,
        *args: Any,
        order: int | None = None,
        drop_all_fail: bool = True,
        reward_threshold: float | None = None,
        **kwargs: Any,
    ) -> None:
        check_trl_internals()
        if order is not None and (isinstance(order, bool) or not isinstance(order, int) or order < 1):
            raise InvalidInputError(f"order must be a positive integer or None, got {order!r}")
        super().__init__(*args, **kwargs)
        if order is not None and order > self.num_generations:
            raise InvalidInputError(f"order={order} exceeds num_generations={self.num_generations}")
        if getattr(self.args, "multi_objective_aggregation", "sum_then_normalize") != "sum_then_normalize":
            warnings.warn(
                "MaxRLGRPOTrainer sums the weighted rewards and ignores multi_objective_aggregation",
                stacklevel=2,
            )
        self.maxrl_order = order
        self.maxrl_drop_all_fail = bool(drop_all_fail)
        self.maxrl_reward_threshold = reward_threshold
        self._maxrl_captured: tuple[torch.Tensor, int] | None = None

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):  # type: ignore[override]
        rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        self._maxrl_captured = (rewards_per_func, len(prompts))
        return rewards_per_func

    def _generate_and_score_completions(self, inputs):  # type: ignore[override]
        self._maxrl_captured = None
        output = super()._generate_and_score_completions(inputs)
        captured, self._maxrl_captured = self._maxrl_captured, None
        if captured is None:
            raise _internals_changed("_generate_and_score_completions did not call _calculate_rewards")
        rewards_per_func, local_n = captured
        grpo_adv = output.get("advantages") if isinstance(output, dict) else None
        if not isinstance(grpo_adv, torch.Tensor) or grpo_adv.dim() != 1 or grpo_adv.shape[0] != local_n:
            raise _internals_changed(
                f"the returned batch has no 1-D 'advantages' of the local batch size {local_n}"
            )
        n_global = rewards_per_func.shape[0]
        n_procs = self.accelerator.num_processes
        if n_global != local_n * n_procs:
            raise _internals_changed(
                f"gathered rewards have {n_global} rows, expected {local_n} per process x {n_procs} processes"
            )

        mode = "train" if self.model.training else "eval"
        group_size, order = self.num_generations, self.maxrl_order
        if mode == "eval":
            # Evaluation may sample fewer completions per prompt; its loss is only logged.
            group_size = getattr(self, "num_generations_eval", None) or self.num_generations
            order = None if order is None else min(order, group_size)
        adv, rewards, scorable = maxrl_global_advantages(
            rewards_per_func,
            self.reward_weights,
            group_size,
            order=order,
            drop_all_fail=self.maxrl_drop_all_fail,
            reward_threshold=self.maxrl_reward_threshold,
        )
        # The same slice TRL takes of its own advantages.
        start = self.accelerator.process_index * local_n
        output["advantages"] = adv[start : start + local_n].to(device=grpo_adv.device, dtype=grpo_adv.dtype)
        self._maxrl_log(mode, adv, rewards, scorable, group_size, order)
        return output

    def _maxrl_log(
        self,
        mode: str,
        adv: torch.Tensor,
        rewards: np.ndarray,
        scorable: np.ndarray,
        group_size: int,
        order: int | None,
    ) -> None:
        """Replace the GRPO advantages TRL logged for this batch, and log the batch's group statistics."""
        logged = getattr(self, "_logs", {}).get("advantages")
        if logged is not None and hasattr(logged, "pop"):
            for _ in range(min(len(logged), adv.shape[0])):
                logged.pop()
            logged.extend(adv.tolist())
        metrics = getattr(self, "_metrics", {}).get(mode)
        if metrics is not None:
            ids = np.arange(rewards.shape[0], dtype=np.int64) // group_size
            stats = maxrl_rs.group_stats(rewards, ids, mask=scorable)
            summary = stats.summary()
            for key in ("frac_all_fail", "frac_all_success", "solved_fraction"):
                metrics.setdefault(f"maxrl/{key}", []).append(float(summary[key]))
            metrics.setdefault("maxrl/order_clamped_groups", []).append(float(stats.order_clamped(order)))


__all__ = ["TRL_TESTED_RANGE", "MaxRLGRPOTrainer", "check_trl_internals", "maxrl_global_advantages"]
