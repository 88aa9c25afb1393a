"""What a new user gets wrong with `maxrl train | eval | grade`, and the clear message each mistake gets,
before anything is sampled, trained or written."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from click.testing import CliRunner  # noqa: E402

from maxrl_rs import checkpoint as ckpt  # noqa: E402
from maxrl_rs.cli import main  # noqa: E402
from maxrl_rs.config import load_config, to_dict  # noqa: E402
from maxrl_rs.errors import ConfigError  # noqa: E402
from maxrl_rs.models import TinyModelSpec, tiny_model, word_level_tokenizer  # noqa: E402
from maxrl_rs.run import make_task  # noqa: E402
from maxrl_rs.tasks.encoding import check_tokenizer, examples_to_check  # noqa: E402

SMALL = TinyModelSpec(hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32)


def invoke(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args])


def task(name: str, *overrides: str):
    return make_task(load_config(None, [f"task.name={name}", *overrides]))


def save_model(path: Path, task_name: str) -> Path:
    """A tiny model with the built-in tokenizer of ``task_name``, saved like a checkpoint's model/."""
    tokenizer = task(task_name).build_tokenizer()
    torch.manual_seed(0)
    model = tiny_model(SMALL, tokenizer)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def maze_model(tmp_path_factory) -> Path:
    return save_model(tmp_path_factory.mktemp("maze") / "model", "maze")


@pytest.fixture
def maze_run(maze_model, tmp_path) -> Path:
    """A maze run directory with one checkpoint (its model the tiny maze model)."""
    run = tmp_path / "run"
    step = run / ckpt.CHECKPOINTS / "step-1"
    shutil.copytree(maze_model, step / ckpt.MODEL_DIR)
    (step / ckpt.STATE_FILE).write_bytes(b"")
    cfg = to_dict(load_config(None, [f"out={run}", "task.maze.size=5"]))
    (run / ckpt.CONFIG_FILE).write_text(json.dumps(cfg))
    return run


@pytest.fixture
def no_sampling(monkeypatch):
    """Fail the test if any rollout backend is built (the first step of sampling)."""
    import maxrl_rs.rollout.base as base

    def refuse(name):
        raise AssertionError("a backend was built before the mistake was reported")

    monkeypatch.setattr(base, "backend_class", refuse)


# -- a tokenizer that cannot encode the task's prompts -------------------------------------------------------


def test_eval_of_a_maze_model_on_arithmetic_names_task_model_and_text(maze_model, no_sampling):
    r = invoke("eval", maze_model, "--task", "arithmetic", "--n", "2", "--prompts", "2", "--no-progress")
    assert r.exit_code == 1, r.output
    assert "Traceback" not in r.output and "UNK" not in r.output
    want = f"the tokenizer of model {str(maze_model)!r} cannot encode the prompts of task 'arithmetic'"
    assert want in r.output
    assert "no token for '1'" in r.output and "example eval-0" in r.output


def test_eval_of_a_run_on_another_task_says_which_task_it_was_trained_on(maze_run, no_sampling):
    r = invoke("eval", maze_run, "--task", "arithmetic", "--n", "2", "--prompts", "2", "--no-progress")
    assert r.exit_code == 1, r.output
    assert "cannot encode the prompts of task 'arithmetic'" in r.output
    assert str(maze_run / "checkpoints" / "step-1" / "model") in r.output
    assert "was trained on task 'maze': evaluate it with --task maze" in r.output


def test_eval_checks_every_policy_before_the_first_samples(maze_model, tmp_path, no_sampling):
    arithmetic_model = save_model(tmp_path / "arith", "arithmetic")
    r = invoke(
        "eval", arithmetic_model, maze_model, "--task", "arithmetic", "--n", "2", "--prompts", "2",
        "--no-progress",
    )  # fmt: skip
    assert r.exit_code == 1, r.output
    assert f"model {str(maze_model)!r} cannot encode" in r.output


