"""A run is never lost: resume from a run or a checkpoint, changes a resume may make, paths that work from any
directory, data checked up front, the run-directory lock, damaged checkpoints, a full disk and Ctrl-C."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from click.testing import CliRunner  # noqa: E402

from _tiny import TINY  # noqa: E402
from maxrl_rs import checkpoint as ckpt  # noqa: E402
from maxrl_rs import rundir  # noqa: E402
from maxrl_rs.atomic import NoSpaceError  # noqa: E402
from maxrl_rs.cli import main  # noqa: E402
from maxrl_rs.config import load_config, read_file  # noqa: E402
from maxrl_rs.errors import ConfigError, FileError  # noqa: E402
from maxrl_rs.metrics import read_metrics  # noqa: E402
from maxrl_rs.models import check_model_dir  # noqa: E402
from maxrl_rs.run import resume_config, train  # noqa: E402
from maxrl_rs.tasks.jsonl import read_examples  # noqa: E402

FAST = [*TINY, "sft.steps=20", "checkpoint.keep=5"]
SETS = [a for item in FAST for a in ("--set", item)]


def tiny(out, *extra):
    return load_config(None, [f"out={out}", *FAST, *extra])


def cli(*args: str):
    return CliRunner().invoke(main, ["train", *args])


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory`` (but the lock) and its bytes."""
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and p.name != rundir.LOCK_FILE
    }


@pytest.fixture(scope="module")
def base_run(tmp_path_factory):
    """Two steps, a checkpoint after each."""
    run = tmp_path_factory.mktemp("base") / "run"
    train(tiny(run, "train.steps=2", "checkpoint.every=1"))
    assert [s for s, _ in ckpt.step_dirs(run)] == [1, 2]
    return run


@pytest.fixture
def run(base_run, tmp_path):
    """A copy of the base run to change; its config.json names where it now is."""
    copy = tmp_path / "run"
    shutil.copytree(base_run, copy)
    return copy


# -- --resume ------------------------------------------------------------------------------------------------


def test_resume_from_a_checkpoint_directory_resumes_its_run(run):
    r = cli("--resume", str(run / "checkpoints" / "step-2"), "--steps", "3")
    assert r.exit_code == 0, r.output
    assert f"resuming {run} from checkpoint {run / 'checkpoints' / 'step-2'} (step 2)" in r.output
    assert "final (step 3)" in r.output
    assert [s for s, _ in ckpt.step_dirs(run)] == [1, 2, 3]
    assert not (run / "checkpoints" / "step-2" / "checkpoints").exists()  # no run inside the checkpoint
    assert sorted(p.name for p in (run / "checkpoints" / "step-2").iterdir()) == [
        "config.json",
        "model",
        "trainer_state.pt",
    ]
    assert [r["step"] for r in read_metrics(run) if "loss" in r] == [1, 2, 3]


def test_resume_from_an_older_checkpoint_keeps_later_ones_unless_overwrite(run):
    step2 = snapshot(run / "checkpoints" / "step-2")
    r = cli("--resume", str(run / "checkpoints" / "step-1"), "--steps", "2")
    assert (
        r.exit_code == 2 and "has checkpoints after step-1 (step-2)" in r.output and "--overwrite" in r.output
    )
    assert snapshot(run / "checkpoints" / "step-2") == step2
    r = cli("--resume", str(run / "checkpoints" / "step-1"), "--steps", "2", "--overwrite")
    assert r.exit_code == 0, r.output
    assert f"from checkpoint {run / 'checkpoints' / 'step-1'} (step 1)" in r.output
    assert [s for s, _ in ckpt.step_dirs(run)] == [1, 2]
    assert [r["step"] for r in read_metrics(run) if "loss" in r] == [1, 2]


@pytest.mark.parametrize("target", ["run", "run/checkpoints", "run/checkpoints/step-2"])
def test_resume_of_a_run_already_at_its_steps_says_so_and_loads_nothing(run, monkeypatch, target):
    import maxrl_rs.run as run_module

    def no_model(*args, **kwargs):
        raise AssertionError("a model was loaded for a run with nothing to train")

    monkeypatch.setattr(run_module, "load_pretrained", no_model)
    monkeypatch.setattr(run_module, "base_policy", no_model)
    before = snapshot(run)
    r = cli("--resume", str(run.parent / target))
    assert r.exit_code == 0, r.output
    assert f"{run} is already at train.steps = 2; pass --steps M (> 2) to train further" in r.stderr
    assert f"maxrl train --resume {run} --steps 4" in r.stderr
    assert "wall time" not in r.output and "held-out pass@1" not in r.output  # no summary of a run not made
    assert snapshot(run) == before


def test_library_resume_of_a_finished_run_returns_its_summary_at_once(run):
    rows = read_metrics(run)
    summary = train(resume_config(run), resume=run)
    assert summary.first_step == summary.last_step == 2
    evals = [r["eval/pass@1"] for r in rows if "eval/pass@1" in r]
    assert (summary.start_pass_at_1, summary.final_pass_at_1) == (evals[0], evals[-1])
    assert summary.parameters == rows[0]["parameters"] > 0 and summary.sft is not None


def test_going_back_to_a_checkpoint_with_steps_at_it_trains_nothing_and_says_so(run):
    r = cli("--resume", str(run / "checkpoints" / "step-1"), "--steps", "1", "--overwrite")
    assert r.exit_code == 0, r.output
    assert "is already at train.steps = 1" in r.stderr and "wall time" not in r.output
    assert [s for s, _ in ckpt.step_dirs(run)] == [1]
    assert [r["step"] for r in read_metrics(run) if "loss" in r] == [1]  # step 2's rows went with it


