"""Option dataclasses of the config sections that belong to runtime modules (``[distributed]``,
``[rollout.vllm]``, ``[model.lora]``), each with the checks of its own fields next to them.

This module imports nothing but :mod:`maxrl_rs.errors`, so :mod:`maxrl_rs.config` can build and check a
whole config without importing torch, peft or vLLM. The classes are re-exported from the modules that use
them (:mod:`maxrl_rs.distributed`, :mod:`maxrl_rs.rollout.vllm`, :mod:`maxrl_rs.lora`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from maxrl_rs.errors import ConfigError


def need(ok: bool, key: str, why: str) -> None:
    """ConfigError ``"key: why"`` unless ``ok``; every config check reports this way."""
    if not ok:
        raise ConfigError(f"{key}: {why}")


#: How relative paths in a config are read, said with every path that does not exist (:func:`missing_path`).
RELATIVE_PATHS = (
    "paths given with --set are relative to the current directory, paths in a config file to that file's "
    "directory"
)


def missing_path(key: str, path: object, what: str = "file") -> ConfigError:
    """``"key: file '/abs/path' does not exist (how relative paths are read)"``."""
    return ConfigError(f"{key}: {what} {str(path)!r} does not exist ({RELATIVE_PATHS})")


def optional_str(default: str = "") -> Any:
    """A string key that may be unset, ``""`` meaning unset: ``none`` or ``null`` on the command line and
    ``null`` in a JSON file give ``""`` (:func:`maxrl_rs.config.coerce`). Give it as the field's default."""
    return field(default=default, metadata={"optional": True})


# -- [distributed] -------------------------------------------------------------------------------------------

STRATEGIES = ("none", "ddp", "fsdp")


@dataclass
class DistributedConfig:
    """``[distributed]``: ``strategy`` none (one process), ``ddp`` (replicated model, averaged gradients)
    or ``fsdp`` (FSDP2: parameters, gradients and optimizer state sharded over ranks, one shard unit per
    decoder layer; on CUDA with ``train.bf16`` it computes on bf16 parameters and reduces gradients in
    float32). Launch with torchrun for more than one process.

    ``seed_per_prompt`` samples every prompt with its own seed (always on with vLLM; with the HF backend it
    costs one ``generate`` call per prompt), so results do not depend on how prompts are split over ranks;
    unset, it is on for ``ddp``/``fsdp`` and off for ``none`` (batched sampling).
    ``fsdp_reshard_after_forward`` frees each layer's gathered parameters after its forward pass.
    ``fsdp_gather_for_generation`` keeps them gathered while the training model generates rollouts (one
    all-gather per layer per rollout batch instead of per token; the whole model's parameters are resident
    meanwhile). ``timeout_s``: collective timeout.
    """

    strategy: str = "none"
    seed_per_prompt: bool | None = None
    fsdp_reshard_after_forward: bool = True
    fsdp_gather_for_generation: bool = True
    timeout_s: int = 1800

    def check(self) -> None:
        """ConfigError naming the ``distributed.*`` key of a bad value."""
        need(
            self.strategy in STRATEGIES,
            "distributed.strategy",
            f"unknown strategy {self.strategy!r}; known: {', '.join(STRATEGIES)}",
        )
        need(self.timeout_s >= 1, "distributed.timeout_s", f"must be >= 1, got {self.timeout_s}")


# -- [rollout.vllm] ------------------------------------------------------------------------------------------


@dataclass
class VLLMOptions:
    """``[rollout.vllm]``: the in-process engine.

    ``gpu_memory_utilization`` is the share of the GPU's memory vLLM may take while awake (weights plus KV
    cache); the training model, its gradients and optimizer state must fit in the rest. ``sleep`` frees the
    KV cache and moves vLLM's weights to CPU memory between rollouts. ``dtype`` ``auto``: bfloat16 (float16
    on GPUs without bf16), whatever the float32 master weights of training; ``float32`` samples exactly from
    the training weights at a cost in speed and memory.
    """

    gpu_memory_utilization: float = 0.4
    sleep: bool = True
    dtype: str = "auto"
    max_model_len: int | None = None
    enforce_eager: bool = False

    def check(self) -> None:
        """ConfigError naming the ``rollout.vllm.*`` key of a bad value."""
        need(
            0 < self.gpu_memory_utilization <= 1,
            "rollout.vllm.gpu_memory_utilization",
            f"must be in (0, 1], got {self.gpu_memory_utilization}",
        )
        need(
            self.dtype in ("auto", "bfloat16", "float16", "float32"),
            "rollout.vllm.dtype",
            f"auto, bfloat16, float16 or float32, got {self.dtype!r}",
        )
        need(
            self.max_model_len is None or self.max_model_len >= 2,
            "rollout.vllm.max_model_len",
            f"must be >= 2, got {self.max_model_len}",
        )