def test_train_with_a_model_path_of_another_task_fails_before_the_run_dir(maze_model, tmp_path):
    out = tmp_path / "run"
    r = invoke("train", "--set", "task.name=arithmetic", "--set", f"model.path={maze_model}", "--out", out)
    assert r.exit_code == 2, r.output
    assert "model.path: the tokenizer of model" in r.output and "task 'arithmetic'" in r.output
    assert "no token for '1'" in r.output
    assert not out.exists()


def _unk_tokenizer(words: list[str]):
    """A word-level tokenizer with an unknown token: text outside its vocabulary encodes, as [UNK]."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(["<pad>", "<eos>", "[UNK]", *words])}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token="<pad>", eos_token="<eos>", unk_token="[UNK]"
    )


def test_text_that_becomes_the_unknown_token_is_refused_and_named():
    t = task("arithmetic")
    digits_only = _unk_tokenizer([str(d) for d in range(10)])  # no '+', '-' nor '='
    with pytest.raises(ConfigError, match=r"model 'm'.* task 'arithmetic': it has no token for '[+\-*=]'"):
        check_tokenizer(t, digits_only, t.eval_examples()[:3], model="m")
    covering = _unk_tokenizer([str(d) for d in range(10)] + ["+", "-", "*", "="])
    check_tokenizer(t, covering, examples_to_check(t), model="m")


def test_solutions_are_checked_as_well_as_prompts():
    t = task("maze", "task.maze.size=5")
    prompts_only = word_level_tokenizer(["S", "G", ".", "#", "<nl>", "<sep>"])
    want = r"cannot encode the solutions of task 'maze': it has no token for '(UP|DOWN|LEFT|RIGHT|DONE)'"
    with pytest.raises(ConfigError, match=want):
        check_tokenizer(t, prompts_only, examples_to_check(t), model="m", key="model.path")


def test_a_tokenizer_without_eos_is_refused_up_front(maze_model):
    from maxrl_rs.models import load_tokenizer

    tokenizer = load_tokenizer(maze_model)
    tokenizer.eos_token = None
    with pytest.raises(ConfigError, match=r"model\.path: the tokenizer of model 'm' has no EOS token"):
        check_tokenizer(task("maze"), tokenizer, [], model="m", key="model.path")


def test_an_unknown_token_that_is_also_eos_is_not_mistaken_for_unknown_text():
    """Byte-level tokenizers (SmolLM2) name their EOS as unknown token; EOS never comes out of plain text."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    core = ByteLevelBPETokenizer()
    core.train_from_iterator(["12 + 34 = 46"], vocab_size=300, special_tokens=["<|endoftext|>"])
    eos = "<|endoftext|>"
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, eos_token=eos, unk_token=eos, pad_token=eos)
    t = task("arithmetic")
    check_tokenizer(t, tokenizer, examples_to_check(t), model="m")


# -- a model directory where a run is expected, and a run's parts where a model is -------------------------


def test_resume_of_a_checkpoints_model_points_to_the_checkpoint_and_to_model_path(maze_run):
    step = maze_run / "checkpoints" / "step-1"
    before = sorted(p for p in maze_run.rglob("*"))
    r = invoke("train", "--resume", step / "model")
    assert r.exit_code == 2, r.output
    assert "unknown key" not in r.output
    assert f"{str(step / 'model')!r} is a model directory, not a run" in r.output
    assert "RUN, RUN/checkpoints or a checkpoint RUN/checkpoints/step-N" in r.output.replace(
        "RUN (the --out of maxrl train)", "RUN"
    )
    assert f"--resume {step})" in r.output and f"--set model.path={step / 'model'}" in r.output
    assert sorted(p for p in maze_run.rglob("*")) == before


@pytest.mark.parametrize("where", ["exported", "run/sft", "run/merged"])
def test_resume_of_any_model_directory_says_what_resume_takes(maze_model, maze_run, tmp_path, where):
    target = tmp_path / "exported" if where == "exported" else maze_run / where.split("/")[1]
    shutil.copytree(maze_model, target)
    r = invoke("train", "--resume", target)
    assert r.exit_code == 2, r.output
    assert f"{str(target)!r} is a model directory, not a run" in r.output
    assert f"model.path={target}" in r.output
    assert (f"inside the run {str(maze_run)!r}: --resume {maze_run})" in r.output) == (where != "exported")


