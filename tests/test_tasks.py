"""Built-in tasks and user data: generation, held-out disjointness, tokenizers, grading through the Rust
verifiers, the prompt sampler and the task and backend registries."""

from __future__ import annotations

import json
import re
from collections import deque

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import maxrl_rs
from maxrl_rs import ConfigError
from maxrl_rs.tasks import (
    ArithmeticOptions,
    ArithmeticTask,
    JsonlOptions,
    JsonlTask,
    MazeOptions,
    MazeTask,
    PromptSampler,
    task_class,
)
from maxrl_rs.tasks.base import stream_rng
from maxrl_rs.tasks.maze import prim_maze, shortest_path


def maze_task(size=7, seed=0, eval_size=16, eval_seed=1234):
    return MazeTask(MazeOptions(size), seed=seed, eval_seed=eval_seed, eval_size=eval_size)


# -- maze ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [3, 5, 7, 9])
def test_prim_maze_is_a_perfect_maze(size):
    for i in range(20):
        rows = prim_maze(size, stream_rng(0, 0, i))
        assert len(rows) == size and all(len(r) == size for r in rows)
        assert rows[0][0] == "S" and rows[-1][-1] == "G"
        open_cells = {(r, c) for r in range(size) for c in range(size) if rows[r][c] != "#"}
        cells = (size + 1) // 2
        # Every cell at even coordinates is open, and a spanning tree of cells² cells has cells² − 1 passages.
        assert all((2 * r, 2 * c) in open_cells for r in range(cells) for c in range(cells))
        assert len(open_cells) == 2 * cells * cells - 1
        # Connected (so a tree, given the count): BFS from S reaches every open cell.
        seen, queue = {(0, 0)}, deque([(0, 0)])
        while queue:
            r, c = queue.popleft()
            for nxt in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                if nxt in open_cells and nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
        assert seen == open_cells


def test_maze_solutions_pass_the_rust_verifier_and_mistakes_fail():
    task = maze_task()
    examples = [task.train_example(i) for i in range(50)]
    assert all(ex.verifier == "maze" for ex in examples)
    good = task.grade([ex.solution for ex in examples], examples)
    assert good.rewards.tolist() == [1.0] * 50 and good.mask.all()
    # Dropping the last move stops one step short of G; without DONE nothing is correct.
    short = [" ".join([*ex.solution.split()[:-2], "DONE"]) for ex in examples]
    no_done = [" ".join(ex.solution.split()[:-1]) for ex in examples]
    assert task.grade(short, examples).rewards.sum() == 0
    assert task.grade(no_done, examples).rewards.sum() == 0


def test_maze_reference_is_grid_text_and_prompt_is_cells_with_newlines():
    task = maze_task(size=5)
    ex = task.train_example(3)
    rows = ex.reference.split("\n")
    assert len(rows) == 5 and set("".join(rows)) <= set("#.SG")
    tokens = ex.prompt.split()
    assert tokens[-1] == "<sep>"
    assert tokens[:-1] == [t for row in rows for t in (*row, "<nl>")]
    assert shortest_path(rows) == ex.solution.split()[:-1]


def test_maze_streams_are_deterministic_and_held_out_set_is_disjoint():
    a, b = maze_task(seed=0, eval_size=64), maze_task(seed=0, eval_size=64)
    assert [a.train_example(i) for i in range(10)] == [b.train_example(i) for i in range(10)]
    other_seed = maze_task(seed=1, eval_size=64)
    assert a.eval_examples() == other_seed.eval_examples(), "held-out set must not depend on the run seed"
    held_out = {e.reference for e in a.eval_examples()}
    train = {a.train_example(i).reference for i in range(400)} | {
        a.sft_example(i).reference for i in range(400)
    }
    assert not train & held_out
    assert len(train) > 300  # plenty of distinct mazes at the default size


