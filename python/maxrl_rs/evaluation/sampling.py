"""Sampling a trained policy on held-out prompts and counting correct responses per prompt.

``maxrl eval`` and the held-out evaluation of ``maxrl train`` (:mod:`maxrl_rs.heldout`) both go through
:func:`sample_counts`: n responses for each held-out prompt from the rollout backend, graded with the task's
verifier (``maxrl_rs.grade``), counted per prompt, then averaged by :func:`maxrl_rs.pass_at_k_curve`. One
rule for each choice, so the same policy, seed and samples get the same numbers from both:

- a response is correct when its grading status is ``correct``;
- a response without a verdict (status in ``maxrl_rs.grading.NO_VERDICT``: a limit, an error, an unreadable
  reference) is left out of its prompt's n, not counted as a failure (docs/estimators.md, "pass@k and J^(T)
  from samples"); prompts left with no graded response are dropped;
- sampling runs under a forked torch RNG seeded with the seed (and the backend's per-prompt seed key), so the
  caller's random stream is untouched.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from maxrl_rs import checkpoint as ckpt
from maxrl_rs.errors import ConfigError, FileError
from maxrl_rs.evaluation.report import PassAtKReport, default_ks, parse_ks, passk_report
from maxrl_rs.gguf_models import gguf_model_dir, is_gguf
from maxrl_rs.grading import CORRECT, NO_VERDICT
from maxrl_rs.rollout.base import RolloutBackend, SamplingParams
from maxrl_rs.tasks.base import Example, Task

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PolicySource:
    """Where a policy's weights are (``model_dir``) and, when it came from a training run, the run."""

    model_dir: Path
    run_dir: Path | None
    step: int | None


def _is_run(path: Path) -> bool:
    """``path`` holds a training run's config.json (a model's config.json is not one)."""
    try:
        ckpt.read_run_config(path)
    except FileError:
        return False
    return True


def resolve_policy(path: str | Path) -> PolicySource:
    """A run directory (its latest checkpoint; ``RUN/checkpoints`` is the run too), a checkpoint ``step-N``
    directory, a model directory, or a ``.gguf`` file (its converted model directory, see
    :mod:`maxrl_rs.gguf_models`)."""
    p = Path(path)
    expected = "a run, checkpoint or model directory, or a .gguf file"
    if not p.exists():
        raise ConfigError(f"{str(path)!r} does not exist (expected {expected})")
    if p.is_file() and is_gguf(p):
        return PolicySource(gguf_model_dir(p), None, None)
    if not p.is_dir():
        raise ConfigError(f"{str(path)!r} is a file, not {expected}")
    if p.name == ckpt.CHECKPOINTS and _is_run(p.parent):  # RUN/checkpoints: RUN
        p = p.parent
    if (p / ckpt.CHECKPOINTS).is_dir() or _is_run(p):
        dirs = ckpt.step_dirs(p)
        if not dirs:
            raise ConfigError(f"{str(path)!r} is a run directory without a complete checkpoint")
        latest_step, latest = dirs[-1]
        return PolicySource(latest / ckpt.MODEL_DIR, p, latest_step)
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
    unscored: int  # responses without a verdict (a limit, an error, an unreadable reference: left out of n)
    truncated: int  # responses cut at max_new_tokens (graded as they are; usually incorrect)
    mean_response_tokens: float
    seconds: float

    @property
    def kept(self) -> np.ndarray:
        """``[P]`` bool: prompts with at least one graded response. The others have no pass@k estimate and
        are dropped, by ``maxrl eval`` and by the held-out evaluation of training alike."""
        return self.n > 0


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
    min_p: float = 0.0,
    seed: int = 0,
    prompts_per_call: int | None = 8,
    progress: bool = False,
) -> SampledCounts:
    """Sample ``n`` responses per example and count the graded and the correct ones per prompt.

    Prompts go to the backend ``prompts_per_call`` at a time (n sequences each; None: all in one call, which
    the backend splits by its own batch size), which bounds memory. Sampling runs under a forked torch RNG
    seeded with ``seed`` (on the backend model's GPU, if any): the caller's random stream is untouched and
    the same policy always gets the same counts.
    """
    import torch
    from tqdm.auto import tqdm

    if n < 1:
        raise ConfigError(f"n must be >= 1, got {n}")
    if not examples:
        raise ConfigError("no held-out prompts to evaluate")
    sampling = SamplingParams(
        n=n,
        temperature=temperature,
        top_p=top_p,
        top_k=top_k,
        min_p=min_p,
        max_new_tokens=max_new_tokens,
    )
    step = len(examples) if prompts_per_call is None else max(1, int(prompts_per_call))
    graded_n = np.zeros(len(examples), dtype=np.int64)
    correct = np.zeros(len(examples), dtype=np.int64)
    unscored = truncated = 0
    tokens: list[float] = []
    t0 = time.perf_counter()
    devices = _cuda_devices(backend)
    backend.set_seed_key(seed, 0)  # backends that seed each prompt themselves (vLLM) follow `seed` too
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)  # seeds every GPU too
        bar = tqdm(total=len(examples), desc="eval", unit="prompt", disable=not progress, dynamic_ncols=True)
        for start in range(0, len(examples), step):
            chunk = list(examples[start : start + step])
            ids = list(range(start, start + len(chunk)))
            rollouts = backend.generate([task.prompt_ids(ex, tokenizer) for ex in chunk], ids, sampling)
            graded = task.grade(rollouts.texts, [examples[i] for i in rollouts.group_ids])
            counted = ~np.isin(graded.status, NO_VERDICT)
            hit = np.asarray(graded.status) == CORRECT
            graded_n += np.bincount(rollouts.group_ids, weights=counted, minlength=len(examples)).astype(int)
            correct += np.bincount(rollouts.group_ids, weights=hit, minlength=len(examples)).astype(int)
            unscored += int(np.count_nonzero(~counted))
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


