"""A whole training run from a config: run directory, model, SFT warm-start, RL steps, checkpoints, evals.

Layout of ``RUN_DIR``::

    config.json         the configuration (a resumed run reads it back)
    metrics.jsonl       one row per step (and per evaluation; step 0 is the warm-started policy)
    tensorboard/        the same scalars, when tensorboard is installed
    sft/                the cached warm-started model (reused by a resumed or repeated run)
    checkpoints/step-N/ see maxrl_rs.checkpoint
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from maxrl_rs import checkpoint as ckpt
from maxrl_rs import distributed
from maxrl_rs.config import Config, from_dict, to_dict
from maxrl_rs.errors import ConfigError
from maxrl_rs.gguf_models import gguf_model_dir, is_gguf
from maxrl_rs.heldout import heldout_pass_at_k
from maxrl_rs.metrics import MetricsLogger, read_metrics
from maxrl_rs.models import TinyModelSpec, check_model_dir, load_tokenizer, num_parameters, tiny_model
from maxrl_rs.rollout.base import backend_class
from maxrl_rs.sft import SFTResult, load_cached, save_cache, sft_warm_start
from maxrl_rs.tasks.base import Task, task_class
from maxrl_rs.trainer import Hook, Trainer

SFT_DIR = "sft"


@dataclass(frozen=True)
class RunSummary:
    """What a run achieved: held-out pass@1 of the policy RL started from (step 0) and of the final one."""

    run_dir: Path
    first_step: int
    last_step: int
    start_pass_at_1: float | None
    final_pass_at_1: float | None
    wall_seconds: float
    parameters: int
    sft: SFTResult | None
    rank: int = 0


def resolve_device(name: str) -> Any:
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device: {name!r} asked for, but CUDA is not available")
    return torch.device(name)


def make_task(cfg: Config) -> Task:
    cls = task_class(cfg.task.name)
    options = getattr(cfg.task, cfg.task.name, None)
    if options is None:
        options = cls.Options()
    return cls(options, seed=cfg.seed, eval_seed=cfg.task.eval_seed, eval_size=cfg.task.eval_size)


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - seeds the legacy global RNG that user code may use
    torch.manual_seed(seed)


def load_pretrained(path: str | Path) -> tuple[Any, Any]:
    """A model directory's (or ``.gguf`` file's, converted once: :mod:`maxrl_rs.gguf_models`) causal LM
    (float32 master weights) and tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM

    p = gguf_model_dir(path) if is_gguf(path) else check_model_dir(path)
    tokenizer = load_tokenizer(p)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(p, dtype=torch.float32)
    return model, tokenizer


def sft_key(cfg: Config) -> dict[str, Any]:
    """What a cached warm-start depends on: reused only when all of it matches."""
    d = to_dict(cfg)
    return {"sft": d["sft"], "model": d["model"], "task": d["task"], "seed": cfg.seed}


def initial_policy(
    cfg: Config, task: Task, run_dir: Path, *, progress: bool
) -> tuple[Any, Any, SFTResult | None]:
    """The policy RL starts from: ``model.path`` or the task's tiny model, SFT-warm-started (cached)."""
    import torch

    if cfg.model.path:
        model, tokenizer = load_pretrained(cfg.model.path)
    elif task.builtin_model:
        tokenizer = task.build_tokenizer()
        torch.manual_seed(cfg.seed)
        m = cfg.model
        spec = TinyModelSpec(m.arch, m.hidden_size, m.num_layers, m.num_heads, m.intermediate_size)
        model = tiny_model(spec, tokenizer)
    else:
        raise ConfigError(f"model.path: task {task.name!r} has no built-in model; give a model directory")
    steps = task.sft_steps if cfg.sft.steps is None else cfg.sft.steps
    if steps == 0 or task.sft_example(0).solution is None:  # user data has answers, not solutions
        return model, tokenizer, None
    cache = run_dir / SFT_DIR
    cached = load_cached(cache, sft_key(cfg))
    if cached is not None:
        model, tokenizer = load_pretrained(cache)
        return model, tokenizer, cached
    model.to(resolve_device(cfg.device))
    s = cfg.sft
    result = sft_warm_start(
        model,
        tokenizer,
        task,
        steps=steps,
        batch_size=s.batch_size,
        lr=s.lr,
        warmup_steps=s.warmup_steps,
        progress=progress,
    )
    save_cache(cache, model, tokenizer, sft_key(cfg), result)
    return model.cpu(), tokenizer, result


