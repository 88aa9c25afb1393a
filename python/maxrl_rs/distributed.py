"""Data-parallel training under torchrun: DDP, or FSDP2 (``fully_shard``) for models too large for one GPU.

``torchrun --nproc_per_node K -m maxrl_rs.cli train --set distributed.strategy=ddp`` starts K processes;
each reads its place from torchrun's ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``, joins the process group
(NCCL on CUDA, gloo on CPU) and drives one device.

How a step is split, and why the result does not depend on the number of ranks:

- Each rank owns whole groups: of a step's ``prompts_per_step`` prompts, rank r takes every K-th one
  (:class:`maxrl_rs.tasks.PromptSampler`), samples all N rollouts of its prompts and grades them. Group
  statistics and advantages (docs/estimators.md) need only the group, so they are computed locally.
- Each prompt is sampled with its own seed, a function of (run seed, step, prompt id) only
  (:func:`prompt_seed`), so a prompt gets the same rollouts whichever rank draws it.
- The loss is normalised by the *global* batch: ``token-mean`` divides the summed token losses by the
  number of response tokens on all ranks (:func:`global_sum`), and the loss is multiplied by K because
  DDP and FSDP average gradients over ranks. The averaged gradient is then exactly the one-process
  gradient of the whole batch.
- Metrics are reduced as sums and counts (:func:`all_reduce_sums`); only rank 0 writes metrics and
  checkpoints. Each rank's RNG and data-iterator state is gathered into rank 0's checkpoint and handed
  back to its rank on resume (same world size).
"""

from __future__ import annotations

import contextlib
import datetime
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from maxrl_rs.errors import ConfigError
from maxrl_rs.options import STRATEGIES as STRATEGIES  # re-exported
from maxrl_rs.options import DistributedConfig as DistributedConfig

if TYPE_CHECKING:
    import torch
    from torch.distributed.fsdp import FSDPModule


def check_config(cfg: DistributedConfig) -> None:
    """ConfigError naming the ``distributed.*`` key of a bad value (:meth:`DistributedConfig.check`)."""
    cfg.check()


# -- the process group ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DistContext:
    """Where this process stands: ``rank`` of ``world_size`` processes, ``local_rank`` on its node."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    strategy: str = "none"
    backend: str | None = None
    seed_per_prompt: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """True when a process group is up (strategy ddp or fsdp), even with one process."""
        return self.backend is not None


SINGLE = DistContext()


def env_ranks() -> tuple[int, int, int]:
    """``(rank, world_size, local_rank)`` from torchrun's environment variables (0, 1, 0 when absent)."""

    def read(name: str, default: int) -> int:
        raw = os.environ.get(name)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"environment variable {name}={raw!r} is not an integer") from None

    rank, world, local = read("RANK", 0), read("WORLD_SIZE", 1), read("LOCAL_RANK", 0)
    if world < 1 or not 0 <= rank < world:
        raise ConfigError(f"RANK={rank} is outside 0..WORLD_SIZE-1 (WORLD_SIZE={world})")
    return rank, world, local


def setup(cfg: DistributedConfig, device: str = "auto") -> tuple[DistContext, torch.device]:
    """Join the process group for ``cfg.strategy`` and pick this rank's device.

    ``device`` is the ``device`` config value: ``auto`` means ``cuda:LOCAL_RANK`` when CUDA is available,
    else CPU. Returns ``(context, torch.device)``. With strategy ``none`` nothing is initialised, and being
    started by torchrun with more than one process is an error (each would train alone).
    """
    import torch
    import torch.distributed as dist

    check_config(cfg)
    rank, world, local = env_ranks()
    if cfg.strategy == "none":
        if world > 1:
            raise ConfigError(
                f"started with WORLD_SIZE={world} but distributed.strategy=none: "
                "set --set distributed.strategy=ddp (or fsdp) to train across processes"
            )
        single = replace(SINGLE, seed_per_prompt=True) if cfg.seed_per_prompt else SINGLE
        return single, pick_device(device, 0)
    dev = pick_device(device, local, world)
    backend = "nccl" if dev.type == "cuda" else "gloo"
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if not dist.is_initialized():
        if "MASTER_ADDR" not in os.environ:  # a plain `python` run: a world of one on this machine
            os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
            os.environ.setdefault("MASTER_PORT", str(_free_port()))
        dist.init_process_group(
            backend=backend,
            rank=rank,
            world_size=world,
            timeout=datetime.timedelta(seconds=cfg.timeout_s),
            device_id=dev if dev.type == "cuda" else None,
        )
    ctx = DistContext(
        rank=rank,
        world_size=world,
        local_rank=local,
        strategy=cfg.strategy,
        backend=backend,
        seed_per_prompt=cfg.seed_per_prompt is not False,
    )
    return ctx, dev