def test_maze_tokenizer_round_trip_and_budget():
    task = maze_task()
    tok = task.build_tokenizer()
    ex = task.train_example(0)
    ids = task.prompt_ids(ex, tok)
    assert ids[0] == tok.bos_token_id and len(ids) == 1 + 7 * 8 + 1
    resp = task.response_ids(ex.solution, tok)
    assert resp[-1] == tok.eos_token_id
    assert tok.decode(resp, skip_special_tokens=True) == ex.solution
    assert len(resp) <= task.max_new_tokens


def test_maze_size_must_be_odd():
    with pytest.raises(ConfigError, match=re.escape("task.maze.size")):
        maze_task(size=6).train_example(0)


# -- arithmetic ----------------------------------------------------------------------------------------------


def test_arithmetic_solutions_graded_exact():
    task = ArithmeticTask(ArithmeticOptions(digits=3, ops="+*"), seed=0, eval_seed=1, eval_size=8)
    tok = task.build_tokenizer()
    examples = [task.train_example(i) for i in range(40)]
    texts = [tok.decode(task.response_ids(ex.solution, tok), skip_special_tokens=True) for ex in examples]
    for ex, text in zip(examples, texts, strict=True):
        a, op, b = ex.prompt.replace(" ", "").rstrip("=").partition("+" if "+" in ex.prompt else "*")
        assert int(text) == (int(a) + int(b) if op == "+" else int(a) * int(b))
    assert task.grade(texts, examples).rewards.tolist() == [1.0] * 40
    wrong = [str(int(t) + 1) for t in texts]
    assert task.grade(wrong, examples).rewards.sum() == 0
    assert {ex.prompt for ex in task.eval_examples()}.isdisjoint({ex.prompt for ex in examples})


@pytest.mark.parametrize(
    ("task", "message"),
    [
        (
            lambda: ArithmeticTask(ArithmeticOptions(digits=1, ops="+"), seed=0, eval_seed=7, eval_size=3000),
            "task.arithmetic: too few distinct problems besides the held-out set; raise digits",
        ),
        (
            lambda: maze_task(size=3, eval_size=200),  # a 2×2-cell grid has 4 mazes, all held out
            "task.maze.size=3 has too few distinct mazes besides the held-out set",
        ),
    ],
)
def test_generated_tasks_refuse_when_the_held_out_set_covers_every_problem(task, message):
    t = task()
    assert len({e.reference for e in t.eval_examples()}) < len(t.eval_examples())  # repeats: space exhausted
    for draw in (t.train_example, t.sft_example):
        with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
            draw(0)


def test_generated_training_skips_held_out_problems_and_keeps_its_stream():
    """A training draw equal to a held-out problem is drawn again: in a space of 100 problems with most held
    out, every training example is one of the rest, and the same seed gives the same stream."""
    small = ArithmeticOptions(digits=1, ops="+")
    t = ArithmeticTask(small, seed=0, eval_seed=7, eval_size=150)
    held = {e.prompt for e in t.eval_examples()}
    assert 60 < len(held) < 100
    train = [t.train_example(i) for i in range(200)] + [t.sft_example(i) for i in range(200)]
    assert not {e.prompt for e in train} & held
    assert len({e.prompt for e in train}) == 100 - len(held)  # all the rest are reached
    again = ArithmeticTask(small, seed=0, eval_seed=7, eval_size=150)
    assert [again.train_example(i) for i in range(200)] == train[:200]
    assert [e.id for e in train[:2] + train[200:202]] == ["train-0", "train-1", "sft-0", "sft-1"]


def test_arithmetic_options_are_checked():
    with pytest.raises(ConfigError, match="digits"):
        ArithmeticTask(ArithmeticOptions(digits=0), seed=0, eval_seed=1, eval_size=1)
    with pytest.raises(ConfigError, match="ops"):
        ArithmeticTask(ArithmeticOptions(ops="-"), seed=0, eval_seed=1, eval_size=1)


# -- user JSONL ----------------------------------------------------------------------------------------------


