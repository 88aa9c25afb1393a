"""The maximum-likelihood-limit experiment: estimator gradients and a tiny end-to-end run."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

import maxrl_rs  # noqa: E402
from maxrl_rs.experiments import ml_limit  # noqa: E402


def test_weights_equal_the_per_sample_sum():
    """Σ_y W[x, y] ∇log π(y|x) is exactly (1/N) Σ_i A_i ∇log π(y_i|x) with A from maxrl_rs.advantages."""
    gen = torch.Generator().manual_seed(0)
    labels = torch.tensor([0, 3, 2])
    samples = torch.randint(0, 4, (3, 6), generator=gen)
    samples[0, :2] = 0  # at least one group with successes
    for estimator in ("maxrl", "reinforce"):
        weights, rewards = ml_limit.estimator_weights(samples, labels, 4, estimator)
        for row in range(3):
            r = (samples[row] == labels[row]).double().numpy()
            a = maxrl_rs.advantages(r, np.zeros(6, dtype=np.int64), estimator)
            expected = np.zeros(4)
            np.add.at(expected, samples[row].numpy(), a / 6)
            np.testing.assert_allclose(weights[row].numpy(), expected, atol=1e-15)
            np.testing.assert_array_equal(rewards[row].numpy(), r)


@pytest.mark.parametrize(("estimator", "n"), [("reinforce", 4), ("maxrl", 4), ("maxrl", 16)])
def test_sampled_gradient_matches_exact_expectation(estimator, n):
    """Mean of ĝ over many draws = c(p) ∇_z p (docs/estimators.md), ∇_z p = p (e_y − π), 5 classes."""
    z0 = torch.tensor([0.3, -1.0, 0.5, 0.0, -0.4], dtype=torch.float64)
    label, draws = 1, 40_000
    logits = z0.repeat(draws, 1).requires_grad_(True)
    loss, _ = ml_limit.policy_gradient_loss(
        logits, torch.full((draws,), label), n, estimator, torch.Generator().manual_seed(1)
    )
    loss.backward()
    per_draw = -logits.grad.numpy() * draws  # ĝ of each draw w.r.t. the logits
    mean, se = per_draw.mean(0), per_draw.std(0, ddof=1) / math.sqrt(draws)

    pi = torch.softmax(z0, 0)
    p = pi[label]
    c = ml_limit.expected_weight(p, estimator, n)
    exact = (c * p * (torch.nn.functional.one_hot(torch.tensor(label), 5) - pi)).numpy()
    assert np.all(np.abs(mean - exact) < 5 * se + 1e-12), (mean, exact, se)


def test_maxrl_weight_tends_to_maximum_likelihood():
    p = torch.tensor([0.02, 0.1, 0.5, 0.9], dtype=torch.float64)
    ml = ml_limit.expected_weight(p, "cross_entropy", 1)
    assert torch.all(ml_limit.expected_weight(p, "maxrl", 1) == 0)  # N = 1: no signal at all
    assert torch.allclose(ml_limit.expected_weight(p, "maxrl", 4000), ml, rtol=1e-12)
    assert torch.allclose(ml_limit.expected_weight(p, "reinforce", 4000), torch.ones_like(p))
    # The closed form agrees with docs/estimators.md's w_N(p) − (1 − p)^{N−1}.
    n = 7
    w = torch.from_numpy(np.asarray(maxrl_rs.population_weight(p.numpy(), "maxrl", order=n)))
    assert torch.allclose(ml_limit.expected_weight(p, "maxrl", n), w - (1 - p) ** (n - 1), rtol=1e-12)


def test_large_n_maxrl_gradient_points_like_cross_entropy():
    """On a real model and batch, one draw of MaxRL with N = 4096 is nearly the cross-entropy gradient."""
    config = ml_limit.MLLimitConfig(hidden=16)
    data = ml_limit.load_data(config)
    model = ml_limit.make_model(config, 0)
    x, y = data.x_train[:64], data.y_train[:64]

    def grad(loss):
        model.zero_grad(set_to_none=True)
        loss.backward()
        return torch.cat([q.grad.reshape(-1) for q in model.parameters()])

    ce = grad(torch.nn.functional.cross_entropy(model(x), y))
    gen = torch.Generator().manual_seed(0)
    g = grad(ml_limit.policy_gradient_loss(model(x), y, 4096, "maxrl", gen)[0])
    assert float(torch.nn.functional.cosine_similarity(g, ce, dim=0)) > 0.99


def test_tiny_run_writes_outputs(tmp_path):
    config = ml_limit.MLLimitConfig(
        ns=(1, 4), seeds=(0, 1), steps=20, batch_size=16, hidden=8, eval_every=10, reference_step=5
    )
    results = ml_limit.run_experiment(config)
    assert len(results) == 2 * (1 + 2 + 2)
    assert {(r.method, r.n) for r in results} == {
        ("cross_entropy", 0),
        ("reinforce", 1),
        ("reinforce", 4),
        ("maxrl", 1),
        ("maxrl", 4),
    }
    for r in results:
        assert 0.0 <= r.test_accuracy <= 1.0 and r.train_nll > 0 and r.curve_steps == [10, 20]
    # MaxRL with N = 1 has no gradient at all (a lone success gets N/K − 1 = 0): the model never moves.
    untrained = ml_limit.train_one(config, ml_limit.load_data(config), "cross_entropy", 0, 0, steps=0)[0]
    maxrl_1 = next(r for r in results if r.method == "maxrl" and r.n == 1 and r.seed == 0)
    assert maxrl_1.train_nll == pytest.approx(untrained.train_nll, abs=1e-7)
    assert math.isnan(maxrl_1.grad_cosine)

    payload = ml_limit.write_outputs(results, config, tmp_path, seconds=1.0)
    for suffix in ("md", "png", "json"):
        assert (tmp_path / f"ml_limit.{suffix}").stat().st_size > 0
    saved = json.loads((tmp_path / "ml_limit.json").read_text())
    assert saved["summary"] == payload["summary"]
    assert next(r for r in saved["runs"] if r["method"] == "maxrl" and r["n"] == 1)["grad_cosine"] is None
    assert len(saved["runs"]) == len(results)
    md = (tmp_path / "ml_limit.md").read_text()
    assert "| 4 |" in md and "cross-entropy" in md and "ml_limit.png" in md