def test_a_models_config_json_given_as_config_says_to_use_model_path(maze_model, tmp_path):
    for command in (["train", "--out", tmp_path / "run"], ["eval", maze_model, "--n", "2"]):
        r = invoke(*command, "--config", maze_model / "config.json")
        assert r.exit_code != 0 and "unknown key" not in r.output, r.output
        assert "is the config.json of a Hugging Face model, not a maxrl config" in r.output
        assert f"--set model.path={maze_model}" in r.output
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("where", "message"),
    [
        (
            "checkpoints/step-1",
            "is a training checkpoint, not a model; use its model, {run}/checkpoints/step-1/model",
        ),
        ("checkpoints", "holds a runs checkpoints, not a model; use one checkpoints model"),
    ],
)
def test_model_path_at_a_checkpoint_names_its_model(maze_run, tmp_path, where, message):
    out = tmp_path / "new"
    r = invoke("train", "--set", f"model.path={maze_run / where}", "--out", out)
    assert r.exit_code == 2, r.output
    assert message.format(run=maze_run) in r.output.replace("'", "")
    assert not out.exists()


def test_eval_takes_a_runs_checkpoints_directory_as_the_run(maze_run):
    from maxrl_rs.evaluation.sampling import resolve_policy

    source = resolve_policy(maze_run / "checkpoints")
    assert source.run_dir == maze_run and source.step == 1
    assert source.model_dir == maze_run / "checkpoints" / "step-1" / "model"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"task": {"name": "maze"', "is not a readable config"),
        ("[1, 2]", r"is not a config \(its top level is not an object\)"),
        ('{"model": {}}', r"is not a training run's config \(no task and rollout sections\)"),
    ],
)
def test_a_damaged_run_config_is_named_by_eval_and_resume(maze_run, no_sampling, text, message):
    config = maze_run / ckpt.CONFIG_FILE
    config.write_text(text)
    for args in (("eval", maze_run, *EVAL), ("train", "--resume", maze_run)):
        r = invoke(*args)
        assert r.exit_code != 0 and "Traceback" not in r.output, r.output
        flat = " ".join(r.output.split())
        assert str(config) in flat and re.search(message, flat), (args[0], r.output)


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        (
            "absent.gguf",
            None,
            r"absent\.gguf' does not exist \(expected a run, checkpoint or model directory, or a \.gguf",
        ),
        ("absent-run", None, r"absent-run' does not exist"),
        (
            "weights.bin",
            b"x",
            r"weights\.bin' is a file, not a run, checkpoint or model directory, or a \.gguf",
        ),
    ],
)
def test_eval_names_a_missing_or_plain_file_policy(tmp_path, name, make, message):
    from maxrl_rs.errors import ConfigError
    from maxrl_rs.evaluation.sampling import resolve_policy

    path = tmp_path / "sub" / name
    if make is not None:
        path.parent.mkdir()
        path.write_bytes(make)
    with pytest.raises(ConfigError, match=message):
        resolve_policy(path)


# -- eval options that disagree, refused before sampling ----------------------------------------------------

EVAL = ["--task", "maze", "--set", "task.maze.size=5", "--prompts", "2", "--no-progress"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--n", "4", "--k", "1,8"], "Invalid value for --k: k = 8 is larger than --n 4"),
        (["--n", "4", "--k", "16,8,2"], "k = 8, 16 is larger than --n 4"),
        (["--k", "0"], "'0': ks[0] = 0 is outside 1..n = 1..256"),
        (["--n", "4", "--k", "0,2"], "'0,2': ks[0] = 0 is outside 1..n = 1..4"),
        (["--n", "4", "--k", "2,0,8"], "'2,0,8': ks[1] = 0 is outside 1..n = 1..4"),
        (["--n", "4", "--k", "8,x"], "'8,x': ks[1] is not an integer: 'x'"),
        (["--k", "two"], "'two': ks[0] is not an integer: 'two'"),
        (["--n", "0"], "Invalid value for '--n': 0 is not in the range x>=1"),
        (["--prompts", "0"], "Invalid value for '--prompts'"),
        (["--max-sequences", "0"], "Invalid value for '--max-sequences'"),
        (["--max-new-tokens", "0"], "Invalid value for '--max-new-tokens'"),
        (["--temperature", "-1"], "Invalid value for '--temperature'"),
    ],
)
def test_eval_options_that_cannot_work_are_refused_before_sampling(maze_model, no_sampling, options, message):
    r = invoke("eval", maze_model, *EVAL, *options)
    assert r.exit_code == 2, r.output
    assert message in r.output


