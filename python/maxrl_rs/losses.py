"""Token-level policy-gradient loss from per-rollout advantages.

Each rollout's advantage A_i (from :func:`maxrl_rs.advantages`) is broadcast to all its response tokens
(docs/estimators.md: ĝ = (1/N) Σ_i A_i ∇log π(y_i | x)). Per token t of rollout i::

    ρ_it  = exp(logp_it − old_logp_it)                                    (1 on-policy)
    ℓ_it  = max(−A_i ρ_it, −A_i clip(ρ_it, 1 − clip_low, 1 + clip_high))   (PPO clipping)
    ℓ_it  = min(ℓ_it, −A_i · c)  when A_i < 0 and dual_clip = c           (dual clip, Ye et al. 2020)
    ℓ_it  = w_it · ℓ_it,  w_it = min(exp(old_logp_it − sampler_logp_it), C)  when tis_cap = C
          + kl_coef · (exp(d) − d − 1),  d = clamp(ref − logp, −20, 20)   (k3 estimate of KL(π‖π_ref))
          − entropy_coef · H_it

The truncated importance-sampling weight w (TIS; Yao et al. 2025, "Your efficient RL framework secretly
brings you off-policy RL training"; verl's ``rollout_is``, TRL's ``vllm_importance_sampling_correction``)
corrects for an inference engine whose sampling distribution differs from the trainer's (bf16 kernels):
``sampler_logp`` is the engine's own log-prob of each sampled token, the weight is detached and capped at C.
The k3 log-ratio is clamped to ±20 as verl's ``kl_penalty`` does: ``ref − logp = 89`` would give ``inf``.

and the loss aggregates ℓ over the tokens in ``mask``:

- ``token-mean`` (default; the paper's choice): Σ_it ℓ_it / (number of tokens);
- ``seq-mean-token-mean``: mean over rollouts of each rollout's token mean;
- ``seq-mean-token-sum``: mean over rollouts of each rollout's token sum;
- ``seq-mean-token-sum-norm`` (Dr.GRPO, Liu et al. 2025): Σ_it ℓ_it / (rollouts · max_len), with a constant
  ``max_len`` (the response budget), so no length normalisation depends on the sample.

With gradient accumulation, pass the whole batch's ``num_tokens`` / ``num_seqs`` to every micro-batch: the
micro-batch losses then sum to the full-batch loss exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

#: Bound of the k3 term's log-ratio ref − logp (verl's ``kl_penalty``): exp(20) still fits float32 easily.
KL_LOG_RATIO_CLAMP = 20.0

AGGREGATIONS = ("token-mean", "seq-mean-token-mean", "seq-mean-token-sum", "seq-mean-token-sum-norm")


@dataclass(frozen=True)
class LossConfig:
    """Loss settings; defaults are the paper's on-policy setting (no KL, no entropy bonus)."""

    agg: str = "token-mean"
    clip_low: float = 0.2
    clip_high: float = 0.2
    dual_clip: float | None = None
    kl_coef: float = 0.0
    entropy_coef: float = 0.0
    max_len: int | None = None
    tis_cap: float | None = None

    def __post_init__(self) -> None:
        from maxrl_rs.errors import ConfigError

        check_loss_settings(self.agg, self.clip_low, self.clip_high, self.dual_clip, self.tis_cap)
        if self.agg == "seq-mean-token-sum-norm" and (self.max_len is None or self.max_len < 1):
            raise ConfigError("algo.loss_agg='seq-mean-token-sum-norm' needs a positive max_len")


def check_loss_settings(
    agg: str, clip_low: float, clip_high: float, dual_clip: float | None, tis_cap: float | None
) -> None:
    """ConfigError naming the ``algo.*`` key of a bad loss setting: ``agg`` one of :data:`AGGREGATIONS`,
    clip ranges >= 0, ``dual_clip`` > 1 and ``tis_cap`` > 0 where set. Shared by :class:`LossConfig` (built
    without a config by the integrations) and the ``[algo]`` section's checks."""
    from maxrl_rs.options import need

    need(tis_cap is None or tis_cap > 0, "algo.tis_cap", f"must be > 0 (or none), got {tis_cap}")
    known = ", ".join(AGGREGATIONS)
    need(agg in AGGREGATIONS, "algo.loss_agg", f"unknown aggregation {agg!r}; known: {known}")
    need(clip_low >= 0, "algo.clip_low", f"must be >= 0, got {clip_low}")
    need(clip_high >= 0, "algo.clip_high", f"must be >= 0, got {clip_high}")
    need(dual_clip is None or dual_clip > 1, "algo.dual_clip", f"must be > 1 (or none), got {dual_clip}")


def aggregate(
    values: torch.Tensor,
    mask: torch.Tensor,
    agg: str = "token-mean",
    *,
    max_len: int | None = None,
    num_tokens: float | None = None,
    num_seqs: float | None = None,
) -> torch.Tensor:
    """Reduce ``[R, T]`` per-token ``values`` over ``mask`` to a scalar (see the module docstring).

    ``num_tokens`` / ``num_seqs`` override the denominators (defaults: the tokens in ``mask`` and the
    rollouts with at least one such token), for losses split over micro-batches or ranks.
    """
    import torch

    mask = mask.to(values.dtype)
    if agg == "token-mean":
        denom = mask.sum() if num_tokens is None else torch.as_tensor(num_tokens, dtype=values.dtype)
        return (values * mask).sum() / denom.clamp(min=1)
    seq_tokens = mask.sum(dim=1)
    seqs = (seq_tokens > 0).sum() if num_seqs is None else torch.as_tensor(num_seqs)
    seqs = seqs.to(values.dtype).clamp(min=1)
    seq_sum = (values * mask).sum(dim=1)
    if agg == "seq-mean-token-mean":
        return (seq_sum / seq_tokens.clamp(min=1)).sum() / seqs
    if agg == "seq-mean-token-sum":
        return seq_sum.sum() / seqs
    if agg == "seq-mean-token-sum-norm":
        if max_len is None:
            raise ValueError("seq-mean-token-sum-norm needs max_len")
        return seq_sum.sum() / (seqs * max_len)
    raise ValueError(f"unknown aggregation {agg!r}; known: {', '.join(AGGREGATIONS)}")


