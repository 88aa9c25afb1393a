"""A Python reward function for ``task.dataset.reward_fn = "examples/reward_fn.py:boxed_match"``.

Called once per batch with the prompts, responses and reference answers (lists of equal length); returns one
score per response: 1.0 or 0.0 (the maxrl estimator needs 0/1), or None for "no verdict" (the rollout is
masked out of the update). It must score any text a model may write, an empty response too: a run calls it
once before training, on the first example's reference and on "", and stops with a one-line error if it
raises or returns something else.
"""

from __future__ import annotations

import re

_BOXED = re.compile(r"\\boxed\{([^{}]*)\}")


def boxed_match(prompts: list[str], responses: list[str], references: list[str]) -> list[float | None]:
    scores: list[float | None] = []
    for response, reference in zip(responses, references):
        found = _BOXED.findall(response)
        if not found:
            scores.append(0.0)  # no boxed answer: a failure
            continue
        scores.append(1.0 if found[-1].strip() == reference.strip() else 0.0)
    return scores
