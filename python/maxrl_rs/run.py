"""A whole training run from a config: run directory, model, SFT warm-start, RL steps, checkpoints, evals.

Layout of ``RUN_DIR``::

    config.json         the configuration, paths absolute (a resumed run reads it back)
    .lock               held by the process training in the directory (see maxrl_rs.rundir)
    metrics.jsonl       one row per step (and per evaluation; step 0 is the warm-started policy)
    tensorboard/        the same scalars (log.tensorboard)
    samples.jsonl       log.samples rollouts per step (see maxrl_rs.tracking)
    wandb/, wandb_id    the W&B run's files and id (log.wandb)
    sft/                the cached warm-started model (reused by a resumed or repeated run)
    merged/             with model.lora: the final adapter merged into the base (see maxrl_rs.lora)
    base/               with model.lora on a built-in model without warm-start: the adapter's base
    checkpoints/step-N/ see maxrl_rs.checkpoint
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import logging
import random
import shlex
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from maxrl_rs import atomic, distributed, lora, rundir, tracking
from maxrl_rs import checkpoint as ckpt
from maxrl_rs.config import Config, check_resume_changes, from_dict, to_dict
from maxrl_rs.errors import ConfigError, FileError
from maxrl_rs.fingerprints import check_data_files, record_data_files
from maxrl_rs.gguf_models import gguf_model_dir, is_gguf
from maxrl_rs.heldout import heldout_pass_at_k
from maxrl_rs.metrics import MetricsLogger, read_metrics
from maxrl_rs.models import (
    TinyModelSpec,
    check_model_dir,
    load_tokenizer,
    num_parameters,
    parameter_summary,
    tiny_model,
)
from maxrl_rs.progress_bars import quiet_library_bars
from maxrl_rs.rollout.base import backend_class
from maxrl_rs.sft import SFTResult, load_cached, save_cache, sft_warm_start
from maxrl_rs.tasks.base import Task, task_class
from maxrl_rs.tasks.dataset import DatasetTask
from maxrl_rs.tasks.encoding import check_tokenizer, examples_to_check
from maxrl_rs.trainer import Hook, Trainer, check_world_size

SFT_DIR = rundir.SFT_DIR
log = logging.getLogger(__name__)


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
    #: Parameters the run trained: all of them, or with ``model.lora`` the adapter's.
    trainable_parameters: int = 0


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
    task = cls(options, seed=cfg.seed, eval_seed=cfg.task.eval_seed, eval_size=cfg.task.eval_size)
    if isinstance(task, DatasetTask):  # a Python reward function must score 0/1 for maxrl
        task.binary_rewards = cfg.algo.estimator == "maxrl"
    return task


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - seeds the legacy global RNG that user code may use
    torch.manual_seed(seed)


def load_pretrained(path: str | Path, *, progress: bool = True) -> tuple[Any, Any]:
    """A model directory's (or a ``.gguf`` file's, converted once: :mod:`maxrl_rs.gguf_models`) causal LM
    (float32 master weights) and tokenizer; ``progress`` False hides transformers' loading bars.

    Raises:
        ConfigError: the directory lacks a model (see :func:`maxrl_rs.models.check_model_dir`).
        FileError: its weights or tokenizer do not load, naming the directory and the cause.
    """
    import torch
    from transformers import AutoModelForCausalLM

    with quiet_library_bars(not progress):
        p = gguf_model_dir(path) if is_gguf(path) and not Path(path).is_dir() else Path(path)
        if lora.is_adapter_dir(p):  # a LoRA run's checkpoint: the adapter merged into the base it names
            model, tokenizer = lora.load_merged(p), pretrained_tokenizer(p)
            return _padded_left(model, tokenizer)
        check_model_dir(p)
        tokenizer = pretrained_tokenizer(p)
        try:
            model = AutoModelForCausalLM.from_pretrained(p, dtype=torch.float32)
        except Exception as e:  # a garbled safetensors file: say which model, not only what failed
            raise _does_not_load(p, e) from e
    return _padded_left(model, tokenizer)


def pretrained_tokenizer(path: str | Path) -> Any:
    """The tokenizer :func:`load_pretrained` gives for a model directory (a checkpoint's, an adapter's, or a
    ``.gguf`` file's converted one), without loading the weights. FileError when it does not load."""
    p = gguf_model_dir(path) if is_gguf(path) and not Path(path).is_dir() else Path(path)
    try:
        return load_tokenizer(p)
    except Exception as e:  # a garbled tokenizer file: say which model, not only what failed
        raise _does_not_load(p, e) from e


def _does_not_load(path: Path, e: Exception) -> FileError:
    cause = str(e).strip().splitlines()[0] if str(e).strip() else "no details"
    return FileError(f"model {str(path)!r} does not load ({type(e).__name__}: {cause})")


def _padded_left(model: Any, tokenizer: Any) -> tuple[Any, Any]:
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    return model, tokenizer


def sft_key(cfg: Config) -> dict[str, Any]:
    """What a cached warm-start depends on: reused only when all of it matches."""
    d = to_dict(cfg)
    return {"sft": d["sft"], "model": d["model"], "task": d["task"], "seed": cfg.seed}


def initial_policy(
    cfg: Config, task: Task, run_dir: Path, *, progress: bool
) -> tuple[Any, Any, SFTResult | None]:
    """The policy RL starts from: ``model.path`` or the task's tiny model, SFT-warm-started (cached)."""
    with quiet_library_bars(not progress):
        model, tokenizer = base_policy(cfg, task)
        return warm_start(cfg, task, model, tokenizer, run_dir, progress=progress)


def base_policy(cfg: Config, task: Task) -> tuple[Any, Any]:
    """``model.path``'s model and tokenizer, or the task's tiny model (initialised from ``cfg.seed``)."""
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
    return model, tokenizer


def warm_start(
    cfg: Config, task: Task, model: Any, tokenizer: Any, run_dir: Path, *, progress: bool
) -> tuple[Any, Any, SFTResult | None]:
    """``model`` after the SFT warm-start, cached in ``run_dir/sft`` (None result: no warm-start)."""
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
    """``out``, or ``runs/<task>-<date-time>`` under the current directory; absolute."""
    if cfg.out:
        return Path(cfg.out).absolute()
    return (Path("runs") / f"{cfg.task.name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}").absolute()


def resume_config(run_dir: str | Path, overrides: dict[str, Any] | None = None) -> Config:
    """The saved configuration of the run ``run_dir`` (or of the run holding checkpoint ``run_dir``), updated
    with ``overrides`` (a nested dict); ``out`` is the run directory where it is now."""
    run, _ = rundir.resolve_resume(run_dir)
    data = ckpt.read_run_config(run)
    return from_dict(_deep_update({**data, "out": str(run)}, overrides or {}))


def _deep_update(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        out[k] = _deep_update(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def train(
    cfg: Config,
    *,
    resume: str | Path | None = None,
    overwrite: bool = False,
    hooks: Sequence[Hook] = (),
    progress: bool | None = None,
) -> RunSummary:
    """Train per ``cfg`` and evaluate; or continue a run.

    Args:
        resume: a run directory (continued from its newest readable checkpoint; a damaged newer one is set
            aside with a warning) or a checkpoint ``RUN/checkpoints/step-N`` (continued from that one).
            ``cfg`` may differ from the run's saved config only in
            :data:`maxrl_rs.config.RESUMABLE_KEYS`; the saved config is replaced once the run has started.
            ``cfg.out`` must be unset or the run's directory (:func:`resume_config` sets it so). A run whose
            checkpoint is already at ``train.steps`` has nothing to train: it says so on stderr, and its
            summary (``first_step == last_step``, figures from its metrics) is returned without loading a
            model.
        overwrite: a new run may replace an existing run in ``out`` (its config, metrics and checkpoints);
            a resume from an older checkpoint may delete the newer ones.

    Raises:
        ConfigError: a bad config, an existing run in ``out`` without ``overwrite``, a refused resume.
        FileError: a damaged or missing file (named), a run directory in use by another process.
        maxrl_rs.atomic.NoSpaceError: the disk filled up (the message names the file being written).

    With ``distributed.strategy`` ddp or fsdp every torchrun rank runs this; rank 0 alone writes the run
    directory, the SFT warm-start, metrics and checkpoints (see :mod:`maxrl_rs.distributed`).

    A new run that fails (raises) before its first checkpoint removes what it wrote in ``out``, but a cached
    SFT warm-start, which the next run there reuses when its settings match (:class:`maxrl_rs.rundir.NewRun`);
    Ctrl-C keeps it, to be resumed.
    """
    started: list[rundir.NewRun] = []  # filled on rank 0 when the new run creates its directory
    with (
        torch_threads(cpu_threads(cfg)),
        distributed.session(cfg.distributed, cfg.device) as (ctx, device),
        contextlib.ExitStack() as stack,
    ):
        try:
            return _train(
                cfg,
                ctx,
                device,
                stack,
                resume=resume,
                overwrite=overwrite,
                hooks=hooks,
                progress=progress,
                started=started,
            )
        except Exception:
            if started and started[0].undo():  # the lock is still held: nothing else writes there meanwhile
                log.warning(
                    "the run failed before its first checkpoint: removed what it wrote in %s%s",
                    started[0].run_dir,
                    " (its cached SFT warm-start stays, for the next run)"
                    if (started[0].run_dir / SFT_DIR).is_dir()
                    else "",
                )
            raise


def _on_main(ctx: distributed.DistContext, fn: Callable[[], Any]) -> Any:
    """``fn()`` run by rank 0, its result given to every rank; its error raised on every rank alike."""
    if not ctx.distributed:
        return fn()
    kinds: dict[str, type[Exception]] = {
        "config": ConfigError,
        "file": FileError,
        "space": atomic.NoSpaceError,
    }
    result, error = None, None
    if ctx.is_main:
        try:
            result = fn()
        except (ConfigError, FileError, atomic.NoSpaceError) as e:
            error = (next(k for k, cls in kinds.items() if isinstance(e, cls)), str(e))
    result, error = distributed.broadcast_object(ctx, (result, error))
    if error is not None:
        raise kinds[error[0]](error[1])
    return result


def _prepare_resume(
    cfg: Config, run_dir: Path, chosen: Path | None, *, overwrite: bool
) -> tuple[str, dict[str, Any] | None]:
    """Rank 0's choice of checkpoint to resume from (``""``: none yet, the run starts at step 0) and its
    trainer state, after checking that ``cfg`` changes only what a resume may change."""
    check_resume_changes(resume_config(run_dir), dataclasses.replace(cfg, out=str(run_dir)))
    check_data_files(run_dir)  # the epoch order and held-out rows come from the files as they were
    ckpt.remove_stale_temporaries(run_dir)
    if chosen is None and overwrite:
        raise ConfigError(
            f"resume: --overwrite deletes the checkpoints after the one a resume starts from, and "
            f"{str(run_dir)!r} resumes from its newest: to go back to step N, resume "
            f"{str(run_dir / ckpt.CHECKPOINTS / 'step-N')!r} with --overwrite; to start the run over, "
            f"maxrl train --out {shlex.quote(str(run_dir))} --overwrite (with its settings)"
        )
    if chosen is None:
        found = ckpt.usable_checkpoint(run_dir)
        if found:
            _check_steps_ahead(cfg, found[0], found[1])
        return (str(found[0]), found[1]) if found else ("", None)
    later = rundir.later_checkpoints(run_dir, chosen)
    if later and not overwrite:
        names = ", ".join(p.name for p in later)
        raise ConfigError(
            f"resume: {str(run_dir)!r} has checkpoints after {chosen.name} ({names}); resuming from "
            f"{chosen.name} would replace them: add --overwrite to delete them, or resume the run directory"
        )
    state = ckpt.check_checkpoint(chosen)
    _check_steps_ahead(cfg, chosen, state)
    for p in later:
        shutil.rmtree(p)
    return str(chosen), state


def _check_steps_ahead(cfg: Config, checkpoint: Path, state: dict[str, Any] | None) -> None:
    """A resume with ``train.steps`` below the checkpoint's step would train nothing and record the smaller
    number as the run's length."""
    step = int(state["step"]) if state is not None and "step" in state else None
    if step is not None and cfg.train.steps < step:
        raise ConfigError(
            f"resume: train.steps = {cfg.train.steps} is below step {step} of {str(checkpoint)!r}; give "
            f"--steps {step} or more (to go back to an earlier step, resume from that checkpoint)"
        )


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
    stack: contextlib.ExitStack,
    *,
    resume: str | Path | None,
    overwrite: bool,
    hooks: Sequence[Hook],
    progress: bool | None,
    started: list[rundir.NewRun],
) -> RunSummary:
    import torch
    from tqdm.auto import tqdm

    wall_start = time.perf_counter()
    check_world_size(cfg, ctx.world_size)  # the first moment it is known; before any file or model
    show = (cfg.log.progress if progress is None else progress) and ctx.is_main
    stack.enter_context(quiet_library_bars(not show))  # transformers' loading and saving bars too
    backend_cls = backend_class(cfg.rollout.backend)
    backend_cls.check_available()  # an unusable backend fails before any files, SFT or models
    tracking.check_available(cfg.log)
    # Every rank uses rank 0's directory name (it holds the date and time).
    chosen: Path | None = None
    if resume is not None:
        resumed_dir, chosen = rundir.resolve_resume(resume)
        rundir.check_resume_out(cfg.out, resumed_dir)
        cfg = dataclasses.replace(cfg, out=str(resumed_dir))
    run_dir = Path(distributed.broadcast_object(ctx, str(new_run_dir(cfg))))
    cfg = dataclasses.replace(cfg, out=str(run_dir))
    seed_everything(cfg.seed)
    task = make_task(cfg)
    task.num_train  # noqa: B018 - reads and checks the task's data (user JSONL) before anything is written
    task.check_grading()  # a user's reward function that fails, before anything is written
    if cfg.model.path:  # a missing model, or one whose tokenizer cannot encode the task, before any file
        if is_gguf(cfg.model.path):
            gguf_model_dir(cfg.model.path)  # converted (once) or its absence named
        else:
            check_model_dir(cfg.model.path)
        tokenizer = pretrained_tokenizer(cfg.model.path)
        check_tokenizer(task, tokenizer, examples_to_check(task), model=cfg.model.path, key="model.path")
    state: dict[str, Any] | None = None
    if resume is not None:
        # Rank 0 locks, checks and picks the checkpoint, and tells the others, so every rank takes the same
        # path through the collectives below.
        _on_main(ctx, lambda: stack.enter_context(rundir.run_lock(run_dir)))
        rank0_state: list[dict[str, Any] | None] = [None]  # kept on rank 0, not broadcast

        def pick() -> str:
            found, rank0_state[0] = _prepare_resume(cfg, run_dir, chosen, overwrite=overwrite)
            return found

        found = _on_main(ctx, pick)
        state = rank0_state[0]
    else:
        _on_main(ctx, lambda: rundir.check_new_run(run_dir, overwrite=overwrite))
        found = ""
    latest = Path(found) if found else None
    sees = distributed.all_gather_object(ctx, latest is None or latest.is_dir())
    blind = [r for r, ok in enumerate(sees) if not ok]
    if blind:
        raise ConfigError(
            f"resume: rank(s) {blind} cannot see rank 0's checkpoint {str(latest)!r}; "
            "the run directory must be on a filesystem that every node shares"
        )
    if latest is not None and _step_of(latest) == cfg.train.steps and not (chosen is not None and overwrite):
        # Nothing to train: neither models nor a backend are loaded, and nothing in the run is written.
        if ctx.is_main:
            print(_already_trained(run_dir, cfg.train.steps), file=sys.stderr, flush=True)
        first_row = next((r for r in read_metrics(run_dir) if r["step"] == 0 and "parameters" in r), {})
        return _summary(
            run_dir,
            ctx,
            first=cfg.train.steps,
            last=cfg.train.steps,
            wall_start=wall_start,
            parameters=int(first_row.get("parameters", 0)),
            trainable=int(first_row.get("trainable_parameters", first_row.get("parameters", 0))),
            sft=load_cached(run_dir / SFT_DIR, sft_key(cfg)),
        )
    ref_model = None
    adapter = lora.enabled(cfg.model.lora)
    # A resumed run needs the initial policy only as KL reference, or as the base of its LoRA adapter.
    need_initial = latest is None or cfg.algo.kl_coef > 0 or adapter
    if need_initial:
        model, tokenizer = base_policy(cfg, task)
        if adapter and latest is None:  # a misspelled target module, before the run directory is made
            lora.check_target_modules(model, cfg.model.lora)
    if resume is None:
        distributed.barrier(ctx)  # every rank has looked before rank 0 writes

        def create() -> None:  # the config and the model have loaded: now the run directory is made
            started.append(rundir.NewRun(run_dir, overwrite=overwrite))
            stack.enter_context(rundir.run_lock(run_dir))
            if overwrite:
                rundir.clear_run(run_dir)
            ckpt.remove_stale_temporaries(run_dir)
            atomic.write_text(run_dir / ckpt.CONFIG_FILE, json.dumps(to_dict(cfg), indent=2))
            record_data_files(run_dir, cfg)

        _on_main(ctx, create)
    if ctx.is_main:
        print(tracking.destinations(cfg.log, run_dir), file=sys.stderr, flush=True)
    if need_initial:
        # Rank 0 alone warm-starts (and caches); the other ranks get its weights when the model is wrapped.
        init_cfg = cfg if ctx.is_main else dataclasses.replace(cfg, sft=dataclasses.replace(cfg.sft, steps=0))
        model, tokenizer, sft_result = warm_start(init_cfg, task, model, tokenizer, run_dir, progress=show)
        if cfg.algo.kl_coef > 0 and not adapter:
            ref_model = copy.deepcopy(model).eval().requires_grad_(False)
    else:
        sft_result = load_cached(run_dir / SFT_DIR, sft_key(cfg))
    if latest is not None:
        lora.check_checkpoint(latest / ckpt.MODEL_DIR, cfg.model.lora)
        if adapter:
            model = lora.load_adapter(model, latest / ckpt.MODEL_DIR)
        else:
            model, tokenizer = load_pretrained(latest / ckpt.MODEL_DIR)
        if state is None:
            state = ckpt.load_trainer_state(latest)
    elif adapter:
        model = lora.apply_lora(model, cfg.model.lora)
    if adapter:
        base: str | Path | None = cfg.model.path or (run_dir / SFT_DIR if sft_result is not None else None)
        if cfg.model.path and is_gguf(cfg.model.path) and not Path(cfg.model.path).is_dir():
            # The adapter names a model directory that peft and transformers load: the GGUF's conversion.
            base = gguf_model_dir(cfg.model.path)
        lora.record_base(model, tokenizer, base, run_dir, write=ctx.is_main)
        if cfg.algo.kl_coef > 0:
            ref_model = lora.AdapterDisabled(model)  # the base model: the same weights, adapter off
    if adapter and ctx.is_main:  # what LoRA trains, as peft's print_trainable_parameters says it
        summary = parameter_summary(num_parameters(model, trainable=True), num_parameters(model))
        print(f"LoRA r={cfg.model.lora.r}: {summary}", file=sys.stderr, flush=True)
    if cfg.train.gradient_checkpointing:
        lora.enable_gradient_checkpointing(model)
    if ctx.strategy != "fsdp":  # FSDP moves each rank's shards to its device itself
        model.to(device)
    fsdp_bf16 = distributed.fsdp_bf16(ctx, device, cfg.train.bf16)
    param_dtype = torch.bfloat16 if fsdp_bf16 else None
    policy = distributed.wrap_model(  # `model` itself when not distributed
        model, ctx, cfg.distributed, device, param_dtype=param_dtype
    )
    if ref_model is not None and not adapter:
        ref_model = distributed.wrap_reference(
            ref_model, ctx, cfg.distributed, device, param_dtype=param_dtype
        )
    backend = backend_cls.from_config(distributed.unwrap(policy), tokenizer, cfg.rollout, seed=cfg.seed)
    resume_step = int(state["step"]) if latest is not None and state is not None else -1  # as metrics below
    samples = tracking.SampleWriter(run_dir, cfg.log.samples, resume_step=resume_step, enabled=ctx.is_main)
    trainer = Trainer(
        cfg, policy, tokenizer, task, backend, ref_model=ref_model, hooks=[*hooks, samples], dist=ctx
    )
    if state is not None:
        trainer.load_state_dict(state)
        ckpt.set_rng_state(trainer.rng_state_of_rank(state))
    if resume is not None and ctx.is_main:  # the resumed run has started: its config may now change
        atomic.write_text(run_dir / ckpt.CONFIG_FILE, json.dumps(to_dict(cfg), indent=2))
        where = f"checkpoint {latest} (step {trainer.step_count})" if latest else "step 0 (no checkpoint yet)"
        print(f"resuming {run_dir} from {where}", file=sys.stderr, flush=True)
        if trainer.step_count == cfg.train.steps:  # gone back to step N with --steps N: nothing to train
            print(_already_trained(run_dir, cfg.train.steps), file=sys.stderr, flush=True)
    first = trainer.step_count
    # Rows after the checkpoint are redone; a run starting at step 0 (even in a directory a killed run left
    # without a checkpoint) starts its metrics afresh.
    sinks = []
    if cfg.log.wandb and ctx.is_main:
        sinks.append(tracking.start_wandb(cfg.log, run_dir, to_dict(cfg), resumed=latest is not None))
    metrics = MetricsLogger(
        run_dir,
        tensorboard=cfg.log.tensorboard,
        resume_step=first if latest else -1,
        enabled=ctx.is_main,
        sinks=sinks,
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
                top_p=cfg.rollout.top_p,
                top_k=cfg.rollout.top_k,
                min_p=cfg.rollout.min_p,
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
            row["trainable_parameters"] = num_parameters(model, trainable=True)
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
                reward=f"{m['reward']:.3f}" if np.isfinite(m["reward"]) else "n/a",  # NaN: nothing graded
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
        if adapter and ctx.is_main:
            lora.save_merged(model, tokenizer, run_dir / lora.MERGED_DIR)
        # Every rank is past its last collective before the backend closes: vLLM's engine shutdown
        # destroys torch's default process group.
        distributed.barrier(ctx)
    finally:
        metrics.close()
        samples.close()
        backend.close()
    return _summary(
        run_dir,
        ctx,
        first=first,
        last=trainer.step_count,
        wall_start=wall_start,
        parameters=num_parameters(model),
        trainable=num_parameters(model, trainable=True),
        sft=sft_result,
    )


def _summary(
    run_dir: Path,
    ctx: distributed.DistContext,
    *,
    first: int,
    last: int,
    wall_start: float,
    parameters: int,
    trainable: int,
    sft: SFTResult | None,
) -> RunSummary:
    """The run's summary, its held-out pass@1 at step 0 and at the last evaluation read from its metrics."""
    evals = [r for r in read_metrics(run_dir) if "eval/pass@1" in r]
    return RunSummary(
        run_dir=run_dir,
        first_step=first,
        last_step=last,
        start_pass_at_1=next((r["eval/pass@1"] for r in evals if r["step"] == 0), None),
        final_pass_at_1=evals[-1]["eval/pass@1"] if evals else None,
        wall_seconds=time.perf_counter() - wall_start,
        parameters=parameters,
        sft=sft,
        rank=ctx.rank,
        trainable_parameters=trainable,
    )


def _step_of(checkpoint: Path) -> int:
    """N of a checkpoint directory ``step-N``."""
    m = ckpt.STEP_DIR.match(checkpoint.name)
    assert m is not None, checkpoint
    return int(m.group(1))


def _already_trained(run_dir: Path, steps: int) -> str:
    return (
        f"{run_dir} is already at train.steps = {steps}; pass --steps M (> {steps}) to train further, "
        f"e.g. maxrl train --resume {shlex.quote(str(run_dir))} --steps {2 * steps or 1}"
    )