def test_eval_name_count_is_checked_against_sampled_and_saved_reports_first(
    maze_model, tmp_path, no_sampling
):
    from maxrl_rs.evaluation import passk_report, save_reports

    saved = save_reports(
        [passk_report(4, [1, 2], run="a", task="maze"), passk_report(4, [0, 4], run="b", task="maze")],
        tmp_path / "two.json",
    )
    r = invoke("eval", maze_model, saved, *EVAL, "--name", "x", "--name", "y")
    assert r.exit_code == 2, r.output
    assert "2 --name values for 3 reports (1 sampled, 2 saved)" in r.output


def test_eval_outputs_that_cannot_be_written_are_refused_before_sampling(maze_model, tmp_path, no_sampling):
    (tmp_path / "file").write_text("x")
    r = invoke("eval", maze_model, *EVAL, "--json", tmp_path / "file" / "out.json")
    assert r.exit_code == 2 and "--json" in r.output and "is a file, not a directory" in r.output, r.output
    r = invoke("eval", maze_model, *EVAL, "--plot", tmp_path / "out.pngx")
    assert r.exit_code == 1 and "matplotlib cannot write 'pngx' files" in r.output, r.output


def test_eval_temperature_vllm_would_change_is_refused_before_sampling(maze_model, no_sampling):
    r = invoke("eval", maze_model, *EVAL, "--set", "rollout.backend=vllm", "--temperature", "0.005")
    assert r.exit_code == 1, r.output
    assert "--temperature: with rollout.backend=vllm must be 0 (greedy) or in" in r.output


def test_prompts_per_step_that_does_not_split_over_the_ranks_fails_before_the_run_dir(tmp_path, monkeypatch):
    """The world size is known only once the process group is up; the split is checked right then, not
    after the run directory, the model and the warm-start."""
    import contextlib

    from maxrl_rs import distributed, run

    @contextlib.contextmanager
    def two_ranks(options, device):
        yield distributed.DistContext(rank=0, world_size=2), torch.device("cpu")

    monkeypatch.setattr(run.distributed, "session", two_ranks)
    out = tmp_path / "run"
    cfg = load_config(
        None, [f"out={out}", "train.prompts_per_step=3", "sft.steps=0", "log.tensorboard=false"]
    )
    with pytest.raises(ConfigError, match=r"train.prompts_per_step \(3\) must be a multiple of the 2 ranks"):
        run.train(cfg)
    assert not out.exists()


# -- summaries of nothing: no rows, no graded responses ----------------------------------------------------


@pytest.mark.parametrize("content", ["", "\n", "\n  \n\n"])
def test_grade_of_a_file_without_rows_says_so_and_keeps_the_output(tmp_path, content):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text(content)
    out.write_text("earlier\n")
    r = invoke("grade", src, "-o", out, "--no-progress")
    assert r.exit_code == 1, r.output
    assert f"{src}: no rows to grade (the input is empty or holds only blank lines)" in r.output
    assert "nan" not in r.output and "accuracy" not in r.output
    assert out.read_text() == "earlier\n"
    r = CliRunner().invoke(main, ["grade", "-", "--no-progress"], input=content)
    assert r.exit_code == 1 and "<stdin>: no rows to grade" in r.output, r.output


def test_grade_summary_when_no_row_gets_a_verdict(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"response": "#### 3", "gold": ""}\n')  # an empty reference: invalid_reference
    r = invoke("grade", src, "-o", tmp_path / "out.jsonl", "--no-progress")
    assert r.exit_code == 0, r.output
    assert "accuracy 0.0000 (correct / all), n/a (correct / graded: no row got a verdict)" in r.output
    assert "nan" not in r.output


