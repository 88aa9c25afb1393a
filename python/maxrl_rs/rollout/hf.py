"""Rollouts with transformers ``model.generate`` on the training model itself.

Prompts are left-padded and sampled in chunks of ``batch_size`` prompts, each with
``num_return_sequences = n``, so a prompt's N responses come out contiguous. Sampling uses torch's global
RNG: seeding torch (and restoring its state on resume) makes rollouts reproducible.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from maxrl_rs.errors import ConfigError
from maxrl_rs.rollout import fast_sample
from maxrl_rs.rollout.base import RolloutBackend, Rollouts, SamplingParams, check_request, stop_token_ids


def left_pad(prompts: Sequence[Sequence[int]], pad_id: int, device: Any) -> tuple[Any, Any]:
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


def eos_mask(response_ids: Any, eos_ids: Sequence[int]) -> tuple[Any, Any]:
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
        fast: sample Llama/Qwen2 models with :mod:`maxrl_rs.rollout.fast_sample` (the same distribution,
            several times faster on small models) instead of ``generate``.
    """

    def __init__(self, model: Any, tokenizer: Any, *, batch_size: int = 64, fast: bool = True) -> None:
        if tokenizer.eos_token_id is None:
            raise ConfigError("model.path: the tokenizer has no EOS token; rollouts could never stop")
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = max(1, int(batch_size))
        self.fast = fast
        self.eos_ids = stop_token_ids(model, tokenizer)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

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
        prompt_ids, prompt_mask, response_ids = _concat_padded(chunks, self.pad_id)
        response_mask, finished = eos_mask(response_ids, self.eos_ids)
        response_ids = response_ids.masked_fill(response_mask == 0, self.pad_id)
        texts = self._decode(response_ids, response_mask)
        return Rollouts(
            prompt_ids=prompt_ids,
            prompt_mask=prompt_mask,
            response_ids=response_ids,
            response_mask=response_mask,
            texts=texts,
            group_ids=np.repeat(np.asarray(group_ids, dtype=np.int64), sampling.n),
            finished=finished.cpu().numpy(),
        )

    def _generate_chunk(
        self, prompts: Sequence[Sequence[int]], sampling: SamplingParams, device: Any
    ) -> tuple:
        ids, mask = left_pad(prompts, self.pad_id, device)
        if self.fast and fast_sample.supports(self.model):
            return fast_sample.generate_chunk(self.model, ids, mask, sampling, self.eos_ids, self.pad_id)
        greedy = sampling.temperature == 0
        out = self.model.generate(
            input_ids=ids,
            attention_mask=mask,
            do_sample=not greedy,
            temperature=None if greedy else sampling.temperature,
            top_p=None if greedy or sampling.top_p >= 1 else sampling.top_p,
            top_k=None if greedy or sampling.top_k <= 0 else sampling.top_k,
            max_new_tokens=sampling.max_new_tokens,
            num_return_sequences=sampling.n,
            eos_token_id=self.eos_ids,
            pad_token_id=self.pad_id,
        )
        width = ids.shape[1]
        return (
            ids.repeat_interleave(sampling.n, dim=0),
            mask.repeat_interleave(sampling.n, dim=0),
            out[:, width:],
        )

    def _decode(self, response_ids: Any, response_mask: Any) -> list[str]:
        rows = [
            ids[m.bool()].tolist() for ids, m in zip(response_ids.cpu(), response_mask.cpu(), strict=True)
        ]
        return self.tokenizer.batch_decode(rows, skip_special_tokens=True)


def _concat_padded(chunks: list[tuple], pad_id: int) -> tuple[Any, Any, Any]:
    """Join generate chunks: prompts re-padded on the left, responses on the right, to common widths."""
    import torch

    p_width = max(c[0].shape[1] for c in chunks)
    r_width = max(max(c[2].shape[1] for c in chunks), 1)
    p_ids, p_mask, r_ids = [], [], []
    for ids, mask, resp in chunks:
        lp = p_width - ids.shape[1]
        p_ids.append(torch.nn.functional.pad(ids, (lp, 0), value=pad_id))
        p_mask.append(torch.nn.functional.pad(mask, (lp, 0), value=0))
        r_ids.append(torch.nn.functional.pad(resp, (0, r_width - resp.shape[1]), value=pad_id))
    return torch.cat(p_ids), torch.cat(p_mask), torch.cat(r_ids)
