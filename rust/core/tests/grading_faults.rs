//! Known failure modes of answer graders, each handled by a general rule and checked here on several
//! variants: verdict and extracted answer together.

use maxrl_core::grading::{Grader, OptValue, Options, Status};
use Status::{Correct, Incorrect, InvalidReference, NoAnswer};

/// (response, reference, verdict, extracted answer)
type Case<'a> = (&'a str, &'a str, Status, Option<&'a str>);

fn check_with(verifier: &str, opts: &[(&str, OptValue)], cases: &[Case]) {
    let mut o = Options::new();
    for (k, v) in opts {
        o.insert((*k).to_string(), v.clone());
    }
    let g = Grader::new(verifier, &o).unwrap();
    let mut bad = Vec::new();
    for &(response, reference, status, extracted) in cases {
        let v = g.grade_one(response, reference);
        if (v.status, v.extracted.as_deref()) != (status, extracted) {
            bad.push(format!(
                "{verifier} {response:?} vs {reference:?}: got {:?} {:?}, want {status:?} {extracted:?}",
                v.status, v.extracted
            ));
        }
    }
    assert!(bad.is_empty(), "\n{}", bad.join("\n"));
}

fn check(verifier: &str, cases: &[Case]) {
    check_with(verifier, &[], cases);
}

// 1. Emphasis or code marks around an answer are not part of it.
#[test]
fn emphasis_and_code_marks_around_an_answer() {
    check(
        "math",
        &[
            ("Final answer: it is **7**", "7", Correct, Some("7")),
            ("Final answer: it is **7**", "8", Incorrect, Some("7")),
            ("The answer is `42`.", "42", Correct, Some("42")),
            ("Answer: __7__", "7", Correct, Some("7")),
            ("**Final Answer:** *12*", "12", Correct, Some("12")),
            (
                "The final answer is **-3/4**.",
                r"-\frac34",
                Correct,
                Some("-3/4"),
            ),
            ("Answer: ***x = 5***", "5", Correct, Some("x = 5")),
            ("The answer is $x = 5$, not $x = 6$.", "5", Correct, Some("x = 5")),
            ("So the answer is _odd_.", r"\text{odd}", Correct, Some("odd")),
            ("**Answer:** `1,250` dollars", "1250", Correct, Some("1,250")),
            ("Final Answer: __**3.5**__", "7/2", Correct, Some("3.5")),
            ("**Final answer: _12_**", "12", Correct, Some("12")),
            // `*` and `_` inside math stay math.
            ("Answer: 2*3", "6", Correct, Some("2*3")),
            ("The answer is a_1 + 1", "a_1+1", Correct, Some("a_1 + 1")),
        ],
    );
}

