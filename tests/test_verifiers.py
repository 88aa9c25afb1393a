"""Each verifier's extraction, normalisation and comparison, through the public batch API."""

from __future__ import annotations

import json

import pytest

import maxrl_rs
from _data import read_jsonl
from maxrl_rs import STATUS_NAMES, grade


def verdicts(
    verifier: str, cases: list[tuple[str, object]], **options: object
) -> list[tuple[str, str | None]]:
    g = grade([c[0] for c in cases], [c[1] for c in cases], verifier, **options)
    return list(zip(g.status_names, g.extracted))


def check(verifier: str, cases: list[tuple[str, object, str]], **options: object) -> None:
    got = verdicts(verifier, [(r, ref) for r, ref, _ in cases], **options)
    for (response, reference, want), (status, extracted) in zip(cases, got):
        assert status == want, f"{verifier} {response!r} vs {reference!r}: {status} (extracted {extracted!r})"


# --- gsm8k -------------------------------------------------------------------------------------------


def test_gsm8k_numbers_compare_exactly():
    check(
        "gsm8k",
        [
            ("She makes 9 * 2 = $18 every day.\n#### 18", "18", "correct"),
            ("The total is 72.0", "72", "correct"),
            ("It costs 1,000 dollars", "1000", "correct"),
            ("It costs $18.", "18", "correct"),
            ("\\$18", "18", "correct"),
            ("The temperature fell to -3 degrees", "-3", "correct"),
            ("#### 0.50", "0.5", "correct"),
            ("The answer is 18. Then 3 more steps", "18", "correct"),
            ("so \\boxed{18} after 3 steps", "18", "correct"),
            ("so 9999", "10000", "incorrect"),
            ("so 0.5", "50", "incorrect"),
            ("#### 17", "18", "incorrect"),
            ("no numbers at all", "18", "no_answer"),
            ("18", "eighteen", "invalid_reference"),
            ("18", "Solution...\n#### 18", "correct"),
        ],
    )


def test_gsm8k_strict_format_requires_the_marker():
    check(
        "gsm8k", [("The answer is 18", "18", "no_answer"), ("#### 18", "18", "correct")], strict_format=True
    )


def test_gsm8k_extracted_is_canonical():
    g = grade(["#### $1,000.50", "x = -0.0"], ["1000.5", "0"], "gsm8k")
    assert g.extracted == ["1000.5", "0"]
    assert g.status_names == ["correct", "correct"]


def gsm8k_golds() -> list[dict]:
    return [r for r in read_jsonl("gold_answers.jsonl") if r["kind"] == "gsm8k"]


def test_every_gsm8k_gold_solution_extracts_to_its_answer():
    rows = gsm8k_golds()
    assert len(rows) == 300
    solutions = [r["reference_solution"] for r in rows]
    golds = [r["gold"] for r in rows]
    for strict in (False, True):
        g = grade(solutions, golds, "gsm8k", strict_format=strict)
        bad = [
            (r["id"], r["gold"], e) for r, e, s in zip(rows, g.extracted, g.status_names) if s != "correct"
        ]
        assert not bad, bad[:5]
        assert g.extracted == [r["gold_normalized"] for r in rows]
    # The solution itself works as a reference, and a wrong number is caught.
    g = grade([f"#### {r['gold_normalized']}" for r in rows], solutions, "gsm8k")
    assert g.counts()["correct"] == 300
    g = grade([f"#### {int(r['gold_normalized']) + 1}" for r in rows], solutions, "gsm8k")
    assert g.counts()["incorrect"] == 300


# --- exact -------------------------------------------------------------------------------------------


def test_exact_defaults():
    check(
        "exact",
        [
            ("  Paris\n", "paris", "correct"),
            ("New   York", "new york", "correct"),
            ("Paris.", "Paris", "incorrect"),
            ("   ", "Paris", "no_answer"),
            ("Paris", " \t", "invalid_reference"),
        ],
    )


def test_exact_options():
    check("exact", [("paris", "Paris", "incorrect"), ("Paris", "Paris", "correct")], case_sensitive=True)
    check("exact", [("Paris!", "“Paris”", "correct"), ("Par-is", "Paris", "correct")], strip_punctuation=True)
    check("exact", [("new  york", "new york", "incorrect")], normalize_whitespace=False)


# --- choice ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "letter"),
    [
        ("The answer is (B).", "B"),
        ("Answer: C", "C"),
        ("After checking, **D** is right.", "D"),
        ("It must be (E) since the others fail.", "E"),
        ("Thus \\boxed{F}", "F"),
        ("Thus $\\boxed{\\text{(F)}}$", "F"),
        ("so option G is the one", "G"),
        ("Everything points to H.", "H"),
        ("The correct answer is option J", "J"),
        ("the answer is (b)", "B"),
        ("Final answer: **A) 42**", "A"),
        ("(A) fails, (B) fails, so option D", "D"),
        ("\\boxed{C}. (A) was tempting", "C"),
        ("The answer is B. (A) is wrong and so is C.", "B"),
    ],
)
def test_choice_phrasings(response, letter):
    g = grade([response], [letter], "choice")
    assert g.status_names == ["correct"], g
    assert g.extracted == [letter]


