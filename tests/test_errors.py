"""Errors from the core: one exception type whose message and attributes name the array, index and group."""

import numpy as np
import pytest

import maxrl_rs
from maxrl_rs import InvalidInputError, _core
from maxrl_rs.errors import ConfigError


def _raised(call):
    with pytest.raises(InvalidInputError) as info:
        call()
    assert isinstance(info.value, ValueError)
    return info.value


def _i64(*xs):
    return np.array(xs, dtype=np.int64)


@pytest.mark.parametrize(
    ("call", "message", "name"),
    [
        (
            lambda: _core.pass_at_k(_i64(3, 3, 3), _i64(1, 1), _i64(1, 1, 1)),
            "c has length 2, but n has length 3",
            "c",
        ),
        (lambda: _core.pass_at_k(_i64(3, 3), _i64(1, 1), _i64(1)), "k has length 1, but n has length 2", "k"),
        (
            lambda: _core.maxrl_objective(_i64(3), _i64(1), _i64(1, 2)),
            "order has length 2, but n has length 1",
            "order",
        ),
        (lambda: _core.pass_at_k_curve(_i64(3, 3), _i64(1)), "c has length 1, but n has length 2", "c"),
        (
            lambda: maxrl_rs.advantages([1, 0], [0]),
            "group_ids has length 1, but rewards has length 2",
            "group_ids",
        ),
        (
            lambda: maxrl_rs.advantages([1, 0], [0, 0], mask=[True]),
            "mask has length 1, but rewards has length 2",
            "mask",
        ),
        (
            lambda: maxrl_rs.group_stats([1, 0], [0, 0], mask=[True] * 3),
            "mask has length 3, but group_ids has length 2",
            "mask",
        ),
        (
            lambda: maxrl_rs.grade(["a", "b"], ["a"], "exact"),
            "references has length 1, but responses has length 2",
            "references",
        ),
    ],
)
def test_length_mismatch_names_both_arrays(call, message, name):
    err = _raised(call)
    assert message in str(err)
    assert (err.name, err.index, err.group) == (name, None, None)


def test_attributes_locate_the_bad_element():
    err = _raised(lambda: maxrl_rs.advantages([1, 0, 0.5], [4, 4, 9]))
    assert (err.index, err.group, err.name) == (2, 9, "rewards")
    err = _raised(lambda: maxrl_rs.advantages([1.0, float("nan")], [0, 0], "grpo"))
    assert (err.index, err.group, err.name) == (1, None, "rewards")
    err = _raised(lambda: maxrl_rs.advantages([1, 0, 1], [0, 0, 7], order=2))
    assert (err.index, err.group, err.name) == (None, 7, "order")
    err = _raised(lambda: maxrl_rs.pass_at_k([5, 5, 5], [1, 6, 1], 1))
    assert (err.index, err.name) == (1, "c")
    assert str(err) == "at index 1: invalid c: 6 correct out of n = 5 samples"
    err = _raised(lambda: maxrl_rs.pass_at_k_curve([4, 2, 4], [1, 1, 1], ks=[1, 3]))
    assert (err.index, err.name) == (1, "ks")
    err = _raised(lambda: maxrl_rs.advantages([1, 0], [0, 0], "ppo"))
    assert err.name == "estimator" and all(e in str(err) for e in maxrl_rs.ESTIMATORS)
    err = _raised(lambda: maxrl_rs.grade(["a", 3], ["a", "b"], "exact"))
    assert (err.index, err.name) == (1, "responses")


def test_factorised_group_ids_come_back_as_the_callers_ids():
    # "uid-b" is code 1 in the core; the error names the caller's id, in the message and the attribute.
    err = _raised(lambda: maxrl_rs.advantages([1, 0, 0.5, 1], ["uid-a", "uid-a", "uid-b", "uid-c"]))
    assert err.group == "uid-b" and err.index == 2 and err.name == "rewards"
    assert "(group 'uid-b')" in str(err) and "group 1" not in str(err)
    err = _raised(lambda: maxrl_rs.advantages([1, 0, 1], ["x", "x", "y"], order=2))
    assert err.group == "y" and "group 'y'" in str(err)


def test_negative_or_zero_order_and_counts():
    for order in (0, -3):
        err = _raised(lambda order=order: maxrl_rs.advantages([1, 0], [0, 0], order=order))
        assert err.name == "order" and f"invalid order: {order}; order must be >= 1" in str(err)
    err = _raised(lambda: maxrl_rs.pass_at_k(5, 1, -2))
    assert str(err) == "at index 0: invalid k: -2; need 1 <= k <= n = 5"
    err = _raised(lambda: maxrl_rs.maxrl_objective([4, 4], [1, 1], [0, 2]))
    assert (err.index, err.name) == (0, "order")
    err = _raised(lambda: maxrl_rs.pass_at_k([5, -5], [1, 1], 1))
    assert (err.index, err.name) == (1, "n") and "negative count" in str(err)


def test_errors_raised_in_python_have_the_attributes_too():
    for err in (InvalidInputError("x"), ConfigError("y")):
        assert (err.index, err.group, err.name) == (None, None, None)


def test_empty_curve_is_an_error_not_a_numpy_one():
    err = _raised(lambda: maxrl_rs.pass_at_k_curve([], []))
    assert err.name == "n" and "empty" in str(err)
    err = _raised(lambda: maxrl_rs.pass_at_k_curve([4, 4, 4], [1, 1]))
    assert "do not broadcast" in str(err)


def test_names_come_from_the_core():
    from maxrl_rs import grading
    from maxrl_rs.cli import grade as grade_cli

    assert maxrl_rs.ESTIMATORS == tuple(_core.ESTIMATORS) == ("reinforce", "rloo", "grpo", "dr_grpo", "maxrl")
    names = maxrl_rs.STATUS_NAMES
    assert [names[c] for c in grading.NO_VERDICT] == ["invalid_reference", "limit", "error"]
    assert (grading.CORRECT, grading.LIMIT) == (names.index("correct"), names.index("limit"))
    assert grade_cli.LIMIT_KEYS is grading.LIMIT_KEYS
    limits = {"max_input_bytes", "max_depth", "max_digits", "max_exponent", "time_budget_ms"}
    assert set(grading.LIMIT_KEYS) == limits
    for key in grading.LIMIT_KEYS:  # every limit key is accepted by every verifier
        for verifier in grading.VERIFIERS:
            maxrl_rs.Grader(verifier, **{key: 5})
    # Grades.mask is exactly "status not in NO_VERDICT"
    status = np.arange(len(names), dtype=np.uint8)
    g = grading.Grades(scores=np.zeros(len(names), np.float32), status=status, extracted=[None] * len(names))
    assert g.mask.tolist() == [c not in grading.NO_VERDICT for c in range(len(names))]


@pytest.mark.parametrize(
    ("word", "shown"),
    [("int", "an int"), ("str", "a str"), ("ndarray", "an ndarray"), ("Example", "an Example"),
     ("float", "a float"), ("list", "a list"), ("ufunc", "a ufunc"), ("uint8", "a uint8"),
     ("object", "an object"), ("UserDict", "a UserDict"), ("NoneType", "a NoneType"), ("", "a ")],
)  # fmt: skip
def test_a_type_name_gets_the_article_of_its_first_letter(word, shown):
    from maxrl_rs.errors import a_or_an

    assert a_or_an(word) == shown
