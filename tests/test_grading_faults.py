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


def check_each(cases: list[tuple[str, str, str, str, str | None]]) -> None:
    """(verifier, response, reference, status, extracted) rows, graded one verifier at a time."""
    for verifier in sorted({c[0] for c in cases}):
        check(verifier, [c[1:] for c in cases if c[0] == verifier])


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


# Further variants of each kind, written the way model outputs look: the verdict and the extracted answer.
def test_more_emphasis():
    check_each(
        [
            ("math", "Final Answer: __**3.5**__", "7/2", "correct", "3.5"),
            ("math", "**Final answer: _12_**", "12", "correct", "12"),
            ("math", "The answer is **`9`**.", "9", "correct", "9"),
            ("math", "Answer: **$x=4$**", "4", "correct", "x=4"),
            ("math", "### Final Answer\n\nThe total cost is **\\$45**.", "45", "correct", "45"),
            ("math", "Final answer: the value is **x = -2**", "-2", "correct", "x = -2"),
            ("math", "**The answer is 15.**", "15", "correct", "15"),
            ("math", "**The answer is 15.**", "5", "incorrect", "15"),
            ("math", "The answer is: ``256``", "256", "correct", "256"),
            ("math", "Answer: *The result is 11*", "11", "correct", "11"),
            ("gsm8k", "**Final Answer: 48**", "48", "correct", "48"),
            ("gsm8k", "The answer is **$1,200**.", "1200", "correct", "1200"),
            ("choice", "The answer is **(D)**.", "D", "correct", "D"),
            ("choice", "Final answer: `B`", "B", "correct", "B"),
            ("math", "Let me compute.\n\n**Final Answer:** **42**", "42", "correct", "42"),
            ("math", "Therefore, the final answer is: `18`", "18", "correct", "18"),
        ]
    )


def test_more_remarks():
    check_each(
        [
            ("math", "**Answer:** 5, and the remainder is 2.", "2", "incorrect", "5"),
            ("math", "**Answer:** 5, and the remainder is 2.", "5", "correct", "5"),
            ("math", "Answer: 5 and the remainder is 2.", "5", "correct", "5"),
            ("math", "The answer is 2 and 3.", "2", "incorrect", "2 and 3"),
            ("math", "The answer is x = 2 and y = 3.", "2", "incorrect", "x = 2 and y = 3"),
            (
                "math",
                "The sum is 45, and the product is 12. The answer is 45, and that is final.",
                "45",
                "correct",
                "45",
            ),
            ("math", "Final answer: 7, and we are done.", "7", "correct", "7"),
            ("math", "Final answer: 7, and 8 is wrong.", "8", "incorrect", "7, and 8"),
            ("math", "The answer is 1/2, and the probability of losing is 1/2 too.", "1/2", "correct", "1/2"),
            ("gsm8k", "**Answer:** 5, and the remainder is 2.", "5", "correct", "5"),
            ("gsm8k", "**Answer:** 5, and the remainder is 2.", "2", "incorrect", "5"),
            ("math", "The answer is 7. Let me double check: 3 + 4 = 7. Yes, 7.", "7", "correct", "7"),
            (
                "math",
                "Final Answer: 81, since 9^2 = 81 and the problem asks for 9 squared.",
                "9",
                "incorrect",
                "81",
            ),
            ("math", "The final answer is 150 km, which took 3 hours.", "3", "incorrect", "150"),
            ("math", "The final answer is 150 km, which took 3 hours.", "150", "correct", "150"),
            ("math", "Answer: 4 (out of 10 trials).", "10", "incorrect", "4"),
        ]
    )


