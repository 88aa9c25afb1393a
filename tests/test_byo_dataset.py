"""``task.name = "dataset"``: verl-layout parquet, chat-message JSONL, CSV and JSON files read with
``datasets``; dotted answer fields; chat templates and the no-template fallback; Python reward functions;
every row checked up front with the file and row index."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("datasets")

import _byo_rewards  # noqa: E402
import maxrl_rs  # noqa: E402
from maxrl_rs import ConfigError  # noqa: E402
from maxrl_rs.config import load_config  # noqa: E402
from maxrl_rs.models import TinyModelSpec, tiny_model, word_level_tokenizer  # noqa: E402
from maxrl_rs.rewards import RewardFunctionError  # noqa: E402
from maxrl_rs.run import make_task, train  # noqa: E402

WORDS = ["user:", "system:", "assistant:", "add", "Be", "brief.", *"123456"]
TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }} {% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)
PROBLEMS = [("1 2", "3"), ("2 2", "4"), ("1 4", "5"), ("3 3", "6"), ("1 1", "2"), ("2 3", "5")]


def model_dir(tmp_path, *, chat_template: bool):
    tok = word_level_tokenizer(WORDS)
    if chat_template:
        tok.chat_template = TEMPLATE
    torch.manual_seed(0)
    model = tiny_model(TinyModelSpec(hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32), tok)
    out = tmp_path / ("chat-model" if chat_template else "plain-model")
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out, tok


def verl_parquet(path):
    """A file in verl's layout, written as verl's data scripts write it."""
    from datasets import Dataset

    rows = [
        {
            "data_source": "toy/add",
            "prompt": [{"role": "user", "content": f"add {q}"}],
            "ability": "math",
            "reward_model": {"style": "rule", "ground_truth": a},
            "extra_info": {"split": "train", "index": i},
        }
        for i, (q, a) in enumerate(PROBLEMS)
    ]
    Dataset.from_list(rows).to_parquet(str(path))
    return path


def messages_jsonl(path, *, system=False):
    rows = []
    for q, a in PROBLEMS:
        msgs = [{"role": "user", "content": f"add {q}"}]
        if system:
            msgs.insert(0, {"role": "system", "content": "Be brief."})
        rows.append({"messages": msgs, "solution": int(a)})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def messages_options(data, reward_fn):
    """Overrides for a messages-layout JSONL scored by ``reward_fn``."""
    return [
        f"task.dataset.train={data}",
        "task.dataset.prompt_field=messages",
        "task.dataset.answer_field=solution",
        f"task.dataset.reward_fn={reward_fn}",
    ]


def run_config(tmp_path, model, *extra):
    return load_config(
        None,
        [
            f"out={tmp_path / 'run'}",
            "task.name=dataset",
            "task.dataset.max_new_tokens=3",
            "task.eval_size=2",
            f"model.path={model}",
            "train.steps=1",
            "train.prompts_per_step=2",
            "rollout.n=4",
            "eval.samples=2",
            "log.progress=false",
            "log.tensorboard=false",
            *extra,
        ],
    )


def prompt_text(batch, tok, row=0):
    r = batch.rollouts
    return tok.decode(r.prompt_ids[row][r.prompt_mask[row].bool()].tolist())


def test_verl_parquet_trains_a_step_with_a_python_reward(tmp_path):
    model, tok = model_dir(tmp_path, chat_template=True)
    data = verl_parquet(tmp_path / "train.parquet")
    seen = []
    _byo_rewards.CALLS.clear()
    cfg = run_config(
        tmp_path,
        model,
        f"task.dataset.train={data}",
        "task.dataset.answer_field=reward_model.ground_truth",
        "task.dataset.reward_fn=_byo_rewards:contains_reference",
    )
    summary = train(cfg, hooks=[seen.append])
    assert summary.last_step == 1
    (batch,) = seen
    # One call per batch; its scores are the step's rewards, row for row.
    step_call = next(c for c in _byo_rewards.CALLS if c[1] == list(batch.rollouts.texts))
    _prompts, responses, references = step_call
    want = [float(ref in resp.split()) for resp, ref in zip(responses, references)]
    np.testing.assert_array_equal(batch.rewards, want)
    assert batch.mask.all()
    assert {ex.reference for ex in batch.examples} <= {a for _, a in PROBLEMS}
    assert set(references) == {ex.reference for ex in batch.examples}
    # The messages went through the chat template.
    assert prompt_text(batch, tok) == f"user: {batch.examples[0].prompt} assistant:"
    assert batch.examples[0].prompt.startswith("add ")
    assert batch.examples[0].id.startswith("train:")


def test_messages_jsonl_without_chat_template_trains_a_step_with_a_reward_file(tmp_path):
    model, tok = model_dir(tmp_path, chat_template=False)
    data = messages_jsonl(tmp_path / "train.jsonl", system=True)
    reward_file = tmp_path / "my_reward.py"
    reward_file.write_text(
        "def score(prompts, responses, references):\n"
        "    return [1.0 if r.split()[:1] == [ref] else 0.0 for r, ref in zip(responses, references)]\n"
    )
    seen = []
    cfg = run_config(tmp_path, model, *messages_options(data, f"{reward_file}:score"))
    train(cfg, hooks=[seen.append])
    (batch,) = seen
    want = [float(t.split()[:1] == [ex]) for t, ex in zip(batch.rollouts.texts, _refs(batch))]
    np.testing.assert_array_equal(batch.rewards, want)
    # No chat template: the messages' contents, joined by blank lines.
    assert batch.examples[0].prompt.startswith("Be brief.\n\nadd ")
    assert prompt_text(batch, tok) == "<bos> " + " ".join(batch.examples[0].prompt.split())
    assert {ex.reference for ex in batch.examples} <= {"2", "3", "4", "5", "6"}  # integers as text


def _refs(batch):
    per = len(batch.rewards) // len(batch.examples)
    return [batch.examples[i // per].reference for i in range(len(batch.rewards))]


def test_verifiers_per_row_system_prompt_csv_and_json(tmp_path):
    model, tok = model_dir(tmp_path, chat_template=True)
    rows = [
        {"q": f"add {q}", "a": a, "verifier": "exact" if i % 2 else ""} for i, (q, a) in enumerate(PROBLEMS)
    ]
    csv = tmp_path / "d.csv"
    csv.write_text("q,a,verifier\n" + "".join(f"{r['q']},{r['a']},{r['verifier']}\n" for r in rows))
    js = tmp_path / "d.json"
    js.write_text(json.dumps(rows))
    for path in (csv, js):
        cfg = run_config(
            tmp_path,
            model,
            f"task.dataset.train={path}",
            "task.dataset.prompt_field=q",
            "task.dataset.answer_field=a",
            "task.dataset.verifier=gsm8k",
            "task.dataset.system_prompt=Be brief.",
        )
        task = make_task(cfg)
        examples = [task.train_example(i) for i in range(task.num_train)] + task.eval_examples()
        assert sorted(ex.id for ex in examples) == sorted(f"train:{i}" for i in range(6))
        by_id = {ex.id: ex for ex in examples}
        for i, (q, a) in enumerate(PROBLEMS):
            ex = by_id[f"train:{i}"]
            assert ex.verifier == ("exact" if i % 2 else "gsm8k") and ex.reference == a
            assert ex.prompt == f"Be brief.\n\nadd {q}"
            assert tok.decode(task.prompt_ids(ex, tok)) == f"system: Be brief. user: add {q} assistant:"
        graded = task.grade(["#### 3", "3", "4"], [by_id["train:0"], by_id["train:1"], by_id["train:1"]])
        np.testing.assert_array_equal(graded.rewards, [1.0, 0.0, 1.0])


def test_separate_eval_file_and_numbers_and_lists_as_references(tmp_path):
    model, _ = model_dir(tmp_path, chat_template=True)
    train_file = tmp_path / "t.jsonl"
    train_file.write_text(
        "".join(json.dumps({"prompt": "add 1 2", "answer": v}) + "\n" for v in (3, 3.0, 2.5, ["7"]))
    )
    eval_file = tmp_path / "e.jsonl"
    eval_file.write_text(json.dumps({"prompt": "add 1 1", "answer": "2"}) + "\n")
    cfg = run_config(tmp_path, model, f"task.dataset.train={train_file}", f"task.dataset.eval={eval_file}")
    task = make_task(cfg)
    assert [task.train_example(i).reference for i in range(4)] == ["3", "3", "2.5", "7"]
    assert [ex.id for ex in task.eval_examples()] == ["eval:0"]


@pytest.mark.parametrize(
    ("row", "options", "message"),
    [
        (
            {"question": "add 1 2", "answer": "3"},
            [],
            r"row 1: no field 'prompt'.*its fields: answer, question",
        ),
        ({"prompt": [{"role": "user"}], "answer": "3"}, [], r"row 1: field 'prompt' message 0 must be"),
        ({"prompt": 7, "answer": "3"}, [], r"row 1: field 'prompt' must be a string or a non-empty list"),
        ({"prompt": "add 1 2", "answer": ""}, [], r"row 1: field 'answer' is empty"),
        ({"prompt": "add 1 2", "answer": None}, [], r"row 1: no field 'answer' .*or it is null"),
        ({"prompt": "add 1 2"}, [], r"row 1: no field 'answer' .*or it is null; its fields: prompt\n"),
        (
            {"prompt": "add 1 2", "answer": "3", "verifier": "maths"},
            [],
            r"row 1: field 'verifier': unknown verifier 'maths' \(did you mean 'math'\?\); known: math, ",
        ),
        (
            {"prompt": "add 1 2", "answer": "abc"},
            ["task.dataset.verifier=gsm8k"],
            r"row 1: .*'gsm8k' verifier",
        ),
        (
            {"prompt": "add 1 2", "rm": {"gt": "3"}},
            ["task.dataset.answer_field=rm.truth"],
            r"row 1: no field 'rm.truth'",
        ),
    ],
)
def test_bad_rows_are_reported_with_file_and_row(tmp_path, row, options, message):
    model, _ = model_dir(tmp_path, chat_template=True)
    good = {"prompt": "add 1 1", "answer": "2"}
    if "rm" in row:
        good = {"prompt": "add 1 1", "rm": {"truth": "2"}}
    data = tmp_path / "bad.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in (good, row, good)))
    task = make_task(run_config(tmp_path, model, f"task.dataset.train={data}", *options))
    with pytest.raises(ConfigError, match=rf"bad\.jsonl: {message}"):
        task.num_train  # noqa: B018


def test_file_errors(tmp_path):
    model, _ = model_dir(tmp_path, chat_template=True)
    for path, message in [
        (tmp_path / "missing.jsonl", "does not exist"),
        (tmp_path / "d.txt", r"must end in one of \.jsonl, \.json, \.parquet, \.csv"),
    ]:
        with pytest.raises(ConfigError, match=rf"task\.dataset\.train: .*{message}"):
            make_task(run_config(tmp_path, model, f"task.dataset.train={path}")).num_train  # noqa: B018
    with pytest.raises(ConfigError, match=r"task\.dataset\.train: path"):
        make_task(run_config(tmp_path, model))
    for spec, message in [
        ("nocolon", "must look like"),
        ("no_such_module_xyz:f", "cannot import module"),
        ("_byo_rewards:nothing", "has no attribute 'nothing'"),
        (f"{tmp_path / 'nope.py'}:f", "does not exist"),
    ]:
        with pytest.raises(ConfigError, match=rf"task\.dataset\.reward_fn: .*{message}"):
            make_task(
                run_config(tmp_path, model, "task.dataset.train=x.jsonl", f"task.dataset.reward_fn={spec}")
            )


def reward_task(tmp_path, fn, *extra):
    model, _ = model_dir(tmp_path, chat_template=True)
    data = messages_jsonl(tmp_path / "d.jsonl")
    cfg = run_config(tmp_path, model, *messages_options(data, f"_byo_rewards:{fn}"), *extra)
    return cfg, make_task(cfg)


def test_reward_function_errors_name_the_function_and_the_row(tmp_path):
    _, task = reward_task(tmp_path, "half")
    examples = [task.train_example(i) for i in range(task.num_train)] + task.eval_examples()
    n = len(examples)
    with pytest.raises(
        RewardFunctionError,
        match=rf"^reward_fn _byo_rewards:half returned 0\.5 for example '{examples[0].id}' \(prompt "
        rf"'{examples[0].prompt}', response '3'; row 0 of a batch of {n}\); algo\.estimator 'maxrl' needs",
    ):
        task.grade(["3"] * n, examples)
    _, task = reward_task(tmp_path, "half", "algo.estimator=grpo")  # graded scores are fine for grpo
    np.testing.assert_array_equal(task.grade(["3"] * n, examples).rewards, [0.5] * n)
    _, task = reward_task(tmp_path, "raises_on_three")
    three = next(i for i, ex in enumerate(examples) if ex.reference == "3")
    line = _byo_rewards.raises_on_three.__code__.co_firstlineno + 2
    with pytest.raises(
        RewardFunctionError,
        match=rf"^reward_fn _byo_rewards:raises_on_three raised ValueError: cannot score 3 \(at "
        rf".*_byo_rewards\.py:{line}\) on example '{examples[three].id}' \(prompt "
        rf"'{examples[three].prompt}', response 'x'; row {three} of a batch of {n}\)$",
    ):
        task.grade(["x"] * n, examples)
    _, task = reward_task(tmp_path, "wrong_length")
    with pytest.raises(
        RewardFunctionError,
        match=rf"^reward_fn _byo_rewards:wrong_length returned 1 scores for {n} responses \(of a batch of "
        rf"{n}\)",
    ):
        task.grade(["x"] * n, examples)
    _, task = reward_task(tmp_path, "no_verdict_on_odd_rows")
    g = task.grade([ex.reference for ex in examples], examples)
    np.testing.assert_array_equal(g.mask, np.arange(n) % 2 == 0)
    np.testing.assert_array_equal(g.rewards, np.arange(n) % 2 == 0)
    assert [maxrl_rs.STATUS_NAMES[s] for s in g.status[:2]] == ["correct", "error"]


def test_order_equal_to_n_trains_when_a_reward_function_returns_none(tmp_path):
    # maxrl train with rollout.n = algo.order = 4 and a reward function with no verdict on odd rows: every
    # group keeps 2 of its 4 rollouts, each uses order 2, and the run completes.
    from maxrl_rs.metrics import read_metrics

    model, _ = model_dir(tmp_path, chat_template=True)
    data = messages_jsonl(tmp_path / "train.jsonl")
    opts = messages_options(data, "_byo_rewards:no_verdict_on_odd_rows")
    seen = []
    summary = train(run_config(tmp_path, model, *opts, "algo.order=4", "train.steps=2"), hooks=[seen.append])
    assert summary.last_step == 2 and len(seen) == 2
    for batch in seen:
        np.testing.assert_array_equal(batch.mask, np.arange(8) % 2 == 0)
        # T = N: a group clamped to N_g gets exactly what order=None gives it.
        want = maxrl_rs.advantages(batch.rewards, batch.rollouts.group_ids, mask=batch.mask)
        np.testing.assert_array_equal(batch.advantages, want)
    steps = [r for r in read_metrics(tmp_path / "run") if "order_clamped_groups" in r]
    assert [r["order_clamped_groups"] for r in steps] == [2, 2]


def test_a_failing_reward_leaves_the_trainer_as_it_was(tmp_path, monkeypatch):
    from maxrl_rs.rollout.hf import HFBackend
    from maxrl_rs.run import load_pretrained
    from maxrl_rs.trainer import Trainer

    cfg, task = reward_task(tmp_path, "contains_reference", "train.steps=3")
    model, tok = load_pretrained(cfg.model.path)
    trainer = Trainer(cfg, model, tok, task, HFBackend(model, tok))
    trainer.step()
    before = (trainer.step_count, trainer.sampler.consumed, torch.get_rng_state().clone())
    weights = {k: v.clone() for k, v in model.state_dict().items()}

    def broken(*args):
        raise RuntimeError("scorer down")

    monkeypatch.setattr(task, "_reward_fn", broken)
    with pytest.raises(RewardFunctionError, match="scorer down"):
        trainer.step()
    assert (trainer.step_count, trainer.sampler.consumed) == before[:2]
    assert torch.equal(torch.get_rng_state(), before[2])
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in weights.items())
    # A retry is the step the failed call would have been.
    monkeypatch.setattr(task, "_reward_fn", _byo_rewards.contains_reference)
    batch, _ = trainer.step()
    assert batch.step == 2


def test_example_configs_and_data_files_load(tmp_path):
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "examples"
    verl = load_config(
        root / "train_verl_parquet.toml",
        [f"task.dataset.train={root / 'data' / 'verl_layout.parquet'}", "model.path=unused"],
    )
    task = make_task(verl)
    assert task.num_train == 6 and verl.model.lora.r == 16
    ex = task.eval_examples()[0]
    assert (ex.reference, ex.verifier) == ("42", "math") and ex.prompt.startswith("What is 12 + 30?")
    messages = load_config(
        root / "train_messages_jsonl.toml",
        [
            f"task.dataset.train={root / 'data' / 'messages_layout.jsonl'}",
            f"task.dataset.reward_fn={root / 'reward_fn.py'}:boxed_match",
        ],
    )
    task = make_task(messages)
    exs = task.eval_examples()
    g = task.grade(["so \\boxed{42}", "\\boxed{55}"], exs)
    np.testing.assert_array_equal(g.rewards, [1.0, 0.0])


def test_a_few_bad_rows_are_left_out_with_a_warning(tmp_path, caplog):
    model, _ = model_dir(tmp_path, chat_template=True)
    rows = [{"prompt": f"add {q}", "answer": a} for q, a in PROBLEMS * 2]  # 12 rows
    rows[5] = {"prompt": "add 1 1", "answer": ""}
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    task = make_task(run_config(tmp_path, model, f"task.dataset.train={data}"))
    with caplog.at_level("WARNING"):
        ids = [task.train_example(i).id for i in range(task.num_train)] + [e.id for e in task.eval_examples()]
    assert sorted(ids) == sorted(f"train:{i}" for i in range(12) if i != 5)
    assert f"{data}: 1 of 12 rows are unusable" in caplog.text
    assert f"{data}: row 5: field 'answer' is empty" in caplog.text


# -- the answer field with a reward function -----------------------------------------------------------------


def plain_rows(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize("reward", [True, False])
@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("answer_field", "answr", r"no row of '.*d\.jsonl' has a field 'answr' \(did you mean 'answer'\?\)"),
        ("prompt_field", "promt", r"no row of '.*d\.jsonl' has a field 'promt' \(did you mean 'prompt'\?\)"),
        ("answer_field", "solution", r"no row of .* has a field 'solution'; its rows have prompt, answer"),
    ],
)
def test_a_field_no_row_has_is_an_error_naming_the_fields_rows_have(tmp_path, reward, key, value, message):
    model, _ = model_dir(tmp_path, chat_template=True)
    data = plain_rows(tmp_path / "d.jsonl", [{"prompt": f"add {q}", "answer": a} for q, a in PROBLEMS])
    extra = ["task.dataset.reward_fn=_byo_rewards:contains_reference"] if reward else []
    options = [f"task.dataset.train={data}", f"task.dataset.{key}={value}", *extra]
    task = make_task(run_config(tmp_path, model, *options))
    with pytest.raises(ConfigError, match=rf"task\.dataset\.{key}: {message}") as e:
        task.num_train  # noqa: B018
    # Only with a reward function can the answer field be unset, and the message says how.
    assert ("unset task.dataset.answer_field" in str(e.value)) == (reward and key == "answer_field")


def test_a_misspelled_nested_answer_field_suggests_the_nested_one(tmp_path):
    model, _ = model_dir(tmp_path, chat_template=True)
    data = verl_parquet(tmp_path / "train.parquet")
    cfg = run_config(
        tmp_path,
        model,
        f"task.dataset.train={data}",
        "task.dataset.answer_field=reward_model.ground_truh",
        "task.dataset.reward_fn=_byo_rewards:contains_reference",
    )
    with pytest.raises(ConfigError, match=r"did you mean 'reward_model\.ground_truth'\?\); its rows have "):
        make_task(cfg).num_train  # noqa: B018


def test_a_misspelled_answer_field_fails_before_the_run_directory(tmp_path):
    from click.testing import CliRunner

    from maxrl_rs.cli import main

    model, _ = model_dir(tmp_path, chat_template=True)
    data = messages_jsonl(tmp_path / "d.jsonl")
    out = tmp_path / "run"
    args = [f"out={out}", f"model.path={model}", "task.name=dataset", "task.eval_size=2"]
    args += messages_options(data, "_byo_rewards:contains_reference")
    args.append("task.dataset.answer_field=soluton")
    r = CliRunner().invoke(main, ["train", *(a for x in args for a in ("--set", x))])
    assert r.exit_code == 2, r.output
    assert "task.dataset.answer_field: no row of" in r.output and "'soluton'" in r.output
    assert "did you mean 'solution'?" in r.output and "Traceback" not in r.output
    assert not out.exists()


@pytest.mark.parametrize("empty", ["", "   ", None, []])
def test_rows_without_an_answer_are_left_out_with_a_reward_function_too(tmp_path, caplog, empty):
    model, _ = model_dir(tmp_path, chat_template=True)
    rows = [{"prompt": f"add {q}", "answer": a} for q, a in PROBLEMS * 2]  # 12 rows
    rows[4]["answer"] = empty
    data = plain_rows(tmp_path / "d.jsonl", rows)
    reward = "task.dataset.reward_fn=_byo_rewards:contains_reference"
    task = make_task(run_config(tmp_path, model, f"task.dataset.train={data}", reward))
    with caplog.at_level("WARNING"):
        examples = [task.train_example(i) for i in range(task.num_train)] + task.eval_examples()
    assert sorted(ex.id for ex in examples) == sorted(f"train:{i}" for i in range(12) if i != 4)
    assert all(ex.reference for ex in examples)
    assert f"{data}: 1 of 12 rows are unusable" in caplog.text
    assert f"{data}: row 4: " in caplog.text
    # More than 10% without an answer stops the run, naming the rows.
    for i in (1, 7):
        rows[i]["answer"] = ""
    data = plain_rows(tmp_path / "d.jsonl", rows)
    task = make_task(run_config(tmp_path, model, f"task.dataset.train={data}", reward))
    with pytest.raises(ConfigError, match=r"3 of 12 rows are unusable:\n.*row 1: field 'answer' is empty"):
        task.num_train  # noqa: B018


def test_an_unset_answer_field_means_no_reference_for_a_reward_function(tmp_path):
    model, _ = model_dir(tmp_path, chat_template=True)
    data = plain_rows(tmp_path / "d.jsonl", [{"prompt": f"add {q}"} for q, _ in PROBLEMS])
    _byo_rewards.CALLS.clear()
    for unset in ("none", "null", ""):
        cfg = run_config(
            tmp_path,
            model,
            f"task.dataset.train={data}",
            f"task.dataset.answer_field={unset}",
            "task.dataset.reward_fn=_byo_rewards:contains_reference",
        )
        assert cfg.task.dataset.answer_field == ""
        task = make_task(cfg)
        examples = [task.train_example(i) for i in range(task.num_train)] + task.eval_examples()
        assert len(examples) == len(PROBLEMS) and {ex.reference for ex in examples} == {""}
        task.grade(["add", "x"], examples[:2])
        assert _byo_rewards.CALLS[-1][2] == ["", ""]
    # The verifiers need a reference: unset without a reward function is refused before any file is read.
    cfg = run_config(tmp_path, model, f"task.dataset.train={data}", "task.dataset.answer_field=none")
    with pytest.raises(ConfigError, match=r"task\.dataset\.answer_field: unset, but the verifiers"):
        make_task(cfg)


# -- a reward function that fails: one line naming it, nothing left behind ----------------------------------

BROKEN = """
def score(prompts, responses, references):
    return [float(r == ref) for r, ref in zip(responses, references)]


