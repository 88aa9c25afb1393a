"""pass@k reports, their JSON form, scaling efficiency and the pass@k plot (docs/evaluation.md)."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

import maxrl_rs
from maxrl_rs.evaluation import (
    COMPARISON_SCHEMA,
    SCHEMA,
    PassAtKReport,
    check_comparable,
    default_ks,
    efficiency_from_curves,
    format_table,
    load_reports,
    parse_ks,
    passk_report,
    save_reports,
    scaling_efficiency,
    unique_labels,
)
from maxrl_rs.rollout.base import RolloutBackend


def _counts(seed: int, prompts: int = 40, n: int = 32, a: float = 0.5, b: float = 0.5):
    rng = np.random.default_rng(seed)
    return rng.binomial(n, rng.beta(a, b, prompts))


def test_default_ks_are_powers_of_two_plus_n():
    assert default_ks(1) == [1]
    assert default_ks(8) == [1, 2, 4, 8]
    assert default_ks(12) == [1, 2, 4, 8, 12]
    assert parse_ks("4, 1,2,2", 8) == [1, 2, 4]
    with pytest.raises(maxrl_rs.InvalidInputError, match="ks\\[1\\] = 9"):
        parse_ks("1,9", 8)
    with pytest.raises(maxrl_rs.InvalidInputError, match="not an integer"):
        parse_ks("1,x", 8)


def test_json_values_match_pass_at_k_on_saved_counts(tmp_path):
    c = _counts(0)
    report = passk_report(32, c, run="a", task="maze", meta={"temperature": 1.0})
    path = report.save(tmp_path / "a.json")
    d = json.loads(path.read_text())
    assert d["schema"] == SCHEMA and d["run"] == "a" and d["task"] == "maze"
    assert d["n"] == 32 and d["num_prompts"] == 40 and d["ks"] == [1, 2, 4, 8, 16, 32]
    n, c_saved = np.array(d["prompts"]["n"]), np.array(d["prompts"]["c"])
    np.testing.assert_array_equal(c_saved, c)
    for k, v, j in zip(d["ks"], d["pass_at_k"], d["maxrl_objective"], strict=True):
        assert v == pytest.approx(float(np.mean(maxrl_rs.pass_at_k(n, c_saved, k))), abs=1e-12)
        assert j == pytest.approx(float(np.mean(maxrl_rs.maxrl_objective(n, c_saved, k))), abs=1e-12)
    # J^(1) = pass@1 − 1 (docs/estimators.md)
    assert d["maxrl_objective"][0] == pytest.approx(d["pass_at_k"][0] - 1.0, abs=1e-12)
    h = d["histogram"]
    assert sum(h["counts"]) == 40 and len(h["edges"]) == len(h["counts"]) + 1
    assert h["all_fail"] == int(np.sum(c == 0)) and h["all_pass"] == int(np.sum(c == 32))
    assert d["meta"] == {"temperature": 1.0}
    assert PassAtKReport.load(path) == report
    d["pass_at_k"][0] += 0.01
    with pytest.raises(maxrl_rs.InvalidInputError, match="does not match"):
        PassAtKReport.from_dict(d)


def test_varying_n_per_prompt_uses_smallest_n():
    report = passk_report([8, 10, 16], [1, 0, 16], run="a", task="t")
    assert report.n == 8 and report.ks == [1, 2, 4, 8]
    assert report.pass_at_k[0] == pytest.approx((1 / 8 + 0 + 1) / 3)


@pytest.mark.parametrize(
    ("n", "c", "match"),
    [(4, [5], "prompt 0"), ([4, 0], [1, 0], "prompt 1"), (4, [], "empty"), ([4, 4], [1], "one n per prompt")],
)
def test_bad_counts_are_rejected(n, c, match):
    with pytest.raises(maxrl_rs.InvalidInputError, match=match):
        passk_report(n, c, run="a", task="t")


def test_efficiency_on_constructed_curves():
    ks = [1, 2, 4, 8, 16]
    base = [0.1, 0.2, 0.3, 0.4, 0.5]
    # Reaches the baseline's pass@16 = 0.5 first at k = 4: 16 / 4 = 4x.
    e = efficiency_from_curves(ks, [0.3, 0.45, 0.5, 0.6, 0.7], ks, base)
    assert (e.status, e.k_reach, e.efficiency, e.target, e.k_max) == ("reached", 4, 4.0, 0.5, 16)
    assert e.short() == "4x"
    # Already above at k = 1: efficiency is at least k_max.
    e = efficiency_from_curves(ks, [0.55, 0.6, 0.7, 0.8, 0.9], ks, base)
    assert (e.status, e.k_reach, e.efficiency) == ("at_k1", 1, 16.0)
    assert e.short() == ">=16x" and ">=" in e.describe()
    # Never reaches: k_reach unknown, efficiency < k_max / run's largest k.
    e = efficiency_from_curves(ks, [0.1, 0.15, 0.2, 0.25, 0.3], ks, base)
    assert (e.status, e.k_reach, e.efficiency) == ("never", None, 1.0)
    assert e.short() == "<1x" and "never" in e.describe()
    # A baseline that never succeeds gives no target to reach.
    e = efficiency_from_curves(ks, base, ks, [0.0] * 5)
    assert e.status == "undefined" and e.k_reach is None and np.isnan(e.efficiency)
    assert e.short() == "n/a" and "undefined" in e.describe()
    # A run compared with itself is exactly 1x.
    e = efficiency_from_curves(ks, base, ks, base)
    assert (e.status, e.k_reach, e.efficiency, e.baseline_k_reach) == ("reached", 16, 1.0, 16)
    # A baseline already at its best by k = 4 sets the bar at k = 4, not 16: a copy of it is 1x, not 4x,
    # and a run there at k = 2 is 2x.
    flat = [0.1, 0.2, 0.5, 0.5, 0.5]
    e = efficiency_from_curves(ks, flat, ks, flat)
    assert (e.status, e.k_reach, e.efficiency, e.baseline_k_reach) == ("reached", 4, 1.0, 4)
    assert "first at k = 4" in e.describe()
    e = efficiency_from_curves(ks, [0.3, 0.5, 0.6, 0.7, 0.8], ks, flat)
    assert (e.k_reach, e.efficiency) == (2, 2.0)
    e = efficiency_from_curves(ks, [0.6] * 5, ks, flat)
    assert (e.status, e.efficiency) == ("at_k1", 4.0)
    e = efficiency_from_curves(ks, [0.1] * 5, ks, flat)
    assert (e.status, e.efficiency) == ("never", 4 / 16)
    with pytest.raises(maxrl_rs.InvalidInputError, match="ascending"):
        efficiency_from_curves([2, 1], [0.1, 0.2], ks, base)


def test_efficiency_from_reports_uses_every_k():
    # Baseline: c = 8 and 2 of 16; pass@16 = 1 is first reached once 16 − 2 = 14 < k, i.e. k = 15.
    base = passk_report(16, [8, 2], run="base", task="t")
    # Run: one prompt always right, one right in 12 of 16: pass@k = 1 once 16 − 12 = 4 < k, i.e. k = 5.
    run = passk_report(16, [16, 12], run="run", task="t")
    e = scaling_efficiency(run, base)
    assert e.status == "reached" and e.k_reach == 5  # not 8, the next reported k
    assert e.baseline_k_reach == 15  # not 16, the baseline's largest reported k
    assert e.efficiency == pytest.approx(15 / 5)
    assert "efficiency" in format_table([base, run])
    # Compared with itself, any report is 1x, however flat the end of its curve.
    for counts in ([8, 8], [16, 0], [15, 14, 0], [1, 0]):
        same = passk_report(16, counts, run="same", task="t")
        assert scaling_efficiency(same, same).efficiency == 1.0, counts


def test_plot_is_written(tmp_path):
    pytest.importorskip("matplotlib")
    from maxrl_rs.plots import plot_pass_at_k

    a = passk_report(32, _counts(1), run="grpo", task="maze")
    b = passk_report(32, _counts(2, a=2.0, b=0.5), run="maxrl", task="maze")
    out = plot_pass_at_k([a, b], tmp_path / "sub" / "passk.png")
    assert out.exists() and out.stat().st_size > 5000
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -- sampling a policy (torch) ---------------------------------------------------------------------------


class _ScriptedBackend(RolloutBackend):
    """A rollout backend whose prompt number i answers correctly in its first ``correct[i]`` responses."""

    def __init__(self, task, examples, correct):
        self.task, self.examples, self.correct = task, examples, correct
        self.calls = []

    def generate(self, prompts, group_ids, sampling):
        import torch

        from maxrl_rs.rollout.base import Rollouts

        self.calls.append(len(prompts))
        texts = []
        for g in group_ids:
            good = self.examples[g].solution
            texts += [good if j < self.correct[g] else "UP DONE" for j in range(sampling.n)]
        r = len(texts)
        return Rollouts(
            prompt_ids=torch.zeros((r, 1), dtype=torch.long),
            prompt_mask=torch.ones((r, 1), dtype=torch.long),
            response_ids=torch.zeros((r, 2), dtype=torch.long),
            response_mask=torch.ones((r, 2), dtype=torch.long),
            texts=texts,
            group_ids=np.repeat(np.asarray(group_ids, dtype=np.int64), sampling.n),
            finished=np.ones(r, dtype=bool),
        )

    def close(self):
        pass


def _maze_task(size=5, eval_size=5):
    from maxrl_rs.tasks import MazeOptions, MazeTask

    return MazeTask(MazeOptions(size=size), seed=0, eval_seed=1, eval_size=eval_size)


def test_sample_counts_grades_and_counts_per_prompt():
    pytest.importorskip("torch")
    from maxrl_rs.evaluation.sampling import evaluate_policy

    task = _maze_task()
    examples = task.eval_examples()
    correct = [0, 1, 3, 8, 5]
    backend = _ScriptedBackend(task, examples, correct)
    report = evaluate_policy(
        backend,
        task,
        task.build_tokenizer(),
        examples,
        run="scripted",
        n=8,
        max_new_tokens=8,
        prompts_per_call=2,
    )
    assert backend.calls == [2, 2, 1]  # prompts go to the backend in chunks
    assert report.prompt_c == correct and report.prompt_n == [8] * 5
    assert report.prompt_ids == [ex.id for ex in examples]
    assert report.pass_at_k[0] == pytest.approx(np.mean(np.array(correct) / 8))
    assert report.meta["unscored_responses"] == 0 and report.meta["dropped_prompts"] == 0


def _tiny_model_dir(path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from maxrl_rs.models import TinyModelSpec, tiny_model

    tokenizer = _maze_task().build_tokenizer()
    torch.manual_seed(0)
    model = tiny_model(
        TinyModelSpec(hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32), tokenizer
    )
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def _eval_cli(*args):
    from click.testing import CliRunner

    from maxrl_rs.cli import main

    result = CliRunner().invoke(main, ["eval", *map(str, args)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("task", ["word_problems", "gsm8k", "maze"])
def test_eval_report_shows_the_response_budget_it_sampled_with(task):
    from maxrl_rs.cli.eval import _task_options
    from maxrl_rs.config import load_config

    cfg = load_config(None, [f"task.name={task}"])
    options = _task_options(cfg, 64)
    configured = getattr(getattr(cfg.task, task), "max_new_tokens", None)
    if configured is None:  # the maze sizes its budget from the grid: nothing to show
        assert "max_new_tokens" not in options
    else:
        assert configured != 64 and options["max_new_tokens"] == 64


def test_eval_cli_on_a_tiny_model(tmp_path):
    model_dir = _tiny_model_dir(tmp_path / "tiny")
    common = ["--task", "maze", "--set", "task.maze.size=5", "--n", "4", "--prompts", "3", "--no-progress"]
    out = _eval_cli(model_dir, *common, "--json", tmp_path / "one.json", "--plot", tmp_path / "one.png")
    assert "pass@k tiny" in out and (tmp_path / "one.png").stat().st_size > 0
    d = json.loads((tmp_path / "one.json").read_text())
    assert d["schema"] == SCHEMA and d["task"] == "maze" and d["n"] == 4 and d["ks"] == [1, 2, 4]
    assert d["num_prompts"] == 3 and d["prompts"]["ids"] == ["eval-0", "eval-1", "eval-2"]
    n, c = np.array(d["prompts"]["n"]), np.array(d["prompts"]["c"])
    assert np.all(n == 4) and np.all((c >= 0) & (c <= 4))
    for k, v in zip(d["ks"], d["pass_at_k"], strict=True):
        assert v == pytest.approx(float(np.mean(maxrl_rs.pass_at_k(n, c, k))), abs=1e-12)
    assert d["meta"]["task_options"] == {"size": 5} and d["meta"]["samples_per_prompt"] == 4

    # Two policies on the same prompts: a comparison file with efficiency over the first.
    out = _eval_cli(
        model_dir, model_dir, *common, "--name", "a", "--name", "b", "--json", tmp_path / "two.json"
    )
    assert "efficiency: b vs a" in out
    two = json.loads((tmp_path / "two.json").read_text())
    assert two["schema"] == "maxrl-rs/passk-comparison/v1" and two["baseline"] == "a"
    assert [r["run"] for r in two["reports"]] == ["a", "b"] and len(two["efficiency"]) == 1
    # Same weights and seed: the same samples.
    assert two["reports"][0]["prompts"] == two["reports"][1]["prompts"] == d["prompts"]

    # A saved report is re-tabulated without sampling.
    out = _eval_cli(tmp_path / "one.json", tmp_path / "two.json", "--plot", tmp_path / "three.png")
    assert "efficiency: a vs tiny" in out and "efficiency: b vs tiny" in out


def test_eval_of_several_runs_keeps_a_backend_that_can_switch_models(tmp_path, monkeypatch):
    """One vLLM engine serves every run of a comparison (a second in-process engine may find the GPU memory
    of the first not yet returned); shown with an HF backend that switches models the same way."""
    import maxrl_rs.rollout.base as base
    from maxrl_rs.rollout.hf import HFBackend

    events: list[str] = []

    class Switching(HFBackend):
        def __init__(self, *args, **kwargs):
            events.append("build")
            super().__init__(*args, **kwargs)

        def reuse_for(self, model, tokenizer):
            events.append("reuse")
            self.model = model
            return True

        def close(self):
            events.append("close")

    monkeypatch.setattr(base, "backend_class", lambda name: Switching)
    model_dir = _tiny_model_dir(tmp_path / "tiny")
    common = ["--task", "maze", "--set", "task.maze.size=5", "--n", "4", "--prompts", "3", "--no-progress"]
    _eval_cli(model_dir, model_dir, model_dir, *common, "--json", tmp_path / "three.json")
    assert events == ["build", "reuse", "reuse", "close"]
    reports = json.loads((tmp_path / "three.json").read_text())["reports"]
    assert reports[0]["prompts"] == reports[1]["prompts"] == reports[2]["prompts"]


def test_maze_experiment_config_from_saved_json():
    """The config saved in maze.json (tuples become lists) reads back equal, and still validates."""
    from dataclasses import asdict

    from maxrl_rs.errors import ConfigError
    from maxrl_rs.experiments import maze

    config = maze.MazeExperimentConfig(methods=("maxrl", "grpo"), seeds=(3, 1), eval_n=16)
    saved = json.loads(json.dumps(asdict(config)))
    assert isinstance(saved["seeds"], list)
    assert maze.MazeExperimentConfig.from_dict(saved) == config
    with pytest.raises(ConfigError, match="unknown method 'ppo'"):
        maze.MazeExperimentConfig.from_dict({**saved, "methods": ["ppo"]})


def test_maze_experiment_summary_from_saved_counts(tmp_path):
    """The maze write-up is computed from per-seed reports: mean ± std, pooled curves, efficiency."""
    pytest.importorskip("matplotlib")
    from dataclasses import asdict

    from maxrl_rs.experiments import maze

    config = maze.MazeExperimentConfig(seeds=(0, 1), eval_n=16, eval_prompts=6)
    rng = np.random.default_rng(0)
    reports = [passk_report(16, rng.binomial(16, 0.2, 6), run="sft", task="maze").to_dict()]
    runs = []
    for seed in config.seeds:
        for method, p in (("maxrl", 0.5), ("grpo", 0.3), ("rloo", 0.25)):
            c = rng.binomial(16, p, 6)
            reports.append(passk_report(16, c, run=f"{method}-seed{seed}", task="maze").to_dict())
            runs.append({"method": method, "seed": seed, "train_reward": [0.2, 0.3, p]})
    result = {
        "config": asdict(config),
        "runs": runs,
        "reports": reports,
        "seconds": {"sft": 1.0, "rl": 2.0, "total": 4.0},
        "machine": "test",
    }
    summary = maze.summarise(result)
    assert summary["ks"] == [1, 2, 4, 8, 16]
    rows = {r["method"]: r for r in summary["rows"]}
    for method in ("maxrl", "grpo", "rloo"):
        per_seed = [r["pass_at_k"][0] for r in reports if r["run"].startswith(method)]
        assert rows[method]["pass@1"][0] == pytest.approx(np.mean(per_seed))
        assert rows[method]["pass@1"][1] == pytest.approx(np.std(per_seed, ddof=1))
    pooled = {r.run: r for r in summary["pooled"]}
    assert pooled["maxrl"].pass_at_k[0] == pytest.approx(rows["maxrl"]["pass@1"][0])
    assert set(summary["efficiency"]) == {"maxrl_over_grpo", "maxrl_over_rloo"}

    maze.write_outputs(result, tmp_path, "python -m maxrl_rs.experiments.maze")
    md = (tmp_path / "maze.md").read_text()
    assert "| maxrl | 2 |" in md and "pass@16" in md and "Reproduce" in md
    assert (tmp_path / "maze.png").stat().st_size > 0
    assert json.loads((tmp_path / "maze.json").read_text())["reports"] == reports


class _NoVerdictTask:
    """A task whose grading gives no verdict (``limit``) for the response ``"??"``, as a bound would."""

    def __init__(self, task):
        self._task = task

    def __getattr__(self, name):
        return getattr(self._task, name)

    def grade(self, responses, examples):
        from maxrl_rs.grading import LIMIT

        graded = self._task.grade(responses, examples)
        hit = np.array([r == "??" for r in responses], dtype=bool)
        status = np.where(hit, LIMIT, graded.status).astype(np.uint8)
        return type(graded)(rewards=np.where(hit, 0, graded.rewards), mask=graded.mask & ~hit, status=status)


class _NoVerdictBackend(_ScriptedBackend):
    """Prompt i: ``correct[i]`` correct responses, then ``unscored[i]`` without a verdict, then failures."""

    def __init__(self, task, examples, correct, unscored):
        super().__init__(task, examples, correct)
        self.unscored = unscored

    def generate(self, prompts, group_ids, sampling):
        out = super().generate(prompts, group_ids, sampling)
        texts = list(out.texts)
        for j, g in enumerate(out.group_ids.tolist()):
            if self.correct[g] <= j % sampling.n < self.correct[g] + self.unscored[g]:
                texts[j] = "??"
        out.texts = texts
        return out


@pytest.mark.parametrize("unscored", [[0, 0, 0, 0, 0], [0, 2, 0, 8, 1]])
def test_training_and_eval_count_the_same_way(unscored):
    """Held-out evaluation during training and ``maxrl eval`` share one path: a response without a verdict
    is left out of its prompt's n (not a failure), a prompt without any is dropped, and both report the
    same pass@k from the same counts."""
    pytest.importorskip("torch")
    from maxrl_rs.evaluation.sampling import evaluate_policy
    from maxrl_rs.heldout import heldout_pass_at_k

    task = _maze_task()
    examples = task.eval_examples()
    correct = [0, 1, 3, 0, 5]
    graded = _NoVerdictTask(task)
    tok = task.build_tokenizer()
    report = evaluate_policy(
        _NoVerdictBackend(task, examples, correct, unscored), graded, tok, examples, run="r", n=8, ks="1,2",
        max_new_tokens=8,
    )  # fmt: skip
    backend = _NoVerdictBackend(task, examples, correct, unscored)
    held = heldout_pass_at_k(backend, graded, tok, examples, samples=8, max_new_tokens=8)
    kept = [i for i in range(5) if unscored[i] < 8]
    n = np.array([8 - unscored[i] for i in kept])
    c = np.array([correct[i] for i in kept])
    assert report.prompt_n == n.tolist() and report.prompt_c == c.tolist()
    assert report.meta["unscored_responses"] == sum(unscored) == held["eval/unscored"]
    assert report.meta["dropped_prompts"] == 5 - len(kept)
    want = float(np.mean(c / n))  # not counting unscored responses as failures
    assert report.pass_at_k[0] == held["eval/pass@1"] == pytest.approx(want, abs=1e-15)
    if sum(unscored) == 0:
        assert held["eval/pass@8"] == float(np.mean(maxrl_rs.pass_at_k(8, c, 8)))
    else:  # pass@8 of a prompt with fewer than 8 graded responses does not exist
        assert np.isnan(held["eval/pass@8"])


def test_maxrl_train_final_eval_and_maxrl_eval_report_the_same_numbers(tmp_path):
    """The last held-out evaluation of ``maxrl train`` and ``maxrl eval`` of the run's final checkpoint, with
    the run's eval seed and the same samples per prompt, report the same pass@1 and pass@n."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from _runs import SMALL_RUN, train_cli
    from maxrl_rs.metrics import read_metrics

    run = tmp_path / "run"
    samples = 4
    train_cli(
        1, *SMALL_RUN, "--set", "device=cpu", "--set", "sft.steps=20", "--set", "task.eval_size=3",
        "--set", f"eval.samples={samples}", "--steps", "1", "--out", str(run),
    )  # fmt: skip
    final = [r for r in read_metrics(run) if "eval/pass@1" in r][-1]
    assert final["step"] == 1
    _eval_cli(run, "--n", samples, "--k", f"1,{samples}", "--no-progress", "--json", tmp_path / "eval.json")
    d = json.loads((tmp_path / "eval.json").read_text())
    assert d["num_prompts"] == 3 and d["meta"]["step"] == 1
    assert d["pass_at_k"] == [final["eval/pass@1"], final[f"eval/pass@{samples}"]]


