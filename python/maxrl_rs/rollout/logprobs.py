"""Per-token log-probabilities (and entropies) of responses under a model, recomputed in the training pass.

The sequence fed to the model is the left-padded prompt followed by the right-padded response, with
position ids counted over real tokens only, so a prompt's positions do not depend on how much padding its
batch needed (matching what ``generate`` does with an attention mask).
"""

from __future__ import annotations

from typing import Any

from maxrl_rs.rollout.base import Rollouts


def token_logprobs(model: Any, batch: Rollouts, *, temperature: float = 1.0, entropy: bool = False) -> tuple:
    """``(logp, ent)``: ``[R, T]`` log π(y_t | x, y_<t) of each response token and, if asked, the entropy of
    π(· | x, y_<t) in nats (else None). Differentiable; positions outside ``response_mask`` hold garbage.

    Logits are divided by the sampling ``temperature`` (as verl does), so ratios compare the same
    distribution the rollouts were drawn from.
    """
    import torch

    ids = torch.cat([batch.prompt_ids, batch.response_ids], dim=1)
    mask = torch.cat([batch.prompt_mask, batch.response_mask], dim=1)
    positions = (torch.cumsum(mask, dim=1) - 1).clamp(min=0)
    logits = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=False).logits
    width = batch.response_ids.shape[1]
    # Logits at position p predict token p + 1: the response's predictions start at the last prompt token.
    logits = logits[:, -width - 1 : -1, :].float()
    if temperature not in (0, 1):
        logits = logits / temperature
    lse = torch.logsumexp(logits, dim=-1)
    logp = torch.gather(logits, -1, batch.response_ids.unsqueeze(-1)).squeeze(-1) - lse
    ent = None
    if entropy:
        ent = lse - (torch.softmax(logits, dim=-1) * logits).sum(dim=-1)
    return logp, ent


def response_logprobs(
    model: Any, rollouts: Rollouts, *, micro_batch_size: int = 64, temperature: float = 1.0
) -> Any:
    """``[R, T]`` log-probs of all responses without gradients, ``micro_batch_size`` rollouts at a time
    (the old-policy and reference-model passes)."""
    import torch

    parts = []
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for start in range(0, len(rollouts), micro_batch_size):
                mb = rollouts.select(slice(start, start + micro_batch_size))
                parts.append(token_logprobs(model, mb, temperature=temperature)[0])
    finally:
        model.train(was_training)
    return torch.cat(parts)
