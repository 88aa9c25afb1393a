"""``maxrl train``: RL training from a config file plus overrides, resumable, with a summary at the end."""

from __future__ import annotations

import click

from maxrl_rs.errors import ConfigError


def _format_seconds(s: float) -> str:
    m, sec = divmod(round(s), 60)
    return f"{m}m {sec:02d}s" if m else f"{s:.1f}s"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


@click.command("train")
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False),
    help="TOML or JSON config file; its sections and keys are those of maxrl_rs.config.Config.",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override one config key, e.g. --set algo.estimator=grpo --set task.maze.size=9 (repeatable; "
    "'none' unsets an optional key).",
)
@click.option("--steps", type=int, help="Number of RL steps (train.steps).")
@click.option(
    "--out", type=click.Path(file_okay=False), help="Run directory (default runs/<task>-<date-time>)."
)
@click.option(
    "--resume",
    type=click.Path(exists=True, file_okay=False),
    help="Continue the run in this directory from its last checkpoint, with its saved config "
    "(--config, --set and --steps still apply on top, e.g. to train longer).",
)
@click.option("--seed", type=int, help="Seed of model init, data and sampling (seed).")
@click.option("--quiet", is_flag=True, help="No progress bars (log.progress=false).")
def train(
    config_file: str | None,
    overrides: tuple[str, ...],
    steps: int | None,
    out: str | None,
    resume: str | None,
    seed: int | None,
    quiet: bool,
) -> None:
    """Train a policy with MaxRL (or GRPO, RLOO, Dr.GRPO, REINFORCE) on a pass/fail task.

    With no arguments: the maze task with a tiny model on CPU, SFT warm-start then RL, and a table of the
    held-out pass@1 before and after RL. Metrics go to RUN_DIR/metrics.jsonl, checkpoints to
    RUN_DIR/checkpoints/step-N.
    """
    from transformers.utils import logging as hf_logging

    from maxrl_rs.config import Config, apply_override, merge, read_file, validate
    from maxrl_rs.run import resume_config
    from maxrl_rs.run import train as run_train

    hf_logging.disable_progress_bar()  # save_pretrained's per-shard bars would interleave with ours

    try:
        items = list(overrides)
        if steps is not None:
            items.append(f"train.steps={steps}")
        if seed is not None:
            items.append(f"seed={seed}")
        if quiet:
            items.append("log.progress=false")
        if resume is not None:
            if out is not None:
                raise ConfigError("--out: a resumed run stays in its directory; drop --out or --resume")
            cfg = resume_config(resume)
        else:
            cfg = Config()
            if out is not None:
                items.append(f"out={out}")
        if config_file is not None:
            cfg = merge(cfg, read_file(config_file))
        for item in items:
            cfg = apply_override(cfg, item)
        validate(cfg)
        summary = run_train(cfg, resume=resume)
    except ConfigError as e:
        raise click.UsageError(str(e)) from None
    if summary.rank != 0:  # under torchrun, rank 0 alone prints the summary
        return

    held_out = f"held-out pass@1 ({cfg.task.name}, {cfg.task.eval_size} prompts × {cfg.eval.samples} samples)"
    start_label = "SFT start (step 0)" if summary.sft is not None else "start (step 0)"
    rows = [
        (start_label, _pct(summary.start_pass_at_1)),
        (f"final (step {summary.last_step})", _pct(summary.final_pass_at_1)),
        ("wall time", _format_seconds(summary.wall_seconds)),
        ("parameters", f"{summary.parameters:,}"),
        ("run dir", str(summary.run_dir)),
    ]
    width = max(len(k) for k, _ in rows)
    click.echo("")
    click.echo(held_out)
    click.echo("-" * max(len(held_out), width + 2 + max(len(v) for _, v in rows)))
    for k, v in rows:
        click.echo(f"{k:<{width}}  {v}")