def test_overwrite_with_a_resume_of_the_run_directory_is_refused(run):
    """It would delete nothing (the run resumes from its newest checkpoint), so it is not what was meant."""
    before = snapshot(run)
    r = cli("--resume", str(run), "--steps", "3", "--overwrite")
    assert r.exit_code == 2, r.output
    assert "--overwrite deletes the checkpoints after the one a resume starts from" in r.output
    assert str(run / "checkpoints" / "step-N") in r.output and f"--out {run} --overwrite" in r.output
    assert snapshot(run) == before


@pytest.mark.parametrize("where", ["elsewhere", "file", "run/checkpoints/other", "run/model"])
def test_resume_refuses_what_is_not_a_run(run, tmp_path, where):
    target = tmp_path / where
    if where == "file":
        target.write_text("x")
    else:
        target.mkdir(parents=True, exist_ok=True)
    before = snapshot(run)
    r = cli("--resume", str(target))
    assert r.exit_code == 2, r.output
    assert "resume" in r.output and str(target) in r.output
    assert snapshot(run) == before
    assert not (target / "checkpoints").exists() and not (target / "config.json").exists()


# -- what a resume may change --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("task.name=arithmetic", "task.name: saved 'maze', given 'arithmetic'"),
        ("model.hidden_size=128", "model.hidden_size: saved 32, given 128"),
        ("algo.estimator=grpo", "algo.estimator: saved 'maxrl', given 'grpo'"),
        ("train.lr=0.5", "train.lr: saved 0.0001, given 0.5"),
    ],
)
def test_resume_refuses_keys_it_cannot_change_and_keeps_the_config(run, option, message):
    before = snapshot(run)
    for _ in range(2):  # and the run still resumes afterwards
        r = cli("--resume", str(run), "--set", option)
        assert r.exit_code == 2 and message in r.output, r.output
        assert "a resumed run may change only" in r.output
        assert snapshot(run) == before
    r = cli("--resume", str(run), "--steps", "3")
    assert r.exit_code == 0, r.output


def test_resume_config_changes_only_once_the_run_has_started(run, monkeypatch):
    saved = json.loads((run / "config.json").read_text())
    import maxrl_rs.run as run_module

    def broken(*args, **kwargs):
        raise FileError("model does not load (simulated)")

    monkeypatch.setattr(run_module, "load_pretrained", broken)
    r = cli("--resume", str(run), "--steps", "5", "--set", "checkpoint.every=2")
    assert r.exit_code == 1 and "simulated" in r.output
    assert json.loads((run / "config.json").read_text()) == saved
    monkeypatch.undo()
    r = cli("--resume", str(run), "--steps", "3", "--set", "checkpoint.every=2")
    assert r.exit_code == 0, r.output
    now = json.loads((run / "config.json").read_text())
    assert now["train"]["steps"] == 3 and now["checkpoint"]["every"] == 2
    assert {k: v for k, v in now.items() if k not in ("train", "checkpoint")} == {
        k: v for k, v in saved.items() if k not in ("train", "checkpoint", "out")
    } | {"out": str(run)}


@pytest.mark.parametrize("how", ["--out", "--set", "library"])
def test_a_resumed_run_stays_in_its_directory_and_says_why(run, tmp_path, how):
    other = tmp_path / "elsewhere"
    before = snapshot(run)
    if how == "library":
        with pytest.raises(ConfigError, match="a resumed run continues in its own directory"):
            train(tiny(other, "train.steps=3"), resume=run)
    else:
        r = cli(
            "--resume", str(run), *(["--out", str(other)] if how == "--out" else ["--set", f"out={other}"])
        )
        assert r.exit_code == 2, r.output
        assert f"out: a resumed run continues in its own directory {str(run)!r}" in r.output
        assert (
            f"where its checkpoints, metrics, config and lock are, so it cannot move to {str(other)!r}"
            in r.output
        )
        assert "copy" in r.output and "resume the copy" in r.output
    assert snapshot(run) == before and not other.exists()
    r = cli("--resume", str(run), "--out", str(run), "--steps", "3")  # its own directory: no move
    assert r.exit_code == 0, r.output
    assert [s for s, _ in ckpt.step_dirs(run)] == [1, 2, 3]


def test_docs_list_exactly_the_keys_a_resume_may_change():
    from maxrl_rs.config import RESUMABLE_KEYS

    text = " ".join((Path(__file__).parents[1] / "docs" / "training.md").read_text().split())
    listed = text.split("listed in `maxrl_rs.config.RESUMABLE_KEYS`")[0].rsplit("(", 1)[1]
    keys = [k.strip().strip("`").replace(".*", ".") for k in listed.rstrip(", ").split(",")]
    assert keys == list(RESUMABLE_KEYS)
    assert "out" not in RESUMABLE_KEYS


# -- paths ---------------------------------------------------------------------------------------------------