def test_ks_above_the_graded_n_are_left_out_with_a_warning_not_the_samples(caplog):
    """Unscored responses leave a prompt fewer than n graded ones: a requested k above that cannot be
    estimated, and is left out (with a warning) rather than failing after all the sampling."""
    pytest.importorskip("torch")
    from maxrl_rs.evaluation.sampling import evaluate_policy

    task = _maze_task()
    examples = task.eval_examples()
    backend = _NoVerdictBackend(task, examples, [0, 1, 3, 0, 5], [0, 2, 0, 0, 1])
    with caplog.at_level("WARNING", logger="maxrl_rs"):
        report = evaluate_policy(
            backend, _NoVerdictTask(task), task.build_tokenizer(), examples, run="r", n=8, ks="1,4,8",
            max_new_tokens=8,
        )  # fmt: skip
    assert report.ks == [1, 4] and report.prompt_n == [8, 6, 8, 8, 7]
    assert "r: pass@k for k = 8 left out: a prompt kept only 6 graded responses of 8" in caplog.text
    with pytest.raises(maxrl_rs.InvalidInputError, match=r"ks\[0\] = 9 is outside 1..n = 1..8"):
        evaluate_policy(backend, task, None, examples, run="r", n=8, ks="9", max_new_tokens=8)


# -- the documentation's example, and what reading a report back refuses -----------------------------------

