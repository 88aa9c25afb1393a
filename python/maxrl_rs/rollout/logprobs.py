"""Per-token log-probabilities (and entropies) of responses under a model, recomputed in the training pass.

The sequence fed to the model is the left-padded prompt followed by the right-padded response, with
position ids counted over real tokens only, so a prompt's positions do not depend on how much padding its
batch needed (matching what ``generate`` does with an attention mask).

The log-probs are those of the distribution the rollouts were sampled from: the logits go through the
sampler's own processing (:func:`shape_logits`: temperature, then top-k, top-p and min-p with transformers'
warpers, in the order ``generate`` applies them) before the log-softmax. Without it the loss would use
full-vocabulary log-probs of samples drawn from a truncated distribution.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from maxrl_rs.rollout.base import Rollouts, SamplingParams

if TYPE_CHECKING:
    import torch
    from transformers.generation.logits_process import LogitsProcessor


def shape_logits(
    logits: torch.Tensor, sampling: SamplingParams | None, targets: torch.Tensor | None = None
) -> torch.Tensor:
    """The sampler's processed scores of ``[..., V]`` float ``logits``: what ``generate`` samples from.

    Temperature first, then ``TopKLogitsWarper``, ``TopPLogitsWarper`` and ``MinPLogitsWarper`` from
    ``transformers.generation.logits_process`` (the classes and order of ``GenerationMixin.
    _get_logits_processor`` with ``min_tokens_to_keep=1``: ties at the k-th score are all kept, top-p keeps
    the smallest high-probability set whose mass exceeds ``top_p``). Removed tokens hold ``-inf``.
    Temperature 0 (greedy) or None: the logits unchanged.

    ``targets`` (``[...]`` int64, the sampled tokens) stay in the support: the sampled token was kept by the
    sampler, and a recomputation whose last bits differ at the cut-off must not give it probability 0. For
    the reference model, whose own truncated support may not hold the policy's token, this keeps its
    log-prob finite (the support is the reference's kept set plus the token; ``docs/training.md``).
    """
    if sampling is None or sampling.temperature == 0:
        return logits
    if sampling.temperature != 1:
        logits = logits / sampling.temperature
    warpers = _warpers(sampling)
    if not warpers:
        return logits
    flat = logits.reshape(-1, logits.shape[-1])
    shaped = flat
    for warp in warpers:
        shaped = warp(None, shaped)
    if targets is not None:
        t = targets.reshape(-1, 1)
        shaped = shaped.scatter(-1, t, flat.gather(-1, t))
    return shaped.reshape(logits.shape)


def _warpers(sampling: SamplingParams) -> list[LogitsProcessor]:
    from transformers.generation.logits_process import MinPLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

    out: list[LogitsProcessor] = []
    if sampling.top_k > 0:
        out.append(TopKLogitsWarper(top_k=sampling.top_k))
    if sampling.top_p < 1:
        out.append(TopPLogitsWarper(top_p=sampling.top_p))
    if sampling.min_p > 0:
        out.append(MinPLogitsWarper(min_p=sampling.min_p))
    return out


def token_logprobs(
    model: torch.nn.Module,
    batch: Rollouts,
    *,
    sampling: SamplingParams | None = None,
    entropy: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(logp, ent)``: ``[R, T]`` log π(y_t | x, y_<t) of each response token and, if asked, the entropy of
    π(· | x, y_<t) in nats (else None). Differentiable; positions outside ``response_mask`` hold garbage.

    π is the model's distribution after the ``sampling`` processing (:func:`shape_logits`: temperature as
    verl does, and the same top-k / top-p / min-p truncation as the sampler); None: the raw distribution
    (supervised fine-tuning).
    """
    import torch

    ids = torch.cat([batch.prompt_ids, batch.response_ids], dim=1)
    mask = torch.cat([batch.prompt_mask, batch.response_mask], dim=1)
    positions = (torch.cumsum(mask, dim=1) - 1).clamp(min=0)
    logits = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=False).logits
    width = batch.response_ids.shape[1]
    # Logits at position p predict token p + 1: the response's predictions start at the last prompt token.
    logits = shape_logits(logits[:, -width - 1 : -1, :].float(), sampling, batch.response_ids)
    lse = torch.logsumexp(logits, dim=-1)
    logp = torch.gather(logits, -1, batch.response_ids.unsqueeze(-1)).squeeze(-1) - lse
    ent = None
    if entropy:
        probs = torch.softmax(logits, dim=-1)
        # Removed tokens (-inf) have probability 0 and add nothing (not 0 · -inf = nan).
        ent = lse - torch.where(probs > 0, probs * logits, 0.0).sum(dim=-1)
    return logp, ent


def response_logprobs(
    model: torch.nn.Module,
    rollouts: Rollouts,
    *,
    micro_batch_size: int = 64,
    sampling: SamplingParams | None = None,
) -> torch.Tensor:
    """``[R, T]`` log-probs of all responses without gradients, ``micro_batch_size`` rollouts at a time
    (the old-policy and reference-model passes), under the ``sampling`` processing of
    :func:`token_logprobs`."""
    import torch

    parts = []
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for start in range(0, len(rollouts), micro_batch_size):
                mb = rollouts.select(slice(start, start + micro_batch_size))
                parts.append(token_logprobs(model, mb, sampling=sampling)[0])
    finally:
        model.train(was_training)
    return torch.cat(parts)
