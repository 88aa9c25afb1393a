"""Rollouts with transformers ``model.generate`` on the training model itself.

Prompts are left-padded and sampled in chunks of ``batch_size`` prompts, each with
``num_return_sequences = n``, so a prompt's N responses come out contiguous. Sampling uses torch's global
RNG: seeding torch (and restoring its state on resume) makes rollouts reproducible.

``generate`` runs with an explicit ``GenerationConfig`` holding only what the loss models (``do_sample``,
temperature, top-k, top-p, min-p, ``max_new_tokens``, EOS and pad ids), installed as the model's own for the
call: ``generate`` fills every unset field from ``model.generation_config``, so passing the config alone would
still apply a checkpoint's ``repetition_penalty``, ``no_repeat_ngram_size``, ``bad_words_ids``... to
sampling but not to the loss (and a field left unset altogether gets transformers' default, e.g. ``top_k =
50``, so ``top_k = 0`` is spelled out). What the checkpoint's file sets and is
not applied is reported once (:func:`~maxrl_rs.rollout.base.ignored_generation_settings`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from maxrl_rs.errors import ConfigError
from maxrl_rs.rollout.base import (
    RolloutBackend,
    Rollouts,
    SamplingParams,
    check_request,
    stop_token_ids,
    warn_ignored_generation_settings,
)

if TYPE_CHECKING:
    import torch


def left_pad(
    prompts: Sequence[Sequence[int]], pad_id: int, device: torch.device | str
) -> tuple[torch.Tensor, torch.Tensor]:
    """``[B, P]`` ids and attention mask for prompts of different lengths, padded on the left."""
    import torch

    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for i, p in enumerate(prompts):
        if len(p):
            ids[i, width - len(p) :] = torch.as_tensor(list(p), dtype=torch.long)
            mask[i, width - len(p) :] = 1
    return ids.to(device), mask.to(device)


def eos_mask(response_ids: torch.Tensor, eos_ids: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Mask of tokens up to and including the first EOS, and whether each row has an EOS at all.

    Works when pad == EOS (common for chat models): only the first EOS counts.
    """
    import torch

    is_eos = torch.zeros_like(response_ids, dtype=torch.bool)
    for e in eos_ids:
        is_eos |= response_ids == e
    # Number of EOS tokens strictly before each position: 0 means "still inside the response".
    before = torch.cumsum(is_eos.long(), dim=1) - is_eos.long()
    return (before == 0).long(), is_eos.any(dim=1)