def policy_loss(
    logp: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    config: LossConfig | None = None,
    *,
    old_logp: torch.Tensor | None = None,
    ref_logp: torch.Tensor | None = None,
    entropy: torch.Tensor | None = None,
    sampler_logp: torch.Tensor | None = None,
    num_tokens: float | None = None,
    num_seqs: float | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Clipped policy-gradient loss and its statistics.

    Args:
        logp: ``[R, T]`` log-probs of the response tokens under the current policy (with gradients).
        advantages: ``[R]`` per-rollout advantages (broadcast to tokens) or ``[R, T]`` per-token ones.
        mask: ``[R, T]`` 1 on tokens that count (response tokens of rollouts with a verdict).
        config: :class:`LossConfig` (aggregation, clipping, KL and entropy coefficients).
        old_logp: log-probs under the policy that sampled the rollouts; None means on-policy
            (``logp.detach()``, ratio 1, nothing clipped).
        ref_logp: log-probs under a frozen reference model; needed when ``kl_coef > 0``.
        entropy: ``[R, T]`` per-token entropies; needed when ``entropy_coef > 0``.
        sampler_logp: ``[R, T]`` log-probs of the tokens under the sampler's own distribution (an inference
            engine's), NaN where unknown (weight 1); needed when ``tis_cap`` is set.
        num_tokens, num_seqs: whole-batch denominators for micro-batching (see :func:`aggregate`).

    Returns:
        ``(loss, stats)``: stats are token means over ``mask`` of this call's tokens: ``pg_loss``,
        ``clip_frac`` (tokens where the clipped term is active), ``dual_clip_frac``, ``ratio``,
        ``approx_kl`` (½(logp − old_logp)², KL(old‖new) to second order), ``kl`` (k3, when
        ``ref_logp`` is given), ``entropy`` (when given), ``tis_weight`` and ``tis_capped_frac`` (the mean
        importance weight and the share of tokens at the cap, with ``tis_cap``), and ``tokens``.
    """
    import torch

    cfg = config or LossConfig()
    adv = advantages.to(logp.dtype)
    if adv.dim() == 1:
        adv = adv.unsqueeze(1)
    adv = adv.expand_as(logp)
    old = logp.detach() if old_logp is None else old_logp
    log_ratio = logp - old
    ratio = torch.exp(log_ratio)
    pg_unclipped = -adv * ratio
    pg_clipped = -adv * torch.clamp(ratio, 1.0 - cfg.clip_low, 1.0 + cfg.clip_high)
    pg = torch.maximum(pg_unclipped, pg_clipped)
    clipped = pg_clipped > pg_unclipped
    dual = torch.zeros_like(clipped)
    if cfg.dual_clip is not None:
        bound = -adv * cfg.dual_clip
        dual = (adv < 0) & (pg > bound)
        pg = torch.where(dual, bound, pg)
    tis = raw = None
    if cfg.tis_cap is not None:
        if sampler_logp is None:
            raise ValueError("tis_cap needs sampler_logp")
        with torch.no_grad():
            raw = torch.exp(old.detach() - sampler_logp.to(logp.dtype))
            raw = torch.where(torch.isnan(raw), torch.ones_like(raw), raw)
            tis = raw.clamp(max=cfg.tis_cap)
        pg = pg * tis
    per_token = pg
    kl = None
    if ref_logp is not None:
        d = torch.clamp(ref_logp - logp, -KL_LOG_RATIO_CLAMP, KL_LOG_RATIO_CLAMP)
        kl = torch.exp(d) - d - 1.0
        if cfg.kl_coef:
            per_token = per_token + cfg.kl_coef * kl
    elif cfg.kl_coef:
        raise ValueError("kl_coef > 0 needs ref_logp")
    if cfg.entropy_coef:
        if entropy is None:
            raise ValueError("entropy_coef > 0 needs entropy")
        per_token = per_token - cfg.entropy_coef * entropy
    loss = aggregate(per_token, mask, cfg.agg, max_len=cfg.max_len, num_tokens=num_tokens, num_seqs=num_seqs)

    with torch.no_grad():
        m = mask.to(logp.dtype)
        n = m.sum().clamp(min=1)

        def mean(x: torch.Tensor) -> float:
            return float((x.to(logp.dtype) * m).sum() / n)

        stats = {
            "pg_loss": mean(pg),
            "clip_frac": mean(clipped),
            "dual_clip_frac": mean(dual),
            "ratio": mean(ratio),
            "approx_kl": mean(0.5 * log_ratio.square()),
            "tokens": float(m.sum()),
        }
        if kl is not None:
            stats["kl"] = mean(kl)
        if entropy is not None:
            stats["entropy"] = mean(entropy)
        if tis is not None and raw is not None and cfg.tis_cap is not None:
            stats["tis_weight"] = mean(tis)
            stats["tis_capped_frac"] = mean(raw > cfg.tis_cap)
    return loss, stats