def test_training_progress_shows_no_reward_rather_than_nan_when_nothing_is_graded(maze_model, tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text(
        "".join(json.dumps({"prompt": p, "answer": "UP"}) + "\n" for p in ["UP DOWN", "LEFT"] * 2)
    )
    r = invoke(
        "train", "--out", tmp_path / "run", "--steps", "1",
        *("--set", "task.name=dataset", "--set", f"task.dataset.train={data}"),
        *("--set", "task.dataset.reward_fn=_byo_rewards:no_verdict"),
        *("--set", "task.dataset.max_new_tokens=2"),
        *("--set", f"model.path={maze_model}", "--set", "task.eval_size=2", "--set", "eval.samples=1"),
        *("--set", "train.prompts_per_step=2", "--set", "rollout.n=2", "--set", "log.tensorboard=false"),
        *("--set", "algo.estimator=grpo", "--set", "checkpoint.every=0"),
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "reward=n/a" in r.output and "reward=nan" not in r.output
    assert "nan" not in r.output.split("held-out pass@1")[1]


# -- what a LoRA run trains ---------------------------------------------------------------------------------


def test_lora_run_says_how_many_parameters_it_trains_like_peft(tmp_path):
    pytest.importorskip("peft")
    from _tiny import TINY
    from maxrl_rs.lora import apply_lora
    from maxrl_rs.metrics import read_metrics

    out = tmp_path / "run"
    options = [*TINY, "sft.steps=0", "task.maze.size=3", "task.eval_size=2", "model.lora.r=4"]
    r = invoke("train", "--out", out, "--steps", "1", *[a for o in options for a in ("--set", o)])
    assert r.exit_code == 0, r.output

    # The same model and adapter, counted by peft itself.
    cfg = load_config(None, [f"out={out}", *options])
    maze = make_task(cfg)
    torch.manual_seed(cfg.seed)
    m = cfg.model
    base = tiny_model(TinyModelSpec(m.arch, m.hidden_size, m.num_layers, m.num_heads, m.intermediate_size),
                      maze.build_tokenizer())  # fmt: skip
    trainable, total = apply_lora(base, cfg.model.lora).get_nb_trainable_parameters()
    assert 0 < trainable < total
    share = 100 * trainable / total
    line = f"trainable params: {trainable:,} || all params: {total:,} || trainable%: {share:.4f}"
    assert f"LoRA r=4: {line}" in r.output
    table = r.output.split("held-out pass@1")[1]
    assert re.search(rf"\nparameters +{trainable:,} trainable / {total:,} \({share:.2f}%\)\n", table), table
    step0 = read_metrics(out)[0]
    assert step0["parameters"] == total and step0["trainable_parameters"] == trainable


def test_a_full_run_counts_every_parameter_as_trained(maze_model):
    from transformers import AutoModelForCausalLM

    from maxrl_rs.models import num_parameters, parameter_summary

    model = AutoModelForCausalLM.from_pretrained(maze_model)
    total = num_parameters(model)
    assert num_parameters(model, trainable=True) == total
    model.model.embed_tokens.weight.requires_grad_(False)  # tied with the output head: counted once
    frozen = model.model.embed_tokens.weight.numel()
    assert num_parameters(model, trainable=True) == total - frozen
    assert parameter_summary(total - frozen, total).startswith(f"trainable params: {total - frozen:,} ||")


# -- transformers' progress bars follow --quiet / progress=False, and only for that call -------------------

BARS = ("Loading weights", "Writing model shards")


@pytest.fixture
def bars_on():
    """transformers' and datasets' bars on, as in a fresh process; restored afterwards."""
    import datasets
    from huggingface_hub import utils as hub
    from transformers.utils import logging as hf

    before = (
        hf.is_progress_bar_enabled(),
        hub.are_progress_bars_disabled(),
        datasets.are_progress_bars_disabled(),
    )
    hf.enable_progress_bar()
    datasets.enable_progress_bars()
    yield hf
    (hf.enable_progress_bar if before[0] else hf.disable_progress_bar)()
    (hub.disable_progress_bars if before[1] else hub.enable_progress_bars)()
    (datasets.disable_progress_bars if before[2] else datasets.enable_progress_bars)()


def test_load_pretrained_shows_transformers_bars_unless_asked_not_to(maze_model, bars_on, capfd):
    from maxrl_rs.run import load_pretrained

    load_pretrained(maze_model)
    assert "Loading weights" in capfd.readouterr().err  # the bars this file checks for do show by default
    load_pretrained(maze_model, progress=False)
    assert "Loading weights" not in capfd.readouterr().err
    assert bars_on.is_progress_bar_enabled()


def test_quiet_library_train_has_no_transformers_bars_and_leaves_them_on(
    maze_model, tmp_path, bars_on, capfd
):
    from _tiny import TINY
    from maxrl_rs.run import train

    cfg = load_config(None, [f"out={tmp_path / 'run'}", *TINY, "sft.steps=2", f"model.path={maze_model}",
                             "task.maze.size=5", "train.steps=1", "task.eval_size=2"])  # fmt: skip
    train(cfg, progress=False)  # loads model.path, saves the warm-start and a checkpoint
    err = capfd.readouterr().err
    assert not any(bar in err for bar in BARS), err
    assert (tmp_path / "run" / "checkpoints" / "step-1").is_dir()
    assert bars_on.is_progress_bar_enabled()  # a library user who did not ask keeps them


@pytest.mark.parametrize("quiet", [True, False])
def test_train_cli_hides_transformers_bars_for_its_run_only(maze_model, tmp_path, bars_on, quiet):
    out = tmp_path / "run"
    options = ["sft.steps=2", f"model.path={maze_model}", "task.maze.size=5", "task.eval_size=2",
               "eval.samples=1", "train.prompts_per_step=2", "rollout.n=2",
               "log.tensorboard=false"]  # fmt: skip
    args = ["--out", out, "--steps", "1", *[a for o in options for a in ("--set", o)]]
    r = invoke("train", *args, *(["--quiet"] if quiet else []))
    assert r.exit_code == 0, r.output
    assert not any(bar in r.output for bar in BARS), r.output
    assert bars_on.is_progress_bar_enabled()


def test_eval_no_progress_hides_transformers_bars(maze_model, bars_on):
    r = invoke("eval", maze_model, *EVAL, "--n", "2", "--no-progress")
    assert r.exit_code == 0, r.output
    assert "Loading weights" not in r.output
    assert bars_on.is_progress_bar_enabled()


def test_quiet_library_bars_restores_each_switch_as_it_was(bars_on):
    import datasets
    from huggingface_hub import utils as hub

    from maxrl_rs.progress_bars import quiet_library_bars

    hub.disable_progress_bars()  # a user's own choice, different from transformers'
    with pytest.raises(RuntimeError), quiet_library_bars(True, "transformers", "datasets"):
        assert not bars_on.is_progress_bar_enabled() and datasets.are_progress_bars_disabled()
        raise RuntimeError("a failure inside the block")
    assert bars_on.is_progress_bar_enabled() and hub.are_progress_bars_disabled()
    assert not datasets.are_progress_bars_disabled()
    bars_on.disable_progress_bar()
    with quiet_library_bars(True):
        pass
    assert not bars_on.is_progress_bar_enabled()  # off before, off after
    with quiet_library_bars(False):
        assert not bars_on.is_progress_bar_enabled()


def test_reading_a_data_file_leaves_datasets_bars_as_they_were(tmp_path, bars_on):
    import datasets

    from maxrl_rs.tasks.dataset import read_rows

    data = tmp_path / "d.jsonl"
    data.write_text('{"prompt": "UP", "answer": "UP"}\n')
    assert read_rows(str(data), "task.dataset.train") == [{"prompt": "UP", "answer": "UP"}]
    assert not datasets.are_progress_bars_disabled()


# -- --set KEY=VALUE ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["train", "eval"])
def test_set_value_without_equals_names_the_option_and_its_form(maze_model, no_sampling, command):
    r = invoke(command, "--set", "model.path", "/models/x.gguf", *([maze_model] if command == "eval" else []))
    assert r.exit_code == 2, r.output
    assert "--set expects KEY=VALUE, got 'model.path'" in r.output and "--set model.path=VALUE" in r.output
    assert "unexpected extra argument" not in r.output


def test_set_value_split_off_by_a_space_after_equals_is_shown_joined(no_sampling):
    r = invoke("train", "--set", "model.path=", "/models/my model.gguf")
    assert r.exit_code == 2
    assert "did you mean --set 'model.path=/models/my model.gguf'?" in r.output


def test_set_value_with_an_unquoted_space_recalls_the_quoting(maze_model, no_sampling):
    r = invoke("train", "--set", "task.dataset.system_prompt=Answer", "briefly")
    assert r.exit_code == 2 and "unexpected extra argument (briefly)" in r.output
    assert "--set 'KEY=two words'" in r.output
    r = invoke("eval", maze_model, "--set", "task.name=", "maze")  # eval reads the stray word as a run
    assert r.exit_code == 2 and "did you mean --set task.name=maze?" in r.output


def test_a_stray_argument_without_set_gets_no_set_hint(no_sampling):
    r = invoke("train", "runs/a")
    assert r.exit_code == 2 and "unexpected extra argument" in r.output and "--set" not in r.output


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--steps", "abc"], "'abc' is not a valid integer"),
        (["--config", "nonexist.toml"], "File 'nonexist.toml' does not exist"),
        (["--out", "{file}"], "is a file"),
        (["--bogus"], "No such option '--bogus'"),
        (["--quiet", "runs/a"], "unexpected extra argument (runs/a)"),  # a stray word after another option
    ],
)
def test_usage_errors_unrelated_to_set_get_no_set_hint(no_sampling, tmp_path, args, error):
    data = tmp_path / "some_file.jsonl"
    data.write_text("")
    args = [a.format(file=data) for a in args]
    for set_args in (["--set", "threads=1"], ["--set=threads=1"], ["--set", "task.name="]):
        r = invoke("train", *set_args, *args)
        assert r.exit_code == 2 and error in r.output, r.output
        assert "each --set takes one word" not in r.output and "did you mean --set" not in r.output


