"""OpenRLHF integration: ``reward_func(queries, prompts, labels)`` graded in Rust.

OpenRLHF loads a Python file given as ``--reward.remote_url /path/to/file.py`` (``--remote_rm_url`` in older
releases) and calls its ``reward_func(queries, prompts, labels)``, where ``queries`` are the decoded
prompt + response texts (special tokens included), ``prompts`` the prompt texts and ``labels`` the
``--data.label_key`` column. It expects ``{"rewards": Tensor, "scores": Tensor, "extra_logs": {...}}``:
``rewards`` feed the advantage, ``scores`` the dynamic filtering, and each ``extra_logs`` value is a
per-sample tensor that OpenRLHF logs (recent releases call the function with one sample at a time, older
ones with a whole batch; both work).

Point ``--reward.remote_url`` at examples/openrlhf_reward_func.py, or at this file itself
(``python -c "import maxrl_rs.integrations.openrlhf as m; print(m.__file__)"``). The verifier is
``MAXRL_VERIFIER`` (default ``math``) and its options the JSON object in ``MAXRL_VERIFIER_OPTIONS``, both
read at call time, or the ``verifier=`` / ``options=`` keywords when calling the function directly.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from maxrl_rs.errors import InvalidInputError
from maxrl_rs.integrations._grading import UNGRADABLE, grade

#: Verifier used when neither ``verifier=`` nor ``MAXRL_VERIFIER`` is given.
DEFAULT_VERIFIER = "math"
VERIFIER_ENV = "MAXRL_VERIFIER"
OPTIONS_ENV = "MAXRL_VERIFIER_OPTIONS"

#: End-of-turn markers stripped from the end of a response (queries are decoded with special tokens).
END_MARKERS: tuple[str, ...] = (
    "<|im_end|>",
    "<|endoftext|>",
    "<|eot_id|>",
    "<|end_of_text|>",
    "<｜end▁of▁sentence｜>",
    "</s>",
    "<eos>",
    "<end_of_turn>",
)


def response_text(query: str, prompt: str) -> str:
    """The response part of an OpenRLHF query (prompt + response): stripped, without end-of-turn markers."""
    if query.startswith(prompt):
        response = query[len(prompt) :]
    else:
        # Decoding can normalise whitespace in the prompt; the response follows the prompt's last occurrence.
        at = query.rfind(prompt) if prompt else -1
        response = query[at + len(prompt) :] if at >= 0 else query
    response = response.strip()
    stripped = True
    while stripped:
        stripped = False
        for marker in END_MARKERS:
            if response.endswith(marker):
                response = response[: -len(marker)].rstrip()
                stripped = True
    return response


def _verifier_and_options(
    verifier: str | None, options: Mapping[str, Any] | None
) -> tuple[str, dict[str, Any]]:
    name = verifier or os.environ.get(VERIFIER_ENV) or DEFAULT_VERIFIER
    if options is None:
        raw = os.environ.get(OPTIONS_ENV, "").strip()
        try:
            parsed = json.loads(raw) if raw else {}
        except json.JSONDecodeError as e:
            raise InvalidInputError(f"{OPTIONS_ENV} must be a JSON object, got {raw!r}: {e}") from None
        if not isinstance(parsed, dict):
            raise InvalidInputError(f"{OPTIONS_ENV} must be a JSON object, got {raw!r}")
        options = parsed
    return name, dict(options)


def reward_func(
    queries: Sequence[str],
    prompts: Sequence[str],
    labels: Sequence[Any],
    *,
    verifier: str | None = None,
    options: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Grade a batch of OpenRLHF queries against their labels with one Rust call.

    Returns ``{"rewards", "scores", "extra_logs"}``: ``rewards`` and ``scores`` are the 0/1 verifier scores
    (float32, one per query); ``extra_logs`` holds per-query 0/1 indicators ``accuracy``, ``no_answer`` and
    ``ungradable`` (a size/time limit was hit or the grader failed: scored 0, since OpenRLHF has no
    per-sample mask, and counted here so it is never mistaken silently for a wrong answer).
    """
    import torch

    n = len(queries)
    if len(prompts) != n or len(labels) != n:
        raise InvalidInputError(
            f"got {n} queries, {len(prompts)} prompts and {len(labels)} labels; they must be aligned"
        )
    name, opts = _verifier_and_options(verifier, options)
    responses = [response_text(str(q), str(p)) for q, p in zip(queries, prompts, strict=True)]
    graded = grade(responses, labels, name, opts)
    scores = torch.from_numpy(graded.scores.copy())
    status = graded.status
    return {
        "rewards": scores,
        "scores": scores.clone(),
        "extra_logs": {
            "accuracy": torch.tensor([s == "correct" for s in status], dtype=torch.float32),
            "no_answer": torch.tensor([s == "no_answer" for s in status], dtype=torch.float32),
            "ungradable": torch.tensor([s in UNGRADABLE for s in status], dtype=torch.float32),
        },
    }


__all__ = ["DEFAULT_VERIFIER", "END_MARKERS", "response_text", "reward_func"]