def test_more_bare_math():
    check_each(
        [
            (
                "math",
                "\\begin{pmatrix} 2 & 0 \\\\ 0 & 2 \\end{pmatrix}",
                "2",
                "incorrect",
                "\\begin{pmatrix} 2 & 0 \\\\ 0 & 2 \\end{pmatrix}",
            ),
            (
                "math",
                "\\begin{pmatrix} 2 & 0 \\\\ 0 & 2 \\end{pmatrix}",
                "\\begin{pmatrix}2&0\\\\0&2\\end{pmatrix}",
                "correct",
                "\\begin{pmatrix} 2 & 0 \\\\ 0 & 2 \\end{pmatrix}",
            ),
            (
                "math",
                "\\begin{pmatrix} 3 \\\\ -1 \\\\ 2 \\end{pmatrix}",
                "\\begin{pmatrix}3\\\\-1\\\\2\\end{pmatrix}",
                "correct",
                "\\begin{pmatrix} 3 \\\\ -1 \\\\ 2 \\end{pmatrix}",
            ),
            (
                "math",
                "\\begin{pmatrix} 3 \\\\ -1 \\\\ 2 \\end{pmatrix}",
                "-1",
                "incorrect",
                "\\begin{pmatrix} 3 \\\\ -1 \\\\ 2 \\end{pmatrix}",
            ),
            (
                "math",
                "\\begin{pmatrix} 3 \\\\ -1 \\\\ 2 \\end{pmatrix}",
                "\\begin{pmatrix}3\\\\1\\\\2\\end{pmatrix}",
                "incorrect",
                "\\begin{pmatrix} 3 \\\\ -1 \\\\ 2 \\end{pmatrix}",
            ),
            ("math", "40\\text{ cm}^3", "40", "correct", "40\\text{ cm}^3"),
            ("math", "40\\text{ cm}^3", "3", "incorrect", "40\\text{ cm}^3"),
            ("math", "2.5 \\text{ hours}", "2.5", "correct", "2.5 \\text{ hours}"),
            ("math", "\\frac{9}{2}\\text{ units}^2", "4.5", "correct", "\\frac{9}{2}\\text{ units}^2"),
            ("math", "\\frac{9}{2}\\text{ units}^2", "2", "incorrect", "\\frac{9}{2}\\text{ units}^2"),
            ("math", "6\\sqrt{3}\\text{ cm}", "6\\sqrt3", "correct", "6\\sqrt{3}\\text{ cm}"),
            ("math", "100^\\circ", "100", "correct", "100"),
            ("math", "1,000,000", "1000000", "correct", "1,000,000"),
            (
                "math",
                "\\begin{pmatrix}1\\\\2\\end{pmatrix}",
                "\\begin{pmatrix}1\\\\2\\end{pmatrix}",
                "correct",
                "\\begin{pmatrix}1\\\\2\\end{pmatrix}",
            ),
            (
                "math",
                "\\begin{bmatrix}1 & 2\\\\3 & 4\\end{bmatrix}",
                "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}",
                "correct",
                "\\begin{bmatrix}1 & 2\\\\3 & 4\\end{bmatrix}",
            ),
            (
                "math",
                "\\begin{pmatrix}1\\\\2\\end{pmatrix}",
                "2",
                "incorrect",
                "\\begin{pmatrix}1\\\\2\\end{pmatrix}",
            ),
        ]
    )


def test_more_gsm8k_numbers():
    check_each(
        [
            ("gsm8k", "The answer is 1/4.", "0.25", "correct", "1/4"),
            ("gsm8k", "The answer is 1/4.", "1", "incorrect", "1/4"),
            ("gsm8k", "Final answer: 1/4.", "0.25", "correct", "1/4"),
            ("gsm8k", "So the answer is 2/5.", "0.4", "correct", "2/5"),
            ("gsm8k", "#### 3/8.", "0.375", "correct", "3/8"),
            ("gsm8k", "He pays 1/2.5 of it. #### 40", "40", "correct", "40"),
            ("gsm8k", "#### 1/3", "0.3333", "incorrect", "1/3"),
            ("gsm8k", "#### 2/3", "2", "incorrect", "2/3"),
            ("gsm8k", "#### 100 000", "100000", "correct", "100000"),
            ("gsm8k", "#### 100 000", "100", "incorrect", "100000"),
            ("gsm8k", "Final answer: 9/10", "0.9", "correct", "9/10"),
            ("gsm8k", "#### 3.75", "3.75", "correct", "3.75"),
            ("gsm8k", "#### 3.75", "3", "incorrect", "3.75"),
            ("gsm8k", "#### 12", "12.00", "correct", "12"),
            ("gsm8k", "She earns $8 per hour for 5 hours.\n#### 40", "40", "correct", "40"),
            ("gsm8k", "#### 1,000,000", "1000000", "correct", "1000000"),
        ]
    )