def test_config_file_paths_are_relative_to_the_file_and_overrides_to_cwd(tmp_path, monkeypatch):
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "run.toml").write_text(
        'out = "runs/a"\n[model]\npath = "../models/m"\n[task.jsonl]\ntrain = "data/t.jsonl"\neval = ""\n'
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    data = read_file("../conf/run.toml")
    assert data["out"] == str(conf / "runs" / "a")
    assert data["model"]["path"] == str(tmp_path / "models" / "m")
    assert data["task"]["jsonl"] == {"train": str(conf / "data" / "t.jsonl"), "eval": ""}
    cfg = load_config("../conf/run.toml", ["task.jsonl.eval=e.jsonl", "model.path=none"])
    assert cfg.task.jsonl.eval == str(elsewhere / "e.jsonl") and cfg.model.path is None
    assert cfg.out == str(conf / "runs" / "a")
    home = load_config(None, ["out=~/r"])
    assert home.out == os.path.expanduser("~/r")


def test_dataset_gsm8k_and_reward_paths_are_made_absolute(tmp_path, monkeypatch):
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "run.toml").write_text(
        '[task.dataset]\ntrain = "data/t.parquet"\neval = "../e.csv"\nreward_fn = "rewards.py:score"\n'
        '[task.gsm8k]\npath = "g.jsonl"\n'
    )
    monkeypatch.chdir(tmp_path)
    cfg = load_config("conf/run.toml")
    assert cfg.task.dataset.train == str(conf / "data" / "t.parquet")
    assert cfg.task.dataset.eval == str(tmp_path / "e.csv")
    assert cfg.task.dataset.reward_fn == f"{conf / 'rewards.py'}:score"
    assert cfg.task.gsm8k.path == str(conf / "g.jsonl")
    over = load_config(None, ["task.dataset.reward_fn=lib/r.py:f", "task.gsm8k.path=x.jsonl"])
    assert over.task.dataset.reward_fn == f"{tmp_path / 'lib' / 'r.py'}:f"
    assert over.task.gsm8k.path == str(tmp_path / "x.jsonl")
    for importable in ("my_rewards:score", "pkg.mod:fn"):  # a module, not a file: left as written
        assert (
            load_config(None, [f"task.dataset.reward_fn={importable}"]).task.dataset.reward_fn == importable
        )


@pytest.fixture
def project(tmp_path, monkeypatch):
    """``project/conf/run.toml`` next to ``data/t.jsonl`` and ``my_reward.py``; the command runs in
    ``project/work``, so a path relative to the one directory is not one relative to the other."""
    conf = tmp_path / "project" / "conf"
    (conf / "data").mkdir(parents=True)
    (conf / "data" / "t.jsonl").write_text('{"prompt": "p", "answer": "1"}\n')
    (conf / "my_reward.py").write_text("def score(p, r, a):\n    return [0.0] * len(r)\n")
    (conf / "run.toml").write_text('[task]\nname = "dataset"\n')
    work = tmp_path / "project" / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return conf


@pytest.mark.parametrize(
    ("key", "value", "fix"),
    [
        ("task.dataset.train", "data/t.jsonl", "--set task.dataset.train=../conf/data/t.jsonl"),
        (
            "task.dataset.reward_fn",
            "my_reward.py:score",
            "--set task.dataset.reward_fn=../conf/my_reward.py:score",
        ),
        ("task.jsonl.eval", "data/t.jsonl", "--set task.jsonl.eval=../conf/data/t.jsonl"),
        ("model.path", "data", "--set model.path=../conf/data"),
    ],
)
def test_a_set_path_found_only_next_to_the_config_file_says_so(project, key, value, fix):
    with pytest.raises(ConfigError) as e:
        load_config(project / "run.toml", [f"{key}={value}"])
    work = Path.cwd()
    file = value.split(":")[0]
    want = (
        f"{key}: {str(work / file)!r} does not exist: a path given with --set is relative to the current "
        f"directory ({str(work)!r}); relative to the config file's directory it is {str(project / file)!r}, "
        f"which exists: give {fix} (or the absolute path)"
    )
    assert str(e.value) == want
    r = cli("--config", str(project / "run.toml"), "--set", f"{key}={value}", "--out", "run")
    assert r.exit_code == 2 and fix in r.output and not (work / "run").exists()


def test_a_config_path_found_only_in_the_current_directory_says_so(project):
    (Path.cwd() / "mine.jsonl").write_text('{"prompt": "p", "answer": "1"}\n')
    (project / "run.toml").write_text('[task.dataset]\ntrain = "mine.jsonl"\n')
    with pytest.raises(ConfigError) as e:
        read_file(project / "run.toml")
    assert str(e.value) == (
        f"task.dataset.train: {str(project / 'mine.jsonl')!r} does not exist: a path in a config file is "
        f"relative to that file's directory ({str(project)!r}); relative to the current directory it is "
        f"{str(Path.cwd() / 'mine.jsonl')!r}, which exists: give task.dataset.train = '../work/mine.jsonl' "
        "in the config file (or the absolute path)"
    )


@pytest.mark.parametrize(
    ("how", "fix"),
    [
        ("config", "give task.dataset.reward_fn = 'my_reward.py:score' in the config file"),
        ("set", "give --set task.dataset.reward_fn=../conf/my_reward.py:score"),
    ],
)
def test_a_module_reward_spec_naming_a_file_next_to_the_user_says_to_name_the_file(project, how, fix):
    if how == "config":
        (project / "run.toml").write_text('[task.dataset]\nreward_fn = "my_reward:score"\n')
        args = []
    else:
        args = ["task.dataset.reward_fn=my_reward:score"]
    with pytest.raises(ConfigError) as e:
        load_config(project / "run.toml", args)
    message = str(e.value)
    assert message.startswith(
        "task.dataset.reward_fn: no module 'my_reward' can be imported, but "
        f"{str(project / 'my_reward.py')!r} exists; 'module:function' imports a module from Python's path"
    )
    assert fix in message