def test_eval_errors_unrelated_to_set_get_no_set_hint(maze_model, no_sampling, tmp_path):
    r = invoke("eval", maze_model, "--set", "task.name=maze", "--n", "abc")
    assert r.exit_code == 2 and "'abc' is not a valid integer" in r.output and "--set takes" not in r.output
    r = invoke("eval", tmp_path / "missing", "--set", "task.name=maze")  # the missing run precedes --set
    assert r.exit_code == 2 and "does not exist" in r.output and "--set takes" not in r.output


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["--set", "threads=1", "2"], "each --set takes one word"),
        (["--set=task.dataset.system_prompt=Answer", "very", "briefly"], "each --set takes one word"),
        (["--steps", "1", "--set", "seed=", "3"], "did you mean --set seed=3?"),
        (["--set=seed=", "3"], "did you mean --set seed=3?"),
    ],
)
def test_a_word_split_off_a_set_value_gets_the_set_hint(no_sampling, args, hint):
    r = invoke("train", *args)
    assert r.exit_code == 2 and "unexpected extra argument" in r.output and hint in r.output, r.output


def test_a_missing_run_split_off_a_set_value_gets_the_set_hint(maze_model, no_sampling):
    r = invoke("eval", maze_model, "--set", "task.dataset.system_prompt=Answer", "briefly")
    assert r.exit_code == 2 and "'briefly' does not exist" in r.output
    assert "each --set takes one word" in r.output