class HFBackend(RolloutBackend):
    """Samples with ``model.generate``; the model is shared with the trainer, so weights are always current.

    Args:
        model: a transformers causal LM.
        tokenizer: its tokenizer (pad and EOS ids, decoding).
        batch_size: prompts per ``generate`` call (each expanded to N sequences); bounds memory.
    """

    def __init__(self, model: Any, tokenizer: Any, *, batch_size: int = 64) -> None:
        if tokenizer.eos_token_id is None:
            raise ConfigError("model.path: the tokenizer has no EOS token; rollouts could never stop")
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = max(1, int(batch_size))
        self.eos_ids = stop_token_ids(model, tokenizer)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        warn_ignored_generation_settings(model, "hf")

    @classmethod
    def from_config(cls, model: Any, tokenizer: Any, config: Any, *, seed: int = 0) -> HFBackend:
        # Sampling draws from torch's global RNG, which the run seeds and checkpoints: no seed of its own.
        return cls(model, tokenizer, batch_size=config.batch_size)

    def generate(
        self, prompts: Sequence[Sequence[int]], group_ids: Sequence[int], sampling: SamplingParams
    ) -> Rollouts:
        import torch

        check_request(prompts, group_ids)
        device = next(self.model.parameters()).device
        was_training = self.model.training
        self.model.eval()
        chunks = []
        try:
            with torch.no_grad():
                for start in range(0, len(prompts), self.batch_size):
                    chunk = prompts[start : start + self.batch_size]
                    chunks.append(self._generate_chunk(chunk, sampling, device))
        finally:
            self.model.train(was_training)
        prompt_ids, prompt_mask, response_ids, sampler_logp = _concat_padded(chunks, self.pad_id)
        response_mask, finished = eos_mask(response_ids, self.eos_ids)
        response_ids = response_ids.masked_fill(response_mask == 0, self.pad_id)
        if sampler_logp is not None:
            sampler_logp = sampler_logp.masked_fill(response_mask == 0, float("nan"))
        texts = self._decode(response_ids, response_mask)
        return Rollouts(
            prompt_ids=prompt_ids,
            prompt_mask=prompt_mask,
            response_ids=response_ids,
            response_mask=response_mask,
            texts=texts,
            group_ids=np.repeat(np.asarray(group_ids, dtype=np.int64), sampling.n),
            finished=finished.cpu().numpy(),
            sampler_logp=sampler_logp,
        )

    def generation_config(self, sampling: SamplingParams) -> Any:
        """The ``GenerationConfig`` of a ``generate`` call: ``sampling`` and the stop and pad ids, nothing
        else (``top_k = 0`` spelled out: unset, ``generate`` would fill in its default 50). Greedy decoding
        asks for one sequence per prompt (``generate`` refuses more); :meth:`_generate_chunk` repeats it."""
        from transformers import GenerationConfig

        kwargs: dict[str, Any] = {
            "max_new_tokens": sampling.max_new_tokens,
            "num_return_sequences": 1 if sampling.temperature == 0 else sampling.n,
            "eos_token_id": list(self.eos_ids),
            "pad_token_id": self.pad_id,
            "output_scores": sampling.logprobs,
            "return_dict_in_generate": sampling.logprobs,
        }
        if sampling.temperature == 0:
            kwargs["do_sample"] = False
        else:
            kwargs.update(do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p, top_k=0)
            if sampling.top_k > 0:
                kwargs["top_k"] = sampling.top_k
            if sampling.min_p > 0:
                kwargs["min_p"] = sampling.min_p
        return GenerationConfig(**kwargs)

    def _generate_chunk(
        self, prompts: Sequence[Sequence[int]], sampling: SamplingParams, device: torch.device | str
    ) -> tuple:
        import torch

        ids, mask = left_pad(prompts, self.pad_id, device)
        config = self.generation_config(sampling)
        # generate() fills unset fields from model.generation_config: for this call, that is `config` itself.
        saved = self.model.generation_config
        self.model.generation_config = config
        try:
            out = self.model.generate(input_ids=ids, attention_mask=mask, generation_config=config)
        finally:
            self.model.generation_config = saved
        width = ids.shape[1]
        logp = None
        if sampling.logprobs:
            response = out.sequences[:, width:]
            # scores[s]: the processed scores step s sampled from (-inf where truncated).
            logp = torch.stack(
                [
                    torch.log_softmax(step.float(), dim=-1).gather(-1, response[:, s : s + 1]).squeeze(-1)
                    for s, step in enumerate(out.scores)
                ],
                dim=1,
            )
            out = out.sequences
        if sampling.temperature == 0 and sampling.n > 1:  # greedy: n copies of the one response
            out = out.repeat_interleave(sampling.n, dim=0)
            logp = None if logp is None else logp.repeat_interleave(sampling.n, dim=0)
        return (
            ids.repeat_interleave(sampling.n, dim=0),
            mask.repeat_interleave(sampling.n, dim=0),
            out[:, width:],
            logp,
        )

    def _decode(self, response_ids: torch.Tensor, response_mask: torch.Tensor) -> list[str]:
        rows = [
            ids[m.bool()].tolist() for ids, m in zip(response_ids.cpu(), response_mask.cpu(), strict=True)
        ]
        return self.tokenizer.batch_decode(rows, skip_special_tokens=True)


def _concat_padded(chunks: list[tuple], pad_id: int) -> tuple[Any, Any, Any, Any]:
    """Join generate chunks: prompts re-padded on the left, responses (and their sampler log-probs, when
    there are any) on the right, to common widths."""
    import torch

    pad = torch.nn.functional.pad
    p_width = max(c[0].shape[1] for c in chunks)
    r_width = max(max(c[2].shape[1] for c in chunks), 1)
    p_ids, p_mask, r_ids, r_logp = [], [], [], []
    for ids, mask, resp, logp in chunks:
        lp = p_width - ids.shape[1]
        p_ids.append(pad(ids, (lp, 0), value=pad_id))
        p_mask.append(pad(mask, (lp, 0), value=0))
        r_ids.append(pad(resp, (0, r_width - resp.shape[1]), value=pad_id))
        if logp is not None:
            r_logp.append(pad(logp, (0, r_width - logp.shape[1]), value=float("nan")))
    logps = torch.cat(r_logp) if r_logp else None
    return torch.cat(p_ids), torch.cat(p_mask), torch.cat(r_ids), logps
