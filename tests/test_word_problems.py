"""The word_problems generator and its grading, and the gsm8k evaluation task."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from maxrl_rs.config import load_config
from maxrl_rs.errors import ConfigError
from maxrl_rs.run import make_task
from maxrl_rs.tasks.base import stream_rng
from maxrl_rs.tasks.gsm8k import SHIPPED, Gsm8kOptions, Gsm8kTask
from maxrl_rs.tasks.word_problems import (
    INSTRUCTION,
    WordProblemsOptions,
    WordProblemsTask,
    generate_problem,
)


def task(**options) -> WordProblemsTask:
    return WordProblemsTask(WordProblemsOptions(**options), seed=0, eval_seed=1234, eval_size=64)


def _recompute(text: str, ops: str) -> int:
    """The answer read back from the text alone: its numbers in order, combined by the problem's ops."""
    numbers = [int(x) for x in re.findall(r"\d+", text)]
    assert len(numbers) == len(ops) + 1, (text, ops)
    value = numbers[0]
    for op, x in zip(ops, numbers[1:], strict=True):
        if op == "/":
            assert value % x == 0, f"{text!r}: {value} is not shared exactly by {x}"
        value = {"+": value + x, "-": value - x, "*": value * x, "/": value // x}[op]
    return value


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"ops": "+-*/", "two_step": 0.5},
        {"ops": "*/", "two_step": 1.0, "max_factor": 12},
        {"ops": "-", "min_value": 10, "max_value": 99, "two_step": 1.0},
    ],
)
def test_answers_follow_from_the_text(options) -> None:
    o = WordProblemsOptions(**options)
    for i in range(400):
        p = generate_problem(o, stream_rng(7, i))
        assert p.answer == _recompute(p.text, p.ops) and p.answer >= 0
        assert set(p.ops) <= set(o.ops) and len(p.ops) in (1, 2)
        assert p.solution.endswith(f"\\boxed{{{p.answer}}}$.")


def test_numbers_stay_in_the_configured_range() -> None:
    o = WordProblemsOptions(ops="+-", min_value=10, max_value=40, two_step=0.5)
    for i in range(300):
        p = generate_problem(o, stream_rng(3, i))
        numbers = [int(x) for x in re.findall(r"\d+", p.text)]
        assert all(10 <= x <= 40 for x in numbers), p.text
    o = WordProblemsOptions(ops="*/", max_factor=5, two_step=0.0)
    for i in range(300):
        p = generate_problem(o, stream_rng(3, i))
        a, b = (int(x) for x in re.findall(r"\d+", p.text))
        assert (2 <= a <= 5 and 2 <= b <= 5) if p.ops == "*" else (2 <= b <= 5 and a % b == 0 and a // b <= 5)


def test_templates_and_step_counts_are_varied() -> None:
    o = WordProblemsOptions(ops="+-*/", two_step=0.5)
    problems = [generate_problem(o, stream_rng(11, i)) for i in range(600)]
    ops = Counter(p.ops[0] for p in problems)
    assert set(ops) == set("+-*/") and min(ops.values()) > 100
    steps = Counter(len(p.ops) for p in problems)
    assert 200 < steps[2] < 400 and steps[1] > 200
    openings = {" ".join(p.text.split()[1:3]) for p in problems}  # after the name: the template's wording
    questions = {p.text.rsplit(". ", 1)[-1] for p in problems}
    assert len(openings) >= 25 and len(questions) >= 20
    assert len({p.text for p in problems}) == len(problems)
    text = " ".join(p.text for p in problems)
    assert "gives him" in text and "gives her" in text and not re.search(r"gives (he|she) ", text)
    # A question names only the person the setup is about (not "A shop had ... How many does Ava have?").
    for p in problems:
        asked = re.search(r"does (\w+) have", p.text)
        assert asked is None or p.text.count(asked.group(1)) >= 2, p.text
    assert not re.search(r"\b(boxs|bunchs|shelfs)\b", text) and "shelves" in text


def test_held_out_set_is_fixed_by_its_own_seed_and_disjoint_from_training() -> None:
    a = WordProblemsTask(WordProblemsOptions(), seed=0, eval_seed=5, eval_size=200)
    b = WordProblemsTask(WordProblemsOptions(), seed=1, eval_seed=5, eval_size=200)
    held = [e.prompt for e in a.eval_examples()]
    assert held == [e.prompt for e in b.eval_examples()]  # training seed does not move the held-out set
    train = [a.train_example(i).prompt for i in range(3000)]
    assert not set(train) & set(held)
    assert train[:50] != [b.train_example(i).prompt for i in range(50)]  # training stream follows the seed
    assert [a.train_example(i).prompt for i in range(20)] == train[:20]  # deterministic
    # Small spaces: training must skip the held-out problems it would otherwise draw.
    small = WordProblemsTask(
        WordProblemsOptions(ops="+", min_value=1, max_value=3), seed=0, eval_seed=5, eval_size=40
    )
    small_held = {e.prompt for e in small.eval_examples()}
    assert not {small.train_example(i).prompt for i in range(500)} & small_held


def test_prompt_asks_for_a_boxed_answer_and_math_grading() -> None:
    t = task(ops="+-*/", two_step=0.5)
    examples = [t.train_example(i) for i in range(40)]
    for e in examples:
        assert e.prompt.endswith(INSTRUCTION) and "\\boxed{}" in e.prompt and e.verifier == "math"
    right = [e.solution for e in examples]
    boxed = [f"So the answer is \\boxed{{{e.reference}}}." for e in examples]
    wrong = [f"The answer is \\boxed{{{int(e.reference) + 1}}}." for e in examples]
    assert t.grade(right, examples).rewards.tolist() == [1.0] * 40
    assert t.grade(boxed, examples).rewards.tolist() == [1.0] * 40
    assert t.grade(wrong, examples).rewards.tolist() == [0.0] * 40


def test_config_selects_the_task_and_its_options() -> None:
    cfg = load_config(
        None,
        [
            "task.name=word_problems",
            "task.word_problems.max_value=90",
            "task.word_problems.ops=*",
            "task.word_problems.max_new_tokens=48",
        ],
    )
    t = make_task(cfg)
    assert isinstance(t, WordProblemsTask) and t.max_new_tokens == 48 and not t.builtin_model
    assert all(e.id.startswith("eval-") for e in t.eval_examples())
    with pytest.raises(ConfigError, match=r"model\.path"):
        t.build_tokenizer()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"min_value": 5, "max_value": 5}, r"min_value < max_value, got 5 and 5"),
        ({"min_value": 0}, r"1 <= min_value"),
        ({"max_factor": 1}, r"max_factor must be >= 2, got 1"),
        ({"ops": "+x"}, r"ops must use only .*got '\+x'"),
        ({"ops": ""}, r"ops must use only"),
        ({"two_step": 1.5}, r"two_step must be in \[0, 1\], got 1.5"),
        ({"max_new_tokens": 0}, r"max_new_tokens must be >= 1"),
    ],
)
def test_bad_options_are_named(options, message) -> None:
    with pytest.raises(ConfigError, match=message):
        task(**options)


