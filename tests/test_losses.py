"""The policy loss against hand computations: ragged lengths, every aggregation, PPO and dual clipping."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from maxrl_rs.losses import AGGREGATIONS, LossConfig, aggregate, policy_loss  # noqa: E402

# Three rollouts of 1, 3 and 2 tokens padded to 4 (the padding holds junk that must not count).
LENGTHS = [1, 3, 2]
WIDTH = 4
ADV = [1.5, -0.5, 2.0]
LOGP = [[-0.1, 9.0, 9.0, 9.0], [-1.0, -0.3, -2.0, 9.0], [-0.7, -0.2, 9.0, 9.0]]
# Old log-probs chosen so the ratios exp(logp - old) straddle the clip range [0.8, 1.2] both ways.
OLD = [[-0.5, 0.0, 0.0, 0.0], [-0.6, -0.3, -2.5, 0.0], [-0.9, 0.1, 0.0, 0.0]]
MAX_LEN = 5


def tensors():
    mask = torch.tensor([[1.0 if t < n else 0.0 for t in range(WIDTH)] for n in LENGTHS])
    logp = torch.tensor(LOGP, dtype=torch.float64, requires_grad=True)
    return logp, torch.tensor(ADV, dtype=torch.float64), mask.double(), torch.tensor(OLD, dtype=torch.float64)


def hand_token_loss(i: int, t: int, *, old: bool, clip_low=0.2, clip_high=0.2, dual=None) -> float:
    """ℓ_it written out with Python floats."""
    a = ADV[i]
    r = math.exp(LOGP[i][t] - OLD[i][t]) if old else 1.0
    clipped = min(max(r, 1 - clip_low), 1 + clip_high)
    loss = max(-a * r, -a * clipped)
    if dual is not None and a < 0:
        loss = min(loss, -a * dual)
    return loss


def hand_aggregate(per_token, agg: str) -> float:
    rows = [[per_token(i, t) for t in range(n)] for i, n in enumerate(LENGTHS)]
    if agg == "token-mean":
        return sum(map(sum, rows)) / sum(LENGTHS)
    if agg == "seq-mean-token-mean":
        return sum(sum(r) / len(r) for r in rows) / len(rows)
    if agg == "seq-mean-token-sum":
        return sum(sum(r) for r in rows) / len(rows)
    assert agg == "seq-mean-token-sum-norm"
    return sum(sum(r) for r in rows) / (len(rows) * MAX_LEN)


@pytest.mark.parametrize("agg", AGGREGATIONS)
@pytest.mark.parametrize("off_policy", [False, True])
def test_loss_matches_hand_computation(agg, off_policy):
    logp, adv, mask, old = tensors()
    cfg = LossConfig(agg=agg, max_len=MAX_LEN)
    loss, _ = policy_loss(logp, adv, mask, cfg, old_logp=old if off_policy else None)
    expected = hand_aggregate(lambda i, t: hand_token_loss(i, t, old=off_policy), agg)
    assert loss.item() == pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("agg", AGGREGATIONS)
def test_on_policy_gradient_is_advantage_over_denominator(agg):
    """On-policy, d loss / d logp_it = −A_i · w_it, w_it the aggregation's weight of token t (the PG)."""
    logp, adv, mask, _ = tensors()
    loss, _ = policy_loss(logp, adv, mask, LossConfig(agg=agg, max_len=MAX_LEN))
    loss.backward()
    for i, n in enumerate(LENGTHS):
        weight = {
            "token-mean": 1 / sum(LENGTHS),
            "seq-mean-token-mean": 1 / (n * len(LENGTHS)),
            "seq-mean-token-sum": 1 / len(LENGTHS),
            "seq-mean-token-sum-norm": 1 / (len(LENGTHS) * MAX_LEN),
        }[agg]
        for t in range(WIDTH):
            want = -ADV[i] * weight if t < n else 0.0
            assert logp.grad[i, t].item() == pytest.approx(want, rel=1e-12, abs=1e-15)


def test_clipping_and_stats_by_hand():
    logp, adv, mask, old = tensors()
    cfg = LossConfig(clip_low=0.2, clip_high=0.2)
    _, stats = policy_loss(logp, adv, mask, cfg, old_logp=old)
    clipped = ratios = 0.0
    for i, n in enumerate(LENGTHS):
        for t in range(n):
            r = math.exp(LOGP[i][t] - OLD[i][t])
            ratios += r
            a = ADV[i]
            clipped += -a * min(max(r, 0.8), 1.2) > -a * r
    tokens = sum(LENGTHS)
    assert clipped >= 2, "the fixture must exercise clipping"
    assert stats["clip_frac"] == pytest.approx(clipped / tokens)
    assert stats["ratio"] == pytest.approx(ratios / tokens)
    assert stats["tokens"] == tokens
    assert stats["approx_kl"] == pytest.approx(
        sum(0.5 * (LOGP[i][t] - OLD[i][t]) ** 2 for i, n in enumerate(LENGTHS) for t in range(n)) / tokens
    )


