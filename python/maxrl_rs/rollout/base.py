"""The rollout backend interface and the batch of rollouts it returns.

A backend turns prompts (token ids) into N sampled responses per prompt. The trainer never looks inside a
backend: it calls :meth:`RolloutBackend.generate` for a step's prompts and :meth:`RolloutBackend.sync_weights`
after each step's updates (a no-op when the backend samples from the training model itself, as the HF
backend does; an inference engine such as vLLM copies the new weights there). The training pass recomputes
the log-probabilities (:mod:`maxrl_rs.rollout.logprobs`); a backend asked for ``SamplingParams.logprobs``
also returns its own, for the truncated importance-sampling correction (``algo.tis_cap``).
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from maxrl_rs.errors import ConfigError

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class SamplingParams:
    """How responses are sampled: ``n`` per prompt, at ``temperature`` (0 = greedy) with nucleus ``top_p``
    (1 = off), ``top_k`` (0 = off) and ``min_p`` (0 = off), at most ``max_new_tokens`` tokens each including
    EOS. Nothing else shapes the distribution (a checkpoint's ``generation_config.json`` is not applied):
    these are exactly what the loss models (:func:`maxrl_rs.rollout.logprobs.shape_logits`). ``logprobs``:
    also return the sampler's log-prob of each sampled token (``Rollouts.sampler_logp``)."""

    n: int = 8
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    max_new_tokens: int = 64
    min_p: float = 0.0
    logprobs: bool = False


@dataclass
class Rollouts:
    """N responses for each of a batch of prompts, prompt-major (prompt 0's N responses first).

    Tensors live on the device of the model that produced them; ``R`` is the number of rollouts.

    Attributes:
        prompt_ids: ``[R, P]`` int64, left-padded with the pad id.
        prompt_mask: ``[R, P]`` int64, 1 on real prompt tokens.
        response_ids: ``[R, T]`` int64, right-padded; T is the longest response in the batch.
        response_mask: ``[R, T]`` int64, 1 on generated tokens up to and including the first EOS; tokens
            after EOS (and padding) are 0.
        texts: decoded responses (special tokens dropped), what the verifier grades.
        group_ids: ``[R]`` int64 prompt ids; rollouts of one prompt share an id.
        finished: ``[R]`` bool, True when the response ended with EOS (False: cut at max_new_tokens).
        sampler_logp: ``[R, T]`` float32 log-prob of each response token under the distribution the sampler
            drew it from (after temperature and truncation), NaN where the sampler gave none; None unless
            ``SamplingParams.logprobs`` was asked for.
    """

    prompt_ids: torch.Tensor
    prompt_mask: torch.Tensor
    response_ids: torch.Tensor
    response_mask: torch.Tensor
    texts: list[str]
    group_ids: np.ndarray
    finished: np.ndarray
    sampler_logp: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def response_lengths(self) -> np.ndarray:
        return self.response_mask.sum(dim=1).cpu().numpy()

    def select(self, index: Sequence[int] | np.ndarray | slice) -> Rollouts:
        """The rollouts at ``index`` (a micro-batch), same padding widths."""
        idx = np.arange(len(self))[index] if isinstance(index, slice) else np.asarray(index, dtype=np.int64)
        import torch

        t = torch.as_tensor(idx, device=self.prompt_ids.device)
        return replace(
            self,
            prompt_ids=self.prompt_ids[t],
            prompt_mask=self.prompt_mask[t],
            response_ids=self.response_ids[t],
            response_mask=self.response_mask[t],
            texts=[self.texts[i] for i in idx],
            group_ids=self.group_ids[idx],
            finished=self.finished[idx],
            sampler_logp=None if self.sampler_logp is None else self.sampler_logp[t],
        )


class RolloutBackend(ABC):
    """Samples responses for prompts. Implementations: ``hf`` (transformers ``generate``) and ``vllm``."""

    @staticmethod
    def check_available() -> None:
        """Raise ConfigError if this backend cannot run here (missing package, no GPU). Called before a run
        creates any files or models, so a bad choice fails at once."""
        return None

    @classmethod
    def from_config(cls, model: Any, tokenizer: Any, config: Any, *, seed: int = 0) -> RolloutBackend:
        """Build from the training model, its tokenizer, the ``[rollout]`` config section and the run seed."""
        return cls(model, tokenizer)  # type: ignore[call-arg]

    @abstractmethod
    def generate(
        self, prompts: Sequence[Sequence[int]], group_ids: Sequence[int], sampling: SamplingParams
    ) -> Rollouts:
        """Sample ``sampling.n`` responses for every prompt; ``group_ids[i]`` labels prompt i's responses."""

    #: True for backends that seed every prompt themselves from :meth:`set_seed_key` (vLLM); the others draw
    #: from torch's global generator, which callers seed.
    seeds_per_prompt: bool = False

    def set_seed_key(self, base_seed: int, step: int) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Seed key of the prompts that come next: with a prompt's id it makes that prompt's sampling seed
        (only for ``seeds_per_prompt`` backends)."""

    def sync_weights(self, model: Any) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Make the backend sample from ``model``'s current weights (called after each step's updates)."""

    def reuse_for(self, model: Any, tokenizer: Any) -> bool:
        """Switch to sampling from another ``model`` of the same architecture, if this backend can do so
        without being rebuilt (``maxrl eval`` of several runs keeps one vLLM engine). False: build anew."""
        return False

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release engines, processes and memory."""


# name -> "module:Class"; modules are imported only when used, so a missing optional dependency only matters
# to those who pick that backend.
BACKENDS = {"hf": "maxrl_rs.rollout.hf:HFBackend", "vllm": "maxrl_rs.rollout.vllm:VLLMBackend"}


def stop_token_ids(model: Any, tokenizer: Any) -> list[int]:
    """The tokenizer's EOS and the generation config's EOS id(s): any of them ends a response."""
    eos = getattr(model.generation_config, "eos_token_id", None)
    eos_list = eos if isinstance(eos, (list, tuple)) else [eos]
    return sorted({tokenizer.eos_token_id, *(e for e in eos_list if e is not None)})


# Generation-config fields that do not shape the sampled distribution, or that every backend sets itself.
_NOT_SAMPLING = frozenset(
    {
        "bos_token_id",
        "eos_token_id",
        "pad_token_id",
        "decoder_start_token_id",
        "max_length",
        "max_new_tokens",
        "num_return_sequences",
        "use_cache",
        "cache_implementation",
        "transformers_version",
        "_from_model_config",
        "return_dict_in_generate",
        "output_scores",
        "output_logits",
        "output_attentions",
        "output_hidden_states",
    }
)
#: Set by ``[rollout]`` (temperature, top_p, top_k, min_p) whatever the checkpoint says.
REPLACED_BY_ROLLOUT = ("do_sample", "temperature", "top_p", "top_k", "min_p")


def ignored_generation_settings(generation_config: Any) -> dict[str, Any]:
    """What a model's ``generation_config`` sets (differently from transformers' defaults) that shapes
    sampling: ``repetition_penalty``, ``no_repeat_ngram_size``, ``bad_words_ids``, ``typical_p``, cut-offs,
    and the ``[rollout]`` keys of :data:`REPLACED_BY_ROLLOUT`. None of it is applied by the backends."""
    if generation_config is None:
        return {}
    return {k: v for k, v in sorted(generation_config.to_diff_dict().items()) if k not in _NOT_SAMPLING}


def warn_ignored_generation_settings(model: Any, backend: str) -> None:
    """Warn once, when a backend is built, about the checkpoint's sampling settings it leaves out: the loss
    models only ``[rollout]``'s temperature, top_p, top_k and min_p, so sampling uses nothing else."""
    import warnings

    ignored = ignored_generation_settings(getattr(getattr(model, "module", model), "generation_config", None))
    if not ignored:
        return
    shown = ", ".join(f"{k}={v!r}" for k, v in ignored.items())
    warnings.warn(
        f"rollout.backend={backend}: the model's generation_config.json is not applied to sampling "
        f"({shown}); responses are sampled with rollout.temperature, top_p, top_k and min_p only, "
        "the settings whose log-probs the loss computes",
        UserWarning,
        stacklevel=3,
    )


def check_request(prompts: Sequence[Sequence[int]], group_ids: Sequence[int]) -> None:
    """What every backend's ``generate`` requires of its arguments."""
    if len(prompts) != len(group_ids):
        raise ConfigError(f"{len(prompts)} prompts but {len(group_ids)} group ids")
    if not prompts:
        raise ConfigError("generate needs at least one prompt")


def backend_class(name: str) -> type[RolloutBackend]:
    """The backend class registered as ``name``; ConfigError naming the known backends otherwise."""
    known = ", ".join(sorted(BACKENDS))
    if name not in BACKENDS:
        raise ConfigError(f"rollout.backend: unknown backend {name!r}; known backends: {known}")
    module, cls = BACKENDS[name].split(":")
    try:
        return getattr(importlib.import_module(module), cls)
    except ImportError as e:
        raise ConfigError(
            f"rollout.backend={name!r} is not available here ({e}); known backends: {known}"
        ) from None


def register_backend(name: str, target: str) -> None:
    """Register a backend as ``"package.module:Class"`` (a :class:`RolloutBackend` subclass)."""
    if ":" not in target:
        raise ConfigError(f"backend target must look like 'package.module:Class', got {target!r}")
    BACKENDS[name] = target