# -- gsm8k ---------------------------------------------------------------------------------------------------


def test_gsm8k_ships_300_test_problems_graded_by_math() -> None:
    t = Gsm8kTask(Gsm8kOptions(), seed=0, eval_seed=0, eval_size=300)
    examples = t.eval_examples()
    assert len(examples) == 300 and examples[0].reference == "18" and "Janet" in examples[0].prompt
    assert all(e.prompt.endswith(INSTRUCTION) and e.verifier == "math" for e in examples)
    assert len({e.prompt for e in examples}) == 300
    right = t.grade([f"Thus \\boxed{{{e.reference}}}" for e in examples], examples)
    assert right.rewards.mean() == 1.0
    wrong = t.grade([f"Thus \\boxed{{{e.reference}1}}" for e in examples], examples)
    assert wrong.rewards.mean() == 0.0
    assert [e.id for e in Gsm8kTask(Gsm8kOptions(), seed=1, eval_seed=9, eval_size=5).eval_examples()] == [
        f"gsm8k-{i}" for i in range(5)
    ]


def test_gsm8k_is_for_evaluation_only_and_bounded() -> None:
    t = Gsm8kTask(Gsm8kOptions(), seed=0, eval_seed=0, eval_size=301)
    with pytest.raises(ConfigError, match="evaluation set"):
        t.train_example(0)
    with pytest.raises(ConfigError, match=r"eval_size \(301\) is more than the 300 problems"):
        t.eval_examples()


def test_gsm8k_file_errors_name_file_and_line(tmp_path) -> None:
    f = tmp_path / "g.jsonl"
    f.write_text(json.dumps({"question": "q", "answer": "1"}) + "\n" + json.dumps({"question": "q"}) + "\n")
    with pytest.raises(ConfigError, match=r"g\.jsonl: row 2: field 'answer' must be a string, got None"):
        Gsm8kTask(Gsm8kOptions(path=str(f)), seed=0, eval_seed=0, eval_size=1).eval_examples()
    f.write_text("{not json\n")
    bad = r"task\.gsm8k\.path: .*g\.jsonl:1: not valid JSON \(.* at column 2\)"
    with pytest.raises(ConfigError, match=bad):
        Gsm8kTask(Gsm8kOptions(path=str(f)), seed=0, eval_seed=0, eval_size=1).eval_examples()
    with pytest.raises(ConfigError, match=r"absent\.jsonl.* does not exist"):
        absent = Gsm8kOptions(path=str(tmp_path / "absent.jsonl"))
        Gsm8kTask(absent, seed=0, eval_seed=0, eval_size=1).eval_examples()


def test_shipped_gsm8k_matches_its_readme() -> None:
    rows = [json.loads(line) for line in SHIPPED.read_text().splitlines()]
    assert [r["id"] for r in rows] == list(range(300))
    assert all(re.fullmatch(r"-?\d+", r["answer"]) for r in rows)
    assert "MIT" in (SHIPPED.parent / "README.md").read_text()
