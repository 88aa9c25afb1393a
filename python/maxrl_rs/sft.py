"""Supervised warm-start: cross-entropy on the response tokens of generated solutions.

RL from a random policy on a pass/fail task sees only failures, and every estimator's gradient is then
zero. As the paper does for its maze model, the policy is first fitted for a few hundred steps to correct
solutions (BFS shortest paths for mazes), leaving a nonzero but imperfect pass rate for RL to raise.
The result is cached in the run directory and reused when the same warm-start is asked for again.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from maxrl_rs.rollout.base import Rollouts
from maxrl_rs.rollout.hf import left_pad
from maxrl_rs.rollout.logprobs import token_logprobs
from maxrl_rs.tasks.base import Task

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel

CACHE_INFO = "sft.json"


@dataclass(frozen=True)
class SFTResult:
    steps: int
    final_loss: float
    seconds: float
    cached: bool = False


def solution_batch(task: Task, tokenizer: Any, indices: range, device: torch.device | str) -> Rollouts:
    """Prompts and their solutions as a :class:`Rollouts` batch (responses right-padded, EOS included)."""
    import torch

    examples = [task.sft_example(i) for i in indices]
    solutions = [ex.solution for ex in examples if ex.solution is not None]
    if len(solutions) < len(examples):
        raise ValueError(f"task {task.name!r} has no generated solutions to warm-start from")
    prompt_ids, prompt_mask = left_pad(
        [task.prompt_ids(ex, tokenizer) for ex in examples], tokenizer.pad_token_id, device
    )
    responses = [task.response_ids(solution, tokenizer) for solution in solutions]
    width = max(len(r) for r in responses)
    response_ids = torch.full((len(responses), width), tokenizer.pad_token_id, dtype=torch.long)
    response_mask = torch.zeros((len(responses), width), dtype=torch.long)
    for i, r in enumerate(responses):
        response_ids[i, : len(r)] = torch.as_tensor(r)
        response_mask[i, : len(r)] = 1
    return Rollouts(
        prompt_ids=prompt_ids,
        prompt_mask=prompt_mask,
        response_ids=response_ids.to(device),
        response_mask=response_mask.to(device),
        texts=[ex.solution or "" for ex in examples],
        group_ids=np.arange(len(examples), dtype=np.int64),
        finished=np.ones(len(examples), dtype=bool),
    )


def sft_warm_start(
    model: torch.nn.Module,
    tokenizer: Any,
    task: Task,
    *,
    steps: int,
    batch_size: int = 64,
    lr: float = 2e-3,
    warmup_steps: int = 20,
    progress: bool = False,
) -> SFTResult:
    """Fit ``model`` in place to ``steps`` batches of solutions: AdamW, linear warm-up, cosine decay to 10%.

    Returns the mean token cross-entropy of the last step (nats) and the wall time.
    """
    import torch
    from tqdm.auto import tqdm

    device = next(model.parameters()).device
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)

    def schedule(s: int) -> float:
        if s < warmup_steps:
            return (s + 1) / warmup_steps
        frac = (s - warmup_steps) / max(1, steps - warmup_steps)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    model.train()
    start = time.perf_counter()
    loss_value = float("nan")
    bar = tqdm(range(steps), desc="sft", disable=not progress, dynamic_ncols=True)
    for s in bar:
        batch = solution_batch(task, tokenizer, range(s * batch_size, (s + 1) * batch_size), device)
        logp, _ = token_logprobs(model, batch)
        mask = batch.response_mask.float()
        loss = -(logp * mask).sum() / mask.sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        loss_value = loss.item()
        bar.set_postfix(loss=f"{loss_value:.3f}")
    opt.zero_grad(set_to_none=True)  # leave no gradients behind for the next optimizer
    return SFTResult(steps=steps, final_loss=loss_value, seconds=time.perf_counter() - start)


def load_cached(cache_dir: Path, key: dict[str, Any]) -> SFTResult | None:
    """The cached warm-start's result if ``cache_dir`` holds one made with the same ``key``, else None."""
    info = cache_dir / CACHE_INFO
    if not info.is_file():
        return None
    data = json.loads(info.read_text())
    if data.get("key") != key:
        return None
    r = data["result"]
    return SFTResult(steps=r["steps"], final_loss=r["final_loss"], seconds=r["seconds"], cached=True)


def save_cache(
    cache_dir: Path, model: PreTrainedModel, tokenizer: Any, key: dict[str, Any], result: SFTResult
) -> None:
    """Save the warm-started model atomically (temp dir, then rename) with the key that made it."""
    import shutil

    tmp = cache_dir.with_name(cache_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    (tmp / CACHE_INFO).write_text(json.dumps({"key": key, "result": asdict(result)}, indent=2))
    shutil.rmtree(cache_dir, ignore_errors=True)
    tmp.rename(cache_dir)
