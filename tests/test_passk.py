"""pass@k, fail@k, the J^(T) estimate and population weights (docs/estimators.md)."""

from __future__ import annotations

from fractions import Fraction
from itertools import combinations
from math import comb, log

import numpy as np
import pytest

import maxrl_rs
from maxrl_rs import InvalidInputError


def brute_pass_at_k(n, c, k):
    samples = [1] * c + [0] * (n - c)
    subsets = list(combinations(range(n), k))
    return sum(any(samples[i] for i in s) for s in subsets) / len(subsets)


@pytest.mark.parametrize("n", range(1, 11))
def test_pass_at_k_matches_subset_enumeration(n):
    for c in range(n + 1):
        for k in range(1, n + 1):
            assert maxrl_rs.pass_at_k(n, c, k) == pytest.approx(brute_pass_at_k(n, c, k), abs=1e-13)


def test_pass_at_k_stable_for_large_n():
    n = 4096
    for c in (0, 1, 7, 100, 2048, 4095, 4096):
        for k in (1, 2, 64, 1000, 4096):
            exact = 1 - Fraction(comb(n - c, k), comb(n, k))
            assert maxrl_rs.pass_at_k(n, c, k) == pytest.approx(float(exact), rel=1e-12, abs=1e-15)


def test_broadcasting_and_scalars():
    assert isinstance(maxrl_rs.pass_at_k(10, 3, 1), float)
    out = maxrl_rs.pass_at_k(np.array([10, 10]), np.array([[0], [5]]), 2)
    assert out.shape == (2, 2)
    assert out[1, 0] == pytest.approx(1 - comb(5, 2) / comb(10, 2))


def test_curve_is_the_mean_over_prompts():
    n = np.array([8, 8, 8])
    c = np.array([0, 2, 8])
    curve = maxrl_rs.pass_at_k_curve(n, c)
    np.testing.assert_array_equal(curve.ks, np.arange(1, 9))
    for k, v in zip(curve.ks, curve.values):
        assert v == pytest.approx(np.mean([maxrl_rs.pass_at_k(8, ci, int(k)) for ci in c]), abs=1e-14)
    sub = maxrl_rs.pass_at_k_curve(n, c, ks=[1, 4])
    np.testing.assert_allclose(sub.values, curve.values[[0, 3]])


def test_maxrl_objective_estimate():
    n, c = 12, 4
    for t in range(1, n + 1):
        want = -sum(Fraction(comb(n - c, k), comb(n, k)) / k for k in range(1, t + 1))
        assert maxrl_rs.maxrl_objective(n, c, t) == pytest.approx(float(want), rel=1e-13)
    assert maxrl_rs.maxrl_objective(n, c, 1) == pytest.approx(c / n - 1)
    # Large T approaches log p when the sample pass rate is p.
    assert maxrl_rs.maxrl_objective(4096, 2048, 4096) == pytest.approx(log(0.5), abs=2e-3)


def test_population_weights():
    p = np.array([0.1, 0.5, 0.9])
    np.testing.assert_allclose(maxrl_rs.population_weight(p, "rloo"), 1)
    np.testing.assert_allclose(maxrl_rs.population_weight(p, "grpo"), 1 / np.sqrt(p * (1 - p)))
    np.testing.assert_allclose(maxrl_rs.population_weight(p, "maxrl"), 1 / p)
    np.testing.assert_allclose(maxrl_rs.population_weight(p, "maxrl", order=1), 1)
    w3 = sum((1 - p) ** (k - 1) for k in range(1, 4))
    np.testing.assert_allclose(maxrl_rs.population_weight(p, "maxrl", order=3), w3)
    assert maxrl_rs.population_weight(1e-12, "maxrl", order=2) == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: maxrl_rs.pass_at_k(5, 6, 1), "6 correct out of n = 5"),
        (lambda: maxrl_rs.pass_at_k([5, 5], [1, 1], [1, 6]), "index 1"),
        (lambda: maxrl_rs.pass_at_k(5, -1, 1), "negative"),
        (lambda: maxrl_rs.pass_at_k(5, 1.5, 1), "1.5"),
        (lambda: maxrl_rs.pass_at_k_curve([4, 2], [1, 1], ks=[4]), "prompt 1"),
        (lambda: maxrl_rs.maxrl_objective(4, 1, 5), "order"),
        (lambda: maxrl_rs.population_weight([0.5, 0.0], "maxrl"), "index 1"),
        (lambda: maxrl_rs.population_weight(0.5, "ppo"), "ppo"),
    ],
)
def test_bad_input(call, fragment):
    with pytest.raises(InvalidInputError) as info:
        call()
    assert fragment in str(info.value)
