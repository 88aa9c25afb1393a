"""Known failure modes of answer graders, checked end to end through ``maxrl_rs.grade``.

Each case asserts the verdict and the extracted answer. ``rust/core/tests/grading_faults.rs`` holds more
variants; these check the same rules through Python, and that the options reach the verifiers.
"""

from __future__ import annotations

import pytest

from maxrl_rs import InvalidInputError, grade

Case = tuple[str, str, str, "str | None"]


def check(verifier: str, cases: list[Case], **options: object) -> None:
    g = grade([c[0] for c in cases], [c[1] for c in cases], verifier, **options)
    got = list(zip(g.status_names, g.extracted))
    bad = [
        f"{r!r} vs {ref!r}: got {s} {e!r}, want {ws} {we!r}"
        for (r, ref, ws, we), (s, e) in zip(cases, got)
        if (s, e) != (ws, we)
    ]
    assert not bad, "\n".join(bad)


def test_emphasis_and_code_marks():
    check(
        "math",
        [
            ("Final answer: it is **7**", "7", "correct", "7"),
            ("The answer is `42`.", "42", "correct", "42"),
            ("Answer: __7__", "7", "correct", "7"),
            ("**Final Answer:** *-12*", "-12", "correct", "-12"),
            ("Final answer: it is **7**", "9", "incorrect", "7"),
        ],
    )


def test_remarks_after_the_answer():
    check(
        "math",
        [
            ("So the final answer is 12 apples, not 15.", "15", "incorrect", "12"),
            ("So the final answer is 12 apples, not 15.", "12", "correct", "12"),
            ("**Answer:** 73 people own all four (we used 234 pairs).", "73", "correct", "73"),
            ("Final answer: 2,500 dollars, which is 500 more than before.", "2500", "correct", "2,500"),
            ("Final Answer: After 3 days, Tom has 15 apples.", "15", "correct", "15"),
        ],
    )


def test_bare_matrices_and_units():
    m = "\\begin{pmatrix}1\\\\2\\end{pmatrix}"
    check(
        "math",
        [
            (m, "2", "incorrect", m),
            (m, m, "correct", m),
            ("5\\text{ cm}^2", "5", "correct", "5\\text{ cm}^2"),
            ("The area is 5 cm^2.", "5", "correct", "5"),
        ],
    )


def test_gsm8k_whole_numbers_and_options():
    check(
        "gsm8k",
        [
            ("#### 3/4", "3", "incorrect", "3/4"),
            ("Final answer: 1/2", "1", "incorrect", "1/2"),
            ("Final answer: 1/2", "0.5", "correct", "1/2"),
            ("Answer: 1 000 000", "1000000", "correct", "1000000"),
            ("#### 29,00", "29", "correct", "29"),
            ("#### 18\n\nQuestion: And 6 * 7?\n#### 42", "18", "correct", "18"),
        ],
    )
    check("gsm8k", [("#### 29,00", "2900", "correct", "2900")], decimal_comma=False)
    check("gsm8k", [("#### 18\n\nQuestion: And 6 * 7?\n#### 42", "42", "correct", "42")], ignore_run_on=False)


def test_choice_pronoun_and_labels():
    check(
        "choice",
        [
            ("Answer: I think it is B", "B", "correct", "B"),
            ("Answer: I don't know.", "I", "no_answer", None),
            ("Answer: I", "I", "correct", "I"),
            ("\\boxed{E. A polygenic risk score}", "E", "correct", "E"),
            ("\\boxed{E. A polygenic risk score}", "A", "incorrect", "E"),
            ("\\boxed{B, D}", "B", "incorrect", "B,D"),
        ],
    )


def test_math_word_answers_and_times():
    check(
        "math",
        [
            ("The answer is odd.", "\\text{odd}", "correct", "odd"),
            ("Monday", "\\text{Monday}", "correct", "Monday"),
            ("Yes", "\\text{yes}", "correct", "Yes"),
            ("The answer is even.", "\\text{odd}", "incorrect", "even"),
            ("The answer is 7 x 8 = 56.", "56", "correct", "7 \\times 8 = 56"),
            ("\\boxed{2x}", "2x", "correct", "2x"),
        ],
    )


def test_math_option_letter_golds():
    check(
        "math",
        [
            ("(B)", "B", "correct", "B"),
            ("Answer: B", "B", "correct", "B"),
            ("B) 42", "B", "correct", "B"),
            ("The correct option is (B).", "B", "correct", "B"),
            ("Answer: C", "B", "incorrect", "C"),
            ("b", "B", "incorrect", "b"),
        ],
    )


def test_malformed_references_empty_boxes_and_limits():
    check(
        "math",
        [
            ("The answer is 5", "\\frac{", "invalid_reference", None),
            ("\\frac{", "\\frac{", "invalid_reference", None),
            ("The answer is 5", "((", "invalid_reference", None),
            ("The answer is 5", "\\boxed{", "invalid_reference", None),
            ("\\boxed{}", "5", "no_answer", None),
            ("$[0, 1)$", "[0,1)", "correct", "[0, 1)"),
        ],
    )
    big = "The answer is \\boxed{7}. " + "x" * 2000
    for verifier, ref in (("math", "7"), ("gsm8k", "7"), ("choice", "B")):
        g = grade([big], [ref], verifier, max_input_bytes=1000)
        assert (g.status_names[0], g.extracted[0]) == ("limit", None), verifier
        assert not g.mask[0]


def test_contested_options():
    two = "\\boxed{3} Hmm, actually \\boxed{4}"
    check("math", [(two, "4", "correct", "4")])
    check("math", [(two, "4", "incorrect", "3, 4")], self_correction=False)
    run_on = "So \\boxed{18}.\n\nQuestion: and 6 * 7?\nAnswer: \\boxed{42}"
    check("math", [(run_on, "18", "correct", "18")])
    check("math", [(run_on, "42", "correct", "42")], ignore_run_on=False)
    with pytest.raises(InvalidInputError, match="self_correction"):
        grade(["1"], ["1"], "math", self_correction="yes")
