"""The batch grading API: results, errors, determinism, the GIL, bounds and random input."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import maxrl_rs
from maxrl_rs import STATUS_NAMES, Grader, Grades, InvalidInputError, _core, grade

VERIFIERS = ("math", "gsm8k", "exact", "choice", "maze", "countdown")

# One valid reference and one correct response per verifier.
SAMPLES = {
    "math": ("\\frac{1}{2}", "The answer is $\\boxed{\\frac{2}{4}}$."),
    "gsm8k": ("18", "9 * 2 = 18\n#### 18"),
    "exact": ("Paris", "paris"),
    "choice": ("B", "The answer is (B)."),
    "maze": ("S.#\n#.#\n#.G", "RIGHT DOWN DOWN RIGHT DONE"),
    "countdown": (json.dumps({"target": 24, "numbers": [3, 4, 8, 1]}), "<answer>(4-1)*8</answer>"),
}


def mixed_batch(verifier: str, n: int) -> tuple[list[str], list[str]]:
    """n responses, a few references: correct, wrong, empty, junk and invalid items interleaved."""
    ref, good = SAMPLES[verifier]
    responses = [good, "", "zzz", good + " " + good, "The answer is 7", good.upper()]
    references = [ref, ref, "##bad##", ref]
    return [responses[i % len(responses)] + ("" if i % 7 else f" {i}") for i in range(n)], [
        references[i % len(references)] for i in range(n)
    ]


def test_grades_object():
    g = grade(["#### 18", "#### 17", "no number", "#### 1"], ["18", "18", "18", "x"], "gsm8k")
    assert isinstance(g, Grades) and len(g) == 4
    assert g.scores.dtype == np.float32 and g.status.dtype == np.uint8
    assert g.scores.tolist() == [1.0, 0.0, 0.0, 0.0]
    assert g.status_names == ["correct", "incorrect", "no_answer", "invalid_reference"]
    assert g.extracted == ["18", "17", None, None]
    assert g.counts() == {
        "correct": 1,
        "incorrect": 1,
        "no_answer": 1,
        "invalid_reference": 1,
        "limit": 0,
        "error": 0,
    }
    assert g.mask.tolist() == [True, True, True, False]
    assert g.correct.tolist() == [True, False, False, False]
    assert g.accuracy == 0.25
    with pytest.raises(AttributeError):
        g.scores = g.scores  # frozen


def test_mask_feeds_advantages():
    g = grade(["#### 1", "#### 2", "#### 1", "#### 1"], ["1", "1", "x", "1"], "gsm8k")
    adv = maxrl_rs.advantages(g.scores, [0, 0, 0, 0], mask=g.mask)
    assert adv[2] == 0.0
    # Three graded rollouts, two correct: MaxRL gives N/K - 1 = 0.5 to successes and -1 to the failure.
    np.testing.assert_allclose(adv[[0, 1, 3]], [0.5, -1.0, 0.5])


def test_empty_batch():
    g = grade([], [], "exact")
    assert len(g) == 0 and g.scores.dtype == np.float32 and g.extracted == []
    assert g.counts()["correct"] == 0


def test_sequences_of_any_kind():
    g = grade(("Paris", "Rome"), np.array(["paris", "rome"]), "exact")
    assert g.status_names == ["correct", "correct"]
    g = grade((r for r in ["B"]), ["B"], "choice")
    assert g.status_names == ["correct"]


def test_dict_references_for_countdown():
    g = grade(["<answer>3*8</answer>"], [{"target": 24, "numbers": [3, 8]}], "countdown")
    assert g.status_names == ["correct"]


@pytest.mark.parametrize("verifier", VERIFIERS)
def test_every_verifier_grades_its_sample(verifier):
    ref, good = SAMPLES[verifier]
    g = grade([good, ""], [ref, ref], verifier)
    assert g.status_names == ["correct", "no_answer"], (verifier, g)


def test_grader_reuses_parsed_references():
    g = Grader("gsm8k", strict_format=True)
    assert g.verifier == "gsm8k" and g.options == {"strict_format": True}
    assert "strict_format=True" in repr(g)
    responses = [f"#### {i % 3}" for i in range(64)]
    refs = [str(i % 4) for i in range(64)]
    first = g.grade(responses, refs)
    assert g._core.cached_references == 4
    again = g(responses, refs, threads=2)
    np.testing.assert_array_equal(first.status, again.status)
    assert first.extracted == again.extracted
    assert g.grade(["The answer is 1"], ["1"]).status_names == ["no_answer"]


def test_grader_is_shareable_across_threads():
    g = Grader("choice")
    responses, refs = mixed_batch("choice", 500)
    want = g.grade(responses, refs).status.tolist()
    results: list[list[int]] = []

    def work():
        results.append(g.grade(responses, refs).status.tolist())

    ts = [threading.Thread(target=work) for _ in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert results == [want] * 3


# --- bad input ---------------------------------------------------------------------------------------


def raises(match: str):
    return pytest.raises(InvalidInputError, match=match)


@pytest.mark.parametrize(
    ("verifier", "options", "message"),
    [
        ("math", {"rel_tol": "abc"}, "math: option 'rel_tol' must be a number, got 'abc'"),
        ("math", {"float_rounding": True}, "math: option 'float_rounding' must be an integer, got True"),
        ("math", {"float_rounding": 0.5}, "math: option 'float_rounding' must be an integer, got 0.5"),
        ("math", {"boxed": "last"}, "option 'boxed' must be 'first', 'after_phrase' or 'off', got 'last'"),
        ("math", {"boxed": 3}, "math: option 'boxed' must be a string, got 3"),
        ("exact", {"case_sensitive": "it's"}, "exact: option 'case_sensitive' must be a bool, got \"it's\""),
        ("exact", {"max_depth": 1e-7}, "option 'max_depth' must be a positive integer, got 1e-07"),
        ("exact", {"time_budget_ms": float("inf")}, "option 'time_budget_ms' must be a positive number of "
         "milliseconds, got inf"),
    ],
)  # fmt: skip
def test_a_bad_option_value_is_shown_as_python_shows_it(verifier, options, message):
    with pytest.raises(InvalidInputError) as e:
        grade(["a"], ["a"], verifier, **options)
    assert str(e.value).endswith(message), str(e.value)


def test_bad_inputs_name_what_and_where():
    with raises("unknown verifier 'maths'.*gsm8k"):
        grade(["a"], ["a"], "maths")
    with raises("unknown verifier"):
        Grader("nope")
    with raises("unknown option 'strict'.*strict_format"):
        grade(["a"], ["a"], "gsm8k", strict=True)
    with raises("unknown option 'casesensitive'"):
        Grader("exact", casesensitive=True)
    with raises("'case_sensitive' must be a bool, got 'yes'$"):
        grade(["a"], ["a"], "exact", case_sensitive="yes")
    with raises("'num_choices' must be in 2..=26"):
        grade(["a"], ["a"], "choice", num_choices=40)
    with raises("option 'use_all' must be a bool, int, float or str, got list"):
        _core.grade(["a"], ["a"], "countdown", {"use_all": [1]})
    with raises("option 'max_depth' must be a positive integer, got -1$"):
        grade(["a"], ["a"], "exact", max_depth=-1)
    with raises("option 'time_budget_ms' must be a positive number of milliseconds, got 0$"):
        grade(["a"], ["a"], "exact", time_budget_ms=0)
    with raises("references has length 1, but responses has length 2"):
        grade(["a", "b"], ["a"], "exact")
    with raises("references has length 2, but responses has length 1"):
        Grader("exact").grade(["a"], ["a", "b"])
    with raises("references has length 1, but responses has length 2"):
        _core.grade(["a", "b"], ["a"], "exact")
    with raises(r"responses\[1\] must be text, got int 3$"):
        grade(["a", 3], ["a", "b"], "exact")
    with raises(r"references\[0\] must be text or a number, got NoneType None$"):
        grade(["a"], [None], "exact")
    with raises(r"references\[1\] must be text or a number, got bool True$"):
        grade(["a", "b"], ["a", True], "exact")
    with raises(r"references\[0\] must be a finite number, got float nan$"):
        grade(["a"], [float("nan")], "exact")
    with raises(r"references\[0\] must be text or a number, or a list of row strings, got list \[1\]$"):
        grade(["a"], [[1]], "maze")
    with raises(r"responses\[0\] must be text, got bytes b'a'$"):
        _core.grade([b"a"], ["a"], "exact")
    with raises("single str"):
        grade("abc", ["a", "b", "c"], "exact")
    with raises("must be a sequence"):
        grade(["a"], "a", "exact")
    with raises("must be a sequence"):
        grade(5, ["a"], "exact")
    with raises(r"references\[0\] a dict that is not JSON-serialisable"):
        grade(["a"], [{"target": object()}], "countdown")
    for bad in (0, -2, True, 1.5):
        with raises("threads must be a positive integer"):
            grade(["a"], ["a"], "exact", threads=bad)
    with raises("threads must be >= 1"):
        _core.grade(["a"], ["a"], "exact", None, 0)
    with raises("does not fit a 64-bit integer"):
        grade(["a"], ["a"], "choice", num_choices=2**70)


def test_errors_are_value_errors():
    with pytest.raises(ValueError):
        grade(["a"], [], "exact")


# --- determinism, threads, the GIL --------------------------------------------------------------------


@pytest.mark.parametrize("verifier", VERIFIERS)
def test_same_results_on_1_2_4_threads(verifier):
    responses, refs = mixed_batch(verifier, 600)
    base = grade(responses, refs, verifier, threads=1)
    assert len(set(base.status.tolist())) >= 3  # the batch really mixes outcomes
    for t in (2, 4, None):
        g = grade(responses, refs, verifier, threads=t)
        np.testing.assert_array_equal(g.scores, base.scores)
        np.testing.assert_array_equal(g.status, base.status)
        assert g.extracted == base.extracted


def _maze_batch(n: int) -> tuple[list[str], list[str]]:
    maze = "\n".join(["S" + "." * 198 + "#"] + ["." * 199 + "#"] * 198 + ["." * 199 + "G"])
    path = " ".join(["RIGHT"] * 198 + ["DOWN"] * 199 + ["RIGHT"])
    return [f"{path} DONE {i}" for i in range(n)], [maze] * n


def test_grading_releases_the_gil():
    """A Python thread keeps running while a single-threaded batch runs in Rust.

    The counter thread notes the time every half millisecond it gets to run. Had the call held the GIL,
    the thread could not run at all between the call's start and end, apart from one switch interval
    (5 ms) at the start; so it must have notes well inside the call, in its middle 60%.
    """
    n = 2000
    responses, refs = _maze_batch(n)
    while True:
        start = time.perf_counter()
        out = _core.grade(responses, refs, "maze", None, 1)
        if time.perf_counter() - start >= 0.15 or n >= 1 << 18:
            break
        n *= 2
        responses, refs = _maze_batch(n)
    assert set(out[1].tolist()) == {0}
    notes: list[float] = []
    stop = threading.Event()

    def counter():
        last = 0.0
        while not stop.is_set():
            t = time.perf_counter()
            if t - last > 0.0005:
                notes.append(t)
                last = t

    thread = threading.Thread(target=counter, daemon=True)
    thread.start()
    try:
        while not notes:
            time.sleep(0.001)
        start = time.perf_counter()
        _core.grade(responses, refs, "maze", None, 1)
        end = time.perf_counter()
    finally:
        stop.set()
        thread.join()
    margin = 0.2 * (end - start)
    inside = [t for t in notes if start + margin < t < end - margin]
    assert len(inside) >= 3, (len(inside), end - start, n)


# --- bounds and random input --------------------------------------------------------------------------

HOSTILE = [
    "9^{9^{9^{9^9}}}",
    "\\boxed{9^{9^{9^{9^9}}}}",
    "{" * 10_000 + "}" * 10_000,
    "\\boxed{" + "{" * 10_000 + "1" + "}" * 10_000 + "}",
    "(" * 10_000 + "1" + ")" * 10_000,
    "<answer>" + "(" * 10_000 + "3" + ")" * 10_000 + "</answer>",
    "\\frac{" * 5_000 + "1" + "}{2}" * 5_000,
    "x" * (1 << 20),
    "RIGHT " * 200_000 + "DONE",
    "1" * 100_000,
    "#### " + "9" * 50_000,
    "\ud800\udfff broken surrogates \udcff",
    bytes(range(256)).decode("latin-1") * 100,
    "🙂 ünïcödé ∑ ∫ √2 ½ ① Ⅻ" * 1000,
    "\\boxed{\\sqrt{\\sqrt{\\sqrt{" * 300 + "2" + "}}}" * 300 + "}",
]


@pytest.mark.parametrize("verifier", VERIFIERS)
def test_hostile_inputs_end_with_a_verdict(verifier):
    ref, _ = SAMPLES[verifier]
    g = grade(HOSTILE + [ref] * 3, [ref] * len(HOSTILE) + HOSTILE[:3], verifier)
    assert set(g.status.tolist()) <= set(range(len(STATUS_NAMES)))
    assert "error" not in g.status_names, list(zip(g.status_names, [h[:40] for h in HOSTILE]))
    assert ((g.scores == 1.0) == (g.status == 0)).all()


def test_oversized_responses_are_limit_or_graded_on_the_tail():
    big = "x" * (2 << 20)
    g = grade([big + "#### 7"], ["7"], "gsm8k")
    assert g.status_names == ["correct"]
    assert grade([big], ["x"], "exact").status_names == ["limit"]
    assert grade(["a"], [big], "exact").status_names == ["limit"]
    assert grade(["RIGHT DONE" + big], ["SG"], "maze").status_names == ["limit"]
    small = grade(["x" * 100 + "#### 7"], ["7"], "gsm8k", max_input_bytes=50)
    assert small.status_names == ["correct"]
    assert grade(["x" * 100], ["x" * 100], "exact", max_input_bytes=50).status_names == ["limit"]


texts = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=300).map(lambda b: b.decode("utf-8", "surrogateescape")),
    st.lists(
        st.sampled_from(
            [
                "\\boxed{",
                "}",
                "{",
                "(",
                ")",
                "####",
                "answer",
                "is",
                "B",
                "-",
                "1,000",
                "<answer>",
                "</answer>",
                "UP",
                "DOWN",
                "LEFT",
                "RIGHT",
                "DONE",
                "=",
                "/",
                "*",
                "^",
                "\\frac",
                "S",
                "G",
                "#",
                ".",
                "\n",
                " ",
                "3",
                "8",
                "0",
                "9^{9^9}",
                "\\sqrt",
                "x",
                "$",
            ]
        ),
        max_size=60,
    ).map("".join),
)


@pytest.mark.parametrize("verifier", VERIFIERS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(responses=st.lists(texts, min_size=1, max_size=8), reference=texts)
def test_random_text_never_raises(verifier, responses, reference):
    ref, _ = SAMPLES[verifier]
    refs = [reference if i % 2 else ref for i in range(len(responses))]
    g = grade(responses, refs, verifier)
    assert len(g) == len(responses)
    assert set(g.status.tolist()) <= set(range(len(STATUS_NAMES)))
    assert "error" not in g.status_names
    assert ((g.scores == 1.0) == (g.status == 0)).all() and ((g.scores == 0.0) | (g.scores == 1.0)).all()
    assert all(e is None or isinstance(e, str) for e in g.extracted)
