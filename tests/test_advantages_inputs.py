"""What advantages() and group_stats() accept: group ids of any hashable type, options that apply to the
chosen estimator, 0/1 masks; and the errors that name the bad index and value otherwise."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import maxrl_rs
from maxrl_rs import InvalidInputError
from maxrl_rs._group_ids import group_ids

R4 = [1, 0, 0, 0]
TWO_GROUPS = [1.0, -1.0, 0.0, 0.0]  # maxrl: a 1-of-2 group, then an all-fail group dropped to 0


# --- group ids: equal in Python <=> one group ---------------------------------------------------------


@pytest.mark.parametrize(
    "ids",
    [
        [1, 1, "1", "1"],
        [None, None, "None", "None"],
        [(0, 1), (0, 1), (2, 3), (2, 3)],
        ((0, 1), (0, 1), (2, 3), (2, 3)),
        [b"a", b"a", "a", "a"],
        [1.5, 1.5, "1.5", "1.5"],
        [2**70, 2**70, 2**70 + 1, 2**70 + 1],
        [2**53 + 1, 2**53 + 1, 2.0**53, 2.0**53],  # unequal, but one float64 after np.asarray
        [0.5, 0.5, (0.5,), (0.5,)],
        [frozenset({1}), frozenset({1}), frozenset({2}), frozenset({2})],
        np.array([1, 1, "1", "1"], dtype=object),
        np.array([(0, 1), (0, 1), (2, 3), (2, 3), None], dtype=object)[:4],
        np.array([1e19, 1e19, 2e19, 2e19]),  # beyond int64: not cast (the cast would merge them)
        np.array([0.5, 0.5, 1.5, 1.5]),
        np.array(["x", "x", "y", "y"]),
        np.array([b"x", b"x", b"y", b"y"]),
        np.array(["2024-01-01", "2024-01-01", "2024-01-02", "2024-01-02"], dtype="datetime64[D]"),
        np.array([1 + 1j, 1 + 1j, 1 - 1j, 1 - 1j]),
    ],
    ids=repr,
)
def test_ids_that_differ_are_two_groups(ids):
    np.testing.assert_array_equal(maxrl_rs.advantages(R4, ids), TWO_GROUPS)
    assert maxrl_rs.group_stats(R4, ids).groups == 2


@pytest.mark.parametrize(
    "ids",
    [
        [1, 1.0, True, np.int64(1)],
        ["a", np.str_("a"), "a", "a"],
        np.array([3.0, 3.0, 3.0, 3.0]),
        np.array([0.0, -0.0, 0.0, -0.0]),
        [(1, "a"), (1.0, "a"), (True, "a"), (1, np.str_("a"))],
    ],
    ids=repr,
)
def test_ids_equal_in_python_are_one_group(ids):
    # Python's rule: 1 == 1.0 == True (and equal hashes), so these are one group of four.
    np.testing.assert_array_equal(maxrl_rs.advantages(R4, ids), [3.0, -1.0, -1.0, -1.0])


def _mixed_labels(n: int) -> list:
    """``n`` ids pairwise unequal in Python, of many types, several of which print alike."""
    kinds = [
        lambda i: i,
        lambda i: str(i),
        lambda i: (i,),
        lambda i: (i, "x"),
        lambda i: f"{i}".encode(),
        lambda i: i + 0.5,
        lambda i: None if i == 0 else frozenset({i}),
    ]
    return [kinds[i % len(kinds)](i // len(kinds)) for i in range(n)]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(maxrl_rs.ESTIMATORS))
@example(312, "reinforce")  # only int ids drawn: the fast path, ids given back as NumPy ints
def test_any_hashable_labels_group_like_integers(seed, est):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 14, rng.integers(1, 60))
    rewards = (rng.random(codes.size) < 0.5).astype(float)
    labels = _mixed_labels(14)
    assert len({*labels}) == 14  # pairwise unequal
    ids = [labels[c] for c in codes]
    want = maxrl_rs.advantages(rewards, codes, est)
    np.testing.assert_array_equal(maxrl_rs.advantages(rewards, ids, est), want)
    np.testing.assert_array_equal(
        maxrl_rs.advantages(rewards, np.array([*ids, []], dtype=object)[:-1], est), want
    )
    s, base = maxrl_rs.group_stats(rewards, ids), maxrl_rs.group_stats(rewards, codes)
    # tolist: when every id drawn is an int, ids are NumPy ints, and np.int64(3) == (0, "x") is an array
    by_label = dict(zip([labels.index(i) for i in s.ids.tolist()], zip(s.n, s.k)))
    assert by_label == dict(zip(base.ids.tolist(), zip(base.n, base.k)))


def test_integer_arrays_take_the_fast_path_without_a_copy():
    for dtype in (np.int64, np.int32, np.uint8, bool):
        a = np.arange(7).astype(dtype)
        g = group_ids(a)
        assert g.labels is None and g.codes.dtype == np.int64
        np.testing.assert_array_equal(g.codes, a.astype(np.int64))
    a = np.arange(7, dtype=np.int64)
    assert np.shares_memory(group_ids(a).codes, a)
    assert group_ids([5, 5, True, -3]).labels is None  # a list of ints is one NumPy conversion, no dict
    assert group_ids(np.array([2.0, 2.0, -7.0])).labels is None  # integral floats are their integers


def test_group_stats_reports_the_callers_ids():
    s = maxrl_rs.group_stats([1, 0, 1, 1, 0], [(2, 1), (0, 5), (2, 1), (0, 5), (1, 0)])
    assert s.ids.tolist() == [(0, 5), (1, 0), (2, 1)]  # ascending: tuples compare
    assert s.n.tolist() == [2, 1, 2] and s.k.tolist() == [1, 0, 2]
    s = maxrl_rs.group_stats([1, 0, 0, 1], ["b", 1, "b", None])
    assert s.ids.tolist() == ["b", 1, None]  # no order between str, int and None: first appearance
    assert s.n.tolist() == [2, 1, 1]
    s = maxrl_rs.group_stats([1, 0, 0], np.array(["u2", "u1", "u2"], dtype=object))
    assert s.ids.tolist() == ["u1", "u2"]
    s = maxrl_rs.group_stats([1, 0, 0], [0.5, 1.5, 0.5])
    assert s.ids.tolist() == [0.5, 1.5] and s.n.tolist() == [2, 1]
    s = maxrl_rs.group_stats([1, 0, 0], [7, 3, 7])
    assert s.ids.dtype == np.int64 and s.ids.tolist() == [3, 7]


@pytest.mark.parametrize(
    ("ids", "message", "index"),
    [
        ([[1], [1]], "group_ids[0] is not hashable: list [1]; ids must be hashable", 0),
        ([0, 0, {"a": 1}], "group_ids[2] is not hashable: dict {'a': 1}", 2),
        ([(0, 1), (0, [1])], "group_ids[1] is not hashable: tuple (0, [1])", 1),
        (np.array([3, None, np.zeros(2)], dtype=object), "group_ids[2] is not hashable: ndarray", 2),
        ([[0, 1], [2]], "group_ids[0] is not hashable: list [0, 1]", 0),
        ([1, float("nan"), 1], "group_ids[1] is NaN, which equals no id (not even itself): float nan", 1),
        (np.array([0.0, 1.0, np.nan]), "group_ids[2] is NaN", 2),
        (np.array(["a", 0.5, float("nan")], dtype=object), "group_ids[2] is NaN", 2),
        ([(1, 2), complex("nan")], "group_ids[1] is NaN", 1),
    ],
)
def test_bad_ids_name_index_and_value(ids, message, index):
    for call in (maxrl_rs.advantages, maxrl_rs.group_stats):
        with pytest.raises(InvalidInputError) as e:
            call([1.0] * len(ids), ids)
        assert str(e.value).startswith(message)
        assert (e.value.index, e.value.name) == (index, "group_ids")


def test_nan_ids_in_a_tensor_are_refused():
    torch = pytest.importorskip("torch")
    with pytest.raises(InvalidInputError, match=r"group_ids\[1\] is NaN"):
        maxrl_rs.advantages([1, 0], torch.tensor([0.0, float("nan")]))


def test_errors_name_the_callers_group_and_leave_indices_alone():
    ids = [f"g{i}" for i in range(12)]
    with pytest.raises(InvalidInputError) as e:
        maxrl_rs.advantages([1.0] * 11 + [0.5], ids)
    # The group's code is 11 and so is an index in the message: only the group is renamed.
    assert "0.5 at index 11 (group 'g11')" in str(e.value)
    assert (e.value.index, e.value.group) == (11, "g11")
    with pytest.raises(InvalidInputError) as e:
        maxrl_rs.advantages([1, 0, 1], [(1, "a"), (1, "a"), None], order=2)
    assert "group None" in str(e.value) and e.value.group is None
    with pytest.raises(InvalidInputError, match=r"group \(2, 3\)"):
        maxrl_rs.advantages([1, 0, 0.5], [(0, 1), (0, 1), (2, 3)])


def test_ids_must_be_one_dimensional():
    with pytest.raises(InvalidInputError, match=r"group_ids must be 1-D, got shape \(2, 2\)"):
        maxrl_rs.advantages([1, 0], np.zeros((2, 2), dtype=np.int64))
    with pytest.raises(InvalidInputError, match="group_ids must be a 1-D sequence, got int"):
        maxrl_rs.advantages([1], 3)


# --- options that apply to the estimator --------------------------------------------------------------

OFF_DEFAULT = {"order": 2, "drop_all_fail": False, "eps": 0.1, "std": "population"}
APPLIES = {"order": "maxrl", "drop_all_fail": "maxrl", "eps": "grpo", "std": "grpo"}
CASES = [(est, key) for key in OFF_DEFAULT for est in maxrl_rs.ESTIMATORS if est != APPLIES[key]]


@pytest.mark.parametrize(("estimator", "key"), CASES)
def test_an_option_the_estimator_does_not_read_is_refused(estimator, key):
    value = OFF_DEFAULT[key]
    with pytest.raises(InvalidInputError) as e:
        maxrl_rs.advantages([1, 0, 0, 1], [0, 0, 0, 0], estimator, **{key: value})
    assert str(e.value).startswith(
        f"{key}={value!r} does not apply to the {estimator} estimator, only to {APPLIES[key]}"
    )
    assert e.value.name == key


@pytest.mark.parametrize("key", list(OFF_DEFAULT))
def test_an_option_is_read_by_the_estimator_it_applies_to(key):
    r, g = [1, 0, 0, 0, 0, 0], [0, 0, 0, 1, 1, 1]
    est = APPLIES[key]
    assert not np.array_equal(
        maxrl_rs.advantages(r, g, est, **{key: OFF_DEFAULT[key]}), maxrl_rs.advantages(r, g, est)
    )


@pytest.mark.parametrize("estimator", maxrl_rs.ESTIMATORS)
def test_defaults_passed_explicitly_are_fine_for_every_estimator(estimator):
    r, g = [1, 0, 0, 1, 1, 0], [0, 0, 0, 1, 1, 1]
    explicit = maxrl_rs.advantages(
        r, g, estimator, order=None, clamp_order=False, drop_all_fail=True, eps=1e-6, std="sample", mask=None
    )
    np.testing.assert_array_equal(explicit, maxrl_rs.advantages(r, g, estimator))
    np.testing.assert_array_equal(
        maxrl_rs.advantages(r, g, estimator, drop_all_fail=np.bool_(True)), explicit
    )


@pytest.mark.parametrize(
    ("spelling", "name"),
    [
        ("GRPO", "grpo"),
        ("Dr-GRPO", "dr_grpo"),
        ("drgrpo", "dr_grpo"),
        ("DR_GRPO", "dr_grpo"),
        ("RLOO", "rloo"),
    ],
)
def test_spellings_of_an_estimator_are_checked_as_the_estimator(spelling, name):
    r, g = [1, 0, 0.5, 1], [0, 0, 0, 0]
    np.testing.assert_array_equal(maxrl_rs.advantages(r, g, spelling), maxrl_rs.advantages(r, g, name))
    with pytest.raises(InvalidInputError, match=f"order=3 does not apply to the {name} estimator"):
        maxrl_rs.advantages(r, g, spelling, order=3)


def test_drop_all_fail_must_be_a_bool():
    for bad in ("no", 0, None):
        with pytest.raises(InvalidInputError, match="drop_all_fail must be True or False"):
            maxrl_rs.advantages([1, 0], [0, 0], drop_all_fail=bad)


def test_population_weight_refuses_an_order_outside_maxrl():
    assert maxrl_rs.population_weight(0.5, "maxrl", order=2) == pytest.approx(1.5)
    assert maxrl_rs.population_weight(0.5, "MaxRL") == pytest.approx(2.0)
    assert maxrl_rs.population_weight(0.25, "drgrpo") == 1.0
    for est in ("grpo", "rloo", "ml", "rl"):
        with pytest.raises(InvalidInputError, match=f"order=3 does not apply to the {est} estimator"):
            maxrl_rs.population_weight(0.5, est, order=3)


def test_config_refuses_drop_all_fail_for_other_estimators():
    from maxrl_rs.config import load_config

    with pytest.raises(maxrl_rs.ConfigError, match=r"algo\.drop_all_fail: only the maxrl estimator reads it"):
        load_config(overrides=["algo.estimator=grpo", "algo.drop_all_fail=false"])
    assert load_config(overrides=["algo.estimator=grpo", "algo.drop_all_fail=true"]).algo.estimator == "grpo"
    assert not load_config(overrides=["algo.drop_all_fail=false"]).algo.drop_all_fail


# --- masks: booleans or 0/1 ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mask", "message"),
    [
        (np.full(4, 0.5), "mask[0] must be a boolean or 0/1, got float 0.5"),
        ([2] * 4, "mask[0] must be a boolean or 0/1, got int 2"),
        ([1, 0, -1, 1], "mask[2] must be a boolean or 0/1, got int -1"),
        ([1.0, 0.0, 1.0, float("nan")], "mask[3] must be a boolean or 0/1, got float nan"),
        ([True, None, True, True], "mask[1] must be a boolean or 0/1, got NoneType None"),
        (["1", "0", "1", "1"], "mask[0] must be a boolean or 0/1, got str '1'"),
        ([1, "1", 1, 1], "mask[1] must be a boolean or 0/1, got str '1'"),
        (np.array([1, 0, 3, 1], dtype=np.uint8), "mask[2] must be a boolean or 0/1, got int 3"),
        (
            np.array([True, "yes", True, True], dtype=object),
            "mask[1] must be a boolean or 0/1, got str 'yes'",
        ),
    ],
)
def test_a_mask_value_other_than_bool_or_0_1_is_refused(mask, message):
    for call in (
        lambda: maxrl_rs.advantages(R4, [0, 0, 1, 1], mask=mask),
        lambda: maxrl_rs.group_stats(R4, [0] * 4, mask),
    ):
        with pytest.raises(InvalidInputError) as e:
            call()
        assert str(e.value) == message
        assert e.value.name == "mask"


def test_a_twelve_rollout_batch_with_a_half_mask_is_refused_not_all_true():
    with pytest.raises(InvalidInputError, match=r"mask\[0\] must be a boolean or 0/1, got float 0.5"):
        maxrl_rs.advantages([1, 0] * 6, [0] * 12, mask=np.full(12, 0.5))
    with pytest.raises(InvalidInputError, match=r"mask\[0\] must be a boolean or 0/1, got int 2"):
        maxrl_rs.advantages([1, 0] * 6, [0] * 12, mask=[2] * 12)


@pytest.mark.parametrize(
    "mask",
    [
        [1, 0, 1, 1],
        [1.0, 0.0, 1.0, 1.0],
        np.array([1, 0, 1, 1], dtype=np.int8),
        np.array([True, False, True, True], dtype=object),
        np.array([1, False, 1.0, True], dtype=object),
        (True, False, True, True),
    ],
    ids=repr,
)
def test_zero_one_masks_equal_the_boolean_mask(mask):
    want = maxrl_rs.advantages(R4, [0, 0, 1, 1], mask=[True, False, True, True])
    np.testing.assert_array_equal(maxrl_rs.advantages(R4, [0, 0, 1, 1], mask=mask), want)
    assert want.tolist() == [0.0, 0.0, 0.0, 0.0]  # the masked failure leaves a 1-of-1 group and a dropped one


def test_torch_masks():
    torch = pytest.importorskip("torch")
    want = maxrl_rs.advantages([1, 0, 0, 1], [0] * 4, mask=[1, 1, 0, 1])
    for m in (
        torch.tensor([1, 1, 0, 1]),
        torch.tensor([1.0, 1.0, 0.0, 1.0]),
        torch.tensor([1, 1, 0, 1]).bool(),
    ):
        np.testing.assert_array_equal(maxrl_rs.advantages([1, 0, 0, 1], [0] * 4, mask=m), want)
    with pytest.raises(InvalidInputError, match=r"mask\[2\] must be a boolean or 0/1, got float 0.5"):
        maxrl_rs.advantages([1, 0, 0, 1], [0] * 4, mask=torch.tensor([1.0, 1.0, 0.5, 1.0]))
