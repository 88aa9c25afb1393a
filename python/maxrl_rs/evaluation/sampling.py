"""Sampling a trained policy on held-out prompts and counting correct responses per prompt.

``maxrl eval`` samples n responses for each held-out prompt with the trainer's rollout backend, grades them
with the task's verifier (``maxrl_rs.grade``), and turns the per-prompt counts into a
:class:`~maxrl_rs.evaluation.report.PassAtKReport`. Responses whose grading hit a limit or an error
(SPEC §6) are not counted as failures: they are left out of that prompt's n.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from maxrl_rs import checkpoint as ckpt
from maxrl_rs.errors import ConfigError
from maxrl_rs.evaluation.report import PassAtKReport, passk_report
from maxrl_rs.gguf_models import gguf_model_dir, is_gguf
from maxrl_rs.rollout.base import RolloutBackend, SamplingParams
from maxrl_rs.tasks.base import Example, Task


@dataclass(frozen=True)
class PolicySource:
    """Where a policy's weights are (``model_dir``) and, when it came from a training run, the run."""

    model_dir: Path
    run_dir: Path | None
    step: int | None


def _is_run_config(path: Path) -> bool:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "task" in data and "rollout" in data


def resolve_policy(path: str | Path) -> PolicySource:
    """A run directory (its latest checkpoint), a checkpoint ``step-N`` directory, a model directory, or a
    ``.gguf`` file (its converted model directory, see :mod:`maxrl_rs.gguf_models`)."""
    p = Path(path)
    if p.is_file() and is_gguf(p):
        return PolicySource(gguf_model_dir(p), None, None)
    if not p.is_dir():
        raise ConfigError(f"{str(path)!r} is not a directory (expected a run, checkpoint or model directory)")
    if (p / ckpt.CHECKPOINTS).is_dir() or _is_run_config(p / ckpt.CONFIG_FILE):
        dirs = ckpt.step_dirs(p)
        if not dirs:
            raise ConfigError(f"{str(path)!r} is a run directory without a complete checkpoint")
        step, latest = dirs[-1]
        return PolicySource(latest / ckpt.MODEL_DIR, p, step)
    if (p / ckpt.MODEL_DIR).is_dir() and (p / ckpt.STATE_FILE).is_file():
        step = int(p.name.split("-", 1)[1]) if p.name.startswith("step-") else None
        return PolicySource(p / ckpt.MODEL_DIR, p.parent.parent, step)
    if (p / "config.json").is_file():
        return PolicySource(p, None, None)
    raise ConfigError(
        f"{str(path)!r} is neither a run directory (checkpoints/), a checkpoint (model/ and "
        f"{ckpt.STATE_FILE}) nor a model directory (config.json)"
    )


@dataclass(frozen=True)
class SampledCounts:
    """Per-prompt counts of graded (``n``) and correct (``c``) responses, and what was left out."""

    n: np.ndarray  # responses with a verdict, per prompt
    c: np.ndarray  # correct responses, per prompt
    unscored: int  # responses whose grading hit a limit or an error (left out of n)
    truncated: int  # responses cut at max_new_tokens (graded as they are; usually incorrect)
    mean_response_tokens: float
    seconds: float