def test_a_module_reward_spec_next_to_the_current_directory_hints_at_load_time(tmp_path, monkeypatch):
    from maxrl_rs.rewards import load_reward_fn

    (tmp_path / "their_reward.py").write_text("def score(p, r, a):\n    return [0.0] * len(r)\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        ConfigError,
        match=r"cannot import module 'their_reward' .*; did you mean the file "
        r"their_reward\.py:score\? 'module:function' imports a module",
    ):
        load_reward_fn("their_reward:score")
    assert load_reward_fn("their_reward.py:score").name == "their_reward.py:score"


@pytest.mark.parametrize(
    ("overrides", "call", "message"),
    [
        (["task.name=dataset", "task.dataset.train=ABSENT.jsonl"], "data", "task.dataset.train: file"),
        (["task.name=jsonl", "task.jsonl.train=ABSENT.jsonl"], "data", "task.jsonl.train: file"),
        (["task.name=jsonl", "task.jsonl.train=D", "task.jsonl.eval=ABSENT.jsonl"], "data",
         "task.jsonl.eval: file"),
        (["task.name=gsm8k", "task.gsm8k.path=ABSENT.jsonl"], "eval", "task.gsm8k.path: file"),
        (["task.name=dataset", "task.dataset.train=D", "task.dataset.reward_fn=ABSENT.py:f"], "task",
         "task.dataset.reward_fn: file"),
        (["model.path=ABSENT"], "model", "model.path: directory"),
        (["model.path=ABSENT.gguf"], "model", "model.path: GGUF file"),
    ],
)  # fmt: skip
def test_a_missing_input_path_says_how_relative_paths_are_read(tmp_path, overrides, call, message):
    from maxrl_rs.run import load_pretrained, make_task

    data = write_rows(tmp_path / "d.jsonl", [GOOD] * 3)
    absent = tmp_path / "absent"
    overrides = [o.replace("ABSENT", str(absent)).replace("=D", f"={data}") for o in overrides]
    cfg = load_config(None, ["task.eval_size=1", *overrides])
    missing = next(o.split("=", 1)[1] for o in overrides if "absent" in o).removesuffix(":f")
    with pytest.raises(ConfigError) as e:
        if call == "model":
            load_pretrained(cfg.model.path)
        elif call == "eval":
            make_task(cfg).eval_examples()
        else:
            make_task(cfg).num_train  # noqa: B018
    assert str(e.value) == (
        f"{message} {missing!r} does not exist (paths given with --set are relative to the current "
        "directory, paths in a config file to that file's directory)"
    )


def test_resume_with_fewer_steps_than_done_is_refused_and_keeps_the_config(run):
    before = snapshot(run)
    r = cli("--resume", str(run), "--steps", "1")
    assert r.exit_code == 2, r.output
    assert "train.steps = 1 is below step 2" in r.output and "--steps 2" in r.output
    after = snapshot(run)
    assert after == before


def test_outputs_get_the_permissions_a_plain_write_would(tmp_path):
    from maxrl_rs import atomic

    old = os.umask(0o022)
    try:
        atomic.write_text(tmp_path / "new.json", "{}")
        assert (tmp_path / "new.json").stat().st_mode & 0o777 == 0o644
        kept = tmp_path / "kept.json"
        kept.write_text("old")
        kept.chmod(0o640)
        atomic.write_text(kept, "new")
        assert kept.read_text() == "new" and kept.stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(old)


def test_relative_paths_run_resume_and_eval_from_anywhere(tmp_path, monkeypatch):
    conf = tmp_path / "project"
    conf.mkdir()
    (conf / "run.toml").write_text('out = "runs/first"\n')
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    monkeypatch.chdir(one)
    r = cli("--config", str(conf / "run.toml"), "--steps", "1", *SETS)
    assert r.exit_code == 0, r.output
    run = conf / "runs" / "first"
    assert not (one / "runs").exists() and ckpt.latest_checkpoint(run) is not None
    saved = json.loads((run / "config.json").read_text())
    assert saved["out"] == str(run)
    monkeypatch.chdir(two)
    r = cli("--resume", os.path.relpath(run, two), "--steps", "2")
    assert r.exit_code == 0, r.output
    assert [s for s, _ in ckpt.step_dirs(run)][-1] == 2
    r = CliRunner().invoke(main, ["eval", str(run), "--n", "2", "--prompts", "2", "--no-progress"])
    assert r.exit_code == 0, r.output


# -- data checked up front -----------------------------------------------------------------------------------