def test_sampling_options_with_only_saved_reports_are_refused_not_ignored(maze_model, tmp_path):
    report = tmp_path / "report.json"
    r = invoke("eval", maze_model, "--n", "2", "--prompts", "2", "--json", report, "--no-progress")
    assert r.exit_code == 0, r.output
    r = invoke("eval", report, "--n", "64", "--temperature", "0.5")
    assert r.exit_code == 2
    assert "--n, --temperature only apply to sampling, and every RUN is a saved report" in r.output
    r = invoke("eval", report, "--k", "1")
    assert r.exit_code == 2 and "--k only applies to sampling" in r.output
    r = invoke("eval", report, "--name", "start", "--json", tmp_path / "again.json")  # not sampling options
    assert r.exit_code == 0, r.output


# -- saved reports that cannot be compared, read or written back ---------------------------------------------


def _report(
    path: Path, task: str = "maze", ids: tuple[str, ...] = ("eval-0", "eval-1"), run: str = "a"
) -> Path:
    from maxrl_rs.evaluation import passk_report

    return passk_report(4, [1, 2, 0, 4][: len(ids)], run=run, task=task, prompt_ids=ids).save(path)


def test_eval_refuses_to_compare_reports_of_other_tasks_or_prompts(tmp_path, maze_model, no_sampling):
    maze = _report(tmp_path / "maze.json")
    gsm8k = _report(tmp_path / "gsm8k.json", task="gsm8k", run="g")
    r = invoke("eval", maze, gsm8k)
    assert r.exit_code == 1, r.output
    assert (
        f"cannot compare 'g' (from '{gsm8k}') on task 'gsm8k' with 'a' (from '{maze}') on task 'maze'"
        in r.output
    )
    other = _report(tmp_path / "other.json", ids=("eval-0", "eval-7"), run="b")
    r = invoke("eval", maze, other, "--json", tmp_path / "out.json")
    assert r.exit_code == 1, r.output
    assert f"cannot compare 'b' (from '{other}') with 'a' (from '{maze}')" in r.output
    assert "1 of the 2 ids of 'a' are not in 'b'" in r.output and "first: 'eval-1' is in 'a' only" in r.output
    assert not (tmp_path / "out.json").exists()
    # A saved report next to a policy to sample on another task, or other prompts: refused before sampling.
    r = invoke("eval", gsm8k, maze_model, *EVAL, "--n", "2")
    assert r.exit_code == 1, r.output
    assert (
        f"'the sampled policies' (from 2 held-out prompts) on task 'maze' with 'g' (from '{gsm8k}')"
        in r.output
    )
    three = _report(tmp_path / "three.json", ids=("eval-0", "eval-1", "eval-2"))
    r = invoke("eval", three, maze_model, *EVAL, "--n", "2")
    assert r.exit_code == 1, r.output
    assert "1 of the 3 ids of 'a' are not in 'the sampled policies'" in r.output and "'eval-2'" in r.output


