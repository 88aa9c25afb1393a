"""Estimator behaviour: parity with reference implementations, properties, dtypes and errors."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import maxrl_rs
from maxrl_rs import InvalidInputError


def algorithm_one(rewards, ids):
    """The paper's Algorithm 1 as the official code writes it: per uid, successes N/K − 1, failures −1."""
    out = np.zeros(len(rewards))
    groups = defaultdict(list)
    for i, g in enumerate(ids):
        groups[g].append(i)
    for idx in groups.values():
        r = np.asarray(rewards)[idx]
        mean = r.mean()
        out[idx] = 0.0 if mean == 0 else (r - mean) / mean
    return out


def verl_grpo(rewards, ids, eps=1e-6):
    """verl's compute_grpo_outcome_advantage (torch.std: Bessel), for groups of two or more."""
    torch = pytest.importorskip("torch")
    scores = torch.tensor(rewards, dtype=torch.float64)
    id2score = defaultdict(list)
    for i, g in enumerate(ids):
        id2score[g].append(scores[i])
    mean = {g: torch.mean(torch.stack(v)) for g, v in id2score.items()}
    std = {g: torch.std(torch.stack(v)) for g, v in id2score.items()}
    return np.array([((scores[i] - mean[g]) / (std[g] + eps)).item() for i, g in enumerate(ids)])


def verl_rloo(rewards, ids):
    """verl's compute_rloo_outcome_advantage."""
    id2score = defaultdict(list)
    for r, g in zip(rewards, ids):
        id2score[g].append(r)
    out = []
    for r, g in zip(rewards, ids):
        n = len(id2score[g])
        mean = np.mean(id2score[g])
        out.append(r * n / (n - 1) - mean * n / (n - 1))
    return np.array(out)


def random_batch(seed, groups=50, max_size=12, binary=True, min_size=1):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(min_size, max_size + 1, groups)
    ids = np.repeat(rng.permutation(10_000)[:groups], sizes)
    p = rng.random(groups).repeat(sizes)
    rewards = (rng.random(ids.size) < p).astype(float) if binary else rng.normal(size=ids.size)
    perm = rng.permutation(ids.size)
    return rewards[perm], ids[perm]


@pytest.mark.parametrize("seed", range(5))
def test_parity_with_algorithm_one(seed):
    r, g = random_batch(seed)
    np.testing.assert_allclose(maxrl_rs.advantages(r, g), algorithm_one(r, g), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("binary", [True, False])
def test_parity_with_verl_grpo_and_rloo(seed, binary):
    r, g = random_batch(seed, min_size=2, binary=binary)
    np.testing.assert_allclose(maxrl_rs.advantages(r, g, "grpo"), verl_grpo(r, g), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(maxrl_rs.advantages(r, g, "rloo"), verl_rloo(r, g), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        maxrl_rs.advantages(r, g, "dr_grpo"), r - verl_rloo_mean(r, g), rtol=1e-12, atol=1e-12
    )


def verl_rloo_mean(r, g):
    sums, counts = defaultdict(float), defaultdict(int)
    for x, k in zip(r, g):
        sums[k] += x
        counts[k] += 1
    return np.array([sums[k] / counts[k] for k in g])


def test_grpo_population_std_and_eps():
    r = np.array([1.0, 0.0, 0.0, 0.0])
    pop = maxrl_rs.advantages(r, [0] * 4, "grpo", std="population", eps=0.0)
    np.testing.assert_allclose(pop, (r - 0.25) / np.std(r))
    samp = maxrl_rs.advantages(r, [0] * 4, "grpo", eps=0.1)
    np.testing.assert_allclose(samp, (r - 0.25) / (np.std(r, ddof=1) + 0.1))
    # No spread and eps = 0: zero advantage, never NaN.
    assert np.all(maxrl_rs.advantages([1.0, 1.0], [0, 0], "grpo", eps=0.0) == 0)


def test_singletons_and_all_fail_groups():
    r = [1.0, 0.0, 0.0, 0.0]
    ids = [1, 2, 3, 3]
    for est in ("rloo", "grpo", "dr_grpo"):
        np.testing.assert_array_equal(maxrl_rs.advantages(r, ids, est), [0, 0, 0, 0])
    np.testing.assert_array_equal(maxrl_rs.advantages(r, ids, "maxrl"), [0, 0, 0, 0])
    np.testing.assert_array_equal(maxrl_rs.advantages(r, ids, "maxrl", drop_all_fail=False), [0, -1, -1, -1])
    np.testing.assert_array_equal(maxrl_rs.advantages(r, ids, "reinforce"), r)


def test_mask_excludes_from_n_and_k():
    r = [1, 0, 1, 0, 0]
    a = maxrl_rs.advantages(r, [0] * 5, mask=[True, True, False, True, True])
    np.testing.assert_array_equal(a, [3, -1, 0, -1, -1])  # N = 4, K = 1


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(maxrl_rs.ESTIMATORS))
def test_shuffling_permutes_output(seed, est):
    r, g = random_batch(seed, groups=20, binary=True)
    perm = np.random.default_rng(seed + 1).permutation(r.size)
    base = maxrl_rs.advantages(r, g, est)
    np.testing.assert_allclose(maxrl_rs.advantages(r[perm], g[perm], est), base[perm], rtol=1e-13, atol=1e-15)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(maxrl_rs.ESTIMATORS))
