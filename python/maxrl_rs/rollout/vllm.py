"""Rollouts with an in-process vLLM engine sharing the training GPU (``rollout.backend = "vllm"``).

One ``vllm.LLM`` lives in each training process, on that process's GPU. It is built from the training
model's config with ``load_format="dummy"`` (no checkpoint read from disk) and receives the policy's weights
through :meth:`VLLMBackend.sync_weights` before the first rollout and after every optimizer step. Training and
generation share the GPU by time: with ``rollout.vllm.sleep = true`` the engine is put to sleep (level 1:
weights offloaded to CPU memory, KV cache freed) while the trainer runs, and woken for weight loading and
sampling; ``rollout.vllm.gpu_memory_utilization`` caps what vLLM takes while awake.

Followed, for vLLM 0.10 onwards (V1 engine):

- ``distributed_executor_backend="external_launcher"``: the engine runs inside this process, one worker,
  under torchrun or alone (vLLM's torchrun examples, ``examples/features/torchrun/`` in recent releases,
  ``examples/offline_inference/torchrun_example.py`` before; TRL's ``vllm_mode="colocate"`` creates its
  engine the same way, in ``trl/generation/vllm_generation.py``).
- the architecture: vLLM picks its model class from ``architectures`` in ``config.json``, which a model
  built with ``from_config`` leaves empty, so it is filled in (:func:`save_engine_config`).
- weights: ``LLM.apply_model(fn)`` runs ``fn`` on the engine's ``nn.Module`` (``vllm/entrypoints/llm.py``;
  in-process, so nothing is serialised), whose ``load_weights(iterable of (hf_name, tensor))`` takes names
  as in a Hugging Face checkpoint (TRL reaches the same ``load_weights`` through
  ``llm_engine.model_executor.driver_worker``).
- ``load_format="dummy"`` then pushing the trainer's tensors in place with ``load_weights``, as TRL's
  colocated engine does (vLLM's own in-place reload, ``Worker.reload_weights``, reads the checkpoint again).
- sleep mode: ``LLM(enable_sleep_mode=True)``, ``llm.sleep(level=1)``; woken in two stages,
  ``wake_up(tags=["weights"])``, the weight load, then ``wake_up(tags=["kv_cache"])``, after
  ``torch.cuda.empty_cache()`` (vLLM maps its memory outside torch's caching allocator), as TRL does, so the
  KV cache is not allocated while weights are copied. While asleep the engine's memory is unmapped: nothing
  may touch its weights (:meth:`VLLMBackend.apply_model` wakes them first). Level 2 would discard the
  weights instead of copying them to CPU (vLLM saves and restores the buffers, rotary tables included), so
  every wake would need a full reload, also when no optimizer step came in between.
- the device: vLLM puts its worker on ``cuda:$LOCAL_RANK`` and asserts that this GPU is visible; under a
  launcher that shows each rank only its own GPU, ``LOCAL_RANK`` is not that GPU's index, so the engine is
  built with ``LOCAL_RANK`` set to the training model's device index (:func:`engine_local_rank`).
- sampling: ``SamplingParams(n, temperature, top_p, top_k, max_tokens, stop_token_ids, seed)``; each prompt
  gets its own ``seed``, a function of (run seed, step, prompt id), whichever rank or batch it is in. The
  logits themselves can still differ in the last bits with the batch's shape and prefix-cache hits (vLLM's
  "Reproducibility" notes; ``VLLM_BATCH_INVARIANT=1`` removes that), so rollouts are reproducible in
  distribution across rank layouts, not bit for bit. Temperatures follow vLLM's rules
  (:func:`check_temperature`): 0 is greedy, where vLLM refuses n > 1, so one response is asked for and
  repeated. The training pass recomputes log-probs; the engine's own (``logprobs=0``: the sampled token's)
  are requested only for the truncated importance-sampling correction (``algo.tis_cap``), with
  ``logprobs_mode="processed_logprobs"`` (vLLM >= 0.10.2) so that they are those of the distribution
  sampled from (after temperature and top-k / top-p), not of the raw logits.
- ``generation_config="vllm"``: the engine's default sampling settings are vLLM's, not the checkpoint's
  ``generation_config.json``; only what the loss models is sampled with (the HF backend does the same).
- shutdown: :meth:`VLLMBackend.close` shuts the engine core down (``llm.llm_engine.engine_core.shutdown()``,
  the same call in 0.10 and 0.33) rather than waiting for garbage collection, since vLLM's sleep-mode
  allocator admits one engine's weights per process.

Tested API surface: vLLM 0.10.0 and 0.33.0 (V1 engine), whose sources these calls were checked against.

What needs no GPU is tested without one: the conversion of vLLM's outputs into
:class:`~maxrl_rs.rollout.base.Rollouts` (:func:`rollouts_from_outputs`, with objects shaped like vLLM's
``RequestOutput``), the sampling keywords, the engine config and the order of the engine calls (against a
recording stand-in for ``vllm.LLM`` that enforces vLLM's range checks, its sleeping memory and its one engine
per process).
"""