// 2. The answer is the first expression after the phrase; later remarks do not override it.
#[test]
fn remarks_after_the_answer_do_not_override_it() {
    check(
        "math",
        &[
            (
                "So the final answer is 12 apples, not 15.",
                "15",
                Incorrect,
                Some("12"),
            ),
            (
                "So the final answer is 12 apples, not 15.",
                "12",
                Correct,
                Some("12"),
            ),
            (
                "**Answer:** 73 people own all four (we used 234 pairs).",
                "73",
                Correct,
                Some("73"),
            ),
            (
                "**Answer:** 73 people own all four (we used 234 pairs).",
                "234",
                Incorrect,
                Some("73"),
            ),
            ("The final answer is $12$, not $15$.", "15", Incorrect, Some("12")),
            (
                "Final answer: 18 of the 24 students passed.",
                "18",
                Correct,
                Some("18"),
            ),
            (
                "Final Answer: The number of apples is 15, which is 5 more than Sue has.",
                "15",
                Correct,
                Some("15"),
            ),
            ("The answer is 5 since 12 - 7 = 5.", "5", Correct, Some("5")),
            (
                "Final answer: 40 minutes; the train leaves at 3.",
                "40",
                Correct,
                Some("40"),
            ),
            (
                "Final answer: -8 degrees, compared to 4 yesterday.",
                "-8",
                Correct,
                Some("-8"),
            ),
            (
                "Final answer: 3/4 of the pie, because 1 - 1/4 = 3/4.",
                "0.75",
                Correct,
                Some("3/4"),
            ),
            // A restatement before the result: the result is read.
            (
                "Final Answer: After 3 days, Tom has 15 apples.",
                "15",
                Correct,
                Some("15"),
            ),
            (
                "Final Answer: If the area of the square is 16, the side length is 4.",
                "4",
                Correct,
                Some("4"),
            ),
            ("Final Answer: The largest $n$ is 34.", "34", Correct, Some("34")),
            (
                "Final answer: the sum is 45, and the product is 12",
                "45",
                Correct,
                Some("45"),
            ),
            (
                "Answer: The probability is 1/6, not 1/3.",
                "1/6",
                Correct,
                Some("1/6"),
            ),
            (
                "Final answer: 2 and 3 are the roots",
                "2, 3",
                Correct,
                Some("2 and 3"),
            ),
            (
                "The answer is 3.5 hours, i.e. 210 minutes.",
                "3.5",
                Correct,
                Some("3.5"),
            ),
            (
                "So, the answer is $\\boxed{12}$ (not 13).",
                "12",
                Correct,
                Some("12"),
            ),
            ("The answer is 7, because 3 + 4 = 7", "7", Correct, Some("7")),
            // ", and" before a word opens a new clause; before a number it joins a list.
            (
                "**Answer:** 5, and the remainder is 2.",
                "2",
                Incorrect,
                Some("5"),
            ),
            ("Answer: 5 and the remainder is 2.", "5", Correct, Some("5")),
            ("Final answer: 7, and we are done.", "7", Correct, Some("7")),
            ("The answer is 2 and 3.", "2", Incorrect, Some("2 and 3")),
            ("The answer is either 5 or 6.", "6", Incorrect, Some("5 or 6")),
            (
                "The answer is x = 2 and y = 3.",
                "2",
                Incorrect,
                Some("x = 2 and y = 3"),
            ),
            ("Answer: 1/2, i.e. 0.5", "1/2", Correct, Some("1/2")),
            // A restatement's result follows its conclusion word; a leading condition is dropped.
            (
                "Final Answer: Sarah has 3 times as many as Tom, who has 4, so she has 12.",
                "12",
                Correct,
                Some("12"),
            ),
            (
                "Final Answer: If each box holds 12 eggs and there are 5 boxes, the total is 60 eggs.",
                "12",
                Incorrect,
                Some("60"),
            ),
            (
                "The answer is: $-\\frac{1}{2}$ (negative one half)",
                "-1/2",
                Correct,
                Some("-\\frac{1}{2}"),
            ),
        ],
    );
}

// 3. A bare expression without `$` is read whole: matrices, numbers with units.
#[test]
fn bare_matrices_and_units_are_read_whole() {
    let m = r"\begin{pmatrix}1\\2\end{pmatrix}";
    check(
        "math",
        &[
            (m, "2", Incorrect, Some(m)),
            (m, m, Correct, Some(m)),
            (m, "(1, 2)", Correct, Some(m)),
            (
                r"\begin{bmatrix}1 & 0\\0 & 1\end{bmatrix}",
                r"\begin{pmatrix}1&0\\0&1\end{pmatrix}",
                Correct,
                Some(r"\begin{bmatrix}1 & 0\\0 & 1\end{bmatrix}"),
            ),
            (r"5\text{ cm}^2", "5", Correct, Some(r"5\text{ cm}^2")),
            (r"5\text{ cm}^2", "2", Incorrect, Some(r"5\text{ cm}^2")),
            (r"12\mbox{ m}^3", "12", Correct, Some(r"12\mbox{ m}^3")),
            ("The area is 5 cm^2.", "5", Correct, Some("5")),
            ("The volume is 8 m^3", "3", Incorrect, Some("8")),
            // A power of numbers is one number.
            ("so it is 2^10", "1024", Correct, Some("2^10")),
        ],
    );
}

// 4. gsm8k reads the whole number or fraction (also tested in gsm8k.rs).
#[test]
fn gsm8k_reads_whole_numbers() {
    check(
        "gsm8k",
        &[
            ("#### 3/4", "3", Incorrect, Some("3/4")),
            ("#### 3/4", "0.75", Correct, Some("3/4")),
            ("Final answer: 1/2", "1", Incorrect, Some("1/2")),
            ("Answer: 1 000 000", "1000000", Correct, Some("1000000")),
            ("Answer: 1 000 000", "1", Incorrect, Some("1000000")),
            ("The answer is -1 1/2 degrees.", "-1.5", Correct, Some("-3/2")),
            ("#### 2,500", "2500", Correct, Some("2500")),
            ("The answer is 3,5", "3.5", Correct, Some("3.5")),
            ("#### \\$1,234.50", "1234.5", Correct, Some("1234.5")),
            (
                "So the final answer is 12 apples, not 15.",
                "15",
                Incorrect,
                Some("12"),
            ),
            ("Final answer: **7**", "7", Correct, Some("7")),
            ("#### 29,00", "29", Correct, Some("29")),
            // A full stop after a fraction ends the sentence; `1/2.5` is not a fraction of integers.
            ("The answer is 1/4.", "1", Incorrect, Some("1/4")),
            ("So the answer is 2/5.", "0.4", Correct, Some("2/5")),
            ("#### 3/8.", "0.375", Correct, Some("3/8")),
            // A restatement after the phrase: its result, not the first number it restates.
            (
                "Final Answer: After 3 days, Tom has 15 apples.",
                "15",
                Correct,
                Some("15"),
            ),
            (
                "Final Answer: The store had 120 apples and sold 45, so 75 remain.",
                "120",
                Incorrect,
                Some("75"),
            ),
        ],
    );
    check_with(
        "gsm8k",
        &[("decimal_comma", OptValue::Bool(false))],
        &[("#### 29,00", "2900", Correct, Some("2900"))],
    );
}