def test_relabelling_groups_changes_nothing(seed, est):
    r, g = random_batch(seed, groups=20, binary=True)
    rng = np.random.default_rng(seed)
    uniq = np.unique(g)
    relabel = dict(zip(uniq, rng.integers(-(2**62), 2**62, uniq.size)))
    g2 = np.array([relabel[x] for x in g], dtype=np.int64)
    np.testing.assert_array_equal(maxrl_rs.advantages(r, g2, est), maxrl_rs.advantages(r, g, est))
    strings = np.array([f"uid-{x}" for x in g], dtype=object)
    np.testing.assert_array_equal(maxrl_rs.advantages(r, strings, est), maxrl_rs.advantages(r, g, est))


def test_dtypes_and_containers():
    r32 = np.array([1, 0, 0, 1], dtype=np.float32)
    out = maxrl_rs.advantages(r32, np.array([0, 0, 0, 0], dtype=np.int32))
    assert out.dtype == np.float32
    assert maxrl_rs.advantages([True, False], [0, 0]).dtype == np.float64
    assert isinstance(maxrl_rs.advantages([1, 0], (7, 7)), np.ndarray)


def test_torch_tensors_round_trip():
    torch = pytest.importorskip("torch")
    r = torch.tensor([1.0, 0.0, 0.0, 1.0], dtype=torch.bfloat16)
    out = maxrl_rs.advantages(r, torch.tensor([3, 3, 3, 3]))
    assert isinstance(out, torch.Tensor) and out.dtype == torch.bfloat16
    assert out.tolist() == [1.0, -1.0, -1.0, 1.0]


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: maxrl_rs.advantages([1, 0], [0]), "length 1"),
        (lambda: maxrl_rs.advantages([], []), "empty"),
        (lambda: maxrl_rs.advantages([1.0, float("inf")], [0, 0], "grpo"), "index 1"),
        (lambda: maxrl_rs.advantages([1, 0, 0.5], [4, 4, 9]), "0.5 at index 2 (group 9)"),
        (lambda: maxrl_rs.advantages([1, 0, 1], [0, 0, 1], order=2), "group 1"),
        (lambda: maxrl_rs.advantages([1, 0], [0, 0], order=0), "order must be >= 1"),
        (lambda: maxrl_rs.advantages([1, 0], [0, 0], "ppo"), "grpo, dr_grpo, maxrl"),
        (lambda: maxrl_rs.advantages([1, 0], [0, 0], "grpo", std="median"), "median"),
        (lambda: maxrl_rs.advantages([1, 0], [0, 0], mask=[True]), "mask"),
        (lambda: maxrl_rs.advantages(["a", 0], [0, 0]), "rewards[0]"),
        (lambda: maxrl_rs.advantages([[1, 0]], [0, 0]), "1-D"),
        (lambda: maxrl_rs.advantages([1, 0], [0, 0], "grpo", eps=-1.0), "eps"),
    ],
)
def test_bad_input_is_a_clear_value_error(call, fragment):
    with pytest.raises(InvalidInputError) as info:
        call()
    assert isinstance(info.value, ValueError)
    assert fragment in str(info.value)