#: vLLM's temperature rules (``vllm/sampling_params.py``, ``SamplingParams.__post_init__`` and
#: ``_verify_args``, the same in 0.10 and 0.33): temperatures in (0, ``MIN_TEMPERATURE``) are raised to
#: ``MIN_TEMPERATURE`` (vLLM's ``_MAX_TEMP``) before anything else, then below ``GREEDY_BELOW``
#: (``_SAMPLING_EPS``) sampling is greedy and n > 1 is refused; 0.33 also refuses > ``MAX_TEMPERATURE``
#: (0.10 does not; the supported range is the narrower one).
MIN_TEMPERATURE = 0.01
GREEDY_BELOW = 1e-5
MAX_TEMPERATURE = 2.0


def check_temperature(temperature: float, key: str = "temperature") -> None:
    """ConfigError naming ``key`` unless vLLM samples at exactly ``temperature``: 0 (greedy) or a finite value
    in [``MIN_TEMPERATURE``, ``MAX_TEMPERATURE``]. vLLM would silently sample a temperature in (0, 0.01) at
    0.01, off the distribution the training pass scores at the configured temperature."""
    t = float(temperature)
    if t == 0 or (math.isfinite(t) and MIN_TEMPERATURE <= t <= MAX_TEMPERATURE):
        return
    raise ConfigError(
        f"{key}: with rollout.backend=vllm must be 0 (greedy) or in [{MIN_TEMPERATURE}, {MAX_TEMPERATURE}] "
        f"(vLLM raises smaller temperatures to {MIN_TEMPERATURE} and vLLM 0.33 refuses larger ones), "
        f"got {temperature}"
    )


# -- [model.lora] --------------------------------------------------------------------------------------------


@dataclass
class LoraOptions:
    """``[model.lora]``: ``r`` the adapter rank (0: no adapter, train all weights); ``alpha`` the scale
    numerator (updates are scaled by alpha / r); ``target_modules`` the module names to adapt (empty: peft's
    default for the architecture, ``["all-linear"]``: every linear layer but the output head); ``dropout``
    must be 0 (see :mod:`maxrl_rs.lora`)."""

    r: int = 0
    alpha: int = 16
    target_modules: list[str] = field(default_factory=list)
    dropout: float = 0.0

    def check(self) -> None:
        """ConfigError naming the ``model.lora.*`` key for values peft would reject or RL cannot use."""
        need(self.r >= 0, "model.lora.r", f"must be >= 0 (0: off), got {self.r}")
        need(self.alpha > 0, "model.lora.alpha", f"must be > 0, got {self.alpha}")
        need(
            self.dropout == 0,
            "model.lora.dropout",
            f"must be 0 for RL, got {self.dropout} (the log-probabilities of sampled tokens are recomputed "
            "in training mode; a dropout mask would change them)",
        )
        need(
            all(self.target_modules),
            "model.lora.target_modules",
            f"empty module name in {self.target_modules!r}",
        )
        if self.r == 0:  # no adapter: the other keys would be ignored without a word
            for key, value, default in (
                ("alpha", self.alpha, LoraOptions.alpha),
                ("target_modules", self.target_modules, []),
            ):
                need(
                    value == default,
                    f"model.lora.{key}",
                    f"{value!r} does not apply with model.lora.r = 0 (no adapter, all weights train); set "
                    f"model.lora.r > 0 to train an adapter, or leave it at its default ({default!r})",
                )