def test_clipped_tokens_get_no_gradient():
    logp, adv, mask, old = tensors()
    loss, _ = policy_loss(logp, adv, mask, LossConfig(), old_logp=old)
    loss.backward()
    for i, n in enumerate(LENGTHS):
        for t in range(n):
            r = math.exp(LOGP[i][t] - OLD[i][t])
            a = ADV[i]
            active = -a * min(max(r, 0.8), 1.2) <= -a * r  # the unclipped term is the max
            want = -a * r / sum(LENGTHS) if active else 0.0
            assert logp.grad[i, t].item() == pytest.approx(want, rel=1e-12, abs=1e-15)


def test_asymmetric_and_dual_clip():
    logp, adv, mask, old = tensors()
    cfg = LossConfig(clip_low=0.1, clip_high=0.3, dual_clip=1.05)
    loss, stats = policy_loss(logp, adv, mask, cfg, old_logp=old)
    expected = hand_aggregate(
        lambda i, t: hand_token_loss(i, t, old=True, clip_low=0.1, clip_high=0.3, dual=1.05), "token-mean"
    )
    assert loss.item() == pytest.approx(expected, rel=1e-12)
    # Rollout 1 (A = −0.5) has a token with ratio e^0.5 > 1.05: the dual clip bounds it.
    assert stats["dual_clip_frac"] > 0


def test_kl_k3_and_entropy_terms():
    logp, adv, mask, _ = tensors()
    ref = torch.full_like(logp, -0.4)
    ent = torch.full_like(logp, 0.25)
    cfg = LossConfig(kl_coef=0.1, entropy_coef=0.01)
    loss, stats = policy_loss(logp, adv, mask, cfg, ref_logp=ref, entropy=ent)

    def per_token(i, t):
        d = -0.4 - LOGP[i][t]
        return hand_token_loss(i, t, old=False) + 0.1 * (math.exp(d) - d - 1) - 0.01 * 0.25

    assert loss.item() == pytest.approx(hand_aggregate(per_token, "token-mean"), rel=1e-12)
    kl = [
        math.exp(-0.4 - LOGP[i][t]) - (-0.4 - LOGP[i][t]) - 1 for i, n in enumerate(LENGTHS) for t in range(n)
    ]
    assert stats["kl"] == pytest.approx(sum(kl) / len(kl))
    assert stats["entropy"] == pytest.approx(0.25)


def test_defaults_have_no_kl_or_entropy():
    cfg = LossConfig()
    assert cfg.agg == "token-mean" and cfg.kl_coef == 0 and cfg.entropy_coef == 0
    with pytest.raises(ValueError, match="ref_logp"):
        logp, adv, mask, _ = tensors()
        policy_loss(logp, adv, mask, LossConfig(kl_coef=0.1))


@pytest.mark.parametrize("agg", AGGREGATIONS)
def test_micro_batches_with_global_denominators_sum_to_full_loss(agg):
    logp, adv, mask, old = tensors()
    cfg = LossConfig(agg=agg, max_len=MAX_LEN)
    full, _ = policy_loss(logp, adv, mask, cfg, old_logp=old)
    num_tokens, num_seqs = float(mask.sum()), float(len(LENGTHS))
    parts = [
        policy_loss(logp[s], adv[s], mask[s], cfg, old_logp=old[s], num_tokens=num_tokens, num_seqs=num_seqs)[
            0
        ]
        for s in (slice(0, 1), slice(1, 3))
    ]
    assert sum(p.item() for p in parts) == pytest.approx(full.item(), rel=1e-12)


def test_aggregate_ignores_fully_masked_rows():
    values = torch.tensor([[1.0, 2.0], [5.0, 7.0]])
    mask = torch.tensor([[1.0, 1.0], [0.0, 0.0]])
    assert aggregate(values, mask, "seq-mean-token-mean").item() == pytest.approx(1.5)
    assert aggregate(values, mask, "seq-mean-token-sum").item() == pytest.approx(3.0)
    assert aggregate(values, mask, "token-mean").item() == pytest.approx(1.5)


def test_config_errors_name_the_setting():
    from maxrl_rs import ConfigError

    with pytest.raises(ConfigError, match="loss_agg"):
        LossConfig(agg="mean")
    with pytest.raises(ConfigError, match="dual_clip"):
        LossConfig(dual_clip=0.5)
    with pytest.raises(ConfigError, match="max_len"):
        LossConfig(agg="seq-mean-token-sum-norm")