from __future__ import annotations

import contextlib
import copy
import gc
import json
import os
import socket
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from maxrl_rs.errors import ConfigError
from maxrl_rs.options import GREEDY_BELOW as GREEDY_BELOW
from maxrl_rs.options import MAX_TEMPERATURE as MAX_TEMPERATURE
from maxrl_rs.options import MIN_TEMPERATURE as MIN_TEMPERATURE
from maxrl_rs.options import VLLMOptions as VLLMOptions
from maxrl_rs.options import check_temperature as check_temperature
from maxrl_rs.rollout.base import (
    RolloutBackend,
    Rollouts,
    SamplingParams,
    check_request,
    stop_token_ids,
    warn_ignored_generation_settings,
)

INSTALL_HINT = (
    "install it with `pip install 'maxrl-rs[vllm]'` on a machine with a CUDA GPU, "
    "or use the transformers backend: --set rollout.backend=hf"
)


def is_greedy(temperature: float) -> bool:
    """Whether vLLM samples greedily at ``temperature`` (its ``temperature < _SAMPLING_EPS`` test)."""
    return temperature < GREEDY_BELOW


def check_options(options: VLLMOptions, temperatures: Mapping[str, float] | None = None) -> None:
    """Range checks for ``[rollout.vllm]``, and for the sampling temperatures the engine will be given
    (``temperatures``: config key -> value, each checked with :func:`check_temperature`)."""
    for key, value in (temperatures or {}).items():
        check_temperature(value, key)
    options.check()


def require_vllm() -> Any:
    """The ``vllm`` module, or a ConfigError saying how to get it (and that it needs CUDA)."""
    try:
        import vllm
    except ImportError as e:
        raise ConfigError(
            f"rollout.backend=vllm: the vllm package is not installed ({e}); {INSTALL_HINT}"
        ) from None
    import torch

    if not torch.cuda.is_available():
        raise ConfigError(f"rollout.backend=vllm needs a CUDA GPU and none is visible here; {INSTALL_HINT}")
    return vllm


# -- pure conversion (tested without vLLM) -------------------------------------------------------------------


def prompt_seed(base_seed: int, step: int, group_id: int) -> int:
    """Sampling seed of one prompt: a function of (run seed, step, prompt id) only, so the prompt's rollouts
    are the same whichever rank samples it and whatever else is in the batch. In 0 .. 2**31 - 1, inside
    every seed range vLLM's per-request generators accept; the run seed enters mod 2**32."""
    ss = np.random.SeedSequence([int(base_seed) & 0xFFFFFFFF, int(step), int(group_id) & 0xFFFFFFFFFFFF])
    return int(ss.generate_state(1, dtype=np.uint32)[0] & 0x7FFFFFFF)


#: ``LLM(seed=...)`` reaches ``np.random.seed`` (``set_random_seed`` in 0.10 and 0.33), which takes
#: 0 .. 2**32 - 1 only.
ENGINE_SEED_MODULUS = 2**32