@contextlib.contextmanager
def session(cfg: DistributedConfig, device: str = "auto") -> Iterator[tuple[DistContext, torch.device]]:
    """:func:`setup` on entry, :func:`teardown` on exit: ``with session(cfg.distributed, cfg.device) as
    (ctx, device): ...``."""
    ctx, dev = setup(cfg, device)
    try:
        yield ctx, dev
    except BaseException:
        teardown(ctx, wait_for_others=False)  # the other ranks may never get here
        raise
    teardown(ctx)


def teardown(ctx: DistContext, *, wait_for_others: bool = True) -> None:
    """Leave the process group (a no-op for a single process).

    Models wrapped by DDP or FSDP2 sit in reference cycles (module hooks) that hold the group; they are
    collected first, so that nothing is left to tear the group down at interpreter exit, in whatever order
    finalisation takes (an abort, "terminate called without an active exception", was seen there). After a
    clean run the ranks then meet, so that none closes its connections while another still uses them.
    """
    import gc

    import torch.distributed as dist

    if ctx.distributed and dist.is_initialized():
        gc.collect()
        if wait_for_others:
            dist.barrier()
        dist.destroy_process_group()


def pick_device(device: str, local_rank: int, world_size: int = 1) -> torch.device:
    """This rank's torch device for the ``device`` config value.

    ``auto``/``cuda``: the rank's own GPU, ``cuda:(LOCAL_RANK mod visible GPUs)`` (a launcher that shows each
    process only its own GPU makes that ``cuda:0``). An explicit ``cuda:i`` is honoured for one process; with
    several it would put every rank on GPU i, which NCCL refuses, so it is an error.
    """
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if dev.type != "cuda":
        return dev
    if not torch.cuda.is_available():
        raise ConfigError(f"device: {device!r} asked for, but CUDA is not available here")
    own = local_rank % torch.cuda.device_count()
    if dev.index is None:
        return torch.device("cuda", own)
    if world_size > 1 and dev.index != own:
        raise ConfigError(
            f"device: {device!r} would put all {world_size} ranks on GPU {dev.index}; "
            "use device=cuda (or auto): each rank takes cuda:LOCAL_RANK"
        )
    return dev


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- the model -----------------------------------------------------------------------------------------------


def fsdp_bf16(ctx: DistContext, device: torch.device, bf16: bool) -> bool:
    """Whether FSDP2 itself runs the model in bf16 (``MixedPrecisionPolicy``) in place of autocast: on CUDA
    with ``train.bf16``. Autocast over sharded weights would cache a bf16 copy of every gathered layer until
    backward, and all-gather float32; FSDP2 gathers bf16 and frees each layer after use."""
    return ctx.strategy == "fsdp" and device.type == "cuda" and bf16