DOC = Path(__file__).resolve().parent.parent / "docs" / "evaluation.md"


def _fenced(text: str, lang: str, after: str) -> list[str]:
    """The ``lang`` code blocks of ``text`` after the heading ``after``."""
    return re.findall(rf"^```{lang}\n(.*?)^```", text[text.index(after) :], re.MULTILINE | re.DOTALL)


def test_the_docs_example_prints_the_table_and_efficiency_the_docs_show():
    """docs/evaluation.md shows a table and a comparison's efficiency: both are what its Python example
    gives, so a change to the definitions cannot leave them stale."""
    text = DOC.read_text(encoding="utf-8")
    (code,) = _fenced(text, "python", "## From Python")
    out, scope = io.StringIO(), {}
    with contextlib.redirect_stdout(out):
        exec(code, scope)  # the page's own example
    table = _fenced(text, "", "## The table")[0]
    assert table in out.getvalue()
    assert "(first at k = 28), reached at k = 6: efficiency 4.67x" in table
    shown = json.loads(re.search(r'"efficiency": \[(\{.*?\})\]', text, re.DOTALL).group(1))
    fresh = scaling_efficiency(scope["rl"], scope["base"]).to_dict()
    assert shown == {**fresh, "efficiency": round(fresh["efficiency"], 2)}
    assert (fresh["baseline_k_reach"], fresh["k_reach"]) == (28, 6)


