"""Maze navigation, scaling the rollouts per prompt: MaxRL vs GRPO vs RLOO at N = 4, 16, 64 (paper §6).

MaxRL with N rollouts per prompt optimises an objective of order N − 1 (Tajwar et al. 2026, arXiv
2602.02710): more rollouts move it towards maximum likelihood, while GRPO and RLOO estimate the gradient of
the same pass@1 objective with less variance. This experiment measures that, from one SFT start:

1. **N sweep**: every method at each N with the same prompts per step and steps, so the rollout budget
   grows with N;
2. **equal budget**: every method at each N with N × prompts per step fixed (the largest N's batch);
3. **extra seeds** at one N, for the seed-to-seed spread;
4. **long run**: one N, several times the steps, evaluated along the way: does RL keep the SFT start's
   coverage at large k?

Each policy is evaluated on the same held-out mazes with n samples per maze (pass@k up to k = n, the
fraction of mazes solved at least once, J^(n)); during training a hook records, per step, the share of the
update weight Σ|A| that falls on prompts whose batch pass rate is below 0.25.

    python -m maxrl_rs.experiments.maze_scaling --out docs/results

writes ``maze_scaling.json`` after every run (an interrupted invocation resumes where it stopped: finished
runs are kept, an unfinished one starts again), then ``maze_scaling.md`` and ``maze_scaling.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from maxrl_rs.errors import ConfigError
from maxrl_rs.evaluation.report import PassAtKReport
from maxrl_rs.experiments import experiment_parser
from maxrl_rs.experiments.checks import check_at_least, check_methods, check_not_empty
from maxrl_rs.experiments.maze import METHODS, MazeExperimentConfig, warm_start

# Settings every run depends on: a saved result is reused only when all of them match.
SHARED = (
    "size",
    "sft_steps",
    "sft_batch_size",
    "sft_lr",
    "lr",
    "warmup_steps",
    "eval_prompts",
    "eval_n",
    "eval_seed",
    "hidden_size",
    "num_layers",
)
HARD = 0.25  # batch pass rate below which a prompt counts as hard (the paper's "hard prompts")


@dataclass(frozen=True)
class ScalingConfig:
    """Sizes chosen so the whole experiment fits about 100 minutes on one CPU core (maze_scaling.md)."""

    size: int = 7
    methods: tuple[str, ...] = METHODS
    ns: tuple[int, ...] = (4, 16, 64)
    seeds: tuple[int, ...] = (0, 1, 2)
    extra_seeds: tuple[int, ...] = ()  # run at extra_seeds_n only
    extra_seeds_n: int = 16
    # Equal-budget runs: budget_n × prompts_per_step rollouts per step at every N (0: none).
    budget_n: int = 16
    sft_steps: int = 150
    sft_batch_size: int = 32
    sft_lr: float = 3e-3
    rl_steps: int = 60
    prompts_per_step: int = 8
    lr: float = 1e-4
    warmup_steps: int = 5
    long_n: int = 16
    long_steps: int = 180
    long_eval_every: int = 60
    long_methods: tuple[str, ...] = METHODS
    eval_prompts: int = 64
    eval_n: int = 256
    eval_seed: int = 1234
    hidden_size: int = 64
    num_layers: int = 4

    def __post_init__(self) -> None:
        check_methods(self, METHODS, "methods", "long_methods")
        check_not_empty(self, "seeds")
        check_at_least(
            self, 1, "rl_steps", "prompts_per_step", "eval_prompts", "eval_n", "long_steps", "long_eval_every"
        )
        if not self.ns or min(self.ns) < 2:
            raise ConfigError(f"ns must be rollouts per prompt >= 2, got {self.ns}")
        if self.budget_n and any((self.budget_n * self.prompts_per_step) % n for n in self.ns):
            raise ConfigError(
                f"budget_n × prompts_per_step ({self.budget_n * self.prompts_per_step}) must be a "
                f"multiple of every N in {self.ns}"
            )
        if self.long_steps % self.long_eval_every:
            raise ConfigError(
                f"long_steps ({self.long_steps}) must be a multiple of "
                f"long_eval_every ({self.long_eval_every})"
            )

    def maze_config(
        self, *, n: int = 8, prompts: int | None = None, steps: int | None = None
    ) -> MazeExperimentConfig:
        """The single-N maze experiment's config for one run's settings (it builds the ``maxrl train``
        config)."""
        prompts = self.prompts_per_step if prompts is None else prompts
        return MazeExperimentConfig(
            size=self.size,
            sft_steps=self.sft_steps,
            sft_batch_size=self.sft_batch_size,
            sft_lr=self.sft_lr,
            rl_steps=self.rl_steps if steps is None else steps,
            prompts_per_step=prompts,
            rollouts_per_prompt=n,
            lr=self.lr,
            warmup_steps=self.warmup_steps,
            eval_prompts=self.eval_prompts,
            eval_n=self.eval_n,
            eval_seed=self.eval_seed,
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
        )

    def runs(self) -> list[RunSpec]:
        """Every run, cheapest groups first (so a cut-short invocation still has a complete N sweep)."""
        out = [
            RunSpec("sweep", m, n, self.prompts_per_step, self.rl_steps, s)
            for s in self.seeds
            for n in self.ns
            for m in self.methods
        ]
        if self.budget_n:
            budget = self.budget_n * self.prompts_per_step
            for s in self.seeds:
                for n in self.ns:
                    if n != self.budget_n:  # at budget_n the sweep runs are the equal-budget runs
                        out += [RunSpec("budget", m, n, budget // n, self.rl_steps, s) for m in self.methods]
        out += [
            RunSpec("sweep", m, self.extra_seeds_n, self.prompts_per_step, self.rl_steps, s)
            for s in self.extra_seeds
            if s not in self.seeds
            for m in self.methods
        ]
        out += [
            RunSpec(
                "long",
                m,
                self.long_n,
                self.prompts_per_step,
                self.long_steps,
                self.seeds[0],
                self.long_eval_every,
            )
            for m in self.long_methods
        ]
        return out


@dataclass(frozen=True)
class RunSpec:
    """One RL run: ``group`` is sweep, budget or long; ``eval_every`` > 0 also evaluates checkpoints."""

    group: str
    method: str
    n: int
    prompts: int
    steps: int
    seed: int
    eval_every: int = 0

    @property
    def label(self) -> str:
        return f"{self.group}-{self.method}-n{self.n}-p{self.prompts}-s{self.steps}-seed{self.seed}"

    @property
    def rollouts(self) -> int:
        return self.steps * self.prompts * self.n


def update_weight_shares(
    rewards: np.ndarray, group_ids: np.ndarray, adv: np.ndarray, mask: np.ndarray
) -> dict[str, float]:
    """Where one step's update weight goes: the share of Σ|A| on prompts whose batch pass rate (mean reward
    of the prompt's graded rollouts) is below ``HARD``, and the share of such prompts.

    Args:
        rewards, group_ids, adv, mask: ``[R]`` per rollout (a trainer ``StepBatch``'s fields).

    Returns:
        ``hard_weight_share`` (NaN when every advantage is 0), ``hard_prompt_frac``, ``all_fail_frac``.
    """
    keep = np.asarray(mask, dtype=bool)
    _, gi = np.unique(np.asarray(group_ids), return_inverse=True)
    groups = int(gi.max()) + 1 if gi.size else 0
    graded = np.bincount(gi, weights=keep, minlength=groups)
    passed = np.bincount(gi, weights=keep * (np.asarray(rewards) > 0.5), minlength=groups)
    rate = np.divide(passed, graded, out=np.zeros(groups), where=graded > 0)
    hard = (rate < HARD) & (graded > 0)
    weight = np.bincount(gi, weights=np.abs(np.asarray(adv, dtype=np.float64)) * keep, minlength=groups)
    total = float(weight.sum())
    return {
        "hard_weight_share": float(weight[hard].sum() / total) if total > 0 else float("nan"),
        "hard_prompt_frac": float(hard.mean()) if groups else float("nan"),
        "all_fail_frac": float(((passed == 0) & (graded > 0)).mean()) if groups else float("nan"),
    }


def _single_thread() -> None:
    import torch

    import maxrl_rs

    torch.set_num_threads(1)
    maxrl_rs.set_num_threads(1)


def evaluate(config: ScalingConfig, label: str, policy_dir: str | Path) -> PassAtKReport:
    """pass@k (k ≤ eval_n) of one policy on the held-out mazes, under a fixed sampling seed."""
    from maxrl_rs.evaluation.sampling import evaluate_policy, resolve_policy
    from maxrl_rs.rollout.hf import HFBackend
    from maxrl_rs.run import load_pretrained, make_task

    task = make_task(config.maze_config().base_config(Path(".")))
    source = resolve_policy(policy_dir)
    model, tokenizer = load_pretrained(source.model_dir, progress=False)
    per_call = max(1, 1024 // config.eval_n)
    return evaluate_policy(
        HFBackend(model, tokenizer, batch_size=per_call),
        task,
        tokenizer,
        task.eval_examples()[: config.eval_prompts],
        run=label,
        n=config.eval_n,
        max_new_tokens=task.max_new_tokens,
        seed=config.eval_seed,
        prompts_per_call=per_call,
        meta={"model_dir": str(source.model_dir), "step": source.step},
    )


def train_run(config: ScalingConfig, spec: RunSpec, work: Path, sft_dir: Path) -> dict[str, Any]:
    """Train one run from the SFT start (any unfinished earlier attempt is discarded) and evaluate it."""
    from maxrl_rs.config import apply_override, validate
    from maxrl_rs.run import train
    from maxrl_rs.trainer import StepBatch

    run_dir = work / spec.label
    if run_dir.exists():
        shutil.rmtree(run_dir)
    cfg = config.maze_config(n=spec.n, prompts=spec.prompts, steps=spec.steps).base_config(work)
    for item in (
        f"algo.estimator={spec.method}",
        f"seed={spec.seed}",
        f"model.path={sft_dir}",
        "sft.steps=0",
        f"checkpoint.every={spec.eval_every}",
        f"checkpoint.keep={max(1, spec.steps // spec.eval_every) if spec.eval_every else 1}",
        "threads=1",
    ):
        cfg = apply_override(cfg, item)
    cfg.out = str(run_dir)
    validate(cfg)
    steps: list[dict[str, float | None]] = []

    def record(batch: StepBatch) -> None:
        rewards = np.asarray(batch.rewards)
        row = update_weight_shares(rewards, batch.rollouts.group_ids, batch.advantages, batch.mask)
        row["reward"] = float(rewards[batch.mask].mean()) if batch.mask.any() else float("nan")
        steps.append({k: None if np.isnan(v) else round(v, 6) for k, v in row.items()})  # JSON has no NaN

    t0 = time.perf_counter()
    train(cfg, hooks=[record], progress=False)
    seconds = time.perf_counter() - t0
    from maxrl_rs import checkpoint as ckpt

    reports = {}
    for step, path in ckpt.step_dirs(run_dir):
        reports[str(step)] = evaluate(config, f"{spec.label}@{step}", path / ckpt.MODEL_DIR).to_dict()
    return {
        **asdict(spec),
        "label": spec.label,
        "rollouts": spec.rollouts,
        "train_seconds": seconds,
        "eval_seconds": time.perf_counter() - t0 - seconds,
        "steps_log": steps,
        "reports": reports,  # by checkpoint step; the last is the final policy
    }


def _save(path: Path, result: dict[str, Any]) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=1) + "\n")
    os.replace(tmp, path)  # never a half-written file


def run_experiment(config: ScalingConfig, work: Path, out: Path, *, progress: bool = True) -> dict[str, Any]:
    """SFT once, every run of ``config.runs()``, results saved to ``out/maze_scaling.json`` after each."""
    t0 = time.perf_counter()

    def say(msg: str) -> None:
        if progress:
            print(f"[{time.perf_counter() - t0:6.0f}s] {msg}", flush=True)

    work.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "maze_scaling.json"
    result: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}
    if result:
        saved = result.get("config", {})
        differ = [k for k in SHARED if saved.get(k) != json.loads(json.dumps(asdict(config)[k]))]
        if differ:
            raise ConfigError(
                f"{path} holds runs with other {', '.join(differ)}; pass another --out (or delete it) "
                "to start afresh"
            )
    # The run list may change between invocations (fewer seeds, another N): runs are kept by label.
    result["config"] = asdict(config)
    result.setdefault("runs", {})
    result["machine"] = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    say(
        f"SFT warm-start: {config.sft_steps} steps of {config.sft_batch_size} mazes "
        f"({config.size}×{config.size})"
    )
    ts = time.perf_counter()
    sft_dir, cached = warm_start(config.maze_config(), work)
    result.setdefault("seconds", {})["sft"] = (
        result.get("seconds", {}).get("sft") if cached else time.perf_counter() - ts
    )
    if "sft" not in result:
        result["sft"] = evaluate(config, "sft", sft_dir).to_dict()
        _save(path, result)
    sft = PassAtKReport.from_dict(result["sft"])
    say(f"  SFT start: pass@1 {sft.pass_at_k[0]:.3f}, pass@{sft.k_max} {sft.pass_at_k[-1]:.3f}")
    specs = config.runs()
    for i, spec in enumerate(specs, 1):
        if spec.label in result["runs"]:
            continue
        say(f"run {i}/{len(specs)}: {spec.label} ({spec.rollouts} rollouts)")
        r = train_run(config, spec, work, sft_dir)
        result["runs"][spec.label] = r
        _save(path, result)
        final = PassAtKReport.from_dict(r["reports"][max(r["reports"], key=int)])
        say(
            f"  pass@1 {final.pass_at_k[0]:.3f}, pass@{final.k_max} {final.pass_at_k[-1]:.3f} "
            f"(train {r['train_seconds']:.0f}s, eval {r['eval_seconds']:.0f}s)"
        )
    result["seconds"]["last_invocation"] = time.perf_counter() - t0
    _save(path, result)
    return result


def parser() -> argparse.ArgumentParser:
    """``python -m maxrl_rs.experiments.maze_scaling``'s options, defaults from :class:`ScalingConfig`."""
    d = ScalingConfig()

    def listed(values: tuple[Any, ...]) -> str:
        return ",".join(map(str, values))

    p = experiment_parser(__doc__, "maze_scaling.{md,png,json}", "runs/maze-scaling")
    p.add_argument("--size", type=int, default=d.size, help="maze grid side, odd (7: 4×4 cells)")
    p.add_argument(
        "--methods", default=listed(d.methods), help=f"estimators, comma-separated, of {', '.join(METHODS)}"
    )
    p.add_argument("--ns", default=listed(d.ns), help="rollouts per prompt N of the sweep, comma-separated")
    p.add_argument("--seeds", default=listed(d.seeds), help="seeds of every sweep and equal-budget cell")
    p.add_argument(
        "--extra-seeds", default=listed(d.extra_seeds), help="more seeds, run at --extra-seeds-n only"
    )
    p.add_argument("--extra-seeds-n", type=int, default=d.extra_seeds_n, help="the N of --extra-seeds")
    p.add_argument(
        "--budget-n",
        type=int,
        default=d.budget_n,
        help="equal-budget runs: BUDGET_N × prompts-per-step rollouts per step at every N (0: none)",
    )
    p.add_argument("--sft-steps", type=int, default=d.sft_steps, help="SFT steps of the shared start")
    p.add_argument("--rl-steps", type=int, default=d.rl_steps, help="RL steps of the sweep and budget runs")
    p.add_argument("--prompts-per-step", type=int, default=d.prompts_per_step, help="mazes per step (sweep)")
    p.add_argument("--lr", type=float, default=d.lr, help="RL learning rate (AdamW)")
    p.add_argument("--long-n", type=int, default=d.long_n, help="rollouts per prompt of the long runs")
    p.add_argument("--long-steps", type=int, default=d.long_steps, help="RL steps of the long runs")
    p.add_argument(
        "--long-eval-every", type=int, default=d.long_eval_every, help="evaluate the long runs every K steps"
    )
    p.add_argument("--long-methods", default=listed(d.long_methods), help="estimators of the long runs")
    p.add_argument("--eval-prompts", type=int, default=d.eval_prompts, help="held-out mazes")
    p.add_argument("--eval-n", type=int, default=d.eval_n, help="samples per held-out maze")
    p.add_argument(
        "--summarise-only", action="store_true", help="rewrite the outputs from OUT/maze_scaling.json"
    )
    return p


def main(argv: Sequence[str] | None = None) -> None:
    d = ScalingConfig()

    def ints(text: str) -> tuple[int, ...]:
        return tuple(int(x) for x in text.split(",") if x)

    a = parser().parse_args(argv)
    out = Path(a.out)
    command = "python -m maxrl_rs.experiments.maze_scaling " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    if not a.summarise_only:
        config = replace(
            d,
            size=a.size,
            methods=tuple(x for x in a.methods.split(",") if x),
            ns=ints(a.ns),
            seeds=ints(a.seeds),
            extra_seeds=ints(a.extra_seeds),
            extra_seeds_n=a.extra_seeds_n,
            budget_n=a.budget_n,
            sft_steps=a.sft_steps,
            rl_steps=a.rl_steps,
            prompts_per_step=a.prompts_per_step,
            lr=a.lr,
            long_n=a.long_n,
            long_steps=a.long_steps,
            long_eval_every=a.long_eval_every,
            long_methods=tuple(x for x in a.long_methods.split(",") if x),
            eval_prompts=a.eval_prompts,
            eval_n=a.eval_n,
        )
        _single_thread()  # process-wide, so set by the command, not by the library function
        result = run_experiment(config, Path(a.work), out)
        result.setdefault("command", command.strip())
        _save(out / "maze_scaling.json", result)
    from maxrl_rs.experiments.maze_scaling_report import write_outputs

    write_outputs(json.loads((out / "maze_scaling.json").read_text()), out)


if __name__ == "__main__":
    main()