def engine_seed(seed: int) -> int:
    """The run seed reduced into vLLM's engine seed range: ``seed mod 2**32`` (Python's modulo, so a negative
    seed maps into range too; seeds that differ by a multiple of 2**32 seed the engine alike, as
    :func:`prompt_seed` already treats them)."""
    return int(seed) % ENGINE_SEED_MODULUS


def completion_logprobs(completion: Any, tokens: Sequence[int]) -> list[float]:
    """The engine's log-prob of each of ``tokens`` (from :func:`completion_tokens`) in one
    ``CompletionOutput``: ``completion.logprobs[t][token_id].logprob`` (requested with ``logprobs=0``, the
    sampled token only); NaN for a stop token put back by :func:`completion_tokens`."""
    steps = getattr(completion, "logprobs", None)
    if steps is None:
        raise ConfigError("vLLM returned no log-probs though they were requested (SamplingParams.logprobs=0)")
    out = []
    for t, token in enumerate(tokens):
        entry = steps[t] if t < len(steps) else None
        lp = entry.get(int(token)) if entry is not None else None
        out.append(float("nan") if lp is None else float(getattr(lp, "logprob", lp)))
    return out


def completion_tokens(completion: Any, eos_ids: Sequence[int]) -> tuple[list[int], bool]:
    """Token ids of one ``CompletionOutput`` up to and including the first EOS, and whether there was one.

    vLLM keeps the EOS / stop token in ``token_ids`` (``finish_reason == "stop"``, ``stop_reason`` the token
    id, or None for the model's own EOS); if a version left a stop token id out, it is put back so the
    training pass learns to emit it.
    """
    tokens = [int(t) for t in completion.token_ids]
    eos = set(int(e) for e in eos_ids)
    for i, t in enumerate(tokens):
        if t in eos:
            return tokens[: i + 1], True
    stop = getattr(completion, "stop_reason", None)
    if getattr(completion, "finish_reason", None) == "stop" and isinstance(stop, int) and stop in eos:
        return [*tokens, stop], True
    return tokens, False


def rollouts_from_outputs(
    outputs: Sequence[Any],
    prompts: Sequence[Sequence[int]],
    group_ids: Sequence[int],
    n: int,
    *,
    eos_ids: Sequence[int],
    pad_id: int,
    decode: Callable[[list[list[int]]], list[str]],
    device: Any = "cpu",
    logprobs: bool = False,
) -> Rollouts:
    """:class:`Rollouts` from vLLM ``RequestOutput`` objects, one per prompt and in prompt order.

    Each output must carry exactly ``n`` completions (``.outputs``, each with ``.index``, ``.token_ids``,
    ``.finish_reason``, ``.stop_reason``); they are ordered by ``.index``. Prompts are left-padded and
    responses right-padded with ``pad_id`` as the HF backend does, ``decode`` turns the response token
    lists (EOS included) into the texts to grade. ``logprobs``: fill ``Rollouts.sampler_logp`` from the
    completions' log-probs (:func:`completion_logprobs`).
    """
    import torch

    from maxrl_rs.rollout.hf import left_pad

    if len(outputs) != len(prompts) or len(prompts) != len(group_ids):
        raise ConfigError(
            f"{len(outputs)} vLLM outputs for {len(prompts)} prompts and {len(group_ids)} group ids"
        )
    rows: list[list[int]] = []
    row_logp: list[list[float]] = []
    finished: list[bool] = []
    for i, out in enumerate(outputs):
        given = getattr(out, "prompt_token_ids", None)
        if given is not None and [int(t) for t in given] != [int(t) for t in prompts[i]]:
            raise ConfigError(f"vLLM output {i} answers a different prompt than prompt {i}")
        completions = sorted(out.outputs, key=lambda c: c.index)
        if len(completions) != n:
            raise ConfigError(f"vLLM output {i} has {len(completions)} completions, expected n={n}")
        for c in completions:
            tokens, done = completion_tokens(c, eos_ids)
            if logprobs:
                row_logp.append(completion_logprobs(c, tokens))
            rows.append(tokens)
            finished.append(done)
    width = max(1, max(len(r) for r in rows))
    response_ids = torch.full((len(rows), width), int(pad_id), dtype=torch.long)
    response_mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        if r:
            response_ids[i, : len(r)] = torch.as_tensor(r, dtype=torch.long)
            response_mask[i, : len(r)] = 1
    sampler_logp = None
    if logprobs:
        sampler_logp = torch.full((len(rows), width), float("nan"), dtype=torch.float32)
        for i, lp in enumerate(row_logp):
            sampler_logp[i, : len(lp)] = torch.as_tensor(lp, dtype=torch.float32)
        sampler_logp = sampler_logp.to(device)
    prompt_ids, prompt_mask = left_pad(prompts, int(pad_id), "cpu")
    return Rollouts(
        prompt_ids=prompt_ids.repeat_interleave(n, dim=0).to(device),
        prompt_mask=prompt_mask.repeat_interleave(n, dim=0).to(device),
        response_ids=response_ids.to(device),
        response_mask=response_mask.to(device),
        texts=decode(rows),
        group_ids=np.repeat(np.asarray(group_ids, dtype=np.int64), n),
        finished=np.asarray(finished, dtype=bool),
        sampler_logp=sampler_logp,
    )