def broken(prompts, responses, references):
    raise ValueError("scorer is broken")
"""


def cli_train(tmp_path, model, data, spec, *extra):
    from click.testing import CliRunner

    from maxrl_rs.cli import main

    sets = [f"model.path={model}", "task.name=dataset", "task.eval_size=2", "task.dataset.max_new_tokens=3"]
    sets += [*messages_options(data, spec), "train.steps=1", "train.prompts_per_step=2", "rollout.n=4"]
    sets += ["eval.samples=2", "log.tensorboard=false", *extra]
    return CliRunner().invoke(main, ["train", "--quiet", *(a for s in sets for a in ("--set", s))])


@pytest.mark.parametrize(
    ("spec", "extra", "message"),
    [
        (
            "my_reward.py:broken",
            [],
            r"reward_fn my_reward\.py:broken raised ValueError: scorer is broken \(at my_reward\.py:7\) on "
            r"example 'train:2' \(prompt 'add 1 4', response '5'; in a trial call before training\); "
            r"a reward function must score any response",
        ),
        (
            "_byo_rewards:half",
            [],
            r"reward_fn _byo_rewards:half returned 0\.5 for example 'train:2' \(prompt 'add 1 4', response "
            r"'5'; in a trial call before training\); algo\.estimator 'maxrl' needs scores of 0 or 1",
        ),
        (
            "_byo_rewards:wrong_length",
            ["algo.estimator=grpo"],
            r"reward_fn _byo_rewards:wrong_length returned 1 scores for 2 responses \(in a trial call before "
            r"training\); it must return one per response",
        ),
        (
            "_byo_rewards:returns_text",
            [],
            r"reward_fn _byo_rewards:returns_text returned a str for 2 responses .*a list of scores",
        ),
        (
            "_byo_rewards:returns_strings",
            [],
            r"reward_fn _byo_rewards:returns_strings returned '1' for example 'train:2' .*finite numbers",
        ),
    ],
)
def test_a_reward_function_that_fails_is_one_line_before_anything_is_written(
    tmp_path, monkeypatch, spec, extra, message
):
    model, _ = model_dir(tmp_path, chat_template=True)
    data = messages_jsonl(tmp_path / "d.jsonl")
    (tmp_path / "my_reward.py").write_text(BROKEN)
    monkeypatch.chdir(tmp_path)
    r = cli_train(tmp_path, model, data, spec, "out=runs/a", *extra)
    assert r.exit_code == 1, r.output
    (line,) = r.output.strip().splitlines()
    assert re.match(rf"Error: {message}", line), line
    assert "Traceback" not in r.output and "_maxrl_reward_" not in r.output
    assert not (tmp_path / "runs").exists()
    # Fixed, the same command with the same --out just works.
    r = cli_train(tmp_path, model, data, "my_reward.py:score", "out=runs/a", "algo.estimator=grpo")
    assert r.exit_code == 0, r.output


def test_a_reward_function_that_fails_during_the_run_leaves_no_run_directory(tmp_path, monkeypatch):
    model, _ = model_dir(tmp_path, chat_template=True)
    data = messages_jsonl(tmp_path / "d.jsonl")
    (tmp_path / "my_reward.py").write_text(BROKEN)
    monkeypatch.chdir(tmp_path)
    r = cli_train(tmp_path, model, data, "_byo_rewards:raises_on_model_output", "out=runs/a")
    assert r.exit_code == 1, r.output
    assert "Traceback" not in r.output
    error = r.output.strip().splitlines()[-1]
    assert re.match(
        r"Error: reward_fn _byo_rewards:raises_on_model_output raised KeyError: \"unexpected '.*'\" \(at "
        r".*_byo_rewards\.py:\d+\) on example '(eval|train):\d' \(prompt 'add \d \d', response '.*'; row \d+ "
        r"of a batch of \d+\)$",
        error,
    ), error
    assert "removed what it wrote in" in r.output
    assert not (tmp_path / "runs").exists()
    r = cli_train(tmp_path, model, data, "my_reward.py:score", "out=runs/a")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "runs" / "a" / "checkpoints" / "step-1").is_dir()


SIGNATURES = """
import functools

