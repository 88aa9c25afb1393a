"""Reward functions that tests name in ``task.dataset.reward_fn`` (``_byo_rewards:<function>``)."""

from __future__ import annotations

CALLS: list[tuple[list[str], list[str], list[str]]] = []


def contains_reference(prompts: list[str], responses: list[str], references: list[str]) -> list[float | None]:
    """1 when the reference is one of the response's words, else 0; every call is recorded in CALLS."""
    CALLS.append((list(prompts), list(responses), list(references)))
    return [float(ref in resp.split()) for resp, ref in zip(responses, references)]


def half(prompts, responses, references):
    return [0.5] * len(responses)


def no_verdict_on_odd_rows(prompts, responses, references):
    return [
        None if i % 2 else float(ref in r.split()) for i, (r, ref) in enumerate(zip(responses, references))
    ]


def raises_on_three(prompts, responses, references):
    if any(ref == "3" for ref in references):
        raise ValueError("cannot score 3")
    return [0.0] * len(responses)


def wrong_length(prompts, responses, references):
    return [0.0]


def no_verdict(prompts, responses, references):
    return [None] * len(responses)


def raises_on_model_output(prompts, responses, references):
    """Scores the reference and an empty response (the trial call before training), raises on others."""
    for r, ref in zip(responses, references):
        if r not in ("", ref):
            raise KeyError(f"unexpected {r!r}")
    return [float(r == ref) for r, ref in zip(responses, references)]


def returns_text(prompts, responses, references):
    return "1"


def returns_strings(prompts, responses, references):
    return ["1"] * len(responses)
