"""Held-out pass@k during training: ``samples`` responses per held-out prompt, graded and averaged.

The sampling, grading and counting are :func:`maxrl_rs.evaluation.sampling.sample_counts`, the path of
``maxrl eval``, so a checkpoint gets the same numbers from both for the same seed and samples. Sampling runs
under a forked, fixed-seed torch RNG, so evaluating never shifts the training run's random stream (a run
with evaluations every 10 steps trains exactly like one without) and a checkpoint always gets the same score.
"""

from __future__ import annotations

from typing import Any

from maxrl_rs.evaluation.sampling import sample_counts
from maxrl_rs.passk import pass_at_k_curve
from maxrl_rs.rollout.base import RolloutBackend
from maxrl_rs.tasks.base import Example, Task


def heldout_pass_at_k(
    backend: RolloutBackend,
    task: Task,
    tokenizer: Any,
    examples: list[Example],
    *,
    samples: int = 4,
    temperature: float = 1.0,
    top_p: float = 1.0,
    top_k: int = 0,
    min_p: float = 0.0,
    max_new_tokens: int = 64,
    seed: int = 0,
) -> dict[str, float]:
    """``{"eval/pass@1": ..., "eval/pass@<samples>": ..., "eval/response_len": ..., "eval/unscored": ...}``.

    pass@k is the unbiased estimate (docs/estimators.md) averaged over prompts, as ``maxrl eval`` reports it;
    with ``temperature`` 0 (greedy) one response per prompt is drawn and pass@1 is the greedy success rate.
    Responses without a verdict are left out of their prompt's n (``eval/unscored`` counts them); pass@k is
    NaN when no prompt kept a graded response, and pass@<samples> is NaN when some prompt kept fewer than
    ``samples``.
    """
    n = 1 if temperature == 0 else samples
    counts = sample_counts(
        backend,
        task,
        tokenizer,
        examples,
        n=n,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_p=top_p,
        top_k=top_k,
        min_p=min_p,
        seed=seed,
        prompts_per_call=None,  # one call: the backend splits it by its batch size, as for training
    )
    keep = counts.kept
    ks = [1, n] if n > 1 else [1]
    values = dict.fromkeys(ks, float("nan"))
    if keep.any():
        n_kept = counts.n[keep]
        usable = [k for k in ks if k <= int(n_kept.min())]
        curve = pass_at_k_curve(n_kept, counts.c[keep], usable)
        values.update(zip(usable, curve.values.tolist(), strict=True))
    out = {f"eval/pass@{k}": v for k, v in values.items()}
    out["eval/response_len"] = counts.mean_response_tokens
    out["eval/unscored"] = float(counts.unscored)
    return out


__all__ = ["heldout_pass_at_k"]