def two(prompts, responses):
    return [0.0] * len(responses)

def four(prompts, responses, references, extras):
    return [0.0] * len(responses)

def keyword_only(prompts, responses, references, *, tokenizer):
    return [0.0] * len(responses)

def annotated(prompts: list[str], responses: list[str]) -> list[float]:
    return [0.0] * len(responses)

def star_args(*args, **kwargs):
    return [0.0] * len(args[1])

def a_default(prompts, responses, references, weight=1.0):
    return [0.0] * len(responses)

class Scorer:
    def __call__(self, prompts, responses, references):
        return [0.0] * len(responses)

scorer = Scorer()
partial = functools.partial(four, extras=None)
number = 3
"""


@pytest.mark.parametrize(
    ("attr", "takes"),
    [
        ("two", "(prompts, responses)"),
        ("four", "(prompts, responses, references, extras)"),
        ("keyword_only", "(prompts, responses, references, *, tokenizer)"),
        ("annotated", "(prompts, responses)"),  # shown without annotations
    ],
)
def test_a_reward_function_that_cannot_take_the_call_is_named_with_its_parameters(
    tmp_path, monkeypatch, attr, takes
):
    from maxrl_rs.rewards import load_reward_fn

    (tmp_path / "sig.py").write_text(SIGNATURES)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as e:
        load_reward_fn(f"sig.py:{attr}")
    assert str(e.value).startswith(
        f"task.dataset.reward_fn: sig.py:{attr} takes {takes} but is called as "
        f"{attr}(prompts, responses, references), three lists of strings"
    ), str(e.value)
    assert 'docs/training.md, "Python reward functions"' in str(e.value)


@pytest.mark.parametrize("attr", ["star_args", "a_default", "scorer", "partial"])
def test_reward_functions_that_can_take_the_call_load(tmp_path, monkeypatch, attr):
    from maxrl_rs.rewards import load_reward_fn

    (tmp_path / "sig.py").write_text(SIGNATURES)
    monkeypatch.chdir(tmp_path)
    assert list(load_reward_fn(f"sig.py:{attr}")(["p"], ["r"], ["a"])) == [0.0]


def test_a_reward_spec_naming_a_value_says_what_it_is_with_its_article(tmp_path, monkeypatch):
    from maxrl_rs.rewards import load_reward_fn

    (tmp_path / "sig.py").write_text(SIGNATURES)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"'sig\.py:number' is an int, not a function"):
        load_reward_fn("sig.py:number")


def test_a_reward_function_with_the_wrong_parameters_stops_train_before_anything_is_written(
    tmp_path, monkeypatch
):
    model, _ = model_dir(tmp_path, chat_template=True)
    data = messages_jsonl(tmp_path / "d.jsonl")
    (tmp_path / "sig.py").write_text(SIGNATURES)
    monkeypatch.chdir(tmp_path)
    r = cli_train(tmp_path, model, data, "sig.py:two", "out=runs/a")
    assert r.exit_code == 2, r.output
    message = " ".join(r.output.split())
    assert (
        "sig.py:two takes (prompts, responses) but is called as two(prompts, responses, references)"
        in message
    )
    assert (
        "Traceback" not in r.output
        and "rewards.py" not in r.output
        and "must score any response" not in r.output
    )
    assert not (tmp_path / "runs").exists()


def test_eval_with_a_failing_reward_function_is_one_line_before_sampling(tmp_path, monkeypatch):
    from click.testing import CliRunner

    import maxrl_rs.rollout.base as base
    from maxrl_rs.cli import main

    model, _ = model_dir(tmp_path, chat_template=True)
    data = messages_jsonl(tmp_path / "d.jsonl")

    def refuse(name):
        raise AssertionError("sampling started before the reward function was checked")

    monkeypatch.setattr(base, "backend_class", refuse)
    sets = ["task.name=dataset", "task.eval_size=2", *messages_options(data, "_byo_rewards:returns_text")]
    r = CliRunner().invoke(main, ["eval", str(model), "--n", "2", *(a for s in sets for a in ("--set", s))])
    assert r.exit_code == 1, r.output
    assert "Error: reward_fn _byo_rewards:returns_text returned a str for 2 responses" in r.output
    assert "Traceback" not in r.output


def test_eval_counts_a_score_of_1_as_correct_and_takes_graded_scores(tmp_path):
    """pass@k needs a verdict per response, not 0/1 scores: a graded reward (a grpo run's) evaluates."""
    from click.testing import CliRunner

    from maxrl_rs.cli import main
    from maxrl_rs.evaluation import load_reports

    model, _ = model_dir(tmp_path, chat_template=True)
    data = messages_jsonl(tmp_path / "d.jsonl")
    report = tmp_path / "r.json"
    sets = ["task.name=dataset", "task.eval_size=2", "task.dataset.max_new_tokens=2"]
    for fn in ("half", "no_verdict_on_odd_rows"):
        args = [*sets, *messages_options(data, f"_byo_rewards:{fn}")]
        r = CliRunner().invoke(
            main,
            ["eval", str(model), "--n", "4", "--no-progress", "--json", str(report)]
            + [a for s in args for a in ("--set", s)],
        )
        assert r.exit_code == 0, r.output
        (row,) = load_reports(report)
        if fn == "half":  # every response graded, none scored 1
            assert row.prompt_n == [4, 4] and row.prompt_c == [0, 0] and row.pass_at_k[0] == 0.0
        else:  # None: no verdict, left out of n
            assert sum(row.prompt_n) == 4


def test_a_reward_function_failing_after_a_checkpoint_says_how_to_resume_once_fixed(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from maxrl_rs.cli import main

    model, _ = model_dir(tmp_path, chat_template=True)
    data = messages_jsonl(tmp_path / "d.jsonl")
    reward = tmp_path / "my_reward.py"
    reward.write_text(BROKEN)
    monkeypatch.chdir(tmp_path)
    r = cli_train(tmp_path, model, data, "my_reward.py:score", "out=runs/a", "checkpoint.every=1")
    assert r.exit_code == 0, r.output
    # The same function, now failing on what the model writes (the trial call still passes).
    reward.write_text(
        BROKEN.replace(
            "return [float",
            "if any(r not in ('', ref) for r, ref in zip(responses, references)):\n"
            "        raise ValueError('down')\n    return [float",
        )
    )
    r = CliRunner().invoke(main, ["train", "--resume", "runs/a", "--steps", "2", "--quiet"])
    assert r.exit_code == 1, r.output
    assert "Traceback" not in r.output
    assert (
        "Error: reward_fn my_reward.py:score raised ValueError: down (at my_reward.py:4) on example"
        in r.output
    )
    tail = r.output.strip().splitlines()[-2:]
    assert tail == [
        "The run keeps its checkpoints up to step-1: fix the function in place (same file and name) and "
        "continue with",
        f"  maxrl train --resume {tmp_path / 'runs' / 'a'}",
    ]
    reward.write_text(BROKEN)
    r = CliRunner().invoke(main, ["train", "--resume", "runs/a", "--steps", "2", "--quiet"])
    assert r.exit_code == 0 and "final (step 2)" in r.output, r.output


# -- the verifier option: checked with the config, before any file is read -----------------------------------

KNOWN_VERIFIERS = "known: math, gsm8k, exact, choice, maze, countdown"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ["task.dataset.verifier=mathh"],
            f"task.dataset.verifier: unknown verifier 'mathh' (did you mean 'math'?); {KNOWN_VERIFIERS}",
        ),
        (["task.dataset.verifier=xyz"], f"task.dataset.verifier: unknown verifier 'xyz'; {KNOWN_VERIFIERS}"),
        (
            ["task.dataset.verifier=gsm8", "task.dataset.reward_fn=_byo_rewards:contains_reference"],
            f"task.dataset.verifier: unknown verifier 'gsm8' (did you mean 'gsm8k'?); {KNOWN_VERIFIERS}",
        ),
        (
            ["task.dataset.verifier=gsm8k", "task.dataset.reward_fn=_byo_rewards:contains_reference"],
            "task.dataset.verifier: 'gsm8k' does not apply with task.dataset.reward_fn set (the function "
            "scores every row); leave it at its default ('math')",
        ),
        (
            ["task.name=jsonl", "task.jsonl.train=missing.jsonl", "task.jsonl.verifier=exakt"],
            f"task.jsonl.verifier: unknown verifier 'exakt' (did you mean 'exact'?); {KNOWN_VERIFIERS}",
        ),
        (["task.dataset.max_new_tokens=0"], "task.dataset.max_new_tokens: must be >= 1, got 0"),
    ],
)
def test_a_bad_verifier_option_is_a_config_error_not_a_data_error(tmp_path, options, message):
    # The training file does not exist: the error must come from the option, before any file is read.
    missing = f"task.dataset.train={tmp_path / 'missing.jsonl'}"
    with pytest.raises(ConfigError) as e:
        load_config(None, ["task.name=dataset", missing, *options])
    assert str(e.value) == message
    # The task's own options are checked the same way when a task is built without a config.
    task_name = "jsonl" if "task.name=jsonl" in options else "dataset"
    cls = maxrl_rs.tasks.base.task_class(task_name)
    fields = dict(o.split("=", 1) for o in options if o.startswith(f"task.{task_name}."))
    kwargs = {k.rsplit(".", 1)[1]: v for k, v in fields.items()}
    if "max_new_tokens" in kwargs:
        kwargs["max_new_tokens"] = int(kwargs["max_new_tokens"])
    with pytest.raises(ConfigError) as e:
        cls(cls.Options(**{"train": "missing.jsonl", **kwargs}), seed=0, eval_seed=1, eval_size=1)
    assert str(e.value) == message