def vllm_sampling_kwargs(
    sampling: SamplingParams, *, eos_ids: Sequence[int], seed: int | None
) -> dict[str, Any]:
    """Keyword arguments of ``vllm.SamplingParams`` for our :class:`SamplingParams` (top_k 0 = off is left
    to vLLM's default, which also means off). Greedy sampling (:func:`is_greedy`) asks for one response
    (vLLM refuses n > 1 there); :func:`repeat_completions` makes the n copies. The temperature must pass
    :func:`check_temperature`."""
    kwargs: dict[str, Any] = {
        "n": 1 if is_greedy(sampling.temperature) else sampling.n,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "max_tokens": sampling.max_new_tokens,
        "stop_token_ids": list(eos_ids),
        "seed": seed,
        "detokenize": False,  # texts are decoded here, with the trainer's tokenizer
    }
    if sampling.top_k > 0:
        kwargs["top_k"] = sampling.top_k
    if sampling.min_p > 0:
        kwargs["min_p"] = sampling.min_p
    if sampling.logprobs:
        kwargs["logprobs"] = 0  # the sampled token's log-prob only
    return kwargs


@dataclass
class _Repeated:
    """A ``RequestOutput`` stand-in whose one completion is repeated (greedy sampling, n > 1)."""

    prompt_token_ids: Any
    outputs: list[Any]


def repeat_completions(outputs: Sequence[Any], n: int) -> list[Any]:
    """Each output's single completion ``n`` times: greedy responses to one prompt are all the same."""
    repeated: list[Any] = []
    for i, out in enumerate(outputs):
        if len(out.outputs) != 1:
            raise ConfigError(f"vLLM output {i} has {len(out.outputs)} greedy completions, expected 1")
        repeated.append(_Repeated(getattr(out, "prompt_token_ids", None), [out.outputs[0]] * n))
    return repeated


def architecture_key(model: Any) -> str:
    """What the engine is built from, as text: the model config without the keys that vary between saves of
    the same architecture (name, dtype, library version). Two models with the same key can share an engine."""
    config = model.config.to_dict()
    for key in ("_name_or_path", "transformers_version", "torch_dtype", "dtype", "architectures"):
        config.pop(key, None)
    return json.dumps({"class": type(model).__name__, "config": config}, sort_keys=True, default=str)


def engine_sampling_kwargs(version: str) -> dict[str, Any]:
    """``vllm.LLM`` keywords that make the engine sample only as told: vLLM's own defaults instead of the
    checkpoint's generation config, and (vLLM >= 0.10.2) log-probs of the processed distribution."""
    from packaging.version import InvalidVersion, Version

    kwargs: dict[str, Any] = {"generation_config": "vllm"}
    try:
        recent = Version(version) >= Version("0.10.2")
    except InvalidVersion:
        recent = False
    if recent:
        kwargs["logprobs_mode"] = "processed_logprobs"
    return kwargs