def write_rows(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


GOOD = {"prompt": "1+1?", "answer": "2", "verifier": "gsm8k"}


# -- a resume reads the data files the run started on -------------------------------------------------------


@pytest.fixture(scope="module")
def adder_model(tmp_path_factory) -> Path:
    """A tiny model whose tokenizer reads ``add A B`` prompts."""
    from maxrl_rs.models import TinyModelSpec, tiny_model, word_level_tokenizer

    tok = word_level_tokenizer(["add", *"0123456789"])
    torch.manual_seed(0)
    model = tiny_model(TinyModelSpec(hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32), tok)
    out = tmp_path_factory.mktemp("adder") / "model"
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def adder_rows(n: int) -> list[dict]:
    return [
        {"prompt": f"add {a % 5} {a // 5}", "answer": str(a % 5 + a // 5), "verifier": "gsm8k"}
        for a in range(n)
    ]


@pytest.fixture
def jsonl_run(adder_model, tmp_path):
    """A one-step run on train and eval JSONL files: (run, train file, eval file)."""
    train_file = write_rows(tmp_path / "train.jsonl", adder_rows(12))
    eval_file = write_rows(tmp_path / "eval.jsonl", adder_rows(4))
    run = tmp_path / "run"
    sets = ["task.name=jsonl", f"task.jsonl.train={train_file}", f"task.jsonl.eval={eval_file}",
            f"model.path={adder_model}", "task.jsonl.max_new_tokens=2", "task.eval_size=2",
            "sft.steps=0"]  # fmt: skip
    r = cli(*SETS, *(a for x in sets for a in ("--set", x)), "--steps", "1", "--out", str(run))
    assert r.exit_code == 0, r.output
    return run, train_file, eval_file


def test_resume_refuses_a_data_file_changed_since_the_run_started(jsonl_run):
    run, train_file, _ = jsonl_run
    recorded = json.loads((run / "data_files.json").read_text())
    assert set(recorded) == {"task.jsonl.train", "task.jsonl.eval"}
    assert recorded["task.jsonl.train"]["path"] == str(train_file)
    before_bytes, before = train_file.read_bytes(), snapshot(run)
    with train_file.open("a") as f:  # rows appended: the epoch order and held-out rows would differ
        f.write(json.dumps(adder_rows(13)[-1]) + "\n")
    r = cli("--resume", str(run), "--steps", "2")
    assert r.exit_code == 2, r.output
    message = " ".join(r.output.split())
    assert f"task.jsonl.train file '{train_file}' changed since the run started" in message
    then = f"then {len(before_bytes):,} bytes, sha256 {recorded['task.jsonl.train']['sha256'][:12]}"
    assert then in message and f"now {train_file.stat().st_size:,} bytes, sha256 " in message
    assert "restore it" in message and "--out NEW_DIR" in message and "--overwrite" in message
    assert "task.jsonl.eval" not in message  # the unchanged file is not named
    assert snapshot(run) == before  # nothing trained or written
    train_file.write_bytes(before_bytes)  # restored: the run resumes
    r = cli("--resume", str(run), "--steps", "2")
    assert r.exit_code == 0, r.output
    assert [s for s, _ in ckpt.step_dirs(run)] == [1, 2]


def test_resume_names_each_changed_data_file_and_library_resume_checks_too(jsonl_run):
    run, train_file, eval_file = jsonl_run
    eval_file.write_text(eval_file.read_text().replace('"add 1 0"', '"add 0 1"'))  # a row edited, same size
    train_file.write_text("".join(reversed(train_file.read_text().splitlines(keepends=True))))  # reordered
    with pytest.raises(ConfigError) as e:
        train(resume_config(run, {"train": {"steps": 2}}), resume=run)
    assert f"task.jsonl.train file '{train_file}' changed since the run started" in str(e.value)
    assert f"task.jsonl.eval file '{eval_file}' changed since the run started" in str(e.value)
    size = f"{eval_file.stat().st_size:,} bytes"
    assert f"then {size}, sha256 " in str(e.value) and f"now {size}, sha256 " in str(e.value)


def test_a_run_saved_without_a_data_record_resumes_unchecked(jsonl_run):
    run, train_file, _ = jsonl_run
    (run / "data_files.json").unlink()  # as a run saved before runs recorded their data files
    with train_file.open("a") as f:
        f.write(json.dumps(adder_rows(13)[-1]) + "\n")
    r = cli("--resume", str(run), "--steps", "2")
    assert r.exit_code == 0, r.output


def test_a_damaged_data_record_is_named(jsonl_run):
    run, _, _ = jsonl_run
    (run / "data_files.json").write_text('{"task.jsonl.train": {"path": 3}}')
    r = cli("--resume", str(run), "--steps", "2")
    assert r.exit_code == 1 and "data_files.json' is not a readable record" in r.output, r.output


def test_only_the_data_files_of_the_run_s_task_are_recorded(tmp_path):
    from maxrl_rs.fingerprints import data_files, file_sha256

    data = write_rows(tmp_path / "d.jsonl", [GOOD])
    assert data_files(load_config(None, [f"task.jsonl.train={data}"])) == {}  # the maze task reads no file
    got = data_files(load_config(None, ["task.name=jsonl", f"task.jsonl.train={data}"]))
    assert got == {
        "task.jsonl.train": {"path": str(data), "size": data.stat().st_size, "sha256": file_sha256(data)}
    }
    import hashlib

    assert file_sha256(data) == hashlib.sha256(data.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("row", "why"),
    [
        ({"prompt": "p", "answer": "2", "verifier": "gsmk8"}, "field 'verifier': unknown verifier 'gsmk8'"),
        ({"prompt": "p", "answer": None}, "field 'answer' is null"),
        ({"prompt": "p", "answer": ""}, "field 'answer' is empty"),
        ({"prompt": "p", "answer": "  "}, "field 'answer' is empty"),
        ({"prompt": "p", "answer": "three", "verifier": "gsm8k"}, "(invalid_reference)"),
        ({"prompt": "p", "answer": {"target": 1}, "verifier": "countdown"}, "(invalid_reference)"),
        ({"prompt": "p", "answer": [1, 2]}, "field 'answer' must be text or a number, got list [1, 2]"),
        ({"prompt": "", "answer": "2"}, "field 'prompt' must be a non-empty string"),
        ("{oops", "not valid JSON"),
    ],
)
def test_unusable_rows_are_reported_with_file_and_line(tmp_path, caplog, row, why):
    path = write_rows(tmp_path / "d.jsonl", [GOOD] * 5 + [row] + [GOOD] * 14)
    examples = read_examples(str(path), "math", "train:")
    assert len(examples) == 19 and all(ex.reference == "2" for ex in examples)
    assert "train:6" not in {ex.id for ex in examples}
    assert f"{path}: 1 of 20 rows are unusable" in caplog.text
    (line,) = [x for x in caplog.text.splitlines() if f"{path}:6: " in x]
    assert why in line


def test_too_many_unusable_rows_is_an_error_listing_them(tmp_path):
    rows = [GOOD] * 8 + [{"prompt": "p", "answer": None}] * 2  # 20% unusable
    path = write_rows(tmp_path / "d.jsonl", rows)
    with pytest.raises(ConfigError) as e:
        read_examples(str(path), "math", "train:")
    assert f"{path}:9: field 'answer' is null" in str(e.value) and f"{path}:10:" in str(e.value)
    assert "too few usable rows (8 of 10; at most 10% may be unusable)" in str(e.value)
    empty = write_rows(tmp_path / "empty.jsonl", [{"prompt": "p", "answer": ""}] * 30)
    with pytest.raises(ConfigError, match=r"30 of 30 rows are unusable(.|\n)*\.\.\. and 20 more"):
        read_examples(str(empty), "math", "train:")


def test_null_answer_never_becomes_the_string_null(tmp_path):
    path = write_rows(
        tmp_path / "d.jsonl", [GOOD] * 10 + [{"prompt": "p", "answer": None, "verifier": "exact"}]
    )
    assert all(ex.reference != "null" for ex in read_examples(str(path), "math", "train:"))


def test_binary_training_data_is_a_clear_error_before_the_run_dir(tmp_path):
    data = tmp_path / "model.safetensors"
    data.write_bytes(bytes(range(128, 256)) * 50)
    out = tmp_path / "run"
    r = cli("--out", str(out), "--set", "task.name=jsonl", "--set", f"task.jsonl.train={data}", *SETS)
    assert r.exit_code == 2
    assert f"{data}:1: not UTF-8 text (byte 0x80 at column 1)" in r.output
    assert "Traceback" not in r.output and "UnicodeDecodeError" not in r.output
    assert not out.exists()


def test_bad_verifier_in_training_data_fails_before_anything_is_written(tmp_path):
    rows = [{"prompt": "UP", "answer": "x", "verifier": "nope"}] * 3
    data = write_rows(tmp_path / "d.jsonl", rows)
    out = tmp_path / "run"
    r = cli("--out", str(out), "--set", "task.name=jsonl", "--set", f"task.jsonl.train={data}", *SETS)
    assert r.exit_code == 2 and f"{data}:1: field 'verifier': unknown verifier 'nope'" in r.output
    assert not out.exists()


# -- the run directory ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad", [["--set", "algo.estimator=nope"], ["--set", "model.path=MISSING"], ["--set", "model.path=EMPTY"]]
)
def test_a_failed_start_leaves_no_run_directory(tmp_path, bad):
    (tmp_path / "empty").mkdir()
    bad = [
        b.replace("MISSING", str(tmp_path / "absent")).replace("EMPTY", str(tmp_path / "empty")) for b in bad
    ]
    out = tmp_path / "run"
    r = cli("--out", str(out), *SETS, *bad)
    assert r.exit_code == 2, r.output
    assert not out.exists()


class _Broken(RuntimeError):
    pass


def fail_at(step: int):
    """A trainer hook that raises at ``step``, as a user's hook or reward function might."""

    def hook(batch):
        if batch.step == step:
            raise _Broken(f"hook failed at step {step}")

    return hook


def test_a_run_failing_before_its_first_checkpoint_keeps_only_its_warm_start(tmp_path, caplog):
    out = tmp_path / "new" / "run"
    with pytest.raises(_Broken):
        train(tiny(out, "train.steps=3", "checkpoint.every=2"), hooks=[fail_at(1)])
    assert sorted(p.name for p in out.iterdir()) == [rundir.SFT_DIR]
    assert "the run failed before its first checkpoint: removed what it wrote" in caplog.text
    # The same out, no --overwrite: the run starts afresh and reuses the warm-start.
    summary = train(tiny(out, "train.steps=1"))
    assert summary.sft is not None and summary.sft.cached
    assert [s for s, _ in ckpt.step_dirs(out)] == [1]
    # Without a warm-start nothing is left, not even the directories made for it.
    bare = tmp_path / "a" / "b"
    with pytest.raises(_Broken):
        train(tiny(bare, "train.steps=1", "sft.steps=0"), hooks=[fail_at(1)])
    assert not (tmp_path / "a").exists()
    # A directory that existed stays, with what it held.
    kept = tmp_path / "kept"
    kept.mkdir()
    with pytest.raises(_Broken):
        train(tiny(kept, "train.steps=1", "sft.steps=0"), hooks=[fail_at(1)])
    assert kept.is_dir() and not any(kept.iterdir())


def test_a_run_failing_after_a_checkpoint_keeps_everything(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(_Broken):
        train(tiny(out, "train.steps=3", "checkpoint.every=1", "sft.steps=0"), hooks=[fail_at(2)])
    assert [s for s, _ in ckpt.step_dirs(out)] == [1]
    assert (out / "config.json").is_file() and (out / "metrics.jsonl").is_file()
    r = cli("--resume", str(out))
    assert r.exit_code == 0 and "final (step 3)" in r.output, r.output


def test_overwrite_then_failure_removes_the_new_files_and_keeps_the_warm_start(run):
    assert (run / rundir.SFT_DIR).is_dir()
    with pytest.raises(_Broken):
        train(tiny(run, "train.steps=2"), overwrite=True, hooks=[fail_at(1)])
    assert {p.name for p in run.iterdir()} - {rundir.LOCK_FILE} == {rundir.SFT_DIR}


def test_rerun_over_an_existing_run_is_refused_unless_overwrite(run):
    shutil.rmtree(run / "checkpoints")  # metrics and config, no checkpoint: a run killed early
    before = snapshot(run)
    r = cli("--out", str(run), "--steps", "1", *SETS)
    assert r.exit_code == 2 and "already holds a run without checkpoints" in r.output
    assert "--resume" in r.output and "--overwrite" in r.output
    assert snapshot(run) == before
    r = cli("--out", str(run), "--steps", "1", "--overwrite", *SETS)
    assert r.exit_code == 0, r.output
    assert [r["step"] for r in read_metrics(run) if "loss" in r] == [1]


def test_new_run_refuses_a_directory_that_is_not_a_run(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    r = cli("--out", str(tmp_path), "--steps", "1", *SETS)
    assert r.exit_code == 2 and "holds no run" in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_lock_stops_a_second_process(run, tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from maxrl_rs.rundir import run_lock\n"
            "with run_lock(Path(sys.argv[1])):\n    print('locked', flush=True); time.sleep(60)",
            str(run),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        before = snapshot(run)
        r = cli("--resume", str(run), "--steps", "3")
        assert r.exit_code == 1 and f"is in use by process {holder.pid}" in r.output, r.output
        assert snapshot(run) == before
    finally:
        holder.kill()
        holder.wait()
    # The holder died without unlocking: its lock file (naming a dead process) does not stop the next run.
    (run / rundir.LOCK_FILE).write_text(f"{holder.pid}\n")
    r = cli("--resume", str(run), "--steps", "3")
    assert r.exit_code == 0, r.output


def test_lock_in_process(tmp_path):
    with rundir.run_lock(tmp_path), pytest.raises(FileError, match=f"in use by process {os.getpid()}"):
        with rundir.run_lock(tmp_path):
            pass
    with rundir.run_lock(tmp_path):  # released
        pass


# -- damaged checkpoints -------------------------------------------------------------------------------------


def _damage(path: Path, how: str) -> None:
    if how == "empty":
        path.write_bytes(b"")
    elif how == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:
        data = bytearray(path.read_bytes())
        data[:16] = b"\xff" * 16
        path.write_bytes(bytes(data))


DAMAGE = [
    ("trainer_state.pt", "empty", "is empty (0 bytes)"),
    ("model/model.safetensors", "garbled", "is damaged"),
    ("trainer_state.pt", "truncated", "cannot be read"),
    ("model/model.safetensors", "truncated", "is damaged"),
]


@pytest.mark.parametrize(("file", "how", "message"), DAMAGE)
def test_damaged_latest_checkpoint_falls_back_to_the_previous(run, file, how, message):
    damaged = run / "checkpoints" / "step-2" / file
    _damage(damaged, how)
    kept = damaged.read_bytes()
    r = cli("--resume", str(run), "--steps", "2")
    assert r.exit_code == 0, r.output
    assert f"checkpoint {run / 'checkpoints' / 'step-2'} is damaged" in r.output
    assert str(damaged) in r.output and message in r.output
    assert f"from checkpoint {run / 'checkpoints' / 'step-1'} (step 1)" in r.output
    aside = run / "checkpoints" / "step-2.corrupt" / file
    assert aside.read_bytes() == kept  # set aside, not deleted
    assert [s for s, _ in ckpt.step_dirs(run)] == [1, 2]  # step 2 trained again


@pytest.mark.parametrize(("file", "how", "message"), DAMAGE[:2])
def test_damaged_named_checkpoint_is_an_error_naming_the_file(run, file, how, message):
    damaged = run / "checkpoints" / "step-2" / file
    _damage(damaged, how)
    before = snapshot(run)
    r = cli("--resume", str(run / "checkpoints" / "step-2"), "--steps", "3")
    assert r.exit_code == 1 and str(damaged) in r.output and message in r.output, r.output
    assert "Aborted" not in r.output and "Traceback" not in r.output
    assert snapshot(run) == before


def test_every_checkpoint_damaged_is_an_error_naming_each(run):
    for step in (1, 2):
        _damage(run / "checkpoints" / f"step-{step}" / "trainer_state.pt", "empty")
    r = cli("--resume", str(run), "--steps", "3")
    assert r.exit_code == 1 and "no readable checkpoint" in r.output
    assert "step-1" in r.output and "step-2" in r.output


# -- full disk -----------------------------------------------------------------------------------------------


def test_full_disk_while_checkpointing_names_the_path_and_keeps_older_checkpoints(run, monkeypatch):
    before = snapshot(run / "checkpoints")

    def full(*args, **kwargs):
        raise RuntimeError(
            "[enforce fail at inline_container.cc:626] . unexpected pos 945280 vs 945172"
        ) from (OSError(errno.ENOSPC, "No space left on device"))

    monkeypatch.setattr(torch, "save", full)
    with pytest.raises(NoSpaceError, match="no space left on device while writing") as e:
        train(resume_config(run, {"train": {"steps": 3}}), resume=run)
    assert str(run / "checkpoints" / "step-3") in str(e.value)
    assert snapshot(run / "checkpoints") == before
    assert not [p for p in (run / "checkpoints").iterdir() if p.name.startswith(".")]
    r = cli("--resume", str(run), "--steps", "3")
    assert r.exit_code == 1 and "no space left on device" in r.output and "step-3" in r.output
    assert "unexpected pos" not in r.output


def test_full_disk_writing_config_or_metrics(tmp_path, monkeypatch):
    import maxrl_rs.atomic as atomic

    real = os.replace

    def full_replace(src, dst):
        if str(dst).endswith("config.json"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", full_replace)
    out = tmp_path / "run"
    r = cli("--out", str(out), "--steps", "1", *SETS)
    assert (
        r.exit_code == 1 and f"no space left on device while writing {str(out / 'config.json')!r}" in r.output
    )
    assert not out.exists()  # nor any temporary: a failed start takes back what it wrote


# -- model directories ---------------------------------------------------------------------------------------


def test_model_dir_check_names_what_is_missing(tmp_path, base_run):
    with pytest.raises(ConfigError, match=r"directory '.*absent' does not exist \(paths given with --set"):
        check_model_dir(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"has no config\.json; it is not a Hugging Face model"):
        check_model_dir(tmp_path / "empty")
    with pytest.raises(ConfigError, match=r"is a training run directory, not a model(.|\n)*step-N"):
        check_model_dir(base_run)
    model = base_run / "checkpoints" / "step-2" / "model"
    check_model_dir(model)
    partial = tmp_path / "partial"
    shutil.copytree(model, partial)
    for f in partial.glob("tokenizer*"):
        f.unlink()
    with pytest.raises(ConfigError, match="has no tokenizer"):
        check_model_dir(partial)
    (partial / "model.safetensors").unlink()
    with pytest.raises(ConfigError, match="has no weights"):
        check_model_dir(partial)


@pytest.mark.parametrize("which", ["empty", "run"])
def test_cli_model_path_at_an_empty_or_run_dir(tmp_path, base_run, which):
    target = base_run if which == "run" else tmp_path / "empty"
    target.mkdir(exist_ok=True)
    out = tmp_path / "new"
    r = cli("--out", str(out), "--set", f"model.path={target}", *SETS)
    assert r.exit_code == 2 and str(target) in r.output
    assert ("no config.json" if which == "empty" else "is a training run directory") in r.output
    assert "sentencepiece" not in r.output.lower()
    assert not out.exists()


# -- Ctrl-C --------------------------------------------------------------------------------------------------


def test_ctrl_c_says_which_checkpoint_and_how_to_resume(tmp_path, monkeypatch):
    from maxrl_rs.trainer import Trainer

    real_step = Trainer.step

    def interrupted_step(self):
        if self.step_count == 2:
            raise KeyboardInterrupt
        return real_step(self)

    monkeypatch.setattr(Trainer, "step", interrupted_step)
    out = tmp_path / "my run"
    r = cli("--out", str(out), "--steps", "5", "--set", "checkpoint.every=1", *SETS)
    assert r.exit_code == 130
    assert f"A resume starts from checkpoint {out / 'checkpoints' / 'step-2'}" in r.output
    assert f"maxrl train --resume '{out}'" in r.output
    monkeypatch.undo()
    r = cli("--resume", str(out))
    assert r.exit_code == 0 and "final (step 5)" in r.output, r.output
    # Before the first checkpoint and before the run directory exists.
    monkeypatch.setattr(Trainer, "step", lambda self: (_ for _ in ()).throw(KeyboardInterrupt))
    early = tmp_path / "early"
    r = cli("--out", str(early), "--steps", "5", *SETS)
    assert r.exit_code == 130 and "from step 0 (no checkpoint was saved yet)" in r.output
    assert f"maxrl train --resume {early}" in r.output


def test_real_sigint_prints_the_resume_command(tmp_path):
    import signal
    import time

    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "maxrl_rs", "train", "--out", str(out), "--steps", "1000", "--quiet"]
    proc = subprocess.Popen(
        [*cmd, *SETS, "--set", "checkpoint.every=2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # A shell's background job starts with SIGINT ignored, and Python then installs no
        # KeyboardInterrupt handler: give the child the default, as a terminal's foreground job has.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (out / "checkpoints" / "step-2").is_dir():
            assert proc.poll() is None, proc.stdout.read()
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, output
    latest = ckpt.latest_checkpoint(out)
    assert f"Interrupted. A resume starts from checkpoint {latest}:" in output
    assert f"maxrl train --resume {out}" in output and "Traceback" not in output


def test_torch_full_disk_error_without_errno_still_says_no_space(run, monkeypatch):
    import maxrl_rs.atomic as atomic

    def torn(*args, **kwargs):  # what torch's writer raises on a full disk: no errno, no cause
        raise RuntimeError("[enforce fail at inline_container.cc:626] . unexpected pos 945280 vs 945172")

    monkeypatch.setattr(torch, "save", torn)
    monkeypatch.setattr(atomic.shutil, "disk_usage", lambda p: type("Usage", (), {"free": 0})())
    before = snapshot(run / "checkpoints")
    r = cli("--resume", str(run), "--steps", "3")
    assert r.exit_code == 1, r.output
    assert f"no space left on device while writing {str(run / 'checkpoints' / 'step-3')!r}" in r.output
    assert snapshot(run / "checkpoints") == before