def test_choice_hedging_is_incorrect():
    check(
        "choice",
        [
            ("The answer is B or C.", "B", "incorrect"),
            ("The answer is (C) or (B)", "B", "incorrect"),
            ("\\boxed{B, D}", "B", "incorrect"),
            ("It is either A and C", "A", "incorrect"),
            ("The answer is B, not A.", "B", "correct"),
        ],
    )


def test_choice_no_answer_and_references():
    check(
        "choice",
        [
            ("A cat and I think so", "A", "no_answer"),
            ("I'm not sure", "A", "no_answer"),
            ("Answer: B", "(b).", "correct"),
            ("Answer: B", "BC", "invalid_reference"),
            ("Answer: B", "K", "invalid_reference"),
        ],
    )
    check(
        "choice",
        [("The answer is E", "A", "no_answer"), ("Answer: E", "E", "invalid_reference")],
        num_choices=4,
    )


# --- maze --------------------------------------------------------------------------------------------

MAZE = "S.#\n#.#\n#.G"


def test_maze_simulation():
    check(
        "maze",
        [
            ("RIGHT DOWN DOWN RIGHT DONE", MAZE, "correct"),
            ("RIGHT, DOWN,\nDOWN, RIGHT, DONE and some text", MAZE, "correct"),
            ("RIGHT DOWN DOWN RIGHT LEFT RIGHT DONE", MAZE, "correct"),
            ("RIGHT DOWN DOWN RIGHT LEFT DONE", MAZE, "incorrect"),
            ("DOWN DONE", MAZE, "incorrect"),  # wall
            ("UP DONE", MAZE, "incorrect"),  # off the grid
            ("RIGHT DOWN please DOWN RIGHT DONE", MAZE, "incorrect"),
            ("right down down right done", MAZE, "incorrect"),
            ("DONE", MAZE, "incorrect"),
            ("   ", MAZE, "no_answer"),
        ],
    )


def test_maze_without_done_is_incorrect_with_the_moves_extracted():
    g = grade(["RIGHT DOWN DOWN RIGHT"], [MAZE], "maze")
    assert g.status_names == ["incorrect"]
    assert g.extracted == ["RIGHT DOWN DOWN RIGHT"]


def test_maze_rows_list_and_case_option():
    g = grade(["right down down right done"], [["S.#", "#.#", "#.G"]], "maze", case_sensitive=False)
    assert g.status_names == ["correct"]


@pytest.mark.parametrize(
    "bad", ["", "S..\n..G.", "...\n..G", "S..\n...", "S.G\nS..", "S.G\nx..", "S.G\n\n..."]
)
def test_maze_bad_grids(bad):
    assert grade(["RIGHT DONE"], [bad], "maze").status_names == ["invalid_reference"]


# --- countdown ---------------------------------------------------------------------------------------

PUZZLE = {"target": 24, "numbers": [3, 4, 8, 1]}


def test_countdown():
    check(
        "countdown",
        [
            ("think...\n<answer> (8-4)*3*2 </answer>", PUZZLE, "incorrect"),  # 2 not given
            ("<answer>3*8</answer>", PUZZLE, "correct"),
            ("<answer>(3 × 8) ÷ 1</answer>", PUZZLE, "correct"),
            ("Answer: 8*3*1 = 24", PUZZLE, "correct"),
            ("blah\n(4-1)*8 = 24\n", PUZZLE, "correct"),
            ("<answer>3*8*1*1</answer>", PUZZLE, "incorrect"),  # 1 used twice
            ("<answer>8/(4-4)</answer>", PUZZLE, "incorrect"),  # 4 twice, / 0
            ("<answer>3*8+</answer>", PUZZLE, "incorrect"),
            ("", PUZZLE, "no_answer"),
            ("<answer>8/(3-8/3)</answer>", {"target": 24, "numbers": [8, 3, 8, 3]}, "correct"),
            ("<answer>1+2</answer>", json.dumps({"numbers": [1, 2], "target": 3}), "correct"),
            ("<answer>1</answer>", '{"target": "24"}', "invalid_reference"),
            ("<answer>1</answer>", "not json", "invalid_reference"),
        ],
    )


def test_countdown_division_by_zero_is_incorrect():
    check("countdown", [("<answer>8/(3-3)</answer>", {"target": 24, "numbers": [8, 3, 3]}, "incorrect")])


def test_countdown_use_all():
    check(
        "countdown",
        [("<answer>3*8</answer>", PUZZLE, "incorrect"), ("<answer>(4-1)*8*1</answer>", PUZZLE, "incorrect")],
        use_all=True,
    )
    check(
        "countdown",
        [("<answer>3*8*(2/2)</answer>", {"target": 24, "numbers": [3, 8, 2, 2]}, "correct")],
        use_all=True,
    )


# --- math --------------------------------------------------------------------------------------------


def test_math_is_wired():
    g = grade(["The answer is $\\boxed{\\frac{1}{2}}$.", "\\boxed{3}"], ["\\frac{1}{2}", "4"], "math")
    assert g.status_names == ["correct", "incorrect"]


def test_status_names_are_the_contract():
    assert STATUS_NAMES == ("correct", "incorrect", "no_answer", "invalid_reference", "limit", "error")
    assert maxrl_rs.grading.VERIFIERS == ("math", "gsm8k", "exact", "choice", "maze", "countdown")
