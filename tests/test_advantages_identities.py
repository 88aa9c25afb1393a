"""The exact-expectation identities of docs/estimators.md, through the public API.

A one-parameter Bernoulli-logit policy has score r_i − p, and every estimator's A_i depends only on r_i and
K, so E[ĝ] is a finite sum over K ~ Binomial(N, p). Each estimator must hit its closed form to 1e-12.
"""

from __future__ import annotations

from math import comb

import numpy as np
import pytest

import maxrl_rs

PS = (0.03, 0.37, 0.5, 0.81)


def per_k_advantages(n: int, estimator: str, **kw) -> tuple[np.ndarray, np.ndarray]:
    """A_succ(K), A_fail(K) for K = 0..N from one call: group K holds K successes and N − K failures."""
    rewards = np.concatenate([np.r_[np.ones(k), np.zeros(n - k)] for k in range(n + 1)])
    ids = np.repeat(np.arange(n + 1), n)
    a = maxrl_rs.advantages(rewards, ids, estimator, **kw).reshape(n + 1, n)
    a_succ = np.array([a[k, 0] if k > 0 else 0.0 for k in range(n + 1)])
    a_fail = np.array([a[k, n - 1] if k < n else 0.0 for k in range(n + 1)])
    return a_succ, a_fail


def expected_gradient(n: int, p: float, a_succ: np.ndarray, a_fail: np.ndarray) -> float:
    total = 0.0
    for k in range(n + 1):
        prob = comb(n, k) * p**k * (1 - p) ** (n - k)
        total += prob / n * (k * a_succ[k] * (1 - p) + (n - k) * a_fail[k] * (-p))
    return total


def w_t(p: float, t: int) -> float:
    return sum((1 - p) ** (k - 1) for k in range(1, t + 1))


NS = range(1, 33)


@pytest.mark.parametrize("n", NS)
def test_reinforce_and_rloo_target_pass_at_1(n):
    for est in ("reinforce", "rloo"):
        a_s, a_f = per_k_advantages(n, est)
        for p in PS:
            want = p * (1 - p) if (est == "reinforce" or n > 1) else 0.0
            assert expected_gradient(n, p, a_s, a_f) == pytest.approx(want, rel=1e-12, abs=1e-15), (est, p)


@pytest.mark.parametrize("n", NS)
def test_maxrl_order_t_is_unbiased_for_order_t(n):
    # drop_all_fail=False: Eq. 10 of the paper, unbiased for J^(T) with T ≤ N.
    for t in range(1, n + 1):
        a_s, a_f = per_k_advantages(n, "maxrl", order=t, drop_all_fail=False)
        for p in PS:
            want = w_t(p, t) * p * (1 - p)
            got = expected_gradient(n, p, a_s, a_f)
            assert got == pytest.approx(want, rel=1e-12, abs=1e-15), (t, p)


@pytest.mark.parametrize("n", NS)
def test_maxrl_dropping_all_fail_groups(n):
    # drop_all_fail=True (default): the bias is exactly (1 − p)^(N−1)·p(1 − p), so T = N targets order N − 1.
    for t in range(1, n + 1):
        a_s, a_f = per_k_advantages(n, "maxrl", order=t)
        for p in PS:
            want = (w_t(p, t) - (1 - p) ** (n - 1)) * p * (1 - p)
            got = expected_gradient(n, p, a_s, a_f)
            assert got == pytest.approx(want, rel=1e-12, abs=1e-15), (t, p)


def test_default_order_is_group_size():
    rewards = [1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1]
    ids = [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1]
    default = maxrl_rs.advantages(rewards, ids)
    # Group 0: N = 4, K = 2 → N/K − 1 = 1; group 1: N = 7, K = 2 → 2.5.
    np.testing.assert_array_equal(default, [1, -1, -1, 1, 2.5, -1, -1, -1, -1, -1, 2.5])


def test_million_rollouts_exact():
    from fractions import Fraction

    n, k = 1_000_000, 3
    rewards = np.zeros(n)
    rewards[[5, 500_000, 999_999]] = 1
    ids = np.zeros(n, dtype=np.int64)
    full = maxrl_rs.advantages(rewards, ids)
    assert full[5] == pytest.approx(float(Fraction(n, k) - 1), rel=1e-15)
    assert full[0] == -1
    t = 400_000
    a = maxrl_rs.advantages(rewards, ids, order=t)
    # ρ_T = C(N−K, T)/C(N−1, T) = (N−1−T)(N−2−T)/((N−1)(N−2)) for K = 3; S_T = (N − (N−T)ρ_T)/K.
    rho = Fraction((n - 1 - t) * (n - 2 - t), (n - 1) * (n - 2))
    want = (n - (n - t) * rho) / k - 1
    assert a[500_000] == pytest.approx(float(want), rel=1e-12)
