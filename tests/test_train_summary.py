"""The summary `maxrl train` prints at the end: where the trained model is, and the `maxrl eval` command that
compares it with the policy RL started from (which then runs on the run's own task)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from click.testing import CliRunner  # noqa: E402

from _tiny import TINY  # noqa: E402
from maxrl_rs.cli import main  # noqa: E402
from maxrl_rs.cli.train import final_model, next_step  # noqa: E402
from maxrl_rs.config import load_config  # noqa: E402
from maxrl_rs.models import check_model_dir  # noqa: E402
from maxrl_rs.run import RunSummary  # noqa: E402
from maxrl_rs.sft import SFTResult  # noqa: E402

SETS = [a for item in [*TINY, "sft.steps=20", "train.steps=1"] for a in ("--set", item)]


def rows(output: str) -> dict[str, str]:
    """The summary's ``label  value`` rows."""
    out = {}
    for line in output.splitlines():
        label, sep, value = line.partition("  ")
        if sep and label and not line.startswith(" "):
            out[label.strip()] = value.strip()
    return out


def test_summary_names_the_final_model_and_an_eval_command_that_runs_on_the_runs_task(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # paths are shown relative to where the command runs
    r = CliRunner().invoke(main, ["train", "--out", "runs/a", *SETS])
    assert r.exit_code == 0, r.output
    shown = rows(r.stdout)
    assert shown["run dir"] == "runs/a"
    assert shown["final model"] == "runs/a/checkpoints/step-1/model"
    check_model_dir(tmp_path / shown["final model"])  # a plain model directory
    lines = r.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("next:"))
    assert lines[at] == "next: pass@k of the start and the trained policy"
    command = shlex.split(lines[at + 1])
    assert command == ["maxrl", "eval", "runs/a/sft", "runs/a", "--n", "64"]

    # The command works as printed (fewer samples here), on the run's task: its 8 held-out 5×5 mazes, not the
    # default task's 128, though the first policy, RUN/sft, is a model directory.
    report = tmp_path / "report.json"
    args = [*command[1:-2], "--n", "2", "--json", str(report), "--no-progress"]
    e = CliRunner().invoke(main, args)
    assert e.exit_code == 0, e.output
    reports = json.loads(report.read_text())["reports"]
    assert [x["num_prompts"] for x in reports] == [8, 8]
    assert reports[1]["run"] == "a@1"


def summary(run: Path, *, sft: bool) -> RunSummary:
    return RunSummary(
        run_dir=run,
        first_step=0,
        last_step=3,
        start_pass_at_1=0.1,
        final_pass_at_1=0.2,
        wall_seconds=1.0,
        parameters=10,
        sft=SFTResult(steps=1, final_loss=0.5, seconds=1.0) if sft else None,
    )


def test_a_lora_runs_final_model_is_the_merged_one(tmp_path):
    cfg = load_config(None, ["model.lora.r=8"])
    assert final_model(summary(tmp_path / "run", sft=True), cfg) == tmp_path / "run" / "merged"
    plain = load_config(None, [])
    assert final_model(summary(tmp_path / "run", sft=True), plain) == (
        tmp_path / "run" / "checkpoints" / "step-3" / "model"
    )


def test_without_sft_the_start_is_model_path_and_without_either_only_the_run_is_evaluated(
    tmp_path, monkeypatch
):
    # From a directory that holds neither path, both are shown whole (inside it they would be relative).
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    run = tmp_path / "my run"
    cfg = load_config(None, [f"model.path={tmp_path / 'base model'}", "sft.steps=0"])
    line = next_step(summary(run, sft=False), cfg).splitlines()[1]
    assert shlex.split(line) == ["maxrl", "eval", str(tmp_path / "base model"), str(run), "--n", "64"]
    text = next_step(summary(run, sft=False), load_config(None, ["sft.steps=0"]))
    assert text.splitlines()[0] == "next: pass@k of the trained policy"
    assert shlex.split(text.splitlines()[1]) == ["maxrl", "eval", str(run), "--n", "64"]