def test_more_choice_pronoun():
    check_each(
        [
            ("choice", "Answer: I would say C.", "C", "correct", "C"),
            ("choice", "Answer: I'd go with (D).", "D", "correct", "D"),
            ("choice", "I think B. I am sure.", "B", "correct", "B"),
            ("choice", "Answer: I", "B", "incorrect", "I"),
            ("choice", "The correct answer is I.", "I", "correct", "I"),
            ("choice", "Answer: I cannot determine this.", "C", "no_answer", None),
            ("choice", "Answer: I think it's either B or C.", "B", "incorrect", "B,C"),
            ("choice", "Answer: I think it is C", "C", "correct", "C"),
            ("choice", "Answer: I believe the answer is D", "D", "correct", "D"),
            ("choice", "Answer: I'm not sure.", "I", "no_answer", None),
            ("choice", "The answer is I.", "I", "correct", "I"),
            ("choice", "I would choose (B).", "B", "correct", "B"),
            ("choice", "Answer: I", "I", "correct", "I"),
            ("choice", "I am confident the correct option is E.", "E", "correct", "E"),
            ("choice", "Answer: I don't know.", "A", "no_answer", None),
            ("choice", "Answer: I guess B.", "B", "correct", "B"),
        ]
    )


def test_more_choice_labels():
    check_each(
        [
            ("choice", "\\boxed{F. None of these}", "F", "correct", "F"),
            ("choice", "\\boxed{B: A decrease in supply}", "B", "correct", "B"),
            ("choice", "\\boxed{(A) I only}", "A", "correct", "A"),
            ("choice", "\\boxed{\\text{C. An increase}}", "C", "correct", "C"),
            ("choice", "\\boxed{C. An increase}", "D", "incorrect", "C"),
            ("choice", "\\boxed{B and D}", "B", "incorrect", "B,D"),
            ("choice", "\\boxed{A) Both B and C}", "A", "correct", "A"),
            ("choice", "\\boxed{D}", "D", "correct", "D"),
            ("choice", "\\boxed{A or B. Both work}", "A", "incorrect", "A,B"),
            ("choice", "\\boxed{B. Mitochondria}", "B", "correct", "B"),
            ("choice", "\\boxed{(C) The Treaty of Versailles}", "C", "correct", "C"),
            ("choice", "\\boxed{D: All of the above}", "D", "correct", "D"),
            ("choice", "The answer is \\boxed{A) A large increase}", "A", "correct", "A"),
            ("choice", "\\boxed{C. A and B only}", "C", "correct", "C"),
            ("choice", "\\boxed{E. A polygenic risk score}", "A", "incorrect", "E"),
            ("choice", "\\boxed{B or C}", "B", "incorrect", "B,C"),
        ]
    )


def test_more_word_answers():
    check_each(
        [
            (
                "math",
                "Thus, the answer is $\\boxed{\\text{Sunday}}$.",
                "\\text{Sunday}",
                "correct",
                "\\text{Sunday}",
            ),
            ("math", "**Final Answer:** Wednesday", "\\text{Wednesday}", "correct", "Wednesday"),
            ("math", "**Final Answer:** Wednesday", "\\text{Thursday}", "incorrect", "Wednesday"),
            ("math", "The answer is: yes", "\\text{Yes}", "correct", "yes"),
            ("math", "The answer is: no", "\\text{Yes}", "incorrect", "no"),
            ("math", "\\boxed{\\text{even}}", "\\text{Even}", "correct", "\\text{even}"),
            ("math", "The answer is $\\boxed{\\textbf{odd}}$", "\\text{odd}", "correct", "{odd}"),
            ("math", "The final answer is False.", "\\text{False}", "correct", "False"),
            ("math", "The final answer is True.", "\\text{False}", "incorrect", "True"),
            (
                "math",
                "Final Answer: infinitely many",
                "\\text{infinitely many}",
                "correct",
                "infinitely many",
            ),
            ("math", "The answer is odd or even.", "\\text{odd}", "incorrect", "odd or even"),
            ("math", "The answer is even.", "\\text{even}", "correct", "even"),
            (
                "math",
                "Therefore, the answer is $\\boxed{\\text{Monday}}$.",
                "\\text{Monday}",
                "correct",
                "\\text{Monday}",
            ),
            ("math", "The final answer is Tuesday.", "\\text{Monday}", "incorrect", "Tuesday"),
            ("math", "Answer: No", "\\text{no}", "correct", "No"),
            ("math", "Answer: Yes", "\\text{no}", "incorrect", "Yes"),
        ]
    )


