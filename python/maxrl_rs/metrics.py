"""Per-step metrics: one JSON object per line in ``RUN_DIR/metrics.jsonl``, TensorBoard and other sinks.

Every row has ``step``; training rows carry the step's loss, reward and timing metrics, evaluation rows
``eval/...`` keys. Rows are flushed as they are written, so a killed run loses none; on resume the rows of
steps after the checkpoint are dropped, since those steps are trained again.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from maxrl_rs.atomic import reporting_full_disk, write_text

METRICS_FILE = "metrics.jsonl"


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a metrics file (a run directory or the file itself); a torn last line is skipped."""
    p = Path(path)
    if p.is_dir():
        p = p / METRICS_FILE
    if not p.is_file():
        return []
    rows = []
    for line in p.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def truncate_after(path: str | Path, step: int) -> None:
    """Keep only the rows with ``row["step"] <= step`` (atomically)."""
    p = Path(path)
    if not p.is_file():
        return
    kept = [r for r in read_metrics(p) if r.get("step", 0) <= step]
    write_text(p, "".join(json.dumps(r) + "\n" for r in kept))


class MetricsLogger:
    """Appends metric rows; ``resume_step`` drops rows of later steps first (they will be logged again).

    Args:
        run_dir: the run directory.
        tensorboard: also write TensorBoard scalars to ``RUN_DIR/tensorboard`` (ImportError with an install
            hint when the tensorboard package is missing).
        resume_step: the step training resumes after, or None for a new run.
        enabled: False on non-zero ranks, which log nothing.
        sinks: more destinations, each called with ``(step, row)``
            (W&B: :func:`maxrl_rs.tracking.start_wandb`).
    """

    def __init__(
        self,
        run_dir: str | Path,
        *,
        tensorboard: bool = True,
        resume_step: int | None = None,
        enabled: bool = True,
        sinks: Sequence[Callable[[int, dict[str, Any]], None]] = (),
    ) -> None:
        self.path = Path(run_dir) / METRICS_FILE
        self.enabled = enabled
        self._tb = None
        self.sinks = list(sinks)
        if not enabled:
            return
        if resume_step is not None:
            truncate_after(self.path, resume_step)
        self._file = self.path.open("a", encoding="utf-8")
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                raise ImportError(
                    "log.tensorboard=true needs the tensorboard package: pip install 'maxrl-rs[train]' "
                    "(or tensorboard), or set log.tensorboard=false"
                ) from None
            purge = None if resume_step is None else resume_step + 1
            self._tb = SummaryWriter(str(Path(run_dir) / "tensorboard"), purge_step=purge)

    def log(self, step: int, metrics: dict[str, Any]) -> None:
        if not self.enabled:
            return
        row = {"step": int(step), **{k: _plain(v) for k, v in metrics.items()}}
        with reporting_full_disk(self.path):
            self._file.write(json.dumps(row) + "\n")
            self._file.flush()
        if self._tb is not None:
            for k, v in row.items():
                if k != "step" and isinstance(v, (int, float)) and math.isfinite(v):
                    self._tb.add_scalar(k, v, step)
            self._tb.flush()
        for sink in self.sinks:
            sink(int(step), row)

    def close(self) -> None:
        if not self.enabled:
            return
        self._file.close()
        if self._tb is not None:
            self._tb.close()
        for sink in self.sinks:
            getattr(sink, "finish", lambda: None)()


def _plain(v: Any) -> Any:
    """JSON-ready value: NumPy/torch scalars to Python numbers, NaN/inf to None."""
    if hasattr(v, "item") and callable(v.item):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v