@pytest.mark.parametrize("run_c", [[0, 0], [1, 2], [4, 4]])
def test_a_baseline_that_solves_nothing_has_no_k_base(tmp_path, run_c):
    base = passk_report(4, [0, 0], run="base", task="t")
    run = passk_report(4, run_c, run="run", task="t")
    e = scaling_efficiency(run, base)
    assert (e.status, e.baseline_k_reach, e.k_reach) == ("undefined", None, None)
    assert "first at k" not in e.describe() and "efficiency undefined" in e.describe()
    assert "first at k" not in format_table([base, run])
    saved = json.loads(save_reports([base, run], tmp_path / "c.json").read_text())
    assert saved["efficiency"][0]["baseline_k_reach"] is None and saved["efficiency"][0]["efficiency"] is None


def test_reports_on_other_tasks_or_prompts_are_not_compared(tmp_path):
    maze = passk_report(4, [1, 2, 3], run="a", task="maze", prompt_ids=["m0", "m1", "m2"])
    gsm = passk_report(4, [1, 2, 3], run="b", task="gsm8k", prompt_ids=["m0", "m1", "m2"])
    other = passk_report(4, [1, 2, 3], run="c", task="maze", prompt_ids=["m0", "m5", "m6"])
    fewer = passk_report(4, [1, 2], run="d", task="maze", prompt_ids=["m0", "m1"])
    cases = [
        (gsm, "cannot compare 'b' on task 'gsm8k' with 'a' on task 'maze'"),
        (other, "2 of the 3 ids of 'a' are not in 'c', 2 of the 3 of 'c' not in 'a'; first: 'm1' is in 'a'"),
        (fewer, "1 of the 3 ids of 'a' are not in 'd', 0 of the 2 of 'd' not in 'a'; first: 'm2' is in 'a'"),
    ]
    for run, message in cases:
        for call, args in (
            (scaling_efficiency, (run, maze)),
            (format_table, ([maze, run],)),
            (save_reports, ([maze, run], tmp_path / "out.json")),
            (check_comparable, ([maze, run],)),
        ):
            with pytest.raises(maxrl_rs.InvalidInputError, match=re.escape(message)):
                call(*args)
    assert not (tmp_path / "out.json").exists()
    # The other way round: the first report's extra ids are named.
    with pytest.raises(maxrl_rs.InvalidInputError, match="first: 'm2' is in 'a' only"):
        scaling_efficiency(maze, fewer)
    # One prompt set inside the other: how to sample the smaller one; disjoint sets get no such hint.
    hint = "(all 2 prompts of one are among the 3 of the other: `maxrl eval --prompts 2` samples"
    with pytest.raises(maxrl_rs.InvalidInputError, match=re.escape(hint)):
        check_comparable([fewer, maze])
    with pytest.raises(maxrl_rs.InvalidInputError) as e:
        check_comparable([maze, other])
    assert "--prompts" not in str(e.value)
    with pytest.raises(maxrl_rs.InvalidInputError, match=re.escape("'a' (from 'x.json')")):
        check_comparable([maze, gsm], ["'x.json'", "'y.json'"])
    # The same prompts in another order, or repeated once per seed (a pooled report), compare.
    shuffled = passk_report(4, [3, 1, 2], run="e", task="maze", prompt_ids=["m2", "m0", "m1"])
    pooled = passk_report(4, [1, 2, 3, 0, 1, 2], run="f", task="maze", prompt_ids=["m0", "m1", "m2"] * 2)
    check_comparable([maze, shuffled, pooled])
    assert "efficiency: f vs a" in format_table([maze, shuffled, pooled])