def test_more_times():
    check_each(
        [
            ("math", "The answer is 9 x 9 = 81.", "81", "correct", "9 \\times 9 = 81"),
            ("math", "The answer is 9 x 9 = 81.", "9", "incorrect", "9 \\times 9 = 81"),
            ("math", "\\boxed{4 x 25}", "100", "correct", "4 \\times 25"),
            ("math", "The answer is 3 x 10^4.", "30000", "correct", "3 \\times 10^4"),
            ("math", "Answer: 1.5 x 2", "3", "correct", "1.5 \\times 2"),
            ("math", "The answer is x = 4.", "4", "correct", "x = 4"),
            ("math", "The answer is 2 x 3 x 7.", "42", "correct", "2 \\times 3 \\times 7"),
            ("math", "\\boxed{6 × 7}", "42", "correct", "6 \\times 7"),
            ("math", "\\boxed{6 · 7}", "42", "correct", "6 \\cdot 7"),
            ("math", "The answer is 12 x 0.5 = 6.", "6", "correct", "12 \\times 0.5 = 6"),
            ("math", "The answer is 3 × 4 = 12.", "12", "correct", "3 \\times 4 = 12"),
            ("math", "The answer is 6 x 7 = 42.", "42", "correct", "6 \\times 7 = 42"),
            ("math", "The answer is 6 x 7 = 42.", "7", "incorrect", "6 \\times 7 = 42"),
            ("math", "\\boxed{7 x 8}", "56", "correct", "7 \\times 8"),
            ("math", "Answer: 2x3", "6", "correct", "2\\times 3"),
            ("math", "The answer is 2x + 3.", "2x+3", "correct", "2x + 3"),
        ]
    )


def test_more_option_golds():
    check_each(
        [
            ("math", "(D)", "D", "correct", "D"),
            ("math", "Answer: (A) 15", "A", "correct", "A"),
            ("math", "The answer is \\boxed{A}.", "B", "incorrect", "A"),
            ("math", "Final answer: C", "C", "correct", "C"),
            ("math", "So the correct choice is E.", "E", "correct", "E"),
            ("math", "Answer: D) 12", "D", "correct", "D"),
            ("math", "The answer is $\\boxed{\\text{(A)}\\ 5}$", "A", "correct", "A"),
            ("math", "The answer is B or D.", "B", "incorrect", "B,D"),
            ("math", "Final answer: (C) 17", "D", "incorrect", "C"),
            ("math", "\\boxed{C}", "(C)", "correct", "C"),
            ("math", "\\boxed{A}", "\\text{(A)}", "correct", "A"),
            ("math", "The answer is (C).", "C", "correct", "C"),
            ("math", "The answer is (C) 42", "C", "correct", "C"),
            ("math", "**Answer:** D", "D", "correct", "D"),
            ("math", "The correct option is (A).", "A", "correct", "A"),
            ("math", "The correct option is (A).", "B", "incorrect", "A"),
        ]
    )


def test_more_references_and_empty_answers():
    check_each(
        [
            ("math", "\\boxed{3}", "\\begin{pmatrix}1", "invalid_reference", None),
            ("math", "\\boxed{3}", "\\end{pmatrix}", "invalid_reference", None),
            (
                "math",
                "\\begin{pmatrix}1\\\\2\\end{pmatrix}",
                "\\begin{pmatrix}1\\\\2\\end{pmatrix}",
                "correct",
                "\\begin{pmatrix}1\\\\2\\end{pmatrix}",
            ),
            ("math", "The final answer is $\\boxed{}$.", "\\text{odd}", "no_answer", None),
            ("math", "\\boxed{{}}", "3", "no_answer", None),
            ("math", "The answer is \\boxed{}.", "3", "no_answer", None),
            ("math", "The answer is $\\boxed{ }$.", "3", "no_answer", None),
            ("math", "Final answer: \\boxed{\\,}", "3", "no_answer", None),
            ("math", "\\boxed{} so the answer is 5", "5", "correct", "5"),
            ("math", "\\boxed{5} \\boxed{}", "5", "correct", "5"),
            ("math", "The answer is \\boxed{0}.", "0", "correct", "0"),
            ("math", "\\boxed{3}", "\\frac{1}{", "invalid_reference", None),
            ("math", "\\boxed{3}", "{3", "invalid_reference", None),
            ("math", "\\boxed{3}", "3", "correct", "3"),
            ("math", "\\boxed{}", "3", "no_answer", None),
            ("gsm8k", "\\boxed{}", "3", "no_answer", None),
        ]
    )


