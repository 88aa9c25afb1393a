"""Helpers for tests that run ``maxrl train`` in subprocesses and compare what the runs wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

# A run that takes seconds on a CPU: a short SFT warm-start makes groups mixed, so a step moves the weights.
SMALL_RUN = [
    "--quiet",
    "--set", "task.maze.size=3",
    "--set", "model.hidden_size=32",
    "--set", "model.num_layers=2",
    "--set", "model.num_heads=4",
    "--set", "model.intermediate_size=64",
    "--set", "sft.steps=100",
    "--set", "sft.batch_size=32",
    "--set", "train.prompts_per_step=4",
    "--set", "train.micro_batch_size=3",  # several micro-batches, and ranks with different counts of them
    "--set", "train.lr=1e-3",
    "--set", "train.warmup_steps=0",
    "--set", "rollout.n=4",
    "--set", "task.eval_size=2",
    "--set", "eval.samples=1",
    "--set", "log.tensorboard=false",
]  # fmt: skip


def train_cli(nproc: int, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """``maxrl train ARGS`` on ``nproc`` ranks under torchrun (one rank: a plain process, which joins a world
    of one when ``distributed.strategy`` asks for a process group)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(var, None)
    cmd = [sys.executable]
    if nproc > 1:
        cmd += ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]
    proc = subprocess.run(
        [*cmd, "-m", "maxrl_rs", "train", *args], capture_output=True, text=True, env=env, timeout=timeout
    )
    assert proc.returncode == 0, f"training failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return proc


def weights(run: Path, step: int) -> dict[str, Any]:
    """The model weights a run saved in its step-``step`` checkpoint."""
    from safetensors.torch import load_file

    return load_file(run / "checkpoints" / f"step-{step}" / "model" / "model.safetensors")


def max_diff(a: dict[str, Any], b: dict[str, Any]) -> float:
    """Largest absolute difference between two state dicts over the tensors they share."""
    shared = sorted(set(a) & set(b))
    assert "model.embed_tokens.weight" in shared
    return max(float((a[k].float() - b[k].float()).abs().max()) for k in shared)


def step_rows(run: Path) -> dict[int, dict]:
    """The training rows of ``metrics.jsonl`` by step (each step logged once: only rank 0 logs)."""
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    train = [r for r in rows if "reward" in r]
    assert len(train) == len({r["step"] for r in train}), "a step was logged twice (only rank 0 logs)"
    return {r["step"]: r for r in train}
