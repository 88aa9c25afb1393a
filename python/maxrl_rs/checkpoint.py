"""Checkpoints of a training run: ``RUN_DIR/checkpoints/step-N/``.

Each holds::

    model/              save_pretrained: config.json, model.safetensors, tokenizer files
    trainer_state.pt    optimizer, LR scheduler, data-iterator state, step, RNG states (python, numpy,
                        torch, cuda), read back with torch.load(weights_only=True)
    config.json         the run's configuration

A checkpoint is written to a temporary directory and renamed into place, so ``step-N`` exists only once
it is complete: a run killed at any moment resumes from the last complete checkpoint. The last ``keep``
checkpoints are kept. A checkpoint damaged afterwards (a truncated ``trainer_state.pt``, a garbled
``model.safetensors``) is found by :func:`check_checkpoint` and set aside as ``step-N.corrupt`` by
:func:`usable_checkpoint`, which falls back to the one before.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from maxrl_rs.atomic import fsync_dir, reporting_full_disk
from maxrl_rs.errors import FileError

log = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
MODEL_DIR = "model"
STATE_FILE = "trainer_state.pt"
CONFIG_FILE = "config.json"
STEP_DIR = re.compile(r"^step-(\d+)$")


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


def read_run_config(run_dir: str | Path) -> dict[str, Any]:
    """The saved configuration ``run_dir/config.json`` of a training run, as a plain dict.

    Raises:
        FileError: the file is missing, unreadable, not JSON, or not a run's configuration (a JSON object
            with ``task`` and ``rollout`` sections); the message names the file.
    """
    path = Path(run_dir) / CONFIG_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise FileError(f"{str(path)!r} cannot be read ({e.strerror or e})") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise FileError(f"{str(path)!r} is not a readable config ({e})") from None
    if not isinstance(data, dict):
        raise FileError(f"{str(path)!r} is not a config (its top level is not an object)")
    if "task" not in data or "rollout" not in data:
        raise FileError(f"{str(path)!r} is not a training run's config (no task and rollout sections)")
    return data


def step_dirs(run_dir: str | Path) -> list[tuple[int, Path]]:
    """Complete checkpoints of a run, oldest first."""
    root = Path(run_dir) / CHECKPOINTS
    if not root.is_dir():
        return []
    found = []
    for p in root.iterdir():
        m = STEP_DIR.match(p.name)
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
    final = root / f"step-{step}"
    tmp = root / f".tmp-step-{step}-{os.getpid()}"
    try:
        with reporting_full_disk(final):
            root.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir()
            extra = {} if model_state is None else {"state_dict": model_state}
            model.save_pretrained(tmp / MODEL_DIR, safe_serialization=True, **extra)
            tokenizer.save_pretrained(tmp / MODEL_DIR)
            torch.save({**trainer_state, "step": step, "rng": rng_state()}, tmp / STATE_FILE)
            (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2))
            _fsync_tree(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # a half-written checkpoint frees its space at once
        raise
    if final.exists():  # re-saving a step (e.g. the end of a resumed run): swap the old one out first
        old = root / f".old-step-{step}-{os.getpid()}"
        final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(final)
    fsync_dir(root)
    for _, old_dir in step_dirs(run_dir)[:-keep]:
        shutil.rmtree(old_dir, ignore_errors=True)
    return final


def load_trainer_state(checkpoint: str | Path) -> dict[str, Any]:
    """The trainer state of a checkpoint (tensors and plain values only: ``weights_only=True``).

    Raises:
        FileError: naming ``trainer_state.pt`` when it is missing, empty, truncated or not a torch file.
    """
    import torch

    path = Path(checkpoint) / STATE_FILE
    if not path.is_file():
        raise FileError(f"{str(checkpoint)!r} is not a complete checkpoint (no {STATE_FILE})")
    if path.stat().st_size == 0:
        raise FileError(f"{str(path)!r} is empty (0 bytes); the checkpoint is damaged")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated zip, garbage, a pickle weights_only refuses: all say "unreadable"
        raise FileError(f"{str(path)!r} cannot be read ({type(e).__name__}: {_first_line(e)})") from None
    if not isinstance(state, dict) or "step" not in state:
        raise FileError(f"{str(path)!r} is not a trainer state (no 'step')")
    return state


def check_model_weights(model_dir: str | Path) -> None:
    """Parse the header of every ``*.safetensors`` file in ``model_dir`` (cheap: nothing is read into memory).

    Raises:
        FileError: naming the file when there is none or one is truncated or garbled.
    """
    from safetensors import safe_open

    files = sorted(Path(model_dir).glob("*.safetensors"))
    if not files:
        raise FileError(f"{str(model_dir)!r} holds no model weights (*.safetensors)")
    for f in files:
        try:
            with safe_open(str(f), framework="pt") as handle:
                handle.keys()
        except Exception as e:
            raise FileError(f"{str(f)!r} is damaged ({type(e).__name__}: {_first_line(e)})") from None


def check_checkpoint(checkpoint: str | Path) -> dict[str, Any]:
    """The trainer state of ``checkpoint`` once its state and weights are found readable.

    Raises:
        FileError: naming the damaged file and the cause.
    """
    state = load_trainer_state(checkpoint)
    check_model_weights(Path(checkpoint) / MODEL_DIR)
    return state


def usable_checkpoint(run_dir: str | Path) -> tuple[Path, dict[str, Any]] | None:
    """The newest readable checkpoint of ``run_dir`` and its trainer state; None when there is none.

    A damaged newer checkpoint is renamed ``step-N.corrupt`` (kept for inspection, never resumed from) with
    a warning naming the file and the cause. Raises :class:`FileError` when every checkpoint is damaged.
    """
    dirs = step_dirs(run_dir)
    problems = []
    for _, path in reversed(dirs):
        try:
            return path, check_checkpoint(path)
        except FileError as e:
            aside = path.with_name(path.name + ".corrupt")
            shutil.rmtree(aside, ignore_errors=True)
            path.rename(aside)
            problems.append(str(e))
            log.warning(
                "checkpoint %s is damaged: %s; set aside as %s, trying the one before", path, e, aside.name
            )
    if problems:
        raise FileError(f"no readable checkpoint in {str(run_dir)!r}: " + "; ".join(problems))
    return None


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else "no details"


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
        fsync_dir(dirpath)