// 5. The pronoun I is not option I.
#[test]
fn choice_pronoun_i() {
    check(
        "choice",
        &[
            ("Answer: I think it is B", "B", Correct, Some("B")),
            ("Answer: I don't know.", "I", NoAnswer, None),
            ("Answer: I believe (C) is right", "C", Correct, Some("C")),
            ("Answer: I'd go with D.", "D", Correct, Some("D")),
            ("Answer: I", "I", Correct, Some("I")),
            ("Answer: I'm going with C", "C", Correct, Some("C")),
            ("**Answer: (I)** because", "I", Correct, Some("I")),
            ("I choose B.", "B", Correct, Some("B")),
            ("The answer is I because II fails.", "I", Correct, Some("I")),
        ],
    );
}

// 6. An option label followed by its text is one answer.
#[test]
fn choice_label_with_option_text() {
    check(
        "choice",
        &[
            (r"\boxed{E. A polygenic risk score}", "E", Correct, Some("E")),
            (r"\boxed{E. A polygenic risk score}", "A", Incorrect, Some("E")),
            (r"\boxed{(B) I and II only}", "B", Correct, Some("B")),
            (r"\boxed{\textbf{C)} A larger sample}", "C", Correct, Some("C")),
            (r"\boxed{B, D}", "B", Incorrect, Some("B,D")),
            (r"\boxed{A: 12 meters}", "A", Correct, Some("A")),
            (r"\boxed{\text{C. Both I and II}}", "C", Correct, Some("C")),
        ],
    );
}

// 7. Plain word answers, compared by spelling without case.
#[test]
fn math_word_answers() {
    check(
        "math",
        &[
            ("The answer is odd.", r"\text{odd}", Correct, Some("odd")),
            ("The answer is even.", r"\text{odd}", Incorrect, Some("even")),
            ("Monday", r"\text{Monday}", Correct, Some("Monday")),
            ("monday.", r"\text{Monday}", Correct, Some("monday")),
            ("Yes", r"\text{yes}", Correct, Some("Yes")),
            ("**Yes**", r"\text{Yes}", Correct, Some("Yes")),
            ("Answer: No", r"\text{yes}", Incorrect, Some("No")),
            ("The answer is No, it is not.", r"\text{no}", Correct, Some("No")),
            ("Final Answer: odd", r"\text{odd}", Correct, Some("odd")),
            ("The answer is **Yes**.", r"\text{yes}", Correct, Some("Yes")),
            (
                "The final answer is Monday. I hope it is correct.",
                r"\text{Monday}",
                Correct,
                Some("Monday"),
            ),
            // A sentence is not a word answer.
            ("no digits here", "5", NoAnswer, None),
            ("To answer this, we need more facts.", "5", NoAnswer, None),
        ],
    );
}

// 8. A plain x between two numbers is a times sign.
#[test]
fn math_x_between_numbers_is_times() {
    check(
        "math",
        &[
            (
                "The answer is 7 x 8 = 56.",
                "56",
                Correct,
                Some(r"7 \times 8 = 56"),
            ),
            (
                "The answer is 7 x 8 = 56.",
                "57",
                Incorrect,
                Some(r"7 \times 8 = 56"),
            ),
            ("Answer: 3x4 = 12", "12", Correct, Some(r"3\times 4 = 12")),
            (r"\boxed{6 x 7}", "42", Correct, Some(r"6 \times 7")),
            (
                "Final answer: 4 X 5 = 20 tiles",
                "20",
                Correct,
                Some(r"4 \times 5 = 20"),
            ),
            (
                "The answer is 12 x 3 = 36, not 35.",
                "35",
                Incorrect,
                Some(r"12 \times 3 = 36"),
            ),
            // Next to a letter or an operator, x stays a variable.
            (r"\boxed{2x}", "2x", Correct, Some("2x")),
            (r"\boxed{3x+2}", "3x+2", Correct, Some("3x+2")),
            (r"\boxed{x^2}", "x^2", Correct, Some("x^2")),
        ],
    );
}

