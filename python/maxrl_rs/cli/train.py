"""``maxrl train``: RL training from a config file plus overrides, resumable, with a summary at the end."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from maxrl_rs.cli.overrides import SetCommand, set_option
from maxrl_rs.errors import ConfigError, FileError

if TYPE_CHECKING:
    from maxrl_rs.config import Config
    from maxrl_rs.run import RunSummary


def _format_seconds(s: float) -> str:
    m, sec = divmod(round(s), 60)
    return f"{m}m {sec:02d}s" if m else f"{s:.1f}s"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


@click.command("train", cls=SetCommand)
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False),
    help="TOML or JSON config file; its sections and keys are those of maxrl_rs.config.Config.",
)
@set_option(
    "Override one config key, e.g. --set algo.estimator=grpo --set task.maze.size=9 (repeatable; "
    "'none' unsets an optional key)."
)
@click.option("--steps", type=int, help="Number of RL steps (train.steps).")
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Run directory (default runs/<task>-<date-time>). A resumed run stays in its own directory.",
)
@click.option(
    "--resume",
    type=click.Path(file_okay=False),
    help="Continue a run: its directory RUN or RUN/checkpoints (from the newest readable checkpoint) or one "
    "of its checkpoints, RUN/checkpoints/step-N, with its saved config; --config, --set and --steps apply on "
    "top for the keys a resume may change (e.g. train.steps to train longer). A model directory is not a "
    "run: start a new run from it with --set model.path=DIR.",
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace an existing run in --out (its config, metrics and checkpoints); with --resume "
    "RUN/checkpoints/step-N, delete the run's later checkpoints.",
)
@click.option("--seed", type=int, help="Seed of model init, data and sampling (seed).")
@click.option(
    "--quiet",
    is_flag=True,
    help="No progress bars, transformers' loading bars included (log.progress=false).",
)
def train(
    config_file: str | None,
    overrides: tuple[str, ...],
    steps: int | None,
    out: str | None,
    resume: str | None,
    overwrite: bool,
    seed: int | None,
    quiet: bool,
) -> None:
    """Train a policy with MaxRL (or GRPO, RLOO, Dr.GRPO, REINFORCE) on a pass/fail task.

    With no arguments: the maze task with a tiny model on CPU, SFT warm-start then RL, and a table of the
    held-out pass@1 before and after RL. Metrics go to RUN_DIR/metrics.jsonl, checkpoints to
    RUN_DIR/checkpoints/step-N. Paths in --config are relative to that file, on the command line relative
    to the current directory; the run saves them absolute. Ctrl-C prints the command that resumes the run.
    """
    from maxrl_rs.atomic import NoSpaceError
    from maxrl_rs.config import Config, apply_override, merge, read_file, validate
    from maxrl_rs.progress_bars import quiet_library_bars
    from maxrl_rs.rewards import RewardFunctionError
    from maxrl_rs.run import new_run_dir, resume_config
    from maxrl_rs.run import train as run_train

    cfg: Config | None = None
    try:
        items = list(overrides)
        if steps is not None:
            items.append(f"train.steps={steps}")
        if seed is not None:
            items.append(f"seed={seed}")
        if quiet:
            items.append("log.progress=false")
        if out is not None:  # with --resume, refused unless it is the run's own directory (says why)
            items.append(f"out={out}")
        cfg = resume_config(resume) if resume is not None else Config()
        if config_file is not None:
            cfg = merge(cfg, read_file(config_file))
        config_dir = Path(config_file).absolute().parent if config_file is not None else None
        for item in items:
            cfg = apply_override(cfg, item, config_dir=config_dir)
        validate(cfg)
        if resume is None:  # fixed here, so that an interrupted run can say where it is
            cfg.out = str(new_run_dir(cfg))
        with quiet_library_bars():  # transformers' per-shard bars would interleave with the run's own
            summary = run_train(cfg, resume=resume, overwrite=overwrite)
    except ConfigError as e:
        raise click.UsageError(str(e)) from None
    except (FileError, NoSpaceError) as e:
        raise click.ClickException(str(e)) from None
    except RewardFunctionError as e:
        run_dir = Path(cfg.out) if cfg is not None and cfg.out else None
        raise click.ClickException(str(e) + _fixed_reward_resumes(run_dir)) from None
    except KeyboardInterrupt:
        if os.environ.get("RANK", "0") == "0":
            click.echo(_interrupted(Path(cfg.out) if cfg is not None and cfg.out else None), err=True)
        sys.exit(130)
    assert cfg is not None
    if summary.rank != 0:  # under torchrun, rank 0 alone prints the summary
        return
    if resume is not None and summary.first_step == summary.last_step:
        return  # nothing trained: the run said so (it is already at train.steps)

    held_out = f"held-out pass@1 ({cfg.task.name}, {cfg.task.eval_size} prompts × {cfg.eval.samples} samples)"
    start_label = "SFT start (step 0)" if summary.sft is not None else "start (step 0)"
    rows = [
        (start_label, _pct(summary.start_pass_at_1)),
        (f"final (step {summary.last_step})", _pct(summary.final_pass_at_1)),
        ("wall time", _format_seconds(summary.wall_seconds)),
        ("parameters", _parameters(summary.trainable_parameters, summary.parameters)),
        ("run dir", _shown(summary.run_dir)),
        ("final model", _shown(final_model(summary, cfg))),
    ]
    width = max(len(k) for k, _ in rows)
    click.echo("")
    click.echo(held_out)
    click.echo("-" * max(len(held_out), width + 2 + max(len(v) for _, v in rows)))
    for k, v in rows:
        click.echo(f"{k:<{width}}  {v}")
    click.echo(next_step(summary, cfg))


def final_model(summary: RunSummary, cfg: Config) -> Path:
    """The trained policy as a plain model directory: the last checkpoint's ``model/``, or with LoRA (whose
    checkpoints hold the adapter) the merged model."""
    from maxrl_rs import checkpoint as ckpt
    from maxrl_rs import lora

    if lora.enabled(cfg.model.lora):
        return summary.run_dir / lora.MERGED_DIR
    return summary.run_dir / ckpt.CHECKPOINTS / f"step-{summary.last_step}" / ckpt.MODEL_DIR


def start_policy(summary: RunSummary, cfg: Config) -> str | None:
    """The policy RL started from, as ``maxrl eval`` takes it: the SFT warm-start ``RUN/sft``, else
    ``model.path``; None when it was a randomly initialised built-in model (not saved)."""
    from maxrl_rs.run import SFT_DIR

    if summary.sft is not None:
        return str(summary.run_dir / SFT_DIR)
    return cfg.model.path or None


def next_step(summary: RunSummary, cfg: Config) -> str:
    """The ``maxrl eval`` command comparing pass@k of the start and of the trained policy."""
    start = start_policy(summary, cfg)
    policies = [_shown(start)] if start else []
    what = "pass@k of the start and the trained policy" if start else "pass@k of the trained policy"
    return f"next: {what}\n  maxrl eval {' '.join([*policies, _shown(summary.run_dir)])} --n 64"


def _shown(path: str | Path) -> str:
    """``path`` as a user types it: relative to the current directory when inside it, shell-quoted."""
    p = Path(path)
    try:
        p = p.absolute().relative_to(Path.cwd())
    except ValueError:
        pass
    return shlex.quote(str(p))


def _parameters(trainable: int, total: int) -> str:
    """All parameters, or with a LoRA adapter how many of them trained."""
    if trainable == total:
        return f"{total:,}"
    return f"{trainable:,} trainable / {total:,} ({100 * trainable / total:.2f}%)"


def _fixed_reward_resumes(run_dir: Path | None) -> str:
    """After a reward function failed mid-run: the checkpoint kept, and how to continue once it is fixed (a
    run that failed before its first checkpoint left nothing: the same command starts it again)."""
    from maxrl_rs import checkpoint as ckpt

    latest = ckpt.latest_checkpoint(run_dir) if run_dir is not None and run_dir.is_dir() else None
    if latest is None:
        return ""
    return (
        f"\nThe run keeps its checkpoints up to {latest.name}: fix the function in place (same file and "
        f"name) and continue with\n  maxrl train --resume {shlex.quote(str(run_dir))}"
    )


def _interrupted(run_dir: Path | None) -> str:
    """What Ctrl-C left: the checkpoint a resume would start from, and the command to resume."""
    from maxrl_rs import checkpoint as ckpt

    if run_dir is None or not (run_dir / ckpt.CONFIG_FILE).is_file():
        return "Interrupted before the run started; nothing to resume."
    latest = ckpt.latest_checkpoint(run_dir)
    where = f"from checkpoint {latest}" if latest else "from step 0 (no checkpoint was saved yet)"
    return f"Interrupted. A resume starts {where}:\n  maxrl train --resume {shlex.quote(str(run_dir))}"