def save_engine_config(model: Any, path: str | os.PathLike[str]) -> None:
    """Write ``model``'s config and generation config to ``path`` for ``vllm.LLM(model=path,
    load_format="dummy")``. vLLM chooses its model class from ``config.architectures``; a model built with
    ``from_config`` has none, so the model's own class name is filled in."""
    config = copy.deepcopy(model.config)
    if not getattr(config, "architectures", None):
        config.architectures = [type(model).__name__]
    config.save_pretrained(path)
    model.generation_config.save_pretrained(path)


# -- the engine (needs vLLM and CUDA) ------------------------------------------------------------------------


def full_named_parameters(model: Any) -> Iterator[tuple[str, Any]]:
    """(Hugging Face name, full tensor) of every parameter of the training model, tied weights once.

    Unwraps DDP (``.module``); FSDP2 parameters are DTensors gathered one at a time with ``full_tensor()``,
    a collective, so every rank must walk the parameters in the same order (each loads its own engine).
    """
    inner = getattr(model, "module", model)
    seen: set[int] = set()
    for name, param in inner.named_parameters():
        if id(param) in seen:
            continue
        seen.add(id(param))
        data = param.detach()
        if hasattr(data, "full_tensor"):
            data = data.full_tensor()
        yield name.replace("_checkpoint_wrapped_module.", ""), data


def _ensure_launcher_env() -> None:
    """``external_launcher`` reads torchrun's variables; outside torchrun act as a world of one. The engine
    core must run in this process (vLLM also turns multiprocessing off for this launcher), so that
    ``apply_model`` hands the weights over by reference. ``LOCAL_RANK`` is set for the engine's construction
    only (:func:`engine_local_rank`)."""
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    os.environ.setdefault("RANK", "0")
    os.environ.setdefault("WORLD_SIZE", "1")
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    if "MASTER_PORT" not in os.environ:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            os.environ["MASTER_PORT"] = str(s.getsockname()[1])


def engine_device_index(model: Any) -> int:
    """Index, among the visible GPUs, of the GPU the training model is on (the current CUDA device when the
    model is elsewhere): the GPU the engine must share with it."""
    import torch

    param = next(iter(getattr(model, "module", model).parameters()), None)
    if param is not None and param.device.type == "cuda" and param.device.index is not None:
        return int(param.device.index)
    return int(torch.cuda.current_device())


@contextlib.contextmanager
def engine_local_rank(device_index: int) -> Iterator[None]:
    """``LOCAL_RANK`` set to ``device_index`` while the engine is built; the previous value (or none) after.

    vLLM's ``external_launcher`` worker takes its GPU from ``int(os.environ["LOCAL_RANK"])``
    (``ExecutorWithExternalLauncher._distributed_args``) and uses it as a visible-device index:
    ``cuda:{local_rank}`` in 0.10, after ``assert local_rank < torch.accelerator.device_count()`` in 0.33;
    later it reads the worker's stored value, not the variable. A launcher that shows each rank only its
    own GPU gives rank r ``LOCAL_RANK=r`` and one visible GPU, which that assert refuses, and a single
    process on ``cuda:1`` would have its engine on ``cuda:0``.
    """
    import torch

    count = torch.cuda.device_count()
    if not 0 <= device_index < count:
        raise ConfigError(
            f"rollout.backend=vllm: the training model is on cuda:{device_index} but {count} GPU(s) are "
            "visible to this process"
        )
    before = os.environ.get("LOCAL_RANK")
    os.environ["LOCAL_RANK"] = str(device_index)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("LOCAL_RANK", None)
        else:
            os.environ["LOCAL_RANK"] = before


def shutdown_engine(llm: Any) -> None:
    """Shut ``llm``'s engine core down now: ``llm.llm_engine.engine_core.shutdown()`` (the in-process client's
    ``shutdown`` in 0.10 and 0.33). The engine's sleep-mode allocations would otherwise stop the next engine
    of this process at ``CuMem allocator can only be used for one instance per process``: 0.33 releases the
    worker's memory there and undoes the ``gc.freeze()`` of its start, without which the engine's objects are
    never collected; in 0.10 the memory goes with the engine's objects, collected by the caller
    (:meth:`VLLMBackend.close`). Call it once per engine: 0.10's client does not guard against a second call.

    vLLM 0.33's ``EngineCore.shutdown`` also runs ``cleanup_dist_env_and_memory``, which destroys torch's
    default process group, the training one included; close the backend after the last collective.
    """
    engine_core = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
    if engine_core is not None:
        engine_core.shutdown()