def write_jsonl(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return str(path)


def test_jsonl_task_reads_rows_holds_out_and_grades(tmp_path):
    rows = [{"prompt": f"What is {i}+{i}?", "answer": str(2 * i)} for i in range(10)]
    rows.append({"prompt": "Say hi", "answer": "hi", "verifier": "exact"})
    path = write_jsonl(tmp_path / "data.jsonl", rows)
    task = JsonlTask(JsonlOptions(train=path, verifier="gsm8k"), seed=0, eval_seed=0, eval_size=3)
    assert task.num_train == 8 and len(task.eval_examples()) == 3
    assert task.train_example(7).verifier == "exact"
    examples = [task.train_example(i) for i in range(8)]
    responses = [f"The answer is {r['answer']}" for r in rows[3:10]] + ["hi"]
    graded = task.grade(responses, examples)
    assert graded.rewards.tolist() == [1.0] * 8


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "data.jsonl:2: not valid JSON"),
        ('{"answer": "1"}', "data.jsonl:2: missing field 'prompt'"),
        ('{"prompt": "x"}', "data.jsonl:2: missing field 'answer'"),
        ('{"prompt": "x", "answer": "1", "verifier": 3}', "data.jsonl:2: field 'verifier'"),
    ],
)
def test_jsonl_errors_name_line_and_field(tmp_path, line, message):
    path = write_jsonl(tmp_path / "data.jsonl", [{"prompt": "a", "answer": "1"}, line])
    task = JsonlTask(JsonlOptions(train=path), seed=0, eval_seed=0, eval_size=1)
    with pytest.raises(ConfigError, match=re.escape(message)):
        task.train_example(0)


def test_jsonl_prompt_uses_chat_template_when_present(tmp_path):
    from maxrl_rs.models import word_level_tokenizer

    path = write_jsonl(tmp_path / "d.jsonl", [{"prompt": "UP DOWN", "answer": "x"}] * 3)
    task = JsonlTask(JsonlOptions(train=path), seed=0, eval_seed=0, eval_size=1)
    tok = word_level_tokenizer(["UP", "DOWN", "user:", "assistant:"])
    ex = task.train_example(0)
    assert task.prompt_ids(ex, tok) == [
        tok.bos_token_id,
        *tok("UP DOWN", add_special_tokens=False)["input_ids"],
    ]
    tok.chat_template = (
        "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }} {% endfor %}"
        "{% if add_generation_prompt %}assistant:{% endif %}"
    )
    ids = task.prompt_ids(ex, tok)
    assert tok.decode(ids) == "user: UP DOWN assistant:"


def file_task(kind, tmp_path, n_train, eval_size, *, n_eval=0, max_new_tokens=77):
    """A ``jsonl`` or ``dataset`` task over ``n_train`` rows (and ``n_eval`` held-out rows when > 0)."""
    from maxrl_rs.tasks import DatasetOptions, DatasetTask

    rows = [{"prompt": f"What is {i}+{i}?", "answer": str(2 * i)} for i in range(n_train)]
    train = write_jsonl(tmp_path / "train.jsonl", rows)
    held = write_jsonl(tmp_path / "held.jsonl", rows[:n_eval]) if n_eval else ""
    if kind == "jsonl":
        options = JsonlOptions(train=train, eval=held, max_new_tokens=max_new_tokens)
        return JsonlTask(options, seed=0, eval_seed=0, eval_size=eval_size)
    pytest.importorskip("datasets")
    options = DatasetOptions(train=train, eval=held, max_new_tokens=max_new_tokens)
    return DatasetTask(options, seed=0, eval_seed=0, eval_size=eval_size)