def sample_counts(
    backend: RolloutBackend,
    task: Task,
    tokenizer: Any,
    examples: Sequence[Example],
    *,
    n: int,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_p: float = 1.0,
    top_k: int = 0,
    seed: int = 0,
    prompts_per_call: int = 8,
    progress: bool = False,
) -> SampledCounts:
    """Sample ``n`` responses per example and count the correct ones.

    Prompts go to the backend ``prompts_per_call`` at a time (n sequences each), which bounds memory. Sampling
    runs under a forked torch RNG seeded with ``seed``: the caller's random stream is untouched and the same
    policy always gets the same counts.
    """
    import torch
    from tqdm.auto import tqdm

    if n < 1:
        raise ConfigError(f"n must be >= 1, got {n}")
    if not examples:
        raise ConfigError("no held-out prompts to evaluate")
    sampling = SamplingParams(
        n=n, temperature=temperature, top_p=top_p, top_k=top_k, max_new_tokens=max_new_tokens
    )
    step = max(1, int(prompts_per_call))
    graded_n = np.zeros(len(examples), dtype=np.int64)
    correct = np.zeros(len(examples), dtype=np.int64)
    unscored = truncated = 0
    tokens: list[float] = []
    t0 = time.perf_counter()
    cuda = torch.cuda.is_available()
    backend.set_seed_key(seed, 0)  # backends that seed each prompt themselves (vLLM) follow `seed` too
    with torch.random.fork_rng(devices=list(range(torch.cuda.device_count())) if cuda else []):
        torch.manual_seed(seed)
        bar = tqdm(total=len(examples), desc="eval", unit="prompt", disable=not progress, dynamic_ncols=True)
        for start in range(0, len(examples), step):
            chunk = list(examples[start : start + step])
            ids = list(range(start, start + len(chunk)))
            rollouts = backend.generate([task.prompt_ids(ex, tokenizer) for ex in chunk], ids, sampling)
            graded = task.grade(rollouts.texts, [examples[i] for i in rollouts.group_ids])
            ok = graded.mask
            graded_n += np.bincount(rollouts.group_ids, weights=ok, minlength=len(examples)).astype(np.int64)
            hit = ok & (graded.rewards > 0.5)
            correct += np.bincount(rollouts.group_ids, weights=hit, minlength=len(examples)).astype(np.int64)
            unscored += int(np.count_nonzero(~ok))
            truncated += int(np.count_nonzero(~np.asarray(rollouts.finished)))
            tokens.extend(np.asarray(rollouts.response_lengths, dtype=np.float64).tolist())
            bar.update(len(chunk))
        bar.close()
    return SampledCounts(
        n=graded_n,
        c=correct,
        unscored=unscored,
        truncated=truncated,
        mean_response_tokens=float(np.mean(tokens)) if tokens else 0.0,
        seconds=time.perf_counter() - t0,
    )


def evaluate_policy(
    backend: RolloutBackend,
    task: Task,
    tokenizer: Any,
    examples: Sequence[Example],
    *,
    run: str,
    n: int,
    ks: Sequence[int] | str | None = None,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_p: float = 1.0,
    top_k: int = 0,
    seed: int = 0,
    prompts_per_call: int = 8,
    progress: bool = False,
    meta: dict[str, Any] | None = None,
) -> PassAtKReport:
    """Sample, grade and report: pass@k and J^(T) for ``ks`` (default powers of two up to n, and n).

    Prompts all of whose responses were unscored (limit/error) are dropped from the report and counted in
    ``meta["dropped_prompts"]``.
    """
    counts = sample_counts(
        backend,
        task,
        tokenizer,
        examples,
        n=n,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_p=top_p,
        top_k=top_k,
        seed=seed,
        prompts_per_call=prompts_per_call,
        progress=progress,
    )
    keep = counts.n > 0
    if not keep.any():
        raise ConfigError(f"{run}: no response of any prompt could be graded (all hit limits or errors)")
    info = {
        "samples_per_prompt": n,
        "temperature": temperature,
        "top_p": top_p,
        "top_k": top_k,
        "max_new_tokens": max_new_tokens,
        "seed": seed,
        "unscored_responses": counts.unscored,
        "truncated_responses": counts.truncated,
        "dropped_prompts": int(np.count_nonzero(~keep)),
        "mean_response_tokens": counts.mean_response_tokens,
        "sampling_seconds": counts.seconds,
        **(meta or {}),
    }
    return passk_report(
        counts.n[keep],
        counts.c[keep],
        run=run,
        task=task.name,
        ks=ks,
        prompt_ids=[ex.id for ex, k in zip(examples, keep, strict=True) if k],
        meta=info,
    )