def test_group_stats():
    s = maxrl_rs.group_stats([1, 0, 0, 0, 1, 1, 1], [5, 5, 2, 2, 9, 9, 11])
    np.testing.assert_array_equal(s.ids, [2, 5, 9, 11])
    np.testing.assert_array_equal(s.n, [2, 2, 2, 1])
    np.testing.assert_array_equal(s.k, [0, 1, 2, 1])
    np.testing.assert_allclose(s.mean, [0, 0.5, 1, 1])
    assert (s.groups, s.singletons, s.all_fail, s.all_success) == (4, 1, 1, 2)
    assert s.solved_fraction == 0.75
    assert s.summary()["frac_all_fail"] == 0.25


def test_errors_name_string_group_ids():
    with pytest.raises(InvalidInputError, match="group 'uid-b'"):
        maxrl_rs.advantages([1, 0, 0.5], ["uid-a", "uid-a", "uid-b"])


@pytest.mark.parametrize(
    ("spelling", "name"),
    [
        ("MaxRL", "maxrl"),
        ("Dr-GRPO", "dr_grpo"),
        ("drgrpo", "dr_grpo"),
        ("dr_grpo", "dr_grpo"),
        ("RLOO", "rloo"),
    ],
)
def test_estimator_spellings_read_as_the_core_reads_them(spelling, name):
    from maxrl_rs.advantages import estimator_name

    assert estimator_name(spelling) == name
    r, g = np.array([1.0, 0.0, 0.0, 1.0]), np.array([0, 0, 1, 1])
    np.testing.assert_array_equal(maxrl_rs.advantages(r, g, spelling), maxrl_rs.advantages(r, g, name))


def test_an_unknown_estimator_keeps_its_spelling_in_the_error():
    from maxrl_rs.advantages import estimator_name

    assert estimator_name("PPO") == "PPO"
    with pytest.raises(maxrl_rs.InvalidInputError, match=r"PPO.*maxrl"):
        maxrl_rs.advantages(np.array([1.0]), np.array([0]), "PPO")


# --- clamp_order: a configured order in groups that masking left smaller ----------------------------------


def test_clamp_order_hand_computed():
    # T = 4. Group 7: 3 unmasked of 4 (K = 1) -> order 3 = N_g: 3/1 − 1 = 2 and −1, −1; its masked row 0.
    # Group 8: 4 unmasked, K = 2, order 4 = N: 4/2 − 1 = 1 and −1. Group 9: all masked -> 0.
    r = [1, 0, 1, 0, 1, 1, 0, 0, 1, 0, 1, 0]
    g = [7, 7, 7, 7, 8, 8, 8, 8, 9, 9, 9, 9]
    m = [True, True, False, True, True, True, True, True, False, False, False, False]
    out = maxrl_rs.advantages(r, g, order=4, clamp_order=True, mask=m)
    assert out.tolist() == [2.0, -1.0, 0.0, -1.0, 1.0, 1.0, -1.0, -1.0, 0.0, 0.0, 0.0, 0.0]
    # The short group equals order=None on its 3 unmasked rollouts alone.
    alone = maxrl_rs.advantages([1, 0, 0], [7, 7, 7])
    np.testing.assert_array_equal(out[[0, 1, 3]], alone)
    # A short all-fail group: 0 with drop_all_fail (default), −1 each with drop_all_fail=False.
    r, g, m = [0, 0, 0, 1], [1, 1, 1, 1], [1, 1, 1, 0]
    assert maxrl_rs.advantages(r, g, order=4, clamp_order=True, mask=m).tolist() == [0.0] * 4
    out = maxrl_rs.advantages(r, g, order=4, clamp_order=True, drop_all_fail=False, mask=m)
    assert out.tolist() == [-1.0, -1.0, -1.0, 0.0]