def test_more_restatements_hedges_and_options():
    check_each(
        [
            ("math", "The answer is 60 eggs. Each box holds 12.", "12", "incorrect", "60"),
            (
                "math",
                "Final Answer: The store had 120 apples and sold 45, so 75 remain.",
                "75",
                "correct",
                "75",
            ),
            (
                "math",
                "Final Answer: The store had 120 apples and sold 45, so 75 remain.",
                "120",
                "incorrect",
                "75",
            ),
            (
                "math",
                "Final Answer: The store had 120 apples and sold 45, so 75 remain.",
                "45",
                "incorrect",
                "75",
            ),
            ("math", "Final answer: 32 - 7 = 25 marbles", "25", "correct", "32 - 7 = 25"),
            ("math", "Final answer: 32 - 7 = 25 marbles", "32", "incorrect", "32 - 7 = 25"),
            ("math", "The answer is 42, also known as the answer to everything.", "42", "correct", "42"),
            ("math", "Thus the answer is 9, so we're done.", "9", "correct", "9"),
            (
                "math",
                "The final answer is $\\boxed{7}$. I hope it is correct.\n\nNote: 8 would be wrong.",
                "8",
                "incorrect",
                "7",
            ),
            ("math", "**Final Answer**\n\\[ \\boxed{-4} \\]", "-4", "correct", "-4"),
            (
                "gsm8k",
                "Final Answer: The store had 120 apples and sold 45, so 75 remain.",
                "75",
                "correct",
                "75",
            ),
            ("gsm8k", "So she has 5 + 3 = 8 apples.\n#### 8", "8", "correct", "8"),
            ("math", "The answer is 5 or 6.", "5", "incorrect", "5 or 6"),
            ("math", "The answer is either 5 or 6.", "6", "incorrect", "5 or 6"),
            ("math", "The answer is 2, 3, or 4.", "3", "incorrect", "2, 3, or 4"),
            ("choice", "Answer: I'd say the answer is (B), though C is close.", "B", "correct", "B"),
            ("choice", "The answer is B, not C.", "B", "correct", "B"),
            ("choice", "The answer is B, not C.", "C", "incorrect", "B"),
            ("choice", "Either A or B.", "A", "incorrect", "A,B"),
            ("choice", "Answer: (A), (B)", "A", "incorrect", "A,B"),
            ("math", "The answer is $\\text{No}$.", "\\text{no}", "correct", "\\text{No}"),
            ("math", "Answer: It is odd.", "\\text{odd}", "correct", "odd"),
            ("math", "The answer is yes and no.", "\\text{yes}", "incorrect", "yes and no"),
            ("math", "The answer is Thursday, 3 days later.", "\\text{Thursday}", "correct", "Thursday"),
            (
                "math",
                "The answer is 3 x 4 x 5 = 60 cubic units.",
                "60",
                "correct",
                "3 \\times 4 \\times 5 = 60",
            ),
            ("math", "The dimensions are 3 x 4. The answer is 12.", "12", "correct", "12"),
            ("math", "\\boxed{2 \\times 10^3}", "2000", "correct", "2 \\times 10^3"),
            ("math", "Answer: 5x5", "25", "correct", "5\\times 5"),
            ("math", "The answer is \\boxed{C}", "C", "correct", "C"),
            ("math", "The answer is (B) $\\frac{1}{2}$.", "B", "correct", "B"),
            ("math", "I think A is wrong. The answer is B.", "A", "incorrect", "B"),
            ("math", "Option (C) is correct.", "C", "correct", "C"),
        ]
    )
