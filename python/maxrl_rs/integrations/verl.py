"""verl integration: Rust-graded reward functions and a ``maxrl`` advantage estimator.

Reward functions (verl's custom reward function convention, see docs/integrations.md):

- :func:`compute_score` ``(data_source, solution_str, ground_truth, extra_info=None, **kwargs) -> dict`` for
  ``reward.custom_reward_function.path=pkg://maxrl_rs.integrations.verl`` with ``name=compute_score``
  (verl's reward loop calls it once per response);
- :func:`compute_score_batch` ``(data_sources, solution_strs, ground_truths, extra_infos, **kwargs) -> list``
  for verl's ``BatchRewardManager`` convention (``reward_model.reward_manager=batch`` in releases before the
  0.9 reward loop, or a custom manager): one Rust call per batch.

Both return ``{"score", "acc", "pred", "status"}`` per response. The verifier is the ``verifier`` keyword
(``custom_reward_function.reward_kwargs.verifier=...``) or, by default, chosen from the data source name;
any other keyword is a verifier option.

Advantage estimator: importing this module registers :func:`maxrl_outcome_advantage` as ``maxrl`` in
``verl.trainer.ppo.core_algos`` (``algorithm.adv_estimator=maxrl``). verl computes advantages in its
trainer process (a Ray actor), so the module must be imported there: set
``VERL_USE_EXTERNAL_MODULES=maxrl_rs.integrations.verl``, which ``import verl`` honours in every process.
Options come from the algorithm config: ``+algorithm.maxrl_order=<T>`` and
``+algorithm.maxrl_drop_all_fail=<bool>``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

import maxrl_rs
from maxrl_rs.errors import InvalidInputError
from maxrl_rs.integrations._grading import grade, scalar_text

#: Name under which the estimator is registered in verl.
ESTIMATOR_NAME = "maxrl"

#: First match wins: a data source containing the key (case-insensitive) is graded by the verifier.
DATA_SOURCE_VERIFIERS: tuple[tuple[str, str], ...] = (
    ("gsm8k", "gsm8k"),
    ("countdown", "countdown"),
    ("maze", "maze"),
)
#: Verifier for data sources that match none of the keys (MATH, AIME, AMC, DAPO-Math, NuminaMath, ...).
DEFAULT_VERIFIER = "math"

# Keywords verl's reward managers add for model-based rewards; not verifier options.
_VERL_EXTRA_KWARGS = frozenset({"reward_router_address", "reward_model_tokenizer"})


def verifier_for(data_source: Any) -> str:
    """The verifier for a verl ``data_source`` name (e.g. ``openai/gsm8k`` -> ``gsm8k``)."""
    name = str(data_source).lower()
    for key, verifier in DATA_SOURCE_VERIFIERS:
        if key in name:
            return verifier
    return DEFAULT_VERIFIER


def reference_text(verifier: str, ground_truth: Any) -> str:
    """verl's ``ground_truth`` as the verifier's reference text.

    Parquet columns arrive as NumPy arrays; a countdown ``{"target", "numbers"}`` mapping becomes JSON and a
    maze given as a list of rows becomes the rows joined by newlines (the formats in COMMON's contract); a
    number becomes its text as in ``maxrl grade`` (``3.0`` is ``3``), None or NaN ``""``.
    """
    gt = ground_truth.tolist() if isinstance(ground_truth, np.ndarray) else ground_truth
    if isinstance(gt, Mapping):
        return json.dumps({k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in gt.items()})
    if verifier == "maze" and isinstance(gt, (list, tuple)):
        return "\n".join(str(row) for row in gt)
    return scalar_text(gt)


def compute_score(
    data_source: Any,
    solution_str: str,
    ground_truth: Any,
    extra_info: Any = None,
    *,
    verifier: str | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Grade one response: verl's ``compute_score`` convention.

    Returns ``{"score": 1.0 | 0.0, "acc": 1.0 | 0.0, "pred": extracted answer or "", "status": name}``.
    ``status`` is one of ``maxrl_rs.STATUS_NAMES``; verl has no per-response mask, so a ``limit`` or ``error``
    scores 0 and is visible in the logged ``status`` column.
    """
    return compute_score_batch(
        [data_source], [solution_str], [ground_truth], [extra_info], verifier=verifier, **kwargs
    )[0]


def compute_score_batch(
    data_sources: Sequence[Any],
    solution_strs: Sequence[str],
    ground_truths: Sequence[Any],
    extra_infos: Sequence[Any] | None = None,
    *,
    verifier: str | None = None,
    **kwargs: Any,
) -> list[dict[str, Any]]:
    """Grade a batch: verl's ``batch`` reward manager convention. One Rust call per verifier in the batch."""
    n = len(solution_strs)
    if len(data_sources) != n or len(ground_truths) != n:
        raise InvalidInputError(
            f"got {len(data_sources)} data_sources, {n} solution_strs and {len(ground_truths)} "
            "ground_truths; they must be aligned"
        )
    options = {k: v for k, v in kwargs.items() if k not in _VERL_EXTRA_KWARGS}
    verifiers = [verifier or verifier_for(ds) for ds in data_sources]
    out: list[dict[str, Any]] = [{} for _ in range(n)]
    for name in dict.fromkeys(verifiers):
        idx = [i for i, v in enumerate(verifiers) if v == name]
        graded = grade(
            [solution_strs[i] for i in idx],
            [reference_text(name, ground_truths[i]) for i in idx],
            name,
            options,
        )
        for j, i in enumerate(idx):
            status = graded.status[j]
            out[i] = {
                "score": float(graded.scores[j]),
                "acc": 1.0 if status == "correct" else 0.0,
                "pred": graded.extracted[j] or "",
                "status": status,
            }
    return out


def _config_value(config: Any, key: str, default: Any) -> Any:
    """``key`` from verl's algorithm config (an OmegaConf DictConfig or a dataclass), else ``default``."""
    if config is None:
        return default
    getter = getattr(config, "get", None)
    if callable(getter):
        try:
            value = getter(key, default)
        except Exception:  # structured configs raise on unknown keys
            value = getattr(config, key, default)
    else:
        value = getattr(config, key, default)
    return default if value is None else value


def maxrl_outcome_advantage(
    token_level_rewards: Any,
    response_mask: Any,
    index: Any = None,
    config: Any = None,
    **kwargs: Any,
) -> tuple[Any, Any]:
    """MaxRL advantages for verl (docs/estimators.md; Tajwar et al. 2026, Algorithm 1), outcome rewards only.

    Args:
        token_level_rewards: ``[bs, L]`` rewards; a response's reward is their sum and must be 0 or 1
            (keep the KL out of the reward: ``algorithm.use_kl_in_reward=False``, the GRPO default).
        response_mask: ``[bs, L]`` mask of response tokens.
        index: ``[bs]`` prompt ids (verl's ``uid`` strings); responses sharing an id form a group.
        config: verl's algorithm config; reads ``maxrl_order`` (T, default N) and ``maxrl_drop_all_fail``
            (default True).
        **kwargs: other keywords verl passes to estimators (ignored).

    Returns:
        ``(advantages, returns)``, both ``[bs, L]``: each response's A_i broadcast over its response tokens.
    """
    import torch

    if index is None:
        raise InvalidInputError(
            "the maxrl estimator needs verl's uid index (data.non_tensor_batch['uid']) to group responses"
        )
    order = _config_value(config, "maxrl_order", None)
    drop_all_fail = bool(_config_value(config, "maxrl_drop_all_fail", True))
    with torch.no_grad():
        scores = token_level_rewards.sum(dim=-1)
        adv = maxrl_rs.advantages(
            scores,
            index,
            "maxrl",
            order=None if order is None else int(order),
            drop_all_fail=drop_all_fail,
        )
        advantages = adv.to(dtype=token_level_rewards.dtype).unsqueeze(-1) * response_mask
    return advantages, advantages


maxrl_outcome_advantage.__maxrl_rs_estimator__ = True  # type: ignore[attr-defined]


def register(name: str = ESTIMATOR_NAME) -> bool:
    """Register :func:`maxrl_outcome_advantage` in verl's estimator registry under ``name``.

    Returns False when verl is not installed. Safe to call repeatedly, also when verl has loaded this file a
    second time under another module name (``custom_reward_function.path`` as a file path does that).
    """
    try:
        from verl.trainer.ppo import core_algos
    except ImportError:
        return False
    registry = getattr(core_algos, "ADV_ESTIMATOR_REGISTRY", None)
    existing = registry.get(name) if isinstance(registry, dict) else None
    if existing is not None and getattr(existing, "__maxrl_rs_estimator__", False):
        return True
    core_algos.register_adv_est(name)(maxrl_outcome_advantage)
    return True


register()

__all__ = [
    "DATA_SOURCE_VERIFIERS",
    "DEFAULT_VERIFIER",
    "ESTIMATOR_NAME",
    "compute_score",
    "compute_score_batch",
    "maxrl_outcome_advantage",
    "register",
    "verifier_for",
]