def test_maze_experiment_pools_seeds_on_the_same_prompt_ids():
    from maxrl_rs.experiments.maze import pooled

    seeds = [
        passk_report(4, [1, 2], run=f"maxrl-seed{s}", task="maze", prompt_ids=["e0", "e1"]) for s in (0, 1)
    ]
    sft = passk_report(4, [0, 1], run="sft", task="maze", prompt_ids=["e0", "e1"])
    both = pooled(seeds, "maxrl")
    assert both.prompt_ids == ["e0", "e1", "e0", "e1"]
    assert scaling_efficiency(both, sft).status in ("reached", "at_k1")


def test_repeated_run_labels_are_numbered_in_the_table_and_the_json(tmp_path):
    a = passk_report(4, [1, 2], run="a", task="t")
    b = passk_report(4, [2, 2], run="b", task="t")
    table = format_table([a, a, b, a])
    assert "pass@k a#2" in table and "pass@k a#3" in table and "efficiency: a#2 vs a" in table
    assert [r.run for r in unique_labels([a, a, b, a])] == ["a", "a#2", "b", "a#3"]
    saved = json.loads(save_reports([a, a], tmp_path / "c.json").read_text())
    assert [r["run"] for r in saved["reports"]] == ["a", "a#2"]
    assert saved["efficiency"][0]["run"] == "a#2"