def wrap_model(
    model: torch.nn.Module,
    ctx: DistContext,
    cfg: DistributedConfig | None = None,
    device: torch.device | None = None,
    *,
    param_dtype: torch.dtype | None = None,
) -> torch.nn.Module:
    """The training model for ``ctx.strategy``: DDP wrapper, FSDP2-sharded in place, or ``model`` itself.

    Every rank ends up with rank 0's weights (DDP broadcasts them when it wraps; for FSDP2 they are loaded
    from rank 0), so only rank 0 needs to have warm-started or loaded the policy.

    ``device`` is this rank's device (default: where the model is). DDP needs the model there already;
    FSDP2 moves each rank's shards there, so a model too large for one device can arrive on the CPU.
    FSDP2 shards each decoder layer (a module in the model's ``_no_split_modules`` classes, as transformers
    does) and then the root, so one layer's parameters are gathered at a time. The model is also flagged as
    FSDP-managed, which makes transformers' ``generate`` keep every rank stepping until all ranks finish
    (``synced_gpus``), as the sharded forward is a collective. ``param_dtype`` (FSDP2 only): compute dtype
    of the gathered parameters, with gradients reduced in float32 (the sharded master weights keep theirs).
    """
    if not ctx.distributed:
        return model
    if ctx.strategy == "ddp":
        from torch.nn.parallel import DistributedDataParallel as DDP

        dev = device if device is not None else next(model.parameters()).device
        model.to(dev)
        return DDP(model, device_ids=[dev.index] if dev.type == "cuda" else None)
    if ctx.strategy == "fsdp":
        import torch
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

        dev = device if device is not None else next(model.parameters()).device
        mesh = init_device_mesh(dev.type, (ctx.world_size,))
        reshard = True if cfg is None else cfg.fsdp_reshard_after_forward
        layer_classes = set(getattr(model, "_no_split_modules", None) or ())
        layers = [m for m in model.modules() if type(m).__name__ in layer_classes]
        if not layers:
            raise ConfigError(
                f"distributed.strategy=fsdp: no decoder layers found in {type(model).__name__} "
                "(its _no_split_modules is empty); use distributed.strategy=ddp"
            )
        # FSDP2 does not broadcast: rank 0's weights (e.g. after its warm-start) are loaded into every shard.
        rank0_state = {k: v.detach().cpu() for k, v in model.state_dict().items()} if ctx.is_main else {}
        mp = MixedPrecisionPolicy(
            param_dtype=param_dtype, reduce_dtype=torch.float32 if param_dtype is not None else None
        )
        for layer in layers:
            fully_shard(layer, mesh=mesh, reshard_after_forward=reshard, mp_policy=mp)
        fully_shard(model, mesh=mesh, reshard_after_forward=reshard, mp_policy=mp)
        load_full_model_state_dict(model, rank0_state, ctx)
        # transformers: generate(synced_gpus=True) under FSDP. torch types Module.__setattr__ values as
        # Tensor | Module, but any attribute can be set.
        model._is_fsdp_managed_module = True  # type: ignore[assignment]
        return model
    raise ConfigError(f"distributed.strategy: unknown strategy {ctx.strategy!r}")  # pragma: no cover


def wrap_reference(
    model: torch.nn.Module,
    ctx: DistContext,
    cfg: DistributedConfig,
    device: torch.device,
    *,
    param_dtype: torch.dtype | None = None,
) -> torch.nn.Module:
    """The frozen KL reference model on this rank, with rank 0's weights. Under FSDP2 it is sharded like
    the policy (its no-grad forward passes are collectives, which every rank runs equally often since each
    holds as many rollouts); otherwise it is a full copy on ``device``."""
    if ctx.strategy == "fsdp":
        return wrap_model(model, ctx, cfg, device, param_dtype=param_dtype)
    model.to(device)
    broadcast_module(model, ctx)
    return model


def broadcast_module(module: torch.nn.Module, ctx: DistContext) -> None:
    """Overwrite an unsharded module's parameters and buffers with rank 0's, in place (e.g. the frozen
    reference model of the KL term)."""
    if not ctx.distributed or ctx.world_size == 1:
        return
    import torch
    import torch.distributed as dist

    with torch.no_grad():
        for t in [*module.parameters(), *module.buffers()]:
            if ctx.backend == "nccl" and t.device.type != "cuda":
                tmp = t.detach().to(_reduce_device(ctx))
                dist.broadcast(tmp, src=0)
                t.copy_(tmp)
            else:
                dist.broadcast(t.data, src=0)


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The transformers model inside a DDP wrapper (FSDP2 shards in place: the model itself)."""
    return getattr(model, "module", model)


@contextlib.contextmanager
def gradient_sync(model: Any, enabled: bool) -> Iterator[None]:
    """Skip the gradient all-reduce for backward passes inside (gradient accumulation) unless ``enabled``.

    DDP: ``no_sync()``; FSDP2: ``set_requires_gradient_sync(False)``; anything else: nothing to do. The last
    micro-batch of a step must run with ``enabled=True`` on every rank. ``model``: any module (duck-typed).
    """
    if enabled:
        yield
        return
    if hasattr(model, "no_sync"):
        with model.no_sync():
            yield
        return
    if hasattr(model, "set_requires_gradient_sync"):
        model.set_requires_gradient_sync(False)
        try:
            yield
        finally:
            model.set_requires_gradient_sync(True)
        return
    yield


def loss_scale(ctx: DistContext) -> float:
    """Factor on each rank's loss so that DDP/FSDP's *average* of rank gradients is their *sum*: a loss
    already divided by global counts (:func:`global_sum`) then yields the whole-batch gradient."""
    return float(ctx.world_size) if ctx.distributed else 1.0


# -- collectives on small host values ------------------------------------------------------------------------


def _reduce_device(ctx: DistContext) -> torch.device:
    import torch

    return torch.device("cuda", torch.cuda.current_device()) if ctx.backend == "nccl" else torch.device("cpu")


def _all_reduce(ctx: DistContext, values: Sequence[float] | np.ndarray, op: str) -> np.ndarray:
    """Element-wise ``torch.distributed.ReduceOp.<op>`` over ranks of a vector of numbers (float64); a copy
    of the input itself on one process."""
    arr = np.asarray(values, dtype=np.float64)
    if not ctx.distributed or ctx.world_size == 1:
        return arr.copy()
    import torch
    import torch.distributed as dist

    t = torch.as_tensor(arr, device=_reduce_device(ctx))
    dist.all_reduce(t, op=getattr(dist.ReduceOp, op))
    return t.cpu().numpy()


def all_reduce_sums(ctx: DistContext, values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Element-wise sum over ranks of a vector of numbers (float64); the input itself on one process."""
    return _all_reduce(ctx, values, "SUM")