// 9. Multiple-choice golds under the math verifier.
#[test]
fn math_option_letter_golds() {
    check(
        "math",
        &[
            ("(B)", "B", Correct, Some("B")),
            ("Answer: B", "B", Correct, Some("B")),
            ("B) 42", "B", Correct, Some("B")),
            ("The correct option is (B).", "B", Correct, Some("B")),
            ("**(C)**", "C", Correct, Some("C")),
            ("The answer is (C) 17.", "C", Correct, Some("C")),
            ("I think the answer is D.", "D", Correct, Some("D")),
            (r"Thus \boxed{B}.", r"\text{(B)}", Correct, Some("B")),
            ("Answer: C", "B", Incorrect, Some("C")),
            ("The answer is B or C.", "B", Incorrect, Some("B,C")),
            (r"\boxed{\text{(D)}}", "$D$", Correct, Some("D")),
            // A bare lower-case letter is a variable, not an option (documented policy).
            ("b", "B", Incorrect, Some("b")),
        ],
    );
}

#[test]
fn malformed_references_are_invalid() {
    check(
        "math",
        &[
            ("The answer is 5", r"\frac{", InvalidReference, None),
            (r"\frac{", r"\frac{", InvalidReference, None),
            ("The answer is 5", "((", InvalidReference, None),
            ("The answer is 5", r"\boxed{", InvalidReference, None),
            ("The answer is 5", r"\boxed{}", InvalidReference, None),
            ("The answer is 5", "(1, 2))", InvalidReference, None),
            ("The answer is 5", r"\begin{pmatrix}1", InvalidReference, None),
            ("The answer is 5", r"1\end{pmatrix}", InvalidReference, None),
            // Mixed interval brackets and escaped braces are well formed.
            ("$[0, 1)$", "[0,1)", Correct, Some("[0, 1)")),
            (r"$\{1, 2\}$", r"\{2,1\}", Correct, Some(r"\{1, 2\}")),
            (
                r"$(-\infty, 2] \cup (3, \infty)$",
                r"(-\infty,2]\cup(3,\infty)",
                Correct,
                Some(r"(-\infty, 2] \cup (3, \infty)"),
            ),
        ],
    );
}

#[test]
fn empty_boxes_are_no_answer() {
    check(
        "math",
        &[
            (r"\boxed{}", "5", NoAnswer, None),
            (r"The result: \boxed{ }", "5", NoAnswer, None),
            (r"The answer is 5. \boxed{}", "5", Correct, Some("5")),
            (r"\boxed{5} and later \boxed{}", "5", Correct, Some("5")),
            // An empty box after an answer phrase, or one holding only braces.
            (r"The answer is \boxed{}.", "5", NoAnswer, None),
            (r"The final answer is $\boxed{ }$.", "5", NoAnswer, None),
            (r"\boxed{{}}", "5", NoAnswer, None),
            (r"Final answer: \boxed{\,}", "5", NoAnswer, None),
        ],
    );
}

#[test]
fn self_correction_between_boxes() {
    let cases: [Case; 5] = [
        (r"\boxed{3} Hmm, actually \boxed{4}", "4", Correct, Some("4")),
        (r"\boxed{3} Hmm, actually \boxed{4}", "3", Incorrect, Some("4")),
        (r"\boxed{3}, wait, \boxed{5}", "5", Correct, Some("5")),
        // Without a correction word two boxes are still a hedge.
        (r"\boxed{3} or \boxed{4}", "4", Incorrect, Some("3, 4")),
        (r"\boxed{3} and \boxed{4}", "3, 4", Correct, Some("3, 4")),
    ];
    check("math", &cases);
    check_with(
        "math",
        &[("self_correction", OptValue::Bool(false))],
        &[(r"\boxed{3} Hmm, actually \boxed{4}", "4", Incorrect, Some("3, 4"))],
    );
}

#[test]
fn run_on_continuations() {
    let run_on = "So she has \\boxed{18} eggs.\n\nQuestion: Tom buys 6 eggs a day for 7 days. How many?\nAnswer: \\boxed{42}";
    check(
        "math",
        &[
            (run_on, "18", Correct, Some("18")),
            (run_on, "42", Incorrect, Some("18")),
            (
                "The answer is 7.<|im_end|>\nThe answer is 9.",
                "7",
                Correct,
                Some("7"),
            ),
            (
                "#### 12\n\nProblem 2: what is 3+4?\n#### 7",
                "12",
                Correct,
                Some("12"),
            ),
        ],
    );
    check_with(
        "math",
        &[("ignore_run_on", OptValue::Bool(false))],
        &[(run_on, "42", Correct, Some("42"))],
    );
}
