"""Where a run's metrics and sampled responses go: TensorBoard, Weights & Biases, ``samples.jsonl``.

``metrics.jsonl`` is always written (:mod:`maxrl_rs.metrics`). On top of it:

- ``log.tensorboard = true`` (default): scalars under ``RUN_DIR/tensorboard``. The ``tensorboard`` package is
  part of the ``[train]`` extra; when it is missing the run stops before training with an install hint
  rather than logging nothing.
- ``log.wandb = true``: the same rows to a W&B run (``pip install 'maxrl-rs[wandb]'``), project
  ``log.wandb_project``, files under ``RUN_DIR/wandb``; ``WANDB_MODE=offline`` works without an account. A
  resumed run continues the same W&B run (its id is kept in ``RUN_DIR/wandb_id``).
- ``log.samples = K``: every step appends K of its rollouts to ``RUN_DIR/samples.jsonl``, one JSON object
  per line: ``step``, ``id`` (the example), ``prompt``, ``reference``, ``response``, ``extracted`` (the
  answer the verifier read, null when none or when a Python reward function scored it), ``reward``,
  ``status`` (a ``maxrl_rs.STATUS_NAMES`` name), ``masked`` and ``advantage``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from maxrl_rs.errors import ConfigError
from maxrl_rs.metrics import truncate_after

SAMPLES_FILE = "samples.jsonl"
WANDB_ID_FILE = "wandb_id"

Sink = Callable[[int, dict[str, Any]], None]


def check_available(log: Any) -> None:
    """Fail before any training when a logger that ``log`` (a ``LogConfig``) asks for is not installed."""
    if log.tensorboard:
        try:
            import tensorboard  # noqa: F401
        except ImportError:
            raise ConfigError(
                "log.tensorboard: the tensorboard package is not installed; "
                "pip install 'maxrl-rs[train]' (or tensorboard), or set log.tensorboard=false"
            ) from None
    if log.wandb:
        try:
            import wandb  # noqa: F401
        except ImportError:
            raise ConfigError(
                "log.wandb: the wandb package is not installed; "
                "pip install 'maxrl-rs[wandb]' (or wandb), or set log.wandb=false"
            ) from None


def destinations(log: Any, run_dir: Path) -> str:
    """One line saying where this run's metrics (and samples) go."""
    where = [f"{run_dir / 'metrics.jsonl'}"]
    if log.tensorboard:
        where.append(f"TensorBoard {run_dir / 'tensorboard'} (tensorboard --logdir {run_dir})")
    if log.wandb:
        import os

        mode = os.environ.get("WANDB_MODE", "online")
        where.append(f"W&B project {log.wandb_project!r} ({mode}, files in {run_dir / 'wandb'})")
    text = "metrics: " + ", ".join(where)
    if log.samples:
        text += f"; {log.samples} sampled responses per step: {run_dir / SAMPLES_FILE}"
    return text


def start_wandb(log: Any, run_dir: Path, config: dict[str, Any], *, resumed: bool) -> Sink:
    """Start (or, for a resumed run, continue) a W&B run; returns a sink ``(step, row) -> None``."""
    import wandb

    id_file = run_dir / WANDB_ID_FILE
    run_id = id_file.read_text().strip() if resumed and id_file.is_file() else secrets.token_hex(4)
    id_file.write_text(run_id)
    (run_dir / "wandb").mkdir(exist_ok=True)
    run = wandb.init(
        project=log.wandb_project,
        name=run_dir.name,
        id=run_id,
        resume="allow",
        dir=str(run_dir),
        config=config,
    )

    def sink(step: int, row: dict[str, Any]) -> None:
        # Steps redone after a resume are sent again; W&B keeps the first value of a step it already has.
        run.log({k: v for k, v in row.items() if k != "step"}, step=step)

    sink.finish = run.finish  # type: ignore[attr-defined]
    return sink


def sample_rows(batch: Any, k: int) -> list[dict[str, Any]]:
    """``k`` rollouts of a trainer ``StepBatch``, spread evenly over its groups, as ``samples.jsonl`` rows."""
    import maxrl_rs

    total = len(batch.rewards)
    picks = sorted({int(i) for i in np.linspace(0, total - 1, num=min(k, total))}) if total else []
    per_prompt = total // max(len(batch.examples), 1)  # rollouts are prompt-major, n per prompt
    chosen = [(i, batch.examples[i // per_prompt]) for i in picks]
    extracted: dict[int, str | None] = {}
    by_verifier: dict[str, list[tuple[int, Any]]] = {}
    for i, ex in chosen:
        by_verifier.setdefault(ex.verifier, []).append((i, ex))
    for verifier, items in by_verifier.items():
        if verifier == "python":  # scored by a reward function: no extracted answer
            continue
        grades = maxrl_rs.grade(
            [batch.rollouts.texts[i] for i, _ in items], [ex.reference for _, ex in items], verifier=verifier
        )
        extracted.update({i: e for (i, _), e in zip(items, grades.extracted)})
    return [
        {
            "step": int(batch.step),
            "id": ex.id,
            "prompt": ex.prompt,
            "reference": ex.reference,
            "response": batch.rollouts.texts[i],
            "extracted": extracted.get(i),
            "reward": float(batch.rewards[i]),
            "status": maxrl_rs.STATUS_NAMES[int(batch.status[i])],
            "masked": not bool(batch.mask[i]),
            "advantage": float(batch.advantages[i]),
        }
        for i, ex in chosen
    ]


class SampleWriter:
    """A trainer hook appending ``k`` rollouts of every step to ``RUN_DIR/samples.jsonl``.

    ``resume_step``: drop rows of later steps first (they are sampled again); ``enabled``: False on ranks
    other than 0, which write nothing.
    """

    def __init__(self, run_dir: Path, k: int, *, resume_step: int | None, enabled: bool = True) -> None:
        self.path = Path(run_dir) / SAMPLES_FILE
        self.k = k
        self.enabled = enabled and k > 0
        self._file = None
        if self.enabled:
            if resume_step is not None:
                truncate_after(self.path, resume_step)
            self._file = self.path.open("a", encoding="utf-8")

    def __call__(self, batch: Any) -> None:
        if self._file is None:
            return
        for row in sample_rows(batch, self.k):
            self._file.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