def all_reduce_max(ctx: DistContext, values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Element-wise max over ranks (float64)."""
    return _all_reduce(ctx, values, "MAX")


def global_sum(ctx: DistContext, value: float) -> float:
    """Sum of a number over ranks (e.g. the step's response tokens, the loss denominator)."""
    return float(all_reduce_sums(ctx, [value])[0])


def reduce_means(ctx: DistContext, means: dict[str, float], weight: float) -> dict[str, float]:
    """Weighted means over ranks: each rank's ``means`` were taken over ``weight`` items (rollouts or
    tokens); returns Σ_r w_r·m_r / Σ_r w_r per key (NaN when no rank has items). All ranks must pass the
    same keys in the same order."""
    keys = list(means)
    if not ctx.distributed or ctx.world_size == 1:
        return dict(means)
    vec = [float(means[k]) * weight if weight else 0.0 for k in keys] + [float(weight)]
    total = all_reduce_sums(ctx, vec)
    w = total[-1]
    return {k: (float(total[i] / w) if w else float("nan")) for i, k in enumerate(keys)}


#: How each step metric of :class:`maxrl_rs.trainer.Trainer` combines over ranks: ``sum`` (the loss is each
#: rank's share of a globally normalised loss; counts and rates add up), ``max`` (a step lasts as long
#: as its slowest rank), or a mean weighted by what the rank's value was averaged over (``kept`` rollouts with
#: a verdict, ``groups``, ``update_tokens``; anything else by rollouts).
METRIC_RULES: dict[str, str] = {
    "loss": "sum",
    "tokens_per_s": "sum",
    "update_tokens": "sum",
    "order_clamped_groups": "sum",
    "reward": "kept",
    "frac_all_fail": "groups",
    "frac_all_success": "groups",
    "solved_frac": "groups",
    "pg_loss": "update_tokens",
    "clip_frac": "update_tokens",
    "dual_clip_frac": "update_tokens",
    "ratio": "update_tokens",
    "approx_kl": "update_tokens",
    "kl": "update_tokens",
    "entropy": "update_tokens",
    "tis_weight": "update_tokens",
    "tis_capped_frac": "update_tokens",
}


def metric_rule(key: str) -> str:
    if key in METRIC_RULES:
        return METRIC_RULES[key]
    return "max" if key.startswith("time_") else "rollouts"


def reduce_step_metrics(ctx: DistContext, metrics: dict[str, float], batch: Any) -> dict[str, float]:
    """A training step's metrics over all ranks (:data:`METRIC_RULES`); ``metrics`` itself on one process.

    ``batch`` is the rank's :class:`~maxrl_rs.trainer.StepBatch` (its rollouts, groups and mask give the
    weights). Ranks may hold different keys (a rank whose rollouts all had zero advantage has no loss
    statistics): a missing key has weight 0 there.
    """
    if not ctx.distributed or ctx.world_size == 1:
        return dict(metrics)
    weights = {
        "rollouts": float(len(batch.rollouts)),
        "kept": float(np.sum(batch.mask)),
        "groups": float(len(np.unique(batch.rollouts.group_ids))),
        "update_tokens": float(metrics.get("update_tokens", 0.0)),
    }
    ranks = all_gather_object(ctx, ({k: float(v) for k, v in metrics.items()}, weights))
    out: dict[str, float] = {}
    for key in dict.fromkeys(k for m, _ in ranks for k in m):  # first-seen order, the same on every rank
        rule = metric_rule(key)
        present = [(m[key], w) for m, w in ranks if key in m]
        if rule == "sum":
            out[key] = float(sum(v for v, _ in present))
        elif rule == "max":
            out[key] = float(max(v for v, _ in present))
        else:
            total = sum(w[rule] for v, w in present if w[rule] > 0 and np.isfinite(v))
            acc = sum(v * w[rule] for v, w in present if w[rule] > 0 and np.isfinite(v))
            out[key] = float(acc / total) if total > 0 else float("nan")
    return out


def all_gather_object(ctx: DistContext, obj: Any) -> list[Any]:
    """Every rank's ``obj`` (picklable), in rank order; ``[obj]`` on one process."""
    if not ctx.distributed or ctx.world_size == 1:
        return [obj]
    import torch.distributed as dist

    out: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(ctx: DistContext, obj: Any, src: int = 0) -> Any:
    """Rank ``src``'s ``obj`` on every rank."""
    if not ctx.distributed or ctx.world_size == 1:
        return obj
    import torch.distributed as dist

    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]


def barrier(ctx: DistContext) -> None:
    if ctx.distributed and ctx.world_size > 1:
        import torch.distributed as dist

        dist.barrier()


# -- state for checkpoints -----------------------------------------------------------------------------------


def reshard(model: torch.nn.Module) -> None:
    """Put FSDP2 modules back on their sharded parameters (a no-op for other models). A forward pass that
    does not reshard after itself (``distributed.fsdp_reshard_after_forward = false``) leaves a module
    holding unsharded parameters, while state dicts are taken over the sharded ones the optimizer owns."""
    from torch.distributed.fsdp import FSDPModule

    for module in unwrap(model).modules():
        if isinstance(module, FSDPModule):
            module.reshard()


@contextlib.contextmanager
def gathered_for_generation(
    model: torch.nn.Module, ctx: DistContext, cfg: DistributedConfig
) -> Iterator[None]:
    """Under FSDP2 with ``fsdp_gather_for_generation``: layers keep their gathered parameters across the
    forward passes inside (token-by-token generation), and are resharded on exit. Otherwise a no-op."""
    if ctx.strategy != "fsdp" or not cfg.fsdp_gather_for_generation:
        yield
        return
    inner = cast("FSDPModule", unwrap(model))  # strategy fsdp: fully_shard made it one
    inner.set_reshard_after_forward(False)  # every FSDP module below too
    try:
        yield
    finally:
        inner.set_reshard_after_forward(cfg.fsdp_reshard_after_forward)
        reshard(model)


def full_model_state_dict(model: torch.nn.Module, ctx: DistContext) -> dict[str, Any]:
    """The complete (unsharded) model state on CPU, on rank 0; an empty dict on other ranks.

    A collective under FSDP: every rank must call it. Keys are the transformers model's own (no DDP
    ``module.`` prefix), ready for ``save_pretrained(state_dict=...)``.
    """
    if not ctx.distributed:
        return unwrap(model).state_dict()
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    reshard(model)
    state = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    if not ctx.is_main:
        return {}
    # Tied weights (lm_head = embed_tokens) come out under both names; keep the name the model owns.
    inner = unwrap(model)
    owned = {n for n, _ in inner.named_parameters()} | {n for n, _ in inner.named_buffers()}
    return {k: v for k, v in state.items() if k in owned}


def load_full_model_state_dict(model: torch.nn.Module, state: dict[str, Any], ctx: DistContext) -> None:
    """Load a complete model state (read on rank 0 only under FSDP/DDP; broadcast to the others)."""
    if not ctx.distributed:
        unwrap(model).load_state_dict(state)
        return
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict

    set_model_state_dict(
        model, state, options=StateDictOptions(full_state_dict=True, broadcast_from_rank0=True, strict=False)
    )


def full_optimizer_state_dict(
    model: torch.nn.Module, optimizer: torch.optim.Optimizer, ctx: DistContext
) -> dict[str, Any]:
    """The optimizer state keyed by parameter name, unsharded, on rank 0 (collective under FSDP)."""
    if not ctx.distributed:
        return optimizer.state_dict()
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_optimizer_state_dict

    reshard(model)
    state = get_optimizer_state_dict(
        model, optimizer, options=StateDictOptions(full_state_dict=True, cpu_offload=True)
    )
    return state if ctx.is_main else {}


def load_full_optimizer_state_dict(
    model: torch.nn.Module, optimizer: torch.optim.Optimizer, state: dict[str, Any], ctx: DistContext
) -> None:
    """Load :func:`full_optimizer_state_dict`'s output (rank 0's copy is broadcast and resharded)."""
    if not ctx.distributed:
        optimizer.load_state_dict(state)
        return
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_optimizer_state_dict

    set_optimizer_state_dict(
        model,
        optimizer,
        optim_state_dict=state,
        options=StateDictOptions(full_state_dict=True, broadcast_from_rank0=True),
    )


# -- sampling independent of the rank layout -----------------------------------------------------------------


def prompt_seed(base_seed: int, step: int, group_id: int) -> int:
    """Sampling seed of one prompt from (run seed, step, prompt id) only (the vLLM backend uses the same)."""
    from maxrl_rs.rollout.vllm import prompt_seed as seed_of

    return seed_of(base_seed, step, group_id)


def generate_per_prompt(
    backend: Any,
    prompts: Sequence[Sequence[int]],
    group_ids: Sequence[int],
    sampling: Any,
    *,
    base_seed: int,
    step: int,
    pad_id: int,
) -> Any:
    """``backend.generate`` one prompt at a time, each under its own seed (:func:`prompt_seed`), then
    joined: a prompt's N rollouts do not depend on the other prompts or on the rank that samples it.

    The global torch RNG is restored afterwards, so training draws are unaffected. Backends that seed each
    prompt themselves (``seeds_per_prompt = True``, e.g. vLLM) are called once for the whole batch.
    """
    import torch

    if getattr(backend, "seeds_per_prompt", False):
        backend.set_seed_key(base_seed, step)
        return backend.generate(prompts, group_ids, sampling)
    device = _backend_device(backend)
    devices = [device.index or 0] if device is not None and device.type == "cuda" else []
    parts = []
    with torch.random.fork_rng(devices=devices):
        for prompt, gid in zip(prompts, group_ids, strict=True):
            seed = prompt_seed(base_seed, step, int(gid))
            torch.manual_seed(seed)
            if devices:
                torch.cuda.manual_seed_all(seed)
            parts.append(backend.generate([prompt], [gid], sampling))
    return concat_rollouts(parts, pad_id)


def _backend_device(backend: Any) -> Any:
    model = getattr(backend, "model", None)
    if model is None:
        return None
    try:
        return next(model.parameters()).device
    except (StopIteration, AttributeError, TypeError):
        return None


def concat_rollouts(parts: Sequence[Any], pad_id: int) -> Any:
    """One :class:`~maxrl_rs.rollout.base.Rollouts` from several: prompts re-padded on the left and
    responses on the right (with ``pad_id``, mask 0) to common widths, in order."""
    import torch

    if not parts:
        raise ConfigError("concat_rollouts needs at least one batch")
    if len(parts) == 1:
        return parts[0]
    p_width = max(r.prompt_ids.shape[1] for r in parts)
    r_width = max(r.response_ids.shape[1] for r in parts)
    pad = torch.nn.functional.pad

    def left(t: Any, value: int) -> Any:
        return pad(t, (p_width - t.shape[1], 0), value=value)

    def right(t: Any, value: float) -> Any:
        return pad(t, (0, r_width - t.shape[1]), value=value)

    logps = [r.sampler_logp for r in parts]

    return replace(
        parts[0],
        prompt_ids=torch.cat([left(r.prompt_ids, pad_id) for r in parts]),
        prompt_mask=torch.cat([left(r.prompt_mask, 0) for r in parts]),
        response_ids=torch.cat([right(r.response_ids, pad_id) for r in parts]),
        response_mask=torch.cat([right(r.response_mask, 0) for r in parts]),
        texts=[t for r in parts for t in r.texts],
        group_ids=np.concatenate([np.asarray(r.group_ids) for r in parts]),
        finished=np.concatenate([np.asarray(r.finished) for r in parts]),
        sampler_logp=None
        if any(t is None for t in logps)
        else torch.cat([right(t, float("nan")) for t in logps]),
    )