def test_the_default_verifier_and_a_known_one_are_accepted(tmp_path):
    data = plain_rows(tmp_path / "d.jsonl", [{"prompt": f"add {q}", "answer": a} for q, a in PROBLEMS])
    reward = "task.dataset.reward_fn=_byo_rewards:contains_reference"
    for options, verifier in (
        (["task.dataset.verifier=gsm8k"], "gsm8k"),
        (["task.dataset.verifier=math", reward], "math"),
        ([reward], "math"),
    ):
        cfg = load_config(None, ["task.name=dataset", f"task.dataset.train={data}", *options])
        assert cfg.task.dataset.verifier == verifier
    # Another task's verifier is not read, so not checked either.
    load_config(None, ["task.name=dataset", f"task.dataset.train={data}", "task.jsonl.verifier=nope"])


def test_a_misspelled_verifier_fails_on_the_command_line_naming_the_option(tmp_path):
    from click.testing import CliRunner

    from maxrl_rs.cli import main

    model, _ = model_dir(tmp_path, chat_template=True)
    data = plain_rows(tmp_path / "gsm.jsonl", [{"prompt": f"add {q}", "answer": a} for q, a in PROBLEMS * 2])
    out = tmp_path / "run"
    sets = [f"out={out}", f"model.path={model}", "task.name=dataset", f"task.dataset.train={data}"]
    sets.append("task.dataset.verifier=mathh")
    r = CliRunner().invoke(main, ["train", *(a for s in sets for a in ("--set", s))])
    assert r.exit_code == 2, r.output
    assert "task.dataset.verifier: unknown verifier 'mathh' (did you mean 'math'?); known: " in r.output
    assert "gsm.jsonl" not in r.output and "unusable" not in r.output and "Traceback" not in r.output
    assert not out.exists()