def _set(d, key, value):
    """``d`` with the dotted ``key`` set to ``value`` (or removed, for ``...``)."""
    d = json.loads(json.dumps(d))
    *parents, last = key.split(".")
    node = d
    for part in parents:
        node = node[int(part) if isinstance(node, list) else part]
    index = int(last) if isinstance(node, list) else last
    if value is ...:
        del node[index]
    else:
        node[index] = value
    return d


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "pass_at_k.2",
            0.7,
            "pass_at_k in the report does not match its per-prompt counts at k = 4: "
            "stored 0.7, recomputed 0.25 (",
        ),
        (
            "maxrl_objective.0",
            -0.5,
            "maxrl_objective in the report does not match its per-prompt counts at k = 1: "
            "stored -0.5, recomputed -0.9375",
        ),
        ("prompts.c", ["1", "2"], "prompts.c[0] = '1' is not an integer"),
        ("prompts.n", [8, True], "prompts.n[1] = True is not an integer"),
        ("prompts.c", None, "prompts.c is null: need a list of integers"),
        ("prompts.c", [1], "prompts.n has 2 entries but prompts.c has 1"),
        ("prompts.c", ..., "report is missing key 'prompts.c'"),
        ("prompts", ..., "report is missing key 'prompts'"),
        ("prompts", [1, 2], "prompts must be an object with ids, n and c, got [1, 2]"),
        ("prompts.ids", ["x"], "prompts.ids must be a list of 2 ids (one per count), got ['x']"),
        ("prompts.c", [9, 0], "prompt 0 (id 'p0'): need 0 <= c <= n and n >= 1, got n = 8, c = 9"),
        ("schema", "maxrl-rs/passk-report/v0", "schema is 'maxrl-rs/passk-report/v0', expected"),
        ("pass_at_k", [0.2, 0.3], "pass_at_k must hold one value per k in ks = [1, 2, 4, 8], got 2 values"),
        ("maxrl_objective", [], "maxrl_objective must hold one value per k in ks = [1, 2, 4, 8], got 0"),
        ("pass_at_k", None, "pass_at_k must hold one value per k in ks = [1, 2, 4, 8], got None"),
        ("pass_at_k.1", "x", "pass_at_k at k = 2 is 'x', not a number"),
        ("n", 4, "n = 4 in the report, but its per-prompt counts give 8 (the smallest prompts.n)"),
        ("num_prompts", 3, "num_prompts = 3 in the report, but its per-prompt counts give 2"),
        ("ks", None, "ks is null"),
        ("ks", [1, 16], "ks[1] = 16 is outside 1..n = 1..8"),
        ("run", 3, "run must be a string, got 3"),
        ("meta", [], "meta must be an object, got []"),
    ],
)
def test_a_bad_saved_report_is_refused_naming_file_key_and_value(tmp_path, key, value, message):
    good = passk_report(8, [1, 0], run="a", task="t", prompt_ids=["p0", "p1"]).to_dict()
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(_set(good, key, value)))
    for load in (load_reports, PassAtKReport.load):
        with pytest.raises(maxrl_rs.InvalidInputError) as e:
            load(path)
        assert str(e.value).startswith(f"{str(path)!r}: ") and message in str(e.value), str(e.value)
    # The same report inside a comparison is named by its index.
    path.write_text(json.dumps({"schema": COMPARISON_SCHEMA, "reports": [good, _set(good, key, value)]}))
    with pytest.raises(maxrl_rs.InvalidInputError, match=re.escape(f"{str(path)!r}: reports[1]: {message}")):
        load_reports(path)