def new_run_dir(cfg: Config) -> Path:
    if cfg.out:
        return Path(cfg.out)
    return Path("runs") / f"{cfg.task.name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


def resume_config(run_dir: str | Path, overrides: dict[str, Any] | None = None) -> Config:
    """The saved configuration of ``run_dir``, updated with ``overrides`` (a nested dict)."""
    path = Path(run_dir) / ckpt.CONFIG_FILE
    if not path.is_file():
        raise ConfigError(f"resume: {str(run_dir)!r} has no {ckpt.CONFIG_FILE}; is it a run directory?")
    data = json.loads(path.read_text())
    return from_dict(_deep_update(data, overrides or {}))


def _deep_update(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        out[k] = _deep_update(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def train(
    cfg: Config,
    *,
    resume: str | Path | None = None,
    hooks: Sequence[Hook] = (),
    progress: bool | None = None,
) -> RunSummary:
    """Train per ``cfg`` (or continue the run in ``resume`` from its last checkpoint) and evaluate.

    With ``distributed.strategy`` ddp or fsdp every torchrun rank runs this; rank 0 alone writes the run
    directory, the SFT warm-start, metrics and checkpoints (see :mod:`maxrl_rs.distributed`).
    """
    with torch_threads(cpu_threads(cfg)), distributed.session(cfg.distributed, cfg.device) as (ctx, device):
        return _train(cfg, ctx, device, resume=resume, hooks=hooks, progress=progress)


def cpu_threads(cfg: Config) -> int | None:
    """``threads``, or when unset: 1 on CPU (any model), else torch's default (None).

    Measured on a shared 2-core machine (docs/benchmarks.md, "CPU rollouts"): one thread generated 6×
    faster than two with SmolLM2-135M under load, and a tiny built-in model gains little from a second
    thread even when the machine is idle. On a dedicated many-core CPU set ``threads`` higher.
    """
    if cfg.threads is not None:
        return cfg.threads
    return 1 if resolve_device(cfg.device).type == "cpu" else None


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run with ``n`` torch CPU threads, then restore the previous count."""
    import torch

    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _train(
    cfg: Config,
    ctx: distributed.DistContext,
    device: Any,
    *,
    resume: str | Path | None,
    hooks: Sequence[Hook],
    progress: bool | None,
) -> RunSummary:
    import torch
    from tqdm.auto import tqdm

    wall_start = time.perf_counter()
    show = (cfg.log.progress if progress is None else progress) and ctx.is_main
    backend_cls = backend_class(cfg.rollout.backend)
    backend_cls.check_available()  # an unusable backend fails before any files, SFT or models
    # Every rank uses rank 0's directory name (it holds the date and time).
    run_dir = Path(distributed.broadcast_object(ctx, str(resume if resume is not None else new_run_dir(cfg))))
    # Rank 0 looks and tells the others, so every rank takes the same path through the collectives below.
    found = distributed.broadcast_object(
        ctx, str(ckpt.latest_checkpoint(run_dir) or "") if ctx.is_main else ""
    )
    if resume is None and found:
        raise ConfigError(
            f"out: {str(run_dir)!r} already holds checkpoints; resume it with --resume or pick another --out"
        )
    latest = Path(found) if resume is not None and found else None
    sees = distributed.all_gather_object(ctx, latest is None or latest.is_dir())
    blind = [r for r, ok in enumerate(sees) if not ok]
    if blind:
        raise ConfigError(
            f"resume: rank(s) {blind} cannot see rank 0's checkpoint {str(latest)!r}; "
            "the run directory must be on a filesystem that every node shares"
        )
    distributed.barrier(ctx)  # every rank has looked before rank 0 writes
    if ctx.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        ckpt.remove_stale_temporaries(run_dir)
        (run_dir / ckpt.CONFIG_FILE).write_text(json.dumps(to_dict(cfg), indent=2))

    seed_everything(cfg.seed)
    task = make_task(cfg)
    ref_model = state = None
    if latest is None or cfg.algo.kl_coef > 0:  # a resumed run needs the initial policy only as KL reference
        # Rank 0 alone warm-starts (and caches); the other ranks get its weights when the model is wrapped.
        init_cfg = cfg if ctx.is_main else dataclasses.replace(cfg, sft=dataclasses.replace(cfg.sft, steps=0))
        model, tokenizer, sft_result = initial_policy(init_cfg, task, run_dir, progress=show)
        if cfg.algo.kl_coef > 0:
            ref_model = copy.deepcopy(model).eval().requires_grad_(False)
    else:
        sft_result = load_cached(run_dir / SFT_DIR, sft_key(cfg))
    if latest is not None:
        model, tokenizer = load_pretrained(latest / ckpt.MODEL_DIR)
        state = ckpt.load_trainer_state(latest)
    if ctx.strategy != "fsdp":  # FSDP moves each rank's shards to its device itself
        model.to(device)
    fsdp_bf16 = distributed.fsdp_bf16(ctx, device, cfg.train.bf16)
    param_dtype = torch.bfloat16 if fsdp_bf16 else None
    policy = distributed.wrap_model(  # `model` itself when not distributed
        model, ctx, cfg.distributed, device, param_dtype=param_dtype
    )
    if ref_model is not None:
        ref_model = distributed.wrap_reference(
            ref_model, ctx, cfg.distributed, device, param_dtype=param_dtype
        )
    backend = backend_cls.from_config(distributed.unwrap(policy), tokenizer, cfg.rollout, seed=cfg.seed)
    trainer = Trainer(cfg, policy, tokenizer, task, backend, ref_model=ref_model, hooks=hooks, dist=ctx)
    if state is not None:
        trainer.load_state_dict(state)
        ckpt.set_rng_state(trainer.rng_state_of_rank(state))
    first = trainer.step_count
    # Rows after the checkpoint are redone; a run starting at step 0 (even in a directory a killed run left
    # without a checkpoint) starts its metrics afresh.
    metrics = MetricsLogger(
        run_dir, tensorboard=cfg.log.tensorboard, resume_step=first if latest else -1, enabled=ctx.is_main
    )
    eval_examples = task.eval_examples()

    def evaluate() -> dict[str, float]:
        with trainer.generation_context():
            return heldout_pass_at_k(
                backend,
                task,
                tokenizer,
                eval_examples,
                samples=cfg.eval.samples,
                temperature=cfg.eval.temperature,
                max_new_tokens=trainer.max_new_tokens,
                seed=cfg.task.eval_seed,
            )

    def save() -> None:
        # Distributed: collectives (every rank takes part), then rank 0 writes while the others wait.
        trainer_state = trainer.state_dict()
        weights = distributed.full_model_state_dict(policy, ctx) if ctx.distributed else None
        if ctx.is_main:
            ckpt.save_checkpoint(
                run_dir,
                trainer.step_count,
                model=model,
                tokenizer=tokenizer,
                trainer_state=trainer_state,
                config=to_dict(cfg),
                keep=cfg.checkpoint.keep,
                model_state=weights,
            )
        distributed.barrier(ctx)

    try:
        if first == 0:
            row: dict[str, Any] = dict(evaluate())
            row["parameters"] = num_parameters(model)
            if sft_result is not None:
                row.update(
                    sft_loss=sft_result.final_loss, sft_seconds=sft_result.seconds, sft_steps=sft_result.steps
                )
            metrics.log(0, row)
        bar = tqdm(total=cfg.train.steps, initial=first, desc="train", disable=not show, dynamic_ncols=True)
        last_eval = last_save = first
        for step in range(first + 1, cfg.train.steps + 1):
            _, m = trainer.step()
            metrics.log(step, m)
            bar.update(1)
            bar.set_postfix(
                reward=f"{m['reward']:.3f}",
                solved=f"{m['solved_frac']:.2f}",
                loss=f"{m['loss']:.4f}",
                len=f"{m['response_len']:.1f}",
            )
            if cfg.checkpoint.every and step % cfg.checkpoint.every == 0:
                save()
                last_save = step
            if cfg.eval.every and step % cfg.eval.every == 0:
                metrics.log(step, evaluate())
                last_eval = step
        bar.close()
        if last_eval != trainer.step_count:
            metrics.log(trainer.step_count, evaluate())
        # Rank 0 decides (saving is a collective under FSDP: all ranks or none).
        if distributed.broadcast_object(ctx, last_save != trainer.step_count or not ckpt.step_dirs(run_dir)):
            save()
    finally:
        metrics.close()
        backend.close()
    rows = read_metrics(run_dir)
    evals = [r for r in rows if "eval/pass@1" in r]
    return RunSummary(
        run_dir=run_dir,
        first_step=first,
        last_step=trainer.step_count,
        start_pass_at_1=next((r["eval/pass@1"] for r in evals if r["step"] == 0), None),
        final_pass_at_1=evals[-1]["eval/pass@1"] if evals else None,
        wall_seconds=time.perf_counter() - wall_start,
        parameters=num_parameters(model),
        sft=sft_result,
        rank=ctx.rank,
    )