def test_clamp_order_keeps_a_strict_default_that_names_the_keyword():
    with pytest.raises(InvalidInputError) as e:
        maxrl_rs.advantages([1, 0, 1, 0], ["a"] * 4, order=4, mask=[1, 1, 1, 0])
    assert "order 4 is larger than group 'a', which has 3 unmasked rollouts" in str(e.value)
    assert "clamp_order=True" in str(e.value)
    assert (e.value.name, e.value.group) == ("order", "a")
    # Other errors are left as they are; bad input is still refused under clamp_order.
    with pytest.raises(InvalidInputError) as e:
        maxrl_rs.advantages([1, 0], [0, 0], order=0, clamp_order=True)
    assert "clamp_order" not in str(e.value)
    with pytest.raises(InvalidInputError, match=r"0\.5 at index 2"):
        maxrl_rs.advantages([1, 0, 0.5], [4, 4, 4], order=4, clamp_order=True)
    with pytest.raises(InvalidInputError, match="length 3"):
        maxrl_rs.advantages([1, 0], [0, 0, 0], order=4, clamp_order=True)
    with pytest.raises(InvalidInputError, match="mask"):
        maxrl_rs.advantages([1, 0], [0, 0], order=4, clamp_order=True, mask=[True])
    with pytest.raises(InvalidInputError, match="clamp_order must be True or False"):
        maxrl_rs.advantages([1, 0], [0, 0], order=2, clamp_order="yes")
    with pytest.raises(InvalidInputError, match="clamp_order=True does not apply to the grpo estimator"):
        maxrl_rs.advantages([1, 0], [0, 0], "grpo", clamp_order=True)


def test_clamp_order_changes_nothing_when_every_group_reaches_the_order():
    rng = np.random.default_rng(3)
    r = rng.integers(0, 2, 64).astype(np.float32)
    g = np.repeat(np.arange(8), 8)
    m = rng.random(64) < 0.9
    t = 2  # every group keeps at least 2 of 8 here
    assert maxrl_rs.group_stats(r, g, mask=m).n.min() >= t
    out = maxrl_rs.advantages(r, g, order=t, clamp_order=True, mask=m)
    ref = maxrl_rs.advantages(r, g, order=t, mask=m)
    assert out.dtype == ref.dtype == np.float32
    assert out.tobytes() == ref.tobytes()
    # order=None with clamp_order is order=None.
    assert (
        maxrl_rs.advantages(r, g, clamp_order=True, mask=m).tobytes()
        == maxrl_rs.advantages(r, g, mask=m).tobytes()
    )


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 5), st.booleans(), st.booleans()), min_size=1, max_size=40),
    st.integers(1, 6),
    st.booleans(),
)
def test_clamp_order_is_order_min_t_ng_per_group(rows, t, drop_all_fail):
    g = np.array([row[0] for row in rows])
    r = np.array([float(row[1]) for row in rows])
    m = np.array([row[2] for row in rows])
    out = maxrl_rs.advantages(r, g, order=t, clamp_order=True, drop_all_fail=drop_all_fail, mask=m)
    for gid in np.unique(g):
        idx = np.flatnonzero(g == gid)
        kept = idx[m[idx]]
        assert np.all(out[idx[~m[idx]]] == 0)
        if kept.size == 0:
            continue
        # Each group on its own, unmasked rows only: order T when it has T rows, else its own N_g (None).
        alone = maxrl_rs.advantages(
            r[kept], g[kept], order=t if kept.size >= t else None, drop_all_fail=drop_all_fail
        )
        assert out[kept].tobytes() == alone.tobytes()
    stats = maxrl_rs.group_stats(r, g, mask=m)
    assert stats.order_clamped(t) == sum(1 for n in stats.n if 0 < n < t)


def test_order_clamped_counts_groups_below_the_order():
    s = maxrl_rs.group_stats([1, 0, 1, 0, 1, 1, 0], [0, 0, 0, 1, 1, 2, 2], mask=[1, 1, 1, 1, 1, 0, 0])
    np.testing.assert_array_equal(s.n, [3, 2, 0])
    assert [s.order_clamped(t) for t in (None, 1, 2, 3, 4)] == [0, 0, 0, 1, 2]  # the empty group never counts