def test_a_config_json_given_as_a_report_says_what_it_is(tmp_path):
    from maxrl_rs.config import load_config, to_dict

    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps(to_dict(load_config(None, []))))
    with pytest.raises(maxrl_rs.InvalidInputError, match=f"is a training run's config.*maxrl eval {run}$"):
        load_reports(run / "config.json")
    (run / "model.json").write_text(json.dumps({"model_type": "llama", "hidden_size": 8}))
    with pytest.raises(maxrl_rs.InvalidInputError, match="is a model's config, not a pass@k report"):
        load_reports(run / "model.json")
    for text, message in (("[1, 2]", "its top level is a list"), ("{", "cannot read a pass@k report from")):
        (run / "odd.json").write_text(text)
        with pytest.raises(maxrl_rs.InvalidInputError, match=re.escape(message)):
            load_reports(run / "odd.json")
    (run / "empty.json").write_text(json.dumps({"schema": COMPARISON_SCHEMA, "reports": []}))
    with pytest.raises(maxrl_rs.InvalidInputError, match="reports must be a non-empty list"):
        load_reports(run / "empty.json")


def test_sampled_reports_store_absolute_model_and_run_paths(tmp_path, monkeypatch):
    _tiny_model_dir(tmp_path / "tiny")
    monkeypatch.chdir(tmp_path)
    common = ["--task", "maze", "--set", "task.maze.size=5", "--n", "2", "--prompts", "2", "--no-progress"]
    _eval_cli("tiny", *common, "--json", "one.json")
    meta = json.loads((tmp_path / "one.json").read_text())["meta"]
    assert meta["model_dir"] == str((tmp_path / "tiny").resolve()) and meta["run_dir"] is None


def test_efficiency_of_a_namesake_is_labelled_as_in_the_table():
    a = passk_report(4, [1, 2, 0], run="a", task="t")
    b = passk_report(8, [1, 2, 0], run="a", task="t")
    e = scaling_efficiency(b, a)
    assert (e.run, e.baseline) == ("a#2", "a") and e.describe().startswith("a#2 vs a:")
    assert "efficiency: a#2 vs a" in format_table([a, b])
