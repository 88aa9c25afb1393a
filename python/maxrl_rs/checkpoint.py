"""Checkpoints of a training run: ``RUN_DIR/checkpoints/step-N/``.

Each holds::

    model/              save_pretrained: config.json, model.safetensors, tokenizer files
    trainer_state.pt    optimizer, LR scheduler, data-iterator state, step, RNG states (python, numpy,
                        torch, cuda), read back with torch.load(weights_only=True)
    config.json         the run's configuration

A checkpoint is written to a temporary directory and renamed into place, so ``step-N`` exists only once
it is complete: a run killed at any moment resumes from the last complete checkpoint. The last ``keep``
checkpoints are kept.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from maxrl_rs.errors import ConfigError

CHECKPOINTS = "checkpoints"
MODEL_DIR = "model"
STATE_FILE = "trainer_state.pt"
CONFIG_FILE = "config.json"
_STEP_DIR = re.compile(r"^step-(\d+)$")


def rng_state() -> dict[str, Any]:
    """Every RNG a training step may draw from, as plain Python values and tensors (weights_only-safe)."""
    import torch

    version, mt, gauss = random.getstate()
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()  # noqa: NPY002 - the legacy global RNG is saved as is
    state: dict[str, Any] = {
        "python": {"version": version, "state": list(mt), "gauss": gauss},
        "numpy": {
            "name": np_name,
            "keys": torch.from_numpy(np.asarray(np_keys, dtype=np.int64)),
            "pos": int(np_pos),
            "has_gauss": int(np_has_gauss),
            "gauss": float(np_gauss),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    import torch

    py = state["python"]
    random.setstate((py["version"], tuple(py["state"]), py["gauss"]))
    n = state["numpy"]
    keys = n["keys"].numpy().astype(np.uint32)
    np.random.set_state((n["name"], keys, n["pos"], n["has_gauss"], n["gauss"]))  # noqa: NPY002
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def step_dirs(run_dir: str | Path) -> list[tuple[int, Path]]:
    """Complete checkpoints of a run, oldest first."""
    root = Path(run_dir) / CHECKPOINTS
    if not root.is_dir():
        return []
    found = []
    for p in root.iterdir():
        m = _STEP_DIR.match(p.name)
        if m and p.is_dir() and (p / STATE_FILE).is_file():
            found.append((int(m.group(1)), p))
    return sorted(found)


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    dirs = step_dirs(run_dir)
    return dirs[-1][1] if dirs else None


def save_checkpoint(
    run_dir: str | Path,
    step: int,
    *,
    model: Any,
    tokenizer: Any,
    trainer_state: dict[str, Any],
    config: dict[str, Any],
    keep: int,
    model_state: dict[str, Any] | None = None,
) -> Path:
    """Write ``step-<step>`` atomically and delete all but the newest ``keep`` checkpoints.

    ``model_state``: complete weights to write instead of ``model``'s own (those of a sharded FSDP model,
    gathered by :func:`maxrl_rs.distributed.full_model_state_dict`).
    """
    import torch

    root = Path(run_dir) / CHECKPOINTS
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step-{step}"
    tmp = root / f".tmp-step-{step}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    extra = {} if model_state is None else {"state_dict": model_state}
    model.save_pretrained(tmp / MODEL_DIR, safe_serialization=True, **extra)
    tokenizer.save_pretrained(tmp / MODEL_DIR)
    torch.save({**trainer_state, "step": step, "rng": rng_state()}, tmp / STATE_FILE)
    (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2))
    _fsync_tree(tmp)
    if final.exists():  # re-saving a step (e.g. the end of a resumed run): swap the old one out first
        old = root / f".old-step-{step}-{os.getpid()}"
        final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(final)
    _fsync_dir(root)
    for _, old_dir in step_dirs(run_dir)[:-keep]:
        shutil.rmtree(old_dir, ignore_errors=True)
    return final


def load_trainer_state(checkpoint: str | Path) -> dict[str, Any]:
    """The trainer state of a checkpoint (tensors and plain values only: ``weights_only=True``)."""
    import torch

    path = Path(checkpoint) / STATE_FILE
    if not path.is_file():
        raise ConfigError(f"resume: {str(checkpoint)!r} is not a complete checkpoint (no {STATE_FILE})")
    return torch.load(path, map_location="cpu", weights_only=True)


def remove_stale_temporaries(run_dir: str | Path) -> None:
    """Delete half-written checkpoint directories left by a killed run."""
    root = Path(run_dir) / CHECKPOINTS
    if not root.is_dir():
        return
    for p in root.iterdir():
        if p.name.startswith(".old-step-"):
            # Killed between swapping a re-saved step out and the new one in: the old one is still good.
            final = root / ("step-" + p.name[len(".old-step-") :].rsplit("-", 1)[0])
            if not final.exists():
                p.rename(final)
                continue
        if p.name.startswith((".tmp-step-", ".old-step-")):
            shutil.rmtree(p, ignore_errors=True)


def _fsync_tree(root: Path) -> None:
    for dirpath, _, files in os.walk(root):
        for name in files:
            with open(os.path.join(dirpath, name), "rb") as f:
                os.fsync(f.fileno())
        _fsync_dir(Path(dirpath))


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