def test_eval_of_a_saved_report_next_to_a_policy_on_its_prompts_samples(tmp_path, maze_model):
    saved = _report(tmp_path / "saved.json", run="start")
    r = invoke("eval", saved, maze_model, *EVAL, "--n", "2", "--json", tmp_path / "out.json")
    assert r.exit_code == 0, r.output
    assert "efficiency: model vs start" in r.output


def test_eval_json_that_is_an_input_report_is_refused(tmp_path, maze_model, monkeypatch, no_sampling):
    saved = _report(tmp_path / "saved.json")
    (tmp_path / "link.json").symlink_to(saved)
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    before = saved.read_text()
    for out in (saved, tmp_path / "link.json", "../saved.json", "../sub/../saved.json"):
        for runs in ([saved], [maze_model, saved]):
            r = invoke("eval", *runs, *(EVAL if len(runs) > 1 else []), "--json", out)
            assert r.exit_code == 2, r.output
            assert f"'{out}' is the input report '{saved}'; writing would overwrite it" in r.output
    r = invoke("eval", "../link.json", "--json", saved)  # the input given through the link
    assert r.exit_code == 2 and "is the input report '../link.json'" in r.output, r.output
    assert saved.read_text() == before


def test_eval_names_the_file_of_a_report_it_cannot_read(tmp_path, maze_run):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**json.loads(_report(tmp_path / "ok.json").read_text()), "n": 9}))
    r = invoke("eval", bad)
    assert r.exit_code == 1 and f"'{bad}': n = 9 in the report, but its per-prompt counts give 4" in r.output
    r = invoke("eval", maze_run / ckpt.CONFIG_FILE)
    assert r.exit_code == 1, r.output
    assert "is a training run's config, not a pass@k report" in r.output
    assert f"maxrl eval {maze_run}" in r.output
