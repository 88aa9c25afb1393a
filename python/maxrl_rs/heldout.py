"""Held-out pass@k during training: sample ``samples`` responses per held-out prompt and grade them.

Sampling runs under a forked, fixed-seed torch RNG, so evaluating never shifts the training run's random
stream (a run with evaluations every 10 steps trains exactly like one without) and the same checkpoint
always gets the same score.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from maxrl_rs.passk import pass_at_k
from maxrl_rs.rollout.base import RolloutBackend, SamplingParams
from maxrl_rs.tasks.base import Example, Task


def heldout_pass_at_k(
    backend: RolloutBackend,
    task: Task,
    tokenizer: Any,
    examples: list[Example],
    *,
    samples: int = 4,
    temperature: float = 1.0,
    max_new_tokens: int = 64,
    seed: int = 0,
) -> dict[str, float]:
    """``{"eval/pass@1": ..., "eval/pass@<samples>": ..., "eval/response_len": ...}`` over ``examples``.

    pass@k is the unbiased estimate (docs/estimators.md) averaged over prompts; with ``temperature`` 0
    (greedy) one response per prompt is drawn and pass@1 is the greedy success rate.
    """
    import torch

    n = 1 if temperature == 0 else samples
    prompts = [task.prompt_ids(ex, tokenizer) for ex in examples]
    device = _device_of(backend)
    devices = [device.index or 0] if device is not None and device.type == "cuda" else []
    backend.set_seed_key(seed, 0)  # backends that seed each prompt (vLLM): the same draws at every eval
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        if devices:
            torch.cuda.manual_seed_all(seed)
        rollouts = backend.generate(
            prompts,
            list(range(len(examples))),
            SamplingParams(n=n, temperature=temperature, max_new_tokens=max_new_tokens),
        )
    graded = task.grade(rollouts.texts, [examples[i] for i in rollouts.group_ids])
    correct = (graded.rewards > 0) & graded.mask
    c = np.bincount(rollouts.group_ids, weights=correct, minlength=len(examples)).astype(np.int64)
    out = {
        "eval/pass@1": float(np.mean(pass_at_k(n, c, 1))),
        "eval/response_len": float(np.mean(rollouts.response_lengths)),
    }
    if n > 1:
        out[f"eval/pass@{n}"] = float(np.mean(pass_at_k(n, c, n)))
    return out


def _device_of(backend: RolloutBackend) -> Any:
    model = getattr(backend, "model", None)
    if model is None:
        return None
    return next(model.parameters()).device