class VLLMBackend(RolloutBackend):
    """Samples with an in-process ``vllm.LLM`` on the training GPU; weights copied in by :meth:`sync_weights`.

    Args:
        model: the training model (a transformers causal LM, possibly wrapped by DDP or FSDP2).
        tokenizer: its tokenizer (EOS and pad ids; decoding of the responses).
        options: :class:`VLLMOptions`.
        seed: run seed; prompt i of step s is sampled with ``prompt_seed(seed, s, group_ids[i])``.
    """

    #: Each prompt is sampled under its own seed (``SamplingParams(seed=...)``): no per-prompt loop needed.
    seeds_per_prompt = True

    def __init__(
        self, model: Any, tokenizer: Any, *, options: VLLMOptions | None = None, seed: int = 0
    ) -> None:
        vllm = require_vllm()
        import torch

        self.options = options or VLLMOptions()
        check_options(self.options)
        if tokenizer.eos_token_id is None:
            raise ConfigError("model.path: the tokenizer has no EOS token; rollouts could never stop")
        inner = getattr(model, "module", model)
        self.eos_ids = stop_token_ids(inner, tokenizer)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        warn_ignored_generation_settings(inner, "vllm")
        self.tokenizer = tokenizer
        self.seed = int(seed)
        self.step = 0
        self._vllm = vllm
        device_index = engine_device_index(inner)
        self._device = torch.device("cuda", device_index)
        dtype = self.options.dtype
        if dtype == "auto":
            dtype = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        # vLLM reads only the architecture from disk (load_format="dummy"); the weights come from the trainer.
        self._config_dir = tempfile.TemporaryDirectory(prefix="maxrl-vllm-")
        save_engine_config(inner, self._config_dir.name)
        self._architecture = architecture_key(inner)
        _ensure_launcher_env()
        # The in-process engine seeds Python's, NumPy's and torch's global generators with the (reduced)
        # seed; a resumed run restores its own RNG state after the backend is built.
        with engine_local_rank(device_index):
            self.llm = vllm.LLM(
                model=self._config_dir.name,
                load_format="dummy",
                skip_tokenizer_init=True,  # prompts go in as token ids, responses come out as token ids
                dtype=dtype,
                gpu_memory_utilization=self.options.gpu_memory_utilization,
                max_model_len=self.options.max_model_len,
                enable_sleep_mode=self.options.sleep,
                enforce_eager=self.options.enforce_eager,
                distributed_executor_backend="external_launcher",
                tensor_parallel_size=1,
                seed=engine_seed(self.seed),
                **engine_sampling_kwargs(getattr(vllm, "__version__", "0")),
            )
        self._sleeping: set[str] = set()  # the engine's memory tags now asleep (unmapped)
        self._pending: Any = model  # the engine holds random weights until the first load

    @staticmethod
    def check_available() -> None:
        """Fail early (before any model is built) when vLLM or CUDA is missing."""
        require_vllm()

    @classmethod
    def from_config(cls, model: Any, tokenizer: Any, config: Any, *, seed: int = 0) -> VLLMBackend:
        """Build from the ``[rollout]`` section (its ``vllm`` sub-section holds the engine options)."""
        return cls(model, tokenizer, options=getattr(config, "vllm", None), seed=seed)

    def set_seed_key(self, base_seed: int, step: int) -> None:
        """Run seed and training step of the prompts that come next (with the prompt id, they make each
        prompt's sampling seed)."""
        self.seed, self.step = int(base_seed), int(step)

    def _wake(self, tag: str) -> None:
        """Wake the engine's ``weights`` or ``kv_cache`` memory (a no-op while that memory is awake)."""
        if tag not in self._sleeping:
            return
        if tag == "weights":
            import torch

            torch.cuda.empty_cache()  # what training freed goes back to the driver, where vLLM maps from
        self.llm.wake_up(tags=[tag])
        self._sleeping.discard(tag)

    def sleep(self) -> None:
        """Free vLLM's GPU memory for training (no-op without ``rollout.vllm.sleep``)."""
        if self.options.sleep and not self._sleeping:
            self.llm.sleep(level=1)
            self._sleeping = {"weights", "kv_cache"}

    def apply_model(self, fn: Callable[[Any], Any]) -> list[Any]:
        """``fn`` run on the engine's ``nn.Module`` (vLLM's ``LLM.apply_model``: one result per worker), with
        the weights woken first: while asleep they are unmapped GPU memory. Pending weights are loaded first,
        so ``fn`` sees what the next rollout samples from. Return CPU copies, not views of GPU tensors."""
        self._wake("weights")
        self._load_pending()
        return list(self.llm.apply_model(fn))

    def sync_weights(self, model: Any) -> None:
        """Mark ``model``'s weights for loading; they are copied in when the next rollout starts, so the
        engine stays asleep (its memory free) until the trainer has released its gradients."""
        self._pending = model

    def reuse_for(self, model: Any, tokenizer: Any) -> bool:
        """Sample from ``model`` next (its weights are loaded at the next rollout) if it has this engine's
        architecture and stop tokens: one engine serves every run of a ``maxrl eval`` comparison, since a
        second in-process engine would need memory the first may not have returned."""
        inner = getattr(model, "module", model)
        if architecture_key(inner) != self._architecture or stop_token_ids(inner, tokenizer) != self.eos_ids:
            return False
        self.tokenizer = tokenizer
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        self.sync_weights(model)
        return True

    def _load_pending(self) -> None:
        import torch

        model, self._pending = self._pending, None
        if model is None:
            return
        weights = full_named_parameters(model)
        with torch.no_grad():
            loaded = self.llm.apply_model(lambda m: m.load_weights(weights=weights))
        if loaded and loaded[0] is not None and len(loaded[0]) == 0:
            raise ConfigError(
                "vLLM loaded none of the training model's weights: parameter names do not match"
            )
        # Cached prefixes were computed with the old weights.
        self.llm.reset_prefix_cache()

    def generate(
        self, prompts: Sequence[Sequence[int]], group_ids: Sequence[int], sampling: SamplingParams
    ) -> Rollouts:
        check_request(prompts, group_ids)
        check_temperature(sampling.temperature)
        self._wake("weights")
        self._load_pending()
        self._wake("kv_cache")
        params = [
            self._vllm.SamplingParams(
                **vllm_sampling_kwargs(
                    sampling, eos_ids=self.eos_ids, seed=prompt_seed(self.seed, self.step, g)
                )
            )
            for g in group_ids
        ]
        inputs = [{"prompt_token_ids": [int(t) for t in p]} for p in prompts]
        outputs = self.llm.generate(inputs, params, use_tqdm=False)
        if is_greedy(sampling.temperature) and sampling.n > 1:
            outputs = repeat_completions(outputs, sampling.n)
        rollouts = rollouts_from_outputs(
            outputs,
            prompts,
            group_ids,
            sampling.n,
            eos_ids=self.eos_ids,
            pad_id=self.pad_id,
            decode=lambda rows: self.tokenizer.batch_decode(rows, skip_special_tokens=True),
            device=self._device,
            logprobs=sampling.logprobs,
        )
        self.sleep()
        return rollouts

    def close(self) -> None:
        """Shut the engine down and free its GPU memory now (:func:`shutdown_engine`), so that another engine
        can be built in this process; safe to call again."""
        llm = self.__dict__.pop("llm", None)
        if llm is not None:
            try:
                shutdown_engine(llm)
            finally:
                del llm
                gc.collect()  # the engine's tensors sit in reference cycles
                import torch

                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
        config_dir = self.__dict__.pop("_config_dir", None)
        if config_dir is not None:
            config_dir.cleanup()