def _cuda_devices(backend: RolloutBackend) -> list[int]:
    """The GPU whose RNG sampling draws from: the backend model's (forking every GPU's RNG would start a
    context on each of them, from each rank)."""
    model = getattr(backend, "model", None)
    if model is None:
        return []
    device = next(model.parameters()).device
    return [device.index or 0] if device.type == "cuda" else []


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
    min_p: float = 0.0,
    seed: int = 0,
    prompts_per_call: int | None = 8,
    progress: bool = False,
    meta: dict[str, Any] | None = None,
) -> PassAtKReport:
    """Sample, grade and report: pass@k and J^(T) for ``ks`` (default powers of two up to n, and n).

    Prompts all of whose responses were unscored (no verdict) are dropped from the report and counted in
    ``meta["dropped_prompts"]``. A k above the fewest graded responses a prompt kept (n less its unscored
    ones) cannot be estimated; it is left out with a warning rather than losing the samples.

    Raises:
        InvalidInputError: a k in ``ks`` is not an integer in 1..n (checked before sampling).
    """
    wanted = None if ks is None else parse_ks(ks, n)
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
        min_p=min_p,
        seed=seed,
        prompts_per_call=prompts_per_call,
        progress=progress,
    )
    keep = counts.kept
    if not keep.any():
        raise ConfigError(
            f"{run}: no response of any prompt could be graded (each had no verdict: a reward function that "
            "returned None, or a verifier limit or error)"
        )
    fewest = int(counts.n[keep].min())
    if wanted is not None and wanted[-1] > fewest:
        left_out = [k for k in wanted if k > fewest]
        wanted = [k for k in wanted if k <= fewest] or default_ks(fewest)
        log.warning(
            f"{run}: pass@k for k = {', '.join(map(str, left_out))} left out: a prompt kept only {fewest} "
            f"graded responses of {n} ({counts.unscored} responses had no verdict); reported k = "
            f"{', '.join(map(str, wanted))}"
        )
    info = {
        "samples_per_prompt": n,
        "temperature": temperature,
        "top_p": top_p,
        "top_k": top_k,
        "min_p": min_p,
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
        ks=wanted,
        prompt_ids=[ex.id for ex, k in zip(examples, keep, strict=True) if k],
        meta=info,
    )