@pytest.mark.parametrize("kind", ["jsonl", "dataset"])
def test_file_tasks_hold_out_the_first_rows_without_an_eval_file(tmp_path, kind):
    task = file_task(kind, tmp_path, 7, 2, max_new_tokens=33)
    assert task.num_train == 5
    assert [ex.reference for ex in task.eval_examples()] == ["0", "2"]
    assert [task.train_example(i).reference for i in range(5)] == ["4", "6", "8", "10", "12"]
    assert task.max_new_tokens == 33
    task.eval_examples().clear()  # a copy: the task's held-out set stays
    assert len(task.eval_examples()) == 2


@pytest.mark.parametrize("kind", ["jsonl", "dataset"])
def test_file_tasks_train_on_every_row_with_an_eval_file(tmp_path, kind):
    task = file_task(kind, tmp_path, 4, 100, n_eval=3)
    assert task.num_train == 4
    assert [ex.id.split(":")[0] for ex in task.eval_examples()] == ["eval"] * 3
    assert task.train_example(0).reference == "0"


@pytest.mark.parametrize(("kind", "items"), [("jsonl", "lines"), ("dataset", "rows")])
@pytest.mark.parametrize("eval_size", [3, 5])
def test_file_tasks_refuse_a_held_out_set_that_leaves_no_training_rows(tmp_path, kind, items, eval_size):
    task = file_task(kind, tmp_path, 3, eval_size)
    path = str(tmp_path / "train.jsonl")
    message = (
        f"task.eval_size ({eval_size}) leaves no training {items} in {path!r} (3 {items}); "
        f"lower it or set task.{kind}.eval"
    )
    with pytest.raises(ConfigError, match=re.escape(message)):
        task.num_train  # noqa: B018


# -- sampler and registries ----------------------------------------------------------------------------------


def test_prompt_sampler_splits_whole_prompts_over_ranks_and_resumes():
    single = PromptSampler(None, seed=0)
    ranks = [PromptSampler(None, seed=0, rank=r, world_size=2) for r in range(2)]
    for _ in range(3):
        batch = single.next_batch(4)
        parts = [s.next_batch(4) for s in ranks]
        assert sorted(parts[0] + parts[1]) == sorted(batch)
        assert not set(parts[0]) & set(parts[1])
    finite = PromptSampler(5, seed=3)
    epoch = [finite.next_batch(1)[0] for _ in range(5)]
    assert sorted(epoch) == list(range(5))
    state = finite.state_dict()
    after = [finite.next_batch(2) for _ in range(3)]
    again = PromptSampler(5, seed=3)
    again.load_state_dict(state)
    assert [again.next_batch(2) for _ in range(3)] == after
    with pytest.raises(ConfigError, match="multiple of world size"):
        ranks[0].next_batch(3)


def test_task_registry_names_known_tasks():
    assert task_class("maze") is MazeTask
    with pytest.raises(
        ConfigError, match=r"known tasks: arithmetic, dataset, gsm8k, jsonl, maze, word_problems$"
    ):
        task_class("sudoku")


def test_backend_registry_errors_name_known_backends():
    from maxrl_rs.rollout import backend_class
    from maxrl_rs.rollout.hf import HFBackend

    assert backend_class("hf") is HFBackend
    with pytest.raises(ConfigError, match="unknown backend 'sglang'; known backends: hf, vllm"):
        backend_class("sglang")
    try:
        backend_class("vllm")
    except ConfigError as e:  # vllm (or its backend module) not installed here: a clear error, not a crash
        assert "rollout.backend='vllm'" in str(e) and "known backends" in str(e)


def test_grading_masks_unscorable_items():
    """Items the verifier cannot score (here an invalid reference) are masked, not failures."""
    task = maze_task()
    ex = task.train_example(0)
    broken = type(ex)(ex.id, ex.prompt, "not a maze", "maze", ex.solution)
    graded = task.grade([ex.solution, ex.solution], [ex, broken])
    assert graded.mask.tolist() == [True, False]
    assert graded.status[1] == maxrl_rs.STATUS_NAMES.index("invalid_reference")
    assert np.asarray(graded.rewards).dtype == np.float32