@pytest.mark.parametrize("suffix", ["jsonl", "parquet", "csv"])
def test_an_unknown_verifier_in_a_row_names_the_file_row_and_value(tmp_path, suffix):
    from datasets import Dataset

    model, _ = model_dir(tmp_path, chat_template=True)
    rows = [
        {"prompt": f"add {q}", "answer": a, "verifier": "gsm88" if i == 3 else "gsm8k"}
        for i, (q, a) in enumerate(PROBLEMS)
    ]
    data = tmp_path / f"d.{suffix}"
    getattr(Dataset.from_list(rows), {"jsonl": "to_json", "parquet": "to_parquet", "csv": "to_csv"}[suffix])(
        str(data), **({"index": False} if suffix == "csv" else {})
    )
    task = make_task(run_config(tmp_path, model, f"task.dataset.train={data}"))
    with pytest.raises(ConfigError) as e:
        task.num_train  # noqa: B018
    assert (
        f"{data}: row 3: field 'verifier': unknown verifier 'gsm88' (did you mean 'gsm8k'?); "
        f"{KNOWN_VERIFIERS}\n"
    ) in str(e.value)


def test_an_unknown_verifier_in_a_verl_parquet_row_names_the_row(tmp_path):
    import pyarrow.parquet as pq

    model, _ = model_dir(tmp_path, chat_template=True)
    data = verl_parquet(tmp_path / "train.parquet")
    table = pq.read_table(data)
    pq.write_table(
        table.append_column("verifier", [["gsm8k", "gsm8k", "exact", "maths", "gsm8k", "gsm8k"]]), data
    )
    options = ["task.dataset.answer_field=reward_model.ground_truth", f"task.dataset.train={data}"]
    task = make_task(run_config(tmp_path, model, *options))
    with pytest.raises(
        ConfigError, match=r"train\.parquet: row 3: field 'verifier': unknown verifier 'maths'"
    ):
        task.num_train  # noqa: B018
    # The option is checked with the config for this layout too.
    with pytest.raises(ConfigError, match=r"^task\.dataset\.verifier: unknown verifier 'gsm8kk'"):
        run_config(tmp_path, model, *options, "task.dataset.verifier=gsm8kk")
